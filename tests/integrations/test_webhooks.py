"""Webhooks end to end in one process: services write the outbox, the delivery loop sends to a
real HTTP receiver, signatures verify, retries, ordering, coalescing, disabling, refusals."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from bytes_app import services as kb
from integrations import signing
from integrations.delivery import deliver_endpoint
from integrations.models import Delivery, Event


def _events(receiver) -> list[dict]:
    return [item.event for item in receiver.received]


def test_every_change_is_sent_signed_in_order(team, endpoint, receiver, drain):
    byte, deploy, ops = team["byte"], team["deploy"], team["ops"]
    module = kb.module_create(workspace=team["workspace"], name="Runbooks")
    kb.module_update(module=module, name="Run books", slug="run-books")
    kb.module_move(module=module, parent=ops)
    fresh = kb.byte_create(module=deploy, user=team["editor"], title="Canary", content="1%")
    kb.byte_update(byte=fresh, user=team["editor"], content="5%")
    kb.byte_move(byte=fresh, user=team["editor"], module=module)
    revision = byte.revisions.last()
    kb.byte_update(byte=byte, user=team["owner"], content="changed")
    kb.revision_restore(byte=byte, revision=revision, user=team["owner"])
    kb.byte_delete(byte=fresh)
    kb.module_delete(module=module)
    drain(endpoint)

    events = _events(receiver)
    assert [event["type"] for event in events] == [
        "module.created",
        "module.renamed",
        "module.moved",
        "byte.created",
        "byte.updated",
        "byte.moved",
        "byte.updated",
        "revision.restored",
        "byte.deleted",
        "module.deleted",
    ]
    assert [event["sequence"] for event in events] == sorted(event["sequence"] for event in events)
    assert len({event["id"] for event in events}) == len(events)
    for item in receiver.received:
        assert signing.verify(endpoint.secret, item.body, item.headers["KB-Signature"])
        assert not signing.verify("whsec_other", item.body, item.headers["KB-Signature"])
        assert item.headers["KB-Event-Id"] == item.event["id"]
    created = events[3]["data"]["byte"]
    assert created["path"] == "ops/deploy/canary" and created["version"] == 1
    assert events[4]["data"]["byte"]["version"] == 2
    assert events[5]["data"]["from_module"] == deploy.pk
    assert events[7]["data"]["revision"] == revision.pk
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_signature_fails_when_replayed_late_or_tampered():
    body = b'{"id":"evt_1"}'
    header = signing.sign("whsec_s", body, timestamp=1_000_000)
    assert signing.verify("whsec_s", body, header, now=1_000_000 + 299)
    assert not signing.verify("whsec_s", body, header, now=1_000_000 + 301)
    assert not signing.verify("whsec_s", body, header, now=1_000_000 - 301)
    assert not signing.verify("whsec_s", body + b" ", header, now=1_000_000)
    assert not signing.verify("whsec_s", body, "garbage", now=1_000_000)


def test_a_rolled_back_change_sends_nothing(team, endpoint, receiver, drain):
    with pytest.raises(RuntimeError), transaction.atomic():
        kb.byte_create(module=team["deploy"], user=team["owner"], title="Never", content="x")
        raise RuntimeError("rolled back")
    kb.byte_create(module=team["deploy"], user=team["owner"], title="Kept", content="y")
    drain(endpoint)
    assert [event["data"]["byte"]["title"] for event in _events(receiver)] == ["Kept"]
    assert Event.objects.count() == 1


def test_receiver_down_then_back_gets_every_event_once_in_order(team, endpoint, receiver, drain, settings):
    receiver.stop()
    titles = [f"Note {number}" for number in range(5)]
    for title in titles:
        kb.byte_create(module=team["deploy"], user=team["owner"], title=title)
    settings.KB_WEBHOOK_BACKOFF_BASE_MS = 60_000  # the retry is not due within this call
    retry_at = deliver_endpoint(endpoint.pk)  # refused: the first waits, the rest queue behind it
    assert retry_at is not None
    first = Delivery.objects.order_by("event_id").first()
    assert first.status == "pending" and first.attempts == 1 and "Refused" in first.error
    assert Delivery.objects.filter(attempts=0).count() == 4

    settings.KB_WEBHOOK_BACKOFF_BASE_MS = 40
    Delivery.objects.filter(pk=first.pk).update(next_attempt_at=timezone.now())
    receiver.start()
    drain(endpoint)
    events = _events(receiver)
    assert [event["data"]["byte"]["title"] for event in events] == titles
    assert len({event["id"] for event in events}) == 5


def test_byte_updated_is_coalesced_to_the_latest_version(team, endpoint, receiver, drain, settings):
    settings.KB_WEBHOOK_COALESCE_MS = 300
    byte = team["byte"]
    for number in range(10):  # live typing, materialized ten times
        kb.bytes_sync_from_live([kb.LiveText(byte.pk, f"typing {number}", team["editor"].pk)])
    byte.refresh_from_db()
    assert Event.objects.filter(type="byte.updated").count() == 1
    drain(endpoint)
    assert [event["data"]["byte"]["version"] for event in _events(receiver)] == [byte.version]

    # Once one is sent, the next is held for the window (and keeps folding meanwhile).
    for number in range(3):
        kb.bytes_sync_from_live([kb.LiveText(byte.pk, f"more {number}", team["editor"].pk)])
    held = Delivery.objects.get(status="pending")
    sent = Delivery.objects.get(status="succeeded")
    assert held.event_id != sent.event_id and Event.objects.filter(type="byte.updated").count() == 2
    assert (held.next_attempt_at - sent.event.created_at).total_seconds() >= 0.3
    drain(endpoint)
    byte.refresh_from_db()
    assert [event["data"]["byte"]["version"] for event in _events(receiver)][-1] == byte.version
    assert len(receiver.received) == 2


def test_failing_endpoint_is_disabled_and_its_owner_told(
    team, endpoint, receiver, drain, settings, client_for
):
    settings.KB_WEBHOOK_MAX_ATTEMPTS = 2
    settings.KB_WEBHOOK_DISABLE_AFTER = 3
    team["owner"].email = "olive@example.com"
    team["owner"].save()
    receiver.status = 500
    for title in ("A", "B", "C"):
        kb.byte_create(module=team["deploy"], user=team["owner"], title=title)
    drain(endpoint)
    endpoint.refresh_from_db()
    assert not endpoint.active and "3 failed attempts in a row" in endpoint.disabled_reason
    assert "HTTP 500" in endpoint.disabled_reason
    statuses = list(Delivery.objects.order_by("event_id").values_list("status", "attempts"))
    assert statuses == [("failed", 2), ("pending", 1), ("pending", 0)]  # nothing lost
    assert len(receiver.received) == 3

    owner = client_for(team["owner"])
    shown = owner.get(f"/api/webhooks/{endpoint.pk}/").json()
    assert shown["active"] is False and shown["disabled_reason"] == endpoint.disabled_reason

    receiver.status = 200
    response = owner.patch(f"/api/webhooks/{endpoint.pk}/", {"active": True}, format="json")
    assert response.status_code == 200 and response.json()["failure_streak"] == 0
    drain(endpoint)
    assert [event["data"]["byte"]["title"] for event in _events(receiver)][-2:] == ["B", "C"]


def test_owner_is_emailed_when_an_endpoint_is_disabled(
    team, endpoint, receiver, drain, settings, django_capture_on_commit_callbacks
):
    settings.KB_WEBHOOK_DISABLE_AFTER = 1
    team["owner"].email = "olive@example.com"
    team["owner"].save()
    receiver.status = 503
    kb.byte_create(module=team["deploy"], user=team["owner"], title="A")
    with django_capture_on_commit_callbacks(execute=True):
        deliver_endpoint(endpoint.pk)
    assert [message.to for message in mail.outbox] == [["olive@example.com"]]
    assert endpoint.url in mail.outbox[0].subject and "active" in mail.outbox[0].body


def test_redirects_are_not_followed_and_bodies_are_capped(team, endpoint, receiver, drain, settings):
    settings.KB_WEBHOOK_MAX_ATTEMPTS = 1
    receiver.status = 302
    kb.byte_create(module=team["deploy"], user=team["owner"], title="A")
    drain(endpoint)
    delivery = Delivery.objects.get()
    assert delivery.status == "failed" and delivery.response_code == 302
    assert len(receiver.received) == 1  # one request, no redirect followed
    assert delivery.error.startswith("HTTP 302") and len(delivery.error) <= 300


def test_worker_refuses_a_url_that_now_resolves_to_a_private_address(
    team, endpoint, receiver, drain, settings
):
    kb.byte_create(module=team["deploy"], user=team["owner"], title="A")
    settings.KB_WEBHOOK_ALLOW_PRIVATE = False
    deliver_endpoint(endpoint.pk)
    delivery = Delivery.objects.get()
    assert "loopback" in delivery.error and delivery.response_code is None
    assert receiver.received == []


def test_an_attempt_is_cut_at_its_timeout(team, endpoint, receiver, settings):
    settings.KB_WEBHOOK_TIMEOUT_MS = 300
    # The retry is not due within this call (the fixture's 40 ms was, on a loaded machine).
    settings.KB_WEBHOOK_BACKOFF_BASE_MS = 60_000
    receiver.hold.set()  # the receiver never answers in time
    kb.byte_create(module=team["deploy"], user=team["owner"], title="A")
    deliver_endpoint(endpoint.pk)
    delivery = Delivery.objects.get()
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.error.startswith("TimeoutError") and delivery.next_attempt_at is not None

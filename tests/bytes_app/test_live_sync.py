"""`services.bytes_sync_from_live`: the materializer's batch write of live texts into byte rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bytes_app import services
from bytes_app.models import Byte, Revision
from bytes_app.services import LiveText
from discussions.models import ByteMention
from integrations.models import Endpoint, Event

pytestmark = pytest.mark.django_db


def test_a_batch_stores_each_changed_text_with_its_version_revision_and_links(team, client_for):
    byte, checklist, editor = team["byte"], team["checklist"], team["editor"]
    versions = {b.pk: b.version for b in (byte, checklist)}
    updated_before = byte.updated_at
    changed = services.bytes_sync_from_live(
        [
            LiveText(byte.pk, "Run it. See [[runbook]]. Zeppelin.", editor.pk),
            LiveText(checklist.pk, checklist.content, editor.pk),  # unchanged: left alone
            LiveText(10**9, "a byte deleted since", editor.pk),  # gone: skipped
        ]
    )
    assert [b.pk for b in changed] == [byte.pk]
    byte.refresh_from_db()
    checklist.refresh_from_db()
    assert (byte.content, byte.version, byte.updated_by_id) == (
        "Run it. See [[runbook]]. Zeppelin.",
        versions[byte.pk] + 1,
        editor.pk,
    )
    assert byte.updated_at > updated_before and checklist.version == versions[checklist.pk]
    assert list(byte.outgoing_links.values_list("target", flat=True)) == ["runbook"]
    latest = byte.revisions.order_by("-id").first()
    assert (latest.kind, latest.content, latest.version, latest.author_id) == (
        "edit",
        byte.content,
        byte.version,
        editor.pk,
    )
    found = client_for(editor).get("/api/bytes/?q=zeppelin").json()["results"]
    assert [b["id"] for b in found] == [byte.pk], "the search index follows the stored text"


def test_a_text_read_before_a_newer_store_does_not_replace_it(team):
    byte = team["byte"]
    services.bytes_sync_from_live([LiveText(byte.pk, "newer", None)])
    stale = byte.version  # the version the catch-up read, before "newer" was stored
    assert services.bytes_sync_from_live([LiveText(byte.pk, "older", None, expected_version=stale)]) == []
    assert Byte.objects.get(pk=byte.pk).content == "newer"


def test_revisions_fold_per_author_within_the_window_across_batches(team, settings):
    byte, checklist, editor, owner = team["byte"], team["checklist"], team["editor"], team["owner"]
    for number in range(3):
        services.bytes_sync_from_live(
            [
                LiveText(byte.pk, f"typing {number}", editor.pk),
                LiveText(checklist.pk, f"list {number}", owner.pk),
            ]
        )
    assert [r.kind for r in byte.revisions.order_by("id")] == ["create", "edit"]
    assert [r.kind for r in checklist.revisions.order_by("id")] == ["create", "edit"]
    assert byte.revisions.order_by("-id").first().content == "typing 2"
    services.bytes_sync_from_live([LiveText(byte.pk, "owner's turn", owner.pk)])
    assert byte.revisions.count() == 3, "another author starts a new revision"
    last = byte.revisions.order_by("-id").first()
    Revision.objects.filter(pk=last.pk).update(
        created_at=last.created_at - timedelta(seconds=settings.KB_REVISION_COALESCE_SECONDS + 1)
    )
    services.bytes_sync_from_live([LiveText(byte.pk, "later", owner.pk)])
    assert byte.revisions.count() == 4, "past the window a new revision starts"


def _texts(bytes_: list[Byte], tick: int) -> list[LiveText]:
    return [LiveText(b.pk, f"tick {tick} of {b.pk}", None) for b in bytes_]


def test_the_queries_of_a_batch_do_not_grow_with_its_bytes(team):
    # One tick of the materializer stores every byte that changed in the process: per-byte
    # queries (row, revision, webhook subscribers, mentions) were most of its cost.
    many = [
        services.byte_create(module=team["deploy"], user=team["owner"], title=f"B{n}", content="")
        for n in range(14)
    ]
    for tick in range(2):  # the first tick adds each byte's edit revision, the second folds into it
        with CaptureQueriesContext(connection) as two:
            services.bytes_sync_from_live(_texts(many[:2], tick))
        with CaptureQueriesContext(connection) as twelve:
            services.bytes_sync_from_live(_texts(many[2:], tick))
        assert len(twelve) == len(two), (tick, [q["sql"][:80] for q in twelve.captured_queries])
    # An endpoint that wants the events gets one per byte (the payloads are per byte).
    Endpoint.objects.create(
        workspace=team["workspace"],
        url="https://hooks.example.com/kb",
        secret="s" * 32,
        event_types=["byte.updated"],
    )
    services.bytes_sync_from_live(_texts(many, 20))
    assert Event.objects.filter(type="byte.updated").count() == 14


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="PostgreSQL: Django binds on the client, nothing is prepared"
)
def test_a_batch_runs_the_same_sql_texts_for_any_number_of_bytes(team):
    # SQLite prepares and keeps one statement per distinct SQL text (bytes_app/sql.py): a text
    # per count of bytes filled its memory in steps under load (python -m bench.load).
    many = [
        services.byte_create(module=team["deploy"], user=team["owner"], title=f"B{n}", content="")
        for n in range(14)
    ]
    Endpoint.objects.create(
        workspace=team["workspace"], url="https://hooks.example.com/kb", secret="s" * 32, event_types=[]
    )
    for tick in range(2):  # the first tick adds each byte's edit revision, the second folds into it
        texts: dict[int, set[str]] = {}
        for count in (2, 5, 12):
            seen = texts.setdefault(count, set())

            def record(execute, sql, params, many_, context, seen=seen):
                if "SAVEPOINT" not in sql:  # the test's own transaction makes the batch's a savepoint
                    seen.add(sql)
                return execute(sql, params, many_, context)

            with connection.execute_wrapper(record):
                services.bytes_sync_from_live(
                    [
                        LiveText(b.pk, f"tick {tick} of {b.pk}{' @olive' if n % 3 == 0 else ''}", None)
                        for n, b in enumerate(many[:count])
                    ]
                )
        assert texts[2] == texts[5] == texts[12], (tick, texts[12] - texts[2])


def test_mentions_follow_live_text_in_a_batch(team):
    byte, checklist, editor = team["byte"], team["checklist"], team["editor"]
    services.bytes_sync_from_live(
        [LiveText(byte.pk, "ask @olive", editor.pk), LiveText(checklist.pk, "plain", editor.pk)]
    )
    assert list(ByteMention.objects.filter(byte=byte).values_list("user__username", flat=True)) == ["olive"]
    services.bytes_sync_from_live(
        [LiveText(byte.pk, "nobody now", editor.pk), LiveText(checklist.pk, "still plain", editor.pk)]
    )
    assert not ByteMention.objects.filter(byte=byte).exists(), "a mention taken out of the text is forgotten"

"""Sending: one endpoint at a time, its pending deliveries in event order.

A worker takes a lease on the endpoint (a conditional UPDATE, so two workers never send the same
endpoint's events at once), sends the oldest pending delivery, records the result, and goes on.
A failed delivery blocks the ones after it (per-endpoint ordering) until it succeeds or runs out
of attempts; retries wait exponentially longer, with jitter. A delivery is marked sent only after
the receiver answered 2xx, so a worker killed mid-request leaves it pending: the lease expires and
it is sent again, with the same event id (at-least-once).
"""

from __future__ import annotations

import json
import logging
import random
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from bytes_app.models import Membership, Role

from . import netguard, signing
from .models import Delivery, Endpoint, Event

logger = logging.getLogger(__name__)
USER_AGENT = "kb-webhooks/1"


def body_of(event: Event) -> bytes:
    """The request body: the same bytes for every attempt of the event (once its data is final)."""
    payload = {
        "id": event.public_id,
        "type": event.type,
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "sequence": event.pk,
        "workspace": event.workspace_id,
        "data": event.data,
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def backoff(attempts: int) -> timedelta:
    """Delay before retry number `attempts`: exponential, capped, with "equal jitter"."""
    base = settings.KB_WEBHOOK_BACKOFF_BASE_MS / 1000
    ceiling = min(settings.KB_WEBHOOK_BACKOFF_MAX_SECONDS, base * 2 ** (attempts - 1))
    return timedelta(seconds=ceiling / 2 + random.uniform(0, ceiling / 2))


BATCH = 50


def _lease_length() -> timedelta:
    # An attempt is cut at the timeout (netguard); twice that plus slack covers the bookkeeping.
    return timedelta(milliseconds=settings.KB_WEBHOOK_TIMEOUT_MS * 2 + 2000)


class Lease:
    """A worker's hold on one endpoint, taken and renewed by conditional UPDATEs."""

    def __init__(self, endpoint_id: int) -> None:
        self.endpoint_id = endpoint_id
        self.token = uuid.uuid4().hex
        self.until = timezone.now()

    def take(self) -> bool:
        now = timezone.now()
        self.until = now + _lease_length()
        return bool(
            Endpoint.objects.filter(pk=self.endpoint_id, active=True)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .update(lease_until=self.until, lease_token=self.token)
        )

    def keep(self) -> bool:
        """Renew when half the lease is gone (not on every delivery: each write costs a commit)."""
        now = timezone.now()
        if now < self.until - _lease_length() / 2:
            return True
        self.until = now + _lease_length()
        held = Endpoint.objects.filter(pk=self.endpoint_id, lease_token=self.token)
        return bool(held.update(lease_until=self.until))

    def release(self) -> None:
        Endpoint.objects.filter(pk=self.endpoint_id, lease_token=self.token).update(
            lease_until=None, lease_token=""
        )


def _queue(endpoint_id: int) -> QuerySet[Delivery]:
    return Delivery.objects.filter(endpoint_id=endpoint_id, status=Delivery.Status.PENDING).order_by(
        "event_id", "id"
    )


def head(endpoint_id: int) -> Delivery | None:
    """The delivery that must go next to this endpoint."""
    return _queue(endpoint_id).select_related("event", "endpoint").first()


def deliver_endpoint(endpoint_id: int) -> datetime | None:
    """Send what is due to one endpoint, in order. Returns when the next retry is due (or None)."""
    while True:
        lease = Lease(endpoint_id)
        if not lease.take():
            return None  # another worker holds it (and looks again after releasing), or it is off
        try:
            retry_at = _drain(lease)
        finally:
            lease.release()
        if retry_at is not None:
            return retry_at
        # A delivery committed while we held the lease found it taken: look once more.
        nxt = head(endpoint_id)
        if nxt is None or not nxt.endpoint.active:
            return None
        if nxt.next_attempt_at > timezone.now():
            return nxt.next_attempt_at


def _drain(lease: Lease) -> datetime | None:
    while True:
        endpoint = Endpoint.objects.filter(pk=lease.endpoint_id, active=True).first()
        batch = list(_queue(lease.endpoint_id).select_related("event")[:BATCH]) if endpoint else []
        if not batch:
            return None
        for delivery in batch:
            if delivery.next_attempt_at > timezone.now():
                return delivery.next_attempt_at
            delivery.endpoint = endpoint
            sent = attempt(delivery)
            if not lease.keep():
                logger.warning("lost the lease on endpoint %s", lease.endpoint_id)
                return None
            if not sent:
                break  # it waits for its retry, and everything after it waits too


def attempt(delivery: Delivery) -> bool:
    """Send one delivery once and record what happened; True if the receiver took it."""
    endpoint, event = delivery.endpoint, delivery.event
    body = body_of(event)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "KB-Event-Id": event.public_id,
        "KB-Event-Type": event.type,
        signing.HEADER: signing.sign(endpoint.secret, body),
    }
    code: int | None = None
    latency: int | None = None
    try:
        response = netguard.post(
            endpoint.url,
            body,
            headers,
            timeout=settings.KB_WEBHOOK_TIMEOUT_MS / 1000,
            max_body=settings.KB_WEBHOOK_RESPONSE_MAX_BYTES,
        )
        code, latency = response.status, response.latency_ms
        error = "" if 200 <= code < 300 else f"HTTP {code}: {response.body[:200].decode(errors='replace')}"
    except netguard.RefusedURL as refused:
        error = str(refused)
    except OSError as failure:
        error = f"{type(failure).__name__}: {failure}" if str(failure) else type(failure).__name__
    if error:
        _record_failure(delivery, code=code, latency=latency, error=error[:300])
    else:
        _record_success(delivery, code=code, latency=latency)
    return not error


def _record_success(delivery: Delivery, *, code: int | None, latency: int | None) -> None:
    # The common case in as few writes as possible: one UPDATE, and a second only after failures.
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.SUCCEEDED,
        attempts=F("attempts") + 1,
        last_attempt_at=timezone.now(),
        response_code=code,
        latency_ms=latency,
        error="",
    )
    if delivery.endpoint.failure_streak:
        Endpoint.objects.filter(pk=delivery.endpoint_id).update(failure_streak=0)
        delivery.endpoint.failure_streak = 0


@transaction.atomic
def _record_failure(delivery: Delivery, *, code: int | None, latency: int | None, error: str) -> None:
    now = timezone.now()
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.response_code, delivery.latency_ms, delivery.error = code, latency, error
    if delivery.attempts >= settings.KB_WEBHOOK_MAX_ATTEMPTS:
        delivery.status = Delivery.Status.FAILED
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    delivery.save()
    endpoint = Endpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
    endpoint.failure_streak += 1
    if endpoint.active and endpoint.failure_streak >= settings.KB_WEBHOOK_DISABLE_AFTER:
        _disable(endpoint, error)
    endpoint.save(update_fields=["failure_streak", "active", "disabled_at", "disabled_reason"])
    delivery.endpoint = endpoint


def _disable(endpoint: Endpoint, error: str) -> None:
    """Stop sending to an endpoint that keeps failing, and tell the workspace's owners.
    Its pending deliveries stay: turning it back on (active=true) resumes them in order.
    While it is off, new events are not queued for it (a dead URL must not grow the outbox)."""
    endpoint.active = False
    endpoint.disabled_at = timezone.now()
    endpoint.disabled_reason = (
        f"Disabled after {endpoint.failure_streak} failed attempts in a row; last: {error}"
    )[:300]
    emails = list(
        Membership.objects.filter(workspace_id=endpoint.workspace_id, role=Role.OWNER)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    logger.warning("webhook endpoint %s disabled: %s", endpoint.pk, endpoint.disabled_reason)
    if emails:
        subject = f"kb: webhook endpoint {endpoint.url} was disabled"
        message = (
            f"{endpoint.disabled_reason}\n\nDeliveries queued before now wait, and resume in order once "
            f"you fix the receiver and set the endpoint active again (PATCH /api/webhooks/{endpoint.pk}/ "
            f'{{"active": true}}). Changes made while it is disabled are not queued for it.'
        )
        transaction.on_commit(lambda: send_mail(subject, message, None, emails, fail_silently=True))

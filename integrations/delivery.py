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
from django.db.models import Q
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


def _lease_length() -> timedelta:
    return timedelta(milliseconds=settings.KB_WEBHOOK_TIMEOUT_MS * 2 + 5000)


def _claim(endpoint_id: int) -> str | None:
    token = uuid.uuid4().hex
    now = timezone.now()
    claimed = (
        Endpoint.objects.filter(pk=endpoint_id, active=True)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + _lease_length(), lease_token=token)
    )
    return token if claimed else None


def _renew(endpoint_id: int, token: str) -> bool:
    until = timezone.now() + _lease_length()
    return bool(Endpoint.objects.filter(pk=endpoint_id, lease_token=token).update(lease_until=until))


def _release(endpoint_id: int, token: str) -> None:
    Endpoint.objects.filter(pk=endpoint_id, lease_token=token).update(lease_until=None, lease_token="")


def head(endpoint_id: int) -> Delivery | None:
    """The delivery that must go next to this endpoint."""
    return (
        Delivery.objects.filter(endpoint_id=endpoint_id, status=Delivery.Status.PENDING)
        .select_related("event", "endpoint")
        .order_by("event_id", "id")
        .first()
    )


def deliver_endpoint(endpoint_id: int) -> datetime | None:
    """Send what is due to one endpoint, in order. Returns when the next retry is due (or None)."""
    while True:
        token = _claim(endpoint_id)
        if token is None:
            return None  # another worker holds it (and re-checks after releasing), or it is off
        try:
            retry_at = _drain(endpoint_id, token)
        finally:
            _release(endpoint_id, token)
        if retry_at is not None:
            return retry_at
        # A delivery committed while we held the lease found it taken: look once more.
        nxt = head(endpoint_id)
        if nxt is None or nxt.next_attempt_at > timezone.now() or not nxt.endpoint.active:
            return nxt.next_attempt_at if nxt is not None and nxt.endpoint.active else None


def _drain(endpoint_id: int, token: str) -> datetime | None:
    while (delivery := head(endpoint_id)) is not None:
        if not delivery.endpoint.active:
            return None
        if delivery.next_attempt_at > timezone.now():
            return delivery.next_attempt_at
        attempt(delivery)
        if not _renew(endpoint_id, token):
            logger.warning("lost the lease on endpoint %s", endpoint_id)
            return None
    return None


def attempt(delivery: Delivery) -> None:
    """Send one delivery once and record what happened."""
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
    _record(delivery, ok=not error, code=code, latency=latency, error=error[:300])


@transaction.atomic
def _record(delivery: Delivery, *, ok: bool, code: int | None, latency: int | None, error: str) -> None:
    now = timezone.now()
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.response_code, delivery.latency_ms, delivery.error = code, latency, error
    endpoint = Endpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
    if ok:
        delivery.status = Delivery.Status.SUCCEEDED
        endpoint.failure_streak = 0
    else:
        if delivery.attempts >= settings.KB_WEBHOOK_MAX_ATTEMPTS:
            delivery.status = Delivery.Status.FAILED
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts)
        endpoint.failure_streak += 1
        if endpoint.active and endpoint.failure_streak >= settings.KB_WEBHOOK_DISABLE_AFTER:
            _disable(endpoint, error)
    delivery.save()
    endpoint.save(update_fields=["failure_streak", "active", "disabled_at", "disabled_reason"])


def _disable(endpoint: Endpoint, error: str) -> None:
    """Stop sending to an endpoint that keeps failing, and tell the workspace's owners.
    Its pending deliveries stay: turning it back on (active=true) resumes them in order."""
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
            f"{endpoint.disabled_reason}\n\nNothing is lost: its events wait. Fix the receiver, then set the "
            f'endpoint active again (PATCH /api/webhooks/{endpoint.pk}/ {{"active": true}}).'
        )
        transaction.on_commit(lambda: send_mail(subject, message, None, emails, fail_silently=True))

"""Writes for webhook endpoints and deliveries (keyword-only, one transaction each)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from bytes_app.models import Workspace

from . import netguard, signing
from .models import EVENT_TYPES, Delivery, Endpoint

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

MAX_ENDPOINTS_PER_WORKSPACE = 20


def _check_url(url: str) -> None:
    try:
        netguard.validate_url(url)
    except netguard.RefusedURL as refused:
        raise ValidationError({"url": [str(refused)]}) from None


def _event_types(names: Iterable[str]) -> list[str]:
    unknown = [name for name in names if name not in EVENT_TYPES]
    if unknown:
        raise ValidationError(
            {"event_types": [f"Unknown event type(s) {unknown}; known: {', '.join(EVENT_TYPES)}."]}
        )
    return sorted(set(names))


def _wake_on_commit(endpoint_id: int) -> None:
    from .tasks import wake

    transaction.on_commit(lambda: wake(endpoint_id), robust=True)  # a lost wakeup is swept up later


@transaction.atomic
def endpoint_create(
    *,
    workspace: Workspace,
    user: AbstractBaseUser,
    url: str,
    event_types: Iterable[str] = (),
    description: str = "",
    active: bool = True,
) -> Endpoint:
    """Register an endpoint with a new secret (the caller shows it once)."""
    _check_url(url)
    types = _event_types(event_types)
    if Endpoint.objects.filter(workspace=workspace).count() >= MAX_ENDPOINTS_PER_WORKSPACE:
        raise ValidationError({"url": [f"A workspace has at most {MAX_ENDPOINTS_PER_WORKSPACE} endpoints."]})
    return Endpoint.objects.create(
        workspace=workspace,
        url=url,
        event_types=types,
        description=description,
        active=active,
        secret=signing.new_secret(),
        created_by=user,
    )


@transaction.atomic
def endpoint_update(
    *,
    endpoint: Endpoint,
    url: str | None = None,
    event_types: Iterable[str] | None = None,
    description: str | None = None,
    active: bool | None = None,
) -> Endpoint:
    """Change an endpoint; turning it back on clears its failure record and resumes its queue."""
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    if url is not None and url != endpoint.url:
        _check_url(url)
        endpoint.url = url
    if event_types is not None:
        endpoint.event_types = _event_types(event_types)
    if description is not None:
        endpoint.description = description
    if active is not None:
        if active and not endpoint.active:
            endpoint.failure_streak = 0
            endpoint.disabled_at = None
            endpoint.disabled_reason = ""
            _wake_on_commit(endpoint.pk)
        endpoint.active = active
    endpoint.save()
    return endpoint


@transaction.atomic
def endpoint_rotate_secret(*, endpoint: Endpoint) -> Endpoint:
    """A new secret (the caller shows it once); requests signed from now on use it."""
    endpoint.secret = signing.new_secret()
    endpoint.save(update_fields=["secret", "updated_at"])
    return endpoint


@transaction.atomic
def endpoint_delete(*, endpoint: Endpoint) -> None:
    endpoint.delete()


@transaction.atomic
def delivery_resend(*, delivery: Delivery) -> Delivery:
    """Send the delivery's event again (same event id); pending events go out in sequence order."""
    again = Delivery.objects.create(
        endpoint_id=delivery.endpoint_id, event_id=delivery.event_id, next_attempt_at=timezone.now()
    )
    _wake_on_commit(delivery.endpoint_id)
    return again

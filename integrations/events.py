"""The outbox writer: bytes_app's signals become Event rows (and one Delivery per subscribed
endpoint) in the transaction of the change, so a change and its event commit together or not at all.

`byte.updated` is coalesced: while an earlier one for the same byte has not been sent to anyone,
it is rewritten to carry the latest state; once sent, the next is held until
KB_WEBHOOK_COALESCE_MS after it, so live typing yields at most one event per byte per window.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from bytes_app import signals
from bytes_app.models import Byte, Module
from bytes_app.selectors import module_paths

from .models import Delivery, Endpoint, Event


def _byte_data(byte: Byte, user_id: int | None) -> dict[str, Any]:
    module = byte.module
    return {
        "byte": {
            "id": byte.pk,
            "module": module.pk,
            "title": byte.title,
            "slug": byte.slug,
            "path": f"{module_paths(module.workspace_id)[module.pk]}/{byte.slug}",
            "version": byte.version,
            "tags": sorted(byte.tags.values_list("name", flat=True)),
        },
        "actor": user_id,
    }


def _module_data(module: Module) -> dict[str, Any]:
    return {
        "module": {
            "id": module.pk,
            "parent": module.parent_id,
            "name": module.name,
            "slug": module.slug,
            "path": module_paths(module.workspace_id)[module.pk],
            "position": module.position,
        }
    }


def _subscribers(workspace_id: int, event_type: str) -> list[Endpoint]:
    endpoints = Endpoint.objects.filter(workspace_id=workspace_id, active=True)
    return [endpoint for endpoint in endpoints if endpoint.wants(event_type)]


def record(
    *,
    workspace_id: int,
    type: str,
    subject_id: int,
    data: dict[str, Any] | Callable[[], dict[str, Any]],
    endpoints: list[Endpoint] | None = None,
) -> Event | None:
    """Write the event and its deliveries (nothing when no endpoint wants it); call inside the change.
    `data` may be a function, called only when some endpoint wants the event; `endpoints`, the
    workspace's subscribers to `type` when the caller looked them up already."""
    if endpoints is None:
        endpoints = _subscribers(workspace_id, type)
    if not endpoints:
        return None
    if callable(data):
        data = data()
    now = timezone.now()
    not_before = now
    if type == "byte.updated":
        last = Event.objects.filter(type=type, subject_id=subject_id, workspace_id=workspace_id).last()
        if last is not None:
            sent = last.deliveries.exclude(status=Delivery.Status.PENDING, attempts=0).exists()
            if not sent:
                last.data = data  # still unsent: it now carries the latest version
                last.save(update_fields=["data"])
                return last
            window = timedelta(milliseconds=settings.KB_WEBHOOK_COALESCE_MS)
            not_before = max(now, last.created_at + window)
    event = Event.objects.create(workspace_id=workspace_id, type=type, subject_id=subject_id, data=data)
    Delivery.objects.bulk_create(
        Delivery(endpoint=endpoint, event=event, next_attempt_at=not_before) for endpoint in endpoints
    )
    _wake_after_commit({endpoint.pk for endpoint in endpoints})
    return event


def _wake_after_commit(endpoint_ids: set[int]) -> None:
    """Wake the worker for these endpoints once the change commits. Losing this wakeup loses
    nothing: the rows are durable and the worker's sweep finds them."""
    from .tasks import wake

    transaction.on_commit(lambda: [wake(endpoint_id) for endpoint_id in sorted(endpoint_ids)], robust=True)


def _user_id(user: Any, kwargs: dict[str, Any]) -> int | None:
    return user.pk if user is not None else kwargs.get("user_id")


@receiver(signals.byte_created)
def _byte_created(byte: Byte, user: Any = None, **kwargs: Any) -> None:
    record(
        workspace_id=byte.module.workspace_id,
        type="byte.created",
        subject_id=byte.pk,
        data=_byte_data(byte, _user_id(user, kwargs)),
    )


@receiver(signals.byte_updated)
def _byte_updated(byte: Byte, user: Any = None, **kwargs: Any) -> None:
    data = _fresh_data(byte, _user_id(user, kwargs))
    record(workspace_id=byte.module.workspace_id, type="byte.updated", subject_id=byte.pk, data=data)


@receiver(signals.bytes_synced)
def _bytes_synced(bytes: list[Byte], **kwargs: Any) -> None:
    # Sent for every tick of live editing: one look-up of the endpoints per workspace, and the
    # payloads built only when one wants them.
    by_workspace: dict[int, list[Byte]] = {}
    for byte in bytes:
        by_workspace.setdefault(byte.module.workspace_id, []).append(byte)
    for workspace_id, changed in by_workspace.items():
        endpoints = _subscribers(workspace_id, "byte.updated")
        for byte in changed:
            record(
                workspace_id=workspace_id,
                type="byte.updated",
                subject_id=byte.pk,
                data=_fresh_data(byte, byte.updated_by_id),
                endpoints=endpoints,
            )


def _fresh_data(byte: Byte, user_id: int | None) -> Callable[[], dict[str, Any]]:
    """The event's payload, read when some endpoint wants it (a live edit's byte may have changed
    again since)."""

    def data() -> dict[str, Any]:
        fresh = Byte.objects.select_related("module").get(pk=byte.pk)
        return _byte_data(fresh, user_id)

    return data


@receiver(signals.byte_deleted)
def _byte_deleted(byte: Byte, user: Any = None, **kwargs: Any) -> None:
    record(
        workspace_id=byte.module.workspace_id,
        type="byte.deleted",
        subject_id=byte.pk,
        data=_byte_data(byte, _user_id(user, kwargs)),
    )


@receiver(signals.byte_moved)
def _byte_moved(byte: Byte, from_module: Module, user: Any = None, **kwargs: Any) -> None:
    data = _byte_data(byte, _user_id(user, kwargs))
    data["from_module"] = from_module.pk
    record(workspace_id=byte.module.workspace_id, type="byte.moved", subject_id=byte.pk, data=data)


@receiver(signals.revision_restored)
def _revision_restored(byte: Byte, revision: Any, user: Any = None, **kwargs: Any) -> None:
    data = _byte_data(byte, _user_id(user, kwargs))
    data["revision"] = revision.pk if revision is not None else None
    record(workspace_id=byte.module.workspace_id, type="revision.restored", subject_id=byte.pk, data=data)


@receiver(signals.module_created)
def _module_created(module: Module, **kwargs: Any) -> None:
    record(
        workspace_id=module.workspace_id,
        type="module.created",
        subject_id=module.pk,
        data=_module_data(module),
    )


@receiver(signals.module_renamed)
def _module_renamed(module: Module, old_name: str, old_slug: str, **kwargs: Any) -> None:
    data = {**_module_data(module), "old_name": old_name, "old_slug": old_slug}
    record(workspace_id=module.workspace_id, type="module.renamed", subject_id=module.pk, data=data)


@receiver(signals.module_moved)
def _module_moved(module: Module, from_parent: Module | None, **kwargs: Any) -> None:
    data = {**_module_data(module), "from_parent": from_parent.pk if from_parent else None}
    record(workspace_id=module.workspace_id, type="module.moved", subject_id=module.pk, data=data)


@receiver(signals.module_deleted)
def _module_deleted(module: Module, **kwargs: Any) -> None:
    record(
        workspace_id=module.workspace_id,
        type="module.deleted",
        subject_id=module.pk,
        data=_module_data(module),
    )

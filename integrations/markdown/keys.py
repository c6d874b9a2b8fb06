"""Stable ids of bytes and modules in exported files (see ExternalKey)."""

from __future__ import annotations

import secrets

from ..models import ExternalKey


def keys_for(workspace_id: int, kind: str, object_ids: list[int]) -> dict[int, str]:
    """The key of every object, making the missing ones."""
    found = dict(
        ExternalKey.objects.filter(kind=kind, object_id__in=object_ids).values_list("object_id", "key")
    )
    missing = [
        ExternalKey(workspace_id=workspace_id, kind=kind, object_id=pk, key=secrets.token_hex(6))
        for pk in object_ids
        if pk not in found
    ]
    ExternalKey.objects.bulk_create(missing)
    found.update({row.object_id: row.key for row in missing})
    return found


def objects_by_key(workspace_id: int, kind: str) -> dict[str, int]:
    return dict(
        ExternalKey.objects.filter(workspace_id=workspace_id, kind=kind).values_list("key", "object_id")
    )


def remember(workspace_id: int, kind: str, object_id: int, key: str) -> None:
    ExternalKey.objects.filter(workspace_id=workspace_id, kind=kind, key=key).delete()  # a stale one
    ExternalKey.objects.update_or_create(
        kind=kind, object_id=object_id, defaults={"workspace_id": workspace_id, "key": key}
    )

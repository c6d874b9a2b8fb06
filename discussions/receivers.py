"""bytes_app's domain events that concern discussions: mentions written in byte content."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from bytes_app import signals

from . import services


@receiver(signals.byte_created)
@receiver(signals.byte_updated)
def byte_saved(sender: Any, byte: Any, user: Any = None, **kwargs: Any) -> None:
    if "@" in byte.content or services.has_byte_mentions(byte):
        services.byte_content_saved(byte, user.pk if user is not None else None)


@receiver(signals.bytes_synced)
def bytes_synced(sender: Any, bytes: list[Any], **kwargs: Any) -> None:
    # One query for the batch: which of the bytes without an "@" had mentions to take back.
    quiet = [byte for byte in bytes if "@" not in byte.content]
    had_mentions = services.bytes_with_mentions(quiet) if quiet else set()
    for byte in bytes:
        if "@" in byte.content or byte.pk in had_mentions:
            services.byte_content_saved(byte, byte.updated_by_id)

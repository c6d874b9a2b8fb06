"""bytes_app's domain events that concern discussions: mentions written in byte content."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from bytes_app import signals

from . import services


@receiver(signals.byte_created)
@receiver(signals.byte_updated)
def byte_saved(sender: Any, byte: Any, user: Any = None, user_id: int | None = None, **kwargs: Any) -> None:
    if "@" in byte.content or services.has_byte_mentions(byte):
        services.byte_content_saved(byte, user.pk if user is not None else user_id)

"""Entry points into the live rooms for code on other threads (REST requests, signals,
management commands). Each runs the event on this process's server loop when there is one,
and otherwise publishes it straight to the channel layer for the server processes."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

from .hub import room_group, user_group
from .runtime import existing_runtime, in_loop

logger = logging.getLogger(__name__)


def _publish(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None or isinstance(layer, InMemoryChannelLayer):
        return  # no server shares a layer with us; rooms find stored changes when they heal
    try:
        async_to_sync(layer.group_send)(group, {**message, "origin": "thread", "seq": 0})
    except Exception:
        logger.warning("could not publish %s to the live rooms", message["type"], exc_info=True)


def server_update(module_id: int, update: bytes) -> None:
    """A stored server-side update (REST write) for the rooms of `module_id`."""
    current = existing_runtime()
    if current is not None:
        in_loop(current, current.rooms.server_update, module_id, update)
    else:
        _publish(
            room_group(module_id), {"type": "kb.room", "room": module_id, "items": [["update", update, None]]}
        )


def module_deleted(module_id: int) -> None:
    current = existing_runtime()
    if current is not None:
        in_loop(current, current.rooms.module_deleted, module_id)
    else:
        _publish(
            room_group(module_id), {"type": "kb.room", "room": module_id, "items": [["deleted", b"", None]]}
        )


def access_changed(user_id: int) -> None:
    """The user's memberships, tokens or sessions changed: their sockets re-check access."""
    current = existing_runtime()
    if current is not None:
        in_loop(current, lambda: current.spawn(current.hub.notify_user(user_id)))
    else:
        _publish(user_group(user_id), {"type": "kb.user", "user": user_id})

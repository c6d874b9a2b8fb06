"""Delivery of stored discussion changes to the open sockets, after their transaction committed.

Through the channel layer (Redis across processes). A broadcast that does not arrive (Redis
down, a process restarting) is not lost: the event is stored, and the clients' catch-up by
sequence number fetches it (every socket is told the latest numbers periodically).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def conversation_group(key: str) -> str:
    """`byte:12` -> `discuss.byte.12` (a group exists before its conversation's first event)."""
    return "discuss." + key.replace(":", ".")


def user_group(user_id: int) -> str:
    return f"discuss.u.{user_id}"


def workspace_group(workspace_id: int) -> str:
    return f"discuss.w.{workspace_id}"


def _send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        logger.warning(
            "could not deliver %s live; clients catch up from storage", message["type"], exc_info=True
        )


def _never_raises(deliver: Callable[..., None]) -> Callable[..., None]:
    """Delivery runs after the commit, inside the request: a failure there must not turn the
    stored change into an error answer (clients catch up from storage)."""

    @wraps(deliver)
    def run(*args: Any) -> None:
        try:
            deliver(*args)
        except Exception:
            logger.exception("live delivery failed; clients catch up from storage")

    return run


@_never_raises
def event_stored(event_id: int) -> None:
    from .api.serializers import EventSerializer
    from .models import Event

    event = (
        Event.objects.select_related("conversation", "thread__byte", "comment").filter(pk=event_id).first()
    )
    if event is None:
        return
    payload = {"conversation": event.conversation.key, **EventSerializer(event).data}
    _send(conversation_group(event.conversation.key), {"type": "discuss.event", "event": payload})


@_never_raises
def inbox_stored(item_ids: list[int]) -> None:
    from .api.serializers import InboxItemSerializer
    from .models import InboxItem
    from .services import unread_count

    items = InboxItem.objects.filter(pk__in=item_ids).select_related(
        "user", "actor", "module", "byte", "comment"
    )
    for item in items:
        payload = {"item": InboxItemSerializer(item).data, "unread": unread_count(item.user)}
        _send(user_group(item.user_id), {"type": "discuss.inbox", **payload})

"""The live channel of discussions: `/ws/discuss/`, JSON text frames (README, "Discussions").

Thin: it checks access through bytes_app.access, replays stored events "since N" when a
client subscribes, then forwards what the channel layer brings. Presence and typing are
ephemeral and never stored. Every `TICK` seconds each socket announces itself to its
workspaces, is told the latest sequence number of what it follows (so a broadcast lost on
the way is caught up from storage), and its credentials are checked again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.core.exceptions import PermissionDenied
from django.http import Http404

from bytes_app.access import byte_for_user, module_for_user
from bytes_app.models import Membership
from collab import auth
from collab.peer import CloseCode

from . import services
from .api.serializers import EventSerializer
from .live import conversation_group, user_group, workspace_group
from .models import Conversation

logger = logging.getLogger(__name__)
TICK = 25.0
MAX_FRAME = 16 * 1024
MAX_ID = 10**18 - 1
MAX_SUBSCRIPTIONS = 200
MESSAGES_PER_SECOND = 30
CATCH_UP_CHUNK = 500


def _number(value: Any, name: str, *, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= MAX_ID:
        raise ValueError(f"{name} must be a whole number from {least} to {MAX_ID}")
    return value


def _target(content: dict[str, Any]) -> tuple[str, int]:
    """("byte", id) or ("module", id) named by a client message; ValueError otherwise."""
    for kind in ("byte", "module"):
        value = content.get(kind)
        if value is not None:
            return kind, _number(value, kind, least=1)
    raise ValueError('name a "byte" or a "module"')


def _workspace_of(user: Any, kind: str, pk: int) -> int:
    """The workspace of a byte or module the user may see; Http404 otherwise."""
    if kind == "byte":
        return byte_for_user(user, pk).module.workspace_id
    return module_for_user(user, pk).workspace_id


def _events_after(kind: str, pk: int, since: int) -> list[dict[str, Any]]:
    conversation = Conversation.objects.filter(**{f"{kind}_id": pk}).first()
    if conversation is None:  # nothing said there yet
        return []
    return list(EventSerializer(services.events_since(conversation, since, CATCH_UP_CHUNK), many=True).data)


def _last_seqs(keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    byte_ids = [int(k.split(":")[1]) for k in keys if k.startswith("byte:")]
    module_ids = [int(k.split(":")[1]) for k in keys if k.startswith("module:")]
    for conversation in Conversation.objects.filter(byte_id__in=byte_ids) | Conversation.objects.filter(
        module_id__in=module_ids
    ):
        found[conversation.key] = conversation.last_seq
    return found


class DiscussConsumer(AsyncWebsocketConsumer):
    user: Any = None

    async def connect(self) -> None:
        found = await database_sync_to_async(auth.authenticate)(self.scope)
        await self.accept()
        if found is None:
            await self.close(code=CloseCode.FORBIDDEN, reason="sign in first")
            return
        self.user, self.credentials = found
        self.me = {"id": self.user.pk, "username": self.user.username}
        self.connection = uuid.uuid4().hex[:12]
        # key -> (workspace id, the last sequence number replayed: live events at or below it
        # were sent by the replay; live events above it are all forwarded, even out of order,
        # since commits on several processes may publish 5 before 4: clients order by number).
        self.following: dict[str, tuple[int, int]] = {}
        self.typing_sent: dict[tuple[str, int | None], float] = {}
        self.window = (0.0, 0)
        self.ticker: asyncio.Future[None] | None = None
        try:
            self.workspaces = await database_sync_to_async(self._workspaces)()
            await self.channel_layer.group_add(user_group(self.user.pk), self.channel_name)
            for workspace_id in self.workspaces:
                await self.channel_layer.group_add(workspace_group(workspace_id), self.channel_name)
            await self._announce("online", ask=True)
        except Exception:  # the database or the channel layer is away: the client retries
            logger.warning("could not open a discussion socket", exc_info=True)
            self.user = None
            await self.close(code=CloseCode.UNAVAILABLE, reason="try again shortly")
            return
        self.ticker = asyncio.ensure_future(self._tick())

    def _workspaces(self) -> list[int]:
        return list(Membership.objects.filter(user_id=self.user.pk).values_list("workspace_id", flat=True))

    async def disconnect(self, code: int) -> None:
        if self.user is None:
            return
        if self.ticker is not None:
            self.ticker.cancel()
        try:
            await self._announce("offline")
            for group in [
                user_group(self.user.pk),
                *map(workspace_group, self.workspaces),
                *map(conversation_group, self.following),
            ]:
                await self.channel_layer.group_discard(group, self.channel_name)
        except Exception:  # the channel layer may be down; the groups expire with the process
            logger.warning("could not leave discussion groups", exc_info=True)

    # --- from the client --------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.user is None:
            return
        if text_data is None:
            return await self.close(code=CloseCode.BAD_MESSAGE, reason="send JSON text frames")
        if len(text_data) > MAX_FRAME or len(text_data.encode()) > MAX_FRAME:
            return await self.close(code=CloseCode.TOO_LARGE, reason=f"frames are at most {MAX_FRAME} bytes")
        now = time.monotonic()
        start, count = self.window
        self.window = (now, 1) if now - start > 1.0 else (start, count + 1)
        if self.window[1] > MESSAGES_PER_SECOND:
            return await self.close(code=CloseCode.RATE_LIMITED, reason="too many messages")
        try:
            content = json.loads(text_data)
        except ValueError:
            return await self.close(code=CloseCode.BAD_MESSAGE, reason="frames must be JSON")
        if not isinstance(content, dict):
            return await self._error("a message is a JSON object with a type")
        handler = {"subscribe": self._subscribe, "unsubscribe": self._unsubscribe, "typing": self._typing}
        kind = content.get("type")
        if kind not in handler:
            return await self._error(f"unknown message type {kind!r}: use subscribe, unsubscribe or typing")
        try:
            await handler[kind](content)
        except ValueError as error:
            await self._error(str(error))
        except Exception:  # the database or the channel layer is away: say so, keep the socket
            logger.warning("discussion message %s failed", kind, exc_info=True)
            await self._error("that could not be done now; try again shortly")

    async def _error(self, message: str, conversation: str | None = None) -> None:
        await self._send({"type": "error", "message": message, "conversation": conversation})

    async def _send(self, message: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(message, default=str))

    async def _subscribe(self, content: dict[str, Any]) -> None:
        kind, pk = _target(content)
        key = f"{kind}:{pk}"
        since = _number(content.get("since", 0), "since (the last sequence number you hold)", least=0)
        if key not in self.following and len(self.following) >= MAX_SUBSCRIPTIONS:
            raise ValueError(f"at most {MAX_SUBSCRIPTIONS} subscriptions per connection")
        try:
            workspace_id = await database_sync_to_async(_workspace_of)(self.user, kind, pk)
        except (Http404, PermissionDenied):
            return await self._error(f"no {kind} {pk} that you can see", key)
        # Join first, then replay: what is stored meanwhile arrives live, after the replay, and
        # anything at or below what was replayed is dropped (see discuss_event).
        await self.channel_layer.group_add(conversation_group(key), self.channel_name)
        sent = since
        while True:
            events = await database_sync_to_async(_events_after)(kind, pk, sent)
            for event in events:
                await self._send({"type": "event", "conversation": key, **event})
            if events:
                sent = events[-1]["seq"]
            if len(events) < CATCH_UP_CHUNK:
                break
        self.following[key] = (workspace_id, sent)
        await self._send({"type": "subscribed", "conversation": key, "last_seq": sent})

    async def _unsubscribe(self, content: dict[str, Any]) -> None:
        kind, pk = _target(content)
        key = f"{kind}:{pk}"
        if self.following.pop(key, None) is not None:
            await self.channel_layer.group_discard(conversation_group(key), self.channel_name)

    async def _typing(self, content: dict[str, Any]) -> None:
        kind, pk = _target(content)
        key = f"{kind}:{pk}"
        if key not in self.following:
            raise ValueError(f"subscribe to {key} before saying you are typing there")
        thread = content.get("thread")
        if thread is not None:
            thread = _number(thread, "thread", least=1)
        now = time.monotonic()
        if now - self.typing_sent.get((key, thread), 0.0) < 1.0:
            return  # at most one a second per thread; clients show it for a few seconds
        self.typing_sent[(key, thread)] = now
        await self.channel_layer.group_send(
            conversation_group(key),
            {
                "type": "discuss.typing",
                "conversation": key,
                "thread": thread,
                "user": self.me,
                "connection": self.connection,
            },
        )

    # --- from the channel layer -------------------------------------------------------------

    async def discuss_event(self, message: dict[str, Any]) -> None:
        event = message["event"]
        key = event["conversation"]
        following = self.following.get(key)
        if following is None or event["seq"] <= following[1]:
            return  # not followed (any more), or already sent by the replay
        await self._send({"type": "event", **event})

    async def discuss_inbox(self, message: dict[str, Any]) -> None:
        await self._send({"type": "inbox", "item": message["item"], "unread": message["unread"]})

    async def discuss_typing(self, message: dict[str, Any]) -> None:
        if message["connection"] != self.connection and message["conversation"] in self.following:
            await self._send(
                {key: message[key] for key in ("conversation", "thread", "user")} | {"type": "typing"}
            )

    async def discuss_presence(self, message: dict[str, Any]) -> None:
        if message["connection"] == self.connection:
            return
        await self._send(
            {"type": "presence", **{k: message[k] for k in ("workspace", "user", "connection", "state")}}
        )
        if message.get("ask") and message["state"] == "online":
            await self.channel_layer.send(message["reply_to"], self._presence(message["workspace"], "online"))

    # --- periodic ---------------------------------------------------------------------------

    def _presence(self, workspace_id: int, state: str, ask: bool = False) -> dict[str, Any]:
        return {
            "type": "discuss.presence",
            "workspace": workspace_id,
            "user": self.me,
            "state": state,
            "connection": self.connection,
            "ask": ask,
            "reply_to": self.channel_name,
        }

    async def _announce(self, state: str, ask: bool = False) -> None:
        for workspace_id in self.workspaces:
            await self.channel_layer.group_send(
                workspace_group(workspace_id), self._presence(workspace_id, state, ask)
            )

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            try:
                await self._check()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database or Redis is away for a moment: next tick
                logger.warning("discussion socket check failed", exc_info=True)

    async def _check(self) -> None:
        still = await database_sync_to_async(self._still_allowed)()
        if still is None:
            await self.close(code=CloseCode.FORBIDDEN, reason="signed out or access revoked")
            return
        for key, (workspace_id, _) in list(self.following.items()):
            if workspace_id not in still:
                self.following.pop(key, None)
                await self.channel_layer.group_discard(conversation_group(key), self.channel_name)
                await self._error("you no longer have access here", key)
        # Presence follows membership: leave the workspaces one was removed from, join new ones.
        for workspace_id in set(self.workspaces) - still:
            await self.channel_layer.group_discard(workspace_group(workspace_id), self.channel_name)
        for workspace_id in still - set(self.workspaces):
            await self.channel_layer.group_add(workspace_group(workspace_id), self.channel_name)
        self.workspaces = sorted(still)
        await self._announce("online")
        for key, last_seq in (await database_sync_to_async(_last_seqs)(list(self.following))).items():
            await self._send({"type": "seq", "conversation": key, "last_seq": last_seq})

    def _still_allowed(self) -> set[int] | None:
        """The workspaces the user is still a member of, or None when the credential is gone."""
        if not auth.still_signed_in(self.user.pk, self.credentials):
            return None
        return set(self._workspaces())

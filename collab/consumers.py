"""WebSocket transport for module rooms: authenticate the handshake, hand frames to the room.

Consumers have no channel-layer channel of their own: the process's hub carries room and
user events for all of them (collab.hub), so an idle socket costs no subscription.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from channels.consumer import AsyncConsumer, get_handler_name
from channels.exceptions import StopConsumer
from django.conf import settings

from . import auth, protocol
from .peer import CloseCode, Peer
from .room import Room
from .rooms import Unavailable
from .runtime import Runtime, runtime

logger = logging.getLogger(__name__)
ACK_SUBPROTOCOL = "kb.ack"
SLOW_HANDSHAKE_SECONDS = 2.0


class ModuleConsumer(AsyncConsumer):
    channel_layer_alias = None  # type: ignore[assignment]

    rt: Runtime
    room: Room | None = None
    peer: Peer | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        # Channels' loop (await_many_dispatch) wraps every receive in a task and waits on it
        # with asyncio.wait, to serve a channel layer as well; this consumer has none, so a
        # plain loop does the same for less per message.
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' dispatch closes stale DB connections before every message; this consumer
        # touches the database only from the runtime's threads, so the hot path skips that.
        await getattr(self, get_handler_name(message))(message)

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        self.rt = runtime()
        module_id = int(self.scope["url_route"]["kwargs"]["module_id"])
        began = time.monotonic()
        try:
            admission = await self.rt.run_db(auth.admit, self.scope, module_id)
        except Exception:
            logger.exception("handshake check failed")
            return await self._refuse(CloseCode.UNAVAILABLE, "try again later")
        if admission is None:
            return await self._refuse(CloseCode.FORBIDDEN, "permission denied")
        if len(self.rt.rooms.by_user.get(admission.user_id, ())) >= settings.KB_WS_MAX_PER_USER:
            return await self._refuse(CloseCode.TOO_MANY, "too many connections for this user")
        admitted = time.monotonic()
        try:
            room = await self.rt.rooms.open(module_id)
        except Unavailable:
            return await self._refuse(CloseCode.UNAVAILABLE, "this module cannot be loaded now; try again")
        if time.monotonic() - began > SLOW_HANDSHAKE_SECONDS:  # clients give up after a few seconds
            logger.warning(
                "slow handshake for module %s: %.1f s checking access, %.1f s opening the room",
                module_id,
                admitted - began,
                time.monotonic() - admitted,
            )
        if len(room.peers) >= settings.KB_WS_MAX_PER_MODULE:
            return await self._refuse(CloseCode.TOO_MANY, "too many connections to this module")
        offered = self.scope.get("subprotocols") or []
        chosen = ACK_SUBPROTOCOL if ACK_SUBPROTOCOL in offered else (offered[0] if offered else None)
        await self.send({"type": "websocket.accept", "subprotocol": chosen})
        if room.closing:  # it started unloading while we were accepting: take the fresh one
            room = await self.rt.rooms.open(module_id)
        self.peer = Peer(
            user_id=admission.user_id,
            username=admission.username,
            can_write=auth.can_write(admission.role),
            workspace_id=admission.workspace_id,
            send=self.base_send,  # the server's own send: one coroutine less per frame than self.send
            close=self._close,
            wants_acks=chosen == ACK_SUBPROTOCOL or auth.query(self.scope).get("ack") == "1",
            credentials=admission.credentials,
            rate=settings.KB_WS_MESSAGES_PER_SECOND,
            burst=settings.KB_WS_MESSAGE_BURST,
            flood_seconds=settings.KB_WS_FLOOD_SECONDS,
        )
        self.room = room
        self.rt.rooms.attach(room, self.peer)
        await self.rt.hub.join_user(admission.user_id)

    async def _refuse(self, code: int, reason: str) -> None:
        """Accept, say why in the protocol's own words, and close (stock clients stop on 44xx)."""
        await self.send({"type": "websocket.accept"})
        await self.send({"type": "websocket.send", "bytes": protocol.permission_denied(reason)})
        await self.send({"type": "websocket.close", "code": code, "reason": reason})

    def _close(self, code: int, reason: str) -> None:
        self.rt.spawn(self.send({"type": "websocket.close", "code": code, "reason": reason}))

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        peer, room = self.peer, self.room
        if peer is None or room is None or peer.closed:
            return
        data = message.get("bytes")
        if data is None:
            peer.close(CloseCode.BAD_MESSAGE, "text frames are not part of the protocol")
            return
        if len(data) > settings.KB_WS_MAX_FRAME_BYTES:
            peer.close(CloseCode.TOO_LARGE, f"frames are at most {settings.KB_WS_MAX_FRAME_BYTES} bytes")
            return
        wait = peer.throttle()
        if wait > 0:
            if peer.flooding:
                peer.close(CloseCode.RATE_LIMITED, "too many messages")
                return
            # Not reading from this socket meanwhile lets TCP slow the sender down.
            await asyncio.sleep(wait)
        room.receive(peer, data)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        if self.peer is not None and self.room is not None:
            self.peer.closed = True
            self.rt.rooms.detach(self.room, self.peer)
            await self.rt.hub.leave_user(self.peer.user_id)
        # The server may keep this consumer in reference cycles until the collector runs,
        # rarely in an idle process: it must not keep the room's document alive meanwhile.
        self.peer = self.room = None
        raise StopConsumer


class UnknownPathConsumer(AsyncConsumer):
    channel_layer_alias = None  # type: ignore[assignment]

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        await self.send({"type": "websocket.accept"})
        await self.send({"type": "websocket.close", "code": CloseCode.MODULE_GONE, "reason": "no such room"})

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        raise StopConsumer

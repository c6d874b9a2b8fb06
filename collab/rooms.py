"""The rooms of this process: loading (once, even when many sockets arrive together),
unloading when the last socket has gone, healing a room that missed broadcasts, and the
periodic chores (keep-alives, presence expiry, sequence heartbeats)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from pycrdt import Doc

from bytes_app.models import Byte

from . import auth, memory, protocol, store
from .peer import CloseCode, Peer
from .room import Room

if TYPE_CHECKING:
    from .runtime import Runtime

logger = logging.getLogger(__name__)
TICK_SECONDS = 5.0
KEEPALIVE_SECONDS = 15.0
HELLO_AGAIN_SECONDS = 2.0


class Unavailable(Exception):
    """The room could not be loaded (storage down); the socket is refused, never served empty."""


def _load(module_id: int) -> tuple[Doc, int, dict[int, str]]:
    doc, log_rows = store.read(module_id)
    contents = dict(Byte.objects.filter(module_id=module_id).values_list("id", "content"))
    return doc, log_rows, contents


class Rooms:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self._rooms: dict[int, Room] = {}
        self._opening: dict[int, asyncio.Future[Room]] = {}
        self._early: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        self._unloading: dict[int, asyncio.Task[None]] = {}
        self._heal_again: set[int] = set()  # rooms to heal once more when their heal ends
        self.by_user: dict[int, set[Peer]] = defaultdict(set)
        self._ticker: asyncio.Task[None] | None = None
        self._last_heartbeat = time.monotonic()
        self.loads = 0
        self.unloads = 0
        self.heals = 0
        self._unloads_trimmed = 0

    def __len__(self) -> int:
        return len(self._rooms)

    def all(self) -> list[Room]:
        return list(self._rooms.values())

    def loaded(self, module_id: int) -> Room | None:
        return self._rooms.get(module_id)

    async def open(self, module_id: int) -> Room:
        """The module's room, loaded from storage on first use (once for concurrent callers)."""
        while module_id in self._unloading:
            await asyncio.shield(self._unloading[module_id])
        room = self._rooms.get(module_id)
        if room is not None:
            return room
        pending = self._opening.get(module_id)
        if pending is None:
            pending = self._opening[module_id] = asyncio.ensure_future(self._load(module_id))
            pending.add_done_callback(lambda _f: self._opening.pop(module_id, None))
        return await asyncio.shield(pending)

    async def _load(self, module_id: int) -> Room:
        # Join the group first and keep what arrives meanwhile: an update broadcast before its
        # commit must not fall between the load and the subscription.
        self._early[module_id] = []
        await self.rt.hub.join_room(module_id)
        try:
            doc, log_rows, contents = await self.rt.run_db(_load, module_id)
        except Exception as error:
            self._early.pop(module_id, None)
            await self.rt.hub.leave_room(module_id)
            logger.warning("module %s could not be loaded: %s", module_id, error)
            raise Unavailable(str(error)) from error
        room = Room(self.rt, module_id, doc, contents)
        self._rooms[module_id] = room
        self.rt.committer.loaded(module_id, log_rows)
        for event in self._early.pop(module_id, []):
            self.remote(module_id, [event])
        # Updates another process broadcast before this one joined the group, and stored after
        # this load (its commit was late: the database was down), are in no message this room
        # will get and in no stored state it read: ask the processes holding the room for
        # theirs (found by tests/chaos/test_postgres_outage.py).
        self._hello(room)
        self.loads += 1
        if self._ticker is None:
            self._ticker = asyncio.ensure_future(self._tick())
        return room

    def attach(self, room: Room, peer: Peer) -> None:
        room.join(peer)
        self.by_user[peer.user_id].add(peer)

    def detach(self, room: Room, peer: Peer) -> None:
        peers = self.by_user.get(peer.user_id)
        if peers is not None:
            peers.discard(peer)
            if not peers:
                del self.by_user[peer.user_id]
        room.leave(peer)

    def idle(self, room: Room) -> None:
        """The last local peer left: unload after a grace period (a reload often follows)."""
        delay = self.rt.config.KB_ROOM_IDLE_SECONDS
        room.unload_handle = asyncio.get_running_loop().call_later(delay, self._start_unload, room)

    def _start_unload(self, room: Room) -> None:
        room.unload_handle = None  # (the handle holds the room: a cycle only the collector frees)
        if room.peers or room.module_id in self._unloading or self._rooms.get(room.module_id) is not room:
            return
        # Closing from now, not from the task's first step: a socket accepted meanwhile checks
        # this flag and takes the next room; one that joined this room would be unloaded with
        # it, and its edits would no longer be captured once the room drops its document.
        room.closing = True
        self._unloading[room.module_id] = asyncio.ensure_future(self._unload(room))

    async def _unload(self, room: Room) -> None:
        try:
            room.settle()  # writes its last peers sent before leaving
            try:
                await room.materialize()
            except Exception:
                logger.exception("module %s: materializing before unload failed", room.module_id)
            await self.rt.committer.flush()
            self._rooms.pop(room.module_id, None)
            await self.rt.hub.leave_room(room.module_id)
            room.dispose()
            self.unloads += 1
        finally:
            # Here, not in a done callback: between the task's end and its callbacks, open()
            # would find a finished task, whose await does not yield, and spin on it for ever
            # (found by `python -m bench.load`: a process stuck at 100% CPU).
            del self._unloading[room.module_id]

    # --- events from other processes and from REST writes -----------------------------------

    def remote(self, module_id: int, items: list[tuple[Any, ...]], *, gap: bool = False) -> None:
        if module_id in self._early:
            self._early[module_id].extend((kind, data, user) for kind, data, user in items)
            return
        room = self._rooms.get(module_id)
        if room is None:
            return
        for kind, data, user in items:
            if kind == "hello":  # a process just loaded this room: it gets our whole state
                self._answer_hello(room)
            else:
                room.remote(kind, data, user)
        if gap:
            self.rt.spawn(self.heal(room))

    def _answer_hello(self, room: Room) -> None:
        if not self.rt.config.KB_BROADCAST_AFTER_COMMIT:
            self.rt.hub.publish_room(room.module_id, "update", room.encoded(), None)
            return
        # In that mode nothing is sent before it is stored, and a receiver stores nothing it
        # is sent: the state is sent once every write it holds is stored (found by review).
        state = room.encoded()

        async def once_stored() -> None:
            await self.rt.committer.flush()
            self.rt.hub.publish_room(room.module_id, "update", state, None)

        self.rt.spawn(once_stored())

    def server_update(self, module_id: int, update: bytes) -> None:
        """A REST write stored `update`: apply it here and pass it to the other processes."""
        self.remote(module_id, [("update", update, None)])
        self.rt.hub.publish_room(module_id, "update", update, None)

    def module_deleted(self, module_id: int) -> None:
        self.remote(module_id, [("deleted", b"", None)])
        self.rt.hub.publish_room(module_id, "deleted", b"", None)

    def _hello(self, room: Room) -> None:
        """Ask the other processes holding the room for their whole state (see remote)."""
        room.hello_at = time.monotonic()
        self.rt.hub.publish_room(room.module_id, "hello", b"", None)

    async def heal(self, room: Room, *, ask_others: bool = True) -> None:
        """Bring in what a room missed (a sequence gap, an update that did not integrate, or the
        channel layer was down): the other processes' state, which holds what they broadcast
        but have not stored yet, and the stored document, which holds what any process stored,
        even one that has gone. The sender stores before or just after broadcasting, so the
        committer of every process is given a moment first. After an outage of the channel
        layer (`ask_others=False`) the database alone has it all: every process kept storing,
        and asking would make each send its whole state of every room at once."""
        if room.healing:
            # What prompted this may have been stored after the heal under way read the
            # database: heal once more when it ends (found by review).
            self._heal_again.add(room.module_id)
            return
        room.healing = True
        try:
            if ask_others and time.monotonic() - room.hello_at > HELLO_AGAIN_SECONDS:  # (a load asks)
                self._hello(room)
            await asyncio.sleep(self.rt.config.KB_HEAL_DELAY_SECONDS)
            state = await self.rt.run_db(store.load, room.module_id)
            if self._rooms.get(room.module_id) is room:
                room.heal(state)
                self.heals += 1
        except Exception as error:
            logger.warning("module %s: heal failed (%s)", room.module_id, error)
        finally:
            room.healing = False
        if room.module_id in self._heal_again:
            self._heal_again.discard(room.module_id)
            if self._rooms.get(room.module_id) is room:
                self.rt.spawn(self.heal(room))

    def heal_all(self) -> None:
        for room in list(self._rooms.values()):
            self.rt.spawn(self.heal(room, ask_others=False))

    # --- access changes ---------------------------------------------------------------------

    def revalidate_user(self, user_id: int) -> None:
        for peer in list(self.by_user.get(user_id, ())):
            self.rt.spawn(self._revalidate_twice(peer))

    async def _revalidate_twice(self, peer: Peer) -> None:
        # Again a moment later: a logout signal fires before the session is actually deleted.
        await self._revalidate(peer)
        await asyncio.sleep(1.0)
        if not peer.closed:
            await self._revalidate(peer)

    async def _revalidate(self, peer: Peer) -> None:
        try:
            role = await self.rt.run_db(auth.recheck, peer.user_id, peer.credentials, peer.workspace_id)
        except Exception:
            logger.exception("rechecking access of user %s failed; closing to be safe", peer.user_id)
            role = None
        if role is None:
            peer.close(CloseCode.FORBIDDEN, "access revoked")
            return
        can_write = auth.can_write(role)
        if can_write != peer.can_write:
            peer.can_write, peer.told_read_only = can_write, False
            if can_write and peer.ack_barrier is not None:
                # Writes dropped while it could not write hold its acknowledgements; its answer
                # to a sync step 1 carries them (they are now an editor's) and releases them.
                for room in self._rooms.values():
                    if peer in room.peers:
                        peer.push(protocol.sync_step1(room.doc.get_state()))

    # --- chores -----------------------------------------------------------------------------

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                await self._chores()
            except Exception:
                logger.exception("collab chores failed")

    async def _chores(self) -> None:
        now = time.monotonic()
        for room in list(self._rooms.values()):
            room.expire_remote_presence(now)
            for peer in room.peers:
                if now - peer.last_sent >= KEEPALIVE_SECONDS:
                    peer.push(protocol.KEEPALIVE)
            if not room.peers and room.unload_handle is None and not room.closing:
                # Loaded for a socket that never joined: it went away while the room loaded
                # (its accept then fails) or its handshake was cancelled. Nothing else would
                # unload it (found by the load suite's cycles on a starved machine: 19 rooms).
                self.idle(room)
        if self.unloads != self._unloads_trimmed:
            self._unloads_trimmed = self.unloads
            memory.give_back()
        if now - self._last_heartbeat >= self.rt.config.KB_HEARTBEAT_SECONDS:
            # Say how far this process's broadcasts have got in each room it served, so that
            # a process that lost the last ones (and so saw no gap) notices and heals.
            self._last_heartbeat = now
            self.rt.hub.heartbeat()

    async def shutdown(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        for room in list(self._rooms.values()):
            room.settle()
            room.close_all(CloseCode.RESTART, "server restarting")
        if not await self.rt.materializer.store(set(self._rooms.values())):
            logger.error("byte contents could not be stored at shutdown (the update log has them)")
        for task in list(self._unloading.values()):
            await asyncio.shield(task)

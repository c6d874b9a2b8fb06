"""This process's link to the other server processes, over the channel layer.

One channel per process joins a group per loaded room (`kb.room.<id>`) and per connected user
(`kb.user.<id>`). A broadcast is one publish whatever the number of sockets; each process
fans out to its own sockets. Outgoing room traffic is queued and sent by one task, several
updates of a room per message when they pile up. Every message carries the sending process
and a sequence number per room, so a receiver that sees a gap (channel layers deliver at most
once) heals the room from the database. With the in-memory layer (one process) nothing
crosses processes and only user events are delivered, locally.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

import redis
from channels.layers import InMemoryChannelLayer, get_channel_layer

if TYPE_CHECKING:
    from .runtime import Runtime

logger = logging.getLogger(__name__)
PUBLISH_TIMEOUT = 2.0
SLOW_LIMIT = 30.0  # a layer operation this slow degrades even while Redis answers PINGs (_guard)
PROBE_SECONDS = 1.0
PROBE_GROUP = "kb.probe"


def room_group(module_id: int) -> str:
    return f"kb.room.{module_id}"


def user_group(user_id: int) -> str:
    return f"kb.user.{user_id}"


class Hub:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.layer = get_channel_layer()
        self.shared = self.layer is not None and not isinstance(self.layer, InMemoryChannelLayer)
        self.process = uuid.uuid4().hex[:12]
        self.channel: str | None = None
        self._receiver: asyncio.Task[None] | None = None
        self._publisher: asyncio.Task[None] | None = None
        self._outgoing: dict[int, list[tuple[str, bytes, int | None]]] = defaultdict(list)
        self._wakeup = asyncio.Event()
        self._seq: Counter[int] = Counter()
        self._seen: dict[tuple[str, int], int] = {}
        self._users: Counter[int] = Counter()
        self.groups: set[str] = set()  # the channel-layer groups this process has joined
        self._start_lock = asyncio.Lock()
        self.degraded = False
        self._probe: asyncio.Task[None] | None = None
        self.published = 0

    async def _start(self) -> None:
        if self.channel is not None:
            return
        async with self._start_lock:
            if self.channel is None:
                self.channel = await self.layer.new_channel()
                self._receiver = asyncio.ensure_future(self._receive())

    async def _started(self) -> bool:
        """This process's channel exists (made on first use); False, and degraded, when the
        layer is down. Raised, a Redis outage at a process's first room load crashed the
        consumer instead of serving local sockets (found by review); the probe makes the
        channel and joins the groups once Redis is back."""
        return await self._guard(self._start())

    # --- membership -------------------------------------------------------------------------

    async def join_room(self, module_id: int) -> None:
        if self.shared:
            self.groups.add(room_group(module_id))
            if await self._started():
                await self._guard(self.layer.group_add(room_group(module_id), self.channel))

    async def leave_room(self, module_id: int) -> None:
        # The room's sequence goes on: numbered from 1 again after a reload, a lost message
        # went unnoticed by a process still holding the room until the count passed where it
        # had been (found by review).
        for key in [key for key in self._seen if key[1] == module_id]:
            del self._seen[key]
        self.groups.discard(room_group(module_id))  # (also when the channel was never made)
        if self.shared and self.channel is not None:
            await self._guard(self.layer.group_discard(room_group(module_id), self.channel))

    async def join_user(self, user_id: int) -> None:
        self._users[user_id] += 1
        if self.shared and self._users[user_id] == 1:
            self.groups.add(user_group(user_id))
            if await self._started():
                await self._guard(self.layer.group_add(user_group(user_id), self.channel))

    async def leave_user(self, user_id: int) -> None:
        self._users[user_id] -= 1
        if self._users[user_id] <= 0:
            del self._users[user_id]
            self.groups.discard(user_group(user_id))
            if self.shared and self.channel is not None:
                await self._guard(self.layer.group_discard(user_group(user_id), self.channel))

    # --- sending ----------------------------------------------------------------------------

    def publish_room(self, module_id: int, kind: str, data: bytes, user: int | None = None) -> None:
        """Queue a room event for the other processes (no-op with one process)."""
        if not self.shared:
            return
        self._outgoing[module_id].append((kind, data, user))
        self._wakeup.set()
        if self._publisher is None:
            self._publisher = asyncio.ensure_future(self._publish_loop())

    async def _publish_loop(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._outgoing:
                module_id, items = self._outgoing.popitem()
                self._seq[module_id] += 1
                message = {
                    "type": "kb.room",
                    "room": module_id,
                    "origin": self.process,
                    "seq": self._seq[module_id],
                    "items": items,
                }
                if await self._guard(self.layer.group_send(room_group(module_id), message)):
                    self.published += 1

    def heartbeat(self) -> None:
        """Tell the others the last sequence number sent for each room (see _dispatch)."""
        held = {module: seq for module, seq in self._seq.items() if room_group(module) in self.groups}
        if self.shared and held:
            self.rt.spawn(self._send_heartbeat(held))

    async def _send_heartbeat(self, sequences: dict[int, int]) -> None:
        for module_id, seq in sequences.items():
            message = {"type": "kb.seq", "room": module_id, "origin": self.process, "seq": seq}
            await self._guard(self.layer.group_send(room_group(module_id), message))

    async def notify_user(self, user_id: int) -> None:
        """Ask every process holding sockets of this user to check their access again."""
        self.rt.rooms.revalidate_user(user_id)
        if self.shared:
            message = {"type": "kb.user", "user": user_id, "origin": self.process}
            await self._guard(self.layer.group_send(user_group(user_id), message))

    async def _guard(self, operation: Any) -> bool:
        """Run a layer operation; a Redis outage degrades to local-only service, never a crash.

        An operation slower than PUBLISH_TIMEOUT means either that Redis has gone quiet or that
        this process is too busy to hear its answer in time. Redis is then asked from a thread,
        whose answer the loop's backlog does not delay, and the operation is waited for while
        Redis answers, up to SLOW_LIMIT. Degrading on the timeout alone made both processes
        "lose" Redis under load, and the heals of every room that followed kept them saturated:
        deliveries minutes late (found by the load suite, two processes, `python -m bench.load`).
        """
        task = asyncio.ensure_future(operation)
        began = time.monotonic()
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=PUBLISH_TIMEOUT)
                if done:
                    task.result()
                    return True
                waited = time.monotonic() - began
                if waited >= SLOW_LIMIT or not await self._redis_answers():
                    raise TimeoutError(f"no answer from the channel layer in {waited:.1f} s")
        except asyncio.CancelledError:
            task.cancel()
            raise
        except Exception as error:
            task.cancel()
            self._degrade(error)
            return False

    async def _redis_answers(self) -> bool:
        """Whether Redis answers a PING, asked on a connection of its own in a thread."""
        url = self.rt.config.REDIS_URL
        if not url:  # the in-memory layer: nothing to ask
            return False

        def ping() -> bool:
            client = redis.Redis.from_url(
                url, socket_timeout=PUBLISH_TIMEOUT, socket_connect_timeout=PUBLISH_TIMEOUT
            )
            try:
                return bool(client.ping())
            except (redis.RedisError, OSError):
                return False
            finally:
                client.close()

        return await asyncio.get_running_loop().run_in_executor(None, ping)

    def _degrade(self, error: Exception) -> None:
        """Serve local sockets only until a probe finds the layer back (see _probe_until_back).
        An operation that happens to succeed meanwhile proves nothing: channels-redis answers
        some (leaving a group it has already left) without asking Redis. Treating those as
        recovery made a 3-s outage heal every room thousands of times (found by the 60-minute
        soak: sockets then waited for minutes to connect)."""
        if not self.degraded:
            logger.warning("channel layer unavailable (%s): serving local sockets only", error)
        self.degraded = True
        if self._probe is None or self._probe.done():
            self._probe = asyncio.ensure_future(self._probe_until_back())

    async def _probe_until_back(self) -> None:
        while True:
            await asyncio.sleep(PROBE_SECONDS)
            try:  # a PUBLISH always reaches Redis
                await asyncio.wait_for(
                    self.layer.group_send(PROBE_GROUP, {"type": "kb.probe"}), PUBLISH_TIMEOUT
                )
                await self._subscribe_again()
            except asyncio.CancelledError:
                raise
            except Exception:
                continue
            self.degraded = False
            logger.warning("channel layer is back: healing every room from the database")
            self.rt.rooms.heal_all()
            return

    async def _subscribe_again(self) -> None:
        """Leave and join every group again. A join or leave that failed during the outage can
        leave channels-redis's bookkeeping and Redis disagreeing (it drops a group from its table
        before the UNSUBSCRIBE that failed, and skips a SUBSCRIBE for a channel it believes
        subscribed), so that the process hears nothing more of that room. Added for the soak's
        divergence; the plain outage test passes without it (see README)."""
        await asyncio.wait_for(self._start(), PUBLISH_TIMEOUT)  # (down since the first load)
        for group in list(self.groups):
            await asyncio.wait_for(self.layer.group_discard(group, self.channel), PUBLISH_TIMEOUT)
            await asyncio.wait_for(self.layer.group_add(group, self.channel), PUBLISH_TIMEOUT)

    # --- receiving --------------------------------------------------------------------------

    async def _receive(self) -> None:
        assert self.channel is not None
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self._degrade(error)
                await asyncio.sleep(1.0)
                continue
            if message.get("origin") == self.process:
                continue
            try:
                self._dispatch(message)
            except Exception:
                logger.exception("could not handle %s from the channel layer", message.get("type"))

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message["type"] == "kb.user":
            self.rt.rooms.revalidate_user(int(message["user"]))
            return
        module_id, origin, seq = int(message["room"]), message["origin"], int(message["seq"])
        key = (origin, module_id)
        # Nothing heard yet from this process for this room counts as having seen 0: its first
        # messages may have been lost too (it restarted, as a new origin, during an outage).
        # When they preceded this room's load instead, the heal is one needless reload.
        last = self._seen.get(key, 0)
        if message["type"] == "kb.seq":  # a heartbeat: behind it means we lost the last messages
            if seq > last:
                self._seen[key] = seq
                self.rt.rooms.remote(module_id, [], gap=True)
            return
        if message["type"] != "kb.room":
            return
        if not seq:  # sent from a thread (a management command), outside any sequence
            self.rt.rooms.remote(module_id, [tuple(item) for item in message["items"]])
            return
        self._seen[key] = seq
        gap = seq > last + 1
        self.rt.rooms.remote(module_id, [tuple(item) for item in message["items"]], gap=gap)

    async def shutdown(self) -> None:
        for task in (self._receiver, self._publisher, self._probe):
            if task is not None:
                task.cancel()
        if self.shared and self.channel is not None and not self.degraded:
            # At once, not one after another: each may wait PUBLISH_TIMEOUT on a Redis that
            # has just come back, and shutdown has a time limit (KB_SHUTDOWN_SECONDS).
            channel = self.channel
            await asyncio.gather(
                *(self._guard(self.layer.group_discard(user_group(user), channel)) for user in self._users)
            )
        self._users.clear()

"""The REST-visible `content` of each byte follows its live text: the materializer.

One per process. Rooms mark themselves when a byte's text changes; every
KB_MATERIALIZE_SECONDS the materializer takes the changed texts of every marked room and
stores them in one database transaction (version, links, coalesced revision per byte). One
transaction per tick rather than one per room: with many rooms busy, commits (an fsync each)
were the larger part of the cost (bench, steady editing).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from django.db import transaction

from bytes_app import services

if TYPE_CHECKING:
    from .room import Room, Write
    from .runtime import Runtime

logger = logging.getLogger(__name__)
RETRY_SECONDS = 1.0


class Materializer:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self._marked: set[Room] = set()
        self._task: asyncio.Task[None] | None = None
        # One store at a time: two in flight could land an older text after a newer one.
        self._lock = asyncio.Lock()

    def mark(self, room: Room) -> None:
        self._marked.add(room)
        if self._task is None or self._task.done():
            self._task = self.rt.spawn(self._run())

    async def _run(self) -> None:
        while self._marked:
            await asyncio.sleep(self.rt.config.KB_MATERIALIZE_SECONDS)
            rooms, self._marked = self._marked, set()
            if not await self.store(rooms):
                await asyncio.sleep(RETRY_SECONDS)

    async def store(self, rooms: set[Room]) -> bool:
        """Store what changed in `rooms` now; False (and the rooms marked again) on failure."""
        async with self._lock:
            self._marked.difference_update(rooms)  # taken now (an unloading room must not linger)
            batch = [(room, room.take_writes()) for room in rooms]
            writes = [write for _, taken in batch for write in taken]
            if not writes:
                return True
            await self.rt.committer.flush()  # the log first: content never runs ahead of it
            try:
                await self.rt.run_db(_store, writes)
            except Exception:
                logger.exception("storing the contents of %d bytes failed; retrying", len(writes))
                for room, taken in batch:
                    room.not_stored(taken)
                return False
            for room, taken in batch:
                room.stored(taken)
            return True


def _store(writes: list[Write]) -> None:
    # In id order: two processes storing the same bytes then lock their rows in the same order
    # (in any order, PostgreSQL found deadlocks between them in the soak; each cost a retry).
    with transaction.atomic():
        for byte_id, text, author in sorted(writes, key=lambda write: write[0]):
            services.byte_sync_from_live(byte_id=byte_id, content=text, user_id=author)

"""The REST-visible `content` of each byte follows its live text: the materializer.

One per process. Rooms mark themselves when a byte's text changes; every
KB_MATERIALIZE_SECONDS the materializer takes the changed texts of every marked room and
stores them in one database transaction (version, links, coalesced revision per byte). One
transaction per tick rather than one per room: with many rooms busy, commits (an fsync each)
were the larger part of the cost (bench, steady editing).

A process killed within that interval leaves edits in the log that no byte row shows, and no
room holds them until the module is opened again. At start-up each process catches up: every
module with a log is read, and each byte whose text differs from its row is stored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from pycrdt import Map, Text

from bytes_app import services
from bytes_app.models import Byte
from bytes_app.services import LiveText

from . import store
from .models import DocUpdate

if TYPE_CHECKING:
    from .room import Room
    from .runtime import Runtime

logger = logging.getLogger(__name__)
RETRY_SECONDS = 1.0
RETRY_AFTER = 5.0  # catching up, while the database is unreachable


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
                await self.rt.run_db(services.bytes_sync_from_live, writes)
            except Exception:
                logger.exception("storing the contents of %d bytes failed; retrying", len(writes))
                for room, taken in batch:
                    room.not_stored(taken)
                return False
            for room, taken in batch:
                room.stored(taken)
            return True

    async def catch_up(self) -> int:
        """Store the texts a dead process left only in the log; returns how many byte rows
        differed from their text (each stored, unless a live room stored a newer one meanwhile).

        One module per database call, so loads are not held up behind it; while the database
        is unreachable it tries again every RETRY_AFTER seconds (the rows it already fixed
        are equal by then, and cost a read)."""
        started = time.monotonic()
        while not self.rt.closed:
            try:
                stored = 0
                modules = await self.rt.run_db(modules_with_log)
                for module_id in modules:
                    if self.rt.closed:
                        break
                    stored += await self.rt.run_db(catch_up_module, module_id)
            except Exception as error:
                if self.rt.closed:
                    break
                logger.warning("catching up contents failed (%s); retrying in %s s", error, RETRY_AFTER)
                await asyncio.sleep(RETRY_AFTER)
                continue
            logger.info(
                "caught up: %d byte contents behind the logs of %d modules (%.1f s)",
                stored, len(modules), time.monotonic() - started,
            )  # fmt: skip
            return stored
        return 0


def modules_with_log() -> list[int]:
    """Modules with updates not yet compacted: the only ones whose rows can lag their text."""
    return list(DocUpdate.objects.values_list("module_id", flat=True).distinct().order_by("module_id"))


def catch_up_module(module_id: int) -> int:
    """Store each byte's text where the module's stored document differs from its row; returns
    how many differed."""
    # The rows before the document: content is stored only after the log rows it shows, so the
    # document read next holds at least as much. A text a live room stores in between bumps the
    # version, and then the row is left alone (it is newer than what was read here).
    rows = {pk: (version, content) for pk, version, content in
            Byte.objects.filter(module_id=module_id).values_list("id", "version", "content")}  # fmt: skip
    if not rows:
        return 0  # no bytes (or the module was deleted since it was listed)
    doc, _ = store.read(module_id)
    index = doc.get(store.INDEX, type=Map)
    writes = []
    for key in index:
        byte_id = int(key)
        if byte_id not in rows:
            continue  # deleted since
        text = str(doc.get(store.text_name(byte_id), type=Text))
        version, content = rows[byte_id]
        if text != content:
            writes.append(LiveText(byte_id, text, None, expected_version=version))
    services.bytes_sync_from_live(writes)
    return len(writes)

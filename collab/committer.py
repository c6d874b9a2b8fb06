"""Group commit: the pending updates of every room of this process go to the database together.

A room hands each update over as it arrives and moves on (broadcasting does not wait).
The committer writes everything pending in one transaction on its own thread; whatever
arrives meanwhile forms the next batch, so the database sees one round trip per batch, not
per message. Only after the commit are the writers told (`Peer.saved`). While the database
is down, batches are retried with backoff and nobody is told anything.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from . import store

if TYPE_CHECKING:
    from .peer import Peer
    from .runtime import Runtime

logger = logging.getLogger(__name__)
# (module, update or None, writer, writer's message number, what to run once it is stored)
Entry = tuple[int, bytes | None, "Peer | None", int, Callable[[], None] | None]


class Committer:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self._pending: list[Entry] = []
        self._wakeup = asyncio.Event()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kb-commit")
        self._task: asyncio.Task[None] | None = None
        self._submitted = 0
        self._committed = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._since_compaction: Counter[int] = Counter()
        self._compacting: set[int] = set()
        self.healthy = True
        self.batches = 0

    def submit(
        self,
        module_id: int,
        data: bytes | None,
        peer: Peer | None = None,
        seq: int = 0,
        then: Callable[[], None] | None = None,
    ) -> None:
        """Store `data` (None: nothing to store, but acknowledge in order) for `module_id`;
        `then` runs once it is stored."""
        self._pending.append((module_id, data, peer, seq, then))
        self._submitted += 1
        self._wakeup.set()
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    @property
    def backlog(self) -> int:
        return self._submitted - self._committed

    async def flush(self) -> None:
        """Return once everything submitted so far is durable."""
        if self._committed >= self._submitted:
            return
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((self._submitted, future))
        await future

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                batch, self._pending = self._pending, []
                await self._commit(batch)
                self._after(batch)
                del batch  # it holds peers (and their rooms) while this task waits for the next

    async def _commit(self, batch: list[Entry]) -> None:
        rows = [(module_id, data) for module_id, data, _, _, _ in batch if data is not None]
        delay, logged_at = 0.05, 0.0
        while True:
            try:
                await self.rt.run_db(store.append, rows, executor=self._thread)
            except Exception:
                self.healthy = False
                if time.monotonic() - logged_at > 10:
                    logger.exception(
                        "cannot store %d updates; retrying (nothing is acknowledged meanwhile)", len(rows)
                    )
                    logged_at = time.monotonic()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            if not self.healthy:
                logger.warning("storing updates again after an outage")
            self.healthy = True
            return

    def _after(self, batch: list[Entry]) -> None:
        self.batches += 1
        self._committed += len(batch)
        saved: dict[Peer, int] = {}
        for module_id, data, peer, seq, then in batch:
            if then is not None:
                _call(then)
            if peer is not None:
                saved[peer] = max(seq, saved.get(peer, 0))
            if data is not None:
                self._since_compaction[module_id] += 1
        for peer, seq in saved.items():
            _call(peer.saved, seq)
        waiters, self._waiters = self._waiters, []
        for target, future in waiters:
            if target <= self._committed:
                if not future.done():
                    future.set_result(None)
            else:
                self._waiters.append((target, future))
        for module_id in list(self._since_compaction):
            self._maybe_compact(module_id)

    def loaded(self, module_id: int, log_rows: int) -> None:
        """A room loaded a log of `log_rows` updates. The count since the last compaction is
        per process and starts again with it: a module whose processes restart more often than
        every KB_COMPACT_EVERY updates would otherwise never be compacted (found by the soak:
        logs of ~50,000 rows, each load and heal reading them all)."""
        self._since_compaction[module_id] = max(self._since_compaction[module_id], log_rows)
        self._maybe_compact(module_id)

    def _maybe_compact(self, module_id: int) -> None:
        due = self._since_compaction[module_id] >= self.rt.config.KB_COMPACT_EVERY
        if due and module_id not in self._compacting:
            del self._since_compaction[module_id]
            self._compacting.add(module_id)
            self.rt.spawn(self._compact(module_id))

    async def _compact(self, module_id: int) -> None:
        try:
            while await self.rt.run_db(store.compact, module_id) == store.COMPACT_BATCH:
                pass  # a longer log: fold the next batch (each one is its own transaction)
        except Exception:
            logger.exception("compaction of module %s failed; it will be tried again", module_id)
        finally:
            self._compacting.discard(module_id)

    async def shutdown(self) -> None:
        await self.flush()
        if self._task is not None:
            self._task.cancel()
        from .runtime import close_thread_connections

        await asyncio.get_running_loop().run_in_executor(None, close_thread_connections, self._thread, 1)


def _call(fn: Callable[..., None], *args: object) -> None:
    """Run what waited for a commit. One that fails is logged: raised, it would stop the task
    that stores every room's writes, and nothing would be stored or acknowledged again."""
    try:
        fn(*args)
    except Exception:
        logger.exception("after a commit: %r failed", fn)

"""What the collab layer keeps per server process: rooms, the group committer, the hub.

Everything hangs off one `Runtime` per event loop (a server process has one loop; tests get a
fresh one per test). Database work runs on worker threads of the runtime, never on the loop.
Code running in other threads (REST requests) reaches the runtime through `deliver()`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.db import connection

if TYPE_CHECKING:
    from .committer import Committer
    from .hub import Hub
    from .materializer import Materializer
    from .rooms import Rooms

logger = logging.getLogger(__name__)
T = TypeVar("T")

_runtimes: dict[asyncio.AbstractEventLoop, Runtime] = {}
_latest: Runtime | None = None
_lock = threading.Lock()


# A worker thread's connection idle longer than this is checked (`SELECT 1`) before it is used.
IDLE_CHECK_SECONDS = 1.0
_thread_state = threading.local()
DB_THREADS = 2  # room loads and materialization (commits have their own thread)


def _in_db_thread(fn: Callable[..., T], *args: Any) -> T:
    # A connection that sat idle through a database restart or a network cut is dead, and the
    # call would fail although the database is back (a room load refused with 4503 right after
    # an outage, found by tests/chaos/test_postgres_outage.py): check it first, as a pool would.
    idle = time.monotonic() - getattr(_thread_state, "last_call", 0.0)
    if connection.connection is not None and idle > IDLE_CHECK_SECONDS and not connection.is_usable():
        connection.close()
    try:
        return fn(*args)
    except BaseException:
        # A failed statement may leave the thread's connection unusable (the server went
        # away, a transaction aborted): start the next call on a fresh one.
        connection.close()
        raise
    finally:
        _thread_state.last_call = time.monotonic()
        if not connection.in_atomic_block:
            # Django keeps an atomic block's last error on the connection for the thread's life
            # (only to name it as the cause of a later error in that same block), and with it
            # every frame of the failed call and what they held: after an outage, a batch of
            # updates the committer could not store (found by the soak's object census).
            connection.rollback_exc = None


def close_thread_connections(executor: ThreadPoolExecutor, workers: int) -> None:
    """Close the database connection of each of the executor's threads, then stop them."""
    barrier = threading.Barrier(workers)

    def close() -> None:
        barrier.wait(timeout=10)  # holds each thread until all have one task: one per thread
        connection.close()

    for future in [executor.submit(close) for _ in range(workers)]:
        future.result(timeout=15)
    executor.shutdown(wait=True)


class Runtime:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        from .committer import Committer
        from .hub import Hub
        from .materializer import Materializer
        from .rooms import Rooms

        self.loop = loop
        self.config = settings
        self._db = ThreadPoolExecutor(max_workers=DB_THREADS, thread_name_prefix="kb-collab-db")
        self.committer: Committer = Committer(self)
        self.materializer: Materializer = Materializer(self)
        self.hub: Hub = Hub(self)
        self.rooms: Rooms = Rooms(self)
        self.closed = False
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run a background task, keeping a reference until it is done (asyncio holds only weak ones)."""
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task failed", exc_info=task.exception())

    def stats(self) -> dict[str, int]:
        """What this process holds (for operators and the load suite: rooms must unload)."""
        rooms = self.rooms
        return {
            "rooms": len(rooms),
            "connections": sum(len(room.peers) for room in rooms.all()),
            "users": len(rooms.by_user),
            "rooms_loaded_total": rooms.loads,
            "rooms_unloaded_total": rooms.unloads,
            "heals_total": rooms.heals,
            "channel_groups": len(self.hub.groups),
            "background_tasks": len(self._tasks),
        }

    async def run_db(self, fn: Callable[..., T], *args: Any, executor: ThreadPoolExecutor | None = None) -> T:
        return await self.loop.run_in_executor(executor or self._db, partial(_in_db_thread, fn, *args))

    async def shutdown(self) -> None:
        """Close every socket (1012, "restart"), store what is pending, free the threads."""
        if self.closed:
            return
        self.closed = True
        await self.rooms.shutdown()
        await self.committer.shutdown()
        await self.hub.shutdown()
        await self.loop.run_in_executor(None, close_thread_connections, self._db, DB_THREADS)
        with _lock:
            _runtimes.pop(self.loop, None)


def runtime() -> Runtime:
    """The runtime of the running event loop, created on first use."""
    global _latest
    loop = asyncio.get_running_loop()
    with _lock:
        current = _runtimes.get(loop)
        if current is None or current.closed:
            for stale in [key for key in _runtimes if key.is_closed()]:
                _runtimes.pop(stale)
            current = _runtimes[loop] = Runtime(loop)
        _latest = current
    return current


def existing_runtime() -> Runtime | None:
    """The runtime of this process's server loop, if one is running (for code on other threads)."""
    current = _latest
    if current is None or current.closed or current.loop.is_closed() or not current.loop.is_running():
        return None
    return current


def in_loop(current: Runtime, fn: Callable[..., Any], *args: Any) -> None:
    """Run `fn(*args)` on the runtime's loop, from any thread, without waiting for it."""
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is current.loop:
        fn(*args)
    else:
        current.loop.call_soon_threadsafe(fn, *args)


async def start_current() -> None:
    """Lifespan startup hook: in the background, store the byte contents a killed process left
    only in the update log (see collab.materializer)."""
    current = runtime()
    current.spawn(current.materializer.catch_up())


async def shutdown_current() -> None:
    """Lifespan shutdown hook: store what is pending, for at most KB_SHUTDOWN_SECONDS. A deploy
    kills what takes longer anyway; what is not stored by then was never acknowledged, and its
    clients send it again when they reconnect. A database thread stuck in a call would hold
    the interpreter's exit for ever (it joins them): past the limit, the process leaves without."""
    loop = asyncio.get_running_loop()
    current = _runtimes.get(loop)
    if current is None:
        return
    try:
        await asyncio.wait_for(current.shutdown(), settings.KB_SHUTDOWN_SECONDS)
    except TimeoutError:
        logger.error(
            "shutdown not done after %s s (%d updates not stored; their clients send them again): exiting",
            settings.KB_SHUTDOWN_SECONDS,
            current.committer.backlog,
        )
        logging.shutdown()
        os._exit(1)

"""Send to a socket without ever making the sender wait for it.

A room fans one update out to every socket in it. Awaiting each ASGI `send` in turn would let
one slow reader (whose socket buffer is full, so the server pauses it) stall the whole room.
`Outbox` steps the send coroutine by hand: when the socket is writable it completes at once
(the usual case, no task, no queue); when it would wait, the rest runs in a task and later
messages queue behind it, up to a byte budget past which the socket is given up on.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

Send = Callable[[dict[str, Any]], Awaitable[None]]
_draining: set[asyncio.Task[None]] = set()  # strong references to running drain tasks


class _Resume:
    """Awaitable that continues a coroutine from the point where it first suspended."""

    __slots__ = ("coro", "waiting_on")

    def __init__(self, coro: Coroutine[Any, Any, Any], waiting_on: Any) -> None:
        self.coro = coro
        self.waiting_on = waiting_on

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, to_yield = self.coro, self.waiting_on
        while True:
            try:
                sent = yield to_yield
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as error:  # cancellation thrown into the task: pass it on
                try:
                    to_yield = coro.throw(error)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    to_yield = coro.send(sent)
                except StopIteration as stop:
                    return stop.value


class Outbox:
    """Ordered, non-blocking delivery of binary frames to one ASGI WebSocket."""

    __slots__ = ("_backlog", "_backlog_bytes", "_send", "closed", "limit")

    def __init__(self, send: Send, *, limit: int) -> None:
        self._send = send
        self._backlog: deque[bytes] | None = None
        self._backlog_bytes = 0
        self.limit = limit
        self.closed = False

    @property
    def backlog_bytes(self) -> int:
        return self._backlog_bytes

    def push(self, data: bytes) -> bool:
        """Send or queue `data`; False when the backlog has just passed the limit (the outbox
        closes: the caller gives the socket up). A return value, not a callback: a callback
        to the owner would make a reference cycle that outlives the socket."""
        if self.closed:
            return True
        if self._backlog is not None:
            self._backlog.append(data)
            self._backlog_bytes += len(data)
            if self._backlog_bytes > self.limit:
                self.closed = True
                return False
            return True
        coro = self._send({"type": "websocket.send", "bytes": data})
        try:
            waiting_on = coro.send(None)
        except StopIteration:
            return True
        except Exception:
            # The client is gone; its disconnect event is on its way. Not only OSError: uvicorn
            # raises RuntimeError for a send after its own close (a ping timeout, a frame over
            # its size limit) until the connection is lost, which can take minutes; raised here,
            # it stopped the committer that was acknowledging a write (found by review).
            self.closed = True
            return True
        self._backlog = deque()
        task = asyncio.ensure_future(self._drain(_Resume(coro, waiting_on)))
        _draining.add(task)
        task.add_done_callback(_draining.discard)
        return True

    async def _drain(self, first: _Resume) -> None:
        try:
            await first
            while self._backlog:
                data = self._backlog.popleft()
                self._backlog_bytes -= len(data)
                await self._send({"type": "websocket.send", "bytes": data})
        except Exception:  # as in push
            self.closed = True
        finally:
            self._backlog = None
            self._backlog_bytes = 0

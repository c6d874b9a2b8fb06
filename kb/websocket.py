"""uvicorn's WebSocket protocol, with two changes for kb: a misbehaving client's connection fails
instead of closing politely, and an idle socket holds less.

After an app's `websocket.close`, uvicorn resumes reading and parses every frame the client
still sends until the client echoes the close, for up to 10 s, on the event loop. A flooder
has megabytes of frames queued in the kernel's buffers by then (kb throttles it by not
reading), and parsing them stalled every other socket of the process: 200-300 ms in the
benchmark's flood scenario, all in `Frame.parse` (py-spy). For the close codes that mean the
client misbehaved, kb fails the connection instead (RFC 6455, 7.1.7): the close frame is sent
and followed by a FIN, nothing more is read, and the socket is closed shortly after, once the
close frame has had time to leave, without waiting for the echo.

An idle tab costs about 25 KiB in the server, most of it uvicorn's, websockets' and asyncio's
(`python -m bench.idle_memory`). Two of those costs outlive their use: the handshake's response
(its headers), and an `asyncio.Queue` for the app's receive, which holds three deques and an
Event (a fourth) where one deque, and only while messages wait, does.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Coroutine
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from collab.peer import CloseCode

# The client broke the rules or cannot keep up: its echo of our close is not worth reading.
FAIL_ON = frozenset({CloseCode.BAD_MESSAGE, CloseCode.TOO_LARGE, CloseCode.RATE_LIMITED, CloseCode.TOO_SLOW})
# Long enough for the close frame to reach a client that reads; closing a socket with unread
# input resets it, and a reset discards what the kernel had not sent yet.
CLOSE_FRAME_GRACE_SECONDS = 2.0


class Inbox:
    """What uvicorn uses of an asyncio.Queue (`put_nowait`, `get`, `empty`), for its one reader.
    The deque exists only while messages wait: an idle socket's inbox is empty nearly always."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[Any] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self) -> Any:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        assert self._items is not None
        item = self._items.popleft()
        if not self._items:
            self._items = None
        return item

    def empty(self) -> bool:
        return not self._items


class WebSocketProtocol(WebSocketsSansIOProtocol):
    failed = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Inbox()  # type: ignore[assignment]

    def send(self, message: Any) -> Coroutine[Any, Any, None]:
        # The hot path gets uvicorn's coroutine itself: no extra coroutine per message.
        if message["type"] == "websocket.send":
            return super().send(message)
        return self._send_then_adjust(message)

    async def _send_then_adjust(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept":
            # Sent, not read again. (The request stays alive in websockets' parser generator.)
            self.request = self.response = None  # type: ignore[assignment]
        elif message["type"] == "websocket.close" and message.get("code") in FAIL_ON and self.close_sent:
            self.fail()

    def fail(self) -> None:
        self.failed = True
        if self.transport.is_closing():
            return
        self.transport.pause_reading()
        self.read_paused = True
        if self.transport.can_write_eof():  # (not over TLS)
            # A FIN after the close frame: the client learns at once that nothing more comes.
            self.transport.write_eof()
        if self.close_timer is not None:  # uvicorn's wait for the echo (10 s)
            self.close_timer.cancel()
        self.close_timer = self.loop.call_later(CLOSE_FRAME_GRACE_SECONDS, self.transport.close)

    async def receive(self) -> Any:
        # uvicorn's, except that reading stays paused once the connection has failed.
        message = await self.queue.get()
        if self.read_paused and self.queue.empty() and not self.failed:
            self.read_paused = False
            self.transport.resume_reading()
        return message

    def data_received(self, data: bytes) -> None:
        if self.failed:  # what was read before reading paused
            return
        super().data_received(data)

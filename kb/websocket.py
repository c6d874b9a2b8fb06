"""uvicorn's WebSocket protocol, failing the connection when kb closes a client for misbehaving.

After an app's `websocket.close`, uvicorn resumes reading and parses every frame the client
still sends until the client echoes the close, for up to 10 s, on the event loop. A flooder
has megabytes of frames queued in the kernel's buffers by then (kb throttles it by not
reading), and parsing them stalled every other socket of the process: 200-300 ms in the
benchmark's flood scenario, all in `Frame.parse` (py-spy). For the close codes that mean the
client misbehaved, kb fails the connection instead (RFC 6455, 7.1.7): the close frame is sent
and followed by a FIN, nothing more is read, and the socket is closed shortly after, once the
close frame has had time to leave, without waiting for the echo.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from collab.peer import CloseCode

# The client broke the rules or cannot keep up: its echo of our close is not worth reading.
FAIL_ON = frozenset({CloseCode.BAD_MESSAGE, CloseCode.TOO_LARGE, CloseCode.RATE_LIMITED, CloseCode.TOO_SLOW})
# Long enough for the close frame to reach a client that reads; closing a socket with unread
# input resets it, and a reset discards what the kernel had not sent yet.
CLOSE_FRAME_GRACE_SECONDS = 2.0


class WebSocketProtocol(WebSocketsSansIOProtocol):
    failed = False

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.close" and message.get("code") in FAIL_ON and self.close_sent:
            self.fail()

    def fail(self) -> None:
        self.failed = True
        if self.transport.is_closing():
            return
        self.transport.pause_reading()
        self.read_paused = True
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

"""pycrdt clients of kb's rooms for tests, speaking the y-websocket protocol.

`YPeer` is the protocol side: its own Doc, answers to sync requests as y-websocket gives them,
and a record of what the server said (acks, refusals, awareness, close code). `YClient` runs it
over an in-process ASGI WebSocket (channels.testing); `WsClient` over a real socket to a live
server (tests.servers).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import orjson
import websockets
from channels.testing import WebsocketCommunicator
from pycrdt import Doc, Map, Text

from collab import protocol


def headers_for(session_key: str | None = None, origin: bytes | None = b"http://localhost") -> list:
    headers = []
    if origin is not None:
        headers.append((b"origin", origin))
    if session_key:
        headers.append((b"cookie", f"sessionid={session_key}".encode()))
    return headers


def byte_offset(text: str, index: int) -> int:
    """pycrdt positions are UTF-8 byte offsets; tests think in characters."""
    return len(text[:index].encode("utf-8"))


class YPeer:
    def __init__(self) -> None:
        self.doc: Doc = Doc()
        self.saved = 0
        self.denied: list[str] = []
        self.presence: dict[int, Any] = {}
        self.close_code: int | None = None
        self.close_reason = ""
        self.synced = False
        self.sent_writes = 0
        self.received: list[bytes] = []
        self._outgoing: list[bytes] = []
        self._applying = False
        self._watching = self.doc.observe(self._local_update)

    def stop_watching(self) -> None:
        """Drop the observer on `doc`: pycrdt keeps an observed document alive from native code,
        so a soak that kept every connection's observed copy held gigabytes (9.4 GiB at 60 min)."""
        if self._watching is not None:
            self.doc.unobserve(self._watching)
            self._watching = None

    # --- transport, provided by subclasses ----------------------------------------------------

    async def send(self, frame: bytes) -> None:
        raise NotImplementedError

    async def _next(self, timeout: float) -> bool:
        """Handle one server event if one arrives within `timeout`; False when none did."""
        raise NotImplementedError

    # --- protocol ---------------------------------------------------------------------------

    def handle(self, frame: bytes) -> None:
        self.received.append(frame)
        if frame[0] == protocol.MessageType.SAVED:
            self.saved = protocol.read_var_uint(frame, 1)[0]
            return
        decoded = protocol.decode(frame)
        if isinstance(decoded, protocol.Sync):
            if decoded.kind is protocol.SyncType.STEP1:
                self._outgoing.append(protocol.sync_step2(self.doc.get_update(decoded.payload)))
            else:
                self._applying = True
                try:
                    self.doc.apply_update(decoded.payload)
                finally:
                    self._applying = False
                if decoded.kind is protocol.SyncType.STEP2:
                    self.synced = True
        elif isinstance(decoded, protocol.Awareness):
            for entry in protocol.decode_awareness(decoded.payload):
                if entry.state == "null":
                    self.presence.pop(entry.client_id, None)
                else:
                    self.presence[entry.client_id] = orjson.loads(entry.state)
        elif isinstance(decoded, protocol.Auth):
            self.denied.append(decoded.reason)

    def _local_update(self, event: Any) -> None:
        if not self._applying:
            self._outgoing.append(protocol.sync_update(event.update))

    async def flush(self) -> None:
        """Send what our handlers queued (sync step 2 answers, local updates)."""
        while self._outgoing:
            frame = self._outgoing.pop(0)
            if frame[:2] in (b"\x00\x01", b"\x00\x02"):
                self.sent_writes += 1
            await self.send(frame)

    async def pump(self, seconds: float = 0.05) -> None:
        """Handle everything the server sends until it has been silent for `seconds`."""
        while self.close_code is None and await self._next(seconds):
            pass
        await self.flush()

    async def until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.close_code is not None:
                raise AssertionError(f"closed {self.close_code} {self.close_reason!r} while waiting")
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for the server")
            await self._next(0.02)
            await self.flush()

    async def until_closed(self, timeout: float = 5.0) -> int:
        deadline = time.monotonic() + timeout
        while self.close_code is None:
            if time.monotonic() > deadline:
                raise AssertionError("the server did not close the socket")
            await self._next(0.02)
        return self.close_code

    async def sync(self) -> None:
        await self.until(lambda: self.synced)
        await self.flush()

    # --- editing ----------------------------------------------------------------------------

    def text(self, byte_id: int) -> Text:
        return self.doc.get(f"byte:{byte_id}", type=Text)

    def index(self) -> dict[str, Any]:
        return self.doc.get("index", type=Map).to_py() or {}

    async def type(self, byte_id: int, position: int, value: str) -> None:
        """Insert `value` at character `position` and send the update."""
        text = self.text(byte_id)
        text.insert(byte_offset(str(text), position), value)
        await self.flush()

    async def erase(self, byte_id: int, position: int, count: int) -> None:
        text = self.text(byte_id)
        current = str(text)
        start, end = byte_offset(current, position), byte_offset(current, position + count)
        del text[start:end]
        await self.flush()

    async def set_presence(self, clock: int, state: dict[str, Any] | None) -> None:
        entry = protocol.AwarenessEntry(self.doc.client_id, clock, orjson.dumps(state).decode())
        await self.send(protocol.awareness_message(protocol.encode_awareness([entry])))


class YClient(YPeer):
    """Over an in-process ASGI WebSocket."""

    def __init__(self, path: str, headers: list | None = None, subprotocols: list[str] | None = None) -> None:
        super().__init__()
        from kb.asgi import application

        self.comm = WebsocketCommunicator(application, path, headers=headers or [], subprotocols=subprotocols)

    async def connect(self) -> bool:
        connected, _ = await self.comm.connect(timeout=5)
        if not connected:
            return False
        await self.send(protocol.sync_step1(self.doc.get_state()))
        return True

    async def send(self, frame: bytes) -> None:
        await self.comm.send_input({"type": "websocket.receive", "bytes": frame})

    async def _next(self, timeout: float) -> bool:
        if await self.comm.receive_nothing(timeout=timeout):
            return False
        message = await self.comm.receive_output(timeout=1)
        if message["type"] == "websocket.close":
            self.close_code = message.get("code", 1000)
            self.close_reason = message.get("reason", "")
        else:
            self.handle(message["bytes"])
        return True

    async def close(self) -> None:
        if self.close_code is None:
            await self.comm.disconnect()
        else:
            await self.comm.wait(timeout=2)


class WsClient(YPeer):
    """Over a real WebSocket to a live server."""

    def __init__(self, url: str, *, subprotocols: list[str] | None = None, doc: Doc | None = None) -> None:
        super().__init__()
        if doc is not None:
            self.doc.apply_update(doc.get_update())
        self.url = url
        self.subprotocols = subprotocols
        self.socket: Any = None
        self._inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self.socket = await websockets.connect(
            self.url, subprotocols=self.subprotocols, max_size=None, compression=None, open_timeout=10
        )
        self._reader = asyncio.ensure_future(self._read())
        await self.send(protocol.sync_step1(self.doc.get_state()))

    async def _read(self) -> None:
        try:
            async for frame in self.socket:
                await self._inbox.put(frame)
        except websockets.ConnectionClosed:
            pass
        finally:
            await self._inbox.put(None)

    async def send(self, frame: bytes) -> None:
        await self.socket.send(frame)

    async def _next(self, timeout: float) -> bool:
        try:
            frame = await asyncio.wait_for(self._inbox.get(), timeout)
        except TimeoutError:
            return False
        if frame is None:
            self.close_code = self.socket.close_code or 1006
            self.close_reason = self.socket.close_reason or ""
            return False
        self.handle(frame)
        return True

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        if self._reader is not None:
            await self._reader


async def settle(*clients: YPeer, rounds: int = 3) -> None:
    for _ in range(rounds):
        for client in clients:
            await client.pump()
        await asyncio.sleep(0)

"""A pycrdt client of kb's rooms, speaking the y-websocket protocol over a real ASGI WebSocket
(channels.testing), for tests. It keeps its own Doc, answers sync requests as y-websocket does,
and records what the server told it (acks, refusals, awareness, close code)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import orjson
from channels.testing import WebsocketCommunicator
from pycrdt import Doc, Map, Text

from collab import protocol
from kb.asgi import application

ORIGIN = (b"origin", b"http://localhost")


def headers_for(session_key: str | None = None, origin: bytes | None = b"http://localhost") -> list:
    headers = []
    if origin is not None:
        headers.append((b"origin", origin))
    if session_key:
        headers.append((b"cookie", f"sessionid={session_key}".encode()))
    return headers


class YClient:
    def __init__(self, path: str, headers: list | None = None, subprotocols: list[str] | None = None) -> None:
        self.comm = WebsocketCommunicator(application, path, headers=headers or [], subprotocols=subprotocols)
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
        self.doc.observe(self._local_update)
        self._applying = False

    # --- connection -------------------------------------------------------------------------

    async def connect(self) -> bool:
        connected, _ = await self.comm.connect(timeout=5)
        if not connected:
            return False
        await self.send(protocol.sync_step1(self.doc.get_state()))
        return True

    async def send(self, frame: bytes) -> None:
        await self.comm.send_input({"type": "websocket.receive", "bytes": frame})

    async def close(self) -> None:
        if self.close_code is None:
            await self.comm.disconnect()
        else:
            await self.comm.wait(timeout=2)

    # --- pumping ----------------------------------------------------------------------------

    async def pump(self, seconds: float = 0.05) -> None:
        """Handle everything the server sends within `seconds` of silence."""
        while self.close_code is None and not await self.comm.receive_nothing(timeout=seconds):
            self._handle(await self.comm.receive_output(timeout=1))

    async def until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.close_code is not None:
                raise AssertionError(f"closed {self.close_code} {self.close_reason!r} while waiting")
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for the server")
            if not await self.comm.receive_nothing(timeout=0.02):
                self._handle(await self.comm.receive_output(timeout=1))

    async def until_closed(self, timeout: float = 5.0) -> int:
        deadline = time.monotonic() + timeout
        while self.close_code is None:
            if time.monotonic() > deadline:
                raise AssertionError("the server did not close the socket")
            if not await self.comm.receive_nothing(timeout=0.02):
                self._handle(await self.comm.receive_output(timeout=1))
        return self.close_code

    def _handle(self, message: dict[str, Any]) -> None:
        if message["type"] == "websocket.close":
            self.close_code = message.get("code", 1000)
            self.close_reason = message.get("reason", "")
            return
        frame = message["bytes"]
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

    async def flush(self) -> None:
        """Send what our handlers queued (sync step 2 answers, local updates)."""
        while self._outgoing:
            frame = self._outgoing.pop(0)
            if frame[:2] in (b"\x00\x01", b"\x00\x02"):
                self.sent_writes += 1
            await self.send(frame)

    async def sync(self) -> None:
        await self.until(lambda: self.synced)
        await self.flush()

    # --- editing ----------------------------------------------------------------------------

    def _local_update(self, event: Any) -> None:
        if not self._applying:
            self._outgoing.append(protocol.sync_update(event.update))

    def text(self, byte_id: int) -> Text:
        return self.doc.get(f"byte:{byte_id}", type=Text)

    def index(self) -> dict[str, Any]:
        return self.doc.get("index", type=Map).to_py() or {}

    async def type(self, byte_id: int, position: int, value: str) -> None:
        self.text(byte_id).insert(position, value)
        await self.flush()

    async def set_presence(self, clock: int, state: dict[str, Any] | None) -> None:
        payload = protocol.encode_awareness(
            [protocol.AwarenessEntry(self.doc.client_id, clock, orjson.dumps(state).decode())]
        )
        await self.send(protocol.awareness_message(payload))


async def settle(*clients: YClient, rounds: int = 3) -> None:
    for _ in range(rounds):
        for client in clients:
            await client.flush()
            await client.pump()
        await asyncio.sleep(0)

"""kb's WebSocket protocol under uvicorn (kb/websocket.py), on a live server over a raw socket.

A client closed for flooding gets its close code, and then the server reads nothing more from
it: the client can no longer push data into the server (stock uvicorn reads and parses all of
it for up to 10 s, which stalled the other sockets), and the connection is closed without
waiting for the client's echo of the close. The inbox that replaces uvicorn's asyncio.Queue
keeps the queue's order and wake-ups.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct

import pytest
from asgiref.sync import sync_to_async

from kb.websocket import Inbox
from tests.servers import Server

pytestmark = pytest.mark.django_db(transaction=True)

FLOODING = {"KB_WS_MESSAGES_PER_SECOND": "50", "KB_WS_MESSAGE_BURST": "50", "KB_WS_FLOOD_MS": "300"}
QUERY_AWARENESS = b"\x03"
# The kernel buffers up to 32 MiB on the server's side of a loopback socket (tcp_rmem) and 4 MiB
# on the client's: what a server that stopped reading can still accept is well under this.
PUSH_LIMIT = 128 * 2**20


def client_frame(payload: bytes, opcode: int = 0x2) -> bytes:
    """A masked client frame (a zero mask: the server must unmask, any key will do)."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 2**16:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    return header + b"\x00\x00\x00\x00" + payload


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    first, second = await reader.readexactly(2)
    size = second & 0x7F
    if size == 126:
        (size,) = struct.unpack("!H", await reader.readexactly(2))
    elif size == 127:
        (size,) = struct.unpack("!Q", await reader.readexactly(8))
    return first & 0x0F, await reader.readexactly(size)


async def open_socket(server: Server, path: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    status = await reader.readuntil(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 101"), status
    return reader, writer


async def test_a_flooder_is_closed_then_nothing_more_is_read_from_it(team, token_of):
    token = await sync_to_async(token_of)(team["editor"])
    with Server(env=FLOODING) as server:
        reader, writer = await open_socket(server, f"/ws/modules/{team['deploy'].pk}/?token={token}")

        async def flood() -> None:
            while True:
                writer.write(client_frame(QUERY_AWARENESS) * 64)
                await writer.drain()

        async def close_code() -> int:
            while True:
                opcode, payload = await read_frame(reader)
                if opcode == 0x8:
                    return struct.unpack("!H", payload[:2])[0]

        flooding = asyncio.ensure_future(flood())
        try:
            code = await asyncio.wait_for(close_code(), timeout=30)
        finally:
            flooding.cancel()
            await asyncio.gather(flooding, return_exceptions=True)
        assert code == 4429

        # Never echo the close; keep pushing big frames until the server stops taking them.
        pushed, chunk = 0, client_frame(b"\x00" * (512 * 1024))
        ended: BaseException | None = None
        try:
            while pushed < PUSH_LIMIT:
                writer.write(chunk)
                await asyncio.wait_for(writer.drain(), timeout=15)
                pushed += len(chunk)
        except (ConnectionError, TimeoutError) as error:
            ended = error
        writer.transport.abort()
        assert pushed < PUSH_LIMIT, "the server went on reading the flooder after closing it"
        assert isinstance(ended, ConnectionError), f"the connection was not closed by the server: {ended!r}"


async def test_the_inbox_hands_messages_over_in_order_and_wakes_its_reader():
    inbox = Inbox()
    assert inbox.empty()
    waiting = asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    assert not waiting.done()
    inbox.put_nowait("first")
    inbox.put_nowait("second")
    assert await asyncio.wait_for(waiting, 1) == "first"
    assert not inbox.empty()
    assert await inbox.get() == "second"
    assert inbox.empty() and inbox._items is None  # no deque kept for an idle socket

    cancelled = asyncio.ensure_future(inbox.get())  # a reader cancelled while waiting
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.gather(cancelled, return_exceptions=True)
    inbox.put_nowait("third")
    assert await asyncio.wait_for(inbox.get(), 1) == "third"

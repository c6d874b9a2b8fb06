"""A socket that stops reading: its frames queue up to a byte budget, then it alone is closed."""

from __future__ import annotations

import asyncio
import gc

from collab.peer import CloseCode, Peer


class StalledSocket:
    """An ASGI send whose socket buffer is full: every send waits until `drain()`."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.writable = asyncio.Event()

    async def send(self, message: dict) -> None:
        await self.writable.wait()
        self.sent.append(message["bytes"])


async def test_a_reader_too_slow_is_closed_once_its_backlog_passes_the_budget():
    socket, closed = StalledSocket(), []
    peer = Peer(
        user_id=1, username="u", can_write=True, workspace_id=1, send=socket.send,
        close=lambda code, reason: closed.append((code, reason)), send_buffer=1000,
    )  # fmt: skip
    for _ in range(10):  # the first waits on the socket; the rest queue: 900 bytes, in budget
        peer.push(b"x" * 100)
    assert closed == [] and peer.outbox.backlog_bytes == 900
    peer.push(b"x" * 101)
    assert closed == [(CloseCode.TOO_SLOW, "the client reads too slowly; reconnect")] and peer.closed
    peer.push(b"more")  # nothing more is queued for a socket given up on
    assert peer.outbox.backlog_bytes == 1001
    socket.writable.set()
    await asyncio.sleep(0.01)
    assert len(socket.sent) == 11  # what was queued before the close still goes out, in order


async def test_a_peer_is_freed_without_the_cycle_collector():
    """A peer and its outbox must not hold each other: a closed socket's peer is freed as soon
    as the last reference goes, not whenever an idle process next runs the collector."""
    socket = StalledSocket()
    socket.writable.set()
    peer = Peer(user_id=1, username="u", can_write=True, workspace_id=1, send=socket.send, close=print)
    peer.push(b"hello")
    address = id(peer)
    gc.disable()
    try:
        del peer
        assert not [o for o in gc.get_objects() if id(o) == address and isinstance(o, Peer)]
    finally:
        gc.enable()


async def test_a_send_that_raises_gives_the_socket_up_and_the_committer_goes_on(monkeypatch):
    # uvicorn raises RuntimeError for a send after its own close (a ping timeout) until the
    # connection is lost; raised through an acknowledgement it stopped the committer, and
    # nothing was stored again in that process (found by review).
    from types import SimpleNamespace

    from collab import store
    from collab.committer import Committer

    stored: list[tuple[int, bytes]] = []
    monkeypatch.setattr(store, "append", lambda rows: stored.extend(rows))

    async def run_db(fn, *args, executor=None):
        return fn(*args)

    async def send(message: dict) -> None:
        raise RuntimeError("Unexpected ASGI message 'websocket.send', after sending 'websocket.close'.")

    runtime = SimpleNamespace(
        run_db=run_db, config=SimpleNamespace(KB_COMPACT_EVERY=10**9), spawn=asyncio.ensure_future
    )
    committer = Committer(runtime)  # type: ignore[arg-type]
    peer = Peer(user_id=1, username="u", can_write=True, workspace_id=1, send=send,
                close=lambda code, reason: None, wants_acks=True)  # fmt: skip
    committer.submit(1, b"a", peer, 1)
    await asyncio.sleep(0.05)
    assert peer.outbox.closed  # given up; its disconnect comes when the connection is lost
    committer.submit(2, b"b")  # another room's write
    await asyncio.wait_for(committer.flush(), 2)
    assert stored == [(1, b"a"), (2, b"b")]

"""What the chaos tests (and the soak run) are made of: a private Redis that can be stopped, a
TCP proxy in front of PostgreSQL that can be cut, a cluster of real server processes, and
editors that keep editing through all of it while recording every edit and every ack.

Edits are unique tokens (`[e3n17]`) inserted only at token boundaries, so no edit splits
another: afterwards a token missing means a lost edit and a token seen twice a doubled one.
A token is acknowledged when an ack (`4, n`) covers a frame that carried it (Yjs v1 updates
hold inserted text as plain UTF-8, so the frame's bytes tell which tokens it carries).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import random
import re
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import websockets
from pycrdt import Doc, Text

from tests.collab.client import WsClient
from tests.servers import Server, free_port

TOKEN = re.compile(r"\[e\d+n\d+\]")
MAX_CHARS = 16_000  # an editor deletes rather than types into a text longer than this
TOKEN_BYTES = re.compile(rb"\[e\d+n\d+\]")
WRITE_PREFIXES = (b"\x00\x01", b"\x00\x02")


# --- Redis ------------------------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of our own on a free port: stopping or flushing it disturbs nobody else."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--protected-mode", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(self._answers, timeout, "redis-server did not start")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def subscribers(self, channel: str) -> int:
        """How many connections are subscribed to a pub/sub channel (PUBSUB NUMSUB)."""
        name = channel.encode()
        command = b"*3\r\n$6\r\nPUBSUB\r\n$6\r\nNUMSUB\r\n$%d\r\n%s\r\n" % (len(name), name)
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(command)
            reply = b""
            while reply.count(b"\r\n") < 4:  # *2, $len, name, :count
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
        return int(reply.rsplit(b":", 1)[1].split(b"\r\n", 1)[0])

    def stop(self) -> None:
        """kill -9: everything it held (subscriptions, groups, cache) is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


# --- PostgreSQL behind a proxy we control ---------------------------------------------------------


class PgProxy:
    """A TCP proxy to PostgreSQL. `cut()` drops every connection and refuses new ones (the
    database is "down" for the servers, not for the test); `delay` slows every chunk."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self.delay = 0.0
        self._up = threading.Event()
        self._up.set()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="pg-proxy").start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._up.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                chunk = source.recv(65536)
                if not chunk or not self._up.is_set():
                    break
                if self.delay:
                    time.sleep(self.delay)
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                self._drop(sock)

    def _drop(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()

    def cut(self) -> None:
        self._up.clear()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            self._drop(sock)

    def restore(self) -> None:
        self._up.set()

    @property
    def up(self) -> bool:
        return self._up.is_set()

    def close(self) -> None:
        self._closed = True
        self.cut()
        with contextlib.suppress(OSError):
            self._listener.close()


# --- servers ----------------------------------------------------------------------------------


class Cluster:
    """Server processes sharing one database and one Redis; `alive()` is where clients may go."""

    def __init__(self, servers: list[Server]) -> None:
        self.servers = servers
        self.kills = 0

    def start(self) -> Cluster:
        for server in self.servers:
            server.start()
        return self

    def alive(self) -> list[Server]:
        return [s for s in self.servers if s.process is not None and s.process.poll() is None]

    def crashed(self) -> list[str]:
        """Servers that exited without the test stopping them (the test's kills restart them)."""
        return [s.log() for s in self.servers if s.process is not None and s.process.poll() is not None]

    def stop(self) -> None:
        for server in self.servers:
            server.kill()


def wait_for(condition: Callable[[], bool], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.05)


async def eventually(condition: Callable[[], Any], timeout: float, message: str) -> None:
    """Retry until `condition()` is truthy (a coroutine function is awaited); else fail."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(message)
        await asyncio.sleep(0.1)


def rest_content(server: Server, token: str, byte_id: int) -> tuple[int, str | None]:
    """(status, content) of GET /api/bytes/<id>/ on that process; status 0 when unreachable."""
    request = urllib.request.Request(
        f"{server.http}/api/bytes/{byte_id}/", headers={"Authorization": f"Token {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())["content"]
    except urllib.error.HTTPError as error:
        return error.code, None
    except OSError:
        return 0, None


# --- editors ----------------------------------------------------------------------------------


class TrackedClient(WsClient):
    """A WsClient that remembers which tokens each write frame carried and marks them
    acknowledged on its editor when an ack covers that frame."""

    def __init__(self, url: str, editor: Editor | None = None, doc: Doc | None = None) -> None:
        super().__init__(url, doc=doc)
        self.editor = editor
        self.received = collections.deque(maxlen=64)  # type: ignore[assignment]
        self.frames: list[list[str]] = []
        self.frame_times: list[float] = []  # when each write frame was sent
        self.acks: list[tuple[float, int]] = []  # (when, n) of each ack received
        self.acked_upto = 0
        self.awareness_in = 0

    async def send(self, frame: bytes) -> None:
        if frame[:2] in WRITE_PREFIXES:
            self.frames.append([t.decode() for t in TOKEN_BYTES.findall(frame)])
            self.frame_times.append(time.monotonic())
        await super().send(frame)

    def handle(self, frame: bytes) -> None:
        super().handle(frame)
        if frame[:1] == b"\x01":
            self.awareness_in += 1
        elif frame[:1] == b"\x04":
            self.acks.append((time.monotonic(), self.saved))
        elif frame[:2] in WRITE_PREFIXES and self.editor is not None:  # the server holds these
            self.editor.seen.update(t.decode() for t in TOKEN_BYTES.findall(frame))
        while self.acked_upto < min(self.saved, len(self.frames)):
            if self.editor is not None:
                self.editor.acked.update(self.frames[self.acked_upto])
            self.acked_upto += 1

    def drain(self) -> None:
        """Handle whatever has arrived, without waiting."""
        while not self._inbox.empty():
            frame = self._inbox.get_nowait()
            if frame is None:
                self.close_code = self.socket.close_code or 1006
                self.close_reason = self.socket.close_reason or ""
                return
            self.handle(frame)


class Editor:
    """One person typing through faults: reconnects (to any live process) whenever the socket
    goes, keeping its document, as y-websocket does; its unsent edits travel in sync step 2."""

    def __init__(
        self,
        number: int,
        *,
        urls: Callable[[], list[str]],
        byte_ids: list[int],
        rng: random.Random,
        pace: float = 0.05,
        deletes: float = 0.0,
    ) -> None:
        self.number = number
        self.deletes = deletes  # chance that an edit deletes a whole token instead of adding one
        self.deleted: set[str] = set()
        self.urls = urls
        self.byte_ids = byte_ids
        self.rng = rng
        self.pace = pace
        self.doc: Doc = Doc()
        self.client: TrackedClient | None = None
        self.made: list[str] = []
        self.acked: set[str] = set()
        self.seen: set[str] = set()  # tokens the server sent us (it had applied them)
        self.clients: list[TrackedClient] = []  # every connection, for the ack log
        self.close_codes: collections.Counter[int] = collections.Counter()
        self.connections = 0
        self.editing = True
        self.away_until = 0.0

    # --- connection ---

    async def connect(self, timeout: float = 10.0) -> TrackedClient:
        last_error: object = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            urls = self.urls()
            if urls:
                client = TrackedClient(self.rng.choice(urls), self, self._latest_doc())
                try:
                    await asyncio.wait_for(client.connect(), 5)
                    await client.sync()
                except (OSError, AssertionError, websockets.WebSocketException, TimeoutError) as error:
                    last_error = error
                    if client.close_code is not None:
                        self.close_codes[client.close_code] += 1
                    with contextlib.suppress(Exception):
                        await client.close()
                    client.stop_watching()
                else:
                    self.client = client
                    self.clients.append(client)
                    self.connections += 1
                    return client
            await asyncio.sleep(0.1 + self.rng.random() * 0.2)
        raise AssertionError(f"editor {self.number} could not connect: {last_error!r}")

    def _latest_doc(self) -> Doc:
        return self.client.doc if self.client is not None else self.doc

    def _lost(self) -> None:
        assert self.client is not None
        self.close_codes[self.client.close_code or 1006] += 1
        lost, self.client = self.client, None
        # Its document lives on as ours until the next connection copies it; the connection
        # itself stays (self.clients) for its ack log only.
        lost.stop_watching()
        self.doc, lost.doc = lost.doc, Doc()

    # --- editing ---

    def text(self, byte_id: int) -> str:
        return str(self._latest_doc().get(f"byte:{byte_id}", type=Text))

    def _edit(self, client: TrackedClient) -> None:
        byte_id = self.rng.choice(self.byte_ids)
        text = client.text(byte_id)
        current = str(text)
        found = list(TOKEN.finditer(current))
        # Deleting now and then keeps texts short; past MAX_CHARS always (a 60-minute soak typed
        # its bytes past the server's KB_BYTE_MAX_CHARS, and the server refused with 4413).
        if found and (self.rng.random() < self.deletes or len(current) > MAX_CHARS):
            gone = self.rng.choice(found)
            start = len(current[: gone.start()].encode())
            del text[start : start + len(gone.group().encode())]
            self.deleted.add(gone.group())
            return
        spots = {0, len(current)}
        for token_at in found:
            spots.update((token_at.start(), token_at.end()))
        token = f"[e{self.number}n{len(self.made)}]"
        at = self.rng.choice(sorted(spots))
        text.insert(len(current[:at].encode()), token)
        self.made.append(token)

    async def run(self, stop: asyncio.Event) -> None:
        """Edit every `pace` seconds (jittered) until `stop`, through disconnections."""
        while not stop.is_set():
            if time.monotonic() < self.away_until:
                await asyncio.sleep(0.05)
                continue
            client = self.client or await self.connect(timeout=60)
            try:
                if self.editing:
                    self._edit(client)
                await client.flush()
                deadline = time.monotonic() + self.pace * (0.5 + self.rng.random())
                while client.close_code is None and time.monotonic() < deadline:
                    await client._next(max(0.001, deadline - time.monotonic()))
                    await client.flush()
            except websockets.ConnectionClosed as closed:  # sending failed: the server's code
                client.close_code = client.close_code or (closed.rcvd.code if closed.rcvd else 1006)
            except (OSError, websockets.WebSocketException):
                client.close_code = client.close_code or 1006
            if client.close_code is not None and self.client is client:
                self._lost()

    async def leave(self, seconds: float) -> None:
        """Close the tab for a while (its room may unload meanwhile); the document is kept."""
        self.away_until = time.monotonic() + seconds
        await self.close()

    async def settle(self, timeout: float = 30.0) -> None:
        """Connected, synced, and every write of this connection acknowledged."""
        deadline = time.monotonic() + timeout
        while True:
            client = self.client or await self.connect(timeout=max(1.0, deadline - time.monotonic()))
            try:
                await client.until(lambda c=client: c.saved >= len(c.frames), timeout=5)
                return
            except (AssertionError, OSError, websockets.WebSocketException):
                if time.monotonic() > deadline:
                    raise
                if client.close_code is not None:
                    self._lost()

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            self.doc = client.doc
            with contextlib.suppress(Exception):
                await client.close()


def ack_url(base: str, module_id: int, token: str) -> str:
    return f"{base}/ws/modules/{module_id}/?token={token}&ack=1"


def tokens_in(text: str) -> collections.Counter[str]:
    return collections.Counter(TOKEN.findall(text))


# --- the invariants -----------------------------------------------------------------------------


async def pump(editors: list[Editor]) -> None:
    for editor in editors:
        client = editor.client
        if client is not None and client.close_code is None:
            with contextlib.suppress(OSError, websockets.WebSocketException):
                await client._next(0.01)
                client.drain()
                await client.flush()


def stored_texts(module_id: int, byte_ids: list[int]) -> dict[int, str]:
    """The module's document as the database holds it (snapshot + log), per byte."""
    from collab import store

    doc: Doc = Doc()
    doc.apply_update(store.load(module_id))
    return {b: str(doc.get(f"byte:{b}", type=Text)) for b in byte_ids}


def materialized(module_id: int) -> dict[int, str]:
    from bytes_app.models import Byte

    return dict(Byte.objects.filter(module_id=module_id).values_list("id", "content"))


def divergence(editors: list[Editor], byte_ids: list[int]) -> str:
    """Who lacks which tokens, and where each editor is connected: for the failure message."""
    union = set().union(*(tokens_in(e.text(b)) for e in editors for b in byte_ids))
    lines = []
    for e in editors:
        have = set().union(*(tokens_in(e.text(b)) for b in byte_ids))
        where = e.client.url.split("/ws/")[0] if e.client else "-"
        lines.append(f"editor {e.number} on {where} lacks {sorted(union - have)[:8]} ({len(union - have)})")
    return "; ".join(lines)


async def verify(
    cluster: Cluster,
    editors: list[Editor],
    *,
    module_id: int,
    originals: dict[int, str],
    token: str,
    timeout: float = 30.0,
) -> dict[int, str]:
    """Settle every editor, then check: every acknowledged token present, nothing doubled, the
    original content intact, and editors, a fresh reader on every process, the database (log
    and materialized rows) and REST on every process byte-identical. Returns the texts."""
    from asgiref.sync import sync_to_async

    byte_ids = sorted(originals)
    for editor in editors:
        await editor.settle(timeout=timeout)
    expected: dict[int, str] = {}

    def editors_agree() -> bool:
        texts = [{b: e.text(b) for b in byte_ids} for e in editors]
        expected.clear()
        expected.update(texts[0])
        return all(t == texts[0] for t in texts)

    async def converged() -> bool:
        await pump(editors)
        return editors_agree()

    try:
        await eventually(converged, timeout, "editors did not converge")
    except AssertionError:
        raise AssertionError(f"editors did not converge: {divergence(editors, byte_ids)}") from None
    deleted = set().union(*(e.deleted for e in editors))
    acked = set().union(*(e.acked for e in editors)) - deleted
    made = [t for e in editors for t in e.made if t not in deleted]
    for byte_id, text in expected.items():
        counts = tokens_in(text)
        doubled = {t: n for t, n in counts.items() if n > 1}
        assert not doubled, f"byte {byte_id}: doubled edits {doubled}"
        assert TOKEN.sub("", text) == originals[byte_id], f"byte {byte_id}: original content damaged"
    present = set().union(*(tokens_in(t) for t in expected.values()))
    lost = acked - present
    assert not lost, f"{len(lost)} acknowledged edits lost: {sorted(lost)[:10]}"
    # Every edit was typed by an editor that is still connected and synced: all are present.
    assert present == set(made), f"{len(set(made) - present)} edits missing"
    assert not present & deleted, f"deleted edits came back: {sorted(present & deleted)[:10]}"

    for server in cluster.alive():
        reader = WsClient(f"{server.ws}/ws/modules/{module_id}/?token={token}")
        await reader.connect()
        await reader.sync()
        got = {b: str(reader.text(b)) for b in byte_ids}
        await reader.close()
        assert got == expected, f"process {server.port} serves different content"
    assert await sync_to_async(stored_texts)(module_id, byte_ids) == expected, "stored document differs"

    async def rows_and_rest_agree() -> bool:
        rows = await sync_to_async(materialized)(module_id)
        if any(rows.get(b) != expected[b] for b in byte_ids):
            return False
        for server in cluster.alive():
            for byte_id in byte_ids:
                if await asyncio.to_thread(rest_content, server, token, byte_id) != (200, expected[byte_id]):
                    return False
        return True

    await eventually(rows_and_rest_agree, timeout, "byte rows or REST differ from the live text")
    return expected

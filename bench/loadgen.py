"""Load generator process: many y-websocket clients on one asyncio loop.

`python -m bench.loadgen < spec.json` writes its results as JSON to the spec's `output` path.
Editors type into their own pycrdt Doc (so every update is a real, valid Yjs update) and send
cursor moves; every client that receives an update records the delivery latency from the
marker inside it. Receivers do not apply updates: the generator must not be the bottleneck,
and it reports its own CPU time.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import websockets
from pycrdt import Doc, Text

from collab import protocol

from .wire import MARKER_CHARS, Dialect, dialect_for, latencies_ms, marker

SYNC_STEP2_PREFIX = b"\x00\x01"
FLOOD_MARK = b"!" * MARKER_CHARS
EMPTY_STEP2 = protocol.sync_step2(b"\x00\x00")


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    connect_ms: list[float] = field(default_factory=list)
    sent: int = 0
    flooder_sent: int = 0
    deliveries: int = 0
    flood_deliveries: int = 0
    closed: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    # per room (the spec's "room" key): updates typed, and markers received by its other clients
    sent_by_room: dict[str, int] = field(default_factory=dict)
    received_by_room: dict[str, int] = field(default_factory=dict)
    # clients whose first sync completed after typing had begun ("type_from"): what was typed
    # before reached them inside that sync, and counts as delivered (without a latency)
    synced_late: int = 0
    delivered_in_sync: int = 0

    def count(self, table: dict[str, int], key: str) -> None:
        table[key] = table.get(key, 0) + 1


class Editor:
    """A typist: appends markers to its own text (trimming old ones) and moves a cursor."""

    def __init__(self, text_name: str, *, sender: int = 0, flooder: bool = False) -> None:
        self.flooder = flooder
        self.sender = sender
        self.doc: Doc = Doc()
        self.text = self.doc.get(text_name, type=Text)
        self.updates: list[bytes] = []
        self.doc.observe(lambda event: self.updates.append(event.update))
        self.clock = 0

    def type(self) -> bytes:
        with self.doc.transaction():
            if len(self.text) > 2000:
                del self.text[0:MARKER_CHARS]
            # A flooder's text carries no latency marker: its own queueing delay is not what
            # the flood scenario measures (the others' latency is).
            self.text += "!" * MARKER_CHARS if self.flooder else marker(self.sender)
        update = self.updates[-1]
        self.updates.clear()
        return protocol.sync_update(update)

    def cursor(self, user: int) -> bytes:
        self.clock += 1
        state = {"user": {"name": f"bench{user}"}, "cursor": {"anchor": self.clock, "head": self.clock}}
        entry = protocol.AwarenessEntry(self.doc.client_id, self.clock, orjson.dumps(state).decode())
        return protocol.awareness_message(protocol.encode_awareness([entry]))


async def run_client(spec: dict[str, Any], config: dict[str, Any], results: Results, start: float) -> None:
    dialect: Dialect = dialect_for(config["server"], spec["document"])
    role = spec["role"]
    warmup_until = start + config.get("warmup", 0.0)
    stop_at = start + config["duration"]
    await asyncio.sleep(random.random() * config.get("connect_spread", 0.0))
    began = time.monotonic()
    try:
        socket = await websockets.connect(
            spec["url"], compression=None, max_size=None, open_timeout=30, ping_interval=None
        )
    except Exception as error:
        results.count(results.errors, f"connect: {type(error).__name__}")
        return
    synced = asyncio.Event()

    async def read() -> None:
        try:
            async for frame in socket:
                message = dialect.unwrap(frame)
                if message[:2] == SYNC_STEP2_PREFIX and not synced.is_set():
                    results.connect_ms.append((time.monotonic() - began) * 1000)
                    synced.set()
                    if "room" in spec and time.monotonic() >= config.get("type_from", float("inf")):
                        # Found by the bounded load check: under load a client could sync after
                        # the first updates were typed, and they were counted as dropped.
                        results.synced_late += 1
                        found = len(latencies_ms(message, time.monotonic_ns(), spec["user"]))
                        results.delivered_in_sync += found
                        room = spec["room"]
                        results.received_by_room[room] = results.received_by_room.get(room, 0) + found
                    continue
                if message[:2] == b"\x00\x00":  # the server's sync step 1: we have nothing to add
                    await socket.send(dialect.wrap(EMPTY_STEP2))
                    continue
                if role != "idle" and message[:2] == b"\x00\x02":
                    now = time.monotonic_ns()
                    if FLOOD_MARK in message and role != "flooder":  # (not its own, echoed)
                        results.flood_deliveries += 1
                    found = latencies_ms(message, now, spec["user"])
                    results.deliveries += len(found)
                    if "room" in spec:
                        room = spec["room"]
                        results.received_by_room[room] = results.received_by_room.get(room, 0) + len(found)
                    if now / 1e9 >= warmup_until:
                        results.latencies.extend(found)
        except websockets.ConnectionClosed as closed:
            results.count(results.closed, str(closed.rcvd.code if closed.rcvd else 1006))
        except Exception as error:
            results.count(results.errors, f"read: {type(error).__name__}")

    reader = asyncio.ensure_future(read())
    try:
        for hello in dialect.hello():
            await socket.send(hello)
        await socket.send(dialect.wrap(protocol.sync_step1(b"\x00")))
        await asyncio.wait_for(synced.wait(), 60)
        if role == "editor":
            await _type(socket, dialect, spec, config, results, stop_at)
        elif role == "flooder":
            await _flood(socket, dialect, spec, results, stop_at)
        else:
            await _idle(socket, dialect, spec, stop_at)
    except (websockets.ConnectionClosed, TimeoutError, OSError) as error:
        results.count(results.errors, f"run: {type(error).__name__}")
    finally:
        if config.get("linger_until_stop"):
            await asyncio.sleep(max(0.0, stop_at + config.get("linger", 0.0) - time.monotonic()))
        await socket.close()
        reader.cancel()


async def _type(
    socket: Any, dialect: Dialect, spec: dict, config: dict, results: Results, stop_at: float
) -> None:
    editor = Editor(spec["text"], sender=spec["user"])
    interval = 1.0 / config["rate"]
    # With "type_from", nobody types before every client should have connected, so that each
    # update has a known set of receivers and a missing delivery is a drop, not a late arrival
    # (a client that syncs later gets what was typed before in its sync: read() counts it).
    await asyncio.sleep(max(0.0, config.get("type_from", 0.0) - time.monotonic()))
    await asyncio.sleep(random.random() * interval)
    tick = time.monotonic()
    while tick < stop_at:
        await socket.send(dialect.wrap(editor.type()))
        results.sent += 1
        if "room" in spec:
            results.sent_by_room[spec["room"]] = results.sent_by_room.get(spec["room"], 0) + 1
        if config.get("cursor", True):
            await socket.send(dialect.wrap(editor.cursor(spec["user"])))
        tick += interval
        await asyncio.sleep(max(0.0, tick - time.monotonic()))
    await asyncio.sleep(config.get("drain", 1.0))


async def _flood(socket: Any, dialect: Dialect, spec: dict, results: Results, stop_at: float) -> None:
    editor = Editor(spec["text"], flooder=True)
    while time.monotonic() < stop_at:
        await socket.send(dialect.wrap(editor.type()))
        results.flooder_sent += 1


async def _idle(socket: Any, dialect: Dialect, spec: dict, stop_at: float) -> None:
    """A tab left open: renews its presence every 15 s, as y-websocket clients do."""
    editor = Editor(spec.get("text", "idle"))
    while time.monotonic() < stop_at:
        await asyncio.sleep(min(15.0, max(0.0, stop_at - time.monotonic())))
        if time.monotonic() < stop_at:
            await socket.send(dialect.wrap(editor.cursor(spec.get("user", 0))))


async def main(config: dict[str, Any]) -> dict[str, Any]:
    results = Results()
    start = config.get("start_at") or time.monotonic()
    await asyncio.sleep(max(0.0, start - time.monotonic()))
    cpu_before = time.process_time()
    await asyncio.gather(*(run_client(spec, config, results, start) for spec in config["clients"]))
    return {
        "latencies_ms": results.latencies,
        "connect_ms": results.connect_ms,
        "sent": results.sent,
        "flooder_sent": results.flooder_sent,
        "flood_deliveries": results.flood_deliveries,
        "deliveries": results.deliveries,
        "closed": results.closed,
        "errors": results.errors,
        "sent_by_room": results.sent_by_room,
        "received_by_room": results.received_by_room,
        "synced_late": results.synced_late,
        "delivered_in_sync": results.delivered_in_sync,
        "cpu_seconds": time.process_time() - cpu_before,
        "wall_seconds": time.monotonic() - start,
    }


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    config = json.load(sys.stdin)
    output = asyncio.run(main(config))
    with open(config["output"], "w") as file:  # a file, not stdout: results can be megabytes
        json.dump(output, file)

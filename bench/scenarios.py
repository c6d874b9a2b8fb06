"""The benchmark's scenarios (README "Benchmarks" and issue 6). Each takes a started target and a
`Scale` (full, quick or smoke) and returns flat metrics; the runner repeats and compares them."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import websockets

from collab import protocol

from .harness import Load, percentile, run_load
from .loadgen import Editor
from .search import highest_sustained
from .servers import ROOT, Kb, Target
from .wire import dialect_for


@dataclass(frozen=True)
class Scale:
    name: str
    duration: float
    warmup: float
    steady_rooms: int
    idle_connections: int
    idle_rooms: int
    cold_edits: int
    hot_editors: int
    ceiling_rates: tuple[float, ...]
    growth_editors: tuple[int, ...]
    growth_connections: tuple[int, ...]
    growth_edits: tuple[int, ...]
    rest_bytes: tuple[int, ...]
    rest_seconds: float
    settle: float = 15.0  # seconds to wait for rooms to unload once their sockets have gone
    ceiling_refine: int = 3  # bisections between the last rate sustained and the first not


FULL = Scale(
    "full",
    30,
    5,
    50,
    2000,
    200,
    50_000,
    100,
    (1, 2, 5, 10, 20, 40, 80),  # per editor per second, 200 editors
    (1, 2, 5, 10, 20, 50, 100),
    (100, 500, 1000, 2000, 5000),
    (1_000, 10_000, 100_000),
    (10_000, 100_000),
    10,
)
QUICK = Scale(
    "quick",
    12,
    3,
    50,
    1000,
    100,
    10_000,
    50,
    (2, 5, 10, 20, 40, 80),  # per editor per second, then bisected (bench/search.py)
    (1, 10, 50),
    (100, 1000),
    (1_000, 10_000),
    (10_000,),
    5,
)
SMOKE = Scale("smoke", 3, 1, 3, 20, 4, 200, 5, (5,), (2,), (10,), (100,), (200,), 1, settle=2)


def steady(target: Target, scale: Scale) -> dict[str, Any]:
    """50 modules x 4 editors, each typing 5 updates/s and moving its cursor."""
    load = Load(
        target.rooms(scale.steady_rooms),
        editors_per_room=4,
        rate=5,
        duration=scale.duration,
        warmup=scale.warmup,
    )
    return run_load(target, load)


def pair(target: Target, scale: Scale) -> dict[str, Any]:
    """Edit propagation between two clients of one module (each typing 20 updates/s); with
    several processes, the two clients are on different ones."""
    load = Load(target.rooms(1), editors_per_room=2, rate=20, duration=scale.duration, warmup=scale.warmup)
    return run_load(target, load)


def ceiling(target: Target, scale: Scale) -> dict[str, Any]:
    """Raise the rate until p99 passes 100 ms: the highest deliveries/s sustained below it
    (bench/search.py: the steps, then bisections between the last one held and the next)."""
    rooms = target.rooms(scale.steady_rooms)
    curve: list[dict[str, float]] = []
    overloaded = False

    def sustains(rate: float) -> tuple[bool, float]:
        nonlocal overloaded
        # A server may not recover from the rate that broke it (pycrdt-websocket delivered
        # nothing at any rate after it): each bisection after a failed step starts it afresh.
        if overloaded:
            target.restart()
        result = run_load(target, Load(rooms, rate=rate, duration=scale.duration, warmup=scale.warmup))
        curve.append(
            {
                "rate": rate,
                "p50_ms": result["p50_ms"],
                "p99_ms": result["p99_ms"],
                "deliveries_per_s": result["deliveries_per_s"],
            }
        )
        held = result["p99_ms"] <= 100 and not result["problems"]
        overloaded = not held
        return held, result["deliveries_per_s"]

    best = highest_sustained(scale.ceiling_rates, scale.ceiling_refine, sustains)
    curve.sort(key=lambda point: point["rate"])
    return {"max_deliveries_per_s": best, "curve": curve}


def idle_tabs(target: Target, scale: Scale) -> dict[str, Any]:
    """Many connections that only sync and renew presence: memory per connection, connect+sync
    p99, and memory once they have all gone."""
    rooms = target.rooms(scale.idle_rooms)
    time.sleep(1)
    before = target.rss()
    per_room = max(1, scale.idle_connections // len(rooms))
    hold = max(min(scale.duration, 10.0), scale.idle_connections / 200)
    load = Load(
        rooms,
        editors_per_room=0,
        idle_per_room=per_room,
        duration=hold,
        warmup=0,
        connect_spread=min(20.0, scale.idle_connections / 200),
    )
    result = run_load(target, load)
    during = result["server_rss_mb"] * 2**20
    time.sleep(scale.settle)  # rooms unload after their idle grace period
    after = target.rss()
    connections = max(1, result["connected"])
    return {
        "kib_per_connection": (during - before) / 1024 / connections,
        "connect_p99_ms": result["connect_p99_ms"],
        "connected": result["connected"],
        "rss_before_mb": before / 2**20,
        "rss_during_mb": during / 2**20,
        "rss_after_close_mb": after / 2**20,
        "returned_share": (during - after) / max(1, during - before),
        "problems": result["problems"],
    }


async def _write_edits(target: Target, url: str, document: str, text: str, edits: int) -> None:
    """One client makes `edits` real edits (inserts, and deletes once the text is long)."""
    dialect = dialect_for(target.kind, document)
    editor = Editor(text)
    async with websockets.connect(url, compression=None, max_size=None, ping_interval=None) as socket:
        for hello in dialect.hello():
            await socket.send(hello)
        await socket.send(dialect.wrap(protocol.sync_step1(b"\x00")))
        for number in range(edits):
            if number % 3 == 2 and len(editor.text) > 500:
                with editor.doc.transaction():
                    del editor.text[0:1]
                update = editor.updates[-1]
                editor.updates.clear()
                await socket.send(dialect.wrap(protocol.sync_update(update)))
            else:
                await socket.send(dialect.wrap(editor.type()))
            if number % 200 == 0:
                await asyncio.sleep(0)
        await asyncio.sleep(3)  # let storage catch up (Hocuspocus debounces for 2 s)


async def _open_once(target: Target, url: str, document: str) -> float:
    """Milliseconds from connecting to holding the whole document (sync step 2 received)."""
    dialect = dialect_for(target.kind, document)
    began = time.monotonic()
    async with websockets.connect(url, compression=None, max_size=None, ping_interval=None) as socket:
        for hello in dialect.hello():
            await socket.send(hello)
        await socket.send(dialect.wrap(protocol.sync_step1(b"\x00")))
        async for frame in socket:
            message = dialect.unwrap(frame)
            if message[:2] == b"\x00\x01":
                return (time.monotonic() - began) * 1000
    raise RuntimeError("closed before the document arrived")


def cold_open(target: Target, scale: Scale, edits: int | None = None) -> dict[str, Any]:
    """A module whose document took many edits: time for a new client to get it all, from
    memory (room loaded) and from storage after a restart."""
    edits = edits or scale.cold_edits
    room = target.rooms(1)[0]
    asyncio.run(_write_edits(target, room.urls[0], room.document, room.text, edits))
    memory = [asyncio.run(_open_once(target, room.urls[0], room.document)) for _ in range(5)]
    storage = []
    for _ in range(3):
        target.restart()
        storage.append(asyncio.run(_open_once(target, room.urls[0], room.document)))
    return {
        "edits": edits,
        "from_memory_ms": float(np.median(memory)),
        "from_storage_ms": float(np.median(storage)),
    }


def hot_room(target: Target, scale: Scale) -> dict[str, Any]:
    """One module, many editors typing (2 updates/s each) and moving cursors."""
    load = Load(
        target.rooms(1),
        editors_per_room=scale.hot_editors,
        rate=2,
        duration=scale.duration,
        warmup=scale.warmup,
    )
    return run_load(target, load)


def flood(target: Target, scale: Scale) -> dict[str, Any]:
    """The steady load with and without one client sending as fast as it can."""
    rooms = target.rooms(max(2, scale.steady_rooms // 2))
    base = run_load(target, Load(rooms, duration=scale.duration, warmup=scale.warmup))
    flooded = run_load(target, Load(rooms, duration=scale.duration, warmup=scale.warmup, flooders=1))
    wall = scale.duration + 2  # the run, plus its connect spread
    return {
        "p99_ms_without": base["p99_ms"],
        "p99_ms_with": flooded["p99_ms"],
        "p99_ratio": flooded["p99_ms"] / base["p99_ms"] if base["p99_ms"] else float("nan"),
        "max_ms_with": flooded["max_ms"],
        "flooder_written_per_s": flooded["flooder_sent"] / wall,
        "flooder_delivered_per_s": flooded["flood_delivered_per_s"],
        "problems": flooded["problems"],
    }


def rest(target: Target, scale: Scale) -> dict[str, Any]:
    """REST: read one byte, list a module, full-text search, PATCH a byte open live (kb only)."""
    if not isinstance(target, Kb):
        return {}
    from .restload import rest_scenario

    return rest_scenario(target, scale)


def growth(target: Target, scale: Scale) -> dict[str, Any]:
    """How costs grow: latency against editors per room, memory against connections, and cold
    open against edit count."""
    curve: dict[str, list[dict[str, float]]] = {"editors": [], "connections": [], "edits": []}
    for editors in scale.growth_editors:
        result = run_load(
            target,
            Load(
                target.rooms(1),
                editors_per_room=editors,
                rate=2,
                duration=scale.duration,
                warmup=scale.warmup,
            ),
        )
        curve["editors"].append({"x": editors, "p50_ms": result["p50_ms"], "p99_ms": result["p99_ms"]})
    for connections in scale.growth_connections:
        target.restart()
        before = target.rss()
        rooms = target.rooms(max(1, connections // 10))
        result = run_load(
            target,
            Load(
                rooms,
                editors_per_room=0,
                idle_per_room=10,
                duration=10,
                warmup=0,
                connect_spread=min(20.0, connections / 200),
            ),
        )
        curve["connections"].append(
            {
                "x": connections,
                "rss_mb": result["server_rss_mb"],
                "kib_per_connection": (result["server_rss_mb"] * 2**20 - before)
                / 1024
                / max(1, result["connected"]),
            }
        )
    for edits in scale.growth_edits:
        target.stop()
        target.reset()
        target.start()
        opened = cold_open(target, scale, edits)
        curve["edits"].append(
            {
                "x": edits,
                "from_memory_ms": opened["from_memory_ms"],
                "from_storage_ms": opened["from_storage_ms"],
            }
        )
    return {"curve": curve}


SCENARIOS = {
    "pair": pair,
    "steady": steady,
    "ceiling": ceiling,
    "idle": idle_tabs,
    "cold": cold_open,
    "hot": hot_room,
    "flood": flood,
    "rest": rest,
    "growth": growth,
}


def kb_setup_json(target: Kb, *args: int) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "bench.kbsetup", *map(str, args)],
        cwd=ROOT,
        env=target.env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


__all__ = ["FULL", "QUICK", "SCENARIOS", "SMOKE", "Scale", "percentile"]

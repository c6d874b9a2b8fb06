"""Running a load against a server and measuring it: load generator processes on their own
core, the server's CPU time and memory from the outside (psutil)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .servers import LOAD_CORES, ROOT, Room, Target, pinned


@dataclass
class Load:
    rooms: list[Room]
    editors_per_room: int = 4
    idle_per_room: int = 0
    observers_per_room: int = 0
    rate: float = 5.0
    cursor: bool = True
    duration: float = 20.0
    warmup: float = 5.0
    connect_spread: float = 2.0
    flooders: int = 0
    generators: int = 1
    # Count every delivery: typing starts once all clients are connected, and each receiver's
    # markers are tallied per room, so run_load reports updates that never arrived.
    account: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def clients(self) -> list[dict[str, Any]]:
        clients = []
        index = 0
        for room in self.rooms:
            roles = (
                ["editor"] * self.editors_per_room
                + ["observer"] * self.observers_per_room
                + ["idle"] * self.idle_per_room
            )
            for role in roles:
                clients.append(
                    {
                        "url": room.urls[index % len(room.urls)],
                        "document": room.document,
                        "text": room.text,
                        "role": role,
                        "user": index,
                        **({"room": room.document} if self.account else {}),
                    }
                )
                index += 1
        for number in range(self.flooders):
            room = self.rooms[number % len(self.rooms)]
            clients.append(
                {
                    "url": room.urls[0],
                    "document": room.document,
                    "text": room.text,
                    "role": "flooder",
                    "user": -1,
                }
            )
        return clients


def percentile(values: list[float] | np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def run_load(target: Target, load: Load) -> dict[str, Any]:
    """Run the load once; returns latency percentiles, rates and the server's CPU and memory."""
    clients = load.clients()
    measuring = [client for client in clients if client["role"] != "flooder"]
    flooders = [client for client in clients if client["role"] == "flooder"]
    # Flooders get a generator of their own: a flooder sends in bursts without yielding to its
    # event loop (websockets' send only waits when the socket's buffer is full), and sharing the
    # generator of the clients that measure, it would delay their reads: latency not the server's.
    shares = [measuring[n :: load.generators] for n in range(load.generators)]
    if flooders:
        shares.append(flooders)
    start_at = time.monotonic() + 1.0
    config = {
        "server": target.kind,
        "rate": load.rate,
        "cursor": load.cursor,
        "duration": load.duration + load.connect_spread,
        "warmup": load.warmup + load.connect_spread,
        "connect_spread": load.connect_spread,
        "start_at": start_at,
        **load.extra,
    }
    if load.account:
        config["type_from"] = start_at + load.connect_spread + 1.0
        config.setdefault("drain", 5.0)
    cpu_before, rss_before = target.cpu_seconds(), target.rss()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    scratch = Path(tempfile.mkdtemp(prefix="kb-bench-"))
    generators = [
        subprocess.Popen(
            pinned([sys.executable, "-m", "bench.loadgen"], LOAD_CORES),
            stdin=subprocess.PIPE,
            cwd=ROOT,
            env=env,
        )
        for _ in shares
    ]
    for number, (generator, share) in enumerate(zip(generators, shares, strict=True)):
        assert generator.stdin is not None
        spec = {**config, "clients": share, "output": str(scratch / f"{number}.json")}
        generator.stdin.write(json.dumps(spec).encode())
        generator.stdin.close()
    peak_rss = rss_before
    timeline: list[tuple[float, int]] = []  # (seconds since start_at, server RSS)
    while any(generator.poll() is None for generator in generators):
        rss = target.rss()
        peak_rss = max(peak_rss, rss)
        timeline.append((time.monotonic() - start_at, rss))
        time.sleep(0.5)
    outputs = [json.loads((scratch / f"{number}.json").read_text()) for number in range(len(generators))]
    shutil.rmtree(scratch, ignore_errors=True)
    cpu = target.cpu_seconds() - cpu_before
    latencies = np.array([value for output in outputs for value in output["latencies_ms"]])
    connect = [value for output in outputs for value in output["connect_ms"]]
    measured = load.duration - load.warmup
    wall = max(output["wall_seconds"] for output in outputs)
    sent = sum(output["sent"] for output in outputs)
    merged_errors: dict[str, int] = {}
    for output in outputs:
        for table in ("errors", "closed"):
            for key, count in output[table].items():
                merged_errors[f"{table}:{key}"] = merged_errors.get(f"{table}:{key}", 0) + count
    sent_by_room: dict[str, int] = {}
    received_by_room: dict[str, int] = {}
    for output in outputs:
        for table, merged in (("sent_by_room", sent_by_room), ("received_by_room", received_by_room)):
            for room, count in output.get(table, {}).items():
                merged[room] = merged.get(room, 0) + count
    receivers = load.editors_per_room + load.observers_per_room - 1
    expected = sum(sent * receivers for sent in sent_by_room.values())
    missing = sum(
        max(0, sent * receivers - received_by_room.get(room, 0)) for room, sent in sent_by_room.items()
    )
    return {
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
        "max_ms": float(latencies.max()) if len(latencies) else float("nan"),
        "deliveries_per_s": len(latencies) / measured if measured > 0 else 0.0,
        "updates_per_s": sent / wall if wall else 0.0,
        "connect_p99_ms": percentile(connect, 99),
        "connected": len(connect),
        "clients": len(clients),
        "server_cpu_s": cpu,
        "server_cpu_us_per_delivery": cpu * 1e6 / max(1, sum(o["deliveries"] for o in outputs)),
        "server_rss_mb": peak_rss / 2**20,
        "generator_cpu_share": sum(o["cpu_seconds"] for o in outputs) / wall if wall else 0.0,
        "flooder_sent": sum(o["flooder_sent"] for o in outputs),
        # how many of the flooder's updates reached each other client of its room, per second
        "flood_delivered_per_s": sum(o["flood_deliveries"] for o in outputs)
        / max(1, load.editors_per_room)
        / wall,
        "problems": merged_errors,
        **(
            {
                "expected_deliveries": expected,
                "missing_deliveries": missing,
                "synced_after_typing_began": sum(o.get("synced_late", 0) for o in outputs),
                "delivered_in_initial_sync": sum(o.get("delivered_in_sync", 0) for o in outputs),
                "rss_timeline": timeline,
            }
            if load.account
            else {}
        ),
    }

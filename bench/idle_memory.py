"""Where an idle connection's memory goes: `python -m bench.idle_memory [--connections 500]`.

Starts kb (one process, SQLite) with PYTHONTRACEMALLOC, opens the idle tabs of the benchmark's
idle scenario (they sync, then renew their presence), and compares two tracemalloc snapshots the
server writes on SIGUSR2 (kb/diagnostics.py): before the connections and while they are all
open. Prints the RSS per connection, the Python allocations per connection, and those by the
library that made them (the innermost frame of a known one) and by line. Tracing slows the server
and costs memory of its own, so the RSS figure is not the benchmark's; the split is the point.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time
import tracemalloc
from collections import Counter
from typing import Any

from kb.diagnostics import snapshot_path

from .harness import Load, run_load
from .servers import Kb

AREAS = ("uvicorn", "websockets", "channels", "asgiref", "django", "rest_framework", "pycrdt",
         "psycopg", "/collab/", "/bytes_app/", "/kb/", "asyncio")  # fmt: skip


def area(filename: str) -> str | None:
    return next((name.strip("/") for name in AREAS if name in filename), None)


def take(target: Kb, number: int) -> tracemalloc.Snapshot:
    pid = target.processes[0].pid
    path = snapshot_path(pid, number)
    os.kill(pid, signal.SIGUSR2)
    deadline = time.monotonic() + 60
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"no snapshot from kb ({path}); see {target.logs}")
        time.sleep(0.1)
    snapshot = tracemalloc.Snapshot.load(str(path))
    path.unlink()
    return snapshot


def split(before: tracemalloc.Snapshot, during: tracemalloc.Snapshot) -> tuple[Counter[str], Counter[str]]:
    """Bytes allocated between the snapshots, by library and by line (the innermost frame of a
    library in AREAS: the caller a library allocated for is what the tabs cost there)."""
    by_area: Counter[str] = Counter()
    by_line: Counter[str] = Counter()
    for stat in during.compare_to(before, "traceback"):
        frames = list(stat.traceback)  # oldest first
        known = next(((area(f.filename), f) for f in reversed(frames) if area(f.filename)), None)
        name, frame = known if known else ("other", frames[-1])
        by_area[name or "other"] += stat.size_diff
        by_line[f"{frame.filename.split('site-packages/')[-1]}:{frame.lineno}"] += stat.size_diff
    return by_area, by_line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=500)
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--frames", type=int, default=8, help="PYTHONTRACEMALLOC: frames kept")
    args = parser.parse_args()
    target = Kb(env={"PYTHONTRACEMALLOC": str(args.frames)}, name="kb-tracemalloc")
    target.reset()
    target.start()
    try:
        rooms = target.rooms(args.rooms)
        # A short wave first, so that what is built once (caches, imports) is in both snapshots.
        run_load(target, Load(rooms, editors_per_room=0, idle_per_room=1, duration=2, warmup=0))
        time.sleep(3)
        rss_before, before = target.rss(), take(target, 1)
        per_room = max(1, args.connections // len(rooms))
        spread = max(2.0, args.connections / 100)
        held: dict[str, Any] = {}
        load = Load(rooms, editors_per_room=0, idle_per_room=per_room, duration=spread + 20, warmup=0,
                    connect_spread=spread)  # fmt: skip
        wave = threading.Thread(target=lambda: held.update(run_load(target, load)))
        wave.start()
        time.sleep(spread + 10)  # every tab connected and synced, none gone yet
        rss_during, during = target.rss(), take(target, 2)
        wave.join()
    finally:
        target.stop()
    connected = held.get("connected") or 0
    if not connected:
        raise SystemExit(f"no connection was held: {held.get('problems')}")
    by_area, by_line = split(before, during)
    kib = lambda n: n / 1024 / connected  # noqa: E731
    print(f"{connected} idle connections over {len(rooms)} modules (kb, one process, tracemalloc on)")
    print(f"RSS per connection: {kib(rss_during - rss_before):.1f} KiB")
    print(f"Python allocations per connection: {kib(sum(by_area.values())):.2f} KiB, by library:")
    for name, size in by_area.most_common():
        if abs(kib(size)) >= 0.01:
            print(f"  {name:16s} {kib(size):6.2f} KiB")
    print("largest lines:")
    for line, size in by_line.most_common(12):
        print(f"  {kib(size):6.2f} KiB  {line}")


if __name__ == "__main__":
    main()

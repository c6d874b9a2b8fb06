"""The load suite (issue 7): kb alone, held to its promises under many clients and many rooms.

    python -m bench.load              # 1,000 clients over 200 modules on one process and on two,
                                      # then 10,000 open/edit/close cycles over 1,000 modules
    python -m bench.load --scale ci   # the bounded version CI runs (./dev test)
    python -m bench.load --checks cycles --processes 1   # one check, one process

Two checks, each on one process (SQLite) and on two (PostgreSQL + Redis):

- clients: every client edits and moves its cursor once a second; typing starts once all have
  connected, so every update has a known set of receivers. Reported: delivery p50/p95/p99/max.
  Fails when a delivery is missing, a socket is refused or dropped, or memory grows over the
  last half of the run.
- cycles: open a module, sync, send one edit, wait for its acknowledgement, close; then idle.
  Rooms unload 1 s after their last socket here, so cycles also reopen rooms that are unloading.
  Fails when an edit is not acknowledged, when a room or channel-layer group (in the process or
  in Redis) outlives the idle period, or when a second wave of cycles keeps more memory than the
  first left behind (a leak). How much of the first wave's memory came back is reported.

Prints the figures and writes bench/results/load-<scale>.json and .md (or --out). Latency is reported,
never asserted (README: Benchmarks); the checks are about loss and leaks.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import random
import sys
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import websockets

from collab import protocol
from collab.memory import census_change

from .harness import Load, run_load
from .loadgen import Editor
from .run import UNLIMITED, machine, say
from .servers import Kb

RESULTS = Path(__file__).resolve().parent / "results"
ACK = bytes([protocol.MessageType.SAVED])  # sent to clients that connect with ?ack=1


@dataclass(frozen=True)
class Scale:
    name: str
    clients: int
    client_modules: int
    client_seconds: float
    cycles: int
    cycle_modules: int
    concurrency: int  # cycles in flight at once


FULL = Scale("full", 1000, 200, 300, 10_000, 1000, 50)  # memory settles after about 2 minutes
CI = Scale("ci", 200, 40, 24, 1000, 100, 25)

# Memory may move this much without failing a check (allocator noise, caches warming up).
FLAT_SLACK = 0.03  # the last half of the clients run: growth at most 3% of RSS (or 6 MiB)
FLAT_MIN_MIB = 6
# After the cycles and the idle period, the memory the first wave kept is reported, not
# checked: glibc and SQLite keep freed pages and caches for reuse (README: Load suite). A
# second wave must reuse them: it may add at most half as much again (or 4 MiB).
AGAIN_SHARE = 0.5
AGAIN_MIN_MIB = 4
ACCOUNT_EVERY = 30.0  # seconds between the processes' memory accounts in the clients check


def mib(value: float) -> float:
    return value / 2**20


# --- clients ---------------------------------------------------------------------------------


def check_clients(target: Kb, scale: Scale) -> dict[str, Any]:
    rooms = target.rooms(scale.client_modules)
    per_room = max(2, scale.clients // len(rooms))
    load = Load(
        rooms,
        editors_per_room=per_room,
        rate=1,
        duration=scale.client_seconds,
        warmup=min(10.0, scale.client_seconds / 4),
        connect_spread=min(10.0, scale.clients / 100),
        account=True,
    )
    assert target.setup is not None
    token = target.setup["admin_token"]
    accounts: list[tuple[float, dict[str, float | None]]] = []  # (seconds, heap_report)
    sampling = threading.Event()

    def sample() -> None:
        began = time.monotonic()
        while not sampling.wait(ACCOUNT_EVERY):
            try:
                accounts.append((time.monotonic() - began, heap_report(target, token)))
            except OSError:  # a process too busy to answer within 10 s: no account this time
                continue

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = run_load(target, load)
    finally:
        sampling.set()
        sampler.join()
    timeline = result.pop("rss_timeline")
    try:  # rooms healed from the database (a lost broadcast, a channel layer back): costly
        answers = status(target, token)
        heals: int | None = sum((answer["collab"] or {}).get("heals_total", 0) for answer in answers)
    except OSError:
        heals = None
    typing = [
        (t, rss) for t, rss in timeline if load.connect_spread + 1 <= t <= load.duration + load.connect_spread
    ]
    half = typing[len(typing) // 2 :]
    growth = 0.0
    if len(half) >= 4:
        seconds = np.array([t for t, _ in half])
        rss = np.array([value for _, value in half], dtype=float)
        slope = float(np.polyfit(seconds, rss, 1)[0])  # bytes per second
        growth = slope * (seconds[-1] - seconds[0])
    rss_end = typing[-1][1] if typing else 0
    failures = []
    if result["missing_deliveries"]:
        failures.append(
            f"{result['missing_deliveries']} of {result['expected_deliveries']} deliveries missing"
        )
    if result["connected"] < result["clients"]:
        failures.append(f"{result['clients'] - result['connected']} clients never synced")
    if result["problems"]:
        failures.append(f"sockets closed or failed: {result['problems']}")
    if growth > max(FLAT_SLACK * rss_end, FLAT_MIN_MIB * 2**20):
        failures.append(f"memory grew {mib(growth):.1f} MiB over the last half of the run")
    return {
        "clients": result["clients"],
        "modules": len(rooms),
        "seconds": scale.client_seconds,
        "p50_ms": result["p50_ms"],
        "p95_ms": result["p95_ms"],
        "p99_ms": result["p99_ms"],
        "max_ms": result["max_ms"],
        "deliveries_per_s": result["deliveries_per_s"],
        "expected_deliveries": result["expected_deliveries"],
        "missing_deliveries": result["missing_deliveries"],
        "synced_after_typing_began": result["synced_after_typing_began"],
        "delivered_in_initial_sync": result["delivered_in_initial_sync"],
        "connect_p99_ms": result["connect_p99_ms"],
        "server_cpu_us_per_delivery": result["server_cpu_us_per_delivery"],
        "generator_cpu_share": result["generator_cpu_share"],
        "rooms_healed": heals,
        "rss_end_mb": mib(rss_end),
        "rss_growth_last_half_mb": mib(growth),
        # every 10 s of the typing phase: (seconds, MiB)
        "rss_timeline": [(round(t), round(mib(rss), 1)) for t, rss in typing[::20]],
        # every ACCOUNT_EVERY s from the start: where the memory is (heap_report)
        "memory_timeline": [(round(t), account) for t, account in accounts],
        "failures": failures,
    }


# --- cycles ----------------------------------------------------------------------------------


async def _cycle(url: str, text: str) -> str | None:
    """Open, sync, edit once, wait for the acknowledgement, close. None when all went well."""
    try:
        async with websockets.connect(url, compression=None, open_timeout=30, ping_interval=None) as socket:
            await socket.send(protocol.sync_step1(b"\x00"))
            synced = acked = False
            editor = Editor(text)
            async with asyncio.timeout(30):
                async for frame in socket:
                    if isinstance(frame, str):
                        return "text frame"
                    if frame[:2] == b"\x00\x00":
                        await socket.send(protocol.sync_step2(b"\x00\x00"))
                    elif frame[:2] == b"\x00\x01" and not synced:
                        synced = True
                        await socket.send(editor.type())
                    elif frame[:1] == ACK and synced:
                        acked = True
                        break
            return None if acked else "closed before the acknowledgement"
    except TimeoutError:
        return "no acknowledgement within 30 s"
    except websockets.ConnectionClosed as closed:
        return f"closed {closed.rcvd.code if closed.rcvd else 1006}"
    except OSError as error:
        return f"connect: {type(error).__name__}"


async def _cycles(urls: list[tuple[str, str]], total: int, concurrency: int) -> tuple[dict[str, int], float]:
    failures: dict[str, int] = {}
    queue = list(range(total))
    random.Random(7).shuffle(queue)
    began = time.monotonic()
    shown = began

    async def worker() -> None:
        nonlocal shown
        while queue:
            number = queue.pop()
            url, text = urls[number % len(urls)]
            failure = await _cycle(url, text)
            if failure:
                failures[failure] = failures.get(failure, 0) + 1
            if time.monotonic() - shown > 10:
                shown = time.monotonic()
                say(f"  cycles: {total - len(queue)}/{total}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return failures, time.monotonic() - began


def status(target: Kb, token: str, objects: bool = False) -> list[dict[str, Any]]:
    """Each process's own account of what it holds (GET /api/collab/status/); `objects`: with
    its count of live objects by type."""
    answers = []
    for port in target.ports:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/collab/status/{'?objects=1' if objects else ''}",
            headers={"Authorization": f"Token {token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            answers.append(json.load(response))
    return answers


def heap_report(target: Kb, token: str) -> dict[str, float | None]:
    """Where the processes' memory is, summed: the C heap in use and kept free and SQLite's
    caches in MiB, and Python's live blocks (collab/memory.py), to tell memory kept for reuse
    from memory still referenced."""
    totals: dict[str, float | None] = {}
    for answer in status(target, token):
        for key, value in (answer.get("memory") or {}).items():
            name = key.removesuffix("_bytes")
            if value is None:
                totals[name] = None
            else:
                totals[name] = (totals.get(name) or 0.0) + (mib(value) if key.endswith("_bytes") else value)
    return {key: None if value is None else round(value, 1) for key, value in totals.items()}


def census(target: Kb, token: str) -> dict[str, int]:
    """Live objects by type (kb's, pycrdt's, the connections'), summed over the processes."""
    totals: Counter[str] = Counter()
    for answer in status(target, token, objects=True):
        totals.update(answer["objects"])
    return dict(totals)


def redis_groups(target: Kb) -> int:
    """Group channels some process still subscribes to (kb's layer is channels-redis pub/sub:
    a group is a Redis pub/sub channel, `<prefix>__group__<name>`, not a key)."""
    if target.count == 1:
        return 0
    import redis

    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    return len(client.pubsub_channels(f"{target.prefix}__group__*"))


def wait_until_idle(target: Kb, token: str, limit: float) -> tuple[list[dict[str, Any]], float]:
    """Poll until no process holds a room or a group (or `limit` seconds have passed)."""
    began = time.monotonic()
    while True:
        answers = status(target, token)
        held = sum((answer["collab"] or {}).get("rooms", 0) for answer in answers)
        groups = sum((answer["collab"] or {}).get("channel_groups", 0) for answer in answers)
        if (held == 0 and groups == 0 and redis_groups(target) == 0) or time.monotonic() - began > limit:
            return answers, time.monotonic() - began
        time.sleep(1)


def check_cycles(target: Kb, scale: Scale) -> dict[str, Any]:
    rooms = target.rooms(scale.cycle_modules)
    assert target.setup is not None
    token = target.setup["admin_token"]
    urls = [(f"{url}&ack=1", room.text) for room in rooms for url in room.urls]
    idle_limit = 60.0
    # Warm up (imports, thread pools, the database connections), let it unload, then measure.
    warm_failures, _ = asyncio.run(_cycles(urls[: min(50, len(urls))], 100, 10))
    wait_until_idle(target, token, idle_limit)
    before = target.rss()
    memory = {"before": heap_report(target, token)}
    objects = [census(target, token)]
    peak = before
    sampling = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not sampling.wait(0.5):
            peak = max(peak, target.rss())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    failures, seconds = asyncio.run(_cycles(urls, scale.cycles, scale.concurrency))
    peak = max(peak, target.rss())
    first_peak = peak
    loaded = sum((answer["collab"] or {}).get("rooms_loaded_total", 0) for answer in status(target, token))
    waited = wait_until_idle(target, token, idle_limit)[1]
    time.sleep(6)  # one more chores tick, for whatever the last unload leaves to return
    after = target.rss()
    memory["after_idle"] = heap_report(target, token)
    objects.append(census(target, token))
    # A second wave: what the first left behind is reused, or it was a leak.
    again, _ = asyncio.run(_cycles(urls, scale.cycles, scale.concurrency))
    sampling.set()
    sampler.join()
    wait_until_idle(target, token, idle_limit)
    time.sleep(6)
    after_again = target.rss()
    memory["after_second_wave"] = heap_report(target, token)
    objects.append(census(target, token))
    failures.update({f"second wave: {key}": count for key, count in again.items()})
    answers = status(target, token)
    collab = [answer["collab"] or {} for answer in answers]
    held = {
        key: sum(entry.get(key, 0) for entry in collab)
        for key in ("rooms", "connections", "channel_groups", "users")
    }
    in_redis = redis_groups(target)
    grown, kept, kept_again = first_peak - before, after - before, after_again - after
    problems = []
    failures = {**{f"warm-up: {key}": count for key, count in warm_failures.items()}, **failures}
    if failures:
        problems.append(f"cycles failed: {failures}")
    if any(held.values()) or in_redis:
        problems.append(f"still held after {waited:.0f} s idle: {held}, Redis groups {in_redis}")
    if kept_again > max(AGAIN_SHARE * max(kept, 0), AGAIN_MIN_MIB * 2**20):
        problems.append(
            f"a second wave kept {mib(kept_again):.1f} MiB more (the first kept {mib(kept):.1f} MiB): a leak"
        )
    return {
        "cycles": scale.cycles,
        "modules": len(rooms),
        "cycles_per_s": scale.cycles / seconds,
        "rooms_loaded": loaded,
        "idle_seconds_until_empty": waited,
        "held_after_idle": held,
        "redis_groups_after_idle": in_redis,
        "rss_before_mb": mib(before),
        "rss_peak_mb": mib(first_peak),
        "rss_after_idle_mb": mib(after),
        "returned_share": (first_peak - after) / grown if grown > 0 else 1.0,
        "rss_after_second_wave_mb": mib(after_again),
        "memory_mb": memory,
        # before, after idle, after the second wave: what is still referenced, by type
        "objects_changed": census_change(*objects),
        "failures": problems,
    }


CHECKS = {"clients": check_clients, "cycles": check_cycles}


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"# Load suite ({results['scale']} scale, {results['date']})",
        "",
        f"`{results['command']}` on {results['machine']['cpus']} cores ({results['machine']['cpu_model']}).",
        "",
    ]
    for check, entries in results["results"].items():
        lines.append(f"## {check}")
        lines.append("")
        keys = [key for key in next(iter(entries.values())) if key not in ("failures", "rss_timeline")]
        lines.append("| | " + " | ".join(entries) + " |")
        lines.append("|---" * (len(entries) + 1) + "|")
        for key in keys:
            cells = []
            for entry in entries.values():
                value = entry.get(key)
                cells.append(f"{value:,.2f}" if isinstance(value, float) else str(value))
            lines.append(f"| {key} | " + " | ".join(cells) + " |")
        lines.append(
            "| failures | "
            + " | ".join("; ".join(entry["failures"]) or "none" for entry in entries.values())
            + " |"
        )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", choices=["full", "ci"], default="full")
    parser.add_argument("--checks", default=",".join(CHECKS))
    parser.add_argument("--processes", default="1,2", help="kb processes: 1 (SQLite), 2 (PostgreSQL + Redis)")
    parser.add_argument("--out", help="path prefix of the result files (default bench/results/load-<scale>)")
    args = parser.parse_args()
    scale = {"full": FULL, "ci": CI}[args.scale]
    results: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "scale": scale.name,
        "machine": machine(),
        "command": " ".join(["python", "-m", "bench.load", *sys.argv[1:]]),
        "results": {},
    }
    failed = []
    for check in [name.strip() for name in args.checks.split(",") if name.strip()]:
        for count in [int(value) for value in args.processes.split(",")]:
            target = Kb(count)
            target.extra = dict(UNLIMITED)
            if check == "cycles":
                # Rooms unload a second after their last socket, so that modules are opened
                # again while they unload, as well as after (the default is 10 s).
                target.extra["KB_ROOM_IDLE_SECONDS"] = "1"
            say(f"{target.name}: {check}")
            target.reset()
            target.start()
            try:
                entry = CHECKS[check](target, scale)
            except Exception as error:
                entry = {"failures": [f"{type(error).__name__}: {error}"]}
            finally:
                target.stop()
            results["results"].setdefault(check, {})[target.name] = entry
            shown = {key: value for key, value in entry.items() if key != "failures"}
            say(f"  {json.dumps(shown, default=float)}")
            for failure in entry["failures"]:
                say(f"  FAILED: {failure}")
                failed.append(f"{check}/{target.name}: {failure}")
    out = Path(args.out) if args.out else RESULTS / f"load-{scale.name}"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1, default=float))
    out.with_suffix(".md").write_text(markdown(results))
    say(f"written: {out}.md")
    if failed:
        sys.exit("load suite failed:\n" + "\n".join(failed))


if __name__ == "__main__":
    main()

"""The soak: the cluster under edits and faults for SOAK_SECONDS (CI: 40; `python -m tests.soak
--minutes 60` for the long run), then the chaos invariants, plus memory of the server processes.

First half: kill -9, SIGTERM (a deploy), Redis outages and PostgreSQL outages in turn, editors
reconnecting (and leaving and coming back, so rooms unload and load). Second half: the same
without restarting processes. Memory: at the middle and at the end every editor leaves until
both processes hold no room and have handed free memory back; each process's resident memory
then, at the end against the middle, must grow less than SOAK_RSS_GROWTH_MB (default 64), and
no room, peer or document may still be referenced at the end (HELD_BY_A_ROOM). Idle,
because a live document only grows: a Yjs document keeps a struct for every insertion ever made
(some 340 bytes each in pycrdt: python -m bench.doc_growth), so the rooms' memory while loaded
grows with the edits typed; that is printed but not bounded. Each process's own account of its
memory (GET /api/collab/status/: C heap in use and kept free, Python blocks, rooms) is sampled a
dozen times and printed, so that growth can be told apart: kept for reuse, or referenced.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
import urllib.request
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model

from bytes_app import services
from collab.memory import census_change
from collab.rooms import TICK_SECONDS
from tests.chaos.harness import Editor, ack_url, verify
from tests.servers import Server

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]

SECONDS = float(os.environ.get("SOAK_SECONDS", "40"))
RSS_GROWTH_MB = float(os.environ.get("SOAK_RSS_GROWTH_MB", "64"))
# With no room loaded, none of these may still be referenced (the status endpoint's census).
HELD_BY_A_ROOM = ("collab.room.Room", "collab.peer.Peer", "pycrdt._doc.Doc")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def status(server: Server, token: str, objects: bool = False) -> dict[str, Any]:
    """GET /api/collab/status/ of that process (OSError when it cannot be reached); `objects`:
    with its count of live objects by type."""
    request = urllib.request.Request(
        f"{server.http}/api/collab/status/{'?objects=1' if objects else ''}",
        headers={"Authorization": f"Token {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def memory_sample(server: Server, token: str) -> str:
    """One line: the process's memory as it accounts for it (MiB), and what it holds."""
    try:
        answer = status(server, token)
    except OSError as error:  # a process being restarted: say so, the run goes on
        return f"pid {server.process.pid}: unreachable ({error})"
    mib = {
        key.removesuffix("_bytes"): round(value / 2**20, 1) if key.endswith("_bytes") else value
        for key, value in answer["memory"].items()
        if value is not None
    }
    return f"pid {answer['pid']}: {mib} {answer['collab']}"


def print_memory(
    samples: list[str], rss_mid: dict[int, float], idle_mid: dict[int, float], cluster: Any, counts: dict
) -> None:
    """What a failed soak knew: faults so far, memory samples, RSS now against the middle."""
    now = {}
    for server in cluster.servers:
        if server.process is not None and server.process.poll() is None:
            now[server.process.pid] = round(rss_mb(server.process.pid))
    print(f"faults {counts}; RSS MiB at the middle {rss_mid} (idle {idle_mid}), now {now}")
    print("memory (MiB) as each process accounted for it:", *samples, sep="\n  ")


async def idle_rss(cluster: Any, editors: list[Editor], token: str) -> dict[int, float]:
    """Every editor leaves; once no process holds a room and each has run its chores (which
    hand free memory back after unloads), each process's RSS. The editors may come back then."""
    for editor in editors:
        await editor.leave(3600)
    deadline = time.monotonic() + 30

    async def rooms(server: Server) -> int:
        return (await asyncio.to_thread(status, server, token))["collab"]["rooms"]

    while any([await rooms(server) for server in cluster.servers]):
        if time.monotonic() > deadline:
            held = [await asyncio.to_thread(status, server, token, True) for server in cluster.servers]
            raise AssertionError(f"rooms still loaded 30 s after every editor left: {held}")
        await asyncio.sleep(0.5)
    await asyncio.sleep(TICK_SECONDS + 1)
    return {server.process.pid: rss_mb(server.process.pid) for server in cluster.servers}


async def census(cluster: Any, token: str) -> dict[int, dict[str, int]]:
    """Each process's live objects by type (kb's, pycrdt's, the connections')."""
    answers = [await asyncio.to_thread(status, server, token, True) for server in cluster.servers]
    return {answer["pid"]: answer["objects"] for answer in answers}


async def test_soak(team, make_cluster, private_redis, pg_proxy, token_of, rng):
    cluster = make_cluster(2)
    token = await sync_to_async(token_of)(team["editor"])
    operator = await sync_to_async(get_user_model().objects.create_user)("operator", is_staff=True)
    staff_token = await sync_to_async(token_of)(operator)
    deploy, byte, checklist = team["deploy"], team["byte"], team["checklist"]
    modules: dict[int, dict[int, str]] = {deploy.pk: {byte.pk: byte.content, checklist.pk: checklist.content}}
    for name in ("Runbooks", "Decisions"):
        module = await sync_to_async(services.module_create)(workspace=team["workspace"], name=name)
        modules[module.pk] = {}
        for title in ("One", "Two"):
            byte = await sync_to_async(services.byte_create)(
                module=module, user=team["owner"], title=title, content=f"{name} {title}: seed."
            )
            modules[module.pk][byte.pk] = byte.content
    editors: dict[int, list[Editor]] = {m: [] for m in modules}
    for number in range(9):
        module_id = list(modules)[number % len(modules)]
        urls = lambda m=module_id: [ack_url(s.ws, m, token) for s in cluster.alive()]  # noqa: E731
        byte_ids = sorted(modules[module_id])
        editors[module_id].append(
            Editor(
                number, urls=urls, byte_ids=byte_ids, rng=random.Random(rng.random()), pace=0.1, deletes=0.4
            )
        )
    everyone = [e for group in editors.values() for e in group]
    stop = asyncio.Event()
    running = [asyncio.ensure_future(e.run(stop)) for e in everyone]
    started = time.monotonic()
    half = started + SECONDS / 2
    counts = {"kill -9": 0, "SIGTERM": 0, "Redis outage": 0, "PostgreSQL outage": 0, "editor left": 0}
    outage = min(3.0, SECONDS / 12)
    faults = ["kill -9", "Redis outage", "SIGTERM", "PostgreSQL outage"]
    rss_mid: dict[int, float] = {}
    idle_mid: dict[int, float] = {}
    objects_mid: dict[int, dict[str, int]] = {}
    samples: list[str] = []
    next_sample = started
    step = 0
    try:
        while time.monotonic() < started + SECONDS:
            await asyncio.sleep(rng.uniform(1.0, 3.0))
            if time.monotonic() >= next_sample:
                next_sample += SECONDS / 12
                at = f"{time.monotonic() - started:5.0f}s"
                for server in cluster.servers:
                    samples.append(f"{at} {await asyncio.to_thread(memory_sample, server, staff_token)}")
            late = time.monotonic() >= half
            if late and not rss_mid:
                rss_mid = {s.process.pid: rss_mb(s.process.pid) for s in cluster.servers}
                idle_mid = await idle_rss(cluster, everyone, staff_token)
                objects_mid = await census(cluster, staff_token)
                for editor in everyone:
                    editor.away_until = 0.0
            fault = faults[step % len(faults)]
            step += 1
            if late and fault in ("kill -9", "SIGTERM"):
                fault = "editor left"
            if fault == "kill -9":
                victim = rng.choice(cluster.servers)
                victim.kill()
                await asyncio.to_thread(victim.start)
            elif fault == "SIGTERM":
                victim = rng.choice(cluster.servers)
                code = await asyncio.to_thread(victim.terminate, 30)
                assert code in (0, -signal.SIGTERM), victim.log(tail=20000)
                await asyncio.to_thread(victim.start)
            elif fault == "Redis outage":
                private_redis.stop()
                await asyncio.sleep(outage)
                private_redis.start()
            elif fault == "PostgreSQL outage":
                pg_proxy.cut()
                await asyncio.sleep(outage)
                pg_proxy.restore()
            else:  # someone closes the tab: its room may unload, and load again when it is back
                # A whole module's editors leave for longer than KB_ROOM_IDLE_SECONDS (2 s here).
                for leaving in editors[rng.choice(list(editors))]:
                    await leaving.leave(3.0)
            counts[fault] += 1
            assert len(cluster.alive()) == 2, cluster.crashed()
    except BaseException:  # stop the editors, or the failure hangs in teardown instead of showing
        stop.set()
        await asyncio.gather(*running, return_exceptions=True)
        print_memory(samples, rss_mid, idle_mid, cluster, counts)
        raise
    stop.set()
    try:
        await asyncio.gather(*running)
        for module_id, originals in modules.items():
            await verify(cluster, editors[module_id], module_id=module_id, originals=originals, token=token)
    except BaseException:  # what memory did up to here says whether a stall was the machine's
        print_memory(samples, rss_mid, idle_mid, cluster, counts)
        raise
    rss_end = {s.process.pid: rss_mb(s.process.pid) for s in cluster.servers}
    for server in cluster.servers:
        samples.append(f"  end {await asyncio.to_thread(memory_sample, server, staff_token)}")
    try:
        idle_end = await idle_rss(cluster, everyone, staff_token)
    except BaseException:  # the invariants held: say what the run did before this failed
        print_memory(samples, rss_mid, idle_mid, cluster, counts)
        raise
    for server in cluster.servers:
        samples.append(f" idle {await asyncio.to_thread(memory_sample, server, staff_token)}")
    print("memory (MiB) as each process accounts for it:", *samples, sep="\n  ")
    objects_end = await census(cluster, staff_token)
    changed = {pid: census_change(objects_mid.get(pid, {}), objects) for pid, objects in objects_end.items()}
    print("live objects idle, middle -> end (types whose count changed):", changed)
    edits = sum(len(e.made) + len(e.deleted) for e in everyone)
    acked = sum(len(e.acked) for e in everyone)

    def middle_to_end(mid: dict[int, float], end: dict[int, float]) -> list[tuple[int, int]]:
        return [(round(mid.get(pid, 0)), round(rss)) for pid, rss in end.items()]

    print(
        f"soak {SECONDS:.0f}s: {counts}, {edits} edits ({acked} insertions acknowledged), "
        f"{sum(e.connections for e in everyone) - len(everyone)} reconnects, RSS MiB middle->end: "
        f"rooms loaded {middle_to_end(rss_mid, rss_end)}, idle {middle_to_end(idle_mid, idle_end)}"
    )
    assert sum(counts.values()) >= 4 and acked > 0
    assert set(idle_end) == set(idle_mid), "a process was restarted in the second half"
    for pid, end in idle_end.items():
        assert end - idle_mid[pid] < RSS_GROWTH_MB, (pid, idle_mid[pid], end)
    for pid, objects in objects_end.items():  # no room loaded: nothing may still hold one
        held = {kind: objects.get(kind, 0) for kind in HELD_BY_A_ROOM}
        assert not any(held.values()), (pid, held)

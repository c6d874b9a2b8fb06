"""Redis stopped for 10 s, then back empty: no process crashes, each keeps serving its own
sockets (edits, acks, REST), and the processes converge within 10 s of Redis returning."""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from asgiref.sync import sync_to_async

from .harness import Editor, ack_url, eventually, pump, rest_content, verify

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 10.0


async def test_redis_outage_degrades_to_local_service_then_converges(
    team, make_cluster, private_redis, token_of, rng
):
    cluster = make_cluster(2)
    first, second = cluster.servers
    module_id = team["deploy"].pk
    originals = {team["byte"].pk: team["byte"].content, team["checklist"].pk: team["checklist"].content}
    byte_ids = sorted(originals)
    token = await sync_to_async(token_of)(team["editor"])
    pinned = {0: first, 1: first, 2: second, 3: second}
    editors = [
        Editor(n, urls=lambda s=server: [ack_url(s.ws, module_id, token)], byte_ids=byte_ids,
               rng=random.Random(rng.random()), pace=0.1)
        for n, server in pinned.items()
    ]  # fmt: skip
    stop = asyncio.Event()
    running = [asyncio.ensure_future(e.run(stop)) for e in editors]
    await asyncio.sleep(1.0)

    private_redis.stop()
    outage_ends = time.monotonic() + OUTAGE_SECONDS
    await asyncio.sleep(OUTAGE_SECONDS / 2)
    assert len(cluster.alive()) == 2, cluster.crashed()
    for server in cluster.servers:  # REST is served too (throttling and cache must not need Redis)
        status, _ = await asyncio.to_thread(rest_content, server, token, byte_ids[0])
        assert status == 200, (server.port, status, server.log())
    # Each process serves its own sockets: with edits paused, editors on the same process agree
    # and every write is acknowledged (the database is up).
    for editor in editors:
        editor.editing = False
    for editor in editors:
        await editor.settle(timeout=10)

    def same_process_agree() -> bool:
        return all(editors[a].text(b) == editors[a + 1].text(b) for a in (0, 2) for b in byte_ids)

    async def local_converged() -> bool:
        await pump(editors)
        return same_process_agree()

    await eventually(local_converged, 5, "editors on the same process diverged during the outage")
    for editor in editors:
        editor.editing = True
    await asyncio.sleep(max(0.0, outage_ends - time.monotonic()))
    assert len(cluster.alive()) == 2, cluster.crashed()

    private_redis.start()  # a fresh, empty Redis: subscriptions and groups are gone
    back = time.monotonic()
    # Both processes subscribe to the room's group again. Without this the heartbeats' gap
    # healing would still make the texts converge below, and hide that no live edit crossed.
    group = f"{first.extra_env['KB_CHANNEL_PREFIX']}__group__kb.room.{module_id}"
    await eventually(
        lambda: private_redis.subscribers(group) == 2, 5, "the processes did not subscribe again"
    )
    await asyncio.sleep(1.0)
    stop.set()
    await asyncio.gather(*running)
    for editor in editors:
        await editor.settle(timeout=10)

    async def all_converged() -> bool:
        await pump(editors)
        texts = [{b: e.text(b) for b in byte_ids} for e in editors]
        return all(t == texts[0] for t in texts)

    await eventually(all_converged, 10 - (time.monotonic() - back), "no convergence within 10 s of Redis")
    print(f"converged {time.monotonic() - back:.1f}s after Redis returned")
    await verify(cluster, editors, module_id=module_id, originals=originals, token=token)
    assert len(cluster.alive()) == 2, cluster.crashed()

    # And live traffic crosses processes again (not only through the healing reload).
    await editors[0].client.type(byte_ids[0], 0, "[e0n99999]")

    async def crossed() -> bool:
        await pump(editors[2:3])
        return editors[2].text(byte_ids[0]).startswith("[e0n99999]")

    await eventually(crossed, 5, "an edit on one process did not reach the other after Redis returned")
    for editor in editors:
        await editor.close()

"""kill -9 of a random server process at a random moment, again and again, while people edit;
and kill -9 while compactions run. Acknowledged edits survive, nothing doubles, and every copy
(editors, each process, the database, REST) ends byte-identical."""

from __future__ import annotations

import asyncio
import os
import random

import pytest
from asgiref.sync import sync_to_async

from collab.models import DocState

from .harness import Editor, ack_url, stored_texts, tokens_in, verify

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]

KILLS = int(os.environ.get("CHAOS_KILLS", "5"))


def editors_for(cluster, module_id: int, byte_ids: list[int], tokens: list[str], rng: random.Random):
    return [
        Editor(
            number,
            urls=lambda t=token: [ack_url(s.ws, module_id, t) for s in cluster.alive()],
            byte_ids=byte_ids,
            rng=random.Random(rng.random()),
        )
        for number, token in enumerate(tokens)
    ]


async def kill_and_restart(cluster, rng: random.Random, kills: int, pause: tuple[float, float]) -> None:
    for _ in range(kills):
        await asyncio.sleep(rng.uniform(*pause))
        victim = rng.choice(cluster.servers)
        victim.kill()
        cluster.kills += 1
        await asyncio.to_thread(victim.start)


async def test_kill_9_at_random_moments_loses_no_acknowledged_edit(team, make_cluster, token_of, rng):
    cluster = make_cluster(2)
    module_id = team["deploy"].pk
    originals = {team["byte"].pk: team["byte"].content, team["checklist"].pk: team["checklist"].content}
    tokens = [await sync_to_async(token_of)(team[r]) for r in ("editor", "owner")] * 3
    editors = editors_for(cluster, module_id, sorted(originals), tokens, rng)
    stop = asyncio.Event()
    running = [asyncio.ensure_future(e.run(stop)) for e in editors]
    await kill_and_restart(cluster, rng, KILLS, (0.3, 2.0))
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.gather(*running)
    await verify(cluster, editors, module_id=module_id, originals=originals, token=tokens[1])
    acked = set().union(*(e.acked for e in editors))
    reconnects = sum(e.connections for e in editors) - len(editors)
    print(f"kills={cluster.kills} edits={sum(len(e.made) for e in editors)} acked={len(acked)} "
          f"reconnects={reconnects}")  # fmt: skip
    assert cluster.kills == KILLS and reconnects >= KILLS // 2 and acked
    for editor in editors:
        await editor.close()


async def test_kill_9_during_compaction_keeps_the_module_loadable(team, make_cluster, token_of, rng):
    # Compact every 3 updates: with editors typing, nearly every kill lands near a compaction.
    cluster = make_cluster(2, env={"KB_COMPACT_EVERY": "3"})
    module_id = team["deploy"].pk
    originals = {team["byte"].pk: team["byte"].content, team["checklist"].pk: team["checklist"].content}
    tokens = [await sync_to_async(token_of)(team[r]) for r in ("editor", "owner")] * 2
    editors = editors_for(cluster, module_id, sorted(originals), tokens, rng)
    stop = asyncio.Event()
    running = [asyncio.ensure_future(e.run(stop)) for e in editors]
    for _ in range(max(3, KILLS // 2)):
        await asyncio.sleep(rng.uniform(0.5, 1.5))
        acked_before = set().union(*(e.acked for e in editors))
        victim = rng.choice(cluster.servers)
        victim.kill()
        cluster.kills += 1
        # Straight after the kill, the stored document loads, holds every acknowledged edit
        # once, and keeps the original content.
        texts = await sync_to_async(stored_texts)(module_id, sorted(originals))
        stored = set().union(*(tokens_in(t) for t in texts.values()))
        assert acked_before <= stored, sorted(acked_before - stored)[:10]
        assert all(n == 1 for t in texts.values() for n in tokens_in(t).values())
        await asyncio.to_thread(victim.start)
    stop.set()
    await asyncio.gather(*running)
    compactions = await sync_to_async(
        lambda: DocState.objects.values_list("compactions", flat=True).get(pk=module_id)
    )()
    assert compactions > 0
    await verify(cluster, editors, module_id=module_id, originals=originals, token=tokens[1])
    for editor in editors:
        await editor.close()

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
from tests.servers import Server

from .harness import (
    TOKEN,
    Editor,
    PgProxy,
    TrackedClient,
    ack_url,
    eventually,
    materialized,
    rest_content,
    stored_texts,
    tokens_in,
    verify,
)

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
        assert all(TOKEN.sub("", texts[b]) == originals[b] for b in originals)
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


async def test_an_acknowledged_edit_resting_on_another_process_uncommitted_edit(
    team, make_cluster, private_redis, postgres, token_of
):
    from django.db import connection

    settings = connection.settings_dict
    own = PgProxy(settings.get("HOST") or "127.0.0.1", int(settings.get("PORT") or 5432))
    second = make_cluster(1).servers[0]
    base = second.extra_env["DATABASE_URL"]  # postgresql://user@127.0.0.1:<proxy>/<db>
    url = f"{base.rsplit('@', 1)[0]}@127.0.0.1:{own.port}/{base.rsplit('/', 1)[1]}"
    first = Server(redis_url=private_redis.url, env={**second.extra_env, "DATABASE_URL": url}).start()
    try:
        module_id, byte_id = team["deploy"].pk, team["byte"].pk
        token = await sync_to_async(token_of)(team["editor"])
        on_first, on_second = (TrackedClient(ack_url(s.ws, module_id, token)) for s in (first, second))
        for client in (on_first, on_second):
            await client.connect()
            await client.sync()
        own.cut()  # the first process cannot commit; it still broadcasts
        await on_first.type(byte_id, 0, "[e1n1]")
        await on_second.until(lambda: str(on_second.text(byte_id)).startswith("[e1n1]"))
        await on_second.type(byte_id, len("[e1n1]"), "[e2n1]")  # right after the uncommitted edit
        await on_second.until(lambda: on_second.saved >= len(on_second.frames), timeout=10)
        first.kill()
        texts = await sync_to_async(stored_texts)(module_id, [byte_id])
        assert "[e2n1]" in texts[byte_id], texts  # acknowledged, so it must be there
    finally:
        first.kill()
        own.close()


async def test_kill_9_before_the_text_is_stored_then_rest_catches_up(team, make_cluster, token_of):
    # The materializer would store the text a minute later: the kill comes first, every editor
    # is gone, and nobody opens the module again. The restarted process stores it at start-up.
    server = make_cluster(1, env={"KB_MATERIALIZE_MS": "60000", "LOG_LEVEL": "INFO"}).servers[0]
    module_id, byte_id = team["deploy"].pk, team["byte"].pk
    token = await sync_to_async(token_of)(team["editor"])
    client = TrackedClient(ack_url(server.ws, module_id, token))
    await client.connect()
    await client.sync()
    await client.type(byte_id, 0, "[e1n1]")
    await client.until(lambda: client.saved >= len(client.frames), timeout=10)  # acknowledged
    server.kill()
    await client.close()
    expected = str(client.text(byte_id))
    assert (await sync_to_async(materialized)(module_id))[byte_id] != expected  # not stored yet

    await asyncio.to_thread(server.start)

    async def caught_up() -> bool:
        return await asyncio.to_thread(rest_content, server, token, byte_id) == (200, expected)

    await eventually(caught_up, 15, "REST content did not catch up with the acknowledged edit")
    assert "caught up: 1 byte contents" in server.log()

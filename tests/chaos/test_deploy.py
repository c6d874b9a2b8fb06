"""A deploy (SIGTERM) under load, and a crowd opening a never-opened module on both processes."""

from __future__ import annotations

import asyncio
import random
import signal

import pytest
from asgiref.sync import sync_to_async

from bytes_app import services
from collab.models import DocState, DocUpdate

from .harness import Editor, TrackedClient, ack_url, eventually, stored_texts, tokens_in, verify

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]


async def test_sigterm_under_load_flushes_pending_writes_and_clients_move_on(
    team, make_cluster, pg_proxy, token_of, rng
):
    cluster = make_cluster(2)
    leaving, staying = cluster.servers
    module_id = team["deploy"].pk
    originals = {team["byte"].pk: team["byte"].content, team["checklist"].pk: team["checklist"].content}
    byte_ids = sorted(originals)
    token = await sync_to_async(token_of)(team["editor"])
    target = [leaving]  # where editors (re)connect: nowhere while the old process shuts down
    editors = [
        Editor(n, urls=lambda: [ack_url(s.ws, module_id, token) for s in target], byte_ids=byte_ids,
               rng=random.Random(rng.random()), pace=0.02)
        for n in range(6)
    ]  # fmt: skip
    stop = asyncio.Event()
    running = [asyncio.ensure_future(e.run(stop)) for e in editors]
    await eventually(lambda: all(e.client for e in editors), 20, "editors did not connect")
    pg_proxy.delay = 0.03  # a slow database: commits lag behind the edits, so some are pending
    await asyncio.sleep(2.0)

    target.clear()
    code = await asyncio.to_thread(leaving.terminate, 30)
    assert code in (0, -signal.SIGTERM), leaving.log()  # uvicorn re-raises the signal once done
    # Everything the old process had applied (it sent it to the editors) is stored.
    applied = set().union(*(e.seen for e in editors))
    texts = await sync_to_async(stored_texts)(module_id, byte_ids)
    stored = set().union(*(tokens_in(t) for t in texts.values()))
    missing = applied - stored
    assert not missing, f"{len(missing)} applied edits were not flushed: {sorted(missing)[:10]}"
    assert all(n == 1 for t in texts.values() for n in tokens_in(t).values())
    assert all(e.close_codes[1012] >= 1 for e in editors), [dict(e.close_codes) for e in editors]

    pg_proxy.delay = 0.0
    target.append(staying)
    await asyncio.sleep(1.0)
    stop.set()
    await asyncio.gather(*running)
    await verify(cluster, editors, module_id=module_id, originals=originals, token=token)
    print(f"applied before SIGTERM: {len(applied)}, edits: {sum(len(e.made) for e in editors)}")
    for editor in editors:
        await editor.close()


async def test_twenty_clients_opening_a_new_module_on_both_processes_import_it_once(
    team, make_cluster, token_of
):
    cluster = make_cluster(2)
    module = await sync_to_async(services.module_create)(workspace=team["workspace"], name="Crowded")
    contents = {"Runbook": "Step one.\nStep two: ünïcode 😀.", "Empty": "", "Notes": "x" * 3000}
    byte_ids = {}
    for title, content in contents.items():
        byte = await sync_to_async(services.byte_create)(
            module=module, user=team["owner"], title=title, content=content
        )
        byte_ids[byte.pk] = content

    def forget_the_document() -> None:
        # As for content written before live editing existed: bytes, but no document yet.
        DocUpdate.objects.filter(module_id=module.pk).delete()
        DocState.objects.filter(pk=module.pk).delete()

    await sync_to_async(forget_the_document)()
    token = await sync_to_async(token_of)(team["editor"])
    clients = [TrackedClient(ack_url(cluster.servers[n % 2].ws, module.pk, token)) for n in range(20)]

    async def open_one(client: TrackedClient) -> None:
        await client.connect()
        await client.sync()

    await asyncio.gather(*(open_one(c) for c in clients))
    for client in clients:
        assert {b: str(client.text(b)) for b in byte_ids} == byte_ids
        assert sorted(int(k) for k in client.index()) == sorted(byte_ids)
    assert await sync_to_async(stored_texts)(module.pk, list(byte_ids)) == byte_ids
    assert await sync_to_async(DocState.objects.filter(pk=module.pk).count)() == 1
    # And they edit together across both processes from there.
    first = min(byte_ids)
    await clients[0].type(first, 0, "[e0n0]")
    await clients[1].type(first, 0, "[e1n0]")

    async def everyone_has_both() -> bool:
        for client in clients:
            await client._next(0.01)
            client.drain()
            await client.flush()
        return all(sorted(tokens_in(str(c.text(first)))) == ["[e0n0]", "[e1n0]"] for c in clients)

    await eventually(everyone_has_both, 10, "edits did not reach all twenty clients")
    texts = {str(c.text(first)) for c in clients}
    assert len(texts) == 1
    await asyncio.gather(*(c.close() for c in clients))

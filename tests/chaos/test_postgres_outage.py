"""PostgreSQL unreachable for the servers (the proxy between them and it is cut): nothing is
acknowledged while it is down, nothing blank is stored or served, a module first opened during
the outage is refused (4503), and every pending edit is committed once it is back."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time

import pytest
import websockets
from asgiref.sync import sync_to_async

from bytes_app import services
from bytes_app.models import Revision
from collab.models import DocState

from .harness import Editor, TrackedClient, ack_url, eventually, rest_content, stored_texts, verify

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 6.0


async def test_postgres_outage_acknowledges_nothing_serves_nothing_blank_and_loses_nothing(
    team, make_cluster, pg_proxy, token_of, rng
):
    cluster = make_cluster(2)
    module_id = team["deploy"].pk
    originals = {team["byte"].pk: team["byte"].content, team["checklist"].pk: team["checklist"].content}
    byte_ids = sorted(originals)
    fresh = await sync_to_async(services.module_create)(workspace=team["workspace"], name="Fresh")
    fresh_byte = await sync_to_async(services.byte_create)(
        module=fresh, user=team["owner"], title="Never opened", content="imported once, never blank"
    )
    token = await sync_to_async(token_of)(team["editor"])
    editors = [
        Editor(n, urls=lambda: [ack_url(s.ws, module_id, token) for s in cluster.alive()],
               byte_ids=byte_ids, rng=random.Random(rng.random()), pace=0.05)
        for n in range(4)
    ]  # fmt: skip
    stop = asyncio.Event()
    running = [asyncio.ensure_future(e.run(stop)) for e in editors]
    await asyncio.sleep(1.5)

    pg_proxy.cut()
    cut_at = time.monotonic()
    await asyncio.sleep(OUTAGE_SECONDS / 2)
    # A module nobody has opened yet cannot be loaded: refused with 4503, never served empty.
    for server in cluster.servers:
        newcomer = TrackedClient(ack_url(server.ws, fresh.pk, token))
        with contextlib.suppress(websockets.ConnectionClosed):  # refused before our first frame
            await newcomer.connect()
        assert await newcomer.until_closed(timeout=10) == 4503, newcomer.close_reason
        assert not newcomer.synced and not str(newcomer.text(fresh_byte.pk))
        await newcomer.close()
    # REST answers a retryable 503: never a blank byte, nor a 500.
    for server in cluster.servers:
        status, content = await asyncio.to_thread(rest_content, server, token, byte_ids[0])
        assert status == 503, (status, content)
    await asyncio.sleep(max(0.0, cut_at + OUTAGE_SECONDS - time.monotonic()))
    restored_at = time.monotonic()
    pg_proxy.restore()
    assert len(cluster.alive()) == 2, cluster.crashed()

    await asyncio.sleep(1.0)
    stop.set()
    await asyncio.gather(*running)
    # No ack received during the outage covers a write sent after the database went away.
    for editor in editors:
        for client in editor.clients:
            for received_at, count in client.acks:
                if cut_at < received_at < restored_at and count:
                    assert client.frame_times[count - 1] < cut_at, (editor.number, count)
    outage_edits = sum(1 for e in editors for c in e.clients for t in c.frame_times if t > cut_at)
    assert outage_edits > 0
    await verify(cluster, editors, module_id=module_id, originals=originals, token=token)

    blank = await sync_to_async(
        lambda: Revision.objects.filter(byte_id__in=[*byte_ids, fresh_byte.pk], content="").count()
    )()
    assert blank == 0
    # The refused module opens now, with its content imported exactly once.
    reader = TrackedClient(ack_url(cluster.servers[0].ws, fresh.pk, token))
    await reader.connect()
    await reader.sync()
    assert str(reader.text(fresh_byte.pk)) == "imported once, never blank"
    await reader.close()
    assert await sync_to_async(stored_texts)(fresh.pk, [fresh_byte.pk]) == {
        fresh_byte.pk: "imported once, never blank"
    }
    assert await sync_to_async(DocState.objects.filter(pk=fresh.pk).count)() == 1
    for editor in editors:
        await editor.close()


async def test_an_edit_committed_after_the_outage_reaches_a_process_that_loaded_the_room_meanwhile(
    team, make_cluster, pg_proxy, token_of
):
    # The edit is broadcast at once (ahead of its commit) but the second process has no room for
    # the module yet; it loads the room as soon as the database is back, before the first
    # process's committer (backing off) has stored the edit. Then the commit lands.
    first, second = make_cluster(2).servers
    module_id, byte_id = team["deploy"].pk, team["byte"].pk
    token = await sync_to_async(token_of)(team["editor"])
    writer = TrackedClient(ack_url(first.ws, module_id, token))
    await writer.connect()
    await writer.sync()
    pg_proxy.cut()
    await writer.type(byte_id, 0, "[e1n1]")
    await asyncio.sleep(4.0)  # the committer's retry delay grows to its 2 s maximum
    pg_proxy.restore()
    reader = TrackedClient(ack_url(second.ws, module_id, token))
    await reader.connect()
    await reader.sync()
    loaded_without_it = not str(reader.text(byte_id)).startswith("[e1n1]")
    await writer.until(lambda: writer.saved >= len(writer.frames), timeout=10)
    await reader.until(lambda: str(reader.text(byte_id)).startswith("[e1n1]"), timeout=10)
    print(f"the second process loaded the room without the edit: {loaded_without_it}")
    for client in (writer, reader):
        await client.close()


async def test_sigterm_while_postgres_is_down_exits_in_bounded_time_and_loses_no_acknowledged_edit(
    team, make_cluster, pg_proxy, token_of
):
    """A deploy during an outage: the pending writes cannot be stored, so the process gives up
    after KB_SHUTDOWN_SECONDS instead of hanging (a stuck database thread would otherwise hold
    the interpreter's exit), and what it had acknowledged is all there afterwards."""
    cluster = make_cluster(1, env={"KB_SHUTDOWN_SECONDS": "2"})
    server, byte_id = cluster.servers[0], team["byte"].pk
    token = await sync_to_async(token_of)(team["editor"])
    client = TrackedClient(ack_url(server.ws, team["deploy"].pk, token))
    await client.connect()
    await client.sync()
    for number in range(5):
        await client.type(byte_id, 0, f"<kept {number}>")
    await client.until(lambda: client.saved == client.sent_writes, timeout=10)
    acknowledged = str(client.text(byte_id))
    pg_proxy.cut()
    await client.type(byte_id, 0, "<never acknowledged>")
    await asyncio.sleep(0.5)
    assert client.saved < client.sent_writes
    began = time.monotonic()
    code = await asyncio.to_thread(server.terminate, 30)
    took = time.monotonic() - began
    assert code == 1 and "shutdown not done after 2 s" in server.log(), (code, server.log()[-3000:])
    assert took < 25, took  # uvicorn's 15 s for the sockets at most, then 2 s
    pg_proxy.restore()
    await client.close()
    server.start()
    fresh = TrackedClient(ack_url(server.ws, team["deploy"].pk, token))
    await fresh.connect()
    await fresh.sync()
    text = str(fresh.text(byte_id))
    assert all(text.count(f"<kept {n}>") == 1 for n in range(5)), text
    assert acknowledged.replace("<never acknowledged>", "") in text.replace("<never acknowledged>", "")

    async def rest_caught_up() -> bool:  # the room, loaded again, stores the text it has
        return await asyncio.to_thread(rest_content, server, token, byte_id) == (200, text)

    await eventually(rest_caught_up, 10, "REST serves what the room holds")
    await fresh.close()

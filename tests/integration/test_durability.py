"""Persistence first: an acknowledged edit survives kill -9 of the server process."""

from __future__ import annotations

import asyncio
import signal
import tracemalloc

import pytest
from asgiref.sync import sync_to_async
from pycrdt import Doc, Text

from kb.diagnostics import snapshot_path
from tests.collab.client import WsClient
from tests.servers import Server

pytestmark = pytest.mark.django_db(transaction=True)


async def test_acknowledged_edits_survive_kill_9(team, server, token_of):
    module_id, byte_id = team["deploy"].pk, team["byte"].pk
    token = await sync_to_async(token_of)(team["editor"])
    client = WsClient(f"{server.ws}/ws/modules/{module_id}/?token={token}&ack=1")
    await client.connect()
    await client.sync()
    for number in range(50):
        await client.type(byte_id, 0, f"<{number}>")
    await client.until(lambda: client.saved == client.sent_writes, timeout=10)
    acked_text = str(client.text(byte_id))
    server.kill()
    await client.until_closed()
    server.start()
    fresh = WsClient(f"{server.ws}/ws/modules/{module_id}/?token={token}")
    await fresh.connect()
    await fresh.sync()
    assert str(fresh.text(byte_id)) == acked_text
    await fresh.close()


async def test_reconnecting_client_with_offline_edits_merges_without_doubling(team, server, token_of):
    module_id, byte_id = team["deploy"].pk, team["byte"].pk
    token = await sync_to_async(token_of)(team["editor"])
    first = WsClient(f"{server.ws}/ws/modules/{module_id}/?token={token}&ack=1")
    await first.connect()
    await first.sync()
    await first.type(byte_id, 0, "online ")
    await first.until(lambda: first.saved == first.sent_writes)
    server.kill()  # the client goes on editing while the server is down
    await first.until_closed()
    offline: Doc = Doc()
    offline.apply_update(first.doc.get_update())
    text = offline.get(f"byte:{byte_id}", type=Text)
    text.insert(len(str(text).encode()), " [offline]")
    server.start()
    again = WsClient(f"{server.ws}/ws/modules/{module_id}/?token={token}&ack=1", doc=offline)
    await again.connect()
    await again.sync()
    await again.until(lambda: again.saved == again.sent_writes)
    check = WsClient(f"{server.ws}/ws/modules/{module_id}/?token={token}")
    await check.connect()
    await check.sync()
    expected = "online " + team["byte"].content + " [offline]"
    assert str(check.text(byte_id)) == expected
    assert str(again.text(byte_id)) == expected
    for client in (again, check):
        await client.close()
    await asyncio.sleep(0)


async def test_sigusr1_writes_threads_and_tasks_to_the_log_and_the_server_goes_on(team, server, token_of):
    token = await sync_to_async(token_of)(team["editor"])
    url = f"{server.ws}/ws/modules/{team['deploy'].pk}/?token={token}"
    client = WsClient(url)
    await client.connect()
    await client.sync()
    server.process.send_signal(signal.SIGUSR1)
    for _ in range(100):
        if "SIGUSR1: end of dump" in server.log():
            break
        await asyncio.sleep(0.05)
    log = server.log(tail=None)
    assert server.process.poll() is None, log[-3000:]
    threads, tasks = log.split("SIGUSR1: the threads")[1].split("asyncio tasks")
    assert "most recent call first" in threads and "in _worker" in threads, log[-3000:]
    assert "<Task pending" in tasks and "SIGUSR1: end of dump" in tasks, log[-3000:]
    await client.type(team["byte"].pk, 0, "still here ")
    other = WsClient(url)
    await other.connect()
    await other.sync()
    await other.until(lambda: str(other.text(team["byte"].pk)).startswith("still here "))
    await client.close()
    await other.close()


async def test_sigusr2_writes_a_tracemalloc_snapshot_when_tracing(team, token_of):
    """For `python -m bench.idle_memory`: a server started with PYTHONTRACEMALLOC dumps its
    traced allocations on SIGUSR2 and goes on."""
    with Server(env={"PYTHONTRACEMALLOC": "1"}) as traced:
        path = snapshot_path(traced.process.pid, 1)
        traced.process.send_signal(signal.SIGUSR2)
        for _ in range(200):
            if path.exists():
                break
            await asyncio.sleep(0.05)
        assert path.exists(), traced.log()
        try:
            snapshot = tracemalloc.Snapshot.load(str(path))
        finally:
            path.unlink()
        assert snapshot.statistics("filename"), "an empty snapshot"
        assert f"SIGUSR2: tracemalloc snapshot in {path}" in traced.log(tail=None)
        token = await sync_to_async(token_of)(team["editor"])
        client = WsClient(f"{traced.ws}/ws/modules/{team['deploy'].pk}/?token={token}")
        await client.connect()
        await client.sync()
        await client.close()
        assert traced.process.poll() is None

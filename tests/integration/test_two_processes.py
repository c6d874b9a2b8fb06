"""Two server processes with real Redis: edits and presence cross processes, fan-out costs one
publish per update (not per receiving socket), and revocation reaches sockets on the other one."""

from __future__ import annotations

import asyncio
import json
import urllib.request

import pytest
import redis
from asgiref.sync import sync_to_async

from tests.collab.client import WsClient

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(server, module_id: int, token: str) -> WsClient:
    client = WsClient(f"{server.ws}/ws/modules/{module_id}/?token={token}")
    await client.connect()
    await client.sync()
    return client


async def test_edits_and_presence_cross_processes(team, cluster, token_of):
    first, second = cluster
    module_id, byte_id = team["deploy"].pk, team["byte"].pk
    editor, owner = (
        await sync_to_async(token_of)(team["editor"]),
        await sync_to_async(token_of)(team["owner"]),
    )
    a = await connect(first, module_id, editor)
    b = await connect(second, module_id, owner)
    await a.type(byte_id, 0, "from A ")
    await b.until(lambda: str(b.text(byte_id)).startswith("from A "))
    await b.type(byte_id, 0, "from B ")
    await a.until(lambda: str(a.text(byte_id)).startswith("from B from A "))
    await a.set_presence(1, {"byte": byte_id})
    await b.until(lambda: a.doc.client_id in b.presence)
    assert b.presence[a.doc.client_id]["user"]["name"] == "eddie"
    await a.close()
    await b.until(lambda: a.doc.client_id not in b.presence)
    await b.close()


async def test_fan_out_is_one_publish_per_update_not_per_socket(team, cluster, token_of, redis_url):
    first, second = cluster
    module_id, byte_id = team["deploy"].pk, team["byte"].pk
    editor, owner = (
        await sync_to_async(token_of)(team["editor"]),
        await sync_to_async(token_of)(team["owner"]),
    )
    writer = await connect(first, module_id, editor)
    readers = [await connect(second, module_id, owner) for _ in range(10)]
    stats = redis.Redis.from_url(redis_url)

    def publishes() -> int:
        return int(stats.info("commandstats").get("cmdstat_publish", {}).get("calls", 0))

    before = publishes()
    for number in range(20):
        await writer.type(byte_id, 0, f"{number % 10}")
        await asyncio.sleep(0.01)
    for reader in readers:
        await reader.until(
            lambda reader=reader: len(str(reader.text(byte_id))) == len(str(writer.text(byte_id)))
        )
    used = publishes() - before
    # 20 updates reach 10 sockets of the other process: 200 deliveries. At most one publish per
    # update (fewer when they batch), plus the two processes' own housekeeping.
    assert used <= 20 + 4, used
    for client in (writer, *readers):
        await client.close()


def api(server, token: str, method: str, path: str, body: dict | None = None) -> int:
    request = urllib.request.Request(
        f"{server.http}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


async def test_revocation_closes_sockets_on_the_other_process(team, cluster, token_of):
    first, second = cluster
    editor, owner = (
        await sync_to_async(token_of)(team["editor"]),
        await sync_to_async(token_of)(team["owner"]),
    )
    client = await connect(second, team["deploy"].pk, editor)
    path = f"/api/workspaces/{team['workspace'].pk}/members/eddie/"
    assert await sync_to_async(api)(first, owner, "DELETE", path) == 204
    started = asyncio.get_running_loop().time()
    assert await client.until_closed(timeout=3) == 4403
    assert asyncio.get_running_loop().time() - started < 2.0


async def test_rest_write_on_one_process_reaches_sockets_on_the_other(team, cluster, token_of):
    first, second = cluster
    byte_id = team["byte"].pk
    editor, owner = (
        await sync_to_async(token_of)(team["editor"]),
        await sync_to_async(token_of)(team["owner"]),
    )
    client = await connect(second, team["deploy"].pk, editor)
    status = await sync_to_async(api)(
        first, owner, "PATCH", f"/api/bytes/{byte_id}/", {"content": "via REST"}
    )
    assert status == 200
    await client.until(lambda: str(client.text(byte_id)) == "via REST")
    await client.close()

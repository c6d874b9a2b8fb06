"""Stock Yjs clients (Node: yjs + y-websocket + ws) and pycrdt clients edit the same byte on a
live kb server, concurrently; all converge, and REST then serves the same text."""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import urllib.request
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async

from tests.collab.client import WsClient
from tests.conftest import require_service
from tests.servers import Server

HERE = Path(__file__).parent
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def node():
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "y-websocket").is_dir():
        require_service("node + tests/interop/node_modules", "`./dev test` runs npm ci in tests/interop")
    return node


@pytest.fixture
def server(transactional_db):
    with Server() as running:
        yield running


class NodeClient:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(
        cls, node: str, server: Server, module_id: int, token: str, byte_id: int, edits: int, seed: int
    ):
        args = [f"{server.ws}/ws/modules", str(module_id), token, str(byte_id), str(edits), str(seed)]
        process = await asyncio.create_subprocess_exec(
            node,
            str(HERE / "yjs_client.mjs"),
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def read(self) -> dict:
        line = await asyncio.wait_for(self.process.stdout.readline(), 20)
        if not line:
            raise AssertionError(f"node client exited: {(await self.process.stderr.read()).decode()[-2000:]}")
        return json.loads(line)

    async def text(self) -> str:
        self.process.stdin.write(b"text\n")
        await self.process.stdin.drain()
        return (await self.read())["text"]

    async def quit(self) -> None:
        if self.process.returncode is None:
            self.process.stdin.write(b"quit\n")
            await self.process.stdin.drain()
            await asyncio.wait_for(self.process.wait(), 10)


async def random_edits(client: WsClient, byte_id: int, count: int, seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(count):
        current = str(client.text(byte_id))
        if current and rng.random() < 0.35:
            at = rng.randrange(len(current))
            await client.erase(byte_id, at, min(len(current) - at, rng.randint(1, 3)))
        else:
            await client.type(byte_id, rng.randint(0, len(current)), rng.choice("klmnop QRS\nü☃"))
        if rng.random() < 0.2:
            await client.pump(0.001)


def rest_content(server: Server, token: str, byte_id: int) -> str:
    request = urllib.request.Request(
        f"{server.http}/api/bytes/{byte_id}/", headers={"Authorization": f"Token {token}"}
    )
    return json.loads(urllib.request.urlopen(request, timeout=5).read())["content"]


async def converged(node_clients: list[NodeClient], py_clients: list[WsClient], byte_id: int) -> str:
    for _ in range(100):
        for client in py_clients:
            await client.pump(0.02)
        texts = [str(client.text(byte_id)) for client in py_clients]
        texts += [await client.text() for client in node_clients]
        if len(set(texts)) == 1:
            return texts[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"did not converge: {[t[:80] for t in texts]}")


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_node_and_pycrdt_clients_converge_and_rest_agrees(team, server, node, token_of, seed):
    module_id, byte_id = team["deploy"].pk, team["byte"].pk
    editor_token = await sync_to_async(token_of)(team["editor"])
    owner_token = await sync_to_async(token_of)(team["owner"])
    original = team["byte"].content
    node_client = await NodeClient.start(node, server, module_id, editor_token, byte_id, 200, seed)
    assert (await node_client.read())["text"] == original, "the stock client sees the stored content"
    py = WsClient(f"{server.ws}/ws/modules/{module_id}/?token={owner_token}")
    await py.connect()
    await py.sync()
    await asyncio.gather(random_edits(py, byte_id, 200, seed), node_client.read())
    final = await converged([node_client], [py], byte_id)
    assert final != original
    for _ in range(50):
        if await sync_to_async(rest_content)(server, owner_token, byte_id) == final:
            break
        await asyncio.sleep(0.1)
    assert await sync_to_async(rest_content)(server, owner_token, byte_id) == final
    await node_client.quit()
    await py.close()


async def test_stock_client_is_stopped_by_a_refusal(team, server, node, token_of):
    """A 44xx close makes y-websocket 3.1 stop reconnecting (no retry storm from a stranger)."""
    stranger_token = await sync_to_async(token_of)(team["outsider"])
    client = await NodeClient.start(node, server, team["deploy"].pk, stranger_token, team["byte"].pk, 0, 1)
    message = await client.read()
    assert message == {"closed": 4403, "reason": "permission denied"}
    client.process.kill()
    await client.process.wait()

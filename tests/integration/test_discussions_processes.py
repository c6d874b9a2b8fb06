"""Discussions across two server processes with real Redis: live delivery, catch-up after a
disconnect (no gap, no duplicate), inbox and presence."""

from __future__ import annotations

import asyncio
import json
import urllib.request

import pytest
import websockets
from asgiref.sync import sync_to_async

pytestmark = pytest.mark.django_db(transaction=True)


def post(server, token: str, path: str, body: str, client_id: str) -> dict:
    request = urllib.request.Request(
        f"{server.http}{path}",
        method="POST",
        data=json.dumps({"body": body, "client_id": client_id}).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


class Live:
    def __init__(self, server, token: str) -> None:
        self.url = f"{server.ws}/ws/discuss/?token={token}"

    async def __aenter__(self) -> Live:
        self.ws = await websockets.connect(self.url)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()

    async def send(self, **message) -> None:
        await self.ws.send(json.dumps(message))

    async def next(self, type_: str, timeout: float = 5.0, **match) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                message = json.loads(await self.ws.recv())
                if message["type"] == type_ and all(message.get(k) == v for k, v in match.items()):
                    return message


async def test_chat_crosses_processes_and_a_reconnect_catches_up_exactly(team, cluster, token_of):
    first, second = cluster
    module = team["deploy"].pk
    chat = f"/api/modules/{module}/chat/"
    olive, eddie = await sync_to_async(lambda: [token_of(team[r]) for r in ("owner", "editor")])()
    say = sync_to_async(post)

    async with Live(second, eddie) as listener:
        await listener.send(type="subscribe", module=module, since=0)
        await listener.next("subscribed")
        await say(first, olive, chat, "hello from the first process", "m1")
        live = await listener.next("event")
        assert (live["seq"], live["comment"]["body"]) == (1, "hello from the first process")
    held = live["seq"]

    # Offline meanwhile: three messages stored on the first process.
    for n in range(2, 5):
        await say(first, olive, chat, f"missed {n}", f"m{n}")
    await say(first, olive, chat, "missed 2", "m2")  # a retried send: no new message

    async with Live(second, eddie) as listener:
        await listener.send(type="subscribe", module=module, since=held)
        caught = [await listener.next("event") for _ in range(3)]
        assert [(e["seq"], e["comment"]["body"]) for e in caught] == [
            (2, "missed 2"),
            (3, "missed 3"),
            (4, "missed 4"),
        ]
        assert (await listener.next("subscribed"))["last_seq"] == 4
        await say(first, olive, chat, "and live again", "m5")
        assert (await listener.next("event"))["seq"] == 5


async def test_inbox_and_presence_cross_processes(team, cluster, token_of):
    first, second = cluster
    olive, eddie = await sync_to_async(lambda: [token_of(team[r]) for r in ("owner", "editor")])()
    async with Live(second, eddie) as eddies, Live(first, olive) as olives:
        seen = await eddies.next("presence", state="online")
        assert seen["user"]["username"] == "olive"
        await sync_to_async(post)(first, olive, f"/api/bytes/{team['byte'].pk}/threads/", "@eddie look", "t1")
        inbox = await eddies.next("inbox")
        assert inbox["unread"] == 1 and inbox["item"]["excerpt"] == "@eddie look"
        await olives.ws.close()
        assert (await eddies.next("presence", state="offline"))["user"]["username"] == "olive"

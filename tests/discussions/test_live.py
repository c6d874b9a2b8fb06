"""The live channel (/ws/discuss/) over real WebSocket connections to the ASGI application."""

from __future__ import annotations

import asyncio
import json

import pytest
from channels.testing import WebsocketCommunicator

from bytes_app import services as byte_services
from discussions import consumers
from kb.asgi import application
from tests.collab.conftest import db_call

pytestmark = pytest.mark.django_db(transaction=True)


class Socket:
    def __init__(self, token: str | None) -> None:
        path = "/ws/discuss/" + (f"?token={token}" if token else "")
        self.ws = WebsocketCommunicator(application, path)
        self.seen: list[dict] = []

    async def open(self) -> Socket:
        connected, _ = await self.ws.connect()
        assert connected
        return self

    async def send(self, **message) -> None:
        await self.ws.send_to(text_data=json.dumps(message))

    async def next(self, type_: str, timeout: float = 3.0, **match) -> dict:
        """The next message of that type (and those fields); others are kept in `seen`."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            assert left > 0, f"no {type_} {match} within {timeout}s; saw {self.seen}"
            raw = await self.ws.receive_output(left)
            if raw["type"] == "websocket.close":
                raise AssertionError(f"closed {raw} while waiting for {type_}")
            message = json.loads(raw["text"])
            self.seen.append(message)
            if message["type"] == type_ and all(message.get(k) == v for k, v in match.items()):
                return message

    async def closed(self) -> dict:
        while True:
            raw = await self.ws.receive_output(3)
            if raw["type"] == "websocket.close":
                return raw

    async def quiet(self, kind: str, seconds: float = 0.3) -> None:
        """No message of that type arrives for a while (receive_output's timeout would cancel
        the application, hence receive_nothing)."""
        while not await self.ws.receive_nothing(seconds):
            raw = await self.ws.receive_output()
            if raw["type"] == "websocket.send":
                assert json.loads(raw["text"])["type"] != kind, raw


@pytest.fixture
def tokens(team, token_of):
    return {role: token_of(team[role]) for role in ("owner", "editor", "viewer", "outsider")}


@pytest.fixture
def say(client_for):
    """`await say(user, url, body)`: a REST POST of a message, from the test's event loop."""

    def post(user, url, body):
        answer = client_for(user).post(url, {"body": body}, format="json")
        assert answer.status_code in (200, 201), answer.content
        return answer.json()

    return db_call(post)


async def test_subscribe_replays_what_was_missed_then_delivers_live_once(team, tokens, say):
    url = f"/api/bytes/{team['byte'].pk}/threads/"
    first = await say(team["owner"], url, "one")
    await say(team["owner"], f"/api/threads/{first['id']}/comments/", "two")
    eddie = await Socket(tokens["editor"]).open()
    await eddie.send(type="subscribe", byte=team["byte"].pk, since=1)  # holds seq 1 already
    replayed = await eddie.next("event")
    assert (replayed["seq"], replayed["kind"], replayed["conversation"]) == (
        2,
        "comment.created",
        f"byte:{team['byte'].pk}",
    )
    assert [c["body"] for c in replayed["thread"]["comments"]] == ["one", "two"]
    assert (await eddie.next("subscribed"))["last_seq"] == 2
    await say(team["owner"], f"/api/threads/{first['id']}/comments/", "three")
    live = await eddie.next("event")
    assert live["seq"] == 3 and live["thread"]["comments"][-1]["body"] == "three"
    await eddie.quiet("event")
    # Subscribing again from an older number replays, in order, without anything new.
    await eddie.send(type="subscribe", byte=team["byte"].pk, since=0)
    assert [(await eddie.next("event"))["seq"] for _ in range(3)] == [1, 2, 3]
    await eddie.ws.disconnect()


async def test_chat_typing_and_inbox_are_live(team, tokens, say):
    module = team["deploy"].pk
    eddie = await Socket(tokens["editor"]).open()
    olive = await Socket(tokens["owner"]).open()
    for socket in (eddie, olive):
        await socket.send(type="subscribe", module=module, since=0)
        await socket.next("subscribed", conversation=f"module:{module}")
    await olive.send(type="typing", module=module)
    typing = await eddie.next("typing")
    assert typing["user"]["username"] == "olive" and typing["conversation"] == f"module:{module}"
    await olive.quiet("typing")  # not echoed to the one typing
    await say(team["owner"], f"/api/modules/{module}/chat/", "@eddie standup?")
    message = await eddie.next("event", kind="chat.created")
    assert message["comment"]["body"] == "@eddie standup?"
    inbox = await eddie.next("inbox")
    assert inbox["unread"] == 1 and inbox["item"]["reason"] == "mention"
    assert inbox["item"]["actor"]["username"] == "olive"
    await olive.next("event", kind="chat.created")
    await olive.quiet("inbox")
    for socket in (eddie, olive):
        await socket.ws.disconnect()


async def test_presence_is_shared_within_the_workspace(team, tokens):
    eddie = await Socket(tokens["editor"]).open()
    vera = await Socket(tokens["viewer"]).open()
    arrived = await eddie.next("presence", state="online")
    assert arrived["user"]["username"] == "vera" and arrived["workspace"] == team["workspace"].pk
    answered = await vera.next("presence", state="online")  # eddie answers the newcomer
    assert answered["user"]["username"] == "eddie"
    oscar = await Socket(tokens["outsider"]).open()  # another workspace: nobody here hears of him
    await eddie.quiet("presence")
    await vera.ws.disconnect()
    gone = await eddie.next("presence", state="offline")
    assert gone["user"]["username"] == "vera"
    for socket in (eddie, oscar):
        await socket.ws.disconnect()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"bytes_data": b"\x00\x01"}, 4400),
        ({"text_data": "{not json"}, 4400),
        ({"text_data": "x" * (consumers.MAX_FRAME + 1)}, 4413),
    ],
)
async def test_bad_frames_close_that_socket_with_a_reason(team, tokens, frame, code):
    socket = await Socket(tokens["editor"]).open()
    await socket.ws.send_to(**frame)
    closed = await socket.closed()
    assert closed["code"] == code and closed["reason"]


@pytest.mark.parametrize(
    "message",
    [
        [1, 2],
        {"type": "dance"},
        {"type": "subscribe"},
        {"type": "subscribe", "byte": "1"},
        {"type": "subscribe", "byte": True},
        {"type": "subscribe", "byte": 1, "since": -4},
        {"type": "typing", "module": 1},
        {"type": "typing", "byte": 1, "thread": "x"},
    ],
)
async def test_bad_messages_get_an_error_and_the_socket_stays(team, tokens, message):
    socket = await Socket(tokens["editor"]).open()
    await socket.ws.send_to(text_data=json.dumps(message))
    error = await socket.next("error")
    assert error["message"]
    await socket.send(type="subscribe", byte=team["byte"].pk, since=0)
    await socket.next("subscribed")
    await socket.ws.disconnect()


async def test_no_access_no_delivery(team, tokens, say):
    refused = await Socket(None).open()
    assert (await refused.closed())["code"] == 4403
    eddie = await Socket(tokens["editor"]).open()
    for target in ({"byte": team["secret"].pk}, {"module": team["secret_module"].pk}, {"byte": 987654}):
        await eddie.send(type="subscribe", since=0, **target)
        assert "that you can see" in (await eddie.next("error"))["message"]
    await say(team["outsider"], f"/api/bytes/{team['secret'].pk}/threads/", "hush")
    await eddie.quiet("event")
    await eddie.ws.disconnect()


async def test_flooding_closes_the_socket(team, tokens):
    socket = await Socket(tokens["editor"]).open()
    for _ in range(consumers.MESSAGES_PER_SECOND + 5):
        await socket.ws.send_to(text_data=json.dumps({"type": "unsubscribe", "byte": 1}))
    assert (await socket.closed())["code"] == 4429


async def test_removed_member_loses_the_conversation_and_latest_numbers_are_told(
    team, tokens, say, monkeypatch
):
    monkeypatch.setattr(consumers, "TICK", 0.3)
    vera = await Socket(tokens["viewer"]).open()
    await vera.send(type="subscribe", byte=team["byte"].pk, since=0)
    await vera.next("subscribed")
    # A change stored without a broadcast reaching the socket is announced by number.
    monkeypatch.setattr("discussions.live._send", lambda group, message: None)
    await say(team["owner"], f"/api/bytes/{team['byte'].pk}/threads/", "unseen")
    assert (await vera.next("seq", conversation=f"byte:{team['byte'].pk}"))["last_seq"] == 1
    membership = await db_call(team["workspace"].memberships.get)(user=team["viewer"])
    await db_call(byte_services.membership_remove)(membership=membership)
    lost = await vera.next("error", conversation=f"byte:{team['byte'].pk}")
    assert "no longer" in lost["message"]
    await vera.ws.disconnect()


@pytest.mark.parametrize(
    ("origin", "accepted"), [(b"http://localhost", True), (b"http://evil.example", False), (None, False)]
)
async def test_a_session_needs_our_origin(team, origin, accepted):
    from tests.collab.client import headers_for
    from tests.collab.test_security import session_key_of

    key = await session_key_of("eddie")
    socket = Socket(None)
    socket.ws = WebsocketCommunicator(application, "/ws/discuss/", headers=headers_for(key, origin))
    await socket.open()
    if accepted:
        await socket.send(type="subscribe", byte=team["byte"].pk, since=0)
        await socket.next("subscribed")
        await socket.ws.disconnect()
    else:
        assert (await socket.closed())["code"] == 4403


async def test_database_away_is_an_error_not_a_crash(team, tokens, monkeypatch):
    from django.db import OperationalError

    socket = await Socket(tokens["editor"]).open()

    def down(*args):
        raise OperationalError("connection refused")

    monkeypatch.setattr(consumers, "_workspace_of", down)
    await socket.send(type="subscribe", byte=team["byte"].pk, since=0)
    assert "try again" in (await socket.next("error"))["message"]
    monkeypatch.undo()
    await socket.send(type="subscribe", byte=team["byte"].pk, since=0)
    await socket.next("subscribed")
    await socket.ws.disconnect()


async def test_events_out_of_order_are_all_forwarded(team, tokens):
    """Commits on two processes may publish 5 before 4: both reach the socket (clients order)."""
    from channels.layers import get_channel_layer

    socket = await Socket(tokens["editor"]).open()
    await socket.send(type="subscribe", module=team["deploy"].pk, since=0)
    await socket.next("subscribed")
    key = f"module:{team['deploy'].pk}"
    layer = get_channel_layer()
    for seq in (2, 1):
        event = {
            "conversation": key,
            "seq": seq,
            "kind": "chat.created",
            "at": "",
            "thread": None,
            "comment": None,
        }
        await layer.group_send(
            f"discuss.module.{team['deploy'].pk}", {"type": "discuss.event", "event": event}
        )
    assert [(await socket.next("event"))["seq"] for _ in range(2)] == [2, 1]
    await socket.ws.disconnect()


async def test_removed_member_leaves_presence_and_is_closed_when_signed_out(team, tokens, monkeypatch):
    monkeypatch.setattr(consumers, "TICK", 0.3)
    vera = await Socket(tokens["viewer"]).open()
    membership = await db_call(team["workspace"].memberships.get)(user=team["viewer"])
    await db_call(byte_services.membership_remove)(membership=membership)
    from channels.layers import get_channel_layer

    from discussions.live import workspace_group

    groups = get_channel_layer().groups  # the in-memory layer's table: vera's socket is alone
    for _ in range(100):  # until her socket's next check has left the workspace's group
        if not groups.get(workspace_group(team["workspace"].pk)):
            break
        await asyncio.sleep(0.1)
    assert not groups.get(workspace_group(team["workspace"].pk))
    eddie = await Socket(tokens["editor"]).open()
    await vera.quiet("presence", seconds=0.5)  # vera no longer hears who comes online there
    await eddie.ws.disconnect()
    # A user in no workspace at all is still checked: a deleted token closes the socket.
    from rest_framework.authtoken.models import Token

    await db_call(Token.objects.filter(key=tokens["viewer"]).delete)()
    assert (await vera.closed())["code"] == 4403

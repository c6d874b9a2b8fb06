"""Handshake auth, Origin checks, revocation while connected, limits and hostile frames."""

from __future__ import annotations

import pytest
from django.test import Client
from pycrdt import Text

from bytes_app import services
from collab import protocol, store
from collab.models import DocUpdate

from .client import YClient, headers_for
from .conftest import db_call

pytestmark = pytest.mark.django_db(transaction=True)


async def refused(path: str, headers=None) -> YClient:
    client = YClient(path, headers=headers)
    assert await client.connect()
    code = await client.until_closed()
    assert code == 4403, (code, client.close_reason)
    assert client.denied == ["permission denied"]
    return client


async def session_key_of(username: str) -> str:
    browser = Client()
    assert await db_call(browser.login)(username=username, password="pw-for-tests-1")
    return browser.session.session_key


@pytest.mark.parametrize("query", ["", "?token=", "?token=not-a-token", "?token=" + "x" * 5000])
async def test_no_or_bad_credentials_are_refused(team, query):
    await refused(f"/ws/modules/{team['deploy'].pk}/{query}")


async def test_non_member_and_unknown_module_get_the_same_refusal(team, module_url):
    stranger = await refused(module_url(team["outsider"]))
    ghost = await refused(module_url(team["editor"]).replace(f"/{team['deploy'].pk}/", "/987654321/"))
    assert (stranger.close_reason, stranger.denied) == (ghost.close_reason, ghost.denied)


async def test_session_cookie_with_our_origin_is_accepted(team):
    key = await session_key_of("eddie")
    client = YClient(f"/ws/modules/{team['deploy'].pk}/", headers=headers_for(key))
    assert await client.connect()
    await client.sync()
    assert client.close_code is None
    await client.close()


@pytest.mark.parametrize(
    "origin",
    [
        b"http://evil.example",
        b"null",
        None,
        b"http://localhost.evil.example",
        b"http://evil-localhost",
        b"file://localhost",
        b"http://",
        b"not a url",
    ],
)
async def test_cookie_handshake_from_a_foreign_origin_is_refused(team, origin):
    key = await session_key_of("eddie")
    await refused(f"/ws/modules/{team['deploy'].pk}/", headers=headers_for(key, origin=origin))


async def test_tokens_do_not_need_an_origin(team, module_url):
    client = YClient(module_url(team["editor"]), headers=[])
    assert await client.connect()
    await client.sync()
    await client.close()


async def test_removed_member_is_disconnected(team, module_url, client_for):
    client = await _joined(module_url(team["editor"]))
    owner = await db_call(client_for)(team["owner"])
    response = await db_call(owner.delete)(f"/api/workspaces/{team['workspace'].pk}/members/eddie/")
    assert response.status_code == 204
    assert await client.until_closed(timeout=2) == 4403


async def test_demoted_editor_can_no_longer_write(team, module_url, client_for):
    client = await _joined(module_url(team["editor"]))
    owner = await db_call(client_for)(team["owner"])
    await db_call(owner.patch)(
        f"/api/workspaces/{team['workspace'].pk}/members/eddie/", {"role": "viewer"}, format="json"
    )
    await client.pump(0.5)
    before = await db_call(DocUpdate.objects.count)()
    await client.type(team["byte"].pk, 0, "after demotion ")
    await client.until(lambda: client.denied)
    assert client.denied == ["read-only: viewers cannot edit this module"]
    assert await db_call(DocUpdate.objects.count)() == before
    await client.close()


async def test_what_a_demoted_editor_typed_is_stored_and_acknowledged_only_once_promoted_again(
    team, module_url, client_for
):
    client = YClient(module_url(team["editor"]), subprotocols=["kb.ack"])
    assert await client.connect()
    await client.sync()
    owner = await db_call(client_for)(team["owner"])
    member = f"/api/workspaces/{team['workspace'].pk}/members/eddie/"
    await db_call(owner.patch)(member, {"role": "viewer"}, format="json")
    await client.pump(0.5)
    acknowledged = client.saved  # its answer to the first sync
    await client.type(team["byte"].pk, 0, "typed as a viewer ")
    await client.until(lambda: client.denied)
    await client.pump(0.3)
    assert client.saved == acknowledged < client.sent_writes  # what it typed is not stored
    await db_call(owner.patch)(member, {"role": "editor"}, format="json")
    # The room asks it to sync; its answer carries the edit, now an editor's, and releases the acks.
    await client.until(lambda: client.saved == client.sent_writes, timeout=5)
    stored, _ = await db_call(store.read)(team["deploy"].pk)
    assert str(stored.get(store.text_name(team["byte"].pk), type=Text)).startswith("typed as a viewer ")
    await client.close()


async def test_deleted_token_disconnects(team, module_url):
    client = await _joined(module_url(team["editor"]))
    from rest_framework.authtoken.models import Token

    await db_call(lambda: Token.objects.filter(user=team["editor"]).delete())()
    assert await client.until_closed(timeout=2) == 4403


async def test_logout_disconnects_that_session(team):
    browser = Client()
    assert await db_call(browser.login)(username="eddie", password="pw-for-tests-1")
    client = await _joined(
        f"/ws/modules/{team['deploy'].pk}/", headers=headers_for(browser.session.session_key)
    )
    await db_call(browser.logout)()
    assert await client.until_closed(timeout=3) == 4403


async def test_deactivated_user_is_disconnected(team, module_url):
    client = await _joined(module_url(team["editor"]))

    def deactivate() -> None:
        user = team["editor"]
        user.is_active = False
        user.save()

    await db_call(deactivate)()
    assert await client.until_closed(timeout=2) == 4403


# --- limits -----------------------------------------------------------------------------------


async def test_text_frames_are_refused(team, module_url):
    client = await _joined(module_url(team["editor"]))
    await client.comm.send_to(text_data="hello")
    assert await client.until_closed() == 4400


async def test_oversized_frame_closes_with_4413(team, module_url, settings):
    settings.KB_WS_MAX_FRAME_BYTES = 1000
    client = await _joined(module_url(team["editor"]))
    await client.send(protocol.sync_update(b"\x00" * 2000))
    assert await client.until_closed() == 4413


async def test_byte_size_limit_applies_to_live_edits(team, module_url, settings):
    settings.KB_BYTE_MAX_CHARS = 200
    client = await _joined(module_url(team["editor"]))
    await client.type(team["byte"].pk, 0, "x" * 100)
    await client.pump(0.1)
    assert client.close_code is None
    await client.type(team["byte"].pk, 0, "y" * 150)
    assert await client.until_closed() == 4413
    check = await _joined(module_url(team["owner"]))
    assert "y" not in str(check.text(team["byte"].pk))
    await check.close()


async def test_flooding_client_is_throttled_then_closed_and_the_room_carries_on(team, module_url, settings):
    settings.KB_WS_MESSAGES_PER_SECOND = 20
    settings.KB_WS_MESSAGE_BURST = 20
    settings.KB_WS_FLOOD_SECONDS = 0.5
    flooder, calm = await _joined(module_url(team["editor"])), await _joined(module_url(team["owner"]))
    for _ in range(200):
        await flooder.send(b"\x03")  # query awareness, as fast as possible
    assert await flooder.until_closed(timeout=10) == 4429
    await calm.type(team["byte"].pk, 0, "unaffected ")
    await calm.pump(0.1)
    assert calm.close_code is None
    await calm.close()


async def test_connection_cap_per_user(team, module_url, settings):
    settings.KB_WS_MAX_PER_USER = 2
    first, second = await _joined(module_url(team["editor"])), await _joined(module_url(team["editor"]))
    third = YClient(module_url(team["editor"]))
    assert await third.connect()
    assert await third.until_closed() == 4509
    await first.close()
    await second.close()


HOSTILE_FRAMES = {
    "empty frame": b"",
    "unknown message type": b"\x07",
    "huge message type": b"\xff\xff\xff\xff\xff\xff\xff\xff\x7f",
    "truncated sync": b"\x00",
    "unknown sync type": b"\x00\x05\x00",
    "truncated length": b"\x00\x02\x85",
    "length past the end": b"\x00\x02\x10abc",
    "huge length prefix": b"\x00\x02\xff\xff\xff\xff\xff\xff\x0f",
    "overlong varint": b"\x00\x02" + b"\x80" * 12 + b"\x00",
    "trailing garbage": b"\x00\x00\x01\x00zzz",
    "garbage update": b"\x00\x02\x05\xde\xad\xbe\xef\x00",
    "update with impossible counts": b"\x00\x02\x08\xff\xff\xff\xff\x0f\x00\x00\x00",
    "garbage state vector": b"\x00\x00\x04\xff\xff\xff\x7f",
    "awareness not json": b"\x01\x07\x01\x01\x01\x03{x}",
    "awareness json array": b"\x01\x07\x01\x01\x01\x03[1]",
    "awareness bad utf8": b"\x01\x06\x01\x01\x01\x02\xff\xfe",
    "awareness too many entries": b"\x01\x04\xff\xff\x03\x00",
    "server-only auth message": b"\x02\x00\x02hi",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_FRAMES))
async def test_hostile_frame_closes_only_that_socket(team, module_url, name):
    bystander = await _joined(module_url(team["owner"]))
    before = str(bystander.text(team["byte"].pk))
    stored = await db_call(DocUpdate.objects.count)()
    attacker = await _joined(module_url(team["editor"]))
    await attacker.send(HOSTILE_FRAMES[name])
    assert await attacker.until_closed() == 4400
    await bystander.type(team["byte"].pk, 0, "ok ")
    for _ in range(250):  # stored by the committer a moment later (seconds on a loaded machine)
        await bystander.pump(0.02)
        if await db_call(DocUpdate.objects.count)() > stored:
            break
    assert bystander.close_code is None
    assert str(bystander.text(team["byte"].pk)) == "ok " + before
    assert await db_call(DocUpdate.objects.count)() == stored + 1
    await bystander.close()


async def _joined(path: str, headers=None) -> YClient:
    client = YClient(path, headers=headers)
    assert await client.connect()
    await client.sync()
    return client


def test_services_are_importable():
    assert services.byte_update

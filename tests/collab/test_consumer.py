"""A room over real WebSocket connections (channels.testing): sync, live edits, REST, presence."""

from __future__ import annotations

import asyncio

import pytest
from pycrdt import Doc, Text

from bytes_app import services
from bytes_app.models import Byte
from collab import protocol
from collab import runtime as collab_runtime
from collab.models import DocUpdate

from .client import YClient, settle
from .conftest import db_call

pytestmark = pytest.mark.django_db(transaction=True)


async def joined(url: str, **kwargs) -> YClient:
    client = YClient(url, **kwargs)
    assert await client.connect()
    await client.sync()
    return client


async def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_first_join_imports_stored_content(team, module_url):
    client = await joined(module_url(team["editor"]))
    byte = team["byte"]
    assert str(client.text(byte.pk)) == byte.content
    assert client.index()[str(byte.pk)] == {"title": "Rollback", "slug": "rollback", "position": 0.0}
    await client.close()


async def test_edits_reach_the_other_client_and_rest(team, module_url):
    alice, bob = await joined(module_url(team["editor"])), await joined(module_url(team["owner"]))
    byte = team["byte"]
    await alice.type(byte.pk, 0, "Carefully: ")
    await bob.until(lambda: str(bob.text(byte.pk)).startswith("Carefully: "))
    await bob.type(byte.pk, len(str(bob.text(byte.pk))), " Done.")
    await alice.until(lambda: str(alice.text(byte.pk)).endswith(" Done."))
    expected = str(alice.text(byte.pk))

    async def stored() -> bool:
        row = await db_call(Byte.objects.get)(pk=byte.pk)
        return row.content == expected

    await wait_for(stored)
    row = await db_call(Byte.objects.get)(pk=byte.pk)
    assert row.version > 1
    await alice.close()
    await bob.close()


async def test_a_new_client_gets_the_document_as_it_is_now(team, module_url, client_for):
    """A client that holds nothing is sent the room's kept encoding: it must follow live edits
    and REST writes alike."""
    byte = team["byte"]
    alice = await joined(module_url(team["editor"]))
    first = await joined(module_url(team["viewer"]))  # the room encodes its document for this one
    await alice.type(byte.pk, 0, "Live: ")
    await alice.pump(0.1)
    late = await joined(module_url(team["viewer"]))
    assert str(late.text(byte.pk)) == "Live: " + byte.content
    api = await db_call(client_for)(team["owner"])
    response = await db_call(api.patch)(f"/api/bytes/{byte.pk}/", {"content": "Over REST."}, format="json")
    assert response.status_code == 200
    await alice.until(lambda: str(alice.text(byte.pk)) == "Over REST.")
    later = await joined(module_url(team["viewer"]))
    assert str(later.text(byte.pk)) == "Over REST."
    for client in (alice, first, late, later):
        await client.close()


async def test_acknowledgement_follows_the_commit(team, module_url):
    client = await joined(module_url(team["editor"], extra="&ack=1"))
    before = await db_call(DocUpdate.objects.count)()
    await client.type(team["byte"].pk, 0, "x")
    await client.type(team["byte"].pk, 0, "y")
    await client.until(lambda: client.saved == client.sent_writes)
    assert client.saved == client.sent_writes >= 2
    assert await db_call(DocUpdate.objects.count)() >= before + 2
    await client.close()


async def test_writes_arriving_together_are_checked_together(team, module_url):
    """Frames of several sockets that arrive in one turn of the event loop are applied and
    checked as one batch (collab/room.py, settle); each is still stored and acknowledged, and
    everyone ends with the same text."""
    clients = [await joined(module_url(team["editor"], extra="&ack=1")) for _ in range(3)]
    byte = team["byte"].pk
    before = await db_call(DocUpdate.objects.count)()
    for round_ in range(20):
        for number, client in enumerate(clients):
            client.text(byte).insert(0, f"[{number}.{round_}]")
    await asyncio.gather(*(client.flush() for client in clients))
    for client in clients:
        await client.until(lambda client=client: client.saved == client.sent_writes, timeout=10)
    await settle(*clients)
    texts = {str(client.text(byte)) for client in clients}
    assert len(texts) == 1
    text = texts.pop()
    assert all(text.count(f"[{n}.{r}]") == 1 for n in range(3) for r in range(20)), text
    assert await db_call(DocUpdate.objects.count)() == before + 60
    room = collab_runtime.runtime().rooms.loaded(team["deploy"].pk)
    assert room is not None and room.written_together > 0
    for client in clients:
        await client.close()


async def test_stock_clients_that_did_not_ask_get_no_acks(team, module_url):
    client = await joined(module_url(team["editor"]))
    await client.type(team["byte"].pk, 0, "x")
    await client.pump(0.3)
    assert all(frame[0] != protocol.MessageType.SAVED for frame in client.received)
    await client.close()


async def test_ack_subprotocol(team, module_url):
    client = YClient(module_url(team["editor"]), subprotocols=["kb.ack"])
    assert await client.connect()
    await client.sync()
    await client.type(team["byte"].pk, 0, "x")
    await client.until(lambda: client.saved == client.sent_writes)
    await client.close()


async def test_viewer_receives_live_but_cannot_write(team, module_url):
    editor, viewer = (
        await joined(module_url(team["editor"])),
        await joined(module_url(team["viewer"], extra="&ack=1")),
    )
    byte = team["byte"]
    stored_before = await db_call(DocUpdate.objects.count)()
    await viewer.type(byte.pk, 0, "VANDAL ")
    await viewer.until(lambda: viewer.denied)
    assert viewer.denied == ["read-only: viewers cannot edit this module"]
    # Offline edits sent as sync step 2 are refused the same way.
    await viewer.send(protocol.sync_step2(viewer.doc.get_update()))
    await editor.type(byte.pk, 0, "ok ")
    await viewer.until(lambda: "ok " in str(viewer.text(byte.pk)))
    await editor.pump(0.2)
    assert "VANDAL" not in str(editor.text(byte.pk))
    assert viewer.saved == 0
    assert await db_call(DocUpdate.objects.count)() == stored_before + 1  # only the editor's
    late = await joined(module_url(team["owner"]))
    assert "VANDAL" not in str(late.text(byte.pk))
    for client in (editor, viewer, late):
        await client.close()


async def test_rest_write_keeps_what_was_typed_live_meanwhile(team, module_url, client_for, settings):
    """An integration reads a byte, someone types into it, the integration writes: both stay."""
    settings.KB_MATERIALIZE_SECONDS = 30  # the live typing is not in the row yet
    byte = team["byte"]
    api = await db_call(client_for)(team["owner"])
    read = await db_call(api.get)(f"/api/bytes/{byte.pk}/")
    client = await joined(module_url(team["editor"]))
    await client.type(byte.pk, 0, ">> ")
    await client.pump(0.1)
    response = await db_call(api.patch)(
        f"/api/bytes/{byte.pk}/",
        {"content": read.json()["content"] + "\n\nAppended over REST."},
        format="json",
        HTTP_IF_MATCH=read["ETag"],
    )
    assert response.status_code == 200
    expected = ">> " + byte.content + "\n\nAppended over REST."
    assert response.json()["content"] == expected
    await client.until(lambda: str(client.text(byte.pk)) == expected)
    await client.close()


async def test_rest_write_is_a_minimal_edit_not_a_replacement(team, module_url, client_for):
    byte = team["byte"]
    client = await joined(module_url(team["editor"]))
    api = await db_call(client_for)(team["owner"])
    await db_call(api.patch)(f"/api/bytes/{byte.pk}/", {"content": "Run `kb rollback` now."}, format="json")
    await client.until(lambda: str(client.text(byte.pk)) == "Run `kb rollback` now.")
    update = client.received[-1]
    assert len(update) < 60, "only the change travels, not the whole text again"
    await client.close()


async def test_byte_created_over_rest_shows_in_the_live_index(team, module_url, client_for):
    client = await joined(module_url(team["viewer"]))
    api = await db_call(client_for)(team["editor"])
    response = await db_call(api.post)(
        "/api/bytes/", {"module": team["deploy"].pk, "title": "Canary", "content": "Ship 1%."}, format="json"
    )
    new_id = response.json()["id"]
    await client.until(lambda: str(new_id) in client.index())
    assert client.index()[str(new_id)]["title"] == "Canary"
    assert str(client.text(new_id)) == "Ship 1%."
    await db_call(api.patch)(f"/api/bytes/{new_id}/", {"title": "Canary release"}, format="json")
    await client.until(lambda: client.index()[str(new_id)]["title"] == "Canary release")
    await db_call(api.delete)(f"/api/bytes/{new_id}/")
    await client.until(lambda: str(new_id) not in client.index())
    await client.close()


async def test_presence_is_stamped_and_cannot_be_spoofed(team, module_url):
    eddie, olive = await joined(module_url(team["editor"])), await joined(module_url(team["owner"]))
    await eddie.set_presence(1, {"user": {"name": "olive (really)"}, "byte": team["byte"].pk})
    await olive.until(lambda: eddie.doc.client_id in olive.presence)
    state = olive.presence[eddie.doc.client_id]
    assert state["user"]["name"] == "eddie" and state["user"]["id"] == team["editor"].pk
    assert state["byte"] == team["byte"].pk
    # Olive's socket claims Eddie's client id: ignored.
    forged = protocol.encode_awareness([protocol.AwarenessEntry(eddie.doc.client_id, 99, '{"x":1}')])
    await olive.send(protocol.awareness_message(forged))
    await eddie.pump(0.2)
    await olive.pump(0.2)
    assert olive.presence[eddie.doc.client_id]["user"]["name"] == "eddie"
    assert "x" not in olive.presence[eddie.doc.client_id]
    # A late joiner gets everyone's state; leaving removes it for everyone at once.
    late = await joined(module_url(team["viewer"]))
    assert late.presence[eddie.doc.client_id]["user"]["name"] == "eddie"
    await eddie.close()
    await olive.until(lambda: eddie.doc.client_id not in olive.presence)
    await late.until(lambda: eddie.doc.client_id not in late.presence)
    await olive.close()
    await late.close()


async def test_oversized_awareness_closes_only_that_socket(team, module_url):
    other, noisy = await joined(module_url(team["owner"])), await joined(module_url(team["editor"]))
    await noisy.set_presence(1, {"blob": "x" * 10000})
    assert await noisy.until_closed() == 4413
    await other.type(team["byte"].pk, 0, "still fine ")
    await other.pump(0.1)
    assert other.close_code is None
    await other.close()


async def test_offline_edits_merge_without_doubling(team, module_url):
    byte = team["byte"]
    first = await joined(module_url(team["editor"]))
    offline: Doc = Doc()
    offline.apply_update(first.doc.get_update())
    await first.close()
    # Edits made while disconnected, on top of what the client had.
    offline.get(f"byte:{byte.pk}", type=Text).insert(0, "offline ")
    again = YClient(module_url(team["editor"]))
    again.doc.apply_update(offline.get_update())
    assert await again.connect()
    await again.sync()
    await settle(again)
    check = await joined(module_url(team["owner"]))
    assert str(check.text(byte.pk)) == "offline " + byte.content
    await again.close()
    await check.close()


async def test_seeding_happens_exactly_once_for_concurrent_openers(team, module_url):
    module = await db_call(services.module_create)(workspace=team["workspace"], name="Fresh")
    byte = await db_call(services.byte_create)(
        module=module, user=team["owner"], title="Old", content="stored"
    )

    def forget_document() -> None:  # as if the bytes predate live editing
        from collab.models import DocState

        DocState.objects.filter(pk=module.pk).delete()
        DocUpdate.objects.filter(module_id=module.pk).delete()

    await db_call(forget_document)()
    clients = [YClient(module_url(team["editor"], module=module)) for _ in range(6)]
    await asyncio.gather(*(client.connect() for client in clients))
    await asyncio.gather(*(client.sync() for client in clients))
    for client in clients:
        assert str(client.text(byte.pk)) == "stored"
        await client.close()


async def test_module_deletion_closes_its_room(team, module_url, client_for):
    client = await joined(module_url(team["editor"]))
    owner_api = await db_call(client_for)(team["owner"])
    await db_call(owner_api.delete)(f"/api/modules/{team['deploy'].pk}/")
    assert await client.until_closed() == 4404


async def test_unknown_path_is_closed(team):
    client = YClient("/ws/elsewhere/")
    assert await client.connect()
    assert await client.until_closed() == 4404


async def test_broadcast_after_commit_mode_delivers_stored_updates(team, module_url, settings):
    # KB_BROADCAST_AFTER_COMMIT: the other editor receives an update only once it is in the log.
    settings.KB_BROADCAST_AFTER_COMMIT = True
    alice, bob = await joined(module_url(team["editor"])), await joined(module_url(team["owner"]))
    byte = team["byte"]
    before = await db_call(DocUpdate.objects.count)()
    await alice.type(byte.pk, 0, "Stored first: ")
    await bob.until(lambda: str(bob.text(byte.pk)).startswith("Stored first: "))
    assert await db_call(DocUpdate.objects.count)() > before
    await alice.close()
    await bob.close()

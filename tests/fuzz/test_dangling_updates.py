"""An update whose items depend on structs the room lacks is neither kept, stored, nor
acknowledged as if whole: found by the live corpus (tests/fuzz/corpus.py, "update that stays
pending"), where pycrdt's get_state() of such an update claims nothing (it counts from clock 0),
so the room stored it, acknowledged it and kept it pending."""

from __future__ import annotations

from typing import Any

from pycrdt import Doc, Text, merge_updates

from collab import protocol
from collab.peer import Peer
from collab.room import Room

from .test_room_fuzz import FakeRuntime, peer, seed_doc, updates_from_edits


def dangling() -> bytes:
    """The second insert of a client whose first the room never received."""
    doc: Doc = Doc(client_id=424242)
    text = doc.get("byte:1", type=Text)
    text.insert(0, "a")
    first = doc.get_state()
    text.insert(1, "b")
    return doc.get_update(first)


async def test_a_dangling_update_is_refused_not_stored_and_the_sender_asked_to_sync():
    runtime = FakeRuntime()
    room = Room(runtime, 1, seed_doc(), {1: "hello world"})  # type: ignore[arg-type]
    sent: list[bytes] = []
    closes: list[tuple[int, str]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["bytes"])

    sender = Peer(user_id=1, username="u1", can_write=True, workspace_id=1, send=send,
                  close=lambda code, reason: closes.append((code, reason)))  # fmt: skip
    room.join(sender)
    sent.clear()
    room.receive(sender, protocol.sync_update(dangling()))
    room.settle()
    assert not closes
    assert [data for _, data in runtime.stored if data] == []
    assert room.doc.get_update() == seed_doc().get_update()  # nothing pending kept
    assert sender.ack_barrier == 1  # nothing from this message on is acknowledged until a resync
    assert sent and sent[-1].startswith(b"\x00\x00")  # sync step 1: send what we lack


async def test_a_client_that_keeps_sending_dangling_updates_is_closed():
    runtime = FakeRuntime()
    room = Room(runtime, 1, seed_doc(), {1: "hello world"})  # type: ignore[arg-type]
    sender, closes = peer(1)
    room.join(sender)
    for _ in range(4):
        room.receive(sender, protocol.sync_update(dangling()))
        room.settle()
    assert closes and closes[0][0] == 4400, closes


async def test_a_resync_that_is_itself_refused_releases_no_acknowledgements():
    runtime = FakeRuntime()
    room = Room(runtime, 1, seed_doc(), {1: "hello world"})  # type: ignore[arg-type]
    sender, closes = peer(1)
    room.join(sender)
    room.receive(sender, protocol.sync_update(dangling()))  # write 1: not stored, acks held
    room.receive(sender, protocol.sync_step2(dangling()))  # write 2, the resync: not stored either
    room.receive(sender, protocol.sync_update(updates_from_edits([(0, "x")], client_id=7)[0]))
    room.settle()
    assert not closes
    sender.saved(3)  # the committer reports write 3 durable
    assert sender.writes_saved == 0  # writes 1 and 2 were never stored: nothing acknowledged
    room.receive(sender, protocol.sync_step2(protocol.EMPTY_UPDATE))  # write 4: a resync stored whole
    room.settle()
    sender.saved(4)
    assert sender.writes_saved == 4


async def test_with_broadcast_after_commit_what_integrated_of_a_pending_update_waits_for_its_commit():
    # Other processes do not store what they relay in that mode: sent ahead of its commit, the
    # part that integrated could end up held by them and stored nowhere (found by review).
    runtime = FakeRuntime()
    runtime.config.KB_BROADCAST_AFTER_COMMIT = True
    room = Room(runtime, 1, seed_doc(), {1: "hello world"})  # type: ignore[arg-type]
    sender, _ = peer(1)
    room.join(sender)
    honest = updates_from_edits([(0, "x")], client_id=7)[0]
    room.receive(sender, protocol.sync_update(merge_updates(honest, dangling())))
    room.settle()
    assert [data for _, data in runtime.stored if data]  # what integrated is stored...
    assert runtime.published == []  # ...and not sent before it is
    for then in runtime.after_commit:
        then()
    assert [kind for _, kind, _ in runtime.published] == ["update"]

"""What a refused write leaves behind: nothing in the room, no acknowledgement covering it, no
credit against the size limit, no unchecked text. Found by reviewing the room's write path
(2026-12-07); each test fails on the code before its fix."""

from __future__ import annotations

from contextlib import closing

from pycrdt import Doc, Map, Text, merge_updates

from collab import protocol
from collab.room import Room

from .test_room_fuzz import (
    CONTRADICTORY_IN_BYTE_2,
    FakeRuntime,
    _varuint,
    peer,
    seed_doc,
    two_texts_one_indexed,
)


def typed(doc: Doc, at: int, value: str) -> bytes:
    """The update of one transaction, as a Yjs client sends it."""
    sent: list[bytes] = []
    watch = doc.observe(lambda event: sent.append(event.update))
    doc.get("byte:1", type=Text).insert(at, value)
    doc.unobserve(watch)
    return sent[0]


def replica(room: Room, client_id: int) -> Doc:
    made: Doc = Doc(client_id=client_id)
    made.apply_update(room.encoded())
    return made


def indexed_seed() -> Doc:
    doc = seed_doc()
    doc.get("index", type=Map)["1"] = "Hello"
    return doc


def _string(value: str) -> bytes:
    return _varuint(len(value.encode())) + value.encode()


async def test_an_update_the_crdt_library_refuses_halfway_leaves_nothing_in_the_room():
    # Client 5's first item (in byte:1) integrates; its second names a string item as its
    # parent, and Yrs raises. The first stayed in the room, stored and sent nowhere, and an
    # honest edit typed next to it was lost when the module was loaded again.
    first = bytes([0x04]) + _varuint(1) + _string("byte:1") + _string("A")
    second = bytes([0x04]) + _varuint(0) + _varuint(1) + _varuint(3) + _string("B")
    crafted = _varuint(1) + _varuint(2) + _varuint(5) + _varuint(0) + first + second + _varuint(0)
    with closing(FakeRuntime()) as runtime:
        room = runtime.room()
        seeded = room.encoded()
        attacker, closes = peer(1)
        room.join(attacker)
        room.receive(attacker, protocol.sync_update(crafted))
        room.settle()
        assert closes and closes[0][0] == 4400, closes
        assert str(room.doc.get("byte:1", type=Text)) == "hello world"
        newcomer, _ = peer(2)
        room.join(newcomer)
        room.receive(newcomer, protocol.sync_update(typed(replica(room, 7), 11, "!")))
        room.settle()
        reloaded: Doc = Doc()  # what a reload, or another process, builds from the stored log
        reloaded.apply_update(seeded)
        for _, data in runtime.stored:
            if data:
                reloaded.apply_update(data)
        assert (
            str(reloaded.get("byte:1", type=Text)) == str(room.doc.get("byte:1", type=Text)) == "hello world!"
        )


async def test_an_acknowledgement_does_not_cover_a_write_dropped_as_read_only():
    with closing(FakeRuntime()) as runtime:
        room = runtime.room()
        editor, _ = peer(1)
        room.join(editor)
        own = replica(room, 2)
        editor.can_write = False  # demoted to viewer while connected (Rooms._revalidate)
        state = own.get_state()
        del own.get("byte:1", type=Text)[0:5]
        room.receive(editor, protocol.sync_update(own.get_update(state)))  # write 1: dropped
        room.settle()
        editor.can_write, editor.told_read_only = True, False  # an editor again
        room.receive(editor, protocol.sync_update(typed(own, 0, "!")))  # write 2: stored
        room.settle()
        editor.saved(2)  # the committer stored write 2
        assert editor.writes_saved == 0  # write 1 was not stored: nothing acknowledged
        room.receive(editor, protocol.sync_step2(own.get_update(room.doc.get_state())))  # the resync
        room.settle()
        editor.saved(3)
        assert editor.writes_saved == 3
        assert str(room.doc.get("byte:1", type=Text)) == str(own.get("byte:1", type=Text)) == "! world"


async def test_a_refused_update_gives_no_credit_against_the_size_limit():
    # An update refused after the exact size check (here: it deletes clocks the room does not
    # have) left the bound lowered by its own size, and the next inserts skipped the check.
    deletions = b"".join(_varuint(2 * n) + _varuint(1) for n in range(400))
    padded = _varuint(0) + _varuint(1) + _varuint(99) + _varuint(400) + deletions
    with closing(FakeRuntime()) as runtime:
        runtime.config.KB_BYTE_MAX_CHARS = 100
        room = Room(runtime, 1, indexed_seed(), {1: "hello world"})  # type: ignore[arg-type]
        runtime.made.append(room)
        writer, closes = peer(1)
        room.join(writer)
        own = replica(room, 2)
        for _ in range(3):  # three strikes; a reconnect would give three more
            room.receive(writer, protocol.sync_update(padded))
            room.settle()
            for _ in range(10):
                room.receive(writer, protocol.sync_update(typed(own, 0, "x" * 90)))
                room.settle()
                if closes:
                    break
        assert len(str(room.doc.get("byte:1", type=Text))) <= 100
        assert closes and closes[-1][0] == 4413, closes


async def test_a_text_outside_the_index_counts_against_the_size_limit_from_the_start():
    with closing(FakeRuntime()) as runtime:
        runtime.config.KB_BYTE_MAX_CHARS = 100
        room = runtime.room()  # byte:1, "hello world", is in no index
        writer, closes = peer(1)
        room.join(writer)
        room.receive(writer, protocol.sync_update(typed(replica(room, 2), 0, "x" * 90)))
        room.settle()
        assert closes and closes[0][0] == 4413, closes
        assert str(room.doc.get("byte:1", type=Text)) == "hello world"


async def test_a_contradictory_item_in_a_text_outside_the_index_is_refused_beside_an_indexed_edit():
    # One update: an honest "A" in byte:1 (in the index) and a crafted item in byte:2 (not in
    # it) whose origins contradict that text. The guard compared only byte:1.
    seeded = two_texts_one_indexed()
    editor: Doc = Doc(client_id=2)
    editor.apply_update(seeded.get_update())
    both = merge_updates(typed(editor, 0, "A"), CONTRADICTORY_IN_BYTE_2)
    with closing(FakeRuntime()) as runtime:
        room = Room(runtime, 1, seeded, {1: "hello world"})  # type: ignore[arg-type]
        runtime.made.append(room)
        sender, closes = peer(2)
        room.join(sender)
        room.receive(sender, protocol.sync_update(both))
        room.settle()
        assert closes and closes[0][0] == 4400, closes
        assert str(room.doc.get("byte:1", type=Text)) == "hello world"
        assert str(room.doc.get("byte:2", type=Text)) == "hello world"

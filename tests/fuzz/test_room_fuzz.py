"""Property-based fuzzing of the codec and of a room's message handler (hypothesis).

CI runs a bounded number of examples; `./dev fuzz` runs many more (FUZZ_EXAMPLES, default a
million). Whatever the frames, the handler never raises, only the sender is ever closed, a
refused frame leaves the document as it was, and the document always encodes and decodes.
"""

from __future__ import annotations

import os
from contextlib import closing
from types import SimpleNamespace
from typing import Any

from django.conf import settings as django_settings
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Map, Text

from collab import protocol
from collab.peer import Peer
from collab.room import Room

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))


class FakeRuntime:
    """Just enough of collab.runtime.Runtime for a room: nothing leaves the process."""

    def __init__(self) -> None:
        self.config = SimpleNamespace(
            KB_BYTE_MAX_CHARS=django_settings.KB_BYTE_MAX_CHARS,
            KB_AWARENESS_MAX_BYTES=django_settings.KB_AWARENESS_MAX_BYTES,
            KB_BROADCAST_AFTER_COMMIT=False,
            KB_MATERIALIZE_SECONDS=3600,  # no materialization in this test
        )
        self.stored: list[tuple[int, bytes | None]] = []
        self.after_commit: list[Any] = []  # what the committer would run once stored
        self.published: list[tuple[int, str, bytes]] = []
        self.committer = SimpleNamespace(submit=self._submit, flush=self._flush)
        self.hub = SimpleNamespace(publish_room=lambda module, kind, data, user=None: self.published.append(
            (module, kind, data)))  # fmt: skip
        self.rooms = SimpleNamespace(idle=lambda room: None)
        self.materializer = SimpleNamespace(mark=lambda room: None)
        self.made: list[Room] = []

    def room(self) -> Room:
        """A room over the seeded document; disposed of by `close()` (pycrdt keeps observed
        documents alive from native code: a million undisposed examples fill the memory)."""
        made = Room(self, 1, seed_doc(), {1: "hello world"})  # type: ignore[arg-type]
        self.made.append(made)
        return made

    def close(self) -> None:
        for made in self.made:
            made.dispose()

    def _submit(
        self, module_id: int, data: bytes | None, peer: Any = None, seq: int = 0, then: Any = None
    ) -> None:
        self.stored.append((module_id, data))
        if then is not None:
            self.after_commit.append(then)

    async def _flush(self) -> None:
        pass

    async def run_db(self, fn: Any, *args: Any) -> None:
        return None


def peer(user_id: int, can_write: bool = True) -> tuple[Peer, list[tuple[int, str]]]:
    """A peer, and the list of close codes it was given."""

    async def send(message: dict[str, Any]) -> None:
        pass

    closed: list[tuple[int, str]] = []
    made = Peer(user_id=user_id, username=f"u{user_id}", can_write=can_write, workspace_id=1, send=send,
                close=lambda code, reason: closed.append((code, reason)))  # fmt: skip
    return made, closed


def seed_doc(client_id: int = 1) -> Doc:
    # fixed client ids: hypothesis needs frames to be the same from one run to the next
    doc: Doc = Doc(client_id=client_id)
    doc.get("byte:1", type=Text).insert(0, "hello world")
    return doc


def updates_from_edits(edits: list[tuple[int, str]], client_id: int = 2) -> list[bytes]:
    doc: Doc = Doc(client_id=client_id)
    doc.apply_update(seed_doc().get_update())
    out: list[bytes] = []
    watch = doc.observe(lambda event: out.append(event.update))
    text = doc.get("byte:1", type=Text)
    for position, value in edits:
        current = str(text)
        at = len(current[: position % (len(current) + 1)].encode())
        if value:
            text.insert(at, value)
        elif current:
            del text[0 : len(current[:1].encode())]
    doc.unobserve(watch)  # an observed document is never freed (see Room.dispose)
    return out


def mutate(frame: bytes, how: int, junk: bytes, where: int, flip: int) -> bytes:
    """Truncate, flip a byte, append junk, or replace with junk."""
    if how == 0 and frame:
        return frame[: where % len(frame)]
    if how == 1 and frame:
        at = where % len(frame)
        return frame[:at] + bytes([frame[at] ^ flip]) + frame[at + 1 :]
    if how == 2:
        return frame + (junk or b"\x00")
    return junk


frames_strategy = st.lists(
    st.tuples(st.integers(0, 40), st.text(alphabet="ab é😀\n", max_size=4)), min_size=1, max_size=6
)


steps_strategy = st.lists(
    st.tuples(st.integers(0, 20), st.booleans(), st.integers(0, 3), st.binary(max_size=64),
              st.integers(0, 10**6), st.integers(1, 255)),
    min_size=1,
    max_size=6,
)  # fmt: skip


@settings(max_examples=EXAMPLES, deadline=None)
@given(edits=frames_strategy, steps=steps_strategy)
# two clients inserting at one place, then a refused frame (found by a million-example run)
@example(
    edits=[(0, ""), (0, "aaaa")],
    steps=[(1, False, 0, b"", 0, 1), (1, True, 1, b"", 221, 4), (0, True, 0, b"", 0, 1)],
)
# a binary item at the sender's first clock, then its honest emoji there: Yrs kept the second
# half of the surrogate pair, which encodes as nothing (found by `./dev fuzz`)
@example(
    edits=[(0, "😀")], steps=[(0, True, 1, b"", 7, 7), (0, False, 0, b"", 0, 1), (0, True, 0, b"", 0, 1)]
)
async def test_any_frame_closes_at_most_its_sender(edits, steps):
    with closing(FakeRuntime()) as runtime:
        room = runtime.room()
        (sender, sender_closes), (bystander, bystander_closes) = peer(1), peer(2)
        room.join(sender)
        room.join(bystander)
        candidates = [protocol.sync_update(update) for update in updates_from_edits(edits)]
        candidates += [
            protocol.sync_step1(room.doc.get_state()),
            protocol.awareness_message(protocol.encode_awareness([protocol.AwarenessEntry(7, 1, '{"a":1}')])),
            b"\x03",
        ]
        for pick, mutated, how, junk, where, flip in steps:
            frame = candidates[pick % len(candidates)]
            if mutated:
                frame = mutate(frame, how, junk, where, flip)
            before = room.doc.get_update()
            published = len(runtime.published)
            room.receive(sender, frame)
            room.settle()
            assert not bystander_closes, bystander_closes
            if sender_closes:
                # Refused: the document is as it was, but for what integrated before the refusal
                # (the rest of an update left pending too often), which everyone else was sent.
                relayed: Doc = Doc()
                relayed.apply_update(before)
                for _, kind, data in runtime.published[published:]:
                    if kind == "update":
                        relayed.apply_update(data)
                # Compared decoded: the encoding's order of clients is a hash map's (found by `./dev
                # fuzz`: the same three clients, listed in another order).
                assert protocol.decode_state_vector(relayed.get_state()) == protocol.decode_state_vector(
                    room.doc.get_state()
                ), "a refused frame changed the document"
                assert str(relayed.get("byte:1", type=Text)) == str(room.doc.get("byte:1", type=Text))
                break
            check: Doc = Doc()
            check.apply_update(room.doc.get_update())
            assert str(check.get("byte:1", type=Text)) == str(room.doc.get("byte:1", type=Text))


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.binary(max_size=256))
def test_awareness_decoder_only_raises_protocol_errors(payload):
    try:
        entries = protocol.decode_awareness(payload)
    except protocol.ProtocolError:
        return
    assert protocol.decode_awareness(protocol.encode_awareness(entries)) == entries


@settings(max_examples=EXAMPLES, deadline=None)
@given(edits=frames_strategy)
async def test_honest_edits_are_all_applied(edits):
    """The guards refuse crafted updates only: every update of a real editor goes in."""
    with closing(FakeRuntime()) as runtime:
        room = runtime.room()
        sender, closes = peer(1)
        room.join(sender)
        editor: Doc = Doc(client_id=2)
        editor.apply_update(seed_doc().get_update())
        for update in updates_from_edits(edits):
            room.receive(sender, protocol.sync_update(update))
            room.settle()
            editor.apply_update(update)
        assert not closes, closes
        assert str(room.doc.get("byte:1", type=Text)) == str(editor.get("byte:1", type=Text))
        assert len([data for _, data in runtime.stored if data]) == len(updates_from_edits(edits))


mutation_strategy = st.tuples(
    st.booleans(), st.integers(0, 3), st.binary(max_size=64), st.integers(0, 10**6), st.integers(1, 255)
)


@settings(max_examples=EXAMPLES, deadline=None)
@given(edits=st.lists(frames_strategy, min_size=2, max_size=3), bad=mutation_strategy, at=st.integers(0, 20))
# another person's frame claiming an editor's client id (11) with other content: the editor's
# own edits then split replicas, or got it closed (found by `./dev fuzz`, two seeds)
@example(
    edits=[[(6, "a bb"), (19, "é")], [(0, ""), (2, "😀"), (9, "😀a\na"), (6, "")]],
    bad=(True, 1, b"\x00\x02", 167, 21),
    at=17,
)
@example(
    edits=[[(6, "a bb"), (19, "é")], [(0, ""), (2, "é"), (2, "😀"), (2, "😀")]],
    bad=(True, 1, b"\x00\x02", 167, 21),
    at=17,
)
# another person deleting an editor's clock 0 before it exists: the editor's emoji then lost
# its first half (found by `./dev fuzz`)
@example(edits=[[(0, "")], [(0, "")], [(0, "😀")]], bad=(True, 1, b"", 266, 13), at=0)
# ... and deleting the first half of an emoji that exists: the next honest writer was refused
@example(edits=[[(0, "")], [(0, ""), (0, "a")], [(0, "😀")]], bad=(True, 1, b"", 3128, 13), at=3)
async def test_writes_of_one_turn_are_applied_together(edits, bad, at):
    """Concurrent editors' updates arriving in one turn of the event loop and settled at once,
    with another client's frame among them, maybe mangled: every honest update goes in and is
    stored, no honest editor is closed, and what the room relayed gives everyone its text. The
    editors announce their client ids first, as Yjs clients do on connecting (awareness)."""
    with closing(FakeRuntime()) as runtime:
        room = runtime.room()
        editors = [peer(2 + number) for number in range(len(edits))]
        other, _ = peer(9)
        for joined in [*(made for made, _ in editors), other]:
            room.join(joined)
        for n, (editor, _) in enumerate(editors):
            entry = protocol.AwarenessEntry(10 + n, 1, "{}")
            room.receive(editor, protocol.awareness_message(protocol.encode_awareness([entry])))
        honest = [updates_from_edits(made, client_id=10 + n) for n, made in enumerate(edits)]
        frames = [  # each editor's updates in its own order, interleaved with the others'
            (editors[n][0], protocol.sync_update(made[turn]))
            for turn in range(max(map(len, honest)))
            for n, made in enumerate(honest)
            if turn < len(made)
        ]
        mutated, how, junk, where, flip = bad
        theirs = (updates_from_edits(edits[0], client_id=30) or [protocol.EMPTY_UPDATE])[0]
        frame = protocol.sync_update(theirs)
        frames.insert(
            at % (len(frames) + 1), (other, mutate(frame, how, junk, where, flip) if mutated else frame)
        )
        seed = room.doc.get_update()
        for sender, sent in frames:
            room.receive(sender, sent)
        room.settle()
        for _, closes in editors:
            assert not closes, closes
        expected: Doc = Doc()
        expected.apply_update(seed)
        for update in [update for made in honest for update in made] + [room.doc.get_update()]:
            expected.apply_update(update)  # the room's own too: the other frame may be valid
        assert str(room.doc.get("byte:1", type=Text)) == str(expected.get("byte:1", type=Text))
        stored = {data for _, data in runtime.stored if data}
        assert all(update in stored for made in honest for update in made)
        relayed: Doc = Doc()
        relayed.apply_update(seed)
        for _, kind, data in runtime.published:
            if kind == "update":
                relayed.apply_update(data)
        assert str(relayed.get("byte:1", type=Text)) == str(room.doc.get("byte:1", type=Text))


def _varuint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


# One string item from client 3, left origin "o" (clock 4... of "hello"), right origin "e"
# (clock 1): Yrs places it after the origin, but re-reading the document places it at the
# end. Every replica would disagree; the room refuses it and keeps its text.
CONTRADICTORY = (
    _varuint(1) + _varuint(1) + _varuint(3) + _varuint(0)
    + bytes([0xC4]) + _varuint(1) + _varuint(5) + _varuint(1) + _varuint(2)
    + _varuint(1) + b"X" + _varuint(0)
)  # fmt: skip


# The same in byte:2 of `two_texts_one_indexed()`: origins that text's "o" and "l" (clocks 11 on).
CONTRADICTORY_IN_BYTE_2 = (
    _varuint(1) + _varuint(1) + _varuint(3) + _varuint(0)
    + bytes([0xC4]) + _varuint(1) + _varuint(16) + _varuint(1) + _varuint(13)
    + _varuint(1) + b"X" + _varuint(0)
)  # fmt: skip


def two_texts_one_indexed() -> Doc:
    """byte:1 and byte:2, both "hello world"; only byte:1 is in the module's index."""
    seeded: Doc = Doc(client_id=1)
    seeded.get("byte:1", type=Text).insert(0, "hello world")
    seeded.get("byte:2", type=Text).insert(0, "hello world")
    seeded.get("index", type=Map)["1"] = "Hello"
    return seeded


async def test_an_item_whose_origins_contradict_the_document_is_refused():
    crafted = CONTRADICTORY
    with closing(FakeRuntime()) as runtime:
        room = runtime.room()
        sender, closes = peer(1)
        room.join(sender)
        room.receive(sender, protocol.sync_update(crafted))
        room.settle()
        assert closes and closes[0][0] == 4400, closes
        assert str(room.doc.get("byte:1", type=Text)) == "hello world"
        assert not [data for _, data in runtime.stored if data]


async def test_a_contradictory_update_among_others_of_one_turn_refuses_only_its_sender():
    with closing(FakeRuntime()) as runtime:
        room = runtime.room()
        (honest, honest_closes), (crafter, crafter_closes) = peer(1), peer(2)
        room.join(honest)
        room.join(crafter)
        first, last = updates_from_edits([(0, "A"), (12, "Z")])
        room.receive(honest, protocol.sync_update(first))
        room.receive(crafter, protocol.sync_update(CONTRADICTORY))
        room.receive(honest, protocol.sync_update(last))
        room.settle()
        assert not honest_closes and crafter_closes and crafter_closes[0][0] == 4400, crafter_closes
        assert str(room.doc.get("byte:1", type=Text)) == "Ahello worldZ"
        assert [data for _, data in runtime.stored if data] == [first, last]


async def test_a_contradictory_update_to_a_text_outside_the_index_is_refused_in_a_batch_too():
    # byte:1 is in the module's index (watched by the room), byte:2 is not: the crafted item
    # goes into byte:2 (its origins are that text's "o" and "l", clocks 11 on), next to an
    # honest edit of byte:1 in the same turn. The room compares every text when a write
    # changed none it watches, in a batch as on its own.
    seeded = two_texts_one_indexed()
    crafted = CONTRADICTORY_IN_BYTE_2
    alone: Doc = Doc()
    alone.apply_update(seeded.get_update())
    alone.apply_update(crafted)
    reread: Doc = Doc()
    reread.apply_update(alone.get_update())
    assert str(reread.get("byte:2", type=Text)) != str(alone.get("byte:2", type=Text)), "not contradictory"
    editor: Doc = Doc(client_id=2)
    editor.apply_update(seeded.get_update())
    state = editor.get_state()
    editor.get("byte:1", type=Text).insert(0, "A")
    honest_update = editor.get_update(state)
    with closing(FakeRuntime()) as runtime:
        room = Room(runtime, 1, seeded, {1: "hello world"})  # type: ignore[arg-type]
        runtime.made.append(room)
        (honest, honest_closes), (crafter, crafter_closes) = peer(1), peer(2)
        room.join(honest)
        room.join(crafter)
        room.receive(honest, protocol.sync_update(honest_update))
        room.receive(crafter, protocol.sync_update(crafted))
        room.settle()
        assert not honest_closes and crafter_closes and crafter_closes[0][0] == 4400, crafter_closes
        assert str(room.doc.get("byte:1", type=Text)) == "Ahello world"
        assert str(room.doc.get("byte:2", type=Text)) == "hello world"


async def test_a_client_sending_its_own_clock_again_with_other_content_is_refused():
    """A binary item at the sender's clock 0, then its honest emoji (two UTF-16 units) from
    clock 0: Yrs integrates the part it lacks, the emoji's second half, a lone surrogate that
    encodes as nothing. The document's state vector would claim a clock its encoding does not
    hold, and every replica would wait on it for ever; the second update is refused, alone or
    among an honest editor's writes of the same turn (found by `./dev fuzz`)."""
    emoji = updates_from_edits([(0, "😀")])[0]
    binary = bytearray(emoji)
    assert binary[4] == 0x44  # a string item with a right origin ...
    binary[4] = 0x43  # ... now binary content of the same four bytes
    other = updates_from_edits([(11, "!")], client_id=3)[0]
    for together in (False, True):
        with closing(FakeRuntime()) as runtime:
            room = runtime.room()
            (crafter, crafter_closes), (honest, honest_closes) = peer(1), peer(2)
            room.join(crafter)
            room.join(honest)
            room.receive(crafter, protocol.sync_update(bytes(binary)))
            room.settle()
            assert not crafter_closes
            room.receive(crafter, protocol.sync_update(emoji))
            if together:
                room.receive(honest, protocol.sync_update(other))
            room.settle()
            assert crafter_closes and crafter_closes[0][0] == 4400, crafter_closes
            assert not honest_closes
            reread: Doc = Doc()
            reread.apply_update(room.doc.get_update())
            assert protocol.decode_state_vector(reread.get_state()) == protocol.decode_state_vector(
                room.doc.get_state()
            )
            assert str(room.doc.get("byte:1", type=Text)) == ("hello world!" if together else "hello world")
            stored = [data for _, data in runtime.stored if data]
            assert stored == [bytes(binary)] + ([other] if together else [])


async def test_content_under_another_persons_client_id_is_not_applied():
    """Client 11 is announced by user 2's socket (here, or on another process: its state
    stamped with user 2). User 3 adding clocks to it is asked to sync again, and closed after
    repeated tries; another socket of user 2 (a second tab, a reconnection) may write there."""
    claimed = updates_from_edits([(0, "X")], client_id=11)[0]
    for remote in (False, True):
        with closing(FakeRuntime()) as runtime:
            room = runtime.room()
            (owner, _), (other, other_closes), (tab, tab_closes) = peer(2), peer(3), peer(2)
            for joined in (owner, other, tab):
                room.join(joined)
            if remote:
                room.remote("awareness", protocol.encode_awareness(
                    [protocol.AwarenessEntry(11, 1, '{"user":{"id":2,"name":"u2"}}')]), None)  # fmt: skip
            else:
                entry = protocol.AwarenessEntry(11, 1, "{}")
                room.receive(owner, protocol.awareness_message(protocol.encode_awareness([entry])))
            stored = len(runtime.stored)
            for attempt in range(4):
                room.receive(other, protocol.sync_update(claimed))
                room.settle()
                assert str(room.doc.get("byte:1", type=Text)) == "hello world"
                assert bool(other_closes) == (attempt == 3), (attempt, other_closes)
            assert other_closes[0] == (4400, "updates keep adding to another person's client id")
            assert len(runtime.stored) == stored  # nothing of it stored
            room.receive(tab, protocol.sync_update(claimed))
            room.settle()
            assert not tab_closes and str(room.doc.get("byte:1", type=Text)) == "Xhello world"

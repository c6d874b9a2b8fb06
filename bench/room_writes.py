"""`python -m bench.room_writes`: what a room's write path costs per update, by document size.

Before a room relays an update that inserts text it checks that its document still reads the
same from its own encoding (collab/room.py, `_reads_back`), which costs an encode and a decode
of the whole module document. Updates that arrive in one turn of the event loop are checked
together. This prints the CPU time per update of: a plain pycrdt apply (the baseline, measured
in the same run), the room taking updates one per turn, and the room taking them eight per turn
(four editors typing in one module), for modules of growing size. In-process, no sockets.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from types import SimpleNamespace
from typing import Any

import django
from pycrdt import Doc, Map, Text

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kb.settings")
os.environ.setdefault("SECRET_KEY", "bench-room-writes-serves-nothing")
django.setup()

from collab import protocol  # noqa: E402
from collab.peer import Peer  # noqa: E402
from collab.room import Room  # noqa: E402
from collab.store import INDEX, text_name  # noqa: E402

SIZES = [(1, 200), (10, 1_000), (20, 2_500), (50, 2_000)]  # (bytes in the module, edits per byte)


def module_doc(byte_count: int, edits: int, rng: random.Random) -> Doc:
    """A module whose bytes were each typed `edits` characters, with edits all over the text."""
    doc: Doc = Doc(client_id=1)
    index = doc.get(INDEX, type=Map)
    for byte_id in range(1, byte_count + 1):
        index[str(byte_id)] = f"Byte {byte_id}"
        text = doc.get(text_name(byte_id), type=Text)
        for _ in range(edits):
            if len(text) > 20 and rng.random() < 0.1:
                at = rng.randrange(len(text) - 1)
                del text[at : at + 1]
            else:
                text.insert(rng.randrange(len(text) + 1), rng.choice("abcdefgh \n"))
    return doc


def keystrokes(doc: Doc, editors: int, count: int) -> list[tuple[int, bytes]]:
    """`count` one-character updates from `editors` clients typing in byte 1, interleaved: each
    the update of its transaction, as a Yjs client sends it (only that transaction's deletions;
    a diff against a state vector would carry the document's whole delete set)."""
    replicas = []
    for number in range(editors):
        replica: Doc = Doc(client_id=100 + number)
        replica.apply_update(doc.get_update())
        replicas.append(replica)
    made: list[tuple[int, bytes]] = []
    sent: list[bytes] = []
    for step in range(count):
        editor = step % editors
        replica = replicas[editor]
        text = replica.get(text_name(1), type=Text)
        watch = replica.observe(lambda event: sent.append(event.update))
        text.insert(min(len(text), 10 + 20 * editor), "k")
        replica.unobserve(watch)  # (an observed document is never freed: see Room.dispose)
        made.append((editor, sent.pop()))
    return made


class QuietRuntime:
    """What a room needs of collab.runtime.Runtime, keeping nothing: only the room is measured."""

    def __init__(self) -> None:
        self.config = SimpleNamespace(
            KB_BYTE_MAX_CHARS=1_000_000,
            KB_AWARENESS_MAX_BYTES=4096,
            KB_BROADCAST_AFTER_COMMIT=False,
        )
        self.committer = SimpleNamespace(submit=lambda *args, **kwargs: None)
        self.hub = SimpleNamespace(publish_room=lambda *args, **kwargs: None)
        self.rooms = SimpleNamespace(idle=lambda room: None)
        self.materializer = SimpleNamespace(mark=lambda room: None)


def make_peer(user_id: int) -> Peer:
    async def send(message: dict[str, Any]) -> None:
        pass

    def close(code: int, reason: str) -> None:
        raise AssertionError(f"an honest editor was closed: {code} {reason}")

    return Peer(
        user_id=user_id, username=f"u{user_id}", can_write=True, workspace_id=1, send=send, close=close
    )


def plain(doc: Doc, made: list[tuple[int, bytes]]) -> float:
    replica: Doc = Doc()
    replica.apply_update(doc.get_update())
    began = time.process_time()
    for _, update in made:
        replica.apply_update(update)
    return (time.process_time() - began) / len(made)


async def through_room(doc: Doc, made: list[tuple[int, bytes]], per_turn: int) -> float:
    loaded: Doc = Doc()
    loaded.apply_update(doc.get_update())
    room = Room(QuietRuntime(), 1, loaded, {})  # type: ignore[arg-type]
    peers = [make_peer(number + 2) for number in range(max(editor for editor, _ in made) + 1)]
    for peer in peers:
        room.join(peer)
        peer.outbox.closed = True  # nothing is sent: the room's own work is measured
    began = time.process_time()
    for start in range(0, len(made), per_turn):
        for editor, update in made[start : start + per_turn]:
            room.receive(peers[editor], protocol.sync_update(update))
        room.settle()
    spent = (time.process_time() - began) / len(made)
    room.dispose()
    return spent


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--updates", type=int, default=400, help="updates per measurement")
    parser.add_argument("--sizes", type=int, default=len(SIZES), help="how many of the module sizes")
    args = parser.parse_args()
    rng = random.Random(7)
    print("module (bytes x edits)  doc KiB  plain us  one per turn us (x plain)  8 per turn us (x plain)")
    for byte_count, edits in SIZES[: args.sizes]:
        doc = module_doc(byte_count, edits, rng)
        made = keystrokes(doc, editors=4, count=args.updates)
        base = plain(doc, made)
        single = await through_room(doc, made, 1)
        batched = await through_room(doc, made, 8)
        size = len(doc.get_update()) / 1024
        print(
            f"{byte_count:>6} x {edits:<6}       {size:7.1f}  {base * 1e6:8.1f}"
            f"  {single * 1e6:10.1f} ({single / base:5.1f}x)"
            f"        {batched * 1e6:9.1f} ({batched / base:5.1f}x)"
        )


if __name__ == "__main__":
    asyncio.run(main())

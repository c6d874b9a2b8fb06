"""A named corpus of hostile WebSocket frames for kb's rooms, with what the server must do.

Each entry is one or more frames an attacker (an editor, so writes are not refused for lack of
rights) sends on its own socket after syncing, and the outcomes allowed: a close code (see
README "Close codes") or KEPT (the frame is dropped or answered; the socket stays usable).
Whatever the frame, the room's content is unchanged for everyone else and the process stays up.
Frames given as a function are built for the room at hand (`Target`: another person's client
id, a byte, the attacker's synced document). `setup` frames are honest edits sent first; the
content they leave is what must stay unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import orjson
from pycrdt import Doc, Text

from collab.protocol import decode_state_vector

KEPT = 0  # not closed: dropped or answered
FRAME_LIMIT = 1024 * 1024  # KB_WS_MAX_FRAME_BYTES's default


def vu(value: int) -> bytes:
    """A lib0 varUint of any size (the server's own encoder refuses nothing either)."""
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def vs(text: str) -> bytes:
    raw = text.encode()
    return vu(len(raw)) + raw


def update(payload: bytes) -> bytes:
    return b"\x00\x02" + vu(len(payload)) + payload


def step2(payload: bytes) -> bytes:
    return b"\x00\x01" + vu(len(payload)) + payload


def step1(payload: bytes) -> bytes:
    return b"\x00\x00" + vu(len(payload)) + payload


def awareness(entries: list[tuple[int, int, str]]) -> bytes:
    payload = vu(len(entries)) + b"".join(vu(c) + vu(k) + vs(s) for c, k, s in entries)
    return b"\x01" + vu(len(payload)) + payload


def one_struct(client: int, clock: int, info: int, rest: bytes) -> bytes:
    """An update with one struct of one client and an empty delete set."""
    return vu(1) + vu(1) + vu(client) + vu(clock) + bytes([info]) + rest + vu(0)


def in_root(name: str) -> bytes:
    return b"\x01" + vs(name)  # parent info 1: a root type, by name


def big_state_vector(size: int) -> bytes:
    """A well-formed state vector of `size` bytes: 5 bytes per client (4-byte id, clock 0)."""
    count = (size - 3) // 5
    body = b"".join(vu((1 << 21) + n) + b"\x00" for n in range(count))
    head = bytes([0x80 | (count & 0x7F), 0x80 | ((count >> 7) & 0x7F), count >> 14])  # 3-byte varUint
    return head + body


@dataclass(frozen=True)
class Target:
    other_client: int  # another person's client id in the room
    byte_id: int
    state: bytes  # the attacker's document once synced


def _honest_insert(target: Target) -> list[bytes]:
    """Client 3 types "hello world" at the start of the byte: the origins of the next entry."""
    doc: Doc = Doc(client_id=3)
    doc.apply_update(target.state)
    before = doc.get_state()
    doc.get(f"byte:{target.byte_id}", type=Text).insert(0, "hello world")
    return [update(doc.get_update(before))]


def _next_clock(target: Target) -> int:
    """The other person's next clock, as the attacker's synced document has it."""
    doc: Doc = Doc()
    doc.apply_update(target.state)
    return decode_state_vector(doc.get_state()).get(target.other_client, 0)


def _contradiction(target: Target) -> bytes:
    """A string item whose left origin (client 3's " ") lies right of its right origin (its "l"):
    every replica would place it differently (see tests/fuzz/test_room_fuzz.py)."""
    return update(one_struct(4, 0, 0xC4, vu(3) + vu(5) + vu(3) + vu(2) + vs("X")))


def _pending_update() -> bytes:
    # A valid item that depends on a client the server has never seen: it would stay pending.
    doc: Doc = Doc(client_id=424242)
    text = doc.get("byte:1", type=Text)
    text.insert(0, "a")
    first = doc.get_state()
    text.insert(1, "b")
    return doc.get_update(first)


Frames = bytes | str | list[bytes | str]


@dataclass(frozen=True)
class Entry:
    make: Callable[[Target], Frames]
    allowed: frozenset[int]
    why: str
    setup: Callable[[Target], list[bytes]] | None = None

    def frames(self, target: Target) -> list[bytes | str]:
        made = self.make(target)
        return list(made) if isinstance(made, list) else [made]


def entry(
    frames: Frames | Callable[[Target], Frames],
    *allowed: int,
    why: str = "",
    setup: Callable[[Target], list[bytes]] | None = None,
) -> Entry:
    make = frames if callable(frames) else (lambda _target, f=frames: f)
    return Entry(make, frozenset(allowed), why, setup)


# fmt: off
CORPUS: dict[str, Entry] = {
    # --- not y-websocket at all ---
    "text frame": entry("hello", 4400, why="text frames are not part of the protocol"),
    "empty text frame": entry("", 4400),
    "json text frame": entry('{"type":"sync"}', 4400),
    "empty binary frame": entry(b"", 4400),
    "all ones": entry(b"\xff" * 1000, 4400),
    "http request in a frame": entry(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 4400),
    # --- message types ---
    "unknown message type 7": entry(b"\x07", 4400),
    "hocuspocus-style type 5": entry(b"\x05\x00", 4400),
    "kb's saved message from a client": entry(b"\x04\x01", 4400, why="the server sends it, clients do not"),
    "server-only auth message": entry(b"\x02\x00\x02hi", 4400),
    "auth message with bad utf-8": entry(b"\x02\x00\x02\xff\xfe", 4400),
    "huge message type": entry(b"\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 4400),
    "query awareness with trailing bytes": entry(b"\x03\x00", 4400),
    # --- varints and lengths ---
    "truncated sync": entry(b"\x00", 4400),
    "unknown sync type": entry(b"\x00\x05\x00", 4400),
    "truncated varint length": entry(b"\x00\x02\x85", 4400),
    "overlong varint (12 bytes)": entry(b"\x00\x02" + b"\x80" * 12 + b"\x00", 4400),
    "varint just past 2**53": entry(b"\x00\x02" + vu(2**53 + 1), 4400),
    "length past the end": entry(b"\x00\x02\x10abc", 4400),
    "huge length prefix": entry(b"\x00\x02\xff\xff\xff\xff\xff\xff\x0f", 4400),
    "length prefix 2**53": entry(b"\x00\x02" + vu(2**53) + b"x", 4400),
    "trailing garbage after step 1": entry(b"\x00\x00\x01\x00zzz", 4400),
    "two messages in one frame (y-websocket 4)": entry(step1(b"\x00") + b"\x03", 4400),
    # --- updates the CRDT library refuses, or would turn against the room ---
    "garbage update": entry(update(b"\xde\xad\xbe\xef"), 4400),
    "update with impossible counts": entry(update(b"\xff\xff\xff\xff\x0f\x00\x00\x00"), 4400),
    "update v2 header": entry(update(b"\x00" * 10 + b"\x01\x02\x03"), 4400),
    "garbage sync step 2": entry(step2(b"\x01\x02\x03\x04\x05"), 4400),
    "unknown content ref": entry(update(one_struct(9, 0, 0x0C, in_root("byte:1"))), 4400),
    "type ref out of range": entry(update(one_struct(9, 0, 0x07, in_root("byte:1") + vu(99))), 4400),
    "embed with bad json": entry(update(one_struct(9, 0, 0x05, in_root("byte:1") + vs("{nope"))), 4400),
    "any content with bad tag": entry(
        update(one_struct(9, 0, 0x08, in_root("byte:1") + vu(1) + b"\xc8")), 4400
    ),
    "parent is a string item": entry(
        update(one_struct(9, 0, 0x04, b"\x00" + vu(424242) + vu(0) + vs("X"))),
        4400,
        KEPT,
        why="its parent is unknown: pending, or refused",
    ),
    "subdocument content": entry(update(one_struct(9, 0, 0x09, in_root("byte:1") + vs("g") + vu(0))), 4400),
    "contradictory origins": entry(_contradiction, 4400, setup=_honest_insert),
    "own clock sent again with other content": entry(
        lambda t: [
            update(one_struct(9, 0, 0x03, in_root(f"byte:{t.byte_id}") + vs("😀"))),  # binary, one clock
            update(one_struct(9, 0, 0x04, in_root(f"byte:{t.byte_id}") + vs("😀"))),  # a string, two
        ],
        4400,
        why="the string's second half, a lone surrogate, would encode as nothing (found by ./dev fuzz)",
    ),
    "an item under the writer's client id": entry(
        lambda t: update(
            one_struct(t.other_client, _next_clock(t), 0x04, in_root(f"byte:{t.byte_id}") + vs("X"))
        ),
        KEPT,
        why="that client id is another person's (announced): not applied; the sender is asked to sync",
    ),
    "update that stays pending": entry(
        update(_pending_update()), KEPT, why="refused quietly; the sender is asked to sync again"
    ),
    "pending update five times": entry(
        [update(_pending_update())] * 5, 4400, why="a client that keeps sending dangling updates is closed"
    ),
    "empty update": entry(update(b"\x00\x00"), KEPT, why="nothing to store, acknowledged in order"),
    "gc struct of 2**40 clocks": entry(
        update(one_struct(9, 0, 0x00, vu(2**40))), KEPT, 4400, why="tombstones only: no content changes"
    ),
    # --- state vectors ---
    "garbage state vector": entry(step1(b"\xff\xff\xff\x7f"), 4400),
    "state vector with 2**32 clients": entry(
        step1(vu(2**32)), KEPT, 4400, why="pycrdt reads no entries and answers everything"
    ),
    "state vector of 1 MiB": entry(
        step1(big_state_vector(FRAME_LIMIT - 16)), KEPT, why="well-formed: answered with a sync step 2"
    ),
    # --- size limits ---
    "frame just over the limit": entry(update(b"\x00" * (FRAME_LIMIT + 8)), 4413, 1009),
    "frame of 2 MiB": entry(update(b"\x00" * (2 * FRAME_LIMIT)), 1009, 4413, 1006,
                            why="uvicorn refuses it (1009) before reading it whole; a client still "
                                "sending may see only the reset connection (1006)"),
    # --- awareness ---
    "awareness not json": entry(awareness([(7, 1, "{x}")]), 4400),
    "awareness json array": entry(awareness([(7, 1, "[1]")]), 4400),
    "awareness json number": entry(awareness([(7, 1, "42")]), 4400),
    "awareness bad utf-8": entry(b"\x01\x06\x01\x07\x01\x02\xff\xfe", 4400),
    "awareness truncated": entry(b"\x01\x05\x01\x07\x01\x09{", 4400),
    "awareness too many entries": entry(b"\x01\x04\xff\xff\x03\x00", 4400),
    "awareness nested 2000 deep": entry(awareness([(7, 1, "[" * 2000 + "]" * 2000)]), 4400),
    "awareness over 8 KiB": entry(awareness([(7, 1, orjson.dumps({"x": "y" * 9000}).decode())]), 4413),
    "awareness clock 2**53": entry(awareness([(7, 2**53, "{}")]), KEPT, 4400),
    "awareness for someone else's client": entry(
        lambda t: awareness([(t.other_client, 10**6, '{"user":{"name":"mallory"}}')]),
        KEPT,
        why="not yours to change: dropped",
    ),
    "awareness removing someone else": entry(lambda t: awareness([(t.other_client, 10**6, "null")]), KEPT),
    "awareness claiming another name": entry(
        awareness([(7, 1, '{"user":{"name":"olive","id":1}}')]), KEPT, why="identity is stamped by the server"
    ),
    "awareness for 50 client ids": entry(
        awareness([(1000 + n, 1, "{}") for n in range(50)]), KEPT, why="at most 8 per socket are kept"
    ),
    # --- floods ---
    "flood of query-awareness": entry([b"\x03"] * 3000, 4429),
    "flood of empty updates": entry([update(b"\x00\x00")] * 3000, 4429),
}
# fmt: on

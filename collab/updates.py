"""Reading the structure of a Yjs update (v1 encoding), as pure functions.

The room needs to know, before it applies a client's update, whether it inserts items at all
and where they claim to go: an item is placed between its left and right origins, and an item
whose origins contradict the document is integrated differently by every replica, Yjs
included, and differently again when the document is read back from storage (found by
tests/fuzz). Format: yjs src/utils/encoding.js (UpdateDecoderV1) and lib0 decoding.js.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from .protocol import ProtocolError, read_var_bytes, read_var_string, read_var_uint

ID = tuple[int, int]  # (client, clock)


@dataclass(frozen=True, slots=True)
class Item:
    client: int
    clock: int
    length: int
    origin: ID | None
    right_origin: ID | None

    def covers(self, id_: ID | None) -> bool:
        return id_ is not None and id_[0] == self.client and self.clock <= id_[1] < self.clock + self.length


def _read_id(data: bytes, pos: int) -> tuple[ID, int]:
    client, pos = read_var_uint(data, pos)
    clock, pos = read_var_uint(data, pos)
    return (client, clock), pos


def _read_var_int(data: bytes, pos: int) -> int:
    """lib0 varInt: sign in bit 6 of the first byte. Only skipped here."""
    if pos >= len(data):
        raise ProtocolError("truncated varInt")
    byte = data[pos]
    pos += 1
    shift = 6
    while byte & 0x80:
        if pos >= len(data):
            raise ProtocolError("truncated varInt")
        byte = data[pos]
        pos += 1
        shift += 7
        if shift > 70:
            raise ProtocolError("varInt too long")
    return pos


def _skip_any(data: bytes, pos: int, depth: int = 0) -> int:
    if depth > 64:
        raise ProtocolError("value nested too deeply")
    if pos >= len(data):
        raise ProtocolError("truncated value")
    kind = data[pos]
    pos += 1
    if kind in (127, 126, 121, 120):  # undefined, null, false, true
        return pos
    if kind == 125:
        return _read_var_int(data, pos)
    if kind in (124, 123, 122):  # float32, float64, bigint
        size = 4 if kind == 124 else 8
        if pos + size > len(data):
            raise ProtocolError("truncated number")
        return pos + size
    if kind == 119:
        return read_var_string(data, pos)[1]
    if kind == 118:
        count, pos = read_var_uint(data, pos)
        for _ in range(count):
            pos = read_var_string(data, pos)[1]
            pos = _skip_any(data, pos, depth + 1)
        return pos
    if kind == 117:
        count, pos = read_var_uint(data, pos)
        for _ in range(count):
            pos = _skip_any(data, pos, depth + 1)
        return pos
    if kind == 116:
        return read_var_bytes(data, pos)[1]
    raise ProtocolError(f"unknown value type {kind}")


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _content(data: bytes, pos: int, ref: int) -> tuple[int, int]:
    """Skip an item's content; returns (its length in clock units, next position)."""
    if ref == 1:  # deleted
        return read_var_uint(data, pos)
    if ref == 2:  # JSON
        count, pos = read_var_uint(data, pos)
        for _ in range(count):
            pos = read_var_string(data, pos)[1]
        return count, pos
    if ref == 3:  # binary
        return 1, read_var_bytes(data, pos)[1]
    if ref == 4:  # string
        text, pos = read_var_string(data, pos)
        return _utf16_length(text), pos
    if ref == 5:  # embed
        return 1, read_var_string(data, pos)[1]
    if ref == 6:  # format
        pos = read_var_string(data, pos)[1]
        return 1, read_var_string(data, pos)[1]
    if ref == 7:  # type
        type_ref, pos = read_var_uint(data, pos)
        if type_ref in (3, 5):  # XmlElement, XmlHook carry a name
            pos = read_var_string(data, pos)[1]
        return 1, pos
    if ref == 8:  # any
        count, pos = read_var_uint(data, pos)
        for _ in range(count):
            pos = _skip_any(data, pos)
        return count, pos
    if ref == 9:  # subdocument
        pos = read_var_string(data, pos)[1]
        return 1, _skip_any(data, pos)
    raise ProtocolError(f"unknown content type {ref}")


class Parsed(NamedTuple):
    inserted: list[Item]
    deleted: dict[int, int]  # per client, the end of the last clock it deletes
    roots: set[str]  # the root types its items name as their parent


def items(update: bytes) -> list[Item]:
    """The items an update inserts (GC and skip structs left out). ProtocolError if malformed."""
    return parse(update).inserted


def parse(update: bytes) -> Parsed:
    """What an update inserts, deletes, and the roots it names. ProtocolError if malformed.
    (An item with an origin names no parent: it goes where its origin is.)"""
    found: list[Item] = []
    roots: set[str] = set()
    clients, pos = read_var_uint(update, 0)
    if clients > len(update):
        raise ProtocolError("more clients than bytes")
    for _ in range(clients):
        count, pos = read_var_uint(update, pos)
        if count > len(update):
            raise ProtocolError("more structs than bytes")
        client, pos = read_var_uint(update, pos)
        clock, pos = read_var_uint(update, pos)
        for _ in range(count):
            if pos >= len(update):
                raise ProtocolError("truncated struct")
            info = update[pos]
            pos += 1
            ref = info & 0x1F
            if ref in (0, 10):  # GC, skip
                length, pos = read_var_uint(update, pos)
                clock += length
                continue
            origin = right = None
            if info & 0x80:
                origin, pos = _read_id(update, pos)
            if info & 0x40:
                right, pos = _read_id(update, pos)
            if not info & 0xC0:  # no origins: the parent is written out
                parent_is_root, pos = read_var_uint(update, pos)
                if parent_is_root == 1:
                    root, pos = read_var_string(update, pos)
                    roots.add(root)
                else:
                    pos = _read_id(update, pos)[1]
                if info & 0x20:
                    pos = read_var_string(update, pos)[1]
            length, pos = _content(update, pos, ref)
            if length <= 0:
                raise ProtocolError("empty item")
            found.append(Item(client, clock, length, origin, right))
            clock += length
    return Parsed(found, _read_delete_set(update, pos), roots)


def _read_delete_set(update: bytes, pos: int) -> dict[int, int]:
    ends: dict[int, int] = {}
    clients, pos = read_var_uint(update, pos)
    for _ in range(clients):
        client, pos = read_var_uint(update, pos)
        ranges, pos = read_var_uint(update, pos)
        for _ in range(ranges):
            clock, pos = read_var_uint(update, pos)
            length, pos = read_var_uint(update, pos)
            ends[client] = max(ends.get(client, 0), clock + length)
    if pos != len(update):
        raise ProtocolError("trailing bytes after the update")
    return ends


def check(found: list[Item]) -> None:
    """Refuse items that no replica can place. (Whether an item's origins agree with the
    document's order cannot be read from the update alone: Room._apply_guarded checks that.)"""
    for item in found:
        if item.covers(item.origin) or item.covers(item.right_origin):
            raise ProtocolError("an item cannot be its own origin")
        if item.origin is not None and item.origin == item.right_origin:
            raise ProtocolError("an item's left and right origins are the same item")

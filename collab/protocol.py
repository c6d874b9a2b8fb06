"""The y-websocket wire protocol, as pure functions: no I/O, no Django.

One binary WebSocket frame holds one message (y-websocket 3.x). Every length is checked
against the bytes actually present, so a truncated or hostile frame raises `ProtocolError`
instead of reading past the end or allocating what a length prefix claims.
See shared/PROTOCOL.md and README "Live co-editing" for the message table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class MessageType(IntEnum):
    SYNC = 0
    AWARENESS = 1
    AUTH = 2
    QUERY_AWARENESS = 3
    # kb extension, sent only to clients that asked for it (`?ack=1`): varUint(n) = the client's
    # first n sync-step-2/update messages on this connection are durably stored.
    SAVED = 4


class SyncType(IntEnum):
    STEP1 = 0
    STEP2 = 1
    UPDATE = 2


AUTH_PERMISSION_DENIED = 0
EMPTY_UPDATE = b"\x00\x00"
EMPTY_STATE_VECTOR = b"\x00"  # a client that holds nothing yet
MAX_VAR_UINT = 2**53  # what lib0 can represent (JavaScript's safe integers)


class ProtocolError(ValueError):
    """The frame is not a valid y-websocket message."""


# --- lib0 primitives --------------------------------------------------------------------------


def write_var_uint(value: int) -> bytes:
    if value < 0:
        raise ValueError("varUint cannot be negative")
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def read_var_uint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, next position). Rejects truncation and values past 2**53."""
    value = shift = 0
    end = len(data)
    while True:
        if pos >= end:
            raise ProtocolError("truncated varUint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            break
        shift += 7
        if shift > 53:
            raise ProtocolError("varUint too long")
    if value > MAX_VAR_UINT:
        raise ProtocolError("varUint too large")
    return value, pos


def read_var_bytes(data: bytes, pos: int) -> tuple[bytes, int]:
    length, pos = read_var_uint(data, pos)
    end = pos + length
    if end > len(data):
        raise ProtocolError(f"length prefix {length} runs past the end of the frame")
    return data[pos:end], end


def write_var_bytes(payload: bytes) -> bytes:
    return write_var_uint(len(payload)) + payload


def read_var_string(data: bytes, pos: int) -> tuple[str, int]:
    raw, pos = read_var_bytes(data, pos)
    try:
        return raw.decode("utf-8"), pos
    except UnicodeDecodeError:
        raise ProtocolError("string is not UTF-8") from None


def write_var_string(text: str) -> bytes:
    return write_var_bytes(text.encode("utf-8"))


# --- messages ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sync:
    kind: SyncType
    payload: bytes  # state vector (STEP1) or update (STEP2, UPDATE)


@dataclass(frozen=True, slots=True)
class Awareness:
    payload: bytes  # an awareness update, see decode_awareness


@dataclass(frozen=True, slots=True)
class QueryAwareness:
    pass


@dataclass(frozen=True, slots=True)
class Auth:
    kind: int
    reason: str


Message = Sync | Awareness | QueryAwareness | Auth


def _expect_end(data: bytes, pos: int) -> None:
    if pos != len(data):
        raise ProtocolError(f"{len(data) - pos} trailing bytes after the message")


def decode(frame: bytes) -> Message:
    """Parse one client frame. Raises ProtocolError for anything that is not one whole message."""
    kind, pos = read_var_uint(frame, 0)
    if kind == MessageType.SYNC:
        sub, pos = read_var_uint(frame, pos)
        if sub not in (SyncType.STEP1, SyncType.STEP2, SyncType.UPDATE):
            raise ProtocolError(f"unknown sync message type {sub}")
        payload, pos = read_var_bytes(frame, pos)
        _expect_end(frame, pos)
        return Sync(SyncType(sub), payload)
    if kind == MessageType.AWARENESS:
        payload, pos = read_var_bytes(frame, pos)
        _expect_end(frame, pos)
        return Awareness(payload)
    if kind == MessageType.QUERY_AWARENESS:
        _expect_end(frame, pos)
        return QueryAwareness()
    if kind == MessageType.AUTH:
        sub, pos = read_var_uint(frame, pos)
        reason, pos = read_var_string(frame, pos)
        _expect_end(frame, pos)
        return Auth(sub, reason)
    raise ProtocolError(f"unknown message type {kind}")


def sync_step1(state_vector: bytes) -> bytes:
    return b"\x00\x00" + write_var_bytes(state_vector)


def sync_step2(update: bytes) -> bytes:
    return b"\x00\x01" + write_var_bytes(update)


def sync_update(update: bytes) -> bytes:
    return b"\x00\x02" + write_var_bytes(update)


def awareness_message(update: bytes) -> bytes:
    return b"\x01" + write_var_bytes(update)


def permission_denied(reason: str) -> bytes:
    return b"\x02\x00" + write_var_string(reason)


def saved(count: int) -> bytes:
    return b"\x04" + write_var_uint(count)


# A message the stock client reads and ignores: an awareness update with zero entries. Sent as
# a keep-alive, because y-websocket drops a socket that received nothing for 30 s.
KEEPALIVE = awareness_message(b"\x00")


def decode_state_vector(state_vector: bytes) -> dict[int, int]:
    """client id -> next expected clock, from a Yjs state vector."""
    count, pos = read_var_uint(state_vector, 0)
    clocks = {}
    for _ in range(count):
        client, pos = read_var_uint(state_vector, pos)
        clocks[client], pos = read_var_uint(state_vector, pos)
    return clocks


# --- awareness --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AwarenessEntry:
    client_id: int
    clock: int
    state: str  # JSON text; "null" means the client left


def decode_awareness(payload: bytes, *, max_entries: int = 1000) -> list[AwarenessEntry]:
    count, pos = read_var_uint(payload, 0)
    if count > max_entries:
        raise ProtocolError(f"awareness update with {count} entries")
    entries = []
    for _ in range(count):
        client_id, pos = read_var_uint(payload, pos)
        clock, pos = read_var_uint(payload, pos)
        state, pos = read_var_string(payload, pos)
        entries.append(AwarenessEntry(client_id, clock, state))
    _expect_end(payload, pos)
    return entries


def encode_awareness(entries: list[AwarenessEntry]) -> bytes:
    parts = [write_var_uint(len(entries))]
    for entry in entries:
        parts.append(write_var_uint(entry.client_id))
        parts.append(write_var_uint(entry.clock))
        parts.append(write_var_string(entry.state))
    return b"".join(parts)

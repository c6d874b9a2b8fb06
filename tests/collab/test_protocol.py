"""The codec: byte-exact round trips and every kind of broken frame."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collab import protocol
from collab.protocol import AwarenessEntry, ProtocolError


@given(st.integers(min_value=0, max_value=2**53))
def test_var_uint_round_trip(value):
    encoded = protocol.write_var_uint(value)
    assert protocol.read_var_uint(encoded, 0) == (value, len(encoded))


def test_known_encodings():
    assert protocol.write_var_uint(0) == b"\x00"
    assert protocol.write_var_uint(127) == b"\x7f"
    assert protocol.write_var_uint(128) == b"\x80\x01"
    assert protocol.sync_step1(b"\x00") == b"\x00\x00\x01\x00"  # an empty document's state vector
    assert protocol.sync_step2(b"\x00\x00") == b"\x00\x01\x02\x00\x00"
    assert protocol.KEEPALIVE == b"\x01\x01\x00"
    assert protocol.saved(3) == b"\x04\x03"


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (b"\x00\x00\x01\x00", protocol.Sync(protocol.SyncType.STEP1, b"\x00")),
        (b"\x00\x02\x02\x00\x00", protocol.Sync(protocol.SyncType.UPDATE, b"\x00\x00")),
        (b"\x01\x01\x00", protocol.Awareness(b"\x00")),
        (b"\x03", protocol.QueryAwareness()),
        (b"\x02\x00\x02no", protocol.Auth(0, "no")),
    ],
)
def test_decode(frame, expected):
    assert protocol.decode(frame) == expected


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (b"", "truncated varUint"),
        (b"\x00", "truncated varUint"),
        (b"\x00\x07\x00", "unknown sync message type 7"),
        (b"\x00\x02", "truncated varUint"),
        (b"\x00\x02\x05ab", "runs past the end"),
        (b"\x00\x02\xff\xff\xff\xff\x0f", "runs past the end"),
        (b"\x00\x02" + b"\xff" * 9 + b"\x01", "varUint too long"),
        (b"\x00\x00\x01\x00extra", "trailing bytes"),
        (b"\x09", "unknown message type 9"),
        (b"\x80", "truncated varUint"),
        (b"\x02\x00\x02\xff\xfe", "not UTF-8"),
        (b"\x03\x00", "trailing bytes"),
    ],
)
def test_broken_frames_raise_protocol_errors(frame, message):
    with pytest.raises(ProtocolError, match=message):
        protocol.decode(frame)


def test_awareness_round_trip_counts_utf8_bytes():
    entries = [AwarenessEntry(1, 2, '{"name":"Zoë ☃"}'), AwarenessEntry(2**32, 0, "null")]
    assert protocol.decode_awareness(protocol.encode_awareness(entries)) == entries


@pytest.mark.parametrize(
    "payload",
    [b"", b"\x01", b"\x01\x01\x01", b"\x01\x01\x01\x05ab", b"\x02\x01\x01\x02{}", b"\xe9\x07" + b"\x00" * 10],
)
def test_broken_awareness_raises(payload):
    with pytest.raises(ProtocolError):
        protocol.decode_awareness(payload)


@given(st.binary(max_size=64))
def test_decode_never_raises_anything_but_protocol_error(frame):
    with contextlib.suppress(ProtocolError):
        protocol.decode(frame)

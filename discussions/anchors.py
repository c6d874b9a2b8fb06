"""Anchors: where a thread points in its byte's text, as a pair of Yjs relative positions.

They are made by the clients (`Y.encodeRelativePosition`) and stored as sent; the server only
checks that they decode, and resolves them against the module's stored document to tell
whether the passage still exists (it is "detached" once its text is deleted).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from pycrdt import StickyIndex, Text

from collab.protocol import decode_state_vector, read_var_uint

MAX_POSITION_BYTES = 64
MAX_QUOTE = 500


@dataclass(frozen=True)
class Anchor:
    start: bytes
    end: bytes
    quote: str


def _position(value: object, field: str) -> bytes:
    if not isinstance(value, str):
        raise ValidationError({"anchor": [f"anchor.{field} must be a base64 string."]})
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError({"anchor": [f"anchor.{field} is not valid base64."]}) from None
    if not data or len(data) > MAX_POSITION_BYTES:
        raise ValidationError({"anchor": [f"anchor.{field} must be 1 to {MAX_POSITION_BYTES} bytes."]})
    if not _well_formed(data):
        raise ValidationError({"anchor": [f"anchor.{field} is not a Yjs relative position."]})
    return data


def _item_id(data: bytes) -> tuple[int, int] | None:
    """The item a relative position points at (None: it names a type). Checked here rather than
    by pycrdt, which panics (a BaseException) on some garbage. Yjs's encoding: a tag (0: item id,
    1: type name, 2: type id), its fields, then the assoc; ValueError when it is not that."""
    tag, at = data[0], 1
    item = None
    if tag in (0, 2):
        client, at = read_var_uint(data, at)
        clock, at = read_var_uint(data, at)
        item = (client, clock) if tag == 0 else None
    elif tag == 1:
        length, at = read_var_uint(data, at)
        if at + length > len(data):
            raise ValueError("truncated type name")
        data[at : at + length].decode()
        at += length
    else:
        raise ValueError("unknown tag")
    _, at = read_var_uint(data, at)  # the assoc, a signed varint: read the same way
    if at != len(data):
        raise ValueError("trailing bytes")
    return item


def _well_formed(data: bytes) -> bool:
    try:
        _item_id(data)
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def parse(value: object) -> Anchor | None:
    """`{start, end, quote}` from a request, checked; None when there is no anchor."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationError({"anchor": ["Expected an object with start, end and quote."]})
    quote = value.get("quote", "")
    if not isinstance(quote, str) or len(quote) > MAX_QUOTE:
        raise ValidationError(
            {"anchor": [f"anchor.quote must be a string of at most {MAX_QUOTE} characters."]}
        )
    return Anchor(_position(value.get("start"), "start"), _position(value.get("end"), "end"), quote)


def encode(data: bytes | memoryview | None) -> str | None:
    return None if data is None else base64.b64encode(bytes(data)).decode()


def detached(text: Text, start: bytes, end: bytes) -> bool:
    """True when the anchored passage no longer has any text. An anchor on items this document
    does not hold yet (typed a moment ago, not stored yet) counts as detached for now."""
    known = decode_state_vector(text.doc.get_state())
    for position in (start, end):
        item = _item_id(bytes(position))
        if item is not None and item[1] >= known.get(item[0], 0):
            return True
    try:
        first = StickyIndex.decode(bytes(start), text).get_index()
        last = StickyIndex.decode(bytes(end), text).get_index()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # pycrdt panics rather than raise on what it cannot resolve
        return True
    return first >= last

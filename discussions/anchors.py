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
from pycrdt import Doc, StickyIndex, Text

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


def _varuint(data: bytes, at: int) -> int:
    """The offset after the lib0 variable-length unsigned integer at `at` (ValueError if cut)."""
    for _ in range(10):  # at most 10 bytes for 64 bits
        if at >= len(data):
            raise ValueError("truncated")
        at += 1
        if not data[at - 1] & 0x80:
            return at
    raise ValueError("too long")


def _well_formed(data: bytes) -> bool:
    """Checked here rather than by pycrdt, which panics (a BaseException) on some garbage.
    Yjs's encoding: a tag (0: item id, 1: type name, 2: type id), its fields, then the assoc."""
    try:
        tag, at = data[0], 1
        if tag in (0, 2):
            at = _varuint(data, _varuint(data, at))
        elif tag == 1:
            length_end = _varuint(data, at)
            length = int.from_bytes(data[at:length_end], "little")  # only 1-byte lengths reach here
            if length_end - at != 1 or length_end + length > len(data):
                return False
            data[length_end : length_end + length].decode()
            at = length_end + length
        else:
            return False
        if at < len(data):
            at = _varuint(data, at)  # the assoc (a signed varint is read the same way)
        return at == len(data)
    except (ValueError, UnicodeDecodeError):
        return False


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
    """True when the anchored passage no longer has any text (or the anchor no longer resolves)."""
    try:
        first = StickyIndex.decode(bytes(start), text).get_index()
        last = StickyIndex.decode(bytes(end), text).get_index()
    except Exception:  # checked when stored; an item unknown to this document: nothing to show
        return True
    return first >= last


def text_of(state: bytes, name: str) -> Text:
    doc: Doc = Doc()
    doc.apply_update(state)
    return doc.get(name, type=Text)

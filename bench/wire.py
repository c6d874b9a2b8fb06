"""What the load generator puts on the wire, for each server dialect.

y-websocket servers (kb, @y/websocket-server, pycrdt-websocket) take plain y-websocket frames;
Hocuspocus prefixes every frame with varString(document name) and wants an Auth message per
document first. Latency is measured with a marker in the inserted text: `~<sender><monotonic
ns>~`, found again in the raw update bytes every receiver gets (Yjs v1 updates carry strings as
UTF-8), so no receiver has to apply updates, and processes on the same host share the clock.
A sender's own markers are not deliveries: some servers echo every update to its sender too,
and counting those made them look a third cheaper per delivery with four editors per room.
"""

from __future__ import annotations

import re
import time

from collab import protocol

MARKER = re.compile(rb"~(\d{10})(\d{19})~")
MARKER_CHARS = 31


def marker(sender: int) -> str:
    return f"~{sender:010d}{time.monotonic_ns():019d}~"


def latencies_ms(frame: bytes, now_ns: int, receiver: int) -> list[float]:
    """The latency of every marker in `frame` that `receiver` did not type itself."""
    return [(now_ns - int(sent)) / 1e6 for sender, sent in MARKER.findall(frame) if int(sender) != receiver]


class Dialect:
    """Plain y-websocket framing."""

    name = "y-websocket"

    def __init__(self, document: str) -> None:
        self.document = document

    def hello(self) -> list[bytes]:
        return []

    def wrap(self, message: bytes) -> bytes:
        return message

    def unwrap(self, frame: bytes) -> bytes:
        return frame

    def keepalive(self) -> bytes | None:
        return None


class Hocuspocus(Dialect):
    """Hocuspocus 2+/4 framing: varString(document) before each message; Auth first."""

    name = "hocuspocus"

    def __init__(self, document: str) -> None:
        super().__init__(document)
        self.prefix = protocol.write_var_string(document)

    def hello(self) -> list[bytes]:
        # Auth message (type 2, sub-type 0 = token) with an empty token: accepted with no auth hook.
        return [self.prefix + b"\x02\x00" + protocol.write_var_string("")]

    def wrap(self, message: bytes) -> bytes:
        return self.prefix + message

    def unwrap(self, frame: bytes) -> bytes:
        _, pos = protocol.read_var_string(frame, 0)
        return frame[pos:]


def dialect_for(server_kind: str, document: str) -> Dialect:
    return Hocuspocus(document) if server_kind == "hocuspocus" else Dialect(document)

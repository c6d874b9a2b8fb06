"""One WebSocket in a room: who is on it, what they may do, and its outgoing frames.

Transport-agnostic: the consumer gives it an ASGI `send` and a way to close; tests give fakes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import protocol
from .sending import Outbox, Send

PALETTE = [
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
    "#469990", "#9a6324", "#800000", "#808000", "#000075", "#e6a700", "#2f9e44",
]  # fmt: skip


def color_for(user_id: int) -> str:
    return PALETTE[user_id % len(PALETTE)]


@dataclass(frozen=True, slots=True)
class Credentials:
    """How the socket authenticated, so that revoking that credential can close it."""

    kind: str  # "token" or "session"
    key: str


class Peer:
    __slots__ = (
        "_close",
        "_throttled_for",
        "_tokens",
        "_tokens_at",
        "ack_barrier",
        "ack_release",
        "burst",
        "can_write",
        "client_ids",
        "closed",
        "color",
        "credentials",
        "flood_seconds",
        "last_sent",
        "outbox",
        "rate",
        "strikes",
        "told_read_only",
        "user_id",
        "username",
        "wants_acks",
        "workspace_id",
        "writes_received",
        "writes_saved",
    )

    def __init__(
        self,
        *,
        user_id: int,
        username: str,
        can_write: bool,
        workspace_id: int,
        send: Send,
        close: Callable[[int, str], Any],
        wants_acks: bool = False,
        credentials: Credentials | None = None,
        rate: float = 100.0,
        burst: float = 400.0,
        flood_seconds: float = 5.0,
        send_buffer: int = 4 * 1024 * 1024,
    ) -> None:
        self.user_id = user_id
        self.username = username
        self.color = color_for(user_id)
        self.can_write = can_write
        self.workspace_id = workspace_id
        self.wants_acks = wants_acks
        self.credentials = credentials
        self.client_ids: set[int] = set()
        self.writes_received = 0
        self.writes_saved = 0
        self.ack_barrier: int | None = None  # message whose content was refused (see hold_acks)
        self.ack_release: int | None = None
        self.strikes = 0
        self.told_read_only = False
        self.closed = False
        self.last_sent = time.monotonic()
        self._close = close
        self.outbox = Outbox(send, limit=send_buffer)
        self.rate, self.burst, self.flood_seconds = rate, burst, flood_seconds
        self._tokens, self._tokens_at = burst, time.monotonic()
        self._throttled_for = 0.0

    def push(self, data: bytes) -> None:
        if not self.closed:
            if not self.outbox.push(data):
                self.close(CloseCode.TOO_SLOW, "the client reads too slowly; reconnect")
            self.last_sent = time.monotonic()

    def close(self, code: int, reason: str) -> None:
        if not self.closed:
            self.closed = True
            self.outbox.closed = True
            self._close(code, reason)

    def hold_acks(self, seq: int) -> None:
        """Write `seq` was not stored whole: acknowledge nothing from it on until this socket's
        next sync step 2 (which carries whatever the server lacks) is stored. When that step 2
        is itself not stored whole, the wait goes on until the next one."""
        if self.ack_barrier is None:
            self.ack_barrier, self.ack_release = seq, None
        elif self.ack_release is not None and seq >= self.ack_release:
            self.ack_release = None

    def resynced(self, seq: int) -> None:
        if self.ack_barrier is not None and self.ack_release is None and seq > self.ack_barrier:
            self.ack_release = seq

    def saved(self, count: int) -> None:
        """The first `count` writes of this socket are durable: tell the client, if it asked."""
        if self.ack_barrier is not None:
            if self.ack_release is not None and count >= self.ack_release:
                self.ack_barrier = self.ack_release = None
            else:
                count = min(count, self.ack_barrier - 1)
        if count > self.writes_saved:
            self.writes_saved = count
            if self.wants_acks:
                self.push(protocol.saved(count))

    def throttle(self) -> float:
        """Seconds this message must wait to stay within the rate (token bucket); 0 when within."""
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._tokens_at) * self.rate)
        self._tokens_at = now
        self._tokens -= 1
        if self._tokens >= 0:
            self._throttled_for = 0.0
            return 0.0
        wait = -self._tokens / self.rate
        self._throttled_for += wait
        return wait

    @property
    def flooding(self) -> bool:
        """Held back without a pause for longer than `flood_seconds`: not a burst, a flood."""
        return self._throttled_for > self.flood_seconds


class CloseCode:
    """WebSocket close codes kb uses (README, "Close codes"). 44xx: stock clients stop; others retry."""

    BAD_MESSAGE = 4400
    FORBIDDEN = 4403
    MODULE_GONE = 4404
    TOO_LARGE = 4413
    RATE_LIMITED = 4429
    UNAVAILABLE = 4503
    TOO_SLOW = 4504
    TOO_MANY = 4509
    RESTART = 1012

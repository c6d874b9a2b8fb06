"""Webhook signatures, Stripe style: `KB-Signature: t=<unix time>,v1=<hex HMAC-SHA256>` over
`"<t>." + body` with the endpoint's secret. The timestamp is signed, so a replay outside the
tolerance window fails verification."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

HEADER = "KB-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The value of the KB-Signature header for `body`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(
    secret: str,
    body: bytes,
    header: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True if `header` signs `body` with `secret` and its timestamp is within `tolerance` seconds."""
    try:
        parts = [item.split("=", 1) for item in header.split(",")]
        timestamp = int(next(value for key, value in parts if key.strip() == "t"))
        candidates = [value for key, value in parts if key.strip() == "v1"]
    except (ValueError, StopIteration):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate.strip()) for candidate in candidates)

"""Front matter: a `---` line, `key: value` lines, a `---` line, then the body verbatim.

Values are written as JSON (which YAML reads too), so any title survives exactly. Read back, a
value that is not JSON is taken as plain text (`title: Rollback`), for files written by hand.
"""

from __future__ import annotations

import json
import re
from typing import Any

FENCE = "---"
KEY_RE = re.compile(r"^([a-z_]+):[ \t]*(.*)$")


class FrontMatterError(ValueError):
    pass


def render(meta: dict[str, Any], body: str) -> str:
    lines = [
        FENCE,
        *(f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in meta.items()),
        FENCE,
    ]
    return "\n".join(lines) + "\n" + body


def parse(text: str) -> tuple[dict[str, Any] | None, str]:
    """(meta, body); meta is None when the file has no front matter (the whole file is the body)."""
    newline = "\r\n" if text.startswith(FENCE + "\r\n") else "\n"  # files edited on Windows
    if not text.startswith(FENCE + newline):
        return None, text
    closing = newline + FENCE + newline
    end = text.find(closing, len(FENCE))
    if end == -1:
        if text.endswith(newline + FENCE):
            end = len(text) - len(FENCE) - len(newline)
        else:
            raise FrontMatterError("front matter starts with '---' but has no closing '---' line")
    header, body = text[len(FENCE) + len(newline) : end], text[end + len(closing) :]
    meta: dict[str, Any] = {}
    for number, line in enumerate(header.split(newline), start=2):
        if not line.strip():
            continue
        match = KEY_RE.match(line)
        if match is None:
            raise FrontMatterError(f"line {number}: expected 'key: value', got {line[:60]!r}")
        key, raw = match.groups()
        if key in meta:
            raise FrontMatterError(f"line {number}: {key!r} appears twice")
        meta[key] = _value(raw.rstrip(), number)
    return meta, body


def _value(raw: str, number: int) -> Any:
    if raw[:1] in ('"', "[", "{") or raw in ("true", "false", "null") or re.fullmatch(r"-?\d+", raw):
        try:
            return json.loads(raw)
        except json.JSONDecodeError as error:
            raise FrontMatterError(f"line {number}: {error.msg} in {raw[:60]!r}") from None
    return raw

"""`[[links]]` in byte content: parsing and normalizing, pure functions.

`[[slug]]` names a byte in the same module; `[[module/path/slug]]` names one by its full path
from the workspace root; `[[target|label]]` adds a label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LINK_RE = re.compile(r"\[\[([^\[\]|\n]{1,500}?)(?:\|([^\[\]\n]{0,200}))?\]\]")


@dataclass(frozen=True)
class ParsedLink:
    target: str
    label: str

    @property
    def is_relative(self) -> bool:
        return "/" not in self.target


def normalize_target(raw: str) -> str:
    """Lower-case, trimmed, slash-separated path with empty segments dropped."""
    return "/".join(part.strip() for part in raw.strip().lower().split("/") if part.strip())


def parse_links(content: str) -> list[ParsedLink]:
    """Distinct links in order of first appearance."""
    seen: set[str] = set()
    links: list[ParsedLink] = []
    for match in LINK_RE.finditer(content):
        target = normalize_target(match.group(1))
        if not target or target in seen:
            continue
        seen.add(target)
        links.append(ParsedLink(target=target, label=(match.group(2) or "").strip()))
    return links


def split_target(target: str) -> tuple[str, str]:
    """("a/b", "slug") for "a/b/slug"; ("", "slug") for a relative target."""
    module_path, _, slug = target.rpartition("/")
    return module_path, slug

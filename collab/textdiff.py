"""Minimal text edits, three-way rebasing of a REST write onto live text, and applying edits to
a pycrdt Text.

A REST write says "the content I read (the base) should become this". Meanwhile people may
have typed into the live text. Replacing the text, or diffing the live text against the new
content, would wipe what they typed. Instead the change base -> new is rebased onto the live
text: characters of the base that the writer deleted are deleted where they now are, its
insertions land next to the characters they followed, and everything typed live survives.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from pycrdt import Text

# Character-level matching is quadratic in the worst case; above this size blocks are matched
# by lines first, then by characters within changed blocks that are small enough.
CHAR_DIFF_LIMIT = 4000

Edit = tuple[int, int, str]  # (position in characters, characters to delete, text to insert)
Block = tuple[int, int, int]  # (start in a, start in b, length): a run of equal characters


def _common_affixes(a: str, b: str) -> tuple[int, int]:
    limit = min(len(a), len(b))
    start = 0
    while start < limit and a[start] == b[start]:
        start += 1
    end = 0
    while end < limit - start and a[-1 - end] == b[-1 - end]:
        end += 1
    return start, end


def _char_blocks(a: str, b: str, a0: int, b0: int) -> list[Block]:
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    return [(a0 + i, b0 + j, size) for i, j, size in matcher.get_matching_blocks() if size]


def alignment(a: str, b: str) -> list[Block]:
    """Runs of characters that `a` and `b` share, in order: the complement of a minimal diff."""
    start, end = _common_affixes(a, b)
    blocks: list[Block] = [(0, 0, start)] if start else []
    a_mid, b_mid = a[start : len(a) - end], b[start : len(b) - end]
    if a_mid and b_mid:
        if len(a_mid) + len(b_mid) <= CHAR_DIFF_LIMIT:
            blocks += _char_blocks(a_mid, b_mid, start, start)
        else:
            blocks += _line_blocks(a_mid, b_mid, start)
    if end:
        blocks.append((len(a) - end, len(b) - end, end))
    return blocks


def _line_blocks(a: str, b: str, offset: int) -> list[Block]:
    a_lines, b_lines = a.splitlines(keepends=True), b.splitlines(keepends=True)
    a_at, b_at = _offsets(a_lines), _offsets(b_lines)
    blocks: list[Block] = []
    previous_i = previous_j = 0
    matcher = SequenceMatcher(None, a_lines, b_lines, autojunk=False)
    for i, j, size in matcher.get_matching_blocks():
        # the changed lines between two matches: refine by characters when small
        a_gap, b_gap = a[a_at[previous_i] : a_at[i]], b[b_at[previous_j] : b_at[j]]
        if a_gap and b_gap and len(a_gap) + len(b_gap) <= CHAR_DIFF_LIMIT:
            blocks += _char_blocks(a_gap, b_gap, offset + a_at[previous_i], offset + b_at[previous_j])
        if size:
            blocks.append((offset + a_at[i], offset + b_at[j], a_at[i + size] - a_at[i]))
        previous_i, previous_j = i + size, j + size
    return blocks


def _offsets(lines: list[str]) -> list[int]:
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    return offsets


def text_edits(old: str, new: str) -> list[Edit]:
    """Edits that turn `old` into `new`, in increasing position order."""
    edits: list[Edit] = []
    i = j = 0
    for a_start, b_start, size in [*alignment(old, new), (len(old), len(new), 0)]:
        if a_start > i or b_start > j:
            edits.append((i, a_start - i, new[j:b_start]))
        i, j = a_start + size, b_start + size
    return edits


def rebase(base: str, new: str, current: str) -> list[Edit]:
    """Edits that make, in `current`, the change from `base` to `new`, keeping what `current`
    changed relative to `base`. Positions are in `current`."""
    if current == base:
        return text_edits(base, new)
    where = [-1] * (len(base) + 1)  # where each character of base now is in current, or -1
    for a_start, b_start, size in alignment(base, current):
        for k in range(size):
            where[a_start + k] = b_start + k
    where[len(base)] = len(current)
    result: list[Edit] = []
    for position, delete, insert in text_edits(base, new):
        survivors = [where[k] for k in range(position, position + delete) if where[k] >= 0]
        for run_start, run_length in _runs(survivors):
            result.append((run_start, run_length, ""))
        if insert:
            result.append((_insertion_point(where, position), 0, insert))
    return _normalize(result)


def _insertion_point(where: list[int], position: int) -> int:
    """Right after the surviving character that preceded `position` in the base."""
    for k in range(position - 1, -1, -1):
        if where[k] >= 0:
            return where[k] + 1
    return 0


def _runs(positions: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for position in positions:
        if runs and runs[-1][0] + runs[-1][1] == position:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((position, 1))
    return runs


def _normalize(edits: list[Edit]) -> list[Edit]:
    """Sort by position; at one position an insertion sorts before a deletion, so that
    apply_edits (which goes backwards) deletes first and the inserted text stays."""
    return sorted(edits, key=lambda edit: (edit[0], edit[1] > 0))


def apply_edits(text: Text, old: str, edits: list[Edit]) -> None:
    """Apply non-overlapping edits computed against `old` (== str(text)), inside the caller's
    transaction. pycrdt indexes text by UTF-8 bytes, so character positions are converted;
    edits run from the last to the first so that earlier positions stay valid."""
    for position, delete, insert in reversed(edits):
        at = len(old[:position].encode("utf-8"))
        if delete:
            length = len(old[position : position + delete].encode("utf-8"))
            del text[at : at + length]
        if insert:
            text.insert(at, insert)

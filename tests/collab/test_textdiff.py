"""REST writes into live text: the edits are minimal, and they produce exactly the new text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Text

from collab.textdiff import apply_edits, rebase, text_edits

texts = st.text(alphabet=st.sampled_from(list("ab \n\té😀☃")), max_size=80)


@given(texts, texts)
@settings(max_examples=400)
def test_edits_turn_old_into_new(old, new):
    doc: Doc = Doc()
    doc["t"] = text = Text(old)
    with doc.transaction():
        apply_edits(text, old, text_edits(old, new))
    assert str(text) == new


def test_edits_are_minimal_for_a_small_change_in_a_long_text():
    old = "\n".join(f"line {n} says something" for n in range(5000))
    new = old.replace("line 2500 says", "line 2500 now says")
    assert text_edits(old, new) == [(old.index("line 2500 says") + len("line 2500 "), 0, "now ")]


def test_big_rewrite_stays_line_granular():
    old = "\n".join(f"old {n}" for n in range(3000))
    new = "\n".join(f"new {n}" for n in range(3000))
    edits = text_edits(old, new)
    doc: Doc = Doc()
    doc["t"] = text = Text(old)
    with doc.transaction():
        apply_edits(text, old, edits)
    assert str(text) == new


def test_concurrent_edit_survives_a_rest_write():
    """The point of diffing: someone typing while a REST write lands keeps their text."""
    base: Doc = Doc()
    base["t"] = Text("Hello world")
    live: Doc = Doc()
    live.apply_update(base.get_update())
    rest: Doc = Doc()
    rest.apply_update(base.get_update())
    live.get("t", type=Text).insert(5, ", dear")  # typed live
    rest_text = rest.get("t", type=Text)
    with rest.transaction():
        apply_edits(rest_text, "Hello world", text_edits("Hello world", "Hello world!"))
    live.apply_update(rest.get_update())
    assert str(live.get("t", type=Text)) == "Hello, dear world!"


def _apply(old: str, edits) -> str:
    doc: Doc = Doc()
    doc["t"] = text = Text(old)
    with doc.transaction():
        apply_edits(text, old, edits)
    return str(text)


@given(texts, texts)
@settings(max_examples=300)
def test_rebase_onto_an_unchanged_text_is_the_plain_diff(base, new):
    assert _apply(base, rebase(base, new, base)) == new


words = st.lists(st.sampled_from(["alpha ", "beta ", "gamma ", "delta ", "é ", "😀 ", "\n"]), max_size=12)


@given(words, st.data())
@settings(max_examples=300)
def test_rebase_keeps_both_sides_when_they_touch_different_places(base_words, data):
    """The REST writer changes the first half, live typing the second: both changes survive."""
    half = len(base_words) // 2
    first, second = "".join(base_words[:half]), "".join(base_words[half:])
    base = first + "|" + second
    rest_first = data.draw(words.map("".join))
    live_second = data.draw(words.map("".join))
    new, current = rest_first + "|" + second, first + "|" + live_second
    assert _apply(current, rebase(base, new, current)) == rest_first + "|" + live_second


def test_rebase_examples():
    # live typed at the start while the writer appended: both stay
    assert _apply(">> Hello", rebase("Hello", "Hello world", ">> Hello")) == ">> Hello world"
    # the writer deleted a word that live typing had extended: the deletion happens and the
    # live insertion survives (where exactly is a conflict; nothing typed is lost)
    merged = _apply("one twoX three", rebase("one two three", "one three", "one twoX three"))
    assert "X" in merged and "two" not in merged and merged.replace("X", "") == "one three"
    # replace next to a live insertion
    assert _apply("abZc", rebase("abc", "aXc", "abZc")) == "aXZc"

"""How a process notices the broadcasts it missed from another one (collab.hub sequences)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from collab.hub import Hub


def hub_and_calls() -> tuple[Hub, list[tuple[int, list, bool]]]:
    calls: list[tuple[int, list, bool]] = []

    def remote(module_id: int, items: list[Any], *, gap: bool = False) -> None:
        calls.append((module_id, items, gap))

    runtime = SimpleNamespace(rooms=SimpleNamespace(remote=remote))
    return Hub(runtime), calls  # type: ignore[arg-type]


def room_message(origin: str, seq: int) -> dict[str, Any]:
    return {"type": "kb.room", "room": 7, "origin": origin, "seq": seq, "items": [("update", b"x", 1)]}


def test_a_skipped_sequence_number_is_a_gap() -> None:
    hub, calls = hub_and_calls()
    hub._dispatch(room_message("a", 1))
    hub._dispatch(room_message("a", 2))
    hub._dispatch(room_message("a", 4))
    assert [gap for _, _, gap in calls] == [False, False, True]


def test_the_first_message_heard_from_a_process_can_reveal_a_gap_too() -> None:
    # A process restarted (a new origin) while Redis was down: its first broadcasts were lost.
    # Found by reading the code after a soak divergence; before, the first message heard from an
    # origin never counted as a gap, nor did its heartbeats.
    hub, calls = hub_and_calls()
    hub._dispatch(room_message("restarted", 5))
    assert calls[-1][2] is True
    hub._dispatch({"type": "kb.seq", "room": 8, "origin": "quiet", "seq": 3})
    assert calls[-1] == (8, [], True)
    hub._dispatch({"type": "kb.seq", "room": 8, "origin": "quiet", "seq": 3})
    assert len(calls) == 2, "a heartbeat that says nothing new heals nothing"


def test_messages_outside_any_sequence_are_delivered_without_a_gap() -> None:
    hub, calls = hub_and_calls()
    hub._dispatch(room_message("a", 3))
    hub._dispatch(room_message("command", 0))  # sent from a thread, e.g. a management command
    hub._dispatch(room_message("a", 4))
    assert [gap for _, _, gap in calls] == [True, False, False]

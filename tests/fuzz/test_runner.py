"""`python -m tests.fuzz` (the long fuzz runs): it finds the properties and counts what
hypothesis reports, not what was asked for."""

from __future__ import annotations

import os

from tests.fuzz.__main__ import PASSING, properties, run

STATISTICS = """
tests/fuzz/test_room_fuzz.py::test_any_frame_closes_at_most_its_sender:

  - during generate phase (95.42 seconds):
    - Typical runtimes: ~ 0-5 ms, of which ~ 0-2 ms in data generation
    - 25580 passing, 4 failing, and 1880 invalid test cases
    - Found 1 distinct error in this phase

  - during shrink phase (2.42 seconds):
    - Typical runtimes: ~ 3-33 ms, of which ~ 1-12 ms in data generation
    - 101 passing, 25 failing, and 31 invalid test cases
"""


def test_the_properties_are_the_given_decorated_tests():
    found = properties()
    assert "test_writes_of_one_turn_are_applied_together" in found
    assert "test_awareness_decoder_only_raises_protocol_errors" in found
    # a plain test of the same module is not a property
    assert "test_an_item_whose_origins_contradict_the_document_is_refused" not in found


def test_only_the_generate_phase_examples_count():
    assert PASSING.findall(STATISTICS) == ["25580"]


def test_a_run_reports_the_examples_hypothesis_ran(monkeypatch):
    monkeypatch.chdir(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    ok, passing, _, output = run("test_awareness_decoder_only_raises_protocol_errors", seed=7, examples=120)
    assert ok, output
    assert passing == 120, output

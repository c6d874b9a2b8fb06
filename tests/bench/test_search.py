"""The ceiling's search (bench/search.py), against servers made up of a known limit."""

from __future__ import annotations

from collections.abc import Callable

from bench.search import highest_sustained

STEPS = (2, 5, 10, 20, 40, 80)


Sustains = Callable[[float], tuple[bool, float]]


def server(limit: float, per_rate: float = 600.0) -> tuple[list[float], Sustains]:
    """A server that holds any rate up to `limit`, delivering `per_rate` per unit of rate."""
    tried: list[float] = []

    def sustains(rate: float) -> tuple[bool, float]:
        tried.append(rate)
        return rate <= limit, rate * per_rate

    return tried, sustains


def test_the_rate_is_bisected_between_the_last_step_held_and_the_first_not():
    tried, sustains = server(limit=7.3)
    best = highest_sustained(STEPS, 3, sustains)
    assert tried[:3] == [2, 5, 10]
    assert len(tried) == 6
    assert 7.0 <= best / 600 <= 7.3  # within one bisection's width (about 9%) of the limit


def test_two_servers_the_steps_cannot_tell_apart_are_told_apart():
    slower = highest_sustained(STEPS, 3, server(limit=6.0)[1])
    faster = highest_sustained(STEPS, 3, server(limit=9.0)[1])
    steps_only = {limit: highest_sustained(STEPS, 0, server(limit)[1]) for limit in (6.0, 9.0)}
    assert steps_only[6.0] == steps_only[9.0]  # both held 5 and not 10
    assert slower < faster


def test_no_bisection_when_every_step_holds_or_none_does():
    tried, sustains = server(limit=1000)
    assert highest_sustained(STEPS, 3, sustains) == 80 * 600
    assert tried == list(STEPS)
    tried, sustains = server(limit=1)
    assert highest_sustained(STEPS, 3, sustains) == 0
    assert tried == [2]

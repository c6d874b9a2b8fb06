"""`python -m tests.soak --minutes 60`: the soak run (tests/soak/test_soak.py) for that long.

Runs pytest on PostgreSQL (TEST_POSTGRES_URL, default the local server) with the chaos marker
and no per-test timeout; everything else as in CI. Exit status is pytest's.
"""

from __future__ import annotations

import argparse
import os
import sys

import pytest


def main() -> int:
    parser = argparse.ArgumentParser(description="Soak kb's cluster under edits and faults.")
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rss-growth-mb", type=float, default=64.0, help="idle, middle to end")
    parser.add_argument("--seed", type=int, default=0, help="replay a run's CHAOS_SEED")
    args = parser.parse_args()
    os.environ["SOAK_SECONDS"] = str(args.minutes * 60)
    os.environ["SOAK_RSS_GROWTH_MB"] = str(args.rss_growth_mb)
    if args.seed:
        os.environ["CHAOS_SEED"] = str(args.seed)
    os.environ.setdefault(
        "DATABASE_URL", os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    return pytest.main(["-m", "chaos", "tests/soak", "-p", "no:timeout", "-s", "-q"])


if __name__ == "__main__":
    sys.exit(main())

"""`python -m bench.log_load`: what loading a module's update log costs, by log length.

A room loads snapshot + log (collab/store.py, `read`). This prints, for typing logs of growing
length, the time to merge them with pycrdt's `merge_updates` (what loading did until
2026-12-02) and to apply them one by one (what it does now), and how long the GIL was held
without a break in each case (a thread's ticks, 1 ms apart, measured during the work): the
event loop of a kb process stalls that long.
"""

from __future__ import annotations

import argparse
import random
import threading
import time
from collections.abc import Callable

from pycrdt import Doc, Text, merge_updates


def typing_log(count: int, rng: random.Random) -> list[bytes]:
    """`count` one-character updates, typed mostly at a cursor, now and then elsewhere."""
    doc: Doc = Doc()
    text = doc.get("byte:1", type=Text)
    made: list[bytes] = []
    doc.observe(lambda event: made.append(event.update))
    cursor = 0
    for _ in range(count):
        if rng.random() < 0.05:
            cursor = rng.randrange(len(text) + 1)
        if rng.random() < 0.15 and cursor > 0:
            del text[cursor - 1 : cursor]
            cursor -= 1
        else:
            text.insert(cursor, rng.choice("abcdefgh \n"))
            cursor += 1
    return made


def timed(work: Callable[[], object]) -> tuple[float, float]:
    """(seconds, longest gap between a 1 ms ticker thread's ticks while `work` ran)."""
    gaps: list[float] = []
    done = threading.Event()

    def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    thread = threading.Thread(target=ticker)
    thread.start()
    began = time.perf_counter()
    work()
    spent = time.perf_counter() - began
    done.set()
    thread.join()
    return spent, max(gaps, default=spent)


def merged(log: list[bytes]) -> None:
    Doc().apply_update(merge_updates(*log))


def one_by_one(log: list[bytes]) -> None:
    doc: Doc = Doc()
    for update in log:
        doc.apply_update(update)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lengths", default="1000,5000,20000,50000", help="log lengths, comma-separated")
    args = parser.parse_args()
    rng = random.Random(3)
    print("log rows  merge_updates s (longest stall)  one by one s (longest stall)  ratio")
    for length in [int(value) for value in args.lengths.split(",")]:
        log = typing_log(length, rng)
        merge_s, merge_stall = timed(lambda log=log: merged(log))
        apply_s, apply_stall = timed(lambda log=log: one_by_one(log))
        print(
            f"{length:>8}  {merge_s:8.3f} ({merge_stall:6.3f})             "
            f"{apply_s:8.3f} ({apply_stall:6.3f})          {merge_s / apply_s:6.1f}x"
        )


if __name__ == "__main__":
    main()

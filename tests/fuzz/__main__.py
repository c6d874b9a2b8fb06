"""`python -m tests.fuzz --examples 1000000`: each property of tests/fuzz/test_room_fuzz.py run
that many times, in seeded runs of at most `--chunk` examples spread over the cores.

One hypothesis run of a million examples slows as it goes (it keeps every choice it has made, to
avoid repeating itself) and uses one core; runs of 50,000 with distinct seeds keep the rate and
use them all. The examples counted are hypothesis's own (the generate phase's "N passing"), read
from its statistics, not the number asked for. A failing run stops the property's other runs and
prints the command that replays it. Exit status: 0 when every run passed.
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import re
import subprocess
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

MODULE = Path(__file__).with_name("test_room_fuzz.py")
# the examples generated: the shrink and explain phases that follow a failure run more
PASSING = re.compile(r"during generate phase.*\n.*\n\s*- (\d+) passing")


@dataclass
class Property:
    name: str
    passing: int = 0
    seconds: float = 0.0
    failed: list[str] = field(default_factory=list)  # the commands that replay a failing run


def properties(source: Path = MODULE) -> list[str]:
    """The module's test functions decorated with hypothesis's `@given`."""

    def given(node: ast.stmt) -> bool:
        calls = [deco for deco in getattr(node, "decorator_list", []) if isinstance(deco, ast.Call)]
        return any(getattr(call.func, "id", "") == "given" for call in calls)

    return [node.name for node in ast.parse(source.read_text()).body if given(node)]  # type: ignore[attr-defined]


def command(name: str, seed: int) -> list[str]:
    return [
        sys.executable, "-m", "pytest", "-q", "--timeout=0", "-p", "no:cacheprovider",
        f"{MODULE.relative_to(Path.cwd())}::{name}", f"--hypothesis-seed={seed}",
        "--hypothesis-show-statistics",
    ]  # fmt: skip


def run(name: str, seed: int, examples: int) -> tuple[bool, int, float, str]:
    started = time.monotonic()
    env = {**os.environ, "FUZZ_EXAMPLES": str(examples)}
    done = subprocess.run(command(name, seed), env=env, capture_output=True, text=True)
    passing = sum(int(count) for count in PASSING.findall(done.stdout))
    return done.returncode == 0, passing, time.monotonic() - started, done.stdout + done.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description="Run kb's property-based fuzzers at length.")
    parser.add_argument("--examples", type=int, default=1_000_000, help="per property")
    parser.add_argument("--chunk", type=int, default=50_000, help="examples per seeded run")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("-k", dest="only", default="", help="only the properties whose name holds this")
    parser.add_argument("--seed", type=int, default=random.randrange(1, 10**6), help="the first run's seed")
    args = parser.parse_args()
    if args.examples < 1 or args.chunk < 1 or args.jobs < 1:
        parser.error("--examples, --chunk and --jobs must be at least 1")
    props = {name: Property(name) for name in properties() if args.only in name}
    if not props:
        parser.error(f"no property matches {args.only!r}; there are: {', '.join(properties())}")
    queue = [
        (name, args.seed + index, min(args.chunk, args.examples - start))
        for name in props
        for index, start in enumerate(range(0, args.examples, args.chunk))
    ]
    total, started = len(queue), time.monotonic()
    print(f"{len(props)} properties x {args.examples:,} examples, {total} runs of ≤ {args.chunk:,} on "
          f"{args.jobs} processes, seeds from {args.seed}", flush=True)  # fmt: skip
    finished = 0
    with ThreadPoolExecutor(args.jobs) as pool:
        running: dict[Future, tuple[str, int, int]] = {}
        while queue or running:
            while queue and len(running) < args.jobs:
                job = queue.pop(0)
                if not props[job[0]].failed:
                    running[pool.submit(run, *job)] = job
            if not running:
                continue
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                name, seed, examples = running.pop(future)
                ok, passing, seconds, output = future.result()
                prop = props[name]
                prop.passing += passing
                prop.seconds += seconds
                finished += 1
                elapsed = time.monotonic() - started
                left = elapsed / finished * (total - finished)
                print(f"[{finished}/{total}] {name} seed {seed}: {'passed' if ok else 'FAILED'}, {passing:,} "
                      f"examples in {seconds:.0f} s ({passing / seconds:.0f}/s); {prop.passing:,} so far; "
                      f"about {left / 60:.0f} min left", flush=True)  # fmt: skip
                if not ok:
                    replay = f"FUZZ_EXAMPLES={examples} " + " ".join(command(name, seed)[2:])
                    prop.failed.append(replay)
                    print(output[-6000:], f"\nreplay: {replay}", sep="\n", flush=True)
    print(f"\n{'property':<58} {'examples':>10} {'core-min':>9}  result")
    for prop in props.values():
        print(f"{prop.name:<58} {prop.passing:>10,} {prop.seconds / 60:>9.1f}  "
              f"{'FAILED: ' + prop.failed[0] if prop.failed else 'passed'}")  # fmt: skip
    print(f"wall time {(time.monotonic() - started) / 60:.1f} min")
    return 1 if any(prop.failed for prop in props.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

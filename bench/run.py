"""Run the benchmark: every scenario against every server, repeated, then write the table
(bench/results/latest.json and .md) and the plots (bench/results/*.png).

    python -m bench.run                 # the full run (about an hour and a half on 2 cores)
    python -m bench.run --scale quick   # a shorter one
    python -m bench.run --scale smoke --strict   # seconds per scenario: what CI runs (./dev test)
    python -m bench.run --servers kb,hocuspocus --scenarios steady,idle --repeat 3
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from . import report
from .scenarios import FULL, QUICK, SCENARIOS, SMOKE, Scale
from .servers import Kb, Target, targets

RESULTS = Path(__file__).resolve().parent / "results"
SERVERS = ["kb", "kb-x2", "hocuspocus", "ywebsocket", "pycrdt"]  # and kb-commit-first on demand
# kb's per-socket message rate limit protects rooms from floods; for everything but the flood
# scenario it is raised so that the ceiling measures the server, not the limiter.
UNLIMITED = {"KB_WS_MESSAGES_PER_SECOND": "1000000", "KB_WS_MESSAGE_BURST": "1000000"}
ONLY_ONE_PROCESS = {"cold", "rest", "growth"}  # scenarios kb-x2 adds nothing to
# Scenarios that restart a server and read documents back: the peers store them for these only
# (in memory they are at their fastest; kb stores every edit in every scenario).
PERSISTENT = {"cold", "growth"}


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    numeric = {key for run in runs for key, value in run.items() if isinstance(value, int | float)}
    median = {key: float(np.median([run[key] for run in runs if key in run])) for key in numeric}
    spread = {
        key: [float(min(run[key] for run in runs)), float(max(run[key] for run in runs))] for key in numeric
    }
    return {"runs": runs, "median": median, "spread": spread}


def prepare(target: Target, scenario: str) -> None:
    if isinstance(target, Kb):
        target.extra = {} if scenario == "flood" else dict(UNLIMITED)
    target.persistent = scenario in PERSISTENT
    target.stop()
    target.reset()
    target.start()


def machine() -> dict[str, Any]:
    def version(command: list[str]) -> str:
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError:
            return "?"

    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "node": version(["node", "--version"]),
        "cpu_model": next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            "?",
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", choices=["full", "quick", "smoke"], default="full")
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--repeat", type=int, default=None, help="runs per scenario (default 3; smoke 1)")
    parser.add_argument("--out", default=str(RESULTS / "latest"), help="path prefix of the result files")
    parser.add_argument(
        "--add", action="store_true", help="add to the results already at --out (other scenarios or servers)"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when any run failed (CI's smoke run)")
    args = parser.parse_args()
    scale: Scale = {"full": FULL, "quick": QUICK, "smoke": SMOKE}[args.scale]
    repeat = args.repeat or (1 if scale is SMOKE else 3)
    scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    servers = targets([name.strip() for name in args.servers.split(",") if name.strip()])
    results: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "scale": scale.name,
        "repeat": repeat,
        "machine": machine(),
        "command": " ".join([Path(sys.executable).name, "-m", "bench.run", *sys.argv[1:]]),
        "results": {},
    }
    previous = Path(args.out).with_suffix(".json")
    if args.add and previous.exists():
        earlier = json.loads(previous.read_text())
        for scenario, entries in earlier["results"].items():
            for server, entry in entries.items():
                results["results"].setdefault(scenario, {}).setdefault(server, entry)
        results["command"] = f"{earlier['command']}; then {results['command']}"
        results["repeat"] = f"{earlier['repeat']}/{results['repeat']}"
    results["load_average_at_start"] = os.getloadavg()
    began = time.monotonic()
    for target in servers:
        say(f"installing {target.name}")
        target.install()
        for scenario in scenarios:
            if target.name != "kb" and isinstance(target, Kb) and scenario in ONLY_ONE_PROCESS:
                continue
            if scenario == "rest" and not isinstance(target, Kb):
                continue
            runs = []
            for number in range(repeat):
                say(f"{target.name}: {scenario} ({number + 1}/{repeat})")
                prepare(target, scenario)
                try:
                    runs.append(SCENARIOS[scenario](target, scale))
                except Exception as error:  # a peer that falls over is a result, not a crash
                    say(f"  failed: {type(error).__name__}: {error}")
                    runs.append({"error": f"{type(error).__name__}: {error}"})
                finally:
                    target.stop()
            results["results"].setdefault(scenario, {})[target.name] = summarize(runs)
            write(results, Path(args.out))
    results["minutes"] = round((time.monotonic() - began) / 60, 1)
    results["load_average_at_end"] = os.getloadavg()
    write(results, Path(args.out))
    say(f"done in {results['minutes']} min: {args.out}.md")
    failed = [
        f"{scenario}/{server}: {run['error']}"
        for scenario, entries in results["results"].items()
        for server, entry in entries.items()
        for run in entry["runs"]
        if "error" in run
    ]
    if args.strict and failed:
        sys.exit("failed runs:\n" + "\n".join(failed))


def write(results: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1, default=float))
    out.with_suffix(".md").write_text(report.markdown(results))
    report.plots(results, out.parent, out.name)


if __name__ == "__main__":
    main()

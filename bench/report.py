"""The benchmark's table (markdown, kb's ratio to the best peer) and plots (PNG)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

PEERS = ("hocuspocus", "ywebsocket", "pycrdt")
KBS = ("kb", "kb-x2", "kb-commit-first")
# (scenario, metric, label, lower is better)
ROWS = [
    ("pair", "p50_ms", "two editors, one module: propagation p50 (ms)", True),
    ("pair", "p99_ms", "two editors, one module: propagation p99 (ms)", True),
    ("steady", "p50_ms", "steady editing: delivery p50 (ms)", True),
    ("steady", "p99_ms", "steady editing: delivery p99 (ms)", True),
    ("steady", "max_ms", "steady editing: delivery max (ms)", True),
    ("steady", "server_cpu_us_per_delivery", "steady editing: server CPU per delivery (µs)", True),
    ("ceiling", "max_deliveries_per_s", "ceiling: deliveries/s with p99 ≤ 100 ms", False),
    ("idle", "kib_per_connection", "idle tabs: memory per connection (KiB)", True),
    ("idle", "connect_p99_ms", "idle tabs: connect + sync p99 (ms)", True),
    ("idle", "returned_share", "idle tabs: share of that memory returned after close", False),
    ("cold", "from_memory_ms", "cold open, big document: from memory (ms)", True),
    ("cold", "from_storage_ms", "cold open, big document: from storage after restart (ms)", True),
    ("hot", "p50_ms", "hot room: delivery p50 (ms)", True),
    ("hot", "p99_ms", "hot room: delivery p99 (ms)", True),
    ("flood", "p99_ratio", "flood: others' p99 with / without the flooder", True),
    ("flood", "max_ms_with", "flood: others' max latency during the flood (ms)", True),
    ("flood", "flooder_delivered_per_s", "flood: flooder updates/s relayed to its room", True),
]


def _value(results: dict[str, Any], scenario: str, server: str, metric: str) -> float | None:
    entry = results["results"].get(scenario, {}).get(server)
    if not entry:
        return None
    value = entry["median"].get(metric)
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _load(results: dict[str, Any]) -> str:
    load = results.get("load_average_at_start")
    return "?" if not load else f"{load[0]:.1f}"


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def markdown(results: dict[str, Any]) -> str:
    servers = [s for s in (*KBS, *PEERS) if any(s in r for r in results["results"].values())]
    m = results["machine"]
    lines = [
        f"# kb benchmark ({results['scale']})",
        "",
        f"{results['date']} · {m['cpus']} cores ({m['cpu_model']}), {m['memory_gib']} GiB · "
        f"Python {m['python']}, Node {m['node']} · median of {results['repeat']} runs (spread in the JSON) · "
        f"load average at start {_load(results)} · "
        f"`{results['command']}`",
        "",
        "| metric | " + " | ".join(servers) + " | kb / best peer |",
        "|---|" + "---|" * len(servers) + "---|",
    ]
    for scenario, metric, label, lower in ROWS:
        values = {server: _value(results, scenario, server, metric) for server in servers}
        if all(value is None for value in values.values()):
            continue
        peers = [values[p] for p in PEERS if values.get(p) is not None]
        best = (min(peers) if lower else max(peers)) if peers else None
        ratio = "-"
        if best not in (None, 0) and values.get("kb") is not None:
            ratio = f"{values['kb'] / best:.2f}x"
        lines.append(f"| {label} | " + " | ".join(_fmt(values[s]) for s in servers) + f" | {ratio} |")
    cpu1 = _value(results, "steady", "kb", "server_cpu_us_per_delivery")
    cpu2 = _value(results, "steady", "kb-x2", "server_cpu_us_per_delivery")
    if cpu1 and cpu2:
        lines += ["", f"Two processes with Redis: CPU per delivery {cpu2 / cpu1:.2f}x one process."]
    rest = results["results"].get("rest", {})
    for server, entry in rest.items():
        runs = [run for run in entry["runs"] if "error" not in run]
        if not runs:
            continue
        lines += [
            "",
            f"REST ({server}): requests/s and p99 (first run)",
            "",
            "| request | req/s | p99 (ms) |",
            "|---|---|---|",
        ]
        for name, figures in runs[0].items():
            lines.append(f"| {name} | {_fmt(figures['requests_per_s'])} | {_fmt(figures['p99_ms'])} |")
    problems = [
        f"- {scenario} / {server}: {run.get('error') or run.get('problems')}"
        for scenario, entries in results["results"].items()
        for server, entry in entries.items()
        for run in entry["runs"]
        if run.get("error") or run.get("problems")
    ]
    if problems:
        lines += ["", "Problems seen (errors, closes) during runs:", "", *problems[:40]]
    return "\n".join(lines) + "\n"


def plots(results: dict[str, Any], directory: Path, stem: str) -> None:
    figure, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    steady = results["results"].get("steady", {})
    names = [s for s in (*KBS, *PEERS) if s in steady and "p50_ms" in steady[s]["median"]]
    if names:
        for offset, metric in enumerate(("p50_ms", "p99_ms", "max_ms")):
            values = [steady[name]["median"].get(metric, 0) for name in names]
            axes[0].bar([i + offset * 0.27 for i in range(len(names))], values, width=0.27, label=metric[:-3])
        axes[0].set_xticks([i + 0.27 for i in range(len(names))], names)
        axes[0].set_yscale("log")
        axes[0].set_ylabel("delivery latency (ms)")
        axes[0].set_title("Steady editing: 50 modules x 4 editors")
        axes[0].legend()
    ceiling = results["results"].get("ceiling", {})
    for name, entry in ceiling.items():
        runs = [run for run in entry["runs"] if "curve" in run]
        if runs:
            curve = runs[0]["curve"]
            axes[1].plot(
                [p["deliveries_per_s"] for p in curve], [p["p99_ms"] for p in curve], marker="o", label=name
            )
    axes[1].axhline(100, color="grey", linestyle="--", linewidth=0.8)
    axes[1].set_xlabel("deliveries per second")
    axes[1].set_ylabel("p99 (ms)")
    axes[1].set_yscale("log")
    axes[1].set_title("Latency against load")
    if ceiling:
        axes[1].legend()
    growth = results["results"].get("growth", {})
    for name, entry in growth.items():
        runs = [run for run in entry["runs"] if "curve" in run]
        if runs and runs[0]["curve"]["editors"]:
            points = runs[0]["curve"]["editors"]
            axes[2].plot([p["x"] for p in points], [p["p99_ms"] for p in points], marker="o", label=name)
    axes[2].set_xlabel("editors in one module")
    axes[2].set_ylabel("p99 (ms)")
    axes[2].set_xscale("log")
    axes[2].set_title("Growth: latency against editors per room")
    if growth:
        axes[2].legend()
    figure.tight_layout()
    figure.savefig(directory / f"{stem}.png", dpi=110)
    plt.close(figure)
    if growth:
        _growth_plot(growth, directory / f"{stem}-growth.png")


def _growth_plot(growth: dict[str, Any], path: Path) -> None:
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, entry in growth.items():
        runs = [run for run in entry["runs"] if "curve" in run]
        if not runs:
            continue
        curve = runs[0]["curve"]
        if curve["connections"]:
            axes[0].plot(
                [p["x"] for p in curve["connections"]],
                [p["rss_mb"] for p in curve["connections"]],
                marker="o",
                label=name,
            )
        if curve["edits"]:
            axes[1].plot(
                [p["x"] for p in curve["edits"]],
                [p["from_storage_ms"] for p in curve["edits"]],
                marker="o",
                label=f"{name} (storage)",
            )
            axes[1].plot(
                [p["x"] for p in curve["edits"]],
                [p["from_memory_ms"] for p in curve["edits"]],
                marker="x",
                linestyle="--",
                label=f"{name} (memory)",
            )
    axes[0].set_xlabel("idle connections")
    axes[0].set_ylabel("server RSS (MiB)")
    axes[0].set_title("Memory against connections")
    axes[0].legend()
    axes[1].set_xscale("log")
    axes[1].set_xlabel("edits in the document")
    axes[1].set_ylabel("cold open (ms)")
    axes[1].set_title("Cold open against edit count")
    axes[1].legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)

"""The REST scenario: requests/s and p99 of kb's API, with a keep-alive HTTP/1.1 load generator
on its own core (`python -m bench.restload < spec.json`)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
from typing import Any

import numpy as np

from .servers import LOAD_CORES, ROOT, Kb, pinned

WORDS = [
    *("deploy", "rollback", "incident", "kubernetes", "postgres", "redis", "cache", "queue", "latency"),
    *("budget", "review", "oncall", "runbook", "migration", "schema", "index", "backup", "restore"),
    *("alert", "dashboard", "metric", "trace", "log", "release", "canary", "feature", "flag", "retry"),
    *("timeout", "circuit", "breaker", "throttle", "shard", "replica", "leader"),
]


def seed_bytes(target: Kb, count: int) -> None:
    """Bulk-insert `count` bytes over 100 modules (rows only: the search index follows by
    itself, through the database triggers or generated column)."""
    code = f"""
import os, random, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kb.settings")
django.setup()
from bytes_app.models import Byte, Module, Workspace
words = {WORDS!r}
rng = random.Random(1)
workspace = Workspace.objects.get(name="Bench")
modules = list(Module.objects.filter(workspace=workspace).order_by("id"))[:100]
have = Byte.objects.filter(module__workspace=workspace).count()
batch = []
for n in range(have, {count}):
    text = " ".join(rng.choice(words) for _ in range(rng.randint(40, 160)))
    batch.append(Byte(module=modules[n % len(modules)], title=" ".join(rng.sample(words, 3)),
                      slug=f"seed-{{n}}", content=text, position=n))
    if len(batch) == 2000:
        Byte.objects.bulk_create(batch)
        batch = []
Byte.objects.bulk_create(batch)
"""
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=target.env(), check=True)


def rest_scenario(target: Kb, scale: Any) -> dict[str, Any]:
    setup = json.loads(
        subprocess.run(
            [sys.executable, "-m", "bench.kbsetup", "100"],
            cwd=ROOT,
            env=target.env(),
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    token, rooms = setup["token"], setup["rooms"]
    port = target.ports[0]
    results: dict[str, Any] = {}
    for count in scale.rest_bytes:
        seed_bytes(target, count)
        for name, requests in {
            "get_byte": [("GET", f"/api/bytes/{rooms[n % 100]['byte']}/", None) for n in range(100)],
            "list_module": [
                ("GET", f"/api/bytes/?module={rooms[n % 100]['module']}", None) for n in range(100)
            ],
            "search": [("GET", f"/api/bytes/?q={word}", None) for word in WORDS],
        }.items():
            if name != "search" and count != scale.rest_bytes[0]:
                continue
            label = name if name != "search" else f"search_{count}"
            results[label] = generate(port, token, requests, scale.rest_seconds)
    # PATCH a byte that a live client has open.
    patch_room = rooms[0]
    live = subprocess.Popen(
        pinned(
            [
                sys.executable,
                "-m",
                "bench.restload",
                "--hold",
                f"ws://127.0.0.1:{port}/ws/modules/{patch_room['module']}/?token={token}",
            ],
            LOAD_CORES,
        ),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    time.sleep(1.5)
    body = [("PATCH", f"/api/bytes/{patch_room['byte']}/", {"content": f"patched {n}"}) for n in range(50)]
    results["patch_live"] = generate(port, token, body, scale.rest_seconds, concurrency=2)
    live.terminate()
    live.wait()
    return results


def generate(port: int, token: str, requests: list, seconds: float, concurrency: int = 8) -> dict[str, float]:
    spec = {
        "port": port,
        "token": token,
        "requests": requests,
        "seconds": seconds,
        "concurrency": concurrency,
    }
    process = subprocess.run(
        pinned([sys.executable, "-m", "bench.restload"], LOAD_CORES),
        input=json.dumps(spec).encode(),
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    return json.loads(process.stdout)


async def _worker(
    spec: dict[str, Any], latencies: list[float], statuses: dict[int, int], stop_at: float
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", spec["port"])
    rng = random.Random()
    while time.monotonic() < stop_at:
        method, path, body = rng.choice(spec["requests"])
        payload = json.dumps(body).encode() if body is not None else b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token {spec['token']}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        began = time.monotonic()
        writer.write(head.encode() + payload)
        status_line = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        latencies.append((time.monotonic() - began) * 1000)
        status = int(status_line.split()[1])
        statuses[status] = statuses.get(status, 0) + 1
    writer.close()


async def _main(spec: dict[str, Any]) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    stop_at = time.monotonic() + spec["seconds"]
    await asyncio.gather(*(_worker(spec, latencies, statuses, stop_at) for _ in range(spec["concurrency"])))
    return {
        "requests_per_s": len(latencies) / spec["seconds"],
        "p50_ms": float(np.percentile(latencies, 50)) if latencies else float("nan"),
        "p99_ms": float(np.percentile(latencies, 99)) if latencies else float("nan"),
        "statuses": {str(k): v for k, v in statuses.items()},
    }


async def _hold(url: str) -> None:
    """A live client that keeps the module open (so PATCHes go through its room)."""
    import websockets

    from collab import protocol

    async with websockets.connect(url, compression=None, ping_interval=None) as socket:
        await socket.send(protocol.sync_step1(b"\x00"))
        async for _ in socket:
            pass


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--hold":
        asyncio.run(_hold(sys.argv[2]))
    else:
        sys.stdout.write(json.dumps(asyncio.run(_main(json.load(sys.stdin)))))

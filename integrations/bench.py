"""Delivery throughput and latency of the webhook worker against a local receiver.

    python -m integrations.bench [--events 500] [--paced 200] [--rate 20] [--database-url URL]

Runs on a throwaway SQLite database (or --database-url, which it migrates), starts a real
`manage.py kb_worker` process and a local HTTP receiver, then
  1. burst: commits --events byte.created events, then measures how fast the worker drains them;
  2. paced: commits --paced events at --rate per second and measures commit-to-receipt latency.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class Arrivals:
    def __init__(self) -> None:
        self.at: dict[int, float] = {}
        self.count = 0
        self.lock = threading.Condition()

    def wait_for(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.count < count:
                if not self.lock.wait(max(0.0, deadline - time.monotonic())) and time.monotonic() > deadline:
                    raise SystemExit(f"only {self.count} of {count} deliveries arrived in {timeout}s")


def serve(arrivals: Arrivals) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            now = time.time()
            byte_id = json.loads(body)["data"]["byte"]["id"]
            with arrivals.lock:
                arrivals.at.setdefault(byte_id, now)
                arrivals.count += 1
                arrivals.lock.notify_all()
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--paced", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--poll-ms", type=int, default=200)
    parser.add_argument("--database-url", default="")
    options = parser.parse_args()

    scratch = tempfile.mkdtemp(prefix="kb-webhook-bench-")
    env = {
        "DJANGO_SETTINGS_MODULE": "kb.settings",
        "DEBUG": "1",
        "KB_DATA_DIR": scratch,
        "DATABASE_URL": options.database_url or f"sqlite:///{scratch}/bench.sqlite3",
        "KB_WEBHOOK_ALLOW_PRIVATE": "1",
        "KB_WEBHOOK_COALESCE_MS": "0",
        "KB_WEBHOOK_POLL_MS": str(options.poll_ms),
        "KB_LIVE_DOCUMENTS": "bytes_app.live.NoLiveDocuments",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from bytes_app import services as kb
    from integrations import services

    call_command("migrate", verbosity=0)
    arrivals = Arrivals()
    server = serve(arrivals)
    user = get_user_model().objects.create_user(username=f"bench{int(time.time())}")
    workspace = kb.workspace_create(user=user, name="Bench")
    module = kb.module_create(workspace=workspace, name="Bench")
    services.endpoint_create(
        workspace=workspace, user=user, url=f"http://127.0.0.1:{server.server_address[1]}/hook"
    )
    # 1. Burst: the events are committed with no worker running, then one worker drains them.
    started = time.time()
    for number in range(options.events):
        kb.byte_create(module=module, user=user, title=f"Burst {number}")
    print(f"burst: {options.events} events committed in {time.time() - started:.1f}s")
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "kb_worker"],
        cwd=ROOT,
        env={**os.environ, **env},
        stderr=subprocess.DEVNULL,
    )
    try:
        arrivals.wait_for(options.events, timeout=600)
        first, last = min(arrivals.at.values()), max(arrivals.at.values())
        print(f"burst: one worker delivered them at {(options.events - 1) / (last - first):.0f} deliveries/s")
        # 2. Paced: latency from commit to receipt.
        committed: dict[int, float] = {}
        interval = 1 / options.rate
        start = time.monotonic()
        for number in range(options.paced):
            byte = kb.byte_create(module=module, user=user, title=f"Paced {number}")
            committed[byte.pk] = time.time()
            time.sleep(max(0.0, start + (number + 1) * interval - time.monotonic()))
        arrivals.wait_for(options.events + options.paced, timeout=600)
        latencies = [(arrivals.at[pk] - at) * 1000 for pk, at in committed.items()]
        print(
            f"paced: {options.paced} events at {options.rate:g}/s; commit-to-receipt latency "
            f"p50 {percentile(latencies, 0.5):.0f} ms, p99 {percentile(latencies, 0.99):.0f} ms, "
            f"max {max(latencies):.0f} ms, mean {statistics.mean(latencies):.0f} ms "
            f"(worker poll {options.poll_ms} ms)"
        )
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        server.shutdown()


if __name__ == "__main__":
    main()

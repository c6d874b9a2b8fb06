"""Real kb server processes for tests: `python -m kb.serve` on a free loopback port, sharing the
test database (and Redis when asked), started, killed (-9 or TERM) and restarted by the test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "data" / "tests" / "logs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_url() -> str:
    """The URL of the database the running test uses (pytest-django's test database)."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = settings.get("USER") or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgresql://{user}{password}@{host}:{port}/{settings['NAME']}"


class Server:
    def __init__(self, *, redis_url: str | None = None, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.redis_url = redis_url
        self.extra_env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log_path = LOGS / f"server-{self.port}-{uuid.uuid4().hex[:6]}.log"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "kb.settings",
            "DATABASE_URL": test_database_url(),
            "SECRET_KEY": "tests-only-secret-key-not-used-anywhere-else-0123456789",
            "DEBUG": "0",
            "KB_HTTPS": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "KB_THROTTLE_USER": "100000/min",
            "KB_THROTTLE_ANON": "100000/min",
            "KB_MATERIALIZE_MS": "100",
            "KB_ROOM_IDLE_SECONDS": "1",
            "LOG_LEVEL": "WARNING",
            **self.extra_env,
        }
        env.pop("REDIS_URL", None)
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        return env

    def start(self, timeout: float = 20.0) -> Server:
        log = open(self.log_path, "ab")  # noqa: SIM115 (kept open for the child's lifetime)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kb.serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}: {self.log()}")
            try:
                urllib.request.urlopen(f"{self.http}/api/auth/session/", timeout=1).read()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start in {timeout}s: {self.log()}")

    def kill(self) -> None:
        """kill -9: no chance to flush anything."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM, as a deploy does; returns the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            # Where it is stuck: kb dumps its threads and asyncio tasks into its log on SIGUSR1.
            self.process.send_signal(signal.SIGUSR1)
            time.sleep(2)
            raise AssertionError(
                f"still running {timeout:.0f} s after SIGTERM; log:\n{self.log(tail=30000)}"
            ) from None

    def restart(self) -> Server:
        self.kill()
        return self.start()

    def log(self, tail: int | None = 4000) -> str:
        """The end of the server's log (`tail` characters; None: all of it)."""
        try:
            text = self.log_path.read_text()
        except OSError:
            return ""
        return text if tail is None else text[-tail:]

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()

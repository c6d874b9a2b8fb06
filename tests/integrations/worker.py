"""`python manage.py kb_worker` as a real process on the test database, for tests and the bench."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "data" / "tests" / "logs"


class WorkerProcess:
    def __init__(self, database_url: str, **env: str) -> None:
        self.database_url = database_url
        self.extra_env = env
        self.process: subprocess.Popen[bytes] | None = None
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log_path = LOGS / f"worker-{uuid.uuid4().hex[:8]}.log"

    def start(self) -> WorkerProcess:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "kb.settings",
            "DATABASE_URL": self.database_url,
            "SECRET_KEY": "tests-only-secret-key-not-used-anywhere-else-0123456789",
            "DEBUG": "0",
            "KB_HTTPS": "0",
            "LOG_LEVEL": "WARNING",
            "KB_WEBHOOK_ALLOW_PRIVATE": "1",
            "KB_WEBHOOK_POLL_MS": "20",
            **self.extra_env,
        }
        log = open(self.log_path, "ab")  # noqa: SIM115 (kept open for the child's lifetime)
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "kb_worker"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return self

    def kill(self) -> None:
        """kill -9: the worker gets no chance to record anything."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=20)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

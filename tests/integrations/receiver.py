"""A real HTTP webhook receiver for tests and the bench: records every request, answers with a
chosen status, can hold requests (to kill a worker mid-delivery) and go down and come back."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.received: list[Received] = []
        self.status = 200
        self.hold = threading.Event()  # set: requests wait until it is cleared or released
        self.released = threading.Event()
        self.changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook?source=kb"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.changed:
                    receiver.received.append(Received(dict(self.headers.items()), body))
                    receiver.changed.notify_all()
                if receiver.hold.is_set():
                    receiver.released.wait(30)
                self.send_response(receiver.status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" * 10000)  # longer than the worker reads

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = 30) -> list[Received]:
        """Wait until `predicate(received)` holds; fail with what was received otherwise."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate(self.received):
                left = deadline - time.monotonic()
                if left <= 0:
                    types = [item.event.get("type") for item in self.received]
                    raise AssertionError(f"receiver condition not met in {timeout}s; got {types}")
                self.changed.wait(min(left, 0.1))
            return list(self.received)

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.stop()

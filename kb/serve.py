"""Start kb's ASGI server: uvicorn, with the WebSocket settings the collab layer relies on.

`python -m kb.serve --host 0.0.0.0 --port 8000 --workers 2`. Environment: WEB_CONCURRENCY
(workers), KB_ACCESS_LOG=1 (log every request), FORWARDED_ALLOW_IPS (trusted proxies).
"""

from __future__ import annotations

import argparse
import os

import uvicorn


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kb.settings")
    parser = argparse.ArgumentParser(description="Run kb (HTTP + WebSocket) under uvicorn.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "1")))
    args = parser.parse_args()

    from django.conf import settings

    uvicorn.run(
        "kb.asgi:application",
        host=args.host,
        port=args.port,
        workers=args.workers,
        lifespan="on",
        # A frame over the collab limit is refused by uvicorn itself (close 1009) before
        # it is buffered whole; the consumer's own check (4413) covers other servers.
        ws_max_size=settings.KB_WS_MAX_FRAME_BYTES + 64,
        # Compression costs ~45 KiB per idle socket; Yjs updates are small and binary.
        ws_per_message_deflate=False,
        # uvicorn's sans-I/O protocol, which fails a misbehaving client's connection (kb/websocket.py).
        ws="kb.websocket:WebSocketProtocol",
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        timeout_graceful_shutdown=15,
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        access_log=os.environ.get("KB_ACCESS_LOG", "") == "1",
        log_level=os.environ.get("LOG_LEVEL", "info").lower(),
    )


if __name__ == "__main__":
    main()

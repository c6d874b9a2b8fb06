"""ASGI lifespan for the Channels router (which has none): start-up and shut-down hooks.

uvicorn sends `lifespan.shutdown` after every connection has closed, so a shutdown hook is
the place to flush what is still pending.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]


class Lifespan:
    def __init__(self, *, startup: list[Hook] | None = None, shutdown: list[Hook] | None = None) -> None:
        self.startup = startup or []
        self.shutdown = shutdown or []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self._run(self.startup, "startup", send)
            elif message["type"] == "lifespan.shutdown":
                await self._run(self.shutdown, "shutdown", send)
                return

    async def _run(self, hooks: list[Hook], phase: str, send: Any) -> None:
        try:
            for hook in hooks:
                await hook()
        except Exception as error:
            logger.exception("lifespan %s failed", phase)
            await send({"type": f"lifespan.{phase}.failed", "message": str(error)})
            return
        await send({"type": f"lifespan.{phase}.complete"})

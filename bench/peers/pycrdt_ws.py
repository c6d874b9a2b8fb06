"""pycrdt-websocket peer for the benchmark (run with bench/.cache/venv-pycrdt-ws):
    python pycrdt_ws.py <port> [sqlite-file]

Two changes to its defaults, both so that it can be measured at all: rooms are kept when
emptied (otherwise a late joiner gets an empty document), and one lock guards starting a room
(concurrent first joins otherwise hang; see shared/VERIFIED.md). With a file, updates are kept
in its SQLiteYStore and a room loads them when it starts.
"""

from __future__ import annotations

import contextlib
import sys
from contextlib import asynccontextmanager

import anyio
import uvicorn
from pycrdt.store import SQLiteYStore
from pycrdt.websocket import ASGIServer, WebsocketServer, YRoom

PORT = int(sys.argv[1])
DATABASE = sys.argv[2] if len(sys.argv) > 2 else None


class Store(SQLiteYStore):
    db_path = DATABASE or "unused.db"


class Server(WebsocketServer):
    def __init__(self) -> None:
        super().__init__(auto_clean_rooms=False)
        self._room_lock = anyio.Lock()

    async def get_room(self, name: str) -> YRoom:
        async with self._room_lock:
            if name not in self.rooms and DATABASE:
                store = Store(path=name)
                room = YRoom(ready=True, ystore=store, log=self.log)
                self.rooms[name] = room
                await self.start_room(room)
                with contextlib.suppress(Exception):  # a document never stored before
                    await store.apply_updates(room.ydoc)
            return await super().get_room(name)


websocket_server = Server()
inner = ASGIServer(websocket_server)


@asynccontextmanager
async def lifespan():
    async with websocket_server:
        yield


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        async with lifespan():
            await inner(scope, receive, send)
    else:
        await inner(scope, receive, send)


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=PORT, ws_per_message_deflate=False, log_level="warning")

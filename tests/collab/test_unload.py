"""Rooms unload once their last socket has gone, and nothing of them stays behind: the load
suite (`python -m bench.load`, cycles) found every unloaded room kept alive, document and all."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import weakref

import pytest

from collab import runtime as collab_runtime
from collab.memory import census_change

from .client import YClient
from .conftest import db_call

pytestmark = pytest.mark.django_db(transaction=True)


async def until(condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_an_unloaded_room_is_freed_with_its_document(team, module_url):
    client = YClient(module_url(team["editor"], extra="&ack=1"))
    assert await client.connect()
    await client.sync()
    await client.type(team["byte"].pk, 0, "kept ")
    await client.until(lambda: client.saved == client.sent_writes)
    rt = collab_runtime.runtime()
    room = rt.rooms.loaded(team["deploy"].pk)
    assert room is not None
    # pycrdt holds observers, and the document they watch, from native code (Room.dispose).
    room_ref, doc_ref = weakref.ref(room), weakref.ref(room.doc)
    del room
    # Freed when the last reference goes, not by the cycle collector: an idle process runs it
    # rarely, and Python does not know the size of the document's native memory (found by
    # the soak: idle processes held unloaded rooms, through their closed sockets' consumers).
    gc.collect()
    gc.disable()
    try:
        await client.close()
        await until(lambda: len(rt.rooms) == 0)  # tests unload at once (KB_ROOM_IDLE_SECONDS = 0)
        await asyncio.sleep(0.1)  # the server's end of the socket finishes too
        assert room_ref() is None, "the unloaded room is still alive"
        assert doc_ref() is None
    finally:
        gc.enable()

    # ...and the module loads again with what was typed.
    again = YClient(module_url(team["owner"]))
    assert await again.connect()
    await again.sync()
    assert str(again.text(team["byte"].pk)).startswith("kept ")
    await again.close()


async def test_status_tells_staff_what_the_process_holds(team, module_url, client_for, make_user):
    client = YClient(module_url(team["editor"]))
    assert await client.connect()
    await client.sync()
    staff = await db_call(make_user)("ops")
    staff.is_staff = True
    await db_call(staff.save)()

    def get_status(user):  # a REST request, on a thread, while the runtime's loop runs here
        return client_for(user).get("/api/collab/status/")

    response = await db_call(get_status)(staff)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["collab"]["rooms"] == 1
    assert body["collab"]["connections"] == 1
    assert body["rss_bytes"] > 0
    # Where the memory is: the C heap (glibc here), SQLite's caches when it is the database.
    assert body["memory"]["heap_in_use_bytes"] > 0 and body["memory"]["python_blocks"] > 0
    assert "objects" not in body  # a walk over the heap: only when asked

    def get_census(query):
        return client_for(staff).get(f"/api/collab/status/?objects={query}")

    objects = (await db_call(get_census)("1")).json()["objects"]
    # (at least: this test process also holds what earlier tests' clients kept)
    assert objects["collab.room.Room"] >= 1 and objects["pycrdt._doc.Doc"] >= 1, objects
    assert not any(kind.startswith("builtins.") for kind in objects)
    refused = await db_call(get_census)("maybe")
    assert refused.status_code == 400 and "objects" in refused.json(), refused.content

    for outsider in (team["owner"], None):  # a workspace owner is not an operator
        refused = await db_call(get_status)(outsider)
        assert refused.status_code in (401, 403), refused.content
        assert "collab" not in refused.json()
    await client.close()


async def test_opening_a_module_just_as_its_room_finishes_unloading(team, module_url, monkeypatch):
    """An open() that runs after the unload task's last step, before anything the task's end
    scheduled, used to find the finished task still registered; awaiting a finished task does
    not yield, so it spun for ever (found by the load suite: a process at 100% CPU)."""
    client = YClient(module_url(team["editor"]))
    assert await client.connect()
    await client.sync()
    rt = collab_runtime.runtime()
    module_id = team["deploy"].pk
    leave_room = rt.hub.leave_room
    opened: list[asyncio.Task] = []

    async def leave_and_reopen(module: int) -> None:
        await leave_room(module)
        # queued now: runs right after the unload task ends, ahead of its done callbacks
        opened.append(asyncio.ensure_future(rt.rooms.open(module)))

    monkeypatch.setattr(rt.hub, "leave_room", leave_and_reopen)
    await client.close()
    await until(lambda: bool(opened))
    room = await asyncio.wait_for(opened[0], 5)
    assert room is rt.rooms.loaded(module_id) and not room.closing


async def test_a_room_is_closing_from_the_moment_its_unload_is_scheduled(team, module_url):
    """A socket accepted between the unload's scheduling and its first step saw a room not yet
    closing, joined it, and was unloaded with it."""
    client = YClient(module_url(team["editor"]))
    assert await client.connect()
    await client.sync()
    rt = collab_runtime.runtime()
    room = rt.rooms.loaded(team["deploy"].pk)
    assert room is not None
    room.leave(next(iter(room.peers)))  # as the socket's close would
    rt.rooms._start_unload(room)
    assert room.closing, "a consumer checking now would join a room about to unload"
    await until(lambda: len(rt.rooms) == 0)
    await client.close()


def test_census_change_lists_only_the_types_whose_count_moved():
    before = {"collab.room.Room": 2, "pycrdt._doc.Doc": 3}
    idle = {"pycrdt._doc.Doc": 3, "collab.peer.Peer": 1}
    again = {"pycrdt._doc.Doc": 3, "collab.peer.Peer": 2}
    changed = census_change(before, idle, again)
    assert changed == {"collab.peer.Peer": [0, 1, 2], "collab.room.Room": [2, 0, 0]}
    assert census_change(before, dict(before)) == {}


async def test_a_room_loaded_for_a_socket_that_went_away_during_its_handshake_unloads(
    team, module_url, monkeypatch
):
    """The client gave up while the room loaded: the server's accept fails (uvicorn raises
    ClientDisconnected), no peer ever joins, and so no last peer ever leaves. The chores unload
    such a room as if its last peer had left."""
    from collab.consumers import ModuleConsumer

    accept = ModuleConsumer.send

    async def client_gone(self, message):
        if message["type"] == "websocket.accept":
            raise OSError("client disconnected")  # what uvicorn's ClientDisconnected is
        await accept(self, message)

    monkeypatch.setattr(ModuleConsumer, "send", client_gone)
    client = YClient(module_url(team["editor"]))
    with contextlib.suppress(Exception):
        await client.connect()
    rt = collab_runtime.runtime()
    await until(lambda: rt.rooms.loaded(team["deploy"].pk) is not None)
    room = rt.rooms.loaded(team["deploy"].pk)
    assert not room.peers and room.unload_handle is None  # nothing would unload it
    await rt.rooms._chores()  # the periodic chores (every TICK_SECONDS)
    await until(lambda: rt.rooms.loaded(team["deploy"].pk) is None)

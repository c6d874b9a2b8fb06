"""The hostile-frame corpus (tests/fuzz/corpus.py) replayed against a live server process.

For every entry, on a fresh attacker socket: the outcome is one the corpus allows (a close code,
or the socket kept), the process stays up, and the two other people in the room (one writing,
one watching) stay connected, keep their presence, and see the content unchanged. At the end
the room, a fresh reader and the stored document agree, and the room still takes edits.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time

import pytest
import websockets
from asgiref.sync import sync_to_async

from collab import protocol
from tests.chaos.harness import TrackedClient, ack_url, stored_texts
from tests.servers import Server

from .corpus import CORPUS, KEPT, Target

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]

SERVER_ENV = {
    # Floods are closed after 0.3 s over the rate instead of 5 s: the corpus runs quicker.
    "KB_WS_MESSAGES_PER_SECOND": "100",
    "KB_WS_MESSAGE_BURST": "100",
    "KB_WS_FLOOD_MS": "300",
}


async def outcome(
    attacker: TrackedClient, watcher: TrackedClient, frames: list[bytes | str], probe: int
) -> int:
    """The close code the attacker got, or KEPT if the server still relays its presence after
    the frames (a socket's frames are handled in order, and a closed socket's are ignored)."""

    async def send_all() -> None:
        for frame in frames:
            await attacker.socket.send(frame)
        await attacker.send(
            protocol.awareness_message(protocol.encode_awareness(
                [protocol.AwarenessEntry(attacker.doc.client_id, probe, f'{{"probe":{probe}}}')]
            ))
        )  # fmt: skip

    def relayed() -> bool:
        state = watcher.presence.get(attacker.doc.client_id)
        return state is not None and state.get("probe") == probe

    sending = asyncio.ensure_future(send_all())
    deadline = time.monotonic() + 20
    while attacker.close_code is None and not relayed() and time.monotonic() < deadline:
        await watcher.pump(0.02)
        with contextlib.suppress(websockets.ConnectionClosed):
            attacker.drain()
        if sending.done() and sending.exception() is not None:
            break
    if not sending.done():
        sending.cancel()
    with contextlib.suppress(BaseException):
        await sending
    if attacker.close_code is None and not relayed():
        with contextlib.suppress(AssertionError):
            await attacker.until_closed(timeout=2)
    if attacker.close_code is None:  # sending may have found the socket closed before reading did
        attacker.close_code = attacker.socket.close_code
    return KEPT if attacker.close_code is None else attacker.close_code


async def test_every_hostile_frame_closes_only_its_socket(team, token_of, transactional_db):
    module_id = team["deploy"].pk
    byte_ids = [team["byte"].pk, team["checklist"].pk]
    editor, owner, viewer = [await sync_to_async(token_of)(team[r]) for r in ("editor", "owner", "viewer")]
    with Server(env=SERVER_ENV) as server:
        writer = TrackedClient(ack_url(server.ws, module_id, owner))
        watcher = TrackedClient(ack_url(server.ws, module_id, viewer))
        for client in (writer, watcher):
            await client.connect()
            await client.sync()
        await writer.set_presence(1, {"byte": byte_ids[0]})
        await watcher.until(lambda: writer.doc.client_id in watcher.presence)
        before = {b: str(writer.text(b)) for b in byte_ids}
        problems: list[str] = []
        probes = frames_sent = 0
        only = [n for n in os.environ.get("FUZZ_CORPUS_ONLY", "").split(",") if n]
        for name, item in CORPUS.items():
            if only and name not in only:
                continue
            attacker = TrackedClient(ack_url(server.ws, module_id, editor))
            await attacker.connect()
            await attacker.sync()
            target = Target(writer.doc.client_id, byte_ids[0], attacker.doc.get_update())
            if item.setup is not None:  # honest edits first: their result is the new baseline
                for frame in item.setup(target):
                    await attacker.send(frame)
                old = before[byte_ids[0]]
                await writer.until(lambda old=old: str(writer.text(byte_ids[0])) != old)
                await watcher.until(lambda: str(watcher.text(byte_ids[0])) == str(writer.text(byte_ids[0])))
                before = {b: str(writer.text(b)) for b in byte_ids}
            probes += 1
            frames = item.frames(target)
            frames_sent += len(frames)
            got = await outcome(attacker, watcher, frames, probe=probes)
            await attacker.close()
            await writer.pump(0.05)
            await watcher.pump(0.05)
            if os.environ.get("FUZZ_CORPUS_VERBOSE"):
                print(name, got, attacker.close_reason, [f[:12] for f in list(attacker.received)[-5:]])
            if got not in item.allowed:
                problems.append(f"{name}: got {got}, allowed {sorted(item.allowed)}")
            if server.process.poll() is not None:
                problems.append(f"{name}: the server died: {server.log()}")
                break
            if writer.close_code is not None or watcher.close_code is not None:
                problems.append(f"{name}: a bystander was closed ({writer.close_code}, {watcher.close_code})")
                break
            for client in (writer, watcher):
                if {b: str(client.text(b)) for b in byte_ids} != before:
                    problems.append(f"{name}: the content changed for a bystander")
            seen = watcher.presence.get(writer.doc.client_id)
            if seen is None or seen["user"]["name"] != "olive":
                problems.append(f"{name}: the writer's presence was changed: {seen}")
            if any(p["user"]["name"] not in ("olive", "eddie") for p in watcher.presence.values()):
                problems.append(f"{name}: an unstamped identity reached the watcher")
        assert not problems, "\n".join(problems)

        # The room still works, and everyone agrees with the database.
        await writer.type(byte_ids[0], 0, "still editable ")
        await writer.until(lambda: writer.saved >= len(writer.frames), timeout=10)
        expected = {b: str(writer.text(b)) for b in byte_ids}
        assert expected[byte_ids[0]] == "still editable " + before[byte_ids[0]]
        await watcher.until(lambda: {b: str(watcher.text(b)) for b in byte_ids} == expected)
        reader = TrackedClient(ack_url(server.ws, module_id, viewer))
        await reader.connect()
        await reader.sync()
        assert {b: str(reader.text(b)) for b in byte_ids} == expected
        assert await sync_to_async(stored_texts)(module_id, byte_ids) == expected
        for client in (writer, watcher, reader):
            await client.close()
    print(f"{len(CORPUS)} corpus entries, {frames_sent} hostile frames replayed")

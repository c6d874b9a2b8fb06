"""The update log stays short even when no process lives long enough to count
KB_COMPACT_EVERY updates of its own: a room that loads a long log compacts it (the soak's
processes restarted every few seconds and left logs of ~50,000 rows per module)."""

from __future__ import annotations

import pytest
from pycrdt import Doc, Text

from collab import runtime as collab_runtime
from collab import store
from collab.models import DocUpdate

from .client import YClient
from .conftest import db_call
from .test_unload import until

pytestmark = pytest.mark.django_db(transaction=True)


def write_long_log(module_id: int, byte_id: int, updates: int) -> str:
    """`updates` one-character edits stored as earlier processes would have: log rows only."""
    store.ensure(module_id)
    doc: Doc = Doc(client_id=4242)
    doc.apply_update(store.load(module_id))
    changes: list[bytes] = []
    doc.observe(lambda event: changes.append(event.update))
    text = doc.get(store.text_name(byte_id), type=Text)
    for number in range(updates):
        text.insert(len(str(text).encode()), "abc\n"[number % 4])
    store.append([(module_id, change) for change in changes])
    return str(text)


async def test_a_room_that_loads_a_long_log_compacts_it(team, module_url, settings):
    settings.KB_COMPACT_EVERY = 100
    module_id, byte_id = team["deploy"].pk, team["byte"].pk
    # More than one compaction batch: the room folds them all.
    expected = await db_call(write_long_log)(module_id, byte_id, store.COMPACT_BATCH + 300)
    rows = db_call(lambda: DocUpdate.objects.filter(module_id=module_id).count())
    assert await rows() >= store.COMPACT_BATCH + 300

    client = YClient(module_url(team["editor"]))
    assert await client.connect()
    await client.sync()
    assert str(client.text(byte_id)) == expected
    rt = collab_runtime.runtime()
    deadline = rt.loop.time() + 10
    while await rows() != 0:
        assert rt.loop.time() < deadline, f"{await rows()} log rows left"
        await until(lambda: not rt.committer._compacting)
    await client.close()

    # What is stored now is what was there before.
    doc, log_rows = await db_call(store.read)(module_id)
    assert log_rows == 0
    assert str(doc.get(store.text_name(byte_id), type=Text)) == expected


async def test_a_short_log_is_left_alone(team, module_url, settings):
    settings.KB_COMPACT_EVERY = 100
    module_id, byte_id = team["deploy"].pk, team["byte"].pk
    await db_call(write_long_log)(module_id, byte_id, 40)
    before = await db_call(lambda: DocUpdate.objects.filter(module_id=module_id).count())()
    client = YClient(module_url(team["editor"]))
    assert await client.connect()
    await client.sync()
    await client.close()
    assert await db_call(lambda: DocUpdate.objects.filter(module_id=module_id).count())() == before

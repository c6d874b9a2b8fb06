"""The update log stays short even when no process lives long enough to count
KB_COMPACT_EVERY updates of its own: a room that loads a long log compacts it (the soak's
processes restarted every few seconds and left logs of ~50,000 rows per module)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
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


def test_a_compaction_committed_between_the_reads_of_a_load_hides_nothing(team):
    # Under PostgreSQL's READ COMMITTED each query of a load sees what was committed when it
    # ran: a compaction committed between reading the log and the snapshot moves rows from one
    # to the other. Read in the wrong order (snapshot first), those rows were in neither.
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's READ COMMITTED (SQLite reads one snapshot, and locks out the compaction)")
    module_id, byte_id = team["deploy"].pk, team["byte"].pk
    expected = write_long_log(module_id, byte_id, 30)
    rows = DocUpdate.objects.filter(module_id=module_id).count()
    folded: list[int] = []

    def compact_after_the_first_read(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not folded and sql.startswith("SELECT") and ('."data"' in sql or '."snapshot"' in sql):

            def compact() -> None:  # another connection, as another process's committer
                folded.append(store.compact(module_id))
                connection.close()

            thread = threading.Thread(target=compact)
            thread.start()
            thread.join()
        return result

    with connection.execute_wrapper(compact_after_the_first_read):
        doc, _ = store.read(module_id)
    assert folded == [rows]  # the whole log moved into the snapshot between the two reads
    assert str(doc.get(store.text_name(byte_id), type=Text)) == expected


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="PostgreSQL: Django binds on the client, nothing is prepared"
)
def test_compactions_of_any_length_run_the_same_sql_texts(team):
    # SQLite prepares and keeps one statement per distinct SQL text (bytes_app/sql.py): a DELETE
    # naming each folded row made a text per log length, about 100 KiB each at 500 rows.
    module_id, byte_id = team["deploy"].pk, team["byte"].pk
    write_long_log(module_id, byte_id, 1)
    store.compact(module_id)  # the byte's content, imported when the module's log began
    texts: dict[int, set[str]] = {}
    for updates in (3, 7):
        write_long_log(module_id, byte_id, updates)
        seen = texts.setdefault(updates, set())

        def record(execute, sql, params, many, context, seen=seen):
            seen.add(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            assert store.compact(module_id) == updates
        assert not DocUpdate.objects.filter(module_id=module_id).exists()
    assert texts[3] == texts[7], texts[7] ^ texts[3]

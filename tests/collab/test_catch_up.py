"""A process killed before it stored a byte's text leaves the edits only in the update log: at
start-up each process catches the byte rows up (tests/chaos/test_kill.py kills a real one)."""

from __future__ import annotations

import pytest

from bytes_app import services
from bytes_app.models import Byte, Revision
from collab import materializer
from collab import runtime as collab_runtime

from .conftest import db_call
from .test_compaction import write_long_log

pytestmark = pytest.mark.django_db(transaction=True)


def byte_row(byte_id: int) -> tuple[str, int]:
    return Byte.objects.values_list("content", "version").get(pk=byte_id)


async def test_catch_up_stores_texts_left_only_in_the_log(team):
    module_id, byte_id = team["deploy"].pk, team["byte"].pk
    before, version = await db_call(byte_row)(byte_id)
    revisions = db_call(lambda: Revision.objects.filter(byte_id=byte_id).count())
    revisions_before = await revisions()
    expected = await db_call(write_long_log)(module_id, byte_id, 40)
    assert expected != before

    rt = collab_runtime.runtime()
    assert await rt.materializer.catch_up() == 1
    assert await db_call(byte_row)(byte_id) == (expected, version + 1)
    assert await revisions() == revisions_before + 1
    other = team["checklist"]  # in the same module, not edited: untouched
    assert await db_call(byte_row)(other.pk) == (other.content, other.version)
    assert await rt.materializer.catch_up() == 0  # nothing left behind


def test_a_text_stored_meanwhile_by_a_live_room_is_not_replaced(team, monkeypatch):
    module_id, byte_id = team["deploy"].pk, team["byte"].pk
    write_long_log(module_id, byte_id, 10)
    read = materializer.store.read

    def read_while_a_room_stores(module: int, client_id: int | None = None):
        # Between the catch-up's read of the rows and of the document, a live room on another
        # process stores a newer text (it holds edits committed after this read).
        services.bytes_sync_from_live([services.LiveText(byte_id, "newer, from a live room", None)])
        return read(module, client_id)

    monkeypatch.setattr(materializer.store, "read", read_while_a_room_stores)
    assert materializer.catch_up_module(module_id) == 1  # it differed, but was newer
    assert byte_row(byte_id)[0] == "newer, from a live room"


def test_a_module_deleted_after_it_was_listed_is_skipped(team):
    module = team["deploy"]
    write_long_log(module.pk, team["byte"].pk, 3)
    assert module.pk in materializer.modules_with_log()
    module_id = module.pk
    module.delete()
    assert materializer.catch_up_module(module_id) == 0
    assert module_id not in materializer.modules_with_log()

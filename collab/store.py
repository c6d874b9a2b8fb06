"""Persistence of module documents: snapshot + append-only log, behind load / append / compact.

Synchronous Django code; the room calls it from worker threads, REST writes call it inside
their own transaction. Layout of a document (the contract clients rely on, see README):

- `byte:<id>`: root-level Text, the markdown content of byte <id>;
- `index`: root-level Map, `"<id>" -> {"title", "slug", "position"}` for each byte of the module.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from pycrdt import Doc, Map, Text

from bytes_app.models import Byte, Module
from bytes_app.sql import ids_in

from .models import DocState, DocUpdate

logger = logging.getLogger(__name__)

INDEX = "index"
TEXT_PREFIX = "byte:"
# The client id of every edit the server itself makes (seeding, REST writes). Safe to share:
# such edits are made one at a time per module, under the DocState row lock, against the
# stored state (see collab.live). Yjs clients that happen to draw the same random id notice
# and pick another.
SERVER_CLIENT_ID = 0x4B42_0000
COMPACT_BATCH = 5000


def text_name(byte_id: int) -> str:
    return f"{TEXT_PREFIX}{byte_id}"


def byte_id_of(name: str) -> int | None:
    if name.startswith(TEXT_PREFIX) and name[len(TEXT_PREFIX) :].isdigit():
        return int(name[len(TEXT_PREFIX) :])
    return None


def index_entry(byte: Byte) -> dict[str, Any]:
    return {"title": byte.title, "slug": byte.slug, "position": byte.position}


def seed(module_id: int) -> bytes:
    """A document holding the module's bytes as they are stored: the one-time import."""
    doc: Doc = Doc(client_id=SERVER_CLIENT_ID)
    index = doc.get(INDEX, type=Map)
    with doc.transaction():
        for byte in Byte.objects.filter(module_id=module_id).order_by("position", "id"):
            index[str(byte.pk)] = index_entry(byte)
            if byte.content:
                doc.get(text_name(byte.pk), type=Text).insert(0, byte.content)
    return doc.get_update()


def ensure(module_id: int) -> bool:
    """Give the module its document, imported from its bytes, unless it has one already.

    True when this call created it. Exactly once even when several processes race: the
    primary key decides, and the loser reads the winner's document.
    """
    if DocState.objects.filter(pk=module_id).exists():
        return False
    try:
        with transaction.atomic():
            DocState.objects.create(module_id=module_id, snapshot=seed(module_id))
    except IntegrityError:
        if not Module.objects.filter(pk=module_id).exists():
            raise
        return False
    return True


def read(module_id: int, client_id: int | None = None) -> tuple[Doc, int]:
    """The module's whole document (snapshot + log), created on first use, and how many log
    rows it took (a long log is worth compacting).

    The log is applied one update at a time: `merge_updates` of n updates costs O(n²) and holds
    the GIL throughout (`python -m bench.log_load`: 50,000 typing updates 26 s, against 0.38 s
    applied one by one), which stalled every socket of the process while a room loaded.
    """
    with transaction.atomic():
        ensure(module_id)
        # The log before the snapshot: each query sees what was committed when it ran, and a
        # compaction committed between them moves rows from the log into the snapshot. Read in
        # this order they are then in both (applied twice, harmlessly); in the other order, in
        # neither (a likely cause of an acknowledged edit missing in tests/chaos/test_kill.py in CI).
        log = DocUpdate.objects.filter(module_id=module_id).order_by("id").values_list("data", flat=True)
        updates = [bytes(data) for data in log]
        snapshot = DocState.objects.values_list("snapshot", flat=True).get(pk=module_id)
    doc: Doc = Doc() if client_id is None else Doc(client_id=client_id)
    doc.apply_update(bytes(snapshot))
    for update in updates:
        doc.apply_update(update)
    return doc, len(updates)


def load(module_id: int) -> bytes:
    """The module's whole document as one update."""
    return read(module_id)[0].get_update()


def _insert_sql() -> str:
    table = connection.ops.quote_name(DocUpdate._meta.db_table)
    return f"INSERT INTO {table} (module_id, data, created_at) VALUES (%s, %s, %s)"


def append(entries: list[tuple[int, bytes]]) -> None:
    """Store updates of any number of modules in one transaction (the group commit)."""
    if not entries:
        return
    # One prepared INSERT run for every row: the ORM's bulk_create builds a model instance and
    # compiles SQL per batch, four to five times the cost on this hot path (bench, steady).
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rows = [(module, data, now) for module, data in entries]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(_insert_sql(), rows)
    except IntegrityError:
        # A module was deleted while its updates waited: drop those, keep the others.
        alive = set(
            Module.objects.filter(pk__in={module for module, _ in entries}).values_list("pk", flat=True)
        )
        kept = [(module, data) for module, data in entries if module in alive]
        if len(kept) == len(entries):
            raise
        logger.info("dropped %d updates of deleted modules", len(entries) - len(kept))
        append(kept)


def compact(module_id: int) -> int:
    """Fold the log into the snapshot; returns how many log rows it folded.

    One transaction under the module's row lock, deleting exactly the rows it read: an update
    appended meanwhile stays in the log, and a crash halfway changes nothing.
    """
    with transaction.atomic():
        state = DocState.objects.select_for_update().filter(pk=module_id).first()
        if state is None:
            return 0
        rows = list(
            DocUpdate.objects.filter(module_id=module_id)
            .order_by("id")
            .values_list("id", "data")[:COMPACT_BATCH]
        )
        if not rows:
            return 0
        doc: Doc = Doc()
        doc.apply_update(bytes(state.snapshot))
        for _, data in rows:  # one by one: see read()
            doc.apply_update(bytes(data))
        state.snapshot = doc.get_update()
        state.compactions += 1
        state.save(update_fields=["snapshot", "compactions", "updated_at"])
        DocUpdate.objects.filter(id__in=ids_in(pk for pk, _ in rows)).delete()
    return len(rows)

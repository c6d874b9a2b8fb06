"""SQL whose text does not depend on how many rows it is about.

SQLite (Python's sqlite3 module) keeps each connection's last 128 prepared statements, one per
distinct SQL text, and a prepared `IN (%s, %s, ...)` of a few hundred ids holds about 100 KiB.
The queries that run every tick for however many bytes or log rows changed (the materializer,
compaction) gave a new text for each count: the load suite saw SQLite's memory outside its page
caches grow from 1.4 to 11.5 MiB in steps over five minutes (`python -m bench.load`), each
count also compiled afresh. On PostgreSQL Django binds parameters on the client, so nothing is
prepared per text and the plain list is kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.db import connection
from django.db.models.expressions import RawSQL


def ids_in(ids: Iterable[int]) -> RawSQL | list[int]:
    """The right-hand side of an `__in` lookup for these ids: one SQL text for any count."""
    values = list(ids)
    if connection.vendor == "sqlite":
        return RawSQL("SELECT value FROM json_each(%s)", [json.dumps(values)])
    return values

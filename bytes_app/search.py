"""Ranked full-text search over byte titles (weighted higher) and content.

PostgreSQL: a stored, generated `tsvector` column with a GIN index (migration 0002).
SQLite: an FTS5 table kept in step by triggers (migration 0002), ranked with bm25.
Both are database-maintained, so every write path (REST, live edits, imports) stays indexed.
User input never reaches the query syntax: it is cut into words, each matched as a prefix.
"""

from __future__ import annotations

import re

from django.db import connection
from django.db.models import QuerySet

from .models import Byte

WORD_RE = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 12

SQLITE_SQL = [
    """CREATE VIRTUAL TABLE bytes_app_byte_fts USING fts5(
        title, content, content='bytes_app_byte', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER bytes_app_byte_fts_insert AFTER INSERT ON bytes_app_byte BEGIN
        INSERT INTO bytes_app_byte_fts(rowid, title, content)
        VALUES (new.id, new.title, new.content);
    END""",
    """CREATE TRIGGER bytes_app_byte_fts_delete AFTER DELETE ON bytes_app_byte BEGIN
        INSERT INTO bytes_app_byte_fts(bytes_app_byte_fts, rowid, title, content)
        VALUES ('delete', old.id, old.title, old.content);
    END""",
    """CREATE TRIGGER bytes_app_byte_fts_update AFTER UPDATE OF title, content ON bytes_app_byte
    BEGIN
        INSERT INTO bytes_app_byte_fts(bytes_app_byte_fts, rowid, title, content)
        VALUES ('delete', old.id, old.title, old.content);
        INSERT INTO bytes_app_byte_fts(rowid, title, content)
        VALUES (new.id, new.title, new.content);
    END""",
    "INSERT INTO bytes_app_byte_fts(bytes_app_byte_fts) VALUES ('rebuild')",
]
SQLITE_REVERSE_SQL = [
    "DROP TRIGGER IF EXISTS bytes_app_byte_fts_insert",
    "DROP TRIGGER IF EXISTS bytes_app_byte_fts_delete",
    "DROP TRIGGER IF EXISTS bytes_app_byte_fts_update",
    "DROP TABLE IF EXISTS bytes_app_byte_fts",
]

POSTGRES_SQL = [
    """ALTER TABLE bytes_app_byte ADD COLUMN search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(title, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(content, '')), 'B')) STORED""",
    "CREATE INDEX bytes_app_byte_search ON bytes_app_byte USING GIN (search)",
]
POSTGRES_REVERSE_SQL = [
    "DROP INDEX IF EXISTS bytes_app_byte_search",
    "ALTER TABLE bytes_app_byte DROP COLUMN IF EXISTS search",
]


def search_terms(query: str) -> list[str]:
    return WORD_RE.findall(query.lower())[:MAX_TERMS]


def search_bytes(queryset: QuerySet[Byte], query: str) -> QuerySet[Byte]:
    """Bytes matching every word of `query` (as prefixes), annotated with `rank`, best first.

    `extra()` is used on purpose: the match is a join with a table (SQLite) or a column
    (PostgreSQL) the ORM does not model; it stays in this one function.
    """
    terms = search_terms(query)
    if not terms:
        return queryset.none()
    if connection.vendor == "postgresql":
        tsquery = " & ".join(f"{term}:*" for term in terms)
        return queryset.extra(
            select={"rank": "ts_rank_cd(bytes_app_byte.search, to_tsquery('english', %s))"},
            select_params=[tsquery],
            where=["bytes_app_byte.search @@ to_tsquery('english', %s)"],
            params=[tsquery],
            order_by=["-rank", "-updated_at"],
        )
    match = " ".join(f'"{term}"*' for term in terms)
    return queryset.extra(
        # bm25 is lower for better matches; negate it so that "higher rank is better" holds
        # on both backends. Title matches weigh ten times content matches.
        select={"rank": "-bm25(bytes_app_byte_fts, 10.0, 1.0)"},
        tables=["bytes_app_byte_fts"],
        where=["bytes_app_byte_fts.rowid = bytes_app_byte.id", "bytes_app_byte_fts MATCH %s"],
        params=[match],
        order_by=["-rank", "-updated_at"],
    )

"""Ordered schema migrations for the draft store.

Rules:

* ``MIGRATIONS[i].version == i + 1``; ``SCHEMA_VERSION`` is the last version.
  The database's ``PRAGMA user_version`` says how many steps were applied.
* ``Store`` applies each pending step in its own ``BEGIN IMMEDIATE``
  transaction together with ``PRAGMA user_version = <version>``: a step is
  either fully applied or not at all, even if the power fails.
* Steps receive the raw ``sqlite3.Connection`` that is already inside the
  transaction.  They must only use ``execute``/``executemany`` (never
  ``executescript``, which commits) and must not commit or roll back.
* Never edit a released step; append a new one instead.  SQL is written out
  literally here (not generated from ``models.py``) for that reason.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["APPLICATION_ID", "Migration", "MIGRATIONS", "SCHEMA_VERSION"]

# Written to PRAGMA application_id so our files can be told apart from any
# other SQLite database ("CLDS").
APPLICATION_ID = 0x434C4453


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[sqlite3.Connection], None]


def _run(conn: sqlite3.Connection, statements: tuple[str, ...]) -> None:
    for statement in statements:
        conn.execute(statement)


_V1_STATEMENTS: tuple[str, ...] = (
    """
    CREATE TABLE store_state (
        id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
        data_version INTEGER NOT NULL
    )
    """,
    "INSERT INTO store_state (id, data_version) VALUES (1, 0)",
    """
    CREATE TABLE draft (
        id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
        uuid TEXT NOT NULL,
        form_id TEXT NOT NULL,
        form_version INTEGER NOT NULL,
        title TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        linked_draft_id INTEGER REFERENCES draft (id) ON DELETE SET NULL
    )
    """,
    "CREATE INDEX ix_draft_uuid ON draft (uuid)",
    "CREATE INDEX ix_draft_updated_at ON draft (updated_at)",
    """
    CREATE TABLE draft_answer (
        draft_id INTEGER NOT NULL REFERENCES draft (id) ON DELETE CASCADE,
        "key" TEXT NOT NULL,
        value_json TEXT,
        note TEXT,
        CHECK (value_json IS NOT NULL OR note IS NOT NULL),
        PRIMARY KEY (draft_id, "key")
    )
    """,
    """
    CREATE TABLE draft_meta (
        draft_id INTEGER NOT NULL REFERENCES draft (id) ON DELETE CASCADE,
        "key" TEXT NOT NULL,
        value_json TEXT NOT NULL,
        PRIMARY KEY (draft_id, "key")
    )
    """,
    """
    CREATE TABLE blob (
        sha256 TEXT NOT NULL PRIMARY KEY CHECK (length(sha256) = 64),
        size INTEGER NOT NULL CHECK (size >= 0),
        data BLOB NOT NULL
    )
    """,
    """
    CREATE TABLE evidence (
        id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
        draft_id INTEGER NOT NULL REFERENCES draft (id) ON DELETE CASCADE,
        "key" TEXT NOT NULL,
        option TEXT NOT NULL,
        filename TEXT NOT NULL,
        sha256 TEXT NOT NULL REFERENCES blob (sha256),
        added_at TEXT NOT NULL,
        position INTEGER NOT NULL
    )
    """,
    'CREATE INDEX ix_evidence_slot ON evidence (draft_id, "key", option, position)',
    "CREATE INDEX ix_evidence_sha256 ON evidence (sha256)",
    f"PRAGMA application_id = {APPLICATION_ID}",
)


def _v1_initial(conn: sqlite3.Connection) -> None:
    _run(conn, _V1_STATEMENTS)


MIGRATIONS: list[Migration] = [
    Migration(1, "initial schema: drafts, answers, meta, evidence blobs", _v1_initial),
]

SCHEMA_VERSION: int = MIGRATIONS[-1].version

# Tables that version 1 created; every later version still has them.  Used to
# recognise our own database files (e.g. before restoring a backup).
V1_TABLES: frozenset[str] = frozenset(
    {"store_state", "draft", "draft_answer", "draft_meta", "blob", "evidence"}
)

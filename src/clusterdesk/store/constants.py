"""The store's constants: file names, limits, SQLite's result codes."""

from __future__ import annotations

from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from sqlalchemy.schema import Table
    from sqlmodel import SQLModel

from pathlib import Path
import re

import os



EVIDENCE_MAX_BYTES = 200 * 1024 * 1024

SNAPSHOT_DIR_NAME = "snapshots"
SQLITE_MAGIC = b"SQLite format 3\x00"
CHUNK = 1024 * 1024
BUSY_TIMEOUT_MS = 5000
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024
POSIX = os.name == "posix"


def table_of(model: type[SQLModel]) -> Table:
    """The SQLAlchemy table of a row class (SQLModel sets ``__table__`` but does not declare it)."""
    table: Table = getattr(model, "__table__")
    return table

# Primary SQLite result codes we translate into user-facing messages.
SQLITE_PERM = 3
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
SQLITE_NOTADB = 26
SQLITE_READONLY_ROLLBACK = SQLITE_READONLY | (3 << 8)

# A snapshot's name: <database stem>-YYYYMMDD-HHMMSS-micro.sqlite3
SNAPSHOT_RE_TEMPLATE = r"{stem}-\d{{8}}-\d{{6}}-\d{{6}}\.sqlite3"


def snapshot_pattern(db_path: Path) -> re.Pattern[str]:
    return re.compile(SNAPSHOT_RE_TEMPLATE.format(stem=re.escape(db_path.stem)))

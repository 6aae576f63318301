"""Draft store: every answer a user types is committed to a local SQLite file at once.

Qt-free.  See ``db.Store`` for the API.
"""

from .db import (
    EVIDENCE_MAX_BYTES,
    DatabaseDamaged,
    DatabaseTooNew,
    DraftInfo,
    DraftNotFound,
    EvidenceError,
    EvidenceInfo,
    Store,
    StoreError,
    default_db_path,
)
from .migrations import SCHEMA_VERSION

__all__ = [
    "Store",
    "DraftInfo",
    "EvidenceInfo",
    "StoreError",
    "DraftNotFound",
    "DatabaseDamaged",
    "DatabaseTooNew",
    "EvidenceError",
    "SCHEMA_VERSION",
    "default_db_path",
    "EVIDENCE_MAX_BYTES",
]

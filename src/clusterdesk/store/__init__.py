"""Draft store: every answer a user types is committed to a local SQLite file at once.

Qt-free.  See ``db.Store`` for the API.
"""

from .db import (
    EVIDENCE_MAX_BYTES,
    BackupRefused,
    DamagedValue,
    DatabaseDamaged,
    DatabaseEmpty,
    DatabaseTooNew,
    DraftInfo,
    DraftNotFound,
    EvidenceError,
    EvidenceInfo,
    Repair,
    Store,
    StoreError,
    ValuesDamaged,
    WritesStopped,
    default_db_path,
    preload_orm,
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
    "DatabaseEmpty",
    "BackupRefused",
    "DamagedValue",
    "Repair",
    "ValuesDamaged",
    "WritesStopped",
    "EvidenceError",
    "SCHEMA_VERSION",
    "default_db_path",
    "EVIDENCE_MAX_BYTES",
    "preload_orm",
]

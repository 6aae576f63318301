"""Draft store: every answer a user types is committed to a local SQLite file at once.

Qt-free. ``Store`` (db.py) is the façade; beside it: errors, records (what the store hands out),
checks (a file before use, every value when read), locks (lock files and temporaries), backups
(snapshots, backup, restore), names (evidence file names), helpers and constants.
"""

from clusterdesk.paths import default_db_path

from .constants import EVIDENCE_MAX_BYTES
from .db import Store, preload_orm
from .errors import (
    BackupRefused,
    DatabaseDamaged,
    DatabaseEmpty,
    DatabaseTooNew,
    DraftNotFound,
    EvidenceError,
    StoreError,
    ValuesDamaged,
    WritesStopped,
)
from .migrations import SCHEMA_VERSION
from .records import DamagedValue, DraftInfo, EvidenceInfo, Repair

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

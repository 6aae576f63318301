"""The store's errors; each carries its Chinese message (``ClusterDeskError``)."""

from __future__ import annotations

from pathlib import Path

from clusterdesk.errors import ClusterDeskError

from .records import DamagedValue


# --------------------------------------------------------------------------- errors


class StoreError(ClusterDeskError):
    """Base class of every error the store raises; ``str()`` is a Chinese message for the user."""


class DraftNotFound(StoreError):
    def __init__(self, draft_id: int) -> None:
        self.draft_id = draft_id
        super().__init__(f"草稿 {draft_id} 不存在")


class DatabaseDamaged(StoreError):
    """The file is not a SQLite database, fails its integrity check, or is not one of ours."""

    def __init__(self, message: str, path: Path | None = None) -> None:
        self.path = path
        super().__init__(message)


class DatabaseTooNew(StoreError):
    """The file was written by a newer ClusterDesk (higher schema version)."""

    def __init__(self, message: str, path: Path | None = None, version: int | None = None) -> None:
        self.path = path
        self.version = version
        super().__init__(message)


class DatabaseEmpty(DatabaseDamaged):
    """An existing database file is empty (0 bytes): it is never reused or overwritten."""


class BackupRefused(DatabaseDamaged):
    """A file given to restore is not exactly a database this program writes; ``problems`` lists why."""

    def __init__(self, problems: list[str], path: Path | None = None) -> None:
        self.problems = problems
        super().__init__("\n".join(problems), path)


class ValuesDamaged(DatabaseDamaged):
    """Stored values that cannot be read back; ``items`` names each (draft and field)."""

    def __init__(self, items: list[DamagedValue], path: Path | None = None) -> None:
        self.items = items
        super().__init__("\n".join(item.message() for item in items), path)


class WritesStopped(StoreError):
    """A write was refused because the database holds damaged values (see ``Store.damage``)."""


class EvidenceError(StoreError):
    """An evidence file could not be added, read or exported."""

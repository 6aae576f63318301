"""The draft store: one SQLite file holding drafts, answers, notes, meta and evidence files.

Design notes
------------
* One SQLAlchemy engine and ONE sqlite3 connection per ``Store`` (``StaticPool``),
  guarded by an ``RLock``.  Meant to be used from one (GUI) thread.
* pysqlite's own implicit transaction handling is switched off
  (``isolation_level=None``); the engine's ``begin`` event emits ``BEGIN`` for
  reads and ``BEGIN IMMEDIATE`` for writes, so a write never has to upgrade a
  read lock (which in WAL mode fails with SQLITE_BUSY regardless of the busy
  timeout when another process committed in between).
* Every public mutating call is exactly one committed transaction
  (``synchronous=FULL``, WAL): after it returns the change survives a power cut;
  if it raises, nothing of it was written.
* Every write transaction also bumps ``store_state.data_version``, which
  ``Store.data_version()`` returns so a UI can notice changes made by other
  processes.
* Existing files are inspected through a separate read-only connection before
  the real connection is opened, so a file that is refused (damaged, empty, too
  new, not ours) is never modified.  A new database is built under a temporary
  name and linked into place complete, so an existing empty file can never be
  one of ours half-created: it is refused like any other file that is not ours.
* Every stored value is checked when it is read (and all of them at start-up):
  a value that is not valid UTF-8 / JSON / a timestamp is reported as a
  ``DamagedValue`` naming its draft and field, and from then on every write is
  refused (``WritesStopped``) until the user restores a snapshot or accepts the
  damage (``Store.accept_damage``: the bad value is kept aside as text and the
  field cleared).
* Start-up runs ``PRAGMA quick_check``; after an unclean shutdown (a lock file
  ``.<db>.~open-<token>`` that no living process holds) the full
  ``PRAGMA integrity_check``.  The same lock files tell the program's own
  temporary files left by a killed process from those in use, so every start
  cleans them up.
* Snapshots are rotated (newest ``keep``), but a snapshot that was the newest
  when the database was found damaged or empty is pinned (``<name>.keep``) and
  never rotated away.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import stat
import sys
import threading
import time
import uuid as uuid_module
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import platformdirs
from clusterdesk.fsutil import fsync_dir as _fsync_dir
from clusterdesk.safeio import open_regular

from . import migrations

if TYPE_CHECKING:  # at run time _orm() imports these on the store's first write
    from sqlalchemy import and_, delete, event, exists, func, insert, update
    from sqlalchemy import exc as sa_exc
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert
    from sqlalchemy.engine import Connection, Engine, create_engine
    from sqlalchemy.pool import StaticPool
    from sqlmodel import Session, select

    from .models import AnswerRow, BlobRow, DraftRow, EvidenceRow, MetaRow, StoreStateRow


def _orm() -> None:
    """Import SQLAlchemy, SQLModel and the row models (``models.py``) into this module, once.

    Every write goes through SQLModel. Opening and checking a file, listing drafts and reading a
    draft's values, notes, information and evidence use the sqlite3 connection alone (plain SQL,
    the same connection and the same transactions), so a process that only reads, such as
    ``clusterdesk drafts``, the start window and the first page of a draft, does not wait for
    this import (about half a second, the largest part of starting the program). Called by
    ``Store._tx`` before any of these names is used; the GUI calls ``preload_orm`` once its
    first window is shown, so the first keystroke does not wait either."""
    global and_, delete, event, exists, func, insert, update, sa_exc, sqlite_insert
    global Connection, Engine, create_engine, StaticPool, Session, select
    global AnswerRow, BlobRow, DraftRow, EvidenceRow, MetaRow, StoreStateRow
    if "StoreStateRow" in globals():
        return
    from sqlalchemy import and_, delete, event, exists, func, insert, update
    from sqlalchemy import exc as sa_exc
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert
    from sqlalchemy.engine import Connection, Engine, create_engine
    from sqlalchemy.pool import StaticPool
    from sqlmodel import Session, select

    from .models import AnswerRow, BlobRow, DraftRow, EvidenceRow, MetaRow, StoreStateRow  # last: marks done


def preload_orm() -> None:
    """Import what writing needs ahead of the first write (see ``_orm``); safe from any thread."""
    _orm()

__all__ = [
    "EVIDENCE_MAX_BYTES",
    "BackupRefused",
    "DamagedValue",
    "DatabaseDamaged",
    "DatabaseEmpty",
    "DatabaseTooNew",
    "ValuesDamaged",
    "WritesStopped",
    "DraftInfo",
    "DraftNotFound",
    "EvidenceError",
    "EvidenceInfo",
    "Store",
    "StoreError",
    "default_db_path",
    "preload_orm",
]

EVIDENCE_MAX_BYTES = 200 * 1024 * 1024

_APP_DIR_NAME = "ClusterDesk"
_DB_FILE_NAME = "clusterdesk.sqlite3"
_SNAPSHOT_DIR_NAME = "snapshots"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_CHUNK = 1024 * 1024
_BUSY_TIMEOUT_MS = 5000
_JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024
_POSIX = os.name == "posix"

# Primary SQLite result codes we translate into user-facing messages.
_SQLITE_PERM = 3
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_READONLY = 8
_SQLITE_IOERR = 10
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26
_SQLITE_READONLY_ROLLBACK = _SQLITE_READONLY | (3 << 8)


# --------------------------------------------------------------------------- errors


class StoreError(Exception):
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


# --------------------------------------------------------------------------- public records


@dataclass(frozen=True)
class DraftInfo:
    id: int
    uuid: str
    form_id: str
    form_version: int
    title: str
    created_at: datetime
    updated_at: datetime
    linked_draft_id: int | None


@dataclass(frozen=True)
class EvidenceInfo:
    id: int
    draft_id: int
    key: str
    option: str
    filename: str
    sha256: str
    size: int
    added_at: datetime
    position: int


# --------------------------------------------------------------------------- rows read with plain SQL

# A row of ``draft`` / ``evidence`` as read with plain SQL (``models.py`` describes the tables): the
# public records hold the same columns (an evidence record adds its file's size), so their fields
# name what is selected. tests/test_store.py checks that they match the tables.
_DraftRecord = NamedTuple("_DraftRecord", [(f.name, Any) for f in fields(DraftInfo)])  # type: ignore[misc]
_EvidenceRecord = NamedTuple(  # type: ignore[misc]
    "_EvidenceRecord", [(f.name, Any) for f in fields(EvidenceInfo) if f.name != "size"])
_DRAFT_SELECT = ", ".join(_DraftRecord._fields)
_EVIDENCE_SELECT = ", ".join(f'evidence."{name}"' for name in _EvidenceRecord._fields)


# What a damaged value is called in messages: the table's own words, then the draft columns'.
_WHAT = {"answer": "栏目“{key}”的填写内容", "note": "栏目“{key}”的备注", "meta": "草稿信息“{key}”",
         "draft": "{key}", "evidence": "{key}", "blob": "{key}", "state": "{key}"}
_DRAFT_COLUMNS = {"uuid": "标识", "form_id": "表单", "form_version": "表单版本", "title": "名称",
                  "created_at": "创建时间", "updated_at": "修改时间", "linked_draft_id": "关联草稿"}
_EVIDENCE_COLUMNS = {"draft_id": "所属草稿", "key": "栏目", "option": "选项", "filename": "文件名",
                     "sha256": "内容标识", "added_at": "添加时间", "position": "顺序"}


@dataclass(frozen=True)
class DamagedValue:
    """One stored value that cannot be read back as it was written.

    ``table`` is answer / note / meta / draft / evidence / blob / state; ``key`` the field key
    (answer, note), the meta key, or the Chinese name of the damaged column; ``raw`` the stored
    text as far as it can be read (bytes that are not UTF-8 as ``\\xNN``)."""

    table: str
    draft_id: int | None
    draft_title: str
    form_id: str
    key: str
    reason: str
    raw: str
    rowid: int
    column: str

    def subject(self) -> str:
        """Which value: the draft, and the field in its form's own words (section · label) where
        the draft's form is installed, else its key."""
        what = _WHAT[self.table].format(key=self.key)
        if self.table in ("answer", "note"):
            where = _field_where(self.form_id, self.key)
            if where:
                what = f"“{where}”的{'填写内容' if self.table == 'answer' else '备注'}"
        if self.draft_id is None:
            return f"数据库中{what}"
        return f"草稿“{self.draft_title}”（编号 {self.draft_id}）的{what}"

    def message(self) -> str:
        """A Chinese line naming the draft and the field, and what is wrong."""
        return f"{self.subject()}已损坏：{self.reason}"


def _field_where(form_id: str, key: str) -> str | None:
    """How the installed form names a field (``一、基本情况 · 集群占地面积（平方公里）``), if it has it."""
    try:
        from clusterdesk.model.form import default_catalog

        catalog = default_catalog()
        if form_id in catalog and catalog.get(form_id).has_cell(key):
            return catalog.get(form_id).cell(key).where
    except Exception:  # noqa: BLE001 - the forms cannot be loaded here: name the key instead
        pass
    return None


@dataclass(frozen=True)
class Repair:
    """What ``Store.accept_damage`` did: each damaged value with a Chinese description of what
    became of it, and the snapshot holding the database as it was before."""

    done: list[tuple[DamagedValue, str]]
    snapshot: Path | None

    def lines(self) -> list[str]:
        """One Chinese line per value, then where the database as it was before is kept."""
        lines = [f"{item.subject()}（{item.reason}）：{action}" for item, action in self.done]
        if self.snapshot is not None:
            lines.append(f"修复前的数据库已保存为快照（不会被自动清理）：{self.snapshot}")
        return lines


def default_db_path() -> Path:
    """Where the app keeps its database unless told otherwise."""
    return Path(platformdirs.user_data_dir(_APP_DIR_NAME, appauthor=False)) / _DB_FILE_NAME


# --------------------------------------------------------------------------- small helpers


def _now_text() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _to_local(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone()


def _abs_path(path: Path | str) -> Path:
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def _evidence_cap() -> int:
    # Honour a patched cap on either this module or the package namespace.
    cap = EVIDENCE_MAX_BYTES
    package = sys.modules.get(__package__ or "")
    if package is not None:
        cap = min(cap, getattr(package, "EVIDENCE_MAX_BYTES", cap))
    return cap


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}"


def _encode_json(value: object, what: str) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # Lone surrogates cannot be stored as UTF-8 text; \u escapes round-trip.
            text = json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
        return text
    except (TypeError, ValueError, RecursionError) as exc:
        raise StoreError(f"{what}的值无法保存（不是可保存的数据类型）") from exc


def _check_key(key: object, what: str = "字段") -> str:
    if not isinstance(key, str) or not key:
        raise StoreError(f"{what}名称不能为空")
    return key


def _check_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise StoreError(f"无效的编号：{value!r}")
    return value


def _sqlite_code(exc: BaseException) -> int | None:
    orig = getattr(exc, "orig", None) or exc
    code = getattr(orig, "sqlite_errorcode", None)
    return code if isinstance(code, int) else None


def _translate(exc: BaseException, path: Path) -> StoreError:
    """Turn a sqlite3/SQLAlchemy error into a StoreError with a Chinese message."""
    code = _sqlite_code(exc)
    primary = code & 0xFF if code is not None else None
    if primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return DatabaseDamaged(f"数据库文件已损坏，无法继续读写：{path}", path)
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return StoreError(f"数据库正被其他程序占用，请稍后重试：{path}")
    if primary == _SQLITE_FULL:
        return StoreError(f"磁盘空间不足，无法保存到数据库：{path}")
    if primary == _SQLITE_READONLY:
        return StoreError(f"数据库文件是只读的，无法保存：{path}")
    if primary in (_SQLITE_IOERR, _SQLITE_CANTOPEN, _SQLITE_PERM):
        return StoreError(f"读写数据库文件失败，请检查磁盘和文件权限：{path}")
    return StoreError(f"数据库操作失败：{path}")


def _fsync_path(path: Path) -> None:
    """Flush a file's contents to disk (opened read-write: Windows cannot flush read-only handles)."""
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)




def _link_no_replace(src: Path, dest: Path) -> None:
    """Give ``src`` the name ``dest``; FileExistsError if ``dest`` exists (never replaces it)."""
    if not _POSIX:  # pragma: no cover - Windows: rename never replaces an existing file
        os.rename(src, dest)
        return
    try:
        os.link(src, dest)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links (FAT/exFAT media)
        if dest.exists() or dest.is_symlink():
            raise FileExistsError(dest) from None
        os.rename(src, dest)


def _make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents); the directories we create get mode 0700 on POSIX."""
    if path.is_dir():
        return
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if _POSIX:
        for created in missing:
            try:
                os.chmod(created, 0o700)
            except OSError:
                pass


# --------------------------------------------------------------------------- lock files and temporaries
#
# Every process that works on a database holds a lock file beside it, ``.<db>.~open-<token>`` for an
# open Store and ``.<db>.~lock-<token>`` for a restore or a first creation.  Temporary files carry the
# token of their owner: ``.<final name>.~<tag>-<token>``.  A lock file that nobody holds was left by a
# process that died (an unclean shutdown), and so were the temporaries with its token: the next start
# removes them.  The lock is an OS lock (flock / a Windows byte-range lock), released by the OS when
# the process dies, however it dies.

_TOKEN_RE = r"[0-9a-f]{16}"
_OWNED_RE = re.compile(rf"\.(?P<base>.+)\.~(?P<tag>open|lock|pending|new|restore|tmp)-(?P<token>{_TOKEN_RE})"
                       r"(?P<side>-journal|-wal|-shm)?")
_LOCK_TAGS = ("open", "lock", "pending")


def _lock_fd(fd: int) -> bool:
    """Take the lock of a lock file without waiting; False if another process holds it."""
    try:
        if _POSIX:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:  # pragma: no cover - Windows
            import msvcrt

            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def _held(path: Path) -> bool:
    """Whether a living process holds this lock file (a missing file is not held)."""
    try:
        fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot tell: leave it alone
    try:
        return not _lock_fd(fd)
    finally:
        os.close(fd)  # closing releases the lock we may have taken


class _Owner:
    """The lock file of this process's work on one database (see above)."""

    def __init__(self, db_path: Path, tag: str) -> None:
        self.db_path = db_path
        self.path: Path | None = None
        self._fd = -1
        for _attempt in range(20):
            self.token = secrets.token_hex(8)
            final = db_path.parent / f".{db_path.name}.~{tag}-{self.token}"
            # POSIX: lock under a "pending" name, then rename, so no sweep ever sees it unlocked.
            first = db_path.parent / f".{db_path.name}.~pending-{self.token}" if _POSIX else final
            try:
                fd = os.open(first, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
            except FileExistsError:
                continue
            except OSError:
                return  # a read-only folder: work without a lock file
            if not _lock_fd(fd):  # a sweep of another process is looking at it this instant
                os.close(fd)
                time.sleep(0.01)
                continue
            if first != final:
                try:
                    os.rename(first, final)
                except OSError:  # swept away before we locked it: try again
                    os.close(fd)
                    continue
            self._fd, self.path = fd, final
            return

    def temp_path(self, final: Path, tag: str = "tmp") -> Path:
        return final.parent / f".{final.name}.~{tag}-{self.token}"

    def close(self) -> None:
        fd, path = self._fd, self.path
        self._fd, self.path = -1, None
        if fd < 0 or path is None:
            return
        if not _POSIX:  # pragma: no cover - Windows cannot delete a file that is still open
            os.close(fd)
            _remove_quietly(path)
            return
        _remove_quietly(path)  # still locked while it goes: no sweep can take it for a leftover
        os.close(fd)


@dataclass
class _Sweep:
    """What the start-up sweep found: lock files of stores that were not closed (unclean shutdown)."""

    stale_markers: list[Path]

    def clear(self) -> None:
        for marker in self.stale_markers:
            _remove_quietly(marker)


def _sweep(db_path: Path) -> _Sweep:
    """Remove the temporaries and lock files that dead processes left beside ``db_path`` (and in
    its snapshot folder); report the lock files of stores that were never closed (kept until the
    full check after the unclean shutdown has passed)."""
    folder = db_path.parent
    snap_pattern = _snapshot_pattern(db_path)
    found: list[tuple[Path, re.Match[str], bool]] = []
    for directory, in_snapshots in ((folder, False), (folder / _SNAPSHOT_DIR_NAME, True)):
        try:
            names = [e.name for e in os.scandir(directory) if e.is_file(follow_symlinks=False)]
        except OSError:
            continue
        for name in names:
            m = _OWNED_RE.fullmatch(name)
            if m is None:
                continue
            base_ok = snap_pattern.fullmatch(m["base"]) if in_snapshots else m["base"] == db_path.name
            if base_ok:
                found.append((directory / name, m, in_snapshots))
    live: set[str] = set()
    stale: list[Path] = []
    for path, m, in_snapshots in found:
        if m["tag"] in _LOCK_TAGS and not in_snapshots and not m["side"]:
            if _held(path):
                live.add(m["token"])
            elif m["tag"] == "open":
                stale.append(path)
            else:
                _remove_quietly(path)
    for path, m, in_snapshots in found:
        if (m["tag"] not in _LOCK_TAGS or m["side"]) and m["token"] not in live:
            _remove_quietly(path)
    return _Sweep(stale)


def _temp_in(directory: Path, final_name: str, owner: _Owner | None, tag: str = "tmp") -> Path:
    """A new private (0600) empty temporary file for ``final_name``, named after its owner."""
    for _attempt in range(100):
        if owner is not None:
            path = owner.temp_path(directory / final_name, tag)
        else:
            path = directory / f".{final_name}.~{tag}-{secrets.token_hex(8)}"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        except FileExistsError:
            if owner is not None:  # one owner, one temporary per final name at a time
                _remove_quietly(path)
            continue
        os.close(fd)
        return path
    raise FileExistsError(directory / final_name)


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError:
        pass


def _ro_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True, timeout=_BUSY_TIMEOUT_MS / 1000,
                           isolation_level=None, check_same_thread=False)
    conn.text_factory = _decode_text
    try:
        # A file from elsewhere may carry a schema of its own: never run functions it names.
        conn.execute("PRAGMA trusted_schema = OFF")
    except sqlite3.Error:
        pass
    return conn


def _copy_database(source: sqlite3.Connection, target_path: Path) -> None:
    """Copy ``source`` with the SQLite backup API into the (empty) file ``target_path``, as one
    self-contained rollback-journal file, flushed to disk."""
    target = sqlite3.connect(target_path, isolation_level=None)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE").fetchall()
    finally:
        target.close()
    _fsync_path(target_path)


def _backup_into_file(source: sqlite3.Connection, dest: Path, owner: _Owner | None) -> None:
    """Copy ``source`` with the SQLite backup API into ``dest`` atomically (temp file + os.replace)."""
    tmp = _temp_in(dest.parent, dest.name, owner)
    try:
        _copy_database(source, tmp)
        os.replace(tmp, dest)
        _fsync_dir(dest.parent)
    except BaseException:
        _remove_quietly(tmp)
        _remove_quietly(Path(str(tmp) + "-journal"))
        raise


# --------------------------------------------------------------------------- inspecting files


@dataclass(frozen=True)
class _DbFacts:
    user_version: int
    application_id: int
    tables: frozenset[str]
    page_size: int


def _inspect_health(path: Path, *, check: str, label: str, allow_recovery: bool) -> _DbFacts:
    """Read-only health check of an existing file; raises DatabaseDamaged / StoreError.

    Never writes to the file (a read-only connection cannot checkpoint or roll back).
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        raise StoreError(f"找不到{label}：{path}") from None
    except OSError as exc:
        raise StoreError(f"无法读取{label}：{path}") from exc
    if stat.S_ISDIR(st.st_mode):
        raise DatabaseDamaged(f"{label}路径是一个文件夹，不是数据库文件：{path}", path)
    if not stat.S_ISREG(st.st_mode):
        raise DatabaseDamaged(f"{label}不是普通文件：{path}", path)
    if st.st_size == 0:
        # Never one of ours (a new database appears complete): the data it held is gone, and
        # re-using it would hide that.  The file stays as it is.
        raise DatabaseEmpty(f"{label}是空的（0 字节），其中没有任何数据，程序不会使用或覆盖它：{path}", path)
    try:
        with open(path, "rb") as fh:
            header = fh.read(100)
    except OSError as exc:
        raise StoreError(f"无法读取{label}：{path}") from exc
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        raise DatabaseDamaged(f"{label}已损坏或不是数据库文件（文件头不正确）：{path}", path)

    def run(conn: sqlite3.Connection) -> _DbFacts:
        rows = conn.execute(f"PRAGMA {check}").fetchall()
        if rows != [("ok",)]:
            raise DatabaseDamaged(f"{label}已损坏（完整性检查未通过）：{path}", path)
        user_version = conn.execute("PRAGMA user_version").fetchone()[0]
        application_id = conn.execute("PRAGMA application_id").fetchone()[0]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        tables = frozenset(
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
            )
        )
        return _DbFacts(user_version, application_id, tables, page_size)

    def fail(exc: sqlite3.Error) -> StoreError:
        code = _sqlite_code(exc)
        primary = code & 0xFF if code is not None else None
        if primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            return DatabaseDamaged(f"{label}已损坏，无法读取：{path}", path)
        if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
            return StoreError(f"{label}正被其他程序占用，请稍后重试：{path}")
        return StoreError(f"无法打开{label}：{path}")

    try:
        conn = _ro_connect(path)
    except sqlite3.Error as exc:
        raise fail(exc) from exc
    try:
        return run(conn)
    except sqlite3.Error as exc:
        if _sqlite_code(exc) == _SQLITE_READONLY_ROLLBACK and allow_recovery:
            # A hot rollback journal left by a crash: a normal connection rolls it
            # back (that is SQLite's crash recovery, not a modification we choose).
            conn.close()
            try:
                conn = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
                return run(conn)
            except sqlite3.Error as exc2:
                raise fail(exc2) from exc2
        raise fail(exc) from exc
    finally:
        conn.close()


def _check_ours(facts: _DbFacts, path: Path, label: str) -> None:
    """Raise unless the facts describe a database of ours (an empty or foreign one is refused)."""
    tail = "，程序不会使用或覆盖它" if label == "数据库文件" else ""
    foreign = DatabaseDamaged(f"{label}不是集群申报助手的数据库{tail}：{path}", path)
    if facts.application_id not in (0, migrations.APPLICATION_ID):
        raise foreign
    if facts.user_version > migrations.SCHEMA_VERSION:
        raise DatabaseTooNew(
            f"{label}由更新版本的集群申报助手创建（数据格式版本 {facts.user_version}，"
            f"本程序最高支持 {migrations.SCHEMA_VERSION}），请升级程序后再打开：{path}",
            path,
            facts.user_version,
        )
    if facts.user_version == 0 and not facts.tables:
        raise DatabaseDamaged(f"{label}不是集群申报助手的数据库（其中没有本程序的数据）{tail}：{path}", path)
    if (facts.user_version < 1 or facts.application_id != migrations.APPLICATION_ID
            or not migrations.V1_TABLES <= facts.tables):
        raise foreign


# --------------------------------------------------------------------------- checking stored values


class _BadText(str):
    """Stored text that is not valid UTF-8: the readable part, bad bytes shown as ``\\xNN``."""


def _decode_text(data: bytes) -> str:
    """The connections' text factory: never fails, marks text that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _BadText(data.decode("utf-8", "backslashreplace"))


def _no_constant(name: str) -> Any:
    raise ValueError(name)  # NaN / Infinity: the store never writes them


_JSON = json.JSONDecoder(parse_constant=_no_constant)


def _text_problem(value: object, *, empty_ok: bool = True) -> str | None:
    if isinstance(value, _BadText):
        return "编码已损坏，不是有效的文字"
    if not isinstance(value, str):
        return "不是文字"
    if not empty_ok and not value:
        return "是空的"
    return None


def _json_problem(value: object) -> str | None:
    problem = _text_problem(value)
    if problem:
        return problem
    try:
        _JSON.decode(value)  # type: ignore[arg-type]
    except (ValueError, RecursionError):
        return "不是有效的数据（格式已损坏）"
    return None


def _load_json(value: object) -> Any:
    """A stored JSON value; raises ValueError when it does not parse (see _json_problem)."""
    if _text_problem(value):
        raise ValueError("not text")
    try:
        return _JSON.decode(value)  # type: ignore[arg-type]
    except RecursionError as exc:
        raise ValueError("too deep") from exc


def _time_problem(value: object) -> str | None:
    problem = _text_problem(value, empty_ok=False)
    if problem:
        return problem
    try:
        moment = datetime.fromisoformat(value)  # type: ignore[arg-type]
        if not 1 < moment.year < 9999:
            moment.astimezone()  # what _to_local does; only the extremes can overflow
    except (ValueError, OverflowError, OSError):
        return "不是有效的时间"
    return None


def _int_problem(value: object, *, none_ok: bool = False) -> str | None:
    if value is None and none_ok:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        return "不是整数"
    return None


_SHA_RE = re.compile(r"[0-9a-f]{64}")


def _readable(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return str(value)


def _scan_values(raw: sqlite3.Connection, *, draft_ids: set[int] | None = None) -> list[DamagedValue]:
    """Every stored value that does not read back as the store writes it.

    Reads everything but the evidence bytes (their sizes are checked; ``_check_blob_hashes`` reads
    them).  ``draft_ids`` limits the check to some drafts.  Must run inside a read transaction or
    on a connection nobody writes to."""
    found: list[DamagedValue] = []
    titles: dict[int, tuple[str, str]] = {}

    def wanted(draft_id: object) -> bool:
        return draft_ids is None or draft_id in draft_ids

    def add(table: str, draft_id: object, key: str, reason: str, raw_value: object, rowid: int,
            column: str) -> None:
        did = draft_id if isinstance(draft_id, int) and not isinstance(draft_id, bool) else None
        title, form_id = titles.get(did, ("", "")) if did is not None else ("", "")
        found.append(DamagedValue(table, did, _plain(title) or "（名称无法读取）", form_id, key, reason,
                                  _readable(raw_value), rowid, column))

    rows = raw.execute("SELECT rowid, id, uuid, form_id, form_version, title, created_at, updated_at, "
                       "linked_draft_id FROM draft ORDER BY id").fetchall()
    for rowid, did, uuid, form_id, version, title, created, updated, linked in rows:
        titles[did] = (_readable(title), _readable(form_id))
    for rowid, did, uuid, form_id, version, title, created, updated, linked in rows:
        if not wanted(did):
            continue
        checks = {"uuid": _text_problem(uuid, empty_ok=False), "form_id": _text_problem(form_id, empty_ok=False),
                  "form_version": _int_problem(version), "title": _text_problem(title),
                  "created_at": _time_problem(created), "updated_at": _time_problem(updated),
                  "linked_draft_id": _int_problem(linked, none_ok=True)}
        values = {"uuid": uuid, "form_id": form_id, "form_version": version, "title": title,
                  "created_at": created, "updated_at": updated, "linked_draft_id": linked}
        for column, problem in checks.items():
            if problem:
                add("draft", did, _DRAFT_COLUMNS[column], problem, values[column], rowid, column)

    # JSON is checked by SQLite's json_valid (C, strict RFC 8259) and parsed in Python only when it
    # fails, for the reason; the text itself is decoded (UTF-8 checked) by the text factory.
    for rowid, did, key, value_json, valid, note in raw.execute(
            'SELECT rowid, draft_id, "key", value_json, value_json IS NULL OR (typeof(value_json) = \'text\' '
            'AND json_valid(value_json)), note FROM draft_answer ORDER BY draft_id, "key"'):
        if type(did) is int and type(key) is str and key and valid and type(value_json) in (str, type(None)) \
                and type(note) in (str, type(None)):
            if draft_ids is None or did in draft_ids:
                continue
        if not wanted(did):
            continue
        name = _readable(key)
        problem = _int_problem(did) or _text_problem(key, empty_ok=False)
        if problem:
            add("answer", did, name, f"栏目名称{problem}", key, rowid, "key")
            continue
        if value_json is not None and (problem := _json_problem(value_json)):
            add("answer", did, name, problem, value_json, rowid, "value_json")
        if note is not None and (problem := _text_problem(note)):
            add("note", did, name, problem, note, rowid, "note")

    for rowid, did, key, value_json, valid in raw.execute(
            'SELECT rowid, draft_id, "key", value_json, typeof(value_json) = \'text\' AND json_valid(value_json) '
            'FROM draft_meta ORDER BY draft_id, "key"'):
        if type(did) is int and type(key) is str and key and valid and type(value_json) is str:
            continue
        if not wanted(did):
            continue
        problem = _int_problem(did) or _text_problem(key, empty_ok=False) or _json_problem(value_json)
        if problem:
            add("meta", did, _readable(key), problem, value_json, rowid, "value_json")

    for rowid, _eid, did, key, option, filename, sha, added, position in raw.execute(
            'SELECT rowid, id, draft_id, "key", option, filename, sha256, added_at, position FROM evidence '
            "ORDER BY id"):
        if not wanted(did):
            continue
        if (type(did) is int and type(key) is str and key and type(option) is str and type(filename) is str
                and filename and type(sha) is str and _SHA_RE.fullmatch(sha) and type(position) is int
                and not _time_problem(added)):
            continue
        shown = _readable(filename)
        checks = {"draft_id": _int_problem(did), "key": _text_problem(key, empty_ok=False),
                  "option": _text_problem(option), "filename": _text_problem(filename, empty_ok=False),
                  "sha256": None if isinstance(sha, str) and _SHA_RE.fullmatch(sha) else "不是有效的内容标识",
                  "added_at": _time_problem(added), "position": _int_problem(position)}
        values = {"draft_id": did, "key": key, "option": option, "filename": filename, "sha256": sha,
                  "added_at": added, "position": position}
        for column, problem in checks.items():
            if problem:
                add("evidence", did, f"证明材料“{shown}”的{_EVIDENCE_COLUMNS[column]}", problem, values[column],
                    rowid, column)

    if draft_ids is None:
        for rowid, sha, size, kind, length in raw.execute(
                "SELECT rowid, sha256, size, typeof(data), length(data) FROM blob ORDER BY rowid"):
            ok_sha = isinstance(sha, str) and _SHA_RE.fullmatch(sha)
            if not ok_sha or kind != "blob" or _int_problem(size) or size != length:
                add("blob", None, f"证明材料的内容（{_readable(sha)[:12]}）", "大小与内容不符或标识无效",
                    "", rowid, "data")
        state = raw.execute("SELECT id, data_version FROM store_state").fetchall()
        if len(state) != 1 or state[0][0] != 1 or _int_problem(state[0][1]):
            add("state", None, "修改计数", "记录缺失或不是整数", repr(state)[:100], 0, "data_version")
    return found


def _check_blob_hashes(raw: sqlite3.Connection) -> list[str]:
    """SHA-256 of every stored evidence file against its name; one Chinese line per mismatch."""
    problems = []
    for rowid, sha in raw.execute("SELECT rowid, sha256 FROM blob ORDER BY rowid").fetchall():
        hasher = hashlib.sha256()
        with raw.blobopen("blob", "data", rowid, readonly=True) as blob:
            while chunk := blob.read(_CHUNK):
                hasher.update(chunk)
        if hasher.hexdigest() != sha:
            problems.append(f"证明材料的内容（{str(sha)[:12]}）与其校验值不符，文件内容已损坏")
    return problems


_ASIDE_KEY = "damaged_values"
_CLEARED = "已清空，原内容另存在该草稿的信息项“damaged_values”中"


def _plain(text: str) -> str:
    """The readable part of damaged text, each unreadable byte shown as U+FFFD."""
    return re.sub(r"(\\x[0-9a-f]{2})+", "\ufffd", text)


def _repair_one(raw: sqlite3.Connection, item: DamagedValue) -> str:
    """Make one damaged value readable again (inside the caller's transaction); says what was done."""
    rowid, column = item.rowid, item.column
    if item.table == "answer" and column == "key":
        raw.execute("DELETE FROM draft_answer WHERE rowid = ?", (rowid,))
        return "已删除这条无法辨认的记录，原内容另存在该草稿的信息项“damaged_values”中"
    if item.table in ("answer", "note"):
        other = "note" if item.table == "answer" else "value_json"
        raw.execute(f"UPDATE draft_answer SET {column} = NULL WHERE rowid = ? AND {other} IS NOT NULL", (rowid,))
        raw.execute(f"DELETE FROM draft_answer WHERE rowid = ? AND {column} IS NOT NULL AND {other} IS NULL",
                    (rowid,))
        raw.execute(f"DELETE FROM draft_answer WHERE rowid = ? AND {column} IS NULL AND {other} IS NULL", (rowid,))
        return _CLEARED
    if item.table == "meta":
        raw.execute("DELETE FROM draft_meta WHERE rowid = ?", (rowid,))
        return _CLEARED
    if item.table == "draft":
        fixes = {"title": _plain(item.raw) or "（名称已损坏）", "uuid": str(uuid_module.uuid4()),
                 "form_id": _plain(item.raw) or "未知表单", "form_version": 1, "created_at": _now_text(),
                 "updated_at": _now_text(), "linked_draft_id": None}
        raw.execute(f"UPDATE draft SET {column} = ? WHERE rowid = ?", (fixes[column], rowid))
        return f"已改为“{fixes[column]}”，原内容另存在该草稿的信息项“damaged_values”中"
    if item.table == "evidence":
        if column in ("draft_id", "sha256"):
            raw.execute("DELETE FROM evidence WHERE rowid = ?", (rowid,))
            return "已移除这条证明材料记录（修复前的快照中仍保存着它）"
        fixes = {"key": _plain(item.raw) or "?", "option": _plain(item.raw), "filename": _plain(item.raw) or "证明材料",
                 "added_at": _now_text(), "position": 0}
        raw.execute(f"UPDATE evidence SET {column} = ? WHERE rowid = ?", (fixes[column], rowid))
        return f"已改为“{fixes[column]}”"
    if item.table == "blob":
        row = raw.execute("SELECT sha256, typeof(data) FROM blob WHERE rowid = ?", (rowid,)).fetchone()
        if row is not None and row[1] == "blob" and isinstance(row[0], str):
            hasher = hashlib.sha256()
            with raw.blobopen("blob", "data", rowid, readonly=True) as blob:
                while chunk := blob.read(_CHUNK):
                    hasher.update(chunk)
            if hasher.hexdigest() == row[0]:
                raw.execute("UPDATE blob SET size = length(data) WHERE rowid = ?", (rowid,))
                return "内容完好，已更正其大小记录"
        raw.execute("DELETE FROM evidence WHERE sha256 = (SELECT sha256 FROM blob WHERE rowid = ?)", (rowid,))
        raw.execute("DELETE FROM blob WHERE rowid = ?", (rowid,))
        return "已移除这份证明材料及其引用（修复前的快照中仍保存着它）"
    raw.execute("DELETE FROM store_state")
    raw.execute("INSERT INTO store_state (id, data_version) VALUES (1, 1)")
    return "已重建"


def _keep_aside(raw: sqlite3.Connection, draft_id: int, entries: list[dict[str, str]]) -> None:
    """Append the stored texts of a draft's damaged values to its meta ``damaged_values``."""
    if raw.execute("SELECT 1 FROM draft WHERE id = ?", (draft_id,)).fetchone() is None:
        return  # no such draft: the snapshot taken before the repair keeps the text
    row = raw.execute('SELECT value_json FROM draft_meta WHERE draft_id = ? AND "key" = ?',
                      (draft_id, _ASIDE_KEY)).fetchone()
    kept: list[Any] = []
    if row is not None:
        try:
            old = _load_json(row[0])
            kept = old if isinstance(old, list) else [old]
        except ValueError:
            kept = [_readable(row[0])]
    text = _encode_json(kept + entries, "损坏内容的记录")
    raw.execute('INSERT INTO draft_meta (draft_id, "key", value_json) VALUES (?, ?, ?) '
                'ON CONFLICT (draft_id, "key") DO UPDATE SET value_json = excluded.value_json',
                (draft_id, _ASIDE_KEY, text))


# --------------------------------------------------------------------------- file names


_BAD_NAME_CHARS = re.compile(r'[\x00-\x1f<>:"/\\|?*]')
_RESERVED_NAMES = {"CON", "PRN", "AUX", "NUL"} | {f"COM{i}" for i in range(1, 10)} | {
    f"LPT{i}" for i in range(1, 10)
}


def _base_name(filename: str) -> str:
    return re.split(r"[\\/]", filename)[-1].strip()


def _safe_filename(filename: str) -> str:
    name = _BAD_NAME_CHARS.sub("_", _base_name(filename)).rstrip(" .")
    if not name:
        name = "证明材料"
    if name.split(".")[0].upper() in _RESERVED_NAMES:
        name = "_" + name
    if len(name) > 200:
        stem, dot, suffix = name.rpartition(".")
        if dot and len(suffix) <= 20:
            name = stem[: 200 - len(suffix) - 1] + "." + suffix
        else:
            name = name[:200]
    return name


def _candidate_names(name: str) -> Iterator[str]:
    yield name
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        stem, suffix = name, ""
    for i in range(2, 10000):
        yield f"{stem} ({i}).{suffix}" if suffix else f"{stem} ({i})"


# --------------------------------------------------------------------------- the store


_SNAPSHOT_RE_TEMPLATE = r"{stem}-\d{{8}}-\d{{6}}-\d{{6}}\.sqlite3"


class Store:
    """A ClusterDesk database file.  Create with ``Store.open(path)``; close with ``close()``."""

    # ------------------------------------------------------------------ opening / closing

    def __init__(self, path: Path | str | None = None) -> None:
        self._path = _abs_path(path) if path is not None else default_db_path()
        self._lock = threading.RLock()
        self._begin_sql = "BEGIN"
        self._batch_session: Session | None = None
        self._engine: Engine | None = None
        self._conn: Connection | None = None
        self._raw: sqlite3.Connection | None = None
        self._owner: _Owner | None = None
        self._damage: list[DamagedValue] = []
        self._damage_version: int | None = None
        self._accepting = False
        #: "quick_check" or "integrity_check" (after an unclean shutdown); None for a new file.
        self.startup_check: str | None = None

        sweep = _sweep(self._path)
        if self._path.exists() or self._path.is_symlink():
            # Refuse before opening it for writing: a refused file stays untouched.
            self.startup_check = "integrity_check" if sweep.stale_markers else "quick_check"
            try:
                facts = _inspect_health(self._path, check=self.startup_check, label="数据库文件",
                                        allow_recovery=True)
                _check_ours(facts, self._path, "数据库文件")
            except DatabaseTooNew:
                raise
            except DatabaseDamaged:
                _pin_latest_snapshot(self._path)
                raise
            self._take_owner()
        else:
            self._take_owner()

        try:
            if self.startup_check is None:
                self._create_file()
            self._connect()
            self._migrate()
            self._check_all_values()
        except BaseException:
            self.close()
            raise
        sweep.clear()  # the full check after the unclean shutdown has passed

    @classmethod
    def open(cls, path: Path | str | None = None) -> Store:
        return cls(path)

    def _take_owner(self) -> None:
        try:
            _make_private_dir(self._path.parent)
        except OSError as exc:
            raise StoreError(f"无法创建数据文件夹：{self._path.parent}") from exc
        owner = _Owner(self._path, "open")
        self._owner = owner
        weakref.finalize(self, owner.close)  # a store that is never closed still removes its lock file

    def _create_file(self) -> None:
        """Build a new database under a temporary name and link it into place complete, so the
        database file never exists half-made (an existing empty file is then never ours)."""
        path = self._path
        try:
            tmp = _temp_in(path.parent, path.name, self._owner, "new")
        except OSError as exc:
            raise StoreError(f"无法创建数据库文件：{path}") from exc
        try:
            conn = sqlite3.connect(tmp, isolation_level=None)
            try:
                conn.execute("PRAGMA auto_vacuum = INCREMENTAL")  # before the first table
                conn.execute("BEGIN IMMEDIATE")
                for step in migrations.MIGRATIONS:
                    step.apply(conn)
                conn.execute(f"PRAGMA user_version = {int(migrations.SCHEMA_VERSION)}")
                conn.execute("COMMIT")
            finally:
                conn.close()
            _fsync_path(tmp)
            if _POSIX:
                os.chmod(tmp, 0o600)
            _link_no_replace(tmp, path)
            _fsync_dir(path.parent)
        except FileExistsError:
            pass  # another process created it a moment ago; fine
        except sqlite3.Error as exc:
            raise _translate(exc, path) from exc
        except OSError as exc:
            raise StoreError(f"无法创建数据库文件：{path}") from exc
        finally:
            _remove_quietly(tmp)
            _remove_quietly(Path(str(tmp) + "-journal"))

    def _connect(self) -> None:
        """The one sqlite3 connection of this store. Reads use it directly; SQLAlchemy's engine
        is put over it at the first write (``_orm_conn``)."""
        path = self._path
        raw: sqlite3.Connection | None = None
        try:
            raw = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                  check_same_thread=False)
            raw.text_factory = _decode_text  # damaged text is reported, not raised
            raw.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            has_tables = raw.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if not has_tables:
                # Only possible before the first table exists; lets deleted evidence
                # give its space back (see _release_free_pages).
                raw.execute("PRAGMA auto_vacuum = INCREMENTAL")
            raw.execute("PRAGMA journal_mode = WAL").fetchall()
            raw.execute("PRAGMA synchronous = FULL")
            raw.execute("PRAGMA foreign_keys = ON")
            raw.execute(f"PRAGMA journal_size_limit = {_JOURNAL_SIZE_LIMIT}").fetchall()
        except sqlite3.Error as exc:
            if raw is not None:
                raw.close()
            raise _translate(exc, path) from exc
        self._raw = raw

    def _orm_conn(self) -> Connection:
        """The SQLAlchemy connection over the store's sqlite3 connection, made when first needed
        (``StaticPool``: the engine never opens a connection of its own)."""
        if self._conn is not None:
            return self._conn
        raw = self._require_raw()
        _orm()
        engine = create_engine("sqlite://", creator=lambda: raw, poolclass=StaticPool)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
            dbapi_conn.isolation_level = None  # BEGIN is ours (_on_begin), never pysqlite's

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql(self._begin_sql)

        try:
            conn = engine.connect()
        except (sa_exc.DBAPIError, sqlite3.Error) as exc:
            engine.dispose()
            raise _translate(exc, self._path) from exc
        self._engine, self._conn = engine, conn
        return conn

    def _migrate(self) -> None:
        raw = self._require_raw()
        try:
            current = raw.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as exc:
            raise _translate(exc, self._path) from exc
        target = migrations.SCHEMA_VERSION
        if current > target:
            raise DatabaseTooNew(
                f"数据库文件由更新版本的集群申报助手创建（数据格式版本 {current}，"
                f"本程序最高支持 {target}），请升级程序后再打开：{self._path}",
                self._path,
                current,
            )
        if current == target:
            return
        if current > 0:
            self.snapshot()
        for step in migrations.MIGRATIONS:
            if step.version <= current:
                continue
            with self._write_raw() as conn:
                applied = conn.execute("PRAGMA user_version").fetchone()[0]
                if applied >= step.version:
                    continue  # another process migrated meanwhile
                if applied != step.version - 1:
                    raise StoreError(f"数据库升级失败（版本 {applied} 无法升级到 {step.version}）：{self._path}")
                step.apply(conn)
                conn.execute(f"PRAGMA user_version = {int(step.version)}")

    @property
    def path(self) -> Path:
        return self._path

    def close(self) -> None:
        with self._lock:
            conn, engine, raw, owner = self._conn, self._engine, self._raw, self._owner
            self._conn = self._engine = self._raw = self._owner = None
            try:
                if conn is not None:
                    conn.close()
            finally:
                try:
                    if engine is not None:
                        engine.dispose()
                    if raw is not None:
                        raw.close()
                finally:
                    if owner is not None:
                        owner.close()  # a clean shutdown: no full check at the next start

    @property
    def closed(self) -> bool:
        return self._raw is None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<Store {str(self._path)!r} {state}>"

    # ------------------------------------------------------------------ transactions

    def _require_conn(self) -> Connection:
        if self._raw is None:
            raise StoreError("数据库已关闭")
        return self._orm_conn()

    def _require_raw(self) -> sqlite3.Connection:
        if self._raw is None:
            raise StoreError("数据库已关闭")
        return self._raw

    @contextmanager
    def _tx(self, write: bool) -> Iterator[Session]:
        """One transaction; commits on success, rolls back on any exception.

        Write transactions start with BEGIN IMMEDIATE and bump the change counter.
        """
        with self._lock:
            if self._batch_session is not None:  # inside batch(): part of its one transaction
                yield self._batch_session
                return
            conn = self._require_conn()
            if conn.in_transaction() or self._require_raw().in_transaction:
                raise StoreError("内部错误：数据库事务嵌套")
            if write and self._damage and not self._accepting:
                self._refuse_write()
            self._begin_sql = "BEGIN IMMEDIATE" if write else "BEGIN"
            try:
                with Session(conn, expire_on_commit=False, autoflush=True) as session:
                    with session.begin():
                        yield session
                        if write:
                            session.exec(
                                update(StoreStateRow)
                                .where(StoreStateRow.id == 1)
                                .values(data_version=StoreStateRow.data_version + 1)
                            )
            except StoreError:
                raise
            except (sa_exc.DBAPIError, sqlite3.Error) as exc:
                raise _translate(exc, self._path) from exc
            finally:
                self._begin_sql = "BEGIN"

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction on the sqlite3 connection (plain SQL, no SQLAlchemy): what it
        reads is one consistent state of the file. Inside ``batch()`` it reads within the batch's
        transaction, after what the batch has written so far."""
        with self._lock:
            if self._batch_session is not None:
                yield self._raw_in(self._batch_session)
                return
            raw = self._require_raw()
            if raw.in_transaction:
                raise StoreError("内部错误：数据库事务嵌套")
            try:
                raw.execute("BEGIN")
                done = False
                try:
                    yield raw
                    done = True
                finally:
                    if raw.in_transaction:
                        try:
                            raw.execute("COMMIT" if done else "ROLLBACK")
                        except sqlite3.Error:
                            if done:
                                raise
            except sqlite3.Error as exc:
                raise _translate(exc, self._path) from exc

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group several writes (create a draft, its answers, meta and evidence) into ONE
        transaction: after a crash or an error either all of them are there or none."""
        with self._lock:
            if self._batch_session is not None:
                yield
                return
            with self._tx(write=True) as session:
                self._batch_session = session
                try:
                    yield
                finally:
                    self._batch_session = None

    @contextmanager
    def _write_raw(self) -> Iterator[sqlite3.Connection]:
        """A write transaction used with the raw sqlite3 connection (migrations)."""
        with self._lock:
            conn = self._require_conn()
            self._begin_sql = "BEGIN IMMEDIATE"
            try:
                with conn.begin():
                    yield self._require_raw()
            except StoreError:
                raise
            except (sa_exc.DBAPIError, sqlite3.Error) as exc:
                raise _translate(exc, self._path) from exc
            finally:
                self._begin_sql = "BEGIN"

    # ------------------------------------------------------------------ damaged values

    @property
    def damage(self) -> list[DamagedValue]:
        """Stored values found damaged (at start-up or when read); while there are any, every
        write is refused with ``WritesStopped``."""
        return list(self._damage)

    def _note_damage(self, items: list[DamagedValue]) -> None:
        if not items:
            return
        with self._lock:
            known = {(d.table, d.rowid, d.column) for d in self._damage}
            new = [d for d in items if (d.table, d.rowid, d.column) not in known]
            if new and not self._damage:
                _pin_latest_snapshot(self._path)
                try:
                    self._damage_version = self.data_version()
                except StoreError:
                    self._damage_version = None
            self._damage.extend(new)

    def _check_all_values(self) -> None:
        with self._read() as raw:
            found = _scan_values(raw)
        self._damage = []
        self._note_damage(found)

    def _refuse_write(self) -> None:
        # Restored from elsewhere (another window, another process) since the damage was found?
        try:
            changed = self._damage_version is None or self.data_version() != self._damage_version
        except StoreError:
            changed = False
        if changed:
            with self._lock:
                self._damage = []
                self._check_all_values()
            if not self._damage:
                return
        first = self._damage[0].message()
        more = f"（另有 {len(self._damage) - 1} 处）" if len(self._damage) > 1 else ""
        raise WritesStopped(
            f"数据库中有已损坏的内容，为避免损坏扩散，已停止保存（{first}{more}）。"
            "请用快照恢复，或接受损坏后继续：重新打开程序时按提示选择，或使用命令 clusterdesk restore / repair"
        )

    def accept_damage(self) -> Repair:
        """Accept the damaged values so work can go on: first the database is copied as it is into
        a snapshot that is never rotated away, then, in one transaction, every damaged value is
        cleared (a damaged name or time is replaced by its readable part or the current time) and
        its stored text is kept aside in the draft's information under ``damaged_values``.
        Returns what was done to each value; writes are allowed again afterwards."""
        with self._lock:
            if not self._damage:
                self._check_all_values()
            if not self._damage:
                return Repair([], None)
            snap = self.snapshot()
            _pin(snap)
            done: list[tuple[DamagedValue, str]] = []
            self._accepting = True
            try:
                with self._tx(write=True) as session:
                    raw = self._raw_in(session)
                    items = _scan_values(raw)
                    aside: dict[int, list[dict[str, str]]] = {}
                    for item in items:
                        done.append((item, _repair_one(raw, item)))
                        if item.draft_id is not None:
                            aside.setdefault(item.draft_id, []).append(
                                {"what": item.message(), "stored_text": item.raw,
                                 "found_at": _now_text()})
                    for draft_id, entries in aside.items():
                        _keep_aside(raw, draft_id, entries)
                    rest = _scan_values(raw)
                    if rest:  # pragma: no cover - every kind above has a repair
                        raise ValuesDamaged(rest, self._path)
            finally:
                self._accepting = False
            self._damage = []
            self._damage_version = None
            self._check_all_values()
            return Repair(done, snap)

    def _raw_in(self, session: Session) -> sqlite3.Connection:
        session.flush()
        return self._require_raw()

    @staticmethod
    def _touch(session: Session, draft_id: int) -> None:
        """Bump updated_at of a draft inside the current transaction; DraftNotFound if missing."""
        result = session.exec(
            update(DraftRow).where(DraftRow.id == _check_id(draft_id)).values(updated_at=_now_text())
        )
        if result.rowcount == 0:
            raise DraftNotFound(draft_id)

    @staticmethod
    def _require_draft(session: Session, draft_id: int) -> DraftRow:
        row = session.get(DraftRow, _check_id(draft_id))
        if row is None:
            raise DraftNotFound(draft_id)
        return row

    def data_version(self) -> int:
        """A counter that grows with every committed change (from any process)."""
        with self._lock:
            raw = self._require_raw()
            try:
                return int(raw.execute("SELECT data_version FROM store_state WHERE id = 1").fetchone()[0])
            except sqlite3.Error as exc:
                raise _translate(exc, self._path) from exc

    # ------------------------------------------------------------------ drafts

    @staticmethod
    def _draft_row(raw: sqlite3.Connection, draft_id: int) -> _DraftRecord:
        found = raw.execute(f"SELECT {_DRAFT_SELECT} FROM draft WHERE id = ?", (_check_id(draft_id),)).fetchone()
        if found is None:
            raise DraftNotFound(draft_id)
        return _DraftRecord(*found)

    @staticmethod
    def _draft_rows(raw: sqlite3.Connection) -> list[_DraftRecord]:
        return [_DraftRecord(*r) for r in raw.execute(
            f"SELECT {_DRAFT_SELECT} FROM draft ORDER BY updated_at DESC, id DESC")]

    def _draft_info(self, row: DraftRow | _DraftRecord, raw: sqlite3.Connection | None = None) -> DraftInfo:
        """A draft's record; a damaged name or time is shown as such (and noted: writes stop)
        rather than hiding the whole list of drafts."""
        assert row.id is not None
        if raw is not None and (
            _text_problem(row.title) or _text_problem(row.uuid) or _text_problem(row.form_id)
            or _time_problem(row.created_at) or _time_problem(row.updated_at)
            or _int_problem(row.form_version) or _int_problem(row.linked_draft_id, none_ok=True)
        ):
            self._note_damage(_scan_values(raw, draft_ids={row.id}))
            epoch = datetime(1970, 1, 1, tzinfo=timezone.utc).astimezone()
            return DraftInfo(
                id=row.id,
                uuid=_plain(str(row.uuid)),
                form_id=_plain(str(row.form_id)),
                form_version=row.form_version if not _int_problem(row.form_version) else 0,
                title=(_plain(str(row.title)) + "（名称已损坏）") if _text_problem(row.title) else row.title,
                created_at=epoch if _time_problem(row.created_at) else _to_local(row.created_at),
                updated_at=epoch if _time_problem(row.updated_at) else _to_local(row.updated_at),
                linked_draft_id=None if _int_problem(row.linked_draft_id, none_ok=True) else row.linked_draft_id,
            )
        return DraftInfo(
            id=row.id,
            uuid=row.uuid,
            form_id=row.form_id,
            form_version=row.form_version,
            title=row.title,
            created_at=_to_local(row.created_at),
            updated_at=_to_local(row.updated_at),
            linked_draft_id=row.linked_draft_id,
        )

    def _json_values(self, raw: sqlite3.Connection, draft_id: int, rows: list[Any]) -> dict[str, Any]:
        """(key, stored JSON text) rows of one draft as a dict; ValuesDamaged if any is unreadable."""
        try:
            out = {key: _load_json(text) for key, text in rows}
        except ValueError:
            raise self._unreadable(raw, draft_id) from None
        if any(_text_problem(key) for key in out):
            raise self._unreadable(raw, draft_id)
        return out

    def _unreadable(self, raw: sqlite3.Connection, draft_id: int) -> StoreError:
        """A value of this draft did not read back: name every damaged one (and stop writes)."""
        found = _scan_values(raw, draft_ids={draft_id})
        if found:
            self._note_damage(found)
            return ValuesDamaged(found, self._path)
        return DatabaseDamaged(f"草稿 {draft_id} 的内容无法读取：{self._path}", self._path)

    def create_draft(
        self,
        form_id: str,
        form_version: int,
        title: str,
        *,
        uuid: str | None = None,
        linked_draft_id: int | None = None,
    ) -> DraftInfo:
        _check_key(form_id, "表单")
        if isinstance(form_version, bool) or not isinstance(form_version, int):
            raise StoreError(f"表单版本号无效：{form_version!r}")
        if not isinstance(title, str):
            raise StoreError("草稿标题必须是文字")
        if uuid is None:
            uuid = str(uuid_module.uuid4())
        elif not isinstance(uuid, str) or not uuid:
            raise StoreError("草稿标识（uuid）不能为空")
        now = _now_text()
        with self._tx(write=True) as session:
            if linked_draft_id is not None:
                self._require_draft(session, linked_draft_id)
            row = DraftRow(
                uuid=uuid,
                form_id=form_id,
                form_version=form_version,
                title=title,
                created_at=now,
                updated_at=now,
                linked_draft_id=linked_draft_id,
            )
            session.add(row)
            session.flush()
            return self._draft_info(row)

    def list_drafts(self) -> list[DraftInfo]:
        with self._read() as raw:
            return [self._draft_info(row, raw) for row in self._draft_rows(raw)]

    def get_draft(self, draft_id: int) -> DraftInfo:
        with self._read() as raw:
            return self._draft_info(self._draft_row(raw, draft_id), raw)

    def find_drafts_by_uuid(self, uuid: str) -> list[DraftInfo]:
        """Drafts with this uuid, however either side spells it (``{…}``, upper case, ``urn:uuid:``)."""
        wanted = _canonical_uuid(uuid)
        with self._read() as raw:
            return [self._draft_info(row, raw) for row in self._draft_rows(raw) if _canonical_uuid(row.uuid) == wanted]

    def rename_draft(self, draft_id: int, title: str) -> None:
        if not isinstance(title, str):
            raise StoreError("草稿标题必须是文字")
        with self._tx(write=True) as session:
            result = session.exec(
                update(DraftRow)
                .where(DraftRow.id == _check_id(draft_id))
                .values(title=title, updated_at=_now_text())
            )
            if result.rowcount == 0:
                raise DraftNotFound(draft_id)

    def delete_draft(self, draft_id: int) -> None:
        freed = False
        with self._tx(write=True) as session:
            self._require_draft(session, draft_id)
            shas = set(session.exec(select(EvidenceRow.sha256).where(EvidenceRow.draft_id == draft_id)))
            session.exec(delete(EvidenceRow).where(EvidenceRow.draft_id == draft_id))
            session.exec(delete(AnswerRow).where(AnswerRow.draft_id == draft_id))
            session.exec(delete(MetaRow).where(MetaRow.draft_id == draft_id))
            session.exec(
                update(DraftRow).where(DraftRow.linked_draft_id == draft_id).values(linked_draft_id=None)
            )
            session.exec(delete(DraftRow).where(DraftRow.id == draft_id))
            freed = self._delete_orphan_blobs(session, shas)
        if freed:
            self._release_free_pages()

    def relink_drafts(self, old_id: int, new_id: int) -> int:
        """Point every draft linked to ``old_id`` (e.g. annual reports of an application) at
        ``new_id`` instead; returns how many were re-pointed."""
        with self._tx(write=True) as session:
            self._require_draft(session, new_id)
            result = session.exec(
                update(DraftRow).where(DraftRow.linked_draft_id == _check_id(old_id)).values(linked_draft_id=new_id)
            )
            return int(result.rowcount or 0)

    def duplicate_draft(self, draft_id: int, title: str) -> DraftInfo:
        if not isinstance(title, str):
            raise StoreError("草稿标题必须是文字")
        now = _now_text()
        with self._tx(write=True) as session:
            source = self._require_draft(session, draft_id)
            row = DraftRow(
                uuid=str(uuid_module.uuid4()),
                form_id=source.form_id,
                form_version=source.form_version,
                title=title,
                created_at=now,
                updated_at=now,
                linked_draft_id=source.linked_draft_id,
            )
            session.add(row)
            session.flush()
            new_id = row.id
            answers = AnswerRow.__table__
            session.exec(
                insert(answers).from_select(
                    ["draft_id", "key", "value_json", "note"],
                    select(new_id, AnswerRow.key, AnswerRow.value_json, AnswerRow.note).where(
                        AnswerRow.draft_id == draft_id
                    ),
                )
            )
            session.exec(
                insert(MetaRow.__table__).from_select(
                    ["draft_id", "key", "value_json"],
                    select(new_id, MetaRow.key, MetaRow.value_json).where(MetaRow.draft_id == draft_id),
                )
            )
            session.exec(
                insert(EvidenceRow.__table__).from_select(
                    ["draft_id", "key", "option", "filename", "sha256", "added_at", "position"],
                    select(
                        new_id,
                        EvidenceRow.key,
                        EvidenceRow.option,
                        EvidenceRow.filename,
                        EvidenceRow.sha256,
                        EvidenceRow.added_at,
                        EvidenceRow.position,
                    )
                    .where(EvidenceRow.draft_id == draft_id)
                    .order_by(EvidenceRow.id),
                )
            )
            return self._draft_info(row)

    # ------------------------------------------------------------------ answers and notes

    def set_answer(self, draft_id: int, key: str, value: object, note: str | None = None) -> None:
        """Save one answer and its note in one committed transaction.

        The pair is stored exactly as given: ``value=None`` removes the value,
        ``note=None`` (or ``""``) removes the note.  A note may exist without a
        value (e.g. why a field was left empty).
        """
        self.set_answers(draft_id, {key: value}, None if note is None else {key: note})

    def set_answers(
        self,
        draft_id: int,
        values: Mapping[str, object],
        notes: Mapping[str, str | None] | None = None,
    ) -> None:
        """Save many answers and notes in ONE transaction: all of them or none.

        For every key in ``values`` the value and the note ``notes.get(key)`` are
        written together (no entry in ``notes`` = no note), as ``set_answer`` does.
        A key only in ``notes`` changes just the note and keeps the value.
        """
        notes = dict(notes or {})
        for key, note in notes.items():
            _check_key(key)
            if note is not None and not isinstance(note, str):
                raise StoreError(f"“{key}”的备注必须是文字")
        pairs: list[dict[str, Any]] = []
        for key, value in values.items():
            _check_key(key)
            text = None if value is None else _encode_json(value, f"“{key}”")
            pairs.append({"draft_id": draft_id, "key": key, "value_json": text, "note": notes.get(key) or None})
        set_notes = [
            {"draft_id": draft_id, "key": key, "value_json": None, "note": note}
            for key, note in notes.items()
            if key not in values and note
        ]
        cleared_notes = [key for key, note in notes.items() if key not in values and not note]
        _check_id(draft_id)
        with self._tx(write=True) as session:
            table = AnswerRow.__table__
            self._touch(session, draft_id)
            conn = session.connection()
            stored = [row for row in pairs if row["value_json"] is not None or row["note"] is not None]
            emptied = [row["key"] for row in pairs if row["value_json"] is None and row["note"] is None]
            if stored:
                stmt = sqlite_insert(table)
                conn.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["draft_id", "key"],
                        set_={"value_json": stmt.excluded.value_json, "note": stmt.excluded.note},
                    ),
                    stored,
                )
            if emptied:
                session.exec(
                    delete(AnswerRow).where(AnswerRow.draft_id == draft_id, AnswerRow.key.in_(emptied))
                )
            if set_notes:
                stmt = sqlite_insert(table)
                conn.execute(
                    stmt.on_conflict_do_update(index_elements=["draft_id", "key"], set_={"note": stmt.excluded.note}),
                    set_notes,
                )
            if cleared_notes:
                mine = (AnswerRow.draft_id == draft_id) & AnswerRow.key.in_(cleared_notes)
                session.exec(delete(AnswerRow).where(mine, AnswerRow.value_json.is_(None)))
                session.exec(update(AnswerRow).where(mine).values(note=None))

    def get_answers(self, draft_id: int) -> dict[str, object]:
        with self._read() as raw:
            self._draft_row(raw, draft_id)
            rows = raw.execute(
                'SELECT "key", value_json FROM draft_answer WHERE draft_id = ? AND value_json IS NOT NULL '
                'ORDER BY "key"', (draft_id,)).fetchall()
            return self._json_values(raw, draft_id, rows)

    def get_notes(self, draft_id: int) -> dict[str, str]:
        with self._read() as raw:
            self._draft_row(raw, draft_id)
            rows = raw.execute(
                'SELECT "key", note FROM draft_answer WHERE draft_id = ? AND note IS NOT NULL ORDER BY "key"',
                (draft_id,)).fetchall()
            if any(_text_problem(key) or _text_problem(note) for key, note in rows):
                raise self._unreadable(raw, draft_id)
            return {key: note for key, note in rows if note}

    # ------------------------------------------------------------------ meta

    def set_meta(self, draft_id: int, key: str, value: object) -> None:
        """Save one meta value (any JSON value); ``None`` deletes the key."""
        _check_key(key, "信息项")
        text = None if value is None else _encode_json(value, f"“{key}”")
        with self._tx(write=True) as session:
            self._touch(session, draft_id)
            if text is None:
                session.exec(delete(MetaRow).where(MetaRow.draft_id == draft_id, MetaRow.key == key))
            else:
                stmt = sqlite_insert(MetaRow.__table__).values(draft_id=draft_id, key=key, value_json=text)
                session.exec(
                    stmt.on_conflict_do_update(
                        index_elements=["draft_id", "key"], set_={"value_json": stmt.excluded.value_json}
                    )
                )

    def upgrade_draft(self, draft_id: int, form_version: int, moves: Mapping[str, str],
                      retired: Mapping[str, object], retired_key: str = "retired") -> None:
        """A draft made on an earlier version of its form brought up to ``form_version``, in ONE
        transaction: each answer, note and evidence link of a key in ``moves`` goes to its new key;
        the answers and notes of the keys in ``retired`` leave the answers and are kept, with
        ``retired``'s description of each, in the meta value ``retired_key`` (merged with what is
        there); evidence of a retired key is kept as it is. Nothing is dropped."""
        if isinstance(form_version, bool) or not isinstance(form_version, int):
            raise StoreError(f"表单版本号无效：{form_version!r}")
        for key in [*moves, *moves.values(), *retired]:
            _check_key(key)
        _check_id(draft_id)
        with self._tx(write=True) as session:
            row = self._require_draft(session, draft_id)
            for old, new in moves.items():
                if session.get(AnswerRow, (draft_id, new)) is None:
                    session.exec(update(AnswerRow).where(AnswerRow.draft_id == draft_id, AnswerRow.key == old)
                                 .values(key=new))
                session.exec(update(EvidenceRow).where(EvidenceRow.draft_id == draft_id, EvidenceRow.key == old)
                             .values(key=new))
            if retired:
                found = session.exec(select(MetaRow.value_json).where(
                    MetaRow.draft_id == draft_id, MetaRow.key == retired_key)).first()
                kept = _load_json(found) if found is not None else {}
                kept = {**(kept if isinstance(kept, dict) else {}), **retired}
                stmt = sqlite_insert(MetaRow.__table__).values(
                    draft_id=draft_id, key=retired_key, value_json=_encode_json(kept, f"“{retired_key}”"))
                session.exec(stmt.on_conflict_do_update(index_elements=["draft_id", "key"],
                                                        set_={"value_json": stmt.excluded.value_json}))
                session.exec(delete(AnswerRow).where(AnswerRow.draft_id == draft_id,
                                                     AnswerRow.key.in_(list(retired))))
            row.form_version = form_version
            session.add(row)

    def get_meta(self, draft_id: int) -> dict[str, Any]:
        with self._read() as raw:
            self._draft_row(raw, draft_id)
            rows = raw.execute('SELECT "key", value_json FROM draft_meta WHERE draft_id = ? ORDER BY "key"',
                               (draft_id,)).fetchall()
            return self._json_values(raw, draft_id, rows)

    # ------------------------------------------------------------------ evidence

    @staticmethod
    def _evidence_info(row: EvidenceRow | _EvidenceRecord, size: int) -> EvidenceInfo:
        assert row.id is not None
        return EvidenceInfo(
            id=row.id,
            draft_id=row.draft_id,
            key=row.key,
            option=row.option,
            filename=row.filename,
            sha256=row.sha256,
            size=size,
            added_at=_to_local(row.added_at),
            position=row.position,
        )

    @staticmethod
    def _check_slot(key: object, option: object) -> None:
        _check_key(key)
        if not isinstance(option, str):
            raise StoreError("选项名称必须是文字")

    def _link_evidence(
        self, session: Session, draft_id: int, key: str, option: str, filename: str, sha256: str, size: int
    ) -> EvidenceInfo:
        position = session.exec(
            select(func.coalesce(func.max(EvidenceRow.position), -1) + 1).where(
                EvidenceRow.draft_id == draft_id, EvidenceRow.key == key, EvidenceRow.option == option
            )
        ).one()
        row = EvidenceRow(
            draft_id=draft_id,
            key=key,
            option=option,
            filename=filename,
            sha256=sha256,
            added_at=_now_text(),
            position=position,
        )
        session.add(row)
        session.flush()
        return self._evidence_info(row, size)

    @staticmethod
    def _blob_exists(session: Session, sha256: str) -> bool:
        return session.exec(select(BlobRow.sha256).where(BlobRow.sha256 == sha256)).first() is not None

    def add_evidence(self, draft_id: int, key: str, option: str, src: Path | str) -> EvidenceInfo:
        """Copy a file's bytes into the database and link it to (draft, key, option)."""
        self._check_slot(key, option)
        src = Path(src)
        filename = _base_name(src.name) or "证明材料"
        _check_evidence_type(filename)
        digest, size = _hash_file(src, _evidence_cap())
        _check_evidence_type(filename, path=src)
        with self._tx(write=True) as session:
            self._touch(session, draft_id)
            if not self._blob_exists(session, digest):
                self._copy_file_into_blob(self._raw_in(session), src, digest, size)
            return self._link_evidence(session, draft_id, key, option, filename, digest, size)

    def add_evidence_bytes(
        self, draft_id: int, key: str, option: str, filename: str, data: bytes
    ) -> EvidenceInfo:
        self._check_slot(key, option)
        if not isinstance(filename, str) or not _base_name(filename):
            raise EvidenceError("证明材料的文件名不能为空")
        filename = _base_name(filename)
        data = bytes(data)
        cap = _evidence_cap()
        if len(data) > cap:
            raise EvidenceError(
                f"文件“{filename}”太大（{_mb(len(data))} MB），单个证明材料不能超过 {_mb(cap)} MB"
            )
        digest = hashlib.sha256(data).hexdigest()
        with self._tx(write=True) as session:
            self._touch(session, draft_id)
            _check_evidence_type(filename, data=data)
            if not self._blob_exists(session, digest):
                session.exec(insert(BlobRow.__table__).values(sha256=digest, size=len(data), data=data))
            return self._link_evidence(session, draft_id, key, option, filename, digest, len(data))

    @staticmethod
    def _copy_file_into_blob(raw: sqlite3.Connection, src: Path, digest: str, size: int) -> None:
        """Stream ``src`` into a new blob row; refuse if it no longer matches the first read."""
        changed = EvidenceError(f"文件“{src.name}”在读取时发生了变化，请等它保存完毕后重新添加")
        cursor = raw.execute(
            "INSERT INTO blob (sha256, size, data) VALUES (?, ?, zeroblob(?))", (digest, size, size)
        )
        rowid = cursor.lastrowid
        hasher = hashlib.sha256()
        total = 0
        try:
            with open_regular(src) as fh:  # never blocks on a pipe swapped in after hashing
                with raw.blobopen("blob", "data", rowid) as blob:
                    while chunk := fh.read(_CHUNK):
                        total += len(chunk)
                        if total > size:
                            raise changed
                        hasher.update(chunk)
                        blob.write(chunk)
        except FileNotFoundError as exc:
            raise EvidenceError(f"找不到文件“{src.name}”，它可能已被移动或删除：{src}") from exc
        except OSError as exc:
            raise EvidenceError(f"无法读取文件“{src.name}”：{src}") from exc
        if total != size or hasher.hexdigest() != digest:
            raise changed

    def _delete_orphan_blobs(self, session: Session, shas: set[str]) -> bool:
        if not shas:
            return False
        result = session.exec(
            delete(BlobRow).where(
                BlobRow.sha256.in_(sorted(shas)),
                ~exists().where(EvidenceRow.sha256 == BlobRow.sha256),
            )
        )
        return result.rowcount > 0

    def _release_free_pages(self) -> None:
        """Give space of deleted blobs back to the file system (best effort, own transaction)."""
        with self._lock:
            raw = self._raw
            if raw is None:
                return
            if raw.in_transaction:
                return
            try:
                # executescript steps the pragma to completion (execute() would
                # stop after its first step, i.e. after freeing one page).
                raw.executescript("PRAGMA incremental_vacuum;")
            except sqlite3.Error:
                pass

    def list_evidence(self, draft_id: int) -> list[EvidenceInfo]:
        with self._read() as raw:
            self._draft_row(raw, draft_id)
            rows = [(_EvidenceRecord(*r[:-1]), r[-1]) for r in raw.execute(
                f"SELECT {_EVIDENCE_SELECT}, blob.size FROM evidence JOIN blob ON blob.sha256 = evidence.sha256 "
                'WHERE evidence.draft_id = ? ORDER BY evidence."key", evidence.option, evidence.position, evidence.id',
                (draft_id,))]
            if any(_text_problem(row.filename) or _text_problem(row.key) or _text_problem(row.option)
                   or _time_problem(row.added_at) for row, _size in rows):
                raise self._unreadable(raw, draft_id)
            return [self._evidence_info(row, size) for row, size in rows]

    def remove_evidence(self, evidence_id: int) -> None:
        freed = False
        with self._tx(write=True) as session:
            row = session.get(EvidenceRow, _check_id(evidence_id))
            if row is None:
                raise EvidenceError(f"证明材料 {evidence_id} 不存在")
            self._touch(session, row.draft_id)
            sha = row.sha256
            session.exec(delete(EvidenceRow).where(EvidenceRow.id == evidence_id))
            freed = self._delete_orphan_blobs(session, {sha})
        if freed:
            self._release_free_pages()

    def read_blob(self, sha256: str) -> bytes:
        with self._read() as raw:
            found = raw.execute("SELECT data FROM blob WHERE sha256 = ?", (sha256,)).fetchone()
            if found is None:
                raise EvidenceError("找不到证明材料的内容")
            return bytes(found[0])

    def export_evidence(self, evidence_id: int, dest_dir: Path | str) -> Path:
        """Write an evidence file into ``dest_dir``; a taken name gets a " (2)" style suffix."""
        dest_dir = Path(dest_dir)
        if not dest_dir.is_dir():
            raise EvidenceError(f"导出文件夹不存在：{dest_dir}")
        with self._read() as raw:
            found_row = raw.execute(f"SELECT {_EVIDENCE_SELECT} FROM evidence WHERE id = ?",
                                    (_check_id(evidence_id),)).fetchone()
            if found_row is None:
                raise EvidenceError(f"证明材料 {evidence_id} 不存在")
            row = _EvidenceRecord(*found_row)
            found = raw.execute("SELECT rowid FROM blob WHERE sha256 = ?", (row.sha256,)).fetchone()
            if found is None:
                raise EvidenceError(f"找不到证明材料“{row.filename}”的内容")
            blob_rowid = found[0]
            name = _safe_filename(row.filename)
            for candidate in _candidate_names(name):
                target = dest_dir / candidate
                try:
                    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
                except FileExistsError:
                    continue
                except OSError as exc:
                    raise EvidenceError(f"无法在“{dest_dir}”中创建文件“{candidate}”") from exc
                break
            else:
                raise EvidenceError(f"“{dest_dir}”中同名文件太多，无法导出“{name}”")
            try:
                with os.fdopen(fd, "wb") as out:
                    with raw.blobopen("blob", "data", blob_rowid, readonly=True) as blob:
                        while chunk := blob.read(_CHUNK):
                            out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
            except BaseException as exc:
                _remove_quietly(target)
                if isinstance(exc, OSError):
                    raise EvidenceError(f"写入文件“{target}”失败") from exc
                raise
            return target

    # ------------------------------------------------------------------ snapshots and backups

    @property
    def _snapshot_dir(self) -> Path:
        return self._path.parent / _SNAPSHOT_DIR_NAME

    def snapshot(self, keep: int = 5) -> Path:
        """Copy the database (backup API) into ``snapshots/`` and keep only the newest ``keep``."""
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise ValueError("keep must be a positive integer")
        with self._lock:
            raw = self._require_raw()
            if raw.in_transaction:  # a copy now would hold half of a transaction
                raise StoreError("内部错误：不能在事务中保存快照")
            target = _new_snapshot_path(self._path)
            try:
                _backup_into_file(raw, target, self._owner)
            except sqlite3.Error as exc:
                raise _translate(exc, self._path) from exc
            except OSError as exc:
                raise StoreError(f"无法保存数据库快照：{target}") from exc
            _prune_snapshots(self._path, keep)
            return target

    @staticmethod
    def snapshots_of(db_path: Path | str) -> list[Path]:
        """Snapshots kept beside a database file, newest first; works for a file that won't open."""
        return _list_snapshots(Path(db_path))

    def list_snapshots(self) -> list[Path]:
        """Snapshots of this database, newest first."""
        return _list_snapshots(self._path)

    def backup(self, out: Path | str) -> Path:
        """Write a consistent copy of the database to ``out`` (atomically)."""
        out = _abs_path(out)
        if out.is_dir():
            out = out / f"{self._path.stem}-备份-{datetime.now():%Y%m%d-%H%M%S}.sqlite3"
        if not out.parent.is_dir():
            raise StoreError(f"备份位置的文件夹不存在：{out.parent}")
        if out == self._path:
            raise StoreError("不能把备份写到正在使用的数据库文件上")
        with self._lock:
            raw = self._require_raw()
            try:
                _backup_into_file(raw, out, self._owner)
            except sqlite3.Error as exc:
                raise _translate(exc, self._path) from exc
            except OSError as exc:
                raise StoreError(f"无法写入备份文件：{out}") from exc
        return out

    @classmethod
    def restore(cls, db_path: Path | str, backup_file: Path | str) -> None:
        """Replace the database at ``db_path`` with the contents of ``backup_file``.

        The backup is fully checked first; nothing is changed if it is refused.
        The current database, if any, is snapshotted before it is overwritten.
        Close any Store on ``db_path`` first (an open one would see the restored
        data, but it is cleaner to reopen).
        """
        _require_regular_backup(_abs_path(backup_file))  # a pipe or /dev/zero would hang or never end
        _restore(_abs_path(db_path), _abs_path(backup_file))

    @classmethod
    def set_aside(cls, db_path: Path | str) -> Path:
        """Keep a database file that cannot be used (empty, damaged, not ours) under a new name
        beside it, so that the next ``Store.open`` starts a new, empty database.  Nothing is
        deleted or overwritten.  Refuses a file that opens (or one written by a newer version)."""
        return _set_aside(_abs_path(db_path))


# --------------------------------------------------------------------------- module-level workers


def _require_regular_backup(path: Path) -> None:
    try:
        open_regular(path).close()
    except FileNotFoundError as exc:
        raise StoreError(f"找不到备份文件：{path}") from exc
    except OSError as exc:
        raise StoreError(f"无法使用备份文件：{exc}") from exc


def _canonical_uuid(text: str) -> str:
    try:
        return str(uuid_module.UUID(text.strip().lower()))
    except (AttributeError, ValueError):
        return text


def _check_evidence_type(filename: str, *, path: Path | None = None, data: bytes | None = None) -> None:
    """The allow-list of evidence types (``clusterdesk.evidence_types``): by name, and by content
    when ``path`` or ``data`` is given."""
    from clusterdesk import evidence_types

    try:
        if path is not None:
            evidence_types.check_file(path, filename)
        elif data is not None:
            evidence_types.check_bytes(filename, data)
        else:
            evidence_types.check_name(filename)
    except evidence_types.EvidenceTypeError as exc:
        raise EvidenceError(str(exc)) from None
    except OSError as exc:
        raise EvidenceError(f"无法读取文件“{filename}”：{exc}") from None


def _hash_file(src: Path, cap: int) -> tuple[str, int]:
    """SHA-256 and size of a regular file, read in chunks; EvidenceError if unusable."""
    name = src.name or str(src)
    try:
        if src.is_dir():
            raise EvidenceError(f"“{name}”是文件夹，不能作为证明材料，请选择文件")
        if src.exists() and not stat.S_ISREG(src.stat().st_mode):
            # a pipe or device would block open() or never end: refuse before opening
            raise EvidenceError(f"“{name}”不是普通文件，不能作为证明材料")
        with open(src, "rb") as fh:
            before = os.fstat(fh.fileno())
            if not stat.S_ISREG(before.st_mode):
                raise EvidenceError(f"“{name}”不是普通文件，不能作为证明材料")
            if before.st_size > cap:
                raise EvidenceError(
                    f"文件“{name}”太大（{_mb(before.st_size)} MB），单个证明材料不能超过 {_mb(cap)} MB"
                )
            hasher = hashlib.sha256()
            total = 0
            while chunk := fh.read(_CHUNK):
                total += len(chunk)
                if total > before.st_size:
                    break
                hasher.update(chunk)
            after = os.fstat(fh.fileno())
    except EvidenceError:
        raise
    except FileNotFoundError as exc:
        raise EvidenceError(f"找不到文件“{name}”，它可能已被移动或删除：{src}") from exc
    except PermissionError as exc:
        raise EvidenceError(f"没有权限读取文件“{name}”：{src}") from exc
    except OSError as exc:
        raise EvidenceError(f"无法读取文件“{name}”：{src}") from exc
    if total != before.st_size or after.st_size != before.st_size or after.st_mtime_ns != before.st_mtime_ns:
        raise EvidenceError(f"文件“{name}”在读取时发生了变化，请等它保存完毕后重新添加")
    return hasher.hexdigest(), total


def _snapshot_pattern(db_path: Path) -> re.Pattern[str]:
    return re.compile(_SNAPSHOT_RE_TEMPLATE.format(stem=re.escape(db_path.stem)))


def _new_snapshot_path(db_path: Path) -> Path:
    directory = db_path.parent / _SNAPSHOT_DIR_NAME
    _make_private_dir(directory)
    moment = datetime.now()
    while True:
        candidate = directory / f"{db_path.stem}-{moment:%Y%m%d-%H%M%S-%f}.sqlite3"
        if not candidate.exists():
            return candidate
        moment += timedelta(microseconds=1)


def _list_snapshots(db_path: Path) -> list[Path]:
    directory = db_path.parent / _SNAPSHOT_DIR_NAME
    pattern = _snapshot_pattern(db_path)
    try:
        names = [entry.name for entry in os.scandir(directory) if entry.is_file() and pattern.fullmatch(entry.name)]
    except FileNotFoundError:
        return []
    return [directory / name for name in sorted(names, reverse=True)]


def _pin_path(snapshot: Path) -> Path:
    return snapshot.with_name(snapshot.name + ".keep")


def _pin(snapshot: Path) -> None:
    """Mark a snapshot so rotation never deletes it."""
    pin = _pin_path(snapshot)
    try:
        fd = os.open(pin, os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
        try:
            os.write(fd, "这个快照是发现数据库损坏或为空之前的最后一个快照，程序不会自动删除它。\n".encode())
        finally:
            os.close(fd)
        _fsync_dir(pin.parent)
    except OSError:
        pass  # best effort: the snapshot itself is there


def _pin_latest_snapshot(db_path: Path) -> None:
    """The database was found damaged or empty: the newest snapshot (the state before) is kept."""
    snaps = _list_snapshots(db_path)
    if snaps and not _pin_path(snaps[0]).exists():
        _pin(snaps[0])


def _prune_snapshots(db_path: Path, keep: int) -> None:
    rotating = [snap for snap in _list_snapshots(db_path) if not _pin_path(snap).exists()]
    for old in rotating[keep:]:
        for suffix in ("", "-wal", "-shm", "-journal"):
            _remove_quietly(Path(str(old) + suffix))


def _raw_copy_snapshot(db_path: Path, owner: _Owner | None) -> Path:
    """Byte copy of a database that SQLite cannot read (kept so nothing is ever lost)."""
    target = _new_snapshot_path(db_path)
    tmp = _temp_in(target.parent, target.name, owner)
    try:
        shutil.copyfile(db_path, tmp)
        _fsync_path(tmp)
        wal = Path(str(db_path) + "-wal")
        if wal.exists():
            shutil.copyfile(wal, str(target) + "-wal")
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException:
        _remove_quietly(tmp)
        raise
    return target


def _set_aside(db_path: Path) -> Path:
    try:
        facts = _inspect_health(db_path, check="quick_check", label="数据库文件", allow_recovery=False)
        _check_ours(facts, db_path, "数据库文件")
    except DatabaseTooNew:
        raise
    except DatabaseDamaged:
        pass
    else:
        raise StoreError(f"数据库文件可以正常打开，无需另存：{db_path}")
    _pin_latest_snapshot(db_path)
    moment = datetime.now()
    while True:
        target = db_path.with_name(f"{db_path.stem}-无法使用-{moment:%Y%m%d-%H%M%S}{db_path.suffix}")
        try:
            _link_no_replace(db_path, target)
        except FileExistsError:
            moment += timedelta(seconds=1)
            continue
        except OSError as exc:
            raise StoreError(f"无法把数据库文件改名保留：{db_path}") from exc
        break
    try:
        if target.exists() and db_path.exists() and os.path.samefile(target, db_path):
            os.unlink(db_path)  # the hard link keeps the bytes under the new name
        for suffix in ("-wal", "-journal"):  # SQLite's side files belong to the kept file now
            side = Path(str(db_path) + suffix)
            if side.exists():
                os.replace(side, Path(str(target) + suffix))
        _remove_quietly(Path(str(db_path) + "-shm"))
        _fsync_dir(db_path.parent)
    except OSError as exc:
        raise StoreError(f"无法把数据库文件改名保留：{db_path}") from exc
    return target


_SCHEMA_KINDS = {"table": "表", "index": "索引", "trigger": "触发器", "view": "视图"}
_reference_cache: dict[int, dict[tuple[str, str], str]] = {}


def _schema_of(conn: sqlite3.Connection) -> dict[tuple[str, str], str]:
    """Every schema object (tables, indexes, triggers, views) → its SQL, whitespace collapsed."""
    return {(kind, name): re.sub(r"\s+", " ", sql or "").strip()
            for kind, name, sql in conn.execute("SELECT type, name, sql FROM sqlite_master")}


def _reference_schema(version: int) -> dict[tuple[str, str], str]:
    """The schema this program's migrations create up to ``version`` (built in memory once)."""
    if version not in _reference_cache:
        conn = sqlite3.connect(":memory:", isolation_level=None)
        try:
            conn.execute("BEGIN")
            for step in migrations.MIGRATIONS:
                if step.version <= version:
                    step.apply(conn)
            conn.execute("COMMIT")
            _reference_cache[version] = _schema_of(conn)
        finally:
            conn.close()
    return _reference_cache[version]


def _schema_problems(conn: sqlite3.Connection, version: int) -> list[str]:
    mine, theirs = _reference_schema(version), _schema_of(conn)
    problems = []
    for kind, name in sorted(set(theirs) - set(mine)):
        what = _SCHEMA_KINDS.get(kind, kind)
        problems.append(f"备份文件中有本程序不会创建的{what}“{_readable(name)[:60]}”")
    for kind, name in sorted(set(mine) - set(theirs)):
        problems.append(f"备份文件缺少本程序的{_SCHEMA_KINDS.get(kind, kind)}“{name}”")
    for key in sorted(set(mine) & set(theirs)):
        if mine[key] != theirs[key]:
            problems.append(f"备份文件中{_SCHEMA_KINDS.get(key[0], key[0])}“{key[1]}”的结构与本程序的不同（列或约束不一致）")
    return problems


def _form_value_problems(conn: sqlite3.Connection) -> list[str]:
    """Each stored answer against the field it belongs to, for drafts of a form this program has
    (same form id and version); only the shape of the value (see ``stored_value_problem``)."""
    try:
        from clusterdesk.model.form import default_catalog
        from clusterdesk.model.values import stored_value_problem

        catalog = default_catalog()
    except Exception:  # noqa: BLE001 - no usable forms here: the JSON checks still ran
        return []
    drafts = {did: (form_id, version, title) for did, form_id, version, title in
              conn.execute("SELECT id, form_id, form_version, title FROM draft")}
    problems = []
    for did, key, value_json in conn.execute(
            'SELECT draft_id, "key", value_json FROM draft_answer WHERE value_json IS NOT NULL ORDER BY draft_id, "key"'):
        form_id, version, title = drafts.get(did, (None, None, ""))
        if form_id not in catalog:
            continue
        form = catalog.get(form_id)
        if form.version != version or not form.has_cell(key):
            continue
        cell = form.cell(key)
        try:
            problem = stored_value_problem(_load_json(value_json), cell.field)
        except ValueError:
            problem = "不是有效的数据（格式已损坏）"
        if problem:
            problems.append(f"备份文件中草稿“{title}”（编号 {did}）的“{cell.where}”与表单不符：{problem}")
    return problems


def _restore_problems(staged: Path, version: int) -> list[str]:
    """Everything a restored file could carry that this program would not have written."""
    conn = _ro_connect(staged)
    try:
        problems = _schema_problems(conn, version)
        if problems:
            return problems  # nothing else is read from a file with a schema of its own
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
        if rows != ["ok"]:
            return ["备份文件已损坏（完整性检查未通过）"]
        if conn.execute("PRAGMA foreign_key_check").fetchall():
            problems.append("备份文件中有记录引用了不存在的草稿或证明材料")
        problems += ["备份文件中" + item.message().removeprefix("数据库中") for item in _scan_values(conn)]
        if problems:
            return problems
        problems += _check_blob_hashes(conn)
        problems += _form_value_problems(conn)
        return problems
    except sqlite3.Error:
        return ["备份文件已损坏，无法读取其中的内容"]
    finally:
        conn.close()


def _restore(db_path: Path, backup_file: Path) -> None:
    label = "备份文件"
    facts = _inspect_health(backup_file, check="quick_check", label=label, allow_recovery=False)
    _check_ours(facts, backup_file, label)
    if db_path.exists() and os.path.samefile(db_path, backup_file):
        raise StoreError("备份文件就是当前正在使用的数据库，无需恢复")
    try:
        _make_private_dir(db_path.parent)
    except OSError as exc:
        raise StoreError(f"无法创建数据文件夹：{db_path.parent}") from exc
    owner = _Owner(db_path, "lock")
    staged: Path | None = None
    try:
        # 1. A private copy of the backup next to the database; every check runs on this copy,
        #    so the file cannot change between the check and the restore.
        staged = _temp_in(db_path.parent, db_path.name, owner, "restore")
        source = _ro_connect(backup_file)
        try:
            _copy_database(source, staged)
        finally:
            source.close()
        problems = _restore_problems(staged, facts.user_version)
        if problems:
            shown = problems[:20] + ([f"……另有 {len(problems) - 20} 处问题"] if len(problems) > 20 else [])
            raise BackupRefused([f"备份文件不能用于恢复，当前数据库没有改动：{backup_file}", *shown], backup_file)
        _install_restored(db_path, staged, owner)
    except StoreError:
        raise
    except sqlite3.Error as exc:
        raise _translate(exc, db_path) from exc
    except OSError as exc:
        raise StoreError(f"恢复数据库失败：{db_path}") from exc
    finally:
        if staged is not None:
            _remove_quietly(staged)
            _remove_quietly(Path(str(staged) + "-journal"))
        owner.close()


def _install_restored(db_path: Path, staged: Path, owner: _Owner) -> None:
    """Snapshot the current database (whatever state it is in), then put the checked copy in place."""
    current_healthy = False
    old_counter = 0
    empty = db_path.exists() and db_path.stat().st_size == 0
    if db_path.exists() and not empty:
        try:
            current = _inspect_health(db_path, check="quick_check", label="数据库文件", allow_recovery=False)
            current_healthy = True
            if "store_state" in current.tables:
                probe = _ro_connect(db_path)
                try:
                    row = probe.execute("SELECT data_version FROM store_state WHERE id = 1").fetchone()
                finally:
                    probe.close()
                old_counter = row[0] if row and isinstance(row[0], int) else 0
        except (DatabaseDamaged, sqlite3.Error):
            current_healthy = False
        # Keep the current state, whatever it is, before overwriting it.
        try:
            if current_healthy:
                source = _ro_connect(db_path)
                try:
                    _backup_into_file(source, _new_snapshot_path(db_path), owner)
                finally:
                    source.close()
            else:
                _raw_copy_snapshot(db_path, owner)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"恢复前无法为当前数据库保存快照，已取消恢复：{db_path}") from exc

    # The checked copy counts on from the current counter, so open windows notice the change.
    conn = sqlite3.connect(staged, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE store_state SET data_version = max(data_version, ?) + 1 WHERE id = 1", (old_counter,))
        conn.execute("COMMIT")
    finally:
        conn.close()
    _fsync_path(staged)

    if current_healthy:
        # 2a. Copy into the live database inside one SQLite transaction, so other connections
        #     (even in other processes) stay consistent.
        source = _ro_connect(staged)
        target = sqlite3.connect(db_path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            target.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            target.execute("PRAGMA synchronous = FULL")
            same_page_size = (
                target.execute("PRAGMA page_size").fetchone()[0] == source.execute("PRAGMA page_size").fetchone()[0]
            )
            mode = target.execute("PRAGMA journal_mode").fetchone()[0]
            if not same_page_size and mode == "wal":
                # The backup API cannot change the page size of a WAL database.
                target.execute("PRAGMA journal_mode = DELETE").fetchall()
            source.backup(target)
            target.execute("PRAGMA journal_mode = WAL").fetchall()
        finally:
            target.close()
            source.close()
    else:
        # 2b. The current file is missing, empty or unreadable: swap the checked copy in and drop
        #     the old file's side files so SQLite cannot replay them.
        if _POSIX:
            os.chmod(staged, 0o600)
        os.replace(staged, db_path)
        for suffix in ("-wal", "-shm", "-journal"):
            _remove_quietly(Path(str(db_path) + suffix))
        _fsync_dir(db_path.parent)

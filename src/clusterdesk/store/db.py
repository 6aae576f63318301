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
  the real connection is opened, so a file that is refused (damaged, too new,
  not ours) is never modified.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import stat
import sys
import tempfile
import threading
import uuid as uuid_module
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import and_, delete, event, exists, func, insert, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine, create_engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, select
from clusterdesk.fsutil import fsync_dir as _fsync_dir, owned_prefix

from . import migrations
from .models import AnswerRow, BlobRow, DraftRow, EvidenceRow, MetaRow, StoreStateRow

__all__ = [
    "EVIDENCE_MAX_BYTES",
    "DatabaseDamaged",
    "DatabaseTooNew",
    "DraftInfo",
    "DraftNotFound",
    "EvidenceError",
    "EvidenceInfo",
    "Store",
    "StoreError",
    "default_db_path",
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


def _private_temp_file(directory: Path, final_name: str) -> Path:
    fd, name = tempfile.mkstemp(prefix=owned_prefix(), suffix=f".{final_name}.tmp", dir=directory)  # mode 0600
    os.close(fd)
    return Path(name)


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
    return conn


def _backup_into_file(source: sqlite3.Connection, dest: Path, *, adjust: Any = None) -> None:
    """Copy ``source`` with the SQLite backup API into ``dest`` atomically (temp file + os.replace).

    The copy is converted to rollback-journal mode so it is one self-contained file.
    ``adjust(conn)``, if given, runs on the copy (in a transaction) before it is put in place.
    """
    tmp = _private_temp_file(dest.parent, dest.name)
    try:
        target = sqlite3.connect(tmp, isolation_level=None)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode=DELETE").fetchall()
            if adjust is not None:
                target.execute("BEGIN IMMEDIATE")
                try:
                    adjust(target)
                except BaseException:
                    target.execute("ROLLBACK")
                    raise
                target.execute("COMMIT")
        finally:
            target.close()
        _fsync_path(tmp)
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
    if st.st_size > 0:
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
    """Raise unless the facts describe a database we may open (or an empty one)."""
    foreign = DatabaseDamaged(f"{label}不是集群申报助手的数据库：{path}", path)
    if facts.application_id not in (0, migrations.APPLICATION_ID):
        raise foreign
    if facts.user_version > migrations.SCHEMA_VERSION:
        raise DatabaseTooNew(
            f"{label}由更新版本的集群申报助手创建（数据格式版本 {facts.user_version}，"
            f"本程序最高支持 {migrations.SCHEMA_VERSION}），请升级程序后再打开：{path}",
            path,
            facts.user_version,
        )
    if facts.user_version == 0:
        if facts.tables:
            raise foreign
        return
    if facts.application_id != migrations.APPLICATION_ID or not migrations.V1_TABLES <= facts.tables:
        raise foreign


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

        if self._path.exists() or self._path.is_symlink():
            # Refuse before opening it for writing: a refused file stays untouched.
            facts = _inspect_health(self._path, check="quick_check", label="数据库文件", allow_recovery=True)
            _check_ours(facts, self._path, "数据库文件")
        else:
            self._create_file()

        try:
            self._connect()
            self._migrate()
        except BaseException:
            self.close()
            raise

    @classmethod
    def open(cls, path: Path | str | None = None) -> Store:
        return cls(path)

    def _create_file(self) -> None:
        try:
            _make_private_dir(self._path.parent)
            fd = os.open(
                self._path,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                0o600,
            )
        except FileExistsError:
            return  # another process created it a moment ago; fine
        except OSError as exc:
            raise StoreError(f"无法创建数据库文件：{self._path}") from exc
        os.close(fd)
        if _POSIX:
            os.chmod(self._path, 0o600)
        _fsync_dir(self._path.parent)

    def _connect(self) -> None:
        path = self._path

        def creator() -> sqlite3.Connection:
            return sqlite3.connect(
                path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )

        engine = create_engine("sqlite://", creator=creator, poolclass=StaticPool)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
            dbapi_conn.isolation_level = None
            dbapi_conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            has_tables = dbapi_conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if not has_tables:
                # Only possible before the first table exists; lets deleted evidence
                # give its space back (see _release_free_pages).
                dbapi_conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            dbapi_conn.execute("PRAGMA journal_mode = WAL").fetchall()
            dbapi_conn.execute("PRAGMA synchronous = FULL")
            dbapi_conn.execute("PRAGMA foreign_keys = ON")
            dbapi_conn.execute(f"PRAGMA journal_size_limit = {_JOURNAL_SIZE_LIMIT}").fetchall()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql(self._begin_sql)

        self._engine = engine
        try:
            self._conn = engine.connect()
            raw = self._conn.connection.driver_connection
            assert isinstance(raw, sqlite3.Connection)
            self._raw = raw
        except (sa_exc.DBAPIError, sqlite3.Error) as exc:
            raise _translate(exc, path) from exc

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
            conn, engine = self._conn, self._engine
            self._conn = self._engine = self._raw = None
            try:
                if conn is not None:
                    conn.close()
            finally:
                if engine is not None:
                    engine.dispose()

    @property
    def closed(self) -> bool:
        return self._conn is None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<Store {str(self._path)!r} {state}>"

    # ------------------------------------------------------------------ transactions

    def _require_conn(self) -> Connection:
        if self._conn is None:
            raise StoreError("数据库已关闭")
        return self._conn

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
            if conn.in_transaction():
                raise StoreError("内部错误：数据库事务嵌套")
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
    def _draft_info(row: DraftRow) -> DraftInfo:
        assert row.id is not None
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
        with self._tx(write=False) as session:
            rows = session.exec(select(DraftRow).order_by(DraftRow.updated_at.desc(), DraftRow.id.desc()))
            return [self._draft_info(row) for row in rows]

    def get_draft(self, draft_id: int) -> DraftInfo:
        with self._tx(write=False) as session:
            return self._draft_info(self._require_draft(session, draft_id))

    def find_drafts_by_uuid(self, uuid: str) -> list[DraftInfo]:
        with self._tx(write=False) as session:
            rows = session.exec(
                select(DraftRow)
                .where(DraftRow.uuid == uuid)
                .order_by(DraftRow.updated_at.desc(), DraftRow.id.desc())
            )
            return [self._draft_info(row) for row in rows]

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
        table = AnswerRow.__table__
        with self._tx(write=True) as session:
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
        with self._tx(write=False) as session:
            self._require_draft(session, draft_id)
            rows = session.exec(
                select(AnswerRow.key, AnswerRow.value_json)
                .where(AnswerRow.draft_id == draft_id, AnswerRow.value_json.is_not(None))
                .order_by(AnswerRow.key)
            )
            return {key: json.loads(text) for key, text in rows}

    def get_notes(self, draft_id: int) -> dict[str, str]:
        with self._tx(write=False) as session:
            self._require_draft(session, draft_id)
            rows = session.exec(
                select(AnswerRow.key, AnswerRow.note)
                .where(AnswerRow.draft_id == draft_id, AnswerRow.note.is_not(None))
                .order_by(AnswerRow.key)
            )
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

    def get_meta(self, draft_id: int) -> dict[str, Any]:
        with self._tx(write=False) as session:
            self._require_draft(session, draft_id)
            rows = session.exec(
                select(MetaRow.key, MetaRow.value_json).where(MetaRow.draft_id == draft_id).order_by(MetaRow.key)
            )
            return {key: json.loads(text) for key, text in rows}

    # ------------------------------------------------------------------ evidence

    @staticmethod
    def _evidence_info(row: EvidenceRow, size: int) -> EvidenceInfo:
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
        digest, size = _hash_file(src, _evidence_cap())
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
            with open(src, "rb") as fh:
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
        with self._tx(write=False) as session:
            self._require_draft(session, draft_id)
            rows = session.exec(
                select(EvidenceRow, BlobRow.size)
                .join(BlobRow, and_(BlobRow.sha256 == EvidenceRow.sha256))
                .where(EvidenceRow.draft_id == draft_id)
                .order_by(EvidenceRow.key, EvidenceRow.option, EvidenceRow.position, EvidenceRow.id)
            )
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
        with self._tx(write=False) as session:
            data = session.exec(select(BlobRow.data).where(BlobRow.sha256 == sha256)).first()
            if data is None:
                raise EvidenceError("找不到证明材料的内容")
            return bytes(data)

    def export_evidence(self, evidence_id: int, dest_dir: Path | str) -> Path:
        """Write an evidence file into ``dest_dir``; a taken name gets a " (2)" style suffix."""
        dest_dir = Path(dest_dir)
        if not dest_dir.is_dir():
            raise EvidenceError(f"导出文件夹不存在：{dest_dir}")
        with self._tx(write=False) as session:
            row = session.get(EvidenceRow, _check_id(evidence_id))
            if row is None:
                raise EvidenceError(f"证明材料 {evidence_id} 不存在")
            raw = self._raw_in(session)
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
            target = _new_snapshot_path(self._path)
            try:
                _backup_into_file(raw, target)
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
                _backup_into_file(raw, out)
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
        _restore(_abs_path(db_path), _abs_path(backup_file))


# --------------------------------------------------------------------------- module-level workers


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


def _prune_snapshots(db_path: Path, keep: int) -> None:
    for old in _list_snapshots(db_path)[keep:]:
        for suffix in ("", "-wal", "-shm", "-journal"):
            _remove_quietly(Path(str(old) + suffix))


def _raw_copy_snapshot(db_path: Path) -> Path:
    """Byte copy of a database that SQLite cannot read (kept so nothing is ever lost)."""
    target = _new_snapshot_path(db_path)
    tmp = _private_temp_file(target.parent, target.name)
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


def _restore(db_path: Path, backup_file: Path) -> None:
    label = "备份文件"
    facts = _inspect_health(backup_file, check="integrity_check", label=label, allow_recovery=False)
    _check_ours(facts, backup_file, label)
    if facts.user_version < 1:
        raise StoreError(f"{label}不是集群申报助手的备份：{backup_file}")
    if db_path.exists() and os.path.samefile(db_path, backup_file):
        raise StoreError("备份文件就是当前正在使用的数据库，无需恢复")

    # Is the current database a healthy SQLite file we can write into transactionally?
    current_healthy = False
    old_counter = 0
    if db_path.exists():
        try:
            current = _inspect_health(db_path, check="quick_check", label="数据库文件", allow_recovery=False)
            current_healthy = True
            if "store_state" in current.tables:
                probe = _ro_connect(db_path)
                try:
                    row = probe.execute("SELECT data_version FROM store_state WHERE id = 1").fetchone()
                finally:
                    probe.close()
                old_counter = int(row[0]) if row else 0
        except (DatabaseDamaged, sqlite3.Error):
            current_healthy = False
        # Keep the current state, whatever it is, before overwriting it.
        try:
            if current_healthy:
                source = _ro_connect(db_path)
                try:
                    _backup_into_file(source, _new_snapshot_path(db_path))
                finally:
                    source.close()
            else:
                _raw_copy_snapshot(db_path)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"恢复前无法为当前数据库保存快照，已取消恢复：{db_path}") from exc

    def bump_counter(conn: sqlite3.Connection) -> None:
        conn.execute(
            "UPDATE store_state SET data_version = max(data_version, ?) + 1 WHERE id = 1", (old_counter,)
        )

    try:
        _make_private_dir(db_path.parent)
        # 1. A checked, private copy of the backup next to the database.
        staged = _private_temp_file(db_path.parent, db_path.name + ".restore")
        _remove_quietly(staged)
        source = _ro_connect(backup_file)
        try:
            _backup_into_file(source, staged, adjust=bump_counter)
        finally:
            source.close()
        try:
            if current_healthy:
                # 2a. Copy into the live database inside one SQLite transaction, so
                #     other connections (even in other processes) stay consistent.
                source = _ro_connect(staged)
                target = sqlite3.connect(db_path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
                try:
                    target.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
                    target.execute("PRAGMA synchronous = FULL")
                    same_page_size = (
                        target.execute("PRAGMA page_size").fetchone()[0]
                        == source.execute("PRAGMA page_size").fetchone()[0]
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
                # 2b. The current file is unreadable: swap the staged copy in and drop
                #     the damaged file's side files so SQLite cannot replay them.
                if _POSIX:
                    os.chmod(staged, 0o600)
                os.replace(staged, db_path)
                for suffix in ("-wal", "-shm", "-journal"):
                    _remove_quietly(Path(str(db_path) + suffix))
                _fsync_dir(db_path.parent)
        finally:
            _remove_quietly(staged)
    except StoreError:
        raise
    except sqlite3.Error as exc:
        raise _translate(exc, db_path) from exc
    except OSError as exc:
        raise StoreError(f"恢复数据库失败：{db_path}") from exc

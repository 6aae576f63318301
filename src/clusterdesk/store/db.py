"""The draft store (``Store``, the façade of this package): one SQLite file holding drafts, answers, notes, meta and evidence files.

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
import os
import sqlite3
import threading
import uuid as uuid_module
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clusterdesk.fsutil import fsync_dir as _fsync_dir
from clusterdesk.paths import default_db_path
from clusterdesk.safeio import open_regular

from . import migrations
from .backups import (
    canonical_uuid,
    check_evidence_type,
    hash_file,
    list_snapshots,
    new_snapshot_path,
    pin,
    pin_latest_snapshot,
    prune_snapshots,
    require_regular_backup,
    restore,
    set_aside,
)
from .checks import (
    check_ours,
    inspect_health,
    int_problem,
    keep_aside,
    load_json,
    plain,
    repair_one,
    scan_values,
    text_problem,
    time_problem,
)
from .constants import BUSY_TIMEOUT_MS, CHUNK, JOURNAL_SIZE_LIMIT, POSIX, table_of
from .errors import (
    DatabaseDamaged,
    DatabaseTooNew,
    DraftNotFound,
    EvidenceError,
    StoreError,
    ValuesDamaged,
    WritesStopped,
)
from .helpers import (
    abs_path,
    check_id,
    check_key,
    encode_json,
    evidence_cap,
    fsync_path,
    link_no_replace,
    make_private_dir,
    mb,
    now_text,
    to_local,
    translate,
)
from .helpers import decode_text
from .locks import Owner, backup_into_file, remove_quietly, sweep_leftovers, temp_in
from .names import base_name, candidate_names, safe_filename
from .records import (
    DRAFT_SELECT,
    DamagedValue,
    DraftInfo,
    DraftRecord,
    EVIDENCE_SELECT,
    EvidenceInfo,
    EvidenceRecord,
    Repair,
)

if TYPE_CHECKING:  # at run time _orm() imports these on the store's first write
    from sqlalchemy import delete, event, exists, func, insert, literal, update
    from sqlalchemy import exc as sa_exc
    from sqlalchemy import select as sa_select  # sqlmodel types select() for at most 4 columns
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert
    from sqlalchemy.engine import Connection, Engine, create_engine
    from sqlalchemy.pool import StaticPool
    from sqlmodel import Session, col, select

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
    global delete, event, exists, func, insert, literal, update, sa_exc, sa_select, sqlite_insert
    global Connection, Engine, create_engine, StaticPool, Session, col, select
    global AnswerRow, BlobRow, DraftRow, EvidenceRow, MetaRow, StoreStateRow
    if "StoreStateRow" in globals():
        return
    from sqlalchemy import delete, event, exists, func, insert, literal, update
    from sqlalchemy import exc as sa_exc
    from sqlalchemy import select as sa_select
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert
    from sqlalchemy.engine import Connection, Engine, create_engine
    from sqlalchemy.pool import StaticPool
    from sqlmodel import Session, col, select

    from .models import AnswerRow, BlobRow, DraftRow, EvidenceRow, MetaRow, StoreStateRow  # last: marks done


def preload_orm() -> None:
    """Import what writing needs ahead of the first write (see ``_orm``); safe from any thread."""
    _orm()


# --------------------------------------------------------------------------- the store




class Store:
    """A ClusterDesk database file.  Create with ``Store.open(path)``; close with ``close()``."""

    # ------------------------------------------------------------------ opening / closing

    def __init__(self, path: Path | str | None = None) -> None:
        self._path = abs_path(path) if path is not None else default_db_path()
        self._lock = threading.RLock()
        self._begin_sql = "BEGIN"
        self._batch_session: Session | None = None
        self._engine: Engine | None = None
        self._conn: Connection | None = None
        self._raw: sqlite3.Connection | None = None
        self._owner: Owner | None = None
        self._damage: list[DamagedValue] = []
        self._damage_version: int | None = None
        self._accepting = False
        #: "quick_check" or "integrity_check" (after an unclean shutdown); None for a new file.
        self.startup_check: str | None = None

        sweep = sweep_leftovers(self._path)
        if self._path.exists() or self._path.is_symlink():
            # Refuse before opening it for writing: a refused file stays untouched.
            self.startup_check = "integrity_check" if sweep.stale_markers else "quick_check"
            try:
                facts = inspect_health(self._path, check=self.startup_check, label="数据库文件",
                                        allow_recovery=True)
                check_ours(facts, self._path, "数据库文件")
            except DatabaseTooNew:
                raise
            except DatabaseDamaged:
                pin_latest_snapshot(self._path)
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
            make_private_dir(self._path.parent)
        except OSError as exc:
            raise StoreError(f"无法创建数据文件夹：{self._path.parent}") from exc
        owner = Owner(self._path, "open")
        self._owner = owner
        weakref.finalize(self, owner.close)  # a store that is never closed still removes its lock file

    def _create_file(self) -> None:
        """Build a new database under a temporary name and link it into place complete, so the
        database file never exists half-made (an existing empty file is then never ours)."""
        path = self._path
        try:
            tmp = temp_in(path.parent, path.name, self._owner, "new")
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
            fsync_path(tmp)
            if POSIX:
                os.chmod(tmp, 0o600)
            link_no_replace(tmp, path)
            _fsync_dir(path.parent)
        except FileExistsError:
            pass  # another process created it a moment ago; fine
        except sqlite3.Error as exc:
            raise translate(exc, path) from exc
        except OSError as exc:
            raise StoreError(f"无法创建数据库文件：{path}") from exc
        finally:
            remove_quietly(tmp)
            remove_quietly(Path(str(tmp) + "-journal"))

    def _connect(self) -> None:
        """The one sqlite3 connection of this store. Reads use it directly; SQLAlchemy's engine
        is put over it at the first write (``_orm_conn``)."""
        path = self._path
        raw: sqlite3.Connection | None = None
        try:
            raw = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                  check_same_thread=False)
            raw.text_factory = decode_text  # damaged text is reported, not raised
            raw.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            has_tables = raw.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if not has_tables:
                # Only possible before the first table exists; lets deleted evidence
                # give its space back (see _release_free_pages).
                raw.execute("PRAGMA auto_vacuum = INCREMENTAL")
            raw.execute("PRAGMA journal_mode = WAL").fetchall()
            raw.execute("PRAGMA synchronous = FULL")
            raw.execute("PRAGMA foreign_keys = ON")
            raw.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}").fetchall()
        except sqlite3.Error as exc:
            if raw is not None:
                raw.close()
            raise translate(exc, path) from exc
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
            raise translate(exc, self._path) from exc
        self._engine, self._conn = engine, conn
        return conn

    def _migrate(self) -> None:
        raw = self._require_raw()
        try:
            current = raw.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as exc:
            raise translate(exc, self._path) from exc
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
                                .where(col(StoreStateRow.id) == 1)
                                .values(data_version=StoreStateRow.data_version + 1)
                            )
            except StoreError:
                raise
            except (sa_exc.DBAPIError, sqlite3.Error) as exc:
                raise translate(exc, self._path) from exc
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
                raise translate(exc, self._path) from exc

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
                raise translate(exc, self._path) from exc
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
                pin_latest_snapshot(self._path)
                try:
                    self._damage_version = self.data_version()
                except StoreError:
                    self._damage_version = None
            self._damage.extend(new)

    def _check_all_values(self) -> None:
        with self._read() as raw:
            found = scan_values(raw)
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
            pin(snap)
            done: list[tuple[DamagedValue, str]] = []
            self._accepting = True
            try:
                with self._tx(write=True) as session:
                    raw = self._raw_in(session)
                    items = scan_values(raw)
                    aside: dict[int, list[dict[str, str]]] = {}
                    for item in items:
                        done.append((item, repair_one(raw, item)))
                        if item.draft_id is not None:
                            aside.setdefault(item.draft_id, []).append(
                                {"what": item.message(), "stored_text": item.raw,
                                 "found_at": now_text()})
                    for draft_id, entries in aside.items():
                        keep_aside(raw, draft_id, entries)
                    rest = scan_values(raw)
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
            update(DraftRow).where(col(DraftRow.id) == check_id(draft_id)).values(updated_at=now_text())
        )
        if result.rowcount == 0:
            raise DraftNotFound(draft_id)

    @staticmethod
    def _require_draft(session: Session, draft_id: int) -> DraftRow:
        row = session.get(DraftRow, check_id(draft_id))
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
                raise translate(exc, self._path) from exc

    # ------------------------------------------------------------------ drafts

    @staticmethod
    def _draft_row(raw: sqlite3.Connection, draft_id: int) -> DraftRecord:
        found = raw.execute(f"SELECT {DRAFT_SELECT} FROM draft WHERE id = ?", (check_id(draft_id),)).fetchone()
        if found is None:
            raise DraftNotFound(draft_id)
        return DraftRecord(*found)

    @staticmethod
    def _draft_rows(raw: sqlite3.Connection) -> list[DraftRecord]:
        return [DraftRecord(*r) for r in raw.execute(
            f"SELECT {DRAFT_SELECT} FROM draft ORDER BY updated_at DESC, id DESC")]

    def _draft_info(self, row: DraftRow | DraftRecord, raw: sqlite3.Connection | None = None) -> DraftInfo:
        """A draft's record; a damaged name or time is shown as such (and noted: writes stop)
        rather than hiding the whole list of drafts."""
        assert row.id is not None
        if raw is not None and (
            text_problem(row.title) or text_problem(row.uuid) or text_problem(row.form_id)
            or time_problem(row.created_at) or time_problem(row.updated_at)
            or int_problem(row.form_version) or int_problem(row.linked_draft_id, none_ok=True)
        ):
            self._note_damage(scan_values(raw, draft_ids={row.id}))
            epoch = datetime(1970, 1, 1, tzinfo=timezone.utc).astimezone()
            return DraftInfo(
                id=row.id,
                uuid=plain(str(row.uuid)),
                form_id=plain(str(row.form_id)),
                form_version=row.form_version if not int_problem(row.form_version) else 0,
                title=(plain(str(row.title)) + "（名称已损坏）") if text_problem(row.title) else row.title,
                created_at=epoch if time_problem(row.created_at) else to_local(row.created_at),
                updated_at=epoch if time_problem(row.updated_at) else to_local(row.updated_at),
                linked_draft_id=None if int_problem(row.linked_draft_id, none_ok=True) else row.linked_draft_id,
            )
        return DraftInfo(
            id=row.id,
            uuid=row.uuid,
            form_id=row.form_id,
            form_version=row.form_version,
            title=row.title,
            created_at=to_local(row.created_at),
            updated_at=to_local(row.updated_at),
            linked_draft_id=row.linked_draft_id,
        )

    def _json_values(self, raw: sqlite3.Connection, draft_id: int, rows: list[Any]) -> dict[str, Any]:
        """(key, stored JSON text) rows of one draft as a dict; ValuesDamaged if any is unreadable."""
        try:
            out = {key: load_json(text) for key, text in rows}
        except ValueError:
            raise self._unreadable(raw, draft_id) from None
        if any(text_problem(key) for key in out):
            raise self._unreadable(raw, draft_id)
        return out

    def _unreadable(self, raw: sqlite3.Connection, draft_id: int) -> StoreError:
        """A value of this draft did not read back: name every damaged one (and stop writes)."""
        found = scan_values(raw, draft_ids={draft_id})
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
        check_key(form_id, "表单")
        if isinstance(form_version, bool) or not isinstance(form_version, int):
            raise StoreError(f"表单版本号无效：{form_version!r}")
        if not isinstance(title, str):
            raise StoreError("草稿标题必须是文字")
        if uuid is None:
            uuid = str(uuid_module.uuid4())
        elif not isinstance(uuid, str) or not uuid:
            raise StoreError("草稿标识（uuid）不能为空")
        now = now_text()
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
        wanted = canonical_uuid(uuid)
        with self._read() as raw:
            return [self._draft_info(row, raw) for row in self._draft_rows(raw) if canonical_uuid(row.uuid) == wanted]

    def rename_draft(self, draft_id: int, title: str) -> None:
        if not isinstance(title, str):
            raise StoreError("草稿标题必须是文字")
        with self._tx(write=True) as session:
            result = session.exec(
                update(DraftRow)
                .where(col(DraftRow.id) == check_id(draft_id))
                .values(title=title, updated_at=now_text())
            )
            if result.rowcount == 0:
                raise DraftNotFound(draft_id)

    def delete_draft(self, draft_id: int) -> None:
        freed = False
        with self._tx(write=True) as session:
            self._require_draft(session, draft_id)
            shas = set(session.exec(select(EvidenceRow.sha256).where(EvidenceRow.draft_id == draft_id)))
            session.exec(delete(EvidenceRow).where(col(EvidenceRow.draft_id) == draft_id))
            session.exec(delete(AnswerRow).where(col(AnswerRow.draft_id) == draft_id))
            session.exec(delete(MetaRow).where(col(MetaRow.draft_id) == draft_id))
            session.exec(
                update(DraftRow).where(col(DraftRow.linked_draft_id) == draft_id).values(linked_draft_id=None)
            )
            session.exec(delete(DraftRow).where(col(DraftRow.id) == draft_id))
            freed = self._delete_orphan_blobs(session, shas)
        if freed:
            self._release_free_pages()

    def relink_drafts(self, old_id: int, new_id: int) -> int:
        """Point every draft linked to ``old_id`` (e.g. annual reports of an application) at
        ``new_id`` instead; returns how many were re-pointed."""
        with self._tx(write=True) as session:
            self._require_draft(session, new_id)
            result = session.exec(
                update(DraftRow).where(col(DraftRow.linked_draft_id) == check_id(old_id)).values(linked_draft_id=new_id)
            )
            return int(result.rowcount or 0)

    def duplicate_draft(self, draft_id: int, title: str) -> DraftInfo:
        if not isinstance(title, str):
            raise StoreError("草稿标题必须是文字")
        now = now_text()
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
            answers = table_of(AnswerRow)
            session.exec(
                insert(answers).from_select(
                    ["draft_id", "key", "value_json", "note"],
                    select(new_id, AnswerRow.key, AnswerRow.value_json, AnswerRow.note).where(
                        AnswerRow.draft_id == draft_id
                    ),
                )
            )
            session.exec(
                insert(table_of(MetaRow)).from_select(
                    ["draft_id", "key", "value_json"],
                    select(new_id, MetaRow.key, MetaRow.value_json).where(MetaRow.draft_id == draft_id),
                )
            )
            session.exec(
                insert(table_of(EvidenceRow)).from_select(
                    ["draft_id", "key", "option", "filename", "sha256", "added_at", "position"],
                    sa_select(
                        literal(new_id),
                        col(EvidenceRow.key),
                        col(EvidenceRow.option),
                        col(EvidenceRow.filename),
                        col(EvidenceRow.sha256),
                        col(EvidenceRow.added_at),
                        col(EvidenceRow.position),
                    )
                    .where(col(EvidenceRow.draft_id) == draft_id)
                    .order_by(col(EvidenceRow.id)),
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
            check_key(key)
            if note is not None and not isinstance(note, str):
                raise StoreError(f"“{key}”的备注必须是文字")
        pairs: list[dict[str, Any]] = []
        for key, value in values.items():
            check_key(key)
            text = None if value is None else encode_json(value, f"“{key}”")
            pairs.append({"draft_id": draft_id, "key": key, "value_json": text, "note": notes.get(key) or None})
        set_notes = [
            {"draft_id": draft_id, "key": key, "value_json": None, "note": note}
            for key, note in notes.items()
            if key not in values and note
        ]
        cleared_notes = [key for key, note in notes.items() if key not in values and not note]
        check_id(draft_id)
        with self._tx(write=True) as session:
            table = table_of(AnswerRow)
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
                    delete(AnswerRow).where(col(AnswerRow.draft_id) == draft_id, col(AnswerRow.key).in_(emptied))
                )
            if set_notes:
                stmt = sqlite_insert(table)
                conn.execute(
                    stmt.on_conflict_do_update(index_elements=["draft_id", "key"], set_={"note": stmt.excluded.note}),
                    set_notes,
                )
            if cleared_notes:
                mine = (col(AnswerRow.draft_id) == draft_id) & col(AnswerRow.key).in_(cleared_notes)
                session.exec(delete(AnswerRow).where(mine, col(AnswerRow.value_json).is_(None)))
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
            if any(text_problem(key) or text_problem(note) for key, note in rows):
                raise self._unreadable(raw, draft_id)
            return {key: note for key, note in rows if note}

    # ------------------------------------------------------------------ meta

    def set_meta(self, draft_id: int, key: str, value: object) -> None:
        """Save one meta value (any JSON value); ``None`` deletes the key."""
        check_key(key, "信息项")
        text = None if value is None else encode_json(value, f"“{key}”")
        with self._tx(write=True) as session:
            self._touch(session, draft_id)
            if text is None:
                session.exec(delete(MetaRow).where(col(MetaRow.draft_id) == draft_id, col(MetaRow.key) == key))
            else:
                stmt = sqlite_insert(table_of(MetaRow)).values(draft_id=draft_id, key=key, value_json=text)
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
            check_key(key)
        check_id(draft_id)
        with self._tx(write=True) as session:
            row = self._require_draft(session, draft_id)
            for old, new in moves.items():
                if session.get(AnswerRow, (draft_id, new)) is None:
                    session.exec(update(AnswerRow).where(col(AnswerRow.draft_id) == draft_id, col(AnswerRow.key) == old)
                                 .values(key=new))
                session.exec(update(EvidenceRow).where(col(EvidenceRow.draft_id) == draft_id, col(EvidenceRow.key) == old)
                             .values(key=new))
            if retired:
                found = session.exec(select(MetaRow.value_json).where(
                    col(MetaRow.draft_id) == draft_id, col(MetaRow.key) == retired_key)).first()
                kept = load_json(found) if found is not None else {}
                kept = {**(kept if isinstance(kept, dict) else {}), **retired}
                stmt = sqlite_insert(table_of(MetaRow)).values(
                    draft_id=draft_id, key=retired_key, value_json=encode_json(kept, f"“{retired_key}”"))
                session.exec(stmt.on_conflict_do_update(index_elements=["draft_id", "key"],
                                                        set_={"value_json": stmt.excluded.value_json}))
                session.exec(delete(AnswerRow).where(col(AnswerRow.draft_id) == draft_id,
                                                     col(AnswerRow.key).in_(list(retired))))
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
    def _evidence_info(row: EvidenceRow | EvidenceRecord, size: int) -> EvidenceInfo:
        assert row.id is not None
        return EvidenceInfo(
            id=row.id,
            draft_id=row.draft_id,
            key=row.key,
            option=row.option,
            filename=row.filename,
            sha256=row.sha256,
            size=size,
            added_at=to_local(row.added_at),
            position=row.position,
        )

    @staticmethod
    def _check_slot(key: object, option: object) -> None:
        check_key(key)
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
            added_at=now_text(),
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
        filename = base_name(src.name) or "证明材料"
        check_evidence_type(filename)
        digest, size = hash_file(src, evidence_cap())
        check_evidence_type(filename, path=src)
        with self._tx(write=True) as session:
            self._touch(session, draft_id)
            if not self._blob_exists(session, digest):
                self._copy_file_into_blob(self._raw_in(session), src, digest, size)
            return self._link_evidence(session, draft_id, key, option, filename, digest, size)

    def add_evidence_bytes(
        self, draft_id: int, key: str, option: str, filename: str, data: bytes
    ) -> EvidenceInfo:
        self._check_slot(key, option)
        if not isinstance(filename, str) or not base_name(filename):
            raise EvidenceError("证明材料的文件名不能为空")
        filename = base_name(filename)
        data = bytes(data)
        cap = evidence_cap()
        if len(data) > cap:
            raise EvidenceError(
                f"文件“{filename}”太大（{mb(len(data))} MB），单个证明材料不能超过 {mb(cap)} MB"
            )
        digest = hashlib.sha256(data).hexdigest()
        with self._tx(write=True) as session:
            self._touch(session, draft_id)
            check_evidence_type(filename, data=data)
            if not self._blob_exists(session, digest):
                session.exec(insert(table_of(BlobRow)).values(sha256=digest, size=len(data), data=data))
            return self._link_evidence(session, draft_id, key, option, filename, digest, len(data))

    @staticmethod
    def _copy_file_into_blob(raw: sqlite3.Connection, src: Path, digest: str, size: int) -> None:
        """Stream ``src`` into a new blob row; refuse if it no longer matches the first read."""
        changed = EvidenceError(f"文件“{src.name}”在读取时发生了变化，请等它保存完毕后重新添加")
        cursor = raw.execute(
            "INSERT INTO blob (sha256, size, data) VALUES (?, ?, zeroblob(?))", (digest, size, size)
        )
        rowid = cursor.lastrowid
        assert rowid is not None  # an INSERT always sets it
        hasher = hashlib.sha256()
        total = 0
        try:
            with open_regular(src) as fh:  # never blocks on a pipe swapped in after hashing
                with raw.blobopen("blob", "data", rowid) as blob:
                    while chunk := fh.read(CHUNK):
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
                col(BlobRow.sha256).in_(sorted(shas)),
                ~exists().where(col(EvidenceRow.sha256) == BlobRow.sha256),
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
            rows = [(EvidenceRecord(*r[:-1]), r[-1]) for r in raw.execute(
                f"SELECT {EVIDENCE_SELECT}, blob.size FROM evidence JOIN blob ON blob.sha256 = evidence.sha256 "
                'WHERE evidence.draft_id = ? ORDER BY evidence."key", evidence.option, evidence.position, evidence.id',
                (draft_id,))]
            if any(text_problem(row.filename) or text_problem(row.key) or text_problem(row.option)
                   or time_problem(row.added_at) for row, _size in rows):
                raise self._unreadable(raw, draft_id)
            return [self._evidence_info(row, size) for row, size in rows]

    def remove_evidence(self, evidence_id: int) -> None:
        freed = False
        with self._tx(write=True) as session:
            row = session.get(EvidenceRow, check_id(evidence_id))
            if row is None:
                raise EvidenceError(f"证明材料 {evidence_id} 不存在")
            self._touch(session, row.draft_id)
            sha = row.sha256
            session.exec(delete(EvidenceRow).where(col(EvidenceRow.id) == evidence_id))
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
            found_row = raw.execute(f"SELECT {EVIDENCE_SELECT} FROM evidence WHERE id = ?",
                                    (check_id(evidence_id),)).fetchone()
            if found_row is None:
                raise EvidenceError(f"证明材料 {evidence_id} 不存在")
            row = EvidenceRecord(*found_row)
            found = raw.execute("SELECT rowid FROM blob WHERE sha256 = ?", (row.sha256,)).fetchone()
            if found is None:
                raise EvidenceError(f"找不到证明材料“{row.filename}”的内容")
            blob_rowid = found[0]
            name = safe_filename(row.filename)
            for candidate in candidate_names(name):
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
                        while chunk := blob.read(CHUNK):
                            out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
            except BaseException as exc:
                remove_quietly(target)
                if isinstance(exc, OSError):
                    raise EvidenceError(f"写入文件“{target}”失败") from exc
                raise
            return target

    # ------------------------------------------------------------------ snapshots and backups

    def snapshot(self, keep: int = 5) -> Path:
        """Copy the database (backup API) into ``snapshots/`` and keep only the newest ``keep``."""
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise ValueError("keep must be a positive integer")
        with self._lock:
            raw = self._require_raw()
            if raw.in_transaction:  # a copy now would hold half of a transaction
                raise StoreError("内部错误：不能在事务中保存快照")
            target = new_snapshot_path(self._path)
            try:
                backup_into_file(raw, target, self._owner)
            except sqlite3.Error as exc:
                raise translate(exc, self._path) from exc
            except OSError as exc:
                raise StoreError(f"无法保存数据库快照：{target}") from exc
            prune_snapshots(self._path, keep)
            return target

    @staticmethod
    def snapshots_of(db_path: Path | str) -> list[Path]:
        """Snapshots kept beside a database file, newest first; works for a file that won't open."""
        return list_snapshots(Path(db_path))

    def list_snapshots(self) -> list[Path]:
        """Snapshots of this database, newest first."""
        return list_snapshots(self._path)

    def backup(self, out: Path | str) -> Path:
        """Write a consistent copy of the database to ``out`` (atomically)."""
        out = abs_path(out)
        if out.is_dir():
            out = out / f"{self._path.stem}-备份-{datetime.now():%Y%m%d-%H%M%S}.sqlite3"
        if not out.parent.is_dir():
            raise StoreError(f"备份位置的文件夹不存在：{out.parent}")
        if out == self._path:
            raise StoreError("不能把备份写到正在使用的数据库文件上")
        with self._lock:
            raw = self._require_raw()
            try:
                backup_into_file(raw, out, self._owner)
            except sqlite3.Error as exc:
                raise translate(exc, self._path) from exc
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
        require_regular_backup(abs_path(backup_file))  # a pipe or /dev/zero would hang or never end
        restore(abs_path(db_path), abs_path(backup_file))

    @classmethod
    def set_aside(cls, db_path: Path | str) -> Path:
        """Keep a database file that cannot be used (empty, damaged, not ours) under a new name
        beside it, so that the next ``Store.open`` starts a new, empty database.  Nothing is
        deleted or overwritten.  Refuses a file that opens (or one written by a newer version)."""
        return set_aside(abs_path(db_path))

"""Snapshots, backups and restore: the copies of a database, what a restored file must pass, and
its installation in one step."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sqlite3
import stat
import uuid as uuid_module
from datetime import datetime, timedelta
from pathlib import Path

from clusterdesk.fsutil import fsync_dir as _fsync_dir
from clusterdesk.safeio import open_regular

from . import migrations
from .checks import check_blob_hashes, check_ours, inspect_health, load_json, readable, scan_values
from .constants import snapshot_pattern
from .constants import BUSY_TIMEOUT_MS, CHUNK, POSIX, SNAPSHOT_DIR_NAME
from .errors import BackupRefused, DatabaseDamaged, DatabaseTooNew, EvidenceError, StoreError
from .helpers import fsync_path, link_no_replace, make_private_dir, mb, translate
from .helpers import ro_connect
from .locks import Owner, backup_into_file, copy_database, remove_quietly, temp_in


# --------------------------------------------------------------------------- module-level workers


def require_regular_backup(path: Path) -> None:
    try:
        open_regular(path).close()
    except FileNotFoundError as exc:
        raise StoreError(f"找不到备份文件：{path}") from exc
    except OSError as exc:
        raise StoreError(f"无法使用备份文件：{exc}") from exc


def canonical_uuid(text: str) -> str:
    try:
        return str(uuid_module.UUID(text.strip().lower()))
    except (AttributeError, ValueError):
        return text


def check_evidence_type(filename: str, *, path: Path | None = None, data: bytes | None = None) -> None:
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


def hash_file(src: Path, cap: int) -> tuple[str, int]:
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
                    f"文件“{name}”太大（{mb(before.st_size)} MB），单个证明材料不能超过 {mb(cap)} MB"
                )
            hasher = hashlib.sha256()
            total = 0
            while chunk := fh.read(CHUNK):
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


def new_snapshot_path(db_path: Path) -> Path:
    directory = db_path.parent / SNAPSHOT_DIR_NAME
    make_private_dir(directory)
    moment = datetime.now()
    while True:
        candidate = directory / f"{db_path.stem}-{moment:%Y%m%d-%H%M%S-%f}.sqlite3"
        if not candidate.exists():
            return candidate
        moment += timedelta(microseconds=1)


def list_snapshots(db_path: Path) -> list[Path]:
    directory = db_path.parent / SNAPSHOT_DIR_NAME
    pattern = snapshot_pattern(db_path)
    try:
        names = [entry.name for entry in os.scandir(directory) if entry.is_file() and pattern.fullmatch(entry.name)]
    except FileNotFoundError:
        return []
    return [directory / name for name in sorted(names, reverse=True)]


def _pin_path(snapshot: Path) -> Path:
    return snapshot.with_name(snapshot.name + ".keep")


def pin(snapshot: Path) -> None:
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


def pin_latest_snapshot(db_path: Path) -> None:
    """The database was found damaged or empty: the newest snapshot (the state before) is kept."""
    snaps = list_snapshots(db_path)
    if snaps and not _pin_path(snaps[0]).exists():
        pin(snaps[0])


def prune_snapshots(db_path: Path, keep: int) -> None:
    rotating = [snap for snap in list_snapshots(db_path) if not _pin_path(snap).exists()]
    for old in rotating[keep:]:
        for suffix in ("", "-wal", "-shm", "-journal"):
            remove_quietly(Path(str(old) + suffix))


def _raw_copy_snapshot(db_path: Path, owner: Owner | None) -> Path:
    """Byte copy of a database that SQLite cannot read (kept so nothing is ever lost)."""
    target = new_snapshot_path(db_path)
    tmp = temp_in(target.parent, target.name, owner)
    try:
        shutil.copyfile(db_path, tmp)
        fsync_path(tmp)
        wal = Path(str(db_path) + "-wal")
        if wal.exists():
            shutil.copyfile(wal, str(target) + "-wal")
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException:
        remove_quietly(tmp)
        raise
    return target


def set_aside(db_path: Path) -> Path:
    try:
        facts = inspect_health(db_path, check="quick_check", label="数据库文件", allow_recovery=False)
        check_ours(facts, db_path, "数据库文件")
    except DatabaseTooNew:
        raise
    except DatabaseDamaged:
        pass
    else:
        raise StoreError(f"数据库文件可以正常打开，无需另存：{db_path}")
    pin_latest_snapshot(db_path)
    moment = datetime.now()
    while True:
        target = db_path.with_name(f"{db_path.stem}-无法使用-{moment:%Y%m%d-%H%M%S}{db_path.suffix}")
        try:
            link_no_replace(db_path, target)
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
        remove_quietly(Path(str(db_path) + "-shm"))
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
        problems.append(f"备份文件中有本程序不会创建的{what}“{readable(name)[:60]}”")
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
            problem = stored_value_problem(load_json(value_json), cell.field)
        except ValueError:
            problem = "不是有效的数据（格式已损坏）"
        if problem:
            problems.append(f"备份文件中草稿“{title}”（编号 {did}）的“{cell.where}”与表单不符：{problem}")
    return problems


def _restore_problems(staged: Path, version: int) -> list[str]:
    """Everything a restored file could carry that this program would not have written."""
    conn = ro_connect(staged)
    try:
        problems = _schema_problems(conn, version)
        if problems:
            return problems  # nothing else is read from a file with a schema of its own
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
        if rows != ["ok"]:
            return ["备份文件已损坏（完整性检查未通过）"]
        if conn.execute("PRAGMA foreign_key_check").fetchall():
            problems.append("备份文件中有记录引用了不存在的草稿或证明材料")
        problems += ["备份文件中" + item.message().removeprefix("数据库中") for item in scan_values(conn)]
        if problems:
            return problems
        problems += check_blob_hashes(conn)
        problems += _form_value_problems(conn)
        return problems
    except sqlite3.Error:
        return ["备份文件已损坏，无法读取其中的内容"]
    finally:
        conn.close()


def restore(db_path: Path, backup_file: Path) -> None:
    label = "备份文件"
    facts = inspect_health(backup_file, check="quick_check", label=label, allow_recovery=False)
    check_ours(facts, backup_file, label)
    if db_path.exists() and os.path.samefile(db_path, backup_file):
        raise StoreError("备份文件就是当前正在使用的数据库，无需恢复")
    try:
        make_private_dir(db_path.parent)
    except OSError as exc:
        raise StoreError(f"无法创建数据文件夹：{db_path.parent}") from exc
    owner = Owner(db_path, "lock")
    staged: Path | None = None
    try:
        # 1. A private copy of the backup next to the database; every check runs on this copy,
        #    so the file cannot change between the check and the restore.
        staged = temp_in(db_path.parent, db_path.name, owner, "restore")
        source = ro_connect(backup_file)
        try:
            copy_database(source, staged)
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
        raise translate(exc, db_path) from exc
    except OSError as exc:
        raise StoreError(f"恢复数据库失败：{db_path}") from exc
    finally:
        if staged is not None:
            remove_quietly(staged)
            remove_quietly(Path(str(staged) + "-journal"))
        owner.close()


def _install_restored(db_path: Path, staged: Path, owner: Owner) -> None:
    """Snapshot the current database (whatever state it is in), then put the checked copy in place."""
    current_healthy = False
    old_counter = 0
    empty = db_path.exists() and db_path.stat().st_size == 0
    if db_path.exists() and not empty:
        try:
            current = inspect_health(db_path, check="quick_check", label="数据库文件", allow_recovery=False)
            current_healthy = True
            if "store_state" in current.tables:
                probe = ro_connect(db_path)
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
                source = ro_connect(db_path)
                try:
                    backup_into_file(source, new_snapshot_path(db_path), owner)
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
    fsync_path(staged)

    if current_healthy:
        # 2a. Copy into the live database inside one SQLite transaction, so other connections
        #     (even in other processes) stay consistent.
        source = ro_connect(staged)
        target = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            target.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
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
        if POSIX:
            os.chmod(staged, 0o600)
        os.replace(staged, db_path)
        for suffix in ("-wal", "-shm", "-journal"):
            remove_quietly(Path(str(db_path) + suffix))
        _fsync_dir(db_path.parent)

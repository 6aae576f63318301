"""Checking a database file before it is used (integrity, ours, version) and every stored value
when read; damaged values named and repaired."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import stat
import uuid as uuid_module
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from . import migrations
from .constants import (
    BUSY_TIMEOUT_MS,
    CHUNK,
    SQLITE_BUSY,
    SQLITE_CORRUPT,
    SQLITE_LOCKED,
    SQLITE_MAGIC,
    SQLITE_NOTADB,
    SQLITE_READONLY_ROLLBACK,
)
from .errors import DatabaseDamaged, DatabaseEmpty, DatabaseTooNew, StoreError
from .helpers import encode_json, now_text, sqlite_code, sqlite_primary
from .helpers import BadText
from .helpers import ro_connect
from .records import DRAFT_COLUMNS, DamagedValue, EVIDENCE_COLUMNS


# --------------------------------------------------------------------------- inspecting files


@dataclass(frozen=True)
class _DbFacts:
    user_version: int
    application_id: int
    tables: frozenset[str]
    page_size: int


def inspect_health(path: Path, *, check: str, label: str, allow_recovery: bool) -> _DbFacts:
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
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
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
        primary = sqlite_primary(exc)
        if primary in (SQLITE_CORRUPT, SQLITE_NOTADB):
            return DatabaseDamaged(f"{label}已损坏，无法读取：{path}", path)
        if primary in (SQLITE_BUSY, SQLITE_LOCKED):
            return StoreError(f"{label}正被其他程序占用，请稍后重试：{path}")
        return StoreError(f"无法打开{label}：{path}")

    try:
        conn = ro_connect(path)
    except sqlite3.Error as exc:
        raise fail(exc) from exc
    try:
        return run(conn)
    except sqlite3.Error as exc:
        if sqlite_code(exc) == SQLITE_READONLY_ROLLBACK and allow_recovery:
            # A hot rollback journal left by a crash: a normal connection rolls it
            # back (that is SQLite's crash recovery, not a modification we choose).
            conn.close()
            try:
                conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
                return run(conn)
            except sqlite3.Error as exc2:
                raise fail(exc2) from exc2
        raise fail(exc) from exc
    finally:
        conn.close()


def check_ours(facts: _DbFacts, path: Path, label: str) -> None:
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


def _no_constant(name: str) -> Any:
    raise ValueError(name)  # NaN / Infinity: the store never writes them


_JSON = json.JSONDecoder(parse_constant=_no_constant)


def text_problem(value: object, *, empty_ok: bool = True) -> str | None:
    if isinstance(value, BadText):
        return "编码已损坏，不是有效的文字"
    if not isinstance(value, str):
        return "不是文字"
    if not empty_ok and not value:
        return "是空的"
    return None


def _json_problem(value: object) -> str | None:
    problem = text_problem(value)
    if problem:
        return problem
    try:
        _JSON.decode(value)  # type: ignore[arg-type]  # text_problem() returned None: value is a str
    except (ValueError, RecursionError):
        return "不是有效的数据（格式已损坏）"
    return None


def load_json(value: object) -> Any:
    """A stored JSON value; raises ValueError when it does not parse (see _json_problem)."""
    if text_problem(value):
        raise ValueError("not text")
    try:
        return _JSON.decode(value)  # type: ignore[arg-type]  # text_problem() returned None: value is a str
    except RecursionError as exc:
        raise ValueError("too deep") from exc


def time_problem(value: object) -> str | None:
    problem = text_problem(value, empty_ok=False)
    if problem:
        return problem
    try:
        moment = datetime.fromisoformat(value)  # type: ignore[arg-type]  # text_problem() returned None: value is a str
        if not 1 < moment.year < 9999:
            moment.astimezone()  # what to_local does; only the extremes can overflow
    except (ValueError, OverflowError, OSError):
        return "不是有效的时间"
    return None


def int_problem(value: object, *, none_ok: bool = False) -> str | None:
    if value is None and none_ok:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        return "不是整数"
    return None


_SHA_RE = re.compile(r"[0-9a-f]{64}")


def readable(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return str(value)


def scan_values(raw: sqlite3.Connection, *, draft_ids: set[int] | None = None) -> list[DamagedValue]:
    """Every stored value that does not read back as the store writes it.

    Reads everything but the evidence bytes (their sizes are checked; ``check_blob_hashes`` reads
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
        found.append(DamagedValue(table, did, plain(title) or "（名称无法读取）", form_id, key, reason,
                                  readable(raw_value), rowid, column))

    rows = raw.execute("SELECT rowid, id, uuid, form_id, form_version, title, created_at, updated_at, "
                       "linked_draft_id FROM draft ORDER BY id").fetchall()
    for rowid, did, uuid, form_id, version, title, created, updated, linked in rows:
        titles[did] = (readable(title), readable(form_id))
    for rowid, did, uuid, form_id, version, title, created, updated, linked in rows:
        if not wanted(did):
            continue
        checks = {"uuid": text_problem(uuid, empty_ok=False), "form_id": text_problem(form_id, empty_ok=False),
                  "form_version": int_problem(version), "title": text_problem(title),
                  "created_at": time_problem(created), "updated_at": time_problem(updated),
                  "linked_draft_id": int_problem(linked, none_ok=True)}
        values = {"uuid": uuid, "form_id": form_id, "form_version": version, "title": title,
                  "created_at": created, "updated_at": updated, "linked_draft_id": linked}
        for column, problem in checks.items():
            if problem:
                add("draft", did, DRAFT_COLUMNS[column], problem, values[column], rowid, column)

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
        name = readable(key)
        problem = int_problem(did) or text_problem(key, empty_ok=False)
        if problem:
            add("answer", did, name, f"栏目名称{problem}", key, rowid, "key")
            continue
        if value_json is not None and (problem := _json_problem(value_json)):
            add("answer", did, name, problem, value_json, rowid, "value_json")
        if note is not None and (problem := text_problem(note)):
            add("note", did, name, problem, note, rowid, "note")

    for rowid, did, key, value_json, valid in raw.execute(
            'SELECT rowid, draft_id, "key", value_json, typeof(value_json) = \'text\' AND json_valid(value_json) '
            'FROM draft_meta ORDER BY draft_id, "key"'):
        if type(did) is int and type(key) is str and key and valid and type(value_json) is str:
            continue
        if not wanted(did):
            continue
        problem = int_problem(did) or text_problem(key, empty_ok=False) or _json_problem(value_json)
        if problem:
            add("meta", did, readable(key), problem, value_json, rowid, "value_json")

    for rowid, _eid, did, key, option, filename, sha, added, position in raw.execute(
            'SELECT rowid, id, draft_id, "key", option, filename, sha256, added_at, position FROM evidence '
            "ORDER BY id"):
        if not wanted(did):
            continue
        if (type(did) is int and type(key) is str and key and type(option) is str and type(filename) is str
                and filename and type(sha) is str and _SHA_RE.fullmatch(sha) and type(position) is int
                and not time_problem(added)):
            continue
        shown = readable(filename)
        checks = {"draft_id": int_problem(did), "key": text_problem(key, empty_ok=False),
                  "option": text_problem(option), "filename": text_problem(filename, empty_ok=False),
                  "sha256": None if isinstance(sha, str) and _SHA_RE.fullmatch(sha) else "不是有效的内容标识",
                  "added_at": time_problem(added), "position": int_problem(position)}
        values = {"draft_id": did, "key": key, "option": option, "filename": filename, "sha256": sha,
                  "added_at": added, "position": position}
        for column, problem in checks.items():
            if problem:
                add("evidence", did, f"证明材料“{shown}”的{EVIDENCE_COLUMNS[column]}", problem, values[column],
                    rowid, column)

    if draft_ids is None:
        for rowid, sha, size, kind, length in raw.execute(
                "SELECT rowid, sha256, size, typeof(data), length(data) FROM blob ORDER BY rowid"):
            ok_sha = isinstance(sha, str) and _SHA_RE.fullmatch(sha)
            if not ok_sha or kind != "blob" or int_problem(size) or size != length:
                add("blob", None, f"证明材料的内容（{readable(sha)[:12]}）", "大小与内容不符或标识无效",
                    "", rowid, "data")
        state = raw.execute("SELECT id, data_version FROM store_state").fetchall()
        if len(state) != 1 or state[0][0] != 1 or int_problem(state[0][1]):
            add("state", None, "修改计数", "记录缺失或不是整数", repr(state)[:100], 0, "data_version")
    return found


def check_blob_hashes(raw: sqlite3.Connection) -> list[str]:
    """SHA-256 of every stored evidence file against its name; one Chinese line per mismatch."""
    problems = []
    for rowid, sha in raw.execute("SELECT rowid, sha256 FROM blob ORDER BY rowid").fetchall():
        hasher = hashlib.sha256()
        with raw.blobopen("blob", "data", rowid, readonly=True) as blob:
            while chunk := blob.read(CHUNK):
                hasher.update(chunk)
        if hasher.hexdigest() != sha:
            problems.append(f"证明材料的内容（{str(sha)[:12]}）与其校验值不符，文件内容已损坏")
    return problems


_ASIDE_KEY = "damaged_values"
_CLEARED = "已清空，原内容另存在该草稿的信息项“damaged_values”中"


def plain(text: str) -> str:
    """The readable part of damaged text, each unreadable byte shown as U+FFFD."""
    return re.sub(r"(\\x[0-9a-f]{2})+", "\ufffd", text)


def repair_one(raw: sqlite3.Connection, item: DamagedValue) -> str:
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
        fixes = {"title": plain(item.raw) or "（名称已损坏）", "uuid": str(uuid_module.uuid4()),
                 "form_id": plain(item.raw) or "未知表单", "form_version": 1, "created_at": now_text(),
                 "updated_at": now_text(), "linked_draft_id": None}
        raw.execute(f"UPDATE draft SET {column} = ? WHERE rowid = ?", (fixes[column], rowid))
        return f"已改为“{fixes[column]}”，原内容另存在该草稿的信息项“damaged_values”中"
    if item.table == "evidence":
        if column in ("draft_id", "sha256"):
            raw.execute("DELETE FROM evidence WHERE rowid = ?", (rowid,))
            return "已移除这条证明材料记录（修复前的快照中仍保存着它）"
        fixes = {"key": plain(item.raw) or "?", "option": plain(item.raw), "filename": plain(item.raw) or "证明材料",
                 "added_at": now_text(), "position": 0}
        raw.execute(f"UPDATE evidence SET {column} = ? WHERE rowid = ?", (fixes[column], rowid))
        return f"已改为“{fixes[column]}”"
    if item.table == "blob":
        row = raw.execute("SELECT sha256, typeof(data) FROM blob WHERE rowid = ?", (rowid,)).fetchone()
        if row is not None and row[1] == "blob" and isinstance(row[0], str):
            hasher = hashlib.sha256()
            with raw.blobopen("blob", "data", rowid, readonly=True) as blob:
                while chunk := blob.read(CHUNK):
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


def keep_aside(raw: sqlite3.Connection, draft_id: int, entries: list[dict[str, str]]) -> None:
    """Append the stored texts of a draft's damaged values to its meta ``damaged_values``."""
    if raw.execute("SELECT 1 FROM draft WHERE id = ?", (draft_id,)).fetchone() is None:
        return  # no such draft: the snapshot taken before the repair keeps the text
    row = raw.execute('SELECT value_json FROM draft_meta WHERE draft_id = ? AND "key" = ?',
                      (draft_id, _ASIDE_KEY)).fetchone()
    kept: list[Any] = []
    if row is not None:
        try:
            old = load_json(row[0])
            kept = old if isinstance(old, list) else [old]
        except ValueError:
            kept = [readable(row[0])]
    text = encode_json(kept + entries, "损坏内容的记录")
    raw.execute('INSERT INTO draft_meta (draft_id, "key", value_json) VALUES (?, ?, ?) '
                'ON CONFLICT (draft_id, "key") DO UPDATE SET value_json = excluded.value_json',
                (draft_id, _ASIDE_KEY, text))

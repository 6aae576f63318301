"""Small helpers of the store: times, JSON, ids, SQLite's errors in Chinese, file system steps."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from datetime import datetime, timezone
from pathlib import Path

from .constants import (
    EVIDENCE_MAX_BYTES,
    POSIX,
    SQLITE_BUSY,
    SQLITE_CANTOPEN,
    SQLITE_CORRUPT,
    SQLITE_FULL,
    SQLITE_IOERR,
    SQLITE_LOCKED,
    SQLITE_NOTADB,
    SQLITE_PERM,
    SQLITE_READONLY,
)
from .constants import BUSY_TIMEOUT_MS
from .errors import DatabaseDamaged, StoreError


# --------------------------------------------------------------------------- small helpers


def now_text() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def to_local(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone()


def abs_path(path: Path | str) -> Path:
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def evidence_cap() -> int:
    # Honour a patched cap on either this module or the package namespace.
    cap = EVIDENCE_MAX_BYTES
    package = sys.modules.get(__package__ or "")
    if package is not None:
        cap = min(cap, getattr(package, "EVIDENCE_MAX_BYTES", cap))
    return cap


def mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}"


def encode_json(value: object, what: str) -> str:
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


def check_key(key: object, what: str = "字段") -> str:
    if not isinstance(key, str) or not key:
        raise StoreError(f"{what}名称不能为空")
    return key


def check_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise StoreError(f"无效的编号：{value!r}")
    return value


def sqlite_code(exc: BaseException) -> int | None:
    orig = getattr(exc, "orig", None) or exc
    code = getattr(orig, "sqlite_errorcode", None)
    return code if isinstance(code, int) else None


def sqlite_primary(exc: BaseException) -> int | None:
    """The primary result code of a sqlite3/SQLAlchemy error (SQLITE_BUSY for SQLITE_BUSY_SNAPSHOT …)."""
    code = sqlite_code(exc)
    return code & 0xFF if code is not None else None


def translate(exc: BaseException, path: Path) -> StoreError:
    """Turn a sqlite3/SQLAlchemy error into a StoreError with a Chinese message."""
    primary = sqlite_primary(exc)
    if primary in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return DatabaseDamaged(f"数据库文件已损坏，无法继续读写：{path}", path)
    if primary in (SQLITE_BUSY, SQLITE_LOCKED):
        return StoreError(f"数据库正被其他程序占用，请稍后重试：{path}")
    if primary == SQLITE_FULL:
        return StoreError(f"磁盘空间不足，无法保存到数据库：{path}")
    if primary == SQLITE_READONLY:
        return StoreError(f"数据库文件是只读的，无法保存：{path}")
    if primary in (SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_PERM):
        return StoreError(f"读写数据库文件失败，请检查磁盘和文件权限：{path}")
    return StoreError(f"数据库操作失败：{path}")


def fsync_path(path: Path) -> None:
    """Flush a file's contents to disk (opened read-write: Windows cannot flush read-only handles)."""
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)




def link_no_replace(src: Path, dest: Path) -> None:
    """Give ``src`` the name ``dest``; FileExistsError if ``dest`` exists (never replaces it)."""
    if not POSIX:  # pragma: no cover - Windows: rename never replaces an existing file
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


def make_private_dir(path: Path) -> None:
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
    if POSIX:
        for created in missing:
            try:
                os.chmod(created, 0o700)
            except OSError:
                pass


def ro_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                           isolation_level=None, check_same_thread=False)
    conn.text_factory = decode_text
    try:
        # A file from elsewhere may carry a schema of its own: never run functions it names.
        conn.execute("PRAGMA trusted_schema = OFF")
    except sqlite3.Error:
        pass
    return conn


def decode_text(data: bytes) -> str:
    """The connections' text factory: never fails, marks text that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return BadText(data.decode("utf-8", "backslashreplace"))


class BadText(str):
    """Stored text that is not valid UTF-8: the readable part, bad bytes shown as ``\\xNN``."""

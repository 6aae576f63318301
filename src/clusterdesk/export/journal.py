"""The publish journal: the record of a set of files being moved into a folder, and the recovery
of a publish a crashed process left (completed after the commit point, rolled back before it).
``publish.py`` writes journals; ``leftovers.py`` (the sweep at start and before each export) and
``publish.py`` recover them. It imports nothing of the export package, so both can use it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from clusterdesk.fsutil import fsync_dir, replace_with_retry

JOURNAL = "journal.json"
STAGE = "new"
BACKUP = "old"
_FORMAT = "clusterdesk-publish"
_JOURNAL_MAX_BYTES = 8 * 1024 * 1024
_CHUNK = 1024 * 1024
NOT_A_FILE = "not-a-regular-file"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def state_of(path: Path) -> str | None:
    """SHA-256 of a regular file, None if nothing is there, a marker for anything else."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    if not is_regular(st.st_mode):
        return NOT_A_FILE
    return sha256_of(path)


def is_regular(mode: int) -> bool:
    return stat.S_ISREG(mode)


def safe_relative(text: object) -> PurePosixPath | None:
    """A relative path that stays inside its folder (no absolute path, drive, '..', NUL)."""
    if not isinstance(text, str) or not text or len(text) > 1000 or "\\" in text or "\x00" in text:
        return None
    parts = text.split("/")  # PurePosixPath would quietly drop "." and doubled slashes
    if any(part in ("", ".", "..") or ":" in part for part in parts):
        return None
    return PurePosixPath(*parts)


def under(base: Path, rel: PurePosixPath) -> Path:
    return base.joinpath(*rel.parts)


@dataclass(frozen=True)
class Op:
    path: str
    new: str | None  # SHA-256 of the file moved in; None: the destination file is removed
    old: str | None  # what the destination held at the commit point (None: nothing)


# ----------------------------------------------------------------------------- moving


def _rename(src: Path, dst: Path) -> None:
    """A rename to a name that is free (retried briefly on Windows, where a virus scanner may hold
    a file it has just seen written)."""
    replace_with_retry(str(src), dst)


def forward(root: Path, dest: Path, op: Op, kept: list[str]) -> None:
    rel = safe_relative(op.path)
    if rel is None:
        return
    dst, staged, backup = under(dest, rel), under(root / STAGE, rel), under(root / BACKUP, rel)
    if op.new is not None and not staged.exists():
        return  # moved in already
    if op.new is None and os.path.lexists(backup):
        return  # removed already
    if os.path.lexists(dst):
        if os.path.lexists(backup) or state_of(dst) != op.old:
            kept.append(op.path)  # changed since the commit point: keep it, drop ours
            return
        backup.parent.mkdir(parents=True, exist_ok=True)
        _rename(dst, backup)
    if op.new is not None:
        dst.parent.mkdir(parents=True, exist_ok=True)
        _rename(staged, dst)


def backward(root: Path, dest: Path, op: Op) -> None:
    rel = safe_relative(op.path)
    if rel is None:
        return
    dst, staged, backup = under(dest, rel), under(root / STAGE, rel), under(root / BACKUP, rel)
    if op.new is not None and not os.path.lexists(staged) and state_of(dst) == op.new:
        staged.parent.mkdir(parents=True, exist_ok=True)
        _rename(dst, staged)
    if os.path.lexists(backup) and not os.path.lexists(dst):
        dst.parent.mkdir(parents=True, exist_ok=True)
        _rename(backup, dst)


def remove_empty_dirs(dest: Path, rels: Iterable[str]) -> None:
    """rmdir the given folders (deepest first) where they are empty; never anything else."""
    paths = [p for p in (safe_relative(r) for r in rels) if p is not None]
    for rel in sorted(paths, key=lambda p: len(p.parts), reverse=True):
        d = under(dest, rel)
        with contextlib.suppress(OSError):
            if d.is_dir() and not d.is_symlink():
                d.rmdir()


def write_journal(root: Path, data: dict[str, Any]) -> None:
    tmp = root / (JOURNAL + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / JOURNAL)
    fsync_dir(root)


def read_journal(root: Path) -> dict[str, Any] | None:
    path = root / JOURNAL
    try:
        if path.is_symlink() or path.stat().st_size > _JOURNAL_MAX_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != _FORMAT or data.get("state") not in ("commit", "rollback"):
        return None
    ops = data.get("ops")
    if not isinstance(ops, list):
        return None
    clean: list[Op] = []
    for o in ops:
        if not isinstance(o, dict) or safe_relative(o.get("path")) is None:
            return None
        new, old = o.get("new"), o.get("old")
        if not (new is None or isinstance(new, str)) or not (old is None or isinstance(old, str)):
            return None
        clean.append(Op(o["path"], new, old))
    data["ops"] = clean
    for key in ("dirs", "prune"):
        data[key] = [d for d in data.get(key) or [] if safe_relative(d) is not None]
    return data


def journal_data(state: str, ops: list[Op], dirs: list[str], prune: list[str]) -> dict[str, Any]:
    return {"format": _FORMAT, "version": 1, "state": state, "dirs": dirs, "prune": prune,
            "ops": [{"path": o.path, "new": o.new, "old": o.old} for o in ops]}


def fsync_tree(top: Path) -> None:
    """Flush every file and folder under ``top`` (the set must be on disk before the journal)."""
    for root, dirs, files in os.walk(top):
        for name in files:
            p = os.path.join(root, name)
            with contextlib.suppress(OSError):
                fd = os.open(p, os.O_RDWR | getattr(os, "O_BINARY", 0))
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        fsync_dir(Path(root))


def fsync_parents(dest: Path, ops: Iterable[Op]) -> None:
    seen: set[Path] = set()
    for op in ops:
        rel = safe_relative(op.path)
        if rel is None:
            continue
        d = under(dest, rel).parent
        while d not in seen and (d == dest or dest in d.parents):
            seen.add(d)
            fsync_dir(d)
            d = d.parent


def finish(root: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(root / JOURNAL)
    fsync_dir(root)


def recover(root: Path) -> str | None:
    """Complete or roll back the publish a crashed process left in ``root`` (a private publish
    folder inside its destination). Returns a Chinese note, or None if there was nothing to do
    (no journal: the destination was never touched). The caller removes ``root`` afterwards."""
    data = read_journal(root)
    if data is None:
        return None
    dest = root.parent
    ops: list[Op] = data["ops"]
    kept: list[str] = []
    if data["state"] == "commit":
        for op in ops:
            forward(root, dest, op, kept)
        remove_empty_dirs(dest, data["prune"])
        note = f"上次向“{dest}”写入文件时程序意外中断，已补全那次写入的 {len(ops)} 个文件"
    else:
        for op in reversed(ops):
            backward(root, dest, op)
        remove_empty_dirs(dest, data["dirs"])
        note = f"上次向“{dest}”写入文件时程序意外中断，已撤销那次未完成的写入，文件夹恢复原样"
    fsync_parents(dest, ops)
    finish(root)
    if kept:
        note += "；以下文件在中断后被修改过，已保留原文件：" + "、".join(kept)
    return note

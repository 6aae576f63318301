"""Lock files and temporaries: which files a living process holds, and the clean-up of what a
killed one left."""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from clusterdesk.fsutil import fsync_dir as _fsync_dir

from .constants import snapshot_pattern
from .constants import POSIX, SNAPSHOT_DIR_NAME
from .helpers import fsync_path


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
        if POSIX:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        elif sys.platform == "win32":  # pragma: no cover - Windows
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


class Owner:
    """The lock file of this process's work on one database (see above)."""

    def __init__(self, db_path: Path, tag: str) -> None:
        self.db_path = db_path
        self.path: Path | None = None
        self._fd = -1
        for _attempt in range(20):
            self.token = secrets.token_hex(8)
            final = db_path.parent / f".{db_path.name}.~{tag}-{self.token}"
            # POSIX: lock under a "pending" name, then rename, so no sweep ever sees it unlocked.
            first = db_path.parent / f".{db_path.name}.~pending-{self.token}" if POSIX else final
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
        if not POSIX:  # pragma: no cover - Windows cannot delete a file that is still open
            os.close(fd)
            remove_quietly(path)
            return
        remove_quietly(path)  # still locked while it goes: no sweep can take it for a leftover
        os.close(fd)


@dataclass
class _Sweep:
    """What the start-up sweep found: lock files of stores that were not closed (unclean shutdown)."""

    stale_markers: list[Path]

    def clear(self) -> None:
        for marker in self.stale_markers:
            remove_quietly(marker)


def sweep_leftovers(db_path: Path) -> _Sweep:
    """Remove the temporaries and lock files that dead processes left beside ``db_path`` (and in
    its snapshot folder); report the lock files of stores that were never closed (kept until the
    full check after the unclean shutdown has passed)."""
    folder = db_path.parent
    snap_pattern = snapshot_pattern(db_path)
    found: list[tuple[Path, re.Match[str], bool]] = []
    for directory, in_snapshots in ((folder, False), (folder / SNAPSHOT_DIR_NAME, True)):
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
                remove_quietly(path)
    for path, m, in_snapshots in found:
        if (m["tag"] not in _LOCK_TAGS or m["side"]) and m["token"] not in live:
            remove_quietly(path)
    return _Sweep(stale)


def temp_in(directory: Path, final_name: str, owner: Owner | None, tag: str = "tmp") -> Path:
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
                remove_quietly(path)
            continue
        os.close(fd)
        return path
    raise FileExistsError(directory / final_name)


def remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError:
        pass


def copy_database(source: sqlite3.Connection, target_path: Path) -> None:
    """Copy ``source`` with the SQLite backup API into the (empty) file ``target_path``, as one
    self-contained rollback-journal file, flushed to disk."""
    target = sqlite3.connect(target_path, isolation_level=None)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE").fetchall()
    finally:
        target.close()
    fsync_path(target_path)


def backup_into_file(source: sqlite3.Connection, dest: Path, owner: Owner | None) -> None:
    """Copy ``source`` with the SQLite backup API into ``dest`` atomically (temp file + os.replace)."""
    tmp = temp_in(dest.parent, dest.name, owner)
    try:
        copy_database(source, tmp)
        os.replace(tmp, dest)
        _fsync_dir(dest.parent)
    except BaseException:
        remove_quietly(tmp)
        remove_quietly(Path(str(tmp) + "-journal"))
        raise

"""Temporary files the program can prove are its own, and their clean-up after a crash.

Every temporary file or folder the program makes (``atomic_write``'s temporary file beside its
target, a publish folder inside an export folder, a compile's build folder, the private scratch
folder in the system temp folder that holds openpyxl's spool files and LibreOffice's profile and
temp files) is named::

    .~clusterdesk-<host>-<pid>-<random>[.<what>]

``<host>`` is a short hash of this computer's name, ``<pid>`` the id of the process that made it
and ``<random>`` tempfile's 8 random characters. A SIGKILL or a power cut leaves such entries
behind; :func:`sweep_folder` removes those whose process is gone (same computer: the process id no
longer runs; another computer sharing the folder: older than a day). Nothing else is ever deleted:
not a file with another name, not a symbolic link, not an entry of a live process.

Where the leftovers are cleaned:

* at the next export, compile or ``atomic_write`` into the same folder (:func:`sweep_folder`);
* at the next start of the program (:func:`startup_cleanup`, called by the command line and the
  GUI): the system temp folder, the data folder (the store's own temporary files), and every
  folder a killed process was writing to. Before a
  process creates a temporary entry in a user's folder it writes a small record naming that folder
  into ``<data folder>/unfinished-writes/``, and removes it when done, so after a crash the next
  start knows where to look without keeping a list of every folder the user ever exported to.

A publish folder that holds a journal is completed or rolled back, not just deleted (publish.py).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import shutil
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from clusterdesk.logs import log
from clusterdesk.fsutil import HOST_TAG, TEMP_PREFIX, owned_prefix, owner_of

from .journal import recover

__all__ = ["PREFIX", "SweepReport", "configure", "forget", "hide", "inside_ours", "is_ours", "owned_prefix",
           "pid_alive", "remember", "remove_tree", "scratch_dir", "spool_file", "startup_cleanup", "sweep_folder",
           "unhide"]

PREFIX = TEMP_PREFIX
#: An entry from another computer sharing the folder is considered abandoned after this long.
OTHER_HOST_AGE_SECONDS = 24 * 3600
#: A record of a folder that cannot be reached (a network drive) is dropped after this long.
RECORD_MAX_AGE_SECONDS = 30 * 24 * 3600
RECORDS_DIR = "unfinished-writes"
_RECORD_MAX_BYTES = 64 * 1024


# ----------------------------------------------------------------------------- names and owners


def is_ours(name: str) -> bool:
    """Whether ``name`` is a temporary entry name made by this program (any process)."""
    return owner_of(name) is not None


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this computer (a reused id counts as running)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    if sys.platform == "win32":
        return _win_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    return True


def _win_pid_alive(pid: int) -> bool:  # pragma: no cover - Windows only
    if sys.platform != "win32":  # called only there; this also tells mypy the ctypes names below exist
        raise OSError("Windows only")
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.OpenProcess.restype = wintypes.HANDLE
    kernel32.OpenProcess.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
    kernel32.GetExitCodeProcess.argtypes = (wintypes.HANDLE, ctypes.POINTER(wintypes.DWORD))
    kernel32.CloseHandle.argtypes = (wintypes.HANDLE,)
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.get_last_error() == 5  # ERROR_ACCESS_DENIED: it exists
    try:
        code = wintypes.DWORD()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def _abandoned(entry: os.DirEntry | Path, name: str, now: float) -> bool:
    """Ours, and its process is gone (see the module docstring)."""
    owner = owner_of(name)
    if owner is None:
        return False
    host, pid = owner
    if host == HOST_TAG:
        return not pid_alive(pid)
    try:
        st = entry.stat(follow_symlinks=False) if isinstance(entry, os.DirEntry) else entry.lstat()
    except OSError:
        return False
    return now - st.st_mtime > OTHER_HOST_AGE_SECONDS


def hide(path: Path) -> None:
    """Mark a temporary folder hidden on Windows (the leading dot does that elsewhere)."""
    if sys.platform != "win32":
        return
    try:  # pragma: no cover - Windows only
        import ctypes

        attrs = ctypes.windll.kernel32.GetFileAttributesW(str(path))
        if attrs != -1:
            ctypes.windll.kernel32.SetFileAttributesW(str(path), attrs | 0x2)
    except Exception:  # cosmetic only
        pass


def unhide(path: Path) -> None:
    if sys.platform != "win32":
        return
    try:  # pragma: no cover - Windows only
        import ctypes

        attrs = ctypes.windll.kernel32.GetFileAttributesW(str(path))
        if attrs != -1 and attrs & 0x2:
            ctypes.windll.kernel32.SetFileAttributesW(str(path), attrs & ~0x2)
    except Exception:
        pass


# ----------------------------------------------------------------------------- the scratch folder


_SCRATCH: contextvars.ContextVar[Path | None] = contextvars.ContextVar("clusterdesk_scratch", default=None)


@contextlib.contextmanager
def scratch_dir(what: str = "scratch") -> Iterator[Path]:
    """A private folder in the system temp folder, removed when the block ends (and, after a
    crash, at the next start or the next use of a scratch folder: each use first clears what
    killed processes left there). openpyxl's spool files made inside the block go there too."""
    temp = Path(tempfile.gettempdir())
    sweep_folder(temp)
    path = Path(tempfile.mkdtemp(prefix=owned_prefix(), suffix=f".{what}", dir=temp))
    token = _SCRATCH.set(path)
    try:
        yield path
    finally:
        _SCRATCH.reset(token)
        shutil.rmtree(path, ignore_errors=True)


def spool_file(suffix: str = "") -> str:
    """A new empty file for openpyxl's worksheet spool: in the current scratch folder, else in the
    system temp folder under this program's name (so a crash leftover can be found)."""
    where = _SCRATCH.get()
    if where is not None and where.is_dir():
        fd, name = tempfile.mkstemp(prefix="openpyxl.", suffix=suffix, dir=where)
    else:
        fd, name = tempfile.mkstemp(prefix=owned_prefix(), suffix=f".openpyxl{suffix}")
    os.close(fd)
    return name


# ----------------------------------------------------------------------------- records of folders


_DATA_DIR: Path | None = None
_LOCK = threading.Lock()


def configure(data_dir: Path | str | None) -> None:
    """Where records of folders being written go (the data folder); None switches them off."""
    global _DATA_DIR
    _DATA_DIR = Path(data_dir) if data_dir is not None else None


def remember(folder: Path, data_dir: Path | None = None) -> Path | None:
    """Record that this process is about to leave temporary entries in ``folder``. Returns the
    record (pass it to :func:`forget`), or None when no data folder is set or it can't be written:
    the record only speeds up the clean-up, the next write to the folder cleans it anyway."""
    base = data_dir if data_dir is not None else _DATA_DIR
    if base is None or inside_ours(folder):
        return None
    records = base / RECORDS_DIR
    try:
        records.mkdir(mode=0o700, parents=False, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=owned_prefix(), suffix=".json", dir=records)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"folder": str(Path(folder).absolute())}, fh, ensure_ascii=False)
        return Path(name)
    except OSError:
        return None


def forget(record: Path | None) -> None:
    if record is not None:
        with contextlib.suppress(OSError):
            os.unlink(record)


def inside_ours(folder: Path) -> bool:
    """Whether ``folder`` is, or is inside, one of this program's temporary folders."""
    return any(is_ours(part) for part in Path(folder).parts)


# ----------------------------------------------------------------------------- sweeping


@dataclass
class SweepReport:
    """What a clean-up did; ``notes`` are Chinese lines for the user (publishes completed or undone)."""

    removed: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, other: "SweepReport") -> None:
        self.removed += other.removed
        self.notes.extend(other.notes)


def sweep_folder(folder: Path | str) -> SweepReport:
    """Remove this program's abandoned temporary entries directly inside ``folder``; a publish
    folder with a journal is completed or rolled back first. Never raises for I/O problems."""
    report = SweepReport()
    folder = Path(folder)
    now = time.time()
    try:
        entries = [e for e in os.scandir(folder) if e.name.startswith(PREFIX)]
    except OSError:
        return report
    for entry in entries:
        if not _abandoned(entry, entry.name, now):
            continue
        path = Path(entry.path)
        try:
            if entry.is_symlink():
                continue  # we never make links: not ours
            if entry.is_dir(follow_symlinks=False):
                note = recover(path)
                if note:
                    report.notes.append(note)
                remove_tree(path)
            elif entry.is_file(follow_symlinks=False):
                os.unlink(path)
            else:
                continue
            report.removed += 1
        except OSError:
            continue
    return report


def remove_tree(path: Path) -> None:
    """shutil.rmtree that also removes read-only files; OSError if something stays."""
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():  # read-only files (Windows): make everything writable and try again
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                p = os.path.join(root, name)
                if not os.path.islink(p):  # never follow a link out of our folder
                    with contextlib.suppress(OSError):
                        os.chmod(p, stat.S_IWRITE | stat.S_IREAD | stat.S_IEXEC)
        shutil.rmtree(path, ignore_errors=True)
    if path.exists():
        raise OSError(f"could not remove {path}")


def _sweep_records(data_dir: Path, report: SweepReport) -> None:
    records = data_dir / RECORDS_DIR
    now = time.time()
    try:
        entries = [e for e in os.scandir(records) if _abandoned(e, e.name, now) and e.is_file(follow_symlinks=False)]
    except OSError:
        return
    for entry in entries:
        path = Path(entry.path)
        folder: Path | None = None
        try:
            if entry.stat().st_size <= _RECORD_MAX_BYTES:
                data = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(data, dict) and isinstance(data.get("folder"), str):
                    folder = Path(data["folder"])
        except (OSError, ValueError):
            folder = None
        if folder is not None and folder.is_absolute():
            try:
                reachable = folder.is_dir()
                gone = not reachable and not folder.exists()
            except OSError:
                reachable = gone = False
            if reachable:
                report.add(sweep_folder(folder))
            elif not gone:
                try:
                    if now - entry.stat().st_mtime < RECORD_MAX_AGE_SECONDS:
                        continue  # a network drive that is away today: try at a later start
                except OSError:
                    continue
        with contextlib.suppress(OSError):
            os.unlink(path)


_STARTED: set[Path] = set()


def startup_cleanup(data_dir: Path | str | None) -> SweepReport:
    """Run once at program start (the command line and the GUI both call it): remember the data
    folder for later records, then clean the system temp folder and every folder a crashed process
    of this program was writing to. Runs once per process and data folder; never raises."""
    report = SweepReport()
    base = Path(data_dir).absolute() if data_dir is not None else None
    with _LOCK:
        if base is not None:
            configure(base)
        key = base or Path()
        if key in _STARTED:
            return report
        _STARTED.add(key)
    try:
        report.add(sweep_folder(Path(tempfile.gettempdir())))
        if base is not None:
            for own in (base, base / "snapshots"):  # the store's and the settings' temporary files
                report.add(sweep_folder(own))
            _sweep_records(base, report)
    except Exception:  # a clean-up must never stop the program from starting
        log.exception("startup clean-up failed")
    return report

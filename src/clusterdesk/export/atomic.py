"""Atomic file output for every exporter.

``atomic_write`` writes into a temporary file in the destination folder,
flushes and fsyncs it, then renames it over the final name with
:func:`os.replace`.  If anything fails the temporary file is deleted, so a
half-written file never appears under the final name and an existing file
of that name is left untouched.  The temporary file is named
``.~clusterdesk-<host>-<pid>-<random>.<name>.tmp`` (leftovers.py): if the
process is killed, the next write into that folder, or the next start of the
program, removes it.  Sets of files are published with publish.py.

Errors that a user can act on (missing folder, no permission, disk full,
file open in Word/WPS on Windows) are raised as :class:`ExportWriteError`
whose ``str()`` is a Simplified Chinese message ready for a dialog.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from clusterdesk.errors import ClusterDeskError
from clusterdesk.fsutil import fsync_dir as _fsync_dir
from clusterdesk.fsutil import replace_with_retry

from .leftovers import forget, owned_prefix, remember, sweep_folder

__all__ = ["ExportError", "ExportWriteError", "atomic_write", "describe_os_error", "replace_error", "replace_with_retry"]


class ExportError(ClusterDeskError):
    """Base class of all export errors; ``str(err)`` is a user-facing message
    in Simplified Chinese."""


class ExportWriteError(ExportError):
    """The export file could not be written.

    Attributes: ``path`` (folder or file concerned), ``reason`` (Chinese
    reason text) and ``errno`` (the OS error number or ``None``).
    """

    def __init__(self, message: str, path: Path, reason: str, err_no: int | None = None):
        super().__init__(message)
        self.path = path
        self.reason = reason
        self.errno = err_no

    @classmethod
    def for_folder(cls, folder: Path, reason: str, err_no: int | None = None) -> ExportWriteError:
        return cls(f"无法写入导出文件夹：{folder}（{reason}）", folder, reason, err_no)

    @classmethod
    def for_file(cls, path: Path, reason: str, err_no: int | None = None) -> ExportWriteError:
        return cls(f"无法保存导出文件：{path}（{reason}）", path, reason, err_no)


# errno values that mean "the medium cannot take the data" when raised while
# writing the temporary file; these are converted to ExportWriteError.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EIO, getattr(errno, "EDQUOT", errno.ENOSPC)}


def describe_os_error(exc: OSError) -> str:
    """Short Chinese reason for an OSError (used inside the parentheses)."""
    no = exc.errno
    if no in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return "磁盘空间不足"
    if no == errno.ENOENT:
        return "文件夹不存在"
    if no in (errno.EACCES, errno.EPERM):
        return "没有写入权限"
    if no == errno.EROFS:
        return "磁盘或文件夹为只读"
    if no == errno.ENAMETOOLONG:
        return "路径或文件名过长"
    if no == errno.ENOTDIR:
        return "路径不是文件夹"
    if no == errno.EISDIR:
        return "目标名称是一个文件夹"
    if no == errno.EFBIG:
        return "文件过大"
    if no == errno.EIO:
        return "磁盘读写错误"
    if no == errno.EINVAL:
        return "文件名包含不允许的字符"
    text = exc.strerror or exc.__class__.__name__
    return f"系统错误：{text}"


def replace_error(exc: OSError, path: Path) -> ExportWriteError:
    """The error of a failed rename onto ``path`` (on Windows: most likely open in Word/WPS/Excel)."""
    reason = describe_os_error(exc)
    if isinstance(exc, PermissionError) and sys.platform == "win32":
        reason = "文件可能正被 Word、WPS 或 Excel 打开，请关闭后重试"
    return ExportWriteError.for_file(path, reason, exc.errno)


def _current_umask() -> int:
    """Best-effort process umask without the race of os.umask() round trips."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb", *,
                 encoding: str | None = None, newline: str | None = None) -> Iterator[IO[Any]]:
    """Open a temporary file next to *path* for writing and yield it.

    On normal exit of the ``with`` block the data are flushed, fsynced and
    the temporary file is renamed to *path* (replacing an existing file).
    On any exception the temporary file is removed and the exception
    propagates; *path* is never left partially written.

    ``mode`` must be a write mode (``"wb"`` default, ``"w"`` for text with
    *encoding*, default UTF-8).

    Raises :class:`ExportWriteError` (Chinese message) when the folder is
    missing or not writable, when the disk is full while writing, or when
    the final rename fails (e.g. the file is open in Word on Windows).
    """
    if "w" not in mode or not set(mode) <= set("wbt"):
        raise ValueError(f"atomic_write needs a write mode, got {mode!r}")
    final = Path(path)
    if not final.is_absolute():
        final = Path.cwd() / final
    folder = final.parent
    if not folder.exists():
        raise ExportWriteError.for_folder(folder, "文件夹不存在", errno.ENOENT)
    if not folder.is_dir():
        raise ExportWriteError.for_folder(folder, "路径不是文件夹", errno.ENOTDIR)
    if final.is_dir():
        raise ExportWriteError.for_file(final, "目标名称是一个文件夹", errno.EISDIR)
    sweep_folder(folder)  # a killed process's temporary files in this folder
    record = remember(folder)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=owned_prefix(), suffix=f".{final.stem[:40]}.tmp")
    except OSError as exc:
        forget(record)
        raise ExportWriteError.for_folder(folder, describe_os_error(exc), exc.errno) from exc
    try:
        yield from _write_and_rename(fd, tmp_name, final, folder, mode, encoding, newline)
    finally:
        forget(record)


def _write_and_rename(fd: int, tmp_name: str, final: Path, folder: Path, mode: str, encoding: str | None,
                      newline: str | None) -> Iterator[IO[Any]]:
    if "b" not in mode and encoding is None:
        encoding = "utf-8"
    try:
        fh = os.fdopen(fd, mode, encoding=encoding, newline=newline)
    except BaseException:
        os.close(fd)
        _silent_unlink(tmp_name)
        raise

    try:
        try:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        finally:
            fh.close()
        try:
            if final.exists():
                os.chmod(tmp_name, final.stat().st_mode & 0o7777)
            else:
                os.chmod(tmp_name, 0o666 & ~_current_umask())
        except OSError:
            pass  # permissions are cosmetic; never fail the export for them
        try:
            replace_with_retry(tmp_name, final)
        except OSError as exc:
            raise replace_error(exc, final) from exc
        _fsync_dir(folder)
    except OSError as exc:
        _silent_unlink(tmp_name)
        if exc.errno not in _WRITE_ERRNOS:
            raise
        raise ExportWriteError.for_folder(folder, describe_os_error(exc), exc.errno) from exc
    except BaseException:
        _silent_unlink(tmp_name)
        raise


def _silent_unlink(name: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(name)

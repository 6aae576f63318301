"""Small file-system helpers shared by the store and the exporters."""

from __future__ import annotations

import hashlib
import os
import platform
import re
import sys
import time
from pathlib import Path

#: Every temporary file or folder the program makes is named
#: ``.~clusterdesk-<host>-<pid>-<random>[.<what>]`` (mkstemp/mkdtemp with :func:`owned_prefix`), so
#: that a crash's leftovers can be proven ours and removed (export/leftovers.py).
TEMP_PREFIX = ".~clusterdesk-"
_OWNED = re.compile(r"^\.~clusterdesk-([0-9a-f]{6})-([0-9]{1,10})-([a-z0-9_]{8})(?:\..*)?$", re.DOTALL)
HOST_TAG = hashlib.sha256((platform.node() or "").encode("utf-8", "surrogatepass")).hexdigest()[:6]


def owned_prefix() -> str:
    """The name prefix of this process's temporary entries (pass to mkstemp/mkdtemp)."""
    return f"{TEMP_PREFIX}{HOST_TAG}-{os.getpid()}-"


def owner_of(name: str) -> tuple[str, int] | None:
    """(host tag, process id) of a temporary entry name made by this program, else None."""
    m = _OWNED.match(name)
    return (m.group(1), int(m.group(2))) if m else None


def fsync_dir(folder: Path) -> None:
    """Make a rename or creation inside ``folder`` durable (POSIX; Windows has no such call)."""
    if sys.platform == "win32":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def os_reason(exc: OSError) -> str:
    """Why a file operation failed, in Chinese, for the parentheses of a message
    (``无法读取文件（这是一个文件夹，不是文件）``). The system's own text is English."""
    import errno

    reasons = {
        errno.ENOENT: "文件或文件夹不存在",
        errno.EACCES: "没有权限",
        errno.EPERM: "没有权限",
        errno.ENOSPC: "磁盘空间不足",
        getattr(errno, "EDQUOT", errno.ENOSPC): "磁盘空间不足",
        errno.EROFS: "磁盘或文件夹为只读",
        errno.EISDIR: "这是一个文件夹，不是文件",
        errno.ENOTDIR: "路径中有一部分不是文件夹",
        errno.ENAMETOOLONG: "路径或文件名过长",
        errno.EEXIST: "已经存在",
        errno.EIO: "磁盘读写错误",
        errno.EFBIG: "文件过大",
        errno.EBUSY: "文件正被其他程序占用",
        errno.EMFILE: "同时打开的文件过多",
        errno.ELOOP: "符号链接层数过多",
        errno.EINVAL: "文件名或参数无效",
    }
    if exc.errno in reasons:
        return reasons[exc.errno]
    return f"系统错误，错误号 {exc.errno}" if exc.errno is not None else "系统错误"


def write_atomic(target: Path, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``target`` under a temporary name of this program, then rename it into
    place: a reader sees the old file or the whole new one, never a half-written one. The
    temporary file is removed if anything fails. ``durable``: fsync the file before the rename
    (a cache may skip it: losing it costs only time)."""
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=owned_prefix(), suffix=f".{target.name[:40]}.tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        replace_with_retry(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def replace_with_retry(src: str, dst: Path) -> None:
    """os.replace, retried briefly on Windows where virus scanners or the
    search indexer can hold the target open for a moment."""
    attempts = 5 if sys.platform == "win32" else 1
    for i in range(attempts):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if i == attempts - 1:
                raise
            time.sleep(0.1 * (i + 1))

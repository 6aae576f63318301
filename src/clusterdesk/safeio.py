"""Reading files that come from other PCs: regular files only, every read bounded.

A path given to the program (a template, a package, a backup, a definition, an evidence file) may
be a named pipe (opening it blocks for ever), a device or a symlink to one (``/dev/zero`` never
ends), a folder, or a file far bigger than anything the program writes. :func:`open_regular`
refuses everything but a regular file, before and after opening it, without ever blocking;
:func:`read_bounded` reads at most ``cap`` bytes. :func:`check_zip_directory` reads a zip's end
record and refuses a central directory too big to list before :mod:`zipfile` builds one object per
entry. Qt-free and dependency-free: used by the store, the readers and the command line.
"""

from __future__ import annotations

import os
import stat
import struct
from pathlib import Path
from typing import BinaryIO

__all__ = ["UnsafeFile", "check_zip_directory", "open_regular", "read_bounded", "ZipDirectoryTooBig"]


class UnsafeFile(OSError):
    """A path that is not a regular file, or a file over its cap; ``str()`` is a Chinese reason."""

    def __init__(self, reason: str, path: Path | str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.path = path

    def __str__(self) -> str:
        return self.reason


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "文件夹"
    if stat.S_ISFIFO(mode):
        return "命名管道"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "设备"
    if stat.S_ISSOCK(mode):
        return "套接字"
    return "特殊文件"


def _not_regular(path: Path | str, mode: int) -> UnsafeFile:
    return UnsafeFile(f"“{Path(path).name or path}”不是普通文件（是{_kind(mode)}），不能读取", path)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f}" if n >= 1024 * 1024 else f"{n / (1024 * 1024):.2f}"


def open_regular(path: Path | str, cap: int | None = None) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file (following symlinks), never blocking.

    Raises :class:`UnsafeFile` for a pipe, device, socket or folder (or a file over ``cap`` bytes),
    ``ValueError`` never (a NUL byte in the path is refused here too) and ``OSError`` as usual for a
    missing or unreadable file."""
    if "\x00" in str(path):
        raise UnsafeFile(f"文件路径“{str(path).replace(chr(0), '?')[:200]}”含有空字符（NUL），不能读取", path)
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise _not_regular(path, st.st_mode)
    # O_NONBLOCK: if the path was swapped for a pipe after the check, open() returns at once
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(path, st.st_mode)
        if cap is not None and st.st_size > cap:
            raise UnsafeFile(f"“{Path(path).name}”过大（{_mb(st.st_size)} MB），上限为 {_mb(cap)} MB", path)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bounded(path: Path | str, cap: int) -> bytes:
    """The bytes of a regular file of at most ``cap`` bytes (a file that grows while it is read is
    refused too)."""
    with open_regular(path, cap) as fh:
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise UnsafeFile(f"“{Path(path).name}”过大，上限为 {_mb(cap)} MB", path)
    return data


class ZipDirectoryTooBig(ValueError):
    """The zip's central directory lists more entries (or bytes) than the caller allows."""

    def __init__(self, entries: int, size: int):
        super().__init__(f"zip directory of {entries} entries, {size} bytes")
        self.entries = entries
        self.size = size


_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"


def check_zip_directory(fh: BinaryIO, max_entries: int, max_bytes: int = 64 * 1024 * 1024) -> int:
    """Read the end record of the zip in ``fh`` (seekable) and raise :class:`ZipDirectoryTooBig` if
    its central directory has more than ``max_entries`` entries or ``max_bytes`` bytes; returns the
    entry count (0 if no end record was found: :mod:`zipfile` then refuses the file itself).

    :mod:`zipfile` reads the whole central directory into one ``ZipInfo`` per entry before any
    count can be checked: a 50 MB file of directory entries costs gigabytes. This reads at most
    64 KiB + 98 bytes."""
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    tail_len = min(size, 0xFFFF + 22 + 20 + 56)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    pos = tail.rfind(_EOCD)
    while pos >= 0 and len(tail) - pos < 22:
        pos = tail.rfind(_EOCD, 0, pos)
    if pos < 0:
        return 0
    entries, cd_size = struct.unpack("<HI", tail[pos + 10:pos + 16])
    if entries == 0xFFFF or cd_size == 0xFFFFFFFF:  # zip64: the real figures are in the zip64 end record
        loc = pos - 20
        if loc >= 0 and tail[loc:loc + 4] == _EOCD64_LOCATOR:
            (offset,) = struct.unpack("<Q", tail[loc + 8:loc + 16])
            if offset < size:
                fh.seek(offset)
                rec = fh.read(56)
                if len(rec) == 56 and rec[:4] == _EOCD64:
                    entries, cd_size = struct.unpack("<QQ", rec[32:48])
    if entries > max_entries or cd_size > max_bytes:
        raise ZipDirectoryTooBig(entries, cd_size)
    fh.seek(0)
    return entries

"""Which files may be evidence (佐证材料), checked by name and by content; opening them safely.

Evidence travels between PCs (templates, data packages), and the GUI opens it with the system's
default program: on Windows a file named ``佐证.exe`` — or ``佐证\u202efdp.exe``, shown as
"佐证exe.pdf" — would be run. So evidence is an allow-list of document and image types, checked
twice: the name's extension must be on the list, and the content must be one of the listed kinds
(its magic bytes; for the zip-based formats also the parts that make them a Word, Excel or OFD
file). A name with control characters (C0, C1, bidirectional overrides and isolates) is refused.

Opening never runs anything: the copy handed to the system's default program
(``service.evidence_viewing_copy``) is named with the extension of its *checked content*
(:func:`viewing_name`: a PDF named ``.doc`` opens as a PDF), and content that is not on the list is
not opened at all. Evidence stored by an older version that fails the check is kept, never
deleted: it is shown as a problem of its field, not opened, and not packaged.

Used by the store (adding evidence), template and package import, packaging, and the GUI.
Qt-free.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any, BinaryIO

from clusterdesk.errors import ClusterDeskError
from clusterdesk.textsafe import has_controls, strip_controls
from clusterdesk.safeio import ZipDirectoryTooBig, check_zip_directory, open_regular

__all__ = [
    "ALLOWED_EXTENSIONS", "EvidenceTypeError", "KINDS", "MAX_EVIDENCE_LINKS", "MAX_EVIDENCE_TOTAL_BYTES",
    "StreamSniffer", "check_bytes", "check_file", "check_name", "check_kind", "content_kind", "describe_allowed",
    "head_kind", "name_problem", "viewing_name",
]


@dataclass(frozen=True)
class Kind:
    id: str
    label: str  # as users call it
    extensions: tuple[str, ...]  # the first one is used for a viewing copy


KINDS: dict[str, Kind] = {k.id: k for k in (
    Kind("pdf", "PDF 文件", ("pdf",)),
    Kind("jpeg", "JPEG 图片", ("jpg", "jpeg")),
    Kind("png", "PNG 图片", ("png",)),
    Kind("tiff", "TIFF 图片", ("tif", "tiff")),
    Kind("ofd", "OFD 版式文件", ("ofd",)),
    Kind("docx", "Word 文档", ("docx",)),
    Kind("xlsx", "Excel 工作簿", ("xlsx",)),
    # the OLE2 compound file: Word 97–2003, Excel 97–2003, WPS 文字 and WPS 表格
    Kind("ole", "Word / Excel / WPS 文档（旧格式）", ("doc", "xls", "wps", "et")),
)}
#: extension (lower case, without the dot) → kind id
ALLOWED_EXTENSIONS: dict[str, str] = {ext: k.id for k in KINDS.values() for ext in k.extensions}

_HEAD = 1024
_MAX_ZIP_ENTRIES = 10000  # a Word or Excel file with more parts than this is not a document we take
_MAX_ZIP_DIRECTORY = 4 * 1024 * 1024
_MAX_NAME = 255
#: Caps for a template's or a package's evidence: links (file × field × option) and the sum of the
#: distinct files' sizes. The demo application has 38 links and 13 files.
MAX_EVIDENCE_LINKS = 2000
MAX_EVIDENCE_TOTAL_BYTES = 1024 * 1024 * 1024
# Windows and Unix programs and shortcuts: never evidence, whatever else their first bytes hold
_PROGRAMS = (b"MZ", b"\x7fELF", b"#!", b"L\x00\x00\x00\x01\x14\x02\x00", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")


class EvidenceTypeError(ClusterDeskError, ValueError):
    """A file that may not be evidence; ``str()`` is the Chinese reason, naming the file."""


def describe_allowed() -> str:
    """``pdf、jpg、jpeg、…`` for messages and help texts."""
    return "、".join(ALLOWED_EXTENSIONS)


def _shown(name: str) -> str:
    return strip_controls(name, "?")[:80]


def name_problem(filename: str) -> str | None:
    """Why a file name may not be evidence (Chinese), or None."""
    if not isinstance(filename, str) or not filename.strip():
        return "证明材料的文件名不能为空"
    if has_controls(filename):
        return (f"文件名“{_shown(filename)}”含有控制字符或文字方向控制符（可能把真实的扩展名伪装成别的），"
                "不能作为佐证材料；请改名后再添加")
    if len(filename) > _MAX_NAME:
        return f"文件名“{_shown(filename)}…”过长（{len(filename)} 个字符），请改短后再添加"
    ext = PurePath(filename).suffix.lower().lstrip(".")
    if ext not in ALLOWED_EXTENSIONS:
        what = f"“.{ext}”" if ext else "没有扩展名的"
        return (f"“{_shown(filename)}”是{what}文件，不能作为佐证材料。"
                f"佐证材料只能是以下类型的文档或图片：{describe_allowed()}")
    return None


def check_name(filename: str) -> str:
    """The kind id the name's extension stands for; EvidenceTypeError if the name is not allowed."""
    problem = name_problem(filename)
    if problem:
        raise EvidenceTypeError(problem)
    return ALLOWED_EXTENSIONS[PurePath(filename).suffix.lower().lstrip(".")]


def _zip_kind(fh: BinaryIO) -> str | None:
    try:
        check_zip_directory(fh, _MAX_ZIP_ENTRIES, _MAX_ZIP_DIRECTORY)
        with zipfile.ZipFile(fh) as zf:
            names = set(zf.namelist())
    except (ZipDirectoryTooBig, zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError,
            NotImplementedError, RuntimeError):
        return None
    if "[Content_Types].xml" in names:
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
    if "OFD.xml" in names:
        return "ofd"
    return None


def head_kind(head: bytes) -> str | None:
    """The kind its first KiB shows (``"zip"`` for any zip: :func:`content_kind` looks inside)."""
    if head.startswith(_PROGRAMS):
        return None
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if b"%PDF-" in head[:_HEAD]:  # readers accept the header anywhere in the first 1024 bytes
        return "pdf"
    return None


def content_kind(fh: BinaryIO) -> str | None:
    """The kind of the content of a seekable binary file, or None if it is none of the allowed."""
    fh.seek(0)
    kind = head_kind(fh.read(_HEAD))
    return _zip_kind(fh) if kind == "zip" else kind


class _TailFile(io.RawIOBase):
    """The last bytes of a stream of known size, as a seekable file for :mod:`zipfile` (which only
    reads the end record and the central directory); reading before the tail is an OSError."""

    def __init__(self, tail: bytes, size: int):
        self._tail, self._size, self._start, self._pos = tail, size, size - len(tail), 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, n: int = -1) -> bytes:
        if self._pos < self._start:
            raise OSError("read before the kept tail")
        i = self._pos - self._start
        data = self._tail[i:] if n is None or n < 0 else self._tail[i:i + n]
        self._pos += len(data)
        return data

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)


class StreamSniffer:
    """The kind of content that arrives in pieces (a package member being inflated), keeping only
    its first KiB and its last MiB (enough for a Word or Excel file's central directory)."""

    TAIL = 1024 * 1024

    def __init__(self) -> None:
        self.head = bytearray()
        self.tail = bytearray()
        self.size = 0

    def feed(self, piece: bytes) -> None:
        if len(self.head) < _HEAD:
            self.head += piece[:_HEAD - len(self.head)]
        self.tail += piece[-self.TAIL:]
        if len(self.tail) > self.TAIL:
            del self.tail[:len(self.tail) - self.TAIL]
        self.size += len(piece)

    def hopeless(self) -> bool:
        """True as soon as the first KiB shows none of the allowed kinds (stop inflating)."""
        return len(self.head) >= _HEAD and head_kind(bytes(self.head)) is None

    def kind(self) -> str | None:
        kind = head_kind(bytes(self.head))
        return _zip_kind(_TailFile(bytes(self.tail), self.size)) if kind == "zip" else kind  # type: ignore[arg-type]  # _TailFile is a read-only binary file, all that _zip_kind uses


def check_kind(filename: str, kind: str | None) -> str:
    """``kind`` (of a file's content, from :func:`content_kind` or a StreamSniffer) if it is one
    of the allowed; EvidenceTypeError naming the file otherwise."""
    if kind is None:
        ext = PurePath(filename).suffix.lower().lstrip(".")
        expected = KINDS[ALLOWED_EXTENSIONS[ext]].label if ext in ALLOWED_EXTENSIONS else "允许的文档或图片"
        raise EvidenceTypeError(
            f"“{_shown(filename)}”的内容不是{expected}，也不是其他允许的文档或图片（文件可能已损坏，或是改了扩展名的"
            f"其他文件），不能作为佐证材料。佐证材料只能是：{describe_allowed()}")
    return kind


def check_file(path: Path | str, filename: str | None = None) -> str:
    """Check a file on disk as evidence named ``filename`` (default: its own name); returns the
    content's kind id. Raises EvidenceTypeError (or UnsafeFile / OSError for an unreadable path)."""
    filename = filename if filename is not None else Path(path).name
    check_name(filename)
    with open_regular(path) as fh:
        return check_kind(filename, content_kind(fh))


def check_bytes(filename: str, data: bytes) -> str:
    """:func:`check_file` for bytes in memory (package members, ``add_evidence_bytes``)."""
    check_name(filename)
    return check_kind(filename, content_kind(io.BytesIO(data)))


def viewing_name(filename: str, kind: str) -> str:
    """The name a viewing copy gets: the name without controls and path characters, with the
    extension of its checked content (the name's own spelling when it already fits)."""
    name = strip_controls(filename)
    name = "".join("_" if ch in '<>:"/\\|?*' else ch for ch in name).strip().strip(".")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    stem = stem.strip()[:100] or "佐证材料"
    if ext.lower() not in KINDS[kind].extensions:
        ext = KINDS[kind].extensions[0]
    return f"{stem}.{ext}"

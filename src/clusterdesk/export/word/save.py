"""Saving a document: to bytes in memory, or atomically to a file (temporary file + rename).

A long table may keep its rows beside the document tree (``add_table(defer_rows=True)``): the
document then holds a placeholder comment in the table, and the rows' XML is put in its place
when the document part is written here.

python-docx zips a document at zlib's default level (6). The XML of a long list is large and very
repetitive (12 MB for 10,000 rows), so the fastest level (1) packs it nearly as small (270 KB
instead of 200 KB) in a quarter of the time: the package is written here, part by part as
python-docx does (``OpcPackage.save``, python-docx 1.2), with that level.
"""

from __future__ import annotations

import io
import itertools
import os
import weakref
import zipfile
from pathlib import Path
from typing import IO, Any

from docx.document import Document as _DocumentObject
from docx.opc.pkgwriter import PackageWriter

from ..atomic import atomic_write

#: zlib level of the parts (1: fastest; the XML of a document compresses well at any level)
COMPRESS_LEVEL = 1

#: Rows kept beside a document's tree, by its main part: placeholder → rows' XML.
_DEFERRED: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()
_markers = itertools.count(1)


def defer_xml(doc: _DocumentObject, xml: str) -> str:
    """Keep ``xml`` (a table's rows) for the saved file of ``doc``; returns the text of the comment
    that stands in its place in the tree (a comment: text a user typed can never contain one, its
    ``<`` is always escaped)."""
    marker = f"clusterdesk-deferred-{next(_markers)}"
    _DEFERRED.setdefault(doc.part, {})[marker] = xml
    return marker


def _spliced(part: Any) -> bytes:
    """The document part's XML with every deferred table's rows in place of its placeholder."""
    blob: bytes = part.blob
    for marker, xml in _DEFERRED.get(part, {}).items():
        token = f"<!--{marker}-->".encode("ascii")
        if blob.count(token) != 1:  # a placeholder lost or copied: a bug, never a broken file
            raise RuntimeError(f"placeholder {marker} found {blob.count(token)} times in {part.partname}")
        blob = blob.replace(token, xml.encode("utf-8"))
    return blob


class _ZipWriter:
    """The writer python-docx's PackageWriter writes the parts through (``write(name, blob)``)."""

    def __init__(self, fh: IO[bytes]) -> None:
        self._zipf = zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL)

    def write(self, pack_uri: Any, blob: bytes) -> None:
        self._zipf.writestr(pack_uri.membername, blob)

    def close(self) -> None:
        self._zipf.close()


def write_docx(doc: _DocumentObject, fh: IO[bytes]) -> None:
    """Write *doc* as a .docx package into the open binary file *fh*."""
    package = doc.part.package
    parts = list(package.iter_parts())
    for part in parts:
        part.before_marshal()
    writer: Any = _ZipWriter(fh)  # the interface of docx.opc.phys_pkg._ZipPkgWriter
    try:
        PackageWriter._write_content_types_stream(writer, parts)
        PackageWriter._write_pkg_rels(writer, package.rels)
        for part in parts:  # as PackageWriter._write_parts, with the deferred rows spliced in
            writer.write(part.partname, _spliced(part) if part in _DEFERRED else part.blob)
            if len(part.rels):
                writer.write(part.partname.rels_uri, part.rels.xml)
    finally:
        writer.close()


def docx_bytes(doc: _DocumentObject) -> bytes:
    """*doc* as the bytes of a .docx file."""
    buf = io.BytesIO()
    write_docx(doc, buf)
    return buf.getvalue()


def save_docx(doc: _DocumentObject, path: str | os.PathLike[str]) -> Path:
    """Save *doc* atomically (temp file + rename, see
    :func:`~clusterdesk.export.atomic.atomic_write`).  Raises
    :class:`~clusterdesk.export.atomic.ExportWriteError` with a Chinese
    message when the folder is missing/unwritable or the disk is full."""
    target = Path(path)
    with atomic_write(target, "wb") as fh:
        write_docx(doc, fh)
    return target

"""Saving a document atomically (temporary file + rename)."""

from __future__ import annotations

import os
from pathlib import Path

from docx.document import Document as _DocumentObject

from ..atomic import atomic_write


def save_docx(doc: _DocumentObject, path: str | os.PathLike[str]) -> Path:
    """Save *doc* atomically (temp file + rename, see
    :func:`~clusterdesk.export.atomic.atomic_write`).  Raises
    :class:`~clusterdesk.export.atomic.ExportWriteError` with a Chinese
    message when the folder is missing/unwritable or the disk is full."""
    target = Path(path)
    with atomic_write(target, "wb") as fh:
        doc.save(fh)
    return target

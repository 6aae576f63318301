"""Small file-system helpers shared by the store and the exporters."""

from __future__ import annotations

import os
import sys
from pathlib import Path


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

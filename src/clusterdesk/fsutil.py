"""Small file-system helpers shared by the store and the exporters."""

from __future__ import annotations

import hashlib
import os
import platform
import re
import sys
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

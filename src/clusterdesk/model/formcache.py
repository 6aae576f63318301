"""A cache of checked form definitions, so that a start does not parse and check every YAML file
again (PyYAML, pydantic's validator and the cross-checks took about 0.2 s of each start).

An entry is the checked :class:`~clusterdesk.model.schema.Form` of one definition file, stored
under the SHA-256 of the file's bytes and of a fingerprint of this program: its version, Python's
and pydantic's versions and the source of the model package (a frozen program: the executable's
time). A changed file, a new program or a changed schema therefore never reads an old entry.
Only a file that loaded without a problem is stored, so a hit gives what a full load would.

The entries are pickles, read back by an unpickler that builds nothing but the schema's own
classes, dates and decimals (the "restricting globals" recipe of the :mod:`pickle` docs): a
file put in the cache folder by someone else cannot make the program run anything. An entry that
does not read back is deleted and the YAML file is loaded as if there were no cache; a cache
folder that cannot be written only costs time.

The folder is ``forms`` in the user's cache folder (platformdirs), or ``CLUSTERDESK_CACHE``
(``0`` switches the cache off).
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import io
import os
import pickle
import sys
from pathlib import Path

from pydantic import BaseModel

from clusterdesk.fsutil import write_atomic
from clusterdesk.safeio import read_bounded

from . import schema
from .schema import Form

#: An entry is a few dozen KB (the largest shipped form: about 50 KB); anything bigger is not ours.
MAX_ENTRY_BYTES = 8 * 1024 * 1024
#: Entries kept; the oldest beyond this are removed when one is written.
MAX_ENTRIES = 64
SUFFIX = ".form.pickle"
ENV = "CLUSTERDESK_CACHE"

_ALLOWED_OTHER = {("datetime", "date"): datetime.date, ("decimal", "Decimal"): decimal.Decimal}
_fingerprint: bytes | None = None


def cache_dir() -> Path | None:
    """The folder of the entries, or None when the cache is off (``CLUSTERDESK_CACHE=0``)."""
    env = os.environ.get(ENV)
    if env is not None:
        return None if env.strip() in ("", "0") else Path(env)
    import platformdirs

    from clusterdesk.paths import APP_DIR_NAME

    return Path(platformdirs.user_cache_dir(APP_DIR_NAME, appauthor=False)) / "forms"


def fingerprint() -> bytes:
    """What a cached entry depends on besides the file: this program and its schema."""
    global _fingerprint
    if _fingerprint is None:
        from pydantic.version import VERSION as pydantic_version

        from clusterdesk import __version__

        h = hashlib.sha256(f"{__version__}|{sys.version}|{pydantic_version}|{pickle.HIGHEST_PROTOCOL}".encode())
        here = Path(__file__).resolve().parent
        try:
            for p in sorted(here.glob("*.py")):
                h.update(p.name.encode())
                h.update(p.read_bytes())
        except OSError:
            pass
        if getattr(sys, "frozen", False):  # the sources are inside the bundle: its time stands for them
            try:
                h.update(str(os.stat(sys.executable).st_mtime_ns).encode())
            except OSError:
                pass
        _fingerprint = h.digest()
    return _fingerprint


def key(raw: bytes) -> str:
    """The entry name of a definition file's bytes."""
    return hashlib.sha256(fingerprint() + raw).hexdigest()[:40]


class _SchemaOnly(pickle.Unpickler):
    """Builds the schema's models, dates and decimals, and nothing else."""

    def find_class(self, module: str, name: str) -> type:
        if module == schema.__name__:
            obj = getattr(schema, name, None)
            if isinstance(obj, type) and issubclass(obj, BaseModel) and obj.__module__ == module:
                return obj
        elif (module, name) in _ALLOWED_OTHER:
            return _ALLOWED_OTHER[(module, name)]
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a form definition")

    def persistent_load(self, pid: object) -> object:
        raise pickle.UnpicklingError("persistent ids are not part of a form definition")


def read(entry: str, folder: Path | None) -> Form | None:
    """The cached checked form under ``entry`` (:func:`key` of a definition file's bytes), or None
    (no entry, or a bad one, which is then removed)."""
    if folder is None:
        return None
    path = folder / (entry + SUFFIX)
    try:
        data = read_bounded(path, MAX_ENTRY_BYTES)
    except OSError:  # no entry (the usual miss), or not a regular file
        return None
    try:
        form = _SchemaOnly(io.BytesIO(data)).load()
        if isinstance(form, Form):
            return form
    except Exception:  # noqa: BLE001 - any damage means: load the YAML file instead
        pass
    try:
        path.unlink()
    except OSError:
        pass
    return None


def write(entry: str, form: Form, folder: Path | None) -> None:
    """Store the checked form under ``entry`` (:func:`key` of a definition file's bytes); a folder
    that cannot be written is left alone (the cache only saves time)."""
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(folder / (entry + SUFFIX), pickle.dumps(form, protocol=pickle.HIGHEST_PROTOCOL),
                     durable=False)
        _prune(folder)
    except (OSError, pickle.PicklingError):
        pass


def _prune(folder: Path) -> None:
    entries = []
    for p in folder.glob("*" + SUFFIX):
        try:
            entries.append((p.stat().st_mtime_ns, p))
        except OSError:
            continue
    for _, p in sorted(entries, reverse=True)[MAX_ENTRIES:]:
        try:
            p.unlink()
        except OSError:
            pass

"""Publishing a set of files together, and the manifest of a folder the program writes.

No file system renames several files in one step, so "together" is built from single renames and
a journal:

1. Every file of the set is written into a private folder inside the destination,
   ``<dest>/.~clusterdesk-<host>-<pid>-<random>.publish/new/`` (same file system, so the later
   moves are renames), each file flushed to disk.
2. The journal (``journal.json`` in that folder) is written last, atomically: it lists every file
   with the SHA-256 of the new content and of what the destination held at that moment. Its
   appearance is the commit point.
3. Each destination file that exists is moved into ``old/`` of the private folder, and the new
   file is moved into its place. Files the set removes are moved into ``old/`` as well.
4. The journal is deleted and the private folder removed.

The guarantee:

* A failure before the commit point (an error, a full disk, a kill, a power cut) leaves the
  destination exactly as it was; the private folder is removed at once, or by the next start or
  the next export to that folder (leftovers.py).
* A failure after the commit point inside the program (a file held open by Word on Windows) is
  rolled back at once: every file moved back, the destination as it was.
* A kill or power cut after the commit point is completed at the next start or the next export to
  that folder: the rest of the files are moved in. Between the kill and that moment the folder
  can show part of the new set beside part of the old one (the journal and the remaining files sit
  in the private folder). A destination file that someone changed in between is kept, not
  replaced, and the new one is dropped with a note.
* A destination file is never replaced or removed unless it still holds what the journal says it
  held (its SHA-256), so a file changed by the user during a publish is never lost.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from clusterdesk.fsutil import fsync_dir

from .atomic import ExportWriteError, replace_with_retry, atomic_write, describe_os_error, replace_error
from .journal import (NOT_A_FILE, STAGE, Op, backward, finish, forward, fsync_parents, fsync_tree, is_regular,
                      journal_data, recover, remove_empty_dirs, safe_relative, sha256_of, state_of, under,
                      write_journal)
from .leftovers import (SweepReport, forget, hide, inside_ours, is_ours, owned_prefix, remember, remove_tree,
                        sweep_folder, unhide)

__all__ = ["FileSet", "MANIFEST_NAME", "NewFolder", "read_manifest", "recover", "sha256_of", "write_manifest"]

# ----------------------------------------------------------------------------- the two ways to publish


class _PrivateFolder:
    """A private folder of ours made in ``where`` (after cleaning ``where``'s leftovers), removed
    when the block ends unless it was published. Base of FileSet and NewFolder."""

    _suffix = ""

    def __init__(self, where: Path, data_dir: Path | None):
        self.where = where
        self.data_dir = data_dir
        self.root: Path | None = None
        self.published = False
        self.sweep = SweepReport()
        self._record: Path | None = None

    def _open(self) -> None:
        self.sweep = sweep_folder(self.where)
        self._record = remember(self.where, self.data_dir)
        try:
            self.root = Path(tempfile.mkdtemp(dir=self.where, prefix=owned_prefix(), suffix=self._suffix))
            self._prepare(self.root)
        except OSError as exc:
            self._discard()
            raise ExportWriteError.for_folder(self.where, describe_os_error(exc), exc.errno) from exc

    def _prepare(self, root: Path) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        self._discard()

    def _discard(self) -> None:
        if self.root is not None and not self.published:
            with contextlib.suppress(OSError):
                remove_tree(self.root)
        forget(self._record)
        self._record = None


class FileSet(_PrivateFolder):
    """Build files in a private folder inside an existing ``dest``, then publish them together.

    Use as a context manager: write into :attr:`dir` (sub-folders allowed), then call
    :meth:`publish`. Leaving the block without publishing removes everything. ``data_dir``: the
    data folder, where a record of ``dest`` is kept while the block runs (leftovers.remember)."""

    _suffix = ".publish"

    def __init__(self, dest: Path | str, *, data_dir: Path | None = None):
        super().__init__(Path(dest), data_dir)
        self.dest = self.where

    def __enter__(self) -> "FileSet":
        if not self.dest.is_dir():
            raise ExportWriteError.for_folder(self.dest, "文件夹不存在", errno.ENOENT)
        if inside_ours(self.dest):  # already a private folder (a compile's build): write straight in
            self.direct = True
            return self
        self._open()
        return self

    direct = False

    def _prepare(self, root: Path) -> None:
        hide(root)
        (root / STAGE).mkdir()

    @property
    def dir(self) -> Path:
        if self.direct:
            return self.dest
        assert self.root is not None, "use FileSet as a context manager"
        return self.root / STAGE

    def staged(self) -> list[str]:
        """Every file written into :attr:`dir`, as relative POSIX paths."""
        return sorted(p.relative_to(self.dir).as_posix() for p in self.dir.rglob("*")
                      if p.is_file() and not is_ours(p.name))

    def publish(self, puts: Iterable[str] | None = None, *, removes: Mapping[str, str] | None = None,
                expect: Mapping[str, str | None] | None = None, prune: Iterable[str] = ()) -> list[Path]:
        """Move the staged files (``puts``, default: all) into ``dest`` together, replacing what
        is there. ``removes``: destination files to delete with the SHA-256 they must still have
        (else they are kept). ``expect``: the state a destination file must be in for its
        replacement (SHA-256 or None for absent) — if it changed, nothing is published and
        ExportWriteError says which file. ``prune``: folders to remove afterwards if empty.
        Returns the published paths in ``puts`` order."""
        names = list(self.staged() if puts is None else puts)
        if self.direct:
            self.published = True
            return [under(self.dest, PurePosixPath(r)) for r in names]
        assert self.root is not None and not self.published
        dest, root = self.dest, self.root
        ops: list[Op] = []
        try:
            for rel in names:
                p = safe_relative(rel)
                if p is None:
                    raise ValueError(f"not a relative path: {rel!r}")
                dst = under(dest, p)
                old = state_of(dst)
                if old == NOT_A_FILE:
                    raise ExportWriteError.for_file(dst, "目标名称已被文件夹或其他项目占用", errno.EISDIR)
                if expect is not None and rel in expect and expect[rel] != old:
                    raise ExportWriteError.for_file(dst, "编制期间该文件被修改或移动，未作任何改动，请重新操作")
                ops.append(Op(rel, sha256_of(under(self.dir, p)), old))
            for rel, sha in (removes or {}).items():
                p = safe_relative(rel)
                if p is not None and state_of(under(dest, p)) == sha:
                    ops.append(Op(rel, None, sha))
            dirs = sorted({a.as_posix() for o in ops if o.new is not None
                           for a in PurePosixPath(o.path).parents if a.parts and not under(dest, a).exists()})
            fsync_tree(self.dir)
            write_journal(root, journal_data("commit", ops, dirs, list(prune)))
        except OSError as exc:
            raise ExportWriteError.for_folder(dest, describe_os_error(exc), exc.errno) from exc
        done: list[Op] = []
        try:
            for op in ops:
                done.append(op)
                forward(root, dest, op, [])
        except BaseException as exc:
            self._roll_back(done, dirs)
            if isinstance(exc, OSError):
                raise replace_error(exc, under(dest, PurePosixPath(done[-1].path))) from exc
            raise
        remove_empty_dirs(dest, prune)
        fsync_parents(dest, ops)
        finish(root)
        self.published = True
        with contextlib.suppress(OSError):
            remove_tree(root)
        forget(self._record)
        self._record = None
        return [under(dest, PurePosixPath(r)) for r in names]

    def _roll_back(self, done: list[Op], dirs: list[str]) -> None:
        assert self.root is not None
        try:
            write_journal(self.root, journal_data("rollback", done, dirs, []))
            for op in reversed(done):
                backward(self.root, self.dest, op)
            remove_empty_dirs(self.dest, dirs)
            fsync_parents(self.dest, done)
            finish(self.root)
        except OSError:
            # the journal stays: the next start or export to this folder finishes the roll-back
            self.published = True  # keep the private folder for that
            return


class NewFolder(_PrivateFolder):
    """Build a whole new folder beside where it will be, then rename it into place in one step
    (a single rename: all or nothing). ``final`` must not exist (an empty folder is replaced)."""

    _suffix = ".build"

    def __init__(self, final: Path | str, *, data_dir: Path | None = None):
        self.final = Path(final)
        super().__init__(self.final.parent, data_dir)

    def __enter__(self) -> "NewFolder":
        self._open()
        return self

    @property
    def dir(self) -> Path:
        assert self.root is not None, "use NewFolder as a context manager"
        return self.root

    def publish(self) -> Path:
        assert self.root is not None and not self.published
        try:
            fsync_tree(self.root)
            if self.final.exists() and any(self.final.iterdir()):
                raise ExportWriteError.for_folder(self.final, "文件夹已存在且不是空的")
            unhide(self.root)
            replace_with_retry(str(self.root), self.final)
            fsync_dir(self.final.parent)
        except OSError as exc:
            raise ExportWriteError.for_folder(self.final, describe_os_error(exc), exc.errno) from exc
        self.published = True
        return self.final


# ----------------------------------------------------------------------------- the folder's manifest


MANIFEST_NAME = ".clusterdesk-manifest.json"
_MANIFEST_FORMAT = "clusterdesk-folder"
_MANIFEST_MAX_BYTES = 4 * 1024 * 1024


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest the program keeps in a folder it wrote (``files``: relative path → SHA-256,
    ``dirs``: folders it made, ``info``: what the folder holds, ``sha256``: of the manifest), or None if there is none or it
    is not a valid one. Bounded and checked: a manifest from another PC is not trusted further
    than naming files inside this folder."""
    path = folder / MANIFEST_NAME
    try:
        st = path.lstat()
        if not is_regular(st.st_mode) or st.st_size > _MANIFEST_MAX_BYTES:
            return None
        raw = path.read_bytes()
        data = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError, UnicodeError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("format") != _MANIFEST_FORMAT or not isinstance(data.get("files"), dict):
        return None
    files: dict[str, str] = {}
    for rel, entry in data["files"].items():
        sha = entry.get("sha256") if isinstance(entry, dict) else None
        if safe_relative(rel) is None or not isinstance(sha, str) or len(sha) != 64:
            return None
        files[rel] = sha
    dirs = [d for d in data.get("dirs") or [] if safe_relative(d) is not None]
    info = data.get("info") if isinstance(data.get("info"), dict) else {}
    return {"files": files, "dirs": dirs, "info": info, "sha256": hashlib.sha256(raw).hexdigest()}


def write_manifest(folder: Path, files: Iterable[str], *, dirs: Iterable[str] = (), info: Mapping[str, Any],
                   base: Path | None = None) -> Path:
    """Write the manifest of ``files`` (relative paths; hashed from ``base``, default ``folder``)."""
    from datetime import datetime

    from clusterdesk import __version__

    src = base or folder
    entries = {rel: {"sha256": sha256_of(under(src, PurePosixPath(rel))),
                     "size": under(src, PurePosixPath(rel)).stat().st_size} for rel in files}
    data = {"format": _MANIFEST_FORMAT, "version": 1, "program": f"集群申报助手 {__version__}",
            "written_at": datetime.now().astimezone().isoformat(timespec="seconds"), "info": dict(info),
            "note": "本文件记录集群申报助手生成的文件；重新编制时只替换其中未被修改过的文件。请勿删除。",
            "dirs": sorted(set(dirs)), "files": entries}
    path = folder / MANIFEST_NAME
    with atomic_write(path) as fh:
        fh.write(json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))
    return path

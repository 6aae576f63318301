"""Installing form definitions: ``clusterdesk forms install FILE...`` and 文件 → 安装表单定义… alike.

Each file is checked alone and together with every loaded form (:func:`checks.check_files`):
one with errors is refused and nothing is copied (all the files or none). The good files are
copied into the user's forms folder (``forms/`` in the data folder, beside the database) as
``<id>.yaml``; an installed file of the same id with a lower version is kept beside it as
``<id>.v<N>.yaml``, so drafts made on it can still name their retired fields. The copy is
written under a temporary name and then renamed: a half-written definition never appears.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field as dc_field
from pathlib import Path
from typing import Iterable

from clusterdesk.fsutil import write_atomic

from .checks import check_files
from .form import Catalog, FormDefinitionError, _loaded_text, load_form


@dataclass
class Installed:
    """What an install did: each form with the file it was copied to, and the warnings."""

    forms: list[tuple[str, int, Path]] = dc_field(default_factory=list)  # id, version, installed file
    warnings: list[str] = dc_field(default_factory=list)
    kept: list[Path] = dc_field(default_factory=list)  # older installed versions kept beside

    def lines(self) -> list[str]:
        out = [f"已安装：{fid}（版本 {v}）→ {p}" for fid, v, p in self.forms]
        out += [f"原已安装的旧版本保留为：{p}（用于读取旧版本的草稿）" for p in self.kept]
        return out


def install_forms(files: Iterable[Path | str], dest: Path, catalog: Catalog) -> Installed:
    """Check ``files`` against ``catalog`` and copy them into ``dest`` (created if needed).

    Raises FormDefinitionError (one line per problem, nothing copied) when any file has an error."""
    paths = [Path(f) for f in files]
    if not paths:
        raise FormDefinitionError(["没有要安装的文件"])
    report = check_files(paths, catalog)
    if report.errors:
        raise FormDefinitionError(report.errors + ["未安装任何文件（请改正以上问题后重试）"])
    done = Installed(warnings=list(report.warnings))
    texts = []
    for fd in report.forms:
        text = _loaded_text(fd.source) if fd.source else None
        if text is None:
            raise FormDefinitionError([f"{fd.source}: 无法读取文件"])
        texts.append((fd, text))
    try:
        dest.mkdir(parents=True, exist_ok=True)
        for fd, text in texts:
            target = dest / f"{fd.id}.yaml"
            if target.exists() and not _same(target, fd.source):
                try:
                    old = load_form(target)
                except FormDefinitionError:
                    old = None
                if old is not None and old.id == fd.id and old.version < fd.version:
                    kept = dest / f"{fd.id}.v{old.version}.yaml"
                    os.replace(target, kept)
                    done.kept.append(kept)
            if not _same(target, fd.source):
                _write(target, text)
            done.forms.append((fd.id, fd.version, target))
    except OSError as e:
        from clusterdesk.fsutil import os_reason

        raise FormDefinitionError([f"无法写入表单文件夹“{dest}”（{os_reason(e)}）"]) from None
    return done


def _same(a: Path, b: Path | None) -> bool:
    try:
        return b is not None and a.exists() and a.resolve() == b.resolve()
    except OSError:
        return False


def _write(target: Path, text: str) -> None:
    write_atomic(target, text.encode("utf-8"))

"""Exporting a draft: the files the district officer and the municipal commission receive.

For a draft titled ``<集群名称>`` of a form with short title ``<short_title>``::

    <集群名称>-<short_title>.docx            print version (read-only protected, for printing and sealing)
    <集群名称>-<short_title>-可编辑版.docx    editable version (same content, no protection)
    <集群名称>-<short_title>-清单.xlsx        the lists and every section's data
    <集群名称>-<short_title>.pdf             the print version as PDF (needs LibreOffice)

A draft with errors (validate()) is refused unless ``draft_copy``: then everything carries the 草稿
watermark and every file name ends in （草稿）. Files are rendered into a private temporary folder
first and then moved into place one by one with atomic writes; if a write fails, the files this export
created are removed again, so a half-written file never appears under a final name.

Usage::

    from clusterdesk.export.api import export_draft, ExportRefused
    try:
        result = export_draft(store, draft_id, out_dir)
    except ExportRefused as e:
        show(e.problems)
"""

from __future__ import annotations

import contextlib
import errno
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from clusterdesk.export import docxkit as dk
from clusterdesk.export.atomic import ExportWriteError, atomic_write
from clusterdesk.export.pdf import PdfConversionError, PdfUnavailable, docx_to_pdf, find_soffice
from clusterdesk.export.render_docx import normalise_evidence, protect_read_only, render_docx
from clusterdesk.export.render_xlsx import render_xlsx
from clusterdesk.export.textsafe import clean_text
from clusterdesk.model.form import Catalog, FormDef
from clusterdesk.model.rules import Answers, Problem, validate

__all__ = ["ExportResult", "ExportRefused", "export_draft", "export_answers", "export_names", "safe_filename",
           "DRAFT_SUFFIX"]

DRAFT_SUFFIX = "（草稿）"
EDITABLE_SUFFIX = "-可编辑版"
LISTS_SUFFIX = "-清单"
MAX_NAME_CHARS = 80
_WINDOWS_BAD = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


@dataclass
class ExportResult:
    files: list[Path]  # every file written, print version first (the PDF included)
    pdf: Path | None
    messages: list[str] = field(default_factory=list)  # Chinese, for the user


class ExportRefused(Exception):
    """The draft has errors; a final export is refused. ``problems`` are the errors (Problem)."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems: list[Problem] = list(problems)
        super().__init__(self._text())

    def _text(self) -> str:
        lines = [f"存在 {len(self.problems)} 个错误，不能导出正式材料（修改后重试，或导出草稿）："]
        lines += [str(p) for p in self.problems]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self._text()


def safe_filename(name: str, fallback: str = "未命名") -> str:
    """A file name stem every Windows accepts: no <>:"/\\|?* or control characters, no trailing dot or
    space, not a reserved device name, at most 80 characters."""
    s = clean_text(name or "").replace("\n", " ").replace("\t", " ")
    s = _WINDOWS_BAD.sub("_", s)
    s = re.sub(r"\s+", " ", s).strip().rstrip(". ").strip()
    if len(s) > MAX_NAME_CHARS:
        s = s[:MAX_NAME_CHARS].rstrip(". ").strip()
    if not s or set(s) <= {"_", " ", "."}:
        s = fallback
    if s.split(".")[0].strip().upper() in _RESERVED:
        s = "_" + s
    return s


@dataclass(frozen=True)
class ExportNames:
    print_docx: str
    editable_docx: str
    xlsx: str
    pdf: str


def export_names(form: FormDef, answers: Answers, title: str = "", draft_copy: bool = False) -> ExportNames:
    """The file names of an export: ``<集群名称>-<short_title>…`` (the title field's value, else title)."""
    tf = form.form.title_field
    value = answers.value(tf) if tf else None
    name = value.strip() if isinstance(value, str) and value.strip() else (title or "").strip()
    stem = f"{safe_filename(name)}-{safe_filename(form.form.short_title, form.id)}"
    d = DRAFT_SUFFIX if draft_copy else ""
    return ExportNames(f"{stem}{d}.docx", f"{stem}{EDITABLE_SUFFIX}{d}.docx", f"{stem}{LISTS_SUFFIX}{d}.xlsx",
                       f"{stem}{d}.pdf")


def _publish(staged: list[tuple[Path, Path]]) -> list[Path]:
    """Copy staged files to their final names (atomic each); on failure remove what this call created."""
    created: list[Path] = []
    done: list[Path] = []
    try:
        for src, dst in staged:
            existed = dst.exists()
            with open(src, "rb") as fin, atomic_write(dst, "wb") as fout:
                shutil.copyfileobj(fin, fout, 1024 * 1024)
            done.append(dst)
            if not existed:
                created.append(dst)
    except BaseException:
        for p in created:
            with contextlib.suppress(OSError):
                p.unlink()
        raise
    return done


def export_answers(form: FormDef, answers: Answers, evidence: Iterable[Any] | None, title: str,
                   out_dir: str | Path, *, pdf: bool = True, draft_copy: bool = False,
                   fonts: dk.DocFonts | None = None) -> ExportResult:
    """Export answers that need not be in a store (a filled template, for instance).

    ``evidence``: the store's ``EvidenceInfo`` list or ``(key, option, path)`` tuples. ``title`` names
    the files when the form's title field is empty. Raises ExportRefused (errors, not draft_copy),
    ExportWriteError (folder missing / not writable / disk full), XlsxExportError (text Excel cannot
    hold)."""
    out = Path(out_dir)
    problems = validate(form, answers)
    errors = [p for p in problems if p.level == "error"]
    if errors and not draft_copy:
        raise ExportRefused(errors)
    if not out.exists():
        raise ExportWriteError.for_folder(out, "文件夹不存在", errno.ENOENT)
    if not out.is_dir():
        raise ExportWriteError.for_folder(out, "路径不是文件夹", errno.ENOTDIR)
    names = export_names(form, answers, title, draft_copy)
    messages: list[str] = []
    if draft_copy and errors:
        messages.append(f"草稿含 {len(errors)} 个错误，已按草稿导出（文件名带“{DRAFT_SUFFIX}”，页面带“草稿”水印）")
    warnings = len(problems) - len(errors)
    if warnings:
        messages.append(f"有 {warnings} 条提示未处理（不影响导出），可在“检查”中查看")
    ev = normalise_evidence(evidence)
    with tempfile.TemporaryDirectory(prefix="clusterdesk-export-") as tmp:
        stage = Path(tmp)
        doc = render_docx(form, answers, ev, draft=draft_copy, fonts=fonts)
        dk.save_docx(doc, stage / names.editable_docx)
        protect_read_only(doc)
        dk.save_docx(doc, stage / names.print_docx)
        del doc
        render_xlsx(form, answers, stage / names.xlsx, draft=draft_copy)
        staged = [(stage / names.print_docx, out / names.print_docx),
                  (stage / names.editable_docx, out / names.editable_docx),
                  (stage / names.xlsx, out / names.xlsx)]
        pdf_path: Path | None = None
        if pdf:
            if find_soffice() is None:
                messages.append("未安装 LibreOffice，未生成 PDF（可用 Word 或 WPS 打开打印版另存为 PDF）")
            else:
                try:
                    made = docx_to_pdf(stage / names.print_docx, stage)
                    staged.append((made, out / names.pdf))
                    pdf_path = out / names.pdf
                except PdfUnavailable:
                    messages.append("未安装 LibreOffice，未生成 PDF（可用 Word 或 WPS 打开打印版另存为 PDF）")
                except PdfConversionError as e:
                    messages.append(f"PDF 生成失败，其余文件已导出：{e}")
        files = _publish(staged)
    return ExportResult(files=files, pdf=pdf_path, messages=messages)


def export_draft(store: Any, draft_id: int, out_dir: str | Path, *, pdf: bool = True, draft_copy: bool = False,
                 catalog: Catalog | None = None) -> ExportResult:
    """Export a stored draft into ``out_dir`` (an existing folder). See the module docstring."""
    from clusterdesk.service import load_answers

    info = store.get_draft(draft_id)
    form, answers = load_answers(store, draft_id, catalog)
    evidence = store.list_evidence(draft_id)
    return export_answers(form, answers, evidence, info.title, out_dir, pdf=pdf, draft_copy=draft_copy)

"""Exporting a draft: the files the district officer and the municipal commission receive.

For a draft titled ``<集群名称>`` of a form with short title ``<short_title>``::

    <集群名称>-<short_title>.docx            print version (read-only protected, for printing and sealing)
    <集群名称>-<short_title>-可编辑版.docx    editable version (same content, no protection)
    <集群名称>-<short_title>-清单.xlsx        the lists and every section's data
    <集群名称>-<short_title>.pdf             the print version as PDF (needs LibreOffice)

A draft with errors (validate()) is refused unless ``draft_copy``: then everything carries the 草稿
watermark and every file name ends in （草稿）. Both Word versions are rendered in memory before anything
is written. The files are made in a private folder inside ``out_dir`` and then published together
(publish.FileSet): if anything fails, ``out_dir`` is as it was (an older export of the same names
intact); after a kill or power cut the next start, or the next export to that folder, completes or
undoes the set, so the folder never keeps part of one export beside part of another.

Usage::

    from clusterdesk.export.api import export_draft, ExportRefused
    try:
        result = export_draft(store, draft_id, out_dir)
    except ExportRefused as e:
        show(e.problems)
"""

from __future__ import annotations

import errno
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from clusterdesk.export import docxkit as dk
from clusterdesk.export.atomic import ExportWriteError, atomic_write
from clusterdesk.export.publish import FileSet
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
NO_PDF_MESSAGE = "未安装 LibreOffice，未生成 PDF（可用 Word 或 WPS 打开打印版另存为 PDF）"
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
    if name == f"未命名{form.form.short_title}":  # the store's title of a draft not yet named
        name = "未命名"
    stem = f"{safe_filename(name)}-{safe_filename(form.form.short_title, form.id)}"
    d = DRAFT_SUFFIX if draft_copy else ""
    return ExportNames(f"{stem}{d}.docx", f"{stem}{EDITABLE_SUFFIX}{d}.docx", f"{stem}{LISTS_SUFFIX}{d}.xlsx",
                       f"{stem}{d}.pdf")


def _docx_bytes(doc: Any) -> bytes:
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def export_answers(form: FormDef, answers: Answers, evidence: Iterable[Any] | None, title: str,
                   out_dir: str | Path, *, pdf: bool = True, draft_copy: bool = False,
                   fonts: dk.DocFonts | None = None, data_dir: Path | None = None) -> ExportResult:
    """Export answers that need not be in a store (a filled template, for instance).

    ``evidence``: the store's ``EvidenceInfo`` list or ``(key, option, path)`` tuples. ``title`` names
    the files when the form's title field is empty. Raises ExportRefused (errors, not draft_copy),
    ExportWriteError (folder missing / not writable / disk full), XlsxExportError (text Excel cannot
    hold). ``data_dir``: the data folder, which keeps a record of ``out_dir`` while the files are
    being published (so a crash's leftovers are cleaned at the next start)."""
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
    # Render both Word versions in memory first: nothing is written until the content is complete.
    doc = render_docx(form, answers, ev, draft=draft_copy, fonts=fonts)
    editable = _docx_bytes(doc)
    protect_read_only(doc)
    printed = _docx_bytes(doc)
    del doc
    pdf_path: Path | None = None
    with FileSet(out, data_dir=data_dir) as fs:
        stage = fs.dir
        for name, data in ((names.print_docx, printed), (names.editable_docx, editable)):
            with atomic_write(stage / name, "wb") as fh:
                fh.write(data)
        render_xlsx(form, answers, stage / names.xlsx, draft=draft_copy)
        puts = [names.print_docx, names.editable_docx, names.xlsx]
        if pdf:
            if find_soffice() is None:
                messages.append(NO_PDF_MESSAGE)
            else:
                try:
                    docx_to_pdf(stage / names.print_docx, stage)
                    puts.append(names.pdf)
                except PdfUnavailable:
                    messages.append(NO_PDF_MESSAGE)
                except PdfConversionError as e:
                    messages.append(f"PDF 生成失败，其余文件已导出：{e}")
        files = fs.publish(puts)
    messages.extend(fs.sweep.notes)
    if names.pdf in puts:
        pdf_path = out / names.pdf
    return ExportResult(files=files, pdf=pdf_path, messages=messages)


def export_draft(store: Any, draft_id: int, out_dir: str | Path, *, pdf: bool = True, draft_copy: bool = False,
                 catalog: Catalog | None = None) -> ExportResult:
    """Export a stored draft into ``out_dir`` (an existing folder). See the module docstring."""
    from clusterdesk.service import load_answers

    info = store.get_draft(draft_id)
    form, answers = load_answers(store, draft_id, catalog)
    evidence = store.list_evidence(draft_id)
    data_dir = Path(store.path).parent if getattr(store, "path", None) else None
    return export_answers(form, answers, evidence, info.title, out_dir, pdf=pdf, draft_copy=draft_copy,
                          data_dir=data_dir)

"""Exporting a draft: the files the district officer and the municipal commission receive.

For a draft titled ``<集群名称>`` of a form with short title ``<short_title>``::

    <集群名称>-<short_title>.docx            print version (read-only protected, for printing and sealing)
    <集群名称>-<short_title>-可编辑版.docx    editable version (same content, no protection)
    <集群名称>-<short_title>-清单.xlsx        the lists and every section's data
    <集群名称>-<short_title>-目标完成情况.docx  the analysis beside an annual report (forms with ``achievement``)
    <集群名称>-<short_title>.pdf             the print version as PDF (needs LibreOffice)

The editable version carries each computed value's formula (and the reason for a typed value) as a
Word comment; the print version shows only what the official form shows.

``export_blank(form, out_dir)`` writes the blank form for filling by hand: ``<short_title>-空白表.docx``
(and its PDF).

A draft with errors (validate()) is refused unless ``draft_copy``: then everything carries the 草稿
watermark and every file name ends in （草稿）. Both Word versions are rendered in memory before anything
is written; every file is then written atomically (temporary file + rename, atomic.py). If a write
fails, the files this export created are removed again: no half-written file ever appears under a
final name, and an older export of the same name is either left as it was or fully replaced.

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
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from clusterdesk.export import docxkit as dk
from clusterdesk.export.atomic import ExportWriteError, atomic_write
from clusterdesk.export.pdf import ExportCancelled, PdfConversionError, PdfUnavailable, docx_to_pdf, find_soffice
from clusterdesk.export.render_docx import DocxRenderer, protect_read_only, render_achievement, unprotect
from clusterdesk.export.render_xlsx import render_xlsx
from clusterdesk.export.textsafe import clean_text
from clusterdesk.model.form import Catalog, FormDef
from clusterdesk.model.plan import compile_plan, normalise_evidence
from clusterdesk.model.rules import Answers, Problem, validate

__all__ = ["ExportCancelled", "ExportResult", "ExportRefused", "export_draft", "export_answers", "export_blank",
           "export_names", "blank_names", "safe_filename", "DRAFT_SUFFIX"]

DRAFT_SUFFIX = "（草稿）"
EDITABLE_SUFFIX = "-可编辑版"
LISTS_SUFFIX = "-清单"
ACHIEVEMENT_SUFFIX = "-目标完成情况"
BLANK_SUFFIX = "-空白表"
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
    achievement: str


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
                       f"{stem}{d}.pdf", f"{stem}{ACHIEVEMENT_SUFFIX}{d}.docx")


def blank_names(form: FormDef) -> tuple[str, str]:
    """The blank form's file names: ``<short_title>-空白表.docx`` and its PDF."""
    stem = f"{safe_filename(form.form.short_title, form.id)}{BLANK_SUFFIX}"
    return f"{stem}.docx", f"{stem}.pdf"


class _Writer:
    """Writes the files of one export; ``rollback`` removes those it created (not older ones it replaced)."""

    def __init__(self, out: Path):
        self.out = out
        self.created: list[Path] = []
        self.files: list[Path] = []

    def _done(self, dst: Path, existed: bool) -> Path:
        self.files.append(dst)
        if not existed:
            self.created.append(dst)
        return dst

    def write_bytes(self, name: str, data: bytes) -> Path:
        dst = self.out / name
        existed = dst.exists()
        with atomic_write(dst, "wb") as fh:
            fh.write(data)
        return self._done(dst, existed)

    def write_with(self, name: str, fn: Any) -> Path:
        dst = self.out / name
        existed = dst.exists()
        fn(dst)
        return self._done(dst, existed)

    def rollback(self) -> None:
        for p in self.created:
            with contextlib.suppress(OSError):
                p.unlink()


def _write_pdf(w: _Writer, docx_name: str, pdf_name: str, messages: list[str], rest: str,
               cancel: Callable[[], bool] | None = None) -> Path | None:
    """The PDF of a written Word file, through LibreOffice; without it, a note in ``messages``.
    ``cancel`` is asked while LibreOffice runs (ExportCancelled)."""
    if find_soffice() is None:
        messages.append(NO_PDF_MESSAGE)
        return None
    try:
        return w.write_with(pdf_name, lambda dst: docx_to_pdf(w.out / docx_name, w.out, cancel=cancel))
    except PdfUnavailable:
        messages.append(NO_PDF_MESSAGE)
    except PdfConversionError as e:
        messages.append(f"PDF 生成失败，{rest}：{e}")
    return None


def _docx_bytes(doc: Any) -> bytes:
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def export_answers(form: FormDef, answers: Answers, evidence: Iterable[Any] | None, title: str,
                   out_dir: str | Path, *, pdf: bool = True, draft_copy: bool = False,
                   fonts: dk.DocFonts | None = None, cancel: Callable[[], bool] | None = None) -> ExportResult:
    """Export answers that need not be in a store (a filled template, for instance).

    ``evidence``: the store's ``EvidenceInfo`` list or ``(key, option, path)`` tuples. ``title`` names
    the files when the form's title field is empty. Raises ExportRefused (errors, not draft_copy),
    ExportWriteError (folder missing / not writable / disk full), XlsxExportError (text Excel cannot
    hold). ``cancel``: asked between the files and while LibreOffice runs; when it returns True the
    files this export wrote are removed and ExportCancelled is raised."""
    out = Path(out_dir)

    def check_cancel() -> None:
        if cancel is not None and cancel():
            raise ExportCancelled()

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
    plan = compile_plan(form, answers, normalise_evidence(evidence))
    # Render every Word file in memory first: nothing is written until the content is complete.
    renderer = DocxRenderer(plan, draft=draft_copy, fonts=fonts)
    doc = renderer.render()
    protect_read_only(doc)
    printed = _docx_bytes(doc)
    unprotect(doc)
    renderer.add_remarks()  # the formulas, as comments, in the editable version only
    editable = _docx_bytes(doc)
    del doc, renderer
    name = form.display_title(answers.raw) if isinstance(getattr(answers, "raw", None), dict) else ""
    analysis = render_achievement(plan, name, draft=draft_copy, fonts=fonts)
    achievement = _docx_bytes(analysis) if analysis is not None else None
    w = _Writer(out)
    pdf_path: Path | None = None
    try:
        check_cancel()
        w.write_bytes(names.print_docx, printed)
        w.write_bytes(names.editable_docx, editable)
        check_cancel()
        w.write_with(names.xlsx, lambda dst: render_xlsx(form, answers, dst, draft=draft_copy))
        if achievement is not None:
            w.write_bytes(names.achievement, achievement)
        check_cancel()
        if pdf:
            pdf_path = _write_pdf(w, names.print_docx, names.pdf, messages, "其余文件已导出", cancel)
    except BaseException:
        w.rollback()
        raise
    files = w.files
    return ExportResult(files=files, pdf=pdf_path, messages=messages)


def export_draft(store: Any, draft_id: int, out_dir: str | Path, *, pdf: bool = True, draft_copy: bool = False,
                 catalog: Catalog | None = None, cancel: Callable[[], bool] | None = None) -> ExportResult:
    """Export a stored draft into ``out_dir`` (an existing folder). See the module docstring."""
    from clusterdesk.service import load_answers

    info = store.get_draft(draft_id)
    form, answers = load_answers(store, draft_id, catalog)
    evidence = store.list_evidence(draft_id)
    return export_answers(form, answers, evidence, info.title, out_dir, pdf=pdf, draft_copy=draft_copy,
                          cancel=cancel)


def export_blank(form: FormDef, out_dir: str | Path, *, pdf: bool = True,
                 fonts: dk.DocFonts | None = None) -> ExportResult:
    """The blank form for filling by hand (no watermark, no answers, room to write) into ``out_dir``
    (an existing folder): ``<short_title>-空白表.docx``, and its PDF when LibreOffice is installed."""
    from clusterdesk.export.render_docx import render_blank

    out = Path(out_dir)
    if not out.exists():
        raise ExportWriteError.for_folder(out, "文件夹不存在", errno.ENOENT)
    if not out.is_dir():
        raise ExportWriteError.for_folder(out, "路径不是文件夹", errno.ENOTDIR)
    docx_name, pdf_name = blank_names(form)
    data = _docx_bytes(render_blank(form, fonts=fonts))
    messages: list[str] = []
    w = _Writer(out)
    pdf_path: Path | None = None
    try:
        w.write_bytes(docx_name, data)
        if pdf:
            pdf_path = _write_pdf(w, docx_name, pdf_name, messages, "Word 文件已导出")
    except BaseException:
        w.rollback()
        raise
    return ExportResult(files=w.files, pdf=pdf_path, messages=messages)

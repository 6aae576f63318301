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
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from clusterdesk.errors import ClusterDeskError
from clusterdesk.gcpause import gc_paused
from clusterdesk.export import word as dk
from clusterdesk.export.atomic import ExportWriteError, atomic_write
from clusterdesk.export.pdf import ExportCancelled, PdfConversionError, PdfUnavailable, docx_to_pdf, find_soffice
from clusterdesk.export.publish import FileSet
from clusterdesk.export.word.render import DocxRenderer, protect_read_only, render_achievement, unprotect
from clusterdesk.export.render_xlsx import render_xlsx
from clusterdesk.textsafe import clean_text
from clusterdesk.model.form import Catalog, FormDef
from clusterdesk.model.plan import compile_plan, normalise_evidence
from clusterdesk.model.rules import Answers, Problem, validate

if TYPE_CHECKING:  # for annotations only: export is imported by the core below it (a cycle at runtime)
    from clusterdesk.store import Store

__all__ = ["ExportCancelled", "ExportConflict", "ExportResult", "ExportRefused", "export_draft", "file_owner", "export_answers", "export_blank",
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


class ExportRefused(ClusterDeskError):
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


def export_names(form: FormDef, answers: Answers, title: str = "", draft_copy: bool = False, *,
                 with_year: bool = False) -> ExportNames:
    """The file names of an export: ``<集群名称>-<short_title>…`` (the title field's value, else title);
    ``with_year`` (another loaded form has the same title, e.g. next year's report):
    ``<集群名称>-<short_title>（2023年度）…``."""
    tf = form.form.title_field
    value = answers.value(tf) if tf else None
    name = value.strip() if isinstance(value, str) and value.strip() else (title or "").strip()
    if name == f"未命名{form.form.short_title}":  # the store's title of a draft not yet named
        name = "未命名"
    year = f"（{form.form.year}年度）" if with_year else ""
    stem = f"{safe_filename(name)}-{safe_filename(form.form.short_title + year, form.id)}"
    d = DRAFT_SUFFIX if draft_copy else ""
    return ExportNames(f"{stem}{d}.docx", f"{stem}{EDITABLE_SUFFIX}{d}.docx", f"{stem}{LISTS_SUFFIX}{d}.xlsx",
                       f"{stem}{d}.pdf", f"{stem}{ACHIEVEMENT_SUFFIX}{d}.docx")


def blank_names(form: FormDef) -> tuple[str, str]:
    """The blank form's file names: ``<short_title>-空白表.docx`` and its PDF."""
    stem = f"{safe_filename(form.form.short_title, form.id)}{BLANK_SUFFIX}"
    return f"{stem}.docx", f"{stem}.pdf"


#: What an export writes into its Word files' core properties (``dc:identifier``) so the next export
#: into the folder can tell whose files they are.
OWNER_MARK = "clusterdesk-draft:"
_IDENTIFIER = re.compile(r"<dc:identifier>([^<]{1,200})</dc:identifier>")


class ExportConflict(Exception):
    """The folder holds files of the same names that another draft exported; nothing was written.
    ``files``: their names; ``owner``: the other draft's uuid; ``owner_title``: its name, if the
    store has it. Export again with ``overwrite=True`` to replace them."""

    def __init__(self, files: list[str], owner: str, owner_title: str | None = None):
        self.files, self.owner, self.owner_title = files, owner, owner_title
        super().__init__(self.text())

    def text(self) -> str:
        who = f"草稿“{self.owner_title}”" if self.owner_title else "另一份草稿"
        return (f"保存位置已有{who}导出的同名文件：{'、'.join(self.files)}。"
                "为避免覆盖其他草稿的文件，本次未导出；请换一个文件夹，或确认覆盖")


def file_owner(path: Path) -> str | None:
    """The draft uuid an earlier export wrote into a Word file's core properties, or None (no
    such file, not a Word file, not ours). Bounded: a file in the folder may be anything."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo("docProps/core.xml")
            if info.file_size > 256 * 1024:
                return None
            text = zf.read(info).decode("utf-8", "replace")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, RuntimeError, NotImplementedError):
        return None
    m = _IDENTIFIER.search(text)
    if not m or not m.group(1).startswith(OWNER_MARK):
        return None
    return m.group(1)[len(OWNER_MARK):].strip()


def _others_files(out: Path, names: "ExportNames", owner: str | None) -> tuple[list[str], str] | None:
    """(names, other owner) when the folder's print or editable Word file of these names was
    exported from another draft (by the mark in its core properties)."""
    for docx in (names.print_docx, names.editable_docx, names.achievement):
        other = file_owner(out / docx)
        if other and other != owner:
            taken = [n for n in (names.print_docx, names.editable_docx, names.xlsx, names.pdf, names.achievement)
                     if (out / n).exists()]
            return taken, other
    return None


def _pdf_into(stage: Path, docx_name: str, messages: list[str], rest: str,
              cancel: Callable[[], bool] | None = None) -> bool:
    """The PDF of a staged Word file, written beside it through LibreOffice; without LibreOffice,
    or when it fails, a note in ``messages`` (the other files still go out). ``cancel`` is asked
    while LibreOffice runs (ExportCancelled)."""
    if find_soffice() is None:
        messages.append(NO_PDF_MESSAGE)
        return False
    try:
        docx_to_pdf(stage / docx_name, stage, cancel=cancel)
        return True
    except PdfUnavailable:
        messages.append(NO_PDF_MESSAGE)
    except PdfConversionError as e:
        messages.append(f"PDF 生成失败，{rest}：{e}")
    return False


def _word_files(plan: Any, form: FormDef, answers: Answers, names: Any, draft_copy: bool,
                fonts: dk.DocFonts | None, owner: str | None) -> list[tuple[str, bytes]]:
    """The Word files of an export, in memory: the printed form (read-only, ready for the seal),
    the editable one (with the formulas as comments) and the 目标完成情况 document if the form has one."""
    renderer = DocxRenderer(plan, draft=draft_copy, fonts=fonts, defer_lists=True)
    doc = renderer.render()
    if owner:
        doc.core_properties.identifier = OWNER_MARK + owner
    protect_read_only(doc)
    printed = dk.docx_bytes(doc)
    unprotect(doc)
    renderer.add_remarks()  # the formulas, as comments, in the editable version only
    editable = dk.docx_bytes(doc)
    del doc, renderer
    name = form.display_title(answers.raw) if isinstance(getattr(answers, "raw", None), dict) else ""
    analysis = render_achievement(plan, name, draft=draft_copy, fonts=fonts)
    if analysis is not None and owner:
        analysis.core_properties.identifier = OWNER_MARK + owner
    words = [(names.print_docx, printed), (names.editable_docx, editable)]
    if analysis is not None:
        words.append((names.achievement, dk.docx_bytes(analysis)))
    return words


@gc_paused()  # the whole export: checks, plan, files (clusterdesk/gcpause.py)
def export_answers(form: FormDef, answers: Answers, evidence: Iterable[Any] | None, title: str,
                   out_dir: str | Path, *, pdf: bool = True, draft_copy: bool = False,
                   fonts: dk.DocFonts | None = None, cancel: Callable[[], bool] | None = None,
                   data_dir: Path | None = None, delivered_evidence: bool = False, owner: str | None = None,
                   with_year: bool = False, overwrite: bool = False) -> ExportResult:
    """Export answers that need not be in a store (a filled template, for instance).

    ``evidence``: the store's ``EvidenceInfo`` list or ``(key, option, path)`` tuples. ``title`` names
    the files when the form's title field is empty. Raises ExportRefused (errors, not draft_copy),
    ExportWriteError (folder missing / not writable / disk full), XlsxExportError (text Excel cannot
    hold). ``cancel``: asked between the files and while LibreOffice runs; when it returns True
    nothing is published and ExportCancelled is raised. ``data_dir``: the data folder, which keeps
    a record of ``out_dir`` while the files are being published (so a crash's leftovers are cleaned
    at the next start). ``delivered_evidence``: the evidence goes with the form (a district's
    submission): the 佐证材料目录 names the files as delivered (model.plan.evidence_names).
    ``owner``: the draft's uuid, marked in the Word files; files of the same
    names another draft exported are not replaced (ExportConflict) unless ``overwrite``.
    ``with_year``: the names carry the form's year (:func:`export_names`)."""
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
    names = export_names(form, answers, title, draft_copy, with_year=with_year)
    clash = None if overwrite else _others_files(out, names, owner)
    if clash is not None:
        raise ExportConflict(*clash)
    messages: list[str] = []
    if draft_copy and errors:
        messages.append(f"草稿含 {len(errors)} 个错误，已按草稿导出（文件名带“{DRAFT_SUFFIX}”，页面带“草稿”水印）")
    warnings = len(problems) - len(errors)
    if warnings:
        messages.append(f"有 {warnings} 条提示未处理（不影响导出），可在“检查”中查看")
    plan = compile_plan(form, answers, normalise_evidence(evidence), delivered_evidence=delivered_evidence)
    for cell in form.cells:  # every computed value settled now: the Excel thread below only reads them
        answers.value(cell.key)
    # Everything is built in a private folder inside ``out`` and published together: a cancel, an
    # error or a crash before publish() leaves the folder as it was. The Excel lists are written in
    # a second thread while the Word files are rendered: zlib and lxml work without Python's lock,
    # so on two cores a long list's export takes about a fifth less (benchmarks/bench_export.py).
    # The executor is left (and the thread waited for) before the private folder is removed.
    with FileSet(out, data_dir=data_dir) as fs, ThreadPoolExecutor(1, thread_name_prefix="export-xlsx") as pool:
        stage = fs.dir
        lists = pool.submit(render_xlsx, form, answers, stage / names.xlsx, draft=draft_copy)
        words = _word_files(plan, form, answers, names, draft_copy, fonts, owner)
        for file_name, data in words:
            with atomic_write(stage / file_name, "wb") as fh:
                fh.write(data)
        check_cancel()
        lists.result()  # its error (XlsxExportError, a full disk) is raised here
        puts = [names.print_docx, names.editable_docx, names.xlsx] + [n for n, _ in words[2:]]
        check_cancel()
        if pdf and _pdf_into(stage, names.print_docx, messages, "其余文件已导出", cancel):
            puts.append(names.pdf)
        check_cancel()
        files = fs.publish(puts)
    messages.extend(fs.sweep.notes)
    return ExportResult(files=files, pdf=out / names.pdf if names.pdf in puts else None, messages=messages)


def export_draft(store: Store, draft_id: int, out_dir: str | Path, *, pdf: bool = True, draft_copy: bool = False,
                 catalog: Catalog | None = None, cancel: Callable[[], bool] | None = None,
                 overwrite: bool = False) -> ExportResult:
    """Export a stored draft into ``out_dir`` (an existing folder). See the module docstring.
    Files of the same names exported from another draft are not replaced (ExportConflict, naming
    that draft) unless ``overwrite``."""
    from clusterdesk.model.form import default_catalog
    from clusterdesk.service import load_answers

    catalog = catalog or default_catalog()
    info = store.get_draft(draft_id)
    form, answers = load_answers(store, draft_id, catalog)
    evidence = store.list_evidence(draft_id)
    data_dir = Path(store.path).parent if getattr(store, "path", None) else None
    try:
        return export_answers(form, answers, evidence, info.title, out_dir, pdf=pdf, draft_copy=draft_copy,
                              cancel=cancel, data_dir=data_dir, owner=info.uuid,
                              with_year=catalog.shares_title(form), overwrite=overwrite)
    except ExportConflict as e:
        e.owner_title = owner_title(store, e.owner, catalog)
        e.args = (e.text(),)
        raise


def owner_title(store: Any, uuid: str, catalog: Catalog | None = None) -> str | None:
    """How the draft list names the draft with this uuid, if this store has it."""
    from clusterdesk.service import display_name

    try:
        found = store.find_drafts_by_uuid(uuid)
    except Exception:  # noqa: BLE001 - a uuid from a file: naming the draft is only a courtesy
        return None
    return display_name(store, found[0], catalog) if found else None


def export_blank(form: FormDef, out_dir: str | Path, *, pdf: bool = True,
                 fonts: dk.DocFonts | None = None, data_dir: Path | None = None) -> ExportResult:
    """The blank form for filling by hand (no watermark, no answers, room to write) into ``out_dir``
    (an existing folder): ``<short_title>-空白表.docx``, and its PDF when LibreOffice is installed,
    published together like an export."""
    from clusterdesk.export.word.render import render_blank

    out = Path(out_dir)
    if not out.exists():
        raise ExportWriteError.for_folder(out, "文件夹不存在", errno.ENOENT)
    if not out.is_dir():
        raise ExportWriteError.for_folder(out, "路径不是文件夹", errno.ENOTDIR)
    docx_name, pdf_name = blank_names(form)
    data = dk.docx_bytes(render_blank(form, fonts=fonts))
    messages: list[str] = []
    with FileSet(out, data_dir=data_dir) as fs:
        with atomic_write(fs.dir / docx_name, "wb") as fh:
            fh.write(data)
        puts = [docx_name]
        if pdf and _pdf_into(fs.dir, docx_name, messages, "Word 文件已导出"):
            puts.append(pdf_name)
        files = fs.publish(puts)
    messages.extend(fs.sweep.notes)
    return ExportResult(files=files, pdf=out / pdf_name if pdf_name in puts else None, messages=messages)

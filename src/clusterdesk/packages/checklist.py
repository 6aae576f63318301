"""What the district sends, where and how: the 寄送清单 (mailing checklist) and the print jobs.

Every fact comes from the notice in the form definition (``Notice``: copies, address, recipient,
phone, deadline, email, what goes electronically), so next year's notice is a new YAML file, not
new code. Qt-free: the print command builder is a pure function the GUI calls and tests check.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field as dc_field
from pathlib import Path
from typing import Any, Callable, Literal, Sequence

from clusterdesk.model.schema import EVIDENCE_GENERAL, Notice, PaperItem

# ----------------------------------------------------------------------------- the checklist


@dataclass(frozen=True)
class PrintItem:
    """One line of the paper part: a document (or a cluster's evidence folder) as the notice asks."""

    material: str  # e.g. 永川数控机床产业集群 申报表
    file: str  # path relative to the submission folder (a folder ends in /)
    copies: int
    seal: bool  # to be stamped after printing
    copies_text: str = ""  # the notice's words: 一式2份, 纸质版2份

    @property
    def file_name(self) -> str:
        return self.file.rstrip("/").rsplit("/", 1)[-1] + ("/" if self.file.endswith("/") else "")

    @property
    def copies_shown(self) -> str:
        return self.copies_text or f"{self.copies}份"


@dataclass(frozen=True)
class ClusterLine:
    title: str
    check_text: str
    eligibility_text: str


@dataclass
class Checklist:
    notice: Notice
    district_name: str
    authority: str
    print_items: list[PrintItem]
    electronic_files: list[str]  # what 电子版.zip holds: files, and each evidence folder with its count
    clusters: list[ClusterLine]
    draft_copies: list[str] = dc_field(default_factory=list)
    missing: list[str] = dc_field(default_factory=list)  # ticked boxes without a file: on paper
    zip_name: str = "电子版.zip"
    evidence_files: int = 0  # how many evidence files the folder (and the zip) holds

    @property
    def copies_text(self) -> str:
        return self.notice.paper_copies_text or f"{self.notice.paper_copies}份"

    @property
    def electronic_lines(self) -> list[str]:
        return _electronic_lines(self)


def _default_paper(notice: Notice) -> tuple[PaperItem, ...]:
    """A notice that does not say what goes on paper: every form, in its copies, unsealed."""
    text = notice.paper_copies_text
    return (PaperItem(what="cluster_forms", copies=notice.paper_copies, copies_text=text),
            PaperItem(what="district_form", copies=notice.paper_copies, copies_text=text))


def build_checklist(notice: Notice, district: Any, statuses: Sequence[Any], documents: Sequence[Any],
                    folder: Path, *, summary_title: str = "", summary_draft_id: int | None = None,
                    draft_copies: Sequence[str] = (), missing: Sequence[str] = (),
                    zip_name: str = "电子版.zip") -> Checklist:
    """The checklist's data from the notice (``paper``: what goes on paper, point by point), the
    district and the compiled documents. Per-cluster items (its form, its evidence) are grouped by
    cluster, in the notice's order; the Excel lists are never printed."""
    pdf_stems = {d.path.with_suffix("") for d in documents if d.kind == "pdf"}

    def forms_of(draft_id: int | None) -> list[Any]:
        return [d for d in documents if d.draft_id == draft_id and (d.kind == "pdf" or (
            d.kind == "print" and d.path.with_suffix("") not in pdf_stems))]

    def rel(p: Path) -> str:
        return p.relative_to(folder).as_posix()

    paper = notice.paper or _default_paper(notice)
    per_cluster = [p for p in paper if p.what != "district_form"]
    items: list[PrintItem] = []
    clusters_placed = False
    for p in paper:
        if p.what == "district_form":
            for d in forms_of(summary_draft_id):
                items.append(PrintItem(material_label(d.owner, d.path.stem, cluster=False), rel(d.path), p.copies,
                                       p.sealed, p.copies_text or ""))
            continue
        if clusters_placed:
            continue
        clusters_placed = True
        for st in statuses:
            for q in per_cluster:
                if q.what == "cluster_forms":
                    for d in forms_of(st.draft_id):
                        items.append(PrintItem(material_label(d.owner, d.path.stem, cluster=True), rel(d.path),
                                               q.copies, q.sealed, q.copies_text or ""))
                    continue
                files = [d for d in documents if d.draft_id == st.draft_id and d.kind == "evidence"]
                if files:
                    where = rel(files[0].path.parent) + "/"
                    label = material_label(st.title, EVIDENCE_GENERAL, cluster=True)
                    items.append(PrintItem(f"{label}（{len(files)} 个文件，按其材料所附“佐证材料目录”的顺序附在其后）",
                                           where, q.copies, q.sealed, q.copies_text or ""))
    electronic: list[str] = []
    evidence_dirs: dict[str, int] = {}
    for d in documents:
        if d.kind == "evidence":
            where = rel(d.path.parent) + "/"
            if where not in evidence_dirs:
                electronic.append(where)
            evidence_dirs[where] = evidence_dirs.get(where, 0) + 1
        elif d.kind in ("editable", "list"):
            electronic.append(rel(d.path))
    electronic = [f"{e}（{evidence_dirs[e]} 个{EVIDENCE_GENERAL}文件）" if e in evidence_dirs else e for e in electronic]
    lines = [ClusterLine(s.title, s.check_text, s.eligibility_text) for s in statuses]
    return Checklist(notice, district.name, district.authority, items, electronic, lines, list(draft_copies),
                     list(missing), zip_name, sum(evidence_dirs.values()))


def material_label(owner: str, stem: str, *, cluster: bool) -> str:
    """How the checklist names a document: 永川数控机床产业集群 申报表 / 申报汇总表 / … 佐证材料."""
    from clusterdesk.model.expr import bracket

    label = stem[len(owner) + 1:] if stem.startswith(owner + "-") else stem
    label = label.replace("-", "")
    if not cluster:
        return label
    short = bracket(owner) or owner
    return f"{short}集群 {label}" if short != owner else f"{owner} {label}"


def _electronic_lines(c: Checklist) -> list[str]:
    """One line per item the notice asks for electronically: its words, what it is and how it goes."""
    n = c.notice
    out = []
    for item in n.electronic:
        if isinstance(item, str):
            out.append(item)
            continue
        if item.content == "sealed_scan":
            what = "上列纸质材料加盖公章后，将每份材料的全部页面扫描为PDF（不只是盖章页）"
        else:
            evidence = f"和{EVIDENCE_GENERAL}" if c.evidence_files else ""
            what = f"“{c.zip_name}”中的全部文件（各份材料的可编辑版、Excel清单{evidence}，见下表）"
        if item.via == "email":
            how = f"作为附件发送至邮箱{n.email}"
        else:
            how = f"刻录到光盘，共{item.copies}张，光盘上写明区县名称，随纸质材料一并报送"
        out.append(f"{item.text}：{what}，{how}。")
    return out


def write_checklist_docx(c: Checklist, path: Path) -> Path:
    """Write the 寄送清单 as a Word document (the Word kit, GB/T 9704 page): the notice's own words,
    then what goes on paper, what goes electronically, when and where, what is missing."""
    from clusterdesk.export import word as dk

    n = c.notice
    doc = dk.new_document()
    dk.add_title(doc, "寄送清单")
    who = c.authority or c.district_name
    dk.add_paragraph(doc, f"{who}：", first_line_indent_chars=0)
    dk.add_paragraph(doc, f"根据《{n.title}》（{n.number}），本次报送材料如下。", first_line_indent_chars=2)
    for quote in n.requirements:
        dk.add_paragraph(doc, f"通知原文：{quote}", first_line_indent_chars=2, size=14)
    if c.draft_copies:
        names = "、".join(f"“{t}”" for t in c.draft_copies)
        dk.add_paragraph(doc, f"注意：{names}仍有错误，本次生成的是标有“草稿”的文件，不能作为正式材料报送。",
                         first_line_indent_chars=2, bold=True)
    numbers = iter("一二三四五六七八九")

    dk.add_heading(doc, f"{next(numbers)}、纸质材料")
    rows: list[Any] = [["序号", "材料", "文件", "份数", "盖章", "核对"]]
    for i, it in enumerate(c.print_items, start=1):
        rows.append([str(i), it.material, it.file, it.copies_shown, "盖章" if it.seal else "—", "□"])
    dk.add_table(doc, [10, 48, 52, 22, 12, 12], rows, header_rows=1, size=10.5)
    if any(it.seal for it in c.print_items):
        dk.add_paragraph(doc, "标“盖章”的材料打印后，在材料中标明的位置（盖章、公章处）加盖公章，并由负责人签字。",
                         first_line_indent_chars=2)

    lines = _electronic_lines(c)
    if lines:
        dk.add_heading(doc, f"{next(numbers)}、电子版")
        for line in lines:
            dk.add_paragraph(doc, f"□ {line}", first_line_indent_chars=2)
        if c.electronic_files and any(not isinstance(e, str) and e.content == "editable" for e in n.electronic):
            dk.add_paragraph(doc, f"“{c.zip_name}”内含：", first_line_indent_chars=2)
            dk.add_table(doc, [12, 144], [["序号", "文件"]] + [[str(i), name] for i, name in
                                                                enumerate(c.electronic_files, start=1)],
                         header_rows=1, size=10.5)

    dk.add_heading(doc, f"{next(numbers)}、报送时间和地点")
    facts = [
        ("截止时间", n.deadline_text),
        ("报送至", n.submit_to),
        ("邮寄地址", n.address),
        ("收件人", n.recipient),
        ("电话", n.phone),
        ("电子邮箱", n.email),
        ("联系人", n.contact),
    ]
    dk.add_table(doc, [40, 116], [[k, v] for k, v in facts if v])
    if n.max_clusters_rule:
        dk.add_paragraph(doc, n.max_clusters_rule, first_line_indent_chars=2)

    if c.missing:
        dk.add_heading(doc, f"{next(numbers)}、未附的{EVIDENCE_GENERAL}（须纸质提供）")
        dk.add_paragraph(doc, f"以下勾选项没有附上{EVIDENCE_GENERAL}文件，请将纸质{EVIDENCE_GENERAL}附在相应集群的材料后：",
                         first_line_indent_chars=2)
        for line in c.missing:
            dk.add_paragraph(doc, f"□ {line}", first_line_indent_chars=2, size=14)

    dk.add_heading(doc, f"{next(numbers)}、本次报送的集群")
    rows = [["序号", "集群名称", "检查结果", "申报条件"]]
    for i, cl in enumerate(c.clusters, start=1):
        rows.append([str(i), cl.title, cl.check_text, cl.eligibility_text])
    dk.add_table(doc, [12, 64, 30, 50], rows, header_rows=1)
    return dk.save_docx(doc, path)


# ----------------------------------------------------------------------------- printing


@dataclass(frozen=True)
class PrintJob:
    """One way of sending one file to the printer.

    kind ``startfile``: Windows' print verb (``os.startfile(path, "print")``), run ``repeat`` times
    because the verb prints one copy; ``command``: run ``argv`` (``lp -n 2 file.pdf``); ``pdf_then``:
    convert ``path`` to PDF with LibreOffice first, then run ``argv`` with ``{pdf}`` replaced;
    ``open``: no printing path; open the file so the user prints it (the GUI says how many copies).
    """

    path: Path
    kind: Literal["startfile", "command", "pdf_then", "open"]
    copies: int
    argv: tuple[str, ...] = ()
    repeat: int = 1


def print_jobs(files: Sequence[Path], copies: int = 2, *, platform: str | None = None, lp: str | None = "auto",
               soffice: str | None = "auto") -> list[PrintJob]:
    """How to print each file ``copies`` times on this system (pure: no side effects).

    Windows: the shell's print verb, once per copy. Elsewhere: ``lp -n N`` for PDFs; a .docx/.xlsx
    is converted to PDF with LibreOffice first (CUPS cannot render Office files); without ``lp``,
    or without LibreOffice for an Office file, the file is opened for the user to print."""
    platform = platform or sys.platform
    if lp == "auto":
        lp = shutil.which("lp")
    if soffice == "auto":
        from clusterdesk.export.pdf import find_soffice

        soffice = find_soffice()
    jobs: list[PrintJob] = []
    for f in files:
        f = Path(f)
        if platform.startswith("win"):
            jobs.append(PrintJob(f, "startfile", copies, repeat=copies))
        elif lp and f.suffix.lower() == ".pdf":
            jobs.append(PrintJob(f, "command", copies, (lp, "-n", str(copies), "-t", f.stem, str(f))))
        elif lp and soffice and f.suffix.lower() in (".docx", ".doc", ".xlsx", ".xls"):
            jobs.append(PrintJob(f, "pdf_then", copies, (lp, "-n", str(copies), "-t", f.stem, "{pdf}")))
        else:
            jobs.append(PrintJob(f, "open", copies))
    return jobs


def office_to_pdf(path: Path, out_dir: Path) -> Path:
    """A PDF of a .docx or .xlsx through LibreOffice."""
    from clusterdesk.export.pdf import docx_to_pdf

    return docx_to_pdf(path, out_dir)


class OpenFailed(Exception):
    """An ``open`` job found no program to open its file: nothing was printed."""

    def __init__(self, path: Path):
        self.path = path
        super().__init__(f"本机没有程序能打开“{path.name}”，未能打印。")


def run_print_job(job: PrintJob, *, work_dir: Path,
                  open_file: Callable[[Path], Any] | None = None) -> str | None:
    """Carry out one job. Returns a Chinese note for the user (e.g. print by hand), or None.

    ``open_file(path)`` must return whether a program opened the file; when none did (or there
    is no ``open_file``), :class:`OpenFailed` is raised instead of asking the user to print."""
    if job.kind == "startfile":
        for _ in range(job.repeat):
            os.startfile(str(job.path), "print")  # type: ignore[attr-defined]  # Windows only
        return None
    if job.kind == "command":
        subprocess.run(list(job.argv), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return None
    if job.kind == "pdf_then":
        pdf = office_to_pdf(job.path, work_dir)
        subprocess.run([str(pdf) if a == "{pdf}" else a for a in job.argv], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return None
    if open_file is None or not open_file(job.path):
        raise OpenFailed(job.path)
    return f"“{job.path.name}”已打开，请在打开的程序中打印{job.copies}份。"


__all__ = ["Checklist", "ClusterLine", "OpenFailed", "PrintItem", "PrintJob", "build_checklist", "office_to_pdf",
           "print_jobs", "run_print_job", "write_checklist_docx"]

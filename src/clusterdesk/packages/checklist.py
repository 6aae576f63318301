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

from clusterdesk.model.schema import Notice

# ----------------------------------------------------------------------------- the checklist


@dataclass(frozen=True)
class PrintItem:
    material: str  # e.g. 永川数控机床产业集群 申报表
    file: str  # path relative to the submission folder
    copies: int
    seal: bool  # to be stamped after printing

    @property
    def file_name(self) -> str:
        return self.file.rsplit("/", 1)[-1]


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
    electronic_files: list[str]  # names inside 电子版.zip
    clusters: list[ClusterLine]
    draft_copies: list[str] = dc_field(default_factory=list)

    @property
    def copies_text(self) -> str:
        return self.notice.paper_copies_text or f"{self.notice.paper_copies}份"


def build_checklist(notice: Notice, district: Any, statuses: Sequence[Any], documents: Sequence[Any],
                    folder: Path, *, summary_title: str = "", summary_draft_id: int | None = None,
                    draft_copies: Sequence[str] = ()) -> Checklist:
    """The checklist's data from the notice, the district and the compiled documents."""
    copies = notice.paper_copies
    items: list[PrintItem] = []
    pdf_stems = {d.path.with_suffix("") for d in documents if d.kind == "pdf"}
    for d in documents:
        if d.kind not in ("print", "list", "pdf"):
            continue
        if d.kind == "print" and d.path.with_suffix("") in pdf_stems:
            continue  # the PDF of the same document is printed instead
        rel = d.path.relative_to(folder).as_posix()
        items.append(PrintItem(material_label(d.owner, d.path.stem, cluster=d.draft_id != summary_draft_id),
                               rel, copies, seal=d.kind != "list"))
    electronic = [d.path.relative_to(folder).as_posix() for d in documents if d.kind in ("editable", "list")]
    lines = [ClusterLine(s.title, s.check_text, s.eligibility_text) for s in statuses]
    return Checklist(notice, district.name, district.authority, items, electronic, lines, list(draft_copies))


def material_label(owner: str, stem: str, *, cluster: bool) -> str:
    """How the checklist names a document: 永川数控机床产业集群 申报表 / 申报汇总表 / … 清单."""
    from clusterdesk.model.expr import bracket

    label = stem[len(owner) + 1:] if stem.startswith(owner + "-") else stem
    label = label.replace("-", "")
    if not cluster:
        return label
    short = bracket(owner) or owner
    return f"{short}集群 {label}" if short != owner else f"{owner} {label}"


def _electronic_lines(c: Checklist, zip_name: str) -> list[str]:
    """One line per item the notice asks for electronically, in the notice's words."""
    out = []
    for item in c.notice.electronic:
        if "PDF" in item.upper():
            out.append(f"{item}：打印并加盖公章后，将盖章页扫描为PDF（本程序不能代替盖章，请勿发送未盖章的文件）。")
        elif "光盘" in item:
            out.append(f"{item}：将“{zip_name}”中的文件刻录到光盘，光盘上写明区名。")
        else:
            out.append(f"{item}：“{zip_name}”中的文件（可直接作为邮件附件）。")
    return out


def write_checklist_docx(c: Checklist, path: Path, *, zip_name: str = "电子版.zip") -> Path:
    """Write the 寄送清单 as a Word document (the Word kit, GB/T 9704 page)."""
    from clusterdesk.export import word as dk

    n = c.notice
    doc = dk.new_document()
    dk.add_title(doc, "寄送清单")
    who = c.authority or c.district_name
    dk.add_paragraph(doc, f"{who}：", first_line_indent_chars=0)
    dk.add_paragraph(doc, f"根据《{n.title}》（{n.number}），本次报送材料如下。", first_line_indent_chars=2)
    if c.draft_copies:
        names = "、".join(f"“{t}”" for t in c.draft_copies)
        dk.add_paragraph(doc, f"注意：{names}仍有错误，本次生成的是标有“草稿”的文件，不能作为正式材料报送。",
                         first_line_indent_chars=2, bold=True)

    dk.add_heading(doc, f"一、打印（每份材料{c.copies_text}）")
    rows: list[Any] = [["序号", "材料", "文件名", "份数", "核对"]]
    for i, it in enumerate(c.print_items, start=1):
        rows.append([str(i), it.material + ("（盖章）" if it.seal else ""), it.file_name, f"{it.copies}份", "□"])
    dk.add_table(doc, [12, 50, 68, 14, 12], rows, header_rows=1)
    dk.add_paragraph(doc, "标“（盖章）”的材料打印后，在材料中标明的位置加盖公章、签字。", first_line_indent_chars=2)

    dk.add_heading(doc, "二、邮寄")
    facts = [
        ("截止时间", n.deadline_text),
        ("报送至", n.submit_to),
        ("邮寄地址", n.address),
        ("收件人", n.recipient),
        ("电话", n.phone),
    ]
    dk.add_table(doc, [40, 116], [[k, v] for k, v in facts if v])
    if n.max_clusters_rule:
        dk.add_paragraph(doc, n.max_clusters_rule, first_line_indent_chars=2)

    dk.add_heading(doc, "三、电子版")
    if n.email:
        dk.add_paragraph(doc, f"同步发送至邮箱：{n.email}", first_line_indent_chars=2)
    for line in _electronic_lines(c, zip_name):
        dk.add_paragraph(doc, f"□ {line}", first_line_indent_chars=2)
    if c.electronic_files:
        dk.add_paragraph(doc, f"“{zip_name}”内含：", first_line_indent_chars=2)
        dk.add_table(doc, [12, 144], [["序号", "文件"]] + [[str(i), name] for i, name in
                                                            enumerate(c.electronic_files, start=1)], header_rows=1)
    if n.contact:
        dk.add_heading(doc, "四、联系人")
        dk.add_paragraph(doc, f"联系人：{n.contact}", first_line_indent_chars=2)

    dk.add_heading(doc, "五、本次报送的集群" if n.contact else "四、本次报送的集群")
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

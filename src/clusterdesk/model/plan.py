"""The presentation plan: what the print of a form holds, in order, compiled from the layout the
definition declares (``forms/*.yaml``) and the answers. No Qt, no python-docx: the Word renderer,
the Excel lists, the templates and the wizard all read it, and none of them knows any form.

The layout vocabulary (checked by :mod:`clusterdesk.model.schema`):

* every section has a ``layout``: ``cover`` (label：value lines and the issuer line … 制),
  ``instructions`` (the form's 填报说明), ``table`` (the official two-part table), ``outline``
  (headings, the official hints and the text; ``frame: true`` puts the whole part in one framed cell,
  as 八 is), ``statement`` (真实性声明) or ``list`` (header lines and one table of rows);
  ``print_title: false`` leaves out a title the document's own title already says;
* in a table, each field is a row: its label cell on the left, its value cell spanning the value
  area. A field with ``of: <field id>`` belongs to that field's row (its full name for users is
  "<that label> · <label>") and ``place`` says where it prints: ``row`` (a row of its own),
  ``beside`` (in the same row as the field before it: 联系人 | … | 联系方式 | …), ``below`` (a row
  under the merged label of its field: the CO₂ 注 row) or ``within`` (in its field's value cell);
* year cells sit per ``years_as``: ``columns`` under the section's 年度 header (the default when the
  section has ``years``), ``header`` (a year row of the field's own, the default otherwise) or
  ``rows`` (one "2021年 | value" row per year, the label merged over them);
* ``unit_in_cell`` prints the unit after the number, as the official cell does ("486 个"); notes
  print in the value cell after the value (a matrix's in its label cell); a ``group`` is a merged
  label cell over sub-rows, a count and its names list (``list_for``) share one cell
  (数量：… 个 / 名称：…);
* a fixed row of a repeat table with ``unused: omit`` is left out of a filled print when nobody
  used it, ``unused: 无`` keeps it with 无 (the blank form prints every fixed row);
* a sign with ``field`` prints that field's value (落款: the authority, the date); ``cover_title``
  may name fields as ``${section.field}``.

Official text never carries a fill mark into a print: the marks a definition declares
(``fill_marks: [XX]``) become the answer, or a line to write on.

Usage::

    plan = compile_plan(form, answers, evidence)     # a filled print
    plan = compile_plan(form, blank=True)            # the blank form, for filling by hand
    for part in plan.parts: ...                      # Part(section, layout, title, new_page, blocks)
    for lst in plan.lists: ...                       # the lists appended after the form (附：…)
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field as dc_field
from decimal import Decimal
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Literal, Sequence, Union

from .form import FormDef
from .schema import EVIDENCE_GENERAL, Column, Field, Group, Heading, Note, Section, Sign
from .values import EMPTY_TEXT, Spec, format_value

from .rules import applies

if TYPE_CHECKING:
    from .rules import Achieved, Answers

__all__ = [
    "TICKED", "UNTICKED", "FILL", "Cell", "Row", "Table", "Para", "Line", "Cover", "Statement", "SignLine",
    "Signs", "Frame", "Part", "ListPlan", "EvidenceEntry", "Plan", "compile_plan", "applies", "field_text",
    "column_text", "repeat_rows", "table_rows", "printed_title", "evidence_entries", "normalise_evidence",
    "EvidenceFile", "option_lines", "fill_marks", "list_fields", "ACHIEVEMENT_TITLE", "evidence_names",
    "NOT_ATTACHED_DELIVERED",
]

#: The boxes of choices and box lists. □ (U+25A1) and ■ (U+25A0) are both in GB2312, so 宋体 and 仿宋
#: on every Chinese Windows and WPS print them in the body face itself; ■ stays solid on a photocopy
#: (☑ is not in GB2312 and its thin tick fades; a √ drawn over □ depends on each program's kerning).
TICKED = "■"
UNTICKED = "□"
#: A line to write on, where official text says XX or names a field (blank form, unanswered title).
FILL = "＿＿＿＿"
#: The title of the analysis beside an annual report (its own document, not part of the sealed one).
ACHIEVEMENT_TITLE = "目标完成情况"

# -- page geometry (A4, GB/T 9704): what the plan measures keep-with-next against -------------------
TEXT_WIDTH_MM = 156.0  # 210 − 28 − 26
LANDSCAPE_WIDTH_MM = 243.0  # 297 − 28 − 26
TEXT_HEIGHT_MM = 225.0  # 297 − 37 − 35
TABLE_PT = 12.0  # 小四: table text
SMALL_PT = 10.5  # 五号: the standards matrix (ten columns across)
CELL_MARGIN_MM = 1.2
ROW_MIN_MM = 7.5
PT_MM = 25.4 / 72
LINE_FACTOR = 1.35  # single line spacing of the CJK faces, in ems
#: Writing space of the blank form: a handwritten character about 4.5 mm wide, lines 7 mm apart.
HAND_CHAR_MM = 4.5
WRITING_LINE_MM = 7.0
MAX_PART_LINES = 14  # an outline part without an official total gets at most this many lines
BODY_PT, BODY_LINE_PT = 16.0, 28.0  # 三号 on the GB/T 9704 line
NOTE_PT, NOTE_LINE_PT = 14.0, 22.0  # 四号: official remarks and hints
HEADING_MM = 12.0  # a part's title line
PAGE_FOOT_MM = 30.0  # the blank form's writing space ends this far above the foot of a page
PAGE_LOSS_MM = 8.0  # what a page break leaves unused at the foot of a page (the line that no longer fits)
LIST_ROOM_MM = 80.0  # the blank rows of a landscape list share this much (the 汇总表 stays on one page)
#: A continuation page of a part must hold at least this much (a quarter of the text block); the
#: plan keeps the last rows of a table part together up to a little more, its estimates being rough.
MIN_TAIL_MM = TEXT_HEIGHT_MM / 4
TAIL_TARGET_MM = TEXT_HEIGHT_MM * 0.32
#: A merged label block up to this height is kept on one page; a longer one may break between its rows.
KEEP_BLOCK_MM = TEXT_HEIGHT_MM * 0.4

_REF = re.compile(r"\$\{([a-z0-9_.]+)\}")
_DATE = re.compile(r"年.*月.*日\s*$")
_H1 = re.compile(r"^[一二三四五六七八九十]+、")
_H2 = re.compile(r"^（[一二三四五六七八九十]+）")
_H3 = re.compile(r"^\d+[.．、]")
_H4 = re.compile(r"^[（(]\d+[）)]")
_BRACKETS = re.compile(r"[（(][^（）()]*[）)]")


# ---------------------------------------------------------------------------------------------
# Answers as printed
# ---------------------------------------------------------------------------------------------


def field_text(answers: "Answers", key: str, field: Field) -> str:
    """A cell's value as printed (numbers with their decimals, 2 for amounts and percentages)."""
    v = answers.value(key)
    if v is None:
        return ""
    return format_value(v, Spec.of(field))


def column_text(col: Column, value: Any) -> str:
    if value is None:
        return ""
    return format_value(value, Spec.of(col))


def repeat_rows(answers: "Answers", key: str) -> list[dict[str, Any]]:
    v = answers.value(key)
    if not isinstance(v, list):
        return []
    return [r for r in v if isinstance(r, dict)]


def _fixed_cells(fr: dict[str, str]) -> dict[str, str]:
    """A fixed row's printed cells (its ``key`` and ``unused`` are not cells)."""
    return {k: v for k, v in fr.items() if k not in ("key", "unused")}


def table_rows(field: Field, rows: list[dict[str, Any]], *, for_print: bool = False) -> list[dict[str, Any]]:
    """The rows of a repeat as the table shows them: fixed rows (the ones the form prints) filled with
    the answers and kept in the form's order, the user's own rows where they put them.

    ``for_print``: a fixed row nobody filled in follows its ``unused``: ``omit`` leaves it out,
    ``无`` keeps it with 无 in its empty printed cells."""
    if not field.fixed_rows:
        return [r for r in rows if set(r) - {"key"}]
    fixed: dict[object, dict[str, str]] = {fr["key"]: fr for fr in field.fixed_rows}
    out: list[dict[str, Any]] = []
    seen: set[object] = set()
    for r in rows:
        k = r.get("key")
        if k in fixed:
            merged = {**_fixed_cells(fixed[k]), **{c: v for c, v in r.items() if v is not None}}
            seen.add(k)
            out.append(merged)
        elif set(r) - {"key"}:
            out.append(dict(r))
    for idx, fr in enumerate(field.fixed_rows):
        if fr["key"] in seen:
            continue
        earlier = {f["key"] for f in field.fixed_rows[:idx]}
        pos = 0
        for j, r in enumerate(out):
            if r.get("key") in earlier:
                pos = j + 1
        out.insert(pos, {"key": fr["key"], **_fixed_cells(fr)})
    if for_print:
        cols = [c.id for c in field.columns if c.printed]
        kept = []
        for r in out:
            printed = fixed.get(r.get("key"))
            if printed is not None:  # unused: nothing typed beyond what the form prints in it
                unused = all(r.get(c) in (None, "", printed.get(c)) for c in cols)
                if unused and printed.get("unused") == "omit":
                    continue
                if unused and printed.get("unused") == EMPTY_TEXT:
                    r = {**r, **{c: EMPTY_TEXT for c in cols
                                 if r.get(c) in (None, "", field.open_text) or not str(r.get(c)).strip()}}
            kept.append(r)
        out = kept
    return out


def fill_marks(text: str, marks: Sequence[str]) -> str:
    """Official text with the definition's fill marks (``fill_marks``, e.g. XX in “（XX产业）”) as
    lines to write on."""
    for mark in sorted(marks, key=len, reverse=True):
        text = text.replace(mark, FILL)
    return text


def printed_title(form: FormDef, answers: "Answers | None") -> str:
    """The document's title as printed: ``cover_title`` with its ``${field}`` references answered (a
    line to write on in the blank form, or while unanswered)."""
    title = form.form.cover_title or form.title

    def sub(m: re.Match[str]) -> str:
        if answers is None or not form.has_cell(m.group(1)):
            return FILL
        v = answers.value(m.group(1))
        return str(v).strip() if isinstance(v, str) and v.strip() else FILL

    return fill_marks(_REF.sub(sub, title), form.form.fill_marks)


def _title_refs(form: FormDef) -> set[str]:
    return set(_REF.findall(form.form.cover_title or ""))


def option_lines(f: Field, value: Any, width_mm: float | None = None, size_pt: float = TABLE_PT, *,
                 bare: bool = False) -> list[str]:
    """The boxes of a choice or box list as printed: prefix, □/■ options in official order, notes
    (``bare``: the options only). A choice whose options fit on one line prints them side by side
    (□是　□否)."""
    chosen = set(value) if isinstance(value, list) else ({value} if value is not None else set())
    items = [(TICKED if o in chosen else UNTICKED) + o for o in f.options]
    paras = [f.prefix] if f.prefix and not bare else []
    notes = [] if bare else list(f.notes)
    if f.type == "choice" and width_mm is not None:
        inline = "　　".join(items)
        cpl = _chars_per_line(width_mm, size_pt)
        if _width(inline) <= cpl:
            if notes and _width(inline + notes[0]) <= cpl:
                inline += notes.pop(0)
            return paras + [inline] + notes
    return paras + items + notes


# ---------------------------------------------------------------------------------------------
# Evidence (the 佐证材料目录 after the form)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceFile:
    """One attached evidence file: the cell it belongs to, the option, the file name.

    ``ext``: the extension of its checked content (``pdf``, ``jpg`` …; None: the name's own);
    ``delivered``: the name it is delivered under (:func:`evidence_names`); ``source``: whatever
    the caller needs to find the bytes (the store's evidence id), not compared."""

    key: str
    option: str
    filename: str
    ext: str | None = None
    delivered: str | None = None
    source: Any = dc_field(default=None, compare=False)


def normalise_evidence(evidence: Iterable[Any] | None) -> list[EvidenceFile]:
    """Store ``EvidenceInfo`` records, ``(key, option, path_or_name)`` tuples or EvidenceFile."""
    out: list[EvidenceFile] = []
    for e in evidence or ():
        if isinstance(e, EvidenceFile):
            out.append(e)
        elif hasattr(e, "key") and hasattr(e, "option") and hasattr(e, "filename"):
            out.append(EvidenceFile(str(e.key), str(e.option), str(e.filename), source=getattr(e, "id", None)))
        else:
            key, option, f = e
            name = f.name if isinstance(f, PurePath) else PurePath(str(f)).name
            out.append(EvidenceFile(str(key), str(option), name))
    return out


@dataclass(frozen=True)
class EvidenceEntry:
    section: str  # 二、主导产业情况
    label: str  # the field's full name (and year)
    option: str  # the ticked option, 是, or the count as printed
    files: tuple[str, ...]
    missing: str = "未附"  # printed when no file is attached


#: What the 佐证材料目录 says of a ticked box without a file, when the evidence is delivered with
#: the form (a district's submission): the evidence goes on paper.
NOT_ATTACHED_DELIVERED = "未附（纸质提供）"
#: The option's or label's words in a delivered file name are cut to this many characters.
EVIDENCE_NAME_CHARS = 24
_NAME_CUT = re.compile(r"[，,；;：:。]")
_NAME_BAD = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_ZH_DIGITS = "零一二三四五六七八九"


def _zh_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 23 → 二十三 (section numbers as the forms write them)."""
    if n < 10:
        return _ZH_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _ZH_DIGITS[tens % 10]) + "十" + (_ZH_DIGITS[ones] if ones else "")


def _evidence_slots(form: FormDef, answers: "Answers") -> Iterator[tuple[Any, str, str, str, str]]:
    """Every ticked option and every if_yes / if_positive field that applies, in form order:
    (cell, 目录 label, option as printed, the option evidence is stored under, the words of a
    delivered name)."""
    for cell in form.cells:
        f = cell.field
        if f.evidence == "none" or not applies(answers, f):
            continue
        v = answers.value(cell.key)
        label = (cell.name or f.label) + (f" {cell.column}" if cell.column else "")
        words = _BRACKETS.sub("", f.label).strip() or f.label
        if f.evidence == "ticked":
            chosen = set(v) if isinstance(v, list) else set()
            for opt in f.options:
                if opt in chosen:
                    yield cell, label, opt, opt, opt
        elif f.evidence == "if_yes":
            if v == "是":
                yield cell, label, "是", "是", words
        elif f.evidence == "if_positive":
            try:
                positive = v is not None and Decimal(str(v)) > 0
            except Exception:
                positive = False
            if positive:
                text = field_text(answers, cell.key, f)
                unit = f" {f.unit}" if f.unit and f.unit != "%" else ""
                yield cell, label, f"{text}{unit}", EVIDENCE_GENERAL, words


def evidence_entries(form: FormDef, answers: "Answers", evidence: Sequence[EvidenceFile], *,
                     delivered: bool = False) -> list[EvidenceEntry]:
    """Every ticked option and every if_yes / if_positive field that applies, in form order, with its
    evidence files: their own names, or with ``delivered`` the names they are delivered under
    (:func:`evidence_names`; a box without a file then says 未附（纸质提供））."""
    files: dict[tuple[str, str], list[str]] = {}
    for e in (evidence_names(form, answers, evidence) if delivered else evidence):
        files.setdefault((e.key, e.option), []).append(e.delivered or e.filename if delivered else e.filename)
    missing = NOT_ATTACHED_DELIVERED if delivered else "未附"
    return [EvidenceEntry(cell.section.title, label, shown, tuple(files.get((cell.key, stored), [])), missing)
            for cell, label, shown, stored, _ in _evidence_slots(form, answers)]


def _section_numbers(form: FormDef) -> dict[str, str]:
    """A section's number as its title writes it (二、主导产业情况 → 二), else its place among the
    form's sections in Chinese numerals."""
    out = {}
    for i, s in enumerate(form.sections, start=1):
        m = _H1.match(s.title)
        out[s.id] = m.group(0).rstrip("、") if m else _zh_number(i)
    return out


def _box_numbers(form: FormDef) -> dict[str, int]:
    """Each evidence field's place among the fields of its section that ask for evidence (1, 2 …)."""
    out: dict[str, int] = {}
    for s in form.sections:
        n = 0
        for f in s.fields():
            if f.evidence != "none":
                n += 1
                out[f"{s.id}.{f.id}"] = n
    return out


def _name_words(text: str) -> str:
    """An option's or label's words for a file name: up to the first ，；：。, at most
    EVIDENCE_NAME_CHARS characters, without characters Windows does not allow in names."""
    cut = _NAME_CUT.split(text, 1)[0].strip() or text.strip()
    cut = _NAME_BAD.sub("_", cut)[:EVIDENCE_NAME_CHARS]
    return cut.strip().rstrip(". ") or "佐证材料"


def evidence_names(form: FormDef, answers: "Answers", evidence: Sequence[EvidenceFile]) -> list[EvidenceFile]:
    """The evidence files delivered with a form, in the order of its 佐证材料目录, each with the name
    it is delivered under (``delivered``). Only files of ticked options and of fields that apply
    are delivered, one file per (option, file): a file attached to three options goes three times.

    The rule: ``<部分>-<序号>-<选项>[-<n>].<扩展名>``, e.g. ``二-1-绘制产业链图谱.pdf``:

    * 部分: the section's number as its title writes it (二 of 二、主导产业情况); a section whose
      title has none: its place among the form's sections (一, 二 …);
    * 序号: the field's place among the fields of its section that ask for evidence (box lists and
      the 是 / 数量 questions), counted from 1 in form order: 二-1 is 二's first box list;
    * 选项: the ticked option's words up to its first ，；：。 (at most 24 characters); for a field
      evidenced as a whole, its label without brackets (建立了集群碳排放监测机制); a year cell adds
      its year (-2023年);
    * -n: 1, 2 … when one option has several files, in the order they were attached;
    * 扩展名: from the file's checked content (``ext``), else its own name's;
    * characters Windows does not allow in a name become _; a name already taken gets （2）, （3）….
    """
    by_slot: dict[tuple[str, str], list[EvidenceFile]] = {}
    for e in evidence:
        by_slot.setdefault((e.key, e.option), []).append(e)
    sections, boxes = _section_numbers(form), _box_numbers(form)
    out: list[EvidenceFile] = []
    taken: set[str] = set()
    for cell, _label, _shown, stored, words in _evidence_slots(form, answers):
        files = by_slot.get((cell.key, stored), [])
        stem = f"{sections[cell.section.id]}-{boxes[cell.field_key]}-{_name_words(words)}"
        if cell.column:
            stem += f"-{_name_words(cell.column)}"
        for n, e in enumerate(files, start=1):
            ext = (e.ext or PurePath(e.filename).suffix.lstrip(".") or "bin").lower()
            base = f"{stem}-{n}" if len(files) > 1 else stem
            name, k = f"{base}.{ext}", 1
            while name.casefold() in taken:
                k += 1
                name = f"{base}（{k}）.{ext}"
            taken.add(name.casefold())
            out.append(EvidenceFile(e.key, e.option, e.filename, e.ext, name, e.source))
    return out


# ---------------------------------------------------------------------------------------------
# The plan's parts
# ---------------------------------------------------------------------------------------------


CellAlign = Literal["left", "center", "justify"]


@dataclass
class Cell:
    """A cell of an official table."""

    text: list[str]  # paragraphs
    span: int = 1  # grid columns
    merge: Literal["start", "continue"] | None = None  # vertical merge
    role: str = "value"  # label | value | head
    align: CellAlign = "left"
    key: str | None = None  # the answer cell shown (value cells)
    remark: str | None = None  # for the editable version only: the formula, the reason for a typed value
    indent: bool = False  # a narrative answer: first lines indented two characters
    small: bool = False  # 五号 (the standards matrix)
    space: int = 0  # blank form: lines to write on after the text
    indents: dict[int, tuple[float, float]] = dc_field(default_factory=dict)  # paragraph → (left, hanging) chars

    @property
    def options(self) -> bool:
        return any(t[:1] in (TICKED, UNTICKED) for t in self.text)


@dataclass
class Row:
    cells: list[Cell]
    keep_next: bool = False  # kept on the page of the next row
    header: bool = False  # repeated at the top of every page the table runs onto
    min_mm: float = ROW_MIN_MM
    exact: bool = False  # the row height is fixed (dense landscape lists)


@dataclass
class Table:
    widths: list[float]  # mm, adding up to the width the table is printed in
    rows: list[Row]
    size: str = "table"  # table (小四) | list (五号, exact lines: the landscape 汇总表)

    @property
    def header_rows(self) -> int:
        n = 0
        for r in self.rows:
            if not r.header:
                break
            n += 1
        return n


@dataclass
class Para:
    """A paragraph: attachment, title, page_title, section, h1…h4, hint, note, body, instruction."""

    text: str
    style: str
    lead: str | None = None  # a run-in heading printed before the text (（1）2024年度。……)
    lead_style: str | None = None
    space: int = 0  # blank form: lines to write on after it


@dataclass
class Line:
    """"label：value" on a ruled line (cover, the header lines of a list)."""

    label: str
    value: str
    placeholder: str | None = None  # blank form: printed under the line


@dataclass
class Cover:
    attachment: str | None
    title: str
    lines: list[Line]
    maker: str | None


@dataclass
class SignLine:
    text: str
    seal: bool = False  # room for a round seal above it
    date: bool = False  # the date line (年 月 日)


@dataclass
class Signs:
    """A signing block: names above room for the seal, the date (落款)."""

    lines: list[SignLine]


@dataclass
class Statement:
    label: str  # 真实性声明
    paras: list[str]
    signs: list[SignLine]


@dataclass
class Frame:
    """One framed cell holding a whole part (八)."""

    blocks: list["Block"]


Block = Union[Para, Line, Cover, Table, Signs, Statement, Frame]


@dataclass
class Part:
    section: Section | None
    layout: str
    blocks: list[Block]
    new_page: bool = False
    keep: bool = False  # 不得串页: the part starts a page and no other part runs into its pages


@dataclass
class ListPlan:
    """A list appended after the form (附：有效发明专利清单 …): its rows go to the Word appendix and the
    lists workbook alike."""

    field: Field
    key: str
    title: str  # 有效发明专利清单
    where: str  # 三、创新能力情况 · 集群内中小企业有效发明专利拥有量
    columns: list[Column]  # the printed columns
    rows: list[dict[str, Any]]

    @property
    def serial(self) -> bool:
        """Whether a column is the 序号 itself (else the print numbers the rows)."""
        return any(c.auto == "serial" for c in self.columns)

    def header(self) -> list[str]:
        return ([] if self.serial else ["序号"]) + [c.label for c in self.columns]

    def texts(self) -> Iterator[list[str]]:
        """Every row as printed, one pass (10,000 rows of a patent list in well under a second)."""
        fmt = [(c.id, Spec.of(c), c.auto == "serial") for c in self.columns]
        text_types = ("text", "narrative", "choice", "value")
        serial = self.serial
        for i, r in enumerate(self.rows, start=1):
            line = [] if serial else [str(i)]
            for cid, spec, auto in fmt:
                v = r.get(cid)
                line.append(str(i) if auto else ("" if v is None else (
                    v if type(v) is str and spec.type in text_types else format_value(v, spec))))
            yield line


@dataclass
class Plan:
    form: FormDef
    blank: bool
    title: str
    landscape: bool
    text_width: float
    parts: list[Part]
    lists: list[ListPlan] = dc_field(default_factory=list)
    evidence: list[EvidenceEntry] | None = None  # None: the form asks for no evidence (or blank)
    achievement: list["Achieved"] = dc_field(default_factory=list)  # its own document beside the form

    @property
    def has_cover(self) -> bool:
        return any(p.layout == "cover" for p in self.parts)


# ---------------------------------------------------------------------------------------------
# Measuring (for keep-with-next and writing space)
# ---------------------------------------------------------------------------------------------


def _width(text: str) -> float:
    """Display width in full-width characters (CJK 1, Latin ½)."""
    w = 0
    for ch in text:
        w += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
    return w / 2


def _chars_per_line(width_mm: float, size_pt: float) -> int:
    return max(1, int((width_mm - 2 * CELL_MARGIN_MM) / (size_pt * PT_MM)))


def _lines_of(paras: Sequence[str], width_mm: float, size_pt: float) -> int:
    cpl = _chars_per_line(width_mm, size_pt)
    return sum(max(1, math.ceil(_width(p) / cpl)) for p in paras) if paras else 1


def _writing_lines(chars: int, width_mm: float, max_lines: int | None = None) -> int:
    per_line = max(1, int((width_mm - 2 * CELL_MARGIN_MM) / HAND_CHAR_MM))
    n = max(2, math.ceil(chars / per_line))
    return min(n, max_lines) if max_lines else n


def _cell_mm(c: Cell, width_mm: float) -> float:
    size = SMALL_PT if c.small else TABLE_PT
    lines = _lines_of(c.text, width_mm, size) if c.text else 1
    return lines * size * PT_MM * LINE_FACTOR + 1.5 + c.space * WRITING_LINE_MM


def _para_mm(p: Para, width_mm: float) -> float:
    """A paragraph's height as the Word renderer sets it: 三号 on a 28 pt line, remarks and hints
    四号 on a 22 pt line, lines to write on 7 mm each."""
    size, line = (NOTE_PT, NOTE_LINE_PT) if p.style in ("hint", "note") else (BODY_PT, BODY_LINE_PT)
    text = (p.lead or "") + p.text
    n = math.ceil((_width(text) + 2) / max(1, int(width_mm / (size * PT_MM)))) if text or not p.space else 0
    return n * line * PT_MM + p.space * WRITING_LINE_MM


def _blocks_mm(blocks: Sequence[Any], width_mm: float) -> float:
    total = 0.0
    for b in blocks:
        if isinstance(b, Para):
            total += _para_mm(b, width_mm)
        elif isinstance(b, Table):
            total += sum(_row_mm(r, b.widths) for r in b.rows)
        elif isinstance(b, Line):
            total += NOTE_LINE_PT * PT_MM * 1.3
    return total


def _fill_pages(blocks: list[Any], width_mm: float, before_mm: float) -> None:
    """The blank form's outline with an official total (3000字以内) gets whole pages to write on: the
    writing space of its parts grows until the part ends a little above the foot of a page (so no page
    holds a stray slice of it)."""
    spaces = [b for b in blocks if isinstance(b, Para) and b.space]
    if not spaces:
        return
    used = before_mm + _blocks_mm(blocks, width_mm)
    page = TEXT_HEIGHT_MM - PAGE_LOSS_MM
    pages = math.ceil((used + PAGE_FOOT_MM) / page)
    extra = int((pages * page - PAGE_FOOT_MM - used) / WRITING_LINE_MM)
    for i in range(max(0, extra)):
        spaces[i % len(spaces)].space += 1


def _row_mm(r: Row, widths: Sequence[float]) -> float:
    col = 0
    h = r.min_mm
    for c in r.cells:
        w = sum(widths[col:col + c.span])
        col += c.span
        if c.merge == "continue" or c.merge == "start":
            continue
        h = max(h, _cell_mm(c, w))
    return h


# ---------------------------------------------------------------------------------------------
# Compiling
# ---------------------------------------------------------------------------------------------


def compile_plan(form: FormDef, answers: "Answers | None" = None, evidence: Iterable[Any] = (), *,
                 blank: bool = False, delivered_evidence: bool = False) -> Plan:
    """The print of ``form`` with ``answers``, or its blank form (``blank=True``, no answers).
    ``delivered_evidence``: the evidence goes with the form (a district's submission), so its
    佐证材料目录 names each file as it is delivered (:func:`evidence_names`)."""
    if blank:
        answers = None
    elif answers is None:
        from .rules import Answers

        answers = Answers(form, {})
    compiler = _Compiler(form, answers, normalise_evidence(evidence))
    compiler.delivered = delivered_evidence
    return compiler.compile()


def list_fields(form: FormDef) -> list[tuple[Section, Field]]:
    """The repeat fields that are lists a count asks for (``list_for``), appended after the form —
    except a names list in the same group as its count, printed in the count's cell (名称：…)."""
    out = []
    for s in form.sections:
        inline = _group_name_lists(s)
        for f in s.fields():
            if f.type == "repeat" and f.list_for and f.id not in inline:
                out.append((s, f))
    return out


def _group_name_lists(s: Section) -> dict[str, Field]:
    """Names lists printed inside their group: names field id → the names field, keyed by count id too."""
    out: dict[str, Field] = {}
    for item in s.items:
        if isinstance(item, Group):
            ids = {f"{s.id}.{f.id}" for f in item.items}
            for f in item.items:
                if f.type == "repeat" and f.list_for in ids:
                    out[f.id] = f
    return out


def _heading_kind(label: str) -> str:
    """An outline label's level from its numbering: 一、 h1, （一） h2, 1. h3, （1） h4; unnumbered labels
    ending in 。 are level-2 run-in headings (总体思路。), others level 1."""
    if _H1.match(label):
        return "h1"
    if _H2.match(label):
        return "h2"
    if _H3.match(label):
        return "h3"
    if _H4.match(label):
        return "h4"
    return "h2" if label.endswith("。") else "h1"


def _text_lines(text: Any) -> list[str]:
    if not text:
        return []
    return str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _with_colon(label: str) -> str:
    if label.endswith(("：", ":")) or ("：" in label and label.endswith(("）", ")"))):
        return label  # 区（县）中小企业主管部门：（盖章）
    return label + "："


class _Unit:
    """Rows that print together (a field with its merged label block)."""

    def __init__(self, rows: list[Row], years: bool = False, label: Cell | None = None):
        self.rows = rows
        self.years = years  # holds cells under the section's year columns
        self.label = label  # the merged label cell, if any


class _Compiler:
    def _fill(self, text: str) -> str:
        """Official text with its fill marks (XX) as lines to write on."""
        return fill_marks(text, self.f.fill_marks)

    def __init__(self, form: FormDef, answers: "Answers | None", evidence: list[EvidenceFile]):
        self.form = form
        self.f = form.form
        self.answers = answers
        self.blank = answers is None
        self.evidence = evidence
        self.delivered = False
        self.landscape = self._needs_landscape()
        self.text_width = LANDSCAPE_WIDTH_MM if self.landscape else TEXT_WIDTH_MM
        self.title = printed_title(form, answers)
        self.title_refs = _title_refs(form)

    @property
    def filled(self) -> "Answers":
        """The answers, where a filled form is printed (only the blank form has none)."""
        assert self.answers is not None, "the blank form reads no answer"
        return self.answers

    # -- the whole document ---------------------------------------------------------------------
    def compile(self) -> Plan:
        parts: list[Part] = []
        if not any(s.layout == "cover" for s in self.f.sections):
            head: list[Block] = []
            if self.f.attachment:
                head.append(Para(self.f.attachment, "attachment"))
            head.append(Para(self.title, "title"))
            parts.append(Part(None, "title", head))
        for s in self.f.sections:
            parts.append(self._part(s))
        plan = Plan(self.form, self.blank, self.title, self.landscape, self.text_width, parts)
        if not self.blank:
            assert self.answers is not None
            plan.lists = self._lists()
            if any(c.field.evidence != "none" for c in self.form.cells):
                plan.evidence = evidence_entries(self.form, self.answers, self.evidence, delivered=self.delivered)
            if self.f.achievement:
                from .rules import achievement

                plan.achievement = achievement(self.form, self.answers)
        return plan

    def _needs_landscape(self) -> bool:
        """A printed table wider than the portrait text block (申报汇总表: 250 mm) turns the page."""
        for s in self.f.sections:
            if s.layout not in ("list", "outline"):
                continue
            for f in s.fields():
                if f.type == "repeat" and not f.list_for:
                    if sum(c.width_mm or 0 for c in f.columns if c.printed) > TEXT_WIDTH_MM + 1:
                        return True
        return False

    def _value(self, key: str) -> Any:
        return None if self.answers is None else self.answers.value(key)

    def _applies(self, f: Field) -> bool:
        return applies(self.answers, f)

    def _part(self, s: Section) -> Part:
        new_page = (s.page_break_before or s.no_straddle) and s.layout != "cover"
        part = Part(s, s.layout, [], new_page=new_page, keep=s.no_straddle)
        if s.layout == "cover":
            part.blocks = [self._cover(s)]
            return part
        if s.layout == "instructions":
            part.blocks = [Para(s.title, "page_title"), *(Para(line, "instruction") for line in self.f.instructions)]
            return part
        if s.print_title:
            part.blocks.append(Para(s.title, "section"))
        if s.layout == "table":
            part.blocks += self._table_section(s)
        elif s.layout == "outline":
            width = self.text_width - 2 * CELL_MARGIN_MM if s.frame else self.text_width
            blocks = self._outline(s, width)
            if self.blank and s.max_chars_total:
                _fill_pages(blocks, width, HEADING_MM if s.print_title else 0.0)
            part.blocks += [Frame(blocks)] if s.frame else blocks
        elif s.layout == "statement":
            part.blocks.append(self._statement(s))
        else:
            part.blocks += self._list_section(s)
        return part

    # -- cover ---------------------------------------------------------------------------------
    def _cover(self, s: Section) -> Cover:
        lines = []
        for f in s.fields():
            if not self._applies(f):
                continue
            key = f"{s.id}.{f.id}"
            value = "" if self.blank else field_text(self.filled, key, f)
            ph = self._fill(f.placeholder) if self.blank and f.placeholder else None
            lines.append(Line(_with_colon(f.label), value, ph))
        return Cover(self.f.attachment, self.title, lines, self.f.maker_line)

    # -- outline -------------------------------------------------------------------------------
    def _sign_fields(self, s: Section) -> set[str]:
        return {i.field for i in s.items if isinstance(i, Sign) and i.field}

    def _outline(self, s: Section, width: float) -> list[Block]:
        out: list[Block] = []
        signs: list[Sign] = []
        skip = self._sign_fields(s)
        narratives = [f for f in s.fields() if f.type == "narrative" and self._applies(f)]
        share = None
        if s.max_chars_total and narratives:
            share = max(1, s.max_chars_total // len(narratives))
        for item in s.items:
            if isinstance(item, Sign):
                signs.append(item)
                continue
            if signs:
                out.append(self._signs(s, signs))
                signs = []
            if isinstance(item, Heading):
                kind = {1: "h1", 2: "h2"}.get(item.level, "h3")
                out.append(Para(item.text, kind))
                if item.hint:
                    out += [Para(h, "hint") for h in _text_lines(item.hint)]
            elif isinstance(item, Note):
                out += [Para(ln, "note") for ln in _text_lines(item.text) if ln.strip()]
            elif isinstance(item, Group):
                for f in item.items:
                    out += self._outline_field(s, f, width, skip, share)
            elif isinstance(item, Field):
                out += self._outline_field(s, item, width, skip, share)
        if signs:
            out.append(self._signs(s, signs))
        return out

    def _outline_field(self, s: Section, f: Field, width: float, skip: set[str], share: int | None) -> list[Block]:
        key = f"{s.id}.{f.id}"
        if not self._applies(f) or f.id in skip or key in self.title_refs:
            return []
        if f.type == "repeat":
            if f.list_for:
                return []
            return [self._repeat_table(f, key, width)]
        if f.type != "narrative":
            value = "" if self.blank else self._plain_value(key, f)
            return [Line(_with_colon(f.label), value)]
        kind = _heading_kind(f.label)
        runin = f.label.endswith("。") and not f.hint and kind in ("h2", "h3", "h4")
        if self.blank:
            chars = min(share or f.max_chars or 200, f.max_chars or 200)
            lines = _writing_lines(chars, width, max_lines=MAX_PART_LINES)
            out: list[Block] = [Para(f.label, kind)]
            out += [Para(h, "hint") for h in _text_lines(f.hint)]
            out.append(Para("", "body", space=lines))
            return out
        text = [t.strip() for t in _text_lines(self._value(key)) if t.strip()]
        if not text and not f.required:
            text = [EMPTY_TEXT]
        if runin and text:
            return [Para(text[0], "body", lead=f.label, lead_style=kind), *(Para(t, "body") for t in text[1:])]
        out = [Para(f.label, kind)]
        out += [Para(h, "hint") for h in _text_lines(f.hint)]
        out += [Para(t, "body") for t in text]
        return out

    def _plain_value(self, key: str, f: Field) -> str:
        v = self._value(key)
        if f.type in ("choice", "boxes"):
            return "　".join(option_lines(f, v, bare=True))
        text = field_text(self.filled, key, f)
        if not text and f.type in ("text", "narrative") and not f.required:
            return EMPTY_TEXT
        return f"{text} {f.unit}" if text and f.unit_in_cell else text

    def _signs(self, s: Section, signs: Sequence[Sign]) -> Signs:
        out = []
        for x in signs:
            text = x.text
            if x.field:
                value = None if self.blank else self._value(f"{s.id}.{x.field}")
                text = str(value).strip() if isinstance(value, str) and value.strip() else self._fill(x.text)
            else:
                text = self._fill(text)
            out.append(SignLine(text, seal=x.seal, date=bool(_DATE.search(x.text))))
        return Signs(out)

    # -- statement (真实性声明) ----------------------------------------------------------------
    def _statement(self, s: Section) -> Statement:
        label = next((i.text for i in s.items if isinstance(i, Heading)), None) or re.sub(r"^.*?、", "", s.title)
        paras = [ln for i in s.items if isinstance(i, Note) for ln in _text_lines(i.text)]
        signs = self._signs(s, [i for i in s.items if isinstance(i, Sign)]).lines
        return Statement(label, paras, signs)

    # -- list (申报汇总表) ---------------------------------------------------------------------
    def _list_section(self, s: Section) -> list[Block]:
        out: list[Block] = []
        signs: list[Sign] = []
        for item in s.items:
            if isinstance(item, Sign):
                signs.append(item)
                continue
            if isinstance(item, Field):
                f = item
                key = f"{s.id}.{f.id}"
                if not self._applies(f) or f.list_for:
                    continue
                if f.type == "repeat":
                    out.append(self._repeat_table(f, key, self.text_width))
                else:
                    out.append(Line(_with_colon(f.label), "" if self.blank else self._plain_value(key, f)))
            elif isinstance(item, Note):
                out += [Para(ln, "note") for ln in _text_lines(item.text) if ln.strip()]
            elif isinstance(item, Heading):
                out.append(Para(item.text, "h1" if item.level == 1 else "h2"))
        if signs:
            out.append(self._signs(s, signs))
        return out

    # -- repeat tables (targets, 申报汇总表) -----------------------------------------------------
    def _repeat_table(self, f: Field, key: str, width: float) -> Table:
        cols = [c for c in f.columns if c.printed]
        given = [c.width_mm for c in cols]
        known = sum(w for w in given if w)
        missing = sum(1 for w in given if not w)
        default = max(20.0, (width - known) / missing) if missing else 0
        raw = [w or default for w in given]
        widths = [w * width / sum(raw) for w in raw]
        size = "list" if self.landscape else "table"
        rows: list[Row] = [Row([Cell([c.label], role="head", align="center") for c in cols], header=True)]
        if self.blank:
            data = [{"key": fr["key"], **_fixed_cells(fr)} for fr in f.fixed_rows]
            if not data:
                data = [{} for _ in range(min(f.max_rows or 3, 3))]
        else:
            data = table_rows(f, repeat_rows(self.filled, key), for_print=True)
            if not data:
                rows.append(Row([Cell([EMPTY_TEXT], span=len(cols), align="center")]))
        merge_first = bool(f.fixed_rows)
        blank_mm = 0.0
        if self.blank and not f.fixed_rows:
            # room to write by hand: the rows share the page (a landscape 汇总表 stays on one page)
            blank_mm = max(ROW_MIN_MM, min(40.0, (LIST_ROOM_MM if self.landscape else 160.0) / max(1, len(data))))
        prev = None
        for i, r in enumerate(data):
            cells: list[Cell] = []
            for j, c in enumerate(cols):
                text = str(i + 1) if c.auto == "serial" else column_text(c, r.get(c.id))
                align: CellAlign = "center" if c.type in ("integer", "number", "percent", "choice", "value") or c.auto \
                    else ("justify" if c.type == "narrative" else "left")
                if j == 0 and merge_first:
                    if text and text == prev:
                        cells.append(Cell([], merge="continue"))
                        continue
                    nxt = column_text(c, data[i + 1].get(c.id)) if i + 1 < len(data) else None
                    prev = text
                    cells.append(Cell([text], align="center", merge="start" if nxt == text else None))
                    continue
                cells.append(Cell([text] if text else [], align=align))
            rows.append(Row(cells, min_mm=blank_mm or ROW_MIN_MM))
        return Table(widths, rows, size=size)

    # -- table sections (一 … 七) ----------------------------------------------------------------
    def _grid(self, s: Section) -> int:
        need = [1]
        n = len(s.years)
        if n:
            need.append(n)
        for item in s.items:
            fields: tuple[Field, ...]
            if isinstance(item, Group):
                need.append(3)
                fields = item.items
            elif isinstance(item, Field):
                fields = (item,)
            else:
                continue
            for f in fields:
                if f.type == "matrix":
                    need.append((len(f.years) or 1) * (1 + len(f.cols)))
                elif f.place == "beside":
                    need.append(3)
                elif f.years:
                    how = self._years_as(s, f)
                    need.append(3 if how == "rows" else (n if how == "columns" else len(f.years)))
        return math.lcm(*need)

    @staticmethod
    def _years_as(s: Section, f: Field) -> str:
        if f.years_as:
            return f.years_as
        return "columns" if s.years and set(f.years) <= set(s.years) else "header"

    def _table_section(self, s: Section) -> list[Block]:
        has_matrix = any(f.type == "matrix" for f in s.fields())
        label_w = s.label_width_mm or (50.0 if has_matrix else 58.0)
        value_w = self.text_width - label_w
        m = self._grid(s)
        widths = [label_w] + [value_w / m] * m
        self._m, self._widths, self._value_w = m, widths, value_w
        header: Row | None = None
        if s.years:
            n = len(s.years)
            header = Row([Cell(["年度"], role="head", align="center")] +
                         [Cell([f"{y}年"], span=m // n, role="head", align="center") for y in s.years], header=True)
        units: list[_Unit] = []
        blocks: list[Block] = []  # tables of repeats printed inline, in order
        within = self._within(s)
        for item in s.items:
            if isinstance(item, Field):
                f = item
                if not self._applies(f) or f.place == "within":
                    continue
                key = f"{s.id}.{f.id}"
                if f.type == "repeat":
                    if f.list_for:
                        continue
                    blocks += self._close_table(units, header, widths)
                    units, header = [], None
                    blocks.append(Para(f.label, "caption"))
                    blocks.append(self._repeat_table(f, key, self.text_width))
                    continue
                if f.place == "beside" and units:
                    self._beside(units[-1], s, f)
                    continue
                if f.place == "below" and units:
                    self._below(units[-1], s, f)
                    continue
                units.append(self._field_unit(s, f, within.get(f.id, [])))
            elif isinstance(item, Group):
                u = self._group_unit(s, item)
                if u is not None:
                    units.append(u)
            elif isinstance(item, (Heading, Note, Sign)):
                text = item.text
                units.append(_Unit([Row([Cell([self._fill(text)], span=m + 1, align="center" if isinstance(item, Heading)
                                             else "left", role="label" if isinstance(item, Heading) else "value")])]))
        blocks += self._close_table(units, header, widths)
        return blocks

    def _within(self, s: Section) -> dict[str, list[Field]]:
        out: dict[str, list[Field]] = {}
        for f in s.fields():
            if f.place == "within" and f.of:
                out.setdefault(f.of, []).append(f)
        return out

    def _close_table(self, units: list[_Unit], header: Row | None, widths: list[float]) -> list[Table]:
        """The rows as one or two tables: the year header repeats only over the rows under it; the rows
        after the last of them form a table of their own. The last rows keep together so that no
        continuation page holds less than a quarter of the text block."""
        if not units:
            return []
        widths_ = widths
        for u in units:  # a merged label block stays on one page, unless it is long (创新平台 with its names)
            if sum(_row_mm(r, widths_) for r in u.rows) <= KEEP_BLOCK_MM:
                for r in u.rows[:-1]:
                    r.keep_next = True
        last_years = max((i for i, u in enumerate(units) if u.years), default=-1)
        parts: list[list[_Unit]] = [units]
        if header is not None and 0 <= last_years < len(units) - 1:
            parts = [units[:last_years + 1], units[last_years + 1:]]
        tables: list[Table] = []
        for k, p in enumerate(parts):
            rows = ([header] if header is not None and k == 0 else []) + [r for u in p for r in u.rows]
            tables.append(Table(list(widths), rows))
        # the tail: keep the last rows together, back to a quarter of the text block and a bit more
        body = [(t, r) for t in tables for r in t.rows if not r.header]
        acc = 0.0
        for idx in range(len(body) - 1, -1, -1):
            t, r = body[idx]
            acc += _row_mm(r, t.widths)
            if idx < len(body) - 1:
                r.keep_next = True
            if acc >= TAIL_TARGET_MM:
                break
        self._fix_merged_heights(units)
        return tables

    def _fix_merged_heights(self, units: list[_Unit]) -> None:
        """A merged label taller than its rows makes the last row taller (for the estimate)."""
        for u in units:
            if u.label is None or len(u.rows) < 2:
                continue
            label_w = self._widths[0]
            need = _cell_mm(u.label, label_w)
            have = sum(_row_mm(r, self._widths) for r in u.rows)
            if need > have:
                u.rows[-1].min_mm = max(u.rows[-1].min_mm, need - have + _row_mm(u.rows[-1], self._widths))

    # one field → its rows
    def _label(self, f: Field) -> Cell:
        text = [f.label]
        if self.blank and f.placeholder:
            text.append(self._fill(f.placeholder))
        return Cell(text, role="label")

    def _field_unit(self, s: Section, f: Field, within: list[Field]) -> _Unit:
        key = f"{s.id}.{f.id}"
        m = self._m
        if f.type == "matrix":
            return self._matrix_unit(s, f)
        label = self._label(f)
        if f.years:
            how = self._years_as(s, f)
            if how == "columns":
                n = len(s.years)
                if n == 1:
                    return _Unit([Row([label, self._number_cell(f, f"{key}.{f.years[0]}", m)])], years=True)
                cells = [label]
                for y in s.years:
                    if y in f.years:
                        c = self._number_cell(f, f"{key}.{y}", m // n, notes=False)
                        c.align = "center"
                    else:
                        c = Cell([], span=m // n)
                    cells.append(c)
                label.text += list(f.notes)
                return _Unit([Row(cells)], years=True)
            label.merge = "start"
            label.text += list(f.notes)
            if how == "rows":
                year_w = m // 3
                rows = []
                for i, y in enumerate(f.years):
                    lead = label if i == 0 else Cell([], merge="continue")
                    rows.append(Row([lead, Cell([f"{y}年"], span=year_w, align="center"),
                                     self._number_cell(f, f"{key}.{y}", m - year_w, notes=False, center=True)]))
                return _Unit(rows, label=label)
            k = len(f.years)
            first = Row([label] + [Cell([f"{y}年"], span=m // k, align="center") for y in f.years])
            second = Row([Cell([], merge="continue")] +
                         [self._number_cell(f, f"{key}.{y}", m // k, notes=False, center=True) for y in f.years])
            return _Unit([first, second], label=label)
        value = self._value_cell(s, f, key, m, self._value_w)
        for w in within:
            if not self._applies(w):
                continue
            wk = f"{s.id}.{w.id}"
            v = "" if self.blank else self._plain_value(wk, w)
            value.text.append(f"{w.label}：{v}")
        return _Unit([Row([label, value])])

    def _beside(self, u: _Unit, s: Section, f: Field) -> None:
        """联系人 | … | 联系方式 | …: the field shares the last row of the unit before it."""
        row = u.rows[-1]
        m = self._m
        k = m // 3
        prev = row.cells[-1]
        prev.span = m - 2 * k if len(row.cells) == 2 else max(1, prev.span - 2 * k)
        key = f"{s.id}.{f.id}"
        row.cells += [self._label(f), self._value_cell(s, f, key, k, self._value_w * k / m)]

    def _below(self, u: _Unit, s: Section, f: Field) -> None:
        """A row under the merged label of the field this one belongs to (the CO₂ 注 row)."""
        first = u.rows[0].cells[0]
        if first.merge is None:
            first.merge = "start"
        u.label = first
        key = f"{s.id}.{f.id}"
        cell = Cell(list(f.notes), span=self._m)
        if not self.blank:
            text = field_text(self.filled, key, f)
            cell.text += _text_lines(text) if text else ([EMPTY_TEXT] if not f.required else [])
            cell.key = key
        else:
            cell.space = 2 if f.type == "text" else 0
        u.rows.append(Row([Cell([], merge="continue"), cell]))

    def _value_cell(self, s: Section, f: Field, key: str, span: int, width_mm: float) -> Cell:
        v = self._value(key)
        if f.type in ("choice", "boxes"):
            return Cell(option_lines(f, v, width_mm), span)
        if f.type == "narrative":
            if self.blank:
                return Cell([], span, space=_writing_lines(f.max_chars or 200, width_mm), key=key)
            text = [x for x in _text_lines(v) if x.strip()]
            if not text:
                text = [EMPTY_TEXT] if not f.required else []
            return Cell(text, span, align="justify", indent=bool(v), key=key)
        if f.type == "text":
            line = "" if self.blank else field_text(self.filled, key, f)
            if not line and not f.required and not self.blank:
                line = EMPTY_TEXT
            return Cell(([line] if line else []) + list(f.notes), span, key=key)
        return self._number_cell(f, key, span)

    def _number_cell(self, f: Field, key: str, span: int, *, notes: bool = True, center: bool = False) -> Cell:
        """A number as the official cell shows it: the value, the unit where the cell prints one
        ("486 个"), the official notes. Formulas and reasons go to the editable version only."""
        text = "" if self.blank else field_text(self.filled, key, f)
        if f.unit_in_cell:
            text = f"{text} {f.unit}" if text else f"　　　　{f.unit}"
        c = Cell([text] if text else [], span, key=key, align="center" if center else "left")
        if notes:
            c.text += list(f.notes)
        c.remark = self._remark(f, key)
        return c

    def _remark(self, f: Field, key: str) -> str | None:
        if self.blank:
            return None
        out = []
        if f.calculation and f.formula and f.type in ("number", "percent", "integer"):
            typed = self.answers.typed(key) if self.answers is not None else None
            out.append(f"计算公式：{f.formula}" + ("" if typed is not None else "（本栏按公式计算）"))
        notes = getattr(self.answers, "notes", None) or {}
        if notes.get(key):
            out.append(f"说明：{notes[key]}")
        return "\n".join(out) or None

    def _matrix_unit(self, s: Section, f: Field) -> _Unit:
        key = f"{s.id}.{f.id}"
        m = self._m
        years: tuple[int | None, ...] = tuple(f.years) or (None,)
        k = len(years)
        ncol = 1 + len(f.cols)
        sub = m // (k * ncol)
        label = Cell([f.label] + list(f.notes), merge="start", role="label")

        def cont() -> Cell:
            return Cell([], merge="continue")

        rows: list[Row] = []
        lead: Cell = label
        if f.years and tuple(f.years) != tuple(s.years):
            rows.append(Row([lead] + [Cell([f"{y}年"], sub * ncol, align="center", small=True) for y in years]))
            lead = cont()
        head = [lead]
        for _ in years:
            head.append(Cell(["类别"], sub, align="center", small=True))
            head += [Cell([c.label], sub, align="center", small=True) for c in f.cols]
        rows.append(Row(head))
        for r in f.rows:
            cells = [cont()]
            for y in years:
                cells.append(Cell([r.label], sub, align="center", small=True))
                for c in f.cols:
                    ck = ".".join([key] + ([str(y)] if y is not None else []) + [r.key, c.key])
                    text = "" if self.blank else field_text(self.filled, ck, f)
                    cells.append(Cell([text] if text else [], sub, align="center", small=True, key=ck))
            rows.append(Row(cells))
        return _Unit(rows, years=bool(s.years) and tuple(f.years) == tuple(s.years), label=label)

    def _group_unit(self, s: Section, g: Group) -> _Unit | None:
        m = self._m
        items = [f for f in g.items if self._applies(f)]
        ids = {f"{s.id}.{f.id}" for f in items}
        names_of = {f.list_for: f for f in items if f.type == "repeat" and f.list_for in ids}
        h = m // 3
        value_w = self._value_w
        sub_w = value_w * h / m
        label = Cell([g.label], merge="start", role="label")
        rows: list[Row] = []
        for f in items:
            key = f"{s.id}.{f.id}"
            if f.type == "repeat" and f.list_for in ids:
                continue
            lead = label if not rows else Cell([], merge="continue")
            if key in names_of:
                rows.append(Row([lead, Cell([f.label], h, role="label"),
                                 self._count_and_names(s, f, key, names_of[key], m - h)]))
            elif f.type in ("choice", "boxes") and f.prefix:
                rows.append(Row([lead, Cell(option_lines(f, self._value(key), value_w), m)]))
            else:
                rows.append(Row([lead, Cell([f.label], h, role="label"),
                                 self._value_cell(s, f, key, m - h, value_w - sub_w)]))
        if not rows:
            return None
        if len(rows) == 1:
            label.merge = None
        return _Unit(rows, years=False, label=label)

    def _count_and_names(self, s: Section, f: Field, key: str, names_f: Field, span: int) -> Cell:
        """数量：N 个 / 名称：… — the count and every name, each on its line under the first."""
        cells = self.form.cells_of(key)
        counts = []
        for c in cells:
            v = "" if self.blank else field_text(self.filled, c.key, f)
            counts.append(f"{c.year}年：{v or '　　'}" if c.year is not None and len(cells) > 1 else (v or "　　"))
        unit = f" {f.unit}" if f.unit_in_cell and f.unit else ""
        lines = [f"数量：{'；'.join(counts)}{unit}"]
        if self.blank:
            lines.append("名称：")
            return Cell(lines, span, space=1, key=cells[0].key)
        rows = table_rows(names_f, repeat_rows(self.filled, f"{s.id}.{names_f.id}"))
        col = next((c for c in names_f.columns if c.type in ("text", "narrative")), names_f.columns[0])
        names = [column_text(col, r.get(col.id)) for r in rows if r.get(col.id) not in (None, "")]
        lines.append("名称：" + (names[0] if names else EMPTY_TEXT))
        lines += names[1:]
        # every name under the first one: 名称： hangs out
        indents = {i: (3.0, 0.0 if i > 1 else 3.0) for i in range(1, len(lines))}
        return Cell(lines, span, key=cells[0].key, remark=self._remark(f, cells[0].key), indents=indents)

    # -- lists after the form ----------------------------------------------------------------------
    def _lists(self) -> list[ListPlan]:
        out = []
        assert self.answers is not None
        for s, f in list_fields(self.form):
            if not applies(self.answers, f):
                continue
            key = f"{s.id}.{f.id}"
            rows = table_rows(f, repeat_rows(self.answers, key))
            if not rows:
                continue
            if f.list_for and self.form.has_field(f.list_for):
                cs, _ = self.form.field(f.list_for)
                where = f"{cs.title} · {_BRACKETS.sub('', self.form.full_label(f.list_for)).strip()}"
            else:
                where = s.title
            out.append(ListPlan(f, key, f.label, where, [c for c in f.columns if c.printed], rows))
        return out

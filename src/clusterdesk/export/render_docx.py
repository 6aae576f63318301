"""Word rendering of any form definition and its answers: the printed 申报表 as a careful clerk fills it.

One renderer for every form: the layout is read from the definition (``forms/*.yaml``), never
written per form. The document is assembled from these parts, each chosen by what a section holds:

* **cover** (the section titled 封面, when the form has a ``maker_line``): attachment mark, title,
  ``label：value`` lines with fill lines, the issuer line (… 制); the 填报说明 page follows.
  Forms without a cover start with the attachment mark and the title on page 1.
* **table** sections (一 … 七): the official two-part table, label column + value column(s).
  ``Section.years`` adds the 年度 | 2021年 | … header row (repeated on every page) and year fields fill
  the year columns; other fields span the value area. Choices and box lists print every option with
  ☑/☐ in official order, then the official notes. A matrix prints 类别 | 主持数量 | 参与数量 per year,
  a group a merged label cell with sub-rows (数量：N 个 / 名称：…). Lists a count asks for
  (``list_for``) go to an appendix; the count cell says （见附件清单，共N项）.
* **outline** sections (八 plan, 2023 年集群工作, the district summary): headings, the official outline
  hints and the user's text as GB/T 9704 paragraphs; repeat tables (targets) as real tables with
  merged 方向 cells; signatures as a signing block with room for a 42 mm seal.
* **list** sections (申报汇总表): the header lines (… （盖章） / 联系人及手机) and the table; a table
  wider than the portrait text block turns the document to A4 landscape.
* **statement** sections (真实性声明): the statement table with signature, seal room and date line.

After the form: one appendix per list (附：有效发明专利清单 …, one-pass table, header row repeated on
every page) and the 佐证材料目录 (every ticked option and its attached files).

不得串页: a section with ``no_straddle`` or ``page_break_before`` starts on a new page; every table row
is ``cantSplit``; a merged label block is kept on one page.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePath
from typing import Any, Iterable, Sequence

from docx.document import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, Twips
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from clusterdesk.export import docxkit as dk
from clusterdesk.export.textsafe import display_width
from clusterdesk.model import expr as E
from clusterdesk.model.form import FormDef
from clusterdesk.model.rules import achievement, completion_bar
from clusterdesk.model.rules import Answers
from clusterdesk.model.schema import Column, Field, Group, Heading, Note, Section, Sign
from clusterdesk.model.values import EMPTY_TEXT, Spec, format_value

__all__ = [
    "EvidenceFile", "FormPlan", "render_docx", "protect_read_only", "normalise_evidence", "evidence_entries",
    "printed_title", "table_rows", "column_text", "field_text", "is_relevant", "LIST_REFERENCE",
]

ACHIEVEMENT_TITLE = "目标完成情况"

#: What a count cell says when its list is printed in the appendix.
LIST_REFERENCE = "（见附件清单，共{n}项）"
EVIDENCE_INDEX_TITLE = "佐证材料目录"
#: Face for the check-box glyphs (not in GB2312): present on every Windows since 7; elsewhere the
#: renderer falls back to a face that has the glyph (DejaVu Sans, Noto).
SYMBOL_FONT = "Segoe UI Symbol"
GLYPHS = (dk.CHECKED, dk.UNCHECKED)

TABLE_SIZE = 12.0  # 小四
LIST_SIZE = 10.5  # 五号, appendix lists; 9 pt (小五) when the columns do not fit
ROW_HEIGHT_MM = 7.5
MATRIX_SIZE = 10.5  # 五号: ten columns across the text block
SMALL_SIZE = 9.0  # 小五: formulas under computed values
NOTE_SIZE = 14.0  # 四号: instructions, official remarks
CELL_MARGIN_MM = 1.2
PT_MM = 25.4 / 72

_H1 = re.compile(r"^[一二三四五六七八九十]+、")
_H2 = re.compile(r"^（[一二三四五六七八九十]+）")
_H3 = re.compile(r"^\d+[.．、]")
_H4 = re.compile(r"^[（(]\d+[）)]")
_DATE = re.compile(r"年.*月.*日\s*$")
_NOTE_LABEL = re.compile(r"^[（(]\s*注")
_BRACKETS = re.compile(r"[（(][^（）()]*[）)]")


# ---------------------------------------------------------------------------------------------
# Inputs shared with the Excel renderer
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceFile:
    """One attached evidence file: the cell it belongs to, the option, the file name."""

    key: str
    option: str
    filename: str


def normalise_evidence(evidence: Iterable[Any] | None) -> list[EvidenceFile]:
    """Store ``EvidenceInfo`` records, ``(key, option, path_or_name)`` tuples or EvidenceFile."""
    out: list[EvidenceFile] = []
    for e in evidence or ():
        if isinstance(e, EvidenceFile):
            out.append(e)
        elif hasattr(e, "key") and hasattr(e, "option") and hasattr(e, "filename"):
            out.append(EvidenceFile(str(e.key), str(e.option), str(e.filename)))
        else:
            key, option, f = e
            name = f.name if isinstance(f, PurePath) else PurePath(str(f)).name
            out.append(EvidenceFile(str(key), str(option), name))
    return out


def is_relevant(answers: Answers, field: Field) -> bool:
    if not field.relevant:
        return True
    try:
        return E.evaluate(field.relevant, answers.value) is True
    except Exception:  # a broken expression must not stop the export; print the field
        return True


def field_text(answers: Answers, key: str, field: Field) -> str:
    """A cell's value as printed (numbers with their decimals, 2 for amounts and percentages)."""
    v = answers.value(key)
    if v is None:
        return ""
    return format_value(v, Spec.of(field))


def column_text(col: Column, value: Any) -> str:
    if value is None:
        return ""
    return format_value(value, Spec.of(col))


def _printed(col: Column) -> bool:
    return getattr(col, "printed", True)


def repeat_rows(answers: Answers, key: str) -> list[dict[str, Any]]:
    v = answers.value(key)
    if not isinstance(v, list):
        return []
    return [r for r in v if isinstance(r, dict)]


def table_rows(field: Field, rows: list[dict[str, Any]], *, for_print: bool = False) -> list[dict[str, Any]]:
    """The rows of a repeat as the table shows them: fixed rows (the ones the form prints) filled with
    the answers and kept in the form's order, the user's own rows where they put them. ``for_print``
    drops placeholder rows nobody filled in (指标 “......” or blank, no values)."""
    if not field.fixed_rows:
        return [r for r in rows if set(r) - {"key"}]
    fixed = {fr["key"]: fr for fr in field.fixed_rows}
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for r in rows:
        k = r.get("key")
        if k in fixed:
            merged = {**fixed[k], **{c: v for c, v in r.items() if v is not None}}
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
        out.insert(pos, dict(fr))
    if for_print:
        cols = [c.id for c in field.columns if _printed(c)]
        kept = []
        for r in out:
            k = r.get("key")
            if k in fixed:
                own = [c for c in cols if c not in fixed[k]]
                unfilled = all(r.get(c) in (None, "") for c in own)
                placeholder = any(str(fixed[k][c]).strip(".…　 ") == "" for c in cols if c in fixed[k])
                if unfilled and (placeholder or _has_blank_fixed_text(field, r, fixed[k])):
                    continue
            kept.append(r)
        out = kept
    return out


def _has_blank_fixed_text(field: Field, row: dict[str, Any], fixed: dict[str, str]) -> bool:
    """A fixed row whose printed text columns are left open (e.g. the 指标 of 主导产业 ……)."""
    for c in field.columns:
        if not _printed(c) or c.type not in ("text", "choice"):
            continue
        if c.id not in fixed and row.get(c.id) in (None, ""):
            return True
    return False


class FormPlan:
    """Which repeat fields are lists for the appendix, which are printed inline, and where."""

    def __init__(self, form: FormDef):
        self.form = form
        self.appendix: list[tuple[Section, Field]] = []
        self.list_of: dict[str, tuple[Section, Field]] = {}  # count field key → its appendix list
        self.group_lists: set[str] = set()  # repeat field keys printed as 名称：… inside a group
        for s in form.sections:
            for item in s.items:
                if isinstance(item, Group):
                    keys = {f"{s.id}.{f.id}" for f in item.items}
                    for f in item.items:
                        if f.type == "repeat" and f.list_for in keys:
                            self.group_lists.add(f"{s.id}.{f.id}")
            for f in s.fields():
                key = f"{s.id}.{f.id}"
                if f.type == "repeat" and f.list_for and key not in self.group_lists:
                    self.appendix.append((s, f))
                    self.list_of[f.list_for] = (s, f)
        self.evidence_fields = [c for c in form.cells if c.field.evidence != "none"]


def evidence_entries(form: FormDef, answers: Answers, evidence: Sequence[EvidenceFile]
                     ) -> list[tuple[str, str, str, list[str]]]:
    """(section title, field label, option as printed, [file names]) for every ticked option and every
    if_yes / if_positive field that applies, in form order."""
    files: dict[tuple[str, str], list[str]] = {}
    for e in evidence:
        files.setdefault((e.key, e.option), []).append(e.filename)
    out: list[tuple[str, str, str, list[str]]] = []
    for cell in form.cells:
        f = cell.field
        if f.evidence == "none" or not is_relevant(answers, f):
            continue
        v = answers.value(cell.key)
        label = f.label + (f" {cell.column}" if cell.column else "")
        if f.evidence == "ticked":
            chosen = set(v) if isinstance(v, list) else set()
            for opt in f.options:
                if opt in chosen:
                    out.append((cell.section.title, label, opt, files.get((cell.key, opt), [])))
        elif f.evidence == "if_yes":
            if v == "是":
                out.append((cell.section.title, label, "是", files.get((cell.key, "是"), [])))
        elif f.evidence == "if_positive":
            text = field_text(answers, cell.key, f)
            try:
                positive = v is not None and Decimal(str(v)) > 0
            except Exception:
                positive = False
            if positive:
                unit = f" {f.unit}" if f.unit and f.unit != "%" else ""
                from clusterdesk.service import EVIDENCE_GENERAL

                out.append((cell.section.title, label, f"{text}{unit}", files.get((cell.key, EVIDENCE_GENERAL), [])))
    return out


def printed_title(form: FormDef, answers: Answers) -> str:
    """The title as printed. An outline titled “XX 区…” gets the district from the title field."""
    title = form.form.cover_title or form.title
    tf = form.form.title_field
    v = answers.value(tf) if tf else None
    if isinstance(v, str) and v.strip().endswith("区") and re.search(r"XX\s*区", title):
        title = re.sub(r"XX\s*区", v.strip(), title)
        title = re.sub(r"\s*[（(]大纲[）)]\s*$", "", title)
    return title


def title_substituted(form: FormDef, answers: Answers) -> bool:
    return printed_title(form, answers) != (form.form.cover_title or form.title) and \
        "XX" in (form.form.cover_title or form.title)


# ---------------------------------------------------------------------------------------------
# Low-level helpers on top of the kit
# ---------------------------------------------------------------------------------------------


def _lines(text: str | None) -> list[str]:
    if not text:
        return []
    return str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _unit_shown(field: Field) -> str:
    """The unit after a single value, unless the label already names it （亿元）."""
    u = field.unit
    if not u or u == "%":
        return ""
    lab = field.label
    if any(x in lab for x in (f"（{u}）", f"({u})", f"（{u}", f"({u}")):
        return ""
    return u


def _is_note_label(label: str) -> bool:
    return bool(_NOTE_LABEL.match(label))


def _with_colon(label: str) -> str:
    if label.endswith(("：", ":")) or ("：" in label and label.endswith(("）", ")"))):
        return label  # 区（县）中小企业主管部门：（盖章）
    return label + "："


def _chars_per_line(width_mm: float, size_pt: float) -> int:
    return max(1, int((width_mm - 2 * CELL_MARGIN_MM) / (size_pt * PT_MM)))


def protect_read_only(doc: Document) -> None:
    """Mark the print version read-only (no password: Word/WPS 限制编辑 can lift it)."""
    settings = doc.settings.element
    for old in settings.findall(qn("w:documentProtection")):
        settings.remove(old)
    el = OxmlElement("w:documentProtection")
    el.set(qn("w:edit"), "readOnly")
    el.set(qn("w:enforcement"), "1")
    after = {qn(f"w:{t}") for t in (
        "autoFormatOverride styleLockTheme styleLockQFSet defaultTabStop autoHyphenation consecutiveHyphenLimit "
        "hyphenationZone doNotHyphenateCaps showEnvelope summaryLength clickAndTypeStyle defaultTableStyle "
        "evenAndOddHeaders bookFoldRevPrinting bookFoldPrinting bookFoldPrintingSheets "
        "drawingGridHorizontalSpacing drawingGridVerticalSpacing displayHorizontalDrawingGridEvery "
        "displayVerticalDrawingGridEvery doNotUseMarginsForDrawingGridOrigin drawingGridHorizontalOrigin "
        "drawingGridVerticalOrigin doNotShadeFormData noPunctuationKerning characterSpacingControl printTwoOnOne "
        "strictFirstAndLastChars noLineBreaksAfter noLineBreaksBefore savePreviewPicture "
        "doNotValidateAgainstSchema saveInvalidXml ignoreMixedContent alwaysShowPlaceholderText "
        "doNotDemarcateInvalidXml saveXmlDataOnly useXSLTWhenSaving saveThroughXslt showXMLTags "
        "alwaysMergeEmptyNamespace updateFields hdrShapeDefaults footnotePr endnotePr compat docVars rsids mathPr "
        "attachedSchema themeFontLang clrSchemeMapping doNotIncludeSubdocsInStats doNotAutoCompressPictures "
        "forceUpgrade captions readModeInkLockDown smartTagType schemaLibrary shapeDefaults doNotEmbedSmartTags "
        "decimalSymbol listSeparator").split()}
    for child in settings:
        if child.tag in after:
            child.addprevious(el)
            return
    settings.append(el)


def _set_landscape(section) -> None:
    top, bottom, left, right = (dk.mm_to_twips(v) for v in dk.MARGINS_MM)
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Twips(dk.A4_HEIGHT_TWIPS), Twips(dk.A4_WIDTH_TWIPS)
    section.top_margin, section.bottom_margin = Twips(top), Twips(bottom)
    section.left_margin, section.right_margin = Twips(left), Twips(right)


def _split_glyph_runs(root) -> None:
    """Give ☑/☐ their own runs in a symbol face: 仿宋 and 宋体 do not have them (not in GB2312)."""
    pattern = re.compile("([" + "".join(GLYPHS) + "])")
    for t in list(root.iter(qn("w:t"))):
        text = t.text or ""
        if not any(g in text for g in GLYPHS):
            continue
        r = t.getparent()
        if r is None or r.tag != qn("w:r") or len(r.findall(qn("w:t"))) != 1:
            continue
        for part in pattern.split(text):
            if not part:
                continue
            nr = copy.deepcopy(r)
            nt = nr.find(qn("w:t"))
            nt.text = part
            if part != part.strip() or "  " in part:
                nt.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
            if part in GLYPHS:
                rpr = nr.find(qn("w:rPr"))
                if rpr is None:
                    rpr = OxmlElement("w:rPr")
                    nr.insert(0, rpr)
                fonts = rpr.find(qn("w:rFonts"))
                if fonts is None:
                    fonts = OxmlElement("w:rFonts")
                    rstyle = rpr.find(qn("w:rStyle"))
                    if rstyle is not None:
                        rstyle.addnext(fonts)
                    else:
                        rpr.insert(0, fonts)
                fonts.attrib.clear()
                for a in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
                    fonts.set(qn(a), SYMBOL_FONT)
            r.addprevious(nr)
        r.getparent().remove(r)


def _hang_options(root, size_pt: float) -> None:
    """An option that wraps continues under its text, not under its box (hanging indent)."""
    twips = str(int(round(size_pt * 20)))
    for p in root.iter(qn("w:p")):
        text = "".join(t.text or "" for t in p.iter(qn("w:t")))
        if text[:1] in GLYPHS and sum(text.count(g) for g in GLYPHS) == 1:
            ind = p.get_or_add_pPr().get_or_add_ind()
            ind.set(qn("w:left"), twips)
            ind.set(qn("w:hanging"), twips)


def _exact_lines(root, line_pt: float) -> None:
    """Exact line spacing for every paragraph of a table (dense landscape tables)."""
    val = str(int(round(line_pt * 20)))
    for p in root.iter(qn("w:p")):
        spacing = p.get_or_add_pPr().get_or_add_spacing()
        spacing.set(qn("w:line"), val)
        spacing.set(qn("w:lineRule"), "exact")


def _fit_widths(needs: Sequence[float], total: float) -> list[float]:
    """Column widths for a list: every narrow column gets what it needs (numbers and dates never wrap),
    the wide ones share the rest in proportion (they wrap); if all fits, the spare is shared out."""
    if sum(needs) <= total:
        return dk.scale_widths(needs, total)
    out = [0.0] * len(needs)
    order = sorted(range(len(needs)), key=lambda i: needs[i])
    remaining, left = total, len(needs)
    for pos, i in enumerate(order):
        share = remaining / left
        if needs[i] <= share:
            out[i] = needs[i]
            remaining -= needs[i]
            left -= 1
            continue
        wide = order[pos:]
        total_need = sum(needs[j] for j in wide)
        for j in wide:
            out[j] = remaining * needs[j] / total_need
        break
    return out


def _set_cell_bottom_border(tc) -> None:
    tcPr = tc.get_or_add_tcPr()
    borders = OxmlElement("w:tcBorders")
    bottom = OxmlElement("w:bottom")
    for k, v in (("w:val", "single"), ("w:sz", "6"), ("w:space", "0"), ("w:color", "000000")):
        bottom.set(qn(k), v)
    borders.append(bottom)
    anchor = None
    for tag in ("w:shd", "w:noWrap", "w:tcMar", "w:textDirection", "w:tcFitText", "w:vAlign", "w:hideMark"):
        anchor = tcPr.find(qn(tag))
        if anchor is not None:
            break
    if anchor is not None:
        anchor.addprevious(borders)
    else:
        tcPr.append(borders)


# ---------------------------------------------------------------------------------------------
# Table model: mutable cells, converted to the kit's one-pass writer at the end
# ---------------------------------------------------------------------------------------------


class _C:
    """A table cell under construction. Paragraphs may be marked small (formulas)."""

    __slots__ = ("paras", "small", "ind", "span", "vmerge", "bold", "align", "valign", "size", "indent")

    def __init__(self, text: str | Sequence[str] = (), span: int = 1, *, vmerge: str | None = None,
                 bold: bool | None = None, align: str | None = None, valign: str = "center",
                 size: float | None = None, indent: float = 0):
        self.paras: list[str] = []
        self.small: set[int] = set()
        self.ind: dict[int, tuple[float, float]] = {}  # paragraph → (left, hanging) in characters
        self.span = span
        self.vmerge = vmerge
        self.bold = bold
        self.align = align
        self.valign = valign
        self.size = size
        self.indent = indent
        if isinstance(text, str):
            self.add(text)
        else:
            for t in text:
                self.add(t)

    def add(self, text: str, small: bool = False, ind: tuple[float, float] | None = None) -> "_C":
        for line in _lines(text) if text else [""]:
            if small:
                self.small.add(len(self.paras))
            if ind:
                self.ind[len(self.paras)] = ind
            self.paras.append(line)
        return self

    def kit(self) -> dk.Cell:
        paras = self.paras or [""]
        if self.vmerge == "continue":
            paras = [""]
        return dk.Cell(paras, colspan=self.span, vmerge=self.vmerge, bold=self.bold, align=self.align,
                       valign=self.valign, size=self.size, indent_chars=self.indent)


class _T:
    """Rows of one table; keeps merged label blocks together on a page."""

    def __init__(self, widths: Sequence[float]):
        self.widths = list(widths)
        self.rows: list[list[_C]] = []
        self.keep: set[int] = set()  # rows kept with the next one
        self.header_rows = 0
        self.last_label: _C | None = None
        self.last_label_row = -1

    @property
    def ncols(self) -> int:
        return len(self.widths)

    def add(self, cells: list[_C], keep_next: bool = False) -> int:
        self.rows.append(cells)
        if keep_next:
            self.keep.add(len(self.rows) - 1)
        return len(self.rows) - 1

    def label_block(self, label: _C, first_row: int) -> None:
        self.last_label, self.last_label_row = label, first_row


# ---------------------------------------------------------------------------------------------
# The renderer
# ---------------------------------------------------------------------------------------------


class DocxRenderer:
    def __init__(self, form: FormDef, answers: Answers, evidence: Sequence[EvidenceFile], *,
                 draft: bool = False, fonts: dk.DocFonts | None = None):
        self.form = form
        self.f = form.form
        self.answers = answers
        self.evidence = list(evidence)
        self.draft = draft
        self.fonts = fonts or dk.DocFonts()
        self.plan = FormPlan(form)
        self.doc: Document | None = None
        self.text_width = dk.TEXT_WIDTH_MM
        self._pending_break = False
        self._under_title = False
        self._last_p: Paragraph | None = None

    # -- entry ----------------------------------------------------------------------------
    def render(self) -> Document:
        self.doc = doc = dk.new_document(self.fonts)
        doc.core_properties.title = printed_title(self.form, self.answers)
        doc.core_properties.subject = self.f.title
        if self._needs_landscape():
            _set_landscape(doc.sections[0])
            self.text_width = 297.0 - dk.MARGINS_MM[2] - dk.MARGINS_MM[3]
        cover = next((s for s in self.f.sections if self._is_cover(s)), None)
        if cover is not None and self.f.maker_line:
            self._cover(cover)
            doc.sections[0].different_first_page_header_footer = True
            if self.f.instructions:
                self._instructions()
            self._pending_break = True
        else:
            self._title_block()
            self._under_title = True
            if self.f.instructions:
                self._instructions()
                self._pending_break = True
        for s in self.f.sections:
            if cover is not None and s is cover and self.f.maker_line:
                continue
            self._section(s)
        self._appendix()
        self._achievement()
        self._evidence_index()
        if self.draft:
            dk.add_watermark(doc, "草稿")
        return doc

    def _is_cover(self, s: Section) -> bool:
        return s.title == "封面" or s.id == "cover"

    def _needs_landscape(self) -> bool:
        """A printed table wider than the portrait text block (申报汇总表: 250 mm) needs landscape."""
        for s in self.f.sections:
            if self._kind(s) not in ("list", "outline"):
                continue
            for f in s.fields():
                if f.type == "repeat" and not f.list_for:
                    total = sum(c.width_mm or 0 for c in f.columns if _printed(c))
                    if total > dk.TEXT_WIDTH_MM + 1:
                        return True
        return False

    # -- paragraphs -----------------------------------------------------------------------
    def _p(self, text: str = "", **kw: Any) -> Paragraph:
        if self._pending_break:
            kw["page_break_before"] = True
            self._pending_break = False
        self._last_p = dk.add_paragraph(self.doc, text, **kw)
        return self._last_p

    def _body(self, text: str, *, indent: float = 2, size: float | None = None, font: str | None = None,
              align: str | None = "justify", keep_with_next: bool = False) -> Paragraph:
        # 三号 body text keeps the 28 pt GB/T 9704 line; smaller official remarks get a tighter line
        line = None if size is None or size >= self.fonts.body_size else round(size * 1.6)
        return self._p(text, font=font, size=size, first_line_indent_chars=indent, align=align,
                       keep_with_next=keep_with_next, line_spacing_pt=line)

    def _heading(self, text: str, kind: str, *, keep: bool = True) -> Paragraph:
        """h1 黑体, h2 楷体, h3 仿宋 bold, h4 仿宋: the GB/T 9704 outline levels."""
        fonts = self.fonts
        if kind == "h1":
            return self._p(text, font=fonts.heading1, size=fonts.heading_size, first_line_indent_chars=2,
                           keep_with_next=keep, align="left")
        if kind == "h2":
            return self._p(text, font=fonts.heading2, size=fonts.heading_size, first_line_indent_chars=2,
                           keep_with_next=keep, align="left")
        return self._p(text, font=fonts.body, size=fonts.body_size, bold=(kind == "h3"),
                       first_line_indent_chars=2, keep_with_next=keep, align="left")

    def _title_block(self) -> None:
        if self.f.attachment:
            self._p(self.f.attachment, font=self.fonts.heading1, size=16, align="left")
        p = dk.add_title(self.doc, printed_title(self.form, self.answers), space_after=10)
        p.paragraph_format.space_before = Pt(4)

    def _fill_line(self, p: Paragraph, to_mm: float) -> None:
        """A ruled tab up to ``to_mm``: the line a signature or a value is written on. A tab leader,
        not an underline: LibreOffice does not underline a tab that ends a paragraph, and inside a
        table cell it drops a trailing tab altogether unless something follows it (a zero-width space)."""
        p.paragraph_format.tab_stops.add_tab_stop(Mm(to_mm), WD_TAB_ALIGNMENT.LEFT, WD_TAB_LEADER.LINES)
        size = p.runs[0].font.size.pt if p.runs and p.runs[0].font.size else None
        dk.add_run(p, "\t\u200b", size=size)

    # -- cover and instructions -----------------------------------------------------------
    def _cover(self, s: Section) -> None:
        fonts = self.fonts
        if self.f.attachment:
            self._p(self.f.attachment, font=fonts.heading1, size=16, align="left")
        text = printed_title(self.form, self.answers)
        size = 26.0 if len(text) * 26 * PT_MM <= self.text_width else 22.0  # 一号, else 二号
        title = dk.add_title(self.doc, text, size=size, space_after=0)
        title.paragraph_format.space_before = Pt(96)
        title.paragraph_format.space_after = Pt(84)
        rows = []
        for f in s.fields():
            key = f"{s.id}.{f.id}"
            v = field_text(self.answers, key, f)
            if not v and f.placeholder:
                v = f.placeholder
            rows.append(dk.Row([dk.Cell(_with_colon(f.label), valign="bottom", align="left"),
                                dk.Cell(v, valign="bottom", align="left")], height_mm=15))
        label_w = 62.0 if self.text_width < 200 else 80.0
        value_w = min(self.text_width - label_w, 92.0)
        tbl = dk.add_table(self.doc, [label_w, value_w], rows, borders=False, font=fonts.body, size=16,
                           cell_margin_mm=1.0)
        for tr in tbl._tbl.tr_lst:
            _set_cell_bottom_border(tr.tc_lst[1])
        if self.f.maker_line:
            p = dk.add_paragraph(self.doc, self.f.maker_line, font=fonts.body, size=16, align="center")
            p.paragraph_format.space_before = Pt(84)

    def _instructions(self) -> None:
        dk.add_title(self.doc, self.f.instructions_title, page_break_before=True, space_after=12)
        for line in self.f.instructions:
            dk.add_paragraph(self.doc, line, size=TABLE_SIZE, first_line_indent_chars=2, line_spacing_pt=20,
                             align="justify")

    # -- sections -------------------------------------------------------------------------
    def _kind(self, s: Section) -> str:
        fields = s.fields()
        if self._is_cover(s):
            return "cover"
        if not fields:
            return "statement" if any(isinstance(i, (Note, Sign)) for i in s.items) else "outline"
        if any(isinstance(i, Group) for i in s.items):
            return "table"
        inline = [f for f in fields if f.type == "repeat" and not f.list_for]
        narratives = sum(f.type == "narrative" for f in fields)
        texts = sum(f.type == "text" for f in fields)
        if narratives and narratives >= texts and all(f.type in ("narrative", "text") or f in inline for f in fields):
            return "outline"
        if inline and all(f.type == "text" or f in inline for f in fields):
            return "list"
        return "table"

    def _title_field(self, s: Section, f: Field) -> bool:
        return self.f.title_field == f"{s.id}.{f.id}"

    def _section(self, s: Section) -> None:
        kind = self._kind(s)
        brk = s.no_straddle or s.page_break_before or self._pending_break
        if self._under_title:  # the first part of a form without a cover shares page 1 with the title
            brk = self._pending_break
            self._under_title = False
        self._pending_break = False
        self._section_title(s, brk)
        if kind == "statement":
            self._statement(s)
        elif kind == "outline":
            self._outline(s)
        elif kind in ("list", "cover"):  # a cover section without a cover page: label：value lines
            self._lines_section(s)
        else:
            self._table_section(s)

    def _section_title(self, s: Section, brk: bool) -> None:
        title = printed_title(self.form, self.answers)
        if s.title and (s.title in title or s.title in self.f.title):
            self._pending_break = brk
            return
        p = dk.add_heading(self.doc, s.title, level=1, page_break_before=brk, first_line_indent_chars=0)
        p.paragraph_format.space_after = Pt(6)

    # -- header lines + tables (申报汇总表) ----------------------------------------------------
    def _lines_section(self, s: Section) -> None:
        for item in s.items:
            if isinstance(item, Field):
                f = item
                key = f"{s.id}.{f.id}"
                if not is_relevant(self.answers, f):
                    continue
                if f.type == "repeat":
                    if f.list_for:
                        continue
                    self._repeat_table(f, repeat_rows(self.answers, key))
                    continue
                v = self._plain_value(key, f)
                p = self._p("", size=NOTE_SIZE, align="left", space_after=4, line_spacing_pt=22)
                dk.add_run(p, _with_colon(f.label), size=NOTE_SIZE)
                dk.add_run(p, v, size=NOTE_SIZE, underline=bool(v))
                self._fill_line(p, min(self.text_width, 150.0))
            elif isinstance(item, Note):
                for line in _lines(item.text):
                    self._body(line, size=NOTE_SIZE)
            elif isinstance(item, Heading):
                self._heading(item.text, "h1" if item.level == 1 else "h2")
            elif isinstance(item, Sign):
                self._signs([item])

    def _plain_value(self, key: str, f: Field) -> str:
        if f.type in ("choice",):
            v = self.answers.value(key)
            return "　".join(dk.checkbox(o, o == v) for o in f.options)
        if f.type == "boxes":
            v = self.answers.value(key) or []
            return "　".join(dk.checkbox(o, o in v) for o in f.options)
        v = field_text(self.answers, key, f)
        if not v and f.type in ("text", "narrative") and not f.required:
            return EMPTY_TEXT
        u = _unit_shown(f)
        return f"{v} {u}" if v and u else v

    # -- outline sections (八 plan, district summary) -------------------------------------------
    def _label_kind(self, label: str) -> str:
        if _H1.match(label):
            return "h1"
        if _H2.match(label):
            return "h2"
        if _H3.match(label):
            return "h3"
        if _H4.match(label):
            return "h4"
        return "h2" if label.endswith("。") else "h1"

    def _outline(self, s: Section) -> None:
        signs: list[Sign] = []
        skip_title_field = title_substituted(self.form, self.answers)
        for item in s.items:
            if isinstance(item, Sign):
                signs.append(item)
                continue
            if signs:
                self._signs(signs)
                signs = []
            if isinstance(item, Heading):
                kind = {1: "h1", 2: "h2"}.get(item.level, "h3")
                self._heading(item.text, kind)
                if item.hint:
                    self._hint(item.hint)
            elif isinstance(item, Note):
                for line in _lines(item.text):
                    if line.strip():
                        self._body(line, size=NOTE_SIZE)
            elif isinstance(item, Group):
                for f in item.items:
                    self._outline_field(s, f, skip_title_field)
            elif isinstance(item, Field):
                self._outline_field(s, item, skip_title_field)
        if signs:
            self._signs(signs)

    def _hint(self, text: str) -> None:
        for line in _lines(text):
            self._body(line, font=self.fonts.heading2, size=NOTE_SIZE, keep_with_next=True)

    def _outline_field(self, s: Section, f: Field, skip_title_field: bool) -> None:
        key = f"{s.id}.{f.id}"
        if not is_relevant(self.answers, f):
            return
        if f.type == "repeat":
            if key in self.plan.group_lists or f.list_for:
                return
            self._repeat_table(f, repeat_rows(self.answers, key))
            return
        if f.type != "narrative":
            if self._title_field(s, f) and skip_title_field:
                return
            p = self._body("", align="left")
            dk.add_run(p, _with_colon(f.label), font=self.fonts.heading2)
            dk.add_run(p, self._plain_value(key, f))
            return
        text = [t.strip() for t in _lines(self.answers.value(key)) if t.strip()]
        if not text and not f.required:
            text = [EMPTY_TEXT]
        kind = self._label_kind(f.label)
        if f.label.endswith("。") and not f.hint and kind in ("h2", "h3", "h4") and text:
            # run-in heading: （1）2024年度。集群总产值达到……
            p = self._body("")
            face = self.fonts.heading2 if kind == "h2" else self.fonts.body
            dk.add_run(p, f.label, font=face, bold=(kind == "h3"))
            dk.add_run(p, text[0])
            for t in text[1:]:
                self._body(t)
            return
        self._heading(f.label, kind)
        if f.hint:
            self._hint(f.hint)
        for t in text:
            self._body(t)

    def _signs(self, signs: Sequence[Sign]) -> None:
        if self._last_p is not None:  # the signing block never stands alone on a page
            self._last_p.paragraph_format.keep_with_next = True
        dates = [x for x in signs if _DATE.search(x.text)]
        seals = [x for x in signs if x.seal and x not in dates]
        others = [x for x in signs if x not in dates and x not in seals]
        for x in others:
            p = self._p(x.text, align="left", space_before=12)
            self._fill_line(p, 140.0)
        if seals:
            if self._pending_break:
                self._p("")
            dk.add_seal_block(self.doc, [x.text for x in seals], dates[0].text if dates else "年    月    日")
        elif dates:
            p = self._p(dates[0].text, align="right", space_before=24)
            p.paragraph_format.right_indent = Pt(32)

    # -- 真实性声明 -----------------------------------------------------------------------------
    def _statement(self, s: Section) -> None:
        heading = next((i.text for i in s.items if isinstance(i, Heading)), None) or re.sub(r"^.*?、", "", s.title)
        label_w = s.label_width_mm or 30.0
        widths = [label_w, self.text_width - label_w]
        tbl = dk.add_table(self.doc, widths, [dk.Row([dk.Cell(heading, align="center", size=NOTE_SIZE),
                                                     dk.Cell("", valign="top")])])
        cell = _Cell(tbl._tbl.tr_lst[0].tc_lst[1], tbl)
        first = True
        fonts = self.fonts
        size = NOTE_SIZE
        for item in s.items:
            if isinstance(item, Heading):
                continue
            if isinstance(item, Note):
                for line in _lines(item.text):
                    if first:
                        p = cell.paragraphs[0]
                        dk.add_run(p, line, font=fonts.table, size=size)
                        first = False
                    else:
                        p = dk.add_paragraph(cell, line, font=fonts.table, size=size)
                    p.paragraph_format.first_line_indent = Pt(size * 2)
                    p.paragraph_format.line_spacing = Pt(24)
                    p.paragraph_format.space_before = Pt(12)
                    p.paragraph_format.alignment = dk._ALIGN["justify"]
            elif isinstance(item, Sign):
                if _DATE.search(item.text):
                    p = dk.add_paragraph(cell, item.text, font=fonts.table, size=size, align="right")
                    p.paragraph_format.right_indent = Pt(size * 2)
                    p.paragraph_format.space_after = Pt(12)
                    continue
                p = dk.add_paragraph(cell, item.text, font=fonts.table, size=size, align="left")
                p.paragraph_format.space_before = Pt(24)
                p.paragraph_format.keep_with_next = True
                if item.seal:
                    spacer = dk.add_paragraph(cell, "", size=size, keep_with_next=True)
                    spacer.paragraph_format.line_spacing = Twips(dk.mm_to_twips(42.0))
                elif item.text.endswith(("：", ":")):
                    self._fill_line(p, 110.0)

    # -- table sections (一 … 七) -------------------------------------------------------------
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
                elif f.years and not (n and set(f.years) <= set(s.years)):
                    need.append(len(f.years))
        return math.lcm(*need)

    def _table_section(self, s: Section) -> None:
        has_matrix = any(f.type == "matrix" for f in s.fields())
        label_w = s.label_width_mm or (50.0 if has_matrix else 58.0)
        value_w = self.text_width - label_w
        m = self._grid(s)
        widths = [label_w] + [value_w / m] * m
        t = _T(widths)
        if s.years:
            n = len(s.years)
            t.add([_C("年度", align="center", bold=False)] +
                  [_C(f"{y}年", m // n, align="center", bold=False) for y in s.years])
            t.header_rows = 1
        for item in s.items:
            if isinstance(item, Field):
                if not is_relevant(self.answers, item):
                    continue
                key = f"{s.id}.{item.id}"
                if item.type == "repeat":
                    if item.list_for:
                        continue
                    self._flush(t)
                    self._repeat_table(item, repeat_rows(self.answers, key), caption=item.label)
                    t = _T(widths)
                    continue
                if _is_note_label(item.label) and t.last_label is not None:
                    self._note_row(t, s, item, m)
                    continue
                self._field_rows(t, s, item, m, value_w)
            elif isinstance(item, Group):
                self._group_rows(t, s, item, m, value_w)
            elif isinstance(item, Heading):
                t.add([_C(item.text, m + 1, align="center", bold=True)], keep_next=True)
                t.last_label = None
            elif isinstance(item, Note):
                t.add([_C(item.text, m + 1)])
                t.last_label = None
            elif isinstance(item, Sign):
                t.add([_C(item.text, m + 1)])
                t.last_label = None
        self._flush(t)

    def _flush(self, t: _T) -> Table | None:
        if not t.rows:
            return None
        if self._pending_break:
            p = dk.add_paragraph(self.doc, "", size=2, page_break_before=True)
            p.paragraph_format.line_spacing = Pt(2)
            self._pending_break = False
        rows = [dk.Row([c.kit() for c in row], height_mm=ROW_HEIGHT_MM) for row in t.rows]
        tbl = dk.add_table(self.doc, t.widths, rows, header_rows=t.header_rows, size=TABLE_SIZE,
                           cell_margin_mm=CELL_MARGIN_MM)
        trs = tbl._tbl.tr_lst
        for r_idx, row in enumerate(t.rows):
            tr = trs[r_idx]
            tcs = tr.tc_lst
            for c_idx, c in enumerate(row):
                ps = tcs[c_idx].p_lst
                for i, (left, hang) in c.ind.items():
                    if i < len(ps):
                        size = c.size or TABLE_SIZE
                        ind = ps[i].get_or_add_pPr().get_or_add_ind()
                        ind.set(qn("w:left"), str(int(round(left * size * 20))))
                        ind.set(qn("w:hanging"), str(int(round(hang * size * 20))))
                for i in c.small:
                    if i < len(ps):
                        for r in ps[i].iter(qn("w:r")):
                            rpr = r.get_or_add_rPr()
                            rpr.sz_val = Pt(SMALL_SIZE)
            if r_idx in t.keep:
                for p in tr.iter(qn("w:p")):
                    p.get_or_add_pPr().keepNext_val = True
        _hang_options(tbl._tbl, TABLE_SIZE)
        _split_glyph_runs(tbl._tbl)
        return tbl

    def _label(self, f: Field) -> _C:
        return _C(f.label, align="left")

    def _field_rows(self, t: _T, s: Section, f: Field, m: int, value_w: float) -> None:
        key = f"{s.id}.{f.id}"
        n = len(s.years)
        if f.type == "matrix":
            self._matrix_rows(t, s, f, m)
            return
        label = self._label(f)
        if f.years:
            if n == 1 and tuple(f.years) == tuple(s.years) and f.type in ("number", "percent", "integer"):
                # one 年度 column (Shanghai): the cell holds the number, its unit, notes and list reference
                row = t.add([label, self._number(f, f"{key}.{f.years[0]}", key, m)])
                t.label_block(label, row)
                return
            if n and set(f.years) <= set(s.years):
                for note in f.notes:
                    label.add(note)
                ref = self._list_ref(key)
                if ref:
                    label.add(ref)
                self._formula(label, key, f)
                cells = [label]
                for y in s.years:
                    v = field_text(self.answers, f"{key}.{y}", f) if y in f.years else ""
                    cells.append(_C(v, m // n, align="center"))
                row = t.add(cells)
                t.label_block(label, row)
                return
            k = len(f.years)
            label.vmerge = "start"
            for note in f.notes:
                label.add(note)
            ref = self._list_ref(key)
            if ref:
                label.add(ref)
            self._formula(label, key, f)
            first = t.add([label] + [_C(f"{y}年", m // k, align="center") for y in f.years], keep_next=True)
            t.add([_C(vmerge="continue")] +
                  [_C(field_text(self.answers, f"{key}.{y}", f), m // k, align="center") for y in f.years])
            t.label_block(label, first)
            return
        value = self._value(s, f, key, m, value_w)
        row = t.add([label, value])
        t.label_block(label, row)

    def _note_row(self, t: _T, s: Section, f: Field, m: int) -> None:
        """A field whose label is an official note （注：…） joins the label block above it."""
        key = f"{s.id}.{f.id}"
        lab = t.last_label
        assert lab is not None
        if lab.vmerge is None:
            lab.vmerge = "start"
        for r in range(t.last_label_row, len(t.rows)):
            t.keep.add(r)
        v = self._plain_value(key, f)
        t.add([_C(vmerge="continue"), _C([f.label, v] if v else [f.label], m, align="left")])

    def _formula(self, c: _C, key: str, f: Field) -> None:
        """The formula of a computed number, and the user's reason for typing another value, in small type."""
        if f.calculation and f.formula and f.type in ("number", "percent", "integer"):
            c.add(f"（计算公式：{f.formula}）", small=True)
        notes = getattr(self.answers, "notes", None) or {}
        if key in notes:
            c.add(f"（说明：{notes[key]}）", small=True)
        else:
            for y in f.years:
                if f"{key}.{y}" in notes:
                    c.add(f"（说明：{y}年 {notes[f'{key}.{y}']}）", small=True)

    def _options(self, f: Field, value: Any, width_mm: float) -> list[str]:
        chosen = set(value) if isinstance(value, list) else ({value} if value is not None else set())
        items = [dk.checkbox(o, o in chosen) for o in f.options]
        paras = [f.prefix] if f.prefix else []
        notes = list(f.notes)
        if f.type == "choice":
            inline = "　　".join(items)
            cpl = _chars_per_line(width_mm, TABLE_SIZE)
            if len(inline) <= cpl:
                if notes and len(inline) + len(notes[0]) <= cpl:
                    inline += notes.pop(0)
                return paras + [inline] + notes
        return paras + items + notes

    def _value(self, s: Section, f: Field, key: str, span: int, width_mm: float) -> _C:
        v = self.answers.value(key)
        if f.type in ("choice", "boxes"):
            return _C(self._options(f, v, width_mm), span, align="left")
        if f.type == "narrative":
            text = [x for x in _lines(v) if x.strip()] if v else []
            if not text:
                text = [EMPTY_TEXT] if not f.required else [""]
            return _C(text, span, align="justify", indent=2 if v else 0)
        if f.type == "text":
            text = field_text(self.answers, key, f)
            if not text and not f.required:
                text = EMPTY_TEXT
            c = _C(text, span, align="left")
            for note in f.notes:
                c.add(note)
            return c
        return self._number(f, key, key, span)

    def _number(self, f: Field, cell_key: str, field_key: str, span: int) -> _C:
        """A number as the clerk writes it: value and unit (unless the label names it), the official
        notes, the list reference （见附件清单，共N项）, the formula of a computed value."""
        text = field_text(self.answers, cell_key, f)
        u = _unit_shown(f)
        c = _C(f"{text} {u}" if text and u else (f"　　　　{u}" if u else text), span, align="left")
        for note in f.notes:
            c.add(note)
        ref = self._list_ref(field_key)
        if ref:
            c.add(ref)
        self._formula(c, cell_key, f)
        return c

    def _list_ref(self, field_key: str) -> str | None:
        lst = self.plan.list_of.get(field_key)
        if lst is None:
            return None
        n = len(table_rows(lst[1], repeat_rows(self.answers, f"{lst[0].id}.{lst[1].id}")))
        return LIST_REFERENCE.format(n=n) if n else None

    def _matrix_rows(self, t: _T, s: Section, f: Field, m: int) -> None:
        key = f"{s.id}.{f.id}"
        years: tuple[int | None, ...] = tuple(f.years) or (None,)
        k = len(years)
        ncol = 1 + len(f.cols)
        sub = m // (k * ncol)
        label = _C(f.label, vmerge="start", align="left")
        for note in f.notes:
            label.add(note)
        ref = self._list_ref(key)
        if ref:
            label.add(ref)
        first = len(t.rows)
        cont = lambda: _C(vmerge="continue")  # noqa: E731
        lead: _C = label
        if f.years and tuple(f.years) != tuple(s.years):
            t.add([lead] + [_C(f"{y}年", sub * ncol, align="center", size=MATRIX_SIZE) for y in years],
                  keep_next=True)
            lead = cont()
        head = [lead]
        for _ in years:
            head.append(_C("类别", sub, align="center", size=MATRIX_SIZE))
            head += [_C(c.label, sub, align="center", size=MATRIX_SIZE) for c in f.cols]
        t.add(head, keep_next=True)
        for i, r in enumerate(f.rows):
            cells = [cont()]
            for y in years:
                cells.append(_C(r.label, sub, align="center", size=MATRIX_SIZE))
                for c in f.cols:
                    ck = ".".join([key] + ([str(y)] if y is not None else []) + [r.key, c.key])
                    cells.append(_C(field_text(self.answers, ck, f), sub, align="center", size=MATRIX_SIZE))
            t.add(cells, keep_next=i < len(f.rows) - 1)
        t.label_block(label, first)

    def _group_rows(self, t: _T, s: Section, g: Group, m: int, value_w: float) -> None:
        items = [f for f in g.items if is_relevant(self.answers, f)]
        keys = {f"{s.id}.{f.id}" for f in items}
        names_of = {f.list_for: f for f in items if f.type == "repeat" and f.list_for in keys}
        h = m // 3
        sub_w = value_w * h / m
        label = _C(g.label, vmerge="start", align="left")
        first_row = len(t.rows)
        rows: list[list[_C]] = []
        for f in items:
            key = f"{s.id}.{f.id}"
            if f.type == "repeat" and f.list_for in keys:
                continue
            lead = label if not rows else _C(vmerge="continue")
            if key in names_of:
                names_f = names_of[key]
                value = _C((), m - h, align="left")
                for text, ind in self._count_and_names(s, f, key, names_f):
                    value.add(text, ind=ind)
                rows.append([lead, _C(f.label, h, align="left"), value])
            elif f.type in ("choice", "boxes") and f.prefix:
                rows.append([lead, _C(self._options(f, self.answers.value(key), value_w), m, align="left")])
            else:
                rows.append([lead, _C(f.label, h, align="left"), self._value(s, f, key, m - h, value_w - sub_w)])
        if not rows:
            return
        if len(rows) == 1:
            label.vmerge = None
        for i, r in enumerate(rows):
            t.add(r, keep_next=i < len(rows) - 1)
        t.label_block(label, first_row)

    def _count_and_names(self, s: Section, f: Field, key: str, names_f: Field
                         ) -> list[tuple[str, tuple[float, float] | None]]:
        cells = self.form.cells_of(key)
        counts = []
        for c in cells:
            v = field_text(self.answers, c.key, f)
            counts.append(f"{c.year}年：{v or '　　'}" if c.year is not None and len(cells) > 1 else (v or "　　"))
        unit = f.unit or "个"
        count = "；".join(counts)
        rows = table_rows(names_f, repeat_rows(self.answers, f"{s.id}.{names_f.id}"))
        col = next((c for c in names_f.columns if c.type in ("text", "narrative")), names_f.columns[0])
        names = [column_text(col, r.get(col.id)) for r in rows if r.get(col.id) not in (None, "")]
        # Every name on its own line, aligned under the first one (名称： hangs out).
        lines: list[tuple[str, tuple[float, float] | None]] = [(f"数量：{count} {unit}", None)]
        lines.append(("名称：" + (names[0] if names else EMPTY_TEXT), (3, 3)))
        lines += [(n, (3, 0)) for n in names[1:]]
        return lines

    # -- repeat tables (targets, 申报汇总表) ------------------------------------------------------
    def _col_widths(self, cols: Sequence[Column], extra: Sequence[float] = ()) -> list[float]:
        given = list(extra) + [c.width_mm for c in cols]
        known = [w for w in given if w]
        missing = sum(1 for w in given if not w)
        default = max(20.0, (self.text_width - sum(known)) / missing) if missing else 0
        raw = [w or default for w in given]
        return dk.scale_widths(raw, self.text_width)

    def _repeat_table(self, f: Field, rows: list[dict[str, Any]], caption: str | None = None) -> None:
        cols = [c for c in f.columns if _printed(c)]
        if caption:
            self._p(caption, size=TABLE_SIZE, align="left", keep_with_next=True, space_before=6)
        widths = self._col_widths(cols)
        header = [dk.Cell(c.label, align="center") for c in cols]
        data = table_rows(f, rows, for_print=True)
        out: list[list[dk.Cell | str]] = [header]
        merge_first = bool(f.fixed_rows)
        if not data:
            blank = 1 if f.required or self.draft else 0
            if blank:
                out += [[dk.Cell("") for _ in cols] for _ in range(min(f.max_rows or 3, 3))]
            else:
                out.append([dk.Cell(EMPTY_TEXT, colspan=len(cols), align="center")])
        prev = None
        for i, r in enumerate(data):
            cells: list[dk.Cell | str] = []
            for j, c in enumerate(cols):
                if c.auto == "serial":
                    text = str(i + 1)
                else:
                    text = column_text(c, r.get(c.id))
                align = "center" if c.type in ("integer", "number", "percent", "choice", "value") or c.auto \
                    else ("justify" if c.type == "narrative" else "left")
                if j == 0 and merge_first:
                    if text and text == prev:
                        cells.append(dk.Cell("", vmerge="continue"))
                        continue
                    nxt = column_text(c, data[i + 1].get(c.id)) if i + 1 < len(data) else None
                    prev = text
                    cells.append(dk.Cell(text, align="center", vmerge="start" if nxt == text else None))
                    continue
                cells.append(dk.Cell(text, align=align))
            out.append(cells)
        if self._pending_break:
            p = dk.add_paragraph(self.doc, "", size=2, page_break_before=True)
            p.paragraph_format.line_spacing = Pt(2)
            self._pending_break = False
        size = LIST_SIZE if self.text_width > 200 else TABLE_SIZE
        tbl = dk.add_table(self.doc, widths, out, header_rows=1, size=size, cell_margin_mm=CELL_MARGIN_MM)
        if size == LIST_SIZE:
            _exact_lines(tbl._tbl, size * 1.25)  # a landscape 汇总表 stays on one page

    # -- after the form -------------------------------------------------------------------------
    def _appendix(self) -> None:
        for s, f in self.plan.appendix:
            key = f"{s.id}.{f.id}"
            rows = table_rows(f, repeat_rows(self.answers, key))
            if not rows:
                continue
            dk.add_title(self.doc, f"附：{f.label}", page_break_before=True, size=18, space_after=4)
            if f.list_for and self.form.has_field(f.list_for):
                cs, cf = self.form.field(f.list_for)
                where = f"{cs.title} · {_BRACKETS.sub('', cf.label).strip()}"
            else:
                where = s.title
            dk.add_paragraph(self.doc, f"{where}（共{len(rows)}项）", size=TABLE_SIZE, align="center",
                             space_after=8, keep_with_next=True)
            cols = [c for c in f.columns if _printed(c)]
            serial = any(c.auto == "serial" for c in cols)
            header_texts = ([] if serial else ["序号"]) + [c.label for c in cols]
            fmt = [(c.id, Spec.of(c), c.auto == "serial") for c in cols]
            text_types = ("text", "narrative", "choice", "value")
            body: list[list[Any]] = []
            append = body.append
            for i, r in enumerate(rows, start=1):
                line = [] if serial else [str(i)]
                for cid, spec, auto in fmt:
                    v = r.get(cid)
                    line.append(str(i) if auto else ("" if v is None else (
                        v if type(v) is str and spec.type in text_types else format_value(v, spec))))
                append(line)
            # Widths from the content: short columns (numbers, dates) never wrap, long ones share the rest.
            half = [max(display_width(h), 4) for h in header_texts]
            for line in body:
                for j, text in enumerate(line):
                    # display width, East Asian characters count 2 (3 bytes in UTF-8): fast for 10,000 rows
                    w = (len(text.encode("utf-8")) + len(text)) // 2
                    if w > half[j]:
                        half[j] = w
            half = [min(h, 60) for h in half]
            size = LIST_SIZE
            if sum(h * LIST_SIZE * PT_MM / 2 + 2.6 for h in half) > self.text_width:
                size = SMALL_SIZE
            needs = [h * size * PT_MM / 2 + 2.6 for h in half]
            widths = _fit_widths(needs, self.text_width)
            header: list[Any] = [dk.Cell(h) for h in header_texts]
            dk.add_table(self.doc, widths, [header] + body, header_rows=1, size=size, cell_margin_mm=1.0)

    def _achievement(self) -> None:
        """附：目标完成情况 — each indicator's 目标值 and 完成值 with 达成/未达成 and a printed bar."""
        a = self.f.achievement
        rows = achievement(self.form, self.answers) if a else []
        if not rows:
            return
        dk.add_title(self.doc, f"附：{ACHIEVEMENT_TITLE}", page_break_before=True, size=18, space_after=4)
        reached = sum(r.status == "达成" for r in rows)
        missed = sum(r.status == "未达成" for r in rows)
        dk.add_paragraph(self.doc, f"达成 {reached} 项，未达成 {missed} 项（按申报材料中所定目标）",
                         size=TABLE_SIZE, align="center", space_after=8, keep_with_next=True)
        widths = dk.scale_widths([16, 30, 28, 30, 14, 42], self.text_width)
        table: list[list[Any]] = [[dk.Cell(h) for h in ("方向", "指标", "目标值", "完成值", "完成情况", "完成程度")]]
        for r in rows:
            actual = f"{r.actual}（计算）" if r.computed and r.actual else (r.actual or "")
            bar = completion_bar(r.target, r.actual, r.lower_is_better) if r.status != "定性" else ""
            table.append([dk.Cell(r.direction), dk.Cell(r.indicator), dk.Cell(r.target or ""), dk.Cell(actual),
                          dk.Cell(r.status, align="center"), dk.Cell(bar)])
        dk.add_table(self.doc, widths, table, header_rows=1, size=10.5, cell_margin_mm=CELL_MARGIN_MM)
        notes = [f"{r.indicator}：{r.formula}" for r in rows if r.computed and r.formula]
        if notes:
            dk.add_paragraph(self.doc, "注：标“计算”的完成值取自本报告所填数据——" + "；".join(notes) + "。",
                             size=SMALL_SIZE, space_before=6)

    def _evidence_index(self) -> None:
        if not self.plan.evidence_fields:
            return
        entries = evidence_entries(self.form, self.answers, self.evidence)
        dk.add_title(self.doc, EVIDENCE_INDEX_TITLE, page_break_before=True, size=18, space_after=12)
        widths = dk.scale_widths([10, 48, 54, 44], self.text_width)
        rows: list[list[Any]] = [[dk.Cell("序号"), dk.Cell("所属部分及栏目"), dk.Cell("勾选内容"),
                                  dk.Cell("佐证材料文件")]]
        if not entries:
            rows.append([dk.Cell(EMPTY_TEXT, colspan=4, align="center")])
        for i, (sec, label, option, files) in enumerate(entries, start=1):
            # One merged 栏目 cell for the options of the same field.
            same_prev = i > 1 and entries[i - 2][:2] == (sec, label)
            same_next = i < len(entries) and entries[i][:2] == (sec, label)
            where = dk.Cell("", vmerge="continue") if same_prev else \
                dk.Cell([sec, label], vmerge="start" if same_next else None)
            rows.append([dk.Cell(str(i), align="center"), where, dk.Cell(option), dk.Cell(files or ["未附"])])
        dk.add_table(self.doc, widths, rows, header_rows=1, size=10.5, cell_margin_mm=CELL_MARGIN_MM)


def render_docx(form: FormDef, answers: Answers, evidence: Iterable[Any] = (), *, draft: bool = False,
                fonts: dk.DocFonts | None = None) -> Document:
    """The filled form as a python-docx Document (not saved). ``draft`` adds the 草稿 watermark."""
    return DocxRenderer(form, answers, normalise_evidence(evidence), draft=draft, fonts=fonts).render()

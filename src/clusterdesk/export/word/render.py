"""Word output of a form: the print version for sealing, the editable version, the blank form and
the 目标完成情况 document, all drawn from the presentation plan (:mod:`clusterdesk.model.plan`).

This module knows no form. The plan says what each part is (cover, 填报说明, an official table,
an outline — framed or not —, the 真实性声明, a list with its header lines) and which rows, cells,
merges and spans each table has; this module turns that into GB/T 9704 Word:

* A4 portrait (landscape when a list is wider than the portrait text block); body 仿宋 三号,
  tables 小四, headings 黑体 / 楷体, title 小标宋; page numbers "— N —";
* every table row ``cantSplit``; the header rows a plan marks repeat at the top of each page;
  the rows a plan keeps together get keep-with-next (LibreOffice and Word both honour it in tables);
* a part that starts a page gets page-break-before on its first paragraph;
* boxes are □ (U+25A1) and ■ (U+25A0), both in GB2312: they print in the table face itself;
* the lists a count asks for follow the form (附：…), then the 佐证材料目录;
* the editable version carries each computed value's formula (and the reason for a typed value)
  as a Word comment on its cell — the sealed print shows only what the official form shows.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from docx.document import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, Twips
from docx.table import Table as DocxTable, _Cell
from docx.text.paragraph import Paragraph

from clusterdesk.export import word as dk
from clusterdesk.textsafe import display_width
from clusterdesk.model.form import FormDef
from clusterdesk.model.plan import (ACHIEVEMENT_TITLE, TICKED, UNTICKED, Cell, Cover, Frame, Line, ListPlan, Para,
                                    Plan, Signs, Statement, Table, compile_plan)
from clusterdesk.model.rules import Answers, completion_bar, targets_source
from clusterdesk.model.values import EMPTY_TEXT

__all__ = ["render_docx", "render_blank", "render_achievement", "DocxRenderer", "protect_read_only", "unprotect",
           "ACHIEVEMENT_TITLE", "EVIDENCE_INDEX_TITLE"]

EVIDENCE_INDEX_TITLE = "佐证材料目录"
REMARK_AUTHOR = "集群申报助手"

TABLE_SIZE = 12.0  # 小四
LIST_SIZE = 10.5  # 五号, appendix lists; 9 pt (小五) when the columns do not fit
MATRIX_SIZE = 10.5  # 五号: ten columns across the text block
SMALL_SIZE = 9.0  # 小五
NOTE_SIZE = 14.0  # 四号: instructions' remarks, official notes and hints
CELL_MARGIN_MM = 1.2
PT_MM = 25.4 / 72
WRITING_LINE_TWIPS = dk.mm_to_twips(7.0)  # the blank form's lines to write on
LIST_TAIL_ROWS = 6  # the last rows of an appended list kept together
GLYPHS = (TICKED, UNTICKED)


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



def unprotect(doc: Document) -> None:
    """Lift :func:`protect_read_only` (the editable version)."""
    settings = doc.settings.element
    for old in settings.findall(qn("w:documentProtection")):
        settings.remove(old)


def _set_landscape(section) -> None:
    top, bottom, left, right = (dk.mm_to_twips(v) for v in dk.MARGINS_MM)
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Twips(dk.A4_HEIGHT_TWIPS), Twips(dk.A4_WIDTH_TWIPS)
    section.top_margin, section.bottom_margin = Twips(top), Twips(bottom)
    section.left_margin, section.right_margin = Twips(left), Twips(right)


def _hang_option(p, size_pt: float) -> None:
    """An option that wraps continues under its text, not under its box (hanging indent)."""
    twips = str(int(round(size_pt * 20)))
    ind = p.get_or_add_pPr().get_or_add_ind()
    ind.set(qn("w:left"), twips)
    ind.set(qn("w:hanging"), twips)


def _box_face(tc, face: str) -> None:
    """Runs holding □/■ print wholly in the table's Chinese face (hint eastAsia, Latin slots too), so
    every program takes the boxes from 宋体/仿宋 (both have them: GB2312) and never from a Latin
    fallback of another size, even when a box starts the paragraph."""
    for r in tc.iter(qn("w:r")):
        text = "".join(t.text or "" for t in r.findall(qn("w:t")))
        if not any(g in text for g in GLYPHS):
            continue
        rpr = r.get_or_add_rPr()
        fonts = rpr.find(qn("w:rFonts"))
        if fonts is None:
            fonts = OxmlElement("w:rFonts")
            rpr.insert(0, fonts)
        for a in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            fonts.set(qn(a), face)
        fonts.set(qn("w:hint"), "eastAsia")


def _exact_lines(root, line_pt: float) -> None:
    """Exact line spacing for every paragraph of a table (dense landscape tables)."""
    val = str(int(round(line_pt * 20)))
    for p in root.iter(qn("w:p")):
        spacing = p.get_or_add_pPr().get_or_add_spacing()
        spacing.set(qn("w:line"), val)
        spacing.set(qn("w:lineRule"), "exact")


def _writing_lines(paragraphs: Sequence[Any]) -> None:
    """Empty paragraphs as lines to write on by hand (the blank form): a fixed 7 mm each."""
    for p in paragraphs:
        spacing = p.get_or_add_pPr().get_or_add_spacing()
        spacing.set(qn("w:line"), str(WRITING_LINE_TWIPS))
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


def _allow_row_split(tr) -> None:
    """A row that may run over pages (the framed 八, pages long)."""
    trPr = tr.trPr
    if trPr is not None:
        for el in trPr.findall(qn("w:cantSplit")):
            trPr.remove(el)


class DocxRenderer:
    """Renders a :class:`~clusterdesk.model.plan.Plan` into a python-docx Document."""

    def __init__(self, plan: Plan, *, draft: bool = False, fonts: dk.DocFonts | None = None,
                 defer_lists: bool = False):
        self.plan = plan
        # the lists' rows kept beside the tree, written at save (export.word.save): for a document
        # that is only saved, through dk.docx_bytes or dk.save_docx (the export)
        self.defer_lists = defer_lists
        self.form = plan.form
        self.f = plan.form.form
        self.draft = draft
        self.fonts = fonts or dk.DocFonts()
        self.doc: Document | None = None
        self.text_width = plan.text_width
        self._page_break = False  # the next block starts a page
        self._last_p: Paragraph | None = None
        self._after_table: Any = None  # the container whose last block was a table
        self._last_keep = False  # that table's last row keeps with what follows
        self._remarks: list[tuple[DocxTable, Any, str]] = []  # (table, w:tc, comment text)

    # -- entry ----------------------------------------------------------------------------
    def render(self) -> Document:
        self.doc = doc = dk.new_document(self.fonts)
        doc.core_properties.title = self.plan.title
        doc.core_properties.subject = self.f.title
        if self.plan.landscape:
            _set_landscape(doc.sections[0])
        if self.plan.has_cover:
            doc.sections[0].different_first_page_header_footer = True  # no page number on the cover
        for part in self.plan.parts:
            if part.new_page:
                self._page_break = True
            for block in part.blocks:
                self._block(doc, block)
        self._lists()
        self._evidence_index()
        if self.draft:
            dk.add_watermark(doc, "草稿")
        return doc

    def add_remarks(self) -> int:
        """Comments for the editable version: each computed value's formula, each typed value's reason."""
        assert self.doc is not None
        n = 0
        for table, tc, text in self._remarks:
            cell = _Cell(tc, table)
            runs = [r for p in cell.paragraphs for r in p.runs]
            if not runs:
                continue
            self.doc.add_comment(runs, text=text, author=REMARK_AUTHOR, initials="CD")
            n += 1
        return n

    # -- blocks ---------------------------------------------------------------------------
    def _block(self, container: Any, b: Any) -> None:
        if isinstance(b, Table):
            self._table(container, b)
            return
        if isinstance(b, Para):
            self._para(container, b)
        elif isinstance(b, Line):
            self._line(container, b)
        elif isinstance(b, Cover):
            self._cover(b)
        elif isinstance(b, Signs):
            self._signs(container, b)
        elif isinstance(b, Statement):
            self._statement(b)
        elif isinstance(b, Frame):
            self._frame(b)
        else:  # pragma: no cover - the plan has no other blocks
            raise TypeError(type(b).__name__)
        self._after_table = None

    def _take_break(self) -> bool:
        brk, self._page_break = self._page_break, False
        return brk

    def _break_paragraph(self, container: Any) -> None:
        """A tiny paragraph that starts a page before a table (tables cannot carry the break)."""
        p = dk.add_paragraph(container, "", size=2, page_break_before=True)
        p.paragraph_format.line_spacing = Pt(2)

    # -- paragraphs -----------------------------------------------------------------------
    def _para(self, c: Any, p: Para) -> None:
        fonts = self.fonts
        brk = self._take_break()
        s = p.style
        if s == "attachment":
            out = dk.add_paragraph(c, p.text, font=fonts.heading1, size=16, align="left", page_break_before=brk)
        elif s == "title":
            out = dk.add_title(c, p.text, space_after=10, page_break_before=brk)
            out.paragraph_format.space_before = Pt(4)
        elif s == "page_title":
            out = dk.add_title(c, p.text, page_break_before=brk, space_after=12)
        elif s == "section":
            out = dk.add_heading(c, p.text, level=1, page_break_before=brk, first_line_indent_chars=0)
            out.paragraph_format.space_after = Pt(6)
        elif s in ("h1", "h2", "h3", "h4"):
            face = {"h1": fonts.heading1, "h2": fonts.heading2}.get(s, fonts.body)
            out = dk.add_paragraph(c, p.text, font=face, size=fonts.heading_size, bold=(s == "h3"),
                                   first_line_indent_chars=2, keep_with_next=True, align="left", page_break_before=brk)
        elif s == "hint":
            out = dk.add_paragraph(c, p.text, font=fonts.heading2, size=NOTE_SIZE, first_line_indent_chars=2,
                                   keep_with_next=True, align="justify", line_spacing_pt=round(NOTE_SIZE * 1.6),
                                   page_break_before=brk)
        elif s == "note":
            out = dk.add_paragraph(c, p.text, size=NOTE_SIZE, first_line_indent_chars=2, align="justify",
                                   line_spacing_pt=round(NOTE_SIZE * 1.6), page_break_before=brk)
        elif s == "instruction":
            out = dk.add_paragraph(c, p.text, size=TABLE_SIZE, first_line_indent_chars=2, line_spacing_pt=20,
                                   align="justify", page_break_before=brk)
        elif s == "caption":
            out = dk.add_paragraph(c, p.text, size=TABLE_SIZE, align="left", keep_with_next=True, space_before=6,
                                   page_break_before=brk)
        else:  # body
            if p.space and not p.text and not p.lead:
                self._space(c, p.space, brk)
                return
            out = dk.add_paragraph(c, "", first_line_indent_chars=2, align="justify", page_break_before=brk)
            if p.lead:
                kind = p.lead_style or "h2"
                face = fonts.heading2 if kind == "h2" else fonts.body
                dk.add_run(out, p.lead, font=face, bold=(kind == "h3"))
            if p.text:
                dk.add_run(out, p.text)
        self._last_p = out
        if p.space:
            self._space(c, p.space, False)

    def _space(self, c: Any, n: int, brk: bool) -> None:
        """Lines to write on (the heading above keeps with the first of them)."""
        paras = [dk.add_paragraph(c, "", page_break_before=brk and i == 0) for i in range(n)]
        _writing_lines([p._p for p in paras])
        self._last_p = paras[-1] if paras else self._last_p

    def _fill_line(self, p: Paragraph, to_mm: float) -> None:
        """A ruled tab up to ``to_mm``: the line a signature or a value is written on. A tab leader,
        not an underline: LibreOffice does not underline a tab that ends a paragraph, and inside a
        table cell it drops a trailing tab altogether unless something follows it (a zero-width space)."""
        p.paragraph_format.tab_stops.add_tab_stop(Mm(to_mm), WD_TAB_ALIGNMENT.LEFT, WD_TAB_LEADER.LINES)
        size = p.runs[0].font.size.pt if p.runs and p.runs[0].font.size else None
        dk.add_run(p, "\t\u200b", size=size)

    def _line(self, c: Any, line: Line) -> None:
        p = dk.add_paragraph(c, "", size=NOTE_SIZE, align="left", space_after=4, line_spacing_pt=22,
                             page_break_before=self._take_break())
        dk.add_run(p, line.label, size=NOTE_SIZE)
        dk.add_run(p, line.value, size=NOTE_SIZE, underline=bool(line.value))
        self._fill_line(p, min(self.text_width, 150.0))
        self._last_p = p

    # -- cover ----------------------------------------------------------------------------
    def _cover(self, cv: Cover) -> None:
        fonts = self.fonts
        doc = self.doc
        if cv.attachment:
            dk.add_paragraph(doc, cv.attachment, font=fonts.heading1, size=16, align="left")
        size = 26.0 if display_width(cv.title) / 2 * 26 * PT_MM <= self.text_width else 22.0  # 一号, else 二号
        room = 1.0 if not any(ln.placeholder for ln in cv.lines) else 0.6  # the blank form's hints need room
        title = dk.add_title(doc, cv.title, size=size, space_after=0)
        title.paragraph_format.space_before = Pt(96 * room)
        title.paragraph_format.space_after = Pt(84 * room)
        rows: list[dk.Row] = []
        ruled = []
        for ln in cv.lines:
            ruled.append(len(rows))
            rows.append(dk.Row([dk.Cell(ln.label, valign="bottom", align="left"),
                                dk.Cell(ln.value, valign="bottom", align="left")], height_mm=15))
            if ln.placeholder:
                rows.append(dk.Row([dk.Cell(""), dk.Cell(ln.placeholder, valign="top", align="center", size=10.5)]))
        label_w = 62.0 if self.text_width < 200 else 80.0
        value_w = min(self.text_width - label_w, 92.0)
        tbl = dk.add_table(doc, [label_w, value_w], rows, borders=False, font=fonts.body, size=16,
                           cell_margin_mm=1.0)
        trs = tbl._tbl.tr_lst
        for i in ruled:
            _set_cell_bottom_border(trs[i].tc_lst[1])
        if cv.maker:
            p = dk.add_paragraph(doc, cv.maker, font=fonts.body, size=16, align="center")
            p.paragraph_format.space_before = Pt(84 * room)

    # -- tables ---------------------------------------------------------------------------
    def _kit(self, c: Cell) -> dk.Cell:
        paras = list(c.text) if c.merge != "continue" else [""]
        paras += [""] * c.space
        bold = False
        return dk.Cell(paras or [""], colspan=c.span, vmerge=c.merge, bold=bold,
                       align=c.align, size=MATRIX_SIZE if c.small else None, indent_chars=2 if c.indent else 0)

    def _table(self, container: Any, t: Table) -> DocxTable:
        if self._page_break:
            self._take_break()
            self._break_paragraph(container)
        elif self._after_table is container:
            # two tables one under the other (the year header repeats over the first only): a hairline
            # paragraph keeps them apart, as Word and LibreOffice would otherwise join them
            sep = dk.add_paragraph(container, "", size=1, keep_with_next=self._last_keep)
            sep.paragraph_format.line_spacing = Twips(20)
        size = LIST_SIZE if t.size == "list" else TABLE_SIZE
        rows = [dk.Row([self._kit(c) for c in r.cells], height_mm=r.min_mm, exact_height=r.exact) for r in t.rows]
        tbl = dk.add_table(container, t.widths, rows, header_rows=t.header_rows, size=size,
                           cell_margin_mm=CELL_MARGIN_MM)
        trs = tbl._tbl.tr_lst
        for r_idx, row in enumerate(t.rows):
            tr = trs[r_idx]
            tcs = tr.tc_lst
            for c_idx, c in enumerate(row.cells):
                tc = tcs[c_idx]
                ps = tc.p_lst
                if c.merge != "continue":
                    csize = MATRIX_SIZE if c.small else size
                    for i, (left, hang) in c.indents.items():
                        if i < len(ps):
                            ind = ps[i].get_or_add_pPr().get_or_add_ind()
                            ind.set(qn("w:left"), str(int(round(left * csize * 20))))
                            ind.set(qn("w:hanging"), str(int(round(hang * csize * 20))))
                    for i, text in enumerate(c.text):
                        if text[:1] in GLYPHS and sum(text.count(g) for g in GLYPHS) == 1 and i < len(ps):
                            _hang_option(ps[i], csize)
                    if c.options:
                        _box_face(tc, self.fonts.table)
                    if c.space:
                        _writing_lines(ps[len(ps) - c.space:])
                    if c.remark:
                        self._remarks.append((tbl, tc, c.remark))
            if row.keep_next:
                for p in tr.iter(qn("w:p")):
                    p.get_or_add_pPr().keepNext_val = True
        if t.size == "list":
            _exact_lines(tbl._tbl, size * 1.25)  # a landscape 汇总表 stays on one page
        self._after_table = container
        self._last_keep = bool(t.rows) and t.rows[-1].keep_next
        return tbl

    # -- a framed part (八) -----------------------------------------------------------------
    def _frame(self, fr: Frame) -> None:
        doc = self.doc
        if self._page_break:
            self._take_break()
            self._break_paragraph(doc)
        tbl = dk.add_table(doc, [self.text_width], [dk.Row([dk.Cell("")])], cell_margin_mm=CELL_MARGIN_MM)
        tr = tbl._tbl.tr_lst[0]
        _allow_row_split(tr)
        cell = _Cell(tr.tc_lst[0], tbl)
        first = cell.paragraphs[0]._p
        saved = self._after_table
        self._after_table = None
        for b in fr.blocks:
            self._block(cell, b)
        self._after_table = saved
        if len(cell._tc.p_lst) > 1 or cell._tc.tbl_lst:
            cell._tc.remove(first)
        self._last_p = None

    # -- signatures -----------------------------------------------------------------------
    def _signs(self, c: Any, s: Signs) -> None:
        if self._last_p is not None:  # the signing block never stands alone on a page
            self._last_p.paragraph_format.keep_with_next = True
        dates = [x for x in s.lines if x.date]
        seals = [x for x in s.lines if x.seal and not x.date]
        others = [x for x in s.lines if not x.date and not x.seal]
        for x in others:
            p = dk.add_paragraph(c, x.text, align="left", space_before=12, page_break_before=self._take_break())
            self._fill_line(p, 140.0)
        if seals:
            if self._page_break:
                dk.add_paragraph(c, "", page_break_before=self._take_break())
            dk.add_seal_block(c, [x.text for x in seals], dates[0].text if dates else "年    月    日")
        elif dates:
            p = dk.add_paragraph(c, dates[0].text, align="right", space_before=24, page_break_before=self._take_break())
            p.paragraph_format.right_indent = Pt(32)

    def _statement(self, st: Statement) -> None:
        doc = self.doc
        if self._page_break:
            self._take_break()
            self._break_paragraph(doc)
        label_w = 30.0
        widths = [label_w, self.text_width - label_w]
        tbl = dk.add_table(doc, widths, [dk.Row([dk.Cell(st.label, align="center", size=NOTE_SIZE),
                                                dk.Cell("", valign="top")])])
        cell = _Cell(tbl._tbl.tr_lst[0].tc_lst[1], tbl)
        fonts = self.fonts
        size = NOTE_SIZE
        first = True
        for line in st.paras:
            if first:
                p = cell.paragraphs[0]
                dk.add_run(p, line, font=fonts.table, size=size)
                first = False
            else:
                p = dk.add_paragraph(cell, line, font=fonts.table, size=size)
            p.paragraph_format.first_line_indent = Pt(size * 2)
            p.paragraph_format.line_spacing = Pt(24)
            p.paragraph_format.space_before = Pt(12)
            p.paragraph_format.alignment = dk.ALIGN["justify"]
        for x in st.signs:
            if x.date:
                p = dk.add_paragraph(cell, x.text, font=fonts.table, size=size, align="right")
                p.paragraph_format.right_indent = Pt(size * 2)
                p.paragraph_format.space_after = Pt(12)
                continue
            p = dk.add_paragraph(cell, x.text, font=fonts.table, size=size, align="left")
            p.paragraph_format.space_before = Pt(24)
            p.paragraph_format.keep_with_next = True
            if x.seal:
                spacer = dk.add_paragraph(cell, "", size=size, keep_with_next=True)
                spacer.paragraph_format.line_spacing = Twips(dk.mm_to_twips(42.0))
            elif x.text.endswith(("：", ":")):
                self._fill_line(p, 110.0)

    # -- after the form -------------------------------------------------------------------------
    def _lists(self) -> None:
        for lst in self.plan.lists:
            self._list(lst)

    def _list(self, lst: ListPlan) -> None:
        doc = self.doc
        dk.add_title(doc, f"附：{lst.title}", page_break_before=True, size=18, space_after=4)
        dk.add_paragraph(doc, f"{lst.where}（共{len(lst.rows)}项）", size=TABLE_SIZE, align="center",
                         space_after=8, keep_with_next=True)
        header_texts = lst.header()
        body = list(lst.texts())
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
        # the list's last page never holds a row or two alone (keep_last_rows)
        dk.add_table(doc, widths, [header] + body, header_rows=1, size=size, cell_margin_mm=1.0,
                     keep_last_rows=LIST_TAIL_ROWS, defer_rows=self.defer_lists)

    def _evidence_index(self) -> None:
        entries = self.plan.evidence
        if entries is None:
            return
        doc = self.doc
        dk.add_title(doc, EVIDENCE_INDEX_TITLE, page_break_before=True, size=18, space_after=12)
        widths = dk.scale_widths([10, 44, 48, 54], self.text_width)
        rows: list[list[Any]] = [[dk.Cell("序号"), dk.Cell("所属部分及栏目"), dk.Cell("勾选内容"),
                                  dk.Cell("佐证材料文件")]]
        if not entries:
            rows.append([dk.Cell(EMPTY_TEXT, colspan=4, align="center")])
        for i, e in enumerate(entries, start=1):
            # One merged 栏目 cell for the options of the same field.
            same_prev = i > 1 and (entries[i - 2].section, entries[i - 2].label) == (e.section, e.label)
            same_next = i < len(entries) and (entries[i].section, entries[i].label) == (e.section, e.label)
            where = dk.Cell("", vmerge="continue") if same_prev else \
                dk.Cell([e.section, e.label], vmerge="start" if same_next else None)
            rows.append([dk.Cell(str(i), align="center"), where, dk.Cell(e.option), dk.Cell(list(e.files) or [e.missing])])
        dk.add_table(doc, widths, rows, header_rows=1, size=10.5, cell_margin_mm=CELL_MARGIN_MM)


def render_docx(form: FormDef, answers: Answers, evidence: Iterable[Any] = (), *, draft: bool = False,
                fonts: dk.DocFonts | None = None) -> Document:
    """The filled form as a python-docx Document (not saved). ``draft`` adds the 草稿 watermark."""
    return DocxRenderer(compile_plan(form, answers, evidence), draft=draft, fonts=fonts).render()


def render_blank(form: FormDef, *, fonts: dk.DocFonts | None = None) -> Document:
    """The blank form for filling by hand: the official tables with room to write, no answers."""
    return DocxRenderer(compile_plan(form, blank=True), fonts=fonts).render()


def render_achievement(plan: Plan, name: str = "", *, draft: bool = False,
                       fonts: dk.DocFonts | None = None) -> Document | None:
    """目标完成情况 — each indicator's 目标值 and 完成值 with 达成/未达成 and a printed bar: the
    analysis beside an annual report, not part of the sealed report. None when there is nothing."""
    rows = plan.achievement
    if not rows:
        return None
    doc = dk.new_document(fonts or dk.DocFonts())
    doc.core_properties.title = ACHIEVEMENT_TITLE
    dk.add_title(doc, ACHIEVEMENT_TITLE, space_after=4)
    sub = f"{name}　{plan.form.title}" if name else plan.form.title
    dk.add_paragraph(doc, sub, size=TABLE_SIZE, align="center", space_after=4)
    reached = sum(r.status == "达成" for r in rows)
    missed = sum(r.status == "未达成" for r in rows)
    source = targets_source(plan.form)
    dk.add_paragraph(doc, f"达成 {reached} 项，未达成 {missed} 项" + (f"（按{source}中所定目标）" if source else ""),
                     size=TABLE_SIZE, align="center", space_after=8, keep_with_next=True)
    widths = dk.scale_widths([16, 30, 28, 30, 14, 42], dk.TEXT_WIDTH_MM)
    table: list[list[Any]] = [[dk.Cell(h) for h in ("方向", "指标", "目标值", "完成值", "完成情况", "完成程度")]]
    for r in rows:
        actual = f"{r.actual}（计算）" if r.computed and r.actual else (r.actual or "")
        bar = completion_bar(r.target, r.actual, r.lower_is_better) if r.status != "定性" else ""
        table.append([dk.Cell(r.direction), dk.Cell(r.indicator), dk.Cell(r.target or ""), dk.Cell(actual),
                      dk.Cell(r.status, align="center"), dk.Cell(bar)])
    dk.add_table(doc, widths, table, header_rows=1, size=10.5, cell_margin_mm=CELL_MARGIN_MM)
    notes = [f"{r.indicator}：{r.formula}" for r in rows if r.computed and r.formula]
    if notes:
        dk.add_paragraph(doc, "注：标“计算”的完成值取自本报告所填数据——" + "；".join(notes) + "。",
                         size=SMALL_SIZE, space_before=6)
    if draft:
        dk.add_watermark(doc, "草稿")
    return doc

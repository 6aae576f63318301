"""The table writer: builds the complete ``w:tbl`` XML in one pass and parses it once (about two
orders of magnitude faster than ``Table.add_row()``; tens of thousands of rows)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union
from xml.sax.saxutils import escape as _xml_escape

from docx.document import Document as _DocumentObject
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.table import Table

from clusterdesk.textsafe import clean_text

from .document import reset_style
from .fonts import DocFonts, document_fonts
from .page import AMBIGUOUS_RE, Align, JC, TABLE_STYLE_ID, TABLE_STYLE_NAME, VALIGN
from .text import half_points, mm_to_twips, paragraph_container, set_size


@dataclass(frozen=True, slots=True)
class Cell:
    """One table cell.

    ``text``: a string (``\\n`` starts a new paragraph in the cell) or a
    sequence of paragraph strings.  ``colspan`` spans grid columns;
    ``vmerge="start"`` begins a vertical merge and ``"continue"`` marks the
    cells below it that belong to it (their text is ignored; give them the
    same ``colspan``).  ``bold``/``align`` default to bold+center in header
    rows and normal+left elsewhere.  ``valign``: top|center|bottom.
    ``shade``: background fill as hex RGB (e.g. ``"D9D9D9"``).  ``font``/
    ``size`` override the table defaults; ``indent_chars`` indents the first
    line of every paragraph (2 for narrative answers).
    """

    text: str | Sequence[str] = ""
    colspan: int = 1
    vmerge: Literal["start", "continue"] | None = None
    bold: bool | None = None
    align: Align | None = None
    valign: Literal["top", "center", "bottom"] = "center"
    shade: str | None = None
    font: str | None = None
    size: float | None = None
    indent_chars: float = 0


@dataclass(frozen=True, slots=True)
class Row:
    """A table row with options.  ``cells`` as for a plain row list;
    ``height_mm`` sets a minimum row height (``exact_height=True`` fixes it),
    useful for boxes that are filled in by hand or stamped."""

    cells: Sequence["CellLike"]
    height_mm: float | None = None
    exact_height: bool = False


#: Anything accepted as a cell: a :class:`Cell`, text, a number or None (empty).
CellLike = Union[Cell, str, int, float, None]


class _TableXmlBuilder:
    """Builds the ``w:tbl`` XML string.

    Font, size, line spacing and left alignment of table text live in the
    "CD Table Text" paragraph style (explicit ``w:eastAsia``, zh-CN), so a
    plain cell is just ``w:p/w:pPr/w:pStyle`` + ``w:r/w:t``; explicit run
    properties are written only where a cell deviates (bold, another
    font/size, Chinese quotes needing ``w:hint``) or when
    ``explicit_run_fonts`` is requested.  Fragments are cached per
    combination, so the per-cell cost is a few string joins and the lxml
    tree stays small (parse, insert and save time scale with node count).
    """

    def __init__(self, style_font: str, style_size: float, latin: str, explicit: bool,
                 style_id: str = TABLE_STYLE_ID) -> None:
        self.style_font = style_font
        self.style_size = style_size
        self.style_id = style_id
        self.latin = _xml_escape(latin, {'"': "&quot;"})
        self.explicit = explicit
        self._rpr_cache: dict[tuple, str] = {}
        self._ppr_cache: dict[tuple, str] = {}

    def rpr(self, font: str, size: float, bold: bool, hint: bool) -> str:
        key = (font, size, bold, hint)
        s = self._rpr_cache.get(key)
        if s is None:
            parts = []
            if self.explicit or font != self.style_font:
                ea = _xml_escape(font, {'"': "&quot;"})
                parts.append(f'<w:rFonts w:ascii="{self.latin}" w:hAnsi="{self.latin}"'
                             f' w:cs="{self.latin}" w:eastAsia="{ea}"'
                             + (' w:hint="eastAsia"' if hint else "") + "/>")
            elif hint:
                parts.append('<w:rFonts w:hint="eastAsia"/>')
            if bold:
                parts.append("<w:b/><w:bCs/>")
            if self.explicit or size != self.style_size:
                hp = half_points(size)
                parts.append(f'<w:sz w:val="{hp}"/><w:szCs w:val="{hp}"/>')
            s = f"<w:rPr>{''.join(parts)}</w:rPr>" if parts else ""
            self._rpr_cache[key] = s
        return s

    def ppr(self, align: str, indent_chars: float, font: str, size: float, bold: bool,
            keep_next: bool) -> str:
        key = (align, indent_chars, font, size, bold, keep_next)
        s = self._ppr_cache.get(key)
        if s is None:
            ind = ""
            if indent_chars:
                ind = (f'<w:ind w:firstLineChars="{int(round(indent_chars * 100))}"'
                       f' w:firstLine="{int(round(indent_chars * size * 20))}"/>')
            jc = "" if align == "left" else f'<w:jc w:val="{JC[align]}"/>'
            # Paragraph-mark properties matter only for the height of empty
            # paragraphs, i.e. when the size differs from the style.
            mark = self.rpr(font, size, False, False) if size != self.style_size else ""
            s = (f'<w:pPr><w:pStyle w:val="{self.style_id}"/>'
                 + ("<w:keepNext/>" if keep_next else "") + ind + jc + mark + "</w:pPr>")
            self._ppr_cache[key] = s
        return s


def _text_run(text: str, rpr: str) -> str:
    if "\t" in text:
        inner = '</w:t><w:tab/><w:t xml:space="preserve">'.join(_xml_escape(t) for t in text.split("\t"))
    else:  # saxutils.escape inlined: called for every cell of a 10,000-row list
        inner = text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
    if inner[:1] == " " or inner[-1:] == " " or "  " in inner:
        return f'<w:r>{rpr}<w:t xml:space="preserve">{inner}</w:t></w:r>'
    return f"<w:r>{rpr}<w:t>{inner}</w:t></w:r>"


def _ensure_table_style(doc: _DocumentObject, fonts: DocFonts) -> None:
    """Create the table-text paragraph style in documents not made by
    :func:`new_document`."""
    styles = doc.styles
    if styles.element.get_by_id(TABLE_STYLE_ID) is not None:
        return
    st = styles.add_style(TABLE_STYLE_NAME, 1)
    st.element.set(qn("w:styleId"), TABLE_STYLE_ID)
    st.element.set(qn("w:customStyle"), "1")
    st.base_style = styles["Normal"]
    st.quick_style = False
    reset_style(st, east_asia=fonts.table, latin=fonts.latin, size=fonts.table_size,
                 align="left", line_twips=None)


def _ensure_table_size_style(doc: _DocumentObject, size: float) -> str:
    """The table-text style at another size (``CD Table Text 9`` for the lists' 小五-like 9 pt),
    based on "CD Table Text"; returns its id. A table in that size then needs no run or paragraph
    mark properties at all: a 10,000-row list is a third smaller, and parsed, saved and zipped in
    a third less time."""
    style_id = f"{TABLE_STYLE_ID}{half_points(size)}"
    styles = doc.styles
    if styles.element.get_by_id(style_id) is None:
        st = styles.add_style(f"{TABLE_STYLE_NAME} {size:g}", 1)
        st.element.set(qn("w:styleId"), style_id)
        st.element.set(qn("w:customStyle"), "1")
        st.base_style = styles[TABLE_STYLE_NAME]
        st.quick_style = False
        set_size(st.element.get_or_add_rPr(), size)
    return style_id


def add_table(doc_or_cell: Any, col_widths_mm: Sequence[float], rows: Iterable[Row | Sequence[CellLike]],
              *, header_rows: int = 0, font: str | None = None, size: float | None = None,
              borders: bool = True, border_pt: float = 0.5, align: Literal["left", "center"] = "center",
              cell_margin_mm: float = 1.5, keep_rows_together: bool = False,
              explicit_run_fonts: bool = False, keep_last_rows: int = 0, defer_rows: bool = False) -> Table:
    """Append a fixed-layout table built in a single pass (fast).

    ``col_widths_mm``: width of every grid column (see :func:`scale_widths`;
    the text block is :data:`TEXT_WIDTH_MM` = 156 mm wide).  ``rows``: each
    a :class:`Row` or a plain sequence of cells (:class:`Cell`, str, number
    or None).  The colspans of each row must add up to the number of
    columns.  The first ``header_rows`` rows repeat at the top of every
    page (``w:tblHeader``) and default to bold, centred text.

    Every ``w:gridCol`` and every cell width is written (WPS follows
    gridCol), layout is fixed, borders single (``border_pt`` wide, none if
    ``borders=False``), every row is ``cantSplit``.  Text uses the "CD Table
    Text" paragraph style (document table face, 小四 = 12 pt, single line
    spacing, explicit ``w:eastAsia``); runs get explicit fonts where they
    deviate from it, or always with ``explicit_run_fonts=True`` (bigger,
    slower files).  ``font``/``size`` override the face/size for the whole
    table.  ``keep_rows_together`` keeps the whole table on one page
    (short tables only).

    ``keep_last_rows``: the last rows of a long table keep with the next
    (the last page never holds a row or two alone under the header).

    ``defer_rows`` (a document's body only): the rows are not parsed into the
    document tree; their XML is kept beside it and written straight into the
    saved file by :func:`~clusterdesk.export.word.save.docx_bytes` and
    :func:`~clusterdesk.export.word.save.save_docx` (parsing and serialising a
    10,000-row table took a third of a long export). The returned table then
    has no rows in memory, and the document must be saved through those two
    functions, not ``Document.save``.

    10,000 rows x 5 columns take well under a second to build.
    Returns the python-docx :class:`~docx.table.Table` proxy.
    """
    container = paragraph_container(doc_or_cell)
    fonts = document_fonts(container)
    style_font, style_size = fonts.table, fonts.table_size
    font = font or style_font
    size = style_size if size is None else size
    ncols = len(col_widths_mm)
    if ncols == 0:
        raise ValueError("a table needs at least one column")
    widths = [mm_to_twips(w) for w in col_widths_mm]
    if any(w <= 0 for w in widths):
        raise ValueError("column widths must be positive")
    owner = container if isinstance(container, _DocumentObject) else getattr(container.part, "document", None)
    style_id = TABLE_STYLE_ID
    if owner is not None:
        _ensure_table_style(owner, fonts)
        if size != style_size and not explicit_run_fonts:
            style_id, style_size = _ensure_table_size_style(owner, size), size
    b = _TableXmlBuilder(style_font, style_size, fonts.latin, explicit_run_fonts, style_id)
    row_list = rows if isinstance(rows, list) else list(rows)
    nrows = len(row_list)

    out: list[str] = []
    add = out.append
    total = sum(widths)
    add(f'<w:tbl {nsdecls("w")}><w:tblPr><w:tblW w:w="{total}" w:type="dxa"/>'
        f'<w:jc w:val="{align}"/>')
    edges = ("top", "left", "bottom", "right", "insideH", "insideV")
    if borders:
        sz = max(2, int(round(border_pt * 8)))
        edge = f'w:val="single" w:sz="{sz}" w:space="0" w:color="000000"'
        add("<w:tblBorders>" + "".join(f"<w:{e} {edge}/>" for e in edges) + "</w:tblBorders>")
    else:
        add("<w:tblBorders>" + "".join(f'<w:{e} w:val="nil"/>' for e in edges) + "</w:tblBorders>")
    mar = mm_to_twips(cell_margin_mm)
    add(f'<w:tblLayout w:type="fixed"/><w:tblCellMar><w:top w:w="0" w:type="dxa"/>'
        f'<w:left w:w="{mar}" w:type="dxa"/><w:bottom w:w="0" w:type="dxa"/>'
        f'<w:right w:w="{mar}" w:type="dxa"/></w:tblCellMar>'
        f'<w:tblLook w:val="0000" w:firstRow="0" w:lastRow="0" w:firstColumn="0" w:lastColumn="0"'
        f' w:noHBand="1" w:noVBand="1"/></w:tblPr><w:tblGrid>')
    add("".join(f'<w:gridCol w:w="{w}"/>' for w in widths))
    add("</w:tblGrid>")
    rows_start = len(out)
    tail_from = max(0, nrows - keep_last_rows) if keep_last_rows else nrows

    cum = [0]
    for w in widths:
        cum.append(cum[-1] + w)
    hint_search = AMBIGUOUS_RE.search
    tcpr_cache: dict[tuple, str] = {}
    plain_ppr = {False: b.ppr("left", 0, font, size, False, False),
                 True: b.ppr("left", 0, font, size, False, True)}
    plain_rpr = b.rpr(font, size, False, False)
    vmerge_open: set[int] = set()

    for r_idx, row in enumerate(row_list):
        if isinstance(row, Row):
            cells, height_mm, exact = row.cells, row.height_mm, row.exact_height
        else:
            cells, height_mm, exact = row, None, False
        is_header = r_idx < header_rows
        keep_next = (keep_rows_together or r_idx >= tail_from) and r_idx < nrows - 1
        trpr = "<w:trPr><w:cantSplit/>"
        if height_mm:
            trpr += (f'<w:trHeight w:val="{mm_to_twips(height_mm)}"'
                     f' w:hRule="{"exact" if exact else "atLeast"}"/>')
        if is_header:
            trpr += "<w:tblHeader/>"
        add("<w:tr>" + trpr + "</w:trPr>")
        col = 0
        for c in cells:
            if type(c) is str and not is_header:
                # Fast path: plain text body cell.
                if col >= ncols:
                    raise ValueError(f"row {r_idx}: cells span more than the table's {ncols} columns")
                vmerge_open.discard(col)
                tcpr = tcpr_cache.get((col, 1, None, "center", None))
                if tcpr is None:
                    tcpr = _tcpr_xml(cum[col + 1] - cum[col], 1, None, "center", None)
                    tcpr_cache[(col, 1, None, "center", None)] = tcpr
                add("<w:tc>" + tcpr)
                ppr = plain_ppr[keep_next]
                if c:
                    c = clean_text(c)
                    for ptext in (c.split("\n") if "\n" in c else (c,)):
                        if ptext:
                            rpr = plain_rpr if hint_search(ptext) is None else b.rpr(font, size, False, True)
                            add(f"<w:p>{ppr}{_text_run(ptext, rpr)}</w:p>")
                        else:
                            add(f"<w:p>{ppr}</w:p>")
                else:
                    add(f"<w:p>{ppr}</w:p>")
                add("</w:tc>")
                col += 1
                continue
            if not isinstance(c, Cell):
                text: str | Sequence[str] = "" if c is None else c if isinstance(c, str) else str(c)
                indent: float
                span, vmerge, bold, calign, valign, shade, cfont, csize, indent = (
                    1, None, None, None, "center", None, None, None, 0)
            else:
                text, span, vmerge, bold, calign, valign, shade, cfont, csize, indent = (
                    c.text, c.colspan, c.vmerge, c.bold, c.align, c.valign, c.shade, c.font,
                    c.size, c.indent_chars)
            if span < 1 or col + span > ncols:
                raise ValueError(f"row {r_idx}: cells span {col + span} columns, table has {ncols}")
            if vmerge == "continue":
                if col not in vmerge_open:
                    raise ValueError(f"row {r_idx}, column {col}: vmerge='continue' without a 'start' above")
            elif vmerge == "start":
                vmerge_open.add(col)
            else:
                vmerge_open.discard(col)
            if bold is None:
                bold = is_header
            if calign is None:
                calign = "center" if is_header else "left"
            elif calign not in JC:
                raise ValueError(f"unknown alignment {calign!r}")
            if valign not in VALIGN:
                raise ValueError(f"unknown vertical alignment {valign!r}")
            cfont = cfont or font
            csize = size if csize is None else csize
            key = (col, span, vmerge, valign, shade)
            tcpr = tcpr_cache.get(key)
            if tcpr is None:
                tcpr = _tcpr_xml(cum[col + span] - cum[col], span, vmerge, valign, shade)
                tcpr_cache[key] = tcpr
            ppr = b.ppr(calign, indent, cfont, csize, bool(bold), keep_next)
            add("<w:tc>" + tcpr)
            if vmerge == "continue":
                add(f"<w:p>{ppr}</w:p>")
            else:
                if isinstance(text, str):
                    paras = clean_text(text).split("\n") if text else [""]
                else:
                    paras = [p for t in text for p in clean_text(t).split("\n")] or [""]
                for ptext in paras:
                    if ptext:
                        rpr = b.rpr(cfont, csize, bool(bold), hint_search(ptext) is not None)
                        add(f"<w:p>{ppr}{_text_run(ptext, rpr)}</w:p>")
                    else:
                        add(f"<w:p>{ppr}</w:p>")
            add("</w:tc>")
            col += span
        if col != ncols:
            raise ValueError(f"row {r_idx}: cells span {col} columns, table has {ncols}")
        add("</w:tr>")
    add("</w:tbl>")

    if defer_rows and isinstance(container, _DocumentObject):
        from .save import defer_xml

        marker = defer_xml(container, "".join(out[rows_start:-1]))
        tbl = parse_xml("".join(out[:rows_start]) + f"<!--{marker}--></w:tbl>")
    else:
        tbl = parse_xml("".join(out))
    parent_el = container.element.body if isinstance(container, _DocumentObject) else container._element
    parent_el._insert_tbl(tbl)
    if isinstance(container, _DocumentObject):
        return Table(tbl, container._body)
    if parent_el.tag == qn("w:tc"):
        # A table cell must end with a paragraph.
        parent_el.append(OxmlElement("w:p"))
    return Table(tbl, container)


def _tcpr_xml(width: int, span: int, vmerge: str | None, valign: str, shade: str | None) -> str:
    return (f'<w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>'
            + (f'<w:gridSpan w:val="{span}"/>' if span > 1 else "")
            + ('<w:vMerge w:val="restart"/>' if vmerge == "start"
               else "<w:vMerge/>" if vmerge == "continue" else "")
            + (f'<w:shd w:val="clear" w:color="auto" w:fill="{_xml_escape(shade)}"/>' if shade else "")
            + f'<w:vAlign w:val="{VALIGN[valign]}"/></w:tcPr>')

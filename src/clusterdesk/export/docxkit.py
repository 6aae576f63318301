"""Form-agnostic building blocks for print-ready Chinese official documents.

Everything here follows GB/T 9704-2012 (党政机关公文格式) unless a parameter
says otherwise:

* A4 (11906 x 16838 twips); margins top 37 mm, bottom 35 mm, left 28 mm
  (binding side), right 26 mm;
* body 仿宋_GB2312 三号 (16 pt), title 方正小标宋简体 二号 (22 pt), level-1
  headings 黑体, level-2 headings 楷体_GB2312, tables 小四 (12 pt);
* page numbers "— 1 —" in 宋体 四号, odd pages right, even pages left.

python-docx only writes Latin font slots, so every run, style and the
document defaults get ``w:rFonts/@w:eastAsia`` explicitly, the East Asian
language is zh-CN and theme-font references (which fall back to a Japanese
face in python-docx's template) are removed.

Typical use by a renderer::

    from clusterdesk.export import docxkit as dk

    doc = dk.new_document()                      # or new_document(DocFonts(...).resolve(installed))
    dk.add_title(doc, "中小企业特色产业集群申报书")
    dk.add_heading(doc, "一、集群基本情况", level=1)
    dk.add_paragraph(doc, "正文……", first_line_indent_chars=2)
    dk.add_table(doc, [30, 50, 30, 46], [
        [dk.Cell("集群名称", bold=True), dk.Cell("××集群", colspan=3)],
        ["主导产业", "……", "所在地", "……"],
    ])
    dk.add_seal_block(doc, ["申报单位（盖章）：××市工业和信息化局"], dk.format_cn_date(date.today()))
    dk.add_watermark(doc)                        # drafts only
    dk.save_docx(doc, "申报书.docx")

The table writer (:func:`add_table`) builds the complete ``w:tbl`` XML in one
pass and parses it once; it is roughly two orders of magnitude faster than
``Table.add_row()`` loops and suitable for tables with tens of thousands of
rows.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Literal, Union
from xml.sax.saxutils import escape as _xml_escape

import docx
from docx.document import Document as _DocumentObject
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.section import Section
from docx.shared import Pt, Twips
from docx.table import Table
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from .atomic import atomic_write
from .textsafe import clean_text

__all__ = [
    "DocFonts", "FONT_FALLBACKS", "Cell", "Row", "CellLike",
    "A4_WIDTH_TWIPS", "A4_HEIGHT_TWIPS", "MARGINS_MM", "TEXT_WIDTH_MM", "TEXT_HEIGHT_MM",
    "CHECKED", "UNCHECKED", "GB_CHECKED", "GB_UNCHECKED", "checkbox",
    "mm_to_twips", "scale_widths", "format_cn_date",
    "new_document", "document_fonts", "set_run_font", "add_run", "add_paragraph", "add_title",
    "add_heading", "page_break", "start_section", "keep_together", "add_table",
    "add_seal_block", "add_watermark", "save_docx",
]

# --------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------

A4_WIDTH_TWIPS = 11906
A4_HEIGHT_TWIPS = 16838
#: GB/T 9704 margins in millimetres: top, bottom, left (binding), right.
MARGINS_MM = (37.0, 35.0, 28.0, 26.0)
#: Width of the text block (版心) on portrait A4: 210 - 28 - 26 = 156 mm.
TEXT_WIDTH_MM = 210.0 - MARGINS_MM[2] - MARGINS_MM[3]
#: Height of the text block on portrait A4: 297 - 37 - 35 = 225 mm.
TEXT_HEIGHT_MM = 297.0 - MARGINS_MM[0] - MARGINS_MM[1]
#: Distance of the footer (page number) from the bottom edge.  GB/T 9704
#: puts the number's dash line 7 mm below the text block (35 mm margin).
FOOTER_DISTANCE_MM = 22.0
HEADER_DISTANCE_MM = 15.0

#: Check-box glyphs required by the product spec.  They are NOT in GB2312:
#: Word/WPS/LibreOffice fall back to a font that has them (Segoe UI Symbol,
#: MS Gothic, Noto Sans CJK, DejaVu Sans...).  Use GB_CHECKED/GB_UNCHECKED
#: where every Chinese font must print the box itself.
CHECKED = "☑"
UNCHECKED = "☐"
#: GB2312-safe alternatives (■ U+25A0 / □ U+25A1) printable by every Chinese font.
GB_CHECKED = "■"
GB_UNCHECKED = "□"

_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_TABLE_STYLE_NAME = "CD Table Text"
_TABLE_STYLE_ID = "CDTableText"

# Characters whose code points are shared between Western and CJK typography;
# runs containing them get w:hint="eastAsia" so they print full-width.
_AMBIGUOUS_RE = re.compile("[“”‘’—…·–°±×÷§№※‰′″□■√]")

_ALIGN = {
    "left": WD_ALIGN_PARAGRAPH.LEFT,
    "center": WD_ALIGN_PARAGRAPH.CENTER,
    "right": WD_ALIGN_PARAGRAPH.RIGHT,
    "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
    "distribute": WD_ALIGN_PARAGRAPH.DISTRIBUTE,
}
# The raw w:jc values used by the fast table writer.
_JC = {"left": "left", "center": "center", "right": "right", "justify": "both",
       "distribute": "distribute"}
_VALIGN = {"top": "top", "center": "center", "bottom": "bottom"}

Align = Literal["left", "center", "right", "justify", "distribute"]

# --------------------------------------------------------------------------
# Fonts
# --------------------------------------------------------------------------

#: Substitutes tried in order by :meth:`DocFonts.resolve` and written to the
#: document's font table (``w:altName``, GB2312 charset) so Word/WPS pick a
#: Chinese face when the preferred one is not installed.
FONT_FALLBACKS: Mapping[str, tuple[str, ...]] = {
    "仿宋_GB2312": ("仿宋", "FangSong", "STFangsong", "华文仿宋", "宋体", "SimSun"),
    "仿宋": ("FangSong", "仿宋_GB2312", "STFangsong", "宋体", "SimSun"),
    "方正小标宋简体": ("方正小标宋_GBK", "华文中宋", "STZhongsong", "黑体", "SimHei", "宋体"),
    "方正小标宋_GBK": ("方正小标宋简体", "华文中宋", "STZhongsong", "黑体", "SimHei", "宋体"),
    "黑体": ("SimHei", "微软雅黑", "Microsoft YaHei", "STHeiti", "宋体"),
    "楷体_GB2312": ("楷体", "KaiTi", "STKaiti", "华文楷体", "宋体", "SimSun"),
    "楷体": ("KaiTi", "楷体_GB2312", "STKaiti", "华文楷体", "宋体", "SimSun"),
    "宋体": ("SimSun", "NSimSun", "新宋体", "STSong"),
}


@dataclass(frozen=True)
class DocFonts:
    """Font faces (Word font names) and sizes (points) of a document.

    Defaults follow GB/T 9704.  Sizes: 二号 22, 三号 16, 四号 14, 小四 12,
    五号 10.5.  ``latin`` is used for the ASCII/complex-script slots of every
    run (digits and Latin letters).

    Word stores a single face per run, so fallbacks are handled twice:
    :meth:`resolve` substitutes faces that are not installed (pass the
    family names available on the target machine, e.g. from
    ``QFontDatabase.families()``), and :func:`new_document` records
    :data:`FONT_FALLBACKS` in the font table for Word/WPS's own substitution.
    """

    body: str = "仿宋_GB2312"
    title: str = "方正小标宋简体"
    heading1: str = "黑体"
    heading2: str = "楷体_GB2312"
    table: str = "仿宋_GB2312"
    page_number: str = "宋体"
    latin: str = "Times New Roman"
    body_size: float = 16.0
    title_size: float = 22.0
    heading_size: float = 16.0
    table_size: float = 12.0
    small_size: float = 10.5
    page_number_size: float = 14.0

    _ROLES: ClassVar[tuple[str, ...]] = ("body", "title", "heading1", "heading2", "table", "page_number")

    def resolve(self, installed: Iterable[str],
                fallbacks: Mapping[str, Sequence[str]] = FONT_FALLBACKS) -> DocFonts:
        """Return a copy where every face not in *installed* is replaced by
        its first installed fallback (unchanged when none is installed, so
        the printing machine may still have it)."""
        have = {f.casefold() for f in installed}
        changes: dict[str, str] = {}
        for role in self._ROLES:
            face = getattr(self, role)
            if face.casefold() in have:
                continue
            for alt in fallbacks.get(face, ()):
                if alt.casefold() in have:
                    changes[role] = alt
                    break
        return replace(self, **changes) if changes else self

    def east_asian_faces(self) -> list[str]:
        """Distinct East Asian faces used by this font set."""
        out: list[str] = []
        for role in self._ROLES:
            face = getattr(self, role)
            if face not in out:
                out.append(face)
        return out


# The fonts a document was created with, so helpers can default to them.
_FONTS_BY_PART: "weakref.WeakKeyDictionary[Any, DocFonts]" = weakref.WeakKeyDictionary()


def document_fonts(obj: Any) -> DocFonts:
    """The :class:`DocFonts` used by :func:`new_document` for the document
    that *obj* (Document, cell, paragraph, header…) belongs to; the default
    ``DocFonts()`` for documents not made by :func:`new_document`."""
    part = getattr(obj, "part", None)
    if part is not None:
        try:
            return _FONTS_BY_PART.get(part) or _FONTS_BY_PART.get(part.package.main_document_part) \
                or DocFonts()
        except (AttributeError, TypeError):
            pass
    return DocFonts()


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------

def mm_to_twips(mm: float) -> int:
    """Millimetres to twentieths of a point (1 mm = 56.69 twips)."""
    return int(round(mm * 1440 / 25.4))


def _mm_to_emu(mm: float) -> int:
    return int(round(mm * 36000))


def scale_widths(weights: Sequence[float], total_mm: float = TEXT_WIDTH_MM) -> list[float]:
    """Scale relative column *weights* so they add up to *total_mm*
    (default: the full 156 mm text width)."""
    s = float(sum(weights))
    if s <= 0:
        raise ValueError("column weights must add up to a positive number")
    return [w * total_mm / s for w in weights]


def format_cn_date(d: _dt.date) -> str:
    """``2024年3月20日`` – the GB/T 9704 date form (no zero padding)."""
    return f"{d.year}年{d.month}月{d.day}日"


def checkbox(text: str, ticked: bool, *, gb2312_safe: bool = False) -> str:
    """``"☑text"`` or ``"☐text"``.

    ☑/☐ are outside GB2312 and print through font fallback (Noto CJK,
    Segoe UI Symbol, MS Gothic…).  With ``gb2312_safe=True`` the boxes are
    ■/□, which every Chinese font contains.
    """
    if gb2312_safe:
        return (GB_CHECKED if ticked else GB_UNCHECKED) + text
    return (CHECKED if ticked else UNCHECKED) + text


def _half_points(size_pt: float) -> str:
    return str(int(round(size_pt * 2)))


def _set_rfonts(rPr, east_asia: str | None, latin: str | None, hint: bool = False) -> None:
    """Write explicit font names into ``rPr``'s ``w:rFonts`` and drop theme
    references (which win over explicit names in Word)."""
    rFonts = rPr.find(qn("w:rFonts"))
    if rFonts is None:
        rFonts = OxmlElement("w:rFonts")
        first = rPr[0] if len(rPr) else None
        rPr.insert(1 if first is not None and first.tag == qn("w:rStyle") else 0, rFonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rFonts.attrib.pop(qn(attr), None)
    if latin:
        for attr in ("w:ascii", "w:hAnsi", "w:cs"):
            rFonts.set(qn(attr), latin)
    if east_asia:
        rFonts.set(qn("w:eastAsia"), east_asia)
    if hint:
        rFonts.set(qn("w:hint"), "eastAsia")


def _set_size(rPr, size_pt: float) -> None:
    """Write ``w:sz`` and ``w:szCs`` (half-points) in schema order."""
    rPr.sz_val = Pt(size_pt)
    sz = rPr.find(qn("w:sz"))
    szCs = rPr.find(qn("w:szCs"))
    if szCs is None:
        szCs = OxmlElement("w:szCs")
        sz.addnext(szCs)
    szCs.set(qn("w:val"), _half_points(size_pt))


def _set_lang(rPr) -> None:
    lang = rPr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rPr.append(lang)
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    lang.set(qn("w:bidi"), "ar-SA")


def set_run_font(run: Run, east_asia: str, size_pt: float | None = None, bold: bool | None = False,
                 latin: str | None = None) -> Run:
    """Give *run* explicit fonts: ``east_asia`` for Chinese, ``latin`` (default:
    the document's Latin face, Times New Roman) for ASCII, digits and
    complex script.  ``bold=None`` inherits from the style.  Adds
    ``w:hint="eastAsia"`` when the text has Chinese quotes/dashes so they
    print full-width."""
    if latin is None:
        latin = document_fonts(run).latin
    rPr = run._r.get_or_add_rPr()
    _set_rfonts(rPr, east_asia, latin, hint=bool(_AMBIGUOUS_RE.search(run.text or "")))
    if size_pt is not None:
        _set_size(rPr, size_pt)
    if bold is not None:
        run.bold = bold
    return run


def _paragraph_container(obj: Any):
    """Return the python-docx block container (Document, _Cell, header…)."""
    if isinstance(obj, _DocumentObject):
        return obj
    if hasattr(obj, "add_paragraph"):
        return obj
    raise TypeError(f"cannot add content to {type(obj).__name__}")


def add_run(paragraph: Paragraph, text: str, *, font: str | None = None, size: float | None = None,
            bold: bool | None = False, underline: bool = False, latin: str | None = None) -> Run:
    """Append a run to *paragraph* with explicit fonts.  ``font``/``size``
    default to the document body font/size.  ``\\n`` becomes a line break,
    ``\\t`` a tab; the text is cleaned of XML-illegal characters."""
    fonts = document_fonts(paragraph)
    run = paragraph.add_run(clean_text(text))
    set_run_font(run, font or fonts.body, size if size is not None else fonts.body_size, bold,
                 latin or fonts.latin)
    if underline:
        run.underline = True
    return run


def _apply_paragraph_format(p: Paragraph, *, align: str | None, page_break_before: bool,
                            keep_with_next: bool, space_before: float | None,
                            space_after: float | None, first_line_indent_chars: float,
                            size: float, line_spacing_pt: float | None) -> None:
    pf = p.paragraph_format
    if align is not None:
        try:
            pf.alignment = _ALIGN[align]
        except KeyError:
            raise ValueError(f"unknown alignment {align!r}; use one of {sorted(_ALIGN)}") from None
    if page_break_before:
        pf.page_break_before = True
    if keep_with_next:
        pf.keep_with_next = True
    if space_before is not None:
        pf.space_before = Pt(space_before)
    if space_after is not None:
        pf.space_after = Pt(space_after)
    if line_spacing_pt is not None:
        pf.line_spacing = Pt(line_spacing_pt)  # exact spacing
    if first_line_indent_chars:
        pPr = p._p.get_or_add_pPr()
        ind = pPr.get_or_add_ind()
        ind.set(qn("w:firstLineChars"), str(int(round(first_line_indent_chars * 100))))
        ind.set(qn("w:firstLine"), str(int(round(first_line_indent_chars * size * 20))))


def _set_mark_font(p: Paragraph, east_asia: str, latin: str, size: float) -> None:
    """Format the paragraph mark, which sets the height of an empty line."""
    pPr = p._p.get_or_add_pPr()
    rPr = pPr.find(qn("w:rPr"))
    if rPr is None:
        rPr = OxmlElement("w:rPr")
        sectPr = pPr.find(qn("w:sectPr"))
        if sectPr is not None:
            sectPr.addprevious(rPr)
        else:
            pPr.append(rPr)
    _set_rfonts(rPr, east_asia, latin)
    _set_size(rPr, size)


def add_paragraph(doc_or_cell: Any, text: str = "", *, font: str | None = None,
                  size: float | None = None, bold: bool | None = False, align: Align | None = None,
                  page_break_before: bool = False, keep_with_next: bool = False,
                  space_before: float | None = None, space_after: float | None = None,
                  first_line_indent_chars: float = 0, line_spacing_pt: float | None = None,
                  style: str | None = None) -> Paragraph:
    """Append a paragraph to a Document, table cell, header or footer.

    ``font``/``size`` default to the body face and 三号 (16 pt) of the
    document; ``align`` is ``left|center|right|justify|distribute`` (None:
    style default, justified for Normal); spacing in points;
    ``first_line_indent_chars`` indents by that many characters (2 for
    normal body text); ``line_spacing_pt`` sets exact line spacing (the
    Normal style already uses 28 pt).  ``\\n`` in *text* becomes a line
    break.  Returns the paragraph; more runs can be added with
    :func:`add_run`.
    """
    container = _paragraph_container(doc_or_cell)
    fonts = document_fonts(container)
    size = fonts.body_size if size is None else size
    p = container.add_paragraph(style=style) if style else container.add_paragraph()
    if text:
        add_run(p, text, font=font or fonts.body, size=size, bold=bold)
    else:
        _set_mark_font(p, font or fonts.body, fonts.latin, size)
    _apply_paragraph_format(p, align=align, page_break_before=page_break_before,
                            keep_with_next=keep_with_next, space_before=space_before,
                            space_after=space_after, first_line_indent_chars=first_line_indent_chars,
                            size=size, line_spacing_pt=line_spacing_pt)
    return p


def add_title(doc: Any, text: str, *, page_break_before: bool = False, font: str | None = None,
              size: float | None = None, space_after: float | None = None) -> Paragraph:
    """Centred document title in 方正小标宋简体 二号 (Title style).  ``\\n``
    splits long titles into lines.  ``space_after`` defaults to one body
    line (28 pt), the blank line GB/T 9704 leaves under the title."""
    fonts = document_fonts(doc)
    size = fonts.title_size if size is None else size
    p = add_paragraph(doc, text, font=font or fonts.title, size=size, bold=False, align="center",
                      page_break_before=page_break_before, keep_with_next=True,
                      space_after=28.0 if space_after is None else space_after, style="Title")
    return p


def add_heading(doc: Any, text: str, level: int = 1, *, page_break_before: bool = False,
                first_line_indent_chars: float = 2, font: str | None = None,
                size: float | None = None) -> Paragraph:
    """Heading in the outline (Heading 1/2 styles): level 1 黑体, level 2
    楷体_GB2312, both 三号 and not bold.  Indented two characters by
    default like GB/T 9704 body text ("一、…" / "（一）…"); kept with the
    next paragraph."""
    if level not in (1, 2):
        raise ValueError("only heading levels 1 and 2 are defined")
    fonts = document_fonts(doc)
    face = font or (fonts.heading1 if level == 1 else fonts.heading2)
    return add_paragraph(doc, text, font=face, size=fonts.heading_size if size is None else size,
                         bold=False, page_break_before=page_break_before, keep_with_next=True,
                         first_line_indent_chars=first_line_indent_chars,
                         style=f"Heading {level}")


def page_break(doc: Any) -> Paragraph:
    """Append a paragraph holding a hard page break.  To start a block
    (attachment, form) on a new page without an empty paragraph, prefer
    ``page_break_before=True`` on its first paragraph/title."""
    container = _paragraph_container(doc)
    p = container.add_paragraph()
    p.add_run().add_break(WD_BREAK.PAGE)
    return p


def _apply_page_setup(section: Section, landscape: bool = False) -> None:
    top, bottom, left, right = (mm_to_twips(v) for v in MARGINS_MM)
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Twips(A4_HEIGHT_TWIPS), Twips(A4_WIDTH_TWIPS)
    else:
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Twips(A4_WIDTH_TWIPS), Twips(A4_HEIGHT_TWIPS)
    section.top_margin, section.bottom_margin = Twips(top), Twips(bottom)
    section.left_margin, section.right_margin = Twips(left), Twips(right)
    section.gutter = Twips(0)
    section.header_distance = Twips(mm_to_twips(HEADER_DISTANCE_MM))
    section.footer_distance = Twips(mm_to_twips(FOOTER_DISTANCE_MM))


def start_section(doc: _DocumentObject, *, landscape: bool = False,
                  restart_page_numbers: bool = False) -> Section:
    """Start a new section on a new page (e.g. a landscape attachment).

    The section inherits headers/footers (page numbers, watermark) of the
    previous one; margins are the GB/T 9704 ones in either orientation.
    ``restart_page_numbers`` makes its first page number 1."""
    section = doc.add_section(WD_SECTION.NEW_PAGE)
    _apply_page_setup(section, landscape)
    sectPr = section._sectPr
    pg = sectPr.find(qn("w:pgNumType"))
    if restart_page_numbers:
        if pg is None:
            pg = OxmlElement("w:pgNumType")
            # pgNumType goes after pgMar/paperSrc/pgBorders/lnNumType.
            anchor = sectPr.find(qn("w:pgMar"))
            if anchor is not None:
                anchor.addnext(pg)
            else:
                sectPr.append(pg)
        pg.set(qn("w:start"), "1")
    elif pg is not None:
        pg.attrib.pop(qn("w:start"), None)
    return section


def keep_together(obj: Table | Sequence[Paragraph]) -> None:
    """Ask Word not to split *obj* across pages: for a table, every row but
    the last is kept with the next (rows are already ``cantSplit``); for a
    list of paragraphs, each is kept whole and with the next."""
    if isinstance(obj, Table):
        trs = obj._tbl.tr_lst
        for tr in trs[:-1]:
            for p in tr.iter(qn("w:p")):
                pPr = p.get_or_add_pPr()
                pPr.keepNext_val = True
        return
    paras = list(obj)
    for i, p in enumerate(paras):
        p.paragraph_format.keep_together = True
        if i < len(paras) - 1:
            p.paragraph_format.keep_with_next = True


# --------------------------------------------------------------------------
# Document creation
# --------------------------------------------------------------------------

def _style_element(doc: _DocumentObject, name: str, style_type=1):
    styles = doc.styles
    try:
        return styles[name]
    except KeyError:
        return styles.add_style(name, style_type)


def _reset_style(style, *, east_asia: str, latin: str, size: float, bold: bool | None = False,
                 align: str | None = None, spacing: tuple[int, int] = (0, 0),
                 line_twips: int | None = None, line_rule: str = "exact",
                 keep_next: bool | None = None) -> None:
    el = style.element
    rPr = el.get_or_add_rPr()
    for tag in ("w:color", "w:i", "w:iCs", "w:spacing", "w:kern"):
        for child in rPr.findall(qn(tag)):
            rPr.remove(child)
    _set_rfonts(rPr, east_asia, latin)
    _set_size(rPr, size)
    if bold is not None:
        style.font.bold = bold
        for b in rPr.findall(qn("w:bCs")):
            rPr.remove(b)
    _set_lang(rPr)
    pPr = el.get_or_add_pPr()
    for tag in ("w:pBdr", "w:numPr", "w:contextualSpacing", "w:tabs", "w:ind"):
        for child in pPr.findall(qn(tag)):
            pPr.remove(child)
    pf = style.paragraph_format
    pf.space_before = Twips(spacing[0])
    pf.space_after = Twips(spacing[1])
    spacing_el = pPr.find(qn("w:spacing"))
    if line_twips is not None:
        spacing_el.set(qn("w:line"), str(line_twips))
        spacing_el.set(qn("w:lineRule"), line_rule)
    else:
        spacing_el.set(qn("w:line"), "240")
        spacing_el.set(qn("w:lineRule"), "auto")
    if align is not None:
        pf.alignment = _ALIGN[align]
    if keep_next is not None:
        pf.keep_with_next = keep_next


def _strip_theme_fonts(styles_el) -> None:
    for rFonts in styles_el.iter(qn("w:rFonts")):
        for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            rFonts.attrib.pop(qn(attr), None)
        if not rFonts.attrib:
            rFonts.getparent().remove(rFonts)


def _setup_defaults(doc: _DocumentObject, fonts: DocFonts, line_twips: int | None) -> None:
    styles_el = doc.styles.element
    _strip_theme_fonts(styles_el)
    docDefaults = styles_el.find(qn("w:docDefaults"))
    if docDefaults is None:
        docDefaults = OxmlElement("w:docDefaults")
        styles_el.insert(0, docDefaults)
    rPrDefault = docDefaults.find(qn("w:rPrDefault"))
    if rPrDefault is None:
        rPrDefault = OxmlElement("w:rPrDefault")
        docDefaults.insert(0, rPrDefault)
    rPr = rPrDefault.find(qn("w:rPr"))
    if rPr is None:
        rPr = OxmlElement("w:rPr")
        rPrDefault.append(rPr)
    for child in list(rPr):
        rPr.remove(child)
    rPr.append(parse_xml(
        f'<w:rFonts {nsdecls("w")} w:ascii="{_xml_escape(fonts.latin)}" w:hAnsi="{_xml_escape(fonts.latin)}"'
        f' w:cs="{_xml_escape(fonts.latin)}" w:eastAsia="{_xml_escape(fonts.body)}"/>'))
    rPr.append(parse_xml(f'<w:kern {nsdecls("w")} w:val="2"/>'))
    rPr.append(parse_xml(f'<w:sz {nsdecls("w")} w:val="{_half_points(fonts.body_size)}"/>'))
    rPr.append(parse_xml(f'<w:szCs {nsdecls("w")} w:val="{_half_points(fonts.body_size)}"/>'))
    rPr.append(parse_xml(f'<w:lang {nsdecls("w")} w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA"/>'))
    pPrDefault = docDefaults.find(qn("w:pPrDefault"))
    if pPrDefault is not None:
        docDefaults.remove(pPrDefault)
    docDefaults.append(parse_xml(
        f'<w:pPrDefault {nsdecls("w")}><w:pPr><w:spacing w:before="0" w:after="0" w:line="240"'
        f' w:lineRule="auto"/></w:pPr></w:pPrDefault>'))

    latin = fonts.latin
    normal = doc.styles["Normal"]
    _reset_style(normal, east_asia=fonts.body, latin=latin, size=fonts.body_size,
                 align="justify", line_twips=line_twips)
    title = _style_element(doc, "Title")
    _reset_style(title, east_asia=fonts.title, latin=latin, size=fonts.title_size, align="center",
                 line_twips=line_twips, keep_next=True)
    for level, face in ((1, fonts.heading1), (2, fonts.heading2)):
        st = _style_element(doc, f"Heading {level}")
        _reset_style(st, east_asia=face, latin=latin, size=fonts.heading_size, line_twips=line_twips,
                     keep_next=True)
        st.paragraph_format.keep_together = True
    for name in ("Header", "Footer"):
        st = _style_element(doc, name)
        _reset_style(st, east_asia=fonts.page_number, latin=fonts.page_number,
                     size=fonts.page_number_size, line_twips=None)
    for name in ("Heading 1 Char", "Heading 2 Char", "Title Char"):
        try:
            st = doc.styles[name]
        except KeyError:
            continue
        rPr = st.element.get_or_add_rPr()
        for tag in ("w:color", "w:b", "w:bCs", "w:i", "w:iCs"):
            for child in rPr.findall(qn(tag)):
                rPr.remove(child)
        _set_rfonts(rPr, {"Heading 1 Char": fonts.heading1, "Heading 2 Char": fonts.heading2,
                          "Title Char": fonts.title}[name], latin)
    table_style = _style_element(doc, _TABLE_STYLE_NAME)
    table_style.base_style = normal
    table_style.element.set(qn("w:customStyle"), "1")
    _reset_style(table_style, east_asia=fonts.table, latin=latin, size=fonts.table_size,
                 align="left", line_twips=None)
    table_style.element.set(qn("w:styleId"), _TABLE_STYLE_ID)
    # Quick style gallery hygiene.
    table_style.quick_style = False


def _setup_font_table(doc: _DocumentObject, fonts: DocFonts) -> None:
    """Declare the Chinese faces (GB2312 charset, altName fallback) so Word
    and WPS substitute a Chinese font when one is missing."""
    part = None
    for rel in doc.part.rels.values():
        if rel.reltype == RT.FONT_TABLE and not rel.is_external:
            part = rel.target_part
            break
    if part is None or not hasattr(part, "blob"):
        return
    try:
        root = parse_xml(part.blob)
    except Exception:  # pragma: no cover - malformed template
        return
    existing = {f.get(qn("w:name")) for f in root.findall(qn("w:font"))}
    for face in fonts.east_asian_faces():
        if face in existing:
            continue
        alt = FONT_FALLBACKS.get(face, ())
        alt_xml = f'<w:altName w:val="{_xml_escape(alt[0])}"/>' if alt else ""
        root.append(parse_xml(
            f'<w:font {nsdecls("w")} w:name="{_xml_escape(face)}">{alt_xml}<w:charset w:val="86"/>'
            f'<w:family w:val="modern"/><w:pitch w:val="fixed"/></w:font>'))
    from lxml import etree
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _setup_settings(doc: _DocumentObject) -> None:
    settings = doc.settings
    settings.odd_and_even_pages_header_footer = True
    el = settings.element
    tfl = el.find(qn("w:themeFontLang"))
    if tfl is not None:
        tfl.set(qn("w:val"), "en-US")
        tfl.set(qn("w:eastAsia"), "zh-CN")


def _clean_package(doc: _DocumentObject) -> None:
    """Remove python-docx's template leftovers: the blank thumbnail and the
    "generated by python-docx" core properties."""
    pkg = doc.part.package
    for rId, rel in list(pkg.rels.items()):
        if rel.reltype == RT.THUMBNAIL:
            del pkg.rels[rId]
    cp = doc.core_properties
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0, tzinfo=None)
    cp.author = ""
    cp.comments = ""
    cp.last_modified_by = ""
    cp.title = ""
    cp.revision = 1
    cp.created = now
    cp.modified = now


def _page_number_paragraph_xml(fonts: DocFonts, align: str) -> str:
    face = _xml_escape(fonts.page_number)
    sz = _half_points(fonts.page_number_size)
    rpr = (f'<w:rPr><w:rFonts w:ascii="{face}" w:hAnsi="{face}" w:cs="{face}" w:eastAsia="{face}"'
           f' w:hint="eastAsia"/><w:sz w:val="{sz}"/><w:szCs w:val="{sz}"/></w:rPr>')
    one_char = int(round(fonts.page_number_size * 20))
    ind = f'<w:ind w:right="{one_char}"/>' if align == "right" else f'<w:ind w:left="{one_char}"/>'
    return (
        f'<w:p {nsdecls("w")}><w:pPr><w:pStyle w:val="Footer"/>{ind}<w:jc w:val="{align}"/></w:pPr>'
        f'<w:r>{rpr}<w:t xml:space="preserve">— </w:t></w:r>'
        f'<w:r>{rpr}<w:fldChar w:fldCharType="begin"/></w:r>'
        f'<w:r>{rpr}<w:instrText xml:space="preserve"> PAGE </w:instrText></w:r>'
        f'<w:r>{rpr}<w:fldChar w:fldCharType="separate"/></w:r>'
        f'<w:r>{rpr}<w:t>1</w:t></w:r>'
        f'<w:r>{rpr}<w:fldChar w:fldCharType="end"/></w:r>'
        f'<w:r>{rpr}<w:t xml:space="preserve"> —</w:t></w:r></w:p>')


def _install_page_numbers(doc: _DocumentObject, fonts: DocFonts) -> None:
    section = doc.sections[0]
    for footer, align in ((section.footer, "right"), (section.even_page_footer, "left")):
        footer.is_linked_to_previous = False
        el = footer._element
        for child in list(el):
            el.remove(child)
        el.append(parse_xml(_page_number_paragraph_xml(fonts, align)))


def new_document(fonts: DocFonts = DocFonts(), *, line_spacing_pt: float | None = 28.0,
                 page_numbers: bool = True, template: str | os.PathLike[str] | None = None
                 ) -> _DocumentObject:
    """Create an empty GB/T 9704 document.

    * A4 portrait, margins 37/35/28/26 mm (top/bottom/left/right);
    * explicit ``w:eastAsia`` fonts and ``zh-CN`` on the document defaults
      and the Normal, Title, Heading 1/2, Header/Footer and table-text
      styles, theme-font references removed, ``themeFontLang`` zh-CN;
    * Normal: body face, 三号, justified, exact line spacing
      *line_spacing_pt* (28 pt ≈ 22 lines per page; ``None`` = single);
    * odd/even footers with "— PAGE —" page numbers (宋体 四号; odd pages
      right, even pages left, one character in from the edge) when
      *page_numbers*;
    * *template*: optional .docx to start from (its sections are
      re-formatted the same way).
    """
    doc = docx.Document(os.fspath(template) if template is not None else None)
    for section in doc.sections:
        _apply_page_setup(section, landscape=False)
    line_twips = int(round(line_spacing_pt * 20)) if line_spacing_pt else None
    _setup_defaults(doc, fonts, line_twips)
    _setup_font_table(doc, fonts)
    _setup_settings(doc)
    _clean_package(doc)
    _FONTS_BY_PART[doc.part] = fonts
    if page_numbers:
        _install_page_numbers(doc, fonts)
    return doc


# --------------------------------------------------------------------------
# Fast table writer
# --------------------------------------------------------------------------

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
                 style_id: str = _TABLE_STYLE_ID) -> None:
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
                hp = _half_points(size)
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
            jc = "" if align == "left" else f'<w:jc w:val="{_JC[align]}"/>'
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
    else:
        inner = _xml_escape(text)
    if inner[:1] == " " or inner[-1:] == " " or "  " in inner:
        return f'<w:r>{rpr}<w:t xml:space="preserve">{inner}</w:t></w:r>'
    return f"<w:r>{rpr}<w:t>{inner}</w:t></w:r>"


def _ensure_table_style(doc: _DocumentObject, fonts: DocFonts) -> None:
    """Create the table-text paragraph style in documents not made by
    :func:`new_document`."""
    styles = doc.styles
    if styles.element.get_by_id(_TABLE_STYLE_ID) is not None:
        return
    st = styles.add_style(_TABLE_STYLE_NAME, 1)
    st.element.set(qn("w:styleId"), _TABLE_STYLE_ID)
    st.element.set(qn("w:customStyle"), "1")
    st.base_style = styles["Normal"]
    st.quick_style = False
    _reset_style(st, east_asia=fonts.table, latin=fonts.latin, size=fonts.table_size,
                 align="left", line_twips=None)


def _ensure_table_size_style(doc: _DocumentObject, size: float) -> str:
    """The table-text style at another size (``CD Table Text 9`` for the lists' 小五-like 9 pt),
    based on "CD Table Text"; returns its id. A table in that size then needs no run or paragraph
    mark properties at all: a 10,000-row list is a third smaller, and parsed, saved and zipped in
    a third less time."""
    style_id = f"{_TABLE_STYLE_ID}{_half_points(size)}"
    styles = doc.styles
    if styles.element.get_by_id(style_id) is None:
        st = styles.add_style(f"{_TABLE_STYLE_NAME} {size:g}", 1)
        st.element.set(qn("w:styleId"), style_id)
        st.element.set(qn("w:customStyle"), "1")
        st.base_style = styles[_TABLE_STYLE_NAME]
        st.quick_style = False
        _set_size(st.element.get_or_add_rPr(), size)
    return style_id


def add_table(doc_or_cell: Any, col_widths_mm: Sequence[float], rows: Iterable[Row | Sequence[CellLike]],
              *, header_rows: int = 0, font: str | None = None, size: float | None = None,
              borders: bool = True, border_pt: float = 0.5, align: Literal["left", "center"] = "center",
              cell_margin_mm: float = 1.5, keep_rows_together: bool = False,
              explicit_run_fonts: bool = False) -> Table:
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

    10,000 rows x 5 columns take well under a second to build.
    Returns the python-docx :class:`~docx.table.Table` proxy.
    """
    container = _paragraph_container(doc_or_cell)
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
    style_id = _TABLE_STYLE_ID
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

    cum = [0]
    for w in widths:
        cum.append(cum[-1] + w)
    hint_search = _AMBIGUOUS_RE.search
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
        keep_next = keep_rows_together and r_idx < nrows - 1
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
            elif calign not in _JC:
                raise ValueError(f"unknown alignment {calign!r}")
            if valign not in _VALIGN:
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
            + f'<w:vAlign w:val="{_VALIGN[valign]}"/></w:tcPr>')


# --------------------------------------------------------------------------
# Seal block and watermark
# --------------------------------------------------------------------------

def add_seal_block(doc: Any, lines: Sequence[str], date_text: str, *, seal_room_mm: float = 45.0,
                   right_indent_chars: float = 2.0, font: str | None = None,
                   size: float | None = None) -> list[Paragraph]:
    """Signature block for sealing: an empty space *seal_room_mm* high
    (room for a 42 mm round seal), then the unit name line(s) and the date
    (e.g. ``format_cn_date(d)`` → "2024年3月20日"), right-aligned,
    ``right_indent_chars`` characters from the right margin.  Everything is
    kept together on one page.  No seal is ever drawn.  Returns the
    paragraphs (spacer first)."""
    container = _paragraph_container(doc)
    fonts = document_fonts(container)
    size = fonts.body_size if size is None else size
    face = font or fonts.body
    spacer = add_paragraph(container, "", size=size, keep_with_next=True)
    spacer.paragraph_format.line_spacing = Twips(mm_to_twips(seal_room_mm))  # exact
    out = [spacer]
    items = [*lines, date_text]
    for i, text in enumerate(items):
        p = add_paragraph(container, text, font=face, size=size, align="right",
                          keep_with_next=i < len(items) - 1)
        if right_indent_chars:
            p.paragraph_format.right_indent = Twips(int(round(right_indent_chars * size * 20)))
            p._p.get_or_add_pPr().get_or_add_ind().set(qn("w:rightChars"),
                                                        str(int(round(right_indent_chars * 100))))
        p.paragraph_format.keep_together = True
        out.append(p)
    return out


def _max_docpr_id(doc: _DocumentObject) -> int:
    best = 0
    parts = [doc.part]
    for rel in doc.part.rels.values():
        if not rel.is_external and rel.reltype in (RT.HEADER, RT.FOOTER):
            parts.append(rel.target_part)
    for part in parts:
        el = getattr(part, "element", None)
        if el is None:
            continue
        for d in el.iter("{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}docPr"):
            try:
                best = max(best, int(d.get("id", "0")))
            except ValueError:
                pass
    return best


def _watermark_run_xml(text: str, shape_id: int, face: str, size_pt: float, color: str,
                       diagonal: bool) -> str:
    n = max(1, len(text))
    width_mm = min(190.0, n * size_pt * 0.3528 * 1.15 + 10)
    height_mm = size_pt * 0.3528 * 1.6
    cx, cy = _mm_to_emu(width_mm), _mm_to_emu(height_mm)
    rot = ' rot="18900000"' if diagonal else ""  # 315° = -45°
    face_x = _xml_escape(face, {'"': "&quot;"})
    hp = _half_points(size_pt)
    return (
        f'<w:r {nsdecls("w", "wp", "a")} '
        f'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">'
        f'<w:rPr><w:noProof/></w:rPr><w:drawing>'
        f'<wp:anchor distT="0" distB="0" distL="0" distR="0" simplePos="0" relativeHeight="251659264"'
        f' behindDoc="1" locked="1" layoutInCell="1" allowOverlap="1">'
        f'<wp:simplePos x="0" y="0"/>'
        f'<wp:positionH relativeFrom="page"><wp:align>center</wp:align></wp:positionH>'
        f'<wp:positionV relativeFrom="page"><wp:align>center</wp:align></wp:positionV>'
        f'<wp:extent cx="{cx}" cy="{cy}"/><wp:effectExtent l="0" t="0" r="0" b="0"/><wp:wrapNone/>'
        f'<wp:docPr id="{shape_id}" name="ClusterDesk Watermark {shape_id}"/><wp:cNvGraphicFramePr/>'
        f'<a:graphic><a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">'
        f'<wps:wsp><wps:cNvSpPr txBox="1"/>'
        f'<wps:spPr><a:xfrm{rot}><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
        f'<a:prstGeom prst="rect"><a:avLst/></a:prstGeom><a:noFill/><a:ln><a:noFill/></a:ln></wps:spPr>'
        f'<wps:txbx><w:txbxContent><w:p><w:pPr><w:spacing w:before="0" w:after="0" w:line="240"'
        f' w:lineRule="auto"/><w:jc w:val="center"/></w:pPr>'
        f'<w:r><w:rPr><w:rFonts w:ascii="{face_x}" w:hAnsi="{face_x}" w:cs="{face_x}" w:eastAsia="{face_x}"/>'
        f'<w:color w:val="{color}"/><w:sz w:val="{hp}"/><w:szCs w:val="{hp}"/></w:rPr>'
        f'<w:t>{_xml_escape(text)}</w:t></w:r></w:p></w:txbxContent></wps:txbx>'
        f'<wps:bodyPr rot="0" vert="horz" wrap="none" lIns="0" tIns="0" rIns="0" bIns="0" anchor="ctr"'
        f' anchorCtr="0"><a:noAutofit/></wps:bodyPr></wps:wsp></a:graphicData></a:graphic>'
        f'</wp:anchor></w:drawing></w:r>')


def add_watermark(doc: _DocumentObject, text: str = "草稿", *, font: str | None = None,
                  size_pt: float = 110.0, color: str = "C8C8C8", diagonal: bool = True) -> None:
    """Put a large light-grey *text* (default 草稿) behind the text of every
    page.

    The mark is a DrawingML text box anchored in every header definition
    (odd, even and first-page headers of every section that has its own),
    centred on the page, behind the text.  Word and WPS draw it rotated
    −45° when *diagonal*; LibreOffice (checked with 7.4) draws header text
    boxes unrotated.  The text stays real text, so it survives PDF
    conversion (``pdftotext`` finds it on every page).  Call it after all
    sections have been added.
    """
    text = clean_text(text).replace("\n", " ")
    face = font or document_fonts(doc).heading1
    next_id = max(_max_docpr_id(doc), 4000) + 1
    seen: set[int] = set()
    for i, section in enumerate(doc.sections):
        headers = [section.header]
        if doc.settings.odd_and_even_pages_header_footer:
            headers.append(section.even_page_header)
        if section.different_first_page_header_footer:
            headers.append(section.first_page_header)
        for header in headers:
            if i > 0 and header.is_linked_to_previous:
                continue
            header.is_linked_to_previous = False
            el = header._element
            if id(el) in seen:
                continue
            seen.add(id(el))
            paras = header.paragraphs
            p = paras[0] if paras else header.add_paragraph()
            p._p.append(parse_xml(_watermark_run_xml(text, next_id, face, size_pt, color, diagonal)))
            next_id += 1


# --------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------

def save_docx(doc: _DocumentObject, path: str | os.PathLike[str]) -> Path:
    """Save *doc* atomically (temp file + rename, see
    :func:`~clusterdesk.export.atomic.atomic_write`).  Raises
    :class:`~clusterdesk.export.atomic.ExportWriteError` with a Chinese
    message when the folder is missing/unwritable or the disk is full."""
    target = Path(path)
    with atomic_write(target, "wb") as fh:
        doc.save(fh)
    return target

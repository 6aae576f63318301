"""Units, runs, paragraphs, titles, headings, page breaks and sections: every run gets its East
Asian font, size and language explicitly (python-docx writes only the Latin slots)."""

from __future__ import annotations

import datetime as _dt

from collections.abc import Sequence
from typing import Any

from docx.document import Document as _DocumentObject
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.text import WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.section import Section
from docx.shared import Pt, Twips
from docx.table import Table
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from clusterdesk.textsafe import clean_text

from .fonts import document_fonts
from .page import A4_HEIGHT_TWIPS, A4_WIDTH_TWIPS, ALIGN, AMBIGUOUS_RE, Align, CHECKED, FOOTER_DISTANCE_MM, GB_CHECKED, GB_UNCHECKED, HEADER_DISTANCE_MM, MARGINS_MM, TEXT_WIDTH_MM, UNCHECKED


def mm_to_twips(mm: float) -> int:
    """Millimetres to twentieths of a point (1 mm = 56.69 twips)."""
    return int(round(mm * 1440 / 25.4))


def mm_to_emu(mm: float) -> int:
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


def half_points(size_pt: float) -> str:
    return str(int(round(size_pt * 2)))


def set_rfonts(rPr, east_asia: str | None, latin: str | None, hint: bool = False) -> None:
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


def set_size(rPr, size_pt: float) -> None:
    """Write ``w:sz`` and ``w:szCs`` (half-points) in schema order."""
    rPr.sz_val = Pt(size_pt)
    sz = rPr.find(qn("w:sz"))
    szCs = rPr.find(qn("w:szCs"))
    if szCs is None:
        szCs = OxmlElement("w:szCs")
        sz.addnext(szCs)
    szCs.set(qn("w:val"), half_points(size_pt))


def set_lang(rPr) -> None:
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
    set_rfonts(rPr, east_asia, latin, hint=bool(AMBIGUOUS_RE.search(run.text or "")))
    if size_pt is not None:
        set_size(rPr, size_pt)
    if bold is not None:
        run.bold = bold
    return run


def paragraph_container(obj: Any):
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
            pf.alignment = ALIGN[align]
        except KeyError:
            raise ValueError(f"unknown alignment {align!r}; use one of {sorted(ALIGN)}") from None
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
    set_rfonts(rPr, east_asia, latin)
    set_size(rPr, size)


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
    container = paragraph_container(doc_or_cell)
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
    container = paragraph_container(doc)
    p = container.add_paragraph()
    p.add_run().add_break(WD_BREAK.PAGE)
    return p


def apply_page_setup(section: Section, landscape: bool = False) -> None:
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
    apply_page_setup(section, landscape)
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

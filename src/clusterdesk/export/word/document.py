"""A new document: the styles, defaults, font table, settings and page numbers (“— 1 —”) of a
Chinese official document, with python-docx's template cleaned of what it would leave."""

from __future__ import annotations

import datetime as _dt

import os
from xml.sax.saxutils import escape as _xml_escape

import docx
from docx.document import Document as _DocumentObject
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Twips

from .fonts import DocFonts, FONTS_BY_PART, FONT_FALLBACKS
from .page import ALIGN, TABLE_STYLE_ID, TABLE_STYLE_NAME
from .text import apply_page_setup, half_points, set_lang, set_rfonts, set_size


def _style_element(doc: _DocumentObject, name: str, style_type=1):
    styles = doc.styles
    try:
        return styles[name]
    except KeyError:
        return styles.add_style(name, style_type)


def reset_style(style, *, east_asia: str, latin: str, size: float, bold: bool | None = False,
                 align: str | None = None, spacing: tuple[int, int] = (0, 0),
                 line_twips: int | None = None, line_rule: str = "exact",
                 keep_next: bool | None = None) -> None:
    el = style.element
    rPr = el.get_or_add_rPr()
    for tag in ("w:color", "w:i", "w:iCs", "w:spacing", "w:kern"):
        for child in rPr.findall(qn(tag)):
            rPr.remove(child)
    set_rfonts(rPr, east_asia, latin)
    set_size(rPr, size)
    if bold is not None:
        style.font.bold = bold
        for b in rPr.findall(qn("w:bCs")):
            rPr.remove(b)
    set_lang(rPr)
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
        pf.alignment = ALIGN[align]
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
    rPr.append(parse_xml(f'<w:sz {nsdecls("w")} w:val="{half_points(fonts.body_size)}"/>'))
    rPr.append(parse_xml(f'<w:szCs {nsdecls("w")} w:val="{half_points(fonts.body_size)}"/>'))
    rPr.append(parse_xml(f'<w:lang {nsdecls("w")} w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA"/>'))
    pPrDefault = docDefaults.find(qn("w:pPrDefault"))
    if pPrDefault is not None:
        docDefaults.remove(pPrDefault)
    docDefaults.append(parse_xml(
        f'<w:pPrDefault {nsdecls("w")}><w:pPr><w:spacing w:before="0" w:after="0" w:line="240"'
        f' w:lineRule="auto"/></w:pPr></w:pPrDefault>'))

    latin = fonts.latin
    normal = doc.styles["Normal"]
    reset_style(normal, east_asia=fonts.body, latin=latin, size=fonts.body_size,
                 align="justify", line_twips=line_twips)
    title = _style_element(doc, "Title")
    reset_style(title, east_asia=fonts.title, latin=latin, size=fonts.title_size, align="center",
                 line_twips=line_twips, keep_next=True)
    for level, face in ((1, fonts.heading1), (2, fonts.heading2)):
        st = _style_element(doc, f"Heading {level}")
        reset_style(st, east_asia=face, latin=latin, size=fonts.heading_size, line_twips=line_twips,
                     keep_next=True)
        st.paragraph_format.keep_together = True
    for name in ("Header", "Footer"):
        st = _style_element(doc, name)
        reset_style(st, east_asia=fonts.page_number, latin=fonts.page_number,
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
        set_rfonts(rPr, {"Heading 1 Char": fonts.heading1, "Heading 2 Char": fonts.heading2,
                          "Title Char": fonts.title}[name], latin)
    table_style = _style_element(doc, TABLE_STYLE_NAME)
    table_style.base_style = normal
    table_style.element.set(qn("w:customStyle"), "1")
    reset_style(table_style, east_asia=fonts.table, latin=latin, size=fonts.table_size,
                 align="left", line_twips=None)
    table_style.element.set(qn("w:styleId"), TABLE_STYLE_ID)
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
    sz = half_points(fonts.page_number_size)
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
        apply_page_setup(section, landscape=False)
    line_twips = int(round(line_spacing_pt * 20)) if line_spacing_pt else None
    _setup_defaults(doc, fonts, line_twips)
    _setup_font_table(doc, fonts)
    _setup_settings(doc)
    _clean_package(doc)
    FONTS_BY_PART[doc.part] = fonts
    if page_numbers:
        _install_page_numbers(doc, fonts)
    return doc

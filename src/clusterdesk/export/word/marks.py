"""The seal block (盖章 and date, room left for the seal) and the 草稿 watermark."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape as _xml_escape

from docx.document import Document as _DocumentObject
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Twips
from docx.text.paragraph import Paragraph

from clusterdesk.textsafe import clean_text

from .fonts import document_fonts
from .text import add_paragraph, half_points, mm_to_emu, mm_to_twips, paragraph_container


def add_seal_block(doc: Any, lines: Sequence[str], date_text: str, *, seal_room_mm: float = 45.0,
                   right_indent_chars: float = 2.0, font: str | None = None,
                   size: float | None = None) -> list[Paragraph]:
    """Signature block for sealing: an empty space *seal_room_mm* high
    (room for a 42 mm round seal), then the unit name line(s) and the date
    (e.g. ``format_cn_date(d)`` → "2024年3月20日"), right-aligned,
    ``right_indent_chars`` characters from the right margin.  Everything is
    kept together on one page.  No seal is ever drawn.  Returns the
    paragraphs (spacer first)."""
    container = paragraph_container(doc)
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
    cx, cy = mm_to_emu(width_mm), mm_to_emu(height_mm)
    rot = ' rot="18900000"' if diagonal else ""  # 315° = -45°
    face_x = _xml_escape(face, {'"': "&quot;"})
    hp = half_points(size_pt)
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

"""The Word kit: form-agnostic building blocks for print-ready Chinese official documents.

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

    from clusterdesk.export import word as dk

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

from .page import (
    A4_HEIGHT_TWIPS,
    A4_WIDTH_TWIPS,
    ALIGN,
    CHECKED,
    GB_CHECKED,
    GB_UNCHECKED,
    MARGINS_MM,
    TEXT_HEIGHT_MM,
    TEXT_WIDTH_MM,
    UNCHECKED,
)
from .fonts import DocFonts, FONT_FALLBACKS, document_fonts
from .text import (
    add_heading,
    add_paragraph,
    add_run,
    add_title,
    checkbox,
    format_cn_date,
    keep_together,
    mm_to_twips,
    page_break,
    scale_widths,
    set_run_font,
    start_section,
)
from .document import new_document
from .tables import Cell, CellLike, Row, add_table
from .marks import add_seal_block, add_watermark
from .save import docx_bytes, save_docx

__all__ = [
    "DocFonts",
    "FONT_FALLBACKS",
    "Cell",
    "Row",
    "CellLike",
    "A4_WIDTH_TWIPS",
    "A4_HEIGHT_TWIPS",
    "MARGINS_MM",
    "TEXT_WIDTH_MM",
    "TEXT_HEIGHT_MM",
    "CHECKED",
    "UNCHECKED",
    "GB_CHECKED",
    "GB_UNCHECKED",
    "checkbox",
    "mm_to_twips",
    "scale_widths",
    "format_cn_date",
    "new_document",
    "document_fonts",
    "set_run_font",
    "add_run",
    "add_paragraph",
    "add_title",
    "add_heading",
    "page_break",
    "start_section",
    "keep_together",
    "add_table",
    "add_seal_block",
    "add_watermark",
    "docx_bytes",
    "save_docx",
    "ALIGN",
]

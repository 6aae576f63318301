"""The page of a Chinese official document (GB/T 9704-2012): A4, margins, the text block, the
box marks, and the XML names the kit shares."""

from __future__ import annotations

import re
from typing import Literal

from docx.enum.text import WD_ALIGN_PARAGRAPH


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
TABLE_STYLE_NAME = "CD Table Text"
TABLE_STYLE_ID = "CDTableText"

# Characters whose code points are shared between Western and CJK typography;
# runs containing them get w:hint="eastAsia" so they print full-width.
AMBIGUOUS_RE = re.compile("[“”‘’—…·–°±×÷§№※‰′″□■√]")

ALIGN = {
    "left": WD_ALIGN_PARAGRAPH.LEFT,
    "center": WD_ALIGN_PARAGRAPH.CENTER,
    "right": WD_ALIGN_PARAGRAPH.RIGHT,
    "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
    "distribute": WD_ALIGN_PARAGRAPH.DISTRIBUTE,
}
# The raw w:jc values used by the fast table writer.
JC = {"left": "left", "center": "center", "right": "right", "justify": "both",
      "distribute": "distribute"}
VALIGN = {"top": "top", "center": "center", "bottom": "bottom"}

Align = Literal["left", "center", "right", "justify", "distribute"]

"""What LibreOffice prints: the application and the annual report, filled (demo) and blank, converted
to PDF and measured page by page.

- every part 一 … 七 (Shanghai 一 … 六) starts a page (填报说明 11 / 6: 不得串页);
- no continuation page of those parts holds less than a quarter of the text block (225 mm / 4),
  measured as the lowest ink on the page (text or table rules) above the page number.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from clusterdesk.export.pdf import docx_to_pdf, find_soffice, pdf_page_texts
from clusterdesk.export.word.render import render_blank, render_docx
from clusterdesk.model.form import default_catalog
from test_print_layout import demo_answers

pytestmark = [pytest.mark.soffice, pytest.mark.skipif(find_soffice() is None, reason="LibreOffice not installed")]

TOP_MM = 37.0  # GB/T 9704 top margin: the text block starts here
TEXT_HEIGHT_MM = 225.0
FOOT_MM = 257.0  # below this only the page number (— N —)
DPI = 40


def ink_extents(pdf: Path) -> list[tuple[float, float] | None]:
    """Per page, the first and last row (mm from the top) holding ink inside the text block."""
    out: list[tuple[float, float] | None] = []
    tmp = pdf.parent / f"{pdf.stem}-pgm"
    tmp.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-gray", "-r", str(DPI), str(pdf), str(tmp / "p")], check=True)
    for f in sorted(tmp.glob("p-*.pgm"), key=lambda p: int(p.stem.rsplit("-", 1)[1])):
        magic, w, h, _maxval, px = f.read_bytes().split(maxsplit=4)
        assert magic == b"P5"
        w, h = int(w), int(h)
        mm = 25.4 / DPI
        rows = [y for y in range(h) if y * mm < FOOT_MM and min(px[y * w:(y + 1) * w]) < 128]
        out.append((rows[0] * mm, rows[-1] * mm) if rows else None)
    return out


def first_lines(pdf: Path) -> list[str]:
    out = []
    for page in pdf_page_texts(pdf, layout=False):
        lines = [re.sub(r"\s+", "", ln) for ln in page.splitlines() if ln.strip()]
        lines = [ln for ln in lines if not re.fullmatch(r"[—–-]*\d+[—–-]*", ln)]
        out.append(lines[0] if lines else "")
    return out


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory):
    out = {}
    tmp = tmp_path_factory.mktemp("pages")
    for fid in ("cq-2024-application", "sh-2023-annual-report"):
        form = default_catalog().get(fid)
        for kind in ("filled", "blank"):
            d = render_docx(form, demo_answers(form)) if kind == "filled" else render_blank(form)
            path = tmp / f"{fid}-{kind}.docx"
            d.save(str(path))
            out[(fid, kind)] = (form, docx_to_pdf(path, tmp))
    return out


@pytest.mark.parametrize("kind", ["filled", "blank"])
@pytest.mark.parametrize("form_id", ["cq-2024-application", "sh-2023-annual-report"])
def test_parts_start_pages_and_no_continuation_page_is_under_a_quarter(pdfs, form_id, kind):
    form, pdf = pdfs[(form_id, kind)]
    heads = first_lines(pdf)
    ink = ink_extents(pdf)
    assert len(heads) == len(ink)
    starts: dict[str, int] = {}
    for s in form.sections:
        if s.layout == "cover" or not s.print_title and s.layout != "instructions":
            continue
        title = re.sub(r"\s+", "", s.title)
        pages = [i for i, h in enumerate(heads) if h == title]
        assert pages, f"{s.title} does not start a page ({kind})"
        starts[s.id] = pages[0]
    order = [starts[s.id] for s in form.sections if s.id in starts]
    assert order == sorted(order)
    boundaries = sorted(set(order)) + [len(heads)]
    short = []
    for s in form.sections:
        if not s.no_straddle:
            continue
        first = starts[s.id]
        end = next(b for b in boundaries if b > first)
        for page in range(first + 1, end):  # the part's continuation pages
            extent = ink[page]
            fill = 0.0 if extent is None else extent[1] - TOP_MM
            if fill < TEXT_HEIGHT_MM / 4:
                short.append(f"{s.title}: page {page + 1} holds {fill:.0f} mm")
    assert not short, short

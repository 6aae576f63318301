"""Tests for the form-agnostic export kits: the Word kit (export.word), xlsxkit, pdf, atomic, textsafe."""

from __future__ import annotations

import datetime as dt
import errno
import os
import re
import shutil
import stat
import threading
import zipfile
from pathlib import Path

import docx
import pytest
from openpyxl import Workbook, load_workbook

from clusterdesk.export import word as dk
from clusterdesk.export import pdf as pdfmod
from clusterdesk.export import xlsxkit as xk
from clusterdesk.export.atomic import ExportWriteError, atomic_write
from clusterdesk.textsafe import clean_text, display_width

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def w(tag: str) -> str:
    return W + tag


def part_xml(path: Path, name: str) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read(name).decode("utf-8")


def part_names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        return z.namelist()


# --------------------------------------------------------------------------
# textsafe
# --------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("plain 中文", "plain 中文"),
    ("a\x00b\x08c", "abc"),
    ("line1\x0bline2", "line1\nline2"),          # Word manual line break
    ("a\r\nb\rc", "a\nb\nc"),
    ("tab\tok\n", "tab\tok\n"),
    ("x\x0cy\x1fz\x0e", "xyz"),
    ("bad\ufffe\uffffend", "badend"),
    ("lone\ud800sur\udfffrogate", "lonesurrogate"),
    ("pair\ud83d\ude00ok", "pair😀ok"),            # pair given as two code points
    (None, ""),
])
def test_clean_text(raw, expected):
    assert clean_text(raw) == expected
    assert clean_text(clean_text(raw)) == expected  # idempotent


def test_display_width_counts_wide_chars_twice():
    assert display_width("abc") == 3
    assert display_width("中文ab") == 6
    assert display_width("短\n更长的一行") == 10
    assert display_width("（１）") == 6  # full-width punctuation and digits


# --------------------------------------------------------------------------
# atomic
# --------------------------------------------------------------------------

def test_atomic_write_replaces_on_success(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with atomic_write(target) as fh:
        fh.write(b"new")
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_atomic_write_text_mode(tmp_path):
    target = tmp_path / "t.txt"
    with atomic_write(target, "w") as fh:
        fh.write("中文")
    assert target.read_text(encoding="utf-8") == "中文"


def test_atomic_write_leaves_nothing_on_exception(tmp_path):
    target = tmp_path / "out.docx"
    with pytest.raises(RuntimeError):
        with atomic_write(target) as fh:
            fh.write(b"partial")
            raise RuntimeError("boom")
    assert not target.exists()
    assert os.listdir(tmp_path) == []


def test_atomic_write_keeps_old_file_on_exception(tmp_path):
    target = tmp_path / "out.docx"
    target.write_bytes(b"previous")
    with pytest.raises(KeyError):
        with atomic_write(target) as fh:
            fh.write(b"partial")
            raise KeyError("x")
    assert target.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["out.docx"]


def test_atomic_write_missing_folder(tmp_path):
    with pytest.raises(ExportWriteError) as ei:
        with atomic_write(tmp_path / "nope" / "out.docx") as fh:
            fh.write(b"x")
    msg = str(ei.value)
    assert "无法写入导出文件夹" in msg and "文件夹不存在" in msg and "nope" in msg
    assert not (tmp_path / "nope").exists()


def test_atomic_write_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running with privileges that ignore folder permissions")
        with pytest.raises(ExportWriteError) as ei:
            with atomic_write(folder / "out.docx") as fh:
                fh.write(b"x")
        assert "没有写入权限" in str(ei.value)
        assert os.listdir(folder) == []
    finally:
        folder.chmod(stat.S_IRWXU)


def test_atomic_write_permission_error_is_chinese(tmp_path, monkeypatch):
    import tempfile

    def deny(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", deny)
    with pytest.raises(ExportWriteError) as ei:
        with atomic_write(tmp_path / "out.docx"):
            pass
    assert str(ei.value) == f"无法写入导出文件夹：{tmp_path}（没有写入权限）"


def test_atomic_write_disk_full(tmp_path):
    target = tmp_path / "out.xlsx"
    with pytest.raises(ExportWriteError) as ei:
        with atomic_write(target) as fh:
            fh.write(b"some")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert "磁盘空间不足" in str(ei.value)
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------
# the Word kit (export.word)
# --------------------------------------------------------------------------

def build_sample(path: Path, *, watermark: bool = True) -> Path:
    doc = dk.new_document()
    dk.add_title(doc, "中小企业特色产业集群申报书")
    dk.add_heading(doc, "一、集群基本情况", level=1)
    dk.add_heading(doc, "（一）主导产业", level=2)
    dk.add_paragraph(doc, "本集群位于“长三角”地区，2023年产值123.45亿元。\x0b第二行", first_line_indent_chars=2)
    p = dk.add_paragraph(doc, "是否国家级：")
    dk.add_run(p, dk.checkbox("是", True) + " " + dk.checkbox("否", False))
    dk.add_table(doc, [30, 40, 40, 46], [
        ["项目", "内容", "项目", "内容"],
        [dk.Cell("集群名称", bold=True), dk.Cell("××集群", colspan=3)],
        [dk.Cell("企业数量", vmerge="start"), "120", "规上企业", "45"],
        [dk.Cell(vmerge="continue"), "专精特新", dk.Cell("12", colspan=2, align="center", shade="D9D9D9")],
        dk.Row([dk.Cell("意见", bold=True), dk.Cell(["（盖章）", "年  月  日"], colspan=3, align="right")],
               height_mm=30),
    ], header_rows=1)
    dk.add_seal_block(doc, ["申报单位（盖章）：××市工业和信息化局"], dk.format_cn_date(dt.date(2024, 3, 5)))
    if watermark:
        dk.add_watermark(doc)
    return dk.save_docx(doc, path)


@pytest.fixture()
def sample_docx(tmp_path) -> Path:
    return build_sample(tmp_path / "sample.docx")


def test_page_setup_a4_and_margins(sample_docx):
    d = docx.Document(sample_docx)
    s = d.sections[0]
    assert (s.page_width.twips, s.page_height.twips) == (11906, 16838)
    mm = lambda length: round(length.mm)  # noqa: E731
    assert (mm(s.top_margin), mm(s.bottom_margin), mm(s.left_margin), mm(s.right_margin)) == (37, 35, 28, 26)
    body = part_xml(sample_docx, "word/document.xml")
    assert '<w:pgSz w:w="11906" w:h="16838"/>' in body


def test_east_asian_fonts_on_defaults_styles_and_runs(sample_docx):
    styles = part_xml(sample_docx, "word/styles.xml")
    defaults = re.search(r"<w:rPrDefault>.*?</w:rPrDefault>", styles).group(0)
    assert 'w:eastAsia="仿宋_GB2312"' in defaults
    assert 'w:eastAsia="zh-CN"' in defaults
    assert "Theme" not in styles  # no theme-font references anywhere
    expected = {"Normal": "仿宋_GB2312", "Title": "方正小标宋简体", "Heading1": "黑体",
                "Heading2": "楷体_GB2312", "Footer": "宋体", "CDTableText": "仿宋_GB2312"}
    for sid, face in expected.items():
        m = re.search(rf'<w:style [^>]*w:styleId="{sid}".*?</w:style>', styles, re.S)
        assert m, sid
        assert f'w:eastAsia="{face}"' in m.group(0), sid
        assert 'w:lang w:val="en-US" w:eastAsia="zh-CN"' in m.group(0), sid
    settings = part_xml(sample_docx, "word/settings.xml")
    assert re.search(r'<w:themeFontLang [^>]*w:eastAsia="zh-CN"', settings)

    d = docx.Document(sample_docx)
    body_runs = [r for p in d.paragraphs for r in p.runs if r.text]
    assert body_runs
    for r in body_runs:
        rfonts = r._r.rPr.find(w("rFonts"))
        assert rfonts is not None and rfonts.get(w("eastAsia")), r.text
    title = d.paragraphs[0].runs[0]
    assert title._r.rPr.find(w("rFonts")).get(w("eastAsia")) == "方正小标宋简体"
    assert title.font.size.pt == 22
    quoted = next(r for r in body_runs if "“" in r.text)
    assert quoted._r.rPr.find(w("rFonts")).get(w("hint")) == "eastAsia"
    assert "\n" in quoted.text  # \x0b became a line break
    fonts = part_xml(sample_docx, "word/fontTable.xml")
    assert '<w:font w:name="仿宋_GB2312"><w:altName w:val="仿宋"/><w:charset w:val="86"/>' in fonts


def test_custom_fonts_and_resolution(tmp_path):
    fonts = dk.DocFonts(body="宋体", table="宋体", title="黑体")
    doc = dk.new_document(fonts)
    dk.add_paragraph(doc, "正文")
    dk.add_table(doc, [50, 50], [["甲", "乙"]])
    out = dk.save_docx(doc, tmp_path / "f.docx")
    styles = part_xml(out, "word/styles.xml")
    assert re.search(r'<w:style [^>]*w:styleId="Normal".*?w:eastAsia="宋体"', styles, re.S)
    assert re.search(r'<w:style [^>]*w:styleId="CDTableText".*?w:eastAsia="宋体"', styles, re.S)
    resolved = dk.DocFonts().resolve(["FangSong", "SimHei", "KaiTi", "SimSun"])
    assert resolved.body == "FangSong" and resolved.title == "SimHei"
    assert resolved.heading2 == "KaiTi" and resolved.page_number == "SimSun"
    assert dk.DocFonts().resolve([]) == dk.DocFonts()


def test_table_structure(sample_docx):
    d = docx.Document(sample_docx)
    t = d.tables[0]
    tbl = t._tbl
    grid = [int(g.get(w("w"))) for g in tbl.tblGrid.findall(w("gridCol"))]
    assert grid == [dk.mm_to_twips(v) for v in (30, 40, 40, 46)]
    assert tbl.tblPr.find(w("tblLayout")).get(w("type")) == "fixed"
    borders = tbl.tblPr.find(w("tblBorders"))
    assert {b.get(w("val")) for b in borders} == {"single"}
    trs = tbl.findall(w("tr"))
    assert len(trs) == 5
    for tr in trs:
        assert tr.trPr.find(w("cantSplit")) is not None
        for tc in tr.findall(w("tc")):
            tcw = tc.tcPr.find(w("tcW"))
            assert tcw is not None and tcw.get(w("type")) == "dxa" and int(tcw.get(w("w"))) > 0
    assert [tr.trPr.find(w("tblHeader")) is not None for tr in trs] == [True, False, False, False, False]
    # colspan: width of spanning cell equals the sum of its grid columns
    span_tc = trs[1].findall(w("tc"))[1]
    assert span_tc.tcPr.find(w("gridSpan")).get(w("val")) == "3"
    assert int(span_tc.tcPr.find(w("tcW")).get(w("w"))) == sum(grid[1:])
    # vertical merge
    assert trs[2].findall(w("tc"))[0].tcPr.find(w("vMerge")).get(w("val")) == "restart"
    assert trs[3].findall(w("tc"))[0].tcPr.find(w("vMerge")).get(w("val")) is None
    assert t.cell(3, 0)._tc is t.cell(2, 0)._tc  # python-docx sees one merged cell
    assert t.cell(2, 0).text == "企业数量"
    assert t.cell(1, 3).text == "××集群"
    assert trs[3].findall(w("tc"))[2].tcPr.find(w("shd")).get(w("fill")) == "D9D9D9"
    assert trs[4].trPr.find(w("trHeight")).get(w("hRule")) == "atLeast"
    assert [p.text for p in t.cell(4, 1).paragraphs] == ["（盖章）", "年  月  日"]
    # header text is bold and centred by default
    hdr_p = t.cell(0, 0).paragraphs[0]
    assert hdr_p.runs[0].bold is True
    assert hdr_p.alignment == docx.enum.text.WD_ALIGN_PARAGRAPH.CENTER


def test_table_explicit_run_fonts_and_nesting(tmp_path):
    doc = dk.new_document()
    t = dk.add_table(doc, [40, 40], [["a\x00“引号”", 1.5], [None, "多\n行"]], explicit_run_fonts=True,
                     size=10.5)
    inner = dk.add_table(t.cell(1, 0), [30], [["内表"]])
    out = dk.save_docx(doc, tmp_path / "n.docx")
    d = docx.Document(out)
    t2 = d.tables[0]
    assert t2.cell(0, 0).text == "a“引号”"
    r = t2.cell(0, 0).paragraphs[0].runs[0]
    rf = r._r.rPr.find(w("rFonts"))
    assert rf.get(w("eastAsia")) == "仿宋_GB2312" and rf.get(w("hint")) == "eastAsia"
    assert r.font.size.pt == 10.5
    assert t2.cell(0, 1).text == "1.5"
    assert [p.text for p in t2.cell(1, 1).paragraphs] == ["多", "行"]
    cell_el = t2.cell(1, 0)._tc
    assert cell_el[-1].tag == w("p")  # a cell must end with a paragraph
    assert t2.cell(1, 0).tables[0].cell(0, 0).text == "内表"
    assert inner is not None


@pytest.mark.parametrize("rows, match", [
    ([["a", "b", "c"]], "span"),
    ([["a"]], "span"),
    ([[dk.Cell("a", colspan=3)]], "span"),
    ([[dk.Cell(vmerge="continue"), "b"]], "continue"),
])
def test_table_rejects_bad_rows(rows, match):
    doc = dk.new_document()
    with pytest.raises(ValueError, match=match):
        dk.add_table(doc, [20, 20], rows)


def test_table_on_plain_python_docx_document(tmp_path):
    doc = docx.Document()
    dk.add_table(doc, [50, 50], [["甲", "乙"]])
    out = tmp_path / "plain.docx"
    doc.save(out)
    styles = part_xml(out, "word/styles.xml")
    assert re.search(r'w:styleId="CDTableText".*?w:eastAsia="仿宋_GB2312"', styles, re.S)


def test_large_table_reads_back(tmp_path):
    rows = [["序号", "企业名称", "统一社会信用代码", "产值（万元）", "备注"]]
    rows += [[str(i), f"企业{i}有限公司", "91310000MA1FL8XXXX", f"{i * 1.5:.2f}", ""] for i in range(10000)]
    doc = dk.new_document()
    dk.add_table(doc, [16, 45, 45, 25, 25], rows, header_rows=1)
    out = dk.save_docx(doc, tmp_path / "big.docx")
    d = docx.Document(out)
    t = d.tables[0]
    assert len(t.rows) == 10001
    assert len(t.columns) == 5
    assert t.cell(10000, 1).text == "企业9999有限公司"


def _document_xml(data: bytes) -> bytes:
    import io

    from lxml import etree

    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml")
    return etree.tostring(etree.fromstring(xml), method="c14n")


def test_deferred_rows_save_the_same_document_as_rows_in_the_tree(tmp_path):
    """A long table whose rows are kept beside the tree (defer_rows, the export's lists) saves to
    the same document XML as the same table parsed in place, with its last rows kept together;
    saved twice (the printed and the editable versions), both times whole."""
    rows = [["序号", "专利名称", "备注"]] + [[str(i), f"一种方法{i} <&> “引号”", "  两个空格\t制表"] for i in range(3000)]
    saved = {}
    for defer in (False, True):
        doc = dk.new_document()
        dk.add_paragraph(doc, "附：专利清单")
        table = dk.add_table(doc, [16, 90, 50], rows, header_rows=1, keep_last_rows=3, defer_rows=defer)
        assert len(table.rows) == (0 if defer else 3001)  # deferred: nothing parsed into the tree
        dk.add_paragraph(doc, "以下无正文")
        saved[defer] = [dk.docx_bytes(doc), dk.docx_bytes(doc)]
    assert _document_xml(saved[True][0]) == _document_xml(saved[True][1]) == _document_xml(saved[False][0])
    out = tmp_path / "deferred.docx"
    out.write_bytes(saved[True][0])
    t = docx.Document(out).tables[0]
    assert len(t.rows) == 3001 and t.cell(3000, 1).text == "一种方法2999 <&> “引号”"
    kept = [r._tr.xpath("./w:tc/w:p/w:pPr/w:keepNext") != [] for r in t.rows]
    assert kept[-3:] == [True, True, False] and not any(kept[1:-3])


def test_page_numbers_odd_even(sample_docx):
    settings = part_xml(sample_docx, "word/settings.xml")
    assert "<w:evenAndOddHeaders/>" in settings
    d = docx.Document(sample_docx)
    s = d.sections[0]
    for footer, jc in ((s.footer, "right"), (s.even_page_footer, "left")):
        xml = footer._element.xml
        assert 'w:fldCharType="begin"' in xml and 'w:fldCharType="separate"' in xml
        assert 'w:fldCharType="end"' in xml
        assert re.search(r"<w:instrText[^>]*> PAGE </w:instrText>", xml)
        assert f'<w:jc w:val="{jc}"/>' in xml
        assert 'w:eastAsia="宋体"' in xml and '<w:sz w:val="28"/>' in xml
        assert "— " in xml and " —" in xml


def test_watermark_in_every_header(sample_docx):
    d = docx.Document(sample_docx)
    s = d.sections[0]
    for header in (s.header, s.even_page_header):
        xml = header._element.xml
        assert "<w:t>草稿</w:t>" in xml
        assert 'behindDoc="1"' in xml and "txbxContent" in xml
    ids = re.findall(r'<wp:docPr id="(\d+)"', "".join(
        part_xml(sample_docx, n) for n in part_names(sample_docx) if n.startswith("word/header")))
    assert len(ids) == 2 and len(set(ids)) == 2


def test_seal_block(sample_docx):
    d = docx.Document(sample_docx)
    paras = d.paragraphs
    assert paras[-1].text == "2024年3月5日"
    assert paras[-2].text == "申报单位（盖章）：××市工业和信息化局"
    for p in paras[-2:]:
        assert p.alignment == docx.enum.text.WD_ALIGN_PARAGRAPH.RIGHT
    spacer = paras[-3]
    assert spacer.text == ""
    assert round(spacer.paragraph_format.line_spacing.mm) == 45
    assert spacer.paragraph_format.keep_with_next
    assert "<w:drawing" not in spacer._p.xml and "<w:pict" not in spacer._p.xml  # never draw a seal


def test_sections_page_breaks_and_keep_together(tmp_path):
    doc = dk.new_document()
    dk.add_paragraph(doc, "第一页")
    dk.page_break(doc)
    p1 = dk.add_paragraph(doc, "第二页甲", keep_with_next=True)
    p2 = dk.add_paragraph(doc, "第二页乙")
    dk.keep_together([p1, p2])
    t = dk.add_table(doc, [20, 20], [["a", "b"], ["c", "d"]])
    dk.keep_together(t)
    sec = dk.start_section(doc, landscape=True, restart_page_numbers=True)
    dk.add_title(doc, "附件", page_break_before=True)
    out = dk.save_docx(doc, tmp_path / "s.docx")
    d = docx.Document(out)
    assert len(d.sections) == 2
    s2 = d.sections[1]
    assert s2.page_width.twips == 16838 and s2.page_height.twips == 11906
    assert sec._sectPr.find(w("pgNumType")).get(w("start")) == "1"
    assert s2.footer.is_linked_to_previous  # inherits the page numbers
    assert 'w:type="page"' in d.paragraphs[1]._p.xml
    assert p1.paragraph_format.keep_together and p1.paragraph_format.keep_with_next
    first_row_p = d.tables[0].cell(0, 0).paragraphs[0]
    assert first_row_p.paragraph_format.keep_with_next
    assert d.paragraphs[-1].paragraph_format.page_break_before


def test_checkbox_and_dates():
    assert dk.CHECKED == "☑" and dk.UNCHECKED == "☐"
    assert dk.checkbox("是", True) == "☑是"
    assert dk.checkbox("否", False) == "☐否"
    assert dk.checkbox("否", False, gb2312_safe=True) == "□否"
    assert dk.format_cn_date(dt.date(2024, 3, 20)) == "2024年3月20日"
    assert sum(dk.scale_widths([1, 2, 1])) == pytest.approx(dk.TEXT_WIDTH_MM)


def test_save_docx_into_missing_folder(tmp_path):
    doc = dk.new_document()
    with pytest.raises(ExportWriteError, match="无法写入导出文件夹"):
        dk.save_docx(doc, tmp_path / "missing" / "a.docx")


def test_no_python_docx_leftovers(sample_docx):
    assert "docProps/thumbnail.jpeg" not in part_names(sample_docx)
    core = part_xml(sample_docx, "docProps/core.xml")
    assert "python-docx" not in core


# --------------------------------------------------------------------------
# xlsxkit
# --------------------------------------------------------------------------

def test_xlsx_round_trip(tmp_path):
    long_text = "很长的说明文字" * 20
    rows = [
        [1, "=1+1", "#N/A", "+8613800000000", "-5", "@SUM(A1)", 12.5, dt.date(2024, 3, 20), "a\x00b\x0bc", True],
        [2, "=HYPERLINK(\"http://x\")", "普通文本", None, "", long_text, "不适用", None, "ok", False],
    ]
    out = xk.write_workbook(tmp_path / "t.xlsx", [xk.SheetSpec(
        title="企业名单[2024]: a/b*?\\" + "很长" * 20,
        title_rows=["某某集群企业名单", "单位：万元"],
        header=["序号", "公式", "错误", "电话", "负数", "说明", "产值", "日期", "控制", "是否"],
        rows=rows,
        formats=["integer", "text", "text", "text", "text", "text", "number", "date", "text", None],
    )])
    wb = load_workbook(out)
    ws = wb.worksheets[0]
    assert len(ws.title) <= 31 and not set("[]:*?/\\") & set(ws.title)
    assert ws.freeze_panes == "A4"
    assert ws.print_title_rows == "$3:$3"
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert int(ws.page_setup.fitToWidth) == 1 and int(ws.page_setup.fitToHeight) == 0
    assert "A1:J1" in {str(r) for r in ws.merged_cells.ranges}
    assert ws["A3"].value == "序号" and ws["A3"].font.b
    for coord, expected in (("B4", "=1+1"), ("C4", "#N/A"), ("D4", "+8613800000000"), ("E4", "-5"),
                            ("F4", "@SUM(A1)"), ("B5", '=HYPERLINK("http://x")')):
        c = ws[coord]
        assert c.data_type == "s", coord
        assert c.value == expected, coord
        assert c.quotePrefix, coord
    assert ws["B4"].value.startswith("=")
    assert ws["I4"].value == "ab\nc"
    assert ws["G4"].value == 12.5 and ws["G4"].number_format == "0.00"
    assert ws["G5"].value == "不适用" and ws["G5"].data_type == "s"
    assert ws["A4"].number_format == "0"
    assert ws["H4"].value == dt.datetime(2024, 3, 20) and ws["H4"].number_format == "yyyy-mm-dd"
    assert ws["J4"].value == "是" and ws["J5"].value == "否"
    widths = {k: v.width for k, v in ws.column_dimensions.items()}
    assert widths["F"] == 60 and ws["F5"].alignment.wrap_text  # capped and wrapped
    assert widths["B"] >= display_width('=HYPERLINK("http://x")')
    assert widths["A"] == 6  # minimum width
    # No formula was ever stored: the raw sheet XML has no <f> element.
    with zipfile.ZipFile(out) as z:
        sheet_xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml


def test_sheet_title_sanitising():
    assert xk.sanitize_sheet_title("a[b]c:d*e?f/g\\h") == "a_b_c_d_e_f_g_h"
    assert xk.sanitize_sheet_title("'quoted'") == "quoted"
    assert xk.sanitize_sheet_title("") == "Sheet"
    assert xk.sanitize_sheet_title("History") == "History_"
    long = "长" * 40
    t1 = xk.sanitize_sheet_title(long)
    assert t1 == "长" * 31
    t2 = xk.sanitize_sheet_title(long, [t1])
    assert len(t2) <= 31 and t2.endswith("(2)")
    assert xk.sanitize_sheet_title("Data", ["data"]) == "Data(2)"


def test_duplicate_sheet_titles_are_made_unique(tmp_path):
    out = xk.write_workbook(tmp_path / "d.xlsx", [xk.SheetSpec("表", ["a"], [[1]]), xk.SheetSpec("表", ["a"], [])])
    assert load_workbook(out).sheetnames == ["表", "表(2)"]


def test_xlsx_rejects_over_long_text(tmp_path):
    target = tmp_path / "big.xlsx"
    with pytest.raises(xk.XlsxExportError) as ei:
        xk.write_workbook(target, [xk.SheetSpec("s", ["a", "b"], [["ok", "x" * 32768]])])
    msg = str(ei.value)
    assert "32767" in msg and "第2行第2列" in msg
    assert not target.exists() and os.listdir(tmp_path) == []


def test_a_workbook_that_fails_half_way_leaves_no_stream_to_end_later(tmp_path, monkeypatch):
    """The first sheet is streamed, the second holds text Excel cannot take: the first sheet's row
    stream is ended with the failure, not left to the garbage collector (which ended it on a closed
    writer, and Python printed lxml's "not in an element" at some later moment)."""
    import gc
    import sys

    seen: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: seen.append(f"{u.exc_type.__name__}: {u.exc_value}"))
    target = tmp_path / "half.xlsx"
    sheets = [xk.SheetSpec("甲", ["a"], [["ok"]] * 50), xk.SheetSpec("乙", ["a", "b"], [["ok", "x" * 32768]])]
    with pytest.raises(xk.XlsxExportError):
        xk.write_workbook(target, sheets)
    gc.collect()
    assert seen == []
    assert not target.exists() and os.listdir(tmp_path) == []


def test_list_validation_inline_and_hidden_sheet(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "填报"
    dv1 = xk.add_list_validation(ws, "B2:B100", ["是", "否"])
    assert dv1.formula1 == '"是,否"' and dv1.showErrorMessage
    many = [f"选项{i:03d}（较长的说明文字）" for i in range(40)] + ["含,逗号", "=危险"]
    dv2 = xk.add_list_validation(ws, "C2:C100", many, prompt="请选择所属行业")
    assert dv2.formula1.startswith(f"'{xk.HIDDEN_LIST_SHEET}'!$A$1:$A$")
    dv3 = xk.add_list_validation(ws, "D2:D10", [f"第{i}项" * 20 for i in range(10)])
    assert "$B$1:$B$10" in dv3.formula1
    out = tmp_path / "v.xlsx"
    wb.save(out)
    wb2 = load_workbook(out)
    hidden = wb2[xk.HIDDEN_LIST_SHEET]
    assert hidden.sheet_state == "hidden"
    assert hidden["A41"].value == "含,逗号"
    assert hidden["A42"].value == "=危险" and hidden["A42"].data_type == "s"
    dvs = wb2["填报"].data_validations.dataValidation
    assert len(dvs) == 3 and all(d.showErrorMessage for d in dvs)
    assert {str(d.sqref) for d in dvs} == {"B2:B100", "C2:C100", "D2:D10"}
    with pytest.raises(ValueError):
        xk.add_list_validation(ws, "E1", ["", None, "  "])


def test_read_workbook_values(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "数据"
    ws.append(["名称", "数量", "公式"])
    ws.append(["甲", 3, "=B2*2"])
    ws.append(["乙", None, None])
    wb.create_sheet("空表")
    p = tmp_path / "in.xlsx"
    wb.save(p)
    data = xk.read_workbook_values(p)
    assert list(data) == ["数据", "空表"]
    assert data["数据"][0] == ["名称", "数量", "公式"]
    assert data["数据"][1] == ["甲", 3]  # formula never evaluated: no cached value -> empty
    assert data["数据"][2] == ["乙"]
    assert data["空表"] == []
    # With a value cached by Excel, that value (not the formula) is returned.
    cached = tmp_path / "cached.xlsx"
    with zipfile.ZipFile(p) as zin, zipfile.ZipFile(cached, "w") as zout:
        for item in zin.infolist():
            raw = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                assert b"<f>B2*2</f><v></v>" in raw
                raw = raw.replace(b"<f>B2*2</f><v></v>", b"<f>B2*2</f><v>6</v>")
            zout.writestr(item, raw)
    assert xk.read_workbook_values(cached)["数据"][1] == ["甲", 3, 6]


def _with_shared_strings(src: Path, dst: Path, sst: bytes) -> None:
    """Copy *src* (openpyxl writes inline strings only) adding a real
    xl/sharedStrings.xml part, referenced from the workbook and used by A1."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType='
                                    b'"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings'
                                    b'+xml"/></Types>')
            elif item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rIdSst" Type="http://schemas.'
                                    b'openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
                                    b'Target="sharedStrings.xml"/></Relationships>')
            elif item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<c r="A1"([^>]*) t="inlineStr"><is><t>[^<]*</t></is></c>',
                              rb'<c r="A1"\1 t="s"><v>0</v></c>', data)
            zout.writestr(item, data)
        zout.writestr("xl/sharedStrings.xml", sst)


BILLION_LAUGHS = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">
<si><t>&lol9;</t></si></sst>"""

XXE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">
<si><t>&xxe;</t></si></sst>"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_read_rejects_entity_attacks(tmp_path, payload):
    base = xk.write_workbook(tmp_path / "base.xlsx", [xk.SheetSpec("s", ["名称"], [["甲"]])])
    harmless = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
                'spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>共享</t></si></sst>').encode()
    good = tmp_path / "good.xlsx"
    _with_shared_strings(base, good, harmless)
    assert xk.read_workbook_values(good)["s"][0] == ["共享"]  # the crafted package is valid
    bad = tmp_path / "bad.xlsx"
    _with_shared_strings(base, bad, payload)
    with pytest.raises(xk.WorkbookReadError) as ei:
        xk.read_workbook_values(bad)
    assert "不安全" in str(ei.value)


def test_read_rejects_bad_files(tmp_path):
    with pytest.raises(xk.WorkbookReadError, match="找不到文件"):
        xk.read_workbook_values(tmp_path / "missing.xlsx")
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"this is not a workbook")
    with pytest.raises(xk.WorkbookReadError, match="不是 .xlsx"):
        xk.read_workbook_values(junk)
    ole = tmp_path / "old.xls"
    ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    with pytest.raises(xk.WorkbookReadError, match="xls"):
        xk.read_workbook_values(ole)
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(broken, "w") as z:
        z.writestr("hello.txt", "no workbook here")
    with pytest.raises(xk.WorkbookReadError, match="无法读取"):
        xk.read_workbook_values(broken)


# --------------------------------------------------------------------------
# pdf
# --------------------------------------------------------------------------

def test_find_soffice_type():
    found = pdfmod.find_soffice()
    assert found is None or Path(found).exists()


def test_docx_to_pdf_without_soffice(tmp_path, monkeypatch):
    monkeypatch.setattr(pdfmod, "find_soffice", lambda: None)
    with pytest.raises(pdfmod.PdfUnavailable, match="LibreOffice"):
        pdfmod.docx_to_pdf(tmp_path / "x.docx", tmp_path)


needs_soffice = pytest.mark.skipif(pdfmod.find_soffice() is None or shutil.which("pdftotext") is None,
                                   reason="LibreOffice or pdftotext not installed")


def three_page_doc(path: Path) -> Path:
    doc = dk.new_document()
    dk.add_title(doc, "第一页标题")
    dk.add_paragraph(doc, "第一页正文", first_line_indent_chars=2)
    dk.add_heading(doc, "二、第二页", page_break_before=True)
    dk.add_table(doc, [40, 60], [["项目", "内容"], ["甲", "乙"]], header_rows=1)
    dk.page_break(doc)
    dk.add_paragraph(doc, "第三页正文")
    dk.add_watermark(doc)
    return dk.save_docx(doc, path)


@pytest.mark.soffice
@needs_soffice
def test_pdf_conversion_pages_and_watermark(tmp_path):
    src = three_page_doc(tmp_path / "三页.docx")
    out_dir = tmp_path / "pdf"
    out_dir.mkdir()
    pdf = pdfmod.docx_to_pdf(src, out_dir)
    assert pdf == out_dir / "三页.pdf" and pdf.read_bytes().startswith(b"%PDF-")
    assert sorted(os.listdir(out_dir)) == ["三页.pdf"]
    pages = pdfmod.pdf_page_texts(pdf)
    assert len(pages) == 3
    for i, text in enumerate(pages, start=1):
        assert "草稿" in text, i
        assert re.search(rf"—\s*{i}\s*—", text), text
    assert "第一页正文" in pages[0] and "第二页" in pages[1] and "第三页正文" in pages[2]


@pytest.mark.soffice
@pytest.mark.slow
@needs_soffice
def test_parallel_pdf_conversions(tmp_path):
    sources = [three_page_doc(tmp_path / f"doc{i}.docx") for i in range(2)]
    results: list[object] = [None, None]

    def run(i: int) -> None:
        try:
            results[i] = pdfmod.docx_to_pdf(sources[i], tmp_path)
        except Exception as exc:  # pragma: no cover - reported below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    for r in results:
        assert isinstance(r, Path) and r.is_file(), r


@pytest.mark.soffice
@needs_soffice
def test_pdf_conversion_errors(tmp_path):
    with pytest.raises(pdfmod.PdfConversionError, match="找不到"):
        pdfmod.docx_to_pdf(tmp_path / "missing.docx", tmp_path)
    src = three_page_doc(tmp_path / "a.docx")
    with pytest.raises(ExportWriteError):
        pdfmod.docx_to_pdf(src, tmp_path / "no-such-dir")

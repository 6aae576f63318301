"""Export of drafts: the printed 申报表 (Word, PDF), the editable copy and the lists workbook.

The demo application is exported once per module and read back with python-docx and openpyxl; the
checks walk the form definition, so they hold for every form, not only for the demo.
"""

from __future__ import annotations

import json
import shutil
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import qn
from docx.shared import Twips
from openpyxl import load_workbook

from cd_support import DEMO

from clusterdesk.export import word as dk
from clusterdesk.export.api import (ExportRefused, ExportResult, export_answers, export_draft, export_names,
                                    safe_filename)
from clusterdesk.export.atomic import ExportWriteError
from clusterdesk.export.pdf import find_soffice, pdf_page_texts
from clusterdesk.model.plan import TICKED, UNTICKED
from clusterdesk.model.rules import Answers
from clusterdesk.model.schema import Group, Heading, Note, Sign
from clusterdesk.model.values import format_number

CQ_TITLE = "重庆市中小企业特色产业集群（永川数控机床产业）"
FORMS = ["cq-2024-application", "cq-2024-summary", "sh-2023-annual-report", "sh-2023-district-summary"]
ENV = dict(os.environ, PYTHONIOENCODING="utf-8")


# -- helpers ------------------------------------------------------------------------------------


def import_demo(store, name: str = "cq-2024-application", changes: dict | None = None, tmp: Path | None = None):
    from clusterdesk.templates import import_file

    path = DEMO / f"{name}.json"
    if changes is not None:
        data = json.loads(path.read_text(encoding="utf-8"))
        for k, v in changes.items():
            if v is None:
                data["answers"].pop(k, None)
            else:
                data["answers"][k] = v
        # evidence paths are relative to the template and must stay in its folder: copy the files along
        folder = tmp or Path.cwd()
        if (DEMO / "evidence").is_dir() and not (folder / "evidence").exists():
            shutil.copytree(DEMO / "evidence", folder / "evidence")
        path = folder / f"{name}-changed.json"
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return import_file(store, path)


def body_text(document) -> str:
    """All text of the body in document order (paragraphs and table cells alike), one line a paragraph."""
    lines = []
    for p in document.element.body.iter(qn("w:p")):
        lines.append("".join(t.text or "" for t in p.iter(qn("w:t"))))
    return "\n".join(lines)


def para_text_of(el) -> str:
    return "".join(t.text or "" for t in el.iter(qn("w:t")))


def squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def assert_in_order(text: str, needles: list[str]) -> None:
    hay = squash(text)
    pos = 0
    for n in needles:
        n2 = squash(n)
        if not n2:
            continue
        i = hay.find(n2, pos)
        assert i >= 0, f"“{n}” missing after position {pos} (context: …{hay[max(0, pos - 40):pos + 40]}…)"
        pos = i + len(n2)


def expected_sequence(form, answers: Answers) -> list[str]:
    """The official words of the form in print order, read from the definition alone."""
    from clusterdesk.model import expr as E

    out: list[str] = []
    in_title = set(re.findall(r"\$\{([a-z0-9_.]+)\}", form.form.cover_title or ""))
    for s in form.sections:
        if s.layout == "cover":
            continue  # checked on its own: the cover page
        if s.layout == "instructions":
            out += [s.title, *form.form.instructions]
            continue
        if s.print_title:
            out.append(s.title)
        out += [f"{y}年" for y in s.years]
        signed = {i.field: i for i in s.items if isinstance(i, Sign) and i.field}
        for item in s.items:
            if isinstance(item, Heading):
                out.append(item.text)
                continue
            if isinstance(item, Note):
                out += [ln for ln in item.text.splitlines() if ln.strip()]
                continue
            if isinstance(item, Sign):  # a sign naming a field prints the answer (落款, 日期)
                out.append(answers.value(f"{s.id}.{item.field}") if item.field else item.text)
                continue
            in_group = isinstance(item, Group)
            if in_group:
                out.append(item.label)
            for f in (item.items if in_group else (item,)):
                if f.relevant and E.evaluate(f.relevant, answers.value) is not True:
                    continue  # not printed when it does not apply
                if f.type == "repeat":
                    if not f.list_for:
                        out += [c.label for c in f.columns if getattr(c, "printed", True)]
                    continue  # a list: in the appendix, or 名称：… inside its group
                if f"{s.id}.{f.id}" in in_title or f.id in signed:
                    continue  # printed in the title (XX 区 → 嘉定区), or as the 落款
                if f.place != "below" and not (in_group and f.prefix and f.type in ("boxes", "choice")):
                    out.append(f.label)  # a row under its field's merged label shows only its notes
                if f.prefix:
                    out.append(f.prefix)
                if f.type == "matrix":  # notes sit in the label cell, left of the 类别 grid
                    out += list(f.notes) + ["类别"] + [c.label for c in f.cols] + [f.rows[0].label]
                    continue
                out += list(f.options)
                out += list(f.notes)
    return out


# -- the demo export, once per module ---------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_export(tmp_path_factory):
    from clusterdesk.service import load_answers
    from clusterdesk.store import Store

    tmp = tmp_path_factory.mktemp("export")
    store = Store.open(tmp / "drafts.sqlite3")
    did = import_demo(store)
    out = tmp / "out"
    out.mkdir()
    result = export_draft(store, did, out, pdf=False)
    form, answers = load_answers(store, did)
    evidence = store.list_evidence(did)
    yield {"store": store, "id": did, "out": out, "result": result, "form": form, "answers": answers,
           "evidence": evidence, "doc": docx.Document(str(result.files[0]))}
    store.close()


def test_files_are_named_after_the_cluster(demo_export):
    r: ExportResult = demo_export["result"]
    names = [p.name for p in r.files]
    assert names == [f"{CQ_TITLE}-申报表.docx", f"{CQ_TITLE}-申报表-可编辑版.docx", f"{CQ_TITLE}-申报表-清单.xlsx"]
    assert r.pdf is None
    assert all(p.is_file() and p.stat().st_size > 0 for p in r.files)
    assert sorted(p.name for p in demo_export["out"].iterdir()) == sorted(names)  # no temporary leftovers


def test_every_official_label_in_order(demo_export):
    form, answers, d = demo_export["form"], demo_export["answers"], demo_export["doc"]
    text = body_text(d)
    seq = expected_sequence(form, answers)
    assert len(seq) > 200
    assert_in_order(text, seq)
    # the cover, then the 填报说明, then section 一
    assert_in_order(text, [form.form.attachment, form.form.cover_title, *[f.label for f in form.sections[0].fields()],
                           form.form.maker_line, form.sections[1].title, *form.form.instructions,
                           "一、基本情况"])


def test_cover_shows_the_answers(demo_export):
    text = body_text(demo_export["doc"])
    cover = text.split("填报说明")[0]
    for v in (CQ_TITLE, "永川区", "重庆市永川区经济和信息化委员会", "重庆永川高新技术产业开发区管理委员会", "2024年3月",
              "李明 023-49881234", "重庆市经济和信息化委员会 制"):
        assert squash(v) in squash(cover)


def _paragraphs_of_cell_containing(document, needle: str) -> list[str]:
    for tbl in document.element.body.iter(qn("w:tbl")):
        for tc in tbl.iter(qn("w:tc")):
            paras = ["".join(t.text or "" for t in p.iter(qn("w:t"))) for p in tc.iter(qn("w:p"))]
            if any(needle in p for p in paras):
                return paras
    return []


def test_box_list_ticks(demo_export):
    form, answers, d = demo_export["form"], demo_export["answers"], demo_export["doc"]
    _, services = form.field("governance.services")
    ticked = answers.value("governance.services")
    paras = _paragraphs_of_cell_containing(d, "集群已提供的中小企业公共服务：")
    assert paras[0] == "集群已提供的中小企业公共服务："
    for opt in services.options:
        want = (TICKED if opt in ticked else UNTICKED) + opt  # ■ / □, both in GB2312
        assert want in paras, (want, paras)
    assert paras[-1] == "（注：勾选需提供佐证材料）"
    # every box list of the form: ticked count matches
    text = body_text(d)
    for cell in form.cells:
        if cell.field.type == "boxes":
            chosen = answers.value(cell.key) or []
            for opt in cell.field.options:
                mark = TICKED if opt in chosen else UNTICKED
                assert squash(mark + opt) in squash(text), (cell.key, opt)
    # a single choice: exactly one ticked
    paras = _paragraphs_of_cell_containing(d, "■第二产业")
    assert paras and "□第一产业" in paras[0] and "□第三产业" in paras[0]
    assert "☑" not in text and "☐" not in text


def test_numbers_have_two_decimals(demo_export):
    d = demo_export["doc"]
    text = body_text(d)
    for v in ("52.30", "58.70", "66.40", "38.60", "72.50", "1860.00", "2240.50", "0.42", "14.80"):
        assert v in text
    row = None
    for tbl in d.tables:
        for r in tbl.rows:
            cells = [c.text for c in r.cells]
            if cells and cells[0] == "集群总产值（亿元）":
                row = cells
    assert row is not None and row[1:] and {"52.30", "58.70", "66.40"} <= set(row)
    # a computed value prints as the official cell shows it: the number alone (its formula goes to the
    # editable version's comments)
    per_10k = format_number(486 / 38650 * 10000, 2)
    assert _paragraphs_of_cell_containing(d, per_10k) == [per_10k]
    assert "计算公式：" not in text


def test_page_a4_margins_fonts(demo_export):
    d = demo_export["doc"]
    for section in d.sections:
        assert section.page_width == Twips(dk.A4_WIDTH_TWIPS) and section.page_height == Twips(dk.A4_HEIGHT_TWIPS)
        assert section.top_margin == Twips(dk.mm_to_twips(37)) and section.bottom_margin == Twips(dk.mm_to_twips(35))
        assert section.left_margin == Twips(dk.mm_to_twips(28)) and section.right_margin == Twips(dk.mm_to_twips(26))
    styles = d.styles.element
    defaults = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr")).find(qn("w:rFonts"))
    assert defaults.get(qn("w:eastAsia"))
    for name in ("Normal", "Title", "Heading 1"):
        rfonts = d.styles[name].element.rPr.find(qn("w:rFonts"))
        assert rfonts is not None and rfonts.get(qn("w:eastAsia")), name
    # runs with Chinese text outside tables carry eastAsia explicitly
    body = d.element.body
    for p in body.findall(qn("w:p")):
        for r in p.findall(qn("w:r")):
            t = "".join(x.text or "" for x in r.findall(qn("w:t")))
            if re.search("[\u4e00-\u9fff]", t):
                rf = r.find(qn("w:rPr")).find(qn("w:rFonts"))
                assert rf is not None and rf.get(qn("w:eastAsia")), t
    # check boxes are □ / ■ (GB2312): they print in the table face itself, no symbol font is needed
    glyph_texts = [x.text for x in body.iter(qn("w:t")) if x.text and x.text[:1] in (TICKED, UNTICKED)]
    assert glyph_texts
    assert "Segoe UI Symbol" not in body.xml
    # page numbers in the footer
    footer = d.sections[0].footer._element
    assert "PAGE" in "".join(t.text or "" for t in footer.iter(qn("w:instrText")))


def _page_break_before(p) -> bool:
    ppr = p.find(qn("w:pPr"))
    return ppr is not None and ppr.find(qn("w:pageBreakBefore")) is not None


def test_sections_start_on_new_pages_and_rows_do_not_split(demo_export):
    form, d = demo_export["form"], demo_export["doc"]
    body = d.element.body
    paras = {"".join(t.text or "" for t in p.iter(qn("w:t"))): p for p in body.findall(qn("w:p"))}
    for s in form.sections:
        if s.no_straddle:
            assert s.title in paras, s.title
            assert _page_break_before(paras[s.title]), s.title
    assert _page_break_before(paras["填报说明"])
    frame = [t for t in body.findall(qn("w:tbl")) if len(t.findall(qn("w:tr"))) == 1
             and para_text_of(t).startswith("（3000字以内）")]
    assert len(frame) == 1  # 八: one framed cell that runs over pages
    for tbl in body.iter(qn("w:tbl")):
        if tbl is frame[0]:
            continue
        for tr in tbl.findall(qn("w:tr")):
            assert tr.find(qn("w:trPr")).find(qn("w:cantSplit")) is not None
    # the 年度 header row repeats on the pages of the rows under it (not above the box lists after them)
    year_tables = [t for t in body.iter(qn("w:tbl"))
                   if "年度" == "".join(x.text or "" for x in t.find(qn("w:tr")).find(qn("w:tc")).iter(qn("w:t")))]
    assert len(year_tables) == 2
    assert all(t.find(qn("w:tr")).find(qn("w:trPr")).find(qn("w:tblHeader")) is not None for t in year_tables)


def test_lists_go_to_the_appendix(demo_export):
    d, answers = demo_export["doc"], demo_export["answers"]
    text = body_text(d)
    assert "见附件清单" not in text  # the form's cell shows what the official cell shows: "486 个"
    assert "三、创新能力情况 · 集群内中小企业有效发明专利拥有量（共486项）" in text
    assert "（共16项）" in text
    assert _paragraphs_of_cell_containing(d, "486 个") == ["486 个", "（需提供清单）"]
    assert text.index("九、真实性声明") < text.index("附：有效发明专利清单")
    patents = answers.value("innovation.patent_list")
    table = next(t for t in d.tables if t.rows[0].cells[0].text == "序号" and t.rows[0].cells[1].text == "专利号")
    trs = table._tbl.tr_lst
    assert len(trs) == len(patents) + 1
    assert trs[0].trPr.find(qn("w:tblHeader")) is not None
    assert trs[1].tc_lst[1].xpath("string(.)") == patents[0]["number"]
    assert trs[-1].tc_lst[0].xpath("string(.)") == str(len(patents))
    # the inline group list: 数量 and 名称 in one cell
    paras = _paragraphs_of_cell_containing(d, "数量：6 个")
    assert paras[1] == "名称：重庆市数控机床技术创新中心"


def test_targets_table_merges_direction(demo_export):
    d = demo_export["doc"]
    nested = [t for t in d.element.body.iter(qn("w:tbl")) if t.getparent().tag == qn("w:tc")]
    table = next(t for t in nested if [c.xpath("string(.)") for c in t.tr_lst[0].tc_lst] ==
                 ["方向", "指标", "2023年基准值", "2026年目标值"])  # inside 八's frame
    first = [tr.tc_lst[0] for tr in table.tr_lst[1:]]
    starts = [tc.xpath("string(.)") for tc in first if tc.tcPr.find(qn("w:vMerge")) is None
              or tc.tcPr.find(qn("w:vMerge")).get(qn("w:val")) == "restart"]
    assert starts[:2] == ["主导产业", "创新"]
    assert len(starts) == len(set(starts))  # each direction once, merged over its rows


def test_declaration_page(demo_export):
    d = demo_export["doc"]
    paras = _paragraphs_of_cell_containing(d, "单位负责人（签字）：")
    joined = "\n".join(paras)
    assert "本单位承诺此次申报重庆市中小企业特色产业集群" in joined
    assert "区（县）中小企业主管部门（公章）：" in joined
    assert squash(paras[-1]) == "年月日"
    spacer = [p for tbl in d.element.body.iter(qn("w:tbl")) for p in tbl.iter(qn("w:p"))
              if p.pPr is not None and p.pPr.find(qn("w:spacing")) is not None
              and p.pPr.find(qn("w:spacing")).get(qn("w:line")) == str(dk.mm_to_twips(42.0))]
    assert spacer, "room for a 42 mm seal"
    assert not list(d.element.body.iter("{http://schemas.openxmlformats.org/drawingml/2006/main}graphic"))


def test_evidence_index_lists_the_files(demo_export):
    d, evidence = demo_export["doc"], demo_export["evidence"]
    text = body_text(d)
    index = text[text.index("佐证材料目录"):]
    for e in evidence:
        assert e.filename in index
    assert_in_order(index, ["二、主导产业情况", "集群已开展的产业链强链补链工作", "绘制产业链图谱，开展产业链培育",
                            "产业链培育工作佐证.pdf", "五、绿色化转型情况", "建立了集群碳排放监测机制", "是",
                            "碳排放监测机制佐证.pdf"])


def test_print_version_is_protected_editable_is_not(demo_export):
    printed, editable = demo_export["result"].files[:2]

    def settings(p):
        with zipfile.ZipFile(p) as z:
            return z.read("word/settings.xml").decode("utf-8")
    assert "w:documentProtection" in settings(printed)
    assert "w:documentProtection" not in settings(editable)
    assert body_text(docx.Document(str(editable))) == body_text(demo_export["doc"])
    with zipfile.ZipFile(editable) as z:
        assert "txbx" not in z.read("word/document.xml").decode("utf-8")  # no text boxes for content


def test_lists_workbook(demo_export):
    xlsx = demo_export["result"].files[2]
    form, answers = demo_export["form"], demo_export["answers"]
    wb = load_workbook(xlsx)
    repeats = [f.label for s in form.sections for f in s.fields() if f.type == "repeat"]
    assert wb.sheetnames[:len(repeats)] == repeats
    assert wb.sheetnames[len(repeats):] == [s.title for s in form.sections if s.layout != "instructions"]
    ws = wb["有效发明专利清单"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[1][:3] == ("序号", "专利号", "专利名称")
    assert len(rows) - 2 == 486 == len(answers.value("innovation.patent_list"))
    assert ws.freeze_panes == "A3"
    ws = wb["制修订标准清单"]
    assert ws.cell(3, 2).value == 2021 and ws.cell(3, 2).number_format == "0"
    ws = wb["二、主导产业情况"]
    found = [r for r in ws.iter_rows(values_only=True) if r[0] == "集群总产值（亿元）" and r[1] == "2021年"]
    assert found and found[0][2] == "52.30" and float(found[0][3]) == pytest.approx(52.3) and found[0][4] == "亿元"
    ticks = [r for r in ws.iter_rows(values_only=True) if r[0] == "集群已开展的产业链资源协同协作工作"]
    assert [r[2] for r in ticks] == ["■ 已勾选", "■ 已勾选", "■ 已勾选", "□ 未勾选", "□ 未勾选"]
    # a field named with the row it belongs to
    ws = wb["一、基本情况"]
    assert [r[0] for r in ws.iter_rows(values_only=True) if r[0] and r[0].endswith("联系方式")] == [
        "区（县）中小企业主管部门 · 联系方式", "集群运营管理机构 · 联系方式"]


def test_user_text_never_becomes_a_formula(store, tmp_path):
    did = import_demo(store, changes={"basic.authority_contact": "=HYPERLINK(\"http://x\",\"点我\")",
                                      "basic.operator_contact": "@SUM(1)"}, tmp=tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    r = export_draft(store, did, out, pdf=False)
    wb = load_workbook(r.files[2])
    ws = wb["一、基本情况"]
    cells = {c.value: c for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert cells["=HYPERLINK(\"http://x\",\"点我\")"].data_type == "s"
    assert cells["@SUM(1)"].data_type == "s"
    assert "=HYPERLINK" in body_text(docx.Document(str(r.files[0])))


def test_refused_on_errors(store, tmp_path):
    did = import_demo(store, changes={"cover.district": None, "basic.area": None}, tmp=tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ExportRefused) as err:
        export_draft(store, did, out, pdf=False)
    e = err.value
    assert e.problems and all(p.level == "error" for p in e.problems)
    text = str(e)
    assert "所属区县" in text and "集群占地面积（平方公里）" in text and "必填栏目不得空缺" in text
    assert list(out.iterdir()) == []
    # the draft copy exports anyway, watermarked and named （草稿）
    r = export_draft(store, did, out, pdf=False, draft_copy=True)
    names = [p.name for p in r.files]
    assert names == [f"{CQ_TITLE}-申报表（草稿）.docx", f"{CQ_TITLE}-申报表-可编辑版（草稿）.docx",
                     f"{CQ_TITLE}-申报表-清单（草稿）.xlsx"]
    assert any("草稿" in m for m in r.messages)
    for p in r.files[:2]:
        with zipfile.ZipFile(p) as z:
            headers = [z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("word/header")]
        assert headers and all("草稿" in h for h in headers)
    assert "（草稿）" in load_workbook(r.files[2]).worksheets[0].cell(1, 1).value


def test_missing_folder_and_rollback(demo_export, tmp_path, monkeypatch):
    store, did = demo_export["store"], demo_export["id"]
    with pytest.raises(ExportWriteError) as err:
        export_draft(store, did, tmp_path / "no" / "such", pdf=False)
    assert "文件夹不存在" in str(err.value)
    # a write that fails half-way leaves none of this export's files behind
    import clusterdesk.export.api as api

    real = api.render_xlsx

    def failing(*a, **k):
        raise ExportWriteError.for_file(tmp_path / "x.xlsx", "磁盘空间不足")
    monkeypatch.setattr(api, "render_xlsx", failing)
    out = tmp_path / "out"
    out.mkdir()
    (out / "其他文件.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(ExportWriteError):
        export_draft(store, did, out, pdf=False)
    assert [p.name for p in out.iterdir()] == ["其他文件.txt"]
    monkeypatch.setattr(api, "render_xlsx", real)


def test_safe_file_names():
    assert safe_filename('a/b:c*d?"e<f>g|h') == "a_b_c_d__e_f_g_h"
    assert safe_filename("  名称. ") == "名称"
    assert safe_filename("CON") == "_CON"
    assert safe_filename("") == "未命名"
    assert len(safe_filename("长" * 300)) == 80


@pytest.mark.parametrize("name", FORMS)
def test_every_form_exports(store, tmp_path, name):
    if not (DEMO / f"{name}.json").exists():
        pytest.skip(f"demo/{name}.json missing")
    from clusterdesk.service import load_answers

    did = import_demo(store, name)
    out = tmp_path / "out"
    out.mkdir()
    r = export_draft(store, did, out, pdf=False)
    form, answers = load_answers(store, did)
    # print, editable, lists; an annual report's 目标完成情况 as a document of its own beside them
    assert len(r.files) == (4 if form.form.achievement else 3) and all(p.exists() for p in r.files)
    d = docx.Document(str(r.files[0]))
    text = body_text(d)
    assert_in_order(text, expected_sequence(form, answers))
    wb = load_workbook(r.files[2])
    sheets = [s.title[:31] for s in form.sections if s.layout != "instructions"]
    assert wb.sheetnames[-len(sheets):] == sheets
    if name == "cq-2024-summary":
        sec = d.sections[0]
        assert sec.page_width > sec.page_height  # A4 landscape
        assert_in_order(text, ["附件3", "2024年度重庆市中小企业特色产业集群申报汇总表", "区（县）中小企业主管部门：（盖章）",
                               "重庆市永川区经济和信息化委员会", "联系人及手机", "序号", "集群简介（150字以内）", "1"])
        assert r.files[0].name == "重庆市永川区经济和信息化委员会-申报汇总表.docx"
    if name == "sh-2023-district-summary":
        assert "嘉定区促进中小企业特色产业集群发展总结" in text and "XX" not in text
        assert text.rstrip().endswith("上海市嘉定区经济委员会\n2024年4月8日")
    if name == "sh-2023-annual-report":
        assert "上海市经济和信息化委员会 制" in text
        n = len(answers.value("industry.little_giants_list"))
        assert f"二、主导产业情况 · 主导产业相关的国家级专精特新“小巨人”企业数量（共{n}项）" in text
        assert r.files[3].name.endswith("-目标完成情况.docx") and "目标完成情况" not in text


def test_export_answers_from_a_filled_template(tmp_path):
    from clusterdesk.templates import read_filled

    filled = read_filled(DEMO / "cq-2024-application.json")
    answers = Answers(filled.form, filled.answers, filled.notes, [(k, o) for k, o, _ in filled.evidence])
    out = tmp_path / "out"
    out.mkdir()
    r = export_answers(filled.form, answers, filled.evidence, filled.title, out, pdf=False)
    assert r.files[0].name == f"{CQ_TITLE}-申报表.docx"
    assert "产业链培育工作佐证.pdf" in body_text(docx.Document(str(r.files[0])))
    names = export_names(filled.form, answers, draft_copy=True)
    assert names.pdf == f"{CQ_TITLE}-申报表（草稿）.pdf"


def test_ten_thousand_patents(store, tmp_path):
    rows = [{"number": f"ZL2020{i:07d}.{i % 10}", "title": f"一种数控机床部件的加工方法{i}", "kind": "发明专利",
             "owner": "重庆永辰精机股份有限公司", "granted": "2021-05-06"} for i in range(10_000)]
    did = import_demo(store, changes={"innovation.patent_list": rows, "innovation.patents": 10_000}, tmp=tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    r = export_draft(store, did, out, pdf=False)
    d = docx.Document(str(r.files[0]))
    assert "三、创新能力情况 · 集群内中小企业有效发明专利拥有量（共10000项）" in body_text(d)
    table = next(t for t in d.tables if t.rows[0].cells[0].text == "序号" and t.rows[0].cells[1].text == "专利号")
    assert len(table._tbl.tr_lst) == 10_001
    ws = load_workbook(r.files[2], read_only=True)["有效发明专利清单"]
    assert sum(1 for _ in ws.iter_rows(min_row=3)) == 10_000


# -- command line -------------------------------------------------------------------------------------


def run_cli(*args: str, db: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "clusterdesk", "--db", str(db), *args], capture_output=True,
                          text=True, encoding="utf-8", env=ENV, timeout=300)


def test_cli_export(tmp_path):
    db = tmp_path / "d.db"
    p = run_cli("import", str(DEMO / "cq-2024-application.json"), db=db)
    assert p.returncode == 0, p.stderr
    did = p.stdout.strip()
    out = tmp_path / "导出"
    p = run_cli("export", did, "--out", str(out), "--no-pdf", db=db)
    assert p.returncode == 0, p.stderr
    printed = [Path(x) for x in p.stdout.strip().splitlines()]
    assert [x.name for x in printed] == [f"{CQ_TITLE}-申报表.docx", f"{CQ_TITLE}-申报表-可编辑版.docx",
                                         f"{CQ_TITLE}-申报表-清单.xlsx"]
    assert all(x.exists() for x in printed)
    # a draft id that does not exist: bad input, exit 2, Chinese message, no folder made
    p = run_cli("export", "999", "--out", str(tmp_path / "nowhere"), "--no-pdf", db=db)
    assert p.returncode == 2 and "Traceback" not in p.stderr and re.search("[\u4e00-\u9fff]", p.stderr)
    assert not (tmp_path / "nowhere").exists()
    # a filled template file
    p = run_cli("export", str(DEMO / "cq-2024-summary.json"), "--out", str(out), "--no-pdf", "--draft-copy", db=db)
    assert p.returncode == 0, p.stderr
    assert "重庆市永川区经济和信息化委员会-申报汇总表（草稿）.docx" in p.stdout


def test_cli_refuses_a_draft_with_errors(tmp_path):
    db = tmp_path / "d.db"
    data = json.loads((DEMO / "cq-2024-summary.json").read_text(encoding="utf-8"))
    data["answers"].pop("summary.contact")
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    p = run_cli("import", str(f), db=db)
    did = p.stdout.strip()
    p = run_cli("export", did, "--out", str(tmp_path / "o"), "--no-pdf", db=db)
    assert p.returncode == 1, (p.stdout, p.stderr)
    lines = p.stdout.strip().splitlines()
    assert lines[0].startswith("未导出") and any("联系人及手机" in ln and "必填栏目不得空缺" in ln for ln in lines[1:])
    assert not list((tmp_path / "o").iterdir())


# -- what LibreOffice prints ----------------------------------------------------------------------------


@pytest.mark.soffice
@pytest.mark.skipif(find_soffice() is None, reason="LibreOffice not installed")
def test_pdf_sections_start_at_the_top_of_a_page(demo_export, tmp_path):
    store, did, form = demo_export["store"], demo_export["id"], demo_export["form"]
    r = export_draft(store, did, tmp_path, pdf=True)
    assert r.pdf is not None and r.pdf.exists() and r.pdf in r.files
    assert r.pdf.name == f"{CQ_TITLE}-申报表.pdf"
    pages = pdf_page_texts(r.pdf)

    def lines(page: str) -> list[str]:
        out = [squash(ln) for ln in page.splitlines() if ln.strip()]
        return [ln for ln in out if not re.fullmatch(r"[—–-]*\d+[—–-]*", ln)]  # page numbers

    first = lines(pages[0])
    assert first[0] == "附件2" and first[1] == squash(form.form.cover_title)
    assert squash("重庆市经济和信息化委员会 制") in first
    assert lines(pages[1])[0] == "填报说明"
    starts = {}
    for i, page in enumerate(pages):
        ls = lines(page)
        if ls:
            starts.setdefault(ls[0], i)
    for s in form.sections:
        if s.no_straddle:
            assert squash(s.title) in starts, f"{s.title} does not start a page"
    order = [starts[squash(s.title)] for s in form.sections if s.no_straddle]
    assert order == sorted(order) and order[0] >= 2

"""The cluster's life after approval: annual report prefilled from the application, targets checked,
next year rolled over — through the core and the command line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from clusterdesk.annual import AnnualError, achievement, carried, create_annual, progress, roll_over
from clusterdesk.model.form import Catalog
from clusterdesk.service import DraftSession, load_answers
from clusterdesk.templates import import_file
from authoring_support import catalog_up_to, catalog_with_next_year, forms_folder_up_to
from cd_support import DEMO, ROOT
from cd_support import run_cli as run


@pytest.fixture()
def app_id(store):
    return import_file(store, DEMO / "cq-2024-application.json")


@pytest.fixture()
def report_id(store, app_id):
    return create_annual(store, app_id, "sh-2023-annual-report", 2023)


def test_report_is_prefilled_from_the_application_with_sources(store, app_id, report_id):
    info = store.get_draft(report_id)
    assert info.linked_draft_id == app_id and info.form_id == "sh-2023-annual-report"
    assert info.title == "重庆市中小企业特色产业集群（永川数控机床产业）"
    v = store.get_answers(report_id)
    assert v["cover.operator"] == "重庆永川高新技术产业开发区管理委员会"
    assert v["basic.area"] == "38.60"
    assert v["basic.leading_industry"] == "永川数控机床产业"
    rows = {r["key"]: r for r in v["work.targets"]}
    # the 2023 report carries the application's values declared for 2023 (the 基准值 column)
    assert rows["patents"]["target"] == "486件" and rows["patents"]["indicator"] == "有效发明专利数量"
    assert rows["co2"]["target"] == "0.36吨/万元"
    assert rows["other"] == {"key": "other", "direction": "其它"}  # "......" is not carried as an indicator
    src = carried(store, report_id)
    assert src["basic.area"].source.endswith("一、基本情况 · 集群占地面积（平方公里）")
    # the source is named by the application draft's title, not its number
    assert src["basic.area"].source.startswith("申报材料“重庆市中小企业特色产业集群（永川数控机床产业）” · ")
    assert src["basic.area"].label == "申报材料"
    assert not src["basic.area"].changed
    assert "2023年基准值" in src["work.targets[patents].target"].source
    # the application's 2023 figures fill the report's 2023 rows (same_year), each with its source
    app = store.get_answers(app_id)
    for field in ("industry.total_output", "industry.sme_share", "industry.smes", "industry.little_giants",
                  "innovation.rd_growth"):
        assert v[f"{field}.2023"] == app[f"{field}.2023"], field
        assert src[f"{field}.2023"].source.endswith("2023年"), src[f"{field}.2023"].source
    assert v["innovation.standards.2023.national.lead"] == app["innovation.standards.2023.national.lead"]
    # asked once in the application (as at the end of 2023, its data_as_of): the 2023 row
    assert v["innovation.patents.2023"] == app["innovation.patents"]
    assert src["innovation.patents.2023"].source.endswith("集群内中小企业有效发明专利拥有量（包括发明专利、国防专利、植物新品种、"
                                                          "国家级农作物品种、国家新药、国家一级中药保护品种、集成电路布图设计专有权等）")
    assert not any(k.endswith((".2021", ".2022")) for k in v)  # no other year's figures


def test_a_value_typed_since_is_marked(store, report_id):
    s = DraftSession(store, report_id)
    s.set("basic.area", "40")
    c = carried(store, report_id)["basic.area"]
    assert c.changed and c.value == "38.60" and c.current == "40.00"


def test_changed_target_is_an_error_with_both_numbers(store, report_id):
    s = DraftSession(store, report_id)
    rows = [dict(r) for r in s.value("work.targets")]
    for r in rows:
        if r["key"] == "patents":
            r["target"] = "450件"
    s.set("work.targets", rows)
    linked = [p for p in s.problems() if p.kind == "linked"]
    assert len(linked) == 1 and linked[0].level == "error"
    assert "“有效发明专利数量”的2023 年目标值“450件”与申报材料中所定目标“486件”不一致" in linked[0].message
    for r in rows:
        if r["key"] == "patents":
            r["target"] = "486.00件"  # the same number written differently is the same target
    s.set("work.targets", rows)
    assert not [p for p in s.problems() if p.kind == "linked"]


def test_computed_actual_and_achieved_state(store, report_id):
    s = DraftSession(store, report_id)
    s.set("innovation.patents.2023", 520)
    s.set("digital.iiot_rate.2023", "30.5")
    s.set("green.co2_per_output.2023", "0.35")
    form, ans = load_answers(store, report_id)
    res = {a.key: a for a in achievement(form, ans)}
    assert res["patents"].actual == "520.00" and res["patents"].computed and res["patents"].status == "达成"
    assert res["industrial_internet"].actual == "30.50%" and res["industrial_internet"].status == "未达成"  # < 34.20
    assert res["co2"].status == "达成"  # lower is better: 0.35 ≤ 0.36
    assert "有效发明专利拥有量" in str(res["patents"])
    assert res["rd_spending"].status == "待填写"  # not computable: typed by the user
    rows = [dict(r) for r in s.value("work.targets")]
    for r in rows:
        if r["key"] == "rd_spending":
            r["actual"] = "1.85亿元"
    s.set("work.targets", rows)
    form, ans = load_answers(store, report_id)
    assert {a.key: a for a in achievement(form, ans)}["rd_spending"].status == "达成"


def test_change_since_application_needs_confirmation_and_note(store, report_id):
    s = DraftSession(store, report_id)
    assert s.value("basic.operator_changed") == "否"
    s.set("cover.operator", "重庆永川产业发展集团有限公司")
    warn = [p for p in s.problems() if p.kind == "linked"]
    assert len(warn) == 1 and "应选“是”" in warn[0].message and "重庆永川高新技术产业开发区管理委员会" in warn[0].message
    s.set("basic.operator_changed", "是")
    req = [str(p) for p in s.problems() if p.key == "basic.operator_change_note"]
    # named with the row it belongs to: the form has two 变更情况说明
    assert req == ["一、基本情况 · 集群运营管理机构是否发生变更 · 变更情况说明：必填栏目不得空缺，无相关情况时应填写“无”"]
    s.set("basic.operator_change_note", "2023年6月运营主体由管委会变更为区属国有平台公司")
    assert not [p for p in s.problems() if p.key.startswith("basic.operator")]


def test_unknown_source_or_year_is_refused(store, app_id):
    with pytest.raises(AnnualError, match="没有 2030 年度"):
        create_annual(store, app_id, "sh-2023-annual-report", 2030)
    summary = import_file(store, DEMO / "cq-2024-summary.json")
    with pytest.raises(AnnualError, match="不能从“cq-2024-summary”预填"):
        create_annual(store, summary, "sh-2023-annual-report")


@pytest.fixture()
def catalog_with_2024(tmp_path):
    """Next year's notice is a new definition file (made from the 2023 file as the author's guide says)."""
    return catalog_with_next_year(tmp_path)


def test_roll_over_to_next_year(store, catalog_with_2024):
    cat = catalog_with_2024
    app = import_file(store, DEMO / "cq-2024-application.json", cat)
    rep = create_annual(store, app, "sh-2023-annual-report", 2023, cat)
    s = DraftSession(store, rep, cat)
    s.set("work.overview", "2023年集群总体情况……")
    s.set("innovation.patents.2023", 520)
    nxt = roll_over(store, rep, cat)
    info = store.get_draft(nxt)
    assert info.form_id == "sh-2024-annual-report" and info.linked_draft_id == app
    v = store.get_answers(nxt)
    assert v["work.overview"] == "2023年集群总体情况……"  # narrative kept for editing
    assert "innovation.patents.2024" not in v  # new year's numbers start empty
    rows = {r["key"]: r for r in v["work.targets"]}
    assert rows["patents"]["target"] == "535件"  # the application's 2024 stage target
    meta = store.get_meta(nxt)["annual"]
    hist = meta["history"]
    assert hist[0]["year"] == 2023 and hist[0]["rows"]["patents"]["actual"] == "520.00"
    series = {x.key: x for x in progress(store, nxt, cat)}
    pts = series["patents"].points
    assert (2023, "完成值", 520) in [(y, k, int(n)) for y, k, n in pts]
    assert [y for y, k, _ in pts if k == "目标值"] == [2024, 2025, 2026]
    with pytest.raises(AnnualError, match="尚无 2025 年度"):
        roll_over(store, nxt, cat)


def test_roll_over_without_next_years_form(store, report_id):
    with pytest.raises(AnnualError, match="尚无 2024 年度"):
        roll_over(store, report_id, catalog_up_to(2023))


def test_cli_annual_targets_next_year(tmp_path, monkeypatch):
    monkeypatch.setenv("CLUSTERDESK_FORMS", str(forms_folder_up_to(tmp_path, 2023)))  # no 2024 form yet
    db = tmp_path / "d.db"
    app = run("import", str(DEMO / "cq-2024-application.json"), db=db).stdout.strip()
    p = run("annual", app, "--form", "sh-2023-annual-report", "--year", "2023", db=db)
    assert p.returncode == 0, p.stderr
    rep = p.stdout.splitlines()[0]
    assert "basic.area\t← 申报材料" in p.stdout
    p = run("targets", rep, db=db)
    assert p.returncode == 0
    # the application's 2023 patent count is prefilled into the 2023 report: its 完成值 is computed
    assert ("达成\t创新 · 有效发明专利数量：目标值 486件，完成值 486.00（按 三、创新能力情况 · "
            "集群内中小企业有效发明专利拥有量 2023年 计算），达成") in p.stdout
    assert "待填写\t创新 · 研发经费投入：目标值 1.78亿元，完成值 —，待填写" in p.stdout
    p = run("next-year", rep, db=db)
    assert p.returncode == 2 and "尚无 2024 年度" in p.stderr and "Traceback" not in p.stderr
    p = run("annual", "99", "--form", "sh-2023-annual-report", db=db)
    assert p.returncode == 2 and "Traceback" not in p.stderr


def test_replacing_the_application_from_a_package_keeps_the_report_linked(store, app_id, report_id, tmp_path):
    from clusterdesk.packages.package import import_package, write_package

    pkg = write_package(store, app_id, tmp_path / "app.cdpkg")
    outcome = import_package(store, pkg, on_duplicate="replace")
    assert outcome.draft_id != app_id
    assert store.get_draft(report_id).linked_draft_id == outcome.draft_id
    form, ans = load_answers(store, report_id)
    assert "application" in ans.linked  # the target checks still see the application


def test_same_target_written_differently_is_not_marked_changed(store, report_id):
    s = DraftSession(store, report_id)
    rows = [dict(r) for r in s.value("work.targets")]
    for r in rows:
        if r["key"] == "patents":
            r["target"] = "486.00件"
    s.set("work.targets", rows)
    c = carried(store, report_id)["work.targets[patents].target"]
    assert c.current == "486.00件" and not c.changed
    for r in rows:
        if r["key"] == "patents":
            r["target"] = "486项"  # another unit is another statement
    s.set("work.targets", rows)
    assert carried(store, report_id)["work.targets[patents].target"].changed


def test_progress_leaves_out_qualitative_rows(store, report_id):
    keys = {x.key for x in progress(store, report_id)}
    assert "patents" in keys and "opening" not in keys and "governance" not in keys


def test_targets_at_a_glance_in_the_export(store, report_id, tmp_path):
    """目标完成情况 is exported too: its own Word document beside the sealed report (which does not hold
    it), and a sheet in the lists."""
    import docx
    from openpyxl import load_workbook

    from clusterdesk.export.api import export_draft

    s = DraftSession(store, report_id)
    s.set("innovation.patents.2023", 520)
    s.set("digital.iiot_rate.2023", "30.5")
    result = export_draft(store, report_id, tmp_path, pdf=False, draft_copy=True)
    word = result.files[0]
    sealed = "\n".join(p.text for p in docx.Document(str(word)).paragraphs)
    sealed += "\n".join(c.text for t in docx.Document(str(word)).tables for row in t.rows for c in row.cells)
    assert "目标完成情况" not in sealed and "（计算）" not in sealed
    analysis = next(p for p in result.files if p.name.endswith("-目标完成情况（草稿）.docx"))
    assert analysis.parent == word.parent
    d = docx.Document(str(analysis))
    text = "\n".join(c.text for t in d.tables for row in t.rows for c in row.cells)
    assert d.paragraphs[0].text == "目标完成情况"
    assert "520.00（计算）" in text and "未达成" in text and "■" in text
    book = next(p for p in result.files if p.suffix == ".xlsx")
    ws = load_workbook(book, read_only=True)["目标完成情况"]
    rows = {r[1]: r for r in ws.iter_rows(values_only=True) if r and len(r) > 1 and r[1]}
    assert rows["有效发明专利数量"][2:6] == ("486件", "520.00", "计算：三、创新能力情况 · 集群内中小企业有效发明专利拥有量 2023年", "达成")
    assert rows["工业互联网普及率"][5] == "未达成"


def test_a_target_stated_as_a_fall_counts_upwards(store, report_id):
    s = DraftSession(store, report_id)
    rows = [dict(r) for r in s.value("work.targets")]
    for r in rows:
        if r["key"] == "energy":
            r["indicator"], r["target"], r["actual"] = "单位工业产值能耗", "较2022年下降3%", "较2022年下降3.40%"
    s.set("work.targets", rows)
    form, ans = load_answers(store, report_id)
    energy = {a.key: a for a in achievement(form, ans)}["energy"]
    assert energy.status == "达成" and not energy.lower_is_better  # 3.40 % fall ≥ 3 % planned

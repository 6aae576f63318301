"""Validation, eligibility (申报条件) on both sides of each threshold, and section 八 target rules."""

from __future__ import annotations

import copy

import pytest

from clusterdesk.model.rules import Answers, eligibility, has_errors, target_results, validate
from clusterdesk.service import parse_cell


def answers_of(form, demo, **overrides) -> Answers:
    raw = copy.deepcopy(demo["answers"])
    for k, v in overrides.items():
        key = k.replace("__", ".")
        if v is None:
            raw.pop(key, None)
        else:
            raw[key] = v
    values = {k: parse_cell(form, k, v) for k, v in raw.items()}
    ev = [(k, opt if opt in form.cell(k).field.options or form.cell(k).field.evidence != "if_positive" else "佐证材料")
          for k, by in demo.get("evidence", {}).items() for opt in by]
    return Answers(form, {k: v for k, v in values.items() if v is not None}, {}, ev)


def statuses(form, ans) -> dict[str, str]:
    return {r.condition.id: r.status for r in eligibility(form, ans)}


def test_demo_is_clean_and_eligible(cq_form, demo_cq):
    ans = answers_of(cq_form, demo_cq)
    problems = validate(cq_form, ans)
    assert problems == [], [str(p) for p in problems]
    assert set(statuses(cq_form, ans).values()) == {"符合"}
    assert all(t.ok for t in target_results(cq_form, ans))


# condition id -> (key, passing value at the threshold, failing value just past it)
BOUNDARIES = {
    "area": ("basic.area", "100", "100.01"),
    "output": ("industry.total_output.2021", "25", "24.99"),
    "sme_share": ("industry.sme_share.2022", "60.01", "60"),
    "leading_share": ("industry.leading_share.2022", "60.01", "60"),  # 2022 does not feed the growth
    "growth": ("industry.leading_cagr", "6.01", "6"),
    "patent_growth": ("innovation.patent_cagr", "10", "9.99"),
    "patents_per_10k": ("innovation.patents_per_10k", "10", "9.99"),
    "iiot": ("digital.iiot_rate", "10", "9.99"),
    "energy": ("basic.energy_efficiency", "是", "否"),
    "water": ("basic.water_efficiency", "非高用水行业，不适用", "否"),
    "not_prohibited": ("basic.not_prohibited", "是", "否"),
    "no_accidents": ("basic.no_accidents", "是", "否"),
    "no_violations": ("basic.no_violations", "是", "否"),
}


def test_every_condition_is_covered(cq_form):
    covered = set(BOUNDARIES) | {"quality_smes", "rd_growth"}
    assert covered == {c.id for c in cq_form.form.eligibility}


@pytest.mark.parametrize("cond_id", sorted(BOUNDARIES))
def test_condition_on_both_sides_of_threshold(cq_form, demo_cq, cond_id):
    key, ok_value, bad_value = BOUNDARIES[cond_id]
    kw = {key.replace(".", "__"): ok_value}
    assert statuses(cq_form, answers_of(cq_form, demo_cq, **kw))[cond_id] == "符合"
    bad = statuses(cq_form, answers_of(cq_form, demo_cq, **{key.replace(".", "__"): bad_value}))
    assert bad[cond_id] == "不符合"
    assert [c for c, s in bad.items() if s != "符合"] == [cond_id]  # exactly that condition


def test_quality_smes_either_branch(cq_form, demo_cq):
    none_national = {f"industry__{k}__2023": 0 for k in ("champions", "little_giants")}
    # national branch fails, municipal branch (31 + 57 + 61 >= 6) carries it
    assert statuses(cq_form, answers_of(cq_form, demo_cq, **none_national))["quality_smes"] == "符合"
    five = {"industry__srdi_municipal__2023": 2, "industry__innovative_smes__2023": 2, "industry__high_tech__2023": 1}
    res = statuses(cq_form, answers_of(cq_form, demo_cq, **none_national, **five))
    assert res["quality_smes"] == "不符合"
    six = dict(five, industry__high_tech__2023=2)
    assert statuses(cq_form, answers_of(cq_form, demo_cq, **none_national, **six))["quality_smes"] == "符合"
    one_giant = dict(five, industry__little_giants__2023=1, industry__champions__2023=0)
    assert statuses(cq_form, answers_of(cq_form, demo_cq, **one_giant))["quality_smes"] == "符合"


def test_rd_growth_uses_compound_average(cq_form, demo_cq):
    ok = statuses(cq_form, answers_of(cq_form, demo_cq, innovation__rd_growth__2021="6.00",
                                      innovation__rd_growth__2022="6.00", innovation__rd_growth__2023="6.10"))
    assert ok["rd_growth"] == "符合"
    bad = statuses(cq_form, answers_of(cq_form, demo_cq, innovation__rd_growth__2021="6.00",
                                       innovation__rd_growth__2022="6.00", innovation__rd_growth__2023="6.00"))
    assert bad["rd_growth"] == "不符合"


def test_eligibility_message_shows_the_numbers(cq_form, demo_cq):
    ans = answers_of(cq_form, demo_cq, industry__total_output__2021="23.10")
    res = {r.condition.id: r for r in eligibility(cq_form, ans)}["output"]
    assert "二、主导产业情况 · 集群总产值（亿元） 2021年：23.10 亿元，低于申报条件 25 亿元" in res.lines
    warn = [str(p) for p in validate(cq_form, ans) if p.kind == "eligibility"]
    assert warn == ["二、主导产业情况 · 集群总产值（亿元） 2021年：23.10 亿元，低于申报条件 25 亿元（近三年产值均在25亿元以上）"]
    assert not has_errors(validate(cq_form, ans))  # shortfalls are warnings


def test_computed_growth_and_patents_per_10k(cq_form, demo_cq):
    ans = answers_of(cq_form, demo_cq)
    # (66.40×70.80%)/(52.30×68.20%) = 1.31800…, sqrt − 1 = 14.80 %
    assert str(ans.value("industry.leading_cagr")) == "14.80"
    assert str(ans.value("innovation.patents_per_10k")) == "125.74"  # 486 / 38650 × 10000


def test_typed_value_against_computed_value(cq_form, demo_cq):
    ans = answers_of(cq_form, demo_cq, innovation__patents_per_10k="150")
    msgs = [p for p in validate(cq_form, ans) if p.kind == "computed"]
    assert len(msgs) == 1 and "150.00" in msgs[0].message and "125.74" in msgs[0].message
    assert msgs[0].level == "warning"
    ans.notes["innovation.patents_per_10k"] = "按2024年1月口径统计"
    assert not [p for p in validate(cq_form, ans) if p.kind == "computed"]


def test_required_and_empty_answer_wu(cq_form, demo_cq):
    ans = answers_of(cq_form, demo_cq, industry__chain_status=None)
    errs = [str(p) for p in validate(cq_form, ans) if p.level == "error"]
    assert errs == ["二、主导产业情况 · 集群产业链强链补链情况（200字以内）：必填栏目不得空缺，无相关情况时应填写“无”"]
    assert not has_errors(validate(cq_form, answers_of(cq_form, demo_cq, industry__chain_status="无")))


def test_narrative_limit(cq_form, demo_cq):
    ans = answers_of(cq_form, demo_cq, industry__chain_status="字" * 201)
    errs = [str(p) for p in validate(cq_form, ans) if p.level == "error"]
    assert errs == ["二、主导产业情况 · 集群产业链强链补链情况（200字以内）：超过200字限制（现 201 字，需删减 1 字）"]
    assert not has_errors(validate(cq_form, answers_of(cq_form, demo_cq, industry__chain_status="字" * 200)))


def test_plan_total_limit_3000(cq_form, demo_cq):
    ans = answers_of(cq_form, demo_cq, plan__key_tasks="规" * 2000)
    errs = [p for p in validate(cq_form, ans) if p.level == "error"]
    assert len(errs) == 1 and "超过3000字限制" in errs[0].message and errs[0].where.startswith("八、")


def test_smes_not_more_than_enterprises(cq_form, demo_cq):
    ans = answers_of(cq_form, demo_cq, industry__smes__2022=437)
    errs = [str(p) for p in validate(cq_form, ans) if p.level == "error"]
    assert errs == ["二、主导产业情况 · 其中：集群中小企业数量 2022年：437 个，高于“集群企业数量”的 436 个"]


def test_ticked_box_without_evidence_is_a_warning(cq_form, demo_cq):
    demo = copy.deepcopy(demo_cq)
    del demo["evidence"]["industry.chain_work"]
    ans = answers_of(cq_form, demo)
    ev = [p for p in validate(cq_form, ans) if p.kind == "evidence"]
    assert len(ev) == len(demo["answers"]["industry.chain_work"])
    assert all(p.level == "warning" and "尚未添加佐证材料" in p.message for p in ev)


def test_list_must_match_count(cq_form, demo_cq):
    ans = answers_of(cq_form, demo_cq, innovation__patents=487)
    lst = [p for p in validate(cq_form, ans) if p.kind == "list"]
    assert len(lst) == 1 and "486" in lst[0].message and "487" in lst[0].message


TARGET_CASES = [
    ("output_growth", "target", "6.00%", "5.99%", "output_growth_target"),
    ("quality_smes", "target", "93家", "92家", "quality_smes_target"),
    ("rd_spending", "target", "2.12亿元", "2.11亿元", "rd_spending_target"),  # 1.78 × 1.06³ = 2.120
    ("patents", "target", "647件", "646件", "patents_target"),  # 486 × 1.1³ = 646.87
    ("industrial_internet", "target", "27%", "26.9%", "iiot_target"),
    ("co2", "target", "0.3276", "0.33", "co2_target"),  # ≥ 9 % below 0.36
    ("energy", "target", "120.64千克标准煤/万元", "120.65千克标准煤/万元", "energy_target"),  # ≥ 7.2 % below 130
]


@pytest.mark.parametrize("row, col, ok, bad, rule_id", TARGET_CASES)
def test_target_rules(cq_form, demo_cq, row, col, ok, bad, rule_id):
    def result(value):
        demo = copy.deepcopy(demo_cq)
        for r in demo["answers"]["plan.targets"]:
            if r.get("key") == row:
                r[col] = value
        return {t.rule.id: t for t in target_results(cq_form, answers_of(cq_form, demo))}[rule_id]

    assert result(ok).ok is True
    bad_result = result(bad)
    assert bad_result.ok is False
    assert bad in bad_result.text  # the message shows the user's own figure


def test_section_state_counts_cross_field_errors(store, demo_cq):
    from clusterdesk.service import DraftSession
    from clusterdesk.templates import import_file
    from cd_support import DEMO

    s = DraftSession(store, import_file(store, DEMO / "cq-2024-application.json"))
    assert s.section_state("industry") == "complete"
    s.set("industry.smes.2023", 500)  # more SMEs than enterprises: a cross-field error
    assert s.section_state("industry") == "errors"
    assert s.section_state("basic") == "complete"
    s.undo()
    assert s.section_state("industry") == "complete"


# -- dates in lists against the data's cut-off (data_as_of) ------------------------------------------

CQ_CUT = "晚于数据截止日期 2023年12月31日（填报说明 6.未注明填报年度的，请填写截止到2023年底的数据。）"


def test_list_date_after_the_cut_off_is_a_warning_naming_list_row_and_value(cq_form, demo_cq):
    demo = copy.deepcopy(demo_cq)
    patents = demo["answers"]["innovation.patent_list"]
    patents[11]["granted"] = "2024-01-05"
    patents[12]["granted"] = "2023-12-31"  # the last day of the data still counts
    patents[13]["granted"] = "2024年2月"  # a month after the cut-off, however written
    patents[14]["granted"] = "2023年12月"
    demo["answers"]["opening.overseas_list"][0]["year"] = 2024
    ans = answers_of(cq_form, demo)
    dates = [p for p in validate(cq_form, ans) if p.kind == "date"]
    assert [str(p) for p in dates] == [
        f"三、创新能力情况 · 有效发明专利清单：第12行“授权日期”为 2024-01-05，{CQ_CUT}",
        f"三、创新能力情况 · 有效发明专利清单：第14行“授权日期”为 2024年2月，{CQ_CUT}",
        f"六、开放合作情况 · 境外分支机构名单：第1行“设立年份”为 2024，{CQ_CUT}",
    ]
    assert all(p.level == "warning" and p.key in ("innovation.patent_list", "opening.overseas_list") for p in dates)
    assert not has_errors(validate(cq_form, ans))  # a warning: the user decides


@pytest.mark.parametrize("written", ["去年三月", "2023-02-30", "2023/13/01", "见附件"])
def test_list_date_that_is_not_a_date_is_named(cq_form, demo_cq, written):
    demo = copy.deepcopy(demo_cq)
    demo["answers"]["innovation.patent_list"][0]["granted"] = written
    dates = [str(p) for p in validate(cq_form, answers_of(cq_form, demo)) if p.kind == "date"]
    assert dates == [f"三、创新能力情况 · 有效发明专利清单：第1行“授权日期”“{written}”不是可识别的日期，"
                     "请按“2023-04-18”或“2023年4月18日”填写"]


@pytest.mark.parametrize("written", ["2023-12-31", "2023/4/18", "2023.04.18", "20230418", "２０２３年４月１８日", "2023年",
                                     "2023"])
def test_list_dates_written_the_usual_ways_are_read(cq_form, demo_cq, written):
    demo = copy.deepcopy(demo_cq)
    demo["answers"]["innovation.patent_list"][0]["granted"] = written
    assert not [p for p in validate(cq_form, answers_of(cq_form, demo)) if p.kind == "date"]


def test_the_cut_off_comes_from_the_definition(tmp_path, demo_cq):
    """An earlier data_as_of in a copy of the definition: every 2023 grant and 2023 branch is flagged."""
    from clusterdesk.model.form import Catalog
    from cd_support import ROOT

    forms = tmp_path / "forms"
    forms.mkdir()
    for p in (ROOT / "forms").glob("*.yaml"):
        text = p.read_text(encoding="utf-8")
        if p.stem == "cq-2024-application":
            assert "  date: 2023-12-31\n" in text
            text = text.replace("  date: 2023-12-31\n", "  date: 2022-12-31\n")
        (forms / p.name).write_text(text, encoding="utf-8")
    form = Catalog.load(forms).get("cq-2024-application")
    dates = [p for p in validate(form, answers_of(form, demo_cq)) if p.kind == "date"]
    granted_2023 = [r for r in demo_cq["answers"]["innovation.patent_list"] if r["granted"].startswith("2023")]
    branches_2023 = [r for r in demo_cq["answers"]["opening.overseas_list"] if r["year"] == 2023]
    assert granted_2023 and branches_2023
    assert len(dates) == len(granted_2023) + len(branches_2023)
    assert all("晚于数据截止日期 2022年12月31日" in p.message for p in dates)


def test_shanghai_lists_are_checked_against_counts_and_the_cut_off(catalog):
    import json

    from cd_support import DEMO

    form = catalog.get("sh-2023-annual-report")
    demo = json.loads((DEMO / "sh-2023-annual-report.json").read_text(encoding="utf-8"))
    assert not validate(form, answers_of(form, demo))
    demo["answers"]["industry.srdi_list"] = demo["answers"]["industry.srdi_list"][:6]  # 需附名单: 46 counted
    demo["answers"]["opening.overseas_list"][0]["year"] = 2024
    problems = validate(form, answers_of(form, demo))
    assert [(p.level, p.kind, str(p)) for p in problems] == [
        ("warning", "list", "二、主导产业情况 · 市级专精特新中小企业名单：清单共 6 行，"
                            "与“主导产业相关的市级专精特新中小企业数量”填写的 46 不一致"),
        ("warning", "date", "六、开放合作情况 · 境外分支机构名单：第1行“设立年份”为 2024，晚于数据截止日期 2023年12月31日"
                            "（通知：请市级中小企业特色产业集群（以下简称集群）填报2023年度发展情况）"),
    ]

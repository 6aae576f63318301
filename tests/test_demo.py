"""The demo data is what users see first: every demo passes the program's own checks, each count
equals its list, every date lies within the data's cut-off, the patent list is real-looking (distinct
titles, valid ZL numbers), and every figure a narrative quotes equals the table value it names."""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable

import pytest

from clusterdesk.model.rules import Answers, achievement, eligibility, target_results, validate
from clusterdesk.model.values import number_in_text
from clusterdesk.templates import read_filled
from cd_support import DEMO

DEMOS = sorted(p.stem for p in DEMO.glob("*.json"))
CQ, SH, SUMMARY = "cq-2024-application", "sh-2023-annual-report", "cq-2024-summary"


def load(name: str) -> Answers:
    filled = read_filled(DEMO / f"{name}.json")  # evidence paths resolved as an import resolves them
    return Answers(filled.form, filled.answers, filled.notes, [(k, o) for k, o, _ in filled.evidence])


@pytest.fixture(scope="module")
def demos() -> dict[str, Answers]:
    return {name: load(name) for name in DEMOS}


def num(ans: Answers, key: str) -> Decimal:
    v = ans.number(key)
    assert v is not None, key
    return v


def rows(ans: Answers, key: str) -> list[dict[str, Any]]:
    return list(ans.value(key) or [])


def target_rows(ans: Answers, key: str) -> dict[str, dict[str, Any]]:
    return {r["key"]: r for r in rows(ans, key) if "key" in r}


def cagr(first: Decimal, last: Decimal, years: int) -> Decimal:
    return (Decimal(float(last / first) ** (1 / years)) - 1) * 100


# -- every demo passes every check -----------------------------------------------------------------------


def test_every_shipped_form_with_a_demo_is_tested():
    assert {CQ, SH, SUMMARY} <= set(DEMOS)


@pytest.mark.parametrize("name", DEMOS)
def test_demo_has_no_errors_and_no_warnings(demos, name):
    """Counts against lists, dates against the cut-off, targets rules, evidence, eligibility: nothing."""
    ans = demos[name]
    problems = validate(ans.form, ans)
    assert problems == [], "\n".join(str(p) for p in problems)
    assert all(r.status == "符合" for r in eligibility(ans.form, ans)), [str(r) for r in eligibility(ans.form, ans)]
    results = target_results(ans.form, ans)
    assert all(t.ok is True for t in results), [f"{t.rule.text}：{t.text}" for t in results if t.ok is not True]


@pytest.mark.parametrize("name", DEMOS)
def test_numbers_have_at_most_two_decimals(demos, name):
    """填报说明: 数据有小数时，保留小数点后2位 — table cells and every figure in a target cell."""
    ans = demos[name]
    too_precise = []
    for cell in ans.form.answerable_cells:
        f = cell.field
        v = ans.typed(cell.key)
        if f.type in ("number", "percent") and v is not None:
            if -Decimal(str(v)).as_tuple().exponent > 2:
                too_precise.append((cell.key, v))
        if f.type == "repeat" and v:
            value_cols = [c.id for c in f.columns if c.type in ("value", "number", "percent")]
            for i, row in enumerate(v, start=1):
                for c in value_cols:
                    for m in re.finditer(r"\d+\.(\d+)", str(row.get(c) or "")):
                        if len(m.group(1)) > 2:
                            too_precise.append((f"{cell.key} 第{i}行 {c}", row[c]))
    assert not too_precise


@pytest.mark.parametrize("name", DEMOS)
def test_every_count_equals_its_list(demos, name):
    """需提供清单 / 需附名单: a list row for every counted item — for a matrix, cell by cell."""
    ans = demos[name]
    form = ans.form
    checked = 0
    for s in form.sections:
        for f in s.fields():
            if f.type != "repeat" or not f.list_for:
                continue
            listed = rows(ans, f"{s.id}.{f.id}")
            _, target = form.field(f.list_for)
            cells = form.cells_of(f.list_for)
            if target.type != "matrix":
                assert len(listed) == num(ans, cells[-1].key), f.label
                checked += 1
                continue
            # matrix: rows are the list's 类别, columns its 主持/参与, years its 年度 (one column: 近三年)
            for c in cells:
                role = c.col.label.removesuffix("数量")
                same = [r for r in listed if r["category"] == c.row.label and r["role"] == role
                        and (len(target.years) == 1 or r["year"] == c.year)]
                assert len(same) == num(ans, c.key), c.where
                checked += 1
    assert checked or name not in (CQ, SH)


# -- dates against the notice ----------------------------------------------------------------------------


def grant_date(text: str) -> dt.date:
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text) or re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日", text)
    assert m, text
    return dt.date(*(int(g) for g in m.groups()))


@pytest.mark.parametrize("name", [CQ, SH])
def test_list_dates_lie_within_the_cut_off(demos, name):
    ans = demos[name]
    as_of = ans.form.form.data_as_of
    assert as_of is not None and as_of.date == dt.date(2023, 12, 31)
    for ref in as_of.columns:
        key, _, col = ref.rpartition(".")
        values = [r[col] for r in rows(ans, key) if r.get(col) is not None]
        assert values, ref
        for v in values:
            assert (v <= as_of.date.year) if isinstance(v, int) else (grant_date(v) <= as_of.date), (ref, v)


# -- the patent lists ------------------------------------------------------------------------------------


def patent_check_digit(digits: str) -> str:
    """CNIPA application numbers (since 2003): 12 digits weighted 2,3,4,5,6,7,8,9,2,3,4,5, mod 11, 10 → X."""
    total = sum(int(d) * w for d, w in zip(digits, (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)))
    return "X" if total % 11 == 10 else str(total % 11)


def test_check_digit_rule_on_a_published_number():
    assert patent_check_digit("201710601862") == "3"  # ZL201710601862.3


@pytest.mark.parametrize("name", [CQ, SH])
def test_patents_are_distinct_valid_invention_patents(demos, name):
    patents = rows(demos[name], "innovation.patent_list")
    assert len({p["title"] for p in patents}) == len(patents)
    assert len({p["number"] for p in patents}) == len(patents)
    for p in patents:
        m = re.fullmatch(r"ZL((\d{4})1\d{7})\.([\dX])", p["number"])  # type digit 1: invention
        assert m, p["number"]
        assert m.group(3) == patent_check_digit(m.group(1)), p["number"]
        assert p["kind"] == "发明专利" and p["title"].startswith("一种"), p
        filed, granted = int(m.group(2)), grant_date(p["granted"])
        assert 1 <= granted.year - filed <= 5, p  # examined after filing, in a believable time
        assert re.fullmatch(r"(重庆|上海).+(有限公司|股份有限公司)", p["owner"]), p


@pytest.mark.parametrize("name, growth_key", [(CQ, "innovation.patent_cagr"), (SH, "innovation.patent_cagr.2023")])
def test_patent_growth_matches_the_list(demos, name, growth_key):
    """近三年有效发明专利年均增速: the patents held at the end of 2021 are those of the list granted by then."""
    ans = demos[name]
    patents = rows(ans, "innovation.patent_list")
    by_2021 = sum(grant_date(p["granted"]) <= dt.date(2021, 12, 31) for p in patents)
    assert round(cagr(Decimal(by_2021), Decimal(len(patents)), 2), 2) == num(ans, growth_key)


# -- company lists -----------------------------------------------------------------------------------------

USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc_valid(code: str) -> bool:
    """GB 32100-2015 统一社会信用代码 with its GB 11714 organisation code check."""
    if len(code) != 18 or any(c not in USCC for c in code):
        return False
    s = sum(USCC.index(c) * w for c, w in zip(code, (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)))
    org = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(code[8:16], (3, 7, 9, 10, 5, 8, 4, 2)))
    org_check = {10: "X", 11: "0"}.get(11 - org % 11, str(11 - org % 11))
    return code[17] == USCC[(31 - s % 31) % 31] and code[16] == org_check


def test_uscc_rule_on_the_standard_example():
    assert uscc_valid("91350100M000100Y43") and not uscc_valid("91350100M000100Y44")


def test_shanghai_company_lists(demos):
    ans = demos[SH]
    srdi = rows(ans, "industry.srdi_list")
    giants = rows(ans, "industry.little_giants_list")
    champions = rows(ans, "industry.champions_list")
    everyone = srdi + giants + champions
    assert all(uscc_valid(r["credit_code"]) and r["credit_code"][2:8] == "310114" for r in everyone)  # 嘉定区
    codes = {}
    for r in everyone:
        assert codes.setdefault(r["name"], r["credit_code"]) == r["credit_code"], r["name"]
    assert len({r["name"] for r in srdi}) == len(srdi)
    assert len(set(codes.values())) == len(codes)
    # the patents counted are the SMEs' own: their owners are named in the cluster's lists
    assert {p["owner"] for p in rows(ans, "innovation.patent_list")} <= {r["name"] for r in srdi + giants}


# -- narratives against tables --------------------------------------------------------------------------
# Each quote: (field, pattern with one number group, what it must equal). What it must equal is a function
# of the answers, a fixed number (a fact quoted in several narratives, which must agree), or None (a fact
# no table holds). A computed value is rounded to the digits the text shows; a stored one must be equal.
# Every number in every narrative must be one of these quotes (years before 年 are dates, not figures).

Expect = Callable[[Answers], Decimal] | int | str | None


def v(key: str) -> Callable[[Answers], Decimal]:
    return lambda a: num(a, key)


def t(row: str, col: str = "baseline", table: str = "plan.targets") -> Callable[[Answers], Decimal]:
    return lambda a: number_in_text(target_rows(a, table)[row][col])  # type: ignore[return-value]


def rd_amount(year: int) -> Callable[[Answers], Decimal]:
    """中小企业研发经费（亿元） = 集群总产值 × 中小企业产值占比 × 研发投入强度."""
    return lambda a: (num(a, f"industry.total_output.{year}") * num(a, f"industry.sme_share.{year}")
                      * num(a, f"innovation.rd_intensity.{year}") / 10000)


def quality_smes(a: Answers, year: int = 2023) -> Decimal:
    """优质中小企业: 创新型中小企业 + 市级专精特新中小企业 + 国家级专精特新“小巨人”企业."""
    return sum((num(a, f"industry.{k}.{year}") for k in ("innovative_smes", "srdi_municipal", "little_giants")),
               Decimal(0))


def list_count(key: str, keep: Callable[[dict], bool] = lambda r: True) -> Callable[[Answers], Decimal]:
    return lambda a: Decimal(sum(1 for r in rows(a, key) if keep(r)))


def granted_by(year: int) -> Callable[[dict], bool]:
    return lambda r: grant_date(r["granted"]).year <= year


def matrix_sum(a: Answers, key: str, rows_: tuple[str, ...], cols: tuple[str, ...]) -> Decimal:
    return sum((num(a, c.key) for c in a.form.cells_of(key) if c.row.key in rows_ and c.col.key in cols), Decimal(0))


ALL_ROWS = ("international", "national", "industry", "group")

CQ_QUOTES: list[tuple[str, str, Expect]] = [
    ("industry.chain_status", r"梳理断链弱链环节(\d+)项", None),
    ("industry.chain_status", r"补链项目(\d+)个", 14),
    ("industry.chain_status", r"本地配套率由(\d+)%", None),
    ("industry.chain_status", r"提升至(\d+)%", None),
    ("industry.chain_status", r"与(\d+)家中小企业", None),
    ("industry.resource_status", r"共享设备平台(\d+)个", None),
    ("industry.resource_status", r"设备共享率达(\d+)%", None),
    ("industry.resource_status", r"物流中心(\d+\.\d+)万平方米", None),
    ("industry.resource_status", r"物流成本约(\d+)%", None),
    ("industry.resource_status", r"调剂用工(\d+)余人次", None),
    ("industry.brand_status", r"(\d+)家企业通过质量管理体系认证", None),
    ("industry.brand_status", r"质量诊断服务企业(\d+)家次", None),
    ("industry.brand_status", r"团体标准(\d+)项",
     lambda a: matrix_sum(a, "innovation.standards", ("group",), ("lead", "join"))),
    ("digital.service_status", r"数字化服务商(\d+)家", None),
    ("digital.service_status", r"接入设备(\d+\.\d+)万台", None),
    ("digital.service_status", r"数字化诊断企业(\d+)家次", None),
    ("digital.service_status", r"普及率达(\d+)%", None),
    ("digital.model_status", r"市级智能工厂(\d+)个", 4),
    ("digital.model_status", r"数字化车间(\d+)个", t("digital_more")),
    ("digital.model_status", r"(\d+)家企业入选国家智能制造优秀场景", None),
    ("digital.model_status", r"服务用户企业(\d+)余家", None),
    ("green.lowcarbon_status", r"节能诊断企业(\d+)家", None),
    ("green.lowcarbon_status", r"节能改造项目(\d+)个", None),
    ("green.lowcarbon_status", r"分布式光伏(\d+)兆瓦", None),
    ("green.lowcarbon_status", r"再生利用率达(\d+)%", None),
    ("green.lowcarbon_status", r"(\d+)家企业获评国家级绿色工厂", t("green_more")),
    ("green.service_status", r"节能服务机构(\d+)家", None),
    ("green.service_status", r"年服务企业(\d+)余家次", None),
    ("opening.intl_status", r"等(\d+)余个国家和地区", 30),
    ("opening.intl_status", r"技术团队(\d+)个", None),
    ("opening.intl_status", r"展会(\d+)场次", None),
    ("governance.environment_status", r"发展政策(\d+)条", None),
    ("governance.environment_status", r"缩短至(\d+)个工作日", None),
    # 八、一、集群基本情况简介
    ("plan.overview", r"占地面积(\d+\.\d+)平方公里", v("basic.area")),
    ("plan.overview", r"2023年集群总产值(\d+\.\d+)亿元", v("industry.total_output.2023")),
    ("plan.overview", r"主导产业产值(\d+\.\d+)亿元",
     lambda a: num(a, "industry.total_output.2023") * num(a, "industry.leading_share.2023") / 100),
    ("plan.overview", r"占比(\d+\.\d+)%，中小企业", v("industry.leading_share.2023")),
    ("plan.overview", r"中小企业产值占比(\d+\.\d+)%", v("industry.sme_share.2023")),
    ("plan.overview", r"现有企业(\d+)家", v("industry.enterprises.2023")),
    ("plan.overview", r"其中中小企业(\d+)家", v("industry.smes.2023")),
    ("plan.overview", r"中小企业从业人员(\d+)人", v("innovation.employees")),
    ("plan.overview", r"单项冠军企业(\d+)家", v("industry.champions.2023")),
    ("plan.overview", r"“小巨人”企业(\d+)家", v("industry.little_giants.2023")),
    ("plan.overview", r"市级专精特新中小企业(\d+)家", v("industry.srdi_municipal.2023")),
    ("plan.overview", r"创新型中小企业(\d+)家", v("industry.innovative_smes.2023")),
    ("plan.overview", r"国家级高新技术企业(\d+)家", v("industry.high_tech.2023")),
    ("plan.overview", r"产业发展基金(\d+)亿元", None),
    # 二、发展成效
    ("plan.achievements", r"由2021年的(\d+\.\d+)亿元", v("industry.total_output.2021")),
    ("plan.achievements", r"增至(\d+\.\d+)亿元，年均增长", v("industry.total_output.2023")),
    ("plan.achievements", r"年均增长(\d+\.\d+)%；主导产业",
     lambda a: cagr(num(a, "industry.total_output.2021"), num(a, "industry.total_output.2023"), 2)),
    ("plan.achievements", r"主导产业产值年均增长(\d+\.\d+)%", v("industry.leading_cagr")),
    ("plan.achievements", r"补链项目(\d+)个", 14),
    ("plan.achievements", r"国家企业技术中心(\d+)个", v("innovation.platforms_national_count")),
    ("plan.achievements", r"市级创新平台(\d+)个", v("innovation.platforms_provincial_count")),
    ("plan.achievements", r"研发投入强度由(\d+\.\d+)%", v("innovation.rd_intensity.2021")),
    ("plan.achievements", r"提高到(\d+\.\d+)%", v("innovation.rd_intensity.2023")),
    ("plan.achievements", r"研发经费由(\d+\.\d+)亿元", rd_amount(2021)),
    ("plan.achievements", r"增至(\d+\.\d+)亿元；", rd_amount(2023)),
    ("plan.achievements", r"2021年底的(\d+)件", list_count("innovation.patent_list", granted_by(2021))),
    ("plan.achievements", r"增至(\d+)件", v("innovation.patents")),
    ("plan.achievements", r"件，年均增长(\d+\.\d+)%", v("innovation.patent_cagr")),
    ("plan.achievements", r"制修订标准(\d+)项", lambda a: matrix_sum(a, "innovation.standards", ALL_ROWS, ("lead", "join"))),
    ("plan.achievements", r"应用普及率达(\d+\.\d+)%", v("digital.iiot_rate")),
    ("plan.achievements", r"企业上云比例达(\d+\.\d+)%", v("digital.cloud_rate")),
    ("plan.achievements", r"市级智能工厂(\d+)个", 4),
    ("plan.achievements", r"数字化车间(\d+)个", t("digital_more")),
    ("plan.achievements", r"排放量由(\d+\.\d+)吨/万元", v("green.co2_per_output.2021")),
    ("plan.achievements", r"降至(\d+\.\d+)吨/万元", v("green.co2_per_output.2023")),
    ("plan.achievements", r"能耗降低(\d+\.\d+)%", v("green.energy_reduction")),
    ("plan.achievements", r"(\d+)家企业获评国家级绿色工厂", t("green_more")),
    ("plan.achievements", r"境外设立分支机构(\d+)个", v("opening.overseas_branches")),
    # 四、发展目标 and the stages: the targets table says the same
    ("plan.overall_goal", r"总产值达到(\d+\.\d+)亿元", t("main_more", "target")),
    ("plan.overall_goal", r"产值年均增速不低于(\d+)%", t("output_growth", "target")),
    ("plan.overall_goal", r"由(\d+)家增加到", t("quality_smes")),
    ("plan.overall_goal", r"增加到(\d+)家", t("quality_smes", "target")),
    ("plan.overall_goal", r"研发经费投入由(\d+\.\d+)亿元", t("rd_spending")),
    ("plan.overall_goal", r"增加到(\d+\.\d+)亿元", t("rd_spending", "target")),
    ("plan.overall_goal", r"年均增长不低于(\d+)%", ">= rd"),
    ("plan.overall_goal", r"有效发明专利达到(\d+)件", t("patents", "target")),
    ("plan.overall_goal", r"普及率达到(\d+)%", t("industrial_internet", "target")),
    ("plan.overall_goal", r"由(\d+\.\d+)吨/万元", t("co2")),
    ("plan.overall_goal", r"降至(\d+\.\d+)吨/万元", t("co2", "target")),
    ("plan.overall_goal", r"能耗由(\d+)千克", t("energy")),
    ("plan.overall_goal", r"降至(\d+)千克", t("energy", "target")),
    *[q for year, col in ((2024, "target_2024"), (2025, "target_2025"), (2026, "target")) for q in [
        (f"plan.stage_{year}", r"总产值达到(\d+\.\d+)亿元", t("main_more", col)),
        (f"plan.stage_{year}", r"优质中小企业达到(\d+)家", t("quality_smes", col)),
        (f"plan.stage_{year}", r"研发经费投入达到(\d+\.\d+)亿元", t("rd_spending", col)),
        (f"plan.stage_{year}", r"有效发明专利达到(\d+)件", t("patents", col)),
        (f"plan.stage_{year}", r"普及率达到(\d+(?:\.\d+)?)%", t("industrial_internet", col)),
        (f"plan.stage_{year}", r"排放量降至(\d+\.\d+)吨/万元", t("co2", col)),
        (f"plan.stage_{year}", r"能耗降至(\d+)千克", t("energy", col)),
    ]],
    ("plan.stage_2024", r"新增数字化车间(\d+)个",
     lambda a: number_in_text(target_rows(a, "plan.targets")["digital_more"]["target_2024"]) - t("digital_more")(a)),
    ("plan.stage_2024", r"攻关项目(\d+)项", None),
    ("plan.stage_2025", r"新增境外分支机构(\d+)个",
     lambda a: t("opening", "target_2025")(a) - num(a, "opening.overseas_branches")),
    ("plan.stage_2026", r"境外分支机构达到(\d+)个", t("opening", "target")),
    ("plan.key_tasks", r"每年引进补链项目(\d+)个以上", None),
]

SH_QUOTES: list[tuple[str, str, Expect]] = [
    ("work.overview", r"规划面积(\d+\.\d+)平方公里", v("basic.area")),
    ("work.overview", r"集群总产值(\d+\.\d+)亿元", v("industry.total_output.2023")),
    ("work.overview", r"中小企业产值占比(\d+\.\d+)%", v("industry.sme_share.2023")),
    ("work.overview", r"主导产业产值占比(\d+\.\d+)%", v("industry.leading_share.2023")),
    ("work.overview", r"同比增长(\d+\.\d+)%", v("industry.leading_growth.2023")),
    ("work.overview", r"现有企业(\d+)家", v("industry.enterprises.2023")),
    ("work.overview", r"其中中小企业(\d+)家", v("industry.smes.2023")),
    ("work.overview", r"单项冠军企业(\d+)家", v("industry.champions.2023")),
    ("work.overview", r"“小巨人”企业(\d+)家", v("industry.little_giants.2023")),
    ("work.overview", r"市级专精特新中小企业(\d+)家", v("industry.srdi_municipal.2023")),
    ("work.overview", r"国家级高新技术企业(\d+)家", v("industry.high_tech.2023")),
    ("work.overview", r"扶持资金(\d+\.\d+)亿元", None),
    ("work.overview", r"入库企业(\d+)家", None),
    ("work.overview", r"一对一辅导(\d+)家次", None),
    ("work.overview", r"2022年的(\d+)%", None),
    ("work.overview", r"提高到(\d+)%", None),
    ("work.achievements", r"产值增速(\d+\.\d+)%", v("industry.leading_growth.2023")),
    ("work.achievements", r"高于(\d+)%的目标", t("output_growth", "target", "work.targets")),
    ("work.achievements", r"优质中小企业达到(\d+)家", quality_smes),
    ("work.achievements", r"新增市级专精特新中小企业(\d+)家", list_count("industry.srdi_list", lambda r: r["year"] == 2023)),
    ("work.achievements", r"“小巨人”企业(\d+)家", list_count("industry.little_giants_list", lambda r: r["batch"] == "第五批")),
    ("work.achievements", r"研发经费(\d+\.\d+)亿元", lambda a: num(a, "innovation.rd_total.2023") / 10000),
    ("work.achievements", r"研发投入强度(\d+\.\d+)%", v("innovation.rd_intensity.2023")),
    ("work.achievements", r"新增有效发明专利(\d+)件",
     lambda a: list_count("innovation.patent_list")(a) - list_count("innovation.patent_list", granted_by(2022))(a)),
    ("work.achievements", r"团体标准(\d+)项",
     lambda a: matrix_sum(a, "innovation.standards", ("national", "industry", "group"), ("lead",))),
    ("work.achievements", r"(\d+)项MEMS惯性传感器芯片成果", None),
    ("work.achievements", r"普及率达到(\d+\.\d+)%", v("digital.iiot_rate.2023")),
    ("work.achievements", r"企业上云比例(\d+\.\d+)%", v("digital.cloud_rate.2023")),
    ("work.achievements", r"智能工厂(\d+)家", None),
    ("work.achievements", r"数字化车间(\d+)个", None),
    ("work.achievements", r"能耗下降(\d+\.\d+)%", v("green.energy_reduction.2023")),
    ("work.achievements", r"降至(\d+\.\d+)吨/万元", v("green.co2_per_output.2023")),
    ("work.achievements", r"重复利用率(\d+\.\d+)%", v("green.water_reuse_rate.2023")),
    ("work.achievements", r"综合利用率(\d+\.\d+)%", v("green.solid_waste_rate.2023")),
    ("work.achievements", r"新设境外分支机构(\d+)家", list_count("opening.overseas_list", lambda r: r["year"] == 2023)),
    ("work.achievements", r"出口额增长(\d+\.\d+)%", v("opening.export_growth.2023")),
    ("work.achievements", r"外商直接投资额增长(\d+\.\d+)%", v("opening.fdi_growth.2023")),
    ("work.achievements", r"活动(\d+)场", 38),
    ("work.achievements", r"服务企业(\d+)余家次", 1200),
    ("work.achievements", r"测评达到(\d+)分", None),
    ("work.key_work", r"环节(\d+)项", None),
    ("work.key_work", r"(\d+)英寸", None),
    ("work.key_work", r"配套项目(\d+)个", None),
    ("work.key_work", r"配套协议(\d+)份", None),
    ("work.key_work", r"攻关项目(\d+)项", None),
    ("work.key_work", r"服务(\d+)余批次", None),
    ("work.key_work", r"引入(\d+)家数字化", None),
    ("work.key_work", r"数字化诊断(\d+)家次", None),
    ("work.key_work", r"节能诊断(\d+)家次", None),
    ("work.key_work", r"推动(\d+)家企业", None),
    ("work.key_work", r"(\d+)家企业获评市级绿色工厂", None),
    ("work.key_work", r"等展会(\d+)场", 7),
    ("work.key_work", r"诉求(\d+)项", None),
    ("work.plan_2024", r"不低于(\d+)%", None),
    ("work.plan_2024", r"数量达到(\d+)家", None),
    ("work.plan_2024", r"服务能力(\d+)%", None),
    ("work.plan_2024", r"提高到(\d+)%左右", None),
    ("work.plan_2024", r"再降(\d+)%", None),
    ("work.plan_2024", r"不少于(\d+)场", None),
    ("work.plan_2024", r"企业(\d+)家以上", None),
    ("work.plan_2024", r"不少于(\d+)项", None),
]


def check_quotes(ans: Answers, quotes: list[tuple[str, str, Expect]]) -> list[str]:
    wrong = []
    covered: dict[str, list[tuple[int, int]]] = {}
    for key, pattern, expect in quotes:
        text = ans.value(key) or ""
        hits = list(re.finditer(pattern, text))
        if not hits:
            wrong.append(f"{key}: “{pattern}” not in the text")
            continue
        for m in hits:
            covered.setdefault(key, []).append(m.span())
            quoted = Decimal(m.group(1))
            if expect is None:
                continue
            if expect == ">= rd":  # a floor the targets table's growth must reach
                goal = cagr(t("rd_spending")(ans), t("rd_spending", "target")(ans), 3)
                if goal < quoted:
                    wrong.append(f"{key}: “{m.group(0)}” but the targets grow {goal:.2f}% a year")
                continue
            want = Decimal(expect) if isinstance(expect, int) else expect(ans)  # type: ignore[operator]
            if -want.as_tuple().exponent > 2:  # computed: as the text rounds it
                want = want.quantize(Decimal(1).scaleb(quoted.as_tuple().exponent), rounding=ROUND_HALF_UP)
            if quoted != want:
                wrong.append(f"{key}: “{m.group(0)}” but the tables give {want}")
    for key in {q[0] for q in quotes} | narrative_keys(ans):
        text = ans.value(key) or ""
        for m in re.finditer(r"\d+(?:\.\d+)?", text):
            if re.fullmatch(r"(19|20)\d\d", m.group(0)) and text[m.end():m.end() + 1] == "年":
                continue  # a year
            if not any(a <= m.start() and m.end() <= b for a, b in covered.get(key, [])):
                wrong.append(f"{key}: “{text[max(0, m.start() - 8):m.end() + 4]}” is quoted nowhere in this test")
    return wrong


def narrative_keys(ans: Answers) -> set[str]:
    return {c.key for c in ans.form.answerable_cells if c.field.type == "narrative" and ans.value(c.key)}


@pytest.mark.parametrize("name, quotes", [(CQ, CQ_QUOTES), (SH, SH_QUOTES)], ids=[CQ, SH])
def test_every_narrative_figure_equals_the_tables(demos, name, quotes):
    wrong = check_quotes(demos[name], quotes)
    assert not wrong, "\n".join(wrong)


def test_the_quote_check_catches_a_wrong_figure(demos):
    """The check itself can fail: a narrative that says 12.86% where the tables give 12.68%."""
    ans = demos[CQ]
    text = ans.value("plan.achievements")
    bad = Answers(ans.form, dict(ans.raw, **{"plan.achievements": text.replace("12.68%", "12.86%")}))
    assert any("12.86%" in w and "12.68" in w for w in check_quotes(bad, CQ_QUOTES))
    extra = Answers(ans.form, dict(ans.raw, **{"plan.problems": ans.value("plan.problems") + "缺口约17%。"}))
    assert any("17%" in w for w in check_quotes(extra, CQ_QUOTES))


# -- targets against the tables -------------------------------------------------------------------------


def test_chongqing_baselines_are_the_2023_values(demos):
    a = demos[CQ]
    base = {k: number_in_text(r.get("baseline")) for k, r in target_rows(a, "plan.targets").items()}
    assert base["output_growth"] == round(cagr(num(a, "industry.total_output.2021"),
                                               num(a, "industry.total_output.2023"), 2), 2)
    assert base["quality_smes"] == quality_smes(a)
    assert base["main_more"] == num(a, "industry.total_output.2023")
    assert base["rd_spending"] == round(rd_amount(2023)(a), 2)
    assert base["patents"] == num(a, "innovation.patents")
    assert base["innovation_more"] == num(a, "innovation.platforms_national_count") + num(
        a, "innovation.platforms_provincial_count")
    assert base["industrial_internet"] == num(a, "digital.iiot_rate")
    assert base["co2"] == num(a, "green.co2_per_output.2023")
    assert "境外分支机构4个" in target_rows(a, "plan.targets")["opening"]["baseline"]
    assert num(a, "opening.overseas_branches") == 4


def test_chongqing_stage_targets_rise_year_by_year(demos):
    """优质中小企业数量逐年增加; the other stage values move towards the 2026 target at the stated pace."""
    a = demos[CQ]
    table = target_rows(a, "plan.targets")
    cols = ("baseline", "target_2024", "target_2025", "target")
    for key, rising in (("quality_smes", True), ("main_more", True), ("rd_spending", True), ("patents", True),
                        ("industrial_internet", True), ("digital_more", True), ("innovation_more", True),
                        ("co2", False), ("energy", False)):
        series = [number_in_text(table[key][c]) for c in cols]
        steps = list(zip(series, series[1:]))
        assert all(y > x for x, y in steps) if rising else all(y < x for x, y in steps), (key, series)
    growth = number_in_text(table["output_growth"]["target"]) / 100
    totals = [number_in_text(table["main_more"][c]) for c in cols]
    assert [round(totals[0] * (1 + growth) ** n, 2) for n in (1, 2, 3)] == totals[1:]
    patents = [number_in_text(table["patents"][c]) for c in cols]
    assert all(patents[n] >= patents[0] * Decimal("1.1") ** n for n in (1, 2, 3))  # 年均增长不低于10%


def test_chongqing_rd_growth_follows_from_output_and_intensity(demos):
    """研发经费 = 总产值 × 中小企业产值占比 × 研发投入强度: the growth rates the table states follow from it."""
    a = demos[CQ]
    for year in (2022, 2023):
        growth = (rd_amount(year)(a) / rd_amount(year - 1)(a) - 1) * 100
        assert growth.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) == num(a, f"innovation.rd_growth.{year}")


def test_shanghai_actuals_are_the_report_values(demos):
    a = demos[SH]
    actual = {k: number_in_text(r.get("actual")) for k, r in target_rows(a, "work.targets").items()}
    assert actual["quality_smes"] == quality_smes(a)
    assert actual["main_more"] == num(a, "industry.leading_share.2023")
    assert actual["rd_spending"] == round(num(a, "innovation.rd_total.2023") / 10000, 2)
    assert actual["innovation_more"] == matrix_sum(a, "innovation.standards", ALL_ROWS, ("lead",))
    assert actual["digital_more"] == num(a, "digital.cloud_rate.2023")
    assert actual["energy"] == num(a, "green.energy_reduction.2023")
    assert actual["green_more"] == num(a, "green.water_reuse_rate.2023")
    # 二、2023 年发展成效 says every indicator was reached: the program agrees
    results = achievement(a.form, a)
    assert results and all(r.status in ("达成", "定性") for r in results), [str(r) for r in results]


# -- the district's summary table lists the demo cluster as its application says ---------------------------


def test_summary_lists_the_application_cluster(demos):
    app, summary = demos[CQ], demos[SUMMARY]
    assert summary.value("summary.authority") == app.value("cover.authority")
    assert summary.value("summary.contact").startswith(app.value("basic.authority_contact"))
    clusters = rows(summary, "summary.clusters")
    assert {r["district"] for r in clusters} == {app.value("cover.district")}
    row = next(r for r in clusters if r["cluster_name"] == app.value("cover.cluster_name"))
    assert row["operator"] == app.value("cover.operator")
    intro = row["intro"]
    for pattern, key in ((r"总产值(\d+\.\d+)亿元", "industry.total_output.2023"),
                         (r"集聚企业(\d+)家", "industry.enterprises.2023"),
                         (r"其中中小企业(\d+)家", "industry.smes.2023"),
                         (r"单项冠军企业(\d+)家", "industry.champions.2023"),
                         (r"“小巨人”企业(\d+)家", "industry.little_giants.2023"),
                         (r"市级专精特新中小企业(\d+)家", "industry.srdi_municipal.2023"),
                         (r"有效发明专利(\d+)件", "innovation.patents")):
        m = re.search(pattern, intro)
        assert m and Decimal(m.group(1)) == num(app, key), pattern
    for r in clusters:  # every cluster's own figures hold together
        m = re.search(r"集聚企业(\d+)家，其中中小企业(\d+)家", r["intro"])
        assert m and int(m.group(2)) <= int(m.group(1)), r["cluster_name"]
        assert r["cluster_name"].startswith("重庆市中小企业特色产业集群（永川")

"""The print is the official table.

For each of the four forms the print (Word) is read back and its tables are checked against the
official ones, row by row and cell by cell, as the seed texts show them (渝经信中小〔2024〕7号 附件2
and 附件3, 沪经信企〔2024〕190号 附件1 and 附件2, in ../shared/seeds): which cell is a label and which a
value, which label cell is merged over several rows (``^`` below), where the years sit (as columns
under 年度, or as rows), and what each official cell prints. The expectations below were written
down from the seed text, not from the program's output.

The blank form shows the official text alone, so its tables are compared in full; the filled print
must have the same rows and cells, with the answers in the value cells and nothing the official
cells do not print (no formulas, no list references, no units the row lacks, no XX).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import docx
import pytest
import yaml
from docx.oxml.ns import qn

from cd_support import DEMO

from clusterdesk.export.word.render import render_blank, render_docx
from clusterdesk.model.form import FormDef, default_catalog, load_form
from clusterdesk.model.plan import FILL, TICKED, UNTICKED, compile_plan
from clusterdesk.model.rules import Answers
from cd_support import FORMS

FORM_IDS = ["cq-2024-application", "cq-2024-summary", "sh-2023-annual-report", "sh-2023-district-summary"]
_WS = re.compile(r"[\s\u3000\u200b]+")


# -- reading a print back ---------------------------------------------------------------------------


def squash(text: str) -> str:
    return _WS.sub("", text)


def cell_text(tc) -> str:
    """A cell as compared: ``^`` for the cells under a merged label, else its text without spaces."""
    tcPr = tc.tcPr
    vm = tcPr.find(qn("w:vMerge")) if tcPr is not None else None
    if vm is not None and vm.get(qn("w:val")) in (None, "continue"):
        return "^"
    # only the cell's own paragraphs (a nested table is read on its own)
    return squash("".join(t.text or "" for p in tc.findall(qn("w:p")) for t in p.iter(qn("w:t"))))


def rows_of(tbl) -> list[list[str]]:
    return [[cell_text(tc) for tc in tr.findall(qn("w:tc"))] for tr in tbl.findall(qn("w:tr"))]


def para_text(p) -> str:
    return "".join(t.text or "" for t in p.iter(qn("w:t")))


def section_tables(document, form: FormDef) -> dict[str, list]:
    """The top-level tables printed under each section's title, by title."""
    titles = {s.title for s in form.sections}
    out: dict[str, list] = {}
    current = None
    for child in document.element.body:
        if child.tag == qn("w:p"):
            text = para_text(child).strip()
            if text in titles:
                current = text
                out.setdefault(current, [])
            elif text.startswith("附："):
                current = None
        elif child.tag == qn("w:tbl") and current is not None:
            out[current].append(child)
    return out


def section_rows(document, form: FormDef, title: str) -> list[list[str]]:
    """The rows of a section's table, its parts (the rows under the 年度 header, the rest) one after
    the other."""
    return [r for tbl in section_tables(document, form)[title] for r in rows_of(tbl)]


def spans(tbl) -> list[list[int]]:
    out = []
    for tr in tbl.findall(qn("w:tr")):
        row = []
        for tc in tr.findall(qn("w:tc")):
            gs = tc.tcPr.find(qn("w:gridSpan")) if tc.tcPr is not None else None
            row.append(int(gs.get(qn("w:val"))) if gs is not None else 1)
        out.append(row)
    return out


def doc_text(document) -> str:
    return "\n".join(para_text(p) for p in document.element.body.iter(qn("w:p")))


def demo_answers(form: FormDef) -> Answers:
    from clusterdesk.templates import read_filled

    filled = read_filled(DEMO / f"{form.id}.json")
    return Answers(filled.form, filled.answers, filled.notes, [(k, o) for k, o, _ in filled.evidence])


@pytest.fixture(scope="module")
def prints():
    """Every form's print with its demo answers, and its blank form."""
    out = {}
    for fid in FORM_IDS:
        form = default_catalog().get(fid)
        answers = demo_answers(form)
        out[fid] = {"form": form, "answers": answers, "filled": render_docx(form, answers),
                    "blank": render_blank(form)}
    return out


# -- the official tables, written down from the seeds ------------------------------------------------

NOTE = "（注：勾选需提供佐证材料）"


def boxes(*options: str, prefix: str = "", note: str = NOTE) -> str:
    return prefix + "".join(UNTICKED + o for o in options) + note


YES_NO = boxes("是", "否", note="")
XX = lambda text: text.replace("XX", FILL)  # noqa: E731  (the blank form prints a line to write on for XX)

CQ_TABLES = {
    "一、基本情况": [
        [XX("集群名称：[重庆市中小企业特色产业集群（XX产业）]"), ""],
        ["区（县）中小企业主管部门", ""],
        ["联系人", "", "联系方式", ""],
        ["集群运营管理机构", ""],
        ["联系人", "", "联系方式", ""],
        ["集群占地面积（平方公里）", ""],
        ["主导产业所属产业类型", boxes("第一产业", "第二产业", "第三产业", note="")],
        ["集群主导产业不属于国家规定的禁止、限制和淘汰类产业", YES_NO],
        ["近三年未发生较大及以上安全、质量、环境污染等事故，重大及以上网络安全事件和数据安全事件", YES_NO],
        ["不存在偷税漏税、违法违规、严重失信和其他重大问题的行为", YES_NO],
        ["属于高耗能行业的集群，能效水平高于行业基准值", boxes("是", "否", "非高耗能行业，不适用", note="")],
        ["属于高用水行业的集群，水效水平高于行业基准值", boxes("是", "否", "非高用水行业，不适用", note="")],
    ],
    "二、主导产业情况": [
        ["年度", "2021年", "2022年", "2023年"],
        ["集群总产值（亿元）", "", "", ""],
        ["集群内中小企业产值占集群总产值比例（%）", "", "", ""],
        ["集群主导产业产值占集群总产值比例（%）", "", "", ""],
        ["集群主导产业产值增速（%）", "", "", ""],
        ["近三年主导产业产值年均增速（%）", ""],
        ["集群企业数量", "", "", ""],
        ["其中：集群中小企业数量", "", "", ""],
        ["主导产业相关的市级专精特新中小企业数量", "", "", ""],
        ["主导产业相关的国家级专精特新“小巨人”企业数量", "", "", ""],
        ["主导产业相关的国家级制造业单项冠军企业数量", "", "", ""],
        ["主导产业相关的国家级高新技术企业数量", "", "", ""],
        ["主导产业相关的创新型中小企业数量", "", "", ""],
        ["近三年集群外商直接投资额累计增长率（%）", "", "", ""],
        ["近三年集群主导产品出口贸易额累计增长率（%）", "", "", ""],
        ["集群产业链强链补链情况（200字以内）", ""],
        ["集群已开展的产业链强链补链工作", boxes(
            "绘制产业链图谱，开展产业链培育",
            "形成产业链技术难点清单或创新项目库，建立“揭榜挂帅”、“赛马”或众创众包等激励机制",
            "联合集群上下游企业，组建创新联合体，开展产业链联合攻关",
            "引入高等院校、科研院所，开展产业链关键环节产学研协同创新",
            "建有产业链上下游产供销一体化协同协作机制",
            "与产业链“链主”企业建立稳定合作配套关系",
            "与先进制造业集群、国家新型工业化产业示范基地建立稳定合作配套关系",
            "开展供应链风险评估工作，建立供应链风险防范机制")],
        ["集群内产业链资源协同协作情况（200字以内）", ""],
        ["集群已开展的产业链资源协同协作工作", boxes(
            "开展通用生产设备共享", "开展物流、仓储、设计等服务资源共享", "开展人力资源共享",
            "开展同类设备和产品的集中采销", "建立共享车间、共享工厂")],
        ["集群质量品牌建设情况（200字以内）", ""],
        ["集群已开展的质量品牌建设工作", boxes(
            "开展了先进质量管理模式推广", "开展了质量诊断服务", "建立了品牌运营、品牌管理标准宣贯等机制",
            "获得了集体商标、地理标志产品批准认证或证明商标通过注册")],
    ],
    "三、创新能力情况": [
        ["年度", "2021年", "2022年", "2023年"],
        ["集群中小企业近三年研发投入强度（%）", "", "", ""],
        ["集群近三年研发经费增速（%）", "", "", ""],
        ["集群中小企业近三年主持（起草单位排名前三位）或参与制修订标准数量情况（需提供清单）",
         *["类别", "主持数量", "参与数量"] * 3],
        ["^", *["国际", "", ""] * 3],
        ["^", *["国家", "", ""] * 3],
        ["^", *["行业", "", ""] * 3],
        ["^", *["团体", "", ""] * 3],
        ["创新平台建设情况", "国家制造业创新中心或国家级创新平台名称及数量", "数量：个名称："],
        ["^", "省级制造业创新中心或省级创新平台名称及数量", "数量：个名称："],
        ["^", "其他平台名称及数量", "数量：个名称："],
        ["集群内中小企业从业人员数量", ""],
        ["集群内研发人员占从业人员比例（%）", ""],
        ["集群中小企业PCT国际专利申请量", ""],
        ["集群中小企业近三年有效发明专利年均增速（%）", ""],
        ["集群中小企业从业人员每万人有效发明专利拥有量", ""],
        ["集群内中小企业有效发明专利拥有量（包括发明专利、国防专利、植物新品种、国家级农作物品种、国家新药、"
         "国家一级中药保护品种、集成电路布图设计专有权等）", "个（需提供清单）"],
    ],
    "四、数字化升级情况": [
        ["企业上云比例（%）", ""],
        ["集群工业互联网平台应用普及率（%）", ""],
        ["工业软件应用率稳步提升", YES_NO],
        ["工业软件采购金额（万元）", "2021年", "2022年", "2023年"],  # the years as the row's own header
        ["^", "", "", ""],
        ["数字化服务总体情况（200字以内）", ""],
        ["集群已开展的数字化服务工作", boxes(
            "引入了数字化系统解决方案服务商", "开展了数字化共性解决方案开发和诊断等服务", "开展了两化融合管理体系推广工作",
            "开展了智能制造能力成熟度评估或数据管理能力成熟度评估等推广工作")],
        ["数字化新模式新业态推广情况", "智能制造、工业互联网以及其它新模式新业态试点示范建设或应用情况（200字以内）", ""],
        ["^", boxes("建有国家智能制造、工业互联网以及其它国家新模式新业态试点示范项目",
                    "建有省级智能制造、工业互联网以及其它国家新模式新业态试点示范项目",
                    "开展了智能制造、工业互联网等新模式新业态创新应用推广",
                    prefix="集群已开展的数字化新模式新业态推广工作：")],
    ],
    "五、绿色化转型情况": [
        ["建立了集群碳排放监测机制", boxes("是", "否", note="（如涉及，需提供佐证材料）")],
        ["近三年单位产值二氧化碳排放量（吨二氧化碳/万元）", "2021年", ""],  # the years as rows
        ["^", "2022年", ""],
        ["^", "2023年", ""],
        ["^", "（注：单位产值二氧化碳排放量需提供计算公式）"],
        ["近三年单位工业产值能耗降低率（%）", ""],
        ["大宗工业固废综合利用率（%）", ""],
        ["是否高于行业平均水平", boxes("是", "否", "非工业集群，不适用", note="")],
        ["工业用水重复利用率（%）", ""],
        ["是否高于行业平均水平", boxes("是", "否", "非工业集群，不适用", note="")],
        ["集群绿色低碳相关工作情况（200字以内）", ""],
        ["集群已开展的绿色低碳相关工作", boxes(
            "开展了节能诊断，建立节能管控系统、余热余压回收设施等", "开展了碳排放和碳足迹监测与核算等",
            "建立了水资源梯级循环利用、工业废弃物分类分级利用设施等", "开展了清洁生产评价等工作",
            "开展了绿色制造系统解决方案推广")],
        ["绿色低碳公共服务总体情况（200字以内）", ""],
        ["集群已具备绿色低碳公共服务能力", boxes(
            "绿色制造系统解决方案", "节能诊断与服务", "清洁生产水平评价", "节能系统建设运营", "碳排放、碳足迹核算")],
    ],
    "六、开放合作情况": [
        ["集群国际合作交流总体情况（200字以内）", ""],
        ["集群已开展的国际合作交流活动", boxes(
            "建立或参与主导产业国际合作机制", "与境外产业园区形成较为稳定的合作关系",
            "引进了国际领先技术、先进管理经验或高端人才团队等", "参加中国国际中小企业博览会等展会类活动",
            "承办主导产业国际研讨会或技术交流会")],
        ["集群或集群内企业在境外设立分支机构数量", "个（需提供相关佐证材料）"],
    ],
    "七、治理和服务水平": [
        ["集群发展环境情况（200字以内）", ""],
        ["集群已开展的发展环境治理工作", boxes(
            "建立了专业化发展促进机构、开展共商共建共享", "建立中小企业政策宣贯与对接机制", "建立了中小企业合法权益保护机制",
            "建立了公共服务效果考核机制", "建立安全生产源头管控和隐患排查机制", "运用了数字化手段提升治理能力")],
        ["中小企业公共服务平台建设情况", boxes(
            "建设或引入国家中小企业公共服务示范平台", "建设或引入省级中小企业公共服务示范平台", "建立了中小企业公共服务平台",
            prefix="集群已建设的中小企业公共服务平台：")],
        ["集群提供中小企业公共服务情况", boxes(
            "信息服务", "创业辅导", "创新支持", "人员培训", "市场营销", "投融资服务", "管理咨询",
            prefix="集群已提供的中小企业公共服务：")],
    ],
    "九、真实性声明": [
        ["真实性声明", "本单位承诺此次申报重庆市中小企业特色产业集群的申请材料(包括附件资料)真实、合法。如有不实之处，"
                   "本单位愿意负相应法律责任，并承担由此产生的一切后果。单位负责人（签字）：区（县）中小企业主管部门（公章）："
                   "年月日"],
    ],
}

CQ_TARGETS = [
    ["方向", "指标", "2023年基准值", "2026年目标值"],
    ["主导产业", "集群产值年均增速", "", ""],
    ["^", "优质中小企业数量", "", ""],
    ["^", "......", "", ""],
    ["创新", "研发经费投入", "", ""],
    ["^", "有效发明专利数量", "", ""],
    ["^", "......", "", ""],
    ["数字化", "工业互联网普及率", "", ""],
    ["^", "......", "", ""],
    ["绿色化", "二氧化碳排放量", "", ""],
    ["^", "单位工业产值能耗", "", ""],
    ["^", "......", "", ""],
    ["开放合作", "定性描述", "", ""],
    ["治理和服务", "定性描述", "", ""],
    ["其它", "......", "", ""],
]

SH_YES_NO = YES_NO
SH_TABLES = {
    "一、基本情况": [
        ["集群运营管理机构", ""],
        ["集群运营管理机构是否发生变更", SH_YES_NO],
        ["集群占地面积（平方公里）", ""],
        ["集群主导产业", ""],
        ["主导产业是否发生变更", SH_YES_NO],
        ["近一年未发生较大及以上安全、质量、环境污染等事故，重大及以上网络安全事件和数据安全事件", SH_YES_NO],
        ["近一年不存在偷税漏税、违法违规、严重失信和其他重大问题的行为", SH_YES_NO],
    ],
    "二、主导产业情况": [
        ["年度", "2023年"],
        ["集群总产值（亿元）", ""],
        ["集群内中小企业产值占集群总产值比例（%）", ""],
        ["集群主导产业产值占集群总产值比例（%）", ""],
        ["集群主导产业产值增速（%）", ""],
        ["集群企业数量（个）", ""],
        ["其中：集群中小企业数量", ""],
        ["主导产业相关的市级专精特新中小企业数量", "（注：需附名单）"],
        ["主导产业相关的国家级专精特新“小巨人”企业数量", "（注：需附名单）"],
        ["主导产业相关的国家级制造业单项冠军企业数量", "（注：需附名单）"],
        ["主导产业相关的国家级高新技术企业数量", ""],
        ["主导产业相关的创新型中小企业数量", ""],
    ],
    "三、创新能力情况": [
        ["年度", "2023年"],
        ["集群中小企业研发经费总额（万元）", ""],
        ["集群中小企业研发投入强度（%）", ""],
        ["集群研发经费增速（%）", ""],
        ["集群中小企业近三年主持（起草单位排名前三位）或参与制修订标准数量情况（注：需附标准清单）", "类别", "主持数量",
         "参与数量"],
        ["^", "国际", "", ""],
        ["^", "国家", "", ""],
        ["^", "行业", "", ""],
        ["^", "团体", "", ""],
        ["创新平台建设情况", "国家制造业创新中心或国家级创新平台数量及名称", "数量：个名称："],
        ["^", "市级制造业创新中心或市级创新平台数量及名称", "数量：个名称："],
        ["^", "其他平台数量及名称", "数量：个名称："],
        ["集群内中小企业从业人员数量", ""],
        ["集群内研发人员占从业人员比例（%）", ""],
        ["集群有效发明专利年均增速（%）", ""],
        ["集群每万人有效发明专利拥有量", ""],
        ["集群内中小企业有效发明专利拥有量（包括发明专利、国防专利、植物新品种、国家级农作物品种、国家新药、"
         "国家一级中药保护品种、集成电路布图设计专有权等）", "个（注：需附清单）"],
    ],
    "四、数字化升级情况": [
        ["年度", "2023年"],
        ["企业上云比例(%)", "(注:需提供计算佐证材料)"],
        ["集群中小企业工业互联网平台应用普及率(%)", "(注:需提供计算佐证材料)"],
        ["工业软件应用率稳步提升", SH_YES_NO],
        ["工业软件采购金额(万元)", ""],
    ],
    "五、绿色化转型情况": [
        ["年度", "2023年"],
        ["单位产值二氧化碳排放量(吨二氧化碳/万元)", "(注:需提供计算佐证材料)"],
        ["单位工业产值能耗降低率(%)", ""],
        ["大宗工业固废综合利用率(%)", ""],
        ["是否高于行业平均水平", boxes("是", "否", "非工业集群,不适用", note="")],
        ["工业用水重复利用率(%)", ""],
        ["是否高于行业平均水平", boxes("是", "否", "非工业集群,不适用", note="")],
    ],
    "六、开放合作情况": [
        ["年度", "2023年"],
        ["集群或集群内企业在境外设立分支机构数量", "个(注:需附分支机构名单)"],
        ["集群主导产品出口贸易额增长率(%)", ""],
        ["集群外商直接投资额增长率(%)", ""],
    ],
    "七、2023 年集群工作": [
        ["方向", "指标", "2023年目标值", "2023年完成值"],
        ["主导产业", "集群产值年均增速", "", ""],
        ["^", "优质中小企业数量", "", ""],
        ["^", "", "", ""],
        ["创新", "研发经费投入", "", ""],
        ["^", "有效发明专利数量", "", ""],
        ["^", "", "", ""],
        ["数字化", "工业互联网普及率", "", ""],
        ["^", "", "", ""],
        ["绿色化", "二氧化碳排放量", "", ""],
        ["^", "单位工业产值能耗", "", ""],
        ["^", "", "", ""],
        ["开放合作", "定性描述", "", ""],
        ["治理和服务", "定性描述", "", ""],
        ["其它", "", "", ""],
    ],
    "八、真实性声明及考核意见": [
        ["真实性声明", "本单位承诺此次填报中小企业特色产业集群的申请材料真实、合法。如有不实之处，本单位愿意负相应责任，"
                   "并承担由此产生的一切后果。集群运营主体单位负责人（签字）：区中小企业主管部门（公章）：年月日"],
    ],
}

SUMMARY_TABLE = [
    ["序号", "集群名称", "集群运营管理机构", "所在区（县）", "主导产业", "集群成立时间", "集群简介（150字以内）"],
    ["1", "", "", "", "", "", ""],
    ["2", "", "", "", "", "", ""],
    ["3", "", "", "", "", "", ""],
]


def _squashed(rows: list[list[str]]) -> list[list[str]]:
    return [[squash(c) for c in r] for r in rows]


# -- the blank form: the official tables in full --------------------------------------------------------


@pytest.mark.parametrize(("form_id", "tables"), [("cq-2024-application", CQ_TABLES), ("sh-2023-annual-report", SH_TABLES)])
def test_blank_tables_are_the_official_tables(prints, form_id, tables):
    p = prints[form_id]
    d, form = p["blank"], p["form"]
    for title, expected in tables.items():
        assert section_rows(d, form, title) == _squashed(expected), title
    # every table part of 一 … 七 (一 … 六) is there, nothing else
    printed = {t for t, tbls in section_tables(d, form).items() if tbls}
    assert printed == set(tables) | ({"八、未来三年中小企业特色产业集群发展规划"} if form_id.startswith("cq") else set())


def test_cq_plan_is_one_framed_cell_holding_the_outline_and_the_targets(prints):
    p = prints["cq-2024-application"]
    for kind in ("blank", "filled"):
        d, form = p[kind], p["form"]
        tables = section_tables(d, form)["八、未来三年中小企业特色产业集群发展规划"]
        assert len(tables) == 1, kind
        frame = tables[0]
        trs = frame.findall(qn("w:tr"))
        assert len(trs) == 1 and len(trs[0].findall(qn("w:tc"))) == 1, "八 is one cell"
        assert trs[0].trPr.find(qn("w:cantSplit")) is None, "the cell runs over pages"
        tc = trs[0].findall(qn("w:tc"))[0]
        paras = [squash(para_text(x)) for x in tc.findall(qn("w:p"))]
        assert paras[0] == "（3000字以内）" and paras[1] == "一、集群基本情况简介"
        nested = tc.findall(qn("w:tbl"))
        assert len(nested) == 1, "the targets table sits inside the frame"
        rows = rows_of(nested[0])
        if kind == "blank":  # the "......" rows and 其它 …… as the form prints them
            assert rows == _squashed(CQ_TARGETS)
        else:  # an unused "......" row may go; 其它 stays, with 无
            assert rows[0] == CQ_TARGETS[0] and rows[-1] == ["其它", "无", "无", "无"]
            assert "......" not in [r[1] for r in rows]


def test_cq_summary_is_the_official_list(prints):
    p = prints["cq-2024-summary"]
    d, form = p["blank"], p["form"]
    tables = d.element.body.findall(qn("w:tbl"))
    assert len(tables) == 1 and rows_of(tables[0]) == SUMMARY_TABLE
    assert d.sections[0].page_width > d.sections[0].page_height  # A4 landscape: 250 mm of columns
    lines = [squash(para_text(x)) for x in d.element.body.findall(qn("w:p")) if para_text(x).strip()]
    assert lines[:4] == ["附件3", "2024年度重庆市中小企业特色产业集群申报汇总表", "区（县）中小企业主管部门：（盖章）",
                         "联系人及手机："]
    filled = prints["cq-2024-summary"]["filled"]
    rows = rows_of(filled.element.body.findall(qn("w:tbl"))[0])
    clusters = p["answers"].value("summary.clusters")
    assert rows[0] == SUMMARY_TABLE[0] and len(rows) == 1 + len(clusters)
    assert [r[0] for r in rows[1:]] == [str(i) for i in range(1, len(clusters) + 1)]
    assert rows[1][1] == squash(clusters[0]["cluster_name"])


def test_district_summary_is_the_outline_with_its_signature(prints):
    p = prints["sh-2023-district-summary"]
    form, answers = p["form"], p["answers"]
    for kind in ("blank", "filled"):
        d = p[kind]
        assert d.element.body.findall(qn("w:tbl")) == [], "the outline has no table"
        lines = [para_text(x).strip() for x in d.element.body.findall(qn("w:p")) if para_text(x).strip()]
        district = answers.value("summary.district")
        title = f"{district}促进中小企业特色产业集群发展总结" if kind == "filled" else f"{FILL}促进中小企业特色产业集群发展总结"
        assert lines[:3] == ["附件2", title, "一、总体情况"]
        heads = ["一、总体情况", "二、推进措施", "三、典型案例", "四、存在问题", "五、2024 年工作计划", "六、工作建议"]
        assert [x for x in lines if x in heads] == heads
        if kind == "filled":  # 落款: the authority's name above the seal room, the date without zero padding
            assert lines[-2:] == [answers.value("summary.authority"), "2024年4月8日"]
        else:
            assert lines[-2:] == ["区级中小企业主管部门落款（公章）", f"2024 年 4 月 {FILL} 日"]


# -- the filled print: the same rows and cells, the answers in them ---------------------------------------


def _shape(rows: list[list[str]]) -> list[tuple[int, str]]:
    """Cells per row and the label cell (the blank form's fill-in hint under a label aside)."""
    return [(len(r), r[0].split("[")[0]) for r in rows]


@pytest.mark.parametrize(("form_id", "tables"), [("cq-2024-application", CQ_TABLES), ("sh-2023-annual-report", SH_TABLES)])
def test_filled_tables_have_the_official_rows_and_cells(prints, form_id, tables):
    p = prints[form_id]
    form = p["form"]
    for title, expected in tables.items():
        if "集群工作" in title:
            continue  # the targets table: unused rows may go (checked below)
        got = section_rows(p["filled"], form, title)
        assert _shape(got) == _shape(_squashed(expected)), title


def test_filled_cells_show_what_the_official_cells_show(prints):
    p = prints["cq-2024-application"]
    d, form, a = p["filled"], p["form"], p["answers"]
    basic = section_rows(d, form, "一、基本情况")
    assert basic[2] == ["联系人", a.value("basic.authority_contact"), "联系方式", a.value("basic.authority_phone")]
    assert basic[4] == ["联系人", a.value("basic.operator_contact"), "联系方式", a.value("basic.operator_phone")]
    green = section_rows(d, form, "五、绿色化转型情况")
    for i, y in enumerate((2021, 2022, 2023), start=1):
        assert green[i][1:] == [f"{y}年", a.value(f"green.co2_per_output.{y}")]
    assert green[4] == ["^", squash("（注：单位产值二氧化碳排放量需提供计算公式）" + a.value("green.co2_formula"))]
    innovation = section_rows(d, form, "三、创新能力情况")
    assert innovation[-1][1] == f"{a.value('innovation.patents')}个（需提供清单）"  # as the official cell: "486 个"
    employees = next(r for r in innovation if r[0] == "集群内中小企业从业人员数量")
    assert employees[1] == str(a.value("innovation.employees"))  # the row has no unit: none printed
    text = doc_text(d)
    # (the one formula the form asks for is the CO₂ one, by its own note, in its own cell)
    for app_text in ("计算公式：", "水平法", "见附件清单", "（说明：", "☑", "☐", "XX"):
        assert app_text not in text, app_text
    # the lists follow the form as 附: …, after 九
    assert text.index("九、真实性声明") < text.index("附：有效发明专利清单")
    # boxes: ■ ticked, □ not
    services = next(r for r in section_rows(d, form, "七、治理和服务水平") if r[0] == "集群提供中小企业公共服务情况")
    for opt in form.field("governance.services")[1].options:
        mark = TICKED if opt in a.value("governance.services") else UNTICKED
        assert mark + opt in services[1]


def test_shanghai_cells_and_the_analysis_beside_the_report(prints):
    p = prints["sh-2023-annual-report"]
    d, form, a = p["filled"], p["form"], p["answers"]
    innovation = section_rows(d, form, "三、创新能力情况")
    assert innovation[-1][1] == f"{a.value('innovation.patents.2023')}个（注：需附清单）"
    srdi = next(r for r in section_rows(d, form, "二、主导产业情况") if r[0] == "主导产业相关的市级专精特新中小企业数量")
    assert srdi[1] == f"{a.value('industry.srdi_municipal.2023')}（注：需附名单）"
    text = doc_text(d)
    assert "目标完成情况" not in text and "（计算）" not in text and "■■" not in text
    # a change note prints inside the official cell, only when 是 is ticked
    from clusterdesk.model.rules import Answers as A

    changed = A(form, {**a.raw, "basic.operator_changed": "是", "basic.operator_change_note": "2023年更换为园区公司"})
    basic = section_rows(render_docx(form, changed), form, "一、基本情况")
    assert basic[1] == ["集群运营管理机构是否发生变更",
                        squash(f"{UNTICKED}是{UNTICKED}否").replace(f"{UNTICKED}是", f"{TICKED}是")
                        + "变更情况说明：2023年更换为园区公司"]
    assert len(basic) == len(SH_TABLES["一、基本情况"])


# -- the same print, whatever the sections are called ----------------------------------------------------


def _renamed_copy(form_id: str, tmp: Path) -> tuple[Path, dict[str, str]]:
    """A copy of a definition with every section id renamed (and every reference to it) and the
    cover's title changed."""
    data = yaml.safe_load((FORMS / f"{form_id}.yaml").read_text(encoding="utf-8"))
    names = {s["id"]: f"part{i}_{s['id'][::-1]}" for i, s in enumerate(data["sections"])}
    pattern = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, names)) + r")\.(?=[a-z])")

    def walk(node):
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, str):
            return pattern.sub(lambda m: names[m.group(1)] + ".", node)
        return node

    data = walk(data)
    for s in data["sections"]:
        s["id"] = names[s["id"]]
        if s.get("layout") == "cover":
            s["title"] = "第一页（首页）"
    path = tmp / f"{form_id}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path, names


def _document_xml(document) -> str:
    return document.element.xml


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_renamed_sections_print_identically(prints, tmp_path, form_id):
    path, names = _renamed_copy(form_id, tmp_path)
    renamed = load_form(path)
    assert {s.id for s in renamed.sections}.isdisjoint(names)
    p = prints[form_id]
    a = p["answers"]

    def key(k: str) -> str:
        sid, rest = k.split(".", 1)
        return f"{names[sid]}.{rest}"

    answers = Answers(renamed, {key(k): v for k, v in a.raw.items()}, {key(k): v for k, v in a.notes.items()},
                      [(key(k), o) for (k, o) in a.evidence])
    assert _document_xml(render_docx(renamed, answers)) == _document_xml(p["filled"])
    assert _document_xml(render_blank(renamed)) == _document_xml(p["blank"])


# -- what no print may hold ----------------------------------------------------------------------------


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_no_xx_and_no_watermark_in_any_print(prints, form_id):
    for kind in ("filled", "blank"):
        d = prints[form_id][kind]
        assert "XX" not in doc_text(d), (form_id, kind)
        headers = "".join(h._element.xml for s in d.sections for h in (s.header, s.even_page_header, s.first_page_header))
        assert "草稿" not in headers


def test_blank_form_has_room_to_write(prints):
    d, form = prints["cq-2024-application"]["blank"], prints["cq-2024-application"]["form"]
    text = doc_text(d)
    demo = json.loads((DEMO / "cq-2024-application.json").read_text(encoding="utf-8"))["answers"]
    for k in ("cover.district", "basic.authority_contact", "industry.chain_status"):
        assert demo[k] not in text  # no answer pre-printed
    assert "名称：无" not in squash(text)
    tbl = section_tables(d, form)["二、主导产业情况"]
    narrative = next(tc for t in tbl for tr in t.findall(qn("w:tr")) for tc in tr.findall(qn("w:tc"))
                     if cell_text(tc) == "" and len(tc.findall(qn("w:p"))) >= 8)
    assert narrative is not None  # a 200字 cell: lines to write on
    # 八: pages to write 3000 characters on
    plan = compile_plan(form, blank=True)
    frame = next(b for part in plan.parts if part.section and part.section.frame for b in part.blocks
                 if type(b).__name__ == "Frame")
    lines = sum(getattr(b, "space", 0) for b in frame.blocks)
    assert lines * 7.0 >= 3 * 225, "at least three pages of lines for 3000 characters"


def test_pair_rows_split_the_value_area(prints):
    d, form = prints["cq-2024-application"]["filled"], prints["cq-2024-application"]["form"]
    tbl = section_tables(d, form)["一、基本情况"][0]
    grid = len(tbl.find(qn("w:tblGrid")).findall(qn("w:gridCol")))
    rows = spans(tbl)
    assert all(sum(r) == grid for r in rows)
    assert rows[2][0] == 1 and len(rows[2]) == 4 and rows[1] == [1, grid - 1]


def test_editable_version_carries_the_formulas_as_comments(tmp_path):
    import zipfile

    from clusterdesk.export.api import export_answers

    form = default_catalog().get("cq-2024-application")
    r = export_answers(form, demo_answers(form), (), "", tmp_path, pdf=False)
    printed, editable = r.files[0], r.files[1]
    with zipfile.ZipFile(editable) as z:
        comments = z.read("word/comments.xml").decode("utf-8")
    assert "计算公式：" in comments and "水平法" in comments
    with zipfile.ZipFile(printed) as z:
        assert "word/comments.xml" not in z.namelist()
        assert "计算公式：" not in z.read("word/document.xml").decode("utf-8")


# -- clusterdesk blank ------------------------------------------------------------------------------------


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_cli_blank_for_every_form(tmp_path, form_id):
    out = tmp_path / "空白表"
    p = subprocess.run([sys.executable, "-m", "clusterdesk", "blank", form_id, "--out", str(out), "--no-pdf"],
                       capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert p.returncode == 0, p.stderr
    files = [Path(x) for x in p.stdout.split("\n") if x.strip()]
    assert len(files) == 1 and files[0].suffix == ".docx" and files[0].parent == out
    form = default_catalog().get(form_id)
    assert files[0].name == f"{form.form.short_title}-空白表.docx"
    assert _document_xml(docx.Document(str(files[0]))) == _document_xml(render_blank(form))


def test_cli_blank_refuses_an_unknown_form(tmp_path):
    p = subprocess.run([sys.executable, "-m", "clusterdesk", "blank", "no-such-form", "--out", str(tmp_path / "x")],
                       capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert p.returncode == 2 and "未知的表单" in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "x").exists()


# -- one name for a field, everywhere ------------------------------------------------------------------


def test_full_names_in_messages_templates_and_lists(tmp_path):
    from openpyxl import load_workbook

    from clusterdesk.model.rules import validate
    from clusterdesk.templates import template_dict, write_template

    form = default_catalog().get("cq-2024-application")
    assert form.full_label("basic.operator_phone") == "集群运营管理机构 · 联系方式"
    assert form.full_label("green.water_reuse_above") == "工业用水重复利用率（%） · 是否高于行业平均水平"
    assert form.full_label("basic.operator") == "集群运营管理机构"
    a = demo_answers(form)
    missing = Answers(form, {k: v for k, v in a.raw.items() if k != "basic.authority_phone"})
    msgs = [str(p) for p in validate(form, missing) if p.key == "basic.authority_phone"]
    assert msgs == ["一、基本情况 · 区（县）中小企业主管部门 · 联系方式：必填栏目不得空缺，无相关情况时应填写“无”"]
    labels = {e["id"]: e["label"] for e in template_dict(form)["fields"]}
    assert labels["basic.authority_contact"] == "区（县）中小企业主管部门 · 联系人"
    xlsx = write_template(form, tmp_path / "模板.xlsx")
    rows = {r[0]: r[2] for r in load_workbook(xlsx)["填报"].iter_rows(min_row=2, values_only=True)}
    assert rows["green.solid_waste_above"] == "大宗工业固废综合利用率（%） · 是否高于行业平均水平"


def test_target_values_keep_two_decimals_with_a_suggestion():
    from clusterdesk.model.rules import validate

    form = default_catalog().get("cq-2024-application")
    a = demo_answers(form)
    rows = [dict(r) for r in a.value("plan.targets")]
    energy = next(r for r in rows if r.get("key") == "energy")
    energy["target"] = "0.255吨标准煤/万元"
    problems = [p for p in validate(form, Answers(form, {**a.raw, "plan.targets": rows})) if p.kind == "input"]
    assert [p.message for p in problems] == [
        "“单位工业产值能耗”的2026年目标值“0.255吨标准煤/万元”：数据有小数时，保留小数点后2位，建议改为“0.26吨标准煤/万元”"]
    assert problems[0].level == "warning"  # the typed text is kept as typed, never changed silently

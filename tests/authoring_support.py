"""Definitions a form author makes from the shipped files, as docs/表单定义指南.md tells them to:
next year's Shanghai report, a synthetic province's application, and a new version of the
Chongqing application with a renamed and a removed field. Every edit is an explicit replacement
that must find its text (a change in the shipped file fails here, loudly)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from cd_support import DEMO, ROOT

FORMS = ROOT / "forms"


def _replace(text: str, old: str, new: str, count: int | None = None) -> str:
    found = text.count(old)
    assert found and (count is None or found == count), f"“{old}” found {found} times"
    return text.replace(old, new)


# -- next year's Shanghai report ---------------------------------------------------------------------


def next_year_shanghai() -> str:
    """sh-2024-annual-report.yaml: the 2023 report's definition moved one year on, following the
    guide's next-year checklist (id, year, other_years, the notice, years:, the text, the formulas,
    data_as_of, the lists' year ranges), with a field renamed with the year (plan_2024 → plan_2025),
    carry_over by meaning and last year's report as a source (previous_year)."""
    t = (FORMS / "sh-2023-annual-report.yaml").read_text(encoding="utf-8")
    t = _replace(t, "id: sh-2023-annual-report", "id: sh-2024-annual-report", 1)
    t = _replace(t, "\nyear: 2023\n", "\nyear: 2024\n", 1)
    t = _replace(t, "other_years: [2024]  # the notice's year (dated and due in 2024) and 五、2024 年工作计划",
                 "other_years: [2025]  # the notice's year (dated and due in 2025) and 五、2025 年工作计划", 1)
    # the (fictional) notice of 2025 asking for the 2024 reports
    t = _replace(t, "  id: sh-2023\n", "  id: sh-2024\n", 1)
    t = _replace(t, "沪经信企〔2024〕190号", "沪经信企〔2025〕58号")
    t = _replace(t, "date: 2024 年 3 月 13 日", "date: 2025 年 3 月 12 日", 1)
    t = _replace(t, 'deadline: "2024-04-10"', 'deadline: "2025-04-10"', 1)
    t = _replace(t, "deadline_text: 4月10日（周三）前", "deadline_text: 4月10日（周四）前", 1)
    # the year columns, the text and the formulas
    t = _replace(t, "years: [2023]", "years: [2024]")
    t = re.sub(r"\.2023\}", ".2024}", t)
    t = _replace(t, "label: 五、2024 年工作计划", "label: 五、2025 年工作计划", 1)
    t = _replace(t, "id: plan_2024,", "id: plan_2025, renamed_from: plan_2024,", 1)
    for old in ("七、2023 年集群工作", "二、2023 年发展成效", "设定的 2023 年年度目标", "2023 年目标完成情况表",
                "2023 年目标值", "2023 年完成值", "三、2023 年已开展的重点工作"):
        t = _replace(t, old, old.replace("2023", "2024"), 1)
    t = re.sub(r"(    (?:output_growth|patents|industrial_internet|co2): .*) 2023年", r"\1 2024年", t)
    t = _replace(t, "date: 2023-12-31", "date: 2024-12-31", 1)
    t = _replace(t, "填报2023年度发展情况", "填报2024年度发展情况")  # data_as_of.basis (and its comment)
    t = _replace(t, "min: 2021, max: 2023", "min: 2022, max: 2024", 1)
    # 复制为下一年度: last year's plan for 2024 is where this year's 已开展的重点工作 starts
    t = _replace(t, "  - work.plan_2024\n", "  - {to: work.key_work, from: work.plan_2024}\n", 1)
    # last year's report is a source of its own: the 主导产业 as the cluster last confirmed it
    t = _replace(t, "  - basic.leading_industry\n", "", 1)  # (instead of carry_over)
    t = _replace(t, "\nprefill:\n", "\nprefill:\n"
                 "  - id: last_year\n"
                 "    source_form: sh-annual-report\n"
                 "    label: 上年度报告\n"
                 "    previous_year: true\n"
                 "    fields:\n"
                 '      - {to: basic.leading_industry, expr: "${basic.leading_industry}"}\n', 1)
    return t


# -- a synthetic province's application ----------------------------------------------------------------

#: 甲省: other section ids, field ids, column ids, titles and notice than Chongqing's.
SECTIONS = {"cover": "fm", "instructions": "sm", "basic": "jb", "industry": "cy", "innovation": "cx",
            "digital": "sz", "green": "ls", "opening": "kf", "governance": "zl", "plan": "gh", "declaration": "sm2"}
TARGET_COLUMNS = {"direction": "fangxiang", "indicator": "zhibiao", "baseline": "jizhun", "target": "mubiao",
                  "target_2024": "jieduan1", "target_2025": "jieduan2"}


def _field_id(old: str) -> str:
    return f"q_{old}"


def _column_id(old: str) -> str:
    return TARGET_COLUMNS.get(old, f"c_{old}")


def synthetic_key(key: str) -> str:
    """A Chongqing cell key under 甲省's ids: ``industry.total_output.2021`` → ``cy.q_total_output.2021``."""
    sec, _, rest = key.partition(".")
    field, dot, tail = rest.partition(".")
    return f"{SECTIONS[sec]}.{_field_id(field)}{dot}{tail}"


_REF = re.compile(r"\b(" + "|".join(SECTIONS) + r")\.([a-z][a-z0-9_]*)")


def _refs(text: str) -> str:
    return _REF.sub(lambda m: f"{SECTIONS[m.group(1)]}.{_field_id(m.group(2))}", text)


def _words(text: str) -> str:
    return text.replace("重庆市经济和信息化委员会", "甲省经济和信息化厅").replace("重庆市", "甲省")


def synthetic_province() -> str:
    """甲省's application (jia-2025-application.yaml), built from the Chongqing definition with every
    section, field and targets column renamed, its own titles and its own notice (two clusters per
    district, another deadline). The YAML is re-written from the loaded data (comments dropped)."""
    import yaml

    data = yaml.safe_load((FORMS / "cq-2024-application.yaml").read_text(encoding="utf-8"))
    data.pop("source")  # 甲省's official text is not in forms/sources
    data.update(id="jia-2025-application", title="甲省中小企业特色产业集群申报表", short_title="集群申报表",
                issuer="甲省经济和信息化厅", cover_title="甲省中小企业特色产业集群申报表",
                maker_line="甲省经济和信息化厅 制", attachment="附件1")
    data["notice"] = {
        "id": "jia-2025", "number": "甲经信中小〔2024〕12号", "title": "关于开展2024年度甲省中小企业特色产业集群申报的通知",
        "issuer": "甲省经济和信息化厅", "date": "2024年4月2日", "deadline": "2024-05-20T17:30",
        "deadline_text": "2024年5月20日17:30前", "paper_copies": 3, "paper_copies_text": "一式3份",
        "submit_to": "甲省经济和信息化厅中小企业处", "electronic": ["盖章扫描件", "可编辑电子版"],
        "max_clusters_per_district": 2, "max_clusters_rule": "每个市（州）推荐不超过2个集群。"}

    def field(f: dict[str, Any]) -> None:
        f["id"] = _field_id(f["id"])
        if "of" in f:
            f["of"] = _field_id(f["of"])
        if "row_name" in f:
            f["row_name"] = _column_id(f["row_name"])
        for c in f.get("columns", []):
            c["id"] = _column_id(c["id"])
        f["fixed_rows"] = [{(c if c in ("key", "unused") else _column_id(c)): x for c, x in r.items()}
                           for r in f.get("fixed_rows", [])] or f.pop("fixed_rows", None)
        if f["fixed_rows"] is None:
            del f["fixed_rows"]

    for sec in data["sections"]:
        sec["id"] = SECTIONS[sec["id"]]
        for it in sec.get("items", []):
            kind = it.get("kind", "field")
            if kind == "group":
                for f in it["items"]:
                    field(f)
            elif kind == "sign" and "field" in it:
                it["field"] = _field_id(it["field"])
            elif kind == "field":
                field(it)
    t = data["targets"]
    t["baseline_column"], t["target_column"] = _column_id(t["baseline_column"]), _column_id(t["target_column"])
    data["data_as_of"]["columns"] = [c.rsplit(".", 1)[0] + "." + _column_id(c.rsplit(".", 1)[1])
                                     for c in data["data_as_of"]["columns"]]

    def strings(node: Any) -> Any:  # references (sec.field) under the new ids, 重庆市 → 甲省
        if isinstance(node, dict):
            return {k: strings(v) for k, v in node.items()}
        if isinstance(node, list):
            return [strings(x) for x in node]
        return _words(_refs(node)) if isinstance(node, str) else node

    return yaml.safe_dump(strings(data), allow_unicode=True, sort_keys=False, width=200)


def synthetic_answers() -> dict[str, Any]:
    """The Chongqing demo, as 甲省's filled template (its keys and its cluster name)."""
    demo = json.loads((DEMO / "cq-2024-application.json").read_text(encoding="utf-8"))
    answers = {}
    for k, v in demo["answers"].items():
        if isinstance(v, list) and v and isinstance(v[0], dict):
            v = [{(_column_id(c) if c != "key" else c): x for c, x in row.items()} for row in v]
        answers[synthetic_key(k)] = _words(v) if isinstance(v, str) else v
    evidence = {synthetic_key(k): {o: [str(DEMO / p) for p in files] for o, files in by.items()}
                for k, by in demo.get("evidence", {}).items()}
    return {"form": "jia-2025-application", "version": 1, "answers": answers, "evidence": evidence,
            "notes": {synthetic_key(k): v for k, v in demo.get("notes", {}).items()}}


def write_synthetic_template(folder: Path) -> Path:
    """The filled template beside copies of the demo's evidence (paths relative to it)."""
    import shutil

    data = synthetic_answers()
    ev_dir = folder / "evidence"
    ev_dir.mkdir(parents=True, exist_ok=True)
    for by in data["evidence"].values():
        for files in by.values():
            for i, p in enumerate(files):
                src = Path(p)
                shutil.copy(src, ev_dir / src.name)
                files[i] = f"evidence/{src.name}"
    out = folder / "甲省申报.json"
    out.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return out


# -- a new version of the Chongqing application ----------------------------------------------------------


def renamed_version() -> str:
    """cq-2024-application version 2: 集群总产值 is now ``gross_output`` (renamed_from total_output),
    the 产业链强链补链 boxes ``chain_tasks`` (renamed_from chain_work, with their evidence), and
    工业软件应用率稳步提升 (digital.software_rising) is gone."""
    t = (FORMS / "cq-2024-application.yaml").read_text(encoding="utf-8")
    t = _replace(t, "\nversion: 1\n", "\nversion: 2\n", 1)
    t = _replace(t, "{id: total_output, type: number,", "{id: gross_output, renamed_from: total_output, type: number,", 1)
    t = _replace(t, "${industry.total_output.", "${industry.gross_output.")
    t = _replace(t, "{field: industry.total_output,", "{field: industry.gross_output,", 1)
    t = _replace(t, "      - id: chain_work\n", "      - id: chain_tasks\n        renamed_from: chain_work\n", 1)
    t = _replace(t, "      - {id: software_rising, type: choice, label: 工业软件应用率稳步提升, options: [是, 否]}\n", "", 1)
    return t


# -- catalogs for tests ------------------------------------------------------------------------------


def catalog_with_next_year(tmp_path: Path):
    """The shipped forms and next year's Shanghai report (whatever else forms/ holds)."""
    import shutil

    from clusterdesk.model.form import Catalog

    forms = tmp_path / "forms"
    shutil.copytree(FORMS, forms)
    (forms / "sh-2024-annual-report.yaml").write_text(next_year_shanghai(), encoding="utf-8")
    return Catalog.load(forms, strict=True)


def catalog_up_to(year: int):
    """The loaded forms without any yearly form of a later year (a test of "no next year's form
    yet" holds however many forms forms/ ships)."""
    from clusterdesk.model.form import Catalog, default_catalog

    return Catalog({f.id: f for f in default_catalog() if not (f.form.family and f.form.year > year)})


def forms_folder_up_to(tmp_path: Path, year: int) -> Path:
    """A copy of forms/ without the yearly forms of a later year (for CLUSTERDESK_FORMS)."""
    import shutil

    from clusterdesk.model.form import load_form

    forms = tmp_path / "forms-up-to"
    shutil.copytree(FORMS, forms)
    for p in forms.glob("*.yaml"):
        f = load_form(p).form
        if f.family and f.year > year:
            p.unlink()
    return forms

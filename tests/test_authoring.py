"""Another province's form, or next year's, is a file a user installs (docs/表单定义指南.md).

- forms check catches the author's mistakes, each with the file, the path and the field: a
  duplicated id (in the files checked, or of a loaded form at the same version), a prefill source
  that does not exist, an unquoted “非工业集群, 不适用” split into two options, min above max,
  negative decimals, a help_refs to no line, two attachments of one notice with different
  deadlines; it warns about stale years (``years:`` and the text);
- installed forms load beside the shipped ones (a higher version wins), and ``clusterdesk forms``
  says where each comes from;
- a broken or clashing file in the user's forms folder leaves ``clusterdesk forms``, templates of
  other forms and the GUI working, each bad file named in one line;
- next year's Shanghai report and a synthetic province's application, built from the shipped files
  (tests/authoring_support.py), are installed with the real ``forms install`` and then filled,
  validated, exported and packaged with no code change;
- a draft survives a renamed field across a version change: values, notes and evidence move, a
  field that is gone is kept (旧版本内容 in the GUI, ``"retired"`` in ``clusterdesk dump``), and a
  package of the older version imports the same way.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

from authoring_support import (FORMS, next_year_shanghai, renamed_version, synthetic_key, synthetic_province,
                               write_synthetic_template)
from cd_support import DEMO
from cd_support import run_cli as run
from clusterdesk.model.checks import check_files
from clusterdesk.model.form import Catalog

SH = (FORMS / "sh-2023-annual-report.yaml").read_text(encoding="utf-8")
CQ = (FORMS / "cq-2024-application.yaml").read_text(encoding="utf-8")


def _shipped_ids() -> set[str]:
    return {p.stem for p in FORMS.glob("*.yaml")}


@pytest.fixture(scope="module")
def shipped() -> Catalog:
    return Catalog.load(FORMS, strict=True)


def _file(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _other_report(text: str = SH, form_id: str = "sh-x-report") -> str:
    """The Shanghai report under another id and family (so it clashes with nothing)."""
    return (text.replace("id: sh-2023-annual-report", f"id: {form_id}", 1)
            .replace("family: sh-annual-report", f"family: {form_id}", 1))


# -- forms check: the author's mistakes ----------------------------------------------------------


def test_a_copy_of_a_shipped_form_passes_and_the_shipped_forms_are_clean(tmp_path, shipped):
    report = check_files([_file(tmp_path, "x.yaml", _other_report())], shipped)
    assert report.errors == [] and report.warnings == [] and [f.id for f in report.forms] == ["sh-x-report"]
    for p in sorted(FORMS.glob("*.yaml")):  # each shipped file checked against the others: itself is no clash
        r = check_files([p], shipped)
        assert r.errors == [] and r.warnings == [], (p.name, r.errors, r.warnings)


def test_unquoted_comma_splitting_an_official_option_is_caught(tmp_path, shipped):
    text = _other_report(SH.replace('"非工业集群, 不适用"', "非工业集群, 不适用"))
    assert text.count("[是, 否, 非工业集群, 不适用]") == 2
    report = check_files([_file(tmp_path, "x.yaml", text)], shipped)
    assert report.forms == []
    assert report.errors == [
        f"x.yaml: sections[6](green).items[{i}]({f}).options: “非工业集群”和“不适用”在官方原文中是一个选项“非工业集群, 不适用”，"
        "方括号列表把半角逗号当作分隔符拆成了两项；请给它加引号：\"非工业集群, 不适用\""
        for i, f in ((3, "solid_waste_above"), (5, "water_reuse_above"))]
    # without the official text (no source:), the options of the loaded forms still know it
    no_source = _file(tmp_path, "y.yaml", text.replace("source: sh-2024-notice.txt", "", 1))
    errors = check_files([no_source], shipped).errors
    assert len(errors) == 2 and all("在已加载的表单中是一个选项“非工业集群, 不适用”" in e for e in errors)
    # two options that are two options in the official text pass
    assert not check_files([_file(tmp_path, "z.yaml", _other_report())], shipped).errors


@pytest.mark.parametrize("old,new,expected", [
    ("{id: area, type: number, label: 集群占地面积（平方公里）, unit: 平方公里, min: 0}",
     "{id: area, type: number, label: 集群占地面积（平方公里）, unit: 平方公里, min: 100, max: 10}",
     "x.yaml: sections[2](basic).items[3](area): min（100）大于 max（10），没有任何值能通过"),
    ("{id: area, type: number, label: 集群占地面积（平方公里）, unit: 平方公里, min: 0}",
     "{id: area, type: number, label: 集群占地面积（平方公里）, unit: 平方公里, min: 0, decimals: -1}",
     "x.yaml: sections[2](basic).items[3](area): decimals 不能为负数（-1）"),
    ("{id: total_output, type: number, label: 集群总产值（亿元）, unit: 亿元, min: 0, years: [2023], help_refs: [3]}",
     "{id: total_output, type: number, label: 集群总产值（亿元）, unit: 亿元, min: 0, years: [2023], help_refs: [9]}",
     "x.yaml: sections[3](industry).total_output.help_refs: 填报说明中没有第 9 条（现有：1、2、3、4、5、6）"),
    ("    source_form: cq-2024-application\n", "    source_form: cq-2025-application\n",
     "x.yaml: prefill[0](application).source_form: 未知的表单“cq-2025-application”"),
    ('  deadline: "2024-04-10"\n', '  deadline: "2024-04-12"\n',
     "x.yaml: notice.deadline: 与同一通知（sh-2023）的另一附件“sh-2023-annual-report”（sh-2023-annual-report.yaml）"
     "不一致：“2024-04-12”，那里是“2024-04-10”"),
])
def test_author_mistakes_name_file_path_and_field(tmp_path, shipped, old, new, expected):
    assert SH.count(old) == 1
    report = check_files([_file(tmp_path, "x.yaml", _other_report(SH.replace(old, new)))], shipped)
    assert report.forms == []
    assert any(e.startswith(expected) for e in report.errors), report.errors


def test_a_duplicated_id_is_caught_in_the_files_and_against_the_loaded_forms(tmp_path, shipped):
    a, b = _file(tmp_path, "a.yaml", _other_report()), _file(tmp_path, "b.yaml", _other_report())
    report = check_files([a, b], shipped)
    assert report.errors == ["b.yaml: id: “sh-x-report”与同时检查的 a.yaml 重复"]
    clash = _file(tmp_path, "clash.yaml", CQ)  # the shipped application again, same version
    report = check_files([clash], shipped)
    assert len(report.errors) == 1 and report.errors[0].startswith(
        "clash.yaml: id: 已加载的表单“cq-2024-application”（内置：")
    assert "请把 version 改为大于 1 的整数" in report.errors[0]
    higher = _file(tmp_path, "v2.yaml", CQ.replace("\nversion: 1\n", "\nversion: 2\n", 1))
    assert check_files([higher], shipped).errors == []  # a higher version replaces it


def test_stale_years_are_warned_about(tmp_path, shipped):
    # next year's report with its `year` moved on but section 二's years and 七's title left behind
    text = next_year_shanghai()
    text = text.replace("七、2024 年集群工作", "七、2023 年集群工作", 1)
    text = text.replace("    years: [2024]\n", "    years: [2023]\n", 1)
    report = check_files([_file(tmp_path, "sh-2024-annual-report.yaml", text)], shipped)
    assert report.errors == []
    assert report.warnings == [
        "sh-2024-annual-report.yaml: sections[8](work).title: 文字中的 2023 年与表单的 year（2024）不同，"
        "也不在 other_years 中：“七、2023 年集群工作”",
        "sh-2024-annual-report.yaml: sections[3](industry).years: 2023 年与表单的 year（2024）不同，"
        "也不在 other_years 中（打印为“年度 | 2023年”）"]
    # the checklist of the guide, followed, leaves nothing to warn about
    assert check_files([_file(tmp_path, "ok.yaml", next_year_shanghai())], shipped).warnings == []


def test_a_broken_definition_in_the_catalog_is_named_in_one_line_and_the_rest_load(tmp_path):
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    for p in FORMS.glob("*.yaml"):
        (shipped / p.name).write_bytes(p.read_bytes())
    user = tmp_path / "user"
    user.mkdir()
    _file(user, "broken.yaml", "id: [\n")
    _file(user, "clash.yaml", CQ)
    _file(user, "orphan.yaml", _other_report(SH.replace("source_form: cq-2024-application", "source_form: nowhere")))
    _file(user, "newer.yaml", CQ.replace("\nversion: 1\n", "\nversion: 2\n", 1))
    cat = Catalog.load(shipped, user_folder=user)
    assert {f.id for f in cat} == _shipped_ids()
    assert cat.get("cq-2024-application").version == 2 and cat.origin("cq-2024-application").path == user / "newer.yaml"
    assert [f.version for f in cat.older("cq-2024-application")] == [1]
    assert cat.origin("sh-2023-annual-report").label == "内置"
    lines = {b.path.name: b.line for b in cat.bad_files}
    assert set(lines) == {"broken.yaml", "clash.yaml", "orphan.yaml"}
    assert all("\n" not in line and str(user) in line for line in lines.values())
    assert "YAML 格式错误" in lines["broken.yaml"]
    assert "prefill[0](application).source_form: 未知的表单“nowhere”" in lines["orphan.yaml"]


# -- installed forms, end to end ------------------------------------------------------------------------


@pytest.fixture()
def data_dir(tmp_path, monkeypatch) -> Path:
    """A data folder of its own (database and forms/), used by the command line through --db and
    by in-process calls through the program's data-folder setting."""
    from clusterdesk import paths

    d = tmp_path / "data"
    d.mkdir()
    monkeypatch.setattr(paths, "_data_dir", d)
    return d


def _ok(p) -> str:
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    return p.stdout


def _docx_text(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        xml = z.read("word/document.xml").decode("utf-8")
    return "".join(re.findall(r"<w:t[^>]*>([^<]*)</w:t>", xml))


def _install(db: Path, *files: Path) -> str:
    out = _ok(run("forms", "install", *map(str, files), db=db))
    for f in files:
        assert (db.parent / "forms" / f.name).is_file()
    return out


def test_next_years_report_is_a_file_the_user_installs(tmp_path, data_dir):
    from clusterdesk.annual import carried
    from clusterdesk.service import DraftSession, display_name
    from clusterdesk.store import Store

    db = data_dir / "d.sqlite3"
    new = _file(tmp_path, "sh-2024-annual-report.yaml", next_year_shanghai())
    assert "已安装：sh-2024-annual-report（版本 1）→ " in _install(db, new)
    listed = {ln.split("\t")[0]: ln.split("\t") for ln in _ok(run("forms", db=db)).splitlines()}
    assert listed["sh-2024-annual-report"][-1] == f"已安装 {data_dir / 'forms' / 'sh-2024-annual-report.yaml'}"
    assert listed["sh-2023-annual-report"][-1] == "内置"

    # last year's report, then 复制为下一年度 (the real command)
    rep23 = int(_ok(run("import", str(DEMO / "sh-2023-annual-report.json"), db=db)))
    demo = json.loads((DEMO / "sh-2023-annual-report.json").read_text(encoding="utf-8"))["answers"]
    rep24 = int(_ok(run("next-year", str(rep23), db=db)))
    with Store.open(db) as store:
        s = DraftSession(store, rep24)
        assert s.form.id == "sh-2024-annual-report"
        # carry_over, by meaning: last year's plan for 2024 is where 已开展的重点工作 starts
        assert s.value("work.key_work") == demo["work.plan_2024"]
        assert s.value("work.overview") == demo["work.overview"] and s.value("work.plan_2025") is None
        # previous_year: the 主导产业 as last year's report has it, named by that report's title
        assert s.value("basic.leading_industry") == demo["basic.leading_industry"]
        src = carried(store, rep24)["basic.leading_industry"]
        assert src.source == ("上年度报告“上海市中小企业特色产业集群（嘉定区智能传感器产业）” · 一、基本情况 · 集群主导产业")
        # fill the rest as the cluster would: this year's figures in the 2024 cells
        for key, value in demo.items():
            key24 = key.replace(".2023", ".2024").replace("work.plan_2024", "work.plan_2025")
            if s.value(key24) is not None or not s.form.cell(key24).answerable:
                continue
            if key == "innovation.standards_list":
                value = [{**r, "year": r["year"] + 1} for r in value]  # 近三年: 2022–2024
            s.set(key24, value)
        names = {d.id: display_name(store, d) for d in store.list_drafts()}
    assert names[rep24] == "年度报告 2024 · 上海市中小企业特色产业集群（嘉定区智能传感器产业）"
    assert names[rep23] == "年度报告 2023 · 上海市中小企业特色产业集群（嘉定区智能传感器产业）"
    out = _ok(run("validate", str(rep24), db=db))
    assert "共 0 个错误" in out

    # export both years into one folder: the names carry the year, nothing is overwritten
    folder = tmp_path / "导出"
    files24 = _ok(run("export", str(rep24), "--no-pdf", "--out", str(folder), db=db)).split()
    files23 = _ok(run("export", str(rep23), "--no-pdf", "--out", str(folder), db=db)).split()
    assert Path(files24[0]).name == "上海市中小企业特色产业集群（嘉定区智能传感器产业）-年度发展情况报告（2024年度）.docx"
    assert Path(files23[0]).name == "上海市中小企业特色产业集群（嘉定区智能传感器产业）-年度发展情况报告（2023年度）.docx"
    assert not set(files24) & set(files23) and all(Path(f).exists() for f in files24 + files23)
    text = _docx_text(Path(files24[0]))
    assert "七、2024 年集群工作" in text and "2024年" in text and "七、2023 年集群工作" not in text

    # the package goes to a PC that installed the same definition
    pkg = tmp_path / "报告.cdpkg"
    _ok(run("package", str(rep24), "--out", str(pkg), db=db))
    other = tmp_path / "district" / "d.sqlite3"
    other.parent.mkdir()
    refused = run("import-package", str(pkg), db=other)  # not installed there yet: refused, named
    assert refused.returncode == 2 and "sh-2024-annual-report" in refused.stderr
    _install(other, new)
    got = int(_ok(run("import-package", str(pkg), db=other)).split()[0])
    dumped = json.loads(_ok(run("dump", str(got), db=other)))
    assert dumped["form"] == "sh-2024-annual-report" and dumped["answers"]["work.key_work"] == demo["work.plan_2024"]


def test_another_provinces_application_is_a_file_the_user_installs(tmp_path, data_dir):
    db = data_dir / "d.sqlite3"
    new = _file(tmp_path, "jia-2025-application.yaml", synthetic_province())
    _install(db, new)
    # its template, filled (the Chongqing demo under 甲省's ids), imported, validated, exported, packaged
    assert Path(_ok(run("template", "jia-2025-application", "--out", str(tmp_path / "模板.xlsx"), db=db)).strip()).is_file()
    filled = write_synthetic_template(tmp_path / "填好")
    did = _ok(run("import", str(filled), db=db)).strip()
    out = _ok(run("validate", did, db=db))
    assert "共 0 个错误" in out
    dumped = json.loads(_ok(run("dump", did, db=db)))
    assert dumped["form"] == "jia-2025-application"
    assert dumped["answers"][synthetic_key("cover.cluster_name")] == "甲省中小企业特色产业集群（永川数控机床产业）"
    assert synthetic_key("industry.chain_work") in dumped["evidence_index"]
    targets = dumped["answers"][synthetic_key("plan.targets")]
    assert {"key", "fangxiang", "zhibiao", "jizhun", "mubiao"} <= set(targets[0])
    files = _ok(run("export", did, "--no-pdf", "--out", str(tmp_path / "导出"), db=db)).split()
    assert Path(files[0]).name == "甲省中小企业特色产业集群（永川数控机床产业）-集群申报表.docx"
    text = _docx_text(Path(files[0]))
    assert "甲省中小企业特色产业集群申报表" in text and "甲省经济和信息化厅 制" in text
    assert "重庆市中小企业特色产业集群申报表" not in text and "重庆市经济和信息化委员会" not in text
    pkg = tmp_path / "甲省.cdpkg"
    _ok(run("package", did, "--out", str(pkg), db=db))
    other = tmp_path / "district" / "d.sqlite3"
    other.parent.mkdir()
    _install(other, new)
    got = _ok(run("import-package", str(pkg), db=other)).split()[0]
    again = json.loads(_ok(run("dump", got, db=other)))
    assert again["answers"] == dumped["answers"]


# -- an export never replaces another draft's files without asking ----------------------------------------


def test_export_refuses_to_replace_another_drafts_files_unless_told(tmp_path):
    db = tmp_path / "d.sqlite3"
    a = _ok(run("import", str(DEMO / "cq-2024-application.json"), db=db)).strip()
    b = _ok(run("import", str(DEMO / "cq-2024-application.json"), db=db)).strip()  # the same cluster again
    out = tmp_path / "导出"
    files = _ok(run("export", a, "--no-pdf", "--out", str(out), db=db)).split()
    before = {f: Path(f).read_bytes() for f in files}
    _ok(run("export", a, "--no-pdf", "--out", str(out), db=db))  # its own files: replaced without a word
    p = run("export", b, "--no-pdf", "--out", str(out), db=db)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.startswith("保存位置已有草稿“重庆市中小企业特色产业集群（永川数控机床产业）”导出的同名文件：")
    assert p.stderr.strip().endswith("（加 --overwrite 覆盖）") and len(p.stderr.splitlines()) == 1
    assert all(Path(f).exists() for f in before)
    # a filled template has no draft of its own: another draft's files are not replaced either
    p = run("export", str(DEMO / "cq-2024-application.json"), "--no-pdf", "--out", str(out), db=db)
    assert p.returncode == 2 and "同名文件" in p.stderr
    replaced = _ok(run("export", b, "--no-pdf", "--out", str(out), "--overwrite", db=db)).split()
    assert sorted(replaced) == sorted(files)


@pytest.mark.parametrize("suffix", [".json", ".xlsx"])
def test_a_template_of_an_older_version_imports_into_the_new_one(tmp_path, data_dir, suffix):
    """A template filled on version 1 (evidence beside it), imported after version 2 is installed:
    renamed fields (a number, and boxes with their evidence) move, the gone field is kept as 旧版本内容."""
    import shutil

    from clusterdesk.model.form import Catalog
    from clusterdesk.templates import _write_xlsx_template

    v1 = json.loads((DEMO / "cq-2024-application.json").read_text(encoding="utf-8"))
    shutil.copytree(DEMO / "evidence", tmp_path / "evidence")
    src = tmp_path / f"v1{suffix}"
    if suffix == ".json":
        src.write_text(json.dumps(v1, ensure_ascii=False), encoding="utf-8")
    else:  # the Excel template of version 1, filled
        form1 = Catalog.load(FORMS, strict=True).get("cq-2024-application")
        _write_xlsx_template(form1, src, v1["answers"])
    v2 = renamed_version()
    if suffix == ".xlsx":  # version 2 also drops a boxes field: its ticks are kept as they were
        v2 = re.sub(r"      - id: resource_work\n(        .*\n|          .*\n)+", "", v2, count=1)
        assert "resource_work" not in v2
    db = data_dir / "d.sqlite3"
    (tmp_path / "v2").mkdir()
    _install(db, _file(tmp_path / "v2", "cq-2024-application.yaml", v2))
    did = _ok(run("import", str(src), db=db)).strip()
    dumped = json.loads(_ok(run("dump", did, db=db)))
    assert dumped["version"] == 2
    a = dumped["answers"]
    assert [a[f"industry.gross_output.{y}"] for y in (2021, 2022, 2023)] == \
        [v1["answers"][f"industry.total_output.{y}"] for y in (2021, 2022, 2023)]
    assert sorted(a["industry.chain_tasks"]) == sorted(v1["answers"]["industry.chain_work"])
    assert not [k for k in a if "total_output" in k or "chain_work" in k or "software_rising" in k]
    retired = {"digital.software_rising": {
        "value": "是", "version": 1, "label": "四、数字化升级情况 · 工业软件应用率稳步提升"}}
    if suffix == ".xlsx":
        retired["industry.resource_work"] = {"value": v1["answers"]["industry.resource_work"], "version": 1,
                                             "label": "二、主导产业情况 · 集群已开展的产业链资源协同协作工作"}
    assert dumped["retired"] == retired
    if suffix == ".json":  # the evidence of the renamed boxes moved with them
        assert set(dumped["evidence_index"]["industry.chain_tasks"]) == set(v1["evidence"]["industry.chain_work"])
    assert "共 0 个错误" in _ok(run("validate", did, db=db))


def test_a_renamed_field_of_the_application_leaves_the_report_that_prefills_from_it_working(tmp_path, data_dir):
    """Version 2 of the application renames 集群总产值 (total_output → gross_output); the shipped annual
    report still names the old id in its prefill. It stays loaded, and its prefill follows the rename."""
    db = data_dir / "d.sqlite3"
    (tmp_path / "v2").mkdir()
    _install(db, _file(tmp_path / "v2", "cq-2024-application.yaml", renamed_version()))
    p = run("forms", db=db)
    assert p.returncode == 0 and p.stderr == "" and "sh-2023-annual-report\t" in p.stdout
    assert run("forms", "check", db=db).returncode == 0
    demo = json.loads((DEMO / "cq-2024-application.json").read_text(encoding="utf-8"))["answers"]
    app = _ok(run("import", str(DEMO / "cq-2024-application.json"), db=db)).strip()
    out = _ok(run("annual", app, "--form", "sh-2023-annual-report", "--year", "2023", db=db))
    rep = out.splitlines()[0]
    assert "industry.total_output.2023\t← 申报材料" in out
    dumped = json.loads(_ok(run("dump", rep, db=db)))
    assert dumped["answers"]["industry.total_output.2023"] == demo["industry.total_output.2023"]

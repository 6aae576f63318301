"""The clusterdesk command line, end to end, as a script would use it (real subprocesses)."""

from __future__ import annotations

import json
import subprocess

import pytest

from cd_support import DEMO
from cd_support import run_cli as run


def assert_clean_failure(p: subprocess.CompletedProcess) -> None:
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    assert p.stderr.strip()
    assert any("\u4e00" <= ch <= "\u9fff" for ch in p.stderr)


def test_forms_lists_every_shipped_form(tmp_path):
    p = run("forms", db=tmp_path / "d.db")
    assert p.returncode == 0
    rows = [line.split("\t") for line in p.stdout.strip().splitlines()]
    ids = {r[0] for r in rows}
    assert "cq-2024-application" in ids
    row = next(r for r in rows if r[0] == "cq-2024-application")
    assert row[1:] == ["重庆市中小企业特色产业集群申报表", "重庆市经济和信息化委员会", "2024", "版本 1", "内置"]


def test_forms_check(tmp_path):
    p = run("forms", "check", db=tmp_path / "d.db")
    assert p.returncode == 0 and "cq-2024-application.yaml: 通过" in p.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nversion: 1\n", encoding="utf-8")
    p = run("forms", "check", str(bad), db=tmp_path / "d.db")
    assert_clean_failure(p)
    assert all(line.startswith("bad.yaml: ") for line in p.stderr.strip().splitlines())


def test_template_fill_import_validate_eligibility(tmp_path):
    """The issue's 'done when': template → fill → import → validate → eligibility, then 23.10."""
    db = tmp_path / "d.db"
    t = tmp_path / "t.json"
    assert run("template", "cq-2024-application", "--out", str(t), db=db).returncode == 0
    tpl = json.loads(t.read_text(encoding="utf-8"))
    assert tpl["form"] == "cq-2024-application" and tpl["answers"] == {}
    ids = [f["id"] for f in tpl["fields"]]
    assert "industry.total_output.2021" in ids and len(ids) == len(set(ids))
    f = next(x for x in tpl["fields"] if x["id"] == "industry.total_output.2021")
    assert f["section"] == "二、主导产业情况" and f["label"] == "集群总产值（亿元）" and f["column"] == "2021年"
    assert f["unit"] == "亿元" and f["decimals"] == 2 and f["type"] == "number"
    energy = next(x for x in tpl["fields"] if x["id"] == "basic.energy_efficiency")
    assert energy["options"] == ["是", "否", "非高耗能行业，不适用"]
    targets = next(x for x in tpl["fields"] if x["id"] == "plan.targets")
    assert [c["id"] for c in targets["columns"]] == ["direction", "indicator", "baseline", "target", "target_2024", "target_2025"]

    demo = json.loads((DEMO / "cq-2024-application.json").read_text(encoding="utf-8"))
    tpl["answers"] = demo["answers"]
    tpl["evidence"] = {k: v for k, v in demo["evidence"].items()}
    filled = DEMO.parent / "demo" / "cq-2024-application.json"  # evidence paths are relative to the demo folder
    p = run("import", str(filled), db=db)
    assert p.returncode == 0, p.stderr
    draft_id = p.stdout.strip()
    assert draft_id.isdigit()
    p = run("validate", draft_id, db=db)
    assert p.returncode == 0, p.stdout
    assert "共 0 个错误" in p.stdout
    p = run("eligibility", draft_id, db=db)
    assert p.returncode == 0, p.stdout
    statuses = [line.split("\t")[0] for line in p.stdout.splitlines() if not line.startswith("\t") and "\t" in line]
    assert statuses and set(statuses) == {"符合"}

    changed = tmp_path / "changed.json"
    tpl["answers"]["industry.total_output.2021"] = "23.10"
    tpl["evidence"] = {}
    changed.write_text(json.dumps(tpl, ensure_ascii=False), encoding="utf-8")
    p = run("eligibility", str(changed), db=db)
    assert p.returncode == 1
    failing = [line for line in p.stdout.splitlines() if line.startswith("不符合")]
    assert failing == ["不符合\t一、具有较强核心竞争力 · 近三年产值均在25亿元以上"]
    assert "二、主导产业情况 · 集群总产值（亿元） 2021年：23.10 亿元，低于申报条件 25 亿元" in p.stdout


def test_drafts_and_dump_round_trip(tmp_path):
    db = tmp_path / "d.db"
    draft_id = run("import", str(DEMO / "cq-2024-application.json"), db=db).stdout.strip()
    p = run("drafts", db=db)
    assert p.returncode == 0
    first = p.stdout.splitlines()[0].split("\t")
    assert first[0] == draft_id and first[1] == "cq-2024-application"
    assert first[2] == "重庆市中小企业特色产业集群（永川数控机床产业）" and first[-1] == "100%"
    dump = json.loads(run("dump", draft_id, db=db).stdout)
    demo = json.loads((DEMO / "cq-2024-application.json").read_text(encoding="utf-8"))
    assert dump["answers"]["industry.total_output.2021"] == "52.30"
    assert dump["answers"]["innovation.patent_list"] == demo["answers"]["innovation.patent_list"]
    assert set(dump["answers"]) == set(demo["answers"])
    assert dump["evidence_index"]["industry.chain_work"]["绘制产业链图谱，开展产业链培育"][0]["file"] == "产业链培育工作佐证.pdf"
    # the dump is itself an importable template and reproduces the same answers
    again = tmp_path / "again.json"
    again.write_text(json.dumps(dump, ensure_ascii=False), encoding="utf-8")
    second = run("import", str(again), db=db).stdout.strip()
    assert json.loads(run("dump", second, db=db).stdout)["answers"] == dump["answers"]


def test_validate_reports_errors_with_exit_1(tmp_path):
    demo = json.loads((DEMO / "cq-2024-application.json").read_text(encoding="utf-8"))
    demo["answers"]["industry.smes.2023"] = 500
    demo["answers"]["industry.chain_status"] = "字" * 250
    demo["evidence"] = {}
    f = tmp_path / "f.json"
    f.write_text(json.dumps(demo, ensure_ascii=False), encoding="utf-8")
    p = run("validate", str(f), db=tmp_path / "d.db")
    assert p.returncode == 1
    errors = [line for line in p.stdout.splitlines() if line.startswith("错误")]
    assert errors == [
        "错误\t二、主导产业情况 · 其中：集群中小企业数量 2023年：500 个，高于“集群企业数量”的 468 个",
        "错误\t二、主导产业情况 · 集群产业链强链补链情况（200字以内）：超过200字限制（现 250 字，需删减 50 字）",
    ]
    assert any("尚未添加佐证材料" in line for line in p.stdout.splitlines() if line.startswith("提示"))


def test_xlsx_template_round_trip(tmp_path):
    db = tmp_path / "d.db"
    x = tmp_path / "t.xlsx"
    assert run("template", "cq-2024-application", "--out", str(x), db=db).returncode == 0
    from openpyxl import load_workbook

    wb = load_workbook(x)
    ws = wb["填报"]
    header = [c.value for c in ws[1]]
    assert header[0] == "id" and header[-1] == "填写值"
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows["basic.industry_type"][11] == "第一产业、第二产业、第三产业"
    assert ws.data_validations.dataValidation  # choices become data validation
    # fill a few cells as a user would in Excel and import
    for r in ws.iter_rows(min_row=2):
        key, col = r[0].value, r[3].value
        if key == "industry.total_output.2021":
            r[12].value = 52.3
        elif key == "basic.industry_type":
            r[12].value = "第二产业"
        elif key == "industry.resource_work" and col == "开展人力资源共享":
            r[12].value = "√"
        elif key == "cover.cluster_name":  # text that looks like a formula, typed with a leading '
            r[12].value = "=HYPERLINK(\"http://x\")"
            r[12].data_type = "s"
        elif key == "cover.district":  # a real formula: read as its value, never evaluated
            r[12].value = "=1+1"
    wb.save(x)
    p = run("import", str(x), db=db)
    assert p.returncode == 0, p.stderr
    dump = json.loads(run("dump", p.stdout.strip(), db=db).stdout)["answers"]
    assert dump["industry.total_output.2021"] == "52.30"
    assert dump["basic.industry_type"] == "第二产业"
    assert dump["industry.resource_work"] == ["开展人力资源共享"]
    assert "industry.chain_work" not in dump
    assert dump["cover.cluster_name"] == "=HYPERLINK(\"http://x\")"  # text stays text
    assert dump.get("cover.district") != 2 and dump.get("cover.district") != "2"  # the formula was not computed


@pytest.mark.parametrize(
    "content, expect",
    [
        ('{"form": "no-such-form", "answers": {}}', "未知的表单“no-such-form”"),
        ('{"form": "cq-2024-application", "answers": {"nope.x": 1}}', "未知的栏目 id“nope.x”"),
        ('{"form": "cq-2024-application", "answers": {"basic.area": "很大"}}', "一、基本情况 · 集群占地面积（平方公里）：“很大”不是数字"),
        ('{"form": "cq-2024-application", "answers": {"basic.industry_type": "第四产业"}}', "“第四产业”不是可选项"),
        ('{"form": "cq-2024-application", "answers": {"industry.chain_work": ["随便"]}}', "“随便”不是本栏的选项"),
        ('{"form": "cq-2024-application", "answers": {"industry.leading_cagr": "5"}, "version": 99}', "模板版本 99"),
        ('{"form": "cq-2024-application", "answers": {"basic.cluster_name": "x"}}', "此栏由程序计算，不能填写"),
        ("not json", "不是有效的 JSON"),
        ("[1, 2]", "顶层必须是对象"),
    ],
)
def test_import_bad_input_one_line_per_problem(tmp_path, content, expect):
    f = tmp_path / "bad.json"
    f.write_text(content, encoding="utf-8")
    db = tmp_path / "d.db"
    p = run("import", str(f), db=db)
    assert_clean_failure(p)
    assert expect in p.stderr
    assert run("drafts", db=db).stdout.strip() == ""  # nothing half-written


def test_import_not_utf8_and_missing_file(tmp_path):
    f = tmp_path / "gbk.json"
    f.write_bytes('{"form": "集群"}'.encode("gbk"))
    p = run("import", str(f), db=tmp_path / "d.db")
    assert_clean_failure(p)
    assert "不是 UTF-8" in p.stderr
    p = run("import", str(tmp_path / "nope.json"), db=tmp_path / "d.db")
    assert_clean_failure(p)
    assert "文件不存在" in p.stderr


def test_unknown_draft_and_form(tmp_path):
    db = tmp_path / "d.db"
    assert_clean_failure(run("dump", "99", db=db))
    assert_clean_failure(run("validate", "99", db=db))
    p = run("template", "nope", "--out", str(tmp_path / "x.json"), db=db)
    assert_clean_failure(p)
    assert "未知的表单“nope”" in p.stderr
    p = run("template", "cq-2024-application", "--out", str(tmp_path / "x.csv"), db=db)
    assert_clean_failure(p)
    assert_clean_failure(run("dump", "abc", db=db))
    assert_clean_failure(run("no-such-command", db=db))

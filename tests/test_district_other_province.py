"""Another province's application and 汇总表 go through the district's work with no code change
(issue 13): a synthetic province's definitions — other form ids, section and field ids, titles,
notice and columns — are written into a forms folder the program loads, and the real command
line makes the template, imports it, packages it, prefills the province's 汇总表 and compiles the
submission with ``--summary``. The district vocabulary (``district:``) is checked when it loads."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cd_support import DEMO, ENV, ROOT

NOTICE = {
    "id": "gd-2031", "number": "粤工信中小〔2031〕1号", "title": "关于开展2031年度广东省中小企业特色产业集群推荐工作的通知",
    "issuer": "广东省工业和信息化厅", "date": "2031年1月10日", "deadline": "2031-03-01", "deadline_text": "2031年3月1日前",
    "paper_copies": 3, "paper_copies_text": "一式3份", "submit_to": "省工业和信息化厅中小企业局",
    "address": "广州市越秀区东风中路305号", "recipient": "陈老师", "phone": "020-83133000", "email": "zxqy@gdei.example.cn",
    "contact": "陈老师 020-83133001",
    "electronic": [{"text": "电子版推荐材料", "content": "editable", "via": "email"}],
    "max_clusters_per_district": 5, "max_clusters_rule": "每个区推荐数量不超过5个。",
    # the province wants its 汇总表 first, the applications in three copies, the evidence once
    "paper": [{"what": "district_form", "copies": 1, "sealed": True},
              {"what": "cluster_forms", "copies": 3, "copies_text": "一式3份", "sealed": True},
              {"what": "evidence", "copies": 1}],
    "requirements": ["请于2031年3月1日前将推荐材料一式3份报送省工业和信息化厅中小企业局，并将电子版发送至邮箱。"],
}
PREFIX = "广东省中小企业特色产业集群"

SUMMARY = {
    "schema_version": 1, "id": "gd-2031-huizong", "version": 1, "title": "2031年度广东省中小企业特色产业集群推荐汇总表",
    "short_title": "推荐汇总表", "issuer": "广东省工业和信息化厅", "year": 2031, "attachment": "附件2", "role": "district",
    "title_field": "huizong.zhuguan", "notice": NOTICE,
    "district": {
        "authority": "huizong.zhuguan", "contact": "huizong.lianxiren", "phone": "huizong.shouji",
        "clusters": "huizong.jiqun", "match": "mingcheng",
        "columns": [
            {"column": "mingcheng", "value": "${fengmian.jiqun_mingcheng}", "otherwise": "title"},
            {"column": "yunying", "value": ["${basic.operator}", "${fengmian.operator}"]},
            {"column": "chanye", "value": "${fengmian.jiqun_mingcheng}",
             "pattern": f"{PREFIX}（(?P<value>.+产业)）", "drop_district": True},
            {"column": "chanzhi", "value": "${industry.total_output.2023}"},
        ],
        "officer": ["chengli", "jianjie"],
    },
    "sections": [{
        "id": "huizong", "title": "推荐汇总表", "layout": "list", "print_title": False, "page_break_before": False,
        "items": [
            {"id": "zhuguan", "type": "text", "label": "推荐单位（盖章）"},
            {"id": "lianxiren", "type": "text", "label": "联系人"},
            {"id": "shouji", "type": "text", "label": "联系电话"},
            {"id": "jiqun", "type": "repeat", "label": "推荐集群", "min_rows": 1, "max_rows": 5, "columns": [
                {"id": "xuhao", "label": "序号", "type": "integer", "auto": "serial", "width_mm": 12},
                {"id": "mingcheng", "label": "集群名称", "type": "text", "required": True, "width_mm": 50},
                {"id": "yunying", "label": "运营机构", "type": "text", "required": True, "width_mm": 40},
                {"id": "chanye", "label": "主导产业", "type": "text", "required": True, "width_mm": 30},
                {"id": "chanzhi", "label": "2023年总产值（亿元）", "type": "number", "unit": "亿元", "required": True,
                 "width_mm": 25},
                {"id": "chengli", "label": "成立年份", "type": "integer", "required": True, "width_mm": 20},
                {"id": "jianjie", "label": "集群简介（100字以内）", "type": "narrative", "max_chars": 100,
                 "required": True, "width_mm": 70},
            ]},
        ],
    }],
}


def _rename(text: str) -> str:
    """The application's own ids and words, as another province's form would have them."""
    return (text.replace("cover.", "fengmian.").replace("cluster_name", "jiqun_mingcheng")
            .replace("重庆市中小企业特色产业集群", PREFIX).replace("cq-2024-application", "gd-2031-shenbao"))


def write_province(forms: Path) -> None:
    shutil.copytree(ROOT / "forms", forms)
    app = yaml.safe_load((ROOT / "forms" / "cq-2024-application.yaml").read_text(encoding="utf-8"))
    app = json.loads(_rename(json.dumps(app, ensure_ascii=False, default=str)))
    app.update(title="广东省中小企业特色产业集群推荐申报表", short_title="推荐申报表", issuer="广东省工业和信息化厅",
               cover_title="广东省中小企业特色产业集群推荐申报表", maker_line="广东省工业和信息化厅 制", notice=NOTICE)
    app["sections"][0]["id"] = "fengmian"
    (forms / "gd-2031-shenbao.yaml").write_text(yaml.safe_dump(app, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (forms / "gd-2031-huizong.yaml").write_text(yaml.safe_dump(SUMMARY, allow_unicode=True, sort_keys=False),
                                                encoding="utf-8")


def cli(forms: Path, db: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(ENV, CLUSTERDESK_FORMS=str(forms))
    return subprocess.run([sys.executable, "-m", "clusterdesk", "--db", str(db), *args], capture_output=True,
                          text=True, encoding="utf-8", env=env, timeout=180)


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_another_provinces_forms_go_through_the_district_compile(tmp_path):
    from clusterdesk.model.form import Catalog

    forms = tmp_path / "forms"
    write_province(forms)
    catalog = Catalog.load(forms)  # the synthetic definitions pass the schema and the cross checks
    assert {"gd-2031-shenbao", "gd-2031-huizong"} <= {f.id for f in catalog}
    assert not catalog.get("gd-2031-shenbao").has_cell("cover.cluster_name")

    # each cluster: the province's template, filled, imported, packaged
    cdb = tmp_path / "clusters.sqlite3"
    packages = []
    shutil.copytree(DEMO / "evidence", tmp_path / "evidence")
    demo = json.loads(_rename((DEMO / "cq-2024-application.json").read_text(encoding="utf-8")))
    for n, industry in enumerate(["天河智能装备产业", "天河新材料产业"], start=1):
        tpl = tmp_path / f"t{n}.json"
        ok(cli(forms, cdb, "template", "gd-2031-shenbao", "--out", str(tpl)))
        data = json.loads(tpl.read_text(encoding="utf-8"))
        assert data["form"] == "gd-2031-shenbao" and any(f["id"] == "fengmian.jiqun_mingcheng" for f in data["fields"])
        data["answers"] = dict(demo["answers"], **{"fengmian.jiqun_mingcheng": f"{PREFIX}（{industry}）",
                                                    "fengmian.district": "天河区"})
        data["evidence"] = demo["evidence"]
        tpl.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        did = ok(cli(forms, cdb, "import", str(tpl))).strip()
        assert "共 0 个错误" in ok(cli(forms, cdb, "validate", did))
        pkg = tmp_path / f"{n}.cdpkg"
        ok(cli(forms, cdb, "package", did, "--out", str(pkg), "--no-documents"))
        packages.append(pkg)

    # the district: the province's 汇总表 prefilled from the packages, the officer's columns filled
    ddb = tmp_path / "district.sqlite3"
    summary = tmp_path / "汇总表.json"
    ok(cli(forms, ddb, "template", "gd-2031-huizong", "--district", "广州市天河区", *map(str, packages),
           "--authority", "广州市天河区工业和信息化局", "--contact", "陈华", "--phone", "13800000000", "--out", str(summary)))
    data = json.loads(summary.read_text(encoding="utf-8"))
    answers = data["answers"]
    assert answers["huizong.zhuguan"] == "广州市天河区工业和信息化局"
    assert answers["huizong.lianxiren"] == "陈华" and answers["huizong.shouji"] == "13800000000"  # phone of its own
    rows = answers["huizong.jiqun"]
    assert [r["chanye"] for r in rows] == ["智能装备产业", "新材料产业"]  # 天河 left out, as the district
    assert [r["chanzhi"] for r in rows] == ["66.40", "66.40"]  # a number column, from the cluster's 2023 output
    assert all(r["chengli"] == "" and r["jianjie"] == "" for r in rows)
    assert "“成立年份”、“集群简介（100字以内）”" in data["说明"]
    for i, r in enumerate(rows):
        r.update(chengli=2015 + i, jianjie="集群位于天河区。")
    summary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    out = tmp_path / "out"
    result = cli(forms, ddb, "district", "compile", "--district", "广州市天河区", *map(str, packages),
                 "--summary", str(summary), "--out", str(out))  # no --notice: the packages name gd-2031
    assert result.returncode == 0, result.stderr
    import docx

    [printed] = [p for p in out.iterdir() if p.name.endswith("-推荐汇总表.docx")]
    d = docx.Document(str(printed))
    table = next(t for t in d.tables if t.rows[0].cells[0].text == "序号")
    assert [c.text for c in table.rows[0].cells] == ["序号", "集群名称", "运营机构", "主导产业", "2023年总产值（亿元）",
                                                     "成立年份", "集群简介（100字以内）"]
    assert [[c.text for c in r.cells] for r in table.rows[1:]] == [
        ["1", f"{PREFIX}（天河智能装备产业）", "重庆永川高新技术产业开发区管理委员会", "智能装备产业", "66.40", "2015",
         "集群位于天河区。"],
        ["2", f"{PREFIX}（天河新材料产业）", "重庆永川高新技术产业开发区管理委员会", "新材料产业", "66.40", "2016",
         "集群位于天河区。"]]
    text = "\n".join(p.text for p in d.paragraphs)
    assert "广州市天河区工业和信息化局" in text and "草稿" not in text
    assert (out / "1-天河智能装备产业" / "佐证材料" / "二-1-绘制产业链图谱.pdf").is_file()

    ck = docx.Document(str(out / "寄送清单.docx"))
    paper = next(t for t in ck.tables if t.rows[0].cells[1].text == "材料")
    got = [(r.cells[1].text.split("（")[0], r.cells[3].text, r.cells[4].text) for r in paper.rows[1:]]
    assert got == [("推荐汇总表", "1份", "盖章"),
                   ("天河智能装备产业集群 推荐申报表", "一式3份", "盖章"), ("天河智能装备产业集群 佐证材料", "1份", "—"),
                   ("天河新材料产业集群 推荐申报表", "一式3份", "盖章"), ("天河新材料产业集群 佐证材料", "1份", "—")]
    ck_text = "\n".join(p.text for p in ck.paragraphs)
    assert "发送至邮箱zxqy@gdei.example.cn" in ck_text and NOTICE["requirements"][0] in ck_text
    assert "重庆" not in ck_text and "光盘" not in ck_text and "盖章版PDF" not in ck_text


def _load_problems(tmp_path: Path, data: dict) -> list[str]:
    from clusterdesk.model.form import FormDefinitionError, load_form

    path = tmp_path / "huizong.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(FormDefinitionError) as e:
        load_form(path)
    return e.value.problems


def _with(**changes) -> dict:
    data = json.loads(json.dumps(SUMMARY, ensure_ascii=False))
    data["district"].update(changes)
    return data


@pytest.mark.parametrize("changes, expected", [
    ({"clusters": "huizong.zhuguan"}, "huizong.yaml: district.clusters: “huizong.zhuguan”不是本表中的表格（repeat）栏目"),
    ({"authority": "huizong.nothing"}, "huizong.yaml: district.authority: 不存在的栏目“huizong.nothing”（应为本表中可填写的栏目）"),
    ({"officer": ["chengli", "beizhu"]}, "huizong.yaml: district.officer[1]: 表格“huizong.jiqun”没有“beizhu”列"),
    ({"match": None}, "huizong.yaml: district: 有 clusters 时必须给出 match（表中写集群名称的列）"),
    ({"officer": ["chanye"]}, "huizong.yaml: district: 列“chanye”不能既从集群材料填入（columns）又由区县填写（officer）"),
])
def test_the_district_vocabulary_is_checked_when_it_loads(tmp_path, changes, expected):
    assert expected in _load_problems(tmp_path, _with(**changes))


def test_a_bad_column_names_its_place(tmp_path):
    data = _with()
    data["district"]["columns"][2]["pattern"] = "广东省（.+产业）"
    data["district"]["columns"][3]["column"] = "zongchanzhi"
    data["district"]["columns"][1]["value"] = ["${basic.operator", "${fengmian.operator}"]
    problems = _load_problems(tmp_path, data)
    assert "huizong.yaml: district.columns[2].pattern: pattern 必须含有 (?P<value>…) 组，标出要取的部分" in problems


def test_columns_that_read_cells_the_cluster_form_lacks_are_named(tmp_path):
    from clusterdesk.model.form import Catalog, FormDefinitionError

    forms = tmp_path / "forms"
    write_province(forms)
    data = _with()
    data["district"]["columns"][3]["column"] = "zongchanzhi"
    data["district"]["columns"][1]["value"] = ["${basic.operator", "${fengmian.operator}"]
    data["district"]["columns"][0]["value"] = "${cover.cluster_name}"  # the Chongqing id, not this province's
    (forms / "gd-2031-huizong.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(FormDefinitionError) as e:
        Catalog.load(forms, strict=True)
    problems = e.value.problems
    assert "gd-2031-huizong.yaml: district.columns[3](zongchanzhi).column: 表格“huizong.jiqun”没有“zongchanzhi”列" in problems
    assert any(p.startswith("gd-2031-huizong.yaml: district.columns[1](yunying).value[0]: 表达式") for p in problems)
    data["district"]["columns"][3]["column"] = "chanzhi"
    data["district"]["columns"][1]["value"] = "${basic.operator}"
    (forms / "gd-2031-huizong.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(FormDefinitionError) as e:
        Catalog.load(forms, strict=True)
    assert e.value.problems == [
        "gd-2031-huizong.yaml: district.columns[0](mingcheng).value[0]: “gd-2031-shenbao”中没有栏目 ${cover.cluster_name}"]


def test_a_cluster_form_may_not_declare_district_keys(tmp_path):
    from clusterdesk.model.form import FormDefinitionError, load_form

    data = yaml.safe_load((ROOT / "forms" / "cq-2024-application.yaml").read_text(encoding="utf-8"))
    data["district"] = {"authority": "cover.authority"}
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(FormDefinitionError, match="district（区县汇总的对应关系）只适用于 role: district 的表单"):
        load_form(path)


def test_compile_without_notice_is_refused_in_chinese_when_the_inputs_name_none(tmp_path):
    from cd_support import run_cli  # the real command line, with the shipped forms

    db = tmp_path / "d.sqlite3"
    ok(run_cli("import", str(DEMO / "cq-2024-application.json"), db=db))
    ok(run_cli("import", str(DEMO / "sh-2023-annual-report.json"), db=db))
    result = run_cli("district", "compile", "--district", "永川区", "1", "2", "--out", str(tmp_path / "o"), db=db)
    assert result.returncode == 2
    assert result.stderr.strip() == ("输入的材料分属不同的通知：cq-2024（渝经信中小〔2024〕7号）、sh-2023（沪经信企〔2024〕190号）；"
                                     "一次只能编制一次通知的报送材料，请用 --notice 指明")
    assert not (tmp_path / "o").exists()

"""The district workspace: clusters, the notice's cap, the summary table, compiling and printing."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from clusterdesk.export.publish import MANIFEST_NAME
from clusterdesk.packages import DuplicatePackage, PackageError
from clusterdesk.packages.checklist import print_jobs
from clusterdesk.packages.district import (
    CHECKLIST_NAME,
    ELECTRONIC_ZIP,
    ClusterCapExceeded,
    CompileRefused,
    District,
    DistrictError,
    DistrictWorkspace,
    cluster_status,
    compile_district,
    create_district,
    find_district,
    summary_spec,
)
from cd_support import DEMO, ROOT

RULE = "每个区县此次申报的中小企业特色产业集群数量原则上不超过3个，对超过报送数量的，不予受理。"
NAMES = ["永川数控机床产业", "永川智能装备产业", "永川食品加工产业", "永川汽车零部件产业"]
YONGCHUAN = District("永川区", "cq-2024", "重庆市永川区经济和信息化委员会", "张华", "13983012468")


def cluster_name(industry: str) -> str:
    return f"重庆市中小企业特色产业集群（{industry}）"


def make_cluster(store, industry: str) -> int:
    """A complete cluster draft (the demo) under its own name, set as the wizard would."""
    from clusterdesk.service import DraftSession
    from clusterdesk.templates import import_file

    did = import_file(store, DEMO / "cq-2024-application.json")
    DraftSession(store, did).set("cover.cluster_name", cluster_name(industry))
    return did


@pytest.fixture(scope="module")
def packages(tmp_path_factory) -> list[Path]:
    """Four clusters' packages, as four operating bodies would hand them in."""
    from cd_support import cluster_packages

    return cluster_packages(tmp_path_factory.mktemp("clusters"), NAMES)


@pytest.fixture()
def ws(store) -> DistrictWorkspace:
    return DistrictWorkspace(store, create_district(store, YONGCHUAN))


def state(store) -> tuple:
    return ([d.id for d in store.list_drafts()], store.data_version(),
            hashlib.sha256(Path(store.path).read_bytes()).hexdigest())


def fill_officer_columns(ws: DistrictWorkspace) -> None:
    for i in range(len(ws.summary_rows())):
        assert ws.set_summary_cell(i, "founded", f"201{i}年5月") is None
        assert ws.set_summary_cell(i, "intro", "集群位于永川高新区，聚焦主导产业，集聚企业百余家。") is None


# -- the district ---------------------------------------------------------------------------------


def test_district_is_a_summary_draft_with_its_header_filled(store, ws):
    info = store.get_draft(ws.draft_id)
    assert info.form_id == "cq-2024-summary"
    assert ws.district == YONGCHUAN
    answers = store.get_answers(ws.draft_id)
    assert answers["summary.authority"] == "重庆市永川区经济和信息化委员会"
    assert answers["summary.contact"] == "张华 13983012468"
    assert info.title == "重庆市永川区经济和信息化委员会"
    assert store.get_meta(ws.draft_id)["district"]["name"] == "永川区"
    assert find_district(store, "永川区", "cq-2024") == ws.draft_id
    assert find_district(store, "永川区", "sh-2023") is None


def test_header_follows_the_district_unless_the_officer_changed_it(store, ws):
    from clusterdesk.service import DraftSession

    ws.update_district(contact="刘静")
    assert store.get_answers(ws.draft_id)["summary.contact"] == "刘静 13983012468"
    DraftSession(store, ws.draft_id).set("summary.contact", "刘静 023-49881234（办公室）")
    ws.update_district(phone="13900000000")
    assert store.get_answers(ws.draft_id)["summary.contact"] == "刘静 023-49881234（办公室）"


def test_unknown_notice_is_refused(store):
    with pytest.raises(KeyError, match="未知的通知“gd-2030”"):
        create_district(store, District("天河区", "gd-2030"))


# -- clusters and the cap ----------------------------------------------------------------------------


def test_fourth_cluster_is_refused_with_the_notices_rule(store, ws):
    ids = [make_cluster(store, n) for n in NAMES]
    for did in ids[:3]:
        ws.add_draft(did)
    assert ws.cluster_ids() == ids[:3]
    before = state(store)
    with pytest.raises(ClusterCapExceeded) as e:
        ws.add_draft(ids[3])
    assert str(e.value) == RULE and e.value.lines == [RULE]
    assert e.value.cap == 3
    assert state(store) == before
    assert ws.cluster_ids() == ids[:3]


def test_fourth_package_is_refused_before_anything_is_written(store, ws, packages):
    for p in packages[:3]:
        ws.add_package(p)
    before = state(store)
    snaps = len(store.list_snapshots())
    with pytest.raises(ClusterCapExceeded, match=RULE):
        ws.add_package(packages[3])
    assert state(store) == before and len(store.list_snapshots()) == snaps


def test_replacing_a_member_at_the_cap_is_allowed(store, ws, packages):
    from clusterdesk.service import DraftSession

    for p in packages[:3]:
        ws.add_package(p)
    first = ws.cluster_ids()[0]
    DraftSession(store, first).set("cover.contact", "本地改过")  # now it differs from the package
    with pytest.raises(DuplicatePackage):
        ws.add_package(packages[0])
    new = ws.add_package(packages[0], on_duplicate="replace")
    assert len(ws.cluster_ids()) == 3 and ws.cluster_ids()[0] == new != first


def test_the_same_package_twice_is_taken_once(store, ws, packages):
    a = ws.add_package(packages[0])
    b = ws.add_package(packages[0])
    assert a == b and ws.cluster_ids() == [a]
    assert len(store.list_drafts()) == 2  # the summary and one cluster


def test_clusters_of_another_notice_or_role_are_refused(store, ws):
    from clusterdesk.service import create_draft
    from clusterdesk.model.form import default_catalog

    cat = default_catalog()
    sh = create_draft(store, cat.get("sh-2023-annual-report"), "上海某集群").id
    with pytest.raises(DistrictError, match="不是同一次通知"):
        ws.add_draft(sh)
    with pytest.raises(DistrictError, match="不是集群的申报材料"):
        ws.add_draft(ws.draft_id)
    did = make_cluster(store, NAMES[0])
    ws.add_draft(did)
    with pytest.raises(DistrictError, match="已在本区县的集群名单中"):
        ws.add_draft(did)


def test_hostile_package_leaves_the_workspace_unchanged(store, ws, packages, tmp_path):
    bad = tmp_path / "bad.cdpkg"
    bad.write_bytes(b"PK\x03\x04 broken")
    before = state(store)
    with pytest.raises(PackageError):
        ws.add_package(bad)
    assert state(store) == before


def test_cluster_status_counts_errors_warnings_and_conditions(store, ws):
    from clusterdesk.service import create_draft
    from clusterdesk.model.form import default_catalog

    good = make_cluster(store, NAMES[0])
    empty = create_draft(store, default_catalog().get("cq-2024-application")).id
    ws.add_draft(good)
    ws.add_draft(empty)
    by_id = {c.draft_id: c for c in ws.clusters()}
    g, e = by_id[good], by_id[empty]
    assert g.errors == 0 and g.eligibility == "符合" and g.check_text == "无错误"
    assert g.title == cluster_name(NAMES[0])
    assert e.errors > 0 and e.eligibility == "待填写" and f"{e.errors} 个错误" in e.check_text
    assert g.conditions["符合"] == len(default_catalog().get("cq-2024-application").form.eligibility)


def test_a_deleted_cluster_drops_out_of_the_list(store, ws):
    a, b = make_cluster(store, NAMES[0]), make_cluster(store, NAMES[1])
    ws.add_draft(a)
    ws.add_draft(b)
    store.delete_draft(a)
    assert ws.cluster_ids() == [b]


# -- the summary table ------------------------------------------------------------------------------------


def test_industry_from_the_cluster_name_pattern_the_definition_declares(catalog):
    from clusterdesk.packages.district import column_value

    col = next(c for c in summary_spec(catalog.get("cq-2024-summary")).columns if c.column == "industry")
    assert col.pattern and col.drop_district  # declared in forms/cq-2024-summary.yaml, not in code

    def value(name, districts=("永川区",)):
        return column_value(col, {"cover.cluster_name": name}.get, districts=list(districts))

    assert value("重庆市中小企业特色产业集群（永川数控机床产业）") == "数控机床产业"
    assert value("重庆市中小企业特色产业集群（永川数控机床产业）", ["重庆市永川区", "永川区"]) == "数控机床产业"
    assert value("重庆市中小企业特色产业集群（数控机床产业）") == "数控机床产业"
    assert value("重庆市中小企业特色产业集群（永川数控机床产业）", ()) == "永川数控机床产业"
    assert value("重庆市中小企业特色产业集群（璧山智能装备产业）") == "璧山智能装备产业"  # another district's name stays
    assert value("某某集群") is None and value(None) is None


def test_summary_rows_are_prefilled_from_the_clusters(store, ws, packages):
    for p in packages[:3]:
        ws.add_package(p)
    rows = store.get_answers(ws.draft_id)["summary.clusters"]
    assert [r["serial"] for r in rows] == [1, 2, 3]
    assert [r["cluster_name"] for r in rows] == [cluster_name(n) for n in NAMES[:3]]
    assert {r["operator"] for r in rows} == {"重庆永川高新技术产业开发区管理委员会"}
    assert {r["district"] for r in rows} == {"永川区"}
    assert [r["industry"] for r in rows] == [n.removeprefix("永川") for n in NAMES[:3]]  # 数控机床产业 …
    assert all("founded" not in r and "intro" not in r for r in rows)
    problems = [p for p in ws.summary_problems() if p.level == "error"]
    assert any("集群成立时间" in p.message for p in problems)
    assert any("集群简介" in p.message for p in problems)


def test_officer_entries_stay_with_their_cluster(store, ws):
    from clusterdesk.service import DraftSession

    ids = [make_cluster(store, n) for n in NAMES[:3]]
    for did in ids:
        ws.add_draft(did)
    fill_officer_columns(ws)
    assert ws.set_summary_cell(1, "industry", "智能装备及机器人") is None
    intro_of_second = ws.summary_rows()[1]["intro"]
    ws.move(ids[1], -1)
    rows = ws.summary_rows()
    assert rows[0]["cluster_name"] == cluster_name(NAMES[1]) and rows[0]["serial"] == 1
    assert rows[0]["founded"] == "2011年5月" and rows[0]["industry"] == "智能装备及机器人"
    assert rows[0]["intro"] == intro_of_second
    # the cluster renames itself: unedited cells follow, the officer's edit stays
    DraftSession(store, ids[1]).set("cover.cluster_name", cluster_name("永川机器人产业"))
    DraftSession(store, ids[1]).set("cover.operator", "重庆永川机器人产业园管理委员会")
    rows = ws.sync_summary()
    assert rows[0]["cluster_name"] == cluster_name("永川机器人产业")
    assert rows[0]["operator"] == "重庆永川机器人产业园管理委员会"
    assert rows[0]["industry"] == "智能装备及机器人" and rows[0]["founded"] == "2011年5月"
    ws.remove(ids[0])
    rows = ws.summary_rows()
    assert [r["serial"] for r in rows] == [1, 2]
    assert cluster_name(NAMES[0]) not in [r["cluster_name"] for r in rows]
    assert not [p for p in ws.summary_problems() if p.level == "error"]


def test_summary_intro_over_150_characters_is_an_error(store, ws):
    ws.add_draft(make_cluster(store, NAMES[0]))
    fill_officer_columns(ws)
    assert ws.set_summary_cell(0, "intro", "集" * 151) is None  # stored, then reported
    errors = [p for p in ws.summary_problems() if p.level == "error"]
    assert len(errors) == 1
    assert "集群简介（150字以内）" in errors[0].message and "超过150字" in errors[0].message
    assert "151" in errors[0].message
    ws.set_summary_cell(0, "intro", "集" * 150)
    assert not [p for p in ws.summary_problems() if p.level == "error"]


def test_shanghai_district_has_no_cap_and_names_the_district(store):
    from clusterdesk.service import create_draft
    from clusterdesk.model.form import default_catalog

    ws = DistrictWorkspace(store, create_district(store, District("徐汇区", "sh-2023", "徐汇区商务委")))
    assert store.get_draft(ws.draft_id).form_id == "sh-2023-district-summary"
    assert store.get_answers(ws.draft_id)["summary.district"] == "徐汇区"
    assert ws.cap is None and not ws.has_summary_table
    form = default_catalog().get("sh-2023-annual-report")
    for i in range(5):
        ws.add_draft(create_draft(store, form, f"上海集群{i}").id)
    assert len(ws.cluster_ids()) == 5


# -- compiling ---------------------------------------------------------------------------------------------


def docx_text(path: Path) -> str:
    import docx

    d = docx.Document(str(path))
    parts = [p.text for p in d.paragraphs]
    for t in d.tables:
        for row in t.rows:
            parts.extend(c.text for c in row.cells)
    return "\n".join(parts)


def test_compile_refuses_a_fourth_cluster_and_writes_nothing(store, packages, tmp_path):
    out = tmp_path / "报送材料"
    before = state(store)
    with pytest.raises(ClusterCapExceeded, match=RULE):
        compile_district(store, YONGCHUAN, packages, out)
    assert state(store) == before
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".~")]


def test_compile_refuses_documents_with_errors_unless_drafts_are_allowed(store, packages, tmp_path):
    out = tmp_path / "报送材料"
    with pytest.raises(CompileRefused) as e:
        compile_district(store, YONGCHUAN, packages[:3], out)
    assert "集群成立时间" in "\n".join(e.value.lines)
    assert not out.exists() and not list(tmp_path.glob(".~*"))


def test_compile_never_writes_into_a_folder_that_is_not_ours(store, packages, tmp_path):
    out = tmp_path / "我的文件"
    out.mkdir()
    (out / "重要.docx").write_bytes(b"keep me")
    result = compile_district(store, YONGCHUAN, packages[:1], out, allow_draft=True)
    assert sorted(p.name for p in out.iterdir()) == ["重要.docx"]
    assert (out / "重要.docx").read_bytes() == b"keep me"
    beside = tmp_path / "我的文件（2）"
    assert result.folder == beside and result.requested == out and (beside / CHECKLIST_NAME).is_file()
    assert any("为避免覆盖" in m and str(beside) in m for m in result.messages), result.messages


def test_compiled_folder_and_mailing_checklist(store, packages, tmp_path):
    ws = DistrictWorkspace(store, create_district(store, YONGCHUAN))
    for p in packages[:3]:
        ws.add_package(p)
    fill_officer_columns(ws)
    out = tmp_path / "永川区报送材料"
    result = compile_district(store, ws.draft_id, [], out)
    assert result.folder == out.absolute() and out.is_dir()
    assert not list(tmp_path.glob(".~*"))
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert MANIFEST_NAME in names  # the list of the program's own files, for a re-compile
    names.remove(MANIFEST_NAME)
    assert sorted(f.relative_to(out).as_posix() for f in result.files) == names
    for n, industry in enumerate(NAMES[:3], start=1):
        folder = f"{n}-{industry}"
        mine = [x for x in names if x.startswith(folder + "/")]
        assert any(x.endswith("申报表.docx") for x in mine), mine
        assert any("可编辑版" in x for x in mine), mine
        assert any(x.endswith(".xlsx") for x in mine), mine
    top = [x for x in names if "/" not in x]
    assert CHECKLIST_NAME in top and ELECTRONIC_ZIP in top
    assert any("申报汇总表" in x for x in top), top
    assert not any(x.endswith(".pdf") and "/佐证材料/" not in x for x in names)  # no PDF asked for: evidence only

    text = docx_text(out / CHECKLIST_NAME)
    for expected in ("重庆市渝北区云杉南路12号市经济信息委政务服务大厅", "郭老师", "023—63897957",
                     "2024年3月25日18:00前", "一式2份", "wangxiaojun@jjxxw.cq.gov.cn", "盖章版PDF",
                     "可编辑电子版", "渝经信中小〔2024〕7号", RULE):
        assert expected in text, expected
    for industry in NAMES[:3]:
        assert cluster_name(industry) in text
    assert "2份" in text

    with zipfile.ZipFile(out / ELECTRONIC_ZIP) as zf:
        inside = zf.namelist()
    assert sorted(inside) == sorted(f.relative_to(out).as_posix() for f in result.editable_files)
    assert all("可编辑版" in x or x.endswith(".xlsx") or "/佐证材料/" in x for x in inside)
    assert len([x for x in inside if "可编辑版" in x]) == 4  # three clusters and the summary
    assert result.print_files and all("可编辑版" not in p.name for p in result.print_files)


def test_recompiling_replaces_the_previous_folder(store, packages, tmp_path):
    ws = DistrictWorkspace(store, create_district(store, YONGCHUAN))
    ws.add_package(packages[0])
    fill_officer_columns(ws)
    out = tmp_path / "报送材料"
    compile_district(store, ws.draft_id, [], out)
    ws.add_package(packages[1])
    fill_officer_columns(ws)
    result = compile_district(store, ws.draft_id, [], out)
    assert len(result.clusters) == 2
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == [f"1-{NAMES[0]}", f"2-{NAMES[1]}"]
    assert not list(tmp_path.glob(".~*"))


def test_compile_with_draft_copies_when_allowed(store, packages, tmp_path):
    result = compile_district(store, YONGCHUAN, packages[:2], tmp_path / "草稿", allow_draft=True)
    assert result.draft_copies  # the summary is not complete yet
    assert "草稿" in docx_text(result.checklist)


# -- printing --------------------------------------------------------------------------------------------------


def test_print_jobs_on_windows_use_the_print_verb_once_per_copy():
    jobs = print_jobs([Path("a.docx"), Path("b.xlsx")], 2, platform="win32", lp=None, soffice=None)
    assert [(j.kind, j.repeat, j.copies) for j in jobs] == [("startfile", 2, 2), ("startfile", 2, 2)]


def test_print_jobs_on_linux_use_lp_with_copies():
    jobs = print_jobs([Path("/x/申报表.pdf"), Path("/x/申报表.docx"), Path("/x/清单.xlsx")], 2,
                      platform="linux", lp="/usr/bin/lp", soffice="/usr/bin/soffice")
    assert jobs[0].kind == "command" and jobs[0].argv == ("/usr/bin/lp", "-n", "2", "-t", "申报表", "/x/申报表.pdf")
    assert jobs[1].kind == "pdf_then" and jobs[1].argv[:3] == ("/usr/bin/lp", "-n", "2") and jobs[1].argv[-1] == "{pdf}"
    assert jobs[2].kind == "pdf_then"


def test_print_jobs_without_a_print_path_open_the_file():
    jobs = print_jobs([Path("a.docx"), Path("b.pdf")], 2, platform="linux", lp=None, soffice="/usr/bin/soffice")
    assert [j.kind for j in jobs] == ["open", "open"]
    jobs = print_jobs([Path("a.docx")], 2, platform="linux", lp="/usr/bin/lp", soffice=None)
    assert jobs[0].kind == "open"


def test_run_print_job_runs_lp(monkeypatch, tmp_path):
    from clusterdesk.packages import checklist

    calls = []
    monkeypatch.setattr(checklist.subprocess, "run", lambda argv, **kw: calls.append(argv))
    job = print_jobs([tmp_path / "a.pdf"], 2, platform="linux", lp="lp", soffice=None)[0]
    assert checklist.run_print_job(job, work_dir=tmp_path) is None
    assert calls == [["lp", "-n", "2", "-t", "a", str(tmp_path / "a.pdf")]]
    opened = []
    note = checklist.run_print_job(checklist.PrintJob(tmp_path / "a.docx", "open", 2), work_dir=tmp_path,
                                   open_file=lambda p: opened.append(p) or True)
    assert opened == [tmp_path / "a.docx"] and "打印2份" in note


def test_an_open_job_that_opened_nothing_says_so_instead_of_asking_to_print(tmp_path):
    from clusterdesk.packages import checklist

    job = checklist.PrintJob(tmp_path / "a.docx", "open", 2)
    with pytest.raises(checklist.OpenFailed, match="本机没有程序能打开“a.docx”，未能打印"):
        checklist.run_print_job(job, work_dir=tmp_path, open_file=lambda p: False)
    with pytest.raises(checklist.OpenFailed):
        checklist.run_print_job(job, work_dir=tmp_path)  # no way to open at all


# -- the command line -------------------------------------------------------------------------------------------


def run_cli(*argv: str) -> int:
    from clusterdesk.cli import main

    return main(list(argv))


def test_cli_fourth_cluster_exits_2_with_the_rule(packages, tmp_path, capsys):
    from clusterdesk.store import Store

    db = tmp_path / "d.sqlite3"
    code = run_cli("--db", str(db), "district", "compile", "--district", "永川区", "--notice", "cq-2024",
                   *map(str, packages), "--out", str(tmp_path / "out"))
    assert code == 2
    assert capsys.readouterr().err.strip() == RULE
    with Store.open(db) as s:
        assert s.list_drafts() == []
    assert not (tmp_path / "out").exists()


def test_cli_compile_refuses_errors_with_exit_1(packages, tmp_path, capsys):
    db = tmp_path / "d.sqlite3"
    code = run_cli("--db", str(db), "district", "compile", "--district", "永川区", *map(str, packages[:2]),
                   "--out", str(tmp_path / "out"), "--authority", "重庆市永川区经济和信息化委员会")
    assert code == 1
    assert "不能编制正式报送材料" in capsys.readouterr().err
    assert run_cli("--db", str(db), "district", "list") == 0
    listed = capsys.readouterr().out
    assert "永川区" in listed and "2 个集群" in listed


def test_cli_compile_produces_the_folder(packages, tmp_path, capsys):
    from clusterdesk.store import Store

    db = tmp_path / "d.sqlite3"
    with Store.open(db) as s:
        ws = DistrictWorkspace(s, create_district(s, YONGCHUAN))
        for p in packages[:3]:
            ws.add_package(p)
        fill_officer_columns(ws)
    out = tmp_path / "out"
    code = run_cli("--db", str(db), "district", "compile", "--district", "永川区", "--notice", "cq-2024",
                   *map(str, packages[:3]), "--out", str(out))
    assert code == 0, capsys.readouterr().err
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == str(out.absolute())
    assert (out / CHECKLIST_NAME).is_file() and (out / ELECTRONIC_ZIP).is_file()
    assert any("申报汇总表" in line for line in printed)


def test_cli_unknown_notice_is_bad_input(tmp_path, capsys):
    code = run_cli("--db", str(tmp_path / "d.sqlite3"), "district", "compile", "--district", "天河区",
                   "--notice", "gd-2030", "1", "--out", str(tmp_path / "o"))
    assert code == 2 and "未知的通知" in capsys.readouterr().err


def test_cluster_status_of_a_demo_draft(store):
    did = make_cluster(store, NAMES[0])
    st = cluster_status(store, did)
    assert st.errors == 0 and st.eligibility == "符合"


def test_shanghai_compile_follows_its_own_notice(store, tmp_path):
    from clusterdesk.service import create_draft
    from clusterdesk.model.form import default_catalog

    ws = DistrictWorkspace(store, create_district(store, District("徐汇区", "sh-2023", "上海市徐汇区商务委员会")))
    ws.add_draft(create_draft(store, default_catalog().get("sh-2023-annual-report"), "上海某集群").id)
    result = compile_district(store, ws.draft_id, [], tmp_path / "徐汇区", allow_draft=True)
    text = docx_text(result.checklist)
    for expected in ("4月10日（周三）前", "纸质版2份", "电子版光盘1份", "吴春霞 23117616", "上海市经济和信息化委员会",
                     "沪经信企〔2024〕190号"):
        assert expected in text, expected
    assert "邮箱" not in text and "重庆" not in text
    assert any("区促进中小企业特色产业集群发展总结" in p.name for p in result.files)


# -- evidence delivered with the forms --------------------------------------------------------------------


def _demo_answers(form):
    import json

    from clusterdesk.model.rules import Answers
    from clusterdesk.service import parse_answers

    data = json.loads((DEMO / "cq-2024-application.json").read_text(encoding="utf-8"))
    values, problems = parse_answers(form, data["answers"])
    assert not problems
    return Answers(form, values)


def test_evidence_names_follow_section_box_and_option(catalog):
    from clusterdesk.model.plan import EvidenceFile, evidence_names

    form = catalog.get("cq-2024-application")
    ans = _demo_answers(form)
    chain = "industry.chain_work"
    files = [
        EvidenceFile(chain, "绘制产业链图谱，开展产业链培育", "链.pdf", source=1),
        EvidenceFile("industry.brand_work", "开展了质量诊断服务", "诊断.PDF", source=2),
        EvidenceFile("industry.brand_work", "开展了质量诊断服务", "诊断照片.jpeg", ext="jpeg", source=3),
        EvidenceFile("digital.model_work", "建有国家智能制造、工业互联网以及其它国家新模式新业态试点示范项目", "x.doc",
                     ext="pdf", source=4),
        EvidenceFile("green.carbon_monitoring", "是", "监测.docx", source=5),
        EvidenceFile("opening.overseas_branches", "佐证材料", "分支.png", ext="png", source=6),
        # a box the cluster did not tick: its file is not delivered
        EvidenceFile(chain, "形成产业链技术难点清单或创新项目库，建立“揭榜挂帅”、“赛马”或众创众包等激励机制", "y.pdf", source=7),
    ]
    named = {e.source: e.delivered for e in evidence_names(form, ans, files)}
    assert named == {
        1: "二-1-绘制产业链图谱.pdf",  # section 二, its first box list, the option up to its first ，
        2: "二-3-开展了质量诊断服务-1.pdf",  # 二's third box list; two files: -1, -2 in the order attached
        3: "二-3-开展了质量诊断服务-2.jpeg",
        4: "四-2-建有国家智能制造、工业互联网以及其它国家新模式新.pdf",  # at most 24 characters; the content's type
        5: "五-1-建立了集群碳排放监测机制.docx",  # a 是 that needs evidence: the field's words
        6: "六-2-集群或集群内企业在境外设立分支机构数量.png",
    }
    order = [e.source for e in evidence_names(form, ans, list(reversed(files)))]
    assert order == [1, 3, 2, 4, 5, 6]  # the 目录's order; within a box, the order the files were attached


def test_evidence_name_words_are_safe_for_windows():
    from clusterdesk.model.plan import _name_words, _section_numbers

    assert _name_words('A/B*C?"D<E>F|G\\H') == "A_B_C__D_E_F_G_H"
    assert _name_words("甲：乙") == "甲"  # up to the first ，；：。
    assert _name_words("说明。其余") == "说明" and _name_words("。") == "。"
    assert _name_words("x" * 60) == "x" * 24
    from clusterdesk.model.form import default_catalog

    assert _section_numbers(default_catalog().get("cq-2024-summary")) == {"summary": "一"}  # no number: its place


def test_compile_delivers_evidence_and_names_a_missing_one(store, packages, tmp_path):
    ws = DistrictWorkspace(store, create_district(store, YONGCHUAN))
    [did] = [ws.add_package(packages[0])]
    fill_officer_columns(ws)
    for e in store.list_evidence(did):
        if e.key == "green.carbon_monitoring":
            store.remove_evidence(e.id)
    result = compile_district(store, ws.draft_id, [], tmp_path / "out")
    assert result.missing_evidence == [f"“{cluster_name(NAMES[0])}”：五、绿色化转型情况 · 建立了集群碳排放监测机制 · 是："
                                       "未附（纸质提供）"]
    names = sorted(p.name for p in result.evidence_files)
    assert "二-1-绘制产业链图谱.pdf" in names and not any(n.startswith("五-1-") for n in names)
    assert len(names) == len(store.list_evidence(did))  # each remaining link delivered once
    stored = {e.sha256 for e in store.list_evidence(did)}
    assert {hashlib.sha256(p.read_bytes()).hexdigest() for p in result.evidence_files} == stored
    assert all(p.parent == tmp_path / "out" / f"1-{NAMES[0]}" / "佐证材料" for p in result.evidence_files)
    # on paper, in the checklist's order: the form, its evidence behind it, the summary; two copies each
    paper = [p for p, _ in result.paper]
    assert paper[0].name.endswith("-申报表.docx") and paper[-1].name.endswith("-申报汇总表.docx")
    assert paper[1:-1] == result.evidence_files and {n for _, n in result.paper} == {2}


# -- the officer's summary -----------------------------------------------------------------------------------


def test_a_summary_draft_id_finishes_the_compile(store, packages, tmp_path):
    """The officer imported their filled 汇总表 template as a draft: its id is enough."""
    import json

    from clusterdesk.templates import import_file

    data = json.loads((DEMO / "cq-2024-summary.json").read_text(encoding="utf-8"))
    rows = data["answers"]["summary.clusters"][:1]
    rows[0]["cluster_name"] = cluster_name(NAMES[0])
    data["answers"]["summary.clusters"] = rows
    path = tmp_path / "汇总表.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    summary_draft = import_file(store, path)
    result = compile_district(store, District("永川区", ""), packages[:1], tmp_path / "out", summary=summary_draft)
    assert result.notice.id == "cq-2024" and not result.draft_copies  # the notice from the package
    ws = DistrictWorkspace(store, find_district(store, "永川区", "cq-2024"))
    [row] = ws.summary_rows()
    assert row["founded"] == "2013年6月" and row["industry"] == "数控机床及关键功能部件"  # the officer's values win
    assert row["operator"] == "重庆永川高新技术产业开发区管理委员会"
    assert ws.district.authority == "重庆市永川区经济和信息化委员会"  # taken from the summary's header


def test_a_summary_of_another_form_is_refused(store, packages, tmp_path):
    from clusterdesk.packages.district import read_summary

    with pytest.raises(DistrictError, match="不是区县的汇总材料"):
        read_summary(store, DEMO / "cq-2024-application.json")
    before = state(store)
    with pytest.raises(DistrictError, match="是“XX 区促进中小企业特色产业集群发展总结 \\(大纲\\)”"):
        compile_district(store, District("永川区", "cq-2024"), packages[:1], tmp_path / "o",
                         summary=DEMO / "sh-2023-district-summary.json")
    assert state(store) == before and not (tmp_path / "o").exists()


def test_shanghai_summary_from_its_template_and_its_checklist(store, tmp_path):
    """上海: the 区总结 template prefilled with the district, its text filled by the officer, compiled
    with it; the checklist asks for 纸质版2份 and 电子版光盘1份, and nothing else."""
    import json

    from clusterdesk.model.form import default_catalog
    from clusterdesk.packages import write_package
    from clusterdesk.packages.district import prefilled_summary
    from clusterdesk.templates import import_file

    rep = import_file(store, DEMO / "sh-2023-annual-report.json")
    pkg = write_package(store, rep, tmp_path / "r.cdpkg", documents=False)
    form = default_catalog().get("sh-2023-district-summary")
    xuhui = District("徐汇区", "sh-2023", "上海市徐汇区商务委员会")
    answers = prefilled_summary(form, xuhui, [pkg], store)
    assert answers == {"summary.authority": "上海市徐汇区商务委员会", "summary.district": "徐汇区"}
    demo = json.loads((DEMO / "sh-2023-district-summary.json").read_text(encoding="utf-8"))["answers"]
    filled = dict(demo, **answers)
    path = tmp_path / "区总结.json"
    path.write_text(json.dumps({"form": form.id, "version": 1, "answers": filled}, ensure_ascii=False), encoding="utf-8")
    result = compile_district(store, District("徐汇区", ""), [rep], tmp_path / "徐汇区", summary=path)
    assert not result.draft_copies and result.notice.id == "sh-2023"
    ws = DistrictWorkspace(store, find_district(store, "徐汇区", "sh-2023"))
    assert store.get_answers(ws.draft_id)["summary.overall"] == demo["summary.overall"]
    import docx

    ck = docx.Document(str(result.checklist))
    paper = next(t for t in ck.tables if t.rows[0].cells[1].text == "材料")
    got = [(r.cells[1].text, r.cells[3].text, r.cells[4].text) for r in paper.rows[1:]]
    assert got == [("嘉定区智能传感器产业集群 年度发展情况报告", "纸质版2份", "盖章"),
                   ("区促进中小企业特色产业集群发展总结", "纸质版2份", "盖章")]  # not the program's 目标完成情况
    text = "\n".join(p.text for p in ck.paragraphs)
    assert "□ 电子版光盘1份：“电子版.zip”中的全部文件（各份材料的可编辑版、Excel清单，见下表），刻录到光盘，共1张" in text
    assert "邮箱" not in text and "佐证材料" not in text and "重庆" not in text
    with zipfile.ZipFile(result.electronic_zip) as zf:
        assert not any("目标完成情况" in n for n in zf.namelist())
    assert any("目标完成情况" in p.name for p in result.files)  # still in the folder, for the officer


def test_the_notice_is_taken_from_the_inputs_or_asked_for(store, packages):
    from clusterdesk.packages import read_package
    from clusterdesk.packages.district import infer_notice
    from clusterdesk.templates import import_file

    assert infer_notice([read_package(packages[0])], None) == "cq-2024"
    sh = import_file(store, DEMO / "sh-2023-annual-report.json")
    with pytest.raises(DistrictError, match="分属不同的通知：cq-2024（渝经信中小〔2024〕7号）、sh-2023"):
        infer_notice([read_package(packages[0]), sh], None, store)
    with pytest.raises(DistrictError, match="无法从输入判断是哪一次通知，请用 --notice 指明，可用的有：cq-2024"):
        infer_notice([], None, store)


def test_the_notice_facts_are_the_notices_words(catalog):
    """Each form of a notice carries the same notice; what it quotes is in the notice word for word."""
    from cd_support import SEEDS

    seeds = {p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt")}
    by_notice: dict[str, set] = {}
    for f in catalog:
        by_notice.setdefault(f.form.notice.id, set()).add(f.form.notice)
        for quote in f.form.notice.requirements:
            assert any(quote in s for s in seeds), quote
        for item in f.form.notice.electronic:
            assert any(item.text in s for s in seeds), item
    assert all(len(v) == 1 for v in by_notice.values()), by_notice
    cq = catalog.get("cq-2024-summary").form.notice
    assert [(p.what, p.copies, p.sealed) for p in cq.paper] == [
        ("cluster_forms", 2, True), ("evidence", 2, False), ("district_form", 2, True)]
    assert [(e.text, e.content, e.via) for e in cq.electronic] == [
        ("盖章版PDF", "sealed_scan", "email"), ("可编辑电子版", "editable", "email")]

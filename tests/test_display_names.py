"""How drafts are named to users (GUI list and ``clusterdesk drafts`` alike), and which
district a cluster states it belongs to."""

from __future__ import annotations

import pytest
import yaml

from cd_support import DEMO, ROOT
from cd_support import run_cli as run

CLUSTER = "重庆市中小企业特色产业集群（永川数控机床产业）"
CQ_NOTICE = "关于组织开展2024年度重庆市中小企业特色产业集群申报工作的通知"


@pytest.fixture()
def drafts(store):
    from clusterdesk.annual import create_annual
    from clusterdesk.packages.district import District, create_district
    from clusterdesk.templates import import_file

    app = import_file(store, DEMO / "cq-2024-application.json")
    report = create_annual(store, app, "sh-2023-annual-report")
    district = create_district(store, District("永川区", "cq-2024", "重庆市永川区经济和信息化委员会"))
    return app, report, district


def test_display_names(store, drafts):
    from clusterdesk.service import display_name

    app, report, district = drafts
    names = {d.id: display_name(store, d) for d in store.list_drafts()}
    assert names == {app: CLUSTER, report: f"年度报告 2023 · {CLUSTER}", district: f"永川区 · {CQ_NOTICE}"}
    store.rename_draft(report, "我的报告")  # a name the user chose still says what it is
    assert display_name(store, store.get_draft(report)) == "年度报告 2023 · 我的报告"


def test_the_command_line_lists_the_same_names(tmp_path):
    db = tmp_path / "d.sqlite3"
    app = run("import", str(DEMO / "cq-2024-application.json"), db=db).stdout.strip()
    p = run("annual", app, "--form", "sh-2023-annual-report", db=db)
    assert p.returncode == 0, p.stderr
    lines = [line.split("\t") for line in run("drafts", db=db).stdout.strip().splitlines()]
    assert sorted(r[2] for r in lines) == sorted([CLUSTER, f"年度报告 2023 · {CLUSTER}"])


def test_the_district_meta_key_is_the_workspaces_own():
    from clusterdesk.packages.district import META_DISTRICT
    from clusterdesk.service import DISTRICT_META_KEY

    assert DISTRICT_META_KEY == META_DISTRICT


@pytest.mark.parametrize("pattern, ok", [("年度报告 {year} · {title}", True), ("{title}", True),
                                         ("{year} 年度报告", False), ("{title} {id}", False), ("{title", False)])
def test_list_name_may_only_use_year_and_title(tmp_path, pattern, ok):
    from clusterdesk.model.form import FormDefinitionError, load_form

    data = yaml.safe_load((ROOT / "forms" / "sh-2023-annual-report.yaml").read_text(encoding="utf-8"))
    data["list_name"] = pattern
    path = tmp_path / "f.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    if ok:
        assert load_form(path).form.list_name == pattern
    else:
        with pytest.raises(FormDefinitionError, match="list_name"):
            load_form(path)


def test_a_cluster_of_another_district(store, drafts):
    from clusterdesk.packages.district import DistrictWorkspace, cluster_district, same_district
    from clusterdesk.service import DraftSession

    app, _, district = drafts
    ws = DistrictWorkspace(store, district)
    ws.add_draft(app)
    assert cluster_district(store, app) == "永川区" and ws.other_districts() == {}
    DraftSession(store, app).set("cover.district", "璧山区")
    assert ws.other_districts() == {app: "璧山区"}
    DraftSession(store, app).set("cover.district", None)
    assert cluster_district(store, app) is None and ws.other_districts() == {}
    assert same_district("重庆市永川区", "永川区") and same_district("永川", "永川区")
    assert not same_district("璧山区", "永川区") and not same_district("江北区", "渝北区")

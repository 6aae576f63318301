"""The district window driven as an officer would: packages in, the cap, the summary table, print."""

from __future__ import annotations

from pathlib import Path

import pytest
from gui_helpers import edit_cell, fill_line, type_text

from clusterdesk.ui.qt import QApplication, QLabel, Qt
from cd_support import DEMO

pytestmark = pytest.mark.gui

RULE = "每个区县此次申报的中小企业特色产业集群数量原则上不超过3个，对超过报送数量的，不予受理。"
NAMES = ["永川数控机床产业", "永川智能装备产业", "永川食品加工产业", "永川汽车零部件产业"]


def cluster_name(industry: str) -> str:
    return f"重庆市中小企业特色产业集群（{industry}）"


@pytest.fixture(scope="module")
def packages(tmp_path_factory) -> list[Path]:
    from cd_support import cluster_packages

    return cluster_packages(tmp_path_factory.mktemp("gui-clusters"), NAMES)


@pytest.fixture()
def window(app, qtbot, store):
    from clusterdesk.packages.district import District, create_district
    from clusterdesk.ui.district import DistrictWindow

    did = create_district(store, District("永川区", "cq-2024", "重庆市永川区经济和信息化委员会", "张华", "13983012468"))
    launched = []
    opened = []
    w = DistrictWindow(store, did, launcher=lambda job, work: launched.append(job),
                       opener=lambda path: opened.append(path) or True)
    w.launched, w.opened = launched, opened
    w.confirm = lambda title, text: True
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def cluster_titles(w) -> list[str]:
    t = w.cluster_table
    return [t.item(r, 1).text() for r in range(t.rowCount())]


def test_importing_a_package_shows_the_cluster_and_fills_the_summary(window, packages, qtbot, store):
    window.choose_packages = lambda: [packages[0]]
    qtbot.mouseClick(window.import_button, Qt.MouseButton.LeftButton)
    assert cluster_titles(window) == [cluster_name(NAMES[0])]
    assert window.cluster_table.item(0, 2).text() == "无错误"
    assert window.cluster_table.item(0, 3).text().startswith("符合")
    assert window.cap_label.text() == "已加入 1/3 个集群"
    assert "已导入 1 个数据包" in window.message.text()
    s = window.summary_table
    headers = [s.horizontalHeaderItem(c).text() for c in range(s.columnCount())]
    assert headers == ["序号", "集群名称", "集群运营管理机构", "所在区（县）", "主导产业", "集群成立时间", "集群简介（150字以内）"]
    assert [s.item(0, c).text() for c in range(5)] == [
        "1", cluster_name(NAMES[0]), "重庆永川高新技术产业开发区管理委员会", "永川区", "数控机床产业"]  # no district
    assert "集群成立时间" in window.summary_problems.text()
    assert len(store.list_drafts()) == 2


def test_fourth_cluster_shows_the_notices_rule(window, packages, store):
    snaps = len(store.list_snapshots())
    added = window.import_packages(packages[:3])
    assert len(added) == 3 and window.cap_label.text() == "已加入 3/3 个集群"
    assert len(store.list_snapshots()) == snaps + 1  # one snapshot for the batch
    assert window.import_packages([packages[3]]) == []
    assert len(store.list_snapshots()) == snaps + 1  # a refused package writes nothing
    assert window.message.text() == RULE
    assert window.message.isVisible()
    assert len(cluster_titles(window)) == 3
    assert cluster_name(NAMES[3]) not in cluster_titles(window)


def test_duplicate_package_asks_and_replaces(window, packages, store):
    from clusterdesk.service import DraftSession

    [first] = window.import_packages([packages[0]])
    DraftSession(store, first).set("cover.contact", "本地改过")
    asked = []

    def ask(e):
        asked.append(e.existing.id)
        return "replace"

    window.ask_duplicate = ask
    [new] = window.import_packages([packages[0]])
    assert asked == [first] and new != first
    assert window.ws.cluster_ids() == [new]
    window.ask_duplicate = lambda e: None  # cancel: nothing changes
    DraftSession(store, new).set("cover.contact", "又改了")
    assert window.import_packages([packages[0]]) == []
    assert window.ws.cluster_ids() == [new]


def test_hostile_package_is_refused_with_its_message(window, tmp_path, store):
    bad = tmp_path / "坏的.cdpkg"
    bad.write_bytes(b"not a zip")
    before = [d.id for d in store.list_drafts()]
    window.import_packages([bad])
    assert "不是有效的 zip 文件" in window.message.text()
    assert [d.id for d in store.list_drafts()] == before


def edit_long_cell(qtbot, window, row: int, col: int, text: str):
    """Select a long summary cell, press Enter: the multi-line editor opens; type, click 确定."""
    t = window.summary_table
    t.setFocus()
    t.setCurrentCell(row, col)
    qtbot.keyClick(t, Qt.Key.Key_Return)
    dlg = window.long_text_dialog
    assert dlg is not None and dlg.isVisible()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dlg.edit)  # the cursor is in the editor
    dlg.edit.selectAll()
    type_text(qtbot, dlg.edit, text)
    counter = dlg.counter.text()
    qtbot.mouseClick(dlg.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dlg.isVisible())
    window.activateWindow()  # what the window manager does when the dialog closes
    qtbot.waitUntil(window.isActiveWindow)
    return counter


def test_editing_the_intro_past_150_characters_shows_an_error(window, packages, qtbot, store):
    window.import_packages([packages[0]])
    s = window.summary_table
    edit_cell(qtbot, s, 0, 5, "2016年5月")
    assert store.get_answers(window.ws.draft_id)["summary.clusters"][0]["founded"] == "2016年5月"
    counter = edit_long_cell(qtbot, window, 0, 6, "集" * 151)
    assert counter == "已输入 151 字，超出 1 字（150字以内）"
    rows = store.get_answers(window.ws.draft_id)["summary.clusters"]
    assert rows[0]["intro"] == "集" * 151
    text = window.summary_problems.text()
    assert "集群简介（150字以内）" in text and "超过150字" in text and "151" in text
    assert s.item(0, 6).toolTip() == "超过150字（现 151 字）　按 Enter 或双击，在多行编辑框中填写"
    assert edit_long_cell(qtbot, window, 0, 6, "集" * 150) == "已输入 150 字，还可输入 0 字（150字以内）"
    assert window.summary_problems.text() == ""
    assert s.item(0, 6).toolTip().startswith("150/150 字")


def test_district_fields_update_the_summary_header(window, qtbot, store):
    fill_line(qtbot, window.contact_edit, "liujing")
    QApplication.processEvents()
    assert store.get_answers(window.ws.draft_id)["summary.contact"] == "liujing 13983012468"
    assert window.ws.district.contact == "liujing"


def test_adding_a_local_draft_and_removing_it(window, store):
    from clusterdesk.service import DraftSession
    from clusterdesk.templates import import_file

    did = import_file(store, DEMO / "cq-2024-application.json")
    DraftSession(store, did).set("cover.cluster_name", cluster_name(NAMES[1]))
    assert [d.id for d in window.candidate_drafts()] == [did]
    assert window.add_draft(did)
    assert cluster_titles(window) == [cluster_name(NAMES[1])]
    window.cluster_table.selectRow(0)
    window.remove_selected()
    assert cluster_titles(window) == [] and window.summary_table.rowCount() == 0


def test_print_sends_every_document_in_two_copies(window, tmp_path):
    files = [tmp_path / "a-申报表.pdf", tmp_path / "b-申报表.docx"]
    for f in files:
        f.write_bytes(b"x")
    jobs = window.print_documents(files)
    assert [j.path for j in window.launched] == files
    assert all(j.copies == 2 for j in jobs)
    assert "每个2份" in window.message.text()


def test_compile_then_print_and_preview(window, packages, qtbot, tmp_path):
    window.import_packages(packages[:3])
    for r in range(3):
        edit_cell(qtbot, window.summary_table, r, 5, "2016年5月")
        edit_long_cell(qtbot, window, r, 6, "集群位于永川高新区。")
    out = tmp_path / "永川区报送材料"
    window.choose_output_folder = lambda: out
    qtbot.mouseClick(window.compile_button, Qt.MouseButton.LeftButton)
    assert window.last_result is not None, window.message.text()
    assert (out / "寄送清单.docx").is_file()
    assert window.print_button.isEnabled()
    window.print_all()
    assert [j.path for j in window.launched] == window.last_result.print_files
    assert all(j.copies == 2 for j in window.launched)
    assert window.findChild(QLabel, "resultLabel").text().startswith("已生成")


def _soffice() -> bool:
    from clusterdesk.export.pdf import find_soffice

    return find_soffice() is not None


@pytest.mark.soffice
@pytest.mark.skipif(not _soffice(), reason="LibreOffice is not installed")
def test_pdf_preview_converts_and_opens(window, packages, tmp_path):
    window.import_packages([packages[0]])
    window.draft_check.setChecked(True)  # the summary is not complete: a draft copy is enough here
    assert window.compile_to(tmp_path / "out") is not None, window.message.text()
    window.cluster_table.selectRow(0)
    pdf = window.preview_selected()
    assert pdf is not None and pdf.suffix == ".pdf" and pdf.read_bytes().startswith(b"%PDF-")
    assert window.opened == [pdf]
    assert "申报表" in pdf.name and pdf.parent != tmp_path / "out"  # the folder itself is left alone


def test_compile_never_overwrites_a_folder_that_is_not_ours_and_says_where_it_went(window, packages, qtbot,
                                                                                   tmp_path):
    window.import_packages([packages[0]])
    window.draft_check.setChecked(True)  # the summary is not complete: a draft copy is enough here
    mine = tmp_path / "我的文件夹"
    mine.mkdir()
    (mine / "我的盖章扫描件.pdf").write_bytes(b"%PDF scan")
    window.choose_output_folder = lambda: mine
    qtbot.mouseClick(window.compile_button, Qt.MouseButton.LeftButton)
    label = window.findChild(QLabel, "resultLabel")
    beside = tmp_path / "我的文件夹（2）"
    assert window.last_result is not None and window.last_result.folder == beside, window.message.text()
    assert "为避免覆盖" in label.text() and str(beside) in label.text()
    assert sorted(p.name for p in mine.iterdir()) == ["我的盖章扫描件.pdf"]
    # the officer edits the checklist in the compiled folder, then compiles again into it
    (beside / "寄送清单.docx").write_bytes(b"edited by the officer")
    window.choose_output_folder = lambda: beside
    qtbot.mouseClick(window.compile_button, Qt.MouseButton.LeftButton)
    assert window.last_result.folder == beside
    assert "已保留原文件" in label.text() and "寄送清单（重新编制）.docx" in label.text()
    assert (beside / "寄送清单.docx").read_bytes() == b"edited by the officer"


def test_the_officer_changes_the_leading_industry_and_sees_evidence_to_give_on_paper(window, packages, qtbot,
                                                                                      store, tmp_path):
    """主导产业 is prefilled without the district and stays as the officer types it; a ticked box
    whose evidence was not attached is named after the compile (未附（纸质提供））, and the
    cluster's evidence is among the files to print, never the Excel lists."""
    [first, second] = window.import_packages(packages[:2])
    assert window.summary_table.item(0, 4).text() == "数控机床产业"
    edit_cell(qtbot, window.summary_table, 0, 4, "数控机床及关键功能部件")
    # the cluster did not attach the evidence of one ticked box
    gone = [e for e in store.list_evidence(second) if e.option.startswith("开展供应链风险评估工作")]
    assert gone
    for e in gone:
        store.remove_evidence(e.id)
    window.refresh()
    assert window.summary_table.item(0, 4).text() == "数控机床及关键功能部件"  # the officer's value stays
    for r in range(2):
        edit_cell(qtbot, window.summary_table, r, 5, "2016年5月")
        edit_long_cell(qtbot, window, r, 6, "集群位于永川高新区。")
    window.choose_output_folder = lambda: tmp_path / "out"
    qtbot.mouseClick(window.compile_button, Qt.MouseButton.LeftButton)
    result = window.last_result
    assert result is not None, window.message.text()
    line = (f"“{cluster_name(NAMES[1])}”：二、主导产业情况 · 集群已开展的产业链强链补链工作 · "
            "开展供应链风险评估工作，建立供应链风险防范机制：未附（纸质提供）")
    assert result.missing_evidence == [line]
    assert window.message.text() == line and window.message.isVisible()
    assert "1 个勾选项未附佐证材料，须纸质提供" in window.findChild(QLabel, "resultLabel").text()
    printed = result.print_files
    assert any(p.parent.name == "佐证材料" for p in printed)
    assert not any(p.suffix == ".xlsx" for p in printed)
    asked = []
    window.confirm = lambda title, text: asked.append(text) or True
    window.print_all()
    assert [j.path for j in window.launched] == printed and all(j.copies == 2 for j in window.launched)
    evidence = [p for p in printed if p.parent.name == "佐证材料" and p.parent.parent.name == f"1-{NAMES[0]}"]
    assert f"1-{NAMES[0]}/佐证材料/ 中的 {len(evidence)} 个文件（各2份）" in asked[0].splitlines()
    rows = window.ws.summary_rows()
    assert rows[0]["industry"] == "数控机床及关键功能部件" and rows[1]["industry"] == "智能装备产业"

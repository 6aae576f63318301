"""The draft window driven as a user would: typing, clicking, shortcuts; then what the user sees
and what is in the SQLite store."""

from __future__ import annotations

import re

import pytest
from gui_helpers import balloon_of, by_name, compose, edit_cell, fill_line, type_text

from clusterdesk.ui.qt import QApplication, QGuiApplication, QLabel, QPushButton, Qt
from clusterdesk.ui.editors import (
    BoxesEditor,
    ChoiceEditor,
    GridEditor,
    LineFieldEditor,
    NarrativeEditor,
    RepeatEditor,
)

pytestmark = pytest.mark.gui


def editor(win, key):
    """Show the section of ``key`` and return the editor widget that holds it."""
    win.jump_to(key)
    ed = win.current_page().editor_for_key(key)
    assert ed is not None, key
    return ed


def leave(qtbot, widget):
    """The user moves on with Tab (focus leaves the field)."""
    qtbot.keyClick(widget, Qt.Key.Key_Tab)


# -- typing and validation ---------------------------------------------------------------------


def test_letters_in_number_field_are_rejected(qtbot, open_window, new_draft, store):
    did = new_draft()
    win = open_window(did)
    ed = editor(win, "basic.area")
    assert isinstance(ed, LineFieldEditor)
    qtbot.mouseClick(ed.edit, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(ed.edit, "abc")
    assert ed.edit.text() == ""
    balloon = balloon_of(win)
    assert balloon is not None and balloon.isVisible()
    assert balloon.text() == "“c”不是数字：此栏只能填写数字"  # the last key refused
    # full-width digits from a paste are taken and the core formats them
    type_text(qtbot, ed.edit, "３８.６")
    qtbot.keyClick(ed.edit, Qt.Key.Key_Return)
    assert ed.edit.text() == "38.60"
    assert store.get_answers(did)["basic.area"] == "38.60"
    qtbot.waitUntil(lambda: not balloon.isVisible(), timeout=6000)  # it goes by itself


def test_refused_number_keeps_text_and_shows_message(qtbot, open_window, new_draft, store):
    did = new_draft()
    win = open_window(did)
    ed = editor(win, "basic.area")
    fill_line(qtbot, ed.edit, "-5")
    assert ed.edit.text() == "-5"  # the user's text stays for correcting
    assert ed.problem_label.isVisible()
    assert "不能小于 0" in ed.problem_label.text()
    assert ed.edit.property("invalid") is True
    assert "basic.area" not in store.get_answers(did)
    fill_line(qtbot, ed.edit, "5")
    assert not ed.problem_label.isVisible()
    assert ed.edit.property("invalid") is False
    assert store.get_answers(did)["basic.area"] == "5.00"


def test_ime_composition_is_not_validated_until_the_field_is_left(qtbot, open_window, new_draft, store):
    did = new_draft()
    win = open_window(did)
    ed = editor(win, "cover.district")
    qtbot.mouseClick(ed.edit, Qt.MouseButton.LeftButton)
    compose(ed.edit, "yong")  # 拼音 still being composed
    compose(ed.edit, "yongchuan")
    assert "cover.district" not in store.get_answers(did)
    assert not ed.problem_label.isVisible()
    type_text(qtbot, ed.edit, "永川区")  # the input method commits
    assert "cover.district" not in store.get_answers(did)
    leave(qtbot, ed.edit)
    assert store.get_answers(did)["cover.district"] == "永川区"


def test_narrative_past_200_chars_turns_counter_red_with_message(qtbot, open_window, new_draft, store):
    did = new_draft()
    win = open_window(did)
    ed = editor(win, "industry.chain_status")
    assert isinstance(ed, NarrativeEditor)
    qtbot.mouseClick(ed.edit.viewport(), Qt.MouseButton.LeftButton)
    type_text(qtbot, ed.edit, "集" * 198)
    assert ed.counter.text() == "198/200"
    assert ed.counter.property("role") == "counter"
    type_text(qtbot, ed.edit, "群产业链")  # typing past the limit is allowed
    assert ed.counter.text() == "202/200"
    assert ed.counter.property("role") == "counter-over"
    assert "已超出 2 字" in ed.overflow_label.text()
    assert ed.edit.extraSelections(), "the overflowing characters are marked"
    leave(qtbot, ed.edit)
    assert ed.problem_label.isVisible()
    assert "超过200字限制" in ed.problem_label.text()
    assert ed.problem_label.level == "error"
    assert len(store.get_answers(did)["industry.chain_status"]) == 202  # kept, to be trimmed
    # trim: back under the limit, the marks go
    qtbot.mouseClick(ed.edit.viewport(), Qt.MouseButton.LeftButton)
    for _ in range(3):
        qtbot.keyClick(ed.edit, Qt.Key.Key_Backspace)
    assert ed.counter.text() == "199/200"
    assert not ed.edit.extraSelections()
    leave(qtbot, ed.edit)
    assert not ed.problem_label.isVisible()


def test_plan_section_counts_all_narratives_against_3000(qtbot, open_window, new_draft):
    did = new_draft()
    win = open_window(did)
    ed = editor(win, "plan.overview")
    page = win.current_page()
    assert page.total_label is not None and page.total_label.text() == "本部分合计 0/3000 字"
    headings = [w.text() for w in page.findChildren(QLabel)]
    assert "四、未来三年中小企业特色产业集群发展规划" in headings
    qtbot.mouseClick(ed.edit.viewport(), Qt.MouseButton.LeftButton)
    ed.edit.insertPlainText("甲" * 2000)  # a paste
    ed2 = page.editor_for_key("plan.achievements")
    ed2.edit.setFocus()
    ed2.edit.insertPlainText("乙" * 1001)
    assert page.total_label.text() == "本部分合计 3001/3000 字，超出 1 字"
    assert page.total_label.property("role") == "counter-over"


# -- boxes and evidence ----------------------------------------------------------------------------


def test_ticked_box_without_evidence_is_marked_then_attach_file(qtbot, open_window, new_draft, store,
                                                                tmp_path, monkeypatch):
    did = new_draft()
    win = open_window(did)
    ed = editor(win, "industry.chain_work")
    assert isinstance(ed, BoxesEditor)
    opt = "绘制产业链图谱，开展产业链培育"
    panel = ed.panels[opt]
    assert not panel.isVisible()
    qtbot.mouseClick(ed.boxes[opt], Qt.MouseButton.LeftButton)
    assert store.get_answers(did)["industry.chain_work"] == [opt]
    assert panel.isVisible()
    assert panel.missing.isVisible() and "未添加佐证材料" in panel.missing.text()
    assert "尚未添加佐证材料" in ed.problem_label.text()

    f = tmp_path / "产业链图谱.pdf"
    f.write_bytes(b"%PDF-1.4 evidence")
    from clusterdesk.ui.qt import QFileDialog

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(lambda *a, **k: ([str(f)], "")))
    qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    assert not panel.missing.isVisible()
    assert panel.files_label.isVisible() and "产业链图谱.pdf" in panel.files_label.text()
    assert panel.filenames() == ["产业链图谱.pdf"]
    assert not ed.problem_label.isVisible()
    ev = store.list_evidence(did)
    assert [(e.key, e.option, e.filename) for e in ev] == [("industry.chain_work", opt, "产业链图谱.pdf")]


def test_choice_yes_with_evidence_and_integer_with_evidence(qtbot, open_window, new_draft, store):
    did = new_draft()
    win = open_window(did)
    ed = editor(win, "green.carbon_monitoring")
    assert isinstance(ed, ChoiceEditor)
    assert not ed.evidence.isVisible()
    qtbot.mouseClick(ed.buttons[0], Qt.MouseButton.LeftButton)  # 是
    assert store.get_answers(did)["green.carbon_monitoring"] == "是"
    assert ed.evidence.isVisible() and ed.evidence.missing.isVisible()
    ed2 = editor(win, "opening.overseas_branches")
    fill_line(qtbot, ed2.edit, "3")
    assert ed2.evidence.isVisible() and ed2.evidence.missing.isVisible()
    fill_line(qtbot, ed2.edit, "0")
    assert not ed2.evidence.isVisible()


# -- navigation --------------------------------------------------------------------------------------


def test_alt_right_and_alt_left_move_between_sections(qtbot, open_window, new_draft):
    win = open_window(new_draft())
    assert win.current_index() == 0
    qtbot.keyClick(win.section_list, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    assert win.current_index() == 1
    assert win.section_list.currentRow() == 1
    assert "填报说明" in win.position_label.text()
    qtbot.mouseClick(win.next_button, Qt.MouseButton.LeftButton)
    assert win.current_index() == 2
    assert "一、基本情况" in win.position_label.text()
    qtbot.keyClick(win.section_list, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert win.current_index() == 1
    titles = [win.section_list.item(i).text().split("\n")[0] for i in range(win.section_list.count())]
    assert titles[:3] == ["封面", "填报说明", "一、基本情况"] and titles[-1] == "九、真实性声明"


def test_ctrl_f_finds_a_field_by_label_and_focuses_it(qtbot, open_window, new_draft):
    win = open_window(new_draft())
    qtbot.keyClick(win.section_list, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    dlg = win.find_dialog
    assert dlg is not None and dlg.isVisible()
    type_text(qtbot, dlg.filter, "工业互联网平台")
    shown = [dlg.list.item(i).text() for i in range(dlg.list.count())]
    assert shown == ["集群工业互联网平台应用普及率（%）　—　四、数字化升级情况"]
    qtbot.keyClick(dlg.filter, Qt.Key.Key_Return)
    assert not dlg.isVisible()
    assert win.current_index() == 5  # 封面, 填报说明, 一 … 四
    target = win.current_page().editor_for_key("digital.iiot_rate").edit
    assert QApplication.focusWidget() is target


def test_check_all_groups_by_section_and_collapses_sections_not_started(qtbot, open_window, new_draft):
    win = open_window(new_draft())
    win.jump_to("industry.total_output.2021")
    cell = by_name(win, "集群总产值（亿元） 2021年")
    qtbot.mouseClick(cell, Qt.MouseButton.LeftButton)
    type_text(qtbot, cell, "52.3\n")
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F7)
    dlg = win.problems_dialog
    assert dlg is not None and dlg.isVisible()
    lines = dlg.lines()
    # sections not started: one line each, with how many required items wait there
    innovation = win.form.section("innovation")
    required = sum(1 for f in innovation.fields() if f.required and not f.readonly and not f.relevant)
    assert f"三、创新能力情况：未开始（{required}项必填）" in lines
    i = lines.index(f"三、创新能力情况：未开始（{required}项必填）")
    assert not lines[i + 1].startswith(("✖", "⚠")), "a section not started lists nothing under it"
    assert not any(line.startswith("九、真实性声明") for line in lines)  # nothing to answer there
    # the section being filled: its count, errors first, the empty years of one field on one line
    head = next(line for line in lines if line.startswith("二、主导产业情况"))
    assert re.fullmatch(r"二、主导产业情况　\d+ 个错误", head)
    under = lines[lines.index(head) + 1:]
    merged = "✖ 错误　集群总产值（亿元）：2022年、2023年共 2 格未填写；无相关情况时请填 0"
    assert merged in under
    assert not any("集群总产值（亿元） 2021年" in line for line in lines)
    # a click jumps to the first empty cell
    top = dlg.tree.topLevelItem(2)
    item = next(top.child(j) for j in range(top.childCount()) if top.child(j).text(0) == merged)
    dlg.tree.scrollToItem(item)
    qtbot.mouseClick(dlg.tree.viewport(), Qt.MouseButton.LeftButton, pos=dlg.tree.visualItemRect(item).center())
    assert win.current_index() == 3
    assert QApplication.focusWidget() is by_name(win, "集群总产值（亿元） 2022年")
    # the started section now says what it lacks; sections not started stay calm
    assert win.section_state_text(3).startswith("缺 ") and win.section_state_text(3).endswith(" 项必填")
    assert win.section_state_text(4) == "未开始"
    assert win.section_state_text(len(win.form.sections) - 1) == "无需填写"
    grid = win.current_page().editor_for_key("industry.total_output.2022")
    assert "必填栏目不得空缺" in grid.problem_label.text()
    win.jump_to("innovation.employees")
    assert not win.current_page().editor_for_key("innovation.employees").problem_label.isVisible()


# -- undo / redo ----------------------------------------------------------------------------------


def test_undo_redo_text_box_and_row(qtbot, open_window, new_draft, store):
    did = new_draft()
    win = open_window(did)
    text = editor(win, "cover.district")
    fill_line(qtbot, text.edit, "永川区")
    boxes = editor(win, "governance.services")
    qtbot.mouseClick(boxes.boxes["信息服务"], Qt.MouseButton.LeftButton)
    rep = editor(win, "opening.overseas_list")
    qtbot.mouseClick(rep.add_button, Qt.MouseButton.LeftButton)
    edit_cell(qtbot, rep.table, 0, 2, "泰国")
    assert store.get_answers(did)["opening.overseas_list"] == [{"country": "泰国"}]

    ctrl = Qt.KeyboardModifier.ControlModifier
    focus = QApplication.focusWidget() or win
    qtbot.keyClick(focus, Qt.Key.Key_Z, ctrl)  # the row edit
    assert "opening.overseas_list" not in store.get_answers(did)
    assert win.current_index() == 7
    qtbot.keyClick(QApplication.focusWidget() or win, Qt.Key.Key_Z, ctrl)  # the tick
    assert "governance.services" not in store.get_answers(did)
    assert win.current_index() == 8 and not boxes.boxes["信息服务"].isChecked()
    qtbot.keyClick(QApplication.focusWidget() or win, Qt.Key.Key_Z, ctrl)  # the text
    assert "cover.district" not in store.get_answers(did)
    assert win.current_index() == 0 and text.edit.text() == ""

    qtbot.keyClick(QApplication.focusWidget() or win, Qt.Key.Key_Y, ctrl)
    assert text.edit.text() == "永川区" and store.get_answers(did)["cover.district"] == "永川区"
    qtbot.keyClick(QApplication.focusWidget() or win, Qt.Key.Key_Y, ctrl)
    assert boxes.boxes["信息服务"].isChecked()
    qtbot.keyClick(QApplication.focusWidget() or win, Qt.Key.Key_Y, ctrl)
    assert rep.table.item(0, 2).text() == "泰国"
    assert store.get_answers(did)["opening.overseas_list"] == [{"country": "泰国"}]


def test_ctrl_z_while_typing_undoes_inside_the_field_only(qtbot, open_window, new_draft, store):
    did = new_draft()
    win = open_window(did)
    ed = editor(win, "cover.district")
    fill_line(qtbot, ed.edit, "永川区")
    qtbot.keyClicks(ed.edit, "xy")
    qtbot.keyClick(ed.edit, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert ed.edit.text() == "永川区"  # the field's own undo took the typing back
    assert store.get_answers(did)["cover.district"] == "永川区"


# -- repeat tables --------------------------------------------------------------------------------


def test_repeat_table_add_move_remove_rows(qtbot, open_window, new_draft, store):
    did = new_draft()
    win = open_window(did)
    rep = editor(win, "innovation.platforms_other_names")
    assert isinstance(rep, RepeatEditor)
    for name in ("平台甲", "平台乙", "平台丙"):
        qtbot.mouseClick(rep.add_button, Qt.MouseButton.LeftButton)
        edit_cell(qtbot, rep.table, rep.table.rowCount() - 1, 0, name)
    key = "innovation.platforms_other_names"
    assert store.get_answers(did)[key] == [{"name": "平台甲"}, {"name": "平台乙"}, {"name": "平台丙"}]
    rep.table.setCurrentCell(2, 0)
    qtbot.mouseClick(rep.up_button, Qt.MouseButton.LeftButton)
    assert [rep.table.item(i, 0).text() for i in range(3)] == ["平台甲", "平台丙", "平台乙"]
    assert store.get_answers(did)[key] == [{"name": "平台甲"}, {"name": "平台丙"}, {"name": "平台乙"}]
    rep.table.setCurrentCell(0, 0)
    qtbot.mouseClick(rep.down_button, Qt.MouseButton.LeftButton)
    assert store.get_answers(did)[key] == [{"name": "平台丙"}, {"name": "平台甲"}, {"name": "平台乙"}]
    rep.table.setCurrentCell(1, 0)
    qtbot.mouseClick(rep.del_button, Qt.MouseButton.LeftButton)
    assert rep.table.rowCount() == 2
    assert store.get_answers(did)[key] == [{"name": "平台丙"}, {"name": "平台乙"}]


def test_fixed_rows_are_prefilled_and_not_deletable(qtbot, open_window, new_draft, store):
    did = new_draft()
    win = open_window(did)
    rep = editor(win, "plan.targets")
    assert rep.table.rowCount() == 14
    assert rep.table.item(0, 1).text() == "集群产值年均增速"
    assert not rep.table.item(0, 1).flags() & Qt.ItemFlag.ItemIsEditable
    assert rep.table.item(2, 1).flags() & Qt.ItemFlag.ItemIsEditable  # the "......" row
    rep.table.setCurrentCell(0, 0)
    assert not rep.del_button.isEnabled()
    edit_cell(qtbot, rep.table, 0, 2, "6.50%")
    rows = store.get_answers(did)["plan.targets"]
    assert rows[0] == {"key": "output_growth", "direction": "主导产业", "indicator": "集群产值年均增速",
                       "baseline": "6.50%"}
    assert len(rows) == 14


def test_paste_rows_copied_from_excel(qtbot, open_window, new_draft, store):
    did = new_draft()
    win = open_window(did)
    rep = editor(win, "opening.overseas_list")
    QGuiApplication.clipboard().setText("甲公司\t甲（泰国）公司\t泰国\t2019\n乙公司\t乙欧洲中心\t德国\t2021\n")
    rep.table.setFocus()
    qtbot.keyClick(rep.table, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert rep.table.rowCount() == 2
    assert store.get_answers(did)["opening.overseas_list"] == [
        {"company": "甲公司", "name": "甲（泰国）公司", "country": "泰国", "year": 2019},
        {"company": "乙公司", "name": "乙欧洲中心", "country": "德国", "year": 2021},
    ]


# -- computed values and eligibility -------------------------------------------------------------------


def test_computed_value_shows_formula_and_override_asks_reason(qtbot, open_window, demo_draft, store):
    win = open_window(demo_draft)
    ed = editor(win, "industry.leading_cagr")
    assert ed.computed_edit.isReadOnly()
    assert ed.computed_edit.text() == "14.80"
    assert "计算公式" in ed.computed_edit.toolTip() and "水平法" in ed.computed_edit.toolTip()
    assert not ed.note_edit.isVisible()
    fill_line(qtbot, ed.edit, "15")
    assert ed.edit.text() == "15.00"
    assert ed.note_edit.isVisible()
    assert "请注明原因" in ed.problem_label.text()
    fill_line(qtbot, ed.note_edit, "采用统计局口径")
    assert store.get_notes(demo_draft)["industry.leading_cagr"] == "采用统计局口径"
    assert not ed.problem_label.isVisible()
    # the computed value follows its inputs
    grid = editor(win, "industry.total_output.2023")
    fill_line(qtbot, grid.edits["industry.total_output.2023"], "80")
    ed2 = editor(win, "industry.leading_cagr")
    assert ed2.computed_edit.text() != "14.80"
    # a read-only copy (一、基本情况 · 集群名称) shows the cover's value
    copy = editor(win, "basic.cluster_name")
    assert copy.edit is None and copy.computed_edit.text() == "重庆市中小企业特色产业集群（永川数控机床产业）"


def test_eligibility_panel_updates_when_2021_output_is_23_10(qtbot, open_window, demo_draft):
    win = open_window(demo_draft)
    panel = win.eligibility
    assert panel.status_of("output") == "符合"
    head, detail = panel.rows["output"]
    assert "符合" in head.text()
    grid = editor(win, "industry.total_output.2021")
    fill_line(qtbot, grid.edits["industry.total_output.2021"], "23.1")
    assert grid.edits["industry.total_output.2021"].text() == "23.10"
    assert panel.status_of("output") == "不符合"
    assert "不符合" in head.text()
    assert "2021年：23.10 亿元，低于申报条件 25 亿元" in detail.text()
    assert "不符合 1 项" in panel.summary.text()
    # section 八's target rules are listed too
    assert any("产值年均增速不低于6%" in lab.text() for lab in panel.target_rows.values())


def test_section_list_shows_states(qtbot, open_window, new_draft):
    win = open_window(new_draft())
    assert win.section_state_text(0) == "未开始"
    ed = editor(win, "cover.district")
    fill_line(qtbot, ed.edit, "永川区")
    assert win.section_state_text(0) == "填写中"
    assert win.section_list.item(0).text() == "封面\n填写中"
    area = editor(win, "basic.area")
    fill_line(qtbot, area.edit, "12")
    smes = editor(win, "industry.smes.2021")
    fill_line(qtbot, smes.edits["industry.smes.2021"], "50")
    fill_line(qtbot, smes.edits["industry.enterprises.2021"], "10")
    assert win.section_state_text(3) == "有错误"  # 中小企业数量 above 企业数量


def test_ctrl_s_shows_saved_time_and_status_bar(qtbot, open_window, new_draft):
    win = open_window(new_draft())
    qtbot.keyClick(win.section_list, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert win.saved_label.text().startswith("已保存 ")
    assert len(win.saved_label.text()) == len("已保存 12:34:56")


def test_export_placeholder_when_export_is_missing(qtbot, open_window, new_draft, monkeypatch):
    from clusterdesk.ui import panels

    monkeypatch.setattr(panels, "load_exporter", lambda: None)
    win = open_window(new_draft())
    win.export_action.trigger()
    dlg = win.export_dialog
    assert dlg is not None and dlg.isVisible()
    assert "正在开发中" in dlg.message.text()
    dlg.close()


def test_export_writes_word_files_or_explains_errors(qtbot, open_window, demo_draft, new_draft, tmp_path):
    from clusterdesk.ui import panels

    if panels.load_exporter() is None:
        pytest.skip("export not installed")
    out = tmp_path / "导出"
    out.mkdir()
    win = open_window(demo_draft)
    win.export_action.trigger()
    dlg = win.export_dialog
    dlg.folder.setText(str(out))
    dlg.pdf.setChecked(False)
    ok = next(b for b in dlg.findChildren(QPushButton) if b.text() == "导出")
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dlg.running(), timeout=60_000)  # the export runs in a worker thread
    assert "已导出" in dlg.message.text()
    assert any(p.suffix == ".docx" for p in out.iterdir())
    dlg.close()
    # an empty draft has errors: the final export is refused with a clear message
    win2 = open_window(new_draft())
    win2.export_action.trigger()
    dlg2 = win2.export_dialog
    dlg2.folder.setText(str(out))
    dlg2.pdf.setChecked(False)
    ok2 = next(b for b in dlg2.findChildren(QPushButton) if b.text() == "导出")
    qtbot.mouseClick(ok2, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dlg2.running(), timeout=60_000)
    assert "不能导出正式材料" in dlg2.message.text()
    dlg2.close()


def test_tab_order_follows_the_form(qtbot, open_window, new_draft):
    win = open_window(new_draft())
    page = win.current_page()
    edits = [page.editor_for_key(f"cover.{f.id}").edit for f in win.form.sections[0].fields()]
    edits[0].setFocus()
    seen = [QApplication.focusWidget()]
    for _ in range(len(edits) - 1):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        seen.append(QApplication.focusWidget())
    assert seen == edits

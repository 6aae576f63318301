"""Annual reports in the UI: 新建年度报告 from the start screen, values carried from the application
and marked when changed, the 目标完成情况 view with its chart, and 复制为下一年度."""

from __future__ import annotations

import re
import shutil

import pytest

from cd_support import DEMO, ROOT
from clusterdesk.ui.qt import QApplication, QColor, QDialog, QMessageBox, Qt

from gui_helpers import edit_cell, fill_line

pytestmark = pytest.mark.gui

REPORT = "sh-2023-annual-report"


@pytest.fixture()
def catalog_2024(tmp_path):
    """Next year's notice as a new definition file (made from the 2023 file as the author's guide says)."""
    from authoring_support import catalog_with_next_year

    return catalog_with_next_year(tmp_path)



@pytest.fixture()
def make_start(app, qtbot, store):
    from clusterdesk.ui.start import StartWindow

    made = []

    def _make(catalog=None):
        w = StartWindow(store, catalog)
        w.show()
        qtbot.waitExposed(w)
        made.append(w)
        return w

    yield _make
    for w in made:
        w.close()
        w.deleteLater()
    QApplication.processEvents()


@pytest.fixture()
def choose(monkeypatch):
    """The 新建年度报告 dialog answers 新建 (after an optional change of year); what it offered is kept."""
    from clusterdesk.ui.annual import AnnualChoiceDialog

    seen: dict = {"year": None}

    def exec_(self):
        seen["forms"] = [self.form_combo.itemData(i) for i in range(self.form_combo.count())]
        seen["default_year"] = self.year_spin.value()
        if seen["year"] is not None:
            self.year_spin.setValue(seen["year"])
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(AnnualChoiceDialog, "exec", exec_)
    return seen


@pytest.fixture()
def messages(monkeypatch):
    """QMessageBox.information / warning record (title, text) instead of blocking."""
    seen: list[tuple[str, str, str]] = []

    def box(kind):
        def _show(parent, title, text, *a, **k):
            seen.append((kind, title, text))
            return QMessageBox.StandardButton.Ok
        return staticmethod(_show)

    monkeypatch.setattr(QMessageBox, "information", box("information"))
    monkeypatch.setattr(QMessageBox, "warning", box("warning"))
    return seen


def _activate(qtbot, win):
    qtbot.waitExposed(win)
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)
    return win


def _new_report(qtbot, start, store, app_id):
    start.refresh(app_id)
    assert start.annual_button.isEnabled() and not start.next_year_button.isEnabled()
    before = {d.id for d in store.list_drafts()}
    qtbot.mouseClick(start.annual_button, Qt.MouseButton.LeftButton)
    [new] = [d for d in store.list_drafts() if d.id not in before]
    return new, _activate(qtbot, start.windows[new.id])


def _editor(win, key):
    assert win.jump_to(key)
    return win.current_page().editor_for_key(key)


def _targets_row(editor, row_key):
    return editor.row_keys.index(row_key)


def _column(editor, col_id):
    return next(j for j, c in enumerate(editor.field.columns) if c.id == col_id)


# -- 新建年度报告 ---------------------------------------------------------------------------------


def test_new_report_from_the_start_screen_shows_where_values_came_from(qtbot, make_start, store, demo_draft,
                                                                       choose):
    start = make_start()
    info, win = _new_report(qtbot, start, store, demo_draft)
    offered = [f.id for f in start.catalog if any(pf.source_form == "cq-2024-application" for pf in f.form.prefill)]
    assert choose["forms"] == offered and REPORT in offered and choose["default_year"] == 2023
    assert info.form_id == REPORT and info.linked_draft_id == demo_draft
    assert start.selected_id() == info.id and start.next_year_button.isEnabled()
    assert not start.annual_button.isEnabled()  # a report is not an application
    assert "永川数控机床产业" in win.windowTitle()

    ed = _editor(win, "basic.area")
    assert ed.edit.text() == "38.60"
    note = ed.carried_note
    assert note is not None and note.isVisible() and note.source_label.isVisible()
    # the source is named by the application's title, never by a draft number
    assert note.source_label.text() == ("↳ 来自申报材料“重庆市中小企业特色产业集群（永川数控机床产业）” · "
                                        "一、基本情况 · 集群占地面积（平方公里）")
    assert not note.changed_label.isVisible()
    cover = _editor(win, "cover.cluster_name")
    assert "来自申报材料" in cover.carried_note.source_label.text()

    targets = _editor(win, "work.targets")
    r, c = _targets_row(targets, "patents"), _column(targets, "target")
    item = targets.table.item(r, c)
    assert item.text() == "486件"
    assert item.toolTip().startswith("来自申报材料“重庆市中小企业特色产业集群（永川数控机床产业）”")
    assert "2023年基准值" in item.toolTip()
    assert "13 个单元格来自申报材料" in targets.carried_note.source_label.text()

    # the 目标完成情况 view is there (the application's own window has none)
    assert win.achievement is not None and win.achievement_dock.isVisible()
    assert win.achievement_action is not None and win.achievement_action.isChecked()
    app_win = start.open_draft(demo_draft)
    assert app_win.achievement is None and app_win.achievement_action is None


def test_a_year_without_a_form_is_refused_in_chinese(qtbot, make_start, store, demo_draft, choose, messages):
    start = make_start()
    start.refresh(demo_draft)
    choose["year"] = 2030
    qtbot.mouseClick(start.annual_button, Qt.MouseButton.LeftButton)
    assert [(k, t) for k, t, _ in messages] == [("warning", "无法新建年度报告")]
    assert "没有 2030 年度" in messages[0][2]
    assert [d.id for d in store.list_drafts()] == [demo_draft]
    assert not start.windows


def test_annual_buttons_follow_the_selection(make_start, store):
    from clusterdesk.model.form import default_catalog
    from clusterdesk.service import create_draft

    start = make_start()
    assert not start.annual_button.isEnabled() and not start.next_year_button.isEnabled()  # nothing selected
    summary = create_draft(store, default_catalog().get("cq-2024-summary"))
    start.refresh(summary.id)
    assert not start.annual_button.isEnabled()  # no report form is prefilled from a summary table


# -- carried values, changed since ----------------------------------------------------------------


def test_changed_area_is_marked_with_the_applications_value(qtbot, make_start, store, demo_draft, choose):
    start = make_start()
    _info, win = _new_report(qtbot, start, store, demo_draft)
    ed = _editor(win, "basic.area")
    fill_line(qtbot, ed.edit, "40")
    assert ed.edit.text() == "40.00"
    note = ed.carried_note
    assert note.changed_label.isVisible()
    assert note.changed_label.text() == "◆ 与申报材料不同：申报材料为 38.60 平方公里"
    assert note.source_label.isVisible()  # the source stays named
    # typed back as it was: no longer marked
    fill_line(qtbot, ed.edit, "38.6")
    assert not note.changed_label.isVisible()
    # undo brings the change and its mark back
    win.undo()
    assert ed.edit.text() == "40.00" and note.changed_label.isVisible()


def test_changed_target_is_marked_and_an_error_with_both_numbers(qtbot, make_start, store, demo_draft, choose):
    start = make_start()
    _info, win = _new_report(qtbot, start, store, demo_draft)
    targets = _editor(win, "work.targets")
    r, c = _targets_row(targets, "patents"), _column(targets, "target")
    edit_cell(qtbot, targets.table, r, c, "450件")
    item = targets.table.item(r, c)
    assert item.text() == "450件"
    assert item.background().color() == QColor("#fff1cc")
    assert item.toolTip().startswith("与申报材料不同：申报材料为 486件")
    assert targets.carried_note.changed_label.text() == "◆ 有效发明专利数量 · 2023 年目标值：与申报材料不同，申报材料为 486件"
    other = targets.table.item(_targets_row(targets, "co2"), c)
    assert other.background().style() == Qt.BrushStyle.NoBrush  # unchanged cells stay plain
    assert "“450件”与申报材料中所定目标“486件”不一致" in targets.problem_label.text()

    dlg = win.check_all()
    lines = dlg.lines()
    hit = [t for t in lines if "450件" in t and "486件" in t]
    assert len(hit) == 1 and hit[0].startswith("✖ 错误")
    assert "“有效发明专利数量”的2023 年目标值“450件”与申报材料中所定目标“486件”不一致" in hit[0]
    dlg.close()

    # the same number written differently is the same target: mark and error go
    edit_cell(qtbot, targets.table, r, c, "486件")
    assert targets.table.item(r, c).background().style() == Qt.BrushStyle.NoBrush
    assert not targets.carried_note.changed_label.isVisible()


# -- 目标完成情况 -----------------------------------------------------------------------------------


def test_achievement_view_and_chart_follow_the_numbers(qtbot, make_start, store, demo_draft, choose):
    start = make_start()
    _info, win = _new_report(qtbot, start, store, demo_draft)
    panel = win.achievement
    # the application's 2023 patent count (486) is prefilled into the 2023 report: already computed
    assert panel.status_of("patents") == "达成" and panel.status_of("rd_spending") == "待填写"
    row = next(i for i, a in enumerate(panel.rows) if a.key == "patents")
    assert [panel.table.item(row, j).text() for j in range(5)] == ["创新", "有效发明专利数量", "486件", "486.00（计算）",
                                                                   "达成"]

    ed = _editor(win, "innovation.patents.2023")
    fill_line(qtbot, ed.edits["innovation.patents.2023"], "520")
    assert panel.status_of("patents") == "达成"
    cells = [panel.table.item(row, j) for j in range(5)]
    assert [c.text() for c in cells] == ["创新", "有效发明专利数量", "486件", "520.00（计算）", "达成"]
    assert cells[3].toolTip() == "按公式计算：三、创新能力情况 · 集群内中小企业有效发明专利拥有量 2023年"
    assert cells[4].foreground().color() == QColor("#2e7d32")
    assert "达成 3 项" in panel.summary.text()  # with 集群产值年均增速 and 二氧化碳排放量, prefilled too

    ed = _editor(win, "digital.iiot_rate.2023")
    fill_line(qtbot, ed.edits["digital.iiot_rate.2023"], "30.5")
    assert panel.status_of("industrial_internet") == "未达成"
    irow = next(i for i, a in enumerate(panel.rows) if a.key == "industrial_internet")
    assert panel.table.item(irow, 4).foreground().color() == QColor("#c62828")

    # choosing a row shows its indicator in the chart
    panel.table.setCurrentCell(row, 1)
    assert panel.combo.currentData() == "patents" and panel.combo.currentText() == "创新 · 有效发明专利数量"
    pts = [(y, k, int(v)) for y, k, v in panel.chart.points]
    assert pts == [(2023, "基准值", 486), (2023, "完成值", 520), (2024, "目标值", 535), (2025, "目标值", 592),
                   (2026, "目标值", 660)]
    bars = panel.chart.bars()
    assert len(bars) == 5 and all(r.height() > 0 and r.width() > 0 for *_x, r in bars)
    tallest = max(bars, key=lambda b: b[3].height())
    assert tallest[:2] == (2026, "目标值")
    assert not panel.chart.grab().isNull()

    # the chart's indicator is kept while the numbers change
    fill_line(qtbot, _editor(win, "innovation.patents.2023").edits["innovation.patents.2023"], "400")
    assert panel.combo.currentData() == "patents" and panel.status_of("patents") == "未达成"
    assert (2023, "完成值", 400) in [(y, k, int(v)) for y, k, v in panel.chart.points]

    # closed, it catches up when shown again
    win.achievement_action.trigger()
    assert not win.achievement_dock.isVisible()
    fill_line(qtbot, _editor(win, "innovation.patents.2023").edits["innovation.patents.2023"], "600")
    win.achievement_action.trigger()
    assert win.achievement_dock.isVisible()
    assert panel.status_of("patents") == "达成"
    assert (2023, "完成值", 600) in [(y, k, int(v)) for y, k, v in panel.chart.points]

    # double-clicking a row shows the targets table in the form
    win.jump_to("cover.cluster_name")
    panel.table.itemDoubleClicked.emit(panel.table.item(row, 1))
    assert win.form.sections[win.current_index()].id == "work"


# -- 复制为下一年度 ----------------------------------------------------------------------------------


def test_next_year_without_next_years_form_says_so(qtbot, make_start, store, demo_draft, choose, messages):
    from authoring_support import catalog_up_to

    start = make_start(catalog_up_to(2023))  # however many forms forms/ ships: none for 2024 here
    info, _win = _new_report(qtbot, start, store, demo_draft)
    start.refresh(info.id)
    assert start.next_year_button.isEnabled()
    qtbot.mouseClick(start.next_year_button, Qt.MouseButton.LeftButton)
    assert len(messages) == 1
    kind, title, text = messages[0]
    assert (kind, title) == ("information", "复制为下一年度")
    assert text.startswith("尚无 2024 年度的“年度发展情况报告”表单定义")
    assert len(store.list_drafts()) == 2


def test_next_year_with_a_2024_form_opens_the_new_draft(qtbot, make_start, store, choose, messages, catalog_2024):
    from clusterdesk.templates import import_file

    app_id = import_file(store, DEMO / "cq-2024-application.json", catalog_2024)
    start = make_start(catalog_2024)
    info, win = _new_report(qtbot, start, store, app_id)
    assert choose["forms"] == [REPORT, "sh-2024-annual-report"]
    fill_line(qtbot, _editor(win, "innovation.patents.2023").edits["innovation.patents.2023"], "520")

    start.refresh(info.id)
    qtbot.mouseClick(start.next_year_button, Qt.MouseButton.LeftButton)
    assert not messages
    nxt = store.list_drafts()
    [new] = [d for d in nxt if d.id not in (app_id, info.id)]
    assert new.form_id == "sh-2024-annual-report" and new.linked_draft_id == app_id
    w2 = _activate(qtbot, start.windows[new.id])
    assert start.selected_id() == new.id

    targets = _editor(w2, "work.targets")
    item = targets.table.item(_targets_row(targets, "patents"), _column(targets, "target"))
    assert item.text() == "535件" and "2024年阶段目标值" in item.toolTip()
    panel = w2.achievement
    assert panel.summary.text().startswith("2024 年目标完成情况")
    assert panel.show_indicator("patents")
    assert (2023, "完成值", 520) in [(y, k, int(v)) for y, k, v in panel.chart.points]  # last year's history
    # 2024's own form is not shipped: asking again says so
    start.refresh(new.id)
    qtbot.mouseClick(start.next_year_button, Qt.MouseButton.LeftButton)
    assert "尚无 2025 年度" in messages[-1][2]

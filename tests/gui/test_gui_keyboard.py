"""Data entry as on a spreadsheet, with the keyboard alone: what a user types, where the cursor
goes, and what the SQLite store holds afterwards (read back through a fresh session)."""

from __future__ import annotations

import pytest
from gui_helpers import balloon_of, by_name, type_text

from clusterdesk.ui.qt import QApplication, QLineEdit, QPlainTextEdit, QPoint, QRadioButton, QTableWidget, Qt

pytestmark = pytest.mark.gui


def stored(store, draft_id: int) -> dict:
    """The draft's answers as a fresh session reads them from the SQLite file."""
    from clusterdesk.service import DraftSession
    from clusterdesk.store import Store

    other = Store.open(store.path)
    try:
        return DraftSession(other, draft_id).values
    finally:
        other.close()


def index_of(win, section_id: str) -> int:
    """The position of a section in the draft window (the 填报说明 page sits between 封面 and 一)."""
    return [sec.id for sec in win.form.sections].index(section_id)


def focused():
    return QApplication.focusWidget()


def click_in_text(qtbot, edit: QLineEdit, at: int = 0) -> None:
    """A real click inside the text, just after character ``at`` (where the cursor would land)."""
    was = edit.cursorPosition()
    edit.setCursorPosition(at)
    x = edit.cursorRect().center().x() + 2
    edit.setCursorPosition(was)
    assert 0 < x < edit.width()
    qtbot.mouseClick(edit, Qt.MouseButton.LeftButton, pos=QPoint(x, edit.height() // 2))


def keys(qtbot, text: str) -> None:
    """Type into whatever has the focus: ⏎ is Enter, ⇥ is Tab, ASCII goes as key clicks and
    Chinese as an input method delivers it (a committed string)."""
    for ch in text:
        if ch == "⏎":
            qtbot.keyClick(focused(), Qt.Key.Key_Return)
        elif ch == "⇥":
            qtbot.keyClick(focused(), Qt.Key.Key_Tab)
        else:
            type_text(qtbot, focused(), ch)
        QApplication.processEvents()  # as between real keystrokes (a table commits in a queued call)


def test_click_into_a_filled_year_cell_and_type_replaces_it(qtbot, open_window, demo_draft, store):
    win = open_window(demo_draft)
    win.jump_to("industry.total_output.2023")
    cell = by_name(win, "集群总产值（亿元） 2022年")
    assert cell.text() == "58.70"
    click_in_text(qtbot, cell, at=0)  # the click lands before the first digit
    assert cell.selectedText() == "58.70", "a click selects the whole number, as in a spreadsheet"
    keys(qtbot, "29⏎")
    assert stored(store, demo_draft)["industry.total_output.2022"] == "29.00"  # not 2958.70
    assert focused() is by_name(win, "集群总产值（亿元） 2023年"), "Enter moves to the next cell"
    assert focused().selectedText() == "66.40", "and selects it, so typing replaces it"


def test_a_drag_selection_of_the_users_own_is_kept(qtbot, open_window, demo_draft):
    win = open_window(demo_draft)
    win.jump_to("industry.total_output.2022")
    cell = by_name(win, "集群总产值（亿元） 2022年")
    was = cell.cursorPosition()
    cell.setCursorPosition(3)
    start = cell.cursorRect().center()
    cell.setCursorPosition(5)
    end = cell.cursorRect().center()
    cell.setCursorPosition(was)
    # the user drags over "70" to retype the decimals: press, move, release
    qtbot.mousePress(cell, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(cell, end)
    qtbot.mouseRelease(cell, Qt.MouseButton.LeftButton, pos=end)
    assert cell.selectedText() == "70"
    keys(qtbot, "5")
    assert cell.text() == "58.5", "typing replaces the dragged part only"


def test_a_click_on_the_cell_enter_moved_to_still_replaces_double_click_edits_in_place(
        qtbot, open_window, demo_draft, store):
    win = open_window(demo_draft)
    win.jump_to("industry.total_output.2021")
    first = by_name(win, "集群总产值（亿元） 2021年")
    click_in_text(qtbot, first)
    keys(qtbot, "52.3⏎")
    cell = focused()
    assert cell is by_name(win, "集群总产值（亿元） 2022年") and cell.selectedText() == "58.70"
    click_in_text(qtbot, cell, at=0)  # the user clicks the cell the cursor is already in
    assert cell.selectedText() == "58.70", "still selected: typing replaces, nothing is inserted"
    keys(qtbot, "7")
    click_in_text(qtbot, cell, at=0)  # once typing, a click places the cursor
    assert cell.text() == "7" and not cell.hasSelectedText()
    keys(qtbot, "⏎")
    # a double-click puts the cursor in the number to change one digit
    first.setCursorPosition(len(first.text()))
    end = first.cursorRect().center()
    qtbot.mouseDClick(first, Qt.MouseButton.LeftButton, pos=QPoint(end.x() - 1, end.y()))  # after the last 0
    assert not first.hasSelectedText() and first.cursorPosition() == len("52.30")
    qtbot.keyClick(first, Qt.Key.Key_Backspace)
    qtbot.keyClick(first, Qt.Key.Key_Backspace)
    keys(qtbot, "19")
    qtbot.keyClick(first, Qt.Key.Key_Return)
    assert stored(store, demo_draft)["industry.total_output.2021"] == "52.19"
    assert stored(store, demo_draft)["industry.total_output.2022"] == "7.00"


def test_the_click_that_activates_the_window_selects_too(qtbot, open_window, demo_draft):
    """Without a window manager (and on some desktops) the click arrives first and the focus
    afterwards, as the window becomes active."""
    from clusterdesk.ui.qt import QEvent, QFocusEvent

    win = open_window(demo_draft)
    win.jump_to("industry.total_output.2021")
    cell = by_name(win, "集群总产值（亿元） 2022年")
    qtbot.mousePress(cell, Qt.MouseButton.LeftButton, pos=QPoint(4, 4))
    qtbot.mouseRelease(cell, Qt.MouseButton.LeftButton, pos=QPoint(4, 4))
    cell.deselect()
    QApplication.sendEvent(cell, QFocusEvent(QEvent.Type.FocusIn, Qt.FocusReason.ActiveWindowFocusReason))
    assert cell.selectedText() == "58.70"
    # whatever drops the selection afterwards, the first key still replaces the number
    cell.setCursorPosition(0)
    keys(qtbot, "29")
    assert cell.text() == "29"


def test_typing_120_135_148_with_enter_fills_three_cells(qtbot, open_window, new_draft, store):
    did = new_draft()
    win = open_window(did)
    win.jump_to("industry.enterprises.2021")
    qtbot.mouseClick(by_name(win, "集群企业数量 2021年"), Qt.MouseButton.LeftButton)
    keys(qtbot, "120⏎135⏎148⏎")
    values = stored(store, did)
    assert [values.get(f"industry.enterprises.{y}") for y in (2021, 2022, 2023)] == [120, 135, 148]
    assert focused() is by_name(win, "其中：集群中小企业数量 2021年"), "after the row, the next row's first year"
    # Shift+Enter and Shift+Tab go back
    qtbot.keyClick(focused(), Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert focused() is by_name(win, "集群企业数量 2023年")
    qtbot.keyClick(focused(), Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert focused() is by_name(win, "集群企业数量 2022年")
    # ↑ ↓ move to the same year of the row above / below
    qtbot.keyClick(focused(), Qt.Key.Key_Down)
    assert focused() is by_name(win, "其中：集群中小企业数量 2022年")
    qtbot.keyClick(focused(), Qt.Key.Key_Up)
    assert focused() is by_name(win, "集群企业数量 2022年")


def test_letters_and_a_third_decimal_are_refused_with_a_reason_at_the_cell(qtbot, open_window, new_draft, store):
    did = new_draft()
    win = open_window(did)
    win.jump_to("industry.total_output.2021")
    cell = by_name(win, "集群总产值（亿元） 2021年")
    qtbot.mouseClick(cell, Qt.MouseButton.LeftButton)
    keys(qtbot, "5x")
    balloon = balloon_of(win)
    assert cell.text() == "5"
    assert balloon.isVisible() and balloon.text() == "“x”不是数字：此栏只能填写数字"
    below = balloon.mapTo(win, QPoint(0, 0)).y() - cell.mapTo(win, QPoint(0, cell.height())).y()
    assert 0 <= below <= 4, "the message stands right under the cell"
    keys(qtbot, "2.305")
    assert cell.text() == "52.30", "the third decimal is not taken"
    assert balloon.text() == "此栏保留 2 位小数，第 3 位小数不能填写（请自行四舍五入）"
    keys(qtbot, "⏎")
    assert stored(store, did)["industry.total_output.2021"] == "52.30"
    # an integer cell refuses a decimal point
    win.jump_to("industry.enterprises.2021")
    count = by_name(win, "集群企业数量 2021年")
    qtbot.mouseClick(count, Qt.MouseButton.LeftButton)
    keys(qtbot, "12.")
    assert count.text() == "12" and balloon.text() == "此栏只能填写整数"


def test_a_jump_from_the_year_before_is_flagged_at_the_cell_when_committed(qtbot, open_window, demo_draft, store):
    win = open_window(demo_draft)
    win.jump_to("industry.total_output.2021")
    cell = by_name(win, "集群总产值（亿元） 2023年")
    click_in_text(qtbot, cell, at=1)
    keys(qtbot, "2952.3⏎")
    assert stored(store, demo_draft)["industry.total_output.2023"] == "2952.30"  # kept: it may be right
    balloon = balloon_of(win)
    assert balloon.isVisible()
    assert balloon.text() == "⚠ 2952.30 亿元，是 2022 年的 50 倍，请核对"
    assert cell.property("warning") is True
    grid = win.current_page().editor_for_key("industry.total_output.2023")
    assert "集群总产值（亿元） 2023年：2952.30 亿元，是 2022 年的 50 倍，请核对" in grid.problem_label.text()
    click_in_text(qtbot, cell)
    keys(qtbot, "66.4⏎")
    assert cell.property("warning") is False
    assert "请核对" not in grid.problem_label.text()


def test_fill_section_one_with_the_keyboard_alone(qtbot, open_window, new_draft, store):
    did = new_draft()
    win = open_window(did)
    assert focused() is by_name(win, "集群名称"), "the cursor is in the first field when the draft opens"
    keys(qtbot, "重庆市中小企业特色产业集群（永川数控机床产业）⇥永川区⇥重庆市永川区经济和信息化委员会⇥"
                "重庆永川高新技术产业开发区管理委员会⇥2024年3月⇥李明 023-49881234⏎")
    assert focused() is win.next_button, "Enter in the last field reaches 下一步"
    keys(qtbot, "⏎")  # presses 下一步: the 填报说明 page, to read; the cursor waits on 下一步
    assert win.current_index() == index_of(win, "instructions") and focused() is win.next_button
    keys(qtbot, "⏎")
    assert win.current_index() == index_of(win, "basic")
    # section 一 opens with the cursor in its first field, which shows the cover's 主管部门
    first = focused()
    assert first.accessibleName() == "区（县）中小企业主管部门"
    assert first.text() == "重庆市永川区经济和信息化委员会"
    keys(qtbot, "⇥张华⇥023-49831156⇥⇥⇥38.6⏎")  # the operator's contact pair keeps the cover's values
    assert focused().accessibleName() == "主导产业所属产业类型：第一产业"
    qtbot.keyClick(focused(), Qt.Key.Key_Right)  # arrows move among the options,
    qtbot.keyClick(focused(), Qt.Key.Key_Space)  # Space chooses
    for _ in range(5):  # 是 for each yes/no question, one Tab stop per question
        keys(qtbot, "⇥")
        qtbot.keyClick(focused(), Qt.Key.Key_Space)
    keys(qtbot, "⇥")
    assert focused() is win.next_button
    values = stored(store, did)
    assert values["basic.authority_contact"] == "张华" and values["basic.authority_phone"] == "023-49831156"
    assert values["basic.area"] == "38.60" and values["basic.industry_type"] == "第二产业"
    assert [values[f"basic.{k}"] for k in ("not_prohibited", "no_accidents", "no_violations",
                                            "energy_efficiency", "water_efficiency")] == ["是"] * 5
    assert "basic.operator_contact" not in values  # carried from the cover, not copied
    assert win.section_state_text(index_of(win, "basic")) == "已完成"
    from clusterdesk.service import load_answers

    _form, ans = load_answers(store, did)
    assert ans.value("basic.operator_contact") == "李明" and ans.value("basic.operator_phone") == "023-49881234"


def test_tab_stops_are_the_fields_and_nothing_invisible(qtbot, open_window, demo_draft):
    win = open_window(demo_draft)
    for index in range(len(win.form.sections)):
        win.go_to(index)
        if win.current_page().first_input() is None:
            continue  # nothing to fill in (九、真实性声明)
        assert win.current_page().isAncestorOf(focused())
        stops = []
        qtbot.keyClick(focused(), Qt.Key.Key_Tab)
        while focused() not in (win.next_button, win.prev_button):
            stops.append(focused())
            assert len(stops) < 200
            qtbot.keyClick(focused(), Qt.Key.Key_Tab)
        page = win.current_page()
        # the first field had the cursor: the first Tab went on from there
        names = [w.accessibleName() for w in stops]
        assert all(w.isVisible() for w in stops)
        assert all(names), f"a Tab stop without a name in {win.form.sections[index].title}: {stops}"
        assert all(page.isAncestorOf(w) for w in stops)
        # a label of evidence files takes Tab once per link (open, 移除); otherwise no stop comes twice
        distinct = [w for i, w in enumerate(stops) if i == 0 or w is not stops[i - 1]]
        assert len(set(map(id, distinct))) == len(distinct), "no stop visited twice"


def test_every_field_control_carries_its_official_label(qtbot, open_window, demo_draft):
    from clusterdesk.ui.editors import cell_name

    win = open_window(demo_draft, lazy=False)
    named = {}
    for page in win.built_pages():
        for w in page.findChildren(QLineEdit) + page.findChildren(QTableWidget) + page.findChildren(QPlainTextEdit):
            named.setdefault(w.accessibleName(), []).append(w)
    for cell in win.form.answerable_cells:
        name = cell_name(cell)
        if cell.field.type in ("choice", "boxes"):
            continue  # one control per option: checked below
        assert name in named, name
        assert name.startswith(cell.field.label)
    grid = [c for c in win.form.answerable_cells if c.field.type == "matrix"][0]
    assert cell_name(grid) == "集群中小企业近三年主持（起草单位排名前三位）或参与制修订标准数量情况（需提供清单） 2021年 · 国际 · 主持数量"
    choice = win.form.cell("basic.industry_type")
    for opt in choice.field.options:
        assert f"{choice.field.label}：{opt}" in {b.accessibleName() for p in win.built_pages()
                                                   for b in p.findChildren(QRadioButton)}


def test_tab_through_an_empty_field_shows_no_red_typing_and_emptying_does(qtbot, open_window, new_draft, store):
    win = open_window(new_draft())
    win.go_to(index_of(win, "industry"))
    first = by_name(win, "集群总产值（亿元） 2021年")
    assert focused() is first
    for _ in range(6):
        keys(qtbot, "⇥")
    grid = win.current_page().editor_for_key("industry.total_output.2021")
    assert not grid.problem_label.isVisible(), "passing through with Tab is not an error"
    assert win.section_state_text(2) == "未开始"
    cell = by_name(win, "集群总产值（亿元） 2022年")
    qtbot.mouseClick(cell, Qt.MouseButton.LeftButton)
    keys(qtbot, "5")
    qtbot.keyClick(cell, Qt.Key.Key_Backspace)
    keys(qtbot, "⇥")
    assert grid.problem_label.isVisible()
    assert grid.problem_label.text() == "✖ 集群总产值（亿元） 2022年：必填栏目不得空缺，无相关情况时请填 0"
    assert cell.property("invalid") is not True  # an empty cell is not a wrong value


def test_repeat_table_enter_runs_through_the_cells_and_tab_leaves(qtbot, open_window, new_draft, store):
    did = new_draft()
    win = open_window(did)
    win.jump_to("opening.overseas_list")
    rep = win.current_page().editor_for_key("opening.overseas_list")
    table = rep.table
    add = by_name(win, "境外分支机构名单：添加行")
    add.setFocus()
    qtbot.keyClick(add, Qt.Key.Key_Space)
    assert focused() is table and (table.currentRow(), table.currentColumn()) == (0, 0)
    keys(qtbot, "甲公司⏎甲（泰国）公司⏎泰国⏎2019⏎")  # typing opens the cell, Enter commits and moves on
    assert stored(store, did)["opening.overseas_list"] == [
        {"company": "甲公司", "name": "甲（泰国）公司", "country": "泰国", "year": 2019}]
    assert focused() is add, "Enter in the last cell leaves the table for the next control"
    qtbot.keyClick(add, Qt.Key.Key_Space)  # another row, and straight on typing
    keys(qtbot, "乙公司⇥")
    assert stored(store, did)["opening.overseas_list"][1] == {"company": "乙公司"}
    assert focused() is add, "Tab commits the cell and leaves the table"
    qtbot.keyClick(add, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert focused() is table
    qtbot.keyClick(table, Qt.Key.Key_Up)  # arrows move inside
    assert table.currentRow() == 0
    qtbot.keyClick(table, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert focused() is not table and not table.isAncestorOf(focused()), "Shift+Tab leaves at once, too"
    # the year column's editor stays inside its own (narrow) column, over nothing else
    table.setCurrentCell(0, 3)
    table.editItem(table.item(0, 3))
    ed = focused()
    assert ed.geometry().right() <= table.columnViewportPosition(3) + table.columnWidth(3) + 1


def test_table_headings_wrap_instead_of_being_cut(qtbot, open_window, new_draft):
    win = open_window(new_draft())
    win.jump_to("plan.targets")
    table = win.current_page().editor_for_key("plan.targets").table
    hh = table.horizontalHeader()
    fm = hh.fontMetrics()
    for j in range(table.columnCount()):
        text = table.horizontalHeaderItem(j).text()
        lines = -(-fm.horizontalAdvance(text) // max(hh.sectionSize(j) - 10, 1))
        assert hh.height() >= lines * fm.lineSpacing(), f"“{text}” needs {lines} lines"
    assert hh.textElideMode() == Qt.TextElideMode.ElideNone


def test_computed_box_shows_its_whole_text(qtbot, open_window, new_draft):
    win = open_window(new_draft())
    win.jump_to("industry.leading_cagr")
    box = by_name(win, "近三年主导产业产值年均增速（%） 计算值")
    assert box.text() == "数据不足，暂无法计算"
    assert box.width() >= box.fontMetrics().horizontalAdvance(box.text()) + 8


def test_menus_and_tooltips_show_the_shortcuts(qtbot, open_window, new_draft):
    win = open_window(new_draft())
    menus = {m.title(): [a.text() for a in m.actions() if not a.isSeparator()]
             for m in (a.menu() for a in win.menuBar().actions())}
    assert "上一部分\tAlt+←" in menus["转到(&G)"] and "下一部分\tAlt+→" in menus["转到(&G)"]
    assert "检查全部\tF7" in menus["转到(&G)"]
    assert "保存\tCtrl+S" in menus["文件(&F)"] and "撤销\tCtrl+Z" in menus["编辑(&E)"]
    assert win.next_button.toolTip() == "下一部分（Alt+→）"
    assert win.check_action.toolTip() == "列出全部错误和提醒，按部分分组（F7）"
    # Alt+→ from anywhere opens the next section with the cursor in its first field
    qtbot.keyClick(focused(), Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    assert win.current_index() == index_of(win, "instructions") and focused() is win.next_button
    qtbot.keyClick(focused(), Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    assert win.current_index() == index_of(win, "basic") and focused() is by_name(win, "区（县）中小企业主管部门")
    # Alt+0: to the section list; Alt+Home: back to the section's first field
    qtbot.keyClick(focused(), Qt.Key.Key_0, Qt.KeyboardModifier.AltModifier)
    assert focused() is win.section_list
    qtbot.keyClick(focused(), Qt.Key.Key_Home, Qt.KeyboardModifier.AltModifier)
    assert focused() is by_name(win, "区（县）中小企业主管部门")


def test_section_list_arrows_browse_and_enter_goes_in(qtbot, open_window, new_draft):
    win = open_window(new_draft())
    win.section_list.setFocus()
    for _ in range(index_of(win, "industry")):
        qtbot.keyClick(win.section_list, Qt.Key.Key_Down)
    assert win.current_index() == index_of(win, "industry") and focused() is win.section_list
    qtbot.keyClick(win.section_list, Qt.Key.Key_Return)
    assert focused() is by_name(win, "集群总产值（亿元） 2021年")


def test_cover_changes_reach_section_one_until_the_user_types_there(qtbot, open_window, new_draft, store):
    did = new_draft()
    win = open_window(did)
    contact = by_name(win, "联系人及联系电话")
    qtbot.mouseClick(contact, Qt.MouseButton.LeftButton)
    keys(qtbot, "李明 023-49881234⏎")
    win.go_to(index_of(win, "basic"))
    page = win.current_page()
    ed = page.editor_for_key("basic.operator_contact")
    assert ed.edit.text() == "李明"
    assert ed.lines["basic.operator_contact"].default_label.isVisible()
    assert "取自封面“联系人及联系电话”" in ed.lines["basic.operator_contact"].default_label.text()
    win.go_to(0)
    qtbot.mouseClick(contact, Qt.MouseButton.LeftButton)
    qtbot.keyClick(contact, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    keys(qtbot, "王芳 13800000000⏎")
    assert ed.edit.text() == "王芳"
    win.go_to(index_of(win, "basic"))
    qtbot.mouseClick(ed.edit, Qt.MouseButton.LeftButton)
    qtbot.keyClick(ed.edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    keys(qtbot, "刘强⏎")
    assert stored(store, did)["basic.operator_contact"] == "刘强"
    assert not ed.lines["basic.operator_contact"].default_label.isVisible()

"""Data entry as on a spreadsheet, with the keyboard alone: what a user types, where the cursor
goes, and what the SQLite store holds afterwards (read back through a fresh session)."""

from __future__ import annotations

import pytest
from gui_helpers import balloon_of, by_name, type_text

from clusterdesk.ui.qt import QApplication, QLineEdit, QPoint, Qt

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

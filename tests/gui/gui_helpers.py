"""Typing helpers: ASCII through real key clicks, Chinese through IME commit events."""

from __future__ import annotations

from clusterdesk.ui.qt import QApplication, QComboBox, QInputMethodEvent, QLineEdit, Qt


def type_text(qtbot, widget, text: str) -> None:
    """Type as a user would: printable ASCII as key clicks; anything else (Chinese, full-width
    punctuation) the way an input method delivers it, as a committed string."""
    for ch in text:
        if ch == "\n":
            qtbot.keyClick(widget, Qt.Key.Key_Return)
        elif " " <= ch <= "~":
            qtbot.keyClicks(widget, ch)
        else:
            ev = QInputMethodEvent()
            ev.setCommitString(ch)
            QApplication.sendEvent(widget, ev)


def compose(widget, preedit: str) -> None:
    """An input method's composition in progress (拼音 not yet committed)."""
    QApplication.sendEvent(widget, QInputMethodEvent(preedit, []))


def fill_line(qtbot, edit: QLineEdit, text: str) -> None:
    """Click into a line edit, replace its text, press Enter (the user leaves the field)."""
    qtbot.mouseClick(edit, Qt.MouseButton.LeftButton)
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    type_text(qtbot, edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def edit_cell(qtbot, table, row: int, col: int, text: str) -> None:
    """Open a table cell's editor as a double-click would, type, and press Enter."""
    table.setCurrentCell(row, col)
    table.editItem(table.item(row, col))
    editor = QApplication.focusWidget()
    assert editor is not None and editor is not table
    if isinstance(editor, QComboBox):
        editor.setCurrentIndex(editor.findText(text))
    else:
        editor.selectAll()
        type_text(qtbot, editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    QApplication.processEvents()  # the delegate commits the editor's data in a queued call


def by_name(root, name: str, cls=None):
    """The one visible control under ``root`` whose accessible name is ``name`` (what a screen
    reader announces), optionally of a given class."""
    from clusterdesk.ui.qt import QWidget

    found = [w for w in root.findChildren(cls or QWidget) if w.accessibleName() == name and w.isVisible()]
    assert len(found) == 1, f"{len(found)} visible controls named {name!r}"
    return found[0]


def balloon_of(win):
    """The window's input balloon (the note that pops up at a cell), or None if none was shown."""
    from clusterdesk.ui.editors import InputBalloon

    return win.findChild(InputBalloon, "inputBalloon")

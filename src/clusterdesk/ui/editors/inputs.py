"""The input widgets the editors are made of: number cells that refuse what is not a number (and
say so in a balloon), line and text edits that commit when the user leaves them, labels for
problems."""

from __future__ import annotations

import unicodedata
from typing import Any

from .. import style
from ..qt import (
    QAbstractButton,
    QApplication,
    QElapsedTimer,
    QFocusEvent,
    QKeySequence,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPoint,
    QSizePolicy,
    QTimer,
    QValidator,
    QWidget,
    Qt,
    Signal,
)


MM = 3.6  # pixels per millimetre of the printed form, for column widths
MAX_VISIBLE_ROWS = 12  # a repeat table taller than this scrolls inside itself


# -- small building blocks ----------------------------------------------------------------


_DIGITS = "0123456789"
_SIGNS = "+-"
_SEPARATORS = ","
_SPACES = " "


def number_input_problem(text: str, integer: bool, decimals: int) -> str | None:
    """Why ``text`` cannot be typed into a number cell, or None if it may (the core parses it
    when the cell is left). Full-width digits and signs, thousands commas and a trailing % pass;
    letters, a second decimal point and a decimal place beyond the form's are refused, so that
    no keystroke is dropped or rounded without the user being told."""
    s = unicodedata.normalize("NFKC", text).replace("−", "-")
    for ch in s:
        if ch in _DIGITS or ch in _SIGNS or ch in _SEPARATORS or ch in _SPACES:
            continue
        if ch == "." or ch == "%":
            if integer:
                return "此栏只能填写整数" if ch == "." else f"“{ch}”不能填在这里：此栏只能填写整数"
            continue
        return f"“{ch}”不是数字：此栏只能填写数字" + ("（整数）" if integer else "")
    if s.count(".") > 1:
        return "只能有一个小数点"
    if "." in s:
        places = len(s.split(".", 1)[1].rstrip("% ").replace(",", ""))
        if places > decimals:
            return (f"此栏保留 {decimals} 位小数，第 {decimals + 1} 位小数不能填写（请自行四舍五入）"
                    if decimals else "此栏只能填写整数")
    return None


class NumberValidator(QValidator):
    """Refuses keystrokes the number cell cannot take, and remembers why (for the balloon).

    ``QLineEdit.inputRejected`` fires for each refused keystroke or paste."""

    def __init__(self, integer: bool = False, decimals: int = 2, parent: Any = None):
        super().__init__(parent)
        self.integer = integer
        self.decimals = 0 if integer else decimals
        self.reason = ""

    def validate(self, text: str, pos: int):  # noqa: D401 - Qt API
        why = number_input_problem(text, self.integer, self.decimals)
        if why is None:
            return QValidator.State.Acceptable, text, pos
        self.reason = why
        return QValidator.State.Invalid, text, pos


class InputBalloon(QLabel):
    """A small note that appears at a cell for a few seconds: why a keystroke was refused, or a
    plausibility warning just after a value was committed. One per window."""

    MSECS = 3500

    def __init__(self, window: QWidget):
        super().__init__(window)
        self.setObjectName("inputBalloon")
        self.setAccessibleName("输入提示")
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setMaximumWidth(420)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.hide)
        self.anchor: QWidget | None = None
        self.hide()

    def pop(self, anchor: QWidget, text: str, level: str = "error") -> None:
        colour, bg = (style.ERROR, "#fff5f5") if level == "error" else (style.WARNING, "#fff8e6")
        self.setStyleSheet(f"QLabel#inputBalloon {{ color: {colour}; background: {bg}; border: 1px solid {colour};"
                           " border-radius: 3px; padding: 3px 6px; }")
        self.setText(text)
        self.anchor = anchor
        fm = self.fontMetrics()
        self.setFixedWidth(min(self.maximumWidth(), max(fm.horizontalAdvance(t) for t in text.split("\n")) + 18))
        self.adjustSize()
        win = self.parentWidget()
        if win is None:  # a balloon is always made with its window as parent
            return
        pos = anchor.mapTo(win, QPoint(0, anchor.height() + 2))
        x = max(0, min(pos.x(), win.width() - self.width()))
        y = pos.y() if pos.y() + self.height() <= win.height() else anchor.mapTo(win, QPoint(0, 0)).y() - self.height() - 2
        self.move(x, max(0, y))
        self.show()
        self.raise_()
        self.timer.start(self.MSECS)


def balloon(anchor: QWidget, text: str, level: str = "error") -> InputBalloon:
    """Show ``text`` briefly at ``anchor`` (the window's one balloon)."""
    win = anchor.window()
    b = win.findChild(InputBalloon, "inputBalloon")
    if b is None:
        b = InputBalloon(win)
    b.pop(anchor, text, level)
    return b


class FormLineEdit(QLineEdit):
    """A one-line field of the draft: Enter commits (``editingFinished``) and moves on to the next
    field, Shift+Enter to the previous one, as Tab and Shift+Tab do."""

    enter_moves = True  # False inside a table, whose view moves on itself

    def keyPressEvent(self, e) -> None:  # noqa: N802 - Qt API
        if self.enter_moves and e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            super().keyPressEvent(e)  # emits editingFinished
            e.accept()
            self.focusNextPrevChild(not e.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            return
        super().keyPressEvent(e)


class NumberEdit(FormLineEdit):
    """A number cell that behaves like a spreadsheet's: focus by click or Tab selects the whole
    content, so typing replaces it; a click on the cell selects it again until the user starts
    typing there. A double-click or F2 puts the cursor in the number, to change one digit.
    A refused keystroke says why in a balloon at the cell."""

    def __init__(self, integer: bool = False, parent: QWidget | None = None, decimals: int = 2):
        super().__init__(parent)
        self.number_validator = NumberValidator(integer, decimals, self)
        self.setValidator(self.number_validator)
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setMaximumWidth(220)
        self.setMinimumWidth(72)
        self._select_on_release = False
        self._editing = False  # the user typed or moved the cursor in the cell since it got focus
        self._released = QElapsedTimer()  # when a mouse button was last released on the cell
        self.inputRejected.connect(self._explain)

    def _explain(self) -> None:
        balloon(self, self.number_validator.reason or "此栏只能填写数字")

    def focusInEvent(self, e: QFocusEvent) -> None:  # noqa: N802 - Qt API
        super().focusInEvent(e)
        reason = e.reason()
        clicked = reason == Qt.FocusReason.MouseFocusReason
        if reason == Qt.FocusReason.ActiveWindowFocusReason:
            # a click into an inactive window: focus may come with the press still down, or
            # just after the release; returning to the window otherwise keeps the cursor
            if QApplication.mouseButtons() & Qt.MouseButton.LeftButton:
                clicked = True
            elif self._released.isValid() and self._released.elapsed() < 400:
                self.selectAll()
                return
        if clicked:
            # the press that gave focus also places the cursor: select on its release instead,
            # unless the user dragged a selection of their own
            self._select_on_release = True
        elif reason not in (Qt.FocusReason.ActiveWindowFocusReason, Qt.FocusReason.PopupFocusReason):
            self.selectAll()

    def mousePressEvent(self, e) -> None:  # noqa: N802 - Qt API
        super().mousePressEvent(e)
        if self.hasFocus() and not self._editing and e.button() == Qt.MouseButton.LeftButton:
            self._select_on_release = True  # a click on the selected cell keeps it selected

    def mouseReleaseEvent(self, e) -> None:  # noqa: N802 - Qt API
        super().mouseReleaseEvent(e)
        self._released.start()
        if self._select_on_release:
            self._select_on_release = False
            if not self.hasSelectedText():
                self.selectAll()
            elif self.selectedText() != self.text():
                self._editing = True  # the user dragged over part of the number: typing replaces that part

    def mouseDoubleClickEvent(self, e) -> None:  # noqa: N802 - Qt API
        # in-cell editing: the cursor where the user double-clicked
        self._editing = True
        self._select_on_release = False
        self.setCursorPosition(self.cursorPositionAt(e.position().toPoint()))

    def _start_typing(self) -> None:
        """The first key typed into a cell that is not being edited replaces its content, even
        if a click or the window system has since dropped the selection."""
        if not self._editing:
            self._editing = True
            if self.text():
                self.selectAll()

    def keyPressEvent(self, e) -> None:  # noqa: N802 - Qt API
        key = e.key()
        if key == Qt.Key.Key_F2:  # edit in the cell: the cursor at the end
            self._editing = True
            self.end(False)
            return
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Home, Qt.Key.Key_End):
            self._editing = True
        elif key in (Qt.Key.Key_Backspace, Qt.Key.Key_Delete) or e.matches(QKeySequence.StandardKey.Paste) \
                or (e.text() and e.text().isprintable()):
            self._start_typing()
        super().keyPressEvent(e)

    def inputMethodEvent(self, e) -> None:  # noqa: N802 - Qt API
        if e.commitString():  # full-width digits from a Chinese input method
            self._start_typing()
        super().inputMethodEvent(e)

    def focusOutEvent(self, e: QFocusEvent) -> None:  # noqa: N802 - Qt API
        self._select_on_release = False
        if e.reason() != Qt.FocusReason.PopupFocusReason:
            self._editing = False
        super().focusOutEvent(e)


class CommitPlainTextEdit(QPlainTextEdit):
    """A QPlainTextEdit that says when the user leaves it (like QLineEdit.editingFinished)."""

    editingFinished = Signal()

    def focusOutEvent(self, e: QFocusEvent) -> None:  # noqa: N802 - Qt API
        super().focusOutEvent(e)
        if self.document().isModified():
            self.editingFinished.emit()


class ClickLabel(QLabel):
    """A wrapped label that toggles its buddy check box / radio button when clicked."""

    def __init__(self, text: str, buddy: QAbstractButton):
        super().__init__(text)
        self._buddy = buddy
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def mouseReleaseEvent(self, e) -> None:  # noqa: N802 - Qt API
        if e.button() == Qt.MouseButton.LeftButton and self._buddy.isEnabled():
            self._buddy.click()
            self._buddy.setFocus()


class ProblemLabel(QLabel):
    """Messages under a field: red for errors, orange for warnings; hidden when empty."""

    def __init__(self) -> None:
        super().__init__()
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hide()
        self.level: str | None = None

    def show_messages(self, messages: list[tuple[str, str]]) -> None:
        if not messages:
            self.level = None
            self.setText("")
            self.hide()
            return
        self.level = "error" if any(lv == "error" for lv, _ in messages) else "warning"
        style.set_role(self, f"problem-{self.level}")
        self.setText("\n".join(f"{'✖' if lv == 'error' else '⚠'} {m}" for lv, m in messages))
        self.show()

"""One editor widget per field type, generated from the form definition.

Every editor only lays out widgets: it hands what the user typed to the
:class:`~clusterdesk.ui.controller.DraftController` when the user leaves a field (never on
``textChanged``, which fires during Chinese IME composition) and redraws itself from the
session when the controller says a key changed.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal
from typing import Any, Iterable

from clusterdesk.model.form import Cell, FormDef, colon_join
from clusterdesk.model.schema import Column, Field, Section
from clusterdesk.model.values import Spec, char_count, format_value, to_decimal
from clusterdesk.service import EVIDENCE_GENERAL
from clusterdesk.store import StoreError

from . import style
from .controller import DraftController
from .qt import (
    QAbstractItemView,
    QApplication,
    QButtonGroup,
    QCheckBox,
    QColor,
    QComboBox,
    QElapsedTimer,
    QEvent,
    QFileDialog,
    QFocusEvent,
    QFrame,
    QGuiApplication,
    QKeySequence,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QModelIndex,
    QPlainTextEdit,
    QPoint,
    QPushButton,
    QRadioButton,
    QRect,
    QSignalBlocker,
    QSize,
    QSizePolicy,
    QStyledItemDelegate,
    QTableWidget,
    QTableWidgetItem,
    QTextEdit,
    QTextCharFormat,
    QTextCursor,
    QTimer,
    QToolButton,
    QValidator,
    QVBoxLayout,
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

    def __init__(self, text: str, buddy: QWidget):
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


CARRIED_CHANGED_FG = "#8a5300"  # amber: a carried value the user has since changed
CARRIED_CHANGED_BG = "#fff1cc"


class CarriedNote(QWidget):
    """Under a field of an annual report: where its value came from (grey) and, once the user
    has typed something else, what the application said (amber). Hidden when there is nothing."""

    def __init__(self) -> None:
        super().__init__()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(1)
        self.source_label = style.label("", "help")
        self.source_label.setAccessibleName("来源")
        self.changed_label = style.label("")
        self.changed_label.setAccessibleName("与来源不同")
        self.changed_label.setStyleSheet(
            f"color: {CARRIED_CHANGED_FG}; background: {CARRIED_CHANGED_BG}; padding: 2px 4px;")
        lay.addWidget(self.source_label)
        lay.addWidget(self.changed_label)
        self.hide()

    def show_lines(self, sources: list[tuple[str, str]], changes: list[tuple[str, str]]) -> None:
        """``sources`` and ``changes`` are (text, tooltip) pairs."""
        for lab, lines in ((self.source_label, sources), (self.changed_label, changes)):
            lab.setText("\n".join(t for t, _ in lines))
            lab.setToolTip("\n".join(tip for _, tip in lines if tip))
            lab.setVisible(bool(lines))
        self.setVisible(bool(sources or changes))


def carried_value_text(form: FormDef, key: str, value: Any) -> str:
    """A carried value as shown in the amber line: the number with its unit, or the text."""
    if value in (None, ""):
        return "（空）"
    if not form.has_cell(key):
        return str(value)
    f = form.cell(key).field
    text = format_value(value, Spec.of(f))
    return f"{text} {f.unit}" if f.unit and f.type in ("number", "integer", "percent") else text


def cell_name(cell: Cell) -> str:
    """A cell's accessible name: the field's official label, then the year and the matrix row and
    column (集群总产值（亿元） 2022年), so screen readers and tests find it."""
    return f"{cell.field.label} {cell.column}" if cell.column else cell.field.label


def fit_text(edit: QLineEdit, text: str) -> None:
    """Show ``text`` in a read-only box wide enough for it (up to the box's maximum width)."""
    edit.setText(text)
    edit.setCursorPosition(0)
    need = edit.fontMetrics().horizontalAdvance(text) + 20
    edit.setMinimumWidth(min(max(need, 72), edit.maximumWidth()))


def _unit_suffix(field: Field) -> str:
    return field.unit or ""


def help_widgets(form: FormDef, field: Field) -> list[QWidget]:
    """The hint in small grey text, and the 填报说明 items it refers to (full text as tooltip)."""
    out: list[QWidget] = []
    full = form.help_text(field)
    if field.hint:
        lab = style.label(field.hint, "help")
        lab.setToolTip(full)
        out.append(lab)
    if field.help_refs:
        refs = "、".join(f"第{n}条" for n in field.help_refs)
        lab = style.label(f"ⓘ 见{form.form.instructions_title}{refs}：" + "；".join(
            (form.instruction(n) or "").split(".", 1)[-1] for n in field.help_refs), "help")
        lab.setToolTip(full)
        out.append(lab)
    return out


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def strip_where(message: str, where: str) -> str:
    prefix = colon_join(where, "")
    return message[len(prefix):] if message.startswith(prefix) else message


# -- the editor base ----------------------------------------------------------------------


class FieldEditor(QFrame):
    """Shows one field (or a run of year fields) and the problems of its cells."""

    def __init__(self, ctl: DraftController, section: Section, fields: list[Field]):
        super().__init__()
        self.setProperty("role", "field")
        self.ctl = ctl
        self.form = ctl.form
        self.section = section
        self.fields = fields
        self.input_errors: dict[str, str] = {}  # key → message of input the core refused
        self.problem_label = ProblemLabel()
        self.carried_note: CarriedNote | None = None  # made on first use (annual reports only)

    # keys of the cells this editor shows, in form order
    def keys(self) -> list[str]:
        out = []
        for f in self.fields:
            out += [c.key for c in self.form.cells_of(f"{self.section.id}.{f.id}")]
        return out

    def reload(self, key: str | None = None) -> None:
        """Redraw from the session (all keys, or one)."""

    def focus_widget(self, key: str) -> QWidget | None:
        return None

    def flush(self) -> None:
        """Commit anything typed but not yet handed to the core (window closing, Ctrl+S)."""


    # -- problems --
    def _label_of(self, key: str) -> str:
        return ""

    def update_problems(self) -> None:
        msgs: list[tuple[str, str]] = []
        for key in self.keys():
            prefix = self._label_of(key)
            if key in self.input_errors:
                cell = self.form.cell(key)
                msgs.append(("error", prefix + strip_where(self.input_errors[key], cell.where)))
                continue
            for p in self.ctl.problems_for(key):
                msgs.append((p.level, prefix + p.message))
        self.problem_label.show_messages(msgs)
        self._mark_cells()
        self._show_carried()

    def _mark_cells(self) -> None:
        pass

    # -- values carried from the application (annual reports) --
    def _carried_lines(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        sources: list[tuple[str, str]] = []
        changes: list[tuple[str, str]] = []
        for key in self.keys():
            c = self.ctl.carried.get(key)
            if c is None:
                continue
            prefix = self._label_of(key)
            sources.append((f"↳ {prefix}来自{c.source}", ""))
            if c.changed:
                was = carried_value_text(self.form, key, c.value)
                changes.append((f"◆ {prefix}与{c.label}不同：{c.label}为 {was}",
                                f"来自{c.source}\n如确有变化，保留现在填写的值即可"))
        return sources, changes

    def _show_carried(self) -> None:
        if not self.ctl.carried and self.carried_note is None:
            return
        sources, changes = self._carried_lines()
        if self.carried_note is None:
            if not sources:
                return
            self.carried_note = CarriedNote()
            lay = self.layout()
            lay.insertWidget(lay.indexOf(self.problem_label), self.carried_note)
        self.carried_note.show_lines(sources, changes)

    def _warn_at(self, key: str, anchor: QWidget) -> None:
        """Just committed: a plausibility warning pops up at the cell (and stays listed below)."""
        msgs = [p.message for p in self.ctl.problems_for(key) if p.kind == "plausible"]
        if msgs:
            balloon(anchor, "⚠ " + "\n".join(msgs), "warning")

    def _commit(self, key: str, raw: Any) -> bool:
        err = self.ctl.commit(key, raw)
        if err is None:
            self.input_errors.pop(key, None)
        else:
            self.input_errors[key] = err
            self.update_problems()  # the controller does not re-validate refused input
        return err is None

    # -- layout helper --
    def _body(self, field: Field | None = None) -> QVBoxLayout:
        """The editor's vertical layout, with the field's label, notes and help when given."""
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 4, 0, 4)
        lay.setSpacing(3)
        if field is not None:
            self._header(lay, field)
        return lay

    def _header(self, layout: QVBoxLayout, field: Field, show_label: bool = True) -> None:
        if show_label:  # the full name: 集群运营管理机构 · 联系人
            lab = style.label(self.form.full_label(f"{self.section.id}.{field.id}"), "label")
            full = self.form.help_text(field)
            if full:
                lab.setToolTip(full)
            layout.addWidget(lab)
        for w in help_widgets(self.form, field):
            layout.addWidget(w)
        if field.prefix:
            layout.addWidget(style.label(field.prefix, "note"))

    def _footer(self, layout: QVBoxLayout, field: Field) -> None:
        for n in field.notes:
            layout.addWidget(style.label(n, "note"))


def _cell_doubtful(ctl: DraftController, key: str) -> bool:
    """A plausibility warning (请核对) on the cell."""
    return any(p.kind == "plausible" for p in ctl.problems_for(key))


def _cell_invalid(ctl: DraftController, editor: FieldEditor, key: str) -> bool:
    if key in editor.input_errors:
        return True
    return any(p.level == "error" and p.kind != "required" for p in ctl.problems_for(key))


# -- text / number / integer / percent ---------------------------------------------------


class _CellLine:
    """The widgets of one cell of a line field: [计算值] [input] [unit] and the 原因 box."""

    def __init__(self) -> None:
        self.edit: QLineEdit | None = None
        self.computed_edit: QLineEdit | None = None
        self.note_edit: QLineEdit | None = None
        self.note_label: QLabel | None = None
        self.default_label: QLabel | None = None
        self.evidence: EvidencePanel | None = None


class LineFieldEditor(FieldEditor):
    """text, number, integer, percent; computed fields; integer with evidence. One line per
    cell (a field with years gets one line per year)."""

    def __init__(self, ctl: DraftController, section: Section, field: Field):
        super().__init__(ctl, section, [field])
        self.field = field
        self.cells = self.form.cells_of(f"{section.id}.{field.id}")
        self.key = self.cells[0].key
        lay = self._body(field)
        self.lines: dict[str, _CellLine] = {}
        for cell in self.cells:
            self.lines[cell.key] = self._make_line(lay, cell.key, f"{cell.column}：" if cell.column else "")
        first = self.lines[self.key]
        # the first cell's widgets, by name (most fields have one cell)
        self.edit = first.edit
        self.computed_edit = first.computed_edit
        self.note_edit = first.note_edit
        self.evidence = first.evidence
        self._footer(lay, field)
        lay.addWidget(self.problem_label)
        self.reload()

    def _make_line(self, lay: QVBoxLayout, key: str, caption: str) -> _CellLine:
        field = self.field
        line = _CellLine()
        row = QHBoxLayout()
        if caption:
            row.addWidget(style.label(caption, None, wrap=False))
        numeric = field.type in ("number", "integer", "percent")
        tip = f"计算公式：{field.formula or field.calculation}" if field.calculation else ""
        if field.calculation:
            ce = QLineEdit()
            ce.setReadOnly(True)
            ce.setProperty("computed", True)
            ce.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            ce.setToolTip(tip)
            ce.setAccessibleName(f"{field.label} 计算值")
            if numeric:
                ce.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                ce.setMaximumWidth(220)
            else:
                ce.setMaximumWidth(640)
            cap = style.label("按公式计算：" if not field.readonly else "自动填入：", "help", wrap=False)
            cap.setToolTip(tip)
            row.addWidget(cap)
            row.addWidget(ce, 0 if numeric else 1)
            if numeric and field.unit:
                row.addWidget(QLabel(field.unit))
            line.computed_edit = ce
        if not field.readonly:
            if numeric:
                edit: QLineEdit = NumberEdit(integer=field.type == "integer", decimals=field.effective_decimals)
            else:
                edit = FormLineEdit()
                if field.placeholder:
                    edit.setPlaceholderText(field.placeholder)
                edit.setMaximumWidth(640)
            edit.setAccessibleName(cell_name(self.form.cell(key)))
            edit.editingFinished.connect(lambda k=key: self._on_finished(k))
            if field.calculation:
                row.addSpacing(16)
                row.addWidget(style.label("改填：", "help", wrap=False))
                edit.setPlaceholderText("可改填")
                edit.setMinimumWidth(120)
                edit.setToolTip(tip)
            row.addWidget(edit, 0 if numeric else 1)
            if numeric and field.unit and not field.calculation:
                row.addWidget(QLabel(field.unit))
            line.edit = edit
        row.addStretch(1)
        lay.addLayout(row)
        if field.calculation and not field.readonly:
            nrow = QHBoxLayout()
            line.note_label = style.label("原因：", "label", wrap=False)
            ne = QLineEdit()
            ne.setPlaceholderText("填写值与计算值不同的原因")
            ne.setAccessibleName(f"{field.label} 原因")
            ne.editingFinished.connect(lambda k=key: self._on_note(k))
            nrow.addWidget(line.note_label)
            nrow.addWidget(ne, 1)
            lay.addLayout(nrow)
            line.note_edit = ne
        if field.default:
            # where the value comes from until the user types their own
            line.default_label = style.label(f"↳ {field.formula or '默认值'}，可直接修改", "help")
            line.default_label.hide()
            lay.addWidget(line.default_label)
        if field.evidence == "if_positive":
            line.evidence = EvidencePanel(self.ctl, key, EVIDENCE_GENERAL, field.label)
            lay.addWidget(line.evidence)
        return line

    def keys(self) -> list[str]:
        return list(self.lines)

    def _label_of(self, key: str) -> str:
        col = self.form.cell(key).column
        return f"{col}：" if col and len(self.lines) > 1 else ""

    def _on_finished(self, key: str | None = None) -> None:
        key = key or self.key
        line = self.lines[key]
        assert line.edit is not None
        if not line.edit.isModified() and key not in self.input_errors:
            return  # passing through (Tab, Enter) changes nothing and touches nothing
        if self._commit(key, line.edit.text()):
            self._show_value(key)
            line.edit.setModified(False)
            self._warn_at(key, line.edit)
        self.update_problems()

    def _on_note(self, key: str | None = None) -> None:
        key = key or self.key
        ne = self.lines[key].note_edit
        if ne is not None and ne.isModified():
            self.ctl.set_note(key, ne.text().strip() or None)
            ne.setModified(False)

    def _show_value(self, key: str) -> None:
        s = self.ctl.session
        line = self.lines[key]
        v = s.value(key)
        spec = Spec.of(self.field)
        if line.edit is not None:
            shown_default = v is None and s.answers().is_default(key)
            line.edit.setText(format_value(s.computed(key) if shown_default else v, spec))
            if line.default_label is not None:
                line.default_label.setVisible(shown_default)
        if line.computed_edit is not None:
            empty = "数据不足，暂无法计算" if spec.type in ("number", "integer", "percent") else (
                f"待填写（{self.field.formula}）" if self.field.formula else "待填写")
            fit_text(line.computed_edit, format_value(s.computed(key), spec) or empty)
        if line.note_edit is not None and line.note_label is not None:
            # a reason is asked for only when the typed value differs from the computed one
            typed, comp = to_decimal(v), to_decimal(s.computed(key))
            differs = typed is not None and (comp is None or abs(typed - comp) > Decimal("0.01"))
            visible = differs or bool(s.note(key))
            line.note_edit.setVisible(visible)
            line.note_label.setVisible(visible)
            if not line.note_edit.hasFocus():
                line.note_edit.setText(s.note(key) or "")
        if line.evidence is not None:
            line.evidence.setVisible(isinstance(v, int) and v > 0)
            line.evidence.reload()

    def reload(self, key: str | None = None) -> None:
        for k in ([key] if key in self.lines else list(self.lines)):
            self.input_errors.pop(k, None)
            self._show_value(k)
        self.update_problems()

    def _mark_cells(self) -> None:
        for k, line in self.lines.items():
            if line.edit is not None:
                invalid = _cell_invalid(self.ctl, self, k)
                style.set_flag(line.edit, "invalid", invalid)
                style.set_flag(line.edit, "warning", not invalid and _cell_doubtful(self.ctl, k))

    def focus_widget(self, key: str) -> QWidget | None:
        line = self.lines.get(key) or self.lines[self.key]
        return line.edit or line.computed_edit

    def flush(self) -> None:
        for k, line in self.lines.items():
            if line.edit is not None and line.edit.isModified():
                self._on_finished(k)
            if line.note_edit is not None:
                self._on_note(k)


# -- narrative ------------------------------------------------------------------------------


def overflow_start(text: str, limit: int) -> int | None:
    """Index in ``text`` of the first character past ``limit`` by the core's counting rule."""
    start = len(text) - len(text.lstrip())
    end = len(text.rstrip())
    n = 0
    for i in range(start, end):
        if text[i] in "\r\n":
            continue
        n += 1
        if n > limit:
            return i
    return None


class NarrativeEditor(FieldEditor):
    counted = Signal()  # the live count changed (for a section-wide counter)

    def __init__(self, ctl: DraftController, section: Section, field: Field):
        super().__init__(ctl, section, [field])
        self.field = field
        self.key = f"{section.id}.{field.id}"
        self.limit = field.max_chars or 0
        lay = self._body(field)
        self.edit = CommitPlainTextEdit()
        self.edit.setAccessibleName(field.label)
        self.edit.setTabChangesFocus(True)
        self.edit.setMinimumHeight(110 if self.limit <= 300 else 170)
        self.edit.setMaximumHeight(160 if self.limit <= 300 else 320)
        self.edit.editingFinished.connect(self._on_finished)
        self.edit.textChanged.connect(self._on_text)
        lay.addWidget(self.edit)
        crow = QHBoxLayout()
        self.overflow_label = style.label("", "problem-error", wrap=False)
        crow.addWidget(self.overflow_label)
        crow.addStretch(1)
        self.counter = style.label("", "counter", wrap=False)
        self.counter.setAccessibleName("字数")
        crow.addWidget(self.counter)
        lay.addLayout(crow)
        self._footer(lay, field)
        lay.addWidget(self.problem_label)
        self.reload()

    def count(self) -> int:
        return char_count(self.edit.toPlainText())

    def _on_text(self) -> None:
        text = self.edit.toPlainText()
        n = char_count(text)
        over = n > self.limit
        self.counter.setText(f"{n}/{self.limit}")
        style.set_role(self.counter, "counter-over" if over else "counter")
        self.overflow_label.setText(f"已超出 {n - self.limit} 字，请删减" if over else "")
        # mark the overflowing characters
        sels = []
        pos = overflow_start(text, self.limit) if over else None
        if pos is not None:
            sel = QTextEdit.ExtraSelection()
            fmt = QTextCharFormat()
            fmt.setBackground(QColor(style.OVERFLOW_BG))
            sel.format = fmt
            cur = QTextCursor(self.edit.document())
            cur.setPosition(pos)
            cur.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
            sel.cursor = cur
            sels.append(sel)
        self.edit.setExtraSelections(sels)
        self.counted.emit()

    def _on_finished(self) -> None:
        text = self.edit.toPlainText()
        if self._commit(self.key, text):
            stored = self.ctl.session.value(self.key) or ""
            if stored != text and stored != text.strip():
                with QSignalBlocker(self.edit):
                    self.edit.setPlainText(stored)
                self._on_text()
            self.edit.document().setModified(False)
            self.edit.document().clearUndoRedoStacks()

    def reload(self, key: str | None = None) -> None:
        self.input_errors.pop(self.key, None)
        text = self.ctl.session.value(self.key) or ""
        if text != self.edit.toPlainText():
            self.edit.setPlainText(text)
        self.edit.document().setModified(False)
        self._on_text()
        self.update_problems()

    def _mark_cells(self) -> None:
        style.set_flag(self.edit, "invalid", _cell_invalid(self.ctl, self, self.key))

    def focus_widget(self, key: str) -> QWidget | None:
        return self.edit

    def flush(self) -> None:
        if self.edit.document().isModified():
            self._on_finished()



# -- choice ---------------------------------------------------------------------------------


class ChoiceEditor(FieldEditor):
    def __init__(self, ctl: DraftController, section: Section, field: Field):
        super().__init__(ctl, section, [field])
        self.field = field
        self.key = f"{section.id}.{field.id}"
        lay = self._body(field)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: list[QRadioButton] = []
        horizontal = sum(len(o) for o in field.options) <= 14
        box = QHBoxLayout() if horizontal else QVBoxLayout()
        for i, opt in enumerate(field.options):
            rb = QRadioButton(opt)
            rb.setAccessibleName(f"{field.label}：{opt}")
            self.group.addButton(rb, i)
            self.buttons.append(rb)
            if horizontal:
                box.addWidget(rb)
            else:
                box.addWidget(rb, 0, Qt.AlignmentFlag.AlignLeft)
        self.clear_button = QToolButton()
        self.clear_button.setText("清除选择")
        self.clear_button.setAutoRaise(True)
        self.clear_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.clear_button.setStyleSheet(f"color: {style.GREY}; font-size: 9pt;")
        self.clear_button.clicked.connect(lambda: self._set(None))
        if horizontal:
            box.addSpacing(12)
            box.addWidget(self.clear_button)
            box.addStretch(1)
        else:
            box.addWidget(self.clear_button, 0, Qt.AlignmentFlag.AlignLeft)
        lay.addLayout(box)
        self.group.idClicked.connect(lambda i: self._set(field.options[i]))
        self.evidence: EvidencePanel | None = None
        if field.evidence == "if_yes":
            self.evidence = EvidencePanel(ctl, self.key, "是", field.label)
            lay.addWidget(self.evidence)
        self._footer(lay, field)
        lay.addWidget(self.problem_label)
        self.reload()

    def _set(self, option: str | None) -> None:
        if option == self.ctl.session.value(self.key):
            return
        self._commit(self.key, option)
        self.reload()

    def reload(self, key: str | None = None) -> None:
        v = self.ctl.session.value(self.key)
        self.group.setExclusive(False)
        for opt, rb in zip(self.field.options, self.buttons):
            with QSignalBlocker(rb):
                rb.setChecked(opt == v)
        self.group.setExclusive(True)
        self.clear_button.setVisible(v is not None)
        if self.evidence is not None:
            self.evidence.setVisible(v == "是")
            self.evidence.reload()
        self.update_problems()

    def focus_widget(self, key: str) -> QWidget | None:
        checked = self.group.checkedButton()
        return checked or self.buttons[0]


# -- boxes with evidence ------------------------------------------------------------------------


class EvidencePanel(QWidget):
    """添加佐证材料 button, the files added (open / remove), and a mark while there are none."""

    def __init__(self, ctl: DraftController, key: str, option: str, what: str):
        super().__init__()
        self.ctl = ctl
        self.key = key
        self.option = option
        self.what = what
        lay = QHBoxLayout(self)
        lay.setContentsMargins(24, 0, 0, 2)
        lay.setSpacing(6)
        self.add_button = QPushButton("添加佐证材料")
        self.add_button.setAccessibleName(f"为“{option if option != EVIDENCE_GENERAL else what}”添加佐证材料")
        self.add_button.clicked.connect(self.pick_files)
        lay.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignTop)
        self.missing = style.label("⚠ 未添加佐证材料", "missing-evidence", wrap=False)
        lay.addWidget(self.missing, 0, Qt.AlignmentFlag.AlignVCenter)
        # the files as links that wrap in a narrow window: 文件名 移除
        self.files_label = QLabel()
        self.files_label.setWordWrap(True)
        self.files_label.setTextFormat(Qt.TextFormat.RichText)
        self.files_label.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse
                                                 | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
        self.files_label.linkActivated.connect(self._on_link)
        self.files_label.setAccessibleName(f"{option if option != EVIDENCE_GENERAL else what}的佐证材料")
        self.files_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.files_label.setMinimumWidth(60)
        lay.addWidget(self.files_label, 1)
        self.reload()

    def items(self):
        return self.ctl.session.evidence(self.key, self.option)

    def reload(self) -> None:
        items = self.items()
        self._names = {e.id: e.filename for e in items}
        parts = [f'<a href="open:{e.id}">{_esc(e.filename)}</a>&nbsp;'
                 f'<a href="remove:{e.id}" style="color:{style.GREY}">移除</a>' for e in items]
        self.files_label.setText("<br>".join(parts))
        self.files_label.setToolTip("单击文件名打开；“移除”删除这份佐证材料" if items else "")
        self.files_label.setVisible(bool(items))
        self.missing.setVisible(not items)

    def _on_link(self, link: str) -> None:
        what, _, ident = link.partition(":")
        eid = int(ident)
        if what == "open":
            self.open_file(eid)
        elif what == "remove":
            self.remove_file(eid, self._names.get(eid, ""))

    def filenames(self) -> list[str]:
        return [e.filename for e in self.items()]

    def pick_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "选择佐证材料", "", "所有文件 (*)")
        self.add_files(paths)

    def add_files(self, paths: Iterable[str]) -> None:
        from pathlib import Path

        for p in paths:
            try:
                self.ctl.add_evidence(self.key, self.option, Path(p))
            except StoreError as e:
                QMessageBox.warning(self, "无法添加佐证材料", str(e))
        self.reload()

    def open_file(self, evidence_id: int) -> None:
        try:
            path = self.ctl.export_evidence(evidence_id)
        except StoreError as e:
            QMessageBox.warning(self, "无法打开佐证材料", str(e))
            return
        from .opener import open_or_explain

        open_or_explain(self, path, title="无法打开佐证材料")

    def remove_file(self, evidence_id: int, name: str) -> None:
        answer = QMessageBox.question(self, "移除佐证材料", f"确定移除佐证材料“{name}”吗？")
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            self.ctl.remove_evidence(evidence_id, self.key)
        except StoreError as e:
            QMessageBox.warning(self, "无法移除佐证材料", str(e))
        self.reload()


class BoxesEditor(FieldEditor):
    def __init__(self, ctl: DraftController, section: Section, field: Field):
        super().__init__(ctl, section, [field])
        self.field = field
        self.key = f"{section.id}.{field.id}"
        lay = self._body(field)
        self.boxes: dict[str, QCheckBox] = {}
        self.panels: dict[str, EvidencePanel] = {}
        for opt in field.options:
            row = QHBoxLayout()
            cb = QCheckBox()
            cb.setAccessibleName(f"{field.label}：{opt}")
            cb.setToolTip(opt)
            cb.toggled.connect(self._on_toggle)
            row.addWidget(cb, 0, Qt.AlignmentFlag.AlignTop)
            row.addWidget(ClickLabel(opt, cb), 1)
            lay.addLayout(row)
            self.boxes[opt] = cb
            if field.evidence == "ticked":
                panel = EvidencePanel(ctl, self.key, opt, field.label)
                lay.addWidget(panel)
                self.panels[opt] = panel
        self._footer(lay, field)
        lay.addWidget(self.problem_label)
        ctl.evidence_changed.connect(self._on_evidence)
        self.reload()

    def ticked(self) -> list[str]:
        return [o for o, cb in self.boxes.items() if cb.isChecked()]

    def _on_toggle(self, _checked: bool) -> None:
        self._commit(self.key, self.ticked() or None)
        self._show_panels()
        self.update_problems()

    def _on_evidence(self, key: str) -> None:
        if key == self.key:
            for p in self.panels.values():
                p.reload()

    def _show_panels(self) -> None:
        for opt, panel in self.panels.items():
            panel.setVisible(self.boxes[opt].isChecked())

    def reload(self, key: str | None = None) -> None:
        v = self.ctl.session.value(self.key) or []
        for opt, cb in self.boxes.items():
            with QSignalBlocker(cb):
                cb.setChecked(opt in v)
        for p in self.panels.values():
            p.reload()
        self._show_panels()
        self.update_problems()

    def focus_widget(self, key: str) -> QWidget | None:
        return next(iter(self.boxes.values()))


# -- year grids and the standards matrix ---------------------------------------------------------


class GridEditor(FieldEditor):
    """A real table: one row per field (or matrix row), the years as columns."""

    def __init__(self, ctl: DraftController, section: Section, fields: list[Field]):
        super().__init__(ctl, section, fields)
        self.edits: dict[str, NumberEdit] = {}
        self.row_label: dict[str, str] = {}
        lay = self._body()
        self.grid_frame = QFrame()
        self.grid_frame.setObjectName("grid")
        self.grid_frame.setStyleSheet(
            "QFrame#grid { background: #c9d2dd; border: 1px solid #c9d2dd; }"
            " QFrame#grid QLabel { background: white; padding: 4px; }"
            " QFrame#grid QLabel[role=\"grid-head\"] { background: #eef2f7; font-weight: bold; }"
            " QFrame#grid QLineEdit { border: 2px solid white; background: white; padding: 2px; }"
            f" QFrame#grid QLineEdit[warning=\"true\"] {{ border: 2px solid {style.WARNING}; background: #fff8e6; }}"
            f" QFrame#grid QLineEdit[invalid=\"true\"] {{ border: 2px solid {style.ERROR}; background: #fff5f5; }}"
            f" QFrame#grid QLineEdit:focus {{ border: 2px solid {style.ACCENT}; }}")
        self.grid = QGridLayout(self.grid_frame)
        self.grid.setSpacing(1)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.place: dict[str, tuple[int, int]] = {}  # key → (row, column) in the grid, for ↑ ↓
        self._build()
        lay.addWidget(self.grid_frame)
        for f in fields:
            self._footer(lay, f)
        lay.addWidget(self.problem_label)
        self.reload()

    def _head(self, text: str) -> QLabel:
        lab = QLabel(text)
        lab.setWordWrap(True)
        lab.setProperty("role", "grid-head")
        lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
        return lab

    def _row_head(self, text: str, tip: str = "") -> QLabel:
        lab = QLabel(text)
        lab.setWordWrap(True)
        lab.setProperty("role", "grid-row")
        lab.setMinimumWidth(130)
        lab.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        if tip:
            lab.setToolTip(tip)
        return lab

    def _edit(self, key: str, row: int, col: int) -> NumberEdit:
        cell = self.form.cell(key)
        e = NumberEdit(cell.spec.type == "integer", decimals=cell.spec.decimals)
        e.setMinimumWidth(52)
        e.setMaximumWidth(16777215)
        e.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        e.setAccessibleName(cell_name(cell))
        e.editingFinished.connect(lambda k=key: self._on_finished(k))
        e.installEventFilter(self)
        self.edits[key] = e
        self.place[key] = (row, col)
        self.grid.addWidget(e, row, col)
        return e

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        # ↑ ↓ move to the same column of the row above / below, as in a spreadsheet
        if event.type() == QEvent.Type.KeyPress and event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down) \
                and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            key = next((k for k, e in self.edits.items() if e is obj), None)
            if key is not None:
                r, c = self.place[key]
                step = 1 if event.key() == Qt.Key.Key_Down else -1
                rows = sorted({rr for rr, cc in self.place.values() if cc == c and (rr - r) * step > 0},
                              key=lambda rr: abs(rr - r))
                if rows:
                    target = next(k for k, p in self.place.items() if p == (rows[0], c))
                    self.edits[target].setFocus(Qt.FocusReason.TabFocusReason)
                return True
        return super().eventFilter(obj, event)

    def _build(self) -> None:
        years = self.section.years or self.fields[0].years
        self.grid.addWidget(self._head("项目"), 0, 0)
        for j, y in enumerate(years):
            self.grid.addWidget(self._head(f"{y}年"), 0, j + 1)
        for i, f in enumerate(self.fields, start=1):
            text = f.label
            if f.unit and f.unit not in f.label:
                text += f"（{f.unit}）"
            refs = "、".join(str(n) for n in f.help_refs)
            if refs:
                text += f"\n（见{self.form.form.instructions_title}第{refs}条）"
            self.grid.addWidget(self._row_head(text, self.form.help_text(f)), i, 0)
            for j, y in enumerate(years):
                key = f"{self.section.id}.{f.id}.{y}"
                if y not in f.years:
                    self.grid.addWidget(self._head(""), i, j + 1)
                    continue
                self.row_label[key] = f"{f.label} {y}年："
                self._edit(key, i, j + 1)
        self.grid.setColumnStretch(0, 3)
        for j in range(len(years)):
            self.grid.setColumnStretch(j + 1, 1)

    def _label_of(self, key: str) -> str:
        return self.row_label.get(key, "")

    def _on_finished(self, key: str) -> None:
        edit = self.edits[key]
        if not edit.isModified() and key not in self.input_errors:
            return  # passing through (Tab, Enter, ↑ ↓) changes nothing and touches nothing
        if self._commit(key, edit.text()):
            self._show(key)
            edit.setModified(False)
            self._warn_at(key, edit)
        self.update_problems()

    def _show(self, key: str) -> None:
        cell = self.form.cell(key)
        self.edits[key].setText(format_value(self.ctl.session.value(key), Spec.of(cell.field)))

    def keys(self) -> list[str]:
        return list(self.edits)

    def reload(self, key: str | None = None) -> None:
        for k in ([key] if key in self.edits else self.edits):
            self.input_errors.pop(k, None)
            self._show(k)
        self.update_problems()

    def _mark_cells(self) -> None:
        for k, e in self.edits.items():
            invalid = _cell_invalid(self.ctl, self, k)
            style.set_flag(e, "invalid", invalid)
            style.set_flag(e, "warning", not invalid and _cell_doubtful(self.ctl, k))

    def focus_widget(self, key: str) -> QWidget | None:
        return self.edits.get(key) or next(iter(self.edits.values()))

    def flush(self) -> None:
        for k, e in self.edits.items():
            if e.isModified():
                self._on_finished(k)



class MatrixEditor(GridEditor):
    """The standards table: 类别 rows × (year × 主持/参与) columns."""

    def __init__(self, ctl: DraftController, section: Section, field: Field):
        self.field = field
        self._outer_header = True
        super().__init__(ctl, section, [field])

    def _build(self) -> None:
        f = self.field
        years = f.years or (None,)
        title = QLabel(f.label + (f"（单位：{f.unit}）" if f.unit else ""))
        title.setWordWrap(True)
        title.setProperty("role", "grid-head")
        title.setToolTip(self.form.help_text(f))
        ncols = len(years) * len(f.cols)
        self.grid.addWidget(title, 0, 0, 1, ncols + 1)
        self.grid.addWidget(self._head("类别"), 1, 0, 2 if years[0] is not None else 1, 1)
        for j, y in enumerate(years):
            if y is not None:
                self.grid.addWidget(self._head(f"{y}年"), 1, 1 + j * len(f.cols), 1, len(f.cols))
            for k, c in enumerate(f.cols):
                self.grid.addWidget(self._head(c.label), 2, 1 + j * len(f.cols) + k)
        for i, r in enumerate(f.rows):
            self.grid.addWidget(self._row_head(r.label), 3 + i, 0)
            for j, y in enumerate(years):
                for k, c in enumerate(f.cols):
                    parts = [self.section.id, f.id] + ([str(y)] if y is not None else []) + [r.key, c.key]
                    key = ".".join(parts)
                    yl = f"{y}年 " if y is not None else ""
                    self.row_label[key] = f"{yl}{r.label} {c.label}："
                    self._edit(key, 3 + i, 1 + j * len(f.cols) + k)
        self.grid.setColumnStretch(0, 1)
        for j in range(ncols):
            self.grid.setColumnStretch(j + 1, 1)

    def _row_head(self, text: str, tip: str = "") -> QLabel:
        lab = super()._row_head(text, tip)
        lab.setMinimumWidth(44)
        lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
        return lab


# -- repeat tables ----------------------------------------------------------------------------


class _ColumnDelegate(QStyledItemDelegate):
    """Editors by column type: a drop-down for choice, digits only for numbers."""

    def __init__(self, columns: tuple[Column, ...], parent: QWidget):
        super().__init__(parent)
        self.columns = columns

    def createEditor(self, parent, option, index):  # noqa: N802 - Qt API
        col = self.columns[index.column()]
        if col.type == "choice":
            cb = QComboBox(parent)
            cb.addItems([""] + list(col.options))
            return cb
        if col.type in ("number", "integer", "percent"):
            e = NumberEdit(col.type == "integer", parent, decimals=Spec.of(col).decimals)
            e.setMinimumWidth(0)  # the cell's own width: never over the next column
            e.enter_moves = False
            e.setMaximumWidth(16777215)
            return e
        return super().createEditor(parent, option, index)


def _small_button(text: str) -> QToolButton:
    b = QToolButton()
    b.setText(text)
    b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    b.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    return b


class WrapHeader(QHeaderView):
    """Column headings that wrap onto several lines instead of being cut off with "…"."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setDefaultAlignment(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap)
        self.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.sectionResized.connect(lambda *_: self.updateGeometries())

    def sectionSizeFromContents(self, logical: int) -> QSize:  # noqa: N802 - Qt API
        size = super().sectionSizeFromContents(logical)
        model = self.model()
        text = str(model.headerData(logical, self.orientation(), Qt.ItemDataRole.DisplayRole) or "") if model else ""
        width = max(self.sectionSize(logical) - 10, 24)
        rect = self.fontMetrics().boundingRect(QRect(0, 0, width, 2000),
                                               int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), text)
        return QSize(size.width(), max(size.height(), rect.height() + 10))


class PasteTable(QTableWidget):
    """A repeat table that moves like a spreadsheet and takes Ctrl+V of rows from Excel/WPS.

    Enter commits a cell and goes to the next editable cell in reading order (Shift+Enter: back);
    after the last cell it leaves the table. Tab leaves the table at once (a list of hundreds of
    patents is not walked cell by cell); arrows move inside; typing, F2 or a double-click edits."""

    pasted = Signal(str)

    def __init__(self, rows: int, cols: int, parent: QWidget | None = None):
        super().__init__(rows, cols, parent)
        self.setHorizontalHeader(WrapHeader(self))
        self.setTabKeyNavigation(False)

    def _step(self, forward: bool) -> QModelIndex:
        """The next editable cell in reading order from the current one (invalid at the end)."""
        cur = self.currentIndex()
        n_rows, n_cols = self.rowCount(), self.columnCount()
        pos = cur.row() * n_cols + cur.column() if cur.isValid() else (-1 if forward else n_rows * n_cols)
        step = 1 if forward else -1
        pos += step
        while 0 <= pos < n_rows * n_cols:
            r, c = divmod(pos, n_cols)
            it = self.item(r, c)
            if it is not None and it.flags() & Qt.ItemFlag.ItemIsEditable and not self.isColumnHidden(c):
                return self.model().index(r, c)
            pos += step
        return QModelIndex()

    def _leave(self, forward: bool) -> None:
        QWidget.focusNextPrevChild(self, forward)  # on to the next (previous) control of the page

    def _go(self, forward: bool) -> None:
        """To the next editable cell; past the last (or first) one, out of the table."""
        target = self._step(forward)
        if target.isValid():
            self.setCurrentIndex(target)
        else:
            self._leave(forward)

    def closeEditor(self, editor, hint) -> None:  # noqa: N802 - Qt API
        hints = QStyledItemDelegate.EndEditHint
        if hint in (hints.EditNextItem, hints.EditPreviousItem):  # Tab in a cell: commit, leave the table
            super().closeEditor(editor, hints.NoHint)
            self._leave(hint == hints.EditNextItem)
            return
        if hint == hints.SubmitModelCache:  # Enter in a cell: commit, next cell
            super().closeEditor(editor, hints.NoHint)
            self._go(not QGuiApplication.keyboardModifiers() & Qt.KeyboardModifier.ShiftModifier)
            return
        super().closeEditor(editor, hint)

    def keyPressEvent(self, e) -> None:  # noqa: N802 - Qt API
        if e.matches(QKeySequence.StandardKey.Paste) and self.state() != QAbstractItemView.State.EditingState:
            text = QGuiApplication.clipboard().text()
            if "\t" in text or "\n" in text.strip():
                self.pasted.emit(text)
                return
        if e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.state() != QAbstractItemView.State.EditingState:
            self._go(not e.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            return
        super().keyPressEvent(e)

    def inputMethodEvent(self, e) -> None:  # noqa: N802 - Qt API
        # Chinese typed on a cell that is not open yet: Qt opens the editor but drops the text
        # the input method delivered; open it and hand the text on, as a key press would be
        idx = self.currentIndex()
        if self.state() != QAbstractItemView.State.EditingState and idx.isValid() \
                and (e.commitString() or e.preeditString()) \
                and self.edit(idx, QAbstractItemView.EditTrigger.AnyKeyPressed, e):
            editor = QApplication.focusWidget()
            if editor is not None and editor is not self:
                QApplication.sendEvent(editor, e)
                return
        super().inputMethodEvent(e)


class RepeatEditor(FieldEditor):
    """A table with 添加行/删除行/上移/下移; the whole row list is committed after each cell edit."""

    def __init__(self, ctl: DraftController, section: Section, field: Field):
        super().__init__(ctl, section, [field])
        self.field = field
        self.key = f"{section.id}.{field.id}"
        self.fixed = {r["key"]: r for r in field.fixed_rows}
        self.row_keys: list[str | None] = []
        self._loading = False
        lay = self._body(field)
        cols = field.columns
        self.table = PasteTable(0, len(cols))
        self.table.pasted.connect(self.paste_text)
        self.table.setToolTip("直接输入、双击或按 F2 填写；Enter 到下一格（最后一格后离开表格），方向键在表内移动，"
                              "Tab 离开表格；可从 Excel 复制多行后在表中按 Ctrl+V 粘贴")
        self.table.setAccessibleName(field.label)
        self.table.setHorizontalHeaderLabels([c.label for c in cols])
        self.table.setItemDelegate(_ColumnDelegate(cols, self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setWordWrap(True)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed
                                   | QAbstractItemView.EditTrigger.AnyKeyPressed
                                   | QAbstractItemView.EditTrigger.SelectedClicked)
        hh = self.table.horizontalHeader()
        fm = self.table.horizontalHeader().fontMetrics()
        for j, c in enumerate(cols):
            if c.width_mm:
                hh.setSectionResizeMode(j, QHeaderView.ResizeMode.Interactive)
                # as on paper, but never narrower than the column's heading
                self.table.setColumnWidth(j, max(int(c.width_mm * MM), fm.horizontalAdvance(c.label) + 16))
            else:
                hh.setSectionResizeMode(j, QHeaderView.ResizeMode.Stretch)
        if all(c.width_mm for c in cols):
            hh.setStretchLastSection(True)
        # row numbers, unless the form has its own 序号 column
        self.table.verticalHeader().setVisible(not any(c.auto == "serial" for c in cols))
        self.table.itemChanged.connect(self._on_item)
        self.table.currentCellChanged.connect(lambda *_: self._update_buttons())
        lay.addWidget(self.table)
        brow = QHBoxLayout()
        self.add_button = _small_button("添加行")
        self.del_button = _small_button("删除行")
        self.up_button = _small_button("上移")
        self.down_button = _small_button("下移")
        for b, slot in ((self.add_button, self.add_row), (self.del_button, self.delete_row),
                        (self.up_button, lambda: self.move_row(-1)), (self.down_button, lambda: self.move_row(1))):
            b.clicked.connect(slot)
            b.setAccessibleName(f"{field.label}：{b.text()}")
            brow.addWidget(b)
        brow.addStretch(1)
        self.count_label = style.label("", "help", wrap=False)
        brow.addWidget(self.count_label)
        if field.max_rows:
            brow.addWidget(style.label(f"最多 {field.max_rows} 行", "help", wrap=False))
        lay.addLayout(brow)
        self._footer(lay, field)
        lay.addWidget(self.problem_label)
        self.reload()

    # -- model <-> table --
    def _item(self, text: str, editable: bool) -> QTableWidgetItem:
        it = QTableWidgetItem(text)
        if not editable:
            it.setFlags(it.flags() & ~Qt.ItemFlag.ItemIsEditable)
            it.setBackground(QColor("#f1f3f6"))
        return it

    def _fill_row(self, r: int, data: dict[str, Any], row_key: str | None) -> None:
        fixed = self.fixed.get(row_key or "", {})
        for j, c in enumerate(self.field.columns):
            if c.auto == "serial":
                self.table.setItem(r, j, self._item(str(r + 1), False))
                continue
            v = data.get(c.id)
            if v is None:
                v = fixed.get(c.id)
            text = "" if v is None else format_value(v, Spec.of(c))
            editable = not (c.id in fixed and fixed[c.id] != self.field.open_text)
            self.table.setItem(r, j, self._item(text, editable))

    def reload(self, key: str | None = None) -> None:
        self.input_errors.pop(self.key, None)
        stored = self.ctl.session.value(self.key) or []
        rows: list[tuple[str | None, dict]] = [(r.get("key"), r) for r in stored]
        # the fixed rows the form prints always show; one missing from the stored list goes back
        # to its official place (after the fixed row before it)
        order = list(self.fixed)
        present = {k for k, _ in rows if k}
        for idx, k in enumerate(order):
            if k in present:
                continue
            before = set(order[:idx])
            pos = max((i + 1 for i, (rk, _) in enumerate(rows) if rk in before), default=0)
            rows.insert(pos, (k, {}))
            present.add(k)
        self._loading = True
        try:
            self.table.setRowCount(len(rows))
            self.row_keys = [k for k, _ in rows]
            for i, (k, data) in enumerate(rows):
                self._fill_row(i, data, k)
        finally:
            self._loading = False
        self._fit()
        self._update_buttons()
        self.update_problems()

    def rows(self) -> list[dict[str, Any]]:
        """The table as the row list handed to the core (every row, empty ones too)."""
        out = []
        for i, rk in enumerate(self.row_keys):
            row: dict[str, Any] = {"key": rk} if rk else {}
            for j, c in enumerate(self.field.columns):
                if c.auto == "serial":
                    continue
                it = self.table.item(i, j)
                text = it.text().strip() if it else ""
                if text:
                    row[c.id] = text
            out.append(row)
        return out

    def _fit(self) -> None:
        self.table.resizeRowsToContents()
        h = self.table.horizontalHeader().height() + 2 * self.table.frameWidth()
        n = self.table.rowCount()
        shown = min(n, MAX_VISIBLE_ROWS)
        h += sum(self.table.rowHeight(i) for i in range(shown))
        if n <= MAX_VISIBLE_ROWS:
            self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        else:  # a long list (hundreds of patents) scrolls inside its own table
            self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        if self.table.horizontalScrollBar().isVisible():
            h += self.table.horizontalScrollBar().height()
        self.table.setFixedHeight(max(h + 2, 60))
        self.count_label.setText(f"共 {n} 行" if n > MAX_VISIBLE_ROWS else "")

    def _update_buttons(self) -> None:
        r = self.table.currentRow()
        user_row = 0 <= r < len(self.row_keys) and self.row_keys[r] is None
        self.del_button.setEnabled(user_row)
        self.up_button.setEnabled(user_row and r > 0)
        self.down_button.setEnabled(user_row and r < self.table.rowCount() - 1)
        full = self.field.max_rows is not None and self.table.rowCount() >= self.field.max_rows
        self.add_button.setEnabled(not full)

    # -- editing --
    def _on_item(self, item: QTableWidgetItem) -> None:
        if self._loading:
            return
        self.commit_rows()
        self._fit()

    def commit_rows(self) -> bool:
        ok = self._commit(self.key, self.rows())
        if ok:
            self._canonicalize()
        self.update_problems()
        return ok

    def _canonicalize(self) -> None:
        """Show the stored form of each value (e.g. 2 decimals) in the non-empty rows."""
        stored = self.ctl.session.value(self.key) or []
        it = iter(stored)
        self._loading = True
        try:
            for i, row in enumerate(self.rows()):
                if not (set(row) - {"key"}) and "key" not in row:
                    continue
                s = next(it, None)
                if s is None:
                    break
                for j, c in enumerate(self.field.columns):
                    if c.id in s and c.type in ("number", "integer", "percent"):
                        cur = self.table.item(i, j)
                        text = format_value(s[c.id], Spec.of(c))
                        if cur is not None and cur.text() != text:
                            cur.setText(text)
        finally:
            self._loading = False

    def add_row(self) -> None:
        r = self.table.rowCount()
        self._loading = True
        try:
            self.table.insertRow(r)
            self.row_keys.insert(r, None)
            self._fill_row(r, {}, None)
        finally:
            self._loading = False
        self._renumber()
        self._fit()
        first = next((j for j, c in enumerate(self.field.columns) if c.auto is None), 0)
        self.table.setCurrentCell(r, first)
        self.table.setFocus()
        self._update_buttons()

    def paste_text(self, text: str) -> None:
        """Fill cells from tab-separated lines, from the current cell on; add rows as needed."""
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        while lines and not lines[-1].strip():
            lines.pop()
        if not lines:
            return
        editable = [j for j, c in enumerate(self.field.columns) if c.auto is None]
        r0 = max(self.table.currentRow(), 0)
        c0 = self.table.currentColumn()
        start = editable.index(c0) if c0 in editable else 0
        self._loading = True
        try:
            for i, line in enumerate(lines):
                r = r0 + i
                if r >= self.table.rowCount():
                    self.table.insertRow(r)
                    self.row_keys.insert(r, None)
                    self._fill_row(r, {}, None)
                for j, value in enumerate(line.split("\t")):
                    if start + j >= len(editable):
                        break
                    item = self.table.item(r, editable[start + j])
                    if item is not None and item.flags() & Qt.ItemFlag.ItemIsEditable:
                        item.setText(value.strip())
        finally:
            self._loading = False
        self._renumber()
        self._fit()
        self.commit_rows()
        self._update_buttons()

    def delete_row(self) -> None:
        r = self.table.currentRow()
        if r < 0 or self.row_keys[r] is not None:
            return
        self.table.removeRow(r)
        del self.row_keys[r]
        self._renumber()
        self._fit()
        self.commit_rows()
        self._update_buttons()

    def move_row(self, delta: int) -> None:
        r = self.table.currentRow()
        t = r + delta
        if r < 0 or not (0 <= t < self.table.rowCount()) or self.row_keys[r] is not None:
            return
        self._loading = True
        try:
            for j in range(self.table.columnCount()):
                a = self.table.takeItem(r, j)
                b = self.table.takeItem(t, j)
                self.table.setItem(r, j, b)
                self.table.setItem(t, j, a)
            self.row_keys[r], self.row_keys[t] = self.row_keys[t], self.row_keys[r]
        finally:
            self._loading = False
        self._renumber()
        self.table.setCurrentCell(t, max(self.table.currentColumn(), 0))
        self.commit_rows()
        self._update_buttons()

    def _renumber(self) -> None:
        self._loading = True
        try:
            for j, c in enumerate(self.field.columns):
                if c.auto == "serial":
                    for i in range(self.table.rowCount()):
                        self.table.setItem(i, j, self._item(str(i + 1), False))
        finally:
            self._loading = False

    def _mark_cells(self) -> None:
        style.set_flag(self.table, "invalid", _cell_invalid(self.ctl, self, self.key))

    def _carried_lines(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """Carried cells get their source as tooltip; changed ones are tinted amber."""
        cells = self.ctl.carried_cells(self.key)
        if not cells:
            return [], []
        cols = {c.id: j for j, c in enumerate(self.field.columns)}
        name_col = next((j for j, c in enumerate(self.field.columns) if c.type == "text"), None)
        changes: list[tuple[str, str]] = []
        self._loading = True  # tooltips and colours must not count as edits
        try:
            for (row_key, col), c in cells.items():
                if row_key not in self.row_keys or col not in cols:
                    continue
                r = self.row_keys.index(row_key)
                it = self.table.item(r, cols[col])
                if it is None:
                    continue
                if c.changed:
                    was = "（空）" if c.value in (None, "") else str(c.value)
                    tip = f"与{c.label}不同：{c.label}为 {was}\n来自{c.source}"
                    it.setBackground(QColor(CARRIED_CHANGED_BG))
                    name_item = self.table.item(r, name_col) if name_col is not None else None
                    name = name_item.text() if name_item is not None and name_item.text() else row_key
                    changes.append((f"◆ {name} · {self.field.columns[cols[col]].label}：与{c.label}不同，"
                                    f"{c.label}为 {was}", tip))
                else:
                    tip = f"来自{c.source}"
                    if it.flags() & Qt.ItemFlag.ItemIsEditable:
                        it.setData(Qt.ItemDataRole.BackgroundRole, None)  # back to the table's own
                it.setToolTip(tip)
        finally:
            self._loading = False
        first = next(iter(cells.values()))
        origin = first.source.split(" · ", 1)[0].strip()
        sources = [(f"↳ 表中 {len(cells)} 个单元格来自{origin}，鼠标停在单元格上可看来源；"
                    f"与{first.label}不同的以黄色标出", "")]
        return sources, changes

    def focus_widget(self, key: str) -> QWidget | None:
        return self.table

    def flush(self) -> None:
        # a cell editor still open: close it so its text reaches the table (and the core)
        if self.table.state() == QAbstractItemView.State.EditingState:
            editor = self.table.focusWidget()
            if editor is not None and editor is not self.table:
                self.table.commitData(editor)
                self.table.closeEditor(editor, QStyledItemDelegate.EndEditHint.NoHint)


# -- the factory --------------------------------------------------------------------------------


def editor_for(ctl: DraftController, section: Section, field: Field) -> FieldEditor:
    t = field.type
    if t == "narrative":
        return NarrativeEditor(ctl, section, field)
    if t == "choice":
        return ChoiceEditor(ctl, section, field)
    if t == "boxes":
        return BoxesEditor(ctl, section, field)
    if t == "repeat":
        return RepeatEditor(ctl, section, field)
    if t == "matrix":
        return MatrixEditor(ctl, section, field)
    if field.years and not field.calculation:
        return GridEditor(ctl, section, [field])
    return LineFieldEditor(ctl, section, field)


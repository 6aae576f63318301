"""The editor of a narrative (200 / 3000 / 150字以内): the counter, the part over the limit marked."""

from __future__ import annotations

from clusterdesk.model.schema import Field, Section
from clusterdesk.model.values import char_count

from .. import style
from ..controller import DraftController
from ..qt import QColor, QHBoxLayout, QSignalBlocker, QTextEdit, QTextCharFormat, QTextCursor, QWidget, Signal
from .base import FieldEditor, cell_invalid
from .inputs import CommitPlainTextEdit


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
        style.set_flag(self.edit, "invalid", cell_invalid(self.ctl, self, self.key))

    def focus_widget(self, key: str) -> QWidget | None:
        return self.edit

    def flush(self) -> None:
        if self.edit.document().isModified():
            self._on_finished()

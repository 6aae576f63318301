"""The editor of a repeat table (lists of patents, enterprises, platforms): rows added, removed,
pasted from Excel."""

from __future__ import annotations

from typing import Any

from clusterdesk.model.schema import Field, Section
from clusterdesk.model.values import Spec, format_value

from .. import style
from ..controller import DraftController
from ..qt import (
    QAbstractItemView,
    QApplication,
    QColor,
    QGuiApplication,
    QKeySequence,
    QHBoxLayout,
    QHeaderView,
    QModelIndex,
    QStyledItemDelegate,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
    Qt,
    Signal,
)
from .base import CARRIED_CHANGED_BG, FieldEditor, cell_invalid
from .grid import ColumnDelegate, WrapHeader, small_button
from .inputs import MAX_VISIBLE_ROWS, MM


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
        self.table.setItemDelegate(ColumnDelegate(cols, self.table))
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
        self.add_button = small_button("添加行")
        self.del_button = small_button("删除行")
        self.up_button = small_button("上移")
        self.down_button = small_button("下移")
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
            for i, (rk, data) in enumerate(rows):
                self._fill_row(i, data, rk)
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
        style.set_flag(self.table, "invalid", cell_invalid(self.ctl, self, self.key))

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

"""The year grids (a row per field, a column per year) and matrices, in spreadsheet cells."""

from __future__ import annotations

from clusterdesk.model.schema import Column, Field, Section
from clusterdesk.model.values import Spec, format_value

from .. import style
from ..controller import DraftController
from ..qt import (
    QComboBox,
    QEvent,
    QFrame,
    QGridLayout,
    QHeaderView,
    QLabel,
    QRect,
    QSize,
    QSizePolicy,
    QStyledItemDelegate,
    QToolButton,
    QWidget,
    Qt,
)
from .base import FieldEditor, cell_doubtful, cell_invalid, cell_name
from .inputs import NumberEdit


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
            invalid = cell_invalid(self.ctl, self, k)
            style.set_flag(e, "invalid", invalid)
            style.set_flag(e, "warning", not invalid and cell_doubtful(self.ctl, k))

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


class ColumnDelegate(QStyledItemDelegate):
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


def small_button(text: str) -> QToolButton:
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

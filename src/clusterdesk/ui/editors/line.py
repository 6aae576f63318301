"""The editor of a single-line field: text, a number, a date, a computed value."""

from __future__ import annotations

from decimal import Decimal

from clusterdesk.model.schema import EVIDENCE_GENERAL, Field, Section
from clusterdesk.model.values import Spec, format_value, to_decimal

from .. import style
from ..controller import DraftController
from ..qt import QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget, Qt
from .base import FieldEditor, cell_doubtful, cell_invalid, cell_name, fit_text
from .evidence import EvidencePanel
from .inputs import FormLineEdit, NumberEdit


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
                invalid = cell_invalid(self.ctl, self, k)
                style.set_flag(line.edit, "invalid", invalid)
                style.set_flag(line.edit, "warning", not invalid and cell_doubtful(self.ctl, k))

    def focus_widget(self, key: str) -> QWidget | None:
        line = self.lines.get(key) or self.lines[self.key]
        return line.edit or line.computed_edit

    def flush(self) -> None:
        for k, line in self.lines.items():
            if line.edit is not None and line.edit.isModified():
                self._on_finished(k)
            if line.note_edit is not None:
                self._on_note(k)

"""What every editor shares: :class:`FieldEditor` (one field's label, help, problems and carried
value), the names of cells in messages and the 填报说明 hints."""

from __future__ import annotations

from typing import Any

from clusterdesk.model.form import Cell, FormDef, colon_join
from clusterdesk.model.schema import Field, Section
from clusterdesk.model.values import Spec, format_value

from .. import style
from ..controller import DraftController
from ..qt import QBoxLayout, QFrame, QLineEdit, QVBoxLayout, QWidget
from .inputs import ProblemLabel, balloon


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


def esc(text: str) -> str:
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
            assert isinstance(lay, QBoxLayout)  # every field line is laid out in a column
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


def cell_doubtful(ctl: DraftController, key: str) -> bool:
    """A plausibility warning (请核对) on the cell."""
    return any(p.kind == "plausible" for p in ctl.problems_for(key))


def cell_invalid(ctl: DraftController, editor: FieldEditor, key: str) -> bool:
    if key in editor.input_errors:
        return True
    return any(p.level == "error" and p.kind != "required" for p in ctl.problems_for(key))

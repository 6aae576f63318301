"""The whole demo cluster typed and clicked in through the wizard, then compared with the store;
and a filled draft closed and reopened with every value back in its widget."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from gui_helpers import edit_cell, fill_line, type_text

from clusterdesk.model.values import Spec, format_value
from clusterdesk.ui.qt import QApplication, QGuiApplication, Qt
from clusterdesk.ui.editors import (
    BoxesEditor,
    ChoiceEditor,
    GridEditor,
    LineFieldEditor,
    NarrativeEditor,
    RepeatEditor,
)
from cd_support import DEMO


pytestmark = pytest.mark.gui


def as_text(v) -> str:
    if isinstance(v, Decimal):
        return format(v, "f")
    return str(v)


def fill_repeat(qtbot, ed: RepeatEditor, rows: list[dict]) -> None:
    cols = [c for c in ed.field.columns if c.auto is None]
    col_index = {c.id: j for j, c in enumerate(ed.field.columns)}
    fixed = [r for r in rows if r.get("key")]
    free = [r for r in rows if not r.get("key")]
    for row in fixed:
        r = ed.row_keys.index(row["key"])
        for cid, v in row.items():
            if cid == "key":
                continue
            item = ed.table.item(r, col_index[cid])
            if item.text() != as_text(v):
                edit_cell(qtbot, ed.table, r, col_index[cid], as_text(v))
    if len(free) > 20:
        # a long list is copied from a spreadsheet and pasted in one go
        tsv = "\n".join("\t".join(as_text(row.get(c.id, "")) for c in cols) for row in free)
        QGuiApplication.clipboard().setText(tsv + "\n")
        ed.table.setCurrentCell(max(ed.table.rowCount() - 1, 0) if ed.table.rowCount() else 0, 0)
        ed.table.setFocus()
        qtbot.keyClick(ed.table, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
        return
    for row in free:
        qtbot.mouseClick(ed.add_button, Qt.MouseButton.LeftButton)
        r = ed.table.rowCount() - 1
        for cid, v in row.items():
            edit_cell(qtbot, ed.table, r, col_index[cid], as_text(v))


def fill_page(qtbot, page, answers: dict) -> None:
    for ed in page.editors:
        if isinstance(ed, LineFieldEditor):
            for key, line in ed.lines.items():
                if line.edit is not None and key in answers:
                    fill_line(qtbot, line.edit, as_text(answers[key]))
        elif isinstance(ed, GridEditor):  # year grids and the standards matrix
            for key, e in ed.edits.items():
                if key in answers:
                    fill_line(qtbot, e, as_text(answers[key]))
        elif isinstance(ed, NarrativeEditor):
            if ed.key in answers:
                qtbot.mouseClick(ed.edit.viewport(), Qt.MouseButton.LeftButton)
                type_text(qtbot, ed.edit, answers[ed.key])
                qtbot.keyClick(ed.edit, Qt.Key.Key_Tab)  # leave the field
        elif isinstance(ed, ChoiceEditor):
            if ed.key in answers:
                i = ed.field.options.index(answers[ed.key])
                qtbot.mouseClick(ed.buttons[i], Qt.MouseButton.LeftButton)
        elif isinstance(ed, BoxesEditor):
            for opt in answers.get(ed.key, []):
                qtbot.mouseClick(ed.boxes[opt], Qt.MouseButton.LeftButton)
        elif isinstance(ed, RepeatEditor):
            if ed.key in answers:
                fill_repeat(qtbot, ed, answers[ed.key])


def shown(win, key: str):
    """What the user sees for a cell, in the stored value's terms."""
    ed = win.page(next(i for i, s in enumerate(win.form.sections) if s.id == key.split(".")[0])).editor_for_key(key)
    if isinstance(ed, LineFieldEditor):
        return ed.lines[key].edit.text()
    if isinstance(ed, GridEditor):
        return ed.edits[key].text()
    if isinstance(ed, NarrativeEditor):
        return ed.edit.toPlainText()
    if isinstance(ed, ChoiceEditor):
        b = ed.group.checkedButton()
        return b.text() if b else None
    if isinstance(ed, BoxesEditor):
        return ed.ticked()
    if isinstance(ed, RepeatEditor):
        return [{k: v for k, v in r.items()} for r in ed.rows() if set(r) - {"key"} or "key" in r]
    raise AssertionError(key)


def expected_display(form, key, value):
    cell = form.cell(key)
    if cell.field.type in ("boxes",) or cell.field.type == "choice":
        return value
    if cell.field.type == "repeat":
        out = []
        for r in value:
            row = {}
            for k, v in r.items():
                if k == "key":
                    row[k] = v
                else:
                    col = next(c for c in cell.field.columns if c.id == k)
                    row[k] = format_value(v, Spec.of(col))
            out.append(row)
        return out
    return format_value(value, Spec.of(cell.field))


def test_fill_the_whole_demo_cluster_through_the_ui(qtbot, open_window, new_draft, store, demo_answers):
    from clusterdesk.templates import import_file

    did = new_draft()
    win = open_window(did)
    n = len(win.form.sections)
    for i in range(n):
        assert win.current_index() == i
        fill_page(qtbot, win.current_page(), demo_answers)
        qtbot.keyClick(QApplication.focusWidget() or win, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    # the store holds exactly what the demo file holds, parsed the same way
    reference = import_file(store, DEMO / "cq-2024-application.json")
    assert store.get_answers(did) == store.get_answers(reference)
    assert store.get_draft(did).title == "重庆市中小企业特色产业集群（永川数控机床产业）"
    assert win.completion_label.text() == "完成度 100%"
    assert all(win.eligibility.status_of(c.id) == "符合" for c in win.form.form.eligibility)


def test_close_and_reopen_keeps_every_value(qtbot, open_window, demo_draft, store):
    win = open_window(demo_draft)
    # one field is still being typed in when the window is closed
    win.jump_to("cover.contact")
    ed = win.current_page().editor_for_key("cover.contact")
    qtbot.mouseClick(ed.edit, Qt.MouseButton.LeftButton)
    ed.edit.selectAll()
    qtbot.keyClick(ed.edit, Qt.Key.Key_Delete)
    type_text(qtbot, ed.edit, "王芳 023-49880000")
    win.close()
    answers = store.get_answers(demo_draft)
    assert answers["cover.contact"] == "王芳 023-49880000"

    again = open_window(demo_draft)
    form = again.form
    for cell in form.answerable_cells:
        if cell.key in answers:
            assert shown(again, cell.key) == expected_display(form, cell.key, answers[cell.key]), cell.key

"""Renaming a draft from the start window goes through the service: the draft's name and the field
that names it (the form's ``title_field``, 集群名称) always agree, whether the draft is open or not."""

from __future__ import annotations

import pytest
from gui_helpers import type_text

from clusterdesk.ui.qt import QApplication, QInputDialog, QLineEdit, Qt, QTimer

pytestmark = pytest.mark.gui


def answer_rename_dialog(qtbot, name: str, paste: bool = False) -> list[str]:
    """When the 重命名 dialog opens, select its text, type ``name`` (or paste it) and press Enter,
    as a user does. Returns the list the dialog's label is put in (the dialog was really shown)."""
    seen: list[str] = []

    def answer() -> None:
        dlg = next((w for w in QApplication.topLevelWidgets() if isinstance(w, QInputDialog) and w.isVisible()),
                   None)
        if dlg is None:
            QTimer.singleShot(20, answer)
            return
        seen.append(dlg.labelText())
        edit = dlg.findChild(QLineEdit)
        edit.selectAll()
        if paste:
            edit.insert(name)  # what a paste does: replaces the selection
        else:
            type_text(qtbot, edit, name)
        qtbot.keyClick(edit, Qt.Key.Key_Return)

    QTimer.singleShot(0, answer)
    return seen


def title_editor_text(win, key: str) -> str:
    win.jump_to(key)
    edit = win.current_page().editor_for_key(key).focus_widget(key)
    assert isinstance(edit, QLineEdit), type(edit)
    return edit.text()


def _new_draft(store, cq_form, name: str) -> int:
    from clusterdesk.service import DraftSession, create_draft

    info = create_draft(store, cq_form, "草稿")
    DraftSession(store, info.id).set(cq_form.form.title_field, name)  # as typed in the wizard
    return info.id


def test_rename_from_the_start_window_renames_the_field_too(qtbot, start_window, store, cq_form):
    key = cq_form.form.title_field
    did = _new_draft(store, cq_form, "重庆市中小企业特色产业集群（旧名产业）")
    start_window.refresh(did)
    start_window.table.setFocus()
    seen = answer_rename_dialog(qtbot, "重庆市中小企业特色产业集群（新名产业）")
    qtbot.keyClick(start_window.table, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: store.get_draft(did).title.endswith("（新名产业）"))
    assert seen == ["草稿名称："]
    assert store.get_answers(did)[key] == "重庆市中小企业特色产业集群（新名产业）"
    assert start_window.table.item(start_window.table.currentRow(), 0).text() == "重庆市中小企业特色产业集群（新名产业）"
    # reopened, the wizard shows the new name in its field
    win = start_window.open_draft(did)
    assert title_editor_text(win, key) == "重庆市中小企业特色产业集群（新名产业）"
    assert win.windowTitle().startswith("重庆市中小企业特色产业集群（新名产业）")


def test_rename_while_the_draft_is_open_shows_in_its_window_and_undoes(qtbot, start_window, store, cq_form):
    key = cq_form.form.title_field
    did = _new_draft(store, cq_form, "重庆市中小企业特色产业集群（旧名产业）")
    start_window.refresh(did)
    win = start_window.open_draft(did)
    assert title_editor_text(win, key) == "重庆市中小企业特色产业集群（旧名产业）"
    start_window.activateWindow()
    start_window.table.setFocus()
    answer_rename_dialog(qtbot, "重庆市中小企业特色产业集群（新名产业）")
    qtbot.keyClick(start_window.table, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: store.get_draft(did).title.endswith("（新名产业）"))
    # the open window's field and title follow at once, and the store holds the same
    assert title_editor_text(win, key) == "重庆市中小企业特色产业集群（新名产业）"
    assert win.windowTitle().startswith("重庆市中小企业特色产业集群（新名产业）")
    assert store.get_answers(did)[key] == "重庆市中小企业特色产业集群（新名产业）"
    # a rename is an edit of the field: 撤销 in the draft window brings both back
    win.activateWindow()
    win.undo()
    assert store.get_draft(did).title == "重庆市中小企业特色产业集群（旧名产业）"
    assert store.get_answers(did)[key] == "重庆市中小企业特色产业集群（旧名产业）"
    assert title_editor_text(win, key) == "重庆市中小企业特色产业集群（旧名产业）"


def test_a_name_the_field_cannot_take_is_refused_and_nothing_changes(qtbot, start_window, store, cq_form, monkeypatch):
    from clusterdesk.ui.qt import QMessageBox

    from clusterdesk.model.values import MAX_TEXT

    key = cq_form.form.title_field
    did = _new_draft(store, cq_form, "重庆市中小企业特色产业集群（旧名产业）")
    start_window.refresh(did)
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda _p, _t, text, *a, **k: warnings.append(text)))
    start_window.table.setFocus()
    answer_rename_dialog(qtbot, "长" * (MAX_TEXT + 1), paste=True)  # a whole file pasted by mistake
    qtbot.keyClick(start_window.table, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: bool(warnings))
    assert cq_form.cell(key).field.label in warnings[0]
    assert store.get_draft(did).title == "重庆市中小企业特色产业集群（旧名产业）"
    assert store.get_answers(did)[key] == "重庆市中小企业特色产业集群（旧名产业）"

"""The wizard reads the print plan: a field that does not apply is hidden (as the print leaves it out
and the rules skip it), fields that belong to another field's row carry its name, the 填报说明 have
a page of their own; and 文件 → 导出空白表 writes the blank form."""

from __future__ import annotations

from pathlib import Path

import pytest

from cd_support import DEMO

pytestmark = pytest.mark.gui


def _page_of(win, section_id: str):
    i = next(i for i, s in enumerate(win.form.sections) if s.id == section_id)
    win.go_to(i)
    return win.page(i)


def test_change_note_shows_only_when_the_operator_changed(open_window, store, qtbot):
    from clusterdesk.templates import import_file
    from clusterdesk.ui.qt import QLabel, Qt

    did = import_file(store, DEMO / "sh-2023-annual-report.json")
    win = open_window(did)
    page = _page_of(win, "basic")
    note = page.editor_for_key("basic.operator_change_note")
    choice = page.editor_for_key("basic.operator_changed")
    yes, no = (choice.buttons[choice.field.options.index(o)] for o in ("是", "否"))
    assert win.session.value("basic.operator_changed") == "否"
    assert not note.isVisible()
    qtbot.mouseClick(yes, Qt.MouseButton.LeftButton)
    assert win.session.value("basic.operator_changed") == "是"
    qtbot.waitUntil(note.isVisible)
    # named with the row it belongs to: the form has two 变更情况说明
    assert "集群运营管理机构是否发生变更 · 变更情况说明" in [lab.text() for lab in note.findChildren(QLabel)]
    qtbot.mouseClick(no, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not note.isVisible())


def test_contact_fields_carry_the_row_they_belong_to(open_window, store):
    from clusterdesk.templates import import_file
    from clusterdesk.ui.qt import QLabel

    did = import_file(store, DEMO / "cq-2024-application.json")
    win = open_window(did)
    page = _page_of(win, "basic")
    texts = {lab.text() for lab in page.findChildren(QLabel)}
    assert {"区（县）中小企业主管部门 · 联系人", "区（县）中小企业主管部门 · 联系方式",
            "集群运营管理机构 · 联系人", "集群运营管理机构 · 联系方式"} <= texts
    page = _page_of(win, "instructions")
    texts = [lab.text() for lab in page.findChildren(QLabel)]
    assert any(t.startswith("11.为确保文件信息的正确采集") for t in texts)


def test_blank_form_from_the_file_menu(qtbot, store, tmp_path, monkeypatch):
    from clusterdesk.ui import start as start_mod
    from clusterdesk.ui.start import StartWindow

    w = StartWindow(store)
    qtbot.addWidget(w)
    w.show()
    menu = next(a.menu() for a in w.menuBar().actions() if a.menu() and a.menu().title().startswith("文件"))
    action = next(a for a in menu.actions() if a.text().startswith("导出空白表"))
    monkeypatch.setattr(start_mod.QInputDialog, "getItem",
                        lambda _p, _t, _l, names, *a: (next(n for n in names if n.startswith("中小企业特色产业集群年度")), True))
    monkeypatch.setattr(start_mod.QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    shown: list[str] = []
    monkeypatch.setattr(start_mod.QMessageBox, "information", lambda _p, _t, text: shown.append(text))
    monkeypatch.setattr("clusterdesk.export.api.find_soffice", lambda: None)  # the Word file is enough here
    action.trigger()
    out = tmp_path / "年度发展情况报告-空白表.docx"
    assert out.is_file() and shown and "年度发展情况报告-空白表.docx" in shown[0]
    import docx

    text = "\n".join(p.text for p in docx.Document(str(out)).paragraphs)
    assert "中小企业特色产业集群年度发展情况报告" in text and "草稿" not in text

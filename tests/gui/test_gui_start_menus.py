"""The start window's menus and buttons that lead to the other parts of the program:
data packages, the district workspace, backup and restore, help."""

from __future__ import annotations

from pathlib import Path

import pytest

from cd_support import DEMO

pytestmark = pytest.mark.gui


@pytest.fixture()
def start(qtbot, store):
    from clusterdesk.templates import import_file
    from clusterdesk.ui.start import StartWindow

    draft = import_file(store, DEMO / "cq-2024-application.json")
    w = StartWindow(store)
    qtbot.addWidget(w)
    w.show()
    w.refresh(draft)
    return w, draft


def test_export_package_from_the_start_screen(start, tmp_path, monkeypatch):
    from clusterdesk.packages.package import read_package
    from clusterdesk.ui import start as start_mod

    w, draft = start
    out = tmp_path / "给区县.cdpkg"
    monkeypatch.setattr(start_mod.QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    shown: list[str] = []
    monkeypatch.setattr(start_mod.QMessageBox, "information", lambda _p, _t, text: shown.append(text))
    assert w.package_button.isEnabled()
    w.package_button.click()
    assert out.exists() and "已导出" in shown[0]
    contents = read_package(out)
    assert contents.form_id == "cq-2024-application" and contents.answers["basic.area"] == "38.60"


def test_backup_and_restore_from_the_menu(start, tmp_path, monkeypatch):
    from clusterdesk.ui import start as start_mod

    w, draft = start
    backup = tmp_path / "备份.sqlite3"
    monkeypatch.setattr(start_mod.QFileDialog, "getSaveFileName", lambda *a, **k: (str(backup), ""))
    monkeypatch.setattr(start_mod.QMessageBox, "information", lambda *a: None)
    assert w.backup_database() == backup and backup.exists()
    w.store.delete_draft(draft)
    w.refresh()
    assert w.table.rowCount() == 0
    monkeypatch.setattr(start_mod.QFileDialog, "getOpenFileName", lambda *a, **k: (str(backup), ""))
    monkeypatch.setattr(start_mod.QMessageBox, "question", lambda *a: start_mod.QMessageBox.StandardButton.Yes)
    assert w.restore_database() is True
    assert w.table.rowCount() == 1 and w.store.get_answers(draft)["basic.area"] == "38.60"


def test_restore_refuses_a_foreign_file(start, tmp_path, monkeypatch):
    from clusterdesk.ui import start as start_mod

    w, draft = start
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    warned: list[str] = []
    monkeypatch.setattr(start_mod.QFileDialog, "getOpenFileName", lambda *a, **k: (str(junk), ""))
    monkeypatch.setattr(start_mod.QMessageBox, "question", lambda *a: start_mod.QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(start_mod.QMessageBox, "warning", lambda _p, _t, text: warned.append(text))
    assert w.restore_database() is False
    assert warned and warned[0].startswith("未恢复")
    assert w.store.get_answers(draft)["basic.area"] == "38.60"


def test_menus_lead_to_help_about_and_district(start, monkeypatch):
    w, _ = start
    menus = {a.text(): a.menu() for a in w.menuBar().actions()}
    assert set(menus) == {"文件(&F)", "帮助(&H)"}
    file_items = [a.text() for a in menus["文件(&F)"].actions() if a.text()]
    assert file_items == ["新建草稿…", "导出空白表（手工填写用）…", "打开", "重命名…", "删除…", "从填好的模板导入…", "安装表单定义…", "导出数据包…",
                          "区县汇总…",
                          "备份数据库…", "从备份恢复…", "退出"]
    assert [a.text() for a in menus["帮助(&H)"].actions()] == ["用户指南", "关于集群申报助手"]
    called: list[str] = []
    import clusterdesk.ui.district as district

    monkeypatch.setattr(district, "choose_district", lambda store, parent, catalog=None: called.append("district"))
    w.district_button.click()
    assert called == ["district"]

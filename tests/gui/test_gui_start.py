"""The start screen, start-up on a damaged file, 150% scaling, and where Qt may be imported."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from clusterdesk.ui.qt import QApplication, QInputDialog, QMessageBox, QTimer
from cd_support import ROOT

pytestmark = pytest.mark.gui



def _pick_cq(monkeypatch):
    """The 新建 / 示例 form chooser picks the Chongqing application form."""

    def get_item(parent, title, label, items, current=0, editable=False):
        return next(i for i in items if i.startswith("重庆市中小企业特色产业集群申报表")), True

    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(get_item))


def test_new_draft_from_the_catalog_opens_the_wizard(qtbot, start_window, store, monkeypatch):
    _pick_cq(monkeypatch)
    qtbot.mouseClick(start_window.new_button, qtbot_left())
    drafts = store.list_drafts()
    assert len(drafts) == 1 and drafts[0].form_id == "cq-2024-application"
    assert start_window.table.rowCount() == 1
    assert start_window.table.item(0, 1).text() == "重庆市中小企业特色产业集群申报表"
    assert start_window.table.item(0, 3).text() == "0%"
    win = start_window.windows[drafts[0].id]
    assert win.isVisible() and win.section_list.count() == 11  # 封面, 填报说明, 一 … 九


def test_open_demo_cluster_lists_it_complete(qtbot, start_window, store, monkeypatch):
    _pick_cq(monkeypatch)
    qtbot.mouseClick(start_window.demo_button, qtbot_left())
    [d] = store.list_drafts()
    assert d.title == "重庆市中小企业特色产业集群（永川数控机床产业）"
    assert start_window.table.item(0, 0).text() == d.title
    assert start_window.table.item(0, 3).text() == "100%"
    win = start_window.windows[d.id]
    assert "永川数控机床产业" in win.windowTitle()
    # closing the draft refreshes the list
    win.close()
    assert d.id not in start_window.windows


def test_delete_asks_for_confirmation_first(qtbot, start_window, store, monkeypatch):
    from clusterdesk.service import create_draft
    from clusterdesk.model.form import default_catalog

    info = create_draft(store, default_catalog().get("cq-2024-application"), "璧山集群草稿")
    start_window.refresh(info.id)
    seen: list[str] = []

    def answer(button):
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        seen.append(box.text())
        box.button(button).click()

    QTimer.singleShot(0, lambda: answer(QMessageBox.StandardButton.No))
    qtbot.mouseClick(start_window.delete_button, qtbot_left())
    assert seen and "确定删除草稿“璧山集群草稿”吗" in seen[0]
    assert [d.id for d in store.list_drafts()] == [info.id]

    QTimer.singleShot(0, lambda: answer(QMessageBox.StandardButton.Yes))
    qtbot.mouseClick(start_window.delete_button, qtbot_left())
    assert len(seen) == 2
    assert store.list_drafts() == []
    assert start_window.table.rowCount() == 0 and start_window.empty_label.isVisible()


def test_copy_and_rename(qtbot, start_window, store, monkeypatch):
    from clusterdesk.service import create_draft
    from clusterdesk.model.form import default_catalog

    info = create_draft(store, default_catalog().get("cq-2024-application"), "草稿甲")
    start_window.refresh(info.id)
    qtbot.mouseClick(start_window.copy_button, qtbot_left())
    titles = sorted(d.title for d in store.list_drafts())
    assert titles == ["草稿甲", "草稿甲（副本）"]
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("草稿乙", True)))
    qtbot.mouseClick(start_window.rename_button, qtbot_left())
    shown = sorted(start_window.table.item(i, 0).text() for i in range(start_window.table.rowCount()))
    assert "草稿乙" in shown
    assert "草稿乙" in [d.title for d in store.list_drafts()]


def test_import_of_a_bad_template_lists_its_problems(qtbot, start_window, store, tmp_path, monkeypatch):
    from clusterdesk.ui.qt import QFileDialog

    bad = tmp_path / "填好的模板.json"
    bad.write_text(json.dumps({"form": "cq-2024-application", "version": 1,
                               "answers": {"basic.area": "很大", "no.such_field": 1}}, ensure_ascii=False),
                   encoding="utf-8")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(bad), "")))
    qtbot.mouseClick(start_window.import_button, qtbot_left())
    dlg = start_window.problem_dialog
    assert dlg.isVisible()
    lines = [dlg.list.item(i).text() for i in range(dlg.list.count())]
    assert any("no.such_field" in line for line in lines)
    assert any("集群占地面积" in line for line in lines)
    assert store.list_drafts() == []
    dlg.close()


def test_damaged_database_explains_and_leaves_the_file_alone(app, tmp_path, monkeypatch):
    from clusterdesk.ui import app as app_module

    db = tmp_path / "clusterdesk.sqlite3"
    db.write_bytes(b"this is not a database" * 100)
    before = db.read_bytes()
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "exec", lambda self: shown.append(self.text()) or 0)
    assert app_module.open_store(str(db)) is None
    assert shown and "无法打开数据文件" in shown[0]
    assert db.read_bytes() == before


def test_ui_modules_import_qt_only_through_the_qt_module():
    ui = ROOT / "src" / "clusterdesk" / "ui"
    offenders = [p.name for p in ui.glob("*.py")
                 if p.name != "qt.py" and re.search(r"^\s*(from|import)\s+PySide6", p.read_text(encoding="utf-8"), re.M)]
    assert offenders == []


SCALING_PROBE = r"""
import json, os, sys
from pathlib import Path
from clusterdesk.ui.app import ensure_app
from clusterdesk.ui.draft_window import DraftWindow
from clusterdesk.ui.qt import QApplication
from clusterdesk.store import Store
from clusterdesk.templates import import_file
from clusterdesk.paths import demo_dir
app = ensure_app()
store = Store.open(Path(sys.argv[1]))
did = import_file(store, demo_dir() / "cq-2024-application.json")
w = DraftWindow(store, did)
# 1366×768 pixels at 150% are 911×512 logical pixels
w.resize(1366 * 2 // 3, 768 * 2 // 3)
w.show()
QApplication.processEvents()
out = {"dpr": w.devicePixelRatioF(), "logical": [1366 * 2 // 3, 768 * 2 // 3],
       "window": [w.width(), w.height()], "min_hint": [w.minimumSizeHint().width(), w.minimumSizeHint().height()],
       "hscroll": {}}
for i, s in enumerate(w.form.sections):
    w.go_to(i)
    QApplication.processEvents()
    out["hscroll"][s.id] = w.page(i).scroll_area.horizontalScrollBar().maximum()
w.close()
store.close()
print(json.dumps(out))
"""


def test_layout_holds_at_150_percent_scaling_on_1366x768(tmp_path):
    screen = tmp_path / "screen.json"  # the whole 1366×768 screen, frameless: 911×512 logical pixels
    screen.write_text(json.dumps({"screens": [{"name": "s", "x": 0, "y": 0, "width": 1366, "height": 768,
                                               "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={screen}", QT_SCALE_FACTOR="1.5")
    r = subprocess.run([sys.executable, "-c", SCALING_PROBE, str(tmp_path / "s.sqlite3")],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["dpr"] == 1.5
    lw, lh = out["logical"]
    assert out["min_hint"][0] <= lw and out["min_hint"][1] <= lh, out
    assert out["window"] == [lw, lh], out
    assert all(v == 0 for v in out["hscroll"].values()), out["hscroll"]  # nothing cut off sideways


def qtbot_left():
    from clusterdesk.ui.qt import Qt

    return Qt.MouseButton.LeftButton


def test_run_exits_non_zero_on_a_damaged_file(app, tmp_path, monkeypatch):
    from clusterdesk.ui import app as app_module

    db = tmp_path / "坏文件.sqlite3"
    db.write_bytes(b"\x00garbage" * 64)
    monkeypatch.setattr(QMessageBox, "exec", lambda self: 0)
    assert app_module.run(str(db)) == 1

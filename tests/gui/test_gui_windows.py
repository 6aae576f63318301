"""Every window on an office laptop's screen (1366×768 with a taskbar: 1366×728 available, see
conftest.py), remembered sizes, the keyboard in the start window, visible focus, and honest
reports when the system opens nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from clusterdesk.ui.qt import (
    QApplication,
    QCheckBox,
    QLineEdit,
    QPoint,
    QPushButton,
    QRect,
    QScrollArea,
    QSize,
    Qt,
    QTimer,
    QWidget,
)
from cd_support import DEMO, ROOT

pytestmark = pytest.mark.gui

AVAILABLE = QSize(1366, 728)


# --------------------------------------------------------------------------- helpers


def _scroll_area_of(w: QWidget) -> QScrollArea | None:
    p = w.parentWidget()
    while p is not None:
        if isinstance(p, QScrollArea):
            return p
        p = p.parentWidget()
    return None


def assert_fits(qtbot, w: QWidget) -> None:
    """The whole frame lies in the available area, and every shown button can be seen whole
    (a button in a scrolling part is scrolled to first: the layout may scroll, not cut off)."""
    qtbot.waitExposed(w)
    QApplication.processEvents()
    avail = w.screen().availableGeometry()
    assert avail.size() == AVAILABLE
    assert avail.contains(w.frameGeometry()), (w.windowTitle(), w.frameGeometry(), avail)
    for b in [b for b in w.findChildren(QPushButton) if b.window() is w and b.isVisibleTo(w)]:
        area = _scroll_area_of(b)
        if area is not None:
            area.ensureWidgetVisible(b)
            QApplication.processEvents()
        assert b.visibleRegion().boundingRect() == b.rect(), f"“{b.text()}” in {w.windowTitle()} is cut off"
        assert avail.contains(QRect(b.mapToGlobal(QPoint(0, 0)), b.size())), b.text()


def import_demo(store, name: str = "cq-2024-application") -> int:
    from clusterdesk.templates import import_file

    return import_file(store, DEMO / f"{name}.json")


@pytest.fixture()
def start(show_window, store):
    from clusterdesk.ui.start import StartWindow

    return lambda: show_window(StartWindow(store))


def _settings(store) -> dict:
    from clusterdesk.ui.settings import load_settings, settings_path_for

    return load_settings(settings_path_for(store.path))


def _write_settings(store, data: dict) -> None:
    from clusterdesk.ui.settings import save_settings, settings_path_for

    save_settings(settings_path_for(store.path), data)


# --------------------------------------------------------------------------- every window fits


def test_every_window_and_dialog_fits_a_1366x768_screen(start, qtbot, store, tmp_path):
    from clusterdesk.annual import create_annual
    from clusterdesk.packages.district import District, create_district
    from clusterdesk.ui.about import show_about
    from clusterdesk.ui.annual import AnnualChoiceDialog
    from clusterdesk.ui.district import LongTextDialog, NewDistrictDialog
    from clusterdesk.ui.firstrun import FirstRunDialog
    from clusterdesk.ui.help import show_user_guide
    from clusterdesk.ui.opener import show_open_failed
    from clusterdesk.ui.start import ProblemListDialog

    app_id = import_demo(store)
    report_id = create_annual(store, app_id, "sh-2023-annual-report")
    cq_district = create_district(store, District("永川区", "cq-2024", "重庆市永川区经济和信息化委员会"))
    sh_district = create_district(store, District("浦东新区", "sh-2023"))
    w = start()
    assert_fits(qtbot, w)
    seen = [w]

    def check(win):
        assert_fits(qtbot, win)
        seen.append(win)
        return win

    draft = check(w.open_draft(app_id))
    check(w.open_draft(report_id))
    district = check(w.open_draft(cq_district))
    assert type(district).__name__ == "DistrictWindow" and district.height() < 728
    # the bar that fell below the screen's edge at 1200×800
    for b in (district.compile_button, district.print_button, district.preview_button, district.folder_button):
        assert b.visibleRegion().boundingRect() == b.rect()
    check(w.open_draft(sh_district))
    check(show_user_guide(w))
    check(show_about(w, store.path))
    check(draft.check_all())
    check(draft.show_find())
    check(draft.show_export())
    for dlg in (FirstRunDialog(store, w), ProblemListDialog("无法导入", "有以下问题：", ["第1行"] * 40, w),
                NewDistrictDialog(w.catalog, w), AnnualChoiceDialog([w.catalog.get("sh-2023-annual-report")], "x", w),
                LongTextDialog("集群简介（150字以内）", "集" * 150, 150, district)):
        dlg.show()
        check(dlg)
        dlg.close()
    check(show_open_failed(district, "未能打印", ["“a.docx”未能打印"], tmp_path))
    assert len(seen) >= 15


def test_a_window_reopens_where_it_was_left(start, qtbot, store):
    from clusterdesk.packages.district import District, create_district

    w = start()
    w.setGeometry(QRect(150, 90, 1050, 520))
    QApplication.processEvents()
    w.close()
    saved = _settings(store)["windows"]["start"]
    assert (saved["x"], saved["y"], saved["w"], saved["h"]) == (150, 90, 1050, 520)
    again = start()
    assert again.geometry() == QRect(150, 90, 1050, 520)

    did = create_district(store, District("永川区", "cq-2024"))
    d = again.open_draft(did)
    qtbot.waitExposed(d)
    d.setGeometry(QRect(40, 30, 1000, 600))
    QApplication.processEvents()
    d.close()
    d2 = again.open_draft(did)
    assert d2 is not d and d2.geometry() == QRect(40, 30, 1000, 600)
    d2.close()


def test_a_remembered_size_that_no_longer_fits_is_not_used(start, qtbot, store):
    # left on a bigger monitor, or on a second screen that is gone
    _write_settings(store, {"windows": {"start": {"x": 2100, "y": 50, "w": 1500, "h": 900, "frame": [1, 30, 1, 1],
                                                  "maximized": False},
                                        "district": {"x": 0, "y": 0, "w": 1200, "h": 800, "frame": [0, 0, 0, 0]}}})
    w = start()
    assert_fits(qtbot, w)
    assert w.size() == QSize(1100, 640)
    from clusterdesk.packages.district import District, create_district

    d = w.open_draft(create_district(store, District("永川区", "cq-2024")))
    assert_fits(qtbot, d)
    assert d.height() < 800


def test_the_draft_window_reopens_maximized_or_at_its_size(start, qtbot, store):
    did = import_demo(store)
    w = start()
    win = w.open_draft(did)
    qtbot.waitExposed(win)
    assert win.isMaximized()  # 1366 wide: the draft window takes the whole screen at first
    win.close()
    QApplication.processEvents()
    assert _settings(store)["windows"]["draft"]["maximized"] is True
    win = w.open_draft(did)
    qtbot.waitExposed(win)
    assert win.isMaximized()
    win.showNormal()
    win.setGeometry(QRect(20, 20, 1200, 650))
    QApplication.processEvents()
    win.close()
    QApplication.processEvents()
    again = w.open_draft(did)
    qtbot.waitExposed(again)
    assert not again.isMaximized() and again.geometry() == QRect(20, 20, 1200, 650)


# --------------------------------------------------------------------------- keyboard


def test_enter_on_a_selected_draft_opens_it(start, qtbot, store):
    older = import_demo(store)
    newer = import_demo(store, "sh-2023-annual-report")
    w = start()
    assert w.table.hasFocus()
    assert w.selected_id() == newer  # newest first
    qtbot.keyClick(w.table, Qt.Key.Key_Down)
    assert w.selected_id() == older
    qtbot.keyClick(w.table, Qt.Key.Key_Return)
    assert older in w.windows and w.windows[older].isVisible()
    assert newer not in w.windows


def test_file_menu_open_with_ctrl_o(start, qtbot, store):
    did = import_demo(store)
    w = start()
    action = w.menu_actions["打开"]
    assert action.shortcut().toString() == "Ctrl+O"
    assert w.open_button.toolTip() == "打开所选草稿（也可双击）（回车, Ctrl+O）"  # Qt names Enter 回车
    qtbot.keyClick(w, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    assert did in w.windows and w.windows[did].isVisible()


def test_tab_leaves_the_draft_list(start, qtbot, store):
    import_demo(store)
    import_demo(store)
    w = start()
    w.table.setFocus()
    qtbot.keyClick(w.table, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is not w.table


@pytest.mark.parametrize("kind", ["button", "line", "check", "table"])
def test_keyboard_focus_is_visible(app, qtbot, kind):
    """The same control looks different with keyboard focus: an accent border or tint appears."""
    from clusterdesk.ui import style
    from clusterdesk.ui.qt import QColor, QTableWidget, QVBoxLayout

    host = QWidget()
    lay = QVBoxLayout(host)
    other = QPushButton("别处")
    control = {"button": lambda: QPushButton("打开"), "line": lambda: QLineEdit("52.30"),
               "check": lambda: QCheckBox("同时生成 PDF"), "table": lambda: QTableWidget(3, 3)}[kind]()
    lay.addWidget(other)
    lay.addWidget(control)
    qtbot.addWidget(host)
    host.show()
    qtbot.waitExposed(host)
    host.activateWindow()
    qtbot.waitUntil(host.isActiveWindow)
    other.setFocus()
    QApplication.processEvents()
    accent = QColor(style.FOCUS).rgb()

    def accent_pixels() -> int:
        img = control.grab().toImage()
        return sum(1 for x in range(img.width()) for y in range(img.height()) if img.pixel(x, y) == accent)

    before = accent_pixels()
    control.setFocus()
    qtbot.waitUntil(control.hasFocus)
    QApplication.processEvents()
    after = accent_pixels()
    # an accent border round the control: at least half its perimeter (corners are rounded)
    assert after - before >= control.width() + control.height(), (before, after)


# --------------------------------------------------------------------------- the draft list


def test_the_list_keeps_its_order_when_a_draft_changes(start, qtbot, store):
    from clusterdesk.service import DraftSession

    first = import_demo(store)
    second = import_demo(store, "sh-2023-annual-report")
    w = start()

    def order():
        return [w.table.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in range(w.table.rowCount())]

    assert order() == [second, first]
    DraftSession(store, first).set("basic.area", "40.00")  # the older draft is now the last changed
    w.refresh()
    assert order() == [second, first]


def test_sorting_by_a_column_is_the_users_choice_and_remembered(start, qtbot, store):
    from clusterdesk.service import DraftSession

    first = import_demo(store)
    second = import_demo(store, "sh-2023-annual-report")
    DraftSession(store, first).set("basic.area", "40.00")
    w = start()
    header = w.table.horizontalHeader()
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(header.sectionViewportPosition(2) + 10, header.height() // 2))
    ids = [w.table.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in range(2)]
    assert header.sortIndicatorSection() == 2
    assert ids == ([first, second] if header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder else [second, first])
    assert _settings(store)["start_list_sort"]["column"] == 2
    w.close()
    again = start()
    assert again.table.horizontalHeader().sortIndicatorSection() == 2


def test_names_without_internal_ids(start, qtbot, store, monkeypatch):
    """Annual reports: 年度报告 2023 · <集群名称>; district workspaces: <区县> · <通知>; never cq-2024 or 草稿 N."""
    import re

    from clusterdesk.annual import create_annual
    from clusterdesk.packages.district import District, create_district
    from clusterdesk.ui import district as district_ui
    from clusterdesk.ui.qt import QInputDialog

    app_id = import_demo(store)
    create_annual(store, app_id, "sh-2023-annual-report")
    create_district(store, District("永川区", "cq-2024", "重庆市永川区经济和信息化委员会"))
    w = start()
    names = [w.table.item(r, 0).text() for r in range(w.table.rowCount())]
    cluster = "重庆市中小企业特色产业集群（永川数控机床产业）"
    assert names == ["永川区 · 关于组织开展2024年度重庆市中小企业特色产业集群申报工作的通知",
                     f"年度报告 2023 · {cluster}", cluster]
    offered: list[list[str]] = []

    def get_item(parent, title, label, items, current=0, editable=False):
        offered.append(list(items))
        return "", False

    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(get_item))
    w.district_button.click()  # the district chooser
    d = w.open_draft(w.table.item(0, 0).data(Qt.ItemDataRole.UserRole))
    d.choose_and_add_draft()  # the local drafts that can join
    shown = [t for r in range(w.table.rowCount()) for t in (w.table.item(r, 0).text(), w.table.item(r, 1).text())]
    shown += [x for items in offered for x in items] + [d.windowTitle()]
    assert offered[0][0] == names[0] and offered[1][0].startswith(cluster)
    assert not [t for t in shown if re.search(r"cq-2024|sh-2023|草稿 ?\d", t)], shown
    d.close()


# --------------------------------------------------------------------------- district


def test_district_workspace_opens_from_the_list_and_its_imports_refresh_it(start, qtbot, store, tmp_path):
    from clusterdesk.packages import write_package
    from clusterdesk.packages.district import District, create_district
    from clusterdesk.store import Store

    with Store.open(tmp_path / "other-pc.sqlite3") as other:
        pkg = write_package(other, import_demo(other), tmp_path / "a.cdpkg", documents=False)
    did = create_district(store, District("永川区", "cq-2024"))
    w = start()
    assert w.table.rowCount() == 1
    w.table.selectRow(0)
    qtbot.keyClick(w.table, Qt.Key.Key_Return)
    [d] = w.district_windows
    assert d.ws.draft_id == did and d.isVisible()
    d.import_packages([pkg])
    assert w.table.rowCount() == 2 and not w.empty_label.isVisible()
    d.close()


def test_a_cluster_of_another_district_is_flagged(app, qtbot, store):
    from clusterdesk.packages.district import District, create_district
    from clusterdesk.service import DraftSession
    from clusterdesk.ui.district import DistrictWindow

    cluster = import_demo(store)
    DraftSession(store, cluster).set("cover.district", "璧山区")
    w = DistrictWindow(store, create_district(store, District("永川区", "cq-2024")))
    qtbot.addWidget(w)
    w.show()
    assert w.add_draft(cluster)
    col = [w.cluster_table.horizontalHeaderItem(c).text() for c in range(w.cluster_table.columnCount())].index("所属区县")
    cell = w.cluster_table.item(0, col)
    assert cell.text() == "⚠ 璧山区" and "不是本区县（永川区）" in cell.toolTip()
    assert "所属区县是“璧山区”，不是本区县（永川区）" in w.message.text()
    DraftSession(store, cluster).set("cover.district", "重庆市永川区")
    w.refresh()
    assert w.cluster_table.item(0, col).text() == "重庆市永川区"


def _click_when_shown(qtbot, owner, attr: str, button_text: str) -> None:
    """Click a button of the message box ``owner.<attr>`` once it is open (it blocks in exec)."""

    def click():
        box = getattr(owner, attr, None)
        if box is None or not box.isVisible():
            QTimer.singleShot(20, click)
            return
        next(b for b in box.buttons() if b.text() == button_text).click()

    QTimer.singleShot(0, click)


def test_packaging_a_draft_with_errors_warns_and_offers_to_check(start, qtbot, store, tmp_path, monkeypatch):
    from clusterdesk.service import create_draft
    from clusterdesk.ui.qt import QFileDialog

    w = start()
    did = create_draft(store, w.catalog.get("cq-2024-application")).id
    w.refresh(did)
    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (asked.append(a) or str(tmp_path / "x.cdpkg"), "")))
    _click_when_shown(qtbot, w, "package_warning", "检查")
    assert w.export_package() is None
    n = w.package_errors(did)
    assert n > 10 and f"还有 {n} 个错误" in w.package_warning.text()
    assert asked == [] and not (tmp_path / "x.cdpkg").exists()
    win = w.windows[did]
    assert win.isVisible() and win.problems_dialog is not None and win.problems_dialog.isVisible()

    _click_when_shown(qtbot, w, "package_warning", "仍然导出")
    monkeypatch.setattr("clusterdesk.ui.start.QMessageBox.information", staticmethod(lambda *a: None))
    assert w.export_package() == tmp_path / "x.cdpkg"
    assert (tmp_path / "x.cdpkg").is_file()


def test_a_draft_without_errors_is_packaged_without_a_warning(start, qtbot, store, tmp_path, monkeypatch):
    from clusterdesk.ui.qt import QFileDialog

    did = import_demo(store)
    w = start()
    w.refresh(did)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(tmp_path / "y.cdpkg"), "")))
    monkeypatch.setattr("clusterdesk.ui.start.QMessageBox.information", staticmethod(lambda *a: None))
    assert w.export_package() == tmp_path / "y.cdpkg"
    assert getattr(w, "package_warning", None) is None


# --------------------------------------------------------------------------- files handed to the system


def test_printing_when_nothing_can_open_the_files_says_so_with_the_folder(app, qtbot, store, tmp_path, monkeypatch,
                                                                         system_opener):
    from clusterdesk.packages.district import District, create_district
    from clusterdesk.ui.district import DistrictWindow

    w = DistrictWindow(store, create_district(store, District("永川区", "cq-2024")), opener=lambda p: False)
    qtbot.addWidget(w)
    w.confirm = lambda title, text: True
    w.show()
    folder = tmp_path / "永川区-2024年度报送材料"
    folder.mkdir()
    files = [folder / "a-申报表.docx", folder / "b-申报汇总表.docx"]
    for f in files:
        f.write_bytes(b"x")
    monkeypatch.setenv("PATH", str(tmp_path / "no-printer"))  # no lp: the files are handed to the system
    w.print_documents(files)
    dlg = w.open_failed_dialog
    assert dlg is not None and dlg.isVisible()
    assert dlg.folder_label.text() == str(folder)
    text = dlg.message.text() + w.message.text()
    assert "没有文件被打印" in text and "本机没有程序能打开“a-申报表.docx”，未能打印" in text
    assert "请在打开的程序中打印" not in text
    system_opener.result = False
    dlg.folder_button.click()  # 打开文件夹 cannot open it either: say so, keep the path
    assert "请复制上面的路径" in dlg.hint.text()


def test_printing_opens_the_file_and_asks_to_print_only_when_a_program_took_it(app, qtbot, store, tmp_path,
                                                                               monkeypatch):
    from clusterdesk.packages.district import District, create_district
    from clusterdesk.ui.district import DistrictWindow

    opened = []
    w = DistrictWindow(store, create_district(store, District("永川区", "cq-2024")),
                       opener=lambda p: opened.append(p) or True)
    qtbot.addWidget(w)
    w.confirm = lambda title, text: True
    f = tmp_path / "a-申报表.docx"
    f.write_bytes(b"x")
    monkeypatch.setenv("PATH", str(tmp_path / "no-printer"))
    w.print_documents([f])
    assert opened == [f] and "请在打开的程序中打印2份" in w.message.text()
    assert w.open_failed_dialog is None


def _soffice() -> bool:
    from clusterdesk.export.pdf import find_soffice

    return find_soffice() is not None


@pytest.mark.soffice
@pytest.mark.skipif(not _soffice(), reason="LibreOffice is not installed")
def test_pdf_preview_with_no_pdf_viewer_says_so(app, qtbot, store, tmp_path):
    from clusterdesk.packages.district import District, create_district
    from clusterdesk.ui.district import DistrictWindow

    w = DistrictWindow(store, create_district(store, District("永川区", "cq-2024")), opener=lambda p: False)
    qtbot.addWidget(w)
    w.show()
    w.add_draft(import_demo(store))
    w.draft_check.setChecked(True)
    assert w.compile_to(tmp_path / "out") is not None, w.message.text()
    w.cluster_table.selectRow(0)
    pdf = w.preview_selected()
    assert pdf is not None and pdf.is_file()
    dlg = w.open_failed_dialog
    assert dlg.isVisible() and dlg.folder_label.text() == str(pdf.parent)
    assert f"本机没有程序能打开 PDF 文件“{pdf.name}”" in dlg.message.text()
    assert "未能打开 PDF 预览" in w.message.text()


def test_open_or_explain_reports_a_folder_that_would_not_open(app, qtbot, store, tmp_path, system_opener):
    from clusterdesk.ui.opener import open_or_explain

    host = QWidget()
    qtbot.addWidget(host)
    system_opener.result = False
    assert open_or_explain(host, tmp_path) is False
    assert host.open_failed_dialog.folder_label.text() == str(tmp_path)
    system_opener.result = True
    assert open_or_explain(host, tmp_path / "x.pdf") is True


@pytest.mark.parametrize("script, expected", [
    ("exit 0", True),
    ("echo 'xdg-open: no method available for opening' >&2; exit 3", False),
    ("exit 4", False),
    ("/bin/sleep 3", True),  # generic mode: xdg-open waits for the viewer it started
])
def test_the_system_opener_reads_xdg_opens_answer(system_opener, tmp_path, monkeypatch, script, expected):
    import time

    from clusterdesk.ui import opener

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "xdg-open"
    fake.write_text(f"#!/bin/sh\n{script}\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(opener, "WAIT_SECONDS", 1.0)
    target = tmp_path / "申报表.pdf"
    target.write_bytes(b"%PDF-")
    t = time.monotonic()
    assert system_opener.real(target) is expected
    assert time.monotonic() - t < 5
    assert system_opener.real(tmp_path / "missing.pdf") is False


def test_file_dialogs_speak_chinese(app):
    from clusterdesk.ui.qt import QFileDialog, QLabel

    d = QFileDialog(None, "导入数据包")
    d.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    texts = [label.text() for label in d.findChildren(QLabel)]
    assert texts[:3] == ["查找范围(&L)：", "文件名称(&N)：", "文件类型(&T)："], texts
    assert [b.text() for b in d.findChildren(QPushButton)] == ["打开(&O)", "取消"]
    d.deleteLater()


# --------------------------------------------------------------------------- export


@pytest.fixture()
def draft_window(show_window, store):
    from clusterdesk.ui.draft_window import DraftWindow

    return show_window(DraftWindow(store, import_demo(store)))


def _alive(pid: int) -> bool:
    """A running process (a killed one that nobody has reaped yet is a zombie: not running)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_export(qtbot, dlg, timeout=120_000):
    qtbot.waitUntil(lambda: not dlg.running() and not dlg.progress.isVisible(), timeout=timeout)


def test_export_starts_in_documents_and_remembers_the_last_folder(draft_window, qtbot, tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    dlg = draft_window.show_export()
    assert Path(dlg.folder.text()) == home / "Documents"
    out = tmp_path / "导出"
    out.mkdir()
    dlg.folder.setText(str(out))
    dlg.pdf.setChecked(False)
    dlg.activateWindow()
    dlg.folder.setFocus()
    qtbot.waitUntil(dlg.folder.hasFocus)
    qtbot.keyClick(dlg.folder, Qt.Key.Key_Return)  # Enter in the folder field starts the export
    assert dlg.running() and dlg.progress.isVisible() and dlg.cancel_button.text() == "取消导出"
    _wait_export(qtbot, dlg)
    assert "已导出" in dlg.message.text(), dlg.message.text()
    assert sorted(p.suffix for p in out.iterdir()) == [".docx", ".docx", ".xlsx"]
    assert dlg.open_folder_button.isVisible()
    dlg.open_folder_button.click()
    dlg.close()
    again = draft_window.show_export()
    assert Path(again.folder.text()) == out
    again.close()


@pytest.mark.soffice
@pytest.mark.skipif(not _soffice(), reason="LibreOffice is not installed")
def test_cancelling_the_export_mid_pdf_stops_libreoffice_and_leaves_no_file(draft_window, qtbot, tmp_path,
                                                                            monkeypatch):
    from clusterdesk.export.pdf import find_soffice

    real = find_soffice()
    pid_file = tmp_path / "soffice.pid"
    wrapper = tmp_path / "soffice"
    # real LibreOffice, as a child of a wrapper that lives on after it: the export is always
    # still "in LibreOffice" when 取消 arrives, however fast the conversion is
    wrapper.write_text(f'#!/bin/sh\n"{real}" "$@" &\necho $! > "{pid_file}"\nwait\nsleep 60\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("CLUSTERDESK_SOFFICE", str(wrapper))
    out = tmp_path / "导出"
    out.mkdir()
    dlg = draft_window.show_export()
    dlg.folder.setText(str(out))
    assert dlg.pdf.isChecked()
    qtbot.mouseClick(dlg.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pid_file.exists() and bool(pid_file.read_text().strip()), timeout=60_000)
    pid = int(pid_file.read_text())
    # the Word and Excel files are built in the export's private folder, unseen until all are done
    staged = [p for p in out.iterdir()]
    assert len(staged) == 1 and staged[0].name.startswith(".~clusterdesk-")
    assert len([p for p in staged[0].rglob("*") if p.suffix in (".docx", ".xlsx")]) == 3
    qtbot.mouseClick(dlg.cancel_button, Qt.MouseButton.LeftButton)
    assert dlg.isVisible()  # stays open to say what happened
    _wait_export(qtbot, dlg, timeout=30_000)
    assert dlg.message.text() == "已取消导出，没有留下任何文件。"
    assert list(out.iterdir()) == []
    qtbot.waitUntil(lambda: not _alive(pid), timeout=10_000)  # killed with its process group
    assert not dlg.open_folder_button.isVisible() and dlg.export_button.isEnabled()
    dlg.close()
    assert not dlg.isVisible()


def test_the_guide_opens_again_after_the_window_it_came_from_is_gone(app, qtbot):
    from clusterdesk.ui.help import show_user_guide
    from clusterdesk.ui.qt import QMainWindow

    owner = QMainWindow()
    owner.show()
    first = show_user_guide(owner)
    owner.deleteLater()  # a draft window closes (deleted on close) with its guide
    qtbot.waitUntil(lambda: not _exists(first))
    second = show_user_guide(None)
    qtbot.addWidget(second)
    assert second.isVisible()


def _exists(w) -> bool:
    try:
        w.isVisible()
    except RuntimeError:
        return False
    return True

"""An error the program did not expect: written to the log with its traceback, and shown in the crash
dialog with the log's path; 关于 names the log file."""

from __future__ import annotations

import sys

import pytest

from clusterdesk.logs import LOG_DIR_NAME, LOG_FILE_NAME, log, setup_logging
from clusterdesk.ui.qt import QApplication, QMessageBox, QTimer

pytestmark = pytest.mark.gui


@pytest.fixture()
def log_file(tmp_path):
    path = setup_logging(tmp_path)
    yield path
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()


def crash_boxes() -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()
            and w.windowTitle().endswith("意外错误")]


@pytest.mark.qt_no_exception_capture
def test_an_error_in_a_window_is_logged_and_shown_with_what_to_send(app, qtbot, log_file, system_opener):
    from clusterdesk.ui import crash

    def buggy_slot() -> None:
        {}["no such key"]  # a bug, as one would be in a slot

    old = sys.excepthook
    crash.install()
    try:
        QTimer.singleShot(0, buggy_slot)
        qtbot.waitUntil(lambda: bool(crash_boxes()))
    finally:
        sys.excepthook = old
    [box] = crash_boxes()
    assert box.text().startswith("程序遇到了一个意外错误（不是您的操作或填写有误）。已填写的内容都已保存在本机")
    assert str(log_file) in box.text()
    assert "KeyError: 'no such key'" in box.detailedText() and "buggy_slot" in box.detailedText()
    logged = log_file.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in logged and "KeyError: 'no such key'" in logged
    # 复制日志路径 copies and leaves the dialog open; 打开日志文件夹 opens the log's folder
    [copy] = [b for b in box.buttons() if b.text() == "复制日志路径"]
    qtbot.mouseClick(copy, qtbot_left())
    assert QApplication.clipboard().text() == str(log_file) and box.isVisible()
    [folder] = [b for b in box.buttons() if b.text() == "打开日志文件夹"]
    qtbot.mouseClick(folder, qtbot_left())
    assert system_opener.calls[-1] == log_file.parent
    box.close()


def test_about_names_the_log_file_beside_the_database(app, qtbot, store):
    from clusterdesk.ui.about import AboutDialog

    dlg = AboutDialog(store.path)
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.log_label.text() == str(store.path.parent / LOG_DIR_NAME / LOG_FILE_NAME)
    assert "技术支持" in dlg.log_label.toolTip()


def qtbot_left():
    from clusterdesk.ui.qt import Qt

    return Qt.MouseButton.LeftButton

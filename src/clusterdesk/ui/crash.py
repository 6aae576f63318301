"""The crash dialog: an error the program did not expect (a bug, never the user's input) is written
to the log with its traceback, and shown in a window that says what happened, that the typed work
is saved, and what to send: the log file (its path, with 复制路径 and 打开文件夹) and the details.

:func:`install` sets it as ``sys.excepthook`` for the running program (``ui.app.start``). Qt calls
the hook for an exception raised in a slot; the program then goes on.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from types import TracebackType

from clusterdesk import APP_NAME
from clusterdesk.logs import current_log_path, log

from . import opener
from .qt import QApplication, QMessageBox, QWidget

INTRO = "程序遇到了一个意外错误（不是您的操作或填写有误）。已填写的内容都已保存在本机，可以继续使用。"

_shown: list[QMessageBox] = []


def crash_text(log_file: Path | None) -> str:
    if log_file is None:
        return INTRO + "\n\n如问题反复出现，请把下面“显示详细信息”中的内容复制后发给技术支持人员。"
    return (INTRO + f"\n\n错误已记入日志文件：\n{log_file}\n\n如问题反复出现，请把这个日志文件"
            "（或下面“显示详细信息”中的内容）发给技术支持人员。")


def show_crash(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None,
               parent: QWidget | None = None) -> QMessageBox:
    """Log the error with its traceback and show the crash dialog (not blocking). Returns it."""
    log.error("unexpected error in the window", exc_info=(exc_type, exc, tb))
    details = "".join(traceback.format_exception(exc_type, exc, tb))
    where = current_log_path()
    box = QMessageBox(QMessageBox.Icon.Critical, f"{APP_NAME} · 意外错误", crash_text(where),
                      QMessageBox.StandardButton.Close, parent)
    box.button(QMessageBox.StandardButton.Close).setText("关闭")
    box.setDetailedText(details)
    if where is not None:
        copy = box.addButton("复制日志路径", QMessageBox.ButtonRole.ActionRole)
        copy.clicked.disconnect()  # keep the box open after copying
        copy.clicked.connect(lambda: QApplication.clipboard().setText(str(where)))
        folder = box.addButton("打开日志文件夹", QMessageBox.ButtonRole.ActionRole)
        folder.clicked.disconnect()
        folder.clicked.connect(lambda: opener.open_with_system(where.parent))
    _shown.append(box)
    box.finished.connect(lambda _r: _shown.remove(box) if box in _shown else None)
    box.open()
    return box


def _hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    try:
        show_crash(exc_type, exc, tb, QApplication.activeWindow())
    except Exception:  # the dialog itself failed: at least the terminal and the log have it
        log.exception("the crash dialog failed")
        sys.__excepthook__(exc_type, exc, tb)


def install() -> None:
    sys.excepthook = _hook

"""Handing a file or folder to the system (PDF viewer, Word/WPS, the file manager), and saying
so honestly when nothing opened.

:func:`open_with_system` returns whether a program took the file:

- Windows: ``os.startfile`` raises when no program is associated with the file type.
- macOS: ``open`` exits non-zero when no application can open the file.
- Linux: ``QDesktopServices.openUrl`` only says whether ``xdg-open`` could be *started*, not
  whether it found a program (it exits 3 or 4 when none is found), so ``xdg-open`` is run here
  and its exit status read. It returns as soon as it has launched the program on GNOME, KDE and
  Xfce; in its generic mode it runs the program itself and only returns when that is closed, so
  a launcher still running after :data:`WAIT_SECONDS` counts as success (the program is open).

:func:`open_or_explain` is what windows call: on failure it shows :class:`OpenFailedDialog`
with the folder's path and an 打开文件夹 button. Windows look the opener up through this
module (``opener.open_with_system``) so that tests can replace it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, Sequence

from . import style
from .qt import (
    QDesktopServices,
    QDialog,
    QDialogButtonBox,
    QGuiApplication,
    QUrl,
    QVBoxLayout,
    QWidget,
    Qt,
)

WAIT_SECONDS = 3.0


def _launcher_env() -> dict[str, str]:
    """The environment for a launched program: without the bundle's own library path (PyInstaller)."""
    env = dict(os.environ)
    if getattr(sys, "frozen", False):
        orig = env.pop("LD_LIBRARY_PATH_ORIG", None)
        if orig is not None:
            env["LD_LIBRARY_PATH"] = orig
        else:
            env.pop("LD_LIBRARY_PATH", None)
    return env


def run_launcher(argv: Sequence[str], wait: float = WAIT_SECONDS) -> bool:
    """Run a launcher (xdg-open, open); True if it succeeded or is still running after ``wait``."""
    try:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True, env=_launcher_env())
    except OSError:
        return False
    try:
        return proc.wait(timeout=wait) == 0
    except subprocess.TimeoutExpired:
        return True  # xdg-open's generic mode waits for the program it started: it is open


def open_with_system(path: Path | str) -> bool:
    """Open a file or folder with the program the system associates with it; False if none did."""
    path = Path(path)
    if not path.exists():
        return False
    if sys.platform == "win32":
        try:
            os.startfile(str(path))  # type: ignore[attr-defined]  # raises when nothing is associated
        except OSError:
            return False
        return True
    if sys.platform == "darwin":
        return run_launcher(["open", str(path)])
    exe = shutil.which("xdg-open")
    if exe is None:  # no xdg-utils: Qt may still reach a desktop portal
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
    return run_launcher([exe, str(path)])


class OpenFailedDialog(QDialog):
    """Nothing opened a file: say which, where it is, and offer 打开文件夹 and 复制路径."""

    def __init__(self, title: str, lines: Sequence[str], folder: Path, parent: QWidget | None = None,
                 *, note: str = ""):
        super().__init__(parent)
        self.folder = Path(folder)
        self.setWindowTitle(title)
        self.setMinimumWidth(480)
        lay = QVBoxLayout(self)
        self.message = style.label("\n".join(lines))
        self.message.setObjectName("openFailedMessage")
        lay.addWidget(self.message)
        lay.addWidget(style.label("文件保存在：", "label"))
        self.folder_label = style.label(str(self.folder))
        self.folder_label.setObjectName("openFailedFolder")
        lay.addWidget(self.folder_label)
        self.hint = style.label(note or "可以在文件管理器中打开这个文件夹，再用 Word、WPS 或 PDF 阅读器打开文件。", "help")
        lay.addWidget(self.hint)
        bb = QDialogButtonBox()
        self.folder_button = bb.addButton("打开文件夹", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button = bb.addButton("复制路径", QDialogButtonBox.ButtonRole.ActionRole)
        close = bb.addButton("关闭", QDialogButtonBox.ButtonRole.RejectRole)
        self.folder_button.setDefault(True)
        self.folder_button.clicked.connect(self.open_folder)
        self.copy_button.clicked.connect(self.copy_path)
        close.clicked.connect(self.reject)
        lay.addWidget(bb)
        from .winstate import place

        place(self, "open-failed", None)

    def open_folder(self) -> bool:
        if _current_opener()(self.folder):
            self.accept()
            return True
        self.hint.setText("也无法自动打开文件夹。请复制上面的路径，在文件管理器的地址栏中粘贴打开。")
        style.set_role(self.hint, "problem-error")
        return False

    def copy_path(self) -> None:
        QGuiApplication.clipboard().setText(str(self.folder))
        self.hint.setText("路径已复制。")


def _current_opener() -> Callable[[Path], bool]:
    return sys.modules[__name__].open_with_system


def show_open_failed(parent: QWidget | None, title: str, lines: Sequence[str], folder: Path,
                     *, note: str = "") -> OpenFailedDialog:
    """Show (window-modal, not blocking) why nothing opened; kept on ``parent.open_failed_dialog``."""
    dlg = OpenFailedDialog(title, lines, folder, parent, note=note)
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    if parent is not None:
        parent.open_failed_dialog = dlg  # type: ignore[attr-defined]  # kept on the parent so tests can find the open dialog
    dlg.open()
    return dlg


def open_or_explain(parent: QWidget | None, path: Path | str, *, title: str = "无法打开",
                    opener: Callable[[Path], object] | None = None) -> bool:
    """Open ``path`` with the system; if nothing opened it, show the dialog with its folder."""
    path = Path(path)
    QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        ok = bool((opener or _current_opener())(path))
    finally:
        QGuiApplication.restoreOverrideCursor()
    if not ok:
        if path.is_dir():
            show_open_failed(parent, title, ["无法自动打开这个文件夹（本机没有可用的文件管理器）。"], path,
                             note="请复制路径，在文件管理器的地址栏中粘贴打开。")
        else:
            show_open_failed(parent, title, [f"本机没有程序能打开“{path.name}”。"], path.parent)
    return ok


__all__ = ["OpenFailedDialog", "WAIT_SECONDS", "open_or_explain", "open_with_system", "run_launcher",
           "show_open_failed"]

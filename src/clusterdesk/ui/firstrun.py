"""The first-run screen: shown once, on a database without drafts, offering 打开示例集群 (the
Chongqing demo application, fully filled in) or 新建.

"Shown once" is remembered in a small JSON settings file next to the database, by default
``<database name>.settings.json`` (``clusterdesk.settings.json`` beside ``clusterdesk.sqlite3``),
as ``{"first_run_shown": "<ISO time>", "first_run_version": "<program version>"}``. Other keys
in that file are kept. A file that cannot be read counts as empty; one that cannot be written
only means the screen may appear again. A database that already holds drafts (an upgrade, a
restored backup) never shows it.

Entry point for the start window: :func:`maybe_show_first_run`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from clusterdesk import APP_NAME, __version__
from clusterdesk.paths import demo_dir
from clusterdesk.service import Store, StoreError

from . import style
from .qt import (
    QDialog,
    QHBoxLayout,
    QMessageBox,
    QPushButton,
    QSize,
    QVBoxLayout,
    QWidget,
    Qt,
)
from .settings import load_settings, save_settings, settings_path_for
from .winstate import fitted_size, place

SHOWN_KEY = "first_run_shown"


def mark_shown(path: Path) -> bool:
    data = load_settings(path)
    data[SHOWN_KEY] = datetime.now().isoformat(timespec="seconds")
    data["first_run_version"] = __version__
    return save_settings(path, data)


def demo_file() -> Path:
    """The demo the first run offers (the demo file marked ``"first_run": true``)."""
    from clusterdesk.templates import first_run_demo

    found = first_run_demo()
    return found[0] if found else demo_dir() / "（无示例）.json"


def _demo_words() -> tuple[str, str]:
    """(the demo's name and form, the form's title) as the dialog says them, from the demo itself."""
    from clusterdesk.templates import first_run_demo

    found = first_run_demo()
    if found is None:
        return "示例", ""
    _path, form, name = found
    what = f"“{name}”的完整{form.form.short_title}" if name else f"填好的{form.form.short_title}"
    return what, form.title


class FirstRunDialog(QDialog):
    """``choice`` is "demo" (``draft_id`` is the imported demo draft), "new", or None (closed)."""

    def __init__(self, store: Store, parent: QWidget | None = None):
        super().__init__(parent)
        self.store = store
        self.settings_file = settings_path_for(store.path)
        self.choice: str | None = None
        self.draft_id: int | None = None
        self.setWindowTitle(f"欢迎使用{APP_NAME}")
        self.setWindowIcon(style.app_icon())
        self.setMinimumWidth(min(620, fitted_size(self, QSize(620, 400)).width()))

        lay = QVBoxLayout(self)
        lay.setContentsMargins(28, 24, 28, 20)
        lay.setSpacing(12)
        lay.addWidget(style.label(f"欢迎使用{APP_NAME}", "section-title"))
        lay.addWidget(style.label(
            "本程序帮助集群运营管理机构按官方表格逐部分填写申报材料，随时检查必填项、数字格式和字数限制，"
            "并导出可盖章打印的 Word 文件、可编辑电子版和 Excel 清单。"))
        lay.addWidget(style.label(
            "所有内容只保存在这台电脑上，无需联网；每离开一个栏目就自动保存。", "help"))
        what, form_title = _demo_words()
        lay.addWidget(style.label(
            f"第一次使用，建议先打开示例集群（{what}）看看填好的样子，"
            "示例可以随意修改或删除；准备好后再新建自己的申报。"))

        buttons = QHBoxLayout()
        self.demo_button = QPushButton("打开示例集群")
        self.demo_button.setDefault(True)
        self.demo_button.setToolTip(f"导入《{form_title}》的填写示例" if form_title else "导入填写示例")
        self.new_button = QPushButton("新建")
        self.new_button.setToolTip("新建一份空白申报")
        self.later_button = QPushButton("以后再说")
        self.demo_button.clicked.connect(self.open_demo)
        self.new_button.clicked.connect(self.choose_new)
        self.later_button.clicked.connect(self.reject)
        buttons.addWidget(self.demo_button)
        buttons.addWidget(self.new_button)
        buttons.addStretch(1)
        buttons.addWidget(self.later_button)
        lay.addStretch(1)
        lay.addLayout(buttons)
        place(self, "first-run", None)
        if not demo_file().exists():
            self.demo_button.setEnabled(False)
            self.demo_button.setToolTip(f"程序文件夹中缺少示例文件：{demo_file()}")
            self.new_button.setDefault(True)

    def open_demo(self) -> int | None:
        """Import the demo application into the store; accept the dialog with its draft id."""
        from clusterdesk.templates import TemplateError, import_file

        try:
            self.draft_id = import_file(self.store, demo_file())
        except TemplateError as e:
            QMessageBox.warning(self, "无法打开示例", "\n".join(e.problems[:10]))
            return None
        except (StoreError, OSError) as e:
            QMessageBox.warning(self, "无法打开示例", str(e))
            return None
        self.choice = "demo"
        self.accept()
        return self.draft_id

    def choose_new(self) -> None:
        self.choice = "new"
        self.accept()


def maybe_show_first_run(
    parent: QWidget | None,
    store: Store,
    settings_path: Path | str | None = None,
    *,
    on_demo: Callable[[int], Any] | None = None,
    on_new: Callable[[], Any] | None = None,
) -> bool:
    """Show the first-run screen (modal) if this database has never shown it and has no drafts.

    Returns True if it was shown. After 打开示例集群 ``on_demo(draft_id)`` is called (the demo is
    already in the store: refresh the list and open it); after 新建 ``on_new()``.
    ``settings_path`` defaults to :func:`settings_path_for` of the store's database.
    """
    path = Path(settings_path) if settings_path is not None else settings_path_for(store.path)
    if load_settings(path).get(SHOWN_KEY):
        return False
    if store.list_drafts():
        mark_shown(path)  # an existing user: never greet them as new
        return False
    dlg = FirstRunDialog(store, parent)
    dlg.setWindowModality(Qt.WindowModality.ApplicationModal)
    try:
        dlg.exec()
    finally:
        mark_shown(path)
    if dlg.choice == "demo" and dlg.draft_id is not None and on_demo is not None:
        on_demo(dlg.draft_id)
    elif dlg.choice == "new" and on_new is not None:
        on_new()
    dlg.deleteLater()
    return True

"""The 关于 dialog: program name and version, the forms this copy of the program ships (with their
definition version, issuer and year), and where the data lives, with a button that opens that
folder in the file manager (or says where it is when nothing can open it).

Entry point for the menus: :func:`show_about`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from clusterdesk import APP_NAME, __version__
from clusterdesk.logs import log_path
from clusterdesk.model.form import Catalog, default_catalog
from clusterdesk.paths import app_root

from . import opener, style, winstate
from .settings import settings_path_for
from .qt import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSize,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    Qt,
)

FORM_COLUMNS = ["表单", "发文单位", "年度", "依据文件", "定义版本"]


def program_folder() -> Path:
    """The folder the user started the program from (the bundle's folder, not its _internal/)."""
    if getattr(sys, "frozen", False):
        return Path(sys.executable).resolve().parent
    return app_root()


def _db_path(store_path: Path | str | None) -> Path:
    if store_path is None:
        from clusterdesk.service import default_db_path

        return default_db_path()
    return Path(store_path)


class AboutDialog(QDialog):
    def __init__(self, store_path: Path | str | None = None, parent: QWidget | None = None,
                 catalog: Catalog | None = None):
        super().__init__(parent)
        self.db_path = _db_path(store_path)
        self.catalog = catalog if catalog is not None else default_catalog()
        # remember its size beside the database it shows (not in a folder the caller did not name)
        self.settings_file = settings_path_for(self.db_path) if store_path is not None else None
        self.setWindowTitle(f"关于{APP_NAME}")
        self.setWindowIcon(style.app_icon())
        winstate.place(self, "about", QSize(860, 520))

        lay = QVBoxLayout(self)
        head = QHBoxLayout()
        logo = QLabel()
        logo.setPixmap(style.app_icon().pixmap(64, 64))
        head.addWidget(logo, 0, Qt.AlignmentFlag.AlignTop)
        titles = QVBoxLayout()
        self.name_label = style.label(APP_NAME, "section-title")
        self.version_label = style.label(f"版本 {__version__}")
        titles.addWidget(self.name_label)
        titles.addWidget(self.version_label)
        titles.addWidget(style.label("中小企业特色产业集群申报材料的填写、检查与导出。无需联网，所有内容只保存在本机。", "help"))
        head.addLayout(titles, 1)
        lay.addLayout(head)

        lay.addWidget(style.label(f"本版本包含的表单（{len(self.catalog)} 种）", "label"))
        self.forms_table = QTableWidget(0, len(FORM_COLUMNS))
        self.forms_table.setAccessibleName("本版本包含的表单")
        self.forms_table.setHorizontalHeaderLabels(FORM_COLUMNS)
        self.forms_table.verticalHeader().setVisible(False)
        self.forms_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.forms_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.forms_table.setWordWrap(True)
        for form in self.catalog:
            row = self.forms_table.rowCount()
            self.forms_table.insertRow(row)
            notice = form.form.notice
            source = " ".join(x for x in (notice.number, form.form.attachment) if x)
            for col, text in enumerate([form.title, form.form.issuer, str(form.form.year), source,
                                        str(form.version)]):
                item = QTableWidgetItem(text)
                item.setToolTip(notice.title if col == 3 else text)
                item.setData(Qt.ItemDataRole.UserRole, form.id)
                self.forms_table.setItem(row, col, item)
        hh = self.forms_table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(FORM_COLUMNS)):
            hh.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.forms_table.resizeRowsToContents()
        lay.addWidget(self.forms_table, 1)

        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        self.folder_label = style.label(str(self.data_folder()))
        self.db_label = style.label(str(self.db_path))
        self.program_label = style.label(str(program_folder()))
        self.log_label = style.label(str(log_path(self.data_folder())))
        self.log_label.setToolTip("程序运行的记录（不含填写内容）。遇到问题时，请把这个文件发给技术支持人员。")
        self.open_folder_button = QPushButton("打开文件夹")
        self.open_folder_button.setToolTip("在文件管理器中打开数据所在的文件夹")
        self.open_folder_button.clicked.connect(self.open_data_folder)
        for row, (name, value) in enumerate((("数据文件夹：", self.folder_label),
                                             ("数据库文件：", self.db_label),
                                             ("程序文件夹：", self.program_label),
                                             ("日志文件：", self.log_label))):
            grid.addWidget(style.label(name, "label", wrap=False), row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(value, row, 1)
        grid.addWidget(self.open_folder_button, 0, 2)
        lay.addLayout(grid)
        lay.addWidget(style.label(
            "备份：在主窗口点“文件 → 备份数据库…”，把全部草稿和佐证材料存为一个文件；"
            "恢复用“文件 → 从备份恢复…”。恢复前程序会自动把当前数据保存到数据文件夹的 snapshots 子文件夹。", "help"))

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText("关闭")
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def data_folder(self) -> Path:
        return self.db_path.parent

    def form_ids(self) -> list[str]:
        return [item.data(Qt.ItemDataRole.UserRole)
                for r in range(self.forms_table.rowCount()) if (item := self.forms_table.item(r, 0)) is not None]

    def open_data_folder(self) -> bool:
        """Open the data folder; if nothing can, a dialog shows its path (with 复制路径)."""
        folder = self.data_folder()
        if folder.is_dir() and opener.open_with_system(folder):
            return True
        opener.show_open_failed(self, "打开文件夹", ["无法自动打开数据文件夹。"], folder,
                                note="请在文件管理器中手动打开上面的文件夹。")
        return False


_open: list[AboutDialog] = []


def show_about(parent: QWidget | None, store_path: Path | str | None) -> AboutDialog:
    """Open the 关于 dialog (window-modal, does not block); returns it."""
    dlg = AboutDialog(store_path, parent)
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    _open.append(dlg)  # a parentless dialog must outlive this call
    dlg.finished.connect(lambda _r: _open.remove(dlg) if dlg in _open else None)
    dlg.open()
    return dlg

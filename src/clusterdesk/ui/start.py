"""The start screen: the drafts on this computer and what can be done with them."""

from __future__ import annotations

from pathlib import Path

from clusterdesk.model.form import Catalog, default_catalog
from clusterdesk.paths import demo_dir
from clusterdesk.service import completion, create_draft
from clusterdesk.store import DraftInfo, Store, StoreError

from . import annual, style
from .draft_window import DraftWindow
from .qt import (
    QAbstractItemView,
    QAction,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    Qt,
)

COLUMNS = ["集群/草稿名称", "表单", "最后修改", "完成度"]


class ProblemListDialog(QDialog):
    """A list of Chinese problem lines (a template that cannot be imported, for example)."""

    def __init__(self, title: str, intro: str, lines: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(720, 420)
        lay = QVBoxLayout(self)
        lay.addWidget(style.label(intro))
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.addItems(lines)
        lay.addWidget(self.list, 1)
        bb = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        bb.button(QDialogButtonBox.StandardButton.Close).setText("关闭")
        bb.rejected.connect(self.reject)
        lay.addWidget(bb)


class StartWindow(QMainWindow):
    def __init__(self, store: Store, catalog: Catalog | None = None):
        super().__init__()
        self.store = store
        self.catalog = catalog or default_catalog()
        self.windows: dict[int, DraftWindow] = {}
        self.drafts: list[DraftInfo] = []
        self.problem_dialog: ProblemListDialog | None = None
        self.setWindowTitle("集群申报助手")
        self.setWindowIcon(style.app_icon())
        self.resize(1100, 640)

        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(20, 16, 20, 16)
        title = style.label("集群申报助手 · 中小企业特色产业集群申报材料", "section-title")
        lay.addWidget(title)
        lay.addWidget(style.label("所有内容保存在本机，离开每个栏目时即自动保存，无需联网。", "help"))

        actions = QHBoxLayout()
        self.new_button = QPushButton("新建")
        self.open_button = QPushButton("打开")
        self.copy_button = QPushButton("复制")
        self.rename_button = QPushButton("重命名")
        self.delete_button = QPushButton("删除")
        self.import_button = QPushButton("从填好的模板导入")
        self.demo_button = QPushButton("打开示例集群")
        self.annual_button = QPushButton("新建年度报告")
        self.annual_button.setToolTip("以所选申报材料为基础新建年度发展情况报告（预填申报材料中的内容和目标）")
        self.next_year_button = QPushButton("复制为下一年度")
        self.next_year_button.setToolTip("以所选年度报告为基础新建下一年度的报告")
        self.package_button = QPushButton("导出数据包")
        self.package_button.setToolTip("把所选草稿（填报内容、佐证材料和导出文件）存为一个 .cdpkg 文件，交给区县主管部门")
        self.district_button = QPushButton("区县汇总")
        self.district_button.setToolTip("区县中小企业主管部门：导入各集群的数据包，填写汇总表，生成报送材料")
        for b, slot in ((self.new_button, self.new_draft), (self.open_button, self.open_selected),
                        (self.copy_button, self.copy_selected), (self.rename_button, self.rename_selected),
                        (self.delete_button, self.delete_selected), (self.annual_button, self.new_annual),
                        (self.next_year_button, self.next_year_selected), (self.package_button, self.export_package),
                        (self.district_button, self.open_district), (self.import_button, self.import_template),
                        (self.demo_button, self.open_demo)):
            b.clicked.connect(slot)
            actions.addWidget(b)
            if b is self.delete_button:
                actions.addSpacing(16)
            if b is self.next_year_button:
                actions.addStretch(1)
        lay.addLayout(actions)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("草稿列表")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(True)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        self.table.setColumnWidth(1, 300)
        hh.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.table.doubleClicked.connect(lambda _i: self.open_selected())
        self.table.itemSelectionChanged.connect(self._update_buttons)
        lay.addWidget(self.table, 1)
        self.empty_label = style.label("还没有草稿。点“新建”开始填写，或点“打开示例集群”看看填好的样子。", "help")
        lay.addWidget(self.empty_label)
        self.setCentralWidget(body)
        self._build_menus()
        self._add_blank_form_action()
        self.district_windows: list[QWidget] = []
        self.refresh()

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("文件(&F)")
        for text, slot in (("新建草稿…", self.new_draft), ("从填好的模板导入…", self.import_template),
                           ("导出数据包…", self.export_package), ("区县汇总…", self.open_district), (None, None),
                           ("备份数据库…", self.backup_database), ("从备份恢复…", self.restore_database),
                           (None, None), ("退出", self.close)):
            if text is None:
                file_menu.addSeparator()
            else:
                file_menu.addAction(text).triggered.connect(lambda _c=False, f=slot: f())
        help_menu = self.menuBar().addMenu("帮助(&H)")
        guide = help_menu.addAction("用户指南")
        guide.setShortcut("F1")
        guide.triggered.connect(self.show_guide)
        help_menu.addAction("关于集群申报助手").triggered.connect(self.show_about)

    def _add_blank_form_action(self) -> None:
        """文件 → 导出空白表…, under 新建草稿… (the blank form, for filling by hand)."""
        menu = next((a.menu() for a in self.menuBar().actions()
                     if a.menu() is not None and a.menu().title().startswith("文件")), None)
        if menu is None:
            return
        self.blank_action = QAction("导出空白表（手工填写用）…", self)
        self.blank_action.setToolTip("选择表单，导出官方表格的空白 Word 和 PDF，用于打印后手工填写")
        self.blank_action.triggered.connect(lambda _c=False: self.export_blank_form())
        actions = menu.actions()
        menu.insertAction(actions[1] if len(actions) > 1 else None, self.blank_action)

    def export_blank_form(self, folder: Path | None = None) -> list[Path]:
        """The blank form of a chosen form (Word, and PDF with LibreOffice) into a chosen folder."""
        form = self._choose_form("导出空白表")
        if form is None:
            return []
        if folder is None:
            chosen = QFileDialog.getExistingDirectory(self, "导出空白表到文件夹", str(Path.home()))
            if not chosen:
                return []
            folder = Path(chosen)
        from clusterdesk.export.api import export_blank
        from clusterdesk.export.atomic import ExportError

        try:
            result = export_blank(form, folder)
        except ExportError as e:
            QMessageBox.warning(self, "导出空白表", f"未能导出空白表：{e}")
            return []
        lines = "\n".join(str(p) for p in result.files)
        extra = "".join(f"\n\n{m}" for m in result.messages)
        QMessageBox.information(self, "导出空白表", f"已导出“{form.title}”的空白表：\n{lines}{extra}")
        return list(result.files)

    # -- help, packages, district, backup --
    def show_guide(self) -> None:
        from .help import show_user_guide

        show_user_guide(self)

    def show_about(self) -> None:
        from .about import show_about

        show_about(self, self.store.path)

    def export_package(self) -> Path | None:
        """导出数据包: the selected draft as a .cdpkg file for the district."""
        info = self.selected_info()
        if info is None:
            QMessageBox.information(self, "导出数据包", "请先在列表中选择一个草稿。")
            return None
        if info.id in self.windows:
            self.windows[info.id].flush()  # what is being typed counts
        name = "".join(ch for ch in info.title if ch not in '\\/:*?"<>|') or "草稿"
        path, _ = QFileDialog.getSaveFileName(self, "导出数据包", str(Path.home() / f"{name}.cdpkg"),
                                              "集群申报数据包 (*.cdpkg)")
        if not path:
            return None
        from clusterdesk.packages.package import write_package

        try:
            out = write_package(self.store, info.id, Path(path))
        except Exception as e:  # every failure the package writer reports carries a Chinese message
            QMessageBox.warning(self, "导出数据包", f"未能导出数据包：{e}")
            return None
        QMessageBox.information(self, "导出数据包", f"已导出：\n{out}\n\n请把这个文件交给区县中小企业主管部门。")
        return out

    def open_district(self) -> QWidget | None:
        from .district import open_district

        w = open_district(self.store, self)
        if w is not None:
            self.district_windows.append(w)
        return w

    def backup_database(self) -> Path | None:
        from datetime import datetime

        default = Path.home() / f"集群申报助手备份-{datetime.now():%Y%m%d-%H%M}.sqlite3"
        path, _ = QFileDialog.getSaveFileName(self, "备份数据库", str(default), "数据库备份 (*.sqlite3)")
        if not path:
            return None
        try:
            out = self.store.backup(Path(path))
        except StoreError as e:
            QMessageBox.warning(self, "备份数据库", str(e))
            return None
        QMessageBox.information(self, "备份数据库", f"已备份全部草稿和佐证材料到：\n{out}")
        return out

    def restore_database(self) -> bool:
        path, _ = QFileDialog.getOpenFileName(self, "从备份恢复", str(Path.home()), "数据库备份 (*.sqlite3)")
        if not path:
            return False
        answer = QMessageBox.question(
            self, "从备份恢复",
            f"用备份“{Path(path).name}”替换本机的全部草稿？\n恢复前会自动保存当前数据的快照，可随时找回。")
        if answer != QMessageBox.StandardButton.Yes:
            return False
        for w in list(self.windows.values()):
            w.close()
        try:
            Store.restore(self.store.path, Path(path))
        except StoreError as e:
            QMessageBox.warning(self, "从备份恢复", f"未恢复：{e}")
            return False
        self.refresh()
        QMessageBox.information(self, "从备份恢复", "已恢复。")
        return True

    # -- the list --
    def refresh(self, select_id: int | None = None) -> None:
        current = select_id if select_id is not None else self.selected_id()
        self.drafts = self.store.list_drafts()
        self.table.setRowCount(len(self.drafts))
        for i, d in enumerate(self.drafts):
            if d.form_id in self.catalog:
                form = self.catalog.get(d.form_id)
                form_title = form.title
                pct = f"{completion(form, self.store.get_answers(d.id)) * 100:.0f}%"
            else:
                form_title = f"{d.form_id}（本程序版本中没有此表单）"
                pct = "—"
            cells = [d.title, form_title, f"{d.updated_at:%Y-%m-%d %H:%M}", pct]
            for j, text in enumerate(cells):
                it = QTableWidgetItem(text)
                it.setData(Qt.ItemDataRole.UserRole, d.id)
                if j == 3:
                    it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, it)
            if d.id == current:
                self.table.selectRow(i)
        if self.drafts and self.selected_id() is None:
            self.table.selectRow(0)
        self.empty_label.setVisible(not self.drafts)
        self._update_buttons()

    def selected_id(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)

    def row_of(self, draft_id: int) -> int:
        for i, d in enumerate(self.drafts):
            if d.id == draft_id:
                return i
        return -1

    def _update_buttons(self) -> None:
        has = self.selected_id() is not None
        for b in (self.open_button, self.copy_button, self.rename_button, self.delete_button, self.package_button):
            b.setEnabled(has)
        info = self.selected_info()
        self.annual_button.setEnabled(info is not None and bool(annual.report_forms(self.catalog, info.form_id)))
        self.next_year_button.setEnabled(info is not None and annual.is_annual_report(self.catalog, info.form_id))

    def selected_info(self) -> DraftInfo | None:
        did = self.selected_id()
        return next((d for d in self.drafts if d.id == did), None) if did is not None else None

    # -- actions --
    def _choose_form(self, title: str, only_with_demo: bool = False):
        forms = [f for f in self.catalog if not only_with_demo or (demo_dir() / f"{f.id}.json").exists()]
        if not forms:
            QMessageBox.information(self, title, "没有可用的表单。")
            return None
        if len(forms) == 1:
            return forms[0]
        names = [f"{f.title}（{f.form.notice.number} {f.form.attachment}）" for f in forms]
        name, ok = QInputDialog.getItem(self, title, "选择表单：", names, 0, False)
        if not ok:
            return None
        return forms[names.index(name)]

    def new_draft(self) -> int | None:
        form = self._choose_form("新建")
        if form is None:
            return None
        info = create_draft(self.store, form)
        self.refresh(info.id)
        self.open_draft(info.id)
        return info.id

    def open_selected(self) -> DraftWindow | None:
        did = self.selected_id()
        return self.open_draft(did) if did is not None else None

    def open_draft(self, draft_id: int) -> DraftWindow | None:
        w = self.windows.get(draft_id)
        if w is not None:
            w.show()
            w.raise_()
            w.activateWindow()
            return w
        try:
            w = DraftWindow(self.store, draft_id, self.catalog)
        except (StoreError, KeyError) as e:
            QMessageBox.warning(self, "无法打开草稿", str(e).strip("'\""))
            return None
        w.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        w.closed.connect(self._on_closed)
        self.windows[draft_id] = w
        screen = w.screen()
        if screen is not None and screen.availableGeometry().width() < 1400:
            w.showMaximized()  # an office laptop at 1366×768: use all of it
        else:
            w.show()
        return w

    def _on_closed(self, draft_id: int) -> None:
        self.windows.pop(draft_id, None)
        self.refresh(draft_id)

    def copy_selected(self) -> int | None:
        did = self.selected_id()
        if did is None:
            return None
        info = self.store.get_draft(did)
        new = self.store.duplicate_draft(did, f"{info.title}（副本）")
        self.refresh(new.id)
        return new.id

    def new_annual(self) -> int | None:
        """新建年度报告 from the selected application draft."""
        did = self.selected_id()
        if did is None:
            return None
        if did in self.windows:
            self.windows[did].flush()  # what is being typed in the application counts
        new = annual.new_annual(self, self.store, self.catalog, did)
        if new is not None:
            self.refresh(new)
            self.open_draft(new)
        return new

    def next_year_selected(self) -> int | None:
        """复制为下一年度 from the selected report draft."""
        did = self.selected_id()
        if did is None:
            return None
        if did in self.windows:
            self.windows[did].flush()
        new = annual.next_year(self, self.store, self.catalog, did)
        if new is not None:
            self.refresh(new)
            self.open_draft(new)
        return new

    def rename_selected(self) -> None:
        did = self.selected_id()
        if did is None:
            return
        info = self.store.get_draft(did)
        name, ok = QInputDialog.getText(self, "重命名", "草稿名称：", text=info.title)
        if ok and name.strip():
            try:
                self.store.rename_draft(did, name.strip())
            except StoreError as e:
                QMessageBox.warning(self, "无法重命名", str(e))
            self.refresh(did)

    def delete_selected(self) -> bool:
        did = self.selected_id()
        if did is None:
            return False
        info = self.store.get_draft(did)
        answer = QMessageBox.question(
            self, "删除草稿",
            f"确定删除草稿“{info.title}”吗？\n其中填写的全部内容和佐证材料都将删除，且无法恢复。",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return False
        w = self.windows.pop(did, None)
        if w is not None:
            w.close()
        self.store.delete_draft(did)
        self.refresh()
        return True

    def import_template(self) -> int | None:
        path, _ = QFileDialog.getOpenFileName(self, "从填好的模板导入", "",
                                              "填好的模板 (*.json *.xlsx);;所有文件 (*)")
        if not path:
            return None
        return self.import_path(Path(path))

    def import_path(self, path: Path) -> int | None:
        from clusterdesk.templates import TemplateError, import_file

        try:
            draft_id = import_file(self.store, path)
        except TemplateError as e:
            self.problem_dialog = ProblemListDialog(
                "无法导入", f"“{path.name}”中有以下问题，请改正后再导入：", list(e.problems), self)
            self.problem_dialog.open()
            return None
        except (StoreError, OSError) as e:
            QMessageBox.warning(self, "无法导入", str(e))
            return None
        self.refresh(draft_id)
        self.open_draft(draft_id)
        return draft_id

    def open_demo(self) -> int | None:
        form = self._choose_form("打开示例集群", only_with_demo=True)
        if form is None:
            return None
        return self.import_path(demo_dir() / f"{form.id}.json")

    def closeEvent(self, e) -> None:  # noqa: N802 - Qt API
        for w in list(self.windows.values()):
            w.close()
        super().closeEvent(e)

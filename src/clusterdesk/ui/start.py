"""The start screen: the drafts on this computer and what can be done with them."""

from __future__ import annotations

from pathlib import Path

from clusterdesk.errors import ClusterDeskError
from clusterdesk.model.form import Catalog, default_catalog
from clusterdesk.paths import demo_dir
from clusterdesk.service import (
    DraftInfo,
    InputError,
    Store,
    StoreError,
    completion,
    create_draft,
    delete_draft,
    display_name,
    form_label,
    duplicate_draft,
    rename_draft,
)

from . import annual, style, winstate
from .draft_window import DraftWindow
from .settings import settings_path_for
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
    QMenu,
    QMessageBox,
    QPushButton,
    QSize,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    Qt,
)

COLUMNS = ["集群/草稿名称", "表单", "最后修改", "完成度"]
SORT_KEY = "start_list_sort"  # settings: {"column": n, "order": 0|1}, or absent for creation order
SORT_ROLE = Qt.ItemDataRole.UserRole + 1


class _Item(QTableWidgetItem):
    """A cell that sorts by its SORT_ROLE value (numbers as numbers), else by its text."""

    def __lt__(self, other) -> bool:  # noqa: D105
        a, b = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if a is not None and b is not None:
            return a < b
        return self.text() < other.text()  # (QTableWidgetItem's own < would call back here)


class ProblemListDialog(QDialog):
    """A list of Chinese problem lines (a template that cannot be imported, for example)."""

    def __init__(self, title: str, intro: str, lines: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        winstate.place(self, "problem-list", QSize(720, 420))
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


def _to_front(w: QWidget) -> QWidget:
    w.show()
    w.raise_()
    w.activateWindow()
    return w


class StartWindow(QMainWindow):
    def __init__(self, store: Store, catalog: Catalog | None = None):
        super().__init__()
        self.store = store
        self.catalog = catalog or default_catalog()
        self.windows: dict[int, DraftWindow] = {}
        self.drafts: list[DraftInfo] = []
        self.problem_dialog: ProblemListDialog | None = None
        self.settings_file = settings_path_for(store.path)  # window sizes, folders, the list's order
        self.setWindowTitle("集群申报助手")
        self.setWindowIcon(style.app_icon())
        winstate.place(self, "start", QSize(1100, 640))

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
        self.new_button.setToolTip(style.with_keys("新建一份申报材料", "Ctrl+N"))
        self.open_button.setToolTip(style.with_keys("打开所选草稿（也可双击）", "Enter", "Ctrl+O"))
        self.rename_button.setToolTip(style.with_keys("重命名所选草稿", "F2"))
        self.delete_button.setToolTip(style.with_keys("删除所选草稿", "Del"))
        self.import_button.setToolTip(style.with_keys("导入填好的 .json 或 .xlsx 模板", "Ctrl+I"))
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
        self.table.setTabKeyNavigation(False)  # Tab leaves the list; ↑↓ choose a draft
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(True)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        self.table.setColumnWidth(1, 300)
        hh.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        # Enter on a row, or a double click (activation follows the system's click setting)
        self.table.activated.connect(lambda _i: self.open_selected())
        self.table.itemSelectionChanged.connect(self._update_buttons)
        # the list keeps creation order (newest first) unless the user sorts by a column
        hh.setSortIndicatorClearable(True)
        sort = winstate.remembered(self, SORT_KEY)
        if isinstance(sort, dict) and isinstance(sort.get("column"), int) and 0 <= sort["column"] < len(COLUMNS):
            order = Qt.SortOrder.DescendingOrder if sort.get("order") == 1 else Qt.SortOrder.AscendingOrder
            hh.setSortIndicator(sort["column"], order)
        else:
            hh.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        hh.sortIndicatorChanged.connect(self._sort_changed)
        lay.addWidget(self.table, 1)
        self.empty_label = style.label("还没有草稿。点“新建”开始填写，或点“打开示例集群”看看填好的样子。", "help")
        lay.addWidget(self.empty_label)
        self.setCentralWidget(body)
        self._build_menus()
        self._add_blank_form_action()
        self._add_install_forms_action()
        self.district_windows: list[QWidget] = []
        self.refresh()
        self.table.setFocus()

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("文件(&F)")
        self.menu_actions = {}
        for text, slot, keys in (("新建草稿…", self.new_draft, "Ctrl+N"), ("打开", self.open_selected, "Ctrl+O"),
                                 ("重命名…", self.rename_selected, "F2"), ("删除…", self.delete_selected, "Del"),
                                 (None, None, None),
                                 ("从填好的模板导入…", self.import_template, "Ctrl+I"),
                                 ("导出数据包…", self.export_package, None), ("区县汇总…", self.open_district, None),
                                 (None, None, None),
                                 ("备份数据库…", self.backup_database, None), ("从备份恢复…", self.restore_database, None),
                                 (None, None, None), ("退出", self.close, "Ctrl+Q")):
            if text is None:
                file_menu.addSeparator()
                continue
            a = file_menu.addAction(text)
            if keys:
                a.setShortcut(keys)
            a.triggered.connect(lambda _c=False, f=slot: f())
            self.menu_actions[text] = a
        help_menu = self.menuBar().addMenu("帮助(&H)")
        guide = help_menu.addAction("用户指南")
        guide.setShortcut("F1")
        guide.triggered.connect(self.show_guide)
        help_menu.addAction("关于集群申报助手").triggered.connect(self.show_about)

    def _add_blank_form_action(self) -> None:
        """文件 → 导出空白表…, under 新建草稿… (the blank form, for filling by hand)."""
        menu = next((m for a in self.menuBar().actions()
                     if isinstance(m := a.menu(), QMenu) and m.title().startswith("文件")), None)
        if menu is None:
            return
        self.blank_action = QAction("导出空白表（手工填写用）…", self)
        self.blank_action.setToolTip("选择表单，导出官方表格的空白 Word 和 PDF，用于打印后手工填写")
        self.blank_action.triggered.connect(lambda _c=False: self.export_blank_form())
        actions = menu.actions()
        if len(actions) > 1:
            menu.insertAction(actions[1], self.blank_action)
        else:
            menu.addAction(self.blank_action)

    def _add_install_forms_action(self) -> None:
        """文件 → 安装表单定义…, after 从填好的模板导入… (next year's form, another province's)."""
        menus = [m for m in (a.menu() for a in self.menuBar().actions()) if isinstance(m, QMenu)]
        menu = next((m for m in menus if m.title().startswith("文件")), None)
        if menu is None:
            return
        self.install_forms_action = QAction("安装表单定义…", self)
        self.install_forms_action.setToolTip("检查并安装新的表单定义文件（.yaml），如下一年度或其他省市的表格")
        self.install_forms_action.triggered.connect(lambda _c=False: self.install_forms())
        after = self.menu_actions.get("从填好的模板导入…")
        actions = menu.actions()
        nxt = actions[actions.index(after) + 1] if after in actions and actions.index(after) + 1 < len(actions) else None
        if nxt is None:
            menu.addAction(self.install_forms_action)
        else:
            menu.insertAction(nxt, self.install_forms_action)

    def install_forms(self, files: list[Path] | None = None) -> list[str]:
        """Check and install definition files (chosen in a file dialog unless given) through the
        core function the command line uses; the lists then show the new forms. Returns the ids
        installed."""
        from clusterdesk.model.form import FormDefinitionError, reload_default_catalog
        from clusterdesk.model.install import install_forms
        from clusterdesk.paths import data_dir_for, user_forms_dir

        if files is None:
            chosen, _ = QFileDialog.getOpenFileNames(self, "安装表单定义", str(winstate.last_folder(self, "forms")),
                                                     "表单定义文件 (*.yaml *.yml);;所有文件 (*)")
            if not chosen:
                return []
            files = [Path(p) for p in chosen]
            winstate.remember_folder(self, "forms", files[0].parent)
        dest = user_forms_dir() or data_dir_for(self.store.path) / "forms"
        try:
            done = install_forms(files, dest, self.catalog)
        except FormDefinitionError as e:
            self.problem_dialog = ProblemListDialog(
                "无法安装表单定义", "以下问题须先改正（未安装任何文件）：", list(e.problems), self)
            self.problem_dialog.open()
            return []
        self.catalog = reload_default_catalog()
        self.refresh()
        text = "\n".join(done.lines())
        if done.warnings:
            text += "\n\n请核对以下提示：\n" + "\n".join(done.warnings)
        QMessageBox.information(self, "安装表单定义", text)
        return [fid for fid, _v, _p in done.forms]

    def report_bad_forms(self) -> QMessageBox | None:
        """Name each definition file that was left out (one line each) in a dialog; the forms that
        loaded work as usual. Returns the dialog (shown window-modal, not blocking), or None."""
        if not self.catalog.bad_files:
            return None
        lines = [b.line for b in self.catalog.bad_files]
        box = QMessageBox(QMessageBox.Icon.Warning, "表单定义有误",
                          "以下表单定义文件有误，未加载；其他表单可以照常使用。\n\n" + "\n\n".join(lines), parent=self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        box.open()
        self.bad_forms_box = box
        return box

    def export_blank_form(self, folder: Path | None = None) -> list[Path]:
        """The blank form of a chosen form (Word, and PDF with LibreOffice) into a chosen folder."""
        form = self._choose_form("导出空白表")
        if form is None:
            return []
        if folder is None:
            chosen = QFileDialog.getExistingDirectory(self, "导出空白表到文件夹", str(winstate.last_folder(self, "export")))
            if not chosen:
                return []
            folder = Path(chosen)
            winstate.remember_folder(self, "export", folder)
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
        if not self.confirm_package_with_errors(info):
            return None
        name = "".join(ch for ch in info.title if ch not in '\\/:*?"<>|') or "草稿"
        folder = winstate.last_folder(self, "package")
        path, _ = QFileDialog.getSaveFileName(self, "导出数据包", str(folder / f"{name}.cdpkg"),
                                              "集群申报数据包 (*.cdpkg)")
        if not path:
            return None
        winstate.remember_folder(self, "package", Path(path).parent)
        from clusterdesk.packages.package import write_package

        try:
            out = write_package(self.store, info.id, Path(path))
        except (ClusterDeskError, OSError) as e:  # the package writer's refusals carry Chinese messages
            QMessageBox.warning(self, "导出数据包", f"未能导出数据包：{e}")
            return None
        QMessageBox.information(self, "导出数据包", f"已导出：\n{out}\n\n请把这个文件交给区县中小企业主管部门。")
        return out

    def package_errors(self, draft_id: int) -> int:
        """How many errors (not warnings) the draft has now."""
        from clusterdesk.model.rules import validate
        from clusterdesk.service import load_answers

        form, answers = load_answers(self.store, draft_id, self.catalog)
        return sum(1 for p in validate(form, answers) if p.level == "error")

    def confirm_package_with_errors(self, info: DraftInfo) -> bool:
        """A draft with errors is packaged only after a warning that offers 检查 (open and check)."""
        if info.form_id not in self.catalog:
            return True
        n = self.package_errors(info.id)
        if not n:
            return True
        box = QMessageBox(QMessageBox.Icon.Warning, "导出数据包",
                          f"“{display_name(self.store, info, self.catalog)}”还有 {n} 个错误。", parent=self)
        box.setInformativeText("区县主管部门收到后也会看到这些错误，正式材料在改正前不能导出。\n"
                               "建议先点“检查”逐项改正；也可以仍然导出，稍后再发送改正后的数据包。")
        check = box.addButton("检查", QMessageBox.ButtonRole.AcceptRole)
        go_on = box.addButton("仍然导出", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("取消", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(check)
        self.package_warning = box
        box.exec()
        clicked = box.clickedButton()
        if clicked is check:
            w = self.open_draft(info.id)
            if isinstance(w, DraftWindow):
                w.check_all()
            return False
        return clicked is go_on

    def open_district(self) -> QWidget | None:
        from .district import choose_district

        did = choose_district(self.store, self, self.catalog)
        if did is None:
            return None
        self.refresh(did)
        return self.open_district_window(did)

    def open_district_window(self, draft_id: int) -> QWidget | None:
        from .district import DistrictWindow

        for w in self.district_windows:
            ws = getattr(w, "ws", None)
            if ws is not None and ws.draft_id == draft_id and w.isVisible():
                return _to_front(w)
        w = self._new_window(DistrictWindow, draft_id, "无法打开区县汇总")
        if w is None:
            return None
        w.changed.connect(lambda: self.refresh())  # imported packages appear in this list at once
        self.district_windows = [d for d in self.district_windows if d.isVisible()] + [w]
        winstate.show_window(w)
        return w

    def is_district_workspace(self, draft_id: int) -> bool:
        from clusterdesk.service import DISTRICT_META_KEY

        try:
            info = self.store.get_draft(draft_id)
        except StoreError:
            return False
        if info.form_id not in self.catalog:
            return False
        return (self.catalog.get(info.form_id).form.role == "district"
                and isinstance(self.store.get_meta(draft_id).get(DISTRICT_META_KEY), dict))

    def backup_database(self) -> Path | None:
        from datetime import datetime

        default = winstate.last_folder(self, "backup") / f"集群申报助手备份-{datetime.now():%Y%m%d-%H%M}.sqlite3"
        path, _ = QFileDialog.getSaveFileName(self, "备份数据库", str(default), "数据库备份 (*.sqlite3)")
        if not path:
            return None
        winstate.remember_folder(self, "backup", Path(path).parent)
        try:
            out = self.store.backup(Path(path))
        except StoreError as e:
            QMessageBox.warning(self, "备份数据库", str(e))
            return None
        QMessageBox.information(self, "备份数据库", f"已备份全部草稿和佐证材料到：\n{out}")
        return out

    def restore_database(self) -> bool:
        path, _ = QFileDialog.getOpenFileName(self, "从备份恢复", str(winstate.last_folder(self, "backup")),
                                              "数据库备份 (*.sqlite3)")
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
        """Redraw the list. Rows keep creation order (newest first) unless the user sorted by a
        column: a change to a draft never moves it."""
        current = select_id if select_id is not None else self.selected_id()
        self.drafts = sorted(self.store.list_drafts(), key=lambda d: (d.created_at, d.id), reverse=True)
        self.table.setSortingEnabled(False)
        self.table.clearSelection()
        self.table.setRowCount(len(self.drafts))
        for i, d in enumerate(self.drafts):
            if d.form_id in self.catalog:
                form = self.catalog.get(d.form_id)
                form_title = form_label(self.catalog, form)
                try:
                    share = completion(form, self.store.get_answers(d.id))
                    pct = f"{share * 100:.0f}%"
                except StoreError:  # a damaged value: named when the store found it, writes stopped
                    share, pct = -1.0, "内容已损坏"
            else:
                form_title = "本程序版本中没有此表单，请安装新版本后打开"
                share, pct = -1.0, "—"
            cells = [display_name(self.store, d, self.catalog), form_title, f"{d.updated_at:%Y-%m-%d %H:%M}", pct]
            for j, text in enumerate(cells):
                it = _Item(text)
                it.setData(Qt.ItemDataRole.UserRole, d.id)
                if j == 0:
                    it.setToolTip(text)
                if j == 3:
                    it.setData(SORT_ROLE, share)
                    it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, it)
        self.table.setSortingEnabled(True)
        row = self.row_of(current) if current is not None else -1
        if row < 0 and self.drafts:
            row = 0
        if row >= 0:
            self.table.selectRow(row)
            self.table.setCurrentCell(row, 0)
        self.empty_label.setVisible(not self.drafts)
        self._update_buttons()

    def _sort_changed(self, column: int, order: Qt.SortOrder) -> None:
        if column < 0:
            winstate.remember(self, SORT_KEY, None)
            self.refresh()  # back to creation order
        else:
            winstate.remember(self, SORT_KEY, {"column": column,
                                               "order": 1 if order == Qt.SortOrder.DescendingOrder else 0})

    def selected_id(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def row_of(self, draft_id: int) -> int:
        """The table row showing ``draft_id`` (after any sorting), or -1."""
        for r in range(self.table.rowCount()):
            it = self.table.item(r, 0)
            if it is not None and it.data(Qt.ItemDataRole.UserRole) == draft_id:
                return r
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
        names = [f"{form_label(self.catalog, f)}（{f.form.notice.number} {f.form.attachment}）" for f in forms]
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

    def open_selected(self) -> QWidget | None:
        did = self.selected_id()
        return self.open_draft(did) if did is not None else None

    def open_draft(self, draft_id: int) -> QWidget | None:
        if self.is_district_workspace(draft_id):
            return self.open_district_window(draft_id)
        w = self.windows.get(draft_id)
        if w is not None:
            return _to_front(w)
        w = self._new_window(DraftWindow, draft_id, "无法打开草稿")
        if w is None:
            return None
        w.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        w.closed.connect(self._on_closed)
        self.windows[draft_id] = w
        winstate.show_window(w)  # as it was left, or maximized on a screen narrower than 1400
        return w

    def _new_window(self, cls, draft_id: int, failure: str):
        try:
            return cls(self.store, draft_id, self.catalog)
        except (StoreError, KeyError) as e:
            QMessageBox.warning(self, failure, str(e).strip("'\""))
            return None

    def _on_closed(self, draft_id: int) -> None:
        self.windows.pop(draft_id, None)
        self.refresh(draft_id)
        self.table.setFocus()  # back in the list when this window is active again: Enter reopens

    def copy_selected(self) -> int | None:
        did = self.selected_id()
        if did is None:
            return None
        if did in self.windows:
            self.windows[did].flush()  # what is being typed is copied too
        new = duplicate_draft(self.store, did)
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
            window = self.windows.get(did)
            if window is not None:  # the open window's naming field shows the new name at once
                problem = window.rename(name)
            else:
                try:
                    rename_draft(self.store, did, name, self.catalog)
                    problem = None
                except (InputError, StoreError) as e:
                    problem = str(e)
            if problem:
                QMessageBox.warning(self, "无法重命名", problem)
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
        delete_draft(self.store, did)
        self.refresh()
        return True

    def import_template(self) -> int | None:
        path, _ = QFileDialog.getOpenFileName(self, "从填好的模板导入", str(winstate.last_folder(self, "import")),
                                              "填好的模板 (*.json *.xlsx);;所有文件 (*)")
        if not path:
            return None
        winstate.remember_folder(self, "import", Path(path).parent)
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
        for w in list(self.windows.values()) + list(self.district_windows):
            w.close()
        super().closeEvent(e)

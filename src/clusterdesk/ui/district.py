"""The district workspace window (区县汇总): clusters from packages or local drafts, the notice's
cap, the summary table, compiling the submission folder, printing and PDF preview.

A thin view over ``clusterdesk.packages.district``: every change goes through the core and the
window redraws from it. Dialogs that would block (file choosers, questions) are methods a test
can replace; printing goes through ``self.launcher`` (``checklist.run_print_job`` by default) and
files reach the system through ``self.opener`` (``opener.open_with_system``: True if a program
opened the file). When nothing opened, a dialog names the folder and offers 打开文件夹.

At 1366×768 everything is reachable: the district, clusters and summary scroll, while the
编制报送材料…/打印/PDF 预览/打开文件夹 bar stays at the bottom (and in the 文件 menu, with shortcuts).
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any, Callable

from clusterdesk.logs import log
from clusterdesk.errors import ClusterDeskError
from clusterdesk.fsutil import owned_prefix
from clusterdesk.model.form import Catalog, default_catalog
from clusterdesk.model.values import char_count
from clusterdesk.packages import DuplicatePackage, PackageError
from clusterdesk.packages.checklist import OpenFailed, PrintJob, print_jobs, run_print_job
from clusterdesk.packages.district import (
    EVIDENCE_DIR,
    ClusterCapExceeded,
    CompileRefused,
    CompileResult,
    District,
    DistrictError,
    DistrictWorkspace,
    compile_district,
    create_district,
    find_districts,
    notices,
)
from clusterdesk.service import Store, StoreError, display_name

from . import opener as system_opener
from . import style, winstate
from .settings import settings_path_for
from .qt import (
    QAbstractItemView,
    QBrush,
    QCheckBox,
    QColor,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QEvent,
    QFormLayout,
    QFrame,
    QGuiApplication,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSignalBlocker,
    QSize,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    Qt,
    Signal,
)

CLUSTER_COLUMNS = ("序号", "集群名称", "检查结果", "申报条件", "所属区县")
ERROR_BG = QColor(style.OVERFLOW_BG)
MISSING_BG = QColor("#fff3d6")
OTHER_DISTRICT_BG = QColor("#fff3d6")


def _open_with_system(path: Path) -> bool:
    return system_opener.open_with_system(path)  # looked up at call time: tests replace it


def _is_long_text(col: Any) -> bool:
    """A summary column edited in the multi-line editor (集群简介（150字以内）)."""
    return getattr(col, "type", "") == "narrative" or bool(getattr(col, "max_chars", None))


class LongTextDialog(QDialog):
    """A multi-line editor for one long summary cell, with a live 字 counter against its limit."""

    def __init__(self, title: str, text: str, max_chars: int | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.max_chars = max_chars
        self.setWindowTitle(title)
        lay = QVBoxLayout(self)
        lay.addWidget(style.label(title, "label"))
        self.edit = QPlainTextEdit(text)
        self.edit.setAccessibleName(title)
        self.edit.setTabChangesFocus(True)
        lay.addWidget(self.edit, 1)
        self.counter = style.label("", "counter")
        self.counter.setObjectName("longTextCounter")
        lay.addWidget(self.counter)
        bb = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = bb.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("确定")
        self.ok_button.setToolTip(style.with_keys("保存这一格", "Ctrl+Return"))
        bb.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        bb.accepted.connect(self.accept)
        bb.rejected.connect(self.reject)
        lay.addWidget(bb)
        from .qt import QKeySequence, QShortcut

        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self).activated.connect(self.accept)
        self.edit.textChanged.connect(self._count)
        self._count()
        winstate.place(self, "long-text", QSize(640, 360))
        self.edit.setFocus()
        self.edit.moveCursor(self.edit.textCursor().MoveOperation.End)

    def text(self) -> str:
        return self.edit.toPlainText()

    def _count(self) -> None:
        n = char_count(self.text())
        if self.max_chars is None:
            self.counter.setText(f"已输入 {n} 字")
            return
        if n > self.max_chars:
            self.counter.setText(f"已输入 {n} 字，超出 {n - self.max_chars} 字（{self.max_chars}字以内）")
            style.set_role(self.counter, "counter-over")
        else:
            self.counter.setText(f"已输入 {n} 字，还可输入 {self.max_chars - n} 字（{self.max_chars}字以内）")
            style.set_role(self.counter, "counter")


class NewDistrictDialog(QDialog):
    """区县、主管部门、联系人、手机 and the notice, for a new district workspace."""

    def __init__(self, catalog: Catalog, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("新建区县汇总")
        self.notice_box = QComboBox()
        for n in notices(catalog):
            self.notice_box.addItem(f"{n.title}（{n.number}）", n.id)
        self.name = QLineEdit()
        self.name.setPlaceholderText("例如：永川区")
        self.authority = QLineEdit()
        self.authority.setPlaceholderText("例如：重庆市永川区经济和信息化委员会")
        self.contact = QLineEdit()
        self.phone = QLineEdit()
        form = QFormLayout()
        form.addRow("通知", self.notice_box)
        form.addRow("区（县）", self.name)
        form.addRow("区（县）中小企业主管部门", self.authority)
        form.addRow("联系人", self.contact)
        form.addRow("手机", self.phone)
        bb = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        bb.button(QDialogButtonBox.StandardButton.Ok).setText("确定")
        bb.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        bb.accepted.connect(self._accept)
        bb.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        self.error = style.label("", "problem-error")
        lay.addWidget(self.error)
        lay.addWidget(bb)
        self.setMinimumWidth(min(560, winstate.fitted_size(self, QSize(560, 0)).width()))
        winstate.place(self, "new-district", None)

    def district(self) -> District:
        return District(self.name.text().strip(), str(self.notice_box.currentData()), self.authority.text().strip(),
                        self.contact.text().strip(), self.phone.text().strip())

    def _accept(self) -> None:
        if not self.name.text().strip():
            self.error.setText("请填写区县名称")
            return
        self.accept()


class DistrictWindow(QMainWindow):
    """One district's submission for one notice."""

    changed = Signal()

    def __init__(self, store: Store, draft_id: int, catalog: Catalog | None = None, *,
                 launcher: Callable[[PrintJob, Path], Any] | None = None,
                 opener: Callable[[Path], Any] | None = None):
        super().__init__()
        self.store = store
        self.catalog = catalog or default_catalog()
        self.ws = DistrictWorkspace(store, draft_id, self.catalog)
        self.notice = self.ws.notice
        self.settings_file = settings_path_for(store.path)
        self.opener = opener or _open_with_system
        self.launcher = launcher or (lambda job, work_dir: run_print_job(job, work_dir=work_dir,
                                                                          open_file=self.opener))
        self.last_result: CompileResult | None = None
        self.summary_window: Any = None
        self.long_text_dialog: LongTextDialog | None = None
        self.open_failed_dialog: Any = None
        self._other: dict[int, str] = {}
        self._work_dir = tempfile.TemporaryDirectory(prefix=owned_prefix(), suffix=".print",
                                                     ignore_cleanup_errors=True)
        self.setWindowIcon(style.app_icon())
        winstate.place(self, "district", QSize(1200, 800))

        # everything above the action bar scrolls when the screen is short (1366×768 with a taskbar)
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.scroll_area = QScrollArea()
        self.scroll_area.setObjectName("districtScroll")
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        lay = QVBoxLayout(body)
        title = style.label(f"{self.ws.summary_form.title}", "section-title")
        lay.addWidget(title)
        lay.addWidget(style.label(self._notice_text(), "note"))

        # -- the district ---------------------------------------------------------------------
        d = self.ws.district
        self.name_edit = self._line("districtName", d.name)
        self.authority_edit = self._line("authority", d.authority)
        self.contact_edit = self._line("contact", d.contact)
        self.phone_edit = self._line("phone", d.phone)
        head = QFormLayout()
        head.addRow("区（县）", self.name_edit)
        head.addRow("区（县）中小企业主管部门", self.authority_edit)
        row = QHBoxLayout()
        row.addWidget(self.contact_edit)
        row.addWidget(QLabel("手机"))
        row.addWidget(self.phone_edit)
        head.addRow("联系人", row)
        for edit, field in ((self.name_edit, "name"), (self.authority_edit, "authority"),
                            (self.contact_edit, "contact"), (self.phone_edit, "phone")):
            edit.editingFinished.connect(lambda e=edit, f=field: self._district_edited(f, e))
        lay.addLayout(head)

        # -- clusters -----------------------------------------------------------------------------
        bar = QHBoxLayout()
        self.cap_label = style.label("", "label")
        self.cap_label.setObjectName("capLabel")
        bar.addWidget(self.cap_label, 1)
        self.import_button = self._button("importButton", "导入数据包…", self.choose_and_import)
        self.add_draft_button = self._button("addDraftButton", "添加本机草稿…", self.choose_and_add_draft)
        self.open_button = self._button("openButton", "打开", self.open_selected)
        self.up_button = self._button("upButton", "上移", lambda: self.move_selected(-1))
        self.down_button = self._button("downButton", "下移", lambda: self.move_selected(1))
        self.remove_button = self._button("removeButton", "移出名单", self.remove_selected)
        for b in (self.import_button, self.add_draft_button, self.open_button, self.up_button, self.down_button,
                  self.remove_button):
            bar.addWidget(b)
        lay.addLayout(bar)
        self.message = style.label("", "problem-error")
        self.message.setObjectName("messageLabel")
        lay.addWidget(self.message)

        self.cluster_table = QTableWidget(0, len(CLUSTER_COLUMNS))
        self.cluster_table.setObjectName("clusterTable")
        self.cluster_table.setHorizontalHeaderLabels(list(CLUSTER_COLUMNS))
        self.cluster_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.cluster_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.cluster_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.cluster_table.verticalHeader().setVisible(False)
        self.cluster_table.setTabKeyNavigation(False)  # Tab leaves the list; arrows move in it
        self.cluster_table.setAccessibleName("集群名单")
        hh = self.cluster_table.horizontalHeader()
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for c, width in ((0, 48), (2, 150), (3, 340), (4, 120)):
            self.cluster_table.setColumnWidth(c, width)
        self.cluster_table.activated.connect(lambda _i: self.open_selected())  # Enter or double click
        self.cluster_table.setMinimumHeight(110)
        self.cluster_table.setMaximumHeight(170)
        lay.addWidget(self.cluster_table)

        # -- the summary ---------------------------------------------------------------------------
        sbar = QHBoxLayout()
        sbar.addWidget(style.label(self.ws.summary_form.form.short_title, "label"), 1)
        self.open_summary_button = self._button("openSummaryButton", "在填报窗口中编辑…", self.open_summary)
        sbar.addWidget(self.open_summary_button)
        lay.addLayout(sbar)
        self.summary_columns = []
        self.summary_table = QTableWidget(0, 0)
        self.summary_table.setObjectName("summaryTable")
        self.summary_table.setAccessibleName(self.ws.summary_form.form.short_title)
        self.summary_table.setTabKeyNavigation(False)
        self.summary_table.setWordWrap(True)
        if self.ws.has_summary_table:
            self.summary_columns = [c for c in self.ws.summary_columns() if getattr(c, "printed", True)]
            self.summary_table.setColumnCount(len(self.summary_columns))
            self.summary_table.setHorizontalHeaderLabels([c.label for c in self.summary_columns])
            self.summary_table.verticalHeader().setVisible(False)
            self.summary_table.horizontalHeader().setSectionResizeMode(
                len(self.summary_columns) - 1, QHeaderView.ResizeMode.Stretch)
            for c, col in enumerate(self.summary_columns[:-1]):
                self.summary_table.setColumnWidth(c, int((col.width_mm or 25) * 5.5))
            self.summary_table.itemChanged.connect(self._summary_item_changed)
            self.summary_table.cellActivated.connect(self._summary_cell_activated)  # Enter / double click
            self.summary_table.installEventFilter(self)  # F2 on a long cell opens its editor too
            self.summary_table.setMinimumHeight(160)
            lay.addWidget(self.summary_table, 1)
        else:
            self.summary_table.hide()
            lay.addWidget(style.label("本通知的区县材料是一篇总结，请点“在填报窗口中编辑…”填写。", "help"), 1)
        self.summary_problems = style.label("", "problem-error")
        self.summary_problems.setObjectName("summaryProblems")
        lay.addWidget(self.summary_problems)
        self.scroll_area.setWidget(body)
        outer.addWidget(self.scroll_area, 1)

        # -- compile, print, preview -------------------------------------------------------------------
        from clusterdesk.export.pdf import find_soffice

        self.soffice = find_soffice()
        actions = QFrame()
        actions.setObjectName("districtActions")
        actions.setFrameShape(QFrame.Shape.StyledPanel)
        alay = QVBoxLayout(actions)
        alay.setContentsMargins(9, 6, 9, 6)
        abar = QHBoxLayout()
        self.pdf_check = QCheckBox("同时生成 PDF")
        self.pdf_check.setObjectName("pdfCheck")
        self.pdf_check.setEnabled(self.soffice is not None)
        if self.soffice is None:
            self.pdf_check.setToolTip("未找到 LibreOffice，无法生成 PDF")
        self.draft_check = QCheckBox("有错误时生成草稿")
        self.draft_check.setObjectName("draftCheck")
        self.compile_button = self._button("compileButton", "编制报送材料…", self.choose_and_compile)
        self.print_button = self._button("printButton", "打印", self.print_all)
        self.preview_button = self._button("previewButton", "PDF 预览", self.preview_selected)
        self.folder_button = self._button("folderButton", "打开文件夹", self.open_folder)
        abar.addWidget(self.pdf_check)
        abar.addWidget(self.draft_check)
        abar.addStretch(1)
        for b in (self.compile_button, self.print_button, self.preview_button, self.folder_button):
            abar.addWidget(b)
        alay.addLayout(abar)
        self.result_label = style.label("", "note")
        self.result_label.setObjectName("resultLabel")
        alay.addWidget(self.result_label)
        outer.addWidget(actions)

        self.setCentralWidget(central)
        self._build_menu()
        self.cluster_table.itemSelectionChanged.connect(self._update_buttons)
        self.refresh()

    def _build_menu(self) -> None:
        """文件 holds every button's action with its shortcut; the buttons' tooltips name it too."""
        menu = self.menuBar().addMenu("文件(&F)")
        self.menu_actions: dict[str, Any] = {}
        self._action_buttons: list[tuple[Any, QPushButton]] = []
        entries = (("导入数据包…", self.import_button, "Ctrl+I"), ("添加本机草稿…", self.add_draft_button, None),
                   ("打开所选集群", self.open_button, "Ctrl+O"), None,
                   ("编制报送材料…", self.compile_button, "Ctrl+E"), ("打印…", self.print_button, "Ctrl+P"),
                   ("PDF 预览", self.preview_button, "Ctrl+Shift+P"), ("打开文件夹", self.folder_button, None),
                   None, ("关闭", None, "Ctrl+W"))
        for entry in entries:
            if entry is None:
                menu.addSeparator()
                continue
            text, button, keys = entry
            a = menu.addAction(text)
            if keys:
                a.setShortcut(keys)
            if button is None:
                a.triggered.connect(lambda _c=False: self.close())
            else:
                a.triggered.connect(lambda _c=False, b=button: b.click() if b.isEnabled() else None)
                if keys:
                    b_tip = button.toolTip() or text.rstrip("…")
                    button.setToolTip(style.with_keys(b_tip, keys))
                self._action_buttons.append((a, button))
            self.menu_actions[text] = a
        help_menu = self.menuBar().addMenu("帮助(&H)")
        guide = help_menu.addAction("用户指南")
        guide.setShortcut("F1")
        guide.triggered.connect(self._show_guide)

    def _show_guide(self) -> None:
        from .help import show_user_guide

        show_user_guide(self)

    # -- small builders ---------------------------------------------------------------------
    def _line(self, name: str, text: str) -> QLineEdit:
        e = QLineEdit(text)
        e.setObjectName(name)
        return e

    def _button(self, name: str, text: str, slot: Callable[[], Any]) -> QPushButton:
        b = QPushButton(text)
        b.setObjectName(name)
        b.clicked.connect(lambda _=False: slot())
        return b

    def _notice_text(self) -> str:
        n = self.notice
        parts = [f"{n.number}"]
        if n.deadline_text:
            parts.append(f"报送时间：{n.deadline_text}")
        if n.max_clusters_rule:
            parts.append(n.max_clusters_rule)
        return "　".join(parts)

    # -- redraw -----------------------------------------------------------------------------
    def refresh(self) -> None:
        d = self.ws.district
        self.setWindowTitle(f"{d.name or '区县'} · {self.ws.summary_form.form.short_title} — 集群申报助手")
        statuses = self.ws.clusters()
        self._ids = [s.draft_id for s in statuses]
        self._other = self.ws.other_districts()
        from clusterdesk.packages.district import cluster_district

        t = self.cluster_table
        t.setRowCount(len(statuses))
        for r, st in enumerate(statuses):
            theirs = cluster_district(self.store, st.draft_id, self.catalog) or ""
            other = st.draft_id in self._other
            cells = [str(r + 1), st.title, st.check_text, st.eligibility_text, f"⚠ {theirs}" if other else theirs]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, st.draft_id)
                if c in (1, 4) and other:
                    item.setForeground(QBrush(QColor(style.WARNING)))
                    item.setBackground(QBrush(OTHER_DISTRICT_BG))
                    item.setToolTip(f"这个集群的所属区县是“{theirs}”，不是本区县（{d.name}）。"
                                    "请核对：各区县只报送本区县的集群。")
                if c == 2 and st.errors:
                    item.setForeground(QBrush(QColor(style.ERROR)))
                if c == 3 and st.eligibility == "不符合":
                    item.setForeground(QBrush(QColor(style.WARNING)))
                t.setItem(r, c, item)
        cap = self.ws.cap
        count = len(statuses)
        self.cap_label.setText(f"已加入 {count}/{cap} 个集群" if cap is not None else f"已加入 {count} 个集群")
        self.refresh_summary()
        self._update_buttons()

    def refresh_summary(self) -> None:
        if self.ws.has_summary_table:
            rows = self.ws.summary_rows()
            t = self.summary_table
            with QSignalBlocker(t):
                t.setRowCount(len(rows))
                for r, row in enumerate(rows):
                    for c, col in enumerate(self.summary_columns):
                        v = row.get(col.id)
                        item = QTableWidgetItem("" if v is None else str(v))
                        if col.auto or _is_long_text(col):  # long texts open the multi-line editor
                            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                        self._mark(item, col, v)
                        t.setItem(r, c, item)
            t.resizeRowsToContents()
        errors = [p for p in self.ws.summary_problems() if p.level == "error"]
        self.summary_problems.setText("\n".join(f"错误：{p.message}" for p in errors[:8]))

    def _mark(self, item: QTableWidgetItem, col: Any, value: Any) -> None:
        tip = ""
        bg = None
        if col.max_chars and isinstance(value, str):
            n = char_count(value)
            tip = f"{n}/{col.max_chars} 字"
            if n > col.max_chars:
                bg = ERROR_BG
                tip = f"超过{col.max_chars}字（现 {n} 字）"
        if col.required and col.auto is None and value in (None, ""):
            bg = MISSING_BG
            tip = "必填"
        if _is_long_text(col):
            tip = "　".join(x for x in (tip, "按 Enter 或双击，在多行编辑框中填写") if x)
        item.setToolTip(tip)
        item.setBackground(QBrush(bg) if bg is not None else QBrush())

    def _update_buttons(self) -> None:
        has = self.selected_id() is not None
        for b in (self.open_button, self.up_button, self.down_button, self.remove_button):
            b.setEnabled(has)
        done = self.last_result is not None
        self.print_button.setEnabled(done)
        self.folder_button.setEnabled(done)
        self.preview_button.setEnabled(self.soffice is not None and (done or has))
        if self.soffice is None:
            self.preview_button.setToolTip("未找到 LibreOffice，无法预览 PDF")
        for action, button in getattr(self, "_action_buttons", ()):
            action.setEnabled(button.isEnabled())

    def show_message(self, text: str, role: str = "problem-error") -> None:
        style.set_role(self.message, role)
        self.message.setText(text)

    # -- the district ---------------------------------------------------------------------
    def _district_edited(self, field: str, edit: QLineEdit) -> None:
        value = edit.text().strip()
        if getattr(self.ws.district, field) == value:
            return
        try:
            self.ws.update_district(**{field: value})
        except DistrictError as e:
            self.show_message("\n".join(e.lines))
            edit.setText(getattr(self.ws.district, field))
            return
        self.refresh()

    # -- clusters ---------------------------------------------------------------------------
    def selected_id(self) -> int | None:
        rows = self.cluster_table.selectionModel().selectedRows() if self.cluster_table.selectionModel() else []
        if not rows:
            return None
        r = rows[0].row()
        return self._ids[r] if 0 <= r < len(self._ids) else None

    def choose_packages(self) -> list[Path]:
        files, _ = QFileDialog.getOpenFileNames(self, "导入数据包", str(winstate.last_folder(self, "packages")),
                                                "集群数据包 (*.cdpkg);;所有文件 (*)")
        if files:
            winstate.remember_folder(self, "packages", Path(files[0]).parent)
        return [Path(f) for f in files]

    def ask_duplicate(self, e: DuplicatePackage) -> str | None:
        """Ask what to do with a package whose draft is already here: replace / keep_both / None."""
        box = QMessageBox(QMessageBox.Icon.Question, "已有同一份草稿", e.lines[0], parent=self)
        box.setInformativeText("用数据包替换本机的草稿，还是两份都保留？")
        replace = box.addButton("替换", QMessageBox.ButtonRole.AcceptRole)
        keep = box.addButton("两份都保留", QMessageBox.ButtonRole.ActionRole)
        box.addButton("取消", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        clicked = box.clickedButton()
        return "replace" if clicked is replace else "keep_both" if clicked is keep else None

    def choose_and_import(self) -> list[int]:
        return self.import_packages(self.choose_packages())

    def import_packages(self, paths: list[Path]) -> list[int]:
        """Import packages into the workspace; refusals are shown, one line each."""
        from clusterdesk.packages import SnapshotOnce

        added: list[int] = []
        messages: list[str] = []
        once = SnapshotOnce(self.store)  # one snapshot before the first package that is written
        for path in paths:
            try:
                added.append(self._import_one(Path(path), once))
            except ClusterCapExceeded as e:
                messages.append(e.rule)
                break
            except PackageError as e:
                messages.extend(e.problems)
            except (DistrictError, StoreError, OSError) as e:
                messages.append(str(e))
            except _Cancelled:
                continue
        self.refresh()
        others = [self._other_district_line(i) for i in added if i in self._other]
        if messages:
            self.show_message("\n".join(messages + others))
        elif others:
            self.show_message("\n".join([f"已导入 {len(added)} 个数据包。"] + others), "problem-warning")
        elif added:
            self.show_message(f"已导入 {len(added)} 个数据包。", "note")
        self.changed.emit()
        return added

    def _other_district_line(self, draft_id: int) -> str:
        title = next((display_name(self.store, d, self.catalog) for d in self.store.list_drafts()
                      if d.id == draft_id), "")
        return (f"注意：“{title}”的所属区县是“{self._other[draft_id]}”，不是本区县（{self.ws.district.name}），"
                "请核对。")

    def _import_one(self, path: Path, snapshot: Any = True) -> int:
        from clusterdesk.packages import read_package

        contents = read_package(path, self.catalog)
        try:
            return self.ws.add_package(contents, snapshot=snapshot)
        except DuplicatePackage as e:
            choice = self.ask_duplicate(e)
            if choice is None:
                raise _Cancelled() from None
            return self.ws.add_package(contents, on_duplicate=choice, snapshot=snapshot)  # type: ignore[arg-type]  # the dialog offers only the OnDuplicate choices

    def candidate_drafts(self) -> list[Any]:
        """Local cluster drafts of this notice that are not on the list yet."""
        ids = set(self.ws.cluster_ids())
        out = []
        for info in self.store.list_drafts():
            if info.id in ids or info.form_id not in self.catalog:
                continue
            f = self.catalog.get(info.form_id).form
            if f.role == "cluster" and f.notice.id == self.notice.id:
                out.append(info)
        return out

    def choose_and_add_draft(self) -> int | None:
        drafts = self.candidate_drafts()
        if not drafts:
            self.show_message("本机没有可以加入的集群草稿。", "note")
            return None
        labels = _unique_labels([f"{display_name(self.store, d, self.catalog)}（最后修改 {d.updated_at:%Y-%m-%d %H:%M}）"
                                 for d in drafts])
        text, ok = QInputDialog.getItem(self, "添加本机草稿", "选择集群草稿：", labels, 0, False)
        if not ok:
            return None
        did = drafts[labels.index(text)].id
        return did if self.add_draft(did) else None

    def add_draft(self, draft_id: int) -> bool:
        try:
            self.ws.add_draft(draft_id)
        except ClusterCapExceeded as e:
            self.show_message(e.rule)
            return False
        except (DistrictError, StoreError) as e:
            self.show_message(str(e))
            return False
        self.refresh()
        if draft_id in self._other:
            self.show_message(self._other_district_line(draft_id), "problem-warning")
        else:
            self.show_message("")
        self.changed.emit()
        return True

    def remove_selected(self) -> None:
        did = self.selected_id()
        if did is None:
            return
        self.ws.remove(did)
        self.show_message("")
        self.refresh()
        self.changed.emit()

    def move_selected(self, delta: int) -> None:
        did = self.selected_id()
        if did is None:
            return
        self.ws.move(did, delta)
        self.refresh()
        row = self._ids.index(did)
        self.cluster_table.selectRow(row)

    def open_selected(self) -> Any:
        did = self.selected_id()
        return self.open_draft(did) if did is not None else None

    def open_draft(self, draft_id: int) -> Any:
        from .draft_window import DraftWindow

        w = DraftWindow(self.store, draft_id, self.catalog)
        w.closed.connect(lambda _id: self.refresh())
        winstate.show_window(w)
        if draft_id == self.ws.draft_id:
            self.summary_window = w
        else:
            self._cluster_window = w
        return w

    def open_summary(self) -> Any:
        return self.open_draft(self.ws.draft_id)

    # -- the summary table ------------------------------------------------------------------
    def _summary_item_changed(self, item: QTableWidgetItem) -> None:
        col = self.summary_columns[item.column()]
        error = self.ws.set_summary_cell(item.row(), col.id, item.text())
        if error:
            self.show_message(error)
        self.refresh_summary()

    def _summary_cell_activated(self, row: int, column: int) -> None:
        if 0 <= column < len(self.summary_columns) and _is_long_text(self.summary_columns[column]):
            self.edit_long_text(row, column)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if obj is self.summary_table and event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_F2:
            idx = self.summary_table.currentIndex()
            if idx.isValid() and _is_long_text(self.summary_columns[idx.column()]):
                self.edit_long_text(idx.row(), idx.column())
                return True
        return super().eventFilter(obj, event)

    def edit_long_text(self, row: int, column: int) -> LongTextDialog:
        """Open the multi-line editor for a long summary cell; OK stores it through the core."""
        col = self.summary_columns[column]
        item = self.summary_table.item(row, column)
        name_col = next((c for c, sc in enumerate(self.summary_columns) if not sc.auto), None)
        owner_item = self.summary_table.item(row, name_col) if name_col is not None else None
        owner = owner_item.text() if owner_item is not None else ""
        title = f"{col.label} — {owner}" if owner else col.label
        dlg = LongTextDialog(title, item.text() if item is not None else "", col.max_chars, self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)

        def store_text() -> None:
            error = self.ws.set_summary_cell(row, col.id, dlg.text())
            if error:
                self.show_message(error)
            self.refresh_summary()
            self.summary_table.setCurrentCell(row, column)

        dlg.accepted.connect(store_text)
        self.long_text_dialog = dlg
        dlg.open()
        return dlg

    # -- compile, print, preview ----------------------------------------------------------------
    def choose_output_folder(self) -> Path | None:
        parent = QFileDialog.getExistingDirectory(self, "选择保存报送材料的位置",
                                                  str(winstate.last_folder(self, "district")))
        if not parent:
            return None
        winstate.remember_folder(self, "district", parent)
        name = self.ws.district.name or "区县"
        return Path(parent) / f"{name}-{self.ws.summary_form.form.year}年度报送材料"

    def choose_and_compile(self) -> CompileResult | None:
        out = self.choose_output_folder()
        return self.compile_to(out) if out is not None else None

    def compile_to(self, out: Path) -> CompileResult | None:
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            result = compile_district(self.store, self.ws.draft_id, [], out, pdf=self.pdf_check.isChecked(),
                                      allow_draft=self.draft_check.isChecked(), catalog=self.catalog)
        except CompileRefused as e:
            self.show_message("\n".join(e.lines))
            return None
        except ClusterCapExceeded as e:
            self.show_message(e.rule)
            return None
        except (DistrictError, PackageError, StoreError, OSError) as e:
            self.show_message(str(e))
            return None
        except ClusterDeskError as e:  # the exporter's own errors carry Chinese messages
            self.show_message(str(e))
            return None
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.last_result = result
        n = len(result.files)
        note = f"已生成 {n} 个文件：{result.folder}"
        if result.draft_copies:
            note += "\n以下材料仍有错误，生成的是草稿：" + "、".join(result.draft_copies)
        for m in result.messages:  # a new folder beside a folder that is not ours, files kept or removed
            note += "\n" + m
        if result.missing_evidence:  # ticked boxes without a file: the officer adds them on paper
            note += (f"\n{len(result.missing_evidence)} 个勾选项未附佐证材料，须纸质提供"
                     "（见上方提示和寄送清单）。")
        self.result_label.setText(note)
        self.show_message("\n".join(result.missing_evidence), "problem-warning")
        self.refresh()
        return result

    def confirm(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.Yes)
        return answer == QMessageBox.StandardButton.Yes

    def print_all(self) -> list[PrintJob]:
        if self.last_result is None:
            return []
        return self.print_documents(self.last_result.print_files, dict(self.last_result.paper))

    def print_documents(self, files: list[Path], copies_of: dict[Path, int] | None = None) -> list[PrintJob]:
        """Send every print document to the printer in the copies the notice asks for (``copies_of``;
        else the notice's number of copies). A cluster's evidence is named as one line per folder."""
        default = self.notice.paper_copies
        if not files:
            return []
        copies_of = copies_of or {}
        lines: list[str] = []
        folders: dict[Path, list[Path]] = {}
        for f in files:
            if f.parent.name == EVIDENCE_DIR:
                if f.parent not in folders:
                    lines.append(str(f.parent))  # placeholder, filled in below
                folders.setdefault(f.parent, []).append(f)
            else:
                lines.append(f"{f.name}（{copies_of.get(f, default)}份）")
        for where, group in folders.items():
            i = lines.index(str(where))
            lines[i] = (f"{where.parent.name}/{where.name}/ 中的 {len(group)} 个文件"
                        f"（各{copies_of.get(group[0], default)}份）")
        text = f"将以下 {len(files)} 个文件送到打印机：\n" + "\n".join(lines)
        if not self.confirm("打印", text):
            return []
        jobs = [job for f in files for job in print_jobs([f], copies_of.get(f, default), soffice=self.soffice)]
        counts = sorted({j.copies for j in jobs})
        copies = f"{counts[0]}份" if len(counts) == 1 else "按通知要求的份数"
        notes: list[str] = []
        failed: list[str] = []
        sent = 0
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            for job in jobs:
                try:
                    note = self.launcher(job, Path(self._work_dir.name))
                except Exception as e:  # a printer or converter failing must not close the window
                    if not isinstance(e, (ClusterDeskError, OSError)):
                        log.error("printing %s failed", job, exc_info=e)
                    failed.append(_print_failure(job, e))
                    continue
                if note:
                    notes.append(note)  # opened for the user to print: not sent
                else:
                    sent += 1
        finally:
            QGuiApplication.restoreOverrideCursor()
        lines = []
        if sent:
            each = f"每个{counts[0]}份" if len(counts) == 1 else "份数按通知的要求"
            lines.append(f"已发送 {sent} 个文件到打印机，{each}。")
        lines += notes
        if failed:
            self.show_message("\n".join(failed + lines))
            folder = self.last_result.folder if self.last_result is not None else Path(files[0]).parent
            head = f"{len(failed)} 个文件未能打印：" if len(failed) < len(jobs) else "没有文件被打印："
            system_opener.show_open_failed(self, "未能打印", [head, *failed, *lines], folder,
                                           note=f"可以打开文件夹，用 Word、WPS 或 PDF 阅读器打开文件后各打印{copies}。")
        else:
            self.show_message("\n".join(lines), "note")
        return jobs

    def preview_target(self) -> Path | None:
        if self.last_result is not None:
            did = self.selected_id()
            docs = [d for d in self.last_result.documents if d.kind in ("print", "pdf")]
            for d in docs:
                if did is not None and d.draft_id == did:
                    return d.path
            summary = [d for d in docs if d.draft_id == self.ws.draft_id]
            if summary:
                return summary[0].path
            return docs[0].path if docs else None
        return None

    def preview_selected(self) -> Path | None:
        """A PDF of the chosen print document through LibreOffice, opened in the PDF viewer."""
        from clusterdesk.export.atomic import ExportError
        from clusterdesk.export.pdf import docx_to_pdf

        target = self.preview_target()
        if target is None:
            self.show_message("请先编制报送材料，再预览。", "note")
            return None
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            pdf = target if target.suffix.lower() == ".pdf" else docx_to_pdf(target, Path(self._work_dir.name))
        except ExportError as e:
            self.show_message(str(e))
            return None
        finally:
            QGuiApplication.restoreOverrideCursor()
        if not self.opener(pdf):
            where = f"报送材料在：{self.last_result.folder}" if self.last_result is not None else ""
            system_opener.show_open_failed(
                self, "无法预览 PDF", [f"本机没有程序能打开 PDF 文件“{pdf.name}”（可能没有安装 PDF 阅读器）。"],
                pdf.parent, note="这是临时生成的预览文件，关闭区县汇总窗口后自动删除。" + where)
            self.show_message(f"未能打开 PDF 预览“{pdf.name}”：本机没有能打开 PDF 的程序。")
        return pdf

    def open_folder(self) -> bool:
        if self.last_result is None:
            return False
        return system_opener.open_or_explain(self, self.last_result.folder, title="无法打开文件夹",
                                             opener=self.opener)

    def closeEvent(self, e) -> None:  # noqa: N802 - Qt API
        for w in (self.summary_window, getattr(self, "_cluster_window", None)):
            if w is not None and w.isVisible():
                w.close()
        self._work_dir.cleanup()
        super().closeEvent(e)


class _Cancelled(Exception):
    pass


def _print_failure(job: PrintJob, e: Exception) -> str:
    """One Chinese line for a file that did not print."""
    name = f"“{job.path.name}”"
    if isinstance(e, OpenFailed):
        return str(e)
    if isinstance(e, subprocess.CalledProcessError):
        detail = (e.stderr or b"").decode("utf-8", "replace").strip().splitlines() if isinstance(
            e.stderr, bytes) else []
        tail = f"：{detail[-1][:160]}" if detail else ""
        return f"{name}未能打印：打印命令出错（退出码 {e.returncode}）{tail}"
    if isinstance(e, OSError):
        return f"{name}未能打印：{e.strerror or e}"
    return f"{name}未能打印：{e}"


def _unique_labels(labels: list[str]) -> list[str]:
    """Make equal labels distinguishable with （2）, （3）… (never an internal id)."""
    out: list[str] = []
    for text in labels:
        n, label = 1, text
        while label in out:
            n += 1
            label = f"{text}（{n}）"
        out.append(label)
    return out


def choose_district(store: Store, parent: QWidget | None = None, catalog: Catalog | None = None) -> int | None:
    """Pick an existing district workspace or create one; returns its draft id."""
    catalog = catalog or default_catalog()
    existing = find_districts(store, catalog=catalog)
    new_label = "新建区县汇总…"
    if existing:
        infos = {i.id: i for i in store.list_drafts()}
        labels = _unique_labels([display_name(store, infos[did], catalog) if did in infos else d.name
                                 for did, d in existing]) + [new_label]
        text, ok = QInputDialog.getItem(parent, "区县汇总", "选择区县：", labels, 0, False)
        if not ok:
            return None
        if text != new_label:
            return existing[labels.index(text)][0]
    dlg = NewDistrictDialog(catalog, parent)
    if dlg.exec() != QDialog.DialogCode.Accepted:
        return None
    return create_district(store, dlg.district(), catalog)


def open_district(store: Store, parent: QWidget | None = None) -> DistrictWindow | None:
    """The entry point for the start window's 区县汇总 action."""
    did = choose_district(store, parent)
    if did is None:
        return None
    w = DistrictWindow(store, did)
    winstate.show_window(w)
    return w


__all__ = ["DistrictWindow", "NewDistrictDialog", "choose_district", "open_district"]

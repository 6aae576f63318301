"""The draft window: section list, one page per section, navigation, undo/redo and checks."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from clusterdesk.model.form import Catalog
from clusterdesk.service import DraftSession, Store

from . import style, winstate
from .annual import AchievementPanel
from .controller import DraftController
from .settings import settings_path_for
from .pages import SectionPage
from .panels import EligibilityPanel, ExportDialog, FindDialog, ProblemsDialog, RetiredPanel
from .qt import (
    QAction,
    QApplication,
    QCloseEvent,
    QDockWidget,
    QEvent,
    QHBoxLayout,
    QKeySequence,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSignalBlocker,
    QSize,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
    Qt,
    Signal,
)

UNDO_KEYS = (QKeySequence("Ctrl+Z"),)
REDO_KEYS = (QKeySequence("Ctrl+Y"), QKeySequence("Ctrl+Shift+Z"))

# the section list's words for each state; "nothing": a section with nothing to answer (九、真实性声明)
STATE_TEXT = {**style.STATE_TEXT, "nothing": "无需填写", "missing": "缺必填项"}
_ARROWS = {"Left": "←", "Right": "→", "Up": "↑", "Down": "↓"}


def keys_text(keys) -> str:
    """Shortcuts as shown in menus and tooltips: Alt+←, Ctrl+S."""
    out = []
    for k in keys:
        text = k.toString(QKeySequence.SequenceFormat.PortableText)
        for name, arrow in _ARROWS.items():
            text = text.replace(f"+{name}", f"+{arrow}")
        out.append(text)
    return "，".join(out)


class DraftWindow(QMainWindow):
    closed = Signal(int)
    page_shown = Signal(int)

    def __init__(self, store: Store, draft_id: int, catalog: Catalog | None = None, *, lazy: bool = True):
        super().__init__()
        self.store = store
        self.session = DraftSession(store, draft_id, catalog)
        self.ctl = DraftController(self.session, self)
        self.form = self.session.form
        self.setWindowIcon(style.app_icon())
        self.settings_file = settings_path_for(store.path)
        # remembered size and place, else 1280×800 within the screen (maximized below 1400 wide)
        winstate.place(self, "draft", QSize(1280, 800), maximize_below=1400)
        self.pages: list[SectionPage | None] = [None] * len(self.form.sections)
        self.problems_dialog: ProblemsDialog | None = None
        self.find_dialog: FindDialog | None = None
        self.export_dialog: ExportDialog | None = None

        # left: sections in official order, each with its state
        self.section_list = QListWidget()
        self.section_list.setObjectName("sectionList")
        self.section_list.setWordWrap(True)
        self.section_list.setIconSize(QSize(14, 14))
        # about twelve characters wide; longer titles wrap
        self.section_list.setFixedWidth(self.fontMetrics().horizontalAdvance("一、基本情况一、基本情况") + 44)
        self.section_list.setAccessibleName("表单各部分")
        self.section_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        for s in self.form.sections:
            it = QListWidgetItem(s.title)
            it.setToolTip(s.title)
            self.section_list.addItem(it)
        # arrows in the list only browse; a click or Enter opens the section with the cursor in it
        self.section_list.currentRowChanged.connect(lambda i: self.go_to(i, focus=not self.section_list.hasFocus()))
        self.section_list.itemClicked.connect(lambda _it: self.current_page().focus_first())
        self.section_list.itemActivated.connect(lambda _it: self.current_page().focus_first())

        # centre: the pages and the 上一步/下一步 bar
        self.stack = QStackedWidget()
        for _ in self.form.sections:
            self.stack.addWidget(QWidget())
        self.prev_button = QPushButton("← 上一步")
        self.next_button = QPushButton("下一步 →")
        self.prev_button.setToolTip("上一部分（Alt+←）")
        self.next_button.setToolTip("下一部分（Alt+→）")
        self.prev_button.setAccessibleName("上一部分")
        self.next_button.setAccessibleName("下一部分")
        for b in (self.prev_button, self.next_button):
            b.setAutoDefault(True)  # Enter on the focused button presses it
        self.prev_button.clicked.connect(self.go_prev)
        self.next_button.clicked.connect(self.go_next)
        self.position_label = QLabel()
        nav = QHBoxLayout()
        nav.setContentsMargins(12, 6, 12, 8)
        nav.addWidget(self.prev_button)
        nav.addStretch(1)
        nav.addWidget(self.position_label)
        nav.addStretch(1)
        nav.addWidget(self.next_button)
        centre = QWidget()
        cl = QVBoxLayout(centre)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(0)
        cl.addWidget(self.stack, 1)
        cl.addLayout(nav)
        main = QWidget()
        ml = QHBoxLayout(main)
        ml.setContentsMargins(0, 0, 0, 0)
        ml.setSpacing(0)
        ml.addWidget(self.section_list)
        ml.addWidget(centre, 1)
        self.setCentralWidget(main)

        # right: 申报条件自查
        # made inside its dock: built in place, its labels are styled once (made apart and moved into
        # the dock, every label was styled twice, a quarter of the time the window took to open)
        self.eligibility_dock = QDockWidget("申报条件自查", self)
        self.eligibility = EligibilityPanel(self.ctl, self.eligibility_dock)
        self.eligibility_dock.setObjectName("eligibilityDock")
        self.eligibility_dock.setWidget(self.eligibility)
        self.eligibility_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable
                                          | QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.eligibility_dock.setMinimumWidth(220)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.eligibility_dock)
        self.resizeDocks([self.eligibility_dock], [320], Qt.Orientation.Horizontal)
        if not self.form.form.eligibility and not self.form.form.targets:
            self.eligibility_dock.hide()

        # right: 目标完成情况 (annual reports: forms with an ``achievement`` block)
        self.achievement: AchievementPanel | None = None
        self.achievement_dock: QDockWidget | None = None
        if self.form.form.achievement:
            self.achievement = AchievementPanel(self.ctl)
            self.achievement.jump.connect(self.jump_to)
            self.achievement_dock = QDockWidget("目标完成情况", self)
            self.achievement_dock.setObjectName("achievementDock")
            self.achievement_dock.setWidget(self.achievement)
            self.achievement_dock.setFeatures(self.eligibility_dock.features())
            self.achievement_dock.setMinimumWidth(260)
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.achievement_dock)
            if not self.eligibility_dock.isHidden():
                self.tabifyDockWidget(self.eligibility_dock, self.achievement_dock)

        # right: 旧版本内容 (values of fields an earlier version of the form had), only when there are some
        self.retired: RetiredPanel | None = None
        self.retired_dock: QDockWidget | None = None
        if self.session.retired():
            self.retired = RetiredPanel(self.ctl)
            self.retired_dock = QDockWidget("旧版本内容", self)
            self.retired_dock.setObjectName("retiredDock")
            self.retired_dock.setWidget(self.retired)
            self.retired_dock.setFeatures(self.eligibility_dock.features())
            self.retired_dock.setMinimumWidth(260)
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.retired_dock)
            for other in (self.eligibility_dock, self.achievement_dock):
                if other is not None and not other.isHidden():
                    self.tabifyDockWidget(other, self.retired_dock)
                    break
            self.retired_dock.raise_()  # what the new version moved aside is seen first

        self._make_actions()
        self.saved_label = QLabel(f"已保存 {self.session.info.updated_at:%H:%M:%S}")
        self.completion_label = QLabel("")
        self.statusBar().addPermanentWidget(self.completion_label)
        self.statusBar().addPermanentWidget(self.saved_label)

        self.ctl.changed.connect(self._on_changed)
        self.ctl.problems_changed.connect(self._on_problems)
        self.ctl.saved.connect(lambda t: self.saved_label.setText(f"已保存 {t}"))
        self.ctl.undo_state.connect(self._on_undo_state)
        app = QApplication.instance()
        if app is not None:  # a window is only made inside a running application
            # the undo filter (eventFilter) goes on each widget of this window that gets the focus,
            # where the ShortcutOverride of Ctrl+Z is sent: a filter on the whole application
            # called Python for every event of every widget (and made PySide build a hundred enum
            # types when the first section opened, a tenth of the time the window took)
            cast(Any, app).focusChanged.connect(self._filter_focus)

        self._update_title()
        self._update_states()
        self._on_undo_state(False, False)
        self.section_list.setCurrentRow(0)
        if not lazy:
            for i in range(len(self.pages)):
                self.page(i)

    # -- actions --
    def _make_actions(self) -> None:
        tb = self.addToolBar("常用")
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        bar = self.menuBar()
        file_menu = bar.addMenu("文件(&F)")
        edit_menu = bar.addMenu("编辑(&E)")
        go_menu = bar.addMenu("转到(&G)")
        view_menu = bar.addMenu("查看(&V)")

        def act(text: str, keys, slot, tip: str = "", toolbar: bool = True, menu=None) -> QAction:
            a = QAction(text, self)
            if keys:
                a.setShortcuts([QKeySequence(k) if isinstance(k, str) else k for k in keys])
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            a.triggered.connect(slot)
            shown = keys_text(a.shortcuts())
            a.setToolTip(f"{tip or text}（{shown}）" if shown else (tip or text))
            if shown:
                a.setText(f"{text}\t{shown}")  # menus show the shortcut as written here (Alt+←)
                a.setIconText(text.rstrip("…"))  # the toolbar shows the name only
            self.addAction(a)
            if toolbar:
                tb.addAction(a)
            if menu is not None:
                menu.addAction(a)
            return a

        self.save_action = act("保存", ["Ctrl+S"], self.save_now, "所有内容在离开栏目时已自动保存", menu=file_menu)
        self.undo_action = act("撤销", UNDO_KEYS, self.undo, menu=edit_menu)
        self.redo_action = act("重做", REDO_KEYS, self.redo, menu=edit_menu)
        tb.addSeparator()
        self.find_action = act("查找栏目", ["Ctrl+F"], self.show_find, menu=edit_menu)
        self.check_action = act("检查全部", ["F7"], self.check_all, "列出全部错误和提醒，按部分分组", menu=go_menu)
        self.eligibility_action = self.eligibility_dock.toggleViewAction()
        self.eligibility_action.setText("申报条件自查")
        tb.addAction(self.eligibility_action)
        view_menu.addAction(self.eligibility_action)
        if not self.form.form.eligibility and not self.form.form.targets:
            self.eligibility_action.setVisible(False)  # this form has no 申报条件 to check
        self.achievement_action: QAction | None = None
        if self.achievement_dock is not None:
            self.achievement_action = self.achievement_dock.toggleViewAction()
            self.achievement_action.setText("目标完成情况")
            self.achievement_action.setToolTip("目标值、完成值及达成情况，并按年份作图")
            tb.addAction(self.achievement_action)
            view_menu.addAction(self.achievement_action)
        if self.retired_dock is not None:
            self.retired_action = self.retired_dock.toggleViewAction()
            self.retired_action.setText("旧版本内容")
            self.retired_action.setToolTip("表单旧版本中填写、新版本已没有对应栏目的内容（已保留）")
            tb.addAction(self.retired_action)
            view_menu.addAction(self.retired_action)
        tb.addSeparator()
        self.export_action = act("导出…", ["Ctrl+E"], self.show_export, "导出 Word / PDF 申报材料", menu=file_menu)
        file_menu.addSeparator()
        self.close_action = act("关闭", ["Ctrl+W"], self.close, "关闭本草稿（内容已保存）", toolbar=False, menu=file_menu)
        self.prev_action = act("上一部分", ["Alt+Left"], self.go_prev, toolbar=False, menu=go_menu)
        self.next_action = act("下一部分", ["Alt+Right"], self.go_next, toolbar=False, menu=go_menu)
        go_menu.insertSeparator(self.prev_action)
        self.first_field_action = act("本部分第一个栏目", ["Alt+Home"], lambda: self.current_page().focus_first(),
                                      toolbar=False, menu=go_menu)
        self.sections_action = act("部分列表", ["Alt+0"], self.section_list.setFocus, "把光标移到左侧的部分列表",
                                   toolbar=False, menu=go_menu)

    # -- pages --
    def page(self, index: int) -> SectionPage:
        p = self.pages[index]
        if p is None:
            p = SectionPage(self.ctl, self.form.sections[index], index, self.stack)  # built in place: styled once
            old = self.stack.widget(index)
            self.stack.insertWidget(index, p)
            if old is not None:
                self.stack.removeWidget(old)
                old.deleteLater()
            self.pages[index] = p
        return p

    def built_pages(self) -> list[SectionPage]:
        return [p for p in self.pages if p is not None]

    def current_index(self) -> int:
        return self.stack.currentIndex()

    def current_page(self) -> SectionPage:
        return self.page(self.current_index())

    def go_to(self, index: int, focus: bool = True) -> None:
        """Show a section; with ``focus`` the cursor goes to its first field."""
        if not 0 <= index < len(self.pages):
            return
        page = self.page(index)
        self.stack.setCurrentIndex(index)
        if self.section_list.currentRow() != index:
            with QSignalBlocker(self.section_list):
                self.section_list.setCurrentRow(index)
        n = len(self.pages)
        self.position_label.setText(f"第 {index + 1} / {n} 部分　{self.form.sections[index].title}")
        self.prev_button.setEnabled(index > 0)
        self.next_button.setEnabled(index < n - 1)
        if focus and not page.focus_first() and index < n - 1:
            self.next_button.setFocus(Qt.FocusReason.TabFocusReason)  # a page to read (填报说明): Enter goes on
        page.update_problems()
        self.page_shown.emit(index)

    def go_next(self) -> None:
        self.go_to(self.current_index() + 1)

    def go_prev(self) -> None:
        self.go_to(self.current_index() - 1)

    def jump_to(self, key: str) -> bool:
        """Show the section of a cell (or field) key and put the cursor in its widget."""
        if not key:
            return False
        sid = key.split(".", 1)[0]
        for i, s in enumerate(self.form.sections):
            if s.id == sid:
                self.go_to(i, focus=False)
                self.activateWindow()
                return self.page(i).focus_key(key)
        return False

    # -- editing --
    def flush(self) -> None:
        for p in self.built_pages():
            p.flush()

    def save_now(self) -> None:
        self.flush()
        self.saved_label.setText(f"已保存 {datetime.now():%H:%M:%S}")
        self.statusBar().showMessage("所有内容均已保存到本机", 4000)

    def rename(self, title: str) -> str | None:
        """Rename the draft from outside (the start window): its naming field shows the new name
        at once. Returns the Chinese error message, or None if taken."""
        self.flush()
        problem = self.ctl.rename(title)
        self._update_title()
        return problem

    def undo(self) -> None:
        self.flush()
        change = self.ctl.undo()
        self._after_history(change, "撤销")

    def redo(self) -> None:
        self.flush()
        change = self.ctl.redo()
        self._after_history(change, "重做")

    def _after_history(self, change, what: str) -> None:
        if change is None:
            self.statusBar().showMessage(f"没有可{what}的操作", 3000)
            return
        self.jump_to(change.key)
        where = self.form.cell(change.key).where if self.form.has_cell(change.key) else change.key
        self.statusBar().showMessage(f"已{what}：{where}", 5000)

    def _on_undo_state(self, can_undo: bool, can_redo: bool) -> None:
        self.undo_action.setEnabled(True)  # the shortcut must reach us even to say "nothing to undo"
        self.redo_action.setEnabled(True)

    def _on_changed(self, keys: list, reload_source: bool) -> None:
        for p in self.built_pages():
            p.on_changed(keys, reload_source)
        if self.form.form.title_field in keys:
            self._update_title()

    def _on_problems(self) -> None:
        # other pages refresh their messages when they are shown again (go_to)
        cur = self.pages[self.current_index()]
        if cur is not None:
            cur.update_problems()
        self._update_states()
        self.eligibility.refresh()
        if self.achievement is not None:
            self.achievement.refresh()

    def _update_states(self) -> None:
        for i, s in enumerate(self.form.sections):
            state = self.session.section_state(s.id)
            revealed = s.id in self.ctl.revealed
            if state in ("in_progress", "complete") and self.ctl.section_has_errors(s.id):
                state = "errors"  # a failed cross-field check (e.g. 中小企业数量 > 企业数量)
            text = STATE_TEXT[state]
            if state == "in_progress" and revealed:
                # after 检查全部: what is still missing, in red
                state = "missing"
                text = f"缺 {len(self.session.missing_required(s.id))} 项必填"
            it = self.section_list.item(i)
            it.setText(f"{s.title}\n{text}")
            it.setIcon(style.state_icon("errors" if state == "missing" else state))
            it.setData(Qt.ItemDataRole.UserRole, state)
            it.setData(Qt.ItemDataRole.UserRole + 1, text)
            it.setToolTip(f"{s.title}：{text}")
        self.completion_label.setText(f"完成度 {self.session.completion() * 100:.0f}%")

    def section_state_text(self, index: int) -> str:
        return self.section_list.item(index).data(Qt.ItemDataRole.UserRole + 1)

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.session.info.title} — {self.form.title} — 集群申报助手")

    # -- dialogs --
    def reveal(self) -> None:
        """Show 'required' in every section the user has started (检查全部, an export attempt)."""
        self.ctl.reveal()
        for p in self.built_pages():
            p.update_problems()
        self._update_states()

    def check_all(self) -> ProblemsDialog:
        self.flush()
        self.reveal()
        if self.problems_dialog is not None:
            self.problems_dialog.close()
            self.problems_dialog.deleteLater()
        self.problems_dialog = ProblemsDialog(self.ctl.problem_groups(), self)
        self.problems_dialog.jump.connect(self.jump_to)
        self.problems_dialog.show()
        return self.problems_dialog

    def show_find(self) -> FindDialog:
        if self.find_dialog is None:
            self.find_dialog = FindDialog(self.form, self)
            self.find_dialog.jump.connect(self.jump_to)
        self.find_dialog.open_fresh()
        return self.find_dialog

    def show_export(self) -> ExportDialog:
        self.flush()
        self.reveal()  # an export attempt: what is missing shows where it is
        self.export_dialog = ExportDialog(self.ctl, self)
        self.export_dialog.open()
        return self.export_dialog

    # -- keyboard: Tab runs through the section list, the fields of the page, 下一步, 上一步 --
    def tab_ring(self) -> list[QWidget]:
        """The controls Tab visits, in order: the section list, the current page's fields (in
        form order, only those shown), then 下一步 and 上一步 (from the last field, Tab or Enter
        reaches 下一步 first)."""
        page = self.current_page()
        cur = QApplication.focusWidget()
        inside: list[QWidget] = []
        groups_seen: set[int] = set()
        for w in page.tab_candidates():
            if not (w.isVisible() and w.isEnabled()):
                continue
            group = w.group() if isinstance(w, QRadioButton) else None
            if group is None or not group.exclusive():
                inside.append(w)
            elif id(group) not in groups_seen:
                # one stop per set of options (arrows move inside): the focused, the chosen or the first
                groups_seen.add(id(group))
                buttons = group.buttons()
                inside.append(cur if cur in buttons else (group.checkedButton() or buttons[0]))
        ring: list[QWidget] = [self.section_list, *inside, self.next_button, self.prev_button]
        return [x for x in ring if x.isEnabled() and x.isVisible()]

    def focusNextPrevChild(self, forward: bool) -> bool:  # noqa: N802 - Qt API
        ring = self.tab_ring()
        cur = QApplication.focusWidget()
        if cur not in ring:
            return super().focusNextPrevChild(forward)
        target = ring[(ring.index(cur) + (1 if forward else -1)) % len(ring)]
        target.setFocus(Qt.FocusReason.TabFocusReason if forward else Qt.FocusReason.BacktabFocusReason)
        page = self.current_page()
        if page.isAncestorOf(target):
            page.scroll_area.ensureWidgetVisible(target, 20, 40)
        return True

    # -- draft-wide undo wins over a field's own undo once the field's text was committed --
    def _filter_focus(self, _old: QWidget | None, new: QWidget | None) -> None:
        """The widget that has the focus gets the ShortcutOverride of a key first: the filter goes
        on it (installing it again only moves it to the front)."""
        if new is not None and new.window() is self:
            new.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(obj, QWidget) and obj.window() is self:
            keys = QKeySequence(event.keyCombination())
            is_undo = any(keys.matches(k) == QKeySequence.SequenceMatch.ExactMatch for k in UNDO_KEYS)
            is_redo = any(keys.matches(k) == QKeySequence.SequenceMatch.ExactMatch for k in REDO_KEYS)
            if is_undo or is_redo:
                local = False
                if isinstance(obj, QLineEdit):
                    local = obj.isUndoAvailable() if is_undo else obj.isRedoAvailable()
                elif isinstance(obj, QPlainTextEdit):
                    doc = obj.document()
                    local = doc.isUndoAvailable() if is_undo else doc.isRedoAvailable()
                if not local:
                    event.ignore()
                    return True
        return super().eventFilter(obj, event)

    def resizeEvent(self, e) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(e)
        # give the form most of a small screen (1366×768 at 150% is 911 logical pixels wide)
        if not self.eligibility_dock.isHidden() and not self.eligibility_dock.isFloating():
            want = max(220, min(340, self.width() // 4))
            self.resizeDocks([self.eligibility_dock], [want], Qt.Orientation.Horizontal)
        d = self.achievement_dock
        if d is not None and not d.isHidden() and not d.isFloating() and self.eligibility_dock.isHidden():
            # the table and chart need more room than the 自查 list, but not on a small screen
            w = self.width()
            want = min(520, w * 9 // 25) if w >= 1200 else max(260, w * 2 // 7)
            self.resizeDocks([d], [want], Qt.Orientation.Horizontal)

    def closeEvent(self, e: QCloseEvent) -> None:  # noqa: N802 - Qt API
        if self.export_dialog is not None:
            self.export_dialog.stop()  # a running export is cancelled: no thread outlives the window
        self.flush()
        app = QApplication.instance()
        if app is not None:
            try:
                cast(Any, app).focusChanged.disconnect(self._filter_focus)
            except (RuntimeError, TypeError):  # already gone
                pass
        for d in (self.problems_dialog, self.find_dialog):
            if d is not None:
                d.close()
        self.closed.emit(self.session.draft_id)
        super().closeEvent(e)

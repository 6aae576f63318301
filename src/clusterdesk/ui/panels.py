"""Side panels and small dialogs of the draft window: 申报条件自查, 检查全部, 查找栏目, 导出."""

from __future__ import annotations

import threading
from pathlib import Path

from clusterdesk.errors import ClusterDeskError
from clusterdesk.logs import log
from clusterdesk.model.form import FormDef, colon_join
from clusterdesk.model.rules import ConditionResult, Problem
from clusterdesk.service import Retired

from . import style
from .controller import DraftController, SectionProblems
from .qt import (
    QCheckBox,
    QColor,
    QDialog,
    QDialogButtonBox,
    QEvent,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QKeyEvent,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QPlainTextEdit,
    QProgressBar,
    QScrollArea,
    QSize,
    QThread,
    QTimer,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
    Qt,
    Signal,
)

STATUS_COLOR = {"符合": style.OK, "不符合": style.ERROR, "待填写": style.PENDING}


class EligibilityPanel(QWidget):
    """Each 申报条件 with 符合/不符合/待填写 and its numbers; section 八's target rules below."""

    def __init__(self, ctl: DraftController, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctl = ctl
        form = ctl.form
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer.addWidget(scroll)
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.setSpacing(6)
        self.summary = style.label("", "label")
        lay.addWidget(self.summary)
        if form.form.eligibility_title:
            lay.addWidget(style.label(form.form.eligibility_title, "help"))
        self.rows: dict[str, tuple[QLabel, QLabel]] = {}
        for cond in form.form.eligibility:
            head = QLabel()
            head.setWordWrap(True)
            head.setTextFormat(Qt.TextFormat.RichText)
            detail = style.label("", "help")
            lay.addWidget(head)
            lay.addWidget(detail)
            self.rows[cond.id] = (head, detail)
        self.target_rows: dict[str, QLabel] = {}
        t = form.form.targets
        if t:
            sec = form.section_of(t.table)
            lay.addSpacing(8)
            lay.addWidget(style.label(f"{sec.title} · 发展目标要求", "label"))
            lay.addWidget(style.label(t.note, "help"))
            for rule in t.rules:
                lab = QLabel()
                lab.setWordWrap(True)
                lab.setTextFormat(Qt.TextFormat.RichText)
                lay.addWidget(lab)
                self.target_rows[rule.id] = lab
        lay.addStretch(1)
        scroll.setWidget(body)
        self.results: list[ConditionResult] = []
        self.refresh()

    def refresh(self) -> None:
        s = self.ctl.session
        self.results = s.eligibility()
        counts = {"符合": 0, "不符合": 0, "待填写": 0}
        for r in self.results:
            counts[r.status] += 1
            head, detail = self.rows[r.condition.id]
            color = STATUS_COLOR[r.status]
            head.setText(f'<span style="color:{color}; font-weight:bold">［{r.status}］</span> {_esc(r.condition.text)}')
            head.setAccessibleName(f"{r.status} {r.condition.text}")
            detail.setText("\n".join(colon_join(_short(o.where), o.text) for o in r.outcomes))
        self.summary.setText(f"申报条件自查：符合 {counts['符合']} 项，不符合 {counts['不符合']} 项，待填写 {counts['待填写']} 项")
        for tr in s.targets():
            lab = self.target_rows.get(tr.rule.id)
            if lab is None:
                continue
            status = "待填写" if tr.ok is None else ("符合" if tr.ok else "不符合")
            color = STATUS_COLOR[status]
            lab.setText(f'<span style="color:{color}; font-weight:bold">［{status}］</span> {_esc(tr.rule.text)}'
                        f'<br><span style="color:{style.GREY}">{_esc(tr.text)}</span>')

    def status_of(self, condition_id: str) -> str:
        for r in self.results:
            if r.condition.id == condition_id:
                return r.status
        raise KeyError(condition_id)


class RetiredPanel(QWidget):
    """旧版本内容: values of fields an earlier version of the form had and this one has not. Kept
    in the draft, never dropped; shown read-only so the user can copy what they need into the
    new fields (the text can be selected and copied)."""

    def __init__(self, ctl: DraftController):
        super().__init__()
        self.ctl = ctl
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        self.intro = style.label("以下内容填写于表单的旧版本，新版本中已没有对应的栏目。内容已保留在草稿中，"
                                 "可选中后复制到新的栏目；数据包会带上它们，打印版和可编辑版不含这些内容。", "help")
        lay.addWidget(self.intro)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setAccessibleName("旧版本内容")
        lay.addWidget(self.text, 1)
        self.items: list[Retired] = []
        self.refresh()

    def refresh(self) -> None:
        self.items = self.ctl.session.retired()
        blocks = []
        for r in self.items:
            head = f"【{r.label}】" + (f"（版本 {r.version}）" if r.version is not None else "")
            lines = [head, r.text or "（无填写内容）"]
            if r.note:
                lines.append(f"说明：{r.note}")
            if r.files:
                lines.append("佐证材料：" + "、".join(r.files))
            blocks.append("\n".join(lines))
        self.text.setPlainText("\n\n".join(blocks))


def _short(where: str) -> str:
    """``二、主导产业情况 · 集群总产值（亿元） 2021年`` → ``集群总产值（亿元） 2021年``."""
    return where.split(" · ", 1)[1] if " · " in where else where


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class ProblemsDialog(QDialog):
    """检查全部: the problems grouped by section with counts; a section not yet started is one
    line (三、创新能力情况：未开始（12项必填）). Clicking a line jumps to its field."""

    jump = Signal(str)

    def __init__(self, groups: list[SectionProblems], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("检查全部")
        self.resize(760, 480)
        lay = QVBoxLayout(self)
        errors = sum(g.errors for g in groups)
        warnings = sum(g.warnings for g in groups)
        idle = sum(1 for g in groups if g.state == "not_started")
        if groups:
            head = f"共发现 {errors} 个错误（导出正式版前必须改正）、{warnings} 个提醒"
            head += f"；{idle} 个部分尚未开始填写" if idle else ""
            head += "。单击一条即可跳到对应栏目。"
        else:
            head = "未发现问题。"
        self.summary = style.label(head)
        lay.addWidget(self.summary)
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setWordWrap(True)
        self.tree.setAccessibleName("检查结果")
        for g in groups:
            if g.state == "not_started":
                text = f"{g.title}：未开始（{g.missing}项必填）"
            else:
                counts = [f"{n} 个{what}" for n, what in ((g.errors, "错误"), (g.warnings, "提醒")) if n]
                text = f"{g.title}　{'，'.join(counts)}"
            top = QTreeWidgetItem([text])
            top.setData(0, Qt.ItemDataRole.UserRole, g.first_key)
            font = top.font(0)
            font.setBold(g.state != "not_started")
            top.setFont(0, font)
            if g.state == "not_started":
                top.setForeground(0, QColor(style.PENDING))
            self.tree.addTopLevelItem(top)
            for p in g.problems:
                mark = "✖ 错误" if p.level == "error" else "⚠ 提醒"
                it = QTreeWidgetItem([f"{mark}　{_short(p.where)}：{p.message}"])
                it.setData(0, Qt.ItemDataRole.UserRole, p.key)
                it.setForeground(0, style_color(p.level))
                it.setToolTip(0, str(p))
                top.addChild(it)
        self.tree.expandAll()
        self.tree.itemClicked.connect(self._go)
        self.tree.itemActivated.connect(self._go)
        lay.addWidget(self.tree, 1)
        bb = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        bb.button(QDialogButtonBox.StandardButton.Close).setText("关闭")
        bb.rejected.connect(self.reject)
        lay.addWidget(bb)

    def lines(self) -> list[str]:
        """Every line as shown, sections and their problems in order (for tests and screen readers)."""
        out = []
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            if top is None:
                continue
            out.append(top.text(0))
            out += [child.text(0) for j in range(top.childCount()) if (child := top.child(j)) is not None]
        return out

    def _go(self, item: QTreeWidgetItem) -> None:
        key = item.data(0, Qt.ItemDataRole.UserRole)
        if key:
            self.jump.emit(key)


def style_color(level: str):
    from .qt import QColor

    return QColor(style.ERROR if level == "error" else style.WARNING)


class FindDialog(QDialog):
    """Ctrl+F: type part of a label; the list shows matching fields; Enter jumps and focuses."""

    jump = Signal(str)

    def __init__(self, form: FormDef, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("查找栏目")
        self.resize(640, 420)
        self.entries: list[tuple[str, str]] = []  # (shown text, cell key)
        for s in form.sections:
            for f in s.fields():
                first = form.cells_of(f"{s.id}.{f.id}")[0].key
                self.entries.append((f"{f.label}　—　{s.title}", first))
        lay = QVBoxLayout(self)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("输入栏目名称中的字词，例如：研发")
        self.filter.setAccessibleName("查找栏目")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._refilter)
        self.filter.installEventFilter(self)
        lay.addWidget(self.filter)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.itemActivated.connect(self._go)
        self.list.itemDoubleClicked.connect(self._go)
        lay.addWidget(self.list, 1)
        self.count_label = style.label("", "help")
        lay.addWidget(self.count_label)
        self._refilter("")

    def _refilter(self, text: str) -> None:
        words = text.split()
        self.list.clear()
        for shown, key in self.entries:
            if all(w.lower() in shown.lower() for w in words):
                it = QListWidgetItem(shown)
                it.setData(Qt.ItemDataRole.UserRole, key)
                self.list.addItem(it)
        if self.list.count():
            self.list.setCurrentRow(0)
        self.count_label.setText(f"找到 {self.list.count()} 个栏目；按 Enter 跳转，↑↓ 选择")

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if obj is self.filter and event.type() == QEvent.Type.KeyPress:
            ke: QKeyEvent = event
            if ke.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                it = self.list.currentItem()
                if it is not None:
                    self._go(it)
                return True
            if ke.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                r = self.list.currentRow() + (1 if ke.key() == Qt.Key.Key_Down else -1)
                if 0 <= r < self.list.count():
                    self.list.setCurrentRow(r)
                return True
        return super().eventFilter(obj, event)

    def _go(self, item: QListWidgetItem) -> None:
        key = item.data(Qt.ItemDataRole.UserRole)
        self.hide()
        self.jump.emit(key)

    def open_fresh(self) -> None:
        self.filter.clear()
        self.show()
        self.raise_()
        self.activateWindow()
        self.filter.setFocus()


def load_exporter():
    """The export function (``export_answers``), if that part of the program is installed."""
    try:
        from clusterdesk.export.api import export_answers
    except ImportError:
        return None
    return export_answers


class _ExportWorker(QThread):
    """Runs one export off the GUI thread; reports the result or the exception."""

    done = Signal(object)
    failed = Signal(object)

    def __init__(self, job, parent=None):
        super().__init__(parent)
        self.job = job

    def run(self) -> None:  # noqa: D102 - Qt API
        try:
            result = self.job()
        except BaseException as e:  # noqa: BLE001 - every failure is reported to the dialog
            if not isinstance(e, (ClusterDeskError, OSError)):
                log.error("export job failed", exc_info=e)  # a bug: its traceback in the log
            self.failed.emit(e)
            return
        self.done.emit(result)


class ExportDialog(QDialog):
    """导出: the folder (the last one used; the user's Documents at first), what to write, a
    progress bar with 取消 while the files and the PDF are made (LibreOffice runs in a worker
    thread; 取消 stops it and the export leaves no file behind), and 打开文件夹 when done."""

    FOLDER_KIND = "export"

    def __init__(self, ctl: DraftController, parent: QWidget | None = None):
        super().__init__(parent)
        from . import winstate

        self.ctl = ctl
        self.setWindowTitle("导出申报材料")
        self.exporter = load_exporter()
        self.worker: _ExportWorker | None = None
        self.export_result: object = None  # not `result`: that would hide QDialog.result()
        self.result_paths: list = []
        self.folder_path: Path | None = None
        self._cancel = threading.Event()
        self._started = 0.0
        self._busy = False
        self._pdf_available = True
        lay = QVBoxLayout(self)
        self.message = style.label("")
        self.message.setObjectName("exportMessage")
        lay.addWidget(self.message)
        bb = QDialogButtonBox()
        if self.exporter is None:
            self.message.setText("导出功能（Word 可编辑版、盖章用 PDF）正在开发中，即将在新版本中提供。\n"
                                 "您填写的内容已全部保存在本机，届时可直接导出。")
            close = bb.addButton("关闭", QDialogButtonBox.ButtonRole.RejectRole)
            close.clicked.connect(self.reject)
            lay.addWidget(bb)
            return
        from clusterdesk.export.pdf import find_soffice

        self.message.setText(f"将{ctl.form.form.short_title}导出为 Word 打印版、可编辑版和 Excel 清单（及 PDF），"
                             "保存到所选文件夹。")
        row = QHBoxLayout()
        row.addWidget(style.label("保存位置：", "label", wrap=False))
        self.folder = QLineEdit(str(winstate.last_folder(self, self.FOLDER_KIND)))
        self.folder.setAccessibleName("保存位置")
        self.browse_button = QPushButton("浏览…")
        self.browse_button.setToolTip("选择保存导出文件的文件夹")
        self.browse_button.setAutoDefault(False)  # Enter in the folder field exports, it does not browse
        self.browse_button.clicked.connect(self._browse)
        row.addWidget(self.folder, 1)
        row.addWidget(self.browse_button)
        lay.addLayout(row)
        self.pdf = QCheckBox("同时生成 PDF（用于打印、盖章）")
        self.pdf.setChecked(True)
        if find_soffice() is None:
            self._pdf_available = False
            self.pdf.setChecked(False)
            self.pdf.setEnabled(False)
            self.pdf.setToolTip("未找到 LibreOffice，无法生成 PDF；可用 Word 或 WPS 打开打印版另存为 PDF")
        self.draft_copy = QCheckBox("草稿（带“草稿”字样，存在错误时也可导出）")
        lay.addWidget(self.pdf)
        lay.addWidget(self.draft_copy)
        self.progress = QProgressBar()
        self.progress.setObjectName("exportProgress")
        self.progress.setRange(0, 0)  # LibreOffice does not say how far it is: a busy bar
        self.progress.setTextVisible(False)
        self.progress.hide()
        lay.addWidget(self.progress)
        self.status = style.label("", "help")
        self.status.setObjectName("exportStatus")
        lay.addWidget(self.status)
        self.export_button = bb.addButton("导出", QDialogButtonBox.ButtonRole.ActionRole)
        self.export_button.setDefault(True)
        self.export_button.setToolTip(style.with_keys("开始导出", "Enter"))
        self.open_folder_button = bb.addButton("打开文件夹", QDialogButtonBox.ButtonRole.ActionRole)
        self.open_folder_button.setToolTip("在文件管理器中打开导出的文件所在的文件夹")
        self.open_folder_button.hide()
        self.cancel_button = bb.addButton("取消", QDialogButtonBox.ButtonRole.RejectRole)
        self.cancel_button.setToolTip(style.with_keys("关闭；导出进行中时停止导出，不留下任何文件", "Esc"))
        self.export_button.clicked.connect(self._export)
        self.open_folder_button.clicked.connect(self.open_folder)
        self.cancel_button.clicked.connect(self.reject)
        lay.addWidget(bb)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._show_elapsed)
        winstate.place(self, "export", QSize(600, 260))

    # -- choosing -------------------------------------------------------------------------
    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "选择保存位置", self.folder.text().strip())
        if d:
            self.folder.setText(d)

    def running(self) -> bool:
        """From 导出 until the dialog has shown the outcome (the worker may have ended a moment before)."""
        return self._busy

    # -- exporting ------------------------------------------------------------------------
    def _export(self, overwrite: bool = False) -> bool:
        """Start the export in the worker thread; False if it could not start. ``overwrite``: the
        user agreed to replace files another draft exported into the folder."""
        import time
        from pathlib import Path

        from clusterdesk.service import load_answers

        if self.running():
            return False
        folder = self.folder.text().strip()
        if not folder or not Path(folder).is_dir():
            self.message.setText("请先选择一个已存在的保存位置。")
            return False
        s = self.ctl.session
        form, answers = load_answers(s.store, s.draft_id, s.catalog)  # read here: the worker never touches the store
        evidence, title = s.evidence(), s.info.title
        pdf, draft_copy = self.pdf.isChecked(), self.draft_copy.isChecked()
        self._cancel.clear()
        self.folder_path = Path(folder)
        exporter, cancel = self.exporter, self._cancel.is_set
        owner, with_year = s.info.uuid, s.catalog.shares_title(form)

        def job():
            return exporter(form, answers, evidence, title, Path(folder), pdf=pdf, draft_copy=draft_copy,
                            cancel=cancel, owner=owner, with_year=with_year, overwrite=overwrite)

        self.worker = _ExportWorker(job, self)
        self.worker.done.connect(self._done)
        self.worker.failed.connect(self._failed)
        self.worker.finished.connect(self._stopped)
        self._busy = True
        self._set_running(True)
        self.message.setText("正在导出 Word 打印版、可编辑版和 Excel 清单" + ("，并用 LibreOffice 生成 PDF" if pdf else "")
                             + "……")
        self._started = time.monotonic()
        self._show_elapsed()
        self._tick.start()
        self.worker.start()
        return True

    def _set_running(self, on: bool) -> None:
        self.progress.setVisible(on)
        for w in (self.export_button, self.browse_button, self.folder, self.pdf, self.draft_copy):
            w.setEnabled(not on and (w is not self.pdf or self._pdf_available))
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("取消导出" if on else "关闭")
        if on:
            self.open_folder_button.hide()
            self.cancel_button.setFocus()

    def _show_elapsed(self) -> None:
        import time

        secs = int(time.monotonic() - self._started)
        hint = "（生成 PDF 通常需要 10 到 30 秒）" if self.pdf.isChecked() else ""
        self.status.setText(f"已用 {secs} 秒{hint}。点“取消导出”可随时停止，不会留下文件。")

    def cancel_export(self) -> bool:
        """Ask the running export to stop (LibreOffice is killed, written files removed)."""
        if not self.running():
            return False
        self._cancel.set()
        self.cancel_button.setEnabled(False)
        self.status.setText("正在取消……")
        return True

    def reject(self) -> None:  # noqa: D102 - Qt API: 取消 / Esc / the close button
        if self.running():
            self.cancel_export()
            return  # the worker stops within a fraction of a second; the dialog stays to say so
        super().reject()

    def stop(self, wait_ms: int = 30000) -> None:
        """Cancel and wait for the worker (the window is closing)."""
        if self.worker is not None and self.worker.isRunning():
            self._cancel.set()
            self.worker.wait(wait_ms)

    def _stopped(self) -> None:
        self._busy = False
        self._tick.stop()
        self._set_running(False)
        if getattr(self, "_retry_overwrite", False):
            self._retry_overwrite = False
            self._export(overwrite=True)
            return
        if self.open_folder_button.isHidden():
            self.export_button.setFocus()  # cancelled or failed: Enter tries again

    def _done(self, result) -> None:
        from pathlib import Path

        from . import winstate

        self.export_result = result
        files = getattr(result, "files", result)
        self.result_paths = list(files) if isinstance(files, (list, tuple)) else [files]
        notes = list(getattr(result, "messages", []) or [])
        self.message.setText("已导出：\n" + "\n".join(Path(p).name for p in self.result_paths)
                             + ("\n" + "\n".join(notes) if notes else "")
                             + f"\n保存位置：{self.folder_path}")
        self.status.setText("")
        if self.folder_path is not None:
            winstate.remember_folder(self, self.FOLDER_KIND, self.folder_path)
        self.open_folder_button.show()
        self.open_folder_button.setDefault(True)
        self.open_folder_button.setFocus()

    def _failed(self, e: BaseException) -> None:
        from clusterdesk.export.pdf import ExportCancelled

        self.status.setText("")
        if isinstance(e, ExportCancelled):
            self.message.setText(str(e))
            return
        from clusterdesk.export.api import ExportConflict, owner_title

        if isinstance(e, ExportConflict):
            s = self.ctl.session
            e.owner_title = owner_title(s.store, e.owner, s.catalog)
            self.message.setText(e.text() + "。")
            self._retry_overwrite = self.confirm_overwrite(e)  # started again once this run has ended
            return
        problems = getattr(e, "problems", None)
        if problems is not None:
            self.message.setText(f"存在 {len(problems)} 个错误，不能导出正式材料。请点“检查全部”逐项修改，"
                                 "或勾选“草稿”先导出草稿。")
        elif isinstance(e, Exception):
            self.message.setText(f"导出失败：{e}")
        else:
            raise e

    def confirm_overwrite(self, e) -> bool:
        """Ask before replacing files another draft exported into the folder (No by default)."""
        answer = QMessageBox.question(
            self, "覆盖其他草稿的文件？", f"{e.text()}。\n\n是否覆盖这些文件？",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def open_folder(self) -> bool:
        from .opener import open_or_explain

        if self.folder_path is None:
            return False
        return open_or_explain(self, self.folder_path, title="无法打开文件夹")

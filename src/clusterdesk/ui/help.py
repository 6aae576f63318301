"""The 用户指南 window: docs/用户指南.md rendered from the program's own folder (works offline and
inside the PyInstaller bundle), with its screenshots, and a contents list of its headings.

Entry point for the menus: :func:`show_user_guide`.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from clusterdesk.paths import app_root

from . import qt, style, winstate
from .qt import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPixmap,
    QSize,
    QSplitter,
    QTextCursor,
    QTextEdit,
    QTimer,
    QUrl,
    QVBoxLayout,
    QWidget,
    Qt,
)

GUIDE_NAME = "用户指南.md"
TITLE = "集群申报助手 · 用户指南"

# QTextBrowser (links, history) once ui/qt.py exports it; a read-only QTextEdit renders the same.
_Browser = getattr(qt, "QTextBrowser", None) or QTextEdit


class _GuideBrowser(_Browser):  # type: ignore[misc, valid-type]  # _Browser is chosen at import time (QTextBrowser or a stand-in)
    """Tells its dialog when the text width changes, so the screenshots can be refitted."""

    def __init__(self, on_resize):
        super().__init__()
        self._on_resize = on_resize

    def resizeEvent(self, e) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(e)
        self._on_resize()


def guide_path() -> Path:
    return app_root() / "docs" / GUIDE_NAME


class UserGuideDialog(QDialog):
    """Non-modal: the guide can stay open beside the form being filled."""

    def __init__(self, parent: QWidget | None = None, path: Path | None = None):
        super().__init__(parent)
        self.path = path or guide_path()
        self.setWindowTitle(TITLE)
        self.setWindowIcon(style.app_icon())
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        winstate.place(self, "guide", QSize(1100, 760))
        self._images: dict[str, tuple[int, int]] = {}  # image name → natural size
        self._fitted_to = -1  # the text width the images were last scaled to
        self._base_html = ""
        self._fit_timer = QTimer(self)
        self._fit_timer.setSingleShot(True)
        self._fit_timer.setInterval(150)
        self._fit_timer.timeout.connect(self._fit_images)

        self.contents = QListWidget()
        self.contents.setAccessibleName("目录")
        self.contents.setWordWrap(True)
        self.contents.itemClicked.connect(self._go_to_item)
        self.contents.currentItemChanged.connect(lambda item, _old: self._go_to_item(item))

        self.browser = _GuideBrowser(self._schedule_fit)
        self.browser.setReadOnly(True)
        self.browser.setAccessibleName("用户指南")
        if hasattr(self.browser, "setOpenExternalLinks"):
            self.browser.setOpenExternalLinks(True)
        else:
            self.browser.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)

        split = QSplitter()
        split.addWidget(self.contents)
        split.addWidget(self.browser)
        split.setStretchFactor(1, 1)
        split.setSizes([230, 870])

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText("关闭")
        buttons.rejected.connect(self.reject)

        lay = QVBoxLayout(self)
        lay.addWidget(split, 1)
        bottom = QHBoxLayout()
        self.where = style.label(f"文件：{self.path}", "help")
        bottom.addWidget(self.where, 1)
        bottom.addWidget(buttons)
        lay.addLayout(bottom)
        self.load()

    # -- content --
    def load(self) -> bool:
        """Render the guide; False (with a message in the window) if the file is missing."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError:
            self.browser.setMarkdown(
                f"# 找不到用户指南\n\n程序文件夹中缺少文件：\n\n`{self.path}`\n\n"
                "请重新复制完整的程序文件夹。")
            self.contents.clear()
            return False
        doc = self.browser.document()
        # Relative image links (images/xxx.png) resolve against the guide's own folder.
        doc.setBaseUrl(QUrl.fromLocalFile(str(self.path.parent) + "/"))
        self.browser.setMarkdown(text)
        self._base_html = self.browser.toHtml()
        self._collect_images()
        self._fitted_to = -1
        self._fit_images()
        self._fill_contents()
        return True

    def headings(self) -> list[tuple[int, str]]:
        """(level, text) of the guide's headings, in order."""
        out = []
        block = self.browser.document().begin()
        while block.isValid():
            level = block.blockFormat().headingLevel()
            if level:
                out.append((level, block.text()))
            block = block.next()
        return out

    def _fill_contents(self) -> None:
        self.contents.clear()
        block = self.browser.document().begin()
        while block.isValid():
            level = block.blockFormat().headingLevel()
            if 1 <= level <= 3:
                item = QListWidgetItem(("    " * max(0, level - 2)) + block.text())
                item.setData(Qt.ItemDataRole.UserRole, block.position())
                if level <= 2:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.contents.addItem(item)
            block = block.next()

    def _go_to_item(self, item: QListWidgetItem | None) -> None:
        if item is not None:
            self.scroll_to(int(item.data(Qt.ItemDataRole.UserRole)))

    def scroll_to(self, position: int) -> None:
        """Bring the block at ``position`` to the top of the view."""
        doc = self.browser.document()
        doc.documentLayout().documentSize()  # finishes Qt's lazy layout: block positions are final
        end = QTextCursor(doc)
        end.movePosition(QTextCursor.MoveOperation.End)
        self.browser.setTextCursor(end)  # from below, ensureCursorVisible stops with the line on top
        self.browser.ensureCursorVisible()
        self.browser.setTextCursor(QTextCursor(doc.findBlock(position)))
        self.browser.ensureCursorVisible()

    def _image_fragments(self):
        block = self.browser.document().begin()
        while block.isValid():
            it = block.begin()
            while not it.atEnd():
                frag = it.fragment()
                if frag.isValid() and frag.charFormat().isImageFormat():
                    yield frag
                it += 1
            block = block.next()

    def _collect_images(self) -> None:
        self._images.clear()
        for frag in self._image_fragments():
            name = frag.charFormat().toImageFormat().name()
            pm = QPixmap(str(self.path.parent / name))
            if not pm.isNull():
                self._images[name] = (pm.width(), pm.height())

    def _fit_images(self) -> None:
        """Screenshots are wider than the window: scale each down to the text width (never up).

        The sizes go into the HTML and the document is set again; changing the image formats of
        a laid-out QTextDocument in place leaves the following blocks with stale positions.
        """
        if not self._images or not self._base_html:
            return
        avail = max(200, self.browser.viewport().width() - 40)
        if abs(avail - self._fitted_to) < 8:
            return
        self._fitted_to = avail
        bar = self.browser.verticalScrollBar()
        where = bar.value() / bar.maximum() if bar.maximum() else 0.0

        def sized(m: re.Match[str]) -> str:
            w, h = self._images.get(html.unescape(m.group(1)), (0, 0))
            if not w:
                return m.group(0)
            scale = min(1.0, avail / w)
            return f'<img src="{m.group(1)}" width="{round(w * scale)}" height="{round(h * scale)}"'

        self.browser.setHtml(_IMG.sub(sized, self._base_html))
        bar.setValue(round(where * bar.maximum()))

    def _schedule_fit(self) -> None:
        self._fit_timer.start()

    def showEvent(self, e) -> None:  # noqa: N802 - Qt API
        super().showEvent(e)
        self._fit_images()  # the real text width is known now; no 150 ms of tiny pictures


_IMG = re.compile(r'<img src="([^"]*)"')

_open: list[UserGuideDialog] = []


def show_user_guide(parent: QWidget | None = None) -> UserGuideDialog:
    """Open (or bring to the front) the user guide window; returns it."""
    for dlg in list(_open):
        try:
            visible = dlg.isVisible()
        except RuntimeError:  # deleted with the window it was opened from
            _open.remove(dlg)
            continue
        if visible:
            dlg.raise_()
            dlg.activateWindow()
            return dlg
    dlg = UserGuideDialog(parent)
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    _open.append(dlg)
    dlg.finished.connect(lambda _r: _open.remove(dlg) if dlg in _open else None)
    winstate.show_window(dlg)
    return dlg

"""The 用户指南 window: docs/用户指南.md rendered from the program's own folder (works offline and
inside the PyInstaller bundle), with its screenshots, and a contents list of its headings.

Entry point for the menus: :func:`show_user_guide`.
"""

from __future__ import annotations

from pathlib import Path

from clusterdesk.paths import app_root

from . import qt, style
from .qt import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPixmap,
    QSplitter,
    QTextCursor,
    QTextEdit,
    QUrl,
    QVBoxLayout,
    QWidget,
    Qt,
)

GUIDE_NAME = "用户指南.md"
TITLE = "集群申报助手 · 用户指南"

# QTextBrowser (links, history) once ui/qt.py exports it; a read-only QTextEdit renders the same.
_Browser = getattr(qt, "QTextBrowser", None) or QTextEdit


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
        self.resize(1100, 760)
        self._images: dict[str, tuple[int, int]] = {}  # image name → natural size

        self.contents = QListWidget()
        self.contents.setAccessibleName("目录")
        self.contents.setWordWrap(True)
        self.contents.itemClicked.connect(self._go_to_item)
        self.contents.currentItemChanged.connect(lambda item, _old: self._go_to_item(item))

        self.browser = _Browser()
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
        self._collect_images()
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
        doc = self.browser.document()
        block = doc.findBlock(position)
        self.browser.setTextCursor(QTextCursor(block))
        top = doc.documentLayout().blockBoundingRect(block).top()
        self.browser.verticalScrollBar().setValue(int(top))

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
        """Screenshots are wider than the window: scale each down to the text width (never up)."""
        avail = max(200, self.browser.viewport().width() - 40)
        cursor = QTextCursor(self.browser.document())
        for frag in list(self._image_fragments()):
            fmt = frag.charFormat().toImageFormat()
            size = self._images.get(fmt.name())
            if not size:
                continue
            w, h = size
            scale = min(1.0, avail / w)
            fmt.setWidth(w * scale)
            fmt.setHeight(h * scale)
            cursor.setPosition(frag.position())
            cursor.setPosition(frag.position() + frag.length(), QTextCursor.MoveMode.KeepAnchor)
            cursor.setCharFormat(fmt)

    def resizeEvent(self, e) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(e)
        if self._images:
            self._fit_images()


_open: list[UserGuideDialog] = []


def show_user_guide(parent: QWidget | None = None) -> UserGuideDialog:
    """Open (or bring to the front) the user guide window; returns it."""
    for dlg in _open:
        if dlg.isVisible():
            dlg.raise_()
            dlg.activateWindow()
            return dlg
    dlg = UserGuideDialog(parent)
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    _open.append(dlg)
    dlg.finished.connect(lambda _r: _open.remove(dlg) if dlg in _open else None)
    dlg.show()
    return dlg

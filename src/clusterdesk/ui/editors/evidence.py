"""The evidence (佐证材料) panel of a field or a ticked option: add, open, remove files."""

from __future__ import annotations

from typing import Iterable

from clusterdesk.model.schema import EVIDENCE_GENERAL
from clusterdesk.service import StoreError

from .. import style
from ..controller import DraftController
from ..qt import QFileDialog, QHBoxLayout, QLabel, QMessageBox, QPushButton, QSizePolicy, QWidget, Qt
from .base import esc


class EvidencePanel(QWidget):
    """添加佐证材料 button, the files added (open / remove), and a mark while there are none."""

    def __init__(self, ctl: DraftController, key: str, option: str, what: str):
        super().__init__()
        self.ctl = ctl
        self.key = key
        self.option = option
        self.what = what
        lay = QHBoxLayout(self)
        lay.setContentsMargins(24, 0, 0, 2)
        lay.setSpacing(6)
        self.add_button = QPushButton("添加佐证材料")
        self.add_button.setAccessibleName(f"为“{option if option != EVIDENCE_GENERAL else what}”添加佐证材料")
        self.add_button.clicked.connect(self.pick_files)
        lay.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignTop)
        self.missing = style.label("⚠ 未添加佐证材料", "missing-evidence", wrap=False)
        lay.addWidget(self.missing, 0, Qt.AlignmentFlag.AlignVCenter)
        # the files as links that wrap in a narrow window: 文件名 移除
        self.files_label = QLabel()
        self.files_label.setWordWrap(True)
        self.files_label.setTextFormat(Qt.TextFormat.RichText)
        self.files_label.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse
                                                 | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
        self.files_label.linkActivated.connect(self._on_link)
        self.files_label.setAccessibleName(f"{option if option != EVIDENCE_GENERAL else what}的佐证材料")
        self.files_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.files_label.setMinimumWidth(60)
        lay.addWidget(self.files_label, 1)
        self.reload()

    def items(self):
        return self.ctl.session.evidence(self.key, self.option)

    def reload(self) -> None:
        items = self.items()
        self._names = {e.id: e.filename for e in items}
        parts = [f'<a href="open:{e.id}">{esc(e.filename)}</a>&nbsp;'
                 f'<a href="remove:{e.id}" style="color:{style.GREY}">移除</a>' for e in items]
        self.files_label.setText("<br>".join(parts))
        self.files_label.setToolTip("单击文件名打开；“移除”删除这份佐证材料" if items else "")
        self.files_label.setVisible(bool(items))
        self.missing.setVisible(not items)

    def _on_link(self, link: str) -> None:
        what, _, ident = link.partition(":")
        eid = int(ident)
        if what == "open":
            self.open_file(eid)
        elif what == "remove":
            self.remove_file(eid, self._names.get(eid, ""))

    def filenames(self) -> list[str]:
        return [e.filename for e in self.items()]

    def pick_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "选择佐证材料", "", "所有文件 (*)")
        self.add_files(paths)

    def add_files(self, paths: Iterable[str]) -> None:
        from pathlib import Path

        for p in paths:
            try:
                self.ctl.add_evidence(self.key, self.option, Path(p))
            except StoreError as e:
                QMessageBox.warning(self, "无法添加佐证材料", str(e))
        self.reload()

    def open_file(self, evidence_id: int) -> None:
        try:
            path = self.ctl.export_evidence(evidence_id)
        except StoreError as e:
            QMessageBox.warning(self, "无法打开佐证材料", str(e))
            return
        from ..opener import open_or_explain

        open_or_explain(self, path, title="无法打开佐证材料")

    def remove_file(self, evidence_id: int, name: str) -> None:
        answer = QMessageBox.question(self, "移除佐证材料", f"确定移除佐证材料“{name}”吗？")
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            self.ctl.remove_evidence(evidence_id, self.key)
        except StoreError as e:
            QMessageBox.warning(self, "无法移除佐证材料", str(e))
        self.reload()

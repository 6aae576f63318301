"""The editor of boxes: several options ticked (■ / □), each with its evidence."""

from __future__ import annotations

from clusterdesk.model.schema import Field, Section

from ..controller import DraftController
from ..qt import QCheckBox, QHBoxLayout, QSignalBlocker, QWidget, Qt
from .base import FieldEditor
from .evidence import EvidencePanel
from .inputs import ClickLabel


class BoxesEditor(FieldEditor):
    def __init__(self, ctl: DraftController, section: Section, field: Field):
        super().__init__(ctl, section, [field])
        self.field = field
        self.key = f"{section.id}.{field.id}"
        lay = self._body(field)
        self.boxes: dict[str, QCheckBox] = {}
        self.panels: dict[str, EvidencePanel] = {}
        for opt in field.options:
            row = QHBoxLayout()
            cb = QCheckBox()
            cb.setAccessibleName(f"{field.label}：{opt}")
            cb.setToolTip(opt)
            cb.toggled.connect(self._on_toggle)
            row.addWidget(cb, 0, Qt.AlignmentFlag.AlignTop)
            row.addWidget(ClickLabel(opt, cb), 1)
            lay.addLayout(row)
            self.boxes[opt] = cb
            if field.evidence == "ticked":
                panel = EvidencePanel(ctl, self.key, opt, field.label)
                lay.addWidget(panel)
                self.panels[opt] = panel
        self._footer(lay, field)
        lay.addWidget(self.problem_label)
        ctl.evidence_changed.connect(self._on_evidence)
        self.reload()

    def ticked(self) -> list[str]:
        return [o for o, cb in self.boxes.items() if cb.isChecked()]

    def _on_toggle(self, _checked: bool) -> None:
        self._commit(self.key, self.ticked() or None)
        self._show_panels()
        self.update_problems()

    def _on_evidence(self, key: str) -> None:
        if key == self.key:
            for p in self.panels.values():
                p.reload()

    def _show_panels(self) -> None:
        for opt, panel in self.panels.items():
            panel.setVisible(self.boxes[opt].isChecked())

    def reload(self, key: str | None = None) -> None:
        v = self.ctl.session.value(self.key) or []
        for opt, cb in self.boxes.items():
            with QSignalBlocker(cb):
                cb.setChecked(opt in v)
        for p in self.panels.values():
            p.reload()
        self._show_panels()
        self.update_problems()

    def focus_widget(self, key: str) -> QWidget | None:
        return next(iter(self.boxes.values()))

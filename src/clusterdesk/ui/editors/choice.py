"""The editor of a choice: one option (radio buttons), its evidence."""

from __future__ import annotations

from clusterdesk.model.schema import Field, Section

from .. import style
from ..controller import DraftController
from ..qt import (
    QButtonGroup,
    QHBoxLayout,
    QRadioButton,
    QSignalBlocker,
    QToolButton,
    QVBoxLayout,
    QWidget,
    Qt,
)
from .base import FieldEditor
from .evidence import EvidencePanel


class ChoiceEditor(FieldEditor):
    def __init__(self, ctl: DraftController, section: Section, field: Field):
        super().__init__(ctl, section, [field])
        self.field = field
        self.key = f"{section.id}.{field.id}"
        lay = self._body(field)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: list[QRadioButton] = []
        horizontal = sum(len(o) for o in field.options) <= 14
        box = QHBoxLayout() if horizontal else QVBoxLayout()
        for i, opt in enumerate(field.options):
            rb = QRadioButton(opt)
            rb.setAccessibleName(f"{field.label}：{opt}")
            self.group.addButton(rb, i)
            self.buttons.append(rb)
            if horizontal:
                box.addWidget(rb)
            else:
                box.addWidget(rb, 0, Qt.AlignmentFlag.AlignLeft)
        self.clear_button = QToolButton()
        self.clear_button.setText("清除选择")
        self.clear_button.setAutoRaise(True)
        self.clear_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.clear_button.setStyleSheet(f"color: {style.GREY}; font-size: 9pt;")
        self.clear_button.clicked.connect(lambda: self._set(None))
        if horizontal:
            box.addSpacing(12)
            box.addWidget(self.clear_button)
            box.addStretch(1)
        else:
            box.addWidget(self.clear_button, 0, Qt.AlignmentFlag.AlignLeft)
        lay.addLayout(box)
        self.group.idClicked.connect(lambda i: self._set(field.options[i]))
        self.evidence: EvidencePanel | None = None
        if field.evidence == "if_yes":
            self.evidence = EvidencePanel(ctl, self.key, "是", field.label)
            lay.addWidget(self.evidence)
        self._footer(lay, field)
        lay.addWidget(self.problem_label)
        self.reload()

    def _set(self, option: str | None) -> None:
        if option == self.ctl.session.value(self.key):
            return
        self._commit(self.key, option)
        self.reload()

    def reload(self, key: str | None = None) -> None:
        v = self.ctl.session.value(self.key)
        self.group.setExclusive(False)
        for opt, rb in zip(self.field.options, self.buttons):
            with QSignalBlocker(rb):
                rb.setChecked(opt == v)
        self.group.setExclusive(True)
        self.clear_button.setVisible(v is not None)
        if self.evidence is not None:
            self.evidence.setVisible(v == "是")
            self.evidence.reload()
        self.update_problems()

    def focus_widget(self, key: str) -> QWidget | None:
        checked = self.group.checkedButton()
        return checked or self.buttons[0]

"""The pinned Qt binding keeps Python's reference counts intact.

PySide6 6.12.0 on Python 3.11 dropped a reference to None on every void call (setText, hide …)
and aborted the interpreter after a few thousand calls ("none_dealloc"). pyproject pins a release
without that bug; this test keeps anyone from moving back to one that has it."""

from __future__ import annotations

import sys

import pytest

pytestmark = pytest.mark.gui


def test_void_calls_keep_none_alive(qtbot):
    from clusterdesk.ui.qt import QCheckBox, QLineEdit

    edit, box = QLineEdit(), QCheckBox()
    qtbot.addWidget(edit)
    qtbot.addWidget(box)
    before = sys.getrefcount(None)
    for i in range(20_000):
        edit.setText("集群")
        edit.setVisible(True)
        box.setChecked(i % 2 == 0)
    assert sys.getrefcount(None) - before > -100  # a buggy binding loses about 60,000 here

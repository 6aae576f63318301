"""The one place the UI imports Qt from (after qutebrowser's ``qt/`` shim and Anki's ``aqt.qt``).

Every other UI module does ``from .qt import ...``; the core (model, store, service) never
imports this module, so it stays usable without PySide6.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import (  # noqa: F401
    QCoreApplication,
    QDateTime,
    QElapsedTimer,
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPoint,
    QRect,
    QRectF,
    QRegularExpression,
    QSize,
    QSignalBlocker,
    QTimer,
    QUrl,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import (  # noqa: F401
    QAction,
    QBrush,
    QCloseEvent,
    QColor,
    QDesktopServices,
    QFocusEvent,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QIcon,
    QInputMethodEvent,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPalette,
    QPen,
    QPixmap,
    QShortcut,
    QTextCharFormat,
    QTextCursor,
    QTextFormat,
    QValidator,
)
from PySide6.QtWidgets import (  # noqa: F401
    QAbstractItemView,
    QApplication,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QStatusBar,
    QStyle,
    QStyledItemDelegate,
    QTableWidget,
    QTableWidgetItem,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

QT_API = "PySide6"


# -- a guard for a PySide6 6.12 reference-count bug on Python 3.11 ---------------------------
#
# Every call of a C++ method that returns void (setText, hide, setChecked, QTest.keyClick …)
# and every QObject.property() that returns None drops one reference to None without having
# taken it. From Python 3.12 None is immortal and this is harmless; on 3.11 the count falls by
# one per call until the interpreter aborts with "none_dealloc" (after a few thousand calls).
# Until the project runs on Python >= 3.12, hold spare references (8 bytes each) and top them
# up well before they run out. True and False lose references the same way (seen as
# "bool_dealloc" at exit) and are covered too.

_LOW_WATER = 300_000
_TOP_UP = 1_000_000


def guard_refcounts() -> None:
    """Top up the spare references to None/True/False when they run low (cheap to call often)."""
    if sys.version_info >= (3, 12):
        return
    for obj in (None, True, False):
        if sys.getrefcount(obj) < _LOW_WATER:
            pad = [obj] * _TOP_UP
            # the pad must outlive interpreter shutdown too: its references make up for ones
            # PySide already dropped, so freeing it at exit would free None itself
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(pad))


guard_refcounts()

"""Fonts, colours and small widget factories shared by the UI modules (no business logic)."""

from __future__ import annotations

from clusterdesk.paths import resources_dir

from .qt import QApplication, QColor, QFont, QIcon, QLabel, QPainter, QPixmap, Qt, QWidget

FONT_FAMILIES = ["Microsoft YaHei", "Noto Sans CJK SC"]  # then the system default

# Calm palette: one accent, red for errors, orange for warnings, green for done.
ACCENT = "#2f6fb3"
ERROR = "#c62828"
WARNING = "#c25e00"
OK = "#2e7d32"
GREY = "#6b6b6b"
PENDING = "#8a8a8a"
OVERFLOW_BG = "#ffd9d6"

STATE_TEXT = {"not_started": "未开始", "in_progress": "填写中", "complete": "已完成", "errors": "有错误"}
STATE_COLOR = {"not_started": PENDING, "in_progress": ACCENT, "complete": OK, "errors": ERROR}

FOCUS = ACCENT
FOCUS_BG = "#e8f0fa"

# Keyboard focus is visible on every control: a 2px accent border (buttons, fields, lists,
# tables) or a tinted box (check boxes, radio buttons). Normal states keep the same outer size
# (1px border + 1px more padding), so nothing moves when focus arrives; lists and tables keep a
# 2px border that turns blue (Qt does not re-measure a scroll area's frame on focus).
FOCUS_STYLES = f"""
QPushButton {{ border: 1px solid #9aa4af; border-radius: 4px; padding: 4px 12px; background: #f7f8fa;
               min-height: 18px; }}
QPushButton:hover {{ background: #eef3f9; border-color: #6f8fb3; }}
QPushButton:pressed {{ background: #dfe8f3; }}
QPushButton:default {{ border-color: {ACCENT}; }}
QPushButton:disabled {{ color: #9a9a9a; background: #f1f2f4; border-color: #d0d5db; }}
QPushButton:focus {{ border: 2px solid {FOCUS}; padding: 3px 11px; background: {FOCUS_BG}; }}
QToolButton:focus {{ border: 2px solid {FOCUS}; border-radius: 3px; background: {FOCUS_BG}; }}
QLineEdit, QPlainTextEdit, QTextEdit {{ border: 1px solid #9aa4af; border-radius: 3px; padding: 3px;
                                       background: white; }}
QLineEdit:focus, QPlainTextEdit:focus, QTextEdit:focus {{ border: 2px solid {FOCUS}; padding: 2px; }}
QLineEdit:disabled {{ background: #f1f2f4; color: #777; }}
QTableView, QListView, QTreeView {{ border: 2px solid #d3d9e1; }}
QTableView:focus, QListView:focus, QTreeView:focus {{ border-color: {FOCUS}; }}
QCheckBox, QRadioButton {{ border: 1px solid transparent; border-radius: 3px; padding: 1px 3px; }}
QCheckBox:focus, QRadioButton:focus {{ border: 1px solid {FOCUS}; background: {FOCUS_BG}; }}
"""

STYLESHEET = FOCUS_STYLES + f"""
QLineEdit, QPlainTextEdit {{ padding: 3px; }}
QLineEdit:focus, QPlainTextEdit:focus {{ padding: 2px; }}
QLineEdit[invalid="true"], QPlainTextEdit[invalid="true"] {{ border: 2px solid {ERROR}; padding: 2px;
                                                            background: #fff5f5; }}
QLineEdit[invalid="true"]:focus, QPlainTextEdit[invalid="true"]:focus {{ border: 3px solid {ERROR}; padding: 1px; }}
QLineEdit[computed="true"] {{ background: #f1f3f6; color: #333; }}
QLabel[role="section-title"] {{ font-size: 15pt; font-weight: bold; color: #1f3b5a; }}
QLabel[role="label"] {{ font-weight: bold; color: #222; }}
QLabel[role="help"] {{ color: {GREY}; font-size: 9pt; }}
QLabel[role="note"] {{ color: #444; }}
QLabel[role="problem-error"] {{ color: {ERROR}; }}
QLabel[role="problem-warning"] {{ color: {WARNING}; }}
QLabel[role="missing-evidence"] {{ color: {WARNING}; font-weight: bold; }}
QLabel[role="counter"] {{ color: {GREY}; }}
QLabel[role="counter-over"] {{ color: {ERROR}; font-weight: bold; }}
QLabel[role="grid-head"] {{ font-weight: bold; background: #eef2f7; padding: 4px; }}
QLabel[role="grid-row"] {{ padding: 4px; }}
QFrame[role="group"] {{ border: 1px solid #d5dbe3; border-radius: 4px; }}
QFrame[role="field"] {{ border: none; }}
QListWidget#sectionList::item {{ padding: 6px 4px; }}
"""


def app_font() -> QFont:
    font = QFont()
    font.setFamilies(FONT_FAMILIES + [QApplication.font().family()])
    font.setPointSize(10)
    return font


def app_icon() -> QIcon:
    path = resources_dir() / "icons" / "app.svg"
    return QIcon(str(path)) if path.exists() else QIcon()


def apply_app_style(app: QApplication) -> None:
    if app.property("clusterdesk-styled"):
        return  # restyling every existing widget again is slow
    app.setProperty("clusterdesk-styled", True)
    app.setFont(app_font())
    app.setStyleSheet(STYLESHEET)
    app.setWindowIcon(app_icon())


def with_keys(tip: str, *keys: str) -> str:
    """A tooltip that names its shortcut(s): ``打开所选草稿（Enter, Ctrl+O）``."""
    from .qt import QKeySequence

    shown = ", ".join(QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) or k for k in keys)
    return f"{tip}（{shown}）" if shown else tip


def set_role(w: QWidget, role: str) -> None:
    """Switch a widget's stylesheet role and re-polish it."""
    if w.property("role") == role:
        return
    w.setProperty("role", role)
    w.style().unpolish(w)
    w.style().polish(w)


def set_flag(w: QWidget, name: str, on: bool) -> None:
    if bool(w.property(name)) == on:
        return
    w.setProperty(name, on)
    w.style().unpolish(w)
    w.style().polish(w)


def label(text: str, role: str | None = None, wrap: bool = True) -> QLabel:
    lab = QLabel(text)
    lab.setWordWrap(wrap)
    lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if role:
        lab.setProperty("role", role)
    return lab


_dot_cache: dict[str, QIcon] = {}


def state_icon(state: str) -> QIcon:
    """A small circle in the state's colour (hollow when not started; no image files needed)."""
    if state not in _dot_cache:
        color = QColor(STATE_COLOR.get(state, PENDING))
        pm = QPixmap(14, 14)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        if state == "not_started":
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(color)
        else:
            p.setBrush(color)
            p.setPen(Qt.PenStyle.NoPen)
        p.drawEllipse(2, 2, 10, 10)
        p.end()
        _dot_cache[state] = QIcon(pm)
    return _dot_cache[state]

"""Where windows open and what they remember: every window opens inside the screen's available
area (a 1366×768 laptop with a taskbar leaves about 1366×728) and reopens at the size and place
the user left it, if that still fits one of the current screens.

Remembered per kind of window (``start``, ``draft``, ``district``, ``guide``, ``about`` …) in the
settings file next to the database (see :mod:`.firstrun`), as::

    "windows": {"district": {"x": 10, "y": 40, "w": 1200, "h": 650,
                             "frame": [1, 30, 1, 1], "maximized": false}, ...}
    "folders": {"export": "/home/…/文档", ...}

``x, y, w, h`` are the inside of the window (what ``setGeometry`` takes); ``frame`` is the window
system's border (left, top, right, bottom) when it was saved, so the whole frame can be checked
against the screen before the geometry is used again.

A window finds its settings file through the ``settings_file`` attribute of itself or of a
parent (the start, draft and district windows carry one); without one it only fits the screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .qt import QEvent, QGuiApplication, QMargins, QObject, QRect, QSize, QStandardPaths, Qt, QTimer, QWidget

# A title bar and borders, until the window system says how big they are.
FRAME_GUESS = QMargins(8, 32, 8, 8)
WINDOWS_KEY = "windows"
FOLDERS_KEY = "folders"
MAXIMIZED_PROPERTY = "cdOpenMaximized"
SLACK = 2


def settings_file_of(w: QWidget | None) -> Path | None:
    """The settings file of ``w`` or of the nearest parent that has one."""
    while w is not None:
        path = getattr(w, "settings_file", None)
        if path:
            return Path(path)
        w = w.parentWidget()
    return None


def _load(path: Path | None) -> dict[str, Any]:
    from .settings import load_settings

    return load_settings(path) if path is not None else {}


def _update(path: Path | None, key: str, name: str, value: Any) -> bool:
    from .settings import load_settings, save_settings

    if path is None:
        return False
    data = load_settings(path)
    section = data.get(key)
    if not isinstance(section, dict):
        section = {}
    section[name] = value
    data[key] = section
    return save_settings(path, data)


# -- folders ----------------------------------------------------------------------------------


def documents_folder() -> Path:
    """The user's Documents folder (文档/我的文档) if it exists, else the home folder."""
    loc = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    if loc and Path(loc).is_dir():
        return Path(loc)
    return Path.home()


def last_folder(w: QWidget | None, kind: str) -> Path:
    """The folder last used for ``kind`` (export, import, package …) if it still exists, else Documents."""
    value = _load(settings_file_of(w)).get(FOLDERS_KEY, {})
    folder = value.get(kind) if isinstance(value, dict) else None
    if isinstance(folder, str) and folder and Path(folder).is_dir():
        return Path(folder)
    return documents_folder()


def remember_folder(w: QWidget | None, kind: str, folder: Path | str) -> bool:
    folder = Path(folder)
    if not folder.is_dir():
        folder = folder.parent
    return _update(settings_file_of(w), FOLDERS_KEY, kind, str(folder))


def remembered(w: QWidget | None, key: str, default: Any = None) -> Any:
    """A small preference stored under ``key`` (e.g. the start list's sort order)."""
    return _load(settings_file_of(w)).get(key, default)


def remember(w: QWidget | None, key: str, value: Any) -> bool:
    from .settings import load_settings, save_settings

    path = settings_file_of(w)
    if path is None:
        return False
    data = load_settings(path)
    data[key] = value
    return save_settings(path, data)


# -- geometry ---------------------------------------------------------------------------------


def available_area(w: QWidget) -> QRect:
    """The available area (without taskbars) of the screen ``w`` is on, or will open on."""
    parent = w.parentWidget()
    screen = None
    if parent is not None and parent.window().isVisible():
        screen = parent.window().screen()
    if screen is None:
        screen = w.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry() if screen is not None else QRect(0, 0, 1366, 728)


def _frame_margins(w: QWidget) -> QMargins:
    """The window system's border around ``w``; a guess before the window was first shown."""
    if not w.testAttribute(Qt.WidgetAttribute.WA_WState_Created):
        return FRAME_GUESS
    fg, g = w.frameGeometry(), w.geometry()
    return QMargins(g.left() - fg.left(), g.top() - fg.top(), fg.right() - g.right(), fg.bottom() - g.bottom())


def _saved_rect(entry: Any) -> tuple[QRect, QMargins] | None:
    if not isinstance(entry, dict):
        return None
    try:
        rect = QRect(int(entry["x"]), int(entry["y"]), int(entry["w"]), int(entry["h"]))
        left, top, right, bottom = (int(v) for v in entry.get("frame", (0, 0, 0, 0)))
    except (KeyError, TypeError, ValueError):
        return None
    if rect.width() < 100 or rect.height() < 60:
        return None
    return rect, QMargins(left, top, right, bottom)


def fits_a_screen(rect: QRect, frame: QMargins) -> bool:
    """Whether the whole frame around ``rect`` lies in the available area of one current screen."""
    outer = rect.marginsAdded(frame)
    return any(s.availableGeometry().contains(outer) for s in QGuiApplication.screens())


def fitted_size(w: QWidget, default: QSize) -> QSize:
    """``default``, made small enough for the window and its frame to fit the available area."""
    avail = available_area(w)
    m = FRAME_GUESS
    return default.boundedTo(QSize(avail.width() - m.left() - m.right(), avail.height() - m.top() - m.bottom()))


def place(w: QWidget, name: str, default: QSize | None, *, center: bool = True,
          maximize_below: int | None = None) -> bool:
    """Size and place a window before it is shown; keep what the user does with it.

    The remembered geometry is used if it still fits a screen; else ``default`` shrunk to the
    available area and (``center``) centred over the parent window, or the screen, with room
    for a title bar (Qt's own centring of dialogs may push the title bar off the screen).
    ``default`` None: Qt's own size for the contents and its own place (small dialogs with
    wrapping text, centred on their parent); nothing is remembered, the frame is only kept
    inside the screen when shown.
    ``maximize_below``: without a remembered size, open maximized on a screen narrower than this.
    Whether to open maximized is kept for :func:`show_window`. Returns True if a remembered
    geometry was used."""
    path = settings_file_of(w) if default is not None else None
    entry = _load(path).get(WINDOWS_KEY, {})
    entry = entry.get(name) if isinstance(entry, dict) else None
    saved = _saved_rect(entry)
    restored = saved is not None and fits_a_screen(*saved)
    if restored:
        assert saved is not None
        w.setGeometry(saved[0])
    elif default is not None:
        size = fitted_size(w, default)
        w.resize(size)
        if center:
            _center(w, size)
    maximized = bool(entry.get("maximized")) if isinstance(entry, dict) else False
    if not isinstance(entry, dict) and maximize_below is not None and available_area(w).width() < maximize_below:
        maximized = True
    w.setProperty(MAXIMIZED_PROPERTY, maximized)  # show_window() honours it
    keeper = _Keeper(w, name if default is not None else None)
    w.setProperty("cdWindowName", name)
    w._cd_keeper = keeper  # type: ignore[attr-defined]  # lives as long as the window
    return restored


def show_window(w: QWidget) -> None:
    """Show a placed window, maximized if it was left maximized (or the screen is small)."""
    if w.property(MAXIMIZED_PROPERTY):
        w.showMaximized()
    else:
        w.show()


def _center(w: QWidget, size: QSize) -> None:
    """Move the frame (estimated) to the middle of the parent window or the screen, inside it."""
    avail = available_area(w)
    m = FRAME_GUESS
    outer = QRect(0, 0, size.width() + m.left() + m.right(), size.height() + m.top() + m.bottom())
    parent_widget = w.parentWidget()
    parent = parent_widget.window() if parent_widget is not None else None
    over = parent.frameGeometry() if parent is not None and parent.isVisible() else avail
    outer.moveCenter(over.center())
    x = min(max(outer.x(), avail.left()), avail.left() + avail.width() - outer.width())
    y = min(max(outer.y(), avail.top()), avail.top() + avail.height() - outer.height())
    w.move(max(x, avail.left()), max(y, avail.top()))


def keep_inside(w: QWidget) -> None:
    """Shrink and move a shown window so that its whole frame lies in the available area."""
    if not w.isVisible() or w.isMaximized() or w.isFullScreen() or w.isMinimized():
        return
    avail = w.screen().availableGeometry() if w.screen() is not None else available_area(w)
    outer = w.frameGeometry()
    if avail.adjusted(-SLACK, -SLACK, SLACK, SLACK).contains(outer):
        return  # a pixel or two over is rounding (fractional scaling), not a window off screen
    m = _frame_margins(w)
    inner = w.geometry().size().boundedTo(QSize(avail.width() - m.left() - m.right(),
                                                avail.height() - m.top() - m.bottom()))
    if inner != w.size():
        w.resize(inner)
    ow, oh = inner.width() + m.left() + m.right(), inner.height() + m.top() + m.bottom()
    x = min(max(outer.x(), avail.left()), avail.left() + avail.width() - ow)
    y = min(max(outer.y(), avail.top()), avail.top() + avail.height() - oh)
    if (x, y) != (outer.x(), outer.y()):
        w.move(x, y)


def save_geometry(w: QWidget, name: str) -> bool:
    """Write the window's normal geometry and whether it is maximized to the settings file."""
    if w.isMinimized():
        return False
    maximized = w.isMaximized()
    rect = w.normalGeometry() if maximized else w.geometry()
    if not rect.isValid() or rect.width() < 100:
        rect = w.geometry()
    m = FRAME_GUESS if maximized else _frame_margins(w)  # a maximized window's border says little
    value = {"x": rect.x(), "y": rect.y(), "w": rect.width(), "h": rect.height(),
             "frame": [m.left(), m.top(), m.right(), m.bottom()], "maximized": maximized}
    return _update(settings_file_of(w), WINDOWS_KEY, name, value)


class _Keeper(QObject):
    """Checks the frame against the screen once shown; saves the geometry when hidden."""

    def __init__(self, w: QWidget, name: str | None):
        super().__init__(w)
        self.w, self.name = w, name
        w.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if obj is self.w:
            t = event.type()
            if t == QEvent.Type.Show:
                keep_inside(self.w)
                for ms in (0, 300):  # the window manager may say how big the frame is only after mapping
                    QTimer.singleShot(ms, self._check)
            elif t == QEvent.Type.Hide and self.name is not None:
                save_geometry(self.w, self.name)
        return False

    def _check(self) -> None:
        try:
            keep_inside(self.w)
        except RuntimeError:  # the window was deleted meanwhile
            pass


__all__ = ["available_area", "documents_folder", "fits_a_screen", "fitted_size", "keep_inside", "last_folder",
           "place", "remember", "remember_folder", "remembered", "save_geometry", "settings_file_of", "show_window"]

"""GUI test fixtures: offscreen Qt on a 1366×768 screen, the system opener recorded, windows that
close after each test."""

from __future__ import annotations

import os
from pathlib import Path

# Before anything loads Qt: offscreen, on the screen of an office laptop. Qt's offscreen screens
# have no taskbar (available area = whole screen), so the screen is the 1366×728 a 1366×768
# display leaves beside a 40-pixel taskbar; window frames get the offscreen plugin's margins.
SCREEN_CONFIG = Path(__file__).resolve().with_name("offscreen-1366x768.json")
os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={SCREEN_CONFIG}"

import pytest  # noqa: E402
from cd_support import DEMO  # noqa: E402

# The root conftest's fixtures (store, catalog, demo_answers) serve these tests too.


class _Opener:
    """Stands in for the system's file opener: records the paths, answers ``result``."""

    def __init__(self, real):
        self.real = real  # the real opener, for the tests of the opener itself
        self.calls: list[Path] = []
        self.result = True

    def __call__(self, path) -> bool:
        self.calls.append(Path(path))
        return self.result


@pytest.fixture(autouse=True)
def system_opener(monkeypatch):
    """No GUI test starts a PDF viewer, Word or a file manager: opener.open_with_system records."""
    from clusterdesk.ui import opener

    fake = _Opener(opener.open_with_system)
    monkeypatch.setattr(opener, "open_with_system", fake)
    return fake


@pytest.fixture()
def app(qapp):
    from clusterdesk.ui.app import ensure_app

    return ensure_app()


@pytest.fixture()
def cq_form():
    from clusterdesk.model.form import default_catalog

    return default_catalog().get("cq-2024-application")


@pytest.fixture()
def open_window(app, qtbot, store):
    """open_window(draft_id) → a shown, active DraftWindow; closed after the test."""
    from clusterdesk.ui.draft_window import DraftWindow
    from clusterdesk.ui.qt import QApplication

    made = []

    def _open(draft_id: int, **kw):
        w = DraftWindow(store, draft_id, **kw)
        w.resize(1366, 768)
        w.show()
        qtbot.waitExposed(w)
        w.activateWindow()
        qtbot.waitUntil(w.isActiveWindow)
        made.append(w)
        return w

    yield _open
    for w in made:
        if w.isVisible():
            w.close()
        w.deleteLater()
    QApplication.processEvents()


@pytest.fixture()
def new_draft(store, cq_form):
    from clusterdesk.service import create_draft

    def _new(form=None):
        return create_draft(store, form or cq_form).id

    return _new


@pytest.fixture()
def demo_draft(store):
    from clusterdesk.templates import import_file

    return import_file(store, DEMO / "cq-2024-application.json")


@pytest.fixture()
def show_window(app, qtbot, store):
    """show_window(w) → ``w`` shown, exposed and active; closed and deleted after the test
    (before the test's store is closed)."""
    from clusterdesk.ui.qt import QApplication

    made = []

    def _show(w):
        made.append(w)
        w.show()
        qtbot.waitExposed(w)
        w.activateWindow()
        qtbot.waitUntil(w.isActiveWindow)
        return w

    yield _show
    for w in made:
        w.close()
        w.deleteLater()
    QApplication.processEvents()


@pytest.fixture()
def start_window(app, qtbot, store):
    """The start window on the test's store, shown; it and every draft window it opened are closed
    after the test."""
    from clusterdesk.ui.qt import QApplication
    from clusterdesk.ui.start import StartWindow

    w = StartWindow(store)
    w.show()
    qtbot.waitExposed(w)
    yield w
    for win in list(w.windows.values()):
        win.close()
    w.close()
    w.deleteLater()
    QApplication.processEvents()

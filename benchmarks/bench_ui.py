"""Wizard speed, as a user feels it. Prints the median of several runs of:

(a) process start → first section page of a demo draft shown and ready for input
    (a fresh ``python`` process opens the draft offscreen and reports when its page is up);
(b) keystroke → validation message: Enter in a number field holding "-5" until the message
    "不能小于 0" is under the field; Enter on a valid value until it is stored and the message,
    section states and eligibility panel are refreshed; and one keystroke in a narrative past
    its limit until the counter has turned red;
(c) committing one field change through ``DraftSession.set`` (parse + SQLite commit);
(d) Tab to the next field with every page built (the draft window's own Tab ring), beside Qt's
    own focus-chain step as the baseline.

    python benchmarks/bench_ui.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

CHILD = r"""
import sys, time
from pathlib import Path
from clusterdesk.ui.app import ensure_app
from clusterdesk.ui.draft_window import DraftWindow
from clusterdesk.ui.qt import QApplication, QTimer
from clusterdesk.store import Store
app = ensure_app()
store = Store.open(Path(sys.argv[1]))
win = DraftWindow(store, int(sys.argv[2]))
win.show()
def ready():
    # the event loop runs and the first section page is on screen: the user can type
    assert win.current_page().isVisible()
    print(repr(time.time()), flush=True)
    app.quit()
QTimer.singleShot(0, ready)
app.exec()
store.close()
"""


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def bench_startup(db: Path, draft_id: int, runs: int) -> list[float]:
    out = []
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    for _ in range(runs):
        t0 = time.time()
        r = subprocess.run([sys.executable, "-c", CHILD, str(db), str(draft_id)], env=env,
                           capture_output=True, text=True, check=True)
        shown = float(r.stdout.strip().splitlines()[-1])
        out.append(shown - t0)
    return out


def bench_in_process(db: Path, draft_id: int, runs: int) -> tuple[list[float], ...]:
    from PySide6.QtTest import QTest

    from clusterdesk.service import DraftSession
    from clusterdesk.store import Store
    from clusterdesk.ui.app import ensure_app
    from clusterdesk.ui.draft_window import DraftWindow
    from clusterdesk.ui.qt import QApplication, Qt

    app = ensure_app()
    store = Store.open(db)
    win = DraftWindow(store, draft_id)
    win.show()
    QApplication.processEvents()

    # (b1) number field: Enter on "-5" → message under the field
    win.jump_to("basic.area")
    ed = win.current_page().editor_for_key("basic.area")
    number_latency = []
    valid_latency = []
    for i in range(runs):
        ed.edit.setText("-5")
        ed.edit.setModified(True)
        t = time.perf_counter()
        QTest.keyClick(ed.edit, Qt.Key.Key_Return)
        assert "不能小于 0" in ed.problem_label.text() and ed.problem_label.isVisibleTo(win)
        number_latency.append(time.perf_counter() - t)
        # a valid value clears the message: stored, computed values, states and panel refreshed
        ed.edit.setText(f"{30 + i}")
        ed.edit.setModified(True)
        t = time.perf_counter()
        QTest.keyClick(ed.edit, Qt.Key.Key_Return)
        assert not ed.problem_label.isVisibleTo(win)
        valid_latency.append(time.perf_counter() - t)

    # (b2) narrative: one more character past 200 → counter red
    win.jump_to("industry.chain_status")
    nar = win.current_page().editor_for_key("industry.chain_status")
    nar.edit.setPlainText("集" * 200)
    nar.edit.setFocus()
    narrative_latency = []
    for _ in range(runs):
        t = time.perf_counter()
        QTest.keyClick(nar.edit, Qt.Key.Key_A)
        assert nar.counter.property("role") == "counter-over"
        narrative_latency.append(time.perf_counter() - t)
        QTest.keyClick(nar.edit, Qt.Key.Key_Backspace)
    win.close()

    # (d) Tab with every page built: our ring against Qt's own focus chain (the baseline)
    from clusterdesk.ui.qt import QMainWindow

    full = DraftWindow(store, draft_id, lazy=False)
    full.show()
    full.go_to(2)
    QApplication.processEvents()
    tab_ring, tab_qt = [], []
    for _ in range(runs):
        t = time.perf_counter()
        QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        tab_ring.append(time.perf_counter() - t)
        t = time.perf_counter()
        QMainWindow.focusNextPrevChild(full, True)
        tab_qt.append(time.perf_counter() - t)
    full.close()

    # (c) DraftSession.set: parse and commit to SQLite
    session = DraftSession(store, draft_id)
    commit = []
    for i in range(max(runs, 20)):
        t = time.perf_counter()
        session.set("industry.total_output.2021", f"{50 + i % 7}.{i % 10}")
        commit.append(time.perf_counter() - t)
    store.close()
    del app
    return number_latency, valid_latency, narrative_latency, commit, tab_ring, tab_qt


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args(argv)
    runs = max(5, args.runs)

    from clusterdesk.paths import demo_dir
    from clusterdesk.store import Store
    from clusterdesk.templates import import_file

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite3"
        store = Store.open(db)
        draft_id = import_file(store, demo_dir() / "cq-2024-application.json")
        store.close()

        start = bench_startup(db, draft_id, runs)
        number, valid, narrative, commit, tab_ring, tab_qt = bench_in_process(db, draft_id, runs * 3)

    print(f"runs: {runs} start-ups; {runs * 3} keystrokes each; {max(runs * 3, 20)} commits")
    print(f"(a) process start → first section shown:        median {median_ms(start):8.1f} ms")
    print(f"(b) Enter in number field → message shown:      median {median_ms(number):8.1f} ms")
    print(f"(b) Enter on a valid value → stored, refreshed: median {median_ms(valid):8.1f} ms")
    print(f"(b) keystroke past 200字 → counter red:          median {median_ms(narrative):8.1f} ms")
    print(f"(c) DraftSession.set (parse + SQLite commit):   median {median_ms(commit):8.1f} ms")
    ring, qt = median_ms(tab_ring), median_ms(tab_qt)
    print(f"(d) Tab, all pages built: Tab ring {ring:.2f} ms, Qt's focus chain {qt:.2f} ms "
          f"(ratio {ring / qt if qt else float('nan'):.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

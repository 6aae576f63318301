"""Start-up speed and memory, each beside a bare baseline started the same way in the same run.

Every figure is a fresh process (``python -c CHILD``), runs alternating with their baseline's:

* the command line: ``clusterdesk --help``, ``forms``, ``template`` (.xlsx and .json) and ``drafts``
  (it opens the database) against a bare interpreter start, ``python -c pass``;
* process start → the start window ready (drawn, the drafts listed), through ``ui.app.start``, the
  program's own start (database checks, start-up clean-up, start window), against a bare
  QMainWindow holding a QTableWidget with as many rows (and columns) as the draft list;
* process start → the first section of the demo draft ready for typing (drawn, the cursor in its
  first field): the program's start, then the draft opened from the start window at once, against
  a bare QWizard of 9 pages × 29 fields (QLineEdit in a QFormLayout) shown the same way;
* peak resident memory of the GUI with the demo draft open (after its background import of what
  saving needs), with 1 and with 200 drafts in the database.

    python benchmarks/bench_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from benchlib import DEMO, PEAK_RSS, ROOT, alternate, child_report, median, process_seconds, record

BARE_WIZARD = r"""
import json, sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QFormLayout, QLineEdit, QWizard, QWizardPage
app = QApplication(sys.argv[:1])
wizard = QWizard()
for p in range(9):
    page = QWizardPage()
    page.setTitle(f"第{p + 1}部分")
    layout = QFormLayout(page)
    for f in range(29):
        layout.addRow(f"栏目{f + 1}", QLineEdit())
    wizard.addPage(page)
wizard.show()
def ready():
    app.processEvents()
    assert wizard.currentPage().isVisible()
    print("READY " + json.dumps({"t": time.time()}), flush=True)
    app.quit()
QTimer.singleShot(0, ready)
app.exec()
"""

BARE_TABLE = r"""
import json, sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow, QTableWidget, QTableWidgetItem
app = QApplication(sys.argv[:1])
rows = int(sys.argv[1])
win = QMainWindow()
table = QTableWidget(rows, 4)
table.setHorizontalHeaderLabels(["名称", "表单", "最后修改", "完成度"])
for r in range(rows):
    for c, text in enumerate((f"草稿{r}", "重庆市中小企业特色产业集群申报表", "2024-05-01 08:00", "100%")):
        table.setItem(r, c, QTableWidgetItem(text))
win.setCentralWidget(table)
win.resize(1100, 640)
win.show()
def ready():
    app.processEvents()
    assert table.isVisible()
    print("READY " + json.dumps({"t": time.time()}), flush=True)
    app.quit()
QTimer.singleShot(0, ready)
app.exec()
"""

START_WINDOW = r"""
import json, sys, time
from clusterdesk.ui.app import start
from clusterdesk.ui.qt import QApplication, QTimer
win = start(sys.argv[1])
def ready():
    QApplication.processEvents()
    assert win.isVisible() and win.table.rowCount() == int(sys.argv[2]), win.table.rowCount()
    print("READY " + json.dumps({"t": time.time(), "modules": sorted(sys.modules)}), flush=True)
    QApplication.instance().quit()
QTimer.singleShot(0, ready)
QApplication.instance().exec()
win.store.close()
"""

FIRST_SECTION = PEAK_RSS + r"""
import json, sys, threading, time
from clusterdesk.ui.app import start
from clusterdesk.ui.qt import QApplication, QTimer
win = start(sys.argv[1])
draft = win.open_draft(int(sys.argv[2]))
settle_ms = int(sys.argv[3])
def ready():
    QApplication.processEvents()
    page = draft.current_page()
    field = draft.focusWidget()
    # drawn, and the cursor in the first field of the first section: the user can type
    assert draft.isVisible() and page.isVisible() and field is page.first_input(), (field, page.first_input())
    t = time.time()
    for th in threading.enumerate():  # memory: after the background import of what saving needs
        if settle_ms and th.name == "preload-orm":
            th.join()
    print("READY " + json.dumps({"t": t, "peak_rss_mb": peak_rss_mb(), "modules": sorted(sys.modules),
                                  "drafts": win.table.rowCount()}), flush=True)
    QApplication.instance().quit()
QTimer.singleShot(settle_ms, ready)
QApplication.instance().exec()
win.store.close()
"""


def make_database(folder: Path, drafts: int) -> tuple[Path, int]:
    """A database with the demo application and ``drafts - 1`` copies of it; returns (path, demo id)."""
    sys.path.insert(0, str(ROOT / "src"))
    from clusterdesk.store import Store
    from clusterdesk.templates import import_file

    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "clusterdesk.sqlite3"
    with Store.open(db) as store:
        demo = import_file(store, DEMO)
        for i in range(drafts - 1):
            store.duplicate_draft(demo, f"示例副本{i + 1}")
    return db, demo


def cli_command() -> list[str]:
    script = Path(sys.executable).with_name("clusterdesk")
    return [str(script)] if script.exists() else [sys.executable, "-m", "clusterdesk"]


def bench_cli(db: Path, out: Path, runs: int) -> None:
    py = [sys.executable, "-c", "pass"]
    cd = [*cli_command(), "--db", str(db)]
    commands = [
        ("`clusterdesk --help`", [*cli_command(), "--help"], "≤ 8×", 8.0),
        ("`clusterdesk forms`", [*cd, "forms"], "≤ 20×", 20.0),
        ("`clusterdesk template … --out t.xlsx`", [*cd, "template", "cq-2024-application", "--out", str(out / "t.xlsx")],
         "≤ 20×", 20.0),
        ("`clusterdesk template … --out t.json`", [*cd, "template", "cq-2024-application", "--out", str(out / "t.json")],
         "≤ 20×", 20.0),
        ("`clusterdesk drafts` (opens and checks the database once)", [*cd, "drafts"], "", None),
    ]
    for _, cmd, _, _ in commands:  # warm: compiled bytecode written, files in the page cache
        process_seconds(cmd)
    process_seconds(py)
    for what, cmd, target, limit in commands:
        base, ours = alternate(runs, lambda: process_seconds(py), lambda c=cmd: process_seconds(c))
        record(what, median(ours), baseline="`python -c pass`", baseline_value=median(base), target=target,
               limit=limit)


def bench_windows(db: Path, demo: int, drafts: int, runs: int) -> None:
    py = sys.executable
    start = [py, "-c", START_WINDOW, str(db), str(drafts)]
    bare_table = [py, "-c", BARE_TABLE, str(drafts)]
    first = [py, "-c", FIRST_SECTION, str(db), str(demo), "0"]
    bare_wizard = [py, "-c", BARE_WIZARD]
    for cmd in (start, bare_table, first, bare_wizard):
        child_report(cmd)
    base, ours = alternate(runs, lambda: child_report(bare_table)[0], lambda: child_report(start)[0])
    record(f"process start → start window ready ({drafts} draft{'s' if drafts > 1 else ''})", median(ours),
           baseline=f"bare QMainWindow + QTableWidget of {drafts} row{'s' if drafts > 1 else ''}",
           baseline_value=median(base), target="≤ 2×", limit=2.0)
    base, ours = alternate(runs, lambda: child_report(bare_wizard)[0], lambda: child_report(first)[0])
    record("process start → first section of the demo draft ready for typing", median(ours),
           baseline="bare QWizard, 9 pages × 29 fields", baseline_value=median(base), target="≤ 3×", limit=3.0)


def bench_memory(tmp: Path) -> None:
    peaks = {}
    for n in (1, 200):
        db, demo = make_database(tmp / f"mem{n}", n)
        values = [child_report([sys.executable, "-c", FIRST_SECTION, str(db), str(demo), "1500"])[1]["peak_rss_mb"]
                  for _ in range(3)]
        peaks[n] = median(values)
    record("peak RSS, GUI with the demo draft open (200 drafts in the database)", peaks[200], "MB",
           baseline="the same with 1 draft", baseline_value=peaks[1], target="does not grow", limit=1.1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args(argv)
    runs = max(5, args.runs)
    tmp = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    try:
        db, demo = make_database(tmp / "one", 1)
        print(f"medians of {runs} runs, each beside its baseline (runs alternating)")
        bench_cli(db, tmp, runs)
        bench_windows(db, demo, 1, runs)
        bench_memory(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Start-up checks: what opening the database costs, beside its baseline.

Store.open checks an existing file before using it: ``PRAGMA quick_check`` and a read of every
stored value (is it valid UTF-8, JSON, a timestamp …) at every start, and the full
``PRAGMA integrity_check`` instead of the quick one after an unclean shutdown (a lock file left
by a process that did not close its store). Baselines: a bare ``sqlite3.connect`` and one query,
the least any program must do to read the file, and Store.open without the value read (the
start-up before these checks). Two databases: the demo application alone, and a
busy office (30 applications with 2 MB of their own evidence each, about 65 MB). Medians."""

from __future__ import annotations

import os
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo" / "cq-2024-application.json"


def median_ms(fn, runs: int, before=None) -> float:
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def build(db: Path, drafts: int) -> None:
    from clusterdesk.store import Store
    from clusterdesk.templates import import_file

    with Store.open(db) as store:
        for i in range(drafts):
            did = import_file(store, DEMO)
            if drafts > 1:
                store.add_evidence_bytes(did, "basic.area", "佐证材料", f"附件{i}.pdf",
                                         b"%PDF-1.4\n" + os.urandom(2 * 1024 * 1024))
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def report(label: str, db: Path, runs: int) -> None:
    from clusterdesk.store import Store
    from clusterdesk.store.checks import scan_values

    def bare() -> None:
        conn = sqlite3.connect(db)
        conn.execute("SELECT count(*) FROM draft").fetchone()
        conn.close()

    def pragma(name: str):
        def run() -> None:
            conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
            conn.execute(f"PRAGMA {name}").fetchall()
            conn.close()
        return run

    def scan() -> None:
        conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
        scan_values(conn)
        conn.close()

    def store_open() -> None:
        Store.open(db).close()

    def store_open_without_values() -> None:  # the start-up of before: quick_check only
        real = Store._check_all_values
        Store._check_all_values = lambda self: None  # type: ignore[method-assign]
        try:
            Store.open(db).close()
        finally:
            Store._check_all_values = real  # type: ignore[method-assign]

    def leave_unclean() -> None:  # what a killed process leaves: a lock file nobody holds
        (db.parent / f".{db.name}.~open-{secrets.token_hex(8)}").write_bytes(b"")

    size = db.stat().st_size / 1024 / 1024
    base = median_ms(bare, runs)
    quick = median_ms(pragma("quick_check"), runs)
    full = median_ms(pragma("integrity_check"), runs)
    values = median_ms(scan, runs)
    before = median_ms(store_open_without_values, runs)
    clean = median_ms(store_open, runs)
    unclean = median_ms(store_open, runs, before=leave_unclean)
    print(f"{label} ({size:.1f} MB):")
    print(f"  baseline sqlite3.connect + one query: {base:.2f} ms")
    print(f"  PRAGMA quick_check alone: {quick:.1f} ms; PRAGMA integrity_check alone: {full:.1f} ms; "
          f"reading every stored value: {values:.1f} ms")
    print(f"  Store.open + close without reading the values (quick_check only, as before): {before:.1f} ms")
    print(f"  Store.open + close, clean start (quick_check + values): {clean:.1f} ms "
          f"(x{clean / base:.0f} the baseline, x{clean / before:.2f} quick_check only)")
    print(f"  Store.open + close after an unclean shutdown (integrity_check + values): {unclean:.1f} ms "
          f"(x{unclean / base:.0f} the baseline, x{unclean / clean:.2f} a clean start)")


def main() -> None:
    sys.path.insert(0, str(ROOT / "src"))
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "demo" / "clusterdesk.sqlite3"
        build(small, 1)
        report("demo application", small, 20)
        big = Path(tmp) / "office" / "clusterdesk.sqlite3"
        build(big, 30)
        report("busy office, 30 applications", big, 7)


if __name__ == "__main__":
    main()

"""Issue 19, item 13: `clusterdesk import-package A B C` is all-or-nothing.

The attack: a kill during a three-package import left one or two of the three drafts. The batch is
now one transaction (every package is read and checked first, one snapshot is taken, then all
drafts are written and committed together). Shown here:

* a process that SIGKILLs itself right after the second package's draft was written (inside the
  transaction): none of the three drafts is there, integrity ok; the same command then imports all
  three;
* the real `python -m clusterdesk import-package A B C` SIGKILLed at random moments over its whole
  run: every time either all three drafts are there or none (never one or two);
* a store error while writing the third package (a full disk, say): exit 2 with a Chinese line,
  none of the three drafts;
* after every kill the store's lock files and temporaries are counted, and the next start leaves 0.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from rel_support import (DEMO_CQ, PYTHON, bump, child_env, foreign_key_problems, integrity, orphan_blobs, record,
                         store_leftovers)

from clusterdesk.store import Store

EVIDENCE_KEY, EVIDENCE_OPTION = "industry.chain_work", "绘制产业链图谱，开展产业链培育"

KILL_AFTER_FILL = """
import os, signal, sys
from clusterdesk.packages import package as pk
real, done = pk._fill, []
def fill(*args, **kwargs):
    new_id = real(*args, **kwargs)
    done.append(new_id)
    if len(done) == int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGKILL)  # inside the batch's transaction, nothing committed yet
    return new_id
pk._fill = fill
from clusterdesk import cli
sys.exit(cli.main(["--db", sys.argv[1], "import-package", *sys.argv[3:]]))
"""


@pytest.fixture(scope="module")
def packages(tmp_path_factory) -> list[Path]:
    """Three packages of three different applications, each with 3 MB of evidence of its own."""
    from clusterdesk.packages import write_package
    from clusterdesk.templates import import_file

    folder = tmp_path_factory.mktemp("packages")
    out = []
    with Store.open(folder / "source" / "s.sqlite3") as store:
        for i in range(3):
            did = import_file(store, DEMO_CQ)
            store.rename_draft(did, f"集群{i + 1}")
            store.add_evidence_bytes(did, EVIDENCE_KEY, EVIDENCE_OPTION, f"图谱{i + 1}.pdf",
                                     b"%PDF-1.4\n" + random.Random(i).randbytes(3 * 1024 * 1024) + b"\n%%EOF\n")
            out.append(write_package(store, did, folder / f"集群{i + 1}.cdpkg", documents=False))
    return out


@pytest.fixture(scope="module")
def base_db(tmp_path_factory) -> Path:
    """The district officer's database before the import: one draft of their own."""
    db = tmp_path_factory.mktemp("base") / "clusterdesk.sqlite3"
    with Store.open(db) as store:
        store.create_draft("cq-2024-summary", 1, "永川区汇总表")
    return db


def fresh(base: Path, folder: Path) -> Path:
    db = folder / "clusterdesk.sqlite3"
    folder.mkdir(parents=True)
    shutil.copyfile(base, db)
    return db


def titles(db: Path) -> list[str]:
    with Store.open(db) as store:
        return sorted(d.title for d in store.list_drafts())


def check_after_kill(db: Path, tally: dict) -> str:
    assert integrity(db) == ["ok"] and foreign_key_problems(db) == [] and orphan_blobs(db) == 0
    tally["leftovers_after_kill"] += len(store_leftovers(db))
    got = titles(db)  # the next start
    left = store_leftovers(db)
    tally["leftovers_after_next_start"] += len(left)
    assert left == [], left
    if got == ["永川区汇总表"]:
        return "none"
    assert got == ["永川区汇总表", "集群1", "集群2", "集群3"], f"a partial batch: {got}"
    return "all"


@pytest.mark.parametrize("kill_after", [1, 2, 3])
def test_kill_inside_the_batch_leaves_none_of_it(packages, base_db, tmp_path, kill_after):
    db = fresh(base_db, tmp_path / "d")
    proc = subprocess.run([PYTHON, "-c", KILL_AFTER_FILL, str(db), str(kill_after), *map(str, packages)],
                          capture_output=True, env=child_env(), timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode("utf-8", "replace")
    tally = {"leftovers_after_kill": 0, "leftovers_after_next_start": 0}
    assert check_after_kill(db, tally) == "none"

    from clusterdesk import cli

    assert cli.main(["--db", str(db), "import-package", *map(str, packages)]) == 0  # the same command again
    assert titles(db) == ["永川区汇总表", "集群1", "集群2", "集群3"]
    bump("batch_import", "kills_inside_the_transaction")
    bump("batch_import", "leftovers_after_kill", tally["leftovers_after_kill"])
    bump("batch_import", "leftovers_after_next_start", tally["leftovers_after_next_start"])


@pytest.mark.slow
def test_random_kills_of_the_real_command(packages, base_db, tmp_path):
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    cmd = [PYTHON, "-m", "clusterdesk", "--db"]
    t0 = time.perf_counter()
    probe = fresh(base_db, tmp_path / "probe")
    subprocess.run([*cmd, str(probe), "import-package", *map(str, packages)], check=True, capture_output=True,
                   env=child_env(), timeout=300)
    duration = time.perf_counter() - t0
    tally = {"runs": 0, "none": 0, "all": 0, "leftovers_after_kill": 0, "leftovers_after_next_start": 0}
    for run in range(8):
        db = fresh(base_db, tmp_path / f"run{run}")
        proc = subprocess.Popen([*cmd, str(db), "import-package", *map(str, packages)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=child_env())
        time.sleep(rng.uniform(0.3, 1.0) * duration)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        tally["runs"] += 1
        tally[check_after_kill(db, tally)] += 1
    record("batch_import", random_kills=tally, one_run_seconds=round(duration, 2))
    assert tally["none"] and tally["runs"] == tally["none"] + tally["all"]


def test_a_store_error_in_the_third_package_writes_nothing(packages, base_db, tmp_path, monkeypatch, capsys):
    from clusterdesk import cli
    from clusterdesk.store import StoreError

    db = fresh(base_db, tmp_path / "d")
    real = Store.add_evidence_bytes
    seen: list[str] = []

    def full_disk(self, draft_id, key, option, filename, data):
        seen.append(filename)
        if filename == "图谱3.pdf":
            raise StoreError(f"磁盘空间不足，无法保存到数据库：{self.path}")
        return real(self, draft_id, key, option, filename, data)

    monkeypatch.setattr(Store, "add_evidence_bytes", full_disk)
    assert cli.main(["--db", str(db), "import-package", *map(str, packages)]) == 2
    out = capsys.readouterr()
    assert out.out == "" and "磁盘空间不足" in out.err and "Traceback" not in out.err
    assert "图谱1.pdf" in seen and "图谱2.pdf" in seen  # the first two were written before the error
    monkeypatch.undo()
    assert titles(db) == ["永川区汇总表"]
    bump("batch_import", "refused_batches")

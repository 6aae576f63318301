"""Issue 19, item 1: an existing database file that is empty (0 bytes) or not ours is never reused
or overwritten; the user is told so and offered the last snapshot, and snapshot rotation never
deletes the last snapshot taken before the database was found damaged or empty.

The case from the attack: a 0-byte database was silently re-created empty (`drafts` exited 0 with
an empty list), and five package imports later the snapshot that still held the user's work had
been rotated away. A missing file (the first run) is still created as before, and a kill during
that creation never leaves an empty file behind (the new database is built under a temporary name
and linked into place complete).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from clusterdesk.logs import LOG_DIR_NAME, log_path

from rel_support import (DEMO_CQ, HERE, PYTHON, answers_by_draft, bump, child_env, has_cjk,
                         integrity, open_store_answering, record, sha256_file, store_leftovers)

from clusterdesk.store import DatabaseDamaged, DatabaseEmpty, Store


_BASE: list[Path] = []


def users_work(db: Path) -> dict[int, dict]:
    """A database holding the demo application, with a snapshot of it, closed (built once per
    module, then copied with its snapshot folder to ``db``'s folder)."""
    from clusterdesk.templates import import_file

    if not _BASE:
        base = Path(tempfile.mkdtemp(prefix="rel-empty-")) / "data" / "clusterdesk.sqlite3"
        with Store.open(base) as store:
            import_file(store, DEMO_CQ)
            store.snapshot()
        _BASE.append(base)
    shutil.copytree(_BASE[0].parent, db.parent)
    if db.name != _BASE[0].name:  # pragma: no cover - every test uses the default name
        raise AssertionError(db)
    return answers_by_draft(db)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "clusterdesk", *args], capture_output=True, env=child_env(), timeout=120)


def make_foreign(path: Path, kind: str) -> None:
    if kind == "empty_sqlite":  # a valid SQLite file with nothing in it (another tool created it)
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE t (x)")
        conn.execute("DROP TABLE t")
        conn.commit()
        conn.close()
    elif kind == "other_program":
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE contacts (name TEXT, phone TEXT)")
        conn.execute("INSERT INTO contacts VALUES ('张三', '13800000000')")
        conn.commit()
        conn.close()
    elif kind == "our_tables_no_version":  # looks like ours, but user_version 0 and no application id
        conn = sqlite3.connect(path)
        from clusterdesk.store import migrations

        for step in migrations.MIGRATIONS:
            step.apply(conn)
        conn.execute("PRAGMA application_id = 0")
        conn.commit()
        conn.close()
    elif kind == "text_file":
        path.write_text("这是一份会议记录，不是数据库。\n" * 50, encoding="utf-8")
    else:  # pragma: no cover
        raise ValueError(kind)


@pytest.mark.parametrize("kind", ["zero_bytes", "empty_sqlite", "other_program", "our_tables_no_version",
                                  "text_file"])
def test_empty_or_foreign_file_is_refused_and_the_snapshot_named(tmp_path, kind, capsys):
    db = tmp_path / "data" / "clusterdesk.sqlite3"
    users_work(db)
    [snap] = Store.snapshots_of(db)
    db.unlink()
    if kind == "zero_bytes":
        db.write_bytes(b"")
    else:
        make_foreign(db, kind)
    before, listing = sha256_file(db), sorted(os.listdir(db.parent))

    with pytest.raises(DatabaseEmpty if kind == "zero_bytes" else DatabaseDamaged) as err:
        Store.open(db)
    said = {"zero_bytes": "空的", "text_file": "不是数据库文件"}.get(kind, "不是集群申报助手的数据库")
    assert has_cjk(str(err.value)) and said in str(err.value) and str(db) in str(err.value)
    assert sha256_file(db) == before and sorted(os.listdir(db.parent)) == listing

    from clusterdesk import cli

    assert cli.main(["--db", str(db), "drafts"]) == 2
    out = capsys.readouterr()
    assert out.out == ""  # not an empty list of drafts
    lines = out.err.strip().splitlines()
    assert "Traceback" not in out.err and all(has_cjk(line) for line in lines), out.err
    assert str(db) in lines[0] and (kind != "zero_bytes" or "空的" in lines[0])
    assert str(snap) in out.err and "restore" in out.err  # the last snapshot, named, and how to use it

    if kind == "zero_bytes":  # the attack's case, through the real command as a user types it
        proc = run_cli("--db", str(db), "drafts")
        err_text = proc.stderr.decode("utf-8")
        assert proc.returncode == 2 and proc.stdout == b"" and "Traceback" not in err_text
        assert all(has_cjk(line) for line in err_text.strip().splitlines()) and str(snap) in err_text
    # nothing changed but the program's log, which now says what was refused
    assert sha256_file(db) == before and sorted(set(os.listdir(db.parent)) - {LOG_DIR_NAME}) == listing
    assert "不是" in log_path(db.parent).read_text(encoding="utf-8") or "空的" in log_path(db.parent).read_text(encoding="utf-8")
    assert (snap.parent / (snap.name + ".keep")).exists(), "the snapshot before the damage is not pinned"
    bump("empty_db", "refused_files")


def test_first_run_creates_a_missing_database(tmp_path, capsys):
    from clusterdesk import cli

    db = tmp_path / "新文件夹" / "clusterdesk.sqlite3"
    assert cli.main(["--db", str(db), "drafts"]) == 0
    assert capsys.readouterr().err == ""
    assert integrity(db) == ["ok"]
    with Store.open(db) as store:
        assert store.list_drafts() == [] and store.startup_check == "quick_check"
    assert store_leftovers(db) == []


def test_zero_byte_database_after_five_imports_keeps_the_users_work(tmp_path, capsys):
    """The attack's sequence, with what the user can now do: the 0-byte file is refused and kept,
    `repair` sets it aside and starts an empty database, six package imports rotate snapshots
    (keep 5), and the snapshot that holds the work is still there and restores it."""
    from clusterdesk import cli
    from clusterdesk.packages import write_package

    db = tmp_path / "data" / "clusterdesk.sqlite3"
    work = users_work(db)
    [before_damage] = Store.snapshots_of(db)
    packages = []
    with Store.open(tmp_path / "other" / "o.sqlite3") as other:
        from clusterdesk.templates import import_file

        first = import_file(other, DEMO_CQ)
        for i in range(6):
            did = other.duplicate_draft(first, f"外来集群{i}").id  # each with its own uuid
            packages.append(write_package(other, did, tmp_path / f"p{i}.cdpkg", documents=False))
    db.write_bytes(b"")  # the damage

    assert cli.main(["--db", str(db), "drafts"]) == 2
    assert str(before_damage) in capsys.readouterr().err
    assert cli.main(["--db", str(db), "repair"]) == 0
    out = capsys.readouterr().out
    kept = next(Path(line.split("：", 1)[1]) for line in out.splitlines() if line.startswith("已把它改名保留为"))
    assert kept.exists() and kept.stat().st_size == 0  # the empty file itself is kept, not deleted
    for pkg in packages:
        assert cli.main(["--db", str(db), "import-package", str(pkg)]) == 0
    capsys.readouterr()
    snaps = Store.snapshots_of(db)
    assert len(snaps) == 6 and before_damage in snaps, "rotation deleted the snapshot holding the work"
    assert answers_by_draft(before_damage) == work

    assert cli.main(["--db", str(db), "restore", str(before_damage)]) == 0
    assert answers_by_draft(db) == work
    bump("empty_db", "work_recovered_after_rotation")


def test_rotation_keeps_the_pinned_snapshot_and_the_newest(tmp_path):
    db = tmp_path / "clusterdesk.sqlite3"
    with Store.open(db) as store:
        d = store.create_draft("f", 1, "t")
        first = store.snapshot(keep=2)
    db_bytes = db.read_bytes()
    db.write_bytes(b"")
    with pytest.raises(DatabaseEmpty):
        Store.open(db)  # found empty: the newest snapshot (first) is pinned
    db.write_bytes(db_bytes)
    made = []
    with Store.open(db) as store:
        for i in range(5):
            store.set_answer(d.id, "i", i)
            made.append(store.snapshot(keep=2))
    assert Store.snapshots_of(db) == [made[4], made[3], first]


@pytest.mark.slow
def test_kill_during_first_creation_never_leaves_an_empty_file(tmp_path):
    """SIGKILL the first run while it creates the database (60 runs, 0–150 ms): afterwards there
    is no file, or a complete database that opens; never an empty or half-made one. The next start
    removes every lock file and temporary the killed process left."""
    worker = str(HERE / "crash_worker.py")
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    zygote = subprocess.Popen([PYTHON, worker, "zygote"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              env=child_env())
    tally = {"runs": 0, "no_file": 0, "complete": 0, "leftovers_after_kill": 0, "leftovers_after_next_start": 0}
    try:
        assert zygote.stdout.readline().strip() == b"READY"
        for run in range(60):
            db = tmp_path / f"run{run}" / "clusterdesk.sqlite3"
            zygote.stdin.write((json.dumps({"db": str(db), "drafts": [], "seed": run}) + "\n").encode())
            zygote.stdin.flush()
            line = zygote.stdout.readline()
            while not line.startswith(b"PID "):
                line = zygote.stdout.readline()
            time.sleep(rng.uniform(0, 0.15))
            os.kill(int(line.split()[1]), signal.SIGKILL)
            while not line.startswith(b"REAPED "):
                line = zygote.stdout.readline()
            tally["runs"] += 1
            if not db.exists():
                tally["no_file"] += 1
            else:
                assert db.stat().st_size > 0, "a kill during creation left an empty database file"
                tally["complete"] += 1
            tally["leftovers_after_kill"] += len(store_leftovers(db))
            with Store.open(db) as store:  # the next start
                store.list_drafts()
            assert integrity(db) == ["ok"]
            left = store_leftovers(db)
            tally["leftovers_after_next_start"] += len(left)
            assert left == [], left
    finally:
        zygote.stdin.close()
        zygote.wait(timeout=30)
    assert tally["complete"] and tally["no_file"], f"the kills missed the creation window: {tally}"
    record("empty_db", **{f"creation_kills_{k}": v for k, v in tally.items()})


@pytest.mark.parametrize("choice", ["restore", "set_aside"])
def test_gui_start_explains_an_empty_file_and_offers_the_snapshot(tmp_path, qapp, choice):
    db = tmp_path / "data" / "clusterdesk.sqlite3"
    work = users_work(db)
    [snap] = Store.snapshots_of(db)
    db.write_bytes(b"")
    button = "用最近的快照恢复" if choice == "restore" else "改名保留此文件，新建空数据库"
    store, answerer = open_store_answering(db, [button, None])
    first = answerer.seen[0]
    assert "空的" in first and snap.name in first and str(db) in first, first
    assert sorted(answerer.buttons[0]) == sorted(["用最近的快照恢复", "改名保留此文件，新建空数据库", "退出"])
    assert store is not None
    try:
        if choice == "restore":
            assert {d.id: store.get_answers(d.id) for d in store.list_drafts()} == work
        else:
            assert store.list_drafts() == []
            kept = [p for p in db.parent.iterdir() if "无法使用" in p.name]
            assert len(kept) == 1 and kept[0].stat().st_size == 0 and str(kept[0]) in answerer.seen[1]
    finally:
        store.close()
    bump("empty_db", "gui_dialogs")


def test_gui_quit_leaves_the_empty_file_alone(tmp_path, qapp):
    db = tmp_path / "clusterdesk.sqlite3"
    db.write_bytes(b"")
    store, answerer = open_store_answering(db, ["退出"])
    assert store is None
    assert sorted(answerer.buttons[0]) == sorted(["改名保留此文件，新建空数据库", "退出"])  # no snapshot
    assert db.read_bytes() == b"" and sorted(os.listdir(tmp_path)) == ["clusterdesk.sqlite3"]

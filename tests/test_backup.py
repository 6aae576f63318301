"""Backup and restore: the core round trip with real demo data (answers, notes, evidence blobs),
and ``clusterdesk backup`` / ``clusterdesk restore`` as a user would type them. A damaged or foreign
file is refused with one Chinese line, exit code 2, and the database byte-for-byte unchanged."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from cd_support import DEMO

ENV = dict(os.environ, PYTHONIOENCODING="utf-8")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(*args: str, db: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "clusterdesk", "--db", str(db), *args],
                          capture_output=True, text=True, encoding="utf-8", env=ENV, timeout=120)


def snapshot_of(store) -> dict:
    """Everything a user would miss: drafts, answers, notes, meta and evidence bytes."""
    out = {}
    for d in store.list_drafts():
        out[d.uuid] = {
            "title": d.title,
            "form": d.form_id,
            "answers": store.get_answers(d.id),
            "notes": store.get_notes(d.id),
            "meta": store.get_meta(d.id),
            "evidence": sorted((e.key, e.option, e.filename, hashlib.sha256(store.read_blob(e.sha256)).hexdigest())
                               for e in store.list_evidence(d.id)),
        }
    return out


@pytest.fixture()
def demo_db(tmp_path):
    """A closed database holding the Chongqing demo application (with its evidence files)."""
    from clusterdesk.store import Store
    from clusterdesk.templates import import_file

    db = tmp_path / "data" / "clusterdesk.sqlite3"
    db.parent.mkdir()
    with Store.open(db) as s:
        draft_id = import_file(s, DEMO / "cq-2024-application.json")
        assert s.list_evidence(draft_id), "the demo should carry evidence files"
    return db


def make_bad(kind: str, tmp_path: Path, good: Path) -> Path:
    bad = tmp_path / f"{kind}.sqlite3"
    if kind == "garbage":
        bad.write_bytes(os.urandom(20000))
    elif kind == "truncated":
        data = good.read_bytes()
        bad.write_bytes(data[: len(data) // 3])
    elif kind == "foreign":  # a healthy SQLite file of some other program
        conn = sqlite3.connect(bad)
        conn.execute("CREATE TABLE contacts (name TEXT, phone TEXT)")
        conn.execute("INSERT INTO contacts VALUES ('张三', '13800000000')")
        conn.commit()
        conn.close()
    else:  # pragma: no cover
        raise AssertionError(kind)
    return bad


# --------------------------------------------------------------------------- core


def test_core_round_trip_keeps_everything(demo_db, tmp_path):
    from clusterdesk.store import Store
    from clusterdesk.templates import import_file

    with Store.open(demo_db) as s:
        before = snapshot_of(s)
        backup = s.backup(tmp_path / "backup.sqlite3")
    # Work goes on after the backup: a second draft and a changed answer.
    with Store.open(demo_db) as s:
        import_file(s, DEMO / "cq-2024-summary.json")
        first = s.list_drafts()[0]
        s.rename_draft(first.id, "改过的名称")
        assert snapshot_of(s) != before
    Store.restore(demo_db, backup)
    with Store.open(demo_db) as s:
        assert snapshot_of(s) == before
        [snap] = s.list_snapshots()
    with Store.open(snap) as old:  # the pre-restore state is kept, whole
        assert len(old.list_drafts()) == 2


@pytest.mark.parametrize("kind", ["garbage", "truncated", "foreign"])
def test_core_refuses_bad_file_and_changes_nothing(demo_db, tmp_path, kind):
    from clusterdesk.store import DatabaseDamaged, Store

    with Store.open(demo_db) as s:
        good = s.backup(tmp_path / "good.sqlite3")
    bad = make_bad(kind, tmp_path, good)
    digest, listing = sha256(demo_db), sorted(os.listdir(demo_db.parent))
    with pytest.raises(DatabaseDamaged):
        Store.restore(demo_db, bad)
    assert sha256(demo_db) == digest
    assert sorted(os.listdir(demo_db.parent)) == listing  # no snapshot, no temp file left behind


# --------------------------------------------------------------------------- command line


def test_cli_backup_restore_round_trip(demo_db, tmp_path):
    from clusterdesk.store import Store

    with Store.open(demo_db) as s:
        before = snapshot_of(s)
    out = tmp_path / "备份" / "集群.sqlite3"
    out.parent.mkdir()
    p = run("backup", str(out), db=demo_db)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == str(out)
    assert out.read_bytes().startswith(b"SQLite format 3\x00")

    # an existing file is not overwritten without --force
    p = run("backup", str(out), db=demo_db)
    assert p.returncode == 2 and "--force" in p.stderr and "Traceback" not in p.stderr
    assert run("backup", str(out), "--force", db=demo_db).returncode == 0

    # into a folder: a dated name
    p = run("backup", str(out.parent), db=demo_db)
    assert p.returncode == 0, p.stderr
    assert Path(p.stdout.strip()).parent == out.parent and Path(p.stdout.strip()).exists()

    p = run("import", str(DEMO / "cq-2024-summary.json"), db=demo_db)
    assert p.returncode == 0, p.stderr
    p = run("restore", str(out), db=demo_db)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    assert lines[0] == f"已替换数据库：{demo_db}（原有 2 份草稿）"
    assert lines[1].startswith("恢复自备份：") and "（1 份草稿）" in lines[1]
    snap_line = next(ln for ln in lines if ln.startswith("恢复前的数据库已保存为快照："))
    snap = Path(snap_line.split("：", 1)[1])
    assert snap.exists() and snap.parent == demo_db.parent / "snapshots"
    with Store.open(demo_db) as s:
        assert snapshot_of(s) == before

    # the printed snapshot undoes the restore
    p = run("restore", str(snap), db=demo_db)
    assert p.returncode == 0, p.stderr
    p = run("drafts", db=demo_db)
    assert len(p.stdout.strip().splitlines()) == 2


def test_cli_restore_into_a_new_database(demo_db, tmp_path):
    backup = tmp_path / "b.sqlite3"
    assert run("backup", str(backup), db=demo_db).returncode == 0
    fresh = tmp_path / "elsewhere" / "new.sqlite3"
    p = run("restore", str(backup), db=fresh)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"已创建数据库：{fresh}")
    assert "快照" not in p.stdout
    assert len(run("drafts", db=fresh).stdout.strip().splitlines()) == 1


@pytest.mark.parametrize("kind", ["garbage", "truncated", "foreign", "missing"])
def test_cli_restore_refuses_bad_file(demo_db, tmp_path, kind):
    good = tmp_path / "good.sqlite3"
    assert run("backup", str(good), db=demo_db).returncode == 0
    bad = tmp_path / "missing.sqlite3" if kind == "missing" else make_bad(kind, tmp_path, good)
    digest, listing = sha256(demo_db), sorted(os.listdir(demo_db.parent))
    p = run("restore", str(bad), db=demo_db)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert p.stdout == ""
    assert "Traceback" not in p.stderr
    [line] = p.stderr.strip().splitlines()  # exactly one line, in Chinese
    assert "备份文件" in line and any("\u4e00" <= ch <= "\u9fff" for ch in line)
    assert sha256(demo_db) == digest
    assert sorted(os.listdir(demo_db.parent)) == listing


def test_cli_backup_refuses_missing_database(tmp_path):
    db = tmp_path / "none.sqlite3"
    p = run("backup", str(tmp_path / "b.sqlite3"), db=db)
    assert p.returncode == 2 and "没有可备份的数据库" in p.stderr
    assert not db.exists() and not (tmp_path / "b.sqlite3").exists()


def test_cli_backup_of_damaged_database_is_refused(tmp_path):
    db = tmp_path / "d.sqlite3"
    db.write_bytes(b"not a database" * 100)
    digest = sha256(db)
    p = run("backup", str(tmp_path / "b.sqlite3"), db=db)
    assert p.returncode == 2 and "Traceback" not in p.stderr and p.stderr.strip()
    assert sha256(db) == digest and not (tmp_path / "b.sqlite3").exists()

"""2. A damaged or too-new database at start-up.

Store.open must refuse it with DatabaseDamaged / DatabaseTooNew and a Chinese message, leave the
file's bytes exactly as they were, `clusterdesk --db PATH drafts` must exit 2 with a Chinese line
and no traceback, and when snapshots exist the user can get the data back with Store.restore.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
from pathlib import Path

import pytest

from rel_support import (DEMO_CQ, PYTHON, answers_by_draft, bump, child_env, has_cjk, integrity, record,
                         sha256_file)

from clusterdesk.store import SCHEMA_VERSION, DatabaseDamaged, DatabaseTooNew, Store


def populated(db: Path, *, snapshot: bool = False) -> dict[int, dict]:
    """A store holding the demo application (many pages), checkpointed into the main file."""
    from clusterdesk.model.form import default_catalog
    from clusterdesk.templates import import_file

    with Store.open(db) as store:
        import_file(store, DEMO_CQ, default_catalog())
        d2 = store.create_draft("cq-2024-application", 1, "第二份草稿")
        store.set_answers(d2.id, {"basic.area": "12.50", "cover.district": "永川区"})
        if snapshot:
            store.snapshot()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for side in ("-wal", "-shm"):
        p = Path(str(db) + side)
        if p.exists():
            p.unlink()
    return answers_by_draft(db)


def damage(db: Path, kind: str) -> None:
    size = db.stat().st_size
    rnd = random.Random(7)
    if kind == "truncated":
        with open(db, "r+b") as fh:
            fh.truncate(size // 2)
    elif kind == "truncated_header":
        with open(db, "r+b") as fh:
            fh.truncate(60)
    elif kind == "garbage":
        db.write_bytes(bytes(rnd.randrange(256) for _ in range(size)))
    elif kind == "corrupt_page":
        conn = sqlite3.connect(db)
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'draft_answer'").fetchone()[0]
        conn.close()
        with open(db, "r+b") as fh:  # header (page 1) stays valid; the answers b-tree root is garbage
            fh.seek((root - 1) * page_size)
            fh.write(bytes(rnd.randrange(256) for _ in range(page_size)))
    elif kind == "too_new":
        conn = sqlite3.connect(db)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
    elif kind == "too_new_rollback_journal":
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
        conn.commit()
        conn.close()
    elif kind == "foreign_sqlite":
        db.unlink()
        conn = sqlite3.connect(db)
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (1)")
        conn.commit()
        conn.close()
    else:  # pragma: no cover
        raise ValueError(kind)
    for side in ("-wal", "-shm"):
        p = Path(str(db) + side)
        if p.exists():
            p.unlink()


KINDS = ["truncated", "truncated_header", "garbage", "corrupt_page", "too_new", "too_new_rollback_journal",
         "foreign_sqlite"]


def expected_error(kind: str) -> type:
    return DatabaseTooNew if kind.startswith("too_new") else DatabaseDamaged


@pytest.mark.parametrize("kind", KINDS)
def test_damaged_database_is_refused_untouched(tmp_path, kind, capsys):
    db = tmp_path / "data" / "clusterdesk.sqlite3"
    populated(db)
    damage(db, kind)
    before = sha256_file(db)

    with pytest.raises(expected_error(kind)) as err:
        Store.open(db)
    assert has_cjk(str(err.value)), str(err.value)
    assert sha256_file(db) == before, "the refused file was modified by Store.open"

    # in-process CLI
    from clusterdesk import cli

    code = cli.main(["--db", str(db), "drafts"])
    out = capsys.readouterr()
    assert code == 2
    assert out.err.strip() and has_cjk(out.err.splitlines()[0]) and "Traceback" not in out.err
    assert sha256_file(db) == before

    # the real entry point, as a user would run it
    proc = subprocess.run([PYTHON, "-m", "clusterdesk", "--db", str(db), "drafts"], capture_output=True,
                          env=child_env(), timeout=120)
    err_text = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, err_text
    assert err_text.strip() and all(has_cjk(line) for line in err_text.strip().splitlines()), err_text
    assert "Traceback" not in err_text
    assert sha256_file(db) == before
    bump("damaged_db", "refused_files")
    record("damaged_db", kinds=KINDS)


def _latest_snapshot(db: Path) -> Path | None:
    """What the GUI offers (clusterdesk.ui.app.latest_snapshot); the same rule without Qt if Qt is missing."""
    try:
        from clusterdesk.ui.app import latest_snapshot
    except Exception:  # no Qt runtime here: same folder rule
        snaps = sorted((db.parent / "snapshots").glob(f"{db.stem}-*.sqlite3"), reverse=True)
        return snaps[0] if snaps else None
    return latest_snapshot(db)


@pytest.mark.parametrize("kind", ["truncated", "garbage", "corrupt_page", "too_new"])
def test_restore_from_snapshot_brings_the_data_back(tmp_path, kind):
    db = tmp_path / "data" / "clusterdesk.sqlite3"
    original = populated(db, snapshot=True)
    assert original and any(original.values())
    damage(db, kind)
    damaged_sha = sha256_file(db)
    with pytest.raises(expected_error(kind)):
        Store.open(db)

    snap = _latest_snapshot(db)
    assert snap is not None, "the snapshot taken before the damage is not offered"
    Store.restore(db, snap)

    assert integrity(db) == ["ok"]
    with Store.open(db) as store:
        restored = {d.id: store.get_answers(d.id) for d in store.list_drafts()}
        kept = store.list_snapshots()
    assert restored == original
    # the file that was replaced is kept: a byte copy if SQLite cannot read it, else a backup-API copy
    if kind == "too_new":
        versions = []
        for p in kept:
            conn = sqlite3.connect(f"{p.as_uri()}?mode=ro", uri=True)
            versions.append(conn.execute("PRAGMA user_version").fetchone()[0])
            conn.close()
        assert SCHEMA_VERSION + 1 in versions, "the newer file was not kept as a snapshot"
    else:
        assert any(sha256_file(p) == damaged_sha for p in kept), "the damaged file was not kept as a snapshot"
    bump("damaged_db", "restored_from_snapshot")


def test_evidence_survives_restore(tmp_path):
    db = tmp_path / "data" / "clusterdesk.sqlite3"
    populated(db, snapshot=True)
    with Store.open(db) as store:
        ev = {(e.draft_id, e.key, e.option, e.sha256) for d in store.list_drafts() for e in store.list_evidence(d.id)}
    damage(db, "corrupt_page")
    Store.restore(db, _latest_snapshot(db))
    with Store.open(db) as store:
        ev2 = {(e.draft_id, e.key, e.option, e.sha256) for d in store.list_drafts() for e in store.list_evidence(d.id)}
        for e in ev2:
            import hashlib

            assert hashlib.sha256(store.read_blob(e[3])).hexdigest() == e[3]
    assert ev and ev == ev2


def test_cli_restore_from_snapshot(tmp_path, capsys):
    from clusterdesk import cli

    db = tmp_path / "data" / "clusterdesk.sqlite3"
    original = populated(db, snapshot=True)
    damage(db, "corrupt_page")
    snap = _latest_snapshot(db)
    assert cli.main(["--db", str(db), "drafts"]) == 2
    capsys.readouterr()
    assert cli.main(["--db", str(db), "restore", str(snap)]) == 0
    out = capsys.readouterr().out
    assert has_cjk(out)
    with Store.open(db) as store:
        assert {d.id: store.get_answers(d.id) for d in store.list_drafts()} == original
    bump("damaged_db", "restored_from_snapshot")


def test_cli_damage_message_points_to_the_snapshot(tmp_path, capsys):
    from clusterdesk import cli

    db = tmp_path / "data" / "clusterdesk.sqlite3"
    populated(db, snapshot=True)
    damage(db, "corrupt_page")
    assert cli.main(["--db", str(db), "drafts"]) == 2
    err = capsys.readouterr().err
    assert "快照" in err and "restore" in err, err

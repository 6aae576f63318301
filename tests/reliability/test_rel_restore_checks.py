"""Issue 19, item 3: restore checks everything a restored file could carry.

Each case starts from a real backup of the demo database and changes one thing with plain SQLite,
the way another tool (or an attacker) would: different columns, broken JSON values, a trigger
that deletes every new draft, a trigger that aborts every write, a view, an extra or a missing
index, a wrong user_version, text that is not UTF-8, a value of the wrong type for its field,
evidence whose bytes do not match their hash … Before this check, most of them were restored and
left a database the program could not use (writes aborted, new drafts vanished, reads crashed).

Each must be refused with Chinese lines (Store.restore and `clusterdesk restore`, exit 2, no
traceback), the current database byte for byte unchanged, and nothing added to its folder (no
snapshot, no temporary). A clean backup is still restored.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from rel_support import (DEMO_CQ, PYTHON, answers_by_draft, bump, child_env, folder_listing, has_cjk, record,
                         sha256_file)

from clusterdesk.store import SCHEMA_VERSION, DatabaseTooNew, Store, StoreError


@pytest.fixture(scope="module")
def good_backup(tmp_path_factory) -> Path:
    from clusterdesk.templates import import_file

    folder = tmp_path_factory.mktemp("backup")
    with Store.open(folder / "src" / "clusterdesk.sqlite3") as store:
        did = import_file(store, DEMO_CQ)
        store.set_meta(did, "note", {"k": "v"})
        return store.backup(folder / "good.sqlite3")


def _sql(*statements: str, fk_off: bool = False):
    def change(conn: sqlite3.Connection) -> None:
        if fk_off:
            conn.execute("PRAGMA foreign_keys = OFF")
        for st in statements:
            conn.execute(st)
    return change


def _rebuild_answers_with_other_columns(conn: sqlite3.Connection) -> None:
    conn.execute('CREATE TABLE draft_answer_new (draft_id INTEGER NOT NULL, "key" TEXT NOT NULL, value TEXT, '
                 'note TEXT, PRIMARY KEY (draft_id, "key"))')
    conn.execute('INSERT INTO draft_answer_new SELECT draft_id, "key", value_json, note FROM draft_answer')
    conn.execute("DROP TABLE draft_answer")
    conn.execute("ALTER TABLE draft_answer_new RENAME TO draft_answer")


def _version(v: int):
    return lambda conn: conn.execute(f"PRAGMA user_version = {v}")


CASES = {
    "extra_column": _sql("ALTER TABLE draft_answer ADD COLUMN source TEXT"),
    "different_columns": _rebuild_answers_with_other_columns,
    "broken_json": _sql("""UPDATE draft_answer SET value_json = '{"broken' WHERE "key" = 'basic.area'"""),
    "nan_json": _sql("""UPDATE draft_answer SET value_json = 'NaN' WHERE "key" = 'basic.area'"""),
    "trigger_deletes_new_drafts": _sql(
        "CREATE TRIGGER eat_drafts AFTER INSERT ON draft BEGIN DELETE FROM draft WHERE id = NEW.id; END"),
    "trigger_aborts_every_write": _sql(
        "CREATE TRIGGER no_writes BEFORE UPDATE ON store_state BEGIN SELECT RAISE(ABORT, 'no'); END"),
    "view": _sql("CREATE VIEW all_answers AS SELECT * FROM draft_answer"),
    "extra_index": _sql("CREATE INDEX ix_note ON draft_answer (note)"),
    "missing_index": _sql("DROP INDEX ix_draft_uuid"),
    "extra_table": _sql("CREATE TABLE notes (t TEXT)"),
    "user_version_0": _version(0),
    "user_version_too_new": _version(SCHEMA_VERSION + 1),
    "no_application_id": _sql("PRAGMA application_id = 0"),
    "text_not_utf8": _sql("UPDATE draft SET title = CAST(X'E99B86E7BEA4E4' AS TEXT)"),
    "value_is_a_blob": _sql("""UPDATE draft_answer SET value_json = X'00FF00' WHERE "key" = 'basic.area'"""),
    "bad_timestamp": _sql("UPDATE draft SET updated_at = '昨天下午'"),
    "wrong_shape_for_the_field": _sql(
        """UPDATE draft_answer SET value_json = '{"面积": 12}' WHERE "key" = 'basic.area'"""),
    "evidence_without_its_file": _sql("DELETE FROM blob WHERE rowid = (SELECT min(rowid) FROM blob)", fk_off=True),
    "evidence_bytes_changed": _sql("UPDATE blob SET data = zeroblob(size) WHERE rowid = (SELECT min(rowid) FROM blob)"),
    "evidence_size_wrong": _sql("UPDATE blob SET size = size + 1 WHERE rowid = (SELECT min(rowid) FROM blob)"),
    "change_counter_missing": _sql("DELETE FROM store_state"),
}


def hostile(good: Path, folder: Path, case: str) -> Path:
    bad = folder / f"{case}.sqlite3"
    shutil.copyfile(good, bad)
    conn = sqlite3.connect(bad, isolation_level=None)
    try:
        CASES[case](conn)
    finally:
        conn.close()
    return bad


@pytest.fixture()
def current(tmp_path) -> Path:
    """The user's current database: one draft of their own."""
    db = tmp_path / "data" / "clusterdesk.sqlite3"
    with Store.open(db) as store:
        d = store.create_draft("cq-2024-application", 1, "当前的草稿")
        store.set_answers(d.id, {"basic.area": "3.50"})
    return db


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_backup_is_refused_and_nothing_changes(good_backup, current, tmp_path, case, capsys):
    bad = hostile(good_backup, tmp_path, case)
    digest, listing, before = sha256_file(current), folder_listing(current.parent), answers_by_draft(current)

    with pytest.raises(StoreError) as err:
        Store.restore(current, bad)
    lines = str(err.value).splitlines()
    assert lines and all(has_cjk(line) for line in lines), str(err.value)
    if case == "user_version_too_new":
        assert isinstance(err.value, DatabaseTooNew)
    assert sha256_file(current) == digest and folder_listing(current.parent) == listing

    from clusterdesk import cli

    assert cli.main(["--db", str(current), "restore", str(bad)]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.strip() and "Traceback" not in out.err
    assert all(has_cjk(line) for line in out.err.strip().splitlines()), out.err
    assert sha256_file(current) == digest and folder_listing(current.parent) == listing

    with Store.open(current) as store:  # still the user's database, and still writable
        assert {d.id: store.get_answers(d.id) for d in store.list_drafts()} == before
        store.set_answers(store.list_drafts()[0].id, {"basic.area": "4.00"})
    bump("restore_checks", "hostile_backups_refused")
    record("restore_checks", cases=sorted(CASES))


def test_named_problems(good_backup, current, tmp_path):
    """The lines say what is wrong, in the user's words."""
    said = {}
    for case in ("trigger_deletes_new_drafts", "view", "extra_index", "broken_json", "wrong_shape_for_the_field",
                 "text_not_utf8", "evidence_bytes_changed", "different_columns"):
        with pytest.raises(StoreError) as err:
            Store.restore(current, hostile(good_backup, tmp_path, case))
        said[case] = str(err.value)
    assert "触发器“eat_drafts”" in said["trigger_deletes_new_drafts"]
    assert "视图“all_answers”" in said["view"]
    assert "索引“ix_note”" in said["extra_index"]
    assert "表“draft_answer”的结构与本程序的不同" in said["different_columns"]
    assert "一、基本情况 · 集群占地面积（平方公里）”的填写内容已损坏" in said["broken_json"]
    assert "格式已损坏" in said["broken_json"]
    assert "集群占地面积" in said["wrong_shape_for_the_field"] and "应为数字" in said["wrong_shape_for_the_field"]
    assert "名称" in said["text_not_utf8"] and "编码已损坏" in said["text_not_utf8"]
    assert "校验值不符" in said["evidence_bytes_changed"]


def test_the_real_cli_refuses_a_trigger(good_backup, current, tmp_path):
    bad = hostile(good_backup, tmp_path, "trigger_aborts_every_write")
    digest = sha256_file(current)
    proc = subprocess.run([PYTHON, "-m", "clusterdesk", "--db", str(current), "restore", str(bad)],
                          capture_output=True, env=child_env(), timeout=120)
    err = proc.stderr.decode("utf-8")
    assert proc.returncode == 2 and "触发器“no_writes”" in err and "Traceback" not in err
    assert sha256_file(current) == digest


def test_clean_backup_is_restored(good_backup, current):
    Store.restore(current, good_backup)
    with Store.open(current) as store:
        assert answers_by_draft(current) == answers_by_draft(good_backup)
        store.set_answers(store.list_drafts()[0].id, {"basic.area": "4.00"})  # writable
        assert len(store.list_snapshots()) == 1  # the state before the restore


def test_restore_over_a_damaged_current_database_still_works(good_backup, current):
    current.write_bytes(b"")
    Store.restore(current, good_backup)
    assert answers_by_draft(current) == answers_by_draft(good_backup)
    assert Store.snapshots_of(current) == []  # an empty file has nothing to keep

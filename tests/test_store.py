"""Tests for clusterdesk.store: real SQLite files in tmp_path, no mocks of SQLite."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from clusterdesk.store import (
    EVIDENCE_MAX_BYTES,
    SCHEMA_VERSION,
    DatabaseDamaged,
    DatabaseTooNew,
    DraftInfo,
    DraftNotFound,
    EvidenceError,
    EvidenceInfo,
    Store,
    StoreError,
    default_db_path,
)
from clusterdesk.store import db as store_db
from clusterdesk.store import migrations

POSIX = os.name == "posix"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "clusterdesk.sqlite3"


@pytest.fixture
def store(db_path: Path):
    s = Store.open(db_path)
    yield s
    s.close()


def raw_query(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def count_rows(store: Store, table: str) -> int:
    return raw_query(store.path, f"SELECT count(*) FROM {table}")[0][0]


# --------------------------------------------------------------------------- basics


def test_public_constants_and_default_path(monkeypatch, tmp_path):
    assert EVIDENCE_MAX_BYTES == 200 * 1024 * 1024
    assert SCHEMA_VERSION == migrations.MIGRATIONS[-1].version >= 1
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    path = default_db_path()
    assert path.name == "clusterdesk.sqlite3"
    assert path.parent.name == "ClusterDesk"
    if sys.platform.startswith("linux"):
        assert path == tmp_path / "xdg" / "ClusterDesk" / "clusterdesk.sqlite3"
        with Store.open() as s:  # None -> default path
            assert s.path == path
            assert path.is_file()


def test_create_get_list_rename(store):
    a = store.create_draft("cluster-2024", 3, "甲集群")
    b = store.create_draft("cluster-2024", 3, "乙集群")
    assert isinstance(a, DraftInfo)
    assert (a.form_id, a.form_version, a.title, a.linked_draft_id) == ("cluster-2024", 3, "甲集群", None)
    assert a.id != b.id and a.uuid != b.uuid
    assert a.created_at.tzinfo is not None and a.created_at == a.updated_at
    assert store.get_draft(a.id) == a
    assert [d.id for d in store.list_drafts()] == [b.id, a.id]  # newest updated first

    store.rename_draft(a.id, "甲集群（修改）")
    renamed = store.get_draft(a.id)
    assert renamed.title == "甲集群（修改）"
    assert renamed.updated_at > a.updated_at and renamed.created_at == a.created_at
    assert [d.id for d in store.list_drafts()] == [a.id, b.id]

    store.set_answer(b.id, "name", "x")
    assert [d.id for d in store.list_drafts()] == [b.id, a.id]


def test_missing_draft_errors_are_chinese(store):
    with pytest.raises(DraftNotFound) as info:
        store.get_draft(999)
    assert str(info.value) == "草稿 999 不存在"
    assert isinstance(info.value, StoreError)
    for call in (
        lambda: store.rename_draft(999, "x"),
        lambda: store.delete_draft(999),
        lambda: store.duplicate_draft(999, "x"),
        lambda: store.set_answer(999, "k", 1),
        lambda: store.get_answers(999),
        lambda: store.set_meta(999, "year", 2023),
        lambda: store.add_evidence_bytes(999, "k", "o", "a.txt", b"x"),
        lambda: store.create_draft("f", 1, "t", linked_draft_id=999),
    ):
        with pytest.raises(DraftNotFound):
            call()
    assert store.list_drafts() == []
    assert count_rows(store, "draft_answer") == 0


def test_uuid_and_links(store):
    base = store.create_draft("f", 1, "2023", uuid="shared-uuid")
    again = store.create_draft("f", 1, "2023 导入", uuid="shared-uuid")
    linked = store.create_draft("f", 2, "2024", linked_draft_id=base.id)
    assert linked.linked_draft_id == base.id
    assert {d.id for d in store.find_drafts_by_uuid("shared-uuid")} == {base.id, again.id}
    assert store.find_drafts_by_uuid("nope") == []
    store.delete_draft(base.id)
    assert store.get_draft(linked.id).linked_draft_id is None
    assert [d.id for d in store.find_drafts_by_uuid("shared-uuid")] == [again.id]


def test_closed_store_refuses_work(db_path):
    s = Store.open(db_path)
    d = s.create_draft("f", 1, "t")
    s.close()
    s.close()  # idempotent
    with pytest.raises(StoreError, match="已关闭"):
        s.get_draft(d.id)
    with Store.open(db_path) as s2:
        assert s2.get_draft(d.id).title == "t"
    assert s2.closed


# --------------------------------------------------------------------------- answers, notes, meta


def test_set_answer_persists_across_reopen(db_path):
    with Store.open(db_path) as s:
        d = s.create_draft("f", 1, "t")
        s.set_answer(d.id, "revenue", 1234.5)
        s.set_answer(d.id, "products", ["钢材", "铝材"])
        s.set_answer(d.id, "table", {"rows": [{"a": 1, "b": None}]}, note="按年报调整")
    with Store.open(db_path) as s:
        assert s.get_answers(d.id) == {
            "revenue": 1234.5,
            "products": ["钢材", "铝材"],
            "table": {"rows": [{"a": 1, "b": None}]},
        }
        assert s.get_notes(d.id) == {"table": "按年报调整"}


def test_none_deletes_answer_and_note(store):
    d = store.create_draft("f", 1, "t")
    store.set_answer(d.id, "a", 1, note="原因")
    store.set_answer(d.id, "b", 2)
    store.set_answer(d.id, "a", None)
    assert store.get_answers(d.id) == {"b": 2}
    assert store.get_notes(d.id) == {}
    store.set_answer(d.id, "missing", None)  # deleting what is not there is fine
    assert store.get_answers(d.id) == {"b": 2}


def test_note_is_written_with_its_value(store):
    d = store.create_draft("f", 1, "t")
    store.set_answer(d.id, "a", 10, note="手工覆盖计算值")
    assert store.get_notes(d.id) == {"a": "手工覆盖计算值"}
    store.set_answer(d.id, "a", 11)  # the pair is stored as given: no note now
    assert store.get_notes(d.id) == {}
    store.set_answer(d.id, "a", 12, note="新原因")
    store.set_answer(d.id, "a", 12, note="")  # empty string = no note
    assert store.get_notes(d.id) == {}
    assert store.get_answers(d.id) == {"a": 12}


def test_note_without_value(store):
    d = store.create_draft("f", 1, "t")
    store.set_answer(d.id, "blank", None, note="本年度无此项")
    assert store.get_answers(d.id) == {}
    assert store.get_notes(d.id) == {"blank": "本年度无此项"}
    store.set_answer(d.id, "blank", 5)
    assert (store.get_answers(d.id), store.get_notes(d.id)) == ({"blank": 5}, {})
    # notes-only keys in set_answers change the note and keep the value
    store.set_answers(d.id, {}, notes={"blank": "补充说明", "other": "仅备注"})
    assert store.get_answers(d.id) == {"blank": 5}
    assert store.get_notes(d.id) == {"blank": "补充说明", "other": "仅备注"}
    store.set_answers(d.id, {}, notes={"blank": None, "other": ""})
    assert (store.get_answers(d.id), store.get_notes(d.id)) == ({"blank": 5}, {})
    assert count_rows(store, "draft_answer") == 1  # the note-only row is gone


def test_set_answer_bumps_updated_at_and_data_version(store):
    d = store.create_draft("f", 1, "t")
    v0 = store.data_version()
    store.set_answer(d.id, "a", 1)
    assert store.data_version() == v0 + 1
    assert store.get_draft(d.id).updated_at > d.updated_at


def test_set_answers_bulk(store):
    d = store.create_draft("f", 1, "t")
    store.set_answers(d.id, {"a": 1, "b": "二", "c": [3]}, notes={"b": "说明"})
    store.set_answers(d.id, {"a": None, "c": [4]}, notes={"b": "新说明"})
    assert store.get_answers(d.id) == {"b": "二", "c": [4]}
    assert store.get_notes(d.id) == {"b": "新说明"}


def test_set_answers_is_all_or_nothing_on_bad_value(store):
    d = store.create_draft("f", 1, "t")
    store.set_answer(d.id, "a", "old")
    before_version = store.data_version()
    before_updated = store.get_draft(d.id).updated_at
    with pytest.raises(StoreError):
        store.set_answers(d.id, {"a": "new", "b": 2, "bad": object()})
    with pytest.raises(StoreError):
        store.set_answers(d.id, {"a": "new", "nan": float("nan")})
    assert store.get_answers(d.id) == {"a": "old"}
    assert store.data_version() == before_version
    assert store.get_draft(d.id).updated_at == before_updated


def test_set_answers_rolls_back_partial_writes(store):
    # A failure inside the transaction, after some rows were already written,
    # must undo those rows too.  A temporary trigger on this connection makes
    # the insert of key "boom" fail.
    d = store.create_draft("f", 1, "t")
    store.set_answers(d.id, {"a": "old", "c": "keep"}, notes={"a": "旧备注"})
    store._raw.execute(
        "CREATE TEMP TRIGGER fail_boom BEFORE INSERT ON draft_answer WHEN NEW.key = 'boom' "
        "BEGIN SELECT RAISE(ABORT, 'boom'); END"
    )
    before_version = store.data_version()
    with pytest.raises(StoreError):
        store.set_answers(d.id, {"a": "new", "b": 2, "c": None, "boom": 1}, notes={"b": "说明"})
    assert store.get_answers(d.id) == {"a": "old", "c": "keep"}
    assert store.get_notes(d.id) == {"a": "旧备注"}
    assert store.data_version() == before_version
    store._raw.execute("DROP TRIGGER fail_boom")
    store.set_answers(d.id, {"a": "new", "boom": 1})
    assert store.get_answers(d.id) == {"a": "new", "boom": 1, "c": "keep"}


def test_odd_values_round_trip(store):
    d = store.create_draft("f", 1, "t")
    values = {"lone_surrogate": "a\ud800b", "emoji": "集群🏭", "empty": "", "zero": 0, "false": False, "nested": [[], {}]}
    store.set_answers(d.id, values)
    assert store.get_answers(d.id) == values
    with pytest.raises(StoreError):
        store.set_answer(d.id, "", 1)


def test_meta(db_path):
    with Store.open(db_path) as s:
        d = s.create_draft("f", 1, "t")
        s.set_meta(d.id, "year", 2023)
        s.set_meta(d.id, "sources", {"revenue": "统计局", "list": [1, 2]})
        s.set_meta(d.id, "tmp", True)
        s.set_meta(d.id, "tmp", None)
        with pytest.raises(StoreError):
            s.set_meta(d.id, "bad", {1, 2})
    with Store.open(db_path) as s:
        assert s.get_meta(d.id) == {"year": 2023, "sources": {"revenue": "统计局", "list": [1, 2]}}


# --------------------------------------------------------------------------- duplicate / delete


def test_duplicate_copies_everything_independently(store):
    base = store.create_draft("f", 1, "原稿", linked_draft_id=None)
    store.set_answers(base.id, {"a": 1, "b": {"x": "y"}}, notes={"a": "原因"})
    store.set_meta(base.id, "year", 2023)
    ev = store.add_evidence_bytes(base.id, "a", "opt1", "证明.pdf", b"%PDF-1.4 data")

    copy = store.duplicate_draft(base.id, "副本")
    assert copy.id != base.id and copy.uuid != base.uuid
    assert (copy.title, copy.form_id, copy.form_version) == ("副本", "f", 1)
    assert store.get_answers(copy.id) == {"a": 1, "b": {"x": "y"}}
    assert store.get_notes(copy.id) == {"a": "原因"}
    assert store.get_meta(copy.id) == {"year": 2023}
    [copied_ev] = store.list_evidence(copy.id)
    assert (copied_ev.key, copied_ev.option, copied_ev.filename, copied_ev.sha256, copied_ev.size) == (
        "a", "opt1", "证明.pdf", ev.sha256, ev.size
    )
    assert copied_ev.id != ev.id
    assert count_rows(store, "blob") == 1  # shared, not copied

    store.set_answer(copy.id, "a", 2)
    assert store.get_answers(base.id)["a"] == 1
    store.delete_draft(base.id)
    assert store.read_blob(ev.sha256) == b"%PDF-1.4 data"  # still referenced by the copy
    assert store.get_answers(copy.id) == {"a": 2, "b": {"x": "y"}}


def test_delete_draft_removes_rows_and_unreferenced_blobs(store):
    keep = store.create_draft("f", 1, "keep")
    gone = store.create_draft("f", 1, "gone")
    store.set_answer(gone.id, "a", 1, note="n")
    store.set_meta(gone.id, "year", 2023)
    store.add_evidence_bytes(gone.id, "a", "", "only-here.pdf", b"%PDF-1.4 only here")
    shared = store.add_evidence_bytes(gone.id, "a", "", "shared.pdf", b"%PDF-1.4 shared bytes")
    store.add_evidence_bytes(keep.id, "b", "", "shared-too.pdf", b"%PDF-1.4 shared bytes")

    store.delete_draft(gone.id)
    with pytest.raises(DraftNotFound):
        store.get_draft(gone.id)
    assert [d.id for d in store.list_drafts()] == [keep.id]
    for table in ("draft_answer", "draft_meta"):
        assert count_rows(store, table) == 0
    assert raw_query(store.path, "SELECT count(*) FROM evidence WHERE draft_id = ?", (gone.id,)) == [(0,)]
    assert raw_query(store.path, "SELECT sha256 FROM blob") == [(shared.sha256,)]


# --------------------------------------------------------------------------- evidence


def test_evidence_copy_dedupe_and_order(store, tmp_path):
    d1 = store.create_draft("f", 1, "一")
    d2 = store.create_draft("f", 1, "二")
    src = tmp_path / "营业执照.pdf"
    content = b"%PDF-" + os.urandom(3000)
    src.write_bytes(content)

    e1 = store.add_evidence(d1.id, "license", "yes", src)
    e2 = store.add_evidence(d1.id, "license", "yes", tmp_path / "营业执照.pdf")
    e3 = store.add_evidence(d2.id, "license", "yes", str(src))
    e0 = store.add_evidence_bytes(d1.id, "award", "a", "奖状.jpg", b"\xff\xd8\xff jpg")
    assert isinstance(e1, EvidenceInfo)
    assert (e1.filename, e1.size, e1.sha256) == ("营业执照.pdf", len(content), hashlib.sha256(content).hexdigest())
    assert (e1.position, e2.position, e3.position) == (0, 1, 0)
    assert count_rows(store, "blob") == 2  # same bytes stored once
    assert store.read_blob(e1.sha256) == content
    assert [e.id for e in store.list_evidence(d1.id)] == [e0.id, e1.id, e2.id]  # by key, option, position
    assert store.list_evidence(d2.id) == [e3]


def test_source_deleted_after_add_is_still_readable_and_exportable(store, tmp_path):
    d = store.create_draft("f", 1, "t")
    src = tmp_path / "a:b?.pdf" if POSIX else tmp_path / "ab.pdf"
    src.write_bytes(b"%PDF-1.4 evidence bytes")
    ev = store.add_evidence(d.id, "k", "o", src)
    src.unlink()
    assert store.read_blob(ev.sha256) == b"%PDF-1.4 evidence bytes"

    out = tmp_path / "out"
    out.mkdir()
    first = store.export_evidence(ev.id, out)
    second = store.export_evidence(ev.id, out)
    assert first.parent == out and second.parent == out and first != second
    assert first.read_bytes() == second.read_bytes() == b"%PDF-1.4 evidence bytes"
    assert ":" not in first.name and "?" not in first.name
    assert second.name.endswith(" (2).pdf")
    with pytest.raises(EvidenceError):
        store.export_evidence(ev.id, tmp_path / "no-such-dir")


def test_removing_last_reference_deletes_blob(store):
    d = store.create_draft("f", 1, "t")
    a = store.add_evidence_bytes(d.id, "k", "o", "a.pdf", b"%PDF-1.4 same")
    b = store.add_evidence_bytes(d.id, "k", "o", "b.pdf", b"%PDF-1.4 same")
    store.remove_evidence(a.id)
    assert store.read_blob(b.sha256) == b"%PDF-1.4 same"
    assert [e.id for e in store.list_evidence(d.id)] == [b.id]
    store.remove_evidence(b.id)
    assert store.list_evidence(d.id) == []
    assert count_rows(store, "blob") == 0
    with pytest.raises(EvidenceError):
        store.read_blob(b.sha256)
    with pytest.raises(EvidenceError):
        store.remove_evidence(b.id)


def test_deleted_evidence_space_is_given_back(store):
    d = store.create_draft("f", 1, "t")
    ev = store.add_evidence_bytes(d.id, "k", "o", "big.pdf", b"%PDF-" + os.urandom(2 * 1024 * 1024))
    pages_with_blob = store._raw.execute("PRAGMA page_count").fetchone()[0]
    store.remove_evidence(ev.id)
    assert store._raw.execute("PRAGMA freelist_count").fetchone()[0] == 0
    assert store._raw.execute("PRAGMA page_count").fetchone()[0] < pages_with_blob - 400


def test_vanished_or_directory_source_stores_nothing(store, tmp_path):
    d = store.create_draft("f", 1, "t")
    version = store.data_version()
    missing = tmp_path / "已删除的文件.pdf"
    with pytest.raises(EvidenceError) as info:
        store.add_evidence(d.id, "k", "o", missing)
    assert "已删除的文件.pdf" in str(info.value)
    folder = tmp_path / "文件夹"
    folder.mkdir()
    with pytest.raises(EvidenceError) as info:
        store.add_evidence(d.id, "k", "o", folder)
    assert "文件夹" in str(info.value)
    assert count_rows(store, "evidence") == 0
    assert count_rows(store, "blob") == 0
    assert store.data_version() == version


def test_over_cap_is_refused(store, tmp_path, monkeypatch):
    import clusterdesk.store as pkg

    monkeypatch.setattr(pkg, "EVIDENCE_MAX_BYTES", 1024)
    d = store.create_draft("f", 1, "t")
    big = tmp_path / "大文件.pdf"
    big.write_bytes(b"x" * 1025)
    with pytest.raises(EvidenceError) as info:
        store.add_evidence(d.id, "k", "o", big)
    assert "大文件.pdf" in str(info.value) and "太大" in str(info.value)
    with pytest.raises(EvidenceError):
        store.add_evidence_bytes(d.id, "k", "o", "大.pdf", b"x" * 1025)
    exact = tmp_path / "ok.pdf"
    exact.write_bytes(b"%PDF-" + b"y" * 1019)
    assert store.add_evidence(d.id, "k", "o", exact).size == 1024
    assert count_rows(store, "evidence") == 1


def test_cap_patched_on_package_is_honoured(store, monkeypatch):
    import clusterdesk.store as pkg

    monkeypatch.setattr(pkg, "EVIDENCE_MAX_BYTES", 10)
    d = store.create_draft("f", 1, "t")
    with pytest.raises(EvidenceError):
        store.add_evidence_bytes(d.id, "k", "o", "a.bin", b"x" * 11)


def test_file_changed_between_hash_and_copy_is_refused(store, tmp_path, monkeypatch):
    d = store.create_draft("f", 1, "t")
    src = tmp_path / "changing.pdf"
    src.write_bytes(b"%PDF-1.4 version 2 of the doc")
    # First pass saw different bytes (as if the file was rewritten in between).
    monkeypatch.setattr(store_db, "hash_file", lambda path, cap: (hashlib.sha256(b"v1").hexdigest(), 25))
    with pytest.raises(EvidenceError, match="变化"):
        store.add_evidence(d.id, "k", "o", src)
    assert count_rows(store, "evidence") == 0
    assert count_rows(store, "blob") == 0


# --------------------------------------------------------------------------- file setup


def test_pragmas(store):
    raw = store._raw
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert raw.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert raw.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert raw.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    # WAL is persistent in the file header, visible to any other connection.
    assert raw_query(store.path, "PRAGMA journal_mode") == [("wal",)]


@pytest.mark.skipif(not POSIX, reason="POSIX permissions")
def test_file_and_directory_permissions(tmp_path):
    path = tmp_path / "new" / "deeper" / "db.sqlite3"
    with Store.open(path) as s:
        d = s.create_draft("f", 1, "t")
        s.set_answer(d.id, "a", 1)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
        wal = Path(str(path) + "-wal")
        assert stat.S_IMODE(wal.stat().st_mode) == 0o600
        snap = s.snapshot()
        assert stat.S_IMODE(snap.stat().st_mode) == 0o600
        assert stat.S_IMODE(snap.parent.stat().st_mode) == 0o700
        backup = s.backup(tmp_path / "backup.sqlite3")
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600


def make_populated_db(path: Path) -> int:
    with Store.open(path) as s:
        d = s.create_draft("f", 1, "t")
        s.set_answers(d.id, {f"k{i}": "内容" * 200 for i in range(60)})
        return d.id


def test_garbage_file_is_refused_unchanged(tmp_path):
    path = tmp_path / "garbage.sqlite3"
    data = b"this is not a database at all" * 100
    path.write_bytes(data)
    with pytest.raises(DatabaseDamaged) as info:
        Store.open(path)
    assert str(path) in str(info.value) and "损坏" in str(info.value)
    assert path.read_bytes() == data


def test_truncated_db_is_refused_unchanged(tmp_path):
    path = tmp_path / "db.sqlite3"
    make_populated_db(path)
    full = path.read_bytes()
    assert len(full) > 8 * 4096
    for cut in (len(full) // 2, len(full) - 4096, 50):
        truncated = full[:cut]
        path.write_bytes(truncated)
        with pytest.raises(DatabaseDamaged):
            Store.open(path)
        assert path.read_bytes() == truncated


def test_too_new_db_is_refused_unchanged(tmp_path):
    path = tmp_path / "db.sqlite3"
    make_populated_db(path)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    data = path.read_bytes()
    with pytest.raises(DatabaseTooNew) as info:
        Store.open(path)
    assert "更新版本" in str(info.value)
    assert path.read_bytes() == data


def test_foreign_sqlite_db_is_refused_unchanged(tmp_path):
    path = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO customers (name) VALUES ('x')")
    conn.commit()
    conn.close()
    data = path.read_bytes()
    with pytest.raises(DatabaseDamaged, match="不是集群申报助手的数据库"):
        Store.open(path)
    assert path.read_bytes() == data


def test_empty_existing_file_is_refused_unchanged(tmp_path):
    # A new database appears complete (built under a temporary name): an existing empty file is
    # never one of ours half-made, it is one whose data is gone, and is never reused.
    path = tmp_path / "empty.sqlite3"
    path.write_bytes(b"")
    with pytest.raises(DatabaseDamaged, match="空的"):
        Store.open(path)
    assert path.read_bytes() == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.sqlite3"]


def test_missing_file_is_created_complete(tmp_path):
    path = tmp_path / "new" / "db.sqlite3"
    with Store.open(path) as s:
        assert s.create_draft("f", 1, "t").id == 1
        assert s.startup_check is None
    assert raw_query(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert raw_query(path, "PRAGMA auto_vacuum") == [(2,)]  # incremental
    assert sorted(p.name for p in path.parent.iterdir()) == ["db.sqlite3"]  # no lock file, no temporary


def test_models_match_migrated_schema(store):
    from sqlmodel import SQLModel

    from clusterdesk.store.models import STORE_TABLES

    assert STORE_TABLES == migrations.V1_TABLES
    for table in STORE_TABLES:
        model_cols = {c.name for c in SQLModel.metadata.tables[table].columns}
        db_cols = {row[1] for row in raw_query(store.path, f"PRAGMA table_info({table})")}
        assert model_cols == db_cols, table
    assert raw_query(store.path, "PRAGMA application_id") == [(migrations.APPLICATION_ID,)]


def test_rows_read_with_plain_sql_are_the_model_columns():
    """Listing drafts and reading evidence select the columns the public records name, without
    SQLModel: those names are exactly the tables' columns (an evidence record adds its file's size)."""
    from sqlmodel import SQLModel

    from clusterdesk.store.records import DraftRecord as _DraftRecord, EvidenceRecord as _EvidenceRecord

    tables = SQLModel.metadata.tables
    assert set(_DraftRecord._fields) == {c.name for c in tables["draft"].columns}
    assert set(_EvidenceRecord._fields) == {c.name for c in tables["evidence"].columns}


# --------------------------------------------------------------------------- migrations


def test_migration_snapshots_then_upgrades(tmp_path, monkeypatch):
    path = tmp_path / "db.sqlite3"
    draft_id = make_populated_db(path)

    def add_column(conn):
        conn.execute("ALTER TABLE draft ADD COLUMN archived INTEGER NOT NULL DEFAULT 0")

    steps = [*migrations.MIGRATIONS, migrations.Migration(SCHEMA_VERSION + 1, "test step", add_column)]
    monkeypatch.setattr(migrations, "MIGRATIONS", steps)
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with Store.open(path) as s:
        [snap] = s.list_snapshots()
        assert s.get_answers(draft_id)["k0"] == "内容" * 200
    assert raw_query(path, "PRAGMA user_version") == [(SCHEMA_VERSION + 1,)]
    assert "archived" in {r[1] for r in raw_query(path, "PRAGMA table_info(draft)")}
    # The snapshot is the pre-migration database.
    assert raw_query(snap, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert "archived" not in {r[1] for r in raw_query(snap, "PRAGMA table_info(draft)")}


def test_failed_migration_leaves_db_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "db.sqlite3"
    draft_id = make_populated_db(path)

    def broken(conn):
        conn.execute("CREATE TABLE half_done (x)")
        conn.execute("THIS IS NOT SQL")

    steps = [*migrations.MIGRATIONS, migrations.Migration(SCHEMA_VERSION + 1, "broken", broken)]
    monkeypatch.setattr(migrations, "MIGRATIONS", steps)
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(StoreError):
        Store.open(path)
    assert raw_query(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert raw_query(path, "SELECT count(*) FROM sqlite_master WHERE name = 'half_done'") == [(0,)]
    monkeypatch.undo()
    with Store.open(path) as s:
        assert len(s.get_answers(draft_id)) == 60


# --------------------------------------------------------------------------- snapshots, backup, restore


def test_snapshot_and_prune(store):
    d = store.create_draft("f", 1, "t")
    made = []
    for i in range(4):
        store.set_answer(d.id, "i", i)
        made.append(store.snapshot(keep=2))
    snaps = store.list_snapshots()
    assert snaps == [made[3], made[2]]  # newest first, older ones pruned
    assert all(not p.exists() for p in made[:2])
    assert made[3].parent == store.path.parent / "snapshots"
    assert made[3].name.startswith("clusterdesk-") and made[3].suffix == ".sqlite3"
    # A snapshot is a complete, self-contained (rollback-journal) copy.
    assert raw_query(made[3], "PRAGMA quick_check") == [("ok",)]
    assert raw_query(made[3], "PRAGMA journal_mode") == [("delete",)]
    assert raw_query(made[3], "SELECT value_json FROM draft_answer WHERE key = 'i'") == [("3",)]
    assert raw_query(made[2], "SELECT value_json FROM draft_answer WHERE key = 'i'") == [("2",)]
    with pytest.raises(ValueError):
        store.snapshot(keep=0)


def test_backup_and_restore_round_trip(db_path, tmp_path):
    backup_file = tmp_path / "backups" / "b.sqlite3"
    backup_file.parent.mkdir()
    with Store.open(db_path) as s:
        d = s.create_draft("f", 1, "备份时")
        s.set_answer(d.id, "a", "before")
        s.add_evidence_bytes(d.id, "a", "", "x.pdf", b"%PDF-1.4 evidence")
        assert s.backup(backup_file) == backup_file
        assert not [p for p in backup_file.parent.iterdir() if p != backup_file]  # no temp leftovers
        s.set_answer(d.id, "a", "after")
        s.rename_draft(d.id, "备份后")
        version_before_restore = s.data_version()

    Store.restore(db_path, backup_file)

    with Store.open(db_path) as s:
        assert s.get_draft(d.id).title == "备份时"
        assert s.get_answers(d.id) == {"a": "before"}
        [ev] = s.list_evidence(d.id)
        assert s.read_blob(ev.sha256) == b"%PDF-1.4 evidence"
        assert s.data_version() > version_before_restore  # never goes backwards
        # The state before the restore was kept as a snapshot.
        [snap] = s.list_snapshots()
    assert raw_query(snap, "SELECT title FROM draft") == [("备份后",)]


def test_restore_is_seen_by_open_store(db_path, tmp_path):
    backup_file = tmp_path / "b.sqlite3"
    with Store.open(db_path) as s:
        d = s.create_draft("f", 1, "t")
        s.set_answer(d.id, "a", 1)
        s.backup(backup_file)
        s.set_answer(d.id, "a", 2)
        Store.restore(db_path, backup_file)
        assert s.get_answers(d.id) == {"a": 1}
        s.set_answer(d.id, "a", 3)  # still writable afterwards
    with Store.open(db_path) as s:
        assert s.get_answers(d.id) == {"a": 3}


def test_restore_to_new_location_and_backup_into_folder(store, tmp_path):
    d = store.create_draft("f", 1, "t")
    store.set_answer(d.id, "a", "x")
    folder = tmp_path / "backups"
    folder.mkdir()
    backup_file = store.backup(folder)
    assert backup_file.parent == folder and backup_file.suffix == ".sqlite3"
    with open(backup_file, "rb") as fh:
        assert fh.read(20)[18:20] == b"\x01\x01"  # rollback-journal mode: one self-contained file
    with pytest.raises(StoreError):
        store.backup(tmp_path / "no-such-folder" / "b.sqlite3")

    new_home = tmp_path / "new-pc" / "clusterdesk.sqlite3"
    Store.restore(new_home, backup_file)
    with Store.open(new_home) as s:
        assert s.get_answers(d.id) == {"a": "x"}
        assert s.list_snapshots() == []


@pytest.mark.parametrize("kind", ["garbage", "foreign", "too_new", "missing", "truncated"])
def test_restore_refuses_bad_backup_and_keeps_current(db_path, tmp_path, kind):
    with Store.open(db_path) as s:
        d = s.create_draft("f", 1, "current")
        s.set_answer(d.id, "a", "current")
        good = s.backup(tmp_path / "good.sqlite3")
    current_bytes = db_path.read_bytes()
    bad = tmp_path / f"{kind}.sqlite3"
    expected: type[StoreError] = DatabaseDamaged
    if kind == "garbage":
        bad.write_bytes(os.urandom(8192))
    elif kind == "foreign":
        conn = sqlite3.connect(bad)
        conn.execute("CREATE TABLE notes (t TEXT)")
        conn.commit()
        conn.close()
    elif kind == "too_new":
        bad.write_bytes(good.read_bytes())
        conn = sqlite3.connect(bad)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
        conn.close()
        expected = DatabaseTooNew
    elif kind == "missing":
        expected = StoreError
    elif kind == "truncated":
        bad.write_bytes(good.read_bytes()[:4096 * 3])
    with pytest.raises(expected) as info:
        Store.restore(db_path, bad)
    assert str(info.value)  # a message for the user
    assert db_path.read_bytes() == current_bytes
    assert not (db_path.parent / "snapshots").exists()
    with Store.open(db_path) as s:
        assert s.get_answers(d.id) == {"a": "current"}


def test_restore_over_damaged_db(db_path, tmp_path):
    backup_file = tmp_path / "b.sqlite3"
    with Store.open(db_path) as s:
        d = s.create_draft("f", 1, "t")
        s.set_answer(d.id, "a", "saved")
        s.backup(backup_file)
    damaged = b"\x00garbage" * 1000
    db_path.write_bytes(damaged)
    with pytest.raises(DatabaseDamaged):
        Store.open(db_path)
    Store.restore(db_path, backup_file)
    with Store.open(db_path) as s:
        assert s.get_answers(d.id) == {"a": "saved"}
        [snap] = s.list_snapshots()
    assert snap.read_bytes() == damaged  # the damaged file is kept, not thrown away


# --------------------------------------------------------------------------- concurrency


def test_two_stores_see_each_others_commits(db_path):
    with Store.open(db_path) as one, Store.open(db_path) as two:
        d = one.create_draft("f", 1, "t")
        assert two.get_draft(d.id).title == "t"
        v = one.data_version()
        two.set_answer(d.id, "a", "from two")
        assert one.get_answers(d.id) == {"a": "from two"}
        assert one.data_version() > v
        one.set_answers(d.id, {"b": 1, "a": None})
        assert two.get_answers(d.id) == {"b": 1}
        two.delete_draft(d.id)
        assert one.list_drafts() == []


def test_concurrent_writer_process(db_path):
    # Another process writes while this one writes too: WAL + BEGIN IMMEDIATE +
    # busy timeout must let both finish without "database is locked" errors.
    child_writes = 200
    with Store.open(db_path) as s:
        d = s.create_draft("f", 1, "t")
        script = textwrap.dedent(
            f"""
            from clusterdesk.store import Store
            with Store.open({str(db_path)!r}) as s:
                for i in range({child_writes}):
                    s.set_answer({d.id}, f"child{{i}}", i)
            """
        )
        child = subprocess.Popen([sys.executable, "-c", script])
        deadline = time.monotonic() + 60
        while "child0" not in s.get_answers(d.id):
            assert child.poll() is None and time.monotonic() < deadline, "child did not start writing"
            time.sleep(0.005)
        child_busy_when_parent_started = f"child{child_writes - 1}" not in s.get_answers(d.id)
        for i in range(100):
            s.set_answer(d.id, f"parent{i}", i)
        assert child.wait(timeout=60) == 0
        answers = s.get_answers(d.id)
    assert child_busy_when_parent_started
    assert answers == {**{f"child{i}": i for i in range(child_writes)}, **{f"parent{i}": i for i in range(100)}}


def test_batch_is_one_transaction(tmp_path):
    """store.batch(): several writes commit together, or not at all."""
    s = Store.open(tmp_path / "b.sqlite3")
    before = s.data_version()
    with s.batch():
        d = s.create_draft("f", 1, "甲")
        s.set_answers(d.id, {"a.b": 1})
        s.add_evidence_bytes(d.id, "a.c", "选项", "x.pdf", b"%PDF-1.4 x")
        s.set_meta(d.id, "m", {"k": 1})
    assert s.data_version() == before + 1  # one commit
    assert s.get_answers(d.id) == {"a.b": 1} and len(s.list_evidence(d.id)) == 1
    with pytest.raises(RuntimeError):
        with s.batch():
            e = s.create_draft("f", 1, "乙")
            s.set_answers(e.id, {"a.b": 2})
            raise RuntimeError("power cut")
    assert [x.title for x in s.list_drafts()] == ["甲"]  # nothing of the failed batch is left
    s.close()

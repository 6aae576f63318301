"""Issue 19, item 4: damaged stored values, and the start-up integrity checks.

The attack: a single flipped byte in a stored answer crashed `drafts` and `dump` with a
JSONDecodeError traceback, and damaged databases were still written to. Here real single-bit
flips are made in the database file (in a stored answer's JSON, in the UTF-8 of an answer, of a
note, in a draft's information), then:

* every value is checked when read: `drafts` and `dump` name the value in Chinese with its draft
  and the field in the form's words, exit 2, no traceback (in-process and the real command);
* writes stop (another draft, `import`, `import-package`: refused, the file byte for byte
  unchanged) until the user restores a snapshot or accepts the damage (`clusterdesk repair` or
  the start-up dialog): the damaged value is kept aside as text in the draft's information
  `damaged_values`, the field is cleared, the database as it was is kept in a pinned snapshot;
* start-up runs PRAGMA quick_check, and PRAGMA integrity_check after an unclean shutdown (a
  process killed with its store open): damage only the full check sees is refused then.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from rel_support import (DEMO_CQ, PYTHON, bump, child_env, has_cjk, integrity, record,
                         open_store_answering, sha256_file, store_leftovers)

from clusterdesk.store import DatabaseDamaged, Store, ValuesDamaged, WritesStopped

ANSWER_KEY, ANSWER_WHERE = "industry.chain_status", "二、主导产业情况 · 集群产业链强链补链情况（200字以内）"
NOTE_KEY, NOTE_WHERE = "basic.authority_contact", "一、基本情况 · 区（县）中小企业主管部门 · 联系人"
MARK = "强链补链独特标记甲乙丙"
NOTE = "备注独特标记丁戊己"
META = {"说明": "元信息独特标记庚辛"}

# kind -> (bytes to find, offset in them, bit mask to flip, what the message must name)
FLIPS = {
    "answer_json": (json.dumps(MARK, ensure_ascii=False).encode(), 0, 0x01, f"“{ANSWER_WHERE}”的填写内容"),
    "answer_utf8": (MARK.encode(), len("强链补链独特标记".encode()), 0x40, f"“{ANSWER_WHERE}”的填写内容"),
    "note_utf8": (NOTE.encode(), len("备注独特标记".encode()), 0x40, f"“{NOTE_WHERE}”的备注"),
    "meta_json": (json.dumps(META, ensure_ascii=False, separators=(",", ":")).encode(), -1, 0x01, "草稿信息“独特信息”"),
}


def checkpoint(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for side in ("-wal", "-shm"):
        Path(str(db) + side).unlink(missing_ok=True)


def flip(db: Path, needle: bytes, offset: int, mask: int) -> None:
    data = bytearray(db.read_bytes())
    at = data.find(needle)
    assert at >= 0 and data.find(needle, at + 1) < 0, "the value must be in the file exactly once"
    data[at + (offset % len(needle))] ^= mask
    db.write_bytes(bytes(data))


_BUILT: dict[str, object] = {}


def build(tmp_path: Path) -> tuple[Path, int, int, str]:
    """The demo application with a marked answer, note and information, a snapshot, and a second,
    healthy draft; closed and checkpointed. Returns (db, damaged draft, healthy draft, its title).
    Built once per module, then copied (with its snapshot folder)."""
    from clusterdesk.service import DraftSession
    from clusterdesk.templates import import_file

    if not _BUILT:
        import tempfile

        base = Path(tempfile.mkdtemp(prefix="rel-damaged-")) / "data" / "clusterdesk.sqlite3"
        with Store.open(base) as store:
            did = import_file(store, DEMO_CQ)
            session = DraftSession(store, did)
            session.set(ANSWER_KEY, MARK)
            session.set_note(NOTE_KEY, NOTE)
            store.set_meta(did, "独特信息", META)
            store.snapshot()
            other = store.create_draft("cq-2024-application", 1, "第二份草稿")
            store.set_answers(other.id, {"basic.area": "12.50"})
            title = store.get_draft(did).title
            before = {"answers": store.get_answers(did), "notes": store.get_notes(did), "meta": store.get_meta(did)}
        checkpoint(base)
        _BUILT.update(base=base, ids=(did, other.id, title), before=before)
    db = tmp_path / "data" / "clusterdesk.sqlite3"
    shutil.copytree(Path(_BUILT["base"]).parent, db.parent)  # type: ignore[arg-type]
    return (db, *_BUILT["ids"])  # type: ignore[return-value]


def damaged(tmp_path: Path, kind: str) -> tuple[Path, int, int, str, dict]:
    db, did, other, title = build(tmp_path)
    needle, offset, mask, _ = FLIPS[kind]
    flip(db, needle, offset, mask)
    return db, did, other, title, _BUILT["before"]  # type: ignore[return-value]


def cli(*args: str) -> tuple[int, str, str]:
    import contextlib
    import io

    from clusterdesk import cli as cli_module

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli_module.main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("kind", sorted(FLIPS))
def test_reads_name_the_damaged_value(tmp_path, kind):
    db, did, _other, title, _ = damaged(tmp_path, kind)
    digest = sha256_file(db)
    named = FLIPS[kind][3]

    code, out, err = cli("--db", str(db), "drafts")
    assert code == 2 and "Traceback" not in err and "JSONDecodeError" not in err
    assert f"草稿“{title}”（编号 {did}）的{named}已损坏" in err, err
    assert all(has_cjk(line) for line in err.strip().splitlines()), err
    assert "停止保存" in err and "restore" in err and "repair" in err
    assert title in out and "第二份草稿" in out  # the list is still shown

    code, out, err = cli("--db", str(db), "dump", str(did))
    assert code == 2 and f"{named}已损坏" in err and "Traceback" not in err
    if kind != "meta_json":  # dump does not show a draft's information: it is named, not printed
        assert out == ""

    if kind == "answer_json":  # the real command, as a user types it (the case of the attack)
        proc = subprocess.run([PYTHON, "-m", "clusterdesk", "--db", str(db), "dump", str(did)],
                              capture_output=True, env=child_env(), timeout=120)
        err_text = proc.stderr.decode("utf-8")
        assert proc.returncode == 2 and f"{named}已损坏" in err_text and "Traceback" not in err_text
        assert all(has_cjk(line) for line in err_text.strip().splitlines()), err_text
    assert sha256_file(db) == digest  # reading never wrote
    bump("damaged_values", "damaged_reads_named")


@pytest.fixture(scope="module")
def pkg(tmp_path_factory) -> Path:
    from clusterdesk.packages import write_package
    from clusterdesk.templates import import_file

    folder = tmp_path_factory.mktemp("elsewhere")
    with Store.open(folder / "e.sqlite3") as elsewhere:
        return write_package(elsewhere, import_file(elsewhere, DEMO_CQ), folder / "p.cdpkg", documents=False)


@pytest.mark.parametrize("kind", sorted(FLIPS))
def test_writes_stop_until_restore_or_repair(tmp_path, kind, pkg):
    from clusterdesk.service import DraftSession

    db, did, other, _title, _ = damaged(tmp_path, kind)
    digest = sha256_file(db)

    with Store.open(db) as store:
        assert store.damage and all(has_cjk(d.message()) for d in store.damage)
        session = DraftSession(store, other)  # a healthy draft reads fine …
        assert session.value("basic.area") == "12.50"
        with pytest.raises(WritesStopped) as err:  # … but is not written to
            session.set("basic.area", "13")
        assert has_cjk(str(err.value)) and "repair" in str(err.value)
        with pytest.raises(WritesStopped):
            store.create_draft("cq-2024-application", 1, "新草稿")
    assert sha256_file(db) == digest

    for args in (["import", str(DEMO_CQ)], ["import-package", str(pkg)]):
        code, out, err = cli("--db", str(db), *args)
        assert code == 2 and out == "" and "停止保存" in err and "Traceback" not in err, (args, err)
        assert sha256_file(db) == digest, args
    bump("damaged_values", "writes_refused")


@pytest.mark.parametrize("kind", sorted(FLIPS))
def test_repair_keeps_the_damaged_text_aside_and_writes_resume(tmp_path, kind):
    from clusterdesk.service import DraftSession

    db, did, other, title, before = damaged(tmp_path, kind)
    damaged_bytes = db.read_bytes()
    snaps_before = set(Store.snapshots_of(db))

    code, out, err = cli("--db", str(db), "repair")
    assert code == 0 and err == "", err
    named = FLIPS[kind][3]
    assert f"草稿“{title}”（编号 {did}）的{named}" in out and "damaged_values" in out, out
    [repair_snap] = set(Store.snapshots_of(db)) - snaps_before
    assert repair_snap.with_name(repair_snap.name + ".keep").exists()  # never rotated away
    needle, offset, mask, _ = FLIPS[kind]
    bad = bytearray(needle)
    bad[offset % len(needle)] ^= mask
    assert bytes(bad) in repair_snap.read_bytes() and bytes(bad) in damaged_bytes  # the damaged state, kept

    code, out, err = cli("--db", str(db), "drafts")
    assert code == 0 and err == "" and "内容已损坏" not in out
    with Store.open(db) as store:
        assert store.damage == []
        answers, notes, meta = store.get_answers(did), store.get_notes(did), store.get_meta(did)
        aside = meta.pop("damaged_values")
        assert len(aside) == 1 and named in aside[0]["what"] and aside[0]["stored_text"]
        if kind.startswith("answer"):
            assert ANSWER_KEY not in answers
            assert answers == {k: v for k, v in before["answers"].items() if k != ANSWER_KEY}
            assert "强链补链独特标记" in aside[0]["stored_text"]  # the readable part of the text
        elif kind == "note_utf8":
            assert NOTE_KEY not in notes and answers == before["answers"]
            assert "备注独特标记" in aside[0]["stored_text"]
        else:
            assert "独特信息" not in meta and answers == before["answers"] and notes == before["notes"]
            assert "元信息独特标记庚辛" in aside[0]["stored_text"]
        DraftSession(store, other).set("basic.area", "13")  # writes go on
        assert store.get_answers(other)["basic.area"] == "13.00"
    assert integrity(db) == ["ok"]
    bump("damaged_values", "repaired")


def test_restore_instead_of_repair(tmp_path):
    db, did, other, _title, before = damaged(tmp_path, "answer_json")
    [snap] = Store.snapshots_of(db)
    code, _out, err = cli("--db", str(db), "drafts")
    assert code == 2 and str(snap) in err  # the last snapshot is named …
    code, out, err = cli("--db", str(db), "restore", str(snap))  # … and brings the value back
    assert code == 0, err
    with Store.open(db) as store:
        assert store.damage == [] and store.get_answers(did)[ANSWER_KEY] == MARK
        store.set_answers(did, {"basic.area": "1"})


def test_damage_found_while_running_stops_writes_and_a_restore_lifts_it(tmp_path):
    db, did, other, _title = build(tmp_path)
    [snap] = Store.snapshots_of(db)
    with Store.open(db) as store:
        assert store.damage == []
        conn = sqlite3.connect(db)  # another program breaks a value under the running store
        conn.execute("""UPDATE draft_answer SET value_json = '"强链' WHERE "key" = ?""", (ANSWER_KEY,))
        conn.commit()
        conn.close()
        with pytest.raises(ValuesDamaged) as err:
            store.get_answers(did)
        assert f"“{ANSWER_WHERE}”的填写内容已损坏" in str(err.value)
        with pytest.raises(WritesStopped):
            store.set_answers(other, {"basic.area": "1"})
        Store.restore(db, snap)  # e.g. from the start window's menu (the snapshot is from before draft 2)
        store.set_answers(did, {"basic.area": "1"})  # the restored file is checked again: writes resume
        assert store.get_answers(did)[ANSWER_KEY] == MARK and store.damage == []


def test_damage_pins_the_last_snapshot(tmp_path):
    db, did, other, _title, _ = damaged(tmp_path, "answer_json")
    [snap] = Store.snapshots_of(db)
    with Store.open(db) as store:
        assert store.damage
    assert snap.with_name(snap.name + ".keep").exists()


# --------------------------------------------------------------------------- start-up checks


def kill_with_store_open(db: Path) -> None:
    """A real unclean shutdown: a process with the store open is SIGKILLed."""
    code = ("import sys, time\nfrom clusterdesk.store import Store\ns = Store.open(sys.argv[1])\n"
            "s.list_drafts()\nprint('OPEN', flush=True)\ntime.sleep(120)\n")
    proc = subprocess.Popen([PYTHON, "-c", code, str(db)], stdout=subprocess.PIPE, env=child_env())
    try:
        assert proc.stdout.readline().strip() == b"OPEN"
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_unclean_shutdown_gets_the_full_check_once(tmp_path):
    db, *_ = build(tmp_path)
    with Store.open(db) as store:
        assert store.startup_check == "quick_check"
    kill_with_store_open(db)
    left = store_leftovers(db)
    assert len(left) == 1 and ".~open-" in left[0]  # the lock file of the killed process
    with Store.open(db) as store:
        assert store.startup_check == "integrity_check"
    assert store_leftovers(db) == []
    with Store.open(db) as store:
        assert store.startup_check == "quick_check"
    bump("damaged_values", "unclean_shutdowns_detected")


def flip_uuid_in_table_only(db: Path) -> None:
    """Change one character of a draft's uuid in the table's page, not in its index: the table and
    the index disagree, which only the full integrity_check finds."""
    conn = sqlite3.connect(db)
    uuid = conn.execute("SELECT uuid FROM draft ORDER BY id LIMIT 1").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'draft'").fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(db.read_bytes())
    start = (root - 1) * page_size
    at = data.find(uuid.encode(), start, start + page_size)
    assert at >= 0
    data[at] = ord("0") if data[at] != ord("0") else ord("1")
    db.write_bytes(bytes(data))


def test_full_check_after_unclean_shutdown_refuses_what_the_quick_check_misses(tmp_path):
    db, *_ = build(tmp_path)
    flip_uuid_in_table_only(db)
    # After a clean shutdown the quick check runs; it does not compare indexes with their tables.
    with Store.open(db) as store:
        assert store.startup_check == "quick_check" and store.damage == []
    kill_with_store_open(db)
    digest = sha256_file(db)
    with pytest.raises(DatabaseDamaged) as err:
        Store.open(db)
    assert "完整性检查未通过" in str(err.value)
    assert sha256_file(db) == digest
    code, out, err_text = cli("--db", str(db), "drafts")
    assert code == 2 and "完整性检查未通过" in err_text and out == ""
    assert len(store_leftovers(db)) == 1  # kept: the next start checks fully again
    [snap] = Store.snapshots_of(db)
    Store.restore(db, snap)
    with Store.open(db) as store:
        assert store.startup_check == "integrity_check" and len(store.list_drafts()) == 1
    assert store_leftovers(db) == []
    bump("damaged_values", "refused_by_full_check")


# --------------------------------------------------------------------------- the start-up dialog


@pytest.mark.parametrize("choice", ["接受损坏并继续", "用最近的快照恢复", "退出"])
def test_gui_start_names_the_damage_and_lets_the_user_choose(tmp_path, qapp, choice):
    db, did, other, title, before = damaged(tmp_path, "answer_utf8")
    digest = sha256_file(db)
    store, answerer = open_store_answering(db, [choice, None])
    first = answerer.seen[0]
    assert f"草稿“{title}”（编号 {did}）的“{ANSWER_WHERE}”的填写内容已损坏" in first and "停止保存" in first
    assert sorted(answerer.buttons[0]) == sorted(["用最近的快照恢复", "接受损坏并继续", "退出"])
    if choice == "退出":
        assert store is None and sha256_file(db) == digest
        return
    try:
        assert store is not None and store.damage == []
        if choice == "接受损坏并继续":
            assert ANSWER_WHERE in answerer.seen[1] and "已清空" in answerer.seen[1]
            assert ANSWER_KEY not in store.get_answers(did)
        else:
            assert store.get_answers(did) == before["answers"]
        store.set_answers(did, {"basic.area": "2"})  # writes go on
    finally:
        store.close()
    bump("damaged_values", "gui_dialogs")
    record("damaged_values", flips=sorted(FLIPS))


def test_wizard_shows_writes_stopped_at_the_field(tmp_path, qtbot):
    """Damage found while a draft window is open (another program broke a value of another
    draft): what the user types next is refused at the field with the Chinese reason, not lost
    silently and not written."""
    from clusterdesk.ui.app import ensure_app
    from clusterdesk.ui.draft_window import DraftWindow
    from clusterdesk.ui.qt import Qt

    ensure_app()
    db, did, other, _title = build(tmp_path)
    store = Store.open(db)
    win = DraftWindow(store, other)
    try:
        win.resize(1366, 768)
        win.show()
        qtbot.waitExposed(win)
        conn = sqlite3.connect(db)
        conn.execute("""UPDATE draft_answer SET value_json = '"强链' WHERE "key" = ?""", (ANSWER_KEY,))
        conn.commit()
        conn.close()
        with pytest.raises(ValuesDamaged):
            store.get_answers(did)  # e.g. the start window refreshing its list
        digest, version = sha256_file(db), store.data_version()
        win.jump_to("basic.area")
        ed = win.current_page().editor_for_key("basic.area")
        ed.edit.selectAll()
        qtbot.keyClicks(ed.edit, "13")
        qtbot.keyClick(ed.edit, Qt.Key.Key_Return)
        assert ed.problem_label.isVisible() and "停止保存" in ed.problem_label.text()
        assert ed.edit.text() == "13"  # the typed text stays on screen
        assert store.get_answers(other)["basic.area"] == "12.50"
        assert store.data_version() == version and sha256_file(db) == digest
    finally:
        win.close()
        store.close()

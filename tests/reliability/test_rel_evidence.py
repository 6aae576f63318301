"""5. Evidence files that vanish, change or are too big while being added.

Each case must raise EvidenceError with a Chinese message and store nothing: no evidence row, no
blob (orphan or not), the draft's updated_at and the store's change counter untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from rel_support import DEMO, bump, has_cjk, logical_state, orphan_blobs, record

import clusterdesk.store as store_pkg
from clusterdesk.store import EvidenceError, Store
from clusterdesk.store import db as store_db

KEY_TICKED, OPTION = "industry.chain_work", "绘制产业链图谱，开展产业链培育"
KEY_GENERAL = "opening.overseas_branches"


@pytest.fixture()
def session(tmp_path):
    from clusterdesk.model.form import default_catalog
    from clusterdesk.service import DraftSession, create_draft

    store = Store.open(tmp_path / "data" / "clusterdesk.sqlite3")
    form = default_catalog().get("cq-2024-application")
    info = create_draft(store, form)
    s = DraftSession(store, info.id)
    s.set(KEY_TICKED, [OPTION])
    s.add_evidence(KEY_TICKED, OPTION, DEMO / "evidence" / "产业链培育工作佐证.pdf")  # one good file already
    yield s
    store.close()


def _refused(session, make_path, key=KEY_TICKED, option=OPTION, words=()):
    store = session.store
    before = logical_state(store.path)
    version = store.data_version()
    listed = session.evidence()
    path = make_path()
    with pytest.raises(EvidenceError) as err:
        session.add_evidence(key, option, path)
    msg = str(err.value)
    assert has_cjk(msg), msg
    for w in words:
        assert w in msg, msg
    assert logical_state(store.path) == before, "something of the refused file was stored"
    assert orphan_blobs(store.path) == 0
    assert store.data_version() == version
    assert session.evidence() == listed
    bump("evidence", "refused_files")
    return msg


def _between_hash_and_copy(monkeypatch, action):
    """Run ``action(path)`` after the store hashed the file and before it copies it in."""
    original = store_db.hash_file

    def hashed_then(src, cap):
        result = original(src, cap)
        action(Path(src))
        return result

    monkeypatch.setattr(store_db, "hash_file", hashed_then)


def _file(tmp_path, name="佐证.pdf", data=b"%PDF-1.4 evidence " * 1000) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_deleted_before_adding(session, tmp_path):
    def make():
        p = _file(tmp_path)
        p.unlink()
        return p
    _refused(session, make, words=("找不到",))


def test_deleted_between_pick_and_copy(session, tmp_path, monkeypatch):
    _between_hash_and_copy(monkeypatch, lambda p: p.unlink())
    _refused(session, lambda: _file(tmp_path))


def test_becomes_a_directory_between_pick_and_copy(session, tmp_path, monkeypatch):
    def swap(p: Path):
        p.unlink()
        p.mkdir()
    _between_hash_and_copy(monkeypatch, swap)
    _refused(session, lambda: _file(tmp_path))


@pytest.mark.parametrize("change", ["same_size", "grown", "shrunk"])
def test_changed_between_pick_and_copy(session, tmp_path, monkeypatch, change):
    def edit(p: Path):
        data = p.read_bytes()
        if change == "same_size":
            p.write_bytes(data[:-4] + b"XXXX")
        elif change == "grown":
            p.write_bytes(data + b"more")
        else:
            p.write_bytes(data[: len(data) // 2])
    _between_hash_and_copy(monkeypatch, edit)
    _refused(session, lambda: _file(tmp_path), words=("变化",) if change != "shrunk" else ())


def test_a_directory(session, tmp_path):
    def make():
        d = tmp_path / "文件夹.pdf"
        d.mkdir()
        return d
    _refused(session, make, words=("文件夹",))


def test_over_a_small_cap(session, tmp_path, monkeypatch):
    monkeypatch.setattr(store_pkg, "EVIDENCE_MAX_BYTES", 1000)
    _refused(session, lambda: _file(tmp_path, data=b"x" * 1001), key=KEY_GENERAL, option=None, words=("太大",))
    with pytest.raises(EvidenceError) as err:
        session.store.add_evidence_bytes(session.draft_id, KEY_GENERAL, "佐证材料", "a.pdf", b"y" * 1001)
    assert has_cjk(str(err.value))
    assert orphan_blobs(session.store.path) == 0
    # exactly at the cap is fine
    info = session.add_evidence(KEY_GENERAL, None, _file(tmp_path, "ok.pdf", b"%PDF-" + b"z" * 995))
    assert info.size == 1000


def test_sparse_201_mb_file(session, tmp_path):
    def make():
        p = tmp_path / "扫描件.pdf"
        with open(p, "wb") as fh:
            fh.truncate(201 * 1024 * 1024)  # sparse: costs nothing on disk
        return p
    msg = _refused(session, make, key=KEY_GENERAL, option=None, words=("太大", "200"))
    record("evidence", sparse_file_message=msg)


def test_wrong_option_is_an_input_error(session, tmp_path):
    from clusterdesk.service import InputError

    before = logical_state(session.store.path)
    with pytest.raises(InputError) as err:
        session.add_evidence(KEY_TICKED, "没有这个选项", _file(tmp_path))
    assert has_cjk(str(err.value))
    assert logical_state(session.store.path) == before


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX named pipes")
def test_named_pipe_is_refused_without_hanging(session, tmp_path):
    fifo = tmp_path / "管道.pdf"
    os.mkfifo(fifo)
    outcome: dict[str, BaseException | None] = {}

    def run():
        try:
            session.add_evidence(KEY_GENERAL, None, fifo)
            outcome["error"] = None
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion below
            outcome["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(5)  # a hang detector, not a speed requirement: the call should return at once
    hung = t.is_alive()
    if hung:  # release the blocked open() so the thread finishes
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        t.join(30)
    assert not hung, "add_evidence blocked on a named pipe"
    assert isinstance(outcome.get("error"), EvidenceError)


# ----------------------------------------------------------------------------- through a template import


def _template_with_evidence(tmp_path: Path, data: bytes) -> Path:
    doc = json.loads((DEMO / "cq-2024-application.json").read_text(encoding="utf-8"))
    folder = tmp_path / "u盘"
    (folder / "evidence").mkdir(parents=True)
    for src in (DEMO / "evidence").iterdir():
        shutil.copy(src, folder / "evidence" / src.name)
    (folder / "evidence" / "境外分支机构佐证.pdf").write_bytes(data)
    target = folder / "申报.json"
    target.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return target


def test_import_with_oversized_evidence_leaves_nothing(tmp_path, monkeypatch, capsys):
    from clusterdesk import cli
    from clusterdesk.templates import TemplateError, import_file

    monkeypatch.setattr(store_pkg, "EVIDENCE_MAX_BYTES", 30_000)  # demo files are ~25 KB
    template = _template_with_evidence(tmp_path, b"%PDF-1.4 " + b"x" * 40_000)
    db = tmp_path / "data" / "clusterdesk.sqlite3"
    with Store.open(db) as store:
        keep = store.create_draft("cq-2024-application", 1, "已有草稿")
        store.set_answer(keep.id, "basic.area", "1.00")
        before = logical_state(db)
        with pytest.raises(TemplateError) as err:  # refused while checking, before the store is touched
            import_file(store, template)
        assert "境外分支机构佐证.pdf" in str(err.value) and "过大" in str(err.value)
        assert logical_state(db) == before, "a half-imported draft or its files stayed in the store"
        assert orphan_blobs(db) == 0

    code = cli.main(["--db", str(db), "import", str(template)])
    out = capsys.readouterr()
    assert code == 2 and has_cjk(out.err) and "Traceback" not in out.err
    assert logical_state(db) == before
    bump("evidence", "refused_files", 2)


def test_import_when_evidence_vanishes_after_checking(tmp_path, monkeypatch):
    from clusterdesk.templates import import_filled, read_filled

    template = _template_with_evidence(tmp_path, b"%PDF-1.4 fine")
    db = tmp_path / "data" / "clusterdesk.sqlite3"
    with Store.open(db) as store:
        before = logical_state(db)
        filled = read_filled(template)
        (template.parent / "evidence" / "境外分支机构佐证.pdf").unlink()  # USB stick pulled / file moved
        with pytest.raises(EvidenceError) as err:
            import_filled(store, filled)
        assert has_cjk(str(err.value))
        assert logical_state(db) == before
        assert orphan_blobs(db) == 0
    bump("evidence", "refused_files")

"""3. Two instances of the program on one database file.

Two processes (crash_worker.py direct) edit concurrently — each its own draft plus disjoint cells
of a shared draft — while this process takes snapshots.  Every confirmed change must be in the file
afterwards, integrity_check must pass, and a refusal is only allowed as a StoreError with a Chinese
message (reported by the worker as B/REFUSED lines).  Also: a brand-new file opened by both at the
same moment (schema creation race), and a writer that holds the lock past the busy timeout.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from copy import deepcopy
from pathlib import Path

import pytest

from rel_support import HERE, PYTHON, answers_by_draft, bump, child_env, has_cjk, integrity, record

from clusterdesk.store import Store, StoreError

WORKER = str(HERE / "crash_worker.py")


def start(db: Path, drafts: list[int], part: str, seed: int, ops: int) -> subprocess.Popen:
    p = subprocess.Popen([PYTHON, WORKER, "direct", "--db", str(db), "--drafts", ",".join(map(str, drafts)),
                          "--part", part, "--seed", str(seed), "--ops", str(ops), "--wait-go"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env())
    assert p.stdout.readline().decode().strip() == "READY"
    return p


def model_of(lines: list[str], state: dict[int, dict]) -> tuple[int, int, int | None]:
    """Apply a finished worker's confirmed operations to ``state``; returns (commits, refusals, new draft)."""
    intents: dict[int, dict] = {}
    commits = refusals = 0
    new_draft = None
    for line in lines:
        if line.startswith("DRAFT "):
            new_draft = int(line.split()[1])
            state.setdefault(new_draft, {})
        elif line.startswith("REFUSED "):
            assert has_cjk(line), line
            refusals += 1
        elif line.startswith("I "):
            op = json.loads(line[2:])
            intents[op["seq"]] = op
        elif line.startswith("B "):
            assert has_cjk(line), f"refusal without a clear message: {line}"
            refusals += 1
        elif line.startswith("C "):
            op = intents[int(line.split()[1])]
            answers = state.setdefault(op["draft"], {})
            items = op["values"].items() if op["op"] == "bulk" else [(op["key"], op["value"])]
            for k, v in items:
                if v is None:
                    answers.pop(k, None)
                else:
                    answers[k] = v
            commits += 1
    return commits, refusals, new_draft


def finish(p: subprocess.Popen) -> list[str]:
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err.decode("utf-8", "replace")[-3000:]
    text = err.decode("utf-8", "replace")
    assert "Traceback" not in text, text[-3000:]
    return out.decode("utf-8").splitlines()


def test_two_processes_write_concurrently(tmp_path):
    db = tmp_path / "shared" / "clusterdesk.sqlite3"
    with Store.open(db) as store:
        own0 = store.create_draft("cq-2024-application", 1, "甲").id
        own1 = store.create_draft("cq-2024-application", 1, "乙").id
        shared = store.create_draft("cq-2024-application", 1, "共用").id
    procs = [start(db, [own0, shared], "0/2", 11, 400), start(db, [own1, shared], "1/2", 22, 400)]
    for p in procs:
        p.stdin.write(b"GO\n")
        p.stdin.flush()
    snapshots = []
    with Store.open(db) as store:  # a third connection reading consistent copies meanwhile
        for _ in range(3):
            snapshots.append(store.snapshot(keep=10))
    results = [finish(p) for p in procs]

    state: dict[int, dict] = {own0: {}, own1: {}, shared: {}}
    commits = refusals = 0
    for lines in results:
        c, r, _ = model_of(lines, state)
        commits += c
        refusals += r
        assert lines[-1] == "DONE"
    assert integrity(db) == ["ok"]
    assert answers_by_draft(db) == state, "a confirmed change is missing or a foreign value appeared"
    for snap in snapshots:
        assert integrity(snap) == ["ok"]
        with Store.open(snap) as s:
            assert {d.id for d in s.list_drafts()} == {own0, own1, shared}
    bump("two_instances", "concurrent_commits_checked", commits)
    bump("two_instances", "refused_with_message", refusals)
    record("two_instances", snapshots_taken_during_writes=len(snapshots))
    assert commits >= 700  # almost everything got through with the 5 s busy timeout


@pytest.mark.parametrize("round_", range(2))
def test_two_processes_create_a_new_file_together(tmp_path, round_):
    db = tmp_path / f"new{round_}" / "clusterdesk.sqlite3"
    procs = [start(db, [], "0/2", 100 + round_, 60), start(db, [], "1/2", 200 + round_, 60)]
    for p in procs:
        p.stdin.write(b"GO\n")
    for p in procs:
        p.stdin.flush()
    results = [finish(p) for p in procs]
    state: dict[int, dict] = {}
    opened = 0
    for lines in results:
        _, refusals, new_draft = model_of(lines, state)
        opened += new_draft is not None
        bump("two_instances", "refused_with_message", refusals)
    assert opened >= 1
    assert integrity(db) == ["ok"]
    assert answers_by_draft(db) == state
    with Store.open(db) as s:  # schema applied exactly once, version stamped
        conn = sqlite3.connect(db)
        try:
            from clusterdesk.store import SCHEMA_VERSION

            assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        finally:
            conn.close()
        assert len(s.list_drafts()) == opened
    bump("two_instances", "simultaneous_creations", 1)


def test_lock_held_too_long_is_told_clearly(tmp_path, monkeypatch):
    from clusterdesk.service import DraftSession, create_draft
    from clusterdesk.model.form import default_catalog
    from clusterdesk.store import db as store_db

    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 300)  # the store's own connection
    path = tmp_path / "busy.sqlite3"
    store = Store.open(path)
    try:
        form = default_catalog().get("cq-2024-application")
        info = create_draft(store, form)
        session = DraftSession(store, info.id)
        session.set("basic.area", "10")
        before = answers_by_draft(path)

        other = sqlite3.connect(path, timeout=0.1, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # the other instance is in the middle of a long write
        try:
            with pytest.raises(StoreError) as err:
                session.set("basic.area", "20")
            assert has_cjk(str(err.value)) and "占用" in str(err.value), str(err.value)
            assert session.value("basic.area") == "10.00", "the session believes a refused change"
            with pytest.raises(StoreError):
                store.set_answers(info.id, {"basic.area": "30.00", "cover.district": "x"})
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert answers_by_draft(path) == before
        assert session.set("basic.area", "20") is not None  # works again once the lock is free
        assert store.get_answers(info.id)["basic.area"] == "20.00"
    finally:
        store.close()
    bump("two_instances", "refused_with_message", 2)

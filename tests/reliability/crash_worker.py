"""Child process of the crash and two-instance tests (run as a script, never collected).

It edits drafts of one store as fast as it can and reports on stdout, one line per event, each
written with a single ``os.write`` (atomic on a pipe, so a SIGKILL never leaves half a line):

    I <json>   intent: the operation about to be made, with the exact stored value(s) it will write
    C <seq>    the call returned: the operation is committed
    B <seq> <message>   the store refused it (e.g. busy) with this Chinese message
    READY / DONE

Modes
  zygote   : imports everything once, then for every JSON request on stdin forks a child that
             opens the store and works until the parent SIGKILLs it (saves ~1 s of start-up per run).
             A request's "job" picks the work: "edit" (default, above), "export" (export_draft into
             a folder), "compile" (compile_district) or "start" (the start-up clean-up the command
             line and the GUI run); "kill_at" makes the child SIGKILL itself at a chosen point of a
             publish ("journal": right after the journal is written; "move:N": after the N-th file
             was moved in; "store": right after a compile's store transaction committed).
  direct   : one cold process doing the same work (killed by the parent, or ``--ops N`` then exit 0).
  title    : sets the draft's title field and is SIGKILLed between the two writes DraftSession makes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys

from clusterdesk.model.form import default_catalog
from clusterdesk.service import DraftSession, create_draft, parse_cell
from clusterdesk.store import Store, StoreError

FORM_ID = "cq-2024-application"
BULK_MARKER = "reliability.bulk_marker"

FORM = default_catalog().get(FORM_ID)
TITLE_KEY = FORM.form.title_field
KEYS = [c.key for c in FORM.answerable_cells
        if c.key != TITLE_KEY and c.field.type in ("text", "narrative", "number", "percent", "integer", "matrix",
                                                    "choice", "boxes")]
FULLWIDTH = str.maketrans("0123456789.", "０１２３４５６７８９．")
SPICE = "集群申报数控机床永川😀🏭—「」，。、ａｂｃ \t"


def emit(line: str) -> None:
    data = (line + "\n").encode("utf-8")
    assert len(data) < 4000, "keep lines below PIPE_BUF so they are written atomically"
    os.write(1, data)


def raw_value(rng: random.Random, key: str, seq: int):
    """Something a user might type into this cell (the store keeps the parsed value)."""
    cell = FORM.cell(key)
    f = cell.field
    t = "integer" if f.type == "matrix" else f.type
    if rng.random() < 0.05:
        return [] if t == "boxes" else ""  # clearing the cell
    if t in ("text", "narrative"):
        return f"v{seq}-" + "".join(rng.choice(SPICE) for _ in range(rng.randint(0, 12)))
    if t == "choice":
        return rng.choice(f.options)
    if t == "boxes":
        return rng.sample(list(f.options), rng.randint(0, len(f.options)))
    if t == "integer":
        n = rng.randint(0, 5000)
        return rng.choice([str(n), f"{n:,}", str(n).translate(FULLWIDTH), n])
    lo = float(f.min) if f.min is not None else 0.0
    hi = float(f.max) if f.max is not None else 100000.0
    x = round(rng.uniform(lo, hi), 2)
    text = f"{x:.2f}"
    return rng.choice([text, text.translate(FULLWIDTH), f"{x:,.2f}", text + (f.unit or "")])


def work(db: str, drafts: list[int], seed: int, ops: int | None, part: tuple[int, int] = (0, 1)) -> None:
    rng = random.Random(seed)
    keys_mine = [k for i, k in enumerate(KEYS) if i % part[1] == part[0]]
    try:
        store = Store.open(db)
    except StoreError as exc:  # allowed only with a clear (Chinese) message, checked by the parent
        emit(f"REFUSED {str(exc)[:300]}")
        return
    emit("OPEN")
    if not drafts:
        drafts = [create_draft(store, FORM).id]
        emit(f"DRAFT {drafts[0]}")
    sessions = {d: DraftSession(store, d) for d in drafts}
    seq = 0
    while ops is None or seq < ops:
        seq += 1
        draft = rng.choice(drafts)
        session = sessions[draft]
        roll = rng.random()
        try:
            if roll < 0.08:
                # bulk: several cells plus the marker, all in one transaction
                keys = rng.sample(keys_mine, rng.randint(2, 12))
                values = {k: parse_cell(FORM, k, raw_value(rng, k, seq)) for k in keys}
                values[f"{BULK_MARKER}.{part[0]}"] = f"bulk-{seq}"
                emit("I " + json.dumps({"seq": seq, "op": "bulk", "draft": draft, "values": values},
                                       ensure_ascii=False))
                store.set_answers(draft, values)
                emit(f"C {seq}")
                sessions[draft] = DraftSession(store, draft)  # its cache must see the bulk write
            elif roll < 0.13 and session.can_undo:
                c = session._undo[-1]
                emit("I " + json.dumps({"seq": seq, "op": "undo", "draft": draft, "key": c.key, "value": c.old},
                                       ensure_ascii=False))
                session.undo()
                emit(f"C {seq}")
            elif roll < 0.16 and session.can_redo:
                c = session._redo[-1]
                emit("I " + json.dumps({"seq": seq, "op": "redo", "draft": draft, "key": c.key, "value": c.new},
                                       ensure_ascii=False))
                session.redo()
                emit(f"C {seq}")
            elif roll < 0.17 and ops is None:
                emit("I " + json.dumps({"seq": seq, "op": "create"}))
                info = create_draft(store, FORM)
                emit(f"C {seq} {info.id}")
            else:
                key = rng.choice(keys_mine)
                raw = raw_value(rng, key, seq)
                value = parse_cell(FORM, key, raw)
                emit("I " + json.dumps({"seq": seq, "op": "set", "draft": draft, "key": key, "value": value},
                                       ensure_ascii=False))
                session.set(key, raw)
                emit(f"C {seq}")
        except StoreError as exc:  # e.g. the other instance held the lock too long
            emit(f"B {seq} {str(exc)[:300]}")
    store.close()
    emit("DONE")


def _die(*_a, **_k) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _kill_at(point: str | None) -> None:
    """Install a SIGKILL at one point of a publish into the user's folder (see the module
    docstring); the publishes of a compile's documents inside its own build folder don't count."""
    from clusterdesk.export import publish
    from clusterdesk.export.leftovers import is_ours
    from clusterdesk.packages import compile as district  # where the compile builds and publishes

    def users(folder) -> bool:
        return not any(is_ours(part) for part in folder.parts)

    if not point:
        return
    if point == "journal":
        real_journal = publish.write_journal

        def journal(root, data):
            real_journal(root, data)
            if data["state"] == "commit" and users(root.parent):
                _die()

        publish.write_journal = journal
    elif point.startswith("move:"):
        n = int(point.split(":")[1])
        real_forward = publish.forward
        moved = [0]

        def forward(root, dest, op, kept):
            real_forward(root, dest, op, kept)
            if users(dest):
                moved[0] += 1
                if moved[0] == n:
                    _die()

        publish.forward = forward
    elif point == "store":
        district._build_and_publish = _die
    else:
        raise ValueError(point)


def export_job(req: dict) -> None:
    from pathlib import Path

    from clusterdesk.export.api import export_draft

    store = Store.open(req["db"])
    if req.get("mark") is not None:  # new content, so the new set differs from the old one
        store.set_answer(req["draft"], req["mark_key"], req["mark"])
    _kill_at(req.get("kill_at"))
    emit("GO")
    result = export_draft(store, req["draft"], Path(req["out"]), pdf=req.get("pdf", False))
    emit("DONE " + json.dumps({"files": [str(f) for f in result.files], "messages": result.messages},
                              ensure_ascii=False))


def compile_job(req: dict) -> None:
    from pathlib import Path

    from clusterdesk.packages.district import District, compile_district

    store = Store.open(req["db"])
    _kill_at(req.get("kill_at"))
    emit("GO")
    result = compile_district(store, District(**req["district"]), req["sources"], Path(req["out"]),
                              allow_draft=True, pdf=req.get("pdf", False))
    emit("DONE " + json.dumps({"folder": str(result.folder), "messages": result.messages}, ensure_ascii=False))


def start_job(req: dict) -> None:
    from clusterdesk.export.leftovers import startup_cleanup

    report = startup_cleanup(req["data_dir"])
    emit("DONE " + json.dumps({"removed": report.removed, "notes": report.notes}, ensure_ascii=False))


JOBS = {"export": export_job, "compile": compile_job, "start": start_job}


def zygote() -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    # what the jobs use, imported once before forking
    import clusterdesk.export.api  # noqa: F401
    import clusterdesk.export.leftovers  # noqa: F401
    import clusterdesk.packages.district  # noqa: F401

    emit("READY")
    for line in sys.stdin:
        req = json.loads(line)
        pid = os.fork()
        if pid == 0:  # the child: work until killed
            try:
                job = JOBS.get(req.get("job", "edit"))
                if job is None:
                    work(req["db"], req["drafts"], req["seed"], None)
                else:
                    job(req)
            except BaseException as exc:  # reported to the parent, which decides
                emit(f"ERROR {type(exc).__name__}: {str(exc)[:1000]}")
            finally:
                os._exit(0)
        emit(f"PID {pid}")
        _, status = os.waitpid(pid, 0)
        emit(f"REAPED {status}")


def title_crash(db: str, draft: int, title: str) -> None:
    store = Store.open(db)
    session = DraftSession(store, draft)

    def die(*_a, **_k):
        os.kill(os.getpid(), signal.SIGKILL)  # power cut right after the answer was committed

    store.rename_draft = die  # type: ignore[method-assign]
    emit("I " + json.dumps({"key": TITLE_KEY, "value": title}, ensure_ascii=False))
    session.set(TITLE_KEY, title)
    emit("NOT KILLED")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["zygote", "direct", "title"])
    ap.add_argument("--db")
    ap.add_argument("--drafts", default="")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ops", type=int)
    ap.add_argument("--title", default="")
    ap.add_argument("--wait-go", action="store_true")
    ap.add_argument("--part", default="0/1", help="i/n: use only every n-th cell key, starting at i")
    a = ap.parse_args()
    if a.mode == "zygote":
        zygote()
    elif a.mode == "title":
        title_crash(a.db, int(a.drafts), a.title)
    else:
        emit("READY")
        if a.wait_go:
            sys.stdin.readline()
        i, n = (int(x) for x in a.part.split("/"))
        work(a.db, [int(x) for x in a.drafts.split(",") if x], a.seed, a.ops, (i, n))


if __name__ == "__main__":
    main()

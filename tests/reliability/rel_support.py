"""Shared helpers of the reliability suite (not a test module).

Kept free of pytest fixtures so the helper scripts started as child processes can import it too.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import queue
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DEMO = ROOT / "demo"
DEMO_CQ = DEMO / "cq-2024-application.json"
PYTHON = sys.executable
LAST_RUN = HERE / "last_run.json"
FORM_ID = "cq-2024-application"

_CJK = re.compile(r"[\u3400-\u9fff]")

# Figures of this run, merged into last_run.json at the end of the session (see conftest.py).
STATS: dict[str, dict[str, Any]] = {}


def record(section: str, **figures: Any) -> None:
    STATS.setdefault(section, {}).update(figures)


def bump(section: str, name: str, by: int = 1) -> None:
    sec = STATS.setdefault(section, {})
    sec[name] = sec.get(name, 0) + by


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text or ""))


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env["PYTHONUNBUFFERED"] = "1"
    env["CLUSTERDESK_TEST"] = "1"
    env.pop("PYTHONHASHSEED", None)
    return env


POSIX = os.name == "posix"
IS_ROOT = POSIX and os.geteuid() == 0


# --------------------------------------------------------------------------- small file systems (root)


def mount_tmpfs(target: Path, options: str) -> bool:
    target.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], capture_output=True)
    return r.returncode == 0


def umount(target: Path) -> None:
    subprocess.run(["umount", "-l", str(target)], capture_output=True)


def can_mount(tmp: Path) -> bool:
    if not IS_ROOT or shutil.which("mount") is None:
        return False
    probe = tmp / "probe"
    if mount_tmpfs(probe, "size=64k"):
        umount(probe)
        return True
    return False


def fill_disk(folder: Path, leave: int, name: str = "filler.bin") -> Path:
    """Fill the file system of ``folder`` until ``leave`` bytes are free; returns the filler."""
    st = os.statvfs(folder)
    free = st.f_bavail * st.f_frsize
    with open(folder / name, "wb") as fh:
        fh.write(b"\0" * max(0, free - leave))
    return folder / name


# --------------------------------------------------------------------------- child processes


class Reader:
    """Reads a child's stdout in a thread so the child never blocks on a full pipe."""

    def __init__(self, proc: subprocess.Popen):
        self.q: queue.Queue[str | None] = queue.Queue()
        self.t = threading.Thread(target=self._run, args=(proc.stdout,), daemon=True)
        self.t.start()

    def _run(self, fh) -> None:
        for raw in fh:
            self.q.put(raw.decode("utf-8"))
        self.q.put(None)

    def until(self, prefix: str, timeout: float = 60) -> tuple[list[str], str]:
        lines: list[str] = []
        while True:
            line = self.q.get(timeout=timeout)
            if line is None:
                raise AssertionError(f"child ended before {prefix!r}; got {lines[-5:]}")
            if line.startswith(prefix):
                return lines, line
            lines.append(line)

    def confirmations(self, count: int, timeout: float = 60) -> list[str]:
        """Every line up to and including the ``count``-th confirmed operation ("C …"): the kill
        then lands after a number of commits, not after a time, whatever the machine's load."""
        lines: list[str] = []
        seen = 0
        while seen < count:
            line = self.q.get(timeout=timeout)
            if line is None:
                raise AssertionError(f"child ended after {seen} of {count} commits; got {lines[-5:]}")
            lines.append(line)
            seen += line.startswith("C ")
        return lines


class Zygote:
    """crash_worker.py's zygote: one job per forked child, optionally SIGKILLed after a delay."""

    def __init__(self, env: dict[str, str] | None = None):
        self.proc = subprocess.Popen([PYTHON, str(HERE / "crash_worker.py"), "zygote"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env or child_env())
        self.reader = Reader(self.proc)
        self.reader.until("READY", timeout=120)

    def run(self, req: dict[str, Any], kill_after: float | None = None, timeout: float = 300) -> tuple[str, list[str]]:
        """Returns ("killed" | "done" | "error", the child's lines). ``kill_after``: seconds after
        the child reported GO (its store open); None lets it finish."""
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(req, ensure_ascii=False) + "\n").encode("utf-8"))
        self.proc.stdin.flush()
        # the child writes to the same pipe as the zygote: its first lines may come before "PID"
        pre, pid_line = self.reader.until("PID ", timeout)
        pid = int(pid_line.split()[1])
        if kill_after is not None:
            if not any(ln.startswith(("GO", "ERROR")) for ln in pre):
                head, line = self.reader.until("", timeout)  # the first line: GO, or an early ERROR
                pre += head + [line]
            if any(ln.startswith("GO") for ln in pre):
                time.sleep(kill_after)
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        lines, reaped = self.reader.until("REAPED ", timeout)
        lines = pre + lines
        status = int(reaped.split()[1])
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
            return "killed", lines
        if any(ln.startswith("ERROR ") for ln in lines):
            return "error", lines
        return "done", lines

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def done_payload(lines: list[str]) -> dict[str, Any]:
    line = next(ln for ln in lines if ln.startswith("DONE "))
    return json.loads(line[5:])


# --------------------------------------------------------------------------- leftovers


def our_entries(folder: Path) -> list[str]:
    """Names of the program's temporary entries directly in ``folder`` (any process)."""
    from clusterdesk.export.leftovers import is_ours

    try:
        return sorted(e.name for e in os.scandir(folder) if is_ours(e.name))
    except FileNotFoundError:
        return []


# --------------------------------------------------------------------------- SQLite inspection


def integrity(path: Path) -> list[str]:
    """PRAGMA integrity_check of a database file, through a plain connection (may replay a WAL)."""
    conn = sqlite3.connect(path, timeout=10)
    try:
        return [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
    finally:
        conn.close()


def foreign_key_problems(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path, timeout=10)
    try:
        return conn.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        conn.close()


def logical_state(path: Path) -> dict[str, Any]:
    """Everything a user could see in a store file, independent of counters and page layout."""
    conn = sqlite3.connect(path, timeout=10)
    try:
        drafts = conn.execute(
            "SELECT id, uuid, form_id, form_version, title, created_at, updated_at FROM draft ORDER BY id"
        ).fetchall()
        answers = conn.execute(
            'SELECT draft_id, "key", value_json, note FROM draft_answer ORDER BY draft_id, "key"'
        ).fetchall()
        meta = conn.execute('SELECT draft_id, "key", value_json FROM draft_meta ORDER BY draft_id, "key"').fetchall()
        evidence = conn.execute(
            'SELECT id, draft_id, "key", option, filename, sha256, position FROM evidence ORDER BY id'
        ).fetchall()
        blobs = conn.execute("SELECT sha256, size FROM blob ORDER BY sha256").fetchall()
    finally:
        conn.close()
    return {"drafts": drafts, "answers": answers, "meta": meta, "evidence": evidence, "blobs": blobs}


def answers_by_draft(path: Path) -> dict[int, dict[str, Any]]:
    conn = sqlite3.connect(path, timeout=10)
    try:
        out: dict[int, dict[str, Any]] = {r[0]: {} for r in conn.execute("SELECT id FROM draft")}
        for draft_id, key, value_json in conn.execute(
            'SELECT draft_id, "key", value_json FROM draft_answer WHERE value_json IS NOT NULL'
        ):
            out.setdefault(draft_id, {})[key] = json.loads(value_json)
        return out
    finally:
        conn.close()


def orphan_blobs(path: Path) -> int:
    conn = sqlite3.connect(path, timeout=10)
    try:
        return conn.execute(
            "SELECT count(*) FROM blob WHERE sha256 NOT IN (SELECT sha256 FROM evidence)"
        ).fetchone()[0]
    finally:
        conn.close()


# --------------------------------------------------------------------------- xlsx packages


def rewrite_zip(src: Path, dst: Path, replace: dict[str, bytes], add: dict[str, bytes] | None = None) -> Path:
    """Copy an .xlsx (zip) package, replacing / adding members."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = replace.get(info.filename)
            zout.writestr(info.filename, data if data is not None else zin.read(info.filename))
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return dst


def zip_member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(name)


def zip_names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        return zf.namelist()


def minimal_xlsx(rows_main: list[list[Any]], meta: list[list[Any]]) -> bytes:
    """A tiny hand-written .xlsx with sheets 填报 and 说明 (inline strings, cached formula values).

    A cell given as ``("=", "1+1", 999)`` is written as a formula with a cached value; ``("=", f, None)``
    as a formula without one.
    """

    def col(i: int) -> str:
        s = ""
        i += 1
        while i:
            i, r = divmod(i - 1, 26)
            s = chr(65 + r) + s
        return s

    def esc(s: str) -> str:
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def sheet(rows: list[list[Any]]) -> bytes:
        out = io.StringIO()
        out.write('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                  '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
        for r, row in enumerate(rows, start=1):
            out.write(f'<row r="{r}">')
            for c, v in enumerate(row):
                ref = f"{col(c)}{r}"
                if v is None:
                    continue
                if isinstance(v, tuple) and v and v[0] == "=":
                    _, formula, cached = v
                    cached_xml = "" if cached is None else f"<v>{esc(str(cached))}</v>"
                    kind = ' t="str"' if isinstance(cached, str) else ""
                    out.write(f'<c r="{ref}"{kind}><f>{esc(formula)}</f>{cached_xml}</c>')
                elif isinstance(v, bool):
                    out.write(f'<c r="{ref}" t="b"><v>{int(v)}</v></c>')
                elif isinstance(v, (int, float)):
                    out.write(f'<c r="{ref}"><v>{v!r}</v></c>')
                else:
                    out.write(f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{esc(str(v))}</t></is></c>')
            out.write("</row>")
        out.write("</sheetData></worksheet>")
        return out.getvalue().encode("utf-8", "surrogatepass")  # a lone surrogate makes invalid UTF-8: fine

    ct = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
          '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/>'
          '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
          '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
          '<Override PartName="/xl/worksheets/sheet2.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
          '</Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>')
    wb = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
          '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
          'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
          '<sheet name="填报" sheetId="1" r:id="rId1"/><sheet name="说明" sheetId="2" r:id="rId2"/>'
          '</sheets></workbook>')
    wb_rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
               '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
               '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet2.xml"/>'
               '</Relationships>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", ct)
        zf.writestr("_rels/.rels", rels)
        zf.writestr("xl/workbook.xml", wb)
        zf.writestr("xl/_rels/workbook.xml.rels", wb_rels)
        zf.writestr("xl/worksheets/sheet1.xml", sheet(rows_main))
        zf.writestr("xl/worksheets/sheet2.xml", sheet(meta))
    return buf.getvalue()


# --------------------------------------------------------------------------- leftovers of the store

# The store's own lock files and temporaries: ".<name>.~<tag>-<16 hex>" (+ SQLite side files).
_STORE_TEMP = re.compile(r"\..+\.~[a-z]+-[0-9a-f]{16}(-journal|-wal|-shm)?")


def store_leftovers(db: Path) -> list[str]:
    """Lock files and temporary files of the store beside ``db`` and in its snapshot folder."""
    out = []
    for folder in (Path(db).parent, Path(db).parent / "snapshots"):
        if folder.is_dir():
            out += sorted(str(p.relative_to(Path(db).parent)) for p in folder.iterdir()
                          if _STORE_TEMP.fullmatch(p.name))
    return out


def folder_listing(folder: Path) -> list[str]:
    """Every file under ``folder`` (relative names), to show that nothing was added or removed;
    the program's log (日志/) aside, which records each refusal."""
    from clusterdesk.logs import LOG_DIR_NAME

    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*")
                  if p.relative_to(folder).parts[0] != LOG_DIR_NAME)


# --------------------------------------------------------------------------- answering real dialogs


class DialogAnswerer:
    """Answers the message boxes a real ``exec()`` shows, one after another, by clicking the
    button with the given text (None: the box's default/first button), and records their texts."""

    def __init__(self, answers: list[str | None]):
        from clusterdesk.ui.qt import QTimer

        self.answers = list(answers)
        self.missing: list[str] = []
        self.seen: list[str] = []
        self.buttons: list[list[str]] = []
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._poll)
        self.timer.start()

    def _poll(self) -> None:
        from clusterdesk.ui.qt import QApplication, QMessageBox

        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox) or not box.isVisible():
            return
        self.seen.append(box.text() + ("\n" + box.informativeText() if box.informativeText() else ""))
        texts = [b.text() for b in box.buttons()]
        self.buttons.append(texts)
        want = self.answers.pop(0) if self.answers else None
        target = next((b for b in box.buttons() if b.text() == want), None) if want else None
        if want and target is None:
            self.missing.append(want)
            target = box.buttons()[-1]
        if target is None:
            target = box.defaultButton() or box.buttons()[0]
        target.click()

    def stop(self) -> None:
        self.timer.stop()


def open_store_answering(db: Path, answers: list[str | None]):
    """``ui.app.open_store`` as at start-up, its dialogs answered by clicks; (store, answerer)."""
    from clusterdesk.ui import app as app_module

    app_module.ensure_app()
    answerer = DialogAnswerer(answers)
    try:
        store = app_module.open_store(str(db))
    finally:
        answerer.stop()
    assert not answerer.missing, answerer.buttons
    return store, answerer

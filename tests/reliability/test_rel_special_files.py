"""11. Round 2, item 10: pipes, devices, NUL bytes — never a hang, a traceback or an endless read.

A named pipe given as a template hung for ever; a template that is a symlink to /dev/zero was read
until MemoryError; a NUL byte in a template's evidence path raised ValueError. Every file argument
is now refused unless it is a regular file, and every read is bounded: ``import`` (.json and
.xlsx), ``import-package``, ``restore``, ``forms check``, ``export`` from a file, and evidence files
(in a draft and from a template). Each case runs the real command line in a child process with a
timeout that only detects a hang; the answer must be exit 2 with Chinese lines and no traceback,
and the database must not change.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rel_support import DEMO, DEMO_CQ, PYTHON, ROOT, bump, child_env, has_cjk, logical_state, record

from clusterdesk.store import Store

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="named pipes and /dev/zero are POSIX")

HANG = 60  # seconds: only a hang gets anywhere near this


def _special(folder: Path, kind: str, name: str) -> Path:
    path = folder / name
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev_zero":
        path.symlink_to("/dev/zero")
    elif kind == "dev_urandom":
        path.symlink_to("/dev/urandom")
    else:
        path.mkdir()
    return path


@pytest.fixture()
def db(tmp_path) -> Path:
    path = tmp_path / "data" / "clusterdesk.sqlite3"
    with Store.open(path) as store:
        d = store.create_draft("cq-2024-application", 1, "已有草稿")
        store.set_answer(d.id, "basic.area", "3.00")
    return path


def _cli(db: Path, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.perf_counter()
    proc = subprocess.run([PYTHON, "-m", "clusterdesk", "--db", str(db), *args], capture_output=True, text=True,
                          timeout=HANG, env=child_env(), cwd=ROOT)
    return proc, time.perf_counter() - t0


CASES = [
    ("import", "模板.json"), ("import", "模板.xlsx"), ("import-package", "数据包.cdpkg"), ("restore", "备份.sqlite3"),
    ("forms check", "表单.yaml"), ("export", "模板.json"),
]


@pytest.mark.parametrize("kind", ["fifo", "dev_zero", "dev_urandom", "folder"])
@pytest.mark.parametrize("command,name", CASES)
def test_file_arguments(db, tmp_path, kind, command, name):
    path = _special(tmp_path, kind, name)
    before = logical_state(db)
    args = command.split() + [str(path)]
    if command == "export":
        args += ["--out", str(tmp_path / "导出")]
    proc, seconds = _cli(db, *args)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and has_cjk(proc.stderr), proc.stderr
    if kind != "folder":
        assert "不是普通文件" in proc.stderr, proc.stderr
    assert logical_state(db) == before
    assert not (tmp_path / "导出").exists() or not any((tmp_path / "导出").iterdir())
    record("special_files", **{f"{command.replace(' ', '_')}.{kind}.seconds": round(seconds, 2)})
    bump("special_files", "refused")


@pytest.mark.parametrize("kind", ["fifo", "dev_zero"])
def test_evidence_paths_in_a_template(db, tmp_path, kind):
    from clusterdesk.templates import TemplateError, read_filled

    folder = tmp_path / "u盘"
    shutil.copytree(DEMO / "evidence", folder / "evidence")
    _special(folder / "evidence", kind, "扫描件.pdf")
    doc = json.loads(DEMO_CQ.read_text(encoding="utf-8"))
    doc["evidence"]["industry.chain_work"]["绘制产业链图谱，开展产业链培育"] = ["evidence/扫描件.pdf"]
    template = folder / "申报.json"
    template.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(TemplateError) as err:
        read_filled(template)
    text = "\n".join(err.value.problems)
    if kind == "fifo":
        assert "集群已开展的产业链强链补链工作" in text and "不是普通文件" in text, text
    else:  # the link leads out of the template's folder: refused before anything is opened
        assert "不在模板所在的文件夹内" in text, text
    before = logical_state(db)
    proc, _ = _cli(db, "import", str(template))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert logical_state(db) == before


@pytest.mark.parametrize("path", ["evidence/扫描件\x00.pdf", "evidence/\x00", "\x00/etc/passwd",
                                  "evidence/扫描\u202efdp.exe", "evidence/a\x1b[2J.pdf"])
def test_nul_and_control_characters_in_evidence_paths(tmp_path, path):
    from clusterdesk.templates import TemplateError, read_filled

    folder = tmp_path / "u盘"
    shutil.copytree(DEMO / "evidence", folder / "evidence")
    doc = json.loads(DEMO_CQ.read_text(encoding="utf-8"))
    doc["evidence"]["industry.chain_work"]["绘制产业链图谱，开展产业链培育"] = [path]
    template = folder / "申报.json"
    template.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(TemplateError) as err:  # not ValueError("embedded null byte")
        read_filled(template)
    text = "\n".join(err.value.problems)
    assert "集群已开展的产业链强链补链工作" in text and "控制字符" in text, text
    assert "\x00" not in text and "\x1b" not in text and "\u202e" not in text


@pytest.mark.parametrize("kind", ["fifo", "dev_zero"])
def test_evidence_file_in_a_draft(tmp_path, kind):
    from clusterdesk.model.form import default_catalog
    from clusterdesk.service import DraftSession, create_draft
    from clusterdesk.store import EvidenceError

    with Store.open(tmp_path / "d.sqlite3") as store:
        info = create_draft(store, default_catalog().get("cq-2024-application"))
        s = DraftSession(store, info.id)
        before = logical_state(store.path)
        with pytest.raises(EvidenceError) as err:
            s.add_evidence("opening.overseas_branches", None, _special(tmp_path, kind, "佐证.pdf"))
        assert has_cjk(str(err.value))
        assert logical_state(store.path) == before


def test_backup_swapped_for_a_pipe_is_refused_by_the_library(tmp_path, db):
    from clusterdesk.store import StoreError

    fifo = _special(tmp_path, "fifo", "备份.sqlite3")
    before = logical_state(db)
    with pytest.raises(StoreError) as err:
        Store.restore(db, fifo)
    assert "不是普通文件" in str(err.value)
    assert logical_state(db) == before

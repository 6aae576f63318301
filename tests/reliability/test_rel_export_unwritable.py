"""4. Export into a folder that cannot be written: read-only, missing, or a full disk.

Every writer (atomic_write, xlsxkit.write_workbook, word.save_docx, the .json/.xlsx template
writer, and export_draft once it exists) must raise ExportWriteError with a Chinese message, leave
no file under the final name and no temporary file behind, keep an older file of that name intact,
and leave the draft in the store unchanged.

Read-only and full disks are real small tmpfs mounts when running as root (else chmod 0555); a
full disk is also simulated without root through RLIMIT_FSIZE in a child process.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from rel_support import DEMO_CQ, HERE, IS_ROOT, POSIX, PYTHON, bump, child_env, has_cjk, logical_state, record
from rel_support import can_mount as _can_mount, fill_disk as _fill, mount_tmpfs as _mount, umount as _umount

from clusterdesk.export.atomic import ExportWriteError

# openpyxl's abandoned write-only generators complain when collected after a refused save; the
# leak behind it is reported by test_failed_write_workbook_leaves_no_spool_file.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

@pytest.fixture(autouse=True)
def _collect_abandoned_workbooks():
    """Collect openpyxl's abandoned generators here, under this module's warning filter."""
    yield
    import gc

    gc.collect()


OLD_BYTES = b"old export, must survive"


def _rng_text(rng: random.Random, n: int) -> str:
    return "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(n))


def _all_writers(folder: Path, store=None, draft_id=None):
    """name -> (callable, final file name)."""
    from clusterdesk.export import word as dk
    from clusterdesk.export.atomic import atomic_write
    from clusterdesk.export.xlsxkit import SheetSpec, write_workbook
    from clusterdesk.model.form import default_catalog
    from clusterdesk.templates import write_template

    rng = random.Random(5)
    form = default_catalog().get("cq-2024-application")
    answers = store.get_answers(draft_id) if store is not None else {}

    def raw():
        with atomic_write(folder / "raw.bin") as fh:
            for _ in range(64):
                fh.write(rng.randbytes(16384))

    def xlsx():
        rows = [[k, json.dumps(v, ensure_ascii=False)[:2000]] for k, v in answers.items()]
        rows += [[i, _rng_text(rng, 80)] for i in range(2000)]
        write_workbook(folder / "清单.xlsx", [SheetSpec("清单", ["栏目", "内容"], rows)])

    def docx():
        doc = dk.new_document()
        for v in answers.values():
            dk.add_paragraph(doc, str(v))
        for _ in range(300):
            dk.add_paragraph(doc, _rng_text(rng, 300))
        dk.save_docx(doc, folder / "申报书.docx")

    jobs = {
        "atomic_write": (raw, "raw.bin"),
        "write_workbook": (xlsx, "清单.xlsx"),
        "save_docx": (docx, "申报书.docx"),
        "template_json": (lambda: write_template(form, folder / "模板.json"), "模板.json"),
        "template_xlsx": (lambda: write_template(form, folder / "模板.xlsx"), "模板.xlsx"),
    }
    if store is not None and importlib.util.find_spec("clusterdesk.export.api") is not None:
        from clusterdesk.export.api import export_draft

        jobs["export_draft"] = (lambda: export_draft(store, draft_id, folder, pdf=False), None)
    return jobs


@pytest.fixture()
def demo_store(tmp_path):
    from clusterdesk.store import Store
    from clusterdesk.templates import import_file

    store = Store.open(tmp_path / "data" / "clusterdesk.sqlite3")
    draft_id = import_file(store, DEMO_CQ)
    yield store, draft_id
    store.close()


def _listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.is_dir() else {}


def _check_failures(folder: Path, store, draft_id, before_listing, why: str):
    import gc
    import tempfile

    before_state = logical_state(store.path)
    before_version = store.data_version()
    jobs = _all_writers(folder, store, draft_id)
    spool = Path(tempfile.mkdtemp(prefix="spool-", dir=store.path.parent))
    old_tempdir = tempfile.tempdir
    try:
        for name, (job, _final) in jobs.items():
            tempfile.tempdir = str(spool)
            try:
                with pytest.raises(ExportWriteError) as err:
                    job()
            finally:
                tempfile.tempdir = old_tempdir
            msg = str(err.value)
            assert has_cjk(msg) and has_cjk(err.value.reason), msg
            assert why in msg or why == "", f"{name}: {msg}"
            assert _listing(folder) == before_listing, f"{name} left files behind: {sorted(_listing(folder))}"
            gc.collect()
            leaked = sorted(p.name for p in spool.iterdir())
            if name != "write_workbook":  # its leak is the xfail test below
                assert leaked == [], f"{name} left temporary files in the temp folder: {leaked}"
            for p in spool.iterdir():
                p.unlink()
            bump("export_unwritable", "refused_writes")
    finally:
        shutil.rmtree(spool, ignore_errors=True)
    assert logical_state(store.path) == before_state
    assert store.data_version() == before_version
    record("export_unwritable", export_draft_run=("export_draft" in jobs))


def test_missing_folder(tmp_path, demo_store):
    store, draft_id = demo_store
    folder = tmp_path / "no" / "such" / "folder"
    _check_failures(folder, store, draft_id, {}, "文件夹不存在")
    assert not folder.exists() and not folder.parent.exists(), "the export created folders"


def test_failed_write_workbook_leaves_no_spool_file(tmp_path, monkeypatch):
    import gc
    import tempfile

    from clusterdesk.export.xlsxkit import SheetSpec, write_workbook

    spool = tmp_path / "temp"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    with pytest.raises(ExportWriteError):
        write_workbook(tmp_path / "missing" / "清单.xlsx", [SheetSpec("清单", ["a", "b"], [[1, "x"]] * 100)])
    gc.collect()
    assert sorted(p.name for p in spool.iterdir()) == []


def test_target_name_is_a_folder(tmp_path):
    from clusterdesk.export.atomic import atomic_write

    (tmp_path / "out.xlsx").mkdir()
    with pytest.raises(ExportWriteError) as err:
        with atomic_write(tmp_path / "out.xlsx") as fh:
            fh.write(b"x")
    assert has_cjk(str(err.value))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.xlsx"]


def test_read_only_folder(tmp_path, demo_store):
    store, draft_id = demo_store
    folder = tmp_path / "ro"
    mounted = _can_mount(tmp_path) and _mount(folder, "size=1m")
    if not mounted and IS_ROOT:
        pytest.skip("running as root without mount: a 0555 folder does not stop root")
    try:
        folder.mkdir(exist_ok=True)
        for name in ("清单.xlsx", "申报书.docx"):  # older exports of the same name
            (folder / name).write_bytes(OLD_BYTES)
        if mounted:
            assert subprocess.run(["mount", "-o", "remount,ro", str(folder)], capture_output=True).returncode == 0
        else:
            os.chmod(folder, 0o555)
        before = _listing(folder)
        _check_failures(folder, store, draft_id, before, "")
        record("export_unwritable", read_only_method="tmpfs ro mount" if mounted else "chmod 0555")
    finally:
        if mounted:
            _umount(folder)
        else:
            os.chmod(folder, 0o755)


def _outcome(job) -> tuple[str, str]:
    """Run ``job``; return (exception class name, message) and drop the traceback at once, so
    openpyxl's half-written generators are collected here and not during a later test."""
    import gc

    name = msg = ""
    try:
        job()
    except Exception as exc:  # noqa: BLE001 - the caller asserts on the class
        name, msg = type(exc).__name__, str(exc)
    gc.collect()
    return name, msg


def test_full_disk_tmpfs(tmp_path, demo_store):
    store, draft_id = demo_store
    folder = tmp_path / "full"
    if not _can_mount(tmp_path) or not _mount(folder, "size=512k"):
        pytest.skip("needs root and mount for a real small file system (the RLIMIT_FSIZE test covers it)")
    try:
        for name in ("清单.xlsx", "申报书.docx", "模板.json"):
            (folder / name).write_bytes(OLD_BYTES)
        _fill(folder, 12 * 1024)  # room for the temp file to be created and half-written
        before = _listing(folder)
        _check_failures(folder, store, draft_id, before, "磁盘空间不足")
        record("export_unwritable", full_disk_method="512 KiB tmpfs, filled")
    finally:
        _umount(folder)


@pytest.mark.skipif(not POSIX, reason="RLIMIT_FSIZE is POSIX")
def test_full_disk_file_size_limit(tmp_path):
    folder = tmp_path / "limited"
    folder.mkdir()
    for name in ("清单.xlsx", "申报书.docx", "模板.json"):
        (folder / name).write_bytes(OLD_BYTES)
    before = _listing(folder)
    # The openpyxl writers are left out here: openpyxl spools every sheet to the temp folder first,
    # which the limit also hits (see test_xlsx_writers_when_temp_disk_is_full).
    jobs = "atomic_write,save_docx,template_json"
    proc = subprocess.run([PYTHON, str(HERE / "export_worker.py"), str(folder), str(8 * 1024), jobs],
                          capture_output=True, env=child_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-3000:]
    results = json.loads(proc.stdout.decode("utf-8").strip().splitlines()[-1])
    for name, res in results.items():
        assert res["error"] == "ExportWriteError", f"{name}: {res}"
        assert has_cjk(res["message"]), res
        bump("export_unwritable", "refused_writes")
    assert _listing(folder) == before, sorted(_listing(folder))


TEMP_FULL_BUG = ("core bug: every openpyxl save spools each sheet to a file in the system temp folder before "
                 "atomic_write is reached (clusterdesk/export/xlsxkit.py write_workbook; templates.py "
                 "_write_xlsx_template via write_template(.xlsx)); when that disk is full (%TEMP% on a full C:) "
                 "lxml.etree.SerialisationError('IO_ENOSPC') escapes instead of ExportWriteError, and the spool "
                 "file openpyxl.* is left in the temp folder")


@pytest.mark.parametrize("writer", ["write_workbook", "template_xlsx"])
def test_xlsx_writers_when_temp_disk_is_full(tmp_path, monkeypatch, writer):
    import tempfile

    from clusterdesk.export.xlsxkit import SheetSpec, write_workbook
    from clusterdesk.model.form import default_catalog
    from clusterdesk.templates import write_template

    out = tmp_path / "out"
    out.mkdir()
    rng = random.Random(9)
    rows = [[i, _rng_text(rng, 80)] for i in range(2000)]

    def job():
        if writer == "write_workbook":
            write_workbook(out / "清单.xlsx", [SheetSpec("清单", ["序号", "内容"], rows)])
        else:
            write_template(default_catalog().get("cq-2024-application"), out / "模板.xlsx")

    spool = tmp_path / "tmpfs-temp"
    if _can_mount(tmp_path) and _mount(spool, "size=64k"):
        try:
            _fill(spool, 8 * 1024)
            before = sorted(p.name for p in spool.iterdir())
            monkeypatch.setattr(tempfile, "tempdir", str(spool))
            error, message = _outcome(job)
            leftovers = sorted(p.name for p in spool.iterdir())
            assert error == "ExportWriteError" and has_cjk(message), (error, message)
            assert leftovers == before, f"spool files left in the temp folder: {leftovers}"
            assert list(out.iterdir()) == []
        finally:
            _umount(spool)
    else:
        proc = subprocess.run([PYTHON, str(HERE / "export_worker.py"), str(out), str(8 * 1024), writer],
                              capture_output=True, env=child_env(), timeout=300)
        res = json.loads(proc.stdout.decode("utf-8").strip().splitlines()[-1])[writer]
        assert res["error"] == "ExportWriteError" and has_cjk(res["message"]), res
        assert list(out.iterdir()) == []


@pytest.mark.skipif(importlib.util.find_spec("clusterdesk.export.api") is None, reason="export_draft not built yet")
def test_export_draft_when_temp_disk_is_full(tmp_path, demo_store, monkeypatch):
    import tempfile

    from clusterdesk.export.api import export_draft

    store, draft_id = demo_store
    probe = tmp_path / "probe-out"
    probe.mkdir()
    docx_bytes = sum(p.stat().st_size for p in export_draft(store, draft_id, probe, pdf=False).files
                     if p.suffix == ".docx")
    spool = tmp_path / "tmpfs-temp"
    if not (_can_mount(tmp_path) and _mount(spool, f"size={docx_bytes // 1024 + 32}k")):
        pytest.skip("needs root and mount")
    out = tmp_path / "out"
    out.mkdir()
    before_state = logical_state(store.path)
    try:
        monkeypatch.setattr(tempfile, "tempdir", str(spool))
        error, message = _outcome(lambda: export_draft(store, draft_id, out, pdf=False))
        leftovers = sorted(p.name for p in spool.iterdir())
        assert error == "ExportWriteError" and has_cjk(message), (error, message)
        assert leftovers == [], f"temporary files left in the temp folder: {leftovers}"
        assert list(out.iterdir()) == []
        assert logical_state(store.path) == before_state
    finally:
        _umount(spool)

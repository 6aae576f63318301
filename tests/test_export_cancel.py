"""The export's cancel hook: asked between the files and while LibreOffice runs; a cancelled
export removes what it wrote and stops LibreOffice."""

from __future__ import annotations

import threading
import time

import pytest

from cd_support import DEMO


@pytest.fixture()
def demo(store):
    from clusterdesk.templates import import_file

    return import_file(store, DEMO / "cq-2024-application.json")


def test_cancel_after_the_word_files_removes_them(store, demo, tmp_path):
    from clusterdesk.export.api import ExportCancelled, export_draft

    out = tmp_path / "out"
    out.mkdir()
    asked: list[list[str]] = []

    def cancel() -> bool:
        asked.append(sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()))
        return len(asked) >= 2  # first question before anything, second after the two Word files

    with pytest.raises(ExportCancelled, match="已取消导出"):
        export_draft(store, demo, out, pdf=False, cancel=cancel)
    # the two Word files were written, in the export's private folder (nothing shows until all are
    # done); the Excel lists are written beside them in a second thread, and may be there already
    assert [name for name in asked[1] if name.endswith(".docx")] and \
        sorted(name.rsplit(".", 1)[1] for name in asked[1] if not name.endswith(".xlsx")) == ["docx", "docx"]
    assert all(name.startswith(".~clusterdesk-") for name in asked[1])
    assert list(out.iterdir()) == []


def test_cancel_never_asked_true_exports_everything(store, demo, tmp_path):
    from clusterdesk.export.api import export_draft

    result = export_draft(store, demo, tmp_path, pdf=False, cancel=lambda: False)
    assert len(result.files) == 3 and all(p.is_file() for p in result.files)


def test_an_earlier_export_of_the_same_name_survives_a_cancelled_one(store, demo, tmp_path):
    import zipfile

    from clusterdesk.export.api import ExportCancelled, export_draft

    out = tmp_path / "out"
    out.mkdir()
    first = export_draft(store, demo, out, pdf=False)
    names = sorted(p.name for p in first.files)
    calls = []
    with pytest.raises(ExportCancelled):  # cancelled after the Word files replaced the old ones
        export_draft(store, demo, out, pdf=False, cancel=lambda: calls.append(1) or len(calls) >= 3)
    assert sorted(p.name for p in out.iterdir()) == names  # nothing removed that this export did not create
    for p in out.iterdir():
        with zipfile.ZipFile(p) as z:  # every file whole (replaced atomically or left as it was)
            assert z.testzip() is None


def test_libreoffice_is_stopped_when_cancelled(tmp_path, monkeypatch):
    """docx_to_pdf asks ``cancel`` while the converter runs and kills it (a stand-in converter
    that would run for a minute, so the test does not depend on LibreOffice's speed)."""
    from clusterdesk.export.pdf import ExportCancelled, docx_to_pdf

    slow = tmp_path / "soffice"
    pid_file = tmp_path / "pid"
    slow.write_text(f'#!/bin/sh\necho $$ > "{pid_file}"\nexec sleep 60\n')
    slow.chmod(0o755)
    src = tmp_path / "a.docx"
    src.write_bytes(b"PK")
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    t = time.monotonic()
    with pytest.raises(ExportCancelled):
        docx_to_pdf(src, tmp_path, soffice=str(slow), cancel=stop.is_set)
    assert time.monotonic() - t < 10
    pid = int(pid_file.read_text())
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        state = "gone"
    assert state in ("gone", "Z")
    assert not (tmp_path / "a.pdf").exists()

"""10. Round 2, item 6: evidence is an allow-list of document and image types, checked by name and
content; names with control or direction characters are refused; opening never executes.

Every way in is covered — adding a file in a draft, a template's evidence paths, a package's
evidence — with real files of every allowed type (PDF, JPEG, PNG, TIFF, OFD, Word, Excel, the OLE2
container of .doc/.xls/.wps/.et) and programs, scripts, shortcuts and disguised names (``.exe``,
``.bat``, ``.hta``, ``.lnk``, ``佐证<U+202E>fdp.exe`` shown as "佐证exe.pdf", an EXE named ``.pdf``,
C0/C1/bidi characters). Evidence stored by an older version that fails the check is kept (never
deleted), shown as an error of its field, not opened and not packaged. The GUI's file link opens a
copy named with the extension of the checked content, through the system's default viewer.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything loads Qt

import pytest  # noqa: E402

from hostile_support import EXE, allowed_files, forbidden_files, package_members, pdf_bytes, rebuild_package  # noqa: E402
from rel_support import DEMO, DEMO_CQ, PYTHON, ROOT, bump, child_env, has_cjk, logical_state, orphan_blobs  # noqa: E402

from clusterdesk.textsafe import strip_controls  # noqa: E402
from clusterdesk.model.form import default_catalog  # noqa: E402
from clusterdesk.store import EvidenceError, Store  # noqa: E402
from clusterdesk.store import db as store_db  # noqa: E402

FORM = default_catalog().get("cq-2024-application")
KEY, OPTION = "industry.chain_work", "绘制产业链图谱，开展产业链培育"
WHERE = ("二、主导产业情况", "集群已开展的产业链强链补链工作")


@pytest.fixture()
def session(tmp_path):
    from clusterdesk.service import DraftSession, create_draft

    store = Store.open(tmp_path / "data" / "clusterdesk.sqlite3")
    info = create_draft(store, FORM)
    s = DraftSession(store, info.id)
    s.set(KEY, [OPTION])
    yield s
    store.close()


def test_every_allowed_type_is_taken_and_opens_as_itself(session, tmp_path):
    from clusterdesk.service import evidence_viewing_copy

    src = tmp_path / "files"
    src.mkdir()
    for name, data in allowed_files(tmp_path).items():
        (src / name).write_bytes(data)
        info = session.add_evidence(KEY, OPTION, src / name)
        assert info.filename == name
        out = tmp_path / "open" / name
        out.mkdir(parents=True)
        copy = evidence_viewing_copy(session.store, info.id, out)
        assert copy.name == name  # the name's own extension already fits its content
        assert copy.read_bytes() == data
        assert [p.name for p in out.iterdir()] == [name]  # nothing else left in the folder
        bump("evidence_types", "allowed_taken")
    assert len(session.evidence(KEY, OPTION)) == len(allowed_files(tmp_path))
    # bytes (the package path) are checked the same way
    for name, data in allowed_files(tmp_path).items():
        session.store.add_evidence_bytes(session.draft_id, KEY, OPTION, name, data)


def test_forbidden_files_are_refused_when_added(session, tmp_path):
    store = session.store
    folder = tmp_path / "u盘"
    folder.mkdir()
    before = logical_state(store.path)
    for name, data in forbidden_files().items():
        path = folder / name
        path.write_bytes(data)
        with pytest.raises(EvidenceError) as err:
            session.add_evidence(KEY, OPTION, path)
        msg = str(err.value)
        assert has_cjk(msg), msg
        assert not any(ch in msg for ch in "\u202e\u200e\u200f\u2066\u2067\u2068\u2069\x1b\x85\x9b\x07"), repr(msg)
        with pytest.raises(EvidenceError):
            store.add_evidence_bytes(session.draft_id, KEY, OPTION, name, data)
        bump("evidence_types", "forbidden_refused", 2)
    assert logical_state(store.path) == before
    assert orphan_blobs(store.path) == 0
    # the message says what is allowed and why this one is not
    with pytest.raises(EvidenceError) as err:
        session.add_evidence(KEY, OPTION, folder / "佐证\u202efdp.exe")
    assert "文字方向控制符" in str(err.value) and "佐证?fdp.exe" in str(err.value)
    with pytest.raises(EvidenceError) as err:
        session.add_evidence(KEY, OPTION, folder / "发票.pdf")
    assert "内容不是PDF 文件" in str(err.value) and "pdf、jpg" in str(err.value)


def test_a_document_named_as_another_allowed_type_opens_as_what_it_is(session, tmp_path):
    from clusterdesk.service import evidence_viewing_copy

    src = tmp_path / "实为PDF.doc"
    src.write_bytes(pdf_bytes())
    info = session.add_evidence(KEY, OPTION, src)
    copy = evidence_viewing_copy(session.store, info.id, tmp_path)
    assert copy.name == "实为PDF.pdf" and copy.read_bytes() == pdf_bytes()


# ----------------------------------------------------------------------------- through a template


def _refused_naming_the_field(db: Path, error: type, action) -> dict:
    """``action(store)`` raises ``error`` whose lines name the field; the store is unchanged."""
    with Store.open(db) as store:
        before = logical_state(db)
        with pytest.raises(error) as err:
            action(store)
        text = "\n".join(err.value.problems)
        assert all(w in text for w in WHERE), text
        assert logical_state(db) == before
    return before



@pytest.mark.parametrize("name", ["佐证.exe", "佐证\u202efdp.exe", "发票.pdf", "佐证.hta", "佐证\x85.pdf"])
def test_template_evidence_is_checked(tmp_path, name):
    from clusterdesk.templates import TemplateError, import_file

    folder = tmp_path / "u盘"
    shutil.copytree(DEMO / "evidence", folder / "evidence")
    (folder / "evidence" / name).write_bytes(forbidden_files()[name])
    doc = json.loads(DEMO_CQ.read_text(encoding="utf-8"))
    doc["evidence"][KEY][OPTION] = [f"evidence/{name}"]
    template = folder / "申报.json"
    template.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    db = tmp_path / "data" / "clusterdesk.sqlite3"
    before = _refused_naming_the_field(db, TemplateError, lambda store: import_file(store, template))
    proc = subprocess.run([PYTHON, "-m", "clusterdesk", "--db", str(db), "import", str(template)],
                          capture_output=True, text=True, timeout=120, env=child_env(), cwd=ROOT)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and has_cjk(proc.stderr), proc.stderr
    assert not any(ch in proc.stderr for ch in "\u202e\x85"), repr(proc.stderr)
    assert logical_state(db) == before
    bump("evidence_types", "template_refused")


# ----------------------------------------------------------------------------- through a package


def _package_with(demo_package: bytes, name: str, data: bytes) -> bytes:
    members = package_members(demo_package)
    doc = json.loads(members["answers.json"])
    sha = hashlib.sha256(data).hexdigest()
    doc["evidence_index"][KEY][OPTION].append({"file": name, "sha256": sha, "size": len(data)})
    return rebuild_package(members, answers=doc, extra={f"evidence/{sha}/{strip_controls(name)}": data})


@pytest.mark.parametrize("name", ["佐证.exe", "佐证\u202efdp.exe", "发票.pdf", "佐证.lnk", "佐证\u2067.pdf",
                                  "旧说明.doc"])
def test_package_evidence_is_checked(demo_package, tmp_path, name):
    from clusterdesk.packages import PackageError, import_package

    path = tmp_path / "来自集群.cdpkg"
    path.write_bytes(_package_with(demo_package, name, forbidden_files()[name]))
    _refused_naming_the_field(tmp_path / "data" / "clusterdesk.sqlite3", PackageError,
                              lambda store: import_package(store, path))
    bump("evidence_types", "package_refused")


def test_package_with_allowed_evidence_of_every_type_is_taken(demo_package, tmp_path):
    from clusterdesk.packages import import_package

    members = package_members(demo_package)
    doc = json.loads(members["answers.json"])
    extra = {}
    for name, data in allowed_files(tmp_path).items():
        sha = hashlib.sha256(data).hexdigest()
        if not any(k.startswith(f"evidence/{sha}/") for k in extra):  # each content once
            extra[f"evidence/{sha}/{name}"] = data
        doc["evidence_index"][KEY][OPTION].append({"file": name, "sha256": sha, "size": len(data)})
    path = tmp_path / "全部类型.cdpkg"
    path.write_bytes(rebuild_package(members, answers=doc, extra=extra))
    with Store.open(tmp_path / "d.sqlite3") as store:
        outcome = import_package(store, path)
        names = {e.filename for e in store.list_evidence(outcome.draft_id)}
    assert set(allowed_files(tmp_path)) <= names


# ----------------------------------------------------------------------------- evidence from before


LEGACY = {"佐证.exe": EXE, "佐证\u202efdp.exe": EXE, "发票.pdf": EXE, "营业执照.pdf": pdf_bytes()}


@pytest.fixture()
def legacy(session, monkeypatch):
    """A draft holding evidence an older version took without checking (and one good file)."""
    with monkeypatch.context() as m:
        m.setattr(store_db, "check_evidence_type", lambda *a, **k: None)
        ids = {name: session.store.add_evidence_bytes(session.draft_id, KEY, OPTION, name, data).id
               for name, data in LEGACY.items()}
    from clusterdesk.service import DraftSession

    return DraftSession(session.store, session.draft_id), ids


def test_legacy_evidence_is_kept_marked_and_never_opened_or_packaged(legacy, tmp_path):
    from clusterdesk.packages import PackageError, write_package
    from clusterdesk.service import evidence_viewing_copy

    s, ids = legacy
    store = s.store
    before = logical_state(store.path)
    # marked: an error on its field, naming the file (the direction override shown as "?")
    errors = [p for p in s.problems() if p.kind == "evidence" and p.level == "error"]
    shown = "\n".join(str(p) for p in errors)
    assert {p.key for p in errors} == {KEY}
    assert "“佐证.exe”是“.exe”文件" in shown and "佐证?fdp.exe" in shown and "请移除它" in shown
    assert all(w in shown for w in WHERE)
    # not opened: no copy at all, whatever the name says
    for name in ("佐证.exe", "佐证\u202efdp.exe", "发票.pdf"):
        out = tmp_path / f"open-{len(name)}-{name[-3:]}"
        out.mkdir()
        with pytest.raises(EvidenceError) as err:
            evidence_viewing_copy(store, ids[name], out)
        assert "不予打开" in str(err.value) and "\u202e" not in str(err.value)
        assert list(out.rglob("*")) == []
    good = evidence_viewing_copy(store, ids["营业执照.pdf"], tmp_path)
    assert good.read_bytes() == pdf_bytes()
    # not packaged: refused, naming the field and every such file
    with pytest.raises(PackageError) as err:
        write_package(store, s.draft_id, tmp_path / "包.cdpkg", documents=False)
    text = "\n".join(err.value.problems)
    assert all(w in text for w in WHERE) and "佐证.exe" in text and "发票.pdf" in text
    assert not (tmp_path / "包.cdpkg").exists()
    # kept: nothing was deleted or changed by any of this
    assert logical_state(store.path) == before
    assert {e.filename for e in store.list_evidence(s.draft_id)} == set(LEGACY)


@pytest.mark.gui
def test_gui_file_link_opens_a_safe_copy_or_refuses(legacy, qtbot, monkeypatch, tmp_path):
    """Clicking a file name in the draft window: a PDF opens as .pdf through the system's viewer;
    an EXE (whatever its name) is not opened and a message says why."""
    from clusterdesk.ui.app import ensure_app
    from clusterdesk.ui.draft_window import DraftWindow
    from clusterdesk.ui.qt import QDesktopServices, QMessageBox
    from clusterdesk.ui.editors import EvidencePanel

    s, ids = legacy
    ensure_app()
    opened: list[str] = []
    warned: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url.toLocalFile()) or True))
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda parent, title, text, *a, **k: warned.append(text)))
    win = DraftWindow(s.store, s.draft_id)
    win.resize(1366, 768)
    win.show()
    qtbot.waitExposed(win)
    win.jump_to(KEY)
    panel = next(p for p in win.findChildren(EvidencePanel) if p.key == KEY and p.option == OPTION)
    listed = panel.files_label.text()
    assert "佐证.exe" in listed and "发票.pdf" in listed  # still listed: kept
    assert "佐证?fdp.exe" in listed and "\u202e" not in listed  # the override cannot reverse the list
    mark = win.current_page().editor_for_key(KEY).problem_label.text()
    assert "“佐证.exe”是“.exe”文件" in mark and "不能打开，也不能打包" in mark  # the mark next to the field

    panel.files_label.linkActivated.emit(f"open:{ids['营业执照.pdf']}")
    assert len(opened) == 1 and opened[0].endswith("营业执照.pdf") and Path(opened[0]).read_bytes() == pdf_bytes()
    for name in ("佐证.exe", "发票.pdf", "佐证\u202efdp.exe"):
        panel.files_label.linkActivated.emit(f"open:{ids[name]}")
    assert len(opened) == 1, opened  # nothing else reached the system's opener
    assert len(warned) == 3 and all("不予打开" in w for w in warned)
    win.close()
    win.deleteLater()

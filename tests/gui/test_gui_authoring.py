"""Forms a user installs, seen in the GUI (issue 13):

- a draft survives a renamed field across a version change: reopened in the draft window its values,
  notes and evidence are under the new ids, the value of the field that is gone is in the 旧版本内容
  panel, ``clusterdesk dump`` prints it under "retired", and a package of the older version imports
  the same way;
- a broken or clashing file in the user's forms folder leaves the start window working: one line per
  bad file in a dialog, the other forms listed and usable;
- 文件 → 安装表单定义… installs through the core function the command line uses;
- an export never replaces another draft's files without asking.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from authoring_support import FORMS, next_year_shanghai, renamed_version  # noqa: E402
from cd_support import DEMO  # noqa: E402
from cd_support import run_cli as run  # noqa: E402


@pytest.fixture()
def data_dir(tmp_path, monkeypatch) -> Path:
    from clusterdesk import paths

    monkeypatch.setattr(paths, "_data_dir", tmp_path)  # the folder of the tests' database (t.sqlite3)
    return tmp_path


def _ok(p) -> str:
    assert p.returncode == 0, (p.stdout, p.stderr)
    return p.stdout


def test_a_renamed_field_survives_a_version_change(app, qtbot, tmp_path, data_dir, show_window):
    from clusterdesk.model.form import default_catalog
    from clusterdesk.service import DraftSession
    from clusterdesk.store import Store
    from clusterdesk.ui.draft_window import DraftWindow

    db = data_dir / "d.sqlite3"
    app_id = int(_ok(run("import", str(DEMO / "cq-2024-application.json"), db=db)))
    note = "2021年产值取自区统计局年报"
    with Store.open(db) as store:
        s = DraftSession(store, app_id)
        s.set_note("industry.total_output.2021", note)
        output = {y: s.value(f"industry.total_output.{y}") for y in (2021, 2022, 2023)}
        chain = sorted((e.option, e.filename) for e in s.evidence("industry.chain_work"))
        ticked = s.value("industry.chain_work")
        software = s.value("digital.software_rising")
    assert all(output.values()) and chain and ticked and software == "是"
    v1_package = tmp_path / "v1.cdpkg"
    _ok(run("package", str(app_id), "--out", str(v1_package), "--no-documents", db=db))

    # the definition changes: version 2 renames two fields and drops one; the user installs it
    v2 = tmp_path / "cq-2024-application.yaml"
    v2.write_text(renamed_version(), encoding="utf-8")
    _ok(run("forms", "install", str(v2), db=db))
    row = next(ln.split("\t") for ln in _ok(run("forms", db=db)).splitlines() if ln.startswith("cq-2024-application\t"))
    assert row[-2:] == ["版本 2", f"已安装 {data_dir / 'forms' / 'cq-2024-application.yaml'}"]
    before = Store.snapshots_of(db)

    # reopened in the GUI
    with Store.open(db) as store:
        win = show_window(DraftWindow(store, app_id, default_catalog()))
        s = win.session
        assert s.form.version == 2 and s.info.form_version == 2
        assert {y: s.value(f"industry.gross_output.{y}") for y in (2021, 2022, 2023)} == output
        assert s.note("industry.gross_output.2021") == note
        assert s.value("industry.chain_tasks") == ticked
        assert sorted((e.option, e.filename) for e in s.evidence("industry.chain_tasks")) == chain
        assert win.jump_to("industry.gross_output.2021")
        ed = win.current_page().editor_for_key("industry.gross_output.2021")
        assert ed.edits["industry.gross_output.2021"].text() == output[2021]
        # the value of the field that is gone: kept, in the 旧版本内容 panel, seen first
        assert win.retired_dock is not None and win.retired_dock.isVisible()
        text = win.retired.text.toPlainText()
        assert text == "【四、数字化升级情况 · 工业软件应用率稳步提升】（版本 1）\n是"
        assert win.retired_action.text() == "旧版本内容"
        # the way back: a snapshot taken before the move; nothing is moved twice
        assert len(Store.snapshots_of(db)) == len(before) + 1
        win.close()
    with Store.open(db) as store:
        DraftSession(store, app_id)
    assert len(Store.snapshots_of(db)) == len(before) + 1

    # dumped on the command line
    dumped = json.loads(_ok(run("dump", str(app_id), db=db)))
    assert dumped["version"] == 2
    assert dumped["answers"]["industry.gross_output.2021"] == output[2021]
    assert not [k for k in dumped["answers"] if "total_output" in k or "software_rising" in k]
    assert dumped["notes"] == {"industry.gross_output.2021": note}
    assert "industry.chain_tasks" in dumped["evidence_index"] and "industry.chain_work" not in dumped["evidence_index"]
    assert dumped["retired"] == {"digital.software_rising": {
        "value": "是", "version": 1, "label": "四、数字化升级情况 · 工业软件应用率稳步提升"}}
    assert "共 0 个错误" in _ok(run("validate", str(app_id), db=db))

    # a package of version 1 imports into a PC with version 2 the same way
    other = tmp_path / "other" / "d.sqlite3"
    other.parent.mkdir()
    _ok(run("forms", "install", str(v2), db=other))
    got = _ok(run("import-package", str(v1_package), db=other)).split()[0]
    again = json.loads(_ok(run("dump", got, db=other)))
    assert again["version"] == 2 and again["answers"] == dumped["answers"] and again["notes"] == dumped["notes"]
    assert again["retired"] == dumped["retired"]
    assert again["evidence_index"].keys() == dumped["evidence_index"].keys()


def test_broken_and_clashing_files_leave_the_start_window_working(app, qtbot, store, data_dir, show_window,
                                                                  monkeypatch):
    from clusterdesk.model.form import default_catalog
    from clusterdesk.ui.start import StartWindow

    forms = data_dir / "forms"
    forms.mkdir()
    (forms / "broken.yaml").write_text("id: [\n", encoding="utf-8")
    (forms / "clash.yaml").write_bytes((FORMS / "cq-2024-application.yaml").read_bytes())
    catalog = default_catalog()
    assert {f.id for f in catalog} == {p.stem for p in FORMS.glob("*.yaml")}
    win = show_window(StartWindow(store, catalog))
    box = win.report_bad_forms()
    assert box is not None and box.isVisible()
    text = box.text()
    assert str(forms / "broken.yaml") in text and str(forms / "clash.yaml") in text
    assert "其他表单可以照常使用" in text
    box.close()
    # the other forms work: 新建 offers every loaded form and opens the draft
    from clusterdesk.ui import start as start_mod

    offered = []

    def pick(_parent, _title, _label, names, *_a):
        offered.extend(names)
        return next(n for n in names if n.startswith("重庆市中小企业特色产业集群申报表")), True

    monkeypatch.setattr(start_mod.QInputDialog, "getItem", staticmethod(pick))
    did = win.new_draft()
    assert did is not None and did in win.windows and len(offered) == len(catalog)
    win.windows[did].close()
    # and the same files leave the command line working: listed, named, exit 0
    p = run("forms", db=data_dir / "t.sqlite3")
    assert p.returncode == 0 and len(p.stdout.splitlines()) == len(catalog)
    assert len(p.stderr.splitlines()) == 2 and all("未加载" in ln for ln in p.stderr.splitlines())
    p = run("template", "sh-2023-annual-report", "--out", str(data_dir / "t.json"), db=data_dir / "t.sqlite3")
    assert p.returncode == 0 and (data_dir / "t.json").is_file() and "broken.yaml" in p.stderr
    p = run("forms", "check", str(forms / "clash.yaml"), db=data_dir / "t.sqlite3")
    assert p.returncode == 2 and "已加载的表单“cq-2024-application”" in p.stderr


def test_install_from_the_file_menu(app, qtbot, store, data_dir, show_window, monkeypatch, tmp_path):
    from clusterdesk.model.form import default_catalog
    from clusterdesk.ui import start as start_mod
    from clusterdesk.ui.start import StartWindow

    win = show_window(StartWindow(store, default_catalog()))
    file_menu = next(a.menu() for a in win.menuBar().actions() if a.menu() and a.menu().title().startswith("文件"))
    texts = [a.text() for a in file_menu.actions()]
    assert texts.index("安装表单定义…") == texts.index("从填好的模板导入…") + 1
    new = tmp_path / "sh-2024-annual-report.yaml"
    new.write_text(next_year_shanghai(), encoding="utf-8")
    told = []
    monkeypatch.setattr(start_mod.QMessageBox, "information", staticmethod(lambda *a: told.append(a[2])))
    monkeypatch.setattr(start_mod.QFileDialog, "getOpenFileNames", staticmethod(lambda *a, **k: ([str(new)], "")))
    win.install_forms_action.trigger()
    assert told and told[0].startswith("已安装：sh-2024-annual-report（版本 1）→ ")
    assert (data_dir / "forms" / "sh-2024-annual-report.yaml").is_file()
    assert "sh-2024-annual-report" in win.catalog
    # two forms now share a title: the list tells the years apart
    from clusterdesk.service import form_label

    assert form_label(win.catalog, win.catalog.get("sh-2024-annual-report")).endswith("（2024年度）")
    # a file with a problem: nothing installed, the problems listed
    bad = tmp_path / "bad.yaml"
    bad.write_text(next_year_shanghai().replace("id: sh-2024-annual-report", "id: sh-2024-other", 1), encoding="utf-8")
    assert win.install_forms([bad]) == []
    assert win.problem_dialog is not None and win.problem_dialog.isVisible()
    lines = [win.problem_dialog.list.item(i).text() for i in range(win.problem_dialog.list.count())]
    assert any("family" in ln and "2024 年度的表单“sh-2024-annual-report”" in ln for ln in lines), lines
    assert not (data_dir / "forms" / "bad.yaml").exists()
    win.problem_dialog.close()


def test_export_asks_before_replacing_another_drafts_files(app, qtbot, store, open_window, demo_draft, tmp_path,
                                                           monkeypatch):
    from clusterdesk.export.api import file_owner
    from clusterdesk.ui.qt import Qt

    twin = store.duplicate_draft(demo_draft, "副本").id  # same cluster name: the same file names
    out = tmp_path / "导出"
    out.mkdir()

    def export(did: int, answer: bool | None = None):
        win = open_window(did)
        win.export_action.trigger()
        dlg = win.export_dialog
        asked = []
        if answer is not None:
            monkeypatch.setattr(dlg, "confirm_overwrite", lambda e: asked.append(e.text()) or answer)
        dlg.folder.setText(str(out))
        dlg.pdf.setChecked(False)
        qtbot.mouseClick(dlg.export_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not dlg.running() and not dlg.progress.isVisible(), timeout=120_000)
        return dlg, asked

    dlg, _ = export(demo_draft)
    docx = next(p for p in out.iterdir() if p.suffix == ".docx" and "可编辑版" not in p.name)
    first = store.get_draft(demo_draft).uuid
    assert file_owner(docx) == first
    dlg.close()
    dlg, asked = export(twin, answer=False)  # 否: nothing replaced, the dialog says why
    assert len(asked) == 1 and "保存位置已有草稿“重庆市中小企业特色产业集群（永川数控机床产业）”导出的同名文件" in asked[0]
    assert file_owner(docx) == first and "为避免覆盖其他草稿的文件" in dlg.message.text()
    dlg.close()
    dlg, asked = export(twin, answer=True)  # 是: exported again, now the copy's files
    assert len(asked) == 1 and "已导出" in dlg.message.text()
    assert file_owner(docx) == store.get_draft(twin).uuid
    dlg.close()



def test_another_provinces_form_installed_filled_and_exported_in_the_gui(app, qtbot, store, data_dir, show_window,
                                                                         monkeypatch, tmp_path):
    """甲省's application, as its cluster office would have it: 文件 → 安装表单定义…, 文件 → 从填好的模板导入…
    (the filled Excel/JSON template), one answer typed over in the wizard, 导出…, and the Word file read
    back: 甲省's titles and the typed answer, none of Chongqing's."""
    from docx import Document
    from gui_helpers import type_text

    from authoring_support import synthetic_key, synthetic_province, write_synthetic_template
    from clusterdesk.model.form import default_catalog
    from clusterdesk.ui import start as start_mod
    from clusterdesk.ui.qt import Qt
    from clusterdesk.ui.start import StartWindow

    win = show_window(StartWindow(store, default_catalog()))
    new = tmp_path / "jia-2025-application.yaml"
    new.write_text(synthetic_province(), encoding="utf-8")
    monkeypatch.setattr(start_mod.QMessageBox, "information", staticmethod(lambda *a: None))
    monkeypatch.setattr(start_mod.QFileDialog, "getOpenFileNames", staticmethod(lambda *a, **k: ([str(new)], "")))
    win.install_forms_action.trigger()
    assert "jia-2025-application" in win.catalog
    filled = write_synthetic_template(tmp_path / "填好")
    monkeypatch.setattr(start_mod.QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(filled), "")))
    win.menu_actions["从填好的模板导入…"].trigger()
    (did, dw), = win.windows.items()
    qtbot.waitExposed(dw)
    dw.activateWindow()
    qtbot.waitUntil(dw.isActiveWindow)
    assert dw.form.id == "jia-2025-application"

    key = synthetic_key("cover.contact")
    assert dw.jump_to(key)
    ed = dw.current_page().editor_for_key(key)
    qtbot.mouseClick(ed.edit, Qt.MouseButton.LeftButton)
    ed.edit.selectAll()
    qtbot.keyClick(ed.edit, Qt.Key.Key_Delete)
    type_text(qtbot, ed.edit, "李雷；联系电话：0851-88886666")
    qtbot.keyClick(ed.edit, Qt.Key.Key_Tab)
    assert ed.edit.text() == "李雷；联系电话：0851-88886666"
    qtbot.waitUntil(lambda: store.get_answers(did)[key] == "李雷；联系电话：0851-88886666")

    out = tmp_path / "导出"
    out.mkdir()
    dw.export_action.trigger()
    dlg = dw.export_dialog
    dlg.folder.setText(str(out))
    dlg.pdf.setChecked(False)
    qtbot.mouseClick(dlg.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dlg.running() and not dlg.progress.isVisible(), timeout=120_000)
    assert "已导出" in dlg.message.text()
    dlg.close()
    docx = out / "甲省中小企业特色产业集群（永川数控机床产业）-集群申报表.docx"
    doc = Document(str(docx))
    text = "\n".join([p.text for p in doc.paragraphs]
                     + [c.text for t in doc.tables for r in t.rows for c in r.cells])
    assert "甲省中小企业特色产业集群申报表" in text and "甲省经济和信息化厅 制" in text
    assert "李雷；联系电话：0851-88886666" in text and "李明 023-49881234" not in text
    assert "重庆市中小企业特色产业集群申报表" not in text and "重庆市经济和信息化委员会" not in text

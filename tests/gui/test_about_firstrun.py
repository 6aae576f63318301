"""The 关于 dialog, the first-run screen and the user guide window, driven offscreen."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clusterdesk.ui.qt import QApplication, QDesktopServices, QMessageBox, QTimer, QUrl, Qt

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.gui

FORM_IDS = sorted(p.stem for p in (ROOT / "forms").glob("*.yaml"))  # every shipped form, however many


@pytest.fixture(autouse=True)
def opened_urls(monkeypatch, system_opener) -> list[QUrl]:
    """No file manager or browser is ever started by these tests; the URLs are recorded."""
    urls: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: urls.append(url) or True))
    system_opener.result = True
    return urls


# --------------------------------------------------------------------------- 关于


def test_about_lists_the_shipped_forms_and_the_data_folder(app, qtbot, store, system_opener):
    from clusterdesk import __version__
    from clusterdesk.ui.about import AboutDialog

    dlg = AboutDialog(store.path)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    assert dlg.windowTitle() == "关于集群申报助手"
    assert dlg.name_label.text() == "集群申报助手"
    assert __version__ in dlg.version_label.text()

    assert sorted(dlg.form_ids()) == FORM_IDS
    table = dlg.forms_table
    rows = [[table.item(r, c).text() for c in range(table.columnCount())] for r in range(table.rowCount())]
    firsts = [r[:4] for r in rows]  # title, issuer, year, notice (two years of one form share a title)
    assert ["重庆市中小企业特色产业集群申报表", "重庆市经济和信息化委员会", "2024", "渝经信中小〔2024〕7号 附件2"] in firsts
    assert ["中小企业特色产业集群年度发展情况报告", "上海市经济和信息化委员会", "2023"] in [r[:3] for r in rows]
    assert len(rows) == len(FORM_IDS) and all(r[4].isdigit() for r in rows)  # definition versions

    folder = store.path.parent
    assert dlg.folder_label.text() == str(folder)
    assert dlg.db_label.text() == str(store.path)
    qtbot.mouseClick(dlg.open_folder_button, Qt.MouseButton.LeftButton)
    assert system_opener.calls == [folder]


def test_about_explains_when_the_folder_cannot_be_opened(app, qtbot, tmp_path, system_opener):
    from clusterdesk.ui import about

    system_opener.result = False  # no file manager on this computer
    dlg = about.AboutDialog(tmp_path / "d.sqlite3")
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.mouseClick(dlg.open_folder_button, Qt.MouseButton.LeftButton)
    failed = dlg.open_failed_dialog
    assert failed.isVisible() and failed.folder_label.text() == str(tmp_path)
    assert "无法自动打开数据文件夹" in failed.message.text()
    qtbot.mouseClick(failed.copy_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == str(tmp_path)


def test_about_sends_backups_to_the_file_menu_not_the_command_line(app, qtbot, store):
    from clusterdesk.ui.about import AboutDialog
    from clusterdesk.ui.qt import QLabel

    dlg = AboutDialog(store.path)
    qtbot.addWidget(dlg)
    texts = " ".join(label.text() for label in dlg.findChildren(QLabel))
    assert "文件 → 备份数据库…" in texts and "文件 → 从备份恢复…" in texts
    assert "命令行" not in texts and "clusterdesk backup" not in texts


def test_show_about_opens_without_blocking(app, qtbot, store):
    from clusterdesk.ui.about import show_about

    dlg = show_about(None, store.path)
    qtbot.waitExposed(dlg)
    assert dlg.isVisible() and len(dlg.form_ids()) == len(FORM_IDS)
    dlg.reject()
    assert not dlg.isVisible()


def test_about_defaults_to_the_users_data_folder(app, qtbot):
    from clusterdesk.store import default_db_path
    from clusterdesk.ui.about import AboutDialog

    dlg = AboutDialog(None)
    qtbot.addWidget(dlg)
    assert dlg.data_folder() == default_db_path().parent


# --------------------------------------------------------------------------- first run


def test_first_run_open_demo_creates_the_demo_draft(app, qtbot, store, demo_answers):
    from clusterdesk.ui.firstrun import FirstRunDialog

    dlg = FirstRunDialog(store)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    assert dlg.demo_button.isEnabled() and dlg.demo_button.text() == "打开示例集群"
    qtbot.mouseClick(dlg.demo_button, Qt.MouseButton.LeftButton)
    assert dlg.choice == "demo" and dlg.result() == dlg.DialogCode.Accepted
    [draft] = store.list_drafts()
    assert dlg.draft_id == draft.id and draft.form_id == "cq-2024-application"
    answers = store.get_answers(draft.id)
    assert answers["cover.cluster_name"] == demo_answers["cover.cluster_name"]
    assert store.list_evidence(draft.id)  # the demo's evidence files came along


def _click_when_shown(qtbot, button_name: str) -> None:
    """Click a button of the first-run dialog once its modal exec() is running."""
    from clusterdesk.ui.firstrun import FirstRunDialog

    def click():
        dlg = next((w for w in QApplication.topLevelWidgets()
                    if isinstance(w, FirstRunDialog) and w.isVisible()), None)
        if dlg is None:
            QTimer.singleShot(20, click)
            return
        qtbot.mouseClick(getattr(dlg, button_name), Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, click)


def test_maybe_show_first_run_once_then_never(app, qtbot, store, tmp_path):
    from clusterdesk.ui.firstrun import maybe_show_first_run, settings_path_for

    settings = settings_path_for(store.path)
    assert settings == store.path.with_name("drafts.settings.json")
    opened: list[int] = []
    _click_when_shown(qtbot, "demo_button")
    assert maybe_show_first_run(None, store, settings, on_demo=opened.append) is True
    [draft] = store.list_drafts()
    assert opened == [draft.id]
    data = json.loads(settings.read_text(encoding="utf-8"))
    assert data["first_run_shown"] and data["first_run_version"]

    # Even after the demo is deleted again, the screen is not shown a second time.
    store.delete_draft(draft.id)
    assert maybe_show_first_run(None, store, settings, on_demo=opened.append) is False
    assert opened == [draft.id]


def test_first_run_new_calls_back(app, qtbot, store):
    from clusterdesk.ui.firstrun import maybe_show_first_run

    calls = []
    _click_when_shown(qtbot, "new_button")
    assert maybe_show_first_run(None, store, on_new=lambda: calls.append("new")) is True
    assert calls == ["new"] and store.list_drafts() == []


def test_first_run_closed_is_remembered_too(app, qtbot, store):
    from clusterdesk.ui.firstrun import maybe_show_first_run

    _click_when_shown(qtbot, "later_button")
    assert maybe_show_first_run(None, store) is True
    assert maybe_show_first_run(None, store) is False


def test_existing_user_is_not_greeted(app, store, demo_draft):
    from clusterdesk.ui.firstrun import load_settings, maybe_show_first_run, settings_path_for

    assert maybe_show_first_run(None, store) is False
    assert load_settings(settings_path_for(store.path))["first_run_shown"]


def test_damaged_settings_file_counts_as_empty_and_other_keys_survive(app, qtbot, store):
    from clusterdesk.ui.firstrun import load_settings, mark_shown, settings_path_for

    path = settings_path_for(store.path)
    path.write_text("{not json", encoding="utf-8")
    assert load_settings(path) == {}
    path.write_text(json.dumps({"window": [1, 2]}), encoding="utf-8")
    assert mark_shown(path)
    data = load_settings(path)
    assert data["window"] == [1, 2] and data["first_run_shown"]


def test_demo_import_failure_keeps_the_dialog_open(app, qtbot, store, monkeypatch, tmp_path):
    from clusterdesk.ui import firstrun

    bad = tmp_path / "demo.json"
    bad.write_text("{}", encoding="utf-8")
    monkeypatch.setattr(firstrun, "demo_file", lambda: bad)
    warned = []
    monkeypatch.setattr(firstrun.QMessageBox, "warning", staticmethod(lambda *a: warned.append(a[2])))
    dlg = firstrun.FirstRunDialog(store)
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.open_demo() is None
    assert warned and dlg.choice is None and dlg.isVisible()
    assert store.list_drafts() == []


# --------------------------------------------------------------------------- 用户指南


def test_user_guide_renders_with_its_images(app, qtbot):
    from clusterdesk.ui.help import UserGuideDialog, guide_path

    if not guide_path().exists():
        pytest.skip("docs/用户指南.md not written yet")
    dlg = UserGuideDialog()
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    titles = [t for _level, t in dlg.headings()]
    assert any("安装" in t for t in titles) and any("备份" in t for t in titles)
    assert dlg.contents.count() >= 8
    text = Path(guide_path()).read_text(encoding="utf-8")
    linked = {line.split("](", 1)[1].split(")", 1)[0] for line in text.splitlines() if line.startswith("![")}
    assert linked and set(dlg._images) == linked  # every screenshot found and loaded
    # images are scaled to the text width, never wider than the view
    for frag in dlg._image_fragments():
        assert frag.charFormat().toImageFormat().width() <= dlg.browser.viewport().width()
    # the contents list scrolls the guide
    bar = dlg.browser.verticalScrollBar()
    dlg.contents.setCurrentRow(dlg.contents.count() - 1)
    assert bar.value() > 0


def test_user_guide_missing_file_says_so(app, qtbot, tmp_path):
    from clusterdesk.ui.help import UserGuideDialog

    dlg = UserGuideDialog(None, tmp_path / "无.md")
    qtbot.addWidget(dlg)
    assert dlg.load() is False
    assert "找不到用户指南" in dlg.browser.toPlainText()


def test_show_user_guide_reuses_the_open_window(app, qtbot):
    from clusterdesk.ui.help import show_user_guide

    a = show_user_guide(None)
    qtbot.waitExposed(a)
    assert show_user_guide(None) is a
    a.close()

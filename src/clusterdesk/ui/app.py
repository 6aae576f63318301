"""Entry point of the desktop program: ``clusterdesk`` with no arguments calls :func:`run`."""

from __future__ import annotations

import sys
from pathlib import Path

from clusterdesk.store import DatabaseDamaged, DatabaseTooNew, Store, StoreError

from . import style
from .qt import QApplication, QLibraryInfo, QLocale, QMessageBox, QTranslator

APP_NAME = "集群申报助手"


def ensure_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else sys.argv[:1])
        app.setApplicationName("ClusterDesk")
        app.setApplicationDisplayName(APP_NAME)
        app.setOrganizationName("ClusterDesk")
        _install_chinese_qt_texts(app)
    style.apply_app_style(app)  # type: ignore[arg-type]
    return app  # type: ignore[return-value]


def _install_chinese_qt_texts(app: QApplication) -> None:
    """Qt's own buttons and dialogs (Yes/No, file dialogs) in Chinese, when Qt ships the file."""
    translator = QTranslator(app)
    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    if translator.load(QLocale(QLocale.Language.Chinese, QLocale.Country.China), "qtbase", "_", folder):
        app.installTranslator(translator)


def latest_snapshot(db_path: Path) -> Path | None:
    """The newest snapshot the store keeps beside the database file, if any."""
    snaps = Store.snapshots_of(db_path)
    return snaps[0] if snaps else None


def open_store(db_path: str | None, parent=None) -> Store | None:
    """Open the database; on a damaged or too-new file explain, offer the last snapshot, and
    otherwise return None without touching the file."""
    try:
        return Store.open(db_path)
    except (DatabaseDamaged, DatabaseTooNew) as e:
        path = Path(db_path) if db_path else getattr(e, "path", None)
        if path is None:
            from clusterdesk.store import default_db_path

            path = default_db_path()
        if isinstance(e, DatabaseTooNew):
            why = ("这个数据文件是由更新版本的集群申报助手保存的，本版本无法读取。\n"
                   "请安装最新版本后再打开；为避免丢失内容，本程序不会修改这个文件。")
        else:
            why = ("数据文件已损坏，或不是集群申报助手的数据文件。\n"
                   "为避免进一步损失，本程序不会修改这个文件。")
        text = f"无法打开数据文件：\n{path}\n\n{e}\n\n{why}"
        snap = latest_snapshot(path) if hasattr(Store, "restore") else None
        box = QMessageBox(QMessageBox.Icon.Critical, APP_NAME, text, parent=parent)
        restore_btn = None
        if snap is not None:
            box.setInformativeText(f"找到最近的自动快照：{snap.name}\n"
                                   "可以用它恢复（恢复前会先备份当前文件）。")
            restore_btn = box.addButton("用最近的快照恢复", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("退出", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        if restore_btn is not None and box.clickedButton() is restore_btn:
            try:
                Store.restore(path, snap)
                return Store.open(path)
            except StoreError as e2:
                QMessageBox.critical(parent, APP_NAME, f"恢复失败：{e2}")
        return None
    except StoreError as e:
        QMessageBox.critical(parent, APP_NAME, f"无法打开数据文件：{e}")
        return None


def run(db_path: str | None = None) -> int:
    app = ensure_app()
    store = open_store(db_path)
    if store is None:
        return 1
    from clusterdesk.export.leftovers import startup_cleanup

    from .start import StartWindow

    win = StartWindow(store)
    win.show()
    notes = startup_cleanup(store.path.parent).notes  # what a crashed run left: cleaned, and said
    if notes:
        QMessageBox.information(win, APP_NAME, "\n\n".join(notes))
    from .firstrun import maybe_show_first_run

    maybe_show_first_run(win, store, on_demo=lambda i: (win.refresh(i), win.open_draft(i)), on_new=win.new_draft)
    try:
        return app.exec()
    finally:
        store.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run(sys.argv[1] if len(sys.argv) > 1 else None))

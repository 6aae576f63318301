"""Entry point of the desktop program: ``clusterdesk`` with no arguments calls :func:`run`."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from clusterdesk.service import DatabaseDamaged, DatabaseEmpty, DatabaseTooNew, Store, StoreError

from . import style
from .display import no_display_lines
from .qt import (QApplication, QLibraryInfo, QLocale, QMessageBox, QtMsgType, QTimer, QTranslator,
                 qInstallMessageHandler)

APP_NAME = "集群申报助手"


def ensure_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        with _platform_failure_in_chinese():
            app = QApplication(argv if argv is not None else sys.argv[:1])
        app.setApplicationName("ClusterDesk")
        app.setApplicationDisplayName(APP_NAME)
        app.setOrganizationName("ClusterDesk")
    install_chinese_qt_texts(app)  # type: ignore[arg-type]  # instance() is typed QCoreApplication; the UI makes a QApplication
    style.apply_app_style(app)  # type: ignore[arg-type]  # as above
    return app  # type: ignore[return-value]  # as above


@contextmanager
def _platform_failure_in_chinese() -> Iterator[None]:
    """While the application object is made: when Qt cannot open its platform plugin (a DISPLAY
    that points nowhere, a broken Wayland session) it aborts the process after a page of English
    hints, some of them wrong (a "missing" libxcb-cursor0 that is installed). Say in Chinese that
    the window needs a desktop instead, and end with exit code 2. Qt's platform chatter of a
    start that works is dropped."""

    def handler(mode, context, message):  # noqa: ANN001 (Qt's signature)
        if mode == QtMsgType.QtFatalMsg:
            where = os.environ.get("WAYLAND_DISPLAY") or os.environ.get("DISPLAY") or ""
            why = f"无法连接显示“{where}”" if where else "无法加载图形界面的显示组件"
            sys.stderr.write("\n".join(no_display_lines(why)) + "\n")
            sys.stderr.flush()
            os._exit(2)  # Qt aborts right after this handler returns

    previous = qInstallMessageHandler(handler)
    try:
        yield
    finally:
        qInstallMessageHandler(previous)


class _MissingQtTexts(QTranslator):
    """The few texts of Qt's own dialogs that qtbase_zh_CN.qm (PySide6 6.11) leaves in English:
    the file dialog's 查找范围 and 文件类型 labels. Asked only after Qt's own Chinese file."""

    TEXTS = {
        ("QFileDialog", "&Look in:"): "查找范围(&L)：",
        ("QFileDialog", "Files of &type:"): "文件类型(&T)：",
    }

    def translate(self, context, source_text, disambiguation=None, n=-1):  # noqa: D102 - Qt API
        return self.TEXTS.get((context, source_text))  # None: not here, Qt keeps looking

    def isEmpty(self) -> bool:  # noqa: N802 - Qt API
        return False


def install_chinese_qt_texts(app: QApplication) -> bool:
    """Qt's own buttons and dialogs (Yes/No, file dialogs, text menus) in Chinese: Qt's
    qtbase_zh_CN.qm (shipped in PySide6's translations folder and in the desktop build), and the
    texts it lacks. Once per application; True if Qt's file was found."""
    if app.property("clusterdesk-zh"):
        return bool(app.property("clusterdesk-zh-qm"))
    app.setProperty("clusterdesk-zh", True)
    app.installTranslator(_MissingQtTexts(app))  # asked last: translators installed later go first
    translator = QTranslator(app)
    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    found = translator.load(QLocale(QLocale.Language.Chinese, QLocale.Country.China), "qtbase", "_", folder)
    if found:
        app.installTranslator(translator)
    app.setProperty("clusterdesk-zh-qm", found)
    return found


def latest_snapshot(db_path: Path) -> Path | None:
    """The newest snapshot the store keeps beside the database file, if any."""
    snaps = Store.snapshots_of(db_path)
    return snaps[0] if snaps else None


def _choose(box: QMessageBox, buttons: list[tuple[str, QMessageBox.ButtonRole]]) -> str:
    """Show ``box`` with these buttons; returns the text of the one clicked ("" if closed)."""
    made = {box.addButton(text, role): text for text, role in buttons}
    box.exec()
    return made.get(box.clickedButton(), "")  # type: ignore[call-overload]  # a button the box did not make maps to ""


_RESTORE, _SET_ASIDE, _ACCEPT, _QUIT = "用最近的快照恢复", "改名保留此文件，新建空数据库", "接受损坏并继续", "退出"


def _snapshot_text(snap: Path) -> str:
    from datetime import datetime

    try:
        when = f"（保存于 {datetime.fromtimestamp(snap.stat().st_mtime):%Y-%m-%d %H:%M}）"
    except OSError:
        when = ""
    return f"找到最近的自动快照：{snap.name}{when}\n可以用它恢复（恢复前会先备份当前文件）。"


def open_store(db_path: str | None, parent=None) -> Store | None:
    """Open the database. A file that cannot be used (damaged, empty, not ours, too new) is
    explained and left untouched; the last snapshot is offered, and for a damaged file keeping it
    under a new name and starting an empty database. Damaged values in a database that opens are
    named, and the user restores the snapshot or accepts the damage before any work is saved.
    Returns None when the user quits."""
    from clusterdesk.service import default_db_path

    path = Path(db_path) if db_path else default_db_path()
    try:
        store = Store.open(path)
    except (DatabaseDamaged, DatabaseTooNew) as e:
        return _refused(path, e, parent)
    except StoreError as e:
        QMessageBox.critical(parent, APP_NAME, f"无法打开数据文件：{e}")
        return None
    if store.damage:
        return _damaged_values(store, parent)
    return store


def _refused(path: Path, e: StoreError, parent) -> Store | None:
    if isinstance(e, DatabaseTooNew):
        why = ("这个数据文件是由更新版本的集群申报助手保存的，本版本无法读取。\n"
               "请安装最新版本后再打开；为避免丢失内容，本程序不会修改这个文件。")
    elif isinstance(e, DatabaseEmpty):
        why = ("原来保存在其中的内容已经不在了。可以用快照恢复；\n"
               "也可以把这个文件改名保留，新建一个空数据库。")
    else:
        why = ("数据文件已损坏，或不是集群申报助手的数据文件。\n"
               "为避免进一步损失，本程序不会修改这个文件。")
    box = QMessageBox(QMessageBox.Icon.Critical, APP_NAME, f"无法打开数据文件：\n{path}\n\n{e}\n\n{why}",
                      parent=parent)
    snap = latest_snapshot(path)
    buttons = []
    if snap is not None:
        box.setInformativeText(_snapshot_text(snap))
        buttons.append((_RESTORE, QMessageBox.ButtonRole.AcceptRole))
    if not isinstance(e, DatabaseTooNew):
        buttons.append((_SET_ASIDE, QMessageBox.ButtonRole.DestructiveRole))
    buttons.append((_QUIT, QMessageBox.ButtonRole.RejectRole))
    choice = _choose(box, buttons)
    try:
        if choice == _RESTORE and snap is not None:  # offered only when there is a snapshot
            Store.restore(path, snap)
            return open_store(str(path), parent)
        if choice == _SET_ASIDE:
            kept = Store.set_aside(path)
            store = Store.open(path)
            QMessageBox.information(parent, APP_NAME, f"原数据文件已改名保留为：\n{kept}\n\n已新建空数据库。")
            return store
    except StoreError as e2:
        QMessageBox.critical(parent, APP_NAME, f"未完成：{e2}")
    return None


def _damaged_values(store: Store, parent) -> Store | None:
    lines = [item.message() for item in store.damage]
    shown = lines[:12] + ([f"……另有 {len(lines) - 12} 处"] if len(lines) > 12 else [])
    text = ("数据文件中有内容已损坏：\n\n" + "\n".join(shown) +
            "\n\n为避免损坏扩散，程序已停止保存。可以用快照恢复；也可以接受损坏后继续："
            "损坏的内容另存为文字（保存在该草稿的信息项“damaged_values”中），相应栏目清空，需重新填写。")
    box = QMessageBox(QMessageBox.Icon.Warning, APP_NAME, text, parent=parent)
    snap = latest_snapshot(store.path)
    buttons = []
    if snap is not None:
        box.setInformativeText(_snapshot_text(snap))
        buttons.append((_RESTORE, QMessageBox.ButtonRole.AcceptRole))
    buttons += [(_ACCEPT, QMessageBox.ButtonRole.DestructiveRole), (_QUIT, QMessageBox.ButtonRole.RejectRole)]
    choice = _choose(box, buttons)
    try:
        if choice == _RESTORE and snap is not None:  # offered only when there is a snapshot
            path = store.path
            store.close()
            Store.restore(path, snap)
            return open_store(str(path), parent)
        if choice == _ACCEPT:
            done = store.accept_damage().lines()
            QMessageBox.information(parent, APP_NAME, "已接受损坏，可以继续保存：\n\n" + "\n\n".join(done))
            return store
    except StoreError as e:
        QMessageBox.critical(parent, APP_NAME, f"未完成：{e}")
    store.close()
    return None


def start(db_path: str | None = None):
    """Everything ``clusterdesk`` does before its event loop runs: open and check the database,
    show the start window, clean up what a crashed run left, offer the demo on a first run.
    Returns the start window (its ``store`` is open), or None when the user quit at a refused
    database. The benchmarks and the frozen smoke test start the program through this too."""
    ensure_app()
    store = open_store(db_path)
    if store is None:
        return None
    from clusterdesk.export.leftovers import startup_cleanup
    from clusterdesk.logs import log, setup_logging

    from . import crash

    setup_logging(store.path.parent)  # named in 关于; the crash dialog shows it
    log.info("window started: %s", store.path)
    crash.install()

    from clusterdesk.paths import use_data_dir

    use_data_dir(store.path.parent)  # the forms the user installed are in its forms/ folder
    from .start import StartWindow

    win = StartWindow(store)
    from .winstate import show_window

    show_window(win)
    win.report_bad_forms()  # a definition file that did not load is named; the others work
    notes = startup_cleanup(store.path.parent).notes  # what a crashed run left: cleaned, and said
    if notes:
        QMessageBox.information(win, APP_NAME, "\n\n".join(notes))
    QTimer.singleShot(PRELOAD_DELAY_MS, preload_in_background)
    from .firstrun import maybe_show_first_run

    def open_demo(draft_id: int) -> None:
        win.refresh(draft_id)
        win.open_draft(draft_id)

    maybe_show_first_run(win, store, on_demo=open_demo, on_new=win.new_draft)
    return win


#: The background import starts this long after the start window: the windows of the first
#: second (the start window, a draft opened at once) are built without sharing the interpreter.
PRELOAD_DELAY_MS = 1000


def preload_in_background() -> None:
    """Import what saving needs (SQLAlchemy and SQLModel, about half a second) in a background
    thread while the user looks at the first window, so the first change that is saved does not
    wait for it. Reading never needs it (the store reads with plain SQL). A save that comes
    sooner waits for the import to finish (Python's import lock), as it would without this."""
    import threading

    from clusterdesk.service import preload_orm

    threading.Thread(target=preload_orm, name="preload-orm", daemon=True).start()


def run(db_path: str | None = None) -> int:
    app = ensure_app()
    win = start(db_path)
    if win is None:
        return 1
    try:
        return app.exec()
    finally:
        win.store.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run(sys.argv[1] if len(sys.argv) > 1 else None))

"""Render every section of every shipped form, filled with its demo data, to PNG files.

    python -m clusterdesk.ui.screenshots OUTDIR

Writes OUTDIR/<form-id>-<NN>-<section-id>.png (the whole page, not only what fits on screen),
OUTDIR/<form-id>-window.png (the window at 1366×768) and OUTDIR/start.png. Runs offscreen.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def render(outdir: Path, width: int = 1366, height: int = 768) -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from clusterdesk.model.form import default_catalog
    from clusterdesk.paths import demo_dir
    from clusterdesk.service import create_draft
    from clusterdesk.service import Store

    from .app import ensure_app
    from .draft_window import DraftWindow
    from .qt import QApplication
    from .start import StartWindow

    ensure_app()
    outdir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "shots.sqlite3")
        try:
            for form in default_catalog():
                demo = demo_dir() / f"{form.id}.json"
                if demo.exists():
                    from clusterdesk.templates import import_file

                    draft_id = import_file(store, demo)
                else:
                    draft_id = create_draft(store, form).id
                win = DraftWindow(store, draft_id)
                win.resize(width, height)
                win.show()
                QApplication.processEvents()
                for i, section in enumerate(form.sections):
                    win.go_to(i)
                    QApplication.processEvents()
                    page = win.page(i)
                    # the whole page: header plus the full scrolled content
                    content = page.content
                    content.resize(page.scroll_area.viewport().width(), content.sizeHint().height())
                    QApplication.processEvents()
                    path = outdir / f"{form.id}-{i:02d}-{section.id}.png"
                    content.grab().save(str(path))
                    written.append(path)
                win.go_to(min(2, len(form.sections) - 1))
                QApplication.processEvents()
                path = outdir / f"{form.id}-window.png"
                win.grab().save(str(path))
                written.append(path)
                win.close()
                QApplication.processEvents()
            start = StartWindow(store)
            start.resize(width, height)
            start.show()
            QApplication.processEvents()
            path = outdir / "start.png"
            start.grab().save(str(path))
            written.append(path)
            start.close()
        finally:
            store.close()
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("用法：python -m clusterdesk.ui.screenshots 输出文件夹", file=sys.stderr)
        return 2
    for p in render(Path(args[0])):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())

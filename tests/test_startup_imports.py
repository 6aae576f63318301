"""What each way in imports: the command line's --help, forms and template, and the start window,
do not import the libraries they do not use (SQLAlchemy/SQLModel, PySide6, python-docx, openpyxl),
so that they start without paying for them (issue 15). Each runs in a fresh interpreter, which
then lists ``sys.modules``; nothing here is timed (the figures are in ``make bench``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

STORE_ORM = ("sqlalchemy", "sqlmodel")
QT = ("PySide6", "shiboken6")
WORD = ("docx",)
EXCEL = ("openpyxl",)

CLI_CHILD = """
import json, sys
from clusterdesk.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as e:  # argparse ends --help this way
    code = e.code
sys.stdout.flush()
print("MODULES " + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""

START_WINDOW_CHILD = """
import json, sys
import clusterdesk.ui.app as app
app.PRELOAD_DELAY_MS = 10 ** 7  # the background import of what saving needs comes later, by design
from clusterdesk.ui.qt import QApplication
win = app.start(sys.argv[1])
QApplication.processEvents()
assert win.isVisible()
print("MODULES " + json.dumps({"code": 0, "modules": sorted(sys.modules)}))
win.store.close()
"""


def _modules(code: str, *args: str, cwd) -> tuple[int, set[str], str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=180,
                       cwd=cwd, env=env)
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith("MODULES ")), None)
    assert line, p.stdout + p.stderr
    data = json.loads(line[len("MODULES "):])
    return data["code"], set(data["modules"]), p.stdout


def _imported(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in packages)


@pytest.mark.parametrize("args, absent", [
    (["--help"], STORE_ORM + QT + WORD + EXCEL + ("pydantic", "yaml")),
    (["forms"], STORE_ORM + QT + WORD + EXCEL),
    (["template", "cq-2024-application", "--out", "t.json"], STORE_ORM + QT + WORD + EXCEL),
    (["template", "cq-2024-application", "--out", "t.xlsx"], STORE_ORM + QT + WORD),
])
def test_command_line_imports_only_what_the_command_uses(tmp_path, args, absent):
    code, modules, out = _modules(CLI_CHILD, "--db", str(tmp_path / "d.sqlite3"), *args, cwd=tmp_path)
    assert code == 0, out
    assert _imported(modules, absent) == []
    if args[0] == "template":  # it did its work: the template is there
        assert (tmp_path / args[-1]).stat().st_size > 0
    if args[0] == "forms":
        assert "cq-2024-application" in out


@pytest.mark.parametrize("args", [["forms"], ["template", "cq-2024-application", "--out", "t.json"]])
def test_a_second_start_reads_the_checked_forms_without_parsing_yaml(tmp_path, monkeypatch, args):
    """The first start checked the definitions and cached them (model/formcache.py); the next one
    does not import the YAML parser, and writing a template does not import the service."""
    monkeypatch.setenv("CLUSTERDESK_CACHE", str(tmp_path / "cache"))
    (code1, first, _), (code2, second, out) = [
        _modules(CLI_CHILD, "--db", str(tmp_path / "d.sqlite3"), *args, cwd=tmp_path) for _ in range(2)]
    assert code1 == code2 == 0, out
    assert "yaml" in first and "yaml" not in second
    assert "clusterdesk.model.form" in second and "clusterdesk.service" not in second


def test_drafts_opens_the_store_without_the_orm(tmp_path):
    """Listing drafts reads the database with plain SQL; the ORM is for writing."""
    db = tmp_path / "d.sqlite3"
    from clusterdesk.store import Store

    with Store.open(db) as store:
        store.create_draft("cq-2024-application", 1, "草稿甲")
    code, modules, out = _modules(CLI_CHILD, "--db", str(db), "drafts", cwd=tmp_path)
    assert code == 0 and "草稿甲" in out, out
    assert _imported(modules, STORE_ORM + QT + WORD + EXCEL) == []


def test_start_window_imports_no_orm_word_or_excel(tmp_path):
    db = tmp_path / "d.sqlite3"
    from clusterdesk.store import Store

    with Store.open(db) as store:
        store.create_draft("cq-2024-application", 1, "草稿甲")
    code, modules, out = _modules(START_WINDOW_CHILD, str(db), cwd=tmp_path)
    assert "PySide6.QtWidgets" in modules  # it did start a window
    assert _imported(modules, STORE_ORM + WORD + EXCEL) == []

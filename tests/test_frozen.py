"""Smoke test of the PyInstaller bundle (build.spec): the folder a user gets on a USB stick.

Runs against ``dist/clusterdesk/`` if it exists (``make dist``), copied first to a folder whose
path has Chinese characters and a space (as a USB stick's would), so nothing can be found through
the source tree. With ``CLUSTERDESK_BUILD_DIST=1`` it runs PyInstaller itself into a temporary
folder (about 1–2 minutes on 2 cores) and tests that build instead.

Checks, with a temporary ``--db``: ``forms`` (the four shipped forms), ``template``, ``import``
of the bundled demo (with its evidence files), ``validate``, ``export --no-pdf`` (the Word file
read back with python-docx), ``backup``, and the GUI started offscreen and quit cleanly by the
bundle's ``CLUSTERDESK_SMOKE_QUIT_MS`` hook, for both executables.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cd_support import ROOT

pytestmark = pytest.mark.slow

EXE_SUFFIX = ".exe" if sys.platform == "win32" else ""
CLI_NAME = "clusterdesk" + EXE_SUFFIX
GUI_NAME = "集群申报助手" + EXE_SUFFIX
FORM_IDS = {p.stem for p in (ROOT / "forms").glob("*.yaml")}  # every shipped form, however many


def _build(tmp: Path) -> Path:
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.skip("CLUSTERDESK_BUILD_DIST=1 but PyInstaller is not installed (pip install -e '.[build]')")
    dist, work = tmp / "dist", tmp / "build"
    p = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", str(dist), "--workpath", str(work), str(ROOT / "build.spec")],
        cwd=ROOT, capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=900,
    )
    assert p.returncode == 0, f"PyInstaller failed:\n{p.stdout[-3000:]}\n{p.stderr[-6000:]}"
    return dist / "clusterdesk"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """The bundle folder, at a path unrelated to the source tree."""
    tmp = tmp_path_factory.mktemp("frozen")
    if os.environ.get("CLUSTERDESK_BUILD_DIST") == "1":
        return _build(tmp)
    built = ROOT / "dist" / "clusterdesk"
    if not (built / CLI_NAME).exists():
        pytest.skip("no bundle: run `make dist` first, or set CLUSTERDESK_BUILD_DIST=1 to build one here")
    target = tmp / "U盘 副本" / "集群申报助手"
    shutil.copytree(built, target, symlinks=True)
    return target


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("frozen-work")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CLUSTERDESK_", "PYTHON", "QT_")) and k not in ("VIRTUAL_ENV",)}
    env.setdefault("LANG", "C.UTF-8")
    env.update(extra)
    return env


def run(bundle: Path, work: Path, *args: str, exe: str = CLI_NAME, timeout: int = 120, **env: str):
    db = work / "数据" / "clusterdesk.sqlite3"
    db.parent.mkdir(exist_ok=True)
    return subprocess.run([str(bundle / exe), "--db", str(db), *args], cwd=work, env=_env(**env),
                          capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=timeout)


def ok(p: subprocess.CompletedProcess) -> str:
    assert p.returncode == 0, f"exit {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    assert "Traceback" not in p.stderr, p.stderr
    return p.stdout


def bundled(bundle: Path, relative: str) -> Path:
    """A data file inside the bundle (PyInstaller puts them under _internal/)."""
    hits = [p for p in bundle.rglob(Path(relative).name) if p.as_posix().endswith(relative)]
    assert hits, f"{relative} is not in the bundle"
    return hits[0]


def test_bundle_layout(bundle):
    assert (bundle / CLI_NAME).is_file() and (bundle / GUI_NAME).is_file()
    assert {p.stem for p in bundled(bundle, "forms/cq-2024-application.yaml").parent.glob("*.yaml")} >= FORM_IDS
    assert list(bundled(bundle, "demo/cq-2024-application.json").parent.glob("evidence/*.pdf"))
    assert bundled(bundle, "resources/icons/clusterdesk.png").stat().st_size > 1000
    assert bundled(bundle, "docx/templates/default.docx").is_file()  # python-docx's package data
    guide = ROOT / "docs" / "用户指南.md"
    if guide.exists():  # the guide and every screenshot it links to
        folder = bundled(bundle, "docs/用户指南.md").parent
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)", guide.read_text(encoding="utf-8")):
            assert (folder / target).is_file(), f"{target} (linked from the user guide) is not bundled"
    # no test tools, no unused Qt
    names = {p.name for p in bundle.rglob("*")}
    assert not any(n.startswith(("pytest", "_pytest", "hypothesis")) for n in names)
    assert not any("QtQml" in n or "QtQuick" in n or "QtWebEngine" in n or "QtNetwork" in n for n in names)
    links = [p for p in bundle.rglob("*") if p.is_symlink() and not p.exists()]
    assert not links, f"dangling symlinks: {links}"


def test_cli_forms_template_import_validate(bundle, work):
    out = ok(run(bundle, work, "--version"))
    assert out.strip().startswith("clusterdesk ")

    lines = ok(run(bundle, work, "forms")).strip().splitlines()
    assert {ln.split("\t")[0] for ln in lines} == FORM_IDS

    ok(run(bundle, work, "template", "cq-2024-application", "--out", "t.json"))
    tpl = json.loads((work / "t.json").read_text(encoding="utf-8"))
    assert tpl["form"] == "cq-2024-application" and tpl["fields"]

    demo = bundled(bundle, "demo/cq-2024-application.json")
    draft_id = ok(run(bundle, work, "import", str(demo))).strip()
    assert draft_id.isdigit()
    conn = sqlite3.connect(work / "数据" / "clusterdesk.sqlite3")
    try:
        assert conn.execute("SELECT count(*) FROM evidence").fetchone()[0] > 0  # the bundled evidence PDFs
    finally:
        conn.close()
    out = ok(run(bundle, work, "validate", draft_id))
    assert "共 0 个错误" in out

    backup = work / "备份.sqlite3"
    assert ok(run(bundle, work, "backup", str(backup))).strip() == str(backup)


def test_cli_export_docx(bundle, work):
    if run(bundle, work, "export", "--help").returncode != 0:
        pytest.skip("this build has no export command")
    demo = bundled(bundle, "demo/cq-2024-application.json")
    out_dir = work / "导出"
    out = ok(run(bundle, work, "export", str(demo), "--out", str(out_dir), "--no-pdf", timeout=300))
    files = [Path(line) for line in out.strip().splitlines()]
    docs = [f for f in files if f.suffix == ".docx"]
    assert docs and all(f.exists() for f in files)
    import docx

    for f in docs:
        text = "\n".join(p.text for p in docx.Document(str(f)).paragraphs)
        tables = "\n".join(c.text for t in docx.Document(str(f)).tables for r in t.rows for c in r.cells)
        assert "永川" in text + tables, f"{f.name} does not show the demo cluster"


@pytest.mark.parametrize("exe", [CLI_NAME, GUI_NAME])
def test_gui_starts_and_quits_offscreen(bundle, work, exe):
    p = run(bundle, work, exe=exe, timeout=90, QT_QPA_PLATFORM="offscreen", CLUSTERDESK_SMOKE_QUIT_MS="2500")
    out = ok(p)
    assert "smoke-quit:" in out, (out, p.stderr)
    windows = out.split("smoke-quit:", 1)[1]
    assert "集群申报助手" in windows, windows


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def test_frozen_start_times_and_size_printed(bundle, tmp_path, capsys):
    """The frozen program's start → start window, → first section of the demo ready for typing, and
    `forms`, medians of 3 (printed, not asserted: the machine is shared); the bundle ≤ 150 MB."""
    import time

    db = tmp_path / "数据" / "clusterdesk.sqlite3"
    db.parent.mkdir()
    cli = [str(bundle / CLI_NAME), "--db", str(db)]

    def go(*args: str, **env: str) -> tuple[float, str]:
        t0 = time.time()
        p = subprocess.run([*cli, *args], cwd=tmp_path, env=_env(**env), capture_output=True, text=True,
                           encoding="utf-8", errors="replace", timeout=120)
        return t0, ok(p)

    draft_id = go("import", str(bundled(bundle, "demo/cq-2024-application.json")))[1].strip()
    forms, start, first = [], [], []
    for _ in range(3):
        t0, out = go("forms")
        forms.append(time.time() - t0)
        assert {ln.split("\t")[0] for ln in out.strip().splitlines()} == FORM_IDS
        t0, out = go(QT_QPA_PLATFORM="offscreen", CLUSTERDESK_SMOKE_OPEN=draft_id)
        marks = dict(ln.split(": ", 1) for ln in out.splitlines() if ln.startswith("smoke-"))
        assert marks["smoke-first-section"].endswith(" ready"), out
        start.append(float(marks["smoke-start-window"]) - t0)
        first.append(float(marks["smoke-first-section"].split()[0]) - t0)
    size = sum(f.stat().st_size for f in bundle.rglob("*") if f.is_file() and not f.is_symlink())
    with capsys.disabled():
        print(f"\nfrozen program, medians of 3: start → start window {_median(start):.2f} s; "
              f"start → first section of the demo ready {_median(first):.2f} s; "
              f"`clusterdesk forms` {_median(forms):.2f} s; bundle {size / 2**20:.0f} MB")
    assert size <= 150 * 2**20, f"bundle {size / 2**20:.0f} MB > 150 MB"


def test_gui_with_a_damaged_database_explains_and_leaves_it_alone(bundle, work):
    """The start-up message box is modal; the smoke hook closes it like a user clicking 退出."""
    db = work / "坏的.sqlite3"
    db.write_bytes(b"not a database" * 500)
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    p = subprocess.run([str(bundle / CLI_NAME), "--db", str(db)], cwd=work, capture_output=True, text=True,
                       encoding="utf-8", errors="replace", timeout=90,
                       env=_env(QT_QPA_PLATFORM="offscreen", CLUSTERDESK_SMOKE_QUIT_MS="1500"))
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    assert "smoke-quit: 集群申报助手" in p.stdout  # the message box was showing
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest

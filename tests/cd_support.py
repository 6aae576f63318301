"""Shared test helpers, importable from any test folder (a plain module: conftest.py files of
several folders shadow each other when imported by name)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo"
FORMS = ROOT / "forms"
SEEDS = ROOT / "forms" / "sources"  # the official notices (forms/sources/README.md)
ENV = dict(os.environ, PYTHONIOENCODING="utf-8")


def run_cli(*args: str, db: Path, cwd: Path | None = None, timeout: int = 180) -> subprocess.CompletedProcess:
    """Run the real ``clusterdesk`` command line in a subprocess, with a test database."""
    env = dict(os.environ, PYTHONIOENCODING="utf-8")  # as the test set it (CLUSTERDESK_FORMS …)
    return subprocess.run([sys.executable, "-m", "clusterdesk", "--db", str(db), *args],
                          capture_output=True, text=True, encoding="utf-8", env=env, cwd=cwd, timeout=timeout)


def cluster_packages(folder: Path, industries: list[str]) -> list[Path]:
    """One package per cluster (the demo application under the name 重庆市中小企业特色产业集群（<industry>）),
    as the operating bodies hand them to the district officer."""
    from clusterdesk.packages import write_package
    from clusterdesk.service import DraftSession
    from clusterdesk.store import Store
    from clusterdesk.templates import import_file

    out = []
    with Store.open(folder / "clusters.sqlite3") as s:
        for n, industry in enumerate(industries):
            did = import_file(s, DEMO / "cq-2024-application.json")
            DraftSession(s, did).set("cover.cluster_name", f"重庆市中小企业特色产业集群（{industry}）")
            out.append(write_package(s, did, folder / f"{n + 1}.cdpkg", documents=False))
    return out

"""Shared test helpers, importable from any test folder (a plain module: conftest.py files of
several folders shadow each other when imported by name)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo"
SEEDS = ROOT / "forms" / "sources"  # the official notices (forms/sources/README.md)
ENV = dict(os.environ, PYTHONIOENCODING="utf-8")


def run_cli(*args: str, db: Path, cwd: Path | None = None, timeout: int = 180) -> subprocess.CompletedProcess:
    """Run the real ``clusterdesk`` command line in a subprocess, with a test database."""
    return subprocess.run([sys.executable, "-m", "clusterdesk", "--db", str(db), *args],
                          capture_output=True, text=True, encoding="utf-8", env=ENV, cwd=cwd, timeout=timeout)

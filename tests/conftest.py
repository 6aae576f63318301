"""Shared fixtures: a fresh real SQLite store per test, the shipped catalog and the demo data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cd_support import DEMO, ROOT, SEEDS  # noqa: F401  (re-exported for older imports)

# Never touch the user's real data folder from tests.
os.environ.setdefault("CLUSTERDESK_TEST", "1")


@pytest.fixture()
def store(tmp_path):
    from clusterdesk.store import Store

    s = Store.open(tmp_path / "drafts.sqlite3")
    yield s
    s.close()


@pytest.fixture(scope="session")
def catalog():
    from clusterdesk.model.form import default_catalog

    return default_catalog()


@pytest.fixture(scope="session")
def cq_form(catalog):
    return catalog.get("cq-2024-application")


@pytest.fixture()
def demo_cq() -> dict:
    return json.loads((DEMO / "cq-2024-application.json").read_text(encoding="utf-8"))

"""Shared fixtures: a fresh real SQLite store per test, the shipped catalog and the demo data."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

from cd_support import DEMO, ROOT, SEEDS  # noqa: F401  (re-exported for older imports)

# Never touch the user's real data folder from tests.
os.environ.setdefault("CLUSTERDESK_TEST", "1")
# The checked-definition cache (model/formcache.py) of this test run: on, as for a user, but in a
# folder of its own (the command lines the tests start inherit it).
if "CLUSTERDESK_CACHE" not in os.environ:
    os.environ["CLUSTERDESK_CACHE"] = tempfile.mkdtemp(prefix="clusterdesk-test-formcache-")
    atexit.register(shutil.rmtree, os.environ["CLUSTERDESK_CACHE"], ignore_errors=True)

# Hypothesis: the test command (make test, CI) runs derandomized, so every run tries the same
# examples and a red build is reproducible; ``make fuzz`` selects the "fuzz" profile (random seeds,
# five times the examples, finds kept in .hypothesis/ and replayed). Keep each find as an
# ``@example`` regression in the test that found it.
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("fuzz", derandomize=False, deadline=None, print_blob=True, max_examples=5000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


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


@pytest.fixture()
def demo_answers():
    """The answers of the Chongqing demo application (demo/cq-2024-application.json)."""
    return json.loads((DEMO / "cq-2024-application.json").read_text(encoding="utf-8"))["answers"]

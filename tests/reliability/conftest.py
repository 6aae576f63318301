"""Fixtures of the reliability suite; writes the figures of the run to last_run.json."""

from __future__ import annotations

import datetime as dt
import json
import os
import pytest
import rel_support  # tests/reliability is on sys.path: pyproject.toml [tool.pytest.ini_options] pythonpath


@pytest.fixture(scope="session", autouse=True)
def _write_last_run():
    yield
    if not rel_support.STATS:
        return
    try:
        old = json.loads(rel_support.LAST_RUN.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = {}
    now = dt.datetime.now().isoformat(timespec="seconds")
    for section, figures in rel_support.STATS.items():
        # merge per figure: a partial run (one test) updates its own figures and keeps the others
        old[section] = {**old.get(section, {}), **figures, "recorded_at": now}
    tmp = rel_support.LAST_RUN.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(old, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, rel_support.LAST_RUN)


@pytest.fixture(scope="session")
def form():
    from clusterdesk.model.form import default_catalog

    return default_catalog().get(rel_support.FORM_ID)


@pytest.fixture(scope="session")
def demo_doc() -> dict:
    return json.loads(rel_support.DEMO_CQ.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def demo_package(tmp_path_factory) -> bytes:
    """The demo application (151 answers, 486 patents, 38 evidence links) as a .cdpkg, without the
    exported documents."""
    from clusterdesk.packages import write_package
    from clusterdesk.store import Store
    from clusterdesk.templates import import_file

    folder = tmp_path_factory.mktemp("demo-package")
    with Store.open(folder / "source.sqlite3") as store:
        draft_id = import_file(store, rel_support.DEMO_CQ)
        out = write_package(store, draft_id, folder / "永川数控机床产业集群.cdpkg", documents=False)
    return out.read_bytes()


@pytest.fixture()
def umask022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def pytest_terminal_summary(terminalreporter):
    if rel_support.STATS:
        terminalreporter.section("reliability figures (also in tests/reliability/last_run.json)")
        for section, figures in sorted(rel_support.STATS.items()):
            shown = ", ".join(f"{k}={v}" for k, v in sorted(figures.items()))
            terminalreporter.write_line(f"{section}: {shown}")

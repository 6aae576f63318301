"""Core speed: loading the form definitions, validating the demo application, importing it, and
committing one field change (the wizard's autosave path). Medians over repeated runs."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo" / "cq-2024-application.json"


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _bench_authoring(tmp: Path) -> None:
    """Installed forms (issue 13): the catalog with two installed files beside its baseline (the shipped
    forms alone), forms check of the shipped forms, and opening a draft of an earlier version (the
    one-time upgrade: snapshot + one transaction) beside opening a current one."""
    sys.path.insert(0, str(ROOT / "tests"))
    from authoring_support import next_year_shanghai, renamed_version, synthetic_province

    from clusterdesk.model.checks import check_loaded
    from clusterdesk.model.form import Catalog
    from clusterdesk.service import DraftSession
    from clusterdesk.store import Store
    from clusterdesk.templates import import_file

    user = tmp / "forms"
    user.mkdir()
    (user / "sh-2024-annual-report.yaml").write_text(next_year_shanghai(), encoding="utf-8")
    (user / "jia-2025-application.yaml").write_text(synthetic_province(), encoding="utf-8")
    base = median_ms(lambda: Catalog.load(), 10)
    more = median_ms(lambda: Catalog.load(user_folder=user), 10)
    print(f"catalog: shipped forms {base:.1f} ms; with 2 installed files {more:.1f} ms (×{more / base:.2f})")
    shipped = Catalog.load()
    print(f"forms check of the shipped forms (schema, YAML node tree, years, split options): "
          f"{median_ms(lambda: check_loaded(shipped), 5):.1f} ms")
    v2 = tmp / "v2"
    v2.mkdir()
    (v2 / "cq-2024-application.yaml").write_text(renamed_version(), encoding="utf-8")
    newer = Catalog.load(user_folder=v2)
    with Store.open(tmp / "versions.sqlite3") as store:
        drafts = [import_file(store, DEMO, shipped) for _ in range(6)]
        current = median_ms(lambda: DraftSession(store, drafts[0], shipped), 5)
        todo = iter(drafts)
        upgrade = median_ms(lambda: DraftSession(store, next(todo), newer), 5)
    print(f"open a draft: current version {current:.1f} ms; made on version 1, first opened on version 2 "
          f"(moves, 旧版本内容, snapshot) {upgrade:.1f} ms (×{upgrade / current:.1f})")


def main() -> None:
    from clusterdesk.model.form import Catalog
    from clusterdesk.model.rules import eligibility, plausibility_problems, validate
    from clusterdesk.service import DraftSession, load_answers
    from clusterdesk.store import Store
    from clusterdesk.templates import import_file

    print(f"load 4 form definitions (YAML + schema + cross-checks): {median_ms(lambda: Catalog.load(), 10):.1f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "b.sqlite3")
        print(f"import demo application (151 cells, 486-row patent list, 13 evidence files): "
              f"{median_ms(lambda: import_file(store, DEMO), 5):.1f} ms")
        draft = store.list_drafts()[0].id
        form, ans = load_answers(store, draft)
        print(f"validate demo (all rules, eligibility, targets): {median_ms(lambda: validate(form, ans), 20):.1f} ms")
        whole = median_ms(lambda: validate(form, ans), 20)
        plaus = median_ms(lambda: plausibility_problems(form, ans), 50)
        print(f"eligibility only: {median_ms(lambda: eligibility(form, ans), 20):.2f} ms")
        print(f"plausibility rule (请核对) only: {plaus:.2f} ms, {plaus / whole:.1%} of validate")
        s = DraftSession(store, draft)
        i = iter(range(10**6))
        print(f"commit one field change (parse + SQLite commit, WAL, synchronous=FULL): "
              f"{median_ms(lambda: s.set('basic.area', f'{30 + next(i) % 50}.5'), 200):.2f} ms")
        print(f"re-check one field after a change (cell problems): "
              f"{median_ms(lambda: s.cell_problems('industry.total_output.2021'), 200):.3f} ms")
        store.close()
        _bench_authoring(Path(tmp))
        starts = []
        for _ in range(5):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "clusterdesk", "--db", str(Path(tmp) / "b.sqlite3"), "forms"],
                           check=True, capture_output=True)
            starts.append((time.perf_counter() - t0) * 1000)
        print(f"CLI process start to `forms` output: {statistics.median(starts):.0f} ms")


if __name__ == "__main__":
    main()

"""Export benchmark: medians of repeated runs, printed as a small table.

    .venv/bin/python benchmarks/bench_export.py [--runs 5] [--naive-rows 2000] [--full-naive]

Measures, in one process:

1. exporting the demo application (486 patents) with ``export_draft`` (no PDF);
2. exporting the demo with a 10,000-row patent list: the whole export, the Word part alone (render
   both versions) and the Excel part alone;
3. the 10,000-row patent table built with the kit's one-pass writer (``docxkit.add_table``) against a
   naive python-docx loop (``table.add_row()`` + ``cell.text``) for the same rows. The naive loop
   takes seconds per thousand rows, so by default it runs on ``--naive-rows`` rows and is extrapolated
   linearly to 10,000 (the output says so); ``--full-naive`` runs it on all 10,000 rows.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from clusterdesk.export import word as dk  # noqa: E402
from clusterdesk.export.api import export_answers, export_draft  # noqa: E402
from clusterdesk.export.word.render import protect_read_only, render_docx  # noqa: E402
from clusterdesk.export.render_xlsx import render_xlsx  # noqa: E402
from clusterdesk.model.form import default_catalog  # noqa: E402
from clusterdesk.model.rules import Answers  # noqa: E402

DEMO = ROOT / "demo" / "cq-2024-application.json"
N = 10_000
HEADER = ["序号", "专利号", "专利名称", "类别", "专利权人", "授权日期"]
WIDTHS = [12.0, 30.0, 40.0, 20.0, 34.0, 20.0]


def patents(n: int) -> list[dict[str, str]]:
    owners = ["重庆永辰精机股份有限公司", "重庆川渝数控系统有限公司", "重庆精研主轴科技有限公司"]
    return [{"number": f"ZL2020{i:07d}.{i % 10}", "title": f"一种数控机床部件的加工方法{i}", "kind": "发明专利",
             "owner": owners[i % 3], "granted": f"20{15 + i % 9}-0{1 + i % 9}-1{i % 10}"} for i in range(n)]


def table_rows(n: int) -> list[list[str]]:
    return [[str(i + 1), r["number"], r["title"], r["kind"], r["owner"], r["granted"]]
            for i, r in enumerate(patents(n))]


def median_of(fn, runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def naive_table(rows: list[list[str]]) -> None:
    doc = dk.new_document()
    table = doc.add_table(rows=1, cols=len(HEADER))
    for j, h in enumerate(HEADER):
        table.rows[0].cells[j].text = h
    for r in rows:
        cells = table.add_row().cells
        for j, v in enumerate(r):
            cells[j].text = v


def fast_table(rows: list[list[str]]) -> None:
    doc = dk.new_document()
    dk.add_table(doc, WIDTHS, [HEADER] + rows, header_rows=1, size=9)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--naive-rows", type=int, default=2000)
    ap.add_argument("--full-naive", action="store_true")
    ap.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = ap.parse_args()
    runs = max(5, args.runs)

    from clusterdesk.store import Store
    from clusterdesk.templates import import_file

    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        tmp_path = Path(tmp)
        store = Store.open(tmp_path / "bench.sqlite3")
        did = import_file(store, DEMO)
        out = tmp_path / "out"
        out.mkdir()
        results["demo export (486 patents, no PDF)"], _ = median_of(
            lambda: export_draft(store, did, out, pdf=False), runs)

        form = default_catalog().get("cq-2024-application")
        values = dict(store.get_answers(did))
        values["innovation.patent_list"] = patents(N)
        values["innovation.patents"] = N
        evidence = store.list_evidence(did)
        answers = Answers(form, values, store.get_notes(did), [(e.key, e.option) for e in evidence])
        store.close()

        out2 = tmp_path / "out2"
        out2.mkdir()
        results["10,000 patents: whole export (no PDF)"], _ = median_of(
            lambda: export_answers(form, answers, evidence, "bench", out2, pdf=False), runs)

        def word() -> None:
            doc = render_docx(form, answers, evidence)
            doc.save(io.BytesIO())
            protect_read_only(doc)
            doc.save(io.BytesIO())
        results["10,000 patents: Word, both versions"], _ = median_of(word, runs)
        results["10,000 patents: Excel lists workbook"], _ = median_of(
            lambda: render_xlsx(form, answers, tmp_path / "lists.xlsx"), runs)

    rows = table_rows(N)
    fast, _ = median_of(lambda: fast_table(rows), runs)
    results["10,000-row table: kit add_table (one pass)"] = fast
    n_naive = N if args.full_naive else min(N, args.naive_rows)
    naive_runs = runs if n_naive <= 2000 else 1 if args.full_naive else runs
    naive, _ = median_of(lambda: naive_table(rows[:n_naive]), naive_runs)
    naive_10k = naive * N / n_naive
    label = "10,000-row table: naive add_row loop" + (
        "" if n_naive == N else f" (measured on {n_naive:,} rows, ×{N / n_naive:g} linear)")
    results[label] = naive_10k

    width = max(len(k) for k in results) + 2
    print(f"median of {runs} runs each (naive loop: {naive_runs} runs)")
    for k, v in results.items():
        print(f"{k:<{width}}{v:8.3f} s")
    print(f"{'speed-up of the one-pass table':<{width}}{naive_10k / fast:8.1f} ×  (target ≥ 10 ×)")
    if args.json:
        print(json.dumps({**results, "ratio": naive_10k / fast}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

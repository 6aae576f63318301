"""Export benchmark: medians of repeated runs, printed as a small table.

    .venv/bin/python benchmarks/bench_export.py [--runs 5] [--naive-rows 2000] [--full-naive]

Measures, in one process:

1. exporting the demo application (486 patents) with ``export_draft`` (no PDF);
2. exporting the demo with a 10,000-row patent list: the whole export (target 2 s), the Word part
   alone (render both versions) and the Excel part alone (every list of the form), beside openpyxl's
   plain write-only mode writing the same 10,000 rows;
3. the 10,000-row patent table built with the kit's one-pass writer (``export.word.add_table``) against a
   naive python-docx loop (``table.add_row()`` + ``cell.text``) for the same rows. The naive loop
   takes seconds per thousand rows, so by default it runs on ``--naive-rows`` rows and is extrapolated
   linearly to 10,000 (the output says so); ``--full-naive`` runs it on all 10,000 rows;
4. peak RSS of a fresh process exporting the 10,000-patent demo, with 1 and with 200 drafts in the
   database.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from benchlib import PEAK_RSS, median, record, timed  # noqa: E402
from clusterdesk.export import word as dk  # noqa: E402
from clusterdesk.export.api import export_answers, export_draft  # noqa: E402
from clusterdesk.export.word.render import DocxRenderer, protect_read_only, unprotect  # noqa: E402
from clusterdesk.export.render_xlsx import render_xlsx  # noqa: E402
from clusterdesk.model.form import default_catalog  # noqa: E402
from clusterdesk.model.plan import compile_plan, normalise_evidence  # noqa: E402
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
    times = timed(fn, runs)
    return median(times), times


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


def openpyxl_write_only(rows: list[list[str]], path: Path) -> None:
    """The baseline of the Excel list: openpyxl's plain write-only mode, one ``append`` a row."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("专利")
    ws.append(HEADER)
    for r in rows:
        ws.append(r)
    wb.save(path)


RSS_CHILD = PEAK_RSS + r"""
import json, sys, tempfile
from pathlib import Path
from clusterdesk.export.api import export_draft
from clusterdesk.store import Store
with Store.open(Path(sys.argv[1])) as store, tempfile.TemporaryDirectory() as out:
    export_draft(store, int(sys.argv[2]), Path(out), pdf=False)
print("READY " + json.dumps({"t": 0, "peak_rss_mb": peak_rss_mb()}))
"""


def bench_rss(tmp: Path, runs: int) -> None:
    """Peak RSS of a fresh process exporting the demo with 10,000 patents, with 1 and with 200
    drafts in the database (the other drafts are copies of the demo)."""
    from benchlib import child_report

    from clusterdesk.store import Store
    from clusterdesk.templates import import_file

    peaks = {}
    for n in (1, 200):
        db = tmp / f"rss{n}.sqlite3"
        with Store.open(db) as store:
            did = import_file(store, DEMO)
            for i in range(n - 1):
                store.duplicate_draft(did, f"示例副本{i + 1}")
            store.set_answer(did, "innovation.patent_list", patents(N))
            store.set_answer(did, "innovation.patents", N)
        cmd = [sys.executable, "-c", RSS_CHILD, str(db), str(did)]
        peaks[n] = median([child_report(cmd)[1]["peak_rss_mb"] for _ in range(max(3, runs // 2))])
    record("peak RSS, export of the demo with 10,000 patents (200 drafts in the database)", peaks[200], "MB",
           baseline="the same with 1 draft", baseline_value=peaks[1], target="does not grow", limit=1.1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--naive-rows", type=int, default=2000)
    ap.add_argument("--full-naive", action="store_true")
    args = ap.parse_args()
    runs = max(5, args.runs)

    from clusterdesk.store import Store
    from clusterdesk.templates import import_file

    print(f"medians of {runs} runs each")
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        tmp_path = Path(tmp)
        store = Store.open(tmp_path / "bench.sqlite3")
        did = import_file(store, DEMO)
        out = tmp_path / "out"
        out.mkdir()
        record("demo export (486 patents, Word ×2 + Excel, no PDF)",
               median_of(lambda: export_draft(store, did, out, pdf=False), runs)[0])

        form = default_catalog().get("cq-2024-application")
        values = dict(store.get_answers(did))
        values["innovation.patent_list"] = patents(N)
        values["innovation.patents"] = N
        evidence = store.list_evidence(did)
        answers = Answers(form, values, store.get_notes(did), [(e.key, e.option) for e in evidence])
        store.close()

        rows = table_rows(N)
        n_naive = N if args.full_naive else min(N, args.naive_rows)
        naive = median_of(lambda: naive_table(rows[:n_naive]), 1 if args.full_naive else runs)[0] * N / n_naive
        naive_note = "" if n_naive == N else f"baseline measured on {n_naive:,} rows, ×{N / n_naive:g} linear"
        write_only = median_of(lambda: openpyxl_write_only(rows, tmp_path / "plain.xlsx"), runs)[0]

        out2 = tmp_path / "out2"
        out2.mkdir()
        record("10,000 patents: whole export, Word ×2 + Excel (no PDF)",
               median_of(lambda: export_answers(form, answers, evidence, "bench", out2, pdf=False), runs)[0],
               target="≤ 2 s", limit=2.0)

        def word() -> None:  # as the export does: lists deferred, printed (read-only), then editable
            doc = DocxRenderer(compile_plan(form, answers, normalise_evidence(evidence)), defer_lists=True).render()
            protect_read_only(doc)
            dk.docx_bytes(doc)
            unprotect(doc)
            dk.docx_bytes(doc)
        word_s = median_of(word, runs)[0]
        record("10,000 patents: Word, both versions (whole form)", word_s,
               baseline="python-docx add_row, the 10,000-row table alone", baseline_value=naive, note=naive_note)
        record("10,000-row table: kit add_table (one pass)", median_of(lambda: fast_table(rows), runs)[0],
               baseline="python-docx add_row", baseline_value=naive, note=naive_note)
        excel_s = median_of(lambda: render_xlsx(form, answers, tmp_path / "lists.xlsx"), runs)[0]
        record("10,000 patents: Excel lists workbook (every list, styled)", excel_s,
               baseline="openpyxl write-only, the 10,000 rows alone", baseline_value=write_only)
        bench_rss(tmp_path, runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

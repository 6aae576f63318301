"""Runs every benchmark script in this folder (bench_*.py), one after another, prints their
reports, then one table of every figure they recorded (benchlib.record): its median, its baseline
measured in the same run, the ratio and the target. No pass/fail: the machines are shared and
noisy, so numbers are for reading, not for asserting.

    python benchmarks/run_all.py [bench_startup bench_export …]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from benchlib import RESULTS_ENV, table  # noqa: E402


def main(argv: list[str]) -> int:
    only = set(argv)
    scripts = sorted(p for p in HERE.glob("bench_*.py") if not only or p.stem in only or p.name in only)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="bench-results-") as tmp:
        results = Path(tmp) / "results.jsonl"
        results.touch()
        env = {**os.environ, RESULTS_ENV: str(results)}
        for script in scripts:
            print(f"=== {script.name}", flush=True)
            t0 = time.perf_counter()
            rc = subprocess.call([sys.executable, str(script)], cwd=HERE.parent, env=env)
            print(f"--- {script.name}: exit {rc}, {time.perf_counter() - t0:.1f} s\n", flush=True)
            failed += rc != 0
        rows = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines() if line.strip()]
    if rows:
        print(f"Medians, each beside its baseline measured in the same run ({os.cpu_count()} cores, "
              "shared machine: figures are noisy)\n")
        print(table(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

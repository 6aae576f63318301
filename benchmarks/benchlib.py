"""Shared by the benchmarks: medians, child processes started the same way as their baselines, and
the one table ``make bench`` ends with.

Every figure a benchmark records with :func:`record` is printed at once and, when run by
run_all.py, appended to the file named by ``CLUSTERDESK_BENCH_RESULTS`` (one JSON object a line);
run_all.py prints them all in one table: what, median, its baseline (measured in the same run),
the ratio and the target. No pass/fail: the machines are shared and noisy; the table is for
reading.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo" / "cq-2024-application.json"
RESULTS_ENV = "CLUSTERDESK_BENCH_RESULTS"


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a measured child process: offscreen Qt, and Python allowed to keep its
    compiled bytecode (as an installed or frozen program has it; a development shell that sets
    PYTHONDONTWRITEBYTECODE would make every start compile the sources)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    env.update(extra)
    return env


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def process_seconds(cmd: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> float:
    """Wall time of a whole process, from its start to its exit (output discarded)."""
    t = time.perf_counter()
    r = subprocess.run(list(cmd), env=env or child_env(), cwd=cwd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    took = time.perf_counter() - t
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr[-2000:]}")
    return took


def child_report(cmd: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 300) -> tuple[float, dict]:
    """Start ``cmd`` (a Python child that prints ``READY {json}`` with ``"t": time.time()`` when it
    is ready) and return (seconds from the start of the process to that moment, the json)."""
    t0 = time.time()
    r = subprocess.run(list(cmd), env=env or child_env(), capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("READY ")]
    if r.returncode != 0 or not lines:
        raise RuntimeError(f"child failed ({r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}")
    data = json.loads(lines[-1][len("READY "):])
    return data["t"] - t0, data


def alternate(runs: int, *fns: Callable[[], float]) -> list[list[float]]:
    """Run the measurements in turn (A B A B …) so that a change in the machine's load falls on
    each of them alike; returns each one's list of values."""
    out: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for values, fn in zip(out, fns):
            values.append(fn())
    return out


def record(what: str, value: float, unit: str = "s", *, baseline: str | None = None,
           baseline_value: float | None = None, target: str = "", limit: float | None = None,
           note: str = "") -> dict[str, Any]:
    """One figure of the table. ``limit``: the target as a number (a ratio when there is a
    baseline, else a value in ``unit``), to say whether it was met."""
    ratio = value / baseline_value if baseline_value else None
    row = {"what": what, "value": value, "unit": unit, "baseline": baseline, "baseline_value": baseline_value,
           "ratio": ratio, "target": target, "limit": limit, "note": note}
    shown = f"{fmt(value, unit)}"
    if baseline:
        shown += f"  vs {baseline} {fmt(baseline_value, unit)}" + (f"  = {fmt_ratio(ratio)}" if ratio else "")
    print(f"  {what}: {shown}{'  (target ' + target + ')' if target else ''}{'  ' + note if note else ''}",
          flush=True)
    path = os.environ.get(RESULTS_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return row


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "MB":
        return f"{value:.0f} MB"
    return f"{value:g} {unit}"


def fmt_ratio(ratio: float) -> str:
    """2.3×; a ratio under 1 (faster than its baseline) also as a fraction: 0.03× (1/29)."""
    return f"{ratio:.1f}×" if ratio >= 0.95 else f"{ratio:.2f}× (1/{1 / ratio:.0f})"


def met(row: dict[str, Any]) -> str:
    limit = row.get("limit")
    if limit is None:
        return ""
    measured = row["ratio"] if row.get("baseline") else row["value"]
    return "yes" if measured is not None and measured <= limit else "NO"


def table(rows: list[dict[str, Any]]) -> str:
    head = ["what", "median", "baseline (same run)", "baseline median", "ratio", "target", "met"]
    body = [[r["what"], fmt(r["value"], r["unit"]), r.get("baseline") or "", fmt(r.get("baseline_value"), r["unit"])
             if r.get("baseline") else "", fmt_ratio(r["ratio"]) if r.get("ratio") else "", r.get("target") or "",
             met(r)] for r in rows]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


#: Source of ``peak_rss_mb()``, for the children (``python -c``) to paste in. It reads the peak of
#: this process's own memory (VmHWM), not ``ru_maxrss``: Linux carries ru_maxrss over fork and exec,
#: so a child started by a big parent would report the parent's peak.
PEAK_RSS = r"""
def peak_rss_mb():
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource, sys
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # macOS: bytes; elsewhere KB
    return peak / 2 ** 20 if sys.platform == "darwin" else peak / 1024
"""

"""District speed: compiling a district of 3 clusters (PDF off), and importing 200 cluster packages.

(a) median time of ``compile_district`` for a complete district of 3 clusters into a fresh folder
    (export of 3 applications with their evidence, 38 files each, and the summary, 寄送清单.docx,
    电子版.zip), PDF off;
(b) importing 200 packages one after another into one database: each package is the demo
    application with its own uuid and its own evidence bytes (13 PDFs, as real clusters would send),
    plus the exported documents, as one batch (one snapshot first). Reported: average time per
    package over the first 50, 100 and 200 (flat = total time grows linearly), the median per package
    of the last ten before each mark, what the snapshot a lone import takes first costs at that
    database size (it copies the whole file), and ``list_drafts`` at 200 drafts.

    python benchmarks/bench_packages.py [--runs N] [--packages N]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo" / "cq-2024-application.json"
NAMES = ["永川数控机床产业", "永川智能装备产业", "永川食品加工产业"]


def cluster_name(industry: str) -> str:
    return f"重庆市中小企业特色产业集群（{industry}）"


def make_clusters(store, names) -> list[int]:
    from clusterdesk.service import DraftSession
    from clusterdesk.templates import import_file

    ids = []
    for n in names:
        did = import_file(store, DEMO)
        DraftSession(store, did).set("cover.cluster_name", cluster_name(n))
        ids.append(did)
    return ids


def bench_compile(tmp: Path, runs: int) -> None:
    from clusterdesk.packages.district import District, DistrictWorkspace, compile_district, create_district
    from clusterdesk.store import Store

    with Store.open(tmp / "compile.sqlite3") as store:
        ws = DistrictWorkspace(store, create_district(store, District("永川区", "cq-2024", "重庆市永川区经济和信息化委员会",
                                                                       "张华", "13983012468")))
        for did in make_clusters(store, NAMES):
            ws.add_draft(did)
        for i in range(3):
            ws.set_summary_cell(i, "founded", "2016年5月")
            ws.set_summary_cell(i, "intro", "集群位于永川高新区，聚焦数控机床整机及关键功能部件，集聚企业百余家。")
        times = []
        for i in range(runs):
            t0 = time.perf_counter()
            result = compile_district(store, ws.draft_id, [], tmp / f"out{i}", pdf=False)
            times.append(time.perf_counter() - t0)
        print(f"compile a district of 3 clusters, PDF off ({len(result.files)} files): "
              f"median {statistics.median(times) * 1000:.0f} ms over {runs} runs "
              f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})")


def clone(base: Path, out: Path, k: int) -> Path:
    """The base package with a new uuid, a new title and evidence bytes of its own."""
    import uuid

    with zipfile.ZipFile(base) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(files.pop("manifest.json"))
    answers = json.loads(files["answers.json"])
    renamed: dict[str, str] = {}
    new_files: dict[str, bytes] = {}
    for name, data in files.items():
        if name.startswith("evidence/"):
            _, sha, fname = name.split("/")
            data = data + f"\n% cluster {k}\n".encode()
            new = hashlib.sha256(data).hexdigest()
            renamed[sha] = new
            new_files[f"evidence/{new}/{fname}"] = data
        elif name != "answers.json":
            new_files[name] = data
    for by in answers.get("evidence_index", {}).values():
        for entries in by.values():
            for e in entries:
                e["sha256"] = renamed[e["sha256"]]
                e["size"] += len(f"\n% cluster {k}\n".encode())
    title = cluster_name(f"测试{k:03d}产业")
    answers["answers"]["cover.cluster_name"] = title
    answers["title"] = title
    new_files["answers.json"] = json.dumps(answers, ensure_ascii=False).encode()
    manifest.update(draft_uuid=str(uuid.uuid4()), title=title,
                    members={n: {"sha256": hashlib.sha256(b).hexdigest(), "size": len(b)} for n, b in new_files.items()})
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False))
        for n, b in new_files.items():
            zf.writestr(n, b)
    return out


def bench_import(tmp: Path, n: int) -> None:
    from clusterdesk.packages import SnapshotOnce, import_package, read_package, write_package
    from clusterdesk.store import Store

    with Store.open(tmp / "source.sqlite3") as src:
        base = write_package(src, make_clusters(src, NAMES[:1])[0], tmp / "base.cdpkg", documents=True)
    read_package(base)  # the first read loads the form definitions
    pkgs = [clone(base, tmp / f"p{k}.cdpkg", k) for k in range(n)]
    size = pkgs[0].stat().st_size
    with Store.open(tmp / "district.sqlite3") as store:
        per: list[float] = []
        lone_snapshot: dict[int, float] = {}
        once = SnapshotOnce(store)  # a batch: one snapshot before the first write
        for k, p in enumerate(pkgs, start=1):
            t0 = time.perf_counter()
            import_package(store, p, snapshot=once)
            per.append(time.perf_counter() - t0)
            if k in (50, 100, 200):
                t0 = time.perf_counter()
                store.snapshot(keep=5)  # what a lone import would add at this size (not in `per`)
                lone_snapshot[k] = time.perf_counter() - t0
        db_mb = Path(store.path).stat().st_size / 1024 / 1024
        print(f"import {n} packages as one batch ({size // 1024} KB each: 13 evidence PDFs of their own, "
              f"3 documents); database at the end {db_mb:.0f} MB")
        for mark in (50, 100, 200):
            if mark > n:
                break
            avg = sum(per[:mark]) / mark
            last10 = statistics.median(per[mark - 10:mark])
            print(f"  at {mark:>3}: average {avg * 1000:.0f} ms per package (total {sum(per[:mark]):.1f} s); "
                  f"median of packages {mark - 9}-{mark}: {last10 * 1000:.0f} ms; a lone import would add "
                  f"a {lone_snapshot[mark] * 1000:.0f} ms snapshot")
        times = []
        for _ in range(20):
            t0 = time.perf_counter()
            drafts = store.list_drafts()
            times.append(time.perf_counter() - t0)
        print(f"list_drafts with {len(drafts)} drafts: median {statistics.median(times) * 1000:.1f} ms")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--packages", type=int, default=200)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        bench_compile(Path(tmp), args.runs)
    if args.packages > 0:
        with tempfile.TemporaryDirectory() as tmp:
            bench_import(Path(tmp), args.packages)


if __name__ == "__main__":
    main(sys.argv[1:])

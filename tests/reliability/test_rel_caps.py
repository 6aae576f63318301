"""8. Round 2, items 7–9: every dimension of a template or package is capped before any work.

Each hostile file is read in a fresh interpreter (hostile_worker.py, address space limited to 2 GiB)
that reports its peak RSS (getrusage) and the time to refuse; the refusal must be Chinese, name
what is too big, and peak under 200 MB. The figures go to last_run.json ("caps").

Kinds, as issue 19 describes them: a ~155 KB .xlsx that expands into a sheet of hundreds of
thousands of rows, a ~359 KB .xlsx that declares cells in column XFD (openpyxl would pad every row
to 16,384 cells), shared strings, styles, a row of a million cells, a row numbered 1,048,576,
10,000 members; a ~1.5 MB package whose answers.json expands to ~150 MB, a ~1.1 MB package with a
100,000-row table, 100,000 evidence links (refused before the write lock: another writer holding
it is not waited for), declared sizes over the total cap, and 150 MB evidence blobs of zeros.
The demo (486 patents) and a table at the 10,000-row cap are still taken.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from hostile_support import (inline, measured_read, package_members, pdf_bytes, rebuild_package, sheet_members,
                             sheet_xml, zip_members)
from rel_support import DEMO_CQ, PYTHON, ROOT, child_env, has_cjk, logical_state, record

from clusterdesk.model.form import default_catalog
from clusterdesk.model.values import MAX_TABLE_ROWS
from clusterdesk.templates import write_template

FORM = default_catalog().get("cq-2024-application")
PATENTS = "innovation.patent_list"
PEAK_LIMIT_MB = 200


@pytest.fixture(scope="module")
def real_template(tmp_path_factory) -> Path:
    return write_template(FORM, tmp_path_factory.mktemp("tpl") / "模板.xlsx")


def _refused(op: str, path: Path, name: str, *words: str) -> dict:
    r = measured_read(op, path)
    assert r["outcome"] == "refused", r
    text = "\n".join(r["problems"])
    assert has_cjk(text), text
    for w in words:
        assert w in text, text
    assert r["peak_mb"] < PEAK_LIMIT_MB, r
    record("caps", **{f"{name}.file_kb": round(path.stat().st_size / 1024), f"{name}.peak_mb": r["peak_mb"],
                      f"{name}.base_mb": r["base_mb"], f"{name}.seconds": r["seconds"]})
    return r


def _stream_xlsx(src: Path, dst: Path, member: str, head: bytes, row: bytes, count: int, tail: bytes = b"") -> Path:
    """``src`` with ``member`` replaced by a sheet of ``count`` copies of ``row``, written in chunks."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zout:
        for info in zin.infolist():
            if info.filename != member:
                zout.writestr(info.filename, zin.read(info))
                continue
            zi = zipfile.ZipInfo(member, (2024, 5, 1, 8, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            with zout.open(zi, "w", force_zip64=True) as fh:
                whole = sheet_xml(b"\0")
                before, after = whole.split(b"\0")
                fh.write(before + head)
                chunk = row * 10000
                for _ in range(count // 10000):
                    fh.write(chunk)
                fh.write(row * (count % 10000) + tail + after)
    return dst


def _sized(build, target_kb: int, first: int) -> Path:
    """Build with ``first`` repetitions, then rescale once so the file is about ``target_kb``."""
    path = build(first)
    n = int(first * target_kb * 1024 / path.stat().st_size)
    return build(n)


PATENT_ROW = (b"<row><c/>" + inline("ZL201910000000.0") + inline("一种数控机床主轴的冷却装置") + inline("发明专利")
              + inline("重庆某某机床有限公司") + inline("2021-03-05") + b"</row>")
HEADER_ROWS = (b'<row r="1">' + inline("key") + inline("专利号") + b'</row><row r="2">' + inline("(列 id)")
               + inline("number") + inline("title") + inline("kind") + inline("owner") + inline("granted") + b"</row>")


def test_xlsx_155kb_expanding_into_a_huge_table(real_template, tmp_path):
    member = sheet_members(real_template)["表-有效发明专利清单"]
    path = _sized(lambda n: _stream_xlsx(real_template, tmp_path / "155kb.xlsx", member, HEADER_ROWS, PATENT_ROW, n),
                  155, 100_000)
    declared = sum(i.file_size for i in zipfile.ZipFile(path).infolist())
    record("caps", **{"xlsx_155kb.declared_mb": round(declared / 1024 / 1024)})
    _refused("template", path, "xlsx_155kb", "表-有效发明专利清单", "行的上限")


def test_xlsx_rows_within_the_size_cap_are_counted(real_template, tmp_path):
    member = sheet_members(real_template)["表-有效发明专利清单"]
    path = _stream_xlsx(real_template, tmp_path / "rows.xlsx", member, HEADER_ROWS, PATENT_ROW, 200_000)
    _refused("template", path, "xlsx_200k_rows", "表-有效发明专利清单", f"{MAX_TABLE_ROWS + 10:,} 行的上限")


def test_xlsx_359kb_declaring_column_xfd(real_template, tmp_path):
    member = sheet_members(real_template)["填报"]

    def build(n: int) -> Path:
        rows = b"".join(b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>cover.cluster_name</t></is></c>'
                        b'<c r="XFD%d"><v>1</v></c></row>' % (r, r, r) for r in range(2, n + 2))
        with zipfile.ZipFile(real_template) as zin:
            head = zin.read(member).split(b"<sheetData>")[1].split(b"</sheetData>")[0]
        p = tmp_path / "359kb.xlsx"
        _stream_xlsx(real_template, p, member, head, b"", 0, rows)
        return p

    path = _sized(build, 359, 20_000)
    _refused("template", path, "xlsx_359kb_xfd", "填报", "16,384 列", "64 列的上限")


@pytest.mark.parametrize("kind", ["shared_strings", "styles", "wide_row", "last_row", "members"])
def test_xlsx_other_dimensions(real_template, tmp_path, kind):
    path = tmp_path / f"{kind}.xlsx"
    main = sheet_members(real_template)["填报"]
    if kind == "shared_strings":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, zipfile.ZipFile(real_template) as zin:
            for i in zin.infolist():
                z.writestr(i.filename, zin.read(i))
            z.writestr("xl/sharedStrings.xml", b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                       b'main">' + b"<si><t>x</t></si>" * 3_000_000 + b"</sst>")
        words = ("共享字符串", "250,000")
    elif kind == "styles":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, zipfile.ZipFile(real_template) as zin:
            for i in zin.infolist():
                data = zin.read(i)
                if i.filename == "xl/styles.xml":
                    data = data.replace(b"</cellXfs>", b'<xf numFmtId="0"/>' * 180_000 + b"</cellXfs>")
                z.writestr(i.filename, data)
        words = ("样式定义", "20,000")
    elif kind == "wide_row":
        _stream_xlsx(real_template, path, main, b'<row r="1">', inline("x"), 1_000_000, b"</row>")
        words = ("填报", "64 列的上限")
    elif kind == "last_row":
        _stream_xlsx(real_template, path, main, b"", b"", 0, b'<row r="1048576">' + inline("x") + b"</row>")
        words = ("填报", "1,048,576", "行的上限")
    else:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z, zipfile.ZipFile(real_template) as zin:
            for i in zin.infolist():
                z.writestr(i.filename, zin.read(i))
            for n in range(10_000):
                z.writestr(f"xl/media/x{n}.bin", b"")
        words = ("10,017 个部件", "500 个的上限")
    _refused("template", path, f"xlsx_{kind}", *words)


# ----------------------------------------------------------------------------- JSON templates


def _json_template(tmp_path: Path, name: str, answers: dict) -> Path:
    p = tmp_path / name
    p.write_text(json.dumps({"form": FORM.id, "version": FORM.version, "answers": answers}, ensure_ascii=False),
                 encoding="utf-8")
    return p


def test_json_template_with_100000_rows(tmp_path):
    rows = [{"number": f"ZL2019{i:08d}.0"} for i in range(100_000)]
    path = _json_template(tmp_path, "十万行.json", {PATENTS: rows})
    _refused("template", path, "json_100k_rows", "有效发明专利清单", f"表格最多 {MAX_TABLE_ROWS} 行")
    wide = [{"number": "ZL1", "title": "一种装置", "owner": "某公司", "kind": "发明", "granted": "2021"}] * 100_000
    path = _json_template(tmp_path, "十万行五列.json", {PATENTS: wide})
    _refused("template", path, "json_100k_rows_5_columns", "条目过多")


def test_json_template_over_the_byte_cap(tmp_path):
    path = _json_template(tmp_path, "大.json", {"cover.cluster_name": "字" * 6_000_000})
    _refused("template", path, "json_18mb", "过大")


def test_the_demo_and_a_table_at_the_cap_are_taken(tmp_path):
    r = measured_read("template", DEMO_CQ)
    assert r["outcome"] == "taken", r
    assert r["peak_mb"] < PEAK_LIMIT_MB
    record("caps", **{"demo_json_taken.peak_mb": r["peak_mb"], "demo_json_taken.seconds": r["seconds"]})
    doc = json.loads(DEMO_CQ.read_text(encoding="utf-8"))
    assert len(doc["answers"][PATENTS]) == 486
    doc["answers"][PATENTS] = doc["answers"][PATENTS] * (MAX_TABLE_ROWS // 486) + doc["answers"][PATENTS][
        :MAX_TABLE_ROWS % 486]
    path = tmp_path / "demo" / "万行.json"
    shutil.copytree(DEMO_CQ.parent / "evidence", path.parent / "evidence")
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    r = measured_read("template", path)
    assert r["outcome"] == "taken", r
    record("caps", **{"json_10000_rows_taken.peak_mb": r["peak_mb"], "json_10000_rows_taken.seconds": r["seconds"]})


# ----------------------------------------------------------------------------- packages


def _answers_with_table(members: dict[str, bytes], rows_json: bytes) -> bytes:
    """answers.json with the patent table replaced by raw JSON (built as bytes, never as objects)."""
    doc = json.loads(members["answers.json"])
    doc["answers"][PATENTS] = "@@ROWS@@"
    return json.dumps(doc, ensure_ascii=False).encode("utf-8").replace(b'"@@ROWS@@"', rows_json)


def test_package_15mb_whose_answers_expand_to_60mb(demo_package, tmp_path):
    """The issue's kind: a 1.5 MB package (here: an exported PDF of 1.1 MB that does not compress)
    whose answers.json is 60 MB — under the old 64 MB cap, gigabytes as Python objects."""
    members = package_members(demo_package)
    rows = b"[" + b"{}, " * 20_000_000 + b"{}]"  # "[{}, {}, …]"
    path = tmp_path / "1.5mb.cdpkg"
    path.write_bytes(rebuild_package(members, answers=_answers_with_table(members, rows),
                                     extra={"documents/申报表.pdf": pdf_bytes() + os.urandom(1100 * 1024)}))
    del rows
    record("caps", **{"package_15mb.answers_mb": 60})
    _refused("package", path, "package_15mb", "answers.json 过大")
    # within the byte cap, the items are counted before json.loads builds them
    path = tmp_path / "items.cdpkg"
    path.write_bytes(rebuild_package(members, answers=_answers_with_table(members, b"[" + b"{}," * 3_000_000 + b"{}]")))
    _refused("package", path, "package_3m_items", "条目过多")


def test_package_11mb_with_a_100000_row_table(demo_package, tmp_path):
    members = package_members(demo_package)
    doc = json.loads(members["answers.json"])
    doc["answers"][PATENTS] = [{"number": f"ZL2019{i:08d}.0"} for i in range(100_000)]
    path = tmp_path / "1.1mb.cdpkg"
    path.write_bytes(rebuild_package(members, answers=doc))
    _refused("package", path, "package_100k_rows", "三、创新能力情况", "有效发明专利清单", f"表格最多 {MAX_TABLE_ROWS} 行")


def _links_package(demo_package: bytes, n: int) -> bytes:
    members = package_members(demo_package)
    doc = json.loads(members["answers.json"])
    key, by_option = next(iter(doc["evidence_index"].items()))
    option, entries = next(iter(by_option.items()))
    by_option[option] = [{"file": f"佐证{i}.pdf", "sha256": entries[0]["sha256"]} for i in range(n)]
    return rebuild_package(members, answers=doc)


def test_package_with_100000_evidence_links_is_refused_before_the_write_lock(demo_package, tmp_path):
    path = tmp_path / "十万链接.cdpkg"
    path.write_bytes(_links_package(demo_package, 100_000))
    _refused("package", path, "package_100k_links", "证明材料链接超过 2000 个")

    # Another program holds the write lock for the whole import: the import must not wait for it
    # (it would say 数据库正被其他程序占用 after the busy timeout, or hang for minutes).
    from clusterdesk.store import Store

    db = tmp_path / "data" / "clusterdesk.sqlite3"
    with Store.open(db) as other:
        draft = other.create_draft(FORM.id, FORM.version, "另一个程序的草稿")
        before = logical_state(db)
        with other.batch():
            other.set_answer(draft.id, "basic.area", "3.00")  # the write lock is now held
            t0 = time.perf_counter()
            proc = subprocess.run([PYTHON, "-m", "clusterdesk", "--db", str(db), "import-package", str(path)],
                                  capture_output=True, text=True, timeout=120, env=child_env(), cwd=ROOT)
            waited = time.perf_counter() - t0
        assert proc.returncode == 2, proc.stderr
        assert "证明材料链接超过 2000 个" in proc.stderr and "占用" not in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
        assert other.get_answers(draft.id)["basic.area"] == "3.00"  # the other writer committed
    assert [d[:5] for d in logical_state(db)["drafts"]] == [d[:5] for d in before["drafts"]]  # no new draft
    record("caps", **{"package_100k_links.cli_seconds_while_locked": round(waited, 2)})


def test_2001_links_are_refused_and_2000_taken(demo_package, tmp_path):
    from clusterdesk.packages import PackageError, read_package

    path = tmp_path / "2001.cdpkg"
    path.write_bytes(_links_package(demo_package, 2001))
    with pytest.raises(PackageError, match="2000"):
        read_package(path)
    doc = json.loads(package_members(demo_package)["answers.json"])
    first = next(iter(doc["evidence_index"].values()))
    others = sum(len(v) for by in doc["evidence_index"].values() for v in by.values()) - len(next(iter(first.values())))
    path.write_bytes(_links_package(demo_package, 2000 - others))  # with the demo's other links: 2000
    assert len(read_package(path).evidence) == 2000


def test_package_declaring_more_than_the_total_cap(demo_package, tmp_path):
    from clusterdesk.packages import package as pk

    members = package_members(demo_package)
    manifest = json.loads(members["manifest.json"])
    ev = [n for n in manifest["members"] if n.startswith("evidence/")]
    for n in ev[:6]:
        manifest["members"][n]["size"] = 199 * 1024 * 1024  # each under the 200 MB evidence cap
    members["manifest.json"] = json.dumps(manifest, ensure_ascii=False).encode()
    path = tmp_path / "declared.cdpkg"
    path.write_bytes(zip_members(members))
    _refused("package", path, "package_declared_1.2gb", "总大小超过", f"{pk.MAX_TOTAL_BYTES // 1024 // 1024} MB")


@pytest.mark.parametrize("kind", ["zeros_named_pdf", "zip_of_zeros_named_docx"])
def test_package_with_a_120mb_evidence_bomb(demo_package, tmp_path, kind):
    """Evidence that inflates to 120 MB (a few hundred KB in the zip): the first used to be inflated
    into memory whole, twice; now the first KiB refuses it, and the second is checked in a stream."""
    import hashlib

    members = package_members(demo_package)
    doc = json.loads(members["answers.json"])
    head = b"\0" if kind == "zeros_named_pdf" else b"PK\x03\x04"
    name = "扫描件.pdf" if kind == "zeros_named_pdf" else "说明.docx"
    chunk, count = b"\0" * (1024 * 1024), 120
    hasher = hashlib.sha256(head)
    for _ in range(count):
        hasher.update(chunk)
    sha, size = hasher.hexdigest(), len(head) + count * len(chunk)
    key, by_option = next(iter(doc["evidence_index"].items()))
    by_option[next(iter(by_option))].append({"file": name, "sha256": sha, "size": size})
    members["answers.json"] = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    manifest = json.loads(members.pop("manifest.json"))
    manifest["members"] = {n: {"sha256": hashlib.sha256(b).hexdigest(), "size": len(b)} for n, b in members.items()}
    member = f"evidence/{sha}/{name}"
    manifest["members"][member] = {"sha256": sha, "size": size}
    path = tmp_path / f"{kind}.cdpkg"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False))
        for n, b in members.items():
            zf.writestr(n, b)
        with zf.open(member, "w", force_zip64=True) as fh:
            fh.write(head)
            for _ in range(count):
                fh.write(chunk)
    _refused("package", path, f"package_120mb_{kind}", name, "内容不是允许的文档或图片")


def test_demo_package_is_taken(demo_package, tmp_path):
    path = tmp_path / "demo.cdpkg"
    path.write_bytes(demo_package)
    r = measured_read("package", path)
    assert r["outcome"] == "taken", r
    record("caps", **{"demo_package_taken.peak_mb": r["peak_mb"], "demo_package_taken.seconds": r["seconds"],
                      "demo_package_taken.file_kb": round(len(demo_package) / 1024)})


def test_a_pdf_evidence_file_is_taken_at_any_allowed_size(tmp_path):
    """Sanity of the sniffer: a PDF whose header is followed by 3 MB is still a PDF."""
    from clusterdesk.evidence_types import check_bytes

    assert check_bytes("扫描件.pdf", pdf_bytes() + os.urandom(3 * 1024 * 1024)) == "pdf"

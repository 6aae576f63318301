"""6b. Fuzzing what arrives from other offices: JSON and .xlsx templates, and data packages.

Every generated file is imported into an open store.  It is either taken (and the store then holds
exactly what read_filled/read_package returned) or refused with TemplateError/PackageError whose
lines are all Chinese — and a refused file leaves the store exactly as it was (drafts, answers,
evidence, blobs).  Never any other exception.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from copy import deepcopy
from pathlib import Path

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from fuzz_strategies import FUZZ, SPECIAL_TEXTS, any_text, examples, json_scalars, json_values
from rel_support import DEMO, DEMO_CQ, bump, has_cjk, logical_state, minimal_xlsx, orphan_blobs, record

from clusterdesk.model.form import default_catalog
from clusterdesk.store import Store
from clusterdesk.templates import XLSX_HEADER, TemplateError, import_file, read_filled

# Hypothesis tests (their @given functions are built inside the tests): `make fuzz` selects them.
pytestmark = pytest.mark.hypothesis

FORM = default_catalog().get("cq-2024-application")
KEYS = [c.key for c in FORM.answerable_cells]
DEMO_DOC = json.loads(DEMO_CQ.read_text(encoding="utf-8"))
DEMO_ANSWERS = DEMO_DOC["answers"]
DEMO_KEYS = sorted(DEMO_ANSWERS)
SMALL_EVIDENCE = {"opening.overseas_branches": {"佐证材料": ["evidence/境外分支机构佐证.pdf"]},
                  "industry.chain_work": {"绘制产业链图谱，开展产业链培育": ["evidence/产业链培育工作佐证.pdf"]}}


def _ram_dir(prefix: str) -> str:
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    return tempfile.mkdtemp(prefix=prefix, dir=base)


@pytest.fixture(scope="module")
def work():
    """A folder like a USB stick (evidence/ beside the templates) and an open store with one old draft."""
    folder = Path(_ram_dir("clusterdesk-imports-"))
    shutil.copytree(DEMO / "evidence", folder / "evidence")
    store = Store.open(folder / "data" / "clusterdesk.sqlite3")
    old = store.create_draft(FORM.id, FORM.version, "已有草稿")
    store.set_answers(old.id, {"basic.area": "3.00", "cover.district": "永川区"})
    yield folder, store
    store.close()
    shutil.rmtree(folder, ignore_errors=True)


# Strategies are built once (building them inside every draw is what makes Hypothesis slow).
JSON_VALUES = json_values()
KEY = st.sampled_from(KEYS)
DEMO_KEY_LISTS = st.lists(st.sampled_from(DEMO_KEYS), max_size=12, unique=True)
SPECIAL = st.sampled_from(SPECIAL_TEXTS)
TEXT6, TEXT10, TEXT20, TEXT30 = any_text(6), any_text(10), any_text(20), any_text(30)
UNKNOWN_ID = st.one_of(TEXT30, KEY.map(lambda k: k + ".x"))
BAD_EVIDENCE_KEY = st.one_of(KEY, TEXT10)
BAD_EVIDENCE = st.one_of(JSON_VALUES, st.dictionaries(TEXT10, st.lists(TEXT20, max_size=2), max_size=2))
NOTES = st.one_of(JSON_VALUES, st.dictionaries(KEY, JSON_VALUES, max_size=3))
MUTATIONS = st.sampled_from(["wrong_type", "wrong_type", "unknown_id", "drop_top", "top_value", "drop_answer",
                             "evidence", "bad_evidence", "notes", "special_text"])
TOP_KEY = st.sampled_from(["form", "version", "title", "answers", "evidence", "notes"])
ENCODINGS = st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "gbk", "truncate", "flip",
                             "not_object"])


@st.composite
def mutated_template(draw):
    # a valid start: some of the demo answers (all 151 with their long tables cost ~40 ms to parse)
    keys = draw(DEMO_KEY_LISTS)
    doc = {"form": DEMO_DOC["form"], "version": DEMO_DOC["version"], "title": "fuzz",
           "answers": {k: deepcopy(DEMO_ANSWERS[k]) for k in keys}}
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(MUTATIONS)
        answers = doc.get("answers") if isinstance(doc.get("answers"), dict) else None
        if kind == "wrong_type" and answers is not None:
            answers[draw(KEY)] = draw(JSON_VALUES)
        elif kind == "special_text" and answers is not None:
            answers[draw(KEY)] = draw(SPECIAL)
        elif kind == "unknown_id" and answers is not None:
            answers[draw(UNKNOWN_ID)] = draw(JSON_VALUES)
        elif kind == "drop_answer" and answers:
            answers.pop(draw(st.sampled_from(sorted(answers))), None)
        elif kind == "drop_top":
            doc.pop(draw(TOP_KEY), None)
        elif kind == "top_value":
            doc[draw(TOP_KEY)] = draw(JSON_VALUES)
        elif kind == "evidence":
            doc["evidence"] = deepcopy(SMALL_EVIDENCE)
        elif kind == "bad_evidence":
            ev = doc.setdefault("evidence", {}) if isinstance(doc.get("evidence", {}), dict) else {}
            doc["evidence"] = ev
            ev[draw(BAD_EVIDENCE_KEY)] = draw(BAD_EVIDENCE)
        elif kind == "notes":
            doc["notes"] = draw(NOTES)
    return doc


@st.composite
def template_bytes(draw):
    doc = draw(mutated_template())
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()), allow_nan=True)
    how = draw(ENCODINGS)
    if how == "not_object":
        return json.dumps(draw(JSON_VALUES)).encode()
    if how == "gbk":
        return text.encode("gbk", "replace")
    if how == "utf-16":
        return text.encode("utf-16", "surrogatepass")
    data = text.encode("utf-8-sig" if how == "utf-8-sig" else "utf-8", "surrogatepass")
    if how == "truncate":
        return data[: draw(st.integers(0, max(0, len(data) - 1)))]
    if how == "flip":
        pos = draw(st.integers(0, len(data) - 1))
        return data[:pos] + bytes([draw(st.integers(0, 255))]) + data[pos + 1:]
    return data


def _import_and_check(store: Store, path: Path, section: str) -> str:
    before = logical_state(store.path)
    try:
        draft_id = import_file(store, path)
    except TemplateError as e:
        assert e.problems and all(has_cjk(line) for line in e.problems), e.problems
        assert logical_state(store.path) == before, "a refused template changed the store"
        bump(section, "rejected")
        return "rejected"
    filled = read_filled(path)
    assert store.get_answers(draft_id) == filled.answers
    assert store.get_notes(draft_id) == {k: v for k, v in filled.notes.items()}
    assert len(store.list_evidence(draft_id)) == len(filled.evidence)
    store.delete_draft(draft_id)
    assert orphan_blobs(store.path) == 0
    bump(section, "accepted")
    return "accepted"


def test_json_templates(work):
    folder, store = work

    @FUZZ
    @given(data=template_bytes())
    def run(data):
        bump("hypothesis", "import.json_template")
        path = folder / "申报.json"
        path.write_bytes(data)
        _import_and_check(store, path, "fuzz_json_template")

    run()


def test_cli_import_refuses_with_exit_2(work, tmp_path_factory):
    """The same inputs through `clusterdesk --db DB import FILE` (fewer examples: one store open each)."""
    from clusterdesk import cli

    folder, store = work
    db = folder / "data" / "clusterdesk.sqlite3"
    from hypothesis import settings

    @settings(FUZZ, max_examples=examples(200))
    @given(data=template_bytes())
    # a key holding a line break printed its message over two lines
    @example(data=b'{"form": "cq-2024-application", "version": 1, "title": "fuzz", "answers": {"\\n": null}}')
    def run(data):
        bump("hypothesis", "cli.import.json_template")
        path = folder / "cli.json"
        path.write_bytes(data)
        before = logical_state(db)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["--db", str(db), "import", str(path)])
        assert "Traceback" not in err.getvalue()
        if code == 0:
            store.delete_draft(int(out.getvalue().strip()))
            return
        assert code == 2, (code, err.getvalue())
        lines = err.getvalue().strip().split("\n")  # str.splitlines would also split on \x1c-\x1e
        assert lines and all(has_cjk(line) for line in lines), lines
        assert logical_state(db) == before

    run()


# ----------------------------------------------------------------------------- known crashes (reported bugs)

def _template_file(folder: Path, text: str) -> Path:
    p = folder / "bug.json"
    p.write_text(text, encoding="utf-8")
    return p


JSON_CRASH_REASON = (
    "core bug: templates.py _read_json only catches json.JSONDecodeError; json.loads raises ValueError for an "
    "integer literal over 4300 digits and RecursionError for deeply nested arrays, so read_filled / "
    "`clusterdesk import` crash with a traceback (exit 1) instead of TemplateError / exit 2")


@pytest.mark.parametrize("case", ["big_int", "deep"])
def test_json_template_parser_limits(work, case, capsys):
    from clusterdesk import cli

    folder, store = work
    body = ("1" * 5000) if case == "big_int" else ("[" * 100000 + "]" * 100000)
    text = '{"form": "cq-2024-application", "version": 1, "answers": {"basic.area": ' + body + "}}"
    path = _template_file(folder, text)
    before = logical_state(store.path)
    with pytest.raises(TemplateError) as err:
        read_filled(path)
    assert has_cjk(str(err.value))
    assert cli.main(["--db", str(store.path), "import", str(path)]) == 2
    assert logical_state(store.path) == before


def test_json_template_unhashable_row_key(work):
    """Regression: was TypeError and a traceback (fixed in 6427019)."""
    from clusterdesk import cli

    folder, store = work
    path = _template_file(folder, json.dumps({"form": FORM.id, "version": 1,
                                              "answers": {"plan.targets": [{"key": [], "target": "1"}]}}))
    assert cli.main(["--db", str(store.path), "import", str(path)]) == 2


@pytest.mark.parametrize("where", ["absolute", "dotdot"])
def test_template_evidence_path_must_stay_in_its_folder(tmp_path, where):
    secret = tmp_path / "private" / "工资表.xlsx"
    secret.parent.mkdir()
    secret.write_bytes(b"confidential")
    stick = tmp_path / "usb"
    stick.mkdir()
    rel = str(secret) if where == "absolute" else "../private/工资表.xlsx"
    doc = {"form": FORM.id, "version": 1, "answers": {},
           "evidence": {"opening.overseas_branches": {"佐证材料": [rel]}}}
    path = stick / "申报.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(TemplateError) as err:
        read_filled(path)
    assert has_cjk(str(err.value))


# ----------------------------------------------------------------------------- .xlsx templates

TEMPLATE_ROWS: list[list] = []
ROW_PICKS = st.lists(st.integers(0, 194), min_size=1, max_size=8, unique=True)


def _template_rows() -> list[list]:
    if not TEMPLATE_ROWS:
        from clusterdesk.export.xlsxkit import read_workbook_values
        from clusterdesk.templates import write_template

        d = Path(tempfile.mkdtemp())
        write_template(FORM, d / "t.xlsx")
        TEMPLATE_ROWS.extend(read_workbook_values(d / "t.xlsx")["填报"][1:])
        shutil.rmtree(d, ignore_errors=True)
    return TEMPLATE_ROWS


CELL_VALUES = st.one_of(
        TEXT30, SPECIAL, st.integers(-10**16, 10**16),
        st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.sampled_from(["√", "否", "×", "是"]),
        st.tuples(st.just("="), st.sampled_from(["1+1", "SUM(A1:A3)", 'HYPERLINK("http://x","y")',
                                                 "cmd|' /C calc'!A0", "WEBSERVICE(\"http://x\")"]),
                  st.one_of(st.none(), st.integers(0, 100), st.just("12.5"))),
)
FORM_IDS = st.sampled_from([FORM.id, FORM.id, FORM.id, "x", ""])
VERSIONS = st.sampled_from([1, 1, "1", 2, "abc", None])


@st.composite
def xlsx_template(draw):
    rows = _template_rows()
    assert len(rows) == 195, len(rows)  # ROW_PICKS is built for the current template
    picked = draw(ROW_PICKS)
    main = [list(XLSX_HEADER)]
    for i in sorted(picked):
        row = list(rows[i]) + [None] * (len(XLSX_HEADER) - len(rows[i]))
        row[12] = draw(CELL_VALUES)
        main.append(row)
    if draw(st.booleans()):  # an id typed by hand
        main.append([draw(TEXT20)] + [None] * 11 + [draw(CELL_VALUES)])
    meta = [["form", draw(FORM_IDS)], ["version", draw(VERSIONS)]]
    return minimal_xlsx(main, meta)


def test_xlsx_templates_random_cells(work):
    folder, store = work

    @FUZZ
    @given(data=xlsx_template())
    def run(data):
        bump("hypothesis", "import.xlsx_template")
        path = folder / "申报.xlsx"
        path.write_bytes(data)
        _import_and_check(store, path, "fuzz_xlsx_template")

    run()


# ----------------------------------------------------------------------------- data packages

packages = pytest.importorskip("clusterdesk.packages", reason="clusterdesk.packages not built yet")


@pytest.fixture(scope="module")
def base_package(work):
    folder, store = work
    # a small draft (parsing the whole demo takes ~40 ms per example): some answers incl. a table, 2 files
    keys = ["cover.cluster_name", "cover.district", "basic.area", "basic.industry_type", "industry.chain_work",
            "industry.enterprises.2021", "plan.targets", "opening.overseas_branches"]
    small = {"form": FORM.id, "version": 1, "answers": {k: DEMO_ANSWERS[k] for k in keys if k in DEMO_ANSWERS},
             "evidence": SMALL_EVIDENCE}
    src = folder / "small.json"
    src.write_text(json.dumps(small, ensure_ascii=False), encoding="utf-8")
    draft_id = import_file(store, src)
    out = folder / "base.cdpkg"
    packages.write_package(store, draft_id, out, documents=False)
    store.delete_draft(draft_id)
    with zipfile.ZipFile(out) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    record("fuzz_package", base_members=len(members), base_bytes=out.stat().st_size)
    return out.read_bytes(), members


def _zip(members: dict[str, bytes], tweak=None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zi = zipfile.ZipInfo(name, (2024, 5, 1, 8, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            if tweak:
                tweak(zi)
            zf.writestr(zi, data)
    return buf.getvalue()


def _restamp(members: dict[str, bytes], manifest: dict) -> dict[str, bytes]:
    manifest = deepcopy(manifest)
    manifest["members"] = {n: {"sha256": hashlib.sha256(b).hexdigest(), "size": len(b)}
                           for n, b in members.items() if n != "manifest.json"}
    out = dict(members)
    out["manifest.json"] = json.dumps(manifest, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return out


EVIDENCE_INDEX = st.one_of(JSON_VALUES, st.dictionaries(KEY, st.dictionaries(TEXT10, JSON_VALUES, max_size=2),
                                                        max_size=2))


@st.composite
def mutated_package(draw, base):
    raw, members = base
    kind = draw(st.sampled_from(["flip", "truncate", "answers", "answers", "manifest", "member_name", "extra",
                                 "lie_size", "evidence_index"]))
    if kind == "flip":
        data = bytearray(raw)
        for _ in range(draw(st.integers(1, 4))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    if kind == "truncate":
        return raw[: draw(st.integers(0, len(raw) - 1))]
    manifest = json.loads(members["manifest.json"])
    answers_doc = json.loads(members["answers.json"])
    m = dict(members)
    if kind == "answers":
        answers = answers_doc["answers"]
        for _ in range(draw(st.integers(1, 3))):
            which = draw(st.sampled_from(["wrong", "unknown", "drop", "special"]))
            if which == "wrong":
                answers[draw(KEY)] = draw(JSON_VALUES)
            elif which == "unknown":
                answers[draw(TEXT20)] = draw(JSON_VALUES)
            elif which == "special":
                answers[draw(KEY)] = draw(SPECIAL)
            elif answers:
                answers.pop(draw(st.sampled_from(sorted(answers))))
        m["answers.json"] = json.dumps(answers_doc, ensure_ascii=False).encode("utf-8", "surrogatepass")
        return _zip(_restamp(m, manifest))
    if kind == "evidence_index":
        answers_doc["evidence_index"] = draw(EVIDENCE_INDEX)
        m["answers.json"] = json.dumps(answers_doc, ensure_ascii=False).encode("utf-8", "surrogatepass")
        return _zip(_restamp(m, manifest))
    if kind == "manifest":
        field = draw(st.sampled_from(["format", "format_version", "form_id", "form_version", "draft_uuid", "title",
                                      "members"]))
        manifest[field] = draw(JSON_VALUES)
        m["manifest.json"] = json.dumps(manifest, ensure_ascii=False).encode("utf-8", "surrogatepass")
        return _zip(m)
    if kind == "member_name":
        victim = draw(st.sampled_from(sorted(n for n in m if n != "manifest.json")))
        new = draw(st.sampled_from(["../evil.txt", "/etc/passwd", "C:\\Windows\\evil.dll", "evidence/../../x",
                                    "evidence//a", "documents/./a", "a\\b", "\x00x", "evidence/" + "a" * 500]))
        m[new] = m.pop(victim)
        return _zip(_restamp(m, manifest) if draw(st.booleans()) else m)
    if kind == "extra":
        m[draw(st.sampled_from(["documents/readme.txt", "evil.exe", "evidence/x/y.pdf"]))] = draw(st.binary(max_size=50))
        return _zip(_restamp(m, manifest) if draw(st.booleans()) else m)
    # lie_size: the manifest declares fewer bytes than the member holds
    victim = draw(st.sampled_from(sorted(n for n in m if n != "manifest.json")))
    stamped = _restamp(m, manifest)
    man = json.loads(stamped["manifest.json"])
    man["members"][victim]["size"] = max(0, man["members"][victim]["size"] - draw(st.integers(1, 100)))
    stamped["manifest.json"] = json.dumps(man).encode()
    return _zip(stamped)


def test_package_import_fuzz(work, base_package):
    folder, store = work

    @FUZZ
    @given(data=mutated_package(base_package))
    def run(data):
        bump("hypothesis", "import.package")
        path = folder / "来自区县.cdpkg"
        path.write_bytes(data)
        before = logical_state(store.path)
        try:
            contents = packages.read_package(path)
        except packages.PackageError as e:
            assert e.problems and all(has_cjk(line) for line in e.problems), e.problems
            assert logical_state(store.path) == before
            bump("fuzz_package", "rejected")
            return
        outcome = packages.import_package(store, contents, on_duplicate="keep_both")
        assert store.get_answers(outcome.draft_id) == contents.answers
        store.delete_draft(outcome.draft_id)
        assert orphan_blobs(store.path) == 0
        bump("fuzz_package", "accepted")

    run()


def test_package_with_huge_integer(work, base_package):
    """Regression: read_package crashed with ValueError (4300-digit limit); fixed in 0869029."""
    folder, store = work
    _, members = base_package
    doc = json.loads(members["answers.json"])
    text = json.dumps(doc, ensure_ascii=False).replace('"answers": {', '"answers": {"basic.area": ' + "1" * 5000 + ", ",
                                                       1)
    m = dict(members)
    m["answers.json"] = text.encode()
    path = folder / "huge.cdpkg"
    path.write_bytes(_zip(_restamp(m, json.loads(members["manifest.json"]))))
    with pytest.raises(packages.PackageError):
        packages.read_package(path)


def test_package_with_unhashable_row_key(work, base_package):
    """Regression: read_package crashed with TypeError; fixed in 0869029 / 6427019."""
    folder, _ = work
    _, members = base_package
    doc = json.loads(members["answers.json"])
    doc["answers"]["plan.targets"] = [{"key": [], "target": "1"}]
    m = dict(members)
    m["answers.json"] = json.dumps(doc, ensure_ascii=False).encode()
    path = folder / "rowkey.cdpkg"
    path.write_bytes(_zip(_restamp(m, json.loads(members["manifest.json"]))))
    with pytest.raises(packages.PackageError):
        packages.read_package(path)

"""9. Round 2, item 5: NaN, ±Infinity and overflowing numbers in a package's or template's answers.

They used to vanish: ``json.loads(parse_constant=lambda c: None)`` turned a NaN in a required field
into "no answer", and the import exited 0; a template's NaN became the text "NaN". Now every one of
them is refused, and the line names the section and the field label (in Chinese), in the library,
through the command line (exit 2, no traceback), and the store is left exactly as it was.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from hostile_support import package_members, rebuild_package, zip_members
from rel_support import DEMO, DEMO_CQ, PYTHON, ROOT, bump, child_env, has_cjk, logical_state, minimal_xlsx

from clusterdesk.model.form import default_catalog
from clusterdesk.store import Store

FORM = default_catalog().get("cq-2024-application")
# where each value goes → the words the refusal must contain (section, label)
PLACES = {
    "industry.total_output.2021": ("二、主导产业情况", "集群总产值（亿元）", "2021年"),  # required number
    "basic.area": ("一、基本情况", "集群占地面积（平方公里）"),  # required number with a unit
    "cover.cluster_name": ("封面", "集群名称"),  # required text: NaN must not become the text "NaN"
    "innovation.patents": ("三、创新能力情况", "有效发明专利拥有量"),  # required integer
    "innovation.patent_list": ("三、创新能力情况", "有效发明专利清单", "第1行", "专利号"),  # a table cell
    "industry.chain_work": ("二、主导产业情况", "产业链强链补链工作"),  # a box list
}
CONSTANTS = ["NaN", "Infinity", "-Infinity", "1e999", "-1E400"]


def _with_constant(doc: dict, key: str, constant: str, answers_key: str = "answers") -> bytes:
    """``doc`` (JSON) with the value at ``key`` written as the bare constant."""
    doc = json.loads(json.dumps(doc))
    if key == "innovation.patent_list":
        doc[answers_key][key] = [{"number": "@@C@@", "title": "一种装置", "owner": "某公司"}]
    elif key == "industry.chain_work":
        doc[answers_key][key] = ["@@C@@"]
    else:
        doc[answers_key][key] = "@@C@@"
    return json.dumps(doc, ensure_ascii=False).replace('"@@C@@"', constant).encode("utf-8")


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("nonfinite") / "data" / "clusterdesk.sqlite3"
    with Store.open(path) as store:
        d = store.create_draft(FORM.id, FORM.version, "已有草稿")
        store.set_answer(d.id, "basic.area", "3.00")
    return path


def _cli(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "clusterdesk", "--db", str(db), *args], capture_output=True, text=True,
                          timeout=120, env=child_env(), cwd=ROOT)


@pytest.mark.parametrize("constant", CONSTANTS)
@pytest.mark.parametrize("key", sorted(PLACES))
def test_package_answers(demo_package, db, tmp_path, key, constant):
    from clusterdesk.packages import PackageError, read_package

    members = package_members(demo_package)
    path = tmp_path / "非数值.cdpkg"
    path.write_bytes(rebuild_package(members, answers=_with_constant(json.loads(members["answers.json"]), key,
                                                                     constant)))
    before = logical_state(db)
    with pytest.raises(PackageError) as err:
        read_package(path)
    text = "\n".join(err.value.problems)
    for word in PLACES[key]:
        assert word in text, text
    assert constant.lstrip("-") in text or "非数值" in text, text
    if key == "industry.total_output.2021" and constant == "NaN":  # the case, end to end
        proc = _cli(db, "import-package", str(path))
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert "集群总产值（亿元）" in proc.stderr and has_cjk(proc.stderr)
    assert logical_state(db) == before
    bump("nonfinite", "package_refused")


@pytest.mark.parametrize("where", ["notes", "evidence_index", "title", "manifest_title", "manifest_version"])
def test_package_elsewhere(demo_package, tmp_path, where):
    from clusterdesk.packages import PackageError, read_package

    members = package_members(demo_package)
    doc = json.loads(members["answers.json"])
    if where == "notes":
        doc["notes"] = {"industry.total_output.2021": "@@C@@"}
        data, changes = json.dumps(doc, ensure_ascii=False).replace('"@@C@@"', "NaN").encode(), None
    elif where == "evidence_index":
        key, by_option = next(iter(doc["evidence_index"].items()))
        by_option[next(iter(by_option))][0]["file"] = "@@C@@"
        data, changes = json.dumps(doc, ensure_ascii=False).replace('"@@C@@"', "NaN").encode(), None
    elif where == "title":
        doc["title"] = "@@C@@"
        data, changes = json.dumps(doc, ensure_ascii=False).replace('"@@C@@"', "Infinity").encode(), None
    else:
        data, changes = None, {"title" if where == "manifest_title" else "format_version": float("nan")}
    path = tmp_path / "别处.cdpkg"
    path.write_bytes(rebuild_package(members, answers=data, manifest_changes=changes))
    with pytest.raises(PackageError) as err:
        read_package(path)
    assert has_cjk("\n".join(err.value.problems)), err.value.problems
    bump("nonfinite", "package_refused")


@pytest.fixture()
def usb(tmp_path) -> Path:
    folder = tmp_path / "u盘"
    shutil.copytree(DEMO / "evidence", folder / "evidence")
    return folder


def _import_refused(db: Path, path: Path, words: tuple[str, ...]) -> dict:
    """import_file refuses ``path`` with lines holding every word; the store is unchanged."""
    from clusterdesk.templates import TemplateError, import_file

    before = logical_state(db)
    with Store.open(db) as store, pytest.raises(TemplateError) as err:
        import_file(store, path)
    text = "\n".join(err.value.problems)
    for word in words:
        assert word in text, text
    assert logical_state(db) == before
    return before


@pytest.mark.parametrize("constant", CONSTANTS)
@pytest.mark.parametrize("key", sorted(PLACES))
def test_json_template_answers(db, usb, key, constant):
    path = usb / "申报.json"
    path.write_bytes(_with_constant(json.loads(DEMO_CQ.read_text(encoding="utf-8")), key, constant))
    before = _import_refused(db, path, PLACES[key])
    if key == "cover.cluster_name" and constant == "NaN":
        proc = _cli(db, "import", str(path))
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert "集群名称" in proc.stderr
    assert logical_state(db) == before
    bump("nonfinite", "template_refused")


def test_json_template_elsewhere(db, usb):
    from clusterdesk.templates import TemplateError, read_filled

    doc = json.loads(DEMO_CQ.read_text(encoding="utf-8"))
    doc["notes"] = {"industry.total_output.2021": "@@C@@"}
    doc["version"] = "@@V@@"
    path = usb / "别处.json"
    path.write_text(json.dumps(doc, ensure_ascii=False).replace('"@@C@@"', "NaN").replace('"@@V@@"', "Infinity"),
                    encoding="utf-8")
    with pytest.raises(TemplateError) as err:
        read_filled(path)
    assert has_cjk("\n".join(err.value.problems))


def _xlsx_with_number(path: Path, key: str, literal: str) -> Path:
    """A template with ``<v>literal</v>`` as the number in ``key``'s 填写值 cell."""
    from clusterdesk.templates import XLSX_HEADER

    option = FORM.cell(key).field.options[0] if FORM.cell(key).field.type == "boxes" else None
    rows = [XLSX_HEADER, [key, None, None, option] + [None] * 8 + [12345.678]]
    data = minimal_xlsx(rows, [["form", FORM.id], ["version", FORM.version]])
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        members = {i.filename: zin.read(i) for i in zin.infolist()}
    members["xl/worksheets/sheet1.xml"] = members["xl/worksheets/sheet1.xml"].replace(
        b"<v>12345.678</v>", b"<v>" + literal.encode() + b"</v>")
    path.write_bytes(zip_members(members))
    return path


@pytest.mark.parametrize("value", ["1E999", "-1e400"])
@pytest.mark.parametrize("key", ["basic.area", "innovation.patents", "industry.chain_work"])
def test_xlsx_template_overflowing_numbers(db, tmp_path, key, value):
    """Excel stores numbers as text: ``<v>1E999</v>`` is read as a float infinity."""
    _import_refused(db, _xlsx_with_number(tmp_path / "溢出.xlsx", key, value), PLACES[key])


@pytest.mark.parametrize("value", ["NaN", "nan", "INF"])
def test_xlsx_template_nan_cell_names_the_row(tmp_path, value):
    from clusterdesk.templates import TemplateError, read_filled

    path = _xlsx_with_number(tmp_path / "nan.xlsx", "basic.area", value)
    with pytest.raises(TemplateError) as err:
        read_filled(path)
    text = "\n".join(err.value.problems)
    assert "“填报”第 2 行" in text and "NaN" in text, text


@pytest.mark.parametrize("raw", [float("nan"), float("inf"), float("-inf")])
def test_typed_non_finite_is_refused_in_a_session(tmp_path, raw):
    from clusterdesk.service import DraftSession, InputError, create_draft

    with Store.open(tmp_path / "d.sqlite3") as store:
        info = create_draft(store, FORM)
        s = DraftSession(store, info.id)
        for key in ("basic.area", "cover.cluster_name", "innovation.patents"):
            with pytest.raises(InputError) as err:
                s.set(key, raw)
            assert FORM.cell(key).field.label in str(err.value)
        assert store.get_answers(info.id) == {}

"""The shipped form definitions (``forms/*.yaml``).

- every definition loads, and the catalog holds exactly the four official documents;
- THE SEED TEST: every piece of text of each official attachment (labels, options, notes, hints,
  headings, column headers …) is in its definition word for word, in the order the form prints it;
- a broken definition fails with lines that name the file, the place inside it and the field;
- ids are unique, and the Shanghai targets table uses the Chongqing row keys;
- the demo data of the forms added with this file only uses cells the forms have.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from clusterdesk.model.form import Catalog, FormDef, FormDefinitionError, load_form
from clusterdesk.model.schema import Field, Group, Heading, Note, Section, Sign
from cd_support import DEMO, FORMS, ROOT

# The official notices, kept in the repository with a note of their source (forms/sources/README.md).
SEEDS = FORMS / "sources"
CQ_SEED = "cq-2024-notice.txt"  # 渝经信中小〔2024〕7号
SH_SEED = "sh-2024-notice.txt"  # 沪经信企〔2024〕190号

# The four official documents the seeds hold; forms/ may hold more (next year's, another province's):
# the tests of every form derive the list from the folder.
OFFICIAL = {"cq-2024-application", "cq-2024-summary", "sh-2023-annual-report", "sh-2023-district-summary"}
FORM_IDS = {p.stem for p in FORMS.glob("*.yaml")}

WS = re.compile(r"\s+")


@pytest.fixture(scope="module")
def forms_catalog() -> Catalog:
    return Catalog.load(FORMS)


# -- (a) loading ---------------------------------------------------------------------------


def test_every_definition_loads_and_the_catalog_is_complete(forms_catalog: Catalog) -> None:
    files = sorted(FORMS.glob("*.yaml"))
    assert OFFICIAL <= FORM_IDS
    assert {fd.id for fd in forms_catalog} == FORM_IDS
    for p in files:
        fd = load_form(p)
        assert fd.id == p.stem, f"{p.name}: id “{fd.id}” should match the file name"
        assert fd.cells, f"{p.name}: no answer cells"
        assert forms_catalog.get(fd.id).form == fd.form


def test_default_catalog_folder_is_the_shipped_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLUSTERDESK_FORMS", raising=False)
    monkeypatch.delenv("CLUSTERDESK_HOME", raising=False)
    assert {fd.id for fd in Catalog.load()} == FORM_IDS


# -- (b) the seed test ---------------------------------------------------------------------
#
# The seed text of an attachment is cut into chunks the way the form prints it: one chunk per
# line and per table cell (tab), with □ boxes, checkbox markup (<input type="checkbox"/>) and
# HTML paragraphs (<p>) as separators. Blank fill-in lines (____) and markdown table rules (---)
# are dropped, all whitespace inside a chunk is removed, and a colon that only introduces a
# blank to fill (集群名称：____) is dropped. Every chunk must then appear, in order, in the
# whitespace-free concatenation of the definition's texts.

_SEPARATORS = re.compile(r"\t|\n|<[^>]*>|□")
_FILL = re.compile(r"_{2,}")
_RULE = re.compile(r"-{3,}")

# Seed chunks that are pure layout. Keep this list as short as possible.
LAYOUT_ONLY = {
    # the corner cell of a "年度 | 2021年 | 2022年 | 2023年" header row: the definition gives the
    # years as the section's `years` (printed as 2021年 …) instead.
    "年度",
    # the corner cell of the standards table "类别 | 主持数量 | 参与数量": the definition gives
    # the categories as the matrix `rows` (国际/国家/行业/团体) and the headers as its `cols`.
    "类别",
    # "数量：____个 名称：____" in the 创新平台 rows: the definition has a count field (unit 个)
    # followed by a repeat of names (column 名称). Chongqing prints "名称：" on its own line …
    "数量：个",
    # … Shanghai prints both in one cell.
    "数量：个名称",
}


def seed_text(name: str) -> str:
    path = SEEDS / name
    if not path.is_file():
        pytest.fail(
            f"official source text {path} is missing: the notices belong in forms/sources/ "
            f"(see forms/sources/README.md)",
            pytrace=False,
        )
    return path.read_text(encoding="utf-8")


def attachment(seed: str, number: int) -> str:
    """The text of 附件<number>: from its "附件N" line to the next attachment's line."""
    lines = seed.splitlines()
    marks = [i for i, line in enumerate(lines) if re.fullmatch(r"附件\s*\d+", line.strip())]
    starts = [i for i in marks if WS.sub("", lines[i]) == f"附件{number}"]
    assert len(starts) == 1, f"附件{number} not found (or found twice) in the seed"
    end = next((i for i in marks if i > starts[0]), len(lines))
    return "\n".join(lines[starts[0]:end])


def seed_chunks(text: str) -> list[str]:
    out = []
    for piece in _SEPARATORS.split(text):
        chunk = WS.sub("", _FILL.sub("", piece))
        if not chunk or _RULE.fullmatch(chunk):
            continue
        chunk = chunk.removesuffix("：")
        if chunk:
            out.append(chunk)
    return out


def _field_texts(f: Field, section: Section) -> list[str]:
    out = [f.label, f.placeholder or ""]
    if f.years and f.years != section.years:  # the field's own year header (工业软件采购金额 2021年 …)
        out += [f"{y}年" for y in f.years]
    out += [f.hint or "", f.prefix or "", *f.options]
    if f.type != "matrix":  # "_____ 个": the unit printed after the blank
        out.append(f.unit or "")
    out += list(f.notes)
    if f.type == "matrix":  # one block of columns per year, side by side
        n = max(1, len(f.years))
        out += [c.label for c in f.cols] * n
        for r in f.rows:
            out += [r.label] * n
    out += [c.label for c in f.columns]
    for row in f.fixed_rows:
        out += [row.get(c.id, "") for c in f.columns]
    return out


def _section_texts(s: Section) -> list[str]:
    out = [s.title, *(f"{y}年" for y in s.years), s.total_note or ""]
    for item in s.items:
        if isinstance(item, Field):
            out += _field_texts(item, s)
        elif isinstance(item, Group):
            out.append(item.label)
            for f in item.items:
                out += _field_texts(f, s)
        elif isinstance(item, Heading):
            out += [item.text, item.hint or ""]
        elif isinstance(item, (Note, Sign)):
            out.append(item.text)
    return out


def definition_text(fd: FormDef) -> str:
    """Every official text of a definition in print order, whitespace removed."""
    form = fd.form
    parts = [form.attachment, form.title]  # the official title (the print may answer its XX: cover_title)
    sections = list(form.sections)
    if sections and sections[0].layout == "cover":
        parts += _section_texts(sections.pop(0))
    parts.append(form.maker_line or "")
    for s in sections:
        if s.layout == "instructions":
            parts += [s.title, *form.instructions]
            continue
        parts += _section_texts(s)
    return WS.sub("", "".join(parts))


def mismatches(chunks: list[str], text: str) -> list[str]:
    """Chunks not found in `text` after the previous chunk's place (greedy, in order)."""
    pos = 0
    out = []
    for chunk in chunks:
        if chunk in LAYOUT_ONLY:
            continue
        i = text.find(chunk, pos)
        if i < 0:
            out.append(("out of order: " if chunk in text else "missing: ") + chunk)
        else:
            pos = i + len(chunk)
    return out


SEED_CASES = [
    ("cq-2024-application", CQ_SEED, 2),
    ("cq-2024-summary", CQ_SEED, 3),
    ("sh-2023-annual-report", SH_SEED, 1),
    ("sh-2023-district-summary", SH_SEED, 2),
]


@pytest.mark.parametrize(("form_id", "seed", "number"), SEED_CASES, ids=[c[0] for c in SEED_CASES])
def test_definition_holds_the_official_text_word_for_word(forms_catalog: Catalog, form_id: str, seed: str,
                                                          number: int) -> None:
    chunks = seed_chunks(attachment(seed_text(seed), number))
    assert len(chunks) >= 10, "the attachment was not found in the seed"
    problems = mismatches(chunks, definition_text(forms_catalog.get(form_id)))
    assert not problems, f"{form_id}: seed text not in the definition:\n" + "\n".join(problems)


def test_seed_check_is_strict_about_wording_and_punctuation(forms_catalog: Catalog) -> None:
    """The checker itself: a reworded option, a full-width comma for a half-width one, a moved
    label are all caught."""
    chunks = seed_chunks(attachment(seed_text(SH_SEED), 1))
    text = definition_text(forms_catalog.get("sh-2023-annual-report"))
    assert not mismatches(chunks, text)
    assert "非工业集群,不适用" in chunks and "(注:需提供计算佐证材料)" in chunks
    assert mismatches(chunks, text.replace("非工业集群,不适用", "非工业集群，不适用"))
    assert mismatches(chunks, text.replace("(注:需提供计算佐证材料)", "（注：需提供计算佐证材料）"))
    assert mismatches(chunks, text.replace("近一年不存在", "近一年无"))
    moved = text.replace("四、存在问题", "", 1) + "四、存在问题"  # printed last instead of fourth
    assert mismatches(chunks, moved)[0] == "out of order: 五、2024年工作计划"


def test_seed_chunking() -> None:
    text = ("集群名称： _____\n是否高于行业平均水平\t<input type=\"checkbox\"/> 是 <input type=\"checkbox\"/> 否"
            "\n\t□是  □否（如涉及，需提供佐证材料）\n-------\t---\n<p>年 月 日</p>")
    assert seed_chunks(text) == ["集群名称", "是否高于行业平均水平", "是", "否", "是", "否（如涉及，需提供佐证材料）", "年月日"]


def test_the_notices_are_kept_unaltered_with_their_source() -> None:
    """forms/sources/ holds every notice the seed test reads, each listed in its README with
    issuer, number and date, and byte for byte what the README's SHA-256 says."""
    import hashlib

    readme = (SEEDS / "README.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"^\| `([^`]+\.txt)` \| `([0-9a-f]{64})` \|$", readme, re.M))
    files = sorted(p.name for p in SEEDS.glob("*.txt"))
    assert files == sorted(listed) and {CQ_SEED, SH_SEED} <= set(files)
    for name, digest in listed.items():
        assert hashlib.sha256((SEEDS / name).read_bytes()).hexdigest() == digest, f"{name} was changed"
    for number, date in (("渝经信中小〔2024〕7号", "2024年2月21日"), ("沪经信企〔2024〕190号", "2024年3月13日")):
        assert number in readme and date in readme
    assert "此件公开发布" in readme and "（此件公开发布）" in seed_text(CQ_SEED)
    assert "2024年2月21日" in seed_text(CQ_SEED) and "2024 年 3 月 13 日" in seed_text(SH_SEED)


# -- (c) broken definitions ------------------------------------------------------------------

BASE = """\
schema_version: 1
id: bad-form
version: 1
title: 测试表
short_title: 测试
issuer: 测试机构
year: 2024
attachment: 附件1
role: cluster
notice: {id: t, number: 测〔2024〕1号, title: 通知, issuer: 测试机构, date: 2024年1月1日}
sections:
  - id: basic
    title: 一、基本情况
    layout: table
    items:
      - {id: output, type: number, label: 集群总产值（亿元）, unit: 亿元}
      - {id: status, type: narrative, label: 情况说明, max_chars: 200}
"""


def test_the_base_of_the_broken_variants_is_valid(tmp_path: Path) -> None:
    p = tmp_path / "good.yaml"
    p.write_text(BASE, encoding="utf-8")
    assert load_form(p).has_cell("basic.output")


BROKEN = [
    # name, the text written, what the error lines must name
    ("unknown_key", BASE.replace("unit: 亿元}", "unit: 亿元, colour: red}"),
     ["sections[0](basic).items[0](output)", "colour"]),
    ("narrative_without_max_chars", BASE.replace(", max_chars: 200", ""),
     ["sections[0](basic).items[1](status)", "max_chars"]),
    ("calculation_to_missing_field",
     BASE + '      - {id: share, type: percent, label: 比例, calculation: "${basic.nope} / 2"}\n',
     ["basic.share.calculation", "${basic.nope}"]),
    ("choice_without_options", BASE + "      - {id: kind, type: choice, label: 产业类型}\n",
     ["sections[0](basic).items[2](kind)", "options"]),
    ("data_as_of_names_a_missing_column",
     BASE + "data_as_of: {date: 2023-12-31, basis: 截止到2023年底, columns: [basic.status.granted]}\n",
     ["data_as_of.columns", "basic.status.granted", "不是清单（repeat）中的列"]),
    ("data_as_of_on_a_number_column",
     BASE.replace("      - {id: status,", "      - {id: list, type: repeat, label: 清单, columns: [{id: amount, label: 金额, "
                  "type: number}]}\n      - {id: status,")
     + "data_as_of: {date: 2023-12-31, basis: 截止到2023年底, columns: [basic.list.amount]}\n",
     ["basic.list.amount", "应为填写日期的文字列或填写年份的整数列"]),
    ("data_as_of_not_a_date", BASE + "data_as_of: {date: 2023年底, basis: 截止到2023年底, columns: []}\n",
     ["data_as_of.date", "应为日期，例如 2023-12-31"]),
    ("yaml_impossible_date", BASE + "data_as_of: {date: 2023-13-31, basis: 截止到2023年底, columns: []}\n",
     ["YAML 中的日期无效", "2023-12-31"]),
    ("yaml_syntax", BASE + "      - id: broken\n        label: 名称: 错误\n",
     ["YAML", f"第 {BASE.count(chr(10)) + 2} 行"]),
    # the layout vocabulary
    ("layout_missing", BASE.replace("    layout: table\n", ""), ["sections[0](basic).layout", "缺少必填项"]),
    ("layout_unknown", BASE.replace("layout: table", "layout: grid"),
     ["sections[0](basic).layout", "“grid”无效", "cover", "outline", "statement"]),
    ("place_without_of", BASE + "      - {id: phone, type: text, label: 联系方式, place: beside}\n",
     ["sections[0](basic).items[2](phone)", "place: beside", "of"]),
    ("of_unknown", BASE + "      - {id: phone, type: text, label: 联系方式, of: contact}\n",
     ["sections[0](basic).items[2](phone).of", "“contact”"]),
    ("below_not_after_its_field",
     BASE + "      - {id: note, type: text, label: 计算公式, of: output, place: below}\n",
     ["sections[0](basic).items[2](note).place", "place: below", "“output”"]),
    ("beside_a_narrative", BASE + "      - {id: phone, type: text, label: 联系方式, of: status, place: beside}\n",
     ["sections[0](basic).items[2](phone).place", "beside"]),
    ("years_as_without_years", BASE.replace("unit: 亿元}", "unit: 亿元, years_as: rows}"),
     ["sections[0](basic).items[0](output)", "years_as"]),
    ("years_as_columns_without_header", BASE.replace("unit: 亿元}", "unit: 亿元, years: [2021, 2022], years_as: columns}"),
     ["sections[0](basic).items[0](output).years_as", "[2021, 2022]"]),
    ("unit_in_cell_without_unit", BASE.replace("max_chars: 200}", "max_chars: 200, unit_in_cell: true}"),
     ["sections[0](basic).items[1](status)", "unit_in_cell"]),
    ("unused_unknown", BASE + "      - {id: t, type: repeat, label: 表, columns: [{id: a, label: 甲}],"
                              " fixed_rows: [{key: x, a: '......', unused: hide}]}\n",
     ["sections[0](basic).items[2](t)", "unused", "omit", "无"]),
    ("instructions_with_items", BASE.replace("layout: table", "layout: instructions"),
     ["sections[0](basic)", "instructions"]),
    ("sign_field_unknown", BASE + "      - {kind: sign, text: 年 月 日, field: date}\n",
     ["sections[0](basic).items[2].field", "“date”"]),
    ("cover_title_reference", BASE.replace("attachment: 附件1", "attachment: 附件1\ncover_title: ${basic.name}总结"),
     ["cover_title", "${basic.name}"]),
]


@pytest.mark.parametrize(("name", "text", "expected"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_definition_names_file_place_and_field(tmp_path: Path, name: str, text: str,
                                                      expected: list[str]) -> None:
    p = tmp_path / f"{name}.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(FormDefinitionError) as info:
        load_form(p)
    lines = info.value.problems
    assert lines
    assert all(line.startswith(f"{p.name}: ") for line in lines), lines
    joined = "\n".join(lines)
    for part in expected:
        assert part in joined, f"“{part}” not named in:\n{joined}"
    # the catalog reports the same lines (strict, as forms check), and otherwise leaves the file out
    # with one line naming it and its first problem
    with pytest.raises(FormDefinitionError) as info2:
        Catalog.load(tmp_path, strict=True)
    assert info2.value.problems == lines
    lenient = Catalog.load(tmp_path)
    assert len(lenient) == 0 and [b.path for b in lenient.bad_files] == [p]
    assert str(p) in lenient.bad_files[0].line and lines[0].split(": ", 1)[1] in lenient.bad_files[0].line


def test_definition_not_in_utf8_names_the_file(tmp_path: Path) -> None:
    p = tmp_path / "gbk.yaml"
    p.write_bytes(BASE.encode("gbk"))
    with pytest.raises(FormDefinitionError) as info:
        load_form(p)
    assert info.value.problems == ["gbk.yaml: 文件不是 UTF-8 编码"]


# -- (d) ids and keys -----------------------------------------------------------------------


def _dupes(xs: list[str]) -> set[str]:
    return {x for x in xs if xs.count(x) > 1}


@pytest.mark.parametrize("form_id", sorted(FORM_IDS))
def test_ids_are_unique(forms_catalog: Catalog, form_id: str) -> None:
    fd = forms_catalog.get(form_id)
    assert not _dupes([s.id for s in fd.sections])
    assert not _dupes([c.key for c in fd.cells])
    for s in fd.sections:
        assert not _dupes([f.id for f in s.fields()]), s.id
        for f in s.fields():
            assert not _dupes([c.id for c in f.columns]), f.id
            assert not _dupes([r["key"] for r in f.fixed_rows]), f.id
            assert not _dupes([r.key for r in f.rows]) and not _dupes([c.key for c in f.cols]), f.id


def _targets_keys(fd: FormDef, field_key: str) -> list[str]:
    _, table = fd.field(field_key)
    return [r["key"] for r in table.fixed_rows]


def test_shanghai_targets_rows_use_the_chongqing_keys(forms_catalog: Catalog) -> None:
    sh = forms_catalog.get("sh-2023-annual-report")
    cq = forms_catalog.get("cq-2024-application")
    sh_keys = _targets_keys(sh, "work.targets")
    cq_keys = _targets_keys(cq, "plan.targets")
    assert sh_keys, "the Shanghai targets table has no fixed rows"
    assert set(sh_keys) <= set(cq_keys), set(sh_keys) - set(cq_keys)
    # the same indicator has the same key in both tables
    _, sh_table = sh.field("work.targets")
    _, cq_table = cq.field("plan.targets")
    cq_by_key = {r["key"]: r for r in cq_table.fixed_rows}
    for row in sh_table.fixed_rows:
        assert row["direction"] == cq_by_key[row["key"]]["direction"], row
        if "indicator" in row:
            assert row["indicator"] == cq_by_key[row["key"]]["indicator"], row


_LIST_NOTE = re.compile(r"需附.*(名单|清单)")


def test_every_list_note_has_a_list(forms_catalog: Catalog) -> None:
    """Each 需附名单 / 需附清单 / 需附标准清单 / 需附分支机构名单 count has a repeat linked to it."""
    fd = forms_catalog.get("sh-2023-annual-report")
    linked = {f.list_for for s in fd.sections for f in s.fields() if f.list_for}
    for s in fd.sections:
        for f in s.fields():
            if any(_LIST_NOTE.search(n) for n in f.notes):
                assert f"{s.id}.{f.id}" in linked, f"{s.id}.{f.id} needs a list (list_for)"
    for key in linked:
        assert fd.field(key)[1].type in ("integer", "matrix"), key


# -- demo data of these forms ----------------------------------------------------------------

DEMO_FORMS = ["cq-2024-summary", "sh-2023-annual-report", "sh-2023-district-summary"]


@pytest.mark.parametrize("form_id", DEMO_FORMS)
def test_demo_data_fits_its_form(forms_catalog: Catalog, form_id: str) -> None:
    data = json.loads((DEMO / f"{form_id}.json").read_text(encoding="utf-8"))
    fd = forms_catalog.get(form_id)
    assert data["form"] == form_id and data["version"] == fd.version
    # Every value is already in its stored form (parsing changes nothing) and the core finds no error.
    from clusterdesk.model.rules import Answers, validate
    from clusterdesk.service import parse_cell

    stored = {k: parse_cell(fd, k, v) for k, v in data["answers"].items()}
    drift = [k for k, v in data["answers"].items()
             if stored[k] != v and not (isinstance(v, str) and fd.cell(k).field.type in ("text", "narrative"))]
    assert not drift, drift
    errors = [str(p) for p in validate(fd, Answers(fd, stored)) if p.level == "error"]
    assert not errors, "\n".join(errors)
    assert fd.display_title(stored)

"""Loading form definitions, and the compiled view every renderer uses.

Pipeline (after pyxform): YAML file → typed ``Form`` (pydantic, frozen) → cross-reference checks
→ :class:`FormDef` with the answer cells in form order. The wizard, the store, the templates and
the Word/Excel exports are all renderers of a ``FormDef``.

An error in a definition names the file, the path inside it and the field, one line per problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from collections.abc import Iterator, Mapping
from typing import Any, Iterable

from pydantic import ValidationError

from clusterdesk.errors import ClusterDeskError, NotFound
from clusterdesk.safeio import UnsafeFile, read_bounded

from . import expr as E
from .schema import Field, Form, Group, MatrixAxis, Notice, Section, Sign
from .values import Spec


#: A definition is a few dozen KB (the largest shipped one: 35 KB); a file a user installs is
#: read whole, so it is capped.
MAX_DEFINITION_BYTES = 4 * 1024 * 1024


class FormDefinitionError(ClusterDeskError):
    """A definition file is not valid. ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(problems)


def colon_join(label: str, text: str) -> str:
    """``label：text``, as messages name a place. Some of the forms' labels end in a full stop
    (“总体思路。”, word for word from the notice); the colon takes its place rather than
    following it: “总体思路。” + “…” → “总体思路：…”."""
    return f"{label.rstrip().rstrip('。：:')}：{text}"


@dataclass(frozen=True)
class Cell:
    """One answerable (or computed) place of the form."""

    key: str  # e.g. industry.total_output.2021
    section: Section
    field: Field
    year: int | None = None
    row: MatrixAxis | None = None
    col: MatrixAxis | None = None
    name: str = ""  # the field's full name (FormDef.full_label), e.g. 集群运营管理机构 · 联系人

    @property
    def field_key(self) -> str:
        return f"{self.section.id}.{self.field.id}"

    @property
    def column(self) -> str | None:
        """The column heading as printed: 2021年, or 2021年 · 国际 · 主持数量."""
        parts = []
        if self.year is not None:
            parts.append(f"{self.year}年")
        if self.row is not None:
            parts.append(self.row.label)
        if self.col is not None:
            parts.append(self.col.label)
        return " · ".join(parts) or None

    @property
    def answerable(self) -> bool:
        return not self.field.readonly

    @property
    def spec(self) -> Spec:
        return Spec.of(self.field)

    @property
    def where(self) -> str:
        """How messages name this cell: ``二、主导产业情况 · 集群总产值（亿元） 2021年``, or with the row the
        field belongs to: ``一、基本情况 · 集群运营管理机构 · 联系人``."""
        col = f" {self.column}" if self.column else ""
        return f"{self.section.title} · {self.name or self.field.label}{col}"


def _cells_of(section: Section, field: Field, name: str = "") -> Iterator[Cell]:
    base = f"{section.id}.{field.id}"
    if field.type == "matrix":
        for y in field.years or (None,):
            for r in field.rows:
                for c in field.cols:
                    parts = [base] + ([str(y)] if y is not None else []) + [r.key, c.key]
                    yield Cell(".".join(parts), section, field, y, r, c, name)
    elif field.years:
        for y in field.years:
            yield Cell(f"{base}.{y}", section, field, y, name=name)
    else:
        yield Cell(base, section, field, name=name)


class FormDef:
    """A loaded, checked form definition with lookups by cell and field key."""

    def __init__(self, form: Form, source: Path | None = None):
        self.form = form
        self.source = source

    # -- basic facts -----------------------------------------------------------------
    @property
    def id(self) -> str:
        return self.form.id

    @property
    def version(self) -> int:
        return self.form.version

    @property
    def title(self) -> str:
        return self.form.title

    @property
    def sections(self) -> tuple[Section, ...]:
        return self.form.sections

    @cached_property
    def cells(self) -> tuple[Cell, ...]:
        names = self._full_labels
        return tuple(c for s in self.sections for f in s.fields()
                     for c in _cells_of(s, f, names[f"{s.id}.{f.id}"]))

    @cached_property
    def _full_labels(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for s in self.sections:
            by_id = {f.id: f for f in s.fields()}

            def name(f: Field, depth: int = 0) -> str:
                parent = by_id.get(f.of) if f.of else None
                if parent is None or parent is f or depth > 8:
                    return f.label
                return f"{name(parent, depth + 1)} · {f.label}"

            for f in s.fields():
                out[f"{s.id}.{f.id}"] = name(f)
        return out

    def full_label(self, field_key: str) -> str:
        """A field's name for users: its label after the label of the field whose row it belongs to
        (``of``): ``集群运营管理机构 · 联系人``, ``大宗工业固废综合利用率（%） · 是否高于行业平均水平``.
        Messages, templates, the lists workbook and the wizard all name fields with it."""
        return self._full_labels[field_key]

    @cached_property
    def _cell_index(self) -> dict[str, Cell]:
        return {c.key: c for c in self.cells}

    @cached_property
    def _field_index(self) -> dict[str, tuple[Section, Field]]:
        return {f"{s.id}.{f.id}": (s, f) for s in self.sections for f in s.fields()}

    def cell(self, key: str) -> Cell:
        return self._cell_index[key]

    def has_cell(self, key: str) -> bool:
        return key in self._cell_index

    def field(self, field_key: str) -> tuple[Section, Field]:
        return self._field_index[field_key]

    def has_field(self, field_key: str) -> bool:
        return field_key in self._field_index

    @cached_property
    def renames(self) -> dict[str, str]:
        """Field keys of earlier versions (``renamed_from``) → the field key of this version."""
        return {(old if "." in old else f"{s.id}.{old}"): f"{s.id}.{f.id}"
                for s in self.sections for f in s.fields() for old in f.renamed_from}

    def current_key(self, key: str) -> str | None:
        """The cell key of this version for a key an earlier version stored: the key itself, or
        the same cell of the field that was renamed from it; None if the field is gone."""
        if self.has_cell(key):
            return key
        parts = key.split(".")
        new = self.renames.get(".".join(parts[:2]))
        if new is None:
            return None
        moved = ".".join([new, *parts[2:]])
        return moved if self.has_cell(moved) else None

    def cells_of(self, field_key: str) -> list[Cell]:
        s, f = self.field(field_key)
        return list(_cells_of(s, f, self._full_labels[field_key]))

    def section(self, section_id: str) -> Section:
        for s in self.sections:
            if s.id == section_id:
                return s
        raise KeyError(section_id)

    def section_of(self, key: str) -> Section:
        return self.section(key.split(".", 1)[0])

    @cached_property
    def answerable_cells(self) -> tuple[Cell, ...]:
        return tuple(c for c in self.cells if c.answerable)

    @cached_property
    def dependents(self) -> dict[str, tuple[str, ...]]:
        """cell key → keys of computed cells that read it (for refreshing the UI)."""
        out: dict[str, list[str]] = {}
        for c in self.cells:
            derived = c.field.calculation or c.field.default
            if derived:
                for r in E.refs(derived):
                    out.setdefault(r, []).append(c.key)
        return {k: tuple(v) for k, v in out.items()}

    def instruction(self, number: int) -> str | None:
        prefix = f"{number}."
        for line in self.form.instructions:
            if line.startswith(prefix):
                return line
        return None

    def help_text(self, field: Field) -> str:
        lines = [field.hint] if field.hint else []
        lines += [t for t in (self.instruction(n) for n in field.help_refs) if t]
        return "\n".join(lines)

    def display_title(self, answers: dict[str, Any]) -> str:
        if self.form.title_field:
            v = answers.get(self.form.title_field)
            if isinstance(v, str) and v.strip():
                return v.strip()
        return ""

    def __repr__(self) -> str:
        return f"<FormDef {self.id} v{self.version}>"


# -- loading -----------------------------------------------------------------------------


def _loc(data: Any, loc: tuple[Any, ...]) -> str:
    """Render a pydantic error location as a path, naming ids where the data has them."""
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            if isinstance(node, list) and 0 <= part < len(node):
                node = node[part]
                if isinstance(node, dict) and node.get("id"):
                    out += f"({node['id']})"
            else:
                node = None
        elif part in ("field", "heading", "note", "sign", "group"):
            continue  # discriminator tags
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out or "(顶层)"


_ZH = {
    "missing": "缺少必填项",
    "extra_forbidden": "不认识的键（拼写错误，或本程序版本不支持）",
    "string_type": "应为文字",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "decimal_parsing": "应为数字",
    "decimal_type": "应为数字",
    "float_parsing": "应为数字",
    "list_type": "应为列表",
    "tuple_type": "应为列表",
    "dict_type": "应为映射（键: 值）",
    "model_type": "应为映射（键: 值）",
    "union_tag_invalid": "kind 应为 field、heading、note、sign 或 group",
    "date_from_datetime_parsing": "应为日期，例如 2023-12-31",
    "date_parsing": "应为日期，例如 2023-12-31",
    "date_type": "应为日期，例如 2023-12-31",
}


def _zh(err: Mapping[str, Any]) -> str:
    """A pydantic error in the form author's language."""
    t = err.get("type", "")
    if t == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    if t == "literal_error":
        expected = (err.get("ctx") or {}).get("expected", "")
        return f"取值“{err.get('input')}”无效，应为 {expected}"
    if t == "string_pattern_mismatch":
        return f"“{err.get('input')}”格式不对（只能用小写字母、数字和下划线，且以字母开头）"
    return _ZH.get(t, f"取值无效（{err.get('msg')}）")


def _cross_check(fd: FormDef, name: str) -> list[str]:
    """Checks the schema alone cannot make: unique ids, references that must exist."""
    problems: list[str] = []
    form = fd.form
    seen_sections: set[str] = set()
    for si, s in enumerate(form.sections):
        if s.id in seen_sections:
            problems.append(f"{name}: sections[{si}]({s.id}).id: 章节 id 重复")
        seen_sections.add(s.id)
        seen: set[str] = set()
        for f in s.fields():
            if f.id in seen:
                problems.append(f"{name}: sections[{si}]({s.id}) 中的栏目 id “{f.id}” 重复")
            seen.add(f.id)
            for attr in ("calculation", "default", "relevant"):
                ex = getattr(f, attr)
                if not ex:
                    continue
                try:
                    E.compile_expr(ex)
                except E.ExprError as e:
                    problems.append(f"{name}: {s.id}.{f.id}.{attr}: {e}")
                    continue
                for r in E.refs(ex):
                    if not fd.has_cell(r) and not fd.has_field(r):
                        problems.append(f"{name}: {s.id}.{f.id}.{attr}: 引用了不存在的栏目 ${{{r}}}")
            if f.list_for and not fd.has_field(f.list_for):
                problems.append(f"{name}: {s.id}.{f.id}.list_for: 不存在的栏目“{f.list_for}”")
        problems.extend(_layout_problems(form, s, si, name))

    def check_compare(where: str, c: Any) -> None:
        for attr in ("field", "other"):
            ref = getattr(c, attr)
            if ref and not fd.has_field(ref):
                problems.append(f"{name}: {where}.{attr}: 不存在的栏目“{ref}”")
        if c.field and c.column and not fd.has_cell(f"{c.field}.{c.column}"):
            problems.append(f"{name}: {where}.column: 栏目“{c.field}”没有“{c.column}”这一列")
        if c.expr:
            try:
                E.compile_expr(c.expr)
            except E.ExprError as e:
                problems.append(f"{name}: {where}.expr: {e}")
                return
            for r in E.refs(c.expr):
                if not fd.has_cell(r) and not fd.has_field(r):
                    problems.append(f"{name}: {where}.expr: 引用了不存在的栏目 ${{{r}}}")

    for i, cond in enumerate(form.eligibility):
        for j, c in enumerate(cond.all_of + cond.any_of):
            check_compare(f"eligibility[{i}]({cond.id})[{j}]", c)
    for i, ch in enumerate(form.checks):
        check_compare(f"checks[{i}]({ch.id}).compare", ch.compare)
    if form.title_field and not fd.has_cell(form.title_field):
        problems.append(f"{name}: title_field: 不存在的栏目“{form.title_field}”")
    if form.targets:
        t = form.targets
        if not fd.has_field(t.table):
            problems.append(f"{name}: targets.table: 不存在的栏目“{t.table}”")
        else:
            _, table = fd.field(t.table)
            col_ids = {c.id for c in table.columns}
            keys = {r["key"] for r in table.fixed_rows}
            for attr in ("baseline_column", "target_column"):
                if getattr(t, attr) not in col_ids:
                    problems.append(f"{name}: targets.{attr}: 表中没有“{getattr(t, attr)}”列")
            for i, rule in enumerate(t.rules):
                if rule.row not in keys:
                    problems.append(f"{name}: targets.rules[{i}]({rule.id}).row: 表中没有固定行“{rule.row}”")
    def need(where: str, key: str) -> None:
        if not fd.has_cell(key):
            problems.append(f"{name}: {where}: 不存在的栏目“{key}”")

    def need_expr(where: str, ex: str, owner: FormDef | None) -> None:
        try:
            E.compile_expr(ex)
        except E.ExprError as e:
            problems.append(f"{name}: {where}: {e}")
            return
        if owner is not None:
            for r in E.refs(ex):
                if not owner.has_cell(r):
                    problems.append(f"{name}: {where}: 引用了不存在的栏目 ${{{r}}}")

    for i, pf in enumerate(form.prefill):
        for j, pf_field in enumerate(pf.fields):
            need(f"prefill[{i}]({pf.id}).fields[{j}].to", pf_field.to)
            need_expr(f"prefill[{i}]({pf.id}).fields[{j}].expr", pf_field.expr, None)
        for j, pf_table in enumerate(pf.tables):
            need(f"prefill[{i}]({pf.id}).tables[{j}].to", pf_table.to)
        for j, sy in enumerate(pf.same_year):
            if not fd.has_field(sy.to):
                problems.append(f"{name}: prefill[{i}]({pf.id}).same_year[{j}].to: 不存在的栏目“{sy.to}”")
    for i, cc in enumerate(form.change_checks):
        for attr in ("field", "subject", "note_field"):
            if getattr(cc, attr):
                need(f"change_checks[{i}].{attr}", getattr(cc, attr))
        if cc.prefill not in {p.id for p in form.prefill}:
            problems.append(f"{name}: change_checks[{i}].prefill: 没有 id 为“{cc.prefill}”的 prefill")
    if form.achievement:
        a = form.achievement
        need("achievement.table", a.table)
        for row, ex in a.actuals.items():
            need_expr(f"achievement.actuals.{row}", ex, fd)
    for i, co in enumerate(form.carry_over):
        if not fd.has_cell(co.to) and not fd.has_field(co.to):
            problems.append(f"{name}: carry_over[{i}]: 不存在的栏目“{co.to}”")
    if form.achievement:
        a = form.achievement
        if fd.has_cell(a.table):
            table = fd.cell(a.table).field
            col_ids = {c.id for c in table.columns}
            keys = {r["key"] for r in table.fixed_rows}
            for attr in ("target_column", "actual_column", "group_column"):
                col = getattr(a, attr)
                if col and col not in col_ids:
                    problems.append(f"{name}: achievement.{attr}: 表中没有“{col}”列")
            for attr in ("actuals", "formulas", "lower_is_better", "qualitative"):
                for row in getattr(a, attr):
                    if row not in keys:
                        problems.append(f"{name}: achievement.{attr}: 表中没有固定行“{row}”")
    problems.extend(_help_ref_problems(fd, name))
    problems.extend(_rename_problems(fd, name))
    if form.cover_title:
        for r in _TITLE_REF.findall(form.cover_title):
            if not fd.has_cell(r):
                problems.append(f"{name}: cover_title: 引用了不存在的栏目 ${{{r}}}")
    problems.extend(_district_problems(fd, name))
    return problems


def _district_problems(fd: FormDef, name: str) -> list[str]:
    """A district form's ``district`` keys: header fields are text cells of this form, the table is
    a repeat with the named columns, and the expressions parse (what they read is checked against
    the notice's cluster form in :func:`_cross_form_check`)."""
    d = fd.form.district
    if d is None:
        return []
    out: list[str] = []
    for attr in ("authority", "contact", "phone", "district"):
        key = getattr(d, attr)
        if key is None:
            continue
        if not fd.has_cell(key) or not fd.cell(key).answerable:
            out.append(f"{name}: district.{attr}: 不存在的栏目“{key}”（应为本表中可填写的栏目）")
        elif fd.cell(key).field.type not in ("text", "narrative"):
            out.append(f"{name}: district.{attr}: 栏目“{key}”应为文字栏目")
    if d.clusters is None:
        return out
    if not fd.has_cell(d.clusters) or fd.cell(d.clusters).field.type != "repeat":
        return out + [f"{name}: district.clusters: “{d.clusters}”不是本表中的表格（repeat）栏目"]
    col_ids = {c.id for c in fd.cell(d.clusters).field.columns}
    for i, col in enumerate(d.columns):
        at = f"{name}: district.columns[{i}]({col.column})"
        if col.column not in col_ids:
            out.append(f"{at}.column: 表格“{d.clusters}”没有“{col.column}”列")
        for j, ex in enumerate(col.value):
            try:
                E.compile_expr(ex)
            except E.ExprError as e:
                out.append(f"{at}.value[{j}]: {e}")
    for i, c in enumerate(d.officer):
        if c not in col_ids:
            out.append(f"{name}: district.officer[{i}]: 表格“{d.clusters}”没有“{c}”列")
    return out


_TITLE_REF = re.compile(r"\$\{([a-z0-9_.]+)\}")


def _help_ref_problems(fd: FormDef, name: str) -> list[str]:
    """Each ``help_refs`` number must be an item of the form's 填报说明."""
    out: list[str] = []
    numbers = [ln.split(".", 1)[0].strip() for ln in fd.form.instructions]
    for si, s in enumerate(fd.sections):
        for f in s.fields():
            for n in f.help_refs:
                if fd.instruction(n) is None:
                    have = "、".join(x for x in numbers if x.isdigit()) or "无"
                    out.append(f"{name}: sections[{si}]({s.id}).{f.id}.help_refs: 填报说明中没有第 {n} 条"
                               f"（现有：{have}）")
    return out


def _rename_problems(fd: FormDef, name: str) -> list[str]:
    """``renamed_from``: an old id may not be a field of this version, nor claimed twice."""
    out: list[str] = []
    claimed: dict[str, str] = {}
    for s in fd.sections:
        for f in s.fields():
            for old in f.renamed_from:
                key = old if "." in old else f"{s.id}.{old}"
                here = f"{s.id}.{f.id}"
                if fd.has_field(key):
                    out.append(f"{name}: {here}.renamed_from: “{key}”仍是本版本的栏目，不能作为旧 id")
                elif key in claimed:
                    out.append(f"{name}: {here}.renamed_from: “{key}”已由“{claimed[key]}”声明")
                else:
                    claimed[key] = here
    return out


def _layout_problems(form: Form, s: Section, si: int, name: str) -> list[str]:
    """The layout of one section: what ``of``, ``place``, ``years_as`` and a sign's ``field`` refer to."""
    out: list[str] = []
    where = f"{name}: sections[{si}]({s.id})"
    if s.layout == "instructions" and not form.instructions:
        out.append(f"{where}.layout: layout: instructions 需要表单的 instructions（填报说明）")
    ids = [f.id for f in s.fields()]

    def check_run(items: tuple[Any, ...], path: str) -> None:
        before: list[Field] = []
        for i, item in enumerate(items):
            if isinstance(item, Group):
                check_run(item.items, f"{path}[{i}].items")
                before = []
                continue
            if isinstance(item, Sign) and item.field and item.field not in ids:
                out.append(f"{where}{path}[{i}].field: 本部分没有栏目“{item.field}”")
            if not isinstance(item, Field):
                before = []
                continue
            f = item
            at = f"{where}{path}[{i}]({f.id})"
            if f.of is not None:
                if f.of == f.id or f.of not in ids:
                    out.append(f"{at}.of: 本部分没有栏目“{f.of}”（of 应为本部分中在它之前的另一个栏目）")
                elif f.of not in ids[:ids.index(f.id)]:
                    out.append(f"{at}.of: “{f.of}”须在本栏目之前")
                elif f.place in ("below", "within") and not (
                        before and (before[-1].id == f.of or (before[-1].of == f.of and before[-1].place != "row"))):
                    out.append(f"{at}.place: place: {f.place} 的栏目须紧随“{f.of}”（或同属它的栏目）之后")
            if f.place != "row" and s.layout != "table":
                out.append(f"{at}.place: place: {f.place} 只适用于 layout: table")
            if f.place == "beside" and (not before or before[-1].place not in ("row", "beside")
                                       or before[-1].type in ("matrix", "repeat", "boxes", "narrative")
                                       or f.type in ("matrix", "repeat", "boxes", "narrative") or f.years):
                out.append(f"{at}.place: place: beside 只能跟在同一行的简单栏目（文字、数字、单选）之后")
            if f.years_as == "columns" and not set(f.years) <= set(s.years):
                out.append(f"{at}.years_as: years_as: columns 需要本部分的 years 包含 {list(f.years)}")
            before.append(f)

    check_run(s.items, ".items")
    return out


def _cross_form_check(forms: dict[str, FormDef]) -> list[tuple[str, str]]:
    """(form id, problem) for references from one definition into another (prefill sources)."""
    problems: list[tuple[str, str]] = []
    families = {f.form.family for f in forms.values() if f.form.family}
    for fd in forms.values():
        name = fd.source.name if fd.source else fd.id
        for i, pf in enumerate(fd.form.prefill):
            at = f"{name}: prefill[{i}]({pf.id}).source_form"
            if pf.previous_year:
                if pf.source_form not in families:
                    problems.append((fd.id, f"{at}: 没有 family 为“{pf.source_form}”的表单"))
                elif pf.source_form != fd.form.family:
                    problems.append((fd.id, f"{at}: previous_year 的来源应为本表单的 family“{fd.form.family}”"))
                continue
            src = forms.get(pf.source_form)
            if src is None:
                problems.append((fd.id, f"{at}: 未知的表单“{pf.source_form}”"
                                        f"（已加载的表单：{'、'.join(sorted(forms)) or '无'}）"))
                continue
            for j, f in enumerate(pf.fields):
                for r in E.refs(f.expr):
                    if src.current_key(r) is None:  # renamed_from in a later source version: still found
                        problems.append((fd.id, f"{name}: prefill[{i}]({pf.id}).fields[{j}].expr: “{src.id}”中没有栏目 ${{{r}}}"))
            for j, t in enumerate(pf.tables):
                if src.current_key(t.source) is None:
                    problems.append((fd.id, f"{name}: prefill[{i}]({pf.id}).tables[{j}].source: “{src.id}”中没有栏目“{t.source}”"))
            for j, sy in enumerate(pf.same_year):
                if not src.has_field(src.renames.get(sy.from_, sy.from_)):
                    problems.append((fd.id, f"{name}: prefill[{i}]({pf.id}).same_year[{j}].from: “{src.id}”中没有栏目“{sy.from_}”"))
        problems.extend((fd.id, p) for p in _district_cross_problems(fd, name, forms))
    return problems


def _district_cross_problems(fd: FormDef, name: str, forms: dict[str, FormDef]) -> list[str]:
    """What a district form's columns read must be cells of the cluster forms of its notice."""
    d = fd.form.district
    if d is None or not d.columns:
        return []
    notice = fd.form.notice.id
    clusters = [f for f in forms.values() if f.form.role == "cluster" and f.form.notice.id == notice]
    if not clusters:
        return [f"{name}: district: 通知“{notice}”没有集群填写的表单（role: cluster），无法从集群材料填入汇总表"]
    out: list[str] = []
    for i, col in enumerate(d.columns):
        for j, ex in enumerate(col.value):
            try:
                keys = E.refs(ex)
            except E.ExprError:
                continue
            for src in clusters:
                for r in keys:
                    if not src.has_cell(r):
                        out.append(f"{name}: district.columns[{i}]({col.column}).value[{j}]: “{src.id}”中没有栏目 ${{{r}}}")
    return out


# What PyYAML says about a malformed file, in Chinese (the first match wins).
_YAML_PROBLEMS = (
    ("mapping values are not allowed", "此处不能写“名称: 值”（冒号后是否少了空格，或缩进不对？）"),
    ("could not find expected ':'", "缺少冒号"),
    ("did not find expected ',' or ']'", "方括号列表没有正确结束（缺少逗号或 ]）"),
    ("did not find expected ',' or '}'", "花括号没有正确结束（缺少逗号或 }）"),
    ("tab character", "不能用 Tab 缩进，请用空格"),
    ("found character '\\t'", "不能用 Tab 缩进，请用空格"),
    ("expected <block end>", "缩进不一致"),
    ("did not find expected key", "缩进不一致"),
    ("did not find expected '-' indicator", "列表项的缩进不一致"),
    ("found unexpected end of stream", "文件意外结束（引号是否没有闭合？）"),
    ("found unknown escape character", "无效的转义字符"),
    ("found undefined alias", "引用了未定义的别名（*）"),
    ("expected a single document", "文件中只能有一份定义"),
    ("found character", "此处有不能出现的字符"),
)


def yaml_problem(problem: str | None) -> str:
    """PyYAML's description of a syntax error (``could not find expected ':'``) in Chinese."""
    text = problem or ""
    return next((zh for en, zh in _YAML_PROBLEMS if en in text), "格式不正确")


def _loaded_text(path: Path) -> str | None:
    """A definition's (or an official text's) text, bounded; None if it cannot be read."""
    try:
        return read_bounded(Path(path), MAX_DEFINITION_BYTES).decode("utf-8")
    except (OSError, UnsafeFile, UnicodeDecodeError):
        return None


#: The forms this process loaded, by file and content (the cache's key): a catalog loaded again
#: (after the data folder is known, after an install) does not check an unchanged file again.
_loaded: dict[tuple[str, str], FormDef] = {}
_MAX_LOADED = 64


def load_form(path: Path | str, *, cache: bool = True) -> FormDef:
    """Load and check one definition file; raises FormDefinitionError listing every problem.

    ``cache``: use what this process, or an earlier start (:mod:`.formcache`), found for the same
    bytes of the file, instead of parsing and checking them again."""
    path = Path(path)
    name = path.name
    try:
        raw_bytes = read_bounded(path, MAX_DEFINITION_BYTES)  # a pipe or /dev/zero is refused, not read
    except UnsafeFile as e:
        raise FormDefinitionError([f"{name}: {e}"]) from None
    except OSError as e:
        from clusterdesk.fsutil import os_reason

        raise FormDefinitionError([f"{name}: 无法读取文件（{os_reason(e)}）"]) from None
    if not cache:
        return _checked(path, raw_bytes)
    from . import formcache

    entry = formcache.key(raw_bytes)  # one hash of the bytes, for the memo and the cache alike
    memo = (str(path), entry)
    fd = _loaded.get(memo)
    if fd is None:
        folder = formcache.cache_dir()
        form = formcache.read(entry, folder)
        if form is not None:
            fd = FormDef(form, path)
        else:
            fd = _checked(path, raw_bytes)
            formcache.write(entry, fd.form, folder)
        if len(_loaded) >= _MAX_LOADED:
            _loaded.clear()
        _loaded[memo] = fd
    return fd


def _checked(path: Path, raw_bytes: bytes) -> FormDef:
    """Parse and check a definition file's bytes (the schema, then the references inside it)."""
    import yaml

    # libyaml's safe loader when PyYAML was built with it (several times faster), else the pure-Python one.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    name = path.name
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise FormDefinitionError([f"{name}: 文件不是 UTF-8 编码"]) from None
    try:
        # an alias (*x) can make a few lines stand for billions of nodes: definitions never need one
        # (a text without "*" has none: the second parse is skipped, a third of the load's time)
        if "*" in text and any(isinstance(ev, yaml.AliasEvent) for ev in yaml.parse(text, Loader=loader)):
            raise FormDefinitionError([f"{name}: 不能使用 YAML 别名（*名称），请把内容直接写出"])
        data = yaml.load(text, Loader=loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark else ""
        raise FormDefinitionError([f"{name}: YAML 格式错误 {where}：{yaml_problem(getattr(e, 'problem', None))}"]) from None
    except ValueError as e:  # a scalar YAML reads as a date but is none, e.g. 2023-13-31
        raise FormDefinitionError([f"{name}: YAML 中的日期无效：{e}（日期请写作 2023-12-31）"]) from None
    if not isinstance(data, dict):
        raise FormDefinitionError([f"{name}: 顶层必须是一个映射（键: 值）"])
    try:
        form = Form.model_validate(data)
    except ValidationError as e:
        lines = [f"{name}: {_loc(data, tuple(err['loc']))}: {_zh(err)}" for err in e.errors()]
        raise FormDefinitionError(lines) from None
    fd = FormDef(form, path)
    problems = _cross_check(fd, name)
    if problems:
        raise FormDefinitionError(problems)
    return fd


@dataclass(frozen=True)
class Origin:
    """Where a loaded form comes from: shipped with the program (内置) or installed by the user
    (已安装, in the forms folder of the data folder)."""

    kind: str  # "shipped" | "installed"
    path: Path | None

    @property
    def label(self) -> str:
        return "内置" if self.kind == "shipped" else "已安装"


@dataclass(frozen=True)
class BadFile:
    """A definition file that was not loaded, and why (one line per problem)."""

    path: Path
    problems: tuple[str, ...]

    @property
    def line(self) -> str:
        """One Chinese line naming the file and its first problem (for stderr and the GUI)."""
        first = self.problems[0] if self.problems else "无法读取"
        first = first.removeprefix(f"{self.path.name}: ")
        more = f"（另有 {len(self.problems) - 1} 处问题）" if len(self.problems) > 1 else ""
        return (f"表单定义文件“{self.path}”有误，未加载：{first}{more}；"
                f"可运行 clusterdesk forms check \"{self.path}\" 查看")


class Catalog:
    """The forms the program knows, by id: the shipped ones and the ones the user installed.

    An installed file with the id of a shipped (or another installed) form and a higher
    ``version`` replaces it; the older definitions are kept (:meth:`older`) so a draft made on
    them can still name its retired fields. A file that cannot be loaded, or clashes with the
    forms loaded before it, is left out and named in :attr:`bad_files`: one bad file never stops
    the others."""

    def __init__(self, forms: dict[str, FormDef], *, origins: dict[str, Origin] | None = None,
                 older: dict[str, list[FormDef]] | None = None, bad_files: list[BadFile] | None = None,
                 notes: list[str] | None = None):
        self._forms = forms
        self._origins = origins or {}
        self._older = older or {}
        self.bad_files: list[BadFile] = bad_files or []
        self.notes: list[str] = notes or []  # informational lines (an installed file not used)

    @classmethod
    def load(cls, folder: Path | None = None, *, user_folder: Path | None = None, strict: bool = False) -> "Catalog":
        """The forms of ``folder`` (default: the shipped forms) and of ``user_folder`` (installed).

        ``strict``: raise FormDefinitionError listing every problem instead of leaving bad files
        out (``forms check`` and the tests)."""
        from clusterdesk.paths import forms_dir

        folder = folder or forms_dir()
        loaded: list[tuple[FormDef, Origin]] = []
        bad: list[BadFile] = []
        for kind, where in (("shipped", folder), ("installed", user_folder)):
            if where is None:
                continue
            try:
                files = sorted(Path(where).glob("*.yaml"))
            except OSError:
                files = []
            for p in files:
                try:
                    loaded.append((load_form(p), Origin(kind, p)))
                except FormDefinitionError as e:
                    bad.append(BadFile(p, tuple(e.problems)))
        forms, origins, older, more_bad, notes = _choose(loaded)
        bad.extend(more_bad)
        if strict and bad:
            raise FormDefinitionError([line for b in bad for line in b.problems])
        return cls(forms, origins=origins, older=older, bad_files=bad, notes=notes)

    def get(self, form_id: str) -> FormDef:
        try:
            return self._forms[form_id]
        except KeyError:
            known = "、".join(sorted(self._forms))
            raise NotFound(f"未知的表单“{form_id}”，可用的表单有：{known}") from None

    def __contains__(self, form_id: object) -> bool:
        return form_id in self._forms

    def __iter__(self) -> Iterator[FormDef]:
        return iter(sorted(self._forms.values(), key=lambda f: f.id))

    def __len__(self) -> int:
        return len(self._forms)

    def origin(self, form_id: str) -> Origin:
        return self._origins.get(form_id) or Origin("shipped", self._forms[form_id].source)

    def older(self, form_id: str) -> list[FormDef]:
        """The earlier versions of a form still known (newest first): a shipped definition an
        installed one replaced, or an installed file kept under ``<id>.v<N>.yaml``."""
        return list(self._older.get(form_id, []))

    def family(self, family: str, year: int) -> FormDef | None:
        """The form of a family (e.g. sh-annual-report) for a report year, if one is loaded."""
        for fd in self._forms.values():
            if fd.form.family == family and fd.form.year == year:
                return fd
        return None

    def shares_title(self, form: FormDef) -> bool:
        """Another loaded form has the same title (next year's edition of the same document):
        names then carry the form's year."""
        return any(f.id != form.id and f.title == form.title for f in self._forms.values())


def _choose(loaded: list[tuple[FormDef, Origin]]) -> tuple[dict[str, FormDef], dict[str, Origin],
                                                          dict[str, list[FormDef]], list[BadFile], list[str]]:
    """Pick one definition per id (the highest version; a shipped one before an installed one of
    the same version), then leave out every one that does not fit with the others (a prefill
    source that is not loaded, a notice that says something else than the same notice in an
    earlier file, two forms of one family and year), falling back to an older version."""
    bad: list[BadFile] = []
    notes: list[str] = []
    by_id: dict[str, list[tuple[FormDef, Origin]]] = {}
    for fd, origin in loaded:
        by_id.setdefault(fd.id, []).append((fd, origin))
    for form_id, cands in list(by_id.items()):
        cands.sort(key=lambda c: (-c[0].version, c[1].kind != "shipped"))
        kept: list[tuple[FormDef, Origin]] = []
        for fd, origin in cands:
            same = next((k for k in kept if k[0].version == fd.version), None)
            if same is not None:
                p = origin.path or Path(fd.id)
                other = same[1].path.name if same[1].path else form_id
                if same[1].kind == origin.kind:
                    bad.append(BadFile(p, (f"{p.name}: id “{form_id}” 与 {other} 重复"
                                           f"（版本同为 {fd.version}）",)))
                else:
                    bad.append(BadFile(p, (f"{p.name}: id “{form_id}” 版本 {fd.version} 与程序自带的表单相同，"
                                           f"已安装的文件须使用更高的 version",)))
                continue
            kept.append((fd, origin))
        by_id[form_id] = kept
    while True:
        winners = {fid: cands[0] for fid, cands in by_id.items() if cands}
        failed = _misfits(winners)
        if not failed:
            break
        for fid, problems in failed.items():
            fd, origin = by_id[fid].pop(0)
            bad.append(BadFile(origin.path or Path(fid), tuple(problems)))
    forms = {fid: c[0] for fid, c in winners.items()}
    origins = {fid: c[1] for fid, c in winners.items()}
    older = {fid: [c[0] for c in cands[1:]] for fid, cands in by_id.items() if len(cands) > 1}
    for fid, cands in by_id.items():
        for fd, origin in cands[1:]:
            if origin.kind == "installed" and origin.path is not None:
                notes.append(f"已安装的“{origin.path.name}”（{fid} 版本 {fd.version}）低于正在使用的版本 "
                             f"{cands[0][0].version}，只用于读取旧版本草稿")
    return forms, origins, older, bad, notes


def _misfits(winners: dict[str, tuple[FormDef, Origin]]) -> dict[str, list[str]]:
    """Forms that do not fit with the others, by id, with their problems (at most one per round)."""
    forms = {fid: c[0] for fid, c in winners.items()}
    order = sorted(winners, key=lambda fid: (winners[fid][1].kind != "shipped", str(winners[fid][1].path or fid)))
    out: dict[str, list[str]] = {}
    for line_owner, line in _cross_form_lines(forms, order):
        out.setdefault(line_owner, []).append(line)
    if out:
        return out
    for fid, line in notice_problems([forms[f] for f in order]):
        out.setdefault(fid, []).append(line)
        return out
    return out


def _cross_form_lines(forms: dict[str, FormDef], order: list[str]) -> list[tuple[str, str]]:
    """(form id, problem) for references from one definition into another (prefill sources) and
    two forms claiming the same family and year."""
    out: list[tuple[str, str]] = list(_cross_form_check(forms))
    seen: dict[tuple[str, int], FormDef] = {}
    for fd in (forms[fid] for fid in order):
        fam = fd.form.family
        if not fam:
            continue
        other = seen.get((fam, fd.form.year))
        if other is not None:
            name = fd.source.name if fd.source else fd.id
            out.append((fd.id, f"{name}: family: “{fam}”已有 {fd.form.year} 年度的表单“{other.id}”"
                               f"（同一系列每个年度只能有一份表单）"))
        else:
            seen[(fam, fd.form.year)] = fd
    return out


_default_catalog: tuple[tuple[Any, ...], Catalog] | None = None


def _folder_state(folder: Path | None) -> tuple[tuple[str, int, int], ...]:
    """The definition files of a folder with their times and sizes: what the catalog was loaded from."""
    if folder is None:
        return ()
    try:
        return tuple(sorted((p.name, st.st_mtime_ns, st.st_size)
                            for p in folder.glob("*.yaml") for st in [p.stat()]))
    except OSError:
        return ()


def default_catalog() -> Catalog:
    """The shipped forms and the ones installed in the data folder in use (see
    :func:`clusterdesk.paths.user_forms_dir`), loaded once per process, folder and state of the
    installed files (a form installed by another window or the command line is seen)."""
    global _default_catalog
    from clusterdesk.paths import forms_dir, user_forms_dir

    user = user_forms_dir()
    key = (str(forms_dir()), str(user), _folder_state(user))
    if _default_catalog is None or _default_catalog[0] != key:
        _default_catalog = (key, Catalog.load(forms_dir(), user_folder=user))
    return _default_catalog[1]


def reload_default_catalog() -> Catalog:
    """Forget the loaded forms (after installing one) and load them again."""
    global _default_catalog
    _default_catalog = None
    return default_catalog()


# -- notices: two attachments of one notice agree on its facts --------------------------------


def definition_name(fd: FormDef) -> str:
    """How messages name a definition: its file name, or its id."""
    return fd.source.name if fd.source else fd.id




def notice_problems(forms: Iterable[FormDef]) -> list[tuple[str, str]]:
    """(form id, problem) for each fact of a notice that differs from the first form (in the order
    given) with the same notice id: two attachments of one notice must agree on its deadline,
    number, copies …"""
    first: dict[str, FormDef] = {}
    out: list[tuple[str, str]] = []
    for fd in forms:
        n = fd.form.notice
        ref = first.setdefault(n.id, fd)
        if ref is fd:
            continue
        for attr in Notice.model_fields:
            mine, theirs = getattr(n, attr), getattr(ref.form.notice, attr)
            if mine != theirs:
                out.append((fd.id, f"{definition_name(fd)}: notice.{attr}: 与同一通知（{n.id}）的另一附件“{ref.id}”"
                                   f"（{definition_name(ref)}）不一致：“{shown_value(mine)}”，那里是“{shown_value(theirs)}”"))
    return out


def shown_value(v: Any) -> str:
    if isinstance(v, tuple):
        return "、".join(map(str, v))
    return "（空）" if v is None else str(v)

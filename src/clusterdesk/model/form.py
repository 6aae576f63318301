"""Loading form definitions, and the compiled view every renderer uses.

Pipeline (after pyxform): YAML file → typed ``Form`` (pydantic, frozen) → cross-reference checks
→ :class:`FormDef` with the answer cells in form order. The wizard, the store, the templates and
the Word/Excel exports are all renderers of a ``FormDef``.

An error in a definition names the file, the path inside it and the field, one line per problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

import yaml
from pydantic import ValidationError

from clusterdesk.safeio import UnsafeFile, read_bounded

from . import expr as E
from .schema import Field, Form, MatrixAxis, Section
from .values import Spec


# libyaml's safe loader when PyYAML was built with it (several times faster), else the pure-Python one.
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: A definition is a few dozen KB (the largest shipped one: 35 KB); a file a user installs is
#: read whole, so it is capped.
MAX_DEFINITION_BYTES = 4 * 1024 * 1024


class FormDefinitionError(Exception):
    """A definition file is not valid. ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Cell:
    """One answerable (or computed) place of the form."""

    key: str  # e.g. industry.total_output.2021
    section: Section
    field: Field
    year: int | None = None
    row: MatrixAxis | None = None
    col: MatrixAxis | None = None

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
        """How messages name this cell: ``二、主导产业情况 · 集群总产值（亿元） 2021年``."""
        col = f" {self.column}" if self.column else ""
        return f"{self.section.title} · {self.field.label}{col}"


def _cells_of(section: Section, field: Field) -> Iterator[Cell]:
    base = f"{section.id}.{field.id}"
    if field.type == "matrix":
        for y in field.years or (None,):
            for r in field.rows:
                for c in field.cols:
                    parts = [base] + ([str(y)] if y is not None else []) + [r.key, c.key]
                    yield Cell(".".join(parts), section, field, y, r, c)
    elif field.years:
        for y in field.years:
            yield Cell(f"{base}.{y}", section, field, y)
    else:
        yield Cell(base, section, field)


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
        return tuple(c for s in self.sections for f in s.fields() for c in _cells_of(s, f))

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

    def cells_of(self, field_key: str) -> list[Cell]:
        s, f = self.field(field_key)
        return list(_cells_of(s, f))

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
            if c.field.calculation:
                for r in E.refs(c.field.calculation):
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
}


def _zh(err: dict[str, Any]) -> str:
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
            for attr in ("calculation", "relevant"):
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
        for j, f in enumerate(pf.fields):
            need(f"prefill[{i}]({pf.id}).fields[{j}].to", f.to)
            need_expr(f"prefill[{i}]({pf.id}).fields[{j}].expr", f.expr, None)
        for j, t in enumerate(pf.tables):
            need(f"prefill[{i}]({pf.id}).tables[{j}].to", t.to)
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
    for i, key in enumerate(form.carry_over):
        need(f"carry_over[{i}]", key)
    return problems


def _cross_form_check(forms: dict[str, FormDef]) -> list[str]:
    """References from one definition into another (prefill sources)."""
    problems: list[str] = []
    families = {f.form.family for f in forms.values() if f.form.family}
    for fd in forms.values():
        name = fd.source.name if fd.source else fd.id
        for i, pf in enumerate(fd.form.prefill):
            if pf.previous_year:
                if pf.source_form not in families:
                    problems.append(f"{name}: prefill[{i}]({pf.id}).source_form: 没有 family 为“{pf.source_form}”的表单")
                continue
            src = forms.get(pf.source_form)
            if src is None:
                problems.append(f"{name}: prefill[{i}]({pf.id}).source_form: 未知的表单“{pf.source_form}”")
                continue
            for j, f in enumerate(pf.fields):
                for r in E.refs(f.expr):
                    if not src.has_cell(r):
                        problems.append(f"{name}: prefill[{i}]({pf.id}).fields[{j}].expr: “{src.id}”中没有栏目 ${{{r}}}")
            for j, t in enumerate(pf.tables):
                if not src.has_cell(t.source):
                    problems.append(f"{name}: prefill[{i}]({pf.id}).tables[{j}].source: “{src.id}”中没有栏目“{t.source}”")
    return problems


def load_form(path: Path | str) -> FormDef:
    """Load and check one definition file; raises FormDefinitionError listing every problem."""
    path = Path(path)
    name = path.name
    try:
        raw_bytes = read_bounded(path, MAX_DEFINITION_BYTES)  # a pipe or /dev/zero is refused, not read
    except UnsafeFile as e:
        raise FormDefinitionError([f"{name}: {e}"]) from None
    except OSError as e:
        raise FormDefinitionError([f"{name}: 无法读取文件（{e.strerror or e}）"]) from None
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise FormDefinitionError([f"{name}: 文件不是 UTF-8 编码"]) from None
    try:
        # an alias (*x) can make a few lines stand for billions of nodes: definitions never need one
        if any(isinstance(ev, yaml.AliasEvent) for ev in yaml.parse(text, Loader=_YamlLoader)):
            raise FormDefinitionError([f"{name}: 不能使用 YAML 别名（*名称），请把内容直接写出"])
        data = yaml.load(text, Loader=_YamlLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark else ""
        raise FormDefinitionError([f"{name}: YAML 格式错误 {where}：{getattr(e, 'problem', e)}"]) from None
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


class Catalog:
    """The forms shipped in (or pointed to by) a forms folder, by id."""

    def __init__(self, forms: dict[str, FormDef]):
        self._forms = forms

    @classmethod
    def load(cls, folder: Path | None = None) -> "Catalog":
        from clusterdesk.paths import forms_dir

        folder = folder or forms_dir()
        forms: dict[str, FormDef] = {}
        problems: list[str] = []
        for p in sorted(folder.glob("*.yaml")):
            try:
                fd = load_form(p)
            except FormDefinitionError as e:
                problems.extend(e.problems)
                continue
            if fd.id in forms:
                problems.append(f"{p.name}: id “{fd.id}” 与 {forms[fd.id].source.name} 重复")  # type: ignore[union-attr]
            forms[fd.id] = fd
        problems.extend(_cross_form_check(forms))
        if problems:
            raise FormDefinitionError(problems)
        return cls(forms)

    def get(self, form_id: str) -> FormDef:
        try:
            return self._forms[form_id]
        except KeyError:
            known = "、".join(sorted(self._forms))
            raise KeyError(f"未知的表单“{form_id}”，可用的表单有：{known}") from None

    def __contains__(self, form_id: object) -> bool:
        return form_id in self._forms

    def __iter__(self) -> Iterator[FormDef]:
        return iter(sorted(self._forms.values(), key=lambda f: f.id))

    def __len__(self) -> int:
        return len(self._forms)

    def family(self, family: str, year: int) -> FormDef | None:
        """The form of a family (e.g. sh-annual-report) for a report year, if one is shipped."""
        for fd in self._forms.values():
            if fd.form.family == family and fd.form.year == year:
                return fd
        return None


_default_catalog: Catalog | None = None


def default_catalog() -> Catalog:
    """The shipped forms, loaded once per process."""
    global _default_catalog
    if _default_catalog is None:
        _default_catalog = Catalog.load()
    return _default_catalog

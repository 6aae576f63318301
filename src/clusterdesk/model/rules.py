"""Validation, eligibility (申报条件) and target rules: pure Python, no Qt.

Every result names its section and field label, in Chinese, e.g.
``二、主导产业情况 · 集群总产值（亿元） 2021年：23.10 亿元，低于申报条件 25 亿元``.
Errors block a final export; warnings (eligibility shortfalls, ticked boxes without evidence,
a typed value that differs from its computed value) do not.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from statistics import median
from typing import Any, Iterable, Literal

from . import expr as E
from .form import Cell, FormDef, colon_join
from .schema import Compare, Condition, Field, Plausible, TargetRule
from .values import (EMPTY_TEXT, Spec, ValueProblem, char_count, format_number, number_in_text, parse, parse_rows,
                     rounded_in_text, same_value, to_decimal)

Level = Literal["error", "warning"]


def applies(answers: "Answers | None", f: Field) -> bool:
    """Whether a field applies (its ``relevant`` holds). The rules, the print and the wizard all ask
    this one function. A broken expression counts as applying: the field is then shown and checked."""
    if not f.relevant:
        return True
    if answers is None:
        return False  # the blank form: a field that depends on an answer is not pre-printed
    try:
        return E.evaluate(f.relevant, answers.value) is True
    except Exception:
        return True



@dataclass(frozen=True)
class Problem:
    level: Level
    key: str  # cell key (or field key) the problem belongs to; the UI jumps there
    where: str  # 二、主导产业情况 · 集群总产值（亿元） 2021年
    message: str
    kind: str = "input"  # input / required / limit / evidence / check / computed / list / date / plausible / eligibility / target

    def __str__(self) -> str:
        return colon_join(self.where, self.message)


class Answers:
    """A draft's stored answers, with computed values filled in where nothing was typed."""

    def __init__(self, form: FormDef, values: dict[str, Any], notes: dict[str, str] | None = None,
                 evidence: Iterable[tuple[str, str]] = ()):
        self.form = form
        self.raw = values
        self.notes = notes or {}
        self._computed: dict[str, Any] = {}
        self.evidence: dict[tuple[str, str], int] = {}
        self.linked: dict[str, "Answers"] = {}  # prefill id → the linked source draft's answers
        for k, o in evidence:
            self.evidence[(k, o)] = self.evidence.get((k, o), 0) + 1

    def current(self, key: str) -> str:
        """The key itself, or, for a key of an earlier version (a linked draft read through another
        form's prefill), the cell of the field renamed from it (``renamed_from``)."""
        return key if self.form.has_cell(key) else (self.form.current_key(key) or key)

    def typed(self, key: str) -> Any:
        return self.raw.get(self.current(key))

    def computed(self, key: str) -> Any:
        """The value the cell's calculation (or its default) gives (Decimal, str) or None."""
        if key in self._computed:
            return self._computed[key]
        self._computed[key] = None  # guards against cycles
        cell = self.form.cell(key)
        result = None
        derived = cell.field.calculation or cell.field.default
        if derived:
            result = E.evaluate(derived, self.value)
            if isinstance(result, Decimal) and cell.field.type in ("number", "percent", "integer"):
                result = Decimal(format_number(result, cell.field.effective_decimals))
        self._computed[key] = result
        return result

    def value(self, key: str) -> Any:
        """Effective value: what was typed, else what is computed (or the default). Repeat fields
        give their rows."""
        key = self.current(key)
        v = self.raw.get(key)
        if v is not None:
            return v
        if self.form.has_cell(key):
            f = self.form.cell(key).field
            if f.calculation or f.default:
                return self.computed(key)
        return None

    def is_default(self, key: str) -> bool:
        """Whether the cell shows its default (nothing typed, and the default gives a value)."""
        return (self.raw.get(key) is None and self.form.has_cell(key)
                and bool(self.form.cell(key).field.default) and self.computed(key) is not None)

    def number(self, key: str) -> Decimal | None:
        return to_decimal(self.value(key))

    def evidence_count(self, key: str, option: str) -> int:
        return self.evidence.get((key, option), 0)


# -- per-cell checks ---------------------------------------------------------------------


def _is_relevant(ans: Answers, f: Field) -> bool:
    return applies(ans, f)  # the one notion of “applies”, shared with the print and the wizard


def check_cell(form: FormDef, cell: Cell, ans: Answers) -> list[Problem]:
    """Problems of one cell on its own: required, type, limits, evidence, computed mismatch."""
    f = cell.field
    out: list[Problem] = []
    if not cell.answerable or not _is_relevant(ans, f):
        return out
    raw = ans.typed(cell.key)
    where = cell.where
    if f.type == "repeat":
        try:
            rows = parse_rows(raw, f)
        except ValueProblem as e:
            return [Problem("error", cell.key, where, str(e))]
        rows = rows or []
        data_rows = [r for r in rows if set(r) - {"key"}]
        if f.required and len(data_rows) < max(1, f.min_rows):
            out.append(Problem("error", cell.key, where, "必填栏目不得空缺，无相关情况时应填写“无”", "required"))
        for i, row in enumerate(rows, start=1):
            fixed = "key" in row
            for col in f.columns:
                v = row.get(col.id)
                if col.required and v is None and not fixed and col.auto is None:
                    out.append(Problem("error", cell.key, where, f"第{i}行“{col.label}”不能为空", "required"))
                if col.max_chars and isinstance(v, str) and char_count(v) > col.max_chars:
                    out.append(Problem("error", cell.key, where,
                                       f"第{i}行“{col.label}”超过{col.max_chars}字（现 {char_count(v)} 字）", "limit"))
                suggestion = rounded_in_text(v) if col.type == "value" else None
                if suggestion is not None:
                    name = row_name(f, row) or f"第{i}行"
                    out.append(Problem("warning", cell.key, where,
                                       f"“{name}”的{col.label}“{v}”：数据有小数时，保留小数点后2位，"
                                       f"建议改为“{suggestion}”", "input"))
        return out
    spec = Spec.of(f)
    try:
        value = parse(raw, spec)
    except ValueProblem as e:
        return [Problem("error", cell.key, where, str(e))]
    if value is None:
        if (f.calculation or f.default) and ans.computed(cell.key) is not None:
            return out
        if f.required:
            hint = "无相关情况时应填写“无”" if f.type in ("text", "narrative") else (
                "无相关情况时请填 0" if f.type in ("number", "percent", "integer", "matrix") else "请选择")
            out.append(Problem("error", cell.key, where, f"必填栏目不得空缺，{hint}", "required"))
        return out
    if f.type in ("text", "narrative") and f.max_chars and char_count(value) > f.max_chars:
        out.append(Problem("error", cell.key, where,
                           f"超过{f.max_chars}字限制（现 {char_count(value)} 字，需删减 {char_count(value) - f.max_chars} 字）",
                           "limit"))
    if f.pattern and isinstance(value, str) and value != EMPTY_TEXT:
        if not re.fullmatch(f.pattern, value):
            out.append(Problem("warning", cell.key, where, f.pattern_message or "格式与官方要求不符", "input"))
    # evidence
    if f.evidence == "ticked" and isinstance(value, list):
        for opt in value:
            if ans.evidence_count(cell.key, opt) == 0:
                out.append(Problem("warning", cell.key, where, f"已勾选“{opt}”，尚未添加佐证材料", "evidence"))
    elif f.evidence == "if_yes" and value == "是" and ans.evidence_count(cell.key, "是") == 0:
        out.append(Problem("warning", cell.key, where, "选择“是”需提供佐证材料，尚未添加", "evidence"))
    elif f.evidence == "if_positive" and isinstance(value, int) and value > 0 and ans.evidence_count(cell.key, "佐证材料") == 0:
        out.append(Problem("warning", cell.key, where, "需提供相关佐证材料，尚未添加", "evidence"))
    # typed vs computed
    if f.calculation and not f.readonly:
        comp = ans.computed(cell.key)
        typed = to_decimal(value)
        if isinstance(comp, Decimal) and typed is not None and abs(comp - typed) > Decimal("0.01"):
            if not ans.notes.get(cell.key):
                out.append(Problem("warning", cell.key, where,
                                   f"填写值 {format_number(typed, spec.decimals)} 与按公式计算值 "
                                   f"{format_number(comp, spec.decimals)} 不一致（{f.formula or f.calculation}）；"
                                   "如确需采用填写值，请注明原因", "computed"))
    return out


def row_name(f: Field, row: dict[str, Any]) -> str | None:
    """How a message names a row of a repeat table: its ``row_name`` cell (the 指标), else its first
    text cell, typed or printed (not the ``open_text`` a fixed row prints for the user to replace)."""
    fixed = next((fr for fr in f.fixed_rows if fr.get("key") == row.get("key")), {})
    cols = [c for c in f.columns if c.id == f.row_name] or [c for c in f.columns if c.type == "text"]
    for c in cols:
        v = row.get(c.id) or fixed.get(c.id)
        if isinstance(v, str) and v.strip() and v != f.open_text:
            return v
    return None


def _list_problems(form: FormDef, ans: Answers) -> list[Problem]:
    """A count that needs a list (需提供清单): the list should match the count."""
    out: list[Problem] = []
    for s in form.sections:
        for f in s.fields():
            if f.type != "repeat" or not f.list_for:
                continue
            key = f"{s.id}.{f.id}"
            rows = ans.typed(key) or []
            _, target = form.field(f.list_for)
            cells = form.cells_of(f.list_for)
            if target.type == "matrix":
                vals = [ans.number(c.key) for c in cells]
                if any(v is None for v in vals):
                    continue
                total = int(sum(vals))  # type: ignore[arg-type]  # None values were skipped just above
            else:
                v = ans.number(cells[-1].key)
                if v is None:
                    continue
                total = int(v)
            where = form.cell(key).where
            if total > 0 and not rows:
                out.append(Problem("warning", key, where,
                                   f"“{target.label[:30]}”为 {total}，需提供清单：请在此列出，或另附纸质清单", "list"))
            elif rows and len(rows) != total:
                out.append(Problem("warning", key, where,
                                   f"清单共 {len(rows)} 行，与“{target.label[:30]}”填写的 {total} 不一致", "list"))
    return out


_DATE_FORMS = (  # what people write in a date column; the first groups are year, month, day
    re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
    re.compile(r"(\d{4})[-/.](\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月"),
    re.compile(r"(\d{4})年?"),
)


def _earliest_date(text: str) -> datetime.date | None:
    """The first day a written date can mean (2023年5月 → 2023-05-01), or None if it is not a date."""
    s = unicodedata.normalize("NFKC", text).replace(" ", "")
    for pattern in _DATE_FORMS:
        m = pattern.fullmatch(s)
        if m:
            y, mo, d = (int(g) for g in m.groups() + ("1",) * (3 - len(m.groups())))
            try:
                return datetime.date(y, mo, d)
            except ValueError:
                return None
    return None


def _date_problems(form: FormDef, ans: Answers) -> list[Problem]:
    """Dates and years in lists later than the date the form's figures stand at (``data_as_of``)."""
    as_of = form.form.data_as_of
    if as_of is None:
        return []
    cut = as_of.date
    shown_cut = f"{cut.year}年{cut.month}月{cut.day}日"
    out: list[Problem] = []
    for ref in as_of.columns:
        key, _, col_id = ref.rpartition(".")
        col = next(c for c in form.field(key)[1].columns if c.id == col_id)
        where = form.cell(key).where
        for i, row in enumerate(ans.typed(key) or [], start=1):
            v = row.get(col_id) if isinstance(row, dict) else None
            if v is None or v == EMPTY_TEXT:
                continue
            if isinstance(v, int):
                late = v > cut.year
            else:
                first = _earliest_date(str(v))
                if first is None:
                    out.append(Problem("warning", key, where, f"第{i}行“{col.label}”“{str(v)[:20]}”不是可识别的日期，"
                                                              "请按“2023-04-18”或“2023年4月18日”填写", "date"))
                    continue
                late = first > cut
            if late:
                out.append(Problem("warning", key, where,
                                   f"第{i}行“{col.label}”为 {v}，晚于数据截止日期 {shown_cut}（{as_of.basis}）", "date"))
    return out


# -- plausibility (请核对) -------------------------------------------------------------------


def plausible_for(form: FormDef, f: Field) -> Plausible | None:
    """The plausible range of a field: its unit's entry in the form, overridden by its own."""
    base = next((p for p in form.form.plausible if p.unit == f.unit), None) if f.unit else None
    if f.plausible is None or base is None:
        return f.plausible or base
    # the field's own keys that are set (read directly: model_dump would build pydantic's serializer,
    # a tenth of a second when the first section opens)
    own = {k: v for k in type(f.plausible).model_fields if (v := getattr(f.plausible, k)) is not None}
    return base.model_copy(update=own)


def _times(r: Decimal) -> str:
    """A ratio for a message: 56, 7.5, 5.2."""
    if r >= 10:
        return str(r.to_integral_value(rounding=ROUND_HALF_UP))
    return format(r.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP), "f").removesuffix(".0")


def _jumps(points: list[tuple[int, str, Decimal]], jump: Decimal) -> list[tuple[str, Decimal, int, Decimal]]:
    """(key, value, other year, other value) for each year that jumps past ``jump`` times from its
    neighbours. With three or more years the odd one out is the one far from the median; with two,
    the later one."""

    def apart(a: Decimal, b: Decimal) -> bool:
        return a > b * jump or a * jump < b

    out: list[tuple[str, Decimal, int, Decimal]] = []
    if len(points) >= 3:
        mid = median(v for _, _, v in points)
        odd = {i for i, (_, _, v) in enumerate(points) if apart(v, mid)}
        if len(odd) < len(points):
            for i in sorted(odd):
                year, key, v = points[i]
                near = min((j for j in range(len(points)) if j not in odd),
                           key=lambda j: (abs(points[j][0] - year), points[j][0]))
                if apart(v, points[near][2]):
                    out.append((key, v, points[near][0], points[near][2]))
            return out
    for (y0, _, v0), (_, key, v) in zip(points, points[1:]):
        if apart(v, v0):
            out.append((key, v, y0, v0))
    return out


def plausibility_problems(form: FormDef, ans: Answers) -> list[Problem]:
    """Typed numbers past the plausible range of their unit, or jumping from the neighbouring
    years: warnings that name both numbers (2952.30 亿元，是 2022 年的 56 倍，请核对)."""
    out: list[Problem] = []
    for s in form.sections:
        for f in s.fields():
            if f.type not in ("number", "integer", "percent") or f.readonly:
                continue
            p = plausible_for(form, f)
            if p is None:
                continue
            unit = f.unit or ""
            u = f" {unit}" if unit and unit != "%" else unit
            dec = f.effective_decimals
            points: list[tuple[int, str, Decimal]] = []
            for cell in form.cells_of(f"{s.id}.{f.id}"):
                v = to_decimal(ans.typed(cell.key))
                if v is None:
                    continue
                shown = f"{format_number(v, dec)}{u}"
                if p.max is not None and v > p.max:
                    out.append(Problem("warning", cell.key, cell.where,
                                       f"{shown}，超过常见上限 {_thr(p.max)}{u}，请核对", "plausible"))
                elif p.min is not None and v < p.min:
                    out.append(Problem("warning", cell.key, cell.where,
                                       f"{shown}，低于常见下限 {_thr(p.min)}{u}，请核对", "plausible"))
                elif cell.year is not None and v > 0:
                    points.append((cell.year, cell.key, v))
            if p.jump is None or len(points) < 2:
                continue
            for key, v, year, other in _jumps(points, p.jump):
                shown = f"{format_number(v, dec)}{u}"
                ratio = f"{_times(v / other)} 倍" if v > other else f"1/{_times(other / v)}"
                out.append(Problem("warning", key, form.cell(key).where,
                                   f"{shown}，是 {year} 年的 {ratio}，请核对", "plausible"))
    return out


# -- comparisons (eligibility and consistency checks) ----------------------------------

_FAIL_WORDS = {">=": "低于", ">": "未高于", "<=": "高于", "<": "未低于", "==": "不等于", "!=": "等于", "in": "不符合"}
_OPS = {">=": lambda a, b: a >= b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
        "<": lambda a, b: a < b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


def _fmt(v: Any, decimals: int = 2) -> str:
    if isinstance(v, Decimal):
        return format_number(v, decimals)
    return str(v)


def _thr(t: Any) -> str:
    if isinstance(t, Decimal):
        return format(t.normalize(), "f") if t == t.to_integral_value() else format(t, "f")
    if isinstance(t, tuple):
        return "或".join(f"“{x}”" for x in t)
    return f"“{t}”"


@dataclass(frozen=True)
class Outcome:
    ok: bool | None  # None: not enough data yet
    key: str
    where: str
    text: str  # 2021年：23.10 亿元，低于申报条件 25 亿元 / 2021年：26.40 亿元


def evaluate_compare(form: FormDef, c: Compare, ans: Answers, word: str = "申报条件") -> list[Outcome]:
    """Evaluate one comparison; one outcome per cell compared."""
    subjects: list[tuple[str, str, Any, str, int]] = []  # key, where, value, unit, decimals
    if c.field:
        cells = form.cells_of(c.field)
        if c.column:
            cells = [x for x in cells if x.key == f"{c.field}.{c.column}"]
        for cell in cells:
            v = ans.value(cell.key)
            if cell.field.type in ("number", "percent", "integer", "matrix"):
                v = to_decimal(v)
            subjects.append((cell.key, cell.where, v, c.unit or cell.field.unit or "", cell.field.effective_decimals))
    else:
        v = E.evaluate(c.expr, ans.value)  # type: ignore[arg-type]  # the schema requires expr when there is no field
        refs = E.refs(c.expr)  # type: ignore[arg-type]  # the schema requires expr when there is no field
        key = refs[0] if refs else ""
        sec = form.section_of(key).title if key else ""
        integral = all(form.has_cell(r) and form.cell(r).field.type in ("integer", "matrix") for r in refs)
        subjects.append((key, f"{sec} · {c.label}" if sec else c.label or "", v, c.unit or "", 0 if integral else 2))
    out: list[Outcome] = []
    for key, where, v, unit, dec in subjects:
        u = f" {unit}" if unit and unit != "%" else unit
        if c.other is not None:
            other_key = key.replace(c.field, c.other, 1) if c.field else c.other
            ov = to_decimal(ans.value(other_key)) if form.has_cell(other_key) else None
            olabel = form.field(c.other)[1].label
            if v is None or ov is None:
                out.append(Outcome(None, key, where, f"待填写"))
                continue
            ok = _OPS[c.op](v, ov)
            text = f"{_fmt(v, dec)}{u}" if ok else (
                f"{_fmt(v, dec)}{u}，{_FAIL_WORDS[c.op]}“{olabel}”的 {_fmt(ov, dec)}{u}")
            out.append(Outcome(ok, key, where, text))
            continue
        t = c.threshold
        if v is None:
            out.append(Outcome(None, key, where, f"待填写"))
            continue
        if c.op == "in":
            ok = v in t  # type: ignore[operator]  # op "in" has a list threshold (schema)
        elif isinstance(t, Decimal):
            dv = to_decimal(v)
            if dv is None:
                out.append(Outcome(None, key, where, f"待填写"))
                continue
            v = dv
            ok = _OPS[c.op](dv, t)
        else:
            ok = _OPS[c.op](v, t)
        shown = f"{_fmt(v, dec)}{u}" if isinstance(v, Decimal) else f"“{v}”"
        text = f"{shown}" if ok else f"{shown}，{_FAIL_WORDS[c.op]}{word} {_thr(t)}{u if isinstance(t, Decimal) else ''}"
        out.append(Outcome(ok, key, where, text))
    return out


@dataclass(frozen=True)
class ConditionResult:
    condition: Condition
    status: Literal["符合", "不符合", "待填写"]
    outcomes: tuple[Outcome, ...]

    @property
    def lines(self) -> list[str]:
        return [colon_join(o.where, o.text) for o in self.outcomes]

    def __str__(self) -> str:
        detail = "；".join(self.lines)
        return f"[{self.status}] {colon_join(self.condition.text, detail)}"


def eligibility(form: FormDef, ans: Answers) -> list[ConditionResult]:
    results = []
    for cond in form.form.eligibility:
        groups = [evaluate_compare(form, c, ans) for c in (cond.all_of or cond.any_of)]
        flat = tuple(o for g in groups for o in g)
        group_ok = [None if any(o.ok is None for o in g) and all(o.ok is not False for o in g)
                    else all(o.ok for o in g) for g in groups]
        status: Literal["符合", "不符合", "待填写"]
        if cond.all_of:
            status = "不符合" if False in group_ok else ("待填写" if None in group_ok else "符合")
        else:
            status = "符合" if True in group_ok else ("待填写" if None in group_ok else "不符合")
        results.append(ConditionResult(cond, status, flat))
    return results


# -- target rules (section 八) --------------------------------------------------------------


@dataclass(frozen=True)
class TargetResult:
    rule: TargetRule
    ok: bool | None
    text: str


def target_results(form: FormDef, ans: Answers) -> list[TargetResult]:
    t = form.form.targets
    if not t:
        return []
    rows = {r.get("key"): r for r in (ans.typed(t.table) or []) if isinstance(r, dict)}
    out = []
    for rule in t.rules:
        row = rows.get(rule.row, {})
        base = number_in_text(row.get(t.baseline_column))
        target = number_in_text(row.get(t.target_column))
        val = base if rule.column == "baseline" else target
        k, v = rule.kind, rule.value
        if val is None or (k in ("increase", "growth", "reduction") and (base is None or target is None)):
            out.append(TargetResult(rule, None, "待填写"))
            continue
        b_txt = f"基准值“{row.get(t.baseline_column)}”"
        t_txt = f"目标值“{row.get(t.target_column)}”"
        shown = b_txt if rule.column == "baseline" else t_txt
        if k == "min":
            ok = val >= v  # type: ignore[operator]  # val is not None here (checked above)
            text = f"{shown}，{'不低于' if ok else '低于'} {_thr(v)}{rule.unit}"
        elif k == "about":
            ok = val >= v - rule.tolerance  # type: ignore[operator]  # val is not None here (checked above)
            text = f"{shown}，{'达到' if ok else '未达到'} {_thr(v)}{rule.unit}左右"
        elif k == "increase":
            ok = target > base  # type: ignore[operator]  # base and target are not None for this kind (checked above)
            text = f"{b_txt}，{t_txt}，{'有增加' if ok else '未增加'}"
        elif k == "growth":
            need = base * (1 + v / 100) ** rule.years  # type: ignore[operator]  # base is not None for this kind (checked above)
            ok = target >= need - Decimal("0.005")  # type: ignore[operator]  # target is not None for this kind (checked above)
            rate = E.cagr(base, target, rule.years)
            text = (f"{b_txt}，{t_txt}，{rule.years}年年均增长 {_fmt(rate) if rate is not None else '—'}%，"
                    f"{'达到' if ok else '低于'}年均 {_thr(v)}%（目标值至少 {_fmt(need)}）")
        else:  # reduction
            if base == 0:
                out.append(TargetResult(rule, None, "基准值为 0，无法计算降低率"))
                continue
            drop = (base - target) / base * 100  # type: ignore[operator]  # base and target are not None for this kind (checked above)
            ok = drop >= v - rule.tolerance  # type: ignore[operator]  # drop is a Decimal here
            text = f"{b_txt}，{t_txt}，降低 {_fmt(drop)}%，{'达到' if ok else '未达到'} {_thr(v)}%左右"
        out.append(TargetResult(rule, ok, text))
    return out


# -- everything ----------------------------------------------------------------------------


def validate(form: FormDef, ans: Answers, *, include_eligibility: bool = True) -> list[Problem]:
    """Every problem of a draft, in form order: errors and warnings."""
    out: list[Problem] = []
    for cell in form.answerable_cells:
        out.extend(check_cell(form, cell, ans))
    out.extend(plausibility_problems(form, ans))
    for s in form.sections:
        if s.max_chars_total:
            total = sum(char_count(ans.typed(f"{s.id}.{f.id}") or "") for f in s.fields() if f.type == "narrative")
            if total > s.max_chars_total:
                first = next(f for f in s.fields() if f.type == "narrative")
                out.append(Problem("error", f"{s.id}.{first.id}", s.title,
                                   f"本部分合计 {total} 字，超过{s.max_chars_total}字限制{s.total_note or ''}", "limit"))
    for ch in form.form.checks:
        for o in evaluate_compare(form, ch.compare, ans, word=""):
            if o.ok is False:
                msg = o.text + (f"（{ch.message}）" if ch.message else "")
                out.append(Problem(ch.level, o.key, o.where, msg, "check"))
    out.extend(_list_problems(form, ans))
    out.extend(_date_problems(form, ans))
    if include_eligibility:
        for r in eligibility(form, ans):
            if r.status == "不符合":
                for o in r.outcomes:
                    if o.ok is False:
                        out.append(Problem("warning", o.key, o.where, f"{o.text}（{r.condition.text}）", "eligibility"))
        t = form.form.targets
        if t:
            where = form.cell(t.table).where
            for tr in target_results(form, ans):
                if tr.ok is False:
                    out.append(Problem("warning", t.table, where, colon_join(tr.rule.text, tr.text), "target"))
    for level, key, msg in cross_form_problems(form, ans):
        out.append(Problem(level, key, form.cell(key).where, msg, "linked"))  # type: ignore[arg-type]  # cross_form_problems gives "error" or "warning"
    order = {c.key: i for i, c in enumerate(form.cells)}
    out.sort(key=lambda p: order.get(p.key, len(order)))
    return out


def cross_form_problems(form: FormDef, ans: Answers) -> list[tuple[str, str, str]]:
    """(level, key, message) for values that must agree with the linked application."""
    out: list[tuple[str, str, str]] = []
    for pf in form.form.prefill:
        src = ans.linked.get(pf.id)
        if src is None:
            continue
        for t in pf.tables:
            if not t.must_match:
                continue
            _, table = form.field(t.to)
            src_rows = {r.get("key"): r for r in (src.typed(t.source) or []) if isinstance(r, dict)}
            for row in ans.typed(t.to) or []:
                if not isinstance(row, dict) or row.get("key") not in src_rows:
                    continue
                for col in t.must_match:
                    src_col = t.year_columns.get(col, {}).get(form.form.year) or t.columns.get(col)
                    if not src_col:
                        continue
                    declared = src_rows[row["key"]].get(src_col)
                    typed = row.get(col)
                    if declared in (None, "") or typed in (None, ""):
                        continue
                    if not same_value(typed, declared):
                        name = row_name(table, row) or row_name(src.form.cell(src.current(t.source)).field,
                                                                  src_rows[row["key"]]) or row["key"]
                        col_label = next((c.label for c in table.columns if c.id == col), col)
                        out.append(("error", t.to,
                                    f"“{name}”的{col_label}“{typed}”与{pf.label}中所定目标“{declared}”不一致"
                                    f"（需按照{pf.label}中所定目标填写）"))
        for cc in form.form.change_checks:
            if cc.prefill != pf.id:
                continue
            declared = E.evaluate(cc.source_expr, src.value)
            current = ans.value(cc.subject)
            answer = ans.value(cc.field)
            if declared is None or current is None:
                continue
            differs = str(current).strip() != str(declared).strip()
            label = form.cell(cc.field).field.label
            if differs and answer == "否":
                out.append(("warning", cc.field,
                            f"当前为“{current}”，{pf.label}中为“{declared}”，“{label}”应选“是”并写明变更情况"))
            elif not differs and answer == "是":
                out.append(("warning", cc.field, f"与{pf.label}中的“{declared}”相同，请确认是否确有变更"))
    return out



# -- 目标完成情况 ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Achieved:
    key: str
    direction: str
    indicator: str
    target: str | None
    actual: str | None
    computed: bool  # the 完成值 comes from the report's own numbers
    formula: str | None
    status: str  # 达成 / 未达成 / 待填写 / 定性
    lower_is_better: bool = False  # an amount that should fall (e.g. 二氧化碳排放量 per output)

    def __str__(self) -> str:
        src = f"（按 {self.formula} 计算）" if self.computed and self.formula else ""
        return f"{self.direction} · {self.indicator}：目标值 {self.target or '—'}，完成值 {self.actual or '—'}{src}，{self.status}"


def targets_source(form: FormDef) -> str:
    """How the targets of an annual report's 目标完成情况 are sourced (the label of the prefill
    filling the achievement table, e.g. 申报材料), or "" when no prefill fills it."""
    a = form.form.achievement
    pfs = [pf for pf in form.form.prefill if a is not None and any(t.to == a.table for t in pf.tables)]
    return pfs[0].label if pfs else ""


_FALL_WORDS = ("下降", "降低", "减少")


def achievement(form: FormDef, ans: Answers) -> list[Achieved]:
    """Each indicator's 目标值 and 完成值, with 达成 or 未达成."""
    a = form.form.achievement
    if not a:
        return []
    _, table = form.field(a.table)
    fixed = {r["key"]: r for r in table.fixed_rows}
    out = []
    for row in ans.typed(a.table) or []:
        if not isinstance(row, dict):
            continue
        key = row.get("key", "")
        f = fixed.get(key, {})
        group = (row.get(a.group_column) or f.get(a.group_column, "")) if a.group_column else ""
        indicator = row_name(table, row) or ""
        if not indicator:
            continue  # an open row nobody used
        target = row.get(a.target_column)
        actual = row.get(a.actual_column)
        computed = False
        if key in a.actuals:
            v = E.evaluate(a.actuals[key], ans.value)
            if v is not None:
                unit = "%" if isinstance(target, str) and target.strip().endswith("%") else ""
                actual = f"{format_number(v, 2)}{unit}" if isinstance(v, Decimal) else str(v)
                computed = True
        t, x = number_in_text(target), number_in_text(actual)
        # "较2022年下降3%" states the fall itself: a bigger number is then the better one
        lower = key in a.lower_is_better and not any(w in str(target or "") for w in _FALL_WORDS)
        if key in a.qualitative:  # described in words (定性描述): nothing to compare
            status = "定性" if actual else "待填写"
        elif t is None or x is None:
            status = "待填写"
        elif lower:
            status = "达成" if x <= t else "未达成"
        else:
            status = "达成" if x >= t else "未达成"
        out.append(Achieved(key, str(group), indicator, target, actual, computed, a.formulas.get(key), status, lower))
    return out



def completion_bar(target: Any, actual: Any, lower_is_better: bool = False, width: int = 10) -> str:
    """A printable bar of how far an actual value reached its target (■ per tenth, up to 120%)."""
    t, x = number_in_text(target), number_in_text(actual)
    if t is None or x is None or t == 0 or (lower_is_better and x == 0):
        return ""
    ratio = (t / x) if lower_is_better else (x / t)
    filled = max(0, min(width, int((ratio * width).to_integral_value())))  # past 100% the figure says it
    return "■" * filled + "□" * max(0, width - filled) + f" {format_number(ratio * 100, 0)}%"


def has_errors(problems: Iterable[Problem]) -> bool:
    return any(p.level == "error" for p in problems)

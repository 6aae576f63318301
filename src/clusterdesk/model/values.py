"""Parsing and formatting of answer values, one rule per field type.

What a user types (or a template carries) is turned into the stored form:

- numbers and percentages: a string with exactly ``decimals`` places, e.g. ``"23.10"``
  (填报说明: 数据有小数时，保留小数点后2位). Full-width digits (１２３.４５), thousands separators,
  a trailing unit or ``%`` are accepted as the user meant them. NaN, infinities and exponents
  (1e308) are refused, and so is a non-finite number read from a file (JSON ``NaN``,
  ``Infinity``, a literal too big for a float: :class:`NonFinite`) in a field of any type — it
  must never turn into an empty answer or a text.
- integers: ``int``.
- text and narrative: the text, control characters removed, surrounding whitespace trimmed.
- choice: one of the official option texts; boxes: a list of them in official order.
- repeat: a list of row dicts keyed by column id.

Every error message is Simplified Chinese and says what to type instead.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from clusterdesk.textsafe import clean_text

from .schema import Column, Field

EMPTY_TEXT = "无"
MAX_TEXT = 32000  # far above any official limit; a guard against pasting a whole file

_NUM = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")


class ValueProblem(ValueError):
    """The input cannot be taken as a value of this field; ``str()`` is the Chinese reason."""


MAX_TABLE_ROWS = 10000
"""Rows a table (repeat field) may hold, whatever its definition says: twenty times the demo's 486
patents; a file with 100,000 rows is refused before it can fill the database and the exports."""


MAX_ANSWERS_CHARS = 8_000_000
"""Characters all the answers of one draft may expand to (texts and table cells together): a
template's shared string repeated in every cell of a sheet must not fill the database."""


class NonFinite:
    """A number from a file that is not a finite number: JSON's ``NaN``, ``Infinity``,
    ``-Infinity``, or a literal such as ``1e999`` that overflows. Readers put it where the file had
    it (:func:`json_constant`, :func:`json_float`); :func:`parse` refuses it in every field."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return f"NonFinite({self.text!r})"

    def __str__(self) -> str:
        return self.text


def json_constant(text: str) -> NonFinite:
    """``parse_constant`` for :func:`json.loads`: ``NaN`` / ``Infinity`` / ``-Infinity``."""
    return NonFinite(text)


def json_float(text: str) -> float | NonFinite:
    """``parse_float`` for :func:`json.loads`: a float, or NonFinite for ``1e999``."""
    f = float(text)
    return f if f - f == 0 else NonFinite(text[:40])


def json_float_text(text: str) -> str | NonFinite:
    """``parse_float`` keeping a number's digits as written (templates: no binary rounding), or
    NonFinite for a literal that overflows (``1e999``)."""
    f = float(text)
    return text if f - f == 0 else NonFinite(text[:40])


def is_non_finite(raw: Any) -> bool:
    """NonFinite, a float NaN / ±inf, or a Decimal NaN / sNaN / ±Infinity."""
    if isinstance(raw, NonFinite):
        return True
    if isinstance(raw, float):
        return raw != raw or raw in (float("inf"), float("-inf"))
    return isinstance(raw, Decimal) and not raw.is_finite()


def find_non_finite(value: Any, path: str = "") -> str | None:
    """The path (``answers.x[3].y``) of the first non-finite number inside a JSON document, or None."""
    if is_non_finite(value):
        return path or "（顶层）"
    if isinstance(value, dict):
        for k, v in value.items():
            found = find_non_finite(v, f"{path}.{k}" if path else str(k))
            if found:
                return found
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found = find_non_finite(v, f"{path}[{i}]")
            if found:
                return found
    return None


def _refuse_non_finite(raw: Any) -> None:
    if is_non_finite(raw):
        shown = str(raw).strip()[:20] or "NaN"
        raise ValueProblem(f"“{shown}”不是有效的数字（文件中的 NaN、Infinity 等非数值不能作为填报内容），"
                           "请填写实际的数值或文字")


@dataclass(frozen=True)
class Spec:
    """The parts of a Field or Column that decide how a value is parsed."""

    type: str
    options: tuple[str, ...] = ()
    unit: str | None = None
    decimals: int = 2
    min: Decimal | None = None
    max: Decimal | None = None
    max_chars: int | None = None

    @classmethod
    def of(cls, f: Field | Column) -> "Spec":
        t = f.type
        if isinstance(f, Field) and t == "matrix":
            t = "integer"
        decimals = f.effective_decimals if isinstance(f, Field) else (f.decimals if t in ("number", "percent") else 0)
        mn = f.min
        if mn is None and t == "integer":
            mn = Decimal(0)
        return cls(t, tuple(f.options), f.unit, decimals, mn, f.max, f.max_chars)


def char_count(text: str) -> int:
    """The character count the limits (200 / 3000 / 150字以内) are checked against.

    Every character counts, punctuation and inner spaces included; whitespace around the
    text is trimmed first and line breaks are not counted.
    """
    return len(text.strip().replace("\r", "").replace("\n", ""))


def _fmt_limit(d: Decimal) -> str:
    return format(d.normalize(), "f") if d == d.to_integral_value() else format(d, "f")


def parse_decimal(raw: Any, spec: Spec) -> Decimal | None:
    """Turn raw input into a Decimal rounded to ``spec.decimals`` places (half up)."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise ValueProblem("请填写数字")
    if isinstance(raw, int) and raw.bit_length() > 200:
        raise ValueProblem("数字超出可填写的范围")
    if isinstance(raw, (int, Decimal)):
        d = Decimal(raw)
    elif isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise ValueProblem("请填写有效的数字")
        d = Decimal(repr(raw))
    elif isinstance(raw, str):
        s = unicodedata.normalize("NFKC", raw).strip().replace(" ", "")
        if s == "":
            return None
        for suffix in filter(None, ("%", spec.unit)):
            if s.endswith(suffix):
                s = s[: -len(suffix)]
        s = s.replace("−", "-")
        if _THOUSANDS.match(s):
            s = s.replace(",", "")
        if not _NUM.match(s):
            if s in (EMPTY_TEXT, "-", "/"):
                raise ValueProblem("此栏须填数字，无相关情况时请填 0")
            raise ValueProblem(f"“{raw[:20]}”不是数字，请只填写数字（可带小数点）")
        d = Decimal(s)
    else:
        raise ValueProblem("请填写数字")
    if not d.is_finite() or abs(d) >= Decimal("1e15"):
        raise ValueProblem("数字超出可填写的范围")
    places = Decimal(1).scaleb(-spec.decimals)
    try:
        d = d.quantize(places, rounding=ROUND_HALF_UP)
    except InvalidOperation as e:  # pragma: no cover - guarded by the range check
        raise ValueProblem("数字超出可填写的范围") from e
    if abs(d) >= Decimal("1e15"):  # 999999999999999.999 rounds up past the limit
        raise ValueProblem("数字超出可填写的范围")
    if d == 0:
        d = abs(d)  # no negative zero
    if spec.min is not None and d < spec.min:
        raise ValueProblem(f"不能小于 {_fmt_limit(spec.min)}")
    if spec.max is not None and d > spec.max:
        raise ValueProblem(f"不能大于 {_fmt_limit(spec.max)}")
    return d


_TEXT_TYPES = ("text", "narrative", "value")


def _text(raw: str) -> str | None:
    """A text cell's stored value: cleaned of what XML cannot hold, trimmed, within MAX_TEXT."""
    s = clean_text(raw).strip()
    if len(s) > MAX_TEXT:
        raise ValueProblem(f"内容过长（{len(s)} 字），请精简后再填写")
    return s or None


def parse(raw: Any, spec: Spec) -> Any:
    """Parse input for one cell. Returns the value to store, or None for an empty answer."""
    t = spec.type
    if type(raw) is str and t in _TEXT_TYPES:  # the usual cell of a long list: the same as below, sooner
        return _text(raw)
    _refuse_non_finite(raw)
    if t in ("number", "percent"):
        d = parse_decimal(raw, spec)
        return None if d is None else format(d, "f")
    if t == "integer":
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        d = parse_decimal(raw, Spec("number", unit=spec.unit, decimals=6, min=spec.min, max=spec.max))
        if d is None:
            return None
        if d != d.to_integral_value():
            raise ValueProblem("请填写整数")
        return int(d)
    if t in _TEXT_TYPES:
        if raw is None:
            return None
        if isinstance(raw, bool):
            raise ValueProblem("请填写文字")
        if isinstance(raw, (int, float, Decimal)):
            if isinstance(raw, float) and (raw != raw or raw in (float("inf"), float("-inf"))):
                raise ValueProblem("请填写有效的内容")
            try:
                raw = str(raw)
            except ValueError:  # an integer too long to print (Python's 4300-digit limit)
                raise ValueProblem("内容过长，请精简后再填写") from None
        if not isinstance(raw, str):
            raise ValueProblem("请填写文字")
        return _text(raw)
    if t == "choice":
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise ValueProblem(f"请从以下选项中选择：{'、'.join(spec.options)}")
        s = raw.strip()
        if s == "":
            return None
        if s not in spec.options:
            raise ValueProblem(f"“{s[:30]}”不是可选项，请从以下选项中选择：{'、'.join(spec.options)}")
        return s
    if t == "boxes":
        if raw is None:
            return None
        if isinstance(raw, str):
            raise ValueProblem("请以选项文字的列表填写")
        if not isinstance(raw, (list, tuple)):
            raise ValueProblem("请以选项文字的列表填写")
        chosen: set[str] = set()
        for item in raw:
            if not isinstance(item, str) or item.strip() not in spec.options:
                shown = str(item)[:30]
                raise ValueProblem(f"“{shown}”不是本栏的选项")
            chosen.add(item.strip())
        return [o for o in spec.options if o in chosen] or None
    raise ValueProblem(f"未知的栏目类型：{t}")  # pragma: no cover - the schema forbids it


def parse_rows(raw: Any, field: Field) -> list[dict[str, Any]] | None:
    """Parse the rows of a repeat field. Errors name the row (第N行) and the column."""
    if raw is None:
        return None
    _refuse_non_finite(raw)
    if not isinstance(raw, (list, tuple)):
        raise ValueProblem("请以行的列表填写（每行一个对象）")
    if len(raw) > MAX_TABLE_ROWS:
        raise ValueProblem(f"表格最多 {MAX_TABLE_ROWS} 行，这里有 {len(raw)} 行")
    cols = {c.id: c for c in field.columns}
    specs = {c.id: Spec.of(c) for c in field.columns}  # once per table, not per cell (10,000-row lists)
    fixed = {r["key"] for r in field.fixed_rows}
    out: list[dict[str, Any]] = []
    for i, row in enumerate(raw, start=1):
        if not isinstance(row, dict):
            raise ValueProblem(f"第{i}行：请以“列名: 值”的对象填写")
        parsed: dict[str, Any] = {}
        for k, v in row.items():
            if k == "key":
                if not isinstance(v, str) or v not in fixed:
                    raise ValueProblem(f"第{i}行：未知的固定行“{v}”")
                parsed["key"] = v
                continue
            col = cols.get(k)
            if col is None:
                raise ValueProblem(f"第{i}行：本表没有“{k}”列")
            try:
                pv = parse(v, specs[k])
            except ValueProblem as e:
                raise ValueProblem(f"第{i}行“{col.label}”：{e}") from None
            if pv is not None:
                parsed[k] = pv
        if len(parsed) > ("key" in parsed):
            out.append(parsed)
        elif "key" in parsed:
            out.append(parsed)
    if field.max_rows is not None and len(out) > field.max_rows:
        raise ValueProblem(f"最多填写 {field.max_rows} 行，现有 {len(out)} 行")
    # The rows the form prints (方向, 指标 …) are the form's text, not an answer: a table that
    # holds nothing else (an untouched .xlsx template, which shows them) is as empty as one
    # without rows, the way the .json template leaves it.
    printed: dict[object, dict[str, Any]] = {r["key"]: r for r in field.fixed_rows}
    if not any(v != printed.get(row.get("key"), {}).get(k) for row in out for k, v in row.items() if k != "key"):
        return None
    return out


def to_decimal(value: Any) -> Decimal | None:
    """A stored value as a Decimal, for calculations (None if not numeric)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if value == value else None
    if isinstance(value, str):
        s = unicodedata.normalize("NFKC", value).strip().rstrip("%").replace(",", "")
        m = re.search(r"[+-]?\d+(\.\d+)?", s)
        if m and m.group(0) == s:
            return Decimal(s)
    return None


def number_in_text(value: Any) -> Decimal | None:
    """The first number found in a free value such as ``6.50%`` or ``约120家`` (targets table)."""
    if value is None:
        return None
    d = to_decimal(value)
    if d is not None:
        return d
    text = unicodedata.normalize("NFKC", str(value)).replace(",", "")
    # a year ("较2022年下降3%") is a date, not the figure
    m = re.search(r"[+-]?\d+(?:\.\d+)?(?!\d|\.\d|\s*年)", text)
    return Decimal(m.group(0)) if m else None


_LONG_DECIMAL = re.compile(r"(?<![\d.])(\d+)\.(\d{3,})(?![\d.])")


def rounded_in_text(value: Any, decimals: int = 2) -> str | None:
    """A free value (``0.255吨标准煤/万元``) with every number of more than ``decimals`` places rounded
    half up, its unit text kept (``0.26吨标准煤/万元``); None when nothing needs rounding."""
    if not isinstance(value, str):
        return None
    text = unicodedata.normalize("NFKC", value)
    if not _LONG_DECIMAL.search(text):
        return None
    return _LONG_DECIMAL.sub(lambda m: format_number(Decimal(m.group(0)), decimals), text)


def same_value(a: Any, b: Any) -> bool:
    """Whether two values say the same: "486件" and "486.00件" do, as the target check reads them."""
    if a == b:
        return True
    if isinstance(a, (str, int, Decimal)) and isinstance(b, (str, int, Decimal)):
        x, y = number_in_text(a), number_in_text(b)
        if x is not None and y is not None:

            def strip(v: object) -> str:
                return "".join(ch for ch in str(v) if not (ch.isdigit() or ch in ".,+-"))

            return x == y and strip(a).strip() == strip(b).strip()
    return False


def format_number(value: Any, decimals: int = 2) -> str:
    d = to_decimal(value)
    if d is None:
        return "" if value is None else str(value)
    places = Decimal(1).scaleb(-decimals)
    return format(d.quantize(places, rounding=ROUND_HALF_UP), "f")


def format_value(value: Any, spec: Spec) -> str:
    """How a stored value is printed (Word, Excel, messages)."""
    if value is None:
        return ""
    t = spec.type
    if t in ("number", "percent"):
        return format_number(value, spec.decimals)
    if t == "integer":
        return str(value)
    if t == "boxes":
        return "；".join(value)
    return str(value)


def _stored_scalar_problem(value: Any, t: str) -> str | None:
    if t in ("number", "percent"):
        if isinstance(value, bool) or not isinstance(value, (str, int)) or to_decimal(value) is None:
            return "应为数字"
    elif t in ("integer", "matrix"):
        if isinstance(value, bool) or not isinstance(value, int):
            return "应为整数"
    elif t == "boxes":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return "应为所选选项的列表"
    elif not isinstance(value, str):  # text, narrative, choice, value
        return "应为文字"
    return None


def stored_value_problem(value: Any, field: Field) -> str | None:
    """Whether a value read back from storage has the shape this field's type stores (a number
    field a decimal text, a list field rows of named columns …). Only the shape: limits and options
    may differ between versions of a form. None if it fits, else a Chinese reason."""
    if field.type != "repeat":
        return _stored_scalar_problem(value, field.type)
    if not isinstance(value, list):
        return "应为行的列表"
    cols = {c.id: c for c in field.columns}
    for i, row in enumerate(value, start=1):
        if not isinstance(row, dict):
            return f"第{i}行应为“列名: 值”的对象"
        for k, v in row.items():
            col = cols.get(k)
            if k == "key" or col is None:
                if not isinstance(v, (str, int)) or isinstance(v, bool):
                    return f"第{i}行“{k}”的值格式不正确"
                continue
            problem = _stored_scalar_problem(v, col.type)
            if problem:
                return f"第{i}行“{col.label}”{problem}"
    return None

"""A small, safe expression language for calculations and rules in form definitions.

References use XLSForm's ``${...}`` syntax, naming answer cells: ``${industry.total_output.2021}``.
Expressions are parsed with :mod:`ast` and only arithmetic, comparisons, boolean operators,
constants and a fixed set of functions are allowed. Arithmetic is done in :class:`~decimal.Decimal`.
A missing operand (``None``) makes the whole result ``None`` ("cannot compute yet");
so does division by zero.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Callable

REF = re.compile(r"\$\{([A-Za-z0-9_.]+)\}")


class ExprError(ValueError):
    """The expression is not valid in this language."""


def refs(expr: str) -> list[str]:
    """Every cell key the expression reads, in order of appearance."""
    return REF.findall(expr)


def _dec(v: Any) -> Decimal | None:
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, Decimal):
        return v
    if isinstance(v, (int, float)):
        return Decimal(str(v))
    if isinstance(v, str):
        try:
            d = Decimal(v)
        except InvalidOperation:
            return None
        return d if d.is_finite() else None
    return None


def _pow(a: Decimal, b: Decimal) -> Decimal | None:
    if b == b.to_integral_value():
        try:
            return a ** int(b)
        except (InvalidOperation, ZeroDivisionError):
            return None
    if a < 0:
        return None
    return Decimal(repr(math.pow(float(a), float(b))))


def cagr(first: Any, last: Any, intervals: Any) -> Decimal | None:
    """Average annual growth by the geometric (水平法) method, in percent."""
    f, l, n = _dec(first), _dec(last), _dec(intervals)
    if f is None or l is None or n is None or f <= 0 or l < 0 or n <= 0:
        return None
    ratio = _pow(l / f, 1 / n)
    return None if ratio is None else (ratio - 1) * 100


def geomean_growth(*rates: Any) -> Decimal | None:
    """Average of yearly growth rates (percent), compounded: (Π(1+g/100))^(1/k) − 1."""
    ds = [_dec(r) for r in rates]
    if not ds or any(d is None for d in ds):
        return None
    prod = Decimal(1)
    for d in ds:
        prod *= 1 + d / 100  # type: ignore[operator]  # no None in ds (checked above)
    if prod <= 0:
        return None
    root = _pow(prod, Decimal(1) / len(ds))
    return None if root is None else (root - 1) * 100


def _sum(*xs: Any) -> Decimal | None:
    total = Decimal(0)
    for d in (_dec(x) for x in xs):
        if d is None:
            return None
        total += d
    return total


def _count(x: Any) -> Decimal | None:
    if x is None:
        return Decimal(0)
    return Decimal(len(x)) if isinstance(x, (list, tuple)) else None


def _numeric(fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(*xs: Any) -> Any:
        ds = [_dec(x) for x in xs]
        return None if any(d is None for d in ds) else fn(*ds)

    return wrapped


def bracket(text: Any) -> str | None:
    """The words inside the last full-width brackets: 重庆市…集群（永川数控机床产业） → 永川数控机床产业."""
    if not isinstance(text, str) or not text.strip():
        return None
    t = text.strip()
    end = t.rfind("）")
    start = t.rfind("（", 0, end) if end > 0 else -1
    return t[start + 1 : end].strip() or None if start >= 0 else t


# a telephone number inside free text: 023-49881234, 13800000000, (023)4988 1234, +86 138…, 转 ext.
_PHONE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?(?:1\d{2}[\s-]?\d{4}[\s-]?\d{4}|(?:[(（]?0\d{2,3}[)）]?[\s-]?)?\d{3,4}[\s-]?\d{4})"
                    r"(?:\s*(?:转|-)\s*\d{1,6})?(?!\d)")
_CONTACT_WORDS = re.compile(r"(联系人|联系电话|联系方式|电话|手机|座机)\s*[：:]?")


def _phones(text: Any) -> tuple[str, list[str]]:
    s = str(text).strip() if text is not None else ""
    return s, [m.group(0).strip() for m in _PHONE.finditer(s) if sum(ch.isdigit() for ch in m.group(0)) >= 7]


def contact_phone(text: Any) -> str | None:
    """The telephone number(s) in a "联系人及联系电话" answer: 李明 023-49881234 → 023-49881234."""
    _, phones = _phones(text)
    return "，".join(phones) or None


def contact_name(text: Any) -> str | None:
    """The person in a "联系人及联系电话" answer, without the number: 李明 023-49881234 → 李明."""
    s, phones = _phones(text)
    for p in phones:
        s = s.replace(p, " ")
    s = _CONTACT_WORDS.sub(" ", s)
    s = re.sub(r"\s+", " ", s).strip(" ,，、;；:：/（）()")
    return s or None


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "bracket": bracket,
    "contact_name": contact_name,
    "contact_phone": contact_phone,
    "cagr": cagr,
    "geomean_growth": geomean_growth,
    "sum": _sum,
    "count": _count,
    "min": _numeric(min),
    "max": _numeric(max),
    "abs": _numeric(abs),
}

_BIN = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_CMP = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


@lru_cache(maxsize=512)
def compile_expr(expr: str) -> tuple[ast.Expression, tuple[str, ...]]:
    """Parse and check an expression; returns its tree and the cell keys it reads."""
    names: list[str] = []

    def sub(m: re.Match[str]) -> str:
        names.append(m.group(1))
        return f"_r{len(names) - 1}"

    src = REF.sub(sub, expr)
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError as e:
        raise ExprError(f"表达式语法错误：{expr}") from e
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if not (node.id.startswith("_r") or node.id in FUNCTIONS):
                raise ExprError(f"表达式中有未知名称“{node.id}”：{expr}")
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
                raise ExprError(f"表达式中有不允许的函数调用：{expr}")
        elif isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float, str)) or isinstance(node.value, bool):
                raise ExprError(f"表达式中有不允许的常量：{expr}")
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BIN and not isinstance(node.op, ast.Pow):
                raise ExprError(f"表达式中有不允许的运算：{expr}")
        elif isinstance(node, ast.Compare):
            if any(type(o) not in _CMP for o in node.ops):
                raise ExprError(f"表达式中有不允许的比较：{expr}")
        elif not isinstance(
            node,
            (ast.Expression, ast.UnaryOp, ast.USub, ast.UAdd, ast.Not, ast.BoolOp, ast.And, ast.Or, ast.Load)
            + tuple(_BIN)
            + (ast.Pow,)
            + tuple(_CMP),
        ):
            raise ExprError(f"表达式中有不允许的语法（{type(node).__name__}）：{expr}")
    return tree, tuple(names)


def evaluate(expr: str, lookup: Callable[[str], Any]) -> Any:
    """Evaluate with ``lookup(cell_key)`` giving each referenced value (None when empty)."""
    tree, names = compile_expr(expr)
    env = {f"_r{i}": lookup(n) for i, n in enumerate(names)}

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return _dec(node.value) if isinstance(node.value, (int, float)) else node.value
        if isinstance(node, ast.Name):
            v = env[node.id]
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return Decimal(str(v))
            if isinstance(v, str):
                d = _dec(v)
                return d if d is not None else v
            return v
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand)
            if isinstance(node.op, ast.Not):
                return None if v is None else not v
            d = _dec(v)
            if d is None:
                return None
            return -d if isinstance(node.op, ast.USub) else d
        if isinstance(node, ast.BinOp):
            a, b = _dec(ev(node.left)), _dec(ev(node.right))
            if a is None or b is None:
                return None
            if isinstance(node.op, ast.Pow):
                return _pow(a, b)
            if isinstance(node.op, ast.Div) and b == 0:
                return None
            try:
                return _BIN[type(node.op)](a, b)
            except InvalidOperation:
                return None
        if isinstance(node, ast.Compare):
            left = ev(node.left)
            for op, comp in zip(node.ops, node.comparators):
                right = ev(comp)
                if left is None or right is None:
                    return None
                try:
                    if not _CMP[type(op)](left, right):
                        return False
                except TypeError:
                    return None
                left = right
            return True
        if isinstance(node, ast.BoolOp):
            vals = [ev(v) for v in node.values]
            if any(v is None for v in vals):
                return None
            return all(vals) if isinstance(node.op, ast.And) else any(vals)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return FUNCTIONS[node.func.id](*(ev(a) for a in node.args))
        raise ExprError(f"无法计算：{ast.dump(node)}")  # pragma: no cover - rejected at compile

    return ev(tree)

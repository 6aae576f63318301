"""Field-type parsing and the expression language."""

from __future__ import annotations

from decimal import Decimal

import pytest

from clusterdesk.model import expr as E
from clusterdesk.model.values import Spec, ValueProblem, char_count, format_value, parse

NUM = Spec("number", unit="亿元", decimals=2, min=Decimal(0))
PCT_SHARE = Spec("percent", unit="%", decimals=2, min=Decimal(0), max=Decimal(100))
PCT_GROWTH = Spec("percent", unit="%", decimals=2, min=Decimal(-100))
INT = Spec("integer", unit="个", decimals=0, min=Decimal(0))


@pytest.mark.parametrize(
    "raw, stored",
    [
        ("23.1", "23.10"),
        ("１２３.４５", "123.45"),  # full-width digits are digits
        ("1,234.5", "1234.50"),
        ("  7 ", "7.00"),
        ("25亿元", "25.00"),
        (25, "25.00"),
        (25.456, "25.46"),  # kept to 2 decimals, rounded half up
        ("0.005", "0.01"),
        ("-0", "0.00"),
        ("", None),
        (None, None),
    ],
)
def test_number_parses_as_the_user_meant(raw, stored):
    assert parse(raw, NUM) == stored


@pytest.mark.parametrize("raw", ["abc", "1e308", "NaN", "inf", "12.3.4", "1,23", True, [1], float("nan"), "无"])
def test_number_refuses_what_is_not_a_number(raw):
    with pytest.raises(ValueProblem) as e:
        parse(raw, NUM)
    assert str(e.value)  # a Chinese reason is given
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(e.value))


def test_number_range_limits():
    with pytest.raises(ValueProblem, match="不能小于 0"):
        parse("-1", NUM)
    with pytest.raises(ValueProblem, match="不能大于 100"):
        parse("100.01", PCT_SHARE)
    assert parse("100", PCT_SHARE) == "100.00"
    assert parse("-12.5%", PCT_GROWTH) == "-12.50"  # growth may be negative
    assert parse("５０％", PCT_SHARE) == "50.00"


def test_integer():
    assert parse("468", INT) == 468
    assert parse("1,024个", INT) == 1024
    assert parse(12.0, INT) == 12
    with pytest.raises(ValueProblem, match="整数"):
        parse("12.5", INT)
    with pytest.raises(ValueProblem, match="不能小于"):
        parse("-3", INT)


def test_text_cleans_and_trims():
    spec = Spec("narrative", max_chars=200)
    assert parse("  集群\x0b情况\x00 ", spec) == "集群\n情况"
    assert parse("   ", spec) is None
    assert parse("无", spec) == "无"


def test_char_count_rule():
    # every character counts, punctuation included; surrounding whitespace and line breaks do not
    assert char_count("  一二三，四。 ") == 6
    assert char_count("一\n二") == 2
    assert char_count("a b") == 3


def test_choice_and_boxes():
    yn = Spec("choice", options=("是", "否", "非高耗能行业，不适用"))
    assert parse("非高耗能行业，不适用", yn) == "非高耗能行业，不适用"
    with pytest.raises(ValueProblem, match="不是可选项"):
        parse("也许", yn)
    boxes = Spec("boxes", options=("甲", "乙", "丙"))
    assert parse(["丙", "甲", "甲"], boxes) == ["甲", "丙"]  # official order, no duplicates
    assert parse([], boxes) is None
    with pytest.raises(ValueProblem, match="不是本栏的选项"):
        parse(["丁"], boxes)
    with pytest.raises(ValueProblem):
        parse("甲", boxes)


def test_format_value():
    assert format_value("23.1", NUM) == "23.10"
    assert format_value(["甲", "乙"], Spec("boxes", options=("甲", "乙"))) == "甲；乙"


def test_cagr_geometric_method():
    # (121 / 100) ^ (1/2) - 1 = 10 %
    assert E.cagr(100, 121, 2) == Decimal("10.0")
    assert E.cagr(0, 5, 2) is None  # cannot compute from zero
    g = E.geomean_growth(10, 10, 10)
    assert abs(g - Decimal(10)) < Decimal("0.0001")


def test_expressions_evaluate_with_references():
    vals = {"a.x.2021": "50.00", "a.x.2023": "60.50", "a.n": 3}
    assert E.evaluate("${a.x.2023} - ${a.x.2021}", vals.get) == Decimal("10.50")
    assert E.evaluate("${a.x.2021} / 0", vals.get) is None
    assert E.evaluate("${a.missing} + 1", vals.get) is None
    assert E.evaluate("${a.n} >= 3 and ${a.n} < 4", vals.get) is True
    assert E.refs("cagr(${a.x.2021}, ${a.x.2023}, 2)") == ["a.x.2021", "a.x.2023"]


@pytest.mark.parametrize("bad", ["__import__('os')", "${a}.real", "open('x')", "[1, 2]", "lambda: 1", "${a} if 1 else 2"])
def test_expressions_refuse_anything_but_arithmetic(bad):
    with pytest.raises(E.ExprError):
        E.compile_expr(bad)


def test_hostile_shapes_are_refused_not_crashed():
    from clusterdesk.model.form import default_catalog
    from clusterdesk.model.values import parse_rows

    huge = 10**5000  # longer than Python will print as text
    with pytest.raises(ValueProblem, match="内容过长"):
        parse(huge, Spec("text"))
    with pytest.raises(ValueProblem, match="超出"):
        parse(huge, NUM)
    with pytest.raises(ValueProblem, match="超出"):
        parse(huge, INT)
    targets = default_catalog().get("cq-2024-application").cell("plan.targets").field
    with pytest.raises(ValueProblem, match="未知的固定行"):
        parse_rows([{"key": ["output_growth"]}], targets)  # a list where a row key belongs

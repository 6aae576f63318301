"""Hypothesis strategies shared by the fuzz tests (not a test module)."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Seeds and the example database come from the profile (tests/conftest.py): derandomized in the
# test command, random in ``make fuzz``, which also multiplies every count below by SCALE.
SCALE = max(1, settings.default.max_examples // 1000)


def examples(n: int) -> int:
    """``n`` examples in the test command, ``n × SCALE`` under ``make fuzz``."""
    return n * SCALE


FUZZ = settings(max_examples=examples(1000), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])

FULLWIDTH = str.maketrans("0123456789.,+-%", "０１２３４５６７８９．，＋－％")
DIGIT_SETS = ["0123456789", "０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩", "०१२३४५६७८९", "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗"]
EMOJI = "😀🏭🇨🇳👨‍👩‍👧✅🔥"
SPECIAL_TEXTS = [
    "1e308", "-1e308", "1E5", "NaN", "nan", "-NaN", "inf", "-inf", "Infinity", "sNaN", "-0", "+0", "-0.00",
    "0.000", "１２３.４５", "１２３．４５", "1,234,567.891", "1,23,456", "12,34", "999999999999999.99",
    "999999999999999", "1000000000000000", "-999999999999999.99", "0.005", "0.004999", "-0.005", "1e-7",
    "0x10", "1_000", "１，２３４", "", " ", "\u3000", "无", "-", "/", ".", "+.5", "5.", "٣٫٥", "²", "½",
    "¹²³", "⑫", "12%", "12 %", "12％", "12%%", "12个", "12平方公里", "−12", "－12", "12-", "1 2 3",
    "\t12\n", "12\x00", "\ud800", "12\ud83d", "是", "否", " 是 ", "是\u200b", "√", "☑",
]


DECIMALS = [Decimal("NaN"), Decimal("-NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity"),
            Decimal("-0"), Decimal("-0.000"), Decimal("1E+999999"), Decimal("1E-999999"), Decimal("123.455"),
            Decimal("-100.005"), Decimal("99.995"), Decimal("1E+15"), Decimal("999999999999999.99"),
            Decimal("0.0049999")]


@lru_cache(maxsize=None)  # build each strategy once: constructing them is what is slow
def unicode_chars():
    return st.one_of(
        st.characters(codec=None, exclude_categories=()),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, exclude_categories=()),
        st.sampled_from(list("０１２３４５６７８９．，＋－％,.%-+ \u3000\t\n\r\x0b\x00" + EMOJI)),
    )


@lru_cache(maxsize=None)  # build each strategy once: constructing them is what is slow
def any_text(max_size: int = 40):
    return st.text(unicode_chars(), max_size=max_size)


@lru_cache(maxsize=None)
def numeric_text():
    return _numeric_text()


@st.composite
def _numeric_text(draw):
    """(intended Decimal or None, text a user might type for it)."""
    digits = draw(st.sampled_from(DIGIT_SETS))
    int_part = draw(st.integers(min_value=0, max_value=10**17))
    frac_len = draw(st.integers(min_value=0, max_value=8))
    frac = draw(st.integers(min_value=0, max_value=10**frac_len - 1)) if frac_len else 0
    negative = draw(st.booleans())
    grouped = draw(st.booleans())
    body = f"{int_part:,}" if grouped else str(int_part)
    if frac_len:
        body += "." + str(frac).rjust(frac_len, "0")
    value = Decimal(body.replace(",", ""))
    if negative:
        value = -value
    table = str.maketrans("0123456789", digits)
    text = body.translate(table)
    if draw(st.booleans()):
        text = text.replace(".", "．").replace(",", "，")
    sign = draw(st.sampled_from(["-", "−", "－"])) if negative else draw(st.sampled_from(["", "+", "＋"]))
    suffix = draw(st.sampled_from(["", "%", "％", " %", "个", "平方公里", "亿元"]))
    pad_l = draw(st.sampled_from(["", " ", "\u3000", "\t"]))
    pad_r = draw(st.sampled_from(["", " ", "\u3000", "\n"]))
    return value, f"{pad_l}{sign}{text}{suffix}{pad_r}"


@lru_cache(maxsize=None)  # build each strategy once: constructing them is what is slow
def long_paste():
    return st.one_of(
        st.builds(lambda c, n: c * n, st.sampled_from(["1", "１", "9", "字", "😀", "a", " ", "\n"]),
                  st.integers(9000, 10000)),
        st.builds(lambda t: (t * (10000 // max(1, len(t)) + 1))[:10000], st.text(unicode_chars(), min_size=1,
                                                                               max_size=20)),
        st.just("1" * 5000 + "." + "9" * 5000),
        st.just("1," * 4999 + "1"),
    )


@lru_cache(maxsize=None)  # build each strategy once: constructing them is what is slow
def json_scalars():
    return st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**30, max_value=10**30),
                     st.floats(allow_nan=True, allow_infinity=True), any_text(20),
                     st.sampled_from(SPECIAL_TEXTS))


@lru_cache(maxsize=None)  # build each strategy once: constructing them is what is slow
def raw_inputs():
    """Anything that can arrive in a cell: typed text, pasted text, template JSON values."""
    return st.one_of(
        any_text(),
        st.sampled_from(SPECIAL_TEXTS),
        numeric_text().map(lambda vt: vt[1]),
        long_paste(),
        json_scalars(),
        st.sampled_from(DECIMALS),
        st.lists(json_scalars(), max_size=3),
        st.dictionaries(any_text(8), json_scalars(), max_size=2),
    )


@lru_cache(maxsize=None)
def json_values():
    return st.recursive(json_scalars(), lambda ch: st.lists(ch, max_size=3) | st.dictionaries(any_text(6), ch,
                                                                                             max_size=3),
                        max_leaves=6)

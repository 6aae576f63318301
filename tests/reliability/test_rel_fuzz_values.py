"""6a. Property tests of every field-type parser (values.parse and service.parse_cell).

For any input — any Unicode incl. emoji and lone surrogates, full-width and other Unicode digits,
thousands separators, 1e308, NaN, -0, 10,000-character pastes, JSON values of any type — the parser
either returns a value that round-trips (parse(format(value)) == value, lists: parse(value) == value)
or raises ValueProblem / InputError with a Chinese message; never any other exception.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from fuzz_strategies import FUZZ, SPECIAL_TEXTS, any_text, numeric_text, raw_inputs
from rel_support import bump, has_cjk

from clusterdesk.model.form import default_catalog
from clusterdesk.model.values import MAX_TEXT, Spec, ValueProblem, format_value, parse
from clusterdesk.service import InputError, parse_cell

# Hypothesis tests (their @given functions are built inside the tests): `make fuzz` selects them.
pytestmark = pytest.mark.hypothesis

FORM = default_catalog().get("cq-2024-application")
LIMIT = Decimal("1e15")
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

# one real field of every type (and a number spec without limits)
FIELDS = {
    "number": "basic.area",                       # unit 平方公里, min 0
    "percent": "industry.leading_growth.2021",    # unit %, min -100 (negatives allowed)
    "integer": "industry.enterprises.2021",       # unit 个, min 0
    "text": "cover.cluster_name",
    "narrative": next(c.key for c in FORM.answerable_cells if c.field.type == "narrative"),
    "choice": "basic.industry_type",
    "boxes": "industry.chain_work",
}
SPECS = {name: Spec.of(FORM.cell(key).field) for name, key in FIELDS.items()}
EXTRA_SPECS = {"number_unlimited": Spec("number", decimals=2),
               "percent_0_100": Spec.of(FORM.cell("industry.sme_share.2021").field),
               "matrix": Spec.of(FORM.cell("innovation.standards.2021.national.lead").field)}


def _known_1e15_bug(spec: Spec, value) -> bool:
    """values.parse_decimal range-checks before rounding (see test_rounding_up_to_the_limit)."""
    if spec.type in ("number", "percent", "integer") and value is not None:
        return abs(Decimal(str(value))) >= LIMIT
    return False


def check_value(spec: Spec, raw, in_property: bool = True):
    try:
        v = parse(raw, spec)
    except ValueProblem as e:
        assert has_cjk(str(e)), f"message without Chinese: {e!r}"
        return "rejected"
    if _known_1e15_bug(spec, v):  # reported by test_rounding_up_to_the_limit
        if in_property:
            assume(False)
        return "known bug"
    if v is None:
        return "empty"
    t = spec.type
    if t in ("number", "percent"):
        assert isinstance(v, str) and re.fullmatch(r"-?\d+\.\d{%d}" % spec.decimals, v), v
        d = Decimal(v)
        assert abs(d) < LIMIT and not (d == 0 and v.startswith("-"))
        assert spec.min is None or d >= spec.min
        assert spec.max is None or d <= spec.max
        assert parse(format_value(v, spec), spec) == v
    elif t == "integer":
        assert isinstance(v, int) and not isinstance(v, bool)
        assert abs(v) < LIMIT
        assert spec.min is None or v >= spec.min
        assert parse(format_value(v, spec), spec) == v
    elif t in ("text", "narrative"):
        assert isinstance(v, str) and v == v.strip() and v
        assert not _XML_ILLEGAL.search(v) and len(v) <= MAX_TEXT
        v.encode("utf-8")  # storable
        assert parse(format_value(v, spec), spec) == v
    elif t == "choice":
        assert v in spec.options
        assert parse(format_value(v, spec), spec) == v
    elif t == "boxes":
        assert isinstance(v, list) and v and v == [o for o in spec.options if o in v]
        assert parse(v, spec) == v
    return "accepted"


@pytest.mark.parametrize("target", sorted(SPECS))
def test_parser_never_crashes_and_round_trips(target):
    spec = SPECS[target]
    extra = st.sampled_from(list(spec.options) + [f" {o} " for o in spec.options]) if spec.options else st.nothing()
    boxes = st.lists(st.one_of(st.sampled_from(list(spec.options) or ["x"]), any_text(5)), max_size=6)

    @FUZZ
    @given(raw=st.one_of(raw_inputs(), extra, boxes))
    @example(raw="１２３.４５")
    @example(raw="1e308")
    @example(raw="NaN")
    @example(raw="-0")
    @example(raw="1" * 10000)
    def run(raw):
        bump("hypothesis", f"parse.{target}")
        check_value(spec, raw)

    run()


def test_specific_inputs_are_taken_as_meant():
    num = EXTRA_SPECS["number_unlimited"]
    assert parse("１２３.４５", num) == "123.45"
    assert parse("１２３．４５", num) == "123.45"
    assert parse("1,234,567.891", num) == "1234567.89"
    assert parse("12.345", num) == "12.35"  # half up
    assert parse("-0", num) == "0.00"
    assert parse("-0.001", num) == "0.00"
    assert parse("12%", EXTRA_SPECS["percent_0_100"]) == "12.00"
    assert parse("-12.5%", SPECS["percent"]) == "-12.50"
    assert parse("１２个", SPECS["integer"]) == 12
    for bad in ("1e308", "NaN", "inf", "0x10", "1_000", "12,34"):
        with pytest.raises(ValueProblem) as err:
            parse(bad, num)
        assert has_cjk(str(err.value))
    for raw in SPECIAL_TEXTS:
        for spec in [*SPECS.values(), *EXTRA_SPECS.values()]:
            check_value(spec, raw, in_property=False)


@FUZZ
@given(vt=numeric_text())
def test_numbers_typed_any_way_mean_the_same(vt):
    """Full-width / Arabic-Indic / Devanagari digits, thousands separators, units, signs, padding."""
    bump("hypothesis", "parse.number_oracle")
    value, text = vt
    spec = Spec("number", decimals=2, unit="亿元")
    expected = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if expected == 0:
        expected = abs(expected)
    if text.strip().endswith(("个", "平方公里")):  # not this field's unit
        with pytest.raises(ValueProblem):
            parse(text, spec)
        return
    if abs(value) >= LIMIT:
        with pytest.raises(ValueProblem) as err:
            parse(text, spec)
        assert has_cjk(str(err.value))
        return
    assume(abs(expected) < LIMIT)  # the rounding-up edge is the xfail test below
    assert parse(text, spec) == format(expected, "f"), text


@pytest.mark.parametrize("target,raw", [("number_unlimited", "999999999999999.999"),
                                        ("integer", "999999999999999.9999999")])
def test_rounding_up_to_the_limit(target, raw):
    spec = {**SPECS, **EXTRA_SPECS}[target]
    try:
        v = parse(raw, spec)
    except ValueProblem:
        return  # refusing is fine
    assert parse(format_value(v, spec), spec) == v


# ----------------------------------------------------------------------------- repeat rows via parse_cell

# parse_rows is one function: one table with fixed rows, choices and free values, one with integers
REPEATS = ["plan.targets", "innovation.standards_list"]


def _row_strategy(key: str):
    f = FORM.cell(key).field
    cols = [c.id for c in f.columns]
    fixed = [r["key"] for r in f.fixed_rows]
    row_key = st.one_of(st.sampled_from(fixed or ["x"]), any_text(6), st.none(), st.integers(),
                        st.lists(st.integers(), max_size=2), st.just({}))
    row = st.dictionaries(st.sampled_from(cols + ["junk", ""]), raw_inputs(), max_size=len(cols) + 1)
    row_with_key = st.builds(lambda r, k: {**r, "key": k}, row, row_key)
    rows = st.lists(st.one_of(row, row_with_key, raw_inputs()), max_size=5)
    return st.one_of(rows, raw_inputs())


@pytest.mark.parametrize("key", REPEATS)
def test_repeat_rows_never_crash_and_round_trip(key):
    @FUZZ
    @given(raw=_row_strategy(key))
    def run(raw):
        bump("hypothesis", f"parse_cell.repeat.{key}")
        try:
            v = parse_cell(FORM, key, raw)
        except InputError as e:
            assert has_cjk(str(e)), repr(e)
            return
        assume(not any(_known_1e15_bug(Spec.of(c), r.get(c.id)) for r in (v or [])
                       for c in FORM.cell(key).field.columns if c.type in ("number", "percent", "integer")))
        if v is None:
            return
        assert isinstance(v, list) and all(isinstance(r, dict) and r for r in v)
        assert parse_cell(FORM, key, v) == v

    run()


# Regression (was a crash: TypeError 'unhashable type' from `v not in fixed`; fixed in 6427019).
@pytest.mark.parametrize("bad", [[], {}, [1]])
def test_repeat_row_key_of_wrong_type(bad):
    with pytest.raises(InputError) as err:
        parse_cell(FORM, "plan.targets", [{"key": bad, "target": "1"}])
    assert has_cjk(str(err.value))


# ----------------------------------------------------------------------------- through DraftSession into the store

@pytest.fixture(scope="module")
def session(tmp_path_factory):
    from clusterdesk.service import DraftSession, create_draft
    from clusterdesk.store import Store

    # logic, not durability: keep the 1000 fsyncs cheap on a RAM disk when there is one
    import os
    import tempfile

    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    folder = tempfile.mkdtemp(prefix="clusterdesk-fuzz-", dir=base) if base else tmp_path_factory.mktemp("fuzzdb")
    store = Store.open(os.path.join(folder, "clusterdesk.sqlite3"))
    info = create_draft(store, FORM)
    yield DraftSession(store, info.id)
    store.close()
    if base:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


KEYS = [c.key for c in FORM.answerable_cells]


def test_draft_session_set_stores_exactly_what_it_accepts(session):
    from clusterdesk.store import StoreError

    @FUZZ
    @given(key=st.sampled_from(KEYS), raw=raw_inputs())
    def run(key, raw):
        bump("hypothesis", "DraftSession.set")
        before = session.store.get_answers(session.draft_id).get(key)
        try:
            session.set(key, raw)
        except InputError as e:
            assert has_cjk(str(e))
            assert session.store.get_answers(session.draft_id).get(key) == before
            return
        except StoreError as e:  # pragma: no cover - would be a finding
            raise AssertionError(f"store refused a parsed value: {e}") from e
        assert session.store.get_answers(session.draft_id).get(key) == session.value(key)

    run()

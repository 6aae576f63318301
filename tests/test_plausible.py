"""The plausibility rule (请核对): a year far from its neighbours, a value past the range of its
unit. Warnings that name both numbers, never errors; the same in the CLI's validate."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from pydantic import ValidationError

from cd_support import DEMO
from cd_support import run_cli as run
from clusterdesk.model.rules import has_errors, plausibility_problems, plausible_for, validate
from clusterdesk.model.schema import Field, Form, Plausible
from test_rules import answers_of


def plausible_lines(form, ans) -> list[str]:
    return [str(p) for p in validate(form, ans) if p.kind == "plausible"]


def test_the_demo_is_plausible(cq_form, demo_cq):
    assert plausibility_problems(cq_form, answers_of(cq_form, demo_cq)) == []


def test_a_year_typed_into_a_filled_cell_is_named_with_its_neighbour(cq_form, demo_cq):
    # the case: 52.30 corrected by clicking and typing 29 gave 2952.30
    ans = answers_of(cq_form, demo_cq, industry__total_output__2023="2952.3")
    assert plausible_lines(cq_form, ans) == [
        "二、主导产业情况 · 集群总产值（亿元） 2023年：2952.30 亿元，是 2022 年的 50 倍，请核对"]
    problems = validate(cq_form, ans)
    assert not has_errors(problems), "a warning: the value may be right"


@pytest.mark.parametrize("y2021, y2022, y2023, expected", [
    # the odd one out is named, against its nearest ordinary neighbour
    ("523", "58.7", "66.4", ["2021年：523.00 亿元，是 2022 年的 8.9 倍，请核对"]),
    ("52.3", "5.87", "66.4", ["2022年：5.87 亿元，是 2021 年的 1/8.9，请核对"]),
    ("52.3", "5870", "66.4", ["2022年：5870.00 亿元，超过常见上限 5000 亿元，请核对"]),
    # ×5 is the line: 5 times is still plausible, 5.01 times is not
    ("10", "50", "50", []),
    ("10", "50.1", "50.1", ["2021年：10.00 亿元，是 2022 年的 1/5，请核对"]),
    # steady growth is no jump; a zero is not compared
    ("20", "60", "150", []),
    ("0", "58.7", "66.4", []),
])
def test_which_year_is_flagged(cq_form, demo_cq, y2021, y2022, y2023, expected):
    ans = answers_of(cq_form, demo_cq, industry__total_output__2021=y2021,
                     industry__total_output__2022=y2022, industry__total_output__2023=y2023)
    prefix = "二、主导产业情况 · 集群总产值（亿元） "
    assert [line.removeprefix(prefix) for line in plausible_lines(cq_form, ans)] == expected


def test_with_two_years_the_later_one_is_flagged(cq_form, demo_cq):
    # 120 → 62 typed as 62120 into a cell that held 120
    ans = answers_of(cq_form, demo_cq, industry__enterprises__2021=120, industry__enterprises__2022=62120,
                     industry__enterprises__2023=None, industry__smes__2022=100)
    assert "二、主导产业情况 · 集群企业数量 2022年：62120 个，是 2021 年的 518 倍，请核对" in plausible_lines(cq_form, ans)


def test_a_value_past_the_range_of_its_unit(cq_form, demo_cq):
    ans = answers_of(cq_form, demo_cq, industry__leading_growth__2022="1438")
    assert plausible_lines(cq_form, ans) == [
        "二、主导产业情况 · 集群主导产业产值增速（%） 2022年：1438.00%，超过常见上限 500%，请核对"]


def test_small_counts_do_not_jump(cq_form, demo_cq):
    # 国家级专精特新"小巨人" 1 → 6 is a real cluster's story: counts of that unit have no jump rule
    ans = answers_of(cq_form, demo_cq, industry__little_giants__2021=1, industry__little_giants__2022=1,
                     industry__little_giants__2023=6)
    assert plausible_lines(cq_form, ans) == []


def test_a_fields_own_range_overrides_its_units_key_by_key(cq_form):
    _, enterprises = cq_form.field("industry.enterprises")
    _, little = cq_form.field("industry.little_giants")
    assert plausible_for(cq_form, enterprises) == Plausible(unit="个", max=Decimal(100000), jump=Decimal(5))
    assert plausible_for(cq_form, little) == Plausible(unit="个", max=Decimal(100000))


def test_the_schema_checks_plausible_entries(cq_form):
    data = cq_form.form.model_dump()
    with pytest.raises(ValidationError, match="必须给出 unit"):
        Form.model_validate({**data, "plausible": [{"max": 5}]})
    with pytest.raises(ValidationError, match="同一单位只能出现一次"):
        Form.model_validate({**data, "plausible": [{"unit": "亿元", "max": 5}, {"unit": "亿元", "jump": 3}]})
    with pytest.raises(ValidationError, match="不写 unit"):
        Field.model_validate({"id": "x", "type": "number", "label": "x", "plausible": {"unit": "亿元"}})
    with pytest.raises(ValidationError):
        Plausible(jump=Decimal("0.5"))  # a jump factor must be above 1


def test_cli_validate_reports_it_as_a_warning(tmp_path):
    demo = json.loads((DEMO / "cq-2024-application.json").read_text(encoding="utf-8"))
    demo["answers"]["industry.total_output.2023"] = "2952.30"
    demo["evidence"] = {}
    f = tmp_path / "f.json"
    f.write_text(json.dumps(demo, ensure_ascii=False), encoding="utf-8")
    p = run("validate", str(f), db=tmp_path / "d.db")
    assert p.returncode == 0, p.stdout  # warnings do not fail validation
    assert not [line for line in p.stdout.splitlines() if line.startswith("错误")]
    assert "提示\t二、主导产业情况 · 集群总产值（亿元） 2023年：2952.30 亿元，是 2022 年的 50 倍，请核对" in p.stdout.splitlines()

"""Messages and templates as a newcomer meets them (issue 14).

- messages join a label and its colon without “。：” (the forms' labels that end in a full stop).
"""

from __future__ import annotations

import json

from clusterdesk.model.form import colon_join


# -- labels --------------------------------------------------------------------------------------


def test_a_label_ending_in_a_full_stop_takes_the_colon_in_its_place():
    assert colon_join("总体思路。", "必填") == "总体思路：必填"
    assert colon_join("八、规划 · （1）2024年度。", "x") == "八、规划 · （1）2024年度：x"
    assert colon_join("集群名称：", "x") == "集群名称：x"
    assert colon_join("集群总产值（亿元） 2021年", "x") == "集群总产值（亿元） 2021年：x"


def test_no_message_says_full_stop_and_colon(catalog):
    from clusterdesk.model.rules import Answers, eligibility, validate

    for fd in catalog:  # an empty draft of each form has a problem for every required place
        ans = Answers(fd, {})
        lines = [str(p) for p in validate(fd, ans)] + [ln for r in eligibility(fd, ans) for ln in r.lines]
        assert lines
        assert not [ln for ln in lines if "。：" in ln], fd.id
    cq = catalog.get("cq-2024-application")
    plan = [str(p) for p in validate(cq, Answers(cq, {}))]
    assert "八、未来三年中小企业特色产业集群发展规划 · 总体思路：必填栏目不得空缺，无相关情况时应填写“无”" in plan


def test_the_field_editor_strips_the_place_of_a_label_ending_in_a_full_stop():
    from clusterdesk.ui.widgets import strip_where

    where = "八、未来三年中小企业特色产业集群发展规划 · 总体思路。"
    assert strip_where(colon_join(where, "必填栏目不得空缺"), where) == "必填栏目不得空缺"

"""Messages and templates as a newcomer meets them (issue 14).

- messages join a label and its colon without “。：” (the forms' labels that end in a full stop);
- an untouched template is as empty imported from .xlsx as from .json (same completion, same
  answers, same problems), while what is typed in the printed rows of a table is kept.
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


# -- completion of an untouched template ----------------------------------------------------------


def test_an_untouched_template_is_equally_empty_from_json_and_xlsx(tmp_path, store, catalog):
    from clusterdesk.model.rules import Answers, validate
    from clusterdesk.service import completion
    from clusterdesk.templates import import_file, write_template

    for fd in catalog:
        ids = {}
        for suffix in (".json", ".xlsx"):
            ids[suffix] = import_file(store, write_template(fd, tmp_path / f"{fd.id}{suffix}"))
        values = {s: store.get_answers(i) for s, i in ids.items()}
        assert values[".json"] == values[".xlsx"] == {}, fd.id
        assert completion(fd, values[".json"]) == completion(fd, values[".xlsx"]) == 0, fd.id
        problems = {s: [str(p) for p in validate(fd, Answers(fd, v))] for s, v in values.items()}
        assert problems[".json"] == problems[".xlsx"], fd.id


def test_a_value_typed_in_a_printed_row_of_the_xlsx_template_is_kept(tmp_path, store, cq_form):
    """The printed rows themselves are no answer, but what the user types in them is: the
    whole table is kept, printed rows included, in the form's order."""
    from openpyxl import load_workbook

    from clusterdesk.service import completion
    from clusterdesk.templates import import_file, write_template

    path = write_template(cq_form, tmp_path / "t.xlsx")
    wb = load_workbook(path)
    name = json.loads(dict(wb["说明"].iter_rows(values_only=True))["repeat_sheets"])["plan.targets"]
    ws = wb[name]
    ids = [c.value for c in ws[2]]
    row = next(r for r in ws.iter_rows(min_row=3) if r[0].value == "output_growth")
    row[ids.index("baseline")].value = "14.80%"
    wb.save(path)
    did = import_file(store, path)
    rows = store.get_answers(did)["plan.targets"]
    assert [r["key"] for r in rows] == [r["key"] for r in cq_form.cell("plan.targets").field.fixed_rows]
    assert rows[0]["baseline"] == "14.80%" and rows[0]["indicator"] == "集群产值年均增速"
    assert completion(cq_form, store.get_answers(did)) > 0


def test_a_table_of_printed_rows_only_holds_no_answer(cq_form):
    from clusterdesk.model.values import parse_rows

    from clusterdesk.model.plan import table_rows

    field = cq_form.cell("plan.targets").field
    printed = table_rows(field, [])  # the rows the form prints, as an untouched template shows them
    assert printed and all("unused" not in r for r in printed)
    assert parse_rows(printed, field) is None
    assert parse_rows([{"key": r["key"]} for r in printed], field) is None
    own = {"direction": "其它", "indicator": "集群品牌数量", "target": "3个"}
    rows = parse_rows(printed + [own], field)
    assert rows is not None and rows[:-1] == printed and rows[-1] == own  # kept whole, in order
    changed = [dict(printed[0], indicator="集群主导产业产值年均增速")] + printed[1:]
    assert parse_rows(changed, field) == changed


def test_the_field_editor_strips_the_place_of_a_label_ending_in_a_full_stop():
    from clusterdesk.ui.editors import strip_where

    where = "八、未来三年中小企业特色产业集群发展规划 · 总体思路。"
    assert strip_where(colon_join(where, "必填栏目不得空缺"), where) == "必填栏目不得空缺"

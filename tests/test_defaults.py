"""Values carried from the cover into section 一 by a ``default:`` expression: they count as the
answer until the user types their own, for the wizard, validate and the export alike."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from clusterdesk.model import expr as E
from clusterdesk.model.schema import Field
from clusterdesk.service import DraftSession, create_draft, load_answers


@pytest.mark.parametrize("text, name, phone", [
    ("李明 023-49881234", "李明", "023-49881234"),
    ("联系人：李明，电话：13800000000", "李明", "13800000000"),
    ("张三13912345678", "张三", "13912345678"),
    ("王五（023）4988 1234 转 802", "王五", "（023）4988 1234 转 802"),
    ("赵六、钱七 023-12345678 13800000000", "赵六、钱七", "023-12345678，13800000000"),
    ("李四", "李四", None),
    ("13800000000", None, "13800000000"),
    ("李明 123", "李明 123", None),  # too short to be a telephone number
    ("", None, None),
])
def test_contact_name_and_phone_split_the_covers_contact(text, name, phone):
    assert E.contact_name(text) == name
    assert E.contact_phone(text) == phone
    assert E.evaluate("contact_phone(${a})", {"a": text}.get) == phone


def test_section_one_takes_the_covers_values_until_the_user_types(store, cq_form):
    s = DraftSession(store, create_draft(store, cq_form).id)
    s.set("cover.authority", "重庆市永川区经济和信息化委员会")
    s.set("cover.contact", "李明 023-49881234")
    ans = s.answers()
    assert ans.value("basic.authority") == "重庆市永川区经济和信息化委员会"
    assert ans.value("basic.operator_contact") == "李明"
    assert ans.value("basic.operator_phone") == "023-49881234"
    assert ans.is_default("basic.operator_contact")
    assert "basic.operator_contact" not in s.values  # not stored: it follows the cover
    missing = {p.key for p in s.problems() if p.kind == "required"}
    assert not missing & {"basic.authority", "basic.operator_contact", "basic.operator_phone"}
    assert "basic.authority_contact" in missing  # the 主管部门's own contact is not on the cover
    # the cover changes: section 一 follows
    s.set("cover.contact", "王芳 13800000000")
    assert s.answers().value("basic.operator_contact") == "王芳"
    # the user's own value wins, and stays when the cover changes again
    s.set("basic.operator_contact", "刘强")
    s.set("cover.contact", "李明 023-49881234")
    assert s.answers().value("basic.operator_contact") == "刘强"
    assert not s.answers().is_default("basic.operator_contact")
    # what the export and the CLI read (load_answers) is the same
    _form, loaded = load_answers(store, s.draft_id)
    assert loaded.value("basic.operator_phone") == "023-49881234"
    assert loaded.value("basic.operator_contact") == "刘强"


def test_default_is_checked_by_the_schema(cq_form):
    with pytest.raises(ValidationError, match="default 不能与 calculation 同用"):
        Field.model_validate({"id": "x", "type": "text", "label": "x", "default": "${a.b}", "calculation": "${a.b}"})
    from clusterdesk.model.form import FormDefinitionError, load_form

    data = cq_form.source.read_text(encoding="utf-8").replace(
        'default: "${cover.authority}"', 'default: "${cover.no_such}"')
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "f.yaml"
        p.write_text(data, encoding="utf-8")
        with pytest.raises(FormDefinitionError, match=r"basic\.authority\.default: 引用了不存在的栏目"):
            load_form(p)


def test_a_section_with_nothing_to_answer_says_so(store, cq_form):
    s = DraftSession(store, create_draft(store, cq_form).id)
    last = cq_form.sections[-1]
    assert not [c for c in cq_form.answerable_cells if c.section.id == last.id]
    assert s.section_state(last.id) == "nothing"  # not 已完成 on a new draft
    assert s.section_state("industry") == "not_started"
    assert s.missing_required("basic")[:2] == ["basic.authority", "basic.authority_contact"]

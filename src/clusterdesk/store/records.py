"""What the store hands out (``DraftInfo``, ``EvidenceInfo``, ``DamagedValue``, ``Repair``) and the
rows it reads with plain SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple




# --------------------------------------------------------------------------- public records


@dataclass(frozen=True)
class DraftInfo:
    id: int
    uuid: str
    form_id: str
    form_version: int
    title: str
    created_at: datetime
    updated_at: datetime
    linked_draft_id: int | None


@dataclass(frozen=True)
class EvidenceInfo:
    id: int
    draft_id: int
    key: str
    option: str
    filename: str
    sha256: str
    size: int
    added_at: datetime
    position: int


# --------------------------------------------------------------------------- rows read with plain SQL

# A row of ``draft`` / ``evidence`` as read with plain SQL (``models.py`` describes the tables): the
# public records hold the same columns (an evidence record adds its file's size), so their fields
# name what is selected. tests/test_store.py checks that they match the tables.
# The values are as SQLite holds them (times as text), checked before they become records.
class DraftRecord(NamedTuple):
    id: Any
    uuid: Any
    form_id: Any
    form_version: Any
    title: Any
    created_at: Any
    updated_at: Any
    linked_draft_id: Any


class EvidenceRecord(NamedTuple):
    id: Any
    draft_id: Any
    key: Any
    option: Any
    filename: Any
    sha256: Any
    added_at: Any
    position: Any


DRAFT_SELECT = ", ".join(DraftRecord._fields)
EVIDENCE_SELECT = ", ".join(f'evidence."{name}"' for name in EvidenceRecord._fields)


# What a damaged value is called in messages: the table's own words, then the draft columns'.
_WHAT = {"answer": "栏目“{key}”的填写内容", "note": "栏目“{key}”的备注", "meta": "草稿信息“{key}”",
         "draft": "{key}", "evidence": "{key}", "blob": "{key}", "state": "{key}"}
DRAFT_COLUMNS = {"uuid": "标识", "form_id": "表单", "form_version": "表单版本", "title": "名称",
                  "created_at": "创建时间", "updated_at": "修改时间", "linked_draft_id": "关联草稿"}
EVIDENCE_COLUMNS = {"draft_id": "所属草稿", "key": "栏目", "option": "选项", "filename": "文件名",
                     "sha256": "内容标识", "added_at": "添加时间", "position": "顺序"}


@dataclass(frozen=True)
class DamagedValue:
    """One stored value that cannot be read back as it was written.

    ``table`` is answer / note / meta / draft / evidence / blob / state; ``key`` the field key
    (answer, note), the meta key, or the Chinese name of the damaged column; ``raw`` the stored
    text as far as it can be read (bytes that are not UTF-8 as ``\\xNN``)."""

    table: str
    draft_id: int | None
    draft_title: str
    form_id: str
    key: str
    reason: str
    raw: str
    rowid: int
    column: str

    def subject(self) -> str:
        """Which value: the draft, and the field in its form's own words (section · label) where
        the draft's form is installed, else its key."""
        what = _WHAT[self.table].format(key=self.key)
        if self.table in ("answer", "note"):
            where = _field_where(self.form_id, self.key)
            if where:
                what = f"“{where}”的{'填写内容' if self.table == 'answer' else '备注'}"
        if self.draft_id is None:
            return f"数据库中{what}"
        return f"草稿“{self.draft_title}”（编号 {self.draft_id}）的{what}"

    def message(self) -> str:
        """A Chinese line naming the draft and the field, and what is wrong."""
        return f"{self.subject()}已损坏：{self.reason}"


def _field_where(form_id: str, key: str) -> str | None:
    """How the installed form names a field (``一、基本情况 · 集群占地面积（平方公里）``), if it has it."""
    try:
        from clusterdesk.model.form import default_catalog

        catalog = default_catalog()
        if form_id in catalog and catalog.get(form_id).has_cell(key):
            return catalog.get(form_id).cell(key).where
    except Exception:  # noqa: BLE001 - the forms cannot be loaded here: name the key instead
        pass
    return None


@dataclass(frozen=True)
class Repair:
    """What ``Store.accept_damage`` did: each damaged value with a Chinese description of what
    became of it, and the snapshot holding the database as it was before."""

    done: list[tuple[DamagedValue, str]]
    snapshot: Path | None

    def lines(self) -> list[str]:
        """One Chinese line per value, then where the database as it was before is kept."""
        lines = [f"{item.subject()}（{item.reason}）：{action}" for item, action in self.done]
        if self.snapshot is not None:
            lines.append(f"修复前的数据库已保存为快照（不会被自动清理）：{self.snapshot}")
        return lines



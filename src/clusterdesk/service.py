"""The core operations: the one way in for the GUI and the command line alike.

``DraftSession`` edits one draft. Every change is parsed against the form definition and then
committed to SQLite at once; the session keeps the undo/redo history (the GUI only shows it) and
returns what changed so each screen refreshes only what it must.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from types import EllipsisType
from typing import Any

from clusterdesk.errors import ClusterDeskError
from clusterdesk.textsafe import has_controls, strip_controls
from clusterdesk.model.form import Catalog, FormDef, colon_join, default_catalog
from clusterdesk.model.rules import (
    Answers, ConditionResult, Problem, TargetResult, check_cell, eligibility, target_results, validate
)
from clusterdesk.model.schema import EVIDENCE_GENERAL  # the option name of evidence for a whole field
from clusterdesk.model.values import MAX_ANSWERS_CHARS, Spec, ValueProblem, parse, parse_rows
# The store's types and errors, for the windows too: no window imports the store (the layers).
from clusterdesk.store import DatabaseDamaged as DatabaseDamaged
from clusterdesk.store import DatabaseEmpty as DatabaseEmpty
from clusterdesk.store import DatabaseTooNew as DatabaseTooNew
from clusterdesk.store import DraftInfo as DraftInfo
from clusterdesk.store import EvidenceError, EvidenceInfo
from clusterdesk.store import Store as Store
from clusterdesk.store import StoreError as StoreError
from clusterdesk.store import default_db_path as default_db_path
from clusterdesk.store import preload_orm as preload_orm  # the GUI loads the writing half early


class InputError(ClusterDeskError, ValueError):
    """User input that cannot be taken; ``str()`` names section and field, in Chinese."""


@dataclass(frozen=True)
class Change:
    key: str
    old: Any
    new: Any
    old_note: str | None = None
    new_note: str | None = None


def evidence_option(form: FormDef, key: str, option: str | None) -> str:
    """Normalise the option an evidence file belongs to."""
    f = form.cell(key).field
    if f.evidence == "ticked":
        if option not in f.options:
            raise InputError(colon_join(form.cell(key).where, f"没有选项“{option}”"))
        return option
    if f.evidence == "if_yes":
        return "是"
    return EVIDENCE_GENERAL


def parse_cell(form: FormDef, key: str, raw: Any) -> Any:
    """Parse raw input for a cell or a repeat field; InputError names the place."""
    if not form.has_cell(key):
        raise InputError(f"未知的栏目 id“{key}”")
    cell = form.cell(key)
    if not cell.answerable:
        raise InputError(colon_join(cell.where, "此栏由程序计算，不能填写"))
    try:
        if cell.field.type == "repeat":
            return parse_rows(raw, cell.field)
        return parse(raw, Spec.of(cell.field))
    except ValueProblem as e:
        raise InputError(colon_join(cell.where, str(e))) from None


def parse_answers(form: FormDef, answers_in: Any) -> tuple[dict[str, Any], list[str]]:
    """Check a whole ``answers`` object from outside (template, package) against the form.

    Returns the values to store and one Chinese line per problem; nothing is stored here.
    """
    if not isinstance(answers_in, dict):
        return {}, ["answers 必须是对象（栏目 id: 值）"]
    problems: list[str] = []
    answers: dict[str, Any] = {}
    unknown = 0
    for key, raw in answers_in.items():
        if not isinstance(key, str) or not form.has_cell(key):
            unknown += 1
            if unknown <= MAX_LISTED_PROBLEMS:
                shown = re.sub(r"[\x00-\x1f\x7f-\x9f]", "?", str(key)[:60])  # one line per problem, even for "\n"
                problems.append(f"未知的栏目 id“{shown}”")
            continue
        try:
            value = parse_cell(form, key, raw)
        except InputError as e:
            problems.append(str(e))
            continue
        if value is not None:
            answers[key] = value
    if unknown > MAX_LISTED_PROBLEMS:
        problems.append(f"另有 {unknown - MAX_LISTED_PROBLEMS:,} 个未知的栏目 id 未列出")
    size = _text_size(answers)
    if size > MAX_ANSWERS_CHARS:
        problems.append(f"填报内容合计 {size:,} 字，超过 {MAX_ANSWERS_CHARS:,} 字的上限")
    return answers, problems


#: Unknown ids listed one per line; the rest are counted.
MAX_LISTED_PROBLEMS = 100


def _text_size(value: Any) -> int:
    """Characters a value expands to (texts, rows, lists), as stored and exported."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(_text_size(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_text_size(v) for v in value)
    return 8


#: The draft meta key holding the values of fields an earlier version of the form had and this one
#: has not (旧版本内容): ``{old key: {"value", "note", "version", "label"}}``.
RETIRED_META = "retired"


@dataclass
class Upgrade:
    """What bringing answers of an earlier version of a form up to this one does: keys that move
    to the field ``renamed_from`` them, and keys whose field is gone (kept aside, never dropped)."""

    moves: dict[str, str]
    retired: dict[str, dict[str, Any]]

    def apply(self, values: dict[str, Any], notes: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
        """The answers and notes under this version's keys, without the retired ones."""
        def moved(d: dict[str, Any]) -> dict[str, Any]:
            return {self.moves.get(k, k): v for k, v in d.items() if k not in self.retired}

        return moved(values), moved(notes)


def plan_upgrade(form: FormDef, values: dict[str, Any], notes: dict[str, str], from_version: int,
                 catalog: Catalog | None = None, evidence_keys: Any = ()) -> Upgrade:
    """Which stored keys of a draft (or a package, a template) made on ``from_version`` move to a
    renamed field of ``form`` and which are retired: a key the form does not have, whose field
    was not renamed (or whose value no longer fits the renamed field: kept, not forced)."""
    older = catalog.older(form.id) if catalog is not None and form.id in catalog else []
    moves: dict[str, str] = {}
    retired: dict[str, dict[str, Any]] = {}
    keys = set(values) | set(notes)
    for key in sorted(keys):
        if form.has_cell(key):
            continue
        new = form.current_key(key)
        if new is not None and new not in keys and new not in moves.values():
            try:
                if values.get(key) is not None:
                    parse_cell(form, new, values[key])
                moves[key] = new
                continue
            except InputError:
                pass
        entry = {"value": values.get(key), "note": notes.get(key), "version": from_version,
                 "label": _old_label(key, older, from_version)}
        retired[key] = {k: v for k, v in entry.items() if v is not None}
    for key in evidence_keys:
        if not form.has_cell(key) and key not in moves and key not in retired:
            new = form.current_key(key)
            if new is not None:
                moves[key] = new
    return Upgrade(moves, retired)


def _old_label(key: str, older: list[FormDef], version: int) -> str:
    """How the earlier version named a cell (``二、… · 集群总产值（亿元） 2021年``), if it is known."""
    for old in sorted(older, key=lambda f: f.version != version):
        if old.has_cell(key):
            return old.cell(key).where
    return key


def upgrade_draft(store: Store, info: DraftInfo, form: FormDef, catalog: Catalog | None = None) -> DraftInfo:
    """Open a draft made on an earlier version of its form: values, notes and evidence of renamed fields move to the new keys, values of fields that are
    gone go to the draft's 旧版本内容 (meta ``retired``), and the form's version is recorded. One
    committed transaction, after a snapshot of the database (the way back). A draft of a newer
    version than the definition installed is left as it is."""
    if info.form_version >= form.version:
        # Same version: nothing to move. (A draft is never upgraded on opening unless its form has
        # a newer version; opening must not write, or two windows on one draft would race.)
        return info
    from clusterdesk.store import WritesStopped

    values, notes = store.get_answers(info.id), store.get_notes(info.id)
    evidence_keys = {e.key for e in store.list_evidence(info.id)}
    plan = plan_upgrade(form, values, notes, info.form_version, catalog, evidence_keys)
    if info.form_version == form.version and not (plan.moves or plan.retired):
        return info
    try:
        if plan.moves or plan.retired:
            store.snapshot()
        store.upgrade_draft(info.id, form.version, plan.moves, plan.retired, RETIRED_META)
    except WritesStopped:  # damaged values: nothing is written until they are dealt with
        return info
    return store.get_draft(info.id)


def retired_values(store: Store, draft_id: int) -> dict[str, dict[str, Any]]:
    """The draft's 旧版本内容: values of fields an earlier version of its form had."""
    kept = store.get_meta(draft_id).get(RETIRED_META)
    return kept if isinstance(kept, dict) else {}


@dataclass(frozen=True)
class Retired:
    """One value of a field an earlier version of the form had, as the 旧版本内容 panel shows it."""

    key: str
    label: str  # how that version named the field, else its key
    version: int | None
    text: str  # the value as text
    note: str | None
    files: tuple[str, ...]  # evidence files linked to it (kept in the draft)


def retired_text(value: Any) -> str:
    """A kept value as text: lists joined with 、, table rows one a line."""
    if value is None:
        return ""
    if isinstance(value, list):
        if all(isinstance(v, dict) for v in value):
            return "\n".join(" | ".join(f"{v}" for k, v in row.items() if k != "key" and v not in (None, ""))
                             for row in value)
        return "、".join(str(v) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{k}：{v}" for k, v in value.items())
    return str(value)


def retired_items(store: Store, draft_id: int, form: FormDef) -> list[Retired]:
    """Everything of the draft its form's current version has no place for: the kept values, and
    evidence linked to a field that is gone. Nothing of it is dropped; the user copies what they
    need into the new fields."""
    kept = retired_values(store, draft_id)
    files: dict[str, list[str]] = {}
    for e in store.list_evidence(draft_id):
        if not form.has_cell(e.key):
            files.setdefault(e.key, []).append(strip_controls(e.filename, "?"))
    out = []
    for key in sorted(set(kept) | set(files)):
        found = kept.get(key)
        entry: dict[str, Any] = found if isinstance(found, dict) else {}
        version = entry.get("version")
        out.append(Retired(key, str(entry.get("label") or key), version if isinstance(version, int) else None,
                           retired_text(entry.get("value")), entry.get("note") if isinstance(entry.get("note"), str) else None,
                           tuple(files.get(key, ()))))
    return out


class DraftSession:
    """One open draft: edits, undo/redo, validation and evidence."""

    def __init__(self, store: Store, draft_id: int, catalog: Catalog | None = None):
        self.store = store
        self.catalog = catalog or default_catalog()
        self.info: DraftInfo = store.get_draft(draft_id)
        self.form: FormDef = self.catalog.get(self.info.form_id)
        self.info = upgrade_draft(store, self.info, self.form, self.catalog)
        self._values = store.get_answers(draft_id)
        self._notes = store.get_notes(draft_id)
        self._evidence = store.list_evidence(draft_id)
        self._answers: Answers | None = None
        self._linked: dict[str, Answers] | None = None
        self._problems_for: Answers | None = None
        self._problems_cache: list[Problem] = []
        self._undo: list[Change] = []
        self._redo: list[Change] = []

    @property
    def draft_id(self) -> int:
        return self.info.id

    # -- reading -------------------------------------------------------------------------
    def value(self, key: str) -> Any:
        return self._values.get(key)

    def note(self, key: str) -> str | None:
        return self._notes.get(key)

    @property
    def values(self) -> dict[str, Any]:
        return dict(self._values)

    def answers(self) -> Answers:
        if self._answers is None:
            self._answers = Answers(self.form, self._values, self._notes,
                                    [(e.key, e.option) for e in self._evidence])
            if self._linked is None:
                self._linked = linked_answers(self.store, self.info, self.form, self.catalog)
            self._answers.linked = self._linked
        return self._answers

    def problems(self, *, include_eligibility: bool = True) -> list[Problem]:
        if not include_eligibility:  # what the section states use too: validated once per change
            return list(self._problems_without_eligibility())
        return (validate(self.form, self.answers(), include_eligibility=True)
                + stored_evidence_problems(self.form, self._evidence))

    def _problems_without_eligibility(self) -> list[Problem]:
        ans = self.answers()
        if self._problems_for is not ans:
            self._problems_cache = (validate(self.form, ans, include_eligibility=False)
                                    + stored_evidence_problems(self.form, self._evidence))
            self._problems_for = ans
        return self._problems_cache

    def cell_problems(self, key: str) -> list[Problem]:
        return check_cell(self.form, self.form.cell(key), self.answers())

    def eligibility(self) -> list[ConditionResult]:
        return eligibility(self.form, self.answers())

    def targets(self) -> list[TargetResult]:
        return target_results(self.form, self.answers())

    def computed(self, key: str) -> Any:
        return self.answers().computed(key)

    # -- writing -------------------------------------------------------------------------
    def set(self, key: str, raw: Any, note: str | None | EllipsisType = ...) -> Change | None:
        """Parse and commit one answer. Returns the change, or None if nothing changed."""
        new = parse_cell(self.form, key, raw)
        old = self._values.get(key)
        old_note = self._notes.get(key)
        new_note = old_note if note is ... else (note or None)
        if new == old and new_note == old_note:
            return None
        change = Change(key, old, new, old_note, new_note)
        self._apply(key, new, new_note)
        self._undo.append(change)
        self._redo.clear()
        return change

    def set_note(self, key: str, note: str | None) -> Change | None:
        return self.set(key, self._values.get(key), note=note)

    def rename(self, title: str) -> Change | None:
        """Rename the draft. Where the form names its drafts by a field (``title_field``, 集群名称),
        that field takes the name, as typing it would (with undo), so the two always agree."""
        title = _draft_title(title)
        field = self.form.form.title_field
        if field and self.form.has_cell(field):
            return self.set(field, title)
        self.store.rename_draft(self.draft_id, title)
        self.info = self.store.get_draft(self.draft_id)
        return None

    def _apply(self, key: str, value: Any, note: str | None) -> None:
        if key == self.form.form.title_field:
            _set_naming_answer(self.store, self.draft_id, key, value, note)
            self.info = self.store.get_draft(self.draft_id)
        else:
            self.store.set_answer(self.draft_id, key, value, note)
        if value is None:
            self._values.pop(key, None)
        else:
            self._values[key] = value
        if note:
            self._notes[key] = note
        else:
            self._notes.pop(key, None)
        self._answers = None

    def undo(self) -> Change | None:
        if not self._undo:
            return None
        c = self._undo.pop()
        self._apply(c.key, c.old, c.old_note)
        self._redo.append(c)
        return Change(c.key, c.new, c.old, c.new_note, c.old_note)

    def redo(self) -> Change | None:
        if not self._redo:
            return None
        c = self._redo.pop()
        self._apply(c.key, c.new, c.new_note)
        self._undo.append(c)
        return c

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    # -- evidence ------------------------------------------------------------------------
    def evidence(self, key: str | None = None, option: str | None = None) -> list[EvidenceInfo]:
        """The draft's evidence as shown to the user: a control or direction character that an older
        version let into a name (``佐证\u202efdp.exe`` would show as "佐证exe.pdf" and reverse the
        rest of the line) is shown as "?"."""
        return [replace(e, filename=strip_controls(e.filename, "?")) if has_controls(e.filename) else e
                for e in self._evidence
                if (key is None or e.key == key) and (option is None or e.option == option)]

    def add_evidence(self, key: str, option: str | None, path: Path) -> EvidenceInfo:
        opt = evidence_option(self.form, key, option)
        info = self.store.add_evidence(self.draft_id, key, opt, Path(path))
        self._evidence = self.store.list_evidence(self.draft_id)
        self._answers = None
        return info

    def remove_evidence(self, evidence_id: int) -> None:
        self.store.remove_evidence(evidence_id)
        self._evidence = self.store.list_evidence(self.draft_id)
        self._answers = None

    # -- progress ------------------------------------------------------------------------
    def section_state(self, section_id: str) -> str:
        """nothing / not_started / in_progress / complete / errors (for the section list).

        ``nothing``: the section has nothing to answer (a statement to sign, for example).
        Cross-field errors (e.g. 中小企业数量 > 企业数量) count for the section of the field they name.
        """
        cells = [c for c in self.form.answerable_cells if c.section.id == section_id]
        if not cells:
            return "nothing"
        filled = [c for c in cells if self._values.get(c.key) is not None]
        problems = [p for p in self._problems_without_eligibility() if p.key.split(".", 1)[0] == section_id]
        if not filled:
            return "not_started"
        if any(p.level == "error" and p.kind != "required" for p in problems):
            return "errors"
        if any(p.kind == "required" for p in problems):
            return "in_progress"
        return "complete"

    def missing_required(self, section_id: str) -> list[str]:
        """Keys of the fields of a section that are required and still empty, in form order."""
        out: list[str] = []
        for p in self._problems_without_eligibility():
            if p.kind == "required" and p.key.split(".", 1)[0] == section_id:
                fk = self.form.cell(p.key).field_key if self.form.has_cell(p.key) else p.key
                if fk not in out:
                    out.append(fk)
        return out

    def completion(self) -> float:
        return completion(self.form, self._values)

    def retired(self) -> list[Retired]:
        """旧版本内容: values of fields an earlier version of the form had (kept, never dropped)."""
        return retired_items(self.store, self.draft_id, self.form)


def stored_evidence_problems(form: FormDef, evidence: list[EvidenceInfo]) -> list[Problem]:
    """Evidence stored by an older version whose name is not allowed any more (an ``.exe``, a name
    with a direction override): kept in the draft, never deleted, but an error of its field, so the
    user sees it; it is not opened (:func:`evidence_viewing_copy`) and not packaged."""
    from clusterdesk.evidence_types import name_problem

    out: list[Problem] = []
    for e in evidence:
        problem = name_problem(e.filename)
        if problem and form.has_cell(e.key):
            out.append(Problem("error", e.key, form.cell(e.key).where,
                               f"{problem}（这份佐证材料已保留，但不能打开，也不能打包；请移除它）", "evidence"))
    return out


def evidence_viewing_copy(store: Store, evidence_id: int, folder: Path) -> Path:
    """Write a stored evidence file into ``folder`` (private, empty) as a copy that is safe to hand
    to the system's default program: named with the extension of its checked content. Evidence
    whose content is not an allowed document or image is refused (EvidenceError), never opened."""
    from clusterdesk.evidence_types import content_kind, describe_allowed, viewing_name
    from clusterdesk.safeio import open_regular

    raw_dir = Path(folder) / ".raw"
    raw_dir.mkdir(mode=0o700)
    exported = Path(store.export_evidence(evidence_id, raw_dir))
    try:
        with open_regular(exported) as fh:
            kind = content_kind(fh)
        if kind is None:
            raise EvidenceError(
                f"佐证材料“{strip_controls(exported.name, '?')}”的内容不是允许的文档或图片（{describe_allowed()}），"
                "为安全起见不予打开。这份佐证材料仍保留在草稿中，请移除它，把原文件另存为上述格式后重新添加")
        target = Path(folder) / viewing_name(exported.name, kind)
        exported.replace(target)
        return target
    finally:
        exported.unlink(missing_ok=True)
        try:
            raw_dir.rmdir()
        except OSError:
            pass


def completion(form: FormDef, values: dict[str, Any]) -> float:
    """Share of required answerable cells that hold a value (0–1)."""
    cells = [c for c in form.answerable_cells if c.field.required]
    if not cells:
        return 1.0
    ans = Answers(form, values)
    done = sum(1 for c in cells if ans.value(c.key) is not None)
    return done / len(cells)


# The draft meta key under which a district workspace keeps its district (packages.district.META_DISTRICT).
DISTRICT_META_KEY = "district"


def display_name(store: Store, info: DraftInfo, catalog: Catalog | None = None) -> str:
    """How the draft list (GUI and ``clusterdesk drafts``) names a draft, without internal ids.

    A district workspace: ``<区县> · <notice title>``; a form with ``list_name`` (annual reports):
    that pattern, e.g. ``年度报告 2023 · <集群名称>``; otherwise the draft's title."""
    catalog = catalog or default_catalog()
    if info.form_id not in catalog:
        return info.title
    form = catalog.get(info.form_id).form
    if form.role == "district":
        district = store.get_meta(info.id).get(DISTRICT_META_KEY)
        name = district.get("name") if isinstance(district, dict) else None
        if isinstance(name, str) and name.strip():
            return f"{name.strip()} · {form.notice.title}"
    fd = catalog.get(info.form_id)
    if form.list_name:
        return form.list_name.format(year=form.year, title=info.title)
    if catalog.shares_title(fd):  # next year's edition of the same form: the year tells them apart
        return f"{info.title}（{form.year}年度）"
    return info.title


def _set_naming_answer(store: Store, draft_id: int, key: str, value: Any, note: str | None) -> None:
    """The answer of the field that names a draft (``title_field``) and the draft's name, in one
    transaction, so the two always agree."""
    title = value if isinstance(value, str) and value else "未命名草稿"
    with store.batch():
        store.set_answer(draft_id, key, value, note)
        store.rename_draft(draft_id, title)


def _draft_title(title: str) -> str:
    title = strip_controls(str(title)).strip()
    if not title:
        raise InputError("草稿名称不能为空")
    return title


def rename_draft(store: Store, draft_id: int, title: str, catalog: Catalog | None = None) -> DraftInfo:
    """Rename a stored draft. Where its form names drafts by a field (``title_field``, 集群名称), the
    field takes the name in the same transaction, so the name and the field agree; a name the
    field cannot take (too long) is refused with the field's own message."""
    title = _draft_title(title)
    info = store.get_draft(draft_id)
    catalog = catalog or default_catalog()
    form = catalog.get(info.form_id) if info.form_id in catalog else None
    field = form.form.title_field if form is not None else None
    if form is None or not field or not form.has_cell(field):
        store.rename_draft(draft_id, title)
    else:
        _set_naming_answer(store, draft_id, field, parse_cell(form, field, title), store.get_notes(draft_id).get(field))
    return store.get_draft(draft_id)


def duplicate_draft(store: Store, draft_id: int) -> DraftInfo:
    """A copy of a draft (answers, notes, evidence), named “…（副本）” so the two can be told apart."""
    info = store.get_draft(draft_id)
    return store.duplicate_draft(draft_id, f"{info.title}（副本）")


def delete_draft(store: Store, draft_id: int) -> None:
    """Delete a draft with everything in it (answers, notes, its links to evidence)."""
    store.delete_draft(draft_id)


def form_label(catalog: Catalog, form: FormDef) -> str:
    """A form's title as lists show it: with its year where another loaded form has the same
    title (this year's and next year's report)."""
    return f"{form.title}（{form.form.year}年度）" if catalog.shares_title(form) else form.title


def create_draft(store: Store, form: FormDef, title: str | None = None) -> DraftInfo:
    return store.create_draft(form.id, form.version, title or f"未命名{form.form.short_title}")


def linked_answers(store: Store, info: DraftInfo, form: FormDef, catalog: Catalog) -> dict[str, Answers]:
    """The answers of the draft this one was prefilled from (e.g. the application of an annual
    report), keyed by the prefill id, so rules can check values against it."""
    if not form.form.prefill:
        return {}
    out: dict[str, Answers] = {}

    def source(draft_id: Any) -> DraftInfo | None:
        try:
            return store.get_draft(draft_id) if isinstance(draft_id, int) else None
        except Exception:  # the source was deleted: nothing to compare with
            return None

    src_info = source(info.linked_draft_id)
    previous = None
    if any(pf.previous_year for pf in form.form.prefill):  # last year's report (复制为下一年度)
        previous = source(((store.get_meta(info.id) or {}).get("annual") or {}).get("previous"))
    for pf in form.form.prefill:
        src = previous if pf.previous_year else src_info
        if src is None or src.form_id not in catalog:
            continue
        src_form = catalog.get(src.form_id)
        if (src_form.form.family == pf.source_form) if pf.previous_year else (pf.source_form == src.form_id):
            out[pf.id] = Answers(src_form, store.get_answers(src.id), store.get_notes(src.id))
    return out


def load_answers(store: Store, draft_id: int, catalog: Catalog | None = None) -> tuple[FormDef, Answers]:
    """The form and effective answers of a stored draft (for export, validate, eligibility)."""
    catalog = catalog or default_catalog()
    info = store.get_draft(draft_id)
    form = catalog.get(info.form_id)
    info = upgrade_draft(store, info, form, catalog)
    ev = [(e.key, e.option) for e in store.list_evidence(draft_id)]
    ans = Answers(form, store.get_answers(draft_id), store.get_notes(draft_id), ev)
    ans.linked = linked_answers(store, info, form, catalog)
    return form, ans

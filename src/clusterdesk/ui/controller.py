"""The bridge between one draft window and the core's ``DraftSession``.

Widgets never touch the store: they hand raw input to :class:`DraftController`, which calls the
core, and every widget that shows an affected cell is refreshed from the ``changed`` signal.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from clusterdesk.annual import Carried, carried
from clusterdesk.fsutil import owned_prefix
from clusterdesk.model.rules import Problem
from clusterdesk.service import Change, DraftSession, InputError, StoreError, evidence_viewing_copy

from .qt import QObject, Signal


@dataclass(frozen=True)
class SectionProblems:
    title: str
    section_id: str
    state: str  # as DraftSession.section_state
    problems: list[Problem]  # errors first; empty cells of one field merged into one
    missing: int  # required fields still empty
    first_key: str  # where a click on the section's line goes

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.level == "error")

    @property
    def warnings(self) -> int:
        return len(self.problems) - self.errors


def _merge_required(form: Any, problems: list[Problem]) -> list[Problem]:
    """One line for the empty cells of one field: ``2021年、2022年共 2 格未填写；无相关情况时请填 0``."""
    groups: dict[str, list[Problem]] = defaultdict(list)
    for p in problems:
        if p.kind == "required" and form.has_cell(p.key) and form.cell(p.key).column:
            groups[form.cell(p.key).field_key].append(p)
    out: list[Problem] = []
    for p in problems:
        group = groups.get(form.cell(p.key).field_key, []) if p.kind == "required" and form.has_cell(p.key) else []
        if len(group) < 2:
            out.append(p)
        elif group[0] is p:
            cell = form.cell(p.key)
            cols = [form.cell(q.key).column or "" for q in group]
            shown = "、".join(cols) if len(cols) <= 4 else "、".join(cols[:3]) + " 等"
            hint = p.message.split("，", 1)[-1]  # 必填栏目不得空缺，无相关情况时请填 0 → the hint only
            out.append(Problem(p.level, p.key, f"{cell.section.title} · {cell.field.label}",
                               f"{shown}共 {len(group)} 格未填写；{hint}", p.kind))
    return sorted(out, key=lambda p: 0 if p.level == "error" else 1)


class DraftController(QObject):
    # (keys whose value or computed value may have changed, reload_source): keys[0] is the key
    # that was set; its widget reloads only for undo/redo (after typing it already shows the text)
    changed = Signal(list, bool)
    # the problems of the draft were recomputed
    problems_changed = Signal()
    evidence_changed = Signal(str)
    saved = Signal(str)  # HH:MM:SS
    undo_state = Signal(bool, bool)

    def __init__(self, session: DraftSession, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.form = session.form
        # problems per cell key, from the last full validation
        self._problems: dict[str, list[Problem]] = {}
        # "required" messages show only where they help: in a cell the user typed in and left
        # empty, and in the sections 检查全部 or an export attempt revealed. Both live for this
        # window only: reopening a draft filled over days starts calm, and F7 shows everything.
        self.touched: set[str] = set()
        self.revealed: set[str] = set()  # section ids
        self.last_saved: str | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        # values carried from the linked application (annual reports), by cell key or
        # "table[row].column"; empty for other drafts
        self.carried: dict[str, Carried] = {}
        self.refresh_problems()
        self.refresh_carried()

    # -- writing -----------------------------------------------------------------------
    def commit(self, key: str, raw: Any) -> str | None:
        """Hand raw input to the core. Returns the Chinese error message, or None if taken."""
        self.touched.add(key)
        try:
            change = self.session.set(key, raw)
        except (InputError, StoreError) as e:  # StoreError: busy, disk full, writes stopped (damage)
            return str(e)
        self._after(change, reload_source=False)
        return None

    def set_note(self, key: str, note: str | None) -> str | None:
        try:
            change = self.session.set_note(key, note)
        except (InputError, StoreError) as e:
            return str(e)
        self._after(change, reload_source=False)
        return None

    def rename(self, title: str) -> str | None:
        """Rename the draft (its naming field follows, with undo). Returns the Chinese error
        message, or None if taken."""
        try:
            change = self.session.rename(title)
        except (InputError, StoreError) as e:
            return str(e)
        self._after(change, reload_source=True)
        return None

    def undo(self) -> Change | None:
        change = self.session.undo()
        self._after(change, reload_source=True)
        return change

    def redo(self) -> Change | None:
        change = self.session.redo()
        self._after(change, reload_source=True)
        return change

    def add_evidence(self, key: str, option: str | None, path: Path) -> None:
        self.session.add_evidence(key, option, path)
        self._evidence_done(key)

    def remove_evidence(self, evidence_id: int, key: str) -> None:
        self.session.remove_evidence(evidence_id)
        self._evidence_done(key)

    def export_evidence(self, evidence_id: int) -> Path:
        """Copy an evidence file out of the store into a private temporary folder, to open it: named
        with the extension of its checked content, so the system's opener never runs it."""
        if self._tmp is None:
            # named as ours: removed at the next start if this process is killed
            self._tmp = tempfile.TemporaryDirectory(prefix=owned_prefix(), suffix=".evidence")
        sub = Path(tempfile.mkdtemp(dir=self._tmp.name))
        return evidence_viewing_copy(self.session.store, evidence_id, sub)

    def _evidence_done(self, key: str) -> None:
        self._mark_saved()
        self.refresh_problems()
        self.evidence_changed.emit(key)
        self.problems_changed.emit()

    def _after(self, change: Change | None, *, reload_source: bool) -> None:
        self._mark_saved()
        self.undo_state.emit(self.session.can_undo, self.session.can_redo)
        if change is None:
            self.refresh_problems()
            self.problems_changed.emit()
            return
        keys = [change.key, *self.affected_by(change.key)]
        self.refresh_problems()
        self.refresh_carried()
        self.changed.emit(keys, reload_source)
        self.problems_changed.emit()

    def affected_by(self, key: str) -> list[str]:
        """Computed cells that (transitively) read ``key``."""
        deps = self.form.dependents
        out: list[str] = []
        todo = list(deps.get(key, ()))
        # a repeat or year-less field may be referenced by its field key
        field_key = ".".join(key.split(".")[:2])
        if field_key != key:
            todo += list(deps.get(field_key, ()))
        while todo:
            k = todo.pop()
            if k in out:
                continue
            out.append(k)
            todo.extend(deps.get(k, ()))
        return out

    def _mark_saved(self) -> None:
        self.last_saved = datetime.now().strftime("%H:%M:%S")
        self.saved.emit(self.last_saved)

    # -- reading -----------------------------------------------------------------------
    def refresh_problems(self) -> None:
        grouped: dict[str, list[Problem]] = defaultdict(list)
        for p in self.session.problems(include_eligibility=False):
            grouped[p.key].append(p)
        self._problems = dict(grouped)

    def refresh_carried(self) -> None:
        if self.form.form.prefill:
            self.carried = carried(self.session.store, self.session.draft_id, self.session.values, self.session.catalog)

    def carried_cells(self, table_key: str) -> dict[tuple[str, str], Carried]:
        """The carried cells of a repeat table, by (row key, column id)."""
        out: dict[tuple[str, str], Carried] = {}
        prefix = table_key + "["
        for k, c in self.carried.items():
            if k.startswith(prefix) and "]." in k:
                row_key, col = k[len(prefix):].split("].", 1)
                out[(row_key, col)] = c
        return out

    def problems_for(self, key: str) -> list[Problem]:
        """What to show under a field: every problem, but 'required' only once the user typed in
        the field and left it empty, or once its section was revealed."""
        out = []
        for p in self._problems.get(key, ()):
            if p.kind == "required" and key not in self.touched and key.split(".", 1)[0] not in self.revealed:
                continue
            out.append(p)
        return out

    def reveal(self) -> None:
        """检查全部 or an export attempt: 'required' shows in every section the user has started.
        Sections not started stay calm (检查全部 lists each as one line)."""
        for s in self.form.sections:
            if self.session.section_state(s.id) not in ("not_started", "nothing"):
                self.revealed.add(s.id)

    def section_has_errors(self, section_id: str) -> bool:
        """Errors other than 'required' in a section, cross-field checks included."""
        prefix = section_id + "."
        return any(p.level == "error" and p.kind != "required"
                   for k, ps in self._problems.items() if k.startswith(prefix) for p in ps)

    def problem_groups(self) -> list[SectionProblems]:
        """检查全部: the problems section by section in form order, errors first in each; the empty
        cells of one field on one line; a section not yet started as one line of its own."""
        by_section: dict[str, list[Problem]] = defaultdict(list)
        for p in self.session.problems():
            by_section[p.key.split(".", 1)[0]].append(p)
        out = []
        for s in self.form.sections:
            state = self.session.section_state(s.id)
            ps = by_section.get(s.id, [])
            if not ps:
                continue
            missing = self.session.missing_required(s.id)
            first = missing[0] if missing else ps[0].key
            if state == "not_started":
                ps = [p for p in ps if p.kind != "required"]
            out.append(SectionProblems(s.title, s.id, state, _merge_required(self.form, ps), len(missing), first))
        return out

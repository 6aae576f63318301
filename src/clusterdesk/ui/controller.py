"""The bridge between one draft window and the core's ``DraftSession``.

Widgets never touch the store: they hand raw input to :class:`DraftController`, which calls the
core, and every widget that shows an affected cell is refreshed from the ``changed`` signal.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from clusterdesk.annual import Carried, carried
from clusterdesk.fsutil import owned_prefix
from clusterdesk.model.rules import Problem
from clusterdesk.service import Change, DraftSession, InputError

from .qt import QObject, Signal


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
        # keys the user has left at least once (required-field messages show only then)
        self.touched: set[str] = set()
        self.show_all_required = False
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
        except InputError as e:
            return str(e)
        self._after(change, reload_source=False)
        return None

    def set_note(self, key: str, note: str | None) -> str | None:
        try:
            change = self.session.set_note(key, note)
        except InputError as e:
            return str(e)
        self._after(change, reload_source=False)
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
        """Copy an evidence file out of the store into a private temporary folder (to open it)."""
        if self._tmp is None:
            # named as ours: removed at the next start if this process is killed
            self._tmp = tempfile.TemporaryDirectory(prefix=owned_prefix(), suffix=".evidence")
        sub = Path(tempfile.mkdtemp(dir=self._tmp.name))
        return self.session.store.export_evidence(evidence_id, sub)

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
            self.carried = carried(self.session.store, self.session.draft_id, self.session.values)

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
        """What to show under a field: every problem, but 'required' only once the field was left."""
        out = []
        for p in self._problems.get(key, ()):
            if p.kind == "required" and not (self.show_all_required or key in self.touched):
                continue
            out.append(p)
        return out

    def section_has_errors(self, section_id: str) -> bool:
        """Errors other than 'required' in a section, cross-field checks included."""
        prefix = section_id + "."
        return any(p.level == "error" and p.kind != "required"
                   for k, ps in self._problems.items() if k.startswith(prefix) for p in ps)

    def all_problems(self) -> list[Problem]:
        """Every problem of the draft, errors first (for 检查全部)."""
        problems = self.session.problems()
        return sorted(problems, key=lambda p: 0 if p.level == "error" else 1)

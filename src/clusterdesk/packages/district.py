"""The district workspace (区县中小企业主管部门): gather the clusters, check them, keep the notice's
cap, fill the summary table and compile the submission folder. Qt-free.

A district lives in the store as an ordinary draft of the notice's district-role form (Chongqing:
``cq-2024-summary``, the 汇总表; Shanghai: ``sh-2023-district-summary``), so the wizard edits it and
the exporter prints it like any other draft. Its meta holds::

    district         {"name", "notice_id", "authority", "contact", "phone"}
    clusters         [draft ids of the cluster drafts, in the summary's row order]
    summary_prefill  {draft id: {column: value last filled in from that cluster}}

The officer's own edits to prefilled cells are kept: a cell is refreshed from its cluster only
while it still holds what the program put there (or nothing).

Nothing here knows a form: the district form declares (``district:`` in its definition, schema
``DistrictSummary``) which header fields take the district's facts, which table lists the clusters,
which of its columns are filled from each cluster's form (expressions over the cluster form's
cells, an optional name pattern, the district's name left out) and which are the officer's own;
the notice (``Notice.paper`` / ``electronic``) says what is sent, how many copies, sealed or not.
"""

from __future__ import annotations

import os
import re
import unicodedata
import zipfile
from dataclasses import asdict, dataclass, field as dc_field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable, Literal, Protocol, Sequence

from clusterdesk.logs import log
from clusterdesk.errors import ClusterDeskError, NotFound
from clusterdesk.model.form import Catalog, FormDef, default_catalog
from clusterdesk.model.rules import Problem, eligibility, validate
from clusterdesk.model.schema import EVIDENCE_GENERAL, DistrictSummary, Notice, SummaryColumn
from clusterdesk.store import Store

from .package import (
    DuplicatePackage,
    ImportOutcome,
    OnDuplicate,
    PackageContents,
    SnapshotOnce,
    safe_member_name,
    import_package,
    read_package,
    same_content,
)
from .workspace import META_CLUSTERS, META_DISTRICT, META_PREFILL, replace_cluster_reference
from .workspace import is_district_draft as _is_district_draft


CHECKLIST_NAME = "寄送清单.docx"
ELECTRONIC_ZIP = "电子版.zip"
#: Each cluster's evidence goes into this folder of its own folder (and of 电子版.zip).
EVIDENCE_DIR = EVIDENCE_GENERAL
#: How the compile report names a ticked box whose evidence was not attached.
NOT_ATTACHED = "未附（纸质提供）"


class DistrictError(ClusterDeskError):
    """A request the district workspace refuses; ``lines``: one Chinese line each."""


class ClusterCapExceeded(DistrictError):
    """More clusters than the notice allows (重庆：原则上不超过3个，对超过报送数量的，不予受理)."""

    def __init__(self, rule: str, cap: int, count: int):
        self.rule, self.cap, self.count = rule, cap, count
        super().__init__(rule)


class NotAClusterForm(DistrictError):
    """A draft or package of a district form (申报汇总表, 区总结) offered as one of the clusters."""

    def __init__(self, title: str, form_title: str, role: str):
        self.role, self.form_title = role, form_title
        super().__init__(f"“{title}”填写的是“{form_title}”，不是集群的申报材料，不能加入区县名单")


class CompileRefused(DistrictError):
    """A document of the submission has errors and draft copies were not allowed."""

    def __init__(self, lines: list[str], problems: dict[str, list[Problem]]):
        self.problems = problems
        super().__init__(*lines)


# ----------------------------------------------------------------------------- the district


@dataclass(frozen=True)
class District:
    name: str  # 区县, e.g. 永川区
    notice_id: str  # e.g. cq-2024
    authority: str = ""  # 区（县）中小企业主管部门
    contact: str = ""  # 联系人
    phone: str = ""  # 手机

    def to_meta(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_meta(cls, data: Any) -> "District | None":
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            return None
        return cls(**{k: str(data.get(k) or "") for k in ("name", "notice_id", "authority", "contact", "phone")})

    @property
    def contact_line(self) -> str:
        """联系人及手机, as the summary's header prints it."""
        return " ".join(p for p in (self.contact.strip(), self.phone.strip()) if p)


def notice_forms(notice_id: str, catalog: Catalog | None = None) -> tuple[FormDef, FormDef]:
    """(cluster form, district form) of a notice; KeyError (Chinese) if the notice is unknown."""
    catalog = catalog or default_catalog()
    cluster = [f for f in catalog if f.form.notice.id == notice_id and f.form.role == "cluster"]
    district = [f for f in catalog if f.form.notice.id == notice_id and f.form.role == "district"]
    if not cluster or not district:
        known = "、".join(sorted({f.form.notice.id for f in catalog if f.form.role == "district"}))
        raise NotFound(f"未知的通知“{notice_id}”，可用的有：{known}")
    return cluster[0], district[0]


def notices(catalog: Catalog | None = None) -> list[Notice]:
    """Notices that have a district form, in catalog order."""
    catalog = catalog or default_catalog()
    seen: dict[str, Notice] = {}
    for f in catalog:
        if f.form.role == "district":
            seen.setdefault(f.form.notice.id, f.form.notice)
    return list(seen.values())


def summary_spec(form: FormDef) -> DistrictSummary:
    """What a district form declares about the district and its clusters (``district:``)."""
    return form.form.district or DistrictSummary()


def _norm(text: Any) -> str:
    """A name compared without spaces or invisible characters (集群名称 in a summary file)."""
    return "".join(c for c in str(text or "") if not c.isspace() and not unicodedata.category(c).startswith("C"))


def _district_variants(name: str) -> list[str]:
    """How a district's name may begin a cluster's name: 重庆市永川区 → 重庆市永川区, 永川区, 永川
    (the province or city before it, and the 区 / 县 / 市 after it, may be left out); longest first."""
    name = name.strip()
    tails = [name] + [name[i + 1:] for i, c in enumerate(name[:-1]) if c in "省市州盟" and name[i + 1] not in "省市州盟区县"]
    out: list[str] = []
    for t in tails:
        out += [t, t[:-1] if len(t) > 2 and t[-1] in "区县市旗" else t]
    return sorted({t for t in out if t}, key=len, reverse=True)


def column_value(col: SummaryColumn, lookup: Callable[[str], Any], *, title: str = "",
                 districts: Sequence[str] = ()) -> str | None:
    """A summary column's value from a cluster's answers (``lookup(cell key)``), as the column
    declares it: the first expression that gives a text, the part its ``pattern`` marks, without
    the district's name (``drop_district``; ``districts``: the names to leave out), else what
    ``otherwise`` names (``districts[0]`` or ``title``)."""
    from clusterdesk.model.expr import ExprError, evaluate

    out: str | None = None
    for ex in col.value:
        try:
            v = evaluate(ex, lookup)
        except (ExprError, KeyError, TypeError, ValueError, ArithmeticError):
            v = None
        text = str(v).strip() if v is not None and not isinstance(v, (list, dict, bool)) else ""
        if col.pattern and text:
            m = re.fullmatch(col.pattern, text)
            text = (m.group("value") or "").strip() if m else ""
        if text:
            out = text
            break
    if out and col.drop_district:
        prefix = next((v for name in districts for v in _district_variants(name)
                       if out.startswith(v) and len(out) > len(v)), None)
        if prefix:
            out = out[len(prefix):].strip()
    if not out:
        out = {"district": districts[0] if districts else "", "title": title}.get(col.otherwise or "", "") or None
        out = out.strip() if out else None
    return out


def find_districts(store: Store, notice_id: str | None = None,
                   catalog: Catalog | None = None) -> list[tuple[int, District]]:
    """District workspaces in the store (newest first)."""
    catalog = catalog or default_catalog()
    out = []
    for info in store.list_drafts():
        if not _is_district_draft(info, catalog):
            continue
        d = District.from_meta(store.get_meta(info.id).get(META_DISTRICT))
        if d is None:
            continue
        if notice_id is None or d.notice_id == notice_id:
            out.append((info.id, d))
    return out


def create_district(store: Store, district: District, catalog: Catalog | None = None) -> int:
    """A new district workspace: a draft of the notice's district form with its header filled."""
    catalog = catalog or default_catalog()
    if not district.name.strip():
        raise DistrictError("请填写区县名称")
    _, form = notice_forms(district.notice_id, catalog)
    title = district.authority.strip() or f"{district.name.strip()}{form.form.short_title}"
    info = store.create_draft(form.id, form.version, title)
    try:
        store.set_meta(info.id, META_DISTRICT, district.to_meta())
        store.set_meta(info.id, META_CLUSTERS, [])
        DistrictWorkspace(store, info.id, catalog).sync_summary()
    except BaseException:
        store.delete_draft(info.id)
        raise
    return info.id


def find_district(store: Store, name: str, notice_id: str, catalog: Catalog | None = None) -> int | None:
    for did, d in find_districts(store, notice_id, catalog):
        if d.name == name:
            return did
    return None


# ----------------------------------------------------------------------------- cluster state


@dataclass(frozen=True)
class ClusterStatus:
    draft_id: int
    title: str
    form_id: str
    errors: int
    warnings: int
    eligibility: Literal["符合", "不符合", "待填写", "无"]
    conditions: dict[str, int]  # 符合 / 不符合 / 待填写 → count
    problems: tuple[Problem, ...] = ()

    @property
    def check_text(self) -> str:
        if not self.errors and not self.warnings:
            return "无错误"
        parts = []
        if self.errors:
            parts.append(f"{self.errors} 个错误")
        if self.warnings:
            parts.append(f"{self.warnings} 个提示")
        return "，".join(parts)

    @property
    def eligibility_text(self) -> str:
        if self.eligibility == "无":
            return "—"
        c = self.conditions
        return f"{self.eligibility}（符合 {c.get('符合', 0)} 项，不符合 {c.get('不符合', 0)} 项，待填写 {c.get('待填写', 0)} 项）"


def cluster_status(store: Store, draft_id: int, catalog: Catalog | None = None) -> ClusterStatus:
    from clusterdesk.service import load_answers

    info = store.get_draft(draft_id)
    form, ans = load_answers(store, draft_id, catalog)
    problems = validate(form, ans)
    errors = sum(1 for p in problems if p.level == "error")
    results = eligibility(form, ans)
    counts = {s: sum(1 for r in results if r.status == s) for s in ("符合", "不符合", "待填写")}
    state: Literal["符合", "不符合", "待填写", "无"]
    if not results:
        state = "无"
    elif counts["不符合"]:
        state = "不符合"
    elif counts["待填写"]:
        state = "待填写"
    else:
        state = "符合"
    title = form.display_title(ans.raw) or info.title
    return ClusterStatus(draft_id, title, info.form_id, errors, len(problems) - errors, state, counts,
                         tuple(problems))


def _own_district(summary_form: FormDef, ans: Any) -> str | None:
    """The district a cluster's answers state, by the summary's column that states it (the one
    with ``otherwise: district``), or None."""
    col = next((c for c in summary_spec(summary_form).columns if c.otherwise == "district"), None)
    if col is None:
        return None
    return column_value(col.model_copy(update={"otherwise": None, "drop_district": False}), ans.value)


def cluster_district(store: Any, draft_id: int, catalog: Catalog | None = None) -> str | None:
    """The 所属区县 a cluster's own form states, or None if it states none."""
    from clusterdesk.service import load_answers

    catalog = catalog or default_catalog()
    form, ans = load_answers(store, draft_id, catalog)
    try:
        _, summary_form = notice_forms(form.form.notice.id, catalog)
    except KeyError:
        return None
    return _own_district(summary_form, ans)


def same_district(a: str, b: str) -> bool:
    """永川区 / 重庆市永川区 / 永川 name the same district; 璧山区 and 永川区 do not."""
    a, b = a.strip(), b.strip()
    if not a or not b:
        return True  # nothing to compare
    short = [x[:-1] if len(x) > 2 and x[-1] in "区县市" else x for x in (a, b)]
    return short[0] in b or short[1] in a


def cluster_row(summary_form: FormDef, form: FormDef, ans: Any, title: str, district_name: str) -> dict[str, Any]:
    """The summary columns a cluster's own answers give (``ans``: its Answers), as the district
    form declares them (``district.columns``)."""
    from clusterdesk.model.values import Spec, ValueProblem, parse

    districts = [n for n in (_own_district(summary_form, ans), district_name.strip()) if n]
    spec = summary_spec(summary_form)
    table = {c.id: c for c in summary_form.cell(spec.clusters).field.columns} if spec.clusters else {}
    out: dict[str, Any] = {}
    for col in spec.columns:
        v: Any = column_value(col, ans.value, title=title, districts=districts)
        if v and col.column in table:
            try:  # as the table stores it (a number column: "66.40"), so a later refresh compares alike
                v = parse(v, Spec.of(table[col.column]))
            except ValueProblem:
                v = None  # not a value this column takes: left for the officer
        if v not in (None, ""):
            out[col.column] = v
    return out


def _cluster_values(store: Any, draft_id: int, summary_form: FormDef, district: District,
                    catalog: Catalog) -> dict[str, Any]:
    from clusterdesk.service import load_answers

    form, ans = load_answers(store, draft_id, catalog)
    return cluster_row(summary_form, form, ans, store.get_draft(draft_id).title, district.name)


# ----------------------------------------------------------------------------- the workspace


class _NoticeForms(Protocol):
    """What the form check needs: a workspace, or a probe for one not created yet."""

    notice: Notice
    summary_form: FormDef


class DistrictWorkspace:
    """One district's submission for one notice."""

    def __init__(self, store: Store, draft_id: int, catalog: Catalog | None = None):
        self.store = store
        self.catalog = catalog or default_catalog()
        self.draft_id = draft_id
        info = store.get_draft(draft_id)
        if not _is_district_draft(info, self.catalog):
            raise DistrictError(f"草稿 {draft_id}“{info.title}”不是区县汇总材料，不能作为区县工作区打开")
        self.summary_form = self.catalog.get(info.form_id)
        self.notice = self.summary_form.form.notice
        self.cluster_form, _ = notice_forms(self.notice.id, self.catalog)

    # -- facts ---------------------------------------------------------------------------
    @property
    def meta(self) -> dict[str, Any]:
        return self.store.get_meta(self.draft_id)

    @property
    def district(self) -> District:
        d = District.from_meta(self.meta.get(META_DISTRICT))
        return d or District(name="", notice_id=self.notice.id)

    @property
    def cap(self) -> int | None:
        return self.notice.max_clusters_per_district

    @property
    def cap_rule(self) -> str:
        return self.notice.max_clusters_rule or f"每个区县最多报送 {self.cap} 个集群"

    @property
    def spec(self) -> DistrictSummary:
        return summary_spec(self.summary_form)

    @property
    def table_key(self) -> str | None:
        """The summary's table of clusters (``district.clusters``), if the form has one."""
        key = self.spec.clusters
        return key if key and self.summary_form.has_cell(key) else None

    @property
    def has_summary_table(self) -> bool:
        return self.table_key is not None

    def summary_columns(self) -> tuple[Any, ...]:
        """The columns (schema ``Column``) of the summary's table of clusters."""
        key = self.table_key
        return self.summary_form.cell(key).field.columns if key else ()

    def update_district(self, **fields: str) -> District:
        d = self.district
        data = d.to_meta()
        for k, v in fields.items():
            if k not in data or k == "notice_id":
                raise KeyError(k)
            data[k] = (v or "").strip()
        if not data["name"]:
            raise DistrictError("请填写区县名称")
        self.store.set_meta(self.draft_id, META_DISTRICT, data)
        self.sync_summary()
        return District(**data)

    def cluster_ids(self) -> list[int]:
        """Member cluster drafts that still exist, in order."""
        ids = self.meta.get(META_CLUSTERS)
        if not isinstance(ids, list):
            return []
        existing = {d.id for d in self.store.list_drafts()}
        return [i for i in ids if isinstance(i, int) and i in existing]

    def clusters(self) -> list[ClusterStatus]:
        return [cluster_status(self.store, i, self.catalog) for i in self.cluster_ids()]

    def other_districts(self) -> dict[int, str]:
        """Member clusters whose own 所属区县 is not this district: {draft id: their district}."""
        here = self.district.name
        out = {}
        for cid in self.cluster_ids():
            theirs = cluster_district(self.store, cid, self.catalog)
            if theirs and here and not same_district(theirs, here):
                out[cid] = theirs
        return out

    # -- membership ----------------------------------------------------------------------
    def check_can_add(self, new: int = 1, current: int | None = None) -> None:
        """Raise ClusterCapExceeded (with the notice's rule) if ``new`` more would pass the cap."""
        count = len(self.cluster_ids()) if current is None else current
        if self.cap is not None and count + new > self.cap:
            raise ClusterCapExceeded(self.cap_rule, self.cap, count + new)

    def _check_form(self: _NoticeForms, form: FormDef, title: str) -> None:
        if form.form.role != "cluster":
            raise NotAClusterForm(title, form.title, form.form.role)
        if form.form.notice.id != self.notice.id:
            raise DistrictError(f"“{title}”填写的是“{form.title}”（{form.form.notice.number}），"
                                f"与本区县报送的“{self.summary_form.title}”（{self.notice.number}）不是同一次通知")

    def add_draft(self, draft_id: int) -> None:
        """Add a local cluster draft to the list."""
        info = self.store.get_draft(draft_id)
        if info.form_id not in self.catalog:
            raise DistrictError(f"草稿“{info.title}”使用的表单“{info.form_id}”本程序不认识")
        self._check_form(self.catalog.get(info.form_id), info.title)
        ids = self.cluster_ids()
        if draft_id in ids:
            raise DistrictError(f"“{info.title}”已在本区县的集群名单中")
        self.check_can_add(1, len(ids))
        self.store.set_meta(self.draft_id, META_CLUSTERS, ids + [draft_id])
        self.sync_summary()

    def plan_package(self, contents: PackageContents, on_duplicate: OnDuplicate = "ask") -> int | None:
        """Check a read package against this district before anything is written.

        Returns the id of a member or local draft that already holds exactly this content (nothing
        to import), else None. Raises DistrictError / ClusterCapExceeded / DuplicatePackage."""
        self._check_form(contents.form, contents.title)
        ids = self.cluster_ids()
        existing = self.store.find_drafts_by_uuid(contents.uuid)
        same = next((e.id for e in existing if same_content(self.store, e.id, contents)), None)
        if same is not None:
            if same not in ids:
                self.check_can_add(1, len(ids))
            return same
        if existing and on_duplicate == "ask":
            raise DuplicatePackage(existing[0], contents)
        replaces_member = on_duplicate == "replace" and any(e.id in ids for e in existing)
        if not replaces_member:
            self.check_can_add(1, len(ids))
        return None

    def add_package(self, source: Path | str | PackageContents, *, on_duplicate: OnDuplicate = "ask",
                    snapshot: bool | Callable[[], Path] = True) -> int:
        """Import a cluster's package (or take the identical draft already here) and add it.

        Returns the cluster's draft id. Nothing is written if the package is refused, the cap is
        reached or the uuid is already here and ``on_duplicate`` is ``"ask"``."""
        contents = source if isinstance(source, PackageContents) else read_package(source, self.catalog)
        same = self.plan_package(contents, on_duplicate)
        if same is not None:
            draft_id = same
        else:
            outcome: ImportOutcome = import_package(self.store, contents, on_duplicate=on_duplicate,
                                                    catalog=self.catalog, snapshot=snapshot)
            draft_id = outcome.draft_id
        ids = self.cluster_ids()
        if draft_id not in ids:
            self.store.set_meta(self.draft_id, META_CLUSTERS, ids + [draft_id])
        self.sync_summary()
        return draft_id

    def remove(self, draft_id: int) -> None:
        """Take a cluster off the list (its draft stays in the store)."""
        ids = [i for i in self.cluster_ids() if i != draft_id]
        self.store.set_meta(self.draft_id, META_CLUSTERS, ids)
        prefill = self.meta.get(META_PREFILL)
        if isinstance(prefill, dict) and str(draft_id) in prefill:
            prefill.pop(str(draft_id))
            self.store.set_meta(self.draft_id, META_PREFILL, prefill)
        self.sync_summary()

    def move(self, draft_id: int, delta: int) -> None:
        """Move a cluster up (-1) or down (+1); the summary's 序号 follows."""
        ids = self.cluster_ids()
        i = ids.index(draft_id)
        j = max(0, min(len(ids) - 1, i + delta))
        ids.insert(j, ids.pop(i))
        self.store.set_meta(self.draft_id, META_CLUSTERS, ids)
        self.sync_summary()

    # -- the summary -------------------------------------------------------------------
    def _session(self):
        from clusterdesk.service import DraftSession

        return DraftSession(self.store, self.draft_id, self.catalog)

    def summary_rows(self) -> list[dict[str, Any]]:
        key = self.table_key
        if key is None:
            return []
        rows = self.store.get_answers(self.draft_id).get(key)
        return [dict(r) for r in rows] if isinstance(rows, list) else []

    def header_values(self) -> dict[str, str]:
        """The header cells the district's facts fill (``district.authority`` …): cell → value."""
        spec, d = self.spec, self.district
        contact = d.contact.strip() if spec.phone else d.contact_line
        pairs = ((spec.authority, d.authority), (spec.contact, contact), (spec.phone, d.phone), (spec.district, d.name))
        return {k: v.strip() for k, v in pairs if k and v and v.strip()}

    def sync_summary(self) -> list[dict[str, Any]]:
        """Refresh the summary's header and cluster rows from the district and the clusters.

        Prefilled cells follow their cluster unless the officer changed them; every other column
        (the officer's own, ``district.officer``: 集群成立时间, 集群简介) is kept with its cluster's row."""
        session = self._session()
        form = self.summary_form
        meta = self.meta
        stored = meta.get(META_PREFILL)
        prefill: dict[str, dict[str, str]] = stored if isinstance(stored, dict) else {}
        header_last = prefill.get("header", {})
        header_new: dict[str, str] = {}
        for key, value in self.header_values().items():
            if not form.has_cell(key) or not form.cell(key).answerable:
                continue
            current = session.value(key)
            if current in (None, "", header_last.get(key)):
                if current != value:
                    session.set(key, value)
                header_new[key] = value
            elif key in header_last:
                header_new[key] = header_last[key]
        new_prefill: dict[str, dict[str, str]] = {"header": header_new} if header_new else {}
        table = self.table_key
        if table is None:
            if meta.get(META_PREFILL) != new_prefill:
                self.store.set_meta(self.draft_id, META_PREFILL, new_prefill)
            return []
        spec = self.spec
        match = spec.match or ""
        prefilled = [c.column for c in spec.columns]
        columns = self.summary_columns()
        serial = [c.id for c in columns if c.auto == "serial"]
        kept = [c.id for c in columns if c.id not in prefilled and c.auto is None]
        old_rows = [dict(r) for r in (session.value(table) or [])]
        rows: list[dict[str, Any]] = []
        for n, cid in enumerate(self.cluster_ids(), start=1):
            derived = _cluster_values(self.store, cid, form, self.district, self.catalog)
            last = prefill.get(str(cid), {})
            names = {v for v in (derived.get(match), last.get(match)) if v}
            old = next((r for r in old_rows if r.get(match) in names), None)
            if old is not None:
                old_rows.remove(old)
            old = old or {}
            row: dict[str, Any] = {c: n for c in serial}
            for col in prefilled:
                have = old.get(col)
                if derived.get(col) and have in (None, "", last.get(col)):
                    row[col] = derived[col]
                elif have not in (None, ""):
                    row[col] = have
            for col in kept:
                if old.get(col) not in (None, ""):
                    row[col] = old[col]
            rows.append(row)
            new_prefill[str(cid)] = {c: derived[c] for c in prefilled if c in derived}
        if rows != (session.value(table) or []):
            session.set(table, rows or None)
        if meta.get(META_PREFILL) != new_prefill:  # a compile that changes nothing leaves the draft as it was
            self.store.set_meta(self.draft_id, META_PREFILL, new_prefill)
        return rows

    def set_summary_cell(self, row: int, column: str, text: str) -> str | None:
        """The officer edits one cell of the summary table. Returns the Chinese error, or None."""
        from clusterdesk.service import InputError

        rows = self.summary_rows()
        if not 0 <= row < len(rows):
            return "没有这一行"
        if column not in {c.id for c in self.summary_columns()}:
            return f"{self.summary_form.form.short_title}没有“{column}”列"
        rows[row] = {**rows[row], column: text}
        if not text.strip():
            rows[row].pop(column, None)
        try:
            self._session().set(self.table_key, rows)  # type: ignore[arg-type]
        except InputError as e:
            return str(e)
        return None

    def apply_summary(self, summary: "SummaryFile") -> None:
        """Take the officer's filled summary (a template file or a draft, checked by
        :func:`plan_summary`): every value it gives wins over the prefilled one. Header and text
        fields are set; each row goes to the cluster it names."""
        session = self._session()
        table = self.table_key
        for key, value in summary.answers.items():
            if key == table or value in (None, "", []):
                continue
            if self.summary_form.has_cell(key) and self.summary_form.cell(key).answerable:
                if session.value(key) != value:
                    session.set(key, value)
        spec = self.spec
        if spec.authority and not self.district.authority:
            text = summary.answers.get(spec.authority)
            if isinstance(text, str) and text.strip():
                self.update_district(authority=text)
        if table is None or not summary.rows:
            return
        match = spec.match or ""
        auto = {c.id for c in self.summary_columns() if c.auto}
        rows = self.summary_rows()
        by_name: dict[str, int] = {}
        for i, (cid, r) in enumerate(zip(self.cluster_ids(), rows)):
            derived = _cluster_values(self.store, cid, self.summary_form, self.district, self.catalog)
            for name in (r.get(match), derived.get(match)):
                if name:
                    by_name.setdefault(_norm(name), i)
        for given in summary.rows:
            found = by_name.get(_norm(given.get(match)))
            if found is None:
                continue  # plan_summary refused it before anything was written
            rows[found] = {**rows[found], **{k: v for k, v in given.items() if k not in auto and v not in (None, "")}}
        if rows != self.summary_rows():
            session.set(table, rows)

    def summary_problems(self) -> list[Problem]:
        from clusterdesk.service import load_answers

        form, ans = load_answers(self.store, self.draft_id, self.catalog)
        return validate(form, ans, include_eligibility=False)


# ----------------------------------------------------------------------------- the officer's summary file


@dataclass
class SummaryFile:
    """The officer's filled summary: a template file (.json / .xlsx) or a draft of the form."""

    label: str  # how messages name it: “汇总表.xlsx”, 草稿“…”
    form: FormDef
    answers: dict[str, Any]

    @property
    def rows(self) -> list[dict[str, Any]]:
        key = summary_spec(self.form).clusters
        rows = self.answers.get(key) if key else None
        return [dict(r) for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def read_summary(store: Any, source: Any, catalog: Catalog | None = None) -> SummaryFile:
    """Read the officer's summary: a filled template (.json / .xlsx) or the id of a draft of a
    district form. DistrictError (one Chinese line per problem) if it cannot be taken."""
    catalog = catalog or default_catalog()
    if isinstance(source, SummaryFile):
        return source
    text = str(source)
    if (isinstance(source, int) and not isinstance(source, bool)) or (text.isdigit() and not Path(text).exists()):
        info = store.get_draft(int(text))
        if info.form_id not in catalog:
            raise DistrictError(f"草稿“{info.title}”使用的表单“{info.form_id}”本程序不认识")
        out = SummaryFile(f"草稿“{info.title}”", catalog.get(info.form_id), store.get_answers(info.id))
    else:
        from clusterdesk.templates import TemplateError, read_filled

        try:
            filled = read_filled(Path(text), catalog)
        except TemplateError as e:
            raise DistrictError(*e.problems) from None
        out = SummaryFile(f"“{Path(text).name}”", filled.form, filled.answers)
    if out.form.form.role != "district":
        raise DistrictError(f"{out.label}填写的是“{out.form.title}”，不是区县的汇总材料"
                            "（请用 clusterdesk template <汇总表> --district <区县> <数据包…> 生成汇总表模板）")
    return out


def prefilled_summary(summary_form: FormDef, district: District, sources: Sequence[Any], store: Any = None,
                      catalog: Catalog | None = None) -> dict[str, Any]:
    """The answers of a summary template prefilled from the clusters' packages (or drafts): the
    header from the district, one row per cluster with what its form gives (``district.columns``)
    and the officer's own columns (``district.officer``) left empty for the officer to fill."""
    from clusterdesk.model.rules import Answers
    from clusterdesk.service import load_answers

    catalog = catalog or default_catalog()
    if summary_form.form.role != "district":
        raise DistrictError(f"“{summary_form.title}”不是区县填写的汇总材料，不能按区县预填")
    notice = summary_form.form.notice
    probe = _Probe(store, notice, catalog)
    resolved = _resolve_sources(store, sources, catalog)
    cap = notice.max_clusters_per_district
    if cap is not None and len(resolved) > cap:
        raise ClusterCapExceeded(notice.max_clusters_rule or f"每个区县最多报送 {cap} 个集群", cap, len(resolved))
    spec = summary_spec(summary_form)
    d = district
    contact = d.contact.strip() if spec.phone else d.contact_line
    answers: dict[str, Any] = {k: v.strip() for k, v in ((spec.authority, d.authority), (spec.contact, contact),
                                                          (spec.phone, d.phone), (spec.district, d.name))
                               if k and v and v.strip()}
    if spec.clusters is None or not summary_form.has_cell(spec.clusters):
        for src in resolved:
            probe._check_form(src.form if isinstance(src, PackageContents) else
                              catalog.get(store.get_draft(src).form_id), _source_title(store, src))
        return answers
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for src in resolved:
        if isinstance(src, PackageContents):
            probe._check_form(src.form, src.title)
            form, ans, title = src.form, Answers(src.form, src.answers, src.notes), src.title
        else:
            form, ans = load_answers(store, src, catalog)
            title = store.get_draft(src).title
            probe._check_form(form, title)
        row: dict[str, Any] = dict(cluster_row(summary_form, form, ans, title, d.name))
        name = _norm(row.get(spec.match or ""))
        if name in seen:
            raise DistrictError(f"“{title}”重复：同一个集群只能列一次")
        seen.add(name)
        row.update({c: "" for c in spec.officer})
        rows.append(row)
    answers[spec.clusters] = rows
    return answers


def summary_note(summary_form: FormDef, answers: dict[str, Any]) -> str:
    """What the officer still fills in a prefilled summary template, in the form's words."""
    spec = summary_spec(summary_form)
    todo: list[str] = []
    given: list[str] = []
    for cell in summary_form.answerable_cells:
        if cell.key == spec.clusters:
            cols = {c.id: c.label for c in cell.field.columns}
            todo += [cols[c] for c in spec.officer if c in cols]
            given += [cols[c.column] for c in spec.columns if c.column in cols]
        elif cell.key in answers:
            given.append(cell.name or cell.field.label)
        else:
            todo.append(cell.name or cell.field.label)
    parts = []
    if todo:
        parts.append("请填写：" + "、".join(f"“{t}”" for t in todo))
    if given:
        parts.append("已从区县和各集群的材料中填入：" + "、".join(f"“{t}”" for t in given) + "（可以修改，修改后以本文件为准）")
    parts.append("填好后用 clusterdesk district compile … --summary 本文件 编制报送材料。")
    return "；".join(parts[:-1]) + "。" + parts[-1] if len(parts) > 1 else parts[0]


def _source_title(store: Any, src: Any) -> str:
    return src.title if isinstance(src, PackageContents) else store.get_draft(src).title


def plan_summary(summary: SummaryFile, summary_form: FormDef, names: Sequence[Sequence[str]]) -> list[str]:
    """Check the officer's summary against the submission before anything is written: it must be
    the notice's district form, and each of its rows must name one of the clusters (``names``:
    for each cluster, the names it goes by). DistrictError names each row that does not.
    Returns the clusters the summary has no row for (their first names), which keep the values
    prefilled from their own forms."""
    if summary.form.id != summary_form.id:
        raise DistrictError(f"{summary.label}是“{summary.form.title}”（{summary.form.form.notice.number}），"
                            f"本次报送的是“{summary_form.title}”（{summary_form.form.notice.number}）")
    spec = summary_spec(summary_form)
    if not spec.clusters:
        return []
    if not summary.rows:
        return [ns[0] for ns in names if ns]
    match = spec.match or ""
    label = next((c.label for c in summary_form.cell(spec.clusters).field.columns if c.id == match), match)
    known = {_norm(n): i for i, ns in enumerate(names) for n in ns if n}
    shown = "、".join(f"“{ns[0]}”" for ns in names if ns) or "（无）"
    lines: list[str] = []
    seen: dict[int, int] = {}
    for r, row in enumerate(summary.rows, start=1):
        name = row.get(match)
        if not isinstance(name, str) or not name.strip():
            lines.append(f"{summary.label}第{r}行没有填写“{label}”，无法对应到集群")
            continue
        i = known.get(_norm(name))
        if i is None:
            lines.append(f"{summary.label}第{r}行的“{label}”为“{name.strip()}”，不是本次报送的集群（本次报送：{shown}）")
        elif i in seen:
            lines.append(f"{summary.label}第{r}行与第{seen[i]}行是同一个集群“{name.strip()}”")
        else:
            seen[i] = r
    if lines:
        raise DistrictError(*lines)
    return [ns[0] for i, ns in enumerate(names) if ns and i not in seen]


def infer_notice(sources: Sequence[Any], summary: SummaryFile | None, store: Any = None,
                 catalog: Catalog | None = None) -> str:
    """The notice the inputs belong to (packages, cluster drafts, the summary), when they name one;
    DistrictError (in Chinese, listing the notices) when they name none or several."""
    catalog = catalog or default_catalog()
    found: dict[str, str] = {}
    for src in sources:
        if isinstance(src, PackageContents):
            form = src.form
        elif store is not None and isinstance(src, int) and store.get_draft(src).form_id in catalog:
            form = catalog.get(store.get_draft(src).form_id)
        else:
            continue
        found.setdefault(form.form.notice.id, form.form.notice.number)
    if summary is not None:
        found.setdefault(summary.form.form.notice.id, summary.form.form.notice.number)
    if len(found) == 1:
        return next(iter(found))
    known = "、".join(f"{n.id}（{n.number}）" for n in notices(catalog))
    if not found:
        raise DistrictError(f"无法从输入判断是哪一次通知，请用 --notice 指明，可用的有：{known}")
    which = "、".join(f"{k}（{v}）" for k, v in found.items())
    raise DistrictError(f"输入的材料分属不同的通知：{which}；一次只能编制一次通知的报送材料，请用 --notice 指明")


# ----------------------------------------------------------------------------- compiling


Kind = Literal["print", "editable", "list", "pdf", "evidence", "reference"]
#: What goes into 电子版.zip: the editable forms, the lists and the evidence.
ELECTRONIC_KINDS = ("editable", "list", "evidence")


@dataclass(frozen=True)
class CompiledDocument:
    path: Path  # in the final folder
    kind: Kind
    owner: str  # the cluster's title, or the summary's title
    draft_id: int
    draft_copy: bool


@dataclass
class CompileResult:
    folder: Path
    district: District
    notice: Notice
    clusters: list[ClusterStatus]
    documents: list[CompiledDocument]
    checklist: Path
    electronic_zip: Path
    draft_copies: list[str] = dc_field(default_factory=list)
    imported: list[ImportOutcome] = dc_field(default_factory=list)
    requested: Path | None = None  # the folder asked for (``folder`` is beside it if that one was not ours)
    messages: list[str] = dc_field(default_factory=list)  # Chinese: where it went, files kept or removed
    missing_evidence: list[str] = dc_field(default_factory=list)  # Chinese: ticked boxes without a file
    paper: list[tuple[Path, int]] = dc_field(default_factory=list)  # what the notice wants printed, and how often

    @property
    def files(self) -> list[Path]:
        """Every file of the folder (relative order: clusters, summary, checklist, zip)."""
        return [d.path for d in self.documents] + [self.checklist, self.electronic_zip]

    @property
    def print_files(self) -> list[Path]:
        """What goes on paper (``paper``, from the notice's ``paper`` items, in the 寄送清单's order):
        each form (its PDF where one was made, else the print .docx) and each cluster's evidence
        behind it. Never the Excel lists."""
        return [p for p, _ in self.paper]

    @property
    def editable_files(self) -> list[Path]:
        """What 电子版.zip holds: the editable forms, the lists and the evidence."""
        return [d.path for d in self.documents if d.kind in ELECTRONIC_KINDS]

    @property
    def evidence_files(self) -> list[Path]:
        return [d.path for d in self.documents if d.kind == "evidence"]


def classify(path: Path) -> Kind:
    """What an exported file is, by the names the exporter gives (export.api): the print version,
    its PDF, the editable version, the lists, or a document of the program's own beside the form
    (``reference``: an annual report's 目标完成情况, which no notice asks for)."""
    from clusterdesk.export.api import ACHIEVEMENT_SUFFIX, DRAFT_SUFFIX, EDITABLE_SUFFIX

    stem = path.stem.removesuffix(DRAFT_SUFFIX)
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return "pdf"
    if stem.endswith(EDITABLE_SUFFIX):
        return "editable"
    if stem.endswith(ACHIEVEMENT_SUFFIX):
        return "reference"
    if suffix in (".xlsx", ".xls", ".csv"):
        return "list"
    return "print"


def cluster_folder_name(n: int, title: str) -> str:
    """``1-永川数控机床产业``: the number and the words in the name's brackets keep paths short."""
    from clusterdesk.model.expr import bracket

    return f"{n}-{safe_member_name(bracket(title) or title)}"


def _resolve_sources(store: Store, sources: Sequence[Any], catalog: Catalog) -> list[int | PackageContents]:
    out: list[int | PackageContents] = []
    for src in sources:
        if isinstance(src, PackageContents):
            out.append(src)
            continue
        if isinstance(src, int) and not isinstance(src, bool):
            store.get_draft(src)
            out.append(src)
            continue
        text = str(src)
        p = Path(text)
        if p.is_file():
            out.append(read_package(p, catalog))
        elif text.isdigit():
            store.get_draft(int(text))
            out.append(int(text))
        else:
            raise DistrictError(f"找不到数据包或草稿“{text}”")
    return out


# ----------------------------------------------------------------------------- the submission folder

#: ``info.kind`` in the manifest the program keeps in a submission folder (export.publish).
MANIFEST_KIND = "district-submission"
RECOMPILED_TAG = "重新编制"


@dataclass
class _Target:
    """Where a compile writes: a new folder, or an existing one (empty, or ours by its manifest)."""

    folder: Path
    new: bool
    previous: dict[str, str] = dc_field(default_factory=dict)  # the last compile's files → SHA-256
    previous_dirs: list[str] = dc_field(default_factory=list)
    manifest_sha: str | None = None  # the manifest as it was when the folder was chosen
    notes: list[str] = dc_field(default_factory=list)


def _manifest_info(district_name: str, notice_id: str) -> dict[str, str]:
    return {"kind": MANIFEST_KIND, "district": district_name, "notice": notice_id}


def _info_key(info: dict[str, Any]) -> tuple[str, ...]:
    """What makes a folder this district's: kind, notice and the district's name, compared without
    surrounding spaces or invisible (control/format) characters."""
    import unicodedata

    def norm(v: Any) -> str:
        return "".join(c for c in str(v or "") if not unicodedata.category(c).startswith("C")).strip()

    return tuple(norm(info.get(k)) for k in ("kind", "notice", "district"))


def _choose_target(out_dir: Path, district_name: str, notice_id: str) -> _Target:
    """Where to compile: ``out_dir`` if it is new, empty or holds this district's earlier compile
    (its manifest); otherwise a new folder beside it (``out_dir（2）`` …), and say so. Nothing that
    is not the program's own is ever replaced or removed."""
    from clusterdesk.export.leftovers import is_ours, sweep_folder
    from clusterdesk.export.publish import read_manifest

    parent = out_dir.parent
    if not parent.is_dir():
        raise DistrictError(f"输出位置不存在：{parent}")
    sweep_folder(parent)  # a killed compile's build folder beside it
    want = _manifest_info(district_name, notice_id)
    first_reason = ""
    for n in range(1, 1000):
        folder = out_dir if n == 1 else parent / f"{out_dir.name}（{n}）"
        if not folder.exists() and not folder.is_symlink():
            target = _Target(folder, new=True)
            break
        reason = ""
        if folder.is_symlink() or not folder.is_dir():
            reason = "已有同名的文件"
        else:
            sweep_folder(folder)  # a killed compile's publish folder inside it
            busy = [e.name for e in folder.iterdir() if is_ours(e.name)]
            if busy:
                raise DistrictError(f"另一个集群申报助手正在向文件夹“{folder}”编制报送材料，请等它完成后再试")
            manifest = read_manifest(folder)
            if not any(folder.iterdir()):
                target = _Target(folder, new=False)
                break
            if manifest is None:
                reason = "已有不是本程序编制的文件"
            elif _info_key(manifest["info"]) != _info_key(want):
                other = manifest["info"].get("district") or "其他区县"
                reason = f"是另一份报送材料（{other}）"
            else:
                target = _Target(folder, new=False, previous=manifest["files"], previous_dirs=manifest["dirs"],
                                 manifest_sha=manifest["sha256"])
                break
        first_reason = first_reason or reason
    else:
        raise DistrictError(f"“{out_dir}”旁已有太多同名文件夹，请另选一个位置")
    if target.folder != out_dir:
        target.notes.append(f"“{out_dir}”{first_reason}，为避免覆盖，本次报送材料保存在新文件夹：{target.folder}")
    return target


def _beside_name(rel: str, n: int) -> str:
    p = PurePosixPath(rel)
    tag = RECOMPILED_TAG if n == 1 else f"{RECOMPILED_TAG}{n}"
    return (p.parent / f"{p.stem}（{tag}）{p.suffix}").as_posix()


def _place(stage: Path, target: _Target, rels: list[str], notes: list[str]) -> tuple[dict[str, str],
                                                                                   dict[str, str | None]]:
    """Final name of every staged file in an existing folder: the same name where nothing is
    there or the program's own unchanged file is, else a name beside it (the officer's file is
    kept). Files sharing a stem (a print version and its PDF) move together. Also returns what
    each final name held now (SHA-256 or None), which the publish insists on: a file the officer
    changes while the compile runs is never replaced."""
    from clusterdesk.export.publish import sha256_of

    folder = target.folder
    clashes: dict[str, str] = {}  # rel → why it can't take its name
    seen: dict[str, str | None] = {}
    for rel in rels:
        dst = folder / rel
        seen[rel] = None
        if not dst.exists() and not dst.is_symlink():
            continue
        if dst.is_file() and not dst.is_symlink():
            seen[rel] = sha256_of(dst)
            if target.previous.get(rel) == seen[rel]:
                continue  # ours, unchanged since the last compile: replaced
        clashes[rel] = "在上次编制后被修改过" if rel in target.previous else "不是本程序生成的文件"
    stems = {str(PurePosixPath(r).with_suffix("")) for r in clashes}
    mapping = {r: r for r in rels}
    taken = set(rels)
    for n in range(1, 1000):
        moving = [r for r in rels if str(PurePosixPath(r).with_suffix("")) in stems and mapping[r] == r]
        if not moving:
            break
        for r in moving:
            new = _beside_name(r, n)
            if (folder / new).exists() or (folder / new).is_symlink() or new in taken:
                continue  # try the next number for this one
            mapping[r] = new
            taken.add(new)
    for old, new in mapping.items():
        if old != new:
            (stage / new).parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / old, stage / new)
    for rel, why in clashes.items():
        notes.append(f"“{rel}”{why}，已保留原文件；新生成的文件另存为“{mapping[rel]}”")
    return mapping, {new: seen[old] if new == old else None for old, new in mapping.items()}


def _stale(target: _Target, wanted: set[str], notes: list[str]) -> dict[str, str]:
    """The last compile's files this one no longer writes: removed if unchanged, else kept.
    ``wanted``: every name this compile wanted (one it left to the officer is not stale)."""
    from clusterdesk.export.publish import sha256_of

    out: dict[str, str] = {}
    for rel, sha in target.previous.items():
        if rel in wanted:
            continue
        p = target.folder / rel
        if p.is_file() and not p.is_symlink():
            if sha256_of(p) == sha:
                out[rel] = sha
            else:
                notes.append(f"“{rel}”是上次编制生成的，本次不再需要，但编制后被修改过，已保留")
    return out


def compile_district(store: Store, district: int | District, sources: Sequence[Any], out_dir: Path | str, *,
                     summary: Any = None, pdf: bool = False, allow_draft: bool = False,
                     on_duplicate: OnDuplicate = "ask", catalog: Catalog | None = None) -> CompileResult:
    """Compile a district's submission into ``out_dir`` (one folder per submission).

    ``district``: a district workspace's draft id, or a District (found by name and notice, or
    created; an empty ``notice_id`` is taken from the inputs when they name one notice).
    ``sources``: package paths (.cdpkg) or cluster draft ids to add first; with none, the
    workspace's current clusters are compiled. ``summary``: the officer's filled summary (a
    template file, or the id of a draft of the district form, see :func:`read_summary`): its
    header and text fields, and each row's values for the cluster it names, win over the
    prefilled ones. Everything is checked before anything is written: refused packages, a summary
    row that names no cluster and the notice's cap leave the store and the disk unchanged.

    The store's changes (the workspace, imported packages, its cluster list and summary) are one
    transaction. Documents with errors (CompileRefused) keep them, so the officer can correct the
    workspace; a failure while writing the files (a full disk) undoes them, and a re-run after a
    crash finds and reuses the workspace and the imported drafts.

    The folder: each cluster's documents and its evidence (``佐证材料/``, named as the printed
    佐证材料目录 lists them: model.plan.evidence_names), the summary, the 寄送清单 and 电子版.zip.
    A new folder is built beside ``out_dir`` and renamed into place in one step. An existing
    folder is recompiled only if it is empty or holds this district's earlier compile (the
    manifest the program keeps there): then only the program's own, unchanged files are
    replaced or removed, and everything is published together (export.publish). A file the
    officer changed or added is kept, and a new file that would take its name goes beside it.
    Any other folder is left alone and a new one is made beside it. ``result.messages`` says
    which, in Chinese; ``result.missing_evidence`` names each ticked box without a file.
    """
    from clusterdesk.service import load_answers

    from .package import export_api

    catalog = catalog or default_catalog()
    out_dir = Path(out_dir).absolute()
    resolved = _resolve_sources(store, sources, catalog)
    summary_src = read_summary(store, summary, catalog) if summary is not None else None
    if isinstance(district, District) and not district.notice_id:
        district = replace(district, notice_id=infer_notice(resolved, summary_src, store, catalog))

    # -- plan: no writes -----------------------------------------------------------------
    adopt: int | None = None
    if isinstance(district, District):
        ws_id = find_district(store, district.name, district.notice_id, catalog)
        if ws_id is None:
            adopt = _unfinished_workspace(store, district, catalog)
        ws = DistrictWorkspace(store, ws_id, catalog) if ws_id is not None else None
        _, summary_form = notice_forms(district.notice_id, catalog)
        notice = summary_form.form.notice
        members = ws.cluster_ids() if ws else []
        district_name = district.name
    else:
        ws = DistrictWorkspace(store, district, catalog)
        summary_form, notice = ws.summary_form, ws.notice
        members = ws.cluster_ids()
        district_name = ws.district.name
    probe = ws or _Probe(store, notice, catalog)
    planned: list[int] = list(members)
    to_import: list[PackageContents] = []
    seen_uuids: set[str] = set()
    for src in resolved:
        if isinstance(src, PackageContents):
            probe._check_form(src.form, src.title)
            if src.uuid in seen_uuids:
                raise DistrictError(f"数据包“{src.path.name}”与另一个数据包是同一集群的草稿，请只保留一个")
            seen_uuids.add(src.uuid)
            existing = store.find_drafts_by_uuid(src.uuid)
            same = next((e.id for e in existing if same_content(store, e.id, src)), None)
            if same is not None:
                if same not in planned:
                    planned.append(same)
                continue
            if existing and on_duplicate == "ask":
                raise DuplicatePackage(existing[0], src)
            if not (on_duplicate == "replace" and any(e.id in planned for e in existing)):
                planned.append(-(len(to_import) + 1))  # placeholder for a new draft
            to_import.append(src)
        else:
            info = store.get_draft(src)
            if info.form_id not in catalog:
                raise DistrictError(f"草稿“{info.title}”使用的表单“{info.form_id}”本程序不认识")
            probe._check_form(catalog.get(info.form_id), info.title)
            if src not in planned:
                planned.append(src)
    cap = notice.max_clusters_per_district
    if cap is not None and len(planned) > cap:
        raise ClusterCapExceeded(notice.max_clusters_rule or f"每个区县最多报送 {cap} 个集群", cap, len(planned))
    if not planned:
        raise DistrictError("还没有加入任何集群，无法编制报送材料")
    rowless: list[str] = []  # clusters the officer's summary has no row for
    if summary_src is not None:
        rowless = plan_summary(summary_src, summary_form, _planned_names(store, ws, resolved, summary_form,
                                                                         district_name, catalog))
    target = _choose_target(out_dir, district_name, notice.id)

    # -- write the store: one transaction ------------------------------------------------------
    once = SnapshotOnce(store)
    if to_import:
        once()  # before the transaction: the snapshot holds the state before the compile
    undo = _Undo.before(store, ws.draft_id if ws is not None else None)
    imported: list[ImportOutcome] = []
    with store.batch():
        if ws is None:
            assert isinstance(district, District)
            ws = DistrictWorkspace(store, _adopt(store, adopt, district) if adopt is not None
                                   else create_district(store, district, catalog), catalog)
            undo.created_workspace = ws.draft_id
        elif isinstance(district, District):
            now = ws.district
            changes = {k: v for k, v in (("authority", district.authority), ("contact", district.contact),
                                           ("phone", district.phone)) if v and v.strip() != getattr(now, k)}
            if changes:
                ws.update_district(**changes)
        members = ws.cluster_ids()
        wanted: list[int] = []
        for src in resolved:
            if isinstance(src, int):
                wanted.append(src)
                continue
            same = next((e.id for e in store.find_drafts_by_uuid(src.uuid) if same_content(store, e.id, src)), None)
            if same is None:
                outcome = import_package(store, src, on_duplicate=on_duplicate, catalog=catalog, snapshot=once)
                imported.append(outcome)
                same = outcome.draft_id
                members = ws.cluster_ids()  # a replaced member now points at its new draft
            wanted.append(same)
        clusters = members + [i for i in dict.fromkeys(wanted) if i not in members]
        if ws.meta.get(META_CLUSTERS) != clusters:
            store.set_meta(ws.draft_id, META_CLUSTERS, clusters)
        ws.sync_summary()
        if summary_src is not None:
            ws.apply_summary(summary_src)
    undo.imported = [o.draft_id for o in imported if o.action != "replaced"]

    # -- check every document ------------------------------------------------------------------
    cluster_ids = ws.cluster_ids()
    statuses = [cluster_status(store, i, catalog) for i in cluster_ids]
    errors: dict[str, list[Problem]] = {}
    for st in statuses:
        bad = [p for p in st.problems if p.level == "error"]
        if bad:
            errors[st.title] = bad
    form, ans = load_answers(store, ws.draft_id, catalog)
    summary_title = store.get_draft(ws.draft_id).title
    summary_errors = [p for p in validate(form, ans, include_eligibility=False) if p.level == "error"]
    if summary_errors:
        errors[f"{form.form.short_title}（{summary_title}）"] = summary_errors
    if errors and not allow_draft:
        lines = ["以下材料还有错误，不能编制正式报送材料（改正后再编制，或选择生成草稿）："]
        for owner, probs in errors.items():
            lines.append(f"“{owner}”：{len(probs)} 个错误，例如：{probs[0]}")
        if summary_errors and rowless and summary_src is not None:
            lines += [f"{summary_src.label}中没有“{name}”这一行，请补上这一行" for name in rowless]
        raise CompileRefused(lines, errors)

    # -- build the files privately, then publish them together --------------------------------
    try:
        result = _build_and_publish(store, export_api(), target, ws, notice, statuses, errors, summary_title,
                                    bool(summary_errors), pdf, catalog)
    except BaseException:
        undo.run(store)
        raise
    result.imported = imported
    result.requested = out_dir
    result.messages[0:0] = target.notes
    return result


def _planned_names(store: Any, ws: "DistrictWorkspace | None", sources: Sequence[Any], summary_form: FormDef,
                   district_name: str, catalog: Catalog) -> list[list[str]]:
    """For each cluster of a planned compile (members and sources), the names a summary row may
    give it: its own name as the district form takes it (``district.match``), and the one its
    summary row shows now."""
    from clusterdesk.model.rules import Answers

    match = summary_spec(summary_form).match or ""
    members = ws.cluster_ids() if ws is not None else []
    rows = dict(zip(members, ws.summary_rows())) if ws is not None else {}
    out: dict[str, list[str]] = {}
    for src in [*members, *sources]:
        if isinstance(src, PackageContents):
            names = [cluster_row(summary_form, src.form, Answers(src.form, src.answers, src.notes), src.title,
                                 district_name).get(match)]
        else:
            derived = _cluster_values(store, src, summary_form, District(district_name, ""), catalog)
            names = [derived.get(match), rows.get(src, {}).get(match)]
        given: list[str] = [n for n in names if isinstance(n, str) and n]
        if given:
            out.setdefault(_norm(given[0]), given)
    return list(out.values())


def _deliver_evidence(store: Any, draft_id: int, form: FormDef, ans: Any, folder: Path, title: str,
                      shown: Path) -> tuple[list[Any], list[Path], list[str]]:
    """Write a cluster's evidence into ``folder`` (its 佐证材料/), named as its 佐证材料目录 lists them.

    Returns the named evidence (model.plan.EvidenceFile, for the print's 目录), the files written,
    and one Chinese line per ticked box without a file (未附（纸质提供）). Evidence whose content is
    not an allowed document or image (kept from an older version) is not delivered. A write that
    fails (a full disk) is an ExportWriteError naming ``shown``, the folder as the officer knows it."""
    try:
        return _write_evidence(store, draft_id, form, ans, folder, title)
    except OSError as exc:
        from clusterdesk.export.atomic import ExportWriteError, describe_os_error

        raise ExportWriteError.for_folder(shown, describe_os_error(exc), exc.errno) from exc
    except Exception as exc:
        from clusterdesk.export.atomic import ExportWriteError, describe_os_error
        from clusterdesk.store import EvidenceError

        cause = exc.__cause__
        if isinstance(exc, EvidenceError) and isinstance(cause, OSError):  # the store's export of a file
            raise ExportWriteError.for_folder(shown, describe_os_error(cause), cause.errno) from exc
        raise


def _write_evidence(store: Any, draft_id: int, form: FormDef, ans: Any, folder: Path,
                    title: str) -> tuple[list[Any], list[Path], list[str]]:
    import shutil

    from clusterdesk.evidence_types import content_kind, viewing_name
    from clusterdesk.model.plan import evidence_entries, evidence_names, normalise_evidence
    from clusterdesk.safeio import open_regular

    stored = normalise_evidence(store.list_evidence(draft_id))
    wanted = evidence_names(form, ans, stored)  # which links are delivered (their extension comes next)
    lines: list[str] = []
    typed = []
    if wanted:
        folder.mkdir(parents=True, exist_ok=True)
        scratch = folder / ".incoming"
        scratch.mkdir()
        try:
            for e in wanted:
                path = Path(store.export_evidence(e.source, scratch))
                with open_regular(path) as fh:
                    kind = content_kind(fh)
                if kind is None:
                    path.unlink()
                    lines.append(f"“{title}”：佐证材料“{e.filename}”的内容不是允许的文档或图片，未放入报送材料")
                    continue
                ext = viewing_name(e.filename, kind).rpartition(".")[2].lower()
                typed.append((replace(e, ext=ext, delivered=None), path))
            named = evidence_names(form, ans, [t for t, _ in typed])
            paths = {t.source: p for t, p in typed}
            written = []
            for n in named:
                os.replace(paths[n.source], folder / n.delivered)  # type: ignore[operator]
                written.append(folder / n.delivered)  # type: ignore[operator]
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    else:
        named, written = [], []
    for entry in evidence_entries(form, ans, named, delivered=True):
        if not entry.files:
            lines.append(f"“{title}”：{entry.section} · {entry.label} · {entry.option}：{NOT_ATTACHED}")
    return named, written, lines


def _build_and_publish(store: Any, api: Any, target: _Target, ws: "DistrictWorkspace", notice: Notice,
                       statuses: list[ClusterStatus], errors: dict[str, list[Problem]], summary_title: str,
                       summary_has_errors: bool, pdf: bool, catalog: Catalog) -> CompileResult:
    from clusterdesk.export.publish import FileSet, NewFolder, write_manifest
    from clusterdesk.service import load_answers

    from .checklist import build_checklist, write_checklist_docx

    folder = target.folder
    data_dir = Path(store.path).parent if getattr(store, "path", None) else None
    notes: list[str] = []
    missing: list[str] = []
    publisher = NewFolder(folder, data_dir=data_dir) if target.new else FileSet(folder, data_dir=data_dir)
    with publisher as pub:
        stage = pub.dir
        made: list[tuple[str, str, int, bool, Kind | None]] = []  # (staged rel, owner, draft id, draft copy, kind)
        draft_copies: list[str] = []

        def export(draft_id: int, title: str, where: Path, has_err: bool, delivered: list[Any] | None) -> None:
            where.mkdir(parents=True, exist_ok=True)
            form, ans = load_answers(store, draft_id, catalog)
            evidence = delivered if delivered is not None else store.list_evidence(draft_id)
            result = api.export_answers(form, ans, evidence, store.get_draft(draft_id).title, where, pdf=pdf,
                                        draft_copy=has_err, data_dir=data_dir, delivered_evidence=delivered is not None)
            if has_err:
                draft_copies.append(title)
            made.extend((Path(f).relative_to(stage).as_posix(), title, draft_id, has_err, None) for f in result.files)

        dirs: list[str] = []
        for n, st in enumerate(statuses, start=1):
            name = cluster_folder_name(n, st.title)
            dirs += [name, f"{name}/{EVIDENCE_DIR}"]
            form, ans = load_answers(store, st.draft_id, catalog)
            named, written, lines = _deliver_evidence(store, st.draft_id, form, ans, stage / name / EVIDENCE_DIR,
                                                      st.title, folder / name / EVIDENCE_DIR)
            missing.extend(lines)
            export(st.draft_id, st.title, stage / name, st.title in errors, named)
            made.extend((p.relative_to(stage).as_posix(), st.title, st.draft_id, False, "evidence") for p in written)
        export(ws.draft_id, summary_title, stage, summary_has_errors, None)
        rels = [m[0] for m in made] + [CHECKLIST_NAME, ELECTRONIC_ZIP]
        mapping = {r: r for r in rels}
        expect: dict[str, str | None] = {}
        if not target.new:
            for r in (CHECKLIST_NAME, ELECTRONIC_ZIP):  # not written yet: placeholders to plan their names
                (stage / r).touch()
            mapping, expect = _place(stage, target, rels, notes)
        documents = [CompiledDocument(folder / mapping[rel], kind or classify(Path(rel)), owner, did, copy)
                     for rel, owner, did, copy, kind in made]
        checklist_rel, zip_rel = mapping[CHECKLIST_NAME], mapping[ELECTRONIC_ZIP]
        checklist = build_checklist(notice, ws.district, statuses, documents, folder, summary_title=summary_title,
                                    summary_draft_id=ws.draft_id, draft_copies=draft_copies, missing=missing,
                                    zip_name=PurePosixPath(zip_rel).name)
        write_checklist_docx(checklist, stage / checklist_rel)
        _write_electronic_zip(stage / zip_rel, [d for d in documents if d.kind in ELECTRONIC_KINDS], folder, stage)
        finals = [mapping[r] for r in rels]
        write_manifest(stage, finals, dirs=dirs, info=_manifest_info(ws.district.name, notice.id))
        if isinstance(pub, NewFolder):  # target.new
            pub.publish()
        else:
            from clusterdesk.export.publish import MANIFEST_NAME

            removes = _stale(target, set(finals) | set(rels), notes)
            expect[MANIFEST_NAME] = target.manifest_sha
            pub.publish(finals + [MANIFEST_NAME], removes=removes, expect=expect,
                        prune=[d for d in target.previous_dirs if d not in dirs])
            if removes:
                notes.append(f"已删除上次编制生成、本次不再需要的 {len(removes)} 个文件（均未被修改过）")
    notes.extend(pub.sweep.notes)
    paper: list[tuple[Path, int]] = []
    for item in checklist.print_items:
        if item.file.endswith("/"):  # a cluster's evidence folder: its files, in the 目录's order
            where = folder / item.file.rstrip("/")
            paper += [(d.path, item.copies) for d in documents if d.kind == "evidence" and d.path.parent == where]
        else:
            paper.append((folder / item.file, item.copies))
    return CompileResult(folder, ws.district, notice, statuses, documents, folder / checklist_rel, folder / zip_rel,
                         draft_copies, messages=notes, missing_evidence=missing, paper=paper)


@dataclass
class _Undo:
    """What a compile's store transaction changed, to take it back if the files can't be written."""

    workspace: int | None
    answers: dict[str, Any]
    meta: dict[str, Any]
    created_workspace: int | None = None
    imported: list[int] = dc_field(default_factory=list)

    @classmethod
    def before(cls, store: Store, ws_id: int | None) -> "_Undo":
        if ws_id is None:
            return cls(None, {}, {})
        return cls(ws_id, store.get_answers(ws_id), store.get_meta(ws_id))

    def run(self, store: Store) -> None:
        """Undo in one transaction. If that fails too (the database is on the full disk), the
        store keeps a complete workspace, which the next compile finds and reuses."""
        try:
            with store.batch():
                for did in [*self.imported, *([self.created_workspace] if self.created_workspace else [])]:
                    store.delete_draft(did)
                if self.workspace is not None:
                    now = store.get_answers(self.workspace)
                    if now != self.answers:
                        store.set_answers(self.workspace, {k: self.answers.get(k) for k in {*now, *self.answers}})
                    meta = store.get_meta(self.workspace)
                    for key in (META_DISTRICT, META_CLUSTERS, META_PREFILL):
                        if meta.get(key) != self.meta.get(key):
                            store.set_meta(self.workspace, key, self.meta.get(key))
        except Exception:  # the compile's own error is what the user sees; this one goes to the log
            log.exception("restoring the district workspace after a failed compile")


def _unfinished_workspace(store: Store, district: District, catalog: Catalog) -> int | None:
    """A workspace draft an earlier version left without its district (a compile that failed half
    way): the notice's district form, the title create_district gives, no district in its meta and
    nothing filled in (a summary the officer imported from a template is theirs, never taken)."""
    _, form = notice_forms(district.notice_id, catalog)
    title = district.authority.strip() or f"{district.name.strip()}{form.form.short_title}"
    for info in store.list_drafts():
        if (info.form_id == form.id and info.title == title and META_DISTRICT not in store.get_meta(info.id)
                and not store.get_answers(info.id)):
            return info.id
    return None


def _adopt(store: Store, draft_id: int, district: District) -> int:
    store.set_meta(draft_id, META_DISTRICT, district.to_meta())
    store.set_meta(draft_id, META_CLUSTERS, [])
    return draft_id


class _Probe:
    """The checks of a workspace that does not exist yet."""

    def __init__(self, store: Store, notice: Notice, catalog: Catalog):
        self.notice = notice
        _, self.summary_form = notice_forms(notice.id, catalog)

    _check_form = DistrictWorkspace._check_form


def _write_electronic_zip(path: Path, docs: Iterable[CompiledDocument], final: Path, tmp: Path) -> None:
    from clusterdesk.export.atomic import atomic_write

    with atomic_write(path) as fh:
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for d in docs:
                rel = d.path.relative_to(final)
                zf.write(tmp / rel, rel.as_posix())


__all__ = [
    "CHECKLIST_NAME", "ELECTRONIC_ZIP", "EVIDENCE_DIR", "NOT_ATTACHED", "ClusterCapExceeded", "ClusterStatus",
    "CompileRefused", "CompileResult", "CompiledDocument", "District", "DistrictError", "DistrictWorkspace",
    "NotAClusterForm", "SummaryFile", "classify", "cluster_row", "cluster_status", "column_value", "compile_district",
    "create_district", "find_district", "find_districts", "infer_notice", "notice_forms", "notices",
    "plan_summary", "read_summary", "replace_cluster_reference", "summary_spec",
]

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

import re
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Literal, Protocol, Sequence

from clusterdesk.errors import NotFound
from clusterdesk.model.form import Catalog, FormDef, default_catalog
from clusterdesk.model.rules import Problem, eligibility, validate
from clusterdesk.model.schema import DistrictSummary, Notice, SummaryColumn
from clusterdesk.store import Store

from .common import ClusterCapExceeded, DistrictError, NotAClusterForm
from .package import (
    DuplicatePackage,
    ImportOutcome,
    OnDuplicate,
    PackageContents,
    import_package,
    read_package,
    same_content,
)
from .records import META_CLUSTERS, META_DISTRICT, META_PREFILL, is_district_draft


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


def norm(text: Any) -> str:
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
        if not is_district_draft(info, catalog):
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


def cluster_values(store: Any, draft_id: int, summary_form: FormDef, district: District,
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
        if not is_district_draft(info, self.catalog):
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
            derived = cluster_values(self.store, cid, form, self.district, self.catalog)
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
            derived = cluster_values(self.store, cid, self.summary_form, self.district, self.catalog)
            for name in (r.get(match), derived.get(match)):
                if name:
                    by_name.setdefault(norm(name), i)
        for given in summary.rows:
            found = by_name.get(norm(given.get(match)))
            if found is None:
                continue  # plan_summary refused it before anything was written
            rows[found] = {**rows[found], **{k: v for k, v in given.items() if k not in auto and v not in (None, "")}}
        if rows != self.summary_rows():
            session.set(table, rows)

    def summary_problems(self) -> list[Problem]:
        from clusterdesk.service import load_answers

        form, ans = load_answers(self.store, self.draft_id, self.catalog)
        return validate(form, ans, include_eligibility=False)


class Probe:
    """The checks of a workspace that does not exist yet."""

    def __init__(self, store: Store, notice: Notice, catalog: Catalog):
        self.notice = notice
        _, self.summary_form = notice_forms(notice.id, catalog)

    _check_form = DistrictWorkspace._check_form


def resolve_sources(store: Store, sources: Sequence[Any], catalog: Catalog) -> list[int | PackageContents]:
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

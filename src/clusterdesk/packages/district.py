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
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import asdict, dataclass, field as dc_field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable, Literal, Protocol, Sequence

from clusterdesk.logs import log
from clusterdesk.errors import ClusterDeskError, NotFound
from clusterdesk.model.form import Catalog, FormDef, default_catalog
from clusterdesk.model.rules import Problem, eligibility, validate
from clusterdesk.model.schema import Notice
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


SUMMARY_TABLE = "summary.clusters"
CHECKLIST_NAME = "寄送清单.docx"
ELECTRONIC_ZIP = "电子版.zip"

# Which cells of a cluster's form fill which column of the summary table (first one answered wins).
PREFILL_SOURCES: dict[str, tuple[str, ...]] = {
    "cluster_name": ("cover.cluster_name", "basic.cluster_name"),
    "operator": ("cover.operator", "basic.operator"),
    "district": ("cover.district",),
    "industry": ("basic.leading_industry", "cover.leading_industry"),
}
PREFILLED_COLUMNS = tuple(PREFILL_SOURCES)
OFFICER_COLUMNS = ("founded", "intro")

_NAME_PATTERN = re.compile(r"^重庆市中小企业特色产业集群（(?P<industry>.+产业)）$")


class DistrictError(ClusterDeskError):
    """A request the district workspace refuses; ``lines``: one Chinese line each."""


class ClusterCapExceeded(DistrictError):
    """More clusters than the notice allows (重庆：原则上不超过3个，对超过报送数量的，不予受理)."""

    def __init__(self, rule: str, cap: int, count: int):
        self.rule, self.cap, self.count = rule, cap, count
        super().__init__(rule)


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


def industry_from_name(name: str | None) -> str | None:
    """重庆市中小企业特色产业集群（XX产业） → XX产业."""
    if not isinstance(name, str):
        return None
    m = _NAME_PATTERN.match(name.strip())
    return m.group("industry") if m else None


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


def cluster_district(store: Store, draft_id: int, catalog: Catalog | None = None) -> str | None:
    """The 所属区县 a cluster's own form states, or None if it states none."""
    from clusterdesk.service import load_answers

    form, ans = load_answers(store, draft_id, catalog)
    for key in PREFILL_SOURCES["district"]:
        v = ans.value(key) if form.has_cell(key) else None
        if isinstance(v, str) and v.strip():
            return v.strip()
    return None


def same_district(a: str, b: str) -> bool:
    """永川区 / 重庆市永川区 / 永川 name the same district; 璧山区 and 永川区 do not."""
    a, b = a.strip(), b.strip()
    if not a or not b:
        return True  # nothing to compare
    short = [x[:-1] if len(x) > 2 and x[-1] in "区县市" else x for x in (a, b)]
    return short[0] in b or short[1] in a


def _cluster_values(store: Store, draft_id: int, district: District, catalog: Catalog) -> dict[str, str]:
    """The summary columns a cluster's own answers give."""
    from clusterdesk.service import load_answers

    form, ans = load_answers(store, draft_id, catalog)
    out: dict[str, str] = {}
    for col, keys in PREFILL_SOURCES.items():
        for key in keys:
            if form.has_cell(key):
                v = ans.value(key)
                if isinstance(v, str) and v.strip():
                    out[col] = v.strip()
                    break
    if "cluster_name" not in out:
        out["cluster_name"] = store.get_draft(draft_id).title
    if "industry" not in out:
        industry = industry_from_name(out.get("cluster_name"))
        if industry:
            out["industry"] = industry
    if "district" not in out and district.name.strip():
        out["district"] = district.name.strip()
    return out


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
    def has_summary_table(self) -> bool:
        return self.summary_form.has_cell(SUMMARY_TABLE)

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
            raise DistrictError(f"“{title}”不是集群的申报材料，不能加入区县名单")
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
        if not self.has_summary_table:
            return []
        rows = self.store.get_answers(self.draft_id).get(SUMMARY_TABLE)
        return [dict(r) for r in rows] if isinstance(rows, list) else []

    def sync_summary(self) -> list[dict[str, Any]]:
        """Refresh the summary's header and cluster rows from the district and the clusters.

        Prefilled cells follow their cluster unless the officer changed them; 集群成立时间 and
        集群简介 are the officer's and are kept with their cluster's row."""
        session = self._session()
        form = self.summary_form
        d = self.district
        meta = self.meta
        stored = meta.get(META_PREFILL)
        prefill: dict[str, dict[str, str]] = stored if isinstance(stored, dict) else {}
        header_last = prefill.get("header", {})
        header_new: dict[str, str] = {}
        header_values = {"summary.authority": d.authority, "summary.contact": d.contact_line,
                         "summary.district": d.name}
        for key, value in header_values.items():
            if not form.has_cell(key) or not form.cell(key).answerable or not value:
                continue
            current = session.value(key)
            if current in (None, "", header_last.get(key)):
                if current != value:
                    session.set(key, value)
                header_new[key] = value
            elif key in header_last:
                header_new[key] = header_last[key]
        new_prefill: dict[str, dict[str, str]] = {"header": header_new} if header_new else {}
        if not self.has_summary_table:
            if meta.get(META_PREFILL) != new_prefill:
                self.store.set_meta(self.draft_id, META_PREFILL, new_prefill)
            return []
        old_rows = [dict(r) for r in (session.value(SUMMARY_TABLE) or [])]
        rows: list[dict[str, Any]] = []
        for n, cid in enumerate(self.cluster_ids(), start=1):
            derived = _cluster_values(self.store, cid, d, self.catalog)
            last = prefill.get(str(cid), {})
            names = {v for v in (derived.get("cluster_name"), last.get("cluster_name")) if v}
            old = next((r for r in old_rows if r.get("cluster_name") in names), None)
            if old is not None:
                old_rows.remove(old)
            old = old or {}
            row: dict[str, Any] = {"serial": n}
            for col in PREFILLED_COLUMNS:
                have = old.get(col)
                if derived.get(col) and have in (None, "", last.get(col)):
                    row[col] = derived[col]
                elif have not in (None, ""):
                    row[col] = have
            for col in OFFICER_COLUMNS:
                if old.get(col) not in (None, ""):
                    row[col] = old[col]
            rows.append(row)
            new_prefill[str(cid)] = {c: derived[c] for c in PREFILLED_COLUMNS if c in derived}
        if rows != (session.value(SUMMARY_TABLE) or []):
            session.set(SUMMARY_TABLE, rows or None)
        if meta.get(META_PREFILL) != new_prefill:  # a compile that changes nothing leaves the draft as it was
            self.store.set_meta(self.draft_id, META_PREFILL, new_prefill)
        return rows

    def set_summary_cell(self, row: int, column: str, text: str) -> str | None:
        """The officer edits one cell of the summary table. Returns the Chinese error, or None."""
        from clusterdesk.service import InputError

        rows = self.summary_rows()
        if not 0 <= row < len(rows):
            return "没有这一行"
        col_ids = {c.id for c in self.summary_form.cell(SUMMARY_TABLE).field.columns}
        if column not in col_ids:
            return f"汇总表没有“{column}”列"
        rows[row] = {**rows[row], column: text}
        if not text.strip():
            rows[row].pop(column, None)
        try:
            self._session().set(SUMMARY_TABLE, rows)
        except InputError as e:
            return str(e)
        return None

    def summary_problems(self) -> list[Problem]:
        from clusterdesk.service import load_answers

        form, ans = load_answers(self.store, self.draft_id, self.catalog)
        return validate(form, ans, include_eligibility=False)


# ----------------------------------------------------------------------------- compiling


Kind = Literal["print", "editable", "list", "pdf"]


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

    @property
    def files(self) -> list[Path]:
        """Every file of the folder (relative order: clusters, summary, checklist, zip)."""
        return [d.path for d in self.documents] + [self.checklist, self.electronic_zip]

    @property
    def print_files(self) -> list[Path]:
        """What goes to the printer, in 一式N份: a PDF where one was made, else the print .docx,
        and the lists."""
        out: list[Path] = []
        pdf_stems = {d.path.with_suffix("") for d in self.documents if d.kind == "pdf"}
        for d in self.documents:
            if d.kind == "pdf" or d.kind == "list":
                out.append(d.path)
            elif d.kind == "print" and d.path.with_suffix("") not in pdf_stems:
                out.append(d.path)
        return out

    @property
    def editable_files(self) -> list[Path]:
        return [d.path for d in self.documents if d.kind in ("editable", "list")]


def classify(path: Path) -> Kind:
    name = path.name
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return "pdf"
    if "可编辑" in name:
        return "editable"
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
                     pdf: bool = False, allow_draft: bool = False, on_duplicate: OnDuplicate = "ask",
                     catalog: Catalog | None = None) -> CompileResult:
    """Compile a district's submission into ``out_dir`` (one folder per submission).

    ``district``: a district workspace's draft id, or a District (found by name and notice, or
    created). ``sources``: package paths (.cdpkg) or cluster draft ids to add first; with none, the
    workspace's current clusters are compiled. Everything is checked before anything is written:
    refused packages and the notice's cap leave the store and the disk unchanged.

    The store's changes (the workspace, imported packages, its cluster list and summary) are one
    transaction. Documents with errors (CompileRefused) keep them, so the officer can correct the
    workspace; a failure while writing the files (a full disk) undoes them, and a re-run after a
    crash finds and reuses the workspace and the imported drafts.

    The folder: a new folder is built beside ``out_dir`` and renamed into place in one step. An
    existing folder is recompiled only if it is empty or holds this district's earlier compile
    (the manifest the program keeps there): then only the program's own, unchanged files are
    replaced or removed, and everything is published together (export.publish). A file the
    officer changed or added is kept, and a new file that would take its name goes beside it.
    Any other folder is left alone and a new one is made beside it. ``result.messages`` says
    which, in Chinese.
    """
    from clusterdesk.service import load_answers

    from .package import export_api

    catalog = catalog or default_catalog()
    out_dir = Path(out_dir).absolute()
    resolved = _resolve_sources(store, sources, catalog)

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
        notice = ws.notice
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
        raise CompileRefused(lines, errors)

    # -- build the files privately, then publish them together --------------------------------
    try:
        result = _build_and_publish(store, export_api(), target, ws, notice, statuses, errors, summary_title,
                                    bool(summary_errors), pdf)
    except BaseException:
        undo.run(store)
        raise
    result.imported = imported
    result.requested = out_dir
    result.messages[0:0] = target.notes
    return result


def _build_and_publish(store: Store, api: Any, target: _Target, ws: "DistrictWorkspace", notice: Notice,
                       statuses: list[ClusterStatus], errors: dict[str, list[Problem]], summary_title: str,
                       summary_has_errors: bool, pdf: bool) -> CompileResult:
    from clusterdesk.export.publish import FileSet, NewFolder, write_manifest

    from .checklist import build_checklist, write_checklist_docx

    folder = target.folder
    data_dir = Path(store.path).parent if getattr(store, "path", None) else None
    notes: list[str] = []
    publisher = NewFolder(folder, data_dir=data_dir) if target.new else FileSet(folder, data_dir=data_dir)
    with publisher as pub:
        stage = pub.dir
        made: list[tuple[str, str, int, bool]] = []  # (staged rel, owner, draft id, draft copy)
        draft_copies: list[str] = []

        def export(draft_id: int, title: str, where: Path, has_err: bool) -> None:
            where.mkdir(parents=True, exist_ok=True)
            result = api.export_draft(store, draft_id, where, pdf=pdf, draft_copy=has_err)
            if has_err:
                draft_copies.append(title)
            made.extend((Path(f).relative_to(stage).as_posix(), title, draft_id, has_err) for f in result.files)

        dirs: list[str] = []
        for n, st in enumerate(statuses, start=1):
            name = cluster_folder_name(n, st.title)
            dirs.append(name)
            export(st.draft_id, st.title, stage / name, st.title in errors)
        export(ws.draft_id, summary_title, stage, summary_has_errors)
        rels = [m[0] for m in made] + [CHECKLIST_NAME, ELECTRONIC_ZIP]
        mapping = {r: r for r in rels}
        expect: dict[str, str | None] = {}
        if not target.new:
            for r in (CHECKLIST_NAME, ELECTRONIC_ZIP):  # not written yet: placeholders to plan their names
                (stage / r).touch()
            mapping, expect = _place(stage, target, rels, notes)
        documents = [CompiledDocument(folder / mapping[rel], classify(Path(rel)), owner, did, copy)
                     for rel, owner, did, copy in made]
        checklist_rel, zip_rel = mapping[CHECKLIST_NAME], mapping[ELECTRONIC_ZIP]
        checklist = build_checklist(notice, ws.district, statuses, documents, folder, summary_title=summary_title,
                                    summary_draft_id=ws.draft_id, draft_copies=draft_copies)
        write_checklist_docx(checklist, stage / checklist_rel, zip_name=PurePosixPath(zip_rel).name)
        _write_electronic_zip(stage / zip_rel, [d for d in documents if d.kind in ("editable", "list")], folder, stage)
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
    return CompileResult(folder, ws.district, notice, statuses, documents, folder / checklist_rel, folder / zip_rel,
                         draft_copies, messages=notes)


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
    way): the notice's district form, the title create_district gives, no district in its meta."""
    _, form = notice_forms(district.notice_id, catalog)
    title = district.authority.strip() or f"{district.name.strip()}{form.form.short_title}"
    for info in store.list_drafts():
        if info.form_id == form.id and info.title == title and META_DISTRICT not in store.get_meta(info.id):
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
    "CHECKLIST_NAME", "ELECTRONIC_ZIP", "ClusterCapExceeded", "ClusterStatus", "CompileRefused",
    "CompileResult", "CompiledDocument", "District", "DistrictError", "DistrictWorkspace", "classify",
    "cluster_status", "compile_district", "create_district", "find_district", "find_districts",
    "industry_from_name", "notice_forms", "notices", "replace_cluster_reference",
]

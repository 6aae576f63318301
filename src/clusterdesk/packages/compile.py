"""The compile: the submission folder (each cluster's sealed form and evidence, the 汇总表, the
寄送清单, 电子版.zip), published as one set, with the store's changes undone with its files."""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field as dc_field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Literal, Sequence

from clusterdesk.logs import log
from clusterdesk.model.form import Catalog, FormDef, default_catalog
from clusterdesk.model.rules import Problem, validate
from clusterdesk.model.schema import Notice
from clusterdesk.store import Store

from .common import CHECKLIST_NAME, ClusterCapExceeded, CompileRefused, DistrictError, ELECTRONIC_ZIP, EVIDENCE_DIR, NOT_ATTACHED
from .package import (
    DuplicatePackage,
    ImportOutcome,
    OnDuplicate,
    PackageContents,
    SnapshotOnce,
    safe_member_name,
    import_package,
    same_content,
)
from .records import META_CLUSTERS, META_DISTRICT, META_PREFILL
from .summary import infer_notice, plan_summary, read_summary
from .workspace import (
    ClusterStatus,
    District,
    DistrictWorkspace,
    Probe,
    cluster_row,
    cluster_status,
    cluster_values,
    create_district,
    find_district,
    norm,
    notice_forms,
    resolve_sources,
    summary_spec,
)


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
    resolved = resolve_sources(store, sources, catalog)
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
    probe = ws or Probe(store, notice, catalog)
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
            derived = cluster_values(store, src, summary_form, District(district_name, ""), catalog)
            names = [derived.get(match), rows.get(src, {}).get(match)]
        given: list[str] = [n for n in names if isinstance(n, str) and n]
        if given:
            out.setdefault(norm(given[0]), given)
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


def _write_electronic_zip(path: Path, docs: Iterable[CompiledDocument], final: Path, tmp: Path) -> None:
    from clusterdesk.export.atomic import atomic_write

    with atomic_write(path) as fh:
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for d in docs:
                rel = d.path.relative_to(final)
                zf.write(tmp / rel, rel.as_posix())

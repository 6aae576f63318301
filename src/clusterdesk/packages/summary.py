"""The officer's 汇总表 from a file (a filled template or a draft): read, matched to the clusters by
集群名称, and the notice inferred from what is compiled."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from clusterdesk.model.form import Catalog, FormDef, default_catalog

from .common import ClusterCapExceeded, DistrictError
from .package import PackageContents
from .workspace import District, Probe, SummaryFile, cluster_row, norm, notices, resolve_sources, summary_spec


# ----------------------------------------------------------------------------- the officer's summary file


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
    probe = Probe(store, notice, catalog)
    resolved = resolve_sources(store, sources, catalog)
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
        name = norm(row.get(spec.match or ""))
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
    known = {norm(n): i for i, ns in enumerate(names) for n in ns if n}
    shown = "、".join(f"“{ns[0]}”" for ns in names if ns) or "（无）"
    lines: list[str] = []
    seen: dict[int, int] = {}
    for r, row in enumerate(summary.rows, start=1):
        name = row.get(match)
        if not isinstance(name, str) or not name.strip():
            lines.append(f"{summary.label}第{r}行没有填写“{label}”，无法对应到集群")
            continue
        i = known.get(norm(name))
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

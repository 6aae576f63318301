"""The cluster's life after approval: annual reports prefilled from the application, checked against
its targets, and rolled over year to year. Generic: every mapping lives in the form definitions
(``prefill``, ``change_checks``, ``achievement``, ``carry_over``); this module only follows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from clusterdesk.errors import ClusterDeskError
from clusterdesk.model import expr as E
from clusterdesk.model.form import Catalog, FormDef, default_catalog
from clusterdesk.model.rules import Achieved, Answers, achievement  # noqa: F401  (re-exported)
from clusterdesk.model.schema import Prefill
from clusterdesk.model.values import number_in_text, same_value
from clusterdesk.service import InputError, load_answers, parse_cell
from clusterdesk.store import Store


class AnnualError(ClusterDeskError):
    """The annual-report step cannot be done; ``str()`` says why, in Chinese."""


@dataclass(frozen=True)
class Carried:
    """Where a carried value came from, and whether the user has changed it since."""

    key: str  # cell key, or "table.key[row].column" for a table cell
    source: str  # 申报材料（草稿 3）· 封面 · 集群名称
    value: Any
    current: Any
    changed: bool


def _stored(v: Any) -> Any:
    if isinstance(v, Decimal):
        return format(v, "f")
    return v


def _prefill_for(form: FormDef, source_form_id: str) -> Prefill:
    for pf in form.form.prefill:
        if not pf.previous_year and pf.source_form == source_form_id:
            return pf
    known = "、".join(p.source_form for p in form.form.prefill if not p.previous_year) or "无"
    raise AnnualError(f"“{form.title}”不能从“{source_form_id}”预填（可预填的来源表单：{known}）")


def carry_values(form: FormDef, pf: Prefill, source: Answers, year: int) -> tuple[dict[str, Any], dict[str, dict]]:
    """Values for ``form`` computed from the source draft, and where each came from."""
    values: dict[str, Any] = {}
    sources: dict[str, dict] = {}
    for f in pf.fields:
        v = E.evaluate(f.expr, source.value)
        if v is None:
            continue
        try:
            parsed = parse_cell(form, f.to, _stored(v))
        except InputError:
            continue
        if parsed is None:
            continue
        values[f.to] = parsed
        refs = E.refs(f.expr)
        where = source.form.cell(refs[0]).where if refs and source.form.has_cell(refs[0]) else f.expr
        sources[f.to] = {"prefill": pf.id, "from": where, "value": parsed}
    for t in pf.tables:
        _, table = form.field(t.to)
        src_rows = {r.get("key"): r for r in (source.typed(t.source) or []) if isinstance(r, dict)}
        rows: list[dict[str, Any]] = []
        for fixed in table.fixed_rows:
            row: dict[str, Any] = {"key": fixed["key"]}
            src = src_rows.get(fixed["key"], {})
            for col, src_col in t.columns.items():
                if src.get(src_col) not in (None, "", "......"):
                    row[col] = src[src_col]
            for col, by_year in t.year_columns.items():
                year_col = by_year.get(year)
                if year_col and src.get(year_col) not in (None, ""):
                    row[col] = src[year_col]
                    label = source.form.cell(t.source).field.columns
                    col_label = next((c.label for c in label if c.id == year_col), year_col)
                    sources[f"{t.to}[{fixed['key']}].{col}"] = {
                        "prefill": pf.id, "value": src[year_col],
                        "from": f"{source.form.cell(t.source).where} · {src.get('indicator', '')} · {col_label}"}
            rows.append(row)
        values[t.to] = parse_cell(form, t.to, rows)
    return values, sources


def create_annual(store: Store, application_id: int, form_id: str, year: int | None = None,
                  catalog: Catalog | None = None) -> int:
    """新建年度报告: a report draft linked to an application draft, prefilled from it."""
    catalog = catalog or default_catalog()
    app_form, app = load_answers(store, application_id, catalog)
    form = catalog.get(form_id)
    if year is not None and year != form.form.year:
        other = catalog.family(form.form.family, year) if form.form.family else None
        if other is None:
            raise AnnualError(f"没有 {year} 年度的“{form.title}”表单定义；已有：{form.form.year} 年度")
        form = other
    year = form.form.year
    pf = _prefill_for(form, app_form.id)
    values, sources = carry_values(form, pf, app, year)
    for cc in form.form.change_checks:
        if cc.prefill == pf.id:
            values[cc.field] = "否"
            sources[cc.field] = {"prefill": pf.id, "from": "程序根据申报材料判断，请确认", "value": "否"}
    title = form.display_title(values) or app.form.display_title(app.raw) or f"未命名{form.form.short_title}"
    with store.batch():
        info = store.create_draft(form.id, form.version, title, linked_draft_id=application_id)
        store.set_answers(info.id, values)
        store.set_meta(info.id, "annual", {
            "year": year, "application": application_id, "prefill": pf.id,
            "created": datetime.now().isoformat(timespec="seconds"), "sources": sources, "history": []})
    return info.id


def carried(store: Store, draft_id: int, values: dict[str, Any] | None = None) -> dict[str, Carried]:
    """Every carried value with its source, marked where the user has since typed something else."""
    meta: dict[str, Any] = (store.get_meta(draft_id) or {}).get("annual") or {}
    values = store.get_answers(draft_id) if values is None else values
    app_id = meta.get("application")
    label = f"申报材料（草稿 {app_id}）" if app_id else "申报材料"
    out: dict[str, Carried] = {}
    for key, src in (meta.get("sources") or {}).items():
        if "[" in key:
            table, rest = key.split("[", 1)
            row_key, col = rest.split("].", 1)
            rows = values.get(table) or []
            if not isinstance(rows, list):  # a damaged value: no row to compare with
                rows = []
            current = next((r.get(col) for r in rows if isinstance(r, dict) and r.get("key") == row_key), None)
        else:
            current = values.get(key)
        out[key] = Carried(key, f"{label} · {src.get('from', '')}", src.get("value"), current,
                           not same_value(current, src.get("value")))
    return out


# -- next year ------------------------------------------------------------------------------


def roll_over(store: Store, draft_id: int, catalog: Catalog | None = None) -> int:
    """复制为下一年度: next year's report from this one; this year's 完成值 become history."""
    catalog = catalog or default_catalog()
    form, ans = load_answers(store, draft_id, catalog)
    fam = form.form.family
    if not fam:
        raise AnnualError(f"“{form.title}”不是年度报告，不能复制为下一年度")
    nxt = catalog.family(fam, form.form.year + 1)
    if nxt is None:
        raise AnnualError(f"尚无 {form.form.year + 1} 年度的“{form.form.short_title}”表单定义"
                          f"（请在 forms 文件夹中加入该年度通知所附表格的定义文件）")
    info = store.get_draft(draft_id)
    meta = (store.get_meta(draft_id) or {}).get("annual") or {}
    values: dict[str, Any] = {}
    for key in nxt.form.carry_over:
        v = ans.typed(key)
        if v is not None and nxt.has_cell(key):
            try:
                values[key] = parse_cell(nxt, key, v)
            except InputError:
                continue
    sources: dict[str, dict] = {}
    app_id = info.linked_draft_id
    if app_id is not None:
        try:
            app_form, app = load_answers(store, app_id, catalog)
            pf = _prefill_for(nxt, app_form.id)
        except (AnnualError, Exception):
            pf = None
        if pf is not None:
            carried_values, sources = carry_values(nxt, pf, app, nxt.form.year)
            for k, v in carried_values.items():
                values.setdefault(k, v) if k in nxt.form.carry_over else values.__setitem__(k, v)
            for cc in nxt.form.change_checks:
                values[cc.field] = "否"
    history = list(meta.get("history") or [])
    history.append({"year": form.form.year, "draft": draft_id,
                    "rows": {a.key: {"indicator": a.indicator, "target": a.target, "actual": a.actual}
                             for a in achievement(form, ans)}})
    title = nxt.display_title(values) or info.title
    with store.batch():
        new = store.create_draft(nxt.id, nxt.version, title, linked_draft_id=app_id)
        store.set_answers(new.id, values)
        store.set_meta(new.id, "annual", {"year": nxt.form.year, "application": app_id, "previous": draft_id,
                                          "created": datetime.now().isoformat(timespec="seconds"),
                                          "sources": sources, "history": history})
    return new.id


@dataclass(frozen=True)
class Series:
    """One indicator over the plan years, for the 目标完成情况 chart."""

    key: str
    indicator: str
    points: tuple[tuple[int, str, Decimal], ...]  # (year, 基准值/目标值/完成值, number)


def progress(store: Store, draft_id: int, catalog: Catalog | None = None) -> list[Series]:
    """Baseline, targets and actuals of each numeric indicator over the years (from the linked
    application, this year's report and the history of earlier years)."""
    catalog = catalog or default_catalog()
    form, ans = load_answers(store, draft_id, catalog)
    meta: dict[str, Any] = (store.get_meta(draft_id) or {}).get("annual") or {}
    points: dict[str, list[tuple[int, str, Decimal]]] = {}
    names: dict[str, str] = {}
    for pf in form.form.prefill:
        src = ans.linked.get(pf.id)
        if src is None:
            continue
        for t in pf.tables:
            for row in src.typed(t.source) or []:
                if not isinstance(row, dict) or not row.get("key") or row.get("indicator") == "定性描述":
                    continue  # qualitative rows have no numbers to chart
                for col, by_year in t.year_columns.items():
                    for y, src_col in by_year.items():
                        n = number_in_text(row.get(src_col))
                        if n is not None:
                            kind = "基准值" if src_col == "baseline" else "目标值"
                            points.setdefault(row["key"], []).append((y, kind, n))
                            names.setdefault(row["key"], row.get("indicator") or row["key"])
    for h in meta.get("history") or []:
        for key, r in (h.get("rows") or {}).items():
            n = number_in_text(r.get("actual"))
            if n is not None and r.get("indicator") != "定性描述":
                points.setdefault(key, []).append((int(h["year"]), "完成值", n))
                names.setdefault(key, r.get("indicator", key))
    for a in achievement(form, ans):
        n = number_in_text(a.actual)
        if n is not None and a.indicator != "定性描述":
            points.setdefault(a.key, []).append((form.form.year, "完成值", n))
            names.setdefault(a.key, a.indicator)
    return [Series(k, names.get(k, k), tuple(sorted(v))) for k, v in points.items() if v]

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
from clusterdesk.model.rules import Achieved, Answers, achievement, row_name  # noqa: F401  (re-exported)
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
    source: str  # 申报材料“<集群名称>” · 封面 · 集群名称
    value: Any
    current: Any
    changed: bool
    label: str = ""  # how the source is called (the prefill's label): 申报材料


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


def _same_year_cells(form: FormDef, source: Answers, to: str, from_: str, year: int) -> list[tuple[str, str]]:
    """(this form's cell, the source's cell) for the cells of ``to`` of ``year``: the source's cell
    of the same year, or, for a source field without years, its one cell when its figures stand at
    that year (data_as_of)."""
    src_form = source.form
    as_of = src_form.form.data_as_of.date.year if src_form.form.data_as_of else None
    out = []
    for c in form.cells_of(to):
        if c.year != year:
            continue
        rest = c.key[len(to):]  # ".2023", or ".2023.international.lead" for a matrix
        key = from_ + rest
        if not src_form.has_cell(key) and as_of == year:
            key = from_ + rest[len(f".{year}"):]  # the source's one cell stands at that year
        if src_form.has_cell(key) and src_form.cell(key).year in (None, year):
            out.append((c.key, key))
    return out


def carry_values(form: FormDef, pf: Prefill, source: Answers, year: int) -> tuple[dict[str, Any], dict[str, dict]]:
    """Values for ``form`` computed from the source draft, and where each came from."""
    values: dict[str, Any] = {}
    sources: dict[str, dict] = {}

    def put(key: str, raw: Any, where: str) -> None:
        try:
            parsed = parse_cell(form, key, _stored(raw))
        except InputError:
            return
        if parsed is not None:
            values[key] = parsed
            sources[key] = {"prefill": pf.id, "from": where, "value": parsed}

    src_key_of = source.current  # the source may be a later version that renamed a field (renamed_from)
    for f in pf.fields:
        v = E.evaluate(f.expr, source.value)  # Answers reads a renamed field under its old id too
        if v is None:
            continue
        refs = [src_key_of(r) for r in E.refs(f.expr)]
        put(f.to, v, source.form.cell(refs[0]).where if refs and source.form.has_cell(refs[0]) else f.expr)
    for sy in pf.same_year:
        from_ = source.form.renames.get(sy.from_, sy.from_)
        for to_key, src_key in _same_year_cells(form, source, sy.to, from_, year):
            v = source.value(src_key)
            if v is not None:
                put(to_key, v, source.form.cell(src_key).where)
    for t in pf.tables:
        _, table = form.field(t.to)
        t_source = src_key_of(t.source)
        src_table = source.form.cell(t_source).field
        src_rows = {r.get("key"): r for r in (source.typed(t_source) or []) if isinstance(r, dict)}
        rows: list[dict[str, Any]] = []
        for fixed in table.fixed_rows:
            row: dict[str, Any] = {"key": fixed["key"]}
            src = src_rows.get(fixed["key"], {})
            for col, src_col in t.columns.items():
                if src.get(src_col) not in (None, "", src_table.open_text):
                    row[col] = src[src_col]
            for col, by_year in t.year_columns.items():
                year_col = by_year.get(year)
                if year_col and src.get(year_col) not in (None, ""):
                    row[col] = src[year_col]
                    col_label = next((c.label for c in src_table.columns if c.id == year_col), year_col)
                    name = row_name(src_table, src) or fixed["key"]
                    sources[f"{t.to}[{fixed['key']}].{col}"] = {
                        "prefill": pf.id, "value": src[year_col],
                        "from": f"{source.form.cell(t_source).where} · {name} · {col_label}"}
            rows.append(row)
        values[t.to] = parse_cell(form, t.to, rows)
    return values, sources


def _from_draft(sources: dict[str, dict], draft_id: int) -> dict[str, dict]:
    """Each source entry records the draft it came from (named by its title when shown)."""
    return {k: {**v, "draft": draft_id} for k, v in sources.items()}


def create_annual(store: Any, application_id: int, form_id: str, year: int | None = None,
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
            sources[cc.field] = {"prefill": pf.id, "from": f"程序根据{pf.label}判断，请确认", "value": "否"}
    title = form.display_title(values) or app.form.display_title(app.raw) or f"未命名{form.form.short_title}"
    with store.batch():
        info = store.create_draft(form.id, form.version, title, linked_draft_id=application_id)
        store.set_answers(info.id, values)
        store.set_meta(info.id, "annual", {
            "year": year, "application": application_id, "prefill": pf.id,
            "created": datetime.now().isoformat(timespec="seconds"),
            "sources": _from_draft(sources, application_id), "history": []})
    return info.id


def source_label(store: Any, form: FormDef | None, prefill_id: str | None, draft_id: Any) -> tuple[str, str]:
    """(the prefill's label, “<label>“<draft title>””): how a carried value's source is named."""
    pf = next((p for p in form.form.prefill if p.id == prefill_id), None) if form is not None else None
    label = pf.label if pf is not None else ""
    title = None
    if isinstance(draft_id, int):
        try:
            title = store.get_draft(draft_id).title
        except Exception:  # noqa: BLE001 - the source draft was deleted: its label alone
            title = None
    return label, f"{label}“{title}”" if title else label


def carried(store: Any, draft_id: int, values: dict[str, Any] | None = None,
            catalog: Catalog | None = None) -> dict[str, Carried]:
    """Every carried value with its source (named by the source draft's title), marked where the
    user has since typed something else."""
    catalog = catalog or default_catalog()
    meta = (store.get_meta(draft_id) or {}).get("annual") or {}
    values = store.get_answers(draft_id) if values is None else values
    info = store.get_draft(draft_id)
    form = catalog.get(info.form_id) if info.form_id in catalog else None
    named: dict[tuple[Any, Any], tuple[str, str]] = {}
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
        which = (src.get("prefill"), src.get("draft", meta.get("application")))
        if which not in named:
            named[which] = source_label(store, form, *which)
        label, origin = named[which]
        out[key] = Carried(key, f"{origin} · {src.get('from', '')}", src.get("value"), current,
                           not same_value(current, src.get("value")), label)
    return out


# -- next year ------------------------------------------------------------------------------


def _carry_over(nxt: FormDef, ans: Answers) -> dict[str, Any]:
    """复制为下一年度: the values ``carry_over`` names, by meaning: ``{to, from}`` where the key
    changed with the year, and a field renamed since (``renamed_from``) found under its old key."""
    values: dict[str, Any] = {}
    old_form = ans.form
    for co in nxt.form.carry_over:
        froms = [co.from_] + [old for old, new in nxt.renames.items() if new == co.to and co.from_ == co.to]
        src = next((k for k in froms if old_form.has_cell(k) or old_form.has_field(k)), None)
        if src is None:
            continue
        pairs = ([(co.to, src)] if nxt.has_cell(co.to) and old_form.has_cell(src) else
                 [(c.key, src + c.key[len(co.to):]) for c in (nxt.cells_of(co.to) if nxt.has_field(co.to) else [])])
        for to_key, from_key in pairs:
            v = ans.typed(from_key) if old_form.has_cell(from_key) else None
            if v is None:
                continue
            try:
                values[to_key] = parse_cell(nxt, to_key, v)
            except InputError:
                continue
    return values


def roll_over(store: Any, draft_id: int, catalog: Catalog | None = None) -> int:
    """复制为下一年度: next year's report from this one; this year's 完成值 become history."""
    catalog = catalog or default_catalog()
    form, ans = load_answers(store, draft_id, catalog)
    fam = form.form.family
    if not fam:
        raise AnnualError(f"“{form.title}”不是年度报告，不能复制为下一年度")
    nxt = catalog.family(fam, form.form.year + 1)
    if nxt is None:
        raise AnnualError(f"尚无 {form.form.year + 1} 年度的“{form.form.short_title}”表单定义"
                          f"（请用“文件 → 安装表单定义…”或 clusterdesk forms install 安装该年度通知所附表格的定义文件）")
    info = store.get_draft(draft_id)
    meta = (store.get_meta(draft_id) or {}).get("annual") or {}
    values = _carry_over(nxt, ans)
    sources: dict[str, dict] = {}
    for pf in nxt.form.prefill:  # last year's report as a source of its own (previous_year)
        if pf.previous_year and pf.source_form == fam:
            got, srcs = carry_values(nxt, pf, ans, nxt.form.year)
            values.update(got)
            sources.update(_from_draft(srcs, draft_id))
    app_id = info.linked_draft_id
    if app_id is not None:
        app_pf: Prefill | None
        try:
            app_form, app = load_answers(store, app_id, catalog)
            app_pf = _prefill_for(nxt, app_form.id)
        except (AnnualError, Exception):
            app_pf = None
        if app_pf is not None:
            carried_values, srcs = carry_values(nxt, app_pf, app, nxt.form.year)
            for k, v in carried_values.items():
                if k in values:
                    srcs.pop(k, None)  # last year's value (carry_over, previous_year) wins over the application's
                else:
                    values[k] = v
            sources.update(_from_draft(srcs, app_id))
            for cc in nxt.form.change_checks:
                values[cc.field] = "否"
    history = list(meta.get("history") or [])
    history.append({"year": form.form.year, "draft": draft_id,
                    "rows": {a.key: {"indicator": a.indicator, "target": a.target, "actual": a.actual,
                                     "qualitative": a.key in _qualitative(form)}
                             for a in achievement(form, ans)}})
    title = nxt.display_title(values) or info.title
    with store.batch():
        new = store.create_draft(nxt.id, nxt.version, title, linked_draft_id=app_id)
        store.set_answers(new.id, values)
        store.set_meta(new.id, "annual", {"year": nxt.form.year, "application": app_id, "previous": draft_id,
                                          "created": datetime.now().isoformat(timespec="seconds"),
                                          "sources": sources, "history": history})
    return new.id


def _qualitative(form: FormDef) -> tuple[str, ...]:
    return form.form.achievement.qualitative if form.form.achievement else ()


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
    qualitative = set(_qualitative(form))
    for pf in form.form.prefill:
        src = ans.linked.get(pf.id)
        if src is None:
            continue
        baseline = src.form.form.targets.baseline_column if src.form.form.targets else None
        for t in pf.tables:
            src_table = src.form.cell(src.current(t.source)).field
            for row in src.typed(t.source) or []:
                if not isinstance(row, dict) or not row.get("key") or row["key"] in qualitative:
                    continue  # qualitative rows have no numbers to chart
                for col, by_year in t.year_columns.items():
                    for y, src_col in by_year.items():
                        n = number_in_text(row.get(src_col))
                        if n is not None:
                            kind = "基准值" if src_col == baseline else "目标值"
                            points.setdefault(row["key"], []).append((y, kind, n))
                            names.setdefault(row["key"], row_name(src_table, row) or row["key"])
    for h in meta.get("history") or []:
        for key, r in (h.get("rows") or {}).items():
            n = number_in_text(r.get("actual"))
            if n is not None and key not in qualitative and not r.get("qualitative"):
                points.setdefault(key, []).append((int(h["year"]), "完成值", n))
                names.setdefault(key, r.get("indicator", key))
    for a in achievement(form, ans):
        n = number_in_text(a.actual)
        if n is not None and a.key not in qualitative:
            points.setdefault(a.key, []).append((form.form.year, "完成值", n))
            names.setdefault(a.key, a.indicator)
    return [Series(k, names.get(k, k), tuple(sorted(v))) for k, v in points.items() if v]

"""The lists workbook (…-清单.xlsx) of any form, written with the kit's write-only writer.

One sheet per list the form asks for (every repeat field: 制修订标准清单, 有效发明专利清单, name lists,
境外分支机构名单, the targets table, the clusters of a 申报汇总表), then one sheet per section with
its data as label / column / value rows. Header rows are frozen and repeated when printed, widths
follow the content, numbers keep their number formats, and user text is always stored as text
(never a formula): :func:`clusterdesk.export.xlsxkit.write_workbook` sees to that.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from clusterdesk.export import xlsxkit as xk
from clusterdesk.model.form import FormDef
from clusterdesk.model.plan import (ACHIEVEMENT_TITLE, TICKED, UNTICKED, applies, column_text, field_text, repeat_rows,
                                    table_rows)
from clusterdesk.model.rules import Answers, achievement, completion_bar
from clusterdesk.model.schema import Column, Field, Group, Section
from clusterdesk.model.values import Spec, format_value

__all__ = ["render_xlsx", "workbook_sheets", "SECTION_HEADER"]

SECTION_HEADER = ("栏目", "列", "填写内容", "数值", "单位", "说明")
_SECTION_FORMATS: tuple[xk.ColumnFormat, ...] = ("text", "text", "text", "general", "text", "text")
_COLUMN_FORMAT: dict[str, xk.ColumnFormat] = {"integer": "integer", "number": "number", "percent": "number"}


def _num(v: Any, integer: bool) -> Any:
    if v is None or isinstance(v, bool):
        return None
    try:
        d = v if isinstance(v, Decimal) else Decimal(str(v))
    except (InvalidOperation, ValueError):
        return None
    if not d.is_finite():
        return None
    if integer and d == d.to_integral_value():
        return int(d)
    return d


_NUMERIC = ("integer", "number", "percent")


def _column_value(col: Column, v: Any, spec: Spec | None = None) -> Any:
    if v is None:
        return None
    if col.type in _NUMERIC:
        n = _num(v, col.type == "integer")
        if n is not None:
            return n
    return column_text(col, v) if spec is None else format_value(v, spec)  # column_text, its Spec made once


def _list_sheet(form: FormDef, s: Section, f: Field, title: str, answers: Answers, suffix: str) -> xk.SheetSpec:
    key = f"{s.id}.{f.id}"
    rows = table_rows(f, repeat_rows(answers, key))
    cols = list(f.columns)
    serial = any(c.auto == "serial" for c in cols)
    header = ([] if serial else ["序号"]) + [c.label for c in cols]
    formats: list[xk.ColumnFormat] = [] if serial else ["integer"]
    formats += ["integer" if c.auto == "serial" else _COLUMN_FORMAT.get(c.type, "text") for c in cols]
    # per column, once: its id, whether it is the serial number, its Spec (10,000-row lists)
    specs = [Spec.of(c) for c in cols]
    plan = [(c, c.id, c.auto == "serial", spec, spec.type not in _NUMERIC and spec.type != "boxes")
            for c, spec in zip(cols, specs)]
    data = []
    for i, r in enumerate(rows, start=1):
        line: list[Any] = [] if serial else [i]
        for c, cid, is_serial, spec, plain_text in plan:
            v = r.get(cid)
            if is_serial:
                line.append(i)
            elif v is None:
                line.append(None)
            elif plain_text and type(v) is str:
                line.append(v)  # what format_value gives a text
            else:
                line.append(_column_value(c, v, spec))
        data.append(line)
    caption = f"{f.label}（{form.title} · {s.title}）{suffix}"
    return xk.SheetSpec(title=title, header=header, rows=data, title_rows=[caption], formats=formats)


def _section_rows(form: FormDef, s: Section, answers: Answers, list_titles: dict[str, str]) -> list[list[Any]]:
    out: list[list[Any]] = []
    for item in s.items:
        if isinstance(item, Group):
            fields = [(f"{item.label} · ", f) for f in item.items]
        elif isinstance(item, Field):
            fields = [("", item)]
        else:
            continue
        for prefix, f in fields:
            key = f"{s.id}.{f.id}"
            if not applies(answers, f):
                continue
            label = prefix + form.full_label(key)
            notes = list(f.notes)
            if f.calculation and f.formula and f.type in ("number", "percent", "integer"):
                notes.append(f"计算公式：{f.formula}")
            if f.type == "repeat":
                n = len(table_rows(f, repeat_rows(answers, key)))
                sheet = list_titles.get(key, f.label)
                out.append([label, "", f"见工作表“{sheet}”（共{n}行）", n, "行", "；".join(notes)])
                continue
            if f.type == "boxes":
                chosen = answers.value(key) or []
                for opt in f.options:
                    out.append([label, opt, f"{TICKED} 已勾选" if opt in chosen else f"{UNTICKED} 未勾选", None, "",
                                "；".join(notes)])
                continue
            unit = f.unit or ""
            for cell in form.cells_of(key):
                text = field_text(answers, cell.key, f)
                value = None
                if f.type in ("number", "percent", "integer", "matrix") and text:
                    value = _num(answers.value(cell.key), f.type in ("integer", "matrix"))
                if f.type == "choice" and not text:
                    text = ""
                note = answers.notes.get(cell.key) if getattr(answers, "notes", None) else None
                extra = notes + ([f"说明：{note}"] if note else [])
                if f.calculation and answers.typed(cell.key) is None and answers.value(cell.key) is not None:
                    extra.append("按公式计算")
                out.append([label, cell.column or "", text, value, unit, "；".join(extra)])
    return out


def workbook_sheets(form: FormDef, answers: Answers, *, draft: bool = False) -> list[xk.SheetSpec]:
    suffix = "（草稿）" if draft else ""
    used: list[str] = []
    lists: list[tuple[Section, Field, str]] = []
    for s in form.sections:
        for f in s.fields():
            if f.type == "repeat":
                title = xk.sanitize_sheet_title(f.label, used)
                used.append(title)
                lists.append((s, f, title))
    list_titles = {f"{s.id}.{f.id}": t for s, f, t in lists}
    sheets = [_list_sheet(form, s, f, t, answers, suffix) for s, f, t in lists]
    goals = achievement(form, answers)
    if goals:
        title = xk.sanitize_sheet_title(ACHIEVEMENT_TITLE, used)
        used.append(title)
        sheets.append(xk.SheetSpec(
            title=title, header=["方向", "指标", "目标值", "完成值", "完成值来源", "完成情况", "完成程度"],
            rows=[[g.direction, g.indicator, g.target, g.actual, (f"计算：{g.formula}" if g.computed else "填写"),
                   g.status, completion_bar(g.target, g.actual, g.lower_is_better)] for g in goals],
            title_rows=[f"{form.title} · {ACHIEVEMENT_TITLE}{suffix}"], formats=["text"] * 7))
    for s in form.sections:
        if s.layout == "instructions":
            continue  # the 填报说明 hold no data
        title = xk.sanitize_sheet_title(s.title, used)
        used.append(title)
        sheets.append(xk.SheetSpec(title=title, header=list(SECTION_HEADER),
                                   rows=_section_rows(form, s, answers, list_titles),
                                   title_rows=[f"{form.title} · {s.title}{suffix}"],
                                   formats=list(_SECTION_FORMATS), widths=[36, 18, 60, 12, 8, 36]))
    return sheets


def render_xlsx(form: FormDef, answers: Answers, path: str | Path, *, draft: bool = False) -> Path:
    """Write the lists workbook atomically to ``path`` and return it."""
    return xk.write_workbook(path, workbook_sheets(form, answers, draft=draft))

"""Fill-in templates (.json and .xlsx): writing them, reading them back, importing into a draft.

JSON: ``{"form": ID, "version": N, "fields": [...], "answers": {}, "evidence": {}}``; ``fields`` has
one entry per answerable cell in form order. ``answers`` maps an id to a number or numeric string,
text, an option text, a list of option texts (box list) or a list of row objects (repeat).
``evidence`` maps ``{field_id: {option_text: [paths relative to the template]}}``.

Everything read from a file is checked against the form before anything touches the store; a bad
file gives one Chinese line per problem.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field as dc_field
from pathlib import Path
from copy import copy
from typing import TYPE_CHECKING, Any

from clusterdesk.errors import ClusterDeskError
from clusterdesk import evidence_types
from clusterdesk.textsafe import has_controls, strip_controls
from clusterdesk.fsutil import os_reason
from clusterdesk.model.form import Catalog, Cell, FormDef, default_catalog
from clusterdesk.model.plan import table_rows
from clusterdesk.model.schema import EVIDENCE_GENERAL
from clusterdesk.model.values import (MAX_TABLE_ROWS, find_non_finite, format_value, is_non_finite, json_constant,
                                      json_float_text)
from clusterdesk.safeio import UnsafeFile, open_regular, read_bounded

if TYPE_CHECKING:
    from clusterdesk.store import Store

MAX_TEMPLATE_BYTES = 50 * 1024 * 1024
#: A JSON template is read into memory whole: its bytes and its items (values and containers)
#: are capped like a package's answers.json.
MAX_JSON_TEMPLATE_BYTES = 16 * 1024 * 1024
MAX_JSON_ITEMS = 400_000
XLSX_MAIN_SHEET = "填报"
XLSX_HEADER = ["id", "部分", "栏目", "列", "类型", "必填", "单位", "小数位", "最小值", "最大值", "字数上限", "选项", "填写值"]
TYPE_NAMES = {
    "text": "文字", "narrative": "文字（限字数）", "number": "数字", "integer": "整数", "percent": "百分比",
    "choice": "单选", "boxes": "多选（勾选）", "matrix": "整数", "repeat": "表格（多行）",
}


class TemplateError(ClusterDeskError):
    """A template file that cannot be taken. ``problems``: one Chinese line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(problems)


def _num(v: Any) -> Any:
    if v is None:
        return None
    return int(v) if v == int(v) else float(v)


def field_entry(cell: Cell) -> dict[str, Any]:
    f = cell.field
    entry: dict[str, Any] = {
        "id": cell.key,
        "section": cell.section.title,
        "label": cell.name or f.label,  # the full name: 集群运营管理机构 · 联系人
        "column": cell.column,
        "type": "integer" if f.type == "matrix" else f.type,
        "required": f.required,
        "unit": f.unit,
        "decimals": f.effective_decimals if f.type in ("number", "percent") else None,
        "min": _num(f.min if f.min is not None else (0 if f.type in ("integer", "matrix") else None)),
        "max": _num(f.max),
        "max_chars": f.max_chars,
        "options": list(f.options) or None,
    }
    if f.type == "repeat":
        entry["columns"] = [
            {"id": c.id, "label": c.label, "type": c.type, "required": c.required, "options": list(c.options) or None,
             "max_chars": c.max_chars, "unit": c.unit}
            for c in f.columns
        ]
        if f.fixed_rows:
            entry["fixed_rows"] = table_rows(f, [])  # the rows the form prints, as the print plan has them
        entry["max_rows"] = f.max_rows
    if f.calculation:
        entry["formula"] = f.formula
    if f.default:
        entry["default"] = f.formula or f.default  # left empty, the answer is this value
    if f.evidence != "none":
        entry["evidence"] = {"ticked": "每个勾选项需提供佐证材料", "if_yes": "选“是”需提供佐证材料",
                             "if_positive": "需提供相关佐证材料"}[f.evidence]
    if f.notes:
        entry["notes"] = list(f.notes)
    return entry


def template_dict(form: FormDef) -> dict[str, Any]:
    return {
        "form": form.id,
        "version": form.version,
        "title": form.title,
        "fields": [field_entry(c) for c in form.answerable_cells],
        "answers": {},
        "evidence": {},
    }


def write_template(form: FormDef, out: Path, answers: dict[str, Any] | None = None, note: str | None = None) -> Path:
    """A fill-in template (.json or .xlsx); ``answers``: values it starts with (a district's summary
    prefilled from its clusters), ``note``: what the person filling it still has to do."""
    from clusterdesk.export.atomic import atomic_write

    out = Path(out)
    suffix = out.suffix.lower()
    if suffix == ".json":
        data_in = template_dict(form)
        if answers:
            data_in["answers"] = answers
        if note:
            data_in["说明"] = note
        data = json.dumps(data_in, ensure_ascii=False, indent=2).encode("utf-8")
        with atomic_write(out) as fh:
            fh.write(data)
    elif suffix == ".xlsx":
        _write_xlsx_template(form, out, answers, note)
    else:
        raise TemplateError([f"不支持的模板格式“{out.suffix}”，请使用 .json 或 .xlsx"])
    return out


def _write_xlsx_template(form: FormDef, out: Path, answers: dict[str, Any] | None = None,
                         note: str | None = None) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    from clusterdesk.export.xlsxkit import add_list_validation, save_workbook

    answers = answers or {}
    wb = Workbook()
    ws = wb.active
    ws.title = XLSX_MAIN_SHEET
    ws.append(XLSX_HEADER)
    for c in ws[1]:
        c.font = Font(bold=True)
        c.fill = PatternFill("solid", fgColor="DDEBF7")
    ws.freeze_panes = "A2"
    meta = wb.create_sheet("说明")
    meta.append(["form", form.id])
    meta.append(["version", form.version])
    meta.append(["填写方法", "在“填报”表的“填写值”列填写；多选项在对应行填“√”；表格类栏目在同名工作表中逐行填写。"])
    if note:
        meta.append(["说明", note])
    repeat_sheets: list[tuple[Cell, str]] = []
    choice_rows: list[tuple[int, tuple[str, ...]]] = []
    for cell in form.answerable_cells:
        e = field_entry(cell)
        f = cell.field
        common = [e["section"], e["label"], e["column"], TYPE_NAMES[f.type], "是" if f.required else "否",
                  e["unit"], e["decimals"], e["min"], e["max"], e["max_chars"]]
        if f.type == "boxes":
            ticked = answers.get(cell.key) or []
            for opt in f.options:
                ws.append([cell.key, *common[:2], opt, *common[3:], "√", "√" if opt in ticked else None])
                choice_rows.append((ws.max_row, ("√",)))
        elif f.type == "repeat":
            name = f"表-{f.label}"[:31].translate({ord(ch): "_" for ch in "[]:*?/\\"})
            repeat_sheets.append((cell, name))
            ws.append([cell.key, *common, None, f"见工作表“{name}”"])
        else:
            v = answers.get(cell.key)
            shown = format_value(v, cell.spec) if v is not None else None
            ws.append([cell.key, *common, "、".join(f.options) or None, shown])
            if f.options:
                choice_rows.append((ws.max_row, f.options))
    for row, opts in choice_rows:
        add_list_validation(ws, f"M{row}", list(opts))
    for col, width in zip("ABCDEFGHIJKLM", (30, 16, 48, 18, 10, 6, 10, 7, 8, 8, 8, 30, 40)):
        ws.column_dimensions[col].width = width
    # one style for every answer row: set on the first cell, its style array copied to the others
    # (assigning an Alignment to each cell made openpyxl look it up in the workbook's styles
    # thousands of times: a fifth of the template's time)
    wrapped: Any = None
    for row in ws.iter_rows(min_row=2):
        for c in row:
            if wrapped is None:
                c.alignment = Alignment(wrap_text=True, vertical="top")
                wrapped = c._style
            else:
                c._style = copy(wrapped)
            if isinstance(c.value, str):
                c.data_type = "s"
    for cell, name in repeat_sheets:
        rs = wb.create_sheet(name)
        cols = cell.field.columns
        rs.append(["key"] + [c.label for c in cols])
        rs.append(["(列 id)"] + [c.id for c in cols])
        rows = answers.get(cell.key) or table_rows(cell.field, [])
        for r in rows:
            rs.append([r.get("key")] + [r.get(c.id) for c in cols])
        rs.freeze_panes = "B3"
        for c in rs[1]:
            c.font = Font(bold=True)
        for row in rs.iter_rows(min_row=3):
            for c in row:
                if isinstance(c.value, str):
                    c.data_type = "s"
        for i, c in enumerate(cols):
            if c.options:
                letter = rs.cell(row=1, column=i + 2).column_letter
                add_list_validation(rs, f"{letter}3:{letter}2000", list(c.options))
    meta.append(["repeat_sheets", json.dumps({cell.key: name for cell, name in repeat_sheets}, ensure_ascii=False)])
    save_workbook(wb, out)


# -- reading ------------------------------------------------------------------------------


@dataclass
class Filled:
    """A filled template, checked against its form."""

    form: FormDef
    answers: dict[str, Any]
    evidence: list[tuple[str, str, Path]] = dc_field(default_factory=list)  # key, option, file
    title: str = ""
    notes: dict[str, str] = dc_field(default_factory=dict)  # reasons for overriding computed values
    retired: dict[str, dict[str, Any]] = dc_field(default_factory=dict)  # 旧版本内容 (values of gone fields)


def older_answers(form: FormDef, data: dict[str, Any], version: int, catalog: Catalog,
                  problems: list[str]) -> tuple[Any, Any, dict[str, dict[str, Any]]]:
    """A file (template, dump, package) of this form: its answers and notes under this version's
    keys (``renamed_from``), and the values of fields this version no longer has (旧版本内容,
    kept). A file of the current version keeps its ``retired`` values; its unknown keys are
    problems as ever."""
    from clusterdesk.service import plan_upgrade

    answers, notes = data.get("answers", {}), data.get("notes") or {}
    retired = _retired_in(data.get("retired"), problems)
    if version >= form.version or not isinstance(answers, dict) or not isinstance(notes, dict):
        return answers, notes, retired
    plan = plan_upgrade(form, {k: v for k, v in answers.items() if isinstance(k, str)},
                        {k: v for k, v in notes.items() if isinstance(k, str) and isinstance(v, str)}, version, catalog)
    answers, notes = plan.apply(answers, notes)
    return answers, notes, {**retired, **plan.retired}


def _retired_in(value: Any, problems: list[str]) -> dict[str, dict[str, Any]]:
    """The ``retired`` object of a dump or package (旧版本内容), checked for shape and size."""
    if value is None:
        return {}
    if (not isinstance(value, dict) or len(value) > 10_000
            or not all(isinstance(k, str) and isinstance(v, dict) for k, v in value.items())):
        problems.append("retired 必须是对象（旧栏目 id: {value, note, version, label}）")
        return {}
    from clusterdesk.model.values import MAX_ANSWERS_CHARS

    if len(json.dumps(value, ensure_ascii=False, default=str)) > MAX_ANSWERS_CHARS:
        problems.append(f"retired 的内容超过 {MAX_ANSWERS_CHARS:,} 字的上限")
        return {}
    return {k: {f: v[f] for f in ("value", "note", "version", "label") if f in v} for k, v in value.items()}


# What Python's JSON parser says (its C and Python versions, 3.11 to 3.13), in Chinese.
_JSON_PROBLEMS = (
    ("Expecting ',' delimiter", "缺少逗号"),
    ("Expecting ':' delimiter", "缺少冒号"),
    ("Expecting property name enclosed in double quotes", "此处应为用英文双引号括起的名称（是否多了逗号？）"),
    ("Expecting value", "缺少值（是否多了逗号，或文字没有用英文双引号括起？）"),
    ("Unterminated string", "文字没有结束的双引号"),
    ("Invalid control character", "文字中有不允许的控制字符（换行请写作 \\n）"),
    ("Invalid \\uXXXX escape", "无效的 \\u 转义"),
    ("Invalid \\escape", "无效的反斜杠转义（反斜杠请写作 \\\\）"),
    ("Extra data", "内容结束后还有多余的字符"),
    ("Illegal trailing comma", "末尾多了逗号"),
)


def json_problem(msg: str) -> str:
    """The JSON parser's detail (``Expecting ',' delimiter``) in Chinese (``缺少逗号``)."""
    return next((zh for en, zh in _JSON_PROBLEMS if msg.startswith(en)), "格式错误")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        raw = read_bounded(path, MAX_JSON_TEMPLATE_BYTES)
    except UnsafeFile as e:
        raise TemplateError([f"{path.name}：{e}"]) from None
    except OSError as e:
        raise TemplateError([f"{path.name}：无法读取文件（{os_reason(e)}）"]) from None
    items = raw.count(b",") + raw.count(b"[") + raw.count(b"{")
    if items > MAX_JSON_ITEMS:
        raise TemplateError([f"{path.name}：内容的条目过多（{items:,} 个，上限 {MAX_JSON_ITEMS:,} 个），不是本程序的填报模板"])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TemplateError([f"{path.name}：文件不是 UTF-8 编码的文本"]) from None
    del raw
    try:
        # NaN / Infinity stay visible (NonFinite) so the field that holds one is named and refused
        data = json.loads(text, parse_float=json_float_text, parse_constant=json_constant)
    except json.JSONDecodeError as e:
        raise TemplateError([f"{path.name}：不是有效的 JSON（第{e.lineno}行第{e.colno}列：{json_problem(e.msg)}）"]) from None
    except (ValueError, RecursionError):  # a 4,300-digit number, or arrays nested thousands deep
        raise TemplateError([f"{path.name}：内容的结构或数字超出可处理的范围，不是本程序的填报模板"]) from None
    if not isinstance(data, dict):
        raise TemplateError([f"{path.name}：顶层必须是对象（{{...}}）"])
    return data


def _read_xlsx(path: Path, catalog: Catalog) -> dict[str, Any]:
    from clusterdesk.export.xlsxkit import XlsxLimits, read_workbook_values

    try:
        with open_regular(path, MAX_TEMPLATE_BYTES) as fh:
            sheets = read_workbook_values(fh, name=path.name, limits=XlsxLimits(max_rows=MAX_TABLE_ROWS + 10))
    except UnsafeFile as e:
        raise TemplateError([f"{path.name}：{e}"]) from None
    except Exception as e:  # the kit raises Chinese messages for bad files
        raise TemplateError([f"{path.name}：{e}"]) from None
    meta = {str(r[0]): r[1] for r in sheets.get("说明", []) if r and r[0] is not None and len(r) > 1}
    main = sheets.get(XLSX_MAIN_SHEET)
    if main is None or not meta.get("form"):
        raise TemplateError([f"{path.name}：不是本程序的填报模板（缺少“{XLSX_MAIN_SHEET}”或“说明”工作表）"])
    answers: dict[str, Any] = {}
    header = [str(h) if h is not None else "" for h in main[0]] if main else []
    try:
        id_col, val_col, col_col = header.index("id"), header.index("填写值"), header.index("列")
    except ValueError:
        raise TemplateError([f"{path.name}：“{XLSX_MAIN_SHEET}”表头不完整"]) from None
    form_id = str(meta["form"])
    boxes: dict[str, list[str]] = {}
    form = catalog.get(form_id) if form_id in catalog else None
    gone: dict[str, list[tuple[Any, Any]]] = {}  # (列, 填写值) of keys this version no longer has
    for row in main[1:]:
        row = list(row) + [None] * (len(header) - len(row))
        key = row[id_col]
        if key is None:
            continue
        key = str(key)
        val = row[val_col]
        cur = form.current_key(key) if form is not None else None  # an older version's key: its field now
        if cur is not None and form.cell(cur).field.type == "boxes":  # type: ignore[union-attr]
            lst = boxes.setdefault(key, [])
            if is_non_finite(val):  # 1E999 in a tick cell: refused by parse, never a tick
                lst.append(val)
            elif val not in (None, "") and str(val).strip() not in ("", "否", "×"):
                lst.append(str(row[col_col]))
            continue
        if cur is not None and form.cell(cur).field.type == "repeat":  # type: ignore[union-attr]
            continue
        if form is not None and cur is None:
            gone.setdefault(key, []).append((row[col_col], val))
            continue
        if val is not None and val != "":
            answers[key] = val
    for key, rows in gone.items():  # a field an older version had: a key on several rows is its boxes
        if len(rows) > 1:
            if ticked := [str(c) for c, v in rows if v not in (None, "") and str(v).strip() not in ("否", "×")]:
                boxes[key] = ticked
        elif rows[0][1] not in (None, ""):
            answers[key] = rows[0][1]
    answers.update(boxes)
    try:
        repeat_sheets = json.loads(meta.get("repeat_sheets") or "{}")
    except (json.JSONDecodeError, TypeError):
        repeat_sheets = {}
    if not isinstance(repeat_sheets, dict):
        repeat_sheets = {}
    for key, name in repeat_sheets.items():
        sheet = sheets.get(name)
        if not sheet or len(sheet) < 2:
            continue
        ids = [str(x) if x is not None else "" for x in sheet[1]]
        out_rows = []
        for r in sheet[2:]:
            obj = {ids[j]: v for j, v in enumerate(r) if j < len(ids) and v not in (None, "") and ids[j]}
            if j_key := obj.pop("(列 id)", None):
                obj["key"] = j_key
            if obj:
                out_rows.append(obj)
        if out_rows:
            answers[key] = out_rows
    return {"form": form_id, "version": meta.get("version"), "answers": answers}


def _evidence_file(base: Path, rel: str, where: str, checked: dict[Path, int | str]) -> Path | str:
    """The evidence file ``rel`` (relative to the template's folder ``base``), or why it is refused:
    outside the folder, a name with control characters (a NUL byte, a direction override), not a
    regular file, over the size cap, or not an allowed type by name and content."""
    from clusterdesk.store import EVIDENCE_MAX_BYTES

    shown = strip_controls(rel, "?")[:120]
    if "\x00" in rel or has_controls(rel):
        return (f"{where}的佐证材料路径“{shown}”含有控制字符或文字方向控制符（可能伪装真实的文件名），"
                "出于安全考虑不予读取")
    p = base / rel
    try:
        inside = not Path(rel).is_absolute() and ":" not in rel and base.resolve() in p.resolve().parents
    except (OSError, RuntimeError, ValueError):  # a symlink loop
        inside = False
    if not inside:
        return (f"佐证材料“{shown}”不在模板所在的文件夹内，"
                "出于安全考虑不予读取（请把文件放在模板旁边，并写相对路径）")
    key = p.resolve()
    if key not in checked:
        try:
            with open_regular(p, EVIDENCE_MAX_BYTES) as fh:
                evidence_types.check_name(p.name)
                evidence_types.check_kind(p.name, evidence_types.content_kind(fh))
                checked[key] = os.fstat(fh.fileno()).st_size
        except FileNotFoundError:
            checked[key] = f"{where}的佐证材料“{shown}”不存在"
        except (evidence_types.EvidenceTypeError, UnsafeFile) as e:
            checked[key] = f"{where}的佐证材料：{e}"
        except OSError as e:
            checked[key] = f"{where}的佐证材料“{shown}”无法读取（{e.strerror or e}）"
    found = checked[key]
    return found if isinstance(found, str) else p


def read_filled(path: Path | str, catalog: Catalog | None = None) -> Filled:
    """Read and check a filled template; raises TemplateError listing every problem."""
    # the service (and the store under it) only when a template is read: writing one needs neither
    from clusterdesk.service import InputError, evidence_option, parse_answers

    catalog = catalog or default_catalog()
    path = Path(path)
    if not path.exists():
        raise TemplateError([f"{path}：文件不存在"])
    if path.suffix.lower() == ".xlsx":
        data = _read_xlsx(path, catalog)
    else:
        data = _read_json(path)
    name = path.name
    form_id = data.get("form")
    if not isinstance(form_id, str) or form_id not in catalog:
        known = "、".join(f.id for f in catalog)
        raise TemplateError([f"{name}：未知的表单“{form_id}”，可用的表单有：{known}"])
    form = catalog.get(form_id)
    version = data.get("version")
    try:
        v = int(version) if version is not None else form.version
    except (TypeError, ValueError):
        raise TemplateError([f"{name}：version 应为整数"]) from None
    if v > form.version:
        raise TemplateError([f"{name}：模板版本 {v} 比本程序的“{form.title}”定义（版本 {form.version}）新，请升级程序"])
    found: list[str] = []
    raw_answers, raw_notes, retired = older_answers(form, data, v, catalog, found)
    answers, parsed = parse_answers(form, raw_answers)
    problems: list[str] = [f"{name}：{p}" for p in found + parsed]
    bad = find_non_finite({k: v for k, v in data.items() if k != "answers"})
    if bad:
        problems.append(f"{name}：“{strip_controls(bad, '?')[:80]}”是 NaN 或 Infinity 等非数值")
    evidence: list[tuple[str, str, Path]] = []
    ev_in = data.get("evidence") or {}
    if not isinstance(ev_in, dict):
        problems.append(f"{name}：evidence 必须是对象")
        ev_in = {}
    base = path.parent
    links = 0
    checked: dict[Path, int | str] = {}  # each file once: its size, or why it is refused
    for key, by_opt in ev_in.items():
        if isinstance(key, str) and v < form.version:  # an older version's field: its evidence moves with it
            key = form.current_key(key) or key
        if not isinstance(key, str) or not form.has_cell(key) or form.cell(key).field.evidence == "none":
            problems.append(f"{name}：evidence 中的栏目“{key}”不需要佐证材料或不存在")
            continue
        if not isinstance(by_opt, dict):
            problems.append(f"{name}：evidence.{key} 必须是 {{选项: [文件]}}")
            continue
        for opt, files in by_opt.items():
            try:
                option = evidence_option(form, key, opt if form.cell(key).field.evidence == "ticked" else EVIDENCE_GENERAL)
            except InputError as e:
                problems.append(f"{name}：{e}")
                continue
            if not isinstance(files, list) or not all(isinstance(p, str) for p in files):
                problems.append(f"{name}：evidence.{key}.{opt} 必须是文件路径的列表")
                continue
            for rel in files:
                links += 1
                if links > evidence_types.MAX_EVIDENCE_LINKS:
                    raise TemplateError(problems + [f"{name}：佐证材料超过 {evidence_types.MAX_EVIDENCE_LINKS} 个的上限"])
                picked = _evidence_file(base, rel, f"{form.cell(key).where}“{opt}”", checked)
                if isinstance(picked, str):
                    problems.append(f"{name}：{picked}")
                    continue
                evidence.append((key, option, picked))
    if sum(v for v in checked.values() if isinstance(v, int)) > evidence_types.MAX_EVIDENCE_TOTAL_BYTES:
        problems.append(f"{name}：佐证材料合计超过 {evidence_types.MAX_EVIDENCE_TOTAL_BYTES // (1024 * 1024)} MB 的上限")
    notes_in = raw_notes
    notes: dict[str, str] = {}
    if not isinstance(notes_in, dict):
        problems.append(f"{name}：notes 必须是对象（栏目 id: 说明）")
    else:
        for key, note in notes_in.items():
            if not isinstance(key, str) or not form.has_cell(key) or not isinstance(note, str):
                problems.append(f"{name}：notes 中的“{key}”不是有效的栏目说明")
            elif note.strip():
                notes[key] = note.strip()
    if problems:
        raise TemplateError(problems)
    title = form.display_title(answers) or f"未命名{form.form.short_title}"
    return Filled(form, answers, evidence, title, notes, retired)


def import_filled(store: Store, filled: Filled) -> int:
    """Write a checked template into a new draft, in one transaction: on any failure (or a crash)
    nothing is left behind."""
    with store.batch():
        info = store.create_draft(filled.form.id, filled.form.version, filled.title)
        store.set_answers(info.id, filled.answers, filled.notes or None)
        if filled.retired:
            from clusterdesk.service import RETIRED_META

            store.set_meta(info.id, RETIRED_META, filled.retired)
        for key, option, p in filled.evidence:
            store.add_evidence(info.id, key, option, p)
    return info.id


def import_file(store: Store, path: Path | str, catalog: Catalog | None = None) -> int:
    """Read a filled template (.json or .xlsx) into a new draft; returns the draft id."""
    return import_filled(store, read_filled(path, catalog))


def dump_dict(store: Store, draft_id: int, catalog: Catalog | None = None) -> dict[str, Any]:
    """A draft's answers in the template format (plus an index of its evidence files)."""
    from clusterdesk.service import retired_values, upgrade_draft

    catalog = catalog or default_catalog()
    info = store.get_draft(draft_id)
    form = catalog.get(info.form_id)
    info = upgrade_draft(store, info, form, catalog)
    values = store.get_answers(draft_id)
    order = {c.key: i for i, c in enumerate(form.cells)}
    answers = {k: values[k] for k in sorted(values, key=lambda k: order.get(k, len(order)))}
    ev: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for e in store.list_evidence(draft_id):
        ev.setdefault(e.key, {}).setdefault(e.option, []).append({"file": e.filename, "sha256": e.sha256, "size": e.size})
    out: dict[str, Any] = {"form": form.id, "version": info.form_version, "title": info.title, "fields": [],
                           "answers": answers}
    notes = store.get_notes(draft_id)
    if notes:
        out["notes"] = notes
    if ev:
        out["evidence_index"] = ev
    retired = retired_values(store, draft_id)
    if retired:
        out["retired"] = retired  # 旧版本内容: values of fields an earlier version of the form had
    return out


# -- the demos the program ships ----------------------------------------------------------------


def demo_files(catalog: Catalog | None = None) -> dict[str, Path]:
    """The demos in the program's ``demo/`` folder (``<form id>.json``, a filled template) for the
    forms loaded, by form id."""
    from clusterdesk.paths import demo_dir

    catalog = catalog or default_catalog()
    try:
        files = sorted(demo_dir().glob("*.json"))
    except OSError:
        return {}
    return {p.stem: p for p in files if p.stem in catalog}


def first_run_demo(catalog: Catalog | None = None) -> tuple[Path, FormDef, str] | None:
    """The demo the first run offers: the demo file that says ``"first_run": true`` (the demo
    folder decides, not the program), with its form and the name it will carry; None if none."""
    catalog = catalog or default_catalog()
    for form_id, path in demo_files(catalog).items():
        try:
            data = _read_json(path)
        except TemplateError:
            continue
        if data.get("first_run") is True:
            form = catalog.get(form_id)
            given = data.get("answers")
            return path, form, form.display_title(given if isinstance(given, dict) else {})
    return None

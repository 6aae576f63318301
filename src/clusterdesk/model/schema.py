"""Typed schema of a form definition file (``forms/*.yaml``).

Every official document is one YAML file. On load it becomes a tree of frozen
pydantic models; anything the schema does not know is an error that names the
file, the path inside it and the field (loading: :func:`clusterdesk.model.form.load_form`; the
checks across files: :mod:`clusterdesk.model.checks`).

Every key, where its text is printed, the layout vocabulary, the expression language, the
annual-cycle keys, installing a form and what happens to drafts when a definition changes are
described for form authors in ``docs/表单定义指南.md``.

The vocabulary follows XLSForm where it fits: ``type``, ``label``, ``hint``,
``required``, ``constraint``, ``calculation``, ``relevant``, ``options``.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field as PField, Tag, field_validator, model_validator

SCHEMA_VERSION = 1

_ID = r"^[a-z][a-z0-9_]*$"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


FieldType = Literal[
    "text",  # short text
    "narrative",  # long text with a character limit
    "number",  # decimal with a unit, kept to `decimals` places
    "integer",  # a count
    "percent",  # a share (0–100) or a growth rate (may be negative)
    "choice",  # single choice / yes-no, shown as radio buttons or □ options
    "boxes",  # box list: several options may be ticked; ticked ones need evidence
    "matrix",  # fixed rows × columns of counts (e.g. standards: 国际… × 主持/参与)
    "repeat",  # repeatable rows with typed columns (lists, targets table)
]

EvidencePolicy = Literal["none", "ticked", "if_yes", "if_positive"]

#: The option name of evidence for a field as a whole (if_yes / if_positive), not for one ticked box.
EVIDENCE_GENERAL = "佐证材料"

# -- layout vocabulary (how the official document prints a section; see model/plan.py) ----------

#: cover: the cover page (label：value lines, the issuer line … 制);
#: instructions: the form's 填报说明 on a page of its own (the section has no items);
#: table: the official two-part table, label cells on the left, value cells on the right;
#: outline: headings, the official hints and the user's text (八, 2023 年集群工作, 区总结);
#: statement: the 真实性声明 table (statement, signatures, seal room);
#: list: header lines (… （盖章）, 联系人及手机) and one table of rows (申报汇总表).
Layout = Literal["cover", "instructions", "table", "outline", "statement", "list"]

#: Where a field with ``of`` prints, relative to the field it belongs to:
#: row: a row of its own (联系人 | … under 集群运营管理机构);
#: beside: in the same table row as the field just before it (… | 联系方式 | …);
#: below: a row inside the block of its field, under the merged label cell (the CO₂ 注 row);
#: within: in the value cell of its field, after its value (变更情况说明).
Place = Literal["row", "beside", "below", "within"]

#: How the year cells of a field sit in a table:
#: columns: under the section's 年度 | 2021年 | … header (the default when the section has one);
#: header: a year header row of the field's own under its label, the values below (the default otherwise);
#: rows: one row per year, "2021年 | value", the label cell merged over them (五 CO₂).
YearsAs = Literal["columns", "header", "rows"]

#: What a fixed row of a repeat table prints when nobody filled it in (filled form only; the blank
#: form prints every fixed row): omit: the row is left out (the “......” rows); 无: the row stays
#: and its empty cells say 无 (其它).
UNUSED = ("omit", "无")


class MatrixAxis(Frozen):
    key: str = PField(pattern=_ID)
    label: str


class Plausible(Frozen):
    """Where a number stops being believable. Outside ``min``–``max``, or more than ``jump`` times
    (or less than 1/``jump``) the neighbouring year's value, it gets a warning (请核对), never an
    error: the value may be right. Form-level entries apply to every field with that ``unit``;
    a field's own ``plausible`` overrides them key by key."""

    unit: str | None = None
    min: Decimal | None = None
    max: Decimal | None = None
    jump: Decimal | None = PField(default=None, gt=1)

    @model_validator(mode="after")
    def _bounds(self) -> "Plausible":
        problem = _bounds_problem(self.min, self.max, None)
        if problem:
            raise ValueError(problem)
        return self


class Column(Frozen):
    """One column of a repeat table."""

    id: str = PField(pattern=_ID)
    label: str
    type: Literal["text", "narrative", "number", "integer", "percent", "choice", "value"] = "text"
    required: bool = False
    max_chars: int | None = None
    options: tuple[str, ...] = ()
    unit: str | None = None
    decimals: int = 2
    min: Decimal | None = None
    max: Decimal | None = None
    width_mm: float | None = None
    auto: Literal["serial"] | None = None  # e.g. 序号 filled in by the program
    printed: bool = True  # False: kept and checked, but not a column of the official printed table

    @model_validator(mode="after")
    def _bounds(self) -> "Column":
        problem = _bounds_problem(self.min, self.max, self.decimals)
        if problem:
            raise ValueError(problem)
        return self


def _bounds_problem(lo: Decimal | None, hi: Decimal | None, decimals: int | None) -> str | None:
    """min above max, or negative decimals: the author's slip, refused (no value could ever pass)."""
    if lo is not None and hi is not None and lo > hi:
        return f"min（{lo}）大于 max（{hi}），没有任何值能通过"
    if decimals is not None and decimals < 0:
        return f"decimals 不能为负数（{decimals}）"
    return None


def _one_or_more(v: object) -> object:
    """``renamed_from: old_id`` or a list of them."""
    return (v,) if isinstance(v, str) else v


class Field(Frozen):
    """A question of the form. Year columns turn it into one cell per year."""

    kind: Literal["field"] = "field"
    id: str = PField(pattern=_ID)
    type: FieldType
    label: str
    hint: str | None = None
    help_refs: tuple[int, ...] = ()  # numbers of 填报说明 items that apply
    notes: tuple[str, ...] = ()  # official notes printed with the field, e.g. （注：勾选需提供佐证材料）
    prefix: str | None = None  # official text printed before the options, e.g. 集群已提供的中小企业公共服务：
    required: bool = True
    unit: str | None = None
    decimals: int | None = None
    min: Decimal | None = None
    max: Decimal | None = None
    max_chars: int | None = None
    options: tuple[str, ...] = ()
    evidence: EvidencePolicy = "none"
    years: tuple[int, ...] = ()  # one answer cell per year, e.g. (2021, 2022, 2023)
    # matrix
    rows: tuple[MatrixAxis, ...] = ()
    cols: tuple[MatrixAxis, ...] = ()
    # repeat
    columns: tuple[Column, ...] = ()
    min_rows: int = 0
    max_rows: int | None = None
    fixed_rows: tuple[dict[str, str], ...] = ()  # rows the form prints; each has a `key`
    list_for: str | None = None  # this repeat is the 清单 of that count field
    # computed values
    calculation: str | None = None  # expression over ${field.cell} references
    formula: str | None = None  # the formula as shown to users, in Chinese
    readonly: bool = False  # computed only; not answerable
    relevant: str | None = None  # expression: the field applies only when true
    default: str | None = None  # expression giving the value until the user types their own
    plausible: Plausible | None = None  # overrides the form's plausible range for this field's unit
    placeholder: str | None = None  # e.g. [重庆市中小企业特色产业集群（XX产业）]
    pattern: str | None = None  # regex the text must match (full match)
    pattern_message: str | None = None
    width_mm: float | None = None
    # layout (see the vocabulary above)
    of: str | None = None  # id of the field (same section) whose row this one belongs to
    place: Place = "row"
    years_as: YearsAs | None = None
    unit_in_cell: bool = False  # the official value cell prints the unit after the number: "486 个"
    # repeat tables: how code finds its way without knowing the columns
    row_name: str | None = None  # the column whose text names a row in messages (指标)
    open_text: str | None = None  # what a fixed row prints in a cell the user writes in (“......”)
    # versions: the ids this field had in earlier versions of the definition ("old" or "section.old")
    renamed_from: tuple[str, ...] = ()

    @field_validator("renamed_from", mode="before")
    @classmethod
    def _renamed_list(cls, v: object) -> object:
        return _one_or_more(v)

    @field_validator("pattern")
    @classmethod
    def _regex_compiles(cls, v: str | None) -> str | None:
        if v is not None:
            re.compile(v)
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "Field":
        t = self.type
        if t in ("choice", "boxes") and not self.options:
            raise ValueError(f"“{t}” 类型的栏目必须列出 options")
        if t not in ("choice", "boxes") and self.options:
            raise ValueError("只有 choice / boxes 类型可以有 options")
        if t == "narrative" and not self.max_chars:
            raise ValueError("narrative 类型必须给出 max_chars（字数上限）")
        if t == "matrix" and (not self.rows or not self.cols):
            raise ValueError("matrix 类型必须给出 rows 和 cols")
        if t == "repeat" and not self.columns:
            raise ValueError("repeat 类型必须给出 columns")
        if t != "repeat" and (self.columns or self.fixed_rows):
            raise ValueError("只有 repeat 类型可以有 columns / fixed_rows")
        if t == "repeat" and self.years:
            raise ValueError("repeat 类型不能按年度分栏")
        if self.readonly and not self.calculation:
            raise ValueError("readonly 栏目必须给出 calculation")
        if self.default and (self.calculation or t in ("boxes", "matrix", "repeat")):
            raise ValueError("default 不能与 calculation 同用，也不适用于 boxes / matrix / repeat 栏目")
        if self.plausible is not None and self.plausible.unit is not None:
            raise ValueError("栏目自己的 plausible 不写 unit（按单位的范围写在表单的 plausible 中）")
        if self.evidence == "ticked" and t != "boxes":
            raise ValueError("evidence: ticked 只适用于 boxes")
        if self.evidence == "if_yes" and (t != "choice" or "是" not in self.options):
            raise ValueError("evidence: if_yes 只适用于含“是”选项的 choice")
        if self.fixed_rows:
            ids = {c.id for c in self.columns}
            for row in self.fixed_rows:
                if "key" not in row:
                    raise ValueError("fixed_rows 的每一行都必须有 key")
                unknown = set(row) - ids - {"key", "unused"}
                if unknown:
                    raise ValueError(f"fixed_rows 含未知列：{sorted(unknown)}")
                if "unused" in row and row["unused"] not in UNUSED:
                    raise ValueError(f"fixed_rows 的 unused 应为 {' 或 '.join(UNUSED)}，而不是“{row['unused']}”")
        if self.place != "row" and not self.of:
            raise ValueError(f"place: {self.place} 需要用 of 指明所属的栏目")
        if self.years_as is not None and not self.years:
            raise ValueError("years_as 只适用于按年度分栏（有 years）的栏目")
        if self.years_as is not None and t == "matrix":
            raise ValueError("matrix 类型的年度按“类别 / 主持数量 / 参与数量”分块排列，不能设置 years_as")
        if self.unit_in_cell and not self.unit:
            raise ValueError("unit_in_cell 需要 unit（打印在数值后的单位）")
        problem = _bounds_problem(self.min, self.max, self.decimals)
        if problem:
            raise ValueError(problem)
        if (self.row_name or self.open_text) and t != "repeat":
            raise ValueError("row_name / open_text 只适用于 repeat 类型")
        if self.row_name and self.row_name not in {c.id for c in self.columns}:
            raise ValueError(f"row_name: 表中没有“{self.row_name}”列")
        for old in self.renamed_from:
            if not re.fullmatch(r"([a-z][a-z0-9_]*\.)?[a-z][a-z0-9_]*", old):
                raise ValueError(f"renamed_from: “{old}”应为旧的栏目 id（或“部分id.栏目id”）")
        return self

    @property
    def effective_decimals(self) -> int:
        if self.decimals is not None:
            return self.decimals
        return 2 if self.type in ("number", "percent") else 0


class Heading(Frozen):
    """An outline heading printed in the form (section 八's plan, for example)."""

    kind: Literal["heading"] = "heading"
    text: str
    level: int = 1
    hint: str | None = None  # the official explanation printed under it


class Note(Frozen):
    """Official text printed as it stands (a statement, a remark under a table)."""

    kind: Literal["note"] = "note"
    text: str


class Sign(Frozen):
    """A place for a handwritten signature, seal or date; never filled by the program."""

    kind: Literal["sign"] = "sign"
    text: str
    seal: bool = False  # leave room for a round seal
    field: str | None = None  # a field of the same section printed here instead of the text (落款, 日期)


class Group(Frozen):
    """Fields printed under one shared label cell (e.g. 创新平台建设情况)."""

    kind: Literal["group"] = "group"
    label: str
    items: tuple["Field", ...]


def _item_kind(v: object) -> str | None:
    """Items are fields unless they say otherwise (``kind: heading`` …)."""
    kind: str | None = v.get("kind", "field") if isinstance(v, dict) else getattr(v, "kind", None)
    return kind


Item = Annotated[
    Union[
        Annotated[Field, Tag("field")],
        Annotated[Heading, Tag("heading")],
        Annotated[Note, Tag("note")],
        Annotated[Sign, Tag("sign")],
        Annotated[Group, Tag("group")],
    ],
    Discriminator(_item_kind),
]


class Section(Frozen):
    id: str = PField(pattern=_ID)
    title: str  # the official heading, e.g. 二、主导产业情况
    layout: Layout  # how the official document prints it (see the vocabulary above)
    items: tuple[Item, ...] = ()
    years: tuple[int, ...] = ()  # the table's 年度 header row, if it has one
    max_chars_total: int | None = None  # e.g. the whole development plan: 3000字以内
    total_note: str | None = None  # the official wording of that limit, e.g. （3000字以内）
    no_straddle: bool = False  # 不得串页: starts on a new page, may not run into another part
    page_break_before: bool = True
    label_width_mm: float | None = None
    frame: bool = False  # outline: the whole part is one framed cell of the official table (八)
    print_title: bool = True  # False: the title is not printed (the document's title already says it)

    @model_validator(mode="after")
    def _fits_layout(self) -> "Section":
        lay = self.layout
        if lay == "instructions" and self.items:
            raise ValueError("layout: instructions 打印表单的 instructions（填报说明），本部分不能有 items")
        if lay == "cover" and not all(isinstance(i, Field) for i in self.items):
            raise ValueError("layout: cover 只能包含栏目（打印为“名称：____”行）")
        if lay == "statement" and any(isinstance(i, (Field, Group)) for i in self.items):
            raise ValueError("layout: statement 只能包含 heading、note 和 sign")
        if self.frame and lay != "outline":
            raise ValueError("frame 只适用于 layout: outline")
        return self

    def fields(self) -> list[Field]:
        out: list[Field] = []
        for item in self.items:
            if isinstance(item, Field):
                out.append(item)
            elif isinstance(item, Group):
                out.extend(item.items)
        return out


Op = Literal[">=", ">", "<=", "<", "==", "!=", "in"]


class Compare(Frozen):
    """A comparison of a field (each year cell, or one column) or an expression with a threshold
    or with another field."""

    field: str | None = None  # section.field
    column: str | None = None  # one year / cell suffix, e.g. "2023"; default: every cell
    expr: str | None = None
    label: str | None = None  # how to name `expr` in messages
    op: Op
    threshold: Decimal | str | tuple[str, ...] | None = None
    other: str | None = None  # compare with this field's same cell
    unit: str | None = None

    @model_validator(mode="after")
    def _one_subject(self) -> "Compare":
        if (self.field is None) == (self.expr is None):
            raise ValueError("必须且只能给出 field 或 expr 之一")
        if self.expr is not None and not self.label:
            raise ValueError("使用 expr 时必须给出 label")
        if (self.threshold is None) == (self.other is None):
            raise ValueError("必须且只能给出 threshold 或 other 之一")
        return self


class Condition(Frozen):
    """One 申报条件 the numbers in the form can check."""

    id: str = PField(pattern=_ID)
    aspect: str  # e.g. 一、具有较强核心竞争力
    text: str  # the official wording of the condition
    all_of: tuple[Compare, ...] = ()
    any_of: tuple[Compare, ...] = ()

    @model_validator(mode="after")
    def _has_checks(self) -> "Condition":
        if bool(self.all_of) == bool(self.any_of):
            raise ValueError("必须且只能给出 all_of 或 any_of 之一")
        return self


class Check(Frozen):
    """A consistency rule between fields; `level` error blocks a final export."""

    id: str = PField(pattern=_ID)
    level: Literal["error", "warning"] = "error"
    compare: Compare
    message: str | None = None  # extra explanation appended to the generated message


class TargetRule(Frozen):
    """A rule on a row of a targets table (section 八's 备注)."""

    id: str = PField(pattern=_ID)
    row: str  # the fixed row's key
    text: str  # the official wording
    kind: Literal["min", "increase", "growth", "reduction", "about"]
    column: Literal["baseline", "target"] = "target"
    value: Decimal | None = None  # min / about: the number; growth / reduction: percent per year / in total
    years: int = 1  # growth: number of years compounded
    tolerance: Decimal = Decimal("0")  # about / reduction: how far below still counts as 左右
    unit: str = ""  # printed after `value` in messages (min / about)


class TargetRules(Frozen):
    table: str  # section.field of the repeat
    baseline_column: str
    target_column: str
    note: str  # the official 备注 the rules come from
    rules: tuple[TargetRule, ...]


class DataAsOf(Frozen):
    """The date the form's figures stand at, and the list columns whose dates may not be later.

    From the form's own rule, e.g. 填报说明 6 "未注明填报年度的，请填写截止到2023年底的数据": a patent
    granted in 2024 is not one of the 有效发明专利 counted at the end of 2023."""

    date: datetime.date
    basis: str  # the official wording the date comes from, quoted in messages
    columns: tuple[str, ...]  # section.field.column of list columns holding a date (text) or a year (integer)


# -- the district's submission: what the notice asks for, and how a district form gathers its
# clusters (see packages/district.py and packages/checklist.py; docs/表单定义指南.md) -----------------

#: What a notice asks for on paper: each cluster's form (申报表 / 年度发展情况报告), each cluster's
#: evidence (佐证材料, behind its form, in the order of its 佐证材料目录), or the district's own form
#: (申报汇总表 / 区总结).
PaperWhat = Literal["cluster_forms", "evidence", "district_form"]


class PaperItem(Frozen):
    """One thing the notice asks for on paper: how many copies, and whether it is sealed."""

    what: PaperWhat
    copies: int = PField(ge=1)
    copies_text: str | None = None  # the notice's words for the copies: 一式2份, 纸质版2份
    sealed: bool = False  # 加盖公章 (where the form marks 盖章 / 公章) before it is sent


class ElectronicItem(Frozen):
    """One thing the notice asks for electronically, in its words, and how it is sent.

    content: ``sealed_scan``: the paper materials, once sealed, scanned as PDF (every page);
    ``editable``: the editable files (the compiled 电子版.zip: editable forms, lists, evidence).
    via: ``email``: to the notice's ``email``; ``disc``: on a disc (光盘) sent with the paper."""

    text: str  # 盖章版PDF, 可编辑电子版, 电子版光盘1份
    content: Literal["sealed_scan", "editable"]
    via: Literal["email", "disc"]
    copies: int = PField(default=1, ge=1)  # discs


class SummaryColumn(Frozen):
    """A column of the district's cluster table, filled in from each cluster's own form.

    ``value``: expressions over the cluster form's cells (``${cover.operator}``), tried in order;
    the first that gives a text is taken. ``pattern``: a regular expression with a group
    ``(?P<value>…)``: only that part of the text is taken (no match: nothing). ``drop_district``:
    the district's name at the start of what was taken is left out (永川数控机床产业 → 数控机床产业;
    both 永川区 and 永川 count). ``otherwise``: when nothing is taken, the district's own name
    (``district``) or the cluster draft's title (``title``)."""

    column: str = PField(pattern=_ID)
    value: tuple[str, ...]
    pattern: str | None = None
    drop_district: bool = False
    otherwise: Literal["district", "title"] | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _one_or_more(cls, v: object) -> object:
        return (v,) if isinstance(v, str) else v

    @field_validator("pattern")
    @classmethod
    def _pattern_has_value(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            rx = re.compile(v)
        except re.error as e:
            raise ValueError(f"pattern 不是有效的正则表达式：{e}") from None
        if "value" not in rx.groupindex:
            raise ValueError("pattern 必须含有 (?P<value>…) 组，标出要取的部分")
        return v

    @model_validator(mode="after")
    def _has_value(self) -> "SummaryColumn":
        if not self.value:
            raise ValueError("value 至少要有一个表达式")
        return self


class DistrictSummary(Frozen):
    """How a district-role form (申报汇总表, 区总结) takes the district and its clusters.

    Header fields (``section.field`` of this form) take the district's facts: ``authority`` the
    区（县）中小企业主管部门, ``contact`` the 联系人 (with the 手机 after it, unless ``phone`` names a
    field of its own), ``district`` the district's name. ``clusters`` is the repeat table with one
    row per cluster; ``match`` its column that names the cluster (a filled summary's rows are
    matched to the clusters by it); ``columns`` the columns filled in from each cluster's form
    (the officer may change them); ``officer`` the columns only the officer fills (集群成立时间,
    集群简介): never prefilled, kept with their cluster's row."""

    authority: str | None = None
    contact: str | None = None
    phone: str | None = None
    district: str | None = None
    clusters: str | None = None
    match: str | None = PField(default=None, pattern=_ID)
    columns: tuple[SummaryColumn, ...] = ()
    officer: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _table_parts(self) -> "DistrictSummary":
        if self.clusters is None:
            if self.match or self.columns or self.officer:
                raise ValueError("match、columns 和 officer 需要 clusters（列出各集群的表格）")
            return self
        if not self.match:
            raise ValueError("有 clusters 时必须给出 match（表中写集群名称的列）")
        ids = [c.column for c in self.columns]
        if len(set(ids)) != len(ids):
            raise ValueError("columns 中同一列只能出现一次")
        both = sorted(set(ids) & set(self.officer))
        if both:
            raise ValueError(f"列“{'、'.join(both)}”不能既从集群材料填入（columns）又由区县填写（officer）")
        if self.match not in ids:
            raise ValueError(f"match 的列“{self.match}”必须在 columns 中（从集群材料填入集群名称）")
        return self


class Notice(Frozen):
    """The submission facts of the notice: data, so next year's notice is a new file."""

    id: str  # e.g. cq-2024
    number: str  # 渝经信中小〔2024〕7号
    title: str
    issuer: str
    date: str
    deadline: str | None = None  # ISO, e.g. 2024-03-25T18:00
    deadline_text: str | None = None  # 2024年3月25日18:00前
    paper_copies: int = 2
    paper_copies_text: str | None = None  # 一式2份
    address: str | None = None
    recipient: str | None = None
    phone: str | None = None
    email: str | None = None
    contact: str | None = None
    #: what goes electronically, in the notice's words, and how (a plain text: the words only)
    electronic: tuple[ElectronicItem | str, ...] = ()
    max_clusters_per_district: int | None = None
    max_clusters_rule: str | None = None
    submit_to: str | None = None
    paper: tuple[PaperItem, ...] = ()  # what goes on paper, point by point, in the notice's order
    requirements: tuple[str, ...] = ()  # the notice's sentences on what to send, word for word

    @model_validator(mode="after")
    def _electronic_has_its_way(self) -> "Notice":
        if any(isinstance(e, ElectronicItem) and e.via == "email" for e in self.electronic) and not self.email:
            raise ValueError("electronic 中有 via: email 的项目，notice 必须给出 email（邮箱）")
        whats = [p.what for p in self.paper]
        if len(set(whats)) != len(whats):
            raise ValueError("paper 中每种材料（what）只能出现一次")
        return self


class CarryOver(Frozen):
    """A cell ``to`` of this form ← the cell ``from`` of the source (another form, or last year's
    report), for ``carry_over`` and a prefill's ``same_year``. Written as a key alone when both
    are the same: ``cover.cluster_name``."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    to: str
    from_: str = PField(alias="from")


def _carry_item(v: object) -> object:
    return v if isinstance(v, (dict, CarryOver)) else {"to": v, "from": v}


def _carry_items(v: object) -> object:
    return tuple(_carry_item(x) for x in v) if isinstance(v, (list, tuple)) else v


class PrefillField(Frozen):
    """This form's cell ← an expression over the source form's cells."""

    to: str
    expr: str


class PrefillTable(Frozen):
    """Rows of a repeat table ← rows of a source repeat table, matched by their ``key``."""

    to: str
    source: str
    columns: dict[str, str] = {}  # this column ← source column
    year_columns: dict[str, dict[int, str]] = {}  # this column ← source column chosen by the report year
    must_match: tuple[str, ...] = ()  # columns that must equal the source (需按照申报材料中所定目标填写)


class Prefill(Frozen):
    """Where starting values come from: a field of another form (or of this form's previous year)."""

    id: str = PField(pattern=_ID)
    source_form: str  # a form id, or a form family (see Form.family) for the previous year
    label: str  # how users are told the source, e.g. 申报材料
    previous_year: bool = False  # the source is this form family's report of the year before
    fields: tuple[PrefillField, ...] = ()
    tables: tuple[PrefillTable, ...] = ()
    # fields whose cells of the report's year come from the source's cells of the same year (the
    # application's 2023 figures into the 2023 report); a source field without years counts for
    # the year of its data_as_of date
    same_year: tuple[CarryOver, ...] = ()

    @field_validator("same_year", mode="before")
    @classmethod
    def _same_year_items(cls, v: object) -> object:
        return _carry_items(v)


class ChangeCheck(Frozen):
    """A 是否发生变更 question answered from the linked source, confirmed by the user."""

    field: str  # the 是/否 choice
    subject: str  # this form's cell compared with the source
    source_expr: str  # the source's value
    prefill: str  # the Prefill id whose source is compared
    note_field: str | None = None  # where a 是 is explained


class Achievement(Frozen):
    """目标值 against 完成值 in a targets table: which rows are computed, which count downwards."""

    table: str
    target_column: str
    actual_column: str
    actuals: dict[str, str] = {}  # row key → expression giving the 完成值 from this form's numbers
    formulas: dict[str, str] = {}  # row key → the formula in Chinese
    lower_is_better: tuple[str, ...] = ()
    qualitative: tuple[str, ...] = ()  # row keys whose 完成值 is described in words (定性描述): not compared
    group_column: str | None = None  # the column grouping the rows in the analysis (方向)



class Form(Frozen):
    schema_version: int = SCHEMA_VERSION
    id: str = PField(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: int
    title: str
    short_title: str  # used in file names: <集群名称>-<short_title>.docx
    issuer: str
    year: int
    attachment: str  # e.g. 附件2
    role: Literal["cluster", "district"]
    notice: Notice
    title_field: str | None = None  # the field whose value names a draft (集群名称)
    list_name: str | None = None  # how lists name a draft of this form: {year}, {title}, e.g. 年度报告 {year} · {title}
    cover_title: str | None = None  # printed title of the cover page
    maker_line: str | None = None  # 重庆市经济和信息化委员会 制
    instructions_title: str = "填报说明"
    instructions: tuple[str, ...] = ()
    sections: tuple[Section, ...]
    eligibility_title: str | None = None
    eligibility: tuple[Condition, ...] = ()
    checks: tuple[Check, ...] = ()
    targets: TargetRules | None = None
    family: str | None = None  # the same document in different years shares a family, e.g. sh-annual-report
    prefill: tuple[Prefill, ...] = ()
    change_checks: tuple[ChangeCheck, ...] = ()
    achievement: Achievement | None = None
    # field keys copied from last year's report (复制为下一年度): "key", or {to: key, from: last year's key}
    carry_over: tuple[CarryOver, ...] = ()
    data_as_of: DataAsOf | None = None
    district: DistrictSummary | None = None  # role district: how it takes the district and its clusters
    # -- for the author's checks (forms check) and the print -----------------------------------------
    source: str | None = None  # the official text transcribed, a file in forms/sources/ (or beside the file)
    other_years: tuple[int, ...] = ()  # years the text may name besides `year` (data years, plan years, the notice's)
    fill_marks: tuple[str, ...] = ()  # marks in official text standing for what the user writes (XX): a line to write on

    @field_validator("carry_over", mode="before")
    @classmethod
    def _carry_over_items(cls, v: object) -> object:
        return _carry_items(v)

    @field_validator("list_name")
    @classmethod
    def _list_name_fields(cls, v: str | None) -> str | None:
        if v is None:
            return v
        import string

        try:
            names = {f for _, f, _, _ in string.Formatter().parse(v) if f is not None}
        except ValueError as e:
            raise ValueError(f"list_name 的格式有误：{e}") from None
        unknown = names - {"year", "title"}
        if unknown or "title" not in names:
            raise ValueError("list_name 只能使用 {year} 和 {title}，并且必须含有 {title}")
        return v

    plausible: tuple[Plausible, ...] = ()  # plausible ranges and year-to-year jumps, by unit

    @field_validator("plausible")
    @classmethod
    def _plausible_by_unit(cls, v: tuple[Plausible, ...]) -> tuple[Plausible, ...]:
        units = [p.unit for p in v]
        if None in units:
            raise ValueError("表单的每个 plausible 条目都必须给出 unit")
        if len(set(units)) != len(units):
            raise ValueError("plausible 中同一单位只能出现一次")
        return v

    @field_validator("schema_version")
    @classmethod
    def _known_schema(cls, v: int) -> int:
        if v > SCHEMA_VERSION:
            raise ValueError(f"定义文件的 schema_version {v} 高于本程序支持的 {SCHEMA_VERSION}")
        return v

    @model_validator(mode="after")
    def _district_only_on_district_forms(self) -> "Form":
        if self.district is not None and self.role != "district":
            raise ValueError("district（区县汇总的对应关系）只适用于 role: district 的表单")
        return self

    @model_validator(mode="after")
    def _dated_columns_exist(self) -> "Form":
        if self.data_as_of is None:
            return self
        repeats = {f"{s.id}.{f.id}": f for s in self.sections for f in s.fields() if f.type == "repeat"}
        for ref in self.data_as_of.columns:
            key, _, col_id = ref.rpartition(".")
            col = next((c for c in repeats[key].columns if c.id == col_id), None) if key in repeats else None
            if col is None:
                raise ValueError(f"data_as_of.columns: “{ref}”不是清单（repeat）中的列")
            if col.type not in ("text", "value", "integer"):
                raise ValueError(f"data_as_of.columns: “{ref}”应为填写日期的文字列或填写年份的整数列")
        return self

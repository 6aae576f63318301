"""The form author's checks that look beyond one definition, and the ones that read its text.

:func:`load_form` checks a file on its own (schema, references inside it). This module adds what
``clusterdesk forms check`` and ``forms install`` look at besides:

* **together with the loaded forms**: an id a loaded form already has at the same or a higher
  version; a prefill source that is not loaded; two attachments of one notice whose facts differ
  (deadline, number, copies …); two forms of one family and year;
* **years** (warnings): a year in ``years:`` or in the text (titles, labels, hints, notes, the
  notice) that is neither the form's ``year`` nor one of its ``other_years`` — the stale
  "七、2023 年集群工作" of a copy made for 2024. Document numbers (〔2024〕7号, [2015]) are not
  years of the form;
* **options split by YAML** (errors): in a flow list ``[是, 否, 非工业集群, 不适用]`` YAML takes every
  half-width comma as a separator, so the official option “非工业集群, 不适用” silently becomes two.
  The check reads the YAML node tree, takes each pair of neighbouring unquoted items of a flow
  list of options, and joins them again; if the joined text is an option of the official text
  the definition names (``source:``, a file in ``forms/sources/``: the text after each □ box) or
  an option of a loaded form, the two items were one option and must be quoted.

Every line names the file, the path inside it and the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field as dc_field
from pathlib import Path
from typing import Iterable, Iterator

import yaml

from .form import (Catalog, FormDef, FormDefinitionError, MAX_DEFINITION_BYTES, _cross_form_check, _loaded_text,
                   definition_name, load_form, notice_problems)

#: A year as a form's text names it; not inside a document number's brackets (〔2024〕7号, [2015]).
_YEAR = re.compile(r"(?<![\d〔\[［])((?:19|20)\d\d)(?![\d〕\]］])")
#: Keys whose string values are ids, expressions, references or contact details, not text.
_NOT_TEXT = frozenset({
    "id", "key", "type", "calculation", "default", "relevant", "expr", "pattern", "field", "other", "to", "from",
    "source", "source_form", "table", "column", "baseline_column", "target_column", "actual_column",
    "group_column", "row_name", "list_for", "of", "place", "years_as", "layout", "kind", "unused", "title_field",
    "family", "role", "subject", "source_expr", "prefill", "note_field", "op", "level", "auto", "unit", "email",
    "phone", "fill_marks", "renamed_from", "open_text",
})
#: Keys whose whole subtree is references (cell keys, column ids, row keys, years as mapping keys).
_NOT_TEXT_TREE = frozenset({"prefill", "change_checks", "actuals", "year_columns", "carry_over", "must_match",
                            "lower_is_better", "qualitative"})
_TEXT_TAGS = ("tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp")  # not numbers (min: 2021)
_OPTION_KEYS = frozenset({"options", "threshold"})
_BOX = re.compile(r"□|■|<input[^>]*>")
_BOX_END = re.compile(r"[\t\n|□■<]")


@dataclass
class CheckReport:
    """What ``forms check`` found: errors (the file cannot be installed) and warnings."""

    errors: list[str] = dc_field(default_factory=list)
    warnings: list[str] = dc_field(default_factory=list)
    forms: list[FormDef] = dc_field(default_factory=list)  # the files that passed, in the order given


# -- the YAML node tree -----------------------------------------------------------------------


def _nodes(node: yaml.Node, path: str, key: str | None, skip: bool) -> Iterator[tuple[yaml.Node, str, str | None, bool]]:
    """Every node with its path (``sections[7](work).title``), the mapping key it sits under and
    whether it is inside a subtree of references."""
    yield node, path, key, skip
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            name = str(k.value)
            sub = f"{path}.{name}" if path else name
            yield from _nodes(v, sub, name, skip or name in _NOT_TEXT_TREE)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            ident = ""
            if isinstance(item, yaml.MappingNode):
                ident = next((f"({v.value})" for k, v in item.value
                              if k.value == "id" and isinstance(v, yaml.ScalarNode)), "")
            yield from _nodes(item, f"{path}[{i}]{ident}", key, skip)


def _tree(fd: FormDef) -> yaml.Node | None:
    text = _loaded_text(fd.source) if fd.source else None
    if text is None:
        return None
    try:
        return yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None


# -- years ------------------------------------------------------------------------------------


def year_warnings(fd: FormDef, tree: yaml.Node | None = None) -> list[str]:
    """A year in ``years:`` or in the text that is neither ``year`` nor in ``other_years``."""
    tree = tree if tree is not None else _tree(fd)
    if tree is None:
        return []
    allowed = {fd.form.year, *fd.form.other_years}
    name = definition_name(fd)
    hint = f"与表单的 year（{fd.form.year}）不同，也不在 other_years 中"
    out: list[str] = []
    for node, path, key, skip in _nodes(tree, "", None, False):
        if skip or not isinstance(node, yaml.ScalarNode) or key in _NOT_TEXT or node.tag not in _TEXT_TAGS:
            continue
        if key in ("years", "other_years", "year"):
            continue
        found = sorted({int(y) for y in _YEAR.findall(str(node.value))} - allowed)
        if found:
            text = str(node.value).replace("\n", " ")
            shown = text if len(text) <= 40 else text[:38] + "……"
            out.append(f"{name}: {path}: 文字中的 {'、'.join(map(str, found))} 年{hint}：“{shown}”")
    for node, path, key, skip in _nodes(tree, "", None, False):
        if key == "years" and isinstance(node, yaml.SequenceNode) and not skip:
            stale = [str(n.value) for n in node.value
                     if isinstance(n, yaml.ScalarNode) and str(n.value).isdigit() and int(n.value) not in allowed]
            if stale:
                out.append(f"{name}: {path}: {'、'.join(stale)} 年{hint}（打印为“年度 | {stale[0]}年”）")
    return out


# -- options YAML split at a comma -------------------------------------------------------------


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text).replace("，", ",")


def source_text(fd: FormDef) -> str | None:
    """The official text the definition names (``source:``): beside the file, in its ``sources/``
    folder, or in the shipped ``forms/sources/``."""
    if not fd.form.source:
        return None
    from clusterdesk.paths import forms_dir

    name = Path(fd.form.source).name  # a name, never a path out of these folders
    folders = ([fd.source.parent, fd.source.parent / "sources"] if fd.source else []) + [forms_dir() / "sources"]
    for folder in folders:
        text = _loaded_text(folder / name)
        if text is not None:
            return text
    return None


def box_options(text: str) -> set[str]:
    """The options of an official text: what follows each □ box (or checkbox markup) up to the
    next box, tab or line end, without spaces."""
    out: set[str] = set()
    for m in _BOX.finditer(text):
        rest = text[m.end():]
        end = _BOX_END.search(rest)
        piece = _norm(rest[:end.start()] if end else rest)
        if piece:
            out.add(piece)
    return out


def split_option_problems(fd: FormDef, known: set[str], tree: yaml.Node | None = None,
                          official: str | None = None) -> list[str]:
    """Neighbouring unquoted items of a flow list of options that together are one option of the
    official text (or of a loaded form): YAML split it at a half-width comma."""
    tree = tree if tree is not None else _tree(fd)
    if tree is None or fd.source is None:
        return []
    text = _loaded_text(fd.source) or ""
    official = official if official is not None else source_text(fd)
    reference = set(known) | (box_options(official) if official else set())
    name = definition_name(fd)
    out: list[str] = []
    for node, path, key, _skip in _nodes(tree, "", None, False):
        if key not in _OPTION_KEYS or not isinstance(node, yaml.SequenceNode) or not node.flow_style:
            continue
        items = node.value
        for a, b in zip(items, items[1:]):
            if not (isinstance(a, yaml.ScalarNode) and isinstance(b, yaml.ScalarNode)) or a.style or b.style:
                continue
            between = text[a.end_mark.index:b.start_mark.index]
            joined = f"{a.value}{between.strip()} {b.value}" if between.strip() == "," else None
            if joined and _norm(f"{a.value},{b.value}") in reference:
                where = "官方原文" if official and _norm(f"{a.value},{b.value}") in box_options(official) else "已加载的表单"
                out.append(f"{name}: {path}: “{a.value}”和“{b.value}”在{where}中是一个选项“{joined}”，"
                           f"方括号列表把半角逗号当作分隔符拆成了两项；请给它加引号：\"{joined}\"")
    return out


def known_options(forms: Iterable[FormDef]) -> set[str]:
    """Every option of every field and column of these forms, normalised."""
    out: set[str] = set()
    for fd in forms:
        for s in fd.sections:
            for f in s.fields():
                out.update(_norm(o) for o in f.options)
                for c in f.columns:
                    out.update(_norm(o) for o in c.options)
    return out


def text_warnings(fd: FormDef, known: set[str]) -> tuple[list[str], list[str]]:
    """(errors, warnings) a definition's text gives: options split by YAML, stale years."""
    tree = _tree(fd)
    return split_option_problems(fd, known, tree), year_warnings(fd, tree)


# -- files against the loaded forms --------------------------------------------------------------


def check_files(paths: Iterable[Path], catalog: Catalog) -> CheckReport:
    """Check definition files alone and together with every form of ``catalog`` (and each other),
    as ``forms check`` and ``forms install`` do."""
    report = CheckReport()
    new: list[FormDef] = []
    for p in paths:
        p = Path(p)
        try:
            fd = load_form(p)
        except FormDefinitionError as e:
            report.errors.extend(e.problems)
            continue
        twin = next((f for f in new if f.id == fd.id), None)
        if twin is not None:
            report.errors.append(f"{p.name}: id: “{fd.id}”与同时检查的 {definition_name(twin)} 重复")
            continue
        if fd.id in catalog:
            have, origin = catalog.get(fd.id), catalog.origin(fd.id)
            itself = origin.path is not None and _same_file(origin.path, p)
            if not itself and have.version >= fd.version:
                where = f"{origin.label}：{origin.path}" if origin.path else origin.label
                report.errors.append(
                    f"{p.name}: id: 已加载的表单“{fd.id}”（{where}，版本 {have.version}）与它重复；"
                    f"要替换它，请把 version 改为大于 {have.version} 的整数，要另立表单，请换一个 id")
                continue
        new.append(fd)
    loaded = [f for f in catalog if f.id not in {n.id for n in new}]
    merged = {f.id: f for f in loaded + new}
    mine = {f.id for f in new}
    problems = [line for fid, line in _cross_form_check(merged) if fid in mine]
    problems += [line for fid, line in notice_problems(loaded + new) if fid in mine]
    for fd in new:
        fam = fd.form.family
        other = next((f for f in merged.values() if fam and f.id != fd.id and f.form.family == fam
                      and f.form.year == fd.form.year), None)
        if other is not None:
            problems.append(f"{definition_name(fd)}: family: “{fam}”已有 {fd.form.year} 年度的表单“{other.id}”"
                            f"（同一系列每个年度只能有一份表单）")
    report.errors.extend(problems)
    known = known_options(loaded)
    bad_ids = {line.split(": ", 1)[0] for line in problems}
    for fd in new:
        errors, warnings = text_warnings(fd, known)
        report.errors.extend(errors)
        report.warnings.extend(warnings)
        if not errors and definition_name(fd) not in bad_ids:
            report.forms.append(fd)
    return report


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def check_loaded(catalog: Catalog) -> CheckReport:
    """``forms check`` without files: every file of the shipped and the installed forms folders."""
    report = CheckReport()
    for bad in catalog.bad_files:
        report.errors.extend(bad.problems)
    forms = list(catalog)
    for fd in forms:
        others = known_options(f for f in forms if f.id != fd.id)
        errors, warnings = text_warnings(fd, others)
        report.errors.extend(errors)
        report.warnings.extend(warnings)
        if not errors:
            report.forms.append(fd)
    return report


__all__ = ["CheckReport", "box_options", "check_files", "check_loaded", "known_options", "notice_problems",
           "source_text", "split_option_problems", "year_warnings", "MAX_DEFINITION_BYTES"]

"""The ``clusterdesk`` command line: the same core functions the GUI calls.

With no arguments it starts the GUI. Exit codes: 0 success, 1 the draft has errors (validate) or a
condition is not met (eligibility), 2 bad input. Bad input gets one Chinese line per problem on
stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

EXIT_OK, EXIT_PROBLEMS, EXIT_BAD_INPUT = 0, 1, 2


class CliError(Exception):
    """Bad input: printed one line per problem, exit code 2."""

    def __init__(self, *lines: str):
        self.lines = [ln for ln in lines if ln]
        super().__init__("\n".join(self.lines))


# Control characters from a file (terminal escapes such as \x1b]0;…\x07) must not reach the
# terminal of whoever runs the command: they are shown as "?" instead.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _safe(text: str) -> str:
    return _CONTROL.sub("?", text)


def _out(text: str = "") -> None:
    sys.stdout.write(_safe(text) + "\n")


def _err(text: str) -> None:
    sys.stderr.write(_safe(text) + "\n")


def _store(args: argparse.Namespace):
    from clusterdesk.store import Store

    return Store.open(Path(args.db) if args.db else None)


def _draft_id(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _load_target(args: argparse.Namespace, target: str):
    """A draft id or a filled-template file → (form, Answers, label)."""
    from clusterdesk.model.rules import Answers
    from clusterdesk.templates import read_filled

    did = _draft_id(target)
    if did is not None and not Path(target).exists():
        from clusterdesk.service import load_answers

        with _store(args) as store:
            form, ans = load_answers(store, did)
        return form, ans
    filled = read_filled(Path(target))
    ev = [(k, o) for k, o, _ in filled.evidence]
    return filled.form, Answers(filled.form, filled.answers, filled.notes, ev)


# -- commands ----------------------------------------------------------------------------


def cmd_forms(args: argparse.Namespace) -> int:
    from clusterdesk.model.form import FormDefinitionError, default_catalog, load_form

    if args.action == "check":
        files = [Path(f) for f in args.files]
        if not files:
            from clusterdesk.paths import forms_dir

            files = sorted(forms_dir().glob("*.yaml"))
        bad = 0
        for f in files:
            try:
                fd = load_form(f)
            except FormDefinitionError as e:
                bad += 1
                for line in e.problems:
                    _err(line)
                continue
            _out(f"{f.name}: 通过（{fd.id} 版本 {fd.version}，{len(fd.answerable_cells)} 个填报项）")
        return EXIT_BAD_INPUT if bad else EXIT_OK
    for fd in default_catalog():
        _out(f"{fd.id}\t{fd.title}\t{fd.form.issuer}\t{fd.form.year}")
    return EXIT_OK


def cmd_template(args: argparse.Namespace) -> int:
    from clusterdesk.model.form import default_catalog
    from clusterdesk.templates import write_template

    form = default_catalog().get(args.form_id)
    out = write_template(form, Path(args.out))
    _out(str(out))
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    from clusterdesk.templates import import_file

    with _store(args) as store:
        draft_id = import_file(store, Path(args.file))
    _out(str(draft_id))
    return EXIT_OK


def cmd_drafts(args: argparse.Namespace) -> int:
    from clusterdesk.model.form import default_catalog
    from clusterdesk.service import completion

    catalog = default_catalog()
    with _store(args) as store:
        for d in store.list_drafts():
            pct = ""
            if d.form_id in catalog:
                pct = f"{completion(catalog.get(d.form_id), store.get_answers(d.id)) * 100:.0f}%"
            _out(f"{d.id}\t{d.form_id}\t{d.title}\t{d.updated_at:%Y-%m-%d %H:%M}\t{pct}")
    return EXIT_OK


def cmd_dump(args: argparse.Namespace) -> int:
    from clusterdesk.templates import dump_dict

    with _store(args) as store:
        data = dump_dict(store, _require_id(args.draft_id))
    _out(json.dumps(data, ensure_ascii=False, indent=2))
    return EXIT_OK


def _require_id(text: str) -> int:
    did = _draft_id(str(text))
    if did is None:
        raise CliError(f"草稿 id 应为数字：“{text}”")
    return did


def cmd_validate(args: argparse.Namespace) -> int:
    from clusterdesk.model.rules import validate

    form, ans = _load_target(args, args.target)
    problems = validate(form, ans)
    errors = [p for p in problems if p.level == "error"]
    for p in problems:
        _out(f"{'错误' if p.level == 'error' else '提示'}\t{p}")
    _out(f"共 {len(errors)} 个错误，{len(problems) - len(errors)} 个提示。")
    return EXIT_PROBLEMS if errors else EXIT_OK


def cmd_eligibility(args: argparse.Namespace) -> int:
    from clusterdesk.model.rules import eligibility, target_results

    form, ans = _load_target(args, args.target)
    results = eligibility(form, ans)
    if not results:
        _out(f"“{form.title}”没有可核对的申报条件。")
    for r in results:
        _out(f"{r.status}\t{r.condition.aspect} · {r.condition.text}")
        for line in r.lines:
            _out(f"\t{line}")
    targets = target_results(form, ans)
    if targets:
        _out(f"发展目标（{form.form.targets.note}）：")  # type: ignore[union-attr]
        for t in targets:
            status = "符合" if t.ok else ("不符合" if t.ok is False else "待填写")
            _out(f"{status}\t{t.rule.text}\t{t.text}")
    failed = any(r.status != "符合" for r in results) or any(t.ok is not True for t in targets)
    return EXIT_PROBLEMS if failed else EXIT_OK


def cmd_gui(args: argparse.Namespace) -> int:
    try:
        from clusterdesk.ui.app import run
    except ImportError as e:
        raise CliError(f"无法启动图形界面：{e}") from None
    return run(args.db)


# -- parser -------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's own errors: one line, exit 2
        self.print_usage(sys.stderr)
        _err(f"命令行参数错误：{message}")
        raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    from clusterdesk import __version__

    p = _Parser(prog="clusterdesk", description="集群申报助手：中小企业特色产业集群申报材料的填写、检查与导出。不带参数运行时启动图形界面。")
    p.add_argument("--db", metavar="PATH", help="草稿数据库文件（默认在用户数据目录）")
    p.add_argument("--version", action="version", version=f"clusterdesk {__version__}")
    sub = p.add_subparsers(dest="command", metavar="命令", parser_class=_Parser)

    def add(name: str, fn: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS, help="草稿数据库文件")
        sp.set_defaults(func=fn)
        return sp

    sp = add("forms", cmd_forms, "列出表单；forms check [文件...] 检查表单定义文件")
    sp.add_argument("action", nargs="?", choices=["list", "check"], default="list")
    sp.add_argument("files", nargs="*")
    sp = add("template", cmd_template, "生成填报模板（.json 或 .xlsx）")
    sp.add_argument("form_id")
    sp.add_argument("--out", required=True, metavar="FILE")
    sp = add("import", cmd_import, "把填好的模板导入为新草稿，输出草稿 id")
    sp.add_argument("file")
    add("drafts", cmd_drafts, "列出草稿（每行以草稿 id 开头）")
    sp = add("dump", cmd_dump, "以模板格式输出草稿的填报内容（JSON）")
    sp.add_argument("draft_id")
    sp = add("validate", cmd_validate, "检查草稿或模板文件，有错误时退出码为 1")
    sp.add_argument("target", metavar="FILE|DRAFT_ID")
    sp = add("eligibility", cmd_eligibility, "逐条核对申报条件（符合/不符合）")
    sp.add_argument("target", metavar="FILE|DRAFT_ID")
    for extra in _EXTENSIONS:
        extra(sub, add)
    return p


# Later features register their sub-commands here: fn(subparsers, add) -> None.
_EXTENSIONS: list[Callable[[Any, Callable[..., argparse.ArgumentParser]], None]] = []


def _load_extensions() -> None:
    import importlib

    if _EXTENSIONS:
        return
    for mod in ("clusterdesk.export.cli", "clusterdesk.packages.cli", "clusterdesk.annual.cli",
                "clusterdesk.backup_cli"):
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name and mod.startswith(e.name):
                continue  # that feature is not part of this build
            _err(f"命令模块 {mod} 无法加载：{e}")
            continue
        except Exception as e:  # a broken feature must not take the other commands down with it
            _err(f"命令模块 {mod} 无法加载：{type(e).__name__}: {e}")
            continue
        _EXTENSIONS.append(m.register)


def _restore_hint(e: BaseException) -> None:
    """On a database the program refuses to open, say which snapshot could bring it back."""
    from clusterdesk.store import DatabaseDamaged, DatabaseTooNew, Store

    path = getattr(e, "path", None)
    if not isinstance(e, (DatabaseDamaged, DatabaseTooNew)) or path is None:
        return
    snaps = Store.snapshots_of(path)
    if snaps:
        _err(f"找到最近的自动快照：{snaps[0]}")
        _err(f"可以用它恢复（恢复前会先备份当前文件）：clusterdesk --db \"{path}\" restore \"{snaps[0]}\"")


def _startup(args: argparse.Namespace) -> None:
    """Clean up what a crashed run left behind (temporary files, an unfinished export) before the
    command runs; the GUI does the same in ui.app.run and shows the notes in a window."""
    from clusterdesk.export.leftovers import startup_cleanup
    from clusterdesk.store import default_db_path

    data_dir = Path(args.db).absolute().parent if getattr(args, "db", None) else default_db_path().parent
    for note in startup_cleanup(data_dir).notes:
        _err(f"提示：{note}")


def main(argv: Sequence[str] | None = None) -> int:
    from clusterdesk.model.form import FormDefinitionError
    from clusterdesk.service import InputError
    from clusterdesk.store import StoreError
    from clusterdesk.templates import TemplateError

    argv = list(sys.argv[1:] if argv is None else argv)
    _load_extensions()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        args.func = cmd_gui
    if args.func is not cmd_gui:
        _startup(args)
    try:
        return args.func(args)
    except (TemplateError, FormDefinitionError, CliError) as e:
        for line in getattr(e, "problems", None) or getattr(e, "lines", None) or [str(e)]:
            _err(line)
        return EXIT_BAD_INPUT
    except (InputError, StoreError, KeyError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        _err(str(msg))
        _restore_hint(e)
        return EXIT_BAD_INPUT
    except OSError as e:
        _err(f"文件操作失败：{e.filename or ''}（{e.strerror or e}）")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

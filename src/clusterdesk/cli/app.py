"""The ``clusterdesk`` command line: the same core functions the GUI calls.

With no arguments it starts the GUI (without a display: a Chinese message, exit code 2). Exit codes:
0 success, 1 the draft has errors (validate) or a condition is not met (eligibility), 2 bad input,
141 the reader of the output went away (``| head -1``; quietly, as standard tools). Bad input gets
one Chinese line per problem on stderr, never a traceback. argparse's own texts are Chinese too.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import unicodedata
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from . import annual, backup, export, packages
from .kit import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    EXIT_PROBLEMS,
    CliError,
    Register,
    draft_id,
    err,
    open_store,
    out,
    require_id,
    show_damage,
    snapshot_hint,
)

#: every feature's sub-commands, in the order ``--help`` lists them after the core's own
REGISTERS: tuple[Register, ...] = (export.register, packages.register, annual.register, backup.register)

def _load_target(args: argparse.Namespace, target: str):
    """A draft id or a filled-template file → (form, Answers, label)."""
    from clusterdesk.model.rules import Answers
    from clusterdesk.templates import read_filled

    did = draft_id(target)
    if did is not None and not Path(target).exists():
        from clusterdesk.service import load_answers

        with open_store(args) as store:
            form, ans = load_answers(store, did)
        return form, ans
    filled = read_filled(Path(target))
    ev = [(k, o) for k, o, _ in filled.evidence]
    return filled.form, Answers(filled.form, filled.answers, filled.notes, ev)


# -- commands ----------------------------------------------------------------------------


def cmd_forms(args: argparse.Namespace) -> int:
    from clusterdesk.model.form import default_catalog
    from clusterdesk.paths import user_forms_dir

    catalog = default_catalog()
    if args.action == "install":
        return _install_forms(args, catalog)
    if args.action == "check":
        from clusterdesk.model.checks import check_files, check_loaded

        files = [Path(f) for f in args.files]
        report = check_files(files, catalog) if files else check_loaded(catalog)
        for line in report.errors:
            err(line)
        for line in report.warnings:
            err(f"提示：{line}")
        for fd in report.forms:
            out(f"{fd.source.name if fd.source else fd.id}: 通过（{fd.id} 版本 {fd.version}，"
                 f"{len(fd.answerable_cells)} 个填报项）")
        return EXIT_BAD_INPUT if report.errors else EXIT_OK
    if args.files:
        raise CliError(f"forms {args.action} 不接受文件参数（检查文件用 forms check，安装用 forms install）")
    _bad_form_files(catalog)
    for fd in catalog:
        origin = catalog.origin(fd.id)
        where = origin.label if origin.kind == "shipped" else f"{origin.label} {origin.path}"
        out(f"{fd.id}\t{fd.title}\t{fd.form.issuer}\t{fd.form.year}\t版本 {fd.version}\t{where}")
    user = user_forms_dir()
    if user is not None and not (user.is_dir() and any(user.glob("*.yaml"))):
        err(f"提示：安装的表单放在 {user}（clusterdesk forms install 文件.yaml）")
    return EXIT_OK


def _bad_form_files(catalog) -> None:
    """Each definition file that was left out, one Chinese line on stderr (the program goes on)."""
    for bad in catalog.bad_files:
        err(bad.line)


def _install_forms(args: argparse.Namespace, catalog) -> int:
    from clusterdesk.model.form import reload_default_catalog
    from clusterdesk.model.install import install_forms
    from clusterdesk.paths import user_forms_dir

    if not args.files:
        raise CliError("请给出要安装的表单定义文件（.yaml），例如：clusterdesk forms install 新表单.yaml")
    dest = user_forms_dir()
    assert dest is not None  # _main sets the data folder before any command
    done = install_forms([Path(f) for f in args.files], dest, catalog)
    for line in done.warnings:
        err(f"提示：{line}")
    for line in done.lines():
        out(line)
    reload_default_catalog()
    return EXIT_OK


def cmd_template(args: argparse.Namespace) -> int:
    from clusterdesk.export.atomic import ExportError
    from clusterdesk.model.form import default_catalog
    from clusterdesk.templates import write_template

    form = default_catalog().get(args.form_id)
    answers: dict[str, Any] | None = None
    note: str | None = None
    if args.district is not None or args.sources:
        if args.district:
            args.district, args.sources = args.district[0], args.district[1:] + args.sources
        answers, note = _district_template(args, form)
    try:
        written = write_template(form, Path(args.out), answers, note)
    except ExportError as e:  # a folder that does not exist or cannot be written
        raise CliError(str(e)) from None
    out(str(written))
    return EXIT_OK


def _district_template(args: argparse.Namespace, form: Any) -> tuple[dict[str, Any], str]:
    """A district's summary template prefilled from its clusters' packages (or drafts)."""
    from clusterdesk.packages.district import District, DistrictError, prefilled_summary, summary_note
    from clusterdesk.packages.package import PackageError

    if form.form.role != "district":
        raise CliError(f"--district 只适用于区县填写的汇总材料（如 cq-2024-summary），“{form.title}”不是")
    if not (args.district or "").strip():
        raise CliError("请用 --district 写明区县名称，例如：--district 永川区")
    district = District(args.district.strip(), form.form.notice.id, args.authority or "", args.contact or "",
                        args.phone or "")
    need_store = any(str(s).isdigit() and not Path(s).exists() for s in args.sources)
    try:
        if need_store:
            with open_store(args) as store:
                answers = prefilled_summary(form, district, args.sources, store)
        else:
            answers = prefilled_summary(form, district, args.sources)
    except PackageError as e:
        raise CliError(*e.problems) from None
    except DistrictError as e:
        raise CliError(*e.lines) from None
    return answers, summary_note(form, answers)


def cmd_import(args: argparse.Namespace) -> int:
    from clusterdesk.templates import import_file

    # A data package is imported as import-package does (the packages feature sets both).
    suffix, import_package = getattr(args, "package_suffix", None), getattr(args, "import_package", None)
    if suffix and import_package and Path(args.file).suffix.lower() == suffix:
        args.files = [args.file]
        return import_package(args)
    with open_store(args) as store:
        draft_id = import_file(store, Path(args.file))
    out(str(draft_id))
    return EXIT_OK


def cmd_drafts(args: argparse.Namespace) -> int:
    from clusterdesk.model.form import default_catalog
    from clusterdesk.service import completion, display_name

    catalog = default_catalog()
    from clusterdesk.store import ValuesDamaged

    with open_store(args) as store:
        for d in store.list_drafts():
            pct = ""
            if d.form_id in catalog:
                try:
                    pct = f"{completion(catalog.get(d.form_id), store.get_answers(d.id)) * 100:.0f}%"
                except ValuesDamaged as e:
                    show_damage(args, e.items, store.path)
                    pct = "内容已损坏"
            out(f"{d.id}\t{d.form_id}\t{display_name(store, d, catalog)}\t{d.updated_at:%Y-%m-%d %H:%M}\t{pct}")
    return EXIT_OK


def cmd_dump(args: argparse.Namespace) -> int:
    from clusterdesk.templates import dump_dict

    with open_store(args) as store:
        data = dump_dict(store, require_id(args.draft_id))
    out(json.dumps(data, ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from clusterdesk.model.rules import validate

    form, ans = _load_target(args, args.target)
    problems = validate(form, ans)
    errors = [p for p in problems if p.level == "error"]
    for p in problems:
        out(f"{'错误' if p.level == 'error' else '提示'}\t{p}")
    out(f"共 {len(errors)} 个错误，{len(problems) - len(errors)} 个提示。")
    return EXIT_PROBLEMS if errors else EXIT_OK


def cmd_eligibility(args: argparse.Namespace) -> int:
    from clusterdesk.model.rules import eligibility, target_results

    form, ans = _load_target(args, args.target)
    results = eligibility(form, ans)
    if not results:
        out(f"“{form.title}”没有可核对的申报条件。")
    for r in results:
        out(f"{r.status}\t{r.condition.aspect} · {r.condition.text}")
        for line in r.lines:
            out(f"\t{line}")
    targets = target_results(form, ans)
    if targets:
        out(f"发展目标（{form.form.targets.note}）：")  # type: ignore[union-attr]
        for t in targets:
            status = "符合" if t.ok else ("不符合" if t.ok is False else "待填写")
            out(f"{status}\t{t.rule.text}\t{t.text}")
    failed = any(r.status != "符合" for r in results) or any(t.ok is not True for t in targets)
    return EXIT_PROBLEMS if failed else EXIT_OK


def cmd_gui(args: argparse.Namespace) -> int:
    from clusterdesk.ui.display import display_problem

    problem = display_problem()  # before Qt is loaded: Qt aborts the process without a display
    if problem:
        raise CliError(*problem)
    try:
        from clusterdesk.ui.app import run
    except ImportError as e:
        raise CliError(f"无法启动图形界面：{e}") from None
    return run(args.db)


# -- parser -------------------------------------------------------------------------------


# argparse's own texts (usage, headings, -h, its error messages) in Chinese. argparse looks each up
# through its module-level gettext functions; _Parser swaps those for this table while it builds,
# prints and parses, and puts them back afterwards.
_ARGPARSE_ZH = {
    "usage: ": "用法：",
    "positional arguments": "位置参数",
    "options": "选项",
    "optional arguments": "选项",
    "subcommands": "命令",
    "show this help message and exit": "显示此帮助信息并退出",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "unknown parser %(parser_name)r (choices: %(choices)s)": "没有命令“%(parser_name)s”（可用的命令：%(choices)s）",
    "can't open '%(filename)s': %(error)s": "无法打开“%(filename)s”：%(error)s",
    "unrecognized arguments: %s": "无法识别的参数：%s",
    "not allowed with argument %s": "不能与参数 %s 同时使用",
    "ignored explicit argument %r": "此选项不带值：%r",
    "the following arguments are required: %s": "缺少必需的参数：%s",
    "one of the arguments %s is required": "参数 %s 必须提供其中一个",
    "expected one argument": "需要一个值",
    "expected at most one argument": "最多需要一个值",
    "expected at least one argument": "至少需要一个值",
    "expected %s argument": "需要 %s 个值",
    "expected %s arguments": "需要 %s 个值",
    "ambiguous option: %(option)s could match %(matches)s": "选项有歧义：%(option)s 可能是 %(matches)s",
    "unexpected option string: %s": "意外的选项：%s",
    "invalid %(type)s value: %(value)r": "无效的值：%(value)r（应为%(type)s）",
    "invalid choice: %(value)r (choose from %(choices)s)": "无效的选项：%(value)r（可选：%(choices)s）",
    "cannot have multiple subparser arguments": "不能有多组命令",
}

_HEADING = re.compile(f"^({'|'.join(map(re.escape, set(_ARGPARSE_ZH.values())))}):$", re.M)


def _width(text: str) -> int:
    """Columns a text takes in a terminal: Chinese characters and full-width punctuation take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _columns(obj: Any) -> int:  # argparse's len(): terminal columns for texts, size otherwise
    return _width(obj) if isinstance(obj, str) else len(obj)


@contextmanager
def _argparse_in_chinese() -> Iterator[None]:
    module: Any = argparse
    saved = module._, module.ngettext, module.__dict__.get("len")
    module._ = lambda m: _ARGPARSE_ZH.get(m, m) if isinstance(m, str) else m
    module.ngettext = lambda s, p, n: _ARGPARSE_ZH.get(s if n == 1 else p, s if n == 1 else p)
    module.len = _columns  # argparse measures usage lines and option columns with len()
    try:
        yield
    finally:
        module._, module.ngettext = saved[:2]
        if saved[2] is None:
            del module.len
        else:
            module.len = saved[2]


class _Formatter(argparse.HelpFormatter):
    """Lays out help by terminal columns, where a Chinese character takes two."""

    def _format_action(self, action: argparse.Action) -> str:
        text = super()._format_action(action)
        header = self._format_action_invocation(action)
        extra = _width(header) - len(header)  # the padding after it was counted in characters
        lead = " " * self._current_indent + header
        if extra and text.startswith(lead + " " * (extra + 2)):
            text = lead + text[len(lead) + extra:]
        return text

    def _split_lines(self, text: str, width: int) -> list[str]:
        lines: list[str] = []
        line = ""
        for token in _TOKENS.findall(self._whitespace_matcher.sub(" ", text).strip()):
            if line and _width(line + token.rstrip()) > width:
                lines.append(line.rstrip())
                line = token.lstrip()
            else:
                line += token
        return lines + [line.rstrip()] if line.strip() else lines

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(indent + line for line in self._split_lines(text, width - len(indent)))


# A line may break after a space or between two Chinese characters, never inside a run of ASCII.
_TOKENS = re.compile(r"[!-~]+ ?| |.")




class _Parser(argparse.ArgumentParser):
    """argparse in Chinese: usage, headings, help and every error line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        with _argparse_in_chinese():
            super().__init__(*args, **kwargs)

    def add_subparsers(self, **kwargs: Any) -> Any:
        with _argparse_in_chinese():
            return super().add_subparsers(**kwargs)

    def parse_args(self, *args: Any, **kwargs: Any) -> Any:
        with _argparse_in_chinese():
            return super().parse_args(*args, **kwargs)

    def parse_known_args(self, *args: Any, **kwargs: Any) -> Any:
        with _argparse_in_chinese():
            return super().parse_known_args(*args, **kwargs)

    def format_usage(self) -> str:
        with _argparse_in_chinese():
            return super().format_usage()

    def format_help(self) -> str:
        with _argparse_in_chinese():
            text = super().format_help()
        return _HEADING.sub(r"\1：", text)  # argparse writes its headings with an ASCII colon

    def print_help(self, file: Any = None) -> None:
        # argparse would swallow a closed pipe here and exit 0; main() ends such a run as any other
        (file or sys.stdout).write(self.format_help())

    def error(self, message: str) -> Any:  # argparse's own errors: usage and one line, exit 2
        self.print_usage(sys.stderr)
        err(f"{self.prog}：错误：{message}")
        raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    from clusterdesk import __version__

    p = _Parser(prog="clusterdesk", description="集群申报助手：中小企业特色产业集群申报材料的填写、检查与导出。不带参数运行时启动图形界面。")
    p.add_argument("--db", metavar="数据库文件", help="草稿数据库文件（默认在用户数据目录）")
    p.add_argument("--version", action="version", version=f"clusterdesk {__version__}", help="显示程序版本号并退出")
    sub = p.add_subparsers(dest="command", metavar="命令", parser_class=_Parser)

    def add(name: str, fn: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.add_argument("--db", metavar="数据库文件", default=argparse.SUPPRESS, help="草稿数据库文件")
        sp.set_defaults(func=fn)
        return sp

    sp = add("forms", cmd_forms, "列出表单；forms check [文件...] 检查表单定义文件；forms install 文件... 安装表单定义")
    sp.add_argument("action", nargs="?", choices=["list", "check", "install"], default="list",
                    metavar="list|check|install",
                    help="list：列出表单及其来源（内置 / 已安装，默认）；check：检查表单定义文件；"
                         "install：检查后安装到数据文件夹的 forms 文件夹")
    sp.add_argument("files", nargs="*", metavar="文件",
                    help="check / install 的表单定义文件（.yaml）；check 不写文件时检查内置和已安装的全部表单")
    sp = add("template", cmd_template, "生成填报模板（.json 或 .xlsx）；区县的汇总表模板可按 --district 从各集群的数据包预填")
    sp.add_argument("form_id", metavar="表单ID", help="表单 id，见 clusterdesk forms，例如 cq-2024-application")
    sp.add_argument("sources", nargs="*", default=[], metavar="数据包或草稿ID",  # default: not named as required
                    help="（汇总表模板）各集群的数据包或草稿 id，据此预填每个集群的一行")
    sp.add_argument("--out", required=True, metavar="文件", help="模板文件，扩展名 .json 或 .xlsx 决定格式")
    # nargs="+": the packages may follow the name (--district 永川区 1.cdpkg 2.cdpkg), as argparse
    # (before 3.12) would not give them to the positional list once an option came between
    sp.add_argument("--district", nargs="+", metavar=("区县名称", "数据包或草稿ID"),
                    help="区县名称（例如：永川区），可接着写各集群的数据包或草稿 id；生成按区县和集群预填的汇总表模板")
    sp.add_argument("--authority", metavar="名称", help="区（县）中小企业主管部门（预填汇总表的表头）")
    sp.add_argument("--contact", metavar="姓名", help="联系人（预填汇总表的表头）")
    sp.add_argument("--phone", metavar="号码", help="手机（预填汇总表的表头）")
    sp = add("import", cmd_import, "把填好的模板导入为新草稿，输出草稿 id；数据包（.cdpkg）按 import-package 导入")
    sp.add_argument("file", metavar="文件", help="填好的模板（.json / .xlsx），或数据包（.cdpkg）")
    add("drafts", cmd_drafts, "列出草稿（每行以草稿 id 开头）")
    sp = add("dump", cmd_dump, "以模板格式输出草稿的填报内容（JSON）")
    sp.add_argument("draft_id", metavar="草稿ID", help="草稿 id，见 clusterdesk drafts")
    sp = add("validate", cmd_validate, "检查草稿或模板文件，有错误时退出码为 1")
    sp.add_argument("target", metavar="文件或草稿ID", help="填好的模板文件（.json / .xlsx），或草稿 id")
    sp = add("eligibility", cmd_eligibility, "逐条核对申报条件（符合/不符合）")
    sp.add_argument("target", metavar="文件或草稿ID", help="填好的模板文件（.json / .xlsx），或草稿 id")
    for register in REGISTERS:
        register(sub, add)
    return p


def _restore_hint(e: BaseException, args: argparse.Namespace) -> None:
    """On a database the program refuses to open, say which snapshot could bring it back, and
    how to go on without it."""
    from clusterdesk.store import DatabaseDamaged, DatabaseTooNew, default_db_path

    path = getattr(e, "path", None)
    if not isinstance(e, (DatabaseDamaged, DatabaseTooNew)) or path is None:
        return
    db = os.path.abspath(os.path.expanduser(args.db)) if getattr(args, "db", None) else str(default_db_path())
    if os.path.abspath(path) != db:
        return  # e.g. the file given to restore was refused: the database itself is fine
    snapshot_hint(path)
    if not isinstance(e, DatabaseTooNew):
        err(f"如不需要其中的内容：clusterdesk --db \"{path}\" repair 会把它改名保留，并新建一个空数据库")


def _startup(args: argparse.Namespace) -> None:
    """Clean up what a crashed run left behind (temporary files, an unfinished export) before the
    command runs; the GUI does the same in ui.app.run and shows the notes in a window."""
    from clusterdesk.export.leftovers import startup_cleanup
    from clusterdesk.paths import default_db_path

    from clusterdesk.logs import log, setup_logging

    data_dir = Path(args.db).absolute().parent if getattr(args, "db", None) else default_db_path().parent
    setup_logging(data_dir)
    log.info("clusterdesk %s", args.command)
    for note in startup_cleanup(data_dir).notes:
        log.info("startup cleanup: %s", note)
        err(f"提示：{note}")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()  # a reader that went away is found here when the output was small
        return code
    except BrokenPipeError:
        return _closed_pipe()


EXIT_CLOSED_PIPE = 128 + 13  # what a shell reports for a standard tool ended by SIGPIPE


def _closed_pipe() -> int:
    """The reader of our output went away (``clusterdesk drafts | head -1``): end quietly, as
    standard tools do, without a message. What is still buffered goes nowhere, so Python does
    not complain about it on the way out."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for stream in (sys.stdout, sys.stderr):
            try:
                os.dup2(devnull, stream.fileno())
            except (OSError, ValueError):  # not a real file (tests' captured output)
                pass
    finally:
        os.close(devnull)
    return EXIT_CLOSED_PIPE


def _main(argv: Sequence[str] | None = None) -> int:
    from clusterdesk.errors import ClusterDeskError  # the base layer: imports nothing else

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        args.func = cmd_gui
    from clusterdesk.paths import data_dir_for, use_data_dir

    use_data_dir(data_dir_for(getattr(args, "db", None)))  # the installed forms are in its forms/
    if args.func is not cmd_gui:
        _startup(args)
    if args.func not in (cmd_gui, cmd_forms):
        from clusterdesk.model.form import default_catalog

        _bad_form_files(default_catalog())  # named, and the other forms work
    try:
        code = args.func(args)
        # A database with damaged values: what could be read was shown, but it must not pass unseen.
        return EXIT_BAD_INPUT if getattr(args, "_damage_shown", False) and code == EXIT_OK else code
    except ClusterDeskError as e:
        from clusterdesk.logs import log
        from clusterdesk.store import ValuesDamaged

        log.info("clusterdesk %s: %s", args.command, " / ".join(e.lines))
        if isinstance(e, ValuesDamaged):
            show_damage(args, e.items, e.path)
            return EXIT_BAD_INPUT
        for line in e.lines or [type(e).__name__]:
            err(line)
        if not getattr(args, "_damage_shown", False):
            _restore_hint(e, args)
        return e.exit_code
    except BrokenPipeError:
        raise  # handled by main(): a closed pipe is no error of the user's
    except OSError as e:
        from clusterdesk.fsutil import os_reason

        err(f"文件操作失败：{e.filename or ''}（{os_reason(e)}）")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except Exception:  # a bug: its traceback goes to the log and to the terminal
        from clusterdesk.logs import current_log_path, log

        log.exception("clusterdesk %s: unexpected error", args.command)
        where = current_log_path()
        err(f"程序内部错误（不是您的输入有误）。{'详情已写入日志：' + str(where) if where else ''}")
        raise


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

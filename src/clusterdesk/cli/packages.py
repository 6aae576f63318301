"""Command-line sub-commands for data packages and the district workspace.

    clusterdesk package DRAFT_ID --out FILE.cdpkg
    clusterdesk import-package FILE... [--replace | --keep-both]
    clusterdesk district compile --district NAME [--notice cq-2024] PKG_OR_DRAFT... --out DIR [--summary FILE]
    clusterdesk district list

Registered by ``clusterdesk.cli.app.REGISTERS``. Refusals print one Chinese line each and exit 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from clusterdesk.packages.package import OnDuplicate

from .kit import CliError, err, out, open_store, require_id


def _on_duplicate(args: argparse.Namespace) -> OnDuplicate:
    if getattr(args, "replace", False):
        return "replace"
    if getattr(args, "keep_both", False):
        return "keep_both"
    return "ask"


def _duplicate_lines(e: Any) -> list[str]:
    return e.lines + ["如要用数据包替换本机的草稿，请加 --replace；如要两份都保留，请加 --keep-both。"]


def _translate(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn the package and district refusals into CliError (exit 2, one line each)."""

    def run(args: argparse.Namespace) -> int:
        from clusterdesk.export.atomic import ExportError

        from clusterdesk.packages.district import CompileRefused, DistrictError, NotAClusterForm
        from clusterdesk.packages.package import DuplicatePackage, PackageError

        try:
            return fn(args)
        except CompileRefused as e:
            for line in e.lines:
                err(line)
            return 1
        except PackageError as e:
            raise CliError(*e.problems) from None
        except DuplicatePackage as e:
            raise CliError(*_duplicate_lines(e)) from None
        except NotAClusterForm as e:
            hint = [f"区县填好的“{e.form_title}”请用 --summary 指定"] if e.role == "district" else []
            raise CliError(*e.lines, *hint) from None
        except DistrictError as e:
            raise CliError(*e.lines) from None
        except ExportError as e:
            raise CliError(str(e)) from None

    return run


def cmd_package(args: argparse.Namespace) -> int:
    from clusterdesk.packages.package import SUFFIX, write_package

    target = Path(args.out)
    if target.suffix.lower() != SUFFIX:
        target = target.with_name(target.name + SUFFIX)
    with open_store(args) as store:
        path = write_package(store, require_id(args.draft_id), target, documents=not args.no_documents)
    out(str(path))
    return 0


def cmd_import_package(args: argparse.Namespace) -> int:
    from clusterdesk.packages.package import import_packages

    with open_store(args) as store:
        outcomes = import_packages(store, [Path(f) for f in args.files], on_duplicate=_on_duplicate(args))
    for outcome in outcomes:
        out(str(outcome.draft_id))
    return 0


def cmd_district(args: argparse.Namespace) -> int:
    from clusterdesk.packages.district import District, compile_district, find_districts, notice_forms

    if args.action == "list":
        with open_store(args) as store:
            for did, d in find_districts(store):
                ids = store.get_meta(did).get("clusters") or []
                out(f"{did}\t{d.notice_id}\t{d.name}\t{d.authority}\t{len(ids)} 个集群")
        return 0
    if args.notice:
        try:
            notice_forms(args.notice)
        except KeyError as e:
            raise CliError(str(e.args[0])) from None
    district = District(name=args.district.strip(), notice_id=args.notice or "", authority=args.authority or "",
                        contact=args.contact or "", phone=args.phone or "")
    with open_store(args) as store:
        result = compile_district(store, district, args.sources, Path(args.out), summary=args.summary, pdf=args.pdf,
                                  allow_draft=args.draft, on_duplicate=_on_duplicate(args))
    out(str(result.folder))
    evidence: dict[str, int] = {}
    for f in result.files:
        rel = f.relative_to(result.folder).as_posix()
        if f in result.evidence_files:
            evidence[rel.rsplit("/", 1)[0]] = evidence.get(rel.rsplit("/", 1)[0], 0) + 1
            continue
        out(f"\t{rel}")
    for where, n in evidence.items():
        out(f"\t{where}/（{n} 个佐证材料文件）")
    if result.draft_copies:
        err("以下材料仍有错误，生成的是草稿：" + "、".join(result.draft_copies))
    for m in result.messages + result.missing_evidence:
        err(f"提示：{m}")
    return 0


def register(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    sp = add("package", _translate(cmd_package), "把草稿打包为数据包（.cdpkg），交给区县主管部门导入")
    sp.add_argument("draft_id", metavar="草稿ID", help="要打包的草稿 id，见 clusterdesk drafts")
    sp.add_argument("--out", required=True, metavar="数据包", help="数据包文件（.cdpkg，不写扩展名时自动加上）")
    sp.add_argument("--no-documents", action="store_true", help="不附带导出的申报表文件")

    def duplicate_flags(p: argparse.ArgumentParser) -> None:
        g = p.add_mutually_exclusive_group()
        g.add_argument("--replace", action="store_true", help="本机已有同一草稿时，用数据包替换它")
        g.add_argument("--keep-both", action="store_true", help="本机已有同一草稿时，两份都保留")

    sp = add("import-package", _translate(cmd_import_package),
             "导入数据包（.cdpkg），每个数据包输出一行草稿 id；全部检查通过后才写入，"
             "多个数据包一起导入：要么全部导入，要么一个也不导入")
    sp.add_argument("files", nargs="+", metavar="数据包", help="数据包文件（.cdpkg），可以写多个")
    duplicate_flags(sp)
    plain_import = sub.choices.get("import")
    if plain_import is not None:  # `clusterdesk import FILE.cdpkg` does the same as import-package
        duplicate_flags(plain_import)
        from clusterdesk.packages import SUFFIX  # the light package: --help imports no form model

        plain_import.set_defaults(import_package=_translate(cmd_import_package), package_suffix=SUFFIX)

    sp = add("district", _translate(cmd_district), "区县汇总：district compile 编制报送材料；district list 列出区县工作区")
    actions = sp.add_subparsers(dest="action", metavar="操作", parser_class=type(sp))
    actions.required = True
    cp = actions.add_parser("compile", help="编制报送材料文件夹", description="编制报送材料文件夹")
    cp.add_argument("--db", metavar="数据库文件", default=argparse.SUPPRESS, help="草稿数据库文件")
    # nargs="+": with "*" argparse (before 3.12) takes an empty list when options come first
    cp.add_argument("sources", nargs="+", metavar="数据包或草稿ID", help="数据包文件或集群草稿 id（至少一个）")
    cp.add_argument("--district", required=True, metavar="区县名称", help="区县名称，例如：永川区")
    cp.add_argument("--notice", metavar="通知",
                    help="通知，例如 cq-2024、sh-2023；不写时按数据包和汇总表判断（材料分属不同通知时必须写明）")
    cp.add_argument("--out", required=True, metavar="文件夹", help="报送材料文件夹")
    cp.add_argument("--summary", metavar="汇总表",
                    help="区县填好的汇总表：clusterdesk template … --district 生成的模板（.json / .xlsx），"
                         "或汇总表草稿 id；其中填写的内容优先于自动填入的内容")
    cp.add_argument("--authority", metavar="名称", help="区（县）中小企业主管部门")
    cp.add_argument("--contact", metavar="姓名", help="联系人")
    cp.add_argument("--phone", metavar="号码", help="手机")
    cp.add_argument("--pdf", action="store_true", help="同时生成 PDF（需要 LibreOffice）")
    cp.add_argument("--draft", action="store_true", help="材料有错误时仍然生成（标注“草稿”）")
    duplicate_flags(cp)
    lp = actions.add_parser("list", help="列出区县工作区", description="列出区县工作区")
    lp.add_argument("--db", metavar="数据库文件", default=argparse.SUPPRESS, help="草稿数据库文件")

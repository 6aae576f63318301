"""``clusterdesk export (DRAFT_ID | FILE) --out DIR [--no-pdf] [--draft-copy] [--overwrite]`` and
``clusterdesk blank FORM_ID --out DIR [--no-pdf]``.

Prints every written file (one path a line, stdout); notes such as “未安装 LibreOffice，未生成 PDF”
go to stderr. A draft with errors is refused: the problems are printed one a line and the exit code
is 1. Bad input (unknown draft, unreadable file, folder that cannot be written) exits with 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable

from .kit import EXIT_BAD_INPUT, EXIT_OK, EXIT_PROBLEMS, CliError, err, open_store, out


def cmd_export(args: argparse.Namespace) -> int:
    from clusterdesk.export.api import ExportConflict, ExportRefused, export_answers, export_draft
    from clusterdesk.export.atomic import ExportError

    folder = Path(args.out)
    if folder.exists() and not folder.is_dir():
        raise CliError(f"导出位置不是文件夹：{folder}")

    def make_out() -> None:  # only once the input is known to be good
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            from clusterdesk.fsutil import os_reason

            raise CliError(f"无法创建导出文件夹：{folder}（{os_reason(e)}）") from None

    target = str(args.target)
    try:
        if target.isdigit() and not Path(target).exists():
            with open_store(args) as store:
                store.get_draft(int(target))  # an unknown id is bad input (exit 2)
                make_out()
                result = export_draft(store, int(target), folder, pdf=not args.no_pdf, draft_copy=args.draft_copy,
                                      overwrite=args.overwrite)
        else:
            from clusterdesk.model.rules import Answers
            from clusterdesk.templates import read_filled

            filled = read_filled(Path(target))
            answers = Answers(filled.form, filled.answers, filled.notes, [(k, o) for k, o, _ in filled.evidence])
            make_out()
            from clusterdesk.model.form import default_catalog

            result = export_answers(filled.form, answers, filled.evidence, filled.title, folder,
                                    pdf=not args.no_pdf, draft_copy=args.draft_copy, overwrite=args.overwrite,
                                    with_year=default_catalog().shares_title(filled.form))
    except ExportRefused as e:
        out(f"未导出：存在 {len(e.problems)} 个错误（修改后重试，或加 --draft-copy 导出草稿）")
        for p in e.problems:
            out(f"错误\t{p}")
        return EXIT_PROBLEMS
    except ExportConflict as e:
        err(f"{e}（加 --overwrite 覆盖）")
        return EXIT_BAD_INPUT
    except ExportError as e:
        err(str(e))
        return EXIT_BAD_INPUT
    return _report(result)


def _report(result: Any) -> int:
    """Every written file on stdout (one a line), the notes on stderr."""
    for f in result.files:
        out(str(f))
    for m in result.messages:
        err(f"提示：{m}")
    return EXIT_OK


def cmd_blank(args: argparse.Namespace) -> int:
    """The blank form for filling by hand: Word (and PDF with LibreOffice), no watermark, no answers."""
    from clusterdesk.export.api import export_blank
    from clusterdesk.export.atomic import ExportError
    from clusterdesk.model.form import default_catalog

    form = default_catalog().get(args.form_id)  # an unknown id: KeyError with the known ones, exit 2
    folder = Path(args.out)
    if folder.exists() and not folder.is_dir():
        raise CliError(f"导出位置不是文件夹：{folder}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CliError(f"无法创建导出文件夹：{folder}（{e.strerror or e}）") from None
    try:
        result = export_blank(form, folder, pdf=not args.no_pdf)
    except ExportError as e:
        err(str(e))
        return EXIT_BAD_INPUT
    return _report(result)


def register(subparsers: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    sp = add("export", cmd_export, "导出申报材料：打印版和可编辑版 Word、清单 Excel、PDF")
    sp.add_argument("target", metavar="草稿ID或文件", help="草稿 id，或填好的模板文件（.json / .xlsx）")
    sp.add_argument("--out", required=True, metavar="文件夹", help="导出到此文件夹（不存在时自动创建）")
    sp.add_argument("--no-pdf", action="store_true", help="不生成 PDF")
    sp.add_argument("--draft-copy", action="store_true", help="导出草稿：有错误也导出，文件带“草稿”水印")
    sp.add_argument("--overwrite", action="store_true",
                    help="覆盖文件夹中由其他草稿导出的同名文件（不加时拒绝导出，退出码 2）")
    sp = add("blank", cmd_blank, "导出空白表（供手工填写）：Word 和 PDF，无水印、不含填写内容")
    sp.add_argument("form_id", metavar="表单ID", help="表单 id（见 clusterdesk forms）")
    sp.add_argument("--out", required=True, metavar="文件夹", help="导出到此文件夹（不存在时自动创建）")
    sp.add_argument("--no-pdf", action="store_true", help="不生成 PDF")

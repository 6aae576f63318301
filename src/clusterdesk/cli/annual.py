"""``clusterdesk annual`` commands: new report from an application, targets view, next year."""

from __future__ import annotations

import argparse
from typing import Any, Callable

from .kit import CliError, out, open_store, integer


def register(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    sp = add("annual", cmd_annual, "从申报草稿新建年度报告（预填申报材料中的内容和目标）")
    sp.add_argument("draft_id", metavar="草稿ID", help="申报表草稿 id")
    sp.add_argument("--form", required=True, metavar="表单ID", help="年度报告表单，如 sh-2023-annual-report")
    sp.add_argument("--year", type=integer, metavar="年度", help="报告年度，如 2023")
    sp = add("targets", cmd_targets, "年度报告的目标完成情况（目标值、完成值、达成/未达成）")
    sp.add_argument("draft_id", metavar="草稿ID", help="年度报告草稿 id")
    sp = add("next-year", cmd_next_year, "复制为下一年度：以本年度报告为基础新建下一年度报告")
    sp.add_argument("draft_id", metavar="草稿ID", help="本年度报告的草稿 id")


def _id(text: str) -> int:
    if not str(text).isdigit():
        raise CliError(f"草稿 id 应为数字：“{text}”")
    return int(text)


def cmd_annual(args: argparse.Namespace) -> int:
    from clusterdesk.annual import AnnualError, carried, create_annual
    with open_store(args) as store:
        try:
            new_id = create_annual(store, _id(args.draft_id), args.form, args.year)
        except AnnualError as e:
            raise CliError(str(e)) from None
        out(str(new_id))
        for c in carried(store, new_id).values():
            out(f"\t{c.key}\t← {c.source}")
    return 0


def cmd_targets(args: argparse.Namespace) -> int:
    from clusterdesk.annual import achievement
    from clusterdesk.service import load_answers

    with open_store(args) as store:
        form, ans = load_answers(store, _id(args.draft_id))
    rows = achievement(form, ans)
    if not rows:
        out(f"“{form.title}”没有目标完成情况表。")
        return 0
    for a in rows:
        out(f"{a.status}\t{a}")
    return 1 if any(a.status == "未达成" for a in rows) else 0


def cmd_next_year(args: argparse.Namespace) -> int:
    from clusterdesk.annual import AnnualError, roll_over
    with open_store(args) as store:
        try:
            new_id = roll_over(store, _id(args.draft_id))
        except AnnualError as e:
            raise CliError(str(e)) from None
    out(str(new_id))
    return 0

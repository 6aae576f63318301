"""The command line's kit: what every command module uses.

A feature's command module (``cli/export.py``, ``cli/packages.py``, ``cli/annual.py``,
``cli/backup.py``) defines ``register(sub, add)``, which adds its sub-commands through ``add``, and
uses only the names here: ``out``/``err`` (a line to stdout/stderr, control characters shown as
"?"), ``open_store`` (the database of ``--db``, its damaged values named once), ``CliError`` (bad
input: one Chinese line per problem, exit code 2) and the exit codes. ``cli/app.py`` builds the
parser from the registers it lists, and runs the command.

The kit imports only the base layer at import time, so ``clusterdesk --help`` stays quick.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from clusterdesk.errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_PROBLEMS, ClusterDeskError

if TYPE_CHECKING:
    from clusterdesk.store import Store

__all__ = ["EXIT_OK", "EXIT_PROBLEMS", "EXIT_BAD_INPUT", "CliError", "Add", "Register", "safe", "out",
           "err", "open_store", "show_damage", "draft_id", "require_id", "snapshot_hint", "damage_hint",
           "integer"]


class CliError(ClusterDeskError):
    """Bad input: printed one line per problem, exit code 2."""


#: ``add(name, fn, help)``: adds a sub-command that runs ``fn(args)``, and returns its parser
Add = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]


#: ``register(sub, add)``: a feature's command module adds its sub-commands
Register = Callable[[Any, Add], None]


# Control characters from a file (terminal escapes such as \x1b]0;…\x07, C1 controls, and the
# bidi overrides that show "佐证\u202efdp.exe" as "佐证exe.pdf") must not reach the terminal of
# whoever runs the command: they are shown as "?" instead.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def safe(text: str) -> str:
    return _CONTROL.sub("?", text)


def out(text: str = "") -> None:
    sys.stdout.write(safe(text) + "\n")


def err(text: str) -> None:
    sys.stderr.write(safe(text) + "\n")


def open_store(args: argparse.Namespace) -> Store:
    """The database of ``--db`` (or the default one); its damaged values are named once."""
    from clusterdesk.store import Store

    store = Store.open(Path(args.db) if getattr(args, "db", None) else None)
    if store.damage:
        show_damage(args, store.damage, store.path)
    return store


def show_damage(args: argparse.Namespace, items: list[Any], path: Path | None) -> None:
    """Name the damaged values once per command; reading goes on where it can, every write is
    refused until restore or repair, and the command ends with exit code 2."""
    if getattr(args, "_damage_shown", False):
        return
    for item in items:
        err(item.message())
    err("为避免损坏扩散，程序已停止保存。")
    if path is not None:
        damage_hint(path)
    args._damage_shown = True


def draft_id(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def require_id(text: str) -> int:
    did = draft_id(str(text))
    if did is None:
        raise CliError(f"草稿 id 应为数字：“{text}”")
    return did


def snapshot_hint(path: Path) -> None:
    from datetime import datetime

    from clusterdesk.store import Store

    snaps = Store.snapshots_of(path)
    if snaps:
        try:
            when = f"（保存于 {datetime.fromtimestamp(snaps[0].stat().st_mtime):%Y-%m-%d %H:%M}）"
        except OSError:
            when = ""
        err(f"找到最近的自动快照：{snaps[0]}{when}")
        err(f"可以用它恢复（恢复前会先备份当前文件）：clusterdesk --db \"{path}\" restore \"{snaps[0]}\"")


def damage_hint(path: Path) -> None:
    snapshot_hint(path)
    err(f"或者接受损坏后继续（损坏的内容另存为文字，相应栏目清空）：clusterdesk --db \"{path}\" repair")


def integer(text: str) -> int:
    """An argparse type for whole numbers, named in Chinese in argparse's message."""
    return int(text)


integer.__name__ = "整数"

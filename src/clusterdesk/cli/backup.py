"""``clusterdesk backup``, ``restore`` and ``repair``: copy the database out, put a copy back, and
accept damage so work can go on.

Both are thin layers over :meth:`Store.backup` (SQLite's online backup API, so a running GUI
may keep working) and :meth:`Store.restore` (which checks the file's integrity, schema version
and application id before anything is replaced, and snapshots the current database first).

The command line asks no questions: ``restore`` replaces the database at once and prints what
it replaced and where the snapshot of the previous state is, so it can be undone with another
``restore``. A damaged or foreign file is refused with one Chinese line on stderr and exit code 2;
the database is left exactly as it was.

``repair`` is how a user accepts damage instead of restoring: damaged stored values are cleared
and their text kept aside (``Store.accept_damage``, after a snapshot that is never rotated away);
a database file that cannot be used at all (empty, damaged, not ours) is kept under a new name
beside it and a new, empty database is started (``Store.set_aside``).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
from pathlib import Path
from typing import Any, Callable

from .kit import CliError, out


def register(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    sp = add("backup", cmd_backup, "把数据库备份到一个文件（备份位置为文件夹时自动命名），输出备份文件路径")
    sp.add_argument("out", metavar="备份位置", help="备份文件或文件夹")
    sp.add_argument("--force", action="store_true", help="备份文件已存在时覆盖它")
    sp = add("restore", cmd_restore, "用备份文件替换数据库（替换前自动为当前数据库保存快照）")
    sp.add_argument("file", metavar="备份文件", help="备份文件（.sqlite3）")
    add("repair", cmd_repair, "接受数据库的损坏后继续使用：损坏的内容另存为文字并清空相应栏目；"
        "整个文件无法使用时把它改名保留并新建空数据库（修复前自动保存快照）")


def _db_path(args: argparse.Namespace) -> Path:
    from clusterdesk.store import default_db_path

    return Path(args.db).expanduser().absolute() if getattr(args, "db", None) else default_db_path()


def _count_drafts(path: Path) -> int | None:
    """How many drafts a database file holds (read-only; None if it cannot be read)."""
    try:
        conn = sqlite3.connect(path.absolute().as_uri() + "?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        return int(conn.execute("SELECT count(*) FROM draft").fetchone()[0])
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def _snapshot_files(db_path: Path) -> set[Path]:
    folder = db_path.parent / "snapshots"
    try:
        return {folder / e.name for e in os.scandir(folder) if e.is_file() and e.name.endswith(".sqlite3")}
    except OSError:
        return set()


def cmd_backup(args: argparse.Namespace) -> int:
    from clusterdesk.store import Store

    db = _db_path(args)
    if not db.exists():
        raise CliError(f"没有可备份的数据库：{db}")
    target = Path(args.out).expanduser()
    if target.exists() and not target.is_dir() and not args.force:
        raise CliError(f"备份文件已存在：{target}（如需覆盖，请加 --force）")
    with Store.open(db) as store:
        written = store.backup(target)
    out(str(written))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from clusterdesk.store import Store

    db = _db_path(args)
    backup = Path(args.file).expanduser()
    if not backup.exists():
        raise CliError(f"找不到备份文件：{backup}")
    existed = db.exists()
    before_snaps = _snapshot_files(db)
    Store.restore(db, backup)  # raises (nothing replaced) on a damaged or foreign file
    new_snaps = sorted(_snapshot_files(db) - before_snaps)
    # Counted from the snapshot (a copy of the replaced state), so a refused file never gets
    # as much as a read-only connection (which would leave -wal/-shm files behind in WAL mode).
    before_count = _count_drafts(new_snaps[-1]) if new_snaps else None
    after_count = _count_drafts(db)

    if not existed:
        out(f"已创建数据库：{db}")
    elif before_count is None:
        out(f"已替换数据库：{db}（原数据库无法读取）")
    else:
        out(f"已替换数据库：{db}（原有 {before_count} 份草稿）")
    out(f"恢复自备份：{backup.absolute()}" + (f"（{after_count} 份草稿）" if after_count is not None else ""))
    if new_snaps:
        out(f"恢复前的数据库已保存为快照：{new_snaps[-1]}")
        out(f"如需撤销本次恢复：clusterdesk restore \"{new_snaps[-1]}\" --db \"{db}\"")
    return 0


def cmd_repair(args: argparse.Namespace) -> int:
    from clusterdesk.store import DatabaseDamaged, DatabaseTooNew, Store

    db = _db_path(args)
    if not db.exists() and not db.is_symlink():
        raise CliError(f"没有数据库文件，无需修复：{db}")
    try:
        store = Store.open(db)
    except DatabaseTooNew:
        raise
    except DatabaseDamaged as e:
        kept = Store.set_aside(db)
        Store.open(db).close()
        out(f"原数据库文件无法使用：{e}")
        out(f"已把它改名保留为：{kept}")
        out(f"已新建空数据库：{db}")
        snaps = Store.snapshots_of(db)
        if snaps:
            out(f"如需找回快照中的内容：clusterdesk --db \"{db}\" restore \"{snaps[0]}\"")
        return 0
    with store:
        if not store.damage:
            out(f"数据库完好，没有需要修复的内容：{db}")
            return 0
        for line in store.accept_damage().lines():
            out(line)
        out("已接受损坏，可以继续保存。")
    return 0

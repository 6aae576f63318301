"""The settings file beside a database: ``<database name>.settings.json`` (``clusterdesk.settings.json``
beside ``clusterdesk.sqlite3``). It holds what the windows remember (sizes, folders, the first-run
mark, the list's order). A file that cannot be read counts as empty; one that cannot be written
only means the windows forget. No Qt here: the windows (winstate, firstrun) read and write it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from clusterdesk.fsutil import write_atomic


def settings_path_for(db_path: Path | str) -> Path:
    db_path = Path(db_path)
    return db_path.with_name(db_path.stem + ".settings.json")


def load_settings(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_settings(path: Path, data: dict[str, Any]) -> bool:
    """Write atomically (temp file + replace); False if the folder is not writable."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"), durable=False)
    except OSError:
        return False
    return True

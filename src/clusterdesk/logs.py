"""The program's log: a rotating file beside the database, ``日志/clusterdesk.log``.

It holds what a user can send when something went wrong: the commands run, each error shown to the
user (its Chinese lines) and every unexpected error with its traceback. It never holds form
answers. The 关于 window names the file, and the crash dialog shows it. Three files of 1 MB at
most (``clusterdesk.log``, ``.1``, ``.2``): the log never fills a disk.

Part of the base layer: it imports nothing of the program.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

LOG_DIR_NAME = "日志"
LOG_FILE_NAME = "clusterdesk.log"
MAX_BYTES = 1_000_000
BACKUPS = 2
LOGGER_NAME = "clusterdesk"

log = logging.getLogger(LOGGER_NAME)


class _LazyRotatingHandler(logging.handlers.RotatingFileHandler):
    """Makes the log folder when the first line is written, not before: a command that logs nothing
    leaves the data folder as it was."""

    def _open(self):  # type: ignore[no-untyped-def]
        path = Path(self.baseFilename)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        stream = super()._open()
        try:  # the user's own, like the database beside it (the log names drafts and folders)
            os.chmod(path, 0o600)
        except OSError:
            pass
        return stream

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's API
        """A log that cannot be written (a read-only or full data folder) is no error of the
        user's: the program says nothing about it and goes on."""


def log_path(data_dir: Path) -> Path:
    """Where the log of the data folder ``data_dir`` (the database's folder) is written."""
    return Path(data_dir) / LOG_DIR_NAME / LOG_FILE_NAME


def setup_logging(data_dir: Path) -> Path | None:
    """Send the program's log to ``data_dir``'s log file (made with the first line). Returns its
    path. A folder that cannot be written only means no log (logging reports nothing to the user).
    Calling it again for another folder moves the log there."""
    path = log_path(data_dir)
    for handler in list(log.handlers):
        if getattr(handler, "_clusterdesk", False):
            if Path(getattr(handler, "baseFilename", "")) == path.absolute():
                return path
            log.removeHandler(handler)
            handler.close()
    try:
        handler = _LazyRotatingHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True)
    except OSError:
        return None
    handler._clusterdesk = True  # type: ignore[attr-defined]  # ours, replaced by the next call
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False  # the log file only: nothing on the user's terminal
    return path


def current_log_path() -> Path | None:
    """The file the log goes to now, if any."""
    for handler in log.handlers:
        if getattr(handler, "_clusterdesk", False):
            return Path(handler.baseFilename)  # type: ignore[attr-defined]
    return None

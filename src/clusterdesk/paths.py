"""Where the program finds its own files (forms, resources, demo data), in a source
checkout and in a PyInstaller bundle alike."""

from __future__ import annotations

import os
import sys
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def app_root() -> Path:
    """The folder that holds ``forms/``, ``resources/`` and ``demo/``."""
    env = os.environ.get("CLUSTERDESK_HOME")
    if env:
        return Path(env)
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen)
    # src/clusterdesk -> repository root
    return _PKG.parent.parent


def forms_dir() -> Path:
    """The shipped forms (``CLUSTERDESK_FORMS`` points elsewhere, for tests)."""
    return Path(os.environ.get("CLUSTERDESK_FORMS", app_root() / "forms"))


#: The data folder in use (the folder of the database), set by the command line and the GUI
#: once they know which database they open; None in a library use that never said.
_data_dir: Path | None = None

USER_FORMS = "forms"


def use_data_dir(folder: Path | str | None) -> None:
    """The data folder the program works in: the folder of ``--db``, or the default one. The
    forms the user installed are in its ``forms/`` folder."""
    global _data_dir
    _data_dir = Path(os.path.abspath(os.path.expanduser(os.fspath(folder)))) if folder is not None else None


def data_dir_for(db: Path | str | None) -> Path:
    """The data folder of a database path (``--db``), or the default data folder."""
    if db:
        return Path(os.path.abspath(os.path.expanduser(os.fspath(db)))).parent
    return default_db_path().parent


APP_DIR_NAME = "ClusterDesk"
DB_FILE_NAME = "clusterdesk.sqlite3"


def default_db_path() -> Path:
    """Where the app keeps its database unless told otherwise (the user's data folder)."""
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_DIR_NAME, appauthor=False)) / DB_FILE_NAME


def user_forms_dir() -> Path | None:
    """Where the forms the user installed live: ``forms/`` beside the database (in the data folder
    of platformdirs, or the folder of ``--db``). None until the program said which data folder it
    uses (:func:`use_data_dir`)."""
    return _data_dir / USER_FORMS if _data_dir is not None else None


def resources_dir() -> Path:
    return app_root() / "resources"


def demo_dir() -> Path:
    return app_root() / "demo"

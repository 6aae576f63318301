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
    return Path(os.environ.get("CLUSTERDESK_FORMS", app_root() / "forms"))


def resources_dir() -> Path:
    return app_root() / "resources"


def demo_dir() -> Path:
    return app_root() / "demo"

"""Data packages (``.cdpkg``) carried from a cluster's offline PC to the district, and the
district workspace that gathers them, checks the notice's cap, fills the summary table and
compiles the submission folder.

Qt-free: the GUI (``clusterdesk.ui.district``) and the command line (``clusterdesk.packages.cli``)
are thin layers over these functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

SUFFIX = ".cdpkg"  # a data package's file name ends so

if TYPE_CHECKING:
    from .package import (
        FORMAT,
        FORMAT_VERSION,
        MAX_TOTAL_BYTES,
        DuplicatePackage,
        ImportOutcome,
        PackageContents,
        PackageError,
        SnapshotOnce,
        import_package,
        import_packages,
        read_package,
        write_package,
    )

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MAX_TOTAL_BYTES",
    "DuplicatePackage",
    "ImportOutcome",
    "PackageContents",
    "PackageError",
    "SnapshotOnce",
    "import_package",
    "import_packages",
    "read_package",
    "write_package",
]


def __getattr__(name: str) -> Any:
    """The names above, from ``.package`` when first asked for: the command line imports this
    package to register its sub-commands, and ``clusterdesk --help`` must not wait for the
    package format (and the store and forms it imports)."""
    if name in __all__:
        from . import package

        return getattr(package, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

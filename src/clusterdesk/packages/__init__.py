"""Data packages (``.cdpkg``) carried from a cluster's offline PC to the district, and the
district workspace that gathers them, checks the notice's cap, fills the summary table and
compiles the submission folder.

Qt-free: the GUI (``clusterdesk.ui.district``) and the command line (``clusterdesk.packages.cli``)
are thin layers over these functions.
"""

from __future__ import annotations

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

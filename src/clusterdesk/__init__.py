"""ClusterDesk (集群申报助手): fills, checks and exports SME characteristic industrial cluster forms.

The core (model, rules, store, export, packages, command line) imports no Qt; the UI lives in
``clusterdesk.ui`` and is a thin layer over it.
"""

from importlib import metadata as _md

try:
    __version__ = _md.version("clusterdesk")
except _md.PackageNotFoundError:  # running from a bundle without metadata
    __version__ = "0.1.0"

APP_NAME = "集群申报助手"

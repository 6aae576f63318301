"""ClusterDesk (集群申报助手): fills, checks and exports SME characteristic industrial cluster forms.

The core (model, rules, store, export, packages, command line) imports no Qt; the UI lives in
``clusterdesk.ui`` and is a thin layer over it.
"""

# The one place the version is written: pyproject.toml reads it from here (setuptools' dynamic
# version), and every start reads it without asking importlib.metadata (which costs a start of
# the command line more than the rest of ``clusterdesk --help``).
__version__ = "0.1.0"

APP_NAME = "集群申报助手"

"""The ``clusterdesk`` command line: the same core functions the GUI calls.

``app`` builds the parser and runs a command; ``kit`` is what every command module uses; ``export``,
``packages``, ``annual`` and ``backup`` each register their sub-commands. Entry point: :func:`main`.
"""

from .app import EXIT_CLOSED_PIPE, build_parser, main

__all__ = ["main", "build_parser", "EXIT_CLOSED_PIPE"]

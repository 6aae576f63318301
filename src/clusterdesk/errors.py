"""The one error hierarchy: every error a user can cause or meet is a :class:`ClusterDeskError`.

It carries its message in Chinese, one line per problem (``lines``; ``str()`` joins them), and the
exit code the command line ends with (``exit_code``). Each part of the program has its own
subclass (``StoreError``, ``TemplateError``, ``PackageError``, ``ExportError`` …), so a caller can
catch what it can handle and let the rest reach the command line or the window, which show
``lines`` and nothing else. Anything that is not a ``ClusterDeskError`` is a bug: the command line
lets it end with a traceback and the window shows the crash dialog; both write it to the log.

This module is part of the base layer: it imports nothing of the program.
"""

from __future__ import annotations

from collections.abc import Iterable

EXIT_OK, EXIT_PROBLEMS, EXIT_BAD_INPUT = 0, 1, 2


def _flatten(parts: Iterable[object]) -> list[str]:
    out: list[str] = []
    for part in parts:
        if isinstance(part, (list, tuple)):
            out.extend(_flatten(part))
        elif part is not None:
            out.extend(str(part).splitlines() or [""])
    return [line for line in out if line.strip()]


class ClusterDeskError(Exception):
    """Base of every error meant for the user. ``ClusterDeskError("第一行", ["第二行", "第三行"])``:
    each argument is a line or a list of lines (a multi-line string counts line by line)."""

    #: what ``clusterdesk`` returns when this error ends a command: 2, bad input or a refused file
    exit_code: int = EXIT_BAD_INPUT

    def __init__(self, *lines: object) -> None:
        self.lines: list[str] = _flatten(lines)
        super().__init__("\n".join(self.lines))

    def __str__(self) -> str:  # also for subclasses of KeyError, whose own str() is a repr
        return "\n".join(self.lines)


class NotFound(ClusterDeskError, KeyError):
    """Something the user named does not exist (a form id, a notice, a draft). It is a KeyError
    too, for the code that looks things up; but only this class is the user's input: a plain
    ``KeyError`` is a bug."""

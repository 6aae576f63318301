"""Whether the window can open here, asked before Qt is loaded.

Qt ends the whole process (abort, exit code 134, English messages) when it finds no display to
draw on, so ``clusterdesk`` without arguments asks first and explains in Chinese instead. No Qt
import in this module.
"""

from __future__ import annotations

import os
import sys
from typing import Mapping


def no_display_lines(why: str) -> list[str]:
    """What the user reads (one line each on stderr, exit code 2); ``why`` says what was found."""
    return [
        f"集群申报助手的窗口需要图形桌面，但这台电脑当前没有可用的显示（{why}）。",
        "请在桌面环境中启动；没有桌面时可以使用命令行，例如：clusterdesk drafts、clusterdesk export，"
        "全部命令见 clusterdesk --help。",
    ]


def display_problem(environ: Mapping[str, str] | None = None, platform: str | None = None) -> list[str]:
    """The lines to print when the window cannot open here, or [] when it can."""
    if missing_display(environ, platform):
        return no_display_lines("未设置 DISPLAY 或 WAYLAND_DISPLAY")
    return []


def missing_display(environ: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """True where Qt would find no display: on Linux and other X11/Wayland systems with neither
    DISPLAY nor WAYLAND_DISPLAY set and no platform chosen through QT_QPA_PLATFORM (offscreen,
    vnc …). Windows and macOS always have one."""
    env = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if platform.startswith("win") or platform == "darwin":
        return False
    if env.get("QT_QPA_PLATFORM"):
        return False
    return not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))

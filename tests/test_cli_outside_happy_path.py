"""A newcomer's first hour with the command line, outside the happy path (issue 14).

- no display: ``clusterdesk`` without arguments explains in Chinese and exits 2, never aborts.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cd_support import ENV

from clusterdesk.ui.display import missing_display



def no_display_env() -> dict[str, str]:
    return {k: v for k, v in ENV.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}


def gui(db: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "clusterdesk", "--db", str(db)], capture_output=True, text=True,
                          encoding="utf-8", env=env, timeout=120)


# -- no display ------------------------------------------------------------------------------


def test_without_a_display_the_program_says_so_in_chinese_and_exits_2(tmp_path):
    db = tmp_path / "d.db"
    p = gui(db, no_display_env())
    assert p.returncode == 2, (p.returncode, p.stderr)  # not 134 (abort)
    assert p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 2, p.stderr
    assert "窗口需要图形桌面" in lines[0] and "未设置 DISPLAY 或 WAYLAND_DISPLAY" in lines[0]
    assert "命令行" in lines[1] and "clusterdesk --help" in lines[1]
    assert "qt." not in p.stderr and "Traceback" not in p.stderr
    assert not db.exists()  # nothing was opened or created


def test_a_display_that_answers_nobody_gets_the_same_message_instead_of_qts_abort(tmp_path):
    """DISPLAY is set but no X server listens there: Qt's platform plugin fails, and the
    program ends with the Chinese message and exit 2 instead of Qt's English abort."""
    free = next(n for n in range(97, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    p = gui(tmp_path / "d.db", dict(no_display_env(), DISPLAY=f":{free}"))
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert f"无法连接显示“:{free}”" in p.stderr and "命令行" in p.stderr
    assert "qt.qpa" not in p.stderr and "xcb-cursor0" not in p.stderr and "Aborted" not in p.stderr


@pytest.mark.parametrize(("env", "platform", "missing"), [
    ({}, "linux", True),
    ({"DISPLAY": ":0"}, "linux", False),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux", False),
    ({"DISPLAY": ""}, "linux", True),
    ({}, "win32", False),
    ({}, "darwin", False),
])
def test_missing_display_rule(env, platform, missing):
    assert missing_display(env, platform) is missing

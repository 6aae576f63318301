"""A newcomer's first hour with the command line, outside the happy path (issue 14).

- no display: ``clusterdesk`` without arguments explains in Chinese and exits 2, never aborts;
- a closed pipe (``… | head -1``) ends the program quietly;
- ``import FILE.cdpkg`` imports the data package as ``import-package`` does;
- every ``--help`` page and argparse's own error lines are Chinese, every option is described;
- error details are Chinese: the JSON parser's, the system's file errors.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from cd_support import DEMO, ENV
from cd_support import run_cli as run

from clusterdesk import cli
from clusterdesk.ui.display import missing_display

CQ_DEMO = DEMO / "cq-2024-application.json"
CJK = re.compile("[\u4e00-\u9fff]")


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


# -- pipes -----------------------------------------------------------------------------------


def test_a_pipe_closed_before_any_output_ends_the_program_quietly(tmp_path):
    """The reader is gone before the first line: exit 141 (128 + SIGPIPE, what a shell
    reports for a standard tool in the same place), nothing on stderr."""
    for args in (["eligibility", str(CQ_DEMO)], ["--help"], ["forms"]):
        r, w = os.pipe()
        os.close(r)
        try:
            p = subprocess.run([sys.executable, "-m", "clusterdesk", "--db", str(tmp_path / "d.db"), *args],
                               stdout=w, stderr=subprocess.PIPE, env=ENV, timeout=180)
        finally:
            os.close(w)
        assert p.returncode == cli.EXIT_CLOSED_PIPE, (args, p.stderr.decode("utf-8", "replace"))
        assert p.stderr == b"", args


def test_head_1_gets_the_first_line_and_nothing_is_printed_on_stderr(tmp_path):
    full = run("eligibility", str(CQ_DEMO), db=tmp_path / "d.db")
    assert full.returncode == 0 and len(full.stdout.splitlines()) > 10
    cmd = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "clusterdesk", "--db", str(tmp_path / "d.db"),
                                             "eligibility", str(CQ_DEMO)])
    for _ in range(3):
        p = subprocess.run(["sh", "-c", f"{cmd} | head -1"], capture_output=True, text=True, encoding="utf-8",
                           env=ENV, timeout=180)
        assert p.returncode == 0
        assert p.stdout == full.stdout.splitlines(keepends=True)[0]
        assert p.stderr == ""


# -- import of a data package -----------------------------------------------------------------


def test_import_takes_a_data_package_as_import_package_does(tmp_path):
    office, district = tmp_path / "office.db", tmp_path / "district.db"
    did = run("import", str(CQ_DEMO), db=office).stdout.strip()
    pkg = tmp_path / "永川.cdpkg"
    assert run("package", did, "--out", str(pkg), "--no-documents", db=office).returncode == 0

    p = run("import", str(pkg), db=district)
    assert p.returncode == 0, p.stderr
    new_id = p.stdout.strip()
    assert new_id.isdigit()
    theirs = json.loads(run("dump", did, db=office).stdout)
    ours = json.loads(run("dump", new_id, db=district).stdout)
    assert ours["answers"] == theirs["answers"] and ours["title"] == theirs["title"]

    again = run("import", str(pkg), db=district)  # the same draft again: asked, as import-package asks
    assert again.returncode == 2 and "--keep-both" in again.stderr and "Traceback" not in again.stderr
    both = run("import", str(pkg), "--keep-both", db=district)
    assert both.returncode == 0
    listed = [line.split("\t")[0] for line in run("drafts", db=district).stdout.splitlines()]
    assert sorted(listed) == sorted([new_id, both.stdout.strip()])


# -- help and argparse's own lines --------------------------------------------------------------


def _parsers() -> list[tuple[list[str], argparse.ArgumentParser]]:
    out = []

    def walk(path: list[str], p: argparse.ArgumentParser) -> None:
        out.append((path, p))
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for name, sp in a.choices.items():
                    walk(path + [name], sp)

    walk([], cli.build_parser())
    return out


def _english_sentences(text: str, words: set[str]) -> list[str]:
    """Runs of two or more English words, once option names, command names and the program's
    own words (clusterdesk, list, check …) are taken out."""
    text = re.sub(r"(?<![\w-])--?[A-Za-z][\w-]*", " ", text)
    for w in sorted(words, key=len, reverse=True):
        text = re.sub(rf"(?<![\w-]){re.escape(w)}(?![\w-])", " ", text)
    return re.findall(r"[A-Za-z]{2,}(?:[ ,.'][A-Za-z]{2,})+", text)


def test_every_help_page_is_chinese_and_every_option_is_described(capsys):
    parsers = _parsers()
    assert len(parsers) > 15
    commands = {name for path, _ in parsers for name in path} | {"clusterdesk", "list", "check"}
    allowed = commands | {"JSON", "Word", "Excel", "PDF", "LibreOffice", "id", "json", "xlsx", "yaml", "cdpkg", "sqlite3"}
    for path, parser in parsers:
        for a in parser._actions:
            if a.help == argparse.SUPPRESS or isinstance(a, argparse._SubParsersAction):
                continue
            assert a.help and CJK.search(a.help), (path, a.option_strings or a.dest)
            assert a.metavar is None or not str(a.metavar).isascii() or a.choices, (path, a.metavar)
            if not a.option_strings and a.metavar is None:
                pytest.fail(f"{path}: positional {a.dest} is shown by its code name")
        with pytest.raises(SystemExit) as ex:
            cli.main([*path, "--help"])
        assert ex.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith("用法：clusterdesk"), (path, out[:40])
        assert "\n选项：\n" in out and "-h, --help" in out and "显示此帮助信息并退出" in out
        assert "usage" not in out and "options:" not in out and "positional arguments" not in out
        assert not _english_sentences(out, allowed), (path, _english_sentences(out, allowed))
    top = [p for path, p in parsers if not path][0].format_help()
    assert "位置参数：" in top and "显示程序版本号并退出" in top


@pytest.mark.parametrize(("argv", "expected"), [
    (["template"], "错误：缺少必需的参数：表单ID, --out"),
    (["forms", "bogus"], "错误：参数 list|check|install：无效的选项：'bogus'"),
    (["nosuch"], "错误：参数 命令：无效的选项：'nosuch'"),
    (["--nosuch"], "错误：无法识别的参数：--nosuch"),
    (["export", "1", "--out"], "错误：参数 --out：需要一个值"),
    (["import", "x.cdpkg", "--replace", "--keep-both"], "错误：参数 --keep-both：不能与参数 --replace 同时使用"),
    (["annual", "1", "--form", "sh-2023-annual-report", "--year", "二〇二三"], "错误：参数 --year：无效的值：'二〇二三'（应为整数）"),
])
def test_argparse_error_lines_are_chinese(capsys, argv, expected):
    with pytest.raises(SystemExit) as ex:
        cli.main(argv)
    assert ex.value.code == 2
    err = capsys.readouterr().err
    usage, message = err.strip().splitlines()[0], err.strip().splitlines()[-1]
    assert usage.startswith("用法：clusterdesk")
    assert message.startswith("clusterdesk") and expected in message
    words = {"clusterdesk", "template", "forms", "export", "import", "annual", "list", "check", "nosuch", "bogus"}
    assert not _english_sentences(err, words), err


def test_argparse_is_left_as_it_was_for_other_code():
    import gettext

    with pytest.raises(SystemExit):
        cli.main(["--nosuch"])
    assert argparse._ is gettext.gettext and argparse.ngettext is gettext.ngettext  # type: ignore[attr-defined]
    assert "len" not in vars(argparse)
    assert "usage: " in argparse.ArgumentParser(prog="x").format_usage()


# -- error details -------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("填报.json", '{\n  "form": "cq-2024-application",\n  "answers": {"a": 1 "b": 2}\n}', "不是有效的 JSON（第3行第22列：缺少逗号"),
    ("填报.json", '{"form": "cq-2024-application", "answers": {"a" 1}}', "不是有效的 JSON（第1行第49列：缺少冒号"),
    ("填报.json", '{"form": "cq-2024-application",}', "不是有效的 JSON（第1行第32列：此处应为用英文双引号括起的名称"),
    ("填报.json", '{"form": }', "不是有效的 JSON（第1行第10列：缺少值"),
    ("填报.json", '{"form": "cq-2024', "不是有效的 JSON（第1行第10列：文字没有结束的双引号"),
    ("填报.json", '{"form": "a\\qb"}', "不是有效的 JSON（第1行第12列：无效的反斜杠转义"),
    ("填报.json", '{"form": "x"} {}', "不是有效的 JSON（第1行第15列：内容结束后还有多余的字符"),
    # forms check on a malformed definition: the form author reads what is wrong in Chinese too
    ("表单.yaml", "id: x\nversion: 1\n  bad: : x\n", " YAML 格式错误 第 3 行：此处不能写“名称: 值”"),
    ("表单.yaml", "id: [x\n", " YAML 格式错误 第 2 行：方括号列表没有正确结束"),
    ("表单.yaml", "id: x\n\tversion: 1\n", " YAML 格式错误 第 2 行：不能用 Tab 缩进，请用空格"),
    ("表单.yaml", 'id: "x\n', " YAML 格式错误 第 2 行：文件意外结束"),
    ("表单.yaml", "a:\n  - 1\n - 2\n", " YAML 格式错误 第 3 行：缩进不一致"),
    ("表单.yaml", "a: &x [1, 2]\nb: *x\n", " 不能使用 YAML 别名（*名称），请把内容直接写出"),
])
def test_the_parsers_detail_is_chinese(tmp_path, name, text, expected):
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    command = ["validate"] if name.endswith(".json") else ["forms", "check"]
    p = run(*command, str(f), db=tmp_path / "d.db")
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.strip().startswith(f"{name}：{expected}" if name.endswith(".json") else f"{name}:{expected}"), p.stderr
    assert not re.search(r"[A-Za-z]{3,}", re.sub("JSON|json|YAML|yaml|Tab", "", p.stderr)), p.stderr


def test_file_errors_are_explained_in_chinese(tmp_path):
    (tmp_path / "材料").mkdir()
    folder = run("import", str(tmp_path / "材料"), db=tmp_path / "d.db")
    assert folder.returncode == 2 and "不是普通文件（是文件夹）" in folder.stderr
    nowhere = run("template", "cq-2024-application", "--out", str(tmp_path / "无此文件夹" / "t.json"), db=tmp_path / "d.db")
    assert nowhere.returncode == 2 and "Traceback" not in nowhere.stderr and "文件夹不存在" in nowhere.stderr
    missing = run("forms", "check", str(tmp_path / "无此表单.yaml"), db=tmp_path / "d.db")
    assert missing.returncode == 2 and "（文件或文件夹不存在）" in missing.stderr
    for p in (folder, nowhere, missing):
        assert not re.search(r"[A-Za-z]{3,}", re.sub(r"/\S*|\.(json|yaml)", "", p.stderr)), p.stderr

"""One error hierarchy, a KeyError that is a bug again, the log file, and the draft operations of
the service layer (the start window and scripts call the same functions)."""

from __future__ import annotations

import json
import os
import logging

import pytest

from clusterdesk.cli import main
from clusterdesk.errors import ClusterDeskError, NotFound
from clusterdesk.logs import LOG_DIR_NAME, LOG_FILE_NAME, log, setup_logging


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_every_error_meant_for_the_user_is_one_kind_with_lines_and_an_exit_code():
    from clusterdesk.annual.engine import AnnualError
    from clusterdesk.cli.kit import CliError
    from clusterdesk.evidence_types import EvidenceTypeError
    from clusterdesk.export.atomic import ExportError
    from clusterdesk.model.form import FormDefinitionError
    from clusterdesk.packages.district import DistrictError
    from clusterdesk.packages.package import PackageError
    from clusterdesk.service import InputError
    from clusterdesk.store import StoreError
    from clusterdesk.templates import TemplateError

    made = [AnnualError("第一行"), CliError("第一行", "第二行"), EvidenceTypeError("第一行"), ExportError("第一行\n第二行"),
            FormDefinitionError(["第一行", "第二行"]), DistrictError("第一行", "第二行"), PackageError(["第一行"]),
            InputError("第一行"), StoreError("第一行"), TemplateError(["第一行", "第二行"])]
    for e in made:
        assert isinstance(e, ClusterDeskError), type(e)
        assert e.lines[0] == "第一行" and all(isinstance(x, str) for x in e.lines)
        assert str(e) == "\n".join(e.lines)
        assert e.exit_code == 2


def test_an_unknown_form_is_the_users_input_named_in_chinese(capsys, tmp_path):
    code, out, err = run(capsys, "--db", str(tmp_path / "d.sqlite3"), "template", "no-such-form",
                         "--out", str(tmp_path / "t.json"))
    assert code == 2
    assert err.startswith("未知的表单“no-such-form”，可用的表单有：cq-2024-application")
    assert "Traceback" not in err and "KeyError" not in err
    with pytest.raises(KeyError):  # still a KeyError for the code that looks forms up
        from clusterdesk.model.form import default_catalog

        default_catalog().get("no-such-form")
    assert issubclass(NotFound, KeyError)


def test_a_plain_key_error_is_a_bug_logged_with_its_traceback_not_bad_input(capsys, tmp_path, monkeypatch):
    from clusterdesk.cli import app

    def broken(args):
        return {}["missing"]  # a bug in a command

    monkeypatch.setattr(app, "cmd_drafts", broken)
    db = tmp_path / "d.sqlite3"
    with pytest.raises(KeyError):
        main(["--db", str(db), "drafts"])
    err = capsys.readouterr().err
    logged = (tmp_path / LOG_DIR_NAME / LOG_FILE_NAME).read_text(encoding="utf-8")
    assert "程序内部错误（不是您的输入有误）" in err and str(tmp_path / LOG_DIR_NAME / LOG_FILE_NAME) in err
    assert "Traceback (most recent call last)" in logged and "KeyError: 'missing'" in logged


def test_the_log_names_commands_and_errors_but_never_holds_answers(capsys, tmp_path, demo_answers):
    db = tmp_path / "d.sqlite3"
    filled = tmp_path / "填好的.json"
    filled.write_text(json.dumps({"form": "cq-2024-application", "version": 1, "answers": demo_answers},
                                 ensure_ascii=False), encoding="utf-8")
    code, out, _ = run(capsys, "--db", str(db), "import", str(filled))
    assert code == 0
    code, _, err = run(capsys, "--db", str(db), "dump", "99")
    assert code == 2 and "草稿 99 不存在" in err
    logged = (tmp_path / LOG_DIR_NAME / LOG_FILE_NAME).read_text(encoding="utf-8")
    assert "clusterdesk import" in logged and "clusterdesk dump: 草稿 99 不存在" in logged
    for value in (demo_answers["cover.cluster_name"], demo_answers.get("basic.intro", "")):
        if isinstance(value, str) and value:
            assert value not in logged


def test_the_log_is_bounded_to_three_files_of_one_megabyte(tmp_path):
    path = setup_logging(tmp_path)
    assert path == tmp_path / LOG_DIR_NAME / LOG_FILE_NAME
    try:
        for i in range(12_000):
            log.info("line %d %s", i, "记" * 100)
        for handler in log.handlers:
            handler.flush()
        files = sorted(p.name for p in path.parent.iterdir())
        assert files == [LOG_FILE_NAME, LOG_FILE_NAME + ".1", LOG_FILE_NAME + ".2"]
        assert all(p.stat().st_size <= 1_000_000 + 1_000 for p in path.parent.iterdir())
        if os.name == "posix":  # the user's own, rotated files too: not readable by other accounts
            assert {oct(p.stat().st_mode & 0o777) for p in path.parent.iterdir()} == {oct(0o600)}
    finally:
        for handler in list(log.handlers):
            log.removeHandler(handler)
            handler.close()
    assert logging.getLogger("clusterdesk").handlers == []


def test_rename_through_the_service_keeps_name_and_field_together(store, catalog):
    from clusterdesk.model.values import MAX_TEXT
    from clusterdesk.service import InputError, create_draft, delete_draft, duplicate_draft, rename_draft

    form = catalog.get("cq-2024-application")
    key = form.form.title_field
    info = create_draft(store, form, "草稿")
    renamed = rename_draft(store, info.id, "  重庆市中小企业特色产业集群（新名产业）  ")
    assert renamed.title == "重庆市中小企业特色产业集群（新名产业）"
    assert store.get_answers(info.id)[key] == renamed.title
    with pytest.raises(InputError, match="草稿名称不能为空"):
        rename_draft(store, info.id, "   ")
    with pytest.raises(InputError, match=form.cell(key).field.label):
        rename_draft(store, info.id, "长" * (MAX_TEXT + 1))
    assert store.get_draft(info.id).title == renamed.title  # nothing half-done
    copy = duplicate_draft(store, info.id)
    assert copy.title == renamed.title + "（副本）"
    assert store.get_answers(copy.id)[key] == renamed.title
    delete_draft(store, copy.id)
    assert [d.id for d in store.list_drafts()] == [info.id]
    # every shipped form names its drafts by a field, and each one follows a rename
    for other_form in catalog:
        other = create_draft(store, other_form, "草稿")
        assert rename_draft(store, other.id, "新名称").title == "新名称"
        assert store.get_answers(other.id) == {other_form.form.title_field: "新名称"}

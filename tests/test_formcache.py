"""The cache of checked form definitions (model/formcache.py): a start reads it instead of parsing
and checking the YAML files again; a changed file or a damaged or planted entry is never used."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cd_support import FORMS
from clusterdesk.model import form as form_module
from clusterdesk.model import formcache
from clusterdesk.model.form import FormDefinitionError, load_form

APPLICATION = FORMS / "cq-2024-application.yaml"


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(formcache.ENV, str(folder))
    monkeypatch.setattr(form_module, "_loaded", {})  # this process has loaded nothing yet
    return folder


def entry_of(folder: Path, definition: Path) -> Path:
    return folder / (formcache.key(definition.read_bytes()) + formcache.SUFFIX)


def test_a_second_start_reads_the_checked_form_from_the_cache_not_the_yaml(tmp_path: Path) -> None:
    env = dict(os.environ, **{formcache.ENV: str(tmp_path / "cache")})
    child = ("import json, sys\n"
             "from clusterdesk.model.form import default_catalog\n"
             "cat = default_catalog()\n"
             "print(json.dumps({'yaml': 'yaml' in sys.modules,\n"
             "                  'forms': {fd.id: fd.form.model_dump(mode='json') for fd in cat}}))\n")
    runs = [json.loads(subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, text=True,
                                      check=True, timeout=120).stdout) for _ in range(2)]
    assert runs[0]["yaml"] is True  # the first start parsed the files and filled the cache
    assert len(list((tmp_path / "cache").glob("*" + formcache.SUFFIX))) == len(runs[0]["forms"]) >= 4
    assert runs[1]["yaml"] is False  # the second did not even import the YAML parser
    assert runs[1]["forms"] == runs[0]["forms"]  # and has every word and rule of the full load


def test_the_cached_form_equals_the_checked_file(cache: Path) -> None:
    first = load_form(APPLICATION)
    assert entry_of(cache, APPLICATION).is_file()
    form_module._loaded.clear()
    again = load_form(APPLICATION)
    assert again is not first and again.form == first.form == load_form(APPLICATION, cache=False).form
    assert [c.key for c in again.answerable_cells] == [c.key for c in first.answerable_cells]


def test_a_changed_file_is_checked_again_and_a_broken_one_is_refused(cache: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    shutil.copy(APPLICATION, mine)
    load_form(mine)
    text = mine.read_text(encoding="utf-8")
    mine.write_text(text.replace("version: 1", "version: 1\nunknown_key: 2", 1), encoding="utf-8")
    with pytest.raises(FormDefinitionError) as e:
        load_form(mine)
    assert any("mine.yaml" in line and "unknown_key" in line for line in e.value.problems)
    assert not entry_of(cache, mine).exists()  # a file with problems is never stored


class _Planted:
    """What an attacker would put in the cache: unpickling it would run a shell command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("payload", ["planted", "truncated", "not a form", "garbage"])
def test_a_planted_or_damaged_entry_runs_nothing_and_the_file_is_loaded_instead(cache: Path, tmp_path: Path,
                                                                                  payload: str) -> None:
    good = load_form(APPLICATION, cache=False)
    cache.mkdir(parents=True)
    marker = tmp_path / "ran"
    entry = entry_of(cache, APPLICATION)
    data = {
        "planted": pickle.dumps(_Planted(marker)),
        "truncated": pickle.dumps(good.form)[:5000],
        "not a form": pickle.dumps({"id": "cq-2024-application"}),
        "garbage": os.urandom(4096),
    }[payload]
    entry.write_bytes(data)
    fd = load_form(APPLICATION)
    assert not marker.exists()
    assert fd.form == good.form
    assert entry.read_bytes() != data  # the bad entry was replaced by the checked form
    form_module._loaded.clear()
    assert load_form(APPLICATION).form == good.form


def test_the_cache_can_be_switched_off_and_an_unwritable_one_only_costs_time(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(form_module, "_loaded", {})
    monkeypatch.setenv(formcache.ENV, "0")
    assert formcache.cache_dir() is None
    assert load_form(APPLICATION).id == "cq-2024-application"
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv(formcache.ENV, str(blocker / "cache"))
    form_module._loaded.clear()
    assert load_form(APPLICATION).id == "cq-2024-application"
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def test_old_entries_are_pruned(cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(formcache, "MAX_ENTRIES", 3)
    text = APPLICATION.read_text(encoding="utf-8")
    for i in range(5):
        p = tmp_path / f"v{i}.yaml"
        p.write_text(text + f"\n# copy {i}\n", encoding="utf-8")
        load_form(p)
    assert len(list(cache.glob("*" + formcache.SUFFIX))) == 3

"""12. Round 2, items 15 and 16: one draft has one uuid however it is spelled; control characters
from a package never reach the terminal or the disk.

15. The same draft uuid written as ``{…}``, in upper case, as ``urn:uuid:…`` or without hyphens
    used to import again without asking. Now it is the same draft: DuplicatePackage (the command
    line exits 2 and names the flags), also against a draft stored with such a spelling before.
16. C1 controls (U+0085, U+009B = CSI), ESC, BEL and bidi overrides (RLO, LRI) in a package's title
    and cluster name: stripped from what is stored, never printed by ``import-package`` /
    ``drafts`` / ``district compile``, never in a file or folder name it writes — also for a name
    an older version stored with them.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid as uuid_module
from pathlib import Path

import pytest

from hostile_support import package_members, rebuild_package
from rel_support import PYTHON, ROOT, bump, child_env, logical_state

from clusterdesk.store import Store

CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
HOSTILE_NAME = "重庆市\x1b]0;owned\x07永川区\u202e数控\x85机床\x9b2J产业\u2066集群"
CLEAN_NAME = "重庆市]0;owned永川区数控机床2J产业集群"


def _cli(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "clusterdesk", "--db", str(db), *args], capture_output=True, text=True,
                          timeout=600, env=child_env(), cwd=ROOT)


def _spellings(u: str) -> dict[str, str]:
    return {"braces": "{" + u + "}", "upper": u.upper(), "urn": "urn:uuid:" + u, "hex": u.replace("-", ""),
            "braces_upper": "{" + u.upper() + "}", "urn_upper": "URN:UUID:" + u.upper(), "padded": f"  {u} "}


@pytest.fixture()
def imported(demo_package, tmp_path):
    from clusterdesk.packages import import_package

    db = tmp_path / "data" / "clusterdesk.sqlite3"
    path = tmp_path / "原始.cdpkg"
    path.write_bytes(demo_package)
    with Store.open(db) as store:
        outcome = import_package(store, path)
        uid = store.get_draft(outcome.draft_id).uuid
    return db, uid


@pytest.mark.parametrize("spelling", sorted(_spellings(str(uuid_module.uuid4()))))
def test_uuid_spellings_are_the_same_draft(demo_package, imported, tmp_path, spelling):
    from clusterdesk.packages import DuplicatePackage, import_package, read_package

    db, uid = imported
    path = tmp_path / f"{spelling}.cdpkg"
    path.write_bytes(rebuild_package(package_members(demo_package),
                                     manifest_changes={"draft_uuid": _spellings(uid)[spelling]}))
    assert read_package(path).uuid == uid  # one canonical spelling
    before = logical_state(db)
    with Store.open(db) as store, pytest.raises(DuplicatePackage):
        import_package(store, path)
    proc = _cli(db, "import-package", str(path))
    assert proc.returncode == 2 and "本机已有同一份草稿" in proc.stderr and "--keep-both" in proc.stderr, proc.stderr
    assert logical_state(db) == before
    bump("identity", "duplicate_spellings_caught")


def test_a_draft_stored_with_another_spelling_is_found(demo_package, tmp_path):
    """An older version stored the uuid exactly as the package spelled it."""
    from clusterdesk.packages import DuplicatePackage, import_package, read_package

    db = tmp_path / "d.sqlite3"
    path = tmp_path / "p.cdpkg"
    path.write_bytes(demo_package)
    uid = read_package(path).uuid
    with Store.open(db) as store:
        store.create_draft("cq-2024-application", 1, "旧版本导入的草稿", uuid="{" + uid.upper() + "}")
        with pytest.raises(DuplicatePackage):
            import_package(store, path)
        assert [d.title for d in store.find_drafts_by_uuid("urn:uuid:" + uid)] == ["旧版本导入的草稿"]


def test_a_batch_with_two_spellings_of_one_draft_is_refused(demo_package, tmp_path):
    from clusterdesk.packages import PackageError, import_packages, read_package

    a, b = tmp_path / "甲.cdpkg", tmp_path / "乙.cdpkg"
    a.write_bytes(demo_package)
    uid = read_package(a).uuid
    b.write_bytes(rebuild_package(package_members(demo_package), manifest_changes={"draft_uuid": uid.upper()}))
    with Store.open(tmp_path / "d.sqlite3") as store, pytest.raises(PackageError, match="同一份草稿"):
        import_packages(store, [a, b])


# ----------------------------------------------------------------------------- control characters


@pytest.fixture()
def hostile_package(demo_package, tmp_path) -> Path:
    members = package_members(demo_package)
    doc = json.loads(members["answers.json"])
    doc["answers"]["cover.cluster_name"] = HOSTILE_NAME
    path = tmp_path / "控制字符.cdpkg"
    path.write_bytes(rebuild_package(members, answers=doc, manifest_changes={"title": HOSTILE_NAME}))
    return path


def _assert_clean(text: str, where: str) -> None:
    found = CONTROL_RE.findall(text)
    assert not found, f"{where}: {found!r} in {text!r}"


def test_controls_from_a_package_are_stripped_and_never_printed(hostile_package, tmp_path):
    from clusterdesk.packages import read_package

    contents = read_package(hostile_package)
    assert contents.title == CLEAN_NAME
    assert contents.answers["cover.cluster_name"] == CLEAN_NAME
    db = tmp_path / "data" / "clusterdesk.sqlite3"
    proc = _cli(db, "import-package", str(hostile_package))
    assert proc.returncode == 0, proc.stderr
    draft_id = int(proc.stdout.strip())
    with Store.open(db) as store:
        assert store.get_draft(draft_id).title == CLEAN_NAME
        assert store.get_answers(draft_id)["cover.cluster_name"] == CLEAN_NAME
    proc = _cli(db, "drafts")
    _assert_clean(proc.stdout + proc.stderr, "drafts")
    assert CLEAN_NAME in proc.stdout


def _compile(db: Path, out: Path, *sources: str) -> subprocess.CompletedProcess:
    return _cli(db, "district", "compile", "--district", "永川区", "--notice", "cq-2024", "--draft", *sources,
                "--out", str(out))


def test_district_compile_never_prints_or_writes_controls(hostile_package, tmp_path):
    """The package's names, and a name an older version stored with the controls in it."""
    db = tmp_path / "data" / "clusterdesk.sqlite3"
    with Store.open(db) as store:  # as an older version stored it: no cleaning on the way in
        legacy = store.create_draft("cq-2024-application", 1, HOSTILE_NAME)
        store.set_answers(legacy.id, {"cover.cluster_name": HOSTILE_NAME + "二", "cover.district": "永川区"})
    out = tmp_path / "报送材料"
    proc = _compile(db, out, str(hostile_package), str(legacy.id))
    assert proc.returncode == 0, proc.stderr
    _assert_clean(proc.stdout, "district compile stdout")
    _assert_clean(proc.stderr, "district compile stderr")
    names = [p.name for p in out.rglob("*")]
    assert names and len([n for n in names if "数控机床" in n]) >= 2, names
    for name in names:
        _assert_clean(name, "a file or folder name")
    proc = _cli(db, "drafts")
    _assert_clean(proc.stdout + proc.stderr, "drafts")
    bump("identity", "compile_outputs_checked", len(names))

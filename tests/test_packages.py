"""Data packages (.cdpkg): round trip, hostile packages, duplicates, the command line."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import warnings
import zipfile
from pathlib import Path

import pytest

from clusterdesk.packages import package as pk
from clusterdesk.packages import DuplicatePackage, PackageError, import_package, read_package, write_package
from cd_support import DEMO, ROOT

NOTE_KEY = "basic.area"
NOTE = "按园区规划图量算，含代管片区"


# -- helpers ------------------------------------------------------------------------------------


def demo_draft(store) -> int:
    from clusterdesk.templates import import_file

    did = import_file(store, DEMO / "cq-2024-application.json")
    store.set_answer(did, NOTE_KEY, store.get_answers(did)[NOTE_KEY], NOTE)
    return did


@pytest.fixture(scope="module")
def demo_pkg(tmp_path_factory) -> Path:
    """A package of the demo draft (with a note), without documents (no exporter needed)."""
    from clusterdesk.store import Store

    d = tmp_path_factory.mktemp("pkg")
    with Store.open(d / "src.sqlite3") as s:
        return write_package(s, demo_draft(s), d / "demo.cdpkg", documents=False)


def unpack(path: Path) -> tuple[dict, dict[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    return json.loads(files.pop("manifest.json")), files


def build(path: Path, manifest: dict | bytes, files: list[tuple[str, bytes]] | dict[str, bytes], *,
          fix_manifest: bool = True, symlink: str | None = None) -> Path:
    """Write a zip by hand; ``fix_manifest`` lists every file with its true hash and size."""
    items = list(files.items()) if isinstance(files, dict) else list(files)
    if isinstance(manifest, dict) and fix_manifest:
        manifest = dict(manifest)
        manifest["members"] = {n: {"sha256": hashlib.sha256(b).hexdigest(), "size": len(b)} for n, b in items}
    raw = manifest if isinstance(manifest, bytes) else json.dumps(manifest, ensure_ascii=False).encode()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("manifest.json", raw)
            for n, b in items:
                zi = zipfile.ZipInfo(n)
                zi.compress_type = zipfile.ZIP_DEFLATED
                if n == symlink:
                    zi.create_system = 3
                    zi.external_attr = (0o120777 << 16)
                zf.writestr(zi, b)
    return path


def state(store, folder: Path) -> tuple:
    """What must not change when a package is refused: drafts, data version, db bytes, the folder."""
    store_bytes = hashlib.sha256(Path(store.path).read_bytes()).hexdigest()
    listing = sorted((str(p.relative_to(folder)), p.stat().st_size) for p in folder.rglob("*") if p.is_file()
                     and not p.name.endswith(("-wal", "-shm")))
    return ([d.id for d in store.list_drafts()], store.data_version(), store_bytes, listing)


@pytest.fixture()
def target(tmp_path):
    """A district's store in its own folder, with one draft already in it."""
    from clusterdesk.store import Store

    folder = tmp_path / "district"
    folder.mkdir()
    s = Store.open(folder / "district.sqlite3")
    s.create_draft("cq-2024-summary", 1, "区县汇总表")
    yield s, folder
    s.close()


# -- round trip -----------------------------------------------------------------------------------


def test_round_trip_keeps_answers_notes_and_evidence(tmp_path, demo_pkg):
    from clusterdesk.store import Store
    from clusterdesk.templates import dump_dict

    with Store.open(tmp_path / "a.sqlite3") as src:
        did = demo_draft(src)
        path = write_package(src, did, tmp_path / "x.cdpkg", documents=False)
        before = dump_dict(src, did)
        src_ev = {(e.key, e.option): e.sha256 for e in src.list_evidence(did)}
        src_uuid = src.get_draft(did).uuid
    with Store.open(tmp_path / "b.sqlite3") as dst:
        outcome = import_package(dst, path)
        assert outcome.action == "created"
        after = dump_dict(dst, outcome.draft_id)
        assert after["answers"] == before["answers"]
        assert after["notes"] == before["notes"] == {NOTE_KEY: NOTE}
        assert after == before
        assert dst.get_draft(outcome.draft_id).uuid == src_uuid
        for e in dst.list_evidence(outcome.draft_id):
            assert hashlib.sha256(dst.read_blob(e.sha256)).hexdigest() == e.sha256 == src_ev[(e.key, e.option)]
        assert len(dst.list_evidence(outcome.draft_id)) == len(src_ev)


def test_manifest_lists_every_member_with_hash(demo_pkg):
    import clusterdesk

    manifest, files = unpack(demo_pkg)
    assert manifest["format"] == "clusterdesk-package" and manifest["format_version"] == 1
    assert manifest["form_id"] == "cq-2024-application" and manifest["app_version"] == clusterdesk.__version__
    assert set(manifest["members"]) == set(files)
    for name, m in manifest["members"].items():
        assert m == {"sha256": hashlib.sha256(files[name]).hexdigest(), "size": len(files[name])}
    answers = json.loads(files["answers.json"])
    assert answers["notes"] == {NOTE_KEY: NOTE}
    shas = {e["sha256"] for by in answers["evidence_index"].values() for lst in by.values() for e in lst}
    assert {n.split("/")[1] for n in files if n.startswith("evidence/")} == shas


def test_write_is_atomic_and_refuses_missing_folder(tmp_path, store):
    from clusterdesk.export.atomic import ExportWriteError

    did = demo_draft(store)
    with pytest.raises(ExportWriteError):
        write_package(store, did, tmp_path / "nope" / "x.cdpkg", documents=False)
    out = write_package(store, did, tmp_path / "x.cdpkg", documents=False)
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".cdpkg"] == ["x.cdpkg"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".~")]
    assert read_package(out).title.startswith("重庆市中小企业特色产业集群")


def test_package_carries_exported_documents(tmp_path, store):
    did = demo_draft(store)
    path = write_package(store, did, tmp_path / "x.cdpkg")
    contents = read_package(path)
    names = sorted(contents.documents)
    assert any(n.endswith("申报表.docx") for n in names), names
    assert any("可编辑版" in n for n in names), names
    assert any(n.endswith(".xlsx") for n in names), names
    assert not any(n.endswith(".pdf") for n in names)


def test_draft_with_errors_still_packages_a_draft_copy(tmp_path, store):
    from clusterdesk.service import create_draft
    from clusterdesk.model.form import default_catalog

    did = create_draft(store, default_catalog().get("cq-2024-application")).id
    path = write_package(store, did, tmp_path / "empty.cdpkg")
    assert read_package(path).documents


# -- hostile packages ------------------------------------------------------------------------------


def _variant(demo_pkg: Path, tmp_path: Path, *, add=(), drop=(), replace=None, manifest_edit=None,
             fix_manifest=True, symlink=None) -> Path:
    manifest, files = unpack(demo_pkg)
    items = [(n, b) for n, b in files.items() if n not in drop]
    if replace:
        items = [(n, replace.get(n, b)) for n, b in items]
    items += list(add)
    if manifest_edit:
        manifest_edit(manifest)
    return build(tmp_path / "bad.cdpkg", manifest, items, fix_manifest=fix_manifest, symlink=symlink)


HOSTILE_PATHS = [
    ("documents/../../evil.txt", "含有“..”"),
    ("../evil.txt", "含有“..”"),
    ("/etc/evil.txt", "绝对路径"),
    ("C:/Windows/evil.txt", "盘符"),
    ("C:evil.txt", "盘符"),
    ("documents\\..\\..\\evil.txt", "反斜杠"),
]


@pytest.mark.parametrize("name,reason", HOSTILE_PATHS)
def test_member_path_leaving_the_target_is_refused(demo_pkg, tmp_path, target, name, reason):
    store, folder = target
    bad = _variant(demo_pkg, tmp_path, add=[(name, b"x")])
    before = state(store, folder)
    with pytest.raises(PackageError) as e:
        import_package(store, bad)
    assert len(e.value.problems) == 1
    assert reason in e.value.problems[0] and "已拒绝导入" in e.value.problems[0]
    assert state(store, folder) == before
    assert not (tmp_path.parent / "evil.txt").exists()


def test_symlink_member_is_refused(demo_pkg, tmp_path, target):
    store, folder = target
    bad = _variant(demo_pkg, tmp_path, add=[("documents/link", b"/etc/passwd")], symlink="documents/link")
    before = state(store, folder)
    with pytest.raises(PackageError, match="符号链接"):
        import_package(store, bad)
    assert state(store, folder) == before


def test_total_expansion_past_the_cap_is_refused(demo_pkg, tmp_path, target, monkeypatch):
    store, folder = target
    monkeypatch.setattr(pk, "MAX_TOTAL_BYTES", 2 * 1024 * 1024)
    bad = _variant(demo_pkg, tmp_path, add=[("documents/big.bin", b"\0" * (3 * 1024 * 1024))])
    assert bad.stat().st_size < demo_pkg.stat().st_size + 50 * 1024  # the 3 MB compress to almost nothing
    before = state(store, folder)
    with pytest.raises(PackageError, match="总大小超过 2 MB"):
        import_package(store, bad)
    assert state(store, folder) == before


def test_member_larger_than_declared_is_refused_before_reading(demo_pkg, tmp_path, target):
    store, folder = target

    def shrink(m):
        m["members"]["documents/bomb.bin"]["size"] = 100

    bad = _variant(demo_pkg, tmp_path, add=[("documents/bomb.bin", b"\0" * 5_000_000)], manifest_edit=None)
    manifest, files = unpack(bad)
    shrink(manifest)
    bad = build(tmp_path / "bomb.cdpkg", manifest, files, fix_manifest=False)
    before = state(store, folder)
    with pytest.raises(PackageError, match="疑似压缩炸弹"):
        import_package(store, bad)
    assert state(store, folder) == before


def _lie_about_size(data: bytes, name: str, size: int) -> bytes:
    """Patch a zip's local and central headers so ``name`` claims ``size`` uncompressed bytes."""
    raw = bytearray(data)
    enc = name.encode()
    i = 0
    while (i := raw.find(b"PK\x03\x04", i)) >= 0:
        n = struct.unpack_from("<H", raw, i + 26)[0]
        if raw[i + 30:i + 30 + n] == enc:
            struct.pack_into("<I", raw, i + 22, size)
        i += 4
    i = 0
    while (i := raw.find(b"PK\x01\x02", i)) >= 0:
        n = struct.unpack_from("<H", raw, i + 28)[0]
        if raw[i + 46:i + 46 + n] == enc:
            struct.pack_into("<I", raw, i + 24, size)
        i += 4
    return bytes(raw)


def test_zip_bomb_whose_header_lies_is_stopped_at_the_declared_size(demo_pkg, tmp_path, target, monkeypatch):
    store, folder = target
    name = "documents/bomb.bin"
    payload = b"\0" * 50_000_000  # 50 MB of zeros: about 50 KB compressed
    manifest, files = unpack(demo_pkg)
    files[name] = payload
    manifest["members"] = {n: {"sha256": hashlib.sha256(b).hexdigest(), "size": len(b)} for n, b in files.items()}
    manifest["members"][name] = {"sha256": hashlib.sha256(b"\0" * 1000).hexdigest(), "size": 1000}
    ok = build(tmp_path / "lying.cdpkg", manifest, files, fix_manifest=False)
    bad = tmp_path / "lying2.cdpkg"
    bad.write_bytes(_lie_about_size(ok.read_bytes(), name, 1000))
    assert zipfile.ZipFile(bad).getinfo(name).file_size == 1000  # the header agrees with the manifest

    produced = []
    real = pk._Reader.stream_member

    def spy(self, fh, info, limit, sink):
        try:
            real(self, fh, info, limit, sink)
        except PackageError:
            produced.append(info.filename)
            raise

    monkeypatch.setattr(pk._Reader, "stream_member", spy)
    before = state(store, folder)
    with pytest.raises(PackageError) as e:
        import_package(store, bad)
    assert "疑似压缩炸弹" in e.value.problems[0] and "bomb.bin" in e.value.problems[0]
    assert produced == [name]
    assert state(store, folder) == before


def test_inflating_never_produces_more_than_the_limit(tmp_path):
    """The bounded reader stops at limit + 1 bytes however much the member would expand."""
    data = zlib_member(b"\0" * 20_000_000)
    reader = pk._Reader(tmp_path / "x.cdpkg", None)  # type: ignore[arg-type]
    zf = zipfile.ZipFile(io.BytesIO(data))
    info = zf.getinfo("m")
    with pytest.raises(PackageError, match="疑似压缩炸弹"):
        reader.read_member(io.BytesIO(data), info, 4096)


def zlib_member(payload: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("m", payload)
    return buf.getvalue()


def test_duplicate_member_names_are_refused(demo_pkg, tmp_path, target):
    store, folder = target
    bad = _variant(demo_pkg, tmp_path, add=[("answers.json", b"{}")], fix_manifest=False)
    before = state(store, folder)
    with pytest.raises(PackageError, match="重复的文件“answers.json”"):
        import_package(store, bad)
    assert state(store, folder) == before


def test_checksum_mismatch_is_refused(demo_pkg, tmp_path, target):
    store, folder = target
    manifest, files = unpack(demo_pkg)
    ev = next(n for n in files if n.startswith("evidence/"))
    files[ev] = b"%PDF-1.4 tampered" + files[ev][17:]  # same size, other bytes
    bad = build(tmp_path / "bad.cdpkg", manifest, files, fix_manifest=False)
    before = state(store, folder)
    with pytest.raises(PackageError, match="校验值（SHA-256）与清单不符"):
        import_package(store, bad)
    assert state(store, folder) == before


def test_missing_member_listed_in_manifest_is_refused(demo_pkg, tmp_path, target):
    store, folder = target
    manifest, files = unpack(demo_pkg)
    gone = next(n for n in files if n.startswith("evidence/"))
    del files[gone]
    bad = build(tmp_path / "bad.cdpkg", manifest, files, fix_manifest=False)
    before = state(store, folder)
    with pytest.raises(PackageError, match="缺少清单中列出的文件"):
        import_package(store, bad)
    assert state(store, folder) == before


def test_extra_unlisted_member_is_refused(demo_pkg, tmp_path, target):
    store, folder = target
    manifest, files = unpack(demo_pkg)
    files["documents/readme.txt"] = b"hello"
    bad = build(tmp_path / "bad.cdpkg", manifest, files, fix_manifest=False)
    before = state(store, folder)
    with pytest.raises(PackageError, match="“documents/readme.txt”没有列在清单中"):
        import_package(store, bad)
    assert state(store, folder) == before


def test_unknown_form_is_refused(demo_pkg, tmp_path, target):
    store, folder = target

    def edit(m):
        m["form_id"] = "gd-2030-application"

    bad = _variant(demo_pkg, tmp_path, manifest_edit=edit)
    before = state(store, folder)
    with pytest.raises(PackageError, match="表单“gd-2030-application”本程序不认识"):
        import_package(store, bad)
    assert state(store, folder) == before


def test_newer_package_format_is_refused(demo_pkg, tmp_path, target):
    store, folder = target

    def edit(m):
        m["format_version"] = 2

    bad = _variant(demo_pkg, tmp_path, manifest_edit=edit)
    before = state(store, folder)
    with pytest.raises(PackageError, match="格式版本（2）比本程序支持的版本（1）新，请升级"):
        import_package(store, bad)
    assert state(store, folder) == before


@pytest.mark.parametrize("key,value,expected", [
    ("industry.total_output.2021", "很多", "集群总产值"),
    ("basic.industry_type", "第四产业", "不是可选项"),
    ("no.such_field", "x", "未知的栏目 id“no.such_field”"),
    ("basic.cluster_name", "改名", "此栏由程序计算"),
])
def test_answers_that_do_not_fit_the_form_are_refused(demo_pkg, tmp_path, target, key, value, expected):
    store, folder = target
    manifest, files = unpack(demo_pkg)
    answers = json.loads(files["answers.json"])
    answers["answers"][key] = value
    files["answers.json"] = json.dumps(answers, ensure_ascii=False).encode()
    bad = build(tmp_path / "bad.cdpkg", manifest, files)
    before = state(store, folder)
    with pytest.raises(PackageError) as e:
        import_package(store, bad)
    assert "不符合“重庆市中小企业特色产业集群申报表”的要求" in e.value.problems[0]
    assert expected in "\n".join(e.value.problems)
    assert state(store, folder) == before


def test_evidence_for_an_unknown_option_is_refused(demo_pkg, tmp_path, target):
    store, folder = target
    manifest, files = unpack(demo_pkg)
    answers = json.loads(files["answers.json"])
    key = next(iter(answers["evidence_index"]))
    by = answers["evidence_index"][key]
    by["不存在的选项"] = by.pop(next(iter(by)))
    files["answers.json"] = json.dumps(answers, ensure_ascii=False).encode()
    bad = build(tmp_path / "bad.cdpkg", manifest, files)
    before = state(store, folder)
    with pytest.raises(PackageError, match="不存在的选项"):
        import_package(store, bad)
    assert state(store, folder) == before


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"%PDF-1.4\n" + b"x" * 100])
def test_a_file_that_is_not_a_zip_is_refused(tmp_path, target, content):
    store, folder = target
    bad = tmp_path / "bad.cdpkg"
    bad.write_bytes(content)
    before = state(store, folder)
    with pytest.raises(PackageError, match="不是有效的 zip 文件"):
        import_package(store, bad)
    assert state(store, folder) == before


def test_a_zip_without_manifest_is_refused(tmp_path, target):
    store, folder = target
    bad = tmp_path / "doc.cdpkg"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(PackageError, match="缺少 manifest.json"):
        import_package(store, bad)


@pytest.mark.parametrize("raw,expected", [
    (b"{not json", "不是有效的 JSON"),
    ("{\"format\": \"clusterdesk-package\"}".encode("utf-16"), "不是 UTF-8 编码"),
    (b"\xff\xfe\x00garbage", "不是 UTF-8 编码"),
    (b"[1, 2, 3]", "manifest.json 格式不对"),
])
def test_manifest_not_json_or_not_utf8_is_refused(demo_pkg, tmp_path, target, raw, expected):
    store, folder = target
    _, files = unpack(demo_pkg)
    bad = build(tmp_path / "bad.cdpkg", raw, files)
    before = state(store, folder)
    with pytest.raises(PackageError) as e:
        import_package(store, bad)
    assert expected in e.value.problems[0] and len(e.value.problems) == 1
    assert state(store, folder) == before


def test_answers_json_not_utf8_is_refused(demo_pkg, tmp_path, target):
    store, folder = target
    manifest, files = unpack(demo_pkg)
    files["answers.json"] = files["answers.json"].decode().encode("gb18030")
    bad = build(tmp_path / "bad.cdpkg", manifest, files)
    with pytest.raises(PackageError, match="answers.json 不是 UTF-8 编码"):
        import_package(store, bad)


def test_unreferenced_evidence_is_refused(demo_pkg, tmp_path, target):
    store, folder = target
    blob = b"%PDF-1.4 stray"
    sha = hashlib.sha256(blob).hexdigest()
    bad = _variant(demo_pkg, tmp_path, add=[(f"evidence/{sha}/stray.pdf", blob)])
    with pytest.raises(PackageError, match="未被任何栏目引用"):
        import_package(store, bad)


# -- duplicates and snapshots ---------------------------------------------------------------------------


def test_duplicate_import_asks_then_replaces_or_keeps_both(demo_pkg, tmp_path, store):
    from clusterdesk.templates import dump_dict

    first = import_package(store, demo_pkg)
    store.set_answer(first.draft_id, "cover.contact", "本机改过的联系人")
    before = state(store, tmp_path)
    with pytest.raises(DuplicatePackage) as e:
        import_package(store, demo_pkg)
    assert e.value.existing.id == first.draft_id
    assert "本机已有同一份草稿" in e.value.lines[0]
    assert state(store, tmp_path) == before  # asking writes nothing, not even a snapshot

    kept = import_package(store, demo_pkg, on_duplicate="keep_both")
    assert kept.action == "kept_both" and kept.draft_id != first.draft_id
    assert store.get_draft(kept.draft_id).uuid != store.get_draft(first.draft_id).uuid
    assert store.get_draft(kept.draft_id).title.endswith("（副本）")
    assert len(store.list_drafts()) == 2

    replaced = import_package(store, demo_pkg, on_duplicate="replace")
    assert replaced.action == "replaced" and replaced.replaced_draft_id == first.draft_id
    ids = {d.id for d in store.list_drafts()}
    assert first.draft_id not in ids and {replaced.draft_id, kept.draft_id} <= ids and len(ids) == 2
    assert store.get_answers(replaced.draft_id)["cover.contact"] != "本机改过的联系人"
    assert dump_dict(store, replaced.draft_id)["answers"] == read_package(demo_pkg).answers


def test_every_import_takes_a_snapshot_first(demo_pkg, store):
    n = len(store.list_snapshots())
    outcome = import_package(store, demo_pkg)
    assert outcome.snapshot is not None and outcome.snapshot.is_file()
    assert len(store.list_snapshots()) == n + 1
    import_package(store, demo_pkg, on_duplicate="keep_both")
    assert len(store.list_snapshots()) == n + 2


def test_replace_keeps_district_membership(demo_pkg, store):
    from clusterdesk.packages.district import District, DistrictWorkspace, create_district

    ws = DistrictWorkspace(store, create_district(store, District("永川区", "cq-2024", "永川区经信委")))
    first = ws.add_package(demo_pkg)
    assert ws.cluster_ids() == [first]
    outcome = import_package(store, demo_pkg, on_duplicate="replace")
    assert ws.cluster_ids() == [outcome.draft_id]


# -- the command line ---------------------------------------------------------------------------------


def run_cli(*argv: str) -> int:
    from clusterdesk.cli import main

    return main(list(argv))


def test_cli_package_and_import(tmp_path, capsys):
    from clusterdesk.store import Store

    src, dst = tmp_path / "src.sqlite3", tmp_path / "dst.sqlite3"
    with Store.open(src) as s:
        did = demo_draft(s)
    out = tmp_path / "集群.cdpkg"
    assert run_cli("--db", str(src), "package", str(did), "--out", str(out), "--no-documents") == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert run_cli("--db", str(dst), "import-package", str(out)) == 0
    new_id = int(capsys.readouterr().out.strip())

    assert run_cli("--db", str(dst), "import-package", str(out)) == 2
    err = capsys.readouterr().err
    assert "本机已有同一份草稿" in err and "--replace" in err and "--keep-both" in err
    assert run_cli("--db", str(dst), "import-package", str(out), "--keep-both") == 0
    kept = int(capsys.readouterr().out.strip())
    assert run_cli("--db", str(dst), "import-package", str(out), "--replace") == 0
    replaced = int(capsys.readouterr().out.strip())
    with Store.open(dst) as s:
        assert {d.id for d in s.list_drafts()} == {kept, replaced}
        assert new_id not in {kept, replaced}


def test_cli_refuses_a_hostile_package_with_one_line(demo_pkg, tmp_path, capsys):
    bad = _variant(demo_pkg, tmp_path, add=[("../evil.txt", b"x")])
    assert run_cli("--db", str(tmp_path / "d.sqlite3"), "import-package", str(bad)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "已拒绝导入" in err[0]


def test_cli_package_of_unknown_draft_is_bad_input(tmp_path, capsys):
    assert run_cli("--db", str(tmp_path / "d.sqlite3"), "package", "42", "--out", str(tmp_path / "x.cdpkg"),
                   "--no-documents") == 2
    assert capsys.readouterr().err.strip()
    assert not (tmp_path / "x.cdpkg").exists()


def _second_package(tmp_path: Path) -> Path:
    from clusterdesk.store import Store

    with Store.open(tmp_path / "other.sqlite3") as s:
        return write_package(s, demo_draft(s), tmp_path / "other.cdpkg", documents=False)


def test_a_batch_is_checked_first_and_snapshotted_once(demo_pkg, tmp_path, target):
    from clusterdesk.packages import import_packages

    store, folder = target
    other = _second_package(tmp_path)
    bad = _variant(demo_pkg, tmp_path, add=[("../evil.txt", b"x")])
    before = state(store, folder)
    with pytest.raises(PackageError):
        import_packages(store, [demo_pkg, bad, other])
    assert state(store, folder) == before
    with pytest.raises(PackageError, match="是同一份草稿的数据包"):
        import_packages(store, [demo_pkg, other, demo_pkg])
    assert state(store, folder) == before
    outcomes = import_packages(store, [demo_pkg, other])
    assert [o.action for o in outcomes] == ["created", "created"]
    assert outcomes[0].snapshot == outcomes[1].snapshot and len(store.list_snapshots()) == 1
    with pytest.raises(DuplicatePackage):
        import_packages(store, [other])


def test_cli_imports_several_packages(demo_pkg, tmp_path, capsys):
    other = _second_package(tmp_path)
    assert run_cli("--db", str(tmp_path / "d.sqlite3"), "import-package", str(demo_pkg), str(other)) == 0
    assert len(capsys.readouterr().out.split()) == 2


@pytest.mark.parametrize("edit,expected", [
    (lambda text: text.replace('"answers": {', '"answers": {"basic.area": ' + "1" * 5000 + ", ", 1), "不是有效的 JSON"),
    (lambda text: text.replace('"plan.targets": [', '"plan.targets": [{"key": [], "target": "1"}, ', 1),
     "未知的固定行"),
])
def test_answers_the_parsers_choke_on_are_refused(demo_pkg, tmp_path, target, edit, expected):
    store, folder = target
    manifest, files = unpack(demo_pkg)
    text = json.dumps(json.loads(files["answers.json"]), ensure_ascii=False)
    files["answers.json"] = edit(text).encode()
    bad = build(tmp_path / "bad.cdpkg", manifest, files)
    before = state(store, folder)
    with pytest.raises(PackageError) as e:
        import_package(store, bad)
    assert expected in "\n".join(e.value.problems)
    assert state(store, folder) == before

"""Data packages (``.cdpkg``): one draft, its evidence and its exported documents in one zip.

A cluster fills its form on its own (often offline) PC and hands the district a package; the
district imports it into its own database. Layout of the zip::

    manifest.json                    {format, format_version, form_id, form_version, app_version,
                                      exported_at, draft_uuid, title, members: {path: {sha256, size}}}
    answers.json                     templates.dump_dict(): form, version, title, answers, notes,
                                      evidence_index {key: {option: [{file, sha256, size}]}}
    evidence/<sha256>/<filename>     each evidence file once, named by its content hash
    documents/<name>                 the exported documents (print, editable, lists), for reading

Every package is treated as hostile (STYLE.md, "Data from other machines"): member paths must
stay inside the package, symlinks and encrypted members are refused, sizes are checked against
the manifest before anything is read and bytes are counted while inflating (a member that grows
past its declared size is stopped there), every member's SHA-256 must match, the member list must
match the manifest exactly, and every answer is parsed against the form before the store is
touched. Reading happens in memory: a refused package leaves nothing on disk or in the store.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import uuid as uuid_module
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field as dc_field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable, Literal

from clusterdesk.errors import ClusterDeskError
from clusterdesk import evidence_types
from clusterdesk.evidence_types import MAX_EVIDENCE_LINKS, MAX_EVIDENCE_TOTAL_BYTES
from clusterdesk.textsafe import CONTROLS, strip_controls
from clusterdesk.model.form import Catalog, FormDef, colon_join, default_catalog
from clusterdesk.model.values import find_non_finite, json_constant, json_float
from clusterdesk.safeio import UnsafeFile, ZipDirectoryTooBig, check_zip_directory, open_regular
from clusterdesk.service import InputError, evidence_option, parse_answers
from clusterdesk.store import Store

FORMAT = "clusterdesk-package"
FORMAT_VERSION = 1
from . import SUFFIX  # noqa: E402  (defined in __init__, where the command line reads it cheaply)

# Caps on every dimension, each checked before the work it bounds (STYLE.md: "cap the bytes read").
#: The bytes all members may expand to, as declared (zip bombs); inflating stops there too.
MAX_TOTAL_BYTES = MAX_EVIDENCE_TOTAL_BYTES
#: Evidence links (file × field × option) in answers.json.
MAX_LINKS = MAX_EVIDENCE_LINKS
#: Members, and the zip's central directory, read before zipfile lists it.
MAX_MEMBERS = MAX_EVIDENCE_LINKS + 200
MAX_DIRECTORY_BYTES = 8 * 1024 * 1024
#: The two JSON members: bytes, and items (values and containers: a 1.5 MB package of
#: ``[{},{},…]`` expands into gigabytes of Python objects).
MAX_MANIFEST_BYTES = 2 * 1024 * 1024
MAX_ANSWERS_BYTES = 16 * 1024 * 1024
MAX_JSON_ITEMS = 400_000
#: Each exported document carried for reading.
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024

MANIFEST = "manifest.json"
ANSWERS = "answers.json"
EVIDENCE_DIR = "evidence"
DOCUMENTS_DIR = "documents"

_CHUNK = 1024 * 1024
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_DRIVE_RE = re.compile(r"^[A-Za-z]:")
_CTRL_RE = re.compile(f"[{CONTROLS}]")  # C0, C1, bidi controls: never in a name
_BAD_NAME_RE = re.compile(f'[\\\\/:*?"<>|{CONTROLS}]')

OnDuplicate = Literal["ask", "replace", "keep_both"]


class PackageError(ClusterDeskError):
    """A package that cannot be written or taken. ``problems``: one Chinese line each."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__(self.problems)


class DuplicatePackage(Exception):
    """The store already holds a draft with the package's uuid; the caller must choose
    ``replace`` or ``keep_both`` (the GUI asks, the command line names the flags)."""

    def __init__(self, existing: Any, contents: "PackageContents"):
        self.existing = existing  # DraftInfo
        self.contents = contents
        when = existing.updated_at.strftime("%Y-%m-%d %H:%M")
        exported = _short_time(contents.exported_at)
        self.lines = [
            f"本机已有同一份草稿“{existing.title}”（草稿 {existing.id}，最后修改于 {when}），"
            f"数据包“{contents.path.name}”导出于 {exported}。",
        ]
        super().__init__("\n".join(self.lines))


def _short_time(text: str) -> str:
    try:
        return datetime.fromisoformat(text).astimezone().strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return str(text)[:40]


@dataclass(frozen=True)
class EvidenceItem:
    key: str
    option: str
    filename: str
    sha256: str
    size: int
    where: str = dc_field(default="", compare=False)  # section · field, for messages


@dataclass
class PackageContents:
    """A package read and checked in memory; nothing of it is on disk or in a store yet."""

    path: Path
    manifest: dict[str, Any]
    form: FormDef
    uuid: str
    title: str
    exported_at: str
    app_version: str
    answers: dict[str, Any]
    notes: dict[str, str]
    evidence: list[EvidenceItem]
    blobs: dict[str, bytes]
    documents: dict[str, bytes] = dc_field(default_factory=dict)
    answers_json: dict[str, Any] = dc_field(default_factory=dict)
    retired: dict[str, dict[str, Any]] = dc_field(default_factory=dict)  # 旧版本内容

    @property
    def form_id(self) -> str:
        return self.form.id


@dataclass(frozen=True)
class ImportOutcome:
    draft_id: int
    title: str
    form_id: str
    action: Literal["created", "replaced", "kept_both"]
    replaced_draft_id: int | None = None
    snapshot: Path | None = None


# ----------------------------------------------------------------------------- writing


def safe_member_name(filename: str) -> str:
    """A file name that every reader (and every OS) takes as one plain path component."""
    name = _BAD_NAME_RE.sub("_", strip_controls(filename)).strip().rstrip(". ")
    if not name or set(name) <= {"."}:
        name = "证明材料"
    if len(name) > 120:
        stem, dot, suffix = name.rpartition(".")
        name = (stem[: 120 - len(suffix) - 1] + "." + suffix) if dot and len(suffix) <= 16 else name[:120]
    return name


def export_api():
    """The exporter (``clusterdesk.export.api``), imported when first needed."""
    try:
        from clusterdesk.export import api
    except ModuleNotFoundError as e:
        if e.name and "clusterdesk.export.api".startswith(e.name):
            raise PackageError(["导出功能不可用（缺少 clusterdesk.export.api），无法生成申报表文件"]) from None
        raise
    return api


def export_documents(store: Store, draft_id: int, out_dir: Path, *, pdf: bool = False,
                     catalog: Catalog | None = None) -> tuple[list[Path], bool]:
    """Export a draft's documents into ``out_dir``: a final copy when the draft has no errors,
    otherwise a marked draft copy so work can still move. Returns (files, draft_copy)."""
    from clusterdesk.model.rules import has_errors, validate
    from clusterdesk.service import load_answers

    api = export_api()
    form, ans = load_answers(store, draft_id, catalog)
    draft_copy = has_errors(validate(form, ans, include_eligibility=False))
    try:
        result = api.export_draft(store, draft_id, out_dir, pdf=pdf, draft_copy=draft_copy)
    except api.ExportRefused:
        draft_copy = True
        result = api.export_draft(store, draft_id, out_dir, pdf=pdf, draft_copy=True)
    return [Path(p) for p in result.files], draft_copy


def write_package(store: Store, draft_id: int, out: Path | str, *, documents: bool = True,
                  catalog: Catalog | None = None) -> Path:
    """Write a draft as a ``.cdpkg`` file (atomically: a half-written package never appears).

    ``documents``: include the exported documents (``documents/``) for the receiver to read."""
    from clusterdesk import __version__
    from clusterdesk.export.atomic import atomic_write
    from clusterdesk.export.leftovers import scratch_dir
    from clusterdesk.templates import dump_dict

    catalog = catalog or default_catalog()
    out = Path(out)
    info = store.get_draft(draft_id)
    if info.form_id not in catalog:
        raise PackageError([f"草稿 {draft_id} 使用的表单“{info.form_id}”本程序不认识，无法打包"])
    dump = dump_dict(store, draft_id, catalog)
    members: dict[str, dict[str, Any]] = {}
    payload: list[tuple[str, bytes]] = []

    def add(path: str, data: bytes) -> None:
        members[path] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        payload.append((path, data))

    add(ANSWERS, json.dumps(dump, ensure_ascii=False, indent=1).encode("utf-8"))
    form = catalog.get(info.form_id)
    refused: list[str] = []
    for ev in store.list_evidence(draft_id):  # kept from an older version, but never sent on
        where = form.cell(ev.key).where if form.has_cell(ev.key) else ev.key
        try:
            evidence_types.check_bytes(ev.filename, store.read_blob(ev.sha256))
        except evidence_types.EvidenceTypeError as e:
            refused.append(f"{where}：{e}（请在草稿中移除这份佐证材料后再打包）")
    if refused:
        raise PackageError(["草稿中有不能打包的佐证材料："] + [f"  {line}" for line in refused])
    seen: set[str] = set()
    for ev in store.list_evidence(draft_id):
        if ev.sha256 in seen:
            continue
        seen.add(ev.sha256)
        data = store.read_blob(ev.sha256)
        if hashlib.sha256(data).hexdigest() != ev.sha256:
            raise PackageError([f"证明材料“{ev.filename}”在数据库中已损坏，无法打包；请重新添加该文件"])
        add(f"{EVIDENCE_DIR}/{ev.sha256}/{safe_member_name(ev.filename)}", data)
    with scratch_dir("package") as tmp:
        if documents:
            files, _ = export_documents(store, draft_id, Path(tmp), catalog=catalog)
            for f in sorted(files):
                rel = f.relative_to(tmp).as_posix() if f.is_relative_to(tmp) else f.name
                add(f"{DOCUMENTS_DIR}/{rel}", f.read_bytes())
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "form_id": info.form_id,
            "form_version": info.form_version,
            "app_version": __version__,
            "exported_at": datetime.now().astimezone().isoformat(timespec="seconds"),
            "draft_uuid": info.uuid,
            "title": info.title,
            "members": members,
        }
        stamp = datetime.now().timetuple()[:6]
        with atomic_write(out) as fh:
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
                zi = zipfile.ZipInfo(MANIFEST, stamp)
                zi.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(zi, json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"))
                for path, data in payload:
                    zi = zipfile.ZipInfo(path, stamp)
                    zi.compress_type = zipfile.ZIP_DEFLATED
                    zi.external_attr = 0o644 << 16
                    zf.writestr(zi, data)
    return out


# ----------------------------------------------------------------------------- reading


class _Reader:
    """Checks one package; every refusal is a PackageError with one Chinese line.

    Order: the zip's directory and names, the manifest, the declared sizes against every cap, then
    answers.json (bounded, parsed and checked against the form, evidence index included), then each
    evidence file and document is inflated once to check its size, SHA-256 and (evidence) content
    type without being kept, and only then is everything read into memory. So whatever a refused
    package declares, it costs at most one member's inflating buffer and its answers."""

    def __init__(self, path: Path, catalog: Catalog):
        self.path = path
        self.catalog = catalog
        self.name = strip_controls(path.name, "?")

    def fail(self, reason: str) -> PackageError:
        return PackageError([f"无法导入“{self.name}”：{reason}"])

    # -- member names ------------------------------------------------------------------
    def check_name(self, name: str, *, what: str = "文件") -> None:
        shown = strip_controls(name[:80], "?")
        if not name:
            raise self.fail(f"数据包中有名称为空的{what}，已拒绝导入。")
        if "\\" in name:
            raise self.fail(f"数据包中的{what}路径“{shown}”含有反斜杠，可能指向数据包以外的位置，已拒绝导入。")
        if name.startswith("/"):
            raise self.fail(f"数据包中的{what}路径“{shown}”是绝对路径，指向数据包以外的位置，已拒绝导入。")
        if _DRIVE_RE.match(name):
            raise self.fail(f"数据包中的{what}路径“{shown}”带有盘符，指向数据包以外的位置，已拒绝导入。")
        if _CTRL_RE.search(name) or len(name) > 400:
            raise self.fail(f"数据包中的{what}路径“{shown}”含有控制字符、文字方向控制符或过长，已拒绝导入。")
        parts = name.split("/")
        if any(p in ("..", ".") for p in parts):
            raise self.fail(f"数据包中的{what}路径“{shown}”含有“..”，指向数据包以外的位置，已拒绝导入。")
        if any(p == "" for p in parts):
            raise self.fail(f"数据包中的{what}路径“{shown}”格式不正确，已拒绝导入。")

    # -- bounded reading -----------------------------------------------------------------
    def stream_member(self, fh: Any, info: zipfile.ZipInfo, limit: int, sink: Callable[[bytes], None]) -> None:
        """Inflate one member ourselves, in pieces of at most 1 MiB handed to ``sink``, never
        producing more than ``limit`` bytes; checks its CRC and size."""
        shown = strip_controls(info.filename[:80], "?")
        bomb = self.fail(f"数据包中的文件“{shown}”解压后超过清单声明的大小（{limit} 字节），"
                         "疑似压缩炸弹，已拒绝导入。")
        broken = self.fail(f"数据包中的文件“{shown}”已损坏，无法读取，已拒绝导入。")
        fh.seek(info.header_offset)
        head = fh.read(30)
        if len(head) != 30 or head[:4] != b"PK\x03\x04":
            raise broken
        n, m = struct.unpack("<HH", head[26:30])
        fh.seek(info.header_offset + 30 + n + m)
        method = info.compress_type
        if method == zipfile.ZIP_STORED:
            if info.compress_size > limit:
                raise bomb
            inflater = None
        elif method == zipfile.ZIP_DEFLATED:
            inflater = zlib.decompressobj(-15)
        else:
            raise self.fail(f"数据包中的文件“{shown}”使用了不支持的压缩方式，已拒绝导入。")
        total = 0
        crc = 0
        remaining = info.compress_size
        try:
            while remaining > 0:
                chunk = fh.read(min(_CHUNK, remaining))
                if not chunk:
                    raise broken
                remaining -= len(chunk)
                for piece in self._pieces(inflater, chunk):
                    total += len(piece)
                    if total > limit:
                        raise bomb
                    crc = zlib.crc32(piece, crc)
                    sink(piece)
                if inflater is not None and inflater.eof:
                    break
        except zlib.error:
            raise broken from None
        if inflater is not None and not inflater.eof:
            raise broken
        if crc != info.CRC or total != info.file_size:
            raise self.fail(f"数据包中的文件“{shown}”内容与记录不符（文件已损坏或被篡改），已拒绝导入。")

    @staticmethod
    def _pieces(inflater: Any, chunk: bytes) -> Iterable[bytes]:
        """The output of one compressed chunk, 1 MiB at a time (a chunk of zeros inflates 1000×)."""
        if inflater is None:
            yield chunk
            return
        data = chunk
        while not inflater.eof:
            piece = inflater.decompress(data, _CHUNK)
            data = inflater.unconsumed_tail
            if piece:
                yield piece
            elif not data:
                break  # this chunk is used up and nothing is pending

    def read_member(self, fh: Any, info: zipfile.ZipInfo, limit: int) -> bytes:
        out = bytearray()
        self.stream_member(fh, info, limit, out.extend)
        return bytes(out)

    def parse_json(self, data: bytes, what: str) -> Any:
        items = data.count(b",") + data.count(b"[") + data.count(b"{")
        if items > MAX_JSON_ITEMS:
            raise self.fail(f"数据包中的 {what} 含有的条目过多（{items:,} 个，上限 {MAX_JSON_ITEMS:,} 个），已拒绝导入。")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail(f"数据包中的 {what} 不是 UTF-8 编码的文本，已拒绝导入。") from None
        try:
            return json.loads(text, parse_constant=json_constant, parse_float=json_float)
        except (ValueError, RecursionError) as e:  # ValueError: also an integer over 4300 digits
            where = f"（第 {e.lineno} 行第 {e.colno} 列）" if isinstance(e, json.JSONDecodeError) else ""
            raise self.fail(f"数据包中的 {what} 不是有效的 JSON{where}，已拒绝导入。") from None

    # -- the whole package -------------------------------------------------------------
    def read(self) -> PackageContents:
        path = self.path
        try:
            fh = open_regular(path)
        except FileNotFoundError:
            raise PackageError([f"找不到文件：{path}"]) from None
        except UnsafeFile as e:
            raise PackageError([f"无法导入“{self.name}”：{e}"]) from None
        except OSError as e:
            raise PackageError([f"无法读取“{self.name}”（{e.strerror or e}）"]) from None
        try:
            with fh:
                if os.fstat(fh.fileno()).st_size > MAX_TOTAL_BYTES:
                    raise self.fail(f"文件超过 {MAX_TOTAL_BYTES // (1024 * 1024)} MB 的上限，已拒绝导入。")
                try:
                    check_zip_directory(fh, MAX_MEMBERS, MAX_DIRECTORY_BYTES)
                except ZipDirectoryTooBig as e:
                    raise self.fail(f"数据包中的文件数（{e.entries:,} 个）超过 {MAX_MEMBERS} 个的上限，已拒绝导入。") from None
                try:
                    zf = zipfile.ZipFile(fh)
                except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError,
                        NotImplementedError, struct.error):
                    raise self.fail("这不是集群申报助手的数据包（不是有效的 zip 文件）。") from None
                with zf:
                    return self._read_zip(zf, fh)
        except OSError as e:
            from clusterdesk.fsutil import os_reason

            raise PackageError([f"无法读取“{self.name}”（{os_reason(e)}）"]) from None

    def _read_zip(self, zf: zipfile.ZipFile, fh: Any) -> PackageContents:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise self.fail(f"数据包中的文件数超过 {MAX_MEMBERS} 个，已拒绝导入。")
        counts = Counter(i.filename for i in infos)
        files: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename
            shown = strip_controls(name[:80], "?")
            if counts[name] > 1:
                raise self.fail(f"数据包中有重复的文件“{shown}”，已拒绝导入。")
            mode = (info.external_attr >> 16) & 0o170000
            if mode == 0o120000:
                raise self.fail(f"数据包中的“{shown}”是符号链接，已拒绝导入。")
            if info.flag_bits & 0x1:
                raise self.fail(f"数据包中的文件“{shown}”已加密，已拒绝导入。")
            if name.endswith("/") and info.file_size == 0 and info.compress_size <= 2:
                self.check_name(name[:-1], what="文件夹")
                continue  # a plain folder entry carries no data
            self.check_name(name)
            files[name] = info
        if MANIFEST not in files:
            raise self.fail("这不是集群申报助手的数据包（缺少 manifest.json）。")
        minfo = files.pop(MANIFEST)
        if minfo.file_size > MAX_MANIFEST_BYTES:
            raise self.fail("数据包中的 manifest.json 过大，已拒绝导入。")
        manifest = self.parse_json(self.read_member(fh, minfo, minfo.file_size), MANIFEST)
        form, members = self._check_manifest(manifest)
        self.members = members

        listed, present = set(members), set(files)
        missing, extra = sorted(listed - present), sorted(present - listed)
        if missing:
            raise self.fail(f"数据包缺少清单中列出的文件“{missing[0][:80]}”，已拒绝导入。")
        if extra:
            raise self.fail(f"数据包中的文件“{extra[0][:80]}”没有列在清单中，已拒绝导入。")
        total = sum(m["size"] for m in members.values())
        if total > MAX_TOTAL_BYTES or sum(i.file_size for i in files.values()) > MAX_TOTAL_BYTES:
            raise self.fail(f"数据包解压后的总大小超过 {MAX_TOTAL_BYTES // (1024 * 1024)} MB 的上限，"
                            "疑似压缩炸弹，已拒绝导入。")
        for name, info in files.items():
            declared = members[name]["size"]
            if info.file_size > declared:
                raise self.fail(f"数据包中的文件“{name[:80]}”解压后超过清单声明的大小（{declared} 字节），"
                                "疑似压缩炸弹，已拒绝导入。")
            if info.file_size != declared:
                raise self.fail(f"数据包中的文件“{name[:80]}”的大小与清单不符，已拒绝导入。")
        if members[ANSWERS]["size"] > MAX_ANSWERS_BYTES:
            raise self.fail(f"数据包中的 answers.json 过大（超过 {MAX_ANSWERS_BYTES // (1024 * 1024)} MB），已拒绝导入。")
        from clusterdesk.store import EVIDENCE_MAX_BYTES

        evidence_names = [n for n in files if n.startswith(EVIDENCE_DIR + "/")]
        if len(evidence_names) > MAX_LINKS:
            raise self.fail(f"数据包中的证明材料超过 {MAX_LINKS} 个的上限，已拒绝导入。")
        for name in sorted(files):
            cap = EVIDENCE_MAX_BYTES if name.startswith(EVIDENCE_DIR + "/") else MAX_DOCUMENT_BYTES
            if name != ANSWERS and members[name]["size"] > cap:
                raise self.fail(f"数据包中的文件“{name[:80]}”超过单个文件 {cap // (1024 * 1024)} MB 的上限，已拒绝导入。")

        # answers.json: parsed and checked (evidence index included) before any file is inflated
        answers = self.read_member(fh, files[ANSWERS], members[ANSWERS]["size"])
        if hashlib.sha256(answers).hexdigest() != members[ANSWERS]["sha256"]:
            raise self.fail("数据包中的 answers.json 校验值（SHA-256）与清单不符，文件已损坏或被篡改，已拒绝导入。")
        checked = self._contents(manifest, form, answers, evidence_names)
        del answers

        # every other member: size, checksum and (evidence) content type, inflated once, not kept
        first_use: dict[str, EvidenceItem] = {}
        for e in checked.evidence:
            first_use.setdefault(e.sha256, e)
        for name in sorted(n for n in files if n != ANSWERS):
            parts = PurePosixPath(name).parts
            self._verify(fh, files[name], members[name], first_use.get(parts[1]) if parts[0] == EVIDENCE_DIR else None)
        blobs: dict[str, bytes] = {}
        documents: dict[str, bytes] = {}
        for name in sorted(n for n in files if n != ANSWERS):
            data = self.read_member(fh, files[name], members[name]["size"])
            if hashlib.sha256(data).hexdigest() != members[name]["sha256"]:  # changed since verified
                raise self.fail(f"数据包“{self.name}”在读取时发生了变化，已拒绝导入。")
            if name.startswith(EVIDENCE_DIR + "/"):
                blobs[PurePosixPath(name).parts[1]] = data
            else:
                documents[name[len(DOCUMENTS_DIR) + 1:]] = data
        checked.blobs, checked.documents = blobs, documents
        return checked

    def _verify(self, fh: Any, info: zipfile.ZipInfo, member: dict[str, Any], use: EvidenceItem | None) -> None:
        """Inflate one member without keeping it: size, CRC, SHA-256 and, for evidence (``use``: the
        first place it is used, for the message), the content type."""
        name = info.filename
        hasher = hashlib.sha256()
        sniffer = evidence_types.StreamSniffer() if use is not None else None

        def not_allowed() -> PackageError:
            assert use is not None
            return self.fail(f"{use.where}：证明材料“{strip_controls(use.filename, '?')[:60]}”的内容不是允许的文档或图片"
                             f"（{evidence_types.describe_allowed()}），已拒绝导入。")

        def sink(piece: bytes) -> None:
            hasher.update(piece)
            if sniffer is not None:
                sniffer.feed(piece)
                if sniffer.hopeless():
                    raise not_allowed()

        self.stream_member(fh, info, member["size"], sink)
        if hasher.hexdigest() != member["sha256"]:
            raise self.fail(f"数据包中的文件“{strip_controls(name[:80], '?')}”校验值（SHA-256）与清单不符，"
                            "文件已损坏或被篡改，已拒绝导入。")
        if sniffer is not None:
            if sniffer.kind() is None:
                raise not_allowed()
            if hasher.hexdigest() != PurePosixPath(name).parts[1]:
                raise self.fail(f"数据包中的证明材料“{strip_controls(name[:80], '?')}”与其校验值不符，已拒绝导入。")

    def _check_manifest(self, manifest: Any) -> tuple[FormDef, dict[str, dict[str, Any]]]:
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise self.fail("这不是集群申报助手的数据包（manifest.json 格式不对）。")
        bad = find_non_finite(manifest)
        if bad:
            raise self.fail(f"manifest.json 的“{strip_controls(bad[:80], '?')}”是 NaN 或 Infinity 等非数值，已拒绝导入。")
        version = manifest.get("format_version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise self.fail("数据包的格式版本无效，已拒绝导入。")
        if version > FORMAT_VERSION:
            raise self.fail(f"数据包的格式版本（{version}）比本程序支持的版本（{FORMAT_VERSION}）新，"
                            "请升级集群申报助手后再导入。")
        form_id = manifest.get("form_id")
        if not isinstance(form_id, str) or form_id not in self.catalog:
            known = "、".join(f.id for f in self.catalog)
            raise self.fail(f"数据包使用的表单“{strip_controls(str(form_id)[:60], '?')}”本程序不认识（可用的表单有：{known}），"
                            "请升级集群申报助手后再导入。")
        form = self.catalog.get(form_id)
        fv = manifest.get("form_version")
        if isinstance(fv, bool) or not isinstance(fv, int) or fv < 1:
            raise self.fail("数据包的表单版本无效，已拒绝导入。")
        if fv > form.version:
            raise self.fail(f"数据包使用的“{form.title}”版本（{fv}）比本程序的版本（{form.version}）新，"
                            "请升级集群申报助手后再导入。")
        uid = normalise_uuid(manifest.get("draft_uuid"))
        if uid is None:
            raise self.fail("数据包的草稿标识（draft_uuid）无效，已拒绝导入。")
        manifest["draft_uuid"] = uid
        title = manifest.get("title")
        if not isinstance(title, str) or len(title) > 500:
            raise self.fail("数据包的标题无效，已拒绝导入。")
        members = manifest.get("members")
        if not isinstance(members, dict):
            raise self.fail("数据包的清单没有列出文件（members），已拒绝导入。")
        if len(members) > MAX_MEMBERS:
            raise self.fail(f"数据包的清单列出的文件超过 {MAX_MEMBERS} 个，已拒绝导入。")
        for name, m in members.items():
            self.check_name(name)
            if name == MANIFEST:
                raise self.fail("数据包的清单不能列出 manifest.json 自身，已拒绝导入。")
            if (not isinstance(m, dict) or not isinstance(m.get("sha256"), str)
                    or not _SHA_RE.match(m["sha256"]) or isinstance(m.get("size"), bool)
                    or not isinstance(m.get("size"), int) or m["size"] < 0):
                raise self.fail(f"数据包清单中“{name[:80]}”的校验值或大小无效，已拒绝导入。")
            top = name.split("/", 1)[0]
            if name != ANSWERS and top not in (EVIDENCE_DIR, DOCUMENTS_DIR):
                raise self.fail(f"数据包中有不认识的文件“{name[:80]}”，已拒绝导入。")
        if ANSWERS not in members:
            raise self.fail("数据包中缺少填报内容（answers.json），已拒绝导入。")
        return form, members

    def _contents(self, manifest: dict[str, Any], form: FormDef, answers_bytes: bytes,
                  evidence_names: list[str]) -> PackageContents:
        self.form = form
        doc = self.parse_json(answers_bytes, ANSWERS)
        if not isinstance(doc, dict):
            raise self.fail("数据包中的 answers.json 顶层必须是对象，已拒绝导入。")
        if doc.get("form") != form.id:
            raise self.fail("数据包中的 answers.json 与清单的表单不一致，已拒绝导入。")
        if not isinstance(doc.get("answers", {}), dict):
            raise self.fail("数据包中的 answers.json 的 answers 必须是对象，已拒绝导入。")
        from clusterdesk.templates import older_answers

        problems: list[str] = []
        fv = manifest["form_version"]
        raw_answers, notes_in, retired = older_answers(form, doc, fv, self.catalog, problems)
        answers, parsed = parse_answers(form, raw_answers)
        problems += parsed
        notes_in = notes_in or {}
        notes: dict[str, str] = {}
        if not isinstance(notes_in, dict):
            problems.append("notes 必须是对象（栏目 id: 说明）")
        else:
            for key, note in notes_in.items():
                if not isinstance(key, str) or not form.has_cell(key) or not isinstance(note, str):
                    problems.append(f"notes 中的“{strip_controls(str(key)[:60], '?')}”不是有效的栏目说明")
                elif note.strip():
                    notes[key] = note
        index = doc.get("evidence_index") or {}
        if isinstance(index, dict) and fv < form.version:  # evidence of renamed fields goes with them
            index = {(form.current_key(k) or k) if isinstance(k, str) else k: v for k, v in index.items()}
        evidence = self._evidence(index, form, evidence_names, problems, set(retired))
        if not problems:
            rest = {k: v for k, v in doc.items() if k != "answers"}
            bad = find_non_finite(rest)
            if bad:
                problems.append(f"answers.json 的“{strip_controls(bad[:80], '?')}”是 NaN 或 Infinity 等非数值")
        if problems:
            head = f"无法导入“{self.name}”：数据包中的填报内容不符合“{form.title}”的要求，已拒绝导入。"
            raise PackageError([head] + [f"  {p}" for p in problems])
        return PackageContents(
            path=self.path, manifest=manifest, form=form, uuid=manifest["draft_uuid"],
            title=_CTRL_RE.sub("", manifest["title"]).strip(), exported_at=str(manifest.get("exported_at") or ""),
            app_version=str(manifest.get("app_version") or ""), answers=answers, notes=notes,
            evidence=evidence, blobs={}, documents={}, answers_json=doc, retired=retired,
        )

    def _evidence(self, index: Any, form: FormDef, evidence_names: list[str],
                  problems: list[str], retired: set[str] = frozenset()) -> list[EvidenceItem]:  # type: ignore[assignment]
        sizes: dict[str, int] = {}
        for name in evidence_names:
            parts = PurePosixPath(name).parts
            if len(parts) != 3 or not _SHA_RE.match(parts[1]):
                raise self.fail(f"数据包中的证明材料路径“{name[:80]}”格式不正确，已拒绝导入。")
            if parts[1] in sizes:
                raise self.fail(f"数据包中的证明材料“{parts[2][:60]}”重复，已拒绝导入。")
            sizes[parts[1]] = self.members[name]["size"]
        items: list[EvidenceItem] = []
        used: set[str] = set()
        if not isinstance(index, dict):
            problems.append("evidence_index 必须是对象")
            return items
        links = 0
        for key, by_option in index.items():
            if isinstance(key, str) and key in retired and not form.has_cell(key):
                links += self._retired_evidence(key, by_option, sizes, used, items, problems)
                continue
            if not isinstance(key, str) or not form.has_cell(key) or form.cell(key).field.evidence == "none":
                problems.append(f"证明材料中的栏目“{strip_controls(str(key)[:60], '?')}”不需要证明材料或不存在")
                continue
            if not isinstance(by_option, dict):
                problems.append(f"证明材料“{key}”的格式不正确")
                continue
            where = form.cell(key).where
            for option, entries in by_option.items():
                try:
                    ok = isinstance(option, str) and evidence_option(form, key, option) == option
                except InputError:
                    ok = False
                if not ok:
                    problems.append(colon_join(where, f"证明材料的选项“{strip_controls(str(option)[:60], '?')}”不存在"))
                    continue
                if not isinstance(entries, list):
                    problems.append(colon_join(where, "证明材料列表的格式不正确"))
                    continue
                links += len(entries)
                if links > MAX_LINKS:
                    raise self.fail(f"数据包中的证明材料链接超过 {MAX_LINKS} 个的上限，已拒绝导入。")
                for e in entries:
                    if (not isinstance(e, dict) or not isinstance(e.get("file"), str) or not e["file"].strip()
                            or not isinstance(e.get("sha256"), str)):
                        problems.append(colon_join(where, "证明材料记录的格式不正确"))
                        continue
                    why = evidence_types.name_problem(e["file"])
                    if why:
                        problems.append(colon_join(where, why))
                        continue
                    sha = e["sha256"]
                    if sha not in sizes:
                        problems.append(colon_join(where, f"证明材料“{e['file'][:60]}”不在数据包中"))
                        continue
                    used.add(sha)
                    items.append(EvidenceItem(key, option, e["file"], sha, sizes[sha], where))
        if set(sizes) - used and not problems:
            raise self.fail("数据包中有未被任何栏目引用的证明材料，已拒绝导入。")
        return items


    def _retired_evidence(self, key: str, by_option: Any, sizes: dict[str, int], used: set[str],
                          items: list[EvidenceItem], problems: list[str]) -> int:
        """Evidence of a field an earlier version of the form had (旧版本内容): kept as it was
        linked; the files are checked like any other. Returns the number of links."""
        where = f"旧版本栏目“{strip_controls(key[:60], '?')}”"
        if not isinstance(by_option, dict):
            problems.append(f"证明材料“{where}”的格式不正确")
            return 0
        links = 0
        for option, entries in by_option.items():
            if not isinstance(option, str) or not isinstance(entries, list):
                problems.append(colon_join(where, "证明材料列表的格式不正确"))
                continue
            links += len(entries)
            if links > MAX_LINKS:
                raise self.fail(f"数据包中的证明材料链接超过 {MAX_LINKS} 个的上限，已拒绝导入。")
            for e in entries:
                if (not isinstance(e, dict) or not isinstance(e.get("file"), str) or not e["file"].strip()
                        or not isinstance(e.get("sha256"), str) or e["sha256"] not in sizes):
                    problems.append(colon_join(where, "证明材料记录的格式不正确，或文件不在数据包中"))
                    continue
                why = evidence_types.name_problem(e["file"])
                if why:
                    problems.append(colon_join(where, why))
                    continue
                used.add(e["sha256"])
                items.append(EvidenceItem(key, option, e["file"], e["sha256"], sizes[e["sha256"]], where))
        return links


def normalise_uuid(value: Any) -> str | None:
    """A draft uuid in its one canonical spelling (``{…}``, upper case and ``urn:uuid:`` are the
    same uuid: the duplicate check must not be bypassed by spelling it differently), or None.
    (``Store.find_drafts_by_uuid`` compares canonical spellings too, for drafts stored before.)"""
    if not isinstance(value, str) or len(value) > 100:
        return None
    try:
        return str(uuid_module.UUID(value.strip().lower()))
    except ValueError:
        return None


def read_package(path: Path | str, catalog: Catalog | None = None) -> PackageContents:
    """Read and check a package entirely in memory; raises PackageError (one line per problem)."""
    return _Reader(Path(path), catalog or default_catalog()).read()


# ----------------------------------------------------------------------------- importing


def same_content(store: Store, draft_id: int, contents: PackageContents) -> bool:
    """True if the stored draft already holds exactly the package's answers, notes and evidence."""
    if store.get_draft(draft_id).form_id != contents.form_id:
        return False
    if store.get_answers(draft_id) != contents.answers or store.get_notes(draft_id) != contents.notes:
        return False
    mine = sorted((e.key, e.option, e.filename, e.sha256) for e in store.list_evidence(draft_id))
    theirs = sorted((e.key, e.option, e.filename, e.sha256) for e in contents.evidence)
    return mine == theirs


def _fill(store: Store, contents: PackageContents, uuid: str, title: str) -> int:
    """Create a draft from checked contents in one transaction: on any failure nothing is left."""
    form = contents.form
    with store.batch():
        info = store.create_draft(form.id, form.version, title, uuid=uuid)
        store.set_answers(info.id, contents.answers, contents.notes or None)
        if contents.retired:
            from clusterdesk.service import RETIRED_META

            store.set_meta(info.id, RETIRED_META, contents.retired)
        for e in contents.evidence:
            store.add_evidence_bytes(info.id, e.key, e.option, e.filename, contents.blobs[e.sha256])
    return info.id


class SnapshotOnce:
    """Takes one snapshot of the database the first time it is called (a batch of imports shares
    it: with ``keep=5`` a snapshot per package would rotate the state before the batch away)."""

    def __init__(self, store: Store, keep: int = 5):
        self.store, self.keep = store, keep
        self.path: Path | None = None

    def __call__(self) -> Path:
        if self.path is None:
            self.path = self.store.snapshot(keep=self.keep)
        return self.path


def import_package(store: Store, source: Path | str | PackageContents, *, on_duplicate: OnDuplicate = "ask",
                   catalog: Catalog | None = None, snapshot: bool | Callable[[], Path] = True) -> ImportOutcome:
    """Import a package as a draft.

    ``on_duplicate`` decides what happens when the store already holds a draft with the package's
    uuid: ``"ask"`` raises :class:`DuplicatePackage` (nothing is written), ``"replace"`` replaces
    that draft (references from district workspaces follow), ``"keep_both"`` adds a copy with a new
    uuid. The database is snapshotted after every check and before anything is written
    (``snapshot``: True, or a :class:`SnapshotOnce` shared by a batch)."""
    if on_duplicate not in ("ask", "replace", "keep_both"):
        raise ValueError(f"on_duplicate must be ask, replace or keep_both, not {on_duplicate!r}")
    contents = source if isinstance(source, PackageContents) else read_package(source, catalog)
    existing = store.find_drafts_by_uuid(contents.uuid)
    if existing and on_duplicate == "ask":
        raise DuplicatePackage(existing[0], contents)
    snap = snapshot() if callable(snapshot) else store.snapshot(keep=5) if snapshot else None
    title = contents.title or f"未命名{contents.form.form.short_title}"
    if not existing:
        new_id = _fill(store, contents, contents.uuid, title)
        return ImportOutcome(new_id, title, contents.form_id, "created", None, snap)
    if on_duplicate == "keep_both":
        title = f"{title}（副本）"
        new_id = _fill(store, contents, str(uuid_module.uuid4()), title)
        return ImportOutcome(new_id, title, contents.form_id, "kept_both", None, snap)
    old = existing[0]
    from .records import replace_cluster_reference

    with store.batch():  # the new draft, the re-pointed references and the removal: all or nothing
        new_id = _fill(store, contents, contents.uuid, title)
        replace_cluster_reference(store, old.id, new_id)
        for other in existing:
            store.relink_drafts(other.id, new_id)  # e.g. an annual report keeps its application
            store.delete_draft(other.id)
    return ImportOutcome(new_id, title, contents.form_id, "replaced", old.id, snap)


def import_packages(store: Store, sources: Iterable[Path | str | PackageContents], *,
                    on_duplicate: OnDuplicate = "ask", catalog: Catalog | None = None) -> list[ImportOutcome]:
    """Import several packages as one operation: every package is read and checked first (a refused
    one, or a duplicate with ``"ask"``, stops the batch before anything is written), then one
    snapshot is taken and the drafts are written in ONE transaction: after a crash, a full disk or
    any error either every package is in the database or none is."""
    catalog = catalog or default_catalog()
    contents = [s if isinstance(s, PackageContents) else read_package(s, catalog) for s in sources]
    seen: dict[str, Path] = {}
    for c in contents:
        if c.uuid in seen:
            raise PackageError([f"“{c.path.name}”与“{seen[c.uuid].name}”是同一份草稿的数据包，请只导入其中一个"])
        seen[c.uuid] = c.path
        existing = store.find_drafts_by_uuid(c.uuid)
        if existing and on_duplicate == "ask":
            raise DuplicatePackage(existing[0], c)
    once = SnapshotOnce(store)
    if contents:
        once()  # before the transaction: a snapshot cannot be taken inside it
    with store.batch():
        return [import_package(store, c, on_duplicate=on_duplicate, catalog=catalog, snapshot=once) for c in contents]


def package_file_name(title: str) -> str:
    """Suggested file name of a draft's package: ``<title>.cdpkg`` with unsafe characters replaced."""
    return safe_member_name(title or "数据包") + SUFFIX


__all__ = [
    "FORMAT", "FORMAT_VERSION", "MAX_TOTAL_BYTES", "SUFFIX", "DuplicatePackage", "EvidenceItem",
    "ImportOutcome", "PackageContents", "PackageError", "SnapshotOnce", "export_documents", "import_package",
    "import_packages",
    "package_file_name", "read_package", "same_content", "write_package",
]

"""Builders of hostile files for the round-2 tests (not a test module): real evidence files of every
allowed type and of forbidden ones, packages rebuilt with changed members, and .xlsx templates that
are small on disk but declare or expand into huge sheets."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path
from typing import Any

from rel_support import HERE, PYTHON, child_env

# ----------------------------------------------------------------------------- evidence files


def pdf_bytes(text: str = "evidence") -> bytes:
    """A small, valid one-page PDF."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"]
    out = bytearray(b"%PDF-1.4\n% " + text.encode("ascii", "replace") + b"\n")
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def png_bytes() -> bytes:
    """A valid 1×1 white PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff")) + chunk(b"IEND", b""))


# a valid 1×1 baseline JPEG (the smallest well-formed file every decoder opens)
JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d1a"
    "1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b080001000101011100ffc4001f"
    "0000010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d010203"
    "00041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a343536373839"
    "3a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4"
    "a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa"
    "ffda0008010100003f00fbd3ffd9")


def tiff_bytes() -> bytes:
    """A valid 1×1 bilevel TIFF (little endian)."""
    entries = [(256, 3, 1, 1), (257, 3, 1, 1), (258, 3, 1, 1), (259, 3, 1, 1), (262, 3, 1, 0),
               (273, 4, 1, 8 + 2 + 9 * 12 + 4), (277, 3, 1, 1), (278, 3, 1, 1), (279, 4, 1, 1)]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHII", tag, typ, count, value) for tag, typ, count, value in entries) + b"\0\0\0\0"
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\x80"


def ole_bytes() -> bytes:
    """The start of an OLE2 compound file (the container of .doc/.xls/.wps/.et)."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16 + struct.pack("<HHH", 0x3E, 3, 0xFFFE)
    return header + b"\0" * (512 - len(header)) + b"\xff" * 512


def docx_bytes(tmp: Path) -> bytes:
    from docx import Document

    d = Document()
    d.add_paragraph("佐证材料")
    p = tmp / "w.docx"
    d.save(p)
    return p.read_bytes()


def xlsx_bytes(tmp: Path) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["佐证材料", 1])
    p = tmp / "x.xlsx"
    wb.save(p)
    return p.read_bytes()


def ofd_bytes() -> bytes:
    """A minimal OFD package (GB/T 33190): OFD.xml at the root and one document."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("OFD.xml", '<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" '
                    'Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>'
                    '</ofd:DocBody></ofd:OFD>')
        zf.writestr("Doc_0/Document.xml", '<?xml version="1.0" encoding="UTF-8"?><ofd:Document '
                    'xmlns:ofd="http://www.ofdspec.org/2016"/>')
    return buf.getvalue()


def allowed_files(tmp: Path) -> dict[str, bytes]:
    """One real file of every allowed type, by name."""
    return {"扫描件.pdf": pdf_bytes(), "照片.jpg": JPEG, "照片2.jpeg": JPEG, "截图.png": png_bytes(),
            "扫描.tif": tiff_bytes(), "扫描2.tiff": tiff_bytes(), "电子证照.ofd": ofd_bytes(),
            "说明.docx": docx_bytes(tmp), "明细.xlsx": xlsx_bytes(tmp), "旧说明.doc": ole_bytes(),
            "旧明细.xls": ole_bytes(), "金山文字.wps": ole_bytes(), "金山表格.et": ole_bytes()}


EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\0" * 48 + b"PE\0\0" + b"\0" * 200
BAT = "@echo off\r\ndel /q %USERPROFILE%\\Documents\\*\r\n".encode()
HTA = b'<html><head><hta:application id="x"/><script language="VBScript">CreateObject("WScript.Shell").Run "calc"</script></head></html>'
LNK = b"L\x00\x00\x00\x01\x14\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00F" + b"\0" * 60


def forbidden_files() -> dict[str, bytes]:
    """Programs, scripts and shortcuts — by name, and disguised as documents by name or by bidi."""
    return {
        "佐证.exe": EXE, "佐证.bat": BAT, "佐证.hta": HTA, "佐证.lnk": LNK, "佐证.cmd": BAT, "佐证.js": b"WScript.Echo(1)",
        "佐证.vbs": b"MsgBox 1", "佐证.scr": EXE, "佐证.msi": ole_bytes()[:8] + b"\0" * 100, "佐证.txt": b"plain text",
        "佐证": pdf_bytes(), "佐证.pdf.exe": EXE,
        "佐证\u202efdp.exe": EXE,  # shown as 佐证exe.pdf
        "佐证\u202efdp.pdf": pdf_bytes(),  # even a real PDF: the name lies about itself
        "佐证\u200e.pdf": pdf_bytes(), "佐证\u200f.pdf": pdf_bytes(), "佐证\u2066x\u2069.pdf": pdf_bytes(),
        "佐证\u2067.pdf": pdf_bytes(), "佐证\u2068.pdf": pdf_bytes(), "佐证\x1b[31m.pdf": pdf_bytes(),
        "佐证\x85.pdf": pdf_bytes(), "佐证\x9b2J.pdf": pdf_bytes(), "佐证\x07.pdf": pdf_bytes(),
        # content that is not what the name says
        "发票.pdf": EXE, "照片.jpg": BAT, "说明.docx": b"PK\x03\x04" + b"\0" * 100, "明细.xlsx": ofd_bytes()[:40],
        "旧说明.doc": HTA, "截图.png": LNK, "空文件.pdf": b"",
    }


# ----------------------------------------------------------------------------- packages


def zip_members(members: dict[str, bytes], level: int = 9) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for name, data in members.items():
            zi = zipfile.ZipInfo(name, (2024, 5, 1, 8, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(zi, data, compresslevel=level)
    return buf.getvalue()


def package_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def rebuild_package(members: dict[str, bytes], *, answers: dict | bytes | None = None,
                    manifest_changes: dict | None = None, extra: dict[str, bytes] | None = None) -> bytes:
    """The package with answers.json replaced, members added, and a manifest that matches them."""
    m = dict(members)
    if answers is not None:
        m["answers.json"] = answers if isinstance(answers, bytes) else json.dumps(
            answers, ensure_ascii=False).encode("utf-8")
    m.update(extra or {})
    manifest = json.loads(m.pop("manifest.json"))
    manifest.update(manifest_changes or {})
    manifest["members"] = {n: {"sha256": hashlib.sha256(b).hexdigest(), "size": len(b)} for n, b in m.items()}
    return zip_members({"manifest.json": json.dumps(manifest, ensure_ascii=False).encode("utf-8"), **m})


# ----------------------------------------------------------------------------- measured reads


def measured_read(op: str, path: Path, timeout: float = 300) -> dict[str, Any]:
    """Read ``path`` (op "template" or "package") in a fresh interpreter; its outcome and figures."""
    proc = subprocess.run([PYTHON, str(HERE / "hostile_worker.py"), op, str(path)], capture_output=True,
                          text=True, timeout=timeout, env=child_env())
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- xlsx templates


def sheet_members(path: Path) -> dict[str, str]:
    """{sheet title: member name} of an .xlsx."""
    from clusterdesk.export.xlsxkit import _sheet_titles

    with zipfile.ZipFile(path) as zf:
        return {title: member for member, title in _sheet_titles(zf).items()}


def xlsx_with(src: Path, dst: Path, replace: dict[str, bytes], level: int = 9) -> Path:
    """A copy of ``src`` with some members replaced, compressed at ``level``."""
    with zipfile.ZipFile(src) as zin:
        members = {i.filename: replace.get(i.filename.lower(), zin.read(i)) for i in zin.infolist()}
    for name, data in replace.items():
        if name not in {n.lower() for n in members}:
            members[name] = data
    dst.write_bytes(zip_members(members, level))
    return dst


def sheet_xml(rows_xml: bytes, head: bytes = b"") -> bytes:
    return (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            + head + rows_xml + b"</sheetData></worksheet>")


def inline(text: str) -> bytes:
    return b'<c t="inlineStr"><is><t>' + text.encode("utf-8") + b"</t></is></c>"

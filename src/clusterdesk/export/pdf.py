"""PDF conversion through LibreOffice and PDF inspection through poppler.

:func:`docx_to_pdf` runs ``soffice --headless --convert-to pdf`` with a
private, throw-away user profile (``-env:UserInstallation``), so several
conversions can run in parallel and a LibreOffice window the user has open
does not swallow the job.  The PDF is moved to its destination atomically.

:func:`pdf_page_texts` and :func:`pdf_to_pngs` wrap ``pdftotext`` and
``pdftoppm`` (poppler-utils) for tests and layout checks.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from .atomic import ExportError, atomic_write
from .leftovers import scratch_dir

__all__ = ["PdfUnavailable", "PdfConversionError", "PdfToolMissing", "ExportCancelled", "find_soffice", "docx_to_pdf",
           "pdf_page_texts", "pdf_to_pngs"]

#: Environment variable that may point at the soffice executable.
SOFFICE_ENV = "CLUSTERDESK_SOFFICE"

_WINDOWS_CANDIDATES = (
    r"C:\Program Files\LibreOffice\program\soffice.exe",
    r"C:\Program Files (x86)\LibreOffice\program\soffice.exe",
)
_MAC_CANDIDATES = ("/Applications/LibreOffice.app/Contents/MacOS/soffice",)


class PdfUnavailable(ExportError):
    """LibreOffice (or a poppler tool) is not installed."""


class PdfToolMissing(PdfUnavailable):
    """``pdftotext``/``pdftoppm`` (poppler-utils) is not installed."""


class PdfConversionError(ExportError):
    """LibreOffice ran but produced no usable PDF."""


class ExportCancelled(ExportError):
    """The user cancelled the export: LibreOffice was stopped and nothing of this export is kept."""

    def __init__(self, message: str = "已取消导出，没有留下任何文件。"):
        super().__init__(message)


def _communicate(proc: subprocess.Popen, timeout: float, cancel: Callable[[], bool] | None):
    """``proc.communicate(timeout)``, asking ``cancel()`` every 0.2 s (ExportCancelled if it says so)."""
    if cancel is None:
        return proc.communicate(timeout=timeout)
    deadline = time.monotonic() + timeout
    while True:
        if cancel():
            raise ExportCancelled()
        left = deadline - time.monotonic()
        try:
            return proc.communicate(timeout=max(0.01, min(0.2, left)))
        except subprocess.TimeoutExpired:
            if left <= 0.2:
                raise


def find_soffice() -> str | None:
    """Path of the LibreOffice ``soffice`` executable, or ``None``.

    Looks at ``$CLUSTERDESK_SOFFICE``, then ``soffice``/``libreoffice`` on
    PATH, then the standard Windows and macOS install locations."""
    env = os.environ.get(SOFFICE_ENV)
    if env and Path(env).is_file():
        return env
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    candidates = _WINDOWS_CANDIDATES if sys.platform == "win32" else _MAC_CANDIDATES
    if sys.platform == "win32":
        for var in ("ProgramFiles", "ProgramFiles(x86)", "ProgramW6432"):
            base = os.environ.get(var)
            if base:
                candidates = (*candidates, str(Path(base) / "LibreOffice" / "program" / "soffice.exe"))
    for c in candidates:
        if Path(c).is_file():
            return c
    return None


def _kill_tree(proc: subprocess.Popen) -> None:
    """Kill LibreOffice and its children (soffice starts soffice.bin)."""
    try:
        if sys.platform == "win32":
            subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        else:
            os.killpg(proc.pid, signal.SIGKILL)
    except (OSError, ProcessLookupError):
        pass
    try:
        proc.kill()
    except OSError:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def docx_to_pdf(docx: str | os.PathLike[str], out_dir: str | os.PathLike[str], timeout: float = 180,
                *, soffice: str | None = None, cancel: Callable[[], bool] | None = None) -> Path:
    """Convert *docx* (or another office file, e.g. .xlsx) to
    ``out_dir/<stem>.pdf`` with LibreOffice and return the PDF path.

    A private temporary profile is used for each run, and the result is
    copied into place atomically (an existing PDF is replaced only on
    success).  Raises :class:`PdfUnavailable` when LibreOffice is not
    installed, :class:`PdfConversionError` when conversion fails or exceeds
    *timeout* seconds, and :class:`~clusterdesk.export.atomic.ExportWriteError`
    when *out_dir* is missing or not writable.  Messages are in Chinese.
    ``cancel``: asked while LibreOffice runs; when it returns True, LibreOffice is killed and
    :class:`ExportCancelled` is raised.
    """
    src = Path(docx).resolve()
    dest_dir = Path(out_dir)
    exe = soffice or find_soffice()
    if not exe:
        raise PdfUnavailable("未找到 LibreOffice，无法生成 PDF。请安装 LibreOffice 后重试，"
                             "或直接用 Word/WPS 打开导出的 .docx 文件另存为 PDF。")
    if not src.is_file():
        raise PdfConversionError(f"找不到要转换的文件：{src}")
    dest = dest_dir / (src.stem + ".pdf")

    # The profile, LibreOffice's own temporary files (TMPDIR) and the output all live in one
    # scratch folder of ours: removed afterwards, and after a crash at the next start.
    with scratch_dir("pdf") as tmp_path:
        profile = tmp_path / "profile"
        outdir = tmp_path / "out"
        outdir.mkdir()
        lo_tmp = tmp_path / "tmp"
        lo_tmp.mkdir()
        # Copy the input under a plain ASCII name: avoids quoting and
        # encoding problems with unusual file names on every platform.
        work_src = tmp_path / ("input" + (src.suffix.lower() or ".docx"))
        shutil.copyfile(src, work_src)
        cmd = [exe, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
               "--nolockcheck", "--nodefault", "--nologo", "--convert-to", "pdf",
               "--outdir", str(outdir), str(work_src)]
        popen_kwargs: dict = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "stdin": subprocess.DEVNULL}
        if sys.platform == "win32":
            popen_kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP | getattr(
                subprocess, "CREATE_NO_WINDOW", 0)
        else:
            popen_kwargs["start_new_session"] = True
        env = dict(os.environ)
        env.setdefault("HOME", str(tmp_path))
        env.update(TMPDIR=str(lo_tmp), TEMP=str(lo_tmp), TMP=str(lo_tmp))
        try:
            proc = subprocess.Popen(cmd, env=env, **popen_kwargs)
        except OSError as exc:
            from clusterdesk.fsutil import os_reason

            raise PdfUnavailable(f"无法启动 LibreOffice：{exe}（{os_reason(exc)}）") from exc
        try:
            _out, err = _communicate(proc, timeout, cancel)
        except subprocess.TimeoutExpired:
            _kill_tree(proc)
            raise PdfConversionError(f"生成 PDF 超时（超过 {int(timeout)} 秒），LibreOffice 已被终止。") from None
        except BaseException:
            _kill_tree(proc)
            raise
        produced = outdir / "input.pdf"
        if proc.returncode != 0 or not produced.is_file() or produced.stat().st_size == 0:
            detail = (err or b"").decode("utf-8", "replace").strip().splitlines()
            tail = f"：{detail[-1][:200]}" if detail else ""
            raise PdfConversionError(f"LibreOffice 未能生成 PDF（退出码 {proc.returncode}{tail}）。")
        with open(produced, "rb") as fh:
            if fh.read(5) != b"%PDF-":
                raise PdfConversionError("LibreOffice 生成的 PDF 文件无效。")
        with open(produced, "rb") as fin, atomic_write(dest, "wb") as fout:
            shutil.copyfileobj(fin, fout, 1024 * 1024)
    return dest


def pdf_page_texts(pdf: str | os.PathLike[str], *, layout: bool = True) -> list[str]:
    """Text of each page of *pdf* (``pdftotext -layout``, split on form
    feeds).  Raises :class:`PdfToolMissing` if pdftotext is not installed,
    :class:`PdfConversionError` if it fails."""
    exe = shutil.which("pdftotext")
    if not exe:
        raise PdfToolMissing("未找到 pdftotext（poppler-utils），无法读取 PDF 文本。")
    cmd = [exe, *(["-layout"] if layout else []), "-enc", "UTF-8", os.fspath(pdf), "-"]
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if res.returncode != 0:
        raise PdfConversionError(f"无法读取 PDF 文本：{pdf}（{res.stderr.decode('utf-8', 'replace').strip()}）")
    pages = res.stdout.decode("utf-8", "replace").split("\f")
    if pages and pages[-1].strip() == "":
        pages.pop()  # pdftotext ends every page, including the last, with \f
    return pages


def pdf_to_pngs(pdf: str | os.PathLike[str], out_dir: str | os.PathLike[str], dpi: int = 60,
                prefix: str = "page") -> list[Path]:
    """Render every page of *pdf* to ``out_dir/<prefix>-N.png`` with pdftoppm
    (for looking at a layout) and return the files in page order."""
    exe = shutil.which("pdftoppm")
    if not exe:
        raise PdfToolMissing("未找到 pdftoppm（poppler-utils），无法生成页面预览。")
    out = Path(out_dir)
    res = subprocess.run([exe, "-png", "-r", str(dpi), os.fspath(pdf), str(out / prefix)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if res.returncode != 0:
        raise PdfConversionError(f"无法生成页面预览：{pdf}（{res.stderr.decode('utf-8', 'replace').strip()}）")
    files = list(out.glob(f"{prefix}-*.png"))
    return sorted(files, key=lambda p: int(p.stem.rsplit("-", 1)[1]))

"""Excel (.xlsx) export and safe import helpers (openpyxl, no Qt).

* :func:`write_workbook` streams sheets with openpyxl's write-only mode:
  sanitised unique sheet titles, optional caption rows, a bold header row
  that is frozen and repeated on every printed page, per-column formats,
  column widths computed from the content (East Asian wide characters count
  as 2), wrapped long text, A4 landscape fitted to one page wide.
* User text is always stored as text, never as a formula or error value:
  strings such as ``=1+1``, ``+86…``, ``-5``, ``@x`` or ``#N/A`` become string
  cells (data type ``s``, with Excel's quote prefix on the risky ones), so a
  spreadsheet never executes data typed by an applicant (CSV/formula
  injection).  Control characters are removed; text longer than Excel's
  32,767-character cell limit raises :class:`XlsxExportError` instead of
  being silently cut.
* :func:`add_list_validation` adds a drop-down list to a normal (not
  write-only) worksheet, spilling long lists to a hidden sheet.
* :func:`read_workbook_values` reads cached values only (formulas are never
  evaluated) after rejecting XML with DTDs/entities (billion laughs, XXE)
  and zip bombs.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import errno
import os
from copy import copy
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from lxml import etree
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet.cell_range import CellRange
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet import _writer
from openpyxl.worksheet.worksheet import Worksheet

from .atomic import ExportError, ExportWriteError, atomic_write, describe_os_error
from .leftovers import scratch_dir, spool_file
from clusterdesk.textsafe import clean_text, display_width

__all__ = [
    "SheetSpec", "ColumnFormat", "XlsxExportError", "WorkbookReadError",
    "EXCEL_CELL_LIMIT", "MAX_TITLE_LEN", "HIDDEN_LIST_SHEET",
    "write_workbook", "sanitize_sheet_title", "add_list_validation", "read_workbook_values",
    "text_cell_value", "XlsxLimits",
]

EXCEL_CELL_LIMIT = 32767
MAX_TITLE_LEN = 31
MAX_COLUMN_WIDTH = 60
MIN_COLUMN_WIDTH = 6
HIDDEN_LIST_SHEET = "下拉选项"
_FORBIDDEN_TITLE_CHARS = str.maketrans({c: "_" for c in "[]:*?/\\"})
_RISKY_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_ERROR_STRINGS = frozenset(ERROR_CODES) | {"#GETTING_DATA", "#SPILL!", "#CALC!", "#FIELD!",
                                           "#BLOCKED!", "#CONNECT!", "#UNKNOWN!", "#BUSY!"}

ColumnFormat = Literal["general", "text", "number", "integer", "date"]
_NUMBER_FORMATS = {"text": "@", "number": "0.00", "integer": "0", "date": "yyyy-mm-dd",
                   "general": "General"}


class XlsxExportError(ExportError):
    """The workbook cannot be written as requested (Chinese message)."""


class WorkbookReadError(ExportError):
    """An Excel file cannot be read safely (Chinese message)."""


@dataclass
class SheetSpec:
    """One worksheet for :func:`write_workbook`.

    ``title``: sheet name (sanitised: ≤31 characters, no ``[]:*?/\\``,
    unique).  ``title_rows``: caption lines above the header, merged across
    the table width (first one bold, larger).  ``header``: column headings.
    ``rows``: any iterable of row sequences.  ``formats``: per column
    ``"text"`` (stored as text, ``@``), ``"number"`` (``0.00``), ``"integer"``
    (``0``), ``"date"`` (``yyyy-mm-dd``) or ``"general"``/None (by value
    type); a value that does not fit the column format (e.g. "不适用" in a
    number column) is written as text.  ``widths``: optional explicit
    column widths (characters); default computed from content.
    """

    title: str
    header: Sequence[str]
    rows: Iterable[Sequence[Any]] = ()
    title_rows: Sequence[str] = ()
    formats: Sequence[ColumnFormat | None] | None = None
    widths: Sequence[float | None] | None = None


def sanitize_sheet_title(title: str, existing: Iterable[str] = ()) -> str:
    """Make *title* a legal, unique Excel sheet name: control characters and
    ``[]:*?/\\`` replaced, no leading/trailing apostrophe, not the reserved
    name "History", at most 31 characters, unique (case-insensitively)
    among *existing* by appending "(2)", "(3)"…"""
    t = clean_text(title).replace("\n", " ").replace("\t", " ").translate(_FORBIDDEN_TITLE_CHARS)
    t = t.strip().strip("'").strip()
    if not t:
        t = "Sheet"
    if t.casefold() == "history":
        t = "History_"
    t = t[:MAX_TITLE_LEN]
    taken = {e.casefold() for e in existing}
    if t.casefold() not in taken:
        return t
    n = 2
    while True:
        suffix = f"({n})"
        candidate = t[:MAX_TITLE_LEN - len(suffix)] + suffix
        if candidate.casefold() not in taken:
            return candidate
        n += 1


def text_cell_value(value: str, where: str = "") -> str:
    """Clean *value* for a text cell and enforce Excel's 32,767-character
    limit (raises :class:`XlsxExportError`; *where* names the cell in the
    message)."""
    s = clean_text(value)
    if len(s) > EXCEL_CELL_LIMIT:
        loc = f"{where}的" if where else ""
        raise XlsxExportError(
            f"{loc}内容有 {len(s)} 个字符，超过 Excel 单元格上限 {EXCEL_CELL_LIMIT} 个字符，无法导出。"
            f"请精简该内容后重试。")
    return s


def _is_risky(s: str) -> bool:
    return s.startswith(_RISKY_PREFIXES) or s.strip().upper() in _ERROR_STRINGS


class _StyleCache:
    """Resolves a style (dict of cell style attributes) to openpyxl's
    ``StyleArray`` once; cells then get a copy of the array.  Assigning
    style objects per cell hashes them every time and is ~20x slower."""

    def __init__(self, ws) -> None:
        self.ws = ws
        # id(style) -> (style, array); holding the dict keeps its id() valid.
        self._arrays: dict[tuple[int, bool], tuple[dict[str, Any], StyleArray]] = {}

    def array(self, style: dict[str, Any], quote: bool) -> StyleArray:
        key = (id(style), quote)
        hit = self._arrays.get(key)
        if hit is None:
            probe = WriteOnlyCell(self.ws)
            for k, v in style.items():
                setattr(probe, k, v)
            if quote:
                probe.quotePrefix = True
            hit = (style, probe._style)
            self._arrays[key] = hit
        return hit[1]


def _make_text_cell(ws, s: str, style: dict[str, Any], cache: _StyleCache) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=s)
    cell.data_type = "s"  # never a formula ("=…") or an error ("#N/A")
    cell._value = s
    cell._style = copy(cache.array(style, _is_risky(s)))
    return cell


def _make_cell(ws, value: Any, style: dict[str, Any], cache: _StyleCache) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    cell._style = copy(cache.array(style, False))
    return cell


def _bool_text(v: bool) -> str:
    return "是" if v else "否"


def _format_number_text(v: Any, fmt: str) -> str:
    if fmt == "number":
        return f"{float(v):.2f}"
    if fmt == "integer":
        return f"{float(v):.0f}"
    return str(v)


def _normalise(value: Any, fmt: str, where: str) -> tuple[str, Any]:
    """Return (kind, value) with kind in text/number/date/empty."""
    if value is None:
        return "empty", None
    if isinstance(value, bool):
        return "text", _bool_text(value)
    if isinstance(value, str):
        s = text_cell_value(value, where)
        return ("empty", None) if s == "" else ("text", s)
    if isinstance(value, (int, float, Decimal)):
        if fmt == "text":
            return "text", text_cell_value(str(value), where)
        if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
            return "text", str(value)
        if isinstance(value, Decimal):
            value = int(value) if value == value.to_integral_value() and fmt == "integer" else float(value)
        return "number", value
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
        if fmt == "text":
            return "text", value.isoformat()
        return "date", value
    return "text", text_cell_value(str(value), where)


def _display_len(kind: str, value: Any, fmt: str) -> int:
    if kind == "empty":
        return 0
    if kind == "text":
        return display_width(value)
    if kind == "number":
        return len(_format_number_text(value, fmt)) if fmt in ("number", "integer") else len(str(value))
    return 10 if not isinstance(value, _dt.datetime) else 16


_THIN = Side(style="thin", color="000000")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FONT = Font(bold=True)
_CAPTION_FONT = Font(bold=True, size=14)
_SUBCAPTION_FONT = Font(size=11)


def _write_sheet(wb: Workbook, spec: SheetSpec, title: str, *, one_pass: bool = True) -> None:
    """One worksheet. The data rows go out in one pass (:func:`_stream_rows`, as the Word kit's
    table); ``one_pass=False`` sends every cell through openpyxl's own cell writer instead (the
    same XML, ten times slower: the reference the tests compare the one-pass rows with)."""
    ws = wb.create_sheet(title=title)
    header = [text_cell_value(str(h) if h is not None else "", f"工作表“{title}”表头") for h in spec.header]
    ncols = max(1, len(header))
    given = list(spec.formats or [])
    formats: list[ColumnFormat] = [(f or "general") for f in given] + ["general"] * (ncols - len(given))
    for f in formats:
        if f not in _NUMBER_FORMATS:
            raise ValueError(f"unknown column format {f!r}")

    first_data_row = len(spec.title_rows) + 2
    # Materialise and normalise rows (widths must be known before streaming).
    data: list[list[tuple[str, Any]]] = []
    widths = [display_width(h) for h in header] + [0] * (ncols - len(header))
    for r_off, row in enumerate(spec.rows):
        excel_row = first_data_row + r_off
        if len(row) > len(widths):
            widths.extend([0] * (len(row) - len(widths)))
            formats.extend(["general"] * (len(row) - len(formats)))
        out: list[tuple[str, Any]] = []
        for c_idx, value in enumerate(row):
            try:
                kind, v = _normalise(value, formats[c_idx], "")
            except XlsxExportError:  # again, to name the cell (built only when needed: 10,000-row lists)
                _normalise(value, formats[c_idx], f"工作表“{title}”第{excel_row}行第{c_idx + 1}列")
                raise
            out.append((kind, v))
            cur = widths[c_idx]
            # a text's display width is at most twice its length: skip what cannot widen the column
            if cur <= MAX_COLUMN_WIDTH and (kind != "text" or 2 * len(v) > cur):
                w = _display_len(kind, v, formats[c_idx])
                if w > cur:
                    widths[c_idx] = w
        data.append(out)
    ncols = len(widths)

    wrap_cols = [w > MAX_COLUMN_WIDTH for w in widths]
    col_widths = []
    for i, w in enumerate(widths):
        explicit = spec.widths[i] if spec.widths and i < len(spec.widths) else None
        col_widths.append(float(explicit) if explicit else float(min(MAX_COLUMN_WIDTH, max(MIN_COLUMN_WIDTH, w + 2))))
    for i, width in enumerate(col_widths):
        dim = ws.column_dimensions[get_column_letter(i + 1)]
        dim.width = width
    # Multi-line cells also wrap.
    for row in data:
        for i, (kind, v) in enumerate(row):
            if kind == "text" and "\n" in v:
                wrap_cols[i] = True

    # Page setup (must be configured before the first row is streamed).
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_options.horizontalCentered = True
    header_row = len(spec.title_rows) + 1
    ws.freeze_panes = f"A{header_row + 1}"
    ws.print_title_rows = f"{header_row}:{header_row}"

    cache = _StyleCache(ws)
    rows = _RowStream(ws)  # before the first row: the caption and header rows go through it too
    # Caption rows, merged across the table.
    caption_styles = [
        {"font": _CAPTION_FONT, "alignment": Alignment(horizontal="center", vertical="center", wrap_text=True)},
        {"font": _SUBCAPTION_FONT, "alignment": Alignment(horizontal="center", vertical="center", wrap_text=True)},
    ]
    for i, caption in enumerate(spec.title_rows):
        s = text_cell_value(str(caption), f"工作表“{title}”标题")
        ws.append([_make_text_cell(ws, s, caption_styles[min(i, 1)], cache)])
        if ncols > 1:
            ws.merged_cells.add(CellRange(min_col=1, min_row=i + 1, max_col=ncols, max_row=i + 1))

    header_style = {"font": _HEADER_FONT, "border": _BORDER,
                    "alignment": Alignment(horizontal="center", vertical="center", wrap_text=True)}
    ws.append([_make_text_cell(ws, h, header_style, cache) for h in header])

    col_styles: list[dict[str, Any]] = []
    for i in range(ncols):
        fmt = formats[i]
        align = Alignment(vertical="top", wrap_text=wrap_cols[i])
        col_styles.append({
            "text": {"border": _BORDER, "alignment": align, "number_format": "@"},
            "number": {"border": _BORDER, "alignment": align,
                       "number_format": _NUMBER_FORMATS[fmt] if fmt in ("number", "integer") else "General"},
            "date": {"border": _BORDER, "alignment": align, "number_format": "yyyy-mm-dd"},
            "empty": {"border": _BORDER, "alignment": align,
                      "number_format": _NUMBER_FORMATS[fmt]},
        })
        col_styles[-1]["datetime"] = {"border": _BORDER, "alignment": align,
                                      "number_format": "yyyy-mm-dd hh:mm"}
    if one_pass:
        rows.write_xml(data, ncols, col_styles, cache, first_data_row)
        return
    empty: tuple[str, Any] = ("empty", None)
    for row in data:
        cells = []
        for i in range(ncols):
            kind, v = row[i] if i < len(row) else empty
            if kind == "text":
                cells.append(_make_text_cell(ws, v, col_styles[i]["text"], cache))
            else:
                if kind == "date" and isinstance(v, _dt.datetime):
                    kind = "datetime"
                cells.append(_make_cell(ws, v, col_styles[i][kind], cache))
        ws.append(cells)


#: Rows parsed and handed to openpyxl's stream at a time: bounds the memory of a long list.
_XML_CHUNK_ROWS = 500
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


class _RowStream:
    """The ``<sheetData>`` of a write-only worksheet, written by openpyxl's own stream.

    openpyxl (3.1) writes a write-only sheet through a generator (``WriteOnlyWorksheet._write_rows``)
    that turns every appended row into cell objects and every cell into XML, one element at a
    time: about 40 µs a cell, 2.5 s for a 10,000-row list. This generator is that one, and it
    also takes data rows already written as the XML openpyxl writes for them (:meth:`write_xml`):
    the same ``<row>``/``<c>`` elements, attributes and style indexes, parsed by lxml in chunks
    and handed to openpyxl's stream. Everything around the rows (the package, the styles, the
    sheet's columns, panes, merges, page setup and print titles) is openpyxl's."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.next_row = 1
        ws._get_writer()
        ws._rows = self._stream()
        next(ws._rows)

    def _stream(self) -> Iterator[None]:
        ws = self.ws
        try:
            xf = ws._writer.xf.send(True)
        except StopIteration:
            ws._already_saved()
        with xf.element("sheetData"):
            try:
                while True:
                    item = yield
                    if isinstance(item, bytes):  # <sheetData> holding rows already written
                        for row in etree.fromstring(item):
                            xf.write(row)
                    else:  # ws.append(): openpyxl's own cells
                        ws._writer.write_row(xf, ws._values_to_row(item, self.next_row), self.next_row)
                        self.next_row += 1
            except GeneratorExit:
                pass
        ws._writer.xf.send(None)

    def write_xml(self, data: list[list[tuple[str, Any]]], ncols: int, col_styles: list[dict[str, Any]],
                  cache: _StyleCache, first_row: int) -> None:
        """Normalised data rows (``(kind, value)`` cells), written as openpyxl's ``lxml_write_cell``
        writes them: styled empty cells ``<c r s t="n"/>``, numbers ``t="n"`` with ``%.16g``, dates
        as Excel serial numbers, text as inline strings (``xml:space="preserve"`` when it starts or
        ends with white space)."""
        assert self.next_row == first_row, (self.next_row, first_row)
        ws = self.ws
        letters = [get_column_letter(i + 1) for i in range(ncols)]
        ids: dict[tuple[int, str, bool], str] = {}

        def style_id(i: int, kind: str, quote: bool) -> str:
            key = (i, kind, quote)
            sid = ids.get(key)
            if sid is None:
                probe = WriteOnlyCell(ws)
                probe._style = copy(cache.array(col_styles[i][kind], quote))
                sid = ids[key] = str(probe.style_id)  # registers the style, as writing a cell does
            return sid

        epoch = ws.parent.epoch
        empty: tuple[str, Any] = ("empty", None)
        parts: list[str] = []
        r = first_row
        for row in data:
            parts.append(f'<row r="{r}">')
            for i in range(ncols):
                kind, v = row[i] if i < len(row) else empty
                ref = f"{letters[i]}{r}"
                if kind == "text":
                    space = ' xml:space="preserve"' if v != v.strip() else ""
                    parts.append(f'<c r="{ref}" s="{style_id(i, kind, _is_risky(v))}" t="inlineStr"><is>'
                                 f'<t{space}>{v.translate(_XML_ESCAPES)}</t></is></c>')
                elif kind == "empty":
                    parts.append(f'<c r="{ref}" s="{style_id(i, kind, False)}" t="n"/>')
                else:
                    if kind == "date":
                        kind = "datetime" if isinstance(v, _dt.datetime) else "date"
                        v = to_excel(v, epoch)
                    parts.append(f'<c r="{ref}" s="{style_id(i, kind, False)}" t="n"><v>{"%.16g" % v}</v></c>')
            parts.append("</row>")
            r += 1
            if (r - first_row) % _XML_CHUNK_ROWS == 0 or r - first_row == len(data):
                self.ws._rows.send(("<sheetData>" + "".join(parts) + "</sheetData>").encode("utf-8"))
                parts.clear()
        self.next_row = r


def write_workbook(path: str | os.PathLike[str], sheets: Sequence[SheetSpec]) -> Path:
    """Write *sheets* to an .xlsx file atomically and return its path.

    Uses openpyxl's write-only (streaming) mode.  Raises
    :class:`XlsxExportError` for content Excel cannot hold (text over 32,767
    characters) and :class:`~clusterdesk.export.atomic.ExportWriteError`
    when the file cannot be written.  See :class:`SheetSpec` for layout.
    """
    if not sheets:
        raise ValueError("write_workbook needs at least one sheet")
    target = Path(path)
    wb = Workbook(write_only=True)
    # atomic_write checks the folder first, so no row is streamed to a temp file for a folder
    # that cannot take the result
    with _spool_guard(target, wb), atomic_write(target, "wb") as fh:
        used: list[str] = []
        for spec in sheets:
            title = sanitize_sheet_title(spec.title, used)
            used.append(title)
            _write_sheet(wb, spec, title)
        wb.save(fh)
    return target


def save_workbook(wb: Workbook, path: str | os.PathLike[str]) -> Path:
    """Save a normal (not write-only) workbook atomically, with the same error handling."""
    target = Path(path)
    with _spool_guard(target, wb), atomic_write(target, "wb") as fh:
        wb.save(fh)
    return target


@contextmanager
def _spool_guard(target: Path, wb: Workbook) -> Iterator[None]:
    """openpyxl streams every sheet through a spool file. Those go into a private scratch folder
    (leftovers.scratch_dir: removed afterwards, and after a crash at the next start), never
    loose in the system temp folder. A failure there (a full temp disk: OSError, or lxml's
    SerialisationError IO_ENOSPC) becomes ExportWriteError."""
    try:
        with scratch_dir("xlsx"), _closing_spools(wb):
            yield
    except ExportError:
        raise
    except OSError as exc:
        raise ExportWriteError.for_file(target, describe_os_error(exc), exc.errno) from exc
    except etree.SerialisationError as exc:
        full = "ENOSPC" in str(exc)
        raise ExportWriteError.for_file(target, "磁盘空间不足" if full else f"写入失败：{exc}",
                                        errno.ENOSPC if full else None) from exc


@contextmanager
def _closing_spools(wb: Workbook) -> Iterator[None]:
    """Close and delete the spool files of ``wb`` (openpyxl removes them only at exit)."""
    before = set(_writer.ALL_TEMP_FILES)
    try:
        yield
    finally:
        for ws in wb.worksheets:  # write-only sheets keep their stream open (Windows can't delete it)
            writer = getattr(ws, "_writer", None)
            if writer is not None and isinstance(getattr(writer, "out", None), str):
                # the sheet's row stream first, while its writer is open: left to the garbage
                # collector, it ended on a closed writer and Python printed lxml's error
                rows = getattr(ws, "_rows", None)
                for close in (getattr(rows, "close", None), writer.close):
                    if close is None:
                        continue
                    try:
                        close()
                    except Exception:  # a half-written stream after a failure: the file goes all the same
                        pass
        for spool in [f for f in _writer.ALL_TEMP_FILES if f not in before]:
            try:
                os.remove(spool)
            except OSError:
                pass
            _writer.ALL_TEMP_FILES.remove(spool)


def _spool_file(suffix: str = "") -> str:
    name = spool_file(suffix)
    _writer.ALL_TEMP_FILES.append(name)
    return name


# openpyxl makes its worksheet spool files through this one function: send them to our scratch folder.
_writer.create_temporary_file = _spool_file


# --------------------------------------------------------------------------
# Data validation (normal workbooks)
# --------------------------------------------------------------------------

def add_list_validation(ws: Worksheet, cell_range: str, options: Sequence[str], *,
                        allow_blank: bool = True, prompt: str | None = None,
                        error: str | None = None) -> DataValidation:
    """Restrict *cell_range* (e.g. ``"C2:C200"``) of a normal worksheet to a
    drop-down list of *options*; invalid input is rejected with a message
    (``showErrorMessage=True``).

    Excel limits an inline list to 255 characters and cannot quote commas,
    so longer lists or options containing ``,``/``"`` are written (as text)
    to a hidden sheet named :data:`HIDDEN_LIST_SHEET` and referenced by
    range.  Not usable on write-only worksheets.
    """
    if not isinstance(ws, Worksheet):
        raise TypeError("add_list_validation needs a normal (not write-only / read-only) worksheet")
    opts: list[str] = []
    for o in options:
        if o is None:
            continue
        s = clean_text(str(o)).replace("\n", " ").strip()
        if s and s not in opts:
            opts.append(s)
    if not opts:
        raise ValueError("a list validation needs at least one option")
    inline = ",".join(opts)
    if len(inline) <= 253 and not any("," in o or '"' in o for o in opts):
        formula = f'"{inline}"'
    else:
        formula = _options_range(ws.parent, opts)
    dv = DataValidation(
        type="list", formula1=formula, allow_blank=allow_blank,
        showErrorMessage=True, errorStyle="stop", errorTitle="输入无效",
        error=(error or "请从下拉列表中选择一项。")[:255],
        showInputMessage=bool(prompt), promptTitle="请选择" if prompt else None,
        prompt=prompt[:255] if prompt else None,
    )
    dv.showDropDown = False  # (sic) False means: show the in-cell arrow
    ws.add_data_validation(dv)
    dv.add(cell_range)
    return dv


def _options_range(wb: Workbook, opts: list[str]) -> str:
    if HIDDEN_LIST_SHEET in wb.sheetnames:
        sheet = wb[HIDDEN_LIST_SHEET]
        col = sheet.max_column + 1 if sheet.cell(1, 1).value is not None else 1
    else:
        sheet = wb.create_sheet(HIDDEN_LIST_SHEET)
        col = 1
    sheet.sheet_state = "hidden"
    for r, s in enumerate(opts, start=1):
        s = text_cell_value(s, "下拉选项")
        cell = sheet.cell(row=r, column=col)
        cell.value = s
        cell.data_type = "s"
        if _is_risky(s):
            cell.quotePrefix = True
    letter = get_column_letter(col)
    return f"'{HIDDEN_LIST_SHEET}'!${letter}$1:${letter}${len(opts)}"


# --------------------------------------------------------------------------
# Safe reading
# --------------------------------------------------------------------------

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True)
class XlsxLimits:
    """Caps on every dimension of a workbook, checked by streaming each part before openpyxl
    loads anything: a 155 KB file can declare a sheet of a million rows × 16,384 columns, or
    expand into millions of cells, shared strings or styles, and openpyxl would build them all.
    The defaults fit the fill-in templates (the largest table: 10,000 rows)."""

    max_members: int = 500
    max_total_bytes: int = 100 * 1024 * 1024  # sum of the declared uncompressed sizes
    max_sheet_bytes: int = 64 * 1024 * 1024  # one worksheet or the shared strings, uncompressed
    max_part_bytes: int = 4 * 1024 * 1024  # any other part
    max_sheets: int = 100
    max_rows: int = 10_010  # highest row number of a sheet
    max_columns: int = 64  # highest column number (BL)
    max_cells: int = 250_000  # cells of one sheet
    max_shared_strings: int = 250_000
    max_styles: int = 20_000  # elements of styles.xml


class _TooBig(Exception):
    pass


def _col_number(ref: str) -> int:
    n = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            n = n * 26 + ord(ch) - 64
        else:
            break
    return n


def _sheet_titles(zf: zipfile.ZipFile) -> dict[str, str]:
    """``{"xl/worksheets/sheet1.xml": "填报", …}`` for messages (empty if the parts are odd)."""
    from defusedxml.ElementTree import fromstring

    try:
        rels = fromstring(zf.read("xl/_rels/workbook.xml.rels"), forbid_dtd=True)
        book = fromstring(zf.read("xl/workbook.xml"), forbid_dtd=True)
    except Exception:  # the checks that follow name the problem
        return {}
    targets = {r.get("Id"): r.get("Target", "").lstrip("/") for r in rels}
    out: dict[str, str] = {}
    for el in book.iter():
        if el.tag.rpartition("}")[2] == "sheet":
            rid = next((v for k, v in el.attrib.items() if k.rpartition("}")[2] == "id"), None)
            target = targets.get(rid, "")
            out[(target if target.startswith("xl/") else f"xl/{target}").lower()] = el.get("name", "")
    return out


class _Counter:
    """SAX handler counting what openpyxl would build from one part; raises _TooBig at a cap."""

    def __init__(self, kind: str, limits: XlsxLimits, where: str):
        self.kind, self.limits, self.where = kind, limits, where
        self.rows = self.cells = self.row_cells = self.count = self.max_row = 0

    # the SAX ContentHandler interface (only what the counting needs)
    def setDocumentLocator(self, locator: Any) -> None: ...
    def startDocument(self) -> None: ...
    def endDocument(self) -> None: ...
    def startPrefixMapping(self, prefix: Any, uri: Any) -> None: ...
    def endPrefixMapping(self, prefix: Any) -> None: ...
    def endElement(self, name: str) -> None: ...
    def characters(self, content: str) -> None: ...
    def ignorableWhitespace(self, whitespace: str) -> None: ...
    def processingInstruction(self, target: str, data: str) -> None: ...
    def skippedEntity(self, name: str) -> None: ...

    def startElement(self, name: str, attrs: Any) -> None:
        tag = name.rpartition(":")[2]
        lim = self.limits
        if self.kind == "other":
            raise _Done  # the DTD (if any) came before the first element: checked
        if self.kind == "sheet":
            if tag == "row":
                self.rows += 1
                self.row_cells = 0
                r = attrs.get("r")
                self.max_row = int(r) if r and r.isdigit() and len(r) < 9 else self.max_row + 1
                if self.max_row > lim.max_rows or self.rows > lim.max_rows:
                    raise _TooBig(f"{self.where}用到了第 {max(self.max_row, self.rows):,} 行，"
                                  f"超过 {lim.max_rows:,} 行的上限")
            elif tag == "c":
                self.cells += 1
                self.row_cells += 1
                ref = attrs.get("r")
                col = _col_number(ref) if ref else self.row_cells
                if col > lim.max_columns or self.row_cells > lim.max_columns:
                    raise _TooBig(f"{self.where}用到了第 {max(col, self.row_cells):,} 列，"
                                  f"超过 {lim.max_columns} 列的上限")
                if self.cells > lim.max_cells:
                    raise _TooBig(f"{self.where}的单元格超过 {lim.max_cells:,} 个的上限")
        elif self.kind == "strings":
            if tag == "si":
                self.count += 1
                if self.count > lim.max_shared_strings:
                    raise _TooBig(f"共享字符串超过 {lim.max_shared_strings:,} 个的上限")
        else:
            self.count += 1
            if self.count > lim.max_styles:
                raise _TooBig(f"样式定义超过 {lim.max_styles:,} 个的上限")


class _Done(Exception):
    pass


def _scan_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: XlsxLimits, where: str) -> None:
    """Stream one XML part through defusedxml's SAX parser (DTDs, entities and external references
    forbidden), counting what openpyxl would build from it: nothing of the part is kept, and the
    scan stops at the first cap (_TooBig)."""
    from defusedxml.expatreader import create_parser

    name = info.filename.lower()
    if name.startswith("xl/worksheets/") and name.endswith(".xml"):
        kind = "sheet"
    elif name == "xl/sharedstrings.xml":
        kind = "strings"
    elif name == "xl/styles.xml":
        kind = "styles"
    else:
        kind = "other"
    parser = create_parser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    parser.setContentHandler(_Counter(kind, limits, where))
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(256 * 1024):
                parser.feed(chunk)
        parser.close()
    except _Done:
        pass


def _check_package(fh: Any, fname: str, limits: XlsxLimits) -> None:
    """Reject oversized, bomb-like and DTD-carrying packages before openpyxl touches the file:
    the zip directory (entries read from its end record first), every declared size, then each
    XML part streamed once (see :func:`_scan_part`)."""
    from xml.sax import SAXException

    from defusedxml import DefusedXmlException

    from clusterdesk.safeio import ZipDirectoryTooBig, check_zip_directory

    unsafe = f"拒绝读取 Excel 文件：{fname}"
    try:
        check_zip_directory(fh, limits.max_members, limits.max_members * 1024)
        zf = zipfile.ZipFile(fh)
    except ZipDirectoryTooBig as exc:
        raise WorkbookReadError(f"{unsafe}（包含 {exc.entries:,} 个部件，超过 {limits.max_members} 个的上限，"
                                "可能是恶意文件）") from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise WorkbookReadError(f"无法读取 Excel 文件：{fname}（文件已损坏或不是 .xlsx 格式）") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_members or sum(i.file_size for i in infos) > limits.max_total_bytes:
            raise WorkbookReadError(f"{unsafe}（解压后体积异常巨大，可能是恶意文件）")
        sheets = [i for i in infos if i.filename.lower().startswith("xl/worksheets/")
                  and i.filename.lower().endswith(".xml")]
        if len(sheets) > limits.max_sheets:
            raise WorkbookReadError(f"{unsafe}（工作表超过 {limits.max_sheets} 个的上限）")
        titles = _sheet_titles(zf) if all(i.file_size <= limits.max_part_bytes for i in infos
                                          if i.filename in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")) else {}
        for info in infos:
            if info.is_dir():
                continue
            name = info.filename.lower()
            big = name in ("xl/sharedstrings.xml",) or info in sheets
            cap = limits.max_sheet_bytes if big else limits.max_part_bytes
            if info.file_size > cap:
                raise WorkbookReadError(f"{unsafe}（部件 {info.filename[:80]} 解压后 {info.file_size // (1024 * 1024)} MB，"
                                        f"超过 {cap // (1024 * 1024)} MB 的上限，可能是恶意文件）")
            try:
                with zf.open(info) as part:
                    head = part.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
                if not (name.endswith((".xml", ".rels", ".vml")) or head.startswith(b"<")):
                    continue
                title = titles.get(name)
                _scan_part(zf, info, limits, f"工作表“{title}”" if title else f"部件 {info.filename[:80]} ")
            except _TooBig as exc:
                raise WorkbookReadError(f"{unsafe}：{exc}。请删除多余的行、列或格式后再导入") from None
            except DefusedXmlException as exc:
                raise WorkbookReadError(f"{unsafe}（包含不安全的 XML 内容：DTD/实体定义，可能是恶意文件）") from exc
            except SAXException as exc:
                if name.endswith((".xml", ".rels")):
                    raise WorkbookReadError(f"无法读取 Excel 文件：{fname}（文件内容已损坏）") from exc
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
                raise WorkbookReadError(f"无法读取 Excel 文件：{fname}（文件已损坏或已加密）") from exc
    fh.seek(0)


def read_workbook_values(path: str | os.PathLike[str] | Any, *, name: str | None = None,
                         limits: XlsxLimits | None = None,
                         max_uncompressed_mb: int | None = None) -> dict[str, list[list[Any]]]:
    """Read every worksheet's cell values: ``{sheet title: rows}``.

    ``path``: a path, or a binary file object opened for reading (``name`` is then shown in
    messages). Formulas are never evaluated: the values cached by Excel are returned
    (``data_only=True``; ``None`` if the file never was calculated).  The package is checked
    first: every dimension against ``limits`` (see :class:`XlsxLimits`), zip bombs, and XML with
    defusedxml (DTD, entity and external references forbidden).  Strings are passed through
    :func:`~clusterdesk.textsafe.clean_text`.  Each row is a list with trailing empty cells
    dropped; trailing empty rows are dropped.

    Raises :class:`WorkbookReadError` (Chinese message) for a missing, legacy .xls, encrypted,
    corrupt, oversized or unsafe file.
    """
    from clusterdesk.safeio import UnsafeFile, open_regular

    limits = limits or XlsxLimits()
    if max_uncompressed_mb is not None:
        limits = dataclasses.replace(limits, max_total_bytes=max_uncompressed_mb * 1024 * 1024)
    if hasattr(path, "read"):
        return _read_values(path, name or str(getattr(path, "name", "工作簿")), limits)
    p = Path(path)
    try:
        fh = open_regular(p)
    except FileNotFoundError:
        raise WorkbookReadError(f"找不到文件：{p}") from None
    except UnsafeFile as exc:
        raise WorkbookReadError(f"无法读取 Excel 文件：{exc}") from None
    except OSError as exc:
        from clusterdesk.fsutil import os_reason

        raise WorkbookReadError(f"无法打开文件：{p}（{os_reason(exc)}）") from exc
    with fh:
        return _read_values(fh, name or p.name, limits)


def _read_values(fh: Any, fname: str, limits: XlsxLimits) -> dict[str, list[list[Any]]]:
    magic = fh.read(8)
    if magic == _OLE_MAGIC:
        raise WorkbookReadError(
            f"无法读取 {fname}：这是旧版 .xls 文件或加密的工作簿，请在 Excel/WPS 中取消密码并另存为 .xlsx 后再导入。")
    if not magic.startswith(b"PK"):
        raise WorkbookReadError(f"无法读取 Excel 文件：{fname}（不是 .xlsx 格式）")
    _check_package(fh, fname, limits)
    try:
        wb = load_workbook(fh, read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises many types for bad packages
        raise WorkbookReadError(f"无法读取 Excel 文件：{fname}（文件已损坏或格式不受支持）") from exc
    result: dict[str, list[list[Any]]] = {}
    try:
        for ws in wb.worksheets:
            if hasattr(ws, "reset_dimensions"):
                ws.reset_dimensions()  # do not trust the stored <dimension>
            rows: list[list[Any]] = []
            for row in ws.iter_rows(values_only=True):
                if len(rows) >= limits.max_rows or len(row) > limits.max_columns:  # checked above too
                    raise WorkbookReadError(f"拒绝读取 Excel 文件：{fname}（工作表“{ws.title}”的行或列超过上限）")
                vals = [clean_text(v) if isinstance(v, str) else v for v in row]
                while vals and (vals[-1] is None or vals[-1] == ""):
                    vals.pop()
                rows.append(vals)
            while rows and not rows[-1]:
                rows.pop()
            result[ws.title] = rows
    except WorkbookReadError:
        raise
    except ValueError as exc:  # openpyxl casting <v>NaN</v> or <v>abc</v> of a number cell
        raise WorkbookReadError(f"无法读取 Excel 文件：{fname}（工作表“{ws.title}”第 {len(rows) + 1} 行有无法识别的数值，"
                                "例如 NaN；请改为数字或清空后再导入）") from exc
    except Exception as exc:
        raise WorkbookReadError(f"无法读取 Excel 文件：{fname}（文件内容已损坏）") from exc
    finally:
        wb.close()
    return result

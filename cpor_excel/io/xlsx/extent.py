"""How far a sheet reaches: its cell range bounded from the XML before any reader builds it.

calamine allocates the dense rectangle of a sheet at once and aborts the process when that fails, so a
two-cell sheet claiming ``XFD1048576`` would kill the run instead of raising: ``check_sheet_extent`` refuses
such a sheet first, in bounded time. Its proof that every cell has a plain ref is what the writer needs too
(``Package.plain_columns``).
"""

from __future__ import annotations

import re

from cpor_excel.errors import NotAWorkbook
from cpor_excel.io.xlsx.scan import columns_up_to, search_windows, utf8_xml
from cpor_excel.model.headers import column_index

#: a sheet whose used range (as a reader would build it) exceeds this many cells is refused
MAX_CELLS = 50_000_000


#: the fast path's bound: cells with plain refs up to column AW and row 999,999 (under MAX_CELLS)
_FAST_COLUMNS = 49
_TAG = re.compile(rb"<(?:[\w.-]+:)?(row|c)(?=[\s/>])([^>]*)>")
_R_ATTR = re.compile(rb'\sr="([^"]*)"')
_REF = re.compile(r"([A-Za-z]{0,3})(\d*)$")


def sheet_extent(xml: bytes) -> tuple[int, int]:
    """Upper bound on (rows, columns) of the range a reader (calamine) builds from this sheet XML.

    Fast path, two C-speed passes: when every cell tag starts with a plain ref (``r="AW999999"`` at most),
    the range is below 50 million cells whatever else the sheet holds (rows only matter for cells without
    refs). Wide or tall sheets: a claim (the last row, the <dimension>) proved by three more passes.
    Otherwise every row and cell tag is walked the way calamine walks them (refs, or counting).
    """
    return _extent(xml)[0]


def _extent(xml: bytes) -> tuple[tuple[int, int], int | None]:
    """``sheet_extent``, and N when every cell tag is proved to start with a plain ref in the first N
    columns (the proof the writer needs: the fast path tries the sheet's likely width first)."""
    xml = utf8_xml(xml)
    match = re.search(rb"<([\w.-]+:)?sheetData[\s/>]", xml)
    if match is None:
        return (0, 0), None
    prefix = match.group(1) or b""
    start = match.start()
    # (from the end, where it is: a search from the start would pass over every cell; were there two, the
    # range to check would only be longer)
    end = xml.rfind(b"</" + prefix + b"sheetData>", start)
    end = len(xml) if end < 0 else end
    # cells under another prefix than sheetData's would escape the fast pattern
    stray = search_windows(re.compile(rb"<c[\s/>]" if prefix else rb":c[\s/>]"), xml, start, end)
    if stray is None:
        # the usual sheet is as wide as its first and last rows: one pass proves it (the writer needs the
        # exact width); else as its <dimension> says; else the bound is AW
        claims = [_edge_columns(xml, prefix, start, end)]
        dimension = re.search(
            rb'<(?:[\w.-]+:)?dimension\b[^>]*?\bref="[^"]*?:?\$?([A-Z]{1,3})\$?\d+"', xml[:start]
        )
        if dimension is not None:
            claims.append(_column_number(dimension.group(1).decode()))
        claims = [claim for claim in claims if 0 < claim < _FAST_COLUMNS]
        for columns in dict.fromkeys([*claims, _FAST_COLUMNS]):
            cell = b"<" + re.escape(prefix) + rb'c(?=[\s/>])(?! r="' + columns_up_to(columns) + rb'\d{1,6}")'
            if search_windows(re.compile(cell), xml, start, end) is None:
                return (999_999, _FAST_COLUMNS), columns
        proved = _proved_extent(xml, prefix, start, end)
        if proved is not None:
            return proved, proved[1]
    return _walk_extent(xml, start), None


def _edge_columns(xml: bytes, prefix: bytes, start: int, end: int) -> int:
    """The column (1-based) of the rightmost cell of the first and the last row, from the refs of their
    last cells (0 when they have none)."""
    cell = b"<" + prefix + b"c "
    first_end = xml.find(b"</" + prefix + b"row>", start, end)
    widest = 0
    for at in (xml.rfind(cell, start, first_end if first_end >= 0 else end), xml.rfind(cell, start, end)):
        ref = _R_ATTR.search(xml, at, xml.find(b">", at)) if at >= 0 else None
        letters = _REF.match(ref.group(1).decode("ascii", "replace")) if ref else None
        if letters is not None and letters.group(1):
            widest = max(widest, _column_number(letters.group(1)))
    return widest


def _proved_extent(xml: bytes, prefix: bytes, start: int, end: int) -> tuple[int, int] | None:
    """(last row, widest column) when the sheet proves them: every cell has a plain ref, none beyond."""
    cell = b"<" + re.escape(prefix) + rb'c(?=[\s/>])(?! r="'
    if re.compile(cell + rb'[A-Z]{1,3}[1-9]\d{0,6}")').search(xml, start, end) is not None:
        return None  # cells without plain refs: only counting tells where they are
    last_row = xml.rfind(b"<" + prefix + b"row", start, end)
    row_ref = _R_ATTR.search(xml, last_row, xml.find(b">", last_row)) if last_row >= 0 else None
    dimension = re.search(
        rb'<(?:[\w.-]+:)?dimension\b[^>]*?\bref="[^"]*?:?\$?([A-Z]{1,3})\$?(\d+)"', xml[:start]
    )
    if row_ref is None or not row_ref.group(1).isdigit() or dimension is None:
        return None
    rows = max(int(row_ref.group(1)), int(dimension.group(2)))
    columns = _column_number(dimension.group(1).decode())
    beyond = b"<" + re.escape(prefix) + rb'c r="(?:[A-Z]{1,3}' + _numbers_above(rows) + b'"|(?!'
    beyond += columns_up_to(columns) + rb"\d))"
    if rows * columns > MAX_CELLS or re.compile(beyond).search(xml, start, end) is not None:
        return None  # not proved, or an overstated claim: the walk finds the real extent
    return (rows, columns)


def _numbers_above(number: int) -> bytes:
    """A regex matching decimal numbers (no leading zero) greater than ``number``."""
    digits = str(number)
    options = [rb"[1-9]\d{%d,}" % len(digits)]
    for i, digit in enumerate(digits):
        if digit != "9":
            rest = rb"\d{%d}" % (len(digits) - i - 1) if len(digits) - i - 1 else b""
            options.append(digits[:i].encode() + b"[" + str(int(digit) + 1).encode() + b"-9]" + rest)
    return b"(?:" + b"|".join(options) + b")"


def _walk_extent(xml: bytes, start: int) -> tuple[int, int]:
    max_row = max_col = row = col = 0
    for tag in _TAG.finditer(xml, start):
        ref = _R_ATTR.search(tag.group(2))
        if tag.group(1) == b"row":
            row = int(ref.group(1)) if ref and ref.group(1).isdigit() else row + 1
            col = 0
            max_row = max(max_row, row)
            continue
        letters, digits = "", ""
        if ref:
            parsed = _REF.match(ref.group(1).decode("ascii", "replace"))
            if parsed:
                letters, digits = parsed.groups()
        col = _column_number(letters) if letters else col + 1
        cell_row = int(digits) if digits else row
        max_row, max_col = max(max_row, cell_row), max(max_col, col)
        if max_row * max_col > MAX_CELLS:
            break
    return (max_row, max_col)


def check_sheet_extent(xml: bytes, sheet: str, workbook: str) -> int | None:
    """Refuse (NotAWorkbook) a sheet whose cell range is absurd, before any reader materialises it.

    Returns N when every cell tag was proved to start with a plain ref in the first N columns, else None.
    """
    (rows, cols), plain = _extent(xml)
    if rows * cols > MAX_CELLS:
        raise NotAWorkbook(
            f"{workbook}: sheet '{sheet}' claims {rows:,} rows x {cols:,} columns, more than "
            f"{MAX_CELLS:,} cells: delete the stray far-away cells (Ctrl+End shows them) and save again."
        )
    return plain


def _column_number(letters: str) -> int:
    """1-based column number of ``A``..``XFD`` (case-insensitive)."""
    return column_index(letters) + 1

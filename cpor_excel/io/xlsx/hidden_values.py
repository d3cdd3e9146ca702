"""What a sheet's cells hold that python-calamine does not give, read from the sheet XML and its tables.

calamine gives an error cell (``#N/A``) and a formula saved without its result alike: as an empty cell.
And it reads an Excel table's totals row like any other row. ``FileBook.read_rows`` puts these right:
- error cells (``t="e"``) get their error text back (only cells with an ``r`` ref, which every producer
  we know writes for them);
- a formula cell with no saved result becomes ``model.cells.Uncalculated`` (its formula), which the rules
  report as ``uncalculated-formula`` instead of as an empty cell;
- the cells of a table's totals row (``totalsRowCount``) are emptied, so the row is no data row.
Each is found by a C-speed search for what only such cells contain; Python looks at those cells alone.
"""

from __future__ import annotations

import re
from typing import Any

from cpor_excel.io.xlsx.cells import xml_text
from cpor_excel.io.xlsx.package import Package
from cpor_excel.model.cells import Uncalculated
from cpor_excel.model.headers import column_index

#: (0-based row, 0-based column, value) of a cell whose value is not calamine's
Override = tuple[int, int, Any]

_ERROR_TYPE = re.compile(rb't="e"')
_ERROR_VALUE = re.compile(rb"<(?:[\w.-]+:)?v\b[^>]*>(.*?)</(?:[\w.-]+:)?v>", re.S)
_CELL_REF = re.compile(rb'\sr="([A-Za-z]{1,3})(\d+)"')
_CELL_CLOSE = re.compile(rb"</(?:[\w.-]+:)?c>")
_PREFIX = re.compile(rb"<([\w.-]+:)?sheetData[\s/>]")
_TABLE_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+):\$?([A-Za-z]{1,3})\$?(\d+)")


def hidden_values(xml: bytes) -> list[Override]:
    """The error cells and the formulas saved without a result of a sheet's XML."""
    # (a regex with a literal start finds these faster than ``in``; a formula is an <f> element, not any
    # tag starting with f, such as the <formula1> of the data validations a template writes)
    found = error_cells(xml) if _ERROR_TYPE.search(xml) else []
    match = _PREFIX.search(xml)
    prefix = (match.group(1) or b"") if match else b""
    if re.compile(b"<" + re.escape(prefix) + rb"f[\s/>]").search(xml):
        found += uncalculated_cells(xml, prefix)
    return found


def error_cells(xml: bytes) -> list[Override]:
    """(0-based row, 0-based column, error text) of the sheet's error cells (``t="e"``)."""
    found: list[Override] = []
    at = xml.find(b't="e"')
    while at >= 0:
        start = xml.rfind(b"<", 0, at)
        tag_end = xml.find(b">", at)
        tag = xml[start:tag_end]
        ref = _CELL_REF.search(tag)
        if ref is not None and re.match(rb"<(?:[\w.-]+:)?c\s", tag) and not tag.endswith(b"/"):
            close = _CELL_CLOSE.search(xml, tag_end)
            value = _ERROR_VALUE.search(xml, tag_end, close.start() if close else len(xml))
            if value is not None:
                column = column_index(ref.group(1).decode("ascii"))
                found.append((int(ref.group(2)) - 1, column, xml_text(value.group(1))))
        at = xml.find(b't="e"', at + 5)
    return found


def uncalculated_cells(xml: bytes, prefix: bytes = b"") -> list[Override]:
    """Formula cells whose result was never saved: the formula (``<f>``) is followed by no value or an
    empty one before the cell ends. The search starts at ``<f``, which only formula cells contain."""
    p = re.escape(prefix)
    pattern = re.compile(
        b"<" + p + rb"f\b[^>]*?(?:/>|>([^<]*)</" + p + rb"f>)"  # the formula, or a shared one's reference
        rb"(?:<" + p + rb"v\s*/>|<" + p + rb"v>\s*</" + p + rb"v>)?</" + p + b"c>"
    )
    cell_start = b"<" + prefix + b"c "
    found: list[Override] = []
    for match in pattern.finditer(xml):
        start = xml.rfind(cell_start, 0, match.start())
        ref = _CELL_REF.search(xml, start, xml.find(b">", start)) if start >= 0 else None
        if ref is None:
            continue
        formula = xml_text(match.group(1) or b"")
        found.append(
            (int(ref.group(2)) - 1, column_index(ref.group(1).decode("ascii")), Uncalculated(formula))
        )
    return found


def totals_rows(package: Package, part: str) -> list[Override]:
    """The cells of the totals rows of the sheet's Excel tables, emptied (None): such a row sums a table,
    it is no record of it."""
    found: list[Override] = []
    for rel in package.relationships(part).values():
        if not rel.type.endswith("/table") or rel.part is None:
            continue
        table = package.parse(rel.part)
        count = int(table.get("totalsRowCount") or 0)
        ref = _TABLE_REF.fullmatch(table.get("ref") or "")
        if count <= 0 or ref is None:
            continue
        first, last = column_index(ref.group(1)), column_index(ref.group(3))
        bottom = int(ref.group(4))
        for row in range(max(bottom - count + 1, int(ref.group(2)) + 1), bottom + 1):
            found += [(row - 1, column, None) for column in range(first, last + 1)]
    return found

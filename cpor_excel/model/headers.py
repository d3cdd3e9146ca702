"""Headers and column letters: how the tool finds a column (by its header) and names it (by its letters).

One rule for every reader and writer of a workbook: the file reader (``io/frames.py``), the file writer
(``io/xlsx/``), the live book in Excel (``excel/live_book.py``) and the tests' books. SPEC "The workbook":
headers, and sheet names, match case-, space- and underscore-insensitively, so "CheckResult", "check_result"
and "Check  Result" are all the Check Result column, whoever looks for it.

Catalogue names (workloads, statuses, settings) are matched by ``catalogue.fold``, which also ignores
hyphens ("Microsoft-Teams"): that rule is for values, this one for headers.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cpor_excel.model.columns import SheetSpec

_IGNORED = re.compile(r"[\s_]+")


def fold_header(text: object) -> str:
    """The key a header (or a sheet name) is matched by: lower case, without spaces or underscores."""
    return _IGNORED.sub("", str(text)).casefold()


#: a title or filter line above the header is tolerated, within reason: the header is among these rows
HEADER_SCAN_ROWS = 10


def header_lookup(spec: SheetSpec) -> dict[str, str]:
    """Folded header text -> canonical column name, for every name and alias of the sheet's columns."""
    lookup: dict[str, str] = {}
    for column in spec.columns:
        for name in (column.name, *column.aliases):
            lookup.setdefault(fold_header(name), column.name)
    return lookup


def header_positions(cells: Iterable[object]) -> dict[str, int]:
    """Folded header text -> 0-based position in a header row; blank cells are skipped and the first
    (leftmost) of two headers folding alike wins, as the reader reads it."""
    found: dict[str, int] = {}
    for position, cell in enumerate(cells):
        if cell is not None and str(cell).strip():
            found.setdefault(fold_header(cell), position)
    return found


@cache
def column_letter(index: int) -> str:
    """Excel letters of a 0-based column index: 0 -> ``A``, 26 -> ``AA``, 16383 -> ``XFD``."""
    n, letters = index + 1, ""
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str) -> int:
    """0-based column index of Excel letters, case-insensitively: ``A`` -> 0, ``ab`` -> 27."""
    number = 0
    for ch in letters.upper():
        number = number * 26 + ord(ch) - 64
    return number - 1


def own_columns(
    cells: Sequence[tuple[int, object]], headers: Sequence[str], marked: Collection[int] | None
) -> dict[str, int]:
    """Folded header -> column of the tool's own column of that header, among a header row's cells
    ((column, text) left to right). With the tool's mark (``marked``: the columns it lists) those columns
    alone; without one (a workbook written before the mark), the tool's block as earlier runs left it: the
    rightmost cell of ``headers[0]`` directly followed by one of ``headers[1]``, and the cells after them
    that carry the other headers, side by side. A user's own column of the same name is never the tool's."""
    wanted = {fold_header(header) for header in headers}
    found: dict[str, int] = {}
    if marked is not None:
        for column, text in cells:
            key = fold_header(text)
            if column in marked and key in wanted:
                found.setdefault(key, column)
        return found
    by_column = {column: fold_header(text) for column, text in cells}
    if len(headers) < 2:
        return {key: column for column, key in reversed(list(by_column.items())) if key in wanted}
    first, second = fold_header(headers[0]), fold_header(headers[1])
    starts = [
        column for column, key in by_column.items() if key == first and by_column.get(column + 1) == second
    ]
    column = max(starts, default=-1)
    while column >= 0 and by_column.get(column) in wanted and by_column[column] not in found:
        found[by_column[column]] = column
        column += 1
    return found

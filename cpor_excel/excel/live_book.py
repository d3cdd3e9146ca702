"""The ``Book`` protocol over a workbook open in Excel (xlwings), for the *Run CPOR checks* button.

Every read and write is a bulk range operation: one call per sheet to read, one per block of adjacent tool
columns to write, because each xlwings call is a round trip to Excel (milliseconds over COM/AppleScript) and a
per-cell loop over 500,000 usage rows would take hours. The workbook is never saved: the partner decides.

xlwings is not imported here: the adapter only calls methods on the objects it is given, so it runs on any
platform against the test double in ``tests/xlwings_double.py``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from cpor_excel.errors import CporError
from cpor_excel.io.book import CellValue
from cpor_excel.io.dashboard import chart_box, grid, lay_out
from cpor_excel.io.looks import NUMBER_FORMATS, RESULT_LOOKS, rgb
from cpor_excel.io.xlsx.tool_marks import MARK, mark_refers_to, marked_columns
from cpor_excel.model.dashboard import Dashboard
from cpor_excel.model.findings import RESULT_LEVELS
from cpor_excel.model.headers import column_letter, fold_header, own_columns

#: Excel's limit on the text of one cell
MAX_CELL_TEXT = 32767
#: Excel refuses a Range() address longer than this (union addresses for colouring are chunked to fit)
MAX_ADDRESS = 255
#: a sheet bigger than this (often a used range stretched by formatting far below the data) is refused
#: rather than pulled through COM for minutes; 500,000 usage rows of 20 columns are 10 million
MAX_READ_CELLS = 30_000_000
#: MsgBox shows at most about 1024 characters
MAX_ALERT = 1000

#: Check Result fills by result level: the file writer's (``io/looks.py``), so both colour a result alike
RESULT_COLOURS: dict[str, tuple[int, int, int]] = {
    level: rgb(RESULT_LOOKS[level].fill or "FFFFFF") for level in RESULT_LEVELS
}
CHECK_RESULT = "Check Result"


def as_excel_value(value: CellValue) -> Any:
    """What to hand Excel so a cell ends up holding exactly ``value``.

    Excel parses text assigned through ``Range.Value`` as if typed: ``=x`` becomes a formula, ``00123`` a
    number, ``2025-04`` a date. A leading apostrophe makes Excel store the rest as text (the apostrophe is
    not part of the value), so every text gets one; that keeps formulas out (SPEC "Safety promises") and
    keeps IDs and ISO dates the text the file writer writes.
    """
    if isinstance(value, str):
        # "" must leave the cell empty: a lone apostrophe would store an empty text that Excel counts as
        # a value (ISBLANK is FALSE, the used range grows)
        return "'" + value[:MAX_CELL_TEXT] if value else None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)
    return value


_to_excel = np.frompyfunc(as_excel_value, 1, 1)

F = TypeVar("F", bound=Callable[..., Any])


def excel_refusal(action: str) -> Callable[[F], F]:
    """Excel's own refusals (a protected sheet, a cell being edited, a closed workbook) become a CporError
    that names the sheet and says what to do, instead of a COM or AppleScript error."""

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def wrapper(self: Any, sheet: str, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, sheet, *args, **kwargs)
            except (CporError, ValueError, TypeError):  # ours, or a bug: not Excel's refusal
                raise
            except Exception as err:
                detail = " ".join(str(err).split())[:200] or type(err).__name__
                raise CporError(
                    f"Excel did not let cpor-excel {action} the sheet {sheet!r} ({detail}): unprotect the sheet "
                    "if it is protected (Review > Unprotect Sheet), leave any cell you are editing, and run "
                    "again. Nothing was saved: close without saving to undo a partial run."
                ) from err

        return wrapper  # type: ignore[return-value]

    return decorate


class LiveBook:
    """A workbook open in Excel, seen through the ``Book`` protocol (``cpor_excel/io/book.py``).

    ``book`` is an ``xlwings.Book`` (or anything with the same surface). Nothing here saves it.
    """

    def __init__(self, book: Any) -> None:
        self._book = book

    # ------------------------------------------------------------------------------------------ reading

    @property
    def name(self) -> str:
        return str(self._book.name)

    @property
    def fullname(self) -> str:
        return str(self._book.fullname)

    def sheet_names(self) -> list[str]:
        return [str(sheet.name) for sheet in self._book.sheets]

    @excel_refusal("read")
    def read_rows(self, sheet: str) -> list[list[Any]]:
        ws = self._book.sheets[sheet]
        last_row, last_col = _last_cell(ws)
        if last_row * last_col > MAX_READ_CELLS:
            raise CporError(
                f"the sheet {sheet!r} reaches {column_letter(last_col - 1)}{last_row} (Excel's used range), "
                f"more than {MAX_READ_CELLS:,} cells: delete the empty rows and columns after your data "
                "(Ctrl+End shows where Excel thinks it ends), save, and run again"
            )
        # From A1, not the used range's own corner: row i of the result must be Excel row i + 1 even when
        # the first rows or columns are empty.
        values = ws.range((1, 1), (last_row, last_col)).options(ndim=2, err_to_str=True).value
        rows: list[list[Any]] = [list(row) for row in values]
        if last_row == 1 and last_col == 1 and rows[0][0] is None:
            return []
        return rows

    # ------------------------------------------------------------------------------------------ writing

    @excel_refusal("write into")
    def set_columns(
        self,
        sheet: str,
        headers: Sequence[str],
        rows: Sequence[int],
        values: Sequence[Sequence[CellValue]],
        *,
        header_row: int = 1,
    ) -> None:
        if not headers:
            return
        if len(rows) and min(rows) <= header_row:
            raise ValueError(f"tool columns are written below the header row (Excel row {header_row + 1} on)")
        ws = self._book.sheets[sheet]
        last_row, last_col = _used_extent(ws)
        # the tool's own columns: those its mark lists, or (no mark yet) its block as earlier runs left it; a
        # user's column of the same name stays the user's
        mark = _mark_of(ws)
        marked = None if mark is None else marked_columns(str(_try(lambda: mark.refers_to) or ""))
        cells = _header_cells(ws, last_col, header_row)
        found = {key: column + 1 for key, column in own_columns(cells, headers, marked).items()}
        columns: list[int] = []
        new_headers: list[tuple[int, str]] = []
        next_free = last_col + 1
        for header in headers:
            col = found.get(fold_header(header))
            if col is None:
                col = next_free
                next_free += 1
                found[fold_header(header)] = col
                new_headers.append((col, header))
            columns.append(col)
        _set_mark(ws, mark, marked, {column - 1 for column in columns})
        if new_headers:
            # appended headers are adjacent by construction: one write
            first = new_headers[0][0]
            ws.range((header_row, first), (header_row, new_headers[-1][0])).value = [
                [as_excel_value(h) for _, h in new_headers]
            ]

        row_index = np.asarray(rows, dtype=np.int64)
        # The block runs from below the header to the last row ever used, so one write both fills the rows
        # given and clears every other cell below the header (stale results of an earlier, longer run).
        top = header_row + 1
        bottom = max(last_row, int(row_index.max()) if len(row_index) else header_row)
        if bottom < top:
            return
        span = bottom - header_row
        at = row_index - top
        for block in _adjacent_runs(columns):
            grid = np.full((span, len(block)), None, dtype=object)
            for k, j in enumerate(block):
                column = np.empty(len(values[j]), dtype=object)
                column[:] = list(values[j])
                grid[at, k] = _to_excel(column) if len(column) else column
            left, right = columns[block[0]], columns[block[-1]]
            ws.range((top, left), (bottom, right)).value = grid.tolist()
            for k, j in enumerate(block):
                if fold_header(headers[j]) == fold_header(CHECK_RESULT):
                    result = np.full(span, None, dtype=object)
                    result[at] = list(values[j])
                    _colour_results(ws, columns[block[k]], result, top)

    @excel_refusal("write into")
    def set_cells(self, sheet: str, cells: Mapping[tuple[int, int], CellValue]) -> None:
        if not cells:
            return
        ws = self._book.sheets[sheet]
        keys = np.asarray(list(cells.keys()), dtype=np.int64).reshape(-1, 2)
        vals = np.empty(len(keys), dtype=object)
        vals[:] = list(cells.values())
        order = np.lexsort((keys[:, 0], keys[:, 1]))  # by column, then row
        keys, vals = keys[order], _to_excel(vals[order])
        # a new run where the column changes or the row is not the previous row + 1
        breaks = np.flatnonzero((np.diff(keys[:, 1]) != 0) | (np.diff(keys[:, 0]) != 1)) + 1
        for start, stop in zip(np.r_[0, breaks], np.r_[breaks, len(keys)], strict=True):
            row, col = int(keys[start, 0]), int(keys[start, 1]) + 1
            ws.range((row, col), (row + stop - start - 1, col)).value = [[v] for v in vals[start:stop]]

    @excel_refusal("write into")
    def append_rows(self, sheet: str, rows: Sequence[Sequence[CellValue]]) -> list[int]:
        if not rows:
            return []
        ws = self._book.sheets[sheet]
        last_row, _ = _used_extent(ws)
        self._write_block(ws, last_row + 1, rows)
        return list(range(last_row + 1, last_row + 1 + len(rows)))

    @excel_refusal("write")
    def replace_sheet(
        self,
        sheet: str,
        header: Sequence[str],
        rows: Sequence[Sequence[CellValue]],
        formats: Mapping[str, str] | None = None,
    ) -> None:
        ws = self._find_sheet(sheet)
        if ws is None:
            ws = self._add_sheet(sheet)
        else:
            ws.clear_contents()
        self._write_block(ws, 1, [list(header), *rows])
        _number_formats(ws, header, 2, len(rows), formats)

    @excel_refusal("write")
    def append_to_sheet(
        self,
        sheet: str,
        header: Sequence[str],
        rows: Sequence[Sequence[CellValue]],
        formats: Mapping[str, str] | None = None,
    ) -> None:
        ws = self._find_sheet(sheet)
        if ws is None:
            ws = self._add_sheet(sheet)
            last_row = 0
        else:
            last_row, _ = _used_extent(ws)
        block = [list(header), *rows] if last_row == 0 else list(rows)
        if block:
            self._write_block(ws, last_row + 1, block)
            _number_formats(ws, header, last_row + 1 + (last_row == 0), len(rows), formats)

    @excel_refusal("write")
    def replace_dashboard(self, sheet: str, dashboard: Dashboard, renaming: str | None = None) -> None:
        """The dashboard's cells, column widths and charts (Excel's own chart objects over the same cells as
        the file writer's), replacing the last run's (``renaming``: under its earlier name, renamed)."""
        old = self._find_sheet(renaming) if renaming is not None else None
        if old is not None and self._find_sheet(sheet) is None:
            old.name = sheet
        ws = self._find_sheet(sheet)
        if ws is None:
            ws = self._add_sheet(sheet)
        else:
            ws.clear_contents()
            for chart in list(ws.charts):
                chart.delete()
        layout = lay_out(dashboard, str(ws.name))
        self._write_block(ws, 1, grid(layout))
        for column, width in layout.widths.items():
            _try(lambda c=column, w=width: setattr(ws.range((1, c + 1)), "column_width", w))
        for chart, placement in layout.charts:
            left, top, width, height = chart_box(placement, layout.widths)
            first = (placement.header_row, placement.first_column + 1)
            last = (placement.header_row + max(len(chart.categories), 1), first[1] + len(chart.series))
            drawn = ws.charts.add(left, top, width, height)
            drawn.set_source_data(ws.range(first, last))
            drawn.chart_type = "bar_clustered" if chart.horizontal else "column_clustered"

    # ------------------------------------------------------------------------------------------ talking

    def tell(self, message: str, title: str) -> None:
        """A message box in Excel (the button's only way to speak)."""
        if len(message) > MAX_ALERT:
            message = message[: MAX_ALERT - 1] + "…"
        self._book.app.alert(message, title=title)

    @contextlib.contextmanager
    def busy(self, status: str) -> Iterator[None]:
        """No repainting or recalculation while the run writes, and a status-bar note; all restored after."""
        app = self._book.app
        saved = _try(lambda: (app.screen_updating, app.calculation))
        _try(lambda: setattr(app, "screen_updating", False))
        _try(lambda: setattr(app, "calculation", "manual"))
        _try(lambda: setattr(app, "status_bar", status))
        try:
            yield
        finally:
            if saved is not None:
                _try(lambda: setattr(app, "calculation", saved[1]))
                _try(lambda: setattr(app, "screen_updating", saved[0]))
            _try(lambda: setattr(app, "status_bar", False))

    # ------------------------------------------------------------------------------------------ helpers

    def _find_sheet(self, name: str) -> Any:
        # Excel sheet names are unique case-insensitively: "cpor report" *is* the CPOR Report sheet.
        for ws in self._book.sheets:
            if str(ws.name).casefold() == name.casefold():
                return ws
        return None

    def _add_sheet(self, name: str) -> Any:
        sheets = self._book.sheets
        active = sheets.active
        ws = sheets.add(name, after=sheets[-1])
        # Excel activates a new sheet; the partner should stay where they pressed the button.
        _try(active.activate)
        return ws

    @staticmethod
    def _write_block(ws: Any, first_row: int, rows: Sequence[Sequence[CellValue]]) -> None:
        width = max(len(r) for r in rows)
        if width == 0:
            return
        grid = np.full((len(rows), width), None, dtype=object)
        for i, row in enumerate(rows):  # rows of a tool sheet: the report, a few ledger lines
            grid[i, : len(row)] = list(row)
        grid = _to_excel(grid)
        ws.range((first_row, 1), (first_row + len(rows) - 1, width)).value = grid.tolist()


def _number_formats(
    ws: Any, header: Sequence[str], first_row: int, count: int, formats: Mapping[str, str] | None
) -> None:
    """Number formats on the rows just written, by column (one call per column)."""
    for column, name in enumerate(header, start=1):
        code = NUMBER_FORMATS.get((formats or {}).get(str(name), ""))
        if code and count:
            ws.range((first_row, column), (first_row + count - 1, column)).number_format = code


def _try(call: Any) -> Any:
    """Cosmetic calls (status bar, repainting) must never stop a run; some Excel builds refuse them."""
    try:
        return call()
    except Exception:
        return None


def _mark_of(ws: Any) -> Any:
    """The tool's mark on the sheet (its sheet-level name ``CporToolColumns``, as the file writer leaves it
    in workbook.xml, ``io/xlsx/tool_marks.py``), or None: no mark, or an Excel that gives no names."""
    for name in _try(lambda: list(ws.names)) or []:
        if str(_try(lambda name=name: name.name) or "").rsplit("!", 1)[-1] == MARK:
            return name
    return None


def _set_mark(ws: Any, mark: Any, marked: set[int] | None, columns: set[int]) -> None:
    """Mark ``columns`` (0-based) as the tool's own on the sheet, unless its mark says so already. Best
    effort: without a mark the next run finds the tool's block by its headers, as before marks existed."""
    if marked == columns:
        return
    refers_to = "=" + mark_refers_to(str(ws.name), columns)
    if mark is not None:
        _try(lambda: setattr(mark, "refers_to", refers_to))
        return
    added = _try(lambda: ws.names.add(MARK, refers_to))
    if added is not None:  # hidden from the Name Manager, as the file writer's hidden="1" (Windows' COM)
        _try(lambda: setattr(added.api, "Visible", False))


def _last_cell(ws: Any) -> tuple[int, int]:
    last = ws.used_range.last_cell
    return int(last.row), int(last.column)


def _used_extent(ws: Any) -> tuple[int, int]:
    """(last used row, last used column), (0, 0) for an empty sheet (Excel reports A1 as its used range)."""
    last_row, last_col = _last_cell(ws)
    if (last_row, last_col) == (1, 1) and ws.range((1, 1)).value is None:
        return 0, 0
    return last_row, last_col


def _header_cells(ws: Any, last_col: int, header_row: int) -> list[tuple[int, object]]:
    """(0-based column, text) of the header row's cells with text."""
    if last_col == 0:
        return []
    row = ws.range((header_row, 1), (header_row, last_col)).options(ndim=2).value[0]
    return [(at, cell) for at, cell in enumerate(row) if cell is not None and str(cell).strip()]


def _adjacent_runs(columns: Sequence[int]) -> list[list[int]]:
    """Indexes into ``columns`` grouped into runs of adjacent sheet columns (each run is one range write)."""
    order = sorted(range(len(columns)), key=lambda j: columns[j])
    runs: list[list[int]] = []
    for j in order:
        if runs and columns[j] == columns[runs[-1][-1]] + 1:
            runs[-1].append(j)
        else:
            runs.append([j])
    return runs


def _colour_results(ws: Any, col: int, results: np.ndarray, top: int = 2) -> None:
    """Fill the Check Result cells from row ``top`` (below the header) by value, in few calls.

    The commonest value (usually OK) colours the whole column in one call; every other value then colours
    its runs of equal cells through union addresses ("J5:J9,J12", at most 255 characters each). On a
    500,000-row sheet with 5% scattered warnings that is about 800 calls instead of 25,000.
    """
    labels = [None, *RESULT_COLOURS]
    codes = pd.Series(results, dtype=object).map({v: i for i, v in enumerate(labels) if v}).fillna(0)
    code = codes.to_numpy(dtype=np.int64)
    span = len(code)
    base = int(np.bincount(code, minlength=len(labels)).argmax())
    letter = column_letter(col - 1)
    ws.range((top, col), (span + top - 1, col)).color = _colour(labels[base])
    breaks = np.flatnonzero(np.diff(code)) + 1
    starts, stops = np.r_[0, breaks], np.r_[breaks, span]
    for value in range(len(labels)):
        if value == base:
            continue
        mine = code[starts] == value
        addresses = [
            f"{letter}{a + top}" if b == a + 1 else f"{letter}{a + top}:{letter}{b + top - 1}"
            for a, b in zip(starts[mine].tolist(), stops[mine].tolist(), strict=True)
        ]
        for union in _chunk_addresses(addresses):
            ws.range(union).color = _colour(labels[value])


def _colour(label: str | None) -> tuple[int, int, int] | None:
    return None if label is None else RESULT_COLOURS[label]


def _chunk_addresses(addresses: list[str]) -> Iterator[str]:
    chunk: list[str] = []
    size = 0
    for address in addresses:
        if chunk and size + 1 + len(address) > MAX_ADDRESS:
            yield ",".join(chunk)
            chunk, size = [], 0
        size += len(address) + (1 if chunk else 0)
        chunk.append(address)
    if chunk:
        yield ",".join(chunk)

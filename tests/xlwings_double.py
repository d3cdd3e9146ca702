"""A recording stand-in for the slice of xlwings the Excel button uses (CI has no Excel).

It keeps cell values in memory so that reads see earlier writes, and behaves like Excel where that matters
to the adapter: numbers come back as floats, dates as datetimes, empty cells as None; text assigned to a cell
is parsed as if typed (``=x`` becomes a formula, ``00123`` a number, ``2025-04`` a date) unless it starts
with an apostrophe; the used range is the box around every cell with a value or a format, and A1 on an empty
sheet. Every call that crosses to Excel is logged in ``book._calls`` as a tuple, so tests can count them.

Public attributes mirror xlwings names exactly (a test checks each one exists in the installed xlwings);
test helpers are module functions or start with an underscore.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cpor_excel.model.headers import column_index, column_letter

Call = tuple[Any, ...]


@dataclass(frozen=True)
class Formula:
    """A cell Excel would evaluate: the adapter must never produce one."""

    text: str


@dataclass(frozen=True)
class CellError:
    """A formula error such as #N/A (xlwings gives None, or the text with err_to_str=True)."""

    text: str


_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*%?\s*$")
_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_ISO_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def typed(text: str) -> Any:
    """What Excel stores when ``text`` is assigned to a cell's Value (as if typed)."""
    if text.startswith("'"):
        return text[1:]
    if text.startswith(("=", "+", "-", "@")) and not _NUMBER.match(text):
        return Formula(text)
    if _NUMBER.match(text):
        number = float(text.strip().rstrip("%"))
        return number / 100 if text.strip().endswith("%") else number
    if m := _ISO_DAY.match(text):
        return dt.datetime(int(m[1]), int(m[2]), int(m[3]))
    if m := _ISO_MONTH.match(text):
        return dt.datetime(int(m[1]), int(m[2]), 1)
    if text.upper() in ("TRUE", "FALSE"):
        return text.upper() == "TRUE"
    return text


def _stored(value: Any) -> Any:
    if isinstance(value, str):
        return typed(value) if value else None
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    raise TypeError(f"xlwings cannot write {type(value).__name__} {value!r}")


_CELL = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")


def _col_index(letters: str) -> int:
    """1-based column of Excel letters (xlwings counts columns from 1)."""
    return column_index(letters) + 1


def _col_letters(n: int) -> str:
    return column_letter(n - 1)


def _parse_area(text: str) -> tuple[int, int, int, int]:
    parts = text.split(":")
    cells = []
    for part in parts:
        m = _CELL.match(part.strip())
        if not m:
            raise ValueError(f"bad address {text!r}")
        cells.append((int(m[2]), _col_index(m[1])))
    (r1, c1), (r2, c2) = cells[0], cells[-1]
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


class App:
    def __init__(self) -> None:
        self._calls: list[Call] = []
        self._screen_updating = True
        self._calculation = "automatic"
        self._status_bar: str | bool = False
        self._alerts: list[tuple[str, str | None]] = []

    def alert(
        self,
        prompt: str,
        title: str | None = None,
        buttons: str = "ok",
        mode: str | None = None,
        callback: str | None = None,
    ) -> str | None:
        self._alerts.append((prompt, title))
        self._calls.append(("alert", prompt, title))
        return None

    @property
    def screen_updating(self) -> bool:
        return self._screen_updating

    @screen_updating.setter
    def screen_updating(self, value: bool) -> None:
        self._calls.append(("screen_updating", value))
        self._screen_updating = value

    @property
    def calculation(self) -> str:
        return self._calculation

    @calculation.setter
    def calculation(self, value: str) -> None:
        if value not in ("automatic", "manual", "semiautomatic"):
            raise ValueError(value)
        self._calls.append(("calculation", value))
        self._calculation = value

    @property
    def status_bar(self) -> str | bool:
        return self._status_bar

    @status_bar.setter
    def status_bar(self, value: str | bool) -> None:
        self._calls.append(("status_bar", value))
        self._status_bar = value


class Book:
    def __init__(
        self, name: str = "Partner.xlsx", fullname: str | None = None, app: App | None = None
    ) -> None:
        self._app = app or App()
        self._calls = self._app._calls
        self._name = name
        self._fullname = fullname if fullname is not None else name
        self._sheets: list[Sheet] = []
        self._active = 0
        self._saved = False

    @property
    def name(self) -> str:
        return self._name

    @property
    def fullname(self) -> str:
        return self._fullname

    @property
    def app(self) -> App:
        return self._app

    @property
    def sheets(self) -> Sheets:
        return Sheets(self)

    def save(self, path: str | None = None, password: str | None = None) -> None:
        self._calls.append(("save", path))
        self._saved = True


class Sheets:
    def __init__(self, book: Book) -> None:
        self._book = book

    def __iter__(self) -> Iterator[Sheet]:
        return iter(list(self._book._sheets))

    def __len__(self) -> int:
        return len(self._book._sheets)

    def __getitem__(self, key: int | str) -> Sheet:
        if isinstance(key, int):
            return self._book._sheets[key]
        for sheet in self._book._sheets:  # Excel looks sheet names up case-insensitively
            if sheet._name.lower() == key.lower():
                return sheet
        raise KeyError(key)

    @property
    def active(self) -> Sheet:
        return self._book._sheets[self._book._active]

    def add(self, name: str | None = None, before: Sheet | None = None, after: Sheet | None = None) -> Sheet:
        if name is not None and name.lower() in (s._name.lower() for s in self._book._sheets):
            raise ValueError(f"Sheet named '{name}' already present in workbook")
        sheet = Sheet(self._book, name or f"Sheet{len(self._book._sheets) + 1}")
        sheets = self._book._sheets
        if after is not None:
            sheets.insert(sheets.index(after) + 1, sheet)
        elif before is not None:
            sheets.insert(sheets.index(before), sheet)
        else:
            sheets.insert(self._book._active, sheet)
        self._book._active = sheets.index(sheet)  # Excel activates a new sheet
        self._book._calls.append(("add_sheet", sheet._name))
        return sheet


class Sheet:
    def __init__(self, book: Book, name: str) -> None:
        self._book = book
        self._name = name
        self._cells: dict[tuple[int, int], Any] = {}
        self._colours: dict[tuple[int, int], Any] = {}
        self._formats: dict[tuple[int, int], str] = {}
        self._widths: dict[int, float] = {}
        self._charts: list[Chart] = []
        self._names: list[Name] = []
        self._protected = False

    def _check_writable(self) -> None:
        if self._protected:  # what pywin32 raises for a protected sheet
            raise OSError(
                -2146827284, "Exception occurred.", (0, "Microsoft Excel", "The cell is protected.", None)
            )

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        if value.lower() in (s._name.lower() for s in self._book._sheets if s is not self):
            raise ValueError("That name is already taken.")
        self._book._calls.append(("rename", self._name, value))
        self._name = value

    @property
    def book(self) -> Book:
        return self._book

    def activate(self) -> None:
        self._book._calls.append(("activate", self._name))
        self._book._active = self._book._sheets.index(self)

    def range(self, cell1: str | tuple[int, int], cell2: str | tuple[int, int] | None = None) -> Range:
        if isinstance(cell1, str) and cell2 is None:
            areas = [_parse_area(a) for a in cell1.split(",")]
            if len(cell1) > 255:
                raise ValueError("Excel refuses a range address longer than 255 characters")
            return Range(self, areas)
        first = cell1 if isinstance(cell1, tuple) else _parse_area(cell1)[:2]
        last = first if cell2 is None else (cell2 if isinstance(cell2, tuple) else _parse_area(cell2)[:2])
        if 0 in first or 0 in last:
            raise IndexError("Attempted to access 0-based Range. xlwings/Excel Ranges are 1-based.")
        r1, c1 = first
        r2, c2 = last
        return Range(self, [(min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2))])

    @property
    def used_range(self) -> Range:
        keys = set(self._cells) | set(self._colours) | set(self._formats)
        if not keys:
            return Range(self, [(1, 1, 1, 1)])
        rows = [r for r, _ in keys]
        cols = [c for _, c in keys]
        return Range(self, [(min(rows), min(cols), max(rows), max(cols))])

    def clear_contents(self) -> None:
        self._check_writable()
        self._book._calls.append(("clear", self._name, "all"))
        self._cells.clear()

    @property
    def charts(self) -> Charts:
        return Charts(self)

    @property
    def names(self) -> Names:
        return Names(self)


class Names:
    """A sheet's own (sheet-level) names, as Excel's Worksheet.Names holds them."""

    def __init__(self, sheet: Sheet) -> None:
        self._sheet = sheet

    def __iter__(self) -> Iterator[Name]:
        return iter(list(self._sheet._names))

    def __len__(self) -> int:
        return len(self._sheet._names)

    def add(self, name: str, refers_to: str) -> Name:
        if not refers_to.startswith("="):
            refers_to = "=" + refers_to
        added = Name(self._sheet, name, refers_to)
        self._sheet._names.append(added)
        self._sheet._book._calls.append(("add_name", self._sheet._name, name, refers_to))
        return added


class _NameApi:
    """The native name object's one property the adapter sets (COM's Name.Visible)."""

    def __init__(self) -> None:
        self.Visible = True


class Name:
    def __init__(self, sheet: Sheet, name: str, refers_to: str) -> None:
        self._sheet, self._name, self._refers_to = sheet, name, refers_to
        self._api = _NameApi()

    @property
    def name(self) -> str:
        """Excel gives a sheet-level name with its sheet: ``Data!Name``, ``'My data'!Name``."""
        sheet = self._sheet._name
        quoted = sheet if re.fullmatch(r"\w+", sheet) else "'" + sheet.replace("'", "''") + "'"
        return f"{quoted}!{self._name}"

    @property
    def refers_to(self) -> str:
        return self._refers_to

    @refers_to.setter
    def refers_to(self, value: str) -> None:
        self._sheet._book._calls.append(("set_name", self._sheet._name, self._name, value))
        self._refers_to = value

    @property
    def api(self) -> _NameApi:
        return self._api

    def delete(self) -> None:
        self._sheet._names.remove(self)


class Charts:
    """A sheet's charts: what was added, where, over which cells, of which type."""

    def __init__(self, sheet: Sheet) -> None:
        self._sheet = sheet

    def __iter__(self) -> Iterator[Chart]:
        return iter(list(self._sheet._charts))

    def __len__(self) -> int:
        return len(self._sheet._charts)

    def add(self, left: float = 0, top: float = 0, width: float = 355, height: float = 211) -> Chart:
        self._sheet._check_writable()
        chart = Chart(self._sheet, (left, top, width, height))
        self._sheet._charts.append(chart)
        self._sheet._book._calls.append(("chart", self._sheet._name, (left, top, width, height)))
        return chart


class Chart:
    def __init__(self, sheet: Sheet, box: tuple[float, float, float, float]) -> None:
        self._sheet = sheet
        self._box = box
        self._source: str | None = None
        self._type = "column_clustered"

    def set_source_data(self, source: Range) -> None:
        self._source = source.address

    @property
    def chart_type(self) -> str:
        return self._type

    @chart_type.setter
    def chart_type(self, value: str) -> None:
        self._type = value

    def delete(self) -> None:
        self._sheet._charts.remove(self)


class Range:
    def __init__(self, sheet: Sheet, areas: list[tuple[int, int, int, int]], **options: Any) -> None:
        self._sheet = sheet
        self._areas = areas
        self._options = options

    # geometry ------------------------------------------------------------------------------------
    def _area(self) -> tuple[int, int, int, int]:
        if len(self._areas) != 1:
            raise NotImplementedError("values of a multi-area range")
        return self._areas[0]

    @property
    def row(self) -> int:
        return self._areas[0][0]

    @property
    def column(self) -> int:
        return self._areas[0][1]

    @property
    def shape(self) -> tuple[int, int]:
        r1, c1, r2, c2 = self._area()
        return r2 - r1 + 1, c2 - c1 + 1

    @property
    def last_cell(self) -> Range:
        _, _, r2, c2 = self._area()
        return Range(self._sheet, [(r2, c2, r2, c2)], **self._options)

    @property
    def address(self) -> str:
        return ",".join(
            f"${_col_letters(c1)}${r1}" + ("" if (r1, c1) == (r2, c2) else f":${_col_letters(c2)}${r2}")
            for r1, c1, r2, c2 in self._areas
        )

    @property
    def sheet(self) -> Sheet:
        return self._sheet

    def options(self, convert: Any = None, **options: Any) -> Range:
        allowed = {"ndim", "numbers", "dates", "empty", "transpose", "expand", "chunksize", "err_to_str"}
        unknown = set(options) - allowed
        if convert is not None or unknown:
            raise TypeError(f"the double supports no converter or option {unknown or convert}")
        return Range(self._sheet, self._areas, **options)

    def _cells_of(self) -> Iterator[tuple[int, int]]:
        for r1, c1, r2, c2 in self._areas:
            for r in range(r1, r2 + 1):
                for c in range(c1, c2 + 1):
                    yield r, c

    # values --------------------------------------------------------------------------------------
    @property
    def value(self) -> Any:
        r1, c1, r2, c2 = self._area()
        self._sheet._book._calls.append(
            ("read", self._sheet._name, self.address, self.shape[0] * self.shape[1])
        )
        err_to_str = self._options.get("err_to_str", False)
        cells = self._sheet._cells

        def out(v: Any) -> Any:
            if isinstance(v, CellError):
                return v.text if err_to_str else None
            if isinstance(v, Formula):
                return None  # the double does not calculate
            return v

        grid = [[out(cells.get((r, c))) for c in range(c1, c2 + 1)] for r in range(r1, r2 + 1)]
        if self._options.get("ndim") == 2:
            return grid
        if len(grid) == 1 and len(grid[0]) == 1:
            return grid[0][0]
        if len(grid) == 1:
            return grid[0]
        if all(len(row) == 1 for row in grid):
            return [row[0] for row in grid]
        return grid

    @value.setter
    def value(self, data: Any) -> None:
        r1, c1, _, _ = self._area()
        rows, cols = self.shape
        if not isinstance(data, list):
            grid = [[data] * cols for _ in range(rows)]
        else:
            grid = data
            # strict on purpose: xlwings would silently spill a mis-shaped list past the range
            if len(grid) != rows or any(not isinstance(row, list) or len(row) != cols for row in grid):
                raise AssertionError(f"block shape does not match range {self.address}")
        self._sheet._check_writable()
        self._sheet._book._calls.append(("write", self._sheet._name, self.address, rows * cols))
        cells = self._sheet._cells
        for i, row in enumerate(grid):
            for j, v in enumerate(row):
                stored = _stored(v)
                if stored is None:
                    cells.pop((r1 + i, c1 + j), None)
                else:
                    cells[(r1 + i, c1 + j)] = stored

    def clear_contents(self) -> None:
        self._sheet._book._calls.append(("clear", self._sheet._name, self.address))
        for key in list(self._cells_of()):
            self._sheet._cells.pop(key, None)

    # formats -------------------------------------------------------------------------------------
    @property
    def color(self) -> Any:
        return self._sheet._colours.get((self.row, self.column))

    @color.setter
    def color(self, rgb: Any) -> None:
        self._sheet._check_writable()
        self._sheet._book._calls.append(("color", self._sheet._name, self.address, rgb))
        for key in self._cells_of():
            if rgb is None:
                self._sheet._colours.pop(key, None)
            else:
                self._sheet._colours[key] = tuple(rgb)

    @property
    def column_width(self) -> float:
        return self._sheet._widths.get(self.column, 8.43)

    @column_width.setter
    def column_width(self, value: float) -> None:
        for _, column in self._cells_of():
            self._sheet._widths[column] = value

    @property
    def number_format(self) -> str:
        return self._sheet._formats.get((self.row, self.column), "General")

    @number_format.setter
    def number_format(self, fmt: str) -> None:
        self._sheet._book._calls.append(("number_format", self._sheet._name, self.address, fmt))
        for key in self._cells_of():
            self._sheet._formats[key] = fmt


# ------------------------------------------------------------------------------------------- helpers


def make_book(
    sheets: dict[str, list[list[Any]]], name: str = "Partner.xlsx", fullname: str | None = None
) -> Book:
    """A double holding ``sheets`` as Excel would: values stored as typed cells, starting at A1."""
    book = Book(name, fullname)
    for sheet_name, rows in sheets.items():
        sheet = Sheet(book, sheet_name)
        book._sheets.append(sheet)
        for r, row in enumerate(rows, start=1):
            for c, v in enumerate(row, start=1):
                if isinstance(v, (Formula, CellError)):
                    sheet._cells[(r, c)] = v
                elif v is not None and v != "":
                    sheet._cells[(r, c)] = _stored(v) if not isinstance(v, str) else v
    book._calls.clear()
    return book


def sheet_rows(book: Book, name: str) -> list[list[Any]]:
    """A sheet's stored values from A1 to its last value (no call is logged)."""
    sheet = Sheets(book)[name]
    if not sheet._cells:
        return []
    last_r = max(r for r, _ in sheet._cells)
    last_c = max(c for _, c in sheet._cells)
    return [[sheet._cells.get((r, c)) for c in range(1, last_c + 1)] for r in range(1, last_r + 1)]


def formulas(book: Book) -> list[tuple[str, int, int, str]]:
    """Every formula cell the double holds: (sheet, row, column, text)."""
    return [
        (s._name, r, c, v.text)
        for s in book._sheets
        for (r, c), v in sorted(s._cells.items())
        if isinstance(v, Formula)
    ]


def colours(book: Book, name: str, col: int) -> dict[int, Any]:
    """Row -> fill colour of one column (1-based) of a sheet."""
    sheet = Sheets(book)[name]
    return {r: rgb for (r, c), rgb in sheet._colours.items() if c == col}


def charts(book: Book, name: str) -> list[tuple[tuple[float, float, float, float], str | None, str]]:
    """A sheet's charts: (left, top, width, height), source address, chart type."""
    return [(c._box, c._source, c._type) for c in Sheets(book)[name]._charts]


def calls(book: Book, kind: str, sheet: str | None = None) -> list[Call]:
    return [c for c in book._calls if c[0] == kind and (sheet is None or c[1] == sheet)]

"""What the Dashboard sheet shows, as plain data: charts (categories and series of numbers) and titled tables.

The engine fills it in (``rules/dashboard.py``); the writer draws it (``io/dashboard.py``, ``io/xlsx/chart.py``)
and the Excel button writes it through xlwings. Nothing here says how it looks on the sheet.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

#: a table cell: text (always shown as text), a number, a date, or nothing
Cell = str | int | float | dt.date | None
_COLOUR = re.compile(r"[0-9A-Fa-f]{6}")


@dataclass(frozen=True)
class Series:
    """One series: a name (the table's header cell) and one value per category (None: no value)."""

    name: str
    values: Sequence[float | int | None]
    kind: Literal["column", "line"] = "column"
    secondary: bool = False  # on a second value axis, at the right
    colour: str | None = None  # RRGGBB; None: the palette's
    point_colours: Sequence[str | None] = ()  # per category (columns only): a bar per status in its colour
    number_format: str = "General"  # how the values' cache and data labels read (Excel's format codes)


@dataclass(frozen=True)
class Chart:
    """A column, bar or line chart (or columns and lines together) over one table of categories."""

    title: str
    categories: Sequence[str]
    series: Sequence[Series]
    horizontal: bool = False  # columns drawn as horizontal bars (long category names read better)
    stacked: bool = False  # columns of one category stacked instead of side by side
    value_title: str | None = None
    secondary_title: str | None = None
    data_labels: bool = False  # each column or point shows its value
    legend: bool = True

    def __post_init__(self) -> None:
        if not self.series:
            raise ValueError("a chart needs at least one series")
        for series in self.series:
            if len(series.values) != len(self.categories):
                raise ValueError(f"series {series.name!r} needs one value per category")
            if series.kind == "line" and self.horizontal:
                raise ValueError("a horizontal bar chart cannot hold a line series")
            for colour in (series.colour, *series.point_colours):
                if colour is not None and not _COLOUR.fullmatch(colour):
                    raise ValueError(f"colour {colour!r} is not RRGGBB")


@dataclass(frozen=True)
class Table:
    """A titled table: a header row, then rows. ``roles``: the format role of each column's cells."""

    title: str
    header: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    roles: Sequence[str] = ()
    note: str | None = None  # a line under the table (what was left out, where to see more)


@dataclass(frozen=True)
class Dashboard:
    title: str
    lines: Sequence[str]  # under the title: as of when, what the run found
    charts: Sequence[Chart]
    tables: Sequence[Table]
    chart_data_title: str = "Chart data"  # the heading above the tables the charts draw

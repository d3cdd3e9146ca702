"""A dashboard sheet: a title, native charts side by side, titled tables, and the tables the charts draw.

The engine says *what* to show as plain data (``Dashboard``: charts, tables, their values); this module says
*where*: ``lay_out`` places every cell and chart, for every writer (``io/xlsx/dashboard_sheet.py`` writes the
worksheet part of a file; the Excel button writes the same cells and charts through xlwings). Cells carry a
format *role* ("title", "header", "amount", ...); the writer maps roles to cell formats in styles.xml.
Nothing here knows a CPOR rule.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate

from cpor_excel.io.book import CellValue
from cpor_excel.io.xlsx.chart import Anchor, Placement
from cpor_excel.model.dashboard import Chart, Dashboard, Table

#: format roles a dashboard uses (the writer gives each a cell format)
ROLES = ("title", "subtitle", "heading", "header", "text", "count", "amount", "percent", "note")
#: pixels of a default row (15 points) and of one character of column width (Calibri 11)
ROW_PIXELS = 20
CHARACTER_PIXELS = 7
#: chart sizes in pixels: the first chart of a band, the others
CHART_SIZES = ((500, 320), (680, 320))
CHART_GAP = 24
_MIN_WIDTH, _MAX_WIDTH = 10, 48


@dataclass
class Layout:
    """Where everything goes: cells (1-based row, 0-based column) with their value and role, column widths
    (characters), custom row heights (points) and each chart's placement."""

    cells: dict[tuple[int, int], tuple[CellValue, str]] = field(default_factory=dict)
    widths: dict[int, float] = field(default_factory=dict)
    heights: dict[int, float] = field(default_factory=dict)
    charts: list[tuple[Chart, Placement]] = field(default_factory=list)

    @property
    def last_row(self) -> int:
        return max((row for row, _ in self.cells), default=1)

    @property
    def last_column(self) -> int:
        return max((column for _, column in self.cells), default=0)


def lay_out(dashboard: Dashboard, sheet: str) -> Layout:
    """Title and lines at the top; the charts in a band below them (side by side); the tables under the
    charts, one after another; then the tables the charts draw, under a heading."""
    layout = Layout()
    layout.cells[(1, 0)] = (dashboard.title, "title")
    layout.heights[1] = 24.0
    for offset, line in enumerate(dashboard.lines):
        layout.cells[(2 + offset, 0)] = (line, "subtitle")
    band_top = 2 + len(dashboard.lines)  # 0-based row of the charts' top edge (a blank row above them)
    row = _band_bottom(dashboard.charts, band_top) + 2
    for table in dashboard.tables:
        row = _put_table(layout, table, row) + 1
    data_tables = [_chart_table(chart) for chart in dashboard.charts]
    if data_tables:
        layout.cells[(row, 0)] = (dashboard.chart_data_title, "heading")
        row += 1
    placements = []
    for chart, table in zip(dashboard.charts, data_tables, strict=True):
        header_row = row + 1  # the table's title is on ``row``
        row = _put_table(layout, table, row) + 1
        placements.append((chart, header_row))
    _set_widths(layout)
    layout.charts = _place_charts(placements, layout.widths, sheet, band_top)
    return layout


def _band_bottom(charts: Sequence[Chart], top: int) -> int:
    """The 1-based row under the chart band (charts sit in one band, each one as tall as the tallest)."""
    if not charts:
        return top
    height = max(size[1] for size in CHART_SIZES)
    return top + -(-height // ROW_PIXELS)


def _put_table(layout: Layout, table: Table, row: int) -> int:
    """Write a table with its title at ``row``; returns the last row used."""
    layout.cells[(row, 0)] = (table.title, "heading")
    for column, name in enumerate(table.header):
        layout.cells[(row + 1, column)] = (name or None, "header")  # (a blank header cell keeps its format)
    for offset, values in enumerate(table.rows, start=2):
        for column, value in enumerate(values):
            if value is not None and value != "":
                role = table.roles[column] if column < len(table.roles) and table.roles[column] else "text"
                layout.cells[(row + offset, column)] = (value, role)
    last = row + 1 + len(table.rows)
    if table.note:
        last += 1
        layout.cells[(last, 0)] = (table.note, "note")
    return last


def _chart_table(chart: Chart) -> Table:
    """The table a chart draws: categories in the first column, one column per series."""
    header = ["", *(series.name for series in chart.series)]
    rows = [
        [category, *(series.values[i] for series in chart.series)]
        for i, category in enumerate(chart.categories)
    ]
    roles = ["text", *("amount" if "0.00" in s.number_format else "count" for s in chart.series)]
    return Table(chart.title, header, rows, roles)


def _set_widths(layout: Layout) -> None:
    """Each column as wide as its longest header or value (titles, headings and notes run over)."""
    longest: dict[int, int] = {}
    for (_, column), (value, role) in layout.cells.items():
        if role in ("title", "subtitle", "heading", "note"):
            continue
        text = f"{value:,.2f}" if isinstance(value, float) else str(value)
        longest[column] = max(longest.get(column, 0), len(text))
    for column in range(layout.last_column + 1):
        layout.widths[column] = float(min(_MAX_WIDTH, max(_MIN_WIDTH, longest.get(column, 0) + 2)))


def column_pixels(width: float) -> int:
    """A column's width in pixels, as Excel draws it (Calibri 11: 7 pixels per character, 5 of padding)."""
    return int(width * CHARACTER_PIXELS + 0.5)


def _place_charts(
    charts: list[tuple[Chart, int]], widths: Mapping[int, float], sheet: str, top: int
) -> list[tuple[Chart, Placement]]:
    """Charts side by side from column A, each starting at the first column boundary after the previous
    one (and a gap); sizes from ``CHART_SIZES``, anchored to cells with offsets in EMU."""
    placed = []
    default = column_pixels(8.43)
    # the left edge of each column, in pixels (ascending: columns are at least a pixel wide)
    edges = [0, *accumulate(column_pixels(widths[c]) if c in widths else default for c in range(512))]
    left_column = 0
    for index, (chart, header_row) in enumerate(charts):
        width, height = CHART_SIZES[min(index, 1)]
        right = edges[left_column] + width
        to_column = bisect_right(edges, right) - 1  # the last column starting at or left of the right edge
        anchor = Anchor(
            left_column,
            top,
            to_column,
            top + height // ROW_PIXELS,
            to_column_offset=(right - edges[to_column]) * 9525,
            to_row_offset=(height % ROW_PIXELS) * 9525,
        )
        placed.append((chart, Placement(sheet, header_row, 0, anchor)))
        left_column = bisect_left(edges, right + CHART_GAP)  # the first column starting after the gap
    return placed


def grid(layout: Layout) -> list[list[CellValue]]:
    """The layout's values as rows from A1 (None where there is no cell): what a live workbook is given."""
    rows: list[list[CellValue]] = [[None] * (layout.last_column + 1) for _ in range(layout.last_row)]
    for (row, column), (value, _) in layout.cells.items():
        rows[row - 1][column] = value
    return rows


def chart_box(placement: Placement, widths: Mapping[int, float]) -> tuple[float, float, float, float]:
    """A chart's left, top, width and height in points (for Excel's own chart objects)."""
    anchor = placement.anchor
    left = sum(column_pixels(widths.get(c, 8.43)) for c in range(anchor.column))
    right = (
        sum(column_pixels(widths.get(c, 8.43)) for c in range(anchor.to_column))
        + anchor.to_column_offset / 9525
    )
    top = anchor.row * ROW_PIXELS
    bottom = anchor.to_row * ROW_PIXELS + anchor.to_row_offset / 9525
    return left * 0.75, top * 0.75, (right - left) * 0.75, (bottom - top) * 0.75

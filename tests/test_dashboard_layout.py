"""Where the Dashboard puts things: the title on top, the charts side by side under it, the tables below, and
each chart's table (the cells its series refer to) under "Chart data"."""

from __future__ import annotations

from cpor_excel.io.dashboard import CHART_SIZES, ROW_PIXELS, column_pixels, lay_out
from cpor_excel.model.dashboard import Chart, Dashboard, Series, Table

STATUS = Chart("Claims by status", ["Draft", "Approved"], [Series("Claims", [3, 9])], horizontal=True)
MONTHS = Chart(
    "Milestones per month",
    ["2025-10", "2025-11"],
    [
        Series("Milestones reached", [1, 2]),
        Series("Payments", [10.5, 0.0], kind="line", number_format="#,##0.00"),
    ],
)
ACTIONS = Table(
    "Needs action now", ["Claim ID", "Customer"], [["C-1", "Contoso"], ["C-2", None]], note="that is all"
)
BOARD = Dashboard("CPOR Dashboard", ["As of 2025-11-30: 1 error."], [STATUS, MONTHS], [ACTIONS])


def test_title_lines_tables_and_chart_tables_in_order() -> None:
    layout = lay_out(BOARD, "Dashboard")
    text = {cell: value for cell, (value, _) in layout.cells.items()}
    assert text[(1, 0)] == "CPOR Dashboard" and layout.cells[(1, 0)][1] == "title"
    assert text[(2, 0)] == "As of 2025-11-30: 1 error."
    actions = next(row for (row, col), value in text.items() if value == "Needs action now")
    assert [text.get((actions + 1, c)) for c in range(2)] == ["Claim ID", "Customer"]
    assert [text.get((actions + 2, c)) for c in range(2)] == ["C-1", "Contoso"]
    assert (actions + 3, 1) not in text  # an empty value is no cell
    assert text[(actions + 4, 0)] == "that is all"
    heading = next(row for (row, col), value in text.items() if value == "Chart data")
    assert heading > actions + 4
    for chart, placement in layout.charts:
        header = placement.header_row
        assert text[(header - 1, 0)] == chart.title
        assert [text.get((header, 1 + i)) for i in range(len(chart.series))] == [s.name for s in chart.series]
        for i, category in enumerate(chart.categories):
            row = [text.get((header + 1 + i, c)) for c in range(1 + len(chart.series))]
            assert row == [category, *(s.values[i] for s in chart.series)]
    roles = {layout.cells[(layout.charts[1][1].header_row + 1, c)][1] for c in (1, 2)}
    assert roles == {"count", "amount"}


def test_charts_sit_side_by_side_above_the_tables_at_their_size() -> None:
    layout = lay_out(BOARD, "Dashboard")
    (_, first), (_, second) = layout.charts
    a, b = first.anchor, second.anchor
    assert a.row == b.row == 3  # under the title and its line, after a blank row
    edges = [0]
    for column in range(40):
        edges.append(edges[-1] + column_pixels(layout.widths.get(column, 8.43)))
    for anchor, (width, height) in ((a, CHART_SIZES[0]), (b, CHART_SIZES[1])):
        left = edges[anchor.column]
        right = edges[anchor.to_column] + anchor.to_column_offset // 9525
        assert right - left == width
        bottom = anchor.to_row * ROW_PIXELS + anchor.to_row_offset // 9525
        assert bottom - anchor.row * ROW_PIXELS == height
    assert edges[b.column] > edges[a.to_column] + a.to_column_offset // 9525  # no overlap
    actions = next(row for (row, _), (value, _) in layout.cells.items() if value == "Needs action now")
    assert actions - 1 > a.to_row  # the tables start under the charts (1-based rows, 0-based anchors)


def test_widths_fit_the_longest_value_within_bounds() -> None:
    long = Table("Long", ["Message"], [["x" * 200], ["short"]])
    layout = lay_out(Dashboard("T", [], [], [long, ACTIONS]), "Dashboard")
    assert layout.widths[0] == 48  # capped
    assert layout.charts == []
    narrow = lay_out(Dashboard("T", [], [], [Table("t", ["a"], [["b"]])]), "Dashboard")
    assert narrow.widths[0] == 10  # at least ten characters

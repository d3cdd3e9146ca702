"""The worksheet part of a Dashboard sheet (laid out by ``io/dashboard.py``): the tool owns the whole sheet,
so it is written from scratch each run, with its drawing (the charts, ``chart.py``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from cpor_excel.io.dashboard import Layout
from cpor_excel.model.headers import column_letter


def sheet_xml(
    layout: Layout,
    formats: Mapping[str, int],
    cell_tail: Callable[[object], bytes | None],
    namespaces: tuple[str, str],
    drawing_rid: str | None,
    tab_colour: str | None = None,
) -> bytes:
    """The worksheet part of a dashboard: gridlines off, landscape, fit to one page wide, the drawing.

    ``formats``: role -> cell format index (roles without one get none); ``cell_tail``: the writer's cell
    XML builder (``CellXml.tail``: the XML after a cell ref's digits, for a value); ``namespaces``: the
    workbook's main and relationships namespaces."""
    main, rel = namespaces
    rows: dict[int, list[tuple[int, bytes]]] = {}
    for (row, column), (value, role) in sorted(layout.cells.items()):
        tail = cell_tail(value)
        if tail is None:
            continue
        style = formats.get(role)
        ref = f'<c r="{column_letter(column)}{row}'.encode()
        cell = ref + (b'" s="%d' % style if style is not None else b"") + tail
        rows.setdefault(row, []).append((column, cell))
    for row in layout.heights:
        rows.setdefault(row, [])
    data = []
    for row in sorted(rows):
        height = layout.heights.get(row)
        attributes = b' ht="%s" customHeight="1"' % _number(height) if height else b""
        data.append(b'<row r="%d"%s>' % (row, attributes) + b"".join(c for _, c in rows[row]) + b"</row>")
    cols = b"".join(
        b'<col min="%d" max="%d" width="%s" customWidth="1"/>' % (c + 1, c + 1, _number(w))
        for c, w in sorted(layout.widths.items())
    )
    last = f"{column_letter(layout.last_column)}{layout.last_row}"
    tab = f'<tabColor rgb="FF{tab_colour}"/>' if tab_colour else ""
    head = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{main}" xmlns:r="{rel}"><sheetPr>{tab}<pageSetUpPr fitToPage="1"/></sheetPr>'
        f'<dimension ref="A1:{last}"/><sheetViews><sheetView showGridLines="0" workbookViewId="0"/>'
        '</sheetViews><sheetFormatPr defaultRowHeight="15"/>'
    ).encode()
    tail = (
        '<pageMargins left="0.5" right="0.5" top="0.5" bottom="0.5" header="0.3" footer="0.3"/>'
        '<pageSetup orientation="landscape" fitToHeight="0"/>'
        + (f'<drawing r:id="{drawing_rid}"/>' if drawing_rid else "")
        + "</worksheet>"
    ).encode()
    return (
        head
        + (b"<cols>" + cols + b"</cols>" if cols else b"")
        + b"<sheetData>"
        + b"".join(data)
        + (b"</sheetData>" + tail)
    )


def _number(value: float) -> bytes:
    return (f"{value:.2f}".rstrip("0").rstrip(".")).encode()

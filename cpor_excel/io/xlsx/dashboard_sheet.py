"""The worksheet part of a Dashboard sheet (laid out by ``io/dashboard.py``): the tool owns the whole sheet,
so it is written from scratch each run, with its drawing (the charts, ``chart.py``)."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping

from cpor_excel.io.dashboard import Layout
from cpor_excel.io.xlsx.chart import (
    CHART_CONTENT_TYPE,
    CHART_REL,
    DRAWING_CONTENT_TYPE,
    DRAWING_REL,
    chart_part,
    drawing_part,
    relationships_part,
    strict_rel_type,
)
from cpor_excel.io.xlsx.package import Package, rels_part
from cpor_excel.io.xlsx.package_edit import PackageEdit, relative_part
from cpor_excel.model.headers import column_letter


def sheet_xml(
    layout: Layout,
    formats: Mapping[str, int],
    cell_tail: Callable[[object], bytes | None],
    namespaces: tuple[str, str],
    drawing_rid: str | None,
    tab_colour: str | None = None,
) -> bytes:
    """The worksheet part of a dashboard: gridlines off, printed landscape, the drawing.

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
        f'<worksheet xmlns="{main}" xmlns:r="{rel}"><sheetPr>{tab}</sheetPr>'
        f'<dimension ref="A1:{last}"/><sheetViews><sheetView showGridLines="0" workbookViewId="0"/>'
        '</sheetViews><sheetFormatPr defaultRowHeight="15"/>'
    ).encode()
    tail = (
        '<pageMargins left="0.5" right="0.5" top="0.5" bottom="0.5" header="0.3" footer="0.3"/>'
        '<pageSetup orientation="landscape"/>'
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


def write_parts(
    edit: PackageEdit,
    package: Package,
    sheet_part: str,
    layout: Layout,
    strict: bool,
) -> str | None:
    """The drawing and chart parts of a dashboard sheet at ``sheet_part``; returns the relationship id the
    sheet names its drawing by (None: no charts).

    A dashboard written by an earlier run keeps its part names: its drawing and charts are rewritten in
    place, charts it no longer has are dropped, new ones added."""
    old_rels = package.relationships(sheet_part) if package.find(sheet_part) else {}
    old_drawing = next((r for r in old_rels.values() if r.type.endswith("/drawing") and r.part), None)
    old_charts: list[str] = []
    if old_drawing is not None and old_drawing.part:
        chart_rels = package.relationships(old_drawing.part)
        old_charts = [
            r.part
            for _, r in sorted(chart_rels.items(), key=lambda kv: (len(kv[0]), kv[0]))
            if r.part and r.type.endswith("/chart")
        ]
    if not layout.charts:
        if old_drawing is not None and old_drawing.part:
            for part in [*old_charts, old_drawing.part]:
                edit.drop(part)
            edit.unrelate(sheet_part, old_drawing.rid)
        return None
    drawing_rel = strict_rel_type(DRAWING_REL) if strict else DRAWING_REL
    chart_rel = strict_rel_type(CHART_REL) if strict else CHART_REL
    charts, frames, relationships = [], [], []
    for index, (chart, placement) in enumerate(layout.charts):
        part = old_charts[index] if index < len(old_charts) else edit.name("xl/charts", "chart")
        charts.append((part, chart_part(chart, placement, strict), index < len(old_charts)))
    for part in old_charts[len(layout.charts) :]:
        edit.drop(part)
    if old_drawing is not None and old_drawing.part:
        drawing, rid = old_drawing.part, old_drawing.rid
    else:
        drawing = edit.name("xl/drawings", "drawing")
        rid = edit.relate(sheet_part, drawing_rel, drawing)
    for number, ((part, xml, kept), (chart, placement)) in enumerate(
        zip(charts, layout.charts, strict=True), start=1
    ):
        if kept:
            edit.replaced[part] = ([xml], 6)
        else:
            edit.add(part, [xml], 6, CHART_CONTENT_TYPE)
        frames.append((placement.anchor, f"rId{number}", chart.title))
        relationships.append((f"rId{number}", chart_rel, relative_part(part, posixpath.dirname(drawing))))
    drawing_xml = drawing_part(frames, strict)
    drawing_rels = relationships_part(relationships)
    rels_name = rels_part(drawing)
    if old_drawing is not None and old_drawing.part:
        edit.replaced[drawing] = ([drawing_xml], 6)
        existing = package.find(rels_name)
        if existing is not None:
            edit.replaced[existing] = ([drawing_rels], 6)
        else:
            edit.added.append((rels_name, [drawing_rels], 6))
    else:
        edit.add(drawing, [drawing_xml], 6, DRAWING_CONTENT_TYPE)
        edit.added.append((rels_name, [drawing_rels], 6))
    return rid

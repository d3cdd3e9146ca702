"""Native Excel charts as DrawingML parts: the chart part (``xl/charts/chartN.xml``) and the drawing part
(``xl/drawings/drawingN.xml``) that anchors charts to a sheet's cells.

A chart draws a table the writer puts on the same sheet: its header row names the series, its first column
holds the categories, each next column one series. The chart refers to those cells (so Excel follows edits)
and carries their values as caches (``c:strCache``, ``c:numCache``), so a reader that does not recalculate
shows them too. Everything here is plain data in, bytes out: which parts go where, their relationships and
content types are the writer's business (the names and types it needs are below).

Element order and content follow the ECMA-376 Transitional schemas (``dml-chart.xsd``,
``dml-spreadsheetDrawing.xsd``); the tests validate every part against them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cpor_excel.model.dashboard import Chart, Series

CHART_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
DRAWING_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.drawing+xml"
#: relationship types (Transitional; ``strict_rel_type`` gives the Strict ones)
DRAWING_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/drawing"
CHART_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/chart"

_NS = {
    "c": (
        "http://schemas.openxmlformats.org/drawingml/2006/chart",
        "http://purl.oclc.org/ooxml/drawingml/chart",
    ),
    "a": (
        "http://schemas.openxmlformats.org/drawingml/2006/main",
        "http://purl.oclc.org/ooxml/drawingml/main",
    ),
    "xdr": (
        "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing",
        "http://purl.oclc.org/ooxml/drawingml/spreadsheetDrawing",
    ),
    "r": (
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
        "http://purl.oclc.org/ooxml/officeDocument/relationships",
    ),
}
_TRANSITIONAL_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_STRICT_RELS = "http://purl.oclc.org/ooxml/officeDocument/relationships/"

#: series colours when none is given (Office's own first six, which read well on white)
PALETTE = ("4472C4", "ED7D31", "A5A5A5", "FFC000", "5B9BD5", "70AD47")
__all__ = ["Anchor", "Chart", "Placement", "Series", "chart_part", "drawing_part", "relationships_part"]
#: a drawing's size unit: English Metric Units per pixel at 96 dpi
EMU_PER_PIXEL = 9525

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


@dataclass(frozen=True)
class Anchor:
    """The cells a chart covers: from the top left corner of (column, row) to the top left corner of
    (to_column, to_row), 0-based as DrawingML counts them; the chart moves and sizes with those cells."""

    column: int
    row: int
    to_column: int
    to_row: int
    to_column_offset: int = 0  # EMU into to_column (``EMU_PER_PIXEL`` per pixel)
    to_row_offset: int = 0  # EMU into to_row

    def __post_init__(self) -> None:
        wide = self.to_column > self.column or (self.to_column == self.column and self.to_column_offset > 0)
        tall = self.to_row > self.row or (self.to_row == self.row and self.to_row_offset > 0)
        if min(self.column, self.row, self.to_column_offset, self.to_row_offset) < 0 or not (wide and tall):
            raise ValueError("an anchor runs left to right and top to bottom, over some width and height")


@dataclass(frozen=True)
class Placement:
    """Where a chart's table is on the sheet: its header row (1-based) and first column (0-based)."""

    sheet: str
    header_row: int
    first_column: int
    anchor: Anchor

    def categories_ref(self, count: int) -> str:
        return self._range(self.first_column, count)

    def name_ref(self, index: int) -> str:
        return f"{sheet_ref(self.sheet)}!{_cell(self.first_column + 1 + index, self.header_row)}"

    def values_ref(self, index: int, count: int) -> str:
        return self._range(self.first_column + 1 + index, count)

    def _range(self, column: int, count: int) -> str:
        first, last = self.header_row + 1, self.header_row + max(count, 1)
        return f"{sheet_ref(self.sheet)}!{_cell(column, first)}:{_cell(column, last)}"


def sheet_ref(sheet: str) -> str:
    """A sheet name as a formula writes it: quoted, an apostrophe doubled."""
    return "'" + sheet.replace("'", "''") + "'"


def strict_rel_type(rel_type: str) -> str:
    """The Strict (ISO/IEC 29500 Strict) form of a Transitional relationship type."""
    return rel_type.replace(_TRANSITIONAL_RELS, _STRICT_RELS)


def _cell(column: int, row: int) -> str:
    letters, n = "", column + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return f"${letters}${row}"


def _text(value: object) -> str:
    """Text as XML element content or attribute value: characters XML cannot carry dropped, escaped."""
    text = _XML_ILLEGAL.sub("", str(value))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _number(value: float | int) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def _present(value: float | int | None) -> bool:
    return value is not None and not (isinstance(value, float) and not math.isfinite(value))


# --- the chart part -----------------------------------------------------------------------------------------


def chart_part(chart: Chart, placement: Placement, strict: bool = False) -> bytes:
    """The chart part's XML (``c:chartSpace``) drawing ``chart`` from the table at ``placement``."""
    ns = {prefix: uris[1 if strict else 0] for prefix, uris in _NS.items()}
    count = len(chart.categories)
    columns = [(i, s) for i, s in enumerate(chart.series) if s.kind == "column"]
    lines = [(i, s) for i, s in enumerate(chart.series) if s.kind == "line"]
    has_secondary = any(s.secondary for s in chart.series)
    # axis ids: 1/2 the primary category/value axes, 3/4 the secondary ones
    groups: list[str] = []
    for secondary in (False, True):
        first, second = (3, 4) if secondary else (1, 2)
        axes = f'<c:axId val="{first}"/><c:axId val="{second}"/>'
        own_columns = [(i, s) for i, s in columns if s.secondary == secondary]
        own_lines = [(i, s) for i, s in lines if s.secondary == secondary]
        if own_columns:
            groups.append(_bar_group(chart, placement, own_columns, axes, count))
        if own_lines:
            groups.append(_line_group(chart, placement, own_lines, axes, count))
    axes_xml = _category_axis(1, 2, chart, delete=False) + _value_axis(2, 1, chart, chart.value_title, False)
    if has_secondary:
        axes_xml += _category_axis(3, 4, chart, delete=True)
        axes_xml += _value_axis(4, 3, chart, chart.secondary_title, True)
    legend = (
        '<c:legend><c:legendPos val="b"/><c:overlay val="0"/>' + _text_props(900) + "</c:legend>"
        if chart.legend
        else ""
    )
    body = (
        '<c:date1904 val="0"/><c:lang val="en-US"/><c:roundedCorners val="0"/>'
        "<c:chart>"
        + _title(chart.title, 1400)
        + '<c:autoTitleDeleted val="0"/><c:plotArea><c:layout/>'
        + "".join(groups)
        + axes_xml
        + "</c:plotArea>"
        + legend
        + '<c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/></c:chart>'
        '<c:spPr><a:solidFill><a:srgbClr val="FFFFFF"/></a:solidFill>'
        '<a:ln w="9525"><a:solidFill><a:srgbClr val="D9D9D9"/></a:solidFill></a:ln></c:spPr>'
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<c:chartSpace xmlns:c="{ns["c"]}" xmlns:a="{ns["a"]}" xmlns:r="{ns["r"]}">{body}</c:chartSpace>'
    ).encode()


def _bar_group(
    chart: Chart, placement: Placement, series: list[tuple[int, Series]], axes: str, count: int
) -> str:
    grouping = "stacked" if chart.stacked and len(series) > 1 else "clustered"
    overlap = '<c:overlap val="100"/>' if grouping == "stacked" else ""
    return (
        f'<c:barChart><c:barDir val="{"bar" if chart.horizontal else "col"}"/><c:grouping val="{grouping}"/>'
        '<c:varyColors val="0"/>'
        + "".join(_series(chart, placement, index, s, count, "column") for index, s in series)
        + f'<c:gapWidth val="60"/>{overlap}{axes}</c:barChart>'
    )


def _line_group(
    chart: Chart, placement: Placement, series: list[tuple[int, Series]], axes: str, count: int
) -> str:
    return (
        '<c:lineChart><c:grouping val="standard"/><c:varyColors val="0"/>'
        + "".join(_series(chart, placement, index, s, count, "line") for index, s in series)
        + f'<c:marker val="1"/>{axes}</c:lineChart>'
    )


def _series(chart: Chart, placement: Placement, index: int, series: Series, count: int, kind: str) -> str:
    colour = series.colour or PALETTE[index % len(PALETTE)]
    name = (
        f"<c:tx><c:strRef><c:f>{_text(placement.name_ref(index))}</c:f><c:strCache>"
        f'<c:ptCount val="1"/><c:pt idx="0"><c:v>{_text(series.name)}</c:v></c:pt></c:strCache></c:strRef></c:tx>'
    )
    if kind == "line":
        look = (
            f'<c:spPr><a:ln w="28575" cap="rnd"><a:solidFill><a:srgbClr val="{colour}"/></a:solidFill>'
            '<a:round/></a:ln></c:spPr><c:marker><c:symbol val="circle"/><c:size val="6"/>'
            f'<c:spPr><a:solidFill><a:srgbClr val="{colour}"/></a:solidFill></c:spPr></c:marker>'
        )
        points = ""
    else:
        look = f'<c:spPr><a:solidFill><a:srgbClr val="{colour}"/></a:solidFill></c:spPr><c:invertIfNegative val="0"/>'
        points = "".join(
            f'<c:dPt><c:idx val="{i}"/><c:invertIfNegative val="0"/><c:bubble3D val="0"/>'
            f'<c:spPr><a:solidFill><a:srgbClr val="{point}"/></a:solidFill></c:spPr></c:dPt>'
            for i, point in enumerate(series.point_colours)
            if point is not None and i < count
        )
    labels = ""
    if chart.data_labels:
        position = "outEnd" if kind == "column" and not chart.stacked else ("t" if kind == "line" else "ctr")
        labels = (
            f'<c:dLbls><c:numFmt formatCode="{_text(series.number_format)}" sourceLinked="0"/>'
            "<c:spPr><a:noFill/><a:ln><a:noFill/></a:ln></c:spPr>"
            + _text_props(900)
            + f'<c:dLblPos val="{position}"/><c:showLegendKey val="0"/><c:showVal val="1"/>'
            '<c:showCatName val="0"/><c:showSerName val="0"/><c:showPercent val="0"/>'
            '<c:showBubbleSize val="0"/></c:dLbls>'
        )
    categories = "".join(
        f'<c:pt idx="{i}"><c:v>{_text(name)}</c:v></c:pt>' for i, name in enumerate(chart.categories)
    )
    values = "".join(
        f'<c:pt idx="{i}"><c:v>{_number(v)}</c:v></c:pt>'  # type: ignore[arg-type]
        for i, v in enumerate(series.values)
        if _present(v)
    )
    smooth = '<c:smooth val="0"/>' if kind == "line" else ""
    return (
        f'<c:ser><c:idx val="{index}"/><c:order val="{index}"/>{name}{look}{points}{labels}'
        f"<c:cat><c:strRef><c:f>{_text(placement.categories_ref(count))}</c:f><c:strCache>"
        f'<c:ptCount val="{count}"/>{categories}</c:strCache></c:strRef></c:cat>'
        f"<c:val><c:numRef><c:f>{_text(placement.values_ref(index, count))}</c:f><c:numCache>"
        f'<c:formatCode>{_text(series.number_format)}</c:formatCode><c:ptCount val="{count}"/>{values}'
        f"</c:numCache></c:numRef></c:val>{smooth}</c:ser>"
    )


def _category_axis(axis: int, cross: int, chart: Chart, delete: bool) -> str:
    # horizontal bars list the first category at the top (Excel draws the first one at the bottom)
    orientation = "maxMin" if chart.horizontal and not delete else "minMax"
    position = "l" if chart.horizontal else "b"
    return (
        f'<c:catAx><c:axId val="{axis}"/><c:scaling><c:orientation val="{orientation}"/></c:scaling>'
        f'<c:delete val="{int(delete)}"/><c:axPos val="{position}"/>'
        '<c:numFmt formatCode="General" sourceLinked="1"/><c:majorTickMark val="none"/>'
        '<c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/>'
        '<c:spPr><a:ln w="9525"><a:solidFill><a:srgbClr val="BFBFBF"/></a:solidFill></a:ln></c:spPr>'
        + _text_props(900)
        + f'<c:crossAx val="{cross}"/><c:crosses val="autoZero"/><c:auto val="1"/><c:lblAlgn val="ctr"/>'
        '<c:lblOffset val="100"/><c:noMultiLvlLbl val="0"/></c:catAx>'
    )


def _value_axis(axis: int, cross: int, chart: Chart, title: str | None, secondary: bool) -> str:
    owned = [s for s in chart.series if s.secondary == secondary]
    number_format = owned[0].number_format if owned else "General"
    # a value axis runs along the bottom (bars) or the left (columns); a secondary one opposite
    position = {(True, False): "b", (True, True): "t", (False, False): "l", (False, True): "r"}[
        (chart.horizontal, secondary)
    ]
    gridlines = (
        ""
        if secondary
        else '<c:majorGridlines><c:spPr><a:ln w="9525"><a:solidFill><a:srgbClr val="E7E6E6"/></a:solidFill>'
        "</a:ln></c:spPr></c:majorGridlines>"
    )
    return (
        f'<c:valAx><c:axId val="{axis}"/><c:scaling><c:orientation val="minMax"/><c:min val="0"/></c:scaling>'
        f'<c:delete val="0"/><c:axPos val="{position}"/>{gridlines}'
        + (_title(title, 900) if title else "")
        + f'<c:numFmt formatCode="{_text(number_format)}" sourceLinked="0"/><c:majorTickMark val="none"/>'
        '<c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/><c:spPr><a:ln><a:noFill/></a:ln></c:spPr>'
        + _text_props(900)
        # where this axis crosses the category axis: a secondary one at the right (or top); under bars
        # listed top down (the category axis reversed) at the bottom, after the last category
        + f'<c:crossAx val="{cross}"/><c:crosses val="{"max" if secondary or chart.horizontal else "autoZero"}"/>'
        '<c:crossBetween val="between"/></c:valAx>'
    )


def _title(text: str, size: int) -> str:
    return (
        "<c:title><c:tx><c:rich><a:bodyPr/><a:lstStyle/><a:p><a:pPr>"
        f'<a:defRPr sz="{size}" b="1"/></a:pPr><a:r><a:rPr lang="en-US" sz="{size}" b="1"/>'
        f'<a:t>{_text(text)}</a:t></a:r></a:p></c:rich></c:tx><c:overlay val="0"/></c:title>'
    )


def _text_props(size: int) -> str:
    return (
        "<c:txPr><a:bodyPr/><a:lstStyle/><a:p><a:pPr>"
        f'<a:defRPr sz="{size}"><a:solidFill><a:srgbClr val="404040"/></a:solidFill></a:defRPr>'
        '</a:pPr><a:endParaRPr lang="en-US"/></a:p></c:txPr>'
    )


# --- the drawing part ---------------------------------------------------------------------------------------


def drawing_part(frames: Sequence[tuple[Anchor, str, str]], strict: bool = False) -> bytes:
    """The drawing part's XML (``xdr:wsDr``): one frame per (anchor, relationship id of its chart, name)."""
    ns = {prefix: uris[1 if strict else 0] for prefix, uris in _NS.items()}
    anchors = []
    for number, (anchor, rid, name) in enumerate(frames, start=2):  # id 1 is the drawing itself
        anchors.append(
            "<xdr:twoCellAnchor>"
            f"<xdr:from><xdr:col>{anchor.column}</xdr:col><xdr:colOff>0</xdr:colOff>"
            f"<xdr:row>{anchor.row}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>"
            f"<xdr:to><xdr:col>{anchor.to_column}</xdr:col><xdr:colOff>{anchor.to_column_offset}</xdr:colOff>"
            f"<xdr:row>{anchor.to_row}</xdr:row><xdr:rowOff>{anchor.to_row_offset}</xdr:rowOff></xdr:to>"
            f'<xdr:graphicFrame macro=""><xdr:nvGraphicFramePr><xdr:cNvPr id="{number}" name="{_text(name)}"/>'
            "<xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr>"
            '<xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm>'
            f'<a:graphic><a:graphicData uri="{ns["c"]}">'
            f'<c:chart xmlns:c="{ns["c"]}" r:id="{_text(rid)}"/></a:graphicData></a:graphic>'
            "</xdr:graphicFrame><xdr:clientData/></xdr:twoCellAnchor>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<xdr:wsDr xmlns:xdr="{ns["xdr"]}" xmlns:a="{ns["a"]}" xmlns:r="{ns["r"]}">'
        + "".join(anchors)
        + "</xdr:wsDr>"
    ).encode()


def relationships_part(relationships: Sequence[tuple[str, str, str]]) -> bytes:
    """A ``.rels`` part: (id, type, target relative to the source part's folder) each."""
    items = "".join(
        f'<Relationship Id="{_text(rid)}" Type="{_text(kind)}" Target="{_text(target)}"/>'
        for rid, kind, target in relationships
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f"{items}</Relationships>"
    ).encode()

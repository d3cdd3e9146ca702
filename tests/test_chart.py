"""DrawingML chart and drawing parts: valid against the ECMA-376 schemas (../shared/ooxml/schemas, the
validator's own), referring to the cells of their table, with the values cached for readers that do not
recalculate."""

from __future__ import annotations

from pathlib import Path

import pytest
from ooxml_validator import SCHEMAS

from cpor_excel.io.xlsx.chart import (
    CHART_REL,
    Anchor,
    Chart,
    Placement,
    Series,
    chart_part,
    drawing_part,
    relationships_part,
    sheet_ref,
    strict_rel_type,
)

etree = pytest.importorskip("lxml.etree")
C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
XDR = "{http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing}"

STATUS = Chart(
    "Claims by status",
    ["Draft", "Approved", "Rejected <&> \x01"],
    [Series("Claims", [3, 250, 0], point_colours=["A5A5A5", "70AD47", None])],
    horizontal=True,
    data_labels=True,
    legend=False,
)
MONTHS = Chart(
    "Milestones and usage pay per month",
    ["2025-01", "2025-02", "2025-03"],
    [
        Series("Milestones", [2, None, 5]),
        Series("Paid users", [0, 10, 20], kind="line"),
        Series("Usage pay", [0.0, 1250.5, float("nan")], kind="line", secondary=True, number_format="#,##0"),
    ],
    value_title="Milestones",
    secondary_title="USD",
)
PLACE = Placement("Partner's Dashboard", header_row=24, first_column=3, anchor=Anchor(0, 2, 7, 20))


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The chart schema, and one for drawings that also knows the chart element a graphic frame holds
    (a:graphicData admits only declared elements)."""
    if not SCHEMAS.is_dir():
        pytest.skip("../shared/ooxml/schemas is not here")
    wrapper = tmp_path_factory.mktemp("xsd") / "drawing_with_charts.xsd"
    imports = {
        "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing": "dml-spreadsheetDrawing.xsd",
        "http://schemas.openxmlformats.org/drawingml/2006/chart": "dml-chart.xsd",
    }
    wrapper.write_text(
        '<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:wrapper">'
        + "".join(
            f'<xsd:import namespace="{ns}" schemaLocation="{(SCHEMAS / name).as_uri()}"/>'
            for ns, name in imports.items()
        )
        + "</xsd:schema>"
    )
    return {
        "chart": etree.XMLSchema(etree.parse(str(SCHEMAS / "dml-chart.xsd"))),
        "drawing": etree.XMLSchema(etree.parse(str(wrapper))),
    }


def valid(schema: object, xml: bytes) -> list[str]:
    document = etree.fromstring(xml)
    if schema.validate(document):  # type: ignore[attr-defined]
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]  # type: ignore[attr-defined]


@pytest.mark.parametrize("chart", [STATUS, MONTHS], ids=["bars", "columns+lines"])
def test_chart_parts_are_valid(schemas: dict[str, object], chart: Chart) -> None:
    assert valid(schemas["chart"], chart_part(chart, PLACE)) == []


def test_drawing_part_is_valid(schemas: dict[str, object]) -> None:
    frames = [(Anchor(0, 2, 7, 20), "rId1", "Claims by status"), (Anchor(8, 2, 16, 20), "rId2", "Chart <2>")]
    xml = drawing_part(frames)
    assert valid(schemas["drawing"], xml) == []
    root = etree.fromstring(xml)
    anchors = root.findall(f"{XDR}twoCellAnchor")
    spans = [
        tuple(
            int(a.find(f"{XDR}{end}/{XDR}{axis}").text) for end in ("from", "to") for axis in ("col", "row")
        )
        for a in anchors
    ]
    assert spans == [(0, 2, 7, 20), (8, 2, 16, 20)]
    rids = [
        el.get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id")
        for el in root.iter(f"{C}chart")
    ]
    assert rids == ["rId1", "rId2"]
    names = [el.get("name") for el in root.iter(f"{XDR}cNvPr")]
    ids = [el.get("id") for el in root.iter(f"{XDR}cNvPr")]
    assert names == ["Claims by status", "Chart <2>"] and len(set(ids)) == 2


def cached(ser: object, which: str) -> tuple[str, dict[int, str], int]:
    """(formula, idx -> cached text, ptCount) of a series' cat, val or tx."""
    ref = ser.find(f"{C}{which}")[0]  # type: ignore[attr-defined]
    cache = ref[1]
    points = {int(pt.get("idx")): pt.find(f"{C}v").text for pt in cache.findall(f"{C}pt")}
    return ref.find(f"{C}f").text, points, int(cache.find(f"{C}ptCount").get("val"))


def test_series_refer_to_their_table_and_cache_its_values() -> None:
    root = etree.fromstring(chart_part(MONTHS, PLACE))
    series = list(root.iter(f"{C}ser"))
    assert len(series) == 3
    sheet = "'Partner''s Dashboard'"
    for index, ser in enumerate(series):
        column = "EFG"[index]  # the table starts in column D: categories, then one column per series
        assert cached(ser, "cat") == (f"{sheet}!$D$25:$D$27", {0: "2025-01", 1: "2025-02", 2: "2025-03"}, 3)
        name_ref, name, _ = cached(ser, "tx")
        assert (name_ref, name) == (f"{sheet}!${column}$24", {0: MONTHS.series[index].name})
        values_ref, values, count = cached(ser, "val")
        assert values_ref == f"{sheet}!${column}$25:${column}$27" and count == 3
        expected = {i: v for i, v in enumerate(MONTHS.series[index].values) if v is not None and v == v}
        assert {i: float(v) for i, v in values.items()} == expected  # None and NaN: no cached point
    # columns on the primary axes, lines on the primary and on the secondary axes
    plot = root.find(f"{C}chart/{C}plotArea")
    kinds = [(el.tag.replace(C, ""), [a.get("val") for a in el.findall(f"{C}axId")]) for el in plot]
    assert [k for k in kinds if k[0].endswith("Chart")] == [
        ("barChart", ["1", "2"]),
        ("lineChart", ["1", "2"]),
        ("lineChart", ["3", "4"]),
    ]
    secondary = plot.findall(f"{C}valAx")[1]
    assert secondary.find(f"{C}axPos").get("val") == "r" and secondary.find(f"{C}crosses").get("val") == "max"


def test_text_is_escaped_and_characters_xml_cannot_carry_are_dropped() -> None:
    root = etree.fromstring(chart_part(STATUS, PLACE))
    _, categories, _ = cached(next(root.iter(f"{C}ser")), "cat")
    assert categories[2] == "Rejected <&> "
    title = "".join(t.text for t in root.find(f"{C}chart/{C}title").iter(f"{A}t"))
    assert title == "Claims by status"


def test_point_colours_and_bar_direction() -> None:
    root = etree.fromstring(chart_part(STATUS, PLACE))
    bar = root.find(f"{C}chart/{C}plotArea/{C}barChart")
    assert bar.find(f"{C}barDir").get("val") == "bar"
    points = {
        int(p.find(f"{C}idx").get("val")): p.find(f".//{A}srgbClr").get("val") for p in bar.iter(f"{C}dPt")
    }
    assert points == {0: "A5A5A5", 1: "70AD47"}
    assert root.find(f"{C}chart/{C}legend") is None
    labels = bar.find(f"{C}ser/{C}dLbls")
    assert labels.find(f"{C}showVal").get("val") == "1"


def test_an_empty_table_is_a_chart_without_points(schemas: dict[str, object]) -> None:
    empty = Chart("Milestones per month", [], [Series("Milestones", [])])
    xml = chart_part(empty, PLACE)
    assert valid(schemas["chart"], xml) == []
    ser = next(etree.fromstring(xml).iter(f"{C}ser"))
    assert cached(ser, "val")[1:] == ({}, 0)


def test_strict_parts_use_the_strict_namespaces() -> None:
    assert b'xmlns:c="http://purl.oclc.org/ooxml/drawingml/chart"' in chart_part(STATUS, PLACE, strict=True)
    drawing = drawing_part([(Anchor(0, 0, 1, 1), "rId1", "x")], strict=True)
    assert b"http://purl.oclc.org/ooxml/drawingml/spreadsheetDrawing" in drawing
    assert b"schemas.openxmlformats.org" not in drawing
    assert strict_rel_type(CHART_REL) == "http://purl.oclc.org/ooxml/officeDocument/relationships/chart"


def test_relationships_part() -> None:
    root = etree.fromstring(relationships_part([("rId1", CHART_REL, "../charts/chart1.xml")]))
    assert [(r.get("Id"), r.get("Type"), r.get("Target")) for r in root] == [
        ("rId1", CHART_REL, "../charts/chart1.xml")
    ]


@pytest.mark.parametrize(
    "bad",
    [
        lambda: Chart("x", ["a"], []),
        lambda: Chart("x", ["a", "b"], [Series("s", [1])]),
        lambda: Chart("x", ["a"], [Series("s", [1], kind="line")], horizontal=True),
        lambda: Chart("x", ["a"], [Series("s", [1], colour="red")]),
        lambda: Anchor(3, 0, 3, 5),
    ],
)
def test_what_cannot_be_drawn_is_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        bad()  # type: ignore[operator]


def test_sheet_ref_quotes() -> None:
    assert sheet_ref("Dashboard") == "'Dashboard'"
    assert sheet_ref("Bob's") == "'Bob''s'"


def test_schemas_are_the_validators(tmp_path: Path) -> None:
    """The schemas these tests use are those validate.py ships (one judge)."""
    assert (SCHEMAS / "dml-chart.xsd").is_file() or not SCHEMAS.parent.is_dir()

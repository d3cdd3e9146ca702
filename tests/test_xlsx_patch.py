"""The patch writer on workbooks built here: only the tool's cells and sheets change, byte for byte."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import openpyxl
import pytest
import python_calamine as pc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from writer_helpers import (
    REALWORLD,
    assert_only_tool_cells_changed,
    entries,
    excel_like_book,
    inserted,
    raw_entries,
    realworld,
    sheet_part,
    sheet_rows,
    tool_marks,
)

from cpor_excel.errors import NotAWorkbook
from cpor_excel.io.file_book import FileBook
from cpor_excel.io.looks import RESULT_LOOKS
from cpor_excel.io.xlsx import sheet_render
from cpor_excel.io.xlsx.cells import TEXT_LIMIT
from cpor_excel.io.xlsx.patch import XlsxPatch

CHECK_FILLS = {value: f"FF{look.fill}" for value, look in RESULT_LOOKS.items()}

HEADER = ["Tenant ID", "Workload", "Month", "Active Users", "Paid Units"]
DATA = [
    HEADER,
    ["t1", "Exchange Online", "2025-03", 10, 200],
    ["t2", "Microsoft Teams", "2025-03", 20, 200, None, "a user note"],  # a value beyond the header
    ["t3", "SharePoint Online", "2025-04", 30, 300],
]
CHECK = ["Check Result", "Check Notes"]


@pytest.fixture()
def book(tmp_path: Path) -> Path:
    return excel_like_book(tmp_path / "book.xlsx", {"Usage": DATA, "Other": [["x"], [1]]})


def patched(source: Path, dest: Path, edit: Callable[[XlsxPatch], Any]) -> Path:
    with XlsxPatch(source) as patch:
        edit(patch)
        patch.save(dest)
    return dest


def values(path: Path, sheet: str) -> list[list[Any]]:
    rows = pc.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    return [[None if v == "" else v for v in row] for row in rows]


def cells(path: Path, sheet: str) -> set[tuple[int, int, Any]]:
    """(Excel row, 0-based column, value) of every non-empty cell."""
    return {
        (r + 1, c, v) for r, row in enumerate(values(path, sheet)) for c, v in enumerate(row) if v is not None
    }


def check_columns(patch: XlsxPatch, rows: list[int], result: list[Any], notes: list[Any]) -> None:
    patch.set_columns("Usage", CHECK, rows, [result, notes])


# --- where the tool's columns go ---------------------------------------------------------------------


def test_tool_columns_after_the_last_used_column(book: Path, tmp_path: Path) -> None:
    out = patched(book, tmp_path / "out.xlsx", lambda p: check_columns(p, [2, 3, 4], ["OK", "ERROR", "WARNING"],
                                                                     ["", "bad date", None]))  # fmt: skip
    before, after = cells(book, "Usage"), cells(out, "Usage")
    assert after - before == {(1, 7, "Check Result"), (1, 8, "Check Notes"), (2, 7, "OK"), (3, 7, "ERROR"),
                              (3, 8, "bad date"), (4, 7, "WARNING")}  # fmt: skip
    assert before <= after
    part = sheet_part(book, "Usage")
    assert_only_tool_cells_changed(entries(book)[part], entries(out)[part], {7, 8})
    assert re.search(rb'<dimension ref="A1:I4"/>', entries(out)[part])


def test_untouched_parts_are_raw_copies(book: Path, tmp_path: Path) -> None:
    out = patched(book, tmp_path / "out.xlsx", lambda p: check_columns(p, [2], ["OK"], ["fine"]))
    old, new = raw_entries(book), raw_entries(out)
    changed = {name for name in old if old[name] != new[name]}
    # workbook.xml: the tool's mark on the columns it placed (Usage is the first sheet), nothing else
    assert changed == {sheet_part(book, "Usage"), "xl/styles.xml", "xl/workbook.xml"}
    assert list(old) == list(new)  # same entries, same order
    plain_before, marks_before = tool_marks(entries(book)["xl/workbook.xml"])
    plain_after, marks = tool_marks(entries(out)["xl/workbook.xml"])
    assert (plain_after, marks_before, marks) == (plain_before, {}, {0: ["'Usage'!$H:$H", "'Usage'!$I:$I"]})


def test_found_again_by_header_and_stale_results_cleared(book: Path, tmp_path: Path) -> None:
    first = patched(
        book, tmp_path / "1.xlsx", lambda p: check_columns(p, [2, 3, 4], ["OK"] * 3, ["a", "b", "c"])
    )

    def again(p: XlsxPatch) -> None:
        p.set_columns("Usage", ["check  result", "CHECK NOTES"], [3], [["ERROR"], ["now wrong"]])

    second = patched(first, tmp_path / "2.xlsx", again)
    rows = values(second, "Usage")
    assert rows[0].count("Check Result") == 1 and rows[0].count("Check Notes") == 1 and len(rows[0]) == 9
    assert [row[7:9] for row in rows[1:]] == [[None, None], ["ERROR", "now wrong"], [None, None]]
    part = sheet_part(book, "Usage")
    assert_only_tool_cells_changed(entries(first)[part], entries(second)[part], {7, 8})


def test_no_rows_left_to_report_clears_the_column_and_keeps_every_row(book: Path, tmp_path: Path) -> None:
    first = patched(
        book, tmp_path / "1.xlsx", lambda p: check_columns(p, [2, 3, 4], ["OK"] * 3, ["a", "b", "c"])
    )
    second = patched(first, tmp_path / "2.xlsx", lambda p: check_columns(p, [], [], []))
    assert [row[:7] for row in values(second, "Usage")] == [row[:7] for row in values(book, "Usage")]
    assert [row[7:] for row in values(second, "Usage")] == [CHECK] + [[None, None]] * 3


def test_header_row_cells_written_in_place(book: Path, tmp_path: Path) -> None:
    def edit(p: XlsxPatch) -> None:
        p.set_cells("Usage", {(1, 1): "WorkloadName"})  # an existing header cell, left of the row's end
        check_columns(p, [2], ["OK"], ["x"])

    out = patched(book, tmp_path / "o.xlsx", edit)
    assert values(out, "Usage")[0] == ["Tenant ID", "WorkloadName", *HEADER[2:], None, None, *CHECK]
    ET.fromstring(entries(out)[sheet_part(book, "Usage")])


def test_shared_string_header_typed_by_the_user_is_used(tmp_path: Path) -> None:
    src = excel_like_book(
        tmp_path / "in.xlsx", {"Usage": [["Tenant ID", "check result", "Workload"], ["t1", "old", "EXO"]]}
    )
    assert b'<c r="B1" t="s">' in entries(src)["xl/worksheets/sheet1.xml"]
    out = patched(
        src, tmp_path / "out.xlsx", lambda p: p.set_columns("Usage", ["Check Result"], [2], [["OK"]])
    )
    assert values(out, "Usage") == [["Tenant ID", "check result", "Workload"], ["t1", "OK", "EXO"]]


def test_same_run_twice_gives_the_same_bytes(book: Path, tmp_path: Path) -> None:
    def edit(p: XlsxPatch) -> None:
        check_columns(p, [2, 3, 4], ["OK", "CONFLICT", "ERROR"], ["", "with claim C-2", "date"])
        p.replace_sheet("CPOR Report", ["Severity", "Code"], [["error", "date-order"]])

    first = patched(book, tmp_path / "1.xlsx", edit)
    second = patched(first, tmp_path / "2.xlsx", edit)
    assert first.read_bytes() == second.read_bytes()


def test_one_patch_saved_twice_gives_the_same_file(book: Path, tmp_path: Path) -> None:
    with XlsxPatch(book) as patch:
        check_columns(patch, [2, 3, 4], ["OK", "ERROR", "OK"], ["a", "b", "c"])  # the bulk path
        patch.set_cells("Other", {(2, 0): "x"})  # the row-by-row path
        patch.save(tmp_path / "1.xlsx")
        patch.save(tmp_path / "2.xlsx")
    assert (tmp_path / "1.xlsx").read_bytes() == (tmp_path / "2.xlsx").read_bytes()
    assert values(tmp_path / "2.xlsx", "Other") == [["x"], ["x"]]


# --- both render paths agree with a model ------------------------------------------------------------------

sheet_cells = st.dictionaries(
    st.tuples(st.integers(2, 12), st.integers(0, 3)),
    st.one_of(st.integers(-5, 500), st.text("ab <&>é", min_size=1, max_size=4)),
    max_size=25,
)
tool_run = st.dictionaries(
    st.integers(2, 14),
    st.tuples(
        st.sampled_from(["OK", "WARNING", "ERROR", "CONFLICT", None]), st.sampled_from(["n1", "", None])
    ),
    max_size=10,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=sheet_cells, first=tool_run, second=tool_run, user_edit=st.booleans())
def test_any_sheet_any_two_runs_match_the_model(
    tmp_path: Path,
    cells: dict[tuple[int, int], Any],
    first: dict[int, Any],
    second: dict[int, Any],
    user_edit: bool,
) -> None:
    """Random sheets, two runs of the tool columns; a user-cell edit in the second run forces the
    row-by-row path, otherwise the bulk path runs. Every cell must end up where the model says."""
    rows = [["Tenant ID", "Workload", "Month", "Units"]] + [[None] * 4 for _ in range(11)]
    for (row, column), value in cells.items():
        rows[row - 1][column] = value
    src = excel_like_book(tmp_path / "src.xlsx", {"Usage": rows})

    def run(edits: dict[int, Any], extra: bool) -> Callable[[XlsxPatch], None]:
        def edit(patch: XlsxPatch) -> None:
            numbers = sorted(edits)
            check_columns(patch, numbers, [edits[r][0] for r in numbers], [edits[r][1] for r in numbers])
            if extra:
                patch.set_cells("Usage", {(3, 2): "edited"})

        return edit

    once = patched(src, tmp_path / "1.xlsx", run(first, False))
    twice = patched(once, tmp_path / "2.xlsx", run(second, user_edit))
    expected = {(r, c, v) for (r, c), v in cells.items()} | {(1, c, h) for c, h in enumerate(rows[0])}
    if user_edit:
        expected = {cell for cell in expected if cell[:2] != (3, 2)} | {(3, 2, "edited")}
    expected |= {(1, 4, "Check Result"), (1, 5, "Check Notes")}
    for row, (result, note) in second.items():
        expected |= {(row, 4, result)} if result else set()
        expected |= {(row, 5, note)} if note else set()
    got = {(r, c, v if not isinstance(v, float) else int(v)) for r, c, v in cells_of(twice)}
    assert got == {(r, c, v) for r, c, v in expected}


@pytest.mark.parametrize("block", [1, 40, 333])
def test_the_bulk_render_gives_the_same_bytes_whatever_its_block_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    """The bulk path cuts the sheet data into rows a block at a time (and cuts the old tool cells out of
    each block): a second run over 300 rows gives the same file for any block size."""
    rows = [["Tenant ID", "Units"]] + [[f"t{i}", i] for i in range(300)]
    src = excel_like_book(tmp_path / "src.xlsx", {"Usage": rows})
    numbers = list(range(2, 302))
    results = [("OK", None), ("ERROR", "bad & <worse>"), ("WARNING", "")]

    def run(shift: int) -> Callable[[XlsxPatch], None]:
        chosen = [results[(n + shift) % 3] for n in numbers]
        return lambda p: check_columns(p, numbers, [r for r, _ in chosen], [n for _, n in chosen])

    def two_runs(name: str) -> dict[str, bytes]:
        once = patched(src, tmp_path / f"{name}1.xlsx", run(0))
        return entries(patched(once, tmp_path / f"{name}2.xlsx", run(1)))

    whole = two_runs("whole")
    monkeypatch.setattr(sheet_render, "_BLOCK", block)
    assert two_runs(f"block{block}-") == whole


def cells_of(path: Path) -> set[tuple[int, int, Any]]:
    return cells(path, "Usage")


# --- Check Result colours ------------------------------------------------------------------------------


def _children(xml: bytes, name: str) -> list[bytes]:
    root = ET.fromstring(xml)
    block = next(el for el in root if el.tag.endswith("}" + name))
    return [ET.tostring(child) for child in block]


def test_check_result_colours_extend_styles_once(book: Path, tmp_path: Path) -> None:
    results = ["OK", "WARNING", "ERROR", "CONFLICT"]
    first = patched(book, tmp_path / "1.xlsx", lambda p: check_columns(p, [2, 3, 4, 2], results, [None] * 4))
    old_styles, new_styles = entries(book)["xl/styles.xml"], entries(first)["xl/styles.xml"]
    # a fill and a cell format per result, and a font per colour of text (ERROR and CONFLICT share white)
    for block, added in (("fills", 4), ("cellXfs", 4), ("fonts", 3)):
        old, new = _children(old_styles, block), _children(new_styles, block)
        assert new[: len(old)] == old and len(new) == len(old) + added
        assert re.search(rb"<%s count=\"%d\"" % (block.encode(), len(new)), new_styles)
    sheet = openpyxl.load_workbook(first)["Usage"]
    colours = {sheet.cell(r, 8).value: sheet.cell(r, 8).fill.fgColor.rgb for r in (2, 3, 4)}
    assert colours == {v: CHECK_FILLS[v] for v in ("WARNING", "ERROR", "CONFLICT")}
    second = patched(first, tmp_path / "2.xlsx", lambda p: check_columns(p, [2], ["OK"], ["x"]))
    assert entries(second)["xl/styles.xml"] == new_styles  # found again, not appended again
    assert openpyxl.load_workbook(second)["Usage"].cell(2, 8).fill.fgColor.rgb == CHECK_FILLS["OK"]


def test_no_check_result_column_no_style_change(book: Path, tmp_path: Path) -> None:
    out = patched(book, tmp_path / "o.xlsx", lambda p: p.set_columns("Usage", ["Check Notes"], [2], [["x"]]))
    assert raw_entries(out)["xl/styles.xml"] == raw_entries(book)["xl/styles.xml"]


# --- what the cells hold ---------------------------------------------------------------------------------

TRICKY = [
    "=1+1",
    "+1",
    "-1",
    "@SUM(A1)",
    'a <&> "b"',
    "Grüße 🎉 ☃ 中文",
    "ctl\x01\x1f end",
    "cr\r\nlf",
    "_x0041_ stays literal",
    " leading and trailing ",
    "tab\there",
]


def test_text_is_never_a_formula_and_survives_any_character(book: Path, tmp_path: Path) -> None:
    long_text = "x" * 40_000
    texts = [*TRICKY, long_text]
    rows = list(range(2, 2 + len(texts)))
    out = patched(book, tmp_path / "o.xlsx", lambda p: p.set_columns("Usage", ["Check Notes"], rows, [texts]))
    ET.fromstring(entries(out)[sheet_part(book, "Usage")])  # well-formed XML
    read = [row[7] for row in values(out, "Usage")[1:]]
    assert read[: len(TRICKY)] == TRICKY  # calamine decodes Excel's _xHHHH_ escapes exactly
    assert len(read[-1]) == TEXT_LIMIT and read[-1].endswith("\u2026") and read[-1].startswith("x" * 1000)
    sheet = openpyxl.load_workbook(out)["Usage"]
    for r in rows:
        assert sheet.cell(r, 8).data_type == "s"  # text, never a formula
    # openpyxl does not decode _xHHHH_ in inline strings; the plain ones it reads as written
    assert [sheet.cell(r, 8).value for r in rows[:6]] == TRICKY[:6]


def test_numbers_booleans_and_dates(book: Path, tmp_path: Path) -> None:
    written = {
        (2, 10): 7,
        (3, 10): 2.5,
        (4, 10): True,
        (2, 11): dt.date(2025, 4, 7),
        (3, 11): dt.datetime(2025, 4, 7, 13, 45),
        (4, 11): 12345678901234567,  # more digits than Excel keeps: text
        (5, 10): float("nan"),
        (5, 11): None,
    }
    out = patched(book, tmp_path / "o.xlsx", lambda p: p.set_cells("Usage", written))
    got = {(r, c): v for r, c, v in cells(out, "Usage") if c >= 10}
    assert got == {(2, 10): 7.0, (3, 10): 2.5, (4, 10): True, (2, 11): "2025-04-07",
                   (3, 11): "2025-04-07 13:45:00", (4, 11): "12345678901234567"}  # fmt: skip


def test_set_cells_keeps_the_cell_format(tmp_path: Path) -> None:
    import xlsxwriter

    src = tmp_path / "styled.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    ws = wb.add_worksheet("Usage")
    ws.write_row(0, 0, HEADER)
    ws.write(1, 3, 5, wb.add_format({"bold": True, "num_format": "0.00"}))
    wb.close()
    out = patched(src, tmp_path / "o.xlsx", lambda p: p.set_cells("Usage", {(2, 3): 42}))
    old_cell = re.search(rb'<c r="D2" s="(\d+)"', entries(src)["xl/worksheets/sheet1.xml"])
    assert old_cell is not None
    assert b'<c r="D2" s="%s"><v>42</v></c>' % old_cell.group(1) in entries(out)["xl/worksheets/sheet1.xml"]


# --- unusual sheet XML -------------------------------------------------------------------------------------

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def with_sheet_xml(source: Path, dest: Path, part: str, sheet_data: str, prefix: str = "") -> Path:
    """A copy of ``source`` whose sheet ``part`` is replaced by a minimal sheet around ``sheet_data``."""
    p = f"{prefix}:" if prefix else ""
    declaration = f'xmlns:{prefix}="{MAIN}"' if prefix else f'xmlns="{MAIN}"'
    xml = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<{p}worksheet {declaration}>'
        f'<{p}dimension ref="A1"/>{sheet_data}<{p}pageMargins left="0.7" right="0.7" top="0.75" '
        f'bottom="0.75" header="0.3" footer="0.3"/></{p}worksheet>'
    )
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info, xml.encode() if info.filename == part else old.read(info))
    return dest


def test_rows_and_cells_without_refs(book: Path, tmp_path: Path) -> None:
    data = (
        "<sheetData>"
        '<row><c t="inlineStr"><is><t>Tenant ID</t></is></c><c t="inlineStr"><is><t>Workload</t></is></c></row>'
        '<row><c t="inlineStr"><is><t>t1</t></is></c><c><v>5</v></c></row>'
        '<row r="4"><c r="B4"><v>1</v></c><c><v>2</v></c></row>'
        "</sheetData>"
    )
    src = with_sheet_xml(book, tmp_path / "norefs.xlsx", "xl/worksheets/sheet1.xml", data)
    padded = [["Tenant ID", "Workload", None], ["t1", 5.0, None], [None, None, None], [None, 1.0, 2.0]]
    assert values(src, "Usage") == padded

    def edit(p: XlsxPatch) -> None:
        p.set_columns("Usage", ["Check Result"], [2, 4], [["OK", "ERROR"]])
        p.set_cells("Usage", {(2, 0): None, (4, 0): "new"})  # drop a cell, insert one before cells

    out = patched(src, tmp_path / "out.xlsx", edit)
    assert values(out, "Usage") == [
        ["Tenant ID", "Workload", None, "Check Result"],
        [None, 5.0, None, "OK"],  # B2 stays in B although the cell before it went
        [None, None, None, None],
        ["new", 1.0, 2.0, "ERROR"],  # C4 stays in C although a cell came before it
    ]


@pytest.mark.parametrize("empty", ["<sheetData/>", "<sheetData></sheetData>"])
def test_empty_sheet_data(book: Path, tmp_path: Path, empty: str) -> None:
    src = with_sheet_xml(book, tmp_path / "empty.xlsx", "xl/worksheets/sheet1.xml", empty)

    def edit(p: XlsxPatch) -> None:
        p.set_columns("Usage", ["Check Result"], [2], [["OK"]])
        assert p.append_rows("Usage", [["t9"]]) == [3]

    out = patched(src, tmp_path / "out.xlsx", edit)
    assert values(out, "Usage") == [["Check Result"], ["OK"], ["t9"]]


def test_namespace_prefixed_sheet(book: Path, tmp_path: Path) -> None:
    data = (
        '<x:sheetData><x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>Tenant ID</x:t></x:is></x:c></x:row>'
        '<x:row r="2"><x:c r="A2" t="inlineStr"><x:is><x:t>t1</x:t></x:is></x:c></x:row></x:sheetData>'
    )
    src = with_sheet_xml(book, tmp_path / "x.xlsx", "xl/worksheets/sheet1.xml", data, prefix="x")
    out = patched(
        src, tmp_path / "out.xlsx", lambda p: p.set_columns("Usage", CHECK, [2], [["OK"], ["fine"]])
    )
    xml = entries(out)["xl/worksheets/sheet1.xml"]
    assert re.search(rb'<x:c r="B2" s="\d+" t="inlineStr"><x:is><x:t>OK</x:t></x:is></x:c>', xml)
    ET.fromstring(xml)
    assert values(out, "Usage") == [["Tenant ID", "Check Result", "Check Notes"], ["t1", "OK", "fine"]]


def test_unusual_part_name_followed_through_relationships(book: Path, tmp_path: Path) -> None:
    moved = tmp_path / "moved.xlsx"
    with zipfile.ZipFile(book) as old, zipfile.ZipFile(moved, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = old.read(info)
            name = info.filename.replace("xl/worksheets/sheet1.xml", "xl/data/usage.xml")
            if info.filename in ("xl/_rels/workbook.xml.rels", "[Content_Types].xml"):
                data = data.replace(b'"worksheets/sheet1.xml"', b'"/xl/data/usage.xml"')
                data = data.replace(b'"/xl/worksheets/sheet1.xml"', b'"/xl/data/usage.xml"')
            new.writestr(name, data)

    def edit(p: XlsxPatch) -> None:
        p.set_columns("Usage", ["Check Notes"], [2], [["x"]])
        p.replace_sheet("CPOR Report", ["Severity"], [["error"]])

    out = patched(moved, tmp_path / "out.xlsx", edit)
    new_parts = set(entries(out)) - set(entries(moved))
    # the free name, next to the other parts; the report's rows form a table (its part and relationship)
    assert new_parts == {
        "xl/worksheets/sheet1.xml",
        "xl/worksheets/_rels/sheet1.xml.rels",
        "xl/tables/table1.xml",
    }
    assert values(out, "Usage")[1][7] == "x" and values(out, "CPOR Report") == [["Severity"], ["error"]]


# --- sheets the tool adds -------------------------------------------------------------------------------


def test_new_sheet_bookkeeping(book: Path, tmp_path: Path) -> None:
    out = patched(book, tmp_path / "o.xlsx", lambda p: p.replace_sheet("CPOR Report", ["Severity", "Code"],
                                                                       [["error", "x"]]))  # fmt: skip
    old, new = entries(book), entries(out)
    # sheet1 and sheet2 are taken; the report's rows form a table
    assert set(new) - set(old) == {
        "xl/worksheets/sheet3.xml", "xl/worksheets/_rels/sheet3.xml.rels", "xl/tables/table1.xml"
    }  # fmt: skip
    table = ET.fromstring(new["xl/tables/table1.xml"])
    assert (table.get("ref"), table.get("name")) == ("A1:B2", "CPOR_Report")
    assert [c.get("name") for c in table.iter() if c.tag.endswith("}tableColumn")] == ["Severity", "Code"]
    assert (
        b"tablePart " in new["xl/worksheets/sheet3.xml"]
        and b"/table" in new["xl/worksheets/_rels/sheet3.xml.rels"]
    )
    sheet = inserted(
        old["xl/workbook.xml"],
        new["xl/workbook.xml"],
        rb'<sheet name="CPOR Report" sheetId="3" r:id="(rId\d+)"/>',
    )
    rid = sheet.group(1)
    assert b'"%s"' % rid not in old["xl/_rels/workbook.xml.rels"]
    inserted(old["xl/_rels/workbook.xml.rels"], new["xl/_rels/workbook.xml.rels"],
             rb'<Relationship Id="%s" Type="[^"]+/worksheet" Target="worksheets/sheet3.xml"/>' % rid)  # fmt: skip
    inserted(old["[Content_Types].xml"], new["[Content_Types].xml"],
             rb'<Override PartName="/xl/worksheets/sheet3.xml" ContentType="[^"]+worksheet\+xml"/>'
             rb'<Override PartName="/xl/tables/table1.xml" ContentType="[^"]+table\+xml"/>')  # fmt: skip
    # (styles.xml gains the header row's format; app.xml, as XlsxWriter writes it, lists the new sheet too)
    assert new["docProps/app.xml"] == old["docProps/app.xml"].replace(
        b"<vt:i4>2</vt:i4>", b"<vt:i4>3</vt:i4>"
    ).replace(
        b'<vt:vector size="2" baseType="lpstr"><vt:lpstr>Usage</vt:lpstr><vt:lpstr>Other</vt:lpstr>',
        b'<vt:vector size="3" baseType="lpstr"><vt:lpstr>Usage</vt:lpstr><vt:lpstr>Other</vt:lpstr>'
        b"<vt:lpstr>CPOR Report</vt:lpstr>",
    )
    unchanged = set(old) - {
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "[Content_Types].xml",
        "xl/styles.xml",
        "docProps/app.xml",
    }
    assert all(raw_entries(book)[n] == raw_entries(out)[n] for n in unchanged)
    assert values(out, "CPOR Report") == [["Severity", "Code"], ["error", "x"]]
    assert openpyxl.load_workbook(out).sheetnames == ["Usage", "Other", "CPOR Report"]


def test_new_part_name_avoids_a_stale_content_type_entry(book: Path, tmp_path: Path) -> None:
    stale = tmp_path / "stale.xlsx"
    with zipfile.ZipFile(book) as old, zipfile.ZipFile(stale, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == "[Content_Types].xml":  # an Override for a part that is not there
                data = data.replace(b"</Types>", b'<Override PartName="/xl/worksheets/sheet3.xml" '
                                    b'ContentType="application/xml"/></Types>')  # fmt: skip
            new.writestr(info, data)
    out = patched(stale, tmp_path / "o.xlsx", lambda p: p.replace_sheet("CPOR Report", ["Severity"], []))
    assert set(entries(out)) - set(entries(stale)) == {
        "xl/worksheets/sheet4.xml", "xl/worksheets/_rels/sheet4.xml.rels", "xl/tables/table1.xml"
    }  # fmt: skip


def test_replace_sheet_replaces_a_tool_sheet(book: Path, tmp_path: Path) -> None:
    first = patched(book, tmp_path / "1.xlsx", lambda p: p.replace_sheet("CPOR Report", ["Severity"],
                                                                         [["a"], ["b"], ["c"]]))  # fmt: skip
    second = patched(
        first, tmp_path / "2.xlsx", lambda p: p.replace_sheet("cpor report", ["Severity"], [["z"]])
    )
    assert values(second, "CPOR Report") == [["Severity"], ["z"]]
    assert entries(second)["xl/workbook.xml"] == entries(first)["xl/workbook.xml"]  # no second sheet


def test_append_to_sheet_never_changes_rows_and_maps_headers(book: Path, tmp_path: Path) -> None:
    header = ["Run At", "Errors"]
    first = patched(book, tmp_path / "1.xlsx", lambda p: p.append_to_sheet("Run Log", header, [["r1", 1]]))
    second = patched(first, tmp_path / "2.xlsx", lambda p: p.append_to_sheet("Run Log", ["Errors", "Run At", "Drafts"],
                                                                             [[2, "r2"]]))  # fmt: skip
    assert values(second, "Run Log") == [["Run At", "Errors", "Drafts"], ["r1", 1.0, None], ["r2", 2.0, None]]
    part = sheet_part(second, "Run Log")
    assert sheet_rows(entries(first)[part])[2] == sheet_rows(entries(second)[part])[2]


def test_append_rows_returns_row_numbers(book: Path, tmp_path: Path) -> None:
    numbers: list[int] = []
    out = patched(
        book, tmp_path / "o.xlsx", lambda p: numbers.extend(p.append_rows("Usage", [["t4"], ["t5", "EXO"]]))
    )
    assert numbers == [5, 6]
    assert values(out, "Usage")[4:] == [["t4", None, None, None, None, None, None],
                                        ["t5", "EXO", None, None, None, None, None]]  # fmt: skip


# --- packages from other producers --------------------------------------------------------------------


def test_xlsm_keeps_macros_and_its_content_type(tmp_path: Path) -> None:
    src = realworld("xw_button07.xlsm")
    out = patched(src, tmp_path / "o.xlsm", lambda p: p.replace_sheet("CPOR Report", ["Severity"], [["x"]]))
    old, new = raw_entries(src), raw_entries(out)
    assert new["xl/vbaProject.bin"] == old["xl/vbaProject.bin"]
    types = entries(out)["[Content_Types].xml"]
    assert b"application/vnd.ms-excel.sheet.macroEnabled.main+xml" in types
    loaded = openpyxl.load_workbook(out, keep_vba=True)
    assert "CPOR Report" in loaded.sheetnames
    loaded.vba_archive.close()


def test_strict_ooxml(tmp_path: Path) -> None:
    src = realworld("cal_strict_iso_paths.xlsx")

    def edit(p: XlsxPatch) -> None:
        p.set_columns("ml_out", CHECK, [2, 3], [["OK", "ERROR"], ["", "x"]])
        p.replace_sheet("CPOR Report", ["Severity"], [["error"]])

    out = patched(src, tmp_path / "o.xlsx", edit)
    new = entries(out)
    added = sorted(set(new) - set(entries(src)))
    sheet = next(n for n in added if "/worksheets/sheet" in n)
    table = next(n for n in added if "/tables/" in n)  # the report's table, in the Strict namespaces too
    for part in (sheet, table):
        assert new[part].count(b'xmlns="http://purl.oclc.org/ooxml/spreadsheetml/main"') == 1
    assert (
        b"http://purl.oclc.org/ooxml/officeDocument/relationships/worksheet"
        in new["xl/_rels/workbook.xml.rels"]
    )
    assert values(out, "CPOR Report") == [["Severity"], ["error"]]
    assert values(out, "ml_out")[0][18:] == CHECK


def test_sheets_without_rid(tmp_path: Path) -> None:
    src = realworld("cx_SheetsWithoutRelId.xlsx")
    out = patched(src, tmp_path / "o.xlsx", lambda p: p.set_cells("Sheet without relId", {(9, 0): "marker"}))
    old, new = raw_entries(src), raw_entries(out)
    assert {n for n in old if old[n] != new[n]} == {"xl/worksheets/sheet2.xml"}
    with FileBook(out) as fb:
        assert fb.read_rows("Sheet without relId")[8][0] == "marker"


# --- refusals ----------------------------------------------------------------------------------------------


def test_misuse_is_refused(book: Path, tmp_path: Path) -> None:
    with XlsxPatch(book) as patch:
        with pytest.raises(ValueError, match="sheet name"):
            patch.replace_sheet("Bad/Name", ["x"], [])
        with pytest.raises(ValueError):
            patch.set_columns("Usage", CHECK, [2], [["OK"]])  # one list per header
        with pytest.raises(ValueError):
            patch.set_columns("Usage", ["Check Result"], [1], [["OK"]])  # row 1 is the header
        with pytest.raises(KeyError):
            patch.set_cells("Nope", {(1, 0): 1})
        with pytest.raises(ValueError, match="another file"):
            patch.save(book)


def test_chart_sheet_name_is_not_a_worksheet(tmp_path: Path) -> None:
    src = realworld("xw_chartsheet03.xlsx")
    with XlsxPatch(src) as patch, pytest.raises(NotAWorkbook, match="chartsheet"):
        patch.replace_sheet("Chart1", ["x"], [])


# --- a feature-rich workbook ------------------------------------------------------------------------------


def rich_workbook(path: Path, vba: Path | None) -> Path:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Usage")
    ws.write_row(0, 0, HEADER)
    for r in range(1, 6):
        ws.write_row(r, 0, [f"t{r}", "Exchange Online", "2025-03", r * 10, 200])
    ws.write_formula("F2", "=D2/E2", None, 0.05)  # a formula with its cached value
    ws.add_table(
        "A1:E6", {"name": "UsageTable", "header_row": True, "columns": [{"header": h} for h in HEADER]}
    )
    ws.write_comment("A2", "a note")
    ws.insert_textbox("H2", "a text box")
    ws.add_sparkline("G2", {"range": "Usage!D2:E2"})
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"values": "=Usage!$D$2:$D$6"})
    ws.insert_chart("H8", chart)
    if vba is not None:
        wb.add_vba_project(str(vba))
        ws.insert_button("H20", {"macro": "say_hello", "caption": "Run"})
    hidden = wb.add_worksheet("Hidden")
    hidden.write("A1", "secret")
    hidden.hide()
    wb.close()
    return path


@pytest.mark.parametrize("add_report", [False, True], ids=["columns", "columns+report"])
def test_feature_rich_workbook_keeps_everything(tmp_path: Path, add_report: bool) -> None:
    vba = None
    if (REALWORLD / "xw_button07.xlsm").exists():  # a real vbaProject.bin (without it: no macros, no button)
        vba = tmp_path / "vbaProject.bin"
        vba.write_bytes(entries(REALWORLD / "xw_button07.xlsm")["xl/vbaProject.bin"])
    src = rich_workbook(tmp_path / ("rich.xlsm" if vba else "rich.xlsx"), vba)

    def edit(p: XlsxPatch) -> None:
        p.set_columns("Usage", CHECK, [2, 3, 4, 5, 6], [["OK"] * 5, ["x"] * 5])
        if add_report:
            p.replace_sheet("CPOR Report", ["Severity"], [["error"]])

    out = patched(src, tmp_path / ("out" + src.suffix), edit)
    old, new = raw_entries(src), raw_entries(out)
    part = sheet_part(src, "Usage")
    bookkeeping = (  # (app.xml lists the sheets: the new one too)
        {"xl/_rels/workbook.xml.rels", "[Content_Types].xml", "docProps/app.xml"} if add_report else set()
    )
    bookkeeping.add("xl/workbook.xml")  # (the tool's mark on its columns)
    assert {n for n in old if old[n] != new[n]} == {part, "xl/styles.xml", *bookkeeping}
    before, after = entries(src)[part], entries(out)[part]
    # comments, text box, chart, button (legacyDrawing, drawing), the table (tableParts), sparklines (extLst)
    for element in (b"<legacyDrawing", b"<drawing", b"<tableParts", b"<extLst"):
        if element in before:
            assert element in after
    tool = {i for i, header in enumerate(values(out, "Usage")[0]) if header in CHECK}
    assert tool == {6, 7}
    assert_only_tool_cells_changed(before, after, tool)  # F2's formula and cached value included
    assert values(out, "Usage")[1][5] == 0.05
    if vba:
        assert new["xl/vbaProject.bin"] == old["xl/vbaProject.bin"]
    loaded = openpyxl.load_workbook(out, keep_vba=bool(vba))
    assert loaded["Hidden"].sheet_state == "hidden"
    if loaded.vba_archive is not None:
        loaded.vba_archive.close()


# --- whole rows built as bytes (replace_sheet, append_to_sheet, append_rows) -------------------------------

#: characters that exercise escaping: XML specials, a formula start, Excel's _xHHHH_ escapes, control
#: characters, line breaks, spaces at the ends, non-ASCII (U+FFFE/U+FFFF are left out: calamine does not
#: decode their escapes)
TEXT_CHARS = "aZ0 \t\n\r\x01\x1f<>&\"'=_x4é🎉中\u00a0"
cell_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**16), 10**16),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(dt.date(1900, 3, 1), dt.date(2200, 1, 1)),
    st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(2200, 1, 1)),
    st.text(TEXT_CHARS, max_size=8),
)
value_rows = st.lists(st.lists(cell_values, max_size=5), max_size=6)


def read_back(value: Any) -> Any:
    """What calamine gives for a value the tool wrote (numbers as floats, dates as ISO text)."""
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value) if abs(value) < 10**15 else str(value)
    if isinstance(value, float):
        return value if abs(value) != float("inf") else str(value)
    if isinstance(value, dt.datetime):
        midnight = value.time() == dt.time(0)
        return value.date().isoformat() if midnight else value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def expected_cells(rows: list[list[Any]], first: int) -> set[tuple[int, int, Any]]:
    """(Excel row, column, value read back) of the non-empty cells of rows written from row ``first``."""
    found = {(first + r, c, read_back(v)) for r, row in enumerate(rows) for c, v in enumerate(row)}
    return {cell for cell in found if cell[2] is not None}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(report=value_rows, log=value_rows, more=value_rows)
def test_rows_written_in_bulk_read_back_as_given(
    book: Path, tmp_path: Path, report: list[list[Any]], log: list[list[Any]], more: list[list[Any]]
) -> None:
    """A new sheet (replace_sheet), a new sheet appended to twice and a user sheet appended to, with every
    kind of value: calamine and openpyxl read back what was written; the XML is well-formed."""
    header = ["Severity", "Code", "Sheet", "Cell", "Message"]

    def edit(p: XlsxPatch) -> None:
        p.replace_sheet("CPOR Report", header, report)
        p.append_to_sheet("Run Log", header, log)
        p.append_to_sheet("Run Log", header, more)
        assert p.append_rows("Other", more) == list(range(3, 3 + len(more)))

    out = patched(book, tmp_path / "o.xlsx", edit)
    for part, xml in entries(out).items():
        if part.startswith("xl/worksheets/"):
            ET.fromstring(xml)

    header_cells = expected_cells([header], 1)
    assert cells(out, "CPOR Report") == header_cells | expected_cells(report, 2)
    # the second append starts after the last row that holds a value
    last = max((2 + r for r, row in enumerate(log) if any(read_back(v) is not None for v in row)), default=1)
    assert cells(out, "Run Log") == header_cells | expected_cells(log, 2) | expected_cells(more, last + 1)
    assert cells(out, "Other") == {(1, 0, "x"), (2, 0, 1.0)} | expected_cells(more, 3)
    sheet = openpyxl.load_workbook(out)["CPOR Report"]
    for r, row in enumerate(report, start=2):
        for c, value in enumerate(row, start=1):
            got, want = sheet.cell(r, c).value, read_back(value)
            if isinstance(want, str) and re.search("[\x00-\x1f_]", want):
                continue  # openpyxl does not decode Excel's _xHHHH_ escapes in inline strings
            assert got == want, (r, c, value)


#: the first row appended to the test workbook's Usage sheet (after its last row)
FIRST_NEW = 5


def written_both_ways(
    book: Path, tmp_path: Path, rows: list[list[Any]]
) -> tuple[Path, Path, dict[tuple[int, int], Any]]:
    """The workbook with ``rows`` appended to Usage by append_rows (in bulk), and with the same cells written
    one by one by set_cells, and those cells (set_cells would clear cells for empty values; append_rows
    leaves them alone, so the empty ones are left out)."""
    each = {
        (FIRST_NEW + r, c): v
        for r, row in enumerate(rows)
        for c, v in enumerate(row)
        if read_back(v) is not None
    }
    bulk = patched(book, tmp_path / "bulk.xlsx", lambda p: p.append_rows("Usage", rows))
    one_by_one = patched(book, tmp_path / "cells.xlsx", lambda p: p.set_cells("Usage", each))
    return bulk, one_by_one, each


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=value_rows)
def test_bulk_rows_are_the_bytes_of_cell_by_cell_writes(
    book: Path, tmp_path: Path, rows: list[list[Any]]
) -> None:
    """append_rows builds new rows in bulk; set_cells writes the same cells one by one: same sheet XML."""
    bulk, one_by_one, cells = written_both_ways(book, tmp_path, rows)
    part = sheet_part(book, "Usage")
    if cells:
        assert entries(bulk)[part] == entries(one_by_one)[part]
    else:  # nothing to write: the sheet is not rewritten
        assert raw_entries(bulk)[part] == raw_entries(book)[part]


number_rows = st.lists(
    st.tuples(
        st.none() | st.integers(-(10**16), 10**16) | st.sampled_from([0, -1, 10**15 - 1, 10**15, -(10**15)]),
        st.none() | st.floats() | st.sampled_from([0.0, -0.0, 1e300, float("inf"), float("nan")]),
    ).map(list),
    min_size=17,
    max_size=60,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=number_rows)
def test_number_columns_in_bulk_are_the_bytes_of_cell_by_cell_writes(
    book: Path, tmp_path: Path, rows: list[list[Any]]
) -> None:
    """Long columns of whole numbers and of floats (a ledger's counts and amounts) are made in bulk; set_cells
    writes the same numbers one by one: same sheet XML, and calamine reads back the numbers given."""
    bulk, one_by_one, each = written_both_ways(book, tmp_path, rows)
    part = sheet_part(book, "Usage")
    if each:
        assert entries(bulk)[part] == entries(one_by_one)[part]
        assert {cell for cell in cells(bulk, "Usage") if cell[0] >= FIRST_NEW} == expected_cells(
            rows, FIRST_NEW
        )


def test_appending_over_formatted_empty_rows_keeps_their_formats(book: Path, tmp_path: Path) -> None:
    """Rows at the sheet's end that hold only formats are written cell by cell (formats kept); the rows
    after them in bulk."""
    data = (
        "<sheetData>"
        '<row r="1"><c r="A1" t="inlineStr"><is><t>Tenant ID</t></is></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>t1</t></is></c></row>'
        '<row r="3" ht="30" customHeight="1"><c r="A3" s="1"/><c r="B3" s="1"/></row>'
        '<row r="5" s="1" customFormat="1"/>'
        "</sheetData>"
    )
    src = with_sheet_xml(book, tmp_path / "formatted.xlsx", "xl/worksheets/sheet1.xml", data)
    numbers: list[int] = []
    rows = [["t2", 2], ["t3"], [None, 4], ["t5", 5], ["t6"]]
    out = patched(src, tmp_path / "o.xlsx", lambda p: numbers.extend(p.append_rows("Usage", rows)))
    assert numbers == [3, 4, 5, 6, 7]
    assert values(out, "Usage")[2:] == [["t2", 2.0], ["t3", None], [None, 4.0], ["t5", 5.0], ["t6", None]]
    got = sheet_rows(entries(out)["xl/worksheets/sheet1.xml"])
    assert got[3][0] == {"r": "3", "ht": "30", "customHeight": "1"}  # the row keeps its height
    assert {c: cell[1].get("s") for c, cell in got[3][1].items()} == {0: "1", 1: "1"}  # and its formats
    assert got[5][0] == {"r": "5", "s": "1", "customFormat": "1"}
    assert got[6][0] == {"r": "6"} and "s" not in got[6][1][0][1]  # a new row: no format


def test_later_writes_to_added_rows_win(book: Path, tmp_path: Path) -> None:
    """Cells of rows appended in this run can be written again: a later set_cells or set_columns wins,
    and set_columns clears its column in the appended rows it does not list (as in every other row)."""

    def edit(p: XlsxPatch) -> None:
        assert p.append_rows("Usage", [["t4", None, None, None, None, "old", "drop me"], ["t5"]]) == [5, 6]
        p.set_cells("Usage", {(5, 0): "t4 again", (6, 0): None, (6, 1): "EXO"})
        p.set_columns("Usage", ["Check Result"], [2, 6], [["OK", "ERROR"]])

    out = patched(book, tmp_path / "o.xlsx", edit)
    got = values(out, "Usage")
    assert got[0][7] == "Check Result" and got[1][7] == "OK"
    assert got[4] == ["t4 again", None, None, None, None, "old", "drop me", None]
    assert got[5] == [None, "EXO", None, None, None, None, None, "ERROR"]
    found_again = patched(
        out, tmp_path / "again.xlsx", lambda p: p.append_rows("Usage", [[None] * 7 + ["x"]])
    )
    assert values(found_again, "Usage")[6] == [None] * 7 + ["x"]


def test_new_sheet_column_widths_follow_the_final_cells(book: Path, tmp_path: Path) -> None:
    def edit(p: XlsxPatch) -> None:
        p.append_to_sheet("Run Log", ["Run At", "Errors"], [["2025-11-30T12:00:00", 1]])
        p.append_to_sheet("Run Log", ["Run At", "Errors", "A much longer header than the others"], [])
        p.replace_sheet("CPOR Report", ["Message"], [["m" * 200], ["short"]])

    out = patched(book, tmp_path / "o.xlsx", edit)
    widths = {}
    for name in ("Run Log", "CPOR Report"):
        xml = entries(out)[sheet_part(out, name)]
        widths[name] = [int(w) for w in re.findall(rb'<col min="\d+" max="\d+" width="(\d+)"', xml)]
    # text + 2, between 10 and 60; a sheet's last column up to 120 (its text runs on to the right)
    assert widths == {"Run Log": [21, 10, 38], "CPOR Report": [120]}


@pytest.mark.parametrize(
    ("amounts", "width"),
    [
        ([1.5, -12345.25, 99.0], 12),  # "-12,345.25" is the longest: the smallest number
        ([float("nan"), 123456789.0, -1.0], 16),  # "123,456,789.00" (a NaN first is looked past)
        ([float("-inf"), 5e9, float("inf")], 18),  # "5,000,000,000.00" (neither end is the longest)
        ([3, -70000, 123], 10),  # whole numbers as they are: 10 at least
    ],
)
def test_number_columns_are_as_wide_as_their_longest_number(
    book: Path, tmp_path: Path, amounts: list[float], width: int
) -> None:
    rows = [[amount, "x"] for amount in amounts]
    out = patched(
        book, tmp_path / "o.xlsx", lambda p: p.replace_sheet("CPOR Report", ["Amount", "Note"], rows)
    )
    xml = entries(out)[sheet_part(out, "CPOR Report")]
    assert int(re.findall(rb'<col min="1" max="1" width="(\d+)"', xml)[0]) == width


def test_new_big_parts_are_deflated_in_pieces_that_make_one_stream(book: Path, tmp_path: Path) -> None:
    rows = [[f"row {i}", i, "x" * (i % 50)] for i in range(60_000)]  # a few MB of sheet XML
    out = patched(book, tmp_path / "o.xlsx", lambda p: p.replace_sheet("CPOR Report", ["A", "B", "C"], rows))
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None  # every CRC and size right
    assert values(out, "CPOR Report")[1:] == [
        [f"row {i}", float(i), "x" * (i % 50) or None] for i in range(60_000)
    ]
    assert len(entries(out)[sheet_part(out, "CPOR Report")]) > 2 * 1024**2  # more than one piece


def test_a_failing_part_stops_the_writer_threads(book: Path, tmp_path: Path) -> None:
    import threading

    from cpor_excel.io.xlsx.package import open_package

    def chunks() -> Any:
        yield b"<x>" * 500_000
        raise NotAWorkbook("stop here")

    with open_package(book) as package, pytest.raises(NotAWorkbook, match="stop here"):
        package.write(tmp_path / "o.xlsx", {"xl/styles.xml": (chunks(), 1)})
    assert not [t for t in threading.enumerate() if t.name.startswith("zip-")]


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.text(TEXT_CHARS + " \u2028\ud7ff\ufffe", max_size=12), min_size=65, max_size=80))
def test_texts_built_in_bulk_are_excels_cell_text(texts: list[str]) -> None:
    """The fast ways to build text cells (plain text as it is, a column's new texts in one loop) give what
    the general rule gives: cell_text's escapes, xml:space="preserve" for spaces at the ends or line
    breaks, nothing for an empty text."""
    from cpor_excel.io.xlsx.cells import CellXml, cell_text

    cells = CellXml(b"x:")

    def rule(text: str) -> bytes | None:
        if text == "":
            return None
        escaped = cell_text(text)
        space = b' xml:space="preserve"' if escaped != escaped.strip() or "\n" in escaped else b""
        return b'"' + cells.text_open + space + b">" + escaped.encode() + cells.text_close

    built = [cells.text(text) for text in texts]
    assert [None if b is None else b'"' + b for b in built] == [rule(t) for t in texts]
    assert CellXml(b"x:").tails(texts) == [rule(t) for t in texts]
    assert CellXml(b"x:").tails([None, *texts]) == [None, *map(rule, texts)]

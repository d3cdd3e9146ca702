"""What the partner sees in the written workbook: tool columns styled like the sheet's header, sized (notes
wide and wrapped), results coloured strongly; widths the partner changed kept; tool sheets with frozen headers,
filter buttons and number formats; the CPOR Report as an Excel table; tool columns never inside a merged range;
no calcChain entry left for a formula the tool replaced; the dashboard's parts rewritten in place. Every result
passes the shared validator."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from ooxml_validator import new_errors
from openpyxl.styles import Font, PatternFill
from writer_helpers import entries, sheet_part

from cpor_excel.io.looks import HEADER_LOOK, RESULT_LOOKS, SEVERITY_LOOKS, WRAP_AT
from cpor_excel.io.xlsx.patch import XlsxPatch
from cpor_excel.model.dashboard import Chart, Dashboard, Series, Table


def user_book(path: Path, merged: str | None = None, formula_in: str | None = None) -> Path:
    """A user sheet saved by openpyxl: a bold, filled header row, three data rows (with ``formula_in``: a
    Check Result column from an earlier run, where the partner typed a formula)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Associations"
    ws.append(["Claim ID", "Status", "Notes", *(["Check Result"] if formula_in else [])])
    for i in range(3):
        ws.append([f"C-{i}", "Approved", "n"])
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FF112233")
        cell.fill = PatternFill("solid", fgColor="FFDDEEFF")
    if merged:
        ws.merge_cells(merged)
    if formula_in:
        ws[formula_in] = "=LEN(A2)"
    wb.save(path)
    return path


def patched(source: Path, dest: Path, edit: Any) -> Path:
    with XlsxPatch(source) as patch:
        edit(patch)
        patch.save(dest)
    assert new_errors(source, dest) == []  # Excel opens it without repair
    return dest


RESULTS = ["ERROR", "CONFLICT", "OK"]
NOTES = ["bad-email: " + "x" * 90, "association-conflict: the other claim", None]


def columns(patch: XlsxPatch) -> None:
    patch.set_columns("Associations", ["Check Result", "Check Notes"], [2, 3, 4], [RESULTS, NOTES])


def test_tool_columns_look_like_the_sheet_and_results_stand_out(tmp_path: Path) -> None:
    out = patched(user_book(tmp_path / "in.xlsx"), tmp_path / "out.xlsx", columns)
    ws = openpyxl.load_workbook(out)["Associations"]
    for column in ("D", "E"):  # the headers copy the sheet's own header cell format
        assert ws[f"{column}1"].font.b and ws[f"{column}1"].font.color.rgb == "FF112233"
        assert ws[f"{column}1"].fill.fgColor.rgb == "FFDDEEFF"
    for row, value in enumerate(RESULTS, start=2):
        look = RESULT_LOOKS[value]
        cell = ws[f"D{row}"]
        assert (cell.value, cell.fill.fgColor.rgb, cell.font.color.rgb, bool(cell.font.b)) == (
            value, f"FF{look.fill}", f"FF{look.font}", look.bold
        )  # fmt: skip
    assert ws["E2"].alignment.wrap_text and ws["E2"].alignment.vertical == "top"  # long notes wrap
    assert ws.column_dimensions["E"].width == WRAP_AT
    assert ws.column_dimensions["D"].width == len("Check Result") + 2
    assert RESULT_LOOKS["ERROR"].fill == "C00000" and RESULT_LOOKS["CONFLICT"].font == "FFFFFF"


def test_workbooks_saved_one_after_another_each_get_their_own_formats(tmp_path: Path) -> None:
    """A batch saves workbook after workbook in one process: each one's result colours point into its own
    styles part, whether it is like the one before (same part) or not (more fills and fonts before them)."""
    plain = user_book(tmp_path / "plain.xlsx")
    busier = tmp_path / "busier.xlsx"
    wb = openpyxl.load_workbook(plain)
    for at, colour in enumerate(("FF445566", "FF778899", "FFAABBCC"), start=2):
        cell = wb["Associations"][f"C{at}"]
        cell.fill, cell.font = PatternFill("solid", fgColor=colour), Font(color=colour, italic=True)
    wb.save(busier)
    for at, source in enumerate([plain, busier, plain, busier]):
        ws = openpyxl.load_workbook(patched(source, tmp_path / f"out{at}.xlsx", columns))["Associations"]
        for row, value in enumerate(RESULTS, start=2):
            look, cell = RESULT_LOOKS[value], ws[f"D{row}"]
            assert (cell.fill.fgColor.rgb, cell.font.color.rgb, bool(cell.font.b)) == (
                f"FF{look.fill}", f"FF{look.font}", look.bold
            )  # fmt: skip
        assert ws["C2"].fill.fgColor.rgb == ("FF445566" if source == busier else "00000000")


def test_a_width_the_partner_changed_is_kept_on_the_next_run(tmp_path: Path) -> None:
    first = patched(user_book(tmp_path / "in.xlsx"), tmp_path / "1.xlsx", columns)
    part = sheet_part(first, "Associations")
    changed = tmp_path / "changed.xlsx"  # the partner narrows Check Notes to 33
    with zipfile.ZipFile(first) as src, zipfile.ZipFile(changed, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == part:
                data = data.replace(b'<col min="5" max="5" width="60"', b'<col min="5" max="5" width="33"')
            dst.writestr(info, data)
    second = patched(changed, tmp_path / "2.xlsx", columns)
    assert openpyxl.load_workbook(second)["Associations"].column_dimensions["E"].width == 33
    xml = entries(second)[part]
    assert len(re.findall(rb'<col min="5" max="5"', xml)) == 1


def test_tool_columns_never_land_inside_a_merged_range(tmp_path: Path) -> None:
    source = user_book(tmp_path / "in.xlsx", merged="A6:H6")  # a banner row merged across eight columns
    out = patched(source, tmp_path / "out.xlsx", columns)
    ws = openpyxl.load_workbook(out)["Associations"]
    assert (ws["I1"].value, ws["J1"].value) == ("Check Result", "Check Notes")
    assert [str(r) for r in ws.merged_cells.ranges] == ["A6:H6"]


def test_a_replaced_formula_leaves_no_calc_chain_entry(tmp_path: Path) -> None:
    source = user_book(tmp_path / "in.xlsx", formula_in="D3")  # a formula where the tool column goes
    chained = tmp_path / "chained.xlsx"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(chained, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/calcChain.xml" ContentType="application/'
                                    b'vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>')  # fmt: skip
            if info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rId99" Type="http://schemas.openxml'
                                    b'formats.org/officeDocument/2006/relationships/calcChain" Target="calcChain.xml"/>'
                                    b"</Relationships>")  # fmt: skip
            dst.writestr(info, data)
        dst.writestr("xl/calcChain.xml", b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<calcChain xmlns='
                     b'"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><c r="D3" i="1"/></calcChain>')  # fmt: skip
    assert new_errors(None, chained) == []  # a valid chain before the run
    out = patched(chained, tmp_path / "out.xlsx", lambda p: p.set_columns(
        "Associations", ["Check Result"], [2, 3, 4], [RESULTS]))  # fmt: skip
    after = entries(out)
    assert "xl/calcChain.xml" not in after and b"calcChain" not in after["xl/_rels/workbook.xml.rels"]
    assert b"calcChain" not in after["[Content_Types].xml"]
    assert openpyxl.load_workbook(out)["Associations"]["D3"].value == "CONFLICT"


def test_tool_sheets_have_header_filters_formats_and_the_report_is_a_table(tmp_path: Path) -> None:
    source = user_book(tmp_path / "in.xlsx")
    report = [
        ["ERROR", "bad-email", "Customers", "F12", None, "m"],
        ["INFO", "milestone-reached", "x", "A1", "C-1", "n"],
    ]
    header = ["Severity", "Code", "Sheet", "Cell", "Claim ID", "Message"]

    def edit(patch: XlsxPatch) -> None:
        columns(patch)
        patch.replace_sheet("CPOR Report", header, report)
        patch.append_to_sheet("Milestone Ledger", ["Claim ID", "Active Usage %"], [["C-1", 0.2047]],
                              {"Active Usage %": "percent"})  # fmt: skip

    first = patched(source, tmp_path / "1.xlsx", edit)
    wb = openpyxl.load_workbook(first)
    ledger, sheet = wb["Milestone Ledger"], wb["CPOR Report"]
    assert ledger.freeze_panes == "A2" and ledger.auto_filter.ref == "A1:B2"
    assert ledger["B2"].number_format == "0.0%" and ledger["B2"].value == pytest.approx(0.2047)
    assert ledger["A1"].fill.fgColor.rgb == f"FF{HEADER_LOOK.fill}" and ledger["A1"].font.b
    (table,) = sheet.tables.values()
    assert (table.ref, table.name, [c.name for c in table.tableColumns]) == ("A1:F3", "CPOR_Report", header)
    assert sheet["A2"].fill.fgColor.rgb == f"FF{SEVERITY_LOOKS['ERROR'].fill}"
    assert sheet["A3"].fill.fgColor.rgb == f"FF{SEVERITY_LOOKS['INFO'].fill}"
    # a second run: the same table part, over the new rows; the ledger's filter grows with its rows
    second = patched(first, tmp_path / "2.xlsx", lambda p: (
        p.replace_sheet("CPOR Report", header, report[:1]),
        p.append_to_sheet("Milestone Ledger", ["Claim ID", "Active Usage %"], [["C-2", 0.5]], {"Active Usage %": "percent"}),
    ))  # fmt: skip
    wb = openpyxl.load_workbook(second)
    (table,) = wb["CPOR Report"].tables.values()
    assert (table.ref, table.name) == ("A1:F2", "CPOR_Report")
    assert wb["Milestone Ledger"].auto_filter.ref == "A1:B3"
    assert sorted(n for n in entries(second) if n.startswith("xl/tables/")) == ["xl/tables/table1.xml"]


def board(charts: int) -> Dashboard:
    chart = [
        Chart("Claims by status", ["Draft", "Approved"], [Series("Claims", [2, 5])], horizontal=True),
        Chart("Milestones per month", ["2025-10", "2025-11"], [Series("Milestones reached", [1, 3])]),
    ]
    return Dashboard(
        "CPOR Dashboard",
        ["As of 2025-11-30."],
        chart[:charts],
        [Table("Needs action now", ["Claim ID"], [["C-1"]])],
    )


def test_the_dashboard_is_rewritten_in_place_and_drops_what_it_no_longer_draws(tmp_path: Path) -> None:
    source = user_book(tmp_path / "in.xlsx")
    first = patched(source, tmp_path / "1.xlsx", lambda p: p.replace_dashboard("Dashboard", board(2)))
    again = patched(first, tmp_path / "2.xlsx", lambda p: p.replace_dashboard("Dashboard", board(2)))
    assert entries(again) == entries(first)  # the same dashboard: the same bytes, the same part names
    fewer = patched(first, tmp_path / "3.xlsx", lambda p: p.replace_dashboard("Dashboard", board(1)))
    names = set(entries(fewer))
    assert {n for n in names if n.startswith("xl/charts/")} == {"xl/charts/chart1.xml"}
    assert b"chart2" not in entries(fewer)["[Content_Types].xml"]
    assert b"chart2" not in entries(fewer)["xl/drawings/_rels/drawing1.xml.rels"]
    none = patched(fewer, tmp_path / "4.xlsx", lambda p: p.replace_dashboard("Dashboard", board(0)))
    assert not any(n.startswith(("xl/charts/", "xl/drawings/")) for n in entries(none))
    assert openpyxl.load_workbook(none)["Dashboard"]["A1"].value == "CPOR Dashboard"

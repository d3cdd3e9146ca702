"""Sheets laid out in ways the partner's workbook really has (issue 18): a title row above the header, a
misspelt required header, the user's own column named "Check Result", an Excel table with a totals row,
formulas that were never calculated. No row is painted OK unless it was checked, the user's columns are
never taken over, and what the tool reports is what the cells hold."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.worksheet.table import Table
from python_calamine import CalamineWorkbook

from cpor_excel.apply import row_status
from cpor_excel.model.findings import Finding
from cpor_excel.run import check_workbook, run_workbook
from tests.conftest import AS_OF

Key = tuple[str, int | None, str | None, str]


def keys(path: Path) -> set[Key]:
    return {(f.sheet, f.row, f.column, f.code) for f in check_workbook(path, as_of=AS_OF).findings}


def edited(source: Path, dest: Path, edit: Callable[[openpyxl.Workbook], None]) -> Path:
    book = openpyxl.load_workbook(source)
    edit(book)
    book.save(dest)
    return dest


def values(path: Path, sheet: str) -> list[list[object]]:
    reader = CalamineWorkbook.from_path(str(path))
    try:
        return reader.get_sheet_by_name(sheet).to_python()
    finally:
        reader.close()


def run(path: Path, tmp_path: Path) -> Path:
    out = tmp_path / f"{path.stem}-out.xlsx"
    run_workbook(path, out=out, as_of=AS_OF, drafts_dir=tmp_path / f"{path.stem} drafts")
    return out


@pytest.fixture
def plain(sample_book, tmp_path: Path) -> Path:
    """The sample as openpyxl saves it (the same writer as the edited copies)."""
    return edited(sample_book[0], tmp_path / "plain.xlsx", lambda book: None)


# --- where the header is ---------------------------------------------------------------------------------


def test_a_title_row_above_the_header_is_passed_over(plain: Path, tmp_path: Path) -> None:
    def title(book: openpyxl.Workbook) -> None:
        sheet = book["Associations"]
        sheet.insert_rows(1)
        sheet["A1"] = "Contoso CPOR claims, FY26"

    book = edited(plain, tmp_path / "titled.xlsx", title)
    expected = {(s, r + 1 if s == "Associations" and r else r, c, code) for s, r, c, code in keys(plain)}
    assert keys(book) == expected

    rows = values(run(book, tmp_path), "Associations")
    assert rows[0][0] == "Contoso CPOR claims, FY26" and "Check Result" not in rows[0]
    at = rows[1].index("Check Result")
    plain_rows = values(run(plain, tmp_path), "Associations")
    assert [row[at] for row in rows[2:]] == [
        row[plain_rows[0].index("Check Result")] for row in plain_rows[1:]
    ]


def test_a_misspelt_required_header_paints_no_row_ok(plain: Path, tmp_path: Path) -> None:
    def misspell(book: openpyxl.Workbook) -> None:
        sheet = book["Customers"]
        column = [cell.value for cell in sheet[1]].index("Tenant ID") + 1
        sheet.cell(row=1, column=column, value="Tennant ID")

    book = edited(plain, tmp_path / "misspelt.xlsx", misspell)
    found = keys(book)
    assert ("Customers", None, "Tenant ID", "missing-column") in found
    rows = values(run(book, tmp_path), "Customers")
    at = rows[0].index("Check Result")
    assert all(row[at] != "OK" for row in rows[1:])


def test_a_sheet_whose_header_cannot_be_found_paints_no_row_ok(plain: Path, tmp_path: Path) -> None:
    def scramble(book: openpyxl.Workbook) -> None:
        sheet = book["Customers"]
        for cell in sheet[1]:
            if cell.value:
                cell.value = f"Column {cell.column}"

    book = edited(plain, tmp_path / "headless.xlsx", scramble)
    codes = {code for sheet, _, _, code in keys(book) if sheet == "Customers"}
    assert codes & {"missing-column", "header-not-found"}
    out = run(book, tmp_path)
    assert not any(cell == "OK" for row in values(out, "Customers") for cell in row)


def test_a_row_of_an_unchecked_sheet_is_never_ok_whatever_it_was_told() -> None:
    """A finding of mere information (OK level) on a row of a sheet that lacks a required column leaves
    the row unchecked, not OK; a row with an error is still an ERROR."""
    findings = [
        Finding("missing-column", "Customers", "no Tenant ID", column="Tenant ID"),
        Finding("unknown-language", "Customers", "no template", row=3, column="Language"),
        Finding("bad-email", "Customers", "not an address", row=4, column="Contact Email"),
    ]
    result, notes = row_status(findings, "Customers", pd.Index([2, 3, 4]))
    assert result == ["", "", "ERROR"]
    assert notes[0] and notes[0] in notes[1] and "unknown-language" in notes[1] and "bad-email" in notes[2]
    assert row_status(findings[1:], "Customers", pd.Index([2, 3, 4]))[0] == ["OK", "OK", "ERROR"]


# --- the tool's own columns -----------------------------------------------------------------------------


def test_the_users_own_check_result_column_is_never_taken_over(plain: Path, tmp_path: Path) -> None:
    def own_column(book: openpyxl.Workbook) -> None:
        sheet = book["Customers"]
        column = sheet.max_column + 1
        sheet.cell(row=1, column=column, value="Check Result")
        for row in range(2, sheet.max_row + 1):
            sheet.cell(row=row, column=column, value="call back")

    book = edited(plain, tmp_path / "own.xlsx", own_column)
    out = run(book, tmp_path)
    rows = values(out, "Customers")
    assert rows[0].count("Check Result") == 2
    mine, tool = (i for i, header in enumerate(rows[0]) if header == "Check Result")
    assert all(row[mine] == "call back" for row in rows[1:])
    assert {row[tool] for row in rows[1:]} <= {"OK", "WARNING", "ERROR", "CONFLICT"}
    # a second run finds its own columns again: nothing is added, the user's column is still the user's
    again = tmp_path / "again"
    again.mkdir()
    rows_again = values(run(out, again), "Customers")
    assert rows_again[0] == rows[0]
    assert all(row[mine] == "call back" for row in rows_again[1:])


def test_tool_columns_of_a_workbook_run_before_the_mark_are_found_again(plain: Path, tmp_path: Path) -> None:
    """A workbook that an earlier version wrote: Check Result and Check Notes after the user's columns,
    no mark. They are the tool's (by header and position) and are reused, not duplicated."""

    def earlier_run(book: openpyxl.Workbook) -> None:
        sheet = book["Customers"]
        column = sheet.max_column + 1
        sheet.cell(row=1, column=column, value="Check Result")
        sheet.cell(row=1, column=column + 1, value="Check Notes")
        for row in range(2, sheet.max_row + 1):
            sheet.cell(row=row, column=column, value="OK")

    book = edited(plain, tmp_path / "earlier.xlsx", earlier_run)
    width = len(values(book, "Customers")[0])
    rows = values(run(book, tmp_path), "Customers")
    assert len(rows[0]) == width and rows[0].count("Check Result") == 1
    assert rows[0][-2:] == ["Check Result", "Check Notes"]


# --- what a cell holds ---------------------------------------------------------------------------------


def test_an_excel_tables_totals_row_is_not_a_claim(plain: Path, tmp_path: Path) -> None:
    def table(book: openpyxl.Workbook) -> None:
        sheet = book["Associations"]
        last, width = sheet.max_row, sheet.max_column
        total = last + 1
        sheet.cell(row=total, column=1, value="Total")
        sheet.cell(row=total, column=2, value=f"=SUBTOTAL(103,B2:B{last})")
        ref = f"A1:{openpyxl.utils.get_column_letter(width)}{total}"
        sheet.add_table(Table(displayName="Claims", ref=ref, totalsRowCount=1))

    book = edited(plain, tmp_path / "table.xlsx", table)
    assert keys(book) == keys(plain)


def test_a_formula_never_calculated_is_reported_as_such(plain: Path, tmp_path: Path) -> None:
    """openpyxl writes formulas without a cached value (as do many generators): the cell is not empty, its
    value is unknown until Excel calculates the workbook."""

    def formula(book: openpyxl.Workbook) -> None:
        sheet = book["Customers"]
        column = [cell.value for cell in sheet[1]].index("Customer Name") + 1
        sheet.cell(row=3, column=column, value='=UPPER("contoso")')

    book = edited(plain, tmp_path / "formula.xlsx", formula)
    found = keys(book)
    assert ("Customers", 3, "Customer Name", "uncalculated-formula") in found
    assert ("Customers", 3, "Customer Name", "missing-value") not in found
    assert found - {("Customers", 3, "Customer Name", "uncalculated-formula")} == keys(plain)
    shutil.rmtree(tmp_path / "formula drafts", ignore_errors=True)

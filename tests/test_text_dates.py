"""Dates typed as text in a real workbook: each is one finding at its cell, telling apart text that can be
read two ways (03/04/2025) from text that can mean one day only (13.05.2024), and a date cell that holds
such text is not reported as missing as well (POE Signed, Approved)."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl

from cpor_excel.run import check_workbook
from tests.conftest import AS_OF


def _claim_rows(path: Path, status: str, count: int) -> list[int]:
    sheet = openpyxl.load_workbook(path)["Associations"]
    header = [c.value for c in sheet[1]]
    at = header.index("Status")
    rows = [
        r for r, row in enumerate(sheet.iter_rows(min_row=2, values_only=True), start=2) if row[at] == status
    ]
    return rows[:count]


def _set_text(path: Path, column: str, texts: dict[int, str]) -> None:
    book = openpyxl.load_workbook(path)
    sheet = book["Associations"]
    header = [c.value for c in sheet[1]]
    for row, text in texts.items():
        sheet.cell(row=row, column=header.index(column) + 1, value=text)
    book.save(path)


def test_a_text_poe_date_is_one_finding_at_its_cell_not_also_poe_missing(sample_book, tmp_path: Path) -> None:
    path = tmp_path / "partner.xlsx"
    shutil.copy(sample_book[0], path)
    first, second, third = _claim_rows(path, "Approved", 3)
    _set_text(path, "POE Signed", {first: "13.05.2024", second: "03/04/2024", third: ""})

    report = check_workbook(path, as_of=AS_OF)
    at = {
        (f.row, f.code): f.message
        for f in report.findings
        if f.sheet == "Associations" and f.column == "POE Signed" and f.row in (first, second, third)
    }
    assert set(at) == {(first, "ambiguous-date"), (second, "ambiguous-date"), (third, "poe-missing")}
    assert "2024-04-03" in at[(second, "ambiguous-date")] and "2024-03-04" in at[(second, "ambiguous-date")]


def test_a_text_approved_date_is_one_finding_not_also_a_status_date_mismatch(
    sample_book, tmp_path: Path
) -> None:
    path = tmp_path / "partner.xlsx"
    shutil.copy(sample_book[0], path)
    first, second = _claim_rows(path, "Approved", 2)
    _set_text(path, "Approved", {first: "13.05.2024", second: ""})

    report = check_workbook(path, as_of=AS_OF)
    at = {
        (f.row, f.code)
        for f in report.findings
        if f.sheet == "Associations" and f.column == "Approved" and f.row in (first, second)
    }
    assert at == {(first, "ambiguous-date"), (second, "status-date-mismatch")}

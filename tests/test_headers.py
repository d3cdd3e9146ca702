"""One header rule (SPEC "The workbook": case-, space- and underscore-insensitive) for every book: the file
reader and writer, the live book in Excel and the tests' in-memory book find the same column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest
from memory_book import MemoryBook
from xlwings_double import make_book, sheet_rows

from cpor_excel.excel.live_book import LiveBook
from cpor_excel.io.file_book import FileBook
from cpor_excel.io.frames import read_sheet
from cpor_excel.model.columns import USAGE
from cpor_excel.model.headers import column_index, column_letter, fold_header, header_positions

#: a workbook an earlier version ran on (no mark): the user's own "Check Result" (B), then the tool's block
#: as that run left it, its headers retyped by the user ("CheckResult", "check_notes ")
HEADERS = ["Tenant ID", "Check Result", "Notes", "CheckResult", "check_notes "]
ROWS: list[list[Any]] = [HEADERS, ["t1", "mine", "x", "old", "old note"], ["t2", None, None, None, None]]


def test_headers_fold_case_spaces_and_underscores_but_not_other_characters() -> None:
    assert {fold_header(h) for h in ("Check Result", "CheckResult", "check_result", " CHECK  result ")} == {
        "checkresult"
    }
    assert fold_header("Check-Result") != fold_header("Check Result")  # the SPEC names no hyphens
    assert header_positions(["a", None, "", "B_", "b", "A"]) == {"a": 0, "b": 3}


@pytest.mark.parametrize("index", [0, 25, 26, 51, 52, 701, 702, 16383])
def test_column_letters_and_indexes_are_inverse(index: int) -> None:
    assert column_index(column_letter(index)) == index
    assert column_index(column_letter(index).lower()) == index
    assert {0: "A", 25: "Z", 26: "AA", 701: "ZZ", 702: "AAA", 16383: "XFD"}.get(
        index, column_letter(index)
    ) == (column_letter(index))


def file_rows(tmp_path: Path) -> list[list[Any]]:
    """What the file writer makes of ROWS (a new file, read back)."""
    path = tmp_path / "book.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Data"
    for row in ROWS:
        sheet.append(row)
    book.save(path)
    with FileBook(path) as written:
        written.set_columns(
            "Data", ["Check Result", "Check Notes"], [2, 3], [["OK", "ERROR"], ["", "a note"]]
        )
        written.save(tmp_path / "out.xlsx")
    with FileBook(tmp_path / "out.xlsx") as done:
        return done.read_rows("Data")


def live_rows() -> list[list[Any]]:
    double = make_book({"Data": [list(r) for r in ROWS]})
    LiveBook(double).set_columns(
        "Data", ["Check Result", "Check Notes"], [2, 3], [["OK", "ERROR"], ["", "a note"]]
    )
    return sheet_rows(double, "Data")


def memory_rows() -> list[list[Any]]:
    book = MemoryBook({"Data": ROWS})
    book.set_columns("Data", ["Check Result", "Check Notes"], [2, 3], [["OK", "ERROR"], ["", "a note"]])
    return book.sheets["Data"]


def normal(rows: list[list[Any]]) -> list[list[Any]]:
    cut = [[None if v in ("", None) else v for v in row] for row in rows]
    width = max(len(r) for r in cut)
    return [[*row, *([None] * (width - len(row)))] for row in cut]


def test_the_file_writer_the_live_book_and_the_memory_book_reuse_the_same_headers(tmp_path: Path) -> None:
    """Every book finds the tool's block of an earlier run by its headers folded alike and by position
    (Check Result directly followed by Check Notes): none adds a second block, none takes over the user's
    own Check Result column before it."""
    expected = [
        HEADERS,
        ["t1", "mine", "x", "OK", None],
        ["t2", None, None, "ERROR", "a note"],
    ]
    assert normal(file_rows(tmp_path)) == expected
    assert normal(live_rows()) == expected
    assert normal(memory_rows()) == expected


def test_the_reader_finds_the_columns_the_writer_writes() -> None:
    rows = [
        ["tenant_id", "WORKLOAD", "Month", "active users", "Paid_Units", "CheckResult"],
        ["t", "EXO", 1, 2, 3, "x"],
    ]
    table, _ = read_sheet(rows, USAGE, "Usage")
    assert table.positions == {
        "Tenant ID": 0, "Workload": 1, "Month": 2, "Active Users": 3, "Paid Units": 4, "CheckResult": 5,
    }  # fmt: skip
    assert header_positions(rows[0])[fold_header("Check Result")] == table.positions["CheckResult"]

"""Sheets -> raw frames (io/frames.py): finding sheets and headers, keeping row numbers, reporting gaps."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from memory_book import MemoryBook

from cpor_excel.io import frames
from cpor_excel.io.frames import read_workbook_data
from cpor_excel.model import findings as findings_module
from cpor_excel.model.columns import ASSOCIATIONS, CUSTOMERS, USAGE
from cpor_excel.model.workbook import WorkbookData

T1 = "0f8fad5b-d9cb-469f-a165-70867728950e"
T2 = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
CUSTOMERS_HEADER = [c.name for c in CUSTOMERS.columns]
ASSOCIATIONS_HEADER = [c.name for c in ASSOCIATIONS.columns]
USAGE_HEADER = [c.name for c in USAGE.columns]


def book(**sheets: list[list[Any]]) -> MemoryBook:
    """The three required sheets (header only) unless given."""
    base: dict[str, list[list[Any]]] = {
        "Customers": [CUSTOMERS_HEADER],
        "Associations": [ASSOCIATIONS_HEADER],
        "Usage": [USAGE_HEADER],
    }
    base.update({name.replace("_", " "): rows for name, rows in sheets.items()})
    return MemoryBook(base)


def coords(data: WorkbookData) -> set[tuple[str, int | None, str | None, str]]:
    return {(f.sheet, f.row, f.column, f.code) for f in data.findings}


def test_a_pasted_partner_center_usage_export_is_read_under_canonical_names() -> None:
    export = [
        "CustomerTenantId", "CustomerTpid", "WorkloadName", "Month", "PaidAvailableUnits", "MonthlyActiveUsers",
        "CustomerName", "CustomerMarket", "CustomerSegment", "PartnerID", "PartnerName", "PartnerLocation",
        "PartnerAttributionType",
    ]  # fmt: skip
    row = [
        T1,
        123,
        "Exchange",
        dt.date(2025, 3, 1),
        300.0,
        120.0,
        "Contoso",
        "NL",
        "SMB",
        1234567.0,
        "P",
        "NL",
        "CPOR",
    ]
    data = read_workbook_data(book(Usage=[export, row]), "x.xlsx")
    table = data.sheets["Usage"]
    assert coords(data) == set()
    assert list(table.frame.columns[:6]) == [
        "Tenant ID", "CustomerTpid", "Workload", "Month", "Paid Units", "Active Users",
    ]  # fmt: skip
    assert table.frame.loc[2, "Paid Units"] == 300.0
    assert table.frame.loc[2, "Active Users"] == 120.0
    assert table.frame.loc[2, "PartnerAttributionType"] == "CPOR"  # extra columns kept under their own text
    assert table.positions["Active Users"] == 5
    assert table.positions["PartnerAttributionType"] == 12
    assert table.width == 13
    assert table.cell(2, "Active Users") == "F2"


def test_sheets_and_headers_match_case_space_and_underscore_insensitively() -> None:
    rows = [["tenant_id", "  WORKLOAD ", "month", "active__users", "PaidUnits"], [T1, "EXO", "2025-03", 1, 2]]
    data = read_workbook_data(
        MemoryBook(
            {" customers ": [CUSTOMERS_HEADER], "ASSOCIATIONS": [ASSOCIATIONS_HEADER], "usage_": rows}
        ),
        "x",
    )
    assert coords(data) == set()
    assert data.sheets["Usage"].name == "usage_"
    assert data.sheets["Customers"].name == " customers "
    assert list(data.sheets["Usage"].frame.columns) == USAGE_HEADER
    assert data.sheets["Usage"].frame.loc[2].tolist() == [T1, "EXO", "2025-03", 1, 2]


def test_values_stay_raw_with_empty_cells_as_none_and_the_excel_row_as_index() -> None:
    when = dt.datetime(2025, 3, 4, 10, 0)
    rows = [USAGE_HEADER, [T1, "EXO", when, 1.5, "#N/A"], ["", None, float("nan"), 0, " "]]
    frame = read_workbook_data(book(Usage=rows), "x").sheets["Usage"].frame
    assert frame.index.tolist() == [2, 3]
    assert frame.index.dtype == "int64"
    assert all(dtype == np.dtype(object) for dtype in frame.dtypes)
    assert frame.loc[2].tolist() == [T1, "EXO", when, 1.5, "#N/A"]
    assert frame.loc[3].tolist() == [None, None, None, 0, " "]


def test_empty_rows_are_dropped_and_the_others_keep_their_row_numbers() -> None:
    rows = [
        USAGE_HEADER,
        [T1, "EXO", "2025-01", 1, 2],
        [None] * 5,
        ["", "", "", "", ""],
        [T2, "EXO", "2025-01", 1, 2],
        [],
        [None, None],
        [""] * 5,
    ]
    frame = read_workbook_data(book(Usage=rows), "x").sheets["Usage"].frame
    assert frame.index.tolist() == [2, 5]
    assert frame["Tenant ID"].tolist() == [T1, T2]


def test_ragged_rows_and_rows_shorter_than_the_header() -> None:
    rows = [[*USAGE_HEADER, "Notes"], [T1, "EXO"], [T2, "EXO", "2025-01", 1, 2, "n", "beyond the header"]]
    table = read_workbook_data(book(Usage=rows), "x").sheets["Usage"]
    assert table.frame.loc[2].tolist() == [T1, "EXO", None, None, None, None]
    assert table.frame.loc[3].tolist() == [T2, "EXO", "2025-01", 1, 2, "n"]


def test_a_sheet_far_wider_than_its_header_is_cut_to_the_headed_columns() -> None:
    wide = [None] * 2000
    rows = [[*USAGE_HEADER, *wide], [T1, "EXO", "2025-01", 1, 2, *wide[:-1], "far right"]]
    rows += [[T2, "EXO", "2025-01", 3, 4, *wide]]
    table = read_workbook_data(book(Usage=rows), "x").sheets["Usage"]
    assert table.frame.loc[2].tolist() == [T1, "EXO", "2025-01", 1, 2]
    assert table.frame.loc[3].tolist() == [T2, "EXO", "2025-01", 3, 4]
    assert table.width == 5


def test_blank_header_cells_from_merged_headers_are_ignored_with_their_columns() -> None:
    rows = [
        ["Tenant ID", "Workload", None, "Month", "", "Active Users", "Paid Units", None],
        [T1, "EXO", "x", "2025-01", "y", 1, 2, "z"],
    ]
    table = read_workbook_data(book(Usage=rows), "x").sheets["Usage"]
    assert list(table.frame.columns) == USAGE_HEADER
    assert table.positions == {"Tenant ID": 0, "Workload": 1, "Month": 3, "Active Users": 5, "Paid Units": 6}
    assert table.width == 7
    assert table.frame.loc[2].tolist() == [T1, "EXO", "2025-01", 1, 2]


def test_non_text_headers_become_extra_columns_named_by_their_text() -> None:
    rows = [[*USAGE_HEADER, 2025.0, dt.date(2025, 1, 1)], [T1, "EXO", "2025-01", 1, 2, "a", "b"]]
    frame = read_workbook_data(book(Usage=rows), "x").sheets["Usage"].frame
    assert list(frame.columns[5:]) == ["2025", "2025-01-01"]


def test_duplicate_headers_first_one_wins_and_the_second_is_reported() -> None:
    rows = [
        ["Tenant ID", "Workload", "Month", "Active Users", "Paid Units", "MAU", "Notes", "notes"],
        [T1, "EXO", "2025-01", 1, 2, 99, "a", "b"],
    ]
    data = read_workbook_data(book(Usage=rows), "x")
    table = data.sheets["Usage"]
    assert table.frame.loc[2, "Active Users"] == 1
    assert table.positions["Active Users"] == 3
    assert list(table.frame.columns) == [*USAGE_HEADER, "Notes", "notes"]
    assert coords(data) == {("Usage", None, "Active Users", "duplicate-column")}


def test_duplicate_headers_are_reported_once_the_code_is_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        findings_module.CODES, frames.DUPLICATE_COLUMN, (findings_module.Severity.WARNING, "x")
    )
    rows = [
        ["Tenant ID", "Workload", "Month", "Active Users", "Paid Units", "MAU"],
        [T1, "EXO", "2025-01", 1, 2, 99],
    ]
    data = read_workbook_data(book(Usage=rows), "x")
    assert [(f.sheet, f.row, f.column, f.code, f.cell) for f in data.findings] == [
        ("Usage", None, "Active Users", "duplicate-column", "F1")
    ]


def test_missing_required_sheets_are_findings_and_optional_ones_are_not() -> None:
    data = read_workbook_data(MemoryBook({"Customers": [CUSTOMERS_HEADER], "Notes": [["x"]]}), "x")
    assert coords(data) == {
        ("Associations", None, None, "missing-sheet"),
        ("Usage", None, None, "missing-sheet"),
    }
    assert set(data.sheets) == {"Customers"}


def test_missing_columns_point_at_the_header_row_and_list_the_accepted_names() -> None:
    rows = [["Tenant ID", "Month", "Paid Units", "Notes"], [T1, "2025-01", 2, "n"]]
    data = read_workbook_data(book(Usage=rows), "x")
    found = {(f.sheet, f.row, f.column, f.code, f.cell) for f in data.findings}
    assert found == {
        ("Usage", None, "Workload", "missing-column", "E1"),
        ("Usage", None, "Active Users", "missing-column", "E1"),
    }
    message = next(f.message for f in data.findings if f.column == "Active Users")
    assert all(name in message for name in ("Active Users", "MonthlyActiveUsers", "MAU"))
    assert list(data.sheets["Usage"].frame.columns) == ["Tenant ID", "Month", "Paid Units", "Notes"]


def test_optional_columns_may_be_absent() -> None:
    required = [c.name for c in CUSTOMERS.columns if c.required]
    data = read_workbook_data(book(Customers=[required, [T1, "C", "c.com", "N", "T", "n@c.com"]]), "x")
    assert coords(data) == set()


def test_an_empty_sheet_lacks_every_required_column() -> None:
    data = read_workbook_data(book(Associations=[]), "x")
    expected = {("Associations", None, c.name, "missing-column") for c in ASSOCIATIONS.columns if c.required}
    assert coords(data) == expected
    assert data.sheets["Associations"].frame.empty
    assert data.sheets["Associations"].width == 0


def test_the_tool_sheets_are_read_back_without_findings() -> None:
    ledger = [
        ["Claim ID", "Tenant ID", "Workload", "Milestone", "Month Reached"],
        ["C1", T1, "EXO", "M1", "2025-04"],
    ]
    drafts = [["claim id", "To", "Sent On"], ["C1", "a@b.com", None]]
    data = read_workbook_data(book(Milestone_Ledger=ledger, consent_drafts=drafts), "x")
    assert coords(data) == set()
    assert data.sheets["Milestone Ledger"].frame.loc[2, "Month Reached"] == "2025-04"
    assert list(data.sheets["Consent Drafts"].frame.columns) == ["Claim ID", "To", "Sent On"]


def test_two_sheets_that_fold_alike_the_first_is_read() -> None:
    first = [USAGE_HEADER, [T1, "EXO", "2025-01", 1, 2]]
    second = [USAGE_HEADER, [T2, "EXO", "2025-01", 1, 2]]
    data = read_workbook_data(
        MemoryBook(
            {
                "Customers": [CUSTOMERS_HEADER],
                "Associations": [ASSOCIATIONS_HEADER],
                "Usage": first,
                "USAGE ": second,
            }
        ),
        "x",
    )
    assert data.sheets["Usage"].name == "Usage"
    assert data.sheets["Usage"].frame["Tenant ID"].tolist() == [T1]


def test_unicode_headers_and_values() -> None:
    rows = [
        [*CUSTOMERS_HEADER, "Bemerkung – 備考"],
        [
            T1,
            "Müller & Söhne 東京",
            "müller.de",
            "Zoë",
            "Geschäftsführerin",
            "zoë@müller.de",
            "DE",
            "nein",
            "de",
            "ü",
        ],
    ]
    frame = read_workbook_data(book(Customers=rows), "x").sheets["Customers"].frame
    assert frame.loc[2, "Customer Name"] == "Müller & Söhne 東京"
    assert frame.loc[2, "Bemerkung – 備考"] == "ü"


def test_memory_book_writes_follow_the_book_protocol() -> None:
    # a user's own "check result" (no Check Notes beside it: not the tool's block) stays the user's
    mem = MemoryBook({"Usage": [["Tenant ID", "check result"], [T1, "old"], [T2, "old"]]})
    mem.set_columns("Usage", ["Check Result", "Check Notes"], [3], [["OK"], ["fine"]])
    assert mem.read_rows("Usage") == [
        ["Tenant ID", "check result", "Check Result", "Check Notes"],
        [T1, "old"],
        [T2, "old", "OK", "fine"],
    ]
    # found again by the next run: the stale result is cleared, nothing is added
    mem.set_columns("Usage", ["Check Result", "Check Notes"], [2], [["ERROR"], ["bad"]])
    assert mem.read_rows("Usage") == [
        ["Tenant ID", "check result", "Check Result", "Check Notes"],
        [T1, "old", "ERROR", "bad"],
        [T2, "old", None, None],
    ]
    assert mem.append_rows("Usage", [["x"]]) == [4]
    mem.append_to_sheet("Run Log", ["Run At"], [["2025-01-01"]])
    assert mem.read_rows("Run Log") == [["Run At"], ["2025-01-01"]]


# ------------------------------------------------------------------------------------ through a real file


def _file_book() -> Any:
    return pytest.importorskip("cpor_excel.io.file_book").FileBook


def _xlsx(tmp_path: Path, date1904: bool) -> Path:
    openpyxl = pytest.importorskip("openpyxl")
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Usage"
    if date1904:
        wb.epoch = CALENDAR_MAC_1904
    ws.append(["CustomerTenantId", "WorkloadName", "Month", "MAU", "PAU", "Note"])
    ws.append([T1, "EXO", dt.date(2025, 3, 1), 10, 200, "Grüße"])
    ws.append([T1, "EXO", dt.datetime(2025, 4, 1), 11, 200, None])
    ws.append([None] * 6)
    ws.append([T2, "EXO", "2025-05", 12.0, 200, "=1/0"])
    for r in (2, 3, 5):
        ws.cell(r, 3).number_format = "yyyy-mm-dd"
    ws2 = wb.create_sheet("Customers")
    ws2.append(CUSTOMERS_HEADER)
    ws3 = wb.create_sheet("Associations")
    ws3.append(ASSOCIATIONS_HEADER)
    path = tmp_path / ("book1904.xlsx" if date1904 else "book.xlsx")
    wb.save(path)
    return path


@pytest.mark.parametrize("date1904", [False, True], ids=["1900", "1904"])
def test_a_real_xlsx_through_file_book(tmp_path: Path, date1904: bool) -> None:
    file_book = _file_book()
    path = _xlsx(tmp_path, date1904)
    with file_book(path) as fb:
        data = read_workbook_data(fb, path.name)
    frame = data.sheets["Usage"].frame
    assert coords(data) == set()
    assert frame.index.tolist() == [2, 3, 5]
    assert [pd.Timestamp(v).date() for v in frame["Month"].iloc[:2]] == [
        dt.date(2025, 3, 1),
        dt.date(2025, 4, 1),
    ]
    assert frame["Active Users"].tolist() == [10, 11, 12]
    assert frame.loc[2, "Note"] == "Grüße"


def test_formulas_give_cached_values_and_errors_become_findings_through_file_book(tmp_path: Path) -> None:
    file_book = _file_book()
    xlsxwriter = pytest.importorskip("xlsxwriter")
    from cpor_excel.rules.prepare import prepare

    path = tmp_path / "formulas.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("Customers").write_row(0, 0, CUSTOMERS_HEADER)
    wb.add_worksheet("Associations").write_row(0, 0, ASSOCIATIONS_HEADER)
    ws = wb.add_worksheet("Usage")
    ws.write_row(0, 0, USAGE_HEADER)
    for row in (1, 2):
        ws.write_row(row, 0, [T1, "EXO", f"2025-0{row}"])
    ws.write_formula(1, 3, "=1/0", None, "#DIV/0!")
    ws.write_formula(1, 4, "=2*150", None, 300)
    ws.write_formula(2, 3, '=VLOOKUP("x",A1:B2,2,FALSE)', None, "#N/A")
    ws.write_number(2, 4, 300)
    wb.close()
    with file_book(path) as fb:
        prepared = prepare(read_workbook_data(fb, path.name))
    usage = {(f.sheet, f.row, f.column, f.code) for f in prepared.findings if f.sheet == "Usage"}
    assert usage == {
        ("Usage", 2, "Active Users", "formula-error"),
        ("Usage", 3, "Active Users", "formula-error"),
        ("Usage", 2, "Tenant ID", "unknown-tenant"),
        ("Usage", 3, "Tenant ID", "unknown-tenant"),
    }
    assert prepared.usage["Paid Units"].tolist() == [300, 300]
    assert prepared.usage["Active Users"].isna().all()


def test_a_1904_workbook_prepares_to_the_same_months(tmp_path: Path) -> None:
    file_book = _file_book()
    from cpor_excel.rules.prepare import prepare

    months = []
    for date1904 in (False, True):
        path = _xlsx(tmp_path, date1904)
        with file_book(path) as fb:
            months.append(prepare(read_workbook_data(fb, path.name)).usage["Month"].tolist())
    assert months[0] == months[1] == [pd.Timestamp(f"2025-0{m}-01") for m in (3, 4, 5)]

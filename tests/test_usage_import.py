"""`import-usage`: Partner Center usage exports in every encoding and layout, merged into the Usage sheet
without losing anything else in the workbook."""

from __future__ import annotations

import codecs
import datetime as dt
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
import python_calamine
import xlsxwriter
from click.testing import CliRunner
from memory_book import MemoryBook

from cpor_excel.cli import main
from cpor_excel.model.workbook import SheetTable
from cpor_excel.usage_import import (
    NotAUsageExport,
    UsageExport,
    UsageSheetUnusable,
    import_usage,
    merge_usage,
    parse_counts,
    parse_months,
    plan_import,
    read_export,
)

T1 = "0b4c1b43-0a66-4b6c-9c5e-7c1a4cc6b5b1"
T2 = "5f0e7d2a-3c1b-4e8f-9a6d-2b7c8e9f0a1d"
T3 = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"  # in no Customers sheet

PC_HEADER = [
    "CustomerTenantId", "CustomerTpid", "WorkloadName", "Month", "PaidAvailableUnits", "MonthlyActiveUsers",
    "CustomerName", "CustomerMarket", "CustomerSegment", "PartnerID", "PartnerName",
]  # fmt: skip


def pc_row(tenant: str, workload: str, month: str, pau: str, mau: str, name: str, market: str) -> list[str]:
    return [tenant, "1234", workload, month, pau, mau, name, market, "SMB", "7654321", "Fabrikam"]


#: the logical export every format test writes: (tenant, workload, month, PAU, MAU, name, market)
ROWS = [
    (T1, "Exchange Online", (2025, 3), 1200, 300, "Contoso, Ltd", "US"),
    (T1.upper(), "Teams", (2025, 3), 1200, 1100, "Contoso, Ltd", "US"),
    (T2, "SharePoint", (2024, 12), 500, 50, "Zoë Müller GmbH", "DE"),
]
EXPECTED = [
    (T1, "Exchange Online", "2025-03", 300, 1200),
    (T1, "Microsoft Teams", "2025-03", 1100, 1200),
    (T2, "SharePoint Online", "2024-12", 50, 500),
]


def us_month(y: int, m: int) -> str:
    return f"{m}/1/{y} 12:00:00 AM"


def export_lines(month: Any = us_month, number: Any = "{:,}".format) -> list[list[str]]:
    return [PC_HEADER] + [
        pc_row(t, w, month(*ym), number(pau), number(mau), name, market)
        for t, w, ym, pau, mau, name, market in ROWS
    ]


def delimited(rows: Sequence[Sequence[str]], sep: str, newline: str = "\r\n") -> str:
    def cell(v: str) -> str:
        return f'"{v}"' if sep in v or '"' in v else v

    return "".join(sep.join(cell(v) for v in row) + newline for row in rows)


def write_xlsx_export(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Usage report"
    ws.append(PC_HEADER)
    for t, w, (y, m), pau, mau, name, market in ROWS:
        ws.append(pc_row(t, w, "", "", "", name, market))
        row = ws.max_row
        ws.cell(row, 4, dt.datetime(y, m, 1))  # a real date, as Excel keeps it
        ws.cell(row, 5, pau)
        ws.cell(row, 6, mau)
    wb.save(path)


def shuffled(rows: list[list[str]]) -> list[list[str]]:
    """Columns in another order, plus extra columns the import must ignore."""
    order = [5, 3, 10, 0, 7, 2, 4, 6, 9, 1, 8]
    return [
        [r[i] for i in order] + (["Extra", "Notes"] if k == 0 else ["x", "=1+1"]) for k, r in enumerate(rows)
    ]


FORMATS = {
    "utf8-comma": lambda p: p.write_bytes(delimited(export_lines(), ",").encode("utf-8")),
    "utf8-bom-comma": lambda p: p.write_bytes(
        codecs.BOM_UTF8 + delimited(export_lines(), ",").encode("utf-8")
    ),
    "utf16le-tab": lambda p: p.write_bytes(
        codecs.BOM_UTF16_LE
        + delimited(export_lines(lambda y, m: f"{m}/1/{y}", str), "\t").encode("utf-16-le")
    ),
    "utf16be-tab": lambda p: p.write_bytes(
        codecs.BOM_UTF16_BE + delimited(export_lines(number=str), "\t").encode("utf-16-be")
    ),
    "semicolon-european": lambda p: p.write_bytes(
        delimited(
            export_lines(lambda y, m: f"01.{m:02d}.{y} 00:00", lambda n: f"{n:,}".replace(",", ".")), ";"
        ).encode("cp1252")
    ),
    "iso-months-lf": lambda p: p.write_bytes(
        delimited(export_lines(lambda y, m: f"{y}-{m:02d}", str), ",", "\n").encode("utf-8")
    ),
    "shuffled-extra-columns": lambda p: p.write_bytes(
        delimited(shuffled(export_lines(lambda y, m: f"{y}-{m:02d}-01", str)), ",").encode("utf-8")
    ),
    "title-rows-above": lambda p: p.write_bytes(
        (
            "Office 365 license usage report\r\nExported 2025-04-02\r\n" + delimited(export_lines(), ",")
        ).encode()
    ),
    "xlsx": write_xlsx_export,
}


def imported(export: UsageExport) -> list[tuple[Any, ...]]:
    cols = ["Tenant ID", "Workload", "Month", "Active Users", "Paid Units"]
    return [tuple(r) for r in export.rows[cols].itertuples(index=False)]


def keys(findings: Sequence[Any]) -> set[tuple[Any, ...]]:
    return {(f.sheet, f.row, f.column, f.code) for f in findings}


# ----------------------------------------------------------------------------------------- reading


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_export_format_reads_the_same_rows(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / ("usage.xlsx" if fmt == "xlsx" else "usage.csv")
    FORMATS[fmt](path)
    export = read_export(path)
    assert export.skipped == []
    assert imported(export) == EXPECTED
    assert export.rows["Customer Name"].tolist() == ["Contoso, Ltd", "Contoso, Ltd", "Zoë Müller GmbH"]
    assert export.rows["Country"].tolist() == ["US", "US", "DE"]
    first_data_row = 4 if fmt == "title-rows-above" else 2
    assert export.rows.index.tolist() == [first_data_row, first_data_row + 1, first_data_row + 2]
    assert export.read == 3


def test_the_encoding_and_delimiter_read_are_stated(tmp_path: Path) -> None:
    path = tmp_path / "usage.csv"
    FORMATS["utf16le-tab"](path)
    assert "read as UTF-16 LE text, tab-separated" in read_export(path).assumptions[0]
    FORMATS["semicolon-european"](path)
    notes = " ".join(read_export(path).assumptions)
    assert (
        "Windows-1252" in notes
        and "semicolon-separated" in notes
        and "'.' was read as the thousands" in notes
    )


def month_frame(values: Sequence[Any]) -> pd.Series:
    return pd.Series(list(values), index=range(2, 2 + len(values)), dtype=object)


@pytest.mark.parametrize(
    ("values", "expected", "assumed"),
    [
        # Partner Center's US format: every month the 1st under month/day/year
        (["3/1/2025 12:00:00 AM", "12/1/2024 12:00:00 AM"], ["2025-03", "2024-12"], "month/day/year"),
        # consistently US: a day above 12 shows the order
        (["3/15/2025", "4/3/2025"], ["2025-03", "2025-04"], "month/day/year"),
        # day/month/year, every one the 1st
        (["01/03/2025", "01/12/2024"], ["2025-03", "2024-12"], "day/month/year"),
        (["15/03/2025", "3/4/2025"], ["2025-03", "2025-04"], "day/month/year"),
        (
            ["2025-03", "2025-03-01", "2025-03-01T00:00:00", "2025-03-01 00:00:00", "Mar 2025", "45717"],
            ["2025-03"] * 6,
            "Excel date serials",
        ),
        ([dt.datetime(2025, 3, 1), dt.date(2024, 12, 31), 45717.0], ["2025-03", "2024-12", "2025-03"], None),
        (["01.03.2025 00:00", "1.12.2024"], ["2025-03", "2024-12"], "day.month.year"),
    ],
)
def test_months_in_every_form(values: list[Any], expected: list[str], assumed: str | None) -> None:
    months, problems, assumptions = parse_months(month_frame(values), "Month")
    assert problems == {}
    assert months.tolist() == expected
    if assumed:
        assert any(assumed in a for a in assumptions)


@pytest.mark.parametrize(
    ("values", "expected", "problems"),
    [
        # nothing shows the order: only the 1st-of-month reading (and same-either-way dates) is taken
        (
            ["3/1/2025", "4/1/2025", "3/4/2025", "5/6/2025", "7/7/2025"],
            ["2025-03", "2025-04", None, None, "2025-07"],
            {"3/4/2025": "ambiguous-date", "5/6/2025": "ambiguous-date"},
        ),
        # both orders in one file: none is trusted
        (
            ["13/1/2025", "1/13/2025", "3/1/2025", "2/2/2025"],
            [None, None, None, "2025-02"],
            {"13/1/2025": "ambiguous-date", "1/13/2025": "ambiguous-date", "3/1/2025": "ambiguous-date"},
        ),
        (
            ["2025-13", "soon", True, "13/13/2025", "2/30/2025"],
            [None] * 5,
            {"2025-13": "bad-type", "soon": "bad-type", True: "bad-type", "13/13/2025": "bad-type",
             "2/30/2025": "bad-type"},
        ),
    ],
)  # fmt: skip
def test_months_that_cannot_be_told_apart_are_reported(
    values: list[Any], expected: list[str | None], problems: dict[Any, str]
) -> None:
    months, found, _ = parse_months(month_frame(values), "Month")
    assert [m if isinstance(m, str) else None for m in months.tolist()] == expected
    assert {v: c for v, (c, _) in found.items()} == problems


def test_counts_with_thousands_separators() -> None:
    values = pd.Series(["1234", "1,234", "1 234", "1\u00a0234", "150.0", "", "-3", "1.5", "abc", 7.0, None])
    numbers, codes, grouped = parse_counts(values)
    assert numbers[:5].tolist() == [1234, 1234, 1234, 1234, 150]
    assert numbers[9] == 7
    assert codes.tolist() == [None] * 5 + ["missing-value", "bad-number", "bad-number", "bad-type", None] + [
        "missing-value"
    ]
    assert grouped
    european, codes, _ = parse_counts(pd.Series(["1.234", "1,5", "12"]), decimal_comma=True)
    assert european[[0, 2]].tolist() == [1234, 12]
    assert codes.tolist() == [None, "bad-number", None]


def test_bad_rows_are_reported_with_their_export_row_and_skipped(tmp_path: Path) -> None:
    lines = export_lines(lambda y, m: f"{y}-{m:02d}", str)
    lines += [
        pc_row("not-a-guid", "Teams", "2025-03", "10", "5", "X", "US"),  # row 5
        pc_row(T2, "Teamz", "2025-03", "10", "5", "X", "US"),  # row 6
        pc_row(T2, "Teams", "3/4/2025", "-10", "5.5", "X", "US"),  # row 7: three problems
        pc_row(T2, "Teams", "", "10", "", "X", "US"),  # row 8
        ["", "", "", "", "", "", "", "", "", "", ""],  # row 9: blank, ignored
        pc_row(T2, "Viva Engage", "2025-05", "10", "5", "X", "US"),  # row 10: fine
    ]
    path = tmp_path / "usage.csv"
    path.write_text(delimited(lines, ","), encoding="utf-8")
    export = read_export(path)
    assert keys(export.skipped) == {
        ("usage.csv", 5, "Tenant ID", "bad-tenant-id"),
        ("usage.csv", 6, "Workload", "unknown-workload"),
        ("usage.csv", 7, "Month", "ambiguous-date"),
        ("usage.csv", 7, "Paid Units", "bad-number"),
        ("usage.csv", 7, "Active Users", "bad-number"),
        ("usage.csv", 8, "Month", "missing-value"),
        ("usage.csv", 8, "Active Users", "missing-value"),
    }
    assert {f.cell for f in export.skipped if f.row == 7} == {"D7", "E7", "F7"}
    unknown = next(f for f in export.skipped if f.code == "unknown-workload")
    assert "Microsoft Teams" in unknown.message  # the "did you mean"
    assert export.rows.index.tolist() == [2, 3, 4, 10]
    assert export.read == 8  # the blank row is not counted


def test_repeated_rows_import_once_and_contradicting_rows_are_skipped(tmp_path: Path) -> None:
    lines = export_lines(lambda y, m: f"{y}-{m:02d}", str)
    lines += [
        pc_row(T1, "EXO", "2025-03-01", "1200", "300", "Contoso", "US"),  # row 5: repeats row 2 exactly
        pc_row(T2, "Teams", "2025-03", "10", "5", "X", "US"),  # rows 6 and 7 disagree
        pc_row(T2, "Microsoft Teams", "2025-03", "10", "6", "X", "US"),
    ]
    path = tmp_path / "usage.csv"
    path.write_text(delimited(lines, ","), encoding="utf-8")
    export = read_export(path)
    assert export.duplicates == 1
    assert keys(export.skipped) == {
        ("usage.csv", 6, "Tenant ID", "duplicate-key"),
        ("usage.csv", 7, "Tenant ID", "duplicate-key"),
    }
    assert imported(export) == EXPECTED


def test_a_row_with_an_unquoted_delimiter_is_reported(tmp_path: Path) -> None:
    lines = export_lines(lambda y, m: f"{y}-{m:02d}", str)
    text = delimited(lines, ",") + f"{T2},1,Teams,2025-05,10,5,Contoso, Ltd,US,SMB,1,F\r\n"
    path = tmp_path / "usage.csv"
    path.write_text(text, encoding="utf-8")
    export = read_export(path)
    assert keys(export.skipped) == {("usage.csv", 5, None, "bad-type")}
    assert imported(export) == EXPECTED


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_an_export_with_no_data_rows_imports_nothing(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"usage.{suffix}"
    if suffix == "csv":
        path.write_text(delimited([PC_HEADER], ","), encoding="utf-8")
    else:
        wb = openpyxl.Workbook()
        wb.active.append(PC_HEADER)
        wb.save(path)
    export = read_export(path)
    assert (export.read, len(export.rows), export.skipped) == (0, 0, [])


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "is empty"),
        (b"a,b,c\r\n1,2,3\r\n", "is not a Partner Center usage report: .* ClaimId .* AADPPaidAvailableUnits"),
        (b"CustomerTenantId,WorkloadName,Month,PaidAvailableUnits\r\n", "MonthlyActiveUsers"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504, "password"),
        (codecs.BOM_UTF16_LE + b"\x41", "not valid UTF-16-LE"),
    ],
    ids=["empty", "not-an-export", "missing-column", "encrypted-or-xls", "broken-utf16"],
)
def test_unreadable_exports_are_errors(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "usage.csv"
    path.write_bytes(content)
    with pytest.raises(NotAUsageExport, match=fragment):
        read_export(path)


# ----------------------------------------------------------------------------------------- planning


def table(name: str, header: list[str], rows: list[list[Any]]) -> SheetTable:
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame.index = pd.RangeIndex(2, 2 + len(rows))
    return SheetTable(name, frame, {h: i for i, h in enumerate(header)}, len(header))


USAGE_HEADER = ["Tenant ID", "Workload", "Comment", "Month", "Active Users", "Paid Units"]


def export_of(rows: list[tuple[Any, ...]]) -> UsageExport:
    frame = pd.DataFrame(
        rows,
        columns=["Tenant ID", "Workload", "Month", "Active Users", "Paid Units", "Customer Name", "Country"],
    )
    frame.index = pd.RangeIndex(2, 2 + len(rows))
    positions = {"Tenant ID": 0, "Workload": 2, "Month": 3}
    return UsageExport("usage.csv", frame, [], [], len(rows), positions=positions)


def test_plan_updates_only_changed_cells_and_appends_new_rows() -> None:
    usage = table(
        "Usage",
        USAGE_HEADER,
        [
            ["{" + T1.upper() + "}", "EXO", "mine", dt.datetime(2025, 3, 1), 300.0, 1200.0],  # row 2: same
            [T1, "Teams", None, "2025-03", 900, "1200"],  # row 3: MAU changes
            [T2, "SPO", None, "2024-12-01", 50, 400],  # row 4: PAU changes
            [T2, "SPO", None, "2025-01", 1, 1],  # row 5: not in the export
        ],
    )
    customers = table("Customers", ["Tenant ID", "Customer Name"], [[T1, "Contoso"], [T2.upper(), "Zoë"]])
    export = export_of(
        [
            (T1, "Exchange Online", "2025-03", 300, 1200, "Contoso", "US"),
            (T1, "Microsoft Teams", "2025-03", 1100, 1200, "Contoso", "US"),
            (T2, "SharePoint Online", "2024-12", 50, 500, "Zoë", "DE"),
            (T2, "SharePoint Online", "2025-02", 60, 500, "Zoë", "DE"),
            (T3, "Exchange Online", "2025-02", 60, 500, "Tailspin", "NL"),
        ]
    )
    plan = plan_import(export, usage, customers)
    assert plan.cells == {(3, 4): 1100, (4, 5): 500}
    assert plan.updated_rows == [3, 4]
    assert plan.unchanged == 1
    assert plan.new_rows.index.tolist() == [5]
    assert keys(plan.skipped) == {("usage.csv", 6, "Tenant ID", "unknown-tenant")}
    assert plan.new_customers.empty

    with_customers = plan_import(export, usage, customers, add_customers=True)
    assert with_customers.skipped == []
    assert with_customers.new_rows.index.tolist() == [5, 6]
    assert with_customers.new_customers.values.tolist() == [[T3, "Tailspin", "NL"]]


def test_a_new_customer_takes_the_name_of_its_latest_month() -> None:
    export = export_of(
        [
            (T3, "Exchange Online", "2025-02", 1, 1, "Tailspin Toys Ltd", "NL"),
            (T3, "Exchange Online", "2024-11", 1, 1, "Tailspin", "NL"),
        ]
    )
    plan = plan_import(export, None, None, add_customers=True)
    assert plan.new_customers.values.tolist() == [[T3, "Tailspin Toys Ltd", "NL"]]
    assert plan.new_rows.index.tolist() == [2, 3]


# ------------------------------------------------------------------------------ merging into a Book

CUSTOMER_HEADER = [
    "Tenant ID",
    "Customer Name",
    "Domain",
    "Contact Name",
    "Contact Title",
    "Contact Email",
    "Country",
]
SHEET_USAGE_HEADER = ["Tenant ID", "Workload", "Month", "Comment", "Active Users", "Paid Units", "Ratio"]


def memory_book() -> MemoryBook:
    return MemoryBook(
        {
            "Customers": [
                CUSTOMER_HEADER,
                ["{" + T1.upper() + "}", "Contoso", "contoso.com", "Ann", "CIO", "ann@contoso.com", "US"],
                [T2, "Zoë Müller GmbH", "mueller.de", "Zoë", "CEO", "zoe@mueller.de", "DE"],
            ],
            "Usage": [
                SHEET_USAGE_HEADER,
                [T1, "EXO", dt.datetime(2025, 3, 1), "renewal due", 250.0, 1200.0, 0.2],
                [T1, "Teams", "2025-03", None, 1100.0, 1200.0, 0.9],
            ],
        }
    )


def merge_export(tmp_path: Path, rows: list[list[str]]) -> UsageExport:
    path = tmp_path / "usage.csv"
    path.write_text(delimited([PC_HEADER, *rows], ","), encoding="utf-8")
    return read_export(path)


def test_merge_writes_only_changed_cells_and_appends_in_the_sheets_column_order(tmp_path: Path) -> None:
    book = memory_book()
    export = merge_export(
        tmp_path,
        [
            pc_row(T1, "Exchange Online", us_month(2025, 3), "1,200", "300", "Contoso", "US"),  # E2 changes
            pc_row(T1, "Microsoft Teams", us_month(2025, 3), "1,200", "1,100", "Contoso", "US"),  # unchanged
            pc_row(T2, "Teams", us_month(2025, 2), "500", "=1+1", "Zoë", "DE"),  # bad number: skipped
            pc_row(T2, "Teams", us_month(2025, 4), "500", "45", "Zoë", "DE"),  # appended
            pc_row(T3, "Teams", us_month(2025, 4), "10", "5", "Tailspin", "NL"),  # unknown tenant
        ],
    )
    result = merge_usage(book, export, workbook="partner.xlsx")
    grid = book.sheets["Usage"]
    assert grid[1] == [T1, "EXO", dt.datetime(2025, 3, 1), "renewal due", 300, 1200.0, 0.2]
    assert grid[2] == [T1, "Teams", "2025-03", None, 1100.0, 1200.0, 0.9]
    assert grid[3][:6] == [T2, "Microsoft Teams", "2025-04", None, 45, 500]
    assert all(v is None for v in grid[3][6:])
    assert len(grid) == 4
    assert (result.updated, result.added, result.unchanged) == (1, 1, 1)
    assert (result.updated_rows, result.added_rows) == ([2], [4])
    assert keys(result.skipped) == {
        ("usage.csv", 4, "Active Users", "bad-type"),
        ("usage.csv", 6, "Tenant ID", "unknown-tenant"),
    }
    assert result.skipped_by_code() == {"bad-type": 1, "unknown-tenant": 1}
    assert result.exit_code == 1
    assert len(book.sheets["Customers"]) == 3  # not touched


def test_merge_adds_missing_customers_when_asked(tmp_path: Path) -> None:
    book = memory_book()
    export = merge_export(tmp_path, [pc_row(T3, "Teams", "2025-04", "10", "5", "=Tailspin", "NL")])
    result = merge_usage(book, export, add_customers=True, workbook="partner.xlsx")
    assert book.sheets["Customers"][3] == [T3, "=Tailspin", None, None, None, None, "NL"]
    assert book.sheets["Usage"][3][:6] == [T3, "Microsoft Teams", "2025-04", None, 5, 10]
    assert result.customers_added == [T3]
    assert result.exit_code == 0


def test_merge_into_a_workbook_without_a_usage_sheet_adds_one(tmp_path: Path) -> None:
    book = memory_book()
    del book.sheets["Usage"]
    export = merge_export(tmp_path, [pc_row(T1, "Teams", "2025-04", "10", "5", "Contoso", "US")])
    merge_usage(book, export, workbook="partner.xlsx")
    assert book.sheets["Usage"] == [
        ["Tenant ID", "Workload", "Month", "Active Users", "Paid Units"],
        [T1, "Microsoft Teams", "2025-04", 5, 10],
    ]


def test_a_usage_sheet_without_the_count_columns_is_refused(tmp_path: Path) -> None:
    book = memory_book()
    book.sheets["Usage"] = [["Tenant ID", "Workload", "Month", "Active Users"]]
    export = merge_export(tmp_path, [pc_row(T1, "Teams", "2025-04", "10", "5", "Contoso", "US")])
    with pytest.raises(UsageSheetUnusable, match="Paid Units"):
        merge_usage(book, export, workbook="partner.xlsx")


# ------------------------------------------------------------------- a real, feature-rich workbook file


def rich_workbook(path: Path) -> None:
    """Customers, Associations and Usage with a chart, a note, formulas with cached values and a user column
    in Usage, plus a table, a defined name and a hidden sheet elsewhere."""
    wb = xlsxwriter.Workbook(str(path))
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    customers = wb.add_worksheet("Customers")
    customers.write_row(0, 0, CUSTOMER_HEADER)
    customers.write_row(
        1, 0, ["{" + T1.upper() + "}", "Contoso", "contoso.com", "Ann", "CIO", "ann@contoso.com", "US"]
    )
    customers.write_row(2, 0, [T2, "Zoë Müller GmbH", "mueller.de", "Zoë", "CEO", "zoe@mueller.de", "DE"])
    associations = wb.add_worksheet("Associations")
    associations.write_row(0, 0, ["Claim ID", "Tenant ID", "Workload", "Partner ID", "Status", "Created"])
    associations.write_row(1, 0, ["C-1", T1, "Exchange Online", "7654321", "Draft"])
    associations.write_datetime(1, 5, dt.datetime(2025, 1, 5), date)
    usage = wb.add_worksheet("Usage")
    usage.write_row(0, 0, SHEET_USAGE_HEADER)
    sheet_rows = [
        (T1, "EXO", dt.datetime(2025, 3, 1), "renewal due", 250, 1200),
        (T1, "Teams", "2025-03", None, 1100, 1200),
        (T2, "SharePoint Online", "2024-12", "", 50, 500),
        (T2, "SPO", "2025-01", "keep", 40, 500),
    ]
    for i, (tenant, workload, month, comment, mau, pau) in enumerate(sheet_rows, start=1):
        usage.write(i, 0, tenant)
        usage.write(i, 1, workload)
        if isinstance(month, dt.datetime):
            usage.write_datetime(i, 2, month, date)
        else:
            usage.write_string(i, 2, month)
        if comment:
            usage.write(i, 3, comment)
        usage.write_number(i, 4, mau)
        usage.write_number(i, 5, pau)
        usage.write_formula(i, 6, f"=E{i + 1}/F{i + 1}", None, mau / pau)
    usage.write_comment("D2", "Ask about the renewal")
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"values": "=Usage!$E$2:$E$5", "categories": "=Usage!$B$2:$B$5"})
    usage.insert_chart("I2", chart)
    lists = wb.add_worksheet("Lists")
    lists.add_table("A1:B3", {"data": [["a", 1], ["b", 2]], "columns": [{"header": "Name"}, {"header": "N"}]})
    hidden = wb.add_worksheet("Hidden")
    hidden.write("A1", "secret")
    hidden.hide()
    wb.define_name("Names", "=Lists!$A$2:$A$3")
    wb.close()


RICH_EXPORT = [
    pc_row(T1, "Exchange Online", us_month(2025, 3), "1,200", "300", "Contoso", "US"),  # E2: 250 -> 300
    pc_row(T1, "Microsoft Teams", us_month(2025, 3), "1,200", "1,100", "Contoso", "US"),  # unchanged
    pc_row(T2, "SharePoint", us_month(2024, 12), "500", "50", "Zoë Müller GmbH", "DE"),  # unchanged
    pc_row(
        T2, "SharePoint Online", us_month(2025, 1), "600", "40", "Zoë Müller GmbH", "DE"
    ),  # F5: 500 -> 600
    pc_row(T2, "Teams", us_month(2025, 2), "500", "45", "Zoë Müller GmbH", "DE"),  # new: row 6
    pc_row(T3, "Exchange Online", us_month(2025, 2), "20", "7", "Tailspin Toys", "NL"),  # unknown tenant
]


@pytest.fixture
def rich(tmp_path: Path) -> tuple[Path, Path]:
    book, report = tmp_path / "partner.xlsx", tmp_path / "usage.csv"
    rich_workbook(book)
    report.write_bytes(codecs.BOM_UTF8 + delimited([PC_HEADER, *RICH_EXPORT], ",").encode("utf-8"))
    return book, report


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def sheet_parts(path: Path) -> dict[str, str]:
    """sheet name -> its XML part, from the workbook's own relationships."""
    import xml.etree.ElementTree as ET

    files = parts(path)
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    rid = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    rels = {r.get("Id"): r.get("Target") for r in ET.fromstring(files["xl/_rels/workbook.xml.rels"])}
    out = {}
    for sheet in ET.fromstring(files["xl/workbook.xml"]).iterfind("m:sheets/m:sheet", ns):
        target = str(rels[sheet.get(rid)])
        out[str(sheet.get("name"))] = target.lstrip("/") if target.startswith("/") else "xl/" + target
    return out


def cells(path: Path) -> dict[str, list[list[Any]]]:
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    return {name: book.get_sheet_by_name(name).to_python(skip_empty_area=False) for name in book.sheet_names}


def test_import_into_a_rich_workbook_loses_nothing(rich: tuple[Path, Path], tmp_path: Path) -> None:
    book, report = rich
    before_parts, before = parts(book), cells(book)
    result = import_usage(report, book, add_customers=True)
    assert result.written == str(book)
    assert (result.updated, result.added, result.unchanged) == (2, 2, 2)
    assert result.customers_added == [T3]
    after_parts, after = parts(book), cells(book)

    names = sheet_parts(book)
    touched = {names["Usage"], names["Customers"]}
    assert set(after_parts) == set(before_parts)
    assert {n for n in before_parts if before_parts[n] != after_parts[n]} == touched
    for name in before:
        if name not in ("Usage", "Customers"):
            assert after[name] == before[name]

    usage_before, usage_after = before["Usage"], after["Usage"]
    changed = {(1, 4): 300.0, (4, 5): 600.0}  # E2, F5 (0-based row and column)
    for r, row in enumerate(usage_before):
        for c, value in enumerate(row):
            assert usage_after[r][c] == changed.get((r, c), value), (r, c)
    assert [row[:6] for row in usage_after[len(usage_before) :]] == [
        [T2, "Microsoft Teams", "2025-02", "", 45.0, 500.0],
        [T3, "Exchange Online", "2025-02", "", 7.0, 20.0],
    ]
    assert all(v == "" for row in usage_after[len(usage_before) :] for v in row[6:])
    assert after["Customers"][: len(before["Customers"])] == before["Customers"]
    assert after["Customers"][3] == [T3, "Tailspin Toys", "", "", "", "", "NL"]

    wb = openpyxl.load_workbook(book)
    assert wb["Usage"]["G2"].value == "=E2/F2"  # formulas stay formulas
    assert wb["Usage"]["D2"].comment is not None
    assert wb["Hidden"].sheet_state == "hidden"
    usage_xml = after_parts[names["Usage"]]
    assert b"<drawing " in usage_xml and b"<legacyDrawing " in usage_xml


def test_importing_the_same_export_again_changes_nothing(rich: tuple[Path, Path]) -> None:
    book, report = rich
    import_usage(report, book, add_customers=True)
    once = book.read_bytes()
    again = import_usage(report, book, add_customers=True)
    assert (again.updated, again.added, again.unchanged, again.customers_added) == (0, 0, 6, [])
    assert again.written is None
    assert book.read_bytes() == once


def test_out_leaves_the_original_byte_identical(rich: tuple[Path, Path], tmp_path: Path) -> None:
    book, report = rich
    original = book.read_bytes()
    out = tmp_path / "merged.xlsx"
    result = import_usage(report, book, out=out)
    assert result.written == str(out)
    assert book.read_bytes() == original
    assert cells(out)["Usage"][1][4] == 300.0
    # a second import into the result changes none of its sheets
    again = tmp_path / "again.xlsx"
    import_usage(report, out, out=again)
    assert parts(again) == parts(out)


# ---------------------------------------------------------------------------------------- the command


def run_cli(*args: str) -> Any:
    return CliRunner().invoke(main, ["import-usage", *args])


def test_cli_prints_one_json_document_and_exits_1_for_skipped_rows(rich: tuple[Path, Path]) -> None:
    book, report = rich
    result = run_cli(str(report), str(book), "--json")
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    assert doc["counts"] == {
        "read": 6, "updated": 2, "added": 1, "unchanged": 2, "duplicates": 0, "flagged_duplicates": 0,
        "skipped": 1, "customers_added": 0,
    }  # fmt: skip
    assert doc["kind"] == "Office 365 license usage report"
    assert [(f["sheet"], f["row"], f["column"], f["code"]) for f in doc["skipped"]] == [
        ("usage.csv", 7, "Tenant ID", "unknown-tenant")
    ]
    assert doc["added_rows"] == [6]
    assert any("month/day/year" in a for a in doc["assumptions"])


def test_cli_table_and_exit_0_when_every_row_imports(rich: tuple[Path, Path]) -> None:
    book, report = rich
    result = run_cli(str(report), str(book), "--add-customers")
    assert result.exit_code == 0, result.output
    assert "customers added" in result.output and "Saved to" in result.output


def test_a_workbook_open_in_excel_is_not_written(rich: tuple[Path, Path]) -> None:
    book, report = rich
    original = book.read_bytes()
    (book.parent / f"~${book.name}").write_bytes(b"owner")
    result = run_cli(str(report), str(book))
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: ") and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert book.read_bytes() == original
    # reading it into another file is fine
    assert run_cli(str(report), str(book), "--out", str(book.parent / "copy.xlsx")).exit_code == 1


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["missing.csv", "{book}"], 3),
        (["{report}", "missing.xlsx"], 3),
        (["{report}", "{report}"], 3),  # a CSV given as the workbook
        (["{report}", "{book}", "--no-such-option"], 2),
        (["{report}"], 2),
    ],
)
def test_cli_exit_codes_for_what_cannot_run(rich: tuple[Path, Path], args: list[str], code: int) -> None:
    book, report = rich
    result = run_cli(*(a.format(book=book, report=report) for a in args))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    if code == 3:
        assert result.stderr.startswith("Error: ")


def test_check_after_import_flags_only_the_contact_fields_of_added_customers(rich: tuple[Path, Path]) -> None:
    from cpor_excel.run import check_workbook

    book, report = rich
    import_usage(report, book, add_customers=True)
    findings = check_workbook(book, as_of=dt.date(2025, 6, 30)).findings
    assert {(f.sheet, f.row, f.column, f.code) for f in findings if f.sheet in ("Usage", "Customers")} == {
        ("Customers", 4, column, "missing-value")
        for column in ("Domain", "Contact Name", "Contact Title", "Contact Email")
    }


def test_a_damaged_xlsx_export_exits_3(rich: tuple[Path, Path]) -> None:
    book, _ = rich
    broken = book.parent / "usage.xlsx"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    original = book.read_bytes()
    result = run_cli(str(broken), str(book))
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.output
    assert book.read_bytes() == original

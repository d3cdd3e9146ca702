"""`import-earnings`: Partner Center's Ineligible revenue usage details and Earnings downloads, as they come, into
the Microsoft Earnings sheet (Modern Work usage only, one row per tenant, workload, month and kind), losing
nothing else in the workbook."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import python_calamine
import xlsxwriter
from click.testing import CliRunner
from ooxml_validator import new_errors
from partner_center_downloads import (
    EARNINGS_DEFAULT,
    INELIGIBLE,
    grouped,
    us_date,
    write_utf8_bom,
    write_utf16_tab,
    write_xlsx,
)

from cpor_excel.cli import main
from cpor_excel.earnings_import import NotAnEarningsReport, import_earnings, read_earnings
from cpor_excel.model.columns import MS_EARNINGS_HEADER
from cpor_excel.model.headers import column_letter

T1 = "0b4c1b43-0a66-4b6c-9c5e-7c1a4cc6b5b1"
T2 = "5f0e7d2a-3c1b-4e8f-9a6d-2b7c8e9f0a1d"
T3 = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"  # not in Customers
JAN, FEB, MAR = dt.date(2025, 1, 1), dt.date(2025, 2, 1), dt.date(2025, 3, 1)
MW = {"solutionArea": "Modern Work and Security", "engagementName": "Modern Work Usage"}


def ineligible(tenant: str, workload: str, month: dt.date, reason: str, mau: int, pau: int, units: int,
               **more: Any) -> dict[str, Any]:  # fmt: skip
    return {
        **MW, "customerId": tenant, "customerIdType": "Tenant ID", "customerName": "Contoso, Ltd",
        "workload": workload, "transactionDate": us_date(month), "reason": reason, "quantity": grouped(mau),
        "quantityType": "MAU", "quantityAlt": grouped(pau), "quantityAltType": "PAU",
        "compensableUnits": grouped(units), "partnerId": "1234567", "partnerRole": "use",
        "unearnedId": f"U-{tenant[:4]}-{workload}-{month:%m}", **more,
    }  # fmt: skip


INELIGIBLE_RECORDS = [
    ineligible(T1, "Exchange", JAN, "PAULWPHWM", 1180, 1200, -20),  # row 2
    ineligible(T1, "Teams", FEB, "MINTHNTMT", 1100, 1200, 3),  # 3
    ineligible(T2, "SPO", JAN, "MXTMCPMT", 300, 500, 120),  # 4
    ineligible(T3, "Exchange", JAN, "PAULWPHWM", 10, 10, 0),  # 5: tenant not in Customers
    {  # 6: Azure consumption, a top parent ID: not the tool's business
        "customerId": "12345678", "customerIdType": "TPID", "customerName": "Contoso Group",
        "solutionArea": "Azure", "engagementName": "Azure Consumption", "workload": "Virtual Machines",
        "transactionDate": us_date(JAN), "reason": "IVDMPN", "transactionAmountUSD": grouped(1234.5),
    },
    {**ineligible(T1, "Customer Service", JAN, "IVDPTRROLE", 5, 5, 0), "solutionArea": "Business Applications",
     "engagementName": "Business Applications Usage"},  # 7: another solution area
    ineligible(T2, "Teams", dt.date(2025, 1, 1), "MINTHNTMT", 1, 1, 0, transactionDate="13/45/2025"),  # 8
    ineligible(T2, "Teamz", JAN, "MINTHNTMT", 1, 1, 0),  # 9: no such workload
]  # fmt: skip


def earning(tenant: str, workload: str, month: dt.date, earning_id: str, amount: float, units: int,
            **more: Any) -> dict[str, Any]:  # fmt: skip
    return {
        **MW, "customerTenantId": tenant, "customerName": "Contoso, Ltd", "workload": workload,
        "transactionDate": us_date(month), "earningDate": us_date(month), "earningId": earning_id,
        "earningAmount": grouped(amount), "earningAmountUSD": grouped(amount), "transactionCurrency": "USD",
        "quantity": grouped(1400), "quantityType": "MAU", "quantityAlt": grouped(1500), "quantityAltType": "PAU",
        "compensableUnits": grouped(units), "claimId": "C-1", "lever": "Usage", "paymentStatus": "Sent",
        "programName": "Microsoft Commerce Incentives", **more,
    }  # fmt: skip


EARNINGS_RECORDS = [
    earning(T1, "Exchange", FEB, "E-1", 1000.0, 200),  # row 2
    earning(T1, "Exchange", FEB, "E-1", 1000.0, 200),  # 3: the same earning listed again
    earning(T1, "Exchange", FEB, "E-2", -100.0, -20),  # 4: Microsoft's recalculation: nets to 900.00, 180
    earning(T2, "SharePoint", MAR, "E-3", 2500.5, 500),  # 5
    {**earning(T1, "", FEB, "E-4", 75.0, 0), "engagementName": "CSP Core Incentives", "quantityType": "Seats",
     "quantityAltType": "", "compensableUnits": ""},  # 6: transact, no workload
    {**earning(T2, "Exchange", MAR, "E-5", 80.0, 0), "engagementName": "CSP Core Incentives",
     "quantityType": "Seats", "quantityAltType": "", "compensableUnits": ""},  # 7: transact, not usage
]  # fmt: skip


def rows(download: Any) -> list[tuple[Any, ...]]:
    cols = ["Tenant ID", "Workload", "Month", "Kind", "Active Users", "Paid Units", "Compensable Units", "Reason",
            "Amount", "Amount USD"]  # fmt: skip
    out = []
    for record in download.rows[cols].itertuples(index=False):
        out.append(tuple(None if isinstance(v, float) and v != v else v for v in record))
    return out


def keyed(findings: list[Any]) -> list[tuple[Any, ...]]:
    return [(f.sheet, f.row, f.column, f.code) for f in findings]


# ------------------------------------------------------------------------------------------- reading


def test_the_ineligible_download_keeps_modern_work_usage_rows_only(tmp_path: Path) -> None:
    download = read_earnings(write_utf16_tab(tmp_path / "ineligible.txt", INELIGIBLE, INELIGIBLE_RECORDS))
    assert download.report == "Ineligible revenue usage details"
    assert rows(download) == [
        (T1, "Exchange Online", "2025-01", "Ineligible", 1180, 1200, -20, "PAULWPHWM", None, None),
        (T1, "Microsoft Teams", "2025-02", "Ineligible", 1100, 1200, 3, "MINTHNTMT", None, None),
        (T2, "SharePoint Online", "2025-01", "Ineligible", 300, 500, 120, "MXTMCPMT", None, None),
        (T3, "Exchange Online", "2025-01", "Ineligible", 10, 10, 0, "PAULWPHWM", None, None),
    ]
    assert download.other == {"Azure Consumption": 1, "Business Applications Usage": 1}
    assert (download.read, download.usage_rows, download.period) == (8, 6, ("2025-01", "2025-02"))
    assert keyed(download.skipped) == [
        ("ineligible.txt", 8, "Transaction Date", "bad-type"),
        ("ineligible.txt", 9, "Workload", "unknown-workload"),
    ]
    assert download.skipped[0].cell == f"{column_letter(INELIGIBLE.index('transactionDate'))}8"
    assert "did you mean 'Microsoft Teams'" in download.skipped[1].message


def test_the_earnings_download_adds_up_distinct_earnings_per_month(tmp_path: Path) -> None:
    download = read_earnings(write_utf8_bom(tmp_path / "earnings.csv", EARNINGS_DEFAULT, EARNINGS_RECORDS))
    assert download.report == "Earnings report"
    assert rows(download) == [
        (T1, "Exchange Online", "2025-02", "Earned", 1400, 1500, 180, None, 900.0, 900.0),
        (T2, "SharePoint Online", "2025-03", "Earned", 1400, 1500, 500, None, 2500.5, 2500.5),
    ]
    assert download.rows["Microsoft IDs"].tolist() == ["E-1; E-2", "E-3"]
    assert download.rows["Claim ID"].tolist() == ["C-1", "C-1"]
    assert download.other == {"CSP Core Incentives": 2}
    assert download.skipped == []


def test_an_xlsx_download_with_real_numbers_and_dates_reads_the_same(tmp_path: Path) -> None:
    records = []
    for r in EARNINGS_RECORDS[:4]:
        record = dict(r)
        record["transactionDate"] = dt.datetime(2025, 2 if r["earningId"] != "E-3" else 3, 1)
        for name in ("earningAmount", "earningAmountUSD", "quantity", "quantityAlt", "compensableUnits"):
            record[name] = float(str(r[name]).replace(",", ""))
        records.append(record)
    download = read_earnings(write_xlsx(tmp_path / "earnings.xlsx", EARNINGS_DEFAULT, records))
    assert rows(download) == [
        (T1, "Exchange Online", "2025-02", "Earned", 1400, 1500, 180, None, 900.0, 900.0),
        (T2, "SharePoint Online", "2025-03", "Earned", 1400, 1500, 500, None, 2500.5, 2500.5),
    ]


def test_earnings_in_two_currencies_keep_only_their_usd_sum(tmp_path: Path) -> None:
    records = [
        earning(T1, "Exchange", FEB, "E-1", 100.0, 20),
        {
            **earning(T1, "Exchange", FEB, "E-2", 90.0, 20),
            "transactionCurrency": "EUR",
            "earningAmountUSD": "97.50",
        },
    ]
    download = read_earnings(write_utf8_bom(tmp_path / "earnings.csv", EARNINGS_DEFAULT, records))
    assert rows(download) == [(T1, "Exchange Online", "2025-02", "Earned", 1400, 1500, 40, None, None, 197.5)]
    assert download.rows["Currency"].tolist() == ["USD; EUR"]


def test_a_download_saved_by_european_excel_reads_the_same(tmp_path: Path) -> None:
    """Semicolons, decimal commas, day.month.year dates and Windows-1252, as Excel in Germany saves a CSV."""
    header = ["customerTenantId", "workload", "transactionDate", "earningId", "earningAmount", "earningAmountUSD",
              "transactionCurrency", "compensableUnits", "customerName"]  # fmt: skip
    lines = [";".join(header), f"{T2};SharePoint;01.03.2025;E-3;2.500,50;2.500,50;USD;500;Zoë Müller GmbH"]
    path = tmp_path / "earnings.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    download = read_earnings(path)
    assert rows(download) == [
        (T2, "SharePoint Online", "2025-03", "Earned", None, None, 500, None, 2500.5, 2500.5)
    ]
    assert download.rows["Customer"].tolist() == ["Zoë Müller GmbH"]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "is empty"),
        (
            b"CustomerTenantId,WorkloadName,Month,MonthlyActiveUsers,PaidAvailableUnits\r\n",
            "customerId, workload",
        ),
        (b"customerId,workload,transactionDate\r\n", "earningAmount"),  # neither a reason nor an earning
        (b"\xff\xfe" + "customerId\tworkload".encode("utf-16-le")[:-1], "not valid UTF-16-LE"),
    ],
    ids=["empty", "a-usage-report", "no-reason-or-amount", "broken-utf16"],
)
def test_a_file_that_is_no_earnings_download_is_refused(
    tmp_path: Path, content: bytes, fragment: str
) -> None:
    path = tmp_path / "download.csv"
    path.write_bytes(content)
    with pytest.raises(NotAnEarningsReport, match=fragment):
        read_earnings(path)


def test_a_header_only_download_imports_nothing_and_covers_no_period(tmp_path: Path) -> None:
    download = read_earnings(write_utf8_bom(tmp_path / "earnings.csv", EARNINGS_DEFAULT, []))
    assert (download.read, len(download.rows), download.period, download.skipped) == (0, 0, None, [])


def test_text_and_huge_amounts_are_reported_at_their_cells(tmp_path: Path) -> None:
    records = [earning(T1, "Exchange", FEB, f"E-{i}", 1.0, 1) for i in range(3)]
    records[0]["earningAmount"] = "lots"
    records[1]["earningAmountUSD"] = "9,999,999,999,999.00"
    records[2]["compensableUnits"] = "1.5"
    download = read_earnings(write_utf8_bom(tmp_path / "earnings.csv", EARNINGS_DEFAULT, records))
    assert keyed(download.skipped) == [
        ("earnings.csv", 2, "Amount", "bad-type"),
        ("earnings.csv", 3, "Amount USD", "bad-number"),
        ("earnings.csv", 4, "Compensable Units", "bad-number"),
    ]
    assert download.rows.empty


# ----------------------------------------------------------------------------------- into a workbook

CUSTOMERS = [["Tenant ID", "Customer Name"], ["{" + T1.upper() + "}", "Contoso"], [T2, "Zoë Müller GmbH"]]


def rich_workbook(path: Path) -> Path:
    """Customers with a note and a formula, a chart, a hidden sheet and a defined name."""
    wb = xlsxwriter.Workbook(str(path))
    customers = wb.add_worksheet("Customers")
    for r, row in enumerate(CUSTOMERS):
        customers.write_row(r, 0, row)
    customers.write_formula("C2", "=LEN(B2)", None, 7)
    customers.write_comment("B2", "Key account")
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"values": "=Customers!$C$2:$C$3"})
    customers.insert_chart("E2", chart)
    hidden = wb.add_worksheet("Hidden")
    hidden.write("A1", "secret")
    hidden.hide()
    wb.define_name("Tenants", "=Customers!$A$2:$A$3")
    wb.close()
    return path


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def sheets(path: Path) -> dict[str, list[list[Any]]]:
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


ON = dt.date(2025, 4, 17)


@pytest.fixture
def imported(tmp_path: Path) -> tuple[Path, Path, Path]:
    book = rich_workbook(tmp_path / "partner.xlsx")
    ineligible_file = write_utf16_tab(tmp_path / "ineligible.txt", INELIGIBLE, INELIGIBLE_RECORDS)
    earnings_file = write_utf8_bom(tmp_path / "earnings.csv", EARNINGS_DEFAULT, EARNINGS_RECORDS)
    return book, ineligible_file, earnings_file


def test_both_downloads_land_in_microsoft_earnings_and_nothing_else_changes(
    imported: tuple[Path, Path, Path],
) -> None:
    book, ineligible_file, earnings_file = imported
    before_parts, before = parts(book), sheets(book)
    first = import_earnings(ineligible_file, book, imported_on=ON)
    second = import_earnings(earnings_file, book, imported_on=ON)
    assert (first.added, first.exit_code, second.added, second.exit_code) == (3, 1, 2, 0)
    assert keyed(first.skipped) == [
        ("ineligible.txt", 5, "Tenant ID", "unknown-tenant"),
        ("ineligible.txt", 8, "Transaction Date", "bad-type"),
        ("ineligible.txt", 9, "Workload", "unknown-workload"),
    ]
    after = sheets(book)
    assert {k: v for k, v in after.items() if k in before} == before
    assert list(after) == [*before, "Microsoft Earnings", "Earnings Imports"]
    earnings = after["Microsoft Earnings"]
    assert earnings[0] == list(MS_EARNINGS_HEADER)
    table = [dict(zip(MS_EARNINGS_HEADER, r, strict=True)) for r in earnings[1:]]
    assert [(r["Tenant ID"], r["Workload"], r["Month"], r["Kind"], r["Compensable Units"], r["Reason"], r["Amount"])
            for r in table] == [
        (T1, "Exchange Online", "2025-01", "Ineligible", -20.0, "PAULWPHWM", ""),
        (T1, "Microsoft Teams", "2025-02", "Ineligible", 3.0, "MINTHNTMT", ""),
        (T2, "SharePoint Online", "2025-01", "Ineligible", 120.0, "MXTMCPMT", ""),
        (T1, "Exchange Online", "2025-02", "Earned", 180.0, "", 900.0),
        (T2, "SharePoint Online", "2025-03", "Earned", 500.0, "", 2500.5),
    ]  # fmt: skip
    assert {(r["Source"], r["Imported On"]) for r in table} == {
        ("ineligible.txt", "2025-04-17"), ("earnings.csv", "2025-04-17"),
    }  # fmt: skip
    assert after["Earnings Imports"][1:] == [
        ["ineligible.txt", "Ineligible revenue usage details", "2025-01", "2025-02", 8.0, 6.0, "2025-04-17"],
        ["earnings.csv", "Earnings report", "2025-02", "2025-03", 6.0, 4.0, "2025-04-17"],
    ]
    after_parts = parts(book)
    kept = {n for n in before_parts if before_parts[n] == after_parts.get(n)}
    bookkeeping = {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "docProps/app.xml"}
    bookkeeping.add("xl/styles.xml")  # the new sheets' header row format, appended
    assert set(before_parts) - kept <= bookkeeping
    wb = openpyxl.load_workbook(book)
    assert wb["Customers"]["C2"].value == "=LEN(B2)" and wb["Customers"]["B2"].comment is not None
    assert wb["Hidden"].sheet_state == "hidden"


def test_importing_a_download_again_changes_no_byte(imported: tuple[Path, Path, Path]) -> None:
    book, ineligible_file, _ = imported
    import_earnings(ineligible_file, book, imported_on=ON)
    once = book.read_bytes()
    again = import_earnings(ineligible_file, book, imported_on=dt.date(2025, 5, 1))
    assert (again.added, again.updated, again.unchanged, again.written) == (0, 0, 3, None)
    assert book.read_bytes() == once


def test_a_later_download_updates_the_months_microsoft_recalculated(imported: tuple[Path, Path, Path],
                                                                    tmp_path: Path) -> None:  # fmt: skip
    book, _, earnings_file = imported
    import_earnings(earnings_file, book, imported_on=ON)
    later = [*EARNINGS_RECORDS, earning(T2, "SharePoint", MAR, "E-6", -500.5, -100)]
    later_file = write_utf8_bom(tmp_path / "earnings-may.csv", EARNINGS_DEFAULT, later)
    result = import_earnings(later_file, book, imported_on=dt.date(2025, 5, 16))
    assert (result.updated, result.added, result.unchanged, result.updated_rows) == (1, 0, 1, [3])
    row = dict(zip(MS_EARNINGS_HEADER, sheets(book)["Microsoft Earnings"][2], strict=True))
    assert (row["Compensable Units"], row["Amount"], row["Microsoft IDs"]) == (400.0, 2000.0, "E-3; E-6")
    assert (row["Source"], row["Imported On"]) == ("earnings-may.csv", "2025-05-16")
    first = dict(zip(MS_EARNINGS_HEADER, sheets(book)["Microsoft Earnings"][1], strict=True))
    assert (first["Source"], first["Imported On"]) == ("earnings.csv", "2025-04-17")  # unchanged: untouched


def test_the_written_workbook_passes_the_strict_package_check(
    imported: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    book, ineligible_file, earnings_file = imported
    out = tmp_path / "out.xlsx"
    import_earnings(ineligible_file, book, out=out, imported_on=ON)
    import_earnings(earnings_file, out, imported_on=ON)
    assert new_errors(book, out) == []


# ------------------------------------------------------------------------------------------ the command


def test_the_command_prints_json_and_exits_1_for_skipped_rows(imported: tuple[Path, Path, Path]) -> None:
    book, ineligible_file, _ = imported
    result = CliRunner().invoke(main, ["import-earnings", str(ineligible_file), str(book), "--json"])
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    assert doc["kind"] == "Ineligible revenue usage details"
    assert doc["counts"] == {
        "read": 8, "modern_work_usage": 6, "other_engagements": 2, "months": 4, "updated": 0, "added": 3,
        "unchanged": 0, "skipped": 3,
    }  # fmt: skip
    assert doc["period"] == ["2025-01", "2025-02"]


def test_the_command_table_names_the_download_and_the_engagements_skipped(
    imported: tuple[Path, Path, Path],
) -> None:
    book, _, earnings_file = imported
    result = CliRunner().invoke(main, ["import-earnings", str(earnings_file), str(book)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "earnings.csv (Earnings report)" in result.output and "2025-02 to 2025-03" in result.output
    assert "CSP Core Incentives (2)" in result.output and "Saved to" in result.output


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["missing.csv", "{book}"], 3),
        (["{report}", "missing.xlsx"], 3),
        (["{report}", "{report}"], 3),
        (["{usage}", "{book}"], 3),
        (["{report}"], 2),
    ],
)
def test_what_cannot_run_gets_one_error_line(imported: tuple[Path, Path, Path], tmp_path: Path, args: list[str],
                                             code: int) -> None:  # fmt: skip
    book, report, _ = imported
    usage = tmp_path / "usage.csv"
    usage.write_text(
        "CustomerTenantId,WorkloadName,Month,MonthlyActiveUsers,PaidAvailableUnits\r\n", encoding="utf-8"
    )
    before = book.read_bytes()
    result = CliRunner().invoke(
        main, ["import-earnings", *(a.format(book=book, report=report, usage=usage) for a in args)]
    )
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    if code == 3:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert book.read_bytes() == before


def test_a_workbook_open_in_excel_is_not_written(imported: tuple[Path, Path, Path]) -> None:
    book, report, _ = imported
    before = book.read_bytes()
    (book.parent / f"~${book.name}").write_bytes(b"owner")
    result = CliRunner().invoke(main, ["import-earnings", str(report), str(book)])
    assert result.exit_code == 3 and "open in Excel" in result.stderr
    assert book.read_bytes() == before

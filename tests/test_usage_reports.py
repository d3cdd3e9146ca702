"""`import-usage` takes every Partner Center usage report as downloaded: the Office 365 license usage report,
the CPOR-M365 usage report (its claims checked against Associations) and the wide Enterprise Mobility report;
rows flagged IsDuplicateRowForPGA = 1 are skipped; the report's kind is said."""

from __future__ import annotations

import codecs
import datetime as dt
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from memory_book import MemoryBook
from partner_center_downloads import (
    CPOR_M365,
    ENTERPRISE_MOBILITY,
    OFFICE_365,
    grouped,
    us_date,
    write_utf8_bom,
    write_utf16_tab,
    write_xlsx,
)

from cpor_excel.cli import main
from cpor_excel.model.headers import column_letter
from cpor_excel.usage_import import NotAUsageExport, UsageExport, merge_usage, read_export

T1 = "0b4c1b43-0a66-4b6c-9c5e-7c1a4cc6b5b1"
T2 = "5f0e7d2a-3c1b-4e8f-9a6d-2b7c8e9f0a1d"
EXO, TEAMS, SPO = "Exchange Online", "Microsoft Teams", "SharePoint Online"
ENTRA, INTUNE, PURVIEW = (
    "Microsoft Entra ID P1/P2",
    "Microsoft Intune",
    "Microsoft Purview Information Protection",
)


def imported(export: UsageExport) -> list[tuple[Any, ...]]:
    cols = ["Tenant ID", "Workload", "Month", "Active Users", "Paid Units"]
    return [tuple(r) for r in export.rows[cols].itertuples(index=False)]


def keyed(findings: list[Any]) -> list[tuple[Any, ...]]:
    return [(f.sheet, f.row, f.column, f.code) for f in findings]


def col(header: list[str], name: str) -> str:
    return column_letter(header.index(name))


# ------------------------------------------------------------------------------------------- CPOR-M365


def cpor(tenant: str, workload: str, mau: int, pau: int, claim: str, mpn: str, associated: dt.date,
         month: dt.date, name: str = "Contoso, Ltd") -> dict[str, Any]:  # fmt: skip
    return {
        "CustomerTenantId": tenant, "CustomerName": name, "WorkloadName": workload,
        "MonthlyActiveUsers": grouped(mau), "PaidAvailableUnits": grouped(pau), "ClaimId": claim, "MpnId": mpn,
        "DateAssociated": us_date(associated), "PartnerAttributionType": "CPOR", "Date": us_date(month),
    }  # fmt: skip


MAR, APR = dt.date(2025, 3, 1), dt.date(2025, 4, 1)
CPOR_RECORDS = [
    cpor(T1, "Exchange", 1100, 1200, "C-1", "1234567", dt.date(2024, 3, 12), MAR),  # row 2: all agree
    cpor(T1, "Teams", 900, 1200, "C-1", "1234567", dt.date(2024, 3, 12), MAR),  # 3: approved 2024-05 in book
    cpor(T2, "SharePoint", 40, 500, "C-2", "7654321", dt.date(2024, 3, 20), MAR),  # 4: book says 1111111
    cpor(T2, "Exchange", 45, 500, "C-9", "7654321", dt.date(2024, 3, 20), MAR),  # 5: no claim C-9 in book
    cpor(T1, "Teams", 950, 1200, "C-1", "1234567", dt.date(2024, 3, 12), APR),  # 6: same claim, next month
    cpor(T1, "Yammer", 10, 1200, "C-1", "1234567", dt.date(2024, 3, 12), APR),  # 7: C-1 has no Viva Engage
]


def test_the_cpor_m365_report_is_read_with_date_as_its_month(tmp_path: Path) -> None:
    export = read_export(write_utf8_bom(tmp_path / "cpor.csv", CPOR_M365, CPOR_RECORDS))
    assert export.kind == "CPOR-M365 usage report"
    assert export.skipped == []
    assert imported(export) == [
        (T1, EXO, "2025-03", 1100, 1200),
        (T1, TEAMS, "2025-03", 900, 1200),
        (T2, SPO, "2025-03", 40, 500),
        (T2, EXO, "2025-03", 45, 500),
        (T1, TEAMS, "2025-04", 950, 1200),
        (T1, "Viva Engage", "2025-04", 10, 1200),
    ]
    assert export.rows["Date Associated"].tolist() == ["2024-03"] * 6
    assert export.headers["Month"] == "Date"


ASSOCIATIONS = [
    ["Claim ID", "Tenant ID", "Workload", "Partner ID", "Status", "Approved"],
    ["C-1", T1, "EXO", 1234567.0, "Approved", dt.datetime(2024, 3, 5)],
    ["C-1", T1, "Teams", "1234567", "Approved", dt.datetime(2024, 5, 2)],
    ["C-2", T2, "SharePoint Online", "1111111", "Approved", "2024-03-01"],
]


def book_with_claims() -> MemoryBook:
    return MemoryBook(
        {
            "Customers": [["Tenant ID", "Customer Name"], [T1, "Contoso"], [T2, "Zoë Müller GmbH"]],
            "Associations": ASSOCIATIONS,
            "Usage": [["Tenant ID", "Workload", "Month", "Active Users", "Paid Units"]],
        }
    )


def test_cpor_m365_claims_are_checked_against_associations_and_every_row_is_imported(tmp_path: Path) -> None:
    export = read_export(write_utf8_bom(tmp_path / "cpor.csv", CPOR_M365, CPOR_RECORDS))
    book = book_with_claims()
    result = merge_usage(book, export, workbook="partner.xlsx")
    assert keyed(result.checks) == [
        ("cpor.csv", 3, "Date Associated", "claim-date-differs"),
        ("cpor.csv", 4, "Partner ID", "claim-partner-differs"),
        ("cpor.csv", 5, "Claim ID", "claim-not-in-workbook"),
        ("cpor.csv", 7, "Claim ID", "claim-not-in-workbook"),
    ]
    cells = [f.cell for f in result.checks]
    assert cells == [
        f"{col(CPOR_M365, 'DateAssociated')}3", f"{col(CPOR_M365, 'MpnId')}4",
        f"{col(CPOR_M365, 'ClaimId')}5", f"{col(CPOR_M365, 'ClaimId')}7",
    ]  # fmt: skip
    date, partner, unknown, workload = (f.message for f in result.checks)
    assert "2024-03" in date and "2024-05" in date and "1 more rows" in date
    assert "7654321" in partner and "1111111" in partner
    assert "not in Associations" in unknown and "no Viva Engage row" in workload
    assert {f.severity.value for f in result.checks} == {"warning", "info"}
    assert (result.added, result.skipped, result.exit_code) == (6, [], 0)
    assert len(book.sheets["Usage"]) == 7


def test_cpor_m365_without_associations_reports_every_claim_missing(tmp_path: Path) -> None:
    export = read_export(write_utf8_bom(tmp_path / "cpor.csv", CPOR_M365, CPOR_RECORDS[:2]))
    book = book_with_claims()
    del book.sheets["Associations"]
    result = merge_usage(book, export, workbook="partner.xlsx")
    assert keyed(result.checks) == [
        ("cpor.csv", 2, "Claim ID", "claim-not-in-workbook"),
        ("cpor.csv", 3, "Claim ID", "claim-not-in-workbook"),
    ]
    assert result.added == 2


# --------------------------------------------------------------------------------- Enterprise Mobility


def ems(
    tenant: str, month: dt.date, pairs: dict[str, tuple[Any, Any]], name: str = "Contoso, Ltd"
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "PGAMpnID": "1234560", "SubscriptionId": "sub-1", "Month": us_date(month), "SKU": "EMS E3",
        "CustomerName": name, "CustomerTenantId": tenant, "CustomerMarket": "US", "MPNID": "1234567",
        "PaidAvailableUnits": grouped(999), "MonthlyActiveUsers": grouped(888),
    }  # fmt: skip
    for prefix, (paid, active) in pairs.items():
        record[f"{prefix}PaidAvailableUnits"], record[f"{prefix}MonthlyActiveUsers"] = paid, active
    return record


EMS_RECORDS = [
    ems(T1, MAR, {"AADP": ("1,500", "1,300"), "Intune": ("500", "450"), "Azip": ("", "")}),  # row 2
    ems(T2, MAR, {"AADP": ("0", "0"), "Intune": ("1,000", "abc"), "Azip": ("200", "150")}),  # row 3
    ems("not-a-guid", MAR, {"AADP": ("10", "5"), "Intune": ("10", "5")}),  # row 4
    ems(T2, APR, {"AADP": ("12,345,678,901", "5")}),  # row 5: no tenant has ten billion seats
]


def test_the_enterprise_mobility_report_gives_one_usage_row_per_workload_pair(tmp_path: Path) -> None:
    export = read_export(write_utf16_tab(tmp_path / "ems.txt", ENTERPRISE_MOBILITY, EMS_RECORDS))
    assert export.kind == "Enterprise Mobility license usage report"
    assert imported(export) == [
        (T1, ENTRA, "2025-03", 1300, 1500),
        (T1, INTUNE, "2025-03", 450, 500),
        (T2, PURVIEW, "2025-03", 150, 200),
    ]
    assert [export.export_row(e) for e in export.rows.index] == [2, 2, 3]
    assert keyed(export.skipped) == [
        ("ems.txt", 3, "Active Users", "bad-type"),
        ("ems.txt", 4, "Tenant ID", "bad-tenant-id"),  # once, though two pairs of the row use the cell
        ("ems.txt", 5, "Paid Units", "bad-number"),
    ]
    assert [f.cell for f in export.skipped] == [
        f"{col(ENTERPRISE_MOBILITY, 'IntuneMonthlyActiveUsers')}3",
        f"{col(ENTERPRISE_MOBILITY, 'CustomerTenantId')}4",
        f"{col(ENTERPRISE_MOBILITY, 'AADPPaidAvailableUnits')}5",
    ]
    assert "IntuneMonthlyActiveUsers 'abc' is not a number" in export.skipped[0].message
    # empty or 0/0 pairs give no row: T1 Azip, T2 AADP, row 4's Azip, row 5's Intune and Azip
    assert (export.read, export.empty_pairs) == (4, 5)


def test_an_enterprise_mobility_import_names_unknown_tenants_once_per_row(tmp_path: Path) -> None:
    other = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
    records = [ems(other, MAR, {"AADP": ("10", "5"), "Intune": ("10", "5"), "Azip": ("10", "5")})]
    export = read_export(write_utf16_tab(tmp_path / "ems.txt", ENTERPRISE_MOBILITY, records))
    result = merge_usage(book_with_claims(), export, workbook="partner.xlsx")
    assert keyed(result.skipped) == [("ems.txt", 2, "Tenant ID", "unknown-tenant")]
    assert result.added == 0


# ---------------------------------------------------------------------------- Office 365, flagged rows


def office(
    tenant: str, workload: str, pau: int, mau: int, flag: Any, partner: str = "1234567"
) -> dict[str, Any]:
    return {
        "PGAPartnerID": "1234560", "CustomerTenantId": tenant, "WorkloadName": workload, "Month": us_date(MAR),
        "PaidAvailableUnits": grouped(pau), "MonthlyActiveUsers": grouped(mau), "CustomerName": "Contoso, Ltd",
        "CustomerMarket": "US", "PartnerID": partner, "PartnerName": "Fabrikam", "IsDuplicateRowForPGA": flag,
    }  # fmt: skip


@pytest.mark.parametrize(
    "writer", [write_utf8_bom, write_utf16_tab, write_xlsx], ids=["bom", "utf16", "xlsx"]
)
def test_rows_flagged_as_duplicates_for_the_partner_global_account_are_skipped(
    tmp_path: Path, writer: Any
) -> None:
    records = [
        office(T1, "Exchange Online", 1200, 300, 0),
        office(T1, "Exchange Online", 1200, 300, 1, partner="7777777"),  # the same usage, another location
        office(T2, "Teams", 500, 45, "1"),
        office(T2, "SharePoint", 500, 40, ""),
    ]
    if writer is write_xlsx:
        for r in records:
            r["Month"] = dt.datetime(2025, 3, 1)
            r["PaidAvailableUnits"] = int(r["PaidAvailableUnits"].replace(",", ""))
            r["IsDuplicateRowForPGA"] = r["IsDuplicateRowForPGA"] or None
    export = read_export(
        writer(tmp_path / f"office.{'xlsx' if writer is write_xlsx else 'csv'}", OFFICE_365, records)
    )
    assert export.kind == "Office 365 license usage report"
    assert (export.flagged, export.duplicates, export.skipped) == (2, 0, [])
    assert imported(export) == [(T1, EXO, "2025-03", 300, 1200), (T2, SPO, "2025-03", 40, 500)]
    result = merge_usage(book_with_claims(), export, workbook="partner.xlsx")
    assert result.counts()["flagged_duplicates"] == 2
    assert any("IsDuplicateRowForPGA = 1" in n for n in result.notes)


# ---------------------------------------------------------------------------------------- nasty files


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "is empty"),
        (codecs.BOM_UTF8 + b"\r\n\r\n", "is empty"),
        (codecs.BOM_UTF8 + b"CustomerTenantId,Cust\xffomerName\r\n", "not valid UTF-8"),
        (b"customerId,workload,transactionDate,reason\r\n", "is not a Partner Center usage report"),
        (b"CustomerTenantId,Month,AADPPaidAvailableUnits\r\n", "AADPMonthlyActiveUsers"),
    ],
    ids=["empty", "blank-lines", "bad-utf8", "an-earnings-file", "half-a-pair"],
)
def test_files_that_are_no_usage_report_are_refused(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "report.csv"
    path.write_bytes(content)
    with pytest.raises(NotAUsageExport, match=fragment):
        read_export(path)


def test_a_header_only_report_imports_nothing(tmp_path: Path) -> None:
    export = read_export(write_utf8_bom(tmp_path / "cpor.csv", CPOR_M365, []))
    assert (export.kind, export.read, len(export.rows), export.skipped) == (
        "CPOR-M365 usage report",
        0,
        0,
        [],
    )


def test_text_and_huge_numbers_in_counts_are_reported_at_their_cells(tmp_path: Path) -> None:
    records = [cpor(T1, "Exchange", 1, 1, "C-1", "1234567", dt.date(2024, 3, 1), MAR) for _ in range(4)]
    records[0]["MonthlyActiveUsers"] = "n/a"
    records[1]["PaidAvailableUnits"] = "99,999,999,999"
    records[2]["MonthlyActiveUsers"] = "1e400"
    records[3]["Date"] = "someday"
    export = read_export(write_utf8_bom(tmp_path / "cpor.csv", CPOR_M365, records))
    assert keyed(export.skipped) == [
        ("cpor.csv", 2, "Active Users", "bad-type"),
        ("cpor.csv", 3, "Paid Units", "bad-number"),
        ("cpor.csv", 4, "Active Users", "bad-type"),
        ("cpor.csv", 5, "Month", "bad-type"),
    ]
    assert export.rows.empty


# ------------------------------------------------------------------------------------------ the command


def workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    wb.active.title = "Customers"
    wb["Customers"].append(["Tenant ID", "Customer Name"])
    wb["Customers"].append([T1, "Contoso"])
    wb["Customers"].append([T2, "Zoë"])
    assoc = wb.create_sheet("Associations")
    for row in ASSOCIATIONS:
        assoc.append(row)
    wb.create_sheet("Usage").append(["Tenant ID", "Workload", "Month", "Active Users", "Paid Units"])
    wb.save(path)
    return path


def test_the_command_says_which_report_it_read(tmp_path: Path) -> None:
    book = workbook(tmp_path / "partner.xlsx")
    report = write_utf8_bom(tmp_path / "cpor.csv", CPOR_M365, CPOR_RECORDS)
    result = CliRunner().invoke(main, ["import-usage", str(report), str(book), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["kind"] == "CPOR-M365 usage report"
    assert [(c["row"], c["code"]) for c in doc["checks"]] == [
        (3, "claim-date-differs"), (4, "claim-partner-differs"), (5, "claim-not-in-workbook"),
        (7, "claim-not-in-workbook"),
    ]  # fmt: skip
    table = CliRunner().invoke(main, ["import-usage", str(report), str(book)], terminal_width=200)
    assert "(CPOR-M365 usage report)" in table.output
    assert "claim-partner-differs" in table.output


def test_the_command_refuses_a_file_that_is_no_usage_report_with_one_error_line(tmp_path: Path) -> None:
    book = workbook(tmp_path / "partner.xlsx")
    before = book.read_bytes()
    report = tmp_path / "other.csv"
    report.write_text("Name,Amount\r\nA,1\r\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["import-usage", str(report), str(book)])
    assert result.exit_code == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert "CustomerTenantId" in lines[0] and "ClaimId" in lines[0] and "AADPPaidAvailableUnits" in lines[0]
    assert book.read_bytes() == before

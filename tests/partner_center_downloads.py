"""Realistic Partner Center downloads, generated for tests.

Column names are exactly the documented ones, in the documented order:
- usage reports: "Cloud product performance reports - Data definitions"
  (learn.microsoft.com/partner-center/insights/insights-data-definitions, 2023-08);
- Ineligible revenue usage details: learn.microsoft.com/partner-center/earnings/earnings-ineligible-revenue-usage
  (2023-09);
- Earnings (Default): learn.microsoft.com/partner-center/earnings/earnings-default (2023-09).
The files carry the quirks downloads have: UTF-8 with a BOM or UTF-16 LE tab-separated text, US dates with a
time ("3/1/2025 12:00:00 AM"), numbers with thousands separators in quotes, and trailing empty columns.
"""

from __future__ import annotations

import codecs
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

OFFICE_365 = [
    "PGAPartnerID", "CustomerTenantId", "CustomerTpid", "WorkloadName", "Month", "PaidAvailableUnits",
    "MonthlyActiveUsers", "CustomerName", "CustomerMarket", "CustomerSegment", "IndustryName", "VerticalName",
    "EOU", "PartnerID", "PartnerName", "PartnerLocation", "PartnerAttributionType", "IsDuplicateRowForPGA",
]  # fmt: skip
CPOR_M365 = [
    "CustomerTenantId", "CustomerName", "WorkloadName", "MonthlyActiveUsers", "PaidAvailableUnits", "ClaimId",
    "MpnId", "DateAssociated", "PartnerAttributionType", "Date",
]  # fmt: skip
ENTERPRISE_MOBILITY = [
    "PGAMpnID", "SubscriptionId", "SubscriptionStartDate", "SubscriptionEndDate", "SubscriptionStatus", "Month",
    "SKU", "SKUId", "FreeVsPaidSKU", "SalesModel", "DetailedSalesModel", "CustomerName", "CustomerTenantId",
    "CustomerTpid", "CustomerSegment", "CustomerMarket", "IndustryName", "VerticalName", "EOU", "MPNID",
    "PartnerName", "PartnerLocation", "PartnerAttributionType", "PartnerHierarchy", "PaidAvailableUnits",
    "MonthlyActiveUsers", "AATPActiveUsage", "MCASActiveUsage", "AADPPaidAvailableUnits",
    "IntunePaidAvailableUnits", "AzipPaidAvailableUnits", "AADPMonthlyActiveUsers", "IntuneMonthlyActiveUsers",
    "AzipMonthlyActiveUsers", "MDM", "MAM", "SSPR",
]  # fmt: skip
INELIGIBLE = [
    "agreementNumber", "compensableUnits", "compensableUnitsAlt", "customerId", "customerIdType", "customerName",
    "earningParticipantId", "earningParticipantIdType", "earningParticipantName", "engagementName",
    "invoiceNumber", "partnerAssociation", "partnerCountryCode", "partnerId", "partnerName", "partnerRole",
    "productId", "productFamily", "reason", "subscriptionId", "transactionAmountUSD", "transactionDate",
    "unearnedId", "quantity", "quantityType", "quantityAlt", "quantityAltType", "resourceID", "solutionArea",
    "workload",
]  # fmt: skip
EARNINGS_DEFAULT = [
    "agreementEndDate", "agreementNumber", "agreementStartDate", "baseline", "baselineType", "bucketSize",
    "calculationDate", "claimId", "compensableUnits", "customerCountry", "customerEmail", "customerName",
    "customerTenantId", "desktopCount", "distributorId", "distributorName", "earningAmount",
    "earningAmountInLastPaymentCurrency", "earningAmountUSD", "earningDate", "earningExchangeRate", "earningId",
    "earningParticipantId", "earningParticipantName", "earningParticipantIdType", "earningRate", "earningType",
    "engagementId", "engagementName", "estimatedPaymentMonth", "exchangeRateDate", "externalReferenceId",
    "externalReferenceIdLabel", "fundCategory", "instantRebateAmount", "invoiceDate", "invoiceNumber",
    "isPrivateOffer", "lastPaymentCurrency", "lever", "LicensingProgramName", "LineItemId", "localProviderSeller",
    "Maturity month", "milestone", "OrderId", "parentProductId", "parentProductName", "participantId",
    "participantIdType", "participantName", "partnerAssociation", "partnerCountryCode", "partnerRole",
    "partNumber", "paymentId", "paymentStatus", "paymentStatusDescription", "productId", "productName",
    "productType", "Program Code", "programName", "purchaseOrderCoverageEndDate",
    "purchaseOrderCoverageStartDate", "purchaseOrderType", "purchaseTypeCode", "purchaseTypeName", "quantity",
    "quantityAlt", "quantityAltType", "quantityType", "reasonCode", "resellerCountry", "resellerId",
    "resellerName", "resourceId", "SkuId", "solutionArea", "storeFee", "subscriptionEndDate", "subscriptionId",
    "subscriptionStartDate", "taxCity", "taxCountry", "taxRemitModel", "taxRemitted", "taxState", "taxZipCode",
    "tpan", "transactionAmount", "transactionAmountUSD", "transactionCountryCode", "transactionCurrency",
    "transactionDate", "transactionExchangeRate", "transactionId", "transactionPaymentMethod", "transactionType",
    "userCount", "workload",
]  # fmt: skip

TRAILING_EMPTY = 2  # Excel-made CSVs often end each line with empty columns


def us_date(day: dt.date) -> str:
    """As Partner Center writes dates in a US download: 3/1/2025 12:00:00 AM."""
    return f"{day.month}/{day.day}/{day.year} 12:00:00 AM"


def grouped(number: int | float) -> str:
    """1234 -> '1,234' (quoted in a comma-separated file, as a download has it)."""
    return f"{number:,}" if isinstance(number, int) else f"{number:,.2f}"


def rows_of(header: Sequence[str], records: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """The header and one row per record (unnamed columns empty), with trailing empty columns."""
    tail = [""] * TRAILING_EMPTY
    body = [[str(r.get(name, "")) for name in header] + tail for r in records]
    return [[*header, *tail], *body]


def delimited(rows: Sequence[Sequence[str]], sep: str) -> str:
    def cell(value: str) -> str:
        return '"' + value.replace('"', '""') + '"' if sep in value or '"' in value else value

    return "".join(sep.join(cell(v) for v in row) + "\r\n" for row in rows)


def write_utf8_bom(path: Path, header: Sequence[str], records: Sequence[Mapping[str, Any]]) -> Path:
    path.write_bytes(codecs.BOM_UTF8 + delimited(rows_of(header, records), ",").encode("utf-8"))
    return path


def write_utf16_tab(path: Path, header: Sequence[str], records: Sequence[Mapping[str, Any]]) -> Path:
    """Excel's "Unicode text": UTF-16 LE with a BOM, tab-separated."""
    path.write_bytes(codecs.BOM_UTF16_LE + delimited(rows_of(header, records), "\t").encode("utf-16-le"))
    return path


def write_xlsx(path: Path, header: Sequence[str], records: Sequence[Mapping[str, Any]]) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(header))
    for record in records:
        ws.append([record.get(name) for name in header])
    wb.save(path)
    return path


# ------------------------------------------------------------------------- Microsoft's side of a workbook


def _next_month_16th(month: str) -> dt.date:
    year, number = int(month[:4]), int(month[5:7])
    return dt.date(year + number // 12, number % 12 + 1, 16)


def microsoft_view(
    ledger: Sequence[Mapping[str, Any]], start: str, end: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The Earnings and Ineligible revenue usage downloads Microsoft might give for an Earnings Ledger's months
    from ``start`` to ``end`` ("YYYY-MM"): mostly what the ledger says, with a few planted differences, chosen
    by each month's place in (tenant, workload, month) order so that they are the same on every machine:
    every 9th paid month Microsoft pays one user fewer, every 13th it has no row for, every 17th it calls
    ineligible (the customer is in the public sector); every 6th unpaid month it pays for its new users anyway. Plus an Azure row in each file, which is not imported."""
    months = sorted(
        (r for r in ledger if start <= str(r["Month"])[:7] <= end),
        key=lambda r: (r["Tenant ID"], r["Workload"], str(r["Month"])),
    )
    earnings: list[dict[str, Any]] = []
    ineligible: list[dict[str, Any]] = []
    paid_seen = unpaid_seen = 0
    for r in months:
        month = str(r["Month"])[:7]
        day = dt.date(int(month[:4]), int(month[5:7]), 1)
        users = int(r["Paid Users"] or 0)
        common = {
            "customerName": r["Customer"], "workload": r["Workload"], "transactionDate": us_date(day),
            "quantity": grouped(int(r["Active Users"])), "quantityType": "MAU",
            "quantityAlt": grouped(int(r["Paid Units"])), "quantityAltType": "PAU",
            "solutionArea": "Modern Work and Security", "engagementName": "Modern Work Usage", "partnerRole": "Use",
        }  # fmt: skip
        rate = float(r["Rate per User"] or 0)
        if users > 0:
            paid_seen += 1
            if paid_seen % 13 == 0:
                continue
            if paid_seen % 17 == 0:
                ineligible.append({**common, "customerId": r["Tenant ID"], "customerIdType": "Tenant ID",
                                   "reason": "CUSPUBSEC", "compensableUnits": grouped(users),
                                   "partnerId": r["Partner ID"], "unearnedId": f"U-{len(ineligible) + 1:05d}"})  # fmt: skip
                continue
            if paid_seen % 9 == 0 and users > 1:
                users -= 1  # Microsoft counted one user fewer
        else:
            unpaid_seen += 1
            if unpaid_seen % 6 != 0:
                ineligible.append({**common, "customerId": r["Tenant ID"], "customerIdType": "Tenant ID",
                                   "reason": r["Reason"], "compensableUnits": grouped(int(r["New Users"] or 0)),
                                   "partnerId": r["Partner ID"], "unearnedId": f"U-{len(ineligible) + 1:05d}"})  # fmt: skip
                continue
            users = int(r["New Users"] or 0)
        amount = round(users * rate, 2)
        earnings.append({**common, "customerTenantId": r["Tenant ID"], "claimId": r["Claim ID"],
                         "compensableUnits": grouped(users), "earningAmount": grouped(amount),
                         "earningAmountUSD": grouped(amount), "transactionCurrency": r["Currency"] or "USD",
                         "earningId": f"E-{len(earnings) + 1:05d}", "earningDate": us_date(_next_month_16th(month)),
                         "paymentStatus": "Sent", "programName": "Microsoft Commerce Incentives"})  # fmt: skip
    azure = {"customerName": "Contoso Group", "workload": "Virtual Machines", "solutionArea": "Azure",
             "engagementName": "Azure Consumption", "transactionDate": us_date(dt.date(int(end[:4]), int(end[5:7]), 1))}  # fmt: skip
    earnings.append({**azure, "customerTenantId": "", "earningAmount": grouped(12.5), "earningId": "E-AZURE"})
    ineligible.append({**azure, "customerId": "12345678", "customerIdType": "TPID", "reason": "IVDMPN"})
    return earnings, ineligible

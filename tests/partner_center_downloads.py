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

"""Partner Center's earnings downloads: the documented columns `import-earnings` reads, and which file is which.

Column names are Partner Center's own, exactly as documented (learn.microsoft.com, pages of 2023-09):
- **Ineligible revenue usage details** (partner-center/earnings/earnings-ineligible-revenue-usage, and the
  Revenue page's "Ineligible revenue usage download", partner-center/earnings/earnings-revenue): customerId,
  customerIdType, customerName, workload, transactionDate, quantity, quantityType, quantityAlt,
  quantityAltType, compensableUnits, reason, partnerId, engagementName, solutionArea, unearnedId, ...
- **Earnings** (the Default report, partner-center/earnings/earnings-default): customerTenantId, customerName,
  workload, transactionDate, quantity, quantityType, quantityAlt, quantityAltType, compensableUnits, claimId,
  earningAmount, earningAmountUSD, transactionCurrency, earningId, engagementName, solutionArea, ...
For Modern Work usage, quantity is the monthly active users (quantityType MAU) and quantityAlt the paid
available units (quantityAltType PAU); compensableUnits = paid seats at month end - prior high-water mark.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cpor_excel.model.headers import fold_header

INELIGIBLE_REPORT = "Ineligible revenue usage details"
EARNINGS_REPORT = "Earnings report"

#: the field the import reads -> Partner Center's column names for it (first found wins)
FIELDS: dict[str, tuple[str, ...]] = {
    "Tenant ID": ("customerTenantId", "customerId"),
    "Customer ID Type": ("customerIdType",),
    "Customer": ("customerName",),
    "Workload": ("workload",),
    "Transaction Date": ("transactionDate",),
    "Quantity": ("quantity",),
    "Quantity Type": ("quantityType",),
    "Quantity Alt": ("quantityAlt",),
    "Quantity Alt Type": ("quantityAltType",),
    "Compensable Units": ("compensableUnits",),
    "Reason": ("reason",),
    "Partner ID": ("partnerId",),
    "Claim ID": ("claimId",),
    "Amount": ("earningAmount",),
    "Amount USD": ("earningAmountUSD",),
    "Currency": ("transactionCurrency",),
    "Engagement": ("engagementName",),
    "Solution Area": ("solutionArea",),
    "Earning ID": ("earningId",),
    "Unearned ID": ("unearnedId",),
}
_NAMES: dict[str, str] = {fold_header(name): field for field, names in FIELDS.items() for name in names}
_REQUIRED = ("Tenant ID", "Workload", "Transaction Date")
_EARNING = ("Amount", "Amount USD", "Earning ID")

LOOKED_FOR = (
    "customerId, workload, transactionDate and reason (Ineligible revenue usage details), or customerTenantId, "
    "workload, transactionDate and earningAmount, earningAmountUSD or earningId (Earnings report)"
)


@dataclass(frozen=True)
class Layout:
    kind: str  # INELIGIBLE_REPORT or EARNINGS_REPORT
    positions: dict[str, int]  # field -> 0-based column
    score: int


def layout_of(header: Sequence[Any]) -> Layout | None:
    """Which earnings download a header row is, or None when it is neither."""
    positions: dict[str, int] = {}
    for index, cell in enumerate(header):
        if cell is None or str(cell).strip() == "":
            continue
        field = _NAMES.get(fold_header(cell))
        if field and field not in positions:
            positions[field] = index
    if not set(_REQUIRED) <= set(positions):
        return None
    if any(f in positions for f in _EARNING):
        return Layout(EARNINGS_REPORT, positions, len(positions))
    if "Reason" in positions:
        return Layout(INELIGIBLE_REPORT, positions, len(positions))
    return None


def header_score(header: Sequence[Any]) -> int | None:
    found = layout_of(header)
    return None if found is None else found.score

"""Which Partner Center usage report a header row is, and where its columns are.

Column names are Partner Center's own, as documented in "Cloud product performance reports - Data
definitions" (learn.microsoft.com/partner-center/insights/insights-data-definitions, 2023-08):
- **Office 365 license usage report**: CustomerTenantId, WorkloadName, Month, PaidAvailableUnits,
  MonthlyActiveUsers, CustomerName, CustomerMarket, ... IsDuplicateRowForPGA;
- **CPOR-M365 usage report**: CustomerTenantId, CustomerName, WorkloadName, MonthlyActiveUsers,
  PaidAvailableUnits, ClaimId, MpnId, DateAssociated, PartnerAttributionType, Date ("first of month and year
  for which the data is exported": the month);
- **Enterprise Mobility license usage report** (wide): CustomerTenantId, Month, CustomerName, CustomerMarket and
  one column pair per workload, AADPPaidAvailableUnits/AADPMonthlyActiveUsers, IntunePaidAvailableUnits/
  IntuneMonthlyActiveUsers, AzipPaidAvailableUnits/AzipMonthlyActiveUsers (its PaidAvailableUnits and
  MonthlyActiveUsers are the EMS suite's, not a workload's, and are not read).
A header in the Usage sheet's own names (Tenant ID, Workload, Month, ...) is read too: a "usage table".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cpor_excel.model.headers import fold_header
from cpor_excel.usage_import.columns import HEADER_NAMES, KEY

OFFICE_365 = "Office 365 license usage report"
CPOR_M365 = "CPOR-M365 usage report"
ENTERPRISE_MOBILITY = "Enterprise Mobility license usage report"
USAGE_TABLE = "usage table"

# Import-only columns (canonical name -> Partner Center's names); nothing of them is written to the workbook.
CLAIM_ID, PARTNER_ID, DATE_ASSOCIATED, DUPLICATE_FLAG = (
    "Claim ID", "Partner ID", "Date Associated", "Duplicate Row",
)  # fmt: skip
EXTRA_NAMES: dict[str, tuple[str, ...]] = {
    CLAIM_ID: ("ClaimId",),
    PARTNER_ID: ("MpnId",),
    DATE_ASSOCIATED: ("DateAssociated",),
    DUPLICATE_FLAG: ("IsDuplicateRowForPGA",),
}
DATE = "Date"  # the CPOR-M365 report's month column

#: Enterprise Mobility column-pair prefix -> catalogue workload
MOBILITY_PAIRS: dict[str, str] = {
    "AADP": "Microsoft Entra ID P1/P2",
    "Intune": "Microsoft Intune",
    "Azip": "Microsoft Purview Information Protection",
}
_PAIR_COUNTS = {"Paid Units": "PaidAvailableUnits", "Active Users": "MonthlyActiveUsers"}


def _names() -> dict[str, str]:
    names = dict(HEADER_NAMES)
    for canonical, aliases in EXTRA_NAMES.items():
        for alias in aliases:
            names.setdefault(fold_header(alias), canonical)
    names.setdefault(fold_header(DATE), DATE)
    for prefix in MOBILITY_PAIRS:
        for count, suffix in _PAIR_COUNTS.items():
            names[fold_header(prefix + suffix)] = f"{prefix} {count}"
    return names


NAMES = _names()
_PARTNER_CENTER_WORKLOAD = fold_header("WorkloadName")


@dataclass(frozen=True)
class Layout:
    """A recognised header: the report's kind and where its columns are (0-based)."""

    kind: str
    positions: dict[str, int]  # canonical column -> position (Month also when the file calls it Date)
    pairs: dict[str, tuple[int, int]] = field(default_factory=dict)  # workload -> (Paid Units, Active Users)
    score: int = 0  # how many columns of the header were recognised

    @property
    def wide(self) -> bool:
        return bool(self.pairs)


def layout_of(header: Sequence[Any]) -> Layout | None:
    """The report a header row is, or None when it is no usage report's header."""
    positions: dict[str, int] = {}
    texts: dict[str, str] = {}
    for index, cell in enumerate(header):
        if cell is None or str(cell).strip() == "":
            continue
        canonical = NAMES.get(fold_header(cell))
        if canonical and canonical not in positions:
            positions[canonical] = index
            texts[canonical] = fold_header(cell)
    if "Month" not in positions and DATE in positions:
        positions["Month"] = positions[DATE]
    score = len(positions)
    if "Workload" in positions:
        if not set(KEY) <= set(positions):
            return None
        if CLAIM_ID in positions:
            kind = CPOR_M365
        elif texts["Workload"] == _PARTNER_CENTER_WORKLOAD:
            kind = OFFICE_365
        else:
            kind = USAGE_TABLE
        return Layout(kind, positions, score=score)
    pairs = {
        workload: (positions[f"{prefix} Paid Units"], positions[f"{prefix} Active Users"])
        for prefix, workload in MOBILITY_PAIRS.items()
        if f"{prefix} Paid Units" in positions and f"{prefix} Active Users" in positions
    }
    if pairs and {"Tenant ID", "Month"} <= set(positions):
        return Layout(ENTERPRISE_MOBILITY, positions, pairs, score)
    return None


def header_score(header: Sequence[Any]) -> int | None:
    found = layout_of(header)
    return None if found is None else found.score


LOOKED_FOR = (
    "CustomerTenantId, WorkloadName, Month, MonthlyActiveUsers and PaidAvailableUnits (Office 365 license "
    "usage report), CustomerTenantId, WorkloadName, Date, MonthlyActiveUsers, PaidAvailableUnits and ClaimId "
    "(CPOR-M365 usage report), or CustomerTenantId, Month and "
    + ", ".join(f"{p}PaidAvailableUnits/{p}MonthlyActiveUsers" for p in MOBILITY_PAIRS)
    + " (Enterprise Mobility license usage report)"
)

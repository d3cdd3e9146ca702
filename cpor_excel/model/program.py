"""Program settings and the milestone table. No program figure is invented here: the real ones come
from the workbook's Settings and Milestones sheets (DOMAIN.md "Usage and milestones")."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Settings:
    minimum_paid_units: int = 150  # FY21-22, FastTrack ideas board (DOMAIN.md)
    consent_window_business_days: int = 5  # FY20-21 submit page (DOMAIN.md)
    poe_max_age_months: int = 12  # Microsoft POE template (DOMAIN.md)
    milestone_window_months: int | None = None  # not public: none unless the workbook sets one
    # From FY24 (DOMAIN "From FY24"); the defaults keep a workbook that sets none of them as before
    high_water_mark_from: dt.date | None = None  # first month paid above the high-water mark; None: never
    consent_window_starts: str = "Submitted"  # or "Approved": what the consent window counts from
    poe_refresh_months: int = 11  # an approved claim's POE this old is worth refreshing (`poe-refresh`)


#: Settings sheet row name -> Settings field
SETTING_NAMES: dict[str, str] = {
    "Minimum Paid Units": "minimum_paid_units",
    "Consent Window Business Days": "consent_window_business_days",
    "POE Max Age Months": "poe_max_age_months",
    "Milestone Window Months": "milestone_window_months",
    "High-Water Mark From": "high_water_mark_from",
    "Consent Window Starts": "consent_window_starts",
    "POE Refresh Months": "poe_refresh_months",
}
#: what the consent window may count from (Consent Window Starts)
CONSENT_ANCHORS = ("Submitted", "Approved")
#: the month Microsoft began paying Modern Work usage above the high-water mark (DOMAIN "From FY24")
HWM_START = "2023-10"

#: Column order of a milestone table frame (the Milestones sheet, canonical names).
MILESTONE_COLUMNS = (
    "Workload", "Bucket", "Min Paid Units", "Max Paid Units", "Milestone", "Active Usage %", "Payment",
    "Currency", "Max Usage % At Claim",
)  # fmt: skip


#: Column order of a rate card frame (the Rate Card sheet, canonical names). Microsoft does not publish these
#: figures (DOMAIN "From FY24"): they come from the partner's incentive guide.
RATE_CARD_COLUMNS = (
    "Workload", "Rate per User", "Currency", "Min New Users", "Max Paid Users", "Time Cap Months",
)  # fmt: skip


def example_milestones() -> pd.DataFrame:
    """An EXAMPLE table, used only when the workbook has no Milestones sheet (finding `example-program`).

    The bucket names XXS/Small/Medium and the 20% XXS gate are public (DOMAIN.md); the seat ranges and
    thresholds below are illustrative, not Microsoft's, and carry no payment amounts.
    """
    nan = float("nan")
    rows = [
        ("*", "XXS", 150, 299, "M1", 0.20, nan, "", 0.20),
        ("*", "XXS", 150, 299, "M2", 0.50, nan, "", 0.20),
        ("*", "Small", 300, 999, "M1", 0.15, nan, "", nan),
        ("*", "Small", 300, 999, "M2", 0.35, nan, "", nan),
        ("*", "Small", 300, 999, "M3", 0.50, nan, "", nan),
        ("*", "Medium", 1000, nan, "M1", 0.10, nan, "", nan),
        ("*", "Medium", 1000, nan, "M2", 0.25, nan, "", nan),
        ("*", "Medium", 1000, nan, "M3", 0.40, nan, "", nan),
        ("*", "Medium", 1000, nan, "M4", 0.60, nan, "", nan),
    ]
    frame = pd.DataFrame(rows, columns=list(MILESTONE_COLUMNS))
    frame.index = pd.RangeIndex(2, 2 + len(frame))
    return frame

"""The customer's window to decline a submitted claim (DOMAIN "Customer consent").

Microsoft has described the window as 5 business days from submission, 7 days after approval, and "any
time"; the tool takes the length from the partner's Consent Window Business Days setting and reports it
as the partner's own planning window, never as a Microsoft guarantee. Pure.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from cpor_excel.model.findings import Finding, findings_for_rows
from cpor_excel.model.program import Settings
from cpor_excel.rules.conflicts import live_mask
from cpor_excel.rules.poe_dates import day_array, text_array

SHEET = "Associations"


def window_ends(submitted: np.ndarray, business_days: int) -> np.ndarray:
    """Submitted + N business days (Monday to Friday), datetime64[D]; NaT stays NaT.

    A claim submitted on a weekend starts counting on Monday: Saturday + 5 business days is the Friday
    after, the same as the Friday before + 5.
    """
    ends = np.busday_offset(submitted, max(business_days, 0), roll="backward")
    return np.where(ends < submitted, submitted, ends)


def consent_windows(
    associations: pd.DataFrame, settings: Settings, as_of: dt.date
) -> tuple[list[Finding], pd.Series]:
    """The Consent Window Ends date of every association row (datetime64, NaT without Submitted), and
    `consent-window-open` (info) on rows that are live and whose window is still open on ``as_of``.

    Draft, Rejected and ended rows get the date but no finding: their customer has nothing left to decline.
    """
    submitted = day_array(associations, "Submitted")
    days = settings.consent_window_business_days
    ends = window_ends(submitted, days)
    series = pd.Series(ends.astype("datetime64[ns]"), index=associations.index, name="Consent Window Ends")
    if associations.empty:
        return [], series
    today = np.datetime64(as_of, "D")
    open_now = live_mask(associations, as_of) & (submitted <= today) & (today <= ends)
    iso_end = np.datetime_as_string(ends[open_now], unit="D")
    iso_sub = np.datetime_as_string(submitted[open_now], unit="D")
    messages = [
        f"The customer may still decline until {e} (submitted {s} + {days} business days, the partner's "
        "Consent Window Business Days setting; a planning window, not a Microsoft guarantee): wait for it "
        "before relying on the association."
        for e, s in zip(iso_end, iso_sub, strict=True)
    ]
    claim_ids = text_array(associations, "Claim ID")[open_now]
    found = findings_for_rows(
        "consent-window-open",
        SHEET,
        associations.index.to_numpy()[open_now],
        messages,
        "Submitted",
        claim_ids,
    )
    return found, series

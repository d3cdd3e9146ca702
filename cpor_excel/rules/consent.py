"""The customer's window to decline a claim (DOMAIN "Customer consent" and "From FY24").

Microsoft has described the window as 5 business days from submission, 7 days after approval, and "any
time"; current pages give the customer the chance to deny after approval. The tool counts the window from the
date the Consent Window Starts setting names (Submitted, the default, or Approved), takes the length from the
partner's Consent Window Business Days setting, and reports it as the partner's own planning window, never
as a Microsoft guarantee: the customer may decline at any time. Pure.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from cpor_excel.model.findings import Finding, findings_for_rows
from cpor_excel.model.program import Settings
from cpor_excel.rules.arrays import day_array, text_array
from cpor_excel.rules.conflicts import live_mask

SHEET = "Associations"


def window_ends(submitted: np.ndarray, business_days: int) -> np.ndarray:
    """Submitted + N business days (Monday to Friday), datetime64[D]; NaT stays NaT.

    A claim submitted on a weekend starts counting on Monday: Saturday + 5 business days is the Friday
    after, the same as the Friday before + 5.
    """
    ends = np.busday_offset(submitted, max(business_days, 0), roll="backward")
    return np.where(ends < submitted, submitted, ends)


def window_anchor(settings: Settings) -> str:
    """The Associations column the consent window counts from: "Submitted" or "Approved"."""
    return "Approved" if settings.consent_window_starts == "Approved" else "Submitted"


def consent_windows(
    associations: pd.DataFrame, settings: Settings, as_of: dt.date
) -> tuple[list[Finding], pd.Series]:
    """The Consent Window Ends date of every association row (datetime64, NaT without the anchor date: Submitted
    or Approved, per Consent Window Starts), and `consent-window-open` (info) on rows that are live and whose
    window is still open on ``as_of``.

    Draft, Rejected and ended rows get the date but no finding: their customer has nothing left to decline.
    """
    anchor = window_anchor(settings)
    submitted = day_array(associations, anchor)
    days = settings.consent_window_business_days
    ends = window_ends(submitted, days)
    series = pd.Series(ends.astype("datetime64[ns]"), index=associations.index, name="Consent Window Ends")
    if associations.empty:
        return [], series
    today = np.datetime64(as_of, "D")
    open_now = live_mask(associations, as_of) & (submitted <= today) & (today <= ends)
    iso_end = np.datetime_as_string(ends[open_now], unit="D")
    iso_sub = np.datetime_as_string(submitted[open_now], unit="D")
    word = anchor.lower()
    messages = [
        f"The customer's window to decline runs until {e} ({word} {s} + {days} business days, the partner's "
        "Consent Window Business Days setting; a planning window, not a Microsoft guarantee: the customer may "
        "decline at any time): wait for it before relying on the association."
        for e, s in zip(iso_end, iso_sub, strict=True)
    ]
    claim_ids = text_array(associations, "Claim ID")[open_now]
    found = findings_for_rows(
        "consent-window-open",
        SHEET,
        associations.index.to_numpy()[open_now],
        messages,
        anchor,
        claim_ids,
    )
    return found, series

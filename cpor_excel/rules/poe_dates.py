"""The proof of execution (POE) and the dates of a claim's life: Created, Submitted, Approved, Ended.

Reviewers send a claim back when the POE is missing, undated or old (DOMAIN "Proof of execution"), and the
conflict and milestone rules read these dates, so a date in the wrong column or a status that was not
updated changes what the tool decides. Pure: frames and an explicit as-of date in, findings out.

Status against dates (``status-date-mismatch``), decided here:
- a status from Submitted on (Submitted ... Rejected final) needs a Submitted date;
- Approved needs an Approved date;
- a Draft with a Submitted date, and a claim that is not yet decided (Draft, Submitted, Under review,
  Partner action required) with an Approved date, contradict their dates: the finding is on Status;
- an Approved date under Rejected, Rejected final or Dispute is normal (the customer declined after
  approval, or the partner disassociated), and so is an Ended date under any status: Ended decides when an
  association stops being live, so a status not yet updated after an end is not an error;
- Rejected without an Ended date is accepted (Ended is an optional column; a rejected claim is never live).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from cpor_excel.model.catalogue import SUBMITTED_STATUSES
from cpor_excel.model.findings import Finding, findings_for_rows
from cpor_excel.model.program import Settings
from cpor_excel.rules.arrays import day_array, text_array

SHEET = "Associations"
#: the order a claim's dates must follow
DATE_ORDER = ("Created", "Submitted", "Approved", "Ended")
DATE_COLUMNS = ("Created", "POE Signed", "Submitted", "Approved", "Ended", "Status Changed")
#: statuses under which a claim has not been decided yet, so an Approved date contradicts them
UNDECIDED_STATUSES = frozenset({"Draft", "Submitted", "Under review", "Partner action required"})


def check_poe_and_dates(associations: pd.DataFrame, settings: Settings, as_of: dt.date) -> list[Finding]:
    """POE findings (poe-missing, poe-too-old, poe-after-submission) and date findings (date-order,
    status-date-mismatch, future-date) for every Associations row. Invalid cells (NaT/None) are skipped."""
    if associations.empty:
        return []
    days = {c: day_array(associations, c) for c in DATE_COLUMNS}
    status = text_array(associations, "Status")
    claim_ids = text_array(associations, "Claim ID")
    rows = associations.index.to_numpy()
    found: list[Finding] = []

    def add(code: str, mask: np.ndarray, column: str, messages: list[str]) -> None:
        found.extend(findings_for_rows(code, SHEET, rows[mask], messages, column, claim_ids[mask]))

    poe, submitted = days["POE Signed"], days["Submitted"]
    known = pd.notna(status)
    # ----- POE
    mask = known & (status != "Draft") & np.isnat(poe)
    add(
        "poe-missing",
        mask,
        "POE Signed",
        [
            f"The claim is {s} but has no POE Signed date; enter the date the customer signed the proof "
            "of execution."
            for s in status[mask]
        ],
    )
    months = settings.poe_max_age_months
    mask = poe < months_before(submitted, months)
    add(
        "poe-too-old",
        mask,
        "POE Signed",
        [
            f"The POE was signed on {p}, more than {months} months before the claim was submitted on {s}; "
            f"Microsoft asks for a customer acknowledgement dated within {months} months: get a newly "
            "signed POE."
            for p, s in zip(_iso(poe[mask]), _iso(submitted[mask]), strict=True)
        ],
    )
    mask = poe > submitted
    add(
        "poe-after-submission",
        mask,
        "POE Signed",
        [
            f"The POE was signed on {p}, after the claim was submitted on {s}; a claim is submitted with "
            "its signed POE: check both dates."
            for p, s in zip(_iso(poe[mask]), _iso(submitted[mask]), strict=True)
        ],
    )
    # ----- order: each date against every earlier one; the finding is on the later column
    for j, later in enumerate(DATE_ORDER[1:], start=1):
        blamed = np.full(len(rows), "", dtype=object)
        blamed_day = np.full(len(rows), np.datetime64("NaT"), dtype="datetime64[D]")
        for earlier in reversed(DATE_ORDER[:j]):  # the nearest earlier date names the message
            bad = days[earlier] > days[later]
            blamed[bad] = earlier
            blamed_day[bad] = days[earlier][bad]
        mask = blamed != ""
        add(
            "date-order",
            mask,
            later,
            [
                f"{later} {x} is before {e} {y}; the dates must run Created <= Submitted <= Approved <= "
                "Ended: correct the one that is wrong."
                for x, e, y in zip(_iso(days[later][mask]), blamed[mask], _iso(blamed_day[mask]), strict=True)
            ],
        )
    # ----- a status changes after the claim is created
    mask = days["Status Changed"] < days["Created"]
    add(
        "date-order",
        mask,
        "Status Changed",
        [
            f"Status Changed {x} is before Created {y}; a claim's status changes after it is created: correct "
            "the one that is wrong."
            for x, y in zip(_iso(days["Status Changed"][mask]), _iso(days["Created"][mask]), strict=True)
        ],
    )
    # ----- status against dates
    needs_submitted = np.isin(status, list(SUBMITTED_STATUSES))
    mask = needs_submitted & np.isnat(submitted)
    add(
        "status-date-mismatch",
        mask,
        "Submitted",
        [f"Status {s} needs a Submitted date; enter the day the claim was submitted." for s in status[mask]],
    )
    approved = days["Approved"]
    mask = (status == "Approved") & np.isnat(approved)
    add(
        "status-date-mismatch",
        mask,
        "Approved",
        ["Status Approved needs an Approved date; enter the day Partner Center approved the claim."]
        * int(mask.sum()),
    )
    mask = (status == "Draft") & ~np.isnat(submitted)
    add(
        "status-date-mismatch",
        mask,
        "Status",
        [
            f"Status Draft but Submitted is {s}; a draft has not been submitted: update the status or "
            "clear the date."
            for s in _iso(submitted[mask])
        ],
    )
    mask = np.isin(status, list(UNDECIDED_STATUSES)) & ~np.isnat(approved)
    add(
        "status-date-mismatch",
        mask,
        "Status",
        [
            f"Status {s} but Approved is {a}; update the status to Approved or clear the date."
            for s, a in zip(status[mask], _iso(approved[mask]), strict=True)
        ],
    )
    # ----- dates after the as-of date
    today = np.datetime64(as_of, "D")
    for column in DATE_COLUMNS:
        mask = days[column] > today
        add(
            "future-date",
            mask,
            column,
            [
                f"{column} {d} is after the as-of date {as_of.isoformat()}; check the date, or run with "
                "a later --as-of."
                for d in _iso(days[column][mask])
            ],
        )
    order = {c: i for i, c in enumerate(("Status", *DATE_COLUMNS))}
    found.sort(key=lambda f: (f.row or 0, order.get(f.column or "", 99), f.code))
    return found


def months_before(days: np.ndarray, months: int) -> np.ndarray:
    """Calendar months back, the day clamped to the month's end (2025-03-31 minus 1 month = 2025-02-28)."""
    return shift_months(days, -months)[0]


def shift_months(days: np.ndarray, months: int) -> tuple[np.ndarray, np.ndarray]:
    """Days (datetime64[D]) moved by calendar months, as pandas' ``DateOffset(months=...)`` moves them: the
    day of the month kept, or clamped to the month's end when that month is shorter (NaT stays NaT); and
    where it was clamped. In numpy: pandas' offsets cost a Series and a pass per call."""
    days = days.astype("datetime64[D]")
    start = days.astype("datetime64[M]")
    day = days - start.astype("datetime64[D]")
    month = start + np.timedelta64(months, "M")
    first = month.astype("datetime64[D]")
    last = (month + np.timedelta64(1, "M")).astype("datetime64[D]") - np.timedelta64(1, "D")
    shifted = np.minimum(first + day, last)  # (NaT in, NaT out)
    return shifted, shifted - first != day


def _iso(days: np.ndarray) -> list[str]:
    return [str(d) for d in np.datetime_as_string(days, unit="D")]

"""The claim lifecycle as Partner Center runs it (SPEC "The claim lifecycle", DOMAIN "From FY24"): the dates by
which the partner must act, or after which it should ask, for each claim row.

Partners lose claims to deadlines they do not see: an unanswered "Partner action required" is rejected after 14
business days, a rejection can be disputed only once and only within 30 days, and in a conflict Microsoft
reviews the most recent POE. Business days are Monday to Friday (a status change on a weekend counts from the
Monday, as the consent window does). Every date a message names is the exact deadline, and the same date is
the row's Next Deadline. Pure: frames and an explicit as-of date in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cpor_excel.model.catalogue import CUSTOMER_DECLINED
from cpor_excel.model.findings import Finding, findings_for_rows
from cpor_excel.model.program import Settings
from cpor_excel.rules.arrays import day_array, text_array
from cpor_excel.rules.consent import window_ends
from cpor_excel.rules.poe_dates import shift_months

SHEET = "Associations"
#: Microsoft's review targets in business days (incentives-manage-customer-associations, 2023-10)
REVIEW_DAYS = {"Submitted": 5, "Under review": 14}
ACTION_DAYS = 14  # Partner action required: answered within this many business days, or rejected
DISPUTE_DAYS = 30  # calendar days to dispute a rejection, once


@dataclass
class DeadlineResult:
    findings: list[Finding]
    #: per association row: the date that matters next (datetime64; NaT when none). A date that has passed
    #: stays while the row is overdue.
    next_deadline: pd.Series


def evaluate_deadlines(associations: pd.DataFrame, settings: Settings, as_of: dt.date) -> DeadlineResult:
    """`review-overdue`, `action-required`, `action-required-overdue`, `dispute-window-open` and `poe-refresh`,
    and the Next Deadline of every row."""
    n = len(associations)
    deadline = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    if n == 0:
        return DeadlineResult([], _series(deadline, associations.index))
    today = np.datetime64(as_of, "D")
    status = text_array(associations, "Status")
    submitted = day_array(associations, "Submitted")
    changed = day_array(associations, "Status Changed")
    # without Status Changed, the status cannot have changed before the claim was submitted: the earliest
    # (so the safest) reading
    since = np.where(np.isnat(changed), submitted, changed)
    since_word = np.where(np.isnat(changed), "submitted", "status changed")
    rows, claims = associations.index.to_numpy(), text_array(associations, "Claim ID")
    found: list[Finding] = []
    keys: list[tuple[np.ndarray, str, str]] = []  # each add's rows, column and code: the findings' order

    def add(code: str, mask: np.ndarray, column: str, messages: list[str]) -> None:
        found.extend(findings_for_rows(code, SHEET, rows[mask], messages, column, claims[mask]))
        keys.append((rows[mask], column, code))

    # ----- waiting for Microsoft
    for name, days in REVIEW_DAYS.items():
        start = submitted if name == "Submitted" else since
        waiting = status == name
        ends = window_ends(start, days)
        deadline[waiting] = ends[waiting]
        late = waiting & (today > ends)
        add(
            "review-overdue",
            late,
            "Status",
            [
                f"{name} since {s} ({w}); Microsoft's review target of {days} business days ended on "
                f"{e} and the claim is still not decided: ask Microsoft through the claim's comments in "
                "Partner Center."
                for s, w, e in zip(
                    _isos(start[late]), _words(name, since_word)[late], _isos(ends[late]), strict=True
                )
            ],
        )
    # ----- waiting for the partner
    asked = status == "Partner action required"
    answer_by = window_ends(since, ACTION_DAYS)
    deadline[asked] = answer_by[asked]
    due = asked & (today <= answer_by)
    add(
        "action-required",
        due,
        "Status",
        [
            f"Microsoft asked for partner action on {s} ({w}): answer in Partner Center by {e} "
            f"({ACTION_DAYS} business days), or Microsoft rejects the claim."
            for s, w, e in zip(_isos(since[due]), since_word[due], _isos(answer_by[due]), strict=True)
        ],
    )
    late = asked & (today > answer_by)
    add(
        "action-required-overdue",
        late,
        "Status",
        [
            f"Microsoft asked for partner action on {s} ({w}) and the answer was due by {e} "
            f"({ACTION_DAYS} business days): Microsoft rejects unanswered claims, so answer now and check the "
            "claim's status in Partner Center."
            for s, w, e in zip(_isos(since[late]), since_word[late], _isos(answer_by[late]), strict=True)
        ],
    )
    # ----- a rejection can be disputed once, within 30 days
    reason = text_array(associations, "Rejection Reason")
    rejected_on = np.where(np.isnat(changed), day_array(associations, "Ended"), changed)
    dispute_by = rejected_on + np.timedelta64(DISPUTE_DAYS, "D")
    open_ = (
        (status == "Rejected")
        & (reason != CUSTOMER_DECLINED)
        & (rejected_on <= today)
        & (today <= dispute_by)
    )
    deadline[open_] = dispute_by[open_]
    add(
        "dispute-window-open",
        open_,
        "Status",
        [
            f"Rejected on {r} ({'no reason given' if why is None else why}): the rejection can be disputed "
            f"once, until {e} ({DISPUTE_DAYS} days); dispute it in Partner Center if you can answer the "
            "reason."
            for r, why, e in zip(
                _isos(rejected_on[open_]), reason[open_], _isos(dispute_by[open_]), strict=True
            )
        ],
    )
    # ----- an approved claim's POE ages: in a conflict the most recent POE wins
    poe = day_array(associations, "POE Signed")
    ended = day_array(associations, "Ended")
    months = settings.poe_refresh_months
    refresh_on = refresh_dates(poe, months)
    live = (status == "Approved") & ~np.isnat(poe) & ~(ended <= today)  # NaT compares False: no Ended, live
    deadline[live] = refresh_on[live]
    old = live & (refresh_on <= today)
    add(
        "poe-refresh",
        old,
        "POE Signed",
        [
            f"The POE was signed on {p} and is due for renewal since {r}, {months} months later (POE "
            "Refresh Months): "
            "in a conflict Microsoft reviews the most recent POE, so ask the customer to sign a new one."
            for p, r in zip(_isos(poe[old]), _isos(refresh_on[old]), strict=True)
        ],
    )
    found = [found[at] for at in _order(keys)]
    return DeadlineResult(found, _series(deadline, associations.index))


def _order(keys: list[tuple[np.ndarray, str, str]]) -> list[int]:
    """The findings added (``keys``: each add's rows, column and code) by row, then Status before POE
    Signed, then code, each add's in the order made: the order of a stable sort by those, found with numpy
    (a messy workbook has 45,000 of them)."""
    columns = {"Status": 0, "POE Signed": 1}
    codes = {code: rank for rank, code in enumerate(sorted({code for _, _, code in keys}))}
    none = np.zeros(0, dtype=np.int64)
    row = np.concatenate([none, *(rows.astype(np.int64) for rows, _, _ in keys)])
    column = np.concatenate([none, *(np.full(len(rows), columns.get(name, 9)) for rows, name, _ in keys)])
    code = np.concatenate([none, *(np.full(len(rows), codes[name]) for rows, _, name in keys)])
    return np.lexsort((code, column, row)).tolist()


def refresh_dates(poe: np.ndarray, months: int) -> np.ndarray:
    """The first day on which a POE signed on ``poe`` is ``months`` months old or more, that is the first as-of
    date d with poe <= d - months (``poe_dates.months_before``): poe + months, or, when that month is too short
    for the day (31 March + 11 months), the first of the month after."""
    days, clamped = shift_months(poe, max(months, 0))
    return np.where(clamped, days + np.timedelta64(1, "D"), days)


def _words(name: str, since_word: np.ndarray) -> np.ndarray:
    """What the review clock of ``name`` counts from, per row."""
    if name == "Submitted":
        return np.full(len(since_word), "submitted", dtype=object)
    return since_word


def _series(days: np.ndarray, index: pd.Index) -> pd.Series:
    return pd.Series(days.astype("datetime64[ns]"), index=index, name="Next Deadline")


def _isos(days: np.ndarray) -> list[str]:
    """Days as ISO text, all at once (one by one costs 5 us a day: a messy workbook has 90,000)."""
    texts: list[str] = np.datetime_as_string(days, unit="D").tolist()
    return texts

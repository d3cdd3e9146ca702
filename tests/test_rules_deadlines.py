"""The claim lifecycle: each deadline code with its exact date, around weekends and month ends (dates worked out
on the calendar in the comments), the Next Deadline column, and the incentive codes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rules_frames import association, associations, keys

from cpor_excel.model.program import Settings
from cpor_excel.rules.deadlines import evaluate_deadlines, refresh_dates
from cpor_excel.rules.incentives import incentive_findings, incentivised
from cpor_excel.rules.poe_dates import months_before

A = "Associations"
EARLY = dict(created="2024-01-02", poe="2024-06-03", submitted="2024-06-10", approved=None)


def run(row: dict[str, Any], as_of: str, settings: Settings | None = None) -> tuple[set[Any], str, list[str]]:
    frame = associations([association("C-1", **{**EARLY, **row})])
    result = evaluate_deadlines(frame, settings or Settings(), dt.date.fromisoformat(as_of))
    (deadline,) = result.next_deadline.tolist()
    return (
        keys(result.findings),
        "" if deadline is None or deadline != deadline else str(deadline.date()),
        [f.message for f in result.findings],
    )


CASES: list[Any] = [
    # id, row, as-of, expected finding code (or None), Next Deadline
    # Submitted Friday 2025-01-24 + 5 business days = Friday 2025-01-31 (a month end); overdue from Saturday
    ("submitted-on-time", dict(status="Submitted", submitted="2025-01-24"), "2025-01-31", None, "2025-01-31"),
    ("submitted-overdue", dict(status="Submitted", submitted="2025-01-24"), "2025-02-01", "review-overdue",
     "2025-01-31"),
    # Submitted on Saturday 2025-02-22: Monday 24 is business day 1, Friday 28 day 5
    ("submitted-on-a-saturday", dict(status="Submitted", submitted="2025-02-22"), "2025-02-28", None,
     "2025-02-28"),
    ("submitted-on-a-saturday-late", dict(status="Submitted", submitted="2025-02-22"), "2025-03-03",
     "review-overdue", "2025-02-28"),
    # Under review since Thursday 2025-02-13 + 14 business days: Fri 14, 17-21, 24-28, Mon 3, Tue 4, Wed 5 March
    ("under-review-on-time", {"status": "Under review", "submitted": "2025-02-06", "Status Changed": "2025-02-13"},
     "2025-03-05", None, "2025-03-05"),
    ("under-review-overdue", {"status": "Under review", "submitted": "2025-02-06", "Status Changed": "2025-02-13"},
     "2025-03-06", "review-overdue", "2025-03-05"),
    # Partner action required since Monday 2025-03-17 + 14: 18-21, 24-28, Mon 31, Apr 1, 2, 3, Fri 4
    ("action-required", {"status": "Partner action required", "submitted": "2025-03-03",
                         "Status Changed": "2025-03-17"}, "2025-04-04", "action-required", "2025-04-04"),
    ("action-required-overdue", {"status": "Partner action required", "submitted": "2025-03-03",
                                 "Status Changed": "2025-03-17"}, "2025-04-05", "action-required-overdue",
     "2025-04-04"),
    # asked on Sunday 2025-05-18: counted from Monday 19 (day 1) to Thursday 2025-06-05 (day 14)
    ("action-required-asked-on-a-sunday", {"status": "Partner action required", "submitted": "2025-05-02",
                                           "Status Changed": "2025-05-18"}, "2025-06-05", "action-required",
     "2025-06-05"),
    # without Status Changed the clock runs from Submitted, Friday 2025-01-24: 27-31 Jan, 3-7, 10-13 Feb
    ("action-required-from-submitted", dict(status="Partner action required", submitted="2025-01-24"),
     "2025-02-14", "action-required-overdue", "2025-02-13"),
    # rejected on Friday 2025-01-31 + 30 days: 28 in February, then 1 and 2 March
    ("dispute-window", {"status": "Rejected", "submitted": "2025-01-10", "Status Changed": "2025-01-31",
                        "Rejection Reason": "Insufficient POE"}, "2025-03-02", "dispute-window-open", "2025-03-02"),
    ("dispute-window-closed", {"status": "Rejected", "submitted": "2025-01-10", "Status Changed": "2025-01-31",
                               "Rejection Reason": "Insufficient POE"}, "2025-03-03", None, ""),
    ("customer-declined-cannot-be-disputed", {"status": "Rejected", "submitted": "2025-01-10",
                                              "Status Changed": "2025-01-31", "Rejection Reason": "Customer declined"},
     "2025-02-03", None, ""),
    # no Status Changed: from Ended, 2025-02-10 + 30 days = 2025-03-12
    ("dispute-from-ended", {"status": "Rejected", "submitted": "2025-01-10", "ended": "2025-02-10"}, "2025-03-12",
     "dispute-window-open", "2025-03-12"),
    ("rejected-final", {"status": "Rejected final", "submitted": "2025-01-10", "ended": "2025-02-10"},
     "2025-02-12", None, ""),
    # POE signed 2024-03-31 + 11 months = 2025-02-28 is short of the 31st: 11 months old from 2025-03-01
    ("poe-young", dict(status="Approved", poe="2024-03-31", submitted="2024-04-02", approved="2024-04-20"),
     "2025-02-28", None, "2025-03-01"),
    ("poe-refresh", dict(status="Approved", poe="2024-03-31", submitted="2024-04-02", approved="2024-04-20"),
     "2025-03-01", "poe-refresh", "2025-03-01"),
    ("poe-refresh-ended", dict(status="Approved", poe="2024-03-31", submitted="2024-04-02", approved="2024-04-20",
                               ended="2025-01-15"), "2025-03-01", None, ""),
    ("draft", dict(status="Draft", poe=None, submitted=None), "2025-03-01", None, ""),
]  # fmt: skip


@pytest.mark.parametrize(("row", "as_of", "code", "deadline"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_deadlines(row: dict[str, Any], as_of: str, code: str | None, deadline: str) -> None:
    found, next_deadline, messages = run(row, as_of)
    column = "POE Signed" if code == "poe-refresh" else "Status"
    assert found == (set() if code is None else {(A, 2, column, code)})
    assert next_deadline == deadline
    assert all(deadline in m for m in messages)  # the message names the exact deadline


def test_poe_refresh_months_is_a_setting() -> None:
    row = dict(status="Approved", poe="2024-04-15", submitted="2024-04-16", approved="2024-05-02")
    assert run(row, "2024-10-15", Settings(poe_refresh_months=6))[:2] == (
        {(A, 2, "POE Signed", "poe-refresh")},
        "2024-10-15",
    )
    assert run(row, "2024-10-15")[:2] == (set(), "2025-03-15")


@pytest.mark.parametrize(
    ("poe", "months", "first_day"),
    [("2024-01-31", 1, "2024-03-01"), ("2024-01-30", 1, "2024-03-01"), ("2024-01-29", 1, "2024-02-29"),
     ("2023-02-28", 12, "2024-02-28"), ("2024-05-31", 11, "2025-05-01"), ("2024-05-30", 11, "2025-04-30")],
)  # fmt: skip
def test_refresh_dates_are_the_first_day_the_poe_is_old_enough(poe: str, months: int, first_day: str) -> None:
    # 2024 is a leap year: 31 or 30 January + 1 month does not fit February 2024 (29 days), 29 January does;
    # 31 May + 11 months falls past April's 30 days (on 2025-04-30, 11 months back is 2024-05-30: not yet);
    # 30 May + 11 months is 30 April
    got = refresh_dates(np.array([poe], dtype="datetime64[D]"), months)
    assert str(got[0]) == first_day


@settings(max_examples=200, deadline=None)
@given(poe=st.dates(dt.date(1950, 1, 1), dt.date(2150, 12, 31)), months=st.integers(0, 240))
def test_refresh_date_is_the_first_day_a_poe_check_calls_it_old(poe: dt.date, months: int) -> None:
    """The refresh date is the first as-of day on which the POE check (``months_before``) finds the POE
    ``months`` months old, whatever the month lengths on the way."""
    signed = np.array([poe], dtype="datetime64[D]")
    first = refresh_dates(signed, months)[0]
    assert months_before(np.array([first]), months)[0] >= signed[0]
    assert months_before(np.array([first - np.timedelta64(1, "D")]), months)[0] < signed[0]
    offset = (pd.Timestamp(poe) - pd.DateOffset(months=-months)).date()  # pandas' calendar months
    assert str(first) == str(offset if offset.day == poe.day else offset + dt.timedelta(days=1))


def test_incentive_codes_next_to_a_normal_row() -> None:
    frame = associations(
        [
            association("C-1"),
            association("C-2", tenant_no=2, **{"Incentive Opt-out": True}),
            association("C-3", tenant_no=3, **{"Partner Role": "Usage recognition - Non-Incentivized"}),
            association("C-4", tenant_no=4, **{"Partner Role": "Use or consume", "Incentive Opt-out": False}),
        ]
    )
    assert keys(incentive_findings(frame)) == {
        (A, 3, "Incentive Opt-out", "incentive-opt-out"),
        (A, 4, "Partner Role", "role-not-incentivised"),
    }
    assert incentivised(frame).tolist() == [True, False, False, True]


def test_old_workbooks_without_the_new_columns() -> None:
    frame = associations([association("C-1")])
    assert incentive_findings(frame) == [] and incentivised(frame).tolist() == [True]
    result = evaluate_deadlines(frame, Settings(), dt.date(2025, 1, 21))
    assert keys(result.findings) == set()
    assert str(result.next_deadline.iloc[0].date()) == "2025-12-03"  # POE 2025-01-03 + 11 months

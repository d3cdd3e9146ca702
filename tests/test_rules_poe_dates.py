"""POE and dates: poe-missing, poe-too-old, poe-after-submission, date-order, status-date-mismatch,
future-date."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rules_frames import association, associations, keys

from cpor_excel.model.program import Settings
from cpor_excel.rules.poe_dates import check_poe_and_dates

A = "Associations"
AS_OF = dt.date(2025, 6, 30)
# an Approved row whose dates are all in order: Created 01-02, POE 01-03, Submitted 01-06, Approved 01-20
CASES: list[Any] = [
    ("approved-in-order", {}, set()),
    ("draft-without-poe", dict(status="Draft", poe=None, submitted=None, approved=None), set()),
    ("draft-without-dates-but-poe", dict(status="Draft", submitted=None, approved=None), set()),
    (
        "submitted-without-poe",
        dict(status="Submitted", poe=None, approved=None),
        {("POE Signed", "poe-missing")},
    ),
    (
        "rejected-without-poe",
        dict(status="Rejected", poe=None, approved=None),
        {("POE Signed", "poe-missing")},
    ),
    ("poe-exactly-12-months", dict(poe="2024-01-06"), set()),
    ("poe-12-months-and-a-day", dict(poe="2024-01-05"), {("POE Signed", "poe-too-old")}),
    # calendar months: 2025-02-28 minus 12 months is 2024-02-28 (not 2024-02-29)
    (
        "month-end-limit-ok",
        dict(
            created="2024-01-01", poe="2024-02-28", submitted="2025-02-28", approved=None, status="Submitted"
        ),
        set(),
    ),
    (
        "month-end-limit-old",
        dict(
            created="2024-01-01", poe="2024-02-27", submitted="2025-02-28", approved=None, status="Submitted"
        ),
        {("POE Signed", "poe-too-old")},
    ),
    # 2025-03-31 minus 1 month clamps to 2025-02-28
    (
        "clamped-day",
        dict(poe="2024-03-30", submitted="2025-03-31", approved="2025-04-02"),
        {("POE Signed", "poe-too-old")},
    ),
    ("poe-same-day-as-submission", dict(poe="2025-01-06"), set()),
    ("poe-after-submission", dict(poe="2025-01-07"), {("POE Signed", "poe-after-submission")}),
    (
        "submitted-before-created",
        dict(submitted="2025-01-01", poe="2024-12-30"),
        {("Submitted", "date-order")},
    ),
    ("approved-before-submitted", dict(approved="2025-01-05"), {("Approved", "date-order")}),
    ("ended-before-approved", dict(ended="2025-01-19"), {("Ended", "date-order")}),
    ("ended-same-day-as-approved", dict(ended="2025-01-20"), set()),
    (
        "approved-before-created-without-submitted",
        dict(status="Rejected final", submitted="2025-01-06", approved="2024-12-01"),
        {("Approved", "date-order")},
    ),
    (
        "two-dates-out-of-order",
        dict(created="2025-02-01", poe="2025-01-01", submitted="2025-01-06", approved="2025-01-20"),
        {("Submitted", "date-order"), ("Approved", "date-order")},
    ),
    (
        "under-review-without-submitted",
        dict(status="Under review", submitted=None, approved=None),
        {("Submitted", "status-date-mismatch")},
    ),
    ("approved-without-approved-date", dict(approved=None), {("Approved", "status-date-mismatch")}),
    (
        "approved-without-any-date",
        dict(submitted=None, approved=None),
        {("Submitted", "status-date-mismatch"), ("Approved", "status-date-mismatch")},
    ),
    (
        "draft-with-submitted",
        dict(status="Draft", approved=None),
        {("Status", "status-date-mismatch")},
    ),
    ("submitted-with-approved-date", dict(status="Submitted"), {("Status", "status-date-mismatch")}),
    ("rejected-after-approval", dict(status="Rejected", ended="2025-02-01"), set()),
    ("rejected-final-after-approval", dict(status="Rejected final", ended="2025-03-01"), set()),
    ("dispute-with-approved-date", dict(status="Dispute"), set()),
    ("approved-but-ended", dict(ended="2025-03-01"), set()),
    ("rejected-without-ended", dict(status="Rejected", approved=None), set()),
    ("future-approved", dict(approved="2025-07-01"), {("Approved", "future-date")}),
    ("future-ended", dict(ended="2025-07-01"), {("Ended", "future-date")}),
    ("as-of-day-is-not-future", dict(ended="2025-06-30"), set()),
    (
        "all-in-the-future",
        dict(created="2025-07-01", poe="2025-07-02", submitted="2025-07-03", approved="2025-07-04"),
        {(c, "future-date") for c in ("Created", "POE Signed", "Submitted", "Approved")},
    ),
    # a cell that failed validation is NaT / None: no finding of ours about it
    ("unknown-status", dict(status=None, poe=None, submitted=None, approved=None), set()),
]


@pytest.mark.parametrize(("overrides", "expected"), [pytest.param(o, e, id=i) for i, o, e in CASES])
def test_one_row(overrides: dict[str, Any], expected: set[tuple[str, str]]) -> None:
    frame = associations([association("C-1", **overrides)])
    found = check_poe_and_dates(frame, Settings(), AS_OF)
    assert keys(found) == {(A, 2, column, code) for column, code in expected}
    assert all(f.claim_id == "C-1" for f in found)


def test_poe_max_age_is_a_setting() -> None:
    frame = associations([association("C-1", poe="2024-09-01"), association("C-2", poe="2024-04-01")])
    assert keys(check_poe_and_dates(frame, Settings(), AS_OF)) == set()
    six = Settings(poe_max_age_months=6)
    assert keys(check_poe_and_dates(frame, six, AS_OF)) == {(A, 3, "POE Signed", "poe-too-old")}


def test_rows_keep_their_excel_numbers_and_order_does_not_matter() -> None:
    rows = [
        association("C-1"),
        association("C-2", status="Submitted", poe=None, approved=None),
        association("C-3", approved=None),
        association("C-4", status="Rejected", poe=None, approved=None),
    ]
    frame = associations(rows, start=10)
    expected = {
        (A, 11, "POE Signed", "poe-missing"),
        (A, 12, "Approved", "status-date-mismatch"),
        (A, 13, "POE Signed", "poe-missing"),
    }
    assert keys(check_poe_and_dates(frame, Settings(), AS_OF)) == expected
    shuffled = frame.iloc[[3, 2, 0, 1]]
    assert check_poe_and_dates(shuffled, Settings(), AS_OF) == check_poe_and_dates(frame, Settings(), AS_OF)


def test_messages_carry_the_dates() -> None:
    frame = associations([association("C-1", poe="2023-11-30", submitted="2025-01-06")])
    (found,) = check_poe_and_dates(frame, Settings(), AS_OF)
    assert (found.code, "2023-11-30" in found.message, "2025-01-06" in found.message) == (
        "poe-too-old",
        True,
        True,
    )


def test_other_date_resolutions_are_read_the_same() -> None:
    frame = associations([association("C-1", poe="2025-01-07"), association("C-2", approved=None)])
    micro = frame.astype(
        {c: "datetime64[us]" for c in ("Created", "POE Signed", "Submitted", "Approved", "Ended")}
    )
    assert check_poe_and_dates(micro, Settings(), AS_OF) == check_poe_and_dates(frame, Settings(), AS_OF)
    assert len(check_poe_and_dates(frame, Settings(), AS_OF)) == 2


def test_empty_frame() -> None:
    assert check_poe_and_dates(associations([]), Settings(), AS_OF) == []

"""consent-window-open and the Consent Window Ends column."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from rules_frames import association, associations, keys

from cpor_excel.model.program import Settings
from cpor_excel.rules.consent import consent_windows, window_ends


@pytest.mark.parametrize(
    ("submitted", "days", "ends"),
    [
        ("2025-03-07", 5, "2025-03-14"),  # Friday -> next Friday
        ("2025-03-05", 5, "2025-03-12"),  # Wednesday -> next Wednesday
        ("2025-03-08", 5, "2025-03-14"),  # Saturday: Monday is business day 1
        ("2025-03-09", 5, "2025-03-14"),  # Sunday
        ("2025-03-07", 1, "2025-03-10"),  # Friday + 1 -> Monday
        ("2025-03-07", 10, "2025-03-21"),
        ("2025-03-07", 0, "2025-03-07"),
        ("2025-03-08", 0, "2025-03-08"),  # never before the day of submission
    ],
)
def test_window_ends(submitted: str, days: int, ends: str) -> None:
    got = window_ends(np.array([submitted], dtype="datetime64[D]"), days)
    assert str(got[0]) == ends


@pytest.mark.parametrize(
    ("row", "as_of", "open_"),
    [
        (dict(status="Submitted", approved=None), "2025-03-10", True),
        (dict(status="Submitted", approved=None), "2025-03-14", True),  # the last day is still open
        (dict(status="Submitted", approved=None), "2025-03-15", False),
        (dict(status="Submitted", approved=None), "2025-03-06", False),  # not submitted yet
        (dict(status="Approved", approved="2025-03-11"), "2025-03-12", True),
        (dict(status="Under review", approved=None), "2025-03-12", True),
        (dict(status="Rejected", approved=None), "2025-03-12", False),
        (dict(status="Draft", approved=None), "2025-03-12", False),
        (dict(status="Submitted", approved=None, ended="2025-03-11"), "2025-03-12", False),
        (dict(status="Submitted", approved=None, submitted=None), "2025-03-12", False),
    ],
)
def test_window_open(row: dict[str, Any], as_of: str, open_: bool) -> None:
    frame = associations(
        [
            association(
                "C-1", **{"created": "2025-03-01", "poe": "2025-03-02", "submitted": "2025-03-07", **row}
            )
        ]
    )
    found, ends = consent_windows(frame, Settings(), dt.date.fromisoformat(as_of))
    assert keys(found) == ({("Associations", 2, "Submitted", "consent-window-open")} if open_ else set())
    assert all(f.claim_id == "C-1" and "2025-03-14" in f.message for f in found)
    assert list(ends.index) == [2]


def test_column_over_all_rows() -> None:
    frame = associations(
        [
            association("C-1", submitted="2025-03-07"),
            association("C-2", status="Draft", submitted=None, approved=None),
            association("C-3", status="Rejected", submitted="2025-03-05", approved=None),
        ],
        start=5,
    )
    found, ends = consent_windows(frame, Settings(consent_window_business_days=3), dt.date(2025, 3, 10))
    assert ends.dtype.kind == "M"
    assert list(ends.index) == [5, 6, 7]
    assert [
        None if d is None else d.date().isoformat() for d in ends.astype(object).where(ends.notna(), None)
    ] == [
        "2025-03-12",
        None,
        "2025-03-10",
    ]
    # only the live row gets the finding; the Draft has no date and the Rejected one nothing to decline
    assert keys(found) == {("Associations", 5, "Submitted", "consent-window-open")}


def test_setting_changes_the_window() -> None:
    frame = associations([association("C-1", status="Submitted", approved=None, submitted="2025-03-07")])
    assert consent_windows(frame, Settings(consent_window_business_days=5), dt.date(2025, 3, 17))[0] == []
    found, _ = consent_windows(frame, Settings(consent_window_business_days=10), dt.date(2025, 3, 17))
    assert [(f.row, f.code) for f in found] == [(2, "consent-window-open")]


@pytest.mark.parametrize(
    ("starts", "row", "as_of", "ends", "open_"),
    [
        # from Submitted (the default): Friday 2025-03-07 + 5 business days
        ("Submitted", dict(status="Approved", approved="2025-03-20"), "2025-03-14", "2025-03-14", True),
        # from Approved: Thursday 2025-03-20 + 5 = Thursday 2025-03-27; the submission date no longer counts
        ("Approved", dict(status="Approved", approved="2025-03-20"), "2025-03-14", "2025-03-27", False),
        ("Approved", dict(status="Approved", approved="2025-03-20"), "2025-03-27", "2025-03-27", True),
        ("Approved", dict(status="Approved", approved="2025-03-20"), "2025-03-28", "2025-03-27", False),
        # approved on Saturday 2025-03-29 + 5: Monday 31 March is day 1, Friday 4 April day 5
        ("Approved", dict(status="Approved", approved="2025-03-29"), "2025-04-04", "2025-04-04", True),
        # not approved yet: no window to show
        ("Approved", dict(status="Submitted", approved=None), "2025-03-10", None, False),
    ],
)
def test_consent_window_starts(
    starts: str, row: dict[str, Any], as_of: str, ends: str | None, open_: bool
) -> None:
    frame = associations(
        [
            association(
                "C-1", **{"created": "2025-03-01", "poe": "2025-03-02", "submitted": "2025-03-07", **row}
            )
        ]
    )
    found, window = consent_windows(
        frame, Settings(consent_window_starts=starts), dt.date.fromisoformat(as_of)
    )
    got = window.iloc[0]
    assert (None if got != got else str(got.date())) == ends
    column = "Approved" if starts == "Approved" else "Submitted"
    assert keys(found) == ({("Associations", 2, column, "consent-window-open")} if open_ else set())
    assert all(ends in f.message and "may decline at any time" in f.message for f in found)

"""usage-above-licences: MAU above PAU, vectorised over the whole Usage sheet."""

from __future__ import annotations

import numpy as np
import pandas as pd
from rules_frames import EXO, TEAMS, keys, usage, usage_row

from cpor_excel.model.program import Settings
from cpor_excel.rules.usage import check_usage


def test_active_users_above_paid_units() -> None:
    frame = usage(
        [
            usage_row(1, EXO, "2025-01", 120, 100),
            usage_row(1, EXO, "2025-02", 100, 100),
            usage_row(1, TEAMS, "2025-01", 5, 0),
            usage_row(2, EXO, "2025-01", None, 10),
            usage_row(2, TEAMS, "2025-01", 11, None),
        ],
        start=7,
    )
    found = check_usage(frame, Settings())
    assert keys(found) == {
        ("Usage", 7, "Active Users", "usage-above-licences"),
        ("Usage", 9, "Active Users", "usage-above-licences"),
    }
    first = next(f for f in found if f.row == 7)
    assert ("120" in first.message, "100" in first.message, "2025-01" in first.message) == (True, True, True)


def test_no_findings_when_within_licences() -> None:
    frame = usage([usage_row(1, EXO, "2025-01", 10, 100)])
    assert check_usage(frame, Settings()) == []
    assert check_usage(usage([]), Settings()) == []


def test_many_rows_keep_their_row_numbers() -> None:
    n = 20_000
    rng = np.random.default_rng(7)
    pau = rng.integers(0, 500, n)
    mau = rng.integers(0, 550, n)
    frame = pd.DataFrame(
        {
            "Tenant ID": ["00000001-0000-4000-8000-000000000001"] * n,
            "Workload": [EXO] * n,
            "Month": pd.Timestamp("2025-01-01"),
            "Active Users": pd.array(mau, dtype="Int64"),
            "Paid Units": pd.array(pau, dtype="Int64"),
        },
        index=pd.RangeIndex(2, n + 2),
    )
    found = check_usage(frame, Settings())
    assert [f.row for f in found] == (np.flatnonzero(mau > pau) + 2).tolist()

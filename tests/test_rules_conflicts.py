"""association-conflict and duplicate-association: one partner per customer workload at a time."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
from rules_frames import EXO, TEAMS, association, associations, keys, tenant

from cpor_excel.rules.conflicts import find_conflicts, live_mask

A = "Associations"
AS_OF = dt.date(2025, 6, 30)
CONFLICT = {(A, 2, "Workload", "association-conflict"), (A, 3, "Workload", "association-conflict")}
DUPLICATE = {(A, 2, "Workload", "duplicate-association"), (A, 3, "Workload", "duplicate-association")}


def pair(second: dict[str, Any], first: dict[str, Any] | None = None) -> pd.DataFrame:
    """Claim C-1 of partner 111 (approved in January) and a second claim C-2 of partner 222 on the same
    customer workload, with overrides for each."""
    base = dict(partner="222", status="Submitted", poe="2025-03-01", submitted="2025-03-03", approved=None)
    return associations([association("C-1", **(first or {})), association("C-2", **{**base, **second})])


@pytest.mark.parametrize(
    ("second", "first", "expected"),
    [
        pytest.param({}, None, CONFLICT, id="two-partners-live"),
        pytest.param(dict(status="Approved", approved="2025-03-10"), None, CONFLICT, id="both-approved"),
        pytest.param(dict(status="Under review"), None, CONFLICT, id="under-review"),
        pytest.param(dict(status="Partner action required"), None, CONFLICT, id="action-required"),
        pytest.param(dict(status="Dispute"), None, CONFLICT, id="dispute"),
        pytest.param(dict(status="Rejected"), None, set(), id="rejected"),
        pytest.param(dict(status="Rejected final"), None, set(), id="rejected-final"),
        pytest.param(dict(status="Draft", submitted=None), None, set(), id="draft"),
        pytest.param(dict(submitted="2025-07-01"), None, set(), id="submitted-after-as-of"),
        pytest.param(dict(submitted=None, created="2025-06-30"), None, CONFLICT, id="live-from-created"),
        pytest.param(dict(submitted=None, created="2025-07-01"), None, set(), id="created-after-as-of"),
        pytest.param({}, dict(ended="2025-06-30"), set(), id="first-ended-on-as-of"),
        pytest.param({}, dict(ended="2025-03-03"), set(), id="partner-change-on-submission"),
        pytest.param({}, dict(ended="2025-07-01"), CONFLICT, id="first-ends-later"),
        pytest.param({}, dict(status="Rejected", ended="2025-02-01"), set(), id="rejected-then-new-claim"),
        pytest.param(dict(workload=TEAMS), None, set(), id="other-workload"),
        pytest.param(dict(tenant_no=2), None, set(), id="other-customer"),
        pytest.param(dict(partner="1000001"), None, DUPLICATE, id="same-partner-two-claims"),
        pytest.param(dict(partner=None), None, set(), id="invalid-partner-skipped"),
        pytest.param(dict(tenant_no=None), None, set(), id="invalid-tenant-skipped"),
    ],
)
def test_pairs(second: dict[str, Any], first: dict[str, Any] | None, expected: set[tuple[Any, ...]]) -> None:
    assert keys(find_conflicts(pair(second, first), AS_OF).findings) == expected


def test_conflict_values_and_newer_poe() -> None:
    result = find_conflicts(pair({}), AS_OF)
    assert result.conflicts_with.tolist() == ["C-2", "C-1"]
    assert list(result.conflicts_with.index) == [2, 3]
    assert result.conflicts == [
        {
            "tenant_id": tenant(1),
            "workload": EXO,
            "claim_id": "C-1",
            "partner_id": "1000001",
            "row": 2,
            "other_claim_id": "C-2",
            "other_partner_id": "222",
            "other_row": 3,
            "other_workbook": None,
            "newer_poe_claim_id": "C-2",
        }
    ]
    by_row = {f.row: f for f in result.findings}
    assert (by_row[2].claim_id, by_row[3].claim_id) == ("C-1", "C-2")
    assert "C-2" in by_row[2].message and "2025-03-01" in by_row[2].message
    assert "C-1" in by_row[3].message


@pytest.mark.parametrize(
    ("first_poe", "second_poe", "newer"),
    [
        ("2025-01-03", "2025-03-01", "C-2"),
        ("2025-03-02", "2025-03-01", "C-1"),
        ("2025-03-01", "2025-03-01", None),
        (None, "2025-03-01", None),
    ],
)
def test_newer_poe(first_poe: str | None, second_poe: str, newer: str | None) -> None:
    result = find_conflicts(pair(dict(poe=second_poe), dict(poe=first_poe)), AS_OF)
    assert [c["newer_poe_claim_id"] for c in result.conflicts] == [newer]
    assert len(result.findings) == 2


def test_duplicate_is_not_listed_as_a_conflict() -> None:
    result = find_conflicts(pair(dict(partner="1000001")), AS_OF)
    assert result.conflicts == []
    assert result.conflicts_with.tolist() == ["", ""]


def test_three_partners_name_each_other() -> None:
    frame = associations(
        [
            association("C-1", partner="111"),
            association("C-3", partner="333"),
            association("C-2", partner="222"),
            association("C-9", tenant_no=2, partner="999"),
        ]
    )
    result = find_conflicts(frame, AS_OF)
    assert result.conflicts_with.tolist() == ["C-2; C-3", "C-1; C-2", "C-1; C-3", ""]
    assert keys(result.findings) == {(A, r, "Workload", "association-conflict") for r in (2, 3, 4)}
    assert len(result.findings) == 6
    assert sorted((c["row"], c["other_row"]) for c in result.conflicts) == [(2, 3), (2, 4), (3, 4)]


def test_batch_rows_repeat_across_workbooks() -> None:
    frame = associations(
        [
            association("C-1", partner="111", Workbook="a.xlsx"),
            association("C-5", tenant_no=2, partner="111", Workbook="a.xlsx"),
            association("B-1", partner="222", Workbook="b.xlsx"),
            association("B-2", tenant_no=3, partner="222", Workbook="b.xlsx"),
        ]
    )
    frame.index = pd.Index([2, 3, 2, 3])
    result = find_conflicts(frame, AS_OF)
    assert result.conflicts_with.tolist() == ["B-1 (b.xlsx)", "", "C-1 (a.xlsx)", ""]
    assert {(f.workbook, f.row, f.code) for f in result.findings} == {
        ("a.xlsx", 2, "association-conflict"),
        ("b.xlsx", 2, "association-conflict"),
    }
    assert result.conflicts == [
        {
            "workbook": "a.xlsx",
            "tenant_id": tenant(1),
            "workload": EXO,
            "claim_id": "C-1",
            "partner_id": "111",
            "row": 2,
            "other_claim_id": "B-1",
            "other_partner_id": "222",
            "other_row": 2,
            "other_workbook": "b.xlsx",
            "newer_poe_claim_id": None,
        }
    ]
    assert "b.xlsx" in next(f for f in result.findings if f.workbook == "a.xlsx").message


def test_one_claim_kept_in_two_workbooks_is_not_a_second_claim() -> None:
    frame = associations([association("C-1", Workbook="a.xlsx"), association("C-1", Workbook="b.xlsx")])
    frame.index = pd.Index([2, 2])
    result = find_conflicts(frame, AS_OF)
    assert (result.findings, result.conflicts, result.conflicts_with.tolist()) == ([], [], ["", ""])


def test_order_of_rows_does_not_change_the_result() -> None:
    rows = [association(f"C-{i}", tenant_no=i % 3, partner=str(100 + i % 2)) for i in range(9)]
    frame = associations(rows)
    one = find_conflicts(frame, AS_OF)
    other = find_conflicts(frame.iloc[::-1], AS_OF)
    assert other.findings == one.findings
    assert other.conflicts_with.sort_index().tolist() == one.conflicts_with.tolist()


def test_live_mask() -> None:
    frame = pair({}, dict(ended="2025-06-30"))
    assert live_mask(frame, AS_OF).tolist() == [False, True]
    assert live_mask(frame, dt.date(2025, 6, 29)).tolist() == [True, True]
    assert live_mask(frame, dt.date(2025, 3, 2)).tolist() == [True, False]
    assert live_mask(frame.drop(columns="Status"), AS_OF).dtype == np.bool_


def test_empty_and_no_conflict() -> None:
    assert find_conflicts(associations([]), AS_OF).findings == []
    result = find_conflicts(associations([association("C-1")]), AS_OF)
    assert (result.findings, result.conflicts, result.conflicts_with.tolist()) == ([], [], [""])

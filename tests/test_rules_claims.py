"""claim-mismatch: the rows of one Claim ID share Tenant ID and Partner ID."""

from __future__ import annotations

import pytest
from rules_frames import EXO, SPO, TEAMS, association, associations, keys, tenant

from cpor_excel.rules.claims import check_claims

A = "Associations"


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            [association("C-1", 1, EXO), association("C-1", 1, TEAMS), association("C-2", 2, EXO)],
            set(),
            id="consistent",
        ),
        pytest.param([association("C-1", 1, EXO)], set(), id="single-row"),
        pytest.param(
            [association("C-1", 1, EXO), association("C-1", 1, TEAMS), association("C-1", 2, SPO)],
            {(A, r, "Tenant ID", "claim-mismatch") for r in (2, 3, 4)},
            id="tenant-differs",
        ),
        pytest.param(
            [association("C-1", 1, EXO, partner="111"), association("C-1", 1, TEAMS, partner="222")],
            {(A, r, "Partner ID", "claim-mismatch") for r in (2, 3)},
            id="partner-differs",
        ),
        pytest.param(
            [association("C-1", 1, EXO, partner="111"), association("C-1", 2, TEAMS, partner="222")],
            {(A, r, c, "claim-mismatch") for r in (2, 3) for c in ("Tenant ID", "Partner ID")},
            id="both-differ",
        ),
        pytest.param(
            [association("C-1", 1, EXO), association("C-1", None, TEAMS), association("C-1", 1, SPO)],
            set(),
            id="invalid-cell-skipped",
        ),
        pytest.param(
            [association("C-1", 1, EXO), association("C-2", 2, TEAMS), association(None, 3, SPO)],
            set(),
            id="claim-id-missing",
        ),
    ],
)
def test_claim_mismatch(rows: list[dict[str, object]], expected: set[tuple[object, ...]]) -> None:
    assert keys(check_claims(associations(rows))) == expected


def test_message_names_the_majority_value_and_claim() -> None:
    frame = associations(
        [association("C-7", 1, EXO), association("C-7", 1, TEAMS), association("C-7", 9, SPO)]
    )
    found = {f.row: f for f in check_claims(frame)}
    assert {f.claim_id for f in found.values()} == {"C-7"}
    odd = found[4].message
    assert f"change it to {tenant(1)}" in odd
    assert tenant(9) in odd
    assert "change it to" not in found[2].message


def test_tie_goes_to_the_first_rows_value() -> None:
    frame = associations([association("C-1", 5, EXO), association("C-1", 4, TEAMS)])
    found = {f.row: f.message for f in check_claims(frame)}
    assert f"change it to {tenant(5)}" in found[3]
    assert "change it to" not in found[2]
    assert check_claims(frame.iloc[::-1]) == check_claims(frame)


def test_batch_claims_are_per_workbook() -> None:
    rows = [association("C-1", 1, EXO, Workbook="a.xlsx"), association("C-1", 2, EXO, Workbook="b.xlsx")]
    frame = associations(rows)
    frame.index = [2, 2]
    assert check_claims(frame) == []
    rows.append(association("C-1", 3, TEAMS, Workbook="b.xlsx"))
    frame = associations(rows)
    frame.index = [2, 2, 3]
    found = check_claims(frame)
    assert {(f.workbook, f.row, f.column) for f in found} == {
        ("b.xlsx", 2, "Tenant ID"),
        ("b.xlsx", 3, "Tenant ID"),
    }


def test_empty_frame() -> None:
    assert check_claims(associations([])) == []

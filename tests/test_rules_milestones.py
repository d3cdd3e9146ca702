"""Milestones: counted months, buckets, the claim-time gate, the ledger (paid once), reached and next."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from rules_frames import (
    EXO,
    TEAMS,
    association,
    associations,
    customers,
    keys,
    ledger,
    ledger_after,
    milestone_table,
    milestones_for_tests,
    tenant,
    usage,
    usage_row,
)

from cpor_excel.model.columns import LEDGER_HEADER
from cpor_excel.model.program import Settings
from cpor_excel.rules.milestones import MilestoneResult, evaluate_milestones

A = "Associations"
AS_OF = dt.date(2025, 12, 31)
TABLE = milestones_for_tests()
# submitted in December, approved in January: months count from February 2025
BASE = dict(
    created="2024-12-01", poe="2024-12-02", submitted="2024-12-16", approved="2025-01-20", partner="111"
)


def run(
    rows: list[dict[str, Any]],
    use: list[dict[str, Any]],
    as_of: dt.date = AS_OF,
    settings: Settings | None = None,
    paid: pd.DataFrame | None = None,
    table: pd.DataFrame = TABLE,
) -> MilestoneResult:
    return evaluate_milestones(
        associations(rows),
        usage(use),
        customers([1, 2, 3]),
        table,
        settings or Settings(),
        ledger() if paid is None else paid,
        as_of,
    )


def earned(result: MilestoneResult) -> list[tuple[str, str, str, str]]:
    rows = result.new_ledger_rows
    return list(zip(rows["Claim ID"], rows["Milestone"], rows["Month Reached"], rows["Bucket"], strict=True))


def exo(*months: tuple[str, int, int], workload: str = EXO, tenant_no: int = 1) -> list[dict[str, Any]]:
    return [usage_row(tenant_no, workload, m, mau, pau) for m, mau, pau in months]


REACHED = (A, 2, "Workload", "milestone-reached")
CASES: list[Any] = [
    # id, association overrides, usage, as_of, settings, expected ledger, expected findings, next milestone
    ("approval-month-does-not-count", {}, exo(("2025-01", 100, 200)), None, None, [], set(),
     "M1 at 20%: met (100/200), counting from 2025-02"),
    ("first-counted-month", {}, exo(("2025-01", 10, 200), ("2025-02", 45, 200)), None, None,
     [("C-1", "M1", "2025-02", "XXS")], {REACHED}, "M2 at 50%: 55 more active users (45/200)"),
    ("two-milestones-one-month", {}, exo(("2025-02", 100, 200)), None, None,
     [("C-1", "M1", "2025-02", "XXS"), ("C-1", "M2", "2025-02", "XXS")], {REACHED}, "all milestones reached"),
    ("earliest-month-wins", {}, exo(("2025-03", 60, 200), ("2025-02", 45, 200)), None, None,
     [("C-1", "M1", "2025-02", "XXS")], {REACHED}, "M2 at 50%: 40 more active users (60/200)"),
    ("below-minimum-seats", {}, exo(("2025-02", 100, 149)), None, None, [],
     {(A, 2, "Workload", "below-minimum-seats")}, "needs 150 paid units to count (149 now)"),
    ("minimum-is-a-setting", {}, exo(("2025-02", 40, 120)), None, Settings(minimum_paid_units=100), [], set(),
     "no milestone bucket holds 120 paid units"),
    ("bucket-change", {}, exo(("2025-02", 45, 200), ("2025-04", 120, 300), ("2025-06", 160, 320)), None, None,
     [("C-1", "M1", "2025-02", "XXS"), ("C-1", "M2", "2025-04", "Small"), ("C-1", "M3", "2025-06", "Small")],
     {REACHED}, "all milestones reached"),
    ("ended-month-does-not-count", dict(ended="2025-04-10"), exo(("2025-03", 45, 200), ("2025-04", 120, 200)),
     None, None, [("C-1", "M1", "2025-03", "XXS")], {REACHED}, "none: counted months ended 2025-03"),
    ("window-months", {}, exo(("2025-03", 45, 200), ("2025-04", 120, 200)), None,
     Settings(milestone_window_months=2), [("C-1", "M1", "2025-03", "XXS")], {REACHED},
     "none: counted months ended 2025-03"),
    ("as-of-month-counts-later-does-not", {}, exo(("2025-03", 45, 200), ("2025-04", 120, 200)),
     dt.date(2025, 3, 1), None, [("C-1", "M1", "2025-03", "XXS")], {REACHED},
     "M2 at 50%: 55 more active users (45/200)"),
    ("gate-exceeded", {}, exo(("2024-12", 50, 200), ("2025-02", 120, 200)), None, None, [],
     {(A, 2, "Submitted", "usage-gate-exceeded")}, "none: usage at claim time was above the bucket's gate"),
    ("gate-at-its-limit", {}, exo(("2024-12", 40, 200), ("2025-02", 120, 200)), None, None,
     [("C-1", "M1", "2025-02", "XXS"), ("C-1", "M2", "2025-02", "XXS")], {REACHED}, "all milestones reached"),
    ("bucket-without-gate", {}, exo(("2024-12", 300, 400), ("2025-02", 70, 400)), None, None,
     [("C-1", "M1", "2025-02", "Small")], {REACHED}, "M2 at 35%: 70 more active users (70/400)"),
    ("gate-month-without-usage", {}, exo(("2025-02", 120, 200)), None, None,
     [("C-1", "M1", "2025-02", "XXS"), ("C-1", "M2", "2025-02", "XXS")], {REACHED}, "all milestones reached"),
    ("not-approved", dict(status="Submitted", approved=None), exo(("2025-02", 120, 200)), None, None, [], set(), ""),
    ("approved-without-date", dict(approved=None), exo(("2025-02", 120, 200)), None, None, [], set(), ""),
    ("no-usage", {}, exo(("2025-02", 120, 200), tenant_no=2), None, None, [], set(), ""),
    ("threshold-exactly-met", {}, exo(("2025-02", 105, 300)), None, None,
     [("C-1", "M1", "2025-02", "Small"), ("C-1", "M2", "2025-02", "Small")], {REACHED},
     "M3 at 50%: 45 more active users (105/300)"),
    ("one-more-user", {}, exo(("2025-02", 39, 200)), None, None, [], set(), "M1 at 20%: 1 more active user (39/200)"),
    ("exact-workload-beats-star", dict(workload=TEAMS), exo(("2025-02", 60, 200), workload=TEAMS), None, None,
     [("C-1", "T1", "2025-02", "Teams S")], {REACHED}, "all milestones reached"),
    ("star-when-no-exact-range-holds", dict(workload=TEAMS), exo(("2025-02", 300, 600), workload=TEAMS), None,
     None, [("C-1", "M1", "2025-02", "Small"), ("C-1", "M2", "2025-02", "Small"), ("C-1", "M3", "2025-02", "Small")],
     {REACHED}, "all milestones reached"),
    ("open-ended-bucket", {}, exo(("2025-02", 600, 5000)), None, None, [("C-1", "M1", "2025-02", "Medium")],
     {REACHED}, "all milestones reached"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "use", "as_of", "settings", "ledger_rows", "expected", "next_text"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_cases(
    overrides: dict[str, Any],
    use: list[dict[str, Any]],
    as_of: dt.date | None,
    settings: Settings | None,
    ledger_rows: list[tuple[str, str, str, str]],
    expected: set[tuple[Any, ...]],
    next_text: str,
) -> None:
    result = run([association("C-1", **{**BASE, **overrides})], use, as_of or AS_OF, settings)
    assert earned(result) == ledger_rows
    assert keys(result.findings) == expected
    assert result.next_milestone.tolist() == [next_text]
    reached = "; ".join(f"{m} {month}" for _, m, month, _ in ledger_rows)
    assert result.reached.tolist() == [reached]
    assert sum(f.code == "milestone-reached" for f in result.findings) == len(ledger_rows)


def test_new_ledger_row_values() -> None:
    result = run([association("C-1", **BASE)], exo(("2025-02", 45, 200)), as_of=dt.date(2025, 3, 5))
    rows = result.new_ledger_rows
    assert list(rows.columns) == list(LEDGER_HEADER)
    assert rows.to_dict("records") == [
        {
            "Claim ID": "C-1",
            "Tenant ID": tenant(1),
            "Customer": "Customer 1",
            "Workload": EXO,
            "Partner ID": "111",
            "Bucket": "XXS",
            "Milestone": "M1",
            "Month Reached": "2025-02",
            "Active Users": 45,
            "Paid Units": 200,
            "Active Usage %": 0.225,
            "Payment": 100.0,
            "Currency": "EUR",
            "Recorded On": "2025-03-05",
        }
    ]
    assert [type(v) for v in rows.iloc[0].tolist()][8:10] == [int, int]
    (found,) = result.findings
    assert (found.row, found.claim_id, "M1" in found.message, "2025-02" in found.message) == (
        2,
        "C-1",
        True,
        True,
    )


def test_payment_without_amount_is_none() -> None:
    result = run([association("C-1", **BASE)], exo(("2025-02", 600, 5000)))
    assert result.new_ledger_rows[["Payment", "Currency"]].to_dict("records") == [
        {"Payment": None, "Currency": None}
    ]


def test_the_ledger_pays_once_across_runs() -> None:
    paid = ledger(
        [dict(zip(LEDGER_HEADER, ["C-0", tenant(1), "Customer 1", EXO, "999", "XXS", "M1", "2024-11", 40, 200,
                                  0.2, 100.0, "EUR", "2024-12-01"], strict=True))]
    )  # fmt: skip
    result = run([association("C-1", **BASE)], exo(("2025-02", 45, 200), ("2025-03", 120, 200)), paid=paid)
    assert earned(result) == [("C-1", "M2", "2025-03", "XXS")]
    assert result.reached.tolist() == ["M2 2025-03"]  # C-0's M1 is not this claim's
    assert keys(result.findings) == {REACHED, ("Milestone Ledger", 2, "Milestone", "ledger-unsupported")}
    again = run(
        [association("C-1", **BASE)],
        exo(("2025-02", 45, 200), ("2025-03", 120, 200)),
        paid=ledger_after(paid, result.new_ledger_rows),
    )
    assert earned(again) == []
    assert again.reached.tolist() == ["M2 2025-03"]
    assert again.next_milestone.tolist() == ["all milestones reached"]


def test_next_milestone_example_from_the_spec() -> None:
    result = run([association("C-1", **BASE)], exo(("2025-02", 150, 376)))
    assert earned(result) == [("C-1", "M1", "2025-02", "Small"), ("C-1", "M2", "2025-02", "Small")]
    assert result.next_milestone.tolist() == ["M3 at 50%: 38 more active users (150/376)"]


def test_two_partners_pay_each_milestone_once_and_ties_go_to_the_lower_claim_id() -> None:
    rows = [association("C-2", **{**BASE, "partner": "222"}), association("C-1", **BASE)]
    result = run(rows, exo(("2025-02", 45, 200), ("2025-03", 120, 200)))
    assert earned(result) == [("C-1", "M1", "2025-02", "XXS"), ("C-1", "M2", "2025-03", "XXS")]
    assert result.reached.tolist() == ["", "M1 2025-02; M2 2025-03"]
    assert result.next_milestone.tolist() == ["all milestones reached", "all milestones reached"]
    assert keys(result.findings) == {(A, 3, "Workload", "milestone-reached")}


def test_partner_change_the_earlier_month_wins() -> None:
    rows = [
        association("C-1", **{**BASE, "status": "Approved", "ended": "2025-04-01"}),
        association("C-2", **{**BASE, "partner": "222", "submitted": "2025-04-02", "approved": "2025-04-15"}),
    ]
    use = exo(("2025-02", 45, 200), ("2025-03", 90, 200), ("2025-05", 120, 200))
    result = run(rows, use)
    # C-1 counts February and March (April is the month it ended), C-2 counts from May
    assert earned(result) == [("C-1", "M1", "2025-02", "XXS"), ("C-2", "M2", "2025-05", "XXS")]
    assert result.reached.tolist() == ["M1 2025-02", "M2 2025-05"]
    assert result.next_milestone.tolist() == ["none: counted months ended 2025-03", "all milestones reached"]


def test_the_earliest_month_wins_across_claims() -> None:
    rows = [
        association("C-1", **{**BASE, "approved": "2025-03-01"}),
        association("C-2", **{**BASE, "partner": "222"}),
    ]
    result = run(rows, exo(("2025-02", 45, 200)))
    assert earned(result) == [("C-2", "M1", "2025-02", "XXS")]


def test_ledger_rows_the_usage_no_longer_supports() -> None:
    def row(claim: str, milestone: str, month: str) -> dict[str, Any]:
        values = [
            claim,
            tenant(1),
            "Customer 1",
            EXO,
            "111",
            "XXS",
            milestone,
            month,
            1,
            200,
            0.5,
            None,
            None,
            "x",
        ]
        return dict(zip(LEDGER_HEADER, values, strict=True))

    paid = ledger([row("C-1", "M1", "2025-02"), row("C-1", "M2", "2025-03"), row("C-9", "M1", "2025-01")])
    result = run([association("C-1", **BASE)], exo(("2025-02", 45, 200), ("2025-03", 60, 200)), paid=paid)
    assert earned(result) == []
    assert keys(result.findings) == {
        ("Milestone Ledger", 3, "Milestone", "ledger-unsupported"),
        ("Milestone Ledger", 4, "Milestone", "ledger-unsupported"),
    }
    assert {f.claim_id for f in result.findings} == {"C-1", "C-9"}
    # existing rows count as held whatever the usage says: M2 is never offered again
    assert result.reached.tolist() == ["M1 2025-02; M2 2025-03"]
    assert result.next_milestone.tolist() == ["all milestones reached"]


def test_gated_claims_ledger_rows_are_unsupported() -> None:
    values = [
        "C-1",
        tenant(1),
        "Customer 1",
        EXO,
        "111",
        "XXS",
        "M1",
        "2025-02",
        45,
        200,
        0.225,
        100,
        "EUR",
        "x",
    ]
    paid = ledger([dict(zip(LEDGER_HEADER, values, strict=True))])
    result = run([association("C-1", **BASE)], exo(("2024-12", 60, 200), ("2025-02", 45, 200)), paid=paid)
    assert keys(result.findings) == {
        ("Milestone Ledger", 2, "Milestone", "ledger-unsupported"),
        (A, 2, "Submitted", "usage-gate-exceeded"),
    }


def test_a_conflict_does_not_stop_earning() -> None:
    rows = [
        association("C-1", **BASE),
        association("C-2", **{**BASE, "partner": "222", "status": "Submitted", "approved": None}),
    ]
    result = run(rows, exo(("2025-02", 45, 200)))
    assert earned(result) == [("C-1", "M1", "2025-02", "XXS")]


def test_without_a_milestone_table_nothing_is_reached() -> None:
    empty = TABLE.iloc[0:0]
    result = run([association("C-1", **BASE)], exo(("2025-02", 45, 200)), table=empty)
    assert (earned(result), result.findings) == ([], [])
    assert result.next_milestone.tolist() == ["no milestone bucket holds 200 paid units"]


def test_invalid_cells_are_skipped() -> None:
    use = [
        *exo(("2025-02", 45, 200)),
        usage_row(1, EXO, "2025-03", None, 200),
        usage_row(1, EXO, "2025-04", 190, None),
    ]
    rows = [association("C-1", **BASE), association("C-2", **{**BASE, "tenant_no": None})]
    result = run(rows, use)
    assert earned(result) == [("C-1", "M1", "2025-02", "XXS")]
    assert result.next_milestone.tolist() == ["M2 at 50%: 55 more active users (45/200)", ""]


def test_row_index_is_kept() -> None:
    frame = associations(
        [association("C-1", **BASE), association("C-2", **{**BASE, "tenant_no": 2})], start=40
    )
    result = evaluate_milestones(
        frame, usage(exo(("2025-02", 45, 200))), customers([1]), TABLE, Settings(), ledger(), AS_OF
    )
    assert list(result.reached.index) == [40, 41]
    assert list(result.next_milestone.index) == [40, 41]
    assert [f.row for f in result.findings] == [40]
    assert result.new_ledger_rows["Customer"].tolist() == ["Customer 1"]


def test_overlapping_ranges_the_higher_minimum_wins() -> None:
    table = milestone_table(
        [
            ("*", "Wide", 100, 999, "M1", 0.10, None, None, None),
            ("*", "Narrow", 200, 400, "M1", 0.40, None, None, None),
            (EXO, "Exchange", 100, 199, "X1", 0.10, None, None, None),
        ]
    )
    use = exo(("2025-02", 30, 250), ("2025-03", 30, 150), ("2025-04", 90, 500))
    result = run([association("C-1", **BASE)], use, table=table)
    # Feb: Narrow holds 250 (12% < 40%); Mar: the Exchange row beats both "*" rows; Apr: only Wide holds 500
    assert earned(result) == [("C-1", "X1", "2025-03", "Exchange"), ("C-1", "M1", "2025-04", "Wide")]


def test_months_without_paid_units_never_count() -> None:
    table = milestone_table([("*", "Any", 0, None, "M1", 0.20, None, None, 0.20)])
    use = exo(("2024-12", 5, 0), ("2025-02", 5, 0), ("2025-03", 45, 200))
    result = run([association("C-1", **BASE)], use, settings=Settings(minimum_paid_units=0), table=table)
    assert earned(result) == [("C-1", "M1", "2025-03", "Any")]
    assert keys(result.findings) == {REACHED}


@pytest.mark.parametrize("status", ["Rejected final", "Rejected", "Dispute"])
def test_a_disassociated_claims_earlier_ledger_rows_stay_supported_and_it_earns_nothing_new(
    status: str,
) -> None:
    """Approved, earned M1 in February, then disassociated in April: the M1 row is still backed by the usage,
    and the later month that would reach M2 does not earn (only Approved associations earn)."""
    first = run([association("C-1", **BASE)], exo(("2025-02", 45, 200)), as_of=dt.date(2025, 2, 28))
    assert earned(first) == [("C-1", "M1", "2025-02", "XXS")]
    later = run(
        [association("C-1", **{**BASE, "status": status, "ended": "2025-04-01"})],
        exo(("2025-02", 45, 200), ("2025-03", 120, 200)),
        paid=ledger_after(ledger([]), first.new_ledger_rows),
    )
    assert earned(later) == []
    assert [f.code for f in later.findings if f.code == "ledger-unsupported"] == []


def test_no_milestone_is_earned_from_high_water_mark_from_on() -> None:
    # 2025-02 (45 of 200 active: M1) counts on milestones; from 2025-03 on usage is paid above the high-water
    # mark, so 2025-04's 120 active users (M2) reach nothing here
    use = exo(("2025-02", 45, 200), ("2025-04", 120, 200))
    hwm = Settings(high_water_mark_from=dt.date(2025, 3, 1))
    result = run([association("C-1", **BASE)], use, settings=hwm)
    assert earned(result) == [("C-1", "M1", "2025-02", "XXS")]
    assert result.next_milestone.tolist() == ["none: from 2025-03 usage is paid above the high-water mark"]
    # a claim approved after the boundary never reaches a milestone
    later = run(
        [association("C-1", **BASE)], use, settings=Settings(high_water_mark_from=dt.date(2025, 1, 1))
    )
    assert earned(later) == [] and keys(later.findings) == set()


@pytest.mark.parametrize(
    "extra", [{"Incentive Opt-out": True}, {"Partner Role": "Usage recognition - Non-Incentivized"}]
)
def test_rows_that_cannot_earn_reach_no_milestone(extra: dict[str, Any]) -> None:
    use = exo(("2025-02", 45, 200)) + exo(("2025-02", 45, 200), tenant_no=2)
    rows = [association("C-1", **BASE), association("C-2", tenant_no=2, **{**BASE, **extra})]
    result = run(rows, use)
    assert earned(result) == [("C-1", "M1", "2025-02", "XXS")]
    assert result.next_milestone.tolist()[1] == ""


def test_a_read_only_run_says_what_a_run_would_record() -> None:
    result = evaluate_milestones(
        associations([association("C-1", **BASE)]), usage(exo(("2025-02", 45, 200))), customers([1]), TABLE,
        Settings(), ledger(), AS_OF, recording=False,
    )  # fmt: skip
    (found,) = result.findings
    assert (
        "a run would record it in the Milestone Ledger" in found.message
        and "recorded in" not in found.message
    )

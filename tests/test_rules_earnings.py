"""Usage paid above the high-water mark: every reason code, their precedence, the boundary month, the caps,
the append-only Earnings Ledger, with expectations computed by hand in the comments."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rules_frames import EXO, TEAMS, association, associations, customers, keys, tenant, usage, usage_row

from cpor_excel.model.columns import EARNINGS_HEADER
from cpor_excel.model.program import RATE_CARD_COLUMNS, Settings
from cpor_excel.rules.earnings import EarningsResult, evaluate_earnings
from cpor_excel.rules.keys import group_sums

A = "Associations"
AS_OF = dt.date(2024, 6, 30)
HWM = Settings(high_water_mark_from=dt.date(2023, 10, 1))
# submitted in October 2023, approved in November: the counted months start in December 2023
BASE = dict(
    created="2023-10-02", poe="2023-10-03", submitted="2023-10-16", approved="2023-11-20", partner="111"
)


def rate_card(*rows: tuple[Any, ...]) -> pd.DataFrame:
    """Rows as (Workload, Rate per User, Currency, Min New Users, Max Paid Users, Time Cap Months)."""
    frame = pd.DataFrame(list(rows), columns=list(RATE_CARD_COLUMNS))
    frame["Workload"] = frame["Workload"].astype(object)
    frame["Currency"] = frame["Currency"].astype(object)
    frame["Rate per User"] = pd.to_numeric(frame["Rate per User"]).astype(float)
    for c in ("Min New Users", "Max Paid Users", "Time Cap Months"):
        frame[c] = pd.array(frame[c].tolist(), dtype="Int64")
    frame.index = pd.RangeIndex(2, 2 + len(frame))
    return frame


FLAT = rate_card(("*", 5.0, "USD", None, None, None))


def earnings_ledger(rows: Iterable[Mapping[str, Any]] = ()) -> pd.DataFrame:
    """Existing Earnings Ledger rows as validation gives them (Month a datetime, counts numbers)."""
    records = [dict(r) for r in rows]
    frame = pd.DataFrame({c: pd.Series([r.get(c) for r in records], dtype=object) for c in EARNINGS_HEADER})
    frame["Month"] = pd.to_datetime(frame["Month"].map(lambda m: None if m is None else f"{m}-01"))
    for c in ("Active Users", "Paid Units", "Prior High-Water Mark", "New Users", "Paid Users"):
        frame[c] = pd.array(frame[c].tolist(), dtype="Int64")
    for c in ("Rate per User", "Amount"):
        frame[c] = pd.to_numeric(frame[c]).astype(float)
    frame.index = pd.RangeIndex(2, 2 + len(frame))
    return frame


def after(existing: pd.DataFrame, result: EarningsResult) -> pd.DataFrame:
    """The ledger as the next run reads it: the existing rows, then this run's rows below them."""
    old = existing.assign(Month=existing["Month"].dt.strftime("%Y-%m")).to_dict("records")
    return earnings_ledger([*old, *result.new_ledger_rows.to_dict("records")])


def run(
    rows: list[dict[str, Any]],
    use: list[dict[str, Any]],
    card: pd.DataFrame | None = FLAT,
    settings: Settings = HWM,
    paid: pd.DataFrame | None = None,
    as_of: dt.date = AS_OF,
) -> EarningsResult:
    return evaluate_earnings(
        associations(rows),
        usage(use),
        customers([1, 2]),
        card,
        settings,
        earnings_ledger() if paid is None else paid,
        as_of,
    )


def exo(*months: tuple[str, int, int], workload: str = EXO, tenant_no: int = 1) -> list[dict[str, Any]]:
    return [usage_row(tenant_no, workload, m, mau, pau) for m, mau, pau in months]


def months(result: EarningsResult) -> list[tuple[Any, ...]]:
    """(Claim ID, Month, Prior, New Users, Paid Users, Amount, Reason) of each new ledger row."""
    cols = ["Claim ID", "Month", "Prior High-Water Mark", "New Users", "Paid Users", "Amount", "Reason"]
    return [tuple(r) for r in result.new_ledger_rows[cols].itertuples(index=False, name=None)]


EARNED = (A, 2, "Workload", "hwm-earned")
NOT_EARNED = (A, 2, "Workload", "hwm-not-earned")

CASES: list[Any] = [
    # id, association overrides, usage, rate card, expected (claim, month, prior, new, paid, amount, reason)
    # 2023-06 (before the claim) sets the mark at 100; 2023-12: min(150, 300) - 100 = 50 users x 5 = 250
    ("paid-above-prior", {}, exo(("2023-06", 100, 300), ("2023-12", 150, 300)), FLAT,
     [("C-1", "2023-12", 100, 50, 50, 250.0, None)], {EARNED}),
    # PAU 200 <= prior 200 (MAU 250 would be above it)
    ("paid-units-not-above", {}, exo(("2023-06", 200, 300), ("2023-12", 250, 200)), FLAT,
     [("C-1", "2023-12", 200, 0, 0, 0.0, "PAULWPHWM")], {NOT_EARNED}),
    # both PAU 150 and MAU 150 <= 200: PAULWPHWM comes first
    ("pau-before-mau", {}, exo(("2023-06", 200, 300), ("2023-12", 150, 150)), FLAT,
     [("C-1", "2023-12", 200, 0, 0, 0.0, "PAULWPHWM")], {NOT_EARNED}),
    # MAU 180 <= prior 200 while PAU 300 is above it
    ("active-users-not-above", {}, exo(("2023-06", 200, 300), ("2023-12", 180, 300)), FLAT,
     [("C-1", "2023-12", 200, 0, 0, 0.0, "MAULWPHWM")], {NOT_EARNED}),
    # min(105, 300) - 100 = 5 new users, below Min New Users 10
    ("minimum-not-met", {}, exo(("2023-06", 100, 300), ("2023-12", 105, 300)),
     rate_card(("*", 5.0, "USD", 10, None, None)),
     [("C-1", "2023-12", 100, 5, 0, 0.0, "MINTHNTMT")], {NOT_EARNED}),
    # exactly Min New Users pays: 110 - 100 = 10
    ("minimum-exactly-met", {}, exo(("2023-06", 100, 300), ("2023-12", 110, 300)),
     rate_card(("*", 5.0, "USD", 10, None, None)), [("C-1", "2023-12", 100, 10, 10, 50.0, None)], {EARNED}),
    # Time Cap 2: approved 2023-11, so 2023-12 (1 month after) and 2024-01 (2) count, 2024-02 (3) is capped
    # even though it grew (prior 140, 200 active users), and capping comes before PAULWPHWM in 2024-03
    ("time-cap", {}, exo(("2023-12", 120, 300), ("2024-01", 140, 300), ("2024-02", 200, 300),
                         ("2024-03", 100, 100)),
     rate_card(("*", 5.0, "USD", None, None, 2)),
     [("C-1", "2023-12", 0, 120, 120, 600.0, None), ("C-1", "2024-01", 120, 20, 20, 100.0, None),
      ("C-1", "2024-02", 140, 60, 0, 0.0, "MXTMCPMT"), ("C-1", "2024-03", 200, 0, 0, 0.0, "MXTMCPMT")],
     {EARNED, NOT_EARNED}),
    # Max Paid Users 60: 50 paid in 2023-12; 2024-01 has 50 new but room for 10; 2024-02 is at the cap;
    # 2024-03 has 3 new users, below Min New Users 5: MINTHNTMT comes before MAXUNITS
    ("max-paid-users", {}, exo(("2023-06", 100, 400), ("2023-12", 150, 400), ("2024-01", 200, 400),
                               ("2024-02", 260, 400), ("2024-03", 263, 400)),
     rate_card(("*", 2.5, "EUR", 5, 60, None)),
     [("C-1", "2023-12", 100, 50, 50, 125.0, None), ("C-1", "2024-01", 150, 50, 10, 25.0, None),
      ("C-1", "2024-02", 200, 60, 0, 0.0, "MAXUNITS"), ("C-1", "2024-03", 260, 3, 0, 0.0, "MINTHNTMT")],
     {EARNED, NOT_EARNED}),
    # MAU 400 above PAU 250: only paid seats can be new users: min(400, 250) - 100 = 150
    ("mau-above-pau", {}, exo(("2023-06", 100, 300), ("2023-12", 400, 250)), FLAT,
     [("C-1", "2023-12", 100, 150, 150, 750.0, None)], {EARNED}),
    # no Usage row for 2024-01: no ledger row; 2024-02's prior is 2023-12's 150 (the all-time high so far)
    ("month-without-usage", {}, exo(("2023-06", 100, 300), ("2023-12", 150, 300), ("2024-02", 170, 300)), FLAT,
     [("C-1", "2023-12", 100, 50, 50, 250.0, None), ("C-1", "2024-02", 150, 20, 20, 100.0, None)], {EARNED}),
    # a high mark set in 2022 (another partner's time) holds: 450 <= 500 pays nothing, 520 pays 20
    ("all-time-prior", {}, exo(("2022-03", 500, 600), ("2023-06", 100, 600), ("2023-12", 450, 600),
                               ("2024-01", 520, 600)), FLAT,
     [("C-1", "2023-12", 500, 0, 0, 0.0, "MAULWPHWM"), ("C-1", "2024-01", 500, 20, 20, 100.0, None)],
     {EARNED, NOT_EARNED}),
    # the approval month and months after the as-of month never count; nor does the month of Ended
    ("counted-months", dict(ended="2024-03-05"),
     exo(("2023-11", 50, 300), ("2023-12", 80, 300), ("2024-02", 90, 300), ("2024-03", 200, 300)), FLAT,
     [("C-1", "2023-12", 50, 30, 30, 150.0, None), ("C-1", "2024-02", 80, 10, 10, 50.0, None)], {EARNED}),
    # an exact workload row beats "*"
    ("exact-workload-row", {}, exo(("2023-12", 10, 300)),
     rate_card(("*", 5.0, "USD", None, None, None), (EXO, 1.25, "GBP", None, None, None)),
     [("C-1", "2023-12", 0, 10, 10, 12.5, None)], {EARNED}),
    # not Approved, opted out, not incentivised: nothing, whatever the usage
    ("submitted-claim", dict(status="Submitted", approved=None), exo(("2023-12", 150, 300)), FLAT, [], set()),
    ("opted-out", {"Incentive Opt-out": True}, exo(("2023-12", 150, 300)), FLAT, [], set()),
    ("role-not-incentivised", {"Partner Role": "Build intent - Advisor"}, exo(("2023-12", 150, 300)), FLAT, [],
     set()),
    ("role-use-or-consume", {"Partner Role": "Use or consume", "Incentive Opt-out": False},
     exo(("2023-12", 150, 300)), FLAT, [("C-1", "2023-12", 0, 150, 150, 750.0, None)], {EARNED}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "use", "card", "expected", "found"), [pytest.param(*c[1:], id=c[0]) for c in CASES]
)
def test_cases(
    overrides: dict[str, Any],
    use: list[dict[str, Any]],
    card: pd.DataFrame,
    expected: list[tuple[Any, ...]],
    found: set[tuple[Any, ...]],
) -> None:
    result = run([association("C-1", **{**BASE, **overrides})], use, card)
    assert months(result) == expected
    assert keys(result.findings) == found


def test_the_boundary_month() -> None:
    # High-Water Mark From 2024-01: 2023-12 stays on milestones (no ledger row) but its 150 active users
    # still set the mark that 2024-01 is measured against: 170 - 150 = 20
    result = run(
        [association("C-1", **BASE)],
        exo(("2023-06", 100, 300), ("2023-12", 150, 300), ("2024-01", 170, 300)),
        settings=Settings(high_water_mark_from=dt.date(2024, 1, 1)),
    )
    assert months(result) == [("C-1", "2024-01", 150, 20, 20, 100.0, None)]


def test_without_high_water_mark_from_nothing_changes() -> None:
    result = run([association("C-1", **BASE)], exo(("2023-12", 150, 300)), settings=Settings())
    assert result.new_ledger_rows.empty and result.findings == []
    assert result.high_water_mark.tolist() == [None] and result.earned.tolist() == [""]


def test_the_cap_is_reached_across_two_claims() -> None:
    # Max Paid Users 100 per customer workload, whoever claims it. C-1 (partner 111) counts 2023-12 and
    # 2024-01 (ended in February): 50 + 30 = 80. C-2 (partner 222), approved in February, counts from March:
    # 40 new users but room for 20; April is at the cap.
    rows = [
        association("C-1", **{**BASE, "ended": "2024-02-10"}),
        association("C-2", partner="222", created="2024-01-10", poe="2024-01-11", submitted="2024-01-15",
                    approved="2024-02-12"),
    ]  # fmt: skip
    use = exo(
        ("2023-06", 100, 500),
        ("2023-12", 150, 500),
        ("2024-01", 180, 500),
        ("2024-02", 180, 500),
        ("2024-03", 220, 500),
        ("2024-04", 300, 500),
    )
    result = run(rows, use, rate_card(("*", 5.0, "USD", None, 100, None)))
    assert months(result) == [
        ("C-1", "2023-12", 100, 50, 50, 250.0, None),
        ("C-1", "2024-01", 150, 30, 30, 150.0, None),
        ("C-2", "2024-03", 180, 40, 20, 100.0, None),
        ("C-2", "2024-04", 220, 80, 0, 0.0, "MAXUNITS"),
    ]
    assert result.earned.tolist() == ["80 users, 400.00 USD", "20 users, 100.00 USD"]
    assert result.high_water_mark.tolist() == [300, 300]
    maxed = [f for f in result.findings if f.code == "hwm-not-earned"]
    assert [(f.row, f.claim_id) for f in maxed] == [(3, "C-2")]
    assert "100" in maxed[0].message and "MAXUNITS" in maxed[0].message


def test_a_ledger_row_from_an_earlier_run_is_kept_and_counts_toward_the_cap() -> None:
    # the earlier run recorded 2023-12 with 70 paid users (say, under an older rate card): it is not
    # recomputed, and with Max Paid Users 100 only 30 of January's 50 new users are paid
    earlier = earnings_ledger(
        [dict(zip(EARNINGS_HEADER, ["C-1", tenant(1), "Customer 1", EXO, "111", "2023-12", 170, 300, 100, 70, 70,
                                    5.0, 350.0, "USD", None, "2024-01-05"], strict=True))]
    )  # fmt: skip
    use = exo(("2023-06", 100, 300), ("2023-12", 150, 300), ("2024-01", 220, 300))
    card = rate_card(("*", 5.0, "USD", None, 100, None))
    result = run([association("C-1", **BASE)], use, card, paid=earlier)
    # January's prior is 170: the ledger remembers 2023-12 at 170 active users, above the Usage row's 150
    assert months(result) == [("C-1", "2024-01", 170, 50, 30, 150.0, None)]
    assert result.earned.tolist() == ["100 users, 500.00 USD"]
    again = run([association("C-1", **BASE)], use, card, paid=after(earlier, result))
    assert again.new_ledger_rows.empty
    assert again.earned.tolist() == ["100 users, 500.00 USD"]


def test_earned_names_each_currency_a_claim_was_paid_in() -> None:
    # C-1's December was recorded at 5 EUR a user (70 users, 350.00 EUR); January pays 50 new users at the
    # Rate Card's 5 USD (250.00 USD). C-2 (another tenant) earns only in USD; C-3 has no month at all.
    earlier = earnings_ledger(
        [dict(zip(EARNINGS_HEADER, ["C-1", tenant(1), "Customer 1", EXO, "111", "2023-12", 170, 300, 100, 70, 70,
                                    5.0, 350.0, "EUR", None, "2024-01-05"], strict=True))]
    )  # fmt: skip
    use = [
        *exo(("2023-06", 100, 300), ("2023-12", 150, 300), ("2024-01", 220, 300)),
        usage_row(2, EXO, "2023-06", 10, 100),
        usage_row(2, EXO, "2024-01", 30, 100),
    ]
    rows = [
        association("C-1", **BASE),
        association("C-2", tenant_no=2, **BASE),
        association("C-3", tenant_no=2, workload=TEAMS, **BASE),
    ]
    result = run(rows, use, paid=earlier)
    assert result.earned.tolist() == ["120 users, 350.00 EUR, 250.00 USD", "20 users, 100.00 USD", ""]


def test_a_second_run_on_the_same_day_reports_what_the_first_did() -> None:
    use = exo(("2023-06", 200, 300), ("2023-12", 250, 400), ("2024-01", 240, 400))
    first = run([association("C-1", **BASE)], use)
    second = run([association("C-1", **BASE)], use, paid=after(earnings_ledger(), first))
    assert second.new_ledger_rows.empty
    assert [(f.code, f.row, f.message) for f in second.findings] == [
        (f.code, f.row, f.message) for f in first.findings
    ]
    assert keys(first.findings) == {EARNED, NOT_EARNED}
    later = run(
        [association("C-1", **BASE)], use, paid=after(earnings_ledger(), first), as_of=dt.date(2024, 7, 1)
    )
    assert later.findings == []


def test_without_a_rate_card_users_are_counted_and_amounts_blank() -> None:
    use = exo(("2023-06", 100, 300), ("2023-12", 150, 300), ("2024-01", 151, 300))
    result = run([association("C-1", **BASE)], use, card=None)
    assert months(result) == [
        ("C-1", "2023-12", 100, 50, 50, None, None),
        ("C-1", "2024-01", 150, 1, 1, None, None),  # Min New Users 1
    ]
    assert result.new_ledger_rows[["Rate per User", "Currency"]].isna().all().all()
    assert keys(result.findings) == {EARNED, ("Rate Card", None, None, "no-rate-card")}
    assert result.earned.tolist() == ["51 users"]


def test_a_rate_card_without_the_workload() -> None:
    rows = [association("C-1", **BASE), association("C-2", **{**BASE, "workload": TEAMS})]
    use = exo(("2023-12", 150, 300)) + exo(("2023-12", 20, 300), workload=TEAMS)
    result = run(rows, use, rate_card((EXO, 5.0, "USD", None, None, None)))
    assert months(result) == [
        ("C-1", "2023-12", 0, 150, 150, 750.0, None),
        ("C-2", "2023-12", 0, 20, 20, None, None),
    ]
    (missing,) = [f for f in result.findings if f.code == "no-rate-card"]
    assert TEAMS in missing.message


def test_two_approved_claims_of_one_workload_the_earlier_approval_takes_the_month() -> None:
    rows = [
        association("C-2", **{**BASE, "partner": "222", "approved": "2023-11-25"}),
        association("C-1", **BASE),
    ]
    result = run(rows, exo(("2023-12", 150, 300)))
    assert months(result) == [("C-1", "2023-12", 0, 150, 150, 750.0, None)]
    assert keys(result.findings) == {(A, 3, "Workload", "hwm-earned")}


def test_ledger_row_values() -> None:
    result = run([association("C-1", **BASE)], exo(("2023-06", 100, 300), ("2023-12", 150, 320)))
    assert list(result.new_ledger_rows.columns) == list(EARNINGS_HEADER)
    assert result.new_ledger_rows.to_dict("records") == [
        {
            "Claim ID": "C-1",
            "Tenant ID": tenant(1),
            "Customer": "Customer 1",
            "Workload": EXO,
            "Partner ID": "111",
            "Month": "2023-12",
            "Active Users": 150,
            "Paid Units": 320,
            "Prior High-Water Mark": 100,
            "New Users": 50,
            "Paid Users": 50,
            "Rate per User": 5.0,
            "Amount": 250.0,
            "Currency": "USD",
            "Reason": None,
            "Recorded On": "2024-06-30",
        }
    ]
    (found,) = result.findings
    assert found.claim_id == "C-1" and "2023-12" in found.message and "250.00 USD" in found.message


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("PAULWPHWM", "paid units (200) were not above the high-water mark of 200 active users"),
        ("MAULWPHWM", "active users (180) did not rise above the high-water mark of 200"),
    ],
)
def test_the_reason_in_words(reason: str, words: str) -> None:
    use = exo(
        ("2023-06", 200, 300), ("2023-12", 250, 200) if reason == "PAULWPHWM" else ("2023-12", 180, 300)
    )
    (found,) = run([association("C-1", **BASE)], use).findings
    assert words in found.message and reason in found.message


# ------------------------------------------------------------------------------------- property tests

PROFILE = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MONTHS = [f"{2023 + (i // 12)}-{i % 12 + 1:02d}" for i in range(18)]  # 2023-01 .. 2024-06


@st.composite
def worlds(draw: Any) -> dict[str, Any]:
    use = []
    for tenant_no in (1, 2):
        for month in MONTHS:
            if draw(st.integers(0, 4)):  # about one month in five has no Usage row
                use.append(
                    usage_row(tenant_no, EXO, month, draw(st.integers(0, 400)), draw(st.integers(0, 400)))
                )
    rows = []
    for i in range(draw(st.integers(1, 3))):
        approved = dt.date(2023, 1, 1) + dt.timedelta(days=draw(st.integers(0, 500)))
        ended = draw(st.none() | st.integers(20, 300).map(lambda d, a=approved: a + dt.timedelta(days=d)))
        rows.append(
            association(
                f"C-{i}",
                tenant_no=draw(st.sampled_from([1, 2])),
                partner=draw(st.sampled_from(["111", "222"])),
                status=draw(st.sampled_from(["Approved", "Approved", "Rejected final"])),
                created="2022-12-01",
                poe="2022-12-02",
                submitted="2022-12-05",
                approved=approved.isoformat(),
                ended=None if ended is None else ended.isoformat(),
            )
        )
    card = rate_card(
        (
            "*",
            2.0,
            "USD",
            draw(st.none() | st.integers(1, 30)),
            draw(st.none() | st.integers(0, 400)),
            draw(st.none() | st.integers(1, 12)),
        )
    )
    start = dt.date(2023, draw(st.integers(1, 12)), 1)
    return dict(rows=rows, use=use, card=card, settings=Settings(high_water_mark_from=start))


def oracle(world: dict[str, Any], as_of: dt.date, paid_before: dict[tuple[str, str], float],
           held: set[tuple[str, str, str]]) -> list[tuple[str, str, int]]:  # fmt: skip
    """The SPEC's rule written out month by month in plain Python: (Claim ID, Month, Paid Users) per row."""
    (card,) = world["card"].to_dict("records")
    cap = None if pd.isna(card["Time Cap Months"]) else int(card["Time Cap Months"])
    most = None if pd.isna(card["Max Paid Users"]) else int(card["Max Paid Users"])
    least = 1 if pd.isna(card["Min New Users"]) else int(card["Min New Users"])
    start = world["settings"].high_water_mark_from.isoformat()[:7]
    out = []
    for t in sorted({u["Tenant ID"] for u in world["use"]}):
        series = {
            u["Month"][:7]: (u["Active Users"], u["Paid Units"]) for u in world["use"] if u["Tenant ID"] == t
        }
        already = paid_before.get((t, EXO), 0.0)
        for month in sorted(series):
            if month > as_of.isoformat()[:7] or month < start or (t, EXO, month) in held:
                continue
            counting = [
                r for r in world["rows"]
                if r["Tenant ID"] == t and r["Status"] == "Approved" and r["Approved"][:7] < month
                and (r["Ended"] is None or month < r["Ended"][:7])
            ]  # fmt: skip
            if not counting:
                continue
            claim = min(counting, key=lambda r: (r["Approved"], r["Claim ID"]))
            mau, pau = series[month]
            prior = max([series[m][0] for m in series if m < month], default=0)
            new = min(mau, pau) - prior
            since = (
                (int(month[:4]) - int(claim["Approved"][:4])) * 12
                + int(month[5:])
                - int(claim["Approved"][5:7])
            )
            reason = (cap is not None and since > cap) or pau <= prior or mau <= prior or new < least
            if reason or (most is not None and already >= most):
                paid = 0
            else:
                paid = new if most is None else min(new, most - already)
            already += paid
            out.append((claim["Claim ID"], month, int(paid)))
    return out


@PROFILE
@given(worlds(), st.integers(0, 17))
def test_paid_users_follow_the_rule_and_never_exceed_the_rise_or_the_cap(
    world: dict[str, Any], cut: int
) -> None:
    # two runs: one as of an earlier month, then one as of June 2024 on the ledger the first left
    first_as_of = dt.date(2023 + cut // 12, cut % 12 + 1, 28)

    def evaluate(as_of: dt.date, paid: pd.DataFrame) -> EarningsResult:
        return run(world["rows"], world["use"], world["card"], world["settings"], paid, as_of)

    first = evaluate(first_as_of, earnings_ledger())
    ledger_one = after(earnings_ledger(), first)
    second = evaluate(AS_OF, ledger_one)
    whole = after(ledger_one, second)

    def rows_of(result: EarningsResult) -> list[tuple[str, str, int]]:
        frame = result.new_ledger_rows
        return list(zip(frame["Claim ID"], frame["Month"], frame["Paid Users"], strict=True))

    assert rows_of(first) == oracle(world, first_as_of, {}, set())
    paid_first = {(tenant(n), EXO): float(first.new_ledger_rows.loc[first.new_ledger_rows["Tenant ID"] == tenant(n), "Paid Users"].sum()) for n in (1, 2)}  # fmt: skip
    held = {(t, w, m) for t, w, m in zip(first.new_ledger_rows["Tenant ID"], first.new_ledger_rows["Workload"], first.new_ledger_rows["Month"], strict=True)}  # fmt: skip
    assert rows_of(second) == oracle(world, AS_OF, paid_first, held)

    (card,) = world["card"].to_dict("records")
    for n in (1, 2):
        mine = whole[whole["Tenant ID"] == tenant(n)].sort_values("Month")
        if mine.empty:
            continue
        paid = mine["Paid Users"].astype(int)
        # never more than the rise of the all-time high: per month, and over all months
        assert (paid <= (mine["Active Users"] - mine["Prior High-Water Mark"]).clip(lower=0)).all()
        highest = max(
            u["Active Users"]
            for u in world["use"]
            if u["Tenant ID"] == tenant(n) and u["Month"] <= "2024-06-01"
        )
        assert paid.sum() <= highest - int(mine["Prior High-Water Mark"].iloc[0])
        if not pd.isna(card["Max Paid Users"]):
            assert paid.sum() <= int(card["Max Paid Users"])
    # and a third run adds nothing
    assert evaluate(AS_OF, whole).new_ledger_rows.empty


def test_opted_out_and_non_incentivised_claims_next_to_a_normal_one() -> None:
    # three customers with the same usage: only the row that can earn is paid
    rows = [
        association("C-1", **BASE),
        association("C-2", tenant_no=2, **{**BASE, "Incentive Opt-out": True}),
        association("C-3", tenant_no=3, **{**BASE, "Partner Role": "Influenced Revenue recognition - Non-Incentivized"}),
    ]  # fmt: skip
    use = [
        usage_row(n, EXO, m, mau, 300) for n in (1, 2, 3) for m, mau in (("2023-06", 100), ("2023-12", 150))
    ]
    result = run(rows, use)
    assert months(result) == [("C-1", "2023-12", 100, 50, 50, 250.0, None)]
    assert result.earned.tolist() == ["50 users, 250.00 USD", "", ""]
    assert result.high_water_mark.tolist() == [150, 150, 150]


def test_the_readmes_worked_example() -> None:
    # the table in the README's "How usage is paid" section, row for row
    use = exo(("2023-06", 100, 300), ("2023-11", 95, 300), ("2023-12", 150, 300), ("2024-01", 140, 300),
              ("2024-02", 156, 300), ("2024-03", 230, 200), ("2024-04", 320, 400), ("2024-05", 400, 400))  # fmt: skip
    result = run([association("C-1", **BASE)], use, rate_card(("*", 5.0, "USD", 10, 120, None)))
    assert months(result) == [
        ("C-1", "2023-12", 100, 50, 50, 250.0, None),
        ("C-1", "2024-01", 150, 0, 0, 0.0, "MAULWPHWM"),
        ("C-1", "2024-02", 150, 6, 0, 0.0, "MINTHNTMT"),
        ("C-1", "2024-03", 156, 44, 44, 220.0, None),
        ("C-1", "2024-04", 230, 90, 26, 130.0, None),
        ("C-1", "2024-05", 320, 80, 0, 0.0, "MAXUNITS"),
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(-1, 6),
            st.none()
            | st.floats(-1e12, 1e12, allow_nan=False)
            | st.sampled_from([0.1, 0.2, 0.3, 1e15, -1e15, 1.5, 0.0, -0.0]),
        ),
        max_size=80,
    ),
    st.sampled_from([1, 40]),
)
def test_group_sums_add_up_each_code(rows: list[tuple[int, float | None]], repeat: int) -> None:
    """Per code 0..6 the sum of its values (None: NaN, skipped; code -1: no group), to the last few bits of
    the exactly rounded sum, for a few values and for many (``repeat``)."""
    codes = np.array([c for c, _ in rows] * repeat, dtype=np.int64)
    values = np.array([np.nan if v is None else v for _, v in rows] * repeat, dtype=float)
    got = group_sums(codes, values, 7)
    for code in range(7):
        mine = [v for c, v in zip(codes.tolist(), values.tolist(), strict=True) if c == code and v == v]
        bound = len(mine) * 2.0**-52 * math.fsum(abs(v) for v in mine)  # a float sum's error bound
        assert got[code] == pytest.approx(math.fsum(mine), rel=0, abs=bound), code

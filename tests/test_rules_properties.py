"""Properties of the rules over generated workbooks (hypothesis): row order never matters, the ledger
pays once across runs, and a later as-of date never takes a reached milestone away."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rules_frames import (
    EXO,
    TEAMS,
    association,
    associations,
    customers,
    ledger,
    ledger_after,
    usage,
    usage_row,
)

from cpor_excel.model.program import Settings, example_milestones
from cpor_excel.rules.conflicts import find_conflicts
from cpor_excel.rules.milestones import MilestoneResult, evaluate_milestones

START = dt.date(2024, 10, 1)
MONTHS = [f"{2024 + (9 + i) // 12}-{(9 + i) % 12 + 1:02d}" for i in range(12)]  # 2024-10 .. 2025-09
STATUSES = ["Approved", "Approved", "Approved", "Submitted", "Rejected", "Rejected final", "Dispute"]
PROFILE = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass
class World:
    assoc: pd.DataFrame
    usage: pd.DataFrame
    settings: Settings
    as_of: dt.date
    later: dt.date

    def evaluate(self, as_of: dt.date | None = None, paid: pd.DataFrame | None = None) -> MilestoneResult:
        return evaluate_milestones(
            self.assoc,
            self.usage,
            customers([1, 2, 3]),
            example_milestones(),
            self.settings,
            ledger() if paid is None else paid,
            as_of or self.as_of,
        )


@st.composite
def claims(draw: Any, i: int) -> dict[str, Any]:
    submitted = START + dt.timedelta(days=draw(st.integers(0, 300)))
    approved = submitted + dt.timedelta(days=draw(st.integers(0, 60)))
    ended = approved + dt.timedelta(days=draw(st.integers(1, 300)))
    return association(
        f"C-{i:02d}",
        tenant_no=draw(st.integers(1, 3)),
        workload=draw(st.sampled_from([EXO, TEAMS])),
        partner=draw(st.sampled_from(["111", "222", "333"])),
        status=draw(st.sampled_from(STATUSES)),
        created=(submitted - dt.timedelta(days=3)).isoformat(),
        poe=(submitted - dt.timedelta(days=draw(st.integers(0, 30)))).isoformat(),
        submitted=submitted.isoformat(),
        approved=approved.isoformat() if draw(st.integers(0, 5)) else None,
        ended=ended.isoformat() if draw(st.integers(0, 3)) == 0 else None,
    )


@st.composite
def worlds(draw: Any) -> World:
    n = draw(st.integers(1, 6))
    rows = [draw(claims(i)) for i in range(n)]
    # usage from a drawn seed: 72 cells per world are cheaper from numpy than from 72 draws
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    use = []
    for tenant_no in (1, 2, 3):
        for workload in (EXO, TEAMS):
            for month in MONTHS:
                if rng.random() < 0.7:
                    pau = int(rng.integers(50, 1200))
                    mau = int(rng.integers(0, pau + 1))
                    use.append(usage_row(tenant_no, workload, month, mau, pau))
    as_of = START + dt.timedelta(days=draw(st.integers(60, 360)))
    window = draw(st.one_of(st.none(), st.integers(1, 6)))
    minimum = draw(st.sampled_from([100, 150, 300]))
    return World(
        associations(rows),
        usage(use),
        Settings(minimum_paid_units=minimum, milestone_window_months=window),
        as_of,
        as_of + dt.timedelta(days=draw(st.integers(1, 200))),
    )


def shuffled(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    return frame.sample(frac=1.0, random_state=seed)


@PROFILE
@given(worlds(), st.integers(0, 2**31))
def test_row_order_does_not_matter(world: World, seed: int) -> None:
    one = world.evaluate()
    other = evaluate_milestones(
        shuffled(world.assoc, seed),
        shuffled(world.usage, seed + 1),
        customers([3, 1, 2]),
        example_milestones(),
        world.settings,
        ledger(),
        world.as_of,
    )
    pd.testing.assert_frame_equal(other.new_ledger_rows, one.new_ledger_rows)
    assert other.findings == one.findings
    assert other.reached.sort_index().tolist() == one.reached.tolist()
    assert other.next_milestone.sort_index().tolist() == one.next_milestone.tolist()
    conflicts = find_conflicts(world.assoc, world.as_of)
    again = find_conflicts(shuffled(world.assoc, seed), world.as_of)
    assert again.findings == conflicts.findings
    assert again.conflicts_with.sort_index().tolist() == conflicts.conflicts_with.tolist()


@PROFILE
@given(worlds())
def test_the_ledger_pays_once(world: World) -> None:
    first = world.evaluate()
    new = first.new_ledger_rows
    assert not new.duplicated(["Tenant ID", "Workload", "Milestone"]).any()
    second = world.evaluate(paid=ledger_after(ledger(), new))
    assert len(second.new_ledger_rows) == 0
    assert [f for f in second.findings if f.code == "ledger-unsupported"] == []
    assert second.reached.tolist() == first.reached.tolist()
    # every reached milestone is in the bucket of its month and meets its threshold
    assert (new["Active Usage %"].astype(float) >= 0).all()
    assert (new["Paid Units"].astype(int) >= world.settings.minimum_paid_units).all()


def _held(result: MilestoneResult) -> set[tuple[int, str]]:
    return {(row, item) for row, text in result.reached.items() for item in text.split("; ") if item}


@PROFILE
@given(worlds())
def test_a_later_as_of_never_takes_a_milestone_away(world: World) -> None:
    early = world.evaluate()
    assert _held(early) <= _held(world.evaluate(as_of=world.later))
    # and with the first run's ledger rows kept, as the workbook keeps them
    kept = world.evaluate(as_of=world.later, paid=ledger_after(ledger(), early.new_ledger_rows))
    assert _held(early) <= _held(kept)

"""Time each CPOR rule on a large partner book generated in memory: 5,000 customers, 50,000 associations,
500,000 usage rows (typed frames as validation hands them to the rules; no file is read or written).

    python benchmarks/bench_rules.py [--customers N] [--associations N] [--usage N] [--seed N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from cpor_excel.model.catalogue import WORKLOADS
from cpor_excel.model.columns import LEDGER_HEADER
from cpor_excel.model.program import Settings, example_milestones
from cpor_excel.rules import claims, conflicts, consent, milestones, poe_dates, usage

AS_OF = dt.date(2025, 9, 30)
FIRST_MONTH = np.datetime64("2023-10", "M")


def guids(numbers: np.ndarray) -> np.ndarray:
    return np.char.add(
        np.char.add(np.char.zfill(numbers.astype(str), 8), "-0000-4000-8000-"),
        np.char.zfill(numbers.astype(str), 12),
    ).astype(object)


def book(n_customers: int, n_associations: int, n_usage: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    workloads = np.array(list(WORKLOADS), dtype=object)
    tenants = guids(np.arange(n_customers))
    customers = pd.DataFrame(
        {
            "Tenant ID": tenants,
            "Customer Name": np.char.add("Customer ", np.arange(n_customers).astype(str)).astype(object),
        },
        index=pd.RangeIndex(2, n_customers + 2),
    )

    # every customer claims a run of workloads; 5% of customer workloads are claimed again by a rival
    per_customer = max(1, int(n_associations * 0.95) // n_customers)
    base = n_customers * per_customer
    customer = np.repeat(np.arange(n_customers), per_customer)
    workload = np.tile(np.arange(per_customer) % len(workloads), n_customers)
    claim = np.char.add("C-", (np.arange(base) // 3).astype(str)).astype(object)
    partner = (1_000_000 + rng.integers(0, 40, base // 3 + 1))[np.arange(base) // 3]
    rivals = rng.choice(base, n_associations - base, replace=False)
    customer = np.concatenate([customer, customer[rivals]])
    workload = np.concatenate([workload, workload[rivals]])
    claim = np.concatenate([claim, np.char.add("R-", np.arange(len(rivals)).astype(str)).astype(object)])
    partner = np.concatenate([partner, 2_000_000 + rng.integers(0, 40, len(rivals))])
    n = len(customer)

    status = rng.choice(
        np.array(["Approved", "Submitted", "Under review", "Rejected", "Draft"], dtype=object),
        n,
        p=[0.7, 0.1, 0.05, 0.1, 0.05],
    )
    submitted = np.datetime64("2023-09-01") + rng.integers(0, 700, n).astype("timedelta64[D]")
    approved = np.where(status == "Approved", submitted + np.timedelta64(14, "D"), np.datetime64("NaT"))
    ended = np.where(rng.random(n) < 0.05, submitted + np.timedelta64(200, "D"), np.datetime64("NaT"))
    draft = status == "Draft"
    associations = pd.DataFrame(
        {
            "Claim ID": claim,
            "Tenant ID": tenants[customer],
            "Workload": workloads[workload],
            "Partner ID": partner.astype(str).astype(object),
            "Status": status,
            "Created": (submitted - np.timedelta64(5, "D")).astype("datetime64[ns]"),
            "POE Signed": (submitted - rng.integers(0, 400, n).astype("timedelta64[D]")).astype(
                "datetime64[ns]"
            ),
            "Submitted": np.where(draft, np.datetime64("NaT"), submitted).astype("datetime64[ns]"),
            "Approved": approved.astype("datetime64[ns]"),
            "Ended": ended.astype("datetime64[ns]"),
        },
        index=pd.RangeIndex(2, n + 2),
    )

    # usage: consecutive months for the first claimed customer workloads, unique (tenant, workload, month)
    months = max(1, -(-n_usage // base))
    pairs = np.arange(min(base, -(-n_usage // months)))
    rows = np.repeat(pairs, months)[:n_usage]
    month = FIRST_MONTH + np.tile(np.arange(months), len(pairs))[:n_usage]
    pau = np.repeat(rng.integers(50, 3000, len(pairs)), months)[:n_usage]
    mau = (pau * np.clip(rng.normal(0.3, 0.2, n_usage), 0, 1.05)).astype(np.int64)
    usage_frame = pd.DataFrame(
        {
            "Tenant ID": tenants[customer[rows]],
            "Workload": workloads[workload[rows]],
            "Month": month.astype("datetime64[ns]"),
            "Active Users": pd.array(mau, dtype="Int64"),
            "Paid Units": pd.array(pau, dtype="Int64"),
        },
        index=pd.RangeIndex(2, n_usage + 2),
    )
    return {"customers": customers, "associations": associations, "usage": usage_frame}


def timed(
    label: str, func: Callable[[], Any], table: list[tuple[str, float, str]], size: Callable[[Any], str]
) -> Any:
    start = time.perf_counter()
    result = func()
    table.append((label, time.perf_counter() - start, size(result)))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--associations", type=int, default=50_000)
    parser.add_argument("--usage", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    start = time.perf_counter()
    data = book(args.customers, args.associations, args.usage, args.seed)
    assoc, use, customers = data["associations"], data["usage"], data["customers"]
    settings = Settings(milestone_window_months=12)
    table = example_milestones()
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in LEDGER_HEADER})
    print(
        f"generated {len(customers):,} customers, {len(assoc):,} associations, {len(use):,} usage rows "
        f"in {time.perf_counter() - start:.2f} s"
    )

    rows: list[tuple[str, float, str]] = []
    found = lambda result: f"{len(result):,} findings"  # noqa: E731
    timed("claims.check_claims", lambda: claims.check_claims(assoc), rows, found)
    timed(
        "poe_dates.check_poe_and_dates",
        lambda: poe_dates.check_poe_and_dates(assoc, settings, AS_OF),
        rows,
        found,
    )
    timed(
        "conflicts.find_conflicts",
        lambda: conflicts.find_conflicts(assoc, AS_OF),
        rows,
        lambda r: f"{len(r.findings):,} findings, {len(r.conflicts):,} conflicts",
    )
    timed(
        "consent.consent_windows",
        lambda: consent.consent_windows(assoc, settings, AS_OF),
        rows,
        lambda r: f"{len(r[0]):,} findings",
    )
    timed("usage.check_usage", lambda: usage.check_usage(use, settings), rows, found)
    first = timed(
        "milestones (empty ledger)",
        lambda: milestones.evaluate_milestones(assoc, use, customers, table, settings, empty, AS_OF),
        rows,
        lambda r: f"{len(r.findings):,} findings, {len(r.new_ledger_rows):,} new ledger rows",
    )
    paid = first.new_ledger_rows.copy()
    paid["Month Reached"] = pd.to_datetime(paid["Month Reached"])
    timed(
        "milestones (ledger of the first run)",
        lambda: milestones.evaluate_milestones(assoc, use, customers, table, settings, paid, AS_OF),
        rows,
        lambda r: f"{len(r.findings):,} findings, {len(r.new_ledger_rows):,} new ledger rows",
    )

    width = max(len(r[0]) for r in rows)
    print(f"\n{'rule':<{width}}  {'seconds':>8}  result")
    for label, seconds, size in rows:
        print(f"{label:<{width}}  {seconds:8.3f}  {size}")
    print(f"{'total':<{width}}  {sum(r[1] for r in rows):8.3f}")


if __name__ == "__main__":
    main()

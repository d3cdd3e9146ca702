"""Milestones: which approved associations reached which usage milestone, and in which month (SPEC "The
rules", DOMAIN "Usage and milestones").

How a month counts, in the program's terms:
- only Approved associations with an Approved date earn; the counted months are those after the month of
  Approved, up to and including the as-of month, before the month of Ended and, when Milestone Window Months
  is set, at most that many months after the month of Approved;
- a counted month needs Paid Units (PAU) >= Minimum Paid Units; its bucket is the Milestones row range
  [Min Paid Units, Max Paid Units] holding PAU (blank max = no bound). Where several ranges hold PAU, a row
  for the exact workload beats a "*" row, then the higher Min Paid Units wins, then the earlier table row;
- usage % = Active Users / Paid Units; every milestone of the bucket whose Active Usage % is met is reached
  in the earliest such month, unless the ledger already pays that (Tenant ID, Workload, Milestone);
- the claim-time gate: when usage % in the month of Submitted (that month's usage row and bucket) was above
  the bucket's Max Usage % At Claim (the lowest one given in the bucket), the association earns nothing;
- one payment per (Tenant ID, Workload, Milestone) across partners and runs: between two associations of
  one customer workload the earliest month wins, then the lower Claim ID.

Vectorised: usage is joined to the approved associations on (Tenant ID, Workload); the only Python loops
are over the (small) milestone table and over the findings and new ledger rows themselves.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cpor_excel.model.findings import Finding
from cpor_excel.model.program import Settings
from cpor_excel.rules.ledger import (
    PAID_KEY,
    empty_ledger,
    ledger_rows,
    month_numbers,
    month_texts,
    paid_keys,
    reached_text,
    unsupported,
)
from cpor_excel.rules.usage import count_array

SHEET = "Associations"
#: usage % is a ratio of whole numbers compared with a typed-in fraction: 35% of 300 must be 105 users
EPS = 1e-9


@dataclass
class MilestoneResult:
    findings: list[Finding]
    #: new Milestone Ledger rows, LEDGER_HEADER columns, cell values, sorted by tenant, workload, month, milestone
    new_ledger_rows: pd.DataFrame
    #: per association row: "M1 2025-04; M2 2025-09" (ledger rows of its claim and workload) or ""
    reached: pd.Series
    #: per association row: what the next milestone needs, e.g. "M3 at 50%: 38 more active users (150/376)"
    next_milestone: pd.Series


def evaluate_milestones(
    associations: pd.DataFrame,
    usage: pd.DataFrame,
    customers: pd.DataFrame,
    milestones: pd.DataFrame,
    settings: Settings,
    ledger: pd.DataFrame,
    as_of: dt.date,
) -> MilestoneResult:
    """Milestones reached as of ``as_of`` and the per-row Milestones Reached / Next Milestone values.

    Findings: `milestone-reached` (info) per new ledger row, on its association row; `usage-gate-exceeded`
    (warning) on an approved row whose claim-time usage was above the gate; `below-minimum-seats` (info)
    on an approved row whose latest usage month has PAU below Minimum Paid Units; `ledger-unsupported`
    (warning) on an existing Milestone Ledger row its claim no longer reaches.
    """
    as_of_month = float((as_of.year - 1970) * 12 + as_of.month - 1)
    buckets, table = _milestone_table(milestones)
    minimum = float(settings.minimum_paid_units)
    # Usage joined once to every association ever approved; what an association reaches depends on its
    # own months only, so the Approved ones' share is a filter of the same tables.
    ever = _earning(associations, settings, as_of_month)
    months_ever = _usage_months(usage, ever, buckets, as_of_month)
    gated_ever = _gate(months_ever)
    reach_ever = _reach(months_ever, gated_ever, table, minimum)
    approved = ever["_pos"][ever["_status"] == "Approved"]
    months = months_ever[months_ever["_pos"].isin(approved)]
    gated = gated_ever[gated_ever["_pos"].isin(approved)]
    reach = reach_ever[reach_ever["_pos"].isin(approved)]
    paid = paid_keys(ledger).rename(columns=_PAID)
    won = _first_to_reach(_not_in(reach, paid))
    new_rows = ledger_rows(won, customers, as_of) if len(won) else empty_ledger()

    latest = _latest(months)
    findings = _reached_findings(won, as_of) + _recorded_today(associations, ledger, as_of)
    findings += _gate_findings(gated)
    findings += _below_minimum_findings(latest, minimum)
    findings += unsupported(ledger, _supporting(reach_ever))
    findings.sort(key=lambda f: (f.sheet, f.row or 0, f.code, f.message))

    paid_now = pd.concat([paid, won[list(_PAID.values())].astype(str)], ignore_index=True)
    return MilestoneResult(
        findings=findings,
        new_ledger_rows=new_rows,
        reached=reached_text(associations, ledger, new_rows),
        next_milestone=_next_milestone(associations, latest, gated, table, paid_now, minimum, as_of_month),
    )


def _reach(months: pd.DataFrame, gated: pd.DataFrame, table: pd.DataFrame, minimum: float) -> pd.DataFrame:
    """Every milestone each association reaches in its counted months, in its earliest month (no ledger)."""
    counted = months[
        (months["_month"] > months["_approved"])
        & (months["_month"] <= months["_last"])
        & (months["_pau"] >= minimum)
        & (months["_pau"] > 0)  # no usage % without paid units, whatever the minimum
        & (months["_bucket_id"] >= 0)
        & ~months["_pos"].isin(gated["_pos"])
    ]
    hits = counted.merge(table, on="_bucket_id")
    hits = hits[hits["_mau"] >= hits["_threshold"] * hits["_pau"] - EPS]
    return hits.sort_values(["_pos", "_milestone", "_month"], kind="stable").drop_duplicates(
        ["_pos", "_milestone"]
    )


def _supporting(reach_ever: pd.DataFrame) -> pd.DataFrame:
    """What every association that was ever approved reaches (Claim ID, Tenant ID, Workload, Milestone).

    A claim approved, then disassociated or rejected, earns nothing new, but the milestones it reached while
    approved (before Ended) still support its ledger rows: they are not `ledger-unsupported`.
    """
    return reach_ever.rename(columns={v: k for k, v in {**_PAID, "Claim ID": "_claim"}.items()})


#: statuses an association can have after approval (Dispute and the rejections follow a disassociation)
EVER_APPROVED = frozenset({"Approved", "Dispute", "Rejected", "Rejected final"})

#: ledger key columns -> the internal names used while joining
_PAID = dict(zip(PAID_KEY, ["_tenant", "_workload", "_milestone"], strict=True))


def _not_in(rows: pd.DataFrame, paid: pd.DataFrame) -> pd.DataFrame:
    """Rows whose (tenant, workload, milestone) is not in ``paid`` (an anti-join)."""
    key = list(_PAID.values())
    marked = rows.merge(paid[key].drop_duplicates().assign(_paid=True), on=key, how="left")
    return marked[marked["_paid"].isna()].drop(columns="_paid")


def _first_to_reach(fresh: pd.DataFrame) -> pd.DataFrame:
    """One winner per (tenant, workload, milestone): the earliest month, then the lower Claim ID; in the
    ledger's order (tenant, workload, month, milestone)."""
    return (
        fresh.sort_values(
            ["_tenant", "_workload", "_milestone", "_month", "_claim", "_row", "_pos"], kind="stable"
        )
        .drop_duplicates(["_tenant", "_workload", "_milestone"])
        .sort_values(["_tenant", "_workload", "_month", "_milestone", "_claim"], kind="stable")
        .reset_index(drop=True)
    )


# --------------------------------------------------------------------------------------------- inputs


def _earning(associations: pd.DataFrame, settings: Settings, as_of_month: float) -> pd.DataFrame:
    """Rows ever approved (``EVER_APPROVED``; _status tells which are Approved now) with an Approved date
    and a complete key, with their month bounds (month numbers): _approved, _submitted, and _last (the
    last month that can count)."""
    approved = _months(associations, "Approved")
    ended = _months(associations, "Ended")
    last = np.fmin(np.full(len(associations), as_of_month), ended - 1)  # fmin ignores NaN: no Ended, no bound
    if settings.milestone_window_months is not None:
        last = np.fmin(last, approved + settings.milestone_window_months)
    frame = pd.DataFrame(
        {
            "_pos": np.arange(len(associations)),
            "_row": associations.index.to_numpy(),
            "_claim": _column(associations, "Claim ID"),
            "_tenant": _column(associations, "Tenant ID"),
            "_workload": _column(associations, "Workload"),
            "_partner": _column(associations, "Partner ID"),
            "_status": _column(associations, "Status"),
            "_approved": approved,
            "_submitted": _months(associations, "Submitted"),
            "_last": last,
        }
    )
    keep = (
        pd.Series(frame["_status"]).isin(EVER_APPROVED).to_numpy(dtype=bool)
        & ~np.isnan(approved)
        & frame[["_claim", "_tenant", "_workload"]].notna().all(axis=1).to_numpy(dtype=bool)
    )
    return frame[keep].astype({"_claim": str, "_tenant": str, "_workload": str})


def _milestone_table(milestones: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(buckets, milestones): one row per (Workload, Bucket) with its range, gate and priority, and one
    row per milestone with its bucket id, threshold, payment and currency. Invalid rows are left out."""

    def numbers(column: str, default: float) -> np.ndarray:
        if column not in milestones:
            return np.full(len(milestones), default)
        return pd.to_numeric(milestones[column], errors="coerce").to_numpy(dtype=float, na_value=default)

    rows = pd.DataFrame(
        {
            "_wl": _column(milestones, "Workload"),
            "_bucket": _column(milestones, "Bucket"),
            "_milestone": _column(milestones, "Milestone"),
            "_min": numbers("Min Paid Units", np.nan),
            "_max": numbers("Max Paid Units", np.inf),
            "_threshold": numbers("Active Usage %", np.nan),
            "_gate": numbers("Max Usage % At Claim", np.nan),
            "_payment": numbers("Payment", np.nan),
            "_currency": _column(milestones, "Currency"),
            "_order": np.arange(len(milestones)),
        }
    )
    rows = rows.dropna(subset=["_wl", "_bucket", "_milestone", "_min", "_threshold"])
    rows = rows.astype({"_wl": str, "_bucket": str, "_milestone": str})
    rows = rows.drop_duplicates(["_wl", "_bucket", "_milestone"])
    buckets = (
        rows.groupby(["_wl", "_bucket"], sort=False)
        .agg(_min=("_min", "min"), _max=("_max", "max"), _gate=("_gate", "min"), _order=("_order", "min"))
        .reset_index()
    )
    buckets["_exact"] = (buckets["_wl"] != "*").astype(bool)
    buckets["_bucket_id"] = np.arange(len(buckets), dtype=np.int64)
    table = rows.merge(buckets[["_wl", "_bucket", "_bucket_id"]], on=["_wl", "_bucket"])[
        ["_bucket_id", "_milestone", "_threshold", "_payment", "_currency"]
    ]
    return buckets, table


def _months(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A date column as month numbers (NaN where empty or when the column is absent)."""
    if name not in frame:
        return np.full(len(frame), np.nan)
    return month_numbers(frame[name])


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A column as an object array with None for missing (all None when the column is absent)."""
    if name not in frame:
        return np.full(len(frame), None, dtype=object)
    values = frame[name].astype(object)
    return np.asarray(values.where(values.notna(), None), dtype=object)


def assign_buckets(workloads: np.ndarray, paid_units: np.ndarray, buckets: pd.DataFrame) -> np.ndarray:
    """The bucket id holding each (workload, PAU), -1 where none does. Loops over the buckets (a handful),
    each step vectorised over all rows: lower-priority buckets are written first and overwritten."""
    out = np.full(len(paid_units), -1, dtype=np.int64)
    if buckets.empty or not len(paid_units):
        return out
    codes, names = pd.factorize(pd.Series(workloads, dtype=object))
    lookup = {str(name): i for i, name in enumerate(names)}
    ordered = buckets.sort_values(["_exact", "_min", "_order"], ascending=[True, True, False], kind="stable")
    for wl, lo, hi, bid in zip(
        ordered["_wl"], ordered["_min"], ordered["_max"], ordered["_bucket_id"], strict=True
    ):
        holds = (paid_units >= lo) & (paid_units <= hi)
        if wl != "*":
            holds &= codes == lookup.get(wl, -2)
        out[holds] = bid
    return out


def _usage_months(
    usage: pd.DataFrame, earning: pd.DataFrame, buckets: pd.DataFrame, as_of_month: float
) -> pd.DataFrame:
    """Usage rows up to the as-of month joined to the approved associations of their customer workload,
    with the bucket of each month's PAU (_bucket_id -1 when none holds it)."""
    frame = pd.DataFrame(
        {
            "_tenant": _column(usage, "Tenant ID"),
            "_workload": _column(usage, "Workload"),
            "_month": _months(usage, "Month"),
            "_mau": count_array(usage, "Active Users"),
            "_pau": count_array(usage, "Paid Units"),
            "_urow": usage.index.to_numpy(),
        }
    )
    frame = frame[frame["_month"] <= as_of_month].dropna()
    frame = frame.astype({"_tenant": str, "_workload": str}).merge(earning, on=["_tenant", "_workload"])
    frame["_bucket_id"] = assign_buckets(
        frame["_workload"].to_numpy(dtype=object), frame["_pau"].to_numpy(dtype=float), buckets
    )
    return frame.merge(buckets[["_bucket_id", "_bucket", "_gate"]], on="_bucket_id", how="left")


# ------------------------------------------------------------------------------------------ decisions


def _gate(months: pd.DataFrame) -> pd.DataFrame:
    """Approved associations whose usage % in the month of Submitted was above their bucket's gate."""
    at_claim = months[
        (months["_month"] == months["_submitted"]) & months["_gate"].notna() & (months["_pau"] > 0)
    ]
    over = at_claim[at_claim["_mau"] > at_claim["_gate"] * at_claim["_pau"] + EPS]
    return over.sort_values(["_pos", "_urow"], kind="stable").drop_duplicates("_pos")


def _latest(months: pd.DataFrame) -> pd.DataFrame:
    """Each approved association's latest usage month up to the as-of month."""
    return months.sort_values(["_pos", "_month", "_urow"], kind="stable").drop_duplicates("_pos", keep="last")


def _next_milestone(
    associations: pd.DataFrame,
    latest: pd.DataFrame,
    gated: pd.DataFrame,
    table: pd.DataFrame,
    paid: pd.DataFrame,
    minimum: float,
    as_of_month: float,
) -> pd.Series:
    """What the next milestone of each approved row needs, from its latest usage month up to as-of: the
    lowest-threshold milestone of that month's bucket that nobody has been paid yet."""
    out = np.full(len(associations), "", dtype=object)
    if latest.empty:
        return pd.Series(out, index=associations.index, dtype=object, name="Next Milestone")
    rows = latest.reset_index(drop=True)
    unpaid = _not_in(rows[["_pos", "_tenant", "_workload", "_bucket_id"]].merge(table, on="_bucket_id"), paid)
    first = unpaid.sort_values(["_pos", "_threshold", "_milestone"], kind="stable").drop_duplicates("_pos")
    rows = rows.merge(first[["_pos", "_milestone", "_threshold"]], on="_pos", how="left")

    mau, pau = rows["_mau"].to_numpy(dtype=float), rows["_pau"].to_numpy(dtype=float)
    threshold = rows["_threshold"].to_numpy(dtype=float)
    needed = np.ceil(np.round(threshold * pau, 6) - EPS) - mau
    counts = " (" + _whole(mau) + "/" + _whole(pau) + ")"
    head = rows["_milestone"].astype(object).fillna("").to_numpy(dtype=object) + " at "
    head = head + np.array([_percent(t) for t in threshold], dtype=object) + ": "
    users = np.where(needed == 1, " more active user", " more active users")
    last = rows["_last"].to_numpy(dtype=float)
    text = np.select(
        [
            rows["_pos"].isin(gated["_pos"]).to_numpy(),
            last < as_of_month,
            pau < minimum,
            (rows["_bucket_id"] < 0).to_numpy(),
            rows["_milestone"].isna().to_numpy(),
            needed > 0,
        ],
        [
            np.full(len(rows), "none: usage at claim time was above the bucket's gate", dtype=object),
            "none: counted months ended " + month_texts(last),
            "needs " + _whole(np.full(len(rows), minimum)) + " paid units to count (" + _whole(pau) + " now)",
            "no milestone bucket holds " + _whole(pau) + " paid units",
            np.full(len(rows), "all milestones reached", dtype=object),
            head + _whole(needed) + users + counts,
        ],
        # the threshold is met in a month that does not count yet (the month of approval or before)
        default=head
        + "met"
        + counts
        + ", counting from "
        + month_texts(rows["_approved"].to_numpy(float) + 1),
    )
    out[rows["_pos"].to_numpy(dtype=np.int64)] = text
    return pd.Series(out, index=associations.index, dtype=object, name="Next Milestone")


# ------------------------------------------------------------------------------------------- findings


def reached_message(
    milestone: str, workload: str, month: str, mau: float, pau: float, bucket: str, day: str
) -> str:
    return (
        f"{milestone} of {workload} reached in {month}: {_whole1(mau)} of {_whole1(pau)} paid units active "
        f"({_percent(mau / pau)}, bucket {bucket}); recorded in the Milestone Ledger on {day}."
    )


def _reached_findings(won: pd.DataFrame, as_of: dt.date) -> list[Finding]:
    months = month_texts(won["_month"].to_numpy(dtype=float))
    return [
        Finding(
            "milestone-reached",
            SHEET,
            reached_message(m, w, month, a, p, b, as_of.isoformat()),
            row=int(r),
            column="Workload",
            claim_id=c,
        )
        for (r, c, w, m, a, p, b), month in zip(
            _records(won, "_row", "_claim", "_workload", "_milestone", "_mau", "_pau", "_bucket"),
            months,
            strict=True,
        )
    ]


def _recorded_today(associations: pd.DataFrame, ledger: pd.DataFrame, as_of: dt.date) -> list[Finding]:
    """`milestone-reached` again for ledger rows an earlier run recorded on this same as-of date, so that a
    second run with one as-of date reports exactly what the first did (SPEC: a run is deterministic)."""
    day = as_of.isoformat()
    needed = ["Claim ID", "Workload", "Milestone", "Month Reached", "Active Users", "Paid Units", "Bucket"]
    if ledger.empty or "Recorded On" not in ledger or any(c not in ledger for c in needed):
        return []
    today = ledger[ledger["Recorded On"].astype(str).str.startswith(day)]
    if today.empty:
        return []
    rows = (
        associations[["Claim ID", "Workload"]]
        .astype(object)
        .reset_index(names="_row")
        .drop_duplicates(["Claim ID", "Workload"])
    )
    hits = today[needed].astype(object).merge(rows, on=["Claim ID", "Workload"], how="inner")
    months = month_texts(month_numbers(hits["Month Reached"]))
    return [
        Finding(
            "milestone-reached",
            SHEET,
            reached_message(str(m), str(w), month, float(a), float(p), str(b), day),
            row=int(r),
            column="Workload",
            claim_id=str(c),
        )
        for (c, w, m, a, p, b, r), month in zip(
            _records(
                hits, "Claim ID", "Workload", "Milestone", "Active Users", "Paid Units", "Bucket", "_row"
            ),
            months,
            strict=True,
        )
    ]


def _gate_findings(gated: pd.DataFrame) -> list[Finding]:
    months = month_texts(gated["_month"].to_numpy(dtype=float))
    return [
        Finding(
            "usage-gate-exceeded",
            SHEET,
            f"Usage of {w} in {month}, the month the claim was submitted, was {_percent(a / p)} "
            f"({_whole1(a)}/{_whole1(p)}), above the {b} bucket's Max Usage % At Claim of {_percent(g)}: "
            "this association earns no milestones.",
            row=int(r),
            column="Submitted",
            claim_id=c,
        )
        for (r, c, w, a, p, b, g), month in zip(
            _records(gated, "_row", "_claim", "_workload", "_mau", "_pau", "_bucket", "_gate"),
            months,
            strict=True,
        )
    ]


def _below_minimum_findings(latest: pd.DataFrame, minimum: float) -> list[Finding]:
    low = latest[latest["_pau"] < minimum]
    months = month_texts(low["_month"].to_numpy(dtype=float))
    return [
        Finding(
            "below-minimum-seats",
            SHEET,
            f"{w} has {_whole1(p)} paid units in {month}, below the Minimum Paid Units of {_whole1(minimum)}: "
            "months below it do not count toward milestones.",
            row=int(r),
            column="Workload",
            claim_id=c,
        )
        for (r, c, w, p), month in zip(
            _records(low, "_row", "_claim", "_workload", "_pau"), months, strict=True
        )
    ]


def _records(frame: pd.DataFrame, *columns: str) -> list[tuple[Any, ...]]:
    """Rows of a few columns as tuples of Python scalars (iterating a Series itself is slow)."""
    return list(zip(*(frame[c].tolist() for c in columns), strict=True))


# --------------------------------------------------------------------------------------------- format


def _percent(fraction: float) -> str:
    """0.5 -> "50%", 0.125 -> "12.5%"."""
    if fraction is None or math.isnan(fraction):
        return ""
    return f"{fraction * 100:.2f}".rstrip("0").rstrip(".") + "%"


def _whole1(value: float) -> str:
    return str(int(value))


def _whole(values: np.ndarray) -> np.ndarray:
    """Whole numbers as text, element-wise (object array)."""
    values = np.asarray(values, dtype=float)
    out = np.full(len(values), "", dtype=object)
    ok = ~np.isnan(values)
    out[ok] = values[ok].astype(np.int64).astype(str).astype(object)
    return out

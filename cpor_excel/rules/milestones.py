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
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from cpor_excel.model.findings import Finding
from cpor_excel.model.program import Settings
from cpor_excel.rules.incentives import incentivised
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
from cpor_excel.rules.milestone_findings import (
    below_minimum_findings,
    gate_findings,
    percents,
    reached_findings,
    recorded_today,
    whole_texts,
)
from cpor_excel.rules.poe_dates import text_array as _column
from cpor_excel.rules.usage import count_array

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
    recording: bool = True,
) -> MilestoneResult:
    """Milestones reached as of ``as_of`` and the per-row Milestones Reached / Next Milestone values.

    Months from High-Water Mark From on are paid above the high-water mark (``earnings.py``), never by a
    milestone; rows that opted out of incentives or whose role earns nothing reach none. ``recording``: False
    for a read-only run, whose messages say what a run would record.

    Findings: `milestone-reached` (info) per new ledger row, on its association row; `usage-gate-exceeded`
    (warning) on an approved row whose claim-time usage was above the gate; `below-minimum-seats` (info)
    on an approved row whose latest usage month has PAU below Minimum Paid Units; `ledger-unsupported`
    (warning) on an existing Milestone Ledger row its claim no longer reaches.
    """
    as_of_month = float((as_of.year - 1970) * 12 + as_of.month - 1)
    buckets, table = _milestone_table(milestones)
    minimum = float(settings.minimum_paid_units)
    # Usage joined once to every association ever approved; what an association reaches depends on its
    # own months only, so the Approved ones' share is a filter of the same tables. The joined tables hold
    # numbers only (texts as codes in sorted order, ``_Names``): the texts come back for the rows reported.
    ever, names = _earning(associations, settings, as_of_month, table)
    months_ever = _usage_months(usage, ever, buckets, names, as_of_month)
    gated_ever = _gate(months_ever)
    reach_ever = _reach(months_ever, gated_ever, table, minimum)
    approved = ever["_pos"][ever["_now"] & ever["_earns"]]
    months = months_ever[months_ever["_pos"].isin(approved)]
    gated = gated_ever[gated_ever["_pos"].isin(approved)]
    reach = reach_ever[reach_ever["_pos"].isin(approved)]
    paid = names.paid_codes(ledger)
    won = names.texts(_first_to_reach(_not_in(reach, paid)), buckets, table)
    new_rows = ledger_rows(won, customers, as_of) if len(won) else empty_ledger()

    latest = _latest(months)
    findings = reached_findings(won, as_of, recording) + recorded_today(associations, ledger, as_of)
    findings += gate_findings(names.texts(gated, buckets, table))
    low = latest[latest["_pau"] < minimum]
    findings += below_minimum_findings(names.texts(low, buckets, table), minimum)
    if not ledger.empty:
        findings += unsupported(ledger, _supporting(names.texts(reach_ever, buckets, table)))
    findings.sort(key=lambda f: (f.sheet, f.row or 0, f.code, f.message))

    paid_now = pd.concat([paid, won[list(_KEY)]], ignore_index=True)
    return MilestoneResult(
        findings=findings,
        new_ledger_rows=new_rows,
        reached=reached_text(associations, ledger, new_rows),
        next_milestone=_next_milestone(
            associations, latest, gated, table, paid_now, minimum, as_of_month, names, _hwm_month(settings)
        ),
    )


def _reach(months: pd.DataFrame, gated: pd.DataFrame, table: pd.DataFrame, minimum: float) -> pd.DataFrame:
    """Every milestone each association reaches in its counted months, in its earliest month (no ledger).

    One vector pass over the counted months per milestone name (a handful), instead of joining every month
    to every milestone of its bucket: a month reaches milestone m when its bucket has an m whose threshold
    its usage % meets; the first such month of each association (months in order) is where m is reached."""
    counted = months[
        (months["_month"] > months["_approved"])
        & (months["_month"] <= months["_last"])
        & (months["_pau"] >= minimum)
        & (months["_pau"] > 0)  # no usage % without paid units, whatever the minimum
        & (months["_bucket_id"] >= 0)
        & ~months["_pos"].isin(gated["_pos"])
    ]
    counted = counted[list(_REACHED)].sort_values(["_pos", "_month"], kind="stable")
    pos = counted["_pos"].to_numpy()
    bucket = counted["_bucket_id"].to_numpy(dtype=np.int64)
    mau, pau = counted["_mau"].to_numpy(dtype=float), counted["_pau"].to_numpy(dtype=float)
    size = int(table["_bucket_id"].max()) + 1 if len(table) else 0
    parts = []
    for m, rows in table.groupby("_m", sort=True):
        at = rows["_bucket_id"].to_numpy(dtype=np.int64)
        threshold = np.full(size, np.nan)
        threshold[at] = rows["_threshold"].to_numpy(dtype=float)
        tix = np.full(size, -1, dtype=np.int64)
        tix[at] = rows["_tix"].to_numpy(dtype=np.int64)
        needed = threshold[bucket]
        with np.errstate(invalid="ignore"):
            hit = np.flatnonzero(mau >= needed * pau - EPS)  # NaN (no such milestone): never
        if not len(hit):
            continue
        first = hit[np.r_[True, pos[hit][1:] != pos[hit][:-1]]]  # each association's earliest month
        parts.append(counted.iloc[first].assign(_m=m, _threshold=needed[first], _tix=tix[bucket[first]]))
    if not parts:
        return counted.iloc[:0].assign(_m=0, _threshold=0.0, _tix=0)
    return pd.concat(parts).sort_values(["_pos", "_m"], kind="stable")


#: what a reached milestone carries on from its month
_REACHED = ("_pos", "_row", "_t", "_w", "_c", "_month", "_mau", "_pau", "_bucket_id")


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
#: the same key as codes (``_Names``)
_KEY = ("_t", "_w", "_m")


def _not_in(rows: pd.DataFrame, paid: pd.DataFrame) -> pd.DataFrame:
    """Rows whose (tenant, workload, milestone) codes are not in ``paid`` (an anti-join)."""
    key = list(_KEY)
    marked = rows.merge(paid[key].drop_duplicates().assign(_paid=True), on=key, how="left")
    return marked[marked["_paid"].isna()].drop(columns="_paid")


def _first_to_reach(fresh: pd.DataFrame) -> pd.DataFrame:
    """One winner per (tenant, workload, milestone): the earliest month, then the lower Claim ID; in the
    ledger's order (tenant, workload, month, milestone). Codes sort as their texts do (``_Names``)."""
    return (
        fresh.sort_values(["_t", "_w", "_m", "_month", "_c", "_row", "_pos"], kind="stable")
        .drop_duplicates(list(_KEY))
        .sort_values(["_t", "_w", "_month", "_m", "_c"], kind="stable")
        .reset_index(drop=True)
    )


# --------------------------------------------------------------------------------------------- inputs


class _Names:
    """The texts of the join keys (tenants, workloads, claims, milestones) as sorted indexes: a code is a
    position in one, so codes sort as the texts do and the big joined tables carry numbers only."""

    def __init__(self, associations: pd.DataFrame, earning: pd.DataFrame, table: pd.DataFrame) -> None:
        self.tenants = _sorted_index(earning["_tenant"])
        self.workloads = _sorted_index(earning["_workload"])
        self.claims = _sorted_index(earning["_claim"])
        self.milestones = _sorted_index(table["_milestone"])
        self.partners = _column(associations, "Partner ID")  # by association position

    def paid_codes(self, ledger: pd.DataFrame) -> pd.DataFrame:
        """The ledger's paid (tenant, workload, milestone) as codes; keys no association or table has are
        left out (they cannot match a milestone reached)."""
        keys = paid_keys(ledger)
        codes = pd.DataFrame(
            {
                "_t": _codes(self.tenants, keys["Tenant ID"]),
                "_w": _codes(self.workloads, keys["Workload"]),
                "_m": _codes(self.milestones, keys["Milestone"]),
            }
        )
        return codes[(codes >= 0).all(axis=1)].reset_index(drop=True)

    def texts(self, frame: pd.DataFrame, buckets: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with the texts of its codes: _claim, _tenant, _workload, _partner, and when it has them,
        _bucket (from _bucket_id) and _milestone, _payment, _currency (from _tix)."""
        out = frame.assign(
            _claim=self.claims[frame["_c"].to_numpy()].to_numpy(dtype=object),
            _tenant=self.tenants[frame["_t"].to_numpy()].to_numpy(dtype=object),
            _workload=self.workloads[frame["_w"].to_numpy()].to_numpy(dtype=object),
            _partner=self.partners[frame["_pos"].to_numpy(dtype=np.int64)],
        )
        if "_bucket_id" in frame:
            names = np.append(
                buckets["_bucket"].to_numpy(dtype=object), np.array([None], dtype=object)
            )  # -1: none
            out["_bucket"] = names[frame["_bucket_id"].to_numpy(dtype=np.int64)]
        if "_tix" in frame:
            at = frame["_tix"].to_numpy(dtype=np.int64)
            out["_milestone"] = table["_milestone"].to_numpy(dtype=object)[at]
            out["_payment"] = table["_payment"].to_numpy(dtype=float)[at]
            out["_currency"] = table["_currency"].to_numpy(dtype=object)[at]
        return out


def _sorted_index(texts: pd.Series) -> pd.Index:
    """The distinct texts, sorted (as pandas sorts text), as an object index: codes into it sort alike."""
    return pd.Index(np.unique(texts.to_numpy(dtype=object)), dtype=object)


def _codes(index: pd.Index, texts: Any) -> np.ndarray:
    """The position of each text in ``index`` (-1 where it is not there: an empty cell, an unknown key)."""
    return np.asarray(index.get_indexer(pd.Index(texts, dtype=object)))


def _earning(
    associations: pd.DataFrame, settings: Settings, as_of_month: float, table: pd.DataFrame
) -> tuple[pd.DataFrame, _Names]:
    """Rows ever approved (``EVER_APPROVED``; _now tells which are Approved now) with an Approved date and a
    complete key, with their month bounds (month numbers): _approved, _submitted, and _last (the last month
    that can count); their texts as codes (_t tenant, _w workload, _c claim)."""
    approved = _months(associations, "Approved")
    ended = _months(associations, "Ended")
    last = np.fmin(np.full(len(associations), as_of_month), ended - 1)  # fmin ignores NaN: no Ended, no bound
    if settings.milestone_window_months is not None:
        last = np.fmin(last, approved + settings.milestone_window_months)
    last = np.fmin(last, _hwm_month(settings) - 1)  # from High-Water Mark From on, no month earns a milestone
    status = pd.Series(_column(associations, "Status"))
    frame = pd.DataFrame(
        {
            "_pos": np.arange(len(associations)),
            "_row": associations.index.to_numpy(),
            "_claim": _column(associations, "Claim ID"),
            "_tenant": _column(associations, "Tenant ID"),
            "_workload": _column(associations, "Workload"),
            "_now": (status == "Approved").to_numpy(dtype=bool),
            "_earns": incentivised(associations),
            "_approved": approved,
            "_submitted": _months(associations, "Submitted"),
            "_last": last,
        }
    )
    keep = (
        status.isin(EVER_APPROVED).to_numpy(dtype=bool)
        & ~np.isnan(approved)
        & frame[["_claim", "_tenant", "_workload"]].notna().all(axis=1).to_numpy(dtype=bool)
    )
    frame = frame[keep].astype({"_claim": str, "_tenant": str, "_workload": str})
    names = _Names(associations, frame, table)
    codes = {
        "_t": _codes(names.tenants, frame.pop("_tenant")),
        "_w": _codes(names.workloads, frame.pop("_workload")),
        "_c": _codes(names.claims, frame.pop("_claim")),
    }
    return frame.assign(**codes, _pair=codes["_t"] * len(names.workloads) + codes["_w"]), names


def _hwm_month(settings: Settings) -> float:
    """High-Water Mark From as a month number (inf when not set: every month stays on milestones)."""
    start = settings.high_water_mark_from
    return np.inf if start is None else float((start.year - 1970) * 12 + start.month - 1)


def _milestone_table(milestones: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``_table_of`` the milestone table, remembered by its content: a batch's workbooks mostly share one
    table (the example, or the partner's guide), and building it is a dozen pandas steps on a dozen rows.
    The frames returned are shared: read them, never change them."""
    key = (
        tuple(map(str, milestones.columns)),
        tuple(map(tuple, milestones.astype(object).where(milestones.notna(), None).itertuples(False, None))),
    )
    try:
        return _known_tables(key)
    except TypeError:  # an unhashable cell
        return _table_of(milestones)


@lru_cache(maxsize=16)
def _known_tables(
    key: tuple[tuple[str, ...], tuple[tuple[Any, ...], ...]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    columns, rows = key
    return _table_of(pd.DataFrame(list(rows), columns=list(columns), dtype=object))


def _table_of(milestones: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(buckets, milestones): one row per (Workload, Bucket) with its range, gate and priority, and one
    row per milestone with its bucket id, threshold, payment, currency, its code _m (its position among the
    table's milestone names, sorted) and _tix (its row in this table). Invalid rows are left out."""

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
    ].reset_index(drop=True)
    table["_m"] = _codes(_sorted_index(table["_milestone"]), table["_milestone"])
    table["_tix"] = np.arange(len(table), dtype=np.int64)
    return buckets, table


def _months(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A date column as month numbers (NaN where empty or when the column is absent)."""
    if name not in frame:
        return np.full(len(frame), np.nan)
    return month_numbers(frame[name])


def assign_buckets(workloads: np.ndarray, paid_units: np.ndarray, buckets: pd.DataFrame) -> np.ndarray:
    """The bucket id holding each (workload, PAU), -1 where none does. Loops over the buckets (a handful),
    each step vectorised over all rows: lower-priority buckets are written first and overwritten."""
    codes, names = pd.factorize(pd.Series(workloads, dtype=object))
    return _buckets_of(codes, pd.Index(names), paid_units, buckets)


def _buckets_of(
    codes: np.ndarray, workloads: pd.Index, paid_units: np.ndarray, buckets: pd.DataFrame
) -> np.ndarray:
    """``assign_buckets`` for workloads given as codes into ``workloads``."""
    out = np.full(len(paid_units), -1, dtype=np.int64)
    if buckets.empty or not len(paid_units):
        return out
    lookup = {str(name): i for i, name in enumerate(workloads)}
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
    usage: pd.DataFrame, earning: pd.DataFrame, buckets: pd.DataFrame, names: _Names, as_of_month: float
) -> pd.DataFrame:
    """Usage rows up to the as-of month joined to the approved associations of their customer workload,
    with the bucket of each month's PAU (_bucket_id -1 when none holds it) and its gate."""
    tenant = _codes(names.tenants, _column(usage, "Tenant ID"))
    workload = _codes(names.workloads, _column(usage, "Workload"))
    month = _months(usage, "Month")
    mau, pau = count_array(usage, "Active Users"), count_array(usage, "Paid Units")
    keep = (month <= as_of_month) & ~np.isnan(mau) & ~np.isnan(pau) & (tenant >= 0) & (workload >= 0)
    frame = pd.DataFrame(
        {
            "_pair": tenant[keep].astype(np.int64) * len(names.workloads) + workload[keep],
            "_month": month[keep],
            "_mau": mau[keep],
            "_pau": pau[keep],
            "_urow": usage.index.to_numpy()[keep],
        }
    )
    frame = frame.merge(earning, on="_pair")
    frame["_bucket_id"] = _buckets_of(
        frame["_w"].to_numpy(), names.workloads, frame["_pau"].to_numpy(dtype=float), buckets
    )
    gates = np.append(buckets.sort_values("_bucket_id")["_gate"].to_numpy(dtype=float), np.nan)
    frame["_gate"] = gates[frame["_bucket_id"].to_numpy()]  # -1 (no bucket): the appended NaN
    return frame


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
    names: _Names,
    hwm_month: float = np.inf,
) -> pd.Series:
    """What the next milestone of each approved row needs, from its latest usage month up to as-of: the
    lowest-threshold milestone of that month's bucket that nobody has been paid yet."""
    out = np.full(len(associations), "", dtype=object)
    if latest.empty:
        return pd.Series(out, index=associations.index, dtype=object, name="Next Milestone")
    rows = latest.reset_index(drop=True)
    candidates = rows[["_pos", "_t", "_w", "_bucket_id"]].merge(
        table[["_bucket_id", "_m", "_threshold"]], on="_bucket_id"
    )
    unpaid = _not_in(candidates, paid)
    first = unpaid.sort_values(["_pos", "_threshold", "_m"], kind="stable").drop_duplicates("_pos")
    rows = rows.merge(first[["_pos", "_m", "_threshold"]], on="_pos", how="left")
    has_milestone = rows["_m"].notna().to_numpy()
    milestone = np.full(len(rows), "", dtype=object)
    milestone[has_milestone] = names.milestones[
        rows["_m"].to_numpy()[has_milestone].astype(np.int64)
    ].to_numpy(dtype=object)

    mau, pau = rows["_mau"].to_numpy(dtype=float), rows["_pau"].to_numpy(dtype=float)
    threshold = rows["_threshold"].to_numpy(dtype=float)
    needed = np.ceil(np.round(threshold * pau, 6) - EPS) - mau
    last = rows["_last"].to_numpy(dtype=float)
    # which text each row gets (the first that holds); each text is then made only for its own rows
    pick = np.select(
        [
            rows["_pos"].isin(gated["_pos"]).to_numpy(),
            (last == hwm_month - 1) & (as_of_month >= hwm_month),
            last < as_of_month,
            pau < minimum,
            (rows["_bucket_id"] < 0).to_numpy(),
            ~has_milestone,
            needed > 0,
        ],
        list(range(7)),
        default=7,  # the threshold is met in a month that does not count yet (approval's month or before)
    )
    approved = rows["_approved"].to_numpy(float)
    head = lambda m: milestone[m] + " at " + percents(threshold[m]) + ": "  # noqa: E731
    counts = lambda m: " (" + whole_texts(mau[m]) + "/" + whole_texts(pau[m]) + ")"  # noqa: E731
    users = np.where(needed == 1, " more active user", " more active users")
    floor = str(whole_texts(np.array([minimum]))[0])
    texts = [  # each made for the rows m that take it
        lambda m: "none: usage at claim time was above the bucket's gate",
        lambda m: "none: from " + month_texts(last[m] + 1) + " usage is paid above the high-water mark",
        lambda m: "none: counted months ended " + month_texts(last[m]),
        lambda m: "needs " + floor + " paid units to count (" + whole_texts(pau[m]) + " now)",
        lambda m: "no milestone bucket holds " + whole_texts(pau[m]) + " paid units",
        lambda m: "all milestones reached",
        lambda m: head(m) + whole_texts(needed[m]) + users[m] + counts(m),
        lambda m: head(m) + "met" + counts(m) + ", counting from " + month_texts(approved[m] + 1),
    ]
    text = np.empty(len(rows), dtype=object)
    for k, make in enumerate(texts):
        m = pick == k
        text[m] = make(m)
    out[rows["_pos"].to_numpy(dtype=np.int64)] = text
    return pd.Series(out, index=associations.index, dtype=object, name="Next Milestone")

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cpor_excel.model.findings import Finding
from cpor_excel.model.program import Settings
from cpor_excel.model.workbook import Numbered
from cpor_excel.rules.arrays import count_array
from cpor_excel.rules.arrays import text_array as _column
from cpor_excel.rules.incentives import incentivised
from cpor_excel.rules.keys import Table, among, as_texts, first_of_runs, rows_at, sort_order
from cpor_excel.rules.ledger import (
    PAID_KEY,
    empty_ledger,
    ledger_rows,
    month_numbers,
    month_texts,
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
from cpor_excel.rules.milestone_table import MilestoneTable, codes_in, read_milestone_table, sorted_index
from cpor_excel.rules.schemas import book_of
from cpor_excel.rules.together import split_findings, split_rows, split_series, stacked

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
    usage_numbers: Mapping[str, Numbered] | None = None,
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
    [one] = milestones_of_books(
        [associations], [usage], [customers], milestones, settings, [ledger], as_of, recording, usage_numbers
    )
    return one


def milestones_of_books(
    associations: Sequence[pd.DataFrame],
    usage: Sequence[pd.DataFrame],
    customers: Sequence[pd.DataFrame],
    milestones: pd.DataFrame,
    settings: Settings,
    ledger: Sequence[pd.DataFrame],
    as_of: dt.date,
    recording: bool = True,
    usage_numbers: Mapping[str, Numbered] | None = None,
) -> list[MilestoneResult]:
    """``evaluate_milestones`` of several workbooks ("books") that share the milestone table and the settings,
    run once over their frames stacked (``together.py``): each book's result, as its own run would give it."""
    count = len(associations)
    assoc, usage_all = stacked(associations), stacked(usage)
    customers_all, ledger_all = stacked(customers), stacked(ledger)
    numbers = (usage_numbers or {}) if count == 1 else {}
    as_of_month = float((as_of.year - 1970) * 12 + as_of.month - 1)
    milestone_table = read_milestone_table(milestones)
    minimum = float(settings.minimum_paid_units)
    # Usage joined once to every association ever approved; what an association reaches depends on its
    # own months only, so the Approved ones' share is a filter of the same tables. The joined tables hold
    # numbers only (texts as codes in sorted order, ``_Names``): the texts come back for the rows reported.
    ever, names = _earning(assoc, settings, as_of_month, milestone_table)
    months_ever = _usage_months(usage_all, ever, milestone_table, names, as_of_month, numbers)
    gated_ever = _gate(months_ever)
    reach_ever = _reach(months_ever, gated_ever, milestone_table, minimum)
    approved = ever["_pos"][ever["_now"] & ever["_earns"]]
    months, gated, reach = (_of(rows, approved) for rows in (months_ever, gated_ever, reach_ever))
    paid = names.paid_codes(ledger_all)
    won = names.texts(_first_to_reach(_not_in(reach, paid, names)), milestone_table)
    new_rows = ledger_rows(won, customers_all, as_of) if len(won["_pos"]) else empty_ledger()

    latest = _latest(months)
    findings = reached_findings(won, as_of, recording) + recorded_today(assoc, ledger_all, as_of)
    findings += gate_findings(names.texts(gated, milestone_table))
    low = rows_at(latest, latest["_pau"] < minimum)
    findings += below_minimum_findings(names.texts(low, milestone_table), minimum)
    if not ledger_all.empty:
        findings += unsupported(ledger_all, _supporting(names.texts(reach_ever, milestone_table)))
    findings.sort(key=lambda f: (f.sheet, f.row or 0, f.code, f.message))  # (rows of a book after another's)

    paid_now = {k: np.concatenate([paid[k], won[k]]) for k in _KEY}
    indexes = [frame.index for frame in associations]
    reached = split_series(reached_text(assoc, ledger_all, new_rows, won["_book"]), indexes)
    next_milestone = split_series(
        _next_milestone(
            assoc, latest, gated, milestone_table, paid_now, minimum, as_of_month, names, _hwm_month(settings)
        ),
        indexes,
    )
    new_rows_of = split_rows(new_rows, won["_book"], count, empty_ledger)
    return [
        MilestoneResult(found, new_rows_of[book], reached[book], next_milestone[book])
        for book, found in enumerate(split_findings(findings, count))
    ]


def _reach(months: Table, gated: Table, milestone_table: MilestoneTable, minimum: float) -> Table:
    """Every milestone each association reaches in its counted months, in its earliest month (no ledger).

    One vector pass over the counted months per milestone name (a handful), instead of joining every month
    to every milestone of its bucket: a month reaches milestone m when its bucket has an m whose threshold
    its usage % meets; the first such month of each association (months in order) is where m is reached."""
    at = np.flatnonzero(
        (months["_month"] > months["_approved"])
        & (months["_month"] <= months["_last"])
        & (months["_pau"] >= minimum)
        & (months["_pau"] > 0)  # no usage % without paid units, whatever the minimum
        & (months["_bucket_id"] >= 0)
        & ~among(months["_pos"], gated["_pos"])
    )
    at = at[sort_order(months["_pos"][at], months["_month"][at])]
    counted = rows_at({c: months[c] for c in _REACHED}, at)  # (the rows taken once, in order)
    pos = counted["_pos"]
    bucket = counted["_bucket_id"].astype(np.int64)
    mau, pau = counted["_mau"].astype(float), counted["_pau"].astype(float)
    parts = []
    for m, threshold, tix in milestone_table.by_milestone:
        needed = threshold[bucket]
        with np.errstate(invalid="ignore"):
            hit = np.flatnonzero(mau >= needed * pau - EPS)  # NaN (no such milestone): never
        if not len(hit):
            continue
        first = hit[np.r_[True, pos[hit][1:] != pos[hit][:-1]]]  # each association's earliest month
        part = rows_at(counted, first)
        part.update(_m=np.full(len(first), m), _threshold=needed[first], _tix=tix[bucket[first]])
        parts.append(part)
    if not parts:
        empty = rows_at(counted, np.zeros(0, dtype=np.int64))
        return {
            **empty,
            "_m": np.zeros(0, np.int64),
            "_threshold": np.zeros(0),
            "_tix": np.zeros(0, np.int64),
        }
    reached = {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
    return rows_at(reached, sort_order(reached["_pos"], reached["_m"]))


def _of(rows: Table, positions: np.ndarray) -> Table:
    """The rows of the associations at ``positions`` (the same table when that is all of them)."""
    mine = among(rows["_pos"], positions)
    return rows if mine.all() else rows_at(rows, mine)


#: what a reached milestone carries on from its month
_REACHED = ("_pos", "_row", "_book", "_t", "_w", "_c", "_month", "_mau", "_pau", "_bucket_id")


def _supporting(reach_ever: Table) -> Table:
    """What every association that was ever approved reaches (Claim ID, Tenant ID, Workload, Milestone).

    A claim approved, then disassociated or rejected, earns nothing new, but the milestones it reached while
    approved (before Ended) still support its ledger rows: they are not `ledger-unsupported`.
    """
    return {k: reach_ever[v] for k, v in {**_PAID, "Claim ID": "_claim", "_book": "_book"}.items()}


#: statuses an association can have after approval (Dispute and the rejections follow a disassociation)
EVER_APPROVED = frozenset({"Approved", "Dispute", "Rejected", "Rejected final"})

#: ledger key columns -> the internal names used while joining
_PAID = dict(zip(PAID_KEY, ["_tenant", "_workload", "_milestone"], strict=True))
#: the same key as codes (``_Names``), in its book (``together.py``)
_KEY = ("_book", "_t", "_w", "_m")


def _not_in(rows: Table, paid: Table, names: _Names) -> Table:
    """Rows whose (tenant, workload, milestone) codes are not in ``paid`` (an anti-join)."""
    return rows_at(rows, ~np.isin(names.key(rows), names.key(paid)))


def _first_to_reach(fresh: Table) -> Table:
    """One winner per (tenant, workload, milestone): the earliest month, then the lower Claim ID; in the
    ledger's order (tenant, workload, month, milestone). Codes sort as their texts do (``_Names``)."""
    b, t, w, m = fresh["_book"], fresh["_t"], fresh["_w"], fresh["_m"]
    order = sort_order(b, t, w, m, fresh["_month"], fresh["_c"], fresh["_row"], fresh["_pos"])
    won = rows_at(fresh, order[first_of_runs(b[order], t[order], w[order], m[order])])
    return rows_at(won, sort_order(won["_book"], won["_t"], won["_w"], won["_month"], won["_m"], won["_c"]))


# --------------------------------------------------------------------------------------------- inputs


class _Names:
    """The texts of the join keys (tenants, workloads, claims, milestones) as sorted indexes: a code is a
    position in one, so codes sort as the texts do and the big joined tables carry numbers only."""

    def __init__(self, associations: pd.DataFrame, earning: Table, milestone_table: MilestoneTable) -> None:
        self.tenants = sorted_index(earning["_tenant"])
        self.workloads = sorted_index(earning["_workload"])
        self.claims = sorted_index(earning["_claim"])
        self.milestones = milestone_table.milestone_names
        self.partners = _column(associations, "Partner ID")  # by association position

    def key(self, rows: Table) -> np.ndarray:
        """(book, tenant, workload, milestone) codes as one number."""
        sizes = len(self.workloads) * len(self.milestones), len(self.milestones)
        pair = rows["_t"].astype(np.int64) * sizes[0] + rows["_w"].astype(np.int64) * sizes[1] + rows["_m"]
        return rows["_book"].astype(np.int64) * len(self.tenants) * sizes[0] + pair

    def paid_codes(self, ledger: pd.DataFrame) -> Table:
        """The ledger's paid (tenant, workload, milestone) as codes; keys no association or table has are
        left out (they cannot match a milestone reached)."""
        if ledger.empty or any(c not in ledger for c in PAID_KEY):
            return {k: np.zeros(0, dtype=np.int64) for k in _KEY}
        keys = [ledger[c].to_numpy(dtype=object) for c in PAID_KEY]
        named = ~np.logical_or.reduce([pd.isna(k) for k in keys])
        t, w, m = (as_texts(k[named]) for k in keys)
        codes = {
            "_book": book_of(ledger.index)[named],
            "_t": codes_in(self.tenants, t),
            "_w": codes_in(self.workloads, w),
            "_m": codes_in(self.milestones, m),
        }
        return rows_at(codes, (codes["_t"] >= 0) & (codes["_w"] >= 0) & (codes["_m"] >= 0))

    def texts(self, frame: Table, milestone_table: MilestoneTable) -> Table:
        """``frame`` with the texts of its codes: _claim, _tenant, _workload, _partner, and when it has them,
        _bucket (from _bucket_id) and _milestone, _payment, _currency (from _tix)."""
        out = {
            **frame,
            "_claim": self.claims.to_numpy(dtype=object)[frame["_c"]],
            "_tenant": self.tenants.to_numpy(dtype=object)[frame["_t"]],
            "_workload": self.workloads.to_numpy(dtype=object)[frame["_w"]],
            "_partner": self.partners[frame["_pos"].astype(np.int64)],
        }
        if "_bucket_id" in frame:
            out["_bucket"] = milestone_table.bucket_names[
                frame["_bucket_id"].astype(np.int64)
            ]  # -1: the last, None
        if "_tix" in frame:
            at = frame["_tix"].astype(np.int64)
            out["_milestone"] = milestone_table.milestone[at]
            out["_payment"] = milestone_table.payment[at]
            out["_currency"] = milestone_table.currency[at]
        return out


def _earning(
    associations: pd.DataFrame, settings: Settings, as_of_month: float, milestone_table: MilestoneTable
) -> tuple[Table, _Names]:
    """Rows ever approved (``EVER_APPROVED``; _now tells which are Approved now) with an Approved date and a
    complete key, with their month bounds (month numbers): _approved, _submitted, and _last (the last month
    that can count); their texts as codes (_t tenant, _w workload, _c claim)."""
    approved = _months(associations, "Approved")
    ended = _months(associations, "Ended")
    last = np.fmin(np.full(len(associations), as_of_month), ended - 1)  # fmin ignores NaN: no Ended, no bound
    if settings.milestone_window_months is not None:
        last = np.fmin(last, approved + settings.milestone_window_months)
    last = np.fmin(last, _hwm_month(settings) - 1)  # from High-Water Mark From on, no month earns a milestone
    status = _column(associations, "Status")
    frame = {
        "_pos": np.arange(len(associations)),
        "_row": associations.index.to_numpy(),
        "_book": book_of(associations.index),
        "_claim": _column(associations, "Claim ID"),
        "_tenant": _column(associations, "Tenant ID"),
        "_workload": _column(associations, "Workload"),
        "_now": status == "Approved",
        "_earns": incentivised(associations),
        "_approved": approved,
        "_submitted": _months(associations, "Submitted"),
        "_last": last,
    }
    keep = (
        np.logical_or.reduce([status == s for s in sorted(EVER_APPROVED)])
        & ~np.isnan(approved)
        & pd.notna(frame["_claim"])
        & pd.notna(frame["_tenant"])
        & pd.notna(frame["_workload"])
    )
    frame = rows_at(frame, keep)
    for name in ("_claim", "_tenant", "_workload"):
        frame[name] = as_texts(frame[name])
    names = _Names(associations, frame, milestone_table)
    frame["_t"] = codes_in(names.tenants, frame.pop("_tenant"))
    frame["_w"] = codes_in(names.workloads, frame.pop("_workload"))
    frame["_c"] = codes_in(names.claims, frame.pop("_claim"))
    frame["_pair"] = _pairs(frame["_book"], frame["_t"], frame["_w"], names)
    return frame, names


def _pairs(book: np.ndarray, tenant: np.ndarray, workload: np.ndarray, names: _Names) -> np.ndarray:
    """(book, tenant, workload) codes as one number."""
    return (book.astype(np.int64) * len(names.tenants) + tenant) * len(names.workloads) + workload


def _hwm_month(settings: Settings) -> float:
    """High-Water Mark From as a month number (inf when not set: every month stays on milestones)."""
    start = settings.high_water_mark_from
    return np.inf if start is None else float((start.year - 1970) * 12 + start.month - 1)


def _positions(
    frame: pd.DataFrame, name: str, index: pd.Index, numbers: Mapping[str, Numbered]
) -> np.ndarray:
    """``codes_in(index, _cells(frame, name))``: from the column's numbers when the parse gave them (the
    distinct values looked up, not every row's)."""
    numbered = numbers.get(name)
    if numbered is None or len(numbered.codes) != len(frame):
        return codes_in(index, _cells(frame, name))
    return np.append(codes_in(index, numbered.values), -1)[numbered.codes]  # (code -1: empty, -1)


def _cells(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A column's values as they are (all None when the column is absent)."""
    if name not in frame:
        return np.full(len(frame), None, dtype=object)
    return np.asarray(frame[name].to_numpy(dtype=object))


def _months(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A date column as month numbers (NaN where empty or when the column is absent)."""
    if name not in frame:
        return np.full(len(frame), np.nan)
    return month_numbers(frame[name])


def _buckets_of(
    codes: np.ndarray, workloads: pd.Index, paid_units: np.ndarray, milestone_table: MilestoneTable
) -> np.ndarray:
    """The bucket id holding each (workload given as a code into ``workloads``, PAU), -1 where none does.
    Loops over the buckets (a handful), each step vectorised over all rows: lower-priority buckets are
    written first and overwritten."""
    out = np.full(len(paid_units), -1, dtype=np.int64)
    if not milestone_table.ordered or not len(paid_units):
        return out
    lookup = {str(name): i for i, name in enumerate(workloads)}
    for wl, lo, hi, bid in milestone_table.ordered:
        holds = (paid_units >= lo) & (paid_units <= hi)
        if wl != "*":
            holds &= codes == lookup.get(wl, -2)
        out[holds] = bid
    return out


def _usage_months(
    usage: pd.DataFrame,
    earning: Table,
    milestone_table: MilestoneTable,
    names: _Names,
    as_of_month: float,
    numbers: Mapping[str, Numbered],
) -> Table:
    """Usage rows up to the as-of month joined to the approved associations of their customer workload
    (in usage order, then the associations'), with the bucket of each month's PAU (_bucket_id -1 when none
    holds it) and its gate."""
    tenant = _positions(usage, "Tenant ID", names.tenants, numbers)  # (empty cells are in no index: -1)
    workload = _positions(usage, "Workload", names.workloads, numbers)
    month = _months(usage, "Month")
    mau, pau = count_array(usage, "Active Users"), count_array(usage, "Paid Units")
    keep = (month <= as_of_month) & ~np.isnan(mau) & ~np.isnan(pau) & (tenant >= 0) & (workload >= 0)
    pair = _pairs(book_of(usage.index)[keep], tenant[keep].astype(np.int64), workload[keep], names)
    by_pair = np.argsort(earning["_pair"], kind="stable")
    low = np.searchsorted(earning["_pair"][by_pair], pair, side="left")
    count = np.searchsorted(earning["_pair"][by_pair], pair, side="right") - low
    usage_at = np.repeat(np.arange(len(pair)), count)
    earning_at = by_pair[np.repeat(low - np.cumsum(count) + count, count) + np.arange(int(count.sum()))]
    frame = {
        "_pair": pair[usage_at],
        "_month": month[keep][usage_at],
        "_mau": mau[keep][usage_at],
        "_pau": pau[keep][usage_at],
        "_urow": usage.index.to_numpy()[keep][usage_at],
        **rows_at({k: v for k, v in earning.items() if k != "_pair"}, earning_at),
    }
    frame["_bucket_id"] = _buckets_of(frame["_w"], names.workloads, frame["_pau"], milestone_table)
    frame["_gate"] = milestone_table.gates[frame["_bucket_id"]]  # -1 (no bucket): the appended NaN
    return frame


# ------------------------------------------------------------------------------------------ decisions


def _gate(months: Table) -> Table:
    """Approved associations whose usage % in the month of Submitted was above their bucket's gate."""
    gate, mau, pau = months["_gate"], months["_mau"], months["_pau"]
    with np.errstate(invalid="ignore"):
        over = (
            (months["_month"] == months["_submitted"])
            & ~np.isnan(gate)
            & (pau > 0)
            & (mau > gate * pau + EPS)
        )
    over = rows_at(months, over)
    over = rows_at(over, sort_order(over["_pos"], over["_urow"]))
    return rows_at(over, first_of_runs(over["_pos"]))


def _latest(months: Table) -> Table:
    """Each approved association's latest usage month up to the as-of month."""
    order = sort_order(months["_pos"], months["_month"], months["_urow"])
    pos = months["_pos"][order]
    last = np.r_[pos[1:] != pos[:-1], True] if len(pos) else np.zeros(0, dtype=bool)
    return rows_at(months, order[last])  # (the rows taken once, not sorted first)


def _next_milestone(
    associations: pd.DataFrame,
    latest: Table,
    gated: Table,
    milestone_table: MilestoneTable,
    paid: Table,
    minimum: float,
    as_of_month: float,
    names: _Names,
    hwm_month: float = np.inf,
) -> pd.Series:
    """What the next milestone of each approved row needs, from its latest usage month up to as-of: the
    lowest-threshold milestone of that month's bucket that nobody has been paid yet."""
    out = np.full(len(associations), "", dtype=object)
    rows = latest
    if not len(rows["_pos"]):
        return pd.Series(out, index=associations.index, dtype=object, name="Next Milestone")
    # every milestone of each row's bucket (in table order), less those paid already
    bucket = rows["_bucket_id"].astype(np.int64)
    known = bucket >= 0
    low = np.where(known, milestone_table.start[np.maximum(bucket, 0)], 0)
    count = np.where(known, milestone_table.start[np.maximum(bucket, 0) + 1] - low, 0)
    row_at = np.repeat(np.arange(len(bucket)), count)
    tix = milestone_table.of_bucket[
        np.repeat(low - np.cumsum(count) + count, count) + np.arange(int(count.sum()))
    ]
    table = milestone_table.table
    candidates = {
        "_row_at": row_at,
        "_book": rows["_book"][row_at],
        "_t": rows["_t"][row_at],
        "_w": rows["_w"][row_at],
        "_m": table["_m"].to_numpy(dtype=np.int64)[tix],
        "_threshold": table["_threshold"].to_numpy(dtype=float)[tix],
    }
    unpaid = _not_in(candidates, paid, names)
    order = np.lexsort((unpaid["_m"], unpaid["_threshold"], unpaid["_row_at"]))
    first = order[first_of_runs(unpaid["_row_at"][order])]
    has_milestone = np.zeros(len(bucket), dtype=bool)
    has_milestone[unpaid["_row_at"][first]] = True
    threshold = np.full(len(bucket), np.nan)
    threshold[unpaid["_row_at"][first]] = unpaid["_threshold"][first]
    milestone = np.full(len(bucket), "", dtype=object)
    milestone[unpaid["_row_at"][first]] = names.milestones.to_numpy(dtype=object)[unpaid["_m"][first]]

    mau, pau = rows["_mau"].astype(float), rows["_pau"].astype(float)
    needed = np.ceil(np.round(threshold * pau, 6) - EPS) - mau
    last = rows["_last"].astype(float)
    # which text each row gets (the first that holds); each text is then made only for its own rows
    pick = np.select(
        [
            among(rows["_pos"], gated["_pos"]),
            (last == hwm_month - 1) & (as_of_month >= hwm_month),
            last < as_of_month,
            pau < minimum,
            bucket < 0,
            ~has_milestone,
            needed > 0,
        ],
        list(range(7)),
        default=7,  # the threshold is met in a month that does not count yet (approval's month or before)
    )
    approved = rows["_approved"].astype(float)
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
    text = np.empty(len(bucket), dtype=object)
    for k, make in enumerate(texts):
        m = pick == k
        text[m] = make(m)
    out[rows["_pos"].astype(np.int64)] = text
    return pd.Series(out, index=associations.index, dtype=object, name="Next Milestone")

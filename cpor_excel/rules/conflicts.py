"""Association conflicts: each workload of a customer has at most one partner at a time (DOMAIN "Claims").

Two live rows for one (Tenant ID, Workload) with different Partner IDs are a conflict Microsoft will
arbitrate on the most recent POE; the same partner under two Claim IDs is a duplicate to tidy up. In a batch
the frame carries a "Workbook" column and rows of different partners' workbooks meet here. Pure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cpor_excel.model.catalogue import LIVE_STATUSES
from cpor_excel.model.findings import Finding
from cpor_excel.rules.arrays import day_array
from cpor_excel.rules.keys import Keys
from cpor_excel.rules.schemas import ROW_BITS, ROW_MASK, book_of

SHEET = "Associations"
KEY = ["Tenant ID", "Workload"]
#: one row of the pair table, as a record
Pair = dict[Any, Any]


@dataclass
class ConflictResult:
    findings: list[Finding]
    #: per association row, in the input's order and index: the conflicting claims ("C-1002",
    #: "C-1002 (partner-b.xlsx)" across workbooks), joined by "; "; "" when none
    conflicts_with: pd.Series
    #: one JSON-ready dict per conflicting pair (see ``find_conflicts``)
    conflicts: list[dict[str, Any]] = field(default_factory=list)


def live_mask(associations: pd.DataFrame, as_of: dt.date) -> np.ndarray:
    """Which rows hold their customer workload on ``as_of``: a live status, from Submitted (else Created)
    until Ended (exclusive) or open. A row whose start is unknown is not live."""
    if "Status" not in associations:
        return np.zeros(len(associations), dtype=bool)
    today = np.datetime64(as_of, "D")
    submitted = day_array(associations, "Submitted")
    start = np.where(np.isnat(submitted), day_array(associations, "Created"), submitted)
    ended = day_array(associations, "Ended")
    live_status = associations["Status"].astype(object).isin(list(LIVE_STATUSES)).to_numpy(dtype=bool)
    return live_status & (start <= today) & (np.isnat(ended) | (today < ended))


def find_conflicts(associations: pd.DataFrame, as_of: dt.date) -> ConflictResult:
    """`association-conflict` (error) on both rows of every live pair of one customer workload with
    different partners; `duplicate-association` (warning) on both rows when one partner holds it under two
    Claim IDs. Rows with an empty or invalid key cell are skipped (their error is reported already).

    ``conflicts`` has one dict per conflicting pair: tenant_id, workload, claim_id, partner_id, row,
    other_claim_id, other_partner_id, other_row, other_workbook (None within one workbook) and
    newer_poe_claim_id (None when the POEs are equally old or a date is unknown); with a "Workbook" column
    also workbook, the first row's workbook. The first row of a pair is the one earlier in the frame.
    """
    n = len(associations)
    batch = "Workbook" in associations
    empty = pd.Series("", index=associations.index, dtype=object)
    needed = ["Claim ID", "Partner ID", *KEY]
    if n == 0 or any(c not in associations for c in needed):
        return ConflictResult([], empty, [])

    columns = {
        "_claim": associations["Claim ID"].to_numpy(dtype=object),
        "_partner": associations["Partner ID"].to_numpy(dtype=object),
        "_tenant": associations["Tenant ID"].to_numpy(dtype=object),
        "_workload": associations["Workload"].to_numpy(dtype=object),
    }
    keep = live_mask(associations, as_of) & ~np.logical_or.reduce([pd.isna(v) for v in columns.values()])
    live = np.flatnonzero(keep)
    books = [book_of(associations.index)[live]]  # several workbooks stacked (``together.py``): each its own
    pairs = _pairs(live, Keys([columns["_tenant"][live]], [columns["_workload"][live]], books=books).codes[0])
    rows = {
        **columns,
        "_pos": np.arange(n),
        "_row": associations.index.to_numpy(),
        "_poe": day_array(associations, "POE Signed"),
        "_workbook": associations["Workbook"].to_numpy(dtype=object)
        if batch
        else np.full(n, "", dtype=object),
    }
    mine, theirs = ({k: v[at] for k, v in rows.items()} for at in pairs)
    # one claim recorded in two workbooks (a distributor and its reseller) is not a second claim
    second = (mine["_claim"] != theirs["_claim"]) | (mine["_partner"] != theirs["_partner"])
    mine, theirs = ({k: v[second] for k, v in side.items()} for side in (mine, theirs))
    if not len(mine["_pos"]):
        return ConflictResult([], empty, [])
    cross = mine["_workbook"] != theirs["_workbook"]
    other = np.array(
        [
            f"{c} ({w})" if x else str(c)
            for c, w, x in zip(
                theirs["_claim"].tolist(), theirs["_workbook"].tolist(), cross.tolist(), strict=True
            )
        ],
        dtype=object,
    )
    conflict = mine["_partner"] != theirs["_partner"]
    records = [
        {
            **{k: v for k, v in zip(mine, a, strict=True)},
            **{k + "_o": v for k, v in zip(theirs, b, strict=True)},
        }
        for a, b in zip(
            zip(*(v.tolist() if v.dtype.kind != "M" else list(v) for v in mine.values()), strict=True),
            zip(*(v.tolist() if v.dtype.kind != "M" else list(v) for v in theirs.values()), strict=True),
            strict=True,
        )
    ]
    flags = conflict.tolist()
    findings = [_conflict_finding(p, as_of) for p, c in zip(records, flags, strict=True) if c] + [
        _duplicate_finding(p) for p, c in zip(records, flags, strict=True) if not c
    ]
    findings.sort(key=lambda f: (f.workbook or "", f.row or 0, f.code, f.message))

    named: dict[int, set[str]] = {}
    for pos, text, c in zip(mine["_pos"].tolist(), other.tolist(), flags, strict=True):
        if c:
            named.setdefault(pos, set()).add(text)
    text = np.full(n, "", dtype=object)
    for pos, texts in named.items():
        text[pos] = "; ".join(sorted(texts))
    conflicts_with = pd.Series(text, index=associations.index, dtype=object)

    listed = [p for p, c in zip(records, flags, strict=True) if c and p["_pos"] < p["_pos_o"]]
    return ConflictResult(findings, conflicts_with, [_conflict_dict(p, batch) for p in listed])


def _pairs(live: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair of two live rows (positions) of one customer workload (``groups``: its number per
    live row), by the first row and then the second."""
    order = np.argsort(groups, kind="stable")
    group, rows = groups[order], live[order]
    low = np.searchsorted(group, group, side="left")
    count = np.searchsorted(group, group, side="right") - low
    first = np.repeat(rows, count)
    second = rows[np.repeat(low - np.cumsum(count) + count, count) + np.arange(int(count.sum()))]
    distinct = first != second
    first, second = first[distinct], second[distinct]
    by_pair = np.lexsort((second, first))
    return first[by_pair], second[by_pair]


def _newer_poe(p: Pair) -> str | None:
    mine, theirs = p["_poe"], p["_poe_o"]
    if pd.isna(mine) or pd.isna(theirs) or mine == theirs:
        return None
    return str(p["_claim"]) if mine > theirs else str(p["_claim_o"])


def _day(value: Any) -> str:
    return "" if pd.isna(value) else pd.Timestamp(value).date().isoformat()


def _other_ref(p: Pair) -> str:
    row = int(p["_row_o"]) & ROW_MASK  # (its Excel row, also when workbooks are stacked: ``together.py``)
    where = f"{p['_workbook_o']} row {row}" if p["_workbook"] != p["_workbook_o"] else f"row {row}"
    return f"claim {p['_claim_o']} ({where})"


def _poe_note(p: Pair) -> str:
    mine, theirs, other = p["_poe"], p["_poe_o"], p["_claim_o"]
    if pd.isna(mine) and pd.isna(theirs):
        return "neither claim has a POE Signed date, so which POE is newer is unknown"
    if pd.isna(mine) or pd.isna(theirs):
        lacking = "this claim" if pd.isna(mine) else f"claim {other}"
        return f"{lacking} has no POE Signed date, so which POE is newer is unknown"
    if mine == theirs:
        return f"both POEs are dated {_day(mine)}, so neither is newer"
    if mine > theirs:
        return f"this claim's POE ({_day(mine)}) is newer than that of {other} ({_day(theirs)})"
    return f"the POE of {other} ({_day(theirs)}) is newer than this claim's ({_day(mine)})"


def _conflict_finding(p: Pair, as_of: dt.date) -> Finding:
    return Finding(
        "association-conflict",
        SHEET,
        f"Partner {p['_partner_o']} also holds {p['_workload']} for this customer on {as_of.isoformat()} "
        f"under {_other_ref(p)}; a customer workload has one partner at a time and Microsoft reviews the "
        f"most recent POE: {_poe_note(p)}. Agree with the customer which partner keeps it and end the "
        "other claim.",
        row=int(p["_row"]),
        column="Workload",
        claim_id=str(p["_claim"]),
        workbook=p["_workbook"] or None,
    )


def _duplicate_finding(p: Pair) -> Finding:
    return Finding(
        "duplicate-association",
        SHEET,
        f"This partner also claims {p['_workload']} for this customer under {_other_ref(p)}; keep one "
        "claim per customer workload and withdraw the other.",
        row=int(p["_row"]),
        column="Workload",
        claim_id=str(p["_claim"]),
        workbook=p["_workbook"] or None,
    )


def _conflict_dict(p: Pair, batch: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"workbook": str(p["_workbook"])} if batch else {}
    out.update(
        tenant_id=str(p["_tenant"]),
        workload=str(p["_workload"]),
        claim_id=str(p["_claim"]),
        partner_id=str(p["_partner"]),
        row=int(p["_row"]),
        other_claim_id=str(p["_claim_o"]),
        other_partner_id=str(p["_partner_o"]),
        other_row=int(p["_row_o"]),
        other_workbook=str(p["_workbook_o"]) if p["_workbook"] != p["_workbook_o"] else None,
        newer_poe_claim_id=_newer_poe(p),
    )
    return out


def split_conflicts(found: list[dict[str, Any]], count: int) -> list[list[dict[str, Any]]]:
    """The conflicts of several workbooks stacked (``together.py``), per workbook, on its own Excel rows."""
    out: list[list[dict[str, Any]]] = [[] for _ in range(count)]
    for conflict in found:
        book = conflict["row"] >> ROW_BITS
        out[book].append(
            {**conflict, "row": conflict["row"] & ROW_MASK, "other_row": conflict["other_row"] & ROW_MASK}
        )
    return out

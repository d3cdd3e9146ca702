"""One claim, one customer, one partner: the rows of a Claim ID must agree on Tenant ID and Partner ID.

A Partner Center claim names one customer tenant and is filed by one partner location; the workbook keeps
one row per claimed workload, so a typo in one row silently moves that workload to another customer or
partner. Pure: frames in, findings out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cpor_excel.model.findings import Finding
from cpor_excel.rules.keys import Keys
from cpor_excel.rules.schemas import book_of

SHEET = "Associations"
#: the values every row of one claim must share
SHARED_COLUMNS = ("Tenant ID", "Partner ID")


def check_claims(associations: pd.DataFrame) -> list[Finding]:
    """`claim-mismatch` on every row of a Claim ID whose rows disagree on Tenant ID or Partner ID.

    The message names the value most rows of the claim hold (the first row's on a tie), so the partner
    knows which rows are the odd ones. Empty or invalid cells are skipped: their error is reported already.
    With a "Workbook" column (batch), a claim is per workbook.
    """
    if associations.empty or "Claim ID" not in associations or not _any_mismatch(associations):
        return []
    frame = _positional(associations)
    findings: list[Finding] = []
    for column in SHARED_COLUMNS:
        if column in frame:
            findings += _mismatches(frame, column)
    findings.sort(key=lambda f: (f.workbook or "", f.row or 0, f.column or "", f.message))
    return findings


def _any_mismatch(associations: pd.DataFrame) -> bool:
    """Whether some claim's rows disagree on a shared column: the usual answer, no, found with numpy (the
    findings' own pandas steps cost more than the rows of a small workbook)."""
    return bool(mismatched_books(associations).any())


def mismatched_books(associations: pd.DataFrame) -> np.ndarray:
    """Per book of the frame (several workbooks stacked: ``together.py``; one workbook is book 0), whether
    some claim's rows disagree on a shared column (``check_claims`` finds nothing in the others)."""
    books = book_of(associations.index)
    out = np.zeros(int(books.max(initial=0)) + 1, dtype=bool)
    if "Claim ID" not in associations:
        return out
    claim = associations["Claim ID"].to_numpy(dtype=object)
    # a claim is per workbook: by its "Workbook" (batch) when the frame has one (else all one workbook's)
    workbook = associations["Workbook"].to_numpy(dtype=object) if "Workbook" in associations else None
    for column in SHARED_COLUMNS:
        if column in associations:
            value = associations[column].to_numpy(dtype=object)
            valued = ~(pd.isna(claim) | pd.isna(value))
            book = [books[valued]]
            keys = [[claim[valued]]] if workbook is None else [[workbook[valued]], [claim[valued]]]
            claims = Keys(*keys, books=book)
            pairs = Keys(*keys, [value[valued]], books=book)
            if pairs.size > claims.size:  # a claim with two values: in which books
                [at] = claims.codes
                first = np.unique(pairs.codes[0], return_index=True)[1]  # a row of each (claim, value)
                count = np.bincount(at[first], minlength=claims.size)  # values per claim
                out[np.unique(book[0][count[at] > 1])] = True
    return out


def _positional(associations: pd.DataFrame) -> pd.DataFrame:
    """Rows keyed by position: in a batch the Excel row repeats across workbooks."""
    cols = ["Claim ID", *[c for c in SHARED_COLUMNS if c in associations]]
    frame = associations[cols].copy()
    frame["_workbook"] = (
        associations["Workbook"].astype(object).to_numpy() if "Workbook" in associations else ""
    )
    frame["_row"] = associations.index.to_numpy()
    frame["_pos"] = range(len(frame))
    frame.index = pd.RangeIndex(len(frame))
    return frame[frame["Claim ID"].notna()]


def _mismatches(frame: pd.DataFrame, column: str) -> list[Finding]:
    claim = ["_workbook", "Claim ID"]
    valued = frame[frame[column].notna()]
    distinct = valued.groupby(claim, sort=False)[column].nunique()
    bad = distinct[distinct > 1]
    if bad.empty:
        return []
    rows = valued.merge(bad.rename("_n").reset_index(), on=claim)
    # the majority value of each claim; ties go to the value of the claim's first (Excel) row
    counts = (
        rows.groupby([*claim, column], sort=False)
        .agg(_count=("_pos", "size"), _first=("_row", "min"))
        .reset_index()
        .sort_values(["_count", "_first"], ascending=[False, True], kind="stable")
    )
    majority = counts.drop_duplicates(claim).rename(columns={column: "_majority"})
    summary = (
        counts.sort_values([*claim, "_count", "_first"], ascending=[True, True, False, True], kind="stable")
        .assign(
            _text=lambda c: (
                c[column].astype(str)
                + " in "
                + c["_count"].astype(str)
                + np.where(c["_count"] == 1, " row", " rows")
            )
        )
        .groupby(claim, sort=False)["_text"]
        .agg(", ".join)
        .rename("_summary")
        .reset_index()
    )
    rows = rows.merge(majority[[*claim, "_majority"]], on=claim).merge(summary, on=claim)
    rows = rows.sort_values("_pos", kind="stable")
    label = column.replace(" ID", " IDs")
    findings = []
    for claim_id, value, most, summary_text, row, workbook in zip(
        rows["Claim ID"].astype(str),
        rows[column].astype(str),
        rows["_majority"].astype(str),
        rows["_summary"],
        rows["_row"],
        rows["_workbook"],
        strict=True,
    ):
        if value == most:
            advice = f"this row has {value}, as most rows do: correct the others"
        else:
            advice = f"this row has {value}: change it to {most} or move the row to a claim of its own"
        findings.append(
            Finding(
                "claim-mismatch",
                SHEET,
                f"The rows of claim {claim_id} name different {label} ({summary_text}); {advice}.",
                row=int(row),
                column=column,
                claim_id=claim_id,
                workbook=workbook or None,
            )
        )
    return findings

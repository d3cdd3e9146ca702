"""The milestone rule's findings and their words (`milestone-reached`, `milestone-recorded-today`, the
claim-time gate, `below-minimum-seats`), built for all rows at once; the numbers a message shows (whole users,
percentages) formatted the way the Next Milestone column shows them too. Split from ``milestones.py``, which
decides what is reached."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from cpor_excel.model.findings import Finding, findings_for_rows
from cpor_excel.rules.keys import Table, rows_at
from cpor_excel.rules.ledger import month_numbers, month_texts
from cpor_excel.rules.schemas import book_of

SHEET = "Associations"


def reached_message(
    milestone: str, workload: str, month: str, mau: float, pau: float, bucket: str, day: str
) -> str:
    return (
        f"{milestone} of {workload} reached in {month}: {whole1(mau)} of {whole1(pau)} paid units active "
        f"({percent(mau / pau)}, bucket {bucket}); recorded in the Milestone Ledger on {day}."
    )


def reached_findings(won: Table, as_of: dt.date, recording: bool = True) -> list[Finding]:
    """`milestone-reached` per new ledger row (``reached_message``'s words, built for all rows at once)."""
    mau, pau = won["_mau"].astype(float), won["_pau"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = percents(mau / pau)
    day = as_of.isoformat()
    where = (
        f"recorded in the Milestone Ledger on {day}"
        if recording
        else "a run would record it in the Milestone Ledger"
    )
    messages = [
        f"{m} of {w} reached in {month}: {a} of {p} paid units active ({share}, bucket {b}); {where}."
        for m, w, month, a, p, share, b in zip(
            won["_milestone"].tolist(),
            won["_workload"].tolist(),
            month_texts(won["_month"].astype(float)).tolist(),
            whole_texts(mau).tolist(),
            whole_texts(pau).tolist(),
            shares.tolist(),
            won["_bucket"].tolist(),
            strict=True,
        )
    ]
    return findings_for_rows(
        "milestone-reached", SHEET, won["_row"], messages, "Workload", won["_claim"].tolist()
    )


def recorded_today(associations: pd.DataFrame, ledger: pd.DataFrame, as_of: dt.date) -> list[Finding]:
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
        .assign(_book=book_of(associations.index))
        .reset_index(names="_row")
        .drop_duplicates(["Claim ID", "Workload", "_book"])
    )  # (a claim of one workbook: ``together.py``)
    today = today[needed].astype(object).assign(_book=book_of(today.index))
    hits = today.merge(rows, on=["Claim ID", "Workload", "_book"], how="inner")
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
            records(
                hits, "Claim ID", "Workload", "Milestone", "Active Users", "Paid Units", "Bucket", "_row"
            ),
            months,
            strict=True,
        )
    ]


def gate_findings(gated: Table) -> list[Finding]:
    months = month_texts(gated["_month"].astype(float))
    return [
        Finding(
            "usage-gate-exceeded",
            SHEET,
            f"Usage of {w} in {month}, the month the claim was submitted, was {percent(a / p)} "
            f"({whole1(a)}/{whole1(p)}), above the {b} bucket's Max Usage % At Claim of {percent(g)}: "
            "this association earns no milestones.",
            row=int(r),
            column="Submitted",
            claim_id=c,
        )
        for (r, c, w, a, p, b, g), month in zip(
            records(gated, "_row", "_claim", "_workload", "_mau", "_pau", "_bucket", "_gate"),
            months,
            strict=True,
        )
    ]


def below_minimum_findings(latest: Table, minimum: float) -> list[Finding]:
    low = rows_at(latest, latest["_pau"] < minimum)
    months = month_texts(low["_month"].astype(float))
    return [
        Finding(
            "below-minimum-seats",
            SHEET,
            f"{w} has {whole1(p)} paid units in {month}, below the Minimum Paid Units of {whole1(minimum)}: "
            "months below it do not count toward milestones.",
            row=int(r),
            column="Workload",
            claim_id=c,
        )
        for (r, c, w, p), month in zip(
            records(low, "_row", "_claim", "_workload", "_pau"), months, strict=True
        )
    ]


def records(frame: Table | pd.DataFrame, *columns: str) -> list[tuple[Any, ...]]:
    """Rows of a few columns as tuples of Python scalars (iterating a Series itself is slow)."""
    return list(zip(*(frame[c].tolist() for c in columns), strict=True))


# --------------------------------------------------------------------------------------------- format


def percent(fraction: float) -> str:
    """0.5 -> "50%", 0.125 -> "12.5%"."""
    if fraction is None or math.isnan(fraction):
        return ""
    return f"{fraction * 100:.2f}".rstrip("0").rstrip(".") + "%"


def percents(fractions: np.ndarray) -> np.ndarray:
    """``_percent`` of every fraction (object array), each distinct fraction formatted once (a first run's
    tens of thousands of findings share far fewer)."""
    fractions = np.asarray(fractions, dtype=float)
    out = np.full(len(fractions), "", dtype=object)
    ok = ~np.isnan(fractions)
    # (by their bits: -0.0 is not 0.0 here, "-0%" is not "0%")
    codes, distinct = pd.factorize(np.ascontiguousarray(fractions[ok] * 100).view(np.int64))
    texts = [f"{v:.2f}".rstrip("0").rstrip(".") + "%" for v in np.asarray(distinct).view(np.float64).tolist()]
    out[ok] = np.array(texts, dtype=object)[codes]
    return out


def whole1(value: float) -> str:
    return str(int(value))


def whole_texts(values: np.ndarray) -> np.ndarray:
    """Whole numbers as text, element-wise (object array)."""
    values = np.asarray(values, dtype=float)
    out = np.full(len(values), "", dtype=object)
    ok = ~np.isnan(values)
    codes, distinct = pd.factorize(values[ok].astype(np.int64))  # (each distinct number written once)
    out[ok] = np.array([str(number) for number in distinct.tolist()], dtype=object)[codes]
    return out

"""The Milestone Ledger: append-only, one row per paid (Tenant ID, Workload, Milestone).

A milestone is paid once per customer workload, whichever partner claims it and however often the tool
runs (SPEC "Milestone Ledger"), so the ledger is both the record of payments and the memory that stops a
second one. This module reads it (what is paid, what each claim has reached) and writes its new rows as
cell values; deciding what is reached is ``milestones.py``. Pure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from cpor_excel.model.columns import LEDGER_HEADER, LEDGER_SHEET
from cpor_excel.model.findings import Finding
from cpor_excel.rules.keys import Keys, Table, as_texts, joined_texts
from cpor_excel.rules.schemas import book_of

#: a milestone is paid once per this key
PAID_KEY = ["Tenant ID", "Workload", "Milestone"]


def month_numbers(values: pd.Series | np.ndarray) -> np.ndarray:
    """Dates or months as months since 1970-01 (float; NaN where empty), so month arithmetic is integer."""
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if series.dtype.kind != "M":
        months = _month_texts_read(series.to_numpy(dtype=object))
        if months is not None:
            return months
        series = pd.to_datetime(series.astype(object), errors="coerce")
    days = series.to_numpy(dtype="datetime64[ns]")
    months = days.astype("datetime64[M]")
    out = months.astype(np.int64).astype(float)
    out[np.isnat(months)] = np.nan
    return out


def _month_texts_read(values: np.ndarray) -> np.ndarray | None:
    """``month_numbers`` of "YYYY-MM" texts (the ledgers' new rows), each distinct text read once; None
    when any value is another kind (pandas reads those)."""
    codes, distinct = pd.factorize(values)
    texts = distinct.tolist()
    if not all(type(t) is str and len(t) == 7 and t[4] == "-" and t[:4].isdigit() for t in texts):
        return None
    try:
        months = np.array(texts, dtype="datetime64[M]")
    except ValueError:
        return None
    if (
        len(months)
        and not ((months >= np.datetime64("1678-01")) & (months <= np.datetime64("2261-12"))).all()
    ):
        return None  # beyond pandas' dates: pandas says NaT
    numbers = np.concatenate([months.astype(np.int64).astype(float), [np.nan]])
    return np.asarray(numbers[codes])


def month_texts(numbers: np.ndarray) -> np.ndarray:
    """Month numbers as "YYYY-MM" text (object array; "" where NaN)."""
    out = np.full(len(numbers), "", dtype=object)
    ok = ~np.isnan(numbers)
    months = numbers[ok].astype(np.int64)
    if len(months) > 64 and months.max() - months.min() < len(months):  # a few years of many rows:
        first = months.min()  # each month written once
        texts = np.datetime_as_string(np.arange(first, months.max() + 1).astype("datetime64[M]"), unit="M")
        out[ok] = texts.astype(object)[months - first]
    else:
        out[ok] = np.datetime_as_string(months.astype("datetime64[M]"), unit="M")
    return out


def empty_ledger() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in LEDGER_HEADER})


def reached_text(
    associations: pd.DataFrame,
    ledger: pd.DataFrame,
    new_rows: pd.DataFrame,
    new_books: np.ndarray | None = None,
) -> pd.Series:
    """Per association row, the milestones its claim and workload hold in the ledger, existing and new:
    "M1 2025-04; M2 2025-09" by month, "" when none. ``new_books``: each new row's book, when the frames are
    several workbooks' stacked (``together.py``)."""
    out = np.full(len(associations), "", dtype=object)
    new_books = np.zeros(len(new_rows), dtype=np.int64) if new_books is None else new_books
    sides = [
        (frame, books)
        for frame, books in ((ledger, book_of(ledger.index)), (new_rows, new_books))
        if not frame.empty and all(c in frame for c in ("Claim ID", "Workload", "Milestone"))
    ]
    frames = [frame for frame, _ in sides]
    if frames and len(associations):
        claim, workload, milestone = (
            np.concatenate([frame[c].to_numpy(dtype=object) for frame in frames])
            for c in ("Claim ID", "Workload", "Milestone")
        )
        book = np.concatenate([books for _, books in sides]).astype(np.int64)
        month = np.concatenate(
            [
                month_numbers(frame["Month Reached"])
                if "Month Reached" in frame
                else np.full(len(frame), np.nan)
                for frame in frames
            ]
        )
        named = ~(pd.isna(claim) | pd.isna(workload) | pd.isna(milestone))
        claim, workload, milestone, month, book = (
            a[named] for a in (claim, workload, milestone, month, book)
        )
        claim, workload, milestone = as_texts(claim), as_texts(workload), as_texts(milestone)
        rows = (
            associations["Claim ID"].to_numpy(dtype=object),
            associations["Workload"].to_numpy(dtype=object),
        )
        known = ~(pd.isna(rows[0]) | pd.isna(rows[1]))
        pairs = Keys(
            [claim, as_texts(rows[0][known])],
            [workload, as_texts(rows[1][known])],
            books=[book, book_of(associations.index)[known]],
        )
        held, wanted = pairs.codes
        # each (milestone, month) once, by month (no month last), then milestone
        names = pd.factorize(milestone, sort=True)[0]
        months = np.where(np.isnan(month), np.inf, month)
        order = np.lexsort((names, months, held))
        held, names, months, milestone, month = (a[order] for a in (held, names, months, milestone, month))
        fresh = np.r_[True, (held[1:] != held[:-1]) | (names[1:] != names[:-1]) | (months[1:] != months[:-1])]
        # the text of each distinct (milestone, month), made once (a first run adds tens of thousands of rows
        # of a few hundred such pairs)
        pair = names.astype(np.int64) * 2**32 + np.where(np.isnan(month), -1, month + 2**20).astype(np.int64)
        codes, distinct = pd.factorize(pair)
        one = np.zeros(len(distinct), dtype=np.int64)
        one[codes[::-1]] = np.arange(len(codes))[::-1]  # a row of each
        text = (milestone[one] + np.where(np.isnan(month[one]), "", " " + month_texts(month[one])))[codes]
        joined = joined_texts(np.where(fresh, held, -1), text, pairs.size, "; ")
        texts = np.concatenate([joined, np.full(1, None, dtype=object)])[
            np.where(wanted >= 0, wanted, pairs.size)
        ]  # None: the ledger has none
        hit = np.flatnonzero(known)[pd.notna(texts)]
        out[hit] = texts[pd.notna(texts)]
    return pd.Series(out, index=associations.index, dtype=object, name="Milestones Reached")


def unsupported(ledger: pd.DataFrame, reach: Table) -> list[Finding]:
    """`ledger-unsupported` on each existing ledger row whose claim, recomputed without any ledger, does not
    reach its milestone. ``reach``: Claim ID, Tenant ID, Workload, Milestone of every milestone reached."""
    key = ["Claim ID", *PAID_KEY]
    if ledger.empty or any(c not in ledger for c in key):
        return []
    cells = [ledger[c].to_numpy(dtype=object) for c in key]
    named = ~np.logical_or.reduce([pd.isna(c) for c in cells])
    held = [as_texts(c[named]) for c in cells]
    reached_books = reach.get("_book", np.zeros(len(reach["Claim ID"]), dtype=np.int64))
    known = Keys(
        *([mine, as_texts(np.asarray(reach[c], dtype=object))] for mine, c in zip(held, key, strict=True)),
        books=[book_of(ledger.index)[named], np.asarray(reached_books, dtype=np.int64)],
    )
    lost = ~np.isin(known.codes[0], known.codes[1])
    rows = ledger.index.to_numpy()[named][lost]
    order = np.argsort(rows, kind="stable")
    claims, workloads, milestones = (held[at][lost][order].tolist() for at in (0, 2, 3))
    return [
        Finding(
            "ledger-unsupported",
            LEDGER_SHEET,
            f"{m} of {w} for claim {c} is in the ledger but the claim's current dates, status and usage no "
            "longer reach it; the row is kept: check the Usage and Associations rows behind it.",
            row=int(r),
            column="Milestone",
            claim_id=c,
        )
        for r, c, w, m in zip(rows[order].tolist(), claims, workloads, milestones, strict=True)
    ]


def ledger_rows(won: Table, customers: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """New ledger rows as cell values (LEDGER_HEADER columns, object dtype, Python scalars): Month Reached
    "YYYY-MM", Recorded On the as-of date "YYYY-MM-DD", Active Usage % a fraction, Payment a float or None.

    ``won``: one row per new milestone with _claim, _tenant, _workload, _partner, _bucket, _milestone,
    _month (month number), _mau, _pau, _payment, _currency.
    """
    if not len(won["_claim"]):
        return empty_ledger()
    mau = won["_mau"].astype(float)
    pau = won["_pau"].astype(float)
    payment = won["_payment"].astype(float)
    columns = {
        "Claim ID": as_texts(won["_claim"]).tolist(),
        "Tenant ID": as_texts(won["_tenant"]).tolist(),
        "Customer": optional_text(customer_of(customers, won["_tenant"], won.get("_book"))),
        "Workload": as_texts(won["_workload"]).tolist(),
        "Partner ID": optional_text(won["_partner"]),
        "Bucket": as_texts(won["_bucket"]).tolist(),
        "Milestone": as_texts(won["_milestone"]).tolist(),
        "Month Reached": month_texts(won["_month"].astype(float)).tolist(),
        "Active Users": mau.astype(np.int64).tolist(),
        "Paid Units": pau.astype(np.int64).tolist(),
        "Active Usage %": (mau / pau).tolist(),
        "Payment": [None if p != p else p for p in payment.tolist()],  # p != p: NaN
        "Currency": optional_text(won["_currency"]),
        "Recorded On": [as_of.isoformat()] * len(mau),
    }
    return cell_frame(columns, LEDGER_HEADER)


def customer_names(customers: pd.DataFrame) -> pd.Series:
    """Customer Name by Tenant ID (the first row of a tenant), for the ledgers' Customer column."""
    if customers.empty or "Tenant ID" not in customers or "Customer Name" not in customers:
        return pd.Series(dtype=object)
    known = customers[["Tenant ID", "Customer Name"]].astype(object).dropna(subset=["Tenant ID"])
    return known.drop_duplicates("Tenant ID").set_index("Tenant ID")["Customer Name"]


def customer_of(customers: pd.DataFrame, tenants: np.ndarray, books: np.ndarray | None = None) -> np.ndarray:
    """The Customer Name of each tenant (``customer_names``), NaN where the Customers sheet has none.
    ``books``: each tenant's book, when the customers are several workbooks' stacked (``together.py``)."""
    if customers.empty or "Tenant ID" not in customers or "Customer Name" not in customers:
        return np.full(len(tenants), np.nan, dtype=object)
    ids = customers["Tenant ID"].to_numpy(dtype=object)
    names = customers["Customer Name"].to_numpy(dtype=object)
    wanted = np.asarray(tenants, dtype=object)
    books = np.zeros(len(wanted), dtype=np.int64) if books is None else books
    known = Keys([ids, wanted], books=[book_of(customers.index), books.astype(np.int64)])  # (no ID: -1)
    own, asked = known.codes
    first = np.full(known.size + 1, -1, dtype=np.int64)  # each tenant's first row; -1 (the last): none
    rows = np.flatnonzero(own >= 0)[::-1]
    first[own[rows]] = rows
    found = np.concatenate([names, np.full(1, np.nan, dtype=object)])[first[asked]]  # -1: the appended NaN
    return np.asarray(found, dtype=object)


def cell_frame(columns: dict[str, list[Any]], header: Sequence[str]) -> pd.DataFrame:
    """New ledger rows as a frame of object columns, in the header's order (one block, built as one array:
    a Series per column costs more than the rows of a small workbook)."""
    cells = np.empty((len(header), len(columns[header[0]])), dtype=object)  # a column per row: filled
    for at, name in enumerate(header):  # contiguously, and the frame's block as it is (transposed back)
        cells[at] = columns[name]
    return pd.DataFrame(cells.T, columns=list(header), dtype=object)


def optional_text(values: pd.Series | np.ndarray) -> list[str | None]:
    """Text cells, None for empty (NaN, None or blank)."""
    values = np.asarray(values, dtype=object)
    codes, distinct = pd.factorize(values)  # NaN and None: code -1
    names = distinct.tolist()
    if all(type(v) is str for v in names):  # the usual column: each distinct text looked at once
        texts = np.array([*(v if v.strip() else None for v in names), None], dtype=object)
        converted: list[str | None] = texts[codes].tolist()
        return converted
    # other values one by one: factorize takes 1 and 1.0 for one value, but their texts differ
    cells = values.copy()
    cells[pd.isna(values)] = None
    return [None if v is None or str(v).strip() == "" else str(v) for v in cells.tolist()]

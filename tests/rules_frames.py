"""Builders of the typed frames the rules consume (``Prepared``'s docstring), for tests and benchmarks.

Each builder takes a few keyword rows, fills the rest with plausible defaults, and returns a frame shaped
exactly like validation output: canonical column names, Excel row numbers as index (data starts at 2),
object text columns holding str or None, datetime64[ns] dates with NaT, Int64 counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from cpor_excel.model.columns import LEDGER_HEADER
from cpor_excel.model.program import MILESTONE_COLUMNS

EXO = "Exchange Online"
TEAMS = "Microsoft Teams"
SPO = "SharePoint Online"

ASSOCIATION_COLUMNS = (
    "Claim ID", "Tenant ID", "Workload", "Partner ID", "Partner Name", "Partner Contact Name",
    "Partner Contact Email", "Status", "Created", "POE Signed", "POE Reference", "Submitted", "Approved",
    "Ended",
)  # fmt: skip
DATE_COLUMNS = ("Created", "POE Signed", "Submitted", "Approved", "Ended")
USAGE_COLUMNS = ("Tenant ID", "Workload", "Month", "Active Users", "Paid Units")
CUSTOMER_COLUMNS = (
    "Tenant ID", "Customer Name", "Domain", "Contact Name", "Contact Title", "Contact Email", "Country",
    "Public Sector", "Language",
)  # fmt: skip


def tenant(n: int) -> str:
    """A lower-case GUID per customer number."""
    return f"{n:08x}-0000-4000-8000-{n:012x}"


def day(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)


def _frame(rows: Iterable[Mapping[str, Any]], columns: tuple[str, ...], start: int = 2) -> pd.DataFrame:
    rows = list(rows)
    data = {c: [r.get(c) for r in rows] for c in columns}
    extra = sorted({k for r in rows for k in r} - set(columns))
    for c in extra:
        data[c] = [r.get(c) for r in rows]
    frame = pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in data.items()})
    frame.index = pd.RangeIndex(start, start + len(rows))
    return frame


def _dates(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    for c in columns:
        frame[c] = pd.to_datetime(frame[c].astype(object), errors="raise").astype("datetime64[ns]")
    return frame


def association(
    claim: str,
    tenant_no: int = 1,
    workload: str = EXO,
    partner: str = "1000001",
    status: str | None = "Approved",
    created: str | None = "2025-01-02",
    poe: str | None = "2025-01-03",
    submitted: str | None = "2025-01-06",
    approved: str | None = "2025-01-20",
    ended: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One Associations row; ``tenant_no`` picks the GUID (see ``tenant``)."""
    row = {
        "Claim ID": claim,
        "Tenant ID": tenant(tenant_no) if tenant_no is not None else None,
        "Workload": workload,
        "Partner ID": partner,
        "Partner Name": f"Partner {partner}",
        "Partner Contact Name": "Pat Partner",
        "Partner Contact Email": "pat@partner.example",
        "Status": status,
        "Created": created,
        "POE Signed": poe,
        "POE Reference": f"poe-{claim}.pdf",
        "Submitted": submitted,
        "Approved": approved,
        "Ended": ended,
    }
    row.update(extra)
    return row


def associations(rows: Iterable[Mapping[str, Any]], start: int = 2) -> pd.DataFrame:
    return _dates(_frame(rows, ASSOCIATION_COLUMNS, start), DATE_COLUMNS)


def usage_row(tenant_no: int, workload: str, month: str, mau: int | None, pau: int | None) -> dict[str, Any]:
    return {
        "Tenant ID": tenant(tenant_no),
        "Workload": workload,
        "Month": f"{month}-01",
        "Active Users": mau,
        "Paid Units": pau,
    }


def usage(rows: Iterable[Mapping[str, Any]], start: int = 2) -> pd.DataFrame:
    frame = _dates(_frame(rows, USAGE_COLUMNS, start), ("Month",))
    for c in ("Active Users", "Paid Units"):
        frame[c] = frame[c].astype("Int64")
    return frame


def customers(numbers: Iterable[int], start: int = 2) -> pd.DataFrame:
    rows = [
        {
            "Tenant ID": tenant(n),
            "Customer Name": f"Customer {n}",
            "Domain": f"customer{n}.example",
            "Contact Name": "Casey Customer",
            "Contact Title": "IT Director",
            "Contact Email": f"it@customer{n}.example",
            "Country": "NL",
            "Public Sector": False,
            "Language": "en",
        }
        for n in numbers
    ]
    return _frame(rows, CUSTOMER_COLUMNS, start)


def milestone_table(rows: Iterable[tuple[Any, ...]]) -> pd.DataFrame:
    """Rows as (Workload, Bucket, Min, Max, Milestone, threshold, Payment, Currency, gate)."""
    nan = float("nan")
    frame = pd.DataFrame(
        [tuple(nan if v is None and i in (5, 6, 8) else v for i, v in enumerate(r)) for r in rows],
        columns=list(MILESTONE_COLUMNS),
    )
    for c in ("Min Paid Units", "Max Paid Units"):
        frame[c] = frame[c].astype("Int64")
    for c in ("Active Usage %", "Payment", "Max Usage % At Claim"):
        frame[c] = frame[c].astype(float)
    for c in ("Workload", "Bucket", "Milestone", "Currency"):
        frame[c] = frame[c].astype(object)
    frame.index = pd.RangeIndex(2, 2 + len(frame))
    return frame


def milestones_for_tests() -> pd.DataFrame:
    """A milestone table with payments, a gated XXS bucket, an open-ended bucket and an exact-workload
    bucket for Teams (the figures are made up for tests, like the built-in example's)."""
    return milestone_table(
        [
            ("*", "XXS", 150, 299, "M1", 0.20, 100.0, "EUR", 0.20),
            ("*", "XXS", 150, 299, "M2", 0.50, 200.0, "EUR", 0.20),
            ("*", "Small", 300, 999, "M1", 0.15, 300.0, "EUR", None),
            ("*", "Small", 300, 999, "M2", 0.35, 400.0, "EUR", None),
            ("*", "Small", 300, 999, "M3", 0.50, 500.0, "EUR", None),
            ("*", "Medium", 1000, None, "M1", 0.10, None, None, None),
            (TEAMS, "Teams S", 150, 499, "T1", 0.30, 50.0, "USD", None),
        ]
    )


def ledger(rows: Iterable[Mapping[str, Any]] = (), start: int = 2) -> pd.DataFrame:
    """Existing Milestone Ledger rows as validation gives them (Month Reached a datetime, first of month)."""
    frame = _frame(rows, LEDGER_HEADER, start)
    month = frame["Month Reached"].astype(object).map(lambda m: None if pd.isna(m) else f"{str(m)[:7]}-01")
    frame["Month Reached"] = pd.to_datetime(month).astype("datetime64[ns]")
    for c in ("Active Users", "Paid Units"):
        frame[c] = frame[c].astype("Int64")
    for c in ("Active Usage %", "Payment"):
        frame[c] = pd.to_numeric(frame[c].astype(object)).astype(float)
    return frame


def ledger_after(existing: pd.DataFrame, new_rows: pd.DataFrame) -> pd.DataFrame:
    """The ledger as the next run reads it: existing rows, then the new rows appended below them."""
    records = [*existing.to_dict("records"), *new_rows.to_dict("records")]
    for r in records:
        if isinstance(r["Month Reached"], pd.Timestamp):
            r["Month Reached"] = r["Month Reached"].strftime("%Y-%m")
    return ledger(records)


def keys(findings: Iterable[Any]) -> set[tuple[str, int | None, str | None, str]]:
    """Findings as the (sheet, row, column, code) tuples tests compare."""
    return {(f.sheet, f.row, f.column, f.code) for f in findings}

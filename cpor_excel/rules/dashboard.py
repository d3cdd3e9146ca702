"""What the Dashboard shows after a run, as plain data (``model.dashboard``): claims by status, milestones
(and usage pay, once the Earnings Ledger exists) per month, and the claims that need action now. Pure: the
frames and findings of the run in, no files, no clock.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from cpor_excel.model.catalogue import STATUSES
from cpor_excel.model.columns import ASSOCIATIONS, DASHBOARD_TITLE
from cpor_excel.model.dashboard import Cell, Chart, Dashboard, Series, Table
from cpor_excel.model.findings import CODES, Finding
from cpor_excel.model.wording import SUMMARY_NOUNS, count_summary, counted
from cpor_excel.rules.arrays import count_array
from cpor_excel.rules.keys import group_sums
from cpor_excel.rules.ledger import customer_of, month_numbers, month_texts

TITLE = DASHBOARD_TITLE
#: bar colour per status: grey before submission, blues under review, orange when the partner must act,
#: green approved, red rejected, amber disputed
STATUS_COLOURS = {
    "Draft": "A5A5A5",
    "Submitted": "5B9BD5",
    "Under review": "4472C4",
    "Partner action required": "ED7D31",
    "Approved": "70AD47",
    "Rejected": "C00000",
    "Dispute": "FFC000",
    "Rejected final": "7F7F7F",
}
#: findings that ask the partner to act on a claim, most pressing first (codes not registered yet are
#: skipped: they come with the claim lifecycle rules)
ACTION_CODES = (
    "action-required-overdue",
    "association-conflict",
    "action-required",
    "review-overdue",
    "poe-refresh",
    "poe-missing",
    "poe-too-old",
    "poe-after-submission",
    "dispute-window-open",
)
#: the action codes whose date is the row's Next Deadline; the others (a conflict, a missing POE) are due now
DEADLINE_CODES = frozenset(
    {"action-required-overdue", "action-required", "review-overdue", "poe-refresh", "dispute-window-open"}
)
MONTHS_SHOWN = 12
ACTIONS_SHOWN = 15
ACTION_HEADER = ("Claim ID", "Customer", "Workload", "What", "Due", "Cell", "Severity")


def build_dashboard(
    associations: pd.DataFrame,
    customers: pd.DataFrame,
    ledger: pd.DataFrame,
    findings: Sequence[Finding],
    counts: Mapping[str, int],
    as_of: dt.date,
    deadlines: pd.Series | None = None,
    earnings: pd.DataFrame | None = None,
) -> Dashboard:
    """The Dashboard of a run.

    ``associations``/``customers``: the prepared frames; ``ledger``: every Milestone Ledger row after the run
    (Month Reached, Payment, Currency); ``findings``: located, in report order; ``counts``: errors, warnings,
    infos and conflicts, and the rows of the ledger and of Consent Drafts after the run; ``deadlines``: the Next Deadline of each Associations row (by Excel row), when the
    run works them out; ``earnings``: every Earnings Ledger row (Month, Amount, Currency), when there is one.
    """
    found = count_summary(counts, SUMMARY_NOUNS[:4])
    recorded = f"{counted(counts.get('milestones', 0), 'milestone')} in the Milestone Ledger"
    drafts = counted(counts.get("drafts", 0), "consent draft")
    lines = [f"As of {as_of.isoformat()}: {found}; {recorded}, {drafts}."]
    charts = [claims_by_status(associations), pay_per_month(ledger, earnings, as_of)]
    return Dashboard(TITLE, lines, charts, [needs_action(findings, associations, customers, deadlines)])


def claims_by_status(associations: pd.DataFrame) -> Chart:
    """Claims (Claim IDs) per status, every status listed in lifecycle order."""
    n = len(associations)
    claim, status = (
        associations[c].to_numpy(dtype=object) if c in associations else np.full(n, None, dtype=object)
        for c in ("Claim ID", "Status")
    )
    named = ~(pd.isna(claim) | pd.isna(status))
    status_codes, statuses = pd.factorize(status[named])
    claim_codes, claims = pd.factorize(claim[named])
    pairs = np.unique(status_codes * max(len(claims), 1) + claim_codes)  # each (status, claim) once
    counts = np.bincount(pairs // max(len(claims), 1), minlength=len(statuses))
    per_status: Counter[str] = Counter()
    for name, count in zip(map(str, statuses.tolist()), counts.tolist(), strict=True):
        per_status[name] += count  # (statuses counted by their text)
    values = [int(per_status.get(status, 0)) for status in STATUSES]
    series = Series("Claims", values, point_colours=[STATUS_COLOURS.get(s) for s in STATUSES])
    return Chart(
        "Claims by status", list(STATUSES), [series], horizontal=True, data_labels=True, legend=False
    )


def _months(as_of: dt.date) -> np.ndarray:
    """The month numbers shown (months since 1970-01), the as-of month last."""
    last = (as_of.year - 1970) * 12 + as_of.month - 1
    return np.arange(last - MONTHS_SHOWN + 1, last + 1, dtype=np.int64)


def _per_month(
    frame: pd.DataFrame, month: str, amount: str, months: np.ndarray
) -> tuple[np.ndarray, np.ndarray, str]:
    """Rows and the sum of ``amount`` per month (the most used currency only), and that currency."""
    if frame.empty or month not in frame:
        return np.zeros(len(months), dtype=np.int64), np.zeros(len(months)), ""
    number = month_numbers(frame[month])
    shown = ~np.isnan(number) & (number >= months[0]) & (number <= months[-1])
    at = np.where(shown, np.nan_to_num(number) - months[0], -1).astype(np.int64)
    count = np.bincount(at[shown], minlength=len(months))
    currencies = (
        frame["Currency"].to_numpy(dtype=object) if "Currency" in frame else np.zeros(0, dtype=object)
    )
    currencies = currencies[~pd.isna(currencies)]
    currency = ""
    if len(currencies):
        codes, distinct = pd.factorize(currencies)
        used = np.bincount(codes)
        currency = str(sorted(distinct[used == used.max()].tolist())[0])  # pandas' mode: the least, on a tie
    paid = count_array(frame, amount) if amount in frame else np.full(len(frame), np.nan)
    if currency:
        paid = np.where(frame["Currency"].to_numpy(dtype=object) == currency, paid, np.nan)
    return count, group_sums(at, paid, len(months)), currency


def pay_per_month(ledger: pd.DataFrame, earnings: pd.DataFrame | None, as_of: dt.date) -> Chart:
    """Milestones reached per month (columns) and what they pay, with usage pay when there is an Earnings
    Ledger (lines, on a second axis), over the last ``MONTHS_SHOWN`` months up to the as-of month."""
    months = _months(as_of)
    reached, payments, currency = _per_month(ledger, "Month Reached", "Payment", months)
    series = [Series("Milestones reached", reached.astype(int).tolist(), colour="4472C4")]
    money = [("Milestone payments", payments, currency, "ED7D31")]
    if earnings is not None and not earnings.empty:
        _, usage_pay, usage_currency = _per_month(earnings, "Month", "Amount", months)
        money.append(("Usage pay", usage_pay, usage_currency, "70AD47"))
    money = [item for item in money if np.abs(item[1]).sum() > 0]  # no pay recorded: no line at zero
    currencies = {c for _, _, c, _ in money if c}
    for name, amounts, own, colour in money:
        label = f"{name} ({own})" if own and len(currencies) > 1 else name
        values = [round(float(v), 2) for v in amounts.tolist()]
        series.append(
            Series(label, values, kind="line", secondary=True, colour=colour, number_format="#,##0.00")
        )
    return Chart(
        "Milestones and pay per month" if money else "Milestones per month",
        month_texts(months.astype(float)).tolist(),
        series,
        value_title="Milestones",
        secondary_title=(next(iter(currencies)) if len(currencies) == 1 else "Amount") if money else None,
    )


def needs_action(
    findings: Sequence[Finding],
    associations: pd.DataFrame,
    customers: pd.DataFrame,
    deadlines: pd.Series | None = None,
) -> Table:
    """The claims that need the partner now: the findings of ``ACTION_CODES``, the most pressing first."""
    rank = {code: i for i, code in enumerate(c for c in ACTION_CODES if c in CODES)}
    chosen = [f for f in findings if f.code in rank and f.sheet == ASSOCIATIONS.name]

    # the deadlines (ISO text) by row, each text read once when a finding asks for it
    texts: dict[int, object] = {}
    if deadlines is not None and len(deadlines) and any(f.code in DEADLINE_CODES for f in chosen):
        texts = dict(zip(deadlines.index.astype(int).tolist(), deadlines.tolist(), strict=True))
    read: dict[object, dt.date | None] = {}

    def due(finding: Finding) -> dt.date | None:
        if finding.row is None or finding.code not in DEADLINE_CODES or finding.row not in texts:
            return None
        text = texts[finding.row]
        if text not in read:
            read[text] = _iso_day(text)
        return read[text]

    order = sorted(chosen, key=lambda f: (rank[f.code], due(f) or dt.date.max, f.row or 0))
    shown = order[:ACTIONS_SHOWN]
    tenants, workloads = _cells(associations, ("Tenant ID", "Workload"), [f.row for f in shown])
    names = customer_of(
        customers, np.array([t if isinstance(t, str) else None for t in tenants], dtype=object)
    )
    rows: list[list[Cell]] = []
    for f, tenant, workload, customer in zip(shown, tenants, workloads, names.tolist(), strict=True):
        date = due(f)
        customer = customer if isinstance(tenant, str) else None
        rows.append([
            f.claim_id,
            customer if isinstance(customer, str) else None,
            workload if isinstance(workload, str) else None,
            f.code,
            date.isoformat() if date else None,
            f"{f.sheet}!{f.cell}" if f.cell else f.sheet,
            CODES[f.code][0].value,
        ])  # fmt: skip
    left = len(order) - len(rows)
    if not order:
        note = "Nothing needs action now."
    elif left:
        note = f"... and {left:,} more: the CPOR Report lists every finding (filter the Code column)."
    else:
        note = "Every finding, with what to do: the CPOR Report."
    return Table("Needs action now", ACTION_HEADER, rows, note=note)


def _iso_day(text: object) -> dt.date | None:
    """An ISO date text as a date (None for none): "YYYY-MM-DD" read directly, anything else by pandas."""
    if isinstance(text, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            return None  # (no such day: pandas says NaT too)
    parsed = pd.to_datetime(pd.Series([text]).astype(str), errors="coerce", format="ISO8601")
    return None if parsed.isna().iloc[0] else parsed.iloc[0].date()


def _cells(frame: pd.DataFrame, columns: Sequence[str], rows: list[int | None]) -> list[list[object]]:
    """Each column's value in each Excel row (the first row of that number), None where there is none
    (the rows looked up once for every column)."""
    if not rows:
        return [[] for _ in columns]
    if not frame.index.is_unique:  # (not a workbook's sheet) row by row, as labels
        return [
            [frame.loc[r].get(column) if column in frame and r in frame.index else None for r in rows]
            for column in columns
        ]
    at = frame.index.get_indexer(pd.Index([-1 if r is None else r for r in rows]))
    at = np.where(at >= 0, at, len(frame))
    out: list[list[object]] = []
    for column in columns:
        if column not in frame:
            out.append([None] * len(rows))
            continue
        values = np.concatenate([frame[column].to_numpy(dtype=object), np.full(1, None, dtype=object)])
        out.append(list(values[at]))
    return out


__all__ = [
    "ACTION_CODES",
    "STATUS_COLOURS",
    "build_dashboard",
    "claims_by_status",
    "needs_action",
    "pay_per_month",
]

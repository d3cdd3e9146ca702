"""What the Dashboard shows after a run, as plain data (``model.dashboard``): claims by status, milestones
(and usage pay, once the Earnings Ledger exists) per month, and the claims that need action now. Pure: the
frames and findings of the run in, no files, no clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import pandas as pd

from cpor_excel.model.catalogue import STATUSES
from cpor_excel.model.columns import ASSOCIATIONS, DASHBOARD_TITLE
from cpor_excel.model.dashboard import Cell, Chart, Dashboard, Series, Table
from cpor_excel.model.findings import CODES, Finding
from cpor_excel.model.wording import SUMMARY_NOUNS, count_summary, counted

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
    frame = associations.reindex(columns=["Claim ID", "Status"]).dropna()
    per_status = frame.drop_duplicates().groupby("Status")["Claim ID"].nunique()
    values = [int(per_status.get(status, 0)) for status in STATUSES]
    series = Series("Claims", values, point_colours=[STATUS_COLOURS.get(s) for s in STATUSES])
    return Chart(
        "Claims by status", list(STATUSES), [series], horizontal=True, data_labels=True, legend=False
    )


def _months(as_of: dt.date) -> pd.PeriodIndex:
    return pd.period_range(end=pd.Period(as_of, "M"), periods=MONTHS_SHOWN, freq="M")


def _per_month(
    frame: pd.DataFrame, month: str, amount: str, months: pd.PeriodIndex
) -> tuple[pd.Series, pd.Series, str]:
    """Rows and the sum of ``amount`` per month (the most used currency only), and that currency."""
    if frame.empty or month not in frame:
        zeros = pd.Series(0, index=months)
        return zeros, zeros.astype(float), ""
    at = pd.to_datetime(frame[month], errors="coerce").dt.to_period("M")
    count = at.value_counts().reindex(months, fill_value=0)
    currencies = frame.get("Currency", pd.Series(dtype=object)).dropna()
    currency = str(currencies.mode().iloc[0]) if not currencies.empty else ""
    paid = (
        pd.to_numeric(frame[amount], errors="coerce")
        if amount in frame
        else pd.Series(float("nan"), frame.index)
    )
    if currency:
        paid = paid.where(frame["Currency"] == currency)
    total = paid.groupby(at).sum().reindex(months, fill_value=0.0)
    return count, total, currency


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
    money = [item for item in money if item[1].abs().sum() > 0]  # no pay recorded: no line at zero
    currencies = {c for _, _, c, _ in money if c}
    for name, amounts, own, colour in money:
        label = f"{name} ({own})" if own and len(currencies) > 1 else name
        values = [round(float(v), 2) for v in amounts]
        series.append(
            Series(label, values, kind="line", secondary=True, colour=colour, number_format="#,##0.00")
        )
    return Chart(
        "Milestones and pay per month" if money else "Milestones per month",
        [str(m) for m in months],
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
    names = (
        customers.dropna(subset=["Tenant ID"])
        .drop_duplicates("Tenant ID")
        .set_index("Tenant ID")["Customer Name"]
        if not customers.empty and "Customer Name" in customers
        else pd.Series(dtype=object)
    )

    # the deadlines as dates once (they arrive as ISO text), not one to_datetime per finding
    dates: dict[int, dt.date] = {}
    if deadlines is not None and len(deadlines):
        parsed = pd.to_datetime(deadlines.astype(str), errors="coerce", format="ISO8601")
        valid = parsed.dropna()
        dates = dict(zip(valid.index.astype(int).tolist(), [v.date() for v in valid], strict=True))

    def due(finding: Finding) -> dt.date | None:
        return None if finding.row is None or finding.code not in DEADLINE_CODES else dates.get(finding.row)

    order = sorted(chosen, key=lambda f: (rank[f.code], due(f) or dt.date.max, f.row or 0))
    rows: list[list[Cell]] = []
    for f in order[:ACTIONS_SHOWN]:
        at = associations.loc[f.row] if f.row in associations.index else None
        tenant, workload = (None, None) if at is None else (at.get("Tenant ID"), at.get("Workload"))
        date = due(f)
        customer = names.get(tenant) if isinstance(tenant, str) else None
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


__all__ = [
    "ACTION_CODES",
    "STATUS_COLOURS",
    "build_dashboard",
    "claims_by_status",
    "needs_action",
    "pay_per_month",
]

"""An earnings download, read and checked: its Modern Work usage rows, one per tenant, workload, month and kind.

Only Modern Work usage is the tool's business: a row of another solution area, one without a workload, one whose
customer is a top parent ID (TPID) rather than a tenant, and, where the file says so, one that is not usage-based
(no compensableUnits, MAU or PAU quantity, and no "usage" in its engagement name) is counted under its
engagement and skipped with a note. The rows left are checked like usage rows (tenant, workload, month at its
cell) and folded per tenant, workload and month: an Earnings report's distinct earnings (by earningId) are
added up, which nets Microsoft's recalculations; an ineligible month keeps every reason given for it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cpor_excel.earnings_import.downloads import EARNINGS_REPORT, LOOKED_FOR, header_score, layout_of
from cpor_excel.model.catalogue import fold
from cpor_excel.model.columns import EARNED, INELIGIBLE
from cpor_excel.model.findings import Finding
from cpor_excel.usage_import import checks
from cpor_excel.usage_import.cells import cell_text
from cpor_excel.usage_import.export_file import Expected, NotAReport, read_raw
from cpor_excel.usage_import.months import parse_months

MAX_AMOUNT = 10**12


class NotAnEarningsReport(NotAReport):
    """The file cannot be read as an earnings download (exit 3)."""


EXPECTED = Expected(header_score, LOOKED_FOR, "Partner Center earnings download", NotAnEarningsReport)
NO_ENGAGEMENT = "(no engagement name)"


@dataclass
class EarningsDownload:
    """``rows``: one per (Tenant ID, Workload, Month, Kind), the Microsoft Earnings columns but Source and
    Imported On, plus ``Row`` (the download's first row of it) and ``Rows`` (how many rows were folded in).
    ``period``: the first and last month of the whole file (any engagement), None when it has no readable date."""

    source: str
    report: str  # INELIGIBLE_REPORT or EARNINGS_REPORT
    rows: pd.DataFrame
    skipped: list[Finding]
    assumptions: list[str]
    read: int
    usage_rows: int
    other: dict[str, int] = field(default_factory=dict)  # engagement -> rows skipped as not Modern Work usage
    period: tuple[str, str] | None = None
    positions: dict[str, int] = field(default_factory=dict)


def read_earnings(path: Path | str) -> EarningsDownload:
    """Read an Ineligible revenue usage details or Earnings download (CSV or XLSX) and check its usage rows."""
    name = Path(path).name
    raw = read_raw(path, EXPECTED)
    layout = layout_of(raw.header)
    assert layout is not None  # read_raw took this row as the header because it is one
    pos = layout.positions
    cells = pd.DataFrame({f: raw.body[i] for f, i in pos.items()}, index=raw.body.index)
    texts = {f: cell_text(cells[f]) for f in cells.columns}
    blank = pd.concat(list(texts.values()), axis=1).isna().all(axis=1)
    ragged = {f.row for f in raw.findings if f.row is not None}
    keep = ~blank & ~cells.index.isin(list(ragged))
    cells, texts = cells[keep], {f: t[keep] for f, t in texts.items()}
    read = int((~blank).sum())

    date_header = str(raw.header[pos["Transaction Date"]]).strip()
    all_months = parse_months(
        cells["Transaction Date"].where(texts["Transaction Date"].notna(), None), date_header
    )[0]
    readable = all_months.dropna()
    period = (str(readable.min()), str(readable.max())) if len(readable) else None

    usage = _modern_work_usage(texts)
    engagement = texts.get("Engagement", pd.Series(None, index=cells.index, dtype=object)).fillna(
        NO_ENGAGEMENT
    )
    other = dict(Counter(engagement[~usage].tolist()).most_common())
    cells, texts = cells[usage], {f: t[usage] for f, t in texts.items()}

    report = checks.Reporter(
        name,
        row_of=int,
        column_of=lambda column, _: pos[column],
        header_of=lambda column, _: str(raw.header[pos[column]]).strip(),
    )
    assumptions = list(raw.assumptions)
    tenant = checks.tenants(report, texts["Tenant ID"])
    workload = checks.workloads(report, texts["Workload"])
    checks.require(report, texts, ("Tenant ID", "Transaction Date"))
    month, notes = checks.months(
        report, cells["Transaction Date"], texts["Transaction Date"], "Transaction Date", date_header
    )
    assumptions += notes
    number_specs: dict[str, dict[str, Any]] = {
        "Quantity": {}, "Quantity Alt": {}, "Compensable Units": {"negative": True},
        "Amount": {"whole": False, "negative": True, "limit": MAX_AMOUNT},
        "Amount USD": {"whole": False, "negative": True, "limit": MAX_AMOUNT},
    }  # fmt: skip
    values: dict[str, pd.Series] = {}
    for column, spec in number_specs.items():
        if column not in cells:
            values[column] = pd.Series(float("nan"), index=cells.index)
            continue
        values[column], notes = checks.numbers(
            report, cells[column], texts[column], column, raw.decimal_comma, **spec
        )
        assumptions += notes

    good = report.good(cells.index)
    kind = EARNED if layout.kind == EARNINGS_REPORT else INELIGIBLE

    def text(column: str) -> pd.Series:
        return (
            texts[column][good] if column in texts else pd.Series(None, index=cells.index[good], dtype=object)
        )

    rows = pd.DataFrame(
        {
            "Tenant ID": tenant[good], "Customer": text("Customer"), "Workload": workload[good],
            "Month": month[good], "Kind": kind, "Claim ID": text("Claim ID"), "Partner ID": text("Partner ID"),
            "Active Users": _of_type(values["Quantity"], texts, "Quantity Type", "mau")[good],
            "Paid Units": _of_type(values["Quantity Alt"], texts, "Quantity Alt Type", "pau")[good],
            "Compensable Units": values["Compensable Units"][good], "Reason": text("Reason"),
            "Amount": values["Amount"][good], "Currency": text("Currency"), "Amount USD": values["Amount USD"][good],
            "Engagement": text("Engagement"),
            "Microsoft IDs": text("Earning ID") if kind == EARNED else text("Unearned ID"),
            "Row": cells.index[good],
        },
        index=cells.index[good],
    )  # fmt: skip
    return EarningsDownload(
        name, layout.kind, _fold(rows), [*raw.findings, *report.sorted_findings()], assumptions, read,
        int(usage.sum()), other, period, pos,
    )  # fmt: skip


def _modern_work_usage(texts: dict[str, pd.Series]) -> pd.Series:
    """Which rows are Modern Work usage (see the module's docstring)."""
    index = texts["Workload"].index
    none = pd.Series(False, index=index)
    usage = texts["Workload"].notna()
    if "Solution Area" in texts:
        area = texts["Solution Area"]
        usage &= area.isna() | area.map(fold, na_action="ignore").str.contains(
            "modernwork", regex=False
        ).fillna(False)
    if "Customer ID Type" in texts:
        id_type = texts["Customer ID Type"].map(fold, na_action="ignore")
        usage &= ~(id_type.str.contains("tpid|topparent", regex=True).fillna(False).astype(bool))
    signals = [
        texts["Compensable Units"].notna() if "Compensable Units" in texts else none,
        texts["Quantity Type"].map(fold, na_action="ignore").eq("mau") if "Quantity Type" in texts else none,
        texts["Quantity Alt Type"].map(fold, na_action="ignore").eq("pau")
        if "Quantity Alt Type" in texts
        else none,
        texts["Engagement"].str.contains("usage", case=False, regex=False).fillna(False)
        if "Engagement" in texts
        else none,
    ]
    said = pd.concat(signals, axis=1).fillna(False).astype(bool).any(axis=1)
    if said.any():  # the file tells usage from other incentives: believe it row by row
        usage &= said
    return usage.astype(bool)


def _of_type(values: pd.Series, texts: dict[str, pd.Series], type_column: str, unit: str) -> pd.Series:
    """A quantity, where its type column says ``unit`` or says nothing (quantity is MAU, quantityAlt PAU)."""
    if type_column not in texts:
        return values
    kind = texts[type_column].map(fold, na_action="ignore")
    return values.where(kind.isna() | kind.eq(unit))


def _joined(values: pd.Series) -> str | None:
    seen = list(dict.fromkeys(v for v in values if isinstance(v, str) and v))
    return "; ".join(seen) or None


TEXTS = ("Customer", "Claim ID", "Partner ID", "Reason", "Currency", "Engagement", "Microsoft IDs")
NUMBERS = ("Active Users", "Paid Units", "Compensable Units", "Amount", "Amount USD")


def _fold(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (Tenant ID, Workload, Month, Kind): an Earnings report's distinct earnings added up (units
    and amounts; the quantities are the month's, so their largest), an ineligible month's largest figures; texts
    joined. Most months have one row: only the others are folded, the texts of those one by one."""
    key = ["Tenant ID", "Workload", "Month", "Kind"]
    repeated = rows["Microsoft IDs"].notna() & rows.duplicated([*key, "Microsoft IDs"], keep="first")
    rows = rows[~repeated]  # the same earning listed twice is one earning
    size = rows.groupby(key, sort=False, dropna=False)["Row"].transform("size")
    single = rows[size == 1].assign(Rows=1)
    several = rows[size > 1]
    if several.empty:
        return single.reset_index(drop=True)
    grouped = several.groupby(key, sort=False, dropna=False)
    summed = ["Compensable Units", "Amount", "Amount USD"] if several["Kind"].iloc[0] == EARNED else []
    folded = grouped[[c for c in NUMBERS if c not in summed]].max()
    folded = folded.join(grouped[summed].sum(min_count=1)) if summed else folded
    folded = folded.join(grouped[list(TEXTS)].agg(_joined)).join(grouped["Row"].min())
    folded["Rows"] = grouped.size()
    mixed = folded["Currency"].str.contains(";", regex=False).fillna(False).astype(bool)
    folded.loc[mixed, "Amount"] = float("nan")  # amounts in two currencies do not add up; Amount USD does
    out = pd.concat([single, folded.reset_index()], ignore_index=True)
    return out.sort_values("Row", kind="stable").reset_index(drop=True)

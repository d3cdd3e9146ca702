"""Checks shared by the imports of Partner Center downloads: each finds the bad cells of a column at once and
reports them at the download's own cells; an entry with any problem is skipped.

An *entry* is what one row of a download gives (``Reporter.row_of`` maps it to the download's row, and
``column_of`` to the column a value came from: the wide Enterprise Mobility report has several per row).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cpor_excel.model.catalogue import canonical_workload, suggest_workload
from cpor_excel.model.findings import Finding
from cpor_excel.model.headers import column_index
from cpor_excel.usage_import.cells import MAX_COUNT, cell_finding, normalise_tenant, parse_numbers
from cpor_excel.usage_import.months import parse_months


@dataclass
class Reporter:
    """Collects findings at a download's cells and the entries they skip."""

    source: str  # the download's file name (the findings' sheet)
    row_of: Callable[[Any], int]
    column_of: Callable[[str, Any], int]  # (field, entry) -> 0-based column
    header_of: Callable[[str, Any], str]  # (field, entry) -> the download's header text
    findings: list[Finding] = field(default_factory=list)
    bad: set[Any] = field(default_factory=set)
    _seen: set[tuple[int, int, str]] = field(default_factory=set)

    def __call__(self, mask: pd.Series, code: str, column: str, message: str | Callable[[Any], str]) -> None:
        """Skip the masked entries, with one finding per download cell (entries of one row may share it)."""
        for entry in mask[mask].index:
            self.bad.add(entry)
            row, col = self.row_of(entry), self.column_of(column, entry)
            if (row, col, code) not in self._seen:
                self._seen.add((row, col, code))
                text = message(entry) if callable(message) else message
                self.findings.append(cell_finding(code, self.source, row, col, column, text))

    def good(self, index: pd.Index) -> pd.Series:
        return pd.Series(~index.isin(list(self.bad)), index=index)

    def sorted_findings(self) -> list[Finding]:
        return sorted(
            self.findings, key=lambda f: (f.row or 0, column_index((f.cell or "A").rstrip("0123456789")))
        )


def require(report: Reporter, texts: dict[str, pd.Series], columns: tuple[str, ...]) -> None:
    for column in columns:

        def message(r: Any, c: str = column) -> str:
            return f"{report.header_of(c, r)} is empty: fill it in or remove the row."

        report(texts[column].isna(), "missing-value", column, message)


def tenants(report: Reporter, text: pd.Series) -> pd.Series:
    """Tenant IDs as lower-case GUIDs; a cell that is no GUID is reported."""
    tenant = normalise_tenant(text)
    report(
        tenant.isna() & text.notna(),
        "bad-tenant-id",
        "Tenant ID",
        lambda r: (
            f"{report.header_of('Tenant ID', r)} {text[r]!r} is not a GUID (8-4-4-4-12 hex digits): fix it."
        ),
    )
    return tenant


def workloads(report: Reporter, text: pd.Series) -> pd.Series:
    """Catalogue workload names; an unknown one is reported with the nearest name."""
    names = {w: canonical_workload(w) for w in text.dropna().unique()}
    workload = text.map(names)
    hints = {w: suggest_workload(w) for w, c in names.items() if c is None}

    def message(r: Any) -> str:
        hint = hints[text[r]]
        tail = f"; did you mean {hint!r}?" if hint else ": see the README list."
        return f"{report.header_of('Workload', r)} {text[r]!r} is not a known workload{tail}"

    report(workload.isna() & text.notna(), "unknown-workload", "Workload", message)
    return workload


def months(
    report: Reporter, raw: pd.Series, text: pd.Series, column: str, header: str
) -> tuple[pd.Series, list[str]]:
    """'YYYY-MM' of each cell (parse_months); one that cannot be read is reported at its cell."""
    given = raw.where(text.notna(), None)
    month, problems, notes = parse_months(given, header)
    for code in ("bad-type", "ambiguous-date"):
        bad = {v for v, (c, _) in problems.items() if c == code}
        report(given.isin(bad), code, column, lambda r: problems[given[r]][1])
    return month, notes


def numbers(
    report: Reporter,
    raw: pd.Series,
    text: pd.Series,
    column: str,
    decimal_comma: bool,
    *,
    whole: bool = True,
    negative: bool = False,
    limit: float = MAX_COUNT,
) -> tuple[pd.Series, list[str]]:
    """The cells as floats (NaN when blank or bad); bad ones reported. Blank cells are not a problem here."""
    values, problem, grouped = parse_numbers(raw, decimal_comma, whole=whole, negative=negative, limit=limit)
    report(
        problem == "bad-type",
        "bad-type",
        column,
        lambda r: f"{report.header_of(column, r)} {text[r]!r} is not a number.",
    )
    kind = "a whole number" if whole else "a number"
    sign = "" if negative else " of 0 or more"
    report(
        problem == "bad-number",
        "bad-number",
        column,
        lambda r: f"{report.header_of(column, r)} {text[r]!r} is not {kind}{sign} (up to {limit:,.0f}).",
    )
    notes = []
    if grouped and len(text):
        sep = "'.'" if decimal_comma else "','"
        notes.append(f"{report.header_of(column, text.index[0])}: {sep} was read as the thousands separator.")
    return values, notes

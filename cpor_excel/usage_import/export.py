"""A usage report, read and checked: the importable rows, and a finding for each problem of a skipped row."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import pandas as pd

from cpor_excel.model.columns import USAGE
from cpor_excel.model.findings import Finding
from cpor_excel.usage_import import checks
from cpor_excel.usage_import.cells import cell_finding, cell_text
from cpor_excel.usage_import.columns import COUNTS, KEY, USAGE_COLUMNS
from cpor_excel.usage_import.entries import entries_of
from cpor_excel.usage_import.export_file import Expected, NotAUsageExport, RawExport, read_raw
from cpor_excel.usage_import.kinds import (
    CLAIM_ID,
    CPOR_M365,
    DATE_ASSOCIATED,
    LOOKED_FOR,
    PARTNER_ID,
    USAGE_TABLE,
    Layout,
    header_score,
    layout_of,
)
from cpor_excel.usage_import.months import parse_months


@dataclass
class UsageExport:
    """A usage report, read and checked.

    ``rows``: the importable rows, index = entry (the row number in the export, except in the wide
    Enterprise Mobility report, where a row gives one entry per workload: ``export_rows`` maps them);
    columns Tenant ID (lower-case GUID), Workload (canonical), Month ("YYYY-MM"), Active Users, Paid Units
    (int64), Customer Name, Country (str or None), and in a CPOR-M365 report Claim ID, Partner ID (the raw
    cells) and Date Associated ("YYYY-MM" or None). ``skipped``: one finding per problem of a skipped row.
    """

    source: str
    rows: pd.DataFrame
    skipped: list[Finding]
    assumptions: list[str]
    read: int  # data rows in the export (blank rows not counted)
    duplicates: int = 0  # rows repeating an earlier row exactly (imported once)
    headers: dict[str, str] = field(default_factory=dict)  # canonical -> the export's own header text
    positions: dict[str, int] = field(default_factory=dict)  # canonical -> 0-based column in the export
    kind: str = USAGE_TABLE  # which report it is (kinds.py)
    flagged: int = 0  # rows flagged IsDuplicateRowForPGA = 1, skipped
    empty_pairs: int = 0  # Enterprise Mobility workload pairs empty or 0/0 (no Usage row)
    export_rows: pd.Series | None = None  # entry -> export row, where entries are not rows

    def export_row(self, entry: int) -> int:
        """The export's row (as Excel shows the file) of an entry of ``rows``."""
        return int(entry if self.export_rows is None else self.export_rows[entry])


EXPECTED = Expected(header_score, LOOKED_FOR, "Partner Center usage report", NotAUsageExport)


def read_export(path: Path | str) -> UsageExport:
    """Read a Partner Center usage report (CSV or XLSX) and check every row; bad rows become findings."""
    raw = read_raw(path, EXPECTED)
    layout = layout_of(raw.header)
    assert layout is not None  # read_raw took this row as the header because it is one
    return _check_rows(raw, layout, Path(path).name)


def _check_rows(raw: RawExport, layout: Layout, name: str) -> UsageExport:
    positions = layout.positions
    missing = [c for c in USAGE_COLUMNS if c not in positions and not layout.wide]
    if missing:
        accepted = "; ".join(f"{c} ({', '.join(USAGE.column(c).aliases) or c})" for c in missing)
        raise NotAUsageExport(
            f"{name} ({layout.kind}) has no column for {accepted}: is it a Partner Center usage report?"
        )
    headers = {c: str(raw.header[i]).strip() for c, i in positions.items()}
    ragged = {f.row for f in raw.findings if f.row is not None}
    entries = entries_of(raw.body, layout, ragged)
    cells = entries.cells
    texts = {c: cell_text(cells[c]) for c in cells.columns}
    report = checks.Reporter(
        name,
        row_of=lambda entry: int(entries.rows[entry]),
        column_of=entries.column,
        header_of=lambda column, entry: str(raw.header[entries.column(column, entry)]).strip(),
    )
    assumptions = list(raw.assumptions)
    checks.require(report, texts, USAGE_COLUMNS)
    tenant = checks.tenants(report, texts["Tenant ID"])
    workload = checks.workloads(report, texts["Workload"])
    month, notes = checks.months(report, cells["Month"], texts["Month"], "Month", headers["Month"])
    assumptions += notes
    counts: dict[str, pd.Series] = {}
    for column in COUNTS:
        counts[column], notes = checks.numbers(
            report, cells[column], texts[column], column, raw.decimal_comma
        )
        assumptions += notes

    good = report.good(cells.index)
    rows = pd.DataFrame(
        {
            "Tenant ID": tenant[good],
            "Workload": workload[good],
            "Month": month[good],
            "Active Users": counts["Active Users"][good].astype("int64"),
            "Paid Units": counts["Paid Units"][good].astype("int64"),
            **{c: texts[c][good] if c in texts else None for c in ("Customer Name", "Country")},
        },
        index=cells.index[good],
    )
    if layout.kind == CPOR_M365:
        for column in (CLAIM_ID, PARTNER_ID):  # raw: an XLSX report may hold the MpnId as a number
            rows[column] = (
                cells[column][good].where(texts[column][good].notna(), None) if column in cells else None
            )
        rows[DATE_ASSOCIATED] = None
        if DATE_ASSOCIATED in cells:
            given = cells[DATE_ASSOCIATED][good].where(texts[DATE_ASSOCIATED][good].notna(), None)
            associated = parse_months(given, headers[DATE_ASSOCIATED])[0]
            rows[DATE_ASSOCIATED] = associated.astype(object).where(associated.notna(), None)
    export_rows = entries.rows if layout.wide else None
    rows, duplicates, dup_findings = _collapse_duplicates(rows, name, positions, entries.rows)
    report.findings += [*raw.findings, *dup_findings]
    findings = report.sorted_findings()
    return UsageExport(
        name, rows, findings, assumptions, entries.read, duplicates, headers, positions,
        kind=layout.kind, flagged=entries.flagged, empty_pairs=entries.empty_pairs, export_rows=export_rows,
    )  # fmt: skip


def _collapse_duplicates(
    rows: pd.DataFrame, name: str, positions: dict[str, int], export_rows: pd.Series
) -> tuple[pd.DataFrame, int, list[Finding]]:
    """Exact repeats are imported once; rows that give different numbers for one key are all skipped,
    since nothing says which is right."""
    repeated = rows.duplicated(list(KEY), keep=False)
    if not repeated.any():
        return rows, 0, []
    group = rows[repeated]
    distinct = group.groupby(list(KEY), sort=False)[list(COUNTS)].transform("nunique").max(axis=1)
    conflicting = group[distinct > 1]
    findings = []
    if len(conflicting):
        others = conflicting.reset_index(names="_entry").groupby(list(KEY), sort=False)["_entry"].agg(list)
        for key, entries in others.items():
            tenant, workload, month = cast("tuple[str, str, str]", key)
            numbers = sorted({int(export_rows[e]) for e in entries})
            listed = ", ".join(str(n) for n in numbers)
            message = (
                f"Rows {listed} give different usage for {tenant}, {workload}, {month}: keep the right one "
                "and import again."
            )
            findings += [
                cell_finding("duplicate-key", name, int(r), positions["Tenant ID"], "Tenant ID", message)
                for r in numbers
            ]
    rest = rows.drop(index=conflicting.index)
    exact = rest.duplicated(list(KEY), keep="first")
    return rest[~exact], int(exact.sum()), findings

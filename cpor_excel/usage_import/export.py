"""A usage report, read and checked: the importable rows, and a finding for each problem of a skipped row."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pandas as pd

from cpor_excel.model.catalogue import canonical_workload, suggest_workload
from cpor_excel.model.columns import USAGE
from cpor_excel.model.findings import Finding, column_index
from cpor_excel.usage_import.cells import MAX_COUNT, cell_finding, cell_text, normalise_tenant, parse_counts
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
    findings: list[Finding] = list(raw.findings)
    assumptions = list(raw.assumptions)

    def header(column: str, entry: int) -> str:
        return str(raw.header[entries.column(column, entry)]).strip()

    bad_entries: set[int] = set()
    reported: set[tuple[int, int, str]] = set()

    def report(mask: pd.Series, code: str, column: str, message: Any) -> None:
        """Skip the masked entries; one finding per export cell (the wide report's entries of one row
        share its tenant and month cells)."""
        for entry in mask[mask].index:
            bad_entries.add(entry)
            row, col = int(entries.rows[entry]), entries.column(column, entry)
            if (row, col, code) not in reported:
                reported.add((row, col, code))
                text = message(entry) if callable(message) else message
                findings.append(cell_finding(code, name, row, col, column, text))

    for column in USAGE_COLUMNS:
        report(
            texts[column].isna(),
            "missing-value",
            column,
            lambda r, c=column: f"{header(c, r)} is empty: fill it in or remove the row.",
        )

    raw_tenant = texts["Tenant ID"]
    tenant = normalise_tenant(raw_tenant)
    report(
        tenant.isna() & raw_tenant.notna(),
        "bad-tenant-id",
        "Tenant ID",
        lambda r: f"{headers['Tenant ID']} {raw_tenant[r]!r} is not a GUID (8-4-4-4-12 hex digits): fix it.",
    )

    raw_workload = texts["Workload"]
    names = {w: canonical_workload(w) for w in raw_workload.dropna().unique()}
    workload = raw_workload.map(names)
    hints = {w: suggest_workload(w) for w, c in names.items() if c is None}
    report(
        workload.isna() & raw_workload.notna(),
        "unknown-workload",
        "Workload",
        lambda r: (
            f"{headers['Workload']} {raw_workload[r]!r} is not a known workload"
            + (
                f"; did you mean {hints[raw_workload[r]]!r}?"
                if hints[raw_workload[r]]
                else ": see the README list."
            )
        ),
    )

    raw_month = cells["Month"].where(texts["Month"].notna(), None)
    month, problems, month_notes = parse_months(raw_month, headers["Month"])
    assumptions += month_notes
    for code in ("bad-type", "ambiguous-date"):
        bad = {v for v, (c, _) in problems.items() if c == code}
        report(raw_month.isin(bad), code, "Month", lambda r: problems[raw_month[r]][1])

    counts: dict[str, pd.Series] = {}
    for column in COUNTS:
        numbers, problem, grouped = parse_counts(cells[column], raw.decimal_comma)
        counts[column] = numbers
        value = texts[column]
        report(
            problem == "bad-type",
            "bad-type",
            column,
            lambda r, c=column, v=value: f"{header(c, r)} {v[r]!r} is not a number.",
        )
        report(
            problem == "bad-number",
            "bad-number",
            column,
            lambda r, c=column, v=value: (
                f"{header(c, r)} {v[r]!r} is not a whole number of 0 or more (up to {MAX_COUNT:,})."
            ),
        )
        if grouped:
            sep = "'.'" if raw.decimal_comma else "','"
            assumptions.append(f"{headers[column]}: {sep} was read as the thousands separator.")

    good = ~cells.index.isin(list(bad_entries))
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
    findings += dup_findings
    findings.sort(key=lambda f: (f.row or 0, column_index((f.cell or "A").rstrip("0123456789"))))
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

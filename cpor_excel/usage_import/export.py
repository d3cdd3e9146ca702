"""A usage export, read and checked: the importable rows, and a finding for each problem of a skipped row."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pandas as pd

from cpor_excel.model.catalogue import canonical_workload, fold, suggest_workload
from cpor_excel.model.columns import USAGE
from cpor_excel.model.findings import Finding
from cpor_excel.usage_import.cells import cell_finding, cell_text, normalise_tenant, parse_counts
from cpor_excel.usage_import.columns import COUNTS, HEADER_NAMES, KEY, USAGE_COLUMNS
from cpor_excel.usage_import.export_file import NotAUsageExport, RawExport, read_raw
from cpor_excel.usage_import.months import parse_months


@dataclass
class UsageExport:
    """A usage export, read and checked.

    ``rows``: the importable rows, index = row number in the export; columns Tenant ID (lower-case GUID),
    Workload (canonical), Month ("YYYY-MM"), Active Users, Paid Units (int64), Customer Name, Country
    (str or None). ``skipped``: one finding per problem of a skipped row.
    """

    source: str
    rows: pd.DataFrame
    skipped: list[Finding]
    assumptions: list[str]
    read: int  # data rows in the export (blank rows not counted)
    duplicates: int = 0  # rows repeating an earlier row exactly (imported once)
    headers: dict[str, str] = field(default_factory=dict)  # canonical -> the export's own header text
    positions: dict[str, int] = field(default_factory=dict)  # canonical -> 0-based column in the export


def read_export(path: Path | str) -> UsageExport:
    """Read a Partner Center usage export (CSV or XLSX) and check every row; bad rows become findings."""
    return _check_rows(read_raw(path), Path(path).name)


def _check_rows(raw: RawExport, name: str) -> UsageExport:
    positions: dict[str, int] = {}
    for index, title in enumerate(raw.header):
        canonical = HEADER_NAMES.get(fold(title)) if title not in (None, "") else None
        if canonical and canonical not in positions:
            positions[canonical] = index
    missing = [c for c in USAGE_COLUMNS if c not in positions]
    if missing:
        accepted = "; ".join(f"{c} ({', '.join(USAGE.column(c).aliases) or c})" for c in missing)
        raise NotAUsageExport(f"{name} has no column for {accepted}: is it a Partner Center usage export?")
    headers = {c: str(raw.header[i]).strip() for c, i in positions.items()}
    body = raw.body
    cells = pd.DataFrame({c: body[i] for c, i in positions.items()}, index=body.index)
    texts = {c: cell_text(cells[c]) for c in cells.columns}
    blank_row = pd.concat([texts[c].isna() for c in USAGE_COLUMNS], axis=1).all(axis=1)
    ragged = {f.row for f in raw.findings}
    keep = ~blank_row & ~cells.index.isin(list(ragged))
    cells, texts = cells[keep], {c: t[keep] for c, t in texts.items()}
    findings: list[Finding] = list(raw.findings)
    assumptions = list(raw.assumptions)

    def report(mask: pd.Series, code: str, column: str, message: Any) -> None:
        for row in mask[mask].index:
            text = message(row) if callable(message) else message
            findings.append(cell_finding(code, name, int(row), positions[column], column, text))

    for column in USAGE_COLUMNS:
        report(
            texts[column].isna(),
            "missing-value",
            column,
            f"{headers[column]} is empty: fill it in or remove the row.",
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
            lambda r, c=column, v=value: f"{headers[c]} {v[r]!r} is not a number.",
        )
        report(
            problem == "bad-number",
            "bad-number",
            column,
            lambda r, c=column, v=value: f"{headers[c]} {v[r]!r} is not a whole number of 0 or more.",
        )
        if grouped:
            sep = "'.'" if raw.decimal_comma else "','"
            assumptions.append(f"{headers[column]}: {sep} was read as the thousands separator.")

    bad = {f.row for f in findings}
    good = ~cells.index.isin(list(bad))
    rows = pd.DataFrame(
        {
            "Tenant ID": tenant[good],
            "Workload": workload[good],
            "Month": month[good],
            "Active Users": counts["Active Users"][good].astype("int64"),
            "Paid Units": counts["Paid Units"][good].astype("int64"),
            "Customer Name": texts["Customer Name"][good] if "Customer Name" in texts else None,
            "Country": texts["Country"][good] if "Country" in texts else None,
        },
        index=cells.index[good],
    )
    rows, duplicates, dup_findings = _collapse_duplicates(rows, name, positions, headers)
    findings += dup_findings
    findings.sort(key=lambda f: (f.row or 0, positions.get(f.column or "", -1)))
    read = int((~blank_row).sum()) + len(ragged)
    return UsageExport(name, rows, findings, assumptions, read, duplicates, headers, positions)


def _collapse_duplicates(
    rows: pd.DataFrame, name: str, positions: dict[str, int], headers: dict[str, str]
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
        others = conflicting.reset_index(names="_row").groupby(list(KEY), sort=False)["_row"].agg(list)
        for key, numbers in others.items():
            tenant, workload, month = cast("tuple[str, str, str]", key)
            listed = ", ".join(str(n) for n in sorted(numbers))
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

"""Planning an earnings import (pure): which Microsoft Earnings cells change, which rows are appended, and the
Earnings Imports row that records the period the download covers.

Rows are upserted by (Tenant ID, Workload, Month, Kind): an existing row whose values differ gets those cells
(and Source, Imported On) set; an identical one is left alone, so importing a download twice changes nothing.
Existing rows are read as a run reads the sheet (tenant IDs in any case or braces, any workload alias, a month
as text or a date); a row that cannot be read matches nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, cast

import pandas as pd

from cpor_excel.earnings_import.report import EarningsDownload
from cpor_excel.io.book import CellValue
from cpor_excel.model.columns import EARNINGS_IMPORTS_HEADER, MS_EARNINGS_HEADER, MS_EARNINGS_KEY
from cpor_excel.model.findings import Finding
from cpor_excel.model.workbook import SheetTable
from cpor_excel.rules import values as cell_values
from cpor_excel.usage_import.cells import cell_finding
from cpor_excel.usage_import.plan import sheet_keys

#: columns compared to tell whether an existing row changes (Source and Imported On follow a change)
COMPARED = tuple(c for c in MS_EARNINGS_HEADER if c not in (*MS_EARNINGS_KEY, "Source", "Imported On"))
AMOUNTS = ("Amount", "Amount USD")
COUNTS = ("Active Users", "Paid Units", "Compensable Units")


@dataclass
class EarningsPlan:
    cells: dict[tuple[int, int], CellValue]  # Microsoft Earnings cells to set: (Excel row, 0-based column)
    updated_rows: list[int]
    unchanged: int
    new_rows: list[list[CellValue]]  # rows to append, MS_EARNINGS_HEADER order
    skipped: list[Finding]
    import_cells: dict[tuple[int, int], CellValue] = field(default_factory=dict)  # Earnings Imports cells
    import_row: list[CellValue] | None = None  # a new Earnings Imports row


def cell_value(column: str, value: Any) -> CellValue:
    """A value as the sheet holds it: whole counts as int, amounts rounded to cents, blanks as None."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if column in COUNTS:
        return int(value)
    if column in AMOUNTS:
        return round(float(value), 2)
    return str(value)


def _comparable(column: str, values: pd.Series) -> pd.Series:
    """A column of cells as it compares: numbers rounded as the tool writes them, text stripped, "" for blank."""
    if column in COUNTS or column in AMOUNTS:
        numbers = pd.to_numeric(values, errors="coerce").astype(float).round(2 if column in AMOUNTS else 0)
        return numbers.astype("string").fillna("")
    return values.astype("string").str.strip().fillna("")


def _keys(table: SheetTable) -> pd.DataFrame:
    keys = sheet_keys(table)
    keys["Kind"] = table.frame["Kind"].map(cell_values.text_of).map(lambda k: k.capitalize() if k else None)
    return keys.dropna()


def plan_earnings(
    download: EarningsDownload,
    sheet: SheetTable | None,
    imports: SheetTable | None,
    customers: SheetTable | None,
    imported_on: str,
) -> EarningsPlan:
    rows = download.rows
    skipped: list[Finding] = []
    known: set[str] = set()
    if customers is not None and "Tenant ID" in customers.frame:
        known = set(cell_values.parse_guid(customers.frame["Tenant ID"]).values.dropna())
    unknown = ~rows["Tenant ID"].isin(known)
    col = download.positions["Tenant ID"]
    for row, tenant, workload, month in rows.loc[
        unknown, ["Row", "Tenant ID", "Workload", "Month"]
    ].itertuples(index=False):
        skipped.append(
            cell_finding(
                "unknown-tenant", download.source, int(row), col, "Tenant ID",
                f"Tenant {tenant} ({workload}, {month}) is not in the Customers sheet: add the customer there "
                "and import again.",
            )
        )  # fmt: skip
    rows = rows[~unknown]
    incoming = rows.reindex(columns=list(MS_EARNINGS_HEADER)).astype(object)
    incoming["Source"], incoming["Imported On"] = download.source, imported_on

    cells: dict[tuple[int, int], CellValue] = {}
    updated: list[int] = []
    unchanged = 0
    new = incoming
    if sheet is not None and not sheet.frame.empty:
        keys = _keys(sheet)
        keys = keys[~keys.duplicated(list(MS_EARNINGS_KEY), keep="first")].reset_index(names="_sheet_row")
        merged = incoming.reset_index(names="_entry").merge(keys, on=list(MS_EARNINGS_KEY), how="left")
        found = merged[merged["_sheet_row"].notna()].reset_index(drop=True)
        sheet_rows = found["_sheet_row"].astype("int64")
        differs = {
            c: (
                _comparable(c, found[c])
                != _comparable(c, sheet.frame[c].reindex(sheet_rows.to_numpy()).reset_index(drop=True))
            )
            for c in COMPARED
        }
        changed = pd.concat(list(differs.values()), axis=1).any(axis=1)
        unchanged = int((~changed).sum())
        updated = sorted(sheet_rows[changed].tolist())
        for column in (*COMPARED, "Source", "Imported On"):
            mask = changed & differs[column] if column in differs else changed
            position = sheet.positions[column]
            for at, value in zip(sheet_rows[mask].tolist(), found.loc[mask, column].tolist(), strict=True):
                cells[(at, position)] = cell_value(column, value)
        new = incoming.loc[merged.loc[merged["_sheet_row"].isna(), "_entry"].tolist()]
    new_rows = [
        [cell_value(c, v) for c, v in zip(MS_EARNINGS_HEADER, r, strict=True)]
        for r in new.itertuples(index=False)
    ]
    plan = EarningsPlan(cells, sorted(updated), unchanged, new_rows, skipped)
    _plan_import_row(plan, download, imports, imported_on)
    return plan


def _plan_import_row(
    plan: EarningsPlan, download: EarningsDownload, imports: SheetTable | None, on: str
) -> None:
    """Earnings Imports: one row per download and period; a repeat of the same download changes nothing."""
    start, end = download.period or (None, None)
    row: list[CellValue] = [
        download.source,
        download.report,
        start,
        end,
        download.read,
        download.usage_rows,
        on,
    ]
    if imports is not None:
        for at, old in imports.frame.iterrows():  # one row per download: a few dozen at most
            same = (
                cell_values.text_of(old["File"]) == download.source
                and cell_values.text_of(old["Report"]) == download.report
                and _month_text(old["From Month"]) == start
                and _month_text(old["To Month"]) == end
            )
            if not same:
                continue
            counts = [_number(old[c]) for c in ("Rows Read", "Modern Work Usage Rows")]
            if counts != [download.read, download.usage_rows]:
                for column, value in zip(EARNINGS_IMPORTS_HEADER, row, strict=True):
                    if column in ("Rows Read", "Modern Work Usage Rows", "Imported On"):
                        plan.import_cells[(int(cast(int, at)), imports.positions[column])] = value
            return
    plan.import_row = row


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return cell_values.number_of_text(value) if isinstance(value, str) else None


def _month_text(value: Any) -> str | None:
    parsed = cell_values.parse_month(pd.Series([value], dtype=object)).values.iloc[0]
    return None if pd.isna(parsed) else f"{parsed:%Y-%m}"

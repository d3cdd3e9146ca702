"""Planning an import (pure): which Usage cells change, which rows and customers are appended."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from cpor_excel.io.book import CellValue
from cpor_excel.model.findings import Finding
from cpor_excel.model.workbook import SheetTable
from cpor_excel.rules import values as cell_values
from cpor_excel.usage_import.cells import cell_finding
from cpor_excel.usage_import.columns import COUNTS, CUSTOMER_COLUMNS, KEY
from cpor_excel.usage_import.export import UsageExport


@dataclass
class UsagePlan:
    """What an import changes in the workbook (pure data; nothing written yet)."""

    cells: dict[tuple[int, int], CellValue]  # Usage cells to set: (Excel row, 0-based column) -> value
    updated_rows: list[int]  # Usage rows whose cells change
    unchanged: int
    new_rows: pd.DataFrame  # export rows to append (canonical columns), index = export entry
    new_customers: pd.DataFrame  # Tenant ID, Customer Name, Country
    skipped: list[Finding]
    notes: list[str]


def sheet_keys(table: SheetTable) -> pd.DataFrame:
    """(Tenant ID, Workload, Month) of each Usage row, read exactly as `check` reads them; None where a
    cell is not valid (such a row matches nothing, and `check` reports it)."""
    frame = table.frame
    months = cell_values.parse_month(frame["Month"]).values
    return pd.DataFrame(
        {
            "Tenant ID": cell_values.parse_guid(frame["Tenant ID"]).values,
            "Workload": cell_values.parse_workload(frame["Workload"]).values,
            "Month": months.dt.strftime("%Y-%m").astype(object).where(months.notna(), None),
        },
        index=frame.index,
    )


def plan_import(
    export: UsageExport,
    usage: SheetTable | None,
    customers: SheetTable | None,
    add_customers: bool = False,
) -> UsagePlan:
    """Decide the upsert (pure): which Usage cells change, which rows and customers are added."""
    rows = export.rows
    notes: list[str] = []
    skipped: list[Finding] = []

    known: set[str] = set()
    if customers is not None and "Tenant ID" in customers.frame:
        known = set(cell_values.parse_guid(customers.frame["Tenant ID"]).values.dropna())
    unknown = ~rows["Tenant ID"].isin(known)
    new_customers = pd.DataFrame(columns=["Tenant ID", *CUSTOMER_COLUMNS])
    if unknown.any() and add_customers:
        latest = rows[unknown].sort_values("Month", kind="stable")
        new_customers = (
            latest.groupby("Tenant ID", sort=False)[list(CUSTOMER_COLUMNS)].last().reset_index()
        )  # the latest month's name and market: names change, the latest is current
        order = pd.Index(rows.loc[unknown, "Tenant ID"].unique())
        new_customers = new_customers.set_index("Tenant ID").loc[order].reset_index()
        new_customers = new_customers.astype(object).where(new_customers.notna(), None)
    elif unknown.any():
        header = export.headers.get("Tenant ID", "Tenant ID")
        col = export.positions.get("Tenant ID", 0)
        listed: set[int] = set()  # the wide report's entries of one row share its tenant cell
        for entry, tenant in zip(
            rows.index[unknown].tolist(), rows.loc[unknown, "Tenant ID"].tolist(), strict=True
        ):
            row = export.export_row(entry)
            if row in listed:
                continue
            listed.add(row)
            skipped.append(
                cell_finding(
                    "unknown-tenant", export.source, row, col, "Tenant ID",
                    f"{header} {tenant} is not in the Customers sheet: add the customer there, or import "
                    "with --add-customers.",
                )
            )  # fmt: skip
        rows = rows[~unknown]

    if usage is None or usage.frame.empty:
        new_rows = rows
        return UsagePlan({}, [], 0, new_rows, new_customers, skipped, notes)

    keys = sheet_keys(usage).dropna()
    repeated = keys.duplicated(list(KEY), keep="first")
    if repeated.any():
        notes.append(
            "Usage rows "
            + ", ".join(str(r) for r in keys.index[repeated][:10])
            + (" ..." if repeated.sum() > 10 else "")
            + " repeat an earlier row's tenant, workload and month: only the first was updated; remove the repeats."
        )
    lookup = keys[~repeated].reset_index(names="_sheet_row")
    merged = rows.reset_index(names="_export_row").merge(lookup, on=list(KEY), how="left")
    merged.index = pd.Index(merged.pop("_export_row"))
    matched = merged[merged["_sheet_row"].notna()]
    sheet_rows = matched["_sheet_row"].astype("int64")

    cells: dict[tuple[int, int], CellValue] = {}
    changed = pd.Series(False, index=matched.index)
    for column in COUNTS:
        old = pd.to_numeric(usage.frame[column].reindex(sheet_rows.to_numpy()), errors="coerce").to_numpy()
        new = matched[column].to_numpy()
        differs = pd.Series(~(old == new), index=matched.index)
        changed |= differs
        col = usage.positions[column]
        cells.update(
            zip(
                ((r, col) for r in sheet_rows[differs].tolist()),
                matched.loc[differs, column].tolist(),
                strict=True,
            )
        )
    updated_rows = sorted(sheet_rows[changed].tolist())
    new_rows = rows.loc[merged.index[merged["_sheet_row"].isna()]]
    return UsagePlan(cells, updated_rows, int((~changed).sum()), new_rows, new_customers, skipped, notes)

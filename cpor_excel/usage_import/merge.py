"""Applying an import through the Book protocol (a file, or the live workbook in Excel), and its result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cpor_excel.errors import CporError, WorkbookLocked
from cpor_excel.io.book import Book, CellValue
from cpor_excel.io.file_book import FileBook
from cpor_excel.io.frames import read_workbook_data
from cpor_excel.io.safe_save import check_out_path, ensure_writable, owner_file
from cpor_excel.model.columns import ASSOCIATIONS, CUSTOMERS, USAGE
from cpor_excel.model.findings import Finding, Severity
from cpor_excel.model.wording import counted
from cpor_excel.model.workbook import SheetTable
from cpor_excel.usage_import.claims import check_claims
from cpor_excel.usage_import.columns import USAGE_COLUMNS
from cpor_excel.usage_import.export import UsageExport, read_export
from cpor_excel.usage_import.plan import plan_import


class UsageSheetUnusable(CporError):
    """The workbook's Usage or Customers sheet cannot take the import (exit 3)."""


@dataclass
class ImportResult:
    """The outcome of `import-usage`: what the summary table and `--json` show."""

    report: str
    workbook: str
    read: int
    updated: int
    added: int
    unchanged: int
    duplicates: int
    skipped: list[Finding]
    customers_added: list[str]
    assumptions: list[str]
    notes: list[str]
    updated_rows: list[int] = field(default_factory=list)  # Usage sheet rows changed in place
    added_rows: list[int] = field(default_factory=list)  # Usage sheet rows appended
    written: str | None = None  # where the workbook was saved; None when nothing changed in place
    kind: str = ""  # which Partner Center report it was (usage_import/kinds.py)
    flagged: int = 0  # rows flagged IsDuplicateRowForPGA = 1, skipped
    checks: list[Finding] = field(default_factory=list)  # the report's claims against Associations

    @property
    def skipped_rows(self) -> int:
        return len({f.row for f in self.skipped})

    def skipped_by_code(self) -> dict[str, int]:
        """code -> number of skipped rows with that problem."""
        rows: dict[str, set[int | None]] = {}
        for f in self.skipped:
            rows.setdefault(f.code, set()).add(f.row)
        return {code: len(r) for code, r in sorted(rows.items())}

    @property
    def exit_code(self) -> int:
        """1 when rows were skipped for errors (like findings in `check`), else 0."""
        return 1 if any(f.severity is Severity.ERROR for f in self.skipped) else 0

    def counts(self) -> dict[str, int]:
        return {
            "read": self.read,
            "updated": self.updated,
            "added": self.added,
            "unchanged": self.unchanged,
            "duplicates": self.duplicates,
            "flagged_duplicates": self.flagged,
            "skipped": self.skipped_rows,
            "customers_added": len(self.customers_added),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": self.report,
            "kind": self.kind,
            "workbook": self.workbook,
            "written": self.written,
            "counts": self.counts(),
            "skipped_by_code": self.skipped_by_code(),
            "skipped": [f.to_dict() for f in self.skipped],
            "checks": [f.to_dict() for f in self.checks],
            "customers_added": self.customers_added,
            "assumptions": self.assumptions,
            "notes": self.notes,
            "updated_rows": self.updated_rows,
            "added_rows": self.added_rows,
        }


def rows_in_sheet_order(
    values: Mapping[str, Sequence[CellValue]], positions: Mapping[str, int], count: int
) -> list[list[CellValue]]:
    """Rows for `append_rows`: each value under its column's position; every other cell None."""
    width = max((positions[c] for c in values if c in positions), default=-1) + 1
    empty: list[CellValue] = [None] * count
    columns: list[Sequence[CellValue]] = [empty] * width
    for column, cells in values.items():
        if column in positions:
            columns[positions[column]] = cells
    return [list(r) for r in zip(*columns, strict=True)] if width else [[] for _ in range(count)]


def _require_columns(table: SheetTable, columns: Sequence[str], workbook: str) -> None:
    missing = [c for c in columns if c not in table.positions]
    if missing:
        raise UsageSheetUnusable(
            f"The {table.name} sheet of {workbook} has no {', '.join(missing)} column in its header row: add "
            "the header, then import again."
        )


def merge_usage(
    book: Book, export: UsageExport, *, add_customers: bool = False, workbook: str = ""
) -> ImportResult:
    """Upsert a read export into any Book (a file, or the live workbook in Excel). Writes nothing else."""
    data = read_workbook_data(book, workbook)
    usage = data.sheets.get(USAGE.name)
    customers = data.sheets.get(CUSTOMERS.name)
    if usage is not None:
        _require_columns(usage, USAGE_COLUMNS, workbook)
    if customers is not None and add_customers:
        _require_columns(customers, ("Tenant ID",), workbook)
    plan = plan_import(export, usage, customers, add_customers)

    new_customers = plan.new_customers
    if len(new_customers):
        values = {c: new_customers[c].tolist() for c in new_customers.columns}
        if customers is None:
            header = [c.name for c in CUSTOMERS.columns]
            rows = rows_in_sheet_order(values, {c: i for i, c in enumerate(header)}, len(new_customers))
            book.append_to_sheet(CUSTOMERS.name, header, [r + [None] * (len(header) - len(r)) for r in rows])
        else:
            book.append_rows(
                customers.name, rows_in_sheet_order(values, customers.positions, len(new_customers))
            )
    if plan.cells and usage is not None:
        book.set_cells(usage.name, plan.cells)
    added_rows: list[int] = []
    new_rows = plan.new_rows
    if len(new_rows):
        values = {c: new_rows[c].tolist() for c in USAGE_COLUMNS}
        if usage is None:
            positions = {c: i for i, c in enumerate(USAGE_COLUMNS)}
            book.append_to_sheet(
                USAGE.name, USAGE_COLUMNS, rows_in_sheet_order(values, positions, len(new_rows))
            )
        else:
            rows = rows_in_sheet_order(values, usage.positions, len(new_rows))
            added_rows = list(book.append_rows(usage.name, rows))
    notes = list(plan.notes)
    if export.flagged:
        notes.append(
            f"Skipped {counted(export.flagged, 'row')} flagged IsDuplicateRowForPGA = 1 (the same usage under "
            "another Partner ID of your partner global account)."
        )
    if export.empty_pairs:
        notes.append(
            f"No Usage row for {counted(export.empty_pairs, 'workload column pair')} left empty or at 0 paid "
            "units and 0 active users."
        )
    if usage is None:
        notes.append(f"{workbook} had no Usage sheet: one was added with the imported rows.")
    if customers is None and len(new_customers):
        notes.append(f"{workbook} had no Customers sheet: one was added with the new customers.")
    if len(new_customers):
        notes.append(
            f"{len(new_customers)} customers were added with Tenant ID, Customer Name and Country only: fill in "
            "Domain and the contact columns before the next check."
        )
    return ImportResult(
        report=export.source,
        workbook=workbook,
        read=export.read,
        updated=len(plan.updated_rows),
        added=len(new_rows),
        unchanged=plan.unchanged,
        duplicates=export.duplicates,
        skipped=sorted([*export.skipped, *plan.skipped], key=lambda f: (f.row or 0, f.cell or "")),
        customers_added=[str(t) for t in new_customers["Tenant ID"].tolist()],
        assumptions=export.assumptions,
        notes=notes,
        updated_rows=plan.updated_rows,
        added_rows=added_rows,
        kind=export.kind,
        flagged=export.flagged,
        checks=check_claims(export, data.sheets.get(ASSOCIATIONS.name)),
    )


def destination(book: Path, out: Path | str | None) -> Path | None:
    """Where an import saves: None for BOOK in place (refused while BOOK is open in Excel or cannot be
    written, before anything is read), else the other file ``out`` (a folder, or a name in another format
    than BOOK's, is bad usage)."""
    if out is not None:
        check_out_path(book, out)
    dest = None if out is None or Path(out).resolve() == book.resolve() else Path(out)
    if dest is None:
        if (owner := owner_file(book)) is not None:
            raise WorkbookLocked(
                f"{book.name} is open in Excel ({owner.name} exists): close it and import again, or import "
                "into a copy with --out."
            )
        ensure_writable(book)
    return dest


def import_usage(
    report: Path | str, book: Path | str, out: Path | str | None = None, add_customers: bool = False
) -> ImportResult:
    """`cpor-excel import-usage`: merge a usage export into BOOK, in place or into a new file ``out``.

    In place, nothing is written when nothing changes (the file keeps its bytes); a workbook open in Excel is
    refused before anything is read.
    """
    report, book = Path(report), Path(book)
    dest = destination(book, out)
    export = read_export(report)
    with FileBook(book) as workbook:
        result = merge_usage(workbook, export, add_customers=add_customers, workbook=book.name)
        if dest is not None or result.updated or result.added or result.customers_added:
            workbook.save(dest)
            result.written = str(dest or book)
    return result

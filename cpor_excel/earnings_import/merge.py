"""Applying an earnings import through the Book protocol, and its result (`cpor-excel import-earnings`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cpor_excel.earnings_import.plan import plan_earnings
from cpor_excel.earnings_import.report import EarningsDownload, read_earnings
from cpor_excel.errors import CporError
from cpor_excel.io.book import Book
from cpor_excel.io.file_book import FileBook
from cpor_excel.io.frames import read_sheet, read_workbook_data
from cpor_excel.model.columns import (
    CUSTOMERS,
    EARNINGS_IMPORTS,
    EARNINGS_IMPORTS_HEADER,
    EARNINGS_IMPORTS_SHEET,
    MS_EARNINGS,
    MS_EARNINGS_HEADER,
    MS_EARNINGS_SHEET,
    SheetSpec,
    ToolSheet,
)
from cpor_excel.model.findings import Finding, Severity
from cpor_excel.model.headers import fold_header
from cpor_excel.model.wording import counted
from cpor_excel.model.workbook import SheetTable
from cpor_excel.usage_import.merge import destination


class EarningsSheetUnusable(CporError):
    """The workbook's Microsoft Earnings or Earnings Imports sheet cannot take the import (exit 3)."""


@dataclass
class EarningsImportResult:
    """The outcome of `import-earnings`: what the summary table and `--json` show."""

    report: str
    kind: str
    workbook: str
    read: int
    usage_rows: int
    months: int  # tenant-workload-months in the download (after folding)
    updated: int
    added: int
    unchanged: int
    skipped: list[Finding]
    other: dict[str, int]
    period: tuple[str, str] | None
    assumptions: list[str]
    notes: list[str]
    written: str | None = None
    updated_rows: list[int] = field(default_factory=list)
    wrote: bool = False  # anything was written into the Book (the workbook file is saved only then)

    @property
    def exit_code(self) -> int:
        return 1 if any(f.severity is Severity.ERROR for f in self.skipped) else 0

    def counts(self) -> dict[str, int]:
        return {
            "read": self.read,
            "modern_work_usage": self.usage_rows,
            "other_engagements": sum(self.other.values()),
            "months": self.months,
            "updated": self.updated,
            "added": self.added,
            "unchanged": self.unchanged,
            "skipped": len({f.row for f in self.skipped}),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": self.report,
            "kind": self.kind,
            "workbook": self.workbook,
            "written": self.written,
            "period": list(self.period) if self.period else None,
            "counts": self.counts(),
            "other_engagements": self.other,
            "skipped": [f.to_dict() for f in self.skipped],
            "assumptions": self.assumptions,
            "notes": self.notes,
            "updated_rows": self.updated_rows,
        }


def _tool_sheet(book: Book, sheet: ToolSheet, workbook: str) -> SheetTable | None:
    """A tool sheet the import upserts into, read by its own header; None when the workbook has none."""
    actual = next((s for s in book.sheet_names() if fold_header(s) == fold_header(sheet.name)), None)
    if actual is None:
        return None
    spec = SheetSpec(sheet.name, sheet.columns, required=False, tool_columns=())
    table, _ = read_sheet(book.read_rows(actual), spec, actual)
    missing = [h for h in sheet.header if h not in table.positions]
    if missing:
        raise EarningsSheetUnusable(
            f"The {actual} sheet of {workbook} has no {', '.join(missing)} column: add the header, or delete the "
            "sheet (the next import writes it again), then import again."
        )
    return table


def merge_earnings(
    book: Book, download: EarningsDownload, *, workbook: str = "", imported_on: dt.date | None = None
) -> EarningsImportResult:
    """Upsert a read earnings download into any Book. Writes nothing else."""
    on = (imported_on or dt.date.today()).isoformat()
    data = read_workbook_data(book, workbook)
    sheet = _tool_sheet(book, MS_EARNINGS, workbook)
    imports = _tool_sheet(book, EARNINGS_IMPORTS, workbook)
    plan = plan_earnings(download, sheet, imports, data.sheets.get(CUSTOMERS.name), on)
    if plan.cells and sheet is not None:
        book.set_cells(sheet.name, plan.cells)
    if plan.new_rows:
        if sheet is None:
            book.append_to_sheet(MS_EARNINGS_SHEET, MS_EARNINGS_HEADER, plan.new_rows)
        else:
            book.append_rows(sheet.name, plan.new_rows)
    if plan.import_cells and imports is not None:
        book.set_cells(imports.name, plan.import_cells)
    if plan.import_row is not None:
        if imports is None:
            book.append_to_sheet(EARNINGS_IMPORTS_SHEET, EARNINGS_IMPORTS_HEADER, [plan.import_row])
        else:
            book.append_rows(imports.name, [plan.import_row])
    notes = []
    if download.other:
        listed = ", ".join(f"{name} ({n})" for name, n in download.other.items())
        notes.append(
            f"{counted(sum(download.other.values()), 'row')} of other engagements than Modern Work usage, not "
            f"imported: {listed}."
        )
    if download.period is None:
        notes.append("No transactionDate of the file could be read: the period it covers is not recorded.")
    return EarningsImportResult(
        report=download.source,
        kind=download.report,
        workbook=workbook,
        read=download.read,
        usage_rows=download.usage_rows,
        months=len(download.rows),
        updated=len(plan.updated_rows),
        added=len(plan.new_rows),
        unchanged=plan.unchanged,
        skipped=sorted([*download.skipped, *plan.skipped], key=lambda f: (f.row or 0, f.cell or "")),
        other=download.other,
        period=download.period,
        assumptions=download.assumptions,
        notes=notes,
        updated_rows=plan.updated_rows,
        wrote=bool(plan.cells or plan.new_rows or plan.import_cells or plan.import_row is not None),
    )


def import_earnings(
    report: Path | str, book: Path | str, out: Path | str | None = None, imported_on: dt.date | None = None
) -> EarningsImportResult:
    """`cpor-excel import-earnings`: merge an earnings download into BOOK, in place or into a new file ``out``.

    In place, nothing is written when nothing changes; a workbook open in Excel is refused before anything is read.
    """
    report, book = Path(report), Path(book)
    dest = destination(book, out)
    download = read_earnings(report)
    with FileBook(book) as workbook:
        result = merge_earnings(workbook, download, workbook=book.name, imported_on=imported_on)
        if dest is not None or result.wrote:
            workbook.save(dest)
            result.written = str(dest or book)
    return result

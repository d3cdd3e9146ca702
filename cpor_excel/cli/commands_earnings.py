"""`cpor-excel import-earnings`: merge a Partner Center earnings download into a workbook."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.table import Table

from cpor_excel.cli import handle_errors, imports, main
from cpor_excel.earnings_import import EarningsImportResult, import_earnings


def render(result: EarningsImportResult, as_json: bool) -> None:
    """Print the import summary as a table (and the skipped rows), or as one JSON document."""
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    out = imports.console()
    summary = Table(title=f"{result.report} ({result.kind}) -> {result.workbook}", header_style="bold")
    summary.add_column("Rows")
    summary.add_column("Count", justify="right")
    counts = result.counts()
    period = f"{result.period[0]} to {result.period[1]}" if result.period else "no readable date"
    summary.add_row("months covered", period)
    for label, key in (
        ("read from the download", "read"),
        ("Modern Work usage", "modern_work_usage"),
        ("other engagements (not imported)", "other_engagements"),
        ("tenant-workload-months", "months"),
        ("  updated in Microsoft Earnings", "updated"),
        ("  added to Microsoft Earnings", "added"),
        ("  unchanged", "unchanged"),
    ):
        summary.add_row(label, str(counts[key]))
    summary.add_row("[bold red]skipped[/]" if counts["skipped"] else "skipped", str(counts["skipped"]))
    out.print(summary)
    imports.print_findings(out, "Skipped rows", result.skipped)
    imports.print_outcome(out, (*result.assumptions, *result.notes), result.written, result.workbook)


@main.command("import-earnings")
@click.argument("report", type=click.Path(path_type=Path))
@click.argument("book", type=click.Path(path_type=Path, readable=False))
@imports.out_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of a table.")
@handle_errors
def import_earnings_command(report: Path, book: Path, out: Path | None, as_json: bool) -> None:
    """Merge REPORT (Partner Center's Ineligible revenue usage details or Earnings download, CSV or XLSX) into
    the Microsoft Earnings sheet of BOOK.

    Modern Work usage rows only, one per tenant, workload, month and kind (Earned or Ineligible); other
    engagements are counted and skipped. Nothing else in BOOK changes. Exit 1 when rows were skipped for
    errors (they are listed).
    """
    result = import_earnings(report, book, out=out)
    render(result, as_json)
    sys.exit(result.exit_code)

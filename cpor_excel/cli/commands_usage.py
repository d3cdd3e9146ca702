"""`cpor-excel import-usage`: merge a Partner Center usage export into a workbook."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.table import Table

from cpor_excel.cli import handle_errors, imports, main
from cpor_excel.usage_import import ImportResult, import_usage


def render(result: ImportResult, as_json: bool) -> None:
    """Print the import summary as a table (and the skipped rows), or as one JSON document."""
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    out = imports.console()
    summary = Table(title=f"{result.report} ({result.kind}) -> {result.workbook}", header_style="bold")
    summary.add_column("Usage rows")
    summary.add_column("Count", justify="right")
    counts = result.counts()
    for label, key in (
        ("read from the export", "read"),
        ("updated", "updated"),
        ("added", "added"),
        ("unchanged", "unchanged"),
        ("repeated in the export (imported once)", "duplicates"),
        ("flagged IsDuplicateRowForPGA = 1 (skipped)", "flagged_duplicates"),
    ):
        summary.add_row(label, str(counts[key]))
    summary.add_row("[bold red]skipped[/]" if counts["skipped"] else "skipped", str(counts["skipped"]))
    for code, n in result.skipped_by_code().items():
        summary.add_row(f"  {code}", str(n))
    summary.add_row("customers added", str(counts["customers_added"]))
    out.print(summary)
    imports.print_findings(out, "Skipped rows", result.skipped)
    imports.print_findings(out, "Claims checked against Associations (imported all the same)", result.checks)
    imports.print_outcome(out, (*result.assumptions, *result.notes), result.written, result.workbook)


@main.command("import-usage")
@click.argument("report", type=click.Path(path_type=Path, readable=False))
@click.argument("book", type=click.Path(path_type=Path, readable=False))
@imports.out_option
@click.option(
    "--add-customers",
    is_flag=True,
    help="Add tenants missing from Customers (Tenant ID, Customer Name, Country) instead of skipping their rows.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of a table.")
@handle_errors
def import_usage_command(
    report: Path, book: Path, out: Path | None, add_customers: bool, as_json: bool
) -> None:
    """Merge REPORT (a Partner Center usage export, CSV or XLSX) into the Usage sheet of BOOK.

    Rows are matched by tenant, workload and month: existing rows get their Active Users and Paid Units
    updated, new ones are appended (Month as YYYY-MM text). Nothing else in BOOK changes. Exit 1 when rows
    were skipped for errors (they are listed).
    """
    result = import_usage(report, book, out=out, add_customers=add_customers)
    render(result, as_json)
    sys.exit(result.exit_code)

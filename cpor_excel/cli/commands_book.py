"""Commands on one workbook: check (read-only) and run (check, evaluate, write back)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from cpor_excel.cli import handle_errors, main, one_run
from cpor_excel.model.wording import count_summary

if TYPE_CHECKING:
    from cpor_excel.report import Report

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


class AsOfDate(click.ParamType):
    """An ISO date (YYYY-MM-DD); bad text is a usage error (exit 2)."""

    name = "DATE"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date: write it as YYYY-MM-DD, e.g. 2025-03-31.", param, ctx)


AS_OF = click.option(
    "--as-of",
    type=AsOfDate(),
    default=None,
    help="Evaluate as on this date (YYYY-MM-DD); default today. Same workbook + date = same result.",
)
JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of a table.")
LIMIT = click.option(
    "--limit", type=click.IntRange(min=0), default=40, show_default=True, help="Findings shown in the table."
)


def render(report: Report, as_json: bool, limit: int) -> None:
    """Print a report as SPEC's JSON document, or a findings table and a summary line."""
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    console = Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 140)
    if report.findings and limit:
        table = Table(show_lines=False, header_style="bold")
        for name in ("Severity", "Code", "Sheet", "Cell", "Claim ID", "Message"):
            table.add_column(name, overflow="fold")
        # the worst first on screen; the JSON and the CPOR Report sheet keep the workbook's order
        shown = sorted(report.findings, key=lambda f: ("error", "warning", "info").index(f.severity.value))
        for f in shown[:limit]:
            sev = f.severity.value
            table.add_row(
                f"[{SEVERITY_STYLE[sev]}]{sev}[/]", f.code, f.sheet, f.cell or "", f.claim_id or "", f.message
            )
        console.print(table)
        hidden = len(report.findings) - limit
        if hidden > 0:
            console.print(f"... and {hidden} more findings (all of them: --json, or the CPOR Report sheet).")
    if report.reconciliation:
        console.print(reconciliation_table(report.reconciliation))
    c = report.counts()
    summary = f"{report.workbook} as of {report.as_of.isoformat()}: {count_summary(c)}"
    console.print(summary)
    if report.written:
        console.print(f"Results written to {report.written}")


def reconciliation_table(partners: list[dict[str, Any]]) -> Table:
    """Expected against paid per partner over the months reconciled with Microsoft's earnings."""
    table = Table(title="Usage pay: the Earnings Ledger against Microsoft's earnings", header_style="bold")
    for name in (
        "Partner ID",
        "Currency",
        "Months",
        "Disagree",
        "Expected",
        "Paid by Microsoft",
        "Difference",
    ):
        table.add_column(name, justify="left" if name in ("Partner ID", "Currency") else "right")
    for p in partners:
        table.add_row(
            p["partner_id"] or "(no association)", p["currency"], str(p["months"]), str(p["disagree"]),
            f"{p['expected']:,.2f}", f"{p['paid']:,.2f}", f"{p['paid'] - p['expected']:+,.2f}",
        )  # fmt: skip
    return table


# readable=False: a workbook the user may not read is the library's one Error line (exit 3), not bad usage
@main.command()
@click.argument("book", type=click.Path(path_type=Path, readable=False))
@AS_OF
@JSON
@LIMIT
@handle_errors
def check(book: Path, as_of: dt.date | None, as_json: bool, limit: int) -> None:
    """Check BOOK and report findings. Read-only: never writes anything."""
    from cpor_excel.run import check_workbook

    with one_run():
        report = check_workbook(book, as_of=as_of)
        render(report, as_json, limit)
    sys.exit(report.exit_code)


@main.command()
@click.argument("book", type=click.Path(path_type=Path, readable=False))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the results into this new file and leave BOOK untouched (default: BOOK, in place).",
)
@AS_OF
@click.option(
    "--drafts",
    "drafts_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder for consent email drafts (default: a folder named after the workbook, beside it).",
)
@click.option(
    "--templates",
    "templates_dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="Folder of your own email templates; overrides the shipped ones file by file.",
)
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=None,
    metavar="SECONDS",
    help="How long to wait for another run using BOOK before giving up (default: CPOR_LOCK_WAIT, else 10).",
)
@JSON
@LIMIT
@handle_errors
def run(
    book: Path,
    out: Path | None,
    as_of: dt.date | None,
    drafts_dir: Path | None,
    templates_dir: Path | None,
    wait: float | None,
    as_json: bool,
    limit: int,
) -> None:
    """Check BOOK; find conflicts, deadlines, milestones and usage pay (recorded in the ledgers); reconcile
    with Microsoft Earnings; draft consent emails; write the results, the CPOR Report and the Dashboard back."""
    from cpor_excel.run import run_workbook

    with one_run():
        report = run_workbook(
            book, out=out, as_of=as_of, drafts_dir=drafts_dir, templates_dir=templates_dir, wait=wait
        )
        render(report, as_json, limit)
    sys.exit(report.exit_code)

"""`cpor-excel batch`: run many workbooks (a folder on a share) and find conflicts between them."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from cpor_excel.batch.run import BatchResult, ProgressCallback, run_batch
from cpor_excel.cli import handle_errors, main
from cpor_excel.cli.commands_book import AS_OF, JSON
from cpor_excel.model.wording import SUMMARY_NOUNS, count_summary, counted

STATUS_STYLE = {
    "written": "green",
    "checked": "green",
    "locked": "yellow",
    "unreadable": "bold red",
    "failed": "bold red",
}
PHASES = {
    "read": "Reading workbooks",
    "claims": "Reading shared customers' claims",
    "process": "Checking and writing",
}


@contextmanager
def progress_bar(enabled: bool, dry_run: bool) -> Iterator[ProgressCallback | None]:
    """A rich progress bar on stderr, one line per phase; nothing when output is not a terminal."""
    if not enabled:
        yield None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("[dim]{task.fields[workbook]}"),
        console=Console(stderr=True),
        transient=False,
    )
    tasks: dict[str, TaskID] = {}

    def update(phase: str, done: int, total: int, workbook: str) -> None:
        if phase not in tasks:
            label = "Checking" if (phase == "process" and dry_run) else PHASES.get(phase, phase)
            tasks[phase] = bar.add_task(label, total=total, workbook="")
        bar.update(tasks[phase], completed=done, total=total, workbook=workbook)

    with bar:
        yield update


def render_batch(result: BatchResult) -> None:
    """The summary table: a row per workbook, then the totals and where the report went."""
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    table = Table(header_style="bold")
    for name, justify in (
        ("Workbook", "left"), ("Errors", "right"), ("Warnings", "right"), ("Conflicts", "right"),
        ("New milestones", "right"), ("Drafts", "right"), ("Status", "left"),
    ):  # fmt: skip
        # the workbook name stays on one line: it is what people search the table for
        table.add_column(name, justify=justify, overflow="fold", no_wrap=name == "Workbook")  # type: ignore[arg-type]
    for w in result.workbooks:
        c = w.counts()
        numbers = (
            ["-"] * 5
            if c is None
            else [str(c[k]) for k in ("errors", "warnings", "conflicts", "new_milestones", "drafts")]
        )
        status = f"[{STATUS_STYLE.get(w.status, '')}]{w.status}[/]"
        if w.message:
            status += f": {w.message}"
        table.add_row(w.workbook, *numbers, status)
    console.print(table)
    for path, why in result.skipped:
        console.print(f"Skipped {path}: {why}")
    t = result.totals()
    console.print(
        f"{t['processed']} of {counted(t['workbooks'], 'workbook')} {'checked' if result.dry_run else 'written'} "
        f"as of {result.as_of.isoformat()} in {result.seconds:.1f} s: "
        f"{count_summary(t, SUMMARY_NOUNS[:2])}, {counted(t['conflicts'], 'conflict')} "
        f"({t['cross_workbook_conflicts']:,} between workbooks), {count_summary(t, SUMMARY_NOUNS[4:])}"
    )
    if result.dry_run:
        console.print("Dry run: no workbook was changed.")
    for path in result.report_files:
        console.print(f"Report written to {path}")


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Workbooks processed at once (default: one per CPU core; 1 = in this process).",
)
@AS_OF
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    metavar="PATH",
    help="Also write PATH.xlsx and PATH.html: every workbook, conflicts between them, partners, milestones.",
)
@JSON
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="Run on a Dask cluster (tcp://host:8786); its workers must see the workbooks at the same paths.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check and report only: no workbook or email draft is written (a --report still is).",
)
@handle_errors
def batch(
    paths: tuple[str, ...],
    jobs: int | None,
    as_of: dt.date | None,
    report_path: Path | None,
    as_json: bool,
    scheduler: str | None,
    dry_run: bool,
) -> None:
    """Run every workbook in PATHS (folders, searched recursively, workbook files or patterns) as `run`
    does, and find customer workloads claimed by different partners in different workbooks.

    A workbook open in Excel is reported and left alone; an unreadable one is reported; the batch goes on.
    Exit 1 when any workbook has errors or conflicts, 3 when none could be processed.
    """
    with progress_bar(not as_json and sys.stderr.isatty(), dry_run) as progress:
        result = run_batch(
            paths,
            as_of=as_of,
            jobs=jobs,
            scheduler=scheduler,
            report=report_path,
            dry_run=dry_run,
            progress=progress,
        )
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        render_batch(result)
    sys.exit(result.exit_code)

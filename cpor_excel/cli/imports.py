"""What the import commands print alike: findings at a download's cells, notes, and where the result went."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from cpor_excel.model.findings import Finding

SHOWN = 40

out_option = click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the result into this new file and leave BOOK untouched (default: BOOK, in place).",
)


def console() -> Console:
    return Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 140)


def print_findings(out: Console, title: str, findings: Sequence[Finding], shown: int = SHOWN) -> None:
    """A table of findings at a download's cells (row, cell, code, message); the first ``shown`` of them."""
    if not findings:
        return
    table = Table(title=title, header_style="bold")
    for name in ("Row", "Cell", "Code", "Message"):
        table.add_column(name, overflow="fold")
    for f in findings[:shown]:
        table.add_row(str(f.row or ""), f.cell or "", f.code, f.message)
    out.print(table)
    hidden = len(findings) - shown
    if hidden > 0:
        out.print(f"... and {hidden} more (all of them: --json).")


def print_outcome(out: Console, lines: Iterable[str], written: str | None, workbook: str) -> None:
    for line in lines:
        out.print(f"- {line}")
    out.print(f"Saved to {written}" if written else f"Nothing changed: {workbook} was not written.")

"""Commands that create a workbook: `new` (the empty template) and `sample` (a generated one)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from cpor_excel.cli import handle_errors, main
from cpor_excel.sample import DEFAULT_AS_OF, MAX_CUSTOMERS, MIN_CUSTOMERS, create_sample
from cpor_excel.workbook_new import create_template

_NEW_PATH = click.Path(dir_okay=False, path_type=Path)


@main.command("new")
@click.argument("path", type=_NEW_PATH)
@handle_errors
def new_command(path: Path) -> None:
    """Create an empty CPOR workbook at PATH: every sheet, headers, drop-downs, the current program's settings,
    an example Milestones table and an example Rate Card."""
    written = create_template(path)
    click.echo(
        f"Wrote {written}: an empty CPOR workbook (Customers, Associations, Usage, an EXAMPLE Milestones table "
        "and an EXAMPLE Rate Card to replace with your incentive guide's figures, and Settings for the program "
        "as Partner Center runs it today)."
    )


@main.command("sample")
@click.argument("path", type=_NEW_PATH)
@click.option(
    "--customers",
    type=click.IntRange(MIN_CUSTOMERS, MAX_CUSTOMERS),
    default=40,
    show_default=True,
    help="How many customers (about 10 claim rows and 100 usage rows each).",
)
@click.option("--seed", type=int, default=7, show_default=True, help="The same seed gives the same workbook.")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=DEFAULT_AS_OF.isoformat(),
    show_default=True,
    help="The day the sample is dated (YYYY-MM-DD): claims lie before it, usage runs up to its month.",
)
@handle_errors
def sample_command(path: Path, customers: int, seed: int, as_of: dt.datetime) -> None:
    """Create a realistic generated CPOR workbook at PATH, with a few known problems planted for a demo."""
    info = create_sample(path, customers=customers, seed=seed, as_of=as_of.date())
    click.echo(
        f"Wrote {info.path}: {info.customers:,} customers, {info.associations:,} claim rows, "
        f"{info.usage:,} usage rows, {len(info.planted)} planted problems (seed {seed}, as of {info.as_of})."
    )
    shown = f'"{path}"' if " " in str(path) else str(path)  # quoted the way every shell reads it
    click.echo(f"Run it as of that day: cpor-excel run {shown} --as-of {info.as_of}")

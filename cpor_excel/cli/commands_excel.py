"""Commands that build the Excel front door: the ribbon add-in and a standalone macro workbook."""

from __future__ import annotations

from pathlib import Path

import click

from cpor_excel.cli import handle_errors, main


@main.command("excel-addin")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    show_default=True,
    help="Folder to write cpor_excel.xlam into (an older build there is replaced).",
)
@click.option(
    "--interpreter",
    type=str,
    default=None,
    help="The python executable Excel should run (default on Windows and macOS: the one running this).",
)
@click.option(
    "--no-interpreter",
    is_flag=True,
    help="Record no Python in the add-in: ~/.myaddin/myaddin.conf (or `python` on PATH) decides.",
)
@handle_errors
def excel_addin(out_dir: Path, interpreter: str | None, no_interpreter: bool) -> None:
    """Build the Excel add-in cpor_excel.xlam (a CPOR ribbon tab with a Run CPOR checks button)."""
    from cpor_excel.excel.addin import build_addin, python_settings

    if interpreter and no_interpreter:
        raise click.UsageError("--interpreter and --no-interpreter exclude each other: give one of them.")
    settings = {} if no_interpreter else python_settings(interpreter)
    path = build_addin(out_dir, settings)
    click.echo(f"Wrote {path}")
    for key, value in settings.items():
        click.echo(f"  {key}: {value}")
    if not settings:
        click.echo(
            "  No Python recorded: the add-in runs the Python of ~/.myaddin/myaddin.conf, else `python`."
        )
    click.echo(f'Install it with:  xlwings addin install -f "{path}"   then restart Excel.')


@main.command("excel-workbook")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@handle_errors
def excel_workbook(path: Path) -> None:
    """Create an empty CPOR workbook (.xlsm) with a Run CPOR checks button on its Settings sheet."""
    from cpor_excel.excel.addin import build_workbook

    book, sidecar = build_workbook(path)
    click.echo(f"Wrote {book} (the Run CPOR checks button is on its Settings sheet)")
    if sidecar is not None:
        click.echo(f"Wrote {sidecar}: keep it beside the workbook, the button imports it.")

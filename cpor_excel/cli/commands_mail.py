"""`cpor-excel send`: deliver the consent drafts of a workbook over SMTP, once each."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from cpor_excel.cli import handle_errors, main
from cpor_excel.errors import UsageError
from cpor_excel.mail.sending import ALREADY_SENT, FAILED, SENT, WOULD_SEND, SendReport, send_drafts
from cpor_excel.mail.smtp import Security, SmtpSettings

PASSWORD_VARIABLE = "CPOR_SMTP_PASSWORD"
STATUS_STYLE = {SENT: "green", ALREADY_SENT: "cyan", WOULD_SEND: "yellow", FAILED: "bold red"}


def render(report: SendReport, as_json: bool) -> None:
    """Print what was sent (or would be) as a table and a summary line, or as one JSON document."""
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    console = Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 140)
    if report.results:
        table = Table(header_style="bold")
        for name in ("Status", "Row", "Claim ID", "To", "File", "Detail"):
            table.add_column(name, overflow="fold")
        for r in report.results:
            style = STATUS_STYLE.get(r.status, "")
            table.add_row(f"[{style}]{r.status}[/]", str(r.row), r.claim_id, r.to, r.file, r.detail)
        console.print(table)
    c = report.counts()
    if report.dry_run:
        summary = f"Dry run: {c[WOULD_SEND]} would be sent, {c[ALREADY_SENT]} already sent, {c[FAILED]} cannot be sent."
    else:
        summary = f"{c[SENT]} sent, {c[ALREADY_SENT]} already sent (Sent On filled), {c[FAILED]} failed."
    if not report.results:
        summary = f"Nothing to send: every draft in {report.workbook} has a Sent On date."
    console.print(summary)


@main.command()
@click.argument("book", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--drafts",
    "drafts_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder of the .eml drafts (default: a folder named after the workbook, beside it).",
)
@click.option("--smtp-host", default=None, metavar="HOST", help="SMTP server (required unless --dry-run).")
@click.option(
    "--smtp-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Port (default 587 with --starttls, 465 with --ssl, 25 with --plain).",
)
@click.option(
    "--starttls",
    "security",
    flag_value="starttls",
    default=True,
    help="STARTTLS, certificate verified (default).",
)
@click.option("--ssl", "security", flag_value="ssl", help="TLS from the first byte (SMTPS).")
@click.option("--plain", "security", flag_value="plain", help="No encryption: only for a local relay.")
@click.option(
    "--user",
    default=None,
    envvar="CPOR_SMTP_USER",
    help=f"Log in as this user; the password is read from {PASSWORD_VARIABLE}.",
)
@click.option(
    "--ca-file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="Trust the CA certificates in this PEM file instead of the system's (an internal relay).",
)
@click.option("--dry-run", is_flag=True, help="List what would be sent; send nothing, change nothing.")
@click.option(
    "--max-per-minute",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Send at most this many messages a minute.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of a table.")
@handle_errors
def send(
    book: Path,
    drafts_dir: Path | None,
    smtp_host: str | None,
    smtp_port: int | None,
    security: Security,
    user: str | None,
    ca_file: Path | None,
    dry_run: bool,
    max_per_minute: float | None,
    as_json: bool,
) -> None:
    """Send BOOK's consent drafts that have no Sent On yet, then fill Sent On.

    Every delivery is recorded in sent.log in the drafts folder first, so running send again (after an
    interruption, or when the workbook was open in Excel) never sends a message twice.
    """
    smtp = None
    if smtp_host:
        password = os.environ.get(PASSWORD_VARIABLE)
        if user and not password:
            raise UsageError(
                f"--user {user} needs its password in the environment variable {PASSWORD_VARIABLE}."
            )
        smtp = SmtpSettings(
            host=smtp_host,
            port=smtp_port,
            security=security,
            user=user or None,
            password=password if user else None,
            ca_file=ca_file,
        )
    elif not dry_run:
        raise UsageError("Give the SMTP server with --smtp-host HOST (or use --dry-run).")
    report = send_drafts(book, drafts_dir, smtp, dry_run=dry_run, max_per_minute=max_per_minute)
    render(report, as_json)
    sys.exit(report.exit_code)

"""`cpor-excel send`: deliver the consent drafts of a workbook over SMTP, once each."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from cpor_excel.cli import handle_errors, main
from cpor_excel.cli.mail_options import (
    ProgressBar,
    ca_file_option,
    drafts_option,
    oauth_login,
    oauth_options,
    resend_option,
    results_table,
)
from cpor_excel.errors import UsageError
from cpor_excel.mail.sending import (
    ALREADY_SENT,
    FAILED,
    IN_MAILBOX,
    MAYBE_SENT,
    SENT,
    WOULD_SEND,
    SendReport,
    send_drafts,
)
from cpor_excel.mail.smtp import Security, SmtpSettings

PASSWORD_VARIABLE = "CPOR_SMTP_PASSWORD"
STATUS_STYLE = {
    SENT: "green",
    ALREADY_SENT: "cyan",
    WOULD_SEND: "yellow",
    FAILED: "bold red",
    MAYBE_SENT: "bold magenta",
    IN_MAILBOX: "cyan",
}


def render(report: SendReport, as_json: bool) -> None:
    """Print what was sent (or would be) as a table and a summary line, or as one JSON document."""
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    console = results_table(report, STATUS_STYLE)
    c = report.counts()
    if report.dry_run:
        summary = f"Dry run: {c[WOULD_SEND]} would be sent, {c[ALREADY_SENT]} already sent, {c[FAILED]} cannot be sent."
    else:
        summary = f"{c[SENT]} sent, {c[ALREADY_SENT]} already sent (Sent On filled), {c[FAILED]} failed."
    if c[MAYBE_SENT]:
        summary += (
            f" {c[MAYBE_SENT]} may have been delivered (no answer from the server): see Detail; "
            "send one again only with --resend CLAIM."
        )
    if c[IN_MAILBOX]:
        summary += f" {c[IN_MAILBOX]} in a mailbox's Drafts folder (drafts-to-mailbox): send them from there."
    if not report.results:
        summary = f"Nothing to send: every draft in {report.workbook} has a Sent On date."
    console.print(summary)


@main.command()
@click.argument("book", type=click.Path(path_type=Path, dir_okay=False, readable=False))
@drafts_option
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
@ca_file_option
@click.option("--dry-run", is_flag=True, help="List what would be sent; send nothing, change nothing.")
@click.option(
    "--max-per-minute",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Send at most this many messages a minute.",
)
@oauth_options
@resend_option
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
    oauth: bool,
    client_id: str | None,
    tenant: str | None,
    client_credentials: bool,
    sign_in: bool,
    authority: str | None,
    resend: tuple[str, ...],
    as_json: bool,
) -> None:
    """Send BOOK's consent drafts that have no Sent On yet, then fill Sent On.

    Every claim's mail is recorded in the send journal (in your data folder; CPOR_DATA_DIR to choose)
    before it goes out, so no copy of the workbook or drafts folder ever sends it twice; a message the
    server may have kept without answering is sent again only with --resend CLAIM.
    """
    smtp = None
    if smtp_host:
        password = os.environ.get(PASSWORD_VARIABLE)
        login_user, token = oauth_login(
            "smtp",
            oauth=oauth,
            user=user,
            password=password,
            password_variable=PASSWORD_VARIABLE,
            client_id=client_id,
            tenant=tenant,
            client_credentials=client_credentials,
            sign_in=sign_in,
            authority=authority,
        )
        if token is None and user and not password:
            raise UsageError(
                f"--user {user} needs its password in the environment variable {PASSWORD_VARIABLE} (or --oauth)."
            )
        smtp = SmtpSettings(
            host=smtp_host,
            port=smtp_port,
            security=security,
            user=login_user or None,
            password=password if user and token is None else None,
            ca_file=ca_file,
            access_token=token.token if token else None,
            token_advice=token.advice if token else "",
            renew_token=token.renew if token else None,
        )
    elif not dry_run:
        raise UsageError("Give the SMTP server with --smtp-host HOST (or use --dry-run).")
    with ProgressBar("Sending") as bar:
        report = send_drafts(
            book,
            drafts_dir,
            smtp,
            dry_run=dry_run,
            max_per_minute=max_per_minute,
            resend=frozenset(resend),
            progress=bar,
        )
    render(report, as_json)
    sys.exit(report.exit_code)

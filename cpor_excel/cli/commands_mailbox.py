"""`cpor-excel drafts-to-mailbox`: put the consent drafts into the mailbox's Drafts folder over IMAP, once each."""

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
from cpor_excel.mail.imap import ImapSettings, Security
from cpor_excel.mail.mailbox import ALREADY_PLACED, MAYBE_PLACED, PLACED, WOULD_PLACE, drafts_to_mailbox
from cpor_excel.mail.sending import ALREADY_SENT, FAILED, SendReport

PASSWORD_VARIABLE = "CPOR_IMAP_PASSWORD"
STATUS_STYLE = {
    PLACED: "green",
    ALREADY_PLACED: "cyan",
    ALREADY_SENT: "cyan",
    WOULD_PLACE: "yellow",
    FAILED: "bold red",
    MAYBE_PLACED: "bold magenta",
}


def render(report: SendReport, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    console = results_table(report, STATUS_STYLE)
    c = report.counts()
    if not report.results:
        summary = f"Nothing to place: every draft in {report.workbook} has a Sent On or In Mailbox On date."
    elif report.dry_run:
        summary = f"Dry run: {c[WOULD_PLACE]} would be placed, {c[ALREADY_PLACED]} already placed."
    else:
        summary = (
            f"{c[PLACED]} placed in the Drafts folder, {c[ALREADY_PLACED]} already there, {c[ALREADY_SENT]} "
            f"already sent, {c[FAILED]} failed."
        )
    if c[MAYBE_PLACED]:
        summary += f" {c[MAYBE_PLACED]} may be there already (see Detail): again only with --resend CLAIM."
    console.print(summary)


@main.command("drafts-to-mailbox")
@click.argument("book", type=click.Path(path_type=Path, dir_okay=False, readable=False))
@drafts_option
@click.option("--imap-host", default=None, metavar="HOST", help="IMAP server (required unless --dry-run).")
@click.option(
    "--imap-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Port (default 993 with --ssl, 143 with --starttls or --plain).",
)
@click.option("--ssl", "security", flag_value="ssl", default=True, help="TLS from the first byte (default).")
@click.option("--starttls", "security", flag_value="starttls", help="STARTTLS, certificate verified.")
@click.option("--plain", "security", flag_value="plain", help="No encryption: only for a local server.")
@click.option(
    "--user",
    default=None,
    envvar="CPOR_IMAP_USER",
    help=f"The mailbox to log in to; the password is read from {PASSWORD_VARIABLE} (or use --oauth).",
)
@ca_file_option
@oauth_options
@resend_option
@click.option("--dry-run", is_flag=True, help="List what would be placed; place nothing, change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of a table.")
@handle_errors
def drafts_to_mailbox_command(
    book: Path,
    drafts_dir: Path | None,
    imap_host: str | None,
    imap_port: int | None,
    security: Security,
    user: str | None,
    ca_file: Path | None,
    oauth: bool,
    client_id: str | None,
    tenant: str | None,
    client_credentials: bool,
    sign_in: bool,
    authority: str | None,
    resend: tuple[str, ...],
    dry_run: bool,
    as_json: bool,
) -> None:
    """Put BOOK's consent drafts that have no Sent On or In Mailbox On into the mailbox's Drafts folder
    (the one flagged \\Drafts), flagged as drafts, then fill In Mailbox On.

    Outlook shows them there to review and send. The send journal places each claim's draft once, whatever
    copy of the workbook it comes from, and never one already sent.
    """
    imap = None
    if imap_host:
        password = os.environ.get(PASSWORD_VARIABLE)
        login_user, token = oauth_login(
            "imap",
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
        if token is None and not (user and password):
            raise UsageError(
                f"Give the mailbox with --user and its password in {PASSWORD_VARIABLE}, or log in with --oauth."
            )
        imap = ImapSettings(
            host=imap_host,
            port=imap_port,
            security=security,
            user=login_user,
            password=None if token else password,
            ca_file=ca_file,
            access_token=token.token if token else None,
            token_advice=token.advice if token else "",
        )
    elif not dry_run:
        raise UsageError("Give the IMAP server with --imap-host HOST (or use --dry-run).")
    with ProgressBar("Placing drafts") as bar:
        report = drafts_to_mailbox(
            book, drafts_dir, imap, dry_run=dry_run, resend=frozenset(resend), progress=bar
        )
    render(report, as_json)
    sys.exit(report.exit_code)

"""Options and display shared by `send` and `drafts-to-mailbox`: the Microsoft 365 sign-in (`--oauth ...`),
`--resend`, and the progress bar."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from cpor_excel.errors import UsageError
from cpor_excel.mail.oauth import SECRET_VARIABLE, TOKEN_VARIABLE, AccessToken, OAuthSettings, access_token
from cpor_excel.mail.sending import SendReport

F = TypeVar("F", bound=Callable[..., Any])

_OAUTH_OPTIONS = (
    click.option(
        "--oauth",
        is_flag=True,
        help=f"Log in to Microsoft 365 with OAuth (XOAUTH2) instead of a password: a token from Microsoft's "
        f"sign-in (cached), or {TOKEN_VARIABLE} when set.",
    ),
    click.option(
        "--client-id",
        envvar="CPOR_CLIENT_ID",
        default=None,
        metavar="ID",
        help="With --oauth: the app registration's Application (client) ID (or CPOR_CLIENT_ID).",
    ),
    click.option(
        "--tenant",
        envvar="CPOR_TENANT_ID",
        default=None,
        metavar="TENANT",
        help="With --oauth: the Directory (tenant) ID or domain (or CPOR_TENANT_ID); needed with "
        "--client-credentials.",
    ),
    click.option(
        "--client-credentials",
        is_flag=True,
        help=f"With --oauth: sign in as the app registration (its secret in {SECRET_VARIABLE}) instead of as "
        "a person with a device code; --user names the mailbox.",
    ),
    click.option(
        "--sign-in", "sign_in", is_flag=True, help="With --oauth: sign in anew, ignoring the cached sign-in."
    ),
    click.option(
        "--authority",
        default=None,
        metavar="URL",
        help="With --oauth: the sign-in authority (default https://login.microsoftonline.com/TENANT; "
        "another for a national cloud).",
    ),
)


def drafts_option(func: F) -> F:
    return click.option(
        "--drafts",
        "drafts_dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help="Folder of the .eml drafts (default: a folder named after the workbook, beside it).",
    )(func)


def ca_file_option(func: F) -> F:
    return click.option(
        "--ca-file",
        type=click.Path(path_type=Path, dir_okay=False, exists=True),
        default=None,
        help="Trust the CA certificates in this PEM file instead of the system's (an internal server).",
    )(func)


def oauth_options(func: F) -> F:
    for option in reversed(_OAUTH_OPTIONS):
        func = option(func)
    return func


def resend_option(func: F) -> F:
    return click.option(
        "--resend",
        multiple=True,
        metavar="CLAIM",
        help="Do this claim again although the send journal has it done or maybe done (repeatable).",
    )(func)


def oauth_login(
    protocol: str,
    *,
    oauth: bool,
    user: str | None,
    password: str | None,
    password_variable: str,
    client_id: str | None,
    tenant: str | None,
    client_credentials: bool,
    sign_in: bool,
    authority: str | None,
) -> tuple[str | None, AccessToken | None]:
    """(user, token) for an --oauth login, or (user, None) for a password login; usage errors exit 2."""
    extras = {
        "--client-credentials": client_credentials,
        "--sign-in": sign_in,
        "--authority": authority,
    }
    if not oauth:
        given = next((name for name, value in extras.items() if value), None)
        if given:
            raise UsageError(f"{given} is an --oauth option; add --oauth, or drop {given}.")
        return user, None
    if password:
        raise UsageError(
            f"--oauth logs in with a token, but {password_variable} holds a password too: unset it, or drop "
            "--oauth to log in with the password."
        )
    settings = OAuthSettings(
        client_id=client_id,
        tenant=tenant,
        app=client_credentials,
        sign_in=sign_in,
        authority=authority,
    )
    if (client_credentials or _given_token()) and not user:
        raise UsageError("--oauth with an app or a given token needs --user, the mailbox to log in to.")
    token = access_token(settings, "smtp" if protocol == "smtp" else "imap", _tell)
    user = user or token.user
    if not user:
        raise UsageError("--oauth could not tell who signed in: give the mailbox with --user.")
    return user, token


def _given_token() -> bool:
    return bool(os.environ.get(TOKEN_VARIABLE, "").strip())


def _tell(text: str) -> None:
    click.echo(text, err=True)


class ProgressBar:
    """A rich progress bar on stderr (stdout stays one JSON document with --json); outside a terminal it
    prints its last state once, and nothing when the command fails (its one `Error:` line stands alone)."""

    def __init__(self, verb: str) -> None:
        self.verb = verb
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True, highlight=False),
        )
        self.task: TaskID | None = None

    def __enter__(self) -> ProgressBar:
        self.bar.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if kind is None:
            self.bar.stop()
        else:  # Progress.stop would also add an empty line
            self.bar.live.transient = True
            self.bar.live.stop()

    def start(self, total: int) -> None:
        self.task = self.bar.add_task(self.verb, total=total)

    def waiting(self, seconds: float) -> None:
        if self.task is not None:
            self.bar.update(self.task, description=f"{self.verb} (next in {seconds:.0f} s, --max-per-minute)")

    def done(self, result: object) -> None:
        if self.task is not None:
            self.bar.update(self.task, advance=1, description=self.verb)


def results_table(report: SendReport, styles: dict[str, str]) -> Console:
    """Print one row per draft (status, row, claim, recipients, file, detail); returns the console for the
    summary line."""
    console = Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 140)
    if report.results:
        table = Table(header_style="bold")
        for name in ("Status", "Row", "Claim ID", "To", "File", "Detail"):
            table.add_column(name, overflow="fold")
        for r in report.results:
            style = styles.get(r.status, "")
            table.add_row(f"[{style}]{r.status}[/]", str(r.row), r.claim_id, r.to, r.file, r.detail)
        console.print(table)
    return console

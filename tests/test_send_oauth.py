"""`send --oauth`: XOAUTH2 over STARTTLS against a real SMTP server (aiosmtpd) that checks the access token, with
the token from CPOR_OAUTH_TOKEN, or from the real msal library signing in at a local stand-in for Microsoft's
sign-in (sign_in_server.py): device code, the cached sign-in, refresh, client credentials."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sign_in_server import (  # noqa: F401
    CLIENT_ID,
    DEVICE_CODE_GRANT,
    MAILBOX,
    PERSON,
    SECRET,
    TENANT,
    Authority,
    sign_in_fixture,
)
from smtp_server import Collector, Server, smtp_server_fixture, tls_ca_fixture  # noqa: F401
from test_send import StartServer, make_book

from cpor_excel.cli import main
from cpor_excel.mail.journal import data_dir
from cpor_excel.mail.oauth import CACHE_FILE


def oauth_send(server: Server, book: Path, *extra: str) -> Result:
    args = ["send", str(book), "--smtp-host", server.host, "--smtp-port", str(server.port)]
    return CliRunner().invoke(main, [*args, "--ca-file", str(server.ca_file), "--oauth", *extra])


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("Error:")]


def test_a_given_token_logs_in_with_xoauth2_over_starttls(
    tmp_path: Path, smtp_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = smtp_server(Collector(tokens={"token-1": PERSON}), starttls=True, auth=True)
    monkeypatch.setenv("CPOR_OAUTH_TOKEN", "token-1")
    result = oauth_send(server, make_book(tmp_path, (1, 2)), "--user", PERSON)
    assert result.exit_code == 0, result.output
    assert [(m.user, m.tls) for m in server.handler.messages] == [(PERSON, True), (PERSON, True)]


def test_a_refused_token_is_exit_3_and_says_how_to_get_another(
    tmp_path: Path, smtp_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = smtp_server(Collector(tokens={"token-1": PERSON}), starttls=True, auth=True)
    monkeypatch.setenv("CPOR_OAUTH_TOKEN", "expired")
    result = oauth_send(server, make_book(tmp_path, (1,)), "--user", PERSON)
    assert result.exit_code == 3
    [line] = error_lines(result)
    assert "refused the access token for pat@partner.example (535 5.7.3 Authentication unsuccessful)" in line
    assert "CPOR_OAUTH_TOKEN" in line and "Traceback" not in result.output
    assert server.handler.refused_tokens == ["expired"] and server.handler.messages == []


def test_device_code_sign_in_then_the_cached_sign_in(
    tmp_path: Path, smtp_server: StartServer, sign_in: Authority
) -> None:
    sign_in.pending_polls = 1  # the person has not entered the code at the first poll
    server = smtp_server(Collector(tokens=sign_in.tokens), starttls=True, auth=True)
    options = ["--client-id", CLIENT_ID, "--authority", sign_in.url]
    first = oauth_send(server, make_book(tmp_path / "a", (1,)), *options)
    assert first.exit_code == 0, first.output
    assert "enter the code ABCD-EFGH" in first.stderr
    assert [m.user for m in server.handler.messages] == [PERSON]  # the signed-in person, no --user needed
    devicecode = [scope for endpoint, _, scope in sign_in.requests if endpoint == "devicecode"]
    assert len(devicecode) == 1
    assert set(devicecode[0].split()) >= {"https://outlook.office.com/SMTP.Send", "offline_access"}
    assert sign_in.grants() == [DEVICE_CODE_GRANT, DEVICE_CODE_GRANT]  # pending, then the token

    cache = data_dir() / CACHE_FILE
    assert cache.is_file() and stat.S_IMODE(cache.stat().st_mode) == 0o600
    second = oauth_send(server, make_book(tmp_path / "b", (2,)), *options)
    assert second.exit_code == 0, second.output
    assert "ABCD-EFGH" not in second.stderr and sign_in.grants() == [DEVICE_CODE_GRANT] * 2  # from the cache
    assert [m.user for m in server.handler.messages] == [PERSON, PERSON]


def test_an_expiring_token_is_refreshed_and_sign_in_starts_over(
    tmp_path: Path, smtp_server: StartServer, sign_in: Authority
) -> None:
    sign_in.expires_in = 60  # MSAL refreshes a token this close to its end
    server = smtp_server(Collector(tokens=sign_in.tokens), starttls=True, auth=True)
    options = ["--client-id", CLIENT_ID, "--authority", sign_in.url]
    assert oauth_send(server, make_book(tmp_path / "a", (1,)), *options).exit_code == 0
    assert oauth_send(server, make_book(tmp_path / "b", (2,)), *options).exit_code == 0
    assert sign_in.grants() == [DEVICE_CODE_GRANT, "refresh_token"]
    again = oauth_send(server, make_book(tmp_path / "c", (3,)), *options, "--sign-in")
    assert again.exit_code == 0 and "ABCD-EFGH" in again.stderr
    assert sign_in.grants() == [DEVICE_CODE_GRANT, "refresh_token", DEVICE_CODE_GRANT]
    assert len(server.handler.messages) == 3


def test_a_send_that_must_log_in_again_asks_for_a_fresh_token(
    tmp_path: Path, smtp_server: StartServer, sign_in: Authority
) -> None:
    """The server refuses the first DATA for now (451), so the transport reconnects and logs in again: with
    a token near its end, that login uses a token MSAL refreshed, not the one it had when the send began."""
    sign_in.expires_in = 60  # MSAL refreshes a token this close to its end
    collector = Collector(tokens=sign_in.tokens, temporary_failures=1)
    server = smtp_server(collector, starttls=True, auth=True)
    result = oauth_send(
        server, make_book(tmp_path, (1, 2)), "--client-id", CLIENT_ID, "--authority", sign_in.url
    )
    assert result.exit_code == 0, result.output
    assert sign_in.grants() == [DEVICE_CODE_GRANT, "refresh_token"]
    first, second = collector.accepted_tokens
    assert first != second and sign_in.tokens[second] == sign_in.tokens[first] == PERSON
    assert len(collector.messages) == 2 and collector.refused_tokens == []


def test_client_credentials_of_an_app_registration(
    tmp_path: Path, smtp_server: StartServer, sign_in: Authority, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = smtp_server(Collector(tokens=sign_in.tokens), starttls=True, auth=True)
    options = [
        "--client-id",
        CLIENT_ID,
        "--tenant",
        TENANT,
        "--authority",
        sign_in.url,
        "--client-credentials",
    ]
    monkeypatch.setenv("CPOR_CLIENT_SECRET", "wrong")
    wrong = oauth_send(server, make_book(tmp_path / "a", (1,)), *options, "--user", MAILBOX)
    assert wrong.exit_code == 3
    [line] = error_lines(wrong)
    assert line.startswith("Error: Microsoft sign-in failed: invalid_client: AADSTS7000215")
    assert "SMTP.SendAsApp" in line

    monkeypatch.setenv("CPOR_CLIENT_SECRET", SECRET)
    result = oauth_send(server, make_book(tmp_path / "b", (1,)), *options, "--user", MAILBOX)
    assert result.exit_code == 0, result.output
    assert [m.user for m in server.handler.messages] == [MAILBOX]
    assert [(g, s) for _, g, s in sign_in.requests if g] == [
        ("client_credentials", "https://outlook.office365.com/.default")
    ] * 2


def test_usage_errors_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book = make_book(tmp_path, (1,))
    base = ["send", str(book), "--smtp-host", "smtp.example"]

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, [*base, *args])

    monkeypatch.setenv("CPOR_SMTP_PASSWORD", "secret")
    both = run("--oauth", "--user", PERSON)
    assert both.exit_code == 2 and "CPOR_SMTP_PASSWORD holds a password too" in both.stderr
    monkeypatch.delenv("CPOR_SMTP_PASSWORD")
    assert "--oauth needs --client-id" in run("--oauth").stderr
    assert run("--oauth").exit_code == 2
    stray = run("--client-credentials")
    assert stray.exit_code == 2 and "--client-credentials is an --oauth option" in stray.stderr
    monkeypatch.setenv("CPOR_CLIENT_SECRET", SECRET)
    mailbox = run("--oauth", "--client-credentials", "--client-id", CLIENT_ID, "--tenant", TENANT)
    assert mailbox.exit_code == 2 and "needs --user" in mailbox.stderr


def test_only_signing_in_imports_msal() -> None:
    probe = "import sys; import cpor_excel.cli.commands_mail, cpor_excel.cli.commands_mailbox; print('msal' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"

"""`cpor-excel drafts-to-mailbox` against a real Dovecot (dovecot_server.py): APPEND into the folder flagged
\\Drafts, flagged \\Draft, once, whatever copy of the workbook; In Mailbox On; password login over implicit TLS
and STARTTLS, XOAUTH2 checked by Dovecot's oauth2 passdb; and `send` and `drafts-to-mailbox` never both
deliver a claim's mail."""

from __future__ import annotations

import email
import email.policy
import socketserver
import threading
from pathlib import Path
from typing import Any, ClassVar

import openpyxl
import pytest
from click.testing import CliRunner, Result
from dovecot_server import PASSWORD, USER, Dovecot, dovecot_fixture  # noqa: F401
from smtp_server import free_port, smtp_server_fixture, tls_ca_fixture  # noqa: F401
from test_send import StartServer, make_book
from test_send_once import copy_book

from cpor_excel.cli import main
from cpor_excel.mail.journal import DONE, MAILBOX, SMTP, SendJournal
from cpor_excel.mail.outbox import default_drafts_dir
from cpor_excel.model.columns import DRAFTS_SHEET


def to_mailbox(
    server: Dovecot, book: Path, *extra: str, port: int | None = None, how: str = "--ssl"
) -> Result:
    port = port if port is not None else (server.ssl_port if how == "--ssl" else server.port)
    args = ["drafts-to-mailbox", str(book), "--imap-host", server.host, "--imap-port", str(port), how]
    return CliRunner().invoke(main, [*args, "--ca-file", str(server.ca_file), *extra])


def sheet(book: Path) -> list[dict[str, Any]]:
    rows = list(openpyxl.load_workbook(book)[DRAFTS_SHEET].iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=False)) for row in rows[1:]]


def message_ids(server: Dovecot) -> list[tuple[str, str]]:
    found = []
    for flags, data in server.drafts_folder():
        found.append((flags, str(email.message_from_bytes(data, policy=email.policy.default)["Message-ID"])))
    return found


def draft_ids(book: Path) -> list[str]:
    folder = default_drafts_dir(book)
    return [
        str(
            email.message_from_bytes((folder / row["File"]).read_bytes(), policy=email.policy.default)[
                "Message-ID"
            ]
        )
        for row in sheet(book)
    ]


def test_each_draft_lands_in_the_drafts_folder_flagged_draft_once(
    tmp_path: Path, dovecot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = dovecot()
    book = make_book(tmp_path)
    monkeypatch.setenv("CPOR_IMAP_PASSWORD", PASSWORD)
    result = to_mailbox(server, book, "--user", USER)
    assert result.exit_code == 0, result.output
    assert "3 placed in the Drafts folder" in result.stdout and "3/3" in result.stderr
    assert message_ids(server) == [("\\Draft", mid) for mid in draft_ids(book)]
    rows = sheet(book)
    assert [r["In Mailbox On"] for r in rows] == [rows[0]["In Mailbox On"]] * 3 and rows[0]["In Mailbox On"]
    assert [r["Sent On"] for r in rows] == [None] * 3
    with SendJournal() as journal:
        assert [(e.claim_id, e.channel, e.state) for e in journal.entries()] == [
            (c, MAILBOX, DONE) for c in ("C1", "C2", "C3")
        ]
        assert journal.entries()[0].server == f"Drafts of {USER}@{server.host}"

    again = to_mailbox(server, book, "--user", USER)
    assert again.exit_code == 0 and "Nothing to place" in again.stdout
    copy = copy_book(book, "copy.xlsx")
    wb = openpyxl.load_workbook(copy)
    for row in wb[DRAFTS_SHEET].iter_rows(min_row=2):
        row[-1].value = None  # as a copy made before the drafts were placed
    wb.save(copy)
    from_copy = to_mailbox(server, copy, "--user", USER, "--json")
    assert from_copy.exit_code == 0, from_copy.output
    assert '"already-placed": 3' in from_copy.stdout
    assert len(server.drafts_folder()) == 3


def test_the_folder_flagged_drafts_is_used_whatever_its_name_over_starttls(
    tmp_path: Path, dovecot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = dovecot(drafts="Entwürfe")
    book = make_book(tmp_path, (1,))
    monkeypatch.setenv("CPOR_IMAP_PASSWORD", PASSWORD)
    result = to_mailbox(server, book, "--user", USER, how="--starttls")
    assert result.exit_code == 0, result.output
    assert message_ids(server) == [("\\Draft", draft_ids(book)[0])]


def test_xoauth2_with_a_token_dovecot_checks(
    tmp_path: Path, dovecot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = dovecot()
    server.tokens["token-1"] = USER
    book = make_book(tmp_path, (1, 2))
    monkeypatch.setenv("CPOR_OAUTH_TOKEN", "expired")
    refused = to_mailbox(server, book, "--oauth", "--user", USER)
    assert refused.exit_code == 3
    [line] = [x for x in refused.stderr.splitlines() if x.startswith("Error:")]
    assert f"refused the access token for {USER}" in line and "CPOR_OAUTH_TOKEN" in line
    monkeypatch.setenv("CPOR_OAUTH_TOKEN", "token-1")
    result = to_mailbox(server, book, "--oauth", "--user", USER)
    assert result.exit_code == 0, result.output
    assert server.introspected == ["expired", "token-1"] and len(server.drafts_folder()) == 2


def test_send_and_drafts_to_mailbox_never_both_deliver_a_claim(
    tmp_path: Path, dovecot: Any, smtp_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    imap, smtp = dovecot(), smtp_server()
    book = make_book(tmp_path, (1, 2))
    only_c1, untouched = copy_book(book, "only C1.xlsx"), copy_book(book, "untouched.xlsx")
    wb = openpyxl.load_workbook(only_c1)
    wb[DRAFTS_SHEET].delete_rows(3)
    wb.save(only_c1)
    monkeypatch.setenv("CPOR_IMAP_PASSWORD", PASSWORD)
    assert to_mailbox(imap, only_c1, "--user", USER).exit_code == 0  # C1 into the Drafts folder

    send_args = ["send", str(book), "--smtp-host", smtp.host, "--smtp-port", str(smtp.port), "--plain"]
    sent = CliRunner().invoke(main, [*send_args, "--json"])
    assert sent.exit_code == 0, sent.output
    assert '"in-mailbox": 1' in sent.stdout and '"sent": 1' in sent.stdout
    assert [m.rcpt_tos for m in smtp.handler.messages] == [["it@customer2.example"]]
    assert [(r["Claim ID"], bool(r["Sent On"]), bool(r.get("In Mailbox On"))) for r in sheet(book)] == [
        ("C1", False, True), ("C2", True, False),
    ]  # fmt: skip

    placed = to_mailbox(imap, untouched, "--user", USER, "--json")
    assert placed.exit_code == 0, placed.output
    assert '"already-placed": 1' in placed.stdout and '"already-sent": 1' in placed.stdout
    assert len(imap.drafts_folder()) == 1
    with SendJournal() as journal:
        assert sorted((e.claim_id, e.channel) for e in journal.entries()) == [("C1", MAILBOX), ("C2", SMTP)]


def test_a_wrong_password_or_no_server_is_one_error_line(
    tmp_path: Path, dovecot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = dovecot()
    book = make_book(tmp_path, (1,))
    monkeypatch.setenv("CPOR_IMAP_PASSWORD", "wrong")
    wrong = to_mailbox(server, book, "--user", USER)
    assert wrong.exit_code == 3 and f"refused the login for {USER}" in wrong.stderr
    monkeypatch.setenv("CPOR_IMAP_PASSWORD", PASSWORD)
    nobody = to_mailbox(server, book, "--user", USER, port=free_port())
    assert nobody.exit_code == 3
    assert [x for x in nobody.stderr.splitlines() if x.startswith("Error:")] == [
        x for x in nobody.stderr.splitlines() if x.strip()
    ]
    assert "Cannot reach the IMAP server: cannot connect to 127.0.0.1" in nobody.stderr
    assert server.drafts_folder() == [] and sheet(book)[0].get("In Mailbox On") is None


def test_usage_errors_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book = make_book(tmp_path, (1,))
    base = ["drafts-to-mailbox", str(book), "--imap-host", "imap.example"]
    monkeypatch.setenv("CPOR_IMAP_PASSWORD", "secret")
    both = CliRunner().invoke(main, [*base, "--oauth", "--user", USER])
    assert both.exit_code == 2 and "CPOR_IMAP_PASSWORD holds a password too" in both.stderr
    monkeypatch.delenv("CPOR_IMAP_PASSWORD")
    nothing = CliRunner().invoke(main, [*base, "--user", USER])
    assert nothing.exit_code == 2 and "CPOR_IMAP_PASSWORD" in nothing.stderr
    no_host = CliRunner().invoke(main, ["drafts-to-mailbox", str(book)])
    assert no_host.exit_code == 2 and "--imap-host" in no_host.stderr


class _LosesAppendReplies(socketserver.StreamRequestHandler):
    """Just enough IMAP (greeting, CAPABILITY, LOGIN, LIST, APPEND) to take a whole APPEND literal and then
    drop the connection without answering: what Dovecot cannot be made to do, and what a network cut after
    the upload looks like."""

    appends: ClassVar[list[bytes]] = []

    def handle(self) -> None:
        self.wfile.write(b"* OK ready\r\n")
        while line := self.rfile.readline():
            tag, _, command = line.decode().rstrip("\r\n").partition(" ")
            verb = command.split(" ", 1)[0].upper()
            if verb == "CAPABILITY":
                self.wfile.write(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + f"{tag} OK done\r\n".encode())
            elif verb in ("LOGIN", "LOGOUT"):
                self.wfile.write(f"{tag} OK done\r\n".encode())
            elif verb == "LIST":
                self.wfile.write(b'* LIST (\\Drafts) "/" Drafts\r\n' + f"{tag} OK done\r\n".encode())
            elif verb == "APPEND":
                size = int(command.rsplit("{", 1)[1].rstrip("}"))
                self.wfile.write(b"+ go ahead\r\n")
                self.appends.append(self.rfile.read(size))
                self.rfile.readline()
                return  # the connection closes: no tagged answer
            else:
                self.wfile.write(f"{tag} BAD unknown\r\n".encode())


def test_an_append_whose_answer_is_lost_is_never_placed_again_without_resend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _LosesAppendReplies)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _LosesAppendReplies.appends.clear()
    book = make_book(tmp_path, (1,))
    monkeypatch.setenv("CPOR_IMAP_PASSWORD", "ascii-password")  # LOGIN, which this server speaks
    args = [
        "drafts-to-mailbox",
        str(book),
        "--imap-host",
        "127.0.0.1",
        "--imap-port",
        str(server.server_address[1]),
    ]
    try:
        dry = CliRunner().invoke(main, [*args, "--plain", "--user", USER, "--dry-run", "--json"])
        assert dry.exit_code == 0 and '"would-place": 1' in dry.stdout and _LosesAppendReplies.appends == []
        first = CliRunner().invoke(main, [*args, "--plain", "--user", USER, "--json"])
        assert first.exit_code == 1, first.output
        assert '"may-have-been-placed": 1' in first.stdout and "--resend C1" in first.stdout
        second = CliRunner().invoke(main, [*args, "--plain", "--user", USER, "--json"])
        assert second.exit_code == 1 and '"may-have-been-placed": 1' in second.stdout
        assert len(_LosesAppendReplies.appends) == 1  # not uploaded again
        third = CliRunner().invoke(main, [*args, "--plain", "--user", USER, "--resend", "C1"])
        assert third.exit_code == 1 and len(_LosesAppendReplies.appends) == 2
        with SendJournal() as journal:
            assert [e.state for e in journal.entries()] == ["unknown", "unknown"]
        assert sheet(book)[0].get("In Mailbox On") is None
    finally:
        server.shutdown()
        server.server_close()

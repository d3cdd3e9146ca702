"""`cpor-excel send` against a real SMTP server (aiosmtpd): plain, STARTTLS, SSL, login, retries,
refusals, and a crash between delivery and the workbook update; the send journal keeps every claim's mail
to one delivery (tests/test_send_once.py has the servers that lose their answer)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from rules_frames import EXO, association, associations, customers, ledger, usage
from smtp_server import PASSWORD, USER, Collector, Server, free_port, smtp_server_fixture, tls_ca_fixture  # noqa: F401

from cpor_excel.cli import main
from cpor_excel.errors import CporError, WorkbookLocked
from cpor_excel.io.file_book import FileBook
from cpor_excel.mail import sending
from cpor_excel.mail.drafts_sheet import sent_on_text
from cpor_excel.mail.journal import DONE, SendJournal, data_dir
from cpor_excel.mail.outbox import default_drafts_dir, draft_emails
from cpor_excel.mail.sending import Clock, SendReport, send_drafts
from cpor_excel.mail.smtp import RetryPolicy, SmtpSettings
from cpor_excel.model.columns import DRAFTS_HEADER, DRAFTS_SHEET
from cpor_excel.model.program import Settings, example_milestones
from cpor_excel.model.workbook import Prepared

AS_OF = dt.date(2025, 4, 1)
FAST = RetryPolicy(attempts=3, first_delay=1.0, max_delay=4.0)  # with FakeClock: no real waiting
SENT_ON = DRAFTS_HEADER.index("Sent On")


class FakeClock(Clock):
    """Time that only moves when `send` sleeps; sleeps are recorded, not waited."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> dt.datetime:
        return dt.datetime(2025, 4, 2, 8, 30, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=self.t)

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.t += seconds


def make_book(tmp_path: Path, tenants: tuple[int, ...] = (1, 2, 3), contact_name: str | None = None) -> Path:
    """partner.xlsx with a Consent Drafts sheet listing one real .eml draft per tenant (claims C1, C2, ...);
    ``contact_name`` replaces the customers' Contact Name."""
    book = tmp_path / "partner.xlsx"
    rows = [
        association(f"C{n}", n, EXO, status="Submitted", submitted="2025-03-31", approved=None)
        for n in tenants
    ]
    contacts = customers(tenants)
    if contact_name is not None:
        contacts["Contact Name"] = contact_name
    prepared = Prepared(
        customers=contacts,
        associations=associations(rows),
        usage=usage([]),
        milestones=example_milestones(),
        settings=Settings(),
        ledger=ledger([]),
        drafts=pd.DataFrame(columns=list(DRAFTS_HEADER), dtype=object),
        example_program=False,
    )
    drafts, findings = draft_emails(prepared, [], Settings(), AS_OF, default_drafts_dir(book))
    assert findings == [] and len(drafts) == len(tenants)
    wb = openpyxl.Workbook()
    wb.active.title = "Associations"
    sheet = wb.create_sheet(DRAFTS_SHEET)
    sheet.append(list(DRAFTS_HEADER))
    for d in drafts:
        sheet.append([d.claim_id, d.tenant_id, d.to, d.subject, d.file_name, AS_OF.isoformat(), None])
    wb.save(book)
    return book


def sent_on(book: Path) -> list[Any]:
    wb = openpyxl.load_workbook(book)
    return [row[SENT_ON] for row in wb[DRAFTS_SHEET].iter_rows(min_row=2, values_only=True)]


def journal() -> list[tuple[str, str, str]]:
    """(claim, recipient, state) of every send journal entry, oldest first."""
    if SendJournal.existing() is None:
        return []
    with SendJournal() as opened:
        return [(e.claim_id, e.recipient, e.state) for e in opened.entries()]


def journal_times() -> list[str]:
    with SendJournal() as opened:
        return [e.finished_at for e in opened.entries()]


def settings(server: Server, **kw: Any) -> SmtpSettings:
    kw.setdefault("security", "plain")
    kw.setdefault("timeout", 5)
    return SmtpSettings(host=server.host, port=server.port, ca_file=server.ca_file, **kw)


def send(book: Path, smtp: SmtpSettings | None, clock: FakeClock | None = None, **kw: Any) -> SendReport:
    return send_drafts(book, None, smtp, retry=FAST, clock=clock or FakeClock(), **kw)


def statuses(report: SendReport) -> list[tuple[int, str, str]]:
    return [(r.row, r.claim_id, r.status) for r in report.results]


def received(message: Any) -> email.message.EmailMessage:
    parsed = email.message_from_bytes(message.content, policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


StartServer = Callable[..., Server]


def test_plain_send_delivers_each_draft_once_logs_it_and_fills_sent_on(
    tmp_path: Path, smtp_server: StartServer
) -> None:
    server = smtp_server()
    book = make_book(tmp_path)
    report = send(book, settings(server))
    assert statuses(report) == [(2, "C1", "sent"), (3, "C2", "sent"), (4, "C3", "sent")]
    assert report.exit_code == 0
    got = server.handler.messages
    assert [(m.mail_from, m.rcpt_tos) for m in got] == [
        ("pat@partner.example", [f"it@customer{n}.example"]) for n in (1, 2, 3)
    ]
    for message, result in zip(got, report.results, strict=True):
        parsed = received(message)
        assert parsed["X-Unsent"] is None  # a draft for Outlook, but not in the mail the customer gets
        assert parsed["Message-ID"] == result.message_id
        assert parsed.get_body(("html",)) is not None
    assert sent_on(book) == ["2025-04-02 08:30 UTC"] * 3
    assert journal() == [(r.claim_id, r.to, DONE) for r in report.results]
    assert report.journal == str(data_dir() / "send-journal.sqlite3")

    again = send(book, settings(server))
    assert again.results == [] and len(server.handler.messages) == 3


def test_dry_run_lists_and_changes_nothing(tmp_path: Path) -> None:
    book = make_book(tmp_path, (1, 2))
    before = book.read_bytes()
    report = send(book, None, dry_run=True)
    assert statuses(report) == [(2, "C1", "would-send"), (3, "C2", "would-send")]
    assert [r.to for r in report.results] == ["it@customer1.example", "it@customer2.example"]
    assert book.read_bytes() == before
    assert SendJournal.existing() is None  # a dry run creates no journal


def test_starttls_with_a_verified_certificate_and_login(tmp_path: Path, smtp_server: StartServer) -> None:
    server = smtp_server(starttls=True, auth=True)
    book = make_book(tmp_path, (1, 2))
    report = send(book, settings(server, security="starttls", user=USER, password=PASSWORD))
    assert [r.status for r in report.results] == ["sent", "sent"]
    assert [(m.tls, m.user) for m in server.handler.messages] == [(True, USER), (True, USER)]


def test_starttls_refuses_an_untrusted_certificate(tmp_path: Path, smtp_server: StartServer) -> None:
    server = smtp_server(starttls=True)
    book = make_book(tmp_path, (1,))
    untrusted = SmtpSettings(host=server.host, port=server.port, security="starttls", timeout=5)
    with pytest.raises(CporError, match=r"not trusted.*--ca-file"):
        send(book, untrusted)
    assert server.handler.messages == [] and sent_on(book) == [None]


def test_a_wrong_password_stops_the_send(tmp_path: Path, smtp_server: StartServer) -> None:
    server = smtp_server(starttls=True, auth=True)
    book = make_book(tmp_path, (1,))
    with pytest.raises(CporError, match="refused the login for mailer"):
        send(book, settings(server, security="starttls", user=USER, password="wrong"))
    assert server.handler.messages == [] and journal() == []


def test_starttls_asked_of_a_server_without_it_is_a_clear_error(
    tmp_path: Path, smtp_server: StartServer
) -> None:
    server = smtp_server()
    book = make_book(tmp_path, (1,))
    with pytest.raises(CporError, match="does not offer STARTTLS"):
        send(book, settings(server, security="starttls"))


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # see smtp_server.py
def test_implicit_tls(tmp_path: Path, smtp_server: StartServer) -> None:
    server = smtp_server(implicit_tls=True, auth=True)
    book = make_book(tmp_path, (1,))
    report = send(book, settings(server, security="ssl", user=USER, password=PASSWORD))
    assert [r.status for r in report.results] == ["sent"]
    assert [(m.tls, m.user) for m in server.handler.messages] == [(True, USER)]


def test_a_451_is_retried_with_backoff_and_delivered_once(tmp_path: Path, smtp_server: StartServer) -> None:
    server = smtp_server(Collector(temporary_failures=2))
    book = make_book(tmp_path, (1, 2))
    clock = FakeClock()
    report = send(book, settings(server), clock)
    assert [r.status for r in report.results] == ["sent", "sent"]
    assert server.handler.data_attempts == 4 and len(server.handler.messages) == 2
    assert clock.sleeps == [1.0, 2.0]  # first_delay, then doubled; bounded by FAST.attempts


def test_a_temporary_failure_that_persists_is_reported_after_bounded_retries(
    tmp_path: Path, smtp_server: StartServer
) -> None:
    server = smtp_server(Collector(temporary_failures=3))
    book = make_book(tmp_path, (1, 2))
    clock = FakeClock()
    report = send(book, settings(server), clock)
    assert statuses(report) == [(2, "C1", "failed"), (3, "C2", "sent")]
    assert "451" in report.results[0].detail and "tried 3 times" in report.results[0].detail
    assert report.exit_code == 1
    assert clock.sleeps == [1.0, 2.0]
    assert sent_on(book) == [None, "2025-04-02 08:30 UTC"]
    assert journal() == [("C2", "it@customer2.example", DONE)]  # a certain failure leaves no entry
    assert journal_times() == ["2025-04-02T08:30:03+00:00"]  # after 1 + 2 s of backoff


def test_a_550_fails_that_message_and_the_rest_go_on(tmp_path: Path, smtp_server: StartServer) -> None:
    server = smtp_server(Collector(reject=frozenset({"it@customer2.example"})))
    book = make_book(tmp_path)
    clock = FakeClock()
    report = send(book, settings(server), clock)
    assert statuses(report) == [(2, "C1", "sent"), (3, "C2", "failed"), (4, "C3", "sent")]
    assert report.results[1].detail.startswith("it@customer2.example: 550")
    assert clock.sleeps == []  # a permanent refusal is not retried
    assert report.exit_code == 1
    assert [m.rcpt_tos for m in server.handler.messages] == [
        ["it@customer1.example"],
        ["it@customer3.example"],
    ]
    assert [v is not None for v in sent_on(book)] == [True, False, True]
    assert [claim for claim, _, _ in journal()] == ["C1", "C3"]


def test_an_unreachable_server_stops_the_send_after_bounded_retries(tmp_path: Path) -> None:
    book = make_book(tmp_path)
    clock = FakeClock()
    closed = SmtpSettings(host="127.0.0.1", port=free_port(), security="plain", timeout=2)
    with pytest.raises(
        CporError, match=r"Cannot reach the SMTP server: cannot connect to 127\.0\.0\.1.*3 times"
    ):
        send(book, closed, clock)
    assert clock.sleeps == [1.0, 2.0]
    assert sent_on(book) == [None] * 3 and journal() == []


def test_a_crash_after_delivery_never_sends_twice_and_the_next_send_fills_sent_on(
    tmp_path: Path, smtp_server: StartServer
) -> None:
    server = smtp_server()
    book = make_book(tmp_path)

    def crashing_book(path: Path) -> FileBook:
        book_ = FileBook(path)

        def crash() -> None:
            raise RuntimeError("power cut while saving")

        book_.save = crash
        return book_

    with pytest.raises(RuntimeError, match="power cut"):
        send(book, settings(server), open_book=crashing_book)
    assert len(server.handler.messages) == 3 and len(journal()) == 3
    assert sent_on(book) == [None] * 3  # the workbook update was lost

    report = send(book, settings(server))
    assert [r.status for r in report.results] == ["already-sent"] * 3
    assert len(server.handler.messages) == 3  # nothing delivered twice
    assert sent_on(book) == [sent_on_text(when) for when in journal_times()]


def test_a_locked_workbook_at_save_says_the_deliveries_are_kept(
    tmp_path: Path, smtp_server: StartServer
) -> None:
    server = smtp_server()
    book = make_book(tmp_path, (1,))

    def locked_book(path: Path) -> FileBook:
        book_ = FileBook(path)

        def locked() -> None:
            raise WorkbookLocked("partner.xlsx is open in Excel; close it and try again.")

        book_.save = locked
        return book_

    with pytest.raises(WorkbookLocked, match=r"recorded in the send journal: run the command again"):
        send(book, settings(server), open_book=locked_book)
    assert journal() == [("C1", "it@customer1.example", DONE)]


def test_a_workbook_open_in_excel_is_refused_before_anything_is_sent(
    tmp_path: Path, smtp_server: StartServer
) -> None:
    server = smtp_server()
    book = make_book(tmp_path, (1,))
    (tmp_path / f"~${book.name}").write_bytes(b"owner")  # Excel's owner file: the book is open
    with pytest.raises(WorkbookLocked):
        send(book, settings(server))
    assert server.handler.messages == [] and journal() == []


def test_max_per_minute_spaces_the_messages(tmp_path: Path, smtp_server: StartServer) -> None:
    server = smtp_server()
    book = make_book(tmp_path)
    clock = FakeClock()
    report = send(book, settings(server), clock, max_per_minute=20)
    assert [r.status for r in report.results] == ["sent"] * 3
    assert clock.sleeps == [3.0, 3.0]


def test_a_file_cell_cannot_reach_outside_the_drafts_folder(tmp_path: Path, smtp_server: StartServer) -> None:
    server = smtp_server()
    book = make_book(tmp_path, (1, 2, 3))
    outside = tmp_path / "outside.eml"
    outside.write_bytes(
        (default_drafts_dir(book) / next(default_drafts_dir(book).glob("*.eml")).name).read_bytes()
    )
    wb = openpyxl.load_workbook(book)
    wb[DRAFTS_SHEET]["E2"] = "../outside.eml"
    wb[DRAFTS_SHEET]["E3"] = "missing.eml"
    wb.save(book)
    report = send(book, settings(server))
    assert statuses(report) == [(2, "C1", "failed"), (3, "C2", "failed"), (4, "C3", "sent")]
    assert "not a file name inside the drafts folder" in report.results[0].detail
    assert "not found" in report.results[1].detail
    assert len(server.handler.messages) == 1


def test_a_row_copied_twice_is_sent_once(tmp_path: Path, smtp_server: StartServer) -> None:
    server = smtp_server()
    book = make_book(tmp_path, (1,))
    wb = openpyxl.load_workbook(book)
    wb[DRAFTS_SHEET].append([c.value for c in wb[DRAFTS_SHEET][2]])
    wb.save(book)
    report = send(book, settings(server))
    assert statuses(report) == [(2, "C1", "sent"), (3, "C1", "already-sent")]
    assert len(server.handler.messages) == 1
    assert sent_on(book)[0] == sent_on(book)[1] is not None


def test_a_workbook_without_consent_drafts_cannot_be_sent(tmp_path: Path) -> None:
    book = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(book)
    with pytest.raises(CporError, match=r"no Consent Drafts sheet.*cpor-excel run empty\.xlsx"):
        send(book, None, dry_run=True)


def test_plain_with_a_password_to_a_remote_host_is_refused(tmp_path: Path) -> None:
    book = make_book(tmp_path, (1,))
    remote = SmtpSettings(host="mail.example", port=25, security="plain", user="u", password="p")
    with pytest.raises(CporError, match="unencrypted"):
        send(book, remote)


# ------------------------------------------------------------------------------------------------ CLI


def test_cli_send_and_its_exit_codes(
    tmp_path: Path, smtp_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sending.Clock, "sleep", lambda self, s: None)
    server = smtp_server(Collector(reject=frozenset({"it@customer2.example"})))
    book = make_book(tmp_path)
    runner = CliRunner()
    args = ["send", str(book), "--smtp-host", server.host, "--smtp-port", str(server.port), "--plain"]

    dry = runner.invoke(main, [*args, "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["counts"] == {
        "sent": 0,
        "already-sent": 0,
        "would-send": 3,
        "failed": 0,
        "may-have-been-delivered": 0,
        "in-mailbox": 0,
    }

    result = runner.invoke(main, [*args, "--json"])
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    assert [(r["claim_id"], r["status"]) for r in doc["results"]] == [
        ("C1", "sent"),
        ("C2", "failed"),
        ("C3", "sent"),
    ]
    table = runner.invoke(main, args)
    assert table.exit_code == 1 and "0 sent, 0 already sent (Sent On filled), 1 failed." in table.output


def test_cli_usage_errors_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book = make_book(tmp_path, (1,))
    runner = CliRunner()
    monkeypatch.delenv("CPOR_SMTP_PASSWORD", raising=False)
    no_host = runner.invoke(main, ["send", str(book)])
    assert no_host.exit_code == 2 and "--smtp-host" in no_host.output
    no_password = runner.invoke(main, ["send", str(book), "--smtp-host", "mail.example", "--user", "u"])
    assert no_password.exit_code == 2 and "CPOR_SMTP_PASSWORD" in no_password.output
    assert "Traceback" not in no_password.output
    both = runner.invoke(main, ["send", str(book), "--smtp-host", "h", "--smtp-port", "0"])
    assert both.exit_code == 2


def test_cli_reads_the_password_from_the_environment(
    tmp_path: Path, smtp_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = smtp_server(starttls=True, auth=True)
    book = make_book(tmp_path, (1,))
    monkeypatch.setenv("CPOR_SMTP_PASSWORD", PASSWORD)
    result = CliRunner().invoke(
        main,
        ["send", str(book), "--smtp-host", server.host, "--smtp-port", str(server.port), "--user", USER,
         "--ca-file", str(server.ca_file)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1 sent, 0 already sent" in result.output
    assert [m.user for m in server.handler.messages] == [USER]

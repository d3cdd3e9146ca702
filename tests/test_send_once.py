"""Never twice: the send journal against real SMTP servers (aiosmtpd) that answer DATA slowly, drop the
connection after DATA, refuse some recipients, and against two copies of a workbook sending the same claims,
one after the other and at the same time; a full disk (a real tmpfs) stops the send before anything goes out."""

from __future__ import annotations

import email
import email.policy
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from smtp_server import Collector, smtp_server_fixture, tls_ca_fixture  # noqa: F401
from test_send import FakeClock, StartServer, journal, make_book, received, send, sent_on, settings, statuses

from cpor_excel.cli import main
from cpor_excel.mail.journal import DONE, UNKNOWN
from cpor_excel.mail.outbox import default_drafts_dir
from cpor_excel.mail.sending import SENT_LOG, SendResult


def copy_book(book: Path, name: str) -> Path:
    """A copy of the workbook and of its drafts folder under another name (what `run --out` leaves)."""
    other = book.with_name(name)
    shutil.copy(book, other)
    shutil.copytree(default_drafts_dir(book), default_drafts_dir(other))
    return other


def test_a_server_that_answers_data_too_late_is_never_sent_to_again_without_resend(
    tmp_path: Path, smtp_server: StartServer
) -> None:
    server = smtp_server(Collector(data_delay=1.5))
    book = make_book(tmp_path, (1,))
    report = send(book, settings(server, timeout=0.5))
    assert statuses(report) == [(2, "C1", "may-have-been-delivered")]
    assert "timed out" in report.results[0].detail and "--resend C1" in report.results[0].detail
    assert report.exit_code == 1 and sent_on(book) == [None]
    assert journal() == [("C1", "it@customer1.example", UNKNOWN)]

    server.handler.data_delay = 0
    again = send(book, settings(server))
    assert statuses(again) == [(2, "C1", "may-have-been-delivered")]  # not retried automatically
    assert len(server.handler.messages) == 1  # the slow server did keep it

    resent = send(book, settings(server), resend=frozenset({"C1"}))
    assert statuses(resent) == [(2, "C1", "sent")] and len(server.handler.messages) == 2
    assert sent_on(book) == ["2025-04-02 08:30 UTC"]
    assert journal() == [("C1", "it@customer1.example", UNKNOWN), ("C1", "it@customer1.example", DONE)]


def test_a_slow_answer_within_the_timeout_is_a_delivery(tmp_path: Path, smtp_server: StartServer) -> None:
    server = smtp_server(Collector(data_delay=0.3))
    book = make_book(tmp_path, (1, 2))
    report = send(book, settings(server, timeout=5))
    assert statuses(report) == [(2, "C1", "sent"), (3, "C2", "sent")]


def test_a_connection_dropped_after_data_is_not_retried_and_the_rest_go_on(
    tmp_path: Path, smtp_server: StartServer
) -> None:
    server = smtp_server(Collector(drop_after_data=1))
    book = make_book(tmp_path, (1, 2))
    clock = FakeClock()
    report = send(book, settings(server), clock)
    assert statuses(report) == [(2, "C1", "may-have-been-delivered"), (3, "C2", "sent")]
    assert clock.sleeps == []  # no retry of a message the server may have kept
    assert [m.rcpt_tos for m in server.handler.messages] == [
        ["it@customer1.example"],
        ["it@customer2.example"],
    ]
    assert sent_on(book) == [None, "2025-04-02 08:30 UTC"]
    assert [state for _, _, state in journal()] == [UNKNOWN, DONE]


def test_some_recipients_refused_the_others_get_it_and_a_resend_goes_to_all(
    tmp_path: Path, smtp_server: StartServer
) -> None:
    server = smtp_server(Collector(reject=frozenset({"boss@customer1.example"})))
    book = make_book(tmp_path, (1,))
    draft = next(default_drafts_dir(book).glob("*.eml"))
    draft.write_bytes(
        draft.read_bytes().replace(b"\r\nSubject:", b"\r\nCc: boss@customer1.example\r\nSubject:", 1)
    )
    report = send(book, settings(server))
    assert statuses(report) == [(2, "C1", "sent")]
    assert report.results[0].detail == "refused: boss@customer1.example (550 5.1.1 mailbox unavailable)"
    assert [m.rcpt_tos for m in server.handler.messages] == [["it@customer1.example"]]
    assert journal() == [("C1", "it@customer1.example", DONE)]  # the refused one is not journalled as sent


def test_two_copies_of_a_workbook_send_each_claim_once(tmp_path: Path, smtp_server: StartServer) -> None:
    server = smtp_server()
    book = make_book(tmp_path)
    copy = copy_book(book, "partner renamed.xlsx")
    first = send(book, settings(server))
    assert [r.status for r in first.results] == ["sent"] * 3
    second = send(copy, settings(server))
    assert [r.status for r in second.results] == ["already-sent"] * 3
    assert all("partner.xlsx (send journal)" in r.detail for r in second.results)
    assert len(server.handler.messages) == 3
    assert sent_on(copy) == sent_on(book) == ["2025-04-02 08:30 UTC"] * 3


def test_two_copies_sending_at_the_same_time_deliver_each_claim_once(
    tmp_path: Path, smtp_server: StartServer
) -> None:
    server = smtp_server(Collector(data_delay=0.2))
    book = make_book(tmp_path, (1, 2, 3, 4))
    copy = copy_book(book, "copy.xlsx")
    reports: dict[str, list[str]] = {}
    go = threading.Barrier(2)

    def run(path: Path) -> None:
        go.wait()
        reports[path.name] = [r.status for r in send(path, settings(server)).results]

    threads = [threading.Thread(target=run, args=(path,)) for path in (book, copy)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    delivered = sorted(r for m in server.handler.messages for r in m.rcpt_tos)
    assert delivered == [f"it@customer{n}.example" for n in (1, 2, 3, 4)]  # each exactly once
    statuses_ = reports["partner.xlsx"] + reports["copy.xlsx"]
    assert statuses_.count("sent") == 4
    assert set(statuses_) <= {"sent", "already-sent", "may-have-been-delivered"}


def test_the_date_header_is_the_moment_of_sending_and_the_draft_keeps_its_own(
    tmp_path: Path, smtp_server: StartServer
) -> None:
    server = smtp_server()
    book = make_book(tmp_path, (1,))
    draft = next(default_drafts_dir(book).glob("*.eml"))
    before = draft.read_bytes()
    send(book, settings(server))
    assert received(server.handler.messages[0])["Date"] == "Wed, 02 Apr 2025 08:30:00 +0000"  # FakeClock
    kept = email.message_from_bytes(before, policy=email.policy.default)
    assert kept["Date"] == "Tue, 01 Apr 2025 09:00:00 +0000" and draft.read_bytes() == before


def test_claims_in_a_sent_log_of_an_older_version_are_not_sent_again(
    tmp_path: Path, smtp_server: StartServer
) -> None:
    server = smtp_server()
    book = make_book(tmp_path, (1, 2))
    first = next(iter(sorted(default_drafts_dir(book).glob("*.eml"))))
    message_id = email.message_from_bytes(first.read_bytes(), policy=email.policy.default)["Message-ID"]
    line = {"message_id": message_id, "claim_id": "C?", "sent_at": "2025-03-30T10:00:00+00:00"}
    (default_drafts_dir(book) / SENT_LOG).write_text(json.dumps(line) + "\n{torn", "utf-8")
    report = send(book, settings(server))
    by_claim = {r.claim_id: r.status for r in report.results}
    sent_claim = next(c for c, s in by_claim.items() if s == "sent")
    assert sorted(by_claim.values()) == ["already-sent", "sent"] and len(server.handler.messages) == 1
    assert sorted(c for c, _, state in journal() if state == DONE) == sorted(by_claim)  # the journal has both
    assert sent_claim != next(c for c, s in by_claim.items() if s == "already-sent")


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def start(self, total: int) -> None:
        self.events.append(("start", total))

    def waiting(self, seconds: float) -> None:
        self.events.append(("waiting", seconds))

    def done(self, result: SendResult) -> None:
        self.events.append(("done", result.claim_id))


def test_progress_is_reported_per_message_and_while_throttled(
    tmp_path: Path, smtp_server: StartServer
) -> None:
    server = smtp_server()
    book = make_book(tmp_path)
    recorder = Recorder()
    send(book, settings(server), max_per_minute=30, progress=recorder)
    assert recorder.events == [
        ("start", 3), ("done", "C1"), ("waiting", 2.0), ("done", "C2"), ("waiting", 2.0), ("done", "C3"),
    ]  # fmt: skip


def test_cli_shows_progress_and_says_what_may_have_been_delivered(
    tmp_path: Path, smtp_server: StartServer
) -> None:
    server = smtp_server(Collector(drop_after_data=1))
    book = make_book(tmp_path, (1, 2))
    args = ["send", str(book), "--smtp-host", server.host, "--smtp-port", str(server.port), "--plain"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "Sending" in result.stderr and "2/2" in result.stderr
    assert "1 may have been delivered" in result.stdout and "--resend CLAIM" in result.stdout

    unknown = CliRunner().invoke(main, [*args, "--resend", "C9"])
    assert unknown.exit_code == 2 and "--resend C9: no row of the Consent Drafts sheet" in unknown.stderr
    again = CliRunner().invoke(main, [*args, "--resend", "C1", "--json"])
    assert again.exit_code == 0, again.output
    assert [(r["claim_id"], r["status"]) for r in json.loads(again.stdout)["results"]] == [("C1", "sent")]
    assert len(server.handler.messages) == 3


def test_cli_an_unreachable_server_is_one_error_line_and_exit_3(tmp_path: Path) -> None:
    from smtp_server import free_port

    book = make_book(tmp_path, (1,))
    result = CliRunner().invoke(
        main, ["send", str(book), "--smtp-host", "127.0.0.1", "--smtp-port", str(free_port()), "--plain"]
    )
    assert result.exit_code == 3
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("Error: Cannot reach the SMTP server: cannot connect to 127.0.0.1")
    assert sum(line.startswith("Error:") for line in lines) == 1 and "Traceback" not in result.output


def _unshare_usable() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--mount", "--map-root-user", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True,
    )
    return probe.returncode == 0


@pytest.mark.parametrize("journal_exists", [False, True])
def test_a_full_disk_while_journalling_sends_nothing_and_exits_3(
    tmp_path: Path, smtp_server: StartServer, journal_exists: bool
) -> None:
    """The data folder is a 256 KiB tmpfs (in a mount namespace of its own), filled up before `send` runs:
    ENOSPC as on a real full disk."""
    if not _unshare_usable():
        pytest.skip("unshare cannot mount a tmpfs here")
    server = smtp_server()
    book = make_book(tmp_path, (1, 2))
    data = tmp_path / "full"
    data.mkdir()
    prepare = ""
    if journal_exists:  # an earlier send made the journal: it exists, but cannot grow
        prepare = f"{sys.executable} -c 'from cpor_excel.mail.journal import SendJournal; SendJournal().close()' && "
    script = (
        f'mount -t tmpfs -o size=256k tmpfs "{data}" && {prepare}'
        f'(dd if=/dev/zero of="{data}/filler" bs=4096 2>/dev/null; true) && '
        f'exec {sys.executable} -m cpor_excel send "{book}" --smtp-host {server.host} '
        f"--smtp-port {server.port} --plain"
    )
    env = {**os.environ, "CPOR_DATA_DIR": str(data)}
    done = subprocess.run(
        ["unshare", "--mount", "--map-root-user", "sh", "-c", script], capture_output=True, text=True, env=env
    )
    assert done.returncode == 3, done.stderr
    assert (
        done.stderr.startswith("Error: The send journal ") and "nothing is sent that cannot be" in done.stderr
    )
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert server.handler.messages == [] and sent_on(book) == [None, None]


def test_a_send_killed_before_its_reply_was_recorded_reads_as_maybe_delivered(
    tmp_path: Path, smtp_server: StartServer
) -> None:
    from cpor_excel.mail.journal import SMTP, Mail, SendJournal

    server = smtp_server()
    book = make_book(tmp_path, (1, 2))
    with SendJournal() as opened:  # what a process killed between its journal entry and the reply leaves
        opened.begin(
            Mail("C2", "<x@partner.example>", SMTP, "mail:587", "other.xlsx", "f.eml"),
            ["It@Customer2.example"],
        )
    report = send(book, settings(server))
    assert statuses(report) == [(2, "C1", "sent"), (3, "C2", "may-have-been-delivered")]
    assert (
        "a send started on 20" in report.results[1].detail and "from other.xlsx" in report.results[1].detail
    )
    assert [m.rcpt_tos for m in server.handler.messages] == [["it@customer1.example"]]


def test_a_name_with_line_breaks_never_becomes_a_header_when_sent(
    tmp_path: Path, smtp_server: StartServer
) -> None:
    server = smtp_server()
    book = make_book(tmp_path, (1,), contact_name="Casey\r\nBcc: spy@evil.example\nX-Injected: yes")
    report = send(book, settings(server))
    assert statuses(report) == [(2, "C1", "sent")]
    [message] = server.handler.messages
    assert message.rcpt_tos == ["it@customer1.example"]
    parsed = received(message)
    assert parsed["Bcc"] is None and parsed["X-Injected"] is None
    assert parsed["To"].addresses[0].display_name == "Casey Bcc: spy@evil.example X-Injected: yes"

"""`cpor-excel send`: deliver the drafts listed in a workbook's Consent Drafts sheet, each at most once.

The send journal (``journal.py``, in the user's data folder) is the guard: a claim's mail to a recipient is
journalled before it goes to the server and completed after the reply, so neither a repeated send, nor a copy
of the workbook or of its drafts folder, nor a message the server may have kept without answering, ever
delivers it twice. Sent On is filled from the journal too, so a send whose workbook update was lost (Excel
had the file open, the machine crashed) is simply run again. Only ``--resend CLAIM`` sends a claim again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Protocol

from cpor_excel.errors import CporError
from cpor_excel.io.book import CellValue
from cpor_excel.mail.drafts_sheet import (
    BookOpener,
    DraftProblem,
    DraftRow,
    DraftsSheet,
    check_resend,
    ensure_writable,
    envelope,
    load_draft,
    open_file_book,
    read_drafts_sheet,
    saving,
)
from cpor_excel.mail.journal import DONE, MAILBOX, PENDING, SMTP, UNKNOWN, Entry, Mail, SendJournal
from cpor_excel.mail.outbox import default_drafts_dir
from cpor_excel.mail.smtp import DeliveryFailed, DeliveryUnknown, RetryPolicy, SmtpSettings, SmtpTransport

#: written by versions before the journal, in the drafts folder; still read so nothing they sent goes again
SENT_LOG = "sent.log"

# a result's status
SENT = "sent"
ALREADY_SENT = "already-sent"  # the journal has it delivered (by any copy): Sent On filled now
WOULD_SEND = "would-send"  # --dry-run
FAILED = "failed"
MAYBE_SENT = "may-have-been-delivered"  # outcome unknown: sent again only with --resend
IN_MAILBOX = "in-mailbox"  # placed into a mailbox's Drafts by drafts-to-mailbox: sent from there
STATUSES = (SENT, ALREADY_SENT, WOULD_SEND, FAILED, MAYBE_SENT, IN_MAILBOX)


class Clock:
    """Time as `send` sees it; tests replace it to check throttling without waiting."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class Progress(Protocol):
    """Told what a send is doing, for a progress bar."""

    def start(self, total: int) -> None: ...

    def waiting(self, seconds: float) -> None: ...  # --max-per-minute pauses this long

    def done(self, result: SendResult) -> None: ...


class _Silent:
    def start(self, total: int) -> None:
        pass

    def waiting(self, seconds: float) -> None:
        pass

    def done(self, result: SendResult) -> None:
        pass


@dataclass
class SendResult:
    row: int  # Consent Drafts row
    claim_id: str
    to: str
    file: str
    status: str  # one of STATUSES
    message_id: str | None = None
    sent_at: str | None = None  # ISO time the server accepted it (or placed it, for in-mailbox)
    detail: str = ""


@dataclass
class SendReport:
    workbook: str
    drafts_dir: str
    dry_run: bool
    journal: str = ""
    results: list[SendResult] = field(default_factory=list)
    statuses: tuple[str, ...] = STATUSES  # the kinds of result this report counts

    def of(self, status: str) -> list[SendResult]:
        return [r for r in self.results if r.status == status]

    @property
    def exit_code(self) -> int:
        """1 when a draft could not go out, or may have gone out without the server saying so, else 0."""
        return (
            1 if any(r.status == FAILED or r.status.startswith("may-have-been") for r in self.results) else 0
        )

    def counts(self) -> dict[str, int]:
        return {status: len(self.of(status)) for status in self.statuses}

    def to_dict(self) -> dict[str, Any]:
        return {
            "workbook": self.workbook,
            "drafts_dir": self.drafts_dir,
            "dry_run": self.dry_run,
            "journal": self.journal,
            "counts": self.counts(),
            "results": [asdict(r) for r in self.results],
        }


class Throttle:
    """At most ``per_minute`` messages a minute, spread evenly."""

    def __init__(self, per_minute: float | None, clock: Clock, progress: Progress | None = None) -> None:
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self.clock = clock
        self.progress = progress or _Silent()
        self._last: float | None = None

    def wait(self) -> None:
        if self.interval and self._last is not None:
            pause = self._last + self.interval - self.clock.monotonic()
            if pause > 0:
                self.progress.waiting(pause)
                self.clock.sleep(pause)
        self._last = self.clock.monotonic()


def send_drafts(
    book_path: str | Path,
    drafts_dir: str | Path | None = None,
    smtp: SmtpSettings | None = None,
    *,
    dry_run: bool = False,
    max_per_minute: float | None = None,
    retry: RetryPolicy | None = None,
    resend: frozenset[str] = frozenset(),
    journal_dir: Path | None = None,
    progress: Progress | None = None,
    open_book: BookOpener | None = None,
    clock: Clock | None = None,
) -> SendReport:
    """Send every draft of BOOK's Consent Drafts sheet that has no Sent On yet, then fill Sent On.

    ``smtp`` may be None only with ``dry_run``. ``resend`` names claims to send again even when sent (or
    maybe sent) before. ``journal_dir``: the journal's folder (default: the user's data folder).
    Raises CporError when the workbook cannot be read or saved, the server cannot be reached, the login
    is refused, or the journal cannot be written.
    """
    book_path = Path(book_path)
    folder = Path(drafts_dir) if drafts_dir is not None else default_drafts_dir(book_path)
    if smtp is None and not dry_run:
        raise CporError("No SMTP server given: pass --smtp-host (or --dry-run to list what would be sent).")
    if not dry_run:
        ensure_writable(book_path)
    report = SendReport(workbook=str(book_path), drafts_dir=str(folder), dry_run=dry_run)
    with drafts_session(book_path, report, resend, journal_dir, open_book) as (sheet, journal, fills, stack):
        sender = _Sender(book_path, folder, sheet, journal, smtp, fills, clock or Clock(), resend)
        sender.transport = None if dry_run or smtp is None else SmtpTransport(smtp, retry, sender.clock.sleep)
        if sender.transport is not None:
            stack.callback(sender.transport.close)
        sender.throttle = Throttle(max_per_minute, sender.clock, progress)
        todo = [r for r in sheet.rows if not (r.sent_on or r.in_mailbox_on) or r.claim_id in resend]
        for item in sheet.rows:
            if item.in_mailbox_on and not item.sent_on and item.claim_id not in resend:
                report.results.append(_in_mailbox(item, item.in_mailbox_on))
        progress = progress or _Silent()
        progress.start(len(todo))
        for item in todo:
            result = SendResult(item.row, item.claim_id, item.to, item.file, FAILED)
            report.results.append(result)
            sender.send(item, result)
            progress.done(result)
    report.results.sort(key=lambda r: r.row)
    return report


@contextlib.contextmanager
def drafts_session(
    book_path: Path,
    report: SendReport,
    resend: frozenset[str],
    journal_dir: Path | None,
    open_book: BookOpener | None,
) -> Iterator[tuple[DraftsSheet, SendJournal | None, dict[tuple[int, int], CellValue], contextlib.ExitStack]]:
    """What `send` and `drafts-to-mailbox` work in: the workbook open, its Consent Drafts sheet read, the
    journal open, and the date cells they fill (saved when the block ends, also after an error)."""
    with contextlib.ExitStack() as stack:
        book = stack.enter_context((open_book or open_file_book)(book_path))
        sheet = read_drafts_sheet(book, book_path)
        check_resend(sheet, resend, book_path)
        journal = open_journal(journal_dir, report.dry_run, stack)
        report.journal = str(journal.path) if journal else ""
        fills: dict[tuple[int, int], CellValue] = {}
        if not report.dry_run:
            stack.enter_context(saving(book, sheet, fills))
        yield sheet, journal, fills, stack


def open_journal(folder: Path | None, dry_run: bool, stack: contextlib.ExitStack) -> SendJournal | None:
    """The journal; a dry run reads it when it exists and never creates it."""
    if dry_run:
        probe = SendJournal.existing(folder)
        return stack.enter_context(probe) if probe is not None else None
    return stack.enter_context(SendJournal(folder))


@dataclass
class _Sender:
    """One send's state: what each draft row needs done, and doing it."""

    book_path: Path
    folder: Path
    sheet: DraftsSheet
    journal: SendJournal | None
    smtp: SmtpSettings | None
    fills: dict[tuple[int, int], CellValue]
    clock: Clock
    resend: frozenset[str]
    transport: SmtpTransport | None = None
    throttle: Throttle | None = None
    _connected: bool = False
    _legacy: dict[str, str] | None = None

    def send(self, item: DraftRow, result: SendResult) -> None:
        draft = read_draft(self.folder, item, result)
        if draft is None:
            return
        message, sender, recipients = draft
        resending = item.claim_id in self.resend
        todo = recipients if resending else self._not_yet_sent(item, result, recipients)
        if not todo:
            return
        if self.transport is None:
            result.status, result.detail = WOULD_SEND, "dry run: not sent"
            return
        assert self.journal is not None and self.smtp is not None and self.throttle is not None
        self._connect()
        self.throttle.wait()
        data = _as_sent(message, self.clock.now())
        mail = Mail(
            item.claim_id, result.message_id or "", SMTP, self.smtp.address, str(self.book_path), item.file
        )
        taken = self.journal.begin(mail, todo, resend=resending)
        if not taken:  # another send took them since they were looked up
            self._not_yet_sent(item, result, recipients)
            return
        try:
            refused = self.transport.deliver(data, sender, list(taken))
        except DeliveryFailed as failure:
            self.journal.cancel(taken.values())
            if failure.unreachable:
                raise _unreachable(self.smtp, str(failure)) from None
            result.detail = str(failure)
            return
        except DeliveryUnknown as lost:
            when = self.clock.now().isoformat()
            self.journal.finish(taken.values(), UNKNOWN, str(lost), when=when)
            result.status, result.sent_at = MAYBE_SENT, when
            result.detail = (
                f"the server did not answer after the whole message was sent ({lost}): it may have been "
                f"delivered; check your Sent Items or ask the recipient, and send it again only with "
                f"--resend {item.claim_id}"
            )
            return
        sent_at = self.clock.now().isoformat()
        self.journal.finish([i for r, i in taken.items() if r not in refused], DONE, when=sent_at)
        self.journal.cancel([i for r, i in taken.items() if r in refused])
        result.status, result.sent_at = SENT, sent_at
        if refused:
            result.detail = "refused: " + "; ".join(f"{a} ({r})" for a, r in refused.items())
        self.sheet.record(self.fills, item.row, self.sheet.sent_on_column, sent_at)

    def _not_yet_sent(self, item: DraftRow, result: SendResult, recipients: list[str]) -> list[str]:
        """The recipients this claim's mail has not gone to yet; when none, ``result`` says where it went."""
        legacy = self._legacy_log().get(result.message_id or "")
        if legacy is not None:
            self._adopt_legacy(item, result, recipients, legacy)
            return []
        if self.journal is None:
            return recipients
        entries = {r: self.journal.entry(item.claim_id, r) for r in recipients}
        todo = [r for r, e in entries.items() if e is None]
        found = [e for e in entries.values() if e is not None]
        if todo or not found:
            return todo
        maybe = [e for e in found if e.state in (PENDING, UNKNOWN)]
        placed = [e for e in found if e.channel == MAILBOX]
        if maybe:
            result.status, result.sent_at = MAYBE_SENT, maybe[0].when
            result.detail = maybe_detail(maybe[0], item.claim_id)
        elif placed:
            result.status, result.sent_at = IN_MAILBOX, placed[0].when
            result.detail = _in_mailbox(item, placed[0].when, placed[0]).detail
            self.sheet.record(self.fills, item.row, self.sheet.in_mailbox_column, placed[0].when)
        else:
            when = max(e.when for e in found)
            result.status, result.sent_at = ALREADY_SENT, when
            result.detail = (
                f"delivered {short_time(when)} from {found[0].workbook} (send journal); Sent On filled now"
            )
            self.sheet.record(self.fills, item.row, self.sheet.sent_on_column, when)
        return []

    def _adopt_legacy(self, item: DraftRow, result: SendResult, recipients: list[str], sent_at: str) -> None:
        result.status, result.sent_at = ALREADY_SENT, sent_at
        result.detail = "delivered by an earlier send (sent.log); Sent On filled now"
        self.sheet.record(self.fills, item.row, self.sheet.sent_on_column, sent_at)
        if self.journal is not None and self.transport is not None:  # the journal guards it from now on
            mail = Mail(item.claim_id, result.message_id or "", SMTP, "", str(self.book_path), item.file)
            self.journal.finish(self.journal.begin(mail, recipients).values(), DONE, "sent.log", sent_at)

    def _legacy_log(self) -> dict[str, str]:
        if self._legacy is None:
            self._legacy = read_sent_log(self.folder / SENT_LOG)
        return self._legacy

    def _connect(self) -> None:
        if self._connected or self.transport is None or self.smtp is None:
            return
        try:
            self.transport.connect()
        except DeliveryFailed as failure:
            raise _unreachable(self.smtp, str(failure)) from None
        self._connected = True


def read_draft(
    folder: Path, item: DraftRow, result: SendResult
) -> tuple[EmailMessage, str, list[str]] | None:
    """(message, sender, recipients) of the draft a row names, its Message-ID and recipients noted in
    ``result``; None with ``result.detail`` saying why when it cannot be used."""
    try:
        message = load_draft(folder, item)
    except DraftProblem as why:
        result.detail = str(why)
        return None
    result.message_id = str(message["Message-ID"])
    sender, recipients = envelope(message)
    result.to = ", ".join(recipients) or item.to
    if not recipients:
        result.detail = f"{item.file} names no recipient; correct its To header"
        return None
    return message, sender, recipients


def read_sent_log(path: Path) -> dict[str, str]:
    """Message-ID -> sent_at from a ``sent.log`` of an older version (JSON lines; a torn line skipped)."""
    delivered: dict[str, str] = {}
    try:
        lines = path.read_text("utf-8", errors="replace").splitlines()
    except OSError:
        return delivered
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("message_id"), str):
            delivered.setdefault(record["message_id"], str(record.get("sent_at", "")))
    return delivered


def _as_sent(message: EmailMessage, now: dt.datetime) -> bytes:
    """The message as it goes out: Date is the moment of sending (a draft keeps the as-of date until
    then), Bcc is not shown to the recipients, lines end in CRLF."""
    del message["Date"]
    message["Date"] = format_datetime(now.astimezone(dt.timezone.utc))
    del message["Bcc"]
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def _in_mailbox(item: DraftRow, when: str, entry: Entry | None = None) -> SendResult:
    where = f" of {entry.server}" if entry is not None and entry.server else ""
    return SendResult(
        item.row,
        item.claim_id,
        item.to,
        item.file,
        IN_MAILBOX,
        sent_at=when,
        detail=f"placed in the Drafts folder{where} {short_time(when)} (drafts-to-mailbox): send it from "
        f"there, or here with --resend {item.claim_id}",
    )


def maybe_detail(entry: Entry, claim_id: str) -> str:
    how = (
        f"the server did not answer after it was sent {short_time(entry.when)} ({entry.detail})"
        if entry.state == UNKNOWN
        else f"a send started {short_time(entry.when)} from {entry.workbook} did not record how it ended"
    )
    return (
        f"{how}: it may have been delivered; check your Sent Items or ask the recipient, and send it again "
        f"only with --resend {claim_id}"
    )


def short_time(when: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(when)
    except ValueError:
        return f"on {when}"
    return moment.astimezone(dt.timezone.utc).strftime("on %Y-%m-%d at %H:%M UTC")


def _unreachable(smtp: SmtpSettings, reason: str) -> CporError:
    return CporError(
        f"Cannot reach the SMTP server: {reason}; check --smtp-host, --smtp-port and the network, then run "
        "send again (what went out is recorded; nothing goes out twice)."
    )

"""`cpor-excel drafts-to-mailbox`: put each consent draft not yet sent into the mailbox's Drafts folder, where
Outlook (or any mail program) shows it to review and send, and record it in the Consent Drafts sheet (In
Mailbox On).

The send journal guards it as it guards `send`: a claim's draft is placed once, whatever copy of the workbook
or drafts folder it comes from, and a claim already sent is not placed; only ``--resend CLAIM`` places one
again. The draft keeps its own Date header (Outlook sets the date when the partner sends it).
"""

from __future__ import annotations

from pathlib import Path

from cpor_excel.errors import CporError
from cpor_excel.io.book import CellValue
from cpor_excel.mail.drafts_sheet import (
    BookOpener,
    DraftRow,
    DraftsSheet,
    ensure_writable,
)
from cpor_excel.mail.imap import ImapSettings, MailboxTransport
from cpor_excel.mail.journal import DONE, MAILBOX, PENDING, UNKNOWN, Mail, SendJournal
from cpor_excel.mail.outbox import default_drafts_dir
from cpor_excel.mail.sending import (
    ALREADY_SENT,
    FAILED,
    Clock,
    Progress,
    SendReport,
    SendResult,
    drafts_session,
    maybe_detail,
    read_draft,
    short_time,
)
from cpor_excel.mail.smtp import DeliveryFailed, DeliveryUnknown

PLACED = "placed"
ALREADY_PLACED = "already-placed"  # the journal has it in a mailbox (by any copy): In Mailbox On filled now
WOULD_PLACE = "would-place"  # --dry-run
MAYBE_PLACED = "may-have-been-placed"  # the answer to APPEND was lost: placed again only with --resend
STATUSES = (PLACED, ALREADY_PLACED, ALREADY_SENT, WOULD_PLACE, FAILED, MAYBE_PLACED)


def drafts_to_mailbox(
    book_path: str | Path,
    drafts_dir: str | Path | None = None,
    imap: ImapSettings | None = None,
    *,
    dry_run: bool = False,
    resend: frozenset[str] = frozenset(),
    journal_dir: Path | None = None,
    progress: Progress | None = None,
    open_book: BookOpener | None = None,
    clock: Clock | None = None,
) -> SendReport:
    """Place every draft of BOOK's Consent Drafts sheet that has neither Sent On nor In Mailbox On into the
    mailbox's Drafts folder, then fill In Mailbox On. ``imap`` may be None only with ``dry_run``.
    Raises CporError when the workbook cannot be read or saved, the server cannot be reached, the login is
    refused, the mailbox has no Drafts folder, or the journal cannot be written."""
    book_path = Path(book_path)
    folder = Path(drafts_dir) if drafts_dir is not None else default_drafts_dir(book_path)
    if imap is None and not dry_run:
        raise CporError("No IMAP server given: pass --imap-host (or --dry-run to list what would be placed).")
    if not dry_run:
        ensure_writable(book_path)
    report = SendReport(workbook=str(book_path), drafts_dir=str(folder), dry_run=dry_run, statuses=STATUSES)
    with drafts_session(book_path, report, resend, journal_dir, open_book) as (sheet, journal, fills, stack):
        placer = _Placer(book_path, folder, sheet, journal, fills, clock or Clock(), resend)
        if imap is not None and not dry_run:
            placer.transport = MailboxTransport(imap)
            stack.callback(placer.transport.close)
        todo = [r for r in sheet.rows if not (r.sent_on or r.in_mailbox_on) or r.claim_id in resend]
        if progress is not None:
            progress.start(len(todo))
        for item in todo:
            result = SendResult(item.row, item.claim_id, item.to, item.file, FAILED)
            report.results.append(result)
            placer.place(item, result)
            if progress is not None:
                progress.done(result)
    return report


class _Placer:
    def __init__(
        self,
        book_path: Path,
        folder: Path,
        sheet: DraftsSheet,
        journal: SendJournal | None,
        fills: dict[tuple[int, int], CellValue],
        clock: Clock,
        resend: frozenset[str],
    ) -> None:
        self.book_path, self.folder, self.sheet, self.journal = book_path, folder, sheet, journal
        self.fills, self.clock, self.resend = fills, clock, resend
        self.transport: MailboxTransport | None = None
        self._connected = False

    def place(self, item: DraftRow, result: SendResult) -> None:
        draft = read_draft(self.folder, item, result)
        if draft is None:
            return
        message, _, recipients = draft
        resending = item.claim_id in self.resend
        if not resending and self._done_before(item, result, recipients):
            return
        if self.transport is None:
            result.status, result.detail = WOULD_PLACE, "dry run: not placed"
            return
        assert self.journal is not None
        self._connect()
        mail = Mail(
            item.claim_id,
            result.message_id or "",
            MAILBOX,
            self.transport.where,
            str(self.book_path),
            item.file,
        )
        taken = self.journal.begin(mail, recipients, resend=resending)
        if len(taken) < len(recipients):  # another run took it since it was looked up
            self.journal.cancel(taken.values())
            self._done_before(item, result, recipients)
            return
        try:
            self.transport.append(message.as_bytes(policy=message.policy.clone(linesep="\r\n")))
        except DeliveryFailed as failure:
            self.journal.cancel(taken.values())
            if failure.unreachable:
                raise _unreachable(str(failure)) from None
            result.detail = str(failure)
            return
        except DeliveryUnknown as lost:
            when = self.clock.now().isoformat()
            self.journal.finish(taken.values(), UNKNOWN, str(lost), when=when)
            result.status, result.sent_at = MAYBE_PLACED, when
            result.detail = (
                f"the server did not answer after the whole draft was sent ({lost}): it may be in the Drafts "
                f"folder; look there, and place it again only with --resend {item.claim_id}"
            )
            return
        when = self.clock.now().isoformat()
        self.journal.finish(taken.values(), DONE, when=when)
        result.status, result.sent_at = PLACED, when
        result.detail = f"in {self.transport.where}"
        self.sheet.record(self.fills, item.row, self.sheet.in_mailbox_column, when)

    def _done_before(self, item: DraftRow, result: SendResult, recipients: list[str]) -> bool:
        """True when the journal has this claim's mail sent, placed or maybe either: ``result`` says which."""
        if self.journal is None:
            return False
        found = [e for e in (self.journal.entry(item.claim_id, r) for r in recipients) if e is not None]
        if not found:
            return False
        maybe = [e for e in found if e.state in (PENDING, UNKNOWN)]
        sent = [e for e in found if e.channel != MAILBOX]
        if maybe:
            result.status, result.sent_at = MAYBE_PLACED, maybe[0].when
            result.detail = maybe_detail(maybe[0], item.claim_id)
        elif sent:
            result.status, result.sent_at = ALREADY_SENT, sent[0].when
            result.detail = f"sent {short_time(sent[0].when)} (send journal): not placed; Sent On filled now"
            self.sheet.record(self.fills, item.row, self.sheet.sent_on_column, sent[0].when)
        else:
            result.status, result.sent_at = ALREADY_PLACED, found[0].when
            result.detail = (
                f"placed in {found[0].server} {short_time(found[0].when)}; In Mailbox On filled now"
            )
            self.sheet.record(self.fills, item.row, self.sheet.in_mailbox_column, found[0].when)
        return True

    def _connect(self) -> None:
        if self._connected or self.transport is None:
            return
        try:
            self.transport.connect()
        except DeliveryFailed as failure:
            raise _unreachable(str(failure)) from None
        self._connected = True


def _unreachable(reason: str) -> CporError:
    return CporError(
        f"Cannot reach the IMAP server: {reason}; check --imap-host, --imap-port and the network, then run "
        "again (what was placed is recorded; nothing is placed twice)."
    )

"""`cpor-excel send`: deliver the drafts listed in a workbook's Consent Drafts sheet, exactly once.

Every delivery is appended to ``sent.log`` in the drafts folder (JSON lines, flushed and fsynced) the
moment the server accepts it, and that log is read before anything is sent. So a send that is
interrupted, or whose workbook update is lost (Excel had the file open, the machine crashed), is simply
run again: it delivers nothing twice and fills the missing Sent On cells from the log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Any, Protocol

import filelock

from cpor_excel.errors import CporError
from cpor_excel.io.book import CellValue
from cpor_excel.mail.outbox import default_drafts_dir, is_plain_file_name
from cpor_excel.mail.smtp import DeliveryFailed, RetryPolicy, SmtpSettings, SmtpTransport
from cpor_excel.model.catalogue import fold
from cpor_excel.model.columns import DRAFTS_SHEET

SENT_LOG = "sent.log"
LOCK_WAIT_SECONDS = 10.0  # how long a send waits for another send on the same drafts folder

# a result's status
SENT = "sent"
ALREADY_SENT = "already-sent"  # found in the sent log: delivered by an earlier send, Sent On filled now
WOULD_SEND = "would-send"  # --dry-run
FAILED = "failed"


class DraftsBook(Protocol):
    """What `send` needs of a workbook (``FileBook`` has it)."""

    def sheet_names(self) -> list[str]: ...

    def read_rows(self, sheet: str) -> list[list[Any]]: ...

    def set_cells(self, sheet: str, cells: Mapping[tuple[int, int], CellValue]) -> None: ...

    def save(self) -> None: ...


BookOpener = Callable[[Path], AbstractContextManager[DraftsBook]]


class Clock:
    """Time as `send` sees it; tests replace it to check throttling without waiting."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass
class SendResult:
    row: int  # Consent Drafts row
    claim_id: str
    to: str
    file: str
    status: str  # sent, already-sent, would-send, failed
    message_id: str | None = None
    sent_at: str | None = None  # ISO time the server accepted it
    detail: str = ""


@dataclass
class SendReport:
    workbook: str
    drafts_dir: str
    dry_run: bool
    results: list[SendResult] = field(default_factory=list)

    def of(self, status: str) -> list[SendResult]:
        return [r for r in self.results if r.status == status]

    @property
    def exit_code(self) -> int:
        """1 when any draft could not be sent, else 0."""
        return 1 if self.of(FAILED) else 0

    def counts(self) -> dict[str, int]:
        return {status: len(self.of(status)) for status in (SENT, ALREADY_SENT, WOULD_SEND, FAILED)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "workbook": self.workbook,
            "drafts_dir": self.drafts_dir,
            "dry_run": self.dry_run,
            "counts": self.counts(),
            "results": [asdict(r) for r in self.results],
        }


class SentLog:
    """Append-only record of delivered messages, keyed by Message-ID."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, dict[str, Any]]:
        """Message-ID -> its delivery record. A torn last line (a crash while writing) is skipped."""
        if not self.path.exists():
            return {}
        delivered: dict[str, dict[str, Any]] = {}
        with self.path.open("r", encoding="utf-8", errors="replace") as log:
            for line in log:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and isinstance(record.get("message_id"), str):
                    delivered.setdefault(record["message_id"], record)
        return delivered

    def record(self, **entry: Any) -> dict[str, Any]:
        """Append one delivery and make it durable before returning."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True)
        with self.path.open("a", encoding="utf-8", newline="\n") as log:
            log.write(line + "\n")
            log.flush()
            os.fsync(log.fileno())
        return entry


class Throttle:
    """At most ``per_minute`` messages a minute, spread evenly."""

    def __init__(self, per_minute: float | None, clock: Clock) -> None:
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self.clock = clock
        self._last: float | None = None

    def wait(self) -> None:
        if self.interval and self._last is not None:
            pause = self._last + self.interval - self.clock.monotonic()
            if pause > 0:
                self.clock.sleep(pause)
        self._last = self.clock.monotonic()


@dataclass
class _Pending:
    row: int
    claim_id: str
    to: str
    file: str


def send_drafts(
    book_path: str | Path,
    drafts_dir: str | Path | None = None,
    smtp: SmtpSettings | None = None,
    *,
    dry_run: bool = False,
    max_per_minute: float | None = None,
    retry: RetryPolicy | None = None,
    open_book: BookOpener | None = None,
    clock: Clock | None = None,
) -> SendReport:
    """Send every draft of BOOK's Consent Drafts sheet that has no Sent On yet, then fill Sent On.

    ``smtp`` may be None only with ``dry_run``. ``open_book`` opens the workbook (default: FileBook).
    Raises CporError when the workbook cannot be read or saved, or the SMTP settings are wrong.
    """
    book_path = Path(book_path)
    folder = Path(drafts_dir) if drafts_dir is not None else default_drafts_dir(book_path)
    clock = clock or Clock()
    if smtp is None and not dry_run:
        raise CporError("No SMTP server given: pass --smtp-host (or --dry-run to list what would be sent).")
    if not dry_run:
        _ensure_writable(book_path)
    report = SendReport(workbook=str(book_path), drafts_dir=str(folder), dry_run=dry_run)
    opener = open_book or _open_file_book
    with _send_lock(folder, dry_run), opener(book_path) as book:
        sheet, sent_on_col, pending = _pending_drafts(book, book_path)
        log = SentLog(folder / SENT_LOG)
        delivered = log.read()
        fills: dict[tuple[int, int], CellValue] = {}
        throttle = Throttle(max_per_minute, clock)
        transport = None if dry_run or smtp is None else SmtpTransport(smtp, retry, clock.sleep)
        unreachable = ""
        try:
            for item in pending:
                result = SendResult(item.row, item.claim_id, item.to, item.file, FAILED)
                report.results.append(result)
                if unreachable:
                    result.detail = f"not attempted: {unreachable}"
                    continue
                message = _load_draft(folder, item, result)
                if message is None:
                    continue
                result.message_id = str(message["Message-ID"])
                earlier = delivered.get(result.message_id)
                if earlier is not None:
                    result.status, result.sent_at = ALREADY_SENT, str(earlier.get("sent_at", ""))
                    result.detail = "delivered by an earlier send (sent.log); Sent On filled now"
                    fills[(item.row, sent_on_col)] = sent_on_text(result.sent_at)
                    continue
                if transport is None:
                    result.status, result.detail = WOULD_SEND, "dry run: not sent"
                    continue
                throttle.wait()
                try:
                    refused = transport.deliver(message, *_envelope(message))
                except DeliveryFailed as failure:
                    result.detail = str(failure)
                    if failure.unreachable:
                        unreachable = str(failure)
                    continue
                sent_at = clock.now().isoformat()
                delivered[result.message_id] = log.record(
                    message_id=result.message_id,
                    claim_id=item.claim_id,
                    to=result.to,
                    file=item.file,
                    sent_at=sent_at,
                )
                result.status, result.sent_at = SENT, sent_at
                if refused:
                    result.detail = "refused: " + "; ".join(f"{a} ({r})" for a, r in refused.items())
                fills[(item.row, sent_on_col)] = sent_on_text(sent_at)
        finally:
            if transport is not None:
                transport.close()
        if fills and not dry_run:
            book.set_cells(sheet, fills)
            _save(book, folder, len(fills))
    return report


def sent_on_text(sent_at: str | None) -> str:
    """The Sent On cell: ISO date and time in UTC, e.g. ``2025-04-07 09:12 UTC``."""
    if not sent_at:
        return ""
    try:
        when = dt.datetime.fromisoformat(sent_at)
    except ValueError:
        return sent_at
    if when.tzinfo is not None:
        when = when.astimezone(dt.timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M UTC")


def _pending_drafts(book: DraftsBook, book_path: Path) -> tuple[str, int, list[_Pending]]:
    """The Consent Drafts sheet's name, its Sent On column (0-based) and the rows not sent yet."""
    names = {fold(name): name for name in book.sheet_names()}
    sheet = names.get(fold(DRAFTS_SHEET))
    if sheet is None:
        raise CporError(
            f"{book_path.name} has no {DRAFTS_SHEET} sheet: run `cpor-excel run {book_path.name}` first "
            "to draft the consent emails."
        )
    rows = book.read_rows(sheet)
    header = [fold(v) if v is not None else "" for v in (rows[0] if rows else [])]
    columns = {name: i for i, name in reversed(list(enumerate(header))) if name}

    def col(name: str) -> int:
        found = columns.get(fold(name))
        if found is None:
            raise CporError(
                f"The {DRAFTS_SHEET} sheet of {book_path.name} has no {name} column; "
                f"restore its header row (Claim ID, Tenant ID, To, Subject, File, Created On, Sent On)."
            )
        return found

    file_col, sent_col, claim_col, to_col = col("File"), col("Sent On"), col("Claim ID"), col("To")
    pending = []
    for index, values in enumerate(rows[1:], start=2):  # Consent Drafts: one row per drafted claim

        def cell(i: int, values: list[Any] = values) -> str:
            value = values[i] if i < len(values) else None
            return "" if value is None else str(value).strip()

        if cell(file_col) and not cell(sent_col):
            pending.append(_Pending(index, cell(claim_col), cell(to_col), cell(file_col)))
    return sheet, sent_col, pending


def _load_draft(folder: Path, item: _Pending, result: SendResult) -> EmailMessage | None:
    """The draft's message as it will be sent (without X-Unsent), or None with ``result.detail`` set."""
    if not is_plain_file_name(item.file):
        result.detail = (
            f"File {item.file!r} is not a file name inside the drafts folder; correct the File cell"
        )
        return None
    path = folder / item.file
    try:
        if path.resolve().parent != folder.resolve():
            raise FileNotFoundError(path)
        data = path.read_bytes()
    except OSError:
        result.detail = f"draft file {path} not found; run `cpor-excel run` again or correct the File cell"
        return None
    message = email.message_from_bytes(data, policy=email.policy.default)
    if not isinstance(message, EmailMessage) or not message["Message-ID"] or not message["To"]:
        result.detail = f"{path.name} is not a draft email with To and Message-ID headers"
        return None
    del message["X-Unsent"]
    result.to = ", ".join(addr for _, addr in getaddresses(message.get_all("To", []))) or result.to
    return message


def _envelope(message: EmailMessage) -> tuple[str, list[str]]:
    senders = getaddresses(message.get_all("Sender", []) or message.get_all("From", []))
    recipients = getaddresses(
        [*message.get_all("To", []), *message.get_all("Cc", []), *message.get_all("Bcc", [])]
    )
    return (senders[0][1] if senders else ""), [addr for _, addr in recipients if addr]


@contextlib.contextmanager
def _send_lock(folder: Path, dry_run: bool) -> Iterator[None]:
    """Two sends on one drafts folder at once could both deliver a message: serialise them."""
    if dry_run:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(folder / f"{SENT_LOG}.lock"))
    try:
        lock.acquire(timeout=LOCK_WAIT_SECONDS)
    except filelock.Timeout:
        raise CporError(
            f"Another send is running on {folder} (its lock is held); wait for it to finish and try again."
        ) from None
    try:
        yield
    finally:
        lock.release()


def _save(book: DraftsBook, folder: Path, count: int) -> None:
    try:
        book.save()
    except CporError as err:
        raise type(err)(
            f"{err} The {count} deliveries are recorded in {folder / SENT_LOG}: run send again to fill "
            "Sent On (nothing is sent twice)."
        ) from None


def _ensure_writable(book_path: Path) -> None:
    """Fail before sending anything when Excel has the workbook open: Sent On could not be saved."""
    from cpor_excel.io.safe_save import ensure_writable

    ensure_writable(book_path)


def _open_file_book(path: Path) -> AbstractContextManager[DraftsBook]:
    from cpor_excel.io.file_book import FileBook

    return FileBook(path)

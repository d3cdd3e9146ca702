"""What `send` and `drafts-to-mailbox` share: the Consent Drafts sheet (which drafts are still to go, and the
cells that record where they went), the .eml files it names, and saving the workbook afterwards.

Columns are found by header, so a sheet whose columns were moved still works; **In Mailbox On** (filled by
`drafts-to-mailbox`) is added after the last header cell when a workbook written before it lacks it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Any, Protocol

from cpor_excel.errors import CporError, UsageError
from cpor_excel.io.book import CellValue
from cpor_excel.mail.outbox import is_plain_file_name
from cpor_excel.model.catalogue import fold
from cpor_excel.model.columns import DRAFTS_HEADER, DRAFTS_SHEET

SENT_ON = "Sent On"
IN_MAILBOX_ON = "In Mailbox On"


class DraftsBook(Protocol):
    """What `send` and `drafts-to-mailbox` need of a workbook (``FileBook`` has it)."""

    def sheet_names(self) -> list[str]: ...

    def read_rows(self, sheet: str) -> list[list[Any]]: ...

    def set_cells(self, sheet: str, cells: Mapping[tuple[int, int], CellValue]) -> None: ...

    def save(self) -> None: ...


BookOpener = Callable[[Path], AbstractContextManager[DraftsBook]]


@dataclass
class DraftRow:
    """One row of Consent Drafts (``row`` is the Excel row number)."""

    row: int
    claim_id: str
    to: str
    file: str
    sent_on: str
    in_mailbox_on: str


@dataclass
class DraftsSheet:
    """The Consent Drafts sheet of one workbook: its rows and where the tool's date cells are."""

    name: str
    rows: list[DraftRow]
    sent_on_column: int  # 0-based
    in_mailbox_column: int  # 0-based; may be a column the header row does not have yet
    has_in_mailbox: bool

    def claims(self) -> set[str]:
        return {r.claim_id for r in self.rows}

    def record(self, fills: dict[tuple[int, int], CellValue], row: int, column: int, when: str) -> None:
        """Put ``when`` (ISO) into a date cell, as the sheet shows it."""
        fills[(row, column)] = sent_on_text(when)
        if column == self.in_mailbox_column and not self.has_in_mailbox:
            fills[(1, column)] = IN_MAILBOX_ON


def read_drafts_sheet(book: DraftsBook, book_path: Path) -> DraftsSheet:
    """The Consent Drafts sheet's rows that name a draft file, or CporError when the sheet is missing."""
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
                f"restore its header row ({', '.join(DRAFTS_HEADER)})."
            )
        return found

    file_col, sent_col, claim_col, to_col = col("File"), col(SENT_ON), col("Claim ID"), col("To")
    mailbox_col = columns.get(fold(IN_MAILBOX_ON))
    last = max((i for i, name in enumerate(header) if name), default=-1)
    found: list[DraftRow] = []
    for index, values in enumerate(rows[1:], start=2):  # one row per drafted claim

        def cell(i: int | None, values: list[Any] = values) -> str:
            value = values[i] if i is not None and i < len(values) else None
            return "" if value is None else str(value).strip()

        if cell(file_col):
            found.append(
                DraftRow(
                    index, cell(claim_col), cell(to_col), cell(file_col), cell(sent_col), cell(mailbox_col)
                )
            )
    return DraftsSheet(
        name=sheet,
        rows=found,
        sent_on_column=sent_col,
        in_mailbox_column=mailbox_col if mailbox_col is not None else last + 1,
        has_in_mailbox=mailbox_col is not None,
    )


def check_resend(sheet: DraftsSheet, resend: frozenset[str], book_path: Path) -> None:
    """``--resend`` names claims of the sheet: a typo must not pass silently."""
    unknown = sorted(resend - sheet.claims())
    if unknown:
        raise UsageError(
            f"--resend {unknown[0]}: no row of the {DRAFTS_SHEET} sheet of {book_path.name} has that Claim ID."
        )


def sent_on_text(when: str | None) -> str:
    """A date cell: ISO date and time in UTC, e.g. ``2025-04-07 09:12 UTC``."""
    if not when:
        return ""
    try:
        moment = dt.datetime.fromisoformat(when)
    except ValueError:
        return when
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


class DraftProblem(Exception):
    """The draft a row names cannot be used; ``str()`` says why and what to do."""


def load_draft(folder: Path, item: DraftRow) -> EmailMessage:
    """The draft the row names, parsed (``X-Unsent`` dropped: the mail as it goes out), or DraftProblem."""
    if not is_plain_file_name(item.file):
        raise DraftProblem(
            f"File {item.file!r} is not a file name inside the drafts folder; correct the File cell"
        )
    path = folder / item.file
    try:
        if path.resolve().parent != folder.resolve():
            raise FileNotFoundError(path)
        data = path.read_bytes()
    except OSError:
        raise DraftProblem(
            f"draft file {path} not found; run `cpor-excel run` again or correct the File cell"
        ) from None
    message = email.message_from_bytes(data, policy=email.policy.default)
    if not isinstance(message, EmailMessage) or not message["Message-ID"] or not message["To"]:
        raise DraftProblem(f"{path.name} is not a draft email with To and Message-ID headers")
    if not item.claim_id:
        raise DraftProblem("the row has no Claim ID; restore it (the journal keys each mail by claim)")
    del message["X-Unsent"]
    return message


def envelope(message: EmailMessage) -> tuple[str, list[str]]:
    """(sender, recipients) of a message: From (or Sender), and To, Cc and Bcc."""
    senders = getaddresses(message.get_all("Sender", []) or message.get_all("From", []))
    recipients = getaddresses(
        [*message.get_all("To", []), *message.get_all("Cc", []), *message.get_all("Bcc", [])]
    )
    return (senders[0][1] if senders else ""), list(dict.fromkeys(addr for _, addr in recipients if addr))


def ensure_writable(book_path: Path) -> None:
    """Fail before anything goes out when Excel has the workbook open: its cells could not be saved."""
    from cpor_excel.io.safe_save import ensure_writable as check

    check(book_path)


def open_file_book(path: Path) -> AbstractContextManager[DraftsBook]:
    from cpor_excel.io.file_book import FileBook

    return FileBook(path)


@contextlib.contextmanager
def saving(book: DraftsBook, sheet: DraftsSheet, fills: dict[tuple[int, int], CellValue]) -> Iterator[None]:
    """Write ``fills`` into the sheet and save when the block ends, also when it ends in an error (what
    went out is recorded then too); a failed save says that the journal has it all."""
    failure: BaseException | None = None
    try:
        yield
    except BaseException as err:
        failure = err
        raise
    finally:
        if fills:
            try:
                book.set_cells(sheet.name, fills)
                book.save()
            except CporError as err:
                if failure is None:
                    raise type(err)(
                        f"{err} What went out is recorded in the send journal: run the command again to "
                        "fill the sheet (nothing goes out twice)."
                    ) from None

"""The send journal: one record per consent mail of a claim to a recipient, in the user's data folder, so a
claim's mail goes out (or into a mailbox's Drafts) at most once whatever copy of the workbook or of the
drafts folder it is sent from.

An entry is written *before* the message goes to the server (state ``pending``) and completed after the
server's reply: ``done`` when it accepted the message, removed when it definitely did not (a refusal, or a
connection lost before the end of the message), ``unknown`` when the connection was lost or timed out after
the whole message was sent, so the server may have kept it. A ``pending`` entry left by a process that was
killed reads like ``unknown``. Only ``--resend CLAIM`` sends a claim again whose entry is ``pending``,
``unknown`` or ``done``; the journal keeps the older entries as history.

SQLite (the standard library's): each change is one transaction, synchronous and durable before the server
is asked anything; ``begin`` checks and writes in one ``BEGIN IMMEDIATE`` transaction, so two sends at once
(two copies of a workbook, two machines sharing a profile) never both take a claim. Anything SQLite cannot
write (a full disk, a read-only folder) is a ``JournalError``: nothing is sent that cannot be journalled.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cpor_excel.errors import CporError

DATA_DIR_VARIABLE = "CPOR_DATA_DIR"
JOURNAL_FILE = "send-journal.sqlite3"
APP_NAME = "cpor-excel"
BUSY_SECONDS = 30.0  # how long a send waits for another one's transaction

# channels: how the mail went
SMTP = "smtp"  # delivered by `send`
MAILBOX = "mailbox"  # placed into a mailbox's Drafts by `drafts-to-mailbox`

# states of an entry
PENDING = "pending"
DONE = "done"
UNKNOWN = "unknown"
_BLOCKING = (PENDING, DONE, UNKNOWN)

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    claim_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    channel TEXT NOT NULL,
    state TEXT NOT NULL,
    message_id TEXT NOT NULL DEFAULT '',
    server TEXT NOT NULL DEFAULT '',
    workbook TEXT NOT NULL DEFAULT '',
    file TEXT NOT NULL DEFAULT '',
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT ''
)""",
    "CREATE INDEX IF NOT EXISTS deliveries_key ON deliveries (claim_id, recipient)",
)
_COLUMNS = "id, claim_id, recipient, channel, state, message_id, server, workbook, file, started_at, finished_at, detail"


class JournalError(CporError):
    """The journal cannot be read or written (exit 3); nothing more is sent."""


@dataclass(frozen=True)
class Entry:
    id: int
    claim_id: str
    recipient: str
    channel: str  # SMTP or MAILBOX
    state: str  # PENDING, DONE or UNKNOWN
    message_id: str
    server: str  # host:port, or the mailbox's host and folder
    workbook: str
    file: str
    started_at: str  # ISO, UTC
    finished_at: str
    detail: str

    @property
    def when(self) -> str:
        return self.finished_at or self.started_at


@dataclass(frozen=True)
class Mail:
    """What a journal entry says about the mail it guards."""

    claim_id: str
    message_id: str
    channel: str
    server: str
    workbook: str
    file: str


def data_dir() -> Path:
    """``CPOR_DATA_DIR`` when set, else the user's data folder for cpor-excel (platformdirs)."""
    override = os.environ.get(DATA_DIR_VARIABLE, "").strip()
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def recipient_key(address: str) -> str:
    return address.strip().lower()


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


class SendJournal:
    """The journal file in ``folder`` (default: ``data_dir()``), opened (and created) at once."""

    def __init__(self, folder: Path | None = None) -> None:
        self.path = (Path(folder) if folder is not None else data_dir()) / JOURNAL_FILE
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None)
        except (OSError, sqlite3.Error) as err:
            raise self._error("cannot be opened", err) from None
        try:
            try:
                self._db.execute("PRAGMA synchronous = FULL")
            except sqlite3.Error as err:
                raise self._error("cannot be opened", err) from None
            if not self._has_table():
                with self._transaction():
                    for statement in _SCHEMA:
                        self._db.execute(statement)
        except JournalError:
            self._db.close()
            raise

    @classmethod
    def existing(cls, folder: Path | None = None) -> SendJournal | None:
        """The journal when its file exists (a dry run reads it, and never creates one)."""
        path = (Path(folder) if folder is not None else data_dir()) / JOURNAL_FILE
        return cls(folder) if path.is_file() else None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SendJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def entry(self, claim_id: str, recipient: str) -> Entry | None:
        """The latest entry that stops the claim's mail to ``recipient`` from going out again, if any."""
        try:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM deliveries WHERE claim_id = ? AND recipient = ? AND state IN "
                "(?, ?, ?) ORDER BY id DESC LIMIT 1",
                (claim_id, recipient_key(recipient), *_BLOCKING),
            ).fetchone()
        except sqlite3.Error as err:
            raise self._error("cannot be read", err) from None
        return Entry(*row) if row else None

    def begin(self, mail: Mail, recipients: Sequence[str], *, resend: bool = False) -> dict[str, int]:
        """Take the claim's mail to each recipient that no entry stops (every one with ``resend``): each gets
        a ``pending`` entry, durable on disk before this returns. Returns recipient -> entry id of those taken
        (a recipient another send holds is left out)."""
        taken: dict[str, int] = {}
        started = _now()
        with self._transaction():
            for recipient in recipients:
                key = recipient_key(recipient)
                if not resend and self._blocked(mail.claim_id, key):
                    continue
                cursor = self._db.execute(
                    "INSERT INTO deliveries (claim_id, recipient, channel, state, message_id, server, workbook, "
                    "file, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (mail.claim_id, key, mail.channel, PENDING, mail.message_id, mail.server, mail.workbook,
                     mail.file, started),
                )  # fmt: skip
                taken[recipient] = int(cursor.lastrowid or 0)
        return taken

    def finish(self, ids: Iterable[int], state: str, detail: str = "", when: str | None = None) -> None:
        """Complete entries: ``DONE`` (the server took the mail) or ``UNKNOWN`` (it may have)."""
        ids = list(ids)
        if not ids:
            return
        with self._transaction():
            self._db.executemany(
                "UPDATE deliveries SET state = ?, finished_at = ?, detail = ? WHERE id = ?",
                [(state, when or _now(), detail, entry_id) for entry_id in ids],
            )

    def cancel(self, ids: Iterable[int]) -> None:
        """Remove pending entries of mail that certainly did not go out (refused, or never fully sent)."""
        ids = list(ids)
        if not ids:
            return
        with self._transaction():
            self._db.executemany(
                "DELETE FROM deliveries WHERE id = ? AND state = ?", [(i, PENDING) for i in ids]
            )

    def entries(self) -> list[Entry]:
        """Every entry, oldest first (for reports and tests)."""
        try:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM deliveries ORDER BY id").fetchall()
        except sqlite3.Error as err:
            raise self._error("cannot be read", err) from None
        return [Entry(*row) for row in rows]

    def _blocked(self, claim_id: str, key: str) -> bool:
        return (
            self._db.execute(
                "SELECT 1 FROM deliveries WHERE claim_id = ? AND recipient = ? AND state IN (?, ?, ?) LIMIT 1",
                (claim_id, key, *_BLOCKING),
            ).fetchone()
            is not None
        )

    def _has_table(self) -> bool:
        try:
            found = self._db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'deliveries'"
            ).fetchone()
        except sqlite3.Error as err:
            raise self._error("cannot be read", err) from None
        return found is not None

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            raise self._error("cannot be written", err) from None
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException as err:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            if isinstance(err, sqlite3.Error):
                raise self._error("cannot be written", err) from None
            raise

    def _error(self, what: str, err: BaseException) -> JournalError:
        why = getattr(err, "strerror", None) or str(err) or type(err).__name__
        return JournalError(
            f"The send journal {self.path} {what} ({why}); free space or fix its folder (or point "
            f"{DATA_DIR_VARIABLE} at another one), then run again: nothing is sent that cannot be journalled."
        )

"""What a batch's workers do to one workbook before it is run, and what each workbook's outcome holds.

Task functions are top-level and take paths and small frames, so that local processes and Dask workers run
the same code; each returns its own errors as data (a status and a message), never raises.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from cpor_excel.errors import CporError
from cpor_excel.model.columns import ASSOCIATIONS, EARNINGS, EARNINGS_SHEET, LEDGER_SHEET, Kind

if TYPE_CHECKING:
    from cpor_excel.report import Report

#: what a worker sends back of a workbook's Associations (see rules/conflicts.py) + the report's partner columns
CLAIM_COLUMNS = (
    "Claim ID", "Tenant ID", "Workload", "Partner ID", "Partner Name", "Status", "Created", "POE Signed",
    "Submitted", "Approved", "Ended",
)  # fmt: skip
#: what a worker sends back of a workbook's Milestone Ledger (for the report's milestones per month)
LEDGER_COLUMNS = ("Claim ID", "Partner ID", "Workload", "Milestone", "Month Reached")
#: what a worker sends back of a workbook's Earnings Ledger (for the report's usage pay per month and partner)
EARNINGS_COLUMNS = ("Claim ID", "Partner ID", "Workload", "Month", "Paid Users", "Amount", "Currency")

# Workbook statuses in a batch
READ = "read"  # before it is run only: read, to be processed
WRITTEN = "written"  # processed and saved in place
CHECKED = "checked"  # processed, nothing written (--dry-run)
LOCKED = "locked"  # open in Excel or held by another run: not written
UNREADABLE = "unreadable"  # not a workbook we can read (corrupt, encrypted, hostile, vanished)
FAILED = "failed"  # an unexpected error in this workbook; the batch went on
PROCESSED = frozenset({WRITTEN, CHECKED})


@dataclass
class Scan:
    """A reading task's answer for one workbook: its tenants or small frames, or why it could not be read."""

    path: str
    workbook: str
    status: str  # READ, UNREADABLE or FAILED
    message: str = ""
    claims: pd.DataFrame | None = None  # CLAIM_COLUMNS + Workbook; index = Excel row (None: no row)
    ledger: pd.DataFrame | None = None  # LEDGER_COLUMNS + Workbook (None: no row)
    seconds: float = 0.0
    earnings: pd.DataFrame | None = None  # EARNINGS_COLUMNS + Workbook (None: no row)
    tenants: frozenset[str] = frozenset()  # the tenant IDs its Associations name (read_tenants)


@dataclass
class WorkbookResult:
    """One workbook's outcome in a batch. ``report`` is what `run` returns for it (None when not processed)."""

    path: str
    workbook: str
    status: str
    message: str = ""
    report: Report | None = None
    seconds: float = 0.0
    #: its claims and ledgers as the run read them, for the batch report (None when not read)
    read: Scan | None = field(default=None, repr=False, compare=False)

    def counts(self) -> dict[str, int] | None:
        return None if self.report is None else self.report.counts()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "workbook": self.workbook,
            "path": self.path,
            "status": self.status,
            "message": self.message,
        }
        if self.report is not None:
            doc = self.report.to_dict()
            doc.pop("workbook", None)
            doc.pop("as_of", None)
            out.update(doc)
        return out


def read_tenants(path: str, workbook: str) -> Scan:
    """The tenant IDs one workbook's Associations name, or more. Validation only ever empties a Tenant ID
    cell, so these are all the tenants its conflict keys can hold: enough to tell which workbooks can
    conflict with no other and need not be read twice. The sheet is checked as a run checks it, but not
    parsed: every GUID written in its XML (and its shared strings) is taken, a few times cheaper than its
    rows, unless a text there is spelled otherwise than as it is (then the rows are read, as a run does)."""
    started = time.perf_counter()
    try:
        from cpor_excel.io.file_book import FileBook
        from cpor_excel.io.frames import read_workbook_data
        from cpor_excel.io.layout import match_sheets
        from cpor_excel.rules.values import GUID_CHARACTERS, guids_in, parse

        with FileBook(Path(path), write=False) as book:
            sheet = dict((spec.name, actual) for spec, actual in match_sheets(book.sheet_names()))
            actual = sheet.get(ASSOCIATIONS.name)
            texts = book.plain_texts(actual, GUID_CHARACTERS) if actual is not None else []
            if texts is None:
                data = read_workbook_data(book, workbook, only=(ASSOCIATIONS.name,))
        tenants: frozenset[str] = frozenset()
        if texts is not None:
            tenants = frozenset(set().union(*map(guids_in, texts)))
        elif (table := data.sheets.get(ASSOCIATIONS.name)) is not None and "Tenant ID" in table.frame:
            tenants = frozenset(parse(table.frame["Tenant ID"], Kind.GUID).values.dropna())
        return Scan(path, workbook, READ, seconds=time.perf_counter() - started, tenants=tenants)
    except CporError as err:
        return Scan(path, workbook, UNREADABLE, str(err), seconds=time.perf_counter() - started)
    except Exception as err:  # one broken workbook must not stop a batch of hundreds
        return Scan(path, workbook, FAILED, unexpected(err), seconds=time.perf_counter() - started)


def read_claims(path: str, workbook: str) -> Scan:
    """One workbook's claims (typed as a run types them) and ledgers, and those only: the other sheets are
    left for its run, which reads and checks the whole workbook."""
    started = time.perf_counter()
    try:
        from cpor_excel.io.file_book import FileBook
        from cpor_excel.io.frames import read_workbook_data
        from cpor_excel.rules.prepare import prepare_claims, tolerant_frame

        with FileBook(Path(path), write=False) as book:
            data = read_workbook_data(book, workbook, only=(ASSOCIATIONS.name, LEDGER_SHEET, EARNINGS_SHEET))
        associations, milestones = prepare_claims(data)
        paid = data.sheets.get(EARNINGS_SHEET)
        usage = tolerant_frame(paid.frame if paid is not None else pd.DataFrame(index=pd.Index([])), EARNINGS)
        return as_read(path, workbook, associations, milestones, usage, time.perf_counter() - started)
    except CporError as err:
        return Scan(path, workbook, UNREADABLE, str(err), seconds=time.perf_counter() - started)
    except Exception as err:  # one broken workbook must not stop a batch of hundreds
        return Scan(path, workbook, FAILED, unexpected(err), seconds=time.perf_counter() - started)


def as_read(
    path: str,
    workbook: str,
    associations: pd.DataFrame,
    milestones: pd.DataFrame,
    earnings: pd.DataFrame,
    seconds: float,
) -> Scan:
    """What the batch keeps of a workbook it read: its claims and ledgers (the report's columns only)."""
    return Scan(
        path,
        workbook,
        READ,
        claims=_columns(associations, CLAIM_COLUMNS, workbook),
        ledger=_columns(milestones, LEDGER_COLUMNS, workbook),
        earnings=_columns(earnings, EARNINGS_COLUMNS, workbook),
        seconds=seconds,
    )


def open_in_excel_note(path: str) -> str:
    """A dry run writes nothing, so an open workbook is no obstacle; but the run that follows would skip it."""
    from cpor_excel.io.safe_save import owner_file

    owner = owner_file(path)
    return "" if owner is None else f"open in Excel ({owner.name} beside it): a run would leave it unchanged."


def unexpected(err: BaseException) -> str:
    text = str(err).splitlines()[0] if str(err) else ""
    return f"unexpected {type(err).__name__}: {text} (a bug in cpor-excel; please report it with this line)"


def _columns(frame: pd.DataFrame, columns: Sequence[str], workbook: str) -> pd.DataFrame | None:
    """The frame's ``columns`` (those it has), and a Workbook column: a frame of its own (selecting columns
    copies them), which keeps nothing else of the run's frames alive. None when it has no row: the batch
    leaves empty frames out when it joins them, and an empty frame costs a worker and the batch's process a
    third of a millisecond to send (a first run's ledgers are empty)."""
    if frame.empty:
        return None
    out = frame[[c for c in columns if c in frame]]
    out["Workbook"] = workbook
    return out

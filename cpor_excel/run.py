"""One run of cpor-excel on one workbook, read top to bottom: read -> prepare -> evaluate -> apply -> save.

Every front door runs ``run_book``: `check` and `run` on a file (``check_workbook``, ``run_workbook``
below), the Excel button on the open workbook (``excel/button.py``), each workbook of a batch
(``batch/run.py``) and the tests. They differ only in the ``Book`` they pass (a file, the live workbook,
an in-memory book) and the ``DraftSink`` the consent drafts go to.

1. read:     the sheets' raw values under canonical headers (``io/frames.py``), missing sheets and columns;
2. prepare:  typed, validated frames (``rules/prepare.py``: pandera schemas, cross-sheet checks);
3. evaluate: every rule of ``rules/registry.py``, the choice of who gets a consent email included; the
             chosen emails are rendered and written by the draft sink;
4. apply:    the results into the workbook through the Book (``apply.py``);
5. save:     a file is saved atomically, beside its lock and owner-file checks (``FileBook.save``), once its
             drafts are on disk; the live workbook is left for the partner to save.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cpor_excel.errors import os_errors_as_cpor
from cpor_excel.io.book import Book
from cpor_excel.io.file_book import FileBook
from cpor_excel.io.safe_save import check_out_path, ensure_writable
from cpor_excel.model.columns import (
    EARNINGS_HEADER,
    EARNINGS_SHEET,
    LEDGER_HEADER,
    LEDGER_SHEET,
    RECONCILIATION_SHEET,
    USAGE,
)
from cpor_excel.model.findings import Finding
from cpor_excel.report import Records, Report
from cpor_excel.runtime import paused_gc, settle

if TYPE_CHECKING:
    import pandas as pd

    from cpor_excel.mail.outbox import DraftFiles
    from cpor_excel.model.evaluation import Draft, DraftRequest, Evaluation
    from cpor_excel.model.workbook import Prepared, WorkbookData

# The engine (pandas, pandera, the rules, the writer's steps, the mail templates: about 0.6 s of imports) is
# imported inside the functions that use it, not here: a run on a file opens the workbook first, which
# starts reading its sheets in the background (``FileBook(whole=True)``), and the imports then overlap that.


class DraftSink(Protocol):
    """Where a run's consent drafts go (``mail.outbox.DraftFiles``: .eml files in a folder)."""

    def draft(self, requests: Sequence[DraftRequest], as_of: dt.date) -> tuple[list[Draft], list[Finding]]:
        """Render and write the email of each claim; the drafts made, and a `draft-not-written` finding for
        each claim whose email could not be made."""
        ...


def run_book(
    book: Book,
    source: str,
    as_of: dt.date,
    *,
    write: bool = True,
    drafts: DraftSink | None = None,
    others: pd.DataFrame | None = None,
    run_at: dt.datetime | None = None,
    read: tuple[WorkbookData, Prepared] | None = None,
    evaluated: Evaluation | None = None,
) -> Report:
    """Check (``write=False``: nothing written, no draft made) or run one book. The caller saves it.

    ``drafts``: where the consent drafts go (None: none are made). ``others``: the associations of a
    batch's other workbooks, with a "Workbook" column. ``run_at``: the Run Log's time (default now).
    ``read``: the book already read and validated (a batch validates small workbooks' sheets together),
    ``evaluated``: and evaluated (a batch evaluates them together, ``registry.evaluate_together``).
    """
    load_engine()
    from cpor_excel.apply import apply, dashboard_of, locate, new_rows
    from cpor_excel.io.frames import read_workbook_data
    from cpor_excel.rules.prepare import check_sheets, prepare
    from cpor_excel.rules.reconciliation import per_partner
    from cpor_excel.rules.registry import evaluate

    # The run builds millions of objects without cycles (rows, frames, findings, cells): the collector
    # would walk them again and again for nothing. Refcounting frees them; it runs again afterwards.
    with paused_gc():
        if read is None:
            # The Usage sheet (hundreds of thousands of rows) is read last: the other sheets are validated
            # meanwhile, while a FileBook is still parsing it in the background (it reads ahead).
            data = read_workbook_data(book, source, skip=(USAGE.name,))
            checked = check_sheets(data)
            data = read_workbook_data(book, source, only=(USAGE.name,), adding_to=data)
            prepared = prepare(data, checked)
        else:
            data, prepared = read
        _release_raw_values(data)
        evaluation = evaluated or evaluate(prepared, as_of, source, others, recording=write)
        if write and drafts is not None:
            _draft(evaluation, drafts)
        evaluation.findings = findings = locate(evaluation.findings, data)  # located: the others can go
        added = new_rows(evaluation)
        if write:
            when = run_at or dt.datetime.now().replace(microsecond=0)
            board = dashboard_of(prepared, evaluation, findings, added, as_of)
            apply(book, data, evaluation, findings, added, when, board)
    return Report(
        workbook=source,
        as_of=as_of,
        findings=findings,
        conflicts=evaluation.conflicts,
        milestones=Records(LEDGER_HEADER, added.get(LEDGER_SHEET, [])),
        usage_earnings=Records(EARNINGS_HEADER, added.get(EARNINGS_SHEET, [])),
        drafts=[
            {"claim_id": d.claim_id, "to": d.to, "subject": d.subject, "file": d.file_name}
            for d in evaluation.drafts
        ],
        reconciliation=per_partner(evaluation.rows.get(RECONCILIATION_SHEET)),
    )


def load_engine() -> None:
    """Import the engine (``run_book`` does, on its first call; a batch's chunk does before it opens its
    workbooks), then settle the process's long-lived objects once (``runtime.settle``)."""
    import cpor_excel.apply
    import cpor_excel.io.frames
    import cpor_excel.rules.prepare
    import cpor_excel.rules.reconciliation
    import cpor_excel.rules.registry  # noqa: F401

    settle()


def _draft(evaluation: Evaluation, sink: DraftSink) -> None:
    """The emails the drafts rule chose, made by the sink; their files in the Consent Draft column, and why
    a claim got none (held back by its customer, refused by the templates)."""
    import pandas as pd

    made, refused = sink.draft(evaluation.draft_requests, evaluation.as_of)
    evaluation.drafts = made
    evaluation.findings += evaluation.held_back + refused
    files = {row: d.file_name for d in made for row in d.rows}
    if files:  # set in a copy of the column (``.loc`` with a Series costs an alignment per run)
        columns = evaluation.association_columns
        column = columns["Consent Draft"].to_numpy(dtype=object, copy=True)
        column[columns.index.get_indexer(pd.Index(list(files)))] = list(files.values())  # (rows of the sheet)
        columns["Consent Draft"] = pd.Series(column, index=columns.index, dtype=object)


def _release_raw_values(data: WorkbookData) -> None:
    """Drop the raw cell values once validated (the typed frames hold what the rules need); keep each
    sheet's row index and layout, which is all that locating and writing use. Halves peak memory on
    a 500,000-row Usage sheet."""
    import pandas as pd

    for table in data.sheets.values():
        # (built directly: twice as quick as table.frame.iloc[:, :0], for the same frame)
        table.frame = pd.DataFrame(index=table.frame.index, columns=table.frame.columns[:0])


# ------------------------------------------------------------------------------------------ a file


@os_errors_as_cpor
def check_workbook(
    path: str | Path,
    as_of: dt.date | None = None,
    *,
    others: pd.DataFrame | None = None,
    source: str | None = None,
) -> Report:
    """Read-only: validate and evaluate a workbook file; never writes anything.

    ``others`` and ``source``: a batch's claims from other workbooks and this workbook's label in it.
    """
    path = Path(path)
    with FileBook(path, write=False, whole=True) as book:
        return run_book(book, source or path.name, as_of or dt.date.today(), write=False, others=others)


@os_errors_as_cpor
def run_workbook(
    path: str | Path,
    out: str | Path | None = None,
    as_of: dt.date | None = None,
    drafts_dir: str | Path | None = None,
    templates_dir: str | Path | None = None,
    *,
    others: pd.DataFrame | None = None,
    source: str | None = None,
    run_at: dt.datetime | None = None,
    wait: float | None = None,
) -> Report:
    """Check, evaluate and write the results back: in place, or into ``out`` leaving ``path`` untouched.

    ``others``, ``source`` and ``run_at``: a batch's claims from other workbooks, this workbook's label in
    the batch, and the batch's one run time. The workbook is locked from before it is read until it is
    saved: another run on it waits up to ``wait`` seconds (default: ``CPOR_LOCK_WAIT``, else 10), then
    this one stops (WorkbookLocked).
    """
    path = Path(path)
    with open_for_run(path, out, drafts_dir, templates_dir, wait=wait) as (book, drafts, dest):
        report = run_book(
            book, source or path.name, as_of or dt.date.today(), drafts=drafts, others=others, run_at=run_at
        )
        book.save(dest, ready=drafts.close)  # the drafts are on disk before the workbook listing them
    report.written = str(dest)
    return report


@contextmanager
def open_for_run(
    path: Path,
    out: str | Path | None = None,
    drafts_dir: str | Path | None = None,
    templates_dir: str | Path | None = None,
    *,
    wait: float | None = None,
) -> Iterator[tuple[FileBook, DraftFiles, Path]]:
    """A workbook file ready for `run`: its target checked writable, the workbook locked and being read,
    its drafts folder open and the collector paused. Yields the book, the draft sink and where to save."""
    if out is not None:
        check_out_path(path, out)
    dest = Path(out) if out is not None else path
    ensure_writable(dest)  # fail before any work or any draft file if Excel holds the target open
    templates = Path(templates_dir) if templates_dir is not None else None
    # the collector stays paused through the save too: re-enabled in between, it would walk every object
    # the run still holds once more
    with FileBook(path, wait=wait, whole=True) as book:
        from cpor_excel.mail.outbox import DraftFiles, default_drafts_dir  # (while the book is read)

        folder = Path(drafts_dir) if drafts_dir is not None else default_drafts_dir(dest)
        with DraftFiles(folder, templates) as drafts, paused_gc():
            yield book, drafts, dest

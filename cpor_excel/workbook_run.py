"""``check`` and ``run`` on a workbook file: the engine behind a file (the CLI, the library, the batch).

A run starts reading the workbook before it imports the engine: the sheets are parsed on helper threads
(calamine lets go of the GIL) while pandas, pandera and the rules load, which would otherwise come first
and cost half a second each run. So this module imports nothing heavy at its top.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from cpor_excel.io.file_book import FileBook
from cpor_excel.io.layout import match_sheets
from cpor_excel.runtime import paused_gc

if TYPE_CHECKING:
    import pandas as pd

    from cpor_excel.engine import Report
    from cpor_excel.model.evaluation import Draft
    from cpor_excel.model.findings import Finding
    from cpor_excel.model.workbook import Prepared


def _start_reading(book: FileBook) -> None:
    """Queue every sheet the engine will read (it reads them again through ``read_ahead``: same order)."""
    book.read_ahead([actual for _, actual in match_sheets(book.sheet_names()) if actual is not None])


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
    with FileBook(path, write=False) as book:  # read-only: the writer's copy of the sheet XML is not kept
        _start_reading(book)
        from cpor_excel.engine import process_book

        return process_book(book, source or path.name, as_of or dt.date.today(), write=False, others=others)


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
) -> Report:
    """Check, evaluate and write the results back: in place, or into ``out`` leaving ``path`` untouched.

    ``others``, ``source`` and ``run_at``: a batch's claims from other workbooks, this workbook's label in
    the batch, and the batch's one run time.
    """
    from cpor_excel.io.safe_save import ensure_writable

    path = Path(path)
    dest = Path(out) if out is not None else path
    ensure_writable(dest)  # fail before any work or any draft file if Excel holds the target open
    as_of = as_of or dt.date.today()
    templates = Path(templates_dir) if templates_dir is not None else None

    with FileBook(path) as book:
        _start_reading(book)
        from cpor_excel.engine import process_book
        from cpor_excel.mail.outbox import DraftFiles, default_drafts_dir, draft_emails

        folder = Path(drafts_dir) if drafts_dir is not None else default_drafts_dir(dest)
        with DraftFiles(folder) as files, paused_gc():  # no collector walk between the run and its save

            def write_drafts(
                prepared: Prepared, findings: list[Finding], day: dt.date
            ) -> tuple[list[Draft], list[Finding]]:
                files.discard()  # drafted again (the engine may draft early, then for the whole run)
                return draft_emails(prepared, findings, prepared.settings, day, files, templates)

            report = process_book(
                book,
                source or path.name,
                as_of,
                write=True,
                draft_writer=write_drafts,
                run_at=run_at,
                others=others,
            )
            # the drafts are written while the results go in and the new file is made; they are on disk
            # before that file takes the workbook's place
            book.save(dest, ready=files.close)
    report.written = str(dest)
    return report

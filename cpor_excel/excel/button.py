"""The *Run CPOR checks* button: what xlwings' RunPython runs inside Excel.

The add-in (``cpor_excel.xlam``) and the standalone workbook call ``import cpor_excel; cpor_excel.main()``,
which lands in ``main`` below. It runs the same engine as ``cpor-excel run`` on the workbook open in Excel
and tells the partner the outcome in a message box. It never saves the workbook, and nothing it raises
reaches Excel as a traceback window.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import traceback
from pathlib import Path
from typing import Any

from cpor_excel.errors import CporError
from cpor_excel.excel.live_book import LiveBook
from cpor_excel.model.wording import counted

TITLE = "CPOR checks"
FAILED_TITLE = "CPOR checks could not run"


def main() -> None:
    """RunPython target: check the calling workbook, write the results into it, report in a message box."""
    import xlwings as xw

    try:
        book = LiveBook(xw.Book.caller())
    except Exception as err:  # no calling workbook (the add-in itself active, or Excel busy)
        _alert_somehow(
            f"No workbook to check ({_one_line(err)}): open your CPOR workbook, click into it and "
            "press Run CPOR checks again.",
        )
        return
    try:
        with book.busy("Running CPOR checks..."):
            report, drafts_dir, note = run_live_book(book)
        message, title = summary(report, drafts_dir, note), TITLE
    except CporError as err:
        message, title = _one_line(err), FAILED_TITLE
    except Exception as err:
        log = _save_traceback()
        where = f" Details: {log}" if log else ""
        message, title = f"Unexpected error: {_one_line(err)}.{where}", FAILED_TITLE
    try:
        book.tell(message, title)
    except Exception:
        _alert_somehow(message, title)


def run_live_book(
    book: LiveBook,
    as_of: dt.date | None = None,
    drafts_dir: Path | None = None,
    run_at: dt.datetime | None = None,
) -> tuple[Any, Path, str]:
    """Run the engine on a live book and write the results into it. Returns (report, drafts folder, a note
    for the partner about where drafts go when the book has no folder of its own)."""
    from cpor_excel.mail.outbox import DraftFiles, default_drafts_dir
    from cpor_excel.run import run_book

    note = ""
    if drafts_dir is None:
        local = book_path(book.fullname)
        if local is not None:
            drafts_dir = default_drafts_dir(local)
        else:
            # never saved ("Book1") or only in the cloud: no folder beside it to draft into
            drafts_dir = default_drafts_dir(documents_folder() / _safe_stem(book.name))
            note = "This workbook has no folder on this computer (not saved yet, or only online), so "
    with DraftFiles(drafts_dir) as drafts:
        report = run_book(book, book.name, as_of or dt.date.today(), drafts=drafts, run_at=run_at)
    return report, drafts_dir, note


def summary(report: Any, drafts_dir: Path, note: str = "") -> str:
    """The message box after a run: what needs attention first, then where the details are."""
    c = report.counts()
    lines = [f"{report.workbook} checked as of {report.as_of.isoformat()}."]
    lines.append(
        f"{counted(c['errors'], 'error')} ({counted(c['conflicts'], 'association conflict')}), "
        f"{counted(c['warnings'], 'warning')}, {counted(c['new_milestones'], 'new milestone')}."
    )
    if c["drafts"]:
        were = "was" if c["drafts"] == 1 else "were"
        lines.append(f"{note}{counted(c['drafts'], 'consent email draft')} {were} written to {drafts_dir}.")
    else:
        lines.append("No new consent email drafts.")
    lines.append(
        "Details: the Check Result columns and the CPOR Report sheet. The workbook is not saved yet."
    )
    return "\n".join(lines)


def book_path(fullname: str) -> Path | None:
    """The workbook's file on this computer, or None when it has none (never saved, or a web address)."""
    if not fullname or "://" in fullname:
        return None
    path = Path(fullname)
    if not path.is_absolute() or not path.parent.is_dir():
        return None
    return path


def documents_folder() -> Path:
    """Where drafts of a workbook without a folder go: the user's Documents, else the home folder."""
    home = Path.home()
    documents = home / "Documents"
    return documents if documents.is_dir() else home


def _safe_stem(name: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in " -_." else "_" for ch in name).strip(" .")
    return keep or "Workbook"


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return f"{type(err).__name__}: {text}" if not isinstance(err, CporError) else text


def _save_traceback() -> Path | None:
    """Keep the traceback for whoever supports the partner; the message box shows one line."""
    try:
        log = Path(tempfile.gettempdir()) / "cpor-excel-button-error.log"
        log.write_text(traceback.format_exc(), encoding="utf-8")
        return log
    except OSError:
        return None


def _alert_somehow(message: str, title: str = FAILED_TITLE) -> None:
    """A message box without a workbook: through the active Excel, else stderr (never a traceback)."""
    try:
        import xlwings as xw

        app = xw.apps.active
        if app is None:
            raise RuntimeError("no Excel running")
        app.alert(message, title=title)
    except Exception:
        import sys

        print(f"Error: {message}", file=sys.stderr)

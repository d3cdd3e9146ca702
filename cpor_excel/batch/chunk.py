"""The batch's run task: a chunk of workbooks, each run exactly as `run` (or `check`) runs it alone.

Reading, writing and saving are per workbook; the parsing and validation of the big data sheets
(``rules/sheet_chunk.py``) and the rules that can (``registry.evaluate_together``) run once over the chunk:
pandas' and pandera's fixed cost per call, paid once per chunk instead of once per workbook.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pandas as pd

from cpor_excel.batch.tasks import (
    CHECKED,
    FAILED,
    LOCKED,
    UNREADABLE,
    WRITTEN,
    WorkbookResult,
    as_read,
    open_in_excel_note,
    read_claims,
    unexpected,
)
from cpor_excel.errors import CporError, WorkbookLocked, os_error
from cpor_excel.io.safe_save import real_path, remove_stale_temps

if TYPE_CHECKING:
    from cpor_excel.io.file_book import FileBook
    from cpor_excel.mail.outbox import DraftFiles
    from cpor_excel.model.evaluation import Evaluation
    from cpor_excel.model.workbook import Prepared, WorkbookData
    from cpor_excel.rules.prepare import Checked

T = TypeVar("T")

#: at most this many workbooks in a chunk, and only workbooks no bigger than SMALL bytes are chunked
#: together (the chunk holds them all open at once; a bigger workbook runs in a chunk of its own), at most
#: CHUNK_BYTES of them (the memory of 16 of the biggest small ones). The bigger a chunk, the less of
#: pandas' and pandera's fixed cost per call each workbook pays (``rules/sheet_chunk.py``).
CHUNK = 32
SMALL = 2 * 1024**2
CHUNK_BYTES = 16 * SMALL

#: one workbook of a chunk: its path, its label in the batch, the other workbooks' claims on its customers
Item = tuple[str, str, pd.DataFrame | None]


def chunks(items: Sequence[Item], workers: int) -> list[list[Item]]:
    """The batch's workbooks in chunks of consecutive small workbooks: at most ``CHUNK`` (and
    ``CHUNK_BYTES``), and small enough that every worker gets about four chunks when the batch is small
    (so that none waits long for the last one)."""
    size = max(2, min(CHUNK, -(-len(items) // (4 * max(1, workers)))))
    out: list[list[Item]] = []
    held = CHUNK_BYTES + 1  # bytes of the last chunk's workbooks (a big workbook's chunk takes no other)
    for item in items:
        size_of = _size(item[0])
        if size_of <= SMALL and out and len(out[-1]) < size and held + size_of <= CHUNK_BYTES:
            out[-1].append(item)
            held += size_of
        else:
            out.append([item])
            held = size_of if size_of <= SMALL else CHUNK_BYTES + 1
    return out


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0  # its run says what is wrong with it


def process_chunk(
    items: list[Item], as_of: dt.date, dry_run: bool, run_at: dt.datetime
) -> list[WorkbookResult]:
    """The batch's run task: what `run` does to each workbook of the chunk (or `check`, with ``dry_run``),
    given the other workbooks' claims on its customer workloads; each with its claims and ledgers as read."""
    return _Chunk(items, as_of, dry_run, run_at).process()


@dataclass
class _Opened:
    """A workbook of the chunk, open and read, waiting for the chunk's shared validation."""

    at: int  # its place in the chunk
    book: FileBook
    data: WorkbookData
    drafts: DraftFiles | None
    dest: Path | None
    closing: ExitStack  # closes it as `run` does: the drafts put in place, or removed on an error
    prepared: Prepared | None = None  # validated (``prepare``), waiting for the chunk's evaluation


class _Chunk:
    """The chunk's workbooks and their results. Every workbook is opened (and locked, for a run) and read,
    the chunk's big data sheets are validated together, then each workbook is evaluated, written and
    closed in turn. A workbook that fails at any step gets its own status; the others go on."""

    def __init__(self, items: list[Item], as_of: dt.date, dry_run: bool, run_at: dt.datetime) -> None:
        self.items, self.as_of, self.dry_run, self.run_at = items, as_of, dry_run, run_at
        self.results: list[WorkbookResult | None] = [None] * len(items)
        self.started = [0.0] * len(items)

    def process(self) -> list[WorkbookResult]:
        from cpor_excel.rules.sheet_chunk import check_together
        from cpor_excel.run import load_engine
        from cpor_excel.runtime import paused_gc

        load_engine()  # (before the chunk's workbooks are opened: settled without them)

        with paused_gc(), ExitStack() as all_open:
            opened: list[_Opened] = []
            for at in range(len(self.items)):
                self.started[at] = time.perf_counter()
                closing = all_open.enter_context(ExitStack())
                one = self._attempt(at, closing, partial(self._open, at, closing))
                if one is not None:
                    opened.append(one)
            # every workbook to be written is locked now: the temporary files of earlier, interrupted saves
            # beside them are stale, and are removed here with one listing of their folder instead of one
            # per workbook as it is saved
            remove_stale_temps(*(real_path(one.dest) for one in opened if one.dest is not None))
            try:
                together = check_together([one.data for one in opened])
            except Exception:  # a bug in checking them together must cost speed, not results
                together = [{} for _ in opened]
            for one, checked in zip(opened, together, strict=True):
                self._attempt(one.at, one.closing, partial(self._prepare, one, checked))
            ready = [one for one in opened if one.prepared is not None]
            for one, evaluation in zip(ready, self._evaluated(ready), strict=True):
                self._attempt(one.at, one.closing, partial(self._run, one, evaluation))
        return [r for r in self.results if r is not None]

    def _open(self, at: int, closing: ExitStack) -> _Opened:
        from cpor_excel.io.file_book import FileBook
        from cpor_excel.io.frames import read_workbook_data
        from cpor_excel.run import open_for_run

        path, workbook, _ = self.items[at]
        if self.dry_run:
            book, drafts, dest = closing.enter_context(FileBook(Path(path), write=False)), None, None
        else:
            book, drafts, dest = closing.enter_context(open_for_run(Path(path)))
        return _Opened(at, book, read_workbook_data(book, workbook), drafts, dest, closing)

    def _prepare(self, one: _Opened, checked: dict[str, Checked]) -> None:
        from cpor_excel.rules.prepare import prepare

        one.prepared = prepare(one.data, checked)

    def _evaluated(self, ready: list[_Opened]) -> list[Evaluation | None]:
        """The chunk's workbooks evaluated together (``registry.evaluate_together``: each as it would be
        alone); None for each when that fails, so that each is evaluated alone and fails on its own."""
        from cpor_excel.rules.registry import evaluate_together

        try:
            return list(
                evaluate_together(
                    [one.prepared for one in ready if one.prepared is not None],
                    self.as_of,
                    [self.items[one.at][1] for one in ready],
                    [self.items[one.at][2] for one in ready],
                    recording=not self.dry_run,
                )
            )
        except Exception:  # a bug in evaluating them together must cost speed, not results
            return [None] * len(ready)

    def _run(self, one: _Opened, evaluation: Evaluation | None) -> None:
        from cpor_excel.run import run_book

        path, workbook, others = self.items[one.at]
        prepared = one.prepared
        assert prepared is not None
        with one.closing:  # saved, unlocked and freed before the next workbook
            report = run_book(
                one.book,
                workbook,
                self.as_of,
                write=not self.dry_run,
                drafts=one.drafts,
                others=others,
                run_at=self.run_at,
                read=(one.data, prepared),
                evaluated=evaluation,
            )
            if one.dest is not None and one.drafts is not None:
                # the drafts are on disk before the workbook
                one.book.save(one.dest, ready=one.drafts.close, remove_temps=False)
        if one.dest is not None:
            report.written = str(one.dest)
        status, note = (CHECKED, open_in_excel_note(path)) if self.dry_run else (WRITTEN, "")
        read = as_read(path, workbook, prepared.associations, prepared.ledger, prepared.earnings, 0.0)
        self.results[one.at] = WorkbookResult(
            path, workbook, status, note, report, self._seconds(one.at), read
        )

    def _attempt(self, at: int, closing: ExitStack, step: Callable[[], T]) -> T | None:
        """The step's result. On an error: the workbook closed as `run` closes it on an error (its drafts
        removed, its lock released), its result saying why, and None."""
        path, workbook, _ = self.items[at]
        try:
            try:
                return step()
            except BaseException:
                closing.__exit__(*sys.exc_info())
                raise
        except OSError as err:
            error: BaseException = os_error(err, path)
        except BaseException as err:
            if not isinstance(err, Exception):
                raise  # KeyboardInterrupt and friends stop the batch
            error = err
        if isinstance(error, WorkbookLocked):
            # not run, as it is not to be written; the batch report still counts its claims
            read = read_claims(path, workbook)
            result = WorkbookResult(path, workbook, LOCKED, str(error), seconds=self._seconds(at), read=read)
        elif isinstance(error, CporError):
            result = WorkbookResult(path, workbook, UNREADABLE, str(error), seconds=self._seconds(at))
        else:  # one broken workbook must not stop a batch of hundreds
            result = WorkbookResult(path, workbook, FAILED, unexpected(error), seconds=self._seconds(at))
        self.results[at] = result
        return None

    def _seconds(self, at: int) -> float:
        return time.perf_counter() - self.started[at]

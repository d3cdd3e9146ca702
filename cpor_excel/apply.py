"""Apply: a run's results written into the workbook through the ``Book`` protocol (a file or the live book).

Into each data sheet its tool columns (Check Result and Check Notes; on Associations also the columns the
rules fill), then the tool sheets in ``RUN_SHEETS`` order: CPOR Report replaced, the ledgers, Consent
Drafts and Run Log appended to. Nothing here decides anything: the findings are located and sorted
(``locate``), every value comes from the evaluation.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from cpor_excel.io.book import Book, CellValue
from cpor_excel.io.cell_rows import CellColumn, CellRows
from cpor_excel.model.columns import (
    ASSOCIATIONS,
    DASHBOARD_SHEET,
    DASHBOARD_TITLE,
    DATA_SHEETS,
    DRAFTS,
    EARNINGS,
    LEDGER,
    OTHER_DASHBOARD_SHEET,
    RECONCILIATION,
    REPLACED,
    REPORT,
    RUN_LOG,
    RUN_SHEETS,
    Kind,
)
from cpor_excel.model.dashboard import Dashboard
from cpor_excel.model.evaluation import Evaluation
from cpor_excel.model.findings import CODES, RESULT_LEVELS, Finding, Severity, result_rank
from cpor_excel.model.headers import column_letter
from cpor_excel.model.workbook import Prepared, WorkbookData
from cpor_excel.report import tally
from cpor_excel.rules.dashboard import build_dashboard
from cpor_excel.version import __version__

#: the tool's columns on Associations besides Check Result / Check Notes, in SPEC order
ASSOCIATION_VALUE_COLUMNS = ASSOCIATIONS.tool_columns[2:]

#: rows of cell values (a tool sheet's)
Cells = Sequence[Sequence[CellValue]]


def locate(findings: Iterable[Finding], data: WorkbookData) -> list[Finding]:
    """Fill each finding's A1 cell from the sheet layout, and sort the report as the workbook reads."""
    order = {spec.name: i for i, spec in enumerate(DATA_SHEETS)}
    rank = {code: _RANK[severity] for code, (severity, _) in CODES.items()}
    letters: dict[tuple[str, str], str] = {}  # (sheet, column) -> its column letters
    header_rows: dict[str, int] = {}  # sheet -> the row a header problem (no row) points at
    for sheet, table in data.sheets.items():
        header_rows[sheet] = table.header_row
        for name, pos in table.positions.items():
            letters[(sheet, name)] = column_letter(pos)
    new = object.__new__
    out: list[Finding] = []
    append = out.append
    for f in findings:
        if f.cell is None and f.column is not None:
            letter = letters.get((f.sheet, f.column))
            if letter is not None:
                # ``dataclasses.replace(f, cell=...)`` without running __init__ again (the code was checked
                # when f was made): a run locates 130,000 findings
                located = new(Finding)
                located.__dict__.update(
                    f.__dict__, cell=f"{letter}{f.row if f.row is not None else header_rows.get(f.sheet, 1)}"
                )
                append(located)
                continue
        append(f)
    out.sort(key=lambda f: (order.get(f.sheet, 99), f.sheet, f.row or 0, rank[f.code], f.code))
    return out


_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def new_rows(evaluation: Evaluation) -> dict[str, CellRows]:
    """The rows the rules add to tool sheets (the ledgers), as cell values in each sheet's header order
    (kept as the frames' columns: the writer takes them so)."""
    headers = {sheet.name: sheet.header for sheet in RUN_SHEETS}
    return {
        name: CellRows(
            _cell_columns(
                frame
                if list(frame.columns) == list(headers[name])
                else frame.reindex(columns=list(headers[name]))
            )
        )
        for name, frame in evaluation.rows.items()
    }


#: codes that leave a sheet's rows unchecked: a row without findings is then not OK, it is not known
UNCHECKED = frozenset({"missing-column", "header-not-found"})


def row_status(findings: list[Finding], sheet: str, rows: pd.Index) -> tuple[CellColumn, CellColumn]:
    """Check Result and Check Notes for every data row of a sheet: rows without findings are OK, unless a
    required column is missing (``UNCHECKED``): then their result stays empty and the note says why."""
    mine = [f for f in findings if f.sheet == sheet]
    missing = sorted({f.column or f.code for f in mine if f.code in UNCHECKED})
    unchecked = f"Not checked: the sheet lacks {', '.join(missing)}." if missing else ""
    default = "" if missing else "OK"
    result = _filled(len(rows), default)
    joined = _filled(len(rows), unchecked)
    placed = [f for f in mine if f.row]
    shown: tuple[list[str], list[str]] = ([], [])  # the levels and notes set on rows
    if placed:  # set where the findings are (a handful of rows in a big sheet), not row by row
        # the findings grouped by row with numpy (a stable sort keeps each row's in their order), not with a
        # dict per finding: a messy workbook has tens of thousands
        at_row = np.fromiter((f.row for f in placed), dtype=np.int64, count=len(placed))
        order = np.argsort(at_row, kind="stable")
        grouped = at_row[order]
        starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
        ranks = _result_ranks()
        level = np.fromiter((ranks[f.code] for f in placed), dtype=np.int64, count=len(placed))
        worst = np.maximum.reduceat(level[order], starts).tolist()
        texts = [f"{f.code}: {f.message}" for f in placed]
        ordered = [texts[i] for i in order.tolist()]
        bounds = [*starts.tolist(), len(placed)]
        lines = [" | ".join(ordered[a:b]) for a, b in itertools.pairwise(bounds)]
        if missing:
            lines = [f"{unchecked} | {line}" for line in lines]
        at = rows.get_indexer(pd.Index(grouped[starts]))
        found = at >= 0
        # an unchecked row is never OK, whatever its findings of mere information
        levels = [RESULT_LEVELS[w] if w or not missing else "" for w in worst]
        shown_levels, shown_lines = (
            np.array(levels, dtype=object)[found],
            np.array(lines, dtype=object)[found],
        )
        result[at[found]] = shown_levels
        joined[at[found]] = shown_lines
        shown = (shown_levels.tolist(), shown_lines.tolist())
    # the longest texts go with the columns (their widths): those set on rows, and the default if a row kept it
    kept = len(rows) > len(shown[0])
    return (
        CellColumn(result.tolist(), (str,), _longest([*shown[0], *([default] if kept else [])])),
        CellColumn(joined.tolist(), (str,), _longest([*shown[1], *([unchecked] if kept else [])])),
    )


def _longest(texts: list[str]) -> int:
    return max(map(len, texts), default=0)


def _filled(size: int, text: str) -> np.ndarray:
    """An object array holding ``text`` everywhere (``np.full`` would make a new str per element: ten
    times slower, on every sheet of every run)."""
    array = np.empty(size, dtype=object)
    array.fill(text)
    return array


@cache
def _result_ranks() -> dict[str, int]:
    return {code: result_rank(code) for code in CODES}


def apply(
    book: Book,
    data: WorkbookData,
    evaluation: Evaluation,
    findings: list[Finding],
    added: dict[str, CellRows],
    run_at: dt.datetime,
    dashboard: Dashboard | None = None,
) -> None:
    """Write a run's results through the Book interface. ``findings``: located (``locate``); ``added``:
    the rows the rules add to tool sheets (``new_rows``); ``dashboard``: the Dashboard to write
    (``dashboard_of``), replacing the last run's (``dashboard_place``)."""
    by_sheet: dict[str, list[Finding]] = {}
    for f in findings:
        by_sheet.setdefault(f.sheet, []).append(f)
    for spec in DATA_SHEETS:
        table = data.sheets.get(spec.name)
        if table is None or not spec.tool_columns:
            continue
        rows = table.frame.index
        result, notes = row_status(by_sheet.get(spec.name, []), spec.name, rows)
        values: list[list[CellValue]] = [result, notes]
        if spec is ASSOCIATIONS:
            values += _cell_columns(
                evaluation.association_columns.reindex(index=rows, columns=ASSOCIATION_VALUE_COLUMNS)
            )
        book.set_columns(
            table.name, list(spec.tool_columns), rows.tolist(), values, header_row=table.header_row
        )

    tallied = tally(findings)
    rows_of: dict[str, Cells] = {
        REPORT.name: report_rows(findings, data),
        DRAFTS.name: [
            [d.claim_id, d.tenant_id, d.to, d.subject, d.file_name, evaluation.as_of.isoformat(), None]
            for d in evaluation.drafts
        ],
        RUN_LOG.name: [
            [
                run_at.isoformat(timespec="seconds"),
                evaluation.as_of.isoformat(),
                __version__,
                tallied["errors"],
                tallied["warnings"],
                tallied["conflicts"],
                len(added.get(LEDGER.name, [])),
                len(evaluation.drafts),
            ]
        ],
        **added,
    }
    for sheet in RUN_SHEETS:
        if sheet in (EARNINGS, RECONCILIATION) and sheet.name not in rows_of:
            continue  # no usage pay above the high-water mark, or nothing from Microsoft: no such sheet
        write = book.replace_sheet if sheet.written == REPLACED else book.append_to_sheet
        formats = {c.name: _FORMATS[c.kind] for c in sheet.columns if c.kind in _FORMATS}
        write(sheet.name, sheet.header, rows_of.get(sheet.name, []), formats)
    place = dashboard_place(book) if dashboard is not None else None
    if dashboard is not None and place is not None:
        book.replace_dashboard(place[0], dashboard, renaming=place[1])


def dashboard_place(book: Book) -> tuple[str, str | None] | None:
    """Where the dashboard goes: the sheet, and the dashboard an earlier version wrote to rename to it (or
    None). A sheet is the tool's own dashboard when its A1 holds the dashboard's title; a partner's own sheet
    is never replaced: with a Dashboard of their own the tool writes CPOR Dashboard, and with both names
    taken by their sheets no dashboard at all."""
    names = {name.casefold(): name for name in book.sheet_names()}

    def ours(name: str) -> bool | None:  # None: no such sheet
        actual = names.get(name.casefold())
        if actual is None:
            return None
        first = next(iter(book.read_rows(actual)), [])
        return bool(first) and first[0] == DASHBOARD_TITLE

    main, other = ours(DASHBOARD_SHEET), ours(OTHER_DASHBOARD_SHEET)
    if main is None:
        return DASHBOARD_SHEET, names[OTHER_DASHBOARD_SHEET.casefold()] if other else None
    if main:
        return DASHBOARD_SHEET, None
    return None if other is False else (OTHER_DASHBOARD_SHEET, None)


#: how a tool sheet's numbers read, by column kind (a usage fraction as a percent)
_FORMATS = {Kind.PERCENT: "percent", Kind.NUMBER: "amount"}


def dashboard_of(
    prepared: Prepared,
    evaluation: Evaluation,
    findings: list[Finding],
    added: dict[str, CellRows],
    as_of: dt.date,
) -> Dashboard:
    """The dashboard of a run: the workbook's state as of the run (the ledgers' rows and the new ones), not
    this run's news, so that a second run on the same day leaves the sheet as it was. Usage pay comes from
    the Earnings Ledger and deadlines from the Next Deadline column, where the run has them."""
    ledger = _ledger(prepared.ledger, added.get(LEDGER.name, []), LEDGER.header, DASHBOARD_LEDGER)
    # (the Earnings Ledger as the prepared workbook holds it, where a run reads it back)
    earnings = _ledger(
        getattr(prepared, "earnings", None), added.get(EARNINGS.name, []), EARNINGS.header, DASHBOARD_EARNINGS
    )
    deadlines = evaluation.association_columns.get("Next Deadline")
    drafts = len(prepared.drafts) + len(evaluation.drafts)
    counts = {**tally(findings), "milestones": len(ledger), "drafts": drafts}
    return build_dashboard(
        prepared.associations, prepared.customers, ledger, findings, counts, as_of, deadlines, earnings
    )


#: the ledgers' columns the dashboard reads (``rules/dashboard.py``): only these are made into frames
DASHBOARD_LEDGER = ("Month Reached", "Payment", "Currency")
DASHBOARD_EARNINGS = ("Month", "Amount", "Currency")


def _ledger(
    old: pd.DataFrame | None, new: Cells, header: tuple[str, ...], wanted: tuple[str, ...]
) -> pd.DataFrame:
    """An append-only ledger after the run: its rows, then the new ones, in the ``wanted`` columns it has
    (the dashboard reads a few of a ledger's columns: the others are not made into a frame)."""
    if isinstance(new, CellRows) and len(new):
        added = pd.DataFrame({c: v for c, v in zip(header, new.columns, strict=True) if c in wanted})
    else:
        added = pd.DataFrame(list(new), columns=list(header))[[c for c in header if c in wanted]]
    if old is None or old.empty:  # (a first run: the new rows are the ledger, numbered from 0 as they are)
        return added
    kept = old[[c for c in old.columns if c in wanted]]
    return pd.concat([kept, added], ignore_index=True) if len(added) else kept.reset_index(drop=True)


#: the rows a sheet holds below its header (Excel's last row is 1,048,576)
SHEET_ROWS = 1_048_575


def report_rows(findings: list[Finding], data: WorkbookData) -> CellRows:
    """The CPOR Report's rows: errors first, then warnings, then infos (the workbook's order within each).
    More findings than the sheet holds: the most severe, and a last row saying how many were left out."""
    label = {code: severity.value.upper() for code, (severity, _) in CODES.items()}
    rank = {code: _RANK[severity] for code, (severity, _) in CODES.items()}
    names = {sheet: _sheet_name(data, sheet) for sheet in {f.sheet for f in findings}}
    ordered = sorted(findings, key=lambda f: rank[f.code])  # stable: the workbook's order stays within
    kept = ordered if len(ordered) <= SHEET_ROWS else ordered[: SHEET_ROWS - 1]
    codes = [f.code for f in kept]
    columns: list[list[CellValue]] = [
        list(map(label.__getitem__, codes)),
        codes,  # type: ignore[list-item]
        [names[f.sheet] for f in kept],
        [f.cell for f in kept],
        [f.claim_id for f in kept],
        [f.message for f in kept],
    ]
    if len(kept) < len(ordered):
        left = len(ordered) - len(kept)
        message = (
            f"{left:,} more findings, the least severe, are not listed here: a sheet holds {SHEET_ROWS:,} rows. "
            "`cpor-excel check --json` lists every finding; fix the errors above first."
        )
        last = [label["report-truncated"], "report-truncated", REPORT.name, None, None, message]
        for column, value in zip(columns, last, strict=True):
            column.append(value)
    return CellRows(columns)


def _sheet_name(data: WorkbookData, canonical: str) -> str:
    table = data.sheets.get(canonical)
    return table.name if table is not None else canonical


def _cell_columns(frame: pd.DataFrame) -> list[list[CellValue]]:
    """A frame's columns as cell values: missing -> None; anything but text, numbers and None (numpy
    scalars, timestamps) through ``_cell``. Column by column: a column of plain values is taken as it is."""
    out: list[list[CellValue]] = []
    if len(frame.columns) and all(kind == np.dtype(object) for kind in frame.dtypes):  # one block: at once
        columns: list[list[Any]] = frame.to_numpy(dtype=object).T.tolist()
    else:
        columns = [column.tolist() for _, column in frame.items()]
    for values in columns:
        kinds = set(map(type, values))
        if not kinds <= _PLAIN_TYPES:
            values = [_cell(v) for v in values]
        elif float in kinds:
            values = [None if v != v else v for v in values]  # NaN (the only value unequal to itself)
        else:  # the values as they are: their types go with them (``CellColumn``)
            kinds.discard(type(None))
            values = CellColumn(values, kinds)
        out.append(values)
    return out


#: cell values a Book takes as they are (floats but NaN)
_PLAIN_TYPES = frozenset({str, int, float, type(None)})


def _cell(value: Any) -> CellValue:
    """A frame value as something a Book can write (NaN/NA/NaT -> empty; numpy scalars -> Python)."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value

"""Sheets -> frames: every sheet the tool reads, as raw values under canonical headers (``WorkbookData``).

Knows the workbook's *layout* (which sheet, which header, which row) and nothing of CPOR rules: values stay
exactly as the Book gave them (object dtype), except that empty cells ("" or NaN) become None. Validation
and typing are ``rules/prepare.py``'s job.

Layout rules (SPEC "The workbook"):
- sheets and headers are found case-, space- and underscore-insensitively (``model/headers.py``), headers
  also by their aliases (Partner Center export names), so a pasted export header row works;
- the header is row 1, or a later one of the first 10 rows when it names more of the sheet's columns (a title
  row above the header); none naming any is ``header-not-found``; blank header cells (the tail of a merged
  header cell) and their columns are ignored;
- other headers are the user's extra columns, kept under their own text;
- when two headers name the same column, the first (leftmost) one is used;
- wholly empty data rows are dropped (trailing ones, and blank separator rows in between); the frame's index
  is the Excel row number, so every finding still points at the right row.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Collection, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from cpor_excel.io.layout import READ_SPECS, match_sheets
from cpor_excel.model.columns import SheetSpec
from cpor_excel.model.findings import Finding
from cpor_excel.model.headers import HEADER_SCAN_ROWS, column_letter, fold_header, header_lookup
from cpor_excel.model.workbook import SheetTable, WorkbookData

_SPARE_COLUMNS = 64  # unheaded columns read along on the fast path before rows are cut to the header

# Not in model/findings.py:CODES yet (asked for); reported as soon as it is registered.
DUPLICATE_COLUMN = "duplicate-column"


class SheetSource(Protocol):
    """The reading half of ``io.book.Book``: all the reader needs (a Book, or anything that reads rows)."""

    def sheet_names(self) -> list[str]: ...

    def read_rows(self, sheet: str) -> list[list[Any]]: ...


def read_workbook_data(
    book: SheetSource,
    source: str,
    only: Collection[str] | None = None,
    *,
    skip: Collection[str] = (),
    adding_to: WorkbookData | None = None,
) -> WorkbookData:
    """Read every data sheet and the tool sheets a run reads back; report missing sheets and columns.

    ``only``: the canonical names of the sheets to read, when not all of them; ``skip``: those not to read
    (sheets not read are not reported). ``adding_to``: sheets read before (with ``skip``), to which these
    are added: the result is what one read of all of them gives.
    """
    sheets: dict[str, SheetTable] = {}
    findings: list[Finding] = []
    present: list[tuple[SheetSpec, str]] = []
    for spec, actual in match_sheets(book.sheet_names()):
        if (only is not None and spec.name not in only) or spec.name in skip:
            continue
        if actual is not None:
            present.append((spec, actual))
        elif spec.required:
            findings.append(
                Finding(
                    "missing-sheet",
                    spec.name,
                    f"The workbook has no {spec.name} sheet; add a sheet named {spec.name} with its header "
                    "row (`cpor-excel new` writes a template with every sheet).",
                )
            )
    for spec, actual in present:
        table, problems = read_sheet(book.read_rows(actual), spec, actual)
        sheets[spec.name] = table
        findings += problems
    if adding_to is not None:
        sheets = {**adding_to.sheets, **sheets}
        findings = adding_to.findings + findings
    # (stable: the findings of each sheet stay in their order)
    findings.sort(key=lambda f: _SHEET_ORDER.get(f.sheet, len(_SHEET_ORDER)))
    return WorkbookData(source=source, sheets=sheets, findings=findings)


_SHEET_ORDER = {spec.name: i for i, spec in enumerate(READ_SPECS)}


def read_sheet(rows: Sequence[Sequence[Any]], spec: SheetSpec, name: str) -> tuple[SheetTable, list[Finding]]:
    """One sheet's rows (row 0 = Excel row 1) -> its table and its header findings. The header is row 1,
    or the first of the sheet's first rows that names more of its columns (a title row above it);
    none naming any column of a sheet with required ones is ``header-not-found``, and no row is read."""
    lookup = header_lookup(spec)
    at = _header_index(rows, lookup)
    if at is None:
        return _headless(name), ([_header_not_found(spec)] if any(c.required for c in spec.columns) else [])
    header_row = at + 1
    header = list(rows[at]) if rows else []
    positions: dict[str, int] = {}
    findings: list[Finding] = []
    for index, cell in enumerate(header):
        text = header_text(cell)
        if text is None:
            continue
        label = lookup.get(fold_header(text), text)
        if label not in positions:
            positions[label] = index
        elif label in lookup.values():
            first = column_letter(positions[label])
            findings.append(
                Finding(
                    DUPLICATE_COLUMN,
                    spec.name,
                    f"Header {text!r} names the {label} column again (first in column {first}); only column "
                    f"{first} is read: delete or rename the other one.",
                    column=label,
                    cell=f"{column_letter(index)}{header_row}",
                )
            )
    width = max(positions.values(), default=-1) + 1
    findings += _missing_columns(spec, positions, width, header_row)
    frame = _data_frame(rows[at + 1 :], positions, header_row + 1)
    table = SheetTable(name=name, frame=frame, positions=positions, width=width, header_row=header_row)
    return table, findings


def _header_index(rows: Sequence[Sequence[Any]], lookup: dict[str, str]) -> int | None:
    """0-based index of the header row: row 1 unless a later one of the first ``HEADER_SCAN_ROWS`` names
    more of the sheet's columns (the first such); None when none names any (an empty sheet: row 1)."""
    if not rows:
        return 0
    scores = []
    folded: dict[str, str] = {}  # (data rows repeat their texts)
    most = len(set(lookup.values()))  # a row naming every column: no later row names more
    for row in rows[:HEADER_SCAN_ROWS]:
        named = set()
        for text in map(header_text, row):
            if text is not None:
                key = folded.get(text)
                if key is None:
                    key = folded[text] = fold_header(text)
                named.add(lookup.get(key))
        named.discard(None)
        scores.append(len(named))
        if scores[0] == most > 0:
            return 0
    best = max(scores)
    if best == 0:
        return 0 if not any(header_text(cell) for row in rows[:HEADER_SCAN_ROWS] for cell in row) else None
    return scores.index(best)


def _headless(name: str) -> SheetTable:
    """The table of a sheet whose header was not found: no column, no row read."""
    frame = _data_frame([], {}, 2)
    return SheetTable(name=name, frame=frame, positions={}, width=0, header_row=1)


def _header_not_found(spec: SheetSpec) -> Finding:
    names = ", ".join(column.name for column in spec.columns if column.required)
    return Finding(
        "header-not-found",
        spec.name,
        f"None of the first {HEADER_SCAN_ROWS} rows of {spec.name} is its header row; no row was checked: "
        f"give the sheet a header row naming its columns ({names}).",
        cell="A1",
    )


def header_text(cell: Any) -> str | None:
    """A header cell as text; None when blank."""
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return None
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, (dt.date, dt.time)):
        return cell.isoformat()
    return str(cell).strip() or None


def _missing_columns(
    spec: SheetSpec, positions: dict[str, int], width: int, header_row: int
) -> list[Finding]:
    out = []
    for column in spec.columns:
        if not column.required or column.name in positions:
            continue
        accepted = ", ".join((column.name, *column.aliases))
        out.append(
            Finding(
                "missing-column",
                spec.name,
                f"{spec.name} has no {column.name} column; add a header cell named {column.name} to row "
                f"{header_row} (accepted names: {accepted}); its rows are not marked OK until then.",
                column=column.name,
                cell=f"{column_letter(width)}{header_row}",  # the first free header cell, where it can go
            )
        )
    return out


def _data_frame(body: Sequence[Sequence[Any]], positions: dict[str, int], first_row: int) -> pd.DataFrame:
    labels = list(positions)
    if not body or not labels:
        return pd.DataFrame(
            {label: pd.Series(dtype=object) for label in labels}, index=pd.Index([], dtype="int64")
        )
    cells = _grid(body, list(positions.values()))
    empty = pd.isna(cells)
    empty |= cells == ""
    cells[empty] = None
    keep = ~empty.all(axis=1)
    rows = np.flatnonzero(keep) + first_row
    if not keep.all():
        cells = cells[keep]
    return pd.DataFrame(cells, index=pd.Index(rows, dtype="int64"), columns=labels, dtype=object)


def _grid(body: Sequence[Sequence[Any]], columns: list[int]) -> np.ndarray:
    """The chosen columns of the data rows as a 2-D object array, in C-level passes over the rows."""
    needed = max(columns) + 1
    lengths = set(map(len, body))
    width = lengths.pop() if len(lengths) == 1 else -1
    if needed <= width <= needed + _SPARE_COLUMNS:
        # rectangular rows (what a reader gives): the fast path, one flat C-level pass (np.array on the
        # nested lists would first probe every row for its shape, four times slower)
        cells = itertools.chain.from_iterable(body)
        grid = np.fromiter(cells, dtype=object, count=len(body) * width).reshape(len(body), width)
    else:
        # Ragged rows (a hand-built or live book), data narrower than the header, or a sheet far wider than
        # its headed columns (an XFD-wide used range): cut or pad every row to the headed width first.
        grid = np.array(
            [row[:needed] if len(row) >= needed else [*row, *([None] * (needed - len(row)))] for row in body],
            dtype=object,
        )
    return grid[:, columns]

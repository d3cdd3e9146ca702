"""Sheets -> frames: every sheet the tool reads, as raw values under canonical headers (``WorkbookData``).

Knows the workbook's *layout* (which sheet, which header, which row) and nothing of CPOR rules: values stay
exactly as the Book gave them (object dtype), except that empty cells ("" or NaN) become None. Validation
and typing are ``rules/prepare.py``'s job.

Layout rules (SPEC "The workbook"):
- sheets and headers are found case-, space- and underscore-insensitively (``model/headers.py``), headers
  also by their aliases (Partner Center export names), so a pasted export header row works;
- the header is row 1; blank header cells (the tail of a merged header cell) and their columns are ignored;
- other headers are the user's extra columns, kept under their own text;
- when two headers name the same column, the first (leftmost) one is used;
- wholly empty data rows are dropped (trailing ones, and blank separator rows in between); the frame's index
  is the Excel row number, so every finding still points at the right row.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from cpor_excel.io.layout import READ_SPECS, match_sheets
from cpor_excel.model.columns import SheetSpec
from cpor_excel.model.findings import Finding
from cpor_excel.model.headers import column_letter, fold_header, header_lookup
from cpor_excel.model.workbook import SheetTable, WorkbookData

_SPARE_COLUMNS = 64  # unheaded columns read along on the fast path before rows are cut to the header

# Not in model/findings.py:CODES yet (asked for); reported as soon as it is registered.
DUPLICATE_COLUMN = "duplicate-column"


class SheetSource(Protocol):
    """The reading half of ``io.book.Book``: all the reader needs (a Book, or anything that reads rows)."""

    def sheet_names(self) -> list[str]: ...

    def read_rows(self, sheet: str) -> list[list[Any]]: ...


def read_workbook_data(book: SheetSource, source: str, only: Collection[str] | None = None) -> WorkbookData:
    """Read every data sheet and the tool sheets a run reads back; report missing sheets and columns.

    ``only``: the canonical names of the sheets to read, when not all of them (the others are not reported).
    """
    sheets: dict[str, SheetTable] = {}
    findings: list[Finding] = []
    present: list[tuple[SheetSpec, str]] = []
    for spec, actual in match_sheets(book.sheet_names()):
        if only is not None and spec.name not in only:
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
    findings.sort(key=lambda f: _SHEET_ORDER.get(f.sheet, len(_SHEET_ORDER)))
    return WorkbookData(source=source, sheets=sheets, findings=findings)


_SHEET_ORDER = {spec.name: i for i, spec in enumerate(READ_SPECS)}


def read_sheet(rows: Sequence[Sequence[Any]], spec: SheetSpec, name: str) -> tuple[SheetTable, list[Finding]]:
    """One sheet's rows (row 0 = Excel row 1, the header) -> its table and its header findings."""
    header = list(rows[0]) if rows else []
    lookup = header_lookup(spec)
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
                    cell=f"{column_letter(index)}1",
                )
            )
    width = max(positions.values(), default=-1) + 1
    findings += _missing_columns(spec, positions, width)
    frame = _data_frame(rows[1:], positions)
    return SheetTable(name=name, frame=frame, positions=positions, width=width), findings


def header_text(cell: Any) -> str | None:
    """A header cell as text; None when blank."""
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return None
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, (dt.date, dt.time)):
        return cell.isoformat()
    return str(cell).strip() or None


def _missing_columns(spec: SheetSpec, positions: dict[str, int], width: int) -> list[Finding]:
    out = []
    for column in spec.columns:
        if not column.required or column.name in positions:
            continue
        accepted = ", ".join((column.name, *column.aliases))
        out.append(
            Finding(
                "missing-column",
                spec.name,
                f"{spec.name} has no {column.name} column; add a header cell named {column.name} to row 1 "
                f"(accepted names: {accepted}).",
                column=column.name,
                cell=f"{column_letter(width)}1",  # the first free header cell, where it can go
            )
        )
    return out


def _data_frame(body: Sequence[Sequence[Any]], positions: dict[str, int]) -> pd.DataFrame:
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
    rows = np.flatnonzero(keep) + 2
    if not keep.all():
        cells = cells[keep]
    return pd.DataFrame(cells, index=pd.Index(rows, dtype="int64"), columns=labels, dtype=object)


def _grid(body: Sequence[Sequence[Any]], columns: list[int]) -> np.ndarray:
    """The chosen columns of the data rows as a 2-D object array, in C-level passes over the rows."""
    needed = max(columns) + 1
    lengths = set(map(len, body))
    width = lengths.pop() if len(lengths) == 1 else -1
    if needed <= width <= needed + _SPARE_COLUMNS:
        grid = np.array(body, dtype=object)  # rectangular rows (what a reader gives): the fast path
    else:
        # Ragged rows (a hand-built or live book), data narrower than the header, or a sheet far wider than
        # its headed columns (an XFD-wide used range): cut or pad every row to the headed width first.
        grid = np.array(
            [row[:needed] if len(row) >= needed else [*row, *([None] * (needed - len(row)))] for row in body],
            dtype=object,
        )
    return grid[:, columns]

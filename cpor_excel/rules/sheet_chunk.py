"""Several small workbooks' data sheets parsed and validated as one: what a batch pays per workbook. Pure.

A 40-customer workbook's data sheets (Customers, Associations, Usage, Milestones, Rate Card and Settings)
take about 70 ms of CPU to parse and validate, and nearly all of it is the fixed cost of each pandas and pandera call, not its rows: checked one
workbook at a time, a batch of a thousand partner workbooks pays it a thousand times. ``check_together``
checks each of those sheets of a chunk of workbooks in one ``prepare.check_data_sheet`` call and hands each
workbook back the same ``Checked`` its own call would have made, for ``prepare(data, checked_sheets)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cpor_excel.model.columns import DATA_SHEETS, Kind, SheetSpec
from cpor_excel.model.workbook import WorkbookData
from cpor_excel.rules.prepare import Checked, check_data_sheet, no_issues
from cpor_excel.rules.schemas import ROW_BITS, ROW_MASK, book_of
from cpor_excel.rules.values import numbers_only

#: the sheets checked together: every data sheet (``prepare`` uses Milestones' only when it has the required
#: columns, and checks the built-in example table itself)
SHEETS: tuple[SheetSpec, ...] = DATA_SHEETS

_NUMBERS = frozenset({int, float, np.int64, np.float64})


class SheetChunk:
    """One data sheet of several workbooks, checked as one sheet and split back per workbook.

    Why it gives every workbook exactly what checking it alone gives:
    - rows are numbered ``book << ROW_BITS | Excel row`` (``schemas.ROW_BITS``): every row label stays
      unique, a key is unique within its book (the schema's ``duplicate-key`` check and its message, which
      names the local row), and the split gives each workbook back its own Excel rows;
    - every other step is per cell or per row: values are parsed per distinct value, required cells and
      ranges per cell, and ``to_findings`` orders each workbook's findings by row and column;
    - parsing converts each distinct value once, and Python takes ``True == 1 == 1.0`` for one value: a
      column that mixes booleans and numbers, or whole and fractional numbers, across the chunk could give a
      cell another cell's reading. Such a sheet is checked one workbook at a time (``safe``); a count,
      number or percentage column of numbers only is parsed cell by cell, and needs no such care;
    - workbooks are chunked only with others that have the same columns of this sheet (an absent column is
      taken as empty and not reported again, per workbook).
    The chunk's frame is made from the raw frames' cells in one copy (``columns`` picks them from each).
    """

    def __init__(self, spec: SheetSpec, raws: Sequence[pd.DataFrame], columns: Sequence[str]) -> None:
        self.spec = spec
        self.raws = list(raws)
        self.columns = list(columns)
        self._cells: np.ndarray | None = None

    def cells(self) -> np.ndarray:
        """The chunk's cells of ``columns``, one row of the array per column (workbook after workbook along
        it: the layout of a pandas block, so the chunk's frame is made without another copy)."""
        if self._cells is None:
            wanted = pd.Index(self.columns)
            picked = []
            for raw in self.raws:
                cells = raw.to_numpy(dtype=object).T  # (a view of the raw frame's one block)
                if not raw.columns.equals(wanted):  # (else every column, in order: no copy to pick them)
                    cells = cells[raw.columns.get_indexer(wanted)]
                picked.append(cells)
            self._cells = (
                np.concatenate(picked, axis=1) if picked else np.empty((len(self.columns), 0), dtype=object)
            )
        return self._cells

    def safe(self) -> bool:
        """True when checking these raw frames as one gives each the same result as alone."""
        for raw in self.raws:
            if len(raw) and (
                not pd.api.types.is_integer_dtype(raw.index.dtype) or raw.index.max() > ROW_MASK
            ):
                return False
        cells = self.cells()
        kinds_of = {column.name: column.kind for column in self.spec.columns}
        for at, name in enumerate(self.columns):
            column = cells[at]
            kind = kinds_of[name]
            if kind in _CELL_BY_CELL and numbers_only(column):
                continue  # (parsed cell by cell, not value by value: whatever types its numbers have)
            if kind not in _NUMBER_KINDS and (pd.api.types.infer_dtype(column, skipna=True) in _ONE_KIND):
                continue  # (no boolean, at most one type of number: NaN, which skipna passes over)
            kinds = set(map(type, column.tolist()))
            numbers = kinds & _NUMBERS
            if ((bool in kinds or np.bool_ in kinds) and numbers) or len(numbers) > 1:
                return False
        return True

    def checked(self) -> list[Checked]:
        """Each workbook's ``Checked``, in the order of the raw frames."""
        if len(self.raws) == 1 or not self.safe():
            return [check_data_sheet(self.spec, raw[self.columns]) for raw in self.raws]
        rows = np.concatenate(
            [raw.index.to_numpy(dtype="int64") + (book << ROW_BITS) for book, raw in enumerate(self.raws)]
        )
        together = pd.DataFrame(
            self.cells().T,
            index=pd.Index(rows, dtype="int64"),
            columns=self.columns,
            dtype=object,
            copy=False,
        )  # object, as the raw frames are: not pandas' inferred "str" (which would make None NaN)
        sheet = check_data_sheet(self.spec, together)
        # each book's issues, in their order: a stable sort by book, then one slice per book
        books = book_of(sheet.issues.index)
        order = np.argsort(books, kind="stable")
        issues = sheet.issues.iloc[order]
        local = issues.index.to_numpy(dtype="int64") & ROW_MASK
        bounds = np.searchsorted(books[order], np.arange(len(self.raws) + 1))
        out = []
        start = 0
        for book, raw in enumerate(self.raws):
            frame = sheet.frame.iloc[start : start + len(raw)]
            frame.index = raw.index  # (a new frame of its own: setting its index changes no other)
            start += len(raw)
            low, high = bounds[book], bounds[book + 1]
            if low == high:  # (most workbooks: no issue on most sheets)
                mine = no_issues()
            else:
                mine = issues.iloc[low:high]
                mine.index = pd.Index(local[low:high], dtype="int64")
            out.append(Checked(self.spec, frame, mine))
        return out


#: columns that hold numbers (or booleans) when filled in as asked: their cells' types are looked at at once
_NUMBER_KINDS = frozenset({Kind.COUNT, Kind.NUMBER, Kind.PERCENT, Kind.YESNO, Kind.DIGITS})
#: columns whose numbers are parsed cell by cell when they hold nothing else (``values.numbers_only``)
_CELL_BY_CELL = frozenset({Kind.COUNT, Kind.NUMBER, Kind.PERCENT})
#: what ``infer_dtype`` says of a column that holds no boolean and no number (but maybe NaN)
_ONE_KIND = frozenset({"string", "bytes", "date", "datetime", "datetime64", "time", "timedelta", "empty"})


def check_together(datas: Sequence[WorkbookData]) -> list[dict[str, Checked]]:
    """For each workbook, its ``SHEETS`` parsed and validated, checked together with the other workbooks
    that have the same columns of that sheet. A workbook without the sheet is left to ``prepare``."""
    out: list[dict[str, Checked]] = [{} for _ in datas]
    for spec in SHEETS:
        wanted = [c.name for c in spec.columns]
        alike: dict[tuple[str, ...], list[int]] = {}
        for i, data in enumerate(datas):
            table = data.sheets.get(spec.name)
            if table is not None:
                alike.setdefault(tuple(c for c in wanted if c in table.frame), []).append(i)
        for columns, books in alike.items():
            raws = [datas[i].sheets[spec.name].frame for i in books]
            for i, checked in zip(books, SheetChunk(spec, raws, columns).checked(), strict=True):
                out[i][spec.name] = checked
    return out

"""The one small interface every front door writes through (a file on disk, or the live book in Excel).

The engine reads sheets and writes results only through ``Book``; ``FileBook`` (calamine + the xlsx patch
writer) and ``LiveBook`` (xlwings) implement it, so the engine is tested once against real files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from cpor_excel.model.dashboard import Dashboard

#: what the tool writes into a cell: text (always written as text, never as a formula), a number,
#: a boolean, or nothing (clears the cell's value)
CellValue = str | int | float | bool | dt.date | dt.datetime | None


class Book(Protocol):
    """A workbook as the engine sees it. Rows and columns are Excel's (row 1 = first row); ``col`` is 0-based."""

    def sheet_names(self) -> list[str]:
        """Sheet names in workbook order (worksheets only)."""

    def read_rows(self, sheet: str) -> list[list[Any]]:
        """The sheet's values from A1 to the end of its used range, as rows of Python values.

        Empty cells are None; formulas give their cached values; dates are datetime/date objects;
        formula errors are the error text ("#N/A"). Row i of the list is Excel row i + 1.
        """

    def set_columns(
        self,
        sheet: str,
        headers: Sequence[str],
        rows: Sequence[int],
        values: Sequence[Sequence[CellValue]],
        *,
        header_row: int = 1,
    ) -> None:
        """Write the tool's columns into a user sheet whose header is in ``header_row``.

        Each header is found among the tool's own columns of that row (case-insensitively) or added after
        the last used column: the tool's are those its mark lists (a hidden name of the sheet), or, in a
        workbook written before the mark, "Check Result" followed by "Check Notes" and the tool columns
        after them; a user's own column of the same name is never taken over. Column ``headers[j]`` gets
        ``values[j][i]`` at Excel row ``rows[i]``; every other cell below the header in that column is
        cleared (stale results of an earlier run vanish). A column headed "Check Result" is coloured by
        its value (OK, WARNING, ERROR, CONFLICT) where the implementation can.
        """

    def set_cells(self, sheet: str, cells: Mapping[tuple[int, int], CellValue]) -> None:
        """Set given cells (Excel row, 0-based column) of a sheet; used by the usage import."""

    def append_rows(self, sheet: str, rows: Sequence[Sequence[CellValue]]) -> list[int]:
        """Append rows after the sheet's last used row, starting at column A; returns their row numbers."""

    def replace_sheet(
        self,
        sheet: str,
        header: Sequence[str],
        rows: Sequence[Sequence[CellValue]],
        formats: Mapping[str, str] | None = None,
    ) -> None:
        """Create the tool sheet, or replace all its content, with a header row and data rows.

        ``formats``: how a column's numbers read, by header ("percent", "amount", "count": ``io/looks.py``)."""

    def append_to_sheet(
        self,
        sheet: str,
        header: Sequence[str],
        rows: Sequence[Sequence[CellValue]],
        formats: Mapping[str, str] | None = None,
    ) -> None:
        """Append rows to a tool sheet (created with ``header`` when missing). Existing rows are never changed."""

    def replace_dashboard(self, sheet: str, dashboard: Dashboard, renaming: str | None = None) -> None:
        """Create the dashboard sheet, or replace it: its cells and charts as ``io/dashboard.py`` lays out.
        ``renaming``: the tool's dashboard sheet under an earlier name, renamed ``sheet`` and replaced."""

"""An in-memory Book for tests: ``MemoryBook({"Customers": [[header...], [row...], ...]})``.

Reads give the rows back as given (row i = Excel row i + 1; rows may be ragged, cells may be "" or None),
like a reader would. Writes follow the Book protocol's documented behaviour on the same lists, so the engine
can be tested without a file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cpor_excel.io.book import CellValue
from cpor_excel.io.dashboard import grid, lay_out
from cpor_excel.model.dashboard import Dashboard
from cpor_excel.model.headers import fold_header, own_columns


class MemoryBook:
    def __init__(self, sheets: Mapping[str, Sequence[Sequence[Any]]]) -> None:
        self.sheets: dict[str, list[list[Any]]] = {
            name: [list(r) for r in rows] for name, rows in sheets.items()
        }
        self.dashboards: dict[str, Dashboard] = {}

    # -------------------------------------------------------------------------------------- reading
    def sheet_names(self) -> list[str]:
        return list(self.sheets)

    def read_rows(self, sheet: str) -> list[list[Any]]:
        return [list(r) for r in self.sheets[sheet]]

    # -------------------------------------------------------------------------------------- writing
    def set_columns(
        self,
        sheet: str,
        headers: Sequence[str],
        rows: Sequence[int],
        values: Sequence[Sequence[CellValue]],
        *,
        header_row: int = 1,
    ) -> None:
        grid = self.sheets[sheet]
        row = grid[header_row - 1] if len(grid) >= header_row else []
        cells = [(at, cell) for at, cell in enumerate(row) if cell is not None and str(cell).strip()]
        own = own_columns(cells, headers, None)
        for header, column_values in zip(headers, values, strict=True):
            col = own.get(fold_header(header))
            if col is None:
                col = self._used_width(grid)
                self._put(grid, header_row, col, header)
            for r in range(header_row + 1, len(grid) + 1):  # stale results of an earlier run vanish
                if col < len(grid[r - 1]):
                    grid[r - 1][col] = None
            for row, value in zip(rows, column_values, strict=True):
                self._put(grid, row, col, value)

    def set_cells(self, sheet: str, cells: Mapping[tuple[int, int], CellValue]) -> None:
        for (row, col), value in cells.items():
            self._put(self.sheets[sheet], row, col, value)

    def append_rows(self, sheet: str, rows: Sequence[Sequence[CellValue]]) -> list[int]:
        grid = self.sheets[sheet]
        start = self._used_height(grid) + 1
        for i, row in enumerate(rows):
            for col, value in enumerate(row):
                self._put(grid, start + i, col, value)
        return list(range(start, start + len(rows)))

    def replace_sheet(
        self, sheet: str, header: Sequence[str], rows: Sequence[Sequence[CellValue]], formats: Any = None
    ) -> None:
        self.sheets[sheet] = [list(header), *[list(r) for r in rows]]

    def append_to_sheet(
        self, sheet: str, header: Sequence[str], rows: Sequence[Sequence[CellValue]], formats: Any = None
    ) -> None:
        if sheet not in self.sheets:
            self.sheets[sheet] = [list(header)]
        self.append_rows(sheet, rows)

    def replace_dashboard(self, sheet: str, dashboard: Dashboard, renaming: str | None = None) -> None:
        """The dashboard's cells where the writers put them; the dashboard itself kept for the tests."""
        if renaming is not None:
            self.sheets = {sheet if name == renaming else name: rows for name, rows in self.sheets.items()}
        self.sheets[sheet] = grid(lay_out(dashboard, sheet))
        self.dashboards[sheet] = dashboard

    # -------------------------------------------------------------------------------------- helpers
    @staticmethod
    def _blank(value: Any) -> bool:
        return value is None or value == ""

    @classmethod
    def _used_height(cls, grid: list[list[Any]]) -> int:
        for r in range(len(grid), 0, -1):
            if not all(cls._blank(v) for v in grid[r - 1]):
                return r
        return 0

    @classmethod
    def _used_width(cls, grid: list[list[Any]]) -> int:
        width = 0
        for row in grid:
            for c in range(len(row), 0, -1):
                if not cls._blank(row[c - 1]):
                    width = max(width, c)
                    break
        return width

    @staticmethod
    def _put(grid: list[list[Any]], row: int, col: int, value: Any) -> None:
        while len(grid) < row:
            grid.append([])
        line = grid[row - 1]
        if len(line) <= col:
            line.extend([None] * (col + 1 - len(line)))
        line[col] = value

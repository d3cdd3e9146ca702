"""``CellRows``: rows of cell values that are kept as columns.

The rows a run adds to tool sheets come out of frames column by column (``apply.new_rows``), and the xlsx
writer builds a sheet's XML column by column too (``xlsx/sheet_doc.py``): turning 75,000 ledger rows into
lists of cells and back into columns costs more than writing them. ``CellRows`` is the Sequence of rows
every Book takes (a row is made when it is read), and the file writer takes its ``columns`` as they are.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

from cpor_excel.io.book import CellValue


class CellColumn(list[CellValue]):
    """A column of cell values that knows the types of its values (but None's), and maybe the length of its
    longest text, as the code that made it knew them (``apply``): the writer's passes that need them
    (``kinds_of``, a column's width, its cells' XML) then do not look at every value again (a run writes
    millions of cells). A list like any other; nothing changes it once it is made (a changed copy is a
    plain list, whose values are looked at)."""

    __slots__ = ("kinds", "longest")

    def __init__(
        self, values: Iterable[CellValue], kinds: Iterable[type], longest: int | None = None
    ) -> None:
        """``longest``: the length of its longest text, when its maker knows it (a column of texts)."""
        super().__init__(values)
        self.kinds = frozenset(kinds) if len(self) else frozenset()
        self.longest = longest if len(self) else 0


def kinds_of(values: Sequence[Any]) -> set[type]:
    """The types of ``values`` but None's: a ``CellColumn`` knows them, other sequences are looked at."""
    if type(values) is CellColumn:
        return set(values.kinds)
    kinds = set(map(type, values))
    kinds.discard(type(None))
    return kinds


def longest_text(values: Sequence[object]) -> int:
    """The length of the longest text among ``values`` (numbers as Excel shows them, about)."""
    known = getattr(values, "longest", None) if type(values) is CellColumn else None
    if known is not None:
        return known
    kinds = kinds_of(values)
    if kinds <= {str}:  # the usual column: lengths at C speed
        return max(map(len, filter(None, values)), default=0)  # type: ignore[arg-type]
    if kinds == {float} or kinds == {int}:  # the longest is the smallest or the biggest (digits, sign)
        numbers: list[float] = [value for value in values if value is not None]  # type: ignore[misc]
        lowest, highest = min(numbers), max(numbers)
        if math.isfinite(lowest) and math.isfinite(highest):  # (a first NaN is kept by min and max)
            return max(len(_shown(lowest)), len(_shown(highest)))
    try:
        distinct: Iterable[object] = set(values)
    except TypeError:  # an unhashable value
        distinct = values
    return max((len(_shown(value)) for value in distinct if value is not None), default=0)


def _shown(value: object) -> str:
    return value if isinstance(value, str) else (f"{value:,.2f}" if isinstance(value, float) else str(value))


class CellRows(Sequence[list[CellValue]]):
    """Rows of cell values, held as equally long columns (``columns[j][i]`` is row i's value j)."""

    def __init__(self, columns: Sequence[Sequence[CellValue]]) -> None:
        self.columns = [column if isinstance(column, list) else list(column) for column in columns]
        if len({len(column) for column in self.columns}) > 1:
            raise ValueError("CellRows needs columns of one length")

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    @overload
    def __getitem__(self, at: int) -> list[CellValue]: ...
    @overload
    def __getitem__(self, at: slice) -> CellRows: ...
    def __getitem__(self, at: int | slice) -> list[CellValue] | CellRows:
        if isinstance(at, slice):
            if at.indices(len(self)) == (0, len(self), 1):  # the whole: the columns as they are (with kinds)
                return self
            return CellRows([column[at] for column in self.columns])
        if not -len(self) <= at < len(self):
            raise IndexError(at)
        return [column[at] for column in self.columns]

    def __iter__(self) -> Iterator[list[CellValue]]:
        return map(list, zip(*self.columns, strict=True)) if self.columns else iter(())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"CellRows({len(self)} rows of {len(self.columns)} cells)"

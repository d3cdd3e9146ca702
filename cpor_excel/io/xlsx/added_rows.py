"""``AddedRows``: the rows a run adds past a sheet's last row, as finished row XML, a block at a time; and
``interleave``, which builds the XML of a block of rows in one join.

Why a class: the rows of a tool sheet (85,000 report rows of six cells, 75,000 ledger rows) are built a block
of rows at a time as one flat list of pieces (row tags, refs, cell XML) joined once, instead of bytes of
their own for every cell and every row. A block is written out whole as it is; one row is split out of it
(``_split``) only when something edits or reads that row (a put on an added row, a column written over added
rows, the widths of a sheet whose added rows were edited), which a usual run does not do. Once split, the rows
are one dict, kept in the order they were added.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterator, Sequence
from itertools import chain, compress, repeat
from operator import is_not
from typing import cast

from cpor_excel.io.xlsx.cells import FORCED, Edit, letters_of

#: None (no cell) -> no bytes: ``_NO_CELL.get(edit, piece)`` is ``piece`` where the edit makes a cell
_NO_CELL: dict[Edit, bytes] = {None: b""}


def cell_pieces(
    opening: bytes, digits: list[bytes], edits: list[Edit], empty: int | None = None
) -> list[bytes | list[bytes]]:
    """The pieces of one column's cells in a block of rows (``interleave``): its cells' start (``<c r="`` and
    the column's letters), each row's digits and each cell's edit; nothing where the edit is None. A column
    of mostly empty cells (notes) gets one piece per row, made only where there is a cell."""
    empty = edits.count(None) if empty is None else empty  # (``empty``: the caller counted the Nones)
    if not empty:
        return [opening, digits, cast(list[bytes], edits)]  # (no None among them)
    if empty == len(edits):
        return []
    if 2 * empty > len(edits):
        cells = [b""] * len(edits)
        for at in compress(range(len(edits)), map(is_not, edits, repeat(None))):
            cells[at] = opening + digits[at] + edits[at]  # type: ignore[operator]
        return [cells]
    no_cell: Callable[[Edit, Edit], bytes] = _NO_CELL.get  # type: ignore[assignment]
    return [
        list(map(no_cell, edits, repeat(opening))),
        list(map(no_cell, edits, digits)),
        list(map(no_cell, edits, edits)),
    ]


def replacing_cell(
    c_open: bytes, row: bytes, column: int, edit: Edit, style: bytes | None, check_ids: Container[int]
) -> bytes:
    """A cell (``c_open``: its tag's start, up to the ref) replacing one that had the s attribute ``style``
    (kept unless it is a check colour)."""
    if style is not None and int(style) in check_ids:
        style = None
    if edit is None:  # cleared: keep an empty cell only to keep the user's own format
        return c_open + letters_of(column) + row + b'" s="' + style + b'"/>' if style is not None else b""
    if style is not None and not edit.startswith(FORCED):
        return c_open + letters_of(column) + row + b'" s="' + style + edit
    return c_open + letters_of(column) + row + edit


def interleave(count: int, parts: Sequence[bytes | list[bytes]]) -> bytes:
    """The XML of ``count`` rows: for each row, every part in turn (a constant, or one piece per row).
    Slice assignments and one join, at C speed: no bytes of their own for a cell or a row."""
    width = len(parts)
    flat: list[bytes] = [b""] * (count * width)
    for at, part in enumerate(parts):
        flat[at::width] = [part] * count if isinstance(part, bytes) else part
    return b"".join(flat)


def empty_rows(columns: Sequence[Sequence[Edit]], empty: Sequence[int]) -> set[int]:
    """Positions of the rows where every column's edit is None (such a row gets no row element); ``empty``:
    each column's count of Nones."""
    if not columns or 0 in empty:
        return set()
    first, *others = (
        edits for _, edits in sorted(zip(empty, columns, strict=True), key=lambda pair: pair[0])
    )
    found = [at for at, edit in enumerate(first) if edit is None]
    for edits in others:
        found = [at for at in found if edits[at] is None]
    return set(found)


class AddedRows:
    """Rows added past a sheet's rows, by row number, in the order added; a dict of row XML to its callers."""

    def __init__(self, close_row: bytes) -> None:
        self._close = close_row
        self._blocks: list[tuple[Sequence[int], bytes]] = []  # (row numbers, ascending; their XML)
        self._rows: dict[int, bytes] | None = None  # split out (then the blocks are gone)

    def add_block(self, numbers: Sequence[int], xml: bytes) -> None:
        """Rows ``numbers`` (after every row added so far), whose XML ``xml`` is, each ending in ``</row>``."""
        if self._rows is None:
            self._blocks.append((numbers, xml))
        else:
            self._rows.update(self._rows_of(numbers, xml))

    def _rows_of(self, numbers: Sequence[int], xml: bytes) -> Iterator[tuple[int, bytes]]:
        close = self._close
        pieces = xml.split(close)  # (row XML holds no "</row>" but at its end: texts escape "<")
        return zip(numbers, (piece + close for piece in pieces[:-1]), strict=True)

    def _split(self) -> dict[int, bytes]:
        if self._rows is None:
            rows: dict[int, bytes] = {}
            for numbers, xml in self._blocks:
                rows.update(self._rows_of(numbers, xml))
            self._rows, self._blocks = rows, []
        return self._rows

    def chunks(self) -> Iterator[bytes]:
        """The rows' XML in order, a block (or 8,192 split rows) at a time."""
        if self._rows is None:
            for _, xml in self._blocks:
                yield xml
            return
        rows = list(self._rows.values())
        for at in range(0, len(rows), 8192):
            yield b"".join(rows[at : at + 8192])

    def last(self) -> int:
        """The number of the row added last."""
        if self._rows is not None:
            return next(reversed(self._rows))
        return self._blocks[-1][0][-1]

    @property
    def size(self) -> int:
        """The bytes of the rows' XML."""
        if self._rows is not None:
            return sum(map(len, self._rows.values()))
        return sum(len(xml) for _, xml in self._blocks)

    def __len__(self) -> int:
        return len(self._rows) if self._rows is not None else sum(len(n) for n, _ in self._blocks)

    def __iter__(self) -> Iterator[int]:
        if self._rows is not None:
            return iter(list(self._rows))
        return chain.from_iterable(numbers for numbers, _ in self._blocks)

    def __contains__(self, row: object) -> bool:
        if self._rows is not None:
            return row in self._rows
        for numbers, _ in self._blocks:
            if isinstance(row, int) and numbers[0] <= row <= numbers[-1] and row in numbers:
                return True
        return False

    def __getitem__(self, row: int) -> bytes:
        return self._split()[row]

    def __setitem__(self, row: int, xml: bytes) -> None:
        self._split()[row] = xml

    def __delitem__(self, row: int) -> None:
        del self._split()[row]

    def get(self, row: int) -> bytes | None:
        return self._split().get(row)

    def items(self) -> list[tuple[int, bytes]]:
        return list(self._split().items())

    def values(self) -> list[bytes]:
        return list(self._split().values())

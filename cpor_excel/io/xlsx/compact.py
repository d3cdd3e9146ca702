"""A worksheet read by its real content: rows that only a format fills are skipped, cheaply.

A format applied to whole columns is stored by some producers as an empty styled cell in every row down to
row 1,048,576 (``<row r="9"><c r="A9" s="1"/>...<c r="Z9" s="1"/></row>``): 27 million cells for 26
columns, hundreds of MB of XML around a few MB of values. Reading them costs a reader (calamine) as much as
values do, and keeping them costs the writer as much memory. So a big sheet is inflated a block of rows at
a time, and a block holding no value (no ``<v>``, ``<is>`` or ``<f>``), whose rows and cells all carry refs,
is *hidden*: left out of the XML the reader parses and the writer edits, with only what the writer needs
kept (the rows it covers and how wide they reach). The file keeps every byte of them: the writer streams
the original part when it renders the sheet (``sheet_render.py``), and gives the hidden blocks back as they
were. Blocks are cut the same way each time (``row_blocks``), so both passes see the same blocks.

Tested: ``tests/test_hostile_packages.py``; measured: ``benchmarks/bench_styled.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from cpor_excel.io.xlsx.scan import utf8_xml
from cpor_excel.model.headers import column_index

#: a part at least this big (declared size) is read a block at a time
STREAM_FROM = 32 * 1024**2
#: blocks are cut at the first ``</row>`` starting this many bytes or more into a block
BLOCK = 4 * 1024**2
_HEAD = 64 * 1024  # the sheetData tag is looked for in the part's first bytes (a sheet's prolog is small)
_MAX_HEAD = 16 * 1024**2
_LETTERS = re.compile(rb"[A-Z]{1,3}")
_SHEET_DATA = re.compile(rb"<([\w.-]+:)?sheetData\b[^>]*?(/?)>")
_SELF_CLOSED = re.compile(rb'"/>')


@dataclass
class Hidden:
    """What a compact sheet left out: blocks of rows only a format fills (the writer needs their rows and
    their width, and knows they hold no value), and the empty cells after each other row's last value."""

    rows: list[tuple[int, int]] = field(default_factory=list)  # (first, last) row of each hidden block
    width: int = 0  # 1-based column of their rightmost cell
    trimmed: int = 0  # 1-based column of the rightmost empty cell cut from the end of a kept row
    size: int = 0  # bytes of the original part
    blocks: list[bool] = field(default_factory=list)  # per block of the part: left out

    def covers(self, row: int) -> bool:
        return any(first <= row <= last for first, last in self.rows)


@dataclass
class CompactSheet:
    """A sheet's XML without its hidden blocks (``hidden`` None when nothing was left out: ``xml`` is then
    the part as it is)."""

    xml: bytes
    hidden: Hidden | None


class _Tags:
    """The sheet data's tags under its namespace prefix."""

    def __init__(self, prefix: bytes) -> None:
        self.row = b"<" + prefix + b"row"
        self.row_ref = b"<" + prefix + b'row r="'
        self.close_row = b"</" + prefix + b"row>"
        self.end_cell = b"</" + prefix + b"c>"
        self.cell_ref = b"<" + prefix + b'c r="'
        self.values = tuple(
            b"<" + prefix + tag for tag in (b"v>", b"v ", b"is>", b"is ", b"f>", b"f ", b"f/")
        )
        self.row_number = re.compile(re.escape(self.row_ref) + rb'(\d+)"')
        self.cell_letters = re.compile(re.escape(self.cell_ref) + rb"([A-Z]{1,3})\d")

    def rows_of(self, block: bytes) -> tuple[int, int] | None:
        """(first, last) row of a block that only a format fills, else None. Three counts decide it: when
        every ``<`` of the block opens a row, closes one, or opens an element that closes itself after a
        quoted attribute (``<c r="F9" s="1"/>``), there is no value, formula or anything else in it."""
        if self.values[0] in block:  # a value (the usual block): found near its start, no count needed
            return None
        closes = block.count(self.close_row)
        if not closes or block.count(b"<") != 2 * closes + block.count(b'"/>'):
            return None
        first = self.row_number.match(block, max(block.find(self.row_ref), 0))
        last = self.row_number.match(block, max(block.rfind(self.row_ref), 0))
        if first is None or last is None:
            return None
        return int(first.group(1)), int(last.group(1))

    def trim(self, block: bytes) -> tuple[bytes, int]:
        """A block of rows with values, without the empty cells that end its rows (a format reaching past
        the values), and the 1-based column of the rightmost one cut (0: none). A row keeps everything up
        to its last cell with content; what follows must be only self-closing cells (as many ``<`` as
        ``"/>``)."""
        if _SELF_CLOSED.search(block) is None:  # (quicker than ``in`` where there is none)
            return block, 0
        close, end_cell = self.close_row, self.end_cell
        rows = block.split(close)
        cut_letters: set[bytes] = set()
        out = []
        for row in rows[:-1]:  # (the block ends with a </row>: the last piece is empty)
            at = row.rfind(end_cell)
            if at >= 0 and not row.endswith(end_cell):
                tail = row[at + len(end_cell) :]
                if tail.count(b"<") == tail.count(b'"/>'):
                    letters = _LETTERS.match(tail, tail.rfind(self.cell_ref) + len(self.cell_ref))
                    cut_letters.add(letters.group() if letters else b"XFD")  # (no ref: assume the widest)
                    row = row[: at + len(end_cell)]
            out.append(row)
        out.append(rows[-1])
        widest = max(cut_letters, key=lambda letters: (len(letters), letters), default=b"")
        return close.join(out), (column_index(widest.decode("ascii")) + 1 if widest else 0)

    def widest(self, block: bytes) -> int:
        """1-based column of the rightmost cell of a block's first and last rows (a format applied to whole
        columns reaches as far in every row; the width only places the tool's new columns)."""
        widest = 0
        for close in (block.find(self.close_row), block.rfind(self.close_row)):
            at = block.rfind(self.cell_ref, 0, close)
            ref = self.cell_letters.match(block, at) if at >= 0 else None
            if ref is not None:
                widest = max(widest, column_index(ref.group(1).decode("ascii")) + 1)
        return widest


def row_blocks(stream: IO[bytes]) -> Iterator[bytes]:
    """The inflated part as pieces: its head (through the ``<sheetData>`` tag), blocks of whole rows (each
    ending with a ``</row>``: cut at the first one starting ``BLOCK`` bytes or more into the block, so the
    cuts depend on the bytes alone) and its tail (after the last ``</row>``). A part without rows, or one
    this cannot cut (UTF-16, a prolog of megabytes), is one piece."""
    head = stream.read(_HEAD)
    match = _SHEET_DATA.search(head)
    while match is None and len(head) < _MAX_HEAD:
        more = stream.read(_HEAD)
        if not more:
            break
        head += more
        match = _SHEET_DATA.search(head)
    opening = head[:4]
    if match is None or match.group(2) or utf8_xml(opening) is not opening:  # (UTF-16: converted whole)
        yield utf8_xml(head + stream.read())
        return
    close = _Tags(match.group(1) or b"").close_row
    yield head[: match.end()]
    pending, done = head[match.end() :], False
    while True:
        cut = pending.find(close, BLOCK)
        while cut < 0 and not done:
            chunk = stream.read(BLOCK)
            if not chunk:
                done = True
                break
            if len(pending) <= BLOCK:  # the cut can only start in the chunk: one copy makes the block
                at = chunk.find(close, BLOCK - len(pending))
                if at >= 0:
                    at += len(close)
                    yield b"".join((pending, memoryview(chunk)[:at]))
                    pending = chunk[at:]
                    cut = pending.find(close, BLOCK)
                    continue
            start = max(BLOCK, len(pending) - len(close))
            pending += chunk
            cut = pending.find(close, start)
        if cut < 0:  # the end of the part: the rows left, then the tail
            last = pending.rfind(close)
            if last >= 0:
                yield pending[: last + len(close)]
                pending = pending[last + len(close) :]
            yield pending
            return
        yield pending[: cut + len(close)]
        pending = pending[cut + len(close) :]


def _pieces(stream: IO[bytes]) -> tuple[bytes, _Tags | None, Iterator[tuple[bytes, tuple[int, int] | None]]]:
    """The head, the tags, and each further piece with its (first, last) row when it is a block only a
    format fills (never the tail, which is the last piece)."""
    pieces = row_blocks(stream)
    head = next(pieces)
    match = _SHEET_DATA.search(head)
    if match is None or match.group(2):
        return head, None, iter(())
    tags = _Tags(match.group(1) or b"")

    def marked() -> Iterator[tuple[bytes, tuple[int, int] | None]]:
        previous: bytes | None = None
        for piece in pieces:
            if previous is not None:
                yield previous, tags.rows_of(previous)
            previous = piece
        if previous is not None:
            yield previous, None

    return head, tags, marked()


def compact_sheet(stream: IO[bytes]) -> CompactSheet:
    """Read a sheet part a block at a time; leave out the blocks only a format fills, and the empty cells
    that end the rows of the others (see the notes)."""
    head, tags, pieces = _pieces(stream)
    if tags is None:
        return CompactSheet(head, None)
    kept: list[bytes] = [head]
    hidden = Hidden()
    size = len(head)
    for piece, rows in pieces:
        size += len(piece)
        hidden.blocks.append(rows is not None)
        if rows is None:
            trimmed, widest = tags.trim(piece)
            kept.append(trimmed)
            hidden.trimmed = max(hidden.trimmed, widest)
            continue
        hidden.rows.append(rows)
        hidden.width = max(hidden.width, tags.widest(piece))
    if not hidden.rows and not hidden.trimmed:
        return CompactSheet(b"".join(kept), None)
    hidden.size = size
    return CompactSheet(b"".join(kept), hidden)


def original_blocks(stream: IO[bytes], hidden: Hidden) -> Iterator[tuple[bytes, bool]]:
    """The original part again as (piece, left out): the same head, blocks and tail ``compact_sheet`` saw
    (the cuts depend on the bytes alone), each block marked as it was then (the writer streams these when
    it renders a compact sheet)."""
    pieces = row_blocks(stream)
    yield next(pieces), False
    marks = iter(hidden.blocks)
    for piece in pieces:
        yield piece, next(marks, False)

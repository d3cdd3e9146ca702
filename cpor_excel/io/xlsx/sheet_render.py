"""A ``SheetDoc`` and its edits rendered back into worksheet XML, in chunks.

Two paths. The bulk path, for the usual run (whole tool columns at the right end of every row): the sheet
data is cut at every ``</row>`` a block at a time and the new cells go in before each one, with C-speed
passes and no Python per row; it is taken only when C-speed checks prove it safe (every cell has a plain
ref, none right of the tool's columns, no row self-closing, no format of the user's on a cell it would drop).
Otherwise the general path walks the rows and rewrites each edited one (``SheetDoc.edit_row``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from itertools import chain, repeat

from cpor_excel.errors import NotAWorkbook
from cpor_excel.io.xlsx.added_rows import cell_pieces, interleave
from cpor_excel.io.xlsx.cells import FORCED, Edit, index_of, letters_of, payload_length, row_digits
from cpor_excel.io.xlsx.compact import original_blocks
from cpor_excel.io.xlsx.scan import search_windows
from cpor_excel.io.xlsx.sheet_doc import _DIMENSION, _REF, SheetDoc
from cpor_excel.io.xlsx.sheet_frame import with_auto_filter, with_widths
from cpor_excel.model.headers import column_letter

#: the bulk render cuts the sheet data into rows about this many bytes at a time
_BLOCK = 1 << 20


class _Group:
    """Column blocks sharing one row list (``set_columns`` writes its columns for the same rows)."""

    def __init__(self, rows: Sequence[int]) -> None:
        self.rows = rows
        self.columns: list[tuple[int, list[Edit]]] = []
        self._index: dict[int, int] | None = None

    @property
    def index(self) -> dict[int, int]:
        """Row -> position in ``rows`` (the last one, for a row listed twice)."""
        if self._index is None:
            self._index = dict(zip(self.rows, range(len(self.rows)), strict=True))
        return self._index


def render(doc: SheetDoc, check_ids: set[int], widths: bool = False) -> Iterator[bytes]:
    """The patched sheet XML, in chunks of a few thousand rows."""
    if doc.hidden is not None:  # a compact sheet: its original part streamed, or read whole
        plan = _overlay_plan(doc, check_ids)
        if plan is not None:
            yield from _render_overlay(doc, *plan, widths)
            return
        doc = _whole(doc)
    yield _head(doc, widths)
    groups = _groups(doc)
    new_rows = _new_rows(doc, groups)
    trailing = None if doc.added else _trailing(doc, groups, check_ids)
    bulk, old_cells = False, None
    if trailing is not None and (not new_rows or new_rows[0] > doc.last_num):
        bulk, old_cells = _bulk_plan(doc, *trailing)
    if bulk:
        yield from _render_bulk(doc, groups, old_cells, new_rows)
    else:
        yield doc.lead
        edited = set(doc.puts).union(*(group.rows for group in groups))
        yield from _render_rows(doc, groups, edited, new_rows, check_ids)
    yield _tail(doc)


def _new_rows(doc: SheetDoc, groups: list[_Group]) -> list[int]:
    """The rows the edits make, in order: rows no row element of the sheet (nor an added row) holds yet.
    A group that writes every row but the header, as a run does, makes none (told by one list compare)."""
    edited = set(doc.puts)
    every_row = doc.nums[1:] if doc.nums[:1] == [1] else None
    for group in groups:
        if group.rows != every_row:
            edited.update(group.rows)
    return sorted(edited.difference(doc.nums).difference(doc.added)) if edited else []


def _tail(doc: SheetDoc) -> bytes:
    if not doc.auto_filter or not doc.edit_rows[0]:
        return doc.tail
    head = _DIMENSION.search(doc.head)
    ref = _dimension(doc, head.group(2) if head else b"").decode()
    ref = ref if ":" in ref else f"{ref}:{ref}"
    return with_auto_filter(doc.tail, doc.prefix, "A1:" + ref.split(":")[1])


def _render_rows(
    doc: SheetDoc, groups: list[_Group], edited: set[int], new_rows: list[int], check_ids: set[int]
) -> Iterator[bytes]:
    """Row by row: each edited row parsed as far as needed (the general path)."""
    sep, clear, pending = doc.sep, bool(doc.clear), 0
    out: list[bytes] = []
    for chunk, number in zip(doc.rows, doc.nums, strict=True):
        while pending < len(new_rows) and new_rows[pending] < number:
            out.append(_new_row(doc, new_rows[pending], groups))
            pending += 1
        below = number > doc.header_row
        if number in edited or (clear and below):
            edits = _edits_of(doc, number, groups) if number in edited else []
            chunk = doc.edit_row(chunk, number, edits, clear and below, check_ids)
        out.append(sep)
        out.append(chunk)
        if len(out) >= 8192:
            yield b"".join(out)
            out = []
    rest = new_rows[pending:]
    if doc.added and rest:  # rows of edits among the added rows (both lie past the sheet's rows)
        added = doc.added
        for number in sorted(chain(rest, added)):
            row = added.get(number)
            out.append(_new_row(doc, number, groups) if row is None else row)
            if len(out) >= 8192:
                yield b"".join(out)
                out = []
    else:
        out += (_new_row(doc, number, groups) for number in rest)
        yield b"".join(out)
        out = []
        yield from doc.added.chunks()
    yield b"".join(out)


def _bulk_plan(
    doc: SheetDoc, starts: list[bytes], styled: re.Pattern[bytes] | None
) -> tuple[bool, re.Pattern[bytes] | None]:
    """Whether the sheet data can be cut at every ``</row>`` (not when a row has no ``</row>``, as
    ``<row/>``, or when a cell to cut has a format of the user's (``styled``): the general path takes
    those), and the pattern of the tool's old cells to cut out of rows 2 on (from the first of them to
    the row's end: ``starts`` begin them), None when there are none."""
    body = doc.body
    assert body is not None
    close = doc.close_row
    if doc.row_closes != len(doc.nums):
        return False, None
    if not starts:
        return True, None
    if styled is not None and search_windows(styled, body, boundary=close) is not None:
        return False, None
    first = b"|".join(re.escape(start) for start in starts)
    # from the first of the tool's cells to the row's end ("unrolled": [^<]* runs at C speed)
    return True, re.compile(b"(?:" + first + rb')(?!1")\d[^<]*(?:<(?!' + re.escape(close[1:]) + rb")[^<]*)*")


def _render_bulk(
    doc: SheetDoc, groups: list[_Group], old_cells: re.Pattern[bytes] | None, new_rows: list[int]
) -> Iterator[bytes]:
    """Whole tool columns at the right end of every row, with C-speed passes and no per-row Python:
    the new cells inserted before each ``</row>``. The sheet data is cut into rows a block of about
    ``_BLOCK`` bytes at a time (never the whole sheet at once: it may be hundreds of MB), the tool's
    old cells cut out of each block (``old_cells``; no match crosses a ``</row>``)."""
    body = doc.body
    assert body is not None
    close = doc.close_row
    extras = _BulkCells(doc, groups)  # the new cells of a block's rows, made for that block only
    pos = row = 0
    last = body.rfind(close)
    while row < len(doc.nums):
        end = body.find(close, min(pos + _BLOCK, last))  # the end of the block's last row
        block = body[pos:end]
        if old_cells is not None:
            block = old_cells.sub(b"", block)
        rows = block.split(close)
        yield extras(row, rows)
        row += len(rows)
        pos = end + len(close)
    yield b"".join(_new_row(doc, number, groups) for number in new_rows)
    yield body[pos:]  # after the last </row>


def _whole(doc: SheetDoc) -> SheetDoc:
    """A compact sheet as its original part, read whole, with the same pending edits (for the general
    path, which needs every row)."""
    assert doc.original is not None
    with doc.original() as stream:
        xml = stream.read()
    whole = SheetDoc(xml, doc.name, doc.part)
    for name in (
        "puts", "blocks", "added", "longest", "longest_stale", "clear", "edit_rows", "edit_cols",
        "changed", "replaced", "widths", "auto_filter", "_headers", "_widest", "header_row",
    ):  # fmt: skip
        setattr(whole, name, getattr(doc, name))
    return whole


def _overlay_plan(
    doc: SheetDoc, check_ids: set[int]
) -> tuple[list[_Group], re.Pattern[bytes] | None, list[int]] | None:
    """For a compact sheet whose edits the bulk path can make (proved on the compact XML, which holds
    every row the edits touch), its groups, the pattern of the tool's old cells and the new rows; None
    when the general path must take it (then from the original part read whole). The rows left out hold
    no value, so no edit touches them; new rows may only come after every row of the original."""
    assert doc.hidden is not None
    groups = _groups(doc)
    new_rows = _new_rows(doc, groups)
    trailing = None if doc.added else _trailing(doc, groups, check_ids)
    if trailing is None:
        return None
    last = max([doc.last_num, *(rows[1] for rows in doc.hidden.rows)])
    if new_rows and new_rows[0] <= last:
        return None
    columns = {column for group in groups for column, _ in group.columns} | doc.clear
    if doc.hidden.trimmed > min(columns, default=0):  # cut empty cells lie where new cells would go
        return None
    bulk, old_cells = _bulk_plan(doc, *trailing)
    return (groups, old_cells, new_rows) if bulk else None


def _render_overlay(
    doc: SheetDoc,
    groups: list[_Group],
    old_cells: re.Pattern[bytes] | None,
    new_rows: list[int],
    widths: bool,
) -> Iterator[bytes]:
    """``_render_bulk`` over the original part, streamed a block at a time: the blocks the compact sheet
    kept get the new cells before each ``</row>``, the blocks it left out go through as they are."""
    assert doc.original is not None and doc.hidden is not None
    yield _head(doc, widths)
    extras = _BulkCells(doc, groups)  # the new cells of a block's rows, made for that block only
    close, row, tail = doc.close_row, 0, b""
    with doc.original() as stream:
        pieces = original_blocks(stream, doc.hidden)
        next(pieces)  # the head, rendered above
        for piece, hidden in pieces:
            if not piece.endswith(close):  # the tail: what follows the last row
                tail = piece
                break
            if hidden:
                yield piece
                continue
            if old_cells is not None:
                piece = old_cells.sub(b"", piece)
            rows = piece.split(close)
            del rows[-1]  # (the piece ends with a row's end)
            yield extras(row, rows)
            row += len(rows)
    if row != len(doc.nums):
        raise NotAWorkbook(f"sheet '{doc.name}' changed while it was written: run again.")
    yield b"".join(_new_row(doc, number, groups) for number in new_rows)
    end = tail.find(b"</" + doc.prefix + b"sheetData>")
    yield tail[: max(end, 0)] + _tail(doc)


def _trailing(
    doc: SheetDoc, groups: list[_Group], check_ids: set[int]
) -> tuple[list[bytes], re.Pattern[bytes] | None] | None:
    """When the edits are whole tool columns at the right end of every row (the usual run), the cell
    starts that begin the tool's existing cells in a row (empty list: none exist yet) and the pattern
    of such a cell with a format of the user's; else None.

    Proved with C-speed passes over the sheet: every cell starts with a plain ref and none lies right
    of the tool columns (or at or right of them, when they are new); no row holds other elements.
    ``_bulk_plan`` proves the rest: no row is self-closing, and the cells to replace carry no
    format of the user's that a rewrite would drop."""
    body = doc.body
    columns = sorted({column for group in groups for column, _ in group.columns} | doc.clear)
    if (
        body is None
        or not columns
        or doc.replaced
        or doc.header_row != 1
        or any(row >= 2 for row in doc.puts)
    ):
        return None
    if columns[-1] - columns[0] + 1 != len(columns) or not doc.clear <= set(columns):
        return None
    if doc.ext_list:  # (rows without </row> are found when the rows are split)
        return None
    header = doc.puts.get(1)
    if header and 1 in doc.nums and min(header) <= doc.last_cell_of(doc.row_chunk_of(1)):
        return None  # a header cell among the row's cells, not after them
    claim = columns[-1] + 1 if doc.clear else columns[0]
    if claim < 1 or not doc.plain_refs(claim):
        return None
    if not doc.clear:
        return [], None
    forced = {
        column
        for group in groups
        for column, edits in group.columns
        if any(edit is not None and edit.startswith(FORCED) for edit in set(edits))
    }
    ours = b"|".join(b"%d" % i for i in sorted(check_ids)) or b"-"
    styled = [  # a cell of the user's format in a tool column below the header (our colours may go, the
        # user's stay; the header row is not cut, so its formats stay whatever they are)
        re.escape(letters_of(column))
        + rb'(?!1")\d+"[^>]*?\ss="'
        + (rb"(?!(?:%s)\")" % ours if column in forced else b"")
        for column in columns
    ]
    pattern = re.compile(re.escape(doc.c_open) + b"(?:" + b"|".join(styled) + b")")
    return [doc.c_open + letters_of(column) for column in columns], pattern


class _BulkCells:
    """The sheet's rows (positions in ``doc.nums``) with their new cells before each ``</row>``, built
    column by column for a block of rows at a time (``added_rows.interleave``): a 500,000-row sheet never
    holds every row's new cells at once, and no cell or row gets bytes of its own."""

    def __init__(self, doc: SheetDoc, groups: list[_Group]) -> None:
        self.nums = nums = doc.nums
        self.close = doc.close_row
        # (column, its cells' start, its edits, their row positions or None for "row p takes edits[p - 1]")
        self.columns: list[tuple[int, bytes, list[Edit], list[int] | None]] = []
        for group in groups:
            # the usual run writes every row but the header, in order: no lookup per row
            every_row = nums[:1] == [1] and group.rows == nums[1:]
            at = None if every_row else list(map(group.index.get, nums, repeat(-1)))
            for column, edits in group.columns:
                self.columns.append(
                    (column, doc.c_open + letters_of(column), edits if at is None else [*edits, None], at)
                )
        self.columns.sort(key=lambda item: item[0])
        header = doc.puts.get(1)
        self.header_at = nums.index(1) if header and 1 in nums else -1
        self.header = doc.cells_xml(b"1", sorted(header.items())) if self.header_at >= 0 and header else b""

    def __call__(self, start: int, rows: list[bytes]) -> bytes:
        """The XML of ``rows`` (the sheet's rows from position ``start`` on, each without its ``</row>``)."""
        stop = start + len(rows)
        digits = row_digits(self.nums[start:stop])
        parts: list[bytes | list[bytes]] = [rows]
        for _, opening, edits, at in self.columns:
            aligned: list[Edit]
            if at is None:
                aligned = edits[start - 1 : stop - 1] if start else [None, *edits[: stop - 1]]
            else:
                aligned = list(map(edits.__getitem__, at[start:stop]))
            parts += cell_pieces(opening, digits, aligned)
        if start <= self.header_at < stop:
            ends = [self.close] * len(rows)
            ends[self.header_at - start] = self.header + self.close
            parts.append(ends)
        else:
            parts.append(self.close)
        return interleave(len(rows), parts)


def _groups(doc: SheetDoc) -> list[_Group]:
    """Column blocks grouped by their row list (set_columns shares one)."""
    by_rows: dict[int, _Group] = {}
    for column, (rows, edits) in sorted(doc.blocks.items()):
        group = by_rows.get(id(rows))
        if group is None:
            group = by_rows[id(rows)] = _Group(rows)
        group.columns.append((column, edits))
    return list(by_rows.values())


def _edits_of(doc: SheetDoc, row: int, groups: list[_Group]) -> list[tuple[int, Edit]]:
    """The row's edits as (column, edit), in column order."""
    found: list[tuple[int, Edit]] = []
    for group in groups:
        at = group.index.get(row)
        if at is not None:
            found += [(column, edits[at]) for column, edits in group.columns]
    puts = doc.puts.get(row)
    if puts:
        merged = dict(found)
        merged.update(puts)
        return sorted(merged.items())
    if len(groups) > 1:
        found.sort(key=lambda item: item[0])
    return found


def _head(doc: SheetDoc, widths: bool) -> bytes:
    head = doc.head
    if doc.edit_rows[0]:
        dimension = _DIMENSION.search(head)
        if dimension is not None:
            head = head[: dimension.start(2)] + _dimension(doc, dimension.group(2)) + head[dimension.end(2) :]
    sizes = {**_widths(doc), **doc.widths} if widths else doc.widths
    return with_widths(head, doc.prefix, sizes) if sizes else head


def _dimension(doc: SheetDoc, old: bytes) -> bytes:
    top, left = doc.edit_rows[0], doc.edit_cols[0] - 1
    bottom, right = doc.edit_rows[1], doc.edit_cols[1] - 1
    if not doc.replaced:
        for part in old.decode("ascii", "replace").split(":"):
            ref = _REF.fullmatch(part)
            if ref is not None:
                column, row = index_of(ref.group(1).encode()), int(ref.group(2))
                top, bottom = min(top, row), max(bottom, row)
                left, right = min(left, column), max(right, column)
    first = f"{column_letter(left)}{top}"
    last = f"{column_letter(right)}{bottom}"
    return (first if first == last else f"{first}:{last}").encode()


def _widths(doc: SheetDoc) -> dict[int, float]:
    """A new sheet's column widths: each column as wide as its longest text (10 to 60 characters)."""
    longest = _added_longest(doc) if doc.longest_stale else dict(doc.longest)
    overhead = doc.text_overhead
    entries = [entry for cells in doc.puts.values() for entry in cells.items()]
    for column, (_, edits) in doc.blocks.items():
        entries += [(column, edit) for edit in set(edits)]
    for column, edit in entries:
        if edit is not None:
            longest[column] = max(longest.get(column, 0), payload_length(edit) - overhead)
    return {c: float(min(60, max(10, n + 2))) for c, n in sorted(longest.items())}


def _added_longest(doc: SheetDoc) -> dict[int, int]:
    """``longest`` worked out from the added rows as they are now (after edits to them)."""
    longest: dict[int, int] = {}
    overhead = doc.text_overhead
    for chunk in doc.added.values():
        for column, match in doc.row_cells(chunk):
            cell = match.group()
            payload = cell[cell.index(b'"', len(doc.c_open)) :]  # from the quote closing the ref
            length = payload_length(payload) - overhead
            longest[column] = max(longest.get(column, 0), length)
    return longest


def _new_row(doc: SheetDoc, number: int, groups: list[_Group]) -> bytes:
    row = b"%d" % number
    cells = doc.cells_xml(row, _edits_of(doc, number, groups))
    return doc.open_row + row + b'">' + cells + doc.close_row if cells else b""

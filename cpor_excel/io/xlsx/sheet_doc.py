"""``SheetDoc``: one worksheet part split into rows, with the edits pending on it.

Everything works on the XML bytes with C-speed passes (split, regex, join): the rows are numbered in one
pass and split out only when needed; edits come as whole columns (``set_column``), whole new rows
(``add_rows``) or single cells (``put``), never as an edit object per cell. ``sheet_render.py`` turns a
document and its edits back into bytes; ``edit_row`` here rewrites the cells of one row, keeping every
other byte of it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from itertools import chain, zip_longest
from typing import IO

from cpor_excel.errors import NotAWorkbook
from cpor_excel.io.book import CellValue
from cpor_excel.io.cell_rows import CellRows
from cpor_excel.io.xlsx.added_rows import AddedRows, cell_pieces, empty_rows, interleave, replacing_cell
from cpor_excel.io.xlsx.cells import (
    MAX_COLUMNS,
    OURS,
    ColumnStyle,
    Edit,
    cell_xml,
    index_of,
    letters_of,
    row_digits,
)
from cpor_excel.io.xlsx.compact import Hidden
from cpor_excel.io.xlsx.scan import columns_up_to, utf8_xml
from cpor_excel.io.xlsx.shared_strings import SharedStrings, cell_value
from cpor_excel.model.headers import fold_header

_SHEET_DATA = re.compile(rb"<([\w.-]+:)?sheetData\b([^>]*?)(/?)>")
_R_ATTR = re.compile(rb'\sr="([A-Za-z]+)(\d*)"')
_S_ATTR = re.compile(rb'\ss="(\d+)"')
_DIMENSION = re.compile(rb'(<(?:[\w.-]+:)?dimension\b[^>]*?\bref=")([^"]*)(")')
_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+)")

#: new rows are built this many at a time (a 85,000-row report holds each cell's XML four times meanwhile)
_BULK_ROWS = 8192
#: a cell in a row chunk: (0-based column, start, end, its s attribute or None, has a ref)
_CellSpan = tuple[int, int, int, bytes | None, bool]


class SheetDoc:
    """A worksheet part split into rows, with the pending edits; renders the patched XML.

    Edits come as column blocks (``set_column``: one list per column), as whole new rows (``add_rows``:
    rows past the sheet's last row, kept as finished row XML in ``added``) and as single cells (``put``).
    The last write to a cell wins; a put changes an added row at once.
    """

    def __init__(
        self, xml: bytes, name: str, part: str | None, plain: int | None = None, hidden: Hidden | None = None
    ) -> None:
        """``plain``: every cell tag of ``xml`` is known to start with a plain ref in the first ``plain``
        columns (the reader proved it: see ``Package.plain_columns``). ``hidden``: ``xml`` is a compact
        sheet (``compact.py``) without blocks of rows only a format fills; ``original`` then opens the
        part as it is, which ``sheet_render`` streams (or reads whole, to edit it the general way)."""
        self.hidden = hidden
        self.original: Callable[[], IO[bytes]] | None = None
        self.header_row = 1  # the row of the sheet's header (tool columns are cleared below it)
        self.name = name
        self.part = part  # None: a sheet this run adds
        xml = utf8_xml(xml)
        match = _SHEET_DATA.search(xml)
        if match is None:
            raise NotAWorkbook(
                f"sheet '{name}' has no cell data (no sheetData element): open the workbook in Excel and save it."
            )
        p = self.prefix = match.group(1) or b""
        if match.group(3):  # <sheetData/>
            self.head = xml[: match.start()] + b"<" + p + b"sheetData" + match.group(2) + b">"
            body = b""
            self.tail = b"</" + p + b"sheetData>" + xml[match.end() :]
        else:
            close = xml.rfind(b"</" + p + b"sheetData>", match.end())  # (from the end, where it is)
            if close < 0:
                raise NotAWorkbook(
                    f"sheet '{name}' is damaged (unclosed sheetData): open it in Excel and save it."
                )
            self.head, body, self.tail = xml[: match.end()], xml[match.end() : close], xml[close:]
        self.size = hidden.size if hidden is not None else len(xml)
        self.cells = cell_xml(p)  # (shared: see ``cells.cell_xml``)
        self.open_row = b"<" + p + b'row r="'
        self.close_row = b"</" + p + b"row>"
        self.c_tag = b"<" + p + b"c "
        self.c_open = b"<" + p + b'c r="'
        self._bare = (b"<" + p + b"c>", b"<" + p + b"c/")
        self._cell_re = re.compile(
            b"<" + re.escape(p) + rb"c(?=[\s/>])([^>]*?)(/>|>.*?</" + re.escape(p) + b"c>)", re.S
        )
        self._has_value = re.compile(b"<" + re.escape(p) + rb"(?:v|is|f)[\s>]")
        self._split(body)
        self.body: bytes | None = body  # kept for the C-speed regex checks until the sheet is rendered
        self.puts: dict[int, dict[int, Edit]] = {}
        self.blocks: dict[int, tuple[Sequence[int], list[Edit]]] = {}
        self.added = AddedRows(self.close_row)  # row number -> the row's XML, rows after every existing row
        self.longest: dict[int, int] = {}  # column -> longest cell XML of the added rows (column widths)
        self.longest_stale = False  # an added row was edited since: ``longest`` is worked out again
        self.clear: set[int] = set()
        self.edit_rows = [0, 0]  # min, max row with edits (0: none)
        self.edit_cols = [0, 0]  # min, max 0-based column + 1 with edits (0: none)
        self.changed = False
        self.replaced = False
        self.widths: dict[int, float] = {}  # column -> width for the tool's columns no <col> covers yet
        self.auto_filter = False  # filter buttons over the sheet's rows
        self._headers: dict[str, int] | None = None
        self._widest: int | None = None
        self._plain: dict[int, bool] = {}  # proofs: every cell has a plain ref left of column N
        self._proved_plain = plain

    def _split(self, body: bytes) -> None:
        """Number the rows (one C-speed pass); the rows themselves are split out only when needed."""
        self._open_tag = b"<" + self.prefix + b"row"
        found = re.findall(re.escape(self._open_tag) + rb'(?=[\s/>])(?:[^>]*?\sr="(\d+)")?', body)
        self._sep: bytes | None = None
        if b"" not in found:
            self.nums = list(map(int, found))
        else:  # rows without r: numbered like Excel does, one after the previous
            self.nums, previous = [], 0
            for ref in found:
                previous = int(ref) if ref else previous + 1
                self.nums.append(previous)
        self.last_num = max(self.nums, default=0)
        # what the writer's bulk path must prove over the whole sheet data (``sheet_render``): counted here,
        # where a reader splits its sheets beside the parsing (``FileBook``), not when the run saves
        self.row_closes = body.count(self.close_row)  # (one per row element, unless a row is <row/>)
        self.ext_list = b"extLst" in body
        self._rows: list[bytes] | None = None
        self.lead = body[: body.find(self._open_tag)] if found else body

    @property
    def sep(self) -> bytes:
        """What the row chunks were split on: ``<row `` when every row tag starts so, else nothing."""
        if self._sep is None:
            # bytes.split on "<row " is ~6x faster than a regex split; joining with it restores the tags
            literal = self._open_tag + b" "
            body = self.body if self.body is not None else b""
            self._sep = literal if body.count(literal) == len(self.nums) else b""
        return self._sep

    @property
    def rows(self) -> list[bytes]:
        """One chunk per row element (after the ``sep`` that joins them back)."""
        if self._rows is None:
            body = self.body if self.body is not None else b""
            if self.sep:
                parts = body.split(self.sep)
            else:
                parts = re.split(b"(?=" + re.escape(self._open_tag) + rb"[\s/>])", body)
            if len(parts) - 1 != len(self.nums):
                raise NotAWorkbook(
                    f"sheet '{self.name}' has rows this tool cannot locate: save it again in Excel."
                )
            self._rows = parts[1:]
        return self._rows

    def row_chunk(self, index: int) -> bytes:
        """The chunk of the first (0) or last (-1) row, without splitting the whole sheet (from its
        ``<row`` when the sheet is not split: every reader of a chunk starts after its first ``>``)."""
        if self._rows is not None or self.body is None:
            return self.rows[index]
        body, tag = self.body, self._open_tag

        def is_row(at: int) -> bool:  # "<row" and not "<rowBreaks" or the like
            return body[at + len(tag) : at + len(tag) + 1] in (b" ", b"\t", b"\n", b"\r", b">", b"/")

        if index == 0:
            at = body.find(tag)
            while at >= 0 and not is_row(at):
                at = body.find(tag, at + 1)
            end = body.find(tag, at + 1)
            while end >= 0 and not is_row(end):
                end = body.find(tag, end + 1)
            end = len(body) if end < 0 else end
        else:
            at = body.rfind(tag)
            while at >= 0 and not is_row(at):
                at = body.rfind(tag, 0, at)
            end = len(body)
        return body[at:end]

    def row_chunk_of(self, number: int) -> bytes:
        at = self.nums.index(number)
        return self.row_chunk(0 if at == 0 else -1) if at in (0, len(self.nums) - 1) else self.rows[at]

    def plain_refs(self, claim: int) -> bool:
        """Proof, in one C-speed pass (remembered): every cell tag starts with a plain ref in the first
        ``claim`` columns."""
        if self._proved_plain is not None and claim >= self._proved_plain:
            return True
        proved = self._plain.get(claim)
        if proved is None:
            body = self.body if self.body is not None else b""
            unusual = b"<" + re.escape(self.prefix) + rb'c(?=[\s/>])(?! r="' + columns_up_to(claim) + rb"\d)"
            proved = self._plain[claim] = re.search(unusual, body) is None
        return proved

    # --- reading ---------------------------------------------------------------------------------------
    def row_cells(self, chunk: bytes) -> Iterator[tuple[int, re.Match[bytes]]]:
        """(0-based column, match) of each cell in a row chunk, counting cells without refs."""
        column = -1
        for match in self._cell_re.finditer(chunk, chunk.find(b">") + 1):
            ref = _R_ATTR.search(match.group(1))
            column = index_of(ref.group(1)) if ref else column + 1
            yield column, match

    def headers(self, shared: SharedStrings) -> dict[str, int]:
        """Folded header text -> 0-based column, from the header row (first occurrence wins)."""
        if self._headers is None:
            self._headers = {
                fold_header(text): column for column, text in reversed(self.header_cells(shared))
            }
        return self._headers

    def header_cells(self, shared: SharedStrings) -> list[tuple[int, str]]:
        """(0-based column, text) of every cell with text in the header row, left to right."""
        if self.replaced or self.header_row not in self.nums:
            return []
        chunk = self.row_chunk_of(self.header_row)
        cells = [(column, cell_value(match, shared)) for column, match in self.row_cells(chunk)]
        return [(column, text) for column, text in cells if text is not None and text.strip()]

    def last_column(self) -> int:
        """Number of used columns: the 1-based column of the rightmost cell of any row, edits included."""
        if self._widest is None:
            self._widest = 0 if self.replaced else self._scan_widest()
            if self.hidden is not None and not self.replaced:  # formatted rows left out of the XML
                self._widest = max(self._widest, self.hidden.width, self.hidden.trimmed)
        return max(self._widest, self.edit_cols[1])

    def _scan_widest(self) -> int:
        # Claim, then proof: one regex pass looking for any cell tag that does not start with a ref at or
        # left of the claim. The first claim is the widest of the first and last rows (exact when proved);
        # the second the <dimension> (a claim that may only overstate). Otherwise every row is looked at.
        if not self.nums:
            return 0
        claims = [max(self.last_cell_of(self.row_chunk(0)), self.last_cell_of(self.row_chunk(-1))) + 1]
        dimension = _DIMENSION.search(self.head)
        ref = (
            _REF.fullmatch(dimension.group(2).split(b":")[-1].decode("ascii", "replace"))
            if dimension
            else None
        )
        if ref is not None and index_of(ref.group(1).encode()) + 1 > claims[0]:
            claims.append(index_of(ref.group(1).encode()) + 1)
        for claim in claims:
            if self.body is not None and 0 < claim < MAX_COLUMNS and self.plain_refs(claim):
                return claim
        return max((self.last_cell_of(chunk) + 1 for chunk in self.rows), default=0)

    def last_cell_of(self, chunk: bytes) -> int:
        """0-based column of a row's rightmost cell (-1: no cells)."""
        pos = chunk.rfind(self.c_tag)
        if chunk.find(self._bare[0], max(pos, 0)) < 0 and chunk.find(self._bare[1], max(pos, 0)) < 0:
            if pos < 0:
                return -1
            ref = _R_ATTR.search(chunk, pos, chunk.find(b">", pos))
            if ref is not None:  # cells are in column order: the last one is the rightmost
                return index_of(ref.group(1))
        return max((column for column, _ in self.row_cells(chunk)), default=-1)

    def last_used_row(self) -> int:
        """The last row holding a value (or formula), edits included; 0 for an empty sheet."""
        last = 0
        if not self.replaced and self.nums and self._has_value.search(self.row_chunk(-1)):
            last = self.nums[-1]
        elif not self.replaced:
            for chunk, number in zip(reversed(self.rows), reversed(self.nums), strict=True):
                if self._has_value.search(chunk):
                    last = number
                    break
        if self.added:  # every added row holds a value (a row left empty is dropped)
            last = max(last, self.added.last())
        for row, cells in self.puts.items():
            if row > last and any(edit is not None for edit in cells.values()):
                last = row
        for rows, edits in self.blocks.values():
            last = max([last, *(row for row, edit in zip(rows, edits, strict=True) if edit is not None)])
        return last

    # --- editing ---------------------------------------------------------------------------------------
    def _track(self, rows: tuple[int, int], cols: tuple[int, int]) -> None:
        if rows[0] < 1 or cols[0] < 0:
            raise ValueError("rows start at 1 and columns at 0")
        if cols[1] >= MAX_COLUMNS:
            raise NotAWorkbook(
                f"sheet '{self.name}' has no room left for the tool's columns (Excel's limit is XFD)."
            )
        lo, hi = self.edit_rows
        self.edit_rows = [rows[0] if not lo else min(lo, rows[0]), max(hi, rows[1])]
        lo, hi = self.edit_cols
        self.edit_cols = [cols[0] + 1 if not lo else min(lo, cols[0] + 1), max(hi, cols[1] + 1)]
        self.changed = True

    def put(self, row: int, column: int, edit: Edit) -> None:
        self._track((row, row), (column, column))
        if row in self.added:
            self._edit_added(row, [(column, edit)])
        else:
            self.puts.setdefault(row, {})[column] = edit

    def _edit_added(self, row: int, edits: list[tuple[int, Edit]]) -> None:
        """Change a row this run added (its cells are all the tool's: none keeps a format)."""
        chunk = self.edit_row(self.added[row], row, edits, False, OURS)
        self.longest_stale = True
        if self.c_open in chunk:
            self.added[row] = chunk
        else:
            del self.added[row]  # no cell left: no row, as if it had never been written

    def set_column(
        self,
        column: int,
        rows: Sequence[int],
        values: Sequence[CellValue],
        style: ColumnStyle | None,
        bounds: tuple[int, int] | None = None,
    ) -> None:
        """A whole column below the header: replaces earlier writes to it (except the header). ``bounds``:
        the first and last of ``rows``, when the caller knows them (the columns of a row list share them)."""
        self.changed = True
        for row, cells in self.puts.items():
            if row > self.header_row:
                cells.pop(column, None)
        edits = self.cells.tails(values, style)
        if self.added:  # rows added this run: the column's cells are replaced now
            at = dict(zip(rows, edits, strict=True))
            start = self.c_open + letters_of(column)
            for row, chunk in list(self.added.items()):
                edit = at.get(row)
                if row > self.header_row and (edit is not None or b'%s%d"' % (start, row) in chunk):
                    self._edit_added(row, [(column, edit)])
        if not rows:
            self.blocks.pop(column, None)
            return
        self._track(bounds or (min(rows), max(rows)), (column, column))
        self.blocks[column] = (rows, edits)

    def add_rows(
        self,
        start: int,
        rows: Sequence[Sequence[CellValue]],
        columns: Sequence[int] | None = None,
        styles: Mapping[int, ColumnStyle] | None = None,
    ) -> None:
        """Write whole rows from row ``start`` on: a row's value j goes to column ``columns[j]`` (j when None;
        values beyond ``columns`` are ignored); None leaves the cell alone. ``styles``: the cell format of
        the new cells of a column (else they keep the format of the cell they replace).

        Rows after every existing row are built here as finished XML, column by column: one cache lookup
        and one concatenation per cell. The others (formatted empty rows at the sheet's end, rows with
        pending edits) go cell by cell through ``put``, which keeps the formats of the cells there."""
        if not rows:
            return
        if columns is None:
            columns = range(len(rows.columns) if isinstance(rows, CellRows) else max(map(len, rows)))
        end = start + len(rows)
        # rows up to the sheet's last row (formatted empty rows there) and rows with pending edits
        first_new = max(start, (0 if self.replaced else self.last_num) + 1)
        pending = sorted(row for row in self._edited_rows(first_new) if row < end)
        styles = styles or {}
        for row in chain(range(start, min(first_new, end)), pending):
            for column, value in zip(columns, rows[row - start], strict=False):
                edit = self.cells.tail(value)
                if edit is not None:
                    style = styles.get(column)
                    self.put(
                        row,
                        column,
                        self.cells.restyle([edit], [value], style)[0] if style is not None else edit,
                    )
        if first_new >= end:
            return
        if pending:
            skip = set(pending)
            numbers: Sequence[int] = [row for row in range(first_new, end) if row not in skip]
            rows = [rows[row - start] for row in numbers]
        else:
            numbers, rows = range(first_new, end), rows[first_new - start :]
        for at in range(0, len(numbers), _BULK_ROWS):  # a slice at a time: its cells die with it
            self._add_bulk(numbers[at : at + _BULK_ROWS], rows[at : at + _BULK_ROWS], columns, styles)

    def _edited_rows(self, start: int) -> set[int]:
        """Rows from ``start`` on with pending puts or column blocks."""
        found = {row for row in self.puts if row >= start}
        for rows, _ in self.blocks.values():
            if rows and max(rows) >= start:
                found.update(row for row in rows if row >= start)
        return found

    def _add_bulk(
        self,
        numbers: Sequence[int],
        rows: Sequence[Sequence[CellValue]],
        columns: Sequence[int],
        styles: Mapping[int, ColumnStyle],
    ) -> None:
        """``add_rows`` for rows past every existing row: their XML built column by column."""
        values = rows.columns if isinstance(rows, CellRows) else list(zip_longest(*rows))
        values = values[: len(columns)]
        by_column: dict[int, list[Edit]] = {}
        holes: dict[int, int] = {}  # column -> its Nones (counted once: each count compares every edit)
        for column, column_values in zip(columns, values, strict=False):
            edits = self.cells.tails(column_values, styles.get(column))
            none = edits.count(None)
            if none == len(edits):
                continue
            earlier = by_column.get(column)  # a column named twice: the later value wins, unless empty
            if earlier is not None:
                edits = [e or old for e, old in zip(edits, earlier, strict=True)]
                none = edits.count(None)
            by_column[column], holes[column] = edits, none
        if not by_column:
            return
        order = sorted(by_column)
        empty = empty_rows([by_column[column] for column in order], [holes[column] for column in order])
        if empty:  # rows whose values are all empty get no row element
            numbers = [number for at, number in enumerate(numbers) if at not in empty]
            for column in order:
                by_column[column] = [e for at, e in enumerate(by_column[column]) if at not in empty]
                holes[column] -= len(empty)
        self._track((numbers[0], numbers[-1]), (order[0], order[-1]))
        digits = row_digits(numbers)
        parts: list[bytes | list[bytes]] = [self.open_row, digits, b'">']
        for column in order:
            parts += cell_pieces(self.c_open + letters_of(column), digits, by_column[column], holes[column])
        self.added.add_block(numbers, interleave(len(numbers), [*parts, self.close_row]))
        if self.part is None:  # a new sheet: its columns get widths from their longest texts (but those
            # the writer gave widths already: they take the place of these, see ``sheet_render._head``)
            for column, edits in by_column.items():
                if column in self.widths:
                    continue
                distinct = set(edits)
                distinct.discard(None)
                longest = max(map(len, distinct)) - 1 - self.text_overhead  # type: ignore[arg-type]
                self.longest[column] = max(self.longest.get(column, 0), longest)

    @property
    def text_overhead(self) -> int:
        return len(self.cells.text_open) + len(self.cells.text_close) + 1

    def replace_all(self) -> None:
        """Drop every row: the sheet's content is about to be written from scratch."""
        self._rows, self.nums, self.lead, self.body, self.last_num = [], [], b"", None, 0
        self.row_closes, self.ext_list = 0, False
        self.hidden = self.original = None
        self._sep = b""
        self.puts, self.blocks, self.longest, self.clear = {}, {}, {}, set()
        self.added = AddedRows(self.close_row)
        self.longest_stale = False
        self.edit_rows, self.edit_cols = [0, 0], [0, 0]
        self.replaced = self.changed = True
        self._headers, self._widest = {}, 0

    def estimated_size(self) -> int:
        """About the size of the rendered part (it decides whether the save deflates on helper threads)."""
        kept = len(self.head) + len(self.tail) if self.replaced else self.size
        return kept + self.added.size

    def cells_xml(self, row: bytes, edits: Sequence[tuple[int, Edit]]) -> bytes:
        """New cells (no cell there before), in the given (column) order."""
        parts: list[bytes] = []
        c_open = self.c_open
        for column, edit in edits:
            if edit is not None:
                parts += (c_open, letters_of(column), row, edit)
        return b"".join(parts)

    def edit_row(
        self,
        chunk: bytes,
        number: int,
        edits: list[tuple[int, Edit]],
        clearing: bool,
        check_ids: Container[int],
    ) -> bytes:
        gt = chunk.find(b">")
        row = b"%d" % number
        if chunk[gt - 1 : gt] == b"/":  # <row .../>: no cells yet
            cells = self.cells_xml(row, edits)
            return (
                chunk[: gt - 1].rstrip() + b">" + cells + self.close_row + chunk[gt + 1 :] if cells else chunk
            )
        close = chunk.rfind(self.close_row)
        if close < 0:
            raise NotAWorkbook(
                f"sheet '{self.name}' row {number} is damaged: open the workbook in Excel and save it."
            )
        first = edits[0][0] if edits else MAX_COLUMNS
        if clearing:
            first = min(first, min(self.clear))
        # Tool columns sit at the end of a row: walk back over the cells at or right of the first column
        # to change, so only they are looked at. Cells without a plain ref need the full parse.
        tail, c_tag, found = close, self.c_tag, []
        while True:
            at = chunk.rfind(c_tag, gt, tail)
            if at < 0:
                break
            ref_at = at + len(c_tag) + 3
            if chunk[ref_at - 3 : ref_at] != b'r="':
                return self._merge(
                    chunk, gt + 1, row, self._parsed_cells(chunk, gt + 1, close), edits, clearing, check_ids
                )
            letters = chunk[ref_at : chunk.find(b'"', ref_at)].rstrip(b"0123456789")
            if not letters:
                return self._merge(
                    chunk, gt + 1, row, self._parsed_cells(chunk, gt + 1, close), edits, clearing, check_ids
                )
            column = index_of(letters)
            if column < first:
                break
            found.append((column, at))
            tail = at
        bare, bare_end = self._bare
        if chunk.find(bare, tail, close) >= 0 or chunk.find(bare_end, tail, close) >= 0:
            return self._merge(
                chunk, gt + 1, row, self._parsed_cells(chunk, gt + 1, close), edits, clearing, check_ids
            )
        if not found:  # nothing there yet: the new cells go after the row's last cell
            return chunk[:close] + self.cells_xml(row, edits) + chunk[close:]
        return self._merge(
            chunk, tail, row, self._located_cells(chunk, found[::-1]), edits, clearing, check_ids
        )

    def _parsed_cells(self, chunk: bytes, start: int, close: int) -> Iterator[_CellSpan]:
        """Every cell between ``start`` and ``close``, counting the columns of cells without refs."""
        column = -1
        for match in self._cell_re.finditer(chunk, start, close):
            ref = _R_ATTR.search(match.group(1))
            column = index_of(ref.group(1)) if ref else column + 1
            style = _S_ATTR.search(match.group(1))
            yield column, match.start(), match.end(), style.group(1) if style else None, ref is not None

    def _located_cells(self, chunk: bytes, found: list[tuple[int, int]]) -> Iterator[_CellSpan]:
        """Cells whose column and start are known (all have refs): find their ends and styles."""
        end_tag = b"</" + self.prefix + b"c>"
        for column, at in found:
            tag_end = chunk.find(b">", at)
            self_closing = chunk[tag_end - 1] == 0x2F  # "/>"
            end = tag_end + 1 if self_closing else chunk.find(end_tag, tag_end) + len(end_tag)
            s_at = chunk.find(b' s="', at, tag_end)
            style = chunk[s_at + 4 : chunk.find(b'"', s_at + 4)] if s_at >= 0 else None
            yield column, at, end, style, True

    def _merge(
        self,
        chunk: bytes,
        start: int,
        row: bytes,
        cells: Iterable[_CellSpan],
        edits: list[tuple[int, Edit]],
        clearing: bool,
        check_ids: Container[int],
    ) -> bytes:
        """Rewrite the row from ``start``: edited and cleared cells replaced, new ones inserted in column
        order, every other byte kept."""
        parts: list[bytes] = []
        cursor = last_end = start
        shifted = False  # a cell was inserted or removed: cells without refs after it need one now
        index = 0
        for column, cell_start, cell_end, style, has_ref in cells:
            while index < len(edits) and edits[index][0] < column:
                parts.append(chunk[cursor:cell_start])
                cursor = cell_start
                parts.append(
                    replacing_cell(self.c_open, row, edits[index][0], edits[index][1], None, check_ids)
                )
                shifted = True
                index += 1
            replace = index < len(edits) and edits[index][0] == column
            if replace or (clearing and column in self.clear):
                new = replacing_cell(
                    self.c_open, row, column, edits[index][1] if replace else None, style, check_ids
                )
                index += 1 if replace else 0
                parts.append(chunk[cursor:cell_start])
                parts.append(new)
                shifted = shifted or not new
                cursor = cell_end
            elif shifted and not has_ref:
                at = cell_start + len(self.prefix) + 2
                parts.append(chunk[cursor:at])
                parts.append(b' r="%s%s"' % (letters_of(column), row))
                cursor = at
            last_end = cell_end
        if cursor < last_end:
            parts.append(chunk[cursor:last_end])
            cursor = last_end
        for column, edit in edits[index:]:
            parts.append(replacing_cell(self.c_open, row, column, edit, None, check_ids))
        return chunk[:start] + b"".join(parts) + chunk[cursor:]

"""One worksheet's XML as the patch writer edits it: cell values as Excel stores them, shared strings, and
``SheetDoc``, a worksheet part split into rows with the pending edits, rendered back as bytes.

Everything works on the XML bytes with C-speed passes (split, regex, join) and per-value caches; the
Python work per cell is a lookup in a cache and a concatenation, done for a whole column at once
(``SheetDoc.set_column``) or for whole new rows (``SheetDoc.add_rows``), never an edit object per cell.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from functools import cache, lru_cache
from itertools import chain, repeat, zip_longest
from typing import Any

from cpor_excel.errors import NotAWorkbook
from cpor_excel.io.book import CellValue
from cpor_excel.io.package import Package, columns_up_to, search_windows, utf8_xml

#: Excel's limit on the characters of one cell (UTF-16 units)
TEXT_LIMIT = 32767
MAX_COLUMNS = 16384
#: distinct values remembered per cache (a sheet of unique notes must not hold every one of them twice)
_CACHE_LIMIT = 200_000

#: a pending cell: the XML that follows the digits of the cell's ref (the ``"`` closing the r attribute,
#: `` s="N"`` when the tool forces a cell format, the rest of the cell); None clears the cell. Without a
#: forced format a rewritten cell keeps the format it had.
Edit = bytes | None
_FORCED = b'" s="'


def fold(text: object) -> str:
    """Header text for matching: case-insensitive, surrounding and repeated spaces ignored."""
    return " ".join(str(text).split()).casefold()


@cache
def column_letters(index: int) -> str:
    """``A`` for 0-based column 0, ``AA`` for 26, ``XFD`` for 16383."""
    n, letters = index + 1, ""
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@cache
def _letters(index: int) -> bytes:
    return column_letters(index).encode()


@lru_cache(maxsize=4096)
def _column_index(letters: bytes) -> int:
    """0-based column of ref letters (``b"AB"`` -> 27)."""
    number = 0
    for ch in letters.upper():
        number = number * 26 + ch - 64
    return number - 1


def _digits(numbers: Iterable[int]) -> list[bytes]:
    return [b"%d" % n for n in numbers]


# --- text as Excel stores it -----------------------------------------------------------------------------

_X_ESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\r\ufffe\uffff\ud800-\udfff]")
_ENTITY = re.compile(r"&(#x[0-9A-Fa-f]+|#[0-9]+|amp|lt|gt|quot|apos);")
_X_CHAR = re.compile(r"_x([0-9A-Fa-f]{4})_")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def cell_text(value: str) -> str:
    """Text as XML cell content: cut to Excel's limit, _xHHHH_ escapes for what XML cannot carry."""
    if len(value) > TEXT_LIMIT // 2:
        units = value.encode("utf-16-le", "surrogatepass")
        if len(units) > 2 * TEXT_LIMIT:
            # cut on a character boundary and mark the cut, so nobody mistakes it for the whole text
            value = units[: 2 * (TEXT_LIMIT - 1)].decode("utf-16-le", "ignore") + "\u2026"
    if "_x" in value:
        value = _X_ESCAPE.sub(r"_x005F_\1", value)  # a literal "_x0041_" must not read back as "A"
    value = _NOT_XML.sub(_escape_char, value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_char(match: re.Match[str]) -> str:
    ch = match.group()
    return "\ufffd" if "\ud800" <= ch <= "\udfff" else f"_x{ord(ch):04X}_"


def xml_text(raw: bytes) -> str:
    """Decode element text: XML entities, then Excel's _xHHHH_ escapes."""
    text = raw.decode("utf-8", "replace")
    if "&" in text:
        text = _ENTITY.sub(_entity, text)
    if "_x" in text:
        text = _X_CHAR.sub(lambda m: chr(int(m.group(1), 16)), text)
    return text


def _entity(match: re.Match[str]) -> str:
    name = match.group(1)
    if name.startswith("#x"):
        return chr(int(name[2:], 16))
    if name.startswith("#"):
        return chr(int(name[1:]))
    return _NAMED[name]


class _Tails(dict[Any, Edit]):
    """Cell XML per value, built on the first lookup (``__missing__``), so ``map(tails.__getitem__, values)``
    runs at C speed for values seen before. ``typed``: keys are (type, value), which keeps ``1``, ``1.0``
    and ``True`` (equal as dict keys) apart."""

    def __init__(self, build: Callable[[object], Edit], typed: bool) -> None:
        super().__init__()
        self._build = build
        self._typed = typed

    def __missing__(self, key: Any) -> Edit:
        value = key[1] if self._typed else key
        built = self._build(value)
        # NaN is never equal to itself: it would miss every time and fill the cache
        if len(self) < _CACHE_LIMIT and not (isinstance(value, float) and math.isnan(value)):
            self[key] = built
        return built


class CellXml:
    """New cells' XML for one sheet's namespace prefix, cached per value (see ``Edit``)."""

    def __init__(self, prefix: bytes) -> None:
        p = prefix
        self.text_open = b' t="inlineStr"><' + p + b"is><" + p + b"t"
        self.text_close = b"</" + p + b"t></" + p + b"is></" + p + b"c>"
        self.value_open = b"><" + p + b"v>"
        self.value_close = b"</" + p + b"v></" + p + b"c>"
        self.bool_open = b' t="b"' + self.value_open
        self._mixed = _Tails(self._tail, typed=True)
        self._by_type: dict[type, _Tails] = {}

    def tail(self, value: object) -> Edit:
        """The cell XML after the ref's digits for ``value`` (None: no cell, the value is empty)."""
        try:
            return self._mixed[(type(value), value)]
        except TypeError:  # unhashable: build it every time
            return self._tail(value)

    def tails(self, values: Sequence[object]) -> list[Edit]:
        """``tail`` of every value, through one cache lookup per value (a column is usually one type)."""
        kinds = set(map(type, values))
        kinds.discard(type(None))
        try:
            if len(kinds) == 1:
                kind = kinds.pop()
                by_value = self._by_type.get(kind)
                if by_value is None:
                    by_value = self._by_type[kind] = _Tails(self._tail, typed=False)
                if kind is str and len(values) > 64:
                    self._add_texts(by_value, values)
                return list(map(by_value.__getitem__, values))
            if not kinds:
                return [None] * len(values)
            return list(map(self._mixed.__getitem__, zip(map(type, values), values, strict=True)))
        except TypeError:  # an unhashable value
            return [self.tail(value) for value in values]

    def _add_texts(self, cache: _Tails, values: Sequence[object]) -> None:
        """Put the texts the cache lacks into it in one loop (a column of messages is mostly new texts)."""
        new = set(values).difference(cache)
        if len(cache) + len(new) > _CACHE_LIMIT:
            cache.clear()  # remember this column's texts rather than older ones
        plain, opening, closing = _PLAIN_TEXT.fullmatch, b'"' + self.text_open + b">", self.text_close
        limit = TEXT_LIMIT // 2
        for text in new:
            if isinstance(text, str) and text and len(text) <= limit and plain(text):  # see text()
                cache[text] = opening + text.encode() + closing
            else:
                cache[text] = self._tail(text)

    def _tail(self, value: object) -> Edit:
        kind = type(value)
        if kind is str:  # the usual value: skip the isinstance ladder
            payload = self.text(value)  # type: ignore[arg-type]
        elif kind is float and value == value and value not in (math.inf, -math.inf):
            payload = self.value_open + repr(value).encode() + self.value_close
        else:
            payload = self._build(value)
        return None if payload is None else b'"' + payload

    def _build(self, value: object) -> bytes | None:
        if value is None or type(value).__name__ == "NAType":  # pandas.NA, without importing pandas
            return None
        if isinstance(value, bool) or getattr(getattr(value, "dtype", None), "kind", "") == "b":
            return self.bool_open + (b"1" if value else b"0") + self.value_close
        if isinstance(value, numbers.Integral):
            if abs(int(value)) < 10**15:  # Excel keeps 15 digits; longer numbers stay exact as text
                return self.value_open + str(int(value)).encode() + self.value_close
            return self.text(str(int(value)))
        if isinstance(value, numbers.Real):
            number = float(value)
            if math.isnan(number):
                return None
            if math.isinf(number):
                return self.text(str(number))
            return self.value_open + repr(number).encode() + self.value_close
        if isinstance(value, dt.datetime):
            if value != value:  # NaT
                return None
            if value.time() == dt.time(0) and not value.tzinfo:
                return self.text(value.date().isoformat())
            return self.text(value.isoformat(sep=" ", timespec="seconds"))
        if isinstance(value, dt.date):
            return self.text(value.isoformat())
        return self.text(str(value))

    def text(self, value: str) -> bytes | None:
        """Text as the XML after the cell's r attribute (None for an empty text: an empty cell)."""
        if value == "":
            return None
        if len(value) <= TEXT_LIMIT // 2 and _PLAIN_TEXT.fullmatch(value):
            escaped = value  # nothing to escape, cut or preserve (one C-speed check)
            space = b""
        else:
            escaped = cell_text(value)
            space = b' xml:space="preserve"' if escaped != escaped.strip() or "\n" in escaped else b""
        return self.text_open + space + b">" + escaped.encode("utf-8") + self.text_close


#: text that cell_text leaves as it is and that needs no xml:space: no character to escape or to replace,
#: no "_" (Excel's _xHHHH_ escapes), no line break, no space at either end
_PLAIN_TEXT = re.compile(r"(?!\s)[^\x00-\x1f&<>_\r\ufffe\uffff\ud800-\udfff]*(?<!\s)")


def _payload_length(edit: bytes) -> int:
    """Length of an edit's XML after its r and s attributes."""
    return len(edit) - (edit.index(b'"', len(_FORCED)) + 1 if edit.startswith(_FORCED) else 1)


class _Ours:
    """Every style index: the format of a cell the tool wrote this run is the tool's, never the user's."""

    def __contains__(self, item: object) -> bool:
        return True


_OURS = _Ours()


# --- the shared strings part --------------------------------------------------------------------------

_SI = re.compile(rb"<(?:[\w.-]+:)?si\b[^>]*?(?:/>|>.*?</(?:[\w.-]+:)?si>)", re.S)
_T = re.compile(rb"<(?:[\w.-]+:)?t\b[^>]*?(?:/>|>(.*?)</(?:[\w.-]+:)?t>)", re.S)
_RPH = re.compile(rb"<(?:[\w.-]+:)?rPh\b.*?</(?:[\w.-]+:)?rPh>", re.S)


def _inline_text(fragment: bytes) -> str:
    """The text of a ``<si>`` or ``<is>`` fragment: its ``<t>`` runs, without phonetic runs."""
    if b"rPh" in fragment:
        fragment = _RPH.sub(b"", fragment)
    return "".join(xml_text(m.group(1) or b"") for m in _T.finditer(fragment))


class SharedStrings:
    """Shared strings read lazily, only as far as the highest index asked for (headers are near the top)."""

    def __init__(self, package: Package) -> None:
        rel = next((r for r in package.rels.values() if r.type.endswith("/sharedStrings") and r.part), None)
        self._xml = utf8_xml(package.read(rel.part)) if rel and rel.part else b""
        self._items = _SI.finditer(self._xml)
        self._texts: list[str] = []

    def get(self, index: int) -> str | None:
        while len(self._texts) <= index:
            match = next(self._items, None)
            if match is None:
                return None
            self._texts.append(_inline_text(match.group()))
        return self._texts[index]


# --- one worksheet's XML ----------------------------------------------------------------------------------

#: the bulk render cuts the sheet data into rows about this many bytes at a time
_BLOCK = 1 << 20

_SHEET_DATA = re.compile(rb"<([\w.-]+:)?sheetData\b([^>]*?)(/?)>")
_R_ATTR = re.compile(rb'\sr="([A-Za-z]+)(\d*)"')
_S_ATTR = re.compile(rb'\ss="(\d+)"')
_T_ATTR = re.compile(rb'\st="(\w+)"')
_DIMENSION = re.compile(rb'(<(?:[\w.-]+:)?dimension\b[^>]*?\bref=")([^"]*)(")')
_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+)")

#: a cell in a row chunk: (0-based column, start, end, its s attribute or None, has a ref)
_CellSpan = tuple[int, int, int, bytes | None, bool]


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


class SheetDoc:
    """A worksheet part split into rows, with the pending edits; renders the patched XML.

    Edits come as column blocks (``set_column``: one list per column), as whole new rows (``add_rows``:
    rows past the sheet's last row, kept as finished row XML in ``added``) and as single cells (``put``).
    The last write to a cell wins; a put changes an added row at once.
    """

    def __init__(self, xml: bytes, name: str, part: str | None, plain: int | None = None) -> None:
        """``plain``: every cell tag of ``xml`` is known to start with a plain ref in the first ``plain``
        columns (the reader proved it: see ``Package.plain_columns``)."""
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
            close = xml.find(b"</" + p + b"sheetData>", match.end())
            if close < 0:
                raise NotAWorkbook(
                    f"sheet '{name}' is damaged (unclosed sheetData): open it in Excel and save it."
                )
            self.head, body, self.tail = xml[: match.end()], xml[match.end() : close], xml[close:]
        self.size = len(xml)
        self.cells = CellXml(p)
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
        self._body: bytes | None = body  # kept for the C-speed regex checks until the sheet is rendered
        self.puts: dict[int, dict[int, Edit]] = {}
        self.blocks: dict[int, tuple[Sequence[int], list[Edit]]] = {}
        self.added: dict[int, bytes] = {}  # row number -> the row's XML, rows after every existing row
        self.longest: dict[int, int] = {}  # column -> longest cell XML of the added rows (column widths)
        self._longest_stale = False  # an added row was edited since: ``longest`` is worked out again
        self.clear: set[int] = set()
        self.edit_rows = [0, 0]  # min, max row with edits (0: none)
        self.edit_cols = [0, 0]  # min, max 0-based column + 1 with edits (0: none)
        self.changed = False
        self.replaced = False
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
        self._last_num = max(self.nums, default=0)
        self._rows: list[bytes] | None = None
        self.lead = body[: body.find(self._open_tag)] if found else body

    @property
    def sep(self) -> bytes:
        """What the row chunks were split on: ``<row `` when every row tag starts so, else nothing."""
        if self._sep is None:
            # bytes.split on "<row " is ~6x faster than a regex split; joining with it restores the tags
            literal = self._open_tag + b" "
            body = self._body if self._body is not None else b""
            self._sep = literal if body.count(literal) == len(self.nums) else b""
        return self._sep

    @property
    def rows(self) -> list[bytes]:
        """One chunk per row element (after the ``sep`` that joins them back)."""
        if self._rows is None:
            body = self._body if self._body is not None else b""
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

    def _row_chunk(self, index: int) -> bytes:
        """The chunk of the first (0) or last (-1) row, without splitting the whole sheet (from its
        ``<row`` when the sheet is not split: every reader of a chunk starts after its first ``>``)."""
        if self._rows is not None or self._body is None:
            return self.rows[index]
        body, tag = self._body, self._open_tag

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

    def _row_chunk_of(self, number: int) -> bytes:
        at = self.nums.index(number)
        return self._row_chunk(0 if at == 0 else -1) if at in (0, len(self.nums) - 1) else self.rows[at]

    def _plain_refs(self, claim: int) -> bool:
        """Proof, in one C-speed pass (remembered): every cell tag starts with a plain ref in the first
        ``claim`` columns."""
        if self._proved_plain is not None and claim >= self._proved_plain:
            return True
        proved = self._plain.get(claim)
        if proved is None:
            body = self._body if self._body is not None else b""
            unusual = b"<" + re.escape(self.prefix) + rb'c(?=[\s/>])(?! r="' + columns_up_to(claim) + rb"\d)"
            proved = self._plain[claim] = re.search(unusual, body) is None
        return proved

    # --- reading ---------------------------------------------------------------------------------------
    def _row_cells(self, chunk: bytes) -> Iterator[tuple[int, re.Match[bytes]]]:
        """(0-based column, match) of each cell in a row chunk, counting cells without refs."""
        column = -1
        for match in self._cell_re.finditer(chunk, chunk.find(b">") + 1):
            ref = _R_ATTR.search(match.group(1))
            column = _column_index(ref.group(1)) if ref else column + 1
            yield column, match

    def headers(self, shared: SharedStrings) -> dict[str, int]:
        """Folded header text -> 0-based column, from the values in row 1 (first occurrence wins)."""
        if self._headers is None:
            self._headers = {}
            first = 0 if self.nums[:1] == [1] else (self.nums.index(1) if 1 in self.nums else None)
            if not self.replaced and first is not None:
                chunk = self._row_chunk_of(1)
                for column, match in self._row_cells(chunk):
                    text = _cell_value(match, shared)
                    if text is not None and text.strip():
                        self._headers.setdefault(fold(text), column)
        return self._headers

    def last_column(self) -> int:
        """Number of used columns: the 1-based column of the rightmost cell of any row, edits included."""
        if self._widest is None:
            self._widest = 0 if self.replaced else self._scan_widest()
        return max(self._widest, self.edit_cols[1])

    def _scan_widest(self) -> int:
        # Claim, then proof: one regex pass looking for any cell tag that does not start with a ref at or
        # left of the claim. The first claim is the widest of the first and last rows (exact when proved);
        # the second the <dimension> (a claim that may only overstate). Otherwise every row is looked at.
        if not self.nums:
            return 0
        claims = [max(self._last_cell_of(self._row_chunk(0)), self._last_cell_of(self._row_chunk(-1))) + 1]
        dimension = _DIMENSION.search(self.head)
        ref = (
            _REF.fullmatch(dimension.group(2).split(b":")[-1].decode("ascii", "replace"))
            if dimension
            else None
        )
        if ref is not None and _column_index(ref.group(1).encode()) + 1 > claims[0]:
            claims.append(_column_index(ref.group(1).encode()) + 1)
        for claim in claims:
            if self._body is not None and 0 < claim < MAX_COLUMNS and self._plain_refs(claim):
                return claim
        return max((self._last_cell_of(chunk) + 1 for chunk in self.rows), default=0)

    def _last_cell_of(self, chunk: bytes) -> int:
        """0-based column of a row's rightmost cell (-1: no cells)."""
        pos = chunk.rfind(self.c_tag)
        if chunk.find(self._bare[0], max(pos, 0)) < 0 and chunk.find(self._bare[1], max(pos, 0)) < 0:
            if pos < 0:
                return -1
            ref = _R_ATTR.search(chunk, pos, chunk.find(b">", pos))
            if ref is not None:  # cells are in column order: the last one is the rightmost
                return _column_index(ref.group(1))
        return max((column for column, _ in self._row_cells(chunk)), default=-1)

    def last_used_row(self) -> int:
        """The last row holding a value (or formula), edits included; 0 for an empty sheet."""
        last = 0
        if not self.replaced and self.nums and self._has_value.search(self._row_chunk(-1)):
            last = self.nums[-1]
        elif not self.replaced:
            for chunk, number in zip(reversed(self.rows), reversed(self.nums), strict=True):
                if self._has_value.search(chunk):
                    last = number
                    break
        if self.added:  # every added row holds a value (a row left empty is dropped)
            last = max(last, next(reversed(self.added)))
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
        chunk = self._edit_row(self.added[row], row, edits, False, _OURS)
        self._longest_stale = True
        if self.c_open in chunk:
            self.added[row] = chunk
        else:
            del self.added[row]  # no cell left: no row, as if it had never been written

    def set_column(
        self, column: int, rows: Sequence[int], values: Sequence[CellValue], styles: Mapping[str, int] | None
    ) -> None:
        """A whole column below the header: replaces earlier writes to it (except the header)."""
        self.changed = True
        for row, cells in self.puts.items():
            if row >= 2:
                cells.pop(column, None)
        edits = self.cells.tails(values)
        if styles:
            edits = self._styled(edits, values, styles)
        if self.added:  # rows added this run: the column's cells are replaced now
            at = dict(zip(rows, edits, strict=True))
            start = self.c_open + _letters(column)
            for row, chunk in list(self.added.items()):
                edit = at.get(row)
                if row >= 2 and (edit is not None or b'%s%d"' % (start, row) in chunk):
                    self._edit_added(row, [(column, edit)])
        if not rows:
            self.blocks.pop(column, None)
            return
        self._track((min(rows), max(rows)), (column, column))
        self.blocks[column] = (rows, edits)

    def _styled(
        self, edits: list[Edit], values: Sequence[CellValue], styles: Mapping[str, int]
    ) -> list[Edit]:
        """Edits with the format ``styles`` gives their (upper-cased) text, worked out per distinct value."""
        restyled: dict[Edit, Edit] = {}
        try:
            distinct: Iterable[object] = set(values)
        except TypeError:  # an unhashable value
            distinct = values
        for value in {value for value in distinct if isinstance(value, str)}:
            forced, edit = styles.get(value.upper()), self.cells.tail(value)
            if forced is not None and edit is not None:
                restyled[edit] = b'%s%d"%s' % (_FORCED, forced, edit[1:])
        return list(map(restyled.get, edits, edits)) if restyled else edits

    def add_rows(
        self, start: int, rows: Sequence[Sequence[CellValue]], columns: Sequence[int] | None = None
    ) -> None:
        """Write whole rows from row ``start`` on: a row's value j goes to column ``columns[j]`` (j when None;
        values beyond ``columns`` are ignored); None leaves the cell alone.

        Rows after every existing row are built here as finished XML, column by column: one cache lookup
        and one concatenation per cell. The others (formatted empty rows at the sheet's end, rows with
        pending edits) go cell by cell through ``put``, which keeps the formats of the cells there."""
        if not rows:
            return
        if columns is None:
            columns = range(max(map(len, rows)))
        end = start + len(rows)
        # rows up to the sheet's last row (formatted empty rows there) and rows with pending edits
        first_new = max(start, (0 if self.replaced else self._last_num) + 1)
        pending = sorted(row for row in self._edited_rows(first_new) if row < end)
        for row in chain(range(start, min(first_new, end)), pending):
            for column, value in zip(columns, rows[row - start], strict=False):
                edit = self.cells.tail(value)
                if edit is not None:
                    self.put(row, column, edit)
        if first_new >= end:
            return
        if pending:
            skip = set(pending)
            numbers = [row for row in range(first_new, end) if row not in skip]
            self._add_bulk(numbers, [rows[row - start] for row in numbers], columns)
        else:
            self._add_bulk(range(first_new, end), rows[first_new - start :], columns)

    def _edited_rows(self, start: int) -> set[int]:
        """Rows from ``start`` on with pending puts or column blocks."""
        found = {row for row in self.puts if row >= start}
        for rows, _ in self.blocks.values():
            if rows and max(rows) >= start:
                found.update(row for row in rows if row >= start)
        return found

    def _add_bulk(
        self, numbers: Sequence[int], rows: Sequence[Sequence[CellValue]], columns: Sequence[int]
    ) -> None:
        """``add_rows`` for rows past every existing row: their XML built column by column."""
        values = list(zip_longest(*rows))[: len(columns)]
        by_column: dict[int, list[Edit]] = {}
        for column, column_values in zip(columns, values, strict=False):
            edits = self.cells.tails(column_values)
            if edits.count(None) == len(edits):
                continue
            earlier = by_column.get(column)  # a column named twice: the later value wins, unless empty
            by_column[column] = (
                edits if earlier is None else [e or old for e, old in zip(edits, earlier, strict=True)]
            )
        if not by_column:
            return
        digits = _digits(numbers)
        cells = []
        for column in sorted(by_column):
            start_tag = self.c_open + _letters(column)
            edits = by_column[column]
            cells.append(
                [b"" if e is None else start_tag + n + e for n, e in zip(digits, edits, strict=True)]
            )
        bodies = list(map(b"".join, zip(*cells, strict=True))) if len(cells) > 1 else cells[0]
        used = [i for i, body in enumerate(bodies) if body]
        self._track((numbers[used[0]], numbers[used[-1]]), (min(by_column), max(by_column)))
        open_row, close_row = self.open_row, self.close_row
        if len(used) < len(bodies):  # rows whose values are all empty get no row element
            numbers = [numbers[i] for i in used]
            digits = [digits[i] for i in used]
            bodies = [bodies[i] for i in used]
        rows_xml = [open_row + n + b'">' + body + close_row for n, body in zip(digits, bodies, strict=True)]
        self.added.update(zip(numbers, rows_xml, strict=True))
        if self.part is None:  # a new sheet: its columns get widths from their longest texts
            for column, edits in by_column.items():
                distinct = set(edits)
                distinct.discard(None)
                longest = max(len(edit or b"") for edit in distinct) - 1 - self._text_overhead
                self.longest[column] = max(self.longest.get(column, 0), longest)

    @property
    def _text_overhead(self) -> int:
        return len(self.cells.text_open) + len(self.cells.text_close) + 1

    def replace_all(self) -> None:
        """Drop every row: the sheet's content is about to be written from scratch."""
        self._rows, self.nums, self.lead, self._body, self._last_num = [], [], b"", None, 0
        self._sep = b""
        self.puts, self.blocks, self.added, self.longest, self.clear = {}, {}, {}, {}, set()
        self._longest_stale = False
        self.edit_rows, self.edit_cols = [0, 0], [0, 0]
        self.replaced = self.changed = True
        self._headers, self._widest = {}, 0

    # --- rendering -------------------------------------------------------------------------------------
    def estimated_size(self) -> int:
        """About the size of the rendered part (it picks the deflate level)."""
        kept = len(self.head) + len(self.tail) if self.replaced else self.size
        return kept + sum(map(len, self.added.values()))

    def render(self, check_ids: set[int], widths: bool = False) -> Iterator[bytes]:
        """The patched sheet XML, in chunks of a few thousand rows."""
        yield self._head(widths)
        groups = self._groups()
        edited = set(self.puts).union(*(group.rows for group in groups))
        new_rows = sorted(edited.difference(self.nums).difference(self.added))
        trailing = None if self.added else self._trailing(groups, check_ids)
        bulk, old_cells = False, None
        if trailing is not None and (not new_rows or new_rows[0] > self._last_num):
            bulk, old_cells = self._bulk_plan(*trailing)
        if bulk:
            yield from self._render_bulk(groups, old_cells, new_rows)
        else:
            yield self.lead
            yield from self._render_rows(groups, edited, new_rows, check_ids)
        yield self.tail

    def _render_rows(
        self, groups: list[_Group], edited: set[int], new_rows: list[int], check_ids: set[int]
    ) -> Iterator[bytes]:
        """Row by row: each edited row parsed as far as needed (the general path)."""
        sep, clear, pending = self.sep, bool(self.clear), 0
        out: list[bytes] = []
        for chunk, number in zip(self.rows, self.nums, strict=True):
            while pending < len(new_rows) and new_rows[pending] < number:
                out.append(self._new_row(new_rows[pending], groups))
                pending += 1
            if number in edited or (clear and number >= 2):
                edits = self._edits_of(number, groups) if number in edited else []
                chunk = self._edit_row(chunk, number, edits, clear and number >= 2, check_ids)
            out.append(sep)
            out.append(chunk)
            if len(out) >= 8192:
                yield b"".join(out)
                out = []
        rest = new_rows[pending:]
        if self.added and rest:  # rows of edits among the added rows (both lie past the sheet's rows)
            added = self.added
            for number in sorted(chain(rest, added)):
                row = added.get(number)
                out.append(self._new_row(number, groups) if row is None else row)
                if len(out) >= 8192:
                    yield b"".join(out)
                    out = []
        else:
            out += (self._new_row(number, groups) for number in rest)
            added_rows = list(self.added.values())
            for at in range(0, len(added_rows), 8192):
                out += added_rows[at : at + 8192]
                yield b"".join(out)
                out = []
        yield b"".join(out)

    def _bulk_plan(
        self, starts: list[bytes], styled: re.Pattern[bytes] | None
    ) -> tuple[bool, re.Pattern[bytes] | None]:
        """Whether the sheet data can be cut at every ``</row>`` (not when a row has no ``</row>``, as
        ``<row/>``, or when a cell to cut has a format of the user's (``styled``): the general path takes
        those), and the pattern of the tool's old cells to cut out of rows 2 on (from the first of them to
        the row's end: ``starts`` begin them), None when there are none."""
        body = self._body
        assert body is not None
        close = self.close_row
        if body.count(close) != len(self.nums):
            return False, None
        if not starts:
            return True, None
        if styled is not None and search_windows(styled, body, boundary=close) is not None:
            return False, None
        first = b"|".join(re.escape(start) for start in starts)
        # from the first of the tool's cells to the row's end ("unrolled": [^<]* runs at C speed)
        return True, re.compile(
            b"(?:" + first + rb')(?!1")\d[^<]*(?:<(?!' + re.escape(close[1:]) + rb")[^<]*)*"
        )

    def _render_bulk(
        self, groups: list[_Group], old_cells: re.Pattern[bytes] | None, new_rows: list[int]
    ) -> Iterator[bytes]:
        """Whole tool columns at the right end of every row, with C-speed passes and no per-row Python:
        the new cells inserted before each ``</row>``. The sheet data is cut into rows a block of about
        ``_BLOCK`` bytes at a time (never the whole sheet at once: it may be hundreds of MB), the tool's
        old cells cut out of each block (``old_cells``; no match crosses a ``</row>``)."""
        body = self._body
        assert body is not None
        close = self.close_row
        extras = self._bulk_cells(groups)
        header = self.puts.get(1)
        if header and 1 in self.nums:
            at = self.nums.index(1)
            extras[at] += self._cells_xml(b"1", sorted(header.items()))
        pos = row = 0
        last = body.rfind(close)
        while row < len(extras):
            end = body.find(close, min(pos + _BLOCK, last))  # the end of the block's last row
            block = body[pos:end]
            if old_cells is not None:
                block = old_cells.sub(b"", block)
            rows = block.split(close)
            yield b"".join(chain.from_iterable(zip(rows, extras[row : row + len(rows)], repeat(close))))
            row += len(rows)
            pos = end + len(close)
        yield b"".join(self._new_row(number, groups) for number in new_rows)
        yield body[pos:]  # after the last </row>

    def _trailing(
        self, groups: list[_Group], check_ids: set[int]
    ) -> tuple[list[bytes], re.Pattern[bytes] | None] | None:
        """When the edits are whole tool columns at the right end of every row (the usual run), the cell
        starts that begin the tool's existing cells in a row (empty list: none exist yet) and the pattern
        of such a cell with a format of the user's; else None.

        Proved with C-speed passes over the sheet: every cell starts with a plain ref and none lies right
        of the tool columns (or at or right of them, when they are new); no row holds other elements.
        ``_bulk_plan`` proves the rest: no row is self-closing, and the cells to replace carry no
        format of the user's that a rewrite would drop."""
        body = self._body
        columns = sorted({column for group in groups for column, _ in group.columns} | self.clear)
        if body is None or not columns or self.replaced or any(row >= 2 for row in self.puts):
            return None
        if columns[-1] - columns[0] + 1 != len(columns) or not self.clear <= set(columns):
            return None
        if b"extLst" in body:  # (rows without </row> are found when the rows are split)
            return None
        header = self.puts.get(1)
        if header and 1 in self.nums and min(header) <= self._last_cell_of(self._row_chunk_of(1)):
            return None  # a header cell among the row's cells, not after them
        claim = columns[-1] + 1 if self.clear else columns[0]
        if claim < 1 or not self._plain_refs(claim):
            return None
        if not self.clear:
            return [], None
        forced = {
            column
            for group in groups
            for column, edits in group.columns
            if any(edit is not None and edit.startswith(_FORCED) for edit in set(edits))
        }
        ours = b"|".join(b"%d" % i for i in sorted(check_ids)) or b"-"
        styled = [  # a cell of the user's format in a tool column (our colours may go, the user's stay)
            re.escape(_letters(column))
            + rb'\d+"[^>]*?\ss="'
            + (rb"(?!(?:%s)\")" % ours if column in forced else b"")
            for column in columns
        ]
        pattern = re.compile(re.escape(self.c_open) + b"(?:" + b"|".join(styled) + b")")
        return [self.c_open + _letters(column) for column in columns], pattern

    def _bulk_cells(self, groups: list[_Group]) -> list[bytes]:
        """The new cells of every sheet row (aligned with ``self.nums``), built column by column."""
        digits = _digits(self.nums)
        columns: list[tuple[int, list[bytes]]] = []
        for group in groups:
            # the usual run writes every row but the header, in order: no lookup per row
            every_row = self.nums[:1] == [1] and group.rows == self.nums[1:]
            at = None if every_row else list(map(group.index.get, self.nums, repeat(-1)))
            for column, edits in group.columns:
                aligned = chain((None,), edits) if at is None else map([*edits, None].__getitem__, at)
                start = self.c_open + _letters(column)
                cells = [b"" if e is None else start + n + e for n, e in zip(digits, aligned, strict=True)]
                columns.append((column, cells))
        columns.sort(key=lambda item: item[0])
        if not columns:  # only stale cells to clear
            return [b""] * len(self.nums)
        if len(columns) == 1:
            return columns[0][1]
        return list(map(b"".join, zip(*(cells for _, cells in columns), strict=True)))

    def _groups(self) -> list[_Group]:
        """Column blocks grouped by their row list (set_columns shares one)."""
        by_rows: dict[int, _Group] = {}
        for column, (rows, edits) in sorted(self.blocks.items()):
            group = by_rows.get(id(rows))
            if group is None:
                group = by_rows[id(rows)] = _Group(rows)
            group.columns.append((column, edits))
        return list(by_rows.values())

    def _edits_of(self, row: int, groups: list[_Group]) -> list[tuple[int, Edit]]:
        """The row's edits as (column, edit), in column order."""
        found: list[tuple[int, Edit]] = []
        for group in groups:
            at = group.index.get(row)
            if at is not None:
                found += [(column, edits[at]) for column, edits in group.columns]
        puts = self.puts.get(row)
        if puts:
            merged = dict(found)
            merged.update(puts)
            return sorted(merged.items())
        if len(groups) > 1:
            found.sort(key=lambda item: item[0])
        return found

    def _head(self, widths: bool) -> bytes:
        head = self.head
        if self.edit_rows[0]:
            dimension = _DIMENSION.search(head)
            if dimension is not None:
                head = (
                    head[: dimension.start(2)]
                    + self._dimension(dimension.group(2))
                    + head[dimension.end(2) :]
                )
        if widths:
            at = head.rfind(b"<" + self.prefix + b"sheetData")
            head = head[:at] + self._widths() + head[at:]
        return head

    def _dimension(self, old: bytes) -> bytes:
        top, left = self.edit_rows[0], self.edit_cols[0] - 1
        bottom, right = self.edit_rows[1], self.edit_cols[1] - 1
        if not self.replaced:
            for part in old.decode("ascii", "replace").split(":"):
                ref = _REF.fullmatch(part)
                if ref is not None:
                    column, row = _column_index(ref.group(1).encode()), int(ref.group(2))
                    top, bottom = min(top, row), max(bottom, row)
                    left, right = min(left, column), max(right, column)
        first = f"{column_letters(left)}{top}"
        last = f"{column_letters(right)}{bottom}"
        return (first if first == last else f"{first}:{last}").encode()

    def _widths(self) -> bytes:
        """<cols> for a new sheet: each column as wide as its longest text (10 to 60 characters)."""
        longest = self._added_longest() if self._longest_stale else dict(self.longest)
        overhead = self._text_overhead
        entries = [entry for cells in self.puts.values() for entry in cells.items()]
        for column, (_, edits) in self.blocks.items():
            entries += [(column, edit) for edit in set(edits)]
        for column, edit in entries:
            if edit is not None:
                longest[column] = max(longest.get(column, 0), _payload_length(edit) - overhead)
        if not longest:
            return b""
        p = self.prefix
        cols = b"".join(
            b'<%scol min="%d" max="%d" width="%d" customWidth="1"/>'
            % (p, c + 1, c + 1, min(60, max(10, n + 2)))
            for c, n in sorted(longest.items())
        )
        return b"<" + p + b"cols>" + cols + b"</" + p + b"cols>"

    def _added_longest(self) -> dict[int, int]:
        """``longest`` worked out from the added rows as they are now (after edits to them)."""
        longest: dict[int, int] = {}
        overhead = self._text_overhead
        for chunk in self.added.values():
            for column, match in self._row_cells(chunk):
                cell = match.group()
                payload = cell[cell.index(b'"', len(self.c_open)) :]  # from the quote closing the ref
                length = _payload_length(payload) - overhead
                longest[column] = max(longest.get(column, 0), length)
        return longest

    def _cells_xml(self, row: bytes, edits: Sequence[tuple[int, Edit]]) -> bytes:
        """New cells (no cell there before), in the given (column) order."""
        parts: list[bytes] = []
        c_open = self.c_open
        for column, edit in edits:
            if edit is not None:
                parts += (c_open, _letters(column), row, edit)
        return b"".join(parts)

    def _cell(
        self, row: bytes, column: int, edit: Edit, style: bytes | None, check_ids: Container[int]
    ) -> bytes:
        """A cell replacing one that had the s attribute ``style`` (kept unless it is a check colour)."""
        if style is not None and int(style) in check_ids:
            style = None
        if edit is None:  # cleared: keep an empty cell only to keep the user's own format
            return (
                self.c_open + _letters(column) + row + b'" s="' + style + b'"/>' if style is not None else b""
            )
        if style is not None and not edit.startswith(_FORCED):
            return self.c_open + _letters(column) + row + b'" s="' + style + edit
        return self.c_open + _letters(column) + row + edit

    def _new_row(self, number: int, groups: list[_Group]) -> bytes:
        row = b"%d" % number
        cells = self._cells_xml(row, self._edits_of(number, groups))
        return self.open_row + row + b'">' + cells + self.close_row if cells else b""

    def _edit_row(
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
            cells = self._cells_xml(row, edits)
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
            column = _column_index(letters)
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
            return chunk[:close] + self._cells_xml(row, edits) + chunk[close:]
        return self._merge(
            chunk, tail, row, self._located_cells(chunk, found[::-1]), edits, clearing, check_ids
        )

    def _parsed_cells(self, chunk: bytes, start: int, close: int) -> Iterator[_CellSpan]:
        """Every cell between ``start`` and ``close``, counting the columns of cells without refs."""
        column = -1
        for match in self._cell_re.finditer(chunk, start, close):
            ref = _R_ATTR.search(match.group(1))
            column = _column_index(ref.group(1)) if ref else column + 1
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
                parts.append(self._cell(row, edits[index][0], edits[index][1], None, check_ids))
                shifted = True
                index += 1
            replace = index < len(edits) and edits[index][0] == column
            if replace or (clearing and column in self.clear):
                new = self._cell(row, column, edits[index][1] if replace else None, style, check_ids)
                index += 1 if replace else 0
                parts.append(chunk[cursor:cell_start])
                parts.append(new)
                shifted = shifted or not new
                cursor = cell_end
            elif shifted and not has_ref:
                at = cell_start + len(self.prefix) + 2
                parts.append(chunk[cursor:at])
                parts.append(b' r="%s%s"' % (_letters(column), row))
                cursor = at
            last_end = cell_end
        if cursor < last_end:
            parts.append(chunk[cursor:last_end])
            cursor = last_end
        for column, edit in edits[index:]:
            parts.append(self._cell(row, column, edit, None, check_ids))
        return chunk[:start] + b"".join(parts) + chunk[cursor:]


def _cell_value(match: re.Match[bytes], shared: SharedStrings) -> str | None:
    """A cell's value as text (for headers): shared, inline or formula strings, or the raw value."""
    attrs, content = match.group(1), match.group(2)
    kind = _T_ATTR.search(attrs)
    cell_type = kind.group(1) if kind else b"n"
    if cell_type == b"inlineStr":
        return _inline_text(content)
    value = re.search(rb"<(?:[\w.-]+:)?v\b[^>]*>(.*?)</(?:[\w.-]+:)?v>", content, re.S)
    if value is None:
        return None
    if cell_type == b"s":
        try:
            return shared.get(int(value.group(1)))
        except ValueError:
            return None
    return xml_text(value.group(1))

"""The lossless xlsx patch writer: the tool's cells and sheets go in, every other byte stays.

Why not openpyxl: see DESIGN.md "Why the writer patches XML". What this module promises:
- Every package part is copied byte for byte, as the raw compressed zip entry, except the sheet XML it
  changes and, when it adds a sheet, ``[Content_Types].xml``, the workbook part and its relationships.
  ``xl/styles.xml`` changes only the first time "Check Result" colours are needed: fills and cell formats
  are *appended* (counts updated) and found again on later runs. ``docProps/app.xml`` is left alone: its
  list of sheet titles is informational, nothing reads it to load a workbook, and Excel rewrites it on save.
- Inside a changed sheet only the tool's cells are written; every other byte of every row is kept
  (attributes such as ``spans``, which is an optional hint, included). ``<dimension>`` is updated.
- Text is written as an inline string (``t="inlineStr"``), so ``=1+1`` or ``@x`` stays text and never
  becomes a formula; characters XML cannot carry (control characters) are written as Excel's ``_xHHHH_``
  escapes; text is cut to Excel's 32,767-character cell limit. Dates are ISO text.
- Tool columns are found again by their header in row 1 (case- and space-insensitively), never duplicated;
  a new one goes after the sheet's last used column (cells with values or formatting).

It works on the XML bytes with a few C-speed passes (split rows, edit the rows that change, join) so two
status columns on a 500,000-row sheet cost about as much as reading the sheet (benchmarks/bench_write.py).
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache, lru_cache
from itertools import chain, repeat
from pathlib import Path

from cpor_excel.errors import NotAWorkbook
from cpor_excel.io.book import CellValue
from cpor_excel.io.package import (
    CONTENT_TYPES,
    REL_NS,
    Package,
    SheetInfo,
    columns_up_to,
    open_package,
    utf8_xml,
)

#: Excel's limit on the characters of one cell (UTF-16 units)
TEXT_LIMIT = 32767
MAX_COLUMNS = 16384
#: fill colours of "Check Result" cells (Excel's Good / Neutral / Bad, and a light purple)
CHECK_FILLS = {"OK": "FFC6EFCE", "WARNING": "FFFFEB9C", "ERROR": "FFFFC7CE", "CONFLICT": "FFE4DFEC"}
CHECK_RESULT = "check result"
#: parts above this size are deflated at level 1. Measured on a 500,000-row sheet (143 MB of XML): level 1
#: takes 0.45 s for 19.8 MB, level 6 1.3 s for 15.5 MB. Below it the difference is milliseconds and level 6
#: keeps files small.
BIG_PART = 16 * 1024**2

WORKSHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_MAIN_NS = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",
)
_BAD_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")

#: a pending cell: (forced style index or None to keep the cell's own style, XML after the style attribute);
#: None clears the cell
Edit = tuple[int | None, bytes] | None


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


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


class _CellXml:
    """Cell XML after the ``r``/``s`` attributes for one sheet's namespace prefix, cached per value."""

    def __init__(self, prefix: bytes) -> None:
        p = prefix
        self.text_open = b' t="inlineStr"><' + p + b"is><" + p + b"t"
        self.text_close = b"</" + p + b"t></" + p + b"is></" + p + b"c>"
        self.value_open = b"><" + p + b"v>"
        self.value_close = b"</" + p + b"v></" + p + b"c>"
        self.bool_open = b' t="b"' + self.value_open
        self._cache: dict[object, bytes | None] = {}

    def payload(self, value: CellValue) -> bytes | None:
        key = value if isinstance(value, str) else (type(value), value)
        try:
            return self._cache[key]
        except KeyError:
            pass
        except TypeError:  # unhashable: build it every time
            return self._build(value)
        built = self._build(value)
        if len(self._cache) < 200_000:
            self._cache[key] = built
        return built

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
            if (value.hour, value.minute, value.second, value.microsecond) == (
                0,
                0,
                0,
                0,
            ) and not value.tzinfo:
                return self.text(value.date().isoformat())
            return self.text(value.isoformat(sep=" ", timespec="seconds"))
        if isinstance(value, dt.date):
            return self.text(value.isoformat())
        return self.text(str(value))

    def text(self, value: str) -> bytes | None:
        if value == "":
            return None  # an empty text is an empty cell
        escaped = cell_text(value)
        space = b' xml:space="preserve"' if escaped != escaped.strip() or "\n" in escaped else b""
        return self.text_open + space + b">" + escaped.encode("utf-8") + self.text_close


# --- the shared strings and styles parts ------------------------------------------------------------------

_SI = re.compile(rb"<(?:[\w.-]+:)?si\b[^>]*?(?:/>|>.*?</(?:[\w.-]+:)?si>)", re.S)
_T = re.compile(rb"<(?:[\w.-]+:)?t\b[^>]*?(?:/>|>(.*?)</(?:[\w.-]+:)?t>)", re.S)
_RPH = re.compile(rb"<(?:[\w.-]+:)?rPh\b.*?</(?:[\w.-]+:)?rPh>", re.S)


def _inline_text(fragment: bytes) -> str:
    """The text of a ``<si>`` or ``<is>`` fragment: its ``<t>`` runs, without phonetic runs."""
    if b"rPh" in fragment:
        fragment = _RPH.sub(b"", fragment)
    return "".join(xml_text(m.group(1) or b"") for m in _T.finditer(fragment))


class _SharedStrings:
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


def _block(xml: bytes, name: bytes) -> tuple[re.Match[bytes], int] | None:
    """The open tag of element ``name`` (any prefix) and the start of its closing tag."""
    match = re.search(rb"<([\w.-]+:)?" + name + rb"\b[^>]*?(/?)>", xml)
    if match is None or match.group(2):
        return None
    close = xml.find(b"</" + (match.group(1) or b"") + name + b">", match.end())
    return (match, close) if close >= 0 else None


class _Styles:
    """Check Result cell formats: appended to xl/styles.xml once, found again on later runs."""

    def __init__(self, package: Package) -> None:
        rel = next((r for r in package.rels.values() if r.type.endswith("/styles") and r.part), None)
        self.part = rel.part if rel else None
        self.xml = utf8_xml(package.read(self.part)) if self.part else b""
        self.changed = False
        self._indexes: dict[str, int] | None = None

    def check_styles(self) -> dict[str, int]:
        """Cell format index per Check Result value; empty when styles.xml cannot be extended safely."""
        if self._indexes is None:
            self._indexes = self._ensure()
        return self._indexes

    def _ensure(self) -> dict[str, int]:
        xml = self.xml
        fonts, fills, borders, xfs = (
            _block(xml, name) for name in (b"fonts", b"fills", b"borders", b"cellXfs")
        )
        if fonts is None or fills is None or borders is None or xfs is None:
            return {}  # a minimal styles part (no fonts/fills/borders): leave it, skip the colours
        (fills_open, fills_close), (xfs_open, xfs_close) = fills, xfs
        prefix = fills_open.group(1) or b""
        fill_items = list(
            re.finditer(
                rb"<(?:[\w.-]+:)?fill\b[^>]*?(?:/>|>.*?</(?:[\w.-]+:)?fill>)",
                xml[fills_open.end() : fills_close],
                re.S,
            )
        )
        xf_items = list(
            re.finditer(
                rb"<(?:[\w.-]+:)?xf\b([^>]*?)(?:/>|>.*?</(?:[\w.-]+:)?xf>)",
                xml[xfs_open.end() : xfs_close],
                re.S,
            )
        )
        solid: dict[str, int] = {}
        for i, item in enumerate(fill_items):
            text = item.group()
            colour = re.search(rb'<(?:[\w.-]+:)?fgColor\b[^>]*?\brgb="([0-9A-Fa-f]{8})"', text)
            if b'patternType="solid"' in text and colour:
                solid.setdefault(colour.group(1).decode().upper(), i)
        plain_xf: dict[int, int] = {}
        for i, item in enumerate(xf_items):
            if not item.group().endswith(b"/>"):
                continue  # has children (alignment, protection): not a plain fill format
            attrs = dict(re.findall(rb'(\w+)="([^"]*)"', item.group(1)))
            if all(attrs.get(k, b"0") == b"0" for k in (b"numFmtId", b"fontId", b"borderId")):
                plain_xf.setdefault(int(attrs.get(b"fillId", b"-1")), i)
        has_style_xfs = _block(xml, b"cellStyleXfs") is not None
        new_fills: list[bytes] = []
        new_xfs: list[bytes] = []
        indexes: dict[str, int] = {}
        for value, rgb in CHECK_FILLS.items():
            fill = solid.get(rgb)
            if fill is None:
                fill = len(fill_items) + len(new_fills)
                new_fills.append(
                    b'<%sfill><%spatternFill patternType="solid"><%sfgColor rgb="%s"/><%sbgColor '
                    b'indexed="64"/></%spatternFill></%sfill>'
                    % (prefix, prefix, prefix, rgb.encode(), prefix, prefix, prefix)
                )
            xf = plain_xf.get(fill)
            if xf is None:
                xf = len(xf_items) + len(new_xfs)
                style_ref = b' xfId="0"' if has_style_xfs else b""
                new_xfs.append(
                    b'<%sxf numFmtId="0" fontId="0" fillId="%d" borderId="0"%s applyFill="1"/>'
                    % (prefix, fill, style_ref)
                )
                plain_xf[fill] = xf
            indexes[value] = xf
        if new_fills or new_xfs:
            # cellXfs comes after fills: edit the later block first so earlier offsets stay valid
            xml = _append_items(xml, xfs_open, xfs_close, new_xfs, len(xf_items))
            xml = _append_items(xml, fills_open, fills_close, new_fills, len(fill_items))
            self.xml = xml
            self.changed = True
        return indexes


def _append_items(
    xml: bytes, opening: re.Match[bytes], close: int, items: list[bytes], existing: int
) -> bytes:
    if not items:
        return xml
    tag = opening.group()
    counted = re.sub(rb'\bcount="\d*"', b'count="%d"' % (existing + len(items)), tag, count=1)
    return xml[: opening.start()] + counted + xml[opening.end() : close] + b"".join(items) + xml[close:]


# --- one worksheet's XML ----------------------------------------------------------------------------------

_SHEET_DATA = re.compile(rb"<([\w.-]+:)?sheetData\b([^>]*?)(/?)>")
_R_ATTR = re.compile(rb'\sr="([A-Za-z]+)(\d*)"')
_S_ATTR = re.compile(rb'\ss="(\d+)"')
_T_ATTR = re.compile(rb'\st="(\w+)"')
_DIMENSION = re.compile(rb'(<(?:[\w.-]+:)?dimension\b[^>]*?\bref=")([^"]*)(")')
_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+)")


class _SheetDoc:
    """A worksheet part split into rows, with the pending cell edits; renders the patched XML.

    Edits come as column blocks (``set_columns``: one list per column, no per-cell objects) and as single
    cells (``puts``); a put wins over a block for the same cell.
    """

    def __init__(self, xml: bytes, name: str, part: str | None) -> None:
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
        self.cells = _CellXml(p)
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
        self.clear: set[int] = set()
        self.edit_rows = [0, 0]  # min, max row with edits (0: none)
        self.edit_cols = [0, 0]  # min, max 0-based column + 1 with edits (0: none)
        self.changed = False
        self.replaced = False
        self._headers: dict[str, int] | None = None
        self._widest: int | None = None

    def _split(self, body: bytes) -> None:
        """Number the rows (one C-speed pass); the rows themselves are split out only when needed."""
        self._open_tag = b"<" + self.prefix + b"row"
        found = re.findall(re.escape(self._open_tag) + rb'(?=[\s/>])(?:[^>]*?\sr="(\d+)")?', body)
        literal = self._open_tag + b" "
        # bytes.split on "<row " is ~6x faster than a regex split; joining with it restores the tags
        self.sep = literal if body.count(literal) == len(found) else b""
        if b"" not in found:
            self.nums = list(map(int, found))
        else:  # rows without r: numbered like Excel does, one after the previous
            self.nums, previous = [], 0
            for ref in found:
                previous = int(ref) if ref else previous + 1
                self.nums.append(previous)
        self._rows: list[bytes] | None = None
        self.lead = body[: body.find(self._open_tag)] if found else body

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
        """The chunk of the first (0) or last (-1) row, without splitting the whole sheet."""
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
        chunk = body[at:end]
        return chunk[len(self.sep) :] if self.sep else chunk

    def _row_chunk_of(self, number: int) -> bytes:
        at = self.nums.index(number)
        return self._row_chunk(0 if at == 0 else -1) if at in (0, len(self.nums) - 1) else self.rows[at]

    # --- reading ---------------------------------------------------------------------------------------
    def _row_cells(self, chunk: bytes) -> Iterator[tuple[int, re.Match[bytes]]]:
        """(0-based column, match) of each cell in a row chunk, counting cells without refs."""
        column = -1
        for match in self._cell_re.finditer(chunk, chunk.find(b">") + 1):
            ref = _R_ATTR.search(match.group(1))
            column = _column_index(ref.group(1)) if ref else column + 1
            yield column, match

    def headers(self, shared: _SharedStrings) -> dict[str, int]:
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
            if self._body is not None and 0 < claim < MAX_COLUMNS:
                unusual = (
                    b"<" + re.escape(self.prefix) + rb'c(?=[\s/>])(?! r="' + columns_up_to(claim) + rb"\d)"
                )
                if re.search(unusual, self._body) is None:
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
        self.puts.setdefault(row, {})[column] = edit

    def set_column(
        self, column: int, rows: Sequence[int], values: Sequence[CellValue], styles: Mapping[str, int] | None
    ) -> None:
        """A whole column below the header: replaces earlier writes to it (except the header)."""
        self.changed = True
        for row, cells in self.puts.items():
            if row >= 2:
                cells.pop(column, None)
        if not rows:
            self.blocks.pop(column, None)
            return
        self._track((min(rows), max(rows)), (column, column))
        payload = self.cells.payload
        if styles:
            edits: list[Edit] = [
                None
                if (data := payload(v)) is None
                else (styles.get(v.upper()) if isinstance(v, str) else None, data)
                for v in values
            ]
        else:
            edits = [None if (data := payload(v)) is None else (None, data) for v in values]
        self.blocks[column] = (rows, edits)

    def replace_all(self) -> None:
        """Drop every row: the sheet's content is about to be written from scratch."""
        self._rows, self.nums, self.lead, self._body = [], [], b"", None
        self.puts, self.blocks, self.clear = {}, {}, set()
        self.edit_rows, self.edit_cols = [0, 0], [0, 0]
        self.replaced = self.changed = True
        self._headers, self._widest = {}, 0

    # --- rendering -------------------------------------------------------------------------------------
    def render(self, check_ids: set[int], widths: bool = False) -> Iterator[bytes]:
        """The patched sheet XML, in chunks of a few thousand rows."""
        yield self._head(widths)
        groups = self._groups()
        edited = set(self.puts).union(*(index for index, _ in groups))
        new_rows = sorted(edited.difference(self.nums))
        trailing = self._trailing(groups, check_ids)
        if trailing is not None and (not new_rows or new_rows[0] > max(self.nums, default=0)):
            yield from self._render_bulk(groups, trailing, new_rows)
        else:
            yield self.lead
            yield from self._render_rows(groups, edited, new_rows, check_ids)
        yield self.tail

    def _render_rows(
        self,
        groups: list[tuple[dict[int, int], list[tuple[int, list[Edit]]]]],
        edited: set[int],
        new_rows: list[int],
        check_ids: set[int],
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
        for number in new_rows[pending:]:
            out.append(self._new_row(number, groups))
        yield b"".join(out)

    def _render_bulk(
        self,
        groups: list[tuple[dict[int, int], list[tuple[int, list[Edit]]]]],
        starts: list[bytes],
        new_rows: list[int],
    ) -> Iterator[bytes]:
        """Whole tool columns at the right end of every row, with C-speed passes and no per-row Python:
        the tool's old cells (rows 2 on) cut to the end of each row, the new ones inserted before each
        ``</row>``."""
        body = self._body
        assert body is not None
        close = self.close_row
        if starts:
            first = b"|".join(re.escape(start) for start in starts)
            # from the first of the tool's cells to the row's end ("unrolled": [^<]* runs at C speed)
            old_cells = b"(?:" + first + rb')(?!1")\d[^<]*(?:<(?!' + re.escape(close[1:]) + rb")[^<]*)*"
            body = re.sub(old_cells, b"", body)
        extras = self._bulk_cells(groups)
        header = self.puts.get(1)
        if header and 1 in self.nums:
            at = self.nums.index(1)
            extras[at] += self._cells_xml(b"1", sorted(header.items()))
        segments = body.split(close)
        if len(extras) != len(segments) - 1:
            raise AssertionError("rows and cells out of step")  # _trailing proved this cannot happen
        step = 3 * 8192
        # the last segment (after the last </row>) is left over by zip: it follows below
        parts = list(chain.from_iterable(zip(segments, extras, repeat(close), strict=False)))
        for i in range(0, len(parts), step):
            yield b"".join(parts[i : i + step])
        yield b"".join(self._new_row(number, groups) for number in new_rows)
        yield segments[-1]

    def _trailing(self, groups: list[tuple[dict[int, int], list[tuple[int, list[Edit]]]]],
                  check_ids: set[int]) -> list[bytes] | None:  # fmt: skip
        """When the edits are whole tool columns at the right end of every row (the usual run), the cell
        starts that begin the tool's existing cells in a row (empty list: none exist yet); else None.

        Proved with C-speed passes over the sheet: every cell starts with a plain ref and none lies right
        of the tool columns (or at or right of them, when they are new); no row is self-closing or holds
        other elements; the cells to replace carry no format of the user's that a rewrite would drop."""
        body = self._body
        columns = sorted({column for _, cols in groups for column, _ in cols} | self.clear)
        if body is None or not columns or self.replaced or any(row >= 2 for row in self.puts):
            return None
        if columns[-1] - columns[0] + 1 != len(columns) or not self.clear <= set(columns):
            return None
        if body.count(self.close_row) != len(self.nums) or b"extLst" in body:
            return None
        header = self.puts.get(1)
        if header and 1 in self.nums and min(header) <= self._last_cell_of(self._row_chunk_of(1)):
            return None  # a header cell among the row's cells, not after them
        claim = columns[-1] + 1 if self.clear else columns[0]
        unusual = b"<" + re.escape(self.prefix) + rb'c(?=[\s/>])(?! r="' + columns_up_to(claim) + rb"\d)"
        if claim < 1 or re.search(unusual, body) is not None:
            return None
        if not self.clear:
            return []
        forced = {
            column
            for _, cols in groups
            for column, edits in cols
            if any(e and e[0] is not None for e in edits)
        }
        ours = b"|".join(b"%d" % i for i in sorted(check_ids)) or b"-"
        styled = [  # a cell of the user's format in a tool column (our colours may go, the user's stay)
            re.escape(_letters(column))
            + rb'\d+"[^>]*?\ss="'
            + (rb"(?!(?:%s)\")" % ours if column in forced else b"")
            for column in columns
        ]
        if re.search(re.escape(self.c_open) + b"(?:" + b"|".join(styled) + b")", body) is not None:
            return None
        return [self.c_open + _letters(column) for column in columns]

    def _bulk_cells(self, groups: list[tuple[dict[int, int], list[tuple[int, list[Edit]]]]]) -> list[bytes]:
        """The new cells of every sheet row (aligned with ``self.nums``), built column by column."""
        numbers = [b"%d" % n for n in self.nums]
        columns: list[tuple[int, list[bytes]]] = []
        for index, cols in groups:
            at = [index.get(n) for n in self.nums]
            for column, edits in cols:
                start = self.c_open + _letters(column)
                attrs = {e[0]: _style_attr(e[0]) for e in edits if e is not None}
                columns.append(
                    (
                        column,
                        [
                            b"" if i is None or (e := edits[i]) is None else start + n + attrs[e[0]] + e[1]
                            for i, n in zip(at, numbers, strict=True)
                        ],
                    )
                )
        columns.sort(key=lambda item: item[0])
        if not columns:  # only stale cells to clear
            return [b""] * len(self.nums)
        if len(columns) == 1:
            return columns[0][1]
        return [b"".join(cells) for cells in zip(*(cells for _, cells in columns), strict=True)]

    def _groups(self) -> list[tuple[dict[int, int], list[tuple[int, list[Edit]]]]]:
        """Column blocks grouped by their row list (set_columns shares one), each with a row -> index map."""
        by_rows: dict[int, tuple[dict[int, int], list[tuple[int, list[Edit]]]]] = {}
        for column, (rows, edits) in sorted(self.blocks.items()):
            group = by_rows.get(id(rows))
            if group is None:
                group = by_rows[id(rows)] = (dict(zip(rows, range(len(rows)), strict=True)), [])
            group[1].append((column, edits))
        return list(by_rows.values())

    def _edits_of(
        self, row: int, groups: list[tuple[dict[int, int], list[tuple[int, list[Edit]]]]]
    ) -> list[tuple[int, Edit]]:
        """The row's edits as (column, edit), in column order."""
        found: list[tuple[int, Edit]] = []
        for index, columns in groups:
            at = index.get(row)
            if at is not None:
                found += [(column, edits[at]) for column, edits in columns]
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
        longest: dict[int, int] = {}
        overhead = len(self.cells.text_open) + len(self.cells.text_close) + 1
        entries = [entry for cells in self.puts.values() for entry in cells.items()]
        for column, (_, edits) in self.blocks.items():
            entries += [(column, edit) for edit in edits]
        for column, edit in entries:
            if edit is not None:
                longest[column] = max(longest.get(column, 0), len(edit[1]) - overhead)
        if not longest:
            return b""
        p = self.prefix
        cols = b"".join(
            b'<%scol min="%d" max="%d" width="%d" customWidth="1"/>'
            % (p, c + 1, c + 1, min(60, max(10, n + 2)))
            for c, n in sorted(longest.items())
        )
        return b"<" + p + b"cols>" + cols + b"</" + p + b"cols>"

    def _cells_xml(self, row: bytes, edits: Sequence[tuple[int, Edit]]) -> bytes:
        """New cells (no cell there before), in the given (column) order."""
        parts: list[bytes] = []
        c_open = self.c_open
        for column, edit in edits:
            if edit is not None:
                parts += (c_open, _letters(column), row, _style_attr(edit[0]), edit[1])
        return b"".join(parts)

    def _cell(self, row: bytes, column: int, edit: Edit, style: bytes | None, check_ids: set[int]) -> bytes:
        """A cell replacing one that had the s attribute ``style`` (kept unless it is a check colour)."""
        if style is not None and int(style) in check_ids:
            style = None
        if edit is None:  # cleared: keep an empty cell only to keep the user's own format
            return (
                self.c_open + _letters(column) + row + b'" s="' + style + b'"/>' if style is not None else b""
            )
        forced, payload = edit
        if forced is None and style is not None:
            return self.c_open + _letters(column) + row + b'" s="' + style + b'"' + payload
        return self.c_open + _letters(column) + row + _style_attr(forced) + payload

    def _new_row(
        self, number: int, groups: list[tuple[dict[int, int], list[tuple[int, list[Edit]]]]]
    ) -> bytes:
        row = b"%d" % number
        cells = self._cells_xml(row, self._edits_of(number, groups))
        return b'<%srow r="%s">%s%s' % (self.prefix, row, cells, self.close_row) if cells else b""

    def _edit_row(
        self, chunk: bytes, number: int, edits: list[tuple[int, Edit]], clearing: bool, check_ids: set[int]
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
        check_ids: set[int],
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


#: a cell in a row chunk: (0-based column, start, end, its s attribute or None, has a ref)
_CellSpan = tuple[int, int, int, bytes | None, bool]


def _first_of(chunk: bytes, starts: list[bytes], close: int) -> int:
    """Where the first of the tool's cells begins in a row chunk (``close`` when it has none).

    A start such as ``<c r="F`` must be followed by the row's digits, not more letters (``<c r="FA``)."""
    for start in starts:
        at = chunk.find(start, 0, close)
        while at >= 0 and not chunk[at + len(start) : at + len(start) + 1].isdigit():
            at = chunk.find(start, at + 1, close)
        if at >= 0:
            return at
    return close


@lru_cache(maxsize=256)
def _style_attr(forced: int | None) -> bytes:
    """End of the r attribute, with the s attribute when a style is forced."""
    return b'"' if forced is None else b'" s="%d"' % forced


def _cell_value(match: re.Match[bytes], shared: _SharedStrings) -> str | None:
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


# --- the writer -------------------------------------------------------------------------------------------


class XlsxPatch:
    """Buffered edits to an existing .xlsx/.xlsm, written as a new package by ``save(dest)``.

    The write methods are those of the ``Book`` protocol (cpor_excel/io/book.py). Sheet names match
    case-insensitively, as in Excel. Reads are not offered: ``FileBook`` reads with python-calamine.
    """

    def __init__(self, path: Path | str, package: Package | None = None) -> None:
        self.package = package if package is not None else open_package(path)
        self._docs: dict[str, _SheetDoc] = {}  # existing worksheets being edited, by sheet name
        self._new: dict[str, _SheetDoc] = {}  # sheets this run adds, in order
        self._shared: _SharedStrings | None = None
        self._styles: _Styles | None = None

    def close(self) -> None:
        self.package.close()

    def __enter__(self) -> XlsxPatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sheet_names(self) -> list[str]:
        """Worksheet names in workbook order, then the sheets this patch adds."""
        return [s.name for s in self.package.worksheets()] + list(self._new)

    # --- Book write methods ----------------------------------------------------------------------------
    def set_columns(
        self,
        sheet: str,
        headers: Sequence[str],
        rows: Sequence[int],
        values: Sequence[Sequence[CellValue]],
    ) -> None:
        """Write the tool's columns (see ``Book.set_columns``)."""
        if len(values) != len(headers) or any(len(column) != len(rows) for column in values):
            raise ValueError("set_columns needs one list of values per header, one value per row")
        if any(row < 2 for row in rows):
            raise ValueError("row 1 holds the headers; data rows start at 2")
        _check_headers(headers)
        doc = self._doc(sheet)
        found = doc.headers(self._shared_strings())
        next_column: int | None = None
        columns = []
        for header in headers:
            column = found.get(fold(header))
            if column is None:
                next_column = doc.last_column() if next_column is None else next_column
                column, next_column = next_column, next_column + 1
                found[fold(header)] = column
                doc.put(1, column, (None, doc.cells.text(header) or b""))
            else:
                doc.clear.add(column)  # stale results of an earlier run vanish
            columns.append(column)
        for column, header, column_values in zip(columns, headers, values, strict=True):
            styles = self._check_styles() if fold(header) == CHECK_RESULT else None
            doc.set_column(column, rows, column_values, styles)

    def set_cells(self, sheet: str, cells: Mapping[tuple[int, int], CellValue]) -> None:
        """Set cells (Excel row, 0-based column); each keeps its own cell format."""
        doc = self._doc(sheet)
        for (row, column), value in cells.items():
            payload = doc.cells.payload(value)
            doc.put(row, column, None if payload is None else (None, payload))

    def append_rows(self, sheet: str, rows: Sequence[Sequence[CellValue]]) -> list[int]:
        """Append rows after the last row holding a value, from column A; returns their row numbers."""
        doc = self._doc(sheet)
        start = doc.last_used_row() + 1
        self._write_rows(doc, start, [list(enumerate(row)) for row in rows])
        return list(range(start, start + len(rows)))

    def replace_sheet(self, sheet: str, header: Sequence[str], rows: Sequence[Sequence[CellValue]]) -> None:
        """Create the sheet, or replace all its rows, with a header row and data rows."""
        doc = self._doc(sheet, create=True)
        doc.replace_all()
        _check_headers(header)
        self._write_rows(doc, 1, [list(enumerate(header)), *(list(enumerate(row)) for row in rows)])
        doc.headers(self._shared_strings()).update({fold(h): i for i, h in reversed(list(enumerate(header)))})

    def append_to_sheet(self, sheet: str, header: Sequence[str], rows: Sequence[Sequence[CellValue]]) -> None:
        """Append rows to a tool sheet, by header; created with ``header`` when missing. Rows never change."""
        _check_headers(header)
        doc = self._doc(sheet, create=True)
        found = doc.headers(self._shared_strings())
        if not found and doc.last_used_row() == 0:
            self._write_rows(doc, 1, [list(enumerate(header))])
            found.update({fold(h): i for i, h in reversed(list(enumerate(header)))})
        positions = []
        for name in header:
            column = found.get(fold(name))
            if column is None:  # a column the sheet lacks: added to its header row
                column = doc.last_column()
                found[fold(name)] = column
                doc.put(1, column, (None, doc.cells.text(name) or b""))
            positions.append(column)
        start = doc.last_used_row() + 1
        self._write_rows(doc, start, [list(zip(positions, row, strict=False)) for row in rows])

    # --- saving ----------------------------------------------------------------------------------------
    def save(self, dest: Path | str) -> None:
        """Write the patched workbook to ``dest`` (a new file; never the file being read)."""
        dest = Path(dest)
        check_ids = set(self._styles.check_styles().values()) if self._styles else set()
        replaced: dict[str, tuple[Iterator[bytes] | list[bytes], int]] = {}
        for doc in self._docs.values():
            if doc.changed and doc.part is not None:
                replaced[doc.part] = (doc.render(check_ids), _level(doc.size))
        if self._styles is not None and self._styles.changed and self._styles.part:
            replaced[self._styles.part] = ([self._styles.xml], _level(len(self._styles.xml)))
        added: list[tuple[str, Iterator[bytes] | list[bytes], int]] = []
        if self._new:
            self._register_new_sheets(replaced, added, check_ids)
        self.package.write(dest, replaced, added)

    # --- internals -------------------------------------------------------------------------------------
    def _write_rows(
        self, doc: _SheetDoc, start: int, rows: Sequence[Sequence[tuple[int, CellValue]]]
    ) -> None:
        for offset, cells in enumerate(rows):
            for column, value in cells:
                payload = doc.cells.payload(value)
                if payload is not None:
                    doc.put(start + offset, column, (None, payload))

    def _shared_strings(self) -> _SharedStrings:
        if self._shared is None:
            self._shared = _SharedStrings(self.package)
        return self._shared

    def _check_styles(self) -> dict[str, int]:
        if self._styles is None:
            self._styles = _Styles(self.package)
        return self._styles.check_styles()

    def _doc(self, sheet: str, create: bool = False) -> _SheetDoc:
        info = _match(self.package.sheets, sheet)
        if info is not None:
            if info.kind != "worksheet" or info.part is None:
                raise NotAWorkbook(
                    f"'{info.name}' is a {info.kind or 'broken'} sheet, not a worksheet: rename it so the tool "
                    "can use that name."
                )
            doc = self._docs.get(info.name)
            if doc is None:
                doc = self._docs[info.name] = _SheetDoc(self.package.read(info.part), info.name, info.part)
            return doc
        for name, doc in self._new.items():
            if name.casefold() == sheet.casefold():
                return doc
        if not create:
            raise KeyError(sheet)
        if (
            not 1 <= len(sheet) <= 31
            or _BAD_SHEET_NAME.search(sheet)
            or sheet.startswith("'")
            or sheet.endswith("'")
        ):
            raise ValueError(f"{sheet!r} is not a valid Excel sheet name")
        main, rel = self._namespaces()
        template = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<worksheet xmlns="{main}" xmlns:r="{rel}"><dimension ref="A1"/><sheetViews><sheetView '
            'workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            '<sheetFormatPr defaultRowHeight="15"/><sheetData/><pageMargins left="0.7" right="0.7" '
            'top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>'
        )
        doc = self._new[sheet] = _SheetDoc(template.encode(), sheet, None)
        doc.changed = True
        return doc

    def _namespaces(self) -> tuple[str, str]:
        root = self.package.parse(self.package.workbook)
        main = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else _MAIN_NS[0]
        strict = main == _MAIN_NS[1]
        return main, REL_NS[1] if strict else REL_NS[0]

    def _register_new_sheets(
        self,
        replaced: dict[str, tuple[Iterator[bytes] | list[bytes], int]],
        added: list[tuple[str, Iterator[bytes] | list[bytes], int]],
        check_ids: set[int],
    ) -> None:
        """Add the new sheets' parts and their entries in [Content_Types].xml, workbook.xml and its rels."""
        pkg = self.package
        rel_ns = self._namespaces()[1]
        folder = posixpath.dirname(pkg.workbook)
        content_types = pkg.find(CONTENT_TYPES) or CONTENT_TYPES
        types = utf8_xml(pkg.read(content_types))
        taken = {info.filename.casefold() for info in pkg.infos}  # and names a stale Override still claims:
        taken |= {
            name.decode("utf-8", "replace").lstrip("/").casefold()
            for name in re.findall(rb'PartName="([^"]+)"', types)
        }
        rids = set(pkg.rels)
        sheet_id = max((s.sheet_id for s in pkg.sheets), default=0)
        workbook = utf8_xml(pkg.read(pkg.workbook))
        root = re.search(rb"<(?![?!])[^>]*>", workbook)  # only the root's declarations cover new elements
        root_tag = root.group() if root else b""
        prefix_match = re.search(rb'xmlns:([\w.-]+)="' + re.escape(rel_ns.encode()) + b'"', root_tag)
        sheets_close = re.search(rb"</([\w.-]+:)?sheets>", workbook)
        if sheets_close is None:
            raise NotAWorkbook(
                f"{pkg.path.name}: its workbook part lists no sheets; open it in Excel and save it."
            )
        wb_prefix = (sheets_close.group(1) or b"").decode()
        sheet_tags, rel_tags, overrides = [], [], []
        for name, doc in self._new.items():
            number = 1
            while posixpath.join(folder, "worksheets", f"sheet{number}.xml").casefold() in taken:
                number += 1
            part = posixpath.join(folder, "worksheets", f"sheet{number}.xml")
            taken.add(part.casefold())
            rid_number = len(rids) + 1
            while f"rId{rid_number}" in rids:
                rid_number += 1
            rid = f"rId{rid_number}"
            rids.add(rid)
            sheet_id += 1
            rel_type = rel_ns + "/worksheet"
            target = posixpath.relpath(part, folder) if folder else part
            rel_tags.append(f'<Relationship Id="{rid}" Type="{rel_type}" Target="{target}"/>')
            overrides.append(f'<Override PartName="/{part}" ContentType="{WORKSHEET_CT}"/>')
            if prefix_match is not None:
                rid_attr = f'{prefix_match.group(1).decode()}:id="{rid}"'
            else:  # the rel namespace is not declared on the root: declare it here
                rid_attr = f'r:id="{rid}" xmlns:r="{rel_ns}"'
            sheet_tags.append(f'<{wb_prefix}sheet name="{_attr(name)}" sheetId="{sheet_id}" {rid_attr}/>')
            added.append((part, doc.render(check_ids, widths=True), _level(doc.size)))
        at = sheets_close.start()
        replaced[pkg.workbook] = ([workbook[:at] + "".join(sheet_tags).encode() + workbook[at:]], 6)
        rels = utf8_xml(pkg.read(pkg.workbook_rels))
        replaced[pkg.workbook_rels] = ([_insert_before(rels, b"Relationships", rel_tags)], 6)
        replaced[content_types] = ([_insert_before(types, b"Types", overrides)], 6)


def _check_headers(headers: Sequence[str]) -> None:
    if any(not str(h).strip() for h in headers):
        raise ValueError("every tool column needs a header text")


def _insert_before(xml: bytes, root: bytes, items: list[str]) -> bytes:
    """Insert elements before the closing tag of the root element, in the root's namespace prefix."""
    close = re.search(rb"</([\w.-]+:)?" + root + rb">\s*$", xml)
    if close is None:
        raise NotAWorkbook(
            f"a package part ({root.decode()}) is damaged: open the workbook in Excel and save it."
        )
    prefix = (close.group(1) or b"").decode()
    block = "".join(item.replace("<", f"<{prefix}", 1) if prefix else item for item in items)
    return xml[: close.start()] + block.encode() + xml[close.start() :]


def _match(sheets: Sequence[SheetInfo], name: str) -> SheetInfo | None:
    for info in sheets:
        if info.name == name:
            return info
    folded = name.casefold()
    return next((info for info in sheets if info.name.casefold() == folded), None)


def _level(size: int) -> int:
    return 1 if size > BIG_PART else 6

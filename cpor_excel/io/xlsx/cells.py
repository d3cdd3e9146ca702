"""Cell values as Excel stores them in sheet XML: the text escapes, and ``CellXml``, the XML of a new cell
for each value, cached per value.

The Python work per cell is a lookup in a cache and a concatenation, done for a whole column at once; these
caches are what make that so. Column letters come from ``model/headers.py`` (cached here as bytes).
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache, lru_cache
from itertools import compress, filterfalse
from typing import Any

from cpor_excel.io.cell_rows import kinds_of
from cpor_excel.model.headers import column_index, column_letter

#: Excel's limit on the characters of one cell (UTF-16 units)
TEXT_LIMIT = 32767
MAX_COLUMNS = 16384
#: distinct values remembered per cache (a sheet of unique notes must not hold every one of them twice)
_CACHE_LIMIT = 200_000

#: a pending cell: the XML that follows the digits of the cell's ref (the ``"`` closing the r attribute,
#: `` s="N"`` when the tool forces a cell format, the rest of the cell); None clears the cell. Without a
#: forced format a rewritten cell keeps the format it had.
Edit = bytes | None
FORCED = b'" s="'


@cache
def letters_of(index: int) -> bytes:
    """Column letters of a 0-based index, as bytes (``model.headers.column_letter``, cached)."""
    return column_letter(index).encode()


@lru_cache(maxsize=4096)
def index_of(letters: bytes) -> int:
    """0-based column of ref letters (``b"AB"`` -> 27; ``model.headers.column_index``, cached)."""
    return column_index(letters.decode("ascii"))


#: the digits of the rows below this one are kept once made: every sheet the tool writes numbers its cells'
#: refs from row 2 on, so a batch writes the same few thousand rows' digits in every workbook
_DIGITS_KEPT = 1 << 16
_DIGITS: dict[int, bytes] = {}


def row_digits(numbers: Sequence[int]) -> list[bytes]:
    """Row numbers as the bytes of cell refs: looked up at C speed where kept, else all made at once by
    ``bytes.__mod__`` (a Python call per missing row, as a dict's ``__missing__`` makes, costs three times
    as much: a 500,000-row sheet has 430,000 rows past those kept)."""
    digits = list(map(_DIGITS.get, numbers))
    if all(digits):  # (no digits are empty: a miss is the only false value; ``None in`` compares each)
        return digits  # type: ignore[return-value]
    made = list(map(b"%d".__mod__, numbers))
    if min(numbers) < _DIGITS_KEPT:
        _DIGITS.update(compress(zip(numbers, made, strict=True), map(_DIGITS_KEPT.__gt__, numbers)))
    return made


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
    and ``True`` (equal as dict keys) apart. ``style``: the cell format every cell gets (``forced``)."""

    def __init__(self, build: Callable[[object], Edit], typed: bool, style: int | None = None) -> None:
        super().__init__()
        self._build = build
        self._typed = typed
        self.style = style

    def __missing__(self, key: Any) -> Edit:
        value = key[1] if self._typed else key
        built = self._build(value)
        if built is not None and self.style is not None:
            built = forced(built, self.style)
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
        self._by_type: dict[tuple[type, int | None], _Tails] = {}
        self._looks: dict[tuple[tuple[str, int], ...], _Tails] = {}  # (``_by_look``)

    def tail(self, value: object) -> Edit:
        """The cell XML after the ref's digits for ``value`` (None: no cell, the value is empty)."""
        try:
            return self._mixed[(type(value), value)]
        except TypeError:  # unhashable: build it every time
            return self._tail(value)

    def tails(self, values: Sequence[object], style: ColumnStyle | None = None) -> list[Edit]:
        """``tail`` of every value, through one cache lookup per value (a column is usually one type), with
        the cell format ``style`` forces (``restyle``)."""
        kinds = kinds_of(values)
        fixed = style if isinstance(style, int) else None
        try:
            if len(kinds) == 1:
                kind = kinds.pop()
                if kind is str and isinstance(style, Mapping):
                    return list(map(self._by_look(style).__getitem__, values))
                by_value = self._by_type.get((kind, fixed))
                if by_value is None:
                    by_value = self._by_type[(kind, fixed)] = _Tails(self._tail, typed=False, style=fixed)
                if kind is str and len(values) > 64:
                    by_value = self._add_texts(by_value, values)
                elif (kind is int or kind is float) and len(values) > 16:
                    self._add_numbers(by_value, values)
                edits = list(map(by_value.__getitem__, values))
                return edits if fixed is not None or style is None else self.restyle(edits, values, style)
            if not kinds:
                return [None] * len(values)
            edits = list(map(self._mixed.__getitem__, zip(map(type, values), values, strict=True)))
        except TypeError:  # an unhashable value
            edits = [self.tail(value) for value in values]
        return edits if style is None else self.restyle(edits, values, style)

    def _by_look(self, style: Mapping[str, int]) -> _Tails:
        """The cache of a column of texts whose format depends on the text (``style``: one per upper-cased
        text, as ``restyle`` forces them): a column of a few texts (Check Result, Severity) is then one
        lookup per cell, not a lookup, a set of its texts and a second lookup."""
        key = tuple(style.items())
        cache = self._looks.get(key)
        if cache is None:

            def build(value: object) -> Edit:
                edit, wanted = self._tail(value), style.get(value.upper()) if isinstance(value, str) else None
                return forced(edit, wanted) if wanted is not None and edit is not None else edit

            cache = self._looks[key] = _Tails(build, typed=False)
        return cache

    def restyle(self, edits: list[Edit], values: Sequence[object], style: ColumnStyle) -> list[Edit]:
        """``edits`` (the tails of ``values``) with the cell format ``style`` forces, worked out per
        distinct edit (a fixed format) or per distinct text (a format per upper-cased text)."""
        restyled: dict[Edit, Edit] = {}
        if isinstance(style, int):
            restyled = {edit: forced(edit, style) for edit in set(edits) if edit is not None}
        else:
            try:
                distinct: Iterable[object] = set(values)
            except TypeError:  # an unhashable value
                distinct = values
            for value in {value for value in distinct if isinstance(value, str)}:
                wanted, edit = style.get(value.upper()), self.tail(value)
                if wanted is not None and edit is not None:
                    restyled[edit] = forced(edit, wanted)
        return list(map(restyled.get, edits, edits)) if restyled else edits

    def _add_texts(self, cache: _Tails, values: Sequence[object]) -> _Tails:
        """Put the texts the cache lacks into it, all at once; the cache to look the column up in. A column
        of mostly distinct texts (messages, notes) gets a cache of its own, dropped once the column is
        done: keeping each text's XML beside the rows that hold it would hold it twice."""
        new = _missing(values, cache)
        if 2 * len(new) > len(values):
            cache = _Tails(self._tail, typed=False, style=cache.style)
        elif len(cache) + len(new) > _CACHE_LIMIT:
            cache.clear()  # remember this column's texts rather than older ones
        new.discard(None)
        if "" in new:
            new.discard("")
            cache[""] = None
        texts: list[str] = list(new)  # type: ignore[arg-type]
        if not texts:
            return cache
        joined = "\x00".join(texts)
        if not _as_they_are(texts, joined):  # the texts that need no escape, the rest one by one
            plain, limit = _PLAIN_TEXT.fullmatch, TEXT_LIMIT // 2
            kept = [text for text in texts if len(text) <= limit and plain(text)]
            for text in new.difference(kept):
                cache[text] = cache.__missing__(text)
            texts, joined = kept, "\x00".join(kept)
            if not texts:
                return cache
        start = b'"' if cache.style is None else b'%s%d"' % (FORCED, cache.style)
        opening, closing = start + self.text_open + b">", self.text_close
        raw = joined.encode("ascii") if joined.isascii() else joined.encode("utf-8")
        # every text between the cell's opening and closing, in one pass; split where the texts were joined
        cells = (opening + raw.replace(b"\x00", closing + b"\x00" + opening) + closing).split(b"\x00")
        cache.update(zip(texts, cells, strict=True))
        return cache

    def _add_numbers(self, cache: _Tails, values: Sequence[object]) -> None:
        """Put the numbers (of one type: int or float) the cache lacks into it, all at once: what ``_tail``
        makes of each, without a lookup miss per number (a ledger's new rows hold hundreds of distinct
        counts and amounts). Numbers ``_tail`` writes otherwise (NaN, infinities, 16 digits) are left to it."""
        new = _missing(values, cache)
        new.discard(None)
        if not new:
            return
        if len(cache) + len(new) > _CACHE_LIMIT:
            cache.clear()  # remember this column's numbers rather than older ones
        start = b'"' if cache.style is None else b'%s%d"' % (FORCED, cache.style)
        opening, closing = start + self.value_open, self.value_close
        found: list[Any] = list(new)
        if type(found[0]) is int:  # (a column of one type: ints, or floats)
            numbers = [value for value in found if -(10**15) < value < 10**15]
        else:
            numbers = [value for value in found if math.isfinite(value)]
        if not numbers:
            return
        # every number between its cell's opening and closing in one pass (repr and str agree on ints and
        # floats), split where they were joined; -0.0 (equal to 0.0, so at most one of them) is written 0.0
        texts = ",".join(map(repr, numbers)).encode()
        cells = (opening + texts.replace(b",", closing + b"," + opening) + closing).split(b",")
        cache.update(zip(numbers, cells, strict=True))
        if type(numbers[0]) is float and 0.0 in cache:
            cache[0.0] = opening + b"0.0" + closing

    def _tail(self, value: object) -> Edit:
        kind = type(value)
        if kind is str:  # the usual value: skip the isinstance ladder
            payload = self.text(value)  # type: ignore[arg-type]
        elif kind is float and value == value and value not in (math.inf, -math.inf):
            # -0.0 is written as 0.0: the caches take them for one value (they are equal), and Excel shows 0
            payload = self.value_open + (repr(value) if value else "0.0").encode() + self.value_close
        elif kind is int and -(10**15) < value < 10**15:  # type: ignore[operator]
            payload = self.value_open + str(value).encode() + self.value_close
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
            return self.value_open + (repr(number) if number else "0.0").encode() + self.value_close
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

    def remembered(self) -> int:
        """How many values' XML the caches hold."""
        return len(self._mixed) + sum(map(len, [*self._by_type.values(), *self._looks.values()]))


#: the ``CellXml`` of each namespace prefix, shared by the sheets a process writes: a batch writes the same
#: months, amounts, statuses, codes and headers into every workbook, whose XML is then made once. A sheet
#: opened when it remembers more than ``_SHARED_LIMIT`` values starts a new one (``cell_xml``), and a
#: closed workbook lets go of one as big (``forget_cells``): a long batch holds a few MB of it at most.
_SHARED: dict[bytes, CellXml] = {}
_SHARED_LIMIT = 50_000


def cell_xml(prefix: bytes) -> CellXml:
    """The shared ``CellXml`` of ``prefix`` (a new one when it holds too much)."""
    found = _SHARED.get(prefix)
    if found is None or found.remembered() > _SHARED_LIMIT:
        found = _SHARED[prefix] = CellXml(prefix)
    return found


def forget_cells() -> None:
    """Let go of the shared ``CellXml`` that hold more than ``_SHARED_LIMIT`` values."""
    for prefix, cells in list(_SHARED.items()):
        if cells.remembered() > _SHARED_LIMIT:
            _SHARED.pop(prefix, None)


def _missing(values: Sequence[object], cache: _Tails) -> set[object]:
    """The distinct values the cache lacks, at a cost that grows with ``values``, not with the cache: a
    set's ``difference`` walks a whole dict subclass (as the cache is) once per call, and a column of many
    rows comes a block at a time, each looked up against a cache of up to ``_CACHE_LIMIT`` values."""
    return set(filterfalse(cache.__contains__, set(values)))


def _as_they_are(texts: list[str], joined: str) -> bool:
    """Whether every text is written as it is (``_PLAIN_TEXT``, within the length ``text`` takes so), proved
    with C-speed passes over ``joined`` (the texts joined by NUL, which no plain text holds)."""
    if len(texts) == 0 or max(map(len, texts)) > TEXT_LIMIT // 2:
        return not texts
    if joined.isascii():  # the usual text: bytes passes (only the space is white and not a control character)
        raw = joined.encode("ascii")
        if len(raw.translate(None, _UNUSUAL_BYTES)) != len(raw) - (len(texts) - 1):
            return False  # (the NULs that join the texts are dropped too: any other is unusual)
        return not (raw[:1] == b" " or raw[-1:] == b" " or b"\x00 " in raw or b" \x00" in raw)
    if joined.count("\x00") != len(texts) - 1 or _UNUSUAL.search(joined) or _SPACE_AT_END.search(joined):
        return False
    return not (joined[0].isspace() or joined[-1].isspace())


#: the characters ``_PLAIN_TEXT`` refuses anywhere (but NUL, which joins the texts ``_as_they_are`` checks)
_UNUSUAL = re.compile("[\x01-\x1f&<>_\ufffe\uffff\ud800-\udfff]")
_UNUSUAL_BYTES = bytes(range(0x20)) + b"&<>_"
_SPACE_AT_END = re.compile(r"\x00\s|\s\x00")

#: text that cell_text leaves as it is and that needs no xml:space: no character to escape or to replace,
#: no "_" (Excel's _xHHHH_ escapes), no line break, no space at either end
_PLAIN_TEXT = re.compile(r"(?!\s)[^\x00-\x1f&<>_\r\ufffe\uffff\ud800-\udfff]*(?<!\s)")


def payload_length(edit: bytes) -> int:
    """Length of an edit's XML after its r and s attributes."""
    return len(edit) - (edit.index(b'"', len(FORCED)) + 1 if edit.startswith(FORCED) else 1)


class _Ours:
    """Every style index: the format of a cell the tool wrote this run is the tool's, never the user's."""

    def __contains__(self, item: object) -> bool:
        return True


OURS = _Ours()


#: the format a column's new cells get: one cell format index for every cell, or one per (upper-cased) text
ColumnStyle = int | Mapping[str, int]


def forced(edit: bytes, style: int) -> bytes:
    """An edit that sets the cell format ``style`` (replacing a format it already forces)."""
    if edit.startswith(FORCED):
        edit = edit[edit.index(b'"', len(FORCED)) :]
    return b'%s%d"%s' % (FORCED, style, edit[1:])

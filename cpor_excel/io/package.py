"""The workbook package (a zip of XML parts): safety checks, the map of its parts, and a raw-copy writer.

Every check here runs *before* python-calamine or any XML parser touches the file, in bounded time and
memory: the zip's central directory is checked without inflating anything, XML parts are scanned only for
their first bytes (a DTD can only sit in the prolog), and a sheet's cell range is bounded before a reader
builds it (calamine allocates the dense rectangle of a sheet at once and aborts the process when that
fails, so a two-cell sheet claiming ``XFD1048576`` would kill the run instead of raising).

Decisions on the hostile and unusual files of ``realworld_xlsx`` (see docs in ``file_book.py`` too):
- ``poi_protected_passtika.xlsx`` is a CFB (OLE) container: an encrypted workbook. Error.
- ``poi_xlsx-corrupted.xlsx`` has ``_rels/.rels`` replaced by junk: no reader can find the workbook. Error.
- ``poi_xxe_in_schema.xlsx`` is *not* hostile to us: its "XXE" is an XML-Schema ``xs:redefine
  schemaLocation="http://localhost"`` inside ``xl/xmlMaps.xml`` (an Excel XML map). There is no DTD or
  entity anywhere; the URL would only be fetched by a schema processor, and nothing in this tool (nor
  calamine) parses that part: it is copied byte for byte like any other part we do not change. Refusing
  it would refuse every workbook with an XML map. It must work, and a test proves it does.
- A DOCTYPE in *any* XML part is an error: ECMA-376 Part 2 [M1.18] forbids DTDs in package parts and
  tells consumers to treat one as an error, so no genuine workbook carries one.
- Zip entries differing only by case (``poi_duplicate-filename-case-insensitive.xlsx``) are read: a
  relationship target resolves to the exactly matching name first.
"""

from __future__ import annotations

import gc
import os
import posixpath
import re
import struct
import threading
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import unquote
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException

from cpor_excel.errors import NotAWorkbook

#: limits for hostile packages; a real 500,000-row workbook is ~25 MB zipped, ~150 MB unzipped
MAX_ENTRIES = 10_000
MAX_TOTAL_SIZE = 2 * 1024**3
#: deflate can reach ~1000:1; real sheet XML compresses 5-30:1 (Apache POI refuses beyond 100:1)
MAX_RATIO = 200
RATIO_FLOOR = 1024**2  # parts smaller than this cannot hurt whatever their ratio
MAX_CENTRAL_DIRECTORY = 64 * 1024**2
#: a sheet whose used range (as a reader would build it) exceeds this many cells is refused
MAX_CELLS = 50_000_000
PROLOG_WINDOW = 64 * 1024
#: workbook and relationship parts are parsed whole (ElementTree: ~10x their size in memory); real ones
#: are a few MB even with thousands of defined names
MAX_PARSED_PART = 64 * 1024**2
#: inflated parts kept between the reader's checks and the writer (``Package.hand_over``), at most
MAX_HANDED = 512 * 1024**2

CFB_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
CONTENT_TYPES = "[Content_Types].xml"
REL_NS = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
_XML_SUFFIXES = (".xml", ".rels", ".vml")
_DOS_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class SheetInfo:
    """One ``<sheet>`` of workbook.xml. ``part`` is the zip entry name, or None when it cannot be found."""

    name: str
    sheet_id: int
    rid: str
    part: str | None
    kind: str  # worksheet, chartsheet, dialogsheet, xlMacrosheet, ... ("" when unknown)
    state: str  # visible, hidden, veryHidden


@dataclass(frozen=True)
class Relationship:
    rid: str
    type: str
    target: str  # as written
    part: str | None  # resolved zip entry name (None: external or missing)


def check_package(path: Path | str) -> None:
    """Raise NotAWorkbook (one line: what is wrong, what to do) unless ``path`` is a safe .xlsx/.xlsm."""
    open_package(path).close()


def open_package(path: Path | str) -> Package:
    """Run every package check and return the open package (close it, or use it as a context manager)."""
    path = Path(path)
    _check_file(path)
    entries = _central_directory_entries(path)
    if entries > MAX_ENTRIES:
        raise _bomb(path, f"has {entries:,} zip entries (limit {MAX_ENTRIES:,})")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, struct.error, EOFError) as err:
        raise _damaged(path, f"its zip structure is damaged ({err})") from None
    try:
        _check_entries(path, archive)
        return Package(path, archive)
    except BaseException:
        archive.close()
        raise


class Package:
    """An open, checked workbook package: its entries, relationships and sheets."""

    def __init__(self, path: Path, archive: zipfile.ZipFile) -> None:
        self.path = path
        self.zip = archive
        self.infos = archive.infolist()
        self._handed: dict[str, bytes] = {}
        #: entry -> N, for sheets whose every cell tag is proved to start with a plain ref (``r="B7"``) in
        #: the first N columns (``check_sheet_extent`` proves it; the writer uses it instead of a new pass)
        self.plain_columns: dict[str, int] = {}
        self._exact = {info.filename: info for info in self.infos}
        self._folded: dict[str, str] = {}
        for info in self.infos:
            self._folded.setdefault(info.filename.casefold(), info.filename)
        if self.find(CONTENT_TYPES) is None:
            raise _damaged(path, "it has no [Content_Types].xml part")
        self._scan_prologs()
        root_rels = self.relationships("")
        office = [r for r in root_rels.values() if r.type.endswith("/officeDocument")]
        if not office or office[0].part is None:
            raise _damaged(path, "it names no workbook part (_rels/.rels)")
        self.workbook = office[0].part
        workbook_rels = self.find(rels_part(self.workbook))
        if workbook_rels is None:
            raise _damaged(path, f"it has no {rels_part(self.workbook)}")
        self.workbook_rels = workbook_rels
        self.rels = self.relationships(self.workbook)
        self.sheets = self._read_sheets()

    # --- entries -------------------------------------------------------------------------------------
    def find(self, name: str) -> str | None:
        """The entry name for part ``name``: an exact match first, then a case-insensitive one (OPC)."""
        if name in self._exact:
            return name
        return self._folded.get(name.casefold())

    def read(self, name: str) -> bytes:
        """An entry's bytes; a damaged entry is NotAWorkbook. Never inflates past the declared size."""
        entry = self.find(name)
        if entry is None:
            raise KeyError(name)
        handed = self._handed.pop(entry, None)
        if handed is not None:
            return handed
        try:
            return self.zip.read(self._exact[entry])
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as err:
            raise _damaged(self.path, f"part {entry} is damaged ({err})") from None

    def size(self, name: str) -> int:
        """An entry's declared uncompressed size (0 when there is no such entry)."""
        entry = self.find(name)
        return 0 if entry is None else self._exact[entry].file_size

    def hand_over(self, name: str, data: bytes) -> None:
        """Keep an entry's bytes, as ``read`` gave them, for the next ``read`` of it: a sheet the reader
        inflated for its checks is not inflated again by the writer (up to ``MAX_HANDED`` in all)."""
        entry = self.find(name)
        if entry is not None and sum(map(len, self._handed.values())) + len(data) <= MAX_HANDED:
            self._handed[entry] = data

    def verify(self, name: str) -> None:
        """Inflate an entry in chunks and check its CRC, without keeping it (bounded memory)."""
        entry = self.find(name)
        if entry is None:
            return
        try:
            with self.zip.open(self._exact[entry]) as stream:
                while stream.read(1 << 20):
                    pass
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as err:
            raise _damaged(self.path, f"part {entry} is damaged ({err})") from None

    def info(self, name: str) -> zipfile.ZipInfo:
        entry = self.find(name)
        if entry is None:
            raise KeyError(name)
        return self._exact[entry]

    def close(self) -> None:
        self._handed.clear()
        self.zip.close()

    def __enter__(self) -> Package:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- structure -----------------------------------------------------------------------------------
    def parse(self, name: str) -> Element:
        """Parse a (small) XML part with defusedxml; a parse error is NotAWorkbook."""
        if self.info(name).file_size > MAX_PARSED_PART:
            raise NotAWorkbook(
                f"{self.path.name} is refused as unsafe: its part {name} is {self.info(name).file_size:,} bytes, "
                "far beyond any real workbook; use the original workbook saved by Excel."
            )
        data = self.read(name)
        try:
            return safe_et.fromstring(data, forbid_dtd=True)
        except (ParseError, DefusedXmlException, ValueError) as err:
            raise _damaged(self.path, f"part {name} is not valid XML ({err})") from None

    def relationships(self, source: str) -> dict[str, Relationship]:
        """The relationships of part ``source`` ("" = the package), by Id, targets resolved to entries."""
        name = rels_part(source)
        if self.find(name) is None:
            return {}
        base = posixpath.dirname(source)
        found: dict[str, Relationship] = {}
        for el in self.parse(name):
            if _local(el.tag) != "Relationship":
                continue
            rid, rtype, target = el.get("Id", ""), el.get("Type", ""), el.get("Target", "")
            part = None if el.get("TargetMode") == "External" else self._resolve(base, target)
            found[rid] = Relationship(rid, rtype, target, part)
        return found

    def _resolve(self, base: str, target: str) -> str | None:
        joined = target.lstrip("/") if target.startswith("/") else posixpath.join(base, target)
        name = posixpath.normpath(joined)
        return self.find(name) or self.find(unquote(name))

    def _read_sheets(self) -> list[SheetInfo]:
        root = self.parse(self.workbook)
        elements = [el for el in root.iter() if _local(el.tag) == "sheet"]
        used = set()
        sheets: list[tuple[Element, str]] = []
        for el in elements:
            rid = next((v for k, v in el.attrib.items() if _local(k) == "id" and _ns(k) in REL_NS), "")
            used.add(rid)
            sheets.append((el, rid))
        # Sheets without r:id (cx_SheetsWithoutRelId.xlsx): pair them, in order, with the sheet
        # relationships nobody references, in order of their Id number.
        spare = sorted(
            (r for r in self.rels.values() if r.rid not in used and _sheet_kind(r.type)),
            key=lambda r: (len(r.rid), r.rid),
        )
        result = []
        for el, rid in sheets:
            if not rid and spare:
                rid = spare.pop(0).rid
            rel = self.rels.get(rid)
            result.append(
                SheetInfo(
                    name=el.get("name", ""),
                    sheet_id=_int(el.get("sheetId")),
                    rid=rid,
                    part=rel.part if rel else None,
                    kind=_sheet_kind(rel.type) if rel else "",
                    state=el.get("state", "visible"),
                )
            )
        return result

    def case_twins(self) -> set[str]:
        """Entries whose name differs from another entry's only by case, and that no workbook relationship
        names exactly: the copies a case-insensitive reader might pick instead of the real part."""
        seen: dict[str, list[str]] = {}
        for info in self.infos:
            seen.setdefault(info.filename.casefold(), []).append(info.filename)
        targets = {r.part for r in self.rels.values()} | {self.workbook, self.workbook_rels}
        return {name for names in seen.values() if len(names) > 1 for name in names if name not in targets}

    def worksheets(self) -> list[SheetInfo]:
        """The sheets that hold cells (not chart, dialog or macro sheets), in workbook order."""
        return [s for s in self.sheets if s.kind == "worksheet" and s.part is not None]

    def _scan_prologs(self) -> None:
        for info in self.infos:
            if not info.filename.lower().endswith(_XML_SUFFIXES) or info.file_size == 0:
                continue
            try:
                with self.zip.open(info) as stream:
                    head = stream.read(PROLOG_WINDOW)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as err:
                raise _damaged(self.path, f"part {info.filename} is damaged ({err})") from None
            problem = prolog_problem(head, complete=info.file_size <= PROLOG_WINDOW)
            if problem:
                raise NotAWorkbook(
                    f"{self.path.name} is refused as unsafe: part {info.filename} {problem} "
                    "(Excel never writes one); open it in Excel, save a fresh copy and use that."
                )

    # --- writing ---------------------------------------------------------------------------------------
    def write(
        self,
        dest: Path,
        replaced: Mapping[str, tuple[Iterable[bytes], int]],
        added: Sequence[tuple[str, Iterable[bytes], int]] = (),
    ) -> None:
        """Write a new package to ``dest``: entries in their order, untouched ones copied raw.

        ``replaced`` maps entry names to (new content as chunks, deflate level); chunks are compressed as
        they stream in. ``added`` entries go at the end. Raw copies keep the compressed bytes, CRC,
        timestamps and attributes of the original entry.
        """
        if dest.exists() and self.path.exists() and os.path.samefile(dest, self.path):
            raise ValueError("write the new package to another file, then replace the original atomically")
        with open(dest, "wb") as out:
            self.write_to(out, replaced, added)

    def write_to(
        self,
        out: IO[bytes],
        replaced: Mapping[str, tuple[Iterable[bytes], int]],
        added: Sequence[tuple[str, Iterable[bytes], int]] = (),
        dropped: Collection[str] = (),
    ) -> None:
        """``write`` into a seekable binary stream (``dropped`` entries left out: for reader views only)."""
        with open(self.path, "rb") as source, _ZipWriter(out) as writer:
            for info in self.infos:
                if info.filename in dropped:
                    continue
                if info.filename in replaced:
                    chunks, level = replaced[info.filename]
                    writer.add(_name_bytes(info), info.flag_bits & 0x800, chunks, level, info)
                else:
                    writer.copy(info, source)
            for name, chunks, level in added:
                utf8 = 0 if name.isascii() else 0x800
                writer.add(name.encode("utf-8"), utf8, chunks, level, None)
            writer.finish(self.zip.comment)


# --- sheet extent ---------------------------------------------------------------------------------------

#: the fast path's bound: cells with plain refs up to column AW and row 999,999 (under MAX_CELLS)
_FAST_COLUMNS = 49
_TAG = re.compile(rb"<(?:[\w.-]+:)?(row|c)(?=[\s/>])([^>]*)>")
_R_ATTR = re.compile(rb'\sr="([^"]*)"')
_REF = re.compile(r"([A-Za-z]{0,3})(\d*)$")


def sheet_extent(xml: bytes) -> tuple[int, int]:
    """Upper bound on (rows, columns) of the range a reader (calamine) builds from this sheet XML.

    Fast path, two C-speed passes: when every cell tag starts with a plain ref (``r="AW999999"`` at most),
    the range is below 50 million cells whatever else the sheet holds (rows only matter for cells without
    refs). Wide or tall sheets: a claim (the last row, the <dimension>) proved by three more passes.
    Otherwise every row and cell tag is walked the way calamine walks them (refs, or counting).
    """
    return _extent(xml)[0]


def _extent(xml: bytes) -> tuple[tuple[int, int], int | None]:
    """``sheet_extent``, and N when every cell tag is proved to start with a plain ref in the first N
    columns (the proof the writer needs: the fast path tries the sheet's likely width first)."""
    xml = utf8_xml(xml)
    match = re.search(rb"<([\w.-]+:)?sheetData[\s/>]", xml)
    if match is None:
        return (0, 0), None
    prefix = match.group(1) or b""
    start = match.start()
    end = xml.find(b"</" + prefix + b"sheetData>", start)
    end = len(xml) if end < 0 else end
    # cells under another prefix than sheetData's would escape the fast pattern
    stray = search_windows(re.compile(rb"<c[\s/>]" if prefix else rb":c[\s/>]"), xml, start, end)
    if stray is None:
        # the usual sheet is as wide as its first and last rows: one pass proves it (the writer needs the
        # exact width); else as its <dimension> says; else the bound is AW
        claims = [_edge_columns(xml, prefix, start, end)]
        dimension = re.search(
            rb'<(?:[\w.-]+:)?dimension\b[^>]*?\bref="[^"]*?:?\$?([A-Z]{1,3})\$?\d+"', xml[:start]
        )
        if dimension is not None:
            claims.append(column_number(dimension.group(1).decode()))
        claims = [claim for claim in claims if 0 < claim < _FAST_COLUMNS]
        for columns in dict.fromkeys([*claims, _FAST_COLUMNS]):
            cell = b"<" + re.escape(prefix) + rb'c(?=[\s/>])(?! r="' + columns_up_to(columns) + rb'\d{1,6}")'
            if search_windows(re.compile(cell), xml, start, end) is None:
                return (999_999, _FAST_COLUMNS), columns
        proved = _proved_extent(xml, prefix, start, end)
        if proved is not None:
            return proved, proved[1]
    return _walk_extent(xml, start), None


def _edge_columns(xml: bytes, prefix: bytes, start: int, end: int) -> int:
    """The column (1-based) of the rightmost cell of the first and the last row, from the refs of their
    last cells (0 when they have none)."""
    cell = b"<" + prefix + b"c "
    first_end = xml.find(b"</" + prefix + b"row>", start, end)
    widest = 0
    for at in (xml.rfind(cell, start, first_end if first_end >= 0 else end), xml.rfind(cell, start, end)):
        ref = _R_ATTR.search(xml, at, xml.find(b">", at)) if at >= 0 else None
        letters = _REF.match(ref.group(1).decode("ascii", "replace")) if ref else None
        if letters is not None and letters.group(1):
            widest = max(widest, column_number(letters.group(1)))
    return widest


def _proved_extent(xml: bytes, prefix: bytes, start: int, end: int) -> tuple[int, int] | None:
    """(last row, widest column) when the sheet proves them: every cell has a plain ref, none beyond."""
    cell = b"<" + re.escape(prefix) + rb'c(?=[\s/>])(?! r="'
    if re.compile(cell + rb'[A-Z]{1,3}[1-9]\d{0,6}")').search(xml, start, end) is not None:
        return None  # cells without plain refs: only counting tells where they are
    last_row = xml.rfind(b"<" + prefix + b"row", start, end)
    row_ref = _R_ATTR.search(xml, last_row, xml.find(b">", last_row)) if last_row >= 0 else None
    dimension = re.search(
        rb'<(?:[\w.-]+:)?dimension\b[^>]*?\bref="[^"]*?:?\$?([A-Z]{1,3})\$?(\d+)"', xml[:start]
    )
    if row_ref is None or not row_ref.group(1).isdigit() or dimension is None:
        return None
    rows = max(int(row_ref.group(1)), int(dimension.group(2)))
    columns = column_number(dimension.group(1).decode())
    beyond = b"<" + re.escape(prefix) + rb'c r="(?:[A-Z]{1,3}' + _numbers_above(rows) + b'"|(?!'
    beyond += columns_up_to(columns) + rb"\d))"
    if rows * columns > MAX_CELLS or re.compile(beyond).search(xml, start, end) is not None:
        return None  # not proved, or an overstated claim: the walk finds the real extent
    return (rows, columns)


def _numbers_above(number: int) -> bytes:
    """A regex matching decimal numbers (no leading zero) greater than ``number``."""
    digits = str(number)
    options = [rb"[1-9]\d{%d,}" % len(digits)]
    for i, digit in enumerate(digits):
        if digit != "9":
            rest = rb"\d{%d}" % (len(digits) - i - 1) if len(digits) - i - 1 else b""
            options.append(digits[:i].encode() + b"[" + str(int(digit) + 1).encode() + b"-9]" + rest)
    return b"(?:" + b"|".join(options) + b")"


def columns_up_to(count: int) -> bytes:
    """A regex matching the letters of columns 1..count (``E`` -> ``(?:[A-D]|E)``)."""
    letters, n = "", count
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    options = [b"[A-Z]{1,%d}" % (len(letters) - 1)] if len(letters) > 1 else []
    for i, ch in enumerate(letters):
        if ch > "A":
            rest = b"[A-Z]{%d}" % (len(letters) - i - 1) if len(letters) - i - 1 else b""
            options.append(letters[:i].encode() + b"[A-" + chr(ord(ch) - 1).encode() + b"]" + rest)
    options.append(letters.encode())
    return b"(?:" + b"|".join(options) + b")"


def _walk_extent(xml: bytes, start: int) -> tuple[int, int]:
    max_row = max_col = row = col = 0
    for tag in _TAG.finditer(xml, start):
        ref = _R_ATTR.search(tag.group(2))
        if tag.group(1) == b"row":
            row = int(ref.group(1)) if ref and ref.group(1).isdigit() else row + 1
            col = 0
            max_row = max(max_row, row)
            continue
        letters, digits = "", ""
        if ref:
            parsed = _REF.match(ref.group(1).decode("ascii", "replace"))
            if parsed:
                letters, digits = parsed.groups()
        col = column_number(letters) if letters else col + 1
        cell_row = int(digits) if digits else row
        max_row, max_col = max(max_row, cell_row), max(max_col, col)
        if max_row * max_col > MAX_CELLS:
            break
    return (max_row, max_col)


def check_sheet_extent(xml: bytes, sheet: str, workbook: str) -> int | None:
    """Refuse (NotAWorkbook) a sheet whose cell range is absurd, before any reader materialises it.

    Returns N when every cell tag was proved to start with a plain ref in the first N columns, else None.
    """
    (rows, cols), plain = _extent(xml)
    if rows * cols > MAX_CELLS:
        raise NotAWorkbook(
            f"{workbook}: sheet '{sheet}' claims {rows:,} rows x {cols:,} columns, more than "
            f"{MAX_CELLS:,} cells: delete the stray far-away cells (Ctrl+End shows them) and save again."
        )
    return plain


def column_number(letters: str) -> int:
    """1-based column number of ``A``..``XFD`` (case-insensitive)."""
    number = 0
    for ch in letters.upper():
        number = number * 26 + ord(ch) - 64
    return number


# --- helpers ---------------------------------------------------------------------------------------------


#: long byte scans are cut into windows of this size: a regex search holds the GIL until it returns, and
#: the threads of the reader (calamine) and the writer (deflate) need it now and then
_SCAN_WINDOW = 4 * 1024**2


def search_windows(
    pattern: re.Pattern[bytes],
    data: bytes,
    start: int = 0,
    end: int | None = None,
    reach: int = 64,
    boundary: bytes | None = None,
) -> re.Match[bytes] | None:
    """``pattern.search(data, start, end)``, window by window. A match may look at most ``reach`` bytes
    past its start (a window is searched that much further; what starts there is the next window's);
    with a ``boundary`` no match crosses, windows end right after one instead."""
    end = len(data) if end is None else end
    at = start
    while at < end:
        stop = min(end, at + _SCAN_WINDOW)
        if boundary is not None:
            cut = data.find(boundary, stop, end)
            stop = end if cut < 0 else cut + len(boundary)
            found = pattern.search(data, at, stop)
        else:
            found = pattern.search(data, at, min(end, stop + reach))
        if found is not None and found.start() < stop:
            return found
        at = stop
    return None


_gc_pauses = [0, False]  # blocks inside paused_gc now (any thread), and whether the collector was on
_gc_lock = threading.Lock()


@contextmanager
def paused_gc() -> Iterator[None]:
    """Python's cycle collector paused for a block that builds many containers without cycles (a sheet's
    rows, a sheet's cells): otherwise every full collection on the way walks all the run's objects again.
    Refcounting still frees everything; the collector runs as usual once the last paused block (of any
    thread: the pause is process-wide) ends. Also a decorator."""
    with _gc_lock:
        if _gc_pauses[0] == 0:
            _gc_pauses[1] = gc.isenabled()
            gc.disable()
        _gc_pauses[0] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses[0] -= 1
            if _gc_pauses[0] == 0 and _gc_pauses[1]:
                gc.enable()


def utf8_xml(data: bytes) -> bytes:
    """The part as UTF-8 bytes: OPC allows UTF-16 parts, which byte-level edits cannot handle."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
        text = data.decode("utf-16")
        text = re.sub(r'(<\?xml[^>]*encoding=["\'])[Uu][Tt][Ff]-?16', r"\1UTF-8", text, count=1)
        return text.encode("utf-8")
    return data


def prolog_problem(head: bytes, complete: bool) -> str | None:
    """What is unsafe in the prolog of an XML part (a DTD or entity declaration), or None.

    A DOCTYPE (and with it every ENTITY) can only come before the root element, so the prolog is
    all that needs reading. ``complete``: ``head`` is the whole part.
    """
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = head[: len(head) // 2 * 2].decode("utf-16", "replace")
    elif head[:4] == b"<\x00?\x00":
        text = head[: len(head) // 2 * 2].decode("utf-16-le", "replace")
    elif head[:4] == b"\x00<\x00?":
        text = head[: len(head) // 2 * 2].decode("utf-16-be", "replace")
    else:
        text = head.decode("utf-8", "replace")
    pos = 1 if text.startswith("\ufeff") else 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos >= len(text):
            return None if complete else "has an XML prolog too long to check"
        if text.startswith("<?", pos):
            end = "?>"
        elif text.startswith("<!--", pos):
            end = "-->"
        elif text.startswith("<!", pos):
            return "declares a DTD or entities (<!DOCTYPE/<!ENTITY: an XML bomb or external entity)"
        else:
            return None  # the root element (or not XML at all: left to the parser)
        close = text.find(end, pos + 2)
        if close < 0:
            return None if complete else "has an XML prolog too long to check"
        pos = close + len(end)


def rels_part(source: str) -> str:
    """The relationships part of ``source`` ("" = the package root)."""
    folder, name = posixpath.split(source)
    return posixpath.join(folder, "_rels", f"{name}.rels")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _ns(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _sheet_kind(rel_type: str) -> str:
    kind = rel_type.rsplit("/", 1)[-1]
    return (
        kind if kind in ("worksheet", "chartsheet", "dialogsheet", "xlMacrosheet", "xlIntlMacrosheet") else ""
    )


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0


# --- file and zip checks --------------------------------------------------------------------------------


def _damaged(path: Path, what: str) -> NotAWorkbook:
    return NotAWorkbook(
        f"{path.name} is damaged: {what}; open it in Excel (it may offer a repair) and save it again."
    )


def _bomb(path: Path, what: str) -> NotAWorkbook:
    return NotAWorkbook(
        f"{path.name} is refused as unsafe: it {what}, which looks like a zip bomb; "
        "use the original workbook saved by Excel."
    )


def _check_file(path: Path) -> None:
    if not path.exists():
        raise NotAWorkbook(f"{path} does not exist: check the folder and the file name.")
    if path.is_dir():
        raise NotAWorkbook(f"{path} is a folder, not a workbook: give the path of an .xlsx or .xlsm file.")
    suffix = path.suffix.lower()
    if suffix in (".xls", ".xlt"):
        raise NotAWorkbook(
            f"{path.name} is in the old Excel 97-2003 format: open it in Excel and save it as .xlsx "
            "(File > Save As > Excel Workbook)."
        )
    if suffix == ".xlsb":
        raise NotAWorkbook(f"{path.name} is a binary .xlsb workbook: open it in Excel and save it as .xlsx.")
    if suffix in (".ods", ".numbers"):
        raise NotAWorkbook(f"{path.name} is not an Excel workbook: open it and save it as .xlsx.")
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if size == 0:
        raise NotAWorkbook(f"{path.name} is empty (0 bytes): use a workbook saved by Excel.")
    if head.startswith(CFB_MAGIC):
        raise NotAWorkbook(
            f"{path.name} is password-protected (encrypted) or an old .xls renamed: remove the password "
            "(File > Info > Protect Workbook > Encrypt with Password) and save it as .xlsx again."
        )
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return
    if _looks_like_text(head):
        raise NotAWorkbook(
            f"{path.name} is a text file (CSV or similar) named like a workbook: open it in Excel and "
            "save it as .xlsx (File > Save As > Excel Workbook)."
        )
    raise NotAWorkbook(
        f"{path.name} is not an Excel workbook (not a zip package): use an .xlsx or .xlsm file."
    )


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4:  # not just a character cut at the end of the window
            return False
        text = head[: err.start].decode("utf-8")
    return all(ch.isprintable() or ch in "\t\r\n" for ch in text)


def _central_directory_entries(path: Path) -> int:
    """Entry count from the end-of-central-directory record, read before zipfile parses the directory."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        tail_len = min(size, 22 + 65535 + 20)
        handle.seek(size - tail_len)
        tail = handle.read(tail_len)
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < 22:
            raise _damaged(path, "it is truncated (no zip central directory)")
        _, _, _, total, cd_size, cd_offset, _ = struct.unpack("<4H2IH", tail[at + 4 : at + 22])
        if total == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
            locator = tail[at - 20 : at] if at >= 20 else b""
            if not locator.startswith(b"PK\x06\x07"):
                raise _damaged(path, "its zip64 directory is missing")
            (record_at,) = struct.unpack("<Q", locator[8:16])
            if record_at + 56 > size:
                raise _damaged(path, "its zip64 directory is out of range")
            handle.seek(record_at)
            record = handle.read(56)
            if not record.startswith(b"PK\x06\x06"):
                raise _damaged(path, "its zip64 directory is damaged")
            total, cd_size = struct.unpack("<QQ", record[32:48])
        if cd_size > MAX_CENTRAL_DIRECTORY:
            raise _bomb(path, f"has a {cd_size:,}-byte zip directory")
        return int(total)


def _check_entries(path: Path, archive: zipfile.ZipFile) -> None:
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise _bomb(path, f"has {len(infos):,} zip entries (limit {MAX_ENTRIES:,})")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise NotAWorkbook(
                f"{path.name} has encrypted zip entries: remove the protection and save it again in Excel."
            )
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _damaged(path, f"part {info.filename} uses a compression Excel does not write")
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise _damaged(path, f"part {info.filename} has inconsistent sizes")
        total += info.file_size
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            ratio = info.file_size // max(info.compress_size, 1)
            raise _bomb(path, f"has a part ({info.filename}) compressed {ratio:,}:1")
    if total > MAX_TOTAL_SIZE:
        raise _bomb(path, f"unpacks to {total / 1024**3:.1f} GB (limit {MAX_TOTAL_SIZE // 1024**3} GB)")
    # Entries sharing compressed data ("overlapping" zip bombs) or pointing past the directory.
    spans = sorted((info.header_offset, 30 + len(_name_bytes(info)) + info.compress_size) for info in infos)
    directory = archive.start_dir
    for (offset, length), (next_offset, _) in zip(spans, [*spans[1:], (directory, 0)], strict=True):
        if offset + length > next_offset:
            raise _bomb(path, "has overlapping zip entries")


def _name_bytes(info: zipfile.ZipInfo) -> bytes:
    return info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")


# --- zip writer -----------------------------------------------------------------------------------------


#: new parts are deflated in pieces of about this size, two at a time
_PIECE = 1 << 20
_WINDOW = 1 << 15  # deflate's window: a piece is primed with the last 32 KB before it


def _pieces(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The chunks regrouped into pieces of at least ``_PIECE`` bytes (the last one may be smaller)."""
    small: list[bytes] = []
    held = 0
    for chunk in chunks:
        if held == 0 and len(chunk) >= _PIECE:
            yield chunk  # no copy
            continue
        small.append(chunk)
        held += len(chunk)
        if held >= _PIECE:
            yield b"".join(small)
            small, held = [], 0
    if held:
        yield b"".join(small)


def _dos_time(date_time: tuple[int, ...]) -> tuple[int, int]:
    year, month, day, hour, minute, second = date_time[:6]
    return (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day


def _without_zip64(extra: bytes) -> bytes:
    """Extra fields minus zip64 records (their sizes/offsets describe the old archive)."""
    out, pos = bytearray(), 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack("<HH", extra[pos : pos + 4])
        if pos + 4 + size > len(extra):
            return bytes(out)  # malformed tail: drop it
        if tag != 0x0001:
            out += extra[pos : pos + 4 + size]
        pos += 4 + size
    return bytes(out)


class _Entry:
    """A deflated entry being written: where it starts and what its header will say."""

    def __init__(self, name: bytes, flags: int, template: zipfile.ZipInfo | None) -> None:
        self.name, self.flags, self.template = name, flags, template
        self.date_time = template.date_time if template else _DOS_EPOCH
        self.offset = self.crc = self.size = self.compressed = 0


def _deflate_piece(piece: bytes, primer: bytes, level: int) -> bytes:
    """A piece as raw deflate data that continues the stream before it (``primer``: its last bytes, up to
    32 KB) and ends on a byte boundary without closing it (a sync flush), the way pigz cuts a stream.
    Pieces so made, in order and followed by an empty final block, are one deflate stream."""
    if primer:
        deflate = zlib.compressobj(level, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, primer)
    else:
        deflate = zlib.compressobj(level, zlib.DEFLATED, -15)
    return deflate.compress(piece) + deflate.flush(zlib.Z_SYNC_FLUSH)


_FINAL_BLOCK = zlib.compressobj(1, zlib.DEFLATED, -15).flush()


class _ZipWriter:
    """A minimal zip writer that can copy entries raw (no zip64: the size limits keep us far below).

    New parts are deflated in pieces by two threads (zlib lets go of the GIL) while the caller renders
    the next chunk, and one more thread writes, task after task in order. At most a few pieces wait; an
    error in a thread is raised in the caller at its next step. Use it as a context manager: on the way
    out it waits for the threads (and leaves what is left undone on an error).
    """

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.central: list[bytes] = []
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="zip-writer")
        self._deflaters = ThreadPoolExecutor(2, thread_name_prefix="zip-deflate")
        self._queued: deque[Future[None]] = deque()

    def __enter__(self) -> _ZipWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        try:
            if kind is None:
                self._wait(0)
        finally:
            self._writer.shutdown(wait=True, cancel_futures=True)
            self._deflaters.shutdown(wait=True, cancel_futures=True)

    def _run(self, task: Callable[..., None], *args: object) -> None:
        self._wait(4)  # bounded: each waiting task may hold a piece
        self._queued.append(self._writer.submit(task, *args))

    def _wait(self, backlog: int) -> None:
        while len(self._queued) > backlog:
            self._queued.popleft().result()

    def _offset(self) -> int:
        offset = self.out.tell()
        if offset >= 0xFFFFFFFF:
            raise NotAWorkbook("the workbook would exceed 4 GB, which this tool does not write.")
        return offset

    def copy(self, info: zipfile.ZipInfo, source: IO[bytes]) -> None:
        self._run(self._copy, info, source)

    def _copy(self, info: zipfile.ZipInfo, source: IO[bytes]) -> None:
        source.seek(info.header_offset)
        header = source.read(30)
        if len(header) < 30 or not header.startswith(b"PK\x03\x04"):
            raise NotAWorkbook(
                f"part {info.filename} is damaged: open the workbook in Excel and save it again."
            )
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        source.seek(info.header_offset + 30 + name_len)
        local_extra = _without_zip64(source.read(extra_len))
        name = _name_bytes(info)
        flags = info.flag_bits & ~0x08  # sizes go in the header: no trailing data descriptor
        offset = self._offset()
        self._local_header(
            info.extract_version,
            flags,
            info.compress_type,
            info.date_time,
            info.CRC,
            info.compress_size,
            info.file_size,
            name,
            local_extra,
        )
        left = info.compress_size
        while left > 0:
            chunk = source.read(min(left, 1 << 20))
            if not chunk:
                raise NotAWorkbook(
                    f"part {info.filename} is truncated: open the workbook in Excel and save it."
                )
            self.out.write(chunk)
            left -= len(chunk)
        self._central_record(
            info, name, flags, info.compress_type, info.CRC, info.compress_size, info.file_size, offset
        )

    def add(
        self,
        name: bytes,
        utf8_flag: int,
        chunks: Iterable[bytes],
        level: int,
        template: zipfile.ZipInfo | None,
    ) -> None:
        entry = _Entry(name, utf8_flag, template)
        self._run(self._start, entry)
        primer = b""
        for piece in _pieces(chunks):
            packed = self._deflaters.submit(_deflate_piece, piece, primer, level)
            self._run(self._write_piece, entry, piece, packed)
            primer = piece[-_WINDOW:]
        self._run(self._end, entry)

    def _start(self, entry: _Entry) -> None:
        entry.offset = self._offset()
        self._local_header(20, entry.flags, zipfile.ZIP_DEFLATED, entry.date_time, 0, 0, 0, entry.name, b"")

    def _write_piece(self, entry: _Entry, piece: bytes, packed: Future[bytes]) -> None:
        entry.crc = zlib.crc32(piece, entry.crc)
        entry.size += len(piece)
        data = packed.result()
        entry.compressed += len(data)
        self.out.write(data)

    def _end(self, entry: _Entry) -> None:
        entry.compressed += len(_FINAL_BLOCK)
        self.out.write(_FINAL_BLOCK)
        crc, compressed, size = entry.crc, entry.compressed, entry.size
        if size >= 0xFFFFFFFF or compressed >= 0xFFFFFFFF:
            raise NotAWorkbook("a sheet would exceed 4 GB, which this tool does not write.")
        end = self.out.tell()
        self.out.seek(entry.offset + 14)
        self.out.write(struct.pack("<3I", crc, compressed, size))
        self.out.seek(end)
        info = entry.template or zipfile.ZipInfo(entry.name.decode("utf-8"), entry.date_time)
        if entry.template is None:
            info.create_system, info.create_version, info.extract_version = 0, 20, 20
        self._central_record(
            info, entry.name, entry.flags, zipfile.ZIP_DEFLATED, crc, compressed, size, entry.offset
        )

    def _local_header(
        self,
        version: int,
        flags: int,
        method: int,
        date_time: tuple[int, ...],
        crc: int,
        csize: int,
        usize: int,
        name: bytes,
        extra: bytes,
    ) -> None:
        dos_time, dos_date = _dos_time(date_time)
        self.out.write(
            struct.pack(
                "<4s5H3I2H",
                b"PK\x03\x04",
                version,
                flags,
                method,
                dos_time,
                dos_date,
                crc,
                csize,
                usize,
                len(name),
                len(extra),
            )
            + name
            + extra
        )

    def _central_record(
        self,
        info: zipfile.ZipInfo,
        name: bytes,
        flags: int,
        method: int,
        crc: int,
        csize: int,
        usize: int,
        offset: int,
    ) -> None:
        dos_time, dos_date = _dos_time(info.date_time)
        extra = _without_zip64(info.extra)
        comment = info.comment
        self.central.append(
            struct.pack(
                "<4s6H3I5H2I",
                b"PK\x01\x02",
                (info.create_system << 8) | info.create_version,
                info.extract_version,
                flags,
                method,
                dos_time,
                dos_date,
                crc,
                csize,
                usize,
                len(name),
                len(extra),
                len(comment),
                0,
                info.internal_attr,
                info.external_attr,
                offset,
            )
            + name
            + extra
            + comment
        )

    def finish(self, comment: bytes) -> None:
        self._run(self._finish, comment)
        self._wait(0)

    def _finish(self, comment: bytes) -> None:
        start = self._offset()
        for record in self.central:
            self.out.write(record)
        size = self.out.tell() - start
        count = len(self.central)
        self.out.write(struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, count, count, size, start, len(comment)))
        self.out.write(comment)

"""``FileBook``: the Book protocol over an .xlsx/.xlsm file. python-calamine reads, ``XlsxPatch`` writes.

What python-calamine (0.9) gives, and what ``read_rows`` makes of it:
- Empty cells are ``""``; read_rows returns None for them (and for empty texts, which Excel shows alike).
- Formula cells give their cached value (the formula itself is kept in the file by the patch writer).
- Error cells (``#N/A``, ``#DIV/0!``, ``#REF!``...) and formulas saved without a result also come back as
  ``""``, and a table's totals row as a row like any other: read_rows puts the error text back, gives a
  ``model.cells.Uncalculated`` for such a formula, and empties the totals row (``xlsx/hidden_values.py``).
- Dates are ``datetime.date`` (date formats) or ``datetime.datetime`` (with a time); workbooks in the 1904
  date system (``workbookPr date1904``, Mac Excel) are converted correctly by calamine itself.
- Numbers are floats (``3.0``), booleans bool.
- calamine refuses some valid packages: sheets without ``r:id`` (cx_SheetsWithoutRelId.xlsx) and Excel 4
  macro sheets (poi_xlmmacro.xlsm); and with zip entries differing only by case
  (poi_duplicate-filename-case-insensitive.xlsx) it reads the wrong twin. For those it is given an
  in-memory copy whose workbook part lists only the worksheets, with the ``r:id`` the package map resolved,
  and without the unreferenced twins; the file itself is never changed for that.

Safety: ``check_package`` runs before calamine sees the file; a sheet's cell range is bounded from its XML
before calamine builds it (calamine allocates the whole rectangle and aborts the process when that fails);
the parts calamine parses on opening are inflated once by Python first (bounded by their declared size and
CRC-checked), so a part lying about its size fails here instead of inside the reader.

Speed (a run reads three big sheets, then writes into them), all inside this class: helper threads, one
checking sheets (the inflate lets go of the GIL) and one parsing them with calamine (which lets go of the GIL
while it parses), so the caller's work on one sheet overlaps the parsing of the next. A sheet's check is
two steps: the gate calamine needs (its extent, the compact form) before it is parsed, then the search for
the cells calamine gets wrong, which for the biggest sheet runs on the checker thread while it is parsed.
The book reads ahead every sheet the tool reads (``io/layout.py``), the biggest on a lane of its own (a third
thread with a second calamine reader), each checked sheet also split for the writer: from its opening when
it is opened for a run (``whole=True``: the run imports its engine meanwhile), else from the first read
when that is of the first of those sheets (a reader of the whole workbook: an import), so a reader of one
or two sheets (``send``, a batch's first pass) parses no other. The sheet XML the checks inflated, and their
proof that every cell has a plain ref, go to the writer through the package (``Package.hand_over``,
``Package.plain_columns``) instead of being redone; writes wait for the checks in flight, so the writer never
works beside the checker. The collector is paused while rows are built. The "" -> None pass stays here: the Book protocol promises None to every caller, though
``frames.py`` would also accept "".
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Any

import python_calamine

from cpor_excel.errors import NotAWorkbook
from cpor_excel.io.book import CellValue
from cpor_excel.io.layout import match_sheets
from cpor_excel.io.safe_save import (
    atomic_replace,
    ensure_writable,
    real_path,
    remove_stale_temps,
    workbook_lock,
)
from cpor_excel.io.xlsx.compact import STREAM_FROM, compact_sheet
from cpor_excel.io.xlsx.extent import check_sheet_extent
from cpor_excel.io.xlsx.hidden_values import Override, hidden_values, totals_rows
from cpor_excel.io.xlsx.package import REL_NS, Package, SheetInfo, open_package
from cpor_excel.io.xlsx.patch import XlsxPatch
from cpor_excel.io.xlsx.plain_text import spelled_as_is
from cpor_excel.io.xlsx.scan import utf8_xml
from cpor_excel.io.xlsx.shared_strings import (
    STRINGS_FROM,
    check_declared_count,
    compact_shared_strings,
    used_strings,
)
from cpor_excel.model.dashboard import Dashboard
from cpor_excel.runtime import InlineExecutor, paused_gc

#: a sheet whose XML is at least this big gets a reading lane of its own when read ahead
LANE_SIZE = 8 * 1024**2
#: a workbook whose sheets' XML is smaller than this is read in the calling thread: its sheets parse in
#: milliseconds, less than handing each over to a helper thread costs on a busy machine (a batch of small
#: workbooks runs two processes on two cores)
THREADED_FROM = 4 * 1024**2


class FileBook:
    """A workbook file as the engine sees it (``cpor_excel.io.book.Book``).

    Reads show the file as it was opened; writes are buffered and reach the file on ``save``. After an
    in-place save the book reopens the new file, so it can go on being used.
    """

    def __init__(
        self, path: Path | str, *, write: bool = True, wait: float | None = None, whole: bool = False
    ) -> None:
        """``write=True``: the book will be saved, so it holds the workbook's lock from now until it is
        closed (another run waits up to ``wait`` seconds, default ``safe_save.lock_wait()``, for it), and the
        sheets' XML its checks inflate is kept for the writer. ``write=False``: only read, no lock (it
        reads one file from start to end, whatever a run does to the name meanwhile); writing still works,
        it inflates the sheets again and locks when it saves. ``whole=True``: the caller reads every sheet
        the tool reads (a run): they are read ahead from now on, while the caller does other work (a run
        imports its engine meanwhile), not from the first read. Through a symbolic link, the book is the
        file the link points to."""
        self.path = Path(path)
        self._real = real_path(self.path)
        self._write = write
        self._wait = wait
        self._locks = ExitStack()
        if write:
            self._locks.enter_context(workbook_lock(self.path, wait))
        try:
            self._open()
        except BaseException:
            self._locks.close()
            raise
        if whole:
            try:
                self._read_all()
            except BaseException:
                self.close()
                raise

    def _open(self) -> None:
        self._package: Package = open_package(self._real)
        self._patch = XlsxPatch(self.path, self._package)
        self._reader: python_calamine.CalamineWorkbook | None = None
        self._source = self._package.reader_path()  # what calamine opens (a view: ``_write_view``)
        self._swapped: dict[str, bytes] = {}  # parts calamine is given in another form (shared strings)
        self._parts_checked = False  # ``_check_parts`` ran
        self._from_path = True  # calamine reads the file itself (not an in-memory copy of it)
        # Helper threads: one checks (and inflates) sheets, one parses them with calamine, which lets go
        # of the GIL meanwhile; a sheet is parsed only once its check has passed. Reading ahead gives
        # the biggest sheet a lane of its own (a thread and a calamine reader: one reader parses one
        # sheet at a time), so it is checked and parsed from the start while the others go by.
        self._threaded = sum(map(self._size, self._package.worksheets())) >= THREADED_FROM
        self._checker: Executor | None = None
        self._parser: Executor | None = None
        self._lane: ThreadPoolExecutor | None = None
        self._lane_reader: python_calamine.CalamineWorkbook | None = None
        self._gates: dict[str, Future[None]] = {}  # a sheet's checks calamine needs
        self._checks: dict[str, Future[list[Override]]] = {}  # and then its cells calamine gets wrong
        self._gated: dict[str, bytes] = {}  # the XML that passed the gate, until those cells are found
        self._parses: dict[str, Future[list[list[Any]]]] = {}
        self._opening: list[Future[None]] = []  # sheets being split for the writer
        # compact sheets (``xlsx/compact.py``): their XML until parsed, and the readers of their views
        self._compact: dict[str, bytes] = {}
        self._view_lock = threading.Lock()
        self._view_files: list[Path] = []
        self._view_readers: list[python_calamine.CalamineWorkbook] = []
        self._reading = False  # a sheet was read: the read-ahead has started
        self._dirty = False
        self._closed = False
        self._saved = False  # saved in place: the new file is opened on the next use (``_require_open``)

    # --- lifecycle -------------------------------------------------------------------------------------
    def close(self) -> None:
        """Release the file and the workbook's lock (idempotent). Sheets still being read ahead are waited
        for first."""
        self._saved = False
        self._close_file()
        self._locks.close()

    def _close_file(self) -> None:
        if self._closed:
            return
        self._closed = True
        for pool in (self._lane, self._parser, self._checker):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self._gates.clear()
        self._checks.clear()
        self._gated.clear()
        self._parses.clear()
        self._opening.clear()
        for reader in (self._reader, self._lane_reader, *self._view_readers):
            if reader is not None:
                reader.close()
        self._reader = self._lane_reader = None
        self._compact.clear()
        self._view_readers.clear()
        for view in self._view_files:
            with suppress(OSError):
                view.unlink()
        self._view_files.clear()
        self._patch.close()  # (the package, and the cells' XML a big workbook left in the writer's cache)

    def __enter__(self) -> FileBook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading ---------------------------------------------------------------------------------------
    def sheet_names(self) -> list[str]:
        """Worksheet names in workbook order (chart, dialog and macro sheets are not listed)."""
        self._require_open()
        return [s.name for s in self._package.worksheets()]

    def _read_ahead(self, sheets: Sequence[str]) -> None:
        """Start checking and parsing these sheets now, in the background, so that what the reader does
        with one sheet overlaps the parsing of the others; the biggest gets a lane of its own. A sheet
        that does not exist is left for ``read_rows`` to refuse."""
        self._calamine()
        found: list[tuple[str, SheetInfo | None]] = []
        for sheet in sheets:
            try:
                found.append((sheet, self._worksheet(sheet)))
            except KeyError:
                found.append((sheet, None))
        found.sort(key=lambda item: 0 if item[1] is None else self._size(item[1]))
        infos = [info for _, info in found if info is not None and info.name not in self._parses]
        big, lane, gate = None, None, None
        if len(infos) > 1 and self._size(infos[-1]) >= LANE_SIZE and self._from_path:
            big = infos.pop()
            reader = self._lane_reader = python_calamine.CalamineWorkbook.from_path(self._source)
            lane = self._lane = ThreadPoolExecutor(1, thread_name_prefix="calamine-lane")
            gate = self._gates[big.name] = lane.submit(self._gate, big)
        for info in infos:
            self._parse_later(info)
        if big is not None and lane is not None and gate is not None:
            # its cells calamine gets wrong are looked for while calamine parses it (the checker thread
            # gets there once the other sheets are checked)
            check = self._checks[big.name] = self._checker_pool().submit(self._hidden_values, big, gate)
            self._parses[big.name] = lane.submit(self._parse, big, gate, check, reader)
            infos.append(big)
        if self._write:  # the writer's split of each sheet, from the checks' bytes, off the main thread
            checker = self._checker_pool()
            for info in infos:
                self._opening.append(checker.submit(self._open_for_writing, info, self._checks[info.name]))

    def _read_all(self, first: str | None = None) -> None:
        """Start reading ahead every sheet the tool reads, in its order (``io/layout.py``); with ``first``
        (the first sheet a caller reads), only when it is the first of those: a reader of the whole workbook
        (an import), not of one or two sheets."""
        self._reading = True
        order = [actual for _, actual in match_sheets(self.sheet_names()) if actual is not None]
        if first is None or order[:1] == [first]:
            self._read_ahead(order)

    def read_rows(self, sheet: str) -> list[list[Any]]:
        """The sheet's values from A1 to the end of its used range (see the module notes)."""
        info = self._worksheet(sheet)
        if not self._reading:  # the first read
            self._read_all(info.name)
        self._calamine()
        parsed = self._parse_later(info)
        try:
            return parsed.result()
        except python_calamine.CalamineError as err:
            raise NotAWorkbook(
                f"{self.path.name}: sheet '{info.name}' cannot be read ({err}); open it in Excel and save "
                "it again."
            ) from None
        finally:
            self._parses.pop(info.name, None)  # read once: its rows are the caller's now
            self._gates.pop(info.name, None)
            self._checks.pop(info.name, None)

    def plain_texts(self, sheet: str, alphabet: str) -> list[bytes] | None:
        """The XML of the sheet and of the shared strings its cells may use, checked as ``read_rows``
        checks them before calamine reads them, for a search that need not parse the sheet (a batch's
        first pass looks for tenant IDs in them). Given only when every text stands in these bytes as it
        is, as far as the characters of ``alphabet`` go (``plain_text.spelled_as_is``); else None (read
        the rows instead)."""
        info = self._worksheet(sheet)
        self._check_parts()  # the package checks made before calamine opens it (not opened: not needed)
        self._gate(info)
        self._compact.pop(info.name, None)
        parts = [self._gated.pop(info.name)]
        for rel in self._package.rels.values():
            if rel.part and rel.type.rsplit("/", 1)[-1] == "sharedStrings":
                shared = self._swapped.get(rel.part)
                parts.append(utf8_xml(self._package.read(rel.part) if shared is None else shared))
        return parts if all(spelled_as_is(part, alphabet) for part in parts) else None

    def _size(self, info: SheetInfo) -> int:
        return self._package.size(info.part) if info.part else 0

    def _checker_pool(self) -> Executor:
        if self._checker is None:
            self._checker = ThreadPoolExecutor(1, "sheet-check") if self._threaded else InlineExecutor()
        return self._checker

    def _parse_later(self, info: SheetInfo) -> Future[list[list[Any]]]:
        parse = self._parses.get(info.name)
        if parse is None:
            checker = self._checker_pool()
            gate = self._gates[info.name] = checker.submit(self._gate, info)
            check = self._checks[info.name] = checker.submit(self._hidden_values, info, gate)
            assert self._reader is not None
            if self._parser is None:
                self._parser = ThreadPoolExecutor(1, "calamine") if self._threaded else InlineExecutor()
            parse = self._parses[info.name] = self._parser.submit(
                self._parse, info, gate, check, self._reader
            )
        return parse

    @paused_gc()  # the rows are hundreds of thousands of lists: no collector walks while they are built
    def _parse(
        self,
        info: SheetInfo,
        gate: Future[None],
        check: Future[list[Override]],
        reader: python_calamine.CalamineWorkbook,
    ) -> list[list[Any]]:
        """(a parser thread) The sheet's rows, once the checks calamine needs have passed (a refusal is
        raised here), with the cells calamine gets wrong put right."""
        gate.result()
        compact = self._compact.pop(info.name, None)
        if compact is not None:
            reader = self._view(info, compact)
            del compact
        rows: list[list[Any]] = reader.get_sheet_by_name(info.name).to_python(skip_empty_area=False)
        for i, row in enumerate(rows):
            if "" in row:
                rows[i] = [None if value == "" else value for value in row]
        for row_index, column, text in check.result():
            if text is None and row_index >= len(rows):
                continue  # (an emptied cell beyond the rows)
            while len(rows) <= row_index:
                rows.append([None] * (len(rows[0]) if rows else 0))
            cells = rows[row_index]
            if len(cells) <= column:
                cells.extend([None] * (column + 1 - len(cells)))
            cells[column] = text
        return rows

    def _gate(self, info: SheetInfo) -> None:
        """(a helper thread) The checks calamine needs, on the sheet's XML as calamine is to read it (kept
        for ``_hidden_values``). When the book is written, the bytes are kept for the writer too, which
        would otherwise inflate them again."""
        assert info.part is not None
        hidden = None
        if self._package.size(info.part) >= STREAM_FROM:  # rows only a format fills are left out
            with self._package.open_part(info.part) as stream:
                sheet = compact_sheet(stream)
            raw, hidden = sheet.xml, sheet.hidden
        else:
            raw = self._package.read(info.part)
        xml = utf8_xml(raw)
        plain = check_sheet_extent(xml, info.name, self.path.name)
        if plain is not None:  # the writer needs this proof too: it is not redone
            self._package.plain_columns[info.part] = plain
        if hidden is not None:  # calamine reads the compact sheet (``_parse``)
            self._compact[info.name] = xml
        if self._write:
            self._package.hand_over(info.part, raw, hidden)
        self._gated[info.name] = xml

    def _hidden_values(self, info: SheetInfo, gate: Future[None]) -> list[Override]:
        """(a helper thread) The sheet's cells calamine does not give right (``hidden_values``), looked for
        once its XML passed the gate (while calamine parses it, for the biggest sheet)."""
        assert info.part is not None
        gate.result()
        return hidden_values(self._gated.pop(info.name)) + totals_rows(self._package, info.part)

    def _view(self, info: SheetInfo, xml: bytes) -> python_calamine.CalamineWorkbook:
        """(a parser thread) A calamine reader of a copy of the package, in a temporary file, whose part for
        this sheet is its compact XML (stored, as it is parsed once): calamine parses the real content."""
        assert info.part is not None
        reader = python_calamine.CalamineWorkbook.from_path(str(self._write_view({info.part: xml})))
        with self._view_lock:
            self._view_readers.append(reader)
        return reader

    def _open_for_writing(self, info: SheetInfo, check: Future[list[Override]]) -> None:
        """(checker thread) Split a checked sheet for the writer (a refused sheet is refused when read;
        one the writer cannot edit, when it is edited)."""
        if check.exception() is None:
            with suppress(NotAWorkbook):
                self._patch.open_sheet(info.name)

    def _settle(self) -> None:
        """Wait for the sheet checks in flight: the writer never works beside the checker thread."""
        pending: list[Future[Any]] = [*self._gates.values(), *self._checks.values(), *self._opening]
        wait(pending)  # a refusal is raised when that sheet is read, not here

    def _worksheet(self, sheet: str) -> SheetInfo:
        self._require_open()
        sheets = self._package.worksheets()
        info = next((s for s in sheets if s.name == sheet), None)
        info = info or next((s for s in sheets if s.name.casefold() == sheet.casefold()), None)
        if info is None:
            raise KeyError(sheet)
        return info

    def _check_parts(self) -> None:
        """The checks of the parts calamine parses on opening (once): inflated (bounded, CRC-checked), and
        shared strings of hundreds of MB compacted for it (``_compact_strings``)."""
        if self._parts_checked:
            return
        pkg = self._package
        for part in (pkg.workbook, pkg.workbook_rels):
            pkg.verify(part)
        check_declared_count(pkg)
        for rel in pkg.rels.values():
            kind = rel.type.rsplit("/", 1)[-1]
            if rel.part and kind == "sharedStrings" and pkg.size(rel.part) >= STRINGS_FROM:
                self._compact_strings(rel.part)  # (inflated and checked on the way)
            elif rel.part and kind in ("sharedStrings", "styles", "theme"):
                pkg.verify(rel.part)
        self._parts_checked = True

    def _calamine(self) -> python_calamine.CalamineWorkbook:
        if self._reader is None:
            self._check_parts()
            pkg = self._package
            try:
                if pkg.case_twins():  # calamine may read the twin instead of the part the workbook names
                    self._reader = python_calamine.CalamineWorkbook.from_filelike(self._worksheets_only())
                    self._from_path = False
                elif self._swapped:  # a copy with the shared strings the cells use
                    self._source = str(self._write_view(self._swapped))
                    self._reader = python_calamine.CalamineWorkbook.from_path(self._source)
                else:
                    self._reader = python_calamine.CalamineWorkbook.from_path(self._source)
            except python_calamine.PasswordError:
                raise NotAWorkbook(
                    f"{self.path.name} is password-protected: remove the password and save it again."
                ) from None
            except python_calamine.CalamineError as err:
                try:
                    self._reader = python_calamine.CalamineWorkbook.from_filelike(self._worksheets_only())
                    self._from_path = False
                except python_calamine.CalamineError:
                    raise NotAWorkbook(
                        f"{self.path.name} cannot be read ({err}): open it in Excel and save it again."
                    ) from None
        return self._reader

    def _compact_strings(self, part: str) -> None:
        """Shared strings of hundreds of MB: calamine keeps every text it is given, so its copy of the
        package gets only those some worksheet's cells use (``shared_strings.compact_shared_strings``)."""
        used: set[int] = set()
        for sheet in self._package.worksheets():
            assert sheet.part is not None
            used |= used_strings(self._package.open_part(sheet.part))
        compact = compact_shared_strings(self._package, used)
        if compact is not None:
            self._swapped[part] = compact

    def _write_view(self, replaced: Mapping[str, bytes]) -> Path:
        """A copy of the package, in a temporary file, with ``replaced`` parts (stored: each is parsed once)
        and the shared strings calamine is to see; removed when the book closes."""
        handle, name = tempfile.mkstemp(prefix="cpor-view-", suffix=".xlsx")
        with self._view_lock:
            self._view_files.append(Path(name))
        parts = {**self._swapped, **replaced}
        with os.fdopen(handle, "w+b") as out:
            self._package.write_to(out, {part: ([data], 0) for part, data in parts.items()})
        return Path(name)

    def _worksheets_only(self) -> io.BytesIO:
        """An in-memory copy for calamine: the workbook part lists only the worksheets, with r:ids, and
        entries that merely differ by case from a real part are left out."""
        pkg = self._package
        workbook = utf8_xml(pkg.read(pkg.workbook))
        sheets = re.search(rb"<([\w.-]+:)?sheets\b[^>]*>.*?</(?:[\w.-]+:)?sheets>", workbook, re.S)
        if sheets is None:
            raise NotAWorkbook(f"{self.path.name} lists no sheets: open it in Excel and save it again.")
        prefix = (sheets.group(1) or b"").decode()
        rel_ns = REL_NS[1] if b"purl.oclc.org/ooxml/spreadsheetml/main" in workbook[:4096] else REL_NS[0]
        listed = "".join(
            f'<{prefix}sheet name="{_attr(s.name)}" sheetId="{s.sheet_id}" xmlns:cr="{rel_ns}" cr:id="{s.rid}"/>'
            for s in pkg.worksheets()
        )
        fixed = workbook[: sheets.start()] + f"<{prefix}sheets>{listed}</{prefix}sheets>".encode()
        fixed += workbook[sheets.end() :]
        buffer = io.BytesIO()
        parts = {part: ([data], 0) for part, data in self._swapped.items()}
        pkg.write_to(buffer, {**parts, pkg.workbook: ([fixed], 1)}, dropped=pkg.case_twins())
        buffer.seek(0)
        return buffer

    # --- writing ---------------------------------------------------------------------------------------
    def set_columns(
        self,
        sheet: str,
        headers: Sequence[str],
        rows: Sequence[int],
        values: Sequence[Sequence[CellValue]],
        *,
        header_row: int = 1,
    ) -> None:
        self._require_open()
        self._settle()
        self._patch.set_columns(sheet, headers, rows, values, header_row=header_row)
        self._dirty = True

    def set_cells(self, sheet: str, cells: Mapping[tuple[int, int], CellValue]) -> None:
        self._require_open()
        self._settle()
        self._patch.set_cells(sheet, cells)
        self._dirty = True

    def append_rows(self, sheet: str, rows: Sequence[Sequence[CellValue]]) -> list[int]:
        self._require_open()
        self._settle()
        self._dirty = True
        return self._patch.append_rows(sheet, rows)

    def replace_sheet(
        self,
        sheet: str,
        header: Sequence[str],
        rows: Sequence[Sequence[CellValue]],
        formats: Mapping[str, str] | None = None,
    ) -> None:
        self._require_open()
        self._settle()
        self._patch.replace_sheet(sheet, header, rows, formats)
        self._dirty = True

    def append_to_sheet(
        self,
        sheet: str,
        header: Sequence[str],
        rows: Sequence[Sequence[CellValue]],
        formats: Mapping[str, str] | None = None,
    ) -> None:
        self._require_open()
        self._settle()
        self._patch.append_to_sheet(sheet, header, rows, formats)
        self._dirty = True

    def replace_dashboard(self, sheet: str, dashboard: Dashboard, renaming: str | None = None) -> None:
        self._require_open()
        self._settle()
        self._patch.replace_dashboard(sheet, dashboard, renaming)
        self._dirty = True

    def save(
        self,
        dest: Path | str | None = None,
        *,
        ready: Callable[[], None] | None = None,
        remove_temps: bool = True,
    ) -> None:
        """Write the changes: in place (``dest`` None or the same file) or into ``dest``, atomically.

        Refused (WorkbookLocked) while Excel has the target open; runs on one target wait for each other.
        In place with nothing changed, the file is left as it is. ``ready`` is called once the new file is
        written, before it takes the target's place; if it raises, the target is left as it was (a run
        waits there for the drafts the workbook lists). ``remove_temps=False``: the caller has removed the
        temporary files of the target's earlier, interrupted saves, holding its lock since (a batch's chunk
        does it for all its workbooks with one listing of their folder).
        """
        self._require_open()
        self._settle()
        given = Path(dest) if dest is not None else self.path
        target = real_path(given)  # through a symbolic link: the file it points to is replaced
        in_place = target == self._real
        if in_place and not self._dirty:
            return
        ensure_writable(given)
        with ExitStack() as locks:
            if not (in_place and self._write):  # else held since the book was opened
                locks.enter_context(workbook_lock(target, self._wait))
                ensure_writable(given)  # Excel may have opened it while this run waited for the lock
            if remove_temps:
                remove_stale_temps(target)

            def write(temp: Path) -> None:
                self._patch.save(temp)
                _read_back(temp, target)
                if ready is not None:
                    ready()
                if in_place:
                    self._close_file()  # Windows refuses to replace a file this process still holds open

            atomic_replace(target, write)
        if in_place:  # go on with the new file on the next use (a failed save raised above, and left the
            # book closed); a batch closes the book right after its save, and never pays for the opening
            self._close_file()
            self._saved = True

    def _require_open(self) -> None:
        if self._closed and self._saved:
            self._saved = False
            self._open()
        if self._closed:
            raise ValueError(f"{self.path.name}: the workbook is closed")


def _read_back(written: Path, target: Path) -> None:
    """The package checks, on the new file before it takes the workbook's place: the tool never leaves a
    workbook it would itself refuse to read (the writer keeps every part within them; this proves it)."""
    try:
        open_package(written).close()
    except NotAWorkbook as err:
        raise NotAWorkbook(
            f"{target.name} was left as it was: the results would have made a file this tool refuses to read "
            f"back ({err}); please report this."
        ) from None


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")

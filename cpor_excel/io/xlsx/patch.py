"""The lossless xlsx patch writer: the tool's cells and sheets go in, every other byte stays.

Why not openpyxl: see DESIGN.md "Why the writer patches XML". What this module promises:
- Every package part is copied byte for byte, as the raw compressed zip entry, except the sheet XML it
  changes and, when it adds a sheet, ``[Content_Types].xml``, the workbook part and its relationships.
  ``xl/styles.xml`` changes only the first time "Check Result" colours are needed: fills and cell formats
  are *appended* (counts updated) and found again on later runs (``styles.py``). A save that adds or
  renames sheets also updates the worksheet titles ``docProps/app.xml`` lists, where it lists them
  (``sheet_titles.py``).
- Inside a changed sheet only the tool's cells are written; every other byte of every row is kept
  (attributes such as ``spans``, which is an optional hint, included). ``<dimension>`` is updated.
- Text is written as an inline string (``t="inlineStr"``), so ``=1+1`` or ``@x`` stays text and never
  becomes a formula; characters XML cannot carry (control characters) are written as Excel's ``_xHHHH_``
  escapes; text is cut to Excel's 32,767-character cell limit. Dates are ISO text.
- Tool columns are found again by their header in row 1 (``model/headers.py``: case-, space- and
  underscore-insensitively, as the reader finds them), never duplicated;
  a new one goes after the sheet's last used column (cells with values or formatting).

It works on the XML bytes with a few C-speed passes (``sheet_doc.py``, ``sheet_render.py``): two status columns on a
500,000-row sheet cost about as much as reading the sheet, and a tool sheet of 40,000 rows is built as
row XML directly, one cache lookup per cell (benchmarks/bench_write.py).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from functools import partial
from itertools import zip_longest
from pathlib import Path

from cpor_excel.errors import NotAWorkbook
from cpor_excel.io.book import CellValue
from cpor_excel.io.cell_rows import CellRows, longest_text
from cpor_excel.io.dashboard import Layout, lay_out
from cpor_excel.io.looks import (
    DASHBOARD_LOOKS,
    HEADER_LOOK,
    NUMBER_FORMATS,
    VALUE_LOOKS,
    WRAP_AT,
    WRAPPED,
    Look,
)
from cpor_excel.io.xlsx import dashboard_sheet, sheet_titles
from cpor_excel.io.xlsx.calc_chain import formula_cells, without_cells
from cpor_excel.io.xlsx.cells import ColumnStyle, cell_xml, forced, forget_cells
from cpor_excel.io.xlsx.package import REL_NS, Package, SheetInfo, open_package
from cpor_excel.io.xlsx.package_edit import PackageEdit, attr
from cpor_excel.io.xlsx.scan import utf8_xml
from cpor_excel.io.xlsx.shared_strings import SharedStrings
from cpor_excel.io.xlsx.sheet_doc import SheetDoc
from cpor_excel.io.xlsx.sheet_frame import merged_end, table_rid, with_table_part
from cpor_excel.io.xlsx.sheet_render import render
from cpor_excel.io.xlsx.styles import Styles
from cpor_excel.io.xlsx.tables import TABLE_CONTENT_TYPE, TABLE_REL, existing_tables, table_name, table_xml
from cpor_excel.io.xlsx.tool_marks import read_marks, with_marks
from cpor_excel.model.dashboard import Dashboard
from cpor_excel.model.headers import fold_header, own_columns
from cpor_excel.runtime import paused_gc

#: Excel's last row
MAX_ROWS = 1_048_576
#: the deflate level of the sheets the tool writes. zlib's levels 1 and 2 are its fast kind and take the same
#: time, and 2 packs about 5% tighter; level 6 packs another 15-18% tighter at three times the time.
#: Measured: a 500,000-row sheet (165 MB of XML) 0.54 s at level 2 (18.7 MB); a batch workbook of 40
#: customers 9 ms at level 2 and 25 ms at level 6 (330 and 280 KB, all parts deflated).
SHEET_LEVEL = 2
#: a patch whose new parts come to less than this is deflated and written in the calling thread (a few
#: milliseconds of zlib: less than the hand-overs to helper threads cost on a busy machine)
PARALLEL_FROM = 8 * 1024**2

WORKSHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_MAIN_NS = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",
)
_BAD_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")


# --- the writer -------------------------------------------------------------------------------------------


class XlsxPatch:
    """Buffered edits to an existing .xlsx/.xlsm, written as a new package by ``save(dest)``.

    The write methods are those of the ``Book`` protocol (cpor_excel/io/book.py). Sheet names match
    case-insensitively, as in Excel. Reads are not offered: ``FileBook`` reads with python-calamine.
    """

    def __init__(self, path: Path | str, package: Package | None = None) -> None:
        self.package = package if package is not None else open_package(path)
        self._docs: dict[str, SheetDoc] = {}  # existing worksheets being edited, by sheet name
        self._new: dict[str, SheetDoc] = {}  # sheets this run adds, in order
        self._marks: dict[str, set[int]] | None = None  # the tool's columns by sheet, as marked (read once)
        self._marked: dict[str, set[int]] = {}  # the tool's columns this run placed, by sheet
        self._shared: SharedStrings | None = None
        self._styles: Styles | None = None
        self._tables: dict[str, list[str]] = {}  # sheet -> the header of the table its rows form
        self._dashboards: dict[str, Layout] = {}  # dashboard sheets (new or replaced), laid out
        self._renamed: dict[str, str] = {}  # existing sheet -> its new name
        self._ns: tuple[str, str] | None = None

    def close(self) -> None:
        self.package.close()
        forget_cells()

    def __enter__(self) -> XlsxPatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sheet_names(self) -> list[str]:
        """Worksheet names in workbook order (as renamed), then the sheets this patch adds."""
        return [self._renamed.get(s.name, s.name) for s in self.package.worksheets()] + list(self._new)

    def open_sheet(self, sheet: str) -> None:
        """Split a worksheet for editing now (it is done on its first edit otherwise): a reader can do it
        while another thread parses, before any edit comes."""
        self._doc(sheet)
        self._shared_strings()

    # --- Book write methods ----------------------------------------------------------------------------
    @paused_gc()
    def set_columns(
        self,
        sheet: str,
        headers: Sequence[str],
        rows: Sequence[int],
        values: Sequence[Sequence[CellValue]],
        *,
        header_row: int = 1,
    ) -> None:
        """Write the tool's columns (see ``Book.set_columns``)."""
        if len(values) != len(headers) or any(len(column) != len(rows) for column in values):
            raise ValueError("set_columns needs one list of values per header, one value per row")
        bounds = (min(rows), max(rows)) if len(rows) else None  # (once, for all the columns)
        if bounds is not None and bounds[0] <= header_row:
            raise ValueError(f"row {header_row} holds the headers; data rows start below it")
        _check_headers(headers)
        doc = self._doc(sheet)
        if doc.header_row != header_row:
            doc.header_row, doc._headers = header_row, None
        if self._marks is None:
            self._marks = read_marks(self.package)
        # the tool's own columns: those its mark lists, or (no mark yet) its block as earlier runs left it
        found = own_columns(doc.header_cells(self._shared_strings()), headers, self._marks.get(doc.name))
        next_column: int | None = None
        columns = []
        header_style: int | None = None
        for header in headers:
            column = found.get(fold_header(header))
            if column is None:
                if next_column is None:  # after the last used column, and after any merged range
                    next_column = max(doc.last_column(), merged_end(doc.tail))
                    header_style = header_format(doc)
                column, next_column = next_column, next_column + 1
                found[fold_header(header)] = column
                edit = doc.cells.tail(header)
                doc.put(
                    header_row,
                    column,
                    forced(edit, header_style) if edit and header_style is not None else edit,
                )
            else:
                doc.clear.add(column)  # stale results of an earlier run vanish
            columns.append(column)
        self._marked[doc.name] = set(columns)
        for column, header, column_values in zip(columns, headers, values, strict=True):
            style, width = self._column_look(header, column_values)
            doc.set_column(column, rows, column_values, style, bounds)
            doc.widths[column] = width

    def _column_look(self, header: str, values: Sequence[CellValue]) -> tuple[ColumnStyle | None, float]:
        """A tool column's cell formats (colours by value, or wrapped long text) and its width: as wide as its
        longest text (10 to ``WRAP_AT`` characters)."""
        longest = max(len(str(header)), longest_text(values))
        looks = VALUE_LOOKS.get(fold_header(header))
        if looks is not None:
            formats = self._formats(looks)
            return (formats or None), float(min(WRAP_AT, max(10, longest + 2)))
        if longest > WRAP_AT:
            wrapped = self._formats({"": WRAPPED}).get("")
            return wrapped, float(WRAP_AT)
        return None, float(min(WRAP_AT, max(10, longest + 2)))

    @paused_gc()
    def set_cells(self, sheet: str, cells: Mapping[tuple[int, int], CellValue]) -> None:
        """Set cells (Excel row, 0-based column); each keeps its own cell format."""
        doc = self._doc(sheet)
        for (row, column), value in cells.items():
            doc.put(row, column, doc.cells.tail(value))

    @paused_gc()
    def append_rows(self, sheet: str, rows: Sequence[Sequence[CellValue]]) -> list[int]:
        """Append rows after the last row holding a value, from column A; returns their row numbers."""
        doc = self._doc(sheet)
        start = doc.last_used_row() + 1
        doc.add_rows(start, rows)
        return list(range(start, start + len(rows)))

    @paused_gc()
    def replace_sheet(
        self,
        sheet: str,
        header: Sequence[str],
        rows: Sequence[Sequence[CellValue]],
        formats: Mapping[str, str] | None = None,
    ) -> None:
        """Create the sheet, or replace all its rows, with a header row and data rows, as an Excel table
        (filter buttons, banded rows); ``formats``: a number format name (``NUMBER_FORMATS``) per header."""
        _check_headers(header)
        if len(rows) >= MAX_ROWS:
            raise ValueError(f"a sheet holds {MAX_ROWS - 1:,} rows below its header, not {len(rows):,}")
        doc = self._doc(sheet, create=True)
        doc.replace_all()
        doc.widths.update(_widths(header, rows))  # (before the rows: a new sheet's then need no other)
        doc.add_rows(1, [list(header)], styles=self._header_styles(len(header)))
        doc.add_rows(2, rows, styles=self._row_styles(header, rows, formats))
        doc.headers(self._shared_strings()).update(
            {fold_header(h): i for i, h in reversed(list(enumerate(header)))}
        )
        self._tables[sheet] = [str(h) for h in header]

    @paused_gc()
    def append_to_sheet(
        self,
        sheet: str,
        header: Sequence[str],
        rows: Sequence[Sequence[CellValue]],
        formats: Mapping[str, str] | None = None,
    ) -> None:
        """Append rows to a tool sheet, by header; created with ``header`` when missing. Rows never change.
        The sheet gets filter buttons over its rows; ``formats`` as for ``replace_sheet``."""
        _check_headers(header)
        doc = self._doc(sheet, create=True)
        found = doc.headers(self._shared_strings())
        if not found and doc.last_used_row() == 0:
            doc.widths.update(_widths(header, rows))  # (before the rows, as in ``replace_sheet``)
            doc.add_rows(1, [list(header)], styles=self._header_styles(len(header)))
            found.update({fold_header(h): i for i, h in reversed(list(enumerate(header)))})
        positions = []
        for name in header:
            column = found.get(fold_header(name))
            if column is None:  # a column the sheet lacks: added to its header row
                column = doc.last_column()
                found[fold_header(name)] = column
                doc.put(1, column, doc.cells.tail(name))
            positions.append(column)
        first = doc.last_used_row() + 1
        if first + len(rows) > MAX_ROWS + 1:
            raise NotAWorkbook(
                f"sheet '{doc.name}' is full: Excel holds {MAX_ROWS:,} rows; move its older rows to another "
                "workbook and run again."
            )
        styles = {positions[i]: style for i, style in self._row_styles(header, rows, formats).items()}
        doc.add_rows(first, rows, positions, styles)
        doc.auto_filter = True

    def replace_dashboard(self, sheet: str, dashboard: Dashboard, renaming: str | None = None) -> None:
        """Create the dashboard sheet, or replace it (its cells, its charts), as ``dashboard`` lays out;
        ``renaming``: an existing sheet to rename ``sheet`` and replace (when no sheet is called that)."""
        taken = _match(self.package.sheets, sheet) is not None or sheet.casefold() in map(
            str.casefold, self._new
        )
        if renaming is not None and not taken and _match(self.package.sheets, renaming) is not None:
            _check_name(sheet)
            doc = self._doc(renaming)
            self._renamed[doc.name] = sheet
            self._dashboards[doc.name] = lay_out(dashboard, sheet)
            return
        doc = self._doc(sheet, create=True)  # (checks the name; the dashboard's XML replaces the document's)
        self._dashboards[doc.name] = lay_out(dashboard, doc.name)

    def _formats(self, looks: Mapping[str, Look]) -> dict[str, int]:
        if self._styles is None:
            self._styles = Styles(self.package)
        return self._styles.formats(looks)

    def _header_styles(self, count: int) -> dict[int, ColumnStyle]:
        header = self._formats({"": HEADER_LOOK}).get("")
        return {} if header is None else dict.fromkeys(range(count), header)

    def _row_styles(
        self, header: Sequence[str], rows: Sequence[Sequence[CellValue]], formats: Mapping[str, str] | None
    ) -> dict[int, ColumnStyle]:
        """The cell formats of a tool sheet's columns: colours by value, number formats, wrapped long text."""
        styles: dict[int, ColumnStyle] = {}
        for index, name in enumerate(header):
            looks = VALUE_LOOKS.get(fold_header(name))
            code = NUMBER_FORMATS.get((formats or {}).get(str(name), ""))
            if looks is not None:
                found = self._formats(looks)
                if found:
                    styles[index] = found
            elif code is not None:
                found_code = self._formats({"": Look(number_format=code)}).get("")
                if found_code is not None:
                    styles[index] = found_code
        return styles

    # --- saving ----------------------------------------------------------------------------------------
    @paused_gc()
    def save(self, dest: Path | str) -> None:
        """Write the patched workbook to ``dest`` (a new file; never the file being read)."""
        dest = Path(dest)
        edit = PackageEdit(self.package)
        dashboards = {self._docs[n].part for n in self._dashboards if n in self._docs}
        ours = self._styles.ours if self._styles else set()
        for doc in self._docs.values():
            if doc.part in dashboards:
                continue
            if doc.changed and doc.part is not None:
                edit.replaced[doc.part] = (render(doc, ours), SHEET_LEVEL)
        parts = {name: doc.part for name, doc in self._docs.items() if doc.part}
        for old, new in self._renamed.items():
            workbook = self._workbook_xml(edit)
            edit.replaced[self.package.workbook] = ([sheet_titles.renamed_sheet(workbook, old, new)], 6)
        if self._new:
            parts.update(self._register_new_sheets(edit, ours))
        if self._new or self._renamed:
            self._app_titles(edit)
        self._mark_tool_columns(edit)
        for name, header in self._tables.items():
            self._table(edit, self._doc(name), parts[self._doc(name).name], header)
        for name, layout in self._dashboards.items():
            self._dashboard(edit, parts[name], layout)
        if self._styles is not None and self._styles.changed and self._styles.part:
            edit.replaced[self._styles.part] = ([self._styles.xml], 6)
        self._calc_chain(edit)
        edit.finish()
        size = sum(doc.estimated_size() for doc in [*self._docs.values(), *self._new.values()] if doc.changed)
        self.package.write(dest, edit.replaced, edit.added, edit.dropped, parallel=size >= PARALLEL_FROM)

    def _mark_tool_columns(self, edit: PackageEdit) -> None:
        """Write the mark of each sheet whose tool columns this run placed (``tool_marks.py``) into
        workbook.xml, unless it says so already."""
        marks = self._marks or {}
        changed = {name: columns for name, columns in self._marked.items() if marks.get(name) != columns}
        if not changed:
            return
        local = {info.name: at for at, info in enumerate(self.package.sheets)}
        marked = {local[name]: (name, columns) for name, columns in changed.items() if name in local}
        edit.replaced[self.package.workbook] = ([with_marks(self._workbook_xml(edit), marked)], 6)

    def _calc_chain(self, edit: PackageEdit) -> None:
        """Drop the calculation chain's entries for the formula cells the tool's writes replace (every cell
        of a sheet written anew); the part goes when no entry is left."""
        rel = next((r for r in self.package.rels.values() if r.type.endswith("/calcChain") and r.part), None)
        if rel is None or rel.part is None:
            return
        ids = {info.name: info.sheet_id for info in self.package.sheets}
        gone: set[tuple[int, str]] = set()
        whole: set[int] = set()
        for name, doc in self._docs.items():
            if not doc.changed:
                continue
            if doc.replaced or name in self._dashboards:
                whole.add(ids[name])
                continue
            columns = set(doc.blocks) | doc.clear | {c for cells in doc.puts.values() for c in cells}
            gone |= {(ids[name], ref) for ref in formula_cells(doc.body or b"", doc.prefix, columns)}
        if not gone and not whole:
            return
        xml = utf8_xml(self.package.read(rel.part))
        kept = without_cells(xml, gone, whole)
        if kept is None:
            edit.drop(rel.part)
            edit.unrelate(self.package.workbook, rel.rid)
        elif kept != xml:
            edit.replaced[rel.part] = ([kept], 6)

    def _table(self, edit: PackageEdit, doc: SheetDoc, part: str, header: list[str]) -> None:
        """The rows of a replaced tool sheet as an Excel table: its table part written anew (name and id
        kept), named by the sheet."""
        ref = f"A1:{_last_cell(len(header), max(doc.edit_rows[1], 2))}"
        main = self._namespaces()[0]
        old = table_rid(doc.tail)
        rels = self.package.relationships(part) if self.package.find(part) else {}
        tables = existing_tables(self.package)
        if old is not None and old in rels and rels[old].part in tables:
            table_part = rels[old].part
            assert table_part is not None
            number, name = tables[table_part]
            edit.replaced[table_part] = ([table_xml(main, number, name, ref, header)], 6)
            return
        workbook = utf8_xml(self.package.read(self.package.workbook))
        taken = {n.casefold() for _, n in tables.values()}
        taken |= {
            m.decode("utf-8", "replace").casefold()
            for m in re.findall(rb'definedName\b[^>]*?\bname="([^"]+)"', workbook)
        }
        name = table_name(doc.name, taken)
        number = max([0, *(n for n, _ in tables.values())]) + 1
        table_part = edit.name("xl/tables", "table")
        edit.add(table_part, [table_xml(main, number, name, ref, header)], 6, TABLE_CONTENT_TYPE)
        rel_type = TABLE_REL.replace(REL_NS[0], self._namespaces()[1])
        rid = edit.relate(part, rel_type, table_part)
        prefix = _rel_prefix(doc.head)
        declare = None if prefix else self._namespaces()[1]
        doc.tail = with_table_part(doc.tail, doc.prefix, prefix or b"r", rid, declare)
        doc.changed = True

    def _dashboard(self, edit: PackageEdit, part: str, layout: Layout) -> None:
        strict = self._namespaces()[1] == REL_NS[1]
        rid = dashboard_sheet.write_parts(edit, self.package, part, layout, strict)
        formats = self._formats(DASHBOARD_LOOKS)
        xml = dashboard_sheet.sheet_xml(layout, formats, cell_xml(b"").tail, self._namespaces(), rid)
        if self.package.find(part) is not None:
            edit.replaced[part] = ([xml], 6)
        else:
            for index, (name, _, level) in enumerate(edit.added):
                if name == part:
                    edit.added[index] = (name, [xml], level)

    # --- internals -------------------------------------------------------------------------------------
    def _shared_strings(self) -> SharedStrings:
        if self._shared is None:
            self._shared = SharedStrings(self.package)
        return self._shared

    def _doc(self, sheet: str, create: bool = False) -> SheetDoc:
        info = _match(self.package.sheets, sheet)
        if info is not None:
            if info.kind != "worksheet" or info.part is None:
                raise NotAWorkbook(
                    f"'{info.name}' is a {info.kind or 'broken'} sheet, not a worksheet: rename it so the tool "
                    "can use that name."
                )
            doc = self._docs.get(info.name)
            if doc is None:
                xml, hidden = self.package.take(info.part)
                plain = self.package.plain_columns.get(info.part)
                doc = self._docs[info.name] = SheetDoc(xml, info.name, info.part, plain, hidden)
                if hidden is not None:  # a compact sheet: rendered from the original part
                    doc.original = partial(self.package.open_part, info.part)
            return doc
        for name, doc in self._new.items():
            if name.casefold() == sheet.casefold():
                return doc
        if not create:
            raise KeyError(sheet)
        _check_name(sheet)
        main, rel = self._namespaces()
        template = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<worksheet xmlns="{main}" xmlns:r="{rel}"><dimension ref="A1"/><sheetViews><sheetView '
            'workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            '<sheetFormatPr defaultRowHeight="15"/><sheetData/><pageMargins left="0.7" right="0.7" '
            'top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>'
        )
        doc = self._new[sheet] = SheetDoc(template.encode(), sheet, None)
        doc.changed = True
        return doc

    def _namespaces(self) -> tuple[str, str]:
        """The workbook's main and relationships namespaces (strict or transitional), read once."""
        if self._ns is None:
            tag = self.package.workbook_tag  # (read when the package was opened)
            main = tag[1:].split("}", 1)[0] if tag.startswith("{") else _MAIN_NS[0]
            self._ns = main, REL_NS[1] if main == _MAIN_NS[1] else REL_NS[0]
        return self._ns

    def _workbook_xml(self, edit: PackageEdit) -> bytes:
        """The workbook part as this save has it so far."""
        done = edit.replaced.get(self.package.workbook)
        return b"".join(done[0]) if done is not None else utf8_xml(self.package.read(self.package.workbook))

    def _app_titles(self, edit: PackageEdit) -> None:
        """docProps/app.xml's worksheet titles in step with the sheets (``sheet_titles.py``)."""
        part = sheet_titles.app_part(self.package)
        if part is None:
            return
        before = [s.name for s in self.package.worksheets()]
        xml = sheet_titles.app_titles(
            utf8_xml(self.package.read(part)), before, self.sheet_names(), self._renamed
        )
        if xml is not None:
            edit.replaced[part] = ([xml], 6)

    def _register_new_sheets(self, edit: PackageEdit, ours: set[int]) -> dict[str, str]:
        """Add the new sheets' parts and their entries in [Content_Types].xml, workbook.xml and its rels;
        returns each new sheet's part."""
        pkg = self.package
        rel_ns = self._namespaces()[1]
        folder = posixpath.dirname(pkg.workbook)
        sheet_id = max((s.sheet_id for s in pkg.sheets), default=0)
        workbook = self._workbook_xml(edit)
        root = re.search(rb"<(?![?!])[^>]*>", workbook)  # only the root's declarations cover new elements
        root_tag = root.group() if root else b""
        prefix_match = re.search(rb'xmlns:([\w.-]+)="' + re.escape(rel_ns.encode()) + b'"', root_tag)
        sheets_close = re.search(rb"</([\w.-]+:)?sheets>", workbook)
        if sheets_close is None:
            raise NotAWorkbook(
                f"{pkg.path.name}: its workbook part lists no sheets; open it in Excel and save it."
            )
        wb_prefix = (sheets_close.group(1) or b"").decode()
        sheet_tags, parts = [], {}
        for name, doc in self._new.items():
            part = edit.name(posixpath.join(folder, "worksheets"), "sheet")
            rid = edit.relate(pkg.workbook, rel_ns + "/worksheet", part)
            sheet_id += 1
            if prefix_match is not None:
                rid_attr = f'{prefix_match.group(1).decode()}:id="{rid}"'
            else:  # the rel namespace is not declared on the root: declare it here
                rid_attr = f'r:id="{rid}" xmlns:r="{rel_ns}"'
            sheet_tags.append(f'<{wb_prefix}sheet name="{attr(name)}" sheetId="{sheet_id}" {rid_attr}/>')
            edit.add(part, render(doc, ours, widths=True), SHEET_LEVEL, WORKSHEET_CT)
            parts[name] = part
        at = sheets_close.start()
        edit.replaced[pkg.workbook] = ([workbook[:at] + "".join(sheet_tags).encode() + workbook[at:]], 6)
        return parts


def _check_name(sheet: str) -> None:
    if (
        not 1 <= len(sheet) <= 31
        or _BAD_SHEET_NAME.search(sheet)
        or sheet.startswith("'")
        or sheet.endswith("'")
    ):
        raise ValueError(f"{sheet!r} is not a valid Excel sheet name")


def _check_headers(headers: Sequence[str]) -> None:
    if any(not str(h).strip() for h in headers):
        raise ValueError("every tool column needs a header text")


def _match(sheets: Sequence[SheetInfo], name: str) -> SheetInfo | None:
    for info in sheets:
        if info.name == name:
            return info
    folded = name.casefold()
    return next((info for info in sheets if info.name.casefold() == folded), None)


def header_format(doc: SheetDoc) -> int | None:
    """The cell format of the sheet's own header row (its rightmost header cell), for the tool's headers."""
    if doc.header_row not in doc.nums:
        return None
    style = None
    for _, match in doc.row_cells(doc.row_chunk_of(doc.header_row)):
        found = re.search(rb'\ss="(\d+)"', match.group(1))
        if re.search(rb"<(?:[\w.-]+:)?(?:v|is)\b", match.group()):
            style = int(found.group(1)) if found else None
    return style


def _widths(header: Sequence[str], rows: Sequence[Sequence[CellValue]]) -> dict[int, float]:
    """A tool sheet's column widths: its longest text (10 to ``WRAP_AT`` characters; the last column, whose
    text runs on into the empty cells at its right, up to twice that). Nothing is wrapped: a tool sheet's
    rows stay one line high, which filters and sorting keep readable."""
    widths = {}
    # (a short row's missing cells are None, as if empty)
    columns = rows.columns if isinstance(rows, CellRows) else list(zip_longest(*rows))
    for index, name in enumerate(header):
        limit = WRAP_AT * 2 if index == len(header) - 1 else WRAP_AT
        longest = max(len(str(name)), longest_text(columns[index] if index < len(columns) else ()))
        widths[index] = float(min(limit, max(10, longest + 2)))
    return widths


def _last_cell(columns: int, row: int) -> str:
    from cpor_excel.model.headers import column_letter

    return f"{column_letter(columns - 1)}{row}"


def _rel_prefix(head: bytes) -> bytes:
    """The prefix the sheet's root declares for the relationships namespace (empty: none declared)."""
    found = re.search(rb'xmlns:([\w.-]+)="(?:%s|%s)"' % (REL_NS[0].encode(), REL_NS[1].encode()), head)
    return found.group(1) if found else b""

"""The lossless xlsx patch writer: the tool's cells and sheets go in, every other byte stays.

Why not openpyxl: see DESIGN.md "Why the writer patches XML". What this module promises:
- Every package part is copied byte for byte, as the raw compressed zip entry, except the sheet XML it
  changes and, when it adds a sheet, ``[Content_Types].xml``, the workbook part and its relationships.
  ``xl/styles.xml`` changes only the first time "Check Result" colours are needed: fills and cell formats
  are *appended* (counts updated) and found again on later runs (``styles.py``). ``docProps/app.xml`` is
  left alone: its list of sheet titles is informational, nothing reads it to load a workbook, and Excel
  rewrites it on save.
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
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from cpor_excel.errors import NotAWorkbook
from cpor_excel.io.book import CellValue
from cpor_excel.io.xlsx.package import CONTENT_TYPES, REL_NS, Package, SheetInfo, open_package
from cpor_excel.io.xlsx.scan import utf8_xml
from cpor_excel.io.xlsx.shared_strings import SharedStrings
from cpor_excel.io.xlsx.sheet_doc import SheetDoc
from cpor_excel.io.xlsx.sheet_render import render
from cpor_excel.io.xlsx.styles import Styles
from cpor_excel.model.headers import fold_header
from cpor_excel.runtime import paused_gc

CHECK_RESULT = fold_header("Check Result")
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
        self._shared: SharedStrings | None = None
        self._styles: Styles | None = None

    def close(self) -> None:
        self.package.close()

    def __enter__(self) -> XlsxPatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sheet_names(self) -> list[str]:
        """Worksheet names in workbook order, then the sheets this patch adds."""
        return [s.name for s in self.package.worksheets()] + list(self._new)

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
    ) -> None:
        """Write the tool's columns (see ``Book.set_columns``)."""
        if len(values) != len(headers) or any(len(column) != len(rows) for column in values):
            raise ValueError("set_columns needs one list of values per header, one value per row")
        if min(rows, default=2) < 2:
            raise ValueError("row 1 holds the headers; data rows start at 2")
        _check_headers(headers)
        doc = self._doc(sheet)
        found = doc.headers(self._shared_strings())
        next_column: int | None = None
        columns = []
        for header in headers:
            column = found.get(fold_header(header))
            if column is None:
                next_column = doc.last_column() if next_column is None else next_column
                column, next_column = next_column, next_column + 1
                found[fold_header(header)] = column
                doc.put(1, column, doc.cells.tail(header))
            else:
                doc.clear.add(column)  # stale results of an earlier run vanish
            columns.append(column)
        for column, header, column_values in zip(columns, headers, values, strict=True):
            styles = self._check_styles() if fold_header(header) == CHECK_RESULT else None
            doc.set_column(column, rows, column_values, styles)

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
    def replace_sheet(self, sheet: str, header: Sequence[str], rows: Sequence[Sequence[CellValue]]) -> None:
        """Create the sheet, or replace all its rows, with a header row and data rows."""
        doc = self._doc(sheet, create=True)
        doc.replace_all()
        _check_headers(header)
        doc.add_rows(1, [list(header), *rows])
        doc.headers(self._shared_strings()).update(
            {fold_header(h): i for i, h in reversed(list(enumerate(header)))}
        )

    @paused_gc()
    def append_to_sheet(self, sheet: str, header: Sequence[str], rows: Sequence[Sequence[CellValue]]) -> None:
        """Append rows to a tool sheet, by header; created with ``header`` when missing. Rows never change."""
        _check_headers(header)
        doc = self._doc(sheet, create=True)
        found = doc.headers(self._shared_strings())
        if not found and doc.last_used_row() == 0:
            doc.add_rows(1, [list(header)])
            found.update({fold_header(h): i for i, h in reversed(list(enumerate(header)))})
        positions = []
        for name in header:
            column = found.get(fold_header(name))
            if column is None:  # a column the sheet lacks: added to its header row
                column = doc.last_column()
                found[fold_header(name)] = column
                doc.put(1, column, doc.cells.tail(name))
            positions.append(column)
        doc.add_rows(doc.last_used_row() + 1, rows, positions)

    # --- saving ----------------------------------------------------------------------------------------
    @paused_gc()
    def save(self, dest: Path | str) -> None:
        """Write the patched workbook to ``dest`` (a new file; never the file being read)."""
        dest = Path(dest)
        check_ids = set(self._styles.check_styles().values()) if self._styles else set()
        replaced: dict[str, tuple[Iterator[bytes] | list[bytes], int]] = {}
        for doc in self._docs.values():
            if doc.changed and doc.part is not None:
                replaced[doc.part] = (render(doc, check_ids), _level(doc.estimated_size()))
        if self._styles is not None and self._styles.changed and self._styles.part:
            replaced[self._styles.part] = ([self._styles.xml], _level(len(self._styles.xml)))
        added: list[tuple[str, Iterator[bytes] | list[bytes], int]] = []
        if self._new:
            self._register_new_sheets(replaced, added, check_ids)
        self.package.write(dest, replaced, added)

    # --- internals -------------------------------------------------------------------------------------
    def _shared_strings(self) -> SharedStrings:
        if self._shared is None:
            self._shared = SharedStrings(self.package)
        return self._shared

    def _check_styles(self) -> dict[str, int]:
        if self._styles is None:
            self._styles = Styles(self.package)
        return self._styles.check_styles()

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
                xml, plain = self.package.read(info.part), self.package.plain_columns.get(info.part)
                doc = self._docs[info.name] = SheetDoc(xml, info.name, info.part, plain)
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
        doc = self._new[sheet] = SheetDoc(template.encode(), sheet, None)
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
            added.append((part, render(doc, check_ids, widths=True), _level(doc.estimated_size())))
        at = sheets_close.start()
        replaced[pkg.workbook] = ([workbook[:at] + "".join(sheet_tags).encode() + workbook[at:]], 6)
        rels = utf8_xml(pkg.read(pkg.workbook_rels))
        replaced[pkg.workbook_rels] = ([_insert_before(rels, b"Relationships", rel_tags)], 6)
        replaced[content_types] = ([_insert_before(types, b"Types", overrides)], 6)


def _check_headers(headers: Sequence[str]) -> None:
    if any(not str(h).strip() for h in headers):
        raise ValueError("every tool column needs a header text")


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


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

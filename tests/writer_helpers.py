"""Helpers for the writer tests: build workbooks, look inside packages, compare sheets cell by cell."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET
from xml.sax.saxutils import unescape

import pytest

REALWORLD = Path(__file__).resolve().parents[2] / "shared" / "realworld_xlsx"
#: real-world files that must be refused (exit 3), with a word the message must contain
HOSTILE = {
    "poi_protected_passtika.xlsx": "password",
    "poi_xlsx-corrupted.xlsx": "damaged",
}
TOOL_HEADERS = ("Check Result", "Check Notes")


def realworld(name: str | None = None) -> Path:
    """The realworld_xlsx folder (or one file in it); skips the test when it is absent."""
    if not REALWORLD.is_dir():
        pytest.skip("../shared/realworld_xlsx is not here")
    path = REALWORLD / name if name else REALWORLD
    if not path.exists():
        pytest.skip(f"{path.name} is not in realworld_xlsx")
    return path


def realworld_names() -> list[str]:
    """Names of the workbooks in realworld_xlsx (empty when the folder is absent)."""
    if not REALWORLD.is_dir():
        return []
    return sorted(p.name for p in REALWORLD.iterdir() if p.suffix.lower() in (".xlsx", ".xlsm"))


def openpyxl_book(path: Path, sheets: dict[str, Sequence[Sequence[Any]]]) -> Path:
    """A workbook saved by openpyxl (shared strings, like Excel), one sheet per entry, rows from A1."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(list(row))
    wb.save(path)
    return path


def excel_like_book(path: Path, sheets: dict[str, Sequence[Sequence[Any]]], **options: Any) -> Path:
    """A workbook saved by XlsxWriter: shared strings and part layout like Excel's own files."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), options)
    for name, rows in sheets.items():
        sheet = workbook.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    sheet.write(r, c, value)
    workbook.close()
    return path


def entries(path: Path) -> dict[str, bytes]:
    """Every zip entry's inflated bytes."""
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def raw_entries(path: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every zip entry as stored: (compression method, CRC, compressed bytes)."""
    found = {}
    with zipfile.ZipFile(path) as archive, open(path, "rb") as handle:
        for info in archive.infolist():
            handle.seek(info.header_offset)
            header = handle.read(30)
            name_len, extra_len = struct.unpack("<HH", header[26:30])
            handle.seek(info.header_offset + 30 + name_len + extra_len)
            found[info.filename] = (info.compress_type, info.CRC, handle.read(info.compress_size))
    return found


def sheet_part(path: Path, sheet: str) -> str:
    """The zip entry of a sheet, found the way the writer finds it."""
    from cpor_excel.io.xlsx.package import open_package

    with open_package(path) as package:
        return next(s.part for s in package.sheets if s.name == sheet and s.part)


def inserted(before: bytes, after: bytes, pattern: bytes) -> re.Match[bytes]:
    """The one insertion matching ``pattern`` that turns ``before`` into ``after`` (fails otherwise)."""
    for found in re.finditer(pattern, after):
        if after[: found.start()] + after[found.end() :] == before:
            return found
    raise AssertionError(f"the part did not change by one insertion like {pattern!r}")


_MARK = re.compile(
    rb'<(?:[\w.-]+:)?definedName name="CporToolColumns" localSheetId="(\d+)" hidden="1">([^<]*)'
    rb"</(?:[\w.-]+:)?definedName>"
)


def tool_marks(workbook: bytes) -> tuple[bytes, dict[int, list[str]]]:
    """workbook.xml without the tool's marks on its columns (and without a definedNames element left
    empty), and the marks: local sheet id -> the whole-column ranges it lists ("'Usage'!$H:$H")."""
    marks = {int(m.group(1)): unescape(m.group(2).decode()).split(",") for m in _MARK.finditer(workbook)}
    rest = _MARK.sub(b"", workbook)
    rest = re.sub(rb"<([\w.-]+:)?definedNames(?:\s*/>|></(?:[\w.-]+:)?definedNames>)", b"", rest)
    return rest, marks


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def column_of(ref: str) -> int:
    letters = "".join(ch for ch in ref if ch.isalpha())
    number = 0
    for ch in letters.upper():
        number = number * 26 + ord(ch) - 64
    return number - 1


Shape = tuple[Any, ...]


def shape(element: ET.Element) -> Shape:
    """An element as comparable data: tag, attributes, text, children, tail (cheaper than serialising)."""
    return (element.tag, element.attrib, element.text, [shape(child) for child in element], element.tail)


def sheet_rows(xml: bytes) -> dict[int, tuple[dict[str, str], dict[int, Shape]]]:
    """Row number -> (row attributes, 0-based column -> the cell element's shape), from a sheet XML.

    Rows and cells without refs are numbered as Excel does (one after the previous)."""
    root = ET.fromstring(xml)
    data = next(el for el in root if _local(el.tag) == "sheetData")
    rows: dict[int, tuple[dict[str, str], dict[int, Shape]]] = {}
    number = 0
    for row in data:
        if _local(row.tag) != "row":
            continue
        number = int(row.get("r", number + 1))
        cells: dict[int, Shape] = {}
        column = -1
        for cell in row:
            if _local(cell.tag) != "c":
                continue
            column = column_of(cell.get("r")) if cell.get("r") else column + 1
            cells[column] = shape(cell)
        rows[number] = (dict(row.attrib), cells)
    return rows


def outside_sheet_data(xml: bytes) -> tuple[bytes, bytes]:
    """The bytes before <sheetData> (minus the dimension ref) and after </sheetData>."""
    start = re.search(rb"<([\w.-]+:)?sheetData\b", xml)
    assert start is not None
    prefix = start.group(1) or b""
    end = xml.find(b"</" + prefix + b"sheetData>")
    end = xml.find(b">", start.start()) + 1 if end < 0 else end + len(b"</" + prefix + b"sheetData>")
    head = re.sub(rb'(<(?:[\w.-]+:)?dimension\b[^>]*?\bref=")[^"]*', rb"\1", xml[: start.start()])
    return head, xml[end:]


def without_tool_widths(head: bytes, old_head: bytes, tool: set[int]) -> bytes:
    """``head`` without the ``<col>`` widths the writer adds for tool columns (and the ``<cols>`` it made
    for them when the sheet had none): every other byte must be the original's."""
    for column in tool:
        head = re.sub(
            rb'<(?:[\w.-]+:)?col min="%d" max="%d" width="[\d.]+" customWidth="1"/>'
            % (column + 1, column + 1),
            b"",
            head,
        )
    if not re.search(rb"<(?:[\w.-]+:)?cols\b", old_head):
        head = re.sub(rb"<([\w.-]+:)?cols></(?:[\w.-]+:)?cols>", b"", head)
    return head


def assert_only_tool_cells_changed(before: bytes, after: bytes, tool_columns: Iterable[int]) -> None:
    """Every row keeps its attributes and every cell outside ``tool_columns`` (compared element by
    element); the XML outside sheetData is byte-identical except the dimension ref."""
    tool = set(tool_columns)
    old_head, old_tail = outside_sheet_data(before)
    new_head, new_tail = outside_sheet_data(after)
    assert (without_tool_widths(old_head, old_head, tool), old_tail) == (
        without_tool_widths(new_head, old_head, tool),
        new_tail,
    )
    old, new = sheet_rows(before), sheet_rows(after)
    assert set(old) <= set(new)
    for number, (attrs, cells) in old.items():
        new_attrs, new_cells = new[number]
        assert new_attrs == attrs, f"row {number} attributes changed"
        for column, cell in cells.items():
            if column not in tool:
                assert new_cells.get(column) == cell, f"row {number} column {column} changed"
        assert set(new_cells) - set(cells) <= tool, f"row {number} gained cells outside the tool columns"
    for number in set(new) - set(old):
        assert set(new[number][1]) <= tool, f"new row {number} has cells outside the tool columns"


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def libreoffice_csv(books: Sequence[Path], out: Path) -> subprocess.CompletedProcess[str]:
    """Convert workbooks to CSV with LibreOffice in one call, every sheet to NAME-SHEET.csv."""
    profile = out / "profile"
    # 12th token -1: every sheet to its own file (LibreOffice 7.2+)
    csv_filter = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"
    command = [soffice() or "soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless"]
    command += ["--convert-to", csv_filter, "--outdir", str(out), *map(str, books)]
    return subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)

"""Every readable real-world workbook (Excel, LibreOffice, Google Sheets, ... see realworld_xlsx/MANIFEST.tsv)
gets a Check Result column on its first worksheet and a CPOR Report sheet. Every other part stays byte for
byte (docProps/app.xml gains the new sheet's title where it lists the sheets), the patched sheet differs only
in the tool's cells, and openpyxl, python-calamine and LibreOffice open the result."""

from __future__ import annotations

import posixpath
import warnings
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import python_calamine as pc
from ooxml_validator import findings, new_errors, validator
from writer_helpers import (
    HOSTILE,
    REALWORLD,
    TOOL_HEADERS,
    assert_only_tool_cells_changed,
    entries,
    inserted,
    libreoffice_csv,
    raw_entries,
    realworld,
    realworld_names,
    soffice,
    tool_marks,
)

from cpor_excel.io.file_book import FileBook
from cpor_excel.io.xlsx.package import open_package
from cpor_excel.io.xlsx.patch import XlsxPatch
from cpor_excel.io.xlsx.sheet_titles import app_part
from cpor_excel.model.headers import column_letter

READABLE = [name for name in realworld_names() if name not in HOSTILE]
REPORT_HEADER = ["Severity", "Code", "Sheet", "Cell", "Claim ID", "Message"]
RESULTS = ("OK", "WARNING", "ERROR", "CONFLICT")


class Written:
    """One workbook before and after a run: the first worksheet, its part and the rows written."""

    def __init__(self, source: Path, result: Path, sheet: str, rows: list[int]) -> None:
        self.source, self.result, self.sheet, self.rows = source, result, sheet, rows
        with open_package(source) as package:
            info = next(s for s in package.worksheets() if s.name == sheet)
            self.part = info.part
            self.local = package.sheets.index(info)  # its localSheetId
            styles = [r.part for r in package.rels.values() if r.type.endswith("/styles")]
            self.styles = styles[0] if styles else None
            self.workbook, self.rels = package.workbook, package.workbook_rels
            self.types = package.find("[Content_Types].xml") or "[Content_Types].xml"
            self.app = app_part(package)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Written]:
    realworld()
    out = tmp_path_factory.mktemp("realworld")
    done = {}
    for name in READABLE:
        source = REALWORLD / name
        with FileBook(source) as book:
            sheet = book.sheet_names()[0]
            rows = list(range(2, max(len(book.read_rows(sheet)), 2) + 1))
            results = [RESULTS[i % 4] for i in range(len(rows))]
            book.set_columns(sheet, TOOL_HEADERS, rows, [results, [f"note {r} <&>" for r in rows]])
            report = [["error", "date-order", sheet, "A2", "C-1", "=not a formula"]]
            book.replace_sheet("CPOR Report", REPORT_HEADER, report)
            book.save(out / name)
        done[name] = Written(source, out / name, sheet, rows)
    return done


@pytest.mark.parametrize("name", READABLE)
def test_untouched_parts_are_byte_identical(name: str, written: dict[str, Written]) -> None:
    w = written[name]
    old, new = raw_entries(w.source), raw_entries(w.result)
    assert list(new)[: len(old)] == list(old)  # same entries, same order, the new ones last
    added = list(new)[len(old) :]
    # the report sheet, and its rows as a table: the table part and the sheet's relationships
    new_part, table, table_rels = added
    assert table_rels == posixpath.join(
        posixpath.dirname(new_part), "_rels", posixpath.basename(new_part) + ".rels"
    )
    assert table.startswith("xl/tables/table")
    changed = {n for n in old if old[n] != new[n]}
    assert changed <= {w.part, w.styles, w.workbook, w.rels, w.types, w.app}
    assert w.part in changed
    before, after = entries(w.source), entries(w.result)
    workbook, rels, types = w.workbook, w.rels, w.types
    # the sheet added, and the tool's mark on the columns it placed (a hidden name local to their sheet)
    plain_before, marks_before = tool_marks(before[workbook])
    plain_after, marks = tool_marks(after[workbook])
    assert marks_before == {}
    with FileBook(w.result) as book:
        header = book.read_rows(w.sheet)[0]
    quoted = "'" + w.sheet.replace("'", "''") + "'"
    letters = [column_letter(i) for i, value in enumerate(header) if value in TOOL_HEADERS]
    assert marks == {w.local: [f"{quoted}!${letter}:${letter}" for letter in letters]}
    inserted(plain_before, plain_after, rb'<(?:\w+:)?sheet name="CPOR Report" sheetId="\d+" [^>]*/>')
    inserted(before[rels], after[rels], rb'<Relationship Id="rId\d+" Type="[^"]+/worksheet" Target="[^"]+"/>')
    inserted(
        before[types],
        after[types],
        rb'<Override PartName="/%s" ContentType="[^"]+"/><Override PartName="/%s" ContentType="[^"]+"/>'
        # (a package without a Default for .rels names its new relationships part too)
        rb'(?:<Override PartName="/%s" ContentType="[^"]+relationships\+xml"/>)?'
        % (new_part.encode(), table.encode(), table_rels.encode()),
    )
    if (
        w.styles in changed
    ):  # fonts, fills and cell formats appended (an existing same one reused), nothing else
        for block, most in (("fills", 6), ("cellXfs", 7), ("fonts", 5)):
            old_items, new_items = _children(before[w.styles], block), _children(after[w.styles], block)
            assert new_items[: len(old_items)] == old_items and 0 <= len(new_items) - len(old_items) <= most


@pytest.mark.parametrize("name", READABLE)
def test_app_xml_lists_the_added_sheet(name: str, written: dict[str, Written]) -> None:
    """Where docProps/app.xml lists the sheet titles, the CPOR Report is among them, its counts agree, and
    the validator finds nothing new about it; only the titles and counts changed."""
    w = written[name]
    if w.app is None or b"TitlesOfParts" not in entries(w.source)[w.app]:
        pytest.skip("its app.xml lists no sheet titles")
    before, after = _app_titles(entries(w.source)[w.app]), _app_titles(entries(w.result)[w.app])
    assert sum(n for _, n in after[0]) == len(after[1])
    grown = [(label, n) for (label, n), (_, m) in zip(after[0], before[0], strict=True) if n != m]
    assert len(grown) == 1 and "CPOR Report" in after[1] and "CPOR Report" not in before[1]
    assert [t for t in after[1] if t != "CPOR Report"] == before[1]
    validator()
    new = validator().new_findings(findings(w.source), findings(w.result))
    assert [f for f in new if f["kind"] == "app.xml" or f["part"].endswith("app.xml")] == []


def _app_titles(xml: bytes) -> tuple[list[tuple[str, int]], list[str]]:
    """HeadingPairs as (label, count) and the TitlesOfParts."""
    root = ET.fromstring(xml)
    found: dict[str, list[str]] = {"HeadingPairs": [], "TitlesOfParts": []}
    for element in root:
        local = element.tag.rsplit("}", 1)[-1]
        if local in found:
            found[local] = [
                "".join(leaf.itertext()) for leaf in element.iter() if leaf.tag.endswith(("}lpstr", "}i4"))
            ]
    pairs = found["HeadingPairs"]
    return [(pairs[i], int(pairs[i + 1])) for i in range(0, len(pairs) - 1, 2)], found["TitlesOfParts"]


def _children(xml: bytes, name: str) -> list[bytes]:
    root = ET.fromstring(xml)
    block = next(el for el in root if el.tag.rsplit("}", 1)[-1] == name)
    return [ET.tostring(child) for child in block]


@pytest.mark.parametrize("name", READABLE)
def test_patched_sheet_differs_only_in_tool_cells(name: str, written: dict[str, Written]) -> None:
    w = written[name]
    assert w.part is not None
    with FileBook(w.result) as book:
        header = book.read_rows(w.sheet)[0]
    tool = {i for i, value in enumerate(header) if value in TOOL_HEADERS}
    assert len(tool) == 2
    assert_only_tool_cells_changed(entries(w.source)[w.part], entries(w.result)[w.part], tool)


@pytest.mark.parametrize("name", READABLE)
def test_readers_open_the_result(name: str, written: dict[str, Written]) -> None:
    w = written[name]
    with FileBook(w.result) as book:
        rows = book.read_rows(w.sheet)
        assert book.read_rows("CPOR Report") == [REPORT_HEADER, ["error", "date-order", w.sheet, "A2", "C-1",
                                                                  "=not a formula"]]  # fmt: skip
    result_column = rows[0].index("Check Result")
    assert [rows[r - 1][result_column] for r in w.rows] == [RESULTS[i % 4] for i in range(len(w.rows))]
    if _opens_with_calamine(w.source):
        assert "CPOR Report" in pc.CalamineWorkbook.from_path(str(w.result)).sheet_names
    source_names = _openpyxl_sheets(w.source)
    if source_names:  # openpyxl opens the original (it cannot open every producer's files)
        assert _openpyxl_sheets(w.result) == [*source_names, "CPOR Report"]


@pytest.mark.parametrize("name", READABLE)
def test_excel_would_open_the_result_without_repair(name: str, written: dict[str, Written]) -> None:
    """``../shared/ooxml/validate.py --diff``: the result has no `error` finding its original lacks."""
    w = written[name]
    assert new_errors(w.source, w.result) == []


@pytest.mark.parametrize("name", READABLE)
def test_what_the_reader_hands_the_writer_changes_nothing(
    name: str, written: dict[str, Written], tmp_path: Path
) -> None:
    """FileBook gives the writer the sheet bytes its checks inflated and their proof that every cell has a
    plain ref; the writer alone inflates and proves for itself: the same sheet comes out."""
    w = written[name]
    results = [RESULTS[i % 4] for i in range(len(w.rows))]
    with XlsxPatch(w.source) as patch:
        patch.set_columns(w.sheet, TOOL_HEADERS, w.rows, [results, [f"note {r} <&>" for r in w.rows]])
        patch.save(tmp_path / name)
    assert w.part is not None
    assert entries(tmp_path / name)[w.part] == entries(w.result)[w.part]


def _opens_with_calamine(path: Path) -> bool:
    try:
        pc.CalamineWorkbook.from_path(str(path))
    except pc.CalamineError:
        return False
    return True


def _openpyxl_sheets(path: Path) -> list[str] | None:
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            book = openpyxl.load_workbook(path, read_only=True, keep_vba=path.suffix == ".xlsm")
        except Exception:
            return None
        names = list(book.sheetnames)
        if book.vba_archive is not None:  # openpyxl keeps an in-memory zip for the macros: close it
            book.vba_archive.close()
        book.close()
        return names


@pytest.mark.slow
def test_libreoffice_converts_every_result(written: dict[str, Written], tmp_path: Path) -> None:
    if soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    done = libreoffice_csv([w.result for w in written.values()], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    problems: list[Any] = []
    for name, w in written.items():
        stem = w.result.stem
        report = tmp_path / f"{stem}-CPOR Report.csv"
        first = tmp_path / f"{stem}-{w.sheet}.csv"
        if not report.exists() or "date-order" not in report.read_text(encoding="utf-8", errors="replace"):
            problems.append((name, "CPOR Report"))
        if not first.exists() or "Check Result" not in first.read_text(encoding="utf-8", errors="replace"):
            problems.append((name, w.sheet))
    assert problems == []

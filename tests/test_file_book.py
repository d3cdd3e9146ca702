"""FileBook: what read_rows gives for each kind of cell, and how saving in place or elsewhere behaves."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import xlsxwriter
from writer_helpers import excel_like_book, realworld

from cpor_excel.io.file_book import FileBook


def kinds_of_cells(path: Path, date_1904: bool = False) -> Path:
    wb = xlsxwriter.Workbook(str(path), {"date_1904": date_1904})
    ws = wb.add_worksheet("Usage")
    day = wb.add_format({"num_format": "yyyy-mm-dd"})
    stamp = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    ws.write("C3", "text")  # the used range starts at C3: rows still come from A1
    ws.write("D3", 12)
    ws.write_datetime("E3", dt.datetime(2025, 3, 31), day)
    ws.write_datetime("F3", dt.datetime(2025, 3, 31, 12, 30), stamp)
    ws.write_boolean("G3", True)
    ws.write_formula("C4", "=D3*2", None, 24)  # formulas: their cached values
    ws.write_formula("D4", '="a"&"b"', None, "ab")
    ws.write_formula("E4", "=NA()", None, "#N/A")
    ws.write_formula("F4", "=1/0", None, "#DIV/0!")
    ws.write_formula("G4", "=#REF!", None, "#REF!")
    ws.write_blank("C5", None, day)  # formatted but empty
    ws.write_string("D5", "")
    wb.close()
    return path


def non_empty(rows: list[list[object]]) -> set[tuple[int, int, object]]:
    return {(r + 1, c, v) for r, row in enumerate(rows) for c, v in enumerate(row) if v is not None}


@pytest.mark.parametrize("date_1904", [False, True], ids=["1900", "1904"])
def test_read_rows_values(tmp_path: Path, date_1904: bool) -> None:
    with FileBook(kinds_of_cells(tmp_path / "kinds.xlsx", date_1904)) as fb:
        rows = fb.read_rows("Usage")
    assert rows[0] == [None] * 7 and len(rows) == 5  # from A1 (A..G, rows 1..5); empty cells None
    assert non_empty(rows) == {
        (3, 2, "text"),
        (3, 3, 12.0),
        (3, 4, dt.date(2025, 3, 31)),
        (3, 5, dt.datetime(2025, 3, 31, 12, 30)),
        (3, 6, True),
        (4, 2, 24.0),
        (4, 3, "ab"),
        (4, 4, "#N/A"),
        (4, 5, "#DIV/0!"),
        (4, 6, "#REF!"),
    }


def test_sheet_names_are_worksheets_only() -> None:
    with FileBook(realworld("xw_chartsheet03.xlsx")) as fb:
        assert fb.sheet_names() == ["Sheet1"]
    with FileBook(realworld("cx_DialogSheet.xlsx")) as fb:
        assert fb.sheet_names() == ["Pivot", "Data"]


def test_sheet_lookup_ignores_case(tmp_path: Path) -> None:
    with FileBook(excel_like_book(tmp_path / "b.xlsx", {"Usage": [["Tenant ID"]]})) as fb:
        assert fb.read_rows("usage") == [["Tenant ID"]]
        with pytest.raises(KeyError):
            fb.read_rows("Customers")


def test_packages_calamine_refuses_are_read_through_a_clean_view() -> None:
    with FileBook(realworld("cx_SheetsWithoutRelId.xlsx")) as fb:
        assert fb.sheet_names() == ["Sheet1", "Sheet without relId", "Pivot Sheet without relId"]
        assert fb.read_rows("Sheet without relId") == [["Sheet2"]]
        assert fb.read_rows("Pivot Sheet without relId")[1][:2] == ["Pie", 10.0]
    with FileBook(realworld("poi_xlmmacro.xlsm")) as fb:
        assert fb.sheet_names() == ["Sheet1", "Sheet2"]  # the Excel 4 macro sheet is not a worksheet
        assert fb.read_rows("Sheet1") == []


def test_save_in_place_then_go_on(tmp_path: Path) -> None:
    path = excel_like_book(tmp_path / "b.xlsx", {"Usage": [["Tenant ID"], ["t1"], ["t2"]]})
    with FileBook(path) as fb:
        fb.set_columns("Usage", ["Check Result"], [2, 3], [["OK", "ERROR"]])
        fb.save()
        assert fb.read_rows("Usage") == [["Tenant ID", "Check Result"], ["t1", "OK"], ["t2", "ERROR"]]
        saved = path.read_bytes()
        fb.save()  # nothing new: the file keeps its bytes
        assert path.read_bytes() == saved
        fb.set_cells("Usage", {(3, 1): "WARNING"})
        fb.save(path)
    with FileBook(path) as fb:
        assert fb.read_rows("Usage")[2] == ["t2", "WARNING"]


def test_save_elsewhere_leaves_the_source(tmp_path: Path) -> None:
    path = excel_like_book(tmp_path / "b.xlsx", {"Usage": [["Tenant ID"], ["t1"]]})
    before = path.read_bytes()
    out = tmp_path / "out" / "result.xlsx"
    out.parent.mkdir()
    with FileBook(path) as fb:
        fb.replace_sheet("CPOR Report", ["Severity"], [["error"]])
        fb.save(out)
        assert fb.sheet_names() == ["Usage"]  # reads still show the source
    assert path.read_bytes() == before
    with FileBook(out) as fb:
        assert fb.read_rows("CPOR Report") == [["Severity"], ["error"]]


def test_unchanged_book_in_place_writes_nothing(tmp_path: Path) -> None:
    path = excel_like_book(tmp_path / "b.xlsx", {"Usage": [["Tenant ID"]]})
    stamp = path.stat().st_mtime_ns
    with FileBook(path) as fb:
        fb.read_rows("Usage")
        fb.save()
    assert path.stat().st_mtime_ns == stamp


def test_closed_book_refuses_work(tmp_path: Path) -> None:
    path = excel_like_book(tmp_path / "b.xlsx", {"Usage": [["Tenant ID"]]})
    fb = FileBook(path)
    fb.close()
    fb.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        fb.read_rows("Usage")

"""FileBook: what read_rows gives for each kind of cell, and how saving in place or elsewhere behaves."""

from __future__ import annotations

import datetime as dt
import gc
import re
import threading
from pathlib import Path

import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st
from writer_helpers import entries, excel_like_book, realworld

from cpor_excel import runtime
from cpor_excel.errors import NotAWorkbook
from cpor_excel.io import file_book
from cpor_excel.io.file_book import FileBook
from cpor_excel.io.xlsx import scan
from cpor_excel.io.xlsx.patch import XlsxPatch


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


def test_saved_in_place_shows_the_new_file_and_closes_for_good(tmp_path: Path) -> None:
    path = excel_like_book(tmp_path / "b.xlsx", {"Usage": [["Tenant ID"], ["t1"]]})
    fb = FileBook(path)
    fb.replace_sheet("CPOR Report", ["Severity"], [["error"]])
    fb.save()
    assert fb.sheet_names() == ["Usage", "CPOR Report"]
    fb.close()
    with pytest.raises(ValueError, match="closed"):
        fb.sheet_names()
    saved = FileBook(path)
    saved.set_cells("Usage", {(2, 1): "OK"})
    saved.save()
    saved.close()  # closed right after its save (a batch does so): still closed for good
    with pytest.raises(ValueError, match="closed"):
        saved.read_rows("Usage")
    with FileBook(path) as fb:
        assert fb.read_rows("Usage") == [["Tenant ID", None], ["t1", "OK"]]


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


# --- reading fast: checks ahead, one inflate per sheet, no collector walks -----------------------------------


def with_far_cell(path: Path) -> Path:
    """Sheets Usage (fine) and Far, whose two cells (A1, XFD1048576) make an absurd range for a reader."""
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("Usage").write_row(0, 0, ["Tenant ID", "Workload"])
    far = wb.add_worksheet("Far")
    far.write("A1", "x")
    far.write("XFD1048576", "y")
    wb.close()
    return path


def test_a_sheet_checked_ahead_is_refused_only_when_read(tmp_path: Path) -> None:
    """While calamine reads a sheet, the next one is checked; its refusal waits until it is asked for."""
    with FileBook(with_far_cell(tmp_path / "far.xlsx")) as fb:
        assert fb.read_rows("Usage") == [["Tenant ID", "Workload"]]
        for _ in range(2):  # and again: the refusal is not forgotten
            with pytest.raises(NotAWorkbook, match="Far"):
                fb.read_rows("Far")
        assert fb.read_rows("Usage") == [["Tenant ID", "Workload"]]


@pytest.mark.parametrize("lane", [True, False])
@pytest.mark.parametrize(
    "order", [("Customers", "Usage", "Milestones"), ("Usage", "Milestones", "Customers")]
)
def test_whatever_the_order_of_reads_each_sheet_reads_as_alone_and_a_refusal_waits_until_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lane: bool, order: tuple[str, ...]
) -> None:
    """A book reads ahead on its own, on helper threads and the biggest sheet on a lane of its own when the
    workbook is big enough, else in the calling thread (here the thresholds are lowered or raised): each sheet reads as it does in a book that reads nothing else, a sheet
    refused as unsafe is refused only when asked for, and writing after reading saves what writing alone
    saves."""
    path = tmp_path / "b.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("Customers").write_row(0, 0, ["a", 1])
    big = wb.add_worksheet("Usage")
    for i in range(300):
        big.write_row(i, 0, [f"t{i}", i, None if i % 7 else "#N/A"])
    wb.add_worksheet("Milestones").write("XFD1048576", "y")
    wb.close()
    expected = {}
    for name in ("Customers", "Usage"):
        with FileBook(path) as alone:
            expected[name] = alone.read_rows(name)
    with XlsxPatch(path) as patch:
        patch.set_columns("Usage", ["Check Result"], [2], [["OK"]])
        patch.save(tmp_path / "direct.xlsx")
    monkeypatch.setattr(file_book, "LANE_SIZE", 1 if lane else 1 << 40)
    monkeypatch.setattr(file_book, "THREADED_FROM", 0 if lane else 1 << 40)  # helper threads, or none
    with FileBook(path) as fb:
        for name in order:
            if name == "Milestones":
                with pytest.raises(NotAWorkbook, match="Milestones"):
                    fb.read_rows(name)
            else:
                assert fb.read_rows(name) == expected[name]
        fb.set_columns("Usage", ["Check Result"], [2], [["OK"]])
        fb.save(tmp_path / "o.xlsx")
    assert entries(tmp_path / "o.xlsx") == entries(tmp_path / "direct.xlsx")


def test_read_rows_leaves_the_collector_as_it_was(tmp_path: Path) -> None:
    path = with_far_cell(tmp_path / "far.xlsx")
    was = gc.isenabled()
    try:
        with FileBook(path) as fb:
            for enabled in (True, False):
                (gc.enable if enabled else gc.disable)()
                fb.read_rows("Usage")
                assert gc.isenabled() is enabled
                with pytest.raises(NotAWorkbook):
                    fb.read_rows("Far")
                assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_the_collector_comes_back_only_when_the_last_paused_block_of_any_thread_ends() -> None:
    was = gc.isenabled()
    gc.enable()
    inside, leave = threading.Event(), threading.Event()

    def other_thread() -> None:
        with runtime.paused_gc():
            inside.set()
            leave.wait(10)

    try:
        worker = threading.Thread(target=other_thread)
        worker.start()
        inside.wait(10)
        with runtime.paused_gc():
            with runtime.paused_gc():
                assert not gc.isenabled()
            assert not gc.isenabled()
        assert not gc.isenabled()  # the other thread is still inside its block
        leave.set()
        worker.join(10)
        assert gc.isenabled()
    finally:
        leave.set()
        (gc.enable if was else gc.disable)()


def test_a_sheet_read_then_written_saves_what_the_writer_alone_saves(tmp_path: Path) -> None:
    """The writer edits the bytes the reader's checks inflated (and reuses their proof that every cell has
    a plain ref): the file is the same as the writer's alone."""
    rows = [["Tenant ID", "Workload"], *([f"t{i}", "Teams"] for i in range(200))]
    path = excel_like_book(tmp_path / "b.xlsx", {"Usage": rows, "Other": [["x"]]})
    with FileBook(path) as fb:
        assert fb.read_rows("Usage") == rows
        fb.set_columns("Usage", ["Check Result"], list(range(2, 202)), [["OK"] * 200])
        fb.save(tmp_path / "via_book.xlsx")
    with XlsxPatch(path) as patch:  # no reader before it: its own inflate and proof
        patch.set_columns("Usage", ["Check Result"], list(range(2, 202)), [["OK"] * 200])
        patch.save(tmp_path / "direct.xlsx")
    assert entries(tmp_path / "via_book.xlsx") == entries(tmp_path / "direct.xlsx")


@settings(max_examples=200, deadline=None)
@given(
    data=st.binary(max_size=300).map(lambda b: b.replace(b"\x00", b"<c")),
    window=st.integers(1, 40),
    boundary=st.booleans(),
)
def test_windowed_search_finds_what_one_search_finds(data: bytes, window: int, boundary: bool) -> None:
    """Long scans are cut into windows (other threads get the GIL between them): same first match."""
    pattern = re.compile(rb'<c(?! r="[A-C]\d)[^>]{0,3}')
    original = scan._SCAN_WINDOW
    scan._SCAN_WINDOW = window
    try:
        if boundary:
            data = data.replace(b">", b"</row>")
            found = scan.search_windows(pattern, data, boundary=b"</row>")
        else:
            found = scan.search_windows(pattern, data, reach=8)
    finally:
        scan._SCAN_WINDOW = original
    expected = pattern.search(data)
    assert (found and found.span()) == (expected and expected.span())


@pytest.mark.parametrize("write", [True, False])
def test_a_book_opened_to_read_only_still_writes_the_same_file(tmp_path: Path, write: bool) -> None:
    path = excel_like_book(tmp_path / "b.xlsx", {"Usage": [["Tenant ID"], ["t1"]]})
    with FileBook(path, write=write) as fb:
        assert fb.read_rows("Usage") == [["Tenant ID"], ["t1"]]
        fb.set_columns("Usage", ["Check Result"], [2], [["OK"]])
        fb.save(tmp_path / "o.xlsx")
    with XlsxPatch(path) as patch:
        patch.set_columns("Usage", ["Check Result"], [2], [["OK"]])
        patch.save(tmp_path / "direct.xlsx")
    assert entries(tmp_path / "o.xlsx") == entries(tmp_path / "direct.xlsx")
    with FileBook(tmp_path / "o.xlsx") as fb:
        assert fb.read_rows("Usage") == [["Tenant ID", "Check Result"], ["t1", "OK"]]

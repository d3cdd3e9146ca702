"""The live-workbook adapter and the button, on a recording double of xlwings (CI has no Excel).

The double (tests/xlwings_double.py) stores cells like Excel: floats, datetimes, typed text parsing. The real
run (``cpor_excel/run.py``) goes through ``LiveBook`` on it and must write what it writes through the in-memory and file books.
"""

from __future__ import annotations

import datetime as dt
import inspect
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import AS_OF
from memory_book import MemoryBook
from xlwings_double import (
    App,
    Book,
    CellError,
    Chart,
    Charts,
    Name,
    Names,
    Range,
    Sheet,
    Sheets,
    calls,
    charts,
    colours,
    formulas,
    make_book,
    sheet_rows,
)

import cpor_excel
from cpor_excel.errors import CporError
from cpor_excel.excel import button
from cpor_excel.excel.live_book import RESULT_COLOURS, LiveBook
from cpor_excel.mail.outbox import DraftFiles, default_drafts_dir
from cpor_excel.run import run_book

xw = pytest.importorskip("xlwings")

RUN_AT = dt.datetime(2025, 11, 30, 9, 30)
TENANT_A = "0f8fad5b-d9cb-469f-a165-70867728950e"
TENANT_B = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


# ------------------------------------------------------------------------------------------- the API used


def test_every_xlwings_call_the_adapter_makes_exists_in_the_installed_xlwings() -> None:
    main = xw.main
    assert isinstance(inspect.getattr_static(main.Book, "caller"), classmethod)
    for cls, names in {
        main.Book: ["sheets", "app", "name", "fullname"],
        main.Sheets: ["active"],
        main.Sheet: ["name", "used_range"],
        main.Range: ["value", "color", "last_cell", "row", "column"],
        main.App: ["screen_updating", "calculation", "status_bar"],
    }.items():
        for name in names:
            assert isinstance(inspect.getattr_static(cls, name), property), f"{cls.__name__}.{name}"
    for prop in (main.Range.value, main.Range.color, main.App.screen_updating, main.App.calculation):
        assert prop.fset is not None  # the adapter assigns them
    assert list(inspect.signature(main.Sheet.range).parameters) == ["self", "cell1", "cell2"]
    assert list(inspect.signature(main.Sheets.add).parameters) == ["self", "name", "before", "after"]
    assert list(inspect.signature(main.App.alert).parameters)[:3] == ["self", "prompt", "title"]
    options = inspect.signature(main.Range.options).parameters
    assert options["options"].kind is inspect.Parameter.VAR_KEYWORD
    for keyword in ("ndim", "err_to_str"):  # the read's options, as the docstring documents them
        assert f"{keyword}:" in main.Range.options.__doc__
    for name in ("clear_contents", "activate"):
        assert callable(getattr(main.Sheet, name))
    # the Dashboard: Excel's own charts over the dashboard's cells
    assert isinstance(inspect.getattr_static(main.Sheet, "charts"), property)
    assert list(inspect.signature(main.Charts.add).parameters)[:5] == [
        "self",
        "left",
        "top",
        "width",
        "height",
    ]
    assert list(inspect.signature(main.Chart.set_source_data).parameters)[:2] == ["self", "source"]
    assert inspect.getattr_static(main.Chart, "chart_type").fset is not None
    assert inspect.getattr_static(main.Range, "column_width").fset is not None
    assert inspect.getattr_static(main.Sheet, "name").fset is not None  # an earlier dashboard renamed
    assert callable(main.Chart.delete) and callable(main.Charts.__iter__)
    assert callable(main.Sheets.__getitem__) and callable(main.Sheets.__iter__)
    assert callable(main.Range.options)
    # the tool's mark on its columns: a sheet-level name
    assert isinstance(inspect.getattr_static(main.Sheet, "names"), property)
    assert list(inspect.signature(main.Names.add).parameters) == ["self", "name", "refers_to"]
    assert callable(main.Names.__iter__)
    for name in ("name", "refers_to", "api"):
        assert isinstance(inspect.getattr_static(main.Name, name), property), f"Name.{name}"
    assert main.Name.refers_to.fset is not None


@pytest.mark.parametrize(
    ("double", "real"),
    [
        (App, "App"),
        (Book, "Book"),
        (Sheets, "Sheets"),
        (Sheet, "Sheet"),
        (Range, "Range"),
        (Charts, "Charts"),
        (Chart, "Chart"),
        (Names, "Names"),
        (Name, "Name"),
    ],
)
def test_the_double_invents_no_xlwings_api(double: type, real: str) -> None:
    target = getattr(xw.main, real)
    public = [n for n in vars(double) if not n.startswith("_")]
    assert public
    for name in public:
        assert hasattr(target, name), f"xlwings.{real} has no {name}"
        mine, theirs = inspect.getattr_static(double, name), inspect.getattr_static(target, name)
        if callable(mine) and callable(theirs) and not isinstance(theirs, property):
            ours = list(inspect.signature(mine).parameters)
            assert ours == list(inspect.signature(theirs).parameters)[: len(ours)], name


# ---------------------------------------------------------------------------------------------- reading


def test_read_rows_starts_at_a1_and_keeps_excel_types() -> None:
    book = make_book(
        {
            "Data": [
                [None, None, None],
                [None, None, None],
                [None, "Month", 1000001],
                [None, dt.datetime(2025, 4, 1), CellError("#N/A")],
            ]
        }
    )
    rows = LiveBook(book).read_rows("Data")
    assert rows == [
        [None, None, None],
        [None, None, None],
        [None, "Month", 1000001.0],
        [None, dt.datetime(2025, 4, 1), "#N/A"],
    ]
    assert isinstance(rows[2][2], float)
    reads = calls(book, "read")
    assert len(reads) == 1 and reads[0][2] == "$A$1:$C$4"


def test_read_rows_of_an_empty_sheet_is_empty() -> None:
    book = make_book({"Empty": []})
    assert LiveBook(book).read_rows("Empty") == []
    assert LiveBook(book).sheet_names() == ["Empty"]


def test_a_used_range_stretched_to_the_last_row_is_refused_with_a_fix() -> None:
    book = make_book({"Usage": [["Tenant ID"], ["x"]]})
    book.sheets["Usage"].range((1_048_576, 40)).color = (255, 255, 0)  # a stray format far below the data
    with pytest.raises(CporError, match=r"'Usage' reaches AN1048576 .*Ctrl\+End"):
        LiveBook(book).read_rows("Usage")
    assert calls(book, "read") == []


# ---------------------------------------------------------------------------------------------- writing


def test_set_columns_appends_headers_once_and_clears_stale_results() -> None:
    book = make_book({"Data": [["Name", "Qty"], ["a", 1], ["b", 2], ["c", 3], ["d", 4]]})
    live = LiveBook(book)
    live.set_columns("Data", ["Check Result", "Check Notes"], [2, 3, 4, 5], [["OK"] * 4, ["", "x", "", "y"]])
    assert sheet_rows(book, "Data")[0] == ["Name", "Qty", "Check Result", "Check Notes"]
    # a later run with fewer rows (row 4 gone from the data, row 5 deleted): headers found again, stale cleared
    book._calls.clear()
    live.set_columns("Data", ["check result", "CHECK NOTES"], [2, 3], [["ERROR", "OK"], ["bad", ""]])
    rows = sheet_rows(book, "Data")
    assert rows[0] == ["Name", "Qty", "Check Result", "Check Notes"]
    assert [r[2:] for r in rows[1:]] == [["ERROR", "bad"], ["OK", None], [None, None], [None, None]]
    writes = calls(book, "write")
    assert [(w[2], w[3]) for w in writes] == [("$C$2:$D$5", 8)]  # one block, header untouched


def test_rows_with_gaps_and_split_columns_are_still_bulk() -> None:
    """The tool's block from an earlier run (Check Result, Check Notes) and a user's column after it: the
    new tool column goes after that, and each run of adjacent tool columns is one write."""
    header = ["Claim ID", "Check Result", "Check Notes", "Extra"]
    book = make_book({"Data": [header, ["C1", "OK", "old", "keep"], [], ["C3", None, None, "keep"]]})
    live = LiveBook(book)
    live.set_columns("Data", ["Check Result", "Check Notes", "Conflicts With"], [2, 4], [
        ["WARNING", "OK"], ["note 2", ""], ["C9", None],
    ])  # fmt: skip
    rows = sheet_rows(book, "Data")
    assert rows[0] == [*header, "Conflicts With"]
    assert rows[1] == ["C1", "WARNING", "note 2", "keep", "C9"]
    assert rows[3] == ["C3", "OK", None, "keep", None]
    writes = [(w[2], w[3]) for w in calls(book, "write")]
    # the new header, then one write per run of adjacent tool columns (B:C; E), never per cell
    assert writes == [("$E$1", 1), ("$B$2:$C$4", 6), ("$E$2:$E$4", 3)]


def test_a_users_own_check_result_column_is_not_the_tools() -> None:
    """A "Check Result" of the user's (no "Check Notes" beside it): the tool adds its own columns."""
    header = ["Claim ID", "Check Result"]
    book = make_book({"Data": [header, ["C1", "call back"]]})
    LiveBook(book).set_columns("Data", ["Check Result", "Check Notes"], [2], [["OK"], [""]])
    rows = sheet_rows(book, "Data")
    assert rows[0] == ["Claim ID", "Check Result", "Check Result", "Check Notes"]
    assert rows[1][:3] == ["C1", "call back", "OK"]


def test_the_tool_marks_its_columns_as_the_file_writer_does() -> None:
    """A sheet-level name lists the tool's columns (hidden), as workbook.xml's CporToolColumns does."""
    book = make_book({"My data": [["Name", "Qty"], ["a", 1]]})
    LiveBook(book).set_columns("My data", ["Check Result", "Check Notes"], [2], [["OK"], [""]])
    (mark,) = list(book.sheets["My data"].names)
    assert mark.name == "'My data'!CporToolColumns"
    assert mark.refers_to == "='My data'!$C:$C,'My data'!$D:$D"
    assert mark.api.Visible is False
    # a second run with the same columns leaves the mark as it is
    book._calls.clear()
    LiveBook(book).set_columns("My data", ["Check Result", "Check Notes"], [2], [["ERROR"], ["x"]])
    assert [c for c in book._calls if c[0] in ("add_name", "set_name")] == []
    assert sheet_rows(book, "My data")[1] == ["a", 1, "ERROR", "x"]


@pytest.mark.parametrize("marked", [True, False])
def test_the_mark_decides_which_columns_are_the_tools(marked: bool) -> None:
    """The user copied the tool's two columns to the right of them: with the mark the tool writes into its
    own (B:C); without one it can only take the rightmost block of its headers (D:E)."""
    header = ["Claim ID", "Check Result", "Check Notes", "Check Result", "Check Notes"]
    book = make_book({"Data": [header, ["C1", "OK", "", "mine", "my note"]]})
    if marked:
        book.sheets["Data"].names.add("CporToolColumns", "=Data!$B:$C")
    LiveBook(book).set_columns("Data", ["Check Result", "Check Notes"], [2], [["ERROR"], ["bad"]])
    row = sheet_rows(book, "Data")[1]
    if marked:
        assert row == ["C1", "ERROR", "bad", "mine", "my note"]
    else:
        assert row == ["C1", "OK", None, "ERROR", "bad"]
    (mark,) = list(book.sheets["Data"].names)
    assert mark.refers_to == ("=Data!$B:$C" if marked else "='Data'!$D:$D,'Data'!$E:$E")


@pytest.mark.parametrize(
    "text",
    ["=HYPERLINK(\"http://x\")", "+31 20 123", "-5", "@SUM(A1)", "00123", "1000001", "2025-04", "2025-04-07",
     "TRUE", "'quoted", "50%", "1e3", "x" * 40000],
)  # fmt: skip
def test_text_is_written_as_text_never_as_a_formula_or_number(text: str) -> None:
    book = make_book({"Data": [["Name"], ["a"]]})
    live = LiveBook(book)
    live.set_columns("Data", ["Check Notes"], [2], [[text]])
    live.replace_sheet("CPOR Report", ["Message"], [[text]])
    live.append_to_sheet("Run Log", ["Note"], [[text]])
    live.set_cells("Data", {(3, 0): text})
    expected = text[:32767]
    assert sheet_rows(book, "Data")[1][1] == expected
    assert sheet_rows(book, "Data")[2][0] == expected
    assert sheet_rows(book, "CPOR Report") == [["Message"], [expected]]
    assert sheet_rows(book, "Run Log") == [["Note"], [expected]]
    assert formulas(book) == []


def test_numbers_dates_and_empty_values_keep_their_type() -> None:
    book = make_book({"Data": [["Name"], ["a"]]})
    LiveBook(book).append_to_sheet(
        "Run Log", ["n", "f", "b", "d", "t", "none", "empty"],
        [[7, 0.25, True, dt.date(2025, 4, 7), dt.datetime(2025, 4, 7, 9, 30), None, ""]],
    )  # fmt: skip
    assert sheet_rows(book, "Run Log")[1] == [
        7.0,
        0.25,
        True,
        dt.datetime(2025, 4, 7),
        dt.datetime(2025, 4, 7, 9, 30),
        None,
        None,
    ]


def test_check_results_are_coloured_in_few_calls() -> None:
    n = 2000
    values = ["OK"] * n
    for i in range(0, n, 97):
        values[i] = "ERROR"
    values[500:520] = ["WARNING"] * 20
    values[1500] = "CONFLICT"
    book = make_book({"Data": [["Name"], *[[f"r{i}"] for i in range(n)]]})
    LiveBook(book).set_columns("Data", ["Check Result"], list(range(2, n + 2)), [values])
    fills = colours(book, "Data", 2)
    assert all(fills[i + 2] == RESULT_COLOURS[v] for i, v in enumerate(values))
    colour_calls = calls(book, "color")
    runs = 1 + sum(1 for i in range(1, n) if values[i] != values[i - 1] and values[i] != "OK")
    assert len(colour_calls) < runs / 5  # union addresses: many runs per call
    assert all(len(c[2]) <= 255 + 20 for c in colour_calls)  # the double renders $-addresses, a bit longer


def test_stale_colours_below_the_data_are_removed() -> None:
    book = make_book({"Data": [["Name"], ["a"], ["b"], ["c"]]})
    live = LiveBook(book)
    live.set_columns("Data", ["Check Result"], [2, 3, 4], [["ERROR", "ERROR", "CONFLICT"]])
    live.set_columns("Data", ["Check Result"], [2], [["OK"]])
    assert colours(book, "Data", 2) == {2: RESULT_COLOURS["OK"]}


def test_set_cells_writes_contiguous_runs() -> None:
    book = make_book({"Usage": [["A", "B", "C"], [1, 2, 3]]})
    cells = {(2, 0): "x", (3, 0): "y", (4, 0): "z", (7, 0): "w", (2, 2): 9, (3, 2): 10}
    LiveBook(book).set_cells("Usage", cells)
    rows = sheet_rows(book, "Usage")
    assert [r[0] for r in rows[1:]] == ["x", "y", "z", None, None, "w"]
    assert rows[1][2] == 9.0 and rows[2][2] == 10.0
    assert sorted(w[2] for w in calls(book, "write")) == ["$A$2:$A$4", "$A$7", "$C$2:$C$3"]


def test_append_rows_and_tool_sheets() -> None:
    book = make_book({"Data": [["Name"], ["a"]], "cpor report": [["Old"], ["stale"], ["more stale"]]})
    book.sheets["Data"].activate()
    live = LiveBook(book)
    assert live.append_rows("Data", [["b"], ["c"]]) == [3, 4]
    live.replace_sheet("CPOR Report", ["Severity", "Code"], [["ERROR", "bad-email"]])
    assert sheet_rows(book, "cpor report") == [["Severity", "Code"], ["ERROR", "bad-email"]]
    live.append_to_sheet("Milestone Ledger", ["Claim ID", "Milestone"], [])
    live.append_to_sheet("Milestone Ledger", ["Claim ID", "Milestone"], [["C1", "M1"]])
    live.append_to_sheet("Milestone Ledger", ["Claim ID", "Milestone"], [["C2", "M1"], ["C1", "M2"]])
    assert sheet_rows(book, "Milestone Ledger") == [
        ["Claim ID", "Milestone"],
        ["C1", "M1"],
        ["C2", "M1"],
        ["C1", "M2"],
    ]
    assert live.sheet_names() == ["Data", "cpor report", "Milestone Ledger"]
    assert book.sheets.active.name == "Data"  # adding a sheet does not leave the partner elsewhere
    assert len(calls(book, "add_sheet")) == 1


def test_tell_is_a_message_box() -> None:
    book = make_book({"Data": [["x"]]})
    LiveBook(book).tell("y" * 5000, "CPOR checks")
    (prompt, title), = book.app._alerts  # fmt: skip
    assert title == "CPOR checks" and len(prompt) <= 1000


def test_busy_restores_excel_settings_even_on_failure() -> None:
    book = make_book({"Data": [["x"]]})
    book.app.calculation = "semiautomatic"
    with pytest.raises(RuntimeError), LiveBook(book).busy("Running"):
        assert (book.app.screen_updating, book.app.calculation) == (False, "manual")
        raise RuntimeError
    assert (book.app.screen_updating, book.app.calculation, book.app.status_bar) == (
        True,
        "semiautomatic",
        False,
    )


# ----------------------------------------------------------------------------------- the engine, live


def _normal(value: Any) -> Any:
    if value == "" or value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)  # calamine gives dates, Excel datetimes
    return value


def _normal_rows(rows: list[list[Any]]) -> list[list[Any]]:
    out = [[_normal(v) for v in row] for row in rows]
    out = [row[: max((i + 1 for i, v in enumerate(row) if v is not None), default=0)] for row in out]
    while out and not out[-1]:
        out.pop()
    return out


def tiny_sheets() -> dict[str, list[list[Any]]]:
    """Two customers; claims whose IDs look like formulas; a conflict; usage that reaches milestones."""
    customers = [
        ["Tenant ID", "Customer Name", "Domain", "Contact Name", "Contact Title", "Contact Email"],
        [TENANT_A, "Contoso", "contoso.com", "Ana", "IT", "ana@contoso.com"],
        [TENANT_B, "Fabrikam", "fabrikam.com", "Bo", "CIO", "bo@fabrikam.com"],
    ]
    header = ["Claim ID", "Tenant ID", "Workload", "Partner ID", "Partner Name", "Partner Contact Name",
              "Partner Contact Email", "Status", "Created", "POE Signed", "Submitted", "Approved"]  # fmt: skip
    text_rows = [
        ["@C1", TENANT_A, "EXO", 1000001, "Us", "Kim", "kim@us.example", "Approved", "2025-01-02", "2025-01-03",
         "2025-01-06", "2025-01-20"],
        ["+C2", TENANT_A, "Exchange Online", 2000002, "Them", "Lee", "lee@them.example", "Submitted",
         "2025-05-01", "2025-05-02", "2025-05-05", None],
        ["=C3", TENANT_B, "Teams", 1000001, "Us", "Kim", "kim@us.example", "Draft", "2025-11-20", "2025-11-21",
         None, None],
    ]  # fmt: skip
    usage = [["Tenant ID", "Workload", "Month", "Active Users", "Paid Units"]] + [
        [TENANT_A, "Exchange Online", f"2025-{m:02d}", 40 * m, 300] for m in range(2, 12)
    ]
    return {"Customers": customers, "Associations": [header, *text_rows], "Usage": usage}


@pytest.fixture(scope="module")
def sample_sheets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[list[Any]]]:
    import openpyxl

    from cpor_excel.sample import create_sample

    path = tmp_path_factory.mktemp("sample") / "partner.xlsx"
    create_sample(path, customers=20, as_of=AS_OF)
    book = openpyxl.load_workbook(path, read_only=True)
    sheets = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in book.worksheets}
    book.close()
    return sheets


def test_live_run_writes_what_the_memory_book_gets(
    sample_sheets: dict[str, list[list[Any]]], tmp_path: Path
) -> None:
    reference = MemoryBook(sample_sheets)
    double = make_book(sample_sheets, name="partner.xlsx", fullname=str(tmp_path / "partner.xlsx"))
    with DraftFiles(tmp_path / "memory") as drafts:
        expected = run_book(reference, "partner.xlsx", AS_OF, drafts=drafts, run_at=RUN_AT)
    report, folder, note = button.run_live_book(LiveBook(double), as_of=AS_OF, run_at=RUN_AT)
    assert folder == tmp_path / "partner drafts" and note == ""
    assert report.to_dict() == expected.to_dict()
    assert report.counts()["errors"] > 0 and report.counts()["drafts"] > 0
    assert [s.name for s in double.sheets] == reference.sheet_names()
    for name in reference.sheet_names():
        assert _normal_rows(sheet_rows(double, name)) == _normal_rows(reference.sheets[name]), name
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in (tmp_path / "memory").iterdir())
    assert formulas(double) == []
    assert calls(double, "save") == []


def test_live_run_writes_what_the_file_path_writes(tmp_path: Path) -> None:
    """The same workbook, once as a file (FileBook: calamine + the xlsx patch writer), once live in Excel."""
    file_book = pytest.importorskip("cpor_excel.io.file_book")
    import openpyxl

    from cpor_excel.sample import create_sample

    path = tmp_path / "partner.xlsx"
    create_sample(path, customers=20, as_of=AS_OF)
    book = openpyxl.load_workbook(path, read_only=True)
    sheets = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in book.worksheets}
    book.close()
    out = tmp_path / "out.xlsx"
    with file_book.FileBook(path) as on_disk, DraftFiles(tmp_path / "file") as drafts:
        expected = run_book(on_disk, "partner.xlsx", AS_OF, drafts=drafts, run_at=RUN_AT)
        on_disk.save(out, ready=drafts.close)
    double = make_book(sheets, name="partner.xlsx", fullname=str(path))
    report, _, _ = button.run_live_book(LiveBook(double), as_of=AS_OF, run_at=RUN_AT)
    assert report.to_dict() == expected.to_dict()
    with file_book.FileBook(out) as written:
        assert written.sheet_names() == [s.name for s in double.sheets]
        for name in written.sheet_names():
            assert _normal_rows(sheet_rows(double, name)) == _normal_rows(written.read_rows(name)), name


def test_a_second_run_finds_its_columns_and_ledger_again(tmp_path: Path) -> None:
    sheets = tiny_sheets()
    reference = MemoryBook(sheets)
    double = make_book(sheets, name="p.xlsx", fullname=str(tmp_path / "p.xlsx"))
    for run in (1, 2):
        expected = run_book(reference, "p.xlsx", AS_OF, run_at=RUN_AT)
        got = run_book(LiveBook(double), "p.xlsx", AS_OF, run_at=RUN_AT)
        assert got.to_dict() == expected.to_dict(), run
        for name in reference.sheet_names():
            assert _normal_rows(sheet_rows(double, name)) == _normal_rows(reference.sheets[name]), (run, name)
    ledger = sheet_rows(double, "Milestone Ledger")
    assert len(ledger) > 1 and len({tuple(r) for r in ledger}) == len(ledger)  # nothing appended twice
    assert len(sheet_rows(double, "Run Log")) == 3
    header = sheet_rows(double, "Associations")[0]
    assert header.count("Check Result") == 1 and header.count("Consent Draft") == 1


def test_live_run_is_bulk(sample_sheets: dict[str, list[list[Any]]], tmp_path: Path) -> None:
    double = make_book(sample_sheets, name="partner.xlsx", fullname=str(tmp_path / "partner.xlsx"))
    button.run_live_book(LiveBook(double), as_of=AS_OF, run_at=RUN_AT)
    reads = calls(double, "read")
    data_sheets = ("Customers", "Associations", "Usage")
    for name in data_sheets:
        rows, width = len(sample_sheets[name]), len(sample_sheets[name][0])
        mine = [r for r in reads if r[1] == name]
        # one bulk read of the whole sheet; the only other read is the header row, to place tool columns
        assert [r[3] for r in mine if r[3] > width] == [rows * width], name
        assert len(mine) <= 3, name
        writes = calls(double, "write", name)
        assert 1 <= len(writes) <= 3, name  # new headers + one block of tool columns
    usage_rows = len(sample_sheets["Usage"]) - 1
    assert len(double._calls) < 200 + usage_rows / 20


def test_excel_typed_values_give_the_same_findings() -> None:
    """Excel hands over floats for whole numbers and datetimes for dates; text files give int and ISO text."""

    def excel(value: Any) -> Any:
        if isinstance(value, int):
            return float(value)
        if isinstance(value, str) and len(value) in (7, 10) and value[:4].isdigit() and value[4] == "-":
            parts = [int(p) for p in value.split("-")] + [1]
            return dt.datetime(parts[0], parts[1], parts[2])
        return value

    sheets_text = tiny_sheets()
    sheets_excel = {k: [[excel(v) for v in row] for row in rows] for k, rows in sheets_text.items()}
    memory = MemoryBook(sheets_text)
    double = make_book(sheets_excel)
    double._sheets[0]._cells[(2, 6)] = "ana@contoso.com"  # keep the stored text, not a parsed date
    expected = run_book(memory, "p.xlsx", AS_OF, run_at=RUN_AT)
    got = run_book(LiveBook(double), "p.xlsx", AS_OF, run_at=RUN_AT)
    key = [(f.sheet, f.row, f.column, f.code) for f in expected.findings]
    assert [(f.sheet, f.row, f.column, f.code) for f in got.findings] == key
    assert ("Associations", 2, None, "association-conflict") in {(s, r, None, c) for s, r, _, c in key}
    assocs = sheet_rows(double, "Associations")
    conflicts_with = assocs[0].index("Conflicts With")
    assert assocs[1][conflicts_with] == "+C2" and assocs[2][conflicts_with] == "@C1"
    assert sheet_rows(double, "Milestone Ledger")[1][0] == "@C1"
    assert formulas(double) == []


# ------------------------------------------------------------------------------------------- the button


@pytest.fixture()
def caller(monkeypatch: pytest.MonkeyPatch) -> Any:
    def install(book: Any) -> None:
        def fake_caller(cls: Any) -> Any:
            if isinstance(book, Exception):
                raise book
            return book

        monkeypatch.setattr(xw.Book, "caller", classmethod(fake_caller))

    return install


def test_button_runs_the_engine_and_reports_in_a_message_box(
    sample_sheets: dict[str, list[list[Any]]], tmp_path: Path, caller: Any
) -> None:
    double = make_book(sample_sheets, name="partner.xlsx", fullname=str(tmp_path / "partner.xlsx"))
    caller(double)
    cpor_excel.main()  # what RunPython runs
    (prompt, title), = double.app._alerts  # fmt: skip
    reference = run_book(MemoryBook(sample_sheets), "partner.xlsx", dt.date.today(), write=False)
    counts = reference.counts()
    assert title == button.TITLE
    assert f"{counts['errors']} errors ({counts['conflicts']} association conflicts)" in prompt
    drafts = default_drafts_dir(tmp_path / "partner.xlsx")
    assert str(drafts) in prompt and any(drafts.glob("*.eml"))
    assert "CPOR Report" in live_sheets(double)
    assert calls(double, "save") == []
    assert (double.app.screen_updating, double.app.calculation) == (True, "automatic")


def live_sheets(book: Book) -> list[str]:
    return [s.name for s in book.sheets]


def test_an_unsaved_book_drafts_into_documents(
    sample_sheets: dict[str, list[list[Any]]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "Documents").mkdir()
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path))
    double = make_book(sample_sheets, name="Book1", fullname="Book1")
    report, folder, note = button.run_live_book(LiveBook(double), as_of=AS_OF, run_at=RUN_AT)
    assert folder == tmp_path / "Documents" / "Book1 drafts"
    assert report.counts()["drafts"] > 0 and any(folder.glob("*.eml"))
    assert "no folder on this computer" in button.summary(report, folder, note)
    assert button.book_path("https://contoso.sharepoint.com/sites/x/partner.xlsx") is None


def test_a_cannot_run_error_becomes_a_message_box(caller: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    double = make_book({"Customers": [["Tenant ID"]]})
    caller(double)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise CporError("Cannot write consent drafts into X: choose another folder")

    monkeypatch.setattr("cpor_excel.run.run_book", refuse)
    button.main()
    assert double.app._alerts == [
        ("Cannot write consent drafts into X: choose another folder", button.FAILED_TITLE)
    ]


def test_an_unexpected_error_is_one_line_and_the_traceback_is_kept(
    caller: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    double = make_book({"Customers": [["Tenant ID"]]})
    caller(double)
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path))

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("two\nlines")

    monkeypatch.setattr("cpor_excel.run.run_book", crash)
    button.main()
    (prompt, title), = double.app._alerts  # fmt: skip
    assert title == button.FAILED_TITLE
    assert (
        "\n" not in prompt and "Traceback" not in prompt and prompt.startswith("Unexpected error: KeyError")
    )
    log = tmp_path / "cpor-excel-button-error.log"
    assert str(log) in prompt and "Traceback" in log.read_text()
    assert double.app.screen_updating is True


def test_a_protected_sheet_is_named_in_the_message(caller: Any) -> None:
    double = make_book(tiny_sheets())
    double.sheets["Usage"]._protected = True
    caller(double)
    button.main()
    ((prompt, title),) = double.app._alerts
    assert title == button.FAILED_TITLE
    assert "'Usage'" in prompt and "Unprotect Sheet" in prompt and "\n" not in prompt
    assert calls(double, "save") == []


def test_without_a_calling_workbook_there_is_no_traceback(
    caller: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    caller(RuntimeError("Could not find the calling book"))
    button.main()  # no Excel here: xw.apps.active fails too, so the message goes to stderr
    err = capsys.readouterr().err
    assert err.startswith("Error: No workbook to check") and "Traceback" not in err


def test_bad_data_is_findings_not_a_failure(caller: Any) -> None:
    double = make_book({"Customers": [["Tenant ID"], ["not a guid"]], "Associations": [["Claim ID"]]})
    caller(double)
    button.main()
    (prompt, title), = double.app._alerts  # fmt: skip
    assert title == button.TITLE and "errors" in prompt
    report = sheet_rows(double, "CPOR Report")
    assert ["ERROR", "missing-sheet"] in [r[:2] for r in report]


# ----------------------------------------------------------------------------------------------- scale


def test_a_large_usage_sheet_is_written_in_a_handful_of_calls() -> None:
    n = 200_000
    results = ["OK"] * n
    for i in range(0, n, 250):
        results[i] = "WARNING"
    notes = [
        "" if r == "OK" else "usage-above-licences: 12 active users exceed 10 paid units" for r in results
    ]
    book = make_book({"Usage": [["Tenant ID"], *[[TENANT_A] for _ in range(n)]]})
    live = LiveBook(book)
    start = time.perf_counter()
    live.set_columns("Usage", ["Check Result", "Check Notes"], list(range(2, n + 2)), [results, notes])
    elapsed = time.perf_counter() - start
    writes = calls(book, "write")
    assert len(writes) == 2  # the two headers, then one block of 400,000 cells
    assert len(calls(book, "color")) <= 1 + n / 250 / 10
    print(f"set_columns on {n} rows through the double: {elapsed:.2f}s, {len(book._calls)} calls")


def test_the_dashboard_is_written_as_cells_and_excel_charts_replacing_the_last_one() -> None:
    from cpor_excel.io.dashboard import grid, lay_out
    from cpor_excel.model.dashboard import Chart as ChartData
    from cpor_excel.model.dashboard import Dashboard, Series, Table

    board = Dashboard(
        "CPOR Dashboard",
        ["As of 2025-11-30: 1 error."],
        [
            ChartData("Claims by status", ["Draft", "Approved"], [Series("Claims", [1, 4])], horizontal=True),
            ChartData("Milestones per month", ["2025-10", "2025-11"], [Series("Milestones reached", [0, 2])]),
        ],
        [Table("Needs action now", ["Claim ID", "Due"], [["C-1", "2025-12-01"]])],
    )
    book = make_book({"Associations": [["Claim ID"], ["C-1"]]})
    live = LiveBook(book)
    live.replace_dashboard("Dashboard", board)
    live.replace_dashboard("Dashboard", board)  # a second run replaces, never adds
    layout = lay_out(board, "Dashboard")
    expected = grid(layout)
    assert sheet_rows(book, "Dashboard") == expected
    assert next(r for r in expected if r[0] == "C-1")[1] == "2025-12-01"  # text stays text, not a date
    drawn = charts(book, "Dashboard")
    assert [kind for _, _, kind in drawn] == ["bar_clustered", "column_clustered"]
    sources = [source for _, source, _ in drawn]
    for (chart, placement), source in zip(layout.charts, sources, strict=True):
        first, last = placement.header_row, placement.header_row + len(chart.categories)
        assert source == f"$A${first}:${'ABC'[len(chart.series)]}${last}"
    (left1, top1, width1, _), (left2, top2, _, _) = (box for box, _, _ in drawn)
    assert top1 == top2 and left2 >= left1 + width1
    assert live_sheets(book)[-1] == "Dashboard"


def test_the_button_colours_results_as_the_file_writer_does() -> None:
    from cpor_excel.io.looks import RESULT_LOOKS

    assert {level: bytes(rgb).hex().upper() for level, rgb in RESULT_COLOURS.items()} == {
        level: look.fill for level, look in RESULT_LOOKS.items()
    }

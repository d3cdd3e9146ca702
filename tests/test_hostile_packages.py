"""Packages whose declared or padded size is far beyond their real content (issue 18): a sheet stored
uncompressed with padding, shared strings no cell uses, a format applied to whole columns as millions of
empty styled cells. A run reads them in time and memory proportional to their real content, keeps every
byte of the user's (formats included), and never writes what it would itself refuse to read back."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from cpor_excel.cli import main
from cpor_excel.model.headers import column_index
from cpor_excel.run import check_workbook
from tests.conftest import AS_OF
from tests.hostile_books import (
    padded_shared_strings,
    padded_sheet,
    rewrite,
    sheet_part,
    styled_empty_cells,
    unused_shared_strings,
)

DAY = AS_OF.isoformat()

MEASURED = """
import json, resource, sys, time
from cpor_excel.cli import main
from cpor_excel.model.headers import column_index
started = time.perf_counter()
try:
    main(sys.argv[2:])
except SystemExit as done:
    code = done.code
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "seconds": time.perf_counter() - started,
               "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}, out)
"""


def measured(*args: str, stats: Path) -> dict[str, float]:
    """Run the CLI in a fresh process; its exit code, seconds and peak memory (MiB)."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURED, str(stats), *args], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    return json.loads(stats.read_text())


def keys(path: Path) -> set[tuple[str, int | None, str | None, str]]:
    return {(f.sheet, f.row, f.column, f.code) for f in check_workbook(path, as_of=AS_OF).findings}


# --- padding --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stored", "padding"), [(True, 12 * 1024**2), (False, 12 * 1024**2)])
def test_a_padded_sheet_is_written_so_that_it_reads_back(
    sample_book, tmp_path: Path, stored: bool, padding: int
) -> None:
    """Stored 1:1, or deflated by a fast deflater just under the bomb check's ratio, the padding passes
    every check; deflated well it shrinks a thousandfold, which the tool's own bomb check refuses: the run
    must not turn the partner's file into one it refuses from then on."""
    book = padded_sheet(sample_book[0], tmp_path / "partner.xlsx", "Customers", padding, stored=stored)
    assert CliRunner().invoke(main, ["check", str(book), "--as-of", DAY]).exit_code == 1
    expected = keys(book)
    assert ("Usage", None, None, "missing-sheet") not in expected and expected

    first = CliRunner().invoke(main, ["run", str(book), "--as-of", DAY])
    assert first.exit_code == 1, first.output
    again = CliRunner().invoke(main, ["check", str(book), "--as-of", DAY])
    assert again.exit_code == 1, again.stderr  # read back by the tool that wrote it
    assert keys(book) == expected
    second = CliRunner().invoke(main, ["run", str(book), "--as-of", DAY])
    assert second.exit_code == 1, second.stderr
    with zipfile.ZipFile(book) as package:
        assert package.testzip() is None
        info = package.getinfo(sheet_part(sample_book[0], "Customers"))
        assert info.file_size >= padding  # the padding is the user's: kept


# --- shared strings ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def unused_strings(sample_book, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("strings")
    return unused_shared_strings(sample_book[0], folder / "partner.xlsx", 300 * 1024**2)


def test_shared_strings_no_cell_uses_cost_no_memory(
    sample_book, unused_strings: Path, tmp_path: Path
) -> None:
    """300 MB of shared strings deflated about 115:1 (under every ratio limit), used by no cell: a run's
    peak memory stays that of the same workbook without them."""
    plain = tmp_path / "plain.xlsx"
    shutil.copy(sample_book[0], plain)
    base = measured("run", str(plain), "--out", str(tmp_path / "plain-out.xlsx"), "--as-of", DAY,
                    "--drafts", str(tmp_path / "d1"), stats=tmp_path / "base.json")  # fmt: skip
    padded = measured("run", str(unused_strings), "--out", str(tmp_path / "out.xlsx"), "--as-of", DAY,
                      "--drafts", str(tmp_path / "d2"), stats=tmp_path / "padded.json")  # fmt: skip
    assert base["code"] == padded["code"] == 1
    assert padded["peak_mib"] < base["peak_mib"] + 100, (base, padded)
    assert keys(tmp_path / "out.xlsx") == keys(tmp_path / "plain-out.xlsx")
    with zipfile.ZipFile(unused_strings) as before, zipfile.ZipFile(tmp_path / "out.xlsx") as after:
        assert after.getinfo("xl/sharedStrings.xml").CRC == before.getinfo("xl/sharedStrings.xml").CRC


def test_shared_strings_the_cells_use_are_read_among_unused_ones(sample_book, tmp_path: Path) -> None:
    """A workbook saved with shared strings (as Excel saves), followed by 100 MB of texts no cell uses:
    the same findings as without them, and the tool's columns found by their shared-string headers."""
    import openpyxl

    plain = tmp_path / "plain.xlsx"
    openpyxl.load_workbook(sample_book[0]).save(plain)  # openpyxl writes shared strings
    padded = padded_shared_strings(plain, tmp_path / "padded.xlsx", 100 * 1024**2)
    assert keys(padded) == keys(plain)
    out = tmp_path / "out.xlsx"
    assert CliRunner().invoke(main, ["run", str(padded), "--out", str(out), "--as-of", DAY]).exit_code == 1
    again = CliRunner().invoke(main, ["run", str(out), "--as-of", DAY])
    assert again.exit_code == 1, again.stderr
    assert keys(out) == keys(plain)
    header = _header(out, sheet_part(out, "Associations"))
    assert header.count("Check Result") == 1


# --- whole-column formats -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def styled_book(sample_book, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample with a format on columns A:F of Usage down to row 1,048,576: 6.3 million cells."""
    folder = tmp_path_factory.mktemp("styled")
    return styled_empty_cells(sample_book[0], folder / "partner.xlsx", "Usage", columns=6)


def _styled_cells(path: Path, part: str) -> int:
    with zipfile.ZipFile(path) as package, package.open(part) as stream:
        count, tail = 0, b""
        while chunk := stream.read(1 << 24):
            data = tail + chunk
            cut = data.rfind(b">") + 1
            count += len(re.findall(rb'<c r="[A-Z]+\d+" s="\d+"/>', data[:cut]))
            tail = data[cut:]
    return count


def test_millions_of_empty_styled_cells_cost_about_what_the_values_cost(
    sample_book, styled_book: Path, tmp_path: Path
) -> None:
    plain = tmp_path / "plain.xlsx"
    shutil.copy(sample_book[0], plain)
    base = measured("run", str(plain), "--out", str(tmp_path / "plain-out.xlsx"), "--as-of", DAY,
                    "--drafts", str(tmp_path / "d1"), stats=tmp_path / "base.json")  # fmt: skip
    out = tmp_path / "out.xlsx"
    styled = measured("run", str(styled_book), "--out", str(out), "--as-of", DAY,
                      "--drafts", str(tmp_path / "d2"), stats=tmp_path / "styled.json")  # fmt: skip
    assert base["code"] == styled["code"] == 1
    assert styled["peak_mib"] < base["peak_mib"] * 1.5 + 64, (base, styled)
    assert styled["seconds"] < base["seconds"] * 3 + 10, (base, styled)

    # the same findings; the tool's columns after the formatted ones; every format kept
    shifted = {(s, r, c, code) for s, r, c, code in keys(tmp_path / "plain-out.xlsx")}
    assert keys(out) == shifted
    part = sheet_part(styled_book, "Usage")
    assert _styled_cells(out, part) >= _styled_cells(styled_book, part) - 2  # G1/H1 headers took no cell
    header = _header(out, part)
    assert header[:6] == ["Tenant ID", "Workload", "Month", "Active Users", "Paid Units", None]
    assert header[6:8] == ["Check Result", "Check Notes"]


def _header(path: Path, part: str) -> list[str | None]:
    with zipfile.ZipFile(path) as package, package.open(part) as stream:
        head = stream.read(1 << 16)
    row = re.search(rb'<row r="1"[^>]*>(.*?)</row>', head, re.S)
    assert row is not None
    cells: list[str | None] = []
    for cell in re.finditer(rb'<c r="([A-Z]+)1"[^>]*?(?:/>|>(.*?)</c>)', row.group(1), re.S):
        text = re.search(rb"<t[^>]*>(.*?)</t>", cell.group(2) or b"")
        cells.append(text.group(1).decode() if text else None)
    return cells


def test_shared_strings_claiming_billions_of_texts_are_refused_not_a_crash(
    sample_book, tmp_path: Path
) -> None:
    """calamine reserves room for the declared count of shared strings at once and aborts the process
    when it cannot: a few kilobytes claiming four billion texts must be exit 3, not a dead process."""
    book = unused_shared_strings(sample_book[0], tmp_path / "small.xlsx", 20_000)
    claim = tmp_path / "partner.xlsx"
    rewrite(
        book,
        claim,
        {
            "xl/sharedStrings.xml": lambda xml: iter(
                [re.sub(rb'uniqueCount="\d+"', b'uniqueCount="4000000000"', xml)]
            )
        },
    )
    for command in ("check", "run"):
        done = subprocess.run(
            [sys.executable, "-m", "cpor_excel", command, str(claim), "--as-of", DAY],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 3, done.stderr[-2000:]
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and "shared strings" in lines[0]


def test_single_cells_set_in_a_sheet_of_styled_empty_cells_keep_every_format(
    styled_book: Path, tmp_path: Path
) -> None:
    """An import sets single cells in the Usage sheet (not whole columns): the writer edits that sheet
    the general way, from its original part, and every formatted cell stays."""
    book = tmp_path / "partner.xlsx"
    shutil.copy(styled_book, book)
    head = CalamineWorkbook.from_path(str(book)).get_sheet_by_name("Usage").to_python(nrows=2)
    tenant, workload, month, active, paid = head[1][:5]
    export = tmp_path / "usage.csv"
    export.write_text(
        "CustomerTenantId,WorkloadName,Month,MonthlyActiveUsers,PaidAvailableUnits\n"
        f"{tenant},{workload},{month:%Y-%m},{int(active) + 2},{int(paid)}\n"
    )
    result = CliRunner().invoke(main, ["import-usage", str(export), str(book)])
    assert result.exit_code in (0, 1), result.output
    after = CalamineWorkbook.from_path(str(book)).get_sheet_by_name("Usage").to_python(nrows=2)
    assert after[1][3] == active + 2
    part = sheet_part(book, "Usage")
    assert _styled_cells(book, part) == _styled_cells(styled_book, part)


def test_a_format_reaching_past_the_tools_columns_keeps_every_row_in_column_order(
    sample_book, tmp_path: Path
) -> None:
    """Whole columns A:J formatted after a first run (the tool's columns are G:H): the empty cells after the
    tool's in every row are the user's, and the tool's new cells go before them, not after."""
    first = tmp_path / "first.xlsx"
    assert (
        CliRunner().invoke(main, ["run", str(sample_book[0]), "--out", str(first), "--as-of", DAY]).exit_code
        == 1
    )
    book = styled_empty_cells(first, tmp_path / "partner.xlsx", "Usage", columns=10)
    part = sheet_part(book, "Usage")
    before = _styled_cells(book, part)
    assert CliRunner().invoke(main, ["run", str(book), "--as-of", DAY]).exit_code == 1
    assert _styled_cells(book, part) >= before
    with zipfile.ZipFile(book) as package, package.open(part) as stream:
        head = stream.read(1 << 22)
    for row in re.findall(rb"<row [^>]*>(.*?)</row>", head, re.S)[:2000]:
        columns = [column_index(m.decode()) for m in re.findall(rb'<c r="([A-Z]+)\d+"', row)]
        assert columns == sorted(columns) and len(set(columns)) == len(columns)
    assert keys(book) == keys(first)

"""Every kind of workbook the tool writes opens in Excel without repair: the shared validator
(``../shared/ooxml/validate.py --diff INPUT OUTPUT``, as strict as Excel) finds no new `error` in it.

`run` (first and second run), `new`, `sample`, `import-usage`, `excel-workbook` (.xlsm), the workbooks a
`batch` writes and its report; `check` writes nothing. The real-world workbooks the patch writer writes are
checked in test_realworld_write.py. Skips when ../shared is absent."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from ooxml_validator import diff_command, new_errors, validator

from cpor_excel.cli import main
from tests.conftest import AS_OF


@pytest.fixture(autouse=True)
def _needs_the_validator() -> None:
    validator()


def cli(*args: str) -> None:
    """Run a command in-process; it must have run (exit 0, or 1 for findings)."""
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code in (0, 1), result.output


@pytest.fixture(scope="module")
def runs(sample_book, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The sample, its first run and a second run a month later (with the same workbook as input)."""
    source, _ = sample_book
    out = tmp_path_factory.mktemp("runs")
    first, second = out / "first.xlsx", out / "second.xlsx"
    cli("run", str(source), "--out", str(first), "--as-of", AS_OF.isoformat(), "--limit", "0")
    cli("run", str(first), "--out", str(second), "--as-of", "2025-12-31", "--limit", "0")
    return source, first, second


def test_a_first_run_adds_no_error(runs: tuple[Path, Path, Path]) -> None:
    source, first, _ = runs
    assert new_errors(source, first) == []


def test_a_second_run_adds_no_error(runs: tuple[Path, Path, Path]) -> None:
    _, first, second = runs
    assert new_errors(first, second) == []


def test_the_validator_command_agrees(runs: tuple[Path, Path, Path]) -> None:
    source, first, _ = runs
    done = diff_command(source, first)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "NEW in output" in done.stdout


def test_the_validator_catches_what_excel_would_repair(runs: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """The harness can fail: a run's output with a cell pointing at a style that does not exist is caught."""
    import zipfile

    _, first, _ = runs
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(first) as src, zipfile.ZipFile(broken, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'<c r="A2"', b'<c r="A2" s="9999"', 1)
            dst.writestr(info, data)
    assert new_errors(first, broken)


def test_check_writes_nothing(sample_book, tmp_path: Path) -> None:
    source, _ = sample_book
    book = tmp_path / "partner.xlsx"
    shutil.copy2(source, book)
    before = book.read_bytes(), book.stat().st_mtime_ns
    cli("check", str(book), "--as-of", AS_OF.isoformat(), "--limit", "0")
    assert (book.read_bytes(), book.stat().st_mtime_ns) == before
    assert [p.name for p in tmp_path.iterdir()] == ["partner.xlsx"]


def test_new_and_sample_workbooks_have_no_error(tmp_path: Path) -> None:
    cli("new", str(tmp_path / "new.xlsx"))
    cli("sample", str(tmp_path / "sample.xlsx"), "--customers", "12")
    assert new_errors(None, tmp_path / "new.xlsx") == []
    assert new_errors(None, tmp_path / "sample.xlsx") == []


def test_a_run_on_a_new_workbook_adds_no_error(tmp_path: Path) -> None:
    """openpyxl's write-only template (empty styled rows down to row 5000, drop-downs) patched by a run."""
    cli("new", str(tmp_path / "new.xlsx"))
    cli("run", str(tmp_path / "new.xlsx"), "--out", str(tmp_path / "run.xlsx"), "--as-of", AS_OF.isoformat())
    assert new_errors(tmp_path / "new.xlsx", tmp_path / "run.xlsx") == []


def test_the_macro_workbook_has_no_error(tmp_path: Path) -> None:
    pytest.importorskip("xlwings")
    cli("excel-workbook", str(tmp_path / "cpor_excel.xlsm"))
    cli(
        "run", str(tmp_path / "cpor_excel.xlsm"), "--out", str(tmp_path / "run.xlsm"), "--as-of", "2025-11-30"
    )
    assert new_errors(None, tmp_path / "cpor_excel.xlsm") == []
    assert new_errors(tmp_path / "cpor_excel.xlsm", tmp_path / "run.xlsm") == []


def test_import_usage_adds_no_error(sample_book, tmp_path: Path) -> None:
    from python_calamine import CalamineWorkbook

    source, _ = sample_book
    book = CalamineWorkbook.from_path(str(source))
    tenant = book.get_sheet_by_name("Customers").to_python()[1][0]
    book.close()
    export = tmp_path / "usage.csv"
    export.write_text(
        "CustomerTenantId,WorkloadName,Month,PaidAvailableUnits,MonthlyActiveUsers\r\n"
        f"{tenant},Exchange Online,2025-12,400,320\r\n{tenant},Microsoft Teams,2025-12,400,200\r\n",
        encoding="utf-8",
    )
    cli("import-usage", str(export), str(source), "--out", str(tmp_path / "imported.xlsx"))
    assert new_errors(source, tmp_path / "imported.xlsx") == []


def test_batch_workbooks_and_report_have_no_error(sample_book, tmp_path: Path) -> None:
    source, _ = sample_book
    share = tmp_path / "share"
    share.mkdir()
    shutil.copy2(source, share / "north.xlsx")
    shutil.copy2(source, share / "south.xlsx")  # the same claims: conflicts between the two workbooks
    cli(
        "batch",
        str(share),
        "--jobs",
        "1",
        "--as-of",
        AS_OF.isoformat(),
        "--report",
        str(tmp_path / "out/cpor"),
    )
    for name in ("north.xlsx", "south.xlsx"):
        assert new_errors(source, share / name) == [], name
    assert new_errors(None, tmp_path / "out" / "cpor.xlsx") == []

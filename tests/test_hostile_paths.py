"""Paths a partner or an unlucky share can hand the tool (issue 18): `--out` naming a folder or another
format, a file it may not read, a FIFO or a folder named like a workbook, a workbook reached through a
symlink, one workbook hard-linked twice into a batch. Each is a real file-system object, not a mock."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cpor_excel.batch.run import run_batch
from cpor_excel.cli import main
from cpor_excel.errors import UsageError
from cpor_excel.run import check_workbook, run_workbook
from tests.conftest import AS_OF

DAY = AS_OF.isoformat()
POSIX = pytest.mark.skipif(os.name != "posix", reason="POSIX file-system objects")


@pytest.fixture
def book(sample_book, tmp_path: Path) -> Path:
    """A copy of the generated sample workbook in its own folder."""
    path = tmp_path / "partner.xlsx"
    shutil.copy(sample_book[0], path)
    return path


def one_error_line(result: Result, exit_code: int) -> str:
    """The run's only stderr line (an `Error:` line), once the exit code is as expected."""
    assert result.exit_code == exit_code, (result.output, result.exception)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


# --- --out --------------------------------------------------------------------------------------------


def test_out_naming_a_folder_is_bad_usage_and_writes_nothing(book: Path, tmp_path: Path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    before = book.read_bytes()
    result = CliRunner().invoke(main, ["run", str(book), "--out", str(folder), "--as-of", DAY])
    line = one_error_line(result, 2)
    assert "--out" in line and "folder" in line
    assert book.read_bytes() == before
    assert list(folder.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["partner.xlsx", "results"]  # no drafts, no temp
    with pytest.raises(UsageError):
        run_workbook(book, out=folder, as_of=AS_OF)


@pytest.mark.parametrize("out_name", ["result.csv", "result.xlsm", "result", "result.xlsx.bak"])
def test_out_in_another_format_than_the_workbook_is_bad_usage(
    book: Path, tmp_path: Path, out_name: str
) -> None:
    """Excel refuses a package whose extension does not match its content type (an .xlsx written as .xlsm,
    or anything written as .csv): such a file is never made."""
    out = tmp_path / out_name
    result = CliRunner().invoke(main, ["run", str(book), "--out", str(out), "--as-of", DAY])
    line = one_error_line(result, 2)
    assert ".xlsx" in line
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["partner.xlsx"]


def test_out_with_the_workbooks_extension_in_other_case_is_fine(book: Path, tmp_path: Path) -> None:
    out = tmp_path / "RESULT.XLSX"
    result = CliRunner().invoke(main, ["run", str(book), "--out", str(out), "--as-of", DAY])
    assert result.exit_code == 1, result.output  # the sample has planted errors
    assert zipfile.is_zipfile(out)


# --- files the tool may not read ------------------------------------------------------------------------


def _run_without_read_permission(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a process that file permissions apply to: as root, one without the capabilities that
    override them (setpriv drops them from the bounding set before exec)."""
    command = [sys.executable, "-m", "cpor_excel", *args]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: permissions cannot be taken away")
        command = [setpriv, "--bounding-set=-dac_override,-dac_read_search", *command]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


@POSIX
@pytest.mark.parametrize("command", ["check", "run"])
def test_an_unreadable_workbook_is_one_error_line_and_exit_3(book: Path, command: str) -> None:
    before = book.read_bytes()
    book.chmod(0)
    try:
        done = _run_without_read_permission([command, book.name, "--as-of", DAY], book.parent)
    finally:
        book.chmod(0o644)
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Usage:" not in done.stderr, done.stderr
    assert "permission" in lines[0].lower() and book.name in lines[0]
    assert book.read_bytes() == before
    assert sorted(p.name for p in book.parent.iterdir()) == ["partner.xlsx"]


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


@POSIX
@pytest.mark.parametrize("command", ["check", "run"])
def test_a_fifo_named_like_a_workbook_fails_at_once(tmp_path: Path, command: str) -> None:
    """A named pipe blocks whoever opens it for reading until a writer comes: the tool must not open it."""
    pipe = _fifo(tmp_path / "partner.xlsx")
    done = subprocess.run(
        [sys.executable, "-m", "cpor_excel", command, str(pipe), "--as-of", DAY],
        capture_output=True,
        text=True,
        timeout=20,  # a hang fails the test instead of the suite
    )
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "not a regular file" in lines[0]
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)


@pytest.mark.parametrize("command", ["check", "run"])
def test_a_folder_named_like_a_workbook_is_one_error_line(tmp_path: Path, command: str) -> None:
    folder = tmp_path / "partner.xlsx"
    folder.mkdir()
    line = one_error_line(CliRunner().invoke(main, [command, str(folder), "--as-of", DAY]), 3)
    assert "folder" in line


@POSIX
def test_a_batch_over_a_share_with_a_fifo_runs_the_real_workbooks(sample_book, tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    shutil.copy(sample_book[0], share / "partner.xlsx")
    _fifo(share / "pipe.xlsx")
    done = subprocess.run(
        [sys.executable, "-m", "cpor_excel", "batch", str(share), "--as-of", DAY, "--json"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 1, done.stderr  # the sample's planted errors, nothing worse
    assert "partner.xlsx" in done.stdout
    assert stat.S_ISFIFO(os.lstat(share / "pipe.xlsx").st_mode)


# --- symlinks and hard links ---------------------------------------------------------------------------


@POSIX
def test_a_workbook_reached_through_a_symlink_is_updated_where_it_lives(book: Path, tmp_path: Path) -> None:
    """The link stays a link; the real file gets the results (a copy replacing the link would leave the
    partner's real workbook without them)."""
    links = tmp_path / "links"
    links.mkdir()
    link = links / "partner.xlsx"
    link.symlink_to(book)
    before = book.read_bytes()
    result = CliRunner().invoke(main, ["run", str(link), "--as-of", DAY, "--drafts", str(tmp_path / "d")])
    assert result.exit_code == 1, result.output
    assert link.is_symlink() and link.resolve() == book.resolve()
    assert book.read_bytes() != before
    assert check_workbook(book, as_of=AS_OF).findings == check_workbook(link, as_of=AS_OF).findings
    assert "Check Result" in _first_row(book, "Associations")


@POSIX
def test_a_workbook_open_in_excel_is_not_written_through_a_link_to_it(book: Path, tmp_path: Path) -> None:
    """Excel's owner file sits beside the real workbook, not beside a link to it."""
    links = tmp_path / "links"
    links.mkdir()
    link = links / "partner.xlsx"
    link.symlink_to(book)
    (book.parent / f"~${book.name}").write_bytes(b"owner")
    before = book.read_bytes()
    line = one_error_line(CliRunner().invoke(main, ["run", str(link), "--as-of", DAY]), 3)
    assert "open in Excel" in line
    assert book.read_bytes() == before and link.is_symlink()


@POSIX
def test_a_hard_linked_workbook_runs_once_in_a_batch(sample_book, tmp_path: Path) -> None:
    share = tmp_path / "share"
    (share / "team").mkdir(parents=True)
    shutil.copy(sample_book[0], share / "partner.xlsx")
    os.link(share / "partner.xlsx", share / "team" / "partner copy.xlsx")
    result = run_batch([share], as_of=AS_OF, jobs=1, dry_run=True)
    assert len(result.workbooks) == 1
    # a workbook never conflicts with itself
    assert result.conflicts == []


def _first_row(path: Path, sheet: str) -> list[object]:
    from python_calamine import CalamineWorkbook

    reader = CalamineWorkbook.from_path(str(path))
    try:
        return reader.get_sheet_by_name(sheet).to_python(nrows=1)[0]
    finally:
        reader.close()

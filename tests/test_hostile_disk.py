"""A save that runs out of room (issue 18): a real full file system where the test may mount one (a small
tmpfs), and a real per-process file-size limit where it may not. Either way: exit 3, one `Error:` line, the
workbook as it was, no temporary file left beside it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cpor_excel.cli import main
from tests.conftest import AS_OF

DAY = AS_OF.isoformat()


@pytest.fixture
def small_disk(sample_book, tmp_path: Path) -> Iterator[Path]:
    """A tmpfs holding the sample workbook with room for about half a new copy of it (root only)."""
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small file system needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    size_kb = (sample_book[0].stat().st_size * 3 // 2) // 1024
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_while_saving_is_one_error_line_and_the_workbook_is_intact(
    sample_book, small_disk: Path, tmp_path: Path
) -> None:
    book = small_disk / "partner.xlsx"
    shutil.copy(sample_book[0], book)
    before = book.read_bytes()
    args = ["run", str(book), "--as-of", DAY, "--drafts", str(tmp_path / "drafts")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 3, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "no room" in lines[0], result.stderr
    assert book.read_bytes() == before
    assert sorted(p.name for p in small_disk.iterdir()) == ["partner.xlsx"]  # no temp, no lock left


@pytest.mark.skipif(os.name != "posix", reason="POSIX resource limits")
def test_a_file_size_limit_while_saving_is_one_error_line_and_the_workbook_is_intact(
    sample_book, tmp_path: Path
) -> None:
    """Where no file system can be mounted: the same failure from the kernel, through RLIMIT_FSIZE (the
    save's write fails with EFBIG once the new file passes the limit; Python ignores SIGXFSZ)."""
    folder = tmp_path / "share"
    folder.mkdir()
    book = folder / "partner.xlsx"
    shutil.copy(sample_book[0], book)
    before = book.read_bytes()
    limit = book.stat().st_size + 16 * 1024  # the sample's new copy is larger by its results
    script = (
        "import resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))\n"
        "from cpor_excel.cli import main\n"
        "sys.exit(main())\n"
    )
    drafts = tmp_path / "drafts"
    done = subprocess.run(
        [sys.executable, "-c", script, "run", str(book), "--as-of", DAY, "--drafts", str(drafts)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "no room" in lines[0], done.stderr
    assert book.read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["partner.xlsx"]

"""Saving safely: a workbook open in Excel is never written, runs on one workbook wait for each other, and a
failed or killed save leaves the original byte for byte (and its leftovers are cleaned by the next run)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from writer_helpers import excel_like_book

from cpor_excel.errors import UsageError, WorkbookLocked
from cpor_excel.io.file_book import FileBook
from cpor_excel.io.safe_save import (
    atomic_replace,
    ensure_writable,
    lock_path,
    lock_wait,
    owner_file,
    temp_files,
    workbook_lock,
)
from cpor_excel.io.xlsx.patch import XlsxPatch


@pytest.fixture()
def book(tmp_path: Path) -> Path:
    return excel_like_book(tmp_path / "Partner claims.xlsx", {"Usage": [["Tenant ID"], ["t1"]]})


def leftovers(folder: Path) -> list[str]:
    """Files a save may leave behind: temporary files and lock files."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".cpor-tmp", ".lock")))


# --- Excel's owner file ----------------------------------------------------------------------------------


def test_owner_file_exact_name_any_case(book: Path) -> None:
    assert owner_file(book) is None
    owner = book.with_name("~$partner CLAIMS.xlsx")
    owner.write_bytes(b"\x05alice")
    assert owner_file(book) == owner


def test_owner_file_of_a_long_name_with_its_first_characters_replaced(book: Path) -> None:
    owner = book.with_name("~$rtner claims.xlsx")  # Word-style: ~$ over the first two characters
    owner.write_bytes(b"")
    assert owner_file(book) == owner


def test_a_neighbours_truncated_owner_file_is_not_ours(tmp_path: Path) -> None:
    first = excel_like_book(tmp_path / "P1_claims.xlsx", {"S": [["x"]]})
    second = excel_like_book(tmp_path / "P2_claims.xlsx", {"S": [["x"]]})
    (tmp_path / "~$_claims.xlsx").write_bytes(b"")  # could belong to either: neither is blocked by it
    assert owner_file(first) is None and owner_file(second) is None


def test_open_in_excel_is_refused_with_exit_3(book: Path) -> None:
    book.with_name("~$Partner claims.xlsx").write_bytes(b"")
    with pytest.raises(
        WorkbookLocked, match="is open in Excel: close it, or use the Run CPOR checks button"
    ) as err:
        ensure_writable(book)
    assert err.value.exit_code == 3


def test_file_book_never_writes_a_workbook_open_in_excel(book: Path) -> None:
    before = book.read_bytes()
    with FileBook(book) as fb:
        fb.set_cells("Usage", {(2, 1): "x"})
        book.with_name("~$Partner claims.xlsx").write_bytes(b"")
        with pytest.raises(WorkbookLocked):
            fb.save()
    assert book.read_bytes() == before
    assert leftovers(book.parent) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_workbook_is_refused(book: Path) -> None:
    book.chmod(stat.S_IRUSR)
    with pytest.raises(WorkbookLocked, match="read-only"):
        ensure_writable(book)


def test_missing_target_folder_is_said_plainly(tmp_path: Path) -> None:
    with pytest.raises(WorkbookLocked, match="does not exist"):
        ensure_writable(tmp_path / "no such folder" / "out.xlsx")


# --- the lock --------------------------------------------------------------------------------------------


def test_runs_on_one_workbook_wait_for_each_other(book: Path) -> None:
    outcome: list[str] = []

    def second_run() -> None:
        try:
            with workbook_lock(book, timeout=0.2):
                outcome.append("got the lock")
        except WorkbookLocked as err:
            outcome.append(str(err))

    with workbook_lock(book):
        assert lock_path(book).exists()
        thread = threading.Thread(target=second_run)
        thread.start()
        thread.join()
    assert outcome and "another cpor-excel run is using" in outcome[0]
    assert not lock_path(book).exists()  # no stray file after a normal run
    with workbook_lock(book, timeout=0.2):  # free again
        pass


def test_lock_is_shared_between_processes(book: Path) -> None:
    child = textwrap.dedent(
        f"""
        import sys, time
        from cpor_excel.io.safe_save import workbook_lock
        with workbook_lock({str(book)!r}):
            print("LOCKED", flush=True)
            time.sleep(1.5)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "LOCKED"
        with pytest.raises(WorkbookLocked), workbook_lock(book, timeout=0.2):
            pass
        with workbook_lock(book, timeout=30):  # waits for the other run, then proceeds
            pass
    finally:
        process.wait(timeout=30)
    assert not lock_path(book).exists()


# --- atomic replace --------------------------------------------------------------------------------------


def test_atomic_replace_keeps_permissions(book: Path) -> None:
    book.chmod(0o640)
    atomic_replace(book, lambda temp: temp.write_bytes(b"new content"))
    assert book.read_bytes() == b"new content"
    assert stat.S_IMODE(book.stat().st_mode) == 0o640
    assert leftovers(book.parent) == []


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_failed_write_leaves_the_original(book: Path, error: BaseException) -> None:
    before = book.read_bytes()

    def write(temp: Path) -> None:
        temp.write_bytes(b"half a workbook")
        raise error

    with pytest.raises(type(error)):
        atomic_replace(book, write)
    assert book.read_bytes() == before
    assert leftovers(book.parent) == []


def test_failed_patch_save_leaves_the_original(book: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = book.read_bytes()

    def broken_save(self: XlsxPatch, dest: Path) -> None:
        Path(dest).write_bytes(b"PK\x03\x04 partial")
        raise OSError("no space left on device")

    monkeypatch.setattr(XlsxPatch, "save", broken_save)
    with FileBook(book) as fb:
        fb.set_cells("Usage", {(2, 1): "x"})
        with pytest.raises(OSError, match="no space"):
            fb.save()
    assert book.read_bytes() == before
    assert leftovers(book.parent) == []


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_killed_save_leaves_the_original_and_the_next_run_cleans_up(book: Path) -> None:
    before = book.read_bytes()
    child = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from cpor_excel.io.safe_save import atomic_replace

        def write(temp: Path) -> None:
            temp.write_bytes(b"x" * 1_000_000)
            print("WRITING", flush=True)
            time.sleep(60)

        atomic_replace(Path({str(book)!r}), write)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "WRITING"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert book.read_bytes() == before
    assert len(temp_files(book)) == 1  # a killed process cannot clean up after itself
    with FileBook(book) as fb:
        fb.set_cells("Usage", {(2, 1): "after the crash"})
        fb.save()
        assert fb.read_rows("Usage")[1] == ["t1", "after the crash"]
    assert temp_files(book) == [] and leftovers(book.parent) == []


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_a_run_through_a_link_and_a_run_on_the_file_share_one_lock(book: Path, tmp_path: Path) -> None:
    link = tmp_path / "elsewhere" / "link.xlsx"
    link.parent.mkdir()
    link.symlink_to(book)
    with workbook_lock(link):
        assert lock_path(book).exists() and not lock_path(link).exists()
        with (
            pytest.raises(WorkbookLocked, match="another cpor-excel run is using"),
            workbook_lock(book, timeout=0),
        ):
            pass


def test_the_wait_comes_from_the_environment_and_bad_text_there_is_bad_usage(monkeypatch) -> None:
    monkeypatch.setenv("CPOR_LOCK_WAIT", "2.5")
    assert lock_wait() == 2.5 and lock_wait(0) == 0
    monkeypatch.setenv("CPOR_LOCK_WAIT", "soon")
    with pytest.raises(UsageError, match="CPOR_LOCK_WAIT"):
        lock_wait()
    monkeypatch.delenv("CPOR_LOCK_WAIT")
    assert lock_wait() == 10

"""Unlucky timing (issue 18), with real processes: two `run`s on one workbook at once, a second run that
may not wait, and a run killed with SIGKILL while its drafts were being written."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from cpor_excel.cli import main
from cpor_excel.io.safe_save import workbook_lock
from cpor_excel.run import check_workbook
from tests.conftest import AS_OF

DAY = AS_OF.isoformat()
POSIX = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and process handling")


@pytest.fixture(scope="module")
def bigger_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sample workbook big enough that a run lasts a few seconds (and drafts for a while)."""
    from cpor_excel.sample import create_sample

    path = tmp_path_factory.mktemp("bigger") / "partner.xlsx"
    create_sample(path, customers=400, as_of=AS_OF)
    return path


def start_run(book: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cpor_excel", "run", str(book), "--as-of", DAY, "--json", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def rows(path: Path, sheet: str) -> list[list[object]]:
    reader = CalamineWorkbook.from_path(str(path))
    try:
        return reader.get_sheet_by_name(sheet).to_python()
    finally:
        reader.close()


def test_two_runs_at_once_take_turns_and_the_second_builds_on_the_first(
    bigger_book: Path, tmp_path: Path
) -> None:
    """Neither says the healthy workbook is damaged, and the second reads what the first wrote: the
    milestones are recorded once, the Run Log has both runs."""
    alone = tmp_path / "alone" / "partner.xlsx"
    alone.parent.mkdir()
    shutil.copy(bigger_book, alone)
    solo = CliRunner().invoke(main, ["run", str(alone), "--as-of", DAY, "--json"])
    expected = json.loads(solo.stdout)["milestones"]
    assert expected, "the sample should reach milestones"

    book = tmp_path / "shared" / "partner.xlsx"
    book.parent.mkdir()
    shutil.copy(bigger_book, book)
    runs = [start_run(book), start_run(book)]
    outcomes = [run.communicate(timeout=300) for run in runs]
    for run, (_, err) in zip(runs, outcomes, strict=True):
        assert run.returncode == 1, err
        assert "damaged" not in err
    found = [json.loads(out)["milestones"] for out, _ in outcomes]
    assert sorted(map(len, found)) == [0, len(expected)]  # the second run found them in the ledger
    ledger = rows(book, "Milestone Ledger")
    header = ledger[0]
    keys = Counter(
        (row[header.index("Tenant ID")], row[header.index("Workload")], row[header.index("Milestone")])
        for row in ledger[1:]
    )
    assert len(keys) == len(expected) and set(keys.values()) == {1}
    assert len(rows(book, "Run Log")) == 1 + 2
    assert check_workbook(book, as_of=AS_OF).exit_code == 1


def _wait_for(condition, seconds: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return False


@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_run_that_may_not_wait_says_another_run_is_using_the_workbook(
    bigger_book: Path, tmp_path: Path, how: str
) -> None:
    book = tmp_path / "partner.xlsx"
    shutil.copy(bigger_book, book)
    first = start_run(book)
    # the first run holds the workbook from its start (the lock file the message names appears then)
    assert _wait_for(lambda: any(p.name.endswith(".cpor.lock") for p in tmp_path.iterdir()))
    first_out, first_err = first.communicate(timeout=300)
    # while another process holds that lock (this one, as a run holds it: a second run started while the
    # first still ran raced the first's end on a busy machine), a run that may not wait stops at once
    with workbook_lock(book, 0):
        if how == "option":
            second = start_run(book, "--wait", "0")
        else:
            second = start_run(book, env={"CPOR_LOCK_WAIT": "0"})
        _, err = second.communicate(timeout=120)
    assert second.returncode == 3, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    assert "another cpor-excel run is using partner.xlsx" in lines[0] and "damaged" not in lines[0]
    assert first.returncode == 1, first_err
    assert json.loads(first_out)["workbook"] == "partner.xlsx"


def test_a_bad_wait_is_bad_usage(bigger_book: Path, tmp_path: Path) -> None:
    book = tmp_path / "partner.xlsx"
    shutil.copy(bigger_book, book)
    result = CliRunner().invoke(main, ["run", str(book), "--wait", "soon"])
    assert result.exit_code == 2
    result = CliRunner().invoke(main, ["run", str(book), "--as-of", DAY], env={"CPOR_LOCK_WAIT": "soon"})
    assert result.exit_code == 2 and "CPOR_LOCK_WAIT" in result.stderr


@POSIX
def test_a_run_killed_while_drafting_leaves_nothing_behind_after_the_next_run(
    bigger_book: Path, tmp_path: Path
) -> None:
    book = tmp_path / "partner.xlsx"
    drafts = tmp_path / "partner drafts"
    caught = False
    for _ in range(8):  # the drafts' temporary files live for a moment: kill the run inside it
        shutil.copy(bigger_book, book)
        shutil.rmtree(drafts, ignore_errors=True)
        run = start_run(book)

        def drafting(run: subprocess.Popen[str] = run) -> bool:
            try:
                return any(name.startswith(".") for name in os.listdir(drafts))
            except FileNotFoundError:
                return run.poll() is not None

        _wait_for(drafting, 120)
        run.send_signal(signal.SIGKILL)
        run.communicate(timeout=60)
        if run.returncode == -signal.SIGKILL and any(n.startswith(".") for n in os.listdir(drafts)):
            caught = True
            break
    assert caught, "no run was killed while its drafts were being written"
    assert book.read_bytes() == bigger_book.read_bytes()  # killed before its save: the workbook as it was

    result = CliRunner().invoke(main, ["run", str(book), "--as-of", DAY])
    assert result.exit_code == 1, result.output
    assert [n for n in os.listdir(drafts) if n.startswith(".")] == []
    assert all(n.endswith(".eml") for n in os.listdir(drafts))
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_temporary_drafts_of_a_run_still_going_are_kept(bigger_book: Path, tmp_path: Path) -> None:
    """Two workbooks drafting into one folder at once: one run's cleanup never takes the other's drafts
    (a draft whose temporary file vanished would fail that run)."""
    drafts = tmp_path / "drafts"
    books = []
    for name in ("a.xlsx", "b.xlsx"):
        shutil.copy(bigger_book, tmp_path / name)
        books.append(tmp_path / name)
    runs = [start_run(path, "--drafts", str(drafts)) for path in books]
    files = set()
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 1, err
        files |= {draft["file"] for draft in json.loads(out)["drafts"]}
    assert files and files == set(os.listdir(drafts))

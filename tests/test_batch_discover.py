"""Batch plumbing without workbooks: which files a batch covers, how workbooks are named, the executors,
and which other workbooks' claims each workbook is given."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from cpor_excel.batch import executor
from cpor_excel.batch.discover import discover, is_workbook_name, labels
from cpor_excel.batch.executor import batch_executor
from cpor_excel.batch.report import _nice_ceiling, chart_geometry
from cpor_excel.batch.run import shared_claims
from cpor_excel.errors import CporError, NotAWorkbook, UsageError
from cpor_excel.runtime import InlineExecutor


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"PK")
    return path


@pytest.fixture
def share(tmp_path: Path) -> Path:
    root = tmp_path / "share"
    for name in (
        "b.xlsx", "A.xlsm", "notes.txt", "~$b.xlsx", "~WRL0001.tmp", ".~lock.b.xlsx#", "._b.xlsx",
        "sub/c.XLSX", "sub/deeper/d.xlsx", ".hidden/e.xlsx", "sub/.git/f.xlsx", "sub/old.xls", "sub/g.csv",
    ):  # fmt: skip
        touch(root / name)
    return root


def rel(paths: list[Path], root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in paths]


def test_folder_is_searched_recursively_without_junk_or_hidden_folders(share: Path) -> None:
    found = discover([share])
    assert rel(found.workbooks, share) == ["A.xlsm", "b.xlsx", "sub/c.XLSX", "sub/deeper/d.xlsx"]
    assert all(p.is_absolute() for p in found.workbooks)
    # a spreadsheet in a format the tool cannot read is mentioned, not silently left out
    assert [(p.relative_to(share).as_posix(), why.split(",")[0]) for p, why in found.skipped] == [
        ("sub/old.xls", "an Excel 97-2003 .xls file")
    ]


def test_order_does_not_depend_on_argument_order(share: Path) -> None:
    one = discover([share / "sub", share / "b.xlsx", share / "A.xlsm"]).workbooks
    two = discover([share / "A.xlsm", share / "b.xlsx", share / "sub"]).workbooks
    assert one == two
    assert rel(one, share) == ["A.xlsm", "b.xlsx", "sub/c.XLSX", "sub/deeper/d.xlsx"]


def test_a_workbook_reached_twice_is_run_once(share: Path) -> None:
    found = discover([share, share / "b.xlsx", share / "sub" / ".." / "b.xlsx"])
    assert rel(found.workbooks, share).count("b.xlsx") == 1


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_symlinked_workbook_is_run_once(share: Path) -> None:
    (share / "link.xlsx").symlink_to(share / "b.xlsx")
    assert len(discover([share]).workbooks) == 4


def test_glob_patterns_are_expanded(share: Path) -> None:
    found = discover([str(share / "*.xls*")])
    assert rel(found.workbooks, share) == ["A.xlsm", "b.xlsx"]
    deep = discover([str(share / "**" / "*.xlsx")])
    assert rel(deep.workbooks, share) == ["b.xlsx", "sub/deeper/d.xlsx"]  # glob is case-sensitive: c.XLSX


def test_named_junk_files_are_skipped_with_a_reason(share: Path) -> None:
    found = discover([share / "notes.txt", share / "~$b.xlsx", share / "b.xlsx"])
    assert rel(found.workbooks, share) == ["b.xlsx"]
    assert [(p.name, why) for p, why in found.skipped] == [
        ("notes.txt", "not an .xlsx or .xlsm workbook"),
        ("~$b.xlsx", "Excel owner or temporary file"),
    ]


def test_missing_path_and_empty_pattern_stop_the_batch(tmp_path: Path) -> None:
    with pytest.raises(NotAWorkbook, match="does not exist"):
        discover([tmp_path / "nope"])
    with pytest.raises(NotAWorkbook, match="nothing matches"):
        discover([str(tmp_path / "*.xlsx")])


def test_excluded_report_is_not_a_workbook(share: Path) -> None:
    found = discover([share], exclude=[share / "b.xlsx"])
    assert "b.xlsx" not in rel(found.workbooks, share)


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("a.xlsx", True),
        ("a.XLSM", True),
        ("~$a.xlsx", False),
        (".a.xlsx", False),
        ("a.xls", False),
        ("a", False),
    ],
)
def test_workbook_names(name: str, ok: bool) -> None:
    assert is_workbook_name(name) is ok


def test_labels_are_file_names_unless_two_share_one(tmp_path: Path) -> None:
    assert labels([tmp_path / "a" / "x.xlsx", tmp_path / "b" / "y.xlsx"]) == ["x.xlsx", "y.xlsx"]
    assert labels([tmp_path / "a" / "x.xlsx", tmp_path / "b" / "X.xlsx", tmp_path / "b" / "y.xlsx"]) == [
        "a/x.xlsx",
        "b/X.xlsx",
        "y.xlsx",
    ]


# ----------------------------------------------------------------------------------------------- executors


def square(n: int) -> int:
    return n * n


def fail(n: int) -> int:
    raise ValueError(f"bad {n}")


def test_one_job_runs_in_process_and_keeps_errors_in_the_future() -> None:
    with batch_executor(jobs=1) as ex:
        assert isinstance(ex, InlineExecutor)
        assert ex.submit(square, 7).result() == 49
        future = ex.submit(fail, 3)
        with pytest.raises(ValueError, match="bad 3"):
            future.result()


@pytest.mark.slow  # starting two worker processes takes a few seconds
def test_pool_is_capped_at_the_number_of_tasks() -> None:
    with batch_executor(jobs=8, tasks=1) as ex:
        assert isinstance(ex, InlineExecutor)
    with batch_executor(jobs=2, tasks=5) as ex:
        assert isinstance(ex, ProcessPoolExecutor)
        assert sorted(ex.map(square, range(4))) == [0, 1, 4, 9]


def test_bad_job_count_and_unreachable_scheduler_are_clear_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError), batch_executor(jobs=0):
        pass
    monkeypatch.setattr(executor, "CONNECT_TIMEOUT", 1)
    with (
        pytest.raises(CporError, match="cannot reach the Dask scheduler"),
        batch_executor(scheduler="tcp://127.0.0.1:9"),
    ):
        pass


# ------------------------------------------------------------------------------------- the conflict index


def claims(rows: list[tuple[str, int, str, str, str]]) -> pd.DataFrame:
    """(workbook, Excel row, claim, tenant, workload) rows of the phase-1 claims frame."""
    frame = pd.DataFrame(rows, columns=["Workbook", "_row", "Claim ID", "Tenant ID", "Workload"])
    return frame.set_index("_row").rename_axis(None)


def test_each_workbook_gets_only_other_workbooks_rows_for_its_own_customer_workloads() -> None:
    frame = claims(
        [
            ("a.xlsx", 2, "A-1", "t1", "EXO"),
            ("a.xlsx", 3, "A-2", "t2", "EXO"),
            ("b.xlsx", 2, "B-1", "t1", "EXO"),
            ("b.xlsx", 3, "B-2", "t2", "Teams"),
            ("c.xlsx", 5, "C-1", "t1", "EXO"),
            ("c.xlsx", 6, "C-2", "t2", "Teams"),
            ("d.xlsx", 2, "D-1", "t9", "EXO"),
            ("d.xlsx", 3, "D-2", None, "EXO"),
        ]
    )
    shared = shared_claims(frame, ["a.xlsx", "b.xlsx", "c.xlsx", "d.xlsx"])
    got = {wb: sorted(zip(f["Workbook"], f.index, f["Claim ID"], strict=True)) for wb, f in shared.items()}
    assert got == {
        "a.xlsx": [("b.xlsx", 2, "B-1"), ("c.xlsx", 5, "C-1")],
        "b.xlsx": [("a.xlsx", 2, "A-1"), ("c.xlsx", 5, "C-1"), ("c.xlsx", 6, "C-2")],
        "c.xlsx": [("a.xlsx", 2, "A-1"), ("b.xlsx", 2, "B-1"), ("b.xlsx", 3, "B-2")],
    }
    # a workbook left out of phase 2 (unreadable) is no one's "other"
    assert shared_claims(frame, ["a.xlsx", "d.xlsx"]) == {}


# ------------------------------------------------------------------------------------------------ chart


def test_chart_scale_and_bars_follow_the_numbers() -> None:
    assert [_nice_ceiling(v) for v in (0, 1, 3, 7, 10, 11, 48, 120)] == [1, 1, 5, 10, 10, 20, 50, 200]
    months = [
        {"month": "2025-01", "earlier": 4, "this_run": 1, "total": 5},
        {"month": "2025-02", "earlier": 0, "this_run": 0, "total": 0},
        {"month": "2025-03", "earlier": 0, "this_run": 10, "total": 10},
    ]
    chart = chart_geometry(months)
    bars = chart["bars"]
    assert chart["max"] == 10
    heights = [(b["earlier_h"], b["new_h"]) for b in bars]
    assert heights == [(72.0, 18.0), (0.0, 0.0), (0.0, 180.0)]
    assert bars[2]["new_y"] == chart["top"]  # the tallest bar reaches the top of the plot
    assert [b["x"] for b in bars] == sorted(b["x"] for b in bars)

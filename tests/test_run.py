"""`check` and `run` end to end on a generated sample workbook: findings at their cells, what is written back,
idempotence, the original left untouched, JSON, exit codes."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from cpor_excel.cli import main
from cpor_excel.model.columns import LEDGER_HEADER, REPORT_HEADER, RUN_LOG_HEADER
from cpor_excel.run import check_workbook, run_workbook
from tests.conftest import AS_OF


def key(f) -> tuple[str, int | None, str | None, str]:
    return (f.sheet, f.row, f.column, f.code)


def sheet_values(path: Path) -> dict[str, list[list[object]]]:
    book = CalamineWorkbook.from_path(str(path))
    try:
        return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}
    finally:
        book.close()


def column(rows: list[list[object]], header: str) -> dict[int, object]:
    """Excel row number -> value of the column headed ``header``."""
    pos = rows[0].index(header)
    return {i + 1: (r[pos] if pos < len(r) else "") for i, r in enumerate(rows) if i > 0}


def test_check_reports_exactly_the_planted_errors_at_their_cells(sample_book) -> None:
    path, info = sample_book
    before = path.read_bytes()
    report = check_workbook(path, as_of=AS_OF)
    errors = {key(f) for f in report.findings if f.severity.value == "error"}
    assert errors == set(info.planted)
    warnings = {f.code for f in report.findings if f.severity.value == "warning"}
    # the sample's Milestones sheet is the marked example table, and its claims meet the lifecycle's clocks:
    # partner action asked for (never overdue: that would be an error) and approved claims' POEs to refresh
    assert warnings == {"example-program", "action-required", "poe-refresh"}
    assert path.read_bytes() == before
    assert not (path.parent / f"{path.stem} drafts").exists()
    assert report.exit_code == 1


def test_every_finding_with_a_column_in_the_sheet_has_its_a1_cell(sample_book) -> None:
    path, _ = sample_book
    report = check_workbook(path, as_of=AS_OF)
    conflict = [f for f in report.findings if f.code == "association-conflict"]
    assert conflict and all(f.cell == f"C{f.row}" for f in conflict)  # Workload is column C in the sample
    assert all(f.cell for f in report.findings if f.row is not None and f.sheet == "Associations")


def test_run_writes_results_and_leaves_the_original_untouched(sample_book, tmp_path: Path) -> None:
    path, info = sample_book
    before = path.read_bytes()
    out = tmp_path / "result.xlsx"
    report = run_workbook(path, out=out, as_of=AS_OF, drafts_dir=tmp_path / "drafts")
    assert path.read_bytes() == before
    sheets = sheet_values(out)

    for sheet, row, _column, code in info.planted:
        expected = "CONFLICT" if code == "association-conflict" else "ERROR"
        assert column(sheets[sheet], "Check Result")[row] == expected
        assert code in str(column(sheets[sheet], "Check Notes")[row])
    flagged = {(s, r) for s, r, _, _ in info.planted}
    usage_results = column(sheets["Usage"], "Check Result")
    assert {v for r, v in usage_results.items() if ("Usage", r) not in flagged} <= {"OK", "WARNING"}

    assert sheets["CPOR Report"][0] == list(REPORT_HEADER)
    assert len(sheets["CPOR Report"]) - 1 == len(report.findings)
    assert sheets["Milestone Ledger"][0] == list(LEDGER_HEADER)
    assert len(sheets["Milestone Ledger"]) - 1 == len(report.milestones) > 0
    assert sheets["Run Log"][0] == list(RUN_LOG_HEADER)
    assert sheets["Run Log"][1][1:] == [
        AS_OF.isoformat(),
        report.to_dict()["counts"] and sheets["Run Log"][1][2],
        report.counts()["errors"],
        report.counts()["warnings"],
        report.counts()["conflicts"],
        len(report.milestones),
        len(report.drafts),
    ]
    drafts = sorted(p.name for p in (tmp_path / "drafts").glob("*.eml"))
    assert drafts == sorted(d["file"] for d in report.drafts) and drafts
    consent = column(sheets["Associations"], "Consent Draft")
    assert {v for v in consent.values() if v} == set(drafts)
    conflicts_with = column(sheets["Associations"], "Conflicts With")
    rows = [r for s, r, _, c in info.planted if c == "association-conflict"]
    claim = column(sheets["Associations"], "Claim ID")
    assert conflicts_with[rows[0]] == claim[rows[1]] and conflicts_with[rows[1]] == claim[rows[0]]


def test_a_second_run_with_the_same_as_of_changes_nothing_but_the_run_log(
    sample_book, tmp_path: Path
) -> None:
    path, _ = sample_book
    book = tmp_path / "partner.xlsx"
    shutil.copy(path, book)
    first = run_workbook(book, as_of=AS_OF)
    after_first = _parts(book)
    second = run_workbook(book, as_of=AS_OF)
    after_second = _parts(book)
    assert [key(f) for f in first.findings] == [key(f) for f in second.findings]
    assert second.milestones == [] and second.drafts == []
    changed = {name for name in after_first if after_first[name] != after_second.get(name)}
    run_log = _sheet_part(book, "Run Log")
    assert changed == {run_log}
    assert len(sheet_values(book)["Run Log"]) == 3


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _sheet_part(path: Path, sheet: str) -> str:
    """The zip part holding a sheet, by following workbook.xml and its rels."""
    import re

    with zipfile.ZipFile(path) as z:
        workbook = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(rf'<sheet [^>]*name="{re.escape(sheet)}"[^>]*r:id="([^"]+)"', workbook)
    assert rid, sheet
    target = re.search(rf'<Relationship [^>]*Id="{rid.group(1)}"[^>]*Target="([^"]+)"', rels) or re.search(
        rf'<Relationship [^>]*Target="([^"]+)"[^>]*Id="{rid.group(1)}"', rels
    )
    assert target
    name = target.group(1).lstrip("/")
    return name if name.startswith("xl/") else f"xl/{name}"


def test_check_json_is_the_library_document(sample_book) -> None:
    path, _ = sample_book
    result = CliRunner().invoke(main, ["check", str(path), "--json", "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc == json.loads(json.dumps(check_workbook(path, as_of=AS_OF).to_dict()))
    assert set(doc) == {
        "workbook", "as_of", "counts", "findings", "conflicts", "milestones", "usage_earnings", "reconciliation",
        "drafts",
    }  # fmt: skip
    assert set(doc["findings"][0]) >= {
        "severity",
        "code",
        "sheet",
        "cell",
        "row",
        "column",
        "claim_id",
        "message",
    }


def test_a_clean_workbook_exits_0(tmp_path: Path) -> None:
    template = tmp_path / "empty.xlsx"
    assert CliRunner().invoke(main, ["new", str(template)]).exit_code == 0
    result = CliRunner().invoke(main, ["check", str(template), "--as-of", "2025-01-31"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("missing.xlsx", None, "does not exist"),
        ("export.xlsx", b"CustomerTenantId,WorkloadName\n1,2\n", "text file"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, ".xls"),
    ],
)
def test_a_file_that_cannot_be_read_is_one_error_line_and_exit_3(
    tmp_path: Path, name: str, content: bytes | None, words: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    for command in (["check", str(path)], ["run", str(path)]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 3
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and words in lines[0]
    if content is not None:
        assert path.read_bytes() == content


def test_a_workbook_open_in_excel_is_not_written(sample_book, tmp_path: Path) -> None:
    path, _ = sample_book
    book = tmp_path / "partner.xlsx"
    shutil.copy(path, book)
    (tmp_path / "~$partner.xlsx").write_bytes(b"owner")
    result = CliRunner().invoke(main, ["run", str(book), "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 3 and "Excel" in result.stderr
    assert book.read_bytes() == path.read_bytes()
    assert not (tmp_path / "partner drafts").exists()
    # --out elsewhere is fine: the open original is only read
    out = tmp_path / "copy.xlsx"
    result = CliRunner().invoke(main, ["run", str(book), "--out", str(out), "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 1 and out.exists()


def test_bad_as_of_is_a_usage_error(sample_book) -> None:
    path, _ = sample_book
    result = CliRunner().invoke(main, ["check", str(path), "--as-of", "30/11/2025"])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output


def test_a_drafts_folder_that_cannot_be_written_stops_the_run_before_the_workbook(
    sample_book, tmp_path: Path
) -> None:
    """The drafts are written beside the run; a failure to write them is one Error line, exit 3, and the
    workbook that would list them is not written."""
    path, _ = sample_book
    book = tmp_path / "partner.xlsx"
    shutil.copy(path, book)
    blocker = tmp_path / "not a folder"
    blocker.write_bytes(b"a file where the drafts folder should be")
    args = ["run", str(book), "--drafts", str(blocker / "drafts"), "--as-of", AS_OF.isoformat()]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: Cannot write consent drafts into")
    assert book.read_bytes() == path.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not a folder", "partner.xlsx"]


def test_every_command_loads_its_module_on_first_use_and_run_starts_without_pandas() -> None:
    """The CLI imports a command's module when the command is used (click's lazy subcommands): naming
    `run` loads neither pandas nor the other commands' libraries."""
    import subprocess
    import sys

    from cpor_excel.cli import COMMANDS

    ctx = click.Context(main)
    assert {name: main.get_command(ctx, name).name for name in COMMANDS} == {n: n for n in COMMANDS}
    assert set(main.list_commands(ctx)) == set(COMMANDS)
    probe = (
        "import sys, click; from cpor_excel.cli import main; "
        "main.get_command(click.Context(main), 'run'); "
        "print(sorted(m for m in ('pandas', 'numpy', 'pandera', 'jinja2') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_run_module_imports_the_engine_only_once_a_workbook_is_open() -> None:
    """`import cpor_excel.run` loads no pandas, pandera or templates: a run opens its workbook first (which
    starts reading its sheets), and imports the engine while they are read."""
    import subprocess
    import sys

    probe = (
        "import sys; import cpor_excel.run; "
        "print(sorted(m for m in ('pandas', 'numpy', 'pandera', 'jinja2') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_workbook_refused_as_it_opens_is_left_unlocked_and_unchanged(tmp_path: Path) -> None:
    """A run refuses a workbook whose styles part is damaged (its checksum is wrong) with one Error line
    (exit 3), before anything is written; the workbook is left as it was, and not locked."""
    from cpor_excel.io.safe_save import workbook_lock

    book = tmp_path / "partner.xlsx"
    assert CliRunner().invoke(main, ["new", str(book)]).exit_code == 0
    data = bytearray(book.read_bytes())
    with zipfile.ZipFile(book) as archive:
        info = archive.getinfo("xl/styles.xml")
    for at in [i for i in range(len(data)) if data[i : i + 4] in (b"PK\x01\x02", b"PK\x03\x04")]:
        central = data[at : at + 4] == b"PK\x01\x02"
        name_at, length = (at + 46, 28) if central else (at + 30, 26)
        size = int.from_bytes(data[at + length : at + length + 2], "little")
        if data[name_at : name_at + size] == b"xl/styles.xml":
            crc = at + (16 if central else 14)
            data[crc : crc + 4] = (info.CRC ^ 1).to_bytes(4, "little")
    book.write_bytes(bytes(data))
    result = CliRunner().invoke(main, ["run", str(book), "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "damaged" in lines[0]
    assert book.read_bytes() == bytes(data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["partner.xlsx"]
    with workbook_lock(book, 0):  # not locked: taken at once
        pass


def test_the_cpor_report_lists_errors_first_then_warnings_then_infos(sample_book, tmp_path: Path) -> None:
    path, _ = sample_book
    report = run_workbook(path, out=tmp_path / "result.xlsx", as_of=AS_OF, drafts_dir=tmp_path / "drafts")
    rows = sheet_values(tmp_path / "result.xlsx")["CPOR Report"][1:]
    expected = [
        (f.severity.value.upper(), f.code, f.cell or "", f.message)
        for severity in ("error", "warning", "info")
        for f in report.findings  # the workbook's order within a severity
        if f.severity.value == severity
    ]
    assert [(r[0], r[1], r[3], r[5]) for r in rows] == expected
    assert [r[0] for r in rows[:3]] == ["ERROR"] * 3 and rows[-1][0] == "INFO"


def test_more_findings_than_a_sheet_holds_keep_the_most_severe_and_say_how_many_were_left_out() -> None:
    from cpor_excel.apply import SHEET_ROWS, report_rows
    from cpor_excel.model.findings import Finding
    from cpor_excel.model.workbook import WorkbookData

    infos = [Finding("below-minimum-seats", "Usage", "few seats", row=r) for r in range(2, SHEET_ROWS + 6)]
    errors = [Finding("duplicate-key", "Usage", "twice", row=r) for r in (7, 9)]
    rows = report_rows(infos + errors, WorkbookData(source="big.xlsx", sheets={}))
    assert len(rows) == SHEET_ROWS == 1_048_575  # with the header: Excel's 1,048,576 rows, not one more
    assert [r[1] for r in rows[:2]] == ["duplicate-key", "duplicate-key"]
    assert rows[-2][1] == "below-minimum-seats"
    left = len(infos) + len(errors) - (SHEET_ROWS - 1)
    assert left == 7
    assert rows[-1][:3] == ["WARNING", "report-truncated", "CPOR Report"]
    assert f"{left:,} more findings" in str(rows[-1][5])
    assert (
        len(report_rows(infos[: SHEET_ROWS - 2] + errors, WorkbookData(source="x", sheets={}))) == SHEET_ROWS
    )


def test_a_run_in_a_process_of_its_own_leaves_everything_on_disk_when_it_exits(
    sample_book, tmp_path: Path
) -> None:
    """`cpor-excel run` in its own process (which settles the engine's objects out of the collector's sight,
    so that its exit is quick): once it has exited, the workbook and its drafts are complete on disk, as an
    in-process run writes them, and no lock or temporary file is left beside them."""
    import subprocess
    import sys

    path, _ = sample_book
    alone, here = tmp_path / "alone", tmp_path / "here"
    for folder in (alone, here):
        folder.mkdir()
        shutil.copy(path, folder / "partner.xlsx")
    run_workbook(here / "partner.xlsx", as_of=AS_OF, drafts_dir=here / "drafts")
    command = [
        sys.executable,
        "-c",
        "from cpor_excel.cli import main; main()",
        "run",
        str(alone / "partner.xlsx"),
    ]
    command += ["--as-of", AS_OF.isoformat(), "--drafts", str(alone / "drafts")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 1, done.stderr  # the sample's planted errors
    assert sorted(p.name for p in alone.iterdir()) == ["drafts", "partner.xlsx"]
    drafts = sorted(p.name for p in (alone / "drafts").iterdir())
    assert drafts == sorted(p.name for p in (here / "drafts").iterdir()) and drafts
    for name in drafts:  # (the Date header is the run's clock)
        ours, theirs = ((folder / "drafts" / name).read_bytes().splitlines() for folder in (alone, here))
        assert [line for line in ours if not line.startswith(b"Date:")] == [
            line for line in theirs if not line.startswith(b"Date:")
        ]
    written, expected = sheet_values(alone / "partner.xlsx"), sheet_values(here / "partner.xlsx")
    assert written.keys() == expected.keys()
    for sheet in written:  # (the Run Log's time is the run's clock)
        if sheet != "Run Log":
            assert written[sheet] == expected[sheet], sheet


def test_after_a_run_the_collector_still_frees_reference_cycles(sample_book, tmp_path: Path) -> None:
    """A run settles the engine's long-lived objects out of the collector's sight once; what is made later,
    cycles included, is freed as before."""
    import gc
    import weakref

    path, _ = sample_book
    check_workbook(path, as_of=AS_OF)

    class Node:
        pass

    node = Node()
    node.me = node  # type: ignore[attr-defined]
    alive = weakref.ref(node)
    del node
    gc.collect()
    assert alive() is None

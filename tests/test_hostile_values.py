"""Numbers too large for any number type (issue 18): text such as `1e999` typed into a number cell, and a
numeric cell whose stored value overflows, are findings at their cells, never a traceback."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
from click.testing import CliRunner

from cpor_excel.cli import main
from cpor_excel.run import check_workbook, run_workbook
from tests.conftest import AS_OF


def _set(path: Path, cells: dict[tuple[str, int, str], object]) -> None:
    """Set cells (sheet, Excel row, header) of a workbook with openpyxl."""
    book = openpyxl.load_workbook(path)
    for (sheet, row, header), value in cells.items():
        ws = book[sheet]
        headers = [c.value for c in ws[1]]
        ws.cell(row=row, column=headers.index(header) + 1, value=value)
    book.save(path)


def _overflow_numeric_cell(path: Path, sheet_part: str, ref: str) -> None:
    """Store ``1E+999`` as the value of a numeric cell (what a broken producer or an attacker can write)."""
    with zipfile.ZipFile(path) as source:
        parts = {info: source.read(info) for info in source.infolist()}
    for info, data in parts.items():
        if info.filename == sheet_part:
            pattern = rb'(<c r="' + ref.encode() + rb'"[^>]*>)<v>[^<]*</v>'
            data, count = re.subn(pattern, rb"\g<1><v>1E+999</v>", data)
            assert count == 1, "the cell to overflow is not a plain numeric cell"
            parts[info] = data
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in parts.items():
            target.writestr(info, data)


def test_huge_numbers_are_bad_number_findings_at_their_cells(sample_book, tmp_path: Path) -> None:
    path = tmp_path / "partner.xlsx"
    shutil.copy(sample_book[0], path)
    typed = {
        ("Usage", 2, "Active Users"): "1e999",
        ("Usage", 3, "Paid Units"): "-1E999",
        ("Milestones", 2, "Payment"): "1e999",
        ("Milestones", 3, "Active Usage %"): "1e999%",
    }
    _set(path, typed)
    _overflow_numeric_cell(path, "xl/worksheets/sheet3.xml", "E4")  # Usage!E4: Paid Units
    before = path.read_bytes()

    report = check_workbook(path, as_of=AS_OF)
    found = {(f.sheet, f.row, f.column): f.code for f in report.findings if f.code == "bad-number"}
    expected = {(sheet, row, header) for sheet, row, header in typed} | {("Usage", 4, "Paid Units")}
    assert expected <= set(found)
    assert report.exit_code == 1
    assert path.read_bytes() == before

    result = CliRunner().invoke(main, ["check", str(path), "--as-of", AS_OF.isoformat(), "--json"])
    assert result.exit_code == 1, result.output
    out = tmp_path / "result.xlsx"
    written = run_workbook(path, out=out, as_of=AS_OF, drafts_dir=tmp_path / "drafts")
    assert {(f.sheet, f.row, f.column) for f in written.findings if f.code == "bad-number"} >= expected

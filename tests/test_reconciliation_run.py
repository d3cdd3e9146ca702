"""A run reconciles the Earnings Ledger with Microsoft Earnings, end to end on the shipped sample and the example
downloads (docs/example_downloads.py): the Reconciliation sheet, the findings on the claims' rows, expected
against paid per partner in --json, the console and the batch report."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import python_calamine
from click.testing import CliRunner
from ooxml_validator import new_errors
from test_registry import reads_only_what_it_declares

from cpor_excel.batch.run import run_batch
from cpor_excel.cli import main
from cpor_excel.earnings_import import import_earnings, read_earnings
from cpor_excel.io.file_book import FileBook
from cpor_excel.io.frames import read_workbook_data
from cpor_excel.model.catalogue import canonical_workload
from cpor_excel.model.columns import RECONCILIATION_HEADER
from cpor_excel.rules.prepare import prepare
from cpor_excel.rules.reconciliation import per_partner
from cpor_excel.rules.registry import RULES
from cpor_excel.run import check_workbook, run_workbook

ROOT = Path(__file__).resolve().parents[1]
DOWNLOADS = ROOT / "sample_workbooks" / "partner_center"
EARNINGS_FILE = DOWNLOADS / "earnings-2025-06-to-2025-10.csv"
INELIGIBLE_FILE = DOWNLOADS / "ineligible-2025-06-to-2025-10.txt"
AS_OF = dt.date(2025, 11, 30)
RUN_AT = dt.datetime(2025, 11, 30, 9, 0)
KEY = ["Tenant ID", "Workload", "Month"]


def sheet(path: Path, name: str) -> pd.DataFrame:
    rows = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()
    return pd.DataFrame(rows[1:], columns=rows[0])


@pytest.fixture(scope="module")
def reconciled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("reconciled")
    book = shutil.copy(ROOT / "sample_workbooks" / "cpor_sample.xlsx", folder / "partner.xlsx")
    import_earnings(EARNINGS_FILE, book, imported_on=AS_OF)
    import_earnings(INELIGIBLE_FILE, book, imported_on=AS_OF)
    imported = folder / "imported.xlsx"
    shutil.copy(book, imported)
    report = run_workbook(book, as_of=AS_OF, drafts_dir=folder / "drafts", run_at=RUN_AT)
    return {"folder": folder, "book": Path(book), "imported": imported, "report": report}


def test_the_example_downloads_are_what_the_script_writes(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("example_downloads", ROOT / "docs" / "example_downloads.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.write_downloads(tmp_path)
    assert [p.read_bytes() for p in written] == [EARNINGS_FILE.read_bytes(), INELIGIBLE_FILE.read_bytes()]


def _months(records: pd.DataFrame) -> set[tuple[str, str, str]]:
    return {tuple(k) for k in records[KEY].itertuples(index=False)}


def test_the_reconciliation_finds_what_the_downloads_planted(reconciled: dict[str, Any]) -> None:
    """What each month should be, worked out from the downloads and the ledger by plain set logic."""
    ledger = sheet(reconciled["book"], "Earnings Ledger")
    ledger = ledger[(ledger["Month"] >= "2025-06") & (ledger["Month"] <= "2025-10")]
    paid = ledger[ledger["Paid Users"] > 0]
    unpaid = ledger[ledger["Paid Users"] == 0]
    earned = read_earnings(EARNINGS_FILE).rows
    refused = read_earnings(INELIGIBLE_FILE).rows
    units = dict(zip(map(tuple, earned[KEY].to_numpy()), earned["Compensable Units"], strict=True))
    users = dict(zip(map(tuple, paid[KEY].to_numpy()), paid["Paid Users"], strict=True))
    expected = {
        "earnings-missing": _months(paid) - _months(earned) - _months(refused),
        "earnings-ineligible": _months(paid) & _months(refused),
        "earnings-differ": {k for k in _months(paid) & _months(earned) if units[k] != users[k]},
        "earnings-unexpected": _months(unpaid) & _months(earned),
    }
    assert all(expected.values())  # the example shows every case

    rows = sheet(reconciled["book"], "Reconciliation")
    assert list(rows.columns) == list(RECONCILIATION_HEADER)
    assert len(rows) == len(ledger) and _months(rows) == _months(ledger)  # every month of the period compared
    found = {code: _months(rows[rows["Note"] == code]) for code in expected}
    assert found == expected
    agree = rows[rows["Note"] == ""]
    assert set(agree["Agrees"]) == {"Yes"} and set(rows.loc[rows["Note"] != "", "Agrees"]) == {"No"}


def test_the_findings_sit_on_the_rows_of_the_claims_concerned(reconciled: dict[str, Any]) -> None:
    rows = sheet(reconciled["book"], "Reconciliation")
    assoc = sheet(reconciled["book"], "Associations")
    findings = [f for f in reconciled["report"].findings if f.code.startswith("earnings-")]
    assert {f.sheet for f in findings} == {"Associations"}
    for f in findings:
        claim = assoc.loc[f.row - 2]  # Excel row -> frame row
        assert f.claim_id == claim["Claim ID"]
        workload = canonical_workload(claim["Workload"])  # the sheet may use any alias
        months = rows[(rows["Claim ID"] == f.claim_id) & (rows["Workload"] == workload)]
        assert (months["Note"] == f.code).any(), (f.row, f.code)
    # one finding per claim row and code, naming all its months
    assert len({(f.row, f.code) for f in findings}) == len(findings)
    assert sum(f.message.count("2025-") for f in findings if f.code == "earnings-missing") >= len(
        rows[rows["Note"] == "earnings-missing"]
    )
    notes = dict(zip(assoc.index + 2, assoc["Check Notes"], strict=True))
    assert all(f.code in notes[f.row] for f in findings)


def test_expected_and_paid_per_partner_in_json_and_on_the_console(reconciled: dict[str, Any]) -> None:
    rows = sheet(reconciled["book"], "Reconciliation")
    partners = reconciled["report"].reconciliation
    assert partners == per_partner(rows.replace({"": None}))
    assert {p["partner_id"] for p in partners} == set(rows["Partner ID"])
    assert sum(p["months"] for p in partners) == len(rows)
    assert reconciled["report"].to_dict()["reconciliation"] == partners
    out = CliRunner().invoke(main, ["check", str(reconciled["book"]), "--as-of", "2025-11-30", "--limit", "0"],
                             terminal_width=200)  # fmt: skip
    assert "the Earnings Ledger against Microsoft's earnings" in out.output
    first = partners[0]
    assert f"{first['expected']:,.2f}" in out.output and f"{first['paid']:,.2f}" in out.output


def test_a_second_run_reconciles_the_same(reconciled: dict[str, Any], tmp_path: Path) -> None:
    again = tmp_path / "again.xlsx"
    second = run_workbook(
        reconciled["book"], out=again, as_of=AS_OF, drafts_dir=tmp_path / "d", run_at=RUN_AT
    )
    assert sheet(again, "Reconciliation").equals(sheet(reconciled["book"], "Reconciliation"))
    assert second.reconciliation == reconciled["report"].reconciliation
    codes = sorted((f.row, f.code) for f in second.findings if f.code.startswith("earnings-"))
    assert codes == sorted(
        (f.row, f.code) for f in reconciled["report"].findings if f.code.startswith("earnings-")
    )


def test_the_run_adds_no_package_error(reconciled: dict[str, Any]) -> None:
    assert new_errors(reconciled["imported"], reconciled["book"]) == []


def test_a_workbook_without_microsoft_earnings_gets_no_reconciliation(tmp_path: Path) -> None:
    book = shutil.copy(ROOT / "sample_workbooks" / "cpor_sample.xlsx", tmp_path / "partner.xlsx")
    report = run_workbook(book, as_of=AS_OF, drafts_dir=tmp_path / "drafts", run_at=RUN_AT)
    assert "Reconciliation" not in python_calamine.CalamineWorkbook.from_path(str(book)).sheet_names
    assert report.reconciliation == [] and report.to_dict()["reconciliation"] == []


def test_check_reconciles_without_writing(reconciled: dict[str, Any]) -> None:
    before = reconciled["imported"].read_bytes()
    report = check_workbook(reconciled["imported"], AS_OF)
    assert reconciled["imported"].read_bytes() == before
    assert report.reconciliation == reconciled["report"].reconciliation


def test_the_rule_reads_only_the_sheets_it_declares(reconciled: dict[str, Any]) -> None:
    with FileBook(reconciled["imported"], write=False) as book:
        prepared = prepare(read_workbook_data(book, "imported.xlsx"))
    rule = next(r for r in RULES if r.name.startswith("reconciliation"))
    assert prepared.microsoft_earnings is not None and len(prepared.microsoft_earnings)
    assert reads_only_what_it_declares(rule, prepared, [])


def test_the_batch_report_shows_expected_against_paid_per_partner(
    reconciled: dict[str, Any], tmp_path: Path
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    shutil.copy(reconciled["imported"], share / "partner.xlsx")
    result = run_batch([share], as_of=AS_OF, jobs=1, report=tmp_path / "out" / "cpor")
    expected = [
        [p["partner_id"], "partner.xlsx", p["currency"], p["months"], p["disagree"], p["expected"], p["paid"],
         round(p["paid"] - p["expected"], 2)]
        for p in reconciled["report"].reconciliation
    ]  # fmt: skip
    table = python_calamine.CalamineWorkbook.from_path(str(tmp_path / "out" / "cpor.xlsx"))
    rows = table.get_sheet_by_name("Expected and Paid").to_python()
    assert rows[0][:3] == ["Partner ID", "Workbook", "Currency"]
    assert [[r[0], r[1], r[2], *(float(v) for v in r[3:])] for r in rows[1:]] == [
        [e[0], e[1], e[2], *(float(v) for v in e[3:])] for e in expected
    ]
    html = (tmp_path / "out" / "cpor.html").read_text(encoding="utf-8")
    assert 'id="reconciled"' in html and f'data-partner="{expected[0][0]}"' in html
    assert result.exit_code == 1  # the sample's planted errors
    assert json.loads(json.dumps(result.to_dict()))  # the batch document stays JSON

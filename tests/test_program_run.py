"""The current program in a real workbook, end to end: the sample's claims cross the High-Water Mark From
boundary, the Rate Card caps and time-caps them, the Earnings Ledger is append-only, the lifecycle columns are
written, read-only runs never say that a ledger was written, and bad Settings / Rate Card cells are findings
at their cells that leave the Earnings Ledger untouched."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from cpor_excel.cli import main
from cpor_excel.model.columns import EARNINGS_HEADER
from cpor_excel.run import check_workbook, run_workbook
from cpor_excel.workbook_new import create_template
from tests.conftest import AS_OF

HWM_FROM = "2025-06"  # the sample's High-Water Mark From: five months before its as-of month


def sheets(path: Path) -> dict[str, list[list[Any]]]:
    book = CalamineWorkbook.from_path(str(path))
    try:
        return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}
    finally:
        book.close()


def records(rows: list[list[Any]]) -> list[dict[str, Any]]:
    return [dict(zip(rows[0], r, strict=False)) for r in rows[1:]]


@pytest.fixture(scope="module")
def first_run(sample_book: tuple[Path, Any], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    path, _ = sample_book
    work = tmp_path_factory.mktemp("program")
    book = work / "partner.xlsx"
    shutil.copy(path, book)
    report = run_workbook(book, as_of=AS_OF, drafts_dir=work / "drafts")
    return book, report


def test_the_sample_exercises_both_models_and_every_cap(first_run: tuple[Path, Any]) -> None:
    book, report = first_run
    written = sheets(book)
    ledger = records(written["Earnings Ledger"])
    assert written["Earnings Ledger"][0] == list(EARNINGS_HEADER)
    assert len(ledger) == len(report.usage_earnings) > 0
    assert {r["Reason"] for r in ledger} >= {"", "MXTMCPMT", "MAXUNITS", "MINTHNTMT"}
    assert all(r["Month"] >= HWM_FROM for r in ledger)
    milestones = records(written["Milestone Ledger"])
    assert milestones and all(r["Month Reached"] < HWM_FROM for r in milestones)
    # claims that cross the boundary: milestones before it, usage pay above the high-water mark after it
    paid = {(r["Claim ID"], r["Workload"]) for r in ledger if r["Reason"] == "" and r["Paid Users"] > 0}
    crossing = paid & {(r["Claim ID"], r["Workload"]) for r in milestones}
    assert crossing
    # a capped customer workload: Microsoft Teams' Max Paid Users of 40 on the sample's Rate Card
    teams = {}
    for r in ledger:
        if r["Workload"] == "Microsoft Teams":
            teams[r["Tenant ID"]] = teams.get(r["Tenant ID"], 0) + r["Paid Users"]
    assert teams and max(teams.values()) == 40
    # a time-capped claim: Exchange Online pays at most 3 months after the month of approval
    assert any(r["Workload"] == "Exchange Online" and r["Reason"] == "MXTMCPMT" for r in ledger)
    assert all(r["Amount"] == pytest.approx(r["Paid Users"] * r["Rate per User"]) for r in ledger)


def test_association_columns_show_deadlines_marks_and_earnings(first_run: tuple[Path, Any]) -> None:
    book, report = first_run
    rows = sheets(book)["Associations"]
    header = rows[0]
    for name in ("Next Deadline", "High-Water Mark", "Earned"):
        assert header.index(name) > header.index("Consent Draft")
    at = {name: header.index(name) for name in header}
    earned = [r[at["Earned"]] for r in rows[1:] if r[at["Earned"]]]
    assert earned and all(e.endswith(" USD") and " users, " in e for e in earned)
    assert any(r[at["High-Water Mark"]] not in ("", None) for r in rows[1:])
    deadlines = {f.row for f in report.findings if f.code in ("action-required", "poe-refresh")}
    for row in deadlines:
        assert rows[row - 1][at["Next Deadline"]] not in ("", None)
        notes = rows[row - 1][at["Check Notes"]]
        assert str(rows[row - 1][at["Next Deadline"]])[:10] in notes  # the message names that exact date


def test_a_second_run_adds_nothing_to_the_earnings_ledger(
    first_run: tuple[Path, Any], tmp_path: Path
) -> None:
    book, report = first_run
    again = tmp_path / "again.xlsx"
    second = run_workbook(book, out=again, as_of=AS_OF, drafts_dir=tmp_path / "drafts")
    assert second.usage_earnings == []
    assert sheets(again)["Earnings Ledger"] == sheets(book)["Earnings Ledger"]
    # the same findings as the first run on the same day
    codes = ("hwm-earned", "hwm-not-earned")
    assert sorted((f.row, f.message) for f in second.findings if f.code in codes) == sorted(
        (f.row, f.message) for f in report.findings if f.code in codes
    )


def test_check_describes_what_a_run_would_record(sample_book: tuple[Path, Any]) -> None:
    path, _ = sample_book
    before = path.read_bytes()
    result = CliRunner().invoke(main, ["check", str(path), "--as-of", AS_OF.isoformat(), "--json"])
    assert path.read_bytes() == before
    document = json.loads(result.output)
    assert document["usage_earnings"] and document["milestones"]
    assert document["counts"]["new_usage_months"] == len(document["usage_earnings"])
    messages = [f["message"] for f in document["findings"]]
    assert not [m for m in messages if "recorded in the" in m]
    assert any("a run would record it" in m for m in messages)


def edit(path: Path, sheet: str, cells: dict[str, Any]) -> None:
    book = openpyxl.load_workbook(path)
    for cell, value in cells.items():
        book[sheet][cell] = value
    book.save(path)


@pytest.mark.parametrize(
    ("sheet", "cells", "found"),
    [
        ("Rate Card", {"B2": None}, ("Rate Card", 2, "Rate per User", "missing-value")),
        ("Rate Card", {"B3": -1.5}, ("Rate Card", 3, "Rate per User", "bad-number")),
        ("Rate Card", {"F2": 2.5}, ("Rate Card", 2, "Time Cap Months", "bad-number")),
        ("Rate Card", {"A3": "*"}, ("Rate Card", 3, "Workload", "duplicate-key")),
        ("Settings", {"B6": "October"}, ("Settings", 6, "Value", "bad-setting")),
    ],
)
def test_an_unusable_rate_card_or_month_leaves_the_earnings_ledger_untouched(
    sample_book: tuple[Path, Any], tmp_path: Path, sheet: str, cells: dict[str, Any], found: tuple[Any, ...]
) -> None:
    path, _ = sample_book
    book = tmp_path / "partner.xlsx"
    shutil.copy(path, book)
    edit(book, sheet, cells)
    report = run_workbook(book, as_of=AS_OF, drafts_dir=tmp_path / "drafts")
    assert found in {(f.sheet, f.row, f.column, f.code) for f in report.findings}
    assert report.usage_earnings == []
    assert not [f for f in report.findings if f.code in ("hwm-earned", "hwm-not-earned")]
    assert sheets(book).get("Earnings Ledger", [EARNINGS_HEADER])[1:] == []  # no row recorded
    if sheet == "Settings":  # which months are milestones' is unknown: neither ledger grows
        assert report.milestones == []


def test_a_workbook_without_the_new_settings_behaves_as_before(
    sample_book: tuple[Path, Any], tmp_path: Path
) -> None:
    path, _ = sample_book
    book = tmp_path / "old.xlsx"
    shutil.copy(path, book)
    workbook = openpyxl.load_workbook(book)
    del workbook["Rate Card"]
    for row in range(6, 9):  # High-Water Mark From, Consent Window Starts, POE Refresh Months
        workbook["Settings"].cell(row, 1).value = workbook["Settings"].cell(row, 2).value = None
    workbook.save(book)
    report = run_workbook(book, as_of=AS_OF, drafts_dir=tmp_path / "drafts")
    assert report.usage_earnings == [] and report.milestones
    assert "Earnings Ledger" not in sheets(book)
    assert not [f for f in report.findings if f.code in ("no-rate-card", "hwm-earned", "hwm-not-earned")]


def test_new_writes_the_current_program(tmp_path: Path) -> None:
    path = create_template(tmp_path / "new.xlsx")
    report = check_workbook(path, as_of=dt.date(2025, 11, 30))
    codes = {f.code for f in report.findings}
    assert {"example-program"} <= codes and "bad-setting" not in codes
    rate_card = sheets(path)["Rate Card"]
    assert "EXAMPLE" in str(rate_card[1][-1])


def test_bad_values_in_the_new_columns_are_findings_at_their_cells(
    sample_book: tuple[Path, Any], tmp_path: Path
) -> None:
    path, _ = sample_book
    book = tmp_path / "partner.xlsx"
    shutil.copy(path, book)
    header = [c.value for c in openpyxl.load_workbook(book, read_only=True)["Associations"][1]]
    letter = {name: openpyxl.utils.get_column_letter(header.index(name) + 1) for name in header}
    edit(
        book,
        "Associations",
        {
            f"{letter['Partner Role']}3": "Use or consum",
            f"{letter['Rejection Reason']}4": "Insuficient POE",
            f"{letter['Status Changed']}5": "next week",
            f"{letter['Status Changed']}6": dt.date(2000, 1, 3),
            f"{letter['Incentive Opt-out']}7": "perhaps",
            f"{letter['Status Changed']}8": None,
        },
    )
    report = check_workbook(book, as_of=AS_OF)
    found = {(f.row, f.column): f for f in report.findings if f.sheet == "Associations"}
    assert found[(3, "Partner Role")].code == "unknown-role"
    assert "did you mean Use or consume?" in found[(3, "Partner Role")].message
    assert found[(4, "Rejection Reason")].code == "unknown-reason"
    assert "did you mean Insufficient POE?" in found[(4, "Rejection Reason")].message
    assert found[(5, "Status Changed")].code == "bad-type"
    assert found[(6, "Status Changed")].code == "date-order"
    assert found[(7, "Incentive Opt-out")].code == "bad-type"
    assert (8, "Status Changed") not in found


def test_the_batch_report_shows_usage_pay_per_month_and_partner(
    sample_book: tuple[Path, Any], tmp_path: Path
) -> None:
    from cpor_excel.batch.run import run_batch

    path, _ = sample_book
    share = tmp_path / "share"
    share.mkdir()
    shutil.copy(path, share / "partner.xlsx")
    base = tmp_path / "report"
    result = run_batch([share], as_of=AS_OF, jobs=1, dry_run=True, report=base)
    (workbook,) = result.workbooks
    assert workbook.report is not None and workbook.report.usage_earnings
    expected: dict[tuple[str, str], int] = {}
    for row in workbook.report.usage_earnings:
        key = (row["Month"], row["Partner ID"])
        expected[key] = expected.get(key, 0) + row["Paid Users"]
    book = openpyxl.load_workbook(base.with_suffix(".xlsx"), read_only=True)
    rows = list(book["Usage Pay by Month"].iter_rows(values_only=True))
    book.close()
    got = {(r[0], r[1]): r[4] for r in rows[1:]}  # Month, Partner ID -> Paid Users, This Run
    assert got == {k: v for k, v in expected.items() if v}
    assert all(r[3] == 0 for r in rows[1:])  # a dry run on a fresh workbook: no earlier run recorded any
    html = base.with_suffix(".html").read_text(encoding="utf-8")
    assert 'id="usage"' in html and "Usage paid above the high-water mark" in html
    assert result.totals()["new_usage_months"] == len(workbook.report.usage_earnings)


def test_the_dashboard_shows_usage_pay_and_the_deadlines(first_run: tuple[Path, Any]) -> None:
    book, report = first_run
    cells = [str(c) for row in sheets(book)["Dashboard"] for c in row if c not in ("", None)]
    assert "Usage pay" in cells  # the series of the pay-per-month chart's table
    # the claims that need action now carry their Next Deadline
    asked = [f for f in report.findings if f.code == "action-required"]
    rows = sheets(book)["Associations"]
    deadline = rows[asked[0].row - 1][rows[0].index("Next Deadline")]
    assert asked and str(deadline)[:10] in cells

"""What the Dashboard shows: claims by status, milestones and pay per month, the claims that need action."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from cpor_excel.model.catalogue import STATUSES
from cpor_excel.model.findings import Finding
from cpor_excel.rules.dashboard import (
    ACTIONS_SHOWN,
    STATUS_COLOURS,
    build_dashboard,
    claims_by_status,
    needs_action,
    pay_per_month,
)

AS_OF = dt.date(2025, 11, 30)
T1, T2 = "0f8fad5b-d9cb-469f-a165-70867728950e", "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def associations(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["Claim ID", "Tenant ID", "Workload", "Status"])
    frame.index = range(2, len(rows) + 2)  # Excel rows
    return frame


CUSTOMERS = pd.DataFrame({"Tenant ID": [T1, T2], "Customer Name": ["Contoso", "Fabrikam"]})


def test_claims_are_counted_once_per_status_and_every_status_is_listed() -> None:
    frame = associations([
        ("C-1", T1, "Exchange Online", "Approved"),
        ("C-1", T1, "Microsoft Teams", "Approved"),  # one claim, two workloads
        ("C-2", T2, "Exchange Online", "Approved"),
        ("C-3", T2, "Microsoft Teams", "Draft"),
        ("C-4", T2, "Intune", None),  # a status that failed validation: not counted
    ])  # fmt: skip
    chart = claims_by_status(frame)
    assert list(chart.categories) == list(STATUSES)
    counts = dict(zip(chart.categories, chart.series[0].values, strict=True))
    assert counts == {status: {"Approved": 2, "Draft": 1}.get(status, 0) for status in STATUSES}
    assert list(chart.series[0].point_colours) == [STATUS_COLOURS[s] for s in STATUSES]
    assert chart.horizontal and chart.data_labels


def ledger(rows: list[tuple[str, float | None, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Month Reached": pd.to_datetime([m for m, _, _ in rows]),
            "Payment": [p for _, p, _ in rows],
            "Currency": [c for _, _, c in rows],
        }
    )


def test_milestones_and_payments_per_month_over_the_last_twelve_months() -> None:
    frame = ledger([
        ("2025-11-01", 100.0, "USD"), ("2025-11-01", 50.0, "USD"), ("2025-03-01", 25.0, "USD"),
        ("2025-03-01", 999.0, "EUR"),  # another currency: counted as a milestone, not added to USD
        ("2024-10-01", 70.0, "USD"),  # before the twelve months shown
    ])  # fmt: skip
    chart = pay_per_month(frame, None, AS_OF)
    assert list(chart.categories) == [
        f"{y}-{m:02d}" for y, m in [(2024, 12), *((2025, m) for m in range(1, 12))]
    ]
    reached, payments = chart.series
    assert dict(zip(chart.categories, reached.values, strict=True)) | {} == {
        c: {"2025-03": 2, "2025-11": 2}.get(c, 0) for c in chart.categories
    }
    assert (payments.kind, payments.secondary) == ("line", True)
    assert dict(zip(chart.categories, payments.values, strict=True)) == {
        c: {"2025-03": 25.0, "2025-11": 150.0}.get(c, 0.0) for c in chart.categories
    }
    assert chart.secondary_title == "USD"


def test_usage_pay_is_a_series_when_there_is_an_earnings_ledger_and_zero_pay_is_no_line() -> None:
    unpaid = ledger([("2025-11-01", None, None)])
    assert [s.name for s in pay_per_month(unpaid, None, AS_OF).series] == ["Milestones reached"]
    earnings = pd.DataFrame(
        {
            "Month": pd.to_datetime(["2025-10-01", "2025-11-01"]),
            "Amount": [120.0, 80.5],
            "Currency": ["USD"] * 2,
        }
    )
    chart = pay_per_month(unpaid, earnings, AS_OF)
    assert [s.name for s in chart.series] == ["Milestones reached", "Usage pay"]
    assert chart.series[1].values[-2:] == [120.0, 80.5]


def finding(code: str, row: int, claim: str) -> Finding:
    return Finding(code, "Associations", "why", row=row, claim_id=claim, column="Tenant ID", cell=f"B{row}")


def test_needs_action_lists_the_most_pressing_first_with_customer_workload_and_due_date() -> None:
    frame = associations([
        ("C-1", T1, "Exchange Online", "Approved"),
        ("C-2", T2, "Microsoft Teams", "Submitted"),
        ("C-3", T2, "Intune", "Submitted"),
    ])  # fmt: skip
    findings = [
        finding("poe-missing", 3, "C-2"),
        finding("consent-window-open", 4, "C-3"),  # information only: not an action
        finding("association-conflict", 4, "C-3"),
        finding("association-conflict", 2, "C-1"),
        finding("action-required", 2, "C-1"),
        finding("action-required", 4, "C-3"),
        Finding("duplicate-key", "Usage", "x", row=9),
    ]
    deadlines = pd.Series({2: "2025-12-10", 4: "2025-12-01"})
    table = needs_action(findings, frame, CUSTOMERS, deadlines)
    # a conflict is due now (its row's Next Deadline is another matter's); action-required by its deadline
    assert [row[:5] for row in table.rows] == [
        ["C-1", "Contoso", "Exchange Online", "association-conflict", None],
        ["C-3", "Fabrikam", "Intune", "association-conflict", None],
        ["C-3", "Fabrikam", "Intune", "action-required", "2025-12-01"],
        ["C-1", "Contoso", "Exchange Online", "action-required", "2025-12-10"],
        ["C-2", "Fabrikam", "Microsoft Teams", "poe-missing", None],
    ]
    assert [row[5:] for row in table.rows] == [
        ["Associations!B2", "error"],
        ["Associations!B4", "error"],
        ["Associations!B4", "warning"],
        ["Associations!B2", "warning"],
        ["Associations!B3", "error"],
    ]


def test_needs_action_is_short_and_says_how_many_it_left_out() -> None:
    frame = associations([(f"C-{i}", T1, "Exchange Online", "Submitted") for i in range(40)])
    findings = [finding("poe-missing", row, f"C-{row}") for row in frame.index]
    table = needs_action(findings, frame, CUSTOMERS)
    assert len(table.rows) == ACTIONS_SHOWN
    assert table.note is not None and f"{40 - ACTIONS_SHOWN:,} more" in table.note
    assert needs_action([], frame, CUSTOMERS).rows == []


def test_the_dashboard_of_a_run(sample_book) -> None:
    from cpor_excel.run import check_workbook

    path, _ = sample_book
    report = check_workbook(path, as_of=AS_OF)
    from cpor_excel.io.file_book import FileBook
    from cpor_excel.io.frames import read_workbook_data
    from cpor_excel.rules.prepare import prepare

    with FileBook(path) as book:
        prepared = prepare(read_workbook_data(book, path.name))
    dashboard = build_dashboard(
        prepared.associations, prepared.customers, pd.DataFrame(report.milestones), report.findings,
        report.counts(), AS_OF,
    )  # fmt: skip
    claims = dict(zip(dashboard.charts[0].categories, dashboard.charts[0].series[0].values, strict=True))
    expected = (
        prepared.associations.drop_duplicates(["Claim ID", "Status"]).groupby("Status")["Claim ID"].nunique()
    )
    assert {k: v for k, v in claims.items() if v} == expected.to_dict()
    reached = dashboard.charts[1].series[0]
    months = pd.to_datetime(pd.DataFrame(report.milestones)["Month Reached"]).dt.strftime("%Y-%m")
    assert sum(reached.values) == months.isin(list(dashboard.charts[1].categories)).sum()
    conflicts = [row for row in dashboard.tables[0].rows if row[3] == "association-conflict"]
    assert len(conflicts) == report.counts()["conflicts"]
    assert dashboard.lines[0].startswith(f"As of {AS_OF.isoformat()}: ")


@pytest.mark.parametrize("as_of", [dt.date(2025, 1, 31), dt.date(2024, 12, 1)])
def test_months_cross_the_year(as_of: dt.date) -> None:
    chart = pay_per_month(ledger([]), None, as_of)
    assert chart.categories[-1] == f"{as_of.year}-{as_of.month:02d}" and len(chart.categories) == 12


def test_a_runs_dashboard_charts_usage_pay_from_the_earnings_ledger_rows_it_adds() -> None:
    from cpor_excel.apply import dashboard_of
    from cpor_excel.model.columns import EARNINGS, LEDGER
    from cpor_excel.model.evaluation import Evaluation

    frame = associations([("C-1", T1, "Exchange Online", "Approved")])
    prepared = type("P", (), {})()
    prepared.associations, prepared.customers = frame, CUSTOMERS
    prepared.ledger = pd.DataFrame(columns=list(LEDGER.header))
    prepared.drafts = pd.DataFrame()
    row = dict.fromkeys(EARNINGS.header)
    row.update({"Month": "2025-10", "Paid Users": 20, "Amount": 100.0, "Currency": "USD"})
    evaluation = Evaluation(
        as_of=AS_OF, findings=[], association_columns=pd.DataFrame({"Next Deadline": ["2025-12-05"]}, index=[2]),
        rows={}, conflicts=[],
    )  # fmt: skip
    board = dashboard_of(prepared, evaluation, [finding("action-required", 2, "C-1")],
                         {EARNINGS.name: [list(row.values())]}, AS_OF)  # fmt: skip
    months = board.charts[1]
    assert [s.name for s in months.series] == ["Milestones reached", "Usage pay"]
    assert dict(zip(months.categories, months.series[1].values, strict=True))["2025-10"] == 100.0
    assert board.tables[0].rows[0][4] == "2025-12-05"  # the Next Deadline is the action's due date

"""The reconciliation rule: the Earnings Ledger against Microsoft Earnings, computed by hand month by month."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from cpor_excel.model.columns import EARNINGS_LEDGER_COLUMNS, MS_EARNINGS_HEADER, RECONCILIATION_HEADER
from cpor_excel.model.earnings import in_words, reason
from cpor_excel.rules.reconciliation import per_partner, reconcile

T1 = "0b4c1b43-0a66-4b6c-9c5e-7c1a4cc6b5b1"
T2 = "5f0e7d2a-3c1b-4e8f-9a6d-2b7c8e9f0a1d"
T3 = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"  # no association
EXO, TEAMS, SPO = "Exchange Online", "Microsoft Teams", "SharePoint Online"

ASSOCIATIONS = pd.DataFrame(
    {
        "Claim ID": ["C-1", "C-1", "C-2", "C-3", "C-4"],
        "Tenant ID": [T1, T1, T2, T2, T2],
        "Workload": [EXO, TEAMS, SPO, EXO, EXO],
        "Partner ID": ["1234567", "1234567", "7654321", "7654321", "7654321"],
    },
    index=pd.Index([2, 3, 4, 5, 6]),
)


def ledger_row(claim: str, tenant: str, workload: str, month: str, paid: int, amount: float, reason: str | None,
               partner: str = "1234567") -> dict[str, Any]:  # fmt: skip
    return dict(
        zip(
            EARNINGS_LEDGER_COLUMNS,
            [claim, tenant, "Contoso", workload, partner, pd.Timestamp(f"{month}-01"), 1000, 1200, 800, paid, paid,
             5.0, amount, "USD", reason, "2025-06-30"],
            strict=True,
        )
    )  # fmt: skip


LEDGER = pd.DataFrame(
    [
        ledger_row("C-1", T1, EXO, "2025-01", 200, 1000.0, None),  # Microsoft paid 200: agree
        ledger_row("C-1", T1, EXO, "2025-02", 150, 750.0, None),  # Microsoft paid 120: differ
        ledger_row("C-1", T1, EXO, "2025-03", 100, 500.0, None),  # Microsoft: ineligible
        ledger_row("C-1", T1, EXO, "2025-04", 50, 250.0, None),  # no Microsoft row, covered: missing
        ledger_row("C-1", T1, EXO, "2025-05", 80, 400.0, None),  # no Earnings download covers May
        ledger_row("C-1", T1, TEAMS, "2025-01", 0, 0.0, "PAULWPHWM"),  # Microsoft ineligible too: agree
        ledger_row("C-1", T1, TEAMS, "2025-02", 0, 0.0, "MAULWPHWM"),  # Microsoft paid 30: unexpected
        ledger_row("C-1", T1, TEAMS, "2025-03", 60, 300.0, None),  # ineligible, then paid (a dispute won)
        ledger_row("C-2", T2, SPO, "2025-02", 0, 0.0, "MINTHNTMT", partner="7654321"),  # nothing either side
    ]
)


def ms_row(tenant: str, workload: str, month: str, kind: str, units: int, reason: str | None = None,
           amount: float | None = None, claim: str | None = None) -> dict[str, Any]:  # fmt: skip
    values = dict.fromkeys(MS_EARNINGS_HEADER)
    values.update({"Tenant ID": tenant, "Customer": "Contoso, Ltd", "Workload": workload, "Month": month,
                   "Kind": kind, "Compensable Units": units, "Reason": reason, "Amount": amount,
                   "Currency": "USD" if amount is not None else None, "Claim ID": claim})  # fmt: skip
    return values


MICROSOFT = pd.DataFrame(
    [
        ms_row(T1, EXO, "2025-01", "Earned", 200, amount=1000.0, claim="C-1"),  # row 2
        ms_row(T1, EXO, "2025-02", "Earned", 120, amount=600.0, claim="C-1"),  # 3
        ms_row(T1, EXO, "2025-03", "Ineligible", 2, reason="MINTHNTMT"),  # 4
        ms_row(T1, TEAMS, "2025-01", "Ineligible", -5, reason="PAULWPHWM"),  # 5
        ms_row(T1, TEAMS, "2025-02", "Earned", 30, amount=150.0, claim="C-1"),  # 6
        ms_row(T1, TEAMS, "2025-03", "Ineligible", 60, reason="IVDPOE"),  # 7
        ms_row(T1, TEAMS, "2025-03", "Earned", 60, amount=300.0, claim="C-1"),  # 8
        ms_row(T2, EXO, "2025-03", "Earned", 40, amount=200.0),  # 9: no ledger row, no claimId
        ms_row(T2, SPO, "2025-01", "Ineligible", 0, reason="CUSPUBSEC"),  # 10: no ledger row
        ms_row(T3, TEAMS, "2025-02", "Earned", 10, amount=50.0),  # 11: no association at all
    ],
    index=pd.Index(range(2, 12)),
)
IMPORTS = pd.DataFrame(
    {
        "File": ["earnings.csv", "ineligible.txt"],
        "Report": ["Earnings report", "Ineligible revenue usage details"],
        "From Month": ["2025-01", "2025-01"],
        "To Month": ["2025-04", "2025-05"],
    }
)


@pytest.fixture(scope="module")
def result() -> Any:
    return reconcile(LEDGER, MICROSOFT, IMPORTS, ASSOCIATIONS)


def test_every_compared_month_is_one_reconciliation_row(result: Any) -> None:
    rows = result.rows
    assert list(rows.columns) == list(RECONCILIATION_HEADER)
    table = [
        (r["Tenant ID"], r["Workload"], r["Month"], None if pd.isna(r["Paid Users"]) else int(r["Paid Users"]),
         r["Microsoft"], None if pd.isna(r["Microsoft Units"]) else int(r["Microsoft Units"]), r["Agrees"], r["Note"])
        for _, r in rows.iterrows()
    ]  # fmt: skip
    assert table == [
        (T1, EXO, "2025-01", 200, "Earned", 200, "Yes", ""),
        (T1, EXO, "2025-02", 150, "Earned", 120, "No", "earnings-differ"),
        (T1, EXO, "2025-03", 100, "Ineligible", 2, "No", "earnings-ineligible"),
        (T1, EXO, "2025-04", 50, "no row", None, "No", "earnings-missing"),
        (T1, TEAMS, "2025-01", 0, "Ineligible", -5, "Yes", ""),
        (T1, TEAMS, "2025-02", 0, "Earned", 30, "No", "earnings-unexpected"),
        (T1, TEAMS, "2025-03", 60, "Earned", 60, "Yes", ""),
        (T2, EXO, "2025-03", None, "Earned", 40, "No", "earnings-unexpected"),
        (T2, SPO, "2025-01", None, "Ineligible", 0, "Yes", "not in the Earnings Ledger"),
        (T2, SPO, "2025-02", 0, "no row", None, "Yes", ""),
        (T3, TEAMS, "2025-02", None, "Earned", 10, "No", "earnings-unexpected"),
    ]


def test_a_month_without_a_ledger_claim_names_its_association_claim(result: Any) -> None:
    claims = result.rows.set_index(["Tenant ID", "Workload", "Month"])["Claim ID"]
    assert (claims[(T2, EXO, "2025-03")], claims[(T2, SPO, "2025-01")]) == ("C-4", "C-2")
    assert pd.isna(claims[(T3, TEAMS, "2025-02")])


def test_microsofts_reason_is_given_in_words_with_whether_the_partner_can_act(result: Any) -> None:
    rows = result.rows.set_index(["Tenant ID", "Workload", "Month"])
    ineligible = rows.loc[(T1, EXO, "2025-03")]
    assert (ineligible["Microsoft Reason"], ineligible["Partner Can Act"]) == ("MINTHNTMT", "no")
    assert ineligible["In Words"].startswith("the growth above the high-water mark was below the minimum")
    public = rows.loc[(T2, SPO, "2025-01")]
    assert (public["Microsoft Reason"], public["Partner Can Act"]) == ("CUSPUBSEC", "yes")
    assert rows.loc[(T1, TEAMS, "2025-03"), "Microsoft Reason"] is None or pd.isna(
        rows.loc[(T1, TEAMS, "2025-03"), "Microsoft Reason"]
    )  # paid after all: the old ineligible row no longer counts


def test_findings_sit_on_the_claims_association_rows(result: Any) -> None:
    found = [(f.sheet, f.row, f.column, f.code, f.claim_id) for f in result.findings]
    assert found == [
        ("Associations", 2, "Workload", "earnings-differ", "C-1"),
        ("Associations", 2, "Workload", "earnings-ineligible", "C-1"),
        ("Associations", 2, "Workload", "earnings-missing", "C-1"),
        ("Associations", 3, "Workload", "earnings-unexpected", "C-1"),
        ("Associations", 6, "Workload", "earnings-unexpected", "C-4"),  # the tenant's latest EXO claim
        ("Microsoft Earnings", 11, "Workload", "earnings-unexpected", None),  # T3: no association row
    ]
    severities = {f.code: f.severity.value for f in result.findings}
    assert severities == {
        "earnings-differ": "info", "earnings-ineligible": "warning", "earnings-missing": "warning",
        "earnings-unexpected": "info",
    }  # fmt: skip
    differ, ineligible, missing, unexpected = (f.message for f in result.findings[:4])
    assert "2025-02 Microsoft 120, the tool 150" in differ
    assert (
        "2025-03 MINTHNTMT" in ineligible
        and "can act: no" in ineligible
        and "expected 100 users" in ineligible
    )
    assert "2025-04 (50 users)" in missing and "2025-05" not in missing
    assert "2025-02 (30 users, 150.00 USD; the ledger: MAULWPHWM)" in unexpected


def test_expected_and_paid_per_partner(result: Any) -> None:
    # 1234567: the ledger expects 1000 + 750 + 500 + 250 + 0 + 0 + 300 in the compared months (May is not
    # compared); Microsoft paid 1000 + 600 + 150 + 300. 7654321: nothing expected; Microsoft paid 200 for T2's
    # Exchange (its claim C-4). T3 has no association: no partner.
    assert per_partner(result.rows) == [
        {"partner_id": "", "currency": "USD", "months": 1, "disagree": 1, "expected": 0.0, "paid": 50.0},
        {
            "partner_id": "1234567",
            "currency": "USD",
            "months": 7,
            "disagree": 4,
            "expected": 2800.0,
            "paid": 2050.0,
        },
        {
            "partner_id": "7654321",
            "currency": "USD",
            "months": 3,
            "disagree": 1,
            "expected": 0.0,
            "paid": 200.0,
        },
    ]
    partners = result.rows.set_index(["Tenant ID", "Workload", "Month"])["Partner ID"]
    assert (partners[(T2, EXO, "2025-03")], partners[(T1, EXO, "2025-01")]) == ("7654321", "1234567")


def test_months_as_text_and_untidy_ids_reconcile_the_same() -> None:
    ledger = LEDGER.assign(
        Month=LEDGER["Month"].dt.strftime("%Y-%m"), **{"Tenant ID": LEDGER["Tenant ID"].str.upper()}
    )
    microsoft = MICROSOFT.assign(**{"Tenant ID": "{" + MICROSOFT["Tenant ID"].str.upper() + "}"})
    again = reconcile(ledger, microsoft, IMPORTS, ASSOCIATIONS)
    base = reconcile(LEDGER, MICROSOFT, IMPORTS, ASSOCIATIONS)
    assert again.rows.equals(base.rows)
    assert [(f.row, f.code) for f in again.findings] == [(f.row, f.code) for f in base.findings]


def test_without_an_earnings_download_nothing_is_missing() -> None:
    only_ineligible = IMPORTS[IMPORTS["Report"] != "Earnings report"]
    result = reconcile(LEDGER, MICROSOFT, only_ineligible, ASSOCIATIONS)
    assert "earnings-missing" not in {f.code for f in result.findings}
    assert (T1, EXO, "2025-04") not in set(
        zip(result.rows["Tenant ID"], result.rows["Workload"], result.rows["Month"], strict=True)
    )


def test_nothing_to_compare_gives_nothing() -> None:
    empty_ledger = pd.DataFrame(columns=list(EARNINGS_LEDGER_COLUMNS))
    empty_ms = pd.DataFrame(columns=list(MS_EARNINGS_HEADER))
    result = reconcile(empty_ledger, empty_ms, None, ASSOCIATIONS)
    assert (len(result.rows), result.findings, per_partner(result.rows)) == (0, [], [])


def test_reason_codes_in_words() -> None:
    assert reason("paulwphwm").can_act is False
    assert reason("IVDMPA").can_act is True
    assert in_words("PAULWPHWM; IVDMPA")[1] == "yes (some)"
    unknown = reason("NEWCODE")
    assert "NEWCODE" in unknown.words and unknown.can_act is True
    assert in_words("") == ("", "")

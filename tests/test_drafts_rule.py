"""rules/drafts.py: which claims get a consent email, and why some cannot."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import Any

import pandas as pd
import pytest
from rules_frames import EXO, SPO, TEAMS, association, associations, customers, ledger, tenant, usage

from cpor_excel.model.columns import DRAFTS_HEADER
from cpor_excel.model.findings import Finding
from cpor_excel.model.program import Settings, example_milestones
from cpor_excel.model.workbook import Prepared
from cpor_excel.rules.drafts import claims_to_draft, consent_window_end

AS_OF = dt.date(2025, 4, 1)


def prepared(
    rows: list[dict[str, Any]],
    customer_numbers: tuple[int, ...] = (1, 2, 3),
    drafted: tuple[str, ...] = (),
    settings: Settings | None = None,
    customer_frame: pd.DataFrame | None = None,
) -> Prepared:
    drafts = pd.DataFrame(
        [[c, tenant(1), "x@y.example", "s", f"{c}.eml", "2025-03-01", None] for c in drafted],
        columns=list(DRAFTS_HEADER),
        dtype=object,
    )
    return Prepared(
        customers=customer_frame if customer_frame is not None else customers(customer_numbers),
        associations=associations(rows),
        usage=usage([]),
        milestones=example_milestones(),
        settings=settings or Settings(),
        ledger=ledger([]),
        drafts=drafts,
        example_program=False,
    )


def draft(claim: str, tenant_no: int = 1, workload: str = EXO, **kw: Any) -> dict[str, Any]:
    kw.setdefault("status", "Draft")
    kw.setdefault("submitted", None)
    kw.setdefault("approved", None)
    return association(claim, tenant_no, workload, **kw)


def submitted(claim: str, tenant_no: int = 1, workload: str = EXO, **kw: Any) -> dict[str, Any]:
    kw.setdefault("status", "Submitted")
    kw.setdefault("submitted", "2025-03-31")
    kw.setdefault("approved", None)
    return association(claim, tenant_no, workload, **kw)


def where(findings: list[Finding]) -> list[tuple[str, int | None, str | None, str, str | None]]:
    return [(f.sheet, f.row, f.column, f.code, f.claim_id) for f in findings]


def test_draft_and_submitted_claims_with_a_signed_poe_get_one_email_each() -> None:
    rows = [
        draft("C-DRAFT", 1),  # row 2
        submitted("C-SUB", 2),  # row 3
        association("C-APPROVED", 3),  # row 4: Microsoft has long notified this customer
        draft("C-NOPOE", 1, TEAMS, poe=None),  # row 5: not ready; no finding, nothing is wrong yet
        association("C-REJ", 2, TEAMS, status="Rejected"),  # row 6
    ]
    requests, findings = claims_to_draft(prepared(rows), [], Settings(), AS_OF)
    assert [(r.claim_id, r.rows) for r in requests] == [("C-DRAFT", (2,)), ("C-SUB", (3,))]
    assert findings == []


def test_a_claim_of_three_workloads_is_one_email_naming_all_three_sorted() -> None:
    rows = [submitted("C1", 1, TEAMS), submitted("C1", 1, EXO), submitted("C1", 1, SPO)]
    (request,), findings = claims_to_draft(prepared(rows), [], Settings(), AS_OF)
    assert request.rows == (2, 3, 4)
    assert request.workloads == (EXO, TEAMS, SPO) == tuple(sorted([TEAMS, EXO, SPO]))
    assert findings == []


def test_the_request_carries_customer_partner_poe_and_window() -> None:
    frame = customers([1])
    frame.loc[2, ["Language", "Public Sector", "Country", "Contact Title"]] = ["de", True, "DE", "CIO"]
    rows = [submitted("C1", 1, poe="2025-03-03")]
    rows[0]["POE Reference"] = "POE C1 signed.pdf"
    (request,), _ = claims_to_draft(prepared(rows, customer_frame=frame), [], Settings(), AS_OF)
    c, p = request.customer, request.partner
    assert (c.name, c.tenant_id, c.domain, c.contact_email) == (
        "Customer 1",
        tenant(1),
        "customer1.example",
        "it@customer1.example",
    )
    assert (c.contact_name, c.contact_title, c.public_sector, c.language, c.country) == (
        "Casey Customer",
        "CIO",
        True,
        "de",
        "DE",
    )
    assert (p.id, p.name, p.contact_name, p.contact_email) == (
        "1000001",
        "Partner 1000001",
        "Pat Partner",
        "pat@partner.example",
    )
    assert request.poe_reference == "POE C1 signed.pdf"
    assert request.poe_signed == dt.date(2025, 3, 3)
    assert request.submitted == dt.date(2025, 3, 31)
    # Monday 31 March + 5 business days = Monday 7 April
    assert (request.window_ends, request.window_days) == (dt.date(2025, 4, 7), 5)


def test_window_length_is_the_partners_setting_and_none_before_submission() -> None:
    rows = [submitted("C1", 1, submitted="2025-04-04"), draft("C2", 2)]  # Friday
    requests, _ = claims_to_draft(prepared(rows), [], Settings(consent_window_business_days=7), AS_OF)
    assert [(r.claim_id, r.window_ends, r.window_days) for r in requests] == [
        ("C1", dt.date(2025, 4, 15), 7),  # Fri + 7 business days = Tue after next
        ("C2", None, 7),
    ]


def test_window_end_counts_a_weekend_submission_from_the_friday_before() -> None:
    submitted_on = pd.Series(pd.to_datetime(["2025-04-05", "2025-04-07", None]))  # Sat, Mon, none
    ends = consent_window_end(submitted_on, 5)
    assert ends.dt.date.tolist()[:2] == [dt.date(2025, 4, 11), dt.date(2025, 4, 14)]
    assert pd.isna(ends.iloc[2])


def test_an_error_on_any_row_of_the_claim_holds_the_whole_claim_back_silently() -> None:
    rows = [submitted("C1", 1, EXO), submitted("C1", 1, TEAMS), submitted("C2", 2)]
    errors = [
        Finding("poe-too-old", "Associations", "old", row=3, column="POE Signed", claim_id="C1"),
        Finding("future-date", "Associations", "a warning does not hold back", row=4, column="Created"),
        Finding("bad-type", "Usage", "same row number on another sheet", row=4, column="Month"),
    ]
    requests, findings = claims_to_draft(prepared(rows), errors, Settings(), AS_OF)
    assert [r.claim_id for r in requests] == ["C2"]
    assert findings == []  # the poe-too-old error already tells the partner


def test_a_claim_already_in_consent_drafts_is_not_drafted_again() -> None:
    rows = [submitted("C1", 1), submitted("C2", 2)]
    requests, findings = claims_to_draft(prepared(rows, drafted=("C1",)), [], Settings(), AS_OF)
    assert [r.claim_id for r in requests] == ["C2"]
    assert findings == []


def test_customer_problems_are_draft_not_written_on_the_claims_first_row() -> None:
    frame = customers([1, 2, 3])
    frame.loc[3, "Contact Email"] = None  # customer 2: the bad address was already nulled by validation
    rows = [
        submitted("C-BADROW", 1, TEAMS),  # row 2; customer 1's row has an error
        submitted("C-BADROW", 1, EXO),  # row 3
        submitted("C-NOMAIL", 2),  # row 4
        submitted("C-NOCUST", 9),  # row 5: tenant 9 is not in Customers
        submitted("C-OK", 3),  # row 6
    ]
    customer_error = Finding("bad-domain", "Customers", "bad domain", row=2, column="Domain")
    requests, findings = claims_to_draft(
        prepared(rows, customer_frame=frame), [customer_error], Settings(), AS_OF
    )
    assert [r.claim_id for r in requests] == ["C-OK"]
    assert where(findings) == [
        ("Associations", 2, "Claim ID", "draft-not-written", "C-BADROW"),
        ("Associations", 4, "Claim ID", "draft-not-written", "C-NOMAIL"),
        ("Associations", 5, "Claim ID", "draft-not-written", "C-NOCUST"),
    ]
    assert all(f.severity.value == "warning" for f in findings)
    # the message says why: the Customers row, or the tenant
    assert "row 2" in findings[0].message and "row 3" in findings[1].message
    assert tenant(9) in findings[2].message


def test_tenant_ids_match_whatever_their_case() -> None:
    rows = [submitted("C1", 1)]
    rows[0]["Tenant ID"] = tenant(1).upper()
    (request,), findings = claims_to_draft(prepared(rows), [], Settings(), AS_OF)
    assert (request.customer.tenant_id, findings) == (tenant(1), [])


def test_nothing_to_draft_on_an_empty_sheet() -> None:
    assert claims_to_draft(prepared([]), [], Settings(), AS_OF) == ([], [])


def test_selection_is_vectorised_on_a_large_sheet() -> None:
    n = 60_000  # claims of one row each; only every 1000th is a Draft with a POE
    rows = pd.DataFrame(
        {
            "Claim ID": [f"C{i}" for i in range(n)],
            "Tenant ID": tenant(1),
            "Workload": EXO,
            "Partner ID": "1000001",
            "Partner Name": "P",
            "Partner Contact Name": "Pat",
            "Partner Contact Email": "pat@partner.example",
            "Status": ["Draft" if i % 1000 == 0 else "Approved" for i in range(n)],
            "Created": pd.Timestamp("2025-01-02"),
            "POE Signed": pd.Timestamp("2025-01-03"),
            "POE Reference": None,
            "Submitted": pd.NaT,
            "Approved": pd.NaT,
            "Ended": pd.NaT,
        },
        index=pd.RangeIndex(2, n + 2),
    )
    base = prepared([])
    big = dataclasses.replace(base, associations=rows)
    start = time.perf_counter()
    requests, findings = claims_to_draft(big, [], Settings(), AS_OF)
    elapsed = time.perf_counter() - start
    assert [r.claim_id for r in requests] == [f"C{i}" for i in range(0, n, 1000)]
    assert findings == []
    assert elapsed < 2.0, f"took {elapsed:.2f}s"


@pytest.mark.parametrize("claim_id", ["", None])
def test_rows_without_a_claim_id_are_left_to_validation(claim_id: str | None) -> None:
    rows = [submitted("C1", 1)]
    rows[0]["Claim ID"] = claim_id
    assert claims_to_draft(prepared(rows), [], Settings(), AS_OF) == ([], [])

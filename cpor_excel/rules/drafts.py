"""Which claims get a consent pre-notification email (SPEC "Email drafts"). Pure: frames in, requests out.

A claim is drafted once: when it is in Draft or Submitted, its POE is signed, none of its Associations rows
has an error, and the Consent Drafts sheet has no row for it yet. Claims held back by an error on their own
rows are not reported again (the error already is); claims held back by their *customer* get
`draft-not-written`, because nothing else would tell the partner why no email appeared.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from cpor_excel.model.catalogue import DEFAULT_LANGUAGE
from cpor_excel.model.evaluation import Customer, DraftRequest, Partner
from cpor_excel.model.findings import CODES, Finding, Severity
from cpor_excel.model.program import Settings
from cpor_excel.model.workbook import Prepared
from cpor_excel.rules.consent import window_anchor, window_ends

#: statuses in which the customer has not yet been (or is just being) notified by Microsoft
DRAFT_STATUSES = ("Draft", "Submitted")


def consent_window_end(submitted: pd.Series, business_days: int) -> pd.Series:
    """The anchor date (Submitted or Approved) + N business days, NaT where there is none: the same date as
    the Consent Window Ends column, so the email and the workbook never disagree."""
    days = pd.to_datetime(submitted, errors="coerce").to_numpy(dtype="datetime64[D]")
    return pd.Series(window_ends(days, business_days).astype("datetime64[ns]"), index=submitted.index)


def claims_to_draft(
    prepared: Prepared,
    findings: list[Finding],
    settings: Settings,
    as_of: dt.date,
) -> tuple[list[DraftRequest], list[Finding]]:
    """The claims that get a consent email now, and a `draft-not-written` finding for each claim that
    should get one but whose customer row does not allow it. ``as_of`` is unused by the selection today
    but kept in the signature so the rule, like every rule, is a function of the as-of date."""
    del as_of
    assoc = prepared.associations
    if assoc.empty:
        return [], []
    claim = assoc["Claim ID"].astype(object)
    stripped = claim.astype(str).str.strip()
    named = claim.notna() & (stripped != "")
    assoc, claim_ids = assoc[named], stripped[named]
    if assoc.empty:
        return [], []

    error_rows = _error_rows(findings)
    per_claim = pd.DataFrame(
        {
            "open": assoc["Status"].isin(DRAFT_STATUSES),
            "error": assoc.index.isin(list(error_rows.get("Associations", ()))),
            "poe": pd.to_datetime(assoc["POE Signed"], errors="coerce"),
        },
        index=assoc.index,
    ).groupby(claim_ids.to_numpy(), sort=False)
    wanted = per_claim["open"].any() & ~per_claim["error"].any() & per_claim["poe"].max().notna()
    already = set(_drafted_claims(prepared.drafts))
    wanted &= ~wanted.index.isin(list(already))
    chosen = wanted[wanted].index
    if chosen.empty:
        return [], []

    rows = assoc[claim_ids.isin(chosen)].copy()
    rows["_claim"] = claim_ids[rows.index]
    rows["_tenant"] = rows["Tenant ID"].astype(str).str.strip().str.lower()
    rows["Submitted"] = pd.to_datetime(rows["Submitted"], errors="coerce")
    rows["POE Signed"] = pd.to_datetime(rows["POE Signed"], errors="coerce")
    rows["Approved"] = pd.to_datetime(rows["Approved"], errors="coerce")
    claims = _claim_facts(rows, settings.consent_window_business_days, window_anchor(settings))
    customers = _customer_lookup(
        prepared.customers, error_rows.get("Customers", set()), set(claims["tenant"].astype(str))
    )

    requests: list[DraftRequest] = []
    held_back: list[Finding] = []
    for claim_id, facts in zip(
        claims.index, _records(claims), strict=True
    ):  # one pass per email, not per row
        first_row = int(facts["first_row"])
        customer, why_not = _customer_for(customers, str(facts["tenant"]))
        if customer is None:
            held_back.append(
                Finding(
                    "draft-not-written",
                    "Associations",
                    f"No consent email drafted for claim {claim_id}: {why_not}",
                    row=first_row,
                    column="Claim ID",
                    claim_id=str(claim_id),
                )
            )
            continue
        requests.append(
            DraftRequest(
                claim_id=str(claim_id),
                rows=tuple(int(r) for r in facts["rows"]),
                customer=customer,
                partner=Partner(
                    id=_text(facts["Partner ID"]),
                    name=_text(facts["Partner Name"]),
                    contact_name=_text(facts["Partner Contact Name"]),
                    contact_email=_text(facts["Partner Contact Email"]),
                ),
                workloads=tuple(facts["workloads"]),
                poe_reference=_text(facts["POE Reference"]) or None,
                poe_signed=pd.Timestamp(facts["POE Signed"]).date(),
                submitted=_date(facts["Submitted"]),
                window_ends=_date(facts["window_ends"]),
                window_days=settings.consent_window_business_days,
                window_starts=window_anchor(settings),
            )
        )
    return requests, held_back


def _error_rows(findings: list[Finding]) -> dict[str, set[int]]:
    """The Excel rows with an error, by sheet: one pass over what may be tens of thousands of findings,
    comparing codes rather than calling ``severity`` on each."""
    errors = {code for code, (severity, _) in CODES.items() if severity is Severity.ERROR}
    rows: dict[str, set[int]] = {}
    for f in findings:
        if f.row is not None and f.code in errors:
            rows.setdefault(f.sheet, set()).add(f.row)
    return rows


def _drafted_claims(drafts: pd.DataFrame) -> list[str]:
    if drafts is None or drafts.empty or "Claim ID" not in drafts:
        return []
    ids = drafts["Claim ID"].dropna().astype(str).str.strip()
    return ids[ids != ""].tolist()


def _claim_facts(rows: pd.DataFrame, window_days: int, anchor: str) -> pd.DataFrame:
    """One row per claim (in sheet order): the facts the email states, taken from the claim's rows."""
    rows = rows.sort_index()
    rows["_row"] = rows.index
    grouped = rows.groupby("_claim", sort=False)
    # rows of one claim share tenant and partner (claim-mismatch is an error otherwise); take the first
    facts = grouped[
        ["_tenant", "Partner ID", "Partner Name", "Partner Contact Name", "Partner Contact Email"]
    ].first()
    facts = facts.rename(columns={"_tenant": "tenant"})
    facts["first_row"] = grouped["_row"].min()
    facts["rows"] = _lists(rows["_claim"], rows["_row"], facts.index)
    workloads = rows[["_claim", "Workload"]].dropna().drop_duplicates().sort_values(["_claim", "Workload"])
    facts["workloads"] = _lists(workloads["_claim"], workloads["Workload"].astype(str), facts.index)
    # Microsoft reviews the most recent POE; the earliest submission gives the earliest window end,
    # so the customer is never told a later date than the one that applies
    facts["POE Signed"] = grouped["POE Signed"].max()
    facts["Submitted"] = grouped["Submitted"].min()
    reference = rows["POE Reference"].where(rows["POE Reference"].astype(str).str.strip() != "")
    facts["POE Reference"] = reference.groupby(rows["_claim"], sort=False).first()
    facts["window_ends"] = consent_window_end(grouped[anchor].min(), window_days)
    return facts.sort_values("first_row")


def _lists(keys: pd.Series, values: pd.Series, order: pd.Index) -> pd.Series:
    """The values of each key as a list (in their current order), aligned to ``order``; [] for none.
    One stable sort and a split instead of a Python function per group."""
    codes = pd.Categorical(keys, categories=order).codes
    sorter = np.argsort(codes, kind="stable")
    counts = np.bincount(codes[codes >= 0], minlength=len(order))
    chunks = np.split(values.to_numpy(dtype=object)[sorter][codes[sorter] >= 0], np.cumsum(counts)[:-1])
    return pd.Series([chunk.tolist() for chunk in chunks], index=order, dtype=object)


def _customer_lookup(
    customers: pd.DataFrame, error_rows: set[int], tenants: set[str]
) -> dict[str, dict[str, Any]]:
    """The wanted tenants' Customers rows by lower-case Tenant ID (the first row wins: a second one is
    already a duplicate-key error)."""
    frame = customers[customers["Tenant ID"].notna()].copy()
    frame["_tenant"] = frame["Tenant ID"].astype(str).str.strip().str.lower()
    frame = frame[frame["_tenant"].isin(list(tenants))].drop_duplicates("_tenant", keep="first")
    frame["_row"] = frame.index
    frame["_error"] = frame.index.isin(list(error_rows))
    return dict(zip(frame["_tenant"].astype(str), _records(frame.drop(columns="_tenant")), strict=True))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows as dicts by column name; several times faster than ``to_dict("records")``, which boxes
    every value (the callers read values through ``_text``, ``_yes`` and ``_date``, which take either)."""
    columns = [str(c) for c in frame.columns]
    return [dict(zip(columns, values, strict=True)) for values in frame.itertuples(index=False, name=None)]


def _customer_for(customers: dict[str, dict[str, Any]], tenant: str) -> tuple[Customer | None, str]:
    row = customers.get(tenant)
    if row is None:
        return None, f"tenant {tenant} is not in the Customers sheet; add the customer and run again."
    excel_row = int(row["_row"])
    if bool(row["_error"]):
        return None, f"Customers row {excel_row} has errors; correct them and run again."
    email = _text(row.get("Contact Email"))
    if not email:
        return None, f"Customers row {excel_row} has no valid Contact Email; fill it in and run again."
    language = _text(row.get("Language")).lower() or DEFAULT_LANGUAGE
    return (
        Customer(
            name=_text(row.get("Customer Name")),
            tenant_id=tenant,
            domain=_text(row.get("Domain")),
            contact_name=_text(row.get("Contact Name")),
            contact_title=_text(row.get("Contact Title")),
            contact_email=email,
            public_sector=_yes(row.get("Public Sector")),
            language=language,
            country=_text(row.get("Country")),
        ),
        "",
    )


def _text(value: object) -> str:
    if value is None:
        return ""
    try:
        if pd.isna(value):  # type: ignore[call-overload]
            return ""
    except (TypeError, ValueError):
        pass
    return str(value).strip()


def _yes(value: object) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    return _text(value).casefold() in {"yes", "y", "true", "1", "ja", "oui", "si", "sí"}


def _date(value: object) -> dt.date | None:
    if value is None or value is pd.NaT:
        return None
    stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    return None if pd.isna(stamp) else stamp.date()

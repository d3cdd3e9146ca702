"""What a run decides (plain data): the rules' output, before anything is written anywhere."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cpor_excel.model.findings import Finding


@dataclass(frozen=True)
class Customer:
    name: str
    tenant_id: str
    domain: str
    contact_name: str
    contact_title: str
    contact_email: str
    public_sector: bool
    language: str
    country: str


@dataclass(frozen=True)
class Partner:
    id: str  # Partner ID (MPN ID)
    name: str
    contact_name: str
    contact_email: str


@dataclass(frozen=True)
class DraftRequest:
    """A claim that gets a consent email now (``rules/drafts.py``): everything its template needs."""

    claim_id: str
    rows: tuple[int, ...]  # the claim's Associations rows (Excel row numbers)
    customer: Customer
    partner: Partner
    workloads: tuple[str, ...]  # canonical names, sorted
    poe_reference: str | None
    poe_signed: dt.date
    submitted: dt.date | None
    window_ends: dt.date | None  # the anchor date + window_days business days; None until that date is known
    window_days: int
    window_starts: str = (
        "Submitted"  # what the window counts from (Consent Window Starts): Submitted or Approved
    )


@dataclass
class Draft:
    """One consent pre-notification email, rendered and written where the run's drafts go."""

    claim_id: str
    tenant_id: str
    to: str  # the customer contact's address
    subject: str
    file_name: str  # safe file name inside the drafts folder
    message: Any  # cpor_excel.mail.render.ConsentEmail (the .eml bytes and its headers)
    rows: list[int] = field(default_factory=list)  # Association rows of the claim


@dataclass
class Evaluation:
    as_of: dt.date
    findings: list[Finding]
    #: index = Associations Excel row; one column per tool column of Associations after Check Result and
    #: Check Notes (Conflicts With, Consent Window Ends, ...), str or None
    association_columns: pd.DataFrame
    #: tool sheet name -> the rows a run adds to it (its header's columns), in a deterministic order
    rows: dict[str, pd.DataFrame] = field(default_factory=dict)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    #: the claims that get a consent email now; ``drafts`` are those the run's draft sink wrote
    draft_requests: list[DraftRequest] = field(default_factory=list)
    drafts: list[Draft] = field(default_factory=list)
    #: `draft-not-written` for claims that should get an email but cannot (their customer row): a run that
    #: drafts reports them with the drafts
    held_back: list[Finding] = field(default_factory=list)

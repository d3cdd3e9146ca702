"""What a run decides (plain data): the rules' output, before anything is written anywhere."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cpor_excel.model.findings import Finding


@dataclass
class Draft:
    """One consent pre-notification email, rendered and ready to be written as an .eml file."""

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
    #: index = Associations Excel row; columns: Conflicts With, Consent Window Ends, Milestones Reached,
    #: Next Milestone, Consent Draft (str or None)
    association_columns: pd.DataFrame
    #: new Milestone Ledger rows (LEDGER_HEADER columns), in a deterministic order
    new_ledger_rows: pd.DataFrame
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    drafts: list[Draft] = field(default_factory=list)

"""Findings are data: every problem the tool reports is one of these, with a stable code."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO

#: code -> (severity, what it means). The README's table of codes is checked against this by a test.
CODES: dict[str, tuple[Severity, str]] = {
    # can the workbook be read at all
    "missing-sheet": (E, "A required sheet (Customers, Associations, Usage) is missing."),
    "missing-column": (E, "A required column is missing from a sheet's header row."),
    "header-not-found": (E, "No row among a sheet's first 10 names any of its columns: no row is checked."),
    "duplicate-column": (W, "Two headers name the same column; only the first (leftmost) is read."),
    "example-program": (
        W,
        "No Milestones sheet, or the marked example one: the *example* milestone table is in use.",
    ),
    "bad-setting": (
        E,
        "A Settings value is not of the right kind (a number, a month, ...); the default was used.",
    ),
    "unknown-setting": (W, "A Settings row names a setting the tool does not know."),
    # cells
    "missing-value": (E, "A required cell is empty."),
    "bad-type": (E, "A cell holds the wrong kind of value (text in a number or date column, ...)."),
    "ambiguous-date": (
        E,
        "A text date such as 03/04/2025; write dates as real dates, YYYY-MM-DD or YYYY-MM.",
    ),
    "formula-error": (E, "A formula cell shows an error such as #N/A or #REF!."),
    "uncalculated-formula": (
        E,
        "A formula cell saved without its result: the workbook was never calculated.",
    ),
    "bad-number": (E, "A count that is negative or not whole, or a number too large for any number type."),
    "bad-tenant-id": (E, "A Tenant ID that is not a GUID."),
    "bad-email": (E, "An email address that is not valid."),
    "bad-domain": (E, "A customer domain that is not a domain name."),
    "bad-partner-id": (E, "A Partner ID (MPN ID) that is not all digits."),
    "unknown-workload": (E, "A workload name not in the catalogue (the message suggests the nearest)."),
    "unknown-status": (E, "A claim status the program does not have."),
    "unknown-role": (E, "A Partner Role Partner Center does not have (the message suggests the nearest)."),
    "unknown-reason": (
        W,
        "A Rejection Reason Partner Center does not give (the message suggests the nearest).",
    ),
    "unknown-language": (I, "A Language with no email template; English is used."),
    # keys
    "duplicate-key": (E, "Two rows share a key that must be unique in the sheet."),
    "unknown-tenant": (E, "A Tenant ID that is not in the Customers sheet."),
    "claim-mismatch": (E, "Rows of one Claim ID disagree on Tenant ID or Partner ID."),
    # dates and POE
    "date-order": (E, "Dates out of order: Created <= Submitted <= Approved <= Ended."),
    "status-date-mismatch": (E, "A status without its date (Submitted, Approved or Ended)."),
    "future-date": (W, "A date after the as-of date."),
    "poe-missing": (E, "A claim past Draft with no POE Signed date."),
    "poe-too-old": (E, "The POE was signed more than POE Max Age Months before submission."),
    "poe-after-submission": (E, "The POE was signed after the claim was submitted."),
    # associations
    "association-conflict": (
        E,
        "Another partner's claim on the same customer workload is live on the as-of date.",
    ),
    "duplicate-association": (W, "The same partner claims the same customer workload under another claim."),
    "consent-window-open": (I, "The customer's window to decline is still open."),
    # the claim lifecycle: deadlines
    "review-overdue": (
        W,
        "Submitted more than 5 business days, or Under review more than 14, and not decided: ask Microsoft.",
    ),
    "action-required": (W, "Partner action required: answer by Status Changed + 14 business days."),
    "action-required-overdue": (
        E,
        "Partner action required was not answered within 14 business days: Microsoft rejects such claims.",
    ),
    "dispute-window-open": (
        I,
        "Rejected for a reason other than Customer declined: it can be disputed once, within 30 days.",
    ),
    "poe-refresh": (
        W,
        "An approved claim's POE is POE Refresh Months old or more: a newer POE protects it in a conflict.",
    ),
    "incentive-opt-out": (
        I,
        "The claim opted out of incentive payments: it earns no milestones or usage pay.",
    ),
    "role-not-incentivised": (
        I,
        "The partner role is not Use or consume: the row earns no milestones or usage pay.",
    ),
    "public-sector-customer": (
        I,
        "A public-sector customer in the United States, Puerto Rico or India: Microsoft marks its usage "
        "ineligible (CUSPUBSEC) unless the partner answers its POE request.",
    ),
    # usage and milestones
    "usage-above-licences": (W, "Active users exceed paid units in a month."),
    "below-minimum-seats": (I, "Paid units below Minimum Paid Units: the month does not count."),
    "milestone-reached": (I, "A milestone was reached and added to the Milestone Ledger."),
    "usage-gate-exceeded": (
        W,
        "Usage at claim time was above the bucket's gate: the claim earns no milestones.",
    ),
    "ledger-unsupported": (W, "A Milestone Ledger row the usage no longer supports (the row is kept)."),
    # usage paid above the high-water mark
    "hwm-earned": (I, "Active users above the high-water mark are paid for new months (Earnings Ledger)."),
    "hwm-not-earned": (I, "New months on the high-water-mark model pay nothing (the message says why)."),
    "no-rate-card": (
        W,
        "No Rate Card (or no row for a workload): users are counted, amounts left blank.",
    ),
    # email drafts
    "draft-not-written": (W, "A consent email could not be drafted for a claim (the message says why)."),
    # the CPOR Report itself
    "report-truncated": (
        W,
        "More findings than a sheet holds: the CPOR Report lists the most severe and says how many it left out.",
    ),
    # Partner Center downloads (import-usage, import-earnings) and reconciliation with Microsoft's earnings
    "claim-not-in-workbook": (
        W,
        "A Partner Center report names a claim, or a workload of it, that Associations does not have.",
    ),
    "claim-partner-differs": (W, "A Partner Center report gives a claim another Partner ID (MpnId)."),
    "claim-date-differs": (
        I,
        "A Partner Center report associates a workload in another month than the claim's Approved date.",
    ),
    "earnings-ineligible": (
        W,
        "The Earnings Ledger expects pay for a month Microsoft calls ineligible (its reason in words).",
    ),
    "earnings-missing": (
        W,
        "The Earnings Ledger expects pay for a month an imported Earnings download covers, and Microsoft has no row.",
    ),
    "earnings-differ": (
        I,
        "Microsoft paid a month for another number of users than the Earnings Ledger expects.",
    ),
    "earnings-unexpected": (I, "Microsoft paid a month the Earnings Ledger does not expect paid."),
}


#: the Check Result of a row, by rank: a row shows its worst finding (an association conflict outranks any
#: other error, so it stands out)
RESULT_LEVELS = ("OK", "WARNING", "ERROR", "CONFLICT")
_RESULT_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


def result_rank(code: str) -> int:
    """The rank in ``RESULT_LEVELS`` of a row with a finding of ``code``."""
    return 3 if code == "association-conflict" else _RESULT_RANK[CODES[code][0]]


@dataclass(frozen=True)
class Finding:
    """One problem, addressed as the spreadsheet shows it (row 1 is the header row)."""

    code: str
    sheet: str
    message: str
    row: int | None = None  # Excel row number
    column: str | None = None  # canonical column name, e.g. "Tenant ID"
    cell: str | None = None  # A1 address, e.g. "B7"
    claim_id: str | None = None
    workbook: str | None = None  # set by batch runs

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown finding code {self.code!r}")

    @property
    def severity(self) -> Severity:
        return CODES[self.code][0]

    def to_dict(self) -> dict[str, Any]:
        out = {"severity": self.severity.value, **asdict(self)}
        out.pop("workbook")
        if self.workbook is not None:
            out["workbook"] = self.workbook
        return out


def findings_for_rows(
    code: str | Sequence[str],
    sheet: str,
    rows: Any,
    messages: Any,
    column: str | None = None,
    claim_ids: Any = None,
) -> list[Finding]:
    """Many findings at once: ``rows`` (Excel row numbers) with a message each (or one for all), of one code
    (or a code each) and optionally a claim id each. Cells are filled in later from the sheet layout
    (``apply.locate``).

    Each code is checked once for all of them, not once per finding: a run makes tens of thousands."""
    numbers = [int(r) for r in (rows.tolist() if hasattr(rows, "tolist") else rows)]  # (no numpy scalars)
    codes = [code] * len(numbers) if isinstance(code, str) else list(code)
    for one in {code} if isinstance(code, str) else set(codes):
        if one not in CODES:
            raise ValueError(f"unknown finding code {one!r}")
    msgs = [messages] * len(numbers) if isinstance(messages, str) else list(map(str, messages))
    ids = [None] * len(numbers) if claim_ids is None else [None if c is None else str(c) for c in claim_ids]
    if not len(msgs) == len(ids) == len(numbers) == len(codes):
        raise ValueError("findings_for_rows needs one message, code and claim id per row")
    made = []
    new = object.__new__
    shared = {**_UNSET, "sheet": sheet, "column": column}
    for one, row, message, claim_id in zip(codes, numbers, msgs, ids, strict=True):
        finding = new(Finding)  # what Finding(...) makes, without checking the code again
        fields = finding.__dict__
        fields.update(shared)
        fields["code"], fields["message"], fields["row"], fields["claim_id"] = one, message, row, claim_id
        made.append(finding)
    return made


#: every field of a Finding at its default (``findings_for_rows`` starts from it)
_UNSET = {f.name: f.default for f in dataclasses.fields(Finding)}

"""The workbook's sheets and columns (SPEC "The workbook"), and the tool's own columns and sheets.

Frames everywhere in the package use the *canonical* column names below ("Tenant ID", "Paid Units") as
their column labels and the Excel row number as their index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Kind(str, Enum):
    TEXT = "text"
    GUID = "guid"
    EMAIL = "email"
    DOMAIN = "domain"
    DIGITS = "digits"
    DATE = "date"
    MONTH = "month"
    COUNT = "count"  # whole number >= 0
    NUMBER = "number"
    PERCENT = "percent"  # fraction; a number > 1 is read as a percent
    YESNO = "yesno"
    WORKLOAD = "workload"
    STATUS = "status"
    LANGUAGE = "language"
    ROLE = "role"  # a partner role (catalogue)
    REASON = "reason"  # a rejection reason (catalogue)


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = Kind.TEXT
    required: bool = True  # the header must be present; cells may still be conditionally optional
    aliases: tuple[str, ...] = ()
    nullable: bool = False  # may a cell be empty (ignoring conditional rules)
    not_negative: bool = False  # a number that may not be below zero (counts and percentages never are)


@dataclass(frozen=True)
class SheetSpec:
    name: str
    columns: tuple[Column, ...]
    required: bool = True
    key: tuple[str, ...] = ()  # unique together
    aliases: tuple[str, ...] = ()
    tool_columns: tuple[str, ...] = ("Check Result", "Check Notes")
    extra: dict[str, str] = field(default_factory=dict)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


C = Column
CUSTOMERS = SheetSpec(
    "Customers",
    (
        C("Tenant ID", Kind.GUID, aliases=("CustomerTenantId", "Directory ID", "Customer Tenant ID")),
        C("Customer Name", aliases=("CustomerName",)),
        C("Domain", Kind.DOMAIN, aliases=("Primary Domain", "Customer Domain")),
        C("Contact Name", aliases=("Customer Contact Name",)),
        C("Contact Title", aliases=("Customer Contact Title",)),
        C("Contact Email", Kind.EMAIL, aliases=("Customer Contact Email",)),
        C("Country", required=False, nullable=True, aliases=("CustomerMarket", "Market")),
        C("Public Sector", Kind.YESNO, required=False, nullable=True),
        C("Language", Kind.LANGUAGE, required=False, nullable=True),
    ),
    key=("Tenant ID",),
)

ASSOCIATIONS = SheetSpec(
    "Associations",
    (
        C("Claim ID"),
        C("Tenant ID", Kind.GUID, aliases=("CustomerTenantId", "Directory ID", "Customer Tenant ID")),
        C("Workload", Kind.WORKLOAD, aliases=("WorkloadName",)),
        C("Partner ID", Kind.DIGITS, aliases=("MPN ID", "PartnerID", "MPNId")),
        C("Partner Name", aliases=("PartnerName",)),
        C("Partner Contact Name"),
        C("Partner Contact Email", Kind.EMAIL),
        C("Status", Kind.STATUS),
        C("Created", Kind.DATE),
        C("POE Signed", Kind.DATE, nullable=True),
        C("POE Reference", required=False, nullable=True),
        C("Submitted", Kind.DATE, nullable=True),
        C("Approved", Kind.DATE, nullable=True),
        C("Ended", Kind.DATE, required=False, nullable=True),
        # from FY24 (SPEC "Additions of December 2026"): optional, so older workbooks keep working
        C("Status Changed", Kind.DATE, required=False, nullable=True, aliases=("StatusChanged",)),
        C("Rejection Reason", Kind.REASON, required=False, nullable=True, aliases=("RejectionReason",)),
        C("Partner Role", Kind.ROLE, required=False, nullable=True, aliases=("Role", "PartnerRole")),
        C(
            "Incentive Opt-out",
            Kind.YESNO,
            required=False,
            nullable=True,
            aliases=("Opt-out", "Opt out of incentives", "IncentiveOptOut"),
        ),
    ),
    key=("Claim ID", "Workload"),
    tool_columns=(
        "Check Result",
        "Check Notes",
        "Conflicts With",
        "Consent Window Ends",
        "Milestones Reached",
        "Next Milestone",
        "Consent Draft",
        "Next Deadline",
        "High-Water Mark",
        "Earned",
    ),
)

USAGE = SheetSpec(
    "Usage",
    (
        C("Tenant ID", Kind.GUID, aliases=("CustomerTenantId", "Customer Tenant ID")),
        C("Workload", Kind.WORKLOAD, aliases=("WorkloadName",)),
        C("Month", Kind.MONTH),
        C("Active Users", Kind.COUNT, aliases=("MonthlyActiveUsers", "MAU")),
        C("Paid Units", Kind.COUNT, aliases=("PaidAvailableUnits", "PAU")),
    ),
    key=("Tenant ID", "Workload", "Month"),
)

MILESTONES = SheetSpec(
    "Milestones",
    (
        C("Workload"),  # a catalogue workload or "*"
        C("Bucket"),
        C("Min Paid Units", Kind.COUNT),
        C("Max Paid Units", Kind.COUNT, nullable=True),
        C("Milestone"),
        C("Active Usage %", Kind.PERCENT, aliases=("Active Usage", "Usage %", "Threshold")),
        C("Payment", Kind.NUMBER, required=False, nullable=True),
        C("Currency", required=False, nullable=True),
        C(
            "Max Usage % At Claim",
            Kind.PERCENT,
            required=False,
            nullable=True,
            aliases=("Max Usage At Claim",),
        ),
    ),
    required=False,
    key=("Workload", "Bucket", "Milestone"),
    tool_columns=(),
)

RATE_CARD = SheetSpec(
    "Rate Card",
    (
        C("Workload"),  # a catalogue workload or "*"
        C("Rate per User", Kind.NUMBER, aliases=("Rate", "Rate per Active User"), not_negative=True),
        C("Currency", required=False, nullable=True),
        C("Min New Users", Kind.COUNT, required=False, nullable=True, aliases=("Minimum New Users",)),
        C(
            "Max Paid Users",
            Kind.COUNT,
            required=False,
            nullable=True,
            aliases=("Maximum Paid Users", "Max Units"),
        ),
        C("Time Cap Months", Kind.COUNT, required=False, nullable=True, aliases=("Time Cap",)),
    ),
    required=False,
    key=("Workload",),
    aliases=("Rates", "Rate Card HWM"),
    tool_columns=(),
)

SETTINGS = SheetSpec(
    "Settings",
    (C("Setting"), C("Value", Kind.TEXT, nullable=True)),
    required=False,
    key=("Setting",),
    tool_columns=(),
)

#: the data sheets, in the order they are read and reported
DATA_SHEETS: tuple[SheetSpec, ...] = (CUSTOMERS, ASSOCIATIONS, USAGE, MILESTONES, RATE_CARD, SETTINGS)
SHEETS: dict[str, SheetSpec] = {s.name: s for s in DATA_SHEETS}

# The tool's own sheets (SPEC "What a run writes back"). A run replaces some each time and appends to the
# others (their rows never change); the ledgers and the drafts are read back by the next run, tolerantly
# (each column read as its kind, a cell that does not parse left empty, never reported).
REPLACED, APPENDED = "replaced", "appended"


@dataclass(frozen=True)
class ToolSheet:
    name: str
    columns: tuple[Column, ...]
    written: str  # REPLACED each run, or APPENDED to (rows never change)
    read_back: bool = False  # read by the next run

    @property
    def header(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)


def _tool_columns(*columns: str | Column) -> tuple[Column, ...]:
    """Tool sheet columns: text unless given as a Column; any may be empty."""
    return tuple(
        Column(c.name, c.kind, required=False, nullable=True) if isinstance(c, Column) else
        Column(c, required=False, nullable=True)
        for c in columns
    )  # fmt: skip


REPORT = ToolSheet(
    "CPOR Report", _tool_columns("Severity", "Code", "Sheet", "Cell", "Claim ID", "Message"), REPLACED
)
LEDGER = ToolSheet(
    "Milestone Ledger",
    _tool_columns(
        "Claim ID", C("Tenant ID", Kind.GUID), "Customer", C("Workload", Kind.WORKLOAD), C("Partner ID", Kind.DIGITS),
        "Bucket", "Milestone", C("Month Reached", Kind.MONTH), C("Active Users", Kind.COUNT),
        C("Paid Units", Kind.COUNT), C("Active Usage %", Kind.PERCENT), C("Payment", Kind.NUMBER), "Currency",
        C("Recorded On", Kind.DATE),
    ),
    APPENDED,
    read_back=True,
)  # fmt: skip
#: usage paid above the high-water mark, one row per (Tenant ID, Workload, Month) paid or not (rules/earnings.py)
EARNINGS = ToolSheet(
    "Earnings Ledger",
    _tool_columns(
        "Claim ID", C("Tenant ID", Kind.GUID), "Customer", C("Workload", Kind.WORKLOAD), C("Partner ID", Kind.DIGITS),
        C("Month", Kind.MONTH), C("Active Users", Kind.COUNT), C("Paid Units", Kind.COUNT),
        C("Prior High-Water Mark", Kind.COUNT), C("New Users", Kind.COUNT), C("Paid Users", Kind.COUNT),
        C("Rate per User", Kind.NUMBER), C("Amount", Kind.NUMBER), "Currency", "Reason", C("Recorded On", Kind.DATE),
    ),
    APPENDED,
    read_back=True,
)  # fmt: skip
DRAFTS = ToolSheet(
    "Consent Drafts",
    _tool_columns("Claim ID", C("Tenant ID", Kind.GUID), "To", "Subject", "File", "Created On", "Sent On"),
    APPENDED,
    read_back=True,
)
RUN_LOG = ToolSheet(
    "Run Log",
    _tool_columns(
        "Run At", "As Of", "Version", "Errors", "Warnings", "Conflicts", "New Milestones", "Drafts"
    ),
    APPENDED,
)
#: the Earnings Ledger against Microsoft Earnings, replaced each run (``rules/reconciliation.py``)
RECONCILIATION = ToolSheet(
    "Reconciliation",
    _tool_columns(
        C("Tenant ID", Kind.GUID), "Customer", C("Workload", Kind.WORKLOAD), C("Month", Kind.MONTH), "Claim ID",
        C("Partner ID", Kind.DIGITS), C("Paid Users", Kind.COUNT), C("Amount", Kind.NUMBER), "Currency", "Reason", "Microsoft",
        C("Microsoft Units", Kind.NUMBER), C("Microsoft Amount", Kind.NUMBER), "Microsoft Currency",
        "Microsoft Reason", "In Words", "Partner Can Act", "Agrees", "Note",
    ),
    REPLACED,
)  # fmt: skip
#: the tool sheets a run writes, in the order it writes them (new sheets are added in this order); the
#: Earnings Ledger only in a workbook that pays usage above the high-water mark, Reconciliation only in one
#: that has Microsoft Earnings (``apply.py``)
RUN_SHEETS: tuple[ToolSheet, ...] = (REPORT, LEDGER, EARNINGS, RECONCILIATION, DRAFTS, RUN_LOG)

REPORT_SHEET, REPORT_HEADER = REPORT.name, REPORT.header
LEDGER_SHEET, LEDGER_HEADER = LEDGER.name, LEDGER.header
EARNINGS_SHEET, EARNINGS_HEADER = EARNINGS.name, EARNINGS.header
DRAFTS_SHEET, DRAFTS_HEADER = DRAFTS.name, DRAFTS.header
RUN_LOG_SHEET, RUN_LOG_HEADER = RUN_LOG.name, RUN_LOG.header
#: name -> header of every tool sheet a run writes
TOOL_SHEETS: dict[str, tuple[str, ...]] = {sheet.name: sheet.header for sheet in RUN_SHEETS}
#: replaced each run: charts and the claims that need action now (``rules/dashboard.py``)
DASHBOARD_SHEET = "Dashboard"
#: the dashboard's title in its cell A1: how the tool knows a dashboard sheet as its own (a partner's own
#: sheet named Dashboard is never replaced)
DASHBOARD_TITLE = "CPOR Dashboard"
#: where the dashboard goes when the partner has a Dashboard sheet of their own; also the name earlier
#: versions gave the dashboard (such a sheet of the tool's is renamed Dashboard)
OTHER_DASHBOARD_SHEET = "CPOR Dashboard"

# Microsoft's side of the earnings (SPEC "Partner Center downloads, as they come"): `import-earnings` upserts
# these two (IMPORTED: a run reads them back to reconcile, never writes them).
IMPORTED = "imported"
MS_EARNINGS = ToolSheet(
    "Microsoft Earnings",
    _tool_columns(
        C("Tenant ID", Kind.GUID), "Customer", C("Workload", Kind.WORKLOAD), C("Month", Kind.MONTH), "Kind",
        "Claim ID", C("Partner ID", Kind.DIGITS), C("Active Users", Kind.COUNT), C("Paid Units", Kind.COUNT),
        C("Compensable Units", Kind.NUMBER), "Reason", C("Amount", Kind.NUMBER), "Currency",
        C("Amount USD", Kind.NUMBER), "Engagement", "Microsoft IDs", "Source", C("Imported On", Kind.DATE),
    ),
    IMPORTED,
    read_back=True,
)  # fmt: skip
EARNINGS_IMPORTS = ToolSheet(
    "Earnings Imports",
    _tool_columns(
        "File", "Report", C("From Month", Kind.MONTH), C("To Month", Kind.MONTH), C("Rows Read", Kind.COUNT),
        C("Modern Work Usage Rows", Kind.COUNT), C("Imported On", Kind.DATE),
    ),
    IMPORTED,
    read_back=True,
)  # fmt: skip
MS_EARNINGS_SHEET, MS_EARNINGS_HEADER = MS_EARNINGS.name, MS_EARNINGS.header
MS_EARNINGS_KEY = ("Tenant ID", "Workload", "Month", "Kind")
EARNED, INELIGIBLE = "Earned", "Ineligible"  # the Kind of a Microsoft Earnings row
EARNINGS_IMPORTS_SHEET, EARNINGS_IMPORTS_HEADER = EARNINGS_IMPORTS.name, EARNINGS_IMPORTS.header
RECONCILIATION_SHEET, RECONCILIATION_HEADER = RECONCILIATION.name, RECONCILIATION.header
#: every tool sheet a run reads back (its own and the imports')
READ_BACK_SHEETS: tuple[ToolSheet, ...] = tuple(
    sheet for sheet in (*RUN_SHEETS, MS_EARNINGS, EARNINGS_IMPORTS) if sheet.read_back
)
#: the SPEC's Earnings Ledger columns, as the reconciliation reads them (the ledger the high-water-mark rule
#: writes)
EARNINGS_LEDGER_COLUMNS = EARNINGS_HEADER

"""The workbook as data: what the reader produces and what the rules consume.

Two stages, so the rules never see raw cells:
- ``SheetTable``/``WorkbookData``: raw cell values under canonical headers (reader output).
- ``Prepared``: typed, validated frames (validation output); a cell that failed validation is NA here and
  its finding is already in ``Prepared.findings``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cpor_excel.model.findings import Finding
from cpor_excel.model.headers import column_letter
from cpor_excel.model.program import Settings


@dataclass
class SheetTable:
    """One sheet's data rows.

    ``frame``: object-dtype raw values; columns are the canonical names of the recognised columns followed
    by any extra user columns under their own header text; index = Excel row number (header is row 1, so
    data starts at 2). Wholly empty rows are dropped (the index keeps Excel row numbers). Empty cells are None.
    ``positions``: column label -> 0-based column index in the sheet (for A1 addresses and writing).
    ``width``: number of columns in the header row's used range.
    ``header_row``: the Excel row of the header (1, or a later row below a title); data starts below it.
    """

    name: str  # the sheet's name as it is in the workbook
    frame: pd.DataFrame
    positions: dict[str, int]
    width: int
    header_row: int = 1

    def cell(self, row: int, column: str) -> str | None:
        """A1 address of a data cell, or None when the column is not in the sheet."""
        pos = self.positions.get(column)
        return None if pos is None else f"{column_letter(pos)}{row}"


@dataclass(frozen=True)
class Numbered:
    """A column numbered once: a code per row (-1 where empty) and the distinct values the codes index."""

    codes: Any  # numpy array of int64, one per row
    values: Any  # numpy array of the distinct values


@dataclass
class WorkbookData:
    """Every sheet the tool reads, keyed by canonical sheet name (data sheets and tool sheets)."""

    source: str  # file name (or the live book's name) for messages and batch reports
    sheets: dict[str, SheetTable]
    findings: list[Finding] = field(default_factory=list)  # missing-sheet, missing-column, ...


@dataclass
class Prepared:
    """Typed frames the rules work on. Index = Excel row number; columns = canonical names.

    customers:    Tenant ID (str, lower-case GUID), Customer Name, Domain, Contact Name, Contact Title,
                  Contact Email, Country (str), Public Sector (bool), Language (str code, default "en")
    associations: Claim ID (str), Tenant ID (str), Workload (str, canonical), Partner ID (str of digits),
                  Partner Name, Partner Contact Name, Partner Contact Email, Status (str, canonical),
                  Created, POE Signed, Submitted, Approved, Ended (datetime64[ns], NaT when empty),
                  POE Reference (str)
    usage:        Tenant ID (str), Workload (str, canonical), Month (datetime64[ns], first of month),
                  Active Users, Paid Units (Int64)
    milestones:   Workload ("*" or canonical), Bucket, Min Paid Units (Int64), Max Paid Units (Int64, NA = no
                  bound), Milestone (str), Active Usage % (float fraction), Payment (float), Currency (str),
                  Max Usage % At Claim (float fraction, NaN = no gate)
    ledger:       existing Milestone Ledger rows, LEDGER_HEADER columns (Month Reached as datetime64, first
                  of month; Tenant ID lower case; Workload canonical); empty frame when the sheet is absent
    drafts:       existing Consent Drafts rows, DRAFTS_HEADER columns (str; Sent On str or None)
    Text columns hold str with surrounding spaces stripped, or None (pd.NA-free object columns).
    A cell that failed validation is None/NaT/NA, and its row is in ``bad_rows[sheet]``.
    """

    customers: pd.DataFrame
    associations: pd.DataFrame
    usage: pd.DataFrame
    milestones: pd.DataFrame
    settings: Settings
    ledger: pd.DataFrame
    drafts: pd.DataFrame
    example_program: bool  # the built-in example milestone table is in use
    findings: list[Finding] = field(default_factory=list)
    bad_rows: dict[str, set[int]] = field(default_factory=dict)
    #: the Rate Card's typed rows (RATE_CARD_COLUMNS), None when there is none or it is the marked example
    rate_card: pd.DataFrame | None = None
    rate_card_note: str = "missing"  # "" (in use), "example" or "missing"
    #: existing Earnings Ledger rows, EARNINGS_HEADER columns (Month a datetime, first of month)
    earnings: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: "" or why this run records no new ledger row: "earnings" (an unusable Rate Card) or "both" (a High-Water
    #: Mark From that is not a month)
    hold: str = ""
    #: Microsoft Earnings and Earnings Imports as `import-earnings` wrote them (MS_EARNINGS / EARNINGS_IMPORTS
    #: columns, read tolerantly); None when the workbook has no such sheet
    microsoft_earnings: pd.DataFrame | None = None
    earnings_imports: pd.DataFrame | None = None
    #: a big Usage sheet's Tenant ID and Workload as its parse numbered them (``Numbered``, by column): the
    #: rules that match usage rows by them take these numbers instead of hashing 500,000 texts again; empty
    #: when the sheet was not numbered (a small one), and the rules then number them themselves
    usage_numbers: dict[str, Numbered] = field(default_factory=dict)

    def frame(self, sheet: str) -> pd.DataFrame:
        """The typed frame of a sheet, by its canonical name (``PREPARED_FRAMES``)."""
        frame: pd.DataFrame = getattr(self, PREPARED_FRAMES[sheet])
        return frame

    def only(self, sheets: Collection[str]) -> Prepared:
        """A copy that holds only the given sheets: every other frame emptied (its columns kept) and, without
        Settings, the default settings. What a rule may read is what it declares (``rules/registry.py``)."""
        emptied: dict[str, Any] = {
            attr: None if getattr(self, attr) is None else getattr(self, attr).iloc[:0]
            for sheet, attr in PREPARED_FRAMES.items()
            if sheet not in sheets
        }
        settings = self.settings if "Settings" in sheets else Settings()
        return dataclasses.replace(self, **emptied, settings=settings)


#: canonical sheet name -> the ``Prepared`` field holding its typed frame (Settings is ``Prepared.settings``)
PREPARED_FRAMES: dict[str, str] = {
    "Customers": "customers",
    "Associations": "associations",
    "Usage": "usage",
    "Milestones": "milestones",
    "Rate Card": "rate_card",
    "Milestone Ledger": "ledger",
    "Earnings Ledger": "earnings",
    "Microsoft Earnings": "microsoft_earnings",
    "Earnings Imports": "earnings_imports",
    "Consent Drafts": "drafts",
}

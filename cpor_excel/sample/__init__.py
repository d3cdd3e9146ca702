"""`cpor-excel sample`: a realistic generated CPOR workbook, with a few problems planted at known cells.

The workbook reads like a distributor's: customers in five languages, claims from three or four resellers,
workloads typed the way partners type them ("EXO", "Teams"), claims in every status with dates that hang
together, and monthly usage that grows after a claim is submitted. Everything is clean except the planted
problems, which ``SampleInfo.planted`` lists as (sheet, Excel row, canonical column, finding code), so tests
can assert the checks find exactly those. A seed gives the same workbook every time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook

from cpor_excel.errors import UsageError
from cpor_excel.model.columns import ASSOCIATIONS, CUSTOMERS, RATE_CARD, USAGE, Column
from cpor_excel.model.program import RATE_CARD_COLUMNS, Settings
from cpor_excel.sample.generator import Generator, Planted, high_water_mark_from
from cpor_excel.workbook_new import (
    EXAMPLE_SOURCE_HEADER,
    TEMPLATE_ROWS,
    add_example_milestones,
    add_lists,
    add_settings,
    add_sheet,
    check_new_path,
    new_workbook,
    save_new,
)

DEFAULT_AS_OF = dt.date(2025, 11, 30)
MIN_CUSTOMERS = 10  # one customer per planted problem, and a few clean ones
MAX_CUSTOMERS = 8000  # ~100 usage rows each stays below Excel's 1,048,576 rows


@dataclass(frozen=True)
class SampleInfo:
    path: Path
    seed: int
    as_of: dt.date
    customers: int  # data rows per sheet
    associations: int
    usage: int
    planted: list[Planted]  # every problem in the workbook, sorted
    milestone_claims: list[str] = field(default_factory=list)  # Approved claims whose usage earns an M1


def create_sample(
    path: Path, customers: int = 40, seed: int = 7, as_of: dt.date = DEFAULT_AS_OF
) -> SampleInfo:
    """Write a generated CPOR workbook to ``path`` (refusing to overwrite) and say what was planted."""
    if not MIN_CUSTOMERS <= customers <= MAX_CUSTOMERS:
        raise UsageError(
            f"a sample has {MIN_CUSTOMERS} to {MAX_CUSTOMERS} customers, not {customers}: choose a count in that range"
        )
    path = check_new_path(path)
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    sample = Generator(customers, seed, as_of).run()
    book = new_workbook()
    add_sheet(book, CUSTOMERS.name, CUSTOMERS.columns, sample.customer_rows, _reach(sample.customer_rows))
    add_sheet(
        book,
        ASSOCIATIONS.name,
        ASSOCIATIONS.columns,
        sample.association_rows,
        _reach(sample.association_rows),
    )
    add_sheet(book, USAGE.name, USAGE.columns, sample.usage_rows, _reach(sample.usage_rows))
    add_example_milestones(book)
    add_sample_rate_card(book)
    add_settings(book, Settings(high_water_mark_from=high_water_mark_from(as_of)))
    add_lists(book)
    save_new(book, path)
    return SampleInfo(
        path=path,
        seed=seed,
        as_of=as_of,
        customers=len(sample.customer_rows),
        associations=len(sample.association_rows),
        usage=len(sample.usage_rows),
        planted=sorted(sample.planted),
        milestone_claims=sample.milestone_claims,
    )


#: the sample's Rate Card: made-up figures (Microsoft publishes none), chosen so that the sample shows each
#: rule at work: Microsoft Teams has a Max Paid Users a growing tenant reaches, Exchange Online a short time cap
SAMPLE_RATES = (
    ("*", 2.0, "USD", 5, None, None),
    ("Microsoft Teams", 1.5, "USD", 5, 40, None),
    ("Exchange Online", 2.5, "USD", 5, None, 3),
)
SAMPLE_RATES_NOTE = "Sample figures, made up: use the rates, minimum and caps of your incentive guide"


def add_sample_rate_card(book: Workbook) -> None:
    columns = [RATE_CARD.column(name) for name in RATE_CARD_COLUMNS]
    columns.append(Column(EXAMPLE_SOURCE_HEADER, required=False, nullable=True))
    rows = [[*rate, SAMPLE_RATES_NOTE] for rate in SAMPLE_RATES]
    add_sheet(book, RATE_CARD.name, columns, rows, len(rows) + 1)


def _reach(rows: Sequence[object]) -> int:
    """Last row the drop-downs cover: the data and room to add more."""
    return max(TEMPLATE_ROWS, len(rows) + 1000)


__all__ = ["DEFAULT_AS_OF", "MAX_CUSTOMERS", "MIN_CUSTOMERS", "Planted", "SampleInfo", "create_sample"]

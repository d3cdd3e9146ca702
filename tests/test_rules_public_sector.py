"""Public-sector customers in the countries Microsoft's CUSPUBSEC rule covers (United States, Puerto Rico,
India: DOMAIN.md "From FY24") get `public-sector-customer` at their Public Sector cell; the disclosure note
only where the POE template asks for it (United States, Puerto Rico). A customer elsewhere, or not public
sector, gets nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from memory_book import MemoryBook
from rules_frames import customers, tenant

from cpor_excel.model.columns import ASSOCIATIONS, CUSTOMERS, USAGE
from cpor_excel.rules.public_sector import public_sector_findings
from cpor_excel.run import run_book

CODE = "public-sector-customer"
#: Excel row -> (Country, Public Sector)
ROWS: dict[int, tuple[Any, Any]] = {
    2: ("US", True),
    3: ("Puerto Rico", True),
    4: ("IN", True),
    5: ("United States", False),  # not public sector
    6: ("DE", True),  # public sector elsewhere: CUSPUBSEC does not cover it
    7: ("usa", None),  # Public Sector blank
    8: (None, True),  # no country: nothing to say
    9: ("india", True),
}


def book_customers() -> Any:
    frame = customers(range(1, len(ROWS) + 1))
    for row, (country, public) in ROWS.items():
        frame.loc[row, "Country"] = country
        frame.loc[row, "Public Sector"] = public
    return frame


def where(found: list[Any]) -> list[tuple[str, int | None, str | None, str]]:
    return [(f.sheet, f.row, f.column, f.code) for f in found]


def test_us_puerto_rico_and_india_public_sector_customers_are_told() -> None:
    found = public_sector_findings(book_customers())
    assert where(found) == [
        ("Customers", 2, "Public Sector", CODE),
        ("Customers", 3, "Public Sector", CODE),
        ("Customers", 4, "Public Sector", CODE),
        ("Customers", 9, "Public Sector", CODE),
    ]
    countries = {
        f.row: next(c for c in ("the United States", "Puerto Rico", "India") if f" in {c}:" in f.message)
        for f in found
    }
    assert countries == {2: "the United States", 3: "Puerto Rico", 4: "India", 9: "India"}
    assert {f.row for f in found if "public-sector disclosure" in f.message} == {2, 3}  # not India's
    assert all("CUSPUBSEC" in f.message and f.message.startswith(f"Customer {f.row - 1} ") for f in found)


@pytest.mark.parametrize("drop", ["Country", "Public Sector"])
def test_without_the_optional_column_nothing_is_said(drop: str) -> None:
    assert public_sector_findings(book_customers().drop(columns=[drop])) == []
    assert public_sector_findings(customers([])) == []


def test_a_run_reports_it_at_the_public_sector_cell() -> None:
    header = [c.name for c in CUSTOMERS.columns]
    sheet = [header]
    for n, (country, public) in enumerate(ROWS.values(), start=1):
        row = {
            "Tenant ID": tenant(n), "Customer Name": f"Customer {n}", "Domain": f"c{n}.example",
            "Contact Name": "Ann", "Contact Title": "CIO", "Contact Email": f"ann@c{n}.example",
            "Country": country, "Public Sector": {True: "yes", False: "no", None: None}[public], "Language": "en",
        }  # fmt: skip
        sheet.append([row.get(c) for c in header])
    book = MemoryBook(
        {
            "Customers": sheet,
            "Associations": [[c.name for c in ASSOCIATIONS.columns]],
            "Usage": [[c.name for c in USAGE.columns]],
        }
    )
    report = run_book(book, "partner.xlsx", dt.date(2025, 11, 30), write=False)
    column = "ABCDEFGHIJ"[header.index("Public Sector")]
    got = [(f.sheet, f.row, f.column, f.code, f.cell) for f in report.findings if f.code == CODE]
    assert got == [("Customers", r, "Public Sector", CODE, f"{column}{r}") for r in (2, 3, 4, 9)]

"""Several workbooks' data sheets checked together (rules/sheet_chunk.py) give each workbook exactly what
checking it alone gives: the same findings (codes, cells, messages, order), typed frames and bad rows, with
keys repeated across workbooks (unique within each), problems in every sheet, a column one workbook lacks,
and cells whose Python values compare equal across types (True == 1.0)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from memory_book import MemoryBook
from test_prepare import (
    ASSOCIATIONS_HEADER,
    CUSTOMERS_HEADER,
    T1,
    T2,
    USAGE_HEADER,
    association,
    customer,
    planted_book,
)

from cpor_excel.io.frames import read_workbook_data
from cpor_excel.model.workbook import Prepared, WorkbookData
from cpor_excel.rules.prepare import prepare
from cpor_excel.rules.sheet_chunk import SHEETS, check_together

D = dt.date


def book(
    customers: list[list[Any]],
    associations: list[list[Any]],
    usage: list[list[Any]],
    settings: list[list[Any]] | None = None,
    program: dict[str, list[list[Any]]] | None = None,
) -> MemoryBook:
    sheets = {
        "Customers": [CUSTOMERS_HEADER, *customers],
        "Associations": [ASSOCIATIONS_HEADER, *associations],
        "Usage": [USAGE_HEADER, *usage],
    }
    if settings is not None:
        sheets["Settings"] = [["Setting", "Value"], *settings]
    return MemoryBook({**sheets, **(program or {})})


MILESTONES_HEADER = ["Workload", "Bucket", "Min Paid Units", "Max Paid Units", "Milestone", "Active Usage %"]
RATE_CARD_HEADER = ["Workload", "Rate per User", "Currency", "Time Cap Months"]


def program(repeated: bool) -> dict[str, list[list[Any]]]:
    """A Milestones sheet and a Rate Card (the same keys in every workbook; ``repeated``: one repeated
    within this one, beside a negative figure)."""
    milestones = [
        MILESTONES_HEADER,
        ["*", "Small", 300.0, 999.0, "M1", 0.15],
        ["*", "Small", 300.0, 999.0, "M2", "35%"],
        ["EXO", "XXS", 150.0, 299.0, "M1", 20.0],
    ]
    rates = [RATE_CARD_HEADER, ["*", 2.5, "EUR", 12.0], ["EXO", 3.0, "EUR", None]]
    if repeated:
        milestones.append(["*", "Small", -1.0, 999.0, "M1", 0.2])  # row 5: a repeat of row 2
        rates.append(["*", -1.0, "USD", 2.5])  # row 4: a repeat of row 2, a negative rate, a fraction
    return {"Milestones": milestones, "Rate Card": rates}


def books() -> dict[str, MemoryBook]:
    without_country = MemoryBook(
        {
            "Customers": [
                [h for h in CUSTOMERS_HEADER if h != "Country"],
                *[[v for h, v in zip(CUSTOMERS_HEADER, customer(t), strict=True) if h != "Country"] for t in (T1, T2)],
            ],
            "Associations": [ASSOCIATIONS_HEADER, association("C1", T1), association("C1", T1)],  # duplicate
            "Usage": [USAGE_HEADER, [T1, "EXO", D(2025, 2, 1), 1.0, 2.0]],
        }
    )  # fmt: skip
    return {
        # the planted problems (its Usage mixes whole and fractional numbers: it is checked alone)
        "planted.xlsx": planted_book(),
        # the same keys again in the next workbooks: unique in each one, repeated within one
        "same-keys.xlsx": book(
            [customer(T1), customer(T2, Public_Sector="yes"), customer("bad")],
            [association("C1", T1), association("C1", T1, "Teams"), association("C9", T2, Created=None)],
            [
                [T1, "EXO", D(2025, 2, 1), 100.0, 300.0],
                [T1, "EXO", D(2025, 2, 1), 5.0, 300.0],
                [T2, "EXO", "2025-03", -1.0, None],
            ],
            # the planted workbook's settings names again, one of them twice here
            [["Minimum Paid Units", 50.0], ["minimum_paid_units", 60.0], ["Colour", "blue"]],
            program(repeated=True),
        ),
        "without-country.xlsx": without_country,
        "clean.xlsx": book(
            [customer(T2)],
            [association("K1", T2)],
            [[T2, "EXO", D(2025, 2, 1), 10.0, 300.0]],
            program=program(repeated=False),
        ),
    }


def test_values_python_takes_for_equal_are_read_as_alone() -> None:
    """True == 1.0 for Python (and pandas' factorize): a chunk must not read one as the other."""
    first = book([customer(T1, Public_Sector=1.0)], [association(1.0, T1, POE_Reference=0.0)], [])
    second = book([customer(T1, Public_Sector=True)], [association(True, T1, POE_Reference=False)], [])
    datas = [read("first.xlsx", first), read("second.xlsx", second)]
    for data, sheets in zip(datas, check_together(datas), strict=True):
        assert_same(prepare(read(data.source, {"first.xlsx": first, "second.xlsx": second}[data.source])),
                    prepare(data, sheets))  # fmt: skip
    alone = prepare(read("second.xlsx", second))
    assert (
        alone.associations["Claim ID"].tolist()
        != prepare(read("first.xlsx", first)).associations["Claim ID"].tolist()
    )


def read(name: str, source: MemoryBook) -> WorkbookData:
    return read_workbook_data(source, name)


def assert_same(alone: Prepared, together: Prepared) -> None:
    assert together.findings == alone.findings
    assert together.bad_rows == alone.bad_rows
    for field in ("customers", "associations", "usage", "milestones"):
        pd.testing.assert_frame_equal(getattr(together, field), getattr(alone, field))
    if alone.rate_card is None:
        assert together.rate_card is None
    else:
        assert together.rate_card is not None
        pd.testing.assert_frame_equal(together.rate_card, alone.rate_card)
    assert (together.example_program, together.rate_card_note, together.hold) == (
        alone.example_program,
        alone.rate_card_note,
        alone.hold,
    )


def test_each_workbook_is_checked_as_if_alone() -> None:
    sources = books()
    alone = {name: prepare(read(name, source)) for name, source in sources.items()}
    datas = [read(name, source) for name, source in sources.items()]
    checked = check_together(datas)
    # every workbook gets back each of those sheets it has (the others are prepare's to fill in)
    assert [sorted(c) for c in checked] == [
        sorted(s.name for s in SHEETS if s.name in d.sheets) for d in datas
    ]
    for data, sheets in zip(datas, checked, strict=True):
        assert_same(alone[data.source], prepare(data, sheets))
    # the comparison compared something: the planted problems, and a key repeated within one workbook only
    codes = {name: {(f.sheet, f.row, f.code) for f in p.findings} for name, p in alone.items()}
    assert ("Associations", 5, "duplicate-key") in codes["planted.xlsx"]
    assert ("Associations", 3, "duplicate-key") in codes["without-country.xlsx"]
    assert {(s, r) for s, r, code in codes["same-keys.xlsx"] if code == "duplicate-key"} == {
        ("Usage", 3),
        ("Settings", 3),
        ("Milestones", 5),
        ("Rate Card", 4),
    }
    assert ("Rate Card", 4, "bad-number") in codes["same-keys.xlsx"]
    assert alone["same-keys.xlsx"].hold == "earnings" and alone["clean.xlsx"].hold == ""
    assert not alone["clean.xlsx"].example_program and alone["clean.xlsx"].rate_card is not None
    assert not any(code == "duplicate-key" for _, _, code in codes["clean.xlsx"])


@pytest.mark.parametrize("order", [0, 1, 2])
def test_the_order_of_the_workbooks_changes_nothing(order: int) -> None:
    sources = list(books().items())
    sources = sources[order:] + sources[:order]
    datas = [read(name, source) for name, source in sources]
    for data, sheets in zip(datas, check_together(datas), strict=True):
        assert_same(prepare(read(data.source, dict(sources)[data.source])), prepare(data, sheets))

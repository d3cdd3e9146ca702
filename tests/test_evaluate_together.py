"""Several workbooks evaluated together (``registry.evaluate_together``, what a batch does with a chunk of small
workbooks) give each workbook exactly what evaluating it alone gives: every finding (sheet, row, column, code,
claim and message, in order), every new ledger row, every tool column value, conflict and consent draft, with
the same customers and claims in several workbooks (a conflict or a payment is only within one workbook),
workbooks that ran before (their ledgers recorded on this as-of date) and workbooks of other settings and
Rate Cards."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cpor_excel.io.file_book import FileBook
from cpor_excel.io.frames import read_workbook_data
from cpor_excel.model.columns import EARNINGS_SHEET, LEDGER_SHEET
from cpor_excel.model.evaluation import Evaluation
from cpor_excel.model.workbook import Prepared
from cpor_excel.rules.prepare import check_sheets, prepare
from cpor_excel.rules.registry import evaluate, evaluate_together
from cpor_excel.run import run_workbook
from cpor_excel.sample import create_sample

AS_OF = dt.date(2025, 11, 30)


def read(path: Path) -> Prepared:
    with FileBook(path, write=False) as book:
        data = read_workbook_data(book, path.name)
        return prepare(data, check_sheets(data))


def moved(associations: pd.DataFrame) -> pd.DataFrame:
    """One row of a claim of several rows moved to another customer (`claim-mismatch`)."""
    claims = associations["Claim ID"]
    row = claims.index[claims.duplicated(keep="first").to_numpy()][0]
    other = associations["Tenant ID"].loc[claims != claims[row]].iloc[0]
    tenants = associations["Tenant ID"].copy()
    tenants[row] = other
    return associations.assign(**{"Tenant ID": tenants})


def renamed(customers: pd.DataFrame) -> pd.DataFrame:
    names = [None if n is None else f"{n} Again" for n in customers["Customer Name"].tolist()]
    return customers.assign(**{"Customer Name": pd.Series(names, index=customers.index, dtype=object)})


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Prepared]:
    folder = tmp_path_factory.mktemp("together")
    create_sample(folder / "a.xlsx", customers=20, seed=11, as_of=AS_OF)
    create_sample(folder / "b.xlsx", customers=12, seed=12, as_of=AS_OF)
    shutil.copy(folder / "a.xlsx", folder / "ran.xlsx")
    run_workbook(folder / "ran.xlsx", as_of=AS_OF, drafts_dir=folder / "drafts")  # its ledgers filled today
    books = {name: read(folder / f"{name}.xlsx") for name in ("a", "b", "ran")}
    a = books["a"]
    gone = evaluate(a, AS_OF, "a").draft_requests[0].customer.tenant_id
    assert not books["ran"].ledger.empty and not books["ran"].earnings.empty  # (what the case is for)
    return {
        **books,
        # the same tenants, claims and usage: paid once in each workbook, not once in all; its own names
        "copy of a": dataclasses.replace(a, customers=renamed(a.customers)),
        "a without a Rate Card": dataclasses.replace(a, rate_card=None, rate_card_note="missing"),
        "a with a claim on two customers": dataclasses.replace(a, associations=moved(a.associations)),
        "a under other settings": dataclasses.replace(
            a,
            settings=dataclasses.replace(
                a.settings, minimum_paid_units=300, high_water_mark_from=dt.date(2025, 3, 1)
            ),
        ),
        "b paying no usage": dataclasses.replace(
            books["b"], settings=dataclasses.replace(books["b"].settings, high_water_mark_from=None)
        ),
        # a customer a consent email is for is gone: its claim is held back (`draft-not-written`) here only
        "a without a customer": dataclasses.replace(
            a, customers=a.customers[a.customers["Tenant ID"] != gone]
        ),
    }


def outcome(evaluation: Evaluation) -> dict[str, Any]:
    """Everything a run takes from an evaluation, as plain values."""
    return {
        "findings": [(f.sheet, f.row, f.column, f.code, f.claim_id, f.message) for f in evaluation.findings],
        "rows": {
            sheet: (list(frame.columns), frame.to_numpy(dtype=object).tolist(), list(frame.index))
            for sheet, frame in evaluation.rows.items()
        },
        "columns": (
            list(evaluation.association_columns.columns),
            list(evaluation.association_columns.index),
            evaluation.association_columns.to_numpy(dtype=object).tolist(),
        ),
        "conflicts": evaluation.conflicts,
        "drafts": evaluation.draft_requests,  # (dataclasses: compared field by field)
        "held back": [(f.sheet, f.row, f.column, f.code, f.message) for f in evaluation.held_back],
    }


@pytest.mark.parametrize("recording", [True, False])
def test_each_workbook_is_evaluated_as_if_alone(workbooks: dict[str, Prepared], recording: bool) -> None:
    names = list(workbooks)
    together = evaluate_together(
        [workbooks[n] for n in names], AS_OF, names, [None] * len(names), recording=recording
    )
    for name, evaluation in zip(names, together, strict=True):
        alone = evaluate(workbooks[name], AS_OF, name, recording=recording)
        assert outcome(evaluation) == outcome(alone), name
    # the workbooks are alike enough for the rules that pay to have something to pay in each
    new = {n: e.rows for n, e in zip(names, together, strict=True)}
    assert len(new["a"][LEDGER_SHEET]) and len(new["copy of a"][LEDGER_SHEET]) == len(new["a"][LEDGER_SHEET])
    assert len(new["a"][EARNINGS_SHEET]) and len(new["b"][EARNINGS_SHEET])
    assert EARNINGS_SHEET not in new["b paying no usage"]
    codes = {n: {f.code for f in e.findings} for n, e in zip(names, together, strict=True)}
    assert "claim-mismatch" in codes["a with a claim on two customers"] and "claim-mismatch" not in codes["a"]
    assert "association-conflict" in codes["a"] and "association-conflict" in codes["copy of a"]
    # the same claims and customers in several workbooks: each drafted, or held back, in its own only
    drafts = {n: len(e.draft_requests) for n, e in zip(names, together, strict=True)}
    assert drafts["a"] and drafts["copy of a"] == drafts["a"] and not drafts["ran"]  # ("ran" drafted them)
    held = {n: len(e.held_back) for n, e in zip(names, together, strict=True) if e.held_back}
    assert list(held) == ["a without a customer"]
    assert drafts["a without a customer"] + held["a without a customer"] == drafts["a"]


def test_the_order_of_the_workbooks_changes_nothing(workbooks: dict[str, Prepared]) -> None:
    names = list(workbooks)[::-1]
    together = evaluate_together([workbooks[n] for n in names], AS_OF, names, [None] * len(names))
    for name, evaluation in zip(names, together, strict=True):
        assert outcome(evaluation) == outcome(evaluate(workbooks[name], AS_OF, name)), name

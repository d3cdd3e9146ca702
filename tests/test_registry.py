"""The rule registry says what each rule reads and may report, and the run holds the rules to it."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import AS_OF

from cpor_excel.io.file_book import FileBook
from cpor_excel.io.frames import read_workbook_data
from cpor_excel.model.columns import APPENDED, ASSOCIATIONS, RUN_SHEETS
from cpor_excel.model.findings import CODES, Finding
from cpor_excel.model.workbook import PREPARED_FRAMES, Prepared
from cpor_excel.rules import registry
from cpor_excel.rules.prepare import prepare
from cpor_excel.rules.registry import RULES, Inputs, Outcome, Rule, evaluate

RULES_DIR = Path(registry.__file__).parent
#: the rule modules the registry runs (prepare, values and schemas report what validation finds)
RULE_MODULES = (
    "claims", "poe_dates", "conflicts", "consent", "usage", "milestones", "milestone_findings", "ledger",
    "incentives", "deadlines", "earnings", "earned", "reconciliation", "drafts", "public_sector",
)  # fmt: skip
SHEETS = {*PREPARED_FRAMES, "Settings"}


@pytest.fixture(scope="module")
def prepared(sample_book: Any) -> Prepared:
    path, _ = sample_book
    with FileBook(path, write=False) as book:
        return prepare(read_workbook_data(book, path.name))


def test_every_declared_code_is_registered_and_every_sheet_is_known() -> None:
    for rule in RULES:
        assert rule.codes <= set(CODES), rule.name
        assert rule.sheets <= SHEETS, rule.name
        # rules add rows to the ledgers and fill the Reconciliation; the run itself writes the others
        assert set(rule.tool_sheets) <= {s.name for s in RUN_SHEETS if s.written == APPENDED} | {
            "Reconciliation"
        }


def test_every_code_a_rule_module_names_is_declared_by_a_rule() -> None:
    """Every finding code written in a rule module (a string that is a registered code) is declared."""
    named: dict[str, set[str]] = {}
    for module in RULE_MODULES:
        tree = ast.parse((RULES_DIR / f"{module}.py").read_text(encoding="utf-8"))
        strings = {
            n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
        }
        named[module] = strings & set(CODES)
    assert set().union(*named.values()) - registry.declared_codes() == set()
    assert named["milestones"] | named["milestone_findings"] | named["ledger"] == next(
        r.codes for r in RULES if r.name == "milestones"
    )


def test_each_association_tool_column_is_filled_by_exactly_one_rule() -> None:
    filled = [column for rule in RULES for column in rule.columns]
    assert sorted(filled) == sorted(ASSOCIATIONS.tool_columns[2:])


def _comparable(outcome: Outcome) -> dict[str, Any]:
    return {
        "findings": [dataclasses.astuple(f) for f in outcome.findings],
        "columns": {k: v.astype(object).where(v.notna(), None).tolist() for k, v in outcome.columns.items()},
        "rows": {k: v.astype(object).where(v.notna(), None).values.tolist() for k, v in outcome.rows.items()},
        "conflicts": outcome.conflicts,
        "requests": outcome.draft_requests,
        "held_back": [dataclasses.astuple(f) for f in outcome.held_back],
    }


def reads_only_what_it_declares(rule: Rule, prepared: Prepared, findings: list[Finding]) -> bool:
    """The rule's outcome is the same when every sheet it does not declare is emptied."""
    whole = rule.apply(Inputs(prepared, AS_OF, list(findings)))
    declared = rule.apply(Inputs(prepared.only(rule.sheets), AS_OF, list(findings)))
    return _comparable(whole) == _comparable(declared)


def test_each_rule_reads_only_the_sheets_it_declares(prepared: Prepared) -> None:
    """What the consent drafts depend on (Associations, Customers, Settings, Consent Drafts and the errors
    the rules before them found) is data: emptying every other sheet changes nothing they decide."""
    findings = list(prepared.findings)
    for rule in RULES:
        assert reads_only_what_it_declares(rule, prepared, findings), rule.name
        findings += rule.apply(Inputs(prepared, AS_OF, list(findings))).findings
    drafts = next(rule for rule in RULES if rule.name == "consent drafts")
    assert drafts.sheets == {"Associations", "Customers", "Settings", "Consent Drafts"}
    assert drafts is RULES[-1]  # it sees every other rule's errors


def test_the_check_catches_a_rule_that_reads_an_undeclared_sheet(prepared: Prepared) -> None:
    def peeks_at_usage(given: Inputs) -> Outcome:
        return Outcome(columns={"Next Milestone": pd.Series(len(given.prepared.usage), index=[2])})

    sneaky = Rule("sneaky", frozenset({"Associations"}), frozenset(), peeks_at_usage)
    assert not reads_only_what_it_declares(sneaky, prepared, [])
    honest = dataclasses.replace(sneaky, sheets=frozenset({"Associations", "Usage"}))
    assert reads_only_what_it_declares(honest, prepared, [])


def test_a_rule_reporting_a_code_it_did_not_declare_stops_the_run(
    prepared: Prepared, monkeypatch: pytest.MonkeyPatch
) -> None:
    def reports(given: Inputs) -> Outcome:
        return Outcome([Finding("bad-email", "Customers", "x", row=2)])

    monkeypatch.setattr(registry, "RULES", (Rule("loose", frozenset(), frozenset({"bad-type"}), reports),))
    with pytest.raises(AssertionError, match=r"loose.*bad-email"):
        evaluate(prepared, AS_OF)


def test_evaluate_collects_each_rule_in_order(prepared: Prepared) -> None:
    evaluation = evaluate(prepared, AS_OF)
    expected = list(prepared.findings)
    for rule in RULES:
        expected += rule.apply(Inputs(prepared, AS_OF, list(expected))).findings
    assert evaluation.findings == expected
    assert list(evaluation.association_columns.columns) == list(ASSOCIATIONS.tool_columns[2:])
    assert set(evaluation.rows) == {"Milestone Ledger", "Earnings Ledger"}  # the sample pays usage too
    assert len(evaluation.rows["Milestone Ledger"]) > 0 and len(evaluation.rows["Earnings Ledger"]) > 0

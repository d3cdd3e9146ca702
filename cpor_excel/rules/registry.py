"""Every CPOR rule a run applies, in order, with what each reads and what it may report. Pure.

A rule is declared here once: the sheets it reads (canonical names), every finding code it can emit (each
registered in ``model/findings.py:CODES``), the Associations tool columns it fills and the tool sheets it
adds rows to. ``evaluate`` runs them in this order and refuses a finding whose code its rule did not
declare, so the declarations stay true; ``tests/test_registry.py`` checks that a rule reads no sheet it
does not declare. The consent drafts are a rule like the others (the last: which claims get an email
depends on the errors every other rule found).

Adding a rule: write its module (frames and ``as_of`` in, findings and values out), register its codes in
``CODES`` and the README, and add one ``Rule`` below with a function from ``Inputs`` to an ``Outcome``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cpor_excel.model.columns import (
    ASSOCIATIONS,
    EARNINGS_IMPORTS_SHEET,
    EARNINGS_SHEET,
    LEDGER_SHEET,
    MS_EARNINGS_SHEET,
    RATE_CARD,
    RECONCILIATION_SHEET,
)
from cpor_excel.model.evaluation import DraftRequest, Evaluation
from cpor_excel.model.findings import Finding, Severity
from cpor_excel.model.workbook import Prepared
from cpor_excel.rules import (
    claims,
    conflicts,
    consent,
    deadlines,
    drafts,
    earnings,
    incentives,
    milestones,
    poe_dates,
    public_sector,
    reconciliation,
    usage,
)
from cpor_excel.rules.together import alike, content, forget, shape, split_findings, split_series, stacked

#: the tool's columns on Associations besides Check Result / Check Notes, in SPEC order
ASSOCIATION_VALUE_COLUMNS = ASSOCIATIONS.tool_columns[2:]


@dataclass(frozen=True)
class Inputs:
    """What a rule is given: the validated workbook, the as-of date, and the findings of the rules before it."""

    prepared: Prepared
    as_of: dt.date
    findings: list[Finding]
    source: str = ""  # this workbook's label (batch)
    others: pd.DataFrame | None = None  # associations of a batch's other workbooks, with a "Workbook" column
    recording: bool = True  # False for a read-only run: messages say what a run would record
    added: dict[str, pd.DataFrame] = field(default_factory=dict)  # tool sheet rows the rules before it add


@dataclass
class Outcome:
    """What a rule found: findings, values of Associations tool columns (index = Associations row), rows
    for tool sheets (by sheet name), conflicts (JSON-ready), the claims to draft an email for and the claims
    held back from one (`draft-not-written`: reported by a run that drafts, not by a check)."""

    findings: list[Finding] = field(default_factory=list)
    columns: dict[str, pd.Series] = field(default_factory=dict)
    rows: dict[str, pd.DataFrame] = field(default_factory=dict)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    draft_requests: list[DraftRequest] = field(default_factory=list)
    held_back: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class Rule:
    name: str
    sheets: frozenset[str]  # the sheets it reads (canonical names)
    codes: frozenset[str]  # every code it can emit
    apply: Callable[[Inputs], Outcome]
    columns: tuple[str, ...] = ()  # the Associations tool columns it fills
    tool_sheets: tuple[str, ...] = ()  # the tool sheets it adds rows to
    #: the rule run once over several workbooks (``together.py``): each one's Outcome, as ``apply`` gives it
    together: Callable[[Sequence[Inputs]], list[Outcome]] | None = None

    def outcomes(self, given: Sequence[Inputs]) -> list[Outcome]:
        """Each workbook's Outcome: run once over them all when the rule can, else workbook by workbook."""
        if self.together is not None and len(given) > 1:
            return self.together(given)
        return [self.apply(one) for one in given]


CUSTOMERS, ASSOC, USAGE, MILESTONES, SETTINGS = "Customers", "Associations", "Usage", "Milestones", "Settings"
LEDGER, DRAFTS, EARNED, RATES = LEDGER_SHEET, "Consent Drafts", EARNINGS_SHEET, RATE_CARD.name
MICROSOFT, IMPORTS, RECONCILED = MS_EARNINGS_SHEET, EARNINGS_IMPORTS_SHEET, RECONCILIATION_SHEET


def _claims(given: Inputs) -> Outcome:
    return Outcome(claims.check_claims(given.prepared.associations))


def _claims_together(given: Sequence[Inputs]) -> list[Outcome]:
    """The claims rule of several workbooks: which of them have a claim whose rows disagree is found at once
    (``claims.mismatched_books``: the usual answer, none), and only those are checked, one by one."""
    out: list[Outcome] = [Outcome() for _ in given]
    for books in alike([shape(one.prepared.associations) for one in given]):
        frames = [given[at].prepared.associations for at in books]
        mismatched = claims.mismatched_books(stacked(frames))
        for k, at in enumerate(books):
            if k < len(mismatched) and mismatched[k]:
                out[at] = _claims(given[at])
    return out


def _poe_dates(given: Inputs) -> Outcome:
    return _failed_left_out(given, _poe_dates_found(given))


def _poe_dates_found(given: Inputs) -> Outcome:
    prepared = given.prepared
    return Outcome(poe_dates.check_poe_and_dates(prepared.associations, prepared.settings, given.as_of))


def _failed_left_out(given: Inputs, outcome: Outcome) -> Outcome:
    """A date cell that failed validation (an error there) is read as empty, so the rule would also call it
    missing (poe-missing, status-date-mismatch "needs a ... date"); its own finding already says what is wrong."""
    failed = {
        (f.row, f.column)
        for f in given.prepared.findings
        if f.sheet == ASSOC and f.severity is Severity.ERROR
    }
    return Outcome([f for f in outcome.findings if (f.row, f.column) not in failed])


def _conflicts(given: Inputs) -> Outcome:
    assoc, others, source = given.prepared.associations, given.others, given.source
    if others is None or others.empty:
        found = conflicts.find_conflicts(assoc, given.as_of)
    else:
        # Across workbooks the index repeats, so rows are told apart by (Workbook, row): keep only this
        # workbook's findings and conflicts, with the other workbook named.
        both = pd.concat([assoc.assign(Workbook=source), others[others["Workbook"] != source]])
        every = conflicts.find_conflicts(both, given.as_of)
        mine = both["Workbook"].to_numpy() == source
        own_rows = set(both.index[mine])
        found = conflicts.ConflictResult(
            findings=[f for f in every.findings if f.workbook in (None, source) and f.row in own_rows],
            conflicts_with=every.conflicts_with[mine],
            conflicts=[c for c in every.conflicts if c.get("workbook", source) == source],
        )
    return Outcome(found.findings, {"Conflicts With": found.conflicts_with}, conflicts=found.conflicts)


def _conflicts_together(given: Sequence[Inputs]) -> list[Outcome]:
    """The conflicts rule of several workbooks: at once for those with no other workbook's claims on their
    customers (a conflict is then within one workbook: ``find_conflicts`` keys its pairs by book), the others
    one by one."""
    out: list[Outcome] = [Outcome() for _ in given]
    keys = [
        object() if one.others is not None and not one.others.empty else shape(one.prepared.associations)
        for one in given
    ]
    for books in alike(keys):
        if len(books) == 1:
            out[books[0]] = _conflicts(given[books[0]])
            continue
        index = [given[at].prepared.associations.index for at in books]
        found = conflicts.find_conflicts(
            stacked([given[at].prepared.associations for at in books]), given[books[0]].as_of
        )
        findings = split_findings(found.findings, len(books))
        columns = split_series(found.conflicts_with, index)
        pairs = conflicts.split_conflicts(found.conflicts, len(books))
        for k, at in enumerate(books):
            out[at] = Outcome(findings[k], {"Conflicts With": columns[k]}, conflicts=pairs[k])
    return out


def _consent(given: Inputs) -> Outcome:
    prepared = given.prepared
    found, window_ends = consent.consent_windows(prepared.associations, prepared.settings, given.as_of)
    return Outcome(found, {"Consent Window Ends": _iso_dates(window_ends)})


def _usage(given: Inputs) -> Outcome:
    return Outcome(usage.check_usage(given.prepared.usage, given.prepared.settings))


def _milestones(given: Inputs) -> Outcome:
    [outcome] = _milestones_together([given])
    return outcome


def _milestones_together(given: Sequence[Inputs]) -> list[Outcome]:
    """The milestone rule of several workbooks, once for each group of those with the same settings and
    milestone table (``milestones.milestones_of_books``)."""
    out: list[Outcome] = [Outcome() for _ in given]
    keys = [
        (
            one.prepared.settings,
            content(one.prepared.milestones),
            *(shape(frame) for frame in _milestone_frames(one.prepared)),
        )
        for one in given
    ]
    for books in alike(keys):
        p = [given[at].prepared for at in books]
        results = milestones.milestones_of_books(
            [one.associations for one in p],
            [one.usage for one in p],
            [one.customers for one in p],
            p[0].milestones,
            p[0].settings,
            [one.ledger for one in p],
            given[books[0]].as_of,
            given[books[0]].recording,
            usage_numbers=p[0].usage_numbers if len(books) == 1 else None,
        )
        for at, earned in zip(books, results, strict=True):
            if given[at].prepared.hold == "both":  # which months are milestones' is unknown (High-Water Mark
                # From): record nothing new
                earned.findings = [f for f in earned.findings if f.code != "milestone-reached"]
                earned.new_ledger_rows = earned.new_ledger_rows.iloc[:0]
            out[at] = Outcome(
                earned.findings,
                {"Milestones Reached": earned.reached, "Next Milestone": earned.next_milestone},
                {LEDGER: earned.new_ledger_rows},
            )
    return out


def _milestone_frames(p: Prepared) -> tuple[pd.DataFrame, ...]:
    return p.associations, p.usage, p.customers, p.ledger


def _incentives(given: Inputs) -> Outcome:
    return Outcome(incentives.incentive_findings(given.prepared.associations))


def _public_sector(given: Inputs) -> Outcome:
    return Outcome(public_sector.public_sector_findings(given.prepared.customers))


def _deadlines(given: Inputs) -> Outcome:
    p = given.prepared
    found = deadlines.evaluate_deadlines(p.associations, p.settings, given.as_of)
    return Outcome(found.findings, {"Next Deadline": _iso_dates(found.next_deadline)})


def _usage_pay(given: Inputs) -> Outcome:
    [outcome] = _usage_pay_together([given])
    return outcome


def _usage_pay_together(given: Sequence[Inputs]) -> list[Outcome]:
    """The usage pay rule of several workbooks, once for each group of those with the same settings and Rate
    Card (``earnings.earnings_of_books``)."""
    out: list[Outcome] = [Outcome() for _ in given]
    settings = [
        dataclasses.replace(p.settings, high_water_mark_from=None) if p.hold else p.settings
        for p in (one.prepared for one in given)
    ]  # an unusable Rate Card or High-Water Mark From: the Earnings Ledger is left as it is (no month decided)
    keys = [
        (
            settings[at],
            content(one.prepared.rate_card),
            one.prepared.rate_card_note,
            *(shape(frame) for frame in _earning_frames(one.prepared)),
        )
        for at, one in enumerate(given)
    ]
    for books in alike(keys):
        first = given[books[0]]
        p = [given[at].prepared for at in books]
        pays = earnings.earnings_of_books(
            [one.associations for one in p],
            [one.usage for one in p],
            [one.customers for one in p],
            p[0].rate_card,
            settings[books[0]],
            [one.earnings for one in p],
            first.as_of,
            p[0].rate_card_note,
            usage_numbers=p[0].usage_numbers if len(books) == 1 else None,
        )
        for at, pay in zip(books, pays, strict=True):
            # a workbook that never set High-Water Mark From gets no Earnings Ledger sheet: it behaves as before
            rows = {EARNED: pay.new_ledger_rows} if settings[at].high_water_mark_from is not None else {}
            texts = pay.earned.to_numpy(
                dtype=object, copy=True
            )  # "" -> None (Series.where, without its machinery)
            texts[texts == ""] = None
            earned = pd.Series(texts, index=pay.earned.index, dtype=object, name=pay.earned.name)
            out[at] = Outcome(pay.findings, {"High-Water Mark": pay.high_water_mark, "Earned": earned}, rows)
    return out


def _earning_frames(p: Prepared) -> tuple[pd.DataFrame, ...]:
    return p.associations, p.usage, p.customers, p.earnings


def _reconciliation(given: Inputs) -> Outcome:
    p = given.prepared
    if p.microsoft_earnings is None:  # nothing imported from Microsoft: no Reconciliation sheet
        return Outcome()
    frames = [f for f in (p.earnings, given.added.get(EARNED)) if f is not None and not f.empty]
    ledger = pd.concat(frames, ignore_index=True) if frames else earnings.empty_earnings()
    found = reconciliation.reconcile(ledger, p.microsoft_earnings, p.earnings_imports, p.associations)
    return Outcome(found.findings, rows={RECONCILED: found.rows})


def _drafts(given: Inputs) -> Outcome:
    [outcome] = _drafts_together([given])
    return outcome


def _drafts_together(given: Sequence[Inputs]) -> list[Outcome]:
    """The consent drafts rule of several workbooks, once for each group of those with the same settings
    (``drafts.drafts_of_books``), each choosing from the findings of the rules before it."""
    out: list[Outcome] = [Outcome() for _ in given]
    keys = [
        (one.prepared.settings, shape(one.prepared.associations), shape(one.prepared.customers))
        for one in given
    ]
    for books in alike(keys):
        p = [given[at].prepared for at in books]
        chosen = drafts.drafts_of_books(
            [one.associations for one in p],
            [one.customers for one in p],
            [one.drafts for one in p],
            [given[at].findings for at in books],
            p[0].settings,
        )
        for at, (requests, held_back) in zip(books, chosen, strict=True):
            columns = {"Consent Draft": _existing_draft_files(given[at].prepared)}
            out[at] = Outcome(columns=columns, draft_requests=requests, held_back=held_back)
    return out


def _row_wise(
    apply: Callable[[Inputs], Outcome],
    *frames: str,
    after: Callable[[Inputs, Outcome], Outcome] = lambda given, outcome: outcome,
) -> Callable[[Sequence[Inputs]], list[Outcome]]:
    """``Rule.together`` of a rule whose findings and values on a row depend only on that row of ``frames``
    (the ``Prepared`` frames it reads), the settings and the as-of date: run once over those frames stacked,
    for the workbooks that share settings (``together.py``), its findings and columns split back per
    workbook; then ``after`` of each workbook's own (the step that needs more of the workbook than its rows).
    ``apply`` is then the rule without ``after``."""

    def together(given: Sequence[Inputs]) -> list[Outcome]:
        out: list[Outcome] = [Outcome() for _ in given]
        keys = [(one.prepared.settings, *(shape(getattr(one.prepared, f)) for f in frames)) for one in given]
        for books in alike(keys):
            first = given[books[0]]
            parts: dict[str, Any] = {
                f: stacked([getattr(given[at].prepared, f) for at in books]) for f in frames
            }
            prepared = dataclasses.replace(first.prepared, findings=[], **parts)
            outcome = apply(dataclasses.replace(first, prepared=prepared, findings=[], added={}))
            if outcome.rows or outcome.conflicts or outcome.draft_requests or outcome.held_back:
                raise ValueError("a row-wise rule made more than findings and columns")
            found = split_findings(outcome.findings, len(books))
            index = [given[at].prepared.associations.index for at in books]
            stacked_index = prepared.associations.index
            columns = {
                name: split_series(
                    values if values.index.equals(stacked_index) else values.reindex(stacked_index), index
                )
                for name, values in outcome.columns.items()
            }
            for k, at in enumerate(books):
                mine = Outcome(found[k], {name: values[k] for name, values in columns.items()})
                out[at] = after(given[at], mine)
        return out

    return together


RULES: tuple[Rule, ...] = (
    Rule("claims", frozenset({ASSOC}), frozenset({"claim-mismatch"}), _claims, together=_claims_together),
    Rule(
        "poe and dates",
        frozenset({ASSOC, SETTINGS}),
        frozenset(
            {
                "poe-missing",
                "poe-too-old",
                "poe-after-submission",
                "date-order",
                "status-date-mismatch",
                "future-date",
            }
        ),
        _poe_dates,
        together=_row_wise(_poe_dates_found, "associations", after=_failed_left_out),
    ),
    Rule(
        "conflicts",
        frozenset({ASSOC}),
        frozenset({"association-conflict", "duplicate-association"}),
        _conflicts,
        columns=("Conflicts With",),
        together=_conflicts_together,
    ),
    Rule(
        "consent window",
        frozenset({ASSOC, SETTINGS}),
        frozenset({"consent-window-open"}),
        _consent,
        columns=("Consent Window Ends",),
        together=_row_wise(_consent, "associations"),
    ),
    Rule(
        "usage",
        frozenset({USAGE}),
        frozenset({"usage-above-licences"}),
        _usage,
    ),
    Rule(
        "milestones",
        frozenset({ASSOC, USAGE, CUSTOMERS, MILESTONES, SETTINGS, LEDGER}),
        frozenset({"milestone-reached", "usage-gate-exceeded", "below-minimum-seats", "ledger-unsupported"}),
        _milestones,
        columns=("Milestones Reached", "Next Milestone"),
        tool_sheets=(LEDGER,),
        together=_milestones_together,
    ),
    Rule(
        "incentives",
        frozenset({ASSOC}),
        frozenset({"incentive-opt-out", "role-not-incentivised"}),
        _incentives,
    ),
    Rule(
        "public sector",
        frozenset({CUSTOMERS}),
        frozenset({"public-sector-customer"}),
        _public_sector,
        together=_row_wise(_public_sector, "customers"),
    ),
    Rule(
        "deadlines",
        frozenset({ASSOC, SETTINGS}),
        frozenset(
            {
                "review-overdue",
                "action-required",
                "action-required-overdue",
                "dispute-window-open",
                "poe-refresh",
            }
        ),
        _deadlines,
        columns=("Next Deadline",),
        together=_row_wise(_deadlines, "associations"),
    ),
    Rule(
        "usage pay above the high-water mark",
        frozenset({ASSOC, USAGE, CUSTOMERS, RATES, SETTINGS, EARNED}),
        frozenset({"hwm-earned", "hwm-not-earned", "no-rate-card"}),
        _usage_pay,
        columns=("High-Water Mark", "Earned"),
        tool_sheets=(EARNED,),
        together=_usage_pay_together,
    ),
    Rule(
        "reconciliation with Microsoft's earnings",
        frozenset({ASSOC, EARNED, MICROSOFT, IMPORTS}),
        frozenset({"earnings-ineligible", "earnings-missing", "earnings-differ", "earnings-unexpected"}),
        _reconciliation,
        tool_sheets=(RECONCILED,),
    ),
    Rule(
        "consent drafts",
        frozenset({ASSOC, CUSTOMERS, SETTINGS, DRAFTS}),
        frozenset({"draft-not-written"}),
        _drafts,
        columns=("Consent Draft",),
        together=_drafts_together,
    ),
)


def evaluate(
    prepared: Prepared,
    as_of: dt.date,
    source: str = "",
    others: pd.DataFrame | None = None,
    recording: bool = True,
) -> Evaluation:
    """Every rule of ``RULES`` on the validated workbook, in order. Pure: no files, no clock.

    ``others``: associations of other workbooks (batch), with a "Workbook" column; conflicts with them are
    reported on this workbook's rows, naming the other workbook.
    """
    [evaluation] = evaluate_together([prepared], as_of, [source], [others], recording)
    return evaluation


def evaluate_together(
    prepared: Sequence[Prepared],
    as_of: dt.date,
    sources: Sequence[str],
    others: Sequence[pd.DataFrame | None],
    recording: bool = True,
) -> list[Evaluation]:
    """``evaluate`` of several workbooks (a batch's chunk), each as it would be alone: a rule that can runs
    once over them all (``Rule.together``), the others workbook by workbook."""
    findings: list[list[Finding]] = [list(p.findings) for p in prepared]
    evaluations = [
        Evaluation(as_of=as_of, findings=found, association_columns=pd.DataFrame()) for found in findings
    ]
    filled: list[dict[str, pd.Series]] = [{} for _ in prepared]
    try:
        for rule in RULES:
            given = [
                Inputs(p, as_of, findings[at], sources[at], others[at], recording, dict(evaluations[at].rows))
                for at, p in enumerate(prepared)
            ]
            for at, outcome in enumerate(rule.outcomes(given)):
                undeclared = {f.code for f in [*outcome.findings, *outcome.held_back]} - rule.codes
                if undeclared:
                    raise AssertionError(f"rule {rule.name!r} reported undeclared codes {sorted(undeclared)}")
                evaluation, index = evaluations[at], prepared[at].associations.index
                findings[at] += outcome.findings
                for name, values in outcome.columns.items():
                    filled[at][name] = values if values.index.equals(index) else values.reindex(index)
                evaluation.rows.update(outcome.rows)
                evaluation.conflicts += outcome.conflicts
                evaluation.draft_requests += outcome.draft_requests
                evaluation.held_back += outcome.held_back
    finally:
        forget()  # (the chunk's frames stacked and their shapes: not held past its evaluation)
    for at, evaluation in enumerate(evaluations):
        index = prepared[at].associations.index
        blank = pd.Series(np.nan, index=index, dtype=object)
        columns = {name: filled[at].get(name, blank) for name in ASSOCIATION_VALUE_COLUMNS}
        evaluation.association_columns = _frame(columns, index)
    return evaluations


def _frame(columns: dict[str, pd.Series], index: pd.Index) -> pd.DataFrame:
    """The columns (each on ``index``) as one frame: when all hold objects (the usual), built from one block
    of cells, which costs a tenth of what pandas takes to line up a dict of Series."""
    if not all(values.dtype == object for values in columns.values()):
        return pd.DataFrame(columns, index=index, columns=list(columns))
    cells = np.empty((len(columns), len(index)), dtype=object)  # a row per column: filled contiguously
    for at, values in enumerate(columns.values()):
        cells[at] = values.to_numpy(dtype=object)
    return pd.DataFrame(cells.T, index=index, columns=list(columns), dtype=object)


def declared_codes() -> frozenset[str]:
    """Every code a rule of ``RULES`` may emit."""
    return frozenset().union(*(rule.codes for rule in RULES))


def _iso_dates(series: pd.Series) -> pd.Series:
    """Dates as "YYYY-MM-DD" text, NaN where there is none."""
    dates = series if series.dtype.kind == "M" else pd.to_datetime(series, errors="coerce")
    days = dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    ok = ~np.isnat(days)
    if not ((days[ok] >= np.datetime64("1000-01-01")) & (days[ok] <= np.datetime64("9999-12-31"))).all():
        out = pd.Series(None, index=series.index, dtype=object)  # strftime's way with a short year
        out[ok] = dates[ok].dt.strftime("%Y-%m-%d")
        return out
    texts = np.full(len(days), np.nan, dtype=object)  # (what pandas makes of a Series of None)
    texts[ok] = np.datetime_as_string(days[ok], unit="D").astype(object)
    return pd.Series(texts, index=series.index, dtype=object)


def _existing_draft_files(prepared: Prepared) -> pd.Series:
    """The Consent Draft of each Associations row from the Consent Drafts sheet (its claim's last file)."""
    assoc, made = prepared.associations, prepared.drafts
    if made.empty:
        return pd.Series(None, index=assoc.index, dtype=object)
    files = made.dropna(subset=["Claim ID"]).drop_duplicates("Claim ID", keep="last")
    return assoc["Claim ID"].map(files.set_index("Claim ID")["File"]).astype(object)

"""Raw sheets -> the typed, validated frames the rules work on (``Prepared``), with the findings of validation.

Per data sheet: every column is parsed vectorised (``values.py``: types, formats, catalogue names), the typed
frame is validated by its pandera schema (``schemas.py``: required cells, keys, ranges), then the cross-sheet
checks run (``unknown-tenant``). A cell that fails is left empty (None/NaT/NA) and its row is in ``bad_rows``.
Conditional requirements that depend on the claim's Status (POE Signed, Submitted, Approved) are the rule
modules' (``poe-missing``, ``status-date-mismatch``), not this module's.

The tool's own sheets (Milestone Ledger, Consent Drafts) are parsed tolerantly and report nothing: the ledger
is append-only and must never lose a row because a cell was edited by hand.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

import numpy as np
import pandas as pd

from cpor_excel.model.catalogue import (
    CUSTOMER_DECLINED,
    DECLINED_STATUS_ALIASES,
    DEFAULT_LANGUAGE,
    canonical_workload,
    fold,
    suggest,
)
from cpor_excel.model.columns import (
    ASSOCIATIONS,
    CUSTOMERS,
    DATA_SHEETS,
    DRAFTS,
    EARNINGS,
    EARNINGS_IMPORTS,
    LEDGER,
    MILESTONES,
    MS_EARNINGS,
    RATE_CARD,
    SETTINGS,
    USAGE,
    Kind,
    SheetSpec,
    ToolSheet,
)
from cpor_excel.model.findings import CODES, Finding, Severity
from cpor_excel.model.program import CONSENT_ANCHORS, HWM_START, SETTING_NAMES, Settings, example_milestones
from cpor_excel.model.workbook import Numbered, Prepared, WorkbookData
from cpor_excel.rules import values
from cpor_excel.rules.schemas import ROW_MASK, book_of, validate_frame

#: codes that describe a row as a whole: the row's values stay as they are
ROW_CODES = frozenset({"duplicate-key", "unknown-tenant"})
ERROR_CODES = frozenset(code for code, (severity, _) in CODES.items() if severity is Severity.ERROR)

_EXAMPLE_WORD = re.compile(r"\bexample\b", re.IGNORECASE)


@dataclass
class Checked:
    """One sheet after parsing and validation: the typed frame and one row per problem (index = Excel row;
    columns ``column``, ``code``, ``message``)."""

    spec: SheetSpec
    frame: pd.DataFrame
    issues: pd.DataFrame
    #: a big sheet's key columns as their parse numbered them (``check_sheet``), by column
    numbers: dict[str, Numbered] = field(default_factory=dict)

    def add(self, rows: pd.Index, column: str, code: str, messages: str | list[str]) -> None:
        """Issues of ``code`` in ``column`` on these rows: one message, or one per row."""
        if len(rows) == 0:
            return
        said = np.empty(len(rows), dtype=object)
        said[:] = messages
        more = {
            "column": np.full(len(rows), column, dtype=object),
            "code": np.full(len(rows), code, dtype=object),
            "message": said,
        }
        if not self.issues.empty:  # (appended as arrays: a concat of frames costs several times more)
            old = self.issues
            more = {
                name: np.concatenate([old[name].to_numpy(dtype=object), new]) for name, new in more.items()
            }
            rows = old.index.append(rows)
        self.issues = pd.DataFrame(more, index=rows, dtype=object)

    def failed(self, column: str) -> pd.Series:
        """True on the rows where ``column``'s cell has an error."""
        issues = self.issues[(self.issues["column"] == column) & self.issues["code"].isin(ERROR_CODES)]
        return pd.Series(self.frame.index.isin(issues.index), index=self.frame.index)


def prepare(data: WorkbookData, checked_sheets: Mapping[str, Checked] | None = None) -> Prepared:
    """Validate every sheet and build ``Prepared``.

    ``checked_sheets``: data sheets already parsed and validated (``check_sheet``'s result for this
    workbook's raw frame; a batch checks several small workbooks' sheets at once: ``rules/sheet_chunk.py``).

    ``Prepared.findings`` is complete up to validation: the reader's findings (``data.findings``: missing
    sheets and columns) come first, then this module's, sheet by sheet in workbook-spec order.
    ``Prepared.bad_rows[sheet]``: every row with an error-severity finding here. A failed cell is empty in the
    typed frame; row-wide errors (``duplicate-key`` after the first row, ``unknown-tenant``) keep the values.
    """

    def checked(spec: SheetSpec) -> Checked:
        if checked_sheets is not None and spec.name in checked_sheets:
            return checked_sheets[spec.name]
        return check_data_sheet(spec, _raw(data, spec.name))

    customers = checked(CUSTOMERS)
    associations = checked(ASSOCIATIONS)
    usage = checked(USAGE)
    if CUSTOMERS.name in data.sheets and "Tenant ID" in data.sheets[CUSTOMERS.name].frame:
        known = set(customers.frame["Tenant ID"].dropna())
        for sheet in (associations, usage):
            _unknown_tenants(sheet, known)
    milestones, example_program, program_findings = _milestones(data, checked)
    rate_card, rate_card_note = _rate_card(data, checked)
    settings_sheet = checked(SETTINGS)
    settings = _settings(settings_sheet)

    findings = list(data.findings) + program_findings
    bad_rows: dict[str, set[int]] = {}
    sheets = [customers, associations, usage, milestones, *([rate_card] if rate_card else []), settings_sheet]
    for sheet in sheets:
        findings += to_findings(sheet)
        errors = sheet.issues.index[sheet.issues["code"].isin(ERROR_CODES).to_numpy()]
        if len(errors):
            bad_rows[sheet.spec.name] = {int(r) for r in errors.unique()}
    return Prepared(
        customers=customers.frame,
        associations=associations.frame,
        usage=usage.frame,
        milestones=milestones.frame,
        settings=settings,
        ledger=tolerant_frame(_raw(data, LEDGER.name), LEDGER),
        drafts=tolerant_frame(_raw(data, DRAFTS.name), DRAFTS),
        example_program=example_program,
        findings=findings,
        bad_rows=bad_rows,
        rate_card=None if rate_card is None or rate_card_note == "example" else rate_card.frame,
        rate_card_note=rate_card_note,
        earnings=tolerant_frame(_raw(data, EARNINGS.name), EARNINGS),
        hold=_hold(data, rate_card, settings_sheet),
        microsoft_earnings=_imported(data, MS_EARNINGS),
        earnings_imports=_imported(data, EARNINGS_IMPORTS),
        usage_numbers={c: n for c, n in usage.numbers.items() if c in ("Tenant ID", "Workload")},
    )


def check_sheets(data: WorkbookData) -> dict[str, Checked]:
    """Every data sheet ``data`` holds, parsed and validated as ``prepare`` does it: for
    ``prepare(more_data, checked_sheets)`` once the other sheets are read (a run validates the small sheets
    while the big Usage sheet is still being read)."""
    return {
        spec.name: check_data_sheet(spec, table.frame)
        for spec in DATA_SHEETS
        if (table := data.sheets.get(spec.name)) is not None
    }


def prepare_claims(data: WorkbookData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The typed Associations and the Milestone Ledger read back, as ``prepare`` makes them, from a
    ``WorkbookData`` that may hold only those two sheets (a batch's first pass needs no other)."""
    associations = check_sheet(ASSOCIATIONS, _raw(data, ASSOCIATIONS.name))
    return associations.frame, tolerant_frame(_raw(data, LEDGER.name), LEDGER)


def _imported(data: WorkbookData, sheet: ToolSheet) -> pd.DataFrame | None:
    """A sheet `import-earnings` wrote, read tolerantly; None when the workbook has none."""
    return tolerant_frame(_raw(data, sheet.name), sheet) if sheet.name in data.sheets else None


# ------------------------------------------------------------------------------------------- one sheet


def _raw(data: WorkbookData, sheet: str) -> pd.DataFrame:
    table = data.sheets.get(sheet)
    return _NO_SHEET if table is None else table.frame


#: the raw frame of a sheet the workbook does not have (read-only by convention: one for all, as building
#: it costs more than what is done with it)
_NO_SHEET = pd.DataFrame(index=pd.Index([], dtype="int64"))


def no_issues() -> pd.DataFrame:
    """A sheet's issues when it has none: one frame for all (read-only by convention: ``Checked.add`` makes a
    new frame), as building one costs more than most of what is done with it."""
    return _NO_ISSUES


_NO_ISSUES = pd.DataFrame(
    {"column": [], "code": [], "message": []}, index=pd.Index([], dtype="int64"), dtype=object
)


def _parse(spec: SheetSpec, column: str, kind: Kind, raw: pd.Series) -> values.Parsed:
    if spec in (MILESTONES, RATE_CARD) and column == "Workload":
        return values.parse_workload(raw, any_allowed=True)
    return values.parse(raw, kind)


Hook = Callable[[Checked, pd.DataFrame], None]  # the sheet, and its raw frame
#: sheets of at least this many rows keep their key columns as their parse numbered them (``Checked.numbers``,
#: for the rules that match rows by them)
NUMBERED_KEY_FROM = 10_000


def check_sheet(spec: SheetSpec, raw: pd.DataFrame, before_schema: Hook | None = None) -> Checked:
    """Parse and validate one data sheet's raw frame (canonical columns; absent ones are taken as empty and
    not reported again: they already have a missing-column finding)."""
    typed: dict[str, pd.Series] = {}
    parts: list[pd.DataFrame] = []
    # the key is checked with the numbers its parse gave each value (``validate_frame``), unless the step
    # before the schema rewrites it
    by_codes = spec.name not in _KEY_REWRITTEN
    kept = before_schema is None and len(raw) >= NUMBERED_KEY_FROM
    numbers: dict[str, Numbered] = {}
    key_codes: dict[str, np.ndarray] = {}
    for col in spec.columns:
        if col.name not in raw:
            typed[col.name] = values.empty_column(col.kind, raw.index)
            continue
        parsed = _parse(spec, col.name, col.kind, raw[col.name])
        typed[col.name] = parsed.values
        found = parsed.numbered() if (by_codes or kept) and col.name in spec.key else None
        if found is not None:
            key_codes[col.name] = found.codes
            if kept:
                numbers[col.name] = found
        if len(parsed.issues):
            parts.append(parsed.issues.assign(column=col.name)[["column", "code", "message"]])
    frame = pd.DataFrame(typed, index=raw.index)
    sheet = Checked(spec, frame, pd.concat(parts) if parts else no_issues(), numbers)
    if before_schema is not None:
        before_schema(sheet, raw)
    absent = [col.name for col in spec.columns if col.name not in raw]
    failures = validate_frame(sheet.frame, spec.name, absent, key_codes if by_codes else None)
    if len(failures):
        _add_schema_failures(sheet, failures)
    return sheet


def check_data_sheet(spec: SheetSpec, raw: pd.DataFrame) -> Checked:
    """``check_sheet`` with the sheet's own steps before validation (Customers' defaults, Associations'
    declined statuses, Settings' names)."""
    return check_sheet(spec, raw, _BEFORE_SCHEMA.get(spec.name))


def _add_schema_failures(sheet: Checked, failures: pd.DataFrame) -> None:
    # An empty cell that is empty because its value failed to parse already has its finding.
    failed_cells = pd.MultiIndex.from_arrays([sheet.issues.index, sheet.issues["column"]])
    cells = pd.MultiIndex.from_arrays([failures.index, failures["column"]])
    failures = failures[~((failures["code"] == "missing-value").to_numpy() & cells.isin(failed_cells))]
    for (code, column), group in failures.groupby(["code", "column"], sort=False):
        if code == "missing-value":
            messages: Any = f"{column} is empty; fill it in (it is required)."
        elif code == "duplicate-key":
            messages = _duplicate_messages(sheet, group.index)
        elif code == "bad-number":
            messages = [
                f"{values.show(v)} is negative; {column} cannot be below zero." for v in group["value"]
            ]
        else:
            messages = [f"{values.show(v)} is not a valid {column}." for v in group["value"]]
        sheet.add(group.index, str(column), str(code), messages)
        if code not in ROW_CODES:
            sheet.frame.loc[group.index, column] = None  # the typed frame never holds a failed value


def _duplicate_messages(sheet: Checked, rows: pd.Index) -> list[str]:
    key = list(sheet.spec.key)
    frame = sheet.frame
    at = frame.index.get_indexer(rows)
    # only rows sharing every part of a repeated key can hold its first occurrence: cut column by column,
    # then the first complete occurrence of each key within its book (``schemas.ROW_BITS``) in those few rows
    near = np.arange(len(frame))
    for column in key:
        whole = frame[column]
        part = whole if len(near) == len(frame) else whole.iloc[near]
        near = near[part.isin(whole.iloc[at].dropna().unique()).to_numpy()]
    firsts: dict[tuple[Any, ...], int] = {}
    labels = frame.index[near]
    candidates = [frame[column].iloc[near].tolist() for column in key]
    for label, book, *keys in zip(labels.tolist(), book_of(labels).tolist(), *candidates, strict=True):
        if not any(pd.isna(v) for v in keys):
            firsts.setdefault((book, *keys), label)
    names = key[0] if len(key) == 1 else f"{', '.join(key[:-1])} and {key[-1]}"
    repeated = [frame[column].iloc[at].tolist() for column in key]
    return [
        f"Same {names} as row {firsts[(book, *keys)] & ROW_MASK} "
        f"({', '.join(values.show(_plain(v)) for v in keys)}); keep one row per {names}."
        for book, *keys in zip(book_of(rows).tolist(), *repeated, strict=True)
    ]


def _plain(value: Any) -> Any:
    return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value


def to_findings(sheet: Checked) -> list[Finding]:
    """The sheet's issues as findings, in row order then column order (Associations findings name the claim)."""
    issues = sheet.issues
    if issues.empty:
        return []
    order = {col.name: i for i, col in enumerate(sheet.spec.columns)}
    columns = issues["column"].to_numpy(dtype=object)
    rows = issues.index.to_numpy(dtype="int64")
    positions = np.array([order.get(c, len(order)) for c in columns], dtype="int64")
    place = np.lexsort((positions, rows))  # stable: by row, then by column
    rows = rows[place]
    claims: list[Any] = [None] * len(issues)
    if sheet.spec is ASSOCIATIONS:
        claims = sheet.frame["Claim ID"].reindex(rows).tolist()
    return [
        Finding(code, sheet.spec.name, message, row=row, column=column, claim_id=claim)
        for row, column, code, message, claim in zip(
            rows.tolist(),
            columns[place].tolist(),
            issues["code"].to_numpy(dtype=object)[place].tolist(),
            issues["message"].to_numpy(dtype=object)[place].tolist(),
            claims,
            strict=True,
        )
    ]


# ---------------------------------------------------------------------------------------- per sheet


def _customer_defaults(sheet: Checked, raw: pd.DataFrame) -> None:
    """Public Sector defaults to no and Language to English, where the cell is empty (not where it failed)."""
    frame = sheet.frame
    empty = frame["Public Sector"].isna() & ~sheet.failed("Public Sector")
    frame.loc[empty, "Public Sector"] = False
    empty = frame["Language"].isna() & ~sheet.failed("Language")
    frame.loc[empty, "Language"] = DEFAULT_LANGUAGE


def _declined_by_status(sheet: Checked, raw: pd.DataFrame) -> None:
    """A Status typed as "Customer declined" (or Declined, Cancelled) is Rejected for that reason: it fills an
    empty Rejection Reason, so that the row is not offered a dispute it cannot have."""
    if "Status" not in raw:
        return
    codes, said = pd.factorize(raw["Status"].to_numpy(dtype=object))  # each distinct status folded once
    aliases = [isinstance(v, str) and fold(v) in DECLINED_STATUS_ALIASES for v in said.tolist()]
    empty = sheet.frame["Rejection Reason"].isna() & ~sheet.failed("Rejection Reason")
    declined = np.array([*aliases, False])[codes] & empty.to_numpy()  # code -1 (empty cell): the last
    if declined.any():
        sheet.frame.loc[declined, "Rejection Reason"] = CUSTOMER_DECLINED


def _unknown_tenants(sheet: Checked, known: set[str]) -> None:
    tenants = sheet.frame["Tenant ID"]
    numbered = sheet.numbers.get("Tenant ID")  # (as the parse numbered them; else numbered here)
    codes, said = (
        (numbered.codes, numbered.values)
        if numbered is not None
        else pd.factorize(tenants.to_numpy(dtype=object))  # each distinct tenant looked up once
    )
    # one message per distinct unknown tenant, None for the others (and for code -1, an empty cell: the last)
    text = np.array(
        [
            None
            if tenant in known
            else f"Tenant ID {tenant} is not in the Customers sheet; add the customer there, or correct the ID."
            for tenant in said.tolist()
        ]
        + [None],
        dtype=object,
    )
    hit = pd.notna(text)[codes]
    if hit.any():
        sheet.add(tenants.index[hit], "Tenant ID", "unknown-tenant", text[codes[hit]].tolist())


_SETTING_KEYS = {fold(name): name for name in SETTING_NAMES}


def _setting_names(sheet: Checked, raw: pd.DataFrame) -> None:
    """Setting names -> their canonical spelling (so that duplicates are found); unknown ones reported."""
    names = sheet.frame["Setting"]
    canonical = names.map(lambda n: None if n is None else _SETTING_KEYS.get(fold(n)))
    sheet.frame["Setting"] = canonical.where(canonical.notna(), names).astype(object)
    unknown = names[names.notna() & canonical.isna()]
    messages = []
    for name in unknown:
        near = suggest(name, _SETTING_KEYS)
        hint = f"did you mean {near[0]}?" if near else f"the settings are {', '.join(SETTING_NAMES)}."
        messages.append(f"{values.show(name)} is not a setting the tool knows, so it is ignored; {hint}")
    sheet.add(unknown.index, "Setting", "unknown-setting", messages)


def _settings(sheet: Checked) -> Settings:
    """The program settings: each known row's value, else the default (SPEC "Settings")."""
    chosen: dict[str, Any] = {}
    issues = sheet.issues
    skip = set(issues.index[issues["code"].isin(["duplicate-key", "unknown-setting"]).to_numpy()].tolist())
    frame = sheet.frame  # a handful of rows: as lists
    rows = zip(frame.index.tolist(), frame["Setting"].tolist(), frame["Value"].tolist(), strict=True)
    for row, name, text in rows:
        if name not in SETTING_NAMES or row in skip or text is None:  # blank: the default
            continue  # (Milestone Window Months: no window)
        attr = SETTING_NAMES[name]
        value, problem = _setting_value(attr, text)
        if problem:
            sheet.add(pd.Index([row]), "Value", "bad-setting", f"{name} is {values.show(text)}, {problem}")
            continue
        chosen[attr] = value
    return Settings(**chosen)


@lru_cache(maxsize=256)  # (a batch's workbooks mostly hold the same few settings: each read once)
def _setting_value(attr: str, text: str) -> tuple[Any, str]:
    """A setting's value from its cell text, or the problem in words (after "<name> is <value>, ")."""
    if attr == "high_water_mark_from":
        month = values.parse_month(pd.Series([text], dtype=object)).values.iloc[0]
        if pd.isna(month):
            return None, (
                f"not a month; write it as YYYY-MM, such as {HWM_START} (from when Microsoft pays usage above the "
                "high-water mark). Until it is corrected no new row is recorded in either ledger."
            )
        return month.date(), ""
    if attr == "consent_window_starts":
        choice = next((c for c in CONSENT_ANCHORS if fold(c) == fold(text)), None)
        if choice is None:
            return None, "neither Submitted nor Approved; write one of the two. Submitted was used."
        return choice, ""
    number = _whole(text)
    if number is None:
        default = getattr(Settings(), attr)
        fallback = "no window is used" if default is None else f"the default {default} was used"
        return None, f"not a whole number of 0 or more; {fallback}."
    return number, ""


def _whole(text: str) -> int | None:
    number = values.number_of_text(text)
    if number is None or number < 0 or not float(number).is_integer():
        return None
    return int(number)


#: what a sheet's check does before its schema runs
_BEFORE_SCHEMA: dict[str, Hook] = {
    CUSTOMERS.name: _customer_defaults,
    ASSOCIATIONS.name: lambda sheet, raw: _declined_by_status(sheet, raw),
    SETTINGS.name: _setting_names,
}
#: the sheets whose step before the schema rewrites their key (Settings' names, spelt as the tool spells them)
_KEY_REWRITTEN = frozenset({SETTINGS.name})


def _milestones(
    data: WorkbookData, check: Callable[[SheetSpec], Checked]
) -> tuple[Checked, bool, list[Finding]]:
    """The program's milestone table; the built-in example when the sheet is missing or unusable, or when
    it is the example table `cpor-excel new` writes (a Source column saying "example")."""
    table = data.sheets.get(MILESTONES.name)
    if table is not None and all(c.name in table.frame for c in MILESTONES.columns if c.required):
        checked = check(MILESTONES)
        if not _marked_as_example(table.frame):
            return checked, False, []
        why = (
            "The Milestones sheet holds the example table that `cpor-excel new` writes (its Source column "
            "says example): its figures are illustrative, not Microsoft's; replace them with the table from "
            "your incentive guide and clear the Source column."
        )
        return checked, True, [Finding("example-program", MILESTONES.name, why)]
    why = "There is no Milestones sheet" if table is None else "The Milestones sheet lacks required columns"
    why += (
        ", so the built-in example table was used: its figures are illustrative, not Microsoft's; add your "
        "incentive guide's milestone table as a Milestones sheet."
    )
    example = example_milestones().astype(object)
    example = example.where(example.notna() & (example != ""), None)
    return check_sheet(MILESTONES, example), True, [Finding("example-program", MILESTONES.name, why)]


def _rate_card(data: WorkbookData, check: Callable[[SheetSpec], Checked]) -> tuple[Checked | None, str]:
    """The Rate Card sheet, checked, with a note: "" (in use), "example" (the marked example `new` writes: its
    figures are not the partner's, so it is not used) or "missing"."""
    table = data.sheets.get(RATE_CARD.name)
    if table is None:
        return None, "missing"
    checked = check(RATE_CARD)
    return checked, "example" if _marked_as_example(table.frame) else ""


def _hold(data: WorkbookData, rate_card: Checked | None, settings: Checked) -> str:
    """Why this run records no new ledger row ("" when it may): a High-Water Mark From that is not a month
    holds both ledgers (which months are milestones' is unknown), an unusable Rate Card the Earnings Ledger."""
    bad = settings.issues.index[(settings.issues["code"] == "bad-setting").to_numpy()]
    if len(bad) and (settings.frame.loc[bad, "Setting"] == "High-Water Mark From").any():
        return "both"
    if rate_card is None:
        return ""
    missing = any(f.code == "missing-column" and f.sheet == RATE_CARD.name for f in data.findings)
    if missing or (len(rate_card.issues) and rate_card.issues["code"].isin(ERROR_CODES).any()):
        return "earnings"
    return ""


def _marked_as_example(raw: pd.DataFrame) -> bool:
    source = next((c for c in raw.columns if fold(c) == "source"), None)
    if source is None:
        return False
    notes = [str(v).strip() for v in raw[source].tolist() if not pd.isna(v)]  # (a few cells)
    notes = [note for note in notes if note]
    return bool(notes) and all(_EXAMPLE_WORD.search(note) for note in notes)


# ------------------------------------------------------------------------------------- the tool's sheets


def _tenant_or_text(value: Any) -> str | None:
    text = values.text_of(value)
    return None if text is None else values.guid_of(text) or text.lower()


def _workload_or_text(value: Any) -> str | None:
    text = values.text_of(value)
    return None if text is None else canonical_workload(text) or text


Tolerant = Callable[[pd.Series], pd.Series]

#: how a tool sheet's column is read back, by its kind: IDs and workloads keep their text when they do not
#: parse (a hand-edited ledger row must never lose its key), other columns are parsed leniently
_KEEP_TEXT: dict[Kind, Callable[[Any], Any]] = {
    Kind.GUID: _tenant_or_text,
    Kind.WORKLOAD: _workload_or_text,
    Kind.DIGITS: lambda v: values.partner_id_of(v) or values.text_of(v),
}


def _tolerant(kind: Kind) -> Tolerant:
    keep = _KEEP_TEXT.get(kind)
    if keep is not None:
        return lambda raw: values.by_value(raw, keep).values
    return lambda raw: values.parse(raw, kind).values


def tolerant_frame(raw: pd.DataFrame, sheet: ToolSheet) -> pd.DataFrame:
    """A tool sheet's rows under its header's columns (absent columns empty), every row kept."""
    if len(raw) == 0 and raw.index.dtype == "int64":  # (a first run's ledgers: a batch pays ~1 ms a sheet
        return _no_rows(sheet).copy()  # for building the empty frame of the same columns every time)
    empty = pd.Series(None, index=raw.index, dtype=object)
    return pd.DataFrame({c.name: _tolerant(c.kind)(raw.get(c.name, empty)) for c in sheet.columns})


@cache
def _no_rows(sheet: ToolSheet) -> pd.DataFrame:
    """The tolerant frame of a tool sheet without rows (copied before use)."""
    index = pd.Index([], dtype="int64")
    return pd.DataFrame({c.name: values.empty_column(c.kind, index) for c in sheet.columns}, index=index)

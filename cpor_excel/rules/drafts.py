"""Which claims get a consent pre-notification email (SPEC "Email drafts"). Pure: frames in, requests out.

A claim is drafted once: when it is in Draft or Submitted, its POE is signed, none of its Associations rows
has an error, and the Consent Drafts sheet has no row for it yet. Claims held back by an error on their own
rows are not reported again (the error already is); claims held back by their *customer* get
`draft-not-written`, because nothing else would tell the partner why no email appeared.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from cpor_excel.model.catalogue import DEFAULT_LANGUAGE
from cpor_excel.model.evaluation import Customer, DraftRequest, Partner
from cpor_excel.model.findings import CODES, Finding, Severity
from cpor_excel.model.program import Settings
from cpor_excel.model.workbook import Prepared
from cpor_excel.rules.arrays import instant_array
from cpor_excel.rules.consent import window_anchor, window_ends
from cpor_excel.rules.schemas import ROW_BITS, ROW_MASK, book_of
from cpor_excel.rules.together import stacked

#: statuses in which the customer has not yet been (or is just being) notified by Microsoft
DRAFT_STATUSES = ("Draft", "Submitted")


def consent_window_end(submitted: pd.Series, business_days: int) -> pd.Series:
    """The anchor date (Submitted or Approved) + N business days, NaT where there is none: the same date as
    the Consent Window Ends column, so the email and the workbook never disagree."""
    days = pd.to_datetime(submitted, errors="coerce").to_numpy(dtype="datetime64[D]")
    return pd.Series(window_ends(days, business_days).astype("datetime64[ns]"), index=submitted.index)


def claims_to_draft(
    prepared: Prepared,
    findings: list[Finding],
    settings: Settings,
    as_of: dt.date,
) -> tuple[list[DraftRequest], list[Finding]]:
    """The claims that get a consent email now, and a `draft-not-written` finding for each claim that
    should get one but whose customer row does not allow it. ``as_of`` is unused by the selection today
    but kept in the signature so the rule, like every rule, is a function of the as-of date."""
    del as_of
    [chosen] = drafts_of_books(
        [prepared.associations], [prepared.customers], [prepared.drafts], [findings], settings
    )
    return chosen


def drafts_of_books(
    associations: Sequence[pd.DataFrame],
    customers: Sequence[pd.DataFrame],
    drafts: Sequence[pd.DataFrame | None],
    findings: Sequence[Sequence[Finding]],
    settings: Settings,
) -> list[tuple[list[DraftRequest], list[Finding]]]:
    """``claims_to_draft`` of several workbooks ("books") that share the settings, run once over their
    frames stacked (``together.py``): a claim, a customer and an error row are each one book's."""
    out: list[tuple[list[DraftRequest], list[Finding]]] = [([], []) for _ in associations]
    assoc = stacked(associations)
    if assoc.empty:
        return out
    claim = assoc["Claim ID"].to_numpy(dtype=object)
    stripped = _texts(claim, lower=False)
    named = pd.notna(claim) & (stripped != "")
    if not named.any():
        return out
    rows = _Rows(assoc, named, stripped)
    error_rows: dict[str, set[int]] = {}
    for book, found in enumerate(findings):  # (each book's Excel rows as stacked rows)
        for sheet, numbers in _error_rows(found).items():
            error_rows.setdefault(sheet, set()).update((book << ROW_BITS) | r for r in numbers)
    drafted = {(book, c) for book, made in enumerate(drafts) for c in _drafted_claims(made)}
    claims = rows.claims_to_draft(error_rows.get("Associations", set()), drafted)
    if not claims:
        return out
    facts = rows.facts(claims, settings.consent_window_business_days, window_anchor(settings))
    lookup = _customer_lookup(
        stacked(customers),
        error_rows.get("Customers", set()),
        {(b, t) for b, t in zip(facts["book"], facts["tenant"], strict=True) if isinstance(t, str)},
    )

    for at, claim_id in enumerate(facts["claim"]):  # one pass per email, not per row
        book = facts["book"][at]
        requests, held_back = out[book]
        first_row = int(facts["first_row"][at]) & ROW_MASK
        customer, why_not = _customer_for(lookup, book, str(facts["tenant"][at]))
        if customer is None:
            held_back.append(
                Finding(
                    "draft-not-written",
                    "Associations",
                    f"No consent email drafted for claim {claim_id}: {why_not}",
                    row=first_row,
                    column="Claim ID",
                    claim_id=str(claim_id),
                )
            )
            continue
        requests.append(
            DraftRequest(
                claim_id=str(claim_id),
                rows=tuple(int(r) & ROW_MASK for r in facts["rows"][at]),
                customer=customer,
                partner=Partner(
                    id=_text(facts["Partner ID"][at]),
                    name=_text(facts["Partner Name"][at]),
                    contact_name=_text(facts["Partner Contact Name"][at]),
                    contact_email=_text(facts["Partner Contact Email"][at]),
                ),
                workloads=tuple(facts["workloads"][at]),
                poe_reference=_text(facts["POE Reference"][at]) or None,
                poe_signed=_day(facts["POE Signed"][at]),
                submitted=_date(facts["Submitted"][at]),
                window_ends=_date(facts["window_ends"][at]),
                window_days=settings.consent_window_business_days,
                window_starts=window_anchor(settings),
            )
        )
    return out


def _error_rows(findings: Sequence[Finding]) -> dict[str, set[int]]:
    """The Excel rows with an error, by sheet: one pass over what may be tens of thousands of findings,
    comparing codes rather than calling ``severity`` on each."""
    errors = {code for code, (severity, _) in CODES.items() if severity is Severity.ERROR}
    rows: dict[str, set[int]] = {}
    for f in findings:
        if f.code in errors and f.row is not None:  # (most findings are not errors: their code tells)
            rows.setdefault(f.sheet, set()).add(f.row)
    return rows


def _drafted_claims(drafts: pd.DataFrame | None) -> list[str]:
    if drafts is None or drafts.empty or "Claim ID" not in drafts:
        return []
    ids = drafts["Claim ID"].dropna().astype(str).str.strip()
    return ids[ids != ""].tolist()


class _Rows:
    """The named Associations rows, by claim: which claims get an email and the facts it states.

    Why a class of numpy arrays: a batch chooses drafts in thousands of small workbooks, where a pandas
    groupby costs a millisecond whatever its size; the claims are numbered once (``pd.factorize``, in sheet
    order) and each fact is read from the claim's rows, in sheet order, with one pass per email."""

    #: the facts taken from a claim's first row that has them (its rows share them: claim-mismatch otherwise)
    FIRST = ("Partner ID", "Partner Name", "Partner Contact Name", "Partner Contact Email")

    def __init__(self, assoc: pd.DataFrame, named: np.ndarray, stripped: np.ndarray) -> None:
        self.assoc = assoc
        self.named = np.flatnonzero(named)
        # claims in order of their first row, a claim one book's (several workbooks' rows: ``together.py``)
        texts, ids = pd.factorize(stripped[named])
        books = book_of(assoc.index)[named]
        self.codes, _ = pd.factorize(books * max(len(ids), 1) + texts)
        first = np.full(int(self.codes.max(initial=-1)) + 1, -1, dtype=np.int64)
        first[self.codes[::-1]] = np.arange(len(self.codes))[::-1]
        self.ids, self.books = np.asarray(ids, dtype=object)[texts[first]], books[first]
        self.excel_rows = assoc.index.to_numpy()[named]  # (stacked rows: each book's after the one before)

    def claims_to_draft(self, error_rows: set[int], drafted: set[tuple[int, str]]) -> list[int]:
        """The claims (codes) in Draft or Submitted, with a POE signed, no error on any row, not drafted yet."""
        status = self.assoc["Status"].to_numpy(dtype=object)[self.named]
        size = len(self.ids)
        open_ = (
            np.bincount(
                self.codes[np.logical_or.reduce([status == s for s in DRAFT_STATUSES])], minlength=size
            )
            > 0
        )
        error = np.bincount(self.codes[np.isin(self.excel_rows, list(error_rows))], minlength=size) > 0
        signed = pd.notna(instant_array(self.assoc, "POE Signed")[self.named])
        poe = np.bincount(self.codes[signed], minlength=size) > 0
        fresh = [(b, c) not in drafted for b, c in zip(self.books.tolist(), self.ids.tolist(), strict=True)]
        wanted = open_ & ~error & poe & np.array(fresh, dtype=bool)
        return np.flatnonzero(wanted).tolist()

    def facts(self, claims: list[int], window_days: int, anchor: str) -> dict[str, list[Any]]:
        """The facts each email states, by name: a list over the claims (by first row)."""
        chosen = np.flatnonzero(np.isin(self.codes, claims))
        chosen = chosen[np.argsort(self.excel_rows[chosen], kind="stable")]  # sheet order
        chosen = chosen[np.argsort(self.codes[chosen], kind="stable")]  # grouped by claim, sheet order within
        code = self.codes[chosen]
        starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
        ends = np.r_[starts[1:], len(chosen)]
        at = self.named[chosen]
        assoc = self.assoc
        first_row = self.excel_rows[chosen][starts]
        facts: dict[str, list[Any]] = {
            "claim": self.ids[code[starts]].tolist(),
            "book": self.books[code[starts]].tolist(),
            "first_row": first_row.tolist(),
            "rows": [self.excel_rows[chosen[a:b]].tolist() for a, b in zip(starts, ends, strict=True)],
        }
        tenants = _texts(assoc["Tenant ID"].to_numpy(dtype=object)[at], lower=True)
        facts["tenant"] = _first(tenants, pd.notna(tenants), starts, np.nan)
        for column in self.FIRST:
            values = assoc[column].to_numpy(dtype=object)[at]
            facts[column] = _first(values, pd.notna(values), starts, None)
        reference = assoc["POE Reference"].to_numpy(dtype=object)[at]
        usable = ~(pd.isna(reference) | (_texts(reference, lower=False) == ""))
        facts["POE Reference"] = _first(reference, usable, starts, None)
        workloads = assoc["Workload"].to_numpy(dtype=object)[at]
        facts["workloads"] = [
            sorted({str(w) for w in workloads[a:b].tolist() if not pd.isna(w)})
            for a, b in zip(starts, ends, strict=True)
        ]
        # Microsoft reviews the most recent POE; the earliest submission gives the earliest window end,
        # so the customer is never told a later date than the one that applies
        facts["POE Signed"] = list(_dates(instant_array(assoc, "POE Signed")[at], starts, latest=True))
        facts["Submitted"] = list(_dates(instant_array(assoc, "Submitted")[at], starts, latest=False))
        days = _dates(instant_array(assoc, anchor)[at], starts, latest=False).astype("datetime64[D]")
        facts["window_ends"] = list(window_ends(days, window_days).astype("datetime64[ns]"))
        order = np.argsort(first_row, kind="stable").tolist()  # claims by their first row
        return {name: [values[i] for i in order] for name, values in facts.items()}


def _first(values: np.ndarray, usable: np.ndarray, starts: np.ndarray, none: Any) -> list[Any]:
    """Each group's first usable value (groups: the rows from each start to the next; groupby's first),
    ``none`` for a group without one."""
    n = len(values)
    if not n:
        return []
    first = np.minimum.reduceat(np.where(usable, np.arange(n), n), starts)
    ends = np.r_[starts[1:], n]
    found = first < ends
    out = np.full(len(starts), none, dtype=object)
    out[found] = values[first[found]]
    return out.tolist()


def _dates(days: np.ndarray, starts: np.ndarray, latest: bool) -> np.ndarray:
    """Each group's latest (or earliest) date, NaT when it has none (groups as in ``_first``)."""
    numbers = days.astype("datetime64[ns]").view(np.int64)
    if latest:  # NaT is the smallest number: it never wins a maximum unless there is nothing else
        return np.maximum.reduceat(numbers, starts).view("datetime64[ns]")
    unset = np.iinfo(np.int64).max
    earliest = np.minimum.reduceat(np.where(np.isnat(days), unset, numbers), starts)
    return np.where(earliest == unset, np.iinfo(np.int64).min, earliest).view("datetime64[ns]")


def _texts(values: np.ndarray, lower: bool) -> np.ndarray:
    """pandas' ``astype(str).str.strip()`` (and ``.str.lower()``) of the values, each distinct value once:
    NaN where missing."""
    codes, distinct = pd.factorize(values)
    listed = distinct.tolist() if isinstance(distinct, np.ndarray) else list(distinct)
    if any(isinstance(value, bytes) for value in listed):  # (pandas decodes bytes)
        series = pd.Series(distinct, dtype=object).astype(str).str.strip()
        listed = (series.str.lower() if lower else series).tolist()
    elif lower:  # what pandas' str methods do, without a Series per call (a batch drafts in thousands)
        listed = [str(value).strip().lower() for value in listed]
    else:
        listed = [str(value).strip() for value in listed]
    return np.array([*listed, np.nan], dtype=object)[codes]


def _customer_lookup(
    customers: pd.DataFrame, error_rows: set[int], tenants: set[tuple[int, str]]
) -> dict[tuple[int, str], dict[str, Any]]:
    """The wanted tenants' Customers rows by book and lower-case Tenant ID (the first row wins: a second
    one is already a duplicate-key error); ``_row`` its Excel row, ``_error`` whether it has an error."""
    if customers.empty:
        return {}
    ids = customers["Tenant ID"].to_numpy(dtype=object)
    lowered = _texts(ids, lower=True)
    columns = [c for c in _CUSTOMER_FACTS if c in customers]  # (only what an email states: a column
    cells = {c: customers[c].to_numpy(dtype=object) for c in columns}  # each costs a pandas call)
    rows = customers.index.to_numpy()
    books = book_of(customers.index).tolist()
    found: dict[tuple[int, str], dict[str, Any]] = {}
    for at in np.flatnonzero(pd.notna(ids)).tolist():
        tenant = (books[at], lowered[at])
        if tenant in tenants and tenant not in found:
            found[tenant] = {c: cells[c][at] for c in columns}
            found[tenant].update(_row=int(rows[at]) & ROW_MASK, _error=rows[at] in error_rows)
    return found


#: the Customers columns ``_customer_for`` reads
_CUSTOMER_FACTS = (
    "Customer Name",
    "Domain",
    "Contact Name",
    "Contact Title",
    "Contact Email",
    "Public Sector",
    "Language",
    "Country",
)


def _customer_for(
    customers: dict[tuple[int, str], dict[str, Any]], book: int, tenant: str
) -> tuple[Customer | None, str]:
    row = customers.get((book, tenant))
    if row is None:
        return None, f"tenant {tenant} is not in the Customers sheet; add the customer and run again."
    excel_row = int(row["_row"])
    if bool(row["_error"]):
        return None, f"Customers row {excel_row} has errors; correct them and run again."
    email = _text(row.get("Contact Email"))
    if not email:
        return None, f"Customers row {excel_row} has no valid Contact Email; fill it in and run again."
    language = _text(row.get("Language")).lower() or DEFAULT_LANGUAGE
    return (
        Customer(
            name=_text(row.get("Customer Name")),
            tenant_id=tenant,
            domain=_text(row.get("Domain")),
            contact_name=_text(row.get("Contact Name")),
            contact_title=_text(row.get("Contact Title")),
            contact_email=email,
            public_sector=_yes(row.get("Public Sector")),
            language=language,
            country=_text(row.get("Country")),
        ),
        "",
    )


def _text(value: object) -> str:
    if type(value) is str:  # (the usual cell: no pandas call for it)
        return value.strip()
    if value is None:
        return ""
    try:
        if pd.isna(value):  # type: ignore[call-overload]
            return ""
    except (TypeError, ValueError):
        pass
    return str(value).strip()


def _yes(value: object) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    return _text(value).casefold() in {"yes", "y", "true", "1", "ja", "oui", "si", "sí"}


def _day(value: np.datetime64) -> dt.date:
    """A chosen claim's date (``_dates``: a numpy datetime) as a date; it has one (else ``_date``)."""
    day = value.astype("datetime64[D]").item()
    if not isinstance(day, dt.date):
        raise ValueError(f"a drafted claim has no date where it needs one ({value})")
    return day


def _date(value: object) -> dt.date | None:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, np.datetime64):  # (``_dates``' values: no Timestamp for them)
        day = value.astype("datetime64[D]").item()  # (None for NaT)
        return day if day is None or isinstance(day, dt.date) else pd.Timestamp(value).date()
    stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    return None if pd.isna(stamp) else stamp.date()

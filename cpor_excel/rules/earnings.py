"""Usage paid above the high-water mark: the program from October 2023 on (SPEC "Usage paid above the
high-water mark", DOMAIN "From FY24").

Per Tenant ID and Workload, month by month:
- the counted months of a claim row are those of the milestone model (after the month of Approved, up to the
  as-of month, before the month of Ended) that are on or after High-Water Mark From; only Approved rows of an
  incentivised role that did not opt out count (``incentives.py``);
- prior = the highest Active Users of any month before m, all time (before the claim and under other partners
  too; the months the Earnings Ledger remembers count as well, so trimming old Usage rows never lowers it);
- the first reason that holds makes the month pay nothing: MXTMCPMT (more than Time Cap Months after the month
  of Approved), PAULWPHWM (PAU <= prior), MAULWPHWM (MAU <= prior), MINTHNTMT (min(MAU, PAU) - prior below Min
  New Users), MAXUNITS (the ledger's Paid Users for the tenant and workload, any claim, reached Max Paid Users);
- otherwise Paid Users = min(new, Max Paid Users - already paid), Amount = Paid Users x Rate per User.
Every counted month with a Usage row gets one Earnings Ledger row, paid or not; a month already in the ledger is
never recomputed and its Paid Users count toward Max Paid Users. When two Approved claims of one customer
workload count the same month (a conflict), the earlier approval takes it, then the lower Claim ID.

Vectorised over usage rows: prior is a per-group running maximum, and the Max Paid Users cap needs no loop:
with R = Max Paid Users - already paid, the paid users so far after month k are min(new users so far, R), so a
month pays the step of that clipped running sum (proof in the test module).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cpor_excel.model.columns import EARNINGS_HEADER
from cpor_excel.model.findings import Finding
from cpor_excel.model.program import Settings
from cpor_excel.model.workbook import Numbered
from cpor_excel.rules.arrays import count_array, instant_array, text_array
from cpor_excel.rules.earned import earned_text, usage_pay_findings
from cpor_excel.rules.incentives import incentivised
from cpor_excel.rules.keys import (
    Table,
    among,
    as_texts,
    first_of_runs,
    group_sums,
    rows_at,
    running_max,
    running_sums,
    shifted,
    sorted_codes,
)
from cpor_excel.rules.ledger import cell_frame, customer_of, month_numbers, month_texts, optional_text
from cpor_excel.rules.schemas import book_of
from cpor_excel.rules.together import split_rows, split_series, stacked

SHEET = "Associations"
RATE_CARD_SHEET = "Rate Card"
#: Microsoft's ineligibility codes, in the order the rule tries them (SPEC)
REASONS = ("MXTMCPMT", "PAULWPHWM", "MAULWPHWM", "MINTHNTMT", "MAXUNITS")


@dataclass
class EarningsResult:
    findings: list[Finding]
    #: new Earnings Ledger rows (EARNINGS_HEADER columns, cell values), by tenant, workload and month
    new_ledger_rows: pd.DataFrame
    #: per association row: the highest Active Users of its customer workload up to the as-of month (or None)
    high_water_mark: pd.Series
    #: per association row: "200 users, 1000.00 USD" from the ledger rows of its claim and workload, or ""
    earned: pd.Series


def evaluate_earnings(
    associations: pd.DataFrame,
    usage: pd.DataFrame,
    customers: pd.DataFrame,
    rate_card: pd.DataFrame | None,
    settings: Settings,
    ledger: pd.DataFrame,
    as_of: dt.date,
    rate_card_note: str = "",
    usage_numbers: Mapping[str, Numbered] | None = None,
) -> EarningsResult:
    """The months paid (or not) above the high-water mark as of ``as_of``.

    ``rate_card``: the Rate Card sheet's typed rows (RATE_CARD_COLUMNS), or None when there is none (units are
    still counted with Min New Users 1 and no caps; amounts stay blank; `no-rate-card`). ``rate_card_note``
    "example": the workbook's Rate Card is the marked example `cpor-excel new` writes, so it is not used.
    ``ledger``: the Earnings Ledger's existing rows (EARNINGS_HEADER; Month a datetime, first of month).
    Findings: `hwm-earned` and `hwm-not-earned` (info) per association row and this run's months (and those an
    earlier run recorded on this same as-of date, so that a second run reports what the first did),
    `no-rate-card` (warning) on the Rate Card sheet.
    """
    [one] = earnings_of_books(
        [associations],
        [usage],
        [customers],
        rate_card,
        settings,
        [ledger],
        as_of,
        rate_card_note,
        usage_numbers,
    )
    return one


def earnings_of_books(
    associations: Sequence[pd.DataFrame],
    usage: Sequence[pd.DataFrame],
    customers: Sequence[pd.DataFrame],
    rate_card: pd.DataFrame | None,
    settings: Settings,
    ledger: Sequence[pd.DataFrame],
    as_of: dt.date,
    rate_card_note: str = "",
    usage_numbers: Mapping[str, Numbered] | None = None,
) -> list[EarningsResult]:
    """``evaluate_earnings`` of several workbooks ("books") that share the Rate Card and the settings, run
    once over their frames stacked (``together.py``): each book's result, as its own run would give it."""
    count = len(associations)
    assoc, frames = stacked(associations), (stacked(usage), stacked(customers), stacked(ledger))
    start = settings.high_water_mark_from
    if start is None or assoc.empty:
        results = []
        for frame, held in zip(associations, ledger, strict=True):
            blank = pd.Series([None] * len(frame), index=frame.index, dtype=object, name="High-Water Mark")
            results.append(
                EarningsResult([], empty_earnings(), blank, earned_text(frame, held, empty_earnings()))
            )
        return results
    usage_all, customers_all, ledger_all = frames
    as_of_month = float((as_of.year - 1970) * 12 + as_of.month - 1)
    start_month = float((start.year - 1970) * 12 + start.month - 1)

    keys = _pair_codes(assoc, usage_all, ledger_all, (usage_numbers or {}) if count == 1 else {})
    history = _history(usage_all, ledger_all, keys, as_of_month)
    claims = _counting_claims(assoc, keys.associations, start_month, as_of_month)
    months = _counted_months(history, claims, ledger_all, keys.ledger)
    terms, missing = _terms(months["_workload"], rate_card)
    decided = _decide({**months, **terms}, ledger_all, keys.ledger)
    new_rows = _ledger_rows(decided, customers_all, as_of)

    reported = _joined(decided, _recorded_today(assoc, ledger_all, keys, rate_card, as_of))
    found = usage_pay_findings(reported, REASONS, count)
    rate_findings = _rate_findings(
        months["_workload"], months["_book"], missing, rate_card, rate_card_note, count
    )
    high_water_marks = split_series(
        _high_water_marks(assoc, keys.associations, history), [frame.index for frame in associations]
    )
    new_books = decided["_book"]
    earned = split_series(
        earned_text(assoc, ledger_all, new_rows, new_books), [frame.index for frame in associations]
    )
    new_rows_of = split_rows(new_rows, new_books, count, empty_earnings)
    return [
        EarningsResult(
            rate_findings[book] + found[book], new_rows_of[book], high_water_marks[book], earned[book]
        )
        for book in range(count)
    ]


def _joined(first: Table, second: Table) -> Table:
    """The rows of both, in order, in the columns they share."""
    if not second:
        return first
    return {name: np.concatenate([first[name], second[name]]) for name in first if name in second}


def empty_earnings() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in EARNINGS_HEADER})


# ------------------------------------------------------------------------------------------- the keys


@dataclass
class _Keys:
    """One integer per (Tenant ID, Workload), shared by the three frames (-1 where a part is missing)."""

    associations: np.ndarray
    usage: np.ndarray
    ledger: np.ndarray


def _pair_codes(
    associations: pd.DataFrame, usage: pd.DataFrame, ledger: pd.DataFrame, numbers: Mapping[str, Numbered]
) -> _Keys:
    # Tenant ID and Workload numbered apart and combined: joining them into one text per usage row first
    # costs four times as much on 500,000 rows. Only which rows share a pair matters, not the numbers.
    frames = (associations, usage, ledger)
    tenants, _ = _numbered(frames, "Tenant ID", numbers.get("Tenant ID"))
    workloads, names = _numbered(frames, "Workload", numbers.get("Workload"))
    codes = np.where((tenants < 0) | (workloads < 0), -1, tenants * max(len(names), 1) + workloads)
    books = np.concatenate([book_of(frame.index) for frame in frames])
    if len(books) and books.max() > 0:  # stacked workbooks: a pair of one book never matches another's
        codes = np.where(codes < 0, -1, codes * (int(books.max()) + 1) + books)
    a, u = len(associations), len(usage)
    return _Keys(codes[:a], codes[a : a + u], codes[a + u :])


def _numbered(
    frames: tuple[pd.DataFrame, ...], column: str, usage: Numbered | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One number per distinct value of ``column`` across the frames (associations, usage, ledger: -1 where
    missing: a missing value, a frame without the column or without one of the pair's columns). ``usage``:
    the usage rows' numbers from the parse; the other frames' values are looked up among them."""
    parts = [
        frame[column].to_numpy(dtype=object)
        if not frame.empty and "Tenant ID" in frame and "Workload" in frame
        else np.full(len(frame), None, dtype=object)
        for frame in frames
    ]
    paired = not frames[1].empty and "Tenant ID" in frames[1] and "Workload" in frames[1]
    if usage is None or not paired or len(usage.codes) != len(frames[1]):
        codes, names = pd.factorize(np.concatenate(parts), use_na_sentinel=True)
        return codes.astype(np.int64), names
    others = np.concatenate([parts[0], parts[2]])
    known = pd.Index(usage.values, dtype=object)
    at = np.asarray(known.get_indexer(pd.Index(others, dtype=object)), dtype=np.int64)
    new = (at < 0) & pd.notna(others)  # values no usage row holds: numbered after the usage's
    more, extra = pd.factorize(others[new])
    at[new] = len(known) + more
    a = len(frames[0])
    return np.concatenate([at[:a], usage.codes, at[a:]]), np.concatenate(
        [np.asarray(known), np.asarray(extra)]
    )


# ---------------------------------------------------------------------------------------- the months


def _history(usage: pd.DataFrame, ledger: pd.DataFrame, keys: _Keys, as_of_month: float) -> Table:
    """Every month up to the as-of month of the customer workloads the associations name, by key and month:
    _key, _month, the month's Usage row (_mau, _pau, _urow; NaN without one), _through, the highest Active
    Users up to that month, and _prior, the highest of the months before it (0 if none)."""
    wanted = np.unique(keys.associations[keys.associations >= 0])
    month = _months(usage, "Month")
    take = among(keys.usage, wanted) & (month <= as_of_month)  # (NaN: no month)
    use = {
        "_key": keys.usage[take],
        "_month": month[take],
        "_mau": count_array(usage, "Active Users")[take],
        "_pau": count_array(usage, "Paid Units")[take],
        "_urow": usage.index.to_numpy()[take].astype(float),
    }
    remembered_month, remembered = _months(ledger, "Month"), count_array(ledger, "Active Users")
    kept = among(keys.ledger, wanted) & ~np.isnan(remembered_month) & ~np.isnan(remembered)
    # one value per month: the highest Active Users that month (a duplicate Usage row or the ledger's copy)
    key = np.concatenate([use["_key"], keys.ledger[kept]])
    month = np.concatenate([use["_month"], remembered_month[kept]])
    users = np.concatenate([use["_mau"], remembered[kept]])
    order = np.argsort(_key_months(key, month), kind="stable")  # by key, then month
    key, month, users = key[order], month[order], users[order]
    starts = np.flatnonzero(first_of_runs(key, month))
    highest = np.fmax.reduceat(users, starts) if len(starts) else np.zeros(0)  # fmax: NaN skipped
    highest[np.isnan(highest)] = 0.0
    key, month = key[starts], month[starts]
    through = running_max(key, highest)
    history = {"_key": key, "_month": month, "_through": through, "_prior": shifted(key, through, 0.0)}
    # the month's first Usage row (in sheet order) where it has one
    urow = use["_urow"]
    if np.all(urow[1:] > urow[:-1]):  # in sheet order (the usual): a stable sort by key and month keeps it
        order = np.argsort(_key_months(use["_key"], use["_month"]), kind="stable")
    else:
        order = np.lexsort((urow, use["_month"], use["_key"]))
    first = order[first_of_runs(use["_key"][order], use["_month"][order])]
    at = np.searchsorted(_key_months(key, month), _key_months(use["_key"][first], use["_month"][first]))
    for name in ("_mau", "_pau", "_urow"):
        history[name] = np.full(len(key), np.nan)
        history[name][at] = use[name][first]
    return history


def _key_months(keys: np.ndarray, months: np.ndarray) -> np.ndarray:
    """(key, month) as one number that sorts as the pair does (a month number is far below 2**19)."""
    return keys.astype(np.int64) * 2**20 + (months + 2**19).astype(np.int64)


def _counting_claims(
    associations: pd.DataFrame, keys: np.ndarray, start_month: float, as_of_month: float
) -> Table:
    """The Approved, incentivised rows with an Approved date: _key, _row, _claim, _partner, _workload, _tenant,
    _approved (month number), _first and _last (the counted months on the high-water-mark model)."""
    approved = _months(associations, "Approved")
    ended = _months(associations, "Ended")
    claims = {
        "_key": keys,
        "_row": associations.index.to_numpy(),
        "_book": book_of(associations.index),
        "_claim": text_array(associations, "Claim ID"),
        "_tenant": text_array(associations, "Tenant ID"),
        "_workload": text_array(associations, "Workload"),
        "_partner": text_array(associations, "Partner ID"),
        "_approved": approved,
        "_approved_day": instant_array(associations, "Approved"),
        "_first": np.fmax(approved + 1, start_month),
        "_last": np.fmin(np.full(len(associations), as_of_month), ended - 1),  # fmin: no Ended, no bound
    }
    keep = (
        (text_array(associations, "Status") == "Approved")
        & ~np.isnan(approved)
        & (keys >= 0)
        & pd.notna(claims["_claim"])
        & incentivised(associations)
    )
    return rows_at(claims, keep & (claims["_first"] <= claims["_last"]))


def _counted_months(history: Table, claims: Table, ledger: pd.DataFrame, ledger_keys: np.ndarray) -> Table:
    """The counted months with a Usage row that the ledger does not hold yet, one claim row each."""
    months = rows_at(
        history, ~np.isnan(history["_urow"]) & ~np.isnan(history["_mau"]) & ~np.isnan(history["_pau"])
    )
    # each month with every claim row of its customer workload
    by_key = np.argsort(claims["_key"], kind="stable")
    low = np.searchsorted(claims["_key"][by_key], months["_key"], side="left")
    count = np.searchsorted(claims["_key"][by_key], months["_key"], side="right") - low
    month_at = np.repeat(np.arange(len(count)), count)
    claim_at = by_key[np.repeat(low - np.cumsum(count) + count, count) + np.arange(int(count.sum()))]
    rows = {
        **rows_at(months, month_at),
        **rows_at({k: v for k, v in claims.items() if k != "_key"}, claim_at),
    }
    rows = rows_at(rows, (rows["_month"] >= rows["_first"]) & (rows["_month"] <= rows["_last"]))
    # a month counted by two claims goes to the earlier approval, then the lower Claim ID
    claim_order = sorted_codes(rows["_claim"])[0]
    order = np.lexsort(
        (rows["_row"], claim_order, rows["_approved_day"].view(np.int64), rows["_month"], rows["_key"])
    )
    rows = rows_at(rows, order[first_of_runs(rows["_key"][order], rows["_month"][order])])
    held_month = _months(ledger, "Month")
    held = ~np.isnan(held_month)
    if held.any():
        rows = rows_at(
            rows,
            ~np.isin(
                _key_months(rows["_key"], rows["_month"]), _key_months(ledger_keys[held], held_month[held])
            ),
        )
    # the ledger's order (book by book); within one customer workload the months ascend, as the cap needs
    tenant, workload = sorted_codes(rows["_tenant"])[0], sorted_codes(rows["_workload"])[0]
    return rows_at(rows, np.lexsort((rows["_month"], workload, tenant, rows["_book"])))


# ------------------------------------------------------------------------------------------ the terms


def _terms(workloads: np.ndarray, rate_card: pd.DataFrame | None) -> tuple[Table, np.ndarray]:
    """Per row of ``workloads``: _rate, _currency, _min_new, _max, _cap from its workload's Rate Card row (an
    exact workload row beats "*"); without one, Min New Users 1 and no caps, no rate. And per row whether the
    Rate Card has no row for it (`no-rate-card`, ``_rate_findings``)."""
    codes, names = pd.factorize(workloads)
    card = _card(rate_card)
    lookup: dict[object, int] = {}
    for at, name in enumerate(card["_wl"].tolist()):
        lookup.setdefault(name, at)
    star = lookup.get("*", -1)
    found = np.array([name in lookup for name in names.tolist()], dtype=bool)
    row = np.array([lookup.get(name, star) for name in names.tolist()], dtype=np.int64)[codes]
    if star >= 0:
        found[:] = True
    terms: Table = {}
    for column in _TERM_COLUMNS:
        values = np.concatenate([card[column], np.full(1, np.nan, dtype=card[column].dtype)])
        terms[column] = values[row]  # -1: the appended blank
    terms["_min_new"] = np.where(np.isnan(terms["_min_new"]), 1.0, terms["_min_new"])
    terms["_max"] = np.where(np.isnan(terms["_max"]), np.inf, terms["_max"])
    return terms, ~np.append(found, True)[codes]  # (code -1, no workload: never reported)


def _rate_findings(
    workloads: np.ndarray,
    books: np.ndarray,
    missing: np.ndarray,
    rate_card: pd.DataFrame | None,
    note: str,
    count: int,
) -> list[list[Finding]]:
    """Per book, `no-rate-card` when it counts months (``workloads``, of ``books``) and has no Rate Card, or one
    for each workload of its months that its Rate Card has no row for (by name)."""
    out: list[list[Finding]] = [[] for _ in range(count)]
    if rate_card is None:
        message = (
            (
                "The Rate Card holds the example `cpor-excel new` writes (its Source column says example)"
                if note == "example"
                else "There is no Rate Card sheet"
            )
            + ", so the months paid above the high-water mark count users with Min New Users 1 and no caps, "
            "and leave amounts blank: enter the rates, minimum and caps of your incentive guide (Microsoft "
            "does not publish them)" + (" and clear the Source column." if note == "example" else ".")
        )
        for book in np.unique(books).tolist():
            out[book].append(Finding("no-rate-card", RATE_CARD_SHEET, message))
        return out
    for book in np.unique(books[missing]).tolist():
        for name in sorted({str(n) for n in workloads[missing & (books == book)].tolist()}):
            out[book].append(
                Finding(
                    "no-rate-card",
                    RATE_CARD_SHEET,
                    f"The Rate Card has no row for {name} and no * row, so its months paid above the "
                    "high-water mark count users with Min New Users 1 and no caps, and leave amounts blank: "
                    f"add a row for {name} from your incentive guide.",
                )
            )
    return out


_TERM_COLUMNS = ["_rate", "_currency", "_min_new", "_max", "_cap"]


def _card(rate_card: pd.DataFrame | None) -> Table:
    """The usable Rate Card rows, first row per workload: _wl and the term columns (NaN where blank)."""
    if rate_card is None or rate_card.empty:
        return {
            c: np.zeros(0, dtype=object if c in ("_wl", "_currency") else float)
            for c in ["_wl", *_TERM_COLUMNS]
        }
    card = {
        "_wl": text_array(rate_card, "Workload"),
        "_rate": count_array(rate_card, "Rate per User"),
        "_currency": text_array(rate_card, "Currency"),
        "_min_new": count_array(rate_card, "Min New Users"),
        "_max": count_array(rate_card, "Max Paid Users"),
        "_cap": count_array(rate_card, "Time Cap Months"),
    }
    return rows_at(card, pd.notna(card["_wl"]))


# ----------------------------------------------------------------------------------------- decisions


def _decide(months: Table, ledger: pd.DataFrame, ledger_keys: np.ndarray) -> Table:
    """Reason, New Users, Paid Users and Amount of each counted month (``months`` sorted by key and month)."""
    mau, pau, prior = months["_mau"], months["_pau"], months["_prior"]
    new = np.minimum(mau, pau) - prior
    reasons = [
        (months["_month"] - months["_approved"]) > months["_cap"],
        pau <= prior,
        mau <= prior,
        new < months["_min_new"],
    ]
    passing = ~np.logical_or.reduce(reasons) if len(mau) else np.zeros(0, dtype=bool)
    # The cap, without a loop: S_k = min(sum of new users of the passing months up to k, R) is what the
    # months up to k pay together, with R = Max Paid Users - what the ledger paid already.
    paid_users = np.nan_to_num(count_array(ledger, "Paid Users"), nan=0.0)
    known = ledger_keys >= 0
    size = int(max(ledger_keys.max(initial=-1), months["_key"].max(initial=-1))) + 1
    before = group_sums(np.where(known, ledger_keys, -1), paid_users, size)[months["_key"]]
    room = np.maximum(months["_max"] - before, 0)
    groups = months["_key"]
    paid_so_far = np.minimum(running_sums(groups, np.where(passing, new, 0.0)), room)
    paid_before = shifted(groups, paid_so_far, 0.0)
    full = passing & (paid_before >= room)
    paid = np.where(passing & ~full, paid_so_far - paid_before, 0.0)
    return {
        **months,
        "_new": np.maximum(new, 0.0),
        "_paid": paid,
        "_amount": paid * months["_rate"],
        "_reason": np.select([*reasons, full], list(REASONS), default="").astype(object),
        "_already": before + paid_before,  # for the MAXUNITS words
    }


# ---------------------------------------------------------------------------------------- the ledger


def _ledger_rows(decided: Table, customers: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """New Earnings Ledger rows as cell values (EARNINGS_HEADER; Python scalars, None for blank)."""
    if not len(decided["_key"]):
        return empty_earnings()
    rate = decided["_rate"]
    currency = decided["_currency"].astype(object)  # (a copy)
    currency[np.isnan(rate)] = None
    columns: dict[str, list[Any]] = {
        "Claim ID": as_texts(decided["_claim"]).tolist(),
        "Tenant ID": as_texts(decided["_tenant"]).tolist(),
        "Customer": optional_text(customer_of(customers, decided["_tenant"], decided["_book"])),
        "Workload": as_texts(decided["_workload"]).tolist(),
        "Partner ID": optional_text(decided["_partner"]),
        "Month": month_texts(decided["_month"]).tolist(),
        "Active Users": _whole(decided["_mau"]),
        "Paid Units": _whole(decided["_pau"]),
        "Prior High-Water Mark": _whole(decided["_prior"]),
        "New Users": _whole(decided["_new"]),
        "Paid Users": _whole(decided["_paid"]),
        "Rate per User": _whole(rate, int_values=False),
        "Amount": _rounded(decided["_amount"]),
        "Currency": optional_text(currency),
        "Reason": optional_text(decided["_reason"]),
        "Recorded On": [as_of.isoformat()] * len(rate),
    }
    return cell_frame(columns, EARNINGS_HEADER)


def _high_water_marks(associations: pd.DataFrame, keys: np.ndarray, history: Table) -> pd.Series:
    """The highest Active Users so far (up to the as-of month) of each row's customer workload."""
    key = history["_key"]
    last = np.r_[key[1:] != key[:-1], True] if len(key) else np.zeros(0, dtype=bool)
    known, highest = key[last], history["_through"][last]  # (running maxima: each key's last is its highest)
    at = np.minimum(np.searchsorted(known, keys), max(len(known) - 1, 0))
    hit = (keys >= 0) & (known[at] == keys) if len(known) else np.zeros(len(keys), dtype=bool)
    values = [
        int(m) if h else None
        for m, h in zip(highest[at].tolist() if len(known) else [0] * len(keys), hit.tolist(), strict=True)
    ]
    return pd.Series(values, index=associations.index, dtype=object, name="High-Water Mark")


# ------------------------------------------------------------------------------------------ findings


def _recorded_today(
    associations: pd.DataFrame,
    ledger: pd.DataFrame,
    keys: _Keys,
    rate_card: pd.DataFrame | None,
    as_of: dt.date,
) -> Table:
    """Ledger rows an earlier run recorded on this same as-of date, shaped like ``_decide``'s output, so that a
    second run with one as-of date reports what the first did (SPEC: a run is deterministic)."""
    if ledger.empty or "Recorded On" not in ledger or "Claim ID" not in ledger:
        return {}
    recorded = pd.to_datetime(ledger["Recorded On"], errors="coerce").dt.date.to_numpy() == as_of
    if not recorded.any():
        return {}
    today = pd.DataFrame(
        {
            "_claim": text_array(ledger, "Claim ID"),
            "_workload": text_array(ledger, "Workload"),
            "_book": book_of(ledger.index),
            "_key": keys.ledger,
            "_month": _months(ledger, "Month"),
            "_mau": count_array(ledger, "Active Users"),
            "_pau": count_array(ledger, "Paid Units"),
            "_prior": count_array(ledger, "Prior High-Water Mark"),
            "_new": count_array(ledger, "New Users"),
            "_paid": count_array(ledger, "Paid Users"),
            "_amount": count_array(ledger, "Amount"),
            "_currency": text_array(ledger, "Currency"),
            "_reason": pd.Series(text_array(ledger, "Reason"), dtype=object).fillna("").to_numpy(),
        }
    )[recorded]
    rows = pd.DataFrame(
        {
            "_claim": text_array(associations, "Claim ID"),
            "_workload": text_array(associations, "Workload"),
            "_book": book_of(associations.index),
            "_row": associations.index.to_numpy(),
            "_approved": _months(associations, "Approved"),
        }
    ).drop_duplicates(["_claim", "_workload", "_book"])
    today = today.merge(rows, on=["_claim", "_workload", "_book"])
    terms, _ = _terms(today["_workload"].to_numpy(dtype=object), rate_card)
    already = pd.Series(count_array(ledger, "Paid Users"), dtype=float).fillna(0.0).groupby(keys.ledger).sum()
    today = today.assign(**{c: v for c, v in terms.items() if c != "_currency"})
    today = today.assign(_already=today["_key"].map(already).fillna(0.0))
    return {str(c): today[c].to_numpy() for c in today.columns}


# -------------------------------------------------------------------------------------------- helpers


def _months(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame:
        return np.full(len(frame), np.nan)
    return month_numbers(frame[column])


def _rounded(amounts: np.ndarray) -> list[float | None]:
    """``round(a, 2)`` of each amount, None where NaN; each distinct amount rounded once (a ledger's months
    repeat a few rates times a few numbers of users)."""
    amounts = np.asarray(amounts, dtype=float)
    known = ~np.isnan(amounts)
    codes, distinct = pd.factorize(np.ascontiguousarray(amounts[known]).view(np.int64))  # (by their bits)
    cells = np.full(len(amounts), None, dtype=object)
    cells[known] = np.array([round(a, 2) for a in distinct.view(np.float64).tolist()], dtype=object)[codes]
    return list(cells.tolist())


def _whole(values: np.ndarray, int_values: bool = True) -> list[Any]:
    """Whole numbers (floats with ``int_values=False``) as Python scalars, None where NaN; converted as one
    array, not value by value (a first run's ledger has about 100,000 rows)."""
    numbers = values.astype(float)
    missing = np.isnan(numbers)
    cells = np.where(missing, 0, numbers).astype(np.int64 if int_values else float).astype(object)
    cells[missing] = None
    return cells.tolist()

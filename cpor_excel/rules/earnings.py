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
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cpor_excel.model.columns import EARNINGS_HEADER
from cpor_excel.model.findings import Finding
from cpor_excel.model.program import Settings
from cpor_excel.rules.earned import earned_text
from cpor_excel.rules.incentives import incentivised
from cpor_excel.rules.ledger import customer_names, month_numbers, month_texts, optional_text
from cpor_excel.rules.poe_dates import text_array
from cpor_excel.rules.usage import count_array

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
    start = settings.high_water_mark_from
    index = associations.index
    if start is None or associations.empty:
        blank = pd.Series([None] * len(index), index=index, dtype=object, name="High-Water Mark")
        return EarningsResult(
            [], empty_earnings(), blank, earned_text(associations, ledger, empty_earnings())
        )
    as_of_month = float((as_of.year - 1970) * 12 + as_of.month - 1)
    start_month = float((start.year - 1970) * 12 + start.month - 1)

    keys = _pair_codes(associations, usage, ledger)
    history = _history(usage, ledger, keys, as_of_month)
    claims = _counting_claims(associations, keys.associations, start_month, as_of_month)
    months = _counted_months(history, claims, ledger, keys.ledger)
    terms, rate_findings = _terms(months["_workload"], rate_card, rate_card_note)
    months = months.merge(terms, on="_workload", how="left")
    decided = _decide(months, ledger, keys.ledger)
    new_rows = _ledger_rows(decided, customers, as_of)

    reported = pd.concat([decided, _recorded_today(associations, ledger, keys, rate_card, as_of)])
    findings = rate_findings if len(months) else []
    findings += _findings(reported)
    return EarningsResult(
        findings=findings,
        new_ledger_rows=new_rows,
        high_water_mark=_high_water_marks(associations, keys.associations, history),
        earned=earned_text(associations, ledger, new_rows),
    )


def empty_earnings() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in EARNINGS_HEADER})


# ------------------------------------------------------------------------------------------- the keys


@dataclass
class _Keys:
    """One integer per (Tenant ID, Workload), shared by the three frames (-1 where a part is missing)."""

    associations: np.ndarray
    usage: np.ndarray
    ledger: np.ndarray


def _pair_codes(associations: pd.DataFrame, usage: pd.DataFrame, ledger: pd.DataFrame) -> _Keys:
    # Tenant ID and Workload numbered apart and combined: joining them into one text per usage row first
    # costs four times as much on 500,000 rows. Only which rows share a pair matters, not the numbers.
    frames = (associations, usage, ledger)
    tenants, _ = _numbered(frames, "Tenant ID")
    workloads, names = _numbered(frames, "Workload")
    codes = np.where((tenants < 0) | (workloads < 0), -1, tenants * max(len(names), 1) + workloads)
    a, u = len(associations), len(usage)
    return _Keys(codes[:a], codes[a : a + u], codes[a + u :])


def _numbered(frames: tuple[pd.DataFrame, ...], column: str) -> tuple[np.ndarray, pd.Index]:
    """One number per distinct value of ``column`` across the frames, in their order (-1 where missing:
    a missing value, a frame without the column or without one of the pair's columns)."""
    parts = [
        frame[column].astype(object).reset_index(drop=True)
        if not frame.empty and "Tenant ID" in frame and "Workload" in frame
        else pd.Series(None, index=range(len(frame)), dtype=object)
        for frame in frames
    ]
    codes, names = pd.factorize(pd.concat(parts, ignore_index=True), use_na_sentinel=True)
    return codes.astype(np.int64), names


# ---------------------------------------------------------------------------------------- the months


def _history(usage: pd.DataFrame, ledger: pd.DataFrame, keys: _Keys, as_of_month: float) -> pd.DataFrame:
    """Every month up to the as-of month of the customer workloads the associations name: _key, _month, the
    month's Usage row (_mau, _pau, _urow; NaN / -1 without one) and _prior, the highest Active Users of the
    months before it (0 if none)."""
    wanted = np.unique(keys.associations[keys.associations >= 0])
    use = pd.DataFrame(
        {
            "_key": keys.usage,
            "_month": _months(usage, "Month"),
            "_mau": count_array(usage, "Active Users"),
            "_pau": count_array(usage, "Paid Units"),
            "_urow": usage.index.to_numpy(),
        }
    )
    use = use[np.isin(use["_key"].to_numpy(), wanted) & (use["_month"] <= as_of_month)]
    use = use.dropna(subset=["_month"])
    remembered = pd.DataFrame(
        {
            "_key": keys.ledger,
            "_month": _months(ledger, "Month"),
            "_mau": count_array(ledger, "Active Users"),
        }
    )
    remembered = remembered[np.isin(remembered["_key"].to_numpy(), wanted)].dropna()
    # one value per month: the highest Active Users that month (a duplicate Usage row or the ledger's copy)
    highest = (
        pd.concat([use[["_key", "_month", "_mau"]], remembered], ignore_index=True)
        .groupby(["_key", "_month"], sort=True)["_mau"]
        .max()
        .fillna(0.0)
        .reset_index()
    )
    highest["_through"] = highest.groupby("_key", sort=False)["_mau"].cummax()
    highest["_prior"] = highest.groupby("_key", sort=False)["_through"].shift(1).fillna(0.0)
    first = use.sort_values(["_key", "_month", "_urow"], kind="stable").drop_duplicates(["_key", "_month"])
    return highest[["_key", "_month", "_through", "_prior"]].merge(first, on=["_key", "_month"], how="left")


def _counting_claims(
    associations: pd.DataFrame, keys: np.ndarray, start_month: float, as_of_month: float
) -> pd.DataFrame:
    """The Approved, incentivised rows with an Approved date: _key, _row, _claim, _partner, _workload, _tenant,
    _approved (month number), _first and _last (the counted months on the high-water-mark model)."""
    approved = _months(associations, "Approved")
    ended = _months(associations, "Ended")
    frame = pd.DataFrame(
        {
            "_key": keys,
            "_row": associations.index.to_numpy(),
            "_claim": text_array(associations, "Claim ID"),
            "_tenant": text_array(associations, "Tenant ID"),
            "_workload": text_array(associations, "Workload"),
            "_partner": text_array(associations, "Partner ID"),
            "_approved": approved,
            "_approved_day": pd.to_datetime(associations["Approved"], errors="coerce").to_numpy(),
            "_first": np.fmax(approved + 1, start_month),
            "_last": np.fmin(np.full(len(associations), as_of_month), ended - 1),  # fmin: no Ended, no bound
        }
    )
    keep = (
        (text_array(associations, "Status") == "Approved")
        & ~np.isnan(approved)
        & (keys >= 0)
        & pd.notna(frame["_claim"]).to_numpy()
        & incentivised(associations)
    )
    return frame[keep & (frame["_first"] <= frame["_last"]).to_numpy()]


def _counted_months(
    history: pd.DataFrame, claims: pd.DataFrame, ledger: pd.DataFrame, ledger_keys: np.ndarray
) -> pd.DataFrame:
    """The counted months with a Usage row that the ledger does not hold yet, one claim row each."""
    rows = history[history["_urow"].notna() & history["_mau"].notna() & history["_pau"].notna()]
    rows = rows.merge(claims, on="_key")
    rows = rows[(rows["_month"] >= rows["_first"]) & (rows["_month"] <= rows["_last"])]
    rows = rows.sort_values(["_key", "_month", "_approved_day", "_claim", "_row"], kind="stable")
    rows = rows.drop_duplicates(["_key", "_month"])
    held = pd.DataFrame({"_key": ledger_keys, "_month": _months(ledger, "Month")}).dropna()
    if len(held):
        marked = rows.merge(held.drop_duplicates().assign(_held=True), on=["_key", "_month"], how="left")
        rows = marked[marked["_held"].isna()].drop(columns="_held")
    # the ledger's order; within one customer workload the months ascend, as the cap needs
    return rows.sort_values(["_tenant", "_workload", "_month"], kind="stable").reset_index(drop=True)


# ------------------------------------------------------------------------------------------ the terms


def _terms(
    workloads: pd.Series, rate_card: pd.DataFrame | None, note: str = ""
) -> tuple[pd.DataFrame, list[Finding]]:
    """Per workload: _rate, _currency, _min_new, _max, _cap from its Rate Card row (an exact workload row
    beats "*"); without one, Min New Users 1 and no caps, no rate, and `no-rate-card`."""
    names = pd.Series(pd.unique(workloads.astype(object)), dtype=object)
    terms = pd.DataFrame({"_workload": names})
    card = _card(rate_card)
    exact = terms.merge(card, left_on="_workload", right_on="_wl", how="left")
    star = card[card["_wl"] == "*"].head(1)
    found = np.array(exact["_wl"].notna(), dtype=bool)
    if len(star):
        for column in _TERM_COLUMNS:
            exact.loc[~found, column] = star[column].iloc[0]
        found[:] = True
    exact["_min_new"] = exact["_min_new"].astype(float).fillna(1.0)
    exact["_max"] = exact["_max"].astype(float).fillna(np.inf)
    findings: list[Finding] = []
    if rate_card is None:
        findings.append(
            Finding(
                "no-rate-card",
                RATE_CARD_SHEET,
                (
                    "The Rate Card holds the example `cpor-excel new` writes (its Source column says example)"
                    if note == "example"
                    else "There is no Rate Card sheet"
                )
                + ", so the months paid above the high-water mark count users with Min New Users 1 and no caps, "
                "and leave amounts blank: enter the rates, minimum and caps of your incentive guide (Microsoft "
                "does not publish them)" + (" and clear the Source column." if note == "example" else "."),
            )
        )
    else:
        for name in sorted(names[~found].astype(str)):
            findings.append(
                Finding(
                    "no-rate-card",
                    RATE_CARD_SHEET,
                    f"The Rate Card has no row for {name} and no * row, so its months paid above the "
                    "high-water mark count users with Min New Users 1 and no caps, and leave amounts blank: "
                    f"add a row for {name} from your incentive guide.",
                )
            )
    return exact[["_workload", *_TERM_COLUMNS]], findings


_TERM_COLUMNS = ["_rate", "_currency", "_min_new", "_max", "_cap"]


def _card(rate_card: pd.DataFrame | None) -> pd.DataFrame:
    """The usable Rate Card rows, first row per workload: _wl and the term columns (NaN where blank)."""
    if rate_card is None or rate_card.empty:
        kinds = {c: object if c in ("_wl", "_currency") else float for c in ["_wl", *_TERM_COLUMNS]}
        return pd.DataFrame({c: pd.Series(dtype=kind) for c, kind in kinds.items()})
    card = pd.DataFrame(
        {
            "_wl": text_array(rate_card, "Workload"),
            "_rate": count_array(rate_card, "Rate per User"),
            "_currency": text_array(rate_card, "Currency"),
            "_min_new": count_array(rate_card, "Min New Users"),
            "_max": count_array(rate_card, "Max Paid Users"),
            "_cap": count_array(rate_card, "Time Cap Months"),
        }
    )
    return card.dropna(subset=["_wl"]).drop_duplicates("_wl")


# ----------------------------------------------------------------------------------------- decisions


def _decide(months: pd.DataFrame, ledger: pd.DataFrame, ledger_keys: np.ndarray) -> pd.DataFrame:
    """Reason, New Users, Paid Users and Amount of each counted month (``months`` sorted by key and month)."""
    mau, pau, prior = (months[c].to_numpy(dtype=float) for c in ("_mau", "_pau", "_prior"))
    new = np.minimum(mau, pau) - prior
    reasons = [
        (months["_month"] - months["_approved"]).to_numpy(dtype=float) > months["_cap"].to_numpy(dtype=float),
        pau <= prior,
        mau <= prior,
        new < months["_min_new"].to_numpy(dtype=float),
    ]
    passing = ~np.logical_or.reduce(reasons) if len(months) else np.zeros(0, dtype=bool)
    # The cap, without a loop: S_k = min(sum of new users of the passing months up to k, R) is what the
    # months up to k pay together, with R = Max Paid Users - what the ledger paid already.
    already = pd.Series(count_array(ledger, "Paid Users"), dtype=float).fillna(0.0)
    before = already.groupby(ledger_keys).sum() if len(ledger) else pd.Series(dtype=float)
    room = np.maximum(
        months["_max"].to_numpy(dtype=float) - months["_key"].map(before).fillna(0.0).to_numpy(), 0
    )
    groups = months["_key"].to_numpy()
    running = pd.Series(np.where(passing, new, 0.0)).groupby(groups).cumsum().to_numpy()
    paid_so_far = np.minimum(running, room)
    paid_before = pd.Series(paid_so_far).groupby(groups).shift(1).fillna(0.0).to_numpy()
    full = passing & (paid_before >= room)
    paid = np.where(passing & ~full, paid_so_far - paid_before, 0.0)
    return months.assign(
        _new=np.maximum(new, 0.0),
        _paid=paid,
        _amount=paid * months["_rate"].to_numpy(dtype=float),
        _reason=np.select([*reasons, full], list(REASONS), default=""),
        _already=months["_key"].map(before).fillna(0.0).to_numpy() + paid_before,  # for the MAXUNITS words
    )


# ---------------------------------------------------------------------------------------- the ledger


def _ledger_rows(decided: pd.DataFrame, customers: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """New Earnings Ledger rows as cell values (EARNINGS_HEADER; Python scalars, None for blank)."""
    if decided.empty:
        return empty_earnings()
    names = customer_names(customers)
    rate = decided["_rate"].to_numpy(dtype=float)
    amount = decided["_amount"].to_numpy(dtype=float)
    columns: dict[str, list[Any]] = {
        "Claim ID": decided["_claim"].astype(str).tolist(),
        "Tenant ID": decided["_tenant"].astype(str).tolist(),
        "Customer": optional_text(decided["_tenant"].map(names)),
        "Workload": decided["_workload"].astype(str).tolist(),
        "Partner ID": optional_text(decided["_partner"]),
        "Month": month_texts(decided["_month"].to_numpy(dtype=float)).tolist(),
        "Active Users": _whole(decided["_mau"]),
        "Paid Units": _whole(decided["_pau"]),
        "Prior High-Water Mark": _whole(decided["_prior"]),
        "New Users": _whole(decided["_new"]),
        "Paid Users": _whole(decided["_paid"]),
        "Rate per User": _whole(decided["_rate"], int_values=False),
        "Amount": [None if a != a else round(a, 2) for a in amount.tolist()],  # a != a: NaN
        "Currency": optional_text(decided["_currency"].where(~np.isnan(rate), None)),
        "Reason": optional_text(decided["_reason"]),
        "Recorded On": [as_of.isoformat()] * len(decided),
    }
    return pd.DataFrame({c: pd.Series(columns[c], dtype=object) for c in EARNINGS_HEADER})


def _high_water_marks(associations: pd.DataFrame, keys: np.ndarray, history: pd.DataFrame) -> pd.Series:
    """The highest Active Users so far (up to the as-of month) of each row's customer workload."""
    highest = history.groupby("_key")["_through"].max() if len(history) else pd.Series(dtype=float)
    marks = pd.Series(keys).map(highest).to_numpy(dtype=float)
    values = [None if np.isnan(m) else int(m) for m in marks.tolist()]
    return pd.Series(values, index=associations.index, dtype=object, name="High-Water Mark")


# ------------------------------------------------------------------------------------------ findings


def _recorded_today(
    associations: pd.DataFrame,
    ledger: pd.DataFrame,
    keys: _Keys,
    rate_card: pd.DataFrame | None,
    as_of: dt.date,
) -> pd.DataFrame:
    """Ledger rows an earlier run recorded on this same as-of date, shaped like ``_decide``'s output, so that a
    second run with one as-of date reports what the first did (SPEC: a run is deterministic)."""
    if ledger.empty or "Recorded On" not in ledger or "Claim ID" not in ledger:
        return pd.DataFrame()
    recorded = pd.to_datetime(ledger["Recorded On"], errors="coerce").dt.date.to_numpy() == as_of
    if not recorded.any():
        return pd.DataFrame()
    today = pd.DataFrame(
        {
            "_claim": text_array(ledger, "Claim ID"),
            "_workload": text_array(ledger, "Workload"),
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
            "_row": associations.index.to_numpy(),
            "_approved": _months(associations, "Approved"),
        }
    ).drop_duplicates(["_claim", "_workload"])
    today = today.merge(rows, on=["_claim", "_workload"])
    terms, _ = _terms(today["_workload"], rate_card)
    already = pd.Series(count_array(ledger, "Paid Users"), dtype=float).fillna(0.0).groupby(keys.ledger).sum()
    today = today.merge(terms.drop(columns=["_currency"]), on="_workload", how="left")
    return today.assign(_already=today["_key"].map(already).fillna(0.0))


def _findings(reported: pd.DataFrame) -> list[Finding]:
    """One `hwm-earned` per association row with paid months, one `hwm-not-earned` per row and reason.

    A first run of a big workbook reports tens of thousands of groups, so they are not made by a pandas
    groupby loop (a frame per group): sorted by row, reason and month, each group is a run of consecutive
    rows, and its sums, first and last month are found with numpy over the run boundaries."""
    if reported.empty:
        return []
    order = {code: i for i, code in enumerate(("", *REASONS))}
    frame = reported.assign(_order=reported["_reason"].map(order))
    frame = frame.sort_values(["_row", "_order", "_month"], kind="stable").reset_index(drop=True)
    texts = month_texts(frame["_month"].to_numpy(dtype=float))
    rows = frame["_row"].to_numpy()
    orders = frame["_order"].to_numpy()
    starts = np.flatnonzero(np.r_[True, (rows[1:] != rows[:-1]) | (orders[1:] != orders[:-1])])
    ends = np.r_[starts[1:], len(frame)] - 1  # the last row of each run
    claims, workloads, reasons = (frame[c].to_numpy() for c in ("_claim", "_workload", "_reason"))
    amounts = frame["_amount"].to_numpy(dtype=float)
    has_amount = ~np.isnan(amounts)
    paid_users = np.add.reduceat(frame["_paid"].to_numpy(dtype=float), starts)
    amount_sums = np.add.reduceat(np.where(has_amount, amounts, 0.0), starts)
    with_amount = np.add.reduceat(has_amount.astype(np.int64), starts)
    last_amount = np.maximum.reduceat(np.where(has_amount, np.arange(len(frame)), -1), starts)
    currencies = frame["_currency"].to_numpy()
    detail = {c: frame[c].to_numpy() for c in _REASON_FIELDS if c in frame}
    found: list[Finding] = []
    for at, (first, last) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        span = (
            texts[first] if first == last else f"{last - first + 1} months, {texts[first]} to {texts[last]}"
        )
        workload = workloads[first]
        if reasons[first] == "":
            users = int(paid_users[at])
            money = ""
            if with_amount[at]:
                currency = currencies[last_amount[at]]
                currency = "" if currency is None or currency != currency else currency
                money = f", {amount_sums[at]:.2f} {currency}".rstrip()
            code = "hwm-earned"
            message = (
                f"Usage pay above the high-water mark for {workload} in {span}: {users} new active "
                f"{'user' if users == 1 else 'users'}{money} (Earnings Ledger months of this run)."
            )
        else:
            code = "hwm-not-earned"
            month = {c: values[last] for c, values in detail.items()}
            message = f"No usage pay for {workload} in {span}: {reason_words(str(reasons[first]), month)}."
        found.append(
            Finding(
                code, SHEET, message, row=int(rows[first]), column="Workload", claim_id=str(claims[first])
            )
        )
    return found


#: the figures ``reason_words`` quotes from a month
_REASON_FIELDS = ("_mau", "_pau", "_prior", "_cap", "_approved", "_new", "_min_new", "_already", "_max")


def reason_words(reason: str, month: Any) -> str:
    """Microsoft's reason code in a partner's words, with the month's figures (a row of ``_decide``)."""
    mau, pau, prior = (_int(month[c]) for c in ("_mau", "_pau", "_prior"))
    if reason == "MXTMCPMT":
        words = (
            f"it is more than {_int(month['_cap'])} months after the claim was approved in "
            f"{_month_text(month['_approved'])}, the Rate Card's Time Cap Months"
        )
    elif reason == "PAULWPHWM":
        words = (
            f"paid units ({pau}) were not above the high-water mark of {prior} active users, so there was no "
            "licence for a new user to be paid on"
        )
    elif reason == "MAULWPHWM":
        words = f"active users ({mau}) did not rise above the high-water mark of {prior}"
    elif reason == "MINTHNTMT":
        words = (
            f"{_int(month['_new'])} new active users above the high-water mark of {prior} are fewer than the "
            f"Rate Card's Min New Users of {_int(month['_min_new'])}"
        )
    else:
        words = (
            f"the {_int(month['_already'])} users already paid for this customer's workload reached the Rate "
            f"Card's Max Paid Users of {_int(month['_max'])}"
        )
    return f"{words} (Microsoft's reason {reason})"


# -------------------------------------------------------------------------------------------- helpers


def _months(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame:
        return np.full(len(frame), np.nan)
    return month_numbers(frame[column])


def _month_text(number: float) -> str:
    return str(month_texts(np.array([float(number)]))[0])


def _int(value: Any) -> int:
    return int(float(value))


def _whole(values: pd.Series, int_values: bool = True) -> list[Any]:
    """Whole numbers (floats with ``int_values=False``) as Python scalars, None where NaN; converted as one
    array, not value by value (a first run's ledger has about 100,000 rows)."""
    numbers = values.to_numpy(dtype=float)
    missing = np.isnan(numbers)
    cells = np.where(missing, 0, numbers).astype(np.int64 if int_values else float).astype(object)
    cells[missing] = None
    return cells.tolist()

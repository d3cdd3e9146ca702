"""Usage pay above the high-water mark in words: the Associations column Earned, what the Earnings Ledger
holds for each claim and workload ("200 users, 1000.00 USD") from its existing rows and the rows a run adds,
and the run's `hwm-earned` / `hwm-not-earned` findings with Microsoft's reasons in a partner's words
(``earnings.py`` decides the months). Pure.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from cpor_excel.model.findings import Finding, findings_for_rows
from cpor_excel.rules.arrays import count_array, text_array
from cpor_excel.rules.keys import Keys, Table, group_sums, joined_texts
from cpor_excel.rules.ledger import month_texts
from cpor_excel.rules.schemas import ROW_BITS, ROW_MASK, book_of

SHEET = "Associations"


def earned_text(
    associations: pd.DataFrame,
    ledger: pd.DataFrame,
    new_rows: pd.DataFrame,
    new_books: np.ndarray | None = None,
) -> pd.Series:
    """Per association row, what the Earnings Ledger (existing and new rows) holds for its claim and workload:
    "200 users, 1000.00 USD" (users only when no amount is known), "" when the ledger has no month of it.
    ``new_books``: each new row's book, when the frames are several workbooks' stacked (``together.py``)."""
    out = np.full(len(associations), "", dtype=object)
    new_books = np.zeros(len(new_rows), dtype=np.int64) if new_books is None else new_books
    sides = [(f, b) for f, b in ((ledger, book_of(ledger.index)), (new_rows, new_books)) if not f.empty]
    frames = [frame for frame, _ in sides]
    if not frames or associations.empty:
        return pd.Series(out, index=associations.index, dtype=object, name="Earned")

    def column(read: Callable[[pd.DataFrame, str], np.ndarray], name: str) -> np.ndarray:
        return np.concatenate([read(frame, name) for frame in frames])

    pairs = Keys(
        [column(text_array, "Claim ID"), text_array(associations, "Claim ID")],
        [column(text_array, "Workload"), text_array(associations, "Workload")],
        books=[np.concatenate([books for _, books in sides]), book_of(associations.index)],
    )
    held, rows = pairs.codes
    users = group_sums(held, column(count_array, "Paid Users"), pairs.size)
    # the amounts of a claim and workload, one text per currency in the currencies' sorted order
    amount = column(count_array, "Amount")
    currency = column(text_array, "Currency")
    currency[pd.isna(currency)] = ""
    priced = np.where(np.isnan(amount), -1, held)
    money = Keys([priced], [currency], sort=True)
    [code] = money.codes
    sums = group_sums(code, amount, money.size)
    first = np.full(money.size, -1, dtype=np.int64)
    known = np.flatnonzero(code >= 0)
    first[code[known[::-1]]] = known[::-1]  # each money group's first row
    texts = np.array(
        [f"{a:.2f} {c}".strip() for a, c in zip(sums.tolist(), currency[first].tolist(), strict=True)],
        dtype=object,
    )
    amounts = joined_texts(priced[first], texts, pairs.size, ", ")
    counted = np.zeros(pairs.size, dtype=bool)
    counted[held[held >= 0]] = True  # a pair the ledger has a month of
    labels = np.array(
        [
            f"{int(u)} users" + ("" if a is None else ", " + a)
            for u, a in zip(users.tolist(), amounts.tolist(), strict=True)
        ],
        dtype=object,
    )
    hit = (rows >= 0) & counted[np.maximum(rows, 0)]
    out[hit] = labels[rows[hit]]
    return pd.Series(out, index=associations.index, dtype=object, name="Earned")


# ------------------------------------------------------------------------------- usage pay's findings


def usage_pay_findings(reported: Table, reason_codes: tuple[str, ...], count: int = 1) -> list[list[Finding]]:
    """One `hwm-earned` per association row with paid months, one `hwm-not-earned` per row and reason
    (``reported``: the months ``earnings.py`` decided, with their reason codes, in ``reason_codes``' order).

    A first run of a big workbook reports tens of thousands of groups, so they are not made by a pandas
    groupby loop (a frame per group): sorted by row, reason and month, each group is a run of consecutive
    rows, and its sums, first and last month are found with numpy over the run boundaries."""
    if not len(reported["_row"]):
        return [[] for _ in range(count)]  # by book (``together.py``)
    order = {code: i for i, code in enumerate(("", *reason_codes))}
    codes, distinct = pd.factorize(reported["_reason"])
    reason_order = np.array([*(order.get(r, np.nan) for r in distinct.tolist()), np.nan], dtype=float)[codes]
    by = np.lexsort((reported["_month"], reason_order, reported["_row"]))
    rows, orders = reported["_row"][by], reason_order[by]
    starts = np.flatnonzero(np.r_[True, (rows[1:] != rows[:-1]) | (orders[1:] != orders[:-1])])
    ends = np.r_[starts[1:], len(rows)] - 1  # the last row of each run
    # only the runs' first and last rows are put into words: their values alone become Python objects
    firsts, lasts = by[starts], by[ends]
    amounts = reported["_amount"][by].astype(float)
    has_amount = ~np.isnan(amounts)
    paid_users = np.add.reduceat(reported["_paid"][by].astype(float), starts).tolist()
    amount_sums = np.add.reduceat(np.where(has_amount, amounts, 0.0), starts).tolist()
    with_amount = np.add.reduceat(has_amount.astype(np.int64), starts).tolist()
    last_amount = np.maximum.reduceat(np.where(has_amount, np.arange(len(rows)), -1), starts)
    currencies = reported["_currency"][by[np.maximum(last_amount, 0)]].tolist()
    claims, workloads, reasons = (reported[c][firsts].tolist() for c in ("_claim", "_workload", "_reason"))
    detail = {c: reported[c][lasts].tolist() for c in _REASON_FIELDS if c in reported}
    month = reported["_month"].astype(float)
    first_texts, last_texts = month_texts(month[firsts]).tolist(), month_texts(month[lasts]).tolist()
    spans = (ends - starts + 1).tolist()
    kinds: list[str] = []
    messages: list[str] = []
    for at, months in enumerate(spans):
        span = first_texts[at] if months == 1 else f"{months} months, {first_texts[at]} to {last_texts[at]}"
        workload = workloads[at]
        if reasons[at] == "":
            users = int(paid_users[at])
            money = ""
            if with_amount[at]:
                currency = currencies[at]
                currency = "" if currency is None or currency != currency else currency
                money = f", {amount_sums[at]:.2f} {currency}".rstrip()
            kinds.append("hwm-earned")
            messages.append(
                f"Usage pay above the high-water mark for {workload} in {span}: {users} new active "
                f"{'user' if users == 1 else 'users'}{money} (Earnings Ledger months of this run)."
            )
        else:
            kinds.append("hwm-not-earned")
            figures = {c: values[at] for c, values in detail.items()}
            messages.append(
                f"No usage pay for {workload} in {span}: {reason_words(str(reasons[at]), figures)}."
            )
    stacked_rows = rows[starts].astype(np.int64)  # (ascending: each book's findings together, in book order)
    claim_ids = [str(claim) for claim in claims]  # (str(None) as ever: "None")
    made = findings_for_rows(
        kinds, SHEET, (stacked_rows & ROW_MASK).tolist(), messages, "Workload", claim_ids
    )
    bounds = np.searchsorted(stacked_rows >> ROW_BITS, np.arange(count + 1)).tolist()
    return [made[lo:hi] for lo, hi in itertools.pairwise(bounds)]


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


def _month_text(number: float) -> str:
    year, month = divmod(int(number), 12) if number == number else (0, 0)
    if 1000 <= 1970 + year <= 9999:  # what month_texts writes, without an array per finding
        return f"{1970 + year}-{month + 1:02d}"
    return str(month_texts(np.array([float(number)]))[0])


def _int(value: Any) -> int:
    return int(float(value))

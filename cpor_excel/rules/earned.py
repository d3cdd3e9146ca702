"""The Associations column Earned: what the Earnings Ledger holds for each claim and workload, in words
("200 users, 1000.00 USD"), from its existing rows and the rows a run adds (``earnings.py``). Pure.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from cpor_excel.rules.keys import Keys, group_sums, joined_texts
from cpor_excel.rules.poe_dates import text_array
from cpor_excel.rules.usage import count_array


def earned_text(associations: pd.DataFrame, ledger: pd.DataFrame, new_rows: pd.DataFrame) -> pd.Series:
    """Per association row, what the Earnings Ledger (existing and new rows) holds for its claim and workload:
    "200 users, 1000.00 USD" (users only when no amount is known), "" when the ledger has no month of it."""
    out = np.full(len(associations), "", dtype=object)
    frames = [frame for frame in (ledger, new_rows) if not frame.empty]
    if not frames or associations.empty:
        return pd.Series(out, index=associations.index, dtype=object, name="Earned")

    def column(read: Callable[[pd.DataFrame, str], np.ndarray], name: str) -> np.ndarray:
        return np.concatenate([read(frame, name) for frame in frames])

    pairs = Keys(
        [column(text_array, "Claim ID"), text_array(associations, "Claim ID")],
        [column(text_array, "Workload"), text_array(associations, "Workload")],
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

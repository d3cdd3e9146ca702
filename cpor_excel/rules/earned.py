"""The Associations column Earned: what the Earnings Ledger holds for each claim and workload, in words
("200 users, 1000.00 USD"), from its existing rows and the rows a run adds (``earnings.py``). Pure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cpor_excel.rules.poe_dates import text_array
from cpor_excel.rules.usage import count_array


def earned_text(associations: pd.DataFrame, ledger: pd.DataFrame, new_rows: pd.DataFrame) -> pd.Series:
    """Per association row, what the Earnings Ledger (existing and new rows) holds for its claim and workload:
    "200 users, 1000.00 USD" (users only when no amount is known), "" when the ledger has no month of it."""
    out = pd.Series("", index=associations.index, dtype=object, name="Earned")
    parts = [
        pd.DataFrame(
            {
                "_claim": text_array(frame, "Claim ID"),
                "_workload": text_array(frame, "Workload"),
                "_users": count_array(frame, "Paid Users"),
                "_amount": count_array(frame, "Amount"),
                "_currency": text_array(frame, "Currency"),
            }
        )
        for frame in (ledger, new_rows)
        if not frame.empty
    ]
    if not parts or associations.empty:
        return out
    held = pd.concat(parts, ignore_index=True).dropna(subset=["_claim", "_workload"])
    held["_currency"] = held["_currency"].fillna("")
    users = held.groupby(["_claim", "_workload"], sort=False)["_users"].sum().rename("_total")
    priced = held.dropna(subset=["_amount"])
    money = priced.groupby(["_claim", "_workload", "_currency"], sort=True)["_amount"].sum().reset_index()
    money["_text"] = (
        money["_amount"].map(lambda a: f"{a:.2f}").astype(object) + " " + money["_currency"]
    ).map(str.strip)
    amounts = _joined_per_pair(money)
    table = users.to_frame().join(amounts.rename("_text"), how="left").reset_index()
    money_part = table["_text"].astype(object)
    table["_label"] = (
        table["_total"].astype(np.int64).astype(str).astype(object)
        + " users"
        + (", " + money_part.fillna("")).where(money_part.notna(), "")
    )
    rows = pd.DataFrame(
        {
            "_pos": np.arange(len(associations)),
            "_claim": text_array(associations, "Claim ID"),
            "_workload": text_array(associations, "Workload"),
        }
    )
    hits = rows.merge(table, on=["_claim", "_workload"])
    values = out.to_numpy(dtype=object, copy=True)
    values[hits["_pos"].to_numpy(dtype=np.int64)] = hits["_label"].to_numpy(dtype=object)
    return pd.Series(values, index=associations.index, dtype=object, name="Earned")


def _joined_per_pair(money: pd.DataFrame) -> pd.Series:
    """The "_text" of each (claim, workload) joined with ", " (``money`` sorted by them): one text per pair
    but where a claim was paid in two currencies, so only those are joined in Python (a pandas join of every
    group costs 0.5 s on a first run's ledger)."""
    claims, workloads = money["_claim"].to_numpy(dtype=object), money["_workload"].to_numpy(dtype=object)
    texts = money["_text"].to_numpy(dtype=object)
    first = np.r_[True, (claims[1:] != claims[:-1]) | (workloads[1:] != workloads[:-1])]
    starts = np.flatnonzero(first[: len(money)])
    ends = np.r_[starts[1:], len(money)]
    joined = texts[starts].copy()
    for at in np.flatnonzero(ends - starts > 1).tolist():
        joined[at] = ", ".join(texts[starts[at] : ends[at]].tolist())
    pairs = pd.MultiIndex.from_arrays([claims[starts], workloads[starts]], names=["_claim", "_workload"])
    return pd.Series(joined, index=pairs, dtype=object)

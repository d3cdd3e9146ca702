"""The milestone table (the Milestones sheet) read for the milestone rule: its buckets, their ranges, gates
and priority, and its milestones, as the arrays ``milestones.py`` indexes. Pure.

A batch's workbooks mostly share one table (the example, or the partner's guide), and reading it is a dozen
pandas steps on a dozen rows: each distinct table is read once per process and remembered by its content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from cpor_excel.rules.arrays import text_array as _column
from cpor_excel.rules.keys import sorted_codes


def sorted_index(texts: np.ndarray) -> pd.Index:
    """The distinct texts, sorted (as pandas sorts text), as an object index: codes into it sort alike."""
    return pd.Index(sorted_codes(np.asarray(texts, dtype=object))[1], dtype=object)


def codes_in(index: pd.Index, texts: Any) -> np.ndarray:
    """The position of each text in ``index`` (-1 where it is not there: an empty cell, an unknown key)."""
    return np.asarray(index.get_indexer(pd.Index(texts, dtype=object)))


@dataclass(frozen=True)
class MilestoneTable:
    """The milestone table, read for the rule: its buckets (one row per Workload and Bucket, with range,
    gate and priority) and its milestones (one per row: bucket id, threshold, payment, currency, _m its
    position among the table's milestone names, sorted, and _tix its row), with the arrays the rule
    indexes. Built once per distinct table (``read_milestone_table``); read it, never change it."""

    buckets: pd.DataFrame
    table: pd.DataFrame
    #: (workload, min, max, bucket id) of every bucket, lowest priority first (``_buckets_of``)
    ordered: tuple[tuple[str, float, float, int], ...] = ()
    gates: np.ndarray = field(default_factory=lambda: np.zeros(1))  # by bucket id, then NaN (id -1)
    bucket_names: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=object))  # then None
    milestone_names: pd.Index = field(default_factory=lambda: pd.Index([], dtype=object))
    milestone: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))  # by _tix
    payment: np.ndarray = field(default_factory=lambda: np.zeros(0))
    currency: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    #: per milestone code _m: (m, threshold by bucket id, _tix by bucket id) (NaN / -1 where none)
    by_milestone: tuple[tuple[int, np.ndarray, np.ndarray], ...] = ()
    #: the milestones of each bucket id in table order: table rows from start[b] to start[b + 1]
    of_bucket: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    start: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))


def _read(buckets: pd.DataFrame, table: pd.DataFrame) -> MilestoneTable:
    ordered = buckets.sort_values(["_exact", "_min", "_order"], ascending=[True, True, False], kind="stable")
    size = int(table["_bucket_id"].max()) + 1 if len(table) else 0
    by_milestone = []
    codes = table["_m"].to_numpy(dtype=np.int64)
    for m in np.unique(codes).tolist():
        rows = table[codes == m]
        at = rows["_bucket_id"].to_numpy(dtype=np.int64)
        threshold = np.full(size, np.nan)
        threshold[at] = rows["_threshold"].to_numpy(dtype=float)
        tix = np.full(size, -1, dtype=np.int64)
        tix[at] = rows["_tix"].to_numpy(dtype=np.int64)
        by_milestone.append((m, threshold, tix))
    bucket_ids = table["_bucket_id"].to_numpy(dtype=np.int64)
    of_bucket = np.argsort(bucket_ids, kind="stable")
    return MilestoneTable(
        buckets,
        table,
        ordered=tuple(
            (str(wl), float(lo), float(hi), int(bid))
            for wl, lo, hi, bid in zip(
                ordered["_wl"], ordered["_min"], ordered["_max"], ordered["_bucket_id"], strict=True
            )
        ),
        gates=np.append(buckets.sort_values("_bucket_id")["_gate"].to_numpy(dtype=float), np.nan),
        bucket_names=np.append(buckets["_bucket"].to_numpy(dtype=object), np.array([None], dtype=object)),
        milestone_names=sorted_index(table["_milestone"].to_numpy(dtype=object)),
        milestone=table["_milestone"].to_numpy(dtype=object),
        payment=table["_payment"].to_numpy(dtype=float),
        currency=table["_currency"].to_numpy(dtype=object),
        by_milestone=tuple(by_milestone),
        of_bucket=of_bucket,
        start=np.searchsorted(bucket_ids[of_bucket], np.arange(len(buckets) + 2)),  # (+1: none yet)
    )


def read_milestone_table(milestones: pd.DataFrame) -> MilestoneTable:
    """``_table_of`` the milestone table, remembered by its content: a batch's workbooks mostly share one
    table (the example, or the partner's guide), and building it is a dozen pandas steps on a dozen rows.
    What is returned is shared: read it, never change it."""
    columns = [str(c) for c in milestones.columns]
    cells = [_column(milestones, c).tolist() for c in milestones.columns]
    key = (tuple(columns), tuple(zip(*cells, strict=True)) if cells else ())
    try:
        return _known_tables(key)
    except TypeError:  # an unhashable cell
        return _read(*_table_of(milestones))


@lru_cache(maxsize=16)
def _known_tables(key: tuple[tuple[str, ...], tuple[tuple[Any, ...], ...]]) -> MilestoneTable:
    columns, rows = key
    return _read(*_table_of(pd.DataFrame(list(rows), columns=list(columns), dtype=object)))


def _table_of(milestones: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(buckets, milestones): one row per (Workload, Bucket) with its range, gate and priority, and one
    row per milestone with its bucket id, threshold, payment, currency, its code _m (its position among the
    table's milestone names, sorted) and _tix (its row in this table). Invalid rows are left out."""

    def numbers(column: str, default: float) -> np.ndarray:
        if column not in milestones:
            return np.full(len(milestones), default)
        return pd.to_numeric(milestones[column], errors="coerce").to_numpy(dtype=float, na_value=default)

    rows = pd.DataFrame(
        {
            "_wl": _column(milestones, "Workload"),
            "_bucket": _column(milestones, "Bucket"),
            "_milestone": _column(milestones, "Milestone"),
            "_min": numbers("Min Paid Units", np.nan),
            "_max": numbers("Max Paid Units", np.inf),
            "_threshold": numbers("Active Usage %", np.nan),
            "_gate": numbers("Max Usage % At Claim", np.nan),
            "_payment": numbers("Payment", np.nan),
            "_currency": _column(milestones, "Currency"),
            "_order": np.arange(len(milestones)),
        }
    )
    rows = rows.dropna(subset=["_wl", "_bucket", "_milestone", "_min", "_threshold"])
    rows = rows.astype({"_wl": str, "_bucket": str, "_milestone": str})
    rows = rows.drop_duplicates(["_wl", "_bucket", "_milestone"])
    buckets = (
        rows.groupby(["_wl", "_bucket"], sort=False)
        .agg(_min=("_min", "min"), _max=("_max", "max"), _gate=("_gate", "min"), _order=("_order", "min"))
        .reset_index()
    )
    buckets["_exact"] = (buckets["_wl"] != "*").astype(bool)
    buckets["_bucket_id"] = np.arange(len(buckets), dtype=np.int64)
    table = rows.merge(buckets[["_wl", "_bucket", "_bucket_id"]], on=["_wl", "_bucket"])[
        ["_bucket_id", "_milestone", "_threshold", "_payment", "_currency"]
    ].reset_index(drop=True)
    table["_m"] = codes_in(sorted_index(table["_milestone"].to_numpy(dtype=object)), table["_milestone"])
    table["_tix"] = np.arange(len(table), dtype=np.int64)
    return buckets, table

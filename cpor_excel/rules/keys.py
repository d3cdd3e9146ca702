"""Rows numbered by a key (Claim ID and Workload, Tenant ID and Workload, ...), and what the rules compute per
key, with numpy. Pure.

Why this exists: a batch runs the rules on thousands of small workbooks (40 customers, a few hundred claim
rows), where a pandas merge or groupby costs about a millisecond whatever the size of the frame: that fixed
cost, paid hundreds of times per workbook, was most of a batch's time. Numbering a key once
(``pd.factorize``) and then grouping and matching with numpy (argsort, bincount, indexing) costs
microseconds on a small sheet and stays vectorised on a 500,000-row one. The results are pandas' to the
last bit: sums add each group's values in row order with pandas' compensated (Kahan) summation.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

#: a table of a rule's own: columns of one length, by name (numpy arrays, no pandas frame)
Table = dict[str, np.ndarray]


def rows_at(table: Table, at: np.ndarray) -> Table:
    """The rows ``at`` (a mask or positions) of every column."""
    return {name: values[at] for name, values in table.items()}


class Keys:
    """One number per distinct key, shared by several frames ("sides") so that their rows can be matched.

    ``Keys([left_claims, right_claims], [left_workloads, right_workloads])``: a key of two columns over two
    sides; ``codes[i]`` numbers side i's rows (-1 where a part of the key is missing: None, NaN or NaT, which
    never matches). With ``sort``, numbers follow the keys' sorted order (pandas' order of a sorted groupby);
    otherwise they are dense but in no promised order. ``size``: how many distinct keys there are. ``books``:
    each side's rows' workbook, when the sides hold several workbooks' rows (``together.py``): rows of two
    books never share a key.
    """

    def __init__(
        self, *columns: Sequence[np.ndarray], sort: bool = False, books: Sequence[np.ndarray] | None = None
    ) -> None:
        if books is not None and any(len(side) and side.max() > 0 for side in books):
            columns = (*columns, books)  # several workbooks stacked (``together.py``): a key is one book's
        lengths = [len(side) for side in columns[0]]
        combined = np.zeros(sum(lengths), dtype=np.int64)
        for column in columns:
            values = column[0] if len(column) == 1 else np.concatenate(list(column))
            codes, distinct = sorted_codes(values) if sort else pd.factorize(values, use_na_sentinel=True)
            missing = (combined < 0) | (codes < 0)
            combined = np.where(missing, -1, combined * max(len(distinct), 1) + codes)
            combined = _dense(combined)  # keeps the product of the parts' counts small
        self.size = int(combined.max(initial=-1)) + 1
        bounds = np.cumsum([0, *lengths])
        self.codes = [combined[a:b] for a, b in itertools.pairwise(bounds.tolist())]


def sorted_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(values, sort=True)``: codes that sort as the values do (-1 where missing) and the
    distinct values, sorted. Texts are sorted by Python's own sort, several times quicker on thousands of
    texts than numpy's sort of objects."""
    codes, distinct = pd.factorize(values)
    listed = distinct.tolist() if isinstance(distinct, np.ndarray) else list(distinct)
    try:
        order = sorted(range(len(listed)), key=listed.__getitem__)
    except TypeError:  # values that do not compare (texts and numbers): pandas' own order
        return pd.factorize(values, sort=True)
    rank = np.empty(len(listed), dtype=np.int64)
    rank[order] = np.arange(len(listed))
    return np.where(codes >= 0, rank[np.maximum(codes, 0)], -1), np.asarray(distinct)[order]


def _dense(codes: np.ndarray) -> np.ndarray:
    """The codes renumbered 0..n-1 in their sorted order (-1 stays -1)."""
    out = np.full(len(codes), -1, dtype=np.int64)
    known = codes >= 0
    out[known] = np.unique(codes[known], return_inverse=True)[1].reshape(-1)
    return out


def group_sums(codes: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Per code 0..size-1 the sum of its rows' values, NaN skipped (0 for none): pandas' groupby sum, bit for
    bit. Pandas adds a group's values in row order with Kahan compensation; the same arithmetic runs here
    with one vector step per position in a group (a group holds a claim's months: a few dozen steps).
    Whole numbers (counts of users) add up exactly in any order: one bincount."""
    total = np.zeros(size)
    take = (codes >= 0) & ~np.isnan(values)
    if not take.any():
        return total
    code, value = codes[take], values[take]
    if _whole(value):
        return np.bincount(code, weights=value, minlength=size).astype(float)
    order = np.argsort(code, kind="stable")
    code, value = code[order], value[order]
    position = np.arange(len(code)) - np.searchsorted(code, code, side="left")
    if position.max() > 32:  # a long group (a month of payments): pandas' own loop is quicker than steps
        # (pandas sums groups of sorted codes without NaN with numpy's reduceat: called here directly,
        # without a Series and a groupby per call)
        starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
        total[code[starts]] = np.add.reduceat(value, starts)
        return total
    if len(code) <= _FEW:  # a small workbook's amounts: the steps' arithmetic value by value, in row order
        sums, owed = total.tolist(), total.tolist()
        for group, number in zip(code.tolist(), value.tolist(), strict=True):
            added = number - owed[group]
            summed = sums[group] + added
            lost = summed - sums[group] - added
            owed[group] = 0.0 if lost != lost else lost  # +/- infinity: no compensation (pandas)
            sums[group] = summed
        return np.array(sums, dtype=float)
    compensation = np.zeros(size)
    for step in range(int(position.max()) + 1):
        at = position == step
        group = code[at]
        y = value[at] - compensation[group]
        t = total[group] + y
        with np.errstate(invalid="ignore"):
            fix = t - total[group] - y
        compensation[group] = np.where(np.isnan(fix), 0.0, fix)  # +/- infinity: no compensation (pandas)
        total[group] = t
    return total


#: at most this many values are summed in Python (a batch workbook's few hundred amounts): cheaper than
#: either numpy's steps or pandas' groupby, which cost a fixed half millisecond
_FEW = 1000


def joined_texts(codes: np.ndarray, texts: np.ndarray, size: int, separator: str) -> np.ndarray:
    """Per code 0..size-1 its rows' texts joined by ``separator`` in row order (None for a code without
    rows; rows with code -1 are left out): one vector step per position in a group, not a call per group."""
    out = np.full(size, None, dtype=object)
    take = codes >= 0
    code, text = codes[take], texts[take]
    order = np.argsort(code, kind="stable")
    code, text = code[order], text[order]
    position = np.arange(len(code)) - np.searchsorted(code, code, side="left")
    for step in range(int(position.max(initial=-1)) + 1):
        at = position == step
        group = code[at]
        out[group] = text[at] if step == 0 else out[group] + separator + text[at]
    return out


def as_texts(values: np.ndarray) -> np.ndarray:
    """Values as ``str`` (what ``astype(str)`` gives), each distinct value converted once."""
    # (texts already, the usual: one pass over their types, a tenth of what pd.unique of them costs)
    if set(map(type, np.asarray(values, dtype=object).tolist())) <= {str}:
        return np.asarray(values, dtype=object)
    return np.asarray(pd.Series(values, dtype=object).astype(str), dtype=object)


def _whole(values: np.ndarray) -> bool:
    """Whole numbers whose sums stay exact in floating point (below 2**53 in all)."""
    return bool(np.all(np.floor(values) == values)) and float(np.abs(values).sum()) < 2.0**52


def running_sums(codes: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each row's sum of its group's values up to and including it, groups contiguous (sorted by code):
    pandas' groupby cumsum. Whole numbers: a cumsum less each group's start; others through pandas itself
    (its compensated summation)."""
    if not len(values):
        return np.zeros(0)
    if not _whole(values):
        return np.asarray(pd.Series(values).groupby(codes).cumsum().to_numpy(dtype=float))
    running = np.cumsum(values)
    start = _starts(codes)
    before = np.r_[0.0, running[:-1]][start]
    return running - np.repeat(before, np.diff(np.r_[start, len(codes)]))


def running_max(codes: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each row's highest value of its group up to and including it, groups contiguous (sorted by code),
    no NaN: pandas' groupby cummax. Values are ranked, so that one maximum.accumulate over (group, rank)
    serves every group exactly."""
    if not len(values):
        return np.zeros(0)
    group = np.cumsum(_first_of_group(codes)) - 1
    low, high = float(values.min()), float(values.max())
    if _whole(values - low) and (high - low + 1) * (int(group[-1]) + 1) < 2**62:  # counts: no ranking
        span = int(high - low) + 1
        packed = group * span + (values - low).astype(np.int64)
        return np.asarray((np.maximum.accumulate(packed) - group * span).astype(float) + low)
    distinct, rank = np.unique(values, return_inverse=True)
    combined = group * len(distinct) + rank.reshape(-1)
    return np.asarray(distinct[np.maximum.accumulate(combined) - group * len(distinct)])


def shifted(codes: np.ndarray, values: np.ndarray, fill: float) -> np.ndarray:
    """Each row's previous row's value within its group, ``fill`` for a group's first row (groups
    contiguous): pandas' groupby shift(1).fillna(fill)."""
    if not len(values):
        return np.zeros(0)
    return np.where(_first_of_group(codes), fill, np.r_[fill, values[:-1]])


def first_of_runs(*columns: np.ndarray) -> np.ndarray:
    """True on each row that starts a run of rows equal in every column (rows sorted by them)."""
    n = len(columns[0])
    out = np.ones(n, dtype=bool)
    if n:
        same = np.ones(n - 1, dtype=bool)
        for column in columns:
            same &= column[1:] == column[:-1]
        out[1:] = ~same
    return out


def _first_of_group(codes: np.ndarray) -> np.ndarray:
    return first_of_runs(codes)


def _starts(codes: np.ndarray) -> np.ndarray:
    return np.flatnonzero(_first_of_group(codes))


def sort_order(*keys: np.ndarray) -> np.ndarray:
    """The stable order of the rows by ``keys``, the first the most significant: ``np.lexsort`` of them
    reversed. Whole-number keys (codes, months, rows) are packed into one number and sorted once."""
    if not len(keys[0]):
        return np.zeros(0, dtype=np.int64)
    combined = np.zeros(len(keys[0]), dtype=np.int64)
    scale = 1
    for key in reversed(keys):
        low, high = key.min(), key.max()
        if key.dtype.kind not in "iuf" or not np.isfinite([low, high]).all() or not _whole(key - low):
            return np.lexsort(keys[::-1])
        span = int(high - low) + 1
        if scale * span > 2**62:
            return np.lexsort(keys[::-1])
        combined += (key - low).astype(np.int64) * scale
        scale *= span
    return np.argsort(combined, kind="stable")


def among(values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """``np.isin`` for whole numbers (codes, positions): a table lookup when they are small."""
    if len(values) and len(wanted) and values.dtype.kind in "iu" and wanted.dtype.kind in "iu":
        low, high = min(values.min(), wanted.min()), max(values.max(), wanted.max())
        if high - low < 8 * (len(values) + len(wanted)):
            table = np.zeros(int(high - low) + 1, dtype=bool)
            table[wanted - low] = True
            return table[values - low]
    return np.isin(values, wanted)

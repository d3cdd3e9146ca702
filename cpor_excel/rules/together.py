"""Several small workbooks' frames stacked as one, for a rule that runs once over a batch's chunk of workbooks
("books"), and its results split back per workbook. Pure.

Why: a 40-customer workbook's rules cost tens of milliseconds, nearly all of it the fixed cost of each
pandas and numpy call, not its rows; run once over a chunk of workbooks, a rule pays it once per chunk.

Why each workbook gets exactly what running the rule on it alone gives:
- rows are numbered ``book << ROW_BITS | Excel row`` (``schemas.ROW_BITS``; one workbook alone is book 0, so
  its rows are its Excel rows): a stacked frame's rows stay unique, each book's rows contiguous and in order;
- a rule that runs on stacked frames keys every join, group and sort by the book too (the most significant
  part of a sort), so that rows of two workbooks never meet;
- what a rule takes per workbook rather than per row (Settings, the Rate Card, the milestone table) is never
  mixed: only workbooks whose such inputs are equal are stacked (``alike``), as are only frames of the same
  columns and dtypes (``shape``), so that a stacked column is what each workbook's column is.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cpor_excel.model.findings import Finding
from cpor_excel.rules.schemas import ROW_BITS, ROW_MASK


def alike(keys: Sequence[Hashable]) -> list[list[int]]:
    """The positions of equal keys, grouped (in the order of each group's first position)."""
    groups: dict[Hashable, list[int]] = {}
    for at, key in enumerate(keys):
        groups.setdefault(key, []).append(at)
    return list(groups.values())


def shape(frame: pd.DataFrame | None) -> Hashable:
    """What must be equal for frames to be stacked: the columns and their dtypes, and whether it has rows (an
    empty frame's columns may be typed otherwise); a frame whose rows are not Excel rows (not whole numbers
    below ``ROW_MASK``) is never stacked with another (a key of its own)."""
    return None if frame is None else _SHAPES.get([frame], lambda frames: _shape(frames[0]))


def _shape(frame: pd.DataFrame) -> Hashable:
    rows = frame.index.to_numpy()
    if len(rows) and (rows.dtype.kind not in "iu" or rows.min() < 0 or rows.max() > ROW_MASK):
        return object()
    return tuple(frame.columns), tuple(frame.dtypes.tolist()), len(rows) == 0


def content(frame: pd.DataFrame | None) -> Hashable:
    """A small frame's values (a Rate Card, a milestone table) as a key: equal only when every value is."""
    if frame is None:
        return None
    return _CONTENTS.get(
        [frame], lambda frames: (shape(frames[0]), repr(frames[0].to_numpy(dtype=object).tolist()))
    )


def stacked(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The frames as one, book after book, rows numbered ``book << ROW_BITS | row`` (one frame: itself)."""
    if len(frames) == 1:
        return frames[0]
    return _STACKS.get(frames, _stack)


def _stack(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    if not any(len(frame) for frame in frames):  # (a chunk's empty ledgers: what concat would make of them,
        return frames[0].set_axis(pd.Index([], dtype=np.int64))  # for a tenth of its cost; ``shape`` keeps
    parts = [  # empty frames from being stacked with others)
        frame.set_axis(pd.Index(frame.index.to_numpy(dtype=np.int64) + (book << ROW_BITS), dtype=np.int64))
        for book, frame in enumerate(frames)
    ]
    return pd.concat(parts)


class _Recent:
    """What was last made of a few frames, by their identity: the rules of a chunk stack the same frames
    (Associations above all) again and again, and ask again whether they can be (each rule, per workbook);
    stacking 32 frames of a dozen columns costs about a millisecond, and a frame's dtypes alone 60 us. The
    frames are held with what was made of them, so an identity is never another frame's while it is a key;
    the rules never change a frame they are given."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.recent: dict[tuple[int, ...], tuple[list[pd.DataFrame], Any]] = {}

    def get(self, frames: Sequence[pd.DataFrame], make: Callable[[Sequence[pd.DataFrame]], Any]) -> Any:
        key = tuple(map(id, frames))
        known = self.recent.pop(key, None)
        if known is None:
            known = (list(frames), make(frames))
        self.recent[key] = known  # (the latest last)
        while len(self.recent) > self.size:
            del self.recent[next(iter(self.recent))]
        return known[1]


def forget() -> None:
    """Let go of the frames remembered (``_Recent``): once a chunk is evaluated, nothing asks for them again."""
    for recent in (_STACKS, _SHAPES, _CONTENTS):
        recent.recent.clear()


#: a chunk's stacks (a handful of sheets), and the shapes and contents of its workbooks' frames
_STACKS, _SHAPES, _CONTENTS = _Recent(8), _Recent(256), _Recent(64)


def split_findings(found: Sequence[Finding], count: int) -> list[list[Finding]]:
    """Findings on stacked rows, per book, in their order, each on its own Excel row (a finding of no row
    names no book: there is none among several books')."""
    if count == 1:
        return [list(found)]  # (one workbook's: its rows are its Excel rows already)
    out: list[list[Finding]] = [[] for _ in range(count)]
    new = object.__new__
    for finding in found:
        row = finding.row
        if row is not None and row > ROW_MASK:
            # a copy of its fields with the row changed (a finding is frozen): what Finding(...) of them
            # makes, for a fifth of what it costs (a chunk has thousands; its code was checked when made)
            mine = new(Finding)
            mine.__dict__.update(vars(finding), row=row & ROW_MASK)
            out[row >> ROW_BITS].append(mine)
        elif row is not None:
            out[0].append(finding)
        else:
            raise ValueError(f"a {finding.code} finding of several workbooks names no row")
    return out


def split_series(series: pd.Series, indexes: Sequence[pd.Index]) -> list[pd.Series]:
    """A Series on a stacked frame's rows as one Series per book, on that book's own index."""
    if len(indexes) == 1:
        return [series]
    values = series.to_numpy()
    out, start = [], 0
    for index in indexes:
        out.append(
            pd.Series(values[start : start + len(index)], index=index, dtype=series.dtype, name=series.name)
        )
        start += len(index)
    return out


def split_rows(
    frame: pd.DataFrame, books: np.ndarray, count: int, empty: Callable[[], pd.DataFrame]
) -> list[pd.DataFrame]:
    """New rows of a tool sheet (numbered 0.., ``books`` ascending: each row's book) as one frame per book,
    numbered 0.. again; ``empty()`` for a book without any."""
    if count == 1:
        return [frame]
    bounds = np.searchsorted(books, np.arange(count + 1)).tolist()
    return [
        frame.iloc[lo:hi].reset_index(drop=True) if hi > lo else empty()
        for lo, hi in itertools.pairwise(bounds)
    ]

"""A frame's column as a numpy array of one kind, whatever pandas holds it as (or all empty when the sheet
lacks the column): the rules' whole-sheet arithmetic, comparisons and matching work on these arrays instead of
pandas objects. Pure: no I/O, no clock.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def text_array(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A text column as an object array of str or None (pandas 3 may hand over NaN for missing)."""
    if column not in frame:
        return np.full(len(frame), None, dtype=object)
    values = frame[column].to_numpy(dtype=object, copy=True)
    values[pd.isna(values)] = None
    return values


def count_array(frame: pd.DataFrame, column: str) -> np.ndarray:
    """An Int64 count column as float (NaN where empty or invalid), so whole-sheet arithmetic stays numpy."""
    if column not in frame:
        return np.full(len(frame), np.nan)
    values = frame[column]
    if values.dtype.kind not in "iuf":  # numbers already (the usual, after prepare): no conversion to pay for
        values = pd.to_numeric(values, errors="coerce")
    return values.to_numpy(dtype=float, na_value=np.nan)


def day_array(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A date column as datetime64[D] (any stored resolution; NaT where empty or absent)."""
    if column not in frame:
        return np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[D]")
    values = frame[column]
    if values.dtype.kind != "M":  # already dates (the usual, after prepare): no conversion to pay for
        values = pd.to_datetime(values, errors="coerce")
    return np.asarray(values.to_numpy(dtype="datetime64[ns]")).astype("datetime64[D]")


def instant_array(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A date column as datetime64[ns], its time of day kept (NaT where empty)."""
    values = frame[column]
    if values.dtype.kind != "M":
        values = pd.to_datetime(values, errors="coerce")
    return np.asarray(values.to_numpy(dtype="datetime64[ns]"))

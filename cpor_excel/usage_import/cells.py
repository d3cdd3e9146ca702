"""Export cells a column at a time: text, tenant IDs, counts, and the finding on one cell."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from cpor_excel.model.findings import Finding
from cpor_excel.model.headers import column_letter

GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
#: no tenant has more users than this; a larger count is a broken cell (and would not fit the sheet's numbers)
MAX_COUNT = 10**9


def _distinct(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Codes and distinct values: text work is done once per distinct value (5,000 tenants, not 500,000
    rows), since pandas' string methods run Python code per element."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    return codes, pd.Series(uniques, dtype=object)


def _spread(per_value: pd.Series, codes: np.ndarray, index: pd.Index, missing: Any = None) -> pd.Series:
    """Per-distinct-value results back onto the rows (code -1, an empty cell, gets ``missing``)."""
    table = np.append(per_value.to_numpy(dtype=object), np.array([missing], dtype=object))
    return pd.Series(table[codes], index=index, dtype=object)


def cell_text(values: pd.Series) -> pd.Series:
    """Cells as stripped text (object dtype), None for empty cells."""
    codes, uniques = _distinct(values)
    text = uniques.astype("string").str.strip()
    return _spread(text.astype(object).where(text.notna() & (text != ""), None), codes, values.index)


def normalise_tenant(values: pd.Series) -> pd.Series:
    """Tenant IDs as lower-case GUIDs without braces; None when empty or not a GUID."""
    codes, uniques = _distinct(values)
    text = uniques.astype("string").str.strip().str.strip("{}").str.lower()
    ok = text.str.fullmatch(GUID).fillna(False).astype(bool)
    return _spread(text.astype(object).where(ok, None), codes, values.index)


def parse_counts(values: pd.Series, decimal_comma: bool = False) -> tuple[pd.Series, pd.Series, bool]:
    """Counts (whole, 0 or more, up to MAX_COUNT) -> ``parse_numbers``."""
    return parse_numbers(values, decimal_comma)


def parse_numbers(
    values: pd.Series,
    decimal_comma: bool = False,
    *,
    whole: bool = True,
    negative: bool = False,
    limit: float = MAX_COUNT,
) -> tuple[pd.Series, pd.Series, bool]:
    """Numbers -> (float values, NaN when unreadable; problem code per row or None; grouping separators seen).

    Spaces, no-break spaces and apostrophes group thousands anywhere; ',' groups thousands and '.' is the
    decimal point, except in a ';'-separated file, where Excel writes them the other way round (the other
    reading is tried when the file's own does not fit, e.g. 150.0 from a tool that writes floats).
    Problems: ``missing-value`` (blank), ``bad-type`` (not a number), ``bad-number`` (a fraction where a whole
    number is wanted, a negative where none may be, or beyond ``limit`` either way).
    """
    codes, uniques = _distinct(values)
    text = uniques.astype("string").str.strip()
    blank = text == ""
    text = text.str.replace(r"[\s\u00a0\u202f'’]", "", regex=True)
    is_negative = text.str.startswith("-").astype(bool)
    digits = text.str.lstrip("+-")
    group, point = (".", ",") if decimal_comma else (",", ".")
    readings = []
    for g, p in ((group, point), (point, group)):
        shape = rf"(?:\d{{1,3}}(?:{re.escape(g)}\d{{3}})+|\d+)(?:{re.escape(p)}\d+)?"
        fits = digits.str.fullmatch(shape).astype(bool)
        plain = digits.str.replace(g, "", regex=False).str.replace(p, ".", regex=False)
        readings.append((fits, plain, digits.str.contains(g, regex=False).astype(bool)))
    (fits1, plain1, grouped1), (fits2, plain2, _) = readings
    numbers = pd.to_numeric(plain1.where(fits1, plain2.where(fits2)), errors="coerce").astype(float)
    numbers = numbers.where(~is_negative, -numbers)
    out_of_range = numbers.abs() > limit
    if not negative:
        out_of_range |= numbers < 0
    if whole:
        out_of_range |= numbers % 1 != 0
    problem = np.full(len(uniques), None, dtype=object)
    problem[numbers.isna().to_numpy()] = "bad-type"
    problem[(numbers.notna() & out_of_range).to_numpy()] = "bad-number"
    problem[blank.to_numpy(dtype=bool)] = "missing-value"
    grouped = bool((grouped1 & fits1 & ~blank).any())
    per_row = _spread(numbers, codes, values.index, float("nan")).astype(float)
    return per_row, _spread(pd.Series(problem, dtype=object), codes, values.index, "missing-value"), grouped


def cell_finding(code: str, name: str, row: int, col: int, column: str, message: str) -> Finding:
    """A finding on one cell of the export: ``name`` is the export's file name, ``col`` the 0-based column."""
    return Finding(code, name, message, row=row, column=column, cell=f"{column_letter(col)}{row}")

"""The sheets' pandera schemas, built from their ``SheetSpec`` (``model/columns.py``), over the *typed*
frames ``prepare`` builds (Prepared's docstring).

Typing and cell-format checks (GUIDs, emails, dates, ...) happen before pandera, vectorised, in
``rules/values.py``: pandera's coercion is its slow path. The schemas then check what is left: required
cells (a column that is not ``nullable``: ``missing-value``), keys (``duplicate-key``) and value ranges
(counts and percentages not negative: ``bad-number``). Every named check is a finding code. The columns are
the spec's canonical names, and the dtype of each follows from its ``Kind``; ``validate_frame`` always
validates lazily and returns the failures as data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from cpor_excel.model.columns import SHEETS, Column, Kind, SheetSpec
from cpor_excel.model.findings import CODES

#: the dtype a typed frame holds for each kind of column (``rules/values.py`` makes them so)
DTYPES: dict[Kind, object] = {
    Kind.DATE: "datetime64[ns]",
    Kind.MONTH: "datetime64[ns]",
    Kind.COUNT: pd.Int64Dtype(),
    Kind.NUMBER: float,
    Kind.PERCENT: float,
    Kind.YESNO: pd.BooleanDtype(),
}
#: kinds whose values may not be negative (named check ``bad-number``)
NOT_NEGATIVE = frozenset({Kind.COUNT, Kind.PERCENT})

#: Rows are numbered ``book << ROW_BITS | Excel row``: a key is unique within each book. One workbook's rows
#: are all book 0; several small workbooks checked as one (``rules/sheet_chunk.py``) are books 0, 1, ...
ROW_BITS = 21  # Excel's 1,048,576 rows fit below
ROW_MASK = (1 << ROW_BITS) - 1


def book_of(index: pd.Index) -> np.ndarray:
    """The book each row belongs to (see ``ROW_BITS``)."""
    if not pd.api.types.is_integer_dtype(index.dtype):
        return np.zeros(len(index), dtype="int64")
    return index.to_numpy(dtype="int64") >> ROW_BITS


def unique_key(frame: pd.DataFrame, key: Iterable[str]) -> pd.Series:
    """False on every row whose complete key repeats an earlier row's of its book (the first row is fine)."""
    part = frame[list(key)]
    return ~(part.notna().all(axis=1) & part.assign(_book=book_of(frame.index)).duplicated(keep="first"))


def not_negative(numbers: pd.Series) -> pd.Series:
    """True where a number is >= 0 or empty (an empty cell is ``missing-value``'s business)."""
    values = numbers.to_numpy(dtype=float, na_value=np.nan)
    return pd.Series(~(values < 0), index=numbers.index)


def _column(column: Column) -> pa.Column:
    negative = column.kind in NOT_NEGATIVE or column.not_negative
    checks = [pa.Check(not_negative, name="bad-number")] if negative else []
    # str or None in text columns: pandas 3 would otherwise infer its own "str" dtype
    return pa.Column(DTYPES.get(column.kind, object), checks=checks, nullable=column.nullable, coerce=False)


def duplicate_keys(index: pd.Index, codes: Iterable[np.ndarray]) -> np.ndarray:
    """``~unique_key`` from the key columns' numbers (one per distinct value, -1 where empty: as
    ``values.Parsed.numbered`` gives them), without hashing the values again: True on every row whose
    complete key repeats an earlier row's of its book."""
    combined = book_of(index)
    bound = int(combined.max(initial=0)) + 1  # every number of ``combined`` is below it
    complete = np.ones(len(index), dtype=bool)
    for column in codes:
        complete &= column >= 0
        width = int(column.max(initial=-1)) + 2
        if bound * width >= 1 << 62:  # (renumbered densely first: the product stays below the rows squared)
            numbers, distinct = pd.factorize(combined)
            combined, bound = numbers.astype(np.int64), len(distinct)
        combined = combined * width + (column + 1)  # one number per combination: hashed once, below
        bound *= width
    return complete & pd.Series(combined).duplicated(keep="first").to_numpy()


@cache
def schema(sheet: str, keyed: bool = True) -> pa.DataFrameSchema:
    """The schema of a data sheet, from its spec: one column per spec column, the key unique (unless
    ``keyed`` is False: the caller checks the key with ``duplicate_keys``)."""
    spec: SheetSpec = SHEETS[sheet]
    checks = []
    if spec.key and keyed:
        key = spec.key
        checks.append(pa.Check(lambda frame: unique_key(frame, key), name="duplicate-key"))
    return pa.DataFrameSchema(
        {column.name: _column(column) for column in spec.columns},
        checks=checks,
        name=spec.name,
        coerce=False,  # values arrive typed; a dtype mismatch is a bug in prepare, not bad data
        strict=False,
    )


@cache
def _with_absent(sheet: str, keyed: bool, absent: tuple[str, ...]) -> pa.DataFrameSchema:
    """``schema(sheet, keyed)`` with the ``absent`` columns nullable (built once per combination)."""
    checked = schema(sheet, keyed)
    return checked.update_columns({c: {"nullable": True} for c in absent}) if absent else checked


_UNIQUENESS = {"field_uniqueness", "multiple_fields_uniqueness", "unique"}


def validate_frame(
    frame: pd.DataFrame,
    sheet: str,
    absent: Iterable[str] = (),
    key_codes: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Validate lazily; return the failures, one row per failing cell: index = Excel row, columns
    ``column`` (canonical name), ``code`` (finding code) and ``value`` (the failing value).

    ``absent``: columns the sheet does not have (already a missing-column finding): not reported empty.
    A dataframe-wide check (duplicate-key) is reported once per row, on the first key column.
    ``key_codes``: the numbers of every key column's values (``values.Parsed.numbered``): the key is then
    checked with them (``duplicate_keys``) instead of by pandas hashing its values again (a 500,000-row
    Usage sheet: 0.11 s), the same rows reported the same way.
    """
    key = SHEETS[sheet].key
    numbered = key_codes is not None and bool(key) and all(column in key_codes for column in key)
    checked = schema(sheet, keyed=not numbered)
    checked = _with_absent(sheet, not numbered, tuple(c for c in absent if c in checked.columns))
    try:
        # inplace: nothing is coerced or set, so pandera's copy of the frame (its default) would be unused
        checked.validate(frame, lazy=True, inplace=True)
        failures = pd.DataFrame(
            {"column": [], "code": [], "value": []}, index=pd.Index([], dtype="int64"), dtype=object
        )
    except SchemaErrors as err:
        failures = _failures(err.failure_cases, sheet, key)
    if not numbered:
        return failures
    assert key_codes is not None
    repeated = frame.index[duplicate_keys(frame.index, [key_codes[column] for column in key])].rename("index")
    if len(repeated) == 0:
        return failures
    dups = pd.DataFrame(
        {"column": key[0], "code": "duplicate-key", "value": None}, index=repeated, dtype=object
    )
    return pd.concat([failures, dups]).sort_index(kind="stable") if len(failures) else dups


def _code_of(check: str) -> str | None:
    """The finding code of a failed pandera check, by its name (None: not a finding, a bug)."""
    if check in CODES:
        return check
    if check in _UNIQUENESS:
        return "duplicate-key"
    if check.startswith("coerce_dtype"):
        return "bad-type"
    return "missing-value" if check == "not_nullable" else None


def _failures(cases: pd.DataFrame, sheet: str, key: tuple[str, ...]) -> pd.DataFrame:
    # each failure's finding code, from the name of its check (on arrays: a few distinct names, many rows)
    names, checks = pd.factorize(cases["check"].astype(str).to_numpy(dtype=object))
    codes = [_code_of(check) for check in checks.tolist()]
    code = np.array([*codes, None], dtype=object)[names]
    if None in codes or cases["index"].isna().any():
        # A wrong dtype or a missing column means prepare built the frame wrongly: a bug, not bad data.
        raise TypeError(f"the {sheet} schema rejected the frame's shape:\n{cases[pd.isna(code)].to_string()}")
    out = pd.DataFrame(
        {
            "column": cases["column"].astype(object),
            "code": pd.Series(code, index=cases.index, dtype=object),
            "value": cases["failure_case"].astype(object),
        }
    )
    out.index = pd.Index(cases["index"].astype("int64"), dtype="int64")
    keyed = out["code"] == "duplicate-key"
    if keyed.any() and key:
        dups = out[keyed]
        dups = dups[~dups.index.duplicated()].assign(column=key[0], value=None)
        out = pd.concat([out[~keyed], dups])
    return out.sort_index(kind="stable")

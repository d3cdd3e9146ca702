"""The sheets' schemas (pandera), over the *typed* frames ``prepare`` builds (Prepared's docstring).

Typing and cell-format checks (GUIDs, emails, dates, ...) happen before pandera, vectorised, in
``rules/values.py``: pandera's coercion is its slow path. The schemas then check what is left: required cells
(``missing-value``), keys (``duplicate-key``) and value ranges; every named check is a finding code. Columns
are the canonical names, as ``Field(alias=...)``; ``validate_frame`` always validates lazily and returns the
failures as data.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors
from pandera.typing import Series

from cpor_excel.model.columns import ASSOCIATIONS, CUSTOMERS, MILESTONES, SETTINGS, SHEETS, USAGE
from cpor_excel.model.findings import CODES

Text = Series[object]  # str or None; pandas 3 would otherwise infer its own "str" dtype
Date = Series[pa.DateTime]  # datetime64[ns]
Count = Series[pd.Int64Dtype]
Fraction = Series[float]


def unique_key(frame: pd.DataFrame, key: Iterable[str]) -> pd.Series:
    """False on every row whose complete key repeats an earlier row's (the first row is fine)."""
    part = frame[list(key)]
    return ~(part.notna().all(axis=1) & part.duplicated(keep="first"))


def not_negative(numbers: pd.Series) -> pd.Series:
    """True where a number is >= 0 or empty (an empty cell is ``missing-value``'s business)."""
    values = numbers.to_numpy(dtype=float, na_value=np.nan)
    return pd.Series(~(values < 0), index=numbers.index)


class _Sheet(pa.DataFrameModel):
    class Config:
        coerce = False  # values arrive typed; a dtype mismatch is a bug in prepare, not bad data
        strict = False


class CustomersSchema(_Sheet):
    tenant_id: Text = pa.Field(alias="Tenant ID")
    customer_name: Text = pa.Field(alias="Customer Name")
    domain: Text = pa.Field(alias="Domain")
    contact_name: Text = pa.Field(alias="Contact Name")
    contact_title: Text = pa.Field(alias="Contact Title")
    contact_email: Text = pa.Field(alias="Contact Email")
    country: Text = pa.Field(alias="Country", nullable=True)
    public_sector: Series[pd.BooleanDtype] = pa.Field(alias="Public Sector", nullable=True)
    language: Text = pa.Field(alias="Language", nullable=True)

    @pa.dataframe_check(name="duplicate-key")
    def one_row_per_key(cls, frame: pd.DataFrame) -> pd.Series:
        return unique_key(frame, CUSTOMERS.key)


class AssociationsSchema(_Sheet):
    claim_id: Text = pa.Field(alias="Claim ID")
    tenant_id: Text = pa.Field(alias="Tenant ID")
    workload: Text = pa.Field(alias="Workload")
    partner_id: Text = pa.Field(alias="Partner ID")
    partner_name: Text = pa.Field(alias="Partner Name")
    partner_contact_name: Text = pa.Field(alias="Partner Contact Name")
    partner_contact_email: Text = pa.Field(alias="Partner Contact Email")
    status: Text = pa.Field(alias="Status")
    created: Date = pa.Field(alias="Created")
    # required by status (poe-missing, status-date-mismatch): the rule modules check them, not the schema
    poe_signed: Date = pa.Field(alias="POE Signed", nullable=True)
    poe_reference: Text = pa.Field(alias="POE Reference", nullable=True)
    submitted: Date = pa.Field(alias="Submitted", nullable=True)
    approved: Date = pa.Field(alias="Approved", nullable=True)
    ended: Date = pa.Field(alias="Ended", nullable=True)

    @pa.dataframe_check(name="duplicate-key")
    def one_row_per_key(cls, frame: pd.DataFrame) -> pd.Series:
        return unique_key(frame, ASSOCIATIONS.key)


class UsageSchema(_Sheet):
    tenant_id: Text = pa.Field(alias="Tenant ID")
    workload: Text = pa.Field(alias="Workload")
    month: Date = pa.Field(alias="Month")
    active_users: Count = pa.Field(alias="Active Users")
    paid_units: Count = pa.Field(alias="Paid Units")

    @pa.check("Active Users", "Paid Units", name="bad-number")
    def no_negative_numbers(cls, counts: pd.Series) -> pd.Series:
        return not_negative(counts)

    @pa.dataframe_check(name="duplicate-key")
    def one_row_per_key(cls, frame: pd.DataFrame) -> pd.Series:
        return unique_key(frame, USAGE.key)


class MilestonesSchema(_Sheet):
    workload: Text = pa.Field(alias="Workload")
    bucket: Text = pa.Field(alias="Bucket")
    min_paid_units: Count = pa.Field(alias="Min Paid Units")
    max_paid_units: Count = pa.Field(alias="Max Paid Units", nullable=True)
    milestone: Text = pa.Field(alias="Milestone")
    active_usage: Fraction = pa.Field(alias="Active Usage %")
    payment: Fraction = pa.Field(alias="Payment", nullable=True)
    currency: Text = pa.Field(alias="Currency", nullable=True)
    max_usage_at_claim: Fraction = pa.Field(alias="Max Usage % At Claim", nullable=True)

    @pa.check("Min Paid Units", "Max Paid Units", "Active Usage %", "Max Usage % At Claim", name="bad-number")
    def no_negative_numbers(cls, numbers: pd.Series) -> pd.Series:
        return not_negative(numbers)

    @pa.dataframe_check(name="duplicate-key")
    def one_row_per_key(cls, frame: pd.DataFrame) -> pd.Series:
        return unique_key(frame, MILESTONES.key)


class SettingsSchema(_Sheet):
    """Setting holds the canonical setting name where the row names a known one."""

    setting: Text = pa.Field(alias="Setting")
    value: Series[object] = pa.Field(alias="Value", nullable=True)

    @pa.dataframe_check(name="duplicate-key")
    def one_row_per_key(cls, frame: pd.DataFrame) -> pd.Series:
        return unique_key(frame, SETTINGS.key)


#: canonical sheet name -> its schema (the key of each is its SheetSpec's)
SCHEMAS: dict[str, type[_Sheet]] = {
    "Customers": CustomersSchema,
    "Associations": AssociationsSchema,
    "Usage": UsageSchema,
    "Milestones": MilestonesSchema,
    "Settings": SettingsSchema,
}

_UNIQUENESS = {"field_uniqueness", "multiple_fields_uniqueness", "unique"}


def validate_frame(frame: pd.DataFrame, sheet: str, absent: Iterable[str] = ()) -> pd.DataFrame:
    """Validate lazily; return the failures, one row per failing cell: index = Excel row, columns
    ``column`` (canonical name), ``code`` (finding code) and ``value`` (the failing value).

    ``absent``: columns the sheet does not have (already a missing-column finding): not reported empty.
    A dataframe-wide check (duplicate-key) is reported once per row, on the first key column.
    """
    model = SCHEMAS[sheet]
    schema = model.to_schema()
    absent = [c for c in absent if c in schema.columns]
    if absent:
        schema = schema.update_columns({c: {"nullable": True} for c in absent})
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as err:
        return _failures(err.failure_cases, model, SHEETS[sheet].key)
    return pd.DataFrame(
        {"column": [], "code": [], "value": []}, index=pd.Index([], dtype="int64"), dtype=object
    )


def _failures(cases: pd.DataFrame, model: type[_Sheet], key: tuple[str, ...]) -> pd.DataFrame:
    checks = cases["check"].astype(str)
    code = pd.Series(None, index=cases.index, dtype=object)
    code[checks == "not_nullable"] = "missing-value"
    code[checks.str.startswith("coerce_dtype")] = "bad-type"
    code[checks.isin(_UNIQUENESS)] = "duplicate-key"
    named = checks.isin(list(CODES))
    code[named] = checks[named]
    if code.isna().any() or cases["index"].isna().any():
        # A wrong dtype or a missing column means prepare built the frame wrongly: a bug, not bad data.
        raise TypeError(f"{model.__name__} rejected the frame's shape:\n{cases[code.isna()].to_string()}")
    out = pd.DataFrame(
        {
            "column": cases["column"].astype(object),
            "code": code,
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

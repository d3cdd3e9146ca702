"""Cell values -> typed values (rules/values.py): each parser on the values partners really type."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from cpor_excel.model.columns import Kind
from cpor_excel.rules import values

GUID = "0f8fad5b-d9cb-469f-a165-70867728950e"


def column(*cells: Any) -> pd.Series:
    """A raw column as the reader gives it: object dtype, index = Excel rows from 2."""
    return pd.Series(list(cells), index=pd.RangeIndex(2, 2 + len(cells)), dtype=object)


def issues(parsed: values.Parsed) -> list[tuple[int, str]]:
    return list(zip(parsed.issues.index.tolist(), parsed.issues["code"].tolist(), strict=True))


def test_dates_accept_real_dates_and_iso_text_and_nothing_else() -> None:
    parsed = values.parse_date(
        column(
            dt.date(2025, 3, 4),
            dt.datetime(2025, 3, 4, 17, 30),
            "2025-03-04",
            " 2025-03-04T09:15:00Z ",
            "2025-3-4",
            None,
            "",
            "   ",
        )
    )
    assert parsed.values.dtype == "datetime64[ns]"
    assert parsed.values.iloc[:5].tolist() == [pd.Timestamp("2025-03-04")] * 5
    assert parsed.values.iloc[5:].isna().all()
    assert issues(parsed) == []


@pytest.mark.parametrize(
    "text",
    [
        "03/04/2025",
        "4/3/25",
        "4.3.2025",
        "2025/03/04",
        "20250304",
        "4 March 2025",
        "Mar 2025",
        "2025-03",
        "3-4-2025 10:00",
    ],
)
def test_text_dates_in_other_formats_are_ambiguous(text: str) -> None:
    parsed = values.parse_date(column(text))
    assert issues(parsed) == [(2, "ambiguous-date")]
    assert "YYYY-MM-DD" in parsed.issues["message"].iloc[0]  # the message names the accepted formats
    assert parsed.values.isna().all()


@pytest.mark.parametrize(
    "cell",
    [
        "soon",
        "n/a",
        45748.0,
        45748,
        True,
        dt.time(10, 30),
        dt.timedelta(days=2),
        "2025-02-30",
        "1899-12-31",
        dt.date(1899, 12, 31),
    ],
)
def test_non_dates_are_bad_type(cell: Any) -> None:
    parsed = values.parse_date(column(cell))
    assert issues(parsed) == [(2, "bad-type")]
    assert parsed.values.isna().all()


@pytest.mark.parametrize("error", sorted(values.FORMULA_ERRORS))
@pytest.mark.parametrize("kind", [Kind.TEXT, Kind.DATE, Kind.COUNT, Kind.GUID, Kind.PERCENT])
def test_formula_errors_are_reported_as_such_in_every_kind_of_column(error: str, kind: Kind) -> None:
    parsed = values.parse(column("x" if kind is Kind.TEXT else None, error), kind)
    assert issues(parsed) == [(3, "formula-error")]
    assert pd.isna(parsed.values.loc[3])


def test_months_are_the_first_of_their_month() -> None:
    parsed = values.parse_month(
        column(dt.date(2025, 3, 17), "2025-03", "2025-4", "2025-05-31", dt.datetime(2025, 6, 30, 23, 59))
    )
    assert parsed.values.tolist() == [pd.Timestamp(f"2025-{m:02d}-01") for m in (3, 3, 4, 5, 6)]
    assert issues(values.parse_month(column("03/2025", "2025-13"))) == [
        (2, "ambiguous-date"),
        (3, "bad-type"),
    ]


def test_counts_from_numbers_whole_floats_and_numeric_text() -> None:
    parsed = values.parse_count(column(12.0, 7, "30", " 1,234 ", None, 0.0))
    assert str(parsed.values.dtype) == "Int64"
    assert parsed.values.tolist() == [12, 7, 30, 1234, pd.NA, 0]
    assert issues(parsed) == []


def test_counts_fractions_are_bad_numbers_and_negatives_are_left_to_the_schema() -> None:
    fast = values.parse_count(column(2.5, -3.0, 4.0))  # numbers only: the numpy path
    slow = values.parse_count(column(2.5, -3.0, "4"))  # text in the column: the per-value path
    for parsed in (fast, slow):
        assert issues(parsed) == [(2, "bad-number")]
        assert parsed.values.tolist() == [pd.NA, -3, 4]


@pytest.mark.parametrize("cell", ["many", True, dt.date(2025, 1, 1), "12 users", "nan", "inf"])
def test_counts_that_are_not_numbers_are_bad_type(cell: Any) -> None:
    parsed = values.parse_count(column(1.0, cell))
    assert issues(parsed) == [(3, "bad-type")]
    assert parsed.values.tolist() == [1, pd.NA]


def test_percent_cells_become_fractions() -> None:
    parsed = values.parse_percent(column(0.45, 45.0, "45%", "45,5 %", "0.2", 1.0, "150", None))
    assert parsed.values.iloc[:7].round(6).tolist() == [0.45, 0.45, 0.45, 0.455, 0.2, 1.0, 1.5]
    assert np.isnan(parsed.values.iloc[7])
    assert issues(values.parse_percent(column("half", 0.5))) == [(2, "bad-type")]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("Yes", True), ("y", True), ("TRUE", True), (True, True), (1.0, True), ("ja", True), ("Oui", True),
     ("sí", True), ("No", False), ("n", False), (False, False), (0, False), ("nein", False), ("non", False),
     ("nee", False), ("falsch", False)],
)  # fmt: skip
def test_yes_no_in_several_languages(cell: Any, expected: bool) -> None:
    parsed = values.parse_yesno(column(cell))
    assert str(parsed.values.dtype) == "boolean"
    assert parsed.values.tolist() == [expected]
    assert issues(parsed) == []


def test_yes_no_rejects_anything_else() -> None:
    parsed = values.parse_yesno(column("maybe", 2.0, None))
    assert issues(parsed) == [(2, "bad-type"), (3, "bad-type")]
    assert parsed.values.isna().all()


def test_tenant_ids_are_stored_lower_case_without_braces() -> None:
    parsed = values.parse_guid(column("{" + GUID.upper() + "}", f"  {GUID}  ", GUID.upper()))
    assert parsed.values.tolist() == [GUID] * 3
    assert issues(parsed) == []


@pytest.mark.parametrize(
    "cell", ["contoso.com", GUID[:-1], GUID + "0", "{" + GUID, GUID.replace("-", ""), 12345.0, "g" + GUID[1:]]
)
def test_not_a_guid_is_bad_tenant_id(cell: Any) -> None:
    parsed = values.parse_guid(column(cell))
    assert issues(parsed) == [(2, "bad-tenant-id")]
    assert parsed.values.tolist() == [None]


def test_partner_ids_are_digits_as_text() -> None:
    parsed = values.parse_partner_id(column(1234567.0, 1234567, "0012345", " 42 "))
    assert parsed.values.tolist() == ["1234567", "1234567", "0012345", "42"]
    bad = values.parse_partner_id(column("12a", 12.5, -3.0, "MPN 1234567", True))
    assert [code for _, code in issues(bad)] == ["bad-partner-id"] * 5


def test_emails_valid_invalid_and_international() -> None:
    parsed = values.parse_email(
        column(
            " ann@contoso.com ",
            "jürgen@müller.de",
            "李@例え.jp",
            "bob@",
            "Ann <ann@contoso.com>",
            "a@b",
            "x@host.local",
        )
    )
    assert parsed.values.iloc[:3].tolist() == ["ann@contoso.com", "jürgen@müller.de", "李@例え.jp"]
    assert issues(parsed) == [(5, "bad-email"), (6, "bad-email"), (7, "bad-email"), (8, "bad-email")]


@settings(max_examples=400, deadline=None)
@given(
    st.text(alphabet="ab.-_+%@1Z", min_size=1, max_size=30).map(
        lambda s: s + "@" + "x.co" if "@" not in s else s
    )
)
def test_the_plain_email_shortcut_never_accepts_what_email_validator_rejects(address: str) -> None:
    if values.plain_email(address):
        validate_email(address, check_deliverability=False)  # raises if the shortcut was wrong


@pytest.mark.parametrize("address", ["a@b.test", "a@x.localhost", "a..b@c.com", ".a@c.com", "a@-c.com"])
def test_the_plain_email_shortcut_leaves_hard_cases_to_email_validator(address: str) -> None:
    assert not values.plain_email(address)
    with pytest.raises(EmailNotValidError):
        validate_email(address, check_deliverability=False)


def test_domains() -> None:
    good = values.parse_domain(column("Contoso.COM", "contoso.onmicrosoft.com.", "müller.de", "a-b.co.uk"))
    assert good.values.tolist() == ["contoso.com", "contoso.onmicrosoft.com", "müller.de", "a-b.co.uk"]
    bad = values.parse_domain(
        column(
            "contoso",
            "http://contoso.com",
            "ann@contoso.com",
            "contoso .com",
            "-x.com",
            "x.123",
            "contoso.com/path",
        )
    )
    assert [code for _, code in issues(bad)] == ["bad-domain"] * 7


def test_workloads_by_any_of_their_names_and_a_suggestion_for_typos() -> None:
    parsed = values.parse_workload(
        column("EXO", "exchange_online", "Teams", "Azure AD Premium", "Exchnage Online", "*")
    )
    assert parsed.values.tolist() == [
        "Exchange Online",
        "Exchange Online",
        "Microsoft Teams",
        "Microsoft Entra ID P1/P2",
        None,
        None,
    ]
    assert issues(parsed) == [(6, "unknown-workload"), (7, "unknown-workload")]
    assert "Exchange Online" in parsed.issues["message"].iloc[0]  # did you mean ...
    assert values.parse_workload(column("*"), any_allowed=True).values.tolist() == ["*"]


def test_statuses_by_name_or_alias_and_a_suggestion_for_typos() -> None:
    parsed = values.parse_status(column("approved", "In progress", "Customer declined", "Aproved"))
    assert parsed.values.tolist() == ["Approved", "Draft", "Rejected", None]
    assert issues(parsed) == [(5, "unknown-status")]
    assert "Approved" in parsed.issues["message"].iloc[0]


def test_unknown_languages_fall_back_to_english_as_information() -> None:
    parsed = values.parse_language(column("DE", "German", "fr-FR", "pt", None))
    assert parsed.values.tolist() == ["de", "de", "fr", "en", None]
    assert issues(parsed) == [(5, "unknown-language")]


def test_text_cells_are_stripped_text_with_numbers_and_dates_as_partners_see_them() -> None:
    parsed = values.parse_text(
        column(" Müller GmbH – 東京 ", 12345.0, 2.5, True, dt.date(2025, 1, 2), "", "  ", None)
    )
    assert parsed.values.tolist() == [
        "Müller GmbH – 東京",
        "12345",
        "2.5",
        "TRUE",
        "2025-01-02",
        None,
        None,
        None,
    ]
    assert parsed.values.dtype == object


def test_each_distinct_value_is_converted_once() -> None:
    calls: list[Any] = []

    def convert(value: Any) -> Any:
        calls.append(value)
        return str(value).upper()

    raw = column(*(["a", "b", "c", None] * 25_000))
    parsed = values.by_value(raw, convert)
    assert sorted(calls) == ["a", "b", "c"]
    assert parsed.values.iloc[:4].tolist() == ["A", "B", "C", None]
    assert len(parsed.values) == 100_000


def test_empty_columns_have_the_parsed_dtypes() -> None:
    index = pd.Index([2, 3])
    for kind in Kind:
        empty = values.empty_column(kind, index)
        parsed = values.parse(column(None, None), kind)
        assert empty.dtype == parsed.values.dtype, kind
        assert empty.isna().all()

"""Raw sheets -> typed, validated frames and findings (rules/prepare.py, rules/schemas.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
from memory_book import MemoryBook

from cpor_excel.io.frames import read_workbook_data
from cpor_excel.model.columns import (
    ASSOCIATIONS,
    CUSTOMERS,
    DRAFTS_HEADER,
    LEDGER_HEADER,
    MILESTONES,
    SHEETS,
    USAGE,
)
from cpor_excel.model.program import MILESTONE_COLUMNS, Settings, example_milestones
from cpor_excel.model.workbook import Prepared
from cpor_excel.rules import prepare as prepare_module
from cpor_excel.rules import values
from cpor_excel.rules.prepare import prepare
from cpor_excel.rules.schemas import schema, validate_frame

T1, T2, T3, T4 = (f"{n:08x}-d9cb-469f-a165-70867728950e" for n in (1, 2, 3, 4))
T5, T6 = "55555555-0000-4000-8000-000000000005", "66666666-0000-4000-8000-000000000006"
D = dt.date
CUSTOMERS_HEADER = [c.name for c in CUSTOMERS.columns]
ASSOCIATIONS_HEADER = [c.name for c in ASSOCIATIONS.columns]
USAGE_HEADER = [c.name for c in USAGE.columns]
MILESTONES_HEADER = [c.name for c in MILESTONES.columns]

Coord = tuple[str, "int | None", "str | None", str]


def customer(tenant: Any, name: Any = "Contoso", **cells: Any) -> list[Any]:
    row = {
        "Tenant ID": tenant, "Customer Name": name, "Domain": "contoso.com", "Contact Name": "Ann",
        "Contact Title": "CIO", "Contact Email": "ann@contoso.com", "Country": "NL", "Public Sector": "no",
        "Language": "en",
    }  # fmt: skip
    row.update({k.replace("_", " "): v for k, v in cells.items()})
    return [row[c] for c in CUSTOMERS_HEADER]


def association(claim: Any, tenant: Any, workload: Any = "EXO", **cells: Any) -> list[Any]:
    row = {
        "Claim ID": claim, "Tenant ID": tenant, "Workload": workload, "Partner ID": 1234567.0,
        "Partner Name": "Partner Ltd", "Partner Contact Name": "Pat", "Partner Contact Email": "pat@partner.com",
        "Status": "Approved", "Created": D(2025, 1, 2), "POE Signed": D(2025, 1, 3), "POE Reference": "poe.pdf",
        "Submitted": D(2025, 1, 6), "Approved": D(2025, 1, 20), "Ended": None,
    }  # fmt: skip
    row.update({k.replace("_", " "): v for k, v in cells.items()})
    return [row.get(c) for c in ASSOCIATIONS_HEADER]


def planted_book() -> MemoryBook:
    """Clean rows and problems planted at known cells (the comments name the expected findings)."""
    return MemoryBook(
        {
            "Customers": [
                CUSTOMERS_HEADER,
                customer(T1),  # 2 clean
                customer(
                    "{" + T2.upper() + "}",
                    "Fabrikam",
                    Domain="Fabrikam.COM",
                    Public_Sector=None,
                    Language=None,
                    Country=None,
                ),  # 3 clean
                customer(
                    T3,
                    "Müller GmbH",
                    Domain="fabrikam",
                    Contact_Email="bob@",
                    Public_Sector="maybe",
                    Language="pt",
                    Contact_Name=None,
                ),
                customer("not-a-guid"),  # 5 bad-tenant-id
                customer(T1, "Contoso again"),  # 6 duplicate-key
                customer(T4, "#N/A"),  # 7 formula-error
            ],
            "Associations": [
                ASSOCIATIONS_HEADER,
                association("C1", T1),  # 2 clean
                association("C1", T1, "Teams", Partner_ID="1234567"),  # 3 clean
                association(
                    "C2",
                    T5,
                    "Exchnage",
                    Partner_ID="12a",
                    Partner_Contact_Email="pat@",
                    Status="Aproved",
                    Created="03/04/2025",
                    POE_Signed=45748.0,
                ),  # 4: unknown-tenant, unknown-workload, bad-partner-id, bad-email, unknown-status, ambiguous-date, bad-type
                association("C1", T1, "Exchange Online", Created=None),  # 5 duplicate-key, missing-value
                association(
                    1003.0, T2, "SPO", Status="Draft", POE_Signed=None, Submitted=None, Approved=None
                ),  # 6 clean
            ],
            "Usage": [
                USAGE_HEADER,
                [T1, "EXO", D(2025, 2, 1), 100.0, 300.0],  # 2 clean
                [T1, "EXO", "2025-03", 120, 300],  # 3 clean
                [T1, "Exchange", dt.datetime(2025, 3, 17), 5, 300],  # 4 duplicate-key (same month as row 3)
                [T2, "Teams", "2025-03", -1.0, 300.5],  # 5 bad-number x2
                [T6, "Teams", "03/2025", "many", 10],  # 6 unknown-tenant, ambiguous-date, bad-type
                [None, None, None, None, None],  # 7 empty: dropped
                [T2, "SPO", D(2025, 4, 1), 1, None],  # 8 missing-value
                [None, "", None, None, None],
            ],
            "Settings": [
                ["Setting", "Value"],
                ["Minimum Paid Units", 100.0],
                ["poe_max_age_months", "twelve"],  # 3 bad-setting
                ["Colour", "red"],  # 4 unknown-setting
                ["Milestone Window Months", None],
            ],
        }
    )


EXPECTED: set[Coord] = {
    ("Milestones", None, None, "example-program"),
    ("Customers", 4, "Domain", "bad-domain"),
    ("Customers", 4, "Contact Email", "bad-email"),
    ("Customers", 4, "Public Sector", "bad-type"),
    ("Customers", 4, "Language", "unknown-language"),
    ("Customers", 4, "Contact Name", "missing-value"),
    ("Customers", 5, "Tenant ID", "bad-tenant-id"),
    ("Customers", 6, "Tenant ID", "duplicate-key"),
    ("Customers", 7, "Customer Name", "formula-error"),
    ("Associations", 4, "Tenant ID", "unknown-tenant"),
    ("Associations", 4, "Workload", "unknown-workload"),
    ("Associations", 4, "Partner ID", "bad-partner-id"),
    ("Associations", 4, "Partner Contact Email", "bad-email"),
    ("Associations", 4, "Status", "unknown-status"),
    ("Associations", 4, "Created", "ambiguous-date"),
    ("Associations", 4, "POE Signed", "bad-type"),
    ("Associations", 5, "Claim ID", "duplicate-key"),
    ("Associations", 5, "Created", "missing-value"),
    ("Usage", 4, "Tenant ID", "duplicate-key"),
    ("Usage", 5, "Active Users", "bad-number"),
    ("Usage", 5, "Paid Units", "bad-number"),
    ("Usage", 6, "Tenant ID", "unknown-tenant"),
    ("Usage", 6, "Month", "ambiguous-date"),
    ("Usage", 6, "Active Users", "bad-type"),
    ("Usage", 8, "Paid Units", "missing-value"),
    ("Settings", 3, "Value", "bad-setting"),
    ("Settings", 4, "Setting", "unknown-setting"),
}


def run(book: MemoryBook) -> Prepared:
    return prepare(read_workbook_data(book, "book.xlsx"))


def coords(prepared: Prepared) -> set[Coord]:
    return {(f.sheet, f.row, f.column, f.code) for f in prepared.findings}


@pytest.fixture(scope="module")
def planted() -> Prepared:
    return run(planted_book())


def test_planted_problems_are_found_exactly_where_they_are(planted: Prepared) -> None:
    assert coords(planted) == EXPECTED
    assert len(planted.findings) == len(EXPECTED)  # one finding per problem, nothing twice


def test_rows_with_errors_are_the_bad_rows_and_information_is_not_an_error(planted: Prepared) -> None:
    assert planted.bad_rows == {
        "Customers": {4, 5, 6, 7},
        "Associations": {4, 5},
        "Usage": {4, 5, 6, 8},
        "Settings": {3},
    }


def test_failed_cells_are_empty_in_the_typed_frames_and_clean_ones_typed(planted: Prepared) -> None:
    c, a, u = planted.customers, planted.associations, planted.usage
    assert c.loc[3].tolist() == [
        T2,
        "Fabrikam",
        "fabrikam.com",
        "Ann",
        "CIO",
        "ann@contoso.com",
        None,
        False,
        "en",
    ]
    assert c.loc[4, ["Domain", "Contact Email", "Public Sector", "Contact Name"]].isna().all()
    assert c.loc[4, "Language"] == "en"  # unknown language: English, not a failure
    assert c.loc[4, "Customer Name"] == "Müller GmbH"
    assert c.loc[5, "Tenant ID"] is None
    assert c.loc[6, "Tenant ID"] == T1  # a duplicate keeps its values; the row is flagged
    assert a.loc[2, ["Claim ID", "Tenant ID", "Workload", "Partner ID", "Status"]].tolist() == [
        "C1", T1, "Exchange Online", "1234567", "Approved",
    ]  # fmt: skip
    assert a.loc[3, "Workload"] == "Microsoft Teams"
    assert a.loc[6, ["Claim ID", "Workload", "Status"]].tolist() == ["1003", "SharePoint Online", "Draft"]
    assert a.loc[2, "Created"] == pd.Timestamp("2025-01-02")
    assert (
        a.loc[4, ["Workload", "Partner ID", "Partner Contact Email", "Status", "Created", "POE Signed"]]
        .isna()
        .all()
    )
    assert a.loc[4, "Tenant ID"] == T5
    assert u.index.tolist() == [2, 3, 4, 5, 6, 8]
    assert u.loc[3].tolist() == [T1, "Exchange Online", pd.Timestamp("2025-03-01"), 120, 300]
    assert u.loc[4, "Month"] == pd.Timestamp("2025-03-01")
    assert u.loc[5, ["Active Users", "Paid Units"]].isna().all()
    assert pd.isna(u.loc[6, "Month"]) and pd.isna(u.loc[6, "Active Users"])
    assert u.loc[6, "Paid Units"] == 10


def test_frames_have_the_documented_types(planted: Prepared) -> None:
    text = np.dtype(object)
    assert dict(planted.customers.dtypes) == {
        **{c: text for c in CUSTOMERS_HEADER}, "Public Sector": pd.BooleanDtype(),
    }  # fmt: skip
    dates = {"Created", "POE Signed", "Submitted", "Approved", "Ended", "Status Changed"}
    assert dict(planted.associations.dtypes) == {
        **{c: np.dtype("datetime64[ns]") if c in dates else text for c in ASSOCIATIONS_HEADER},
        "Incentive Opt-out": pd.BooleanDtype(),
    }
    assert dict(planted.usage.dtypes) == {
        "Tenant ID": text, "Workload": text, "Month": np.dtype("datetime64[ns]"),
        "Active Users": pd.Int64Dtype(), "Paid Units": pd.Int64Dtype(),
    }  # fmt: skip
    assert dict(planted.milestones.dtypes) == {
        "Workload": text, "Bucket": text, "Min Paid Units": pd.Int64Dtype(), "Max Paid Units": pd.Int64Dtype(),
        "Milestone": text, "Active Usage %": np.dtype(float), "Payment": np.dtype(float), "Currency": text,
        "Max Usage % At Claim": np.dtype(float),
    }  # fmt: skip
    for frame in (planted.customers, planted.associations, planted.usage):
        for name in [n for n, dtype in frame.dtypes.items() if dtype == text]:
            assert frame[name].map(lambda v: v is None or isinstance(v, str)).all(), name


def test_findings_carry_the_claim_id_on_associations(planted: Prepared) -> None:
    claims = {(f.row, f.claim_id) for f in planted.findings if f.sheet == "Associations"}
    assert claims == {(4, "C2"), (5, "C1")}


def test_duplicate_key_names_the_first_row(planted: Prepared) -> None:
    found = {(f.sheet, f.row): f.message for f in planted.findings if f.code == "duplicate-key"}
    assert "row 2" in found[("Customers", 6)]
    assert "row 2" in found[("Associations", 5)]
    assert "row 3" in found[("Usage", 4)]


def test_settings_take_the_sheet_values_and_defaults(planted: Prepared) -> None:
    assert planted.settings == Settings(minimum_paid_units=100)
    assert planted.example_program is True
    pd.testing.assert_frame_equal(
        planted.milestones.astype({"Currency": object}),
        example_milestones()
        .astype({"Min Paid Units": "Int64", "Max Paid Units": "Int64", "Payment": float, "Currency": object})
        .replace({"Currency": {"": None}}),
        check_dtype=False,
    )


def test_settings_values_duplicates_and_windows() -> None:
    book = planted_book()
    book.sheets["Settings"] = [
        ["setting", "value"],
        ["MINIMUM_PAID_UNITS", "200"],
        ["Consent Window Business Days", 7.0],
        ["Milestone Window Months", 24],
        ["Minimum Paid Units", 300],  # 5: duplicate-key; the first wins
        ["POE Max Age Months", -1],  # 6: bad-setting
        [None, 5],  # 7: missing-value
    ]
    prepared = run(book)
    assert prepared.settings == Settings(
        minimum_paid_units=200,
        consent_window_business_days=7,
        poe_max_age_months=12,
        milestone_window_months=24,
    )
    assert {c for c in coords(prepared) if c[0] == "Settings"} == {
        ("Settings", 5, "Setting", "duplicate-key"),
        ("Settings", 6, "Value", "bad-setting"),
        ("Settings", 7, "Setting", "missing-value"),
    }


def milestone_rows(source: list[Any] | None = None) -> list[list[Any]]:
    rows = [
        MILESTONES_HEADER,
        ["*", "Small", 300.0, 999.0, "M1", 0.15, 500.0, "EUR", None],
        ["*", "Small", 300, 999, "M2", "35%", 1000, "EUR", None],
        ["EXO", "XXS", 150, 299, "M1", 20.0, None, None, "20%"],
        ["*", "Medium", 1000, None, "M1", 10, None, None, None],
        ["Exchnage", "Small", -1, 299.5, "M1", -0.1, None, None, None],  # 6: problems
        ["*", "Small", 300, 999, "M1", 0.2, None, None, None],  # 7: duplicate of row 2
    ]
    if source is not None:
        rows = [[*row, note] for row, note in zip(rows, ["Source", *source], strict=True)]
    return rows


def test_a_milestones_sheet_is_the_program() -> None:
    book = planted_book()
    book.sheets["Milestones"] = milestone_rows()
    prepared = run(book)
    table = prepared.milestones
    assert prepared.example_program is False
    assert {c for c in coords(prepared) if c[0] == "Milestones"} == {
        ("Milestones", 6, "Workload", "unknown-workload"),
        ("Milestones", 6, "Min Paid Units", "bad-number"),
        ("Milestones", 6, "Max Paid Units", "bad-number"),
        ("Milestones", 6, "Active Usage %", "bad-number"),
        ("Milestones", 7, "Workload", "duplicate-key"),
    }
    assert table.loc[2:5, "Workload"].tolist() == ["*", "*", "Exchange Online", "*"]
    assert table.loc[2:5, "Active Usage %"].round(6).tolist() == [0.15, 0.35, 0.2, 0.1]
    assert table.loc[4, "Max Usage % At Claim"] == pytest.approx(0.2)
    assert table.loc[2:5, "Max Paid Units"].tolist() == [999, 999, 299, pd.NA]
    assert table.loc[6, ["Min Paid Units", "Max Paid Units", "Active Usage %"]].isna().all()
    assert prepared.bad_rows["Milestones"] == {6, 7}


@pytest.mark.parametrize(
    ("source", "example"),
    [
        (["EXAMPLE - replace with the figures of your incentive guide"] * 6, True),
        (["Example", None, "example table", "", "EXAMPLE", "example"], True),
        (["EXAMPLE - replace", "guide p. 12", "example", "example", "example", "example"], False),
        ([None] * 6, False),
        (["counterexample"] * 6, False),
    ],
)
def test_the_new_templates_example_table_is_reported_as_the_example(source: list[Any], example: bool) -> None:
    book = planted_book()
    book.sheets["Milestones"] = milestone_rows(source)
    prepared = run(book)
    assert prepared.example_program is example
    assert (("Milestones", None, None, "example-program") in coords(prepared)) is example
    assert prepared.milestones.loc[2, "Payment"] == 500.0  # the sheet's table is used either way


def test_a_milestones_sheet_without_its_columns_falls_back_to_the_example() -> None:
    book = planted_book()
    book.sheets["Milestones"] = [["Workload", "Bucket"], ["*", "Small"]]
    prepared = run(book)
    assert prepared.example_program is True
    found = {c for c in coords(prepared) if c[0] == "Milestones"}
    assert ("Milestones", None, None, "example-program") in found
    assert ("Milestones", None, "Min Paid Units", "missing-column") in found
    assert len(prepared.milestones) == len(example_milestones())


def test_a_missing_column_is_reported_once_not_on_every_row() -> None:
    book = planted_book()
    book.sheets["Usage"] = [
        ["Tenant ID", "Workload", "Month", "Paid Units"],
        [T1, "EXO", "2025-01", 300],
        [T1, "EXO", "2025-02", 300],
    ]
    prepared = run(book)
    assert {c for c in coords(prepared) if c[0] == "Usage"} == {
        ("Usage", None, "Active Users", "missing-column")
    }
    assert prepared.usage["Active Users"].isna().all()
    assert str(prepared.usage["Active Users"].dtype) == "Int64"


def test_without_a_customers_sheet_tenants_are_not_reported_unknown() -> None:
    book = planted_book()
    del book.sheets["Customers"]
    prepared = run(book)
    found = coords(prepared)
    assert ("Customers", None, None, "missing-sheet") in found
    assert not [c for c in found if c[3] == "unknown-tenant"]
    assert prepared.customers.empty
    assert list(prepared.customers.columns) == CUSTOMERS_HEADER


def test_an_empty_workbook_gives_empty_typed_frames() -> None:
    prepared = run(MemoryBook({"Sheet1": []}))
    assert coords(prepared) == {
        ("Customers", None, None, "missing-sheet"),
        ("Associations", None, None, "missing-sheet"),
        ("Usage", None, None, "missing-sheet"),
        ("Milestones", None, None, "example-program"),
    }
    assert prepared.associations.empty and str(prepared.associations["Created"].dtype) == "datetime64[ns]"
    assert prepared.usage.empty and str(prepared.usage["Paid Units"].dtype) == "Int64"
    assert list(prepared.ledger.columns) == list(LEDGER_HEADER) and prepared.ledger.empty
    assert list(prepared.drafts.columns) == list(DRAFTS_HEADER) and prepared.drafts.empty
    assert prepared.settings == Settings()


def test_the_ledger_and_drafts_are_read_back_tolerantly() -> None:
    book = planted_book()
    book.sheets["Milestone Ledger"] = [
        list(LEDGER_HEADER),
        [
            "C1",
            "{" + T1.upper() + "}",
            "Contoso",
            "EXO",
            1234567.0,
            "Small",
            "M1",
            "2025-04",
            120.0,
            300.0,
            0.4,
            None,
            None,
            "2025-05-02",
        ],
        [
            "C1",
            "garbage",
            "Contoso",
            "Yammerish",
            "P-1",
            "Small",
            "M2",
            "sometime",
            "many",
            300,
            "40%",
            "n/a",
            "EUR",
            D(2025, 6, 1),
        ],
        [None] * 14,
    ]
    book.sheets["Consent Drafts"] = [
        ["Claim ID", "Tenant ID", "To", "Subject", "File", "Created On", "Sent On"],
        [1003.0, T2.upper(), "bob@fabrikam.com", "Hello", "1003.eml", D(2025, 1, 7), None],
    ]
    prepared = run(book)
    assert coords(prepared) == EXPECTED  # the tool's sheets add no findings
    ledger = prepared.ledger
    assert ledger.index.tolist() == [2, 3]
    assert ledger.loc[2, ["Tenant ID", "Workload", "Partner ID", "Month Reached", "Active Users"]].tolist() == [
        T1, "Exchange Online", "1234567", pd.Timestamp("2025-04-01"), 120,
    ]  # fmt: skip
    assert ledger.loc[3, ["Tenant ID", "Workload", "Partner ID"]].tolist() == ["garbage", "Yammerish", "P-1"]
    assert pd.isna(ledger.loc[3, "Month Reached"]) and pd.isna(ledger.loc[3, "Active Users"])
    assert ledger.loc[3, "Active Usage %"] == pytest.approx(0.4)
    assert ledger.loc[3, "Recorded On"] == pd.Timestamp("2025-06-01")
    assert str(ledger["Month Reached"].dtype) == "datetime64[ns]"
    drafts = prepared.drafts
    assert drafts.loc[2].tolist() == ["1003", T2, "bob@fabrikam.com", "Hello", "1003.eml", "2025-01-07", None]


def test_each_distinct_tenant_id_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []
    parse_guid = values._guid

    def counting(value: Any) -> Any:
        seen.append(value)
        return parse_guid(value)

    monkeypatch.setattr(values, "_guid", counting)
    tenants = [f"{n:08x}-0000-4000-8000-{n:012x}" for n in range(50)]
    rows = [USAGE_HEADER] + [
        [tenants[i % 50], "EXO", D(2024 + i // 600 % 5, i // 50 % 12 + 1, 1), 1, 2] for i in range(30_000)
    ]
    book = planted_book()
    book.sheets["Usage"] = rows
    prepared = run(book)
    assert len(prepared.usage) == 30_000
    usage_calls = [v for v in seen if v in set(tenants)]
    assert len(usage_calls) <= 50 + 3  # once per distinct value (and the few in Customers/Associations)


def test_the_schemas_are_the_sheet_specs_in_pandera() -> None:
    """One truth: each pandera schema is built from its SheetSpec (columns, nullability, key)."""
    for sheet, spec in SHEETS.items():
        built = schema(sheet)
        assert list(built.columns) == [c.name for c in spec.columns], sheet
        assert {n: c.nullable for n, c in built.columns.items()} == {c.name: c.nullable for c in spec.columns}
        assert [c.name for c in built.checks] == (["duplicate-key"] if spec.key else []), sheet
    assert list(schema("Milestones").columns) == list(MILESTONE_COLUMNS)


def test_pandera_reports_every_failure_at_once_under_the_finding_codes() -> None:
    """Lazy validation: an empty required cell, a negative count and a repeated key in one pass."""
    frame = pd.DataFrame(
        {
            "Tenant ID": pd.Series([T1, T1, None], index=[2, 3, 4], dtype=object),
            "Workload": pd.Series(["Exchange Online"] * 3, index=[2, 3, 4], dtype=object),
            "Month": pd.Series(pd.to_datetime(["2025-03-01"] * 3), index=[2, 3, 4]),
            "Active Users": pd.Series([1, -2, 3], index=[2, 3, 4], dtype="Int64"),
            "Paid Units": pd.Series([5, 5, 5], index=[2, 3, 4], dtype="Int64"),
        }
    )
    failures = validate_frame(frame, "Usage")
    found = sorted(zip(failures.index, failures["column"], failures["code"], strict=True))
    assert found == [
        (3, "Active Users", "bad-number"),
        (3, "Tenant ID", "duplicate-key"),
        (4, "Tenant ID", "missing-value"),
    ]


def test_xlwings_style_values_floats_everywhere() -> None:
    book = planted_book()
    book.sheets["Usage"] = [USAGE_HEADER, [T1, "EXO", dt.datetime(2025, 3, 1), 12.0, 300.0]]
    book.sheets["Associations"] = [
        ASSOCIATIONS_HEADER,
        association(1001.0, T1, Partner_ID=1234567.0, Created=dt.datetime(2025, 1, 2)),
    ]
    prepared = run(book)
    assert not {c for c in coords(prepared) if c[0] in ("Usage", "Associations")}
    assert prepared.usage.loc[2, ["Active Users", "Paid Units"]].tolist() == [12, 300]
    assert prepared.associations.loc[2, ["Claim ID", "Partner ID"]].tolist() == ["1001", "1234567"]


def test_a_big_usage_sheet_is_checked_the_same() -> None:
    """A Usage sheet of tens of thousands of rows (numbered once by its parse: the key check and the rules
    use those numbers) gets the same findings as a small one, at the same cells."""
    book = planted_book()
    usage = book.sheets["Usage"]
    months = [D(year, month, 1) for year in range(1901, 2121) for month in range(1, 13)]
    usage += [[T1, workload, month, 10, 20] for workload in ("Teams", "SPO", "OneDrive") for month in months]
    usage += [[T2, "OneDrive", month, 10, 20] for month in months]
    prepared = run(book)
    assert len(prepared.usage) >= prepare_module.NUMBERED_KEY_FROM
    assert coords(prepared) == EXPECTED
    found = {(f.sheet, f.row): f.message for f in prepared.findings if f.code == "duplicate-key"}
    assert "row 3" in found[("Usage", 4)]
    numbers = prepared.usage_numbers["Tenant ID"]
    tenants = prepared.usage["Tenant ID"].to_numpy(dtype=object)
    assert [numbers.values[c] if c >= 0 else None for c in numbers.codes[:9]] == list(tenants[:9])

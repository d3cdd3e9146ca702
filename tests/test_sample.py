"""`cpor-excel sample`: deterministic, realistic, clean except for the problems planted at known cells."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from email_validator import EmailNotValidError, validate_email

from cpor_excel.cli import main
from cpor_excel.errors import CporError, UsageError
from cpor_excel.model.catalogue import (
    LANGUAGES,
    LIVE_STATUSES,
    STATUSES,
    SUBMITTED_STATUSES,
    canonical_status,
    canonical_workload,
    suggest_workload,
)
from cpor_excel.model.findings import CODES
from cpor_excel.sample import MAX_CUSTOMERS, MIN_CUSTOMERS, SampleInfo, create_sample
from cpor_excel.workbook_new import create_template

ROOT = Path(__file__).resolve().parents[1]
COMMITTED_SAMPLE = ROOT / "sample_workbooks" / "cpor_sample.xlsx"
AS_OF = dt.date(2025, 11, 30)
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}$")
DATES = ["Created", "POE Signed", "Submitted", "Approved", "Ended"]
REQUIRED_PLANTS = {
    "bad-tenant-id", "bad-email", "unknown-workload", "ambiguous-date", "duplicate-key", "unknown-tenant",
    "poe-missing", "association-conflict",
}  # fmt: skip


def sheet_values(path: Path) -> dict[str, list[tuple[object, ...]]]:
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return {ws.title: [tuple(row) for row in ws.iter_rows(values_only=True)] for ws in book.worksheets}
    finally:
        book.close()


def frames(path: Path) -> dict[str, pd.DataFrame]:
    """Each sheet as a frame under its header, indexed by Excel row number."""
    out = {}
    for name, rows in sheet_values(path).items():
        width = len(rows[0])  # a streamed sheet has no dimension: openpyxl trims empty trailing cells
        frame = pd.DataFrame(
            [[*r, *[None] * (width - len(r))] for r in rows[1:]], columns=list(rows[0]), dtype=object
        )
        frame.index = pd.RangeIndex(2, 2 + len(frame))
        out[name] = frame
    return out


def planted_rows(info: SampleInfo, code: str) -> list[int]:
    return [row for _, row, _, c in info.planted if c == code]


def is_email(text: object) -> bool:
    try:
        validate_email(str(text), check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


@pytest.fixture(scope="module")
def sample(sample_book: tuple[Path, SampleInfo]) -> tuple[dict[str, pd.DataFrame], SampleInfo]:
    path, info = sample_book
    return frames(path), info


@pytest.fixture(scope="module")
def claims(sample: tuple[dict[str, pd.DataFrame], SampleInfo]) -> pd.DataFrame:
    """Associations with canonical status and workload, and dates as Timestamps (text stays NaT)."""
    sheets, _ = sample
    frame = sheets["Associations"].copy()
    frame["status"] = frame["Status"].map(canonical_status)
    frame["workload"] = frame["Workload"].map(canonical_workload)
    for column in DATES:
        frame[column] = pd.to_datetime(frame[column].map(lambda v: v if isinstance(v, dt.datetime) else None))
    return frame


# ----- what was planted -------------------------------------------------------------------------------------


def test_planted_covers_every_problem_the_checks_must_find(
    sample: tuple[dict[str, pd.DataFrame], SampleInfo],
) -> None:
    sheets, info = sample
    codes = [code for *_, code in info.planted]
    assert set(codes) == REQUIRED_PLANTS
    assert codes.count("association-conflict") == 2
    assert all(code in CODES for code in codes)
    assert len({(s, r, c) for s, r, c, _ in info.planted}) == len(info.planted)
    for sheet, row, column, _ in info.planted:
        assert column in sheets[sheet].columns and row in sheets[sheet].index


def test_planted_cells_hold_the_planted_bad_values(
    sample: tuple[dict[str, pd.DataFrame], SampleInfo], claims: pd.DataFrame
) -> None:
    sheets, info = sample
    customers, usage = sheets["Customers"], sheets["Usage"]
    cell = {(s, r, c): sheets[s].at[r, c] for s, r, c, _ in info.planted}
    for (sheet, row, column), code in zip(cell, [p[3] for p in info.planted], strict=True):
        value = cell[(sheet, row, column)]
        if code == "bad-tenant-id":
            assert isinstance(value, str) and not GUID.match(value.lower())
        elif code == "bad-email":
            assert not is_email(value)
        elif code == "unknown-workload":
            assert canonical_workload(value) is None and suggest_workload(value) is not None
        elif code == "ambiguous-date":
            assert value == "03/04/2025" and claims.at[row, "status"] == "Draft"
        elif code == "poe-missing":
            assert value is None and claims.at[row, "status"] == "Submitted"
        elif code == "unknown-tenant":
            assert GUID.match(value) and value not in set(customers["Tenant ID"])
        elif code == "duplicate-key":
            key = tuple(usage.loc[row, ["Tenant ID", "Workload", "Month"]])
            earlier = usage.loc[: row - 1]
            assert (
                (earlier["Tenant ID"] == key[0])
                & (earlier["Workload"] == key[1])
                & (earlier["Month"] == key[2])
            ).any()
    first, second = (claims.loc[r] for r in planted_rows(info, "association-conflict"))
    assert first["Tenant ID"] == second["Tenant ID"] and first["workload"] == second["workload"]
    assert first["Partner ID"] != second["Partner ID"]
    assert {first["status"], second["status"]} <= LIVE_STATUSES
    assert second["POE Signed"] > first["POE Signed"]  # the latecomer has the newer POE


def test_a_few_approved_claims_earn_milestones(
    sample: tuple[dict[str, pd.DataFrame], SampleInfo], claims: pd.DataFrame
) -> None:
    _, info = sample
    assert len(info.milestone_claims) >= 3
    statuses = claims.groupby("Claim ID")["status"].first()
    assert set(statuses[info.milestone_claims]) == {"Approved"}


# ----- everything else is clean -----------------------------------------------------------------------------


def test_customers_are_clean_except_the_planted_cells(
    sample: tuple[dict[str, pd.DataFrame], SampleInfo],
) -> None:
    sheets, info = sample
    customers = sheets["Customers"]
    assert len(customers) == info.customers == 40
    assert (
        customers.notna()[["Tenant ID", "Customer Name", "Domain", "Contact Name", "Contact Title"]]
        .all()
        .all()
    )
    bad_guids = customers.index[~customers["Tenant ID"].map(lambda t: bool(GUID.match(t)))]
    assert list(bad_guids) == planted_rows(info, "bad-tenant-id")
    assert customers["Tenant ID"].is_unique
    bad_emails = customers.index[~customers["Contact Email"].map(is_email)]
    assert list(bad_emails) == planted_rows(info, "bad-email")
    assert customers["Domain"].map(lambda d: bool(DOMAIN.match(d))).all()
    assert set(customers["Language"]) == set(LANGUAGES)
    assert set(customers["Public Sector"]) == {"Yes", "No"}
    assert 1 <= (customers["Public Sector"] == "Yes").sum() <= 6
    names = customers["Contact Name"].tolist()
    assert sum(not n.isascii() for n in names) >= 5  # Zoë, François, Jürgen: unicode is normal


def test_associations_are_clean_except_the_planted_cells(
    sample: tuple[dict[str, pd.DataFrame], SampleInfo], claims: pd.DataFrame
) -> None:
    sheets, info = sample
    customers = sheets["Customers"]
    assert len(claims) == info.associations
    assert set(claims["Tenant ID"]) <= set(customers["Tenant ID"])
    assert claims["status"].notna().all() and set(claims["status"]) == set(STATUSES)
    assert (claims["Status"] != claims["status"]).any()  # aliases such as "In progress" occur
    unknown = claims.index[claims["workload"].isna()]
    assert list(unknown) == planted_rows(info, "unknown-workload")
    assert (claims["Workload"] != claims["workload"]).sum() >= 10  # "EXO", "Teams", ... as partners type them
    assert not claims.dropna(subset=["workload"]).duplicated(["Claim ID", "workload"]).any()
    per_claim = claims.groupby("Claim ID")[
        ["Tenant ID", "Partner ID", "Status", "Created", "Submitted"]
    ].nunique(dropna=False)
    assert (per_claim == 1).all().all()
    assert 3 <= claims["Partner ID"].nunique() <= 4
    assert claims["Partner ID"].map(lambda p: str(p).isdigit()).all()
    assert claims["Partner Contact Email"].map(is_email).all()
    assert claims["Partner Contact Name"].notna().all() and claims["Partner Name"].notna().all()


def test_dates_hang_together_except_the_planted_ones(
    sample: tuple[dict[str, pd.DataFrame], SampleInfo], claims: pd.DataFrame
) -> None:
    sheets, info = sample
    as_of = pd.Timestamp(AS_OF)
    raw = sheets["Associations"][DATES]
    text = raw.stack().map(lambda v: isinstance(v, str))
    assert [(row, column) for row, column in text.index[text]] == [
        (row, column) for _, row, column, code in info.planted if code == "ambiguous-date"
    ]
    assert raw.map(lambda v: v is None or isinstance(v, (str, dt.datetime))).all().all()
    assert (claims[DATES].max(axis=1) <= as_of).all()
    assert claims["Created"].notna().all()
    # Created <= POE Signed <= Submitted <= Approved <= Ended, wherever both dates are there
    for earlier, later in itertools.combinations(DATES, 2):
        both = claims[earlier].notna() & claims[later].notna()
        assert (claims.loc[both, earlier] <= claims.loc[both, later]).all(), (earlier, later)
    submitted = claims["status"].isin(SUBMITTED_STATUSES)
    assert (claims["Submitted"].notna() == submitted).all()
    assert claims.loc[claims["status"] == "Approved", "Approved"].notna().all()
    assert set(claims.loc[claims["Approved"].notna(), "status"]) <= {"Approved", "Rejected final"}
    assert claims.loc[claims["status"].isin(LIVE_STATUSES), "Ended"].isna().all()
    no_poe = claims.index[(claims["status"] != "Draft") & claims["POE Signed"].isna()]
    assert list(no_poe) == planted_rows(info, "poe-missing")
    age = claims["Submitted"] - claims["POE Signed"]
    assert (age.dropna() <= pd.Timedelta(days=365)).all()


def test_only_the_planted_pair_conflicts(
    sample: tuple[dict[str, pd.DataFrame], SampleInfo], claims: pd.DataFrame
) -> None:
    _, info = sample
    as_of = pd.Timestamp(AS_OF)
    start = claims["Submitted"].fillna(claims["Created"])
    live = claims[
        claims["status"].isin(LIVE_STATUSES)
        & (start <= as_of)
        & (claims["Ended"].isna() | (claims["Ended"] > as_of))
    ].dropna(subset=["workload"])
    groups = live.groupby(["Tenant ID", "workload"])
    partners = groups["Partner ID"].transform("nunique")
    assert sorted(live.index[partners > 1]) == planted_rows(info, "association-conflict")
    # no duplicate-association either: one live claim per partner and tenant workload
    assert not live.duplicated(["Tenant ID", "workload", "Partner ID"]).any()


def test_usage_is_clean_except_the_planted_rows(
    sample: tuple[dict[str, pd.DataFrame], SampleInfo], claims: pd.DataFrame
) -> None:
    sheets, info = sample
    usage, customers = sheets["Usage"], sheets["Customers"]
    assert len(usage) == info.usage
    assert list(usage.index[~usage["Tenant ID"].isin(customers["Tenant ID"])]) == planted_rows(
        info, "unknown-tenant"
    )
    workload = usage["Workload"].map(canonical_workload)
    assert workload.notna().all()
    keys = pd.DataFrame({"t": usage["Tenant ID"], "w": workload, "m": usage["Month"]})
    assert list(usage.index[keys.duplicated()]) == planted_rows(info, "duplicate-key")
    months = pd.to_datetime(usage["Month"])
    assert months.min() == pd.Timestamp(2024, 10, 1) and months.max() == pd.Timestamp(2025, 11, 1)
    assert (months.dt.day == 1).all() and months.dt.to_period("M").nunique() == 14
    active, paid = usage["Active Users"].astype(int), usage["Paid Units"].astype(int)
    assert usage[["Active Users", "Paid Units"]].map(lambda v: isinstance(v, int) and v >= 0).all().all()
    assert (active <= paid).all()
    assert 0.02 <= (paid < 150).mean() <= 0.25  # mostly above the 150-seat minimum, some below
    # every claimed tenant workload has usage
    valid = claims.dropna(subset=["workload"])
    claimed = set(zip(valid["Tenant ID"], valid["workload"], strict=True))
    assert claimed <= set(zip(usage["Tenant ID"], workload, strict=True))


def test_usage_grows_after_a_claim_but_stays_under_the_gate_until_submission(
    sample: tuple[dict[str, pd.DataFrame], SampleInfo], claims: pd.DataFrame
) -> None:
    sheets, _ = sample
    usage = sheets["Usage"].copy()
    usage["workload"] = usage["Workload"].map(canonical_workload)
    usage["month"] = pd.to_datetime(usage["Month"]).dt.to_period("M")
    usage["share"] = usage["Active Users"].astype(int) / usage["Paid Units"].astype(int)
    approved = claims[(claims["status"] == "Approved")].dropna(subset=["workload"])
    joined = approved.assign(month=approved["Submitted"].dt.to_period("M")).merge(
        usage, left_on=["Tenant ID", "workload"], right_on=["Tenant ID", "workload"], suffixes=("", "_u")
    )
    at_claim = joined[joined["month_u"] == joined["month"]]
    assert len(at_claim) > 20 and (at_claim["share"] <= 0.20).all()  # no usage-gate-exceeded
    first_last = (
        usage.sort_values("month").groupby(["Tenant ID", "workload"])["Active Users"].agg(["first", "last"])
    )
    assert (first_last["last"] > first_last["first"]).mean() > 0.5


def test_milestones_and_settings_are_the_templates(
    tmp_path: Path, sample_book: tuple[Path, SampleInfo]
) -> None:
    template = sheet_values(create_template(tmp_path / "template.xlsx"))
    generated = sheet_values(sample_book[0])
    for name in ("Milestones", "Lists"):
        assert generated[name] == template[name]
    # the sample's program: the seed's settings, and usage paid above the high-water mark from five months
    # before its as-of month (2025-11), so that claims approved earlier cross the boundary
    assert generated["Settings"] == [
        ("Setting", "Value"), ("Minimum Paid Units", 150), ("Consent Window Business Days", 5),
        ("POE Max Age Months", 12), ("Milestone Window Months",), ("High-Water Mark From", "2025-06"),
        ("Consent Window Starts", "Submitted"), ("POE Refresh Months", 11),
    ]  # fmt: skip
    book = openpyxl.load_workbook(sample_book[0], read_only=False)
    assert book["Milestones"].sheet_properties.tabColor is not None
    assert {v.formula1 for v in book["Associations"].data_validations.dataValidation} == {
        v.formula1
        for v in openpyxl.load_workbook(tmp_path / "template.xlsx")[
            "Associations"
        ].data_validations.dataValidation
    }


def test_every_date_cell_shows_as_a_date_and_every_month_as_a_month(
    sample_book: tuple[Path, SampleInfo],
) -> None:
    book = openpyxl.load_workbook(sample_book[0], read_only=True)
    formats: dict[str, set[str]] = {"date": set(), "month": set()}
    for row in book["Associations"].iter_rows(min_row=2, min_col=9, max_col=14):
        formats["date"] |= {c.number_format for c in row if isinstance(c.value, dt.datetime)}
    for (month,) in book["Usage"].iter_rows(min_row=2, min_col=3, max_col=3):
        formats["month"].add(month.number_format)
    book.close()
    assert formats == {"date": {"yyyy-mm-dd"}, "month": {"yyyy-mm"}}


# ----- determinism and sizes --------------------------------------------------------------------------------


def test_same_seed_same_workbook_and_another_seed_another(tmp_path: Path) -> None:
    one = create_sample(tmp_path / "one.xlsx", customers=MIN_CUSTOMERS, seed=3, as_of=AS_OF)
    two = create_sample(tmp_path / "two.xlsx", customers=MIN_CUSTOMERS, seed=3, as_of=AS_OF)
    other = create_sample(tmp_path / "other.xlsx", customers=MIN_CUSTOMERS, seed=4, as_of=AS_OF)
    assert sheet_values(one.path) == sheet_values(two.path)
    assert one.planted == two.planted and one.milestone_claims == two.milestone_claims
    assert sheet_values(one.path)["Customers"] != sheet_values(other.path)["Customers"]


@pytest.mark.parametrize(
    ("customers", "seed"), [(MIN_CUSTOMERS, 1), (MIN_CUSTOMERS + 1, 2), (23, 99), (61, 0)]
)
def test_small_samples_still_plant_everything_and_use_every_status(
    tmp_path: Path, customers: int, seed: int
) -> None:
    info = create_sample(tmp_path / "s.xlsx", customers=customers, seed=seed, as_of=dt.date(2026, 6, 15))
    sheets = frames(info.path)
    assert {code for *_, code in info.planted} == REQUIRED_PLANTS
    assert set(sheets["Associations"]["Status"].map(canonical_status)) == set(STATUSES)
    months = pd.to_datetime(sheets["Usage"]["Month"])
    assert months.max() == pd.Timestamp(2026, 6, 1) and months.dt.to_period("M").nunique() == 14
    for sheet, row, column, code in info.planted:
        value = sheets[sheet].at[row, column]
        assert code != "ambiguous-date" or value == "03/04/2025"
        assert code != "bad-email" or not is_email(value)


def test_rows_per_customer_scale_as_documented(tmp_path: Path) -> None:
    info = create_sample(tmp_path / "s.xlsx", customers=200, seed=11)
    assert 7 <= info.associations / info.customers <= 12
    assert 85 <= info.usage / info.customers <= 120


@pytest.mark.parametrize("customers", [MIN_CUSTOMERS - 1, MAX_CUSTOMERS + 1])
def test_a_customer_count_out_of_range_is_a_usage_error(tmp_path: Path, customers: int) -> None:
    with pytest.raises(UsageError):
        create_sample(tmp_path / "s.xlsx", customers=customers)
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "s.xlsx"
    path.write_bytes(b"keep me")
    with pytest.raises(CporError, match="already exists"):
        create_sample(path, customers=MIN_CUSTOMERS)
    assert path.read_bytes() == b"keep me"


# ----- command line -----------------------------------------------------------------------------------------


def test_cli_sample_writes_then_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "demo.xlsx"
    args = ["sample", str(path), "--customers", "12", "--seed", "5", "--as-of", "2025-06-30"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.output.count("\n") == 2 and "12 customers" in result.output
    # the second line is the command that runs it as of its own day
    assert result.output.splitlines()[1].split()[-4:] == ["run", str(path), "--as-of", "2025-06-30"]
    assert len(frames(path)["Customers"]) == 12
    assert pd.to_datetime(frames(path)["Usage"]["Month"]).max() == pd.Timestamp(2025, 6, 1)
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 3 and again.output.startswith("Error: ") and "already exists" in again.output


@pytest.mark.parametrize(
    "options",
    [["--customers", "0"], ["--customers", "many"], ["--customers", str(MAX_CUSTOMERS + 1)],
     ["--as-of", "30/11/2025"], ["--seed", "x"]],
)  # fmt: skip
def test_cli_sample_bad_options_are_usage_errors(tmp_path: Path, options: list[str]) -> None:
    result = CliRunner().invoke(main, ["sample", str(tmp_path / "s.xlsx"), *options])
    assert result.exit_code == 2
    assert not (tmp_path / "s.xlsx").exists()


def test_cli_sample_wrong_extension_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["sample", str(tmp_path / "s.csv")])
    assert result.exit_code == 2 and "Error: " in result.output


def test_committed_sample_is_what_sample_writes_today(tmp_path: Path) -> None:
    if not COMMITTED_SAMPLE.exists():
        pytest.fail(f"{COMMITTED_SAMPLE} is missing: run `cpor-excel sample {COMMITTED_SAMPLE}`")
    result = CliRunner().invoke(main, ["sample", str(tmp_path / "cpor_sample.xlsx")])
    assert result.exit_code == 0, result.output
    assert sheet_values(COMMITTED_SAMPLE) == sheet_values(tmp_path / "cpor_sample.xlsx")

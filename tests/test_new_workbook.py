"""`cpor-excel new`: the empty workbook's sheets, headers, formats, drop-downs and example marker."""

from __future__ import annotations

import math
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.utils import get_column_letter, range_boundaries
from python_calamine import CalamineWorkbook

from cpor_excel.cli import main
from cpor_excel.errors import CporError, UsageError
from cpor_excel.model.catalogue import (
    LANGUAGES,
    PARTNER_ROLES,
    REJECTION_REASONS,
    STATUSES,
    WORKLOADS,
    canonical_status,
)
from cpor_excel.model.columns import DATA_SHEETS, SHEETS, Kind
from cpor_excel.model.program import SETTING_NAMES, example_milestones
from cpor_excel.workbook_new import (
    EXAMPLE_SOURCE_HEADER,
    EXAMPLE_SOURCE_TEXT,
    LISTS_SHEET,
    TEMPLATE_ROWS,
    create_template,
)

ROOT = Path(__file__).resolve().parents[1]
COMMITTED_TEMPLATE = ROOT / "sample_workbooks" / "cpor_template.xlsx"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> openpyxl.Workbook:
    path = create_template(tmp_path_factory.mktemp("new") / "cpor.xlsx")
    return openpyxl.load_workbook(path)


def sheet_values(path: Path) -> dict[str, list[tuple[object, ...]]]:
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return {ws.title: [tuple(row) for row in ws.iter_rows(values_only=True)] for ws in book.worksheets}
    finally:
        book.close()


def validations(sheet: openpyxl.worksheet.worksheet.Worksheet) -> dict[str, tuple[str, str]]:
    """Header of the validated column -> (source formula, cell range)."""
    headers = [c.value for c in sheet[1]]
    found: dict[str, tuple[str, str]] = {}
    for validation in sheet.data_validations.dataValidation:
        for cells in validation.sqref.ranges:
            min_col, _, max_col, _ = range_boundaries(cells.coord)
            assert min_col == max_col, cells.coord
            found[headers[min_col - 1]] = (validation.formula1, cells.coord)
    return found


def test_template_has_the_data_sheets_then_a_hidden_lists_sheet(template: openpyxl.Workbook) -> None:
    assert template.sheetnames == [*(s.name for s in DATA_SHEETS), LISTS_SHEET]
    assert [ws.sheet_state for ws in template.worksheets] == ["visible"] * len(DATA_SHEETS) + ["hidden"]


@pytest.mark.parametrize("spec", DATA_SHEETS, ids=lambda s: s.name)
def test_headers_are_the_canonical_names_in_order_bold_and_frozen(
    template: openpyxl.Workbook, spec: object
) -> None:
    sheet = template[spec.name]  # type: ignore[attr-defined]
    expected = [c.name for c in spec.columns]  # type: ignore[attr-defined]
    if spec.name in ("Milestones", "Rate Card"):  # type: ignore[attr-defined]
        expected = [*expected, EXAMPLE_SOURCE_HEADER]  # the example tables say that they are examples
    assert [c.value for c in sheet[1]] == expected
    assert all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    widths = [sheet.column_dimensions[get_column_letter(i)].width for i in range(1, len(expected) + 1)]
    assert all(len(name) < width <= 60 for name, width in zip(expected, widths, strict=True))


def test_date_and_month_columns_carry_their_number_format(template: openpyxl.Workbook) -> None:
    expected = {Kind.DATE: "yyyy-mm-dd", Kind.MONTH: "yyyy-mm"}
    checked = 0
    for spec in (SHEETS["Associations"], SHEETS["Usage"]):
        sheet = template[spec.name]
        for index, column in enumerate(spec.columns, start=1):
            number_format = sheet.column_dimensions[get_column_letter(index)].number_format
            assert number_format == expected.get(column.kind, "General"), column.name
            checked += column.kind in expected
    assert checked == 7  # Created, POE Signed, Submitted, Approved, Ended, Status Changed, Month


def test_drop_downs_list_the_canonical_values_down_to_row_5000(template: openpyxl.Workbook) -> None:
    aliases = [alias for names in STATUSES.values() for alias in names]
    statuses = '"' + ",".join([*STATUSES, *aliases]) + '"'
    assert validations(template["Customers"]) == {
        "Public Sector": ('"Yes,No"', f"H2:H{TEMPLATE_ROWS}"),
        "Language": ('"' + ",".join(LANGUAGES) + '"', f"I2:I{TEMPLATE_ROWS}"),
    }
    associations = validations(template["Associations"])
    assert associations["Status"] == (statuses, f"H2:H{TEMPLATE_ROWS}")
    assert set(associations) == {
        "Status",
        "Workload",
        "Rejection Reason",
        "Partner Role",
        "Incentive Opt-out",
    }
    assert associations["Rejection Reason"] == (
        '"' + ",".join(REJECTION_REASONS) + '"',
        f"P2:P{TEMPLATE_ROWS}",
    )
    assert associations["Partner Role"] == ('"' + ",".join(PARTNER_ROLES) + '"', f"Q2:Q{TEMPLATE_ROWS}")
    assert associations["Incentive Opt-out"] == ('"Yes,No"', f"R2:R{TEMPLATE_ROWS}")
    workload_source, workload_cells = associations["Workload"]
    assert workload_cells == f"C2:C{TEMPLATE_ROWS}"
    assert validations(template["Usage"]) == {"Workload": (workload_source, f"B2:B{TEMPLATE_ROWS}")}
    assert validations(template["Milestones"]) == {} and validations(template["Settings"]) == {}
    assert validations(template["Rate Card"]) == {}


def test_the_status_drop_down_accepts_every_status_the_tool_accepts(template: openpyxl.Workbook) -> None:
    source = validations(template["Associations"])["Status"][0]
    listed = source.strip('"').split(",")
    accepted = [name for canonical, aliases in STATUSES.items() for name in (canonical, *aliases)]
    assert sorted(listed) == sorted(accepted)
    assert {canonical_status(name) for name in listed} == set(STATUSES)  # each one reads as a status


def test_the_workload_list_is_too_long_to_inline_so_it_is_a_range_on_the_lists_sheet(
    template: openpyxl.Workbook,
) -> None:
    assert len(",".join(WORKLOADS)) > 255
    source = validations(template["Associations"])["Workload"][0]
    sheet_name, cells = source.rsplit("!", 1)
    assert sheet_name.strip("'") == LISTS_SHEET
    min_col, min_row, max_col, max_row = range_boundaries(cells.replace("$", ""))
    lists = template[LISTS_SHEET]
    values = [lists.cell(row, min_col).value for row in range(min_row, max_row + 1)]
    assert min_col == max_col and values == list(WORKLOADS)
    inline = [f for ws in template.worksheets for f, _ in validations(ws).values() if f.startswith('"')]
    assert inline and all(len(f) - 2 <= 255 for f in inline)


def test_milestones_hold_the_example_table_marked_as_example(template: openpyxl.Workbook) -> None:
    sheet = template["Milestones"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    example = example_milestones()
    assert len(rows) == len(example)
    for row, (_, expected) in zip(rows, example.iterrows(), strict=True):
        for value, want in zip(row, expected.tolist(), strict=False):
            if want is None or want == "" or (isinstance(want, float) and math.isnan(want)):
                assert value is None
            else:
                assert value == pytest.approx(want)
        assert row[-1] == EXAMPLE_SOURCE_TEXT
    assert "example" in EXAMPLE_SOURCE_TEXT.casefold()
    assert sheet.sheet_properties.tabColor is not None
    assert sheet["F2"].number_format == "0%" and sheet["I2"].number_format == "0%"


def test_settings_rows_have_the_defaults_and_a_blank_milestone_window(template: openpyxl.Workbook) -> None:
    rows = list(template["Settings"].iter_rows(min_row=2, values_only=True))
    assert rows == [
        ("Minimum Paid Units", 150),
        ("Consent Window Business Days", 5),
        ("POE Max Age Months", 12),
        ("Milestone Window Months", None),
        ("High-Water Mark From", "2023-10"),  # the current program (SPEC "Additions of December 2026")
        ("Consent Window Starts", "Approved"),
        ("POE Refresh Months", 11),
    ]
    assert [name for name, _ in rows] == list(SETTING_NAMES)


def test_calamine_reads_only_the_header_rows_of_the_empty_sheets(tmp_path: Path) -> None:
    # the column styles and drop-downs reaching row 5000 must not look like data to the reader
    path = create_template(tmp_path / "cpor.xlsx")
    book = CalamineWorkbook.from_path(str(path))
    for name in ("Customers", "Associations", "Usage"):
        rows = book.get_sheet_by_name(name).to_python()
        assert [list(r) for r in rows] == [[c.name for c in SHEETS[name].columns]]


def test_refuses_to_overwrite_and_leaves_the_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "mine.xlsx"
    path.write_bytes(b"partner data")
    with pytest.raises(CporError, match="already exists: choose another name or delete it"):
        create_template(path)
    assert path.read_bytes() == b"partner data"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.xlsx"]  # no temporary file left behind


@pytest.mark.parametrize(
    ("name", "error", "exit_code"),
    [("book.xls", UsageError, 2), ("book", UsageError, 2), ("missing/book.xlsx", CporError, 3)],
)
def test_refuses_a_name_it_cannot_write(tmp_path: Path, name: str, error: type, exit_code: int) -> None:
    with pytest.raises(error) as raised:
        create_template(tmp_path / name)
    assert raised.value.exit_code == exit_code
    assert list(tmp_path.iterdir()) == []


def test_cli_new_writes_the_workbook_then_refuses_to_overwrite_it(tmp_path: Path) -> None:
    path = tmp_path / "team.xlsx"
    first = CliRunner().invoke(main, ["new", str(path)])
    assert first.exit_code == 0, first.output
    assert first.output.count("\n") == 1 and str(path) in first.output
    assert openpyxl.load_workbook(path).sheetnames[:3] == ["Customers", "Associations", "Usage"]
    before = path.read_bytes()
    second = CliRunner().invoke(main, ["new", str(path)])
    assert second.exit_code == 3
    assert second.output.startswith("Error: ") and "already exists" in second.output
    assert "Traceback" not in second.output
    assert path.read_bytes() == before


def test_cli_new_without_a_path_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["new"])
    assert result.exit_code == 2


def test_committed_template_is_what_new_writes_today(tmp_path: Path) -> None:
    if not COMMITTED_TEMPLATE.exists():
        pytest.fail(f"{COMMITTED_TEMPLATE} is missing: run `cpor-excel new {COMMITTED_TEMPLATE}`")
    fresh = create_template(tmp_path / "cpor_template.xlsx")
    assert sheet_values(COMMITTED_TEMPLATE) == sheet_values(fresh)

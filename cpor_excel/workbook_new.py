"""`cpor-excel new`: an empty CPOR workbook a partner can start typing into.

The sheet helpers here are shared with `sample/`, so the generated sample looks exactly like a workbook
started from the template. Workbooks are built in openpyxl's write-only mode: it streams rows to disk, which
keeps a 500,000-row sample within memory and time, and it is the same code path for the empty template.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.datavalidation import DataValidation

from cpor_excel.errors import CporError, UsageError
from cpor_excel.model.catalogue import LANGUAGES, PARTNER_ROLES, REJECTION_REASONS, STATUSES, WORKLOADS
from cpor_excel.model.columns import (
    ASSOCIATIONS,
    CUSTOMERS,
    MILESTONES,
    RATE_CARD,
    SETTINGS,
    USAGE,
    Column,
    Kind,
)
from cpor_excel.model.program import (
    HWM_START,
    MILESTONE_COLUMNS,
    RATE_CARD_COLUMNS,
    SETTING_NAMES,
    Settings,
    example_milestones,
)

#: how far down an empty workbook's drop-downs reach
TEMPLATE_ROWS = 5000

#: how the template marks its Milestones table as an example (the reader reports `example-program` while
#: every Source cell still says "example")
EXAMPLE_SOURCE_HEADER = "Source"
EXAMPLE_SOURCE_TEXT = "EXAMPLE - replace with the figures of your incentive guide"
EXAMPLE_TAB_COLOUR = "FFC000"

#: a hidden sheet holding drop-down lists too long for Excel's 255-character inline list
LISTS_SHEET = "Lists"
INLINE_LIST_LIMIT = 255

DATE_FORMAT = "yyyy-mm-dd"
MONTH_FORMAT = "yyyy-mm"
PERCENT_FORMAT = "0%"

_NUMBER_FORMATS = {Kind.DATE: DATE_FORMAT, Kind.MONTH: MONTH_FORMAT, Kind.PERCENT: PERCENT_FORMAT}
_WIDTHS = {
    Kind.GUID: 38, Kind.EMAIL: 32, Kind.DOMAIN: 26, Kind.WORKLOAD: 30, Kind.STATUS: 24, Kind.DATE: 12,
    Kind.MONTH: 10, Kind.COUNT: 12, Kind.NUMBER: 12, Kind.PERCENT: 12, Kind.YESNO: 13, Kind.LANGUAGE: 11,
    Kind.DIGITS: 12,
}  # fmt: skip
_TEXT_WIDTH = 22
_WIDE_TEXT = {
    "Customer Name": 32, "Partner Name": 30, "POE Reference": 30, EXAMPLE_SOURCE_HEADER: 58, "Partner Role": 44,
    "Rejection Reason": 30,
}  # fmt: skip

#: the settings `cpor-excel new` writes: the program as Partner Center runs it today (SPEC "Additions of
#: December 2026"); a workbook without them keeps the seed's program
CURRENT_PROGRAM = Settings(
    high_water_mark_from=dt.date.fromisoformat(f"{HWM_START}-01"), consent_window_starts="Approved"
)

#: drop-down choices by column kind, and what Excel says when a typed value is not one of them. The alert
#: is a warning, not a stop: the tool also reads aliases ("EXO", "In progress", "German") a partner may type.
_CHOICES: dict[Kind, tuple[str, ...]] = {
    # the statuses, then their aliases: a partner typing "Declined" or "In progress" is not warned
    Kind.STATUS: (*STATUSES, *(alias for aliases in STATUSES.values() for alias in aliases)),
    Kind.WORKLOAD: tuple(WORKLOADS),
    Kind.YESNO: ("Yes", "No"),
    Kind.LANGUAGE: tuple(LANGUAGES),
    Kind.ROLE: tuple(PARTNER_ROLES),
    Kind.REASON: tuple(REJECTION_REASONS),
}
_ALERTS: dict[Kind, str] = {
    Kind.STATUS: "Not a Partner Center claim status. Pick one from the list.",
    Kind.WORKLOAD: "Not a catalogue workload name. Aliases such as EXO or Teams are accepted too.",
    Kind.YESNO: "Answer Yes or No.",
    Kind.LANGUAGE: "Email languages: en, de, fr, nl, es; others get the English email.",
    Kind.ROLE: "Not a Partner Center partner role. Only Use or consume earns usage incentives.",
    Kind.REASON: "Not a rejection reason Partner Center gives. Pick one from the list.",
}
_LIST_KINDS = tuple(k for k, v in _CHOICES.items() if len(",".join(v)) > INLINE_LIST_LIMIT)

_BOLD = Font(bold=True)


def create_template(path: Path) -> Path:
    """Write an empty CPOR workbook (all sheets, headers, drop-downs, the example Milestones) to ``path``."""
    path = check_new_path(path)
    book = new_workbook()
    for spec in (CUSTOMERS, ASSOCIATIONS, USAGE):
        add_sheet(book, spec.name, spec.columns, (), TEMPLATE_ROWS)
    add_example_milestones(book)
    add_example_rate_card(book)
    add_settings(book, CURRENT_PROGRAM)
    add_lists(book)
    save_new(book, path)
    return path


def check_new_path(path: Path) -> Path:
    """The path a new workbook may be written to: an .xlsx name, in an existing folder, not yet taken."""
    path = Path(path)
    if path.suffix.casefold() != ".xlsx":
        raise UsageError(f"{path.name} is not an .xlsx name: give the new workbook a name ending in .xlsx")
    if path.exists():
        raise CporError(f"{path} already exists: choose another name or delete it")
    if not path.parent.is_dir():
        raise CporError(f"folder {path.parent} does not exist: create it first or choose another folder")
    return path


def new_workbook() -> Workbook:
    return Workbook(write_only=True)


def add_sheet(
    book: Workbook,
    name: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[object]],
    last_row: int,
    tab_colour: str | None = None,
) -> WriteOnlyWorksheet:
    """Append a sheet: bold frozen header, widths, number formats and drop-downs down to ``last_row``, then
    ``rows``. Date, month and percent cells get their number format (dates as ``datetime.date``)."""
    sheet: WriteOnlyWorksheet = book.create_sheet(name)
    # a write-only sheet writes its properties with the first row: everything but rows goes first
    sheet.sheet_properties.tabColor = tab_colour
    sheet.freeze_panes = "A2"
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        dimension = sheet.column_dimensions[letter]
        dimension.width = _width(column)
        if column.kind in _NUMBER_FORMATS:
            # a column style makes Excel format the dates a partner types later
            dimension.number_format = _NUMBER_FORMATS[column.kind]
        if column.kind in _CHOICES:
            sheet.data_validations.append(_drop_down(column.kind, f"{letter}2:{letter}{last_row}"))
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, column.name)
        cell.font = _BOLD
        header.append(cell)
    sheet.append(header)
    formatted = [(i, _NUMBER_FORMATS[c.kind]) for i, c in enumerate(columns) if c.kind in _NUMBER_FORMATS]
    if not formatted:
        for row in rows:
            sheet.append(row)
        return sheet
    # A write-only sheet writes each row as it is appended, so one formatted cell per distinct value can
    # be handed over again and again: a third faster than a new cell per date on a 500,000-row sheet.
    cells: dict[tuple[int, object], WriteOnlyCell] = {}
    for row in rows:
        values: list[object] = list(row)
        for i, number_format in formatted:
            value = values[i]
            if value is None or isinstance(value, str):
                continue
            key = (i, value)
            cell = cells.get(key)
            if cell is None:
                cell = cells[key] = WriteOnlyCell(sheet, value)
                cell.number_format = number_format
            values[i] = cell
        sheet.append(values)
    return sheet


def example_milestone_rows() -> list[list[object]]:
    """The example milestone table as sheet rows, each ending with the example marker."""
    frame = example_milestones()
    # nine rows: nothing to vectorise
    return [[*map(_cell_value, record), EXAMPLE_SOURCE_TEXT] for record in frame.itertuples(index=False)]


def _cell_value(value: object) -> object:
    """A frame value as a cell: NaN and "" blank, whole floats (seat counts) as ints, numpy as Python."""
    item = getattr(value, "item", None)
    if callable(item):
        value = item()
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer() and value >= 1:
        return int(value)
    return value


def add_example_milestones(book: Workbook) -> WriteOnlyWorksheet:
    """The Milestones sheet holding the example table, marked as an example (Source column, coloured tab)."""
    columns = [MILESTONES.column(name) for name in MILESTONE_COLUMNS]
    columns.append(Column(EXAMPLE_SOURCE_HEADER, required=False, nullable=True))
    rows = example_milestone_rows()
    return add_sheet(book, MILESTONES.name, columns, rows, len(rows) + 1, EXAMPLE_TAB_COLOUR)


def add_example_rate_card(book: Workbook) -> WriteOnlyWorksheet:
    """The Rate Card sheet with one example row, marked as an example like the Milestones: Microsoft does not
    publish rates, so the row says how to fill it and carries no figure of its own (a rate of 0, Min New Users
    1 as when there is no Rate Card, no caps). While it is marked, runs count users and leave amounts blank."""
    columns = [RATE_CARD.column(name) for name in RATE_CARD_COLUMNS]
    columns.append(Column(EXAMPLE_SOURCE_HEADER, required=False, nullable=True))
    rows = [["*", 0, "USD", 1, None, None, EXAMPLE_SOURCE_TEXT]]
    return add_sheet(book, RATE_CARD.name, columns, rows, len(rows) + 1, EXAMPLE_TAB_COLOUR)


def settings_rows(settings: Settings | None = None) -> list[list[object]]:
    """Setting / Value rows in SETTING_NAMES order; a setting with no value is a blank cell, a month is
    written as YYYY-MM text."""
    settings = settings or Settings()
    rows: list[list[object]] = []
    for name, field in SETTING_NAMES.items():
        value = getattr(settings, field)
        rows.append([name, value.strftime("%Y-%m") if isinstance(value, dt.date) else value])
    return rows


def add_settings(book: Workbook, settings: Settings | None = None) -> WriteOnlyWorksheet:
    rows = settings_rows(settings)
    return add_sheet(book, SETTINGS.name, SETTINGS.columns, rows, len(rows) + 1)


def add_lists(book: Workbook) -> WriteOnlyWorksheet:
    """The hidden sheet behind the drop-downs whose lists are too long to write inline."""
    sheet: WriteOnlyWorksheet = book.create_sheet(LISTS_SHEET)
    sheet.sheet_state = "hidden"
    lists = [_CHOICES[kind] for kind in _LIST_KINDS]
    sheet.append([kind.value.title() for kind in _LIST_KINDS])
    for i in range(max((len(v) for v in lists), default=0)):
        sheet.append([v[i] if i < len(v) else None for v in lists])
    return sheet


def save_new(book: Workbook, path: Path) -> None:
    """Save to a temporary file beside ``path``, then move it into place without replacing anything: a
    crash leaves no half-written workbook, and a file that appeared meanwhile is never overwritten."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        book.save(temporary)
        try:
            os.link(temporary, path)  # atomic, and fails when the name is taken
        except FileExistsError:
            raise CporError(f"{path} already exists: choose another name or delete it") from None
        except OSError:  # a file system without hard links (FAT, some shares)
            if path.exists():
                raise CporError(f"{path} already exists: choose another name or delete it") from None
            os.replace(temporary, path)
    except OSError as err:
        raise CporError(f"cannot write {path} ({err.strerror}): check the folder is writable") from None
    finally:
        temporary.unlink(missing_ok=True)


def list_formula(kind: Kind) -> str:
    """The drop-down source of a column kind: an inline list, or a range on the Lists sheet."""
    choices = _CHOICES[kind]
    if kind in _LIST_KINDS:
        letter = get_column_letter(_LIST_KINDS.index(kind) + 1)
        return f"{quote_sheetname(LISTS_SHEET)}!${letter}$2:${letter}${len(choices) + 1}"
    return '"' + ",".join(choices) + '"'


def _drop_down(kind: Kind, cells: str) -> DataValidation:
    validation = DataValidation(
        type="list",
        formula1=list_formula(kind),
        allow_blank=True,
        showErrorMessage=True,
        errorStyle="warning",
        errorTitle="Not in the list",
        error=_ALERTS[kind],
    )
    validation.add(cells)
    return validation


def _width(column: Column) -> int:
    base = _WIDE_TEXT.get(column.name) or _WIDTHS.get(column.kind, _TEXT_WIDTH)
    return max(base, len(column.name) + 4)


__all__ = [
    "CURRENT_PROGRAM",
    "EXAMPLE_SOURCE_HEADER",
    "EXAMPLE_SOURCE_TEXT",
    "EXAMPLE_TAB_COLOUR",
    "LISTS_SHEET",
    "TEMPLATE_ROWS",
    "add_example_milestones",
    "add_example_rate_card",
    "add_lists",
    "add_settings",
    "add_sheet",
    "check_new_path",
    "create_template",
    "example_milestone_rows",
    "list_formula",
    "new_workbook",
    "save_new",
    "settings_rows",
]

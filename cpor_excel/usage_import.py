"""Merge a Partner Center usage export into the workbook's Usage sheet (`cpor-excel import-usage`).

The export is read as downloaded: CSV in UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode text") or
Windows-1252 (Excel's plain "CSV" on Western Windows), comma, semicolon, tab or pipe delimited, or an XLSX
workbook. Its header row is found among the first rows by the same folded names and aliases the Usage
sheet accepts, so columns may come in any order and extra columns are ignored.

Rows are upserted by (Tenant ID, canonical workload, month):
- an existing Usage row gets its Active Users and Paid Units cells set, and only the cells whose value changes;
- a new row is appended after the last used row in the sheet's own column order, its user columns left
  empty. Month is written as "YYYY-MM" text whatever kind of value the sheet's other rows hold: it is what
  the tool writes everywhere (docs/architecture.md; the patch writer writes any date as ISO text, never as
  a styled date serial), it sorts and filters in Excel like a date, and `check` reads it as the same month.
Existing rows are matched with the cell parsers `check` uses (rules/values.py): a row `check` cannot read
matches nothing, and `check` reports it.
Rows that cannot be imported are skipped and reported as findings on the export: ``sheet`` is the export's
file name, ``row`` its row as Excel shows the file (header row included), ``cell`` the export's cell.
Nothing else in the workbook is touched; a re-import of the same export changes nothing.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from cpor_excel.errors import CporError, WorkbookLocked
from cpor_excel.io.book import Book, CellValue
from cpor_excel.io.file_book import FileBook
from cpor_excel.io.frames import read_workbook_data
from cpor_excel.io.safe_save import ensure_writable, owner_file
from cpor_excel.model.catalogue import canonical_workload, fold, suggest_workload
from cpor_excel.model.columns import CUSTOMERS, USAGE
from cpor_excel.model.findings import Finding, Severity, column_letter
from cpor_excel.model.workbook import SheetTable
from cpor_excel.rules import values as cell_values

KEY = ("Tenant ID", "Workload", "Month")
COUNTS = ("Active Users", "Paid Units")
USAGE_COLUMNS = tuple(c.name for c in USAGE.columns)
CUSTOMER_COLUMNS = ("Customer Name", "Country")

HEADER_SCAN_ROWS = 10  # a title or filter line above the header is tolerated, within reason
DELIMITERS = (",", ";", "\t", "|")
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# Excel date serials from 1990 to 2100: a bare number outside that range is no month of usage data
SERIAL_RANGE = (32874, 73415)
EXCEL_EPOCH = dt.date(1899, 12, 30)
MONTH_NAMES = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
            ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
            ("october", "oct"), ("november", "nov"), ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}  # fmt: skip


class NotAUsageExport(CporError):
    """The report file cannot be read as a usage export (exit 3)."""


class UsageSheetUnusable(CporError):
    """The workbook's Usage or Customers sheet cannot take the import (exit 3)."""


def _header_names() -> dict[str, str]:
    """folded header text -> canonical column, from the sheet specs (no alias table of our own)."""
    names: dict[str, str] = {}
    for col in (*USAGE.columns, *(CUSTOMERS.column(c) for c in CUSTOMER_COLUMNS)):
        for alias in (col.name, *col.aliases):
            names.setdefault(fold(alias), col.name)
    return names


HEADER_NAMES = _header_names()


# ------------------------------------------------------------------------------------------- results


@dataclass
class UsageExport:
    """A usage export, read and checked.

    ``rows``: the importable rows, index = row number in the export; columns Tenant ID (lower-case GUID),
    Workload (canonical), Month ("YYYY-MM"), Active Users, Paid Units (int64), Customer Name, Country
    (str or None). ``skipped``: one finding per problem of a skipped row.
    """

    source: str
    rows: pd.DataFrame
    skipped: list[Finding]
    assumptions: list[str]
    read: int  # data rows in the export (blank rows not counted)
    duplicates: int = 0  # rows repeating an earlier row exactly (imported once)
    headers: dict[str, str] = field(default_factory=dict)  # canonical -> the export's own header text
    positions: dict[str, int] = field(default_factory=dict)  # canonical -> 0-based column in the export


@dataclass
class UsagePlan:
    """What an import changes in the workbook (pure data; nothing written yet)."""

    cells: dict[tuple[int, int], CellValue]  # Usage cells to set: (Excel row, 0-based column) -> value
    updated_rows: list[int]  # Usage rows whose cells change
    unchanged: int
    new_rows: pd.DataFrame  # export rows to append (canonical columns), index = export row
    new_customers: pd.DataFrame  # Tenant ID, Customer Name, Country
    skipped: list[Finding]
    notes: list[str]


@dataclass
class ImportResult:
    """The outcome of `import-usage`: what the summary table and `--json` show."""

    report: str
    workbook: str
    read: int
    updated: int
    added: int
    unchanged: int
    duplicates: int
    skipped: list[Finding]
    customers_added: list[str]
    assumptions: list[str]
    notes: list[str]
    updated_rows: list[int] = field(default_factory=list)  # Usage sheet rows changed in place
    added_rows: list[int] = field(default_factory=list)  # Usage sheet rows appended
    written: str | None = None  # where the workbook was saved; None when nothing changed in place

    @property
    def skipped_rows(self) -> int:
        return len({f.row for f in self.skipped})

    def skipped_by_code(self) -> dict[str, int]:
        """code -> number of skipped rows with that problem."""
        rows: dict[str, set[int | None]] = {}
        for f in self.skipped:
            rows.setdefault(f.code, set()).add(f.row)
        return {code: len(r) for code, r in sorted(rows.items())}

    @property
    def exit_code(self) -> int:
        """1 when rows were skipped for errors (like findings in `check`), else 0."""
        return 1 if any(f.severity is Severity.ERROR for f in self.skipped) else 0

    def counts(self) -> dict[str, int]:
        return {
            "read": self.read,
            "updated": self.updated,
            "added": self.added,
            "unchanged": self.unchanged,
            "duplicates": self.duplicates,
            "skipped": self.skipped_rows,
            "customers_added": len(self.customers_added),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": self.report,
            "workbook": self.workbook,
            "written": self.written,
            "counts": self.counts(),
            "skipped_by_code": self.skipped_by_code(),
            "skipped": [f.to_dict() for f in self.skipped],
            "customers_added": self.customers_added,
            "assumptions": self.assumptions,
            "notes": self.notes,
            "updated_rows": self.updated_rows,
            "added_rows": self.added_rows,
        }


# ------------------------------------------------------------------------------------ the export file


@dataclass
class _RawExport:
    header: list[Any]
    body: pd.DataFrame  # raw cells, columns 0..width-1, index = export row number
    header_row: int  # Excel row number of the header
    findings: list[Finding]
    assumptions: list[str]
    decimal_comma: bool = False


def read_export(path: Path | str) -> UsageExport:
    """Read a Partner Center usage export (CSV or XLSX) and check every row; bad rows become findings."""
    path = Path(path)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "was not found"
        raise NotAUsageExport(f"{path} {what}: give the path of the usage export file (CSV or XLSX).")
    try:
        with path.open("rb") as handle:
            magic = handle.read(8)
    except OSError as err:
        raise NotAUsageExport(f"{path} cannot be read ({err.strerror}): check its permissions.") from err
    if magic.startswith(b"PK\x03\x04"):
        raw = _read_xlsx(path)
    elif magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise NotAUsageExport(
            f"{path.name} is an old .xls or a password-protected workbook: open it in Excel and save it as "
            ".xlsx or CSV without a password, then import again."
        )
    else:
        raw = _read_text(path)
    return _check_rows(raw, path.name)


def _decode(data: bytes, name: str) -> tuple[str, str]:
    """The export's text and a description of the encoding that was used."""
    for bom, codec, label in (
        (codecs.BOM_UTF8, "utf-8", "UTF-8 with BOM"),
        (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 LE"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 BE"),
    ):
        if data.startswith(bom):
            return _strict_decode(data[len(bom) :], codec, name), label
    sample = data[:4096]
    if sample.count(0) > len(sample) // 4:  # ASCII text in UTF-16 without a BOM: every other byte is NUL
        even_nuls = sample[0::2].count(0)
        codec = "utf-16-be" if even_nuls > sample[1::2].count(0) else "utf-16-le"
        return _strict_decode(data, codec, name), f"{codec.upper()} without BOM (assumed)"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252 (not UTF-8; assumed, as Excel saves plain CSV)"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "Latin-1 (neither UTF-8 nor Windows-1252; assumed)"


def _strict_decode(data: bytes, codec: str, name: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as err:
        raise NotAUsageExport(
            f"{name} is not valid {codec.upper()} text ({err.reason} at byte {err.start}): download the export "
            "again, or save it from Excel as CSV UTF-8."
        ) from err


def _recognised(fields: Sequence[Any]) -> set[str]:
    return {HEADER_NAMES[k] for k in (fold(f) for f in fields if f is not None) if k in HEADER_NAMES}


def _no_header(name: str) -> NotAUsageExport:
    return NotAUsageExport(
        f"{name} has no header row naming CustomerTenantId, WorkloadName and Month (or Tenant ID, Workload, "
        f"Month) in its first {HEADER_SCAN_ROWS} rows: is it a Partner Center usage export?"
    )


def _read_text(path: Path) -> _RawExport:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise NotAUsageExport(f"{path} cannot be read ({err.strerror}): check its permissions.") from err
    text, encoding = _decode(data, path.name)
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise NotAUsageExport(f"{path.name} is empty: download the usage export again.")
    # the delimiter is the one that splits some early line into the most known column names
    lines = text[:65536].splitlines()[:HEADER_SCAN_ROWS]
    best: tuple[int, int, int, str, list[str]] | None = (
        None  # (-found, line, delimiter order, delimiter, header)
    )
    for order, delim in enumerate(DELIMITERS):
        for index, line in enumerate(lines):
            fields = next(csv.reader([line], delimiter=delim), [])
            found = _recognised(fields)
            if set(KEY) <= found and (best is None or (-len(found), index, order) < best[:3]):
                best = (-len(found), index, order, delim, fields)
    if best is None:
        raise _no_header(path.name)
    _, header_index, _, delim, header = best
    body, findings = _parse_delimited(text, delim, header_index, header, path.name)
    names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
    assumptions = [f"{path.name}: read as {encoding} text, {names[delim]}-separated."]
    decimal_comma = delim == ";"  # Excel writes ';'-separated CSV where ',' is the decimal comma
    return _RawExport(list(header), body, header_index + 1, findings, assumptions, decimal_comma)


def _parse_delimited(
    text: str, delim: str, header_index: int, header: list[str], name: str
) -> tuple[pd.DataFrame, list[Finding]]:
    """The data rows' cells (columns labelled by position), index = export row.

    Parsed from the header row on, so the header fixes the width and a row with more fields (an unquoted
    delimiter inside a value) makes pandas raise instead of reading it shifted; then the exact, slower csv
    module finds and reports those rows.
    """
    width = len(header)
    try:
        body = pd.read_csv(
            io.StringIO(text), sep=delim, header=None, skiprows=header_index, skip_blank_lines=False,
            dtype=str, keep_default_na=False, na_filter=False, engine="c",
        ).iloc[1:]  # fmt: skip
        findings: list[Finding] = []
    except pd.errors.ParserError:
        body, findings = _parse_ragged(text, delim, header_index, width, name)
    except (pd.errors.EmptyDataError, ValueError) as err:
        raise NotAUsageExport(f"{name} is not readable CSV ({err}): download the export again.") from err
    body.index = pd.RangeIndex(header_index + 2, header_index + 2 + len(body))
    return body.fillna(""), findings


def _parse_ragged(
    text: str, delim: str, header_index: int, width: int, name: str
) -> tuple[pd.DataFrame, list[Finding]]:
    try:
        records = list(csv.reader(io.StringIO(text), delimiter=delim))[header_index + 1 :]
    except csv.Error as err:
        raise NotAUsageExport(f"{name} is not readable CSV ({err}): download the export again.") from err
    findings: list[Finding] = []
    for number, record in enumerate(records, start=header_index + 2):
        if any(v.strip() for v in record[width:]):
            findings.append(
                Finding(
                    "bad-type",
                    name,
                    f"Row {number} has {len(record)} fields where the header has {width}: a value with an "
                    f"unquoted '{delim}'? Quote it, or download the export again.",
                    row=number,
                    cell=f"{column_letter(width)}{number}",
                )
            )
            record.clear()  # its cells are not read: they would be shifted
        del record[width:]
        record.extend([""] * (width - len(record)))
    return pd.DataFrame(records, columns=range(width), dtype=object), findings


def _read_xlsx(path: Path) -> _RawExport:
    """The first worksheet with a usage header, read through FileBook: the same package safety checks
    (zip bombs, DTDs, absurd cell ranges refused before calamine allocates them) as any workbook."""
    with FileBook(path) as book:
        for sheet in book.sheet_names():
            rows = book.read_rows(sheet)
            header_index = next(
                (i for i, r in enumerate(rows[:HEADER_SCAN_ROWS]) if set(KEY) <= _recognised(r)), None
            )
            if header_index is not None:
                break
        else:
            raise _no_header(path.name)
    header, data = list(rows[header_index]), rows[header_index + 1 :]
    width = max([len(header), *{len(r) for r in data}])
    if any(len(r) != width for r in (header, *data)):  # the reader may give ragged rows: pad them
        header += [None] * (width - len(header))
        data = [list(r) + [None] * (width - len(r)) for r in data]
    body = pd.DataFrame(data, columns=range(width), dtype=object)
    body.index = pd.RangeIndex(header_index + 2, header_index + 2 + len(body))
    assumptions = [f"{path.name}: read sheet {sheet!r} (header in row {header_index + 1})."]
    return _RawExport(header, body, header_index + 1, [], assumptions)


# ------------------------------------------------------------------------------------------- checking


def _distinct(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Codes and distinct values: text work is done once per distinct value (5,000 tenants, not 500,000
    rows), since pandas' string methods run Python code per element."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    return codes, pd.Series(uniques, dtype=object)


def _spread(per_value: pd.Series, codes: np.ndarray, index: pd.Index, missing: Any = None) -> pd.Series:
    """Per-distinct-value results back onto the rows (code -1, an empty cell, gets ``missing``)."""
    table = np.append(per_value.to_numpy(dtype=object), np.array([missing], dtype=object))
    return pd.Series(table[codes], index=index, dtype=object)


def _text(values: pd.Series) -> pd.Series:
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


def _iso_month(value: str) -> str | None:
    match = re.fullmatch(
        r"(\d{4})[-/.](\d{1,2})(?:[-/.](\d{1,2}))?(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*"
        r"(?:[AaPp][Mm])?(?:Z|[+-]\d{2}:?\d{2})?)?",
        value,
    )
    if not match:
        return None
    year, month, day = int(match[1]), int(match[2]), int(match[3] or 1)
    try:
        dt.date(year, month, day)
    except ValueError:
        return None
    return f"{year:04d}-{month:02d}"


def _date_month(value: object) -> str | None:
    """'YYYY-MM' of a real date, else None."""
    if isinstance(value, dt.date) and not pd.isna(value):
        return f"{value.year:04d}-{value.month:02d}"
    return None


def _serial_month(value: float) -> str | None:
    if value != int(value) or not SERIAL_RANGE[0] <= value <= SERIAL_RANGE[1]:
        return None
    return _date_month(EXCEL_EPOCH + dt.timedelta(days=int(value)))


_SLASH = re.compile(
    r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*[AaPp][Mm])?)?"
)
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_NAMED = re.compile(r"([A-Za-z]{3,9})\.?[ \-](\d{4})|(\d{4})[ \-]([A-Za-z]{3,9})")


def _slash_order(parts: Sequence[tuple[int, int, int]]) -> tuple[str | None, str]:
    """How this file writes a/b/yyyy: 'mdy' or 'dmy' (every value read that way), 'day1' (no value shows
    the order: month/day/year where the day is then 1, as Partner Center writes months), or None (the file
    shows both orders), and why."""
    us = any(b > 12 >= a for a, b, _ in parts)  # only month/day/year can read this one
    day_first = any(a > 12 >= b for a, b, _ in parts)
    if us and not day_first:
        return "mdy", "some days are above 12: the file is consistently month/day/year"
    if day_first and not us:
        return "dmy", "some days are above 12: the file is consistently day/month/year"
    if us and day_first:
        return None, ""
    if all(a == 1 for a, _, _ in parts) and not all(b == 1 for _, b, _ in parts):
        return "dmy", "every one is then the first of a month"
    return "day1", "the day is then 1, as in Partner Center's US format"


def _slash_month(a: int, b: int, year: int, order: str | None) -> int | None:
    """The month of a/b/year in a file of this order; None when it cannot be told (or is no date)."""
    if order == "mdy" or (order == "day1" and b == 1):
        month, day = a, b
    elif order == "dmy":
        month, day = b, a
    elif a == b:  # the same date either way
        month, day = a, b
    else:
        return None
    try:
        dt.date(year, month, day)
    except ValueError:
        return None
    return month


def parse_months(
    values: pd.Series, header: str
) -> tuple[pd.Series, dict[Hashable, tuple[str, str]], list[str]]:
    """Export months -> 'YYYY-MM' (None when unreadable), problems by raw value (code, message), assumptions.

    Accepted: real dates, Excel date serials, YYYY-MM, YYYY-MM-DD (optionally with a time), Mar 2025,
    dd.mm.yyyy (the dotted form is day-first wherever it is used), and
    a/b/yyyy (with an optional time) read as month/day/year when every such month is the 1st of the month
    under that reading or some day is above 12; day/month/year likewise; otherwise a/b/yyyy is ambiguous.
    Work is per distinct value, so a 500,000-row export costs a few hundred parses.
    """
    months: dict[Hashable, str] = {}
    problems: dict[Hashable, tuple[str, str]] = {}
    slashes: dict[Hashable, tuple[int, int, int]] = {}
    assumptions: list[str] = []
    serials = named = dots = False
    for value in values.dropna().unique():
        month: str | None = None
        if isinstance(value, bool):
            month = None
        elif isinstance(value, dt.date):
            month = _date_month(value)
        elif isinstance(value, int | float):
            month = _serial_month(float(value))
            serials = serials or month is not None
        elif isinstance(value, str):
            text = value.strip()
            if not text:
                continue
            slash = _SLASH.fullmatch(text)
            if slash:
                slashes[value] = (int(slash[1]), int(slash[2]), int(slash[3]))
                continue
            month = _iso_month(text)
            if month is None and (dotted := _DOTTED.fullmatch(text)):
                month = _iso_month(f"{dotted[3]}-{dotted[2]}-{dotted[1]}")
                dots = dots or month is not None
            if month is None and text.isdigit():
                month = _serial_month(float(text))
                serials = serials or month is not None
            if month is None and (name := _NAMED.fullmatch(text)):
                number = MONTH_NAMES.get((name[1] or name[4]).casefold())
                month = f"{int(name[2] or name[3]):04d}-{number:02d}" if number else None
                named = named or month is not None
        if month is None:
            problems[value] = (
                "bad-type",
                f"{header} {value!r} is not a month: write it as 2025-03, 2025-03-01 or a real date.",
            )
        else:
            months[value] = month
    if slashes:
        order, why = _slash_order(list(slashes.values()))
        read_as_order = []
        for value, (a, b, year) in slashes.items():
            month_no = _slash_month(a, b, year, order)
            if month_no is not None:
                months[value] = f"{year:04d}-{month_no:02d}"
                read_as_order.append(value)
            elif order is None:
                problems[value] = (
                    "ambiguous-date",
                    f"{header} {value!r}: the file has both month/day/year and day/month/year dates, so no "
                    "such date can be trusted: write months as 2025-03.",
                )
            elif a <= 12 and b <= 12:
                problems[value] = (
                    "ambiguous-date",
                    f"{header} {value!r} could be {dt.date(2000, a, 1):%B} or {dt.date(2000, b, 1):%B} (no "
                    "date in the file shows the order): write months as 2025-03.",
                )
            else:
                problems[value] = ("bad-type", f"{header} {value!r} is not a month: write it as 2025-03.")
        if order is not None and read_as_order:
            sample = read_as_order[0]
            reading = "day/month/year" if order == "dmy" else "month/day/year"
            assumptions.append(
                f"{header}: dates such as {sample} were read as {reading} ({sample} = {months[sample]}), "
                f"because {why}."
            )
    if serials:
        assumptions.append(f"{header}: numbers were read as Excel date serials (45717 = 2025-03).")
    if dots:
        assumptions.append(f"{header}: dates such as 01.03.2025 were read as day.month.year (= 2025-03).")
    if named:
        assumptions.append(f"{header}: month names were read as English (Mar 2025 = 2025-03).")
    return values.map(months), problems, assumptions


def parse_counts(values: pd.Series, decimal_comma: bool = False) -> tuple[pd.Series, pd.Series, bool]:
    """Counts -> (float values, NaN when unreadable; problem code per row or None; grouping separators seen).

    Spaces, no-break spaces and apostrophes group thousands anywhere; ',' groups thousands and '.' is the
    decimal point, except in a ';'-separated file, where Excel writes them the other way round (the other
    reading is tried when the file's own does not fit, e.g. 150.0 from a tool that writes floats).
    """
    codes, uniques = _distinct(values)
    text = uniques.astype("string").str.strip()
    blank = text == ""
    text = text.str.replace(r"[\s\u00a0\u202f'’]", "", regex=True)
    negative = text.str.startswith("-").astype(bool)
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
    numbers = numbers.where(~negative, -numbers)
    problem = np.full(len(uniques), None, dtype=object)
    problem[numbers.isna().to_numpy()] = "bad-type"
    problem[(numbers.notna() & ((numbers < 0) | (numbers % 1 != 0))).to_numpy()] = "bad-number"
    problem[blank.to_numpy(dtype=bool)] = "missing-value"
    grouped = bool((grouped1 & fits1 & ~blank).any())
    per_row = _spread(numbers, codes, values.index, float("nan")).astype(float)
    return per_row, _spread(pd.Series(problem, dtype=object), codes, values.index, "missing-value"), grouped


def _cell_finding(code: str, name: str, row: int, col: int, column: str, message: str) -> Finding:
    return Finding(code, name, message, row=row, column=column, cell=f"{column_letter(col)}{row}")


def _check_rows(raw: _RawExport, name: str) -> UsageExport:
    positions: dict[str, int] = {}
    for index, title in enumerate(raw.header):
        canonical = HEADER_NAMES.get(fold(title)) if title not in (None, "") else None
        if canonical and canonical not in positions:
            positions[canonical] = index
    missing = [c for c in USAGE_COLUMNS if c not in positions]
    if missing:
        accepted = "; ".join(f"{c} ({', '.join(USAGE.column(c).aliases) or c})" for c in missing)
        raise NotAUsageExport(f"{name} has no column for {accepted}: is it a Partner Center usage export?")
    headers = {c: str(raw.header[i]).strip() for c, i in positions.items()}
    body = raw.body
    cells = pd.DataFrame({c: body[i] for c, i in positions.items()}, index=body.index)
    texts = {c: _text(cells[c]) for c in cells.columns}
    blank_row = pd.concat([texts[c].isna() for c in USAGE_COLUMNS], axis=1).all(axis=1)
    ragged = {f.row for f in raw.findings}
    keep = ~blank_row & ~cells.index.isin(list(ragged))
    cells, texts = cells[keep], {c: t[keep] for c, t in texts.items()}
    findings: list[Finding] = list(raw.findings)
    assumptions = list(raw.assumptions)

    def report(mask: pd.Series, code: str, column: str, message: Any) -> None:
        for row in mask[mask].index:
            text = message(row) if callable(message) else message
            findings.append(_cell_finding(code, name, int(row), positions[column], column, text))

    for column in USAGE_COLUMNS:
        report(
            texts[column].isna(),
            "missing-value",
            column,
            f"{headers[column]} is empty: fill it in or remove the row.",
        )

    raw_tenant = texts["Tenant ID"]
    tenant = normalise_tenant(raw_tenant)
    report(
        tenant.isna() & raw_tenant.notna(),
        "bad-tenant-id",
        "Tenant ID",
        lambda r: f"{headers['Tenant ID']} {raw_tenant[r]!r} is not a GUID (8-4-4-4-12 hex digits): fix it.",
    )

    raw_workload = texts["Workload"]
    names = {w: canonical_workload(w) for w in raw_workload.dropna().unique()}
    workload = raw_workload.map(names)
    hints = {w: suggest_workload(w) for w, c in names.items() if c is None}
    report(
        workload.isna() & raw_workload.notna(),
        "unknown-workload",
        "Workload",
        lambda r: (
            f"{headers['Workload']} {raw_workload[r]!r} is not a known workload"
            + (
                f"; did you mean {hints[raw_workload[r]]!r}?"
                if hints[raw_workload[r]]
                else ": see the README list."
            )
        ),
    )

    raw_month = cells["Month"].where(texts["Month"].notna(), None)
    month, problems, month_notes = parse_months(raw_month, headers["Month"])
    assumptions += month_notes
    for code in ("bad-type", "ambiguous-date"):
        bad = {v for v, (c, _) in problems.items() if c == code}
        report(raw_month.isin(bad), code, "Month", lambda r: problems[raw_month[r]][1])

    counts: dict[str, pd.Series] = {}
    for column in COUNTS:
        numbers, problem, grouped = parse_counts(cells[column], raw.decimal_comma)
        counts[column] = numbers
        value = texts[column]
        report(
            problem == "bad-type",
            "bad-type",
            column,
            lambda r, c=column, v=value: f"{headers[c]} {v[r]!r} is not a number.",
        )
        report(
            problem == "bad-number",
            "bad-number",
            column,
            lambda r, c=column, v=value: f"{headers[c]} {v[r]!r} is not a whole number of 0 or more.",
        )
        if grouped:
            sep = "'.'" if raw.decimal_comma else "','"
            assumptions.append(f"{headers[column]}: {sep} was read as the thousands separator.")

    bad = {f.row for f in findings}
    good = ~cells.index.isin(list(bad))
    rows = pd.DataFrame(
        {
            "Tenant ID": tenant[good],
            "Workload": workload[good],
            "Month": month[good],
            "Active Users": counts["Active Users"][good].astype("int64"),
            "Paid Units": counts["Paid Units"][good].astype("int64"),
            "Customer Name": texts["Customer Name"][good] if "Customer Name" in texts else None,
            "Country": texts["Country"][good] if "Country" in texts else None,
        },
        index=cells.index[good],
    )
    rows, duplicates, dup_findings = _collapse_duplicates(rows, name, positions, headers)
    findings += dup_findings
    findings.sort(key=lambda f: (f.row or 0, positions.get(f.column or "", -1)))
    read = int((~blank_row).sum()) + len(ragged)
    return UsageExport(name, rows, findings, assumptions, read, duplicates, headers, positions)


def _collapse_duplicates(
    rows: pd.DataFrame, name: str, positions: dict[str, int], headers: dict[str, str]
) -> tuple[pd.DataFrame, int, list[Finding]]:
    """Exact repeats are imported once; rows that give different numbers for one key are all skipped,
    since nothing says which is right."""
    repeated = rows.duplicated(list(KEY), keep=False)
    if not repeated.any():
        return rows, 0, []
    group = rows[repeated]
    distinct = group.groupby(list(KEY), sort=False)[list(COUNTS)].transform("nunique").max(axis=1)
    conflicting = group[distinct > 1]
    findings = []
    if len(conflicting):
        others = conflicting.reset_index(names="_row").groupby(list(KEY), sort=False)["_row"].agg(list)
        for key, numbers in others.items():
            tenant, workload, month = cast("tuple[str, str, str]", key)
            listed = ", ".join(str(n) for n in sorted(numbers))
            message = (
                f"Rows {listed} give different usage for {tenant}, {workload}, {month}: keep the right one "
                "and import again."
            )
            findings += [
                _cell_finding("duplicate-key", name, int(r), positions["Tenant ID"], "Tenant ID", message)
                for r in numbers
            ]
    rest = rows.drop(index=conflicting.index)
    exact = rest.duplicated(list(KEY), keep="first")
    return rest[~exact], int(exact.sum()), findings


# ------------------------------------------------------------------------------------------- planning


def _sheet_keys(table: SheetTable) -> pd.DataFrame:
    """(Tenant ID, Workload, Month) of each Usage row, read exactly as `check` reads them; None where a
    cell is not valid (such a row matches nothing, and `check` reports it)."""
    frame = table.frame
    months = cell_values.parse_month(frame["Month"]).values
    return pd.DataFrame(
        {
            "Tenant ID": cell_values.parse_guid(frame["Tenant ID"]).values,
            "Workload": cell_values.parse_workload(frame["Workload"]).values,
            "Month": months.dt.strftime("%Y-%m").astype(object).where(months.notna(), None),
        },
        index=frame.index,
    )


def plan_import(
    export: UsageExport,
    usage: SheetTable | None,
    customers: SheetTable | None,
    add_customers: bool = False,
) -> UsagePlan:
    """Decide the upsert (pure): which Usage cells change, which rows and customers are added."""
    rows = export.rows
    notes: list[str] = []
    skipped: list[Finding] = []

    known: set[str] = set()
    if customers is not None and "Tenant ID" in customers.frame:
        known = set(cell_values.parse_guid(customers.frame["Tenant ID"]).values.dropna())
    unknown = ~rows["Tenant ID"].isin(known)
    new_customers = pd.DataFrame(columns=["Tenant ID", *CUSTOMER_COLUMNS])
    if unknown.any() and add_customers:
        latest = rows[unknown].sort_values("Month", kind="stable")
        new_customers = (
            latest.groupby("Tenant ID", sort=False)[list(CUSTOMER_COLUMNS)].last().reset_index()
        )  # the latest month's name and market: names change, the latest is current
        order = pd.Index(rows.loc[unknown, "Tenant ID"].unique())
        new_customers = new_customers.set_index("Tenant ID").loc[order].reset_index()
        new_customers = new_customers.astype(object).where(new_customers.notna(), None)
    elif unknown.any():
        header = export.headers.get("Tenant ID", "Tenant ID")
        col = export.positions.get("Tenant ID", 0)
        for row, tenant in zip(
            rows.index[unknown].tolist(), rows.loc[unknown, "Tenant ID"].tolist(), strict=True
        ):
            skipped.append(
                _cell_finding(
                    "unknown-tenant", export.source, int(row), col, "Tenant ID",
                    f"{header} {tenant} is not in the Customers sheet: add the customer there, or import "
                    "with --add-customers.",
                )
            )  # fmt: skip
        rows = rows[~unknown]

    if usage is None or usage.frame.empty:
        new_rows = rows
        return UsagePlan({}, [], 0, new_rows, new_customers, skipped, notes)

    keys = _sheet_keys(usage).dropna()
    repeated = keys.duplicated(list(KEY), keep="first")
    if repeated.any():
        notes.append(
            "Usage rows "
            + ", ".join(str(r) for r in keys.index[repeated][:10])
            + (" ..." if repeated.sum() > 10 else "")
            + " repeat an earlier row's tenant, workload and month: only the first was updated; remove the repeats."
        )
    lookup = keys[~repeated].reset_index(names="_sheet_row")
    merged = rows.reset_index(names="_export_row").merge(lookup, on=list(KEY), how="left")
    merged.index = pd.Index(merged.pop("_export_row"))
    matched = merged[merged["_sheet_row"].notna()]
    sheet_rows = matched["_sheet_row"].astype("int64")

    cells: dict[tuple[int, int], CellValue] = {}
    changed = pd.Series(False, index=matched.index)
    for column in COUNTS:
        old = pd.to_numeric(usage.frame[column].reindex(sheet_rows.to_numpy()), errors="coerce").to_numpy()
        new = matched[column].to_numpy()
        differs = pd.Series(~(old == new), index=matched.index)
        changed |= differs
        col = usage.positions[column]
        cells.update(
            zip(
                ((r, col) for r in sheet_rows[differs].tolist()),
                matched.loc[differs, column].tolist(),
                strict=True,
            )
        )
    updated_rows = sorted(sheet_rows[changed].tolist())
    new_rows = rows.loc[merged.index[merged["_sheet_row"].isna()]]
    return UsagePlan(cells, updated_rows, int((~changed).sum()), new_rows, new_customers, skipped, notes)


def rows_in_sheet_order(
    values: Mapping[str, Sequence[CellValue]], positions: Mapping[str, int], count: int
) -> list[list[CellValue]]:
    """Rows for `append_rows`: each value under its column's position; every other cell None."""
    width = max((positions[c] for c in values if c in positions), default=-1) + 1
    empty: list[CellValue] = [None] * count
    columns: list[Sequence[CellValue]] = [empty] * width
    for column, cells in values.items():
        if column in positions:
            columns[positions[column]] = cells
    return [list(r) for r in zip(*columns, strict=True)] if width else [[] for _ in range(count)]


# ------------------------------------------------------------------------------------------- applying


def _require_columns(table: SheetTable, columns: Sequence[str], workbook: str) -> None:
    missing = [c for c in columns if c not in table.positions]
    if missing:
        raise UsageSheetUnusable(
            f"The {table.name} sheet of {workbook} has no {', '.join(missing)} column in its header row: add "
            "the header, then import again."
        )


def merge_usage(
    book: Book, export: UsageExport, *, add_customers: bool = False, workbook: str = ""
) -> ImportResult:
    """Upsert a read export into any Book (a file, or the live workbook in Excel). Writes nothing else."""
    data = read_workbook_data(book, workbook)
    usage = data.sheets.get(USAGE.name)
    customers = data.sheets.get(CUSTOMERS.name)
    if usage is not None:
        _require_columns(usage, USAGE_COLUMNS, workbook)
    if customers is not None and add_customers:
        _require_columns(customers, ("Tenant ID",), workbook)
    plan = plan_import(export, usage, customers, add_customers)

    new_customers = plan.new_customers
    if len(new_customers):
        values = {c: new_customers[c].tolist() for c in new_customers.columns}
        if customers is None:
            header = [c.name for c in CUSTOMERS.columns]
            rows = rows_in_sheet_order(values, {c: i for i, c in enumerate(header)}, len(new_customers))
            book.append_to_sheet(CUSTOMERS.name, header, [r + [None] * (len(header) - len(r)) for r in rows])
        else:
            book.append_rows(
                customers.name, rows_in_sheet_order(values, customers.positions, len(new_customers))
            )
    if plan.cells and usage is not None:
        book.set_cells(usage.name, plan.cells)
    added_rows: list[int] = []
    new_rows = plan.new_rows
    if len(new_rows):
        values = {c: new_rows[c].tolist() for c in USAGE_COLUMNS}
        if usage is None:
            positions = {c: i for i, c in enumerate(USAGE_COLUMNS)}
            book.append_to_sheet(
                USAGE.name, USAGE_COLUMNS, rows_in_sheet_order(values, positions, len(new_rows))
            )
        else:
            rows = rows_in_sheet_order(values, usage.positions, len(new_rows))
            added_rows = list(book.append_rows(usage.name, rows))
    notes = list(plan.notes)
    if usage is None:
        notes.append(f"{workbook} had no Usage sheet: one was added with the imported rows.")
    if customers is None and len(new_customers):
        notes.append(f"{workbook} had no Customers sheet: one was added with the new customers.")
    if len(new_customers):
        notes.append(
            f"{len(new_customers)} customers were added with Tenant ID, Customer Name and Country only: fill in "
            "Domain and the contact columns before the next check."
        )
    return ImportResult(
        report=export.source,
        workbook=workbook,
        read=export.read,
        updated=len(plan.updated_rows),
        added=len(new_rows),
        unchanged=plan.unchanged,
        duplicates=export.duplicates,
        skipped=sorted([*export.skipped, *plan.skipped], key=lambda f: (f.row or 0, f.cell or "")),
        customers_added=[str(t) for t in new_customers["Tenant ID"].tolist()],
        assumptions=export.assumptions,
        notes=notes,
        updated_rows=plan.updated_rows,
        added_rows=added_rows,
    )


def import_usage(
    report: Path | str, book: Path | str, out: Path | str | None = None, add_customers: bool = False
) -> ImportResult:
    """`cpor-excel import-usage`: merge a usage export into BOOK, in place or into a new file ``out``.

    In place, nothing is written when nothing changes (the file keeps its bytes); a workbook open in Excel is
    refused before anything is read.
    """
    report, book = Path(report), Path(book)
    dest = None if out is None or Path(out).resolve() == book.resolve() else Path(out)
    if dest is None:
        if (owner := owner_file(book)) is not None:
            raise WorkbookLocked(
                f"{book.name} is open in Excel ({owner.name} exists): close it and import again, or import "
                "into a copy with --out."
            )
        ensure_writable(book)
    export = read_export(report)
    with FileBook(book) as workbook:
        result = merge_usage(workbook, export, add_customers=add_customers, workbook=book.name)
        if dest is not None or result.updated or result.added or result.customers_added:
            workbook.save(dest)
            result.written = str(dest or book)
    return result

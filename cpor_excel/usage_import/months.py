"""The export's Month column -> "YYYY-MM": dates, Excel serials, ISO text, month names and a/b/yyyy in
whichever order the file shows."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Hashable, Sequence

import pandas as pd

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

"""Cell values as the partner typed them -> typed values, a whole column at a time.

Each ``parse_*`` takes one raw column (object dtype: str, float, int, bool, date, datetime, time, None; index =
Excel row) and returns ``Parsed``: the typed column (NA where the cell is empty or failed) and one row per
failed cell (code, message). Empty cells are not failures here: whether a cell may be empty is the schema's
business (``missing-value``).

Speed: a column is factorised and each *distinct* value is converted once, then the results are spread back
with one take; counts and numbers take a numpy path when the column holds only numbers. So a 500,000-row
Usage sheet costs a few thousand conversions, not half a million.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from cpor_excel.model.cells import Uncalculated
from cpor_excel.model.columns import Kind
from cpor_excel.model.workbook import Numbered
from cpor_excel.rules import names
from cpor_excel.rules.cells import Issue, show, text_of

#: what a formula cell shows when its formula failed (Excel 365's dynamic-array and data-type errors included)
FORMULA_ERRORS = frozenset(
    {
        "#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NULL!", "#NUM!", "#SPILL!", "#CALC!",
        "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!",
    }
)  # fmt: skip

#: accepted spellings of yes and no (English, German, Dutch, French, Spanish, Excel's TRUE/FALSE, checkmarks)
YES = frozenset({"yes", "y", "true", "t", "1", "ja", "j", "wahr", "oui", "vrai", "si", "sí", "x", "✓", "✔"})
NO = frozenset({"no", "n", "false", "f", "0", "nein", "falsch", "nee", "non", "faux"})

DATE_FORMATS = "a real Excel date or text YYYY-MM-DD (YYYY-MM for a month)"
EARLIEST_YEAR, LATEST_YEAR = 1900, 2199  # Excel has no earlier dates; later ones are typos

_GUID = re.compile(r"\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?")
_ISO_DATE = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)
_ISO_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
# Text that is meant as a date but is not in an accepted format (03/04/2025, 4.3.25, 2025/03/04, 03-2025,
# 20250304, "4 March 2025", "Mar 2025") gets `ambiguous-date` with the accepted formats, not `bad-type`.
_DATE_LIKE = re.compile(r"\d{1,4}\s*[./\-]\s*\d{1,4}(?:\s*[./\-]\s*\d{1,4})?(?:[T\s].*)?|\d{8}")
_MONTH_WORD = re.compile(
    r"\b(?:jan|feb|mar|mär|mrt|apr|avr|abr|may|mai|mei|jun|juin|jul|juil|aug|ago|août|sep|oct|okt|nov|dec|"
    r"dez|déc|dic|ene)[a-zéûä]*\.?(?![a-zéûä])",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_DIGITS = re.compile(r"\d+")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# Plain ASCII addresses every validator accepts (most of them): checked by a regex, not by email-validator,
# which costs ~50 us an address. Anything else goes to email-validator; a test holds the two to agreement.
_PLAIN_EMAIL = re.compile(
    r"(?=.{6,254}$)(?=[^@]{1,64}@)[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_MAX_COUNT = 2**53  # above this a float no longer holds every whole number


@dataclass
class Parsed:
    """One parsed column: ``values`` (typed, same index as the raw column) and ``issues`` (index = Excel row
    of each cell with a problem; columns ``code`` and ``message``)."""

    values: pd.Series
    issues: pd.DataFrame
    #: how ``by_value`` numbered the column: the code of each cell's raw value (-1: empty) and the typed value
    #: of each code (the last: the empty cell's), for ``numbered`` (None: not parsed by value)
    raw_codes: np.ndarray | None = None
    slots: Any = None

    def numbered(self) -> Numbered | None:
        """One number per distinct typed value, per cell (-1 where empty), from the numbering the parse
        made anyway (a factorize of the typed values would hash every cell again). None: not parsed by value."""
        if self.raw_codes is None:
            return None
        slot_codes, distinct = pd.factorize(self.slots, use_na_sentinel=True)  # (distinct raw values: few)
        codes = np.asarray(slot_codes, dtype=np.int64)[self.raw_codes]  # (code -1: the last slot, empty: -1)
        return Numbered(codes, np.asarray(distinct))


# ------------------------------------------------------------------------------------------ messages


def _formula_error(value: Any) -> Issue | None:
    if isinstance(value, Uncalculated):
        return Issue(
            "uncalculated-formula",
            f"the formula {show(str(value))} in this cell has no saved result (the workbook was saved without "
            "calculating it): open it in Excel, let it calculate (F9), save it and run again.",
        )
    if isinstance(value, str) and value.strip().upper() in FORMULA_ERRORS:
        return Issue(
            "formula-error",
            f"the formula in this cell shows {value.strip().upper()}; fix the formula or type the value.",
        )
    return None


# ------------------------------------------------------------------------------------ column engines


_NO_ISSUES = pd.DataFrame(
    {"code": pd.Series(dtype=object), "message": pd.Series(dtype=object)}, index=pd.Index([], dtype="int64")
)


def _no_issues(index: pd.Index) -> pd.DataFrame:
    del index  # every empty result is the same (read-only by convention) frame: building one costs ~1 ms
    return _NO_ISSUES


_EPOCH_DAY = dt.date(1970, 1, 1).toordinal()


def _typed(results: list[Any], dtype: str) -> Any:
    """Per-distinct-value results as an array that can be indexed by factor codes."""
    if dtype == "object":
        return np.fromiter(results, dtype=object, count=len(results))  # (each result as it is, even a tuple)
    if dtype == "datetime64[ns]":  # days (``_date_value``), by their number: not a numpy scalar each
        days = np.fromiter((0 if v is None else v.toordinal() for v in results), np.int64, len(results))
        out = (days - _EPOCH_DAY).astype("datetime64[D]").astype("datetime64[ns]")
        out[days == 0] = np.datetime64("NaT")
        return out
    if dtype == "float64":
        return np.array([np.nan if v is None else float(v) for v in results], dtype=float)
    if dtype == "boolean":
        return pd.array(results, dtype="boolean")
    raise ValueError(f"no per-value conversion to {dtype}")


def by_value(raw: pd.Series, convert: Callable[[Any], Any], dtype: str = "object") -> Parsed:
    """Convert each distinct value of ``raw`` once. ``convert`` returns the typed value, None for an empty
    cell, or an ``Issue``. Formula errors are caught before ``convert`` sees them."""
    codes, uniques = pd.factorize(raw.to_numpy(dtype=object), use_na_sentinel=True)
    results: list[Any] = []
    issue_code = np.full(len(uniques) + 1, None, dtype=object)
    issue_text = np.full(len(uniques) + 1, None, dtype=object)
    for i, value in enumerate(uniques.tolist()):  # (a list is walked faster than an array of objects)
        # every formula error starts with "#": the full check only for values holding one (or no value yet)
        odd = isinstance(value, Uncalculated) or (isinstance(value, str) and "#" in value)
        result = (odd and _formula_error(value)) or convert(value)
        if isinstance(result, Issue):
            issue_code[i], issue_text[i] = result.code, result.message
            result = result.value
        results.append(result)
    results.append(None)  # factor code -1 (an empty cell) takes the last slot
    slots = _typed(results, dtype)
    values = pd.Series(slots[codes], index=raw.index, dtype=dtype)
    bad = np.flatnonzero(pd.notna(issue_code[:-1]))
    if len(bad) == 0:
        return Parsed(values, _no_issues(raw.index), codes, slots)
    hit = np.isin(codes, bad)
    issues = pd.DataFrame(
        {"code": issue_code[codes[hit]], "message": issue_text[codes[hit]]},
        index=raw.index[hit],
        dtype=object,
    )
    return Parsed(values, issues, codes, slots)


_NUMERIC_KINDS = frozenset({"floating", "integer", "mixed-integer-float", "empty"})
_NUMBER_TYPES = (int, float, np.int64, np.int32, np.float64, np.float32)


def numbers_only(array: np.ndarray) -> bool:
    """True when an object column holds only numbers (and empty cells): a count, number or percentage
    column is then parsed cell by cell (``_numbers``' fast path), not value by value."""
    return pd.api.types.infer_dtype(array, skipna=True) in _NUMERIC_KINDS


def _as_floats(array: np.ndarray) -> np.ndarray:
    """A column of numbers and empty cells (``numbers_only``) as float, NaN where empty: numpy's cast,
    several times cheaper than ``pd.to_numeric`` and the same numbers."""
    try:
        return array.astype(float)  # (None is NaN to numpy's cast)
    except (TypeError, ValueError, OverflowError):  # (pd.NA, or a number beyond numpy's reach)
        return pd.to_numeric(pd.Series(array), errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _numbers(raw: pd.Series, text: Callable[[Any], Any]) -> tuple[np.ndarray, pd.Series, pd.DataFrame]:
    """Numbers of a column as float (NaN = empty or failed), a mask of the cells that were real numbers,
    and the issues of the cells that were not. ``text`` converts any other value (text, dates, booleans)."""
    array = raw.to_numpy(dtype=object)
    if numbers_only(array):
        numbers = _as_floats(array)
        is_number, issues = np.isfinite(numbers), _no_issues(raw.index)
    else:
        # Slow path (a column with text in it): only the cells that are not numbers go through ``text``.
        # type(), not isinstance: True is an int to Python but not a count to anyone else.
        is_number = raw.map(type).isin(_NUMBER_TYPES).to_numpy()
        numbers = np.full(len(raw), np.nan)
        numbers[is_number] = array[is_number].astype(float)
        others = ~is_number & raw.notna().to_numpy()
        parsed = by_value(raw[others], text, "float64")
        numbers[others] = parsed.values.to_numpy()
        is_number, issues = is_number & np.isfinite(numbers), parsed.issues
    infinite = np.isinf(numbers)  # "1e999" typed, or a stored value beyond any float: no number holds it
    if infinite.any():
        messages = [f"{show(v)} is too large for a number; check the cell." for v in array[infinite]]
        issues = _merge_issues(issues, _issues_at(raw.index[infinite], "bad-number", messages))
        numbers = np.where(infinite, np.nan, numbers)
    return numbers, pd.Series(is_number, index=raw.index), issues


def number_of_text(value: Any) -> float | None:
    """Text holding a plain number ("12", " 1,234 ", "2.5e3"); None otherwise."""
    text = value.strip() if isinstance(value, str) else ""
    if _NUMBER.fullmatch(text):
        return float(text.replace(",", ""))
    return None


def _not_a_number(value: Any, what: str) -> Issue:
    if isinstance(value, (dt.date, dt.time)):
        return Issue("bad-type", f"{show(value)} is a date or time, not {what}; type the number.")
    return Issue("bad-type", f"{show(value)} is not {what}; type the number.")


def _merge_issues(first: pd.DataFrame, *more: pd.DataFrame) -> pd.DataFrame:
    kept = [f for f in (first, *more) if len(f)]
    if not kept:
        return first
    return pd.concat(kept).sort_index() if len(kept) > 1 else kept[0]


def _issues_at(index: pd.Index, code: str, messages: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "code": pd.Series(code, index=index, dtype=object),
            "message": pd.Series(messages, index=index, dtype=object),
        }
    )


# ------------------------------------------------------------------------------------- cell converters


def guid_of(value: Any) -> str | None:
    """'{0F8FAD5B-D9CB-...}' -> '0f8fad5b-d9cb-...'; None when the value is not a GUID."""
    if not isinstance(value, str):
        return None
    match = _GUID.fullmatch(value.strip())
    if match is None or (value.strip().startswith("{") != value.strip().endswith("}")):
        return None
    return match.group(1).lower()


#: the characters a GUID is written with
GUID_CHARACTERS = "0123456789abcdefABCDEF-"
#: a GUID from its first hyphen on (a pattern starting with a character is searched for many times faster)
_GUID_TAIL = re.compile(rb"-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_GUID_HEAD = re.compile(rb"[0-9a-fA-F]{8}")


def guids_in(data: bytes) -> set[str]:
    """Every GUID written in ``data`` (lower-case, as ``guid_of`` gives it): the tenant ID of every text in
    it that is one (and look-alikes in longer runs of hex digits)."""
    found = set()
    for tail in _GUID_TAIL.finditer(data):
        at = tail.start()
        if at >= 8 and _GUID_HEAD.fullmatch(data, at - 8, at):
            found.add(data[at - 8 : tail.end()].decode("ascii").lower())
    return found


def _guid(value: Any) -> Any:
    text = text_of(value)
    if text is None:
        return None
    found = guid_of(text)
    if found is None:
        return Issue(
            "bad-tenant-id",
            f"{show(text)} is not a tenant ID; a tenant ID is a GUID such as "
            "0f8fad5b-d9cb-469f-a165-70867728950e (Partner Center shows it as the Microsoft ID or Directory ID).",
        )
    return found


def plain_email(text: str) -> bool:
    """A plain ASCII address on a public domain: valid without asking email-validator."""
    if not _PLAIN_EMAIL.fullmatch(text):
        return False
    domain = text.rsplit("@", 1)[1].lower()
    return not any(domain == name or domain.endswith("." + name) for name in SPECIAL_USE_DOMAIN_NAMES)


def _email(value: Any) -> Any:
    text = text_of(value)
    if text is None:
        return None
    if plain_email(text):
        return text
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError as err:
        reason = str(err).rstrip(".")
        reason = reason[:1].lower() + reason[1:]
        return Issue("bad-email", f"{show(text)} is not a valid email address: {reason}; type one address.")
    return text


def domain_of(value: Any) -> str | None:
    """'Contoso.COM.' -> 'contoso.com'; None when the text is not a domain name (IDN allowed)."""
    if not isinstance(value, str):
        return None
    text = value.strip().rstrip(".").lower()
    try:  # (ASCII text as the idna codec gives it back: its labels are checked below either way)
        ascii_text = text if text.isascii() else text.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = ascii_text.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        return None
    if labels[-1].isdigit() or len(labels[-1]) < 2:
        return None
    return text


def _domain(value: Any) -> Any:
    text = text_of(value)
    if text is None:
        return None
    found = domain_of(text)
    if found is None:
        return Issue(
            "bad-domain",
            f"{show(text)} is not a domain name; write only the domain, such as contoso.com "
            "or contoso.onmicrosoft.com (no http://, @ or path).",
        )
    return found


def partner_id_of(value: Any) -> str | None:
    """1234567.0 or '0012345' -> the digits as text; None when the value is not all digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and value.is_integer() and value >= 0:
        return str(int(value))
    if isinstance(value, (int, np.integer)) and value >= 0:
        return str(int(value))
    text = text_of(value) if isinstance(value, str) else None
    return text if text is not None and _DIGITS.fullmatch(text) else None


def _partner_id(value: Any) -> Any:
    if text_of(value) is None:
        return None
    found = partner_id_of(value)
    if found is not None:
        return found
    return Issue(
        "bad-partner-id",
        f"{show(value)} is not a Partner ID; a Partner ID (MPN ID) is digits only, such as 1234567.",
    )


_THREE_NUMBERS = re.compile(r"(\d{1,4})\s*[./\-]\s*(\d{1,2})\s*[./\-]\s*(\d{1,4})")


def _readings(text: str) -> list[str]:
    """The calendar dates a text date such as 03/04/2025 can mean (day first, month first, year first), as
    YYYY-MM-DD; fewer than two when it can only mean one day or is not three numbers."""
    match = _THREE_NUMBERS.match(text)
    if match is None:
        return []
    a, b, c = (int(x) for x in match.groups())
    # (year, month, day): year first as Y-M-D or Y-D-M, else day first (D.M.Y) or month first (M/D/Y)
    orders = [(a, b, c), (a, c, b)] if len(match.group(1)) == 4 else [(c, b, a), (c, a, b)]
    found: list[str] = []
    for year, month, day in orders:
        if year < 100:
            year += 2000
        try:
            iso = dt.date(year, month, day).isoformat()
        except ValueError:
            continue
        if iso not in found:
            found.append(iso)
    return found


def _date_value(value: Any, month: bool) -> Any:
    """A date cell -> its day (a ``dt.date``; the first of the month when ``month``), None, or an Issue."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        match = _ISO_DATE.fullmatch(text)
        parts: tuple[int, int, int] | None = None
        if match:
            parts = (int(match.group(1)), int(match.group(2)), int(match.group(3)))
        elif month and (match := _ISO_MONTH.fullmatch(text)):
            parts = (int(match.group(1)), int(match.group(2)), 1)
        elif _DATE_LIKE.fullmatch(text) or (_MONTH_WORD.search(text) and any(c.isdigit() for c in text)):
            readings = _readings(text)
            how = (
                f"text that could be read more than one way ({' or '.join(readings)})"
                if len(readings) > 1
                else "a date typed as text"
            )
            return Issue("ambiguous-date", f"{show(text)} is {how}; enter {DATE_FORMATS}.")
        else:
            return Issue("bad-type", f"{show(text)} is not a date; enter {DATE_FORMATS}.")
        try:
            day = dt.date(*parts)
        except ValueError:
            return Issue("bad-type", f"{show(text)} is not a calendar date; enter {DATE_FORMATS}.")
    elif isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    elif isinstance(value, (bool, int, float, np.integer, np.floating)):
        return Issue(
            "bad-type",
            f"{show(value)} is a number, not a date; format the cell as a date, or type the date as YYYY-MM-DD.",
        )
    elif isinstance(value, (dt.time, dt.timedelta)):
        return Issue("bad-type", f"{show(value)} is a time, not a date; enter {DATE_FORMATS}.")
    else:
        return Issue("bad-type", f"{show(value)} is not a date; enter {DATE_FORMATS}.")
    if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        return Issue("bad-type", f"{day.isoformat()} is not a plausible date; check the year.")
    return day.replace(day=1) if month else day


def _yesno(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    key = text_of(value)
    if key is None:
        return None
    if key.casefold() in YES:
        return True
    if key.casefold() in NO:
        return False
    return Issue("bad-type", f"{show(value)} is not yes or no; write yes or no.")


# ----------------------------------------------------------------------------------------- columns


def parse_text(raw: pd.Series) -> Parsed:
    return by_value(raw, text_of)


def parse_guid(raw: pd.Series) -> Parsed:
    return by_value(raw, _guid)


def parse_email(raw: pd.Series) -> Parsed:
    return by_value(raw, _email)


def parse_domain(raw: pd.Series) -> Parsed:
    return by_value(raw, _domain)


def parse_partner_id(raw: pd.Series) -> Parsed:
    return by_value(raw, _partner_id)


def parse_date(raw: pd.Series) -> Parsed:
    return by_value(raw, lambda v: _date_value(v, month=False), "datetime64[ns]")


def parse_month(raw: pd.Series) -> Parsed:
    return by_value(raw, lambda v: _date_value(v, month=True), "datetime64[ns]")


def parse_yesno(raw: pd.Series) -> Parsed:
    return by_value(raw, _yesno, "boolean")


def parse_workload(raw: pd.Series, any_allowed: bool = False) -> Parsed:
    return by_value(raw, names.workload(any_allowed))


def parse_status(raw: pd.Series) -> Parsed:
    return by_value(raw, names.status)


def parse_language(raw: pd.Series) -> Parsed:
    return by_value(raw, names.language)


def parse_number(raw: pd.Series) -> Parsed:
    def text(value: Any) -> Any:
        if isinstance(value, str) and (found := number_of_text(value)) is not None:
            return found
        return None if text_of(value) is None else _not_a_number(value, "a number")

    numbers, _, issues = _numbers(raw, text)
    return Parsed(pd.Series(numbers, index=raw.index, dtype=float), issues)


def parse_count(raw: pd.Series) -> Parsed:
    """Whole numbers (whole floats such as xlwings gives are fine). Fractions are `bad-number`; negative
    counts are left for the schema's `bad-number` check."""

    def text(value: Any) -> Any:
        if isinstance(value, str) and (found := number_of_text(value)) is not None:
            return found
        return None if text_of(value) is None else _not_a_number(value, "a whole number")

    numbers, _, issues = _numbers(raw, text)
    finite = np.isfinite(numbers)
    broken = finite & ((numbers != np.floor(numbers)) | (np.abs(numbers) >= _MAX_COUNT))
    if broken.any():
        where = raw.index[broken]
        messages = [
            f"{show(v)} is too large for a count; check the cell."
            if abs(v) >= _MAX_COUNT
            else f"{show(v)} is not a whole number; counts are whole numbers of users or licences."
            for v in numbers[broken]
        ]
        issues = _merge_issues(issues, _issues_at(where, "bad-number", messages))
        numbers = np.where(broken, np.nan, numbers)
    return Parsed(pd.Series(numbers, index=raw.index).astype("Int64"), issues)


def parse_percent(raw: pd.Series) -> Parsed:
    """Fractions: 0.45, 45 (a number > 1 is a percent), '45%', '0.45', '45 %'. Negative values are left for
    the schema's `bad-number` check."""

    def text(value: Any) -> Any:
        if isinstance(value, str):
            stripped = value.strip()
            percent = stripped.endswith("%")
            body = stripped.rstrip("%").strip()
            if "," in body and "." not in body:  # 45,5% written with a decimal comma
                body = body.replace(",", ".")
            found = number_of_text(body)
            if found is not None:
                return found / 100 if percent or found > 1 else found
        return None if text_of(value) is None else _not_a_number(value, "a percentage")

    numbers, is_number, issues = _numbers(raw, text)
    scale = is_number.to_numpy() & (numbers > 1)
    numbers = np.where(scale, numbers / 100, numbers)
    return Parsed(pd.Series(numbers, index=raw.index, dtype=float), issues)


_BY_KIND: dict[Kind, Callable[[pd.Series], Parsed]] = {
    Kind.TEXT: parse_text,
    Kind.GUID: parse_guid,
    Kind.EMAIL: parse_email,
    Kind.DOMAIN: parse_domain,
    Kind.DIGITS: parse_partner_id,
    Kind.DATE: parse_date,
    Kind.MONTH: parse_month,
    Kind.COUNT: parse_count,
    Kind.NUMBER: parse_number,
    Kind.PERCENT: parse_percent,
    Kind.YESNO: parse_yesno,
    Kind.WORKLOAD: parse_workload,
    Kind.STATUS: parse_status,
    Kind.LANGUAGE: parse_language,
    Kind.ROLE: lambda raw: by_value(raw, names.role),
    Kind.REASON: lambda raw: by_value(raw, names.reason),
}

#: the dtype each kind parses to (what Prepared's frames hold)
DTYPES: dict[Kind, str] = {
    Kind.DATE: "datetime64[ns]",
    Kind.MONTH: "datetime64[ns]",
    Kind.COUNT: "Int64",
    Kind.NUMBER: "float64",
    Kind.PERCENT: "float64",
    Kind.YESNO: "boolean",
}


def parse(raw: pd.Series, kind: Kind) -> Parsed:
    """Parse one raw column as ``kind``."""
    return _BY_KIND[kind](raw)


def empty_column(kind: Kind, index: pd.Index) -> pd.Series:
    """An all-empty column of the dtype ``kind`` parses to (for a column the sheet does not have)."""
    dtype = DTYPES.get(kind, "object")
    empty = {"object": None, "float64": np.nan, "datetime64[ns]": pd.NaT}.get(dtype, pd.NA)
    return pd.Series(empty, index=index, dtype=dtype)

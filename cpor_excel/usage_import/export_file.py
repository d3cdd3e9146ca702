"""A Partner Center download as it comes -> its header and raw cells: XLSX or CSV in any encoding and
delimiter Excel or Partner Center writes, the header row found among the first rows by what the caller
looks for (``Expected``). Shared by `import-usage` and `import-earnings`."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cpor_excel.errors import CporError
from cpor_excel.io.file_book import FileBook
from cpor_excel.model.findings import Finding
from cpor_excel.model.headers import HEADER_SCAN_ROWS, column_letter

DELIMITERS = (",", ";", "\t", "|")


class NotAReport(CporError):
    """The file cannot be read as the Partner Center download asked for (exit 3)."""


class NotAUsageExport(NotAReport):
    """The report file cannot be read as a usage export (exit 3)."""


@dataclass(frozen=True)
class Expected:
    """What a reader looks for in a download.

    ``score(row)``: None when the row is not a header the caller reads, else how many columns it recognises
    (the best-scoring row among the first rows, and delimiter, wins). ``looked_for``: the columns named in
    the one `Error:` line when no row is such a header. ``what``: the download's name in messages.
    """

    score: Callable[[Sequence[Any]], int | None]
    looked_for: str
    what: str
    error: type[NotAReport] = NotAReport


@dataclass
class RawExport:
    header: list[Any]
    body: pd.DataFrame  # raw cells, columns 0..width-1, index = export row number
    header_row: int  # Excel row number of the header
    findings: list[Finding]
    assumptions: list[str]
    decimal_comma: bool = False


def read_raw(path: Path | str, expected: Expected) -> RawExport:
    """The header and raw cells of a download (CSV or XLSX); rows are not checked here."""
    path = Path(path)
    error = expected.error
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "was not found"
        raise error(f"{path} {what}: give the path of the {expected.what} file (CSV or XLSX).")
    try:
        with path.open("rb") as handle:
            magic = handle.read(8)
    except OSError as err:
        raise error(f"{path} cannot be read ({err.strerror}): check its permissions.") from err
    if magic.startswith(b"PK\x03\x04"):
        return _read_xlsx(path, expected)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise error(
            f"{path.name} is an old .xls or a password-protected workbook: open it in Excel and save it as "
            ".xlsx or CSV without a password, then import again."
        )
    return _read_text(path, expected)


def _decode(data: bytes, name: str, expected: Expected) -> tuple[str, str]:
    """The export's text and a description of the encoding that was used."""
    for bom, codec, label in (
        (codecs.BOM_UTF8, "utf-8", "UTF-8 with BOM"),
        (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 LE"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 BE"),
    ):
        if data.startswith(bom):
            return _strict_decode(data[len(bom) :], codec, name, expected), label
    sample = data[:4096]
    if sample.count(0) > len(sample) // 4:  # ASCII text in UTF-16 without a BOM: every other byte is NUL
        even_nuls = sample[0::2].count(0)
        codec = "utf-16-be" if even_nuls > sample[1::2].count(0) else "utf-16-le"
        return _strict_decode(data, codec, name, expected), f"{codec.upper()} without BOM (assumed)"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252 (not UTF-8; assumed, as Excel saves plain CSV)"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "Latin-1 (neither UTF-8 nor Windows-1252; assumed)"


def _strict_decode(data: bytes, codec: str, name: str, expected: Expected) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as err:
        raise expected.error(
            f"{name} is not valid {codec.upper()} text ({err.reason} at byte {err.start}): download the "
            f"{expected.what} again, or save it from Excel as CSV UTF-8."
        ) from err


def _no_header(name: str, expected: Expected) -> NotAReport:
    return expected.error(
        f"{name} is not a {expected.what}: none of its first {HEADER_SCAN_ROWS} rows is a header naming "
        f"{expected.looked_for}."
    )


def _read_text(path: Path, expected: Expected) -> RawExport:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise expected.error(f"{path} cannot be read ({err.strerror}): check its permissions.") from err
    text, encoding = _decode(data, path.name, expected)
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise expected.error(f"{path.name} is empty: download the {expected.what} again.")
    # the delimiter is the one that splits some early line into the most known column names
    lines = text[:65536].splitlines()[:HEADER_SCAN_ROWS]
    best: tuple[int, int, int, str, list[str]] | None = (
        None  # (-found, line, delimiter order, delimiter, header)
    )
    for order, delim in enumerate(DELIMITERS):
        for index, line in enumerate(lines):
            fields = next(csv.reader([line], delimiter=delim), [])
            found = expected.score(fields)
            if found is not None and (best is None or (-found, index, order) < best[:3]):
                best = (-found, index, order, delim, fields)
    if best is None:
        raise _no_header(path.name, expected)
    _, header_index, _, delim, header = best
    body, findings = _parse_delimited(text, delim, header_index, header, path.name, expected)
    names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
    assumptions = [f"{path.name}: read as {encoding} text, {names[delim]}-separated."]
    decimal_comma = delim == ";"  # Excel writes ';'-separated CSV where ',' is the decimal comma
    return RawExport(list(header), body, header_index + 1, findings, assumptions, decimal_comma)


def _parse_delimited(
    text: str, delim: str, header_index: int, header: list[str], name: str, expected: Expected
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
        body, findings = _parse_ragged(text, delim, header_index, width, name, expected)
    except (pd.errors.EmptyDataError, ValueError) as err:
        raise expected.error(
            f"{name} is not readable CSV ({err}): download the {expected.what} again."
        ) from err
    body.index = pd.RangeIndex(header_index + 2, header_index + 2 + len(body))
    return body.fillna(""), findings


def _parse_ragged(
    text: str, delim: str, header_index: int, width: int, name: str, expected: Expected
) -> tuple[pd.DataFrame, list[Finding]]:
    try:
        records = list(csv.reader(io.StringIO(text), delimiter=delim))[header_index + 1 :]
    except csv.Error as err:
        raise expected.error(
            f"{name} is not readable CSV ({err}): download the {expected.what} again."
        ) from err
    findings: list[Finding] = []
    for number, record in enumerate(records, start=header_index + 2):
        if any(v.strip() for v in record[width:]):
            findings.append(
                Finding(
                    "bad-type",
                    name,
                    f"Row {number} has {len(record)} fields where the header has {width}: a value with an "
                    f"unquoted '{delim}'? Quote it, or download the {expected.what} again.",
                    row=number,
                    cell=f"{column_letter(width)}{number}",
                )
            )
            record.clear()  # its cells are not read: they would be shifted
        del record[width:]
        record.extend([""] * (width - len(record)))
    return pd.DataFrame(records, columns=range(width), dtype=object), findings


def _read_xlsx(path: Path, expected: Expected) -> RawExport:
    """The first worksheet with the expected header, read through FileBook: the same package safety checks
    (zip bombs, DTDs, absurd cell ranges refused before calamine allocates them) as any workbook."""
    with FileBook(path) as book:
        for sheet in book.sheet_names():
            rows = book.read_rows(sheet)
            scores = [expected.score(r) for r in rows[:HEADER_SCAN_ROWS]]
            found = [(-s, i) for i, s in enumerate(scores) if s is not None]
            if found:
                header_index = min(found)[1]
                break
        else:
            raise _no_header(path.name, expected)
    header, data = list(rows[header_index]), rows[header_index + 1 :]
    width = max([len(header), *{len(r) for r in data}])
    if any(len(r) != width for r in (header, *data)):  # the reader may give ragged rows: pad them
        header += [None] * (width - len(header))
        data = [list(r) + [None] * (width - len(r)) for r in data]
    body = pd.DataFrame(data, columns=range(width), dtype=object)
    body.index = pd.RangeIndex(header_index + 2, header_index + 2 + len(body))
    assumptions = [f"{path.name}: read sheet {sheet!r} (header in row {header_index + 1})."]
    return RawExport(header, body, header_index + 1, [], assumptions)

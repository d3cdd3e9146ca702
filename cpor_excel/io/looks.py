"""How the tool's cells look, for every writer (the xlsx patch writer and the Excel button): fills, fonts,
number formats. One place, so a file run and the button colour a result alike.

Results and severities are coloured so that ERROR and CONFLICT stand out at a glance: strong fills with
white bold text; WARNING amber; OK and INFO quiet.
"""

from __future__ import annotations

from dataclasses import dataclass

from cpor_excel.model.headers import fold_header


@dataclass(frozen=True)
class Look:
    """A cell format: a solid fill, a font colour, bold, a font size, a number format, wrapped text."""

    fill: str | None = None  # RRGGBB
    font: str | None = None  # RRGGBB
    bold: bool = False
    size: float | None = None  # points; None: the workbook's default size
    number_format: str | None = None  # Excel format code
    wrap: bool = False  # wrapped, at the top of the cell


#: Check Result values
RESULT_LOOKS = {
    "OK": Look(fill="C6EFCE", font="006100"),
    "WARNING": Look(fill="FFC000", font="000000", bold=True),
    "ERROR": Look(fill="C00000", font="FFFFFF", bold=True),
    "CONFLICT": Look(fill="7030A0", font="FFFFFF", bold=True),
}
#: the CPOR Report's Severity values
SEVERITY_LOOKS = {
    "ERROR": RESULT_LOOKS["ERROR"],
    "WARNING": RESULT_LOOKS["WARNING"],
    "INFO": Look(fill="DDEBF7", font="1F4E78"),
}
#: value looks per tool column (by folded header: ``model/headers.fold_header``)
VALUE_LOOKS = {fold_header("Check Result"): RESULT_LOOKS, fold_header("Severity"): SEVERITY_LOOKS}
#: the header row of a sheet the tool creates (and of its tables)
HEADER_LOOK = Look(fill="1F4E78", font="FFFFFF", bold=True)
#: text longer than this many characters is wrapped in a column this wide
WRAP_AT = 60
WRAPPED = Look(wrap=True)
#: number formats by the name a writer is given (``Book.replace_sheet(formats=...)``)
NUMBER_FORMATS = {"percent": "0.0%", "amount": "#,##0.00", "count": "#,##0"}
#: the Dashboard's format roles (``io/dashboard.py``)
DASHBOARD_LOOKS = {
    "title": Look(bold=True, size=16, font="1F4E78"),
    "subtitle": Look(font="595959"),
    "heading": Look(bold=True, size=12, font="1F4E78"),
    "header": HEADER_LOOK,
    "count": Look(number_format=NUMBER_FORMATS["count"]),
    "amount": Look(number_format=NUMBER_FORMATS["amount"]),
    "percent": Look(number_format=NUMBER_FORMATS["percent"]),
    "note": Look(font="595959"),
}


def rgb(colour: str) -> tuple[int, int, int]:
    """``RRGGBB`` as an (r, g, b) tuple (what xlwings takes)."""
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)

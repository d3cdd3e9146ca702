"""Which sheet of a workbook is which: the sheets the tool reads, found by name or alias.

Kept free of pandas and numpy, so a run can start reading a workbook (``FileBook.read_ahead``) before it
pays for importing them (``workbook_run.py``).
"""

from __future__ import annotations

from collections.abc import Iterable

from cpor_excel.model.columns import DATA_SHEETS, DRAFTS_SHEET, LEDGER_SHEET, TOOL_SHEETS, Column, SheetSpec
from cpor_excel.model.headers import fold_header

#: the tool's own sheets that are read back: the ledger (append-only) and the drafts (never repeated)
TOOL_SPECS: tuple[SheetSpec, ...] = tuple(
    SheetSpec(
        name,
        tuple(Column(h, required=False, nullable=True) for h in TOOL_SHEETS[name]),
        required=False,
        tool_columns=(),
    )
    for name in (LEDGER_SHEET, DRAFTS_SHEET)
)

#: every sheet the tool reads, in the order its findings are reported
READ_SPECS: tuple[SheetSpec, ...] = (*DATA_SHEETS, *TOOL_SPECS)


def match_sheets(names: Iterable[str]) -> list[tuple[SheetSpec, str | None]]:
    """Each sheet the tool reads with the workbook's sheet that is it (None when there is none). Names
    and aliases match case-, space- and underscore-insensitively; two sheets folding alike: the first in
    the workbook wins."""
    found: dict[str, str] = {}
    for name in names:
        found.setdefault(fold_header(name), name)
    return [
        (spec, next((found[k] for k in map(fold_header, (spec.name, *spec.aliases)) if k in found), None))
        for spec in READ_SPECS
    ]

"""Which sheet of a workbook is which: the sheets the tool reads, found by name or alias.

Kept free of pandas and numpy: ``FileBook`` uses it to know which sheets a reader of the workbook will ask
for next.
"""

from __future__ import annotations

from collections.abc import Iterable

from cpor_excel.model.columns import DATA_SHEETS, READ_BACK_SHEETS, SheetSpec
from cpor_excel.model.headers import fold_header

#: the tool's own sheets that are read back: the ledgers (append-only), the drafts (never repeated) and
#: Microsoft's earnings as `import-earnings` wrote them
TOOL_SPECS: tuple[SheetSpec, ...] = tuple(
    SheetSpec(sheet.name, sheet.columns, required=False, tool_columns=()) for sheet in READ_BACK_SHEETS
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

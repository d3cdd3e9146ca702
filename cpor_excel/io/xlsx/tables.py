"""Excel tables (``xl/tables/tableN.xml``): a tool sheet's rows as a table, with filter buttons, banded rows
and a name formulas can use. The table part is written anew each run; its name and id stay."""

from __future__ import annotations

import re

from cpor_excel.io.xlsx.package import Package
from cpor_excel.io.xlsx.package_edit import attr

TABLE_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.table+xml"
TABLE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/table"
STYLE = "TableStyleMedium2"


def table_xml(main_ns: str, table_id: int, name: str, ref: str, header: list[str]) -> bytes:
    """A table over ``ref`` (header row first) whose columns are named by ``header`` (as its cells read)."""
    columns = "".join(f'<tableColumn id="{i}" name="{attr(h)}"/>' for i, h in enumerate(header, start=1))
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<table xmlns="{main_ns}" id="{table_id}" name="{attr(name)}" displayName="{attr(name)}" ref="{ref}" '
        f'totalsRowShown="0"><autoFilter ref="{ref}"/><tableColumns count="{len(header)}">{columns}'
        f'</tableColumns><tableStyleInfo name="{STYLE}" showFirstColumn="0" showLastColumn="0" '
        'showRowStripes="1" showColumnStripes="0"/></table>'
    ).encode()


def existing_tables(package: Package) -> dict[str, tuple[int, str]]:
    """Table part -> (id, name) of every table in the package."""
    found = {}
    for info in package.infos:
        if info.filename.lower().startswith("xl/tables/") and info.filename.lower().endswith(".xml"):
            head = package.read(info.filename)[:2000]
            number = re.search(rb'\bid="(\d+)"', head)
            name = re.search(rb'\bname="([^"]*)"', head)
            found[info.filename] = (
                int(number.group(1)) if number else 0,
                name.group(1).decode() if name else "",
            )
    return found


def table_name(sheet: str, taken: set[str]) -> str:
    """A table name from a sheet name (letters, digits, underscores; starting with a letter), unique among
    ``taken`` (folded)."""
    base = re.sub(r"\W+", "_", sheet).strip("_") or "Table"
    if not base[0].isalpha():
        base = "T_" + base
    name, number = base, 1
    while name.casefold() in taken:
        number += 1
        name = f"{base}_{number}"
    return name

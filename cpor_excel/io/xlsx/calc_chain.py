"""``xl/calcChain.xml``: Excel's list of the formula cells to calculate, in order. A formula cell the tool
replaces with a value must leave the list too: Excel repairs a workbook whose chain names a cell without a
formula. Only those entries go; the rest of the part stays byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from cpor_excel.io.xlsx.cells import index_of

_ENTRY = re.compile(rb"<(?:[\w.-]+:)?c\b([^>]*?)/>")
_REF = re.compile(rb'\br="\$?([A-Za-z]+)\$?(\d+)"')
_SHEET = re.compile(rb'\bi="(\d+)"')


def formula_cells(body: bytes, prefix: bytes, columns: Collection[int]) -> set[str]:
    """The refs (``H5``) of the cells with a formula in ``columns`` (0-based) of a sheet's data."""
    if not columns or b"<" + prefix + b"f" not in body:
        return set()
    cell = re.compile(
        b"<" + re.escape(prefix) + rb'c\b[^>]*?\br="([A-Za-z]+)(\d+)"[^>]*?>(?:(?!</' + re.escape(prefix)
        + rb"c>).)*?<" + re.escape(prefix) + rb"f\b",
        re.S,
    )  # fmt: skip
    wanted = set(columns)
    return {
        (m.group(1) + m.group(2)).decode().upper()
        for m in cell.finditer(body)
        if index_of(m.group(1).upper()) in wanted
    }


def without_cells(
    xml: bytes, gone: Collection[tuple[int, str]], sheets: Collection[int] = ()
) -> bytes | None:
    """The chain without the entries of ``gone`` (sheet id, ref) and of the sheets ``sheets`` (ids of sheets
    written anew); None when no entry is left. An entry
    without ``i`` belongs to the sheet of the entry before it, so the next kept entry is given the ``i``
    of a removed one that carried it."""
    wanted = {(sheet, ref.upper()) for sheet, ref in gone}
    out, cursor, sheet, kept, carry = [], 0, 0, 0, None
    for match in _ENTRY.finditer(xml):
        attrs = match.group(1)
        found = _SHEET.search(attrs)
        if found is not None:
            sheet = int(found.group(1))
        ref = _REF.search(attrs)
        key = (sheet, (ref.group(1) + ref.group(2)).decode().upper()) if ref else None
        if key in wanted or sheet in sheets:
            out.append(xml[cursor : match.start()])
            cursor = match.end()
            if found is not None:
                carry = sheet
            continue
        kept += 1
        if carry is not None and found is None:
            out.append(xml[cursor : match.start()])
            entry = match.group()
            at = entry.find(b"/>")
            out.append(entry[:at].rstrip() + b' i="%d"' % carry + entry[at:])
            cursor = match.end()
        carry = None
    out.append(xml[cursor:])
    return b"".join(out) if kept else None

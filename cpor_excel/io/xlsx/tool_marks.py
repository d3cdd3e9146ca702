"""The tool's mark on its own columns: a hidden defined name per sheet listing them (SPEC, "What a run writes
back"), so a user's own column that happens to share a name is never taken over. The Excel button keeps the
same mark through Excel's own names (``excel/live_book.py``), so either front door finds the other's columns.

``<definedName name="CporToolColumns" localSheetId="1" hidden="1">'Associations'!$P:$P,...</definedName>``:
local to its sheet, hidden from Excel's Name Manager, one whole-column range per tool column. Read from
workbook.xml when a sheet is first edited, written back when a run has placed its columns.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from cpor_excel.io.xlsx.package import Package
from cpor_excel.io.xlsx.scan import utf8_xml
from cpor_excel.model.headers import column_index, column_letter

MARK = "CporToolColumns"

_NAME = re.compile(rb"<([\w.-]+:)?definedName\b([^>]*)>(.*?)</(?:[\w.-]+:)?definedName>", re.S)
_COLUMNS = re.compile(r"!\$?([A-Za-z]{1,3}):\$?([A-Za-z]{1,3})")  # (after a sheet name, whatever it holds)


def read_marks(package: Package) -> dict[str, set[int]]:
    """Sheet name -> the 0-based columns the tool marked as its own there (sheets without a mark: none)."""
    workbook = utf8_xml(package.read(package.workbook))
    if MARK.encode() not in workbook:
        return {}
    names = [sheet.name for sheet in package.sheets]
    marks: dict[str, set[int]] = {}
    for match in _NAME.finditer(workbook):
        attrs = dict(re.findall(rb'([\w:]+)="([^"]*)"', match.group(2)))
        local = attrs.get(b"localSheetId", b"")
        if attrs.get(b"name") != MARK.encode() or not local.isdigit() or int(local) >= len(names):
            continue
        marks[names[int(local)]] = marked_columns(match.group(3).decode("utf-8", "replace"))
    return marks


def marked_columns(refers_to: str) -> set[int]:
    """The 0-based columns a mark's ranges cover (``'Associations'!$P:$P,...``, with or without a leading
    "=", as workbook.xml and Excel's Name.RefersTo give it)."""
    columns: set[int] = set()
    for first, last in _COLUMNS.findall(refers_to):
        columns.update(range(column_index(first), column_index(last) + 1))
    return columns


def mark_refers_to(sheet: str, columns: Collection[int]) -> str:
    """The mark's ranges: one whole column of ``sheet`` per 0-based column, as a formula's text."""
    quoted = "'" + sheet.replace("'", "''") + "'"
    return ",".join(f"{quoted}!${column_letter(c)}:${column_letter(c)}" for c in sorted(columns))


def with_marks(workbook: bytes, marks: Mapping[int, tuple[str, Collection[int]]]) -> bytes:
    """workbook.xml with the tool's mark of each sheet (local sheet id -> (sheet name, its columns))
    replacing any earlier mark of those sheets."""
    workbook = utf8_xml(workbook)
    kept = _NAME.sub(lambda match: b"" if _is_mark_of(match, marks) else match.group(), workbook)
    close = re.search(rb"</([\w.-]+:)?sheets>", kept)
    prefix = (close.group(1) or b"") if close else b""
    new = b"".join(
        b'<%sdefinedName name="%s" localSheetId="%d" hidden="1">%s</%sdefinedName>'
        % (prefix, MARK.encode(), local, _refers_to(name, columns), prefix)
        for local, (name, columns) in sorted(marks.items())
        if columns
    )
    empty = re.search(rb"<(?:[\w.-]+:)?definedNames\s*/>", kept)
    if empty is not None:
        return (
            kept[: empty.start()]
            + b"<%sdefinedNames>%s</%sdefinedNames>" % (prefix, new, prefix)
            + kept[empty.end() :]
        )
    end = re.search(rb"</(?:[\w.-]+:)?definedNames>", kept)
    if end is not None:
        return kept[: end.start()] + new + kept[end.start() :]
    # no definedNames yet: it follows sheets, functionGroups and externalReferences (CT_Workbook's order)
    after = [
        m.end() for m in re.finditer(rb"</(?:[\w.-]+:)?(?:sheets|functionGroups|externalReferences)>", kept)
    ]
    at = max(after, default=len(kept))
    return kept[:at] + b"<%sdefinedNames>%s</%sdefinedNames>" % (prefix, new, prefix) + kept[at:]


def _is_mark_of(match: re.Match[bytes], marks: Mapping[int, object]) -> bool:
    attrs = dict(re.findall(rb'([\w:]+)="([^"]*)"', match.group(2)))
    local = attrs.get(b"localSheetId", b"")
    return attrs.get(b"name") == MARK.encode() and local.isdigit() and int(local) in marks


def _refers_to(sheet: str, columns: Collection[int]) -> bytes:
    text = mark_refers_to(sheet, columns)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode("utf-8")

"""What surrounds a worksheet's cells, as the patch writer edits it: column widths (``<cols>``), the filter
buttons (``<autoFilter>``), merged ranges, table parts. Byte-level, like the rest of the writer: every other
byte of the part stays as it was.

Widths are only ever *added* for columns no ``<col>`` covers yet, so a width the partner changed (or the
tool set on an earlier run and the partner kept) is never touched again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from cpor_excel.model.headers import column_index

_COLS = re.compile(rb"<([\w.-]+:)?cols\b[^>]*>(.*?)</(?:[\w.-]+:)?cols>", re.S)
_COL = re.compile(rb"<(?:[\w.-]+:)?col\b([^>]*?)/?>")
_MIN_MAX = re.compile(rb'\b(min|max)="(\d+)"')
_MERGE = re.compile(rb'<(?:[\w.-]+:)?mergeCell\b[^>]*?\bref="([A-Za-z]+)\d+(?::([A-Za-z]+)\d+)?"')
_AUTO_FILTER = re.compile(rb'(<(?:[\w.-]+:)?autoFilter\b[^>]*?\bref=")([^"]*)(")')
#: worksheet elements that come after sheetData and before autoFilter (ECMA-376 CT_Worksheet)
_BEFORE_FILTER = (b"sheetCalcPr", b"sheetProtection", b"protectedRanges", b"scenarios")
#: elements that come after tableParts
_AFTER_TABLE_PARTS = (b"extLst",)


def _number(value: float) -> bytes:
    return f"{value:.2f}".rstrip("0").rstrip(".").encode()


def covered(head: bytes) -> list[tuple[int, int]]:
    """The 1-based column ranges the sheet's ``<col>`` elements already cover."""
    block = _COLS.search(head)
    if block is None:
        return []
    ranges = []
    for col in _COL.finditer(block.group(2)):
        bounds = {k: int(v) for k, v in _MIN_MAX.findall(col.group(1))}
        if b"min" in bounds and b"max" in bounds:
            ranges.append((bounds[b"min"], bounds[b"max"]))
    return ranges


def with_widths(head: bytes, prefix: bytes, widths: Mapping[int, float]) -> bytes:
    """``head`` (the part up to ``<sheetData>``) with a ``<col>`` for each 0-based column of ``widths`` that
    no ``<col>`` covers, in column order among the existing ones (a ``<cols>`` is made when there is none)."""
    taken = covered(head)
    new = {
        column + 1: width
        for column, width in widths.items()
        if not any(low <= column + 1 <= high for low, high in taken)
    }
    if not new:
        return head
    p = prefix
    items = {
        (number, number): b'<%scol min="%d" max="%d" width="%s" customWidth="1"/>'
        % (p, number, number, _number(w))
        for number, w in new.items()
    }
    block = _COLS.search(head)
    if block is None:
        at = head.rfind(b"<" + p + b"sheetData")
        return (
            head[:at]
            + b"<%scols>" % p
            + b"".join(items[k] for k in sorted(items))
            + b"</%scols>" % p
            + head[at:]
        )
    existing = [
        (m, {k: int(v) for k, v in _MIN_MAX.findall(m.group(1))}) for m in _COL.finditer(block.group(2))
    ]
    body = block.group(2)
    out, cursor = [], 0
    pending = sorted(items)
    for match, bounds in existing:
        low = bounds.get(b"min", 0)
        while pending and pending[0][0] < low:
            out.append(body[cursor : match.start()])
            cursor = match.start()
            out.append(items[pending.pop(0)])
        # (keep the existing element as it is)
    out.append(body[cursor:])
    out += [items[key] for key in pending]
    start, end = block.span(2)
    return head[:start] + b"".join(out) + head[end:]


def merged_end(tail: bytes) -> int:
    """The 0-based column after the rightmost merged range (0 when nothing is merged): a tool column must not
    land inside one."""
    end = 0
    for match in _MERGE.finditer(tail):
        last = match.group(2) or match.group(1)
        end = max(end, column_index(last.decode("ascii")) + 1)
    return end


def with_auto_filter(tail: bytes, prefix: bytes, ref: str) -> bytes:
    """``tail`` (from ``</sheetData>`` on) with filter buttons over ``ref``: an existing autoFilter gets
    the new range, else one is put where the schema wants it (after sheetData and its protection)."""
    found = _AUTO_FILTER.search(tail)
    if found is not None:
        return tail[: found.start(2)] + ref.encode() + tail[found.end(2) :]
    at = tail.find(b">") + 1  # after </sheetData>
    for name in _BEFORE_FILTER:
        element = re.search(
            rb"<(?:[\w.-]+:)?" + name + rb"\b[^>]*?(?:/>|>.*?</(?:[\w.-]+:)?" + name + rb">)", tail, re.S
        )
        if element is not None:
            at = max(at, element.end())
    return tail[:at] + b'<%sautoFilter ref="%s"/>' % (prefix, ref.encode()) + tail[at:]


def with_table_part(
    tail: bytes, prefix: bytes, rel_prefix: bytes, rid: str, declare: str | None = None
) -> bytes:
    """``tail`` with a ``<tableParts>`` naming the table part ``rid`` (before extLst, else at the end);
    ``declare``: the relationships namespace, when the sheet's root does not declare it."""
    namespace = b' xmlns:%s="%s"' % (rel_prefix, declare.encode()) if declare else b""
    element = b'<%stableParts count="1"%s><%stablePart %s:id="%s"/></%stableParts>' % (
        prefix, namespace, prefix, rel_prefix, rid.encode(), prefix
    )  # fmt: skip
    at = tail.rfind(b"</")  # the root's closing tag
    ext = re.search(rb"<(?:[\w.-]+:)?extLst\b", tail)
    if ext is not None:
        at = ext.start()
    return tail[:at] + element + tail[at:]


def table_rid(tail: bytes) -> str | None:
    """The relationship id of the first table part a sheet names, if any."""
    found = re.search(rb'<(?:[\w.-]+:)?tablePart\b[^>]*?:id="([^"]+)"', tail)
    return found.group(1).decode() if found else None

"""Sheet names where a package lists them besides the sheets themselves: a renamed sheet in workbook.xml
(its ``<sheet>`` element and the defined names that refer to it) and the titles in ``docProps/app.xml``.

Excel does not read ``app.xml``'s titles to open a workbook, but it keeps TitlesOfParts and HeadingPairs in
step with the sheets on every save, and a file whose list disagrees with its sheets looks tampered with to
a validator. A save that adds or renames sheets therefore updates the worksheet titles there, where the
part lists them; every other byte of the part stays.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import unescape

from cpor_excel.io.xlsx.chart import sheet_ref
from cpor_excel.io.xlsx.package import Package

EXTENDED_PROPERTIES = "/extended-properties"
_ENTITIES = {"&quot;": '"', "&apos;": "'"}


def text(value: str) -> str:
    """``value`` as XML text or attribute content."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def renamed_sheet(workbook: bytes, old: str, new: str) -> bytes:
    """workbook.xml with sheet ``old`` named ``new``: its ``<sheet>`` element and every defined name (a
    print area, a filter range) that refers to it."""
    name = re.escape(text(old).encode()).replace(b"&gt;", b"(?:&gt;|>)")
    pattern = rb'(<(?:[\w.-]+:)?sheet\b[^>]*?\bname=")' + name + b'"'
    workbook = re.sub(pattern, lambda m: m.group(1) + text(new).encode() + b'"', workbook, count=1)
    quoted = re.escape(text(sheet_ref(old)).encode())
    plain = rb"(?<![\w.'&;])" + re.escape(text(old).encode())
    refers = re.compile(rb"(?:" + quoted + b"|" + plain + rb")!")
    to = text(sheet_ref(new) + "!").encode()

    def rename_refs(match: re.Match[bytes]) -> bytes:
        return match.group(1) + refers.sub(lambda _: to, match.group(2))

    return re.sub(rb"(<(?:[\w.-]+:)?definedName\b[^>]*>)([^<]*)", rename_refs, workbook)


def app_part(package: Package) -> str | None:
    """The package's ``docProps/app.xml`` (wherever its root relationships put it), or None."""
    found = [r.part for r in package.root_rels.values() if r.type.endswith(EXTENDED_PROPERTIES)]
    return next((part for part in found if part is not None and package.find(part) is not None), None)


def app_titles(
    app: bytes, before: Sequence[str], after: Sequence[str], renames: Mapping[str, str]
) -> bytes | None:
    """``app.xml`` with its worksheet titles those of ``after`` (the worksheets after the save, in workbook
    order): the titles it had, renamed per ``renames`` and without sheets that are gone, then the new ones.
    The worksheet titles are the group of HeadingPairs that names one of ``before`` (the worksheets as they
    were), else the group named "Worksheets". None when the part lists no such titles: it is left alone."""
    pairs = re.search(rb"<((?:[\w.-]+:)?)HeadingPairs\b[^>]*>(.*?)</\1HeadingPairs>", app, re.S)
    titles = re.search(rb"<((?:[\w.-]+:)?)TitlesOfParts\b[^>]*>(.*?)</\1TitlesOfParts>", app, re.S)
    if pairs is None or titles is None:
        return None
    groups = list(
        re.finditer(
            rb"<(?:[\w.-]+:)?lpstr>([^<]*)</(?:[\w.-]+:)?lpstr>\s*</(?:[\w.-]+:)?variant>\s*"
            rb"<(?:[\w.-]+:)?variant>\s*<(?:[\w.-]+:)?i4>\s*(\d+)\s*</(?:[\w.-]+:)?i4>",
            pairs.group(2),
        )
    )
    items = list(re.finditer(rb"<((?:[\w.-]+:)?)lpstr>([^<]*)</\1lpstr>", titles.group(2)))
    if not groups or sum(int(g.group(2)) for g in groups) != len(items):
        return None  # a list that already disagrees with itself: not ours to guess at
    start, spans = 0, []
    for group in groups:
        spans.append((start, start + int(group.group(2))))
        start += int(group.group(2))
    names = [unescape(item.group(2).decode("utf-8", "replace"), _ENTITIES) for item in items]
    known = set(before)
    chosen = next((i for i, (a, b) in enumerate(spans) if known & set(names[a:b])), None)
    if chosen is None:
        chosen = next((i for i, g in enumerate(groups) if g.group(1) == b"Worksheets"), None)
    if chosen is None:
        return None
    first, last = spans[chosen]
    gone = set(before) - set(after) - set(renames)
    kept = [renames.get(name, name) for name in names[first:last] if name not in gone]
    listed = kept + [name for name in after if name not in kept]
    if listed == names[first:last]:
        return None
    prefix = items[0].group(1).decode() if items else ""
    block = "".join(f"<{prefix}lpstr>{text(name)}</{prefix}lpstr>" for name in listed).encode()
    if first < len(items):
        at = items[first].start()
    elif items:
        at = items[-1].end()
    else:
        return None
    inner = splice(titles.group(2), [(at, items[last - 1].end() if last > first else at, block)])
    size = len(items) - (last - first) + len(listed)
    inner = re.sub(rb'(<(?:[\w.-]+:)?vector\b[^>]*?\bsize=")\d+"', b'\\g<1>%d"' % size, inner, count=1)
    count = groups[chosen].span(2)
    counts = splice(pairs.group(2), [(*count, str(len(listed)).encode())])
    return splice(app, [(*pairs.span(2), counts), (*titles.span(2), inner)])


def splice(data: bytes, pieces: Sequence[tuple[int, int, bytes]]) -> bytes:
    """``data`` with each (start, end) span replaced by its bytes (spans do not overlap, in any order)."""
    out, at = [], 0
    for start, end, piece in sorted(pieces):
        out += [data[at:start], piece]
        at = end
    return b"".join([*out, data[at:]])

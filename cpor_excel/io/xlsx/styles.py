"""The cell formats the patch writer needs in ``xl/styles.xml``: the "Check Result" colours.

They are *appended* to the fills and cell formats (counts updated) the first time they are needed, and
found again on later runs, so every other byte of the part, and every format index the user's cells
point at, stays as it was.
"""

from __future__ import annotations

import re

from cpor_excel.io.xlsx.package import Package
from cpor_excel.io.xlsx.scan import utf8_xml
from cpor_excel.model.findings import RESULT_LEVELS

#: fill colours of "Check Result" cells by result level (Excel's Good / Neutral / Bad, and a light purple)
CHECK_FILLS = dict(zip(RESULT_LEVELS, ("FFC6EFCE", "FFFFEB9C", "FFFFC7CE", "FFE4DFEC"), strict=True))


def _block(xml: bytes, name: bytes) -> tuple[re.Match[bytes], int] | None:
    """The open tag of element ``name`` (any prefix) and the start of its closing tag."""
    match = re.search(rb"<([\w.-]+:)?" + name + rb"\b[^>]*?(/?)>", xml)
    if match is None or match.group(2):
        return None
    close = xml.find(b"</" + (match.group(1) or b"") + name + b">", match.end())
    return (match, close) if close >= 0 else None


class Styles:
    """Check Result cell formats: appended to xl/styles.xml once, found again on later runs."""

    def __init__(self, package: Package) -> None:
        rel = next((r for r in package.rels.values() if r.type.endswith("/styles") and r.part), None)
        self.part = rel.part if rel else None
        self.xml = utf8_xml(package.read(self.part)) if self.part else b""
        self.changed = False
        self._indexes: dict[str, int] | None = None

    def check_styles(self) -> dict[str, int]:
        """Cell format index per Check Result value; empty when styles.xml cannot be extended safely."""
        if self._indexes is None:
            self._indexes = self._ensure()
        return self._indexes

    def _ensure(self) -> dict[str, int]:
        xml = self.xml
        fonts, fills, borders, xfs = (
            _block(xml, name) for name in (b"fonts", b"fills", b"borders", b"cellXfs")
        )
        if fonts is None or fills is None or borders is None or xfs is None:
            return {}  # a minimal styles part (no fonts/fills/borders): leave it, skip the colours
        (fills_open, fills_close), (xfs_open, xfs_close) = fills, xfs
        prefix = fills_open.group(1) or b""
        fill_items = list(
            re.finditer(
                rb"<(?:[\w.-]+:)?fill\b[^>]*?(?:/>|>.*?</(?:[\w.-]+:)?fill>)",
                xml[fills_open.end() : fills_close],
                re.S,
            )
        )
        xf_items = list(
            re.finditer(
                rb"<(?:[\w.-]+:)?xf\b([^>]*?)(?:/>|>.*?</(?:[\w.-]+:)?xf>)",
                xml[xfs_open.end() : xfs_close],
                re.S,
            )
        )
        solid: dict[str, int] = {}
        for i, item in enumerate(fill_items):
            text = item.group()
            colour = re.search(rb'<(?:[\w.-]+:)?fgColor\b[^>]*?\brgb="([0-9A-Fa-f]{8})"', text)
            if b'patternType="solid"' in text and colour:
                solid.setdefault(colour.group(1).decode().upper(), i)
        plain_xf: dict[int, int] = {}
        for i, item in enumerate(xf_items):
            if not item.group().endswith(b"/>"):
                continue  # has children (alignment, protection): not a plain fill format
            attrs = dict(re.findall(rb'(\w+)="([^"]*)"', item.group(1)))
            if all(attrs.get(k, b"0") == b"0" for k in (b"numFmtId", b"fontId", b"borderId")):
                plain_xf.setdefault(int(attrs.get(b"fillId", b"-1")), i)
        has_style_xfs = _block(xml, b"cellStyleXfs") is not None
        new_fills: list[bytes] = []
        new_xfs: list[bytes] = []
        indexes: dict[str, int] = {}
        for value, rgb in CHECK_FILLS.items():
            fill = solid.get(rgb)
            if fill is None:
                fill = len(fill_items) + len(new_fills)
                new_fills.append(
                    b'<%sfill><%spatternFill patternType="solid"><%sfgColor rgb="%s"/><%sbgColor '
                    b'indexed="64"/></%spatternFill></%sfill>'
                    % (prefix, prefix, prefix, rgb.encode(), prefix, prefix, prefix)
                )
            xf = plain_xf.get(fill)
            if xf is None:
                xf = len(xf_items) + len(new_xfs)
                style_ref = b' xfId="0"' if has_style_xfs else b""
                new_xfs.append(
                    b'<%sxf numFmtId="0" fontId="0" fillId="%d" borderId="0"%s applyFill="1"/>'
                    % (prefix, fill, style_ref)
                )
                plain_xf[fill] = xf
            indexes[value] = xf
        if new_fills or new_xfs:
            # cellXfs comes after fills: edit the later block first so earlier offsets stay valid
            xml = _append_items(xml, xfs_open, xfs_close, new_xfs, len(xf_items))
            xml = _append_items(xml, fills_open, fills_close, new_fills, len(fill_items))
            self.xml = xml
            self.changed = True
        return indexes


def _append_items(
    xml: bytes, opening: re.Match[bytes], close: int, items: list[bytes], existing: int
) -> bytes:
    if not items:
        return xml
    tag = opening.group()
    counted = re.sub(rb'\bcount="\d*"', b'count="%d"' % (existing + len(items)), tag, count=1)
    return xml[: opening.start()] + counted + xml[opening.end() : close] + b"".join(items) + xml[close:]

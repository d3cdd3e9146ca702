"""The cell formats the patch writer needs in ``xl/styles.xml``: result colours, headers, wrapped notes,
number formats, the Dashboard's titles (``io/looks.py`` says how each looks).

Fonts, fills, number formats and cell formats are *appended* (counts updated) the first time they are
needed, and found again on later runs (by what they are, so a copy Excel saved again is found too); every
other byte of the part, and every format index the user's cells point at, stays as it was.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import TypeVar

from cpor_excel.io.looks import Look
from cpor_excel.io.xlsx.package import Package
from cpor_excel.io.xlsx.scan import utf8_xml

K = TypeVar("K")

#: fill colours earlier versions gave Check Result cells: still the tool's, so a later run may replace them
LEGACY_FILLS = ("FFC6EFCE", "FFFFEB9C", "FFFFC7CE", "FFE4DFEC")
#: Excel's built-in number formats the tool uses (ECMA-376 18.8.30); others are added as custom formats
_BUILTIN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9, "0.00%": 10}
_ATTRS = re.compile(rb'([\w:]+)="([^"]*)"')

#: what ``Styles._appended`` makes of a styles part and the looks asked for: the part after, each look's
#: cell format index, and the fonts, fills, cell formats and number formats appended
_Added = tuple[bytes, tuple[int, ...], tuple[list[bytes], list[bytes], list[bytes], list[bytes]]]
#: ``_Added`` by (the part, the looks), for parts up to ``MEMO_BYTES``: a pure function of the two. A batch's
#: workbooks usually share their styles part (made from one template) and a run asks for the same looks in
#: the same order, so each save after the first finds its formats here instead of reading the part's blocks.
_ADDED: dict[tuple[bytes, tuple[Look, ...]], _Added] = {}
MEMO_BYTES = 256 * 1024
MEMO_ENTRIES = 64


def _block(xml: bytes, name: bytes) -> tuple[re.Match[bytes], int] | None:
    """The open tag of element ``name`` (any prefix) and the start of its closing tag."""
    match = re.search(rb"<([\w.-]+:)?" + name + rb"\b[^>]*?(/?)>", xml)
    if match is None or match.group(2):
        return None
    close = xml.find(b"</" + (match.group(1) or b"") + name + b">", match.end())
    return (match, close) if close >= 0 else None


def _items(xml: bytes, block: tuple[re.Match[bytes], int], name: bytes) -> list[bytes]:
    pattern = rb"<(?:[\w.-]+:)?" + name + rb"\b[^>]*?(?:/>|>.*?</(?:[\w.-]+:)?" + name + rb">)"
    return [m.group() for m in re.finditer(pattern, xml[block[0].end() : block[1]], re.S)]


def _value(item: bytes, child: bytes, attribute: bytes = b"val") -> str | None:
    found = re.search(rb"<(?:[\w.-]+:)?" + child + rb"\b[^>]*?\b" + attribute + rb'="([^"]*)"', item)
    return found.group(1).decode() if found else None


def _xml_attr(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def _unescape(text: str) -> str:
    return text.replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


class Styles:
    """The tool's cell formats in one workbook's styles part."""

    def __init__(self, package: Package) -> None:
        rel = next((r for r in package.rels.values() if r.type.endswith("/styles") and r.part), None)
        self.part = rel.part if rel else None
        self.xml = utf8_xml(package.read(self.part)) if self.part else b""
        self.changed = False
        self._found: dict[Look, int] = {}
        self._usable: bool | None = None
        #: the part's fonts, fills, cell formats and number formats as ``_add`` last left them: read from the
        #: XML once, then kept up to date by ``_add`` (a run asks for formats five or six times)
        self._lists: tuple[list[bytes], list[bytes], list[bytes], list[bytes]] | None = None

    @property
    def ours(self) -> set[int]:
        """Every cell format index the tool has used or found (a later write may replace them), the Check
        Result colours of earlier versions included."""
        return set(self._found.values()) | self._legacy()

    def formats(self, looks: Mapping[K, Look]) -> dict[K, int]:
        """A cell format index per look, appended when missing; empty when the styles part cannot be
        extended safely (a minimal part without fonts, fills or cell formats: the cells stay plain)."""
        if not self._extensible():
            return {}
        missing = [look for look in dict.fromkeys(looks.values()) if look not in self._found]
        if missing:
            self._add(missing)
        return {key: self._found[look] for key, look in looks.items()}

    # --- internals -------------------------------------------------------------------------------------
    def _extensible(self) -> bool:
        if self._usable is None:
            self._usable = all(_block(self.xml, n) for n in (b"fonts", b"fills", b"borders", b"cellXfs"))
        return self._usable

    def _add(self, looks: list[Look]) -> None:
        """Find or append each look (``_appended``), remembered per part and looks (``_ADDED``)."""
        key = (self.xml, tuple(looks)) if len(self.xml) <= MEMO_BYTES else None
        done = _ADDED.get(key) if key is not None else None
        if done is None:
            done = self._appended(looks)
            if key is not None:
                if len(_ADDED) >= MEMO_ENTRIES:
                    _ADDED.clear()
                _ADDED[key] = done
        xml, ids, appended = done
        self._found.update(zip(looks, ids, strict=True))
        if xml != self.xml:
            self.xml = xml
            self.changed = True
            if self._lists is not None:
                for items, added in zip(self._lists, appended, strict=True):
                    items += added  # what reading the blocks again would find

    def _appended(self, looks: list[Look]) -> _Added:
        """The part's XML with the looks it lacks appended, each look's format index, and the fonts, fills,
        cell formats and number formats appended (a pure function of the XML and the looks)."""
        xml = self.xml
        fonts_block, fills_block, xfs_block = (_block(xml, n) for n in (b"fonts", b"fills", b"cellXfs"))
        assert fonts_block and fills_block and xfs_block
        p = fonts_block[0].group(1) or b""
        numfmts_block = _block(xml, b"numFmts")
        if self._lists is None:
            self._lists = (
                _items(xml, fonts_block, b"font"),
                _items(xml, fills_block, b"fill"),
                _items(xml, xfs_block, b"xf"),
                _items(xml, numfmts_block, b"numFmt") if numfmts_block else [],
            )
        fonts, fills, xfs, numfmts = self._lists
        new_fonts: list[bytes] = []
        new_fills: list[bytes] = []
        new_numfmts: list[bytes] = []
        new_xfs: list[bytes] = []
        style_ref = b' xfId="0"' if _block(xml, b"cellStyleXfs") else b""
        base = fonts[0] if fonts else b""
        base_size = _value(base, b"sz") or "11"
        ids: list[int] = []
        for look in looks:
            font_id = 0
            if look.font or look.bold or look.size:
                font_id, added = self._font(look, fonts, new_fonts, base, base_size, p)
                new_fonts += added
            fill_id = 0
            if look.fill:
                fill_id, added = self._fill(look.fill, fills, new_fills, p)
                new_fills += added
            number = 0
            if look.number_format:
                number, added = self._number_format(look.number_format, numfmts, new_numfmts, p)
                new_numfmts += added
            wanted = (number, font_id, fill_id, look.wrap)
            xf_id = next((i for i, item in enumerate(xfs + new_xfs) if _xf_key(item) == wanted), None)
            if xf_id is None:
                xf_id = len(xfs) + len(new_xfs)
                applied = b"".join(
                    flag
                    for flag, used in (
                        (b' applyNumberFormat="1"', number),
                        (b' applyFont="1"', font_id),
                        (b' applyFill="1"', fill_id),
                        (b' applyAlignment="1"', look.wrap),
                    )
                    if used
                )
                attrs = b'numFmtId="%d" fontId="%d" fillId="%d" borderId="0"%s%s' % (
                    number, font_id, fill_id, style_ref, applied
                )  # fmt: skip
                if look.wrap:
                    new_xfs.append(
                        b'<%sxf %s><%salignment vertical="top" wrapText="1"/></%sxf>' % (p, attrs, p, p)
                    )
                else:
                    new_xfs.append(b"<%sxf %s/>" % (p, attrs))
            ids.append(xf_id)
        if new_fonts or new_fills or new_numfmts or new_xfs:
            # edit the later blocks first so that earlier offsets stay valid
            xml = _append(xml, xfs_block, new_xfs, len(xfs))
            xml = _append(xml, fills_block, new_fills, len(fills))
            xml = _append(xml, fonts_block, new_fonts, len(fonts))
            if new_numfmts:
                if numfmts_block:
                    xml = _append(xml, numfmts_block, new_numfmts, len(numfmts))
                else:  # numFmts is the style sheet's first child (an empty <numFmts/> is replaced)
                    block = b'<%snumFmts count="%d">%s</%snumFmts>' % (
                        p,
                        len(new_numfmts),
                        b"".join(new_numfmts),
                        p,
                    )
                    empty = re.search(rb"<(?:[\w.-]+:)?numFmts\b[^>]*/>", xml)
                    root = re.search(rb"<(?:[\w.-]+:)?styleSheet\b[^>]*>", xml)
                    assert root is not None
                    at, end = (empty.start(), empty.end()) if empty else (root.end(), root.end())
                    xml = xml[:at] + block + xml[end:]
        return xml, tuple(ids), (new_fonts, new_fills, new_xfs, new_numfmts)

    @staticmethod
    def _font(
        look: Look, fonts: list[bytes], new: list[bytes], base: bytes, base_size: str, p: bytes
    ) -> tuple[int, list[bytes]]:
        size = f"{look.size:g}" if look.size else base_size
        colour = f"FF{look.font}".upper() if look.font else None
        for i, item in enumerate(fonts + new):
            bold = re.search(rb"<(?:[\w.-]+:)?b(?:\s*/>|\s+val=\"(?:1|true)\")", item) is not None
            item_colour = _value(item, b"color", b"rgb")
            if (bold, _value(item, b"sz"), (item_colour or "").upper() or None) == (
                look.bold,
                size,
                colour,
            ) and (_value(item, b"name") == _value(base, b"name")):
                return i, []
        # the workbook's own font (name, family, scheme), bold, sized and coloured as asked
        kept = b"".join(re.findall(rb"<(?:[\w.-]+:)?(?:name|family|charset|scheme)\b[^>]*/>", base))
        body = (b"<%sb/>" % p if look.bold else b"") + b'<%ssz val="%s"/>' % (p, size.encode())
        if colour:
            body += b'<%scolor rgb="%s"/>' % (p, colour.encode())
        return len(fonts) + len(new), [b"<%sfont>%s%s</%sfont>" % (p, body, kept, p)]

    @staticmethod
    def _fill(colour: str, fills: list[bytes], new: list[bytes], p: bytes) -> tuple[int, list[bytes]]:
        argb = f"FF{colour}".upper()
        for i, item in enumerate(fills + new):
            if b'patternType="solid"' in item and (_value(item, b"fgColor", b"rgb") or "").upper() == argb:
                return i, []
        fill = b'<%sfill><%spatternFill patternType="solid"><%sfgColor rgb="%s"/><%sbgColor indexed="64"/>' % (
            p, p, p, argb.encode(), p
        ) + b"</%spatternFill></%sfill>" % (p, p)  # fmt: skip
        return len(fills) + len(new), [fill]

    @staticmethod
    def _number_format(
        code: str, numfmts: list[bytes], new: list[bytes], p: bytes
    ) -> tuple[int, list[bytes]]:
        if code in _BUILTIN_FORMATS:
            return _BUILTIN_FORMATS[code], []
        ids = []
        for item in numfmts + new:
            attrs = {k.decode(): v.decode() for k, v in _ATTRS.findall(item)}
            ids.append(int(attrs.get("numFmtId", "0")))
            if _unescape(attrs.get("formatCode", "")) == code:
                return int(attrs["numFmtId"]), []
        number = max([163, *ids]) + 1
        return number, [b'<%snumFmt numFmtId="%d" formatCode="%s"/>' % (p, number, _xml_attr(code).encode())]

    def _legacy(self) -> set[int]:
        return set(_legacy_of(self.xml)) if len(self.xml) <= MEMO_BYTES else _legacy_formats(self.xml)


def _legacy_formats(xml: bytes) -> set[int]:
    """The cell formats of a styles part that earlier versions gave Check Result cells (``LEGACY_FILLS``)."""
    xfs_block, fills_block = _block(xml, b"cellXfs"), _block(xml, b"fills")
    if xfs_block is None or fills_block is None:
        return set()
    fills = _items(xml, fills_block, b"fill")
    legacy = {
        i for i, item in enumerate(fills) if (_value(item, b"fgColor", b"rgb") or "").upper() in LEGACY_FILLS
    }
    return {
        i
        for i, item in enumerate(_items(xml, xfs_block, b"xf"))
        if _xf_key(item)[1:] in {(0, fill, False) for fill in legacy} and _xf_key(item)[0] == 0
    }


@lru_cache(maxsize=16)
def _legacy_of(xml: bytes) -> frozenset[int]:
    """``_legacy_formats``, remembered for the styles parts of a batch's workbooks (up to ``MEMO_BYTES``)."""
    return frozenset(_legacy_formats(xml))


@lru_cache(
    maxsize=4096
)  # a workbook's cell formats are looked at for every look added (and a batch's repeat)
def _xf_key(item: bytes) -> tuple[int, int, int, bool]:
    """(number format, font, fill, wrapped) of a cell format without a border."""
    tag = item[: item.find(b">")]
    attrs = {k.decode(): v.decode() for k, v in _ATTRS.findall(tag)}
    if attrs.get("borderId", "0") != "0":
        return (-1, -1, -1, False)
    alignment = re.search(rb"<(?:[\w.-]+:)?alignment\b([^>]*)>", item)
    wrapped = alignment is not None and sorted(_ATTRS.findall(alignment.group(1))) in (
        [(b"vertical", b"top"), (b"wrapText", b"1")],
        [(b"vertical", b"top"), (b"wrapText", b"true")],
    )
    if (alignment is not None and not wrapped) or re.search(rb"<(?:[\w.-]+:)?protection\b", item):
        return (-1, -1, -1, False)  # aligned or protected otherwise: a format of the user's
    return int(attrs.get("numFmtId", 0)), int(attrs.get("fontId", 0)), int(attrs.get("fillId", 0)), wrapped


def _append(xml: bytes, block: tuple[re.Match[bytes], int], items: list[bytes], existing: int) -> bytes:
    if not items:
        return xml
    opening, close = block
    tag = opening.group()
    counted = re.sub(rb'\bcount="\d*"', b'count="%d"' % (existing + len(items)), tag, count=1)
    return xml[: opening.start()] + counted + xml[opening.end() : close] + b"".join(items) + xml[close:]

"""The shared strings part, read lazily, and the text of a cell in sheet XML (what the writer needs to find
the headers of a sheet it edits)."""

from __future__ import annotations

import re

from cpor_excel.io.xlsx.cells import xml_text
from cpor_excel.io.xlsx.package import Package
from cpor_excel.io.xlsx.scan import utf8_xml

_SI = re.compile(rb"<(?:[\w.-]+:)?si\b[^>]*?(?:/>|>.*?</(?:[\w.-]+:)?si>)", re.S)
_T = re.compile(rb"<(?:[\w.-]+:)?t\b[^>]*?(?:/>|>(.*?)</(?:[\w.-]+:)?t>)", re.S)
_RPH = re.compile(rb"<(?:[\w.-]+:)?rPh\b.*?</(?:[\w.-]+:)?rPh>", re.S)


def inline_text(fragment: bytes) -> str:
    """The text of a ``<si>`` or ``<is>`` fragment: its ``<t>`` runs, without phonetic runs."""
    if b"rPh" in fragment:
        fragment = _RPH.sub(b"", fragment)
    return "".join(xml_text(m.group(1) or b"") for m in _T.finditer(fragment))


class SharedStrings:
    """Shared strings read lazily, only as far as the highest index asked for (headers are near the top)."""

    def __init__(self, package: Package) -> None:
        rel = next((r for r in package.rels.values() if r.type.endswith("/sharedStrings") and r.part), None)
        self._xml = utf8_xml(package.read(rel.part)) if rel and rel.part else b""
        self._items = _SI.finditer(self._xml)
        self._texts: list[str] = []

    def get(self, index: int) -> str | None:
        while len(self._texts) <= index:
            match = next(self._items, None)
            if match is None:
                return None
            self._texts.append(inline_text(match.group()))
        return self._texts[index]


_T_ATTR = re.compile(rb'\st="(\w+)"')


def cell_value(match: re.Match[bytes], shared: SharedStrings) -> str | None:
    """A cell's value as text (for headers): shared, inline or formula strings, or the raw value."""
    attrs, content = match.group(1), match.group(2)
    kind = _T_ATTR.search(attrs)
    cell_type = kind.group(1) if kind else b"n"
    if cell_type == b"inlineStr":
        return inline_text(content)
    value = re.search(rb"<(?:[\w.-]+:)?v\b[^>]*>(.*?)</(?:[\w.-]+:)?v>", content, re.S)
    if value is None:
        return None
    if cell_type == b"s":
        try:
            return shared.get(int(value.group(1)))
        except ValueError:
            return None
    return xml_text(value.group(1))

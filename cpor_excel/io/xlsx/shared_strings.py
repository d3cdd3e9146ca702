"""The shared strings part, read lazily, and the text of a cell in sheet XML (what the writer needs to find
the headers of a sheet it edits)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

from cpor_excel.errors import NotAWorkbook
from cpor_excel.io.xlsx.cells import xml_text
from cpor_excel.io.xlsx.package import Package
from cpor_excel.io.xlsx.safety import PROLOG_WINDOW as PROLOG
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
    """Shared strings read lazily: the part is inflated as far as the highest index asked for (headers are
    near the top), and only the texts asked for are kept, so a part of gigabytes costs no memory."""

    def __init__(self, package: Package) -> None:
        self._part = shared_strings_part(package)
        self._package = package
        self._texts: dict[int, str] = {}
        self._items: Iterator[bytes] | None = None
        self._at = 0  # index of the next item the stream gives

    def get(self, index: int) -> str | None:
        if index in self._texts:
            return self._texts[index]
        if self._part is None or index < 0:
            return None
        if self._items is None or index < self._at:  # (an earlier index: read from the start again)
            self._items = _items(self._package.open_part(self._part))
            self._at = 0
        for item in self._items:
            self._at += 1
            if self._at - 1 == index:
                self._texts[index] = inline_text(item)
                return self._texts[index]
        return None


def shared_strings_part(package: Package) -> str | None:
    """The workbook's shared strings part, if it has one."""
    rel = next((r for r in package.rels.values() if r.type.endswith("/sharedStrings") and r.part), None)
    return rel.part if rel is not None else None


def _items(stream: IO[bytes]) -> Iterator[bytes]:
    """The ``<si>`` items of a shared strings part, read a chunk at a time (the stream is closed at the
    end; a UTF-16 part, which no producer we know writes, is converted whole)."""
    with stream:
        pending = b""
        while True:
            chunk = stream.read(_CHUNK)
            if not pending and chunk[:2] in _UTF16:
                chunk = utf8_xml(chunk + stream.read())
            pending += chunk
            end = 0
            for match in _SI.finditer(pending):  # an item cut by the chunk's end does not match yet
                yield match.group()
                end = match.end()
            pending = pending[end:]
            if not chunk:
                return


_CHUNK = 1 << 20
#: shared strings at least this big (declared) are given to calamine as the cells use them
STRINGS_FROM = 64 * 1024**2
_UTF16 = (b"\xff\xfe", b"\xfe\xff")
_COUNT = re.compile(rb'\buniqueCount="(\d+)"')


def check_declared_count(package: Package) -> None:
    """Refuse shared strings that claim more texts than their part could hold (five bytes an item at
    least): calamine reserves room for the claim at once and aborts the process when it cannot."""
    part = shared_strings_part(package)
    if part is None:
        return
    with package.open_part(part) as stream:
        head = utf8_xml(stream.read(PROLOG))
    claim = _COUNT.search(head[: head.find(b">", head.find(b"<", head.find(b"?>") + 1)) + 1])
    if claim is not None and int(claim.group(1)) > package.size(part) // 5 + 1:
        raise NotAWorkbook(
            f"{package.path.name} is refused as unsafe: its shared strings claim {int(claim.group(1)):,} texts "
            f"in a part of {package.size(part):,} bytes; open it in Excel and save it again."
        )


def compact_shared_strings(package: Package, used: set[int]) -> bytes | None:
    """The shared strings part with only the texts of ``used`` indexes (every other item empty, none after
    the last used one), for a reader that keeps every text it is given (calamine); None when there is no
    such part. Unused items before used ones are padding: more than a million of them (and eight per used
    text) is refused."""
    part = shared_strings_part(package)
    if part is None:
        return None
    last = max(used, default=-1)
    if last + 1 - len(used) > max(1_000_000, 8 * len(used)):
        raise NotAWorkbook(
            f"{package.path.name} is refused as unsafe: its cells use {len(used):,} shared strings spread over "
            f"the first {last + 1:,}; open it in Excel and save it again (Excel drops the unused ones)."
        )
    with package.open_part(part) as stream:
        head = utf8_xml(stream.read(PROLOG))
    root = re.search(rb"<([\w.-]+:)?sst\b[^>]*>", head)
    if root is None:
        raise NotAWorkbook(
            f"{package.path.name}: its shared strings part is damaged: open it in Excel and save it."
        )
    prefix = root.group(1) or b""
    namespaces = b" ".join(re.findall(rb'xmlns(?::[\w.-]+)?="[^"]*"', root.group()))
    kept = [b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<%ssst %s count="%d" uniqueCount="%d">'
            % (prefix, namespaces, last + 1, last + 1)]  # fmt: skip
    empty = b"<" + prefix + b"si/>"
    if last >= 0:
        for index, item in enumerate(_items(package.open_part(part))):
            kept.append(item if index in used else empty)
            if index == last:
                break
    kept.append(b"</" + prefix + b"sst>")
    return b"".join(kept)


_STRING_CELL = re.compile(rb't="s"[^>]*>\s*<(?:[\w.-]+:)?v>\s*(\d+)\s*<')


def used_strings(stream: IO[bytes]) -> set[int]:
    """The shared strings a sheet part's cells use (``t="s"`` cells' values), read a chunk at a time."""
    used: set[int] = set()
    with stream:
        pending = b""
        while True:
            chunk = stream.read(4 * _CHUNK)
            pending += chunk
            # up to the end of the last row: no cell straddles the cut
            cut = len(pending) if not chunk else pending.rfind(b"row>") + 4
            cut = max(cut, 0) if cut >= 4 else 0
            used.update(map(int, _STRING_CELL.findall(pending, 0, cut)))
            pending = pending[cut:]
            if not chunk:
                return used


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

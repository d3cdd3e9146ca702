"""Builders of hostile or unlucky workbooks (issue 18), from a real workbook, for tests and benchmarks.

Each copies a workbook's package entry by entry and changes one thing the way a producer or an attacker
can: a whole-column format stored as millions of empty styled cells, a sheet stored uncompressed with
padding, shared strings that no cell uses.
"""

from __future__ import annotations

import random
import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from cpor_excel.model.headers import column_letter

EXCEL_ROWS = 1_048_576


def sheet_part(path: Path, sheet: str) -> str:
    """The zip entry of a worksheet, by its name (workbook.xml and its relationships)."""
    with zipfile.ZipFile(path) as package:
        workbook = package.read("xl/workbook.xml").decode()
        rels = package.read("xl/_rels/workbook.xml.rels").decode()
    tag = re.search(r'<sheet\b[^>]*\bname="' + re.escape(sheet) + r'"[^>]*>', workbook)
    assert tag is not None, sheet
    rid = re.search(r'\br:id="([^"]+)"', tag.group()).group(1)  # type: ignore[union-attr]
    rel = re.search(r'<Relationship\b[^>]*\bId="' + re.escape(rid) + r'"[^>]*>', rels)
    assert rel is not None, rid
    target = re.search(r'Target="([^"]+)"', rel.group()).group(1)  # type: ignore[union-attr]
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def rewrite(
    source: Path,
    dest: Path,
    changes: dict[str, Callable[[bytes], Iterator[bytes]]],
    stored: frozenset[str] = frozenset(),
) -> Path:
    """Copy a package, entry by entry; ``changes[name](old bytes)`` gives the new content in chunks (streamed
    into the entry, deflated fast), ``stored`` entries are not compressed."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(dest, "w", compresslevel=1) as new:
        for info in old.infolist():
            data = old.read(info)
            method = zipfile.ZIP_STORED if info.filename in stored else zipfile.ZIP_DEFLATED
            target = zipfile.ZipInfo(info.filename, info.date_time)
            target.compress_type = method
            # the streamed entries are deflated fast (the attribute is spelt so up to Python 3.12)
            target._compresslevel = 1  # type: ignore[attr-defined]
            if "compress_level" in dir(target):  # Python 3.13
                target.compress_level = 1  # type: ignore[attr-defined]
            if info.filename in changes:
                with new.open(target, "w", force_zip64=False) as out:
                    for chunk in changes[info.filename](data):
                        out.write(chunk)
            else:
                new.writestr(target, data, compress_type=method, compresslevel=6)
    return dest


def styled_empty_cells(source: Path, dest: Path, sheet: str, columns: int, style: int = 1) -> Path:
    """A format applied to whole columns as some producers store it: every cell of columns A.. up to
    ``columns`` of every row down to row 1,048,576 that holds no value is an empty cell with a style
    (``<c r="F9" s="1"/>``); the sheet's values are unchanged."""
    names = [column_letter(i).encode() for i in range(columns)]

    def change(xml: bytes) -> Iterator[bytes]:
        start = xml.index(b"<sheetData>") + len(b"<sheetData>")
        end = xml.index(b"</sheetData>")
        yield re.sub(
            rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:%s%d"/>' % (names[-1], EXCEL_ROWS), xml[:start]
        )
        last = 0
        for row in re.finditer(rb'<row r="(\d+)"[^>]*>(.*?)</row>', xml[start:end], re.S):
            number, body = int(row.group(1)), row.group(2)
            taken = {m.group(1) for m in re.finditer(rb'<c r="([A-Z]+)\d+"', body)}
            extra = b"".join(b'<c r="%s%d" s="%d"/>' % (n, number, style) for n in names if n not in taken)
            yield row.group(0)[: -len(b"</row>")] + extra + b"</row>"
            last = number
        empty = b'<row r="%d">' + b"".join(b'<c r="' + n + b'%d" s="' + b"%d" % style + b'"/>' for n in names)
        empty += b"</row>"
        block: list[bytes] = []
        for number in range(last + 1, EXCEL_ROWS + 1):
            block.append(empty % ((number,) * (columns + 1)))
            if len(block) == 4096:
                yield b"".join(block)
                block = []
        yield b"".join(block)
        yield xml[end:]

    part = sheet_part(source, sheet)
    return rewrite(source, dest, {part: change})


#: blanks repeating every 16 bytes: a fast deflater (level 1) packs them about 170:1, a thorough one 500:1
_BLANKS = b" \t \n  \r\t  \n \t \r "


def padded_sheet(source: Path, dest: Path, sheet: str, padding: int, stored: bool = True) -> Path:
    """The sheet's XML with ``padding`` bytes of blanks after ``</sheetData>``, stored uncompressed (a ratio
    of 1:1, which every check accepts) or deflated at level 1 (about 170:1, under the bomb check's 200:1);
    deflated at level 6 the same bytes shrink 500:1."""

    blanks = (_BLANKS * ((1 << 20) // len(_BLANKS)))[: 1 << 20]

    def change(xml: bytes) -> Iterator[bytes]:
        end = xml.index(b"</sheetData>") + len(b"</sheetData>")
        yield xml[:end]
        for _ in range(padding // (1 << 20)):
            yield blanks
        yield blanks[: padding % (1 << 20)]
        yield xml[end:]

    part = sheet_part(source, sheet)
    return rewrite(source, dest, {part: change}, stored=frozenset({part} if stored else ()))


def unused_shared_strings(source: Path, dest: Path, size: int) -> Path:
    """A shared strings part of about ``size`` bytes of long repeated texts (it deflates about 150:1, under
    every ratio limit) that no cell refers to: the sheets keep their inline strings."""
    text = ("Padding text that no cell of this workbook ever shows. " * 40).encode()
    item = b"<si><t>%s " + text + b"</t></si>"  # a serial number each: about 150:1 deflated
    count = max(1, size // len(item))
    head = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.openxmlformats'
        b'.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">' % (count, count)
    )
    content_types = "[Content_Types].xml"
    rels = "xl/_rels/workbook.xml.rels"
    with zipfile.ZipFile(source) as package:
        names = package.namelist()
        assert "xl/sharedStrings.xml" not in names, "the source already has shared strings"

    def strings(_: bytes) -> Iterator[bytes]:
        yield head
        serials = random.Random(7)
        for start in range(0, count, 1000):
            yield b"".join(
                item % serials.randbytes(6).hex().encode() for _ in range(min(1000, count - start))
            )
        yield b"</sst>"

    def with_type(xml: bytes) -> Iterator[bytes]:
        yield xml.replace(
            b"</Types>",
            b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
            b'officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        )

    def with_rel(xml: bytes) -> Iterator[bytes]:
        yield xml.replace(
            b"</Relationships>",
            b'<Relationship Id="rIdStrings" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            b'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        )

    changes = {content_types: with_type, rels: with_rel}
    rewrite(source, dest, changes)
    with zipfile.ZipFile(dest, "a") as package:
        info = zipfile.ZipInfo("xl/sharedStrings.xml", (2025, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with package.open(info, "w", force_zip64=False) as out:
            for chunk in strings(b""):
                out.write(chunk)
    return dest


def padded_shared_strings(source: Path, dest: Path, size: int) -> Path:
    """The workbook's own shared strings (cells use them) followed by about ``size`` bytes of texts no cell
    uses (about 115:1 deflated)."""
    text = ("Padding text that no cell of this workbook ever shows. " * 40).encode()
    item = b"<si><t>%s " + text + b"</t></si>"
    count = max(1, size // len(item))

    def change(xml: bytes) -> Iterator[bytes]:
        end = xml.rindex(b"</sst>")
        yield re.sub(rb'(count|uniqueCount)="\d+"', b"", xml[:end], count=2)
        serials = random.Random(7)
        for start in range(0, count, 1000):
            yield b"".join(
                item % serials.randbytes(6).hex().encode() for _ in range(min(1000, count - start))
            )
        yield xml[end:]

    return rewrite(source, dest, {"xl/sharedStrings.xml": change})

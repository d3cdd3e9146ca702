"""Safety checks on a workbook package, before python-calamine or any XML parser touches it.

They run in bounded time and memory: the file's first bytes say what it is, the zip's central directory is
checked without inflating anything, and XML parts are scanned only for their first bytes (a DTD can only sit
in the prolog). A sheet's cell range is bounded separately (``extent.py``), before a reader builds it.

Decisions on the hostile and unusual files of ``realworld_xlsx`` (see ``file_book.py`` too):
- ``poi_protected_passtika.xlsx`` is a CFB (OLE) container: an encrypted workbook. Error.
- ``poi_xlsx-corrupted.xlsx`` has ``_rels/.rels`` replaced by junk: no reader can find the workbook. Error.
- ``poi_xxe_in_schema.xlsx`` is *not* hostile to us: its "XXE" is an XML-Schema ``xs:redefine
  schemaLocation="http://localhost"`` inside ``xl/xmlMaps.xml`` (an Excel XML map). There is no DTD or
  entity anywhere; the URL would only be fetched by a schema processor, and nothing in this tool (nor
  calamine) parses that part: it is copied byte for byte like any other part we do not change. Refusing
  it would refuse every workbook with an XML map. It must work, and a test proves it does.
- A DOCTYPE in *any* XML part is an error: ECMA-376 Part 2 [M1.18] forbids DTDs in package parts and
  tells consumers to treat one as an error, so no genuine workbook carries one.
- Zip entries differing only by case (``poi_duplicate-filename-case-insensitive.xlsx``) are read: a
  relationship target resolves to the exactly matching name first.
"""

from __future__ import annotations

import os
import stat
import struct
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

from cpor_excel.errors import NotAWorkbook
from cpor_excel.io.xlsx.limits import MAX_RATIO, RATIO_FLOOR, too_packed
from cpor_excel.io.xlsx.zip_writer import data_start, name_bytes

__all__ = ["MAX_RATIO", "RATIO_FLOOR"]  # the limits, where the checks are

#: limits for hostile packages; a real 500,000-row workbook is ~25 MB zipped, ~150 MB unzipped
MAX_ENTRIES = 10_000
MAX_TOTAL_SIZE = 2 * 1024**3
MAX_CENTRAL_DIRECTORY = 64 * 1024**2
PROLOG_WINDOW = 64 * 1024
#: a part's prolog is looked for in its first bytes first (a real prolog is a line or two); only when they
#: do not settle it is the whole window inflated (a workbook opens with a dozen parts to scan, twice a run)
FIRST_LOOK = 1024

CFB_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
_XML_SUFFIXES = (".xml", ".rels", ".vml")


def open_zip(path: Path) -> tuple[zipfile.ZipFile, BinaryIO]:
    """The workbook's zip, opened once the file and its central directory passed the checks, and the one
    open file it reads (close both). Everything read from the package comes from that file, even when
    another program replaces the workbook meanwhile."""
    handle = open_regular(path)
    try:
        check_file(path, handle)
        entries = directory_entries(path, handle)
        if entries > MAX_ENTRIES:
            raise bomb(path, f"has {entries:,} zip entries (limit {MAX_ENTRIES:,})")
        try:
            archive = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, struct.error, EOFError) as err:
            raise damaged(path, f"its zip structure is damaged ({err})") from None
        try:
            check_entries(path, archive)
        except BaseException:
            archive.close()
            raise
    except BaseException:
        handle.close()
        raise
    return archive, handle


def open_regular(path: Path) -> BinaryIO:
    """Open the workbook file for reading, refusing what is not a regular file. A named pipe (FIFO) would
    block whoever opens it until a writer comes, so it is opened without waiting, and refused."""
    if not path.exists():
        raise NotAWorkbook(f"{path} does not exist: check the folder and the file name.")
    if path.is_dir():
        raise NotAWorkbook(f"{path} is a folder, not a workbook: give the path of an .xlsx or .xlsm file.")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise NotAWorkbook(
                f"{path.name} is not a regular file (a pipe, device or socket named like a workbook): give "
                "the path of an .xlsx or .xlsm file."
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def damaged(path: Path, what: str) -> NotAWorkbook:
    """The refusal of a damaged package: what is wrong, and that Excel may repair it."""
    return NotAWorkbook(
        f"{path.name} is damaged: {what}; open it in Excel (it may offer a repair) and save it again."
    )


def bomb(path: Path, what: str) -> NotAWorkbook:
    """The refusal of a package that looks built to exhaust memory or time."""
    return NotAWorkbook(
        f"{path.name} is refused as unsafe: it {what}, which looks like a zip bomb; "
        "use the original workbook saved by Excel."
    )


def check_file(path: Path, handle: BinaryIO) -> None:
    """Refuse what is not a zip package at all: .xls/.xlsb, an empty, encrypted or text file (``handle``:
    the file opened by ``open_regular``)."""
    suffix = path.suffix.lower()
    if suffix in (".xls", ".xlt"):
        raise NotAWorkbook(
            f"{path.name} is in the old Excel 97-2003 format: open it in Excel and save it as .xlsx "
            "(File > Save As > Excel Workbook)."
        )
    if suffix == ".xlsb":
        raise NotAWorkbook(f"{path.name} is a binary .xlsb workbook: open it in Excel and save it as .xlsx.")
    if suffix in (".ods", ".numbers"):
        raise NotAWorkbook(f"{path.name} is not an Excel workbook: open it and save it as .xlsx.")
    size = os.fstat(handle.fileno()).st_size
    handle.seek(0)
    head = handle.read(4096)
    if size == 0:
        raise NotAWorkbook(f"{path.name} is empty (0 bytes): use a workbook saved by Excel.")
    if head.startswith(CFB_MAGIC):
        raise NotAWorkbook(
            f"{path.name} is password-protected (encrypted) or an old .xls renamed: remove the password "
            "(File > Info > Protect Workbook > Encrypt with Password) and save it as .xlsx again."
        )
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return
    if _looks_like_text(head):
        raise NotAWorkbook(
            f"{path.name} is a text file (CSV or similar) named like a workbook: open it in Excel and "
            "save it as .xlsx (File > Save As > Excel Workbook)."
        )
    raise NotAWorkbook(
        f"{path.name} is not an Excel workbook (not a zip package): use an .xlsx or .xlsm file."
    )


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4:  # not just a character cut at the end of the window
            return False
        text = head[: err.start].decode("utf-8")
    return all(ch.isprintable() or ch in "\t\r\n" for ch in text)


def directory_entries(path: Path, handle: BinaryIO) -> int:
    """Entry count from the end-of-central-directory record, read before zipfile parses the directory."""
    size = os.fstat(handle.fileno()).st_size
    tail_len = min(size, 22 + 65535 + 20)
    handle.seek(size - tail_len)
    tail = handle.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise damaged(path, "it is truncated (no zip central directory)")
    _, _, _, total, cd_size, cd_offset, _ = struct.unpack("<4H2IH", tail[at + 4 : at + 22])
    if total == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        locator = tail[at - 20 : at] if at >= 20 else b""
        if not locator.startswith(b"PK\x06\x07"):
            raise damaged(path, "its zip64 directory is missing")
        (record_at,) = struct.unpack("<Q", locator[8:16])
        if record_at + 56 > size:
            raise damaged(path, "its zip64 directory is out of range")
        handle.seek(record_at)
        record = handle.read(56)
        if not record.startswith(b"PK\x06\x06"):
            raise damaged(path, "its zip64 directory is damaged")
        total, cd_size = struct.unpack("<QQ", record[32:48])
    if cd_size > MAX_CENTRAL_DIRECTORY:
        raise bomb(path, f"has a {cd_size:,}-byte zip directory")
    return int(total)


def check_entries(path: Path, archive: zipfile.ZipFile) -> None:
    """Refuse zip bombs (sizes, ratios, overlapping entries) and entries Excel never writes."""
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise bomb(path, f"has {len(infos):,} zip entries (limit {MAX_ENTRIES:,})")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise NotAWorkbook(
                f"{path.name} has encrypted zip entries: remove the protection and save it again in Excel."
            )
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise damaged(path, f"part {info.filename} uses a compression Excel does not write")
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise damaged(path, f"part {info.filename} has inconsistent sizes")
        total += info.file_size
        if too_packed(info.file_size, info.compress_size):
            ratio = info.file_size // max(info.compress_size, 1)
            raise bomb(path, f"has a part ({info.filename}) compressed {ratio:,}:1")
    if total > MAX_TOTAL_SIZE:
        raise bomb(path, f"unpacks to {total / 1024**3:.1f} GB (limit {MAX_TOTAL_SIZE // 1024**3} GB)")
    # Entries sharing compressed data ("overlapping" zip bombs) or pointing past the directory.
    spans = sorted((info.header_offset, 30 + len(name_bytes(info)) + info.compress_size) for info in infos)
    directory = archive.start_dir
    for (offset, length), (next_offset, _) in zip(spans, [*spans[1:], (directory, 0)], strict=True):
        if offset + length > next_offset:
            raise bomb(path, "has overlapping zip entries")


def scan_prologs(path: Path, archive: zipfile.ZipFile) -> None:
    """Refuse a package any of whose XML parts declares a DTD or entities (read only their first bytes)."""
    for info in archive.infolist():
        if not info.filename.lower().endswith(_XML_SUFFIXES) or info.file_size == 0:
            continue
        try:
            head = _first_bytes(archive, info, FIRST_LOOK)
            problem = prolog_problem(head, complete=info.file_size <= FIRST_LOOK)
            if problem is not None and info.file_size > FIRST_LOOK:  # not settled: the whole window
                with archive.open(info) as stream:
                    head = stream.read(PROLOG_WINDOW)
                problem = prolog_problem(head, complete=info.file_size <= PROLOG_WINDOW)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as err:
            raise damaged(path, f"part {info.filename} is damaged ({err})") from None
        if problem:
            raise NotAWorkbook(
                f"{path.name} is refused as unsafe: part {info.filename} {problem} "
                "(Excel never writes one); open it in Excel, save a fresh copy and use that."
            )


def _first_bytes(archive: zipfile.ZipFile, info: zipfile.ZipInfo, count: int) -> bytes:
    """The first ``count`` bytes of an entry, inflated: what ``archive.open(info).read(count)`` gives (the
    local header checked as zipfile checks it), without the set-up of a stream per entry, which costs more
    than the reading when a package of a dozen small parts is opened (three times per workbook of a batch).
    Only the package's opening reads the file meanwhile, so the shared file position is free."""
    file = archive.fp
    if file is None:
        raise ValueError("the zip file is closed")

    def read_at(at: int, size: int) -> bytes:
        file.seek(at)
        return file.read(size)

    file.seek(data_start(read_at, info))
    count = min(count, info.file_size)
    if info.compress_type == zipfile.ZIP_STORED:
        out = file.read(count)
    else:
        inflate = zlib.decompressobj(-zlib.MAX_WBITS)
        left, out = info.compress_size, b""
        while len(out) < count and left > 0:  # (a first read of 4 KB inflates to 1 KB of XML and more)
            data = file.read(min(left, 4096))
            left -= len(data)
            out += inflate.decompress(inflate.unconsumed_tail + data, count - len(out))
            if not data:
                break
    if len(out) < count:
        raise EOFError("the part ends before its declared size")
    return out


def prolog_problem(head: bytes, complete: bool) -> str | None:
    """What is unsafe in the prolog of an XML part (a DTD or entity declaration), or None.

    A DOCTYPE (and with it every ENTITY) can only come before the root element, so the prolog is
    all that needs reading. ``complete``: ``head`` is the whole part.
    """
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = head[: len(head) // 2 * 2].decode("utf-16", "replace")
    elif head[:4] == b"<\x00?\x00":
        text = head[: len(head) // 2 * 2].decode("utf-16-le", "replace")
    elif head[:4] == b"\x00<\x00?":
        text = head[: len(head) // 2 * 2].decode("utf-16-be", "replace")
    else:
        text = head.decode("utf-8", "replace")
    pos = 1 if text.startswith("\ufeff") else 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos >= len(text):
            return None if complete else "has an XML prolog too long to check"
        if text.startswith("<?", pos):
            end = "?>"
        elif text.startswith("<!--", pos):
            end = "-->"
        elif text.startswith("<!", pos):
            return "declares a DTD or entities (<!DOCTYPE/<!ENTITY: an XML bomb or external entity)"
        elif not complete and len(text) - pos < len("<!--"):
            return "has an XML prolog too long to check"  # cut before it shows what starts there
        else:
            return None  # the root element (or not XML at all: left to the parser)
        close = text.find(end, pos + 2)
        if close < 0:
            return None if complete else "has an XML prolog too long to check"
        pos = close + len(end)

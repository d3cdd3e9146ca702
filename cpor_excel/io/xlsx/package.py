"""The map of a workbook package (a zip of XML parts): its entries, relationships and sheets.

``open_package`` runs the safety checks (``safety.py``) before anything is parsed, then reads the map:
the content types, the relationships from the package root to the workbook part, and the sheets the
workbook part lists. Parts are read through the package, never beyond their declared size. Writing a new
package (untouched parts copied raw) goes through ``zip_writer.py``.
"""

from __future__ import annotations

import os
import posixpath
import zipfile
import zlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, cast
from urllib.parse import unquote
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException

from cpor_excel.errors import NotAWorkbook
from cpor_excel.io.xlsx.compact import Hidden
from cpor_excel.io.xlsx.inflate import Inflating
from cpor_excel.io.xlsx.safety import damaged, open_zip, scan_prologs
from cpor_excel.io.xlsx.zip_writer import ZipWriter, name_bytes

#: workbook and relationship parts are parsed whole (ElementTree: ~10x their size in memory); real ones
#: are a few MB even with thousands of defined names
MAX_PARSED_PART = 64 * 1024**2
#: inflated parts kept between the reader's checks and the writer (``Package.hand_over``), at most
MAX_HANDED = 512 * 1024**2
#: deflated parts at least this big are inflated by ISA-L (``inflate.py``): 6 times quicker than zipfile's zlib
#: already for a batch workbook's Associations sheet of 330 KB (0.14 instead of 0.86 ms); smaller parts (styles,
#: relationships) gain too little to matter
INFLATE_FROM = 64 * 1024
_PREAD = hasattr(os, "pread")
CONTENT_TYPES = "[Content_Types].xml"
REL_NS = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)


@dataclass(frozen=True)
class SheetInfo:
    """One ``<sheet>`` of workbook.xml. ``part`` is the zip entry name, or None when it cannot be found."""

    name: str
    sheet_id: int
    rid: str
    part: str | None
    kind: str  # worksheet, chartsheet, dialogsheet, xlMacrosheet, ... ("" when unknown)
    state: str  # visible, hidden, veryHidden


@dataclass(frozen=True)
class Relationship:
    rid: str
    type: str
    target: str  # as written
    part: str | None  # resolved zip entry name (None: external or missing)


def check_package(path: Path | str) -> None:
    """Raise NotAWorkbook (one line: what is wrong, what to do) unless ``path`` is a safe .xlsx/.xlsm."""
    open_package(path).close()


def open_package(path: Path | str) -> Package:
    """Run every package check and return the open package (close it, or use it as a context manager)."""
    path = Path(path)
    archive, file = open_zip(path)
    try:
        return Package(path, archive, file)
    except BaseException:
        archive.close()
        file.close()
        raise


class Package:
    """An open, checked workbook package: its entries, relationships and sheets."""

    def __init__(self, path: Path, archive: zipfile.ZipFile, file: BinaryIO) -> None:
        """``file``: the open file ``archive`` reads; raw copies and readers use it too, so the package
        is one file from opening to closing whatever happens to its name meanwhile."""
        self.path = path
        self.zip = archive
        self.file = file
        self.infos = archive.infolist()
        self._handed: dict[str, bytes] = {}
        self._hidden: dict[str, Hidden] = {}
        #: entry -> N, for sheets whose every cell tag is proved to start with a plain ref (``r="B7"``) in
        #: the first N columns (``check_sheet_extent`` proves it; the writer uses it instead of a new pass)
        self.plain_columns: dict[str, int] = {}
        self._exact = {info.filename: info for info in self.infos}
        self._folded: dict[str, str] = {}
        for info in self.infos:
            self._folded.setdefault(info.filename.casefold(), info.filename)
        if self.find(CONTENT_TYPES) is None:
            raise damaged(path, "it has no [Content_Types].xml part")
        scan_prologs(path, archive)
        #: the package's own relationships (to the workbook, its properties), as read on opening
        self.root_rels = root_rels = self.relationships("")
        office = [r for r in root_rels.values() if r.type.endswith("/officeDocument")]
        if not office or office[0].part is None:
            raise damaged(path, "it names no workbook part (_rels/.rels)")
        self.workbook = office[0].part
        workbook_rels = self.find(rels_part(self.workbook))
        if workbook_rels is None:
            raise damaged(path, f"it has no {rels_part(self.workbook)}")
        self.workbook_rels = workbook_rels
        self.rels = self.relationships(self.workbook)
        self.sheets = self._read_sheets()

    # --- entries -------------------------------------------------------------------------------------
    def find(self, name: str) -> str | None:
        """The entry name for part ``name``: an exact match first, then a case-insensitive one (OPC)."""
        if name in self._exact:
            return name
        return self._folded.get(name.casefold())

    def read(self, name: str) -> bytes:
        """An entry's bytes; a damaged entry is NotAWorkbook. Never inflates past the declared size."""
        entry = self.find(name)
        if entry is None:
            raise KeyError(name)
        handed = self._handed.pop(entry, None)
        if handed is not None and self._hidden.pop(entry, None) is None:
            return handed
        info = self._exact[entry]
        try:
            if self._by_isal(info):
                with Inflating(self.file.fileno(), info) as stream:
                    return stream.read()
            return self.zip.read(info)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as err:
            raise damaged(self.path, f"part {entry} is damaged ({err})") from None

    def size(self, name: str) -> int:
        """An entry's declared uncompressed size (0 when there is no such entry)."""
        entry = self.find(name)
        return 0 if entry is None else self._exact[entry].file_size

    def hand_over(self, name: str, data: bytes, hidden: Hidden | None = None) -> None:
        """Keep an entry's bytes, as ``read`` gave them, for the next ``read`` of it: a sheet the reader
        inflated for its checks is not inflated again by the writer (up to ``MAX_HANDED`` in all).
        ``hidden``: the bytes are a compact sheet (``compact.py``), which only ``take`` hands out."""
        entry = self.find(name)
        if entry is not None and sum(map(len, self._handed.values())) + len(data) <= MAX_HANDED:
            self._handed[entry] = data
            if hidden is not None:
                self._hidden[entry] = hidden

    def take(self, name: str) -> tuple[bytes, Hidden | None]:
        """An entry's bytes as ``read`` gives them, or, when the reader handed over a compact sheet, that
        and what it left out (the writer renders such a sheet from the original part)."""
        entry = self.find(name)
        hidden = self._hidden.pop(entry, None) if entry is not None else None
        if hidden is not None and entry in self._handed:
            return self._handed.pop(entry), hidden
        return self.read(name), None

    def open_part(self, name: str) -> IO[bytes]:
        """An entry as a stream, inflated as it is read (never past its declared size; CRC-checked at its
        end); a damaged entry is NotAWorkbook."""
        info = self.info(name)
        try:
            if self._by_isal(info):
                return cast(IO[bytes], Inflating(self.file.fileno(), info))
            return self.zip.open(info)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as err:
            raise damaged(self.path, f"part {name} is damaged ({err})") from None

    @staticmethod
    def _by_isal(info: zipfile.ZipInfo) -> bool:
        """A big deflated part is inflated by ISA-L (``inflate.py``), where ``os.pread`` exists."""
        return info.compress_type == zipfile.ZIP_DEFLATED and info.file_size >= INFLATE_FROM and _PREAD

    def verify(self, name: str) -> None:
        """Inflate an entry in chunks and check its CRC, without keeping it (bounded memory)."""
        entry = self.find(name)
        if entry is None:
            return
        try:
            with self.zip.open(self._exact[entry]) as stream:
                while stream.read(1 << 20):
                    pass
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as err:
            raise damaged(self.path, f"part {entry} is damaged ({err})") from None

    def info(self, name: str) -> zipfile.ZipInfo:
        entry = self.find(name)
        if entry is None:
            raise KeyError(name)
        return self._exact[entry]

    def close(self) -> None:
        self._handed.clear()
        self._hidden.clear()
        self.zip.close()
        self.file.close()

    def reader_path(self) -> str:
        """A path another reader (calamine) can open to read this very file: on Linux the process's own
        handle (``/proc/self/fd/N`` opens the file this package opened, even if it has been replaced or
        renamed since), elsewhere the file's name."""
        handle = f"/proc/self/fd/{self.file.fileno()}"
        return handle if os.path.exists(handle) else str(self.path)

    def __enter__(self) -> Package:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- structure -----------------------------------------------------------------------------------
    def parse(self, name: str) -> Element:
        """Parse a (small) XML part with defusedxml; a parse error is NotAWorkbook."""
        if self.info(name).file_size > MAX_PARSED_PART:
            raise NotAWorkbook(
                f"{self.path.name} is refused as unsafe: its part {name} is {self.info(name).file_size:,} bytes, "
                "far beyond any real workbook; use the original workbook saved by Excel."
            )
        data = self.read(name)
        try:
            return safe_et.fromstring(data, forbid_dtd=True)
        except (ParseError, DefusedXmlException, ValueError) as err:
            raise damaged(self.path, f"part {name} is not valid XML ({err})") from None

    def relationships(self, source: str) -> dict[str, Relationship]:
        """The relationships of part ``source`` ("" = the package), by Id, targets resolved to entries."""
        name = rels_part(source)
        if self.find(name) is None:
            return {}
        base = posixpath.dirname(source)
        found: dict[str, Relationship] = {}
        for el in self.parse(name):
            if _local(el.tag) != "Relationship":
                continue
            rid, rtype, target = el.get("Id", ""), el.get("Type", ""), el.get("Target", "")
            part = None if el.get("TargetMode") == "External" else self._resolve(base, target)
            found[rid] = Relationship(rid, rtype, target, part)
        return found

    def _resolve(self, base: str, target: str) -> str | None:
        joined = target.lstrip("/") if target.startswith("/") else posixpath.join(base, target)
        name = posixpath.normpath(joined)
        return self.find(name) or self.find(unquote(name))

    def _read_sheets(self) -> list[SheetInfo]:
        root = self.parse(self.workbook)
        #: the workbook part's root element's tag (its namespace tells strict from transitional)
        self.workbook_tag = root.tag
        elements = [el for el in root.iter() if _local(el.tag) == "sheet"]
        used = set()
        sheets: list[tuple[Element, str]] = []
        for el in elements:
            rid = next((v for k, v in el.attrib.items() if _local(k) == "id" and _ns(k) in REL_NS), "")
            used.add(rid)
            sheets.append((el, rid))
        # Sheets without r:id (cx_SheetsWithoutRelId.xlsx): pair them, in order, with the sheet
        # relationships nobody references, in order of their Id number.
        spare = sorted(
            (r for r in self.rels.values() if r.rid not in used and _sheet_kind(r.type)),
            key=lambda r: (len(r.rid), r.rid),
        )
        result = []
        for el, rid in sheets:
            if not rid and spare:
                rid = spare.pop(0).rid
            rel = self.rels.get(rid)
            result.append(
                SheetInfo(
                    name=el.get("name", ""),
                    sheet_id=_int(el.get("sheetId")),
                    rid=rid,
                    part=rel.part if rel else None,
                    kind=_sheet_kind(rel.type) if rel else "",
                    state=el.get("state", "visible"),
                )
            )
        return result

    def case_twins(self) -> set[str]:
        """Entries whose name differs from another entry's only by case, and that no workbook relationship
        names exactly: the copies a case-insensitive reader might pick instead of the real part."""
        seen: dict[str, list[str]] = {}
        for info in self.infos:
            seen.setdefault(info.filename.casefold(), []).append(info.filename)
        targets = {r.part for r in self.rels.values()} | {self.workbook, self.workbook_rels}
        return {name for names in seen.values() if len(names) > 1 for name in names if name not in targets}

    def worksheets(self) -> list[SheetInfo]:
        """The sheets that hold cells (not chart, dialog or macro sheets), in workbook order."""
        return [s for s in self.sheets if s.kind == "worksheet" and s.part is not None]

    # --- writing ---------------------------------------------------------------------------------------
    def write(
        self,
        dest: Path,
        replaced: Mapping[str, tuple[Iterable[bytes], int]],
        added: Sequence[tuple[str, Iterable[bytes], int]] = (),
        dropped: Collection[str] = (),
        parallel: bool = True,
    ) -> None:
        """Write a new package to ``dest``: entries in their order, untouched ones copied raw.

        ``replaced`` maps entry names to (new content as chunks, deflate level); chunks are compressed as
        they stream in. ``added`` entries go at the end; ``dropped`` ones are left out (parts the tool owns
        and no longer needs, such as a chart it stopped drawing). Raw copies keep the compressed bytes, CRC,
        timestamps and attributes of the original entry. ``parallel``: deflate and write on helper threads
        (see ``ZipWriter``).
        """
        if dest.exists() and self.path.exists() and os.path.samefile(dest, self.path):
            raise ValueError("write the new package to another file, then replace the original atomically")
        with open(dest, "w+b") as out:  # readable too: a part may be rewritten stored (ZipWriter)
            self.write_to(out, replaced, added, dropped, parallel=parallel)

    def write_to(
        self,
        out: IO[bytes],
        replaced: Mapping[str, tuple[Iterable[bytes], int]],
        added: Sequence[tuple[str, Iterable[bytes], int]] = (),
        dropped: Collection[str] = (),
        parallel: bool = True,
    ) -> None:
        """``write`` into a seekable binary stream (``dropped`` entries left out: for reader views only)."""
        with closing(_Positional(self.file, self.path)) as source, ZipWriter(out, parallel) as writer:
            for info in self.infos:
                if info.filename in dropped:
                    continue
                if info.filename in replaced:
                    chunks, level = replaced[info.filename]
                    if info.compress_type == zipfile.ZIP_STORED:
                        level = 0  # the producer stored it: so does the writer (its ratio stays 1:1)
                    writer.add(name_bytes(info), info.flag_bits & 0x800, chunks, level, info)
                else:
                    writer.copy(info, source)
            for name, chunks, level in added:
                utf8 = 0 if name.isascii() else 0x800
                writer.add(name.encode("utf-8"), utf8, chunks, level, None)
            writer.finish(self.zip.comment)


class _Positional:
    """Reads of the package's file at positions of their own (``os.pread``): the zip writer's raw copies
    never move the position zipfile reads from on another thread. Where there is no pread (Windows), a
    second handle on the file: Windows refuses to replace a file this process holds open, so it is the
    same file."""

    def __init__(self, file: BinaryIO, path: Path) -> None:
        self._fd = file.fileno()
        self._own = None if hasattr(os, "pread") else open(path, "rb")  # noqa: SIM115 (closed in close)
        self._at = 0

    def seek(self, offset: int) -> int:
        self._at = offset
        return offset

    def read(self, size: int) -> bytes:
        if self._own is None:
            data = os.pread(self._fd, size, self._at)
        else:
            self._own.seek(self._at)
            data = self._own.read(size)
        self._at += len(data)
        return data

    def close(self) -> None:
        if self._own is not None:
            self._own.close()


def rels_part(source: str) -> str:
    """The relationships part of ``source`` ("" = the package root)."""
    folder, name = posixpath.split(source)
    return posixpath.join(folder, "_rels", f"{name}.rels")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _ns(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _sheet_kind(rel_type: str) -> str:
    kind = rel_type.rsplit("/", 1)[-1]
    return (
        kind if kind in ("worksheet", "chartsheet", "dialogsheet", "xlMacrosheet", "xlIntlMacrosheet") else ""
    )


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0

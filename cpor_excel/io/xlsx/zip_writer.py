"""A minimal zip writer for the patch writer: untouched entries copied raw, new parts deflated in pieces.

Raw copies keep an entry's compressed bytes, CRC, timestamps and attributes. No zip64: the package limits
(``safety.py``) keep a workbook far below 4 GB.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import IO, Protocol

from isal import isal_zlib

from cpor_excel.errors import NotAWorkbook
from cpor_excel.io.xlsx.limits import too_packed
from cpor_excel.runtime import InlineExecutor


class RawSource(Protocol):
    """Where raw copies come from: the package's file, read at given positions."""

    def seek(self, offset: int) -> int: ...

    def read(self, size: int) -> bytes: ...


_DOS_EPOCH = (1980, 1, 1, 0, 0, 0)


def name_bytes(info: zipfile.ZipInfo) -> bytes:
    return info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")


def data_start(read_at: Callable[[int, int], bytes], info: zipfile.ZipInfo) -> int:
    """Where an entry's (compressed) data starts in its zip, its local header checked as zipfile checks it:
    the signature, and the name the central directory gives it. ``read_at(offset, size)`` reads the zip."""
    header = read_at(info.header_offset, 30)
    if len(header) < 30 or not header.startswith(b"PK\x03\x04"):
        raise zipfile.BadZipFile(f"bad local header for {info.filename}")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    if read_at(info.header_offset + 30, name_len) != name_bytes(info):
        raise zipfile.BadZipFile(f"file name in directory and header differ for {info.filename}")
    return info.header_offset + 30 + name_len + extra_len


#: new parts are deflated in pieces of about this size, two at a time
_PIECE = 1 << 20
_WINDOW = 1 << 15  # deflate's window: a piece is primed with the last 32 KB before it


def _pieces(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The chunks regrouped into pieces of at least ``_PIECE`` bytes (the last one may be smaller)."""
    small: list[bytes] = []
    held = 0
    for chunk in chunks:
        if held == 0 and len(chunk) >= _PIECE:
            yield chunk  # no copy
            continue
        small.append(chunk)
        held += len(chunk)
        if held >= _PIECE:
            yield b"".join(small)
            small, held = [], 0
    if held:
        yield b"".join(small)


def _dos_time(date_time: tuple[int, ...]) -> tuple[int, int]:
    year, month, day, hour, minute, second = date_time[:6]
    return (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day


def _without_zip64(extra: bytes) -> bytes:
    """Extra fields minus zip64 records (their sizes/offsets describe the old archive)."""
    out, pos = bytearray(), 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack("<HH", extra[pos : pos + 4])
        if pos + 4 + size > len(extra):
            return bytes(out)  # malformed tail: drop it
        if tag != 0x0001:
            out += extra[pos : pos + 4 + size]
        pos += 4 + size
    return bytes(out)


class _Entry:
    """An entry being written: where it starts and what its header will say."""

    def __init__(self, name: bytes, flags: int, template: zipfile.ZipInfo | None) -> None:
        self.name, self.flags, self.template = name, flags, template
        self.date_time = template.date_time if template else _DOS_EPOCH
        self.method = zipfile.ZIP_DEFLATED
        self.offset = self.crc = self.size = self.compressed = 0


#: levels up to this one are deflated by ISA-L (python-isal) at that level: 3 to 4 times quicker than zlib's
#: fast levels at about the same size (a 165 MB sheet: 0.14 s and 17.7 MB at ISA-L 2, 0.47 s and 17.5 MB at
#: zlib 2; a batch workbook's sheets 1.1 ms instead of 4.3). Higher levels (the small parts at 6) are zlib's.
ISAL_LEVELS = 2


def _deflate_piece(piece: bytes, primer: bytes, level: int) -> bytes:
    """A piece as raw deflate data that continues the stream before it (``primer``: its last bytes, up to
    32 KB) and ends on a byte boundary without closing it (a sync flush), the way pigz cuts a stream.
    Pieces so made, in order and followed by an empty final block, are one deflate stream."""
    if level > ISAL_LEVELS and not primer and len(piece) <= MEMO_PIECE:
        packed = _PACKED.get((piece, level))
        if packed is None:
            if len(_PACKED) >= MEMO_ENTRIES:
                _PACKED.clear()
            packed = _PACKED[(piece, level)] = _deflated(piece, primer, level)
        return packed
    return _deflated(piece, primer, level)


#: small parts deflated by zlib (the workbook part, relationships, content types, styles, drawings), as
#: deflated: a batch's workbooks, made from one template, write many the same, and zlib's level 6 costs
#: ten times the hashing of a part (the same bytes come out: zlib is deterministic)
_PACKED: dict[tuple[bytes, int], bytes] = {}
MEMO_PIECE = 64 * 1024
MEMO_ENTRIES = 128


def _deflated(piece: bytes, primer: bytes, level: int) -> bytes:
    engine = isal_zlib if level <= ISAL_LEVELS else zlib
    if primer:
        deflate = engine.compressobj(level, engine.DEFLATED, -15, 8, engine.Z_DEFAULT_STRATEGY, primer)
    else:
        deflate = engine.compressobj(level, engine.DEFLATED, -15)
    return deflate.compress(piece) + deflate.flush(engine.Z_SYNC_FLUSH)


_FINAL_BLOCK = zlib.compressobj(1, zlib.DEFLATED, -15).flush()


class ZipWriter:
    """A minimal zip writer that can copy entries raw (no zip64: the size limits keep us far below).

    New parts are deflated in pieces by two threads (zlib lets go of the GIL) while the caller renders
    the next chunk, and one more thread writes, task after task in order. At most a few pieces wait; an
    error in a thread is raised in the caller at its next step. Use it as a context manager: on the way
    out it waits for the threads (and leaves what is left undone on an error). ``parallel=False``: every
    step in the calling thread, for a package too small to pay for the hand-overs.
    """

    def __init__(self, out: IO[bytes], parallel: bool = True) -> None:
        self.out = out
        self.central: list[bytes] = []
        self._writer: Executor = ThreadPoolExecutor(1, "zip-writer") if parallel else InlineExecutor()
        self._deflaters: Executor = ThreadPoolExecutor(2, "zip-deflate") if parallel else InlineExecutor()
        self._queued: deque[Future[None]] = deque()

    def __enter__(self) -> ZipWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        try:
            if kind is None:
                self._wait(0)
        finally:
            self._writer.shutdown(wait=True, cancel_futures=True)
            self._deflaters.shutdown(wait=True, cancel_futures=True)

    def _run(self, task: Callable[..., None], *args: object) -> None:
        self._wait(4)  # bounded: each waiting task may hold a piece
        self._queued.append(self._writer.submit(task, *args))

    def _wait(self, backlog: int) -> None:
        while len(self._queued) > backlog:
            self._queued.popleft().result()

    def _offset(self) -> int:
        offset = self.out.tell()
        if offset >= 0xFFFFFFFF:
            raise NotAWorkbook("the workbook would exceed 4 GB, which this tool does not write.")
        return offset

    def copy(self, info: zipfile.ZipInfo, source: RawSource) -> None:
        self._run(self._copy, info, source)

    def _copy(self, info: zipfile.ZipInfo, source: RawSource) -> None:
        source.seek(info.header_offset)
        header = source.read(30)
        if len(header) < 30 or not header.startswith(b"PK\x03\x04"):
            raise NotAWorkbook(
                f"part {info.filename} is damaged: open the workbook in Excel and save it again."
            )
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        source.seek(info.header_offset + 30 + name_len)
        local_extra = _without_zip64(source.read(extra_len))
        name = name_bytes(info)
        flags = info.flag_bits & ~0x08  # sizes go in the header: no trailing data descriptor
        offset = self._offset()
        self._local_header(
            info.extract_version,
            flags,
            info.compress_type,
            info.date_time,
            info.CRC,
            info.compress_size,
            info.file_size,
            name,
            local_extra,
        )
        left = info.compress_size
        while left > 0:
            chunk = source.read(min(left, 1 << 20))
            if not chunk:
                raise NotAWorkbook(
                    f"part {info.filename} is truncated: open the workbook in Excel and save it."
                )
            self.out.write(chunk)
            left -= len(chunk)
        self._central_record(
            info, name, flags, info.compress_type, info.CRC, info.compress_size, info.file_size, offset
        )

    def add(
        self,
        name: bytes,
        utf8_flag: int,
        chunks: Iterable[bytes],
        level: int,
        template: zipfile.ZipInfo | None,
    ) -> None:
        """A new entry from ``chunks``: deflated at ``level``, or stored as it is (``level`` 0)."""
        entry = _Entry(name, utf8_flag, template)
        entry.method = zipfile.ZIP_DEFLATED if level else zipfile.ZIP_STORED
        self._run(self._start, entry)
        primer = b""
        for piece in _pieces(chunks):
            if level:
                packed = self._deflaters.submit(_deflate_piece, piece, primer, level)
            else:
                packed = Future()
                packed.set_result(piece)
            self._run(self._write_piece, entry, piece, packed)
            primer = piece[-_WINDOW:]
        self._run(self._end, entry)

    def _start(self, entry: _Entry) -> None:
        entry.offset = self._offset()
        self._local_header(20, entry.flags, entry.method, entry.date_time, 0, 0, 0, entry.name, b"")

    def _write_piece(self, entry: _Entry, piece: bytes, packed: Future[bytes]) -> None:
        entry.crc = isal_zlib.crc32(piece, entry.crc)  # (the same CRC as zlib's, ten times quicker)
        entry.size += len(piece)
        data = packed.result()
        entry.compressed += len(data)
        self.out.write(data)

    def _end(self, entry: _Entry) -> None:
        if entry.method == zipfile.ZIP_DEFLATED:
            entry.compressed += len(_FINAL_BLOCK)
            self.out.write(_FINAL_BLOCK)
            if too_packed(entry.size, entry.compressed):
                self._store_instead(entry)
        crc, compressed, size = entry.crc, entry.compressed, entry.size
        if size >= 0xFFFFFFFF or compressed >= 0xFFFFFFFF:
            raise NotAWorkbook("a sheet would exceed 4 GB, which this tool does not write.")
        end = self.out.tell()
        self.out.seek(entry.offset + 8)
        self.out.write(struct.pack("<H", entry.method))
        self.out.seek(entry.offset + 14)
        self.out.write(struct.pack("<3I", crc, compressed, size))
        self.out.seek(end)
        info = entry.template or zipfile.ZipInfo(entry.name.decode("utf-8"), entry.date_time)
        if entry.template is None:
            info.create_system, info.create_version, info.extract_version = 0, 20, 20
        self._central_record(info, entry.name, entry.flags, entry.method, crc, compressed, size, entry.offset)

    def _store_instead(self, entry: _Entry) -> None:
        """Rewrite the entry just deflated as stored: it deflated further than the bomb check lets a part
        (padding), and the tool must read back what it writes. Its deflated bytes are few by then."""
        start = entry.offset + 30 + len(entry.name)
        self.out.seek(start)
        packed = self.out.read(entry.compressed)
        inflate = zlib.decompressobj(-15)
        self.out.seek(start)
        data = inflate.decompress(packed, _PIECE)
        while data:
            self.out.write(data)
            data = inflate.decompress(inflate.unconsumed_tail, _PIECE)
        self.out.truncate()
        entry.method, entry.compressed = zipfile.ZIP_STORED, entry.size

    def _local_header(
        self,
        version: int,
        flags: int,
        method: int,
        date_time: tuple[int, ...],
        crc: int,
        csize: int,
        usize: int,
        name: bytes,
        extra: bytes,
    ) -> None:
        dos_time, dos_date = _dos_time(date_time)
        self.out.write(
            struct.pack(
                "<4s5H3I2H",
                b"PK\x03\x04",
                version,
                flags,
                method,
                dos_time,
                dos_date,
                crc,
                csize,
                usize,
                len(name),
                len(extra),
            )
            + name
            + extra
        )

    def _central_record(
        self,
        info: zipfile.ZipInfo,
        name: bytes,
        flags: int,
        method: int,
        crc: int,
        csize: int,
        usize: int,
        offset: int,
    ) -> None:
        dos_time, dos_date = _dos_time(info.date_time)
        extra = _without_zip64(info.extra)
        comment = info.comment
        self.central.append(
            struct.pack(
                "<4s6H3I5H2I",
                b"PK\x01\x02",
                (info.create_system << 8) | info.create_version,
                info.extract_version,
                flags,
                method,
                dos_time,
                dos_date,
                crc,
                csize,
                usize,
                len(name),
                len(extra),
                len(comment),
                0,
                info.internal_attr,
                info.external_attr,
                offset,
            )
            + name
            + extra
            + comment
        )

    def finish(self, comment: bytes) -> None:
        self._run(self._finish, comment)
        self._wait(0)

    def _finish(self, comment: bytes) -> None:
        start = self._offset()
        for record in self.central:
            self.out.write(record)
        size = self.out.tell() - start
        count = len(self.central)
        self.out.write(struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, count, count, size, start, len(comment)))
        self.out.write(comment)

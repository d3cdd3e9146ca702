"""Package safety: every hostile or broken file fails with NotAWorkbook (exit 3) in bounded time and memory,
before calamine or an XML parser sees it; unusual but genuine packages still work."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
from writer_helpers import HOSTILE, openpyxl_book, realworld

from cpor_excel.errors import NotAWorkbook
from cpor_excel.io.file_book import FileBook
from cpor_excel.io.xlsx import extent, package, safety
from cpor_excel.io.xlsx.extent import MAX_CELLS, sheet_extent
from cpor_excel.io.xlsx.package import check_package


@pytest.fixture()
def book(tmp_path: Path) -> Path:
    return openpyxl_book(tmp_path / "book.xlsx", {"Data": [["Tenant ID", "Workload"], ["t1", "EXO"]]})


def rezip(
    source: Path, dest: Path, replace: dict[str, bytes] | None = None, drop: tuple[str, ...] = ()
) -> Path:
    """A copy of a package with some parts replaced or dropped (deflated)."""
    replace = dict(replace or {})
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if info.filename not in drop:
                new.writestr(info.filename, replace.pop(info.filename, None) or old.read(info))
        for name, data in replace.items():
            new.writestr(name, data)
    return dest


def refused(path: Path) -> str:
    with pytest.raises(NotAWorkbook) as caught:
        check_package(path)
    message = str(caught.value)
    assert "\n" not in message and caught.value.exit_code == 3
    return message


# --- not a workbook at all -----------------------------------------------------------------------------


def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert "does not exist" in refused(tmp_path / "nope.xlsx")
    assert "folder" in refused(tmp_path)


@pytest.mark.parametrize(
    ("name", "words"),
    [("old.xls", "97-2003"), ("binary.xlsb", ".xlsb"), ("sheet.ods", "save it as .xlsx")],
)
def test_other_spreadsheet_formats_say_save_as_xlsx(tmp_path: Path, name: str, words: str) -> None:
    path = tmp_path / name
    path.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 504)
    message = refused(path)
    assert words in message and "xlsx" in message


def test_encrypted_workbook_cfb_header(tmp_path: Path) -> None:
    path = tmp_path / "secret.xlsx"
    path.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + os.urandom(4000))
    assert "password" in refused(path)


def test_csv_named_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "usage.xlsx"
    path.write_text("Tenant ID;Workload\nabc;Exchange Online\n", encoding="utf-8")
    assert "text file" in refused(path)


def test_empty_and_binary_junk(tmp_path: Path) -> None:
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    assert "empty" in refused(empty)
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(bytes(range(256)) * 8)
    assert "not a zip" in refused(junk)


def test_truncated_zip(book: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(book.read_bytes()[: book.stat().st_size // 2])
    assert "truncated" in refused(cut)


def test_corrupt_central_directory(book: Path, tmp_path: Path) -> None:
    data = bytearray(book.read_bytes())
    directory = data.rfind(b"PK\x01\x02")
    data[directory : directory + 4] = b"XXXX"
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(bytes(data))
    assert "damaged" in refused(bad)


def test_missing_content_types_and_workbook(book: Path, tmp_path: Path) -> None:
    assert "Content_Types" in refused(rezip(book, tmp_path / "a.xlsx", drop=("[Content_Types].xml",)))
    assert "workbook" in refused(rezip(book, tmp_path / "b.xlsx", drop=("xl/workbook.xml",)))
    junk_rels = {"_rels/.rels": b'<?xml version="1.0"?>\nCORRUPTED'}
    assert "_rels/.rels" in refused(rezip(book, tmp_path / "c.xlsx", replace=junk_rels))


# --- bombs ---------------------------------------------------------------------------------------------


def test_zip_bomb_refused_from_the_directory_alone(book: Path, tmp_path: Path) -> None:
    """200 MB of sheet XML deflated to ~200 KB: refused without inflating it, in well under a second."""
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(book) as old, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                new.writestr(info, old.read(info))
        with new.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            chunk = b" " * (1 << 20)
            for _ in range(200):
                part.write(chunk)
            part.write(b"<sheetData/></worksheet>")
    assert bomb.stat().st_size < 1_000_000
    started = time.perf_counter()
    message = refused(bomb)
    assert "zip bomb" in message and time.perf_counter() - started < 1.0


def test_total_size_and_entry_count_limits(
    book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(safety, "MAX_TOTAL_SIZE", 2000)
    assert "unpacks to" in refused(book)
    monkeypatch.undo()
    many = tmp_path / "many.xlsx"
    with zipfile.ZipFile(book) as old, zipfile.ZipFile(many, "w") as new:
        for info in old.infolist():
            new.writestr(info, old.read(info))
        for i in range(safety.MAX_ENTRIES + 1):
            new.writestr(f"junk/{i}", b"")
    assert "entries" in refused(many)


def test_oversized_workbook_part(book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with zipfile.ZipFile(book) as archive:
        padded = archive.read("xl/workbook.xml") + b" " * 200_000  # trailing whitespace: still valid XML
    big = rezip(book, tmp_path / "big.xlsx", replace={"xl/workbook.xml": padded})
    check_package(big)
    monkeypatch.setattr(package, "MAX_PARSED_PART", 100_000)
    assert "xl/workbook.xml is 20" in refused(big)


def test_overlapping_entries_zip_bomb(book: Path, tmp_path: Path) -> None:
    """Two directory entries pointing at the same data (the 'overlapping files' bomb)."""
    data = bytearray(book.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        infos = archive.infolist()
        first_offset = infos[0].header_offset
    records = [i for i in range(len(data)) if data[i : i + 4] == b"PK\x01\x02"]
    struct.pack_into("<I", data, records[1] + 42, first_offset)  # entry 2 -> entry 1's data
    bad = tmp_path / "overlap.xlsx"
    bad.write_bytes(bytes(data))
    assert "overlapping" in refused(bad)


def billion_laughs() -> bytes:
    lol = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    return (
        f'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">{lol}]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
        '<c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>'
    ).encode()


def test_billion_laughs_sheet(book: Path, tmp_path: Path) -> None:
    bomb = rezip(book, tmp_path / "lol.xlsx", replace={"xl/worksheets/sheet1.xml": billion_laughs()})
    assert "DTD" in refused(bomb)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_external_entity_in_shared_strings(book: Path, tmp_path: Path, encoding: str) -> None:
    xxe = (
        f'<?xml version="1.0" encoding="{encoding.upper()}"?>\n<!-- a comment first -->\n'
        '<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&xxe;</t></si></sst>'
    ).encode(encoding)
    bomb = rezip(book, tmp_path / "xxe.xlsx", replace={"xl/sharedStrings.xml": xxe})
    assert "DTD" in refused(bomb)


def test_prolog_scan() -> None:
    assert safety.prolog_problem(b'<?xml version="1.0"?><!-- x --><root/>', complete=True) is None
    assert safety.prolog_problem(b"\xef\xbb\xbf<root/>", complete=True) is None
    assert safety.prolog_problem(b"<!DOCTYPE x><root/>", complete=True) is not None
    assert (
        safety.prolog_problem(b"<?xml?>\n<!-- c -->\n<!-- d -->\n<!DOCTYPE x><r/>", complete=True) is not None
    )
    assert safety.prolog_problem(b"<!-- " + b"x" * 100, complete=False) is not None  # cannot see the root
    assert safety.prolog_problem(b"<!-- " + b"x" * 100, complete=True) is None  # not XML: the parser says
    assert safety.prolog_problem(b"<?xml?>\n<", complete=False) is not None  # "<" of "<!DOCTYPE" or a root?


@pytest.mark.parametrize("at", [200, 1019, 1021, 1022, 1023, 1024, 1025, 5000])
def test_doctype_wherever_the_prolog_ends(book: Path, tmp_path: Path, at: int) -> None:
    """A DTD after a long prolog is refused wherever it starts, around the end of the first bytes scanned
    too; the same part with a root element there is read."""
    lead = b'<?xml version="1.0"?>\n<!--'
    pad = lead + b"x" * (at - len(lead) - 3) + b"-->"
    assert len(pad) == at
    sheet = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>'
    bomb = rezip(
        book, tmp_path / "late.xlsx", replace={"xl/worksheets/sheet1.xml": pad + b"<!DOCTYPE x>" + sheet}
    )
    assert "DTD" in refused(bomb)
    fine = rezip(book, tmp_path / "fine.xlsx", replace={"xl/worksheets/sheet1.xml": pad + sheet})
    check_package(fine)


@pytest.mark.parametrize("how", ["stored", "long extra field", "deflated"])
def test_doctype_found_however_the_part_is_zipped(book: Path, tmp_path: Path, how: str) -> None:
    """The prolog scan sees a DTD in a stored part and in a part whose local header carries a long extra
    field as in a plain deflated one; the same packages with a plain sheet are read."""
    sheet = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>'

    def packed(name: str, first: bytes) -> Path:
        dest = tmp_path / name
        with zipfile.ZipFile(book) as old, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as new:
            for info in old.infolist():
                data = first + sheet if info.filename == "xl/worksheets/sheet1.xml" else old.read(info)
                entry = zipfile.ZipInfo(info.filename, info.date_time)
                entry.compress_type = zipfile.ZIP_STORED if how == "stored" else zipfile.ZIP_DEFLATED
                if how == "long extra field":
                    entry.extra = struct.pack("<HH", 0xCAFE, 300) + b"\0" * 300
                new.writestr(entry, data)
        return dest

    assert "DTD" in refused(packed("bomb.xlsx", b'<?xml version="1.0"?><!DOCTYPE x>'))
    check_package(packed("fine.xlsx", b'<?xml version="1.0"?>'))


def test_a_local_header_naming_another_part_is_damaged(book: Path, tmp_path: Path) -> None:
    """An entry whose local header names another file than the directory says is refused as damaged."""
    data = bytearray(book.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = next(i for i in archive.infolist() if i.filename == "xl/worksheets/sheet1.xml")
    at = info.header_offset + 30 + len("xl/worksheets/")
    data[at : at + 5] = b"SHEET"
    bad = tmp_path / "renamed.xlsx"
    bad.write_bytes(bytes(data))
    assert "damaged" in refused(bad)


# --- absurd dimensions ---------------------------------------------------------------------------------

SHEET = '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{}</sheetData></worksheet>'


def sheet_with(rows: str, prefix: str = "") -> bytes:
    xml = SHEET.format(rows)
    if prefix:
        xml = xml.replace("<", f"<{prefix}:").replace(f"<{prefix}:/", f"</{prefix}:")
        xml = xml.replace(f'<{prefix}:worksheet xmlns="', f'<{prefix}:worksheet xmlns:{prefix}="')
    return xml.encode()


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ('<row r="1"><c r="A1"><v>1</v></c><c r="E1"><v>1</v></c></row>', (999_999, 49)),  # fast path bound
        (
            '<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="XFD1048576"><v>1</v></c></row>',
            (1048576, 16384),
        ),
        ('<row r="1"><c r="A1048576"><v>1</v></c><c r="XFD1"><v>1</v></c></row>', (1048576, 16384)),
        ("<row><c><v>1</v></c><c><v>2</v></c></row><row><c/></row>", (2, 2)),  # no refs: counted
        ('<row r="7"><c><v>1</v></c></row><row><c r="C1"><v>1</v></c></row>', (8, 3)),
    ],
)
def test_sheet_extent_bounds_what_a_reader_builds(rows: str, expected: tuple[int, int]) -> None:
    bound = sheet_extent(sheet_with(rows))
    assert bound[0] >= expected[0] and bound[1] >= expected[1]
    if expected[0] * expected[1] > MAX_CELLS:
        assert bound[0] * bound[1] > MAX_CELLS


def test_sheet_extent_sees_prefixed_cells() -> None:
    xml = sheet_with('<row r="1"><c r="A1"><v>1</v></c><c r="XFD1048576"><v>1</v></c></row>', prefix="x")
    assert b"<x:c " in xml
    rows, cols = sheet_extent(xml)
    assert rows * cols > MAX_CELLS


def test_absurd_dimensions_refused_before_calamine(book: Path, tmp_path: Path) -> None:
    """Two cells claiming A1:XFD1048576: calamine would try to allocate 17 billion cells and abort the process;
    read_rows refuses first. Run in a child with a 3 GB address-space cap, so a regression fails cleanly."""
    xml = sheet_with('<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'
                     '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')  # fmt: skip
    bad = rezip(book, tmp_path / "wide.xlsx", replace={"xl/worksheets/sheet1.xml": xml})
    child = textwrap.dedent(
        f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
        from cpor_excel.errors import NotAWorkbook
        from cpor_excel.io.file_book import FileBook
        with FileBook({str(bad)!r}) as book:
            try:
                book.read_rows("Data")
            except NotAWorkbook as err:
                print("REFUSED", err)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "REFUSED" in result.stdout and "1,048,576 rows x 16,384 columns" in result.stdout


def test_wide_tall_sheets_are_proved_not_walked() -> None:
    """60 columns: past the fast path. The claim (last row, <dimension>) is proved by regex passes."""
    cells = "".join(f'<c r="{_letters(c)}{{r}}"><v>1</v></c>' for c in range(60))
    rows = "".join(f'<row r="{r}">{cells.format(r=r)}</row>' for r in range(1, 2001))
    xml = sheet_with(rows).replace(b"<sheetData>", b'<dimension ref="A1:BH2000"/><sheetData>')
    assert sheet_extent(xml) == (2000, 60)
    hidden = xml.replace(b'<c r="A7">', b'<c r="A7000000">')  # a far cell the claim does not cover
    assert sheet_extent(hidden) == (7_000_000, 60)  # not proved: walked, exactly


@pytest.mark.parametrize("number", [0, 7, 9, 10, 99, 1048576, 500001])
def test_numbers_above(number: int) -> None:
    import re

    pattern = re.compile(extent._numbers_above(number) + rb"\Z")
    for candidate in range(max(0, number - 30), number + 30):
        assert bool(pattern.match(str(candidate).encode())) == (candidate > number)
    assert pattern.match(str(number * 10 + 5).encode())


def test_wide_but_reasonable_sheet_reads(book: Path, tmp_path: Path) -> None:
    """100 columns x 3 rows takes the slow path of the extent check and still reads."""
    cells = "".join(f'<c r="{_letters(c)}{{r}}"><v>{c}</v></c>' for c in range(100))
    rows = "".join(f'<row r="{r}">{cells.format(r=r)}</row>' for r in (1, 2, 3))
    wide = rezip(book, tmp_path / "wide.xlsx", replace={"xl/worksheets/sheet1.xml": sheet_with(rows)})
    with FileBook(wide) as fb:
        values = fb.read_rows("Data")
    assert len(values) == 3 and values[2][99] == 99.0


def _letters(index: int) -> str:
    from cpor_excel.model.headers import column_letter

    return column_letter(index)


# --- the real-world files ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_realworld_files_refused(name: str) -> None:
    message = refused(realworld(name))
    assert HOSTILE[name] in message


def test_xxe_in_xml_map_schema_is_not_hostile() -> None:
    """The 'XXE' of poi_xxe_in_schema.xlsx is an xs:redefine schemaLocation in xl/xmlMaps.xml (an Excel XML
    map): no DTD, nothing the tool parses. The workbook must work (io/xlsx/safety.py says why)."""
    path = realworld("poi_xxe_in_schema.xlsx")
    check_package(path)
    with FileBook(path) as fb:
        rows = fb.read_rows("Sheet1")
    assert rows[8][2:5] == ["/Test/Test", "Column1", "Column2"]


def test_zip_entries_differing_only_by_case_are_read() -> None:
    path = realworld("poi_duplicate-filename-case-insensitive.xlsx")
    with FileBook(path) as fb:
        assert fb.sheet_names() == ["v1"]
        assert fb.read_rows("v1") == [["v1"]]  # the relationship target (sheet1.xml), not its case twin


def test_checks_are_fast_on_real_workbooks() -> None:
    folder = realworld()
    started = time.perf_counter()
    for path in folder.glob("*.xls*"):
        try:
            check_package(path)
        except NotAWorkbook:
            assert path.name in HOSTILE
    assert time.perf_counter() - started < 10


def test_lying_entry_size_fails_cleanly(book: Path, tmp_path: Path) -> None:
    """A part whose directory entry understates its size is cut at the declared size and fails its CRC."""
    data = bytearray(book.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("xl/styles.xml")
        local = info.header_offset
    records = [i for i in range(len(data)) if data[i : i + 4] == b"PK\x01\x02"]
    for record in records:
        name_len = struct.unpack_from("<H", data, record + 28)[0]
        if data[record + 46 : record + 46 + name_len] == b"xl/styles.xml":
            struct.pack_into("<I", data, record + 24, 10)  # uncompressed size: 10 bytes
    struct.pack_into("<I", data, local + 22, 10)
    bad = tmp_path / "liar.xlsx"
    bad.write_bytes(bytes(data))
    with pytest.raises(NotAWorkbook, match="damaged"), FileBook(bad) as fb:
        fb.read_rows("Data")


def _patched_entry(source: Path, dest: Path, part: str, field: str, value: int) -> Path:
    """A copy of a package whose directory and local header say ``field`` (crc, size) is ``value`` for ``part``."""
    data = bytearray(source.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        local = archive.getinfo(part).header_offset
    central, at_local = {"crc": (16, 14), "size": (24, 22)}[field]
    for record in [i for i in range(len(data)) if data[i : i + 4] == b"PK\x01\x02"]:
        name_len = struct.unpack_from("<H", data, record + 28)[0]
        if data[record + 46 : record + 46 + name_len] == part.encode():
            struct.pack_into("<I", data, record + central, value)
    struct.pack_into("<I", data, local + at_local, value)
    dest.write_bytes(bytes(data))
    return dest


@pytest.mark.parametrize(("field", "change"), [("crc", 1), ("size", -1), ("size", 1)])
def test_a_big_damaged_sheet_fails_cleanly(tmp_path: Path, field: str, change: int) -> None:
    """A sheet of megabytes (inflated by ISA-L) whose CRC or declared size is wrong is refused as damaged,
    like a small one; the same sheet intact reads."""
    rows = [["Tenant ID", "Workload"], *([f"tenant-{i:06d}-{'x' * 40}", "Exchange"] for i in range(25_000))]
    good = openpyxl_book(tmp_path / "good.xlsx", {"Data": rows})
    part = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(good) as archive:
        info = archive.getinfo(part)
    assert info.file_size >= package.INFLATE_FROM
    with FileBook(good, write=False) as fb:
        assert fb.read_rows("Data")[-1] == rows[-1]
    value = (info.CRC ^ change) if field == "crc" else info.file_size + change
    bad = _patched_entry(good, tmp_path / "bad.xlsx", part, field, value)
    with pytest.raises(NotAWorkbook, match="damaged"), FileBook(bad, write=False) as fb:
        fb.read_rows("Data")


@pytest.mark.parametrize(
    ("at", "value"),
    [(0, b"PK\x09\x09"), (30, b"xl/styleZ.xml")],  # no local header where the directory points; another name
    ids=["magic", "name"],
)
@pytest.mark.parametrize("compress", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED], ids=["deflated", "stored"])
def test_a_part_whose_local_header_is_broken_is_refused_as_damaged(
    book: Path, tmp_path: Path, at: int, value: bytes, compress: int
) -> None:
    """The prolog scan reads every XML part's first bytes through its local header: a header that is not
    one, or that names another part, is a damaged package."""
    source = tmp_path / "source.xlsx"
    with zipfile.ZipFile(book) as old, zipfile.ZipFile(source, "w", compress) as new:
        for info in old.infolist():
            new.writestr(info.filename, old.read(info))
    check_package(source)
    data = bytearray(source.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        offset = archive.getinfo("xl/styles.xml").header_offset
    data[offset + at : offset + at + len(value)] = value
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(bytes(data))
    with pytest.raises(NotAWorkbook, match="damaged"):
        check_package(bad)

"""The Dashboard sheet: a run writes it as "Dashboard" and the next run replaces it; a partner's own sheet
called Dashboard is never touched (the tool's goes to "CPOR Dashboard" beside it); the "CPOR Dashboard" an
earlier version wrote is renamed Dashboard, never doubled. The file writer and the Excel button alike."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
from ooxml_validator import findings, new_errors, validator
from writer_helpers import entries, sheet_part
from xlwings_double import calls, make_book, sheet_rows

from cpor_excel.apply import dashboard_place
from cpor_excel.excel.live_book import LiveBook
from cpor_excel.io.xlsx.patch import XlsxPatch
from cpor_excel.io.xlsx.sheet_titles import app_titles, renamed_sheet
from cpor_excel.model.dashboard import Chart, Dashboard, Series, Table
from cpor_excel.run import run_workbook
from cpor_excel.sample import create_sample
from tests.conftest import AS_OF

TITLE = "CPOR Dashboard"  # what the tool writes in A1 of its dashboard
MINE = [["My KPIs", None], ["Revenue", 1200], ["Margin", 0.31]]  # the partner's own Dashboard sheet


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("small") / "partner.xlsx"
    create_sample(path, customers=10, as_of=AS_OF)
    return path


def run(source: Path, out: Path, as_of: dt.date = AS_OF) -> Path:
    run_workbook(
        source, out=out, as_of=as_of, drafts_dir=out.parent / "drafts", run_at=dt.datetime(2025, 11, 30)
    )
    assert new_errors(source, out) == []  # Excel opens it without repair
    return out


def names(book: Path) -> list[str]:
    return openpyxl.load_workbook(book, read_only=True).sheetnames


def a1(book: Path, sheet: str) -> object:
    return openpyxl.load_workbook(book, read_only=True)[sheet]["A1"].value


def with_sheets(source: Path, dest: Path, sheets: dict[str, list[list[object]]]) -> Path:
    wb = openpyxl.load_workbook(source)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(dest)
    return dest


def chart_sheets(book: Path) -> set[str]:
    """The sheets the charts' series refer to."""
    found = set()
    for name, data in entries(book).items():
        if name.startswith("xl/charts/"):
            found |= {m.decode() for m in re.findall(rb"<c:f>'((?:[^']|'')+)'!", data)}
    return found


def board() -> Dashboard:
    chart = Chart("Claims by status", ["Draft", "Approved"], [Series("Claims", [2, 5])], horizontal=True)
    return Dashboard(
        TITLE, ["As of 2025-11-30."], [chart], [Table("Needs action now", ["Claim ID"], [["C-1"]])]
    )


def test_a_run_writes_the_dashboard_and_the_next_run_replaces_it(small: Path, tmp_path: Path) -> None:
    first = run(small, tmp_path / "1.xlsx")
    second = run(first, tmp_path / "2.xlsx", dt.date(2025, 12, 31))
    assert names(first)[-1] == "Dashboard" and "CPOR Dashboard" not in names(first)
    assert names(second) == names(first)
    assert a1(second, "Dashboard") == TITLE
    assert chart_sheets(second) == {"Dashboard"}


def test_a_partners_own_dashboard_is_never_replaced(small: Path, tmp_path: Path) -> None:
    source = with_sheets(small, tmp_path / "in.xlsx", {"Dashboard": MINE})
    first = run(source, tmp_path / "1.xlsx")
    second = run(first, tmp_path / "2.xlsx", dt.date(2025, 12, 31))
    part = sheet_part(source, "Dashboard")
    for out in (first, second):
        assert sheet_part(out, "Dashboard") == part
        assert entries(out)[part] == entries(source)[part]  # byte for byte
        assert names(out).count("CPOR Dashboard") == 1 and a1(out, "CPOR Dashboard") == TITLE
    assert names(second) == names(first)
    assert chart_sheets(second) == {"CPOR Dashboard"}


def test_with_both_names_the_partners_no_dashboard_is_written(small: Path, tmp_path: Path) -> None:
    theirs = [["Their own notes"]]
    source = with_sheets(small, tmp_path / "in.xlsx", {"Dashboard": MINE, "CPOR Dashboard": theirs})
    out = run(source, tmp_path / "out.xlsx")
    for sheet in ("Dashboard", "CPOR Dashboard"):
        assert entries(out)[sheet_part(out, sheet)] == entries(source)[sheet_part(source, sheet)]
    assert [n for n in names(out) if "dashboard" in n.casefold()] == ["Dashboard", "CPOR Dashboard"]
    assert chart_sheets(out) == set()


def test_the_dashboard_an_earlier_version_wrote_is_renamed_not_doubled(small: Path, tmp_path: Path) -> None:
    old = tmp_path / "old.xlsx"
    with XlsxPatch(small) as patch:  # what versions before the rename wrote
        patch.replace_dashboard("CPOR Dashboard", board())
        patch.save(old)
    assert names(old)[-1] == "CPOR Dashboard"
    out = run(old, tmp_path / "out.xlsx")
    listed = names(out)
    assert "CPOR Dashboard" not in listed and listed.count("Dashboard") == 1
    assert listed.index("Dashboard") == names(old).index("CPOR Dashboard")  # renamed where it was
    assert sheet_part(out, "Dashboard") == sheet_part(old, "CPOR Dashboard")
    assert a1(out, "Dashboard") == TITLE and chart_sheets(out) == {"Dashboard"}
    again = run(out, tmp_path / "again.xlsx")
    assert names(again) == listed


def test_a_rename_carries_the_defined_names_that_point_at_the_sheet() -> None:
    workbook = (
        b'<workbook><sheets><sheet name="Usage" sheetId="1" r:id="rId1"/>'
        b'<sheet name="CPOR Dashboard" sheetId="2" r:id="rId2"/></sheets><definedNames>'
        b'<definedName name="_xlnm.Print_Area" localSheetId="1">\'CPOR Dashboard\'!$A$1:$H$40</definedName>'
        b'<definedName name="Totals">Usage!$A$1,MyCPOR Dashboard!$B$2</definedName></definedNames></workbook>'
    )
    assert renamed_sheet(workbook, "CPOR Dashboard", "Dashboard") == (
        b'<workbook><sheets><sheet name="Usage" sheetId="1" r:id="rId1"/>'
        b'<sheet name="Dashboard" sheetId="2" r:id="rId2"/></sheets><definedNames>'
        b'<definedName name="_xlnm.Print_Area" localSheetId="1">\'Dashboard\'!$A$1:$H$40</definedName>'
        b'<definedName name="Totals">Usage!$A$1,MyCPOR Dashboard!$B$2</definedName></definedNames></workbook>'
    )
    assert renamed_sheet(workbook, "Usage", "Usage & Pay").count(b"'Usage &amp; Pay'!$A$1") == 1


def test_the_excel_button_renames_an_earlier_dashboard_and_spares_the_partners() -> None:
    earlier = make_book(
        {"Associations": [["Claim ID"], ["C-1"]], "CPOR Dashboard": [[TITLE], ["As of 2025-10-31."]]}
    )
    live = LiveBook(earlier)
    place = dashboard_place(live)
    assert place == ("Dashboard", "CPOR Dashboard")
    live.replace_dashboard(*place[:1], board(), renaming=place[1])
    assert [s.name for s in earlier.sheets] == ["Associations", "Dashboard"]
    assert calls(earlier, "rename") == [("rename", "CPOR Dashboard", "Dashboard")]
    assert sheet_rows(earlier, "Dashboard")[0][0] == TITLE

    theirs = make_book({"Associations": [["Claim ID"], ["C-1"]], "Dashboard": MINE})
    live = LiveBook(theirs)
    place = dashboard_place(live)
    assert place == ("CPOR Dashboard", None)
    live.replace_dashboard(place[0], board(), renaming=place[1])
    assert [s.name for s in theirs.sheets] == ["Associations", "Dashboard", "CPOR Dashboard"]
    assert sheet_rows(theirs, "Dashboard") == MINE
    assert sheet_rows(theirs, "CPOR Dashboard")[0][0] == TITLE


APP = (
    b'<?xml version="1.0" encoding="UTF-8"?><Properties xmlns="ep" xmlns:vt="vt"><Application>Microsoft Excel'
    b'</Application><TitlesOfParts><vt:vector size="4" baseType="lpstr"><vt:lpstr>Usage</vt:lpstr><vt:lpstr>CPOR '
    b"Dashboard</vt:lpstr><vt:lpstr>R&amp;D</vt:lpstr><vt:lpstr>Usage!Print_Area</vt:lpstr></vt:vector>"
    b'</TitlesOfParts><HeadingPairs><vt:vector size="4" baseType="variant"><vt:variant><vt:lpstr>Worksheets'
    b"</vt:lpstr></vt:variant><vt:variant><vt:i4>3</vt:i4></vt:variant><vt:variant><vt:lpstr>Named Ranges"
    b"</vt:lpstr></vt:variant><vt:variant><vt:i4>1</vt:i4></vt:variant></vt:vector></HeadingPairs></Properties>"
)


def test_app_xml_titles_follow_the_sheets_a_save_adds_and_renames() -> None:
    before = ["Usage", "CPOR Dashboard", "R&D"]
    after = ["Usage", "Dashboard", "R&D", "CPOR Report", "Run Log"]
    got = app_titles(APP, before, after, {"CPOR Dashboard": "Dashboard"})
    assert got == (
        APP.replace(b'size="4" baseType="lpstr"', b'size="6" baseType="lpstr"')
        .replace(b"CPOR Dashboard</vt:lpstr>", b"Dashboard</vt:lpstr>")
        .replace(
            b"R&amp;D</vt:lpstr>",
            b"R&amp;D</vt:lpstr><vt:lpstr>CPOR Report</vt:lpstr><vt:lpstr>Run Log</vt:lpstr>",
        )
        .replace(b"<vt:i4>3</vt:i4>", b"<vt:i4>5</vt:i4>")
    )
    assert app_titles(APP, before, before, {}) is None  # nothing to change: the part stays as it was
    stale = APP.replace(b"<vt:i4>3</vt:i4>", b"<vt:i4>2</vt:i4>")  # counts that disagree with the titles
    assert app_titles(stale, before, after, {}) is None
    assert app_titles(b"<Properties><Application>x</Application></Properties>", before, after, {}) is None


def test_a_run_keeps_app_xml_in_step_with_the_sheets(small: Path, tmp_path: Path) -> None:
    """The earlier version's dashboard renamed and the tool sheets added, in a workbook whose app.xml lists its
    sheets as Excel writes it."""
    old = tmp_path / "old.xlsx"
    with XlsxPatch(small) as patch:
        patch.replace_dashboard("CPOR Dashboard", board())
        patch.save(old)
    listed = names(old)
    app = (
        b'<?xml version="1.0" encoding="UTF-8"?><Properties xmlns="http://schemas.openxmlformats.org/officeDocument/'
        b'2006/extended-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        b'<HeadingPairs><vt:vector size="2" baseType="variant"><vt:variant><vt:lpstr>Worksheets</vt:lpstr>'
        b"</vt:variant><vt:variant><vt:i4>%d</vt:i4></vt:variant></vt:vector></HeadingPairs><TitlesOfParts>"
        b'<vt:vector size="%d" baseType="lpstr">%s</vt:vector></TitlesOfParts></Properties>'
    ) % (len(listed), len(listed), b"".join(b"<vt:lpstr>%s</vt:lpstr>" % n.encode() for n in listed))
    titled = tmp_path / "titled.xlsx"
    with zipfile.ZipFile(old) as src, zipfile.ZipFile(titled, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, app if info.filename == "docProps/app.xml" else src.read(info))
    out = run(titled, tmp_path / "out.xlsx")
    root = ElementTree.fromstring(entries(out)["docProps/app.xml"])
    titles = [
        e.text
        for e in root.iter("{http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes}lpstr")
    ]
    assert titles == ["Worksheets", *names(out)]
    counts = root.iter("{http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes}i4")
    assert [int(e.text or 0) for e in counts] == [len(names(out))]
    new = validator().new_findings(findings(titled), findings(out))
    assert [f for f in new if f["part"].endswith("app.xml")] == []

"""The Excel add-in and the standalone workbook: built from the installed xlwings' own templates.

Excel itself is not available in CI, so these tests check the packages: valid zips, the VBA project byte for
byte the template's, the ribbon and button XML, content types, and - by decompressing the VBA source
(MS-OVBA) - that the macros the ribbon and the button call really run ``import <file name>; ....main()``.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from defusedxml import ElementTree

from cpor_excel.cli import main as cli
from cpor_excel.errors import CporError, UsageError
from cpor_excel.excel import addin
from cpor_excel.excel.addin import build_addin, build_workbook

xw = pytest.importorskip("xlwings")

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
UI = "{http://schemas.microsoft.com/office/2006/01/customui}"
CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
XL = "{urn:schemas-microsoft-com:office:excel}"


# ------------------------------------------------------------------ reading VBA source out of vbaProject.bin


def _ole_streams(data: bytes) -> dict[str, bytes]:
    """Streams of an OLE compound file by path ("VBA/dir"): just enough of [MS-CFB] for vbaProject.bin."""
    sector = 1 << struct.unpack_from("<H", data, 30)[0]
    mini = 1 << struct.unpack_from("<H", data, 32)[0]
    n_fat, dir_start = struct.unpack_from("<I", data, 44)[0], struct.unpack_from("<I", data, 48)[0]
    cutoff, minifat_start = struct.unpack_from("<I", data, 56)[0], struct.unpack_from("<I", data, 60)[0]
    difat = list(struct.unpack_from("<109I", data, 76))
    more = struct.unpack_from("<I", data, 68)[0]

    def read_sector(i: int) -> bytes:
        return data[512 + i * sector : 512 + (i + 1) * sector]

    per = sector // 4
    while more < 0xFFFFFFFA:
        entries = struct.unpack(f"<{per}I", read_sector(more))
        difat += entries[:-1]
        more = entries[-1]
    fat: list[int] = []
    for i in difat[:n_fat]:
        fat += struct.unpack(f"<{per}I", read_sector(i))

    def chain(start: int, table: list[int]) -> list[int]:
        out = []
        while start < 0xFFFFFFFA:
            out.append(start)
            start = table[start]
        return out

    directory = b"".join(read_sector(i) for i in chain(dir_start, fat))
    entries = []
    for k in range(len(directory) // 128):
        e = directory[k * 128 : (k + 1) * 128]
        name = e[: max(struct.unpack_from("<H", e, 64)[0] - 2, 0)].decode("utf-16-le")
        left, right, child = struct.unpack_from("<3I", e, 68)
        entries.append((name, e[66], left, right, child, *struct.unpack_from("<IQ", e, 116)))
    ministream = b"".join(read_sector(i) for i in chain(entries[0][5], fat))
    minifat: list[int] = []
    for i in chain(minifat_start, fat):
        minifat += struct.unpack(f"<{per}I", read_sector(i))

    def content(start: int, size: int) -> bytes:
        if size < cutoff:
            return b"".join(ministream[s * mini : (s + 1) * mini] for s in chain(start, minifat))[:size]
        return b"".join(read_sector(i) for i in chain(start, fat))[:size]

    streams: dict[str, bytes] = {}

    def walk(index: int, prefix: str) -> None:
        if index == 0xFFFFFFFF:
            return
        name, kind, left, right, child, start, size = entries[index]
        walk(left, prefix)
        walk(right, prefix)
        if kind == 2:
            streams[prefix + name] = content(start, size)
        elif kind == 1:
            walk(child, f"{prefix}{name}/")

    walk(entries[0][4], "")
    return streams


def _decompress(data: bytes) -> bytes:
    """[MS-OVBA] 2.4.1 decompression."""
    assert data[0] == 1
    out = bytearray()
    pos = 1
    while pos < len(data):
        header = struct.unpack_from("<H", data, pos)[0]
        end, chunk_start = pos + (header & 0x0FFF) + 3, len(out)
        pos += 2
        if not header & 0x8000:
            out += data[pos : pos + 4096]
            pos += 4096
            continue
        while pos < end:
            flags = data[pos]
            pos += 1
            for bit in range(8):
                if pos >= end:
                    break
                if not flags & (1 << bit):
                    out.append(data[pos])
                    pos += 1
                    continue
                token = struct.unpack_from("<H", data, pos)[0]
                pos += 2
                bits = max((len(out) - chunk_start - 1).bit_length(), 4)
                length, offset = (token & (0xFFFF >> bits)) + 3, (token >> (16 - bits)) + 1
                for _ in range(length):
                    out.append(out[-offset])
    return bytes(out)


def vba_modules(vba_project: bytes) -> dict[str, str]:
    """Module name -> VBA source text."""
    streams = _ole_streams(vba_project)
    directory = _decompress(streams["VBA/dir"])
    modules, i, name = {}, 0, ""
    while i < len(directory):
        record, size = struct.unpack_from("<HI", directory, i)
        i += 6
        size = 6 if record == 0x0009 else size  # PROJECTVERSION's size field lies
        body = directory[i : i + size]
        i += size
        if record == 0x001A:
            name = body.decode("latin-1")
        elif record == 0x0031:
            offset = struct.unpack("<I", body)[0]
            modules[name] = _decompress(streams[f"VBA/{name}"][offset:]).decode("latin-1")
    return modules


def _sub(source: str, name: str) -> str:
    match = re.search(rf"^Sub {name}\b.*?^End Sub", source, flags=re.S | re.M)
    assert match, f"no Sub {name}"
    return match.group(0)


# --------------------------------------------------------------------------------------------- fixtures


def template(name: str) -> Path:
    return Path(xw.__file__).parent / name


def parts_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
        return {n: z.read(n) for n in z.namelist()}


@pytest.fixture(scope="module")
def addin_parts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return parts_of(build_addin(tmp_path_factory.mktemp("addin")))


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path, sidecar = build_workbook(tmp_path_factory.mktemp("book") / "cpor_excel.xlsm")
    assert sidecar is None
    return path


# ----------------------------------------------------------------------------------------------- add-in


def test_addin_copies_template_parts_and_vba_byte_for_byte(addin_parts: dict[str, bytes]) -> None:
    original = parts_of(template(addin.RIBBON_TEMPLATE))
    assert list(addin_parts) == list(original)
    changed = sorted(n for n in original if original[n] != addin_parts[n])
    assert changed == ["customUI/customUI.xml"]
    assert addin_parts["xl/vbaProject.bin"] == original["xl/vbaProject.bin"]


def test_ribbon_is_relabelled_and_runs_the_templates_macro(addin_parts: dict[str, bytes]) -> None:
    root = ElementTree.fromstring(addin_parts["customUI/customUI.xml"])
    assert root.tag == f"{UI}customUI"
    tabs = list(root.iter(f"{UI}tab"))
    buttons = list(root.iter(f"{UI}button"))
    assert [t.get("label") for t in tabs] == ["CPOR"]
    assert [(b.get("label"), b.get("size")) for b in buttons] == [("Run CPOR checks", "large")]
    original = ElementTree.fromstring(parts_of(template(addin.RIBBON_TEMPLATE))["customUI/customUI.xml"])
    assert buttons[0].get("onAction") == next(original.iter(f"{UI}button")).get("onAction")


def test_ribbon_macro_imports_the_addin_file_name_and_calls_main(addin_parts: dict[str, bytes]) -> None:
    """cpor_excel.xlam -> the VBA runs `import cpor_excel; cpor_excel.main()` (no VBA edited)."""
    on_action = next(ElementTree.fromstring(addin_parts["customUI/customUI.xml"]).iter(f"{UI}button")).get(
        "onAction"
    )
    module, sub = on_action.split(".")
    modules = vba_modules(addin_parts["xl/vbaProject.bin"])
    body = _sub(modules[module], sub)
    assert "ThisWorkbook.Name" in body
    assert re.search(r'RunPython "import " & (\w+) & ";" & \1 & "\.main\(\)"', body)
    assert addin.ADDIN_NAME.rsplit(".", 1)[0] == "cpor_excel"


def test_vba_is_the_installed_xlwings_version(addin_parts: dict[str, bytes], standalone: Path) -> None:
    for vba in (addin_parts["xl/vbaProject.bin"], parts_of(standalone)["xl/vbaProject.bin"]):
        source = vba_modules(vba)["xlwings"]
        assert f'XLWINGS_VERSION As String = "{xw.__version__}"' in source


def _config_sheet(parts: dict[str, bytes]) -> tuple[list[str], dict[str, str]]:
    """(sheet names, config key -> column B text) of an add-in package."""
    workbook = ElementTree.fromstring(parts["xl/workbook.xml"])
    names = [s.get("name") for s in workbook.iter(f"{MAIN}sheet")]
    strings = [
        "".join(t.text or "" for t in si.iter(f"{MAIN}t"))
        for si in ElementTree.fromstring(parts["xl/sharedStrings.xml"]).iter(f"{MAIN}si")
    ]
    sheet = ElementTree.fromstring(parts["xl/worksheets/sheet1.xml"])
    values: dict[str, str] = {}
    for row in sheet.iter(f"{MAIN}row"):
        cells = {c.get("r")[0]: c for c in row.iter(f"{MAIN}c")}
        if "A" in cells and cells["A"].get("t") == "s":
            key = strings[int(cells["A"].find(f"{MAIN}v").text)]
            b = cells.get("B")
            values[key] = "" if b is None else "".join(t.text or "" for t in b.iter(f"{MAIN}t"))
    return names, values


def test_python_settings_go_into_the_activated_config_sheet(tmp_path: Path) -> None:
    settings = {"Interpreter_Win": r"C:\Users\Zoë & Co\envs\<cpor>\python.exe", "Conda Env": "cpor"}
    parts = parts_of(build_addin(tmp_path, settings))
    names, values = _config_sheet(parts)
    assert names == [addin.ADDIN_CONFIG_ACTIVE]
    assert values["Interpreter_Win"] == settings["Interpreter_Win"]
    assert values["Conda Env"] == "cpor"
    assert values["Interpreter_Mac"] == "" and values["Conda Path"] == ""
    original = parts_of(template(addin.RIBBON_TEMPLATE))
    changed = sorted(n for n in original if original[n] != parts[n])
    assert changed == ["customUI/customUI.xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml"]


def test_python_settings_follow_xlwings_config_create() -> None:
    ps = addin.python_settings
    assert ps("/opt/py/bin/python") == {
        "Interpreter_Win": "/opt/py/bin/python",
        "Interpreter_Mac": "/opt/py/bin/python",
    }
    assert ps(platform="win32", executable=r"C:\Py\python.exe", environ={}) == {
        "Interpreter_Win": r"C:\Py\python.exe"
    }
    assert ps(platform="darwin", executable="/usr/local/bin/python3", environ={}) == {
        "Interpreter_Mac": "/usr/local/bin/python3"
    }
    conda = {"CONDA_DEFAULT_ENV": "cpor", "CONDA_EXE": r"C:\Users\ana\miniconda3\Scripts\conda.exe"}
    assert ps(platform="win32", executable="x", environ=conda) == {
        "Conda Path": r"C:\Users\ana\miniconda3",
        "Conda Env": "cpor",
    }
    assert ps(platform="linux", executable="/usr/bin/python3", environ={}) == {}


def test_an_unknown_setting_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CporError, match="not laid out as expected"):
        build_addin(tmp_path, {"Interpreter_Linux": "/usr/bin/python3"})
    assert not (tmp_path / addin.ADDIN_NAME).exists()


def test_without_interpreter_the_config_sheet_stays_inactive(addin_parts: dict[str, bytes]) -> None:
    names, values = _config_sheet(addin_parts)
    assert names == [addin.ADDIN_CONFIG_SHEET]
    assert values["Interpreter_Win"] == ""


def test_addin_rebuild_replaces_and_bad_folder_fails(tmp_path: Path) -> None:
    first = build_addin(tmp_path)
    first.write_bytes(b"stale")
    again = build_addin(tmp_path)
    assert again == first and zipfile.is_zipfile(again)
    assert [p.name for p in tmp_path.iterdir()] == [addin.ADDIN_NAME]  # no temporary left behind
    with pytest.raises(CporError, match="does not exist"):
        build_addin(tmp_path / "missing")


def test_cli_excel_addin(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["excel-addin", "--out", str(tmp_path), "--interpreter", "/opt/py/bin/python"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cpor_excel.xlam").is_file()
    _, values = _config_sheet(parts_of(tmp_path / "cpor_excel.xlam"))
    assert "/opt/py/bin/python" in (values["Interpreter_Win"], values["Interpreter_Mac"])
    result = CliRunner().invoke(cli, ["excel-addin", "--out", str(tmp_path / "nope"), "--no-interpreter"])
    assert result.exit_code == 3
    assert result.output.startswith("Error: ") and "Traceback" not in result.output


def test_missing_xlwings_is_a_cannot_run_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "xlwings" else real(name, *a)
    )
    with pytest.raises(CporError, match=r"pip install"):
        build_addin(tmp_path)


# ------------------------------------------------------------------------------------ standalone workbook


def test_standalone_workbook_is_macro_enabled(standalone: Path) -> None:
    parts = parts_of(standalone)
    types = ElementTree.fromstring(parts["[Content_Types].xml"])
    overrides = {o.get("PartName"): o.get("ContentType") for o in types.iter(f"{CT}Override")}
    defaults = {d.get("Extension"): d.get("ContentType") for d in types.iter(f"{CT}Default")}
    assert overrides["/xl/workbook.xml"] == "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
    assert overrides["/xl/vbaProject.bin"] == "application/vnd.ms-office.vbaProject"
    assert defaults["vml"] == "application/vnd.openxmlformats-officedocument.vmlDrawing"
    # every part is typed, and no .xlsx main type is left
    for name in parts:
        if not name.endswith(".rels") and name != "[Content_Types].xml":
            assert f"/{name}" in overrides or name.rsplit(".", 1)[-1] in defaults, name
    assert "spreadsheetml.sheet.main+xml" not in parts["[Content_Types].xml"].decode()
    rels = ElementTree.fromstring(parts["xl/_rels/workbook.xml.rels"])
    vba = [r for r in rels.iter(f"{RELS}Relationship") if r.get("Type").endswith("/vbaProject")]
    assert [r.get("Target") for r in vba] == ["vbaProject.bin"]


def test_standalone_vba_is_the_templates_byte_for_byte(standalone: Path) -> None:
    original = parts_of(template(addin.STANDALONE_TEMPLATE))["xl/vbaProject.bin"]
    assert parts_of(standalone)["xl/vbaProject.bin"] == original


def test_button_runs_a_macro_that_calls_runpython(standalone: Path) -> None:
    parts = parts_of(standalone)
    sheets = addin._sheet_parts(parts)
    sheet_part = sheets[addin.BUTTON_SHEET]
    sheet = ElementTree.fromstring(parts[sheet_part])
    legacy = sheet.find(f"{MAIN}legacyDrawing")
    assert legacy is not None
    rid = legacy.get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id")
    folder, name = sheet_part.rsplit("/", 1)
    rels = ElementTree.fromstring(parts[f"{folder}/_rels/{name}.rels"])
    target = next(r.get("Target") for r in rels.iter(f"{RELS}Relationship") if r.get("Id") == rid)
    vml = ElementTree.fromstring(parts[addin._resolve(sheet_part, target)])
    data = next(vml.iter(f"{XL}ClientData"))
    assert data.get("ObjectType") == "Button"
    macro = data.find(f"{XL}FmlaMacro").text
    assert macro == f"[0]!{addin.STANDALONE_MACRO}"
    assert "Run CPOR checks" in "".join(vml.itertext())
    module = next(src for src in vba_modules(parts["xl/vbaProject.bin"]).values() if "Sub SampleCall" in src)
    body = _sub(module, addin.STANDALONE_MACRO)
    assert "ThisWorkbook.Name" in body
    assert re.search(r'RunPython "import " & (\w+) & ";" & \1 & "\.main\(\)"', body)
    # only the button sheet has a drawing; the data sheets are untouched by controls
    others = [p for n, p in sheets.items() if n != addin.BUTTON_SHEET]
    assert all(b"legacyDrawing" not in parts[p] for p in others)


def test_standalone_keeps_the_template_and_opens_in_openpyxl(standalone: Path, tmp_path: Path) -> None:
    from cpor_excel.workbook_new import create_template

    plain = create_template(tmp_path / "plain.xlsx")
    book = openpyxl.load_workbook(standalone, keep_vba=True)
    reference = openpyxl.load_workbook(plain)
    assert book.sheetnames == reference.sheetnames
    assert book.vba_archive is not None
    assert book.code_name == "ThisWorkbook"
    assert [ws.sheet_properties.codeName for ws in book.worksheets] == [
        f"Sheet{i}" for i in range(1, len(book.worksheets) + 1)
    ]
    for ws in reference.worksheets:
        mine = book[ws.title]
        assert list(mine.values) == list(ws.values), ws.title
        assert mine.sheet_state == ws.sheet_state
        assert [(v.sqref, v.formula1) for v in mine.data_validations.dataValidation] == [
            (v.sqref, v.formula1) for v in ws.data_validations.dataValidation
        ]
    # byte level: every part but the patched bookkeeping is the template's
    a, b = parts_of(plain), parts_of(standalone)
    new = sorted(set(b) - set(a))
    settings = reference.sheetnames.index("Settings") + 1  # the button sits on the Settings sheet
    assert new == [
        "xl/drawings/vmlDrawing1.vml", "xl/vbaProject.bin", f"xl/worksheets/_rels/sheet{settings}.xml.rels",
    ]  # fmt: skip
    for name in a:
        if name.startswith("xl/worksheets/sheet"):
            # the sheets differ only by their code name (and the Settings sheet's drawing)
            stripped = re.sub(rb' codeName="Sheet\d+"', b"", b[name])
            stripped = re.sub(rb'<legacyDrawing r:id="rId\d+"/>', b"", stripped)
            stripped = stripped.replace(
                b' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"', b""
            )
            assert stripped == a[name], name
        elif name not in (
            "[Content_Types].xml",
            "xl/workbook.xml",
            "xl/_rels/workbook.xml.rels",
            "docProps/core.xml",  # openpyxl stamps the creation time: files made a second apart differ
        ):
            assert a[name] == b[name], name


def test_other_names_get_a_sidecar_module_that_forwards_to_cpor_excel(tmp_path: Path) -> None:
    path, sidecar = build_workbook(tmp_path / "contoso_cpor.xlsm")
    assert sidecar == tmp_path / "contoso_cpor.py"
    spec = importlib.util.spec_from_file_location("contoso_cpor", sidecar)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import cpor_excel

    assert module.main is cpor_excel.main
    assert zipfile.is_zipfile(path)


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("partner.xlsx", UsageError),  # no macros in an .xlsx
        ("my book.xlsm", UsageError),  # `import my book` cannot work
        ("2025_cpor.xlsm", UsageError),
        ("class.xlsm", UsageError),
        ("json.xlsm", UsageError),  # would import the standard library's json
    ],
)
def test_names_the_button_cannot_import_are_refused(tmp_path: Path, name: str, error: type) -> None:
    with pytest.raises(error):
        build_workbook(tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_existing_files_are_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "cpor_excel.xlsm").write_bytes(b"mine")
    with pytest.raises(CporError, match="already exists"):
        build_workbook(tmp_path / "cpor_excel.xlsm")
    assert (tmp_path / "cpor_excel.xlsm").read_bytes() == b"mine"
    (tmp_path / "acme.py").write_text("print('mine')\n")
    with pytest.raises(CporError, match=r"acme\.py already exists"):
        build_workbook(tmp_path / "acme.xlsm")
    assert not (tmp_path / "acme.xlsm").exists()


def test_cli_excel_workbook_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["excel-workbook", str(tmp_path / "acme_cpor.xlsm")])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "acme_cpor.xlsm").is_file() and (tmp_path / "acme_cpor.py").is_file()
    assert runner.invoke(cli, ["excel-workbook", str(tmp_path / "acme_cpor.xlsm")]).exit_code == 3
    bad = runner.invoke(cli, ["excel-workbook", str(tmp_path / "bad name.xlsm")])
    assert bad.exit_code == 2 and bad.output.startswith("Error: ")


def test_the_engine_reads_the_standalone_workbook(standalone: Path) -> None:
    pytest.importorskip("cpor_excel.io.file_book")
    pytest.importorskip("cpor_excel.rules.prepare")
    from cpor_excel.model.findings import Severity
    from cpor_excel.run import check_workbook

    report = check_workbook(standalone)
    codes = {f.code for f in report.findings}
    assert "example-program" in codes  # the template's Milestones are marked as an example
    assert report.count(Severity.ERROR) == 0


def test_a_file_run_on_the_standalone_workbook_keeps_its_button(standalone: Path, tmp_path: Path) -> None:
    """`cpor-excel run` on the .xlsm (the patch writer) must leave the macros and the button alone."""
    pytest.importorskip("cpor_excel.io.file_book")
    from cpor_excel.run import run_workbook

    copy = tmp_path / "cpor_excel.xlsm"
    shutil.copyfile(standalone, copy)
    run_workbook(copy, as_of=dt.date(2025, 11, 30), drafts_dir=tmp_path / "drafts")
    before, after = parts_of(standalone), parts_of(copy)
    assert after["xl/vbaProject.bin"] == before["xl/vbaProject.bin"]
    assert after["xl/drawings/vmlDrawing1.vml"] == before["xl/drawings/vmlDrawing1.vml"]
    settings = addin._sheet_parts(after)[addin.BUTTON_SHEET]
    assert b"<legacyDrawing " in after[settings]
    assert b"macroEnabled.main+xml" in after["[Content_Types].xml"]
    assert "CPOR Report" in openpyxl.load_workbook(copy, keep_vba=True, read_only=True).sheetnames


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_sees_a_button_bound_to_the_vba_macro(standalone: Path, tmp_path: Path) -> None:
    """An independent reader of the package: LibreOffice imports the form control and resolves its macro."""
    profile = (tmp_path / "profile").as_uri()
    subprocess.run(
        ["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", "ods", "--outdir",
         str(tmp_path), str(standalone)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    content = zipfile.ZipFile(tmp_path / "cpor_excel.ods").read("content.xml").decode()
    assert re.search(r'<form:button [^>]*form:label="Run CPOR checks"', content)
    assert "vnd.sun.star.script:VBAProject.Module1.SampleCall?language=Basic&amp;location=document" in content


def test_package_builders_do_not_import_xlwings_at_module_level() -> None:
    """`cpor-excel --help` and the file commands must work without the [excel] extra."""
    code = "import sys, cpor_excel.cli, cpor_excel.excel.addin, cpor_excel.excel.live_book; print('xlwings' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

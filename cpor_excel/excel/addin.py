"""Build the Excel front door: the ``cpor_excel.xlam`` ribbon add-in and a standalone ``.xlsm`` workbook.

Both are made from the templates that ship *inside the installed xlwings package*, so their VBA
(``xl/vbaProject.bin``, copied byte for byte) matches the xlwings version that will answer RunPython. No VBA is
written or edited here; only the package's XML parts are:

- add-in: ``quickstart_addin_ribbon.xlam``. Its ribbon button calls ``RibbonMyAddin.RunMain``, which runs
  ``import <add-in file name>; <add-in file name>.main()``; saved as ``cpor_excel.xlam`` that is
  ``import cpor_excel; cpor_excel.main()``. We relabel the ribbon (tab "CPOR", button "Run CPOR checks") and,
  when asked, record which Python to run in the add-in's own config sheet (xlwings' documented way: rename
  ``_myaddin.conf`` to ``myaddin.conf`` and fill ``Interpreter_Win``/``_Mac`` or ``Conda Path``/``Env``; the
  add-in reads no ``xlwings.conf``: its settings file would be ``~/.myaddin/myaddin.conf``).
- standalone workbook: the CPOR template (``workbook_new.create_template``) plus the VBA of
  ``quickstart_standalone.xlsm`` (the xlwings module and ``Module1.SampleCall``, which runs
  ``import <workbook file name>; <workbook file name>.main()``), a form-control button on the Settings sheet
  bound to ``SampleCall``, and the macro-enabled content type. Because the module name comes from the file
  name, a workbook not named ``cpor_excel.xlsm`` gets a one-line ``<name>.py`` beside it that forwards to
  cpor-excel (xlwings' own quickstart layout: ``name.xlsm`` + ``name.py``).
"""

from __future__ import annotations

import importlib.util
import keyword
import os
import re
import sys
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath, PureWindowsPath
from xml.sax.saxutils import escape, quoteattr

from defusedxml import ElementTree

from cpor_excel.errors import CporError, UsageError

ADDIN_NAME = "cpor_excel.xlam"
RIBBON_TEMPLATE = "quickstart_addin_ribbon.xlam"
STANDALONE_TEMPLATE = "quickstart_standalone.xlsm"
#: the macro of the standalone template's Module1 that calls RunPython
STANDALONE_MACRO = "SampleCall"
#: the add-in template's config sheet, and its active name (xlwings' VBA: PROJECT_NAME & ".conf")
ADDIN_CONFIG_SHEET = "_myaddin.conf"
ADDIN_CONFIG_ACTIVE = "myaddin.conf"
BUTTON_SHEET = "Settings"
BUTTON_LABEL = "Run CPOR checks"

CUSTOM_UI_NS = "http://schemas.microsoft.com/office/2006/01/customui"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
REL_VBA = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
REL_VML = f"{DOC_REL_NS}/vmlDrawing"
CT_XLSM_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
CT_XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
CT_VBA = "application/vnd.ms-office.vbaProject"
CT_VML = "application/vnd.openxmlformats-officedocument.vmlDrawing"

# Elements that must come after <legacyDrawing> in a worksheet (ECMA-376 CT_Worksheet order).
_AFTER_LEGACY_DRAWING = (
    "legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls", "webPublishItems", "tableParts",
    "extLst",
)  # fmt: skip

_SIDECAR = '''"""Lets the Run CPOR checks button of {book} find cpor-excel.

The button's macro (xlwings) runs `import {stem}; {stem}.main()`: keep this file beside {book}.
"""

from cpor_excel import main  # noqa: F401
'''


# --------------------------------------------------------------------------------------------- xlwings


def xlwings_dir() -> Path:
    """The installed xlwings package's folder (where its add-in and workbook templates are)."""
    spec = importlib.util.find_spec("xlwings")
    if spec is None or not spec.submodule_search_locations:
        raise CporError("xlwings is not installed: run  pip install xlwings  in this Python and try again")
    return Path(next(iter(spec.submodule_search_locations)))


def xlwings_template(name: str) -> Path:
    path = xlwings_dir() / name
    if not path.is_file():
        raise CporError(
            f"the installed xlwings has no {name} template: install a release that ships it "
            "(pip install --upgrade xlwings)"
        )
    return path


# ----------------------------------------------------------------------------------------------- add-in


def build_addin(out_dir: Path, settings: Mapping[str, str] | None = None) -> Path:
    """Write ``cpor_excel.xlam`` into ``out_dir`` (replacing an older build) and return its path.

    ``settings``: xlwings settings to record in the add-in (``Interpreter_Win``, ``Interpreter_Mac``,
    ``Conda Path``, ``Conda Env``; see ``python_settings``); none leaves it to xlwings' other settings.
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise CporError(f"folder {out_dir} does not exist: create it first or choose another with --out")
    template = xlwings_template(RIBBON_TEMPLATE)
    parts = _read_package(template)
    ui_part = _custom_ui_part(parts)
    parts[ui_part] = ribbon_xml(_on_action(parts[ui_part]))
    if settings:
        _set_addin_config(parts, settings)
    target = out_dir / ADDIN_NAME
    _write_package(target, template, parts, replace=True)
    return target


def python_settings(
    interpreter: str | None = None,
    platform: str = sys.platform,
    executable: str = sys.executable,
    environ: Mapping[str, str] = os.environ,
) -> dict[str, str]:
    """The settings that make Excel run a given Python, as ``xlwings config create`` would record them.

    An explicit ``interpreter`` is recorded for both platforms (each reads only its own). Otherwise this
    Python: on Windows inside a conda environment, its Conda Path and Env (conda needs activating to load
    its libraries); on Windows and macOS, its executable; elsewhere (a build for another machine) nothing.
    """
    if interpreter:
        return {"Interpreter_Win": interpreter, "Interpreter_Mac": interpreter}
    conda_env, conda_exe = environ.get("CONDA_DEFAULT_ENV"), environ.get("CONDA_EXE")
    if platform == "win32" and conda_env and conda_exe:
        # CONDA_EXE is <conda>\Scripts\conda.exe; xlwings wants <conda>
        return {"Conda Path": str(PureWindowsPath(conda_exe).parent.parent), "Conda Env": conda_env}
    if platform == "win32":
        return {"Interpreter_Win": executable}
    if platform == "darwin":
        return {"Interpreter_Mac": executable}
    return {}


def ribbon_xml(on_action: str, image: str = "MacroPlay") -> bytes:
    """The add-in's ribbon: a CPOR tab with one large button running the template's RunPython macro."""
    tip = "Check this workbook (conflicts, POE, consent windows, milestones) and write the results into it."
    return (
        f'<customUI xmlns="{CUSTOM_UI_NS}">'
        '<ribbon><tabs><tab id="cporTab" label="CPOR"><group id="cporChecks" label="Checks">'
        f'<button id="cporRunChecks" label={quoteattr(BUTTON_LABEL)} size="large" '
        f"onAction={quoteattr(on_action)} imageMso={quoteattr(image)} "
        f"screentip={quoteattr(BUTTON_LABEL)} supertip={quoteattr(tip)}/>"
        "</group></tab></tabs></ribbon></customUI>"
    ).encode()


def _custom_ui_part(parts: dict[str, bytes]) -> str:
    rels = ElementTree.fromstring(parts["_rels/.rels"])
    for rel in rels.iter(f"{{{PKG_REL_NS}}}Relationship"):
        if rel.get("Type", "").endswith("/ui/extensibility"):
            name = rel.get("Target", "").lstrip("/")
            if name in parts:
                return name
    raise CporError(
        "the installed xlwings' ribbon add-in template has no ribbon: report this with its version"
    )


def _on_action(custom_ui: bytes) -> str:
    """The macro the template's ribbon button runs (the one that calls RunPython)."""
    root = ElementTree.fromstring(custom_ui)
    for element in root.iter():
        if element.tag.endswith("}button") and element.get("onAction"):
            return str(element.get("onAction"))
    raise CporError(
        "the installed xlwings' ribbon template has no button macro: report this with its version"
    )


def _set_addin_config(parts: dict[str, bytes], settings: Mapping[str, str]) -> None:
    """Activate the add-in's config sheet and write each setting into column B of its row."""
    workbook = parts["xl/workbook.xml"].decode("utf-8")
    old = f'name="{ADDIN_CONFIG_SHEET}"'
    if workbook.count(old) != 1:
        raise _template_changed()
    parts["xl/workbook.xml"] = workbook.replace(old, f'name="{ADDIN_CONFIG_ACTIVE}"').encode("utf-8")
    sheet_part = _sheet_parts(parts)[ADDIN_CONFIG_ACTIVE]
    strings = _shared_strings(parts)
    sheet = parts[sheet_part].decode("utf-8")
    for key, value in settings.items():
        if key not in strings:
            raise _template_changed()
        # the key's cell, alone in its row: <c r="A7" s="1" t="s"><v>index</v></c>
        match = re.search(rf'<c r="A(\d+)"( s="\d+")? t="s"><v>{strings.index(key)}</v></c>', sheet)
        if match is None or f'r="B{match.group(1)}"' in sheet:
            raise _template_changed()
        row = match.group(1)
        cell = f'<c r="B{row}"{match.group(2) or ""} t="inlineStr"><is><t>{escape(value)}</t></is></c>'
        sheet = sheet[: match.end()] + cell + sheet[match.end() :]
        sheet = re.sub(rf'(<row r="{row}" spans=")1:1"', r'\g<1>1:2"', sheet, count=1)
    parts[sheet_part] = sheet.encode("utf-8")


def _template_changed() -> CporError:
    return CporError(
        "the installed xlwings' add-in template is not laid out as expected: build with --no-interpreter "
        "and write the interpreter into ~/.myaddin/myaddin.conf instead (see 'The Excel button' in the README)"
    )


# ------------------------------------------------------------------------------------------- workbook


def build_workbook(path: Path) -> tuple[Path, Path | None]:
    """Write a new standalone macro workbook at ``path`` (.xlsm). Returns it and the ``<name>.py`` written
    beside it (None when the workbook is named ``cpor_excel.xlsm`` and needs none)."""
    from cpor_excel.workbook_new import create_template

    path = Path(path)
    sidecar = _check_workbook_path(path)
    template = xlwings_template(STANDALONE_TEMPLATE)
    with zipfile.ZipFile(template) as z:
        vba = z.read("xl/vbaProject.bin")
    with tempfile.TemporaryDirectory(prefix="cpor-excel-") as tmp:
        plain = create_template(Path(tmp) / "template.xlsx")
        parts = _read_package(plain)
        macro_enable(parts, vba)
        add_button(parts, BUTTON_SHEET, STANDALONE_MACRO, BUTTON_LABEL)
        _write_package(path, plain, parts, replace=False)
    if sidecar is not None:
        text = _SIDECAR.format(book=path.name, stem=path.stem)
        try:
            if not sidecar.exists():
                sidecar.write_text(text, encoding="utf-8")
        except OSError as err:
            raise CporError(
                f"cannot write {sidecar} ({err.strerror}): check the folder is writable"
            ) from None
    return path, sidecar


def _check_workbook_path(path: Path) -> Path | None:
    """Refuse names the button could not work with; return the ``<name>.py`` to write, if any."""
    if path.suffix.casefold() != ".xlsm":
        raise UsageError(
            f"{path.name} is not an .xlsm name: a workbook with a macro button must end in .xlsm"
        )
    if path.exists():
        raise CporError(f"{path} already exists: choose another name or delete it")
    if not path.parent.is_dir():
        raise CporError(f"folder {path.parent} does not exist: create it first or choose another folder")
    stem = path.stem
    if not stem.isidentifier() or keyword.iskeyword(stem):
        raise UsageError(
            f"{path.name}: the button runs `import {stem}`, so the name may hold only letters, digits and "
            "underscores and must not start with a digit, e.g. contoso_cpor.xlsm or cpor_excel.xlsm"
        )
    if stem == "cpor_excel":
        return None
    sidecar = path.with_suffix(".py")
    if sidecar.exists():
        if sidecar.read_text(encoding="utf-8", errors="replace") == _SIDECAR.format(
            book=path.name, stem=stem
        ):
            return sidecar
        raise CporError(f"{sidecar} already exists and is not cpor-excel's: choose another workbook name")
    if stem in sys.builtin_module_names or importlib.util.find_spec(stem) is not None:
        raise UsageError(
            f"{path.name}: `import {stem}` would load the Python module {stem}, not cpor-excel: "
            "choose another name, e.g. contoso_cpor.xlsm"
        )
    return sidecar


def macro_enable(parts: dict[str, bytes], vba_project: bytes) -> None:
    """Turn an .xlsx package into an .xlsm one carrying ``vba_project`` (stored byte for byte)."""
    parts["xl/vbaProject.bin"] = vba_project
    types = parts["[Content_Types].xml"].decode("utf-8")
    if CT_XLSX_MAIN in types:
        types = types.replace(CT_XLSX_MAIN, CT_XLSM_MAIN)
    elif CT_XLSM_MAIN not in types:
        raise CporError("the workbook template has no workbook part: report this")
    if "/xl/vbaProject.bin" not in types:
        types = _append(
            types, "</Types>", f'<Override PartName="/xl/vbaProject.bin" ContentType="{CT_VBA}"/>'
        )
    parts["[Content_Types].xml"] = types.encode("utf-8")

    rels = parts["xl/_rels/workbook.xml.rels"].decode("utf-8")
    if REL_VBA not in rels:
        rid = _free_id(rels)
        rels = _append(
            rels, "</Relationships>", f'<Relationship Id="{rid}" Type="{REL_VBA}" Target="vbaProject.bin"/>'
        )
    parts["xl/_rels/workbook.xml.rels"] = rels.encode("utf-8")

    # The VBA project's document modules are ThisWorkbook, Sheet1, Sheet2, ...: give the workbook and
    # each sheet the matching code name (Excel adds modules for sheets beyond the project's).
    workbook = parts["xl/workbook.xml"].decode("utf-8")
    parts["xl/workbook.xml"] = _with_code_name(
        workbook, "workbookPr", "ThisWorkbook", ("fileVersion", "fileSharing")
    ).encode("utf-8")
    for n, part in enumerate(_sheet_parts(parts).values(), start=1):
        sheet = parts[part].decode("utf-8")
        parts[part] = _with_code_name(sheet, "sheetPr", f"Sheet{n}", ()).encode("utf-8")


def add_button(parts: dict[str, bytes], sheet_name: str, macro: str, label: str) -> None:
    """Put a form-control button running ``macro`` on a sheet (a VML drawing, as Excel stores one)."""
    sheet_part = _sheet_parts(parts).get(sheet_name)
    if sheet_part is None:
        raise CporError(f"the workbook template has no {sheet_name} sheet: report this")
    sheet = parts[sheet_part].decode("utf-8")
    if "<legacyDrawing " in sheet:
        raise CporError(f"the {sheet_name} sheet already has notes or controls: report this")
    n = 1
    while f"xl/drawings/vmlDrawing{n}.vml" in parts:
        n += 1
    vml_part = f"xl/drawings/vmlDrawing{n}.vml"
    parts[vml_part] = button_vml(macro, label)

    folder, name = sheet_part.rsplit("/", 1)
    rels_part = f"{folder}/_rels/{name}.rels"
    rels = parts.get(rels_part, f'<Relationships xmlns="{PKG_REL_NS}"></Relationships>'.encode()).decode()
    rid = _free_id(rels)
    rels = _append(
        rels,
        "</Relationships>",
        f'<Relationship Id="{rid}" Type="{REL_VML}" Target="../drawings/vmlDrawing{n}.vml"/>',
    )
    parts[rels_part] = rels.encode("utf-8")

    root_tag = re.search(r"<worksheet\b[^>]*>", sheet)
    if root_tag is None:
        raise CporError(f"the {sheet_name} sheet is not a worksheet: report this")
    if "xmlns:r=" not in root_tag.group(0):
        sheet = sheet.replace(root_tag.group(0), root_tag.group(0)[:-1] + f' xmlns:r="{DOC_REL_NS}">', 1)
    element = f'<legacyDrawing r:id="{rid}"/>'
    at = min((i for tag in _AFTER_LEGACY_DRAWING if (i := _find_tag(sheet, tag)) >= 0), default=-1)
    if at < 0:
        at = sheet.rindex("</worksheet>")
    parts[sheet_part] = (sheet[:at] + element + sheet[at:]).encode("utf-8")

    types = parts["[Content_Types].xml"].decode("utf-8")
    if 'Extension="vml"' not in types:
        types = _insert_default(types, f'<Default Extension="vml" ContentType="{CT_VML}"/>')
    parts["[Content_Types].xml"] = types.encode("utf-8")


def button_vml(macro: str, label: str) -> bytes:
    """A form-control (not ActiveX) button over D2:F4 whose click runs ``macro`` of this workbook."""
    return (
        '<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:x="urn:schemas-microsoft-com:office:excel">'
        '<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="1"/></o:shapelayout>'
        '<v:shapetype id="_x0000_t201" coordsize="21600,21600" o:spt="201" path="m,l,21600r21600,l21600,xe">'
        '<v:stroke joinstyle="miter"/>'
        '<v:path shadowok="f" o:extrusionok="f" strokeok="f" fillok="f" o:connecttype="rect"/>'
        '<o:lock v:ext="edit" shapetype="t"/></v:shapetype>'
        '<v:shape id="_x0000_s1025" type="#_x0000_t201" '
        'style="position:absolute;margin-left:287pt;margin-top:15pt;width:144pt;height:45pt;z-index:1;'
        'mso-wrap-style:tight" o:button="t" fillcolor="buttonFace [67]" strokecolor="windowText [64]" '
        'o:insetmode="auto">'
        '<v:fill color2="buttonFace [67]" o:detectmouseclick="t"/>'
        '<o:lock v:ext="edit" rotation="t"/>'
        '<v:textbox style="mso-direction-alt:auto" o:singleclick="f">'
        '<div style="text-align:center"><font face="Calibri" size="220" color="#000000">'
        f"{escape(label)}</font></div></v:textbox>"
        '<x:ClientData ObjectType="Button">'
        "<x:Anchor>3, 0, 1, 0, 6, 0, 4, 0</x:Anchor>"
        "<x:PrintObject>False</x:PrintObject><x:AutoFill>False</x:AutoFill>"
        f"<x:FmlaMacro>[0]!{escape(macro)}</x:FmlaMacro>"
        "<x:TextHAlign>Center</x:TextHAlign><x:TextVAlign>Center</x:TextVAlign>"
        "</x:ClientData></v:shape></xml>"
    ).encode()


# -------------------------------------------------------------------------------------- package helpers


def _read_package(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {info.filename: z.read(info) for info in z.infolist()}


def _write_package(target: Path, source: Path, parts: dict[str, bytes], *, replace: bool) -> None:
    """Write ``parts`` as a zip beside ``target`` then move it in place; entries of ``source`` keep their
    order, dates and compression, new ones follow."""
    with zipfile.ZipFile(source) as z:
        infos = {info.filename: info for info in z.infolist()}
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as out:
            for name in [*infos, *(n for n in parts if n not in infos)]:
                if name not in parts:
                    continue
                info = infos.get(name) or zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                if name not in infos:
                    info.compress_type = zipfile.ZIP_DEFLATED
                out.writestr(info, parts[name])
        if not replace and target.exists():
            raise CporError(f"{target} already exists: choose another name or delete it")
        os.replace(temporary, target)
    except OSError as err:
        raise CporError(f"cannot write {target} ({err.strerror}): check the folder is writable") from None
    finally:
        temporary.unlink(missing_ok=True)


def _sheet_parts(parts: dict[str, bytes]) -> dict[str, str]:
    """Sheet name -> its part name, in workbook order."""
    workbook = ElementTree.fromstring(parts["xl/workbook.xml"])
    rels = ElementTree.fromstring(parts["xl/_rels/workbook.xml.rels"])
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.iter(f"{{{PKG_REL_NS}}}Relationship")}
    out: dict[str, str] = {}
    for sheet in workbook.iter(f"{{{MAIN_NS}}}sheet"):
        target = targets.get(sheet.get(f"{{{DOC_REL_NS}}}id"), "")
        out[str(sheet.get("name"))] = _resolve("xl/workbook.xml", target)
    return out


def _resolve(source_part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts: list[str] = []
    for piece in (PurePosixPath(source_part).parent / target).parts:
        if piece == "..":
            parts.pop()
        elif piece != ".":
            parts.append(piece)
    return "/".join(parts)


def _shared_strings(parts: dict[str, bytes]) -> list[str]:
    if "xl/sharedStrings.xml" not in parts:
        return []
    root = ElementTree.fromstring(parts["xl/sharedStrings.xml"])
    return ["".join(t.text or "" for t in si.iter(f"{{{MAIN_NS}}}t")) for si in root.iter(f"{{{MAIN_NS}}}si")]


def _free_id(rels: str) -> str:
    used = {int(n) for n in re.findall(r'Id="rId(\d+)"', rels)}
    return f"rId{max(used, default=0) + 1}"


def _append(xml: str, closing: str, element: str) -> str:
    at = xml.rindex(closing)
    return xml[:at] + element + xml[at:]


def _insert_default(types: str, element: str) -> str:
    """Add a <Default> after the existing ones (any order is valid; this keeps the file readable)."""
    defaults = list(re.finditer(r"<Default\b[^>]*/>", types))
    at = defaults[-1].end() if defaults else types.rindex("</Types>")
    return types[:at] + element + types[at:]


def _find_tag(xml: str, tag: str) -> int:
    match = re.search(rf"<{tag}[\s/>]", xml)
    return match.start() if match else -1


def _with_code_name(xml: str, tag: str, code_name: str, after: tuple[str, ...]) -> str:
    """Set ``codeName`` on the (first) ``tag`` element, creating it where the schema wants it."""
    match = re.search(rf"<{tag}\b([^>]*?)(/?)>", xml)
    if match is not None:
        attrs = re.sub(r'\scodeName="[^"]*"', "", match.group(1))
        return (
            xml[: match.start()]
            + f'<{tag}{attrs} codeName="{code_name}"{match.group(2)}>'
            + xml[match.end() :]
        )
    insert_after: Callable[[str], int] = lambda t: _element_end(xml, t)  # noqa: E731
    at = max((insert_after(t) for t in after), default=-1)
    if at < 0:
        at = re.search(r"<(workbook|worksheet)\b[^>]*>", xml).end()  # type: ignore[union-attr]
    return xml[:at] + f'<{tag} codeName="{code_name}"/>' + xml[at:]


def _element_end(xml: str, tag: str) -> int:
    match = re.search(rf"<{tag}\b[^>]*/>|<{tag}\b.*?</{tag}>", xml, flags=re.S)
    return match.end() if match else -1

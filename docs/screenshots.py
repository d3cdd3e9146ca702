"""Screenshots of what a partner sees, rendered by LibreOffice: the Associations sheet, the CPOR Report and the
Dashboard of the shipped sample after a run. Writes docs/img/*.png (linked from the README). The Associations and
CPOR Report pictures come from a workbook cut from the run's (``picture_book``): a few rows of each result and
severity, and on Associations the claim and the columns the tool writes about it, each cell as the run wrote it.

    python docs/screenshots.py [--out docs/img]

The tests run it too (tests/test_libreoffice_render.py), and use its LibreOffice harness to check that what the writer
draws is really rendered: every sheet is converted to one PDF page (``SinglePageSheets``), its text read with
pdftotext and its pixels with pdftoppm (poppler-utils).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_workbooks" / "cpor_sample.xlsx"
AS_OF = dt.date(2025, 11, 30)
RUN_AT = dt.datetime(2025, 11, 30, 9, 0)
#: the screenshots: file name -> (sheet, from the picture book (``picture_book``) or the run's workbook itself,
#: how much of the page it shows: points across and down, as printed at 100%)
SHOTS = {
    "associations.png": ("Associations", True, (1800.0, 900.0)),
    "cpor-report.png": ("CPOR Report", True, (1800.0, 900.0)),
    "dashboard.png": ("Dashboard", False, (1500.0, 560.0)),
}
#: the Associations columns the picture shows: the claim, then every column the tool writes that says something
#: about it (Consent Window Ends, Next Milestone and Consent Draft are left out for width)
ASSOCIATION_COLUMNS = (
    "Claim ID", "Workload", "Status", "Check Result", "Check Notes", "Conflicts With", "Milestones Reached",
    "Next Deadline", "High-Water Mark", "Earned",
)  # fmt: skip
#: how many rows of each result (Associations) and severity (CPOR Report) the pictures show
ASSOCIATION_ROWS = {"ERROR": 3, "CONFLICT": 2, "WARNING": 2, "OK": 3}
REPORT_ROWS = {"ERROR": 4, "WARNING": 4, "INFO": 4}
#: notes longer than this (characters: four lines of a wrapped Check Notes cell) are picked last
SHORT_NOTES = 220
#: how much of a page a screenshot shows by default (points across and down)
CROP = (1250.0, 440.0)
DPI = 110


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def missing_tools() -> list[str]:
    """The programs the harness needs that are not installed (LibreOffice, pdftotext, pdftoppm)."""
    tools = {
        "soffice": soffice(),
        "pdftotext": shutil.which("pdftotext"),
        "pdftoppm": shutil.which("pdftoppm"),
    }
    return [name for name, path in tools.items() if path is None]


def to_pdf(book: Path, out_dir: Path) -> Path:
    """Convert a workbook to PDF with LibreOffice, each sheet on one page of its own size, in a profile of
    its own (a running LibreOffice or another test's profile never interferes)."""
    profile = Path(tempfile.mkdtemp(prefix="lo-profile-", dir=out_dir))
    pdf_filter = 'pdf:calc_pdf_Export:{"SinglePageSheets":{"type":"boolean","value":"true"}}'
    command = [soffice() or "soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless"]
    command += ["--convert-to", pdf_filter, "--outdir", str(out_dir), str(book)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    pdf = out_dir / (book.stem + ".pdf")
    if done.returncode != 0 or not pdf.is_file():
        raise RuntimeError(f"LibreOffice could not convert {book.name}: {done.stderr[-2000:]}")
    return pdf


def page_count(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def page_text(pdf: Path, page: int) -> str:
    """The text of one page (1-based), in reading order."""
    command = ["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf), "-"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def page_size(pdf: Path, page: int) -> tuple[float, float]:
    """Width and height of a page in points."""
    command = ["pdfinfo", "-f", str(page), "-l", str(page), str(pdf)]
    info = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(
        line for line in info.splitlines() if line.startswith(f"Page {page:4d} size:") or "size:" in line
    )
    numbers = line.split("size:")[1].split()
    return float(numbers[0]), float(numbers[2])


@dataclass
class Pixels:
    """An RGB image as pdftoppm writes it (binary PPM)."""

    width: int
    height: int
    data: bytes

    def count(self, colour: str, tolerance: int = 24, box: tuple[int, int, int, int] | None = None) -> int:
        """Pixels within ``tolerance`` of colour ``RRGGBB`` (in ``box`` = left, top, right, bottom)."""
        want = bytes.fromhex(colour)
        left, top, right, bottom = box or (0, 0, self.width, self.height)
        found = 0
        for y in range(top, bottom):
            row = self.data[(y * self.width + left) * 3 : (y * self.width + right) * 3]
            for x in range(0, len(row), 3):
                if all(abs(row[x + i] - want[i]) <= tolerance for i in range(3)):
                    found += 1
        return found


def page_pixels(pdf: Path, page: int, dpi: int, out_dir: Path) -> Pixels:
    """One page rendered at ``dpi`` as pixels."""
    stem = out_dir / f"page-{page}"
    command = [
        "pdftoppm",
        "-f",
        str(page),
        "-l",
        str(page),
        "-r",
        str(dpi),
        "-singlefile",
        str(pdf),
        str(stem),
    ]
    subprocess.run(command, capture_output=True, check=True)
    raw = stem.with_suffix(".ppm").read_bytes()
    # header: "P6" width height maxval, each followed by one whitespace byte
    fields, at = [], 0
    while len(fields) < 4:
        while raw[at : at + 1].isspace():
            at += 1
        end = at
        while not raw[end : end + 1].isspace():
            end += 1
        fields.append(raw[at:end])
        at = end
    assert fields[0] == b"P6" and fields[3] == b"255", "pdftoppm wrote an unexpected image format"
    width, height = int(fields[1]), int(fields[2])
    return Pixels(width, height, raw[at + 1 : at + 1 + width * height * 3])


#: the height pdftotext gives a word of an 11-point cell when LibreOffice prints at 100%
TEXT_HEIGHT = 14.3


def page_scale(pdf: Path, page: int) -> float:
    """How far LibreOffice shrank a page: it prints every sheet of a workbook on one page each at one scale,
    small enough for its tallest sheet to fit a PDF page (a long Usage sheet shrinks them all)."""
    command = ["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"]
    html = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    heights = sorted(
        float(b) - float(a)
        for a, b in re.findall(r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"', html)
    )
    return min(1.0, heights[len(heights) // 2] / TEXT_HEIGHT) if heights else 1.0


def page_png(
    pdf: Path, page: int, target: Path, dpi: int = DPI, crop: tuple[float, float] = CROP, left: float = 0.0
) -> Path:
    """Part of a page as a PNG: from ``left`` points across, at most ``crop`` points wide and high (of the
    sheet as printed at 100%)."""
    width, height = page_size(pdf, page)
    scale = page_scale(pdf, page)
    dpi = round(dpi / scale)
    crop = (crop[0] * scale, crop[1] * scale)
    left = max(0.0, min(left, width - crop[0]))
    pixels = [round(min(width - left, crop[0]) * dpi / 72), round(min(height, crop[1]) * dpi / 72)]
    stem = target.with_suffix("")
    command = ["pdftoppm", "-f", str(page), "-l", str(page), "-r", str(dpi), "-png", "-singlefile"]
    command += ["-x", str(round(left * dpi / 72)), "-y", "0", "-W", str(pixels[0]), "-H", str(pixels[1])]
    command += [str(pdf), str(stem)]
    subprocess.run(command, capture_output=True, check=True)
    return target


def sheet_pages(book: Path, pdf: Path) -> dict[str, int]:
    """Sheet name -> its page in the PDF (one page per printed sheet, in workbook order): the page whose
    first line holds the sheet's first cells (LibreOffice may print a sheet Excel keeps hidden)."""
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(book))
    try:
        firsts = {}
        for name in workbook.sheet_names:
            rows = workbook.get_sheet_by_name(name).to_python(nrows=1)
            firsts[name] = [str(v) for v in (rows[0] if rows else []) if str(v).strip()][:3]
    finally:
        workbook.close()
    lines = []
    for page in range(1, page_count(pdf) + 1):
        text = [line for line in page_text(pdf, page).splitlines() if line.strip()]
        lines.append(text[0] if text else "")
    found, page = {}, 0
    for name, cells in firsts.items():
        for at in range(page, len(lines)):
            if cells and all(cell in lines[at] for cell in cells):
                found[name], page = at + 1, at + 1
                break
    return found


def run_sample(out_dir: Path) -> Path:
    """The shipped sample after a run (as of the README's date), written into ``out_dir``."""
    from cpor_excel.run import run_workbook

    book = out_dir / "cpor_sample_result.xlsx"
    run_workbook(SAMPLE, out=book, as_of=AS_OF, drafts_dir=out_dir / "drafts", run_at=RUN_AT)
    return book


def picture_book(book: Path, dest: Path) -> Path:
    """A workbook of what the Associations and CPOR Report pictures show, cut from the run's workbook with
    each cell's own format and each column's width: the claim and the tool's columns (``ASSOCIATION_COLUMNS``)
    of a few rows of each result, and a few CPOR Report rows of each severity, each of another code where
    the sheet has one. (openpyxl drops charts: the Dashboard's picture comes from the run's workbook.)"""
    import openpyxl

    workbook = openpyxl.load_workbook(book)
    originals = list(workbook.worksheets)
    for sheet, level, wanted, columns in (
        ("Associations", "Check Result", ASSOCIATION_ROWS, ASSOCIATION_COLUMNS),
        ("CPOR Report", "Severity", REPORT_ROWS, None),
    ):
        source = workbook[sheet]
        header = [cell.value for cell in source[1]]
        shown = [header.index(name) + 1 for name in columns] if columns else list(range(1, len(header) + 1))
        rows = _pick_rows(source, header.index(level) + 1, shown, wanted)
        picture = workbook.create_sheet(f"{sheet} picture")
        for new_row, row in enumerate([1, *rows], start=1):
            for new_column, column in enumerate(shown, start=1):
                cell, target = source.cell(row, column), picture.cell(new_row, new_column)
                target.value = cell.value
                target._style = copy.copy(cell._style)  # (one workbook: the same cell formats)
                alignment = copy.copy(cell.alignment)
                alignment.vertical = "top"  # a row's cells side by side
                target.alignment = alignment
        for new_column, column in enumerate(shown, start=1):
            letter = openpyxl.utils.get_column_letter(new_column)
            texts = [str(picture.cell(row, new_column).value or "") for row in range(1, len(rows) + 2)]
            wraps = bool(picture.cell(2, new_column).alignment.wrap_text) if rows else False
            # as wide as the sheet has it; a column that does not wrap no wider than its text
            width = _width(source, column) if wraps else min(_width(source, column), max(map(len, texts)) + 3)
            picture.column_dimensions[letter].width = width
            if wraps:  # LibreOffice keeps the rows' stored height: room for the wrapped lines
                for row, text in enumerate(texts[1:], start=2):
                    lines = -(-len(text) // max(int(width * 1.2), 1))  # (a proportional font)
                    height = max(lines * 15.0, picture.row_dimensions[row].height or 15.0)
                    picture.row_dimensions[row].height = height
    for sheet in originals:
        workbook.remove(sheet)
    for picture in workbook.worksheets:
        picture.title = picture.title.removesuffix(" picture")
    workbook.save(dest)
    return dest


def _pick_rows(sheet: Any, level: int, shown: list[int], wanted: dict[str, int]) -> list[int]:
    """Up to ``wanted[value]`` rows of each value of column ``level``: short notes (a few findings, readable
    in a picture) and more of the ``shown`` cells filled first, one of each code (the first word of the next
    column: the notes, or the Code) before a second of any."""
    candidates: dict[str, list[tuple[bool, int, int, int, str]]] = {value: [] for value in wanted}
    for row in range(2, sheet.max_row + 1):
        value = str(sheet.cell(row, level).value or "")
        if value in candidates:
            filled = sum(sheet.cell(row, column).value not in (None, "") for column in shown)
            notes = str(sheet.cell(row, level + 1).value or "")
            code = re.split(r"[:\s]", notes, maxsplit=1)[0]
            candidates[value].append((len(notes) > SHORT_NOTES, -filled, len(notes), row, code))
    chosen: list[int] = []
    for value, count in wanted.items():
        ranked, codes, first = sorted(candidates[value]), set(), []
        for *_, row, code in ranked:
            if code not in codes:
                codes.add(code)
                first.append(row)
        rest = [row for *_, row, _ in ranked if row not in first]
        chosen += (first + rest)[:count]
    return sorted(chosen)


def _width(sheet: Any, column: int) -> float:
    """A column's width, from a ``<col>`` range that may span several columns (Excel's default otherwise)."""
    for dimension in sheet.column_dimensions.values():
        if dimension.min and dimension.max and dimension.min <= column <= dimension.max and dimension.width:
            return float(dimension.width)
    return 8.43


def screenshots(out: Path) -> dict[str, Path]:
    """Run the sample, render it and write one PNG per entry of ``SHOTS`` into ``out``."""
    if missing_tools():
        raise RuntimeError(f"install {', '.join(missing_tools())} (LibreOffice, poppler-utils) first")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        book = run_sample(Path(work))
        pictures = picture_book(book, Path(work) / "pictures.xlsx")
        rendered = {}
        for source in (book, pictures):
            pdf = to_pdf(source, Path(work))
            rendered[source] = (pdf, sheet_pages(source, pdf))
        written = {}
        for name, (sheet, cut, crop) in SHOTS.items():
            pdf, pages = rendered[pictures if cut else book]
            written[name] = page_png(pdf, pages[sheet], out / name, crop=crop)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args(argv)
    for name, path in screenshots(args.out).items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())

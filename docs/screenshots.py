"""Screenshots of what a partner sees, rendered by LibreOffice: the Associations sheet, the CPOR Report and the
Dashboard of the shipped sample after a run. Writes docs/img/*.png (linked from the README).

    python docs/screenshots.py [--out docs/img]

The tests run it too (tests/test_render.py), and use its LibreOffice harness to check that what the writer
draws is really rendered: every sheet is converted to one PDF page (``SinglePageSheets``), its text read with
pdftotext and its pixels with pdftoppm (poppler-utils).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_workbooks" / "cpor_sample.xlsx"
AS_OF = dt.date(2025, 11, 30)
RUN_AT = dt.datetime(2025, 11, 30, 9, 0)
#: the screenshots: file name -> (sheet, the header the picture starts at: None for column A)
SHOTS = {
    "associations.png": ("Associations", "Status"),
    "cpor-report.png": ("CPOR Report", None),
    "dashboard.png": ("Dashboard", None),
}
#: how much of a long sheet a screenshot shows (points: about 30 rows of a sheet, 1,100 pt across)
CROP = (1250.0, 440.0)
DPI = 110


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def missing_tools() -> list[str]:
    """The programs the harness needs that are not installed (LibreOffice, pdftotext, pdftoppm)."""
    tools = {"soffice": soffice(), "pdftotext": shutil.which("pdftotext"), "pdftoppm": shutil.which("pdftoppm")}
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
    line = next(line for line in info.splitlines() if line.startswith(f"Page {page:4d} size:") or "size:" in line)
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
    command = ["pdftoppm", "-f", str(page), "-l", str(page), "-r", str(dpi), "-singlefile", str(pdf), str(stem)]
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
    heights = sorted(float(b) - float(a) for a, b in re.findall(r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"', html))
    return min(1.0, heights[len(heights) // 2] / TEXT_HEIGHT) if heights else 1.0


def word_left(pdf: Path, page: int, word: str) -> float:
    """The left edge (points) of the first occurrence of ``word`` on a page (0 when it is not there)."""
    command = ["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"]
    html = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    found = re.search(r'<word xMin="([\d.]+)"[^>]*>' + re.escape(word) + "</word>", html)
    return float(found.group(1)) if found else 0.0


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


def screenshots(out: Path) -> dict[str, Path]:
    """Run the sample, render it and write one PNG per entry of ``SHOTS`` into ``out``."""
    if missing_tools():
        raise RuntimeError(f"install {', '.join(missing_tools())} (LibreOffice, poppler-utils) first")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        book = run_sample(Path(work))
        pdf = to_pdf(book, Path(work))
        pages = sheet_pages(book, pdf)
        written = {}
        for name, (sheet, start) in SHOTS.items():
            left = word_left(pdf, pages[sheet], start) - 4 if start else 0.0
            written[name] = page_png(pdf, pages[sheet], out / name, left=left)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args(argv)
    for name, path in screenshots(args.out).items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())

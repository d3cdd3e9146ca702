"""How long writing two status columns into a 500,000-row usage sheet takes, next to reading it.

    python benchmarks/bench_write.py [--rows 500000] [--rounds 3]

The workbook is generated once (shared strings and styles like Excel's own files) and cached under
benchmarks/out/. Then, interleaved so that a busy machine slows every step alike, each round times:
  A  python-calamine reads the sheet to Python lists (from_path + get_sheet_by_name + to_python)
  R  FileBook.read_rows (A plus the safety checks and "" -> None)
  B  XlsxPatch writes "Check Result" and "Check Notes" for every row and saves a new file
  B2 the same on the file B wrote (the columns exist: found again, every cell replaced)
and prints the medians and the ratios to A.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cpor_excel.io.file_book import FileBook  # noqa: E402
from cpor_excel.io.xlsx.patch import XlsxPatch  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
WORKLOADS = [
    "Exchange Online",
    "SharePoint Online",
    "Microsoft Teams",
    "OneDrive for Business",
    "Microsoft Intune",
]
HEADER = ["Tenant ID", "Workload", "Month", "Active Users", "Paid Units"]
RESULTS = ["OK", "WARNING", "ERROR", "CONFLICT"]


def generate(path: Path, rows: int) -> None:
    """A usage workbook as Excel writes it: shared strings, a date format, spans on every row."""
    tenants = [str(uuid.UUID(int=(i * 2654435761) % (1 << 128) + (i << 64))) for i in range(20_000)]
    strings = HEADER + WORKLOADS + tenants
    sst = "".join(f"<si><t>{s}</t></si>" for s in strings)
    body = ['<row r="1" spans="1:5">']
    body += [f'<c r="{c}1" t="s"><v>{i}</v></c>' for i, c in enumerate("ABCDE")]
    body.append("</row>")
    first_tenant = len(HEADER) + len(WORKLOADS)
    for r in range(2, rows + 2):
        month = 45292 + 30 * ((r // 20_000) % 24)  # Jan 2024 onwards
        body.append(
            f'<row r="{r}" spans="1:5"><c r="A{r}" t="s"><v>{first_tenant + r % 20_000}</v></c>'
            f'<c r="B{r}" t="s"><v>{len(HEADER) + r % 5}</v></c><c r="C{r}" s="1"><v>{month}</v></c>'
            f'<c r="D{r}"><v>{(r * 7) % 300}</v></c><c r="E{r}"><v>300</v></c></row>'
        )
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}" xmlns:r="{REL}">'
        f'<dimension ref="A1:E{rows + 1}"/><sheetViews><sheetView tabSelected="1" workbookViewId="0"/>'
        '</sheetViews><sheetFormatPr defaultRowHeight="15"/><sheetData>'
        + "".join(body)
        + '</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
        "</worksheet>"
    )
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats'
            '.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats'
            '-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName'
            '="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main'
            '+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="applicati'
            'on/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/><Override PartName="/xl/sharedStrings.'
            'xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxml'
            'formats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.'
            'org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{MAIN}" xmlns:r="{REL}">'
            '<sheets><sheet name="Usage" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxml'
            f'formats.org/package/2006/relationships"><Relationship Id="rId1" Type="{REL}/worksheet" Target="work'
            f'sheets/sheet1.xml"/><Relationship Id="rId2" Type="{REL}/styles" Target="styles.xml"/><Relationship '
            f'Id="rId3" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
        ),
        "xl/styles.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{MAIN}"><numFmts count="1">'
            '<numFmt numFmtId="164" formatCode="yyyy\\-mm"/></numFmts><fonts count="1"><font><sz val="11"/><name '
            'val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill>'
            '<patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/>'
            '<bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" '
            'borderId="0"/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" '
            'xfId="0"/><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
            '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>"
        ),
        "xl/sharedStrings.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{MAIN}" count="{len(strings)}" '
            f'uniqueCount="{len(strings)}">{sst}</sst>'
        ),
        "xl/worksheets/sheet1.xml": sheet,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    with zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, text in parts.items():
            archive.writestr(name, text.encode())
    temp.replace(path)


def read_calamine(path: Path) -> int:
    import python_calamine

    book = python_calamine.CalamineWorkbook.from_path(str(path))
    rows = book.get_sheet_by_name("Usage").to_python(skip_empty_area=False)
    book.close()
    return len(rows)


def read_file_book(path: Path) -> int:
    with FileBook(path) as book:
        return len(book.read_rows("Usage"))


def write_columns(source: Path, dest: Path, rows: int) -> None:
    numbers = list(range(2, rows + 2))
    results = [RESULTS[i % 4] for i in range(rows)]
    notes = ["" if i % 3 else f"usage-above-licences: {i % 300} active users" for i in range(rows)]
    with XlsxPatch(source) as patch:
        patch.set_columns("Usage", ["Check Result", "Check Notes"], numbers, [results, notes])
        patch.save(dest)


def timed(step: Callable[[], object]) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    book = OUT / f"usage_{args.rows}.xlsx"
    if not book.exists():
        print(f"generating {book.name} ...", flush=True)
        generate(book, args.rows)
    first, second = OUT / "written_once.xlsx", OUT / "written_twice.xlsx"
    times: dict[str, list[float]] = {"A": [], "R": [], "B": [], "B2": []}
    for round_number in range(1, args.rounds + 1):
        times["A"].append(timed(lambda: read_calamine(book)))
        times["R"].append(timed(lambda: read_file_book(book)))
        times["B"].append(timed(lambda: write_columns(book, first, args.rows)))
        times["B2"].append(timed(lambda: write_columns(first, second, args.rows)))
        print(
            f"round {round_number}: " + "  ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items()), flush=True
        )
    median = {key: statistics.median(values) for key, values in times.items()}
    size = {p.name: p.stat().st_size / 1e6 for p in (book, first)}
    print(f"\n{args.rows:,} usage rows; files: " + ", ".join(f"{n} {s:.1f} MB" for n, s in size.items()))
    print(f"A  calamine reads the sheet to lists        median {median['A']:.2f}s")
    print(
        f"R  FileBook.read_rows                       median {median['R']:.2f}s  ({median['R'] / median['A']:.2f} x A)"
    )
    print(
        f"B  XlsxPatch writes 2 columns + saves       median {median['B']:.2f}s  ({median['B'] / median['A']:.2f} x A)"
    )
    print(
        f"B2 the same again (columns found again)     median {median['B2']:.2f}s  ({median['B2'] / median['A']:.2f} x A)"
    )


if __name__ == "__main__":
    main()

"""How much reading into frames and validating adds to reading a large workbook.

Generates (once, cached in benchmarks/out/) a workbook with 5,000 customers, 50,000 associations and
500,000 usage rows, then times:
  read      python-calamine alone: open the file and read every data sheet's values
  book      the Book's read_rows (FileBook once it exists: calamine plus its own checks and clean-up)
  frames    io/frames.read_workbook_data alone, on rows already read
  prepare   rules/prepare.prepare alone, on frames already built
  all       open + read + frames + prepare
and prints the medians and the ratio of the whole to calamine's read.

    python benchmarks/bench_read_validate.py [--repeat 3] [--usage-rows 500000] [--fresh]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"
WORKLOADS = ("Exchange Online", "SharePoint Online", "Microsoft Teams", "OneDrive for Business", "Intune")


def generate(path: Path, customers: int, associations: int, usage_rows: int) -> None:
    """Write the benchmark workbook with xlsxwriter in constant-memory mode (rows streamed to disk)."""
    import random

    import xlsxwriter

    rng = random.Random(20250401)
    tenants = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(customers)]
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    date = book.add_format({"num_format": "yyyy-mm-dd"})

    sheet = book.add_worksheet("Customers")
    sheet.write_row(0, 0, ["Tenant ID", "Customer Name", "Domain", "Contact Name", "Contact Title",
                           "Contact Email", "Country", "Public Sector", "Language"])  # fmt: skip
    for i, tenant in enumerate(tenants, start=1):
        sheet.write_row(i, 0, [tenant, f"Customer {i}", f"customer{i}.com", "Casey Customer", "IT Director",
                               f"it@customer{i}.com", "NL", "no" if i % 7 else "yes", "en"])  # fmt: skip

    sheet = book.add_worksheet("Associations")
    sheet.write_row(0, 0, ["Claim ID", "Tenant ID", "Workload", "Partner ID", "Partner Name",
                           "Partner Contact Name", "Partner Contact Email", "Status", "Created", "POE Signed",
                           "POE Reference", "Submitted", "Approved", "Ended"])  # fmt: skip
    start = dt.datetime(2024, 1, 1)
    for i in range(1, associations + 1):
        claim = i // 3 + 1
        created = start + dt.timedelta(days=claim % 500)
        sheet.write_row(i, 0, [f"C-{claim:06d}", tenants[claim % customers], WORKLOADS[i % 3],
                               str(1_000_000 + claim % 40), f"Partner {claim % 40}", "Pat Partner",
                               f"pat{claim % 40}@partner.com", "Approved"])  # fmt: skip
        for col, day in ((8, created), (9, created + dt.timedelta(days=1)), (11, created + dt.timedelta(days=3)),
                         (12, created + dt.timedelta(days=20))):  # fmt: skip
            sheet.write_datetime(i, col, day, date)
        sheet.write_string(i, 10, f"poe-{claim}.pdf")

    sheet = book.add_worksheet("Usage")
    sheet.write_row(0, 0, ["Tenant ID", "Workload", "Month", "Active Users", "Paid Units"])
    months = [dt.datetime(2023 + m // 12, m % 12 + 1, 1) for m in range(36)]
    for i in range(1, usage_rows + 1):
        n = i - 1
        paid = 150 + (n * 7919) % 2000
        sheet.write_string(i, 0, tenants[(n // 180) % customers])
        sheet.write_string(i, 1, WORKLOADS[(n // 36) % 5])
        sheet.write_datetime(i, 2, months[n % 36], date)
        sheet.write_number(i, 3, (paid * ((n % 97) + 1)) // 100)
        sheet.write_number(i, 4, paid)
    book.close()


class CalamineBook:
    """The reading half of the Book protocol straight over python-calamine (until io/file_book.py exists)."""

    def __init__(self, path: Path) -> None:
        from python_calamine import CalamineWorkbook

        self._book = CalamineWorkbook.from_path(str(path))

    def sheet_names(self) -> list[str]:
        return list(self._book.sheet_names)

    def read_rows(self, sheet: str) -> list[list[Any]]:
        return self._book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)


class Rows:
    """Rows already read, so that frames are timed alone."""

    def __init__(self, rows: dict[str, list[list[Any]]]) -> None:
        self.rows = rows

    def sheet_names(self) -> list[str]:
        return list(self.rows)

    def read_rows(self, sheet: str) -> list[list[Any]]:
        return self.rows[sheet]


def open_book(path: Path) -> Any:
    try:
        from cpor_excel.io.file_book import FileBook
    except ImportError:
        return CalamineBook(path)
    return FileBook(path)


def timed(action: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--associations", type=int, default=50_000)
    parser.add_argument("--usage-rows", type=int, default=500_000)
    parser.add_argument("--fresh", action="store_true", help="regenerate the workbook")
    args = parser.parse_args()

    from cpor_excel.io.frames import read_workbook_data
    from cpor_excel.rules.prepare import prepare

    OUT.mkdir(exist_ok=True)
    path = OUT / f"bench_{args.customers}_{args.associations}_{args.usage_rows}.xlsx"
    if args.fresh or not path.exists():
        began = time.perf_counter()
        generate(path, args.customers, args.associations, args.usage_rows)
        print(
            f"generated {path.name} ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - began:.1f} s"
        )

    sheets = ("Customers", "Associations", "Usage")

    def read() -> None:
        from python_calamine import CalamineWorkbook

        book = CalamineWorkbook.from_path(str(path))
        for name in sheets:
            book.get_sheet_by_name(name).to_python(skip_empty_area=False)

    def book_rows() -> dict[str, list[list[Any]]]:
        book = open_book(path)
        return {name: book.read_rows(name) for name in sheets}

    def everything() -> Any:
        return prepare(read_workbook_data(open_book(path), path.name))

    t_read, _ = timed(read, args.repeat)
    t_book, rows = timed(book_rows, args.repeat)
    t_frames, data = timed(lambda: read_workbook_data(Rows(rows), path.name), args.repeat)
    t_prepare, _ = timed(lambda: prepare(data), args.repeat)
    t_all, prepared = timed(everything, args.repeat)
    reader = type(open_book(path)).__name__
    print(
        f"rows: {args.customers:,} customers, {args.associations:,} associations, {args.usage_rows:,} usage"
    )
    print(f"medians of {args.repeat} runs")
    print(f"  calamine read                 {t_read:7.2f} s")
    print(f"  {(reader + '.read_rows').ljust(30)}{t_book:7.2f} s")
    print(f"  frames alone                  {t_frames:7.2f} s")
    print(f"  prepare alone                 {t_prepare:7.2f} s")
    print(f"  all: open, read, frames, prepare {t_all:4.2f} s")
    print(f"  all / calamine read = {t_all / t_read:.2f}; frames + prepare = {t_frames + t_prepare:.2f} s")
    print(f"  findings: {len(prepared.findings)} (expected 1: example-program)")


if __name__ == "__main__":
    main()

"""Example Partner Center earnings downloads for the shipped sample: what Microsoft might have sent for its
usage pay from June to October 2025, with a few planted differences (tests/partner_center_downloads.py,
``microsoft_view``), as the downloads come: an Earnings report (UTF-8 with BOM) and an Ineligible revenue usage
details file (UTF-16 tab-separated). The README's reconciliation example imports them.

    python docs/example_downloads.py [--out sample_workbooks/partner_center]

A test writes them again and compares (tests/test_reconciliation_run.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_workbooks" / "cpor_sample.xlsx"
AS_OF = dt.date(2025, 11, 30)
START, END = "2025-06", "2025-10"
EARNINGS_FILE = f"earnings-{START}-to-{END}.csv"
INELIGIBLE_FILE = f"ineligible-{START}-to-{END}.txt"


def write_downloads(out: Path) -> list[Path]:
    """Both downloads for the sample's Earnings Ledger as a run on AS_OF records it, into ``out``."""
    sys.path.insert(0, str(ROOT / "tests"))
    from partner_center_downloads import (  # the documented columns and the files' quirks
        EARNINGS_DEFAULT,
        INELIGIBLE,
        microsoft_view,
        write_utf8_bom,
        write_utf16_tab,
    )

    from cpor_excel.run import check_workbook

    ledger = check_workbook(SAMPLE, AS_OF).usage_earnings
    earnings, ineligible = microsoft_view(ledger, START, END)
    out.mkdir(parents=True, exist_ok=True)
    return [
        write_utf8_bom(out / EARNINGS_FILE, EARNINGS_DEFAULT, earnings),
        write_utf16_tab(out / INELIGIBLE_FILE, INELIGIBLE, ineligible),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "sample_workbooks" / "partner_center")
    for path in write_downloads(parser.parse_args().out):
        print(path)


if __name__ == "__main__":
    main()

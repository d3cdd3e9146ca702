"""A large generated CPOR workbook for timing the engine: `create_sample` at scale.

5,000 customers give about 45,000 claim rows and 500,000 usage rows (about a minute on one core). Prints
the row counts, the time taken and the file size.

    python benchmarks/make_big_workbook.py [--customers 5000] [--seed 7] [--out benchmarks/out/big.xlsx] [--force]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from cpor_excel.sample import DEFAULT_AS_OF, create_sample

OUT = Path(__file__).resolve().parent / "out" / "big.xlsx"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--force", action="store_true", help="replace the workbook when it exists")
    args = parser.parse_args()

    out: Path = args.out
    if out.exists():
        if not args.force:
            parser.exit(0, f"{out} exists (pass --force to make it again)\n")
        out.unlink()
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    info = create_sample(out, customers=args.customers, seed=args.seed, as_of=DEFAULT_AS_OF)
    seconds = time.perf_counter() - started
    print(
        f"{out}: {info.customers:,} customers, {info.associations:,} claim rows, {info.usage:,} usage rows "
        f"in {seconds:.1f} s ({out.stat().st_size / 1e6:.1f} MB, as of {info.as_of}, seed {info.seed})"
    )


if __name__ == "__main__":
    main()

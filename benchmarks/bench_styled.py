"""What padding costs a run, against the same workbook without it, in one run on one machine (issue 18).

    python benchmarks/bench_styled.py [--customers 5000] [--columns 28] [--strings-mb 1400] [--rounds 3]
                                      [--python PATH] [--json]

Makes (once, cached in benchmarks/out/) bench_run.py's big workbook (5,000 customers, ~500,000 usage rows)
and two padded copies of it (``tests/hostile_books.py``):
  styled   a format applied to whole columns A:AB of Usage, stored as an empty styled cell in every row down
           to row 1,048,576 (28 columns: about 27 million empty cells, ~750 MB of sheet XML);
  strings  about 1.4 GB of shared strings no cell uses, deflated about 115:1 (~12 MB in the file).
Then it interleaves whole processes, plain styled strings plain styled strings ..., each
`run_workbook(BOOK, out=OUT, as_of=2025-11-30)` with its drafts in a temporary folder, and prints the
medians of time and the peak memory of each, and the ratios to the plain workbook (target: at most 2 for
both). Runs in the same base venv as bench_run.py (--python picks another interpreter). On a shared machine
the ratios, measured in one run, are what to compare.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from bench_run import AS_OF, RUN, base_python, big_workbook, process  # noqa: E402

from tests.hostile_books import styled_empty_cells, unused_shared_strings  # noqa: E402


def padded(book: Path, kind: str, columns: int, strings_mb: int) -> Path:
    """The padded copy of ``book`` (made once)."""
    if kind == "styled":
        path = book.with_name(f"{book.stem}-styled-{columns}.xlsx")
        if not path.exists():
            print(f"making {path.name} ...", flush=True)
            styled_empty_cells(book, path, "Usage", columns=columns)
    else:
        path = book.with_name(f"{book.stem}-strings-{strings_mb}.xlsx")
        if not path.exists():
            print(f"making {path.name} ...", flush=True)
            unused_shared_strings(book, path, strings_mb * 1024**2)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--columns", type=int, default=28, help="columns formatted down to row 1,048,576")
    parser.add_argument("--strings-mb", type=int, default=1400, help="MB of unused shared strings")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--python", help="interpreter to run with (default: the base venv of bench_run.py)")
    args = parser.parse_args()
    plain = big_workbook(args.customers)
    books = {
        "plain": plain,
        "styled": padded(plain, "styled", args.columns, args.strings_mb),
        "strings": padded(plain, "strings", args.columns, args.strings_mb),
    }
    python = args.python or base_python()
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in books}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.rounds):
            for name, book in books.items():
                out, drafts = Path(tmp) / f"{name}.xlsx", Path(tmp) / f"drafts-{name}-{i}"
                runs[name].append(process(python, RUN, str(book), str(out), AS_OF.isoformat(), str(drafts)))
                print(
                    f"round {i + 1} {name}: {runs[name][-1][0]:.2f} s, {runs[name][-1][2]:.0f} MiB",
                    flush=True,
                )

    result: dict[str, dict[str, float | str]] = {}
    for name, book in books.items():
        seconds = statistics.median(wall for wall, _, _ in runs[name])
        peak = max(mib for _, _, mib in runs[name])
        result[name] = {
            "workbook": book.name,
            "bytes": book.stat().st_size,
            "s": round(seconds, 2),
            "peak_mib": round(peak),
        }
    for name in ("styled", "strings"):
        result[name]["time_ratio"] = round(float(result[name]["s"]) / float(result["plain"]["s"]), 2)
        result[name]["memory_ratio"] = round(
            float(result[name]["peak_mib"]) / float(result["plain"]["peak_mib"]), 2
        )
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print()
    for name, row in result.items():
        ratios = f"   x{row['time_ratio']} time, x{row['memory_ratio']} memory" if name != "plain" else ""
        print(f"{name:<8}{row['workbook']:<36}{row['s']:>7.2f} s {row['peak_mib']:>6} MiB{ratios}")
    print(f"(target: within 2x of plain in time and memory; interpreter {python})")


if __name__ == "__main__":
    main()

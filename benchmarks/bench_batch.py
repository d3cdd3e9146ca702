"""Batch throughput: workbooks per second over a share of generated partner workbooks (issue 17).

Generates (once, cached in benchmarks/out/) 200 sample workbooks of 40 customers each (about 330 claim rows
and 3,900 usage rows apiece, as `cpor-excel sample` makes them), then for each --jobs value copies them into a
fresh folder (not timed) and times `run_batch` on it: the full run (read, cross-workbook conflicts, write in
place, drafts) and the dry run (read-only). Prints one table: total seconds, workbooks per second, and the CPU
time per workbook of this process and its workers together (which a busy machine disturbs less than the
wall time), with the load average before each measurement.

    python benchmarks/bench_batch.py [--workbooks 200] [--customers 40] [--jobs 1,2] [--fresh]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
AS_OF = dt.date(2025, 11, 30)


def generate(folder: Path, workbooks: int, customers: int) -> list[Path]:
    from cpor_excel.sample import create_sample

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(workbooks):
        path = folder / f"partner-{i:04d}.xlsx"
        if not path.exists():
            create_sample(path, customers=customers, seed=1000 + i, as_of=AS_OF)
        paths.append(path)
    return paths


def fresh_copy(master: Path, work: Path) -> Path:
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(master, work, ignore=shutil.ignore_patterns("* drafts"))
    return work


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workbooks", type=int, default=200)
    parser.add_argument("--customers", type=int, default=40)
    parser.add_argument("--jobs", default="1,2", help="comma-separated job counts")
    parser.add_argument("--fresh", action="store_true", help="regenerate the workbooks")
    args = parser.parse_args()

    from cpor_excel.batch.run import run_batch

    master = OUT / f"batch-{args.workbooks}x{args.customers}"
    if args.fresh and master.exists():
        shutil.rmtree(master)
    started = time.perf_counter()
    paths = generate(master, args.workbooks, args.customers)
    print(
        f"{len(paths)} workbooks of {args.customers} customers in {master} ({time.perf_counter() - started:.1f} s)"
    )

    rows = []
    for jobs in [int(j) for j in args.jobs.split(",")]:
        for dry_run in (False, True):
            work = fresh_copy(master, OUT / "batch-work")
            load = os.getloadavg()[0]
            cpu = _cpu_seconds()
            started = time.perf_counter()
            result = run_batch([work], as_of=AS_OF, jobs=jobs, dry_run=dry_run)
            seconds = time.perf_counter() - started
            cpu = _cpu_seconds() - cpu
            done = len(result.processed)
            rows.append(
                (
                    jobs,
                    "dry run" if dry_run else "run",
                    done,
                    seconds,
                    done / seconds,
                    1000 * cpu / max(done, 1),
                    result.totals()["cross_workbook_conflicts"],
                    load,
                )
            )
    shutil.rmtree(OUT / "batch-work", ignore_errors=True)

    print(
        f"{'jobs':>4}  {'mode':<8} {'workbooks':>9} {'seconds':>8} {'wb/s':>7} {'CPU ms/wb':>9} "
        f"{'x-conflicts':>11} {'load':>5}"
    )
    for jobs, mode, done, seconds, rate, cpu_ms, conflicts, load in rows:
        print(
            f"{jobs:>4}  {mode:<8} {done:>9} {seconds:>8.1f} {rate:>7.1f} {cpu_ms:>9.0f} "
            f"{conflicts:>11} {load:>5.1f}"
        )


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the batch's worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    main()

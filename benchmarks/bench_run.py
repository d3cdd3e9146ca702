"""End-to-end speed of `cpor-excel run` against the calamine floor, in one run on one machine (issues 9, 17).

    python benchmarks/bench_run.py [--customers 5000] [--rounds 5] [--python PATH] [--only clean|messy]

Makes (once, cached in benchmarks/out/) two workbooks of 5,000 customers and about 500,000 usage rows:
  clean  a sample workbook (~45,000 association rows; a first run: ~41,000 findings, ~37,500 new ledger rows);
  messy  benchmarks/messy_workbook.py (50,000 association rows; a first run: ~85,000 findings, ~76,500 new
         ledger rows, most usage months reaching a milestone, problems in every sheet).
For each it interleaves whole processes A B A B ...:
  A  the floor: python-calamine reads Customers, Associations and Usage to Python lists;
  B  `cpor-excel run BOOK --out OUT --as-of 2025-11-30 --drafts TMP` (`python -m cpor_excel`), start to exit.
Each process is timed whole (start-up, imports and exit included) and its peak memory is its own (os.wait4).
It prints the medians, the ratio B/A (target: at most 3), B's peak memory (target: under 1 GiB) and the
spread of the rounds, then the time of each phase of one more run. Both run in a venv with the base install
(the README's first command), made once in benchmarks/out/venv-base; --python picks another interpreter.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
AS_OF = dt.date(2025, 11, 30)

FLOOR = """
from python_calamine import CalamineWorkbook
import sys
book = CalamineWorkbook.from_path(sys.argv[1])
rows = [book.get_sheet_by_name(n).to_python() for n in ("Customers", "Associations", "Usage")]
"""


def messy_workbook(customers: int) -> Path:
    path = HERE / "out" / f"messy_{customers}.xlsx"
    if not path.exists():
        from messy_workbook import messy_workbook as make

        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {path.name} ({customers} customers) ...", flush=True)
        make(path, customers)
    return path


def big_workbook(customers: int) -> Path:
    path = HERE / "out" / f"big_{customers}.xlsx"
    if not path.exists():
        from cpor_excel.sample import create_sample

        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {path.name} ({customers} customers) ...", flush=True)
        create_sample(path, customers=customers, as_of=AS_OF)
    return path


def process(command: list[str], ok: tuple[int, ...] = (0,)) -> tuple[float, float]:
    """(wall seconds of the whole process, its peak RSS in MiB), the peak from the process's own resource
    usage (os.wait4), so nothing is added to the process measured."""
    with tempfile.TemporaryFile() as errors:  # (a file, not a pipe: nobody reads a pipe while it runs)
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = code = os.waitstatus_to_exitcode(status)
        if code not in ok:
            errors.seek(0)
            sys.exit(f"{' '.join(command[:4])} ... failed ({code}): {errors.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def run_command(python: str, book: Path, out: Path, drafts: Path) -> list[str]:
    """`cpor-excel run`, as a user types it (exit code 1: the workbook has errors, as these do)."""
    command = [python, "-m", "cpor_excel", "run", str(book), "--out", str(out)]
    return [*command, "--as-of", AS_OF.isoformat(), "--drafts", str(drafts)]


# One run in a process of its own, timed phase by phase by wrapping the run's own steps (run.py, which imports
# them where it calls them). The engine is imported first here, so "import" is timed on its own (in the timed
# rounds above, a run imports it while its workbook is being read).
PHASES = """
import datetime as dt, json, sys, time
t0 = time.perf_counter()
import cpor_excel.run as run
import cpor_excel.apply as apply
import cpor_excel.io.frames as frames
import cpor_excel.rules.prepare as prepare
import cpor_excel.rules.registry as registry
from cpor_excel.io.file_book import FileBook
times = {"import": time.perf_counter() - t0}

def timed(owner, name, phase):
    step = getattr(owner, name)
    def wrapped(*args, **kwargs):
        t = time.perf_counter()
        try:
            return step(*args, **kwargs)
        finally:
            times[phase] = times.get(phase, 0.0) + time.perf_counter() - t
    setattr(owner, name, wrapped)

timed(frames, "read_workbook_data", "read")
timed(prepare, "prepare", "prepare")
timed(prepare, "check_sheets", "prepare")  # the sheets validated while Usage is still being read
timed(registry, "evaluate", "evaluate")
timed(run, "_draft", "drafts")
timed(apply, "apply", "apply")
timed(FileBook, "save", "save")
t = time.perf_counter()
run.run_workbook(sys.argv[1], out=sys.argv[2], as_of=dt.date.fromisoformat(sys.argv[3]), drafts_dir=sys.argv[4])
times["other"] = time.perf_counter() - t - sum(v for k, v in times.items() if k != "import")
print(json.dumps(times))
"""


def phases(python: str, book: Path, out: Path, drafts: Path) -> dict[str, float]:
    done = subprocess.run(
        [python, "-c", PHASES, str(book), str(out), AS_OF.isoformat(), str(drafts)],
        capture_output=True,
        text=True,
        check=True,
    )
    times: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    return times


def base_python() -> str:
    """An interpreter with cpor-excel installed as the README's first command installs it (no extras),
    made once in benchmarks/out/venv-base, and installed again when setup.cfg (the dependencies) changed
    since. The test extras add dask, which pandera's model building then tries to import (0.3-1 s a run that
    a user without them never pays)."""
    venv = HERE / "out" / "venv-base"
    python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    installed = venv / "installed"  # touched after each install
    if not python.exists():
        print(f"making {venv} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    setup = HERE.parent / "setup.cfg"
    if not installed.exists() or installed.stat().st_mtime < setup.stat().st_mtime:
        print(f"installing cpor-excel into {venv} (pip install -e .) ...", flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", str(HERE.parent)], check=True)
        installed.touch()
    return str(python)


def measure(python: str, book: Path, rounds: int) -> dict[str, object]:
    """Interleaved rounds of the floor and the run on one workbook, then one run timed phase by phase."""
    floor: list[tuple[float, float]] = []
    runs: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        out, drafts = Path(tmp) / "out.xlsx", Path(tmp) / "drafts"
        for i in range(rounds):
            floor.append(process([python, "-c", FLOOR, str(book)]))
            runs.append(process(run_command(python, book, out, drafts / str(i)), ok=(0, 1)))
            print(
                f"{book.name} round {i + 1}: floor {floor[-1][0]:.2f} s, run {runs[-1][0]:.2f} s", flush=True
            )
        split = phases(python, book, Path(tmp) / "phases.xlsx", drafts / "phases")
    a = statistics.median(w for w, _ in floor)
    b = statistics.median(w for w, _ in runs)
    return {
        "workbook": book.name,
        "bytes": book.stat().st_size,
        "floor_s": round(a, 2),
        "run_s": round(b, 2),
        "ratio": round(b / a, 2),
        "ratios_per_round": [round(r[0] / f[0], 2) for f, r in zip(floor, runs, strict=True)],
        "floor_range_s": [round(min(w for w, _ in floor), 2), round(max(w for w, _ in floor), 2)],
        "run_range_s": [round(min(w for w, _ in runs), 2), round(max(w for w, _ in runs), 2)],
        "run_peak_mib": round(max(m for _, m in runs)),
        "floor_peak_mib": round(max(m for _, m in floor)),
        "phases_s": {k: round(v, 2) for k, v in split.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=("clean", "messy"), default=None)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--python",
        help="interpreter to run both processes with (default: a venv with the base install, made once)",
    )
    args = parser.parse_args()
    books = {"clean": big_workbook, "messy": messy_workbook}
    if args.only:
        books = {args.only: books[args.only]}
    python = args.python or base_python()
    results = {name: measure(python, make(args.customers), args.rounds) for name, make in books.items()}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name, r in results.items():
        print()
        print(f"{name:<28}{r['workbook']} ({int(r['bytes']) / 2**20:.1f} MiB)")  # type: ignore[call-overload]
        print(f"{'  calamine floor (median)':<28}{r['floor_s']:.2f} s   peak {r['floor_peak_mib']} MiB")
        print(f"{'  cpor-excel run (median)':<28}{r['run_s']:.2f} s   peak {r['run_peak_mib']} MiB")
        print(f"{'  ratio run / floor':<28}{r['ratio']:.2f}   (target <= 3.0; peak target < 1024 MiB)")
        print(
            f"{'  ratio of each round':<28}{r['ratios_per_round']}; floor {r['floor_range_s']} s, run {r['run_range_s']} s"
        )
        print("  phases of one run: " + ", ".join(f"{k} {v:.2f} s" for k, v in r["phases_s"].items()))  # type: ignore[attr-defined]
    print(f"\n{'interpreter':<28}{python}")


if __name__ == "__main__":
    main()

"""Speed of drafting the consent emails of `cpor-excel run` on the big sample workbook (issue 9).

    python benchmarks/bench_drafts.py [--customers 5000] [--rounds 3] [--drafts-base DIR] [--json]

Makes (once, cached in benchmarks/out/) the sample workbook with 5,000 customers (~50,000 associations,
~500,000 usage rows), reads, validates and evaluates it once, then times, round by round:
  select   `claims_to_draft` (which claims get an email);
  render   rendering every email to bytes with one `ConsentRenderer`, nothing written;
  drafts   the whole `draft_emails`: select, render, write each .eml atomically and sync them to disk.
Each round drafts into a new folder under DIR (default: the system's temporary folder), removed at the end.
It prints the median milliseconds per draft of each (target for drafts: well under 1 ms). Writing costs
whatever creating a file costs on DIR's disk: compare a tmpfs DIR (/dev/shm) to see the code's share.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench_run import big_workbook  # the cached big workbook, shared with the end-to-end benchmark

AS_OF = dt.date(2025, 11, 30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--drafts-base", type=Path, default=None, help="folder to draft into (default: temp)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from cpor_excel.io.file_book import FileBook
    from cpor_excel.io.frames import read_workbook_data
    from cpor_excel.mail.outbox import draft_emails
    from cpor_excel.mail.render import ConsentRenderer
    from cpor_excel.rules.drafts import claims_to_draft
    from cpor_excel.rules.prepare import prepare
    from cpor_excel.rules.registry import evaluate

    book = big_workbook(args.customers)
    with FileBook(book) as fb:
        data = read_workbook_data(fb, book.name)
    prepared = prepare(data)
    evaluation = evaluate(prepared, AS_OF)
    findings, settings = evaluation.findings, prepared.settings

    seconds: dict[str, list[float]] = {"select": [], "render": [], "drafts": []}
    drafted = 0
    with tempfile.TemporaryDirectory(dir=args.drafts_base) as tmp:
        for i in range(args.rounds):
            start = time.perf_counter()
            requests, _ = claims_to_draft(prepared, findings, settings, AS_OF)
            seconds["select"].append(time.perf_counter() - start)

            start = time.perf_counter()
            renderer = ConsentRenderer()
            for request in requests:
                renderer.render(request, AS_OF)
            seconds["render"].append(time.perf_counter() - start)

            start = time.perf_counter()
            drafts, _ = draft_emails(prepared, findings, settings, AS_OF, Path(tmp) / f"round {i}")
            seconds["drafts"].append(time.perf_counter() - start)
            drafted = len(drafts)
            print(
                f"round {i + 1}: {drafted} drafts in {seconds['drafts'][-1]:.2f} s "
                f"(select {seconds['select'][-1]:.2f} s, render {seconds['render'][-1]:.2f} s)",
                flush=True,
            )

    median = {k: statistics.median(v) for k, v in seconds.items()}
    per_draft = {k: 1000 * v / max(drafted, 1) for k, v in median.items()}
    result = {
        "workbook": book.name,
        "drafts": drafted,
        "drafts_base": str(args.drafts_base or tempfile.gettempdir()),
        "median_seconds": {k: round(v, 3) for k, v in median.items()},
        "ms_per_draft": {k: round(v, 3) for k, v in per_draft.items()},
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"{drafted} drafts, median of {args.rounds}: draft_emails {per_draft['drafts']:.3f} ms per draft "
        f"({median['drafts']:.2f} s); of which select {per_draft['select']:.3f} ms, "
        f"render {per_draft['render']:.3f} ms, the rest writing and syncing"
    )


if __name__ == "__main__":
    main()

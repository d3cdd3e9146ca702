"""A batch over shared workbooks: each one run as `run` does, plus conflicts between workbooks.

Parallel phases around small serial steps:
1. *read*: every worker looks at one workbook's Associations and sends back only the tenant IDs it names
   (every GUID written in the sheet, as a run would parse it, or more): a few kilobytes, a few
   milliseconds per workbook.
2. *claims*: only the workbooks that name a tenant another workbook also names are read further: their
   claims typed and validated as a run makes them (the columns the conflict rule needs). In the usual batch,
   where partners hold different customers, this phase has nothing to do: each workbook is read once.
3. *index*: those claims are concatenated; a customer workload held in more than one workbook is a
   candidate cross-workbook conflict.
4. *process*: every workbook is evaluated and written in place like `run`, given the other workbooks' rows
   for its own customer workloads, so its conflicts name the other workbook and claim. Small workbooks go
   in chunks of up to 16 per task (``chunk.py``: their big sheets validated together). Each sends back its
   report, and its claims and ledgers as read (for the batch report).
Workers get paths and small frames, never a workbook, so memory stays at one chunk of small workbooks (or
one big workbook) per worker and the same task functions run on local processes or on a Dask cluster.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from cpor_excel.batch.chunk import chunks, process_chunk
from cpor_excel.batch.discover import discover, labels
from cpor_excel.batch.executor import batch_executor, default_jobs
from cpor_excel.batch.report import report_paths
from cpor_excel.batch.tasks import (
    CLAIM_COLUMNS,
    EARNINGS_COLUMNS,
    FAILED,
    LEDGER_COLUMNS,
    LOCKED,
    PROCESSED,
    READ,
    UNREADABLE,
    Scan,
    WorkbookResult,
    read_claims,
    read_tenants,
)
from cpor_excel.errors import CporError
from cpor_excel.runtime import paused_gc

KEY = ["Tenant ID", "Workload"]

#: progress callback: (phase "read" | "process", workbooks done, workbooks in the phase, workbook just done)
ProgressCallback = Callable[[str, int, int, str], None]

T = TypeVar("T")


# ------------------------------------------------------------------------------------------- the result


@dataclass
class BatchResult:
    as_of: dt.date
    dry_run: bool
    workbooks: list[WorkbookResult]
    #: one dict per conflicting pair of claims in different workbooks (rules/conflicts.py's keys)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why) of arguments passed over
    #: phase 1's frames, for the report: every workbook's claims and its ledger before this run
    claims: pd.DataFrame = field(default_factory=pd.DataFrame)
    ledger: pd.DataFrame = field(default_factory=pd.DataFrame)
    earnings: pd.DataFrame = field(default_factory=pd.DataFrame)  # every Earnings Ledger before this run
    report_files: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def processed(self) -> list[WorkbookResult]:
        return [w for w in self.workbooks if w.status in PROCESSED]

    @property
    def exit_code(self) -> int:
        """1 when any workbook has errors or conflicts, 3 when none could be processed, else 0."""
        done = self.processed
        if not done:
            return 3
        return 1 if any(w.report is not None and w.report.exit_code for w in done) else 0

    def totals(self) -> dict[str, int]:
        keys = ("errors", "warnings", "infos", "conflicts", "new_milestones", "new_usage_months", "drafts")
        out = dict.fromkeys(keys, 0)
        for w in self.processed:
            for k, v in (w.counts() or {}).items():
                if k in out:
                    out[k] += v
        statuses = [w.status for w in self.workbooks]
        out.update(
            workbooks=len(self.workbooks),
            processed=len(self.processed),
            cross_workbook_conflicts=len(self.conflicts),
            **{s: statuses.count(s) for s in (LOCKED, UNREADABLE, FAILED)},
        )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "counts": self.totals(),
            "workbooks": [w.to_dict() for w in self.workbooks],
            "conflicts": self.conflicts,
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "report_files": self.report_files,
        }


# ------------------------------------------------------------------------------------------- the batch


def run_batch(
    paths: Iterable[str | Path],
    *,
    as_of: dt.date | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    report: str | Path | None = None,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
) -> BatchResult:
    """Run every workbook found under ``paths`` (folders, files, globs) and find conflicts between them.

    Each workbook is written in place exactly as `run` writes it (nothing with ``dry_run``); a workbook open
    in Excel, unreadable or failing is reported and the batch goes on. ``report`` (a path without suffix)
    also writes ``report.xlsx`` and ``report.html``. Raises :class:`CporError` only when the batch cannot
    start (a path that does not exist, no workbook found, no cluster at ``scheduler``). Worker processes
    are spawned, so a script calling this with ``jobs`` > 1 needs the usual ``if __name__ == "__main__":``.
    """
    started = time.perf_counter()
    as_of = as_of or dt.date.today()
    run_at = dt.datetime.now().replace(microsecond=0)
    report_base = _report_base(report) if report is not None else None
    exclude = [report_paths(report_base)[0]] if report_base is not None else []
    found = discover(paths, exclude=exclude)
    if not found.workbooks:
        where = ", ".join(str(p) for p in paths) if not isinstance(paths, str) else str(paths)
        raise CporError(f"no .xlsx or .xlsm workbook found in {where}: give a folder or workbook files.")
    names = labels(found.workbooks)
    items = [(str(p), n) for p, n in zip(found.workbooks, names, strict=True)]

    with batch_executor(jobs, scheduler, tasks=len(items)) as executor:
        scans = _gather(
            executor,
            [(read_tenants, (path, name)) for path, name in items],
            "read",
            [n for _, n in items],
            progress,
            lambda i, err: Scan(items[i][0], items[i][1], FAILED, _worker_lost(err)),
        )
        readable = [s for s in scans if s.status == READ]
        named_elsewhere = tenants_shared(readable)
        sharing = [s for s in readable if s.workbook in named_elsewhere]
        read = _gather(  # nothing to do unless two workbooks name one tenant
            executor,
            [(read_claims, (s.path, s.workbook)) for s in sharing],
            "claims",
            [s.workbook for s in sharing],
            progress,
            lambda i, err: Scan(sharing[i].path, sharing[i].workbook, FAILED, _worker_lost(err)),
        )
        shared = _concat([s.claims for s in read if s.claims is not None], CLAIM_COLUMNS)
        others = shared_claims(shared, [s.workbook for s in read if s.status == READ])
        planned = chunks(
            [(s.path, s.workbook, others.get(s.workbook)) for s in readable], jobs or default_jobs()
        )
        processed = [
            result
            for done in _gather(
                executor,
                [(process_chunk, (chunk, as_of, dry_run, run_at)) for chunk in planned],
                "process",
                [[workbook for _, workbook, _ in chunk] for chunk in planned],
                progress,
                lambda i, err: [
                    WorkbookResult(path, workbook, FAILED, _worker_lost(err))
                    for path, workbook, _ in planned[i]
                ],
            )
            for result in done
        ]

    by_name = {w.workbook: w for w in processed}
    results = [
        by_name.get(s.workbook) or WorkbookResult(s.path, s.workbook, s.status, s.message, seconds=s.seconds)
        for s in scans
    ]
    read_seconds = {s.workbook: s.seconds for s in [*scans, *read]}
    for w in processed:  # the reading phases' time belongs to the workbook too
        w.seconds += read_seconds[w.workbook]
    # the report's claims and ledgers: as each workbook's run read them, else as phase 2 did
    as_read = {s.workbook: s for s in read if s.status == READ}
    as_read.update({w.workbook: w.read for w in processed if w.read is not None})
    kept = [as_read[s.workbook] for s in scans if s.workbook in as_read]
    for w in processed:
        w.read = None
    claims = _concat([s.claims for s in kept if s.claims is not None], CLAIM_COLUMNS)
    ledger = _concat([s.ledger for s in kept if s.ledger is not None], LEDGER_COLUMNS)
    earnings = _concat([s.earnings for s in kept if s.earnings is not None], EARNINGS_COLUMNS)
    result = BatchResult(
        as_of=as_of,
        dry_run=dry_run,
        workbooks=results,
        conflicts=cross_workbook_conflicts(results),
        skipped=[(str(p), why) for p, why in found.skipped],
        claims=claims,
        ledger=ledger,
        earnings=earnings,
    )
    if report_base is not None:
        from cpor_excel.batch.report import write_report

        result.report_files = [str(p) for p in write_report(result, report_base)]
    result.seconds = time.perf_counter() - started
    return result


def _report_base(report: str | Path) -> Path:
    base = Path(report)
    if base.suffix.lower() in (".xlsx", ".html", ".htm"):
        base = base.with_suffix("")
    try:  # `--report out/cpor` makes out/, as `mkdir -p` would
        base.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CporError(
            f"cannot create the folder of --report {report} ({err.strerror or err}): choose another path."
        ) from None
    return base


def _gather(
    executor: Executor,
    tasks: list[tuple[Callable[..., T], tuple[Any, ...]]],
    phase: str,
    names: Sequence[str | list[str]],
    progress: ProgressCallback | None,
    lost: Callable[[int, BaseException], T],
) -> list[T]:
    """Submit every task, report each workbook as its task finishes, and return the results in submission
    order. ``names``: the workbook of each task, or its workbooks (a chunk).

    Task functions return their own errors as data, so a future fails only when its worker did: a process
    killed (out of memory), a Dask worker lost. ``lost`` turns that into the workbooks' result, and the
    batch reports it instead of stopping half-way with other workbooks already written.
    """
    if not tasks:
        return []
    covers = [[n] if isinstance(n, str) else n for n in names]
    total = sum(len(c) for c in covers)
    if progress is not None:
        progress(phase, 0, total, "")
    results: list[T | None] = [None] * len(tasks)
    futures: dict[Future[T], int] = {}
    done = 0
    for i, (fn, args) in enumerate(tasks):
        try:
            futures[executor.submit(fn, *args)] = i
        except Exception as err:  # a pool already broken by an earlier crash refuses new work
            results[i] = lost(i, err)
            done += len(covers[i])
    # (workers' results are unpickled meanwhile: tens of thousands of small objects per chunk, findings and
    # report rows, without cycles; with the collector on, that costs this process three times as much)
    with paused_gc():
        for future in as_completed(futures):
            i = futures[future]
            try:
                results[i] = future.result()
            except Exception as err:
                results[i] = lost(i, err)
            for name in covers[i]:
                done += 1
                if progress is not None:
                    progress(phase, done, total, name)
    return [r for r in results if r is not None]


def _worker_lost(err: BaseException) -> str:
    first = str(err).splitlines()[0] if str(err) else ""
    return (
        f"the worker processing it stopped ({type(err).__name__}: {first}); it may have run out of memory: "
        "run the batch again with fewer --jobs"
    )


def _concat(frames: list[pd.DataFrame], columns: Sequence[str]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=[*columns, "Workbook"])
    return pd.concat(frames)


def tenants_shared(scans: Sequence[Scan]) -> set[str]:
    """The workbooks that name a tenant some other workbook also names (phase 1's tenants)."""
    holders: dict[str, list[str]] = {}
    for scan in scans:
        for tenant in scan.tenants:
            holders.setdefault(tenant, []).append(scan.workbook)
    return {name for names in holders.values() if len(names) > 1 for name in names}


def shared_claims(claims: pd.DataFrame, workbooks: Iterable[str]) -> dict[str, pd.DataFrame]:
    """For each workbook whose customer workloads also appear in another workbook: those other workbooks'
    rows for its customer workloads (the ``others`` the engine takes). A workbook with nothing shared is
    left out, and its run is exactly a single-workbook `run`."""
    wanted = set(workbooks)
    if claims.empty or any(c not in claims for c in KEY):
        return {}
    keyed = claims[claims[KEY].notna().all(axis=1) & claims["Workbook"].isin(wanted)]
    held_by = keyed.groupby(KEY, sort=False)["Workbook"].transform("nunique")
    shared = keyed[held_by > 1]
    if shared.empty:
        return {}
    keys = pd.MultiIndex.from_frame(shared[KEY])
    out: dict[str, pd.DataFrame] = {}
    for name, mine in shared.groupby("Workbook", sort=False):
        own_keys = pd.MultiIndex.from_frame(mine[KEY]).unique()
        out[str(name)] = shared[(shared["Workbook"] != name).to_numpy() & keys.isin(own_keys)]
    return out


def cross_workbook_conflicts(results: list[WorkbookResult]) -> list[dict[str, Any]]:
    """Every conflicting pair of claims in two different workbooks, once, as the first workbook of the batch
    (in batch order) that reported it sees it."""
    seen: set[frozenset[tuple[str, int]]] = set()
    out: list[dict[str, Any]] = []
    for w in results:
        if w.report is None:
            continue
        for c in w.report.conflicts:
            other = c.get("other_workbook")
            if not other:
                continue
            pair = frozenset({(w.workbook, int(c["row"])), (str(other), int(c["other_row"]))})
            if pair in seen:
                continue
            seen.add(pair)
            out.append({**c, "workbook": w.workbook})
    return out

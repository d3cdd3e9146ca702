"""Where batch tasks run: in this process, in local worker processes, or on a Dask cluster.

All three are a ``concurrent.futures.Executor``, so the batch submits the same top-level task functions
whatever runs them; only paths and small frames travel to a worker, never an open workbook.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from cpor_excel.errors import CporError, UsageError
from cpor_excel.runtime import InlineExecutor

T = TypeVar("T")

#: how long to wait for a Dask scheduler to answer before giving up (seconds)
CONNECT_TIMEOUT = 20


def default_jobs() -> int:
    """One worker per core the process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # Windows and macOS have no sched_getaffinity
        return max(1, os.cpu_count() or 1)


@contextmanager
def batch_executor(
    jobs: int | None = None, scheduler: str | None = None, tasks: int | None = None
) -> Iterator[Executor]:
    """The executor for a batch, shut down on exit.

    ``scheduler`` (``tcp://host:8786``) runs tasks on that Dask cluster; its workers must have cpor-excel
    installed and see the workbooks under the same paths. Otherwise ``jobs`` local processes (default: the
    core count; never more than ``tasks``); ``jobs=1`` runs in this process.
    """
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs {jobs} is not a number of workers: give 1 or more.")
    if scheduler:
        with _dask_executor(scheduler) as executor:
            yield executor
        return
    workers = jobs or default_jobs()
    if tasks is not None:
        workers = max(1, min(workers, tasks))
    if workers == 1:
        yield InlineExecutor()
        return
    # "spawn" everywhere: the same start-up Windows users get, and safe although the caller has threads
    # running (rich's progress refresh, a Dask client in tests) when fork would copy their locks.
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


@contextmanager
def _dask_executor(address: str) -> Iterator[Executor]:
    try:
        from distributed import Client
    except ImportError as err:
        raise CporError(
            "--scheduler needs Dask distributed: install it with pip install 'dask[distributed]'."
        ) from err
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        raise CporError(
            f"cannot reach the Dask scheduler at {address} ({err}): check the address and that it is running."
        ) from err
    try:
        # pure=False: two workbooks' tasks must never be merged because their arguments hash alike
        executor = client.get_executor(pure=False)
        try:
            yield executor
        finally:
            executor.shutdown(wait=False)
    finally:
        client.close()

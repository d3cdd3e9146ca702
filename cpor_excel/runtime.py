"""Process-wide helpers: switches that affect the whole Python process, not one workbook.

Kept apart from the xlsx engine so that a reader of the zip safety checks meets no garbage-collector
switch, and so that whoever pauses the collector sees in one place what that means for the process.
"""

from __future__ import annotations

import gc
import importlib.util
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

_gc_pauses = [0, False]  # blocks inside paused_gc now (any thread), and whether the collector was on
_gc_lock = threading.Lock()


@contextmanager
def paused_gc() -> Iterator[None]:
    """Python's cycle collector paused for a block that builds many containers without cycles (a sheet's
    rows, a sheet's cells): otherwise every full collection on the way walks all the run's objects again.
    Refcounting still frees everything; the collector runs as usual once the last paused block (of any
    thread: the pause is process-wide) ends. Also a decorator."""
    with _gc_lock:
        if _gc_pauses[0] == 0:
            _gc_pauses[1] = gc.isenabled()
            gc.disable()
        _gc_pauses[0] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses[0] -= 1
            if _gc_pauses[0] == 0 and _gc_pauses[1]:
                gc.enable()


_settled = [False]


def settle() -> None:
    """Once per process, right after the engine is imported: the objects alive then (the modules, classes,
    functions and caches of pandas, pandera and the engine, some 90,000) live as long as the process, so they
    are moved out of the cycle collector's sight (``gc.freeze``). No later collection walks them again, nor
    does the interpreter's clean-up at exit, which otherwise takes 0.2-0.5 s after a run (measured on a
    5,000-customer workbook: ``cpor-excel run``, and a batch's workers alike). Refcounting still frees any
    of them let go of; only a reference cycle among them is left to the process's end, and nothing that
    needs closing is left to the collector (files, locks and temporary files are closed explicitly)."""
    if not _settled[0]:
        _settled[0] = True
        gc.freeze()


class InlineExecutor(Executor):
    """Runs each task at once in the calling thread: for work too small to pay for a hand-over to another
    thread (on a busy machine, each hand-over waits for that thread to be scheduled)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # the caller sees it through future.result(), as with a pool
            if isinstance(err, KeyboardInterrupt | SystemExit):
                raise
            future.set_exception(err)
        return future


def remember_absent(*modules: str) -> None:
    """Record that these optional modules are not installed, so that importing one fails at once.

    Python caches a module it imported, not one it failed to find: a library that tries an optional import
    on every call searches the whole path each time. pandera tries ``geopandas`` for every column it
    validates (about a third of a small sheet's validation)."""
    for name in modules:
        if name not in sys.modules and importlib.util.find_spec(name) is None:
            sys.modules[name] = None  # type: ignore[assignment]  # "import name" now raises ImportError


remember_absent("geopandas")

"""Process-wide helpers: switches that affect the whole Python process, not one workbook.

Kept apart from the xlsx engine so that a reader of the zip safety checks meets no garbage-collector
switch, and so that whoever pauses the collector sees in one place what that means for the process.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

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

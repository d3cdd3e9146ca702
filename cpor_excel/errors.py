"""Errors that stop a run ("cannot run"). Bad *data* is never an exception: it is a Finding."""

from __future__ import annotations

import errno
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class CporError(Exception):
    """The tool cannot run. ``str(err)`` is one line saying what is wrong and what to do."""

    exit_code = 3


class UsageError(CporError):
    """Bad command-line usage (exit 2)."""

    exit_code = 2


class NotAWorkbook(CporError):
    """Missing file, wrong format, encrypted, corrupt or hostile package."""


class WorkbookLocked(CporError):
    """The workbook is open in Excel or another run holds its lock."""


def os_error(err: OSError, workbook: str | os.PathLike[str]) -> CporError:
    """An operating-system error met while reading or writing ``workbook`` (a full disk, a file the user may
    not read), as a CporError whose one line says what to do. Every save is atomic, so the workbook itself
    is as it was."""
    name = Path(workbook).name
    where = os.fsdecode(err.filename) if err.filename else str(workbook)
    if err.errno in _NO_ROOM:
        return CporError(
            f"no room left on the disk while writing for {name} ({err.strerror}): free some space and run "
            f"again; {name} was left as it was."
        )
    if err.errno in (errno.EACCES, errno.EPERM):
        return CporError(
            f"permission denied on {where}: ask for read and write access to it and its folder, or work on "
            "a copy."
        )
    if err.errno == errno.EROFS:
        return CporError(f"{where} is on a read-only disk or share: write a copy elsewhere with --out.")
    return CporError(f"{where}: {err.strerror or err}: check the file and its folder, then run again.")


_NO_ROOM = frozenset(
    code for code in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EFBIG) if code is not None
)


def os_errors_as_cpor(func: F) -> F:
    """Decorate a library call on one workbook (its first argument): an OSError leaves it as ``os_error``."""

    @functools.wraps(func)
    def wrapper(workbook: str | os.PathLike[str], *args: Any, **kwargs: Any) -> Any:
        try:
            return func(workbook, *args, **kwargs)
        except OSError as err:
            raise os_error(err, workbook) from err

    return wrapper  # type: ignore[return-value]

"""Errors that stop a run ("cannot run"). Bad *data* is never an exception: it is a Finding."""

from __future__ import annotations


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

"""cpor-excel: check, track and report Microsoft CPOR work kept in Excel workbooks.

Library use::

    from cpor_excel import check_workbook, run_workbook
    report = check_workbook("partner.xlsx", as_of=datetime.date(2025, 11, 30))
    report.to_dict()  # the same document `cpor-excel check --json` prints
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cpor_excel.version import __version__

if TYPE_CHECKING:
    from cpor_excel.batch.run import run_batch
    from cpor_excel.report import Report
    from cpor_excel.run import check_workbook, run_workbook

__all__ = ["Report", "__version__", "check_workbook", "main", "run_batch", "run_workbook"]

_LAZY = {
    "check_workbook": "cpor_excel.run",
    "run_workbook": "cpor_excel.run",
    "Report": "cpor_excel.report",
    "run_batch": "cpor_excel.batch.run",
}


def __getattr__(name: str) -> Any:
    # Lazy, so `import cpor_excel` (which xlwings' RunPython does) stays cheap until something is used.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cpor_excel' has no attribute {name!r}")


def main() -> None:
    """The Excel button: xlwings' RunPython runs ``import cpor_excel; cpor_excel.main()``."""
    from cpor_excel.excel.button import main as button_main

    button_main()

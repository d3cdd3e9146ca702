"""The columns an import reads and writes, and the header names (with their aliases) that find them."""

from __future__ import annotations

from cpor_excel.model.columns import CUSTOMERS, USAGE
from cpor_excel.model.headers import fold_header

KEY = ("Tenant ID", "Workload", "Month")
COUNTS = ("Active Users", "Paid Units")
USAGE_COLUMNS = tuple(c.name for c in USAGE.columns)
CUSTOMER_COLUMNS = ("Customer Name", "Country")


def _header_names() -> dict[str, str]:
    """folded header text -> canonical column, from the sheet specs (no alias table of our own)."""
    names: dict[str, str] = {}
    for col in (*USAGE.columns, *(CUSTOMERS.column(c) for c in CUSTOMER_COLUMNS)):
        for alias in (col.name, *col.aliases):
            names.setdefault(fold_header(alias), col.name)
    return names


HEADER_NAMES = _header_names()

"""A usage report's data rows -> entries: one entry per Usage row the report may give, with the export row
and the export columns each value came from (for findings at the export's own cells).

A long report (Office 365, CPOR-M365, a usage table) gives one entry per data row; the wide Enterprise
Mobility report one per row and workload column pair. Rows flagged IsDuplicateRowForPGA = 1 ("for multiple
partner attributions under a single partner global account, 0 for only one of them; 1 marks a duplicate row",
insights-data-definitions) give none.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from cpor_excel.usage_import.cells import cell_text
from cpor_excel.usage_import.columns import USAGE_COLUMNS
from cpor_excel.usage_import.kinds import DUPLICATE_FLAG, Layout

#: columns read along with the Usage columns (written to Customers, or cross-checked against Associations)
CARRIED = ("Customer Name", "Country", "Claim ID", "Partner ID", "Date Associated")
_FLAG_SET = frozenset({"1", "1.0", "true", "yes"})


@dataclass
class Entries:
    """``cells``: raw values under canonical names, index = entry (the export row for long reports).
    ``rows``: entry -> export row. ``columns``: canonical -> 0-based export column, one for every entry or
    per entry (the wide report's pair columns)."""

    cells: pd.DataFrame
    rows: pd.Series
    columns: dict[str, int | pd.Series]
    read: int  # data rows in the export that are not blank
    flagged: int  # of them, rows flagged IsDuplicateRowForPGA = 1 (skipped)
    empty_pairs: int = 0  # wide report: workload pairs left empty or 0/0 (no Usage row)

    def column(self, name: str, entry: int) -> int:
        where = self.columns[name]
        return where if isinstance(where, int) else int(where[entry])


def _flagged(body: pd.DataFrame, layout: Layout) -> pd.Series:
    if DUPLICATE_FLAG not in layout.positions:
        return pd.Series(False, index=body.index)
    text = cell_text(body[layout.positions[DUPLICATE_FLAG]])
    return text.str.casefold().isin(_FLAG_SET).fillna(False).astype(bool)


def entries_of(body: pd.DataFrame, layout: Layout, ragged: set[int]) -> Entries:
    """The entries of a report's body (raw cells, columns = positions, index = export row)."""
    return _wide(body, layout, ragged) if layout.wide else _long(body, layout, ragged)


def _long(body: pd.DataFrame, layout: Layout, ragged: set[int]) -> Entries:
    positions = layout.positions
    names = [c for c in (*USAGE_COLUMNS, *CARRIED) if c in positions]
    cells = pd.DataFrame({c: body[positions[c]] for c in names}, index=body.index)
    blank = pd.concat([cell_text(cells[c]).isna() for c in USAGE_COLUMNS], axis=1).all(axis=1)
    flagged = _flagged(body, layout) & ~blank
    keep = ~blank & ~flagged & ~cells.index.isin(list(ragged))
    cells = cells[keep]
    rows = pd.Series(cells.index, index=cells.index)
    read = int((~blank).sum()) + len(ragged)
    return Entries(cells, rows, {c: positions[c] for c in names}, read, int(flagged.sum()))


def _wide(body: pd.DataFrame, layout: Layout, ragged: set[int]) -> Entries:
    positions = layout.positions
    shared = [c for c in ("Tenant ID", "Month", *CARRIED) if c in positions]
    texts = {i: cell_text(body[i]) for i in {positions["Tenant ID"], positions["Month"]}}
    pair_texts = {w: (cell_text(body[p]), cell_text(body[a])) for w, (p, a) in layout.pairs.items()}
    nonblank = pd.concat(
        [t.notna() for t in texts.values()] + [t.notna() for pair in pair_texts.values() for t in pair],
        axis=1,
    ).any(axis=1)
    flagged = _flagged(body, layout) & nonblank
    usable = nonblank & ~flagged & ~body.index.isin(list(ragged))
    parts: list[pd.DataFrame] = []
    empty = 0
    for order, (workload, (paid_at, active_at)) in enumerate(layout.pairs.items()):
        paid, active = pair_texts[workload]
        zero = (pd.to_numeric(paid, errors="coerce") == 0) & (pd.to_numeric(active, errors="coerce") == 0)
        nothing = (paid.isna() & active.isna()) | zero
        empty += int((usable & nothing).sum())
        take = usable & ~nothing
        part = pd.DataFrame({c: body.loc[take, positions[c]] for c in shared})
        part["Workload"] = workload
        part["Paid Units"] = body.loc[take, paid_at]
        part["Active Users"] = body.loc[take, active_at]
        part["_row"], part["_order"], part["_paid"], part["_active"] = part.index, order, paid_at, active_at
        parts.append(part)
    long = pd.concat(parts).sort_values(["_row", "_order"], kind="stable").reset_index(drop=True)
    columns: dict[str, int | pd.Series] = {c: positions[c] for c in shared}
    columns["Workload"] = long["_paid"].astype("int64")
    columns["Paid Units"] = long["_paid"].astype("int64")
    columns["Active Users"] = long["_active"].astype("int64")
    names = [c for c in (*USAGE_COLUMNS, *CARRIED) if c in long.columns]
    cells = long[names].astype(object)
    rows = long["_row"].astype("int64")
    read = int(nonblank.sum()) + len(ragged)  # a ragged row's cells were cleared
    return Entries(cells, rows, columns, read, int(flagged.sum()), empty)

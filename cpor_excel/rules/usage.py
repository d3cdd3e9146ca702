"""Monthly usage as pasted from Partner Center: active users (MAU) against paid units (PAU).

MAU above PAU is possible (EDU tenants, per-service counting; DOMAIN "Usage and milestones") but more often
means columns pasted the wrong way round, and it inflates usage %. Pure and vectorised: the Usage sheet can
hold hundreds of thousands of rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cpor_excel.model.findings import Finding, findings_for_rows
from cpor_excel.model.program import Settings

SHEET = "Usage"


def count_array(frame: pd.DataFrame, column: str) -> np.ndarray:
    """An Int64 count column as float (NaN where empty or invalid), so whole-sheet arithmetic stays numpy."""
    if column not in frame:
        return np.full(len(frame), np.nan)
    values = frame[column]
    if values.dtype.kind not in "iuf":  # numbers already (the usual, after prepare): no conversion to pay for
        values = pd.to_numeric(values, errors="coerce")
    return values.to_numpy(dtype=float, na_value=np.nan)


def check_usage(usage: pd.DataFrame, settings: Settings) -> list[Finding]:
    """`usage-above-licences` (warning) on the Active Users cell of every row with MAU > PAU.

    ``settings`` is accepted so that every rule has the same shape; no setting changes this check.
    """
    del settings
    if usage.empty:
        return []
    mau, pau = count_array(usage, "Active Users"), count_array(usage, "Paid Units")
    above = mau > pau  # NaN compares False: invalid cells are skipped
    if not above.any():
        return []
    hits = usage[above]
    months = pd.to_datetime(hits["Month"], errors="coerce").dt.strftime("%Y-%m").fillna("?").tolist()
    workloads = hits["Workload"].astype(object).fillna("?").tolist()
    messages = [
        f"{int(a)} active users but {int(p)} paid units for {w} in {m}; usual for EDU tenants, otherwise "
        "check that Active Users and Paid Units were not pasted the wrong way round."
        for a, p, w, m in zip(mau[above], pau[above], workloads, months, strict=True)
    ]
    return findings_for_rows("usage-above-licences", SHEET, hits.index, messages, "Active Users")

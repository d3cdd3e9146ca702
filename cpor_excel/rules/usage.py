"""Monthly usage as pasted from Partner Center: active users (MAU) against paid units (PAU).

MAU above PAU is possible (EDU tenants, per-service counting; DOMAIN "Usage and milestones") but more often
means columns pasted the wrong way round, and it inflates usage %. Pure and vectorised: the Usage sheet can
hold hundreds of thousands of rows.
"""

from __future__ import annotations

import pandas as pd

from cpor_excel.model.findings import Finding, findings_for_rows
from cpor_excel.model.program import Settings
from cpor_excel.rules.arrays import count_array

SHEET = "Usage"


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

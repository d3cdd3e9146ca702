"""Which claim rows can earn at all: the partner's role and the incentive opt-out (DOMAIN "From FY24").

Modern Work usage earns only under the role "Use or consume", and a claim can opt out of incentive payments
(recognition only). Such a row earns neither milestones nor usage pay; the partner is told once per row
(`incentive-opt-out`, `role-not-incentivised`), so that a missing payment is never a surprise. The two columns
are optional: a workbook without them earns as before. Pure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cpor_excel.model.catalogue import INCENTIVISED_ROLE
from cpor_excel.model.findings import Finding, findings_for_rows
from cpor_excel.rules.arrays import text_array

SHEET = "Associations"
ROLE = "Partner Role"
OPT_OUT = "Incentive Opt-out"


def opted_out(associations: pd.DataFrame) -> np.ndarray:
    """True where Incentive Opt-out is yes (blank, no, or no such column: False)."""
    if OPT_OUT not in associations:
        return np.zeros(len(associations), dtype=bool)
    values = associations[OPT_OUT].to_numpy(dtype=object, copy=True)
    values[pd.isna(values)] = False
    return values.astype(bool)


def role_not_incentivised(associations: pd.DataFrame) -> np.ndarray:
    """True where Partner Role names a role other than Use or consume (blank is Use or consume)."""
    if ROLE not in associations:
        return np.zeros(len(associations), dtype=bool)
    roles = associations[ROLE].to_numpy(dtype=object)
    return np.asarray(~pd.isna(roles) & (roles != INCENTIVISED_ROLE), dtype=bool)


def incentivised(associations: pd.DataFrame) -> np.ndarray:
    """The rows that can earn milestones and usage pay: role Use or consume, not opted out."""
    return ~opted_out(associations) & ~role_not_incentivised(associations)


def incentive_findings(associations: pd.DataFrame) -> list[Finding]:
    """`incentive-opt-out` and `role-not-incentivised` (info) on the rows that cannot earn."""
    if associations.empty:
        return []
    rows = associations.index.to_numpy()
    claims = text_array(associations, "Claim ID")
    workloads = text_array(associations, "Workload")
    out = opted_out(associations)
    found = findings_for_rows(
        "incentive-opt-out",
        SHEET,
        rows[out],
        [
            f"Claim {c} opted out of incentive payments (recognition only): {w} earns no milestones and no "
            "usage pay on this row; clear Incentive Opt-out only if the claim in Partner Center does."
            for c, w in zip(claims[out], workloads[out], strict=True)
        ],
        OPT_OUT,
        claims[out],
    )
    other = role_not_incentivised(associations) & ~out
    roles = text_array(associations, ROLE)
    found += findings_for_rows(
        "role-not-incentivised",
        SHEET,
        rows[other],
        [
            f"The partner role is {r}, not {INCENTIVISED_ROLE}: {w} earns no milestones and no usage pay on "
            f"this row (Modern Work usage is paid only to the {INCENTIVISED_ROLE} role)."
            for r, w in zip(roles[other], workloads[other], strict=True)
        ],
        ROLE,
        claims[other],
    )
    return found

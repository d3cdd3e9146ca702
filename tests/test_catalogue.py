"""The catalogue: Microsoft's own workload names, partner roles and rejection reasons, and where each comes from."""

from __future__ import annotations

import pytest

from cpor_excel.model.catalogue import (
    MICROSOFT_REPORTS,
    WORKLOAD_NAME_SOURCES,
    WORKLOADS,
    canonical_reason,
    canonical_role,
    canonical_workload,
    public_sector_country,
    suggest_reason,
    suggest_role,
    suggest_workload,
)

REPORT_NAMES = [
    ("TeamsPhonecalling1p", "Teams Phone"),
    ("TeamsPhonecalling3p", "Teams Phone"),
    ("Teams Phone calling 1p", "Teams Phone"),
    ("Teams Phone calling 3p", "Teams Phone"),
    ("Microsoft Defender for Endpoints", "Microsoft Defender for Endpoint"),
    ("Microsoft Information Protection", "Microsoft Purview Information Protection"),
    ("AZIP", "Microsoft Purview Information Protection"),
    ("AATP", "Microsoft Defender for Identity"),
    ("powerbistandalone", "Power BI"),
    ("Entra ID P1", "Microsoft Entra ID P1/P2"),
    ("Entra ID P2", "Microsoft Entra ID P1/P2"),
]


@pytest.mark.parametrize(("alias", "workload"), REPORT_NAMES)
def test_microsofts_own_names_are_aliases(alias: str, workload: str) -> None:
    assert canonical_workload(alias) == workload
    assert canonical_workload(alias.upper().replace(" ", "_")) == workload
    assert WORKLOAD_NAME_SOURCES[alias] == MICROSOFT_REPORTS


def test_copilot_is_a_known_workload() -> None:
    assert canonical_workload("Microsoft 365 Copilot") == "Microsoft 365 Copilot"
    assert "Microsoft 365 Copilot" in WORKLOADS
    assert suggest_workload("Microsoft 365 Copilt") == "Microsoft 365 Copilot"


def test_every_name_says_where_it_comes_from() -> None:
    names = [n for name, aliases in WORKLOADS.items() for n in (name, *aliases)]
    assert sorted(WORKLOAD_NAME_SOURCES) == sorted(names)
    assert all(WORKLOAD_NAME_SOURCES[n].strip() for n in names)
    # one spelling, one workload
    assert len({canonical_workload(n) for n in names}) == len(WORKLOADS)


def test_roles_and_reasons() -> None:
    assert canonical_role("usage") == "Use or consume"  # the FY20-21 name
    assert canonical_role("Build intent - Advisor") == "Build intent - Advisor"
    assert canonical_role("Builder") is None and suggest_role("Build intnt") == "Build intent - Advisor"
    assert canonical_reason("insufficient poe") == "Insufficient POE"
    assert canonical_reason("Bad POE") is None
    assert suggest_reason("No partner responce") == "No partner response"


@pytest.mark.parametrize(
    ("country", "public_sector"),
    [("US", "United States"), ("usa", "United States"), ("Puerto Rico", "Puerto Rico"), ("India", "India"),
     ("IN", "India"), ("Netherlands", None), ("", None)],
)  # fmt: skip
def test_the_public_sector_rule_covers_india(country: str, public_sector: str | None) -> None:
    assert public_sector_country(country) == public_sector

"""Public-sector customers where Microsoft's CUSPUBSEC rule applies (DOMAIN.md "From FY24").

Microsoft marks the usage of a public-sector customer in the United States, Puerto Rico or India ineligible
for incentives (reason CUSPUBSEC) unless the partner answers its proof-of-execution request; for the United
States and Puerto Rico the POE also carries the public-sector disclosure (Microsoft's POE template). The
tool says so once per such customer, at its Public Sector cell (`public-sector-customer`, info), so that
CUSPUBSEC in Microsoft's earnings is never a surprise. A customer outside those countries, or not marked
Public Sector, gets nothing. Pure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cpor_excel.model.catalogue import DISCLOSURE_COUNTRIES, public_sector_country
from cpor_excel.model.earnings import REASONS
from cpor_excel.model.findings import Finding, findings_for_rows

SHEET = "Customers"
PUBLIC = "Public Sector"
COUNTRY = "Country"


def public_sector_findings(customers: pd.DataFrame) -> list[Finding]:
    """`public-sector-customer` (info) on each Customers row marked Public Sector whose Country is one that
    Microsoft's CUSPUBSEC rule covers (United States, Puerto Rico, India; their codes and other names)."""
    if customers.empty or PUBLIC not in customers or COUNTRY not in customers:
        return []
    public = np.asarray(customers[PUBLIC].astype(object) == True, dtype=bool)  # noqa: E712 (NA, text: no)
    countries = customers[COUNTRY].map(public_sector_country, na_action="ignore")
    covered = public & countries.notna().to_numpy()
    if not covered.any():
        return []
    names = customers["Customer Name"].astype(object).where(customers["Customer Name"].notna(), "")
    messages = [
        _message(str(name), str(country))
        for name, country in zip(names[covered], countries[covered], strict=True)
    ]
    return findings_for_rows("public-sector-customer", SHEET, customers.index[covered], messages, PUBLIC)


def _message(customer: str, country: str) -> str:
    where = "the United States" if country == "United States" else country
    who = (
        f"{customer} is a public-sector customer in {where}"
        if customer
        else f"A public-sector customer in {where}"
    )
    text = (
        f"{who}: Microsoft marks such customers' CPOR usage ineligible for incentives (CUSPUBSEC) unless the "
        f"partner acts: {REASONS['CUSPUBSEC'].action}. Keep the signed POE of each claim ready."
    )
    if country in DISCLOSURE_COUNTRIES:
        text += " The POE needs the public-sector disclosure (the consent drafts carry it)."
    return text

"""The CPOR vocabulary: workloads (with the names they had over the years), claim statuses, languages.

Sources are in DOMAIN.md ("Workloads", "Claims"). Lookups are case-, space-, underscore- and
hyphen-insensitive, so "exchange_online", "EXO" and "Exchange Online" are one workload.
"""

from __future__ import annotations

import difflib
import re

#: where the workload names come from (DOMAIN.md "Workloads" and "From FY24"): source -> names
FY16_LIST = "FY16 workload list (support.microsoft.com/kb/3082044)"
MODERN_WORK_LIST = (
    "FY23-24 Modern Work list (learn.microsoft.com/partner-center/solutions-partner-modern-work)"
)
MICROSOFT_REPORTS = (
    "Microsoft's own pages and reports from FY24 (customer-eligibility, solutions-partner-security, "
    "earnings-default; the Enterprise Mobility usage report's Azip columns)"
)
PRODUCT_NAMES = "Microsoft's product names, current and former (the names a partner types)"
COPILOT = (
    "Microsoft 365 Copilot: tracked and checked; whether it is a CPOR usage workload is not public, so its "
    'terms come from the workbook\'s Milestones / Rate Card sheets (DOMAIN.md "From FY24")'
)

#: canonical workload name -> ((other name, where it comes from), ...)
_CATALOGUE: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "Exchange Online": (
        PRODUCT_NAMES,
        (("Exchange", MODERN_WORK_LIST), ("EXO", PRODUCT_NAMES), ("ExO", FY16_LIST)),
    ),
    "SharePoint Online": (
        PRODUCT_NAMES,
        (("SharePoint", MODERN_WORK_LIST), ("SPO", PRODUCT_NAMES), ("SpO", FY16_LIST)),
    ),
    "OneDrive for Business": (PRODUCT_NAMES, (("OneDrive", PRODUCT_NAMES), ("ODB", PRODUCT_NAMES))),
    "Microsoft Teams": (PRODUCT_NAMES, (("Teams", MODERN_WORK_LIST),)),
    "Teams Meetings": (MODERN_WORK_LIST, ()),
    "Teams Phone": (
        MODERN_WORK_LIST,
        (
            ("Teams Phone calling", MODERN_WORK_LIST),
            ("Teams Calling", PRODUCT_NAMES),
            ("TeamsPhonecalling1p", MICROSOFT_REPORTS),
            ("TeamsPhonecalling3p", MICROSOFT_REPORTS),
            ("Teams Phone calling 1p", MICROSOFT_REPORTS),
            ("Teams Phone calling 3p", MICROSOFT_REPORTS),
        ),
    ),
    "Teams Platform": (MODERN_WORK_LIST, ()),
    "Skype for Business Online": (PRODUCT_NAMES, (("Skype for Business", PRODUCT_NAMES), ("SfB", FY16_LIST))),
    "Microsoft 365 Apps": (
        PRODUCT_NAMES,
        (
            ("Office 365 ProPlus", PRODUCT_NAMES),
            ("ProPlus", FY16_LIST),
            ("Microsoft 365 Apps for enterprise", PRODUCT_NAMES),
        ),
    ),
    "Microsoft Intune": (PRODUCT_NAMES, (("Intune", FY16_LIST),)),
    "Microsoft Entra ID P1/P2": (
        PRODUCT_NAMES,
        (
            ("Azure AD Premium", PRODUCT_NAMES),
            ("AADP", FY16_LIST),
            ("Entra ID", PRODUCT_NAMES),
            ("Azure Active Directory Premium", PRODUCT_NAMES),
            ("Entra ID P1", MICROSOFT_REPORTS),
            ("Entra ID P2", MICROSOFT_REPORTS),
        ),
    ),
    "Microsoft Purview Information Protection": (
        PRODUCT_NAMES,
        (
            ("Azure Information Protection", PRODUCT_NAMES),
            ("AIP", PRODUCT_NAMES),
            ("Microsoft Information Protection", MICROSOFT_REPORTS),
            ("AZIP", MICROSOFT_REPORTS),
        ),
    ),
    "Microsoft Defender for Endpoint": (
        PRODUCT_NAMES,
        (
            ("Defender ATP", PRODUCT_NAMES),
            ("Windows Defender ATP", PRODUCT_NAMES),
            ("MDE", PRODUCT_NAMES),
            ("Microsoft Defender for Endpoints", MICROSOFT_REPORTS),
        ),
    ),
    "Microsoft Defender for Office 365": (
        PRODUCT_NAMES,
        (("Office 365 ATP", PRODUCT_NAMES), ("MDO", PRODUCT_NAMES)),
    ),
    "Microsoft Defender for Identity": (
        PRODUCT_NAMES,
        (("Azure ATP", PRODUCT_NAMES), ("MDI", PRODUCT_NAMES), ("AATP", MICROSOFT_REPORTS)),
    ),
    "Microsoft Defender for Cloud Apps": (
        PRODUCT_NAMES,
        (("Cloud App Security", PRODUCT_NAMES), ("MCAS", PRODUCT_NAMES)),
    ),
    "Viva Engage": (PRODUCT_NAMES, (("Yammer", MODERN_WORK_LIST),)),
    "Viva Insights": (MODERN_WORK_LIST, (("Workplace Analytics", PRODUCT_NAMES),)),
    "Viva Learning": (MODERN_WORK_LIST, ()),
    "Viva Connections": (MODERN_WORK_LIST, ()),
    "Viva Topics": (MODERN_WORK_LIST, ()),
    "Power BI": (PRODUCT_NAMES, (("powerbistandalone", MICROSOFT_REPORTS),)),
    "Microsoft 365 Copilot": (
        COPILOT,
        (
            ("Copilot for Microsoft 365", PRODUCT_NAMES),
            ("Microsoft Copilot for Microsoft 365", PRODUCT_NAMES),
        ),
    ),
}

#: canonical workload name -> other names it has been known by
WORKLOADS: dict[str, tuple[str, ...]] = {
    name: tuple(alias for alias, _ in aliases) for name, (_, aliases) in _CATALOGUE.items()
}

#: every workload name the tool accepts (canonical names and aliases) -> where the name comes from
WORKLOAD_NAME_SOURCES: dict[str, str] = {
    spelling: source
    for name, (own, aliases) in _CATALOGUE.items()
    for spelling, source in ((name, own), *aliases)
}

_FOLD = re.compile(r"[\s_\-]+")


def fold(text: object) -> str:
    """The key names are compared by: lower case, no spaces, underscores or hyphens."""
    return _FOLD.sub("", str(text)).casefold()


_WORKLOAD_KEYS: dict[str, str] = {}
for _name, _aliases in WORKLOADS.items():
    for _alias in (_name, *_aliases):
        _WORKLOAD_KEYS[fold(_alias)] = _name


def canonical_workload(name: object) -> str | None:
    """'EXO' -> 'Exchange Online'; None when the name is not in the catalogue."""
    return _WORKLOAD_KEYS.get(fold(name))


def suggest(name: object, choices: dict[str, str], limit: int = 1) -> list[str]:
    """Closest canonical names for a misspelt one (the "did you mean")."""
    keys = difflib.get_close_matches(fold(name), list(choices), n=limit * 3, cutoff=0.6)
    seen: list[str] = []
    for key in keys:
        if choices[key] not in seen:
            seen.append(choices[key])
    return seen[:limit]


def suggest_workload(name: object) -> str | None:
    found = suggest(name, _WORKLOAD_KEYS)
    return found[0] if found else None


#: canonical status -> aliases. "Customer declined" and "Cancelled" are reasons for Rejected.
STATUSES: dict[str, tuple[str, ...]] = {
    "Draft": ("In progress",),
    "Submitted": (),
    "Under review": (),
    "Partner action required": (),
    "Approved": (),
    "Rejected": ("Declined", "Customer declined", "Cancelled", "Canceled"),
    "Dispute": ("Disputed",),
    "Rejected final": (),
}

#: statuses under which an association holds the customer workload (SPEC "association-conflict")
LIVE_STATUSES: frozenset[str] = frozenset(
    {"Submitted", "Under review", "Partner action required", "Approved", "Dispute"}
)
#: statuses that need a Submitted date (SPEC: "from Submitted on")
SUBMITTED_STATUSES: frozenset[str] = LIVE_STATUSES | {"Rejected", "Rejected final"}

_STATUS_KEYS: dict[str, str] = {}
for _name, _aliases in STATUSES.items():
    for _alias in (_name, *_aliases):
        _STATUS_KEYS[fold(_alias)] = _name


def canonical_status(name: object) -> str | None:
    return _STATUS_KEYS.get(fold(name))


def suggest_status(name: object) -> str | None:
    found = suggest(name, _STATUS_KEYS)
    return found[0] if found else None


#: why Partner Center rejected a claim (DOMAIN "From FY24": incentives-manage-customer-associations, 2023-10)
REJECTION_REASONS: dict[str, tuple[str, ...]] = {
    "Customer declined": ("Declined by customer", "Customer denied"),
    "Insufficient POE": (),
    "Partner request": (),
    "No partner response": (),
    "Missing products": (),
    "POE unavailable": (),
    "Missing customer consent on POE": (),
}
#: the reason a rejection cannot be disputed for: the customer said no
CUSTOMER_DECLINED = "Customer declined"
#: Status aliases that name the customer's refusal (SPEC "Associations": the customer refused or cancelled)
DECLINED_STATUS_ALIASES: frozenset[str] = frozenset({"declined", "customerdeclined", "cancelled", "canceled"})

#: the partner's role on the claim (submit-osa-claim, 2023-10); FY20-21 called "Use or consume" "Usage"
PARTNER_ROLES: dict[str, tuple[str, ...]] = {
    "Use or consume": ("Usage", "Use and consume"),
    "Usage recognition - Non-Incentivized": ("Usage recognition", "Usage recognition - Non-Incentivised"),
    "Influenced Revenue recognition - Non-Incentivized": (
        "Influenced Revenue recognition",
        "Influenced Revenue recognition - Non-Incentivised",
    ),
    "Build intent - Advisor": ("Build intent", "Advisor"),
}
#: the only role Modern Work usage earns with; the role of a row that names none
INCENTIVISED_ROLE = "Use or consume"

#: public-sector customers here are ineligible for incentives (CUSPUBSEC, earnings-revenue), and US and
#: Puerto Rico ones also need the public-sector disclosure (POE template) -> the names a Country cell may use
PUBLIC_SECTOR_COUNTRIES: dict[str, tuple[str, ...]] = {
    "United States": ("US", "USA", "United States of America"),
    "Puerto Rico": ("PR",),
    "India": ("IN",),
}
#: where the POE of a public-sector customer also carries the public-sector disclosure (POE template)
DISCLOSURE_COUNTRIES = ("United States", "Puerto Rico")


def _keys(names: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {fold(alias): name for name, aliases in names.items() for alias in (name, *aliases)}


_REASON_KEYS = _keys(REJECTION_REASONS)
_ROLE_KEYS = _keys(PARTNER_ROLES)
_COUNTRY_KEYS = _keys(PUBLIC_SECTOR_COUNTRIES)


def canonical_reason(name: object) -> str | None:
    return _REASON_KEYS.get(fold(name))


def suggest_reason(name: object) -> str | None:
    found = suggest(name, _REASON_KEYS)
    return found[0] if found else None


def canonical_role(name: object) -> str | None:
    return _ROLE_KEYS.get(fold(name))


def suggest_role(name: object) -> str | None:
    found = suggest(name, _ROLE_KEYS)
    return found[0] if found else None


def public_sector_country(country: object) -> str | None:
    """'US', 'usa', 'India' -> the country whose public sector Microsoft's CUSPUBSEC rule covers; else None."""
    return _COUNTRY_KEYS.get(fold(country))


#: languages with shipped consent templates; others fall back to English
LANGUAGES: dict[str, str] = {
    "en": "English",
    "de": "Deutsch",
    "fr": "Français",
    "nl": "Nederlands",
    "es": "Español",
}
DEFAULT_LANGUAGE = "en"


_LANGUAGE_NAMES = {"english": "en", "german": "de", "french": "fr", "dutch": "nl", "spanish": "es"}


def canonical_language(value: object) -> str | None:
    """'DE', 'de-DE', 'German', 'Deutsch' -> 'de'; None when unknown or empty."""
    text = str(value).strip().casefold()
    if not text:
        return None
    code = re.split(r"[-_ ]", text)[0]
    if code in LANGUAGES:
        return code
    for code, name in LANGUAGES.items():
        if text == name.casefold():
            return code
    return _LANGUAGE_NAMES.get(text)

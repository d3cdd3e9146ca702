"""The CPOR vocabulary: workloads (with the names they had over the years), claim statuses, languages.

Sources are in DOMAIN.md ("Workloads", "Claims"). Lookups are case-, space-, underscore- and
hyphen-insensitive, so "exchange_online", "EXO" and "Exchange Online" are one workload.
"""

from __future__ import annotations

import difflib
import re

#: canonical workload name -> other names it has been known by
WORKLOADS: dict[str, tuple[str, ...]] = {
    "Exchange Online": ("Exchange", "EXO", "ExO"),
    "SharePoint Online": ("SharePoint", "SPO", "SpO"),
    "OneDrive for Business": ("OneDrive", "ODB"),
    "Microsoft Teams": ("Teams",),
    "Teams Meetings": (),
    "Teams Phone": ("Teams Phone calling", "Teams Calling"),
    "Teams Platform": (),
    "Skype for Business Online": ("Skype for Business", "SfB"),
    "Microsoft 365 Apps": ("Office 365 ProPlus", "ProPlus", "Microsoft 365 Apps for enterprise"),
    "Microsoft Intune": ("Intune",),
    "Microsoft Entra ID P1/P2": ("Azure AD Premium", "AADP", "Entra ID", "Azure Active Directory Premium"),
    "Microsoft Purview Information Protection": ("Azure Information Protection", "AIP"),
    "Microsoft Defender for Endpoint": ("Defender ATP", "Windows Defender ATP", "MDE"),
    "Microsoft Defender for Office 365": ("Office 365 ATP", "MDO"),
    "Microsoft Defender for Identity": ("Azure ATP", "MDI"),
    "Microsoft Defender for Cloud Apps": ("Cloud App Security", "MCAS"),
    "Viva Engage": ("Yammer",),
    "Viva Insights": ("Workplace Analytics",),
    "Viva Learning": (),
    "Viva Connections": (),
    "Viva Topics": (),
    "Power BI": (),
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

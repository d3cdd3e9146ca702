"""What a run tells people: the ``Report`` that `--json` prints, the console table shows, and batch collects."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cpor_excel.model.findings import CODES, Finding, Severity


@dataclass
class Report:
    """The result of `check` or `run`: what `--json` prints and what the console table shows."""

    workbook: str
    as_of: dt.date
    findings: list[Finding]
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    milestones: list[dict[str, Any]] = field(default_factory=list)
    drafts: list[dict[str, Any]] = field(default_factory=list)
    written: str | None = None  # where the results were saved (run only)

    def count(self, severity: Severity) -> int:
        return tally(self.findings)[_TALLY_KEY[severity]]

    @property
    def exit_code(self) -> int:
        """SPEC "Exit codes": 1 when errors or conflicts were found, else 0."""
        return 1 if tally(self.findings)["errors"] else 0

    def counts(self) -> dict[str, int]:
        return {**tally(self.findings), "new_milestones": len(self.milestones), "drafts": len(self.drafts)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "workbook": self.workbook,
            "as_of": self.as_of.isoformat(),
            "counts": self.counts(),
            "findings": [f.to_dict() for f in self.findings],
            "conflicts": self.conflicts,
            "milestones": self.milestones,
            "drafts": self.drafts,
        }


_TALLY_KEY = {Severity.ERROR: "errors", Severity.WARNING: "warnings", Severity.INFO: "infos"}


def tally(findings: Iterable[Finding]) -> dict[str, int]:
    """Errors, warnings, infos and conflicts among findings (a conflict is also an error)."""
    per_code = Counter(f.code for f in findings)
    by_severity = Counter({severity: 0 for severity in Severity})
    for code, n in per_code.items():
        by_severity[CODES[code][0]] += n
    return {
        "errors": by_severity[Severity.ERROR],
        "warnings": by_severity[Severity.WARNING],
        "infos": by_severity[Severity.INFO],
        "conflicts": per_code["association-conflict"],
    }

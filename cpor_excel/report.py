"""What a run tells people: the ``Report`` that `--json` prints, the console table shows, and batch collects."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, overload

from cpor_excel.model.findings import CODES, Finding, Severity


@dataclass
class Report:
    """The result of `check` or `run`: what `--json` prints and what the console table shows."""

    workbook: str
    as_of: dt.date
    findings: list[Finding]
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    milestones: Sequence[dict[str, Any]] = field(default_factory=list)  # the new ledger rows
    drafts: list[dict[str, Any]] = field(default_factory=list)
    #: new Earnings Ledger rows: months paid above the high-water mark, or not (with Microsoft's reason code)
    usage_earnings: Sequence[dict[str, Any]] = field(default_factory=list)
    #: expected against paid per partner and currency over the months reconciled with Microsoft's earnings
    #: (``rules/reconciliation.per_partner``); empty when the workbook has no Microsoft Earnings
    reconciliation: list[dict[str, Any]] = field(default_factory=list)
    written: str | None = None  # where the results were saved (run only)

    def count(self, severity: Severity) -> int:
        return tally(self.findings)[_TALLY_KEY[severity]]

    @property
    def exit_code(self) -> int:
        """SPEC "Exit codes": 1 when errors or conflicts were found, else 0."""
        return 1 if tally(self.findings)["errors"] else 0

    def counts(self) -> dict[str, int]:
        return {
            **tally(self.findings),
            "new_milestones": len(self.milestones),
            "new_usage_months": len(self.usage_earnings),
            "drafts": len(self.drafts),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "workbook": self.workbook,
            "as_of": self.as_of.isoformat(),
            "counts": self.counts(),
            "findings": [f.to_dict() for f in self.findings],
            "conflicts": self.conflicts,
            "milestones": list(self.milestones),
            "usage_earnings": list(self.usage_earnings),
            "reconciliation": self.reconciliation,
            "drafts": self.drafts,
        }


class Records(Sequence[dict[str, Any]]):
    """Rows read as dicts by header, each dict made when it is read: a run records tens of thousands of
    ledger rows, and holding a dict for each beside its cells would double what they take."""

    def __init__(self, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.header = tuple(header)
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, at: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, at: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, at: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(at, slice):
            return [dict(zip(self.header, row, strict=True)) for row in self.rows[at]]
        return dict(zip(self.header, self.rows[at], strict=True))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"Records({len(self)} rows of {', '.join(self.header)})"


_CODE = attrgetter("code")
_TALLY_KEY = {Severity.ERROR: "errors", Severity.WARNING: "warnings", Severity.INFO: "infos"}


def tally(findings: Iterable[Finding]) -> dict[str, int]:
    """Errors, warnings, infos and conflicts among findings (a conflict is also an error)."""
    per_code = Counter(map(_CODE, findings))  # (at C speed: a run and its report tally them often)
    by_severity = Counter({severity: 0 for severity in Severity})
    for code, n in per_code.items():
        by_severity[CODES[code][0]] += n
    return {
        "errors": by_severity[Severity.ERROR],
        "warnings": by_severity[Severity.WARNING],
        "infos": by_severity[Severity.INFO],
        "conflicts": per_code["association-conflict"],
    }

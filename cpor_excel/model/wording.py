"""Counts as English: "1 warning", "2 errors", "1 new milestone". One place, so every front door (the
console, the Excel button's message box, batch) says them the same way."""

from __future__ import annotations

from collections.abc import Mapping

#: the order and nouns of a run's counts (``Report.counts()`` keys) in a one-line summary
SUMMARY_NOUNS = (
    ("errors", "error"),
    ("warnings", "warning"),
    ("infos", "info finding"),
    ("conflicts", "conflict"),
    ("new_milestones", "new milestone"),
    ("new_usage_months", "new usage month"),
    ("drafts", "draft"),
)


def counted(number: int, noun: str) -> str:
    """``number`` and ``noun``, the noun in the plural unless the number is one: "1 warning", "0 drafts"."""
    if number == 1:
        return f"{number:,} {noun}"
    plural = noun[:-1] + "ies" if noun.endswith("y") and noun[-2:-1] not in "aeiou" else noun + "s"
    return f"{number:,} {plural}"


def count_summary(counts: Mapping[str, int], keys: tuple[tuple[str, str], ...] = SUMMARY_NOUNS) -> str:
    """The counts a run reports, as one English list: "9 errors, 1 warning, 318 info findings, ..."."""
    return ", ".join(counted(counts[key], noun) for key, noun in keys if key in counts)

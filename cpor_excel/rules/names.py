"""Catalogue names in cells: workloads, claim statuses, partner roles, rejection reasons and languages, each
converter giving the canonical name, or an ``Issue`` with a "did you mean" (``model/catalogue.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cpor_excel.model.catalogue import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    canonical_language,
    canonical_reason,
    canonical_role,
    canonical_status,
    canonical_workload,
    suggest_reason,
    suggest_role,
    suggest_status,
    suggest_workload,
)
from cpor_excel.rules.cells import Issue, show, text_of


def workload(any_allowed: bool) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        text = text_of(value)
        if text is None:
            return None
        if any_allowed and text == "*":
            return "*"
        found = canonical_workload(text)
        if found is not None:
            return found
        near = suggest_workload(text)
        hint = (
            f"did you mean {near}?"
            if near
            else "use a workload name from the catalogue, such as Exchange Online."
        )
        if any_allowed:
            hint += " (* means any workload)"
        return Issue("unknown-workload", f"{show(text)} is not a known workload; {hint}")

    return convert


def _named(
    canonical: Callable[[str], str | None],
    near: Callable[[str], str | None],
    code: str,
    what: str,
    usual: str,
) -> Callable[[Any], Any]:
    """A converter for a name from a catalogue list (statuses, roles, reasons) with a "did you mean"."""

    def convert(value: Any) -> Any:
        text = text_of(value)
        if text is None:
            return None
        found = canonical(text)
        if found is not None:
            return found
        guess = near(text)
        return Issue(code, f"{show(text)} is not {what}; {f'did you mean {guess}?' if guess else usual}")

    return convert


status = _named(
    canonical_status,
    suggest_status,
    "unknown-status",
    "a claim status",
    "use Draft, Submitted, Under review, Approved, Rejected, ...",
)
role = _named(
    canonical_role,
    suggest_role,
    "unknown-role",
    "a partner role",
    "use Use or consume, Build intent - Advisor, ...",
)
reason = _named(
    canonical_reason,
    suggest_reason,
    "unknown-reason",
    "a rejection reason Partner Center gives",
    "use Customer declined, Insufficient POE, Partner request, ...",
)


def language(value: Any) -> Any:
    text = text_of(value)
    if text is None:
        return None
    found = canonical_language(text)
    if found is not None:
        return found
    return Issue(
        "unknown-language",
        f"{show(text)} has no email template; English is used (templates: {', '.join(LANGUAGES)}).",
        DEFAULT_LANGUAGE,
    )

"""Whether an XML part's texts stand in its bytes as they are, for a search that need not parse it (a batch's
first pass looks for tenant IDs in a sheet's XML and its shared strings: ``FileBook.plain_texts``).

A text is spelled otherwise than as it is when it is split into rich-text runs (``<r>``) or CDATA sections,
or when a character of it is written as an OOXML ``_xHHHH_`` escape or a character reference; only references
to the characters searched for count.
"""

from __future__ import annotations

import re

_SPLIT = re.compile(rb"<(?:[\w.-]+:)?r[\s>]")
_PREFIXED_RUN = re.compile(rb":r[\s>]")
_ESCAPE = re.compile(rb"_x[0-9A-Fa-f]{4}_")
_REFERENCE = re.compile(rb"&#(?:[xX]([0-9A-Fa-f]+)|([0-9]+));")


def spelled_as_is(part: bytes, alphabet: str) -> bool:
    """True when every text of the part stands in it as it is, as far as the characters of ``alphabet`` go:
    a search for a run of those characters then finds it in every text that holds it (and maybe elsewhere)."""
    if b"<![CDATA[" in part or _runs(part) or _ESCAPE.search(part):
        return False
    return not any(
        chr(int(hexa, 16) if hexa else int(decimal)) in alphabet
        for hexa, decimal in set(_REFERENCE.findall(part))
        if len(hexa or decimal) < 8  # (a longer one is no character at all)
    )


def _runs(part: bytes) -> bool:
    """Whether the part has a rich-text run (``_SPLIT``). That regex tries every tag (a few ms for a
    sheet of a few hundred claims); two counts and a search for a literal rule it out first: an unprefixed
    run is a ``<r`` that starts no ``<row``, a prefixed one holds ``:r`` and a space or ``>``."""
    maybe = part.count(b"<r") != part.count(b"<row") or _PREFIXED_RUN.search(part) is not None
    return maybe and _SPLIT.search(part) is not None

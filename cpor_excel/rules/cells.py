"""A cell as the tool quotes and reads it: the text of any cell value, the value as a message shows it, and
``Issue``, a cell that could not be taken as it is. Shared by ``values.py`` (typed columns) and ``names.py``
(catalogue names)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Issue:
    """A cell that could not be taken as it is. ``value`` is what the cell becomes (None: it failed)."""

    code: str
    message: str
    value: Any = None


def show(value: Any) -> str:
    """A cell value as a message quotes it: text in quotes (shortened), dates ISO, whole floats without .0."""
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return f"'{text}'"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        midnight = not (value.hour or value.minute or value.second or value.microsecond)
        return value.date().isoformat() if midnight else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def text_of(value: Any) -> str | None:
    """A cell as text: stripped str; numbers without a spurious .0; dates ISO; None when blank."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            return None
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, (dt.date, dt.time)):
        return show(value)
    return str(value).strip() or None

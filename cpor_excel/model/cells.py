"""What a cell can hold besides a value: a formula saved without its result.

The Book protocol gives cells as Python values; a formula cell gives its cached result. A workbook written
by a program that never calculates (openpyxl, many generators) has formulas with no result saved: such a
cell is not empty, its value is unknown until Excel calculates it, and the rules report it as such
(``uncalculated-formula``) instead of as a missing value.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Uncalculated:
    """A formula cell saved without its result; ``formula`` is its text (empty for a shared formula's
    dependent cell, whose text sits in the cell that defines it)."""

    formula: str

    def __str__(self) -> str:
        return f"={self.formula}" if self.formula else "a formula"

"""The version of cpor-excel: one line, importing nothing (setup.cfg reads it; the Run Log records it)."""

__version__ = "0.1.0"

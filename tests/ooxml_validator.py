"""The shared OOXML validator (``../shared/ooxml/validate.py``, as strict as Excel) for the tests: every workbook
the tool writes must add no `error` finding to what its input already had. Skips when ../shared is absent.

The validator is loaded as a module once (its schemas compile once per session) and called the way its
``--diff`` command does: ``new_findings(validate(INPUT), validate(OUTPUT))``.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

VALIDATOR = Path(__file__).resolve().parents[2] / "shared" / "ooxml" / "validate.py"
SCHEMAS = VALIDATOR.parent / "schemas" / "transitional"


@cache
def validator() -> ModuleType:
    """validate.py as a module; skips the test when it (or lxml, which it needs) is absent."""
    if not VALIDATOR.is_file():
        pytest.skip("../shared/ooxml/validate.py is not here")
    pytest.importorskip("lxml")
    spec = importlib.util.spec_from_file_location("ooxml_validate", VALIDATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def findings(book: Path) -> list[dict[str, Any]]:
    """Every finding of one package (part, kind, severity, message); remembered while the file is unchanged
    (the tests validate the same input against several outputs)."""
    stat = Path(book).stat()
    return list(_findings(str(Path(book).resolve()), stat.st_size, stat.st_mtime_ns))


@cache
def _findings(book: str, size: int, mtime: int) -> tuple[dict[str, Any], ...]:
    return tuple(validator().validate(Path(book)))


def new_errors(before: Path | None, after: Path) -> list[str]:
    """The `error` findings ``after`` has that ``before`` has not (all of them when there is no input), as
    one line each: part, kind, message."""
    old = findings(before) if before is not None else []
    new = validator().new_findings(old, findings(after))
    return [f"{x['part']} ({x['kind']}): {x['message']}" for x in new if x["severity"] == "error"]


def diff_command(before: Path, after: Path) -> subprocess.CompletedProcess[str]:
    """``validate.py --diff BEFORE AFTER`` as a command (exit 1 when the output has a new error)."""
    validator()
    command = [sys.executable, str(VALIDATOR), "--diff", str(before), str(after)]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)

"""The rules stay pure (DESIGN "Layers"): no file, clock, Excel or email library in cpor_excel/rules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[1] / "cpor_excel" / "rules"
ALLOWED_TOP = {
    "__future__", "collections", "dataclasses", "datetime", "difflib", "enum", "functools", "hashlib",
    "itertools", "math", "re", "typing", "uuid", "numpy", "pandas", "pandera", "email_validator", "cpor_excel",
}  # fmt: skip
FORBIDDEN_CPOR = (
    "cpor_excel.io",
    "cpor_excel.mail",
    "cpor_excel.excel",
    "cpor_excel.batch",
    "cpor_excel.cli",
)
CLOCK_CALLS = {"today", "now", "utcnow", "time"}


def rule_modules() -> list[Path]:
    return sorted(RULES.glob("*.py"))


def imported_modules(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", rule_modules(), ids=lambda p: p.name)
def test_rule_module_imports_no_io(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = [
        m
        for m in imported_modules(tree)
        if m.split(".")[0] not in ALLOWED_TOP or m.startswith(FORBIDDEN_CPOR)
    ]
    assert bad == []


@pytest.mark.parametrize("path", rule_modules(), ids=lambda p: p.name)
def test_rule_module_reads_no_clock_and_opens_no_file(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = [
        node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    ]
    assert [c for c in calls if c in CLOCK_CALLS or c == "open"] == []


def test_the_check_itself_catches_an_io_import(tmp_path: Path) -> None:
    tree = ast.parse("import os\nfrom cpor_excel.io.file_book import FileBook\nimport pandas\n")
    mods = imported_modules(tree)
    assert [m for m in mods if m.split(".")[0] not in ALLOWED_TOP or m.startswith(FORBIDDEN_CPOR)] == [
        "os",
        "cpor_excel.io.file_book",
    ]

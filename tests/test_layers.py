"""The layers hold (DESIGN "Layers"): rules are pure and import only the model; io knows no rule, engine or
front door; and no module imports another that imports it back, function-level imports included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cpor_excel"
RULES = PACKAGE / "rules"
#: what a rule module may import besides cpor_excel.model and cpor_excel.rules: pure computation only (no
#: os, io, socket, smtplib, subprocess, time: a rule touches no file, network, process or clock)
RULE_LIBRARIES = {
    "__future__", "collections", "dataclasses", "datetime", "decimal", "difflib", "enum", "functools",
    "hashlib", "itertools", "math", "operator", "re", "statistics", "typing", "uuid",
    "numpy", "pandas", "pandera", "email_validator",
}  # fmt: skip
#: what io may not import: every layer above it
ABOVE_IO = (
    "cpor_excel.rules",
    "cpor_excel.run",
    "cpor_excel.apply",
    "cpor_excel.report",
    "cpor_excel.mail",
    "cpor_excel.batch",
    "cpor_excel.excel",
    "cpor_excel.cli",
    "cpor_excel.usage_import",
    "cpor_excel.sample",
)
CLOCK_CALLS = {"today", "now", "utcnow", "time"}


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path = PACKAGE) -> dict[str, Path]:
    return {module_name(path, root): path for path in sorted(root.rglob("*.py"))}


def imports_of(path: Path, name: str, known: set[str], with_typing: bool = True) -> set[str]:
    """Every cpor_excel module ``path`` imports, anywhere in it (module level and inside functions; the
    ``if TYPE_CHECKING:`` blocks too unless ``with_typing`` is False: they never run, so they make no
    cycle, but they still say which layer a module leans on). ``from a.b import c`` names module ``a.b.c``
    when there is one, else ``a.b`` (the name is in it)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if not with_typing:
        for node in ast.walk(tree):
            for field in ("body", "orelse"):
                block = getattr(node, field, None)
                if isinstance(block, list):
                    setattr(node, field, [n for n in block if not _type_checking_block(n)])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
    return {m for m in found if m.split(".")[0] == "cpor_excel"}


def _type_checking_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None) if isinstance(node, ast.If) else None
    return isinstance(test, ast.Name | ast.Attribute) and ast.unparse(test).endswith("TYPE_CHECKING")


def import_graph(root: Path = PACKAGE, with_typing: bool = True) -> dict[str, set[str]]:
    found = modules(root)
    known = set(found)
    return {name: imports_of(path, name, known, with_typing) & known for name, path in found.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (or a module importing itself), by Tarjan."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1 or node in graph.get(node, ()):
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_module_imports_itself_back() -> None:
    assert cycles(import_graph(with_typing=False)) == []


def test_the_cycle_check_finds_a_cycle_through_a_function_level_import(tmp_path: Path) -> None:
    root = tmp_path / "cpor_excel"
    (root / "io").mkdir(parents=True)
    (root / "__init__.py").write_text("def main():\n    from cpor_excel.engine import run\n")
    (root / "engine.py").write_text("from cpor_excel import __version__\nfrom cpor_excel.io import book\n")
    (root / "io" / "__init__.py").write_text("")
    (root / "io" / "book.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import cpor_excel.engine\n"
    )
    assert cycles(import_graph(root, with_typing=False)) == [["cpor_excel", "cpor_excel.engine"]]


def test_the_package_root_imports_nothing_of_its_own_at_import_time() -> None:
    """``import cpor_excel`` (what xlwings' RunPython does) loads only the version; the rest is lazy."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    top = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    assert {node.module for node in top if isinstance(node, ast.ImportFrom)} <= {
        "__future__",
        "typing",
        "cpor_excel.version",
    }


def test_the_version_module_imports_nothing() -> None:
    tree = ast.parse((PACKAGE / "version.py").read_text(encoding="utf-8"))
    assert [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)] == []


def rule_modules() -> list[Path]:
    return sorted(RULES.glob("*.py"))


def disallowed_in_rules(path: Path, name: str | None = None) -> list[str]:
    name = name or module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    everything: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            everything.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            everything.add(node.module)
    ours = imports_of(path, name, set(modules()))
    outside = {m for m in everything if m.split(".")[0] not in RULE_LIBRARIES}
    outside.discard("cpor_excel")
    outside = {m for m in outside if not m.startswith("cpor_excel.")}
    wrong_layer = {m for m in ours if not m.startswith(("cpor_excel.model", "cpor_excel.rules"))}
    return sorted(outside | wrong_layer)


@pytest.mark.parametrize("path", rule_modules(), ids=lambda p: p.name)
def test_a_rule_module_imports_only_the_model_and_its_libraries(path: Path) -> None:
    assert disallowed_in_rules(path) == []


def test_the_rule_check_catches_io_and_other_layers(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import os\nimport smtplib\nfrom cpor_excel.io.file_book import FileBook\nimport pandas\n"
        "from cpor_excel.model.findings import Finding\n"
        "def f():\n    from cpor_excel.engine import evaluate\n",
        encoding="utf-8",
    )
    found = disallowed_in_rules(probe, "cpor_excel.rules.probe")
    assert found == ["cpor_excel.engine", "cpor_excel.io.file_book", "os", "smtplib"]


@pytest.mark.parametrize("path", rule_modules(), ids=lambda p: p.name)
def test_a_rule_module_reads_no_clock_and_opens_no_file(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = [
        node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    ]
    assert [c for c in calls if c in CLOCK_CALLS or c == "open"] == []


def test_io_imports_no_rule_engine_or_front_door() -> None:
    graph = import_graph()
    wrong = {
        (module, imported)
        for module, imported_set in graph.items()
        if module.startswith("cpor_excel.io")
        for imported in imported_set
        if any(imported == layer or imported.startswith(layer + ".") for layer in ABOVE_IO)
    }
    assert wrong == set()


def test_mail_imports_no_engine_batch_excel_or_front_door() -> None:
    """mail/ (drafts, journal, SMTP, IMAP, sign-in) is an adapter: the model, io and the rules' draft data."""
    above_mail = ("cpor_excel.engine", "cpor_excel.run", "cpor_excel.workbook_run", "cpor_excel.batch",
                  "cpor_excel.excel", "cpor_excel.cli")  # fmt: skip
    graph = import_graph()
    wrong = {
        (module, imported)
        for module, imported_set in graph.items()
        if module.startswith("cpor_excel.mail")
        for imported in imported_set
        if any(imported == layer or imported.startswith(layer + ".") for layer in above_mail)
    }
    assert wrong == set()


def test_the_model_imports_only_the_model() -> None:
    graph = import_graph()
    wrong = {
        (module, imported)
        for module, imported_set in graph.items()
        if module.startswith("cpor_excel.model")
        for imported in imported_set
        if not imported.startswith("cpor_excel.model")
    }
    assert wrong == set()


def test_no_module_is_over_600_lines() -> None:
    """Modules stay small enough to read (issue 17): split one that grows past 600 lines."""
    sizes = {
        str(path.relative_to(PACKAGE)): len(path.read_text(encoding="utf-8").splitlines())
        for path in PACKAGE.rglob("*.py")
    }
    assert {name: lines for name, lines in sizes.items() if lines > 600} == {}

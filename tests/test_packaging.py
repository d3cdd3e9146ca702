"""The package a user installs from a wheel (the README's Windows set-up) holds every module and template of
the checkout: setup.cfg lists the packages one by one (so that templates/ ships as cpor_excel.templates), and
a package added to the tree but not to that list would work in an editable install and be missing from a
wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_wheel_holds_every_module_and_template(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path),
         str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("cpor_excel-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name for name in archive.namelist() if not name.startswith("cpor_excel-")}
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "cpor_excel").rglob("*.py")}
    templates = {f"cpor_excel/templates/{p.name}" for p in (ROOT / "templates").glob("*.j2")}
    assert sorted((modules | templates) - shipped) == []

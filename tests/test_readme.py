"""The README keeps its promises: the finding-code table matches the code, its two opening commands are what
CI runs, and the first one really runs the main job on the shipped sample."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from cpor_excel.model.findings import CODES

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def opening_commands() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert block, "the README opens with a bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_finding_code_table_matches_the_code() -> None:
    rows = re.findall(r"^\| `([a-z0-9-]+)` \| (error|warning|info) \| (.+?) \|$", README, re.M)
    assert [(code, sev, meaning) for code, sev, meaning in rows] == [
        (code, sev.value, meaning) for code, (sev, meaning) in CODES.items()
    ]


def test_ci_runs_the_readme_install_and_test_commands() -> None:
    install_and_run, install_and_test = opening_commands()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_install, test_command = (part.strip() for part in install_and_test.split("&&"))
    assert test_install.removeprefix("pip install ") in ci
    assert test_command in ci
    assert install_and_run.startswith("pip install -e . && cpor-excel run sample_workbooks/")


@pytest.mark.slow
def test_the_first_command_runs_the_main_job_on_the_sample(tmp_path: Path) -> None:
    command = opening_commands()[0]
    out_name = re.search(r"--out (\S+)", command)
    assert out_name
    result_file = ROOT / out_name.group(1)
    drafts = ROOT / f"{result_file.stem} drafts"
    sample = ROOT / "sample_workbooks" / "cpor_sample.xlsx"
    before = sample.read_bytes()
    bin_dir = Path(sys.executable).parent  # the environment the tests run in: pip and cpor-excel live here
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    try:
        done = subprocess.run(
            command, shell=True, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 1, done.stderr  # the sample has planted problems
        assert "Results written to" in done.stdout
        book = CalamineWorkbook.from_path(str(result_file))
        assert {"CPOR Report", "Milestone Ledger", "Consent Drafts", "Run Log"} <= set(book.sheet_names)
        book.close()
        assert list(drafts.glob("*.eml"))
        assert sample.read_bytes() == before
    finally:
        result_file.unlink(missing_ok=True)
        shutil.rmtree(drafts, ignore_errors=True)

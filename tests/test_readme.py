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
    """The `cpor-excel ...` part of the first command, run as a newcomer runs it, in a folder of its own
    holding a copy of the sample: the test neither reinstalls the package nor touches what the README's
    first command wrote in the checkout (its result file and drafts folder)."""
    install, command = (part.strip() for part in opening_commands()[0].split("&&"))
    assert install == "pip install -e ."
    out_name = re.search(r"--out (\S+)", command)
    assert out_name and command.startswith("cpor-excel run sample_workbooks/cpor_sample.xlsx ")
    (tmp_path / "sample_workbooks").mkdir()
    sample = shutil.copy(ROOT / "sample_workbooks" / "cpor_sample.xlsx", tmp_path / "sample_workbooks")
    before = Path(sample).read_bytes()
    in_checkout = sorted(p.name for p in ROOT.iterdir())
    bin_dir = Path(sys.executable).parent  # the environment the tests run in: cpor-excel lives here
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 1, done.stderr  # the sample has planted problems
    result_file = tmp_path / out_name.group(1)
    assert f"Results written to {out_name.group(1)}" in done.stdout
    book = CalamineWorkbook.from_path(str(result_file))
    assert {"CPOR Report", "Milestone Ledger", "Consent Drafts", "Run Log"} <= set(book.sheet_names)
    book.close()
    assert list((tmp_path / f"{result_file.stem} drafts").glob("*.eml"))
    assert Path(sample).read_bytes() == before
    assert sorted(p.name for p in ROOT.iterdir()) == in_checkout  # nothing written into the checkout


def synopsis() -> dict[str, str]:
    """Command -> its lines in the README's command-line synopsis."""
    block = re.search(r"## Command line\n\n```text\n(.*?)```", README, re.S)
    assert block, "the README has a command-line synopsis"
    found: dict[str, str] = {}
    command = ""
    for line in block.group(1).splitlines():
        if line.startswith("cpor-excel "):
            command = line.split()[1]
            found[command] = ""
        found[command] += line + "\n"
    return found


def test_the_synopsis_names_every_command_and_option() -> None:
    import click

    from cpor_excel.cli import main

    lines = synopsis()
    context = click.Context(main)
    missing = []
    for name in main.list_commands(context):
        command = main.get_command(context, name)
        assert command is not None
        if name not in lines:
            missing.append(f"command {name}")
            continue
        options = [opt for param in command.params for opt in param.opts if opt.startswith("--")]
        missing += [f"{name} {opt}" for opt in options if opt != "--help" and opt not in lines[name]]
    assert missing == [], "add these to the README's Command line synopsis"
    assert "--limit N" in lines["check"] and "--limit N" in lines["run"]


def excel_section() -> str:
    return README[README.index("## The Excel button") : README.index("## Safety")]


def test_docs_excel_is_the_readmes_excel_section() -> None:
    assert (ROOT / "docs" / "excel.md").read_text(encoding="utf-8") == excel_section()


def test_the_excel_setup_installs_what_the_repository_builds() -> None:
    """The package is on no public index: the set-up installs the wheel `pip wheel` makes from the
    repository (named as the README names it), or the repository folder, with the excel extra."""
    from cpor_excel import __version__

    section = excel_section()
    wheel = f"cpor_excel-{__version__}-py3-none-any.whl"
    assert "python -m pip wheel --no-deps . -w dist" in section and f"dist/{wheel}" in section
    install = re.findall(r"^pip install (.+)$", section, re.M)
    assert install and all(line.strip('"').endswith("[excel]") for line in install)
    assert wheel in install[0]
    assert re.search(r'pip install "[^"]+\[excel\]"', section.split("From a copy of the repository")[1])
    assert 'pip install "cpor-excel[excel]"' not in README  # no such package on PyPI


@pytest.mark.slow
def test_the_wheel_the_readme_names_is_what_pip_builds(tmp_path: Path) -> None:
    from cpor_excel import __version__

    source = tmp_path / "src"
    shutil.copytree(
        ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "out")
    )
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", ".", "-w", str(tmp_path)],  # as the README says
        cwd=source, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    wheel = tmp_path / f"cpor_excel-{__version__}-py3-none-any.whl"
    assert wheel.is_file(), sorted(p.name for p in tmp_path.iterdir())
    import zipfile

    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "cpor_excel/templates/consent_request.en.txt.j2" in names  # the templates ship in the wheel


def test_the_config_file_the_readme_names_is_the_one_the_addin_reads() -> None:
    """xlwings' custom add-in macros read their settings from a sheet or file named after their
    PROJECT_NAME, never from xlwings.conf; the standalone workbook's macros are xlwings' own (xlwings.conf)."""
    pytest.importorskip("xlwings")
    from test_excel_addin import parts_of, template, vba_modules

    from cpor_excel.excel import addin

    def project_name(package: Path) -> str:
        source = vba_modules(parts_of(package)["xl/vbaProject.bin"])["xlwings"]
        found = re.search(r'PROJECT_NAME As String = "(\w+)"', source)
        assert (
            found
            and 'Environ("USERPROFILE") & "\\." & PROJECT_NAME & "\\" & PROJECT_NAME & ".conf"' in source
        )
        return found.group(1)

    name = project_name(template(addin.RIBBON_TEMPLATE))
    assert f"{name}.conf" == addin.ADDIN_CONFIG_ACTIVE
    section = excel_section()
    assert f"%USERPROFILE%\\.{name}\\{name}.conf" in section
    assert f"~/Library/Containers/com.microsoft.Excel/Data/{name}.conf" in section
    assert project_name(template(addin.STANDALONE_TEMPLATE)) == "xlwings"
    standalone = section[section.index("**The standalone workbook.**") :]
    assert "xlwings config create --force" in standalone

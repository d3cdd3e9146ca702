"""Shared fixtures. Test workbooks are built in code; real-world files are read from ../shared when present."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REALWORLD = ROOT.parent / "shared" / "realworld_xlsx"
AS_OF = dt.date(2025, 11, 30)


@pytest.fixture(scope="session")
def realworld_dir() -> Path:
    if not REALWORLD.is_dir():
        pytest.skip("../shared/realworld_xlsx is not here")
    return REALWORLD


@pytest.fixture(scope="session")
def sample_book(tmp_path_factory: pytest.TempPathFactory):
    """A generated sample workbook (default size) and what was planted in it; copy before writing."""
    from cpor_excel.sample import create_sample

    path = tmp_path_factory.mktemp("sample") / "partner.xlsx"
    info = create_sample(path, as_of=AS_OF)
    return path, info


@pytest.fixture(autouse=True)
def _own_data_folder(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets a data folder of its own (the send journal, the sign-in cache): never the user's."""
    folder = tmp_path_factory.mktemp("data")
    monkeypatch.setenv("CPOR_DATA_DIR", str(folder))
    return folder

"""LibreOffice renders what the writer draws: the shipped sample after a run, converted to PDF (one page per
sheet) and to pixels. The Dashboard's page shows its charts (their titles, categories and axis titles are
in the page's text, their bars' colours in its pixels), and the screenshot script the README's pictures come
from runs. Skips without LibreOffice and poppler-utils."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from cpor_excel.model.catalogue import STATUSES
from cpor_excel.model.columns import DASHBOARD_SHEET
from cpor_excel.rules.dashboard import STATUS_COLOURS

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("screenshots", ROOT / "docs" / "screenshots.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("screenshots", module)
    spec.loader.exec_module(module)
    if module.missing_tools():
        pytest.skip(f"{', '.join(module.missing_tools())} not installed")
    return module


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, Path, Path, dict[str, int]]:
    shots = harness()
    out = tmp_path_factory.mktemp("render")
    book = shots.run_sample(out)
    pdf = shots.to_pdf(book, out)
    return shots, book, pdf, shots.sheet_pages(book, pdf)


def test_every_sheet_is_a_page(rendered: tuple[ModuleType, Path, Path, dict[str, int]]) -> None:
    pages = rendered[3]
    for sheet in ("Associations", "CPOR Report", DASHBOARD_SHEET):
        assert sheet in pages, sheet
    assert list(pages.values()) == sorted(pages.values())


def test_the_dashboard_page_shows_its_charts(
    rendered: tuple[ModuleType, Path, Path, dict[str, int]], tmp_path: Path
) -> None:
    shots, _, pdf, pages = rendered
    page = pages[DASHBOARD_SHEET]
    text = shots.page_text(pdf, page)
    # the chart titles, the bars' categories and the columns' months and axis title are drawn text
    for words in (
        "Claims by status",
        "Milestones and pay per month",  # the sample pays usage above the high-water mark too
        "Milestones reached",
        "Usage pay",
        *STATUSES,
        "2025-11",
        "2024-12",
    ):
        assert re.search(r"\s+".join(map(re.escape, words.split())), text), words
    # text the charts alone draw: each status appears in the chart (its category) and in its data table
    assert len(re.findall(r"Partner\s+action\s+required", text)) >= 2
    scale = shots.page_scale(pdf, page)
    pixels = shots.page_pixels(pdf, page, round(60 / scale), tmp_path)
    drawn = {
        status: pixels.count(STATUS_COLOURS[status], tolerance=12) for status in ("Approved", "Rejected")
    }
    assert all(count > 300 for count in drawn.values()), drawn  # the bars, not a stray pixel
    assert pixels.count("4472C4", tolerance=12) > 1000  # the milestone columns


def test_the_associations_page_shows_the_results_in_colour(
    rendered: tuple[ModuleType, Path, Path, dict[str, int]], tmp_path: Path
) -> None:
    shots, _, pdf, pages = rendered
    page = pages["Associations"]
    assert "Check Result" in shots.page_text(pdf, page)
    pixels = shots.page_pixels(pdf, page, round(20 / shots.page_scale(pdf, page)), tmp_path)
    assert (
        pixels.count("C00000", tolerance=12) > 20 and pixels.count("7030A0", tolerance=12) > 20
    )  # ERROR, CONFLICT


def test_the_pictures_show_every_result_and_severity_and_the_tool_columns(
    rendered: tuple[ModuleType, Path, Path, dict[str, int]], tmp_path: Path
) -> None:
    """The Associations picture: the claim, every column the tool writes about it, rows of each result in
    their colours; the CPOR Report picture: rows of each severity. Columns it leaves out are not drawn."""
    shots, book, _, _ = rendered
    pictures = shots.picture_book(book, tmp_path / "pictures.xlsx")
    pdf = shots.to_pdf(pictures, tmp_path)
    pages = shots.sheet_pages(pictures, pdf)
    assert list(pages) == ["Associations", "CPOR Report"]
    text = shots.page_text(pdf, pages["Associations"])
    header = re.sub(r"\s+", " ", text.splitlines()[0]).strip()
    assert header == " ".join(shots.ASSOCIATION_COLUMNS)
    assert "POE Reference" not in text and "Tenant ID" not in text
    results = re.findall(r"\b(ERROR|CONFLICT|WARNING|OK)\b", text)
    assert {r: results.count(r) for r in set(results)} == shots.ASSOCIATION_ROWS
    assert re.search(r"M\d \d{4}-\d\d", text) and re.search(
        r"\d+ users, [\d.]+ USD", text
    )  # milestones, earned
    pixels = shots.page_pixels(pdf, pages["Associations"], 30, tmp_path)
    for fill in ("C00000", "7030A0"):  # ERROR, CONFLICT
        assert pixels.count(fill, tolerance=12) > 200, fill
    report = shots.page_text(pdf, pages["CPOR Report"])
    severities = re.findall(r"^\s*(ERROR|WARNING|INFO)\b", report, re.M)
    assert {s: severities.count(s) for s in set(severities)} == shots.REPORT_ROWS


def test_the_screenshot_script_writes_the_readme_pictures(tmp_path: Path) -> None:
    shots = harness()
    written = shots.screenshots(tmp_path)
    assert sorted(written) == sorted(shots.SHOTS)
    for name, path in written.items():
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000, name
        assert f"docs/img/{name}" in (ROOT / "README.md").read_text(encoding="utf-8")
        assert (ROOT / "docs" / "img" / name).is_file()

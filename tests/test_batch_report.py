"""The batch report: PATH.xlsx and PATH.html show the same numbers, and the HTML renders in a real browser
(headless Chromium) with no network: the numbers read back from the rendered DOM match the xlsx."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from test_batch import AS_OF, make_share

from cpor_excel.batch.report import (
    CONFLICT_COLUMNS,
    PARTNER_COLUMNS,
    WORKBOOK_COLUMNS,
    render_html,
    report_data,
)
from cpor_excel.batch.run import BatchResult, run_batch
from cpor_excel.cli import main

COUNT_HEADERS = ("Errors", "Warnings", "Infos", "Conflicts", "New Milestones", "Drafts")


@pytest.fixture
def batch(tmp_path: Path) -> tuple[BatchResult, Path]:
    share = make_share(tmp_path / "share")
    (share / "broken.xlsx").write_bytes(b"not a workbook")
    base = tmp_path / "out" / "batch-2025-11"  # out/ does not exist yet: the batch makes it
    return run_batch([share], as_of=AS_OF, jobs=1, report=base), base


def xlsx_rows(path: Path, sheet: str) -> list[dict[str, Any]]:
    book = load_workbook(path, read_only=True)
    rows = list(book[sheet].iter_rows(values_only=True))
    book.close()
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


class DataCells(HTMLParser):
    """Collects, per table, each row's data-key -> data-value (and the row's own data- attributes)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[dict[str, str]]] = {}
        self.ids: dict[str, dict[str, str]] = {}
        self.months: list[dict[str, str]] = []
        self._table: str | None = None
        self._row: dict[str, str] | None = None
        self._partner: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids[a["id"]] = a
        if tag == "section" and "data-partner-id" in a:
            self._partner = a["data-partner-id"]
        elif tag == "table" and "data-table" in a:
            name = a["data-table"] + (f":{self._partner}" if a["data-table"] == "partner" else "")
            self._table = name if a.get("id") or name.startswith("partner") else None
            if self._table:
                self.tables.setdefault(self._table, [])
        elif tag == "tr" and self._table and any(k.startswith("data-") for k in a):
            self._row = {k: v for k, v in a.items() if k.startswith("data-")}
            self.tables[self._table].append(self._row)
        elif tag == "td" and self._row is not None and "data-key" in a:
            self._row[a["data-key"]] = a.get("data-value", "")
        elif tag == "g" and a.get("class") == "month":
            self.months.append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table, self._row = None, None
        elif tag == "tr":
            self._row = None
        elif tag == "section":
            self._partner = None


def parse(html: str) -> DataCells:
    parser = DataCells()
    parser.feed(html)
    return parser


def text(value: Any) -> str:
    return "" if value is None else str(value)


def check_html_against_xlsx(html: str, xlsx: Path) -> None:
    dom = parse(html)
    # Workbooks
    sheet = xlsx_rows(xlsx, "Workbooks")
    keys = dict(WORKBOOK_COLUMNS)
    shown = [
        {h: row[keys[h]] for h in ("Workbook", "Status", *COUNT_HEADERS)} for row in dom.tables["workbooks"]
    ]
    assert shown == [{h: text(row[h]) for h in ("Workbook", "Status", *COUNT_HEADERS)} for row in sheet]
    # Conflicts
    conflicts = xlsx_rows(xlsx, "Conflicts")
    ckeys = dict(CONFLICT_COLUMNS)
    assert [{h: r[ckeys[h]] for h in ckeys} for r in dom.tables["conflicts"]] == [
        {h: text(r[h]) for h in ckeys} for r in conflicts
    ]
    # Partners: one section per partner, its rows match the Partners sheet
    partners = xlsx_rows(xlsx, "Partners")
    pkeys = {h: k for h, k in PARTNER_COLUMNS if k not in ("partner_id", "partner_name")}
    from_dom = [
        {"Partner ID": name.split(":", 1)[1], **{h: r[k] for h, k in pkeys.items()}}
        for name, rows in dom.tables.items()
        if name.startswith("partner:")
        for r in rows
    ]
    assert from_dom == [
        {"Partner ID": text(r["Partner ID"]), **{h: text(r[h]) for h in pkeys}} for r in partners
    ]
    # Milestones per month: the chart's bars and the sheet
    months = xlsx_rows(xlsx, "Milestones by Month")
    assert [(m["data-month"], int(m["data-earlier"]), int(m["data-this-run"])) for m in dom.months] == [
        (r["Month"], r["Earlier Runs"], r["This Run"]) for r in months
    ]
    # totals
    assert dom.ids["total-cross_workbook_conflicts"]["data-value"] == str(len(conflicts))
    assert dom.ids["total-new_milestones"]["data-value"] == str(sum(r["This Run"] for r in months))


def test_report_files_agree(batch: tuple[BatchResult, Path]) -> None:
    result, base = batch
    xlsx, html = base.parent / "batch-2025-11.xlsx", base.parent / "batch-2025-11.html"
    assert result.report_files == [str(xlsx), str(html)]
    workbooks = xlsx_rows(xlsx, "Workbooks")
    assert [(r["Workbook"], r["Status"], r["Conflicts"]) for r in workbooks] == [
        ("alpha.xlsx", "written", 1),
        ("beta.xlsx", "written", 1),
        ("broken.xlsx", "unreadable", None),
        ("gamma.xlsx", "written", 0),
    ]
    assert [(r["Workbook"], r["Claim ID"], r["Other Workbook"], r["Other Claim ID"], r["Newer POE"])
            for r in xlsx_rows(xlsx, "Conflicts")] == [("alpha.xlsx", "A-1", "beta.xlsx", "B-7", "B-7")]  # fmt: skip
    partners = {(r["Partner ID"], r["Workbook"]): r for r in xlsx_rows(xlsx, "Partners")}
    assert sorted(partners) == [
        ("1111111", "alpha.xlsx"),
        ("2222222", "beta.xlsx"),
        ("3333333", "gamma.xlsx"),
    ]
    alpha = partners[("1111111", "alpha.xlsx")]
    assert (alpha["Claims"], alpha["Live Workloads"], alpha["Conflicts"], alpha["New Milestones"]) == (
        2,
        2,
        1,
        2,
    )
    months = {r["Month"]: r["This Run"] for r in xlsx_rows(xlsx, "Milestones by Month")}
    assert sum(months.values()) == sum(w.report.counts()["new_milestones"] for w in result.processed)
    check_html_against_xlsx(html.read_text(encoding="utf-8"), xlsx)


def test_html_escapes_user_text_and_xlsx_keeps_it_as_text(tmp_path: Path) -> None:
    share = make_share(tmp_path / "share")
    hostile = share / "=cmd<img src=x onerror=alert(1)>.xlsx"
    shutil.copy2(share / "gamma.xlsx", hostile)
    base = tmp_path / "report"
    result = run_batch([share], as_of=AS_OF, jobs=1, dry_run=True, report=base)
    html = render_html(report_data(result))
    assert "<img src=x" not in html
    assert "=cmd&lt;img src=x onerror=alert(1)&gt;.xlsx" in html
    book = load_workbook(tmp_path / "report.xlsx")
    cells = [c for row in book["Workbooks"].iter_rows() for c in row if str(c.value).startswith("=cmd")]
    assert cells and all(c.data_type == "s" for c in cells)


def test_report_is_written_on_a_dry_run_and_not_taken_for_a_workbook(tmp_path: Path) -> None:
    share = make_share(tmp_path / "share")
    base = share / "batch"
    first = run_batch([share], as_of=AS_OF, jobs=1, dry_run=True, report=base)
    again = run_batch([share], as_of=AS_OF, jobs=1, dry_run=True, report=base)
    assert (share / "batch.xlsx").is_file() and (share / "batch.html").is_file()
    assert (
        [w.workbook for w in again.workbooks]
        == [w.workbook for w in first.workbooks]
        == [
            "alpha.xlsx",
            "beta.xlsx",
            "gamma.xlsx",
        ]
    )


def test_the_report_folder_is_made_and_a_file_in_the_way_is_one_error_line(tmp_path: Path) -> None:
    share = make_share(tmp_path / "share")
    done = CliRunner().invoke(
        main, ["batch", str(share), "--jobs", "1", "--dry-run", "--report", str(tmp_path / "out/cpor")]
    )
    assert done.exit_code == 1, done.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["cpor.html", "cpor.xlsx"]
    (tmp_path / "taken").write_text("a file, not a folder")
    blocked = CliRunner().invoke(main, ["batch", str(share), "--report", str(tmp_path / "taken/cpor")])
    assert blocked.exit_code == 3 and blocked.stderr.startswith("Error: ") and "--report" in blocked.stderr
    assert "Traceback" not in blocked.output


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_html_renders_in_headless_chromium_with_the_xlsx_numbers(
    batch: tuple[BatchResult, Path], tmp_path: Path
) -> None:
    _, base = batch
    html = base.parent / "batch-2025-11.html"
    profile = tmp_path / "chromium-profile"
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--dump-dom", html.resolve().as_uri(),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "<svg" in dom and 'id="milestone-chart"' in dom  # the chart is in the rendered page
    check_html_against_xlsx(dom, base.parent / "batch-2025-11.xlsx")


def test_as_of_and_dry_run_are_shown(batch: tuple[BatchResult, Path]) -> None:
    result, _ = batch
    result.dry_run = True
    dom = parse(render_html(report_data(result)))
    assert dom.ids["as-of"]["data-value"] == "2025-11-30"
    assert "dry-run" in dom.ids
    assert result.as_of == dt.date(2025, 11, 30)

"""Counts read as English wherever the tool says them: "1 warning", "2 errors", "0 drafts"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from cpor_excel.cli import main
from cpor_excel.model.wording import count_summary, counted
from cpor_excel.run import check_workbook
from tests.conftest import AS_OF


@pytest.mark.parametrize(
    ("number", "noun", "text"),
    [
        (0, "draft", "0 drafts"),
        (1, "warning", "1 warning"),
        (2, "error", "2 errors"),
        (1, "new milestone", "1 new milestone"),
        (1_250, "info finding", "1,250 info findings"),
        (3, "consent email draft", "3 consent email drafts"),
        (2, "reply", "2 replies"),
        (2, "day", "2 days"),
    ],
)
def test_counted(number: int, noun: str, text: str) -> None:
    assert counted(number, noun) == text


def test_the_summary_line_says_each_count_in_the_singular_or_the_plural(sample_book) -> None:
    path, _ = sample_book
    counts = check_workbook(path, as_of=AS_OF).counts()
    result = CliRunner().invoke(main, ["check", str(path), "--as-of", AS_OF.isoformat(), "--limit", "0"])
    summary = result.stdout.strip().splitlines()[-1]
    said = dict(
        (noun, int(number.replace(",", "")))
        for number, noun in re.findall(r"(\d[\d,]*) ([a-z ]+?)(?=,|$)", summary.split(": ", 1)[1])
    )
    expected = {}
    for key, noun in (("errors", "error"), ("warnings", "warning"), ("infos", "info finding"),
                      ("conflicts", "conflict"), ("new_milestones", "new milestone"),
                      ("new_usage_months", "new usage month"), ("drafts", "draft")):  # fmt: skip
        expected[noun if counts[key] == 1 else noun + "s"] = counts[key]
    assert said == expected
    assert counts["warnings"] > 1 and counts["new_usage_months"] > 1  # said in the plural
    assert summary.endswith(count_summary(counts))


def test_the_excel_button_message_says_counts_in_english(tmp_path: Path) -> None:
    from cpor_excel.excel.button import summary

    class OneOfEach:
        workbook, as_of = "partner.xlsx", AS_OF

        def counts(self) -> dict[str, int]:
            return {"errors": 1, "conflicts": 1, "warnings": 1, "infos": 1, "new_milestones": 1, "drafts": 1}

    text = summary(OneOfEach(), tmp_path)
    assert "1 error (1 association conflict), 1 warning, 1 new milestone." in text
    assert f"1 consent email draft was written to {tmp_path}." in text

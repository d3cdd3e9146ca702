"""`cpor-excel batch` end to end, on small workbooks built here: three partners' workbooks on a share, two of
which claim the same customer workload.

What it proves: each workbook ends up exactly as `run` leaves it, plus the conflicts between workbooks, which
both sides report naming the other workbook and claim; a workbook open in Excel or a corrupt file is reported
and the rest still run; --dry-run changes no byte; exit codes and --json; the same results on a Dask cluster.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from cpor_excel.batch.run import BatchResult, run_batch
from cpor_excel.cli import main
from cpor_excel.model.catalogue import STATUSES
from cpor_excel.model.columns import ASSOCIATIONS, CUSTOMERS, DASHBOARD_SHEET, RUN_LOG_SHEET, USAGE

AS_OF = dt.date(2025, 11, 30)
D = dt.date

T1 = "0b5f4a3c-1d2e-4f60-8a7b-9c0d1e2f3a41"  # Contoso: claimed for Exchange Online by Alpha AND Beta
T2 = "1c6a5b4d-2e3f-4071-9b8c-0d1e2f3a4b52"
T3 = "2d7b6c5e-3f40-4182-ac9d-1e2f3a4b5c63"
T4 = "3e8c7d6f-4051-4293-bdae-2f3a4b5c6d74"
CUSTOMER = {
    T1: ("Contoso", "contoso.example"),
    T2: ("Fabrikam", "fabrikam.example"),
    T3: ("Northwind", "northwind.example"),
    T4: ("Tailspin", "tailspin.example"),
}
EXO, TEAMS, SPO = "Exchange Online", "Microsoft Teams", "SharePoint Online"


def claim(cid: str, tenant: str, workload: str, status: str, created: D, poe: D | None, submitted: D | None,
          approved: D | None = None) -> dict[str, Any]:  # fmt: skip
    return {"Claim ID": cid, "Tenant ID": tenant, "Workload": workload, "Status": status, "Created": created,
            "POE Signed": poe, "Submitted": submitted, "Approved": approved}  # fmt: skip


#: workbook -> (partner id, partner name, claims, usage rows (tenant, workload, month, MAU, PAU))
SHARE: dict[str, tuple[str, str, list[dict[str, Any]], list[tuple[str, str, D, int, int]]]] = {
    "alpha.xlsx": (
        "1111111",
        "Alpha IT",
        [
            claim("A-1", T1, EXO, "Approved", D(2025, 1, 10), D(2025, 1, 5), D(2025, 1, 15), D(2025, 2, 3)),
            claim("A-2", T2, TEAMS, "Approved", D(2025, 1, 10), D(2025, 1, 5), D(2025, 1, 15), D(2025, 2, 3)),
        ],
        [(T1, EXO, D(2025, m, 1), 20 * (m - 2), 200) for m in range(3, 11)],  # 20% ... 160% of 200 seats
    ),
    "beta.xlsx": (
        "2222222",
        "Beta Solutions",
        [
            claim("B-7", T1, EXO, "Under review", D(2025, 9, 1), D(2025, 9, 2), D(2025, 9, 10)),
            claim("B-8", T3, SPO, "Approved", D(2025, 2, 1), D(2025, 2, 1), D(2025, 2, 4), D(2025, 2, 20)),
        ],
        [],
    ),
    "gamma.xlsx": (
        "3333333",
        "Gamma Cloud",
        [
            claim("G-1", T4, TEAMS, "Approved", D(2025, 3, 1), D(2025, 3, 1), D(2025, 3, 3), D(2025, 3, 20)),
            claim("G-2", T4, EXO, "Submitted", D(2025, 11, 20), D(2025, 11, 21), D(2025, 11, 26)),
        ],
        [(T4, TEAMS, D(2025, m, 1), 30 * m, 300) for m in range(4, 12)],
    ),
}


def write_book(path: Path, partner_id: str, partner_name: str, claims: list[dict[str, Any]],
               usage: list[tuple[str, str, D, int, int]]) -> Path:  # fmt: skip
    """A partner's workbook with the canonical headers: Customers, Associations, Usage."""
    book = Workbook()
    book.remove(book.active)
    customers = book.create_sheet(CUSTOMERS.name)
    customers.append([c.name for c in CUSTOMERS.columns if c.required])
    for tenant in dict.fromkeys(c["Tenant ID"] for c in claims):
        name, domain = CUSTOMER[tenant]
        customers.append([tenant, name, domain, f"{name} IT lead", "IT Manager", f"it@{domain}"])
    associations = book.create_sheet(ASSOCIATIONS.name)
    headers = [c.name for c in ASSOCIATIONS.columns]
    associations.append(headers)
    contact = {"Partner ID": partner_id, "Partner Name": partner_name, "Partner Contact Name": "Pat Partner",
               "Partner Contact Email": f"pat@{partner_name.split()[0].lower()}.example"}  # fmt: skip
    for c in claims:
        associations.append([{**contact, **c}.get(h) for h in headers])
    sheet = book.create_sheet(USAGE.name)
    sheet.append([c.name for c in USAGE.columns])
    for row in usage:
        sheet.append(list(row))
    book.save(path)
    return path


def make_share(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, (pid, pname, claims, usage) in SHARE.items():
        write_book(root / name, pid, pname, claims, usage)
    return root


@pytest.fixture
def share(tmp_path: Path) -> Path:
    return make_share(tmp_path / "share")


def findings(report: Any) -> set[tuple[Any, ...]]:
    return {(f.sheet, f.row, f.column, f.code, f.claim_id, f.message) for f in report.findings}


def sheets(path: Path) -> dict[str, list[list[Any]]]:
    book = CalamineWorkbook.from_path(str(path))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def without_run_time(values: dict[str, list[list[Any]]]) -> dict[str, list[list[Any]]]:
    """The Run Log's Run At is the clock; every other written cell must match."""
    out = dict(values)
    out[RUN_LOG_SHEET] = [row[1:] for row in values[RUN_LOG_SHEET]]
    return out


def by_name(result: BatchResult) -> dict[str, Any]:
    return {w.workbook: w for w in result.workbooks}


def single_runs(share: Path, tmp_path: Path) -> dict[str, Any]:
    """`run` on a copy of each workbook (in its own folder, so drafts go beside the copy)."""
    from cpor_excel.run import run_workbook

    out = {}
    for name in SHARE:
        copy = tmp_path / "single" / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(share / name, copy)
        out[name] = (copy, run_workbook(copy, as_of=AS_OF))
    return out


# --------------------------------------------------------------------------------------------------- tests


def test_cross_workbook_conflict_is_reported_in_both_workbooks_naming_the_other(share: Path) -> None:
    result = run_batch([share], as_of=AS_OF, jobs=1)
    books = by_name(result)
    assert [w.status for w in result.workbooks] == ["written", "written", "written"]

    def conflicts(name: str) -> list[tuple[Any, ...]]:
        report = books[name].report
        return [
            (f.sheet, f.row, f.column, f.code, f.claim_id)
            for f in report.findings
            if f.code == "association-conflict"
        ]

    assert conflicts("alpha.xlsx") == [("Associations", 2, "Workload", "association-conflict", "A-1")]
    assert conflicts("beta.xlsx") == [("Associations", 2, "Workload", "association-conflict", "B-7")]
    assert conflicts("gamma.xlsx") == []
    alpha_note = next(
        f.message for f in books["alpha.xlsx"].report.findings if f.code == "association-conflict"
    )
    beta_note = next(
        f.message for f in books["beta.xlsx"].report.findings if f.code == "association-conflict"
    )
    assert "claim B-7 (beta.xlsx row 2)" in alpha_note
    assert "claim A-1 (alpha.xlsx row 2)" in beta_note

    # written into the workbooks: Conflicts With names the other claim and workbook
    alpha = sheets(share / "alpha.xlsx")["Associations"]
    beta = sheets(share / "beta.xlsx")["Associations"]
    col = alpha[0].index("Conflicts With")
    assert [r[col] for r in alpha[1:]] == ["B-7 (beta.xlsx)", ""]
    assert [r[beta[0].index("Conflicts With")] for r in beta[1:]] == ["A-1 (alpha.xlsx)", ""]
    assert alpha[1][alpha[0].index("Check Result")] == "CONFLICT"

    # the batch lists the pair once
    assert [
        (c["workbook"], c["row"], c["claim_id"], c["other_workbook"], c["other_row"], c["other_claim_id"],
         c["newer_poe_claim_id"])
        for c in result.conflicts
    ] == [("alpha.xlsx", 2, "A-1", "beta.xlsx", 2, "B-7", "B-7")]  # fmt: skip
    assert result.exit_code == 1


def respelled(path: Path, tenant: str, spelling: bytes, shared: bool) -> None:
    """The workbook with a tenant ID's cells written as ``spelling`` (the content of an inline string, or of
    the shared string those cells then use, as Excel writes text)."""
    plain = b"<is><t>" + tenant.encode() + b"</t></is>"
    with zipfile.ZipFile(path) as old:
        parts = {info.filename: old.read(info) for info in old.infolist()}
    sheets = [name for name in parts if name.startswith("xl/worksheets/")]
    assert sum(parts[name].count(plain) for name in sheets) == 2  # its Customers and Associations rows
    for name in sheets:
        if shared:
            parts[name] = parts[name].replace(b't="inlineStr">' + plain, b't="s"><v>0</v>')
        else:
            parts[name] = parts[name].replace(plain, b"<is>" + spelling + b"</is>")
    if shared:
        main = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
        parts["xl/sharedStrings.xml"] = b'<sst xmlns="' + main + b'"><si>' + spelling + b"</si></sst>"
        kind = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
        rels = parts["xl/_rels/workbook.xml.rels"]
        parts["xl/_rels/workbook.xml.rels"] = rels.replace(
            b"</Relationships>",
            b'<Relationship Id="rIdS" Type="' + kind + b'" Target="sharedStrings.xml"/></Relationships>',
        )
        content = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
        parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
            b"</Types>",
            b'<Override PartName="/xl/sharedStrings.xml" ContentType="' + content + b'"/></Types>',
        )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for name, data in parts.items():
            new.writestr(name, data)


@pytest.mark.parametrize("shared", [False, True], ids=["inline", "shared-strings"])
@pytest.mark.parametrize(
    "spelling",
    [
        b"<r><t>" + T1[:13].encode() + b"</t></r><r><rPr><b/></rPr><t>" + T1[13:].encode() + b"</t></r>",
        b'<x:r xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:t>'
        + T1[:13].encode()
        + b'</x:t></x:r><x:r xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:t>'
        + T1[13:].encode()
        + b"</x:t></x:r>",  # rich text under a namespace prefix
        b"<t>&#48;" + T1[1:].encode() + b"</t>",  # a character reference
        b"<t>&#x30;" + T1[1:].replace("b", "&#x42;").encode() + b"</t>",  # ... hexadecimal, an upper-case one
        b"<t>_x0030_" + T1[1:].encode() + b"</t>",  # an OOXML escape
        b"<t>{" + T1.upper().encode() + b"}</t>",
        b"<t>" + T1.encode() + b"</t>",
    ],
    ids=["rich-text", "prefixed-rich-text", "reference", "hex-references", "escape", "braces", "plain"],
)
def test_a_tenant_id_in_any_form_calamine_reads_still_conflicts(
    share: Path, spelling: bytes, shared: bool
) -> None:
    respelled(share / "beta.xlsx", T1, spelling, shared)
    read = CalamineWorkbook.from_path(str(share / "beta.xlsx")).get_sheet_by_name("Associations").to_python()
    assert read[1][1].strip("{}").lower() == T1  # what a run reads
    result = run_batch([share], as_of=AS_OF, jobs=1)
    assert [
        (c["workbook"], c["claim_id"], c["other_workbook"], c["other_claim_id"]) for c in result.conflicts
    ] == [("alpha.xlsx", "A-1", "beta.xlsx", "B-7")]


def test_each_workbook_ends_up_as_run_leaves_it_plus_the_cross_workbook_conflicts(
    share: Path, tmp_path: Path
) -> None:
    single = single_runs(share, tmp_path)
    result = run_batch([share], as_of=AS_OF, jobs=1)
    books = by_name(result)
    conflict_rows = {"alpha.xlsx": 2, "beta.xlsx": 2}
    for name, (copy, report) in single.items():
        batch_report = books[name].report
        extra = findings(batch_report) - findings(report)
        assert findings(report) - findings(batch_report) == set(), name
        assert {(s, r, c, code) for s, r, c, code, *_ in extra} == (
            {("Associations", conflict_rows[name], "Workload", "association-conflict")}
            if name in conflict_rows
            else set()
        ), name
        assert batch_report.counts()["new_milestones"] == report.counts()["new_milestones"]
        assert batch_report.drafts == report.drafts

        mine, theirs = without_run_time(sheets(share / name)), without_run_time(sheets(copy))
        assert mine.keys() == theirs.keys()
        for sheet in mine:
            if sheet == RUN_LOG_SHEET and name in conflict_rows:
                # As Of, Version, Errors, Warnings, Conflicts, ...: one more error, and it is a conflict
                expected = [list(r) for r in theirs[sheet]]
                expected[1][2] += 1
                expected[1][4] += 1
                assert mine[sheet] == expected
                continue
            if sheet == DASHBOARD_SHEET and name in conflict_rows:
                # the same claims by status; the conflict among the claims that need action now
                assert [r for r in mine[sheet] if r[0] in STATUSES] == [
                    r for r in theirs[sheet] if r[0] in STATUSES
                ]
                assert any("association-conflict" in r for r in mine[sheet])
                assert not any("association-conflict" in r for r in theirs[sheet])
                continue
            if sheet == "CPOR Report" and name in conflict_rows:
                # the batch's report sheet holds the single run's rows plus the conflict's
                assert [r for r in mine[sheet] if r[1] != "association-conflict"] == theirs[sheet]
                continue
            if sheet == "Associations" and name in conflict_rows:
                row = conflict_rows[name] - 1
                header = mine[sheet][0]
                changed = {header.index(h) for h in ("Check Result", "Check Notes", "Conflicts With")}
                mine_rows = [
                    [v for i, v in enumerate(r) if not (n == row and i in changed)]
                    for n, r in enumerate(mine[sheet])
                ]
                their_rows = [
                    [v for i, v in enumerate(r) if not (n == row and i in changed)]
                    for n, r in enumerate(theirs[sheet])
                ]
                assert mine_rows == their_rows, (name, sheet)
                continue
            assert mine[sheet] == theirs[sheet], (name, sheet)
    # the milestones and the draft really happened, so the comparison above compared something
    assert books["alpha.xlsx"].report.counts()["new_milestones"] == 2
    assert [d["claim_id"] for d in books["gamma.xlsx"].report.drafts] == ["G-2"]
    assert (share / "gamma drafts").is_dir()


def test_a_workbook_open_in_excel_is_reported_and_left_alone_while_the_rest_run(share: Path) -> None:
    owner = share / "~$beta.xlsx"
    owner.write_bytes(b"\x05Excel owner")
    before = (share / "beta.xlsx").read_bytes()
    result = run_batch([share], as_of=AS_OF, jobs=1)
    books = by_name(result)
    assert [(w.workbook, w.status) for w in result.workbooks] == [
        ("alpha.xlsx", "written"),
        ("beta.xlsx", "locked"),
        ("gamma.xlsx", "written"),
    ]
    assert "open" in books["beta.xlsx"].message.lower()
    assert (share / "beta.xlsx").read_bytes() == before
    assert not (share / "beta drafts").exists()
    # its claims still count: alpha is told about the conflict with it
    assert [c["other_workbook"] for c in result.conflicts] == ["beta.xlsx"]
    assert "Run Log" in sheets(share / "alpha.xlsx")


def test_the_stale_temporary_files_of_the_workbooks_written_are_removed_and_no_other_file(
    share: Path,
) -> None:
    """A save killed half-way leaves its temporary file beside the workbook; the batch removes those of the
    workbooks it writes (holding their locks), not those of a workbook open in Excel, nor look-alikes."""
    (share / "~$beta.xlsx").write_bytes(b"\x05Excel owner")
    stale = [share / ".alpha.xlsx.0a1b2c3d.cpor-tmp", share / ".gamma.xlsx.4e5f6a7b.cpor-tmp"]
    kept = [
        share
        / ".beta.xlsx.8c9d0e1f.cpor-tmp",  # beta is open in Excel: not written, nothing beside it touched
        share / ".delta.xlsx.2a3b4c5d.cpor-tmp",  # no such workbook in the batch
        share / ".alpha.xlsx.cpor-tmp",
        share / "alpha.xlsx.0a1b2c3d.cpor-tmp",
    ]
    for path in [*stale, *kept]:
        path.write_bytes(b"half a workbook")
    result = run_batch([share], as_of=AS_OF, jobs=1)
    assert [w.status for w in result.workbooks] == ["written", "locked", "written"]
    assert [path.exists() for path in stale] == [False, False]
    assert [path.exists() for path in kept] == [True] * len(kept)


def test_a_corrupt_file_is_reported_and_the_rest_run(share: Path) -> None:
    (share / "broken.xlsx").write_bytes(b"PK\x03\x04 this is not a zip file at all")
    (share / "notes.xlsx").write_text("a text file with the wrong name", encoding="utf-8")
    result = run_batch([share], as_of=AS_OF, jobs=1)
    status = {w.workbook: w.status for w in result.workbooks}
    assert status == {
        "alpha.xlsx": "written",
        "beta.xlsx": "written",
        "broken.xlsx": "unreadable",
        "gamma.xlsx": "written",
        "notes.xlsx": "unreadable",
    }
    assert all(w.message for w in result.workbooks if w.status == "unreadable")
    assert all(w.report is None for w in result.workbooks if w.status == "unreadable")
    assert result.totals()["unreadable"] == 2
    assert result.exit_code == 1  # alpha and beta conflict


def test_dry_run_writes_nothing(share: Path) -> None:
    (share / "~$gamma.xlsx").write_bytes(b"\x05Excel owner")
    before = {p.name: p.read_bytes() for p in share.iterdir()}
    result = run_batch([share], as_of=AS_OF, jobs=1, dry_run=True)
    assert [w.status for w in result.workbooks] == ["checked"] * 3
    assert [bool(w.message) for w in result.workbooks] == [False, False, True]  # gamma: a run would skip it
    assert "open in Excel" in result.workbooks[2].message
    assert {
        p.name: p.read_bytes() for p in share.iterdir()
    } == before  # no drafts folder, no lock, no temp file
    assert [c["claim_id"] for c in result.conflicts] == ["A-1"]
    assert (
        by_name(result)["alpha.xlsx"].report.counts()["new_milestones"] == 2
    )  # reached, though not recorded


def test_exit_codes(tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    clean.mkdir()
    write_book(clean / "gamma.xlsx", *SHARE["gamma.xlsx"])
    assert run_batch([clean], as_of=AS_OF, jobs=1).exit_code == 0

    make_share(tmp_path / "conflict")
    assert run_batch([tmp_path / "conflict"], as_of=AS_OF, jobs=1).exit_code == 1

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.xlsx").write_bytes(b"not a workbook")
    assert run_batch([broken], as_of=AS_OF, jobs=1).exit_code == 3


def test_cli_json_is_the_batch_result(share: Path) -> None:
    out = CliRunner().invoke(main, ["batch", str(share), "--jobs", "1", "--as-of", "2025-11-30", "--json"])
    assert out.exit_code == 1, out.output
    doc = json.loads(out.stdout)
    assert doc["as_of"] == "2025-11-30"
    assert [(w["workbook"], w["status"], w["counts"]["conflicts"]) for w in doc["workbooks"]] == [
        ("alpha.xlsx", "written", 1),
        ("beta.xlsx", "written", 1),
        ("gamma.xlsx", "written", 0),
    ]
    assert doc["counts"]["cross_workbook_conflicts"] == 1
    alpha = doc["workbooks"][0]
    codes = {(f["sheet"], f["row"], f["code"]) for f in alpha["findings"]}
    assert ("Associations", 2, "association-conflict") in codes
    assert [(c["claim_id"], c["other_workbook"], c["other_claim_id"]) for c in doc["conflicts"]] == [
        ("A-1", "beta.xlsx", "B-7")
    ]


def test_cli_table_and_errors(share: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["batch", str(share), "--jobs", "1", "--as-of", "2025-11-30", "--dry-run"])
    assert out.exit_code == 1, out.output
    assert "alpha.xlsx" in out.stdout and "checked" in out.stdout
    assert "Dry run" in out.stdout

    missing = runner.invoke(main, ["batch", str(tmp_path / "nowhere")])
    assert missing.exit_code == 3
    assert missing.stderr.startswith("Error: ") and "Traceback" not in missing.output

    empty = tmp_path / "empty"
    empty.mkdir()
    none_found = runner.invoke(main, ["batch", str(empty)])
    assert none_found.exit_code == 3
    assert "no .xlsx or .xlsm workbook" in none_found.stderr

    bad_jobs = runner.invoke(main, ["batch", str(share), "--jobs", "0"])
    assert bad_jobs.exit_code == 2


@pytest.mark.slow
def test_local_processes_give_the_same_results(share: Path, tmp_path: Path) -> None:
    other = make_share(tmp_path / "again")
    one = run_batch([share], as_of=AS_OF, jobs=1)
    two = run_batch([other], as_of=AS_OF, jobs=2)
    assert [(w.workbook, w.status, findings(w.report)) for w in two.workbooks] == [
        (w.workbook, w.status, findings(w.report)) for w in one.workbooks
    ]
    assert two.conflicts == one.conflicts


@pytest.mark.slow
def test_dask_cluster_gives_the_same_results(share: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    other = make_share(tmp_path / "again")
    local = run_batch([share], as_of=AS_OF, jobs=1)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        out = CliRunner().invoke(
            main,
            [
                "batch",
                str(other),
                "--scheduler",
                cluster.scheduler_address,
                "--as-of",
                "2025-11-30",
                "--json",
            ],
        )
    assert out.exit_code == 1, out.output
    doc = json.loads(out.stdout)
    expected = [w.to_dict() for w in local.workbooks]
    for w in expected + doc["workbooks"]:
        w.pop("path")
        w.pop("message")
    assert [(w["workbook"], w["status"], w["counts"]) for w in doc["workbooks"]] == [
        (w["workbook"], w["status"], w["counts"]) for w in expected
    ]
    assert [w["findings"] for w in doc["workbooks"]] == [w["findings"] for w in expected]
    assert doc["conflicts"] == local.conflicts


def test_workbooks_with_one_file_name_in_two_folders_are_told_apart(tmp_path: Path) -> None:
    share = tmp_path / "share"
    for folder, name in (("north", "alpha.xlsx"), ("south", "beta.xlsx")):
        (share / folder).mkdir(parents=True)
        write_book(share / folder / "cpor.xlsx", *SHARE[name])
    calls: list[tuple[str, int, int, str]] = []
    result = run_batch([share], as_of=AS_OF, jobs=1, progress=lambda *a: calls.append(a))
    assert [w.workbook for w in result.workbooks] == ["north/cpor.xlsx", "south/cpor.xlsx"]
    north = result.workbooks[0].report
    note = next(f.message for f in north.findings if f.code == "association-conflict")
    assert "claim B-7 (south/cpor.xlsx row 2)" in note
    col = sheets(share / "north" / "cpor.xlsx")["Associations"][0].index("Conflicts With")
    assert sheets(share / "north" / "cpor.xlsx")["Associations"][1][col] == "B-7 (south/cpor.xlsx)"
    # progress: each phase starts at 0 and ends with every workbook done; both name tenant T1, so both
    # workbooks' claims are read before they are processed
    assert [(p, d, t) for p, d, t, _ in calls] == [("read", 0, 2), ("read", 1, 2), ("read", 2, 2),
                                                   ("claims", 0, 2), ("claims", 1, 2), ("claims", 2, 2),
                                                   ("process", 0, 2), ("process", 1, 2), ("process", 2, 2)]  # fmt: skip


def test_a_lost_worker_fails_its_workbook_not_the_batch() -> None:
    from cpor_excel.batch.run import _gather
    from cpor_excel.runtime import InlineExecutor

    def task(n: int) -> int:
        if n == 2:
            raise MemoryError("worker killed")
        return n * 10

    got = _gather(
        InlineExecutor(),
        [(task, (n,)) for n in range(4)],
        "read",
        ["a", "b", "c", "d"],
        None,
        lambda i, err: -i,
    )
    assert got == [0, 10, -2, 30]

    class Broken(InlineExecutor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            raise BrokenProcessPool("a child process terminated abruptly")

    assert _gather(
        Broken(), [(task, (n,)) for n in range(2)], "process", ["a", "b"], None, lambda i, e: -1
    ) == [-1, -1]


@pytest.mark.slow  # generating and running realistic workbooks twice
def test_generated_sample_workbooks_end_up_exactly_as_run_leaves_them(tmp_path: Path) -> None:
    import pandas as pd

    from cpor_excel.batch.run import read_claims
    from cpor_excel.run import run_workbook
    from cpor_excel.sample import create_sample

    share = tmp_path / "share"
    share.mkdir()
    for seed in (1, 2, 3):
        create_sample(share / f"reseller-{seed}.xlsx", customers=20, seed=seed, as_of=AS_OF)
    single = {}
    for path in sorted(share.iterdir()):
        copy = tmp_path / "single" / path.name
        copy.parent.mkdir(exist_ok=True)
        shutil.copy2(path, copy)
        single[path.name] = (copy, run_workbook(copy, as_of=AS_OF))

    def claims_and_ledgers() -> list[pd.DataFrame | None]:
        """Each workbook's claims and ledgers as they are now, read one workbook at a time (None: empty)."""
        scans = [read_claims(str(path), path.name) for path in sorted(share.glob("*.xlsx"))]
        parts = [[getattr(s, part) for s in scans] for part in ("claims", "ledger", "earnings")]
        return [pd.concat([f for f in frames if f is not None]) if any(f is not None for f in frames) else None
                for frames in parts]  # fmt: skip

    def same(got: pd.DataFrame, expected: pd.DataFrame | None) -> None:
        if expected is None:
            assert got.empty
        else:
            pd.testing.assert_frame_equal(got, expected)

    before = claims_and_ledgers()
    result = run_batch([share], as_of=AS_OF, jobs=2)
    assert result.conflicts == []
    for w in result.workbooks:
        copy, report = single[w.workbook]
        assert w.status == "written"
        assert findings(w.report) == findings(report)
        assert w.report.findings, "a sample has planted problems"
        assert w.report.milestones == report.milestones
        assert w.report.drafts == report.drafts
        assert without_run_time(sheets(share / w.workbook)) == without_run_time(sheets(copy))
        drafts = sorted(p.name for p in (share / f"{Path(w.workbook).stem} drafts").iterdir())
        assert drafts == sorted(p.name for p in (copy.parent / f"{copy.stem} drafts").iterdir())
    # the batch report's claims and ledgers are the workbooks' before the run, as reading each one says
    for got, expected in zip((result.claims, result.ledger, result.earnings), before, strict=True):
        same(got, expected)
    # and on the next run, the ledgers the first one wrote
    after = claims_and_ledgers()
    assert after[1] is not None
    assert len(after[1]) == sum(len(report.milestones) for _, report in single.values()) > 0
    again = run_batch([share], as_of=AS_OF, jobs=1, dry_run=True)
    for got, expected in zip((again.claims, again.ledger, again.earnings), after, strict=True):
        same(got, expected)

"""mail/outbox.py: safe draft file names, atomic .eml files, and drafting a workbook's claims."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rules_frames import EXO, TEAMS, association, associations, customers, ledger, tenant, usage

from cpor_excel.errors import CporError
from cpor_excel.mail import outbox
from cpor_excel.mail.outbox import (
    DraftFiles,
    default_drafts_dir,
    draft_emails,
    draft_file_name,
    remove_stale_temporaries,
    temporary_name,
    write_eml,
)
from cpor_excel.mail.render import ConsentEmail, render_consent
from cpor_excel.model.columns import DRAFTS_HEADER
from cpor_excel.model.program import Settings, example_milestones
from cpor_excel.model.workbook import Prepared
from cpor_excel.rules.drafts import claims_to_draft

AS_OF = dt.date(2025, 4, 1)
SAFE = re.compile(r"[A-Za-z0-9_-]{1,60}-[0-9a-f]{10}\.eml")
RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
HOSTILE_IDS = [
    "../../x", "..", ".", "", " ", "a/b", "a\\b", "C:\\Windows\\x", "CON", "nul", "COM1.txt", "LPT9",
    "name.", "name ", "tab\tname", "new\nline", "nul\x00byte", "Zoë/€", "x" * 500, ".hidden", "a:b", "*?<>|\"",
]  # fmt: skip


def assert_portable(name: str) -> None:
    assert SAFE.fullmatch(name), name
    assert len(name) <= 80
    assert name.split(".")[0].upper() not in RESERVED
    assert Path(name).name == name and not name.startswith(".")


@pytest.mark.parametrize("claim_id", HOSTILE_IDS)
def test_file_names_are_portable_whatever_the_claim_id(claim_id: str) -> None:
    assert_portable(draft_file_name(claim_id))


def test_file_names_stay_unique_after_sanitising_and_on_case_insensitive_disks() -> None:
    ids = ["a/b", "a\\b", "a_b", "a b", "A_B", "a:b", "a.b", "../a_b"]
    names = [draft_file_name(i).lower() for i in ids]
    assert len(set(names)) == len(ids)
    assert draft_file_name("CLM-001").startswith("CLM-001-")  # readable where it can be


@given(st.text(max_size=300))
def test_any_claim_id_gives_a_portable_name(claim_id: str) -> None:
    assert_portable(draft_file_name(claim_id))
    assert draft_file_name(claim_id) == draft_file_name(claim_id)


@given(st.text(max_size=40), st.text(max_size=40))
def test_different_claim_ids_never_share_a_file(a: str, b: str) -> None:
    if a != b:
        assert draft_file_name(a).lower() != draft_file_name(b).lower()


def test_default_drafts_folder_is_beside_the_workbook() -> None:
    assert default_drafts_dir(Path("/share/team/partner.xlsx")) == Path("/share/team/partner drafts")
    assert default_drafts_dir("book.v2.xlsm") == Path("book.v2 drafts")


def sample_message() -> ConsentEmail:
    from test_render import request

    return render_consent(request(), AS_OF)


def test_write_eml_creates_the_folder_and_writes_a_parseable_crlf_file(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "drafts"
    path = write_eml(folder, "CLM-1-abc.eml", sample_message())
    assert path == folder / "CLM-1-abc.eml"
    data = path.read_bytes()
    assert b"\r\nX-Unsent: 1\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert parsed["Message-ID"] == sample_message().message_id
    assert sorted(p.name for p in folder.iterdir()) == ["CLM-1-abc.eml"]  # no temporary file left
    assert data == sample_message().as_bytes()


@pytest.mark.parametrize("name", ["../x.eml", "a/b.eml", "..", "", "c:x.eml", "a\\b.eml"])
def test_write_eml_refuses_a_name_that_is_not_a_plain_file_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError):
        write_eml(tmp_path / "drafts", name, sample_message())
    assert not (tmp_path / "x.eml").exists()


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "CLM-1.eml"
    target.write_bytes(b"old")

    def crash(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        write_eml(tmp_path, "CLM-1.eml", sample_message())
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["CLM-1.eml"]


def test_a_temporary_left_by_a_crashed_run_with_the_same_process_id_is_replaced(tmp_path: Path) -> None:
    stale = tmp_path / temporary_name("CLM-1.eml")
    stale.write_bytes(b"half a message")
    path = write_eml(tmp_path, "CLM-1.eml", sample_message())
    assert path.read_bytes() == sample_message().as_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["CLM-1.eml"]


@pytest.mark.skipif(os.name != "posix", reason="a process of this machine is probed on POSIX only")
def test_stale_temporaries_are_those_of_gone_processes_or_a_day_old(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # its process id is free now (reused only after the id space wraps)
    day = 24 * 3600
    files = {
        temporary_name("a.eml", gone.pid): 0,  # this machine, process gone: stale
        temporary_name("b.eml"): 0,  # this very process: kept
        temporary_name("c.eml", os.getppid()): 0,  # a live process of this machine: kept
        ".~d.eml.otherhost-12.tmp": 0,  # another machine, recent: kept (its run may be going)
        ".~e.eml.otherhost-12.tmp": 2 * day,  # another machine, two days old: stale
        ".~f.eml.12.tmp": 2 * day,  # an older version's name, old: stale
        "g.eml": 2 * day,  # a draft: never touched
    }
    now = time.time()
    for name, age in files.items():
        (tmp_path / name).write_bytes(b"x")
        os.utime(tmp_path / name, (now - age, now - age))
    removed = remove_stale_temporaries(tmp_path)
    assert sorted(p.name for p in removed) == sorted(
        [temporary_name("a.eml", gone.pid), ".~e.eml.otherhost-12.tmp", ".~f.eml.12.tmp"]
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(set(files) - {p.name for p in removed})


def prepared(rows: list[dict], customer_frame: pd.DataFrame | None = None) -> Prepared:
    return Prepared(
        customers=customer_frame if customer_frame is not None else customers([1, 2, 3]),
        associations=associations(rows),
        usage=usage([]),
        milestones=example_milestones(),
        settings=Settings(),
        ledger=ledger([]),
        drafts=pd.DataFrame(columns=list(DRAFTS_HEADER), dtype=object),
        example_program=False,
    )


def submitted(claim: str, tenant_no: int, workload: str = EXO) -> dict:
    return association(claim, tenant_no, workload, status="Submitted", submitted="2025-03-31", approved=None)


def test_draft_emails_writes_one_eml_per_claim_and_returns_the_drafts(tmp_path: Path) -> None:
    rows = [submitted("CLM-1", 1, TEAMS), submitted("CLM-1", 1, EXO), submitted("CLM-2", 2)]
    drafts_dir = tmp_path / "partner drafts"
    drafts, findings = draft_emails(prepared(rows), [], Settings(), AS_OF, drafts_dir)
    assert findings == []
    assert [(d.claim_id, d.tenant_id, d.to, d.rows) for d in drafts] == [
        ("CLM-1", tenant(1), "it@customer1.example", [2, 3]),
        ("CLM-2", tenant(2), "it@customer2.example", [4]),
    ]
    assert sorted(p.name for p in drafts_dir.iterdir()) == sorted(d.file_name for d in drafts)
    for d in drafts:
        assert d.file_name == draft_file_name(d.claim_id)
        on_disk = email.message_from_bytes(
            (drafts_dir / d.file_name).read_bytes(), policy=email.policy.default
        )
        assert on_disk["Subject"] == d.subject and on_disk["Message-ID"] == d.message.message_id
        assert on_disk["X-Unsent"] == "1"


def test_drafts_written_on_their_own_thread_are_all_there_once_closed(tmp_path: Path) -> None:
    rows = [submitted(f"CLM-{i}", i) for i in range(1, 40)]
    with DraftFiles(tmp_path / "threaded") as files:
        drafts, _ = draft_emails(prepared(rows, customers(range(1, 40))), [], Settings(), AS_OF, files)
    plain, _ = draft_emails(
        prepared(rows, customers(range(1, 40))), [], Settings(), AS_OF, tmp_path / "plain"
    )
    assert len(drafts) == 39 and [d.file_name for d in drafts] == [d.file_name for d in plain]
    written = {p.name: p.read_bytes() for p in (tmp_path / "threaded").iterdir()}
    assert written == {p.name: p.read_bytes() for p in (tmp_path / "plain").iterdir()}


def test_a_draft_that_cannot_be_written_is_an_error_when_the_files_are_closed(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    files = DraftFiles(tmp_path / "file" / "drafts")
    files.write("CLM-1.eml", sample_message())
    with pytest.raises(CporError, match="Cannot write consent drafts into"):
        files.close()


def test_drafts_of_a_run_that_fails_or_drafts_again_leave_no_file(tmp_path: Path) -> None:
    folder = tmp_path / "drafts"
    with pytest.raises(RuntimeError), DraftFiles(folder) as files:
        files.write("CLM-1.eml", sample_message())
        raise RuntimeError("the run failed after drafting")
    assert list(folder.iterdir()) == []
    with DraftFiles(folder) as files:
        files.write("CLM-1.eml", sample_message())
        files.discard()  # drafted again, without that claim
        files.write("CLM-2.eml", sample_message())
        assert list(folder.glob("*.eml")) == []  # nothing is in its place before close
    assert [p.name for p in folder.iterdir()] == ["CLM-2.eml"]


def test_a_hostile_claim_id_cannot_write_outside_the_drafts_folder(tmp_path: Path) -> None:
    drafts_dir = tmp_path / "a" / "drafts"
    rows = [submitted("../../x", 1), submitted("..\\..\\y", 2), submitted("/etc/z", 3)]
    drafts, _ = draft_emails(prepared(rows), [], Settings(), AS_OF, drafts_dir)
    assert len(drafts) == 3
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert written == sorted(Path("a", "drafts", d.file_name) for d in drafts)


def test_a_bad_address_is_a_draft_not_written_finding_and_no_file(tmp_path: Path) -> None:
    frame = customers([1, 2])
    frame.loc[2, "Contact Email"] = "casey at contoso"  # slipped through as text
    rows = [submitted("CLM-1", 1), submitted("CLM-2", 2)]
    rows[1]["Partner Contact Email"] = "pat@@partner.example"
    drafts, findings = draft_emails(prepared(rows, frame), [], Settings(), AS_OF, tmp_path / "d")
    assert drafts == []
    assert [(f.sheet, f.row, f.column, f.code, f.claim_id) for f in findings] == [
        ("Associations", 2, "Claim ID", "draft-not-written", "CLM-1"),
        ("Associations", 3, "Claim ID", "draft-not-written", "CLM-2"),
    ]
    assert "casey at contoso" in findings[0].message and "Partner Contact Email" in findings[1].message
    assert not (tmp_path / "d").exists() or list((tmp_path / "d").iterdir()) == []


def test_rule_findings_come_back_with_the_written_drafts(tmp_path: Path) -> None:
    rows = [submitted("CLM-1", 1), submitted("CLM-9", 9)]  # tenant 9 is not in Customers
    drafts, findings = draft_emails(prepared(rows), [], Settings(), AS_OF, tmp_path)
    assert [d.claim_id for d in drafts] == ["CLM-1"]
    assert [(f.row, f.code, f.claim_id) for f in findings] == [(3, "draft-not-written", "CLM-9")]
    requests, _ = claims_to_draft(prepared(rows), [], Settings(), AS_OF)
    assert [r.claim_id for r in requests] == ["CLM-1"]


def test_an_unwritable_drafts_folder_is_a_cannot_run_error(tmp_path: Path) -> None:
    blocker = tmp_path / "drafts"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(CporError, match="--drafts"):
        draft_emails(prepared([submitted("CLM-1", 1)]), [], Settings(), AS_OF, blocker)


@pytest.mark.parametrize("sync_once", [True, False])
def test_the_drafts_are_on_disk_before_draft_emails_returns_with_one_sync_or_an_fsync_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sync_once: bool
) -> None:
    folder = tmp_path / "drafts"
    calls: list[str] = []
    real_fsync = os.fsync

    def sync() -> None:  # everything is written (renamed into place) before the one sync
        calls.append(f"sync after {sorted(p.suffix for p in folder.iterdir())}")

    def fsync(fd: int) -> None:
        calls.append("fsync")
        real_fsync(fd)

    monkeypatch.setattr(outbox, "SYNC_ONCE", sync_once)
    monkeypatch.setattr(os, "sync", sync, raising=False)
    monkeypatch.setattr(os, "fsync", fsync)
    rows = [submitted("CLM-1", 1), submitted("CLM-2", 2), submitted("CLM-3", 3)]
    drafts, _ = draft_emails(prepared(rows), [], Settings(), AS_OF, folder)
    assert len(drafts) == 3
    assert calls == (["sync after ['.eml', '.eml', '.eml']"] if sync_once else ["fsync"] * 3)
    calls.clear()
    frame = customers([1])
    frame.loc[2, "Contact Email"] = "casey at contoso"
    drafts, findings = draft_emails(prepared([submitted("CLM-4", 1)], frame), [], Settings(), AS_OF, folder)
    assert (drafts, [f.code for f in findings], calls) == ([], ["draft-not-written"], [])

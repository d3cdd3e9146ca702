"""The drafts folder: consent emails as .eml files that Outlook opens as drafts (``X-Unsent: 1``).

File names come from claim IDs, which are whatever the partner typed: a name is made safe for Windows,
macOS and Linux and carries a short hash of the claim ID, so two claims never share a file and no claim
ID (``../../x``, ``CON``, ``a/b``) can write outside the folder.

Each file is written atomically (a temporary file in the folder, then a rename), on a thread of its own
(``DraftFiles``) while the run goes on. Durability is bought once per run: on Linux one ``os.sync()`` after
the last draft, which waits for every file to reach the disk, instead of an ``fsync`` per file (about 2 ms
each); elsewhere each file is fsynced. Either way the drafts are on disk before ``DraftFiles.close``
returns, and a run closes them before it saves the workbook that lists them.

A temporary draft is named after its writer (``.~NAME.HOST-PID.tmp``): a run killed before it renamed its
drafts leaves them behind, and the next run drafting into the folder removes those whose process on this
machine is gone, and any a day old (``remove_stale_temporaries``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import socket
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import suppress
from pathlib import Path

from cpor_excel.errors import CporError
from cpor_excel.mail.render import ConsentEmail, ConsentRenderer, DraftRefused
from cpor_excel.model.evaluation import Draft, DraftRequest
from cpor_excel.model.findings import Finding
from cpor_excel.model.program import Settings
from cpor_excel.model.workbook import Prepared
from cpor_excel.rules.drafts import claims_to_draft

SUFFIX = ".eml"
#: characters of the claim ID kept in a file name; with the hash and suffix a name stays under 80
MAX_STEM = 60
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"COM{i}" for i in range(10)}
    | {f"LPT{i}" for i in range(10)}
)
#: Linux's sync() returns only when everything is written; POSIX allows it to return sooner (macOS does)
SYNC_ONCE = sys.platform.startswith("linux") and hasattr(os, "sync")


def default_drafts_dir(book_path: str | Path) -> Path:
    """The drafts folder beside a workbook: ``partner.xlsx`` -> ``partner drafts``."""
    book_path = Path(book_path)
    return book_path.with_name(f"{book_path.stem} drafts")


def draft_file_name(claim_id: str) -> str:
    """A portable file name for a claim's draft: ``CLM-1`` -> ``CLM-1-<hash>.eml``.

    Only ASCII letters, digits, ``-`` and ``_`` survive from the claim ID (no separators, dots, control
    characters or trailing spaces); the hash of the *original* ID keeps names unique after that and on
    case-insensitive file systems.
    """
    digest = hashlib.sha256(str(claim_id).encode("utf-8")).hexdigest()[:10]
    stem = _UNSAFE.sub("_", str(claim_id)).strip("_-")[:MAX_STEM].strip("_-") or "claim"
    if stem.upper() in _WINDOWS_RESERVED:  # never reached with the hash appended; kept as a guard
        stem = f"claim_{stem}"
    return f"{stem}-{digest}{SUFFIX}"


def is_plain_file_name(name: str) -> bool:
    """True for a bare file name that stays inside its folder on every platform."""
    return (
        bool(name)
        and name not in {".", ".."}
        and "/" not in name
        and "\\" not in name
        and ":" not in name
        and "\x00" not in name
        and Path(name).name == name
    )


def write_eml(folder: Path, file_name: str, message: ConsentEmail, *, sync: bool = True) -> Path:
    """Write a message as ``folder/file_name`` atomically (temporary file in the folder, then rename),
    creating the folder. Lines end in CRLF, as mail programs expect of an .eml file. With ``sync`` the
    file is fsynced before the rename; without it the caller makes it durable (``draft_emails`` syncs
    once at the end)."""
    if not is_plain_file_name(file_name):
        raise ValueError(f"{file_name!r} is not a plain file name")
    folder = Path(folder)
    target = folder / file_name
    temp = _write_temporary(folder, file_name, message.as_bytes(), sync)
    try:
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return target


class DraftFiles:
    """A run's consent drafts as .eml files in a folder (the draft sink of ``cpor_excel/run.py``).

    ``draft`` renders each claim's email (the partner's ``templates_dir`` first) and writes it on a thread
    of its own: creating files is I/O that the rest of a run need not wait for. Each draft goes to a
    temporary file first; ``close`` waits for them, puts every one in its place and makes them durable
    (once, see the module notes), or raises CporError naming the folder if any could not be written. A run
    that fails before (``__exit__`` with an error) or that drafts again (``discard``) leaves no file of
    them. Use it as a context manager and close it before saving the workbook that lists the drafts."""

    def __init__(self, folder: Path | str, templates_dir: Path | None = None) -> None:
        self.folder = Path(folder)
        self.templates_dir = templates_dir
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="drafts")
        self._pool.submit(remove_stale_temporaries, self.folder)  # what killed runs left behind
        self._pending: dict[str, Future[Path]] = {}  # file name -> its temporary file being written
        self._closed = False

    def write(self, file_name: str, message: ConsentEmail) -> None:
        """Write one message as the draft ``file_name`` (put in its place by ``close``)."""
        self._write_all([(file_name, message)])

    def draft(self, requests: Sequence[DraftRequest], as_of: dt.date) -> tuple[list[Draft], list[Finding]]:
        """Render and write the consent email of each claim (``rules/drafts.py`` chose them): the drafts
        made, and a `draft-not-written` finding for each claim whose email the templates refuse."""
        renderer = ConsentRenderer(self.templates_dir)
        drafts: list[Draft] = []
        refused: list[Finding] = []
        made: list[tuple[str, ConsentEmail]] = []
        for request in requests:
            try:
                message = renderer.render(request, as_of)
            except DraftRefused as why:
                refused.append(
                    Finding(
                        "draft-not-written",
                        "Associations",
                        f"No consent email drafted for claim {request.claim_id}: {why}; correct it and run "
                        "again.",
                        row=request.rows[0],
                        column="Claim ID",
                        claim_id=request.claim_id,
                    )
                )
                continue
            file_name = draft_file_name(request.claim_id)
            made.append((file_name, message))
            drafts.append(
                Draft(
                    claim_id=request.claim_id,
                    tenant_id=request.customer.tenant_id,
                    to=message.to,
                    subject=message.subject,
                    file_name=file_name,
                    message=message,
                    rows=list(request.rows),
                )
            )
        self._write_all(made)
        return drafts, refused

    def _write_all(self, messages: list[tuple[str, ConsentEmail]]) -> None:
        """Each message's temporary file written by the drafts thread as one task: one hand-over to it per run
        rather than one per draft (each costs the run a switch of threads; a batch drafts in thousands of
        workbooks). A file name that is not plain is refused here, in the caller."""
        for file_name, _ in messages:
            if not is_plain_file_name(file_name):  # refused now, in the caller, not later
                raise ValueError(f"{file_name!r} is not a plain file name")
        if not messages:
            return
        written: list[tuple[str, bytes, Future[Path]]] = [
            (file_name, message.as_bytes(), Future()) for file_name, message in messages
        ]
        self._pool.submit(_write_temporaries, self.folder, written, not SYNC_ONCE)
        self._pending.update((file_name, future) for file_name, _, future in written)

    def close(self) -> None:
        """Put every draft in its place; raise CporError if one could not be written (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._pool.shutdown(wait=True)
        failed = next((f.exception() for f in self._pending.values() if f.exception() is not None), None)
        try:
            if failed is None:
                for file_name, temp in self._pending.items():
                    os.replace(temp.result(), self.folder / file_name)
        except OSError as err:
            failed = err
        if failed is not None:
            self._remove_temporaries()
            why = failed.strerror if isinstance(failed, OSError) and failed.strerror else failed
            raise CporError(
                f"Cannot write consent drafts into {self.folder} ({why}); choose another folder with --drafts."
            )
        if self._pending and SYNC_ONCE:
            os.sync()

    def discard(self) -> None:
        """Forget every draft written so far (their temporary files are removed)."""
        wait(list(self._pending.values()))
        self._remove_temporaries()
        self._pending.clear()

    def _remove_temporaries(self) -> None:
        for temp in self._pending.values():
            if temp.exception() is None:
                temp.result().unlink(missing_ok=True)

    def __enter__(self) -> DraftFiles:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if kind is None:
            self.close()
        else:  # already failing: no draft of this run is left behind, and the first error is not hidden
            self._closed = True
            self._pool.shutdown(wait=True)
            self._remove_temporaries()


#: who writes a temporary draft: this machine and process (``.~NAME.HOST-PID.tmp``), so that a later run
#: can tell the leftovers of a killed run from the drafts of a run still going (on a shared drafts folder)
_HOST = re.sub(r"[^A-Za-z0-9_]+", "_", socket.gethostname())[:40] or "host"
_TEMP = re.compile(r"\.~.+\.(?:(?P<host>[A-Za-z0-9_]+)-)?(?P<pid>\d+)\.tmp")
#: a temporary draft older than this is a leftover whoever wrote it (no run takes a day)
STALE_AFTER = 24 * 3600.0


def temporary_name(file_name: str, pid: int | None = None) -> str:
    """The temporary file a draft is written to before it takes its name (by this machine's process)."""
    return f".~{file_name}.{_HOST}-{os.getpid() if pid is None else pid}.tmp"


def remove_stale_temporaries(folder: Path | str) -> list[Path]:
    """Delete the temporary drafts that killed runs left in ``folder``: those of a process of this machine
    that is gone, and any older than a day. A run still writing its drafts keeps its own."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        match = _TEMP.fullmatch(entry.name)
        if match is None:
            continue
        try:
            old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER
        except OSError:
            continue
        mine = match.group("host") == _HOST
        if old or (mine and not _alive(int(match.group("pid")))):
            with suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":  # no harmless probe of another process there: only the age rule applies
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


def _write_temporaries(folder: Path, drafts: list[tuple[str, bytes, Future[Path]]], sync: bool) -> None:
    """(drafts thread) ``_write_temporary`` of each draft, its temporary file (or why not) in its future."""
    for file_name, data, written in drafts:
        try:
            written.set_result(_write_temporary(folder, file_name, data, sync))
        except BaseException as err:  # every future gets its answer: ``close`` reports the first failure
            written.set_exception(err)


def _write_temporary(folder: Path, file_name: str, data: bytes, sync: bool) -> Path:
    """(drafts thread) The draft's bytes in a temporary file beside its place; ``close`` moves it there."""
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / temporary_name(file_name)
    temp.unlink(missing_ok=True)  # left behind by a crashed run whose process id this one reuses
    try:
        with open(temp, "xb") as out:
            out.write(data)
            if sync:
                out.flush()
                os.fsync(out.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def draft_emails(
    prepared: Prepared,
    findings: list[Finding],
    settings: Settings,
    as_of: dt.date,
    drafts_dir: Path | DraftFiles,
    templates_dir: Path | None = None,
) -> tuple[list[Draft], list[Finding]]:
    """Draft the consent email of every claim that needs one and write each as an .eml file.

    Returns the drafts (for the Consent Drafts sheet and the Consent Draft column) and a
    `draft-not-written` finding for each claim that needs an email but cannot get one. Given a folder,
    every file is on disk when it returns; given ``DraftFiles``, when the caller closes them.
    """
    requests, held_back = claims_to_draft(prepared, findings, settings, as_of)
    if isinstance(drafts_dir, DraftFiles):  # it renders with its own templates
        drafts, refused = drafts_dir.draft(requests, as_of)
    else:
        with DraftFiles(drafts_dir, templates_dir) as files:
            drafts, refused = files.draft(requests, as_of)
    return drafts, held_back + refused

"""Saving a workbook safely (SPEC "Safety promises"): Excel's owner file, one lock per workbook, atomic replace.

- A workbook open in Excel has an *owner file* beside it (``~$`` + its name); such a workbook is never
  written, because Excel would overwrite our results on its next save (or refuse the replace on Windows).
- Runs on one workbook are serialised by a lock file beside it (``.NAME.cpor.lock``), held from before the
  workbook is read until it is saved (``FileBook`` takes it) and removed after the run. A second run waits
  ``lock_wait()`` seconds (``--wait``, ``CPOR_LOCK_WAIT``; 10 by default), then stops saying another run is
  using the workbook. The lock is an OS lock on the file (flock / LockFileEx): a killed run's is free.
- A workbook reached through a symbolic link is the file the link points to: that file is locked, checked
  for Excel's owner file and replaced; the link stays a link.
- The new workbook is written to a temporary file in the same folder (so the final rename never crosses a
  file system), flushed to disk, then renamed over the original: the original is byte-identical after any
  failure. A process killed with SIGKILL cannot clean up, so its temporary file (``.NAME.*.cpor-tmp``) may
  stay behind; the next save of that workbook removes it while it holds the lock.
"""

from __future__ import annotations

import fnmatch
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from filelock import FileLock, Timeout

from cpor_excel.errors import UsageError, WorkbookLocked

#: seconds a run waits for another run on the same workbook before giving up (``lock_wait``)
LOCK_WAIT = 10.0
LOCK_WAIT_ENV = "CPOR_LOCK_WAIT"
TEMP_SUFFIX = ".cpor-tmp"


def owner_file(path: Path | str) -> Path | None:
    """Excel's owner file of the workbook at ``path`` when it exists (the workbook is open), else None.

    Excel names it ``~$`` + the workbook's name. Word-style owner files of long names replace the first one
    or two characters instead (``~$port.xlsx`` for ``Report.xlsx``); those count only when no other file in
    the folder could own them, so one partner's open workbook never blocks its neighbour's run.
    Names compare case-insensitively (Windows file shares).
    """
    path = Path(path)
    name = path.name.casefold()
    try:
        entries = os.listdir(path.parent)  # (names only: a batch's folder holds thousands)
    except OSError:
        return None
    owners = {entry.casefold(): entry for entry in entries if entry.startswith("~$")}
    if not owners:
        return None
    exact = owners.get("~$" + name)
    if exact is not None:
        return path.parent / exact
    stem_length = len(path.stem)
    for cut in (2, 1):
        if stem_length <= cut:
            continue
        candidate = owners.get("~$" + name[cut:])
        if candidate is None:
            continue
        rivals = [
            entry
            for entry in entries
            if entry.casefold() != name
            and not entry.startswith("~$")
            and len(entry) == len(name)
            and entry.casefold()[cut:] == name[cut:]
        ]
        if not rivals:
            return path.parent / candidate
    return None


def real_path(path: Path | str) -> Path:
    """The file a path names, through any symbolic links (the path itself when it names no file yet)."""
    return Path(os.path.realpath(path))


def lock_wait(wait: float | None = None) -> float:
    """Seconds to wait for another run's lock: ``wait`` when given, else ``CPOR_LOCK_WAIT``, else 10."""
    if wait is not None:
        return max(0.0, float(wait))
    text = os.environ.get(LOCK_WAIT_ENV, "").strip()
    if not text:
        return LOCK_WAIT
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise UsageError(f"{LOCK_WAIT_ENV} must be a number of seconds such as 30, not {text!r}.")
    return seconds


def ensure_writable(path: Path | str) -> None:
    """Raise WorkbookLocked when the workbook at ``path`` cannot be written now (open in Excel, read-only).
    Through a symbolic link it is the real file that is written: Excel's owner file is looked for beside
    the link and beside the file."""
    given = Path(path)
    path = real_path(given)
    for place in dict.fromkeys((given, path)):
        owner = owner_file(place)
        if owner is not None:
            raise WorkbookLocked(
                f"{given.name} is open in Excel: close it, or use the Run CPOR checks button inside Excel "
                f"(if Excel is not running, delete {owner.name})."
            )
    if not path.parent.is_dir():
        raise WorkbookLocked(
            f"the folder {path.parent} does not exist: create it, or write elsewhere with --out."
        )
    if path.exists() and not os.access(path, os.R_OK):
        raise WorkbookLocked(
            f"permission denied on {path.name}: ask for read and write access to it, or work on a copy."
        )
    if path.exists() and not os.access(path, os.W_OK):
        raise WorkbookLocked(
            f"{path.name} is read-only: clear the read-only flag, or write a copy with --out."
        )
    if not os.access(path.parent, os.W_OK):
        raise WorkbookLocked(f"the folder of {path.name} is not writable: write a copy elsewhere with --out.")


def check_out_path(book: Path | str, out: Path | str) -> None:
    """Refuse (UsageError) an ``--out`` that names a folder, or a file of another format than ``book``:
    Excel refuses a package whose extension does not match its content type (an .xlsx named .xlsm, or
    anything named .csv), so such a file is never made."""
    book, out = Path(book), Path(out)
    if out.is_dir():
        raise UsageError(
            f"--out {out} is a folder: give the new workbook's file name, e.g. {out / book.name}."
        )
    if out.suffix.casefold() != book.suffix.casefold():
        wanted = book.suffix or ".xlsx"
        raise UsageError(
            f"--out {out.name} must end in {wanted} like {book.name}: Excel refuses a workbook whose name "
            f"does not match its format; write e.g. {out.with_suffix(wanted).name}."
        )


def lock_path(path: Path | str) -> Path:
    """The lock file that serialises runs on the workbook at ``path``."""
    path = Path(path)
    return path.with_name(f".{path.name}.cpor.lock")


@contextmanager
def workbook_lock(path: Path | str, timeout: float | None = None) -> Iterator[None]:
    """Hold the workbook's lock (of the real file, through symbolic links): other runs on the same
    workbook wait (up to ``timeout`` s, default ``lock_wait()``, then WorkbookLocked). The lock file is
    removed when the block ends."""
    given = Path(path)
    path = real_path(given)
    lock_file = lock_path(path)
    lock = FileLock(lock_file, timeout=lock_wait(timeout))
    try:
        lock.acquire()
    except Timeout:
        raise WorkbookLocked(
            f"another cpor-excel run is using {given.name}: wait for it to finish and run again, or let "
            f"this run wait longer (--wait SECONDS or {LOCK_WAIT_ENV})."
        ) from None
    except OSError as err:
        raise WorkbookLocked(
            f"cannot create a lock file beside {path.name} ({err.strerror}): check that the folder is writable."
        ) from None
    try:
        held = _stat(lock_file)
        yield
    finally:
        # Unlink while still holding the lock: a waiter that then wins the old file sees it unlinked and
        # retries on a fresh one (filelock checks), so two runs never both hold "the" lock.
        with suppress(OSError):
            if held is not None and os.path.samestat(held, os.stat(lock_file)):
                os.unlink(lock_file)
        lock.release()


def _stat(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def temp_files(dest: Path | str) -> list[Path]:
    """Temporary files of interrupted saves of ``dest`` (left by a killed process)."""
    dest = Path(dest)
    return _temps_of(dest, _temp_entries(dest.parent))


def remove_stale_temps(*dests: Path | str) -> list[Path]:
    """Delete the temporary files of earlier, interrupted saves of these workbooks; call it holding their
    locks. Each folder is listed once: a batch's chunk does it for all its workbooks at once (a listing of a
    folder of a thousand workbooks and their drafts folders costs about a millisecond)."""
    folders: dict[Path, list[Path]] = {}
    for dest in map(Path, dests):
        folders.setdefault(dest.parent, []).append(dest)
    removed = []
    for folder, books in folders.items():
        entries = _temp_entries(folder)
        for temp in (temp for dest in books for temp in _temps_of(dest, entries)):
            with suppress(OSError):
                temp.unlink()
                removed.append(temp)
    return removed


def _temp_entries(folder: Path) -> list[str]:
    """The names in ``folder`` that end like a temporary file of a save."""
    try:
        return [entry for entry in os.listdir(folder) if os.path.normcase(entry).endswith(TEMP_SUFFIX)]
    except OSError:
        return []


def _temps_of(dest: Path, entries: list[str]) -> list[Path]:
    """Those of ``entries`` (names in ``dest``'s folder) that are temporary files of saves of ``dest``
    (matched as a glob matches them: case-insensitively where the file system is)."""
    pattern = f".{_glob_escape(dest.name)}.*{TEMP_SUFFIX}"
    return sorted(dest.parent / entry for entry in fnmatch.filter(entries, pattern))


def atomic_replace(dest: Path | str, write: Callable[[Path], None]) -> None:
    """Create or replace ``dest`` atomically: ``write(temp)`` fills a temporary file in the same folder,
    which is flushed to disk and renamed over ``dest``. On any failure the temporary file is removed and
    ``dest`` is untouched. The workbook's file permissions are kept."""
    dest = Path(dest)
    temp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
    try:
        with open(temp, "xb"):  # exclusive create, with the folder's default permissions
            pass
        write(temp)
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        if dest.exists():
            shutil.copymode(dest, temp)
        os.replace(temp, dest)
    except BaseException as err:
        with suppress(OSError):
            temp.unlink()
        if isinstance(err, PermissionError) and dest.exists():
            raise WorkbookLocked(
                f"{dest.name} is in use by another program (or read-only): close it and run again."
            ) from None
        raise
    _sync_folder(dest.parent)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; Windows has no directory handles to flush)."""
    if os.name != "posix":
        return
    with suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def _glob_escape(name: str) -> str:
    return "".join(f"[{ch}]" if ch in "[]*?" else ch for ch in name)

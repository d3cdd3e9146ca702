"""Which workbooks a batch covers: folders (recursively), files and glob patterns, in a stable order.

A shared folder holds more than partners' workbooks: Excel's owner files (``~$partner.xlsx``) and temporary
files, LibreOffice lock files, macOS ``._`` companions, synced hidden folders. Only real ``.xlsx``/``.xlsm``
files are kept, so a junk file never becomes an "unreadable workbook" in the report.
"""

from __future__ import annotations

import glob
import os
import stat
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cpor_excel.errors import NotAWorkbook

WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm"})
#: spreadsheets the tool cannot read: mentioned in the batch's output, so a partner's workbook in an old
#: format is not silently left out
OTHER_SPREADSHEETS = {
    ".xls": "an Excel 97-2003 .xls",
    ".xlsb": "a binary .xlsb",
    ".ods": "an OpenDocument .ods",
}
_GLOB_CHARS = frozenset("*?[")


@dataclass
class Discovery:
    """The workbooks found (absolute paths, deterministic order) and what was passed over, with why."""

    workbooks: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def is_workbook_name(name: str) -> bool:
    """A name a partner's workbook can have: .xlsx/.xlsm, not an owner, temporary or hidden file."""
    if name.startswith(("~", ".")):  # ~$ owner files, ~WRL temp files, .~lock (LibreOffice), ._ (macOS)
        return False
    return Path(name).suffix.lower() in WORKBOOK_SUFFIXES


def _is_hidden_folder(name: str) -> bool:
    return name.startswith(".") or name == "__pycache__"


def _walk(folder: Path, skipped: dict[str, tuple[Path, str]]) -> Iterable[Path]:
    for root, dirs, files in os.walk(folder):
        # pruning in place stops os.walk descending into hidden folders (.git, .sync, .Trash)
        dirs[:] = [d for d in dirs if not _is_hidden_folder(d)]
        for name in files:
            if is_workbook_name(name):
                yield Path(root) / name
            elif not name.startswith(("~", ".")) and Path(name).suffix.lower() in OTHER_SPREADSHEETS:
                path = Path(root) / name
                skipped.setdefault(_key(path), (path.absolute(), _other_format(path)))


def _other_format(path: Path) -> str:
    kind = OTHER_SPREADSHEETS[path.suffix.lower()]
    return f"{kind} file, which cpor-excel cannot read: save it as .xlsx to include it"


def _expand(argument: str) -> list[Path]:
    if any(ch in argument for ch in _GLOB_CHARS) and not Path(argument).exists():
        # shells on Windows do not expand patterns, so the tool does; "**" reaches into subfolders
        matches = sorted(glob.glob(argument, recursive=True))
        if not matches:
            raise NotAWorkbook(f"nothing matches {argument!r}: check the pattern or give the folder itself.")
        return [Path(m) for m in matches]
    path = Path(argument)
    if not path.exists():
        raise NotAWorkbook(
            f"{argument} does not exist: give a folder, a workbook or a pattern such as share/*.xlsx."
        )
    return [path]


def discover(paths: Iterable[str | os.PathLike[str]], exclude: Iterable[Path] = ()) -> Discovery:
    """Find the workbooks under ``paths`` (folders, files, globs); ``exclude`` drops given files (the batch
    report itself when it is written into the scanned folder).

    Order is by path, compared case-insensitively, so the same share gives the same order on every
    machine. A path that does not exist, or a pattern that matches nothing, stops the batch before any work
    (:class:`NotAWorkbook`): a typo should not silently shrink the batch.
    """
    excluded = {_key(p) for p in exclude}
    found: dict[str, list[Path]] = {}
    skipped: dict[str, tuple[Path, str]] = {}
    for argument in paths:
        for path in _expand(os.fspath(argument)):
            if path.is_dir():
                candidates = list(_walk(path, skipped))
            elif is_workbook_name(path.name):
                candidates = [path]
            else:
                if path.name.startswith(("~", ".")):
                    reason = "Excel owner or temporary file"
                elif path.suffix.lower() in OTHER_SPREADSHEETS:
                    reason = _other_format(path)
                else:
                    reason = "not an .xlsx or .xlsm workbook"
                skipped.setdefault(_key(path), (path.absolute(), reason))
                continue
            for candidate in candidates:
                if not _regular(candidate):  # a FIFO would block the run that opens it; a folder is no book
                    reason = "not a regular file (a pipe, device or folder named like a workbook)"
                    skipped.setdefault(_key(candidate), (candidate.absolute(), reason))
                    continue
                key = _key(candidate)
                if key not in excluded:
                    found.setdefault(key, []).append(candidate.absolute())
    # one file under several names (hard links) runs once, under the name that sorts first
    ordered = sorted((min(names, key=_order) for names in found.values()), key=_order)
    return Discovery(ordered, sorted(skipped.values(), key=lambda s: str(s[0]).casefold()))


def _order(path: Path) -> tuple[str, str]:
    return str(path).casefold(), str(path)


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True  # the run says what is wrong with it


def _key(path: Path) -> str:
    """One workbook reached twice (a folder and a file inside it, through a symlink, or a hard link) is
    run once: the file's identity, else its resolved path."""
    try:
        info = os.stat(path)
    except OSError:
        return os.path.normcase(os.path.realpath(path))
    if info.st_ino == 0:  # a file system without inode numbers
        return os.path.normcase(os.path.realpath(path))
    return f"{info.st_dev}:{info.st_ino}"


def labels(workbooks: list[Path]) -> list[str]:
    """The name each workbook goes by in reports and in other workbooks' notes: its file name, or, when two
    workbooks of the batch share a file name (``a/cpor.xlsx``, ``b/cpor.xlsx``), its path relative to the
    folder they all share, so a conflict note always names one workbook."""
    names = [p.name for p in workbooks]
    seen = Counter(n.casefold() for n in names)
    if all(n == 1 for n in seen.values()):
        return names
    try:
        base = Path(os.path.commonpath([str(p.parent) for p in workbooks]))
    except ValueError:  # different drives on Windows: the full path is the only unique name
        return [p.as_posix() if seen[n.casefold()] > 1 else n for p, n in zip(workbooks, names, strict=True)]
    return [
        p.relative_to(base).as_posix() if seen[n.casefold()] > 1 else n
        for p, n in zip(workbooks, names, strict=True)
    ]

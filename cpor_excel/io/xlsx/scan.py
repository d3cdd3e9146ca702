"""Byte-level passes over XML parts: the UTF-8 view of a part and windowed regex searches.

The xlsx engine works on the XML bytes with C-speed passes (regex, split, find) instead of parsing; these are
the helpers those passes share.
"""

from __future__ import annotations

import re

# --- helpers ---------------------------------------------------------------------------------------------


#: long byte scans are cut into windows of this size: a regex search holds the GIL until it returns, and
#: the threads of the reader (calamine) and the writer (deflate) need it now and then
_SCAN_WINDOW = 4 * 1024**2


def search_windows(
    pattern: re.Pattern[bytes],
    data: bytes,
    start: int = 0,
    end: int | None = None,
    reach: int = 64,
    boundary: bytes | None = None,
) -> re.Match[bytes] | None:
    """``pattern.search(data, start, end)``, window by window. A match may look at most ``reach`` bytes
    past its start (a window is searched that much further; what starts there is the next window's);
    with a ``boundary`` no match crosses, windows end right after one instead."""
    end = len(data) if end is None else end
    at = start
    while at < end:
        stop = min(end, at + _SCAN_WINDOW)
        if boundary is not None:
            cut = data.find(boundary, stop, end)
            stop = end if cut < 0 else cut + len(boundary)
            found = pattern.search(data, at, stop)
        else:
            found = pattern.search(data, at, min(end, stop + reach))
        if found is not None and found.start() < stop:
            return found
        at = stop
    return None


def utf8_xml(data: bytes) -> bytes:
    """The part as UTF-8 bytes: OPC allows UTF-16 parts, which byte-level edits cannot handle."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
        text = data.decode("utf-16")
        text = re.sub(r'(<\?xml[^>]*encoding=["\'])[Uu][Tt][Ff]-?16', r"\1UTF-8", text, count=1)
        return text.encode("utf-8")
    return data


def columns_up_to(count: int) -> bytes:
    """A regex matching the letters of columns 1..count (``E`` -> ``(?:[A-D]|E)``)."""
    letters, n = "", count
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    options = [b"[A-Z]{1,%d}" % (len(letters) - 1)] if len(letters) > 1 else []
    for i, ch in enumerate(letters):
        if ch > "A":
            rest = b"[A-Z]{%d}" % (len(letters) - i - 1) if len(letters) - i - 1 else b""
            options.append(letters[:i].encode() + b"[A-" + chr(ord(ch) - 1).encode() + b"]" + rest)
    options.append(letters.encode())
    return b"(?:" + b"|".join(options) + b")"

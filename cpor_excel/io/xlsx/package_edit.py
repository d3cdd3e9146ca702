"""The bookkeeping of one save: parts replaced, added and dropped, their content types and relationships.

New parts get names no entry (and no stale ``[Content_Types].xml`` Override) already claims; relationships
are added to a part's ``.rels`` (made when missing); ``[Content_Types].xml`` changes only when a part is
added or dropped.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

from cpor_excel.errors import NotAWorkbook
from cpor_excel.io.xlsx.package import CONTENT_TYPES, Package, rels_part
from cpor_excel.io.xlsx.scan import utf8_xml

Chunks = Iterable[bytes]
RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
RELS_CT = "application/vnd.openxmlformats-package.relationships+xml"


def attr(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def insert_before(xml: bytes, root: bytes, items: list[str]) -> bytes:
    """Insert elements before the closing tag of the root element, in the root's namespace prefix."""
    close = re.search(rb"</([\w.-]+:)?" + root + rb">\s*$", xml)
    if close is None:
        raise NotAWorkbook(
            f"a package part ({root.decode()}) is damaged: open the workbook in Excel and save it."
        )
    prefix = (close.group(1) or b"").decode()
    block = "".join(item.replace("<", f"<{prefix}", 1) if prefix else item for item in items)
    return xml[: close.start()] + block.encode() + xml[close.start() :]


def relative_part(part: str, folder: str) -> str:
    """``part`` as a relationship target from ``folder`` (``posixpath.relpath``, which makes both absolute
    from the working directory first: a part in ``folder`` is just the rest of its name)."""
    if folder and part.startswith(f"{folder}/") and posixpath.normpath(part) == part:
        return part[len(folder) + 1 :]
    return posixpath.relpath(part, folder or ".")


class PackageEdit:
    def __init__(self, package: Package) -> None:
        self.package = package
        self.replaced: dict[str, tuple[Chunks, int]] = {}
        self.added: list[tuple[str, Chunks, int]] = []
        self.dropped: set[str] = set()
        self._overrides: list[str] = []
        self._gone: set[str] = set()
        self._rels: dict[str, list[str]] = {}  # source part -> new Relationship elements
        self._unrelated: dict[str, set[str]] = {}  # source part -> ids of relationships that go
        self._rids: dict[str, set[str]] = {}
        self._types_name = package.find(CONTENT_TYPES) or CONTENT_TYPES
        self._types = utf8_xml(package.read(self._types_name))
        self._taken = {info.filename.casefold() for info in package.infos}
        self._taken |= {
            name.decode("utf-8", "replace").lstrip("/").casefold()
            for name in re.findall(rb'PartName="([^"]+)"', self._types)
        }

    def name(self, folder: str, stem: str) -> str:
        """A free part name ``folder/stemN.xml`` (N from 1)."""
        start = posixpath.join(folder, stem)  # (joined once: a batch names a dozen parts per workbook)
        number = 1
        while f"{start}{number}.xml".casefold() in self._taken:
            number += 1
        part = f"{start}{number}.xml"
        self._taken.add(part.casefold())
        return part

    def add(self, part: str, chunks: Chunks, level: int, content_type: str) -> None:
        self.added.append((part, chunks, level))
        self._overrides.append(f'<Override PartName="/{attr(part)}" ContentType="{content_type}"/>')

    def drop(self, part: str) -> None:
        """Leave a part out of the new package (its relationships part and content type too)."""
        self.dropped.add(part)
        rels = self.package.find(rels_part(part))
        if rels is not None:
            self.dropped.add(rels)
        self._gone.add("/" + part)

    def relate(self, source: str, rel_type: str, target: str) -> str:
        """A new relationship from ``source`` to part ``target``; returns its id."""
        taken = self._rids.get(source)
        if taken is None:
            pkg = self.package
            # (the workbook's relationships were read when the package was opened)
            known = pkg.rels if source == pkg.workbook else None
            taken = self._rids[source] = (
                set(known if known is not None else pkg.relationships(source))
                if source in self._exists()
                else set()
            )
        number = len(taken) + 1
        while f"rId{number}" in taken:
            number += 1
        rid = f"rId{number}"
        taken.add(rid)
        relative = relative_part(target, posixpath.dirname(source))
        self._rels.setdefault(source, []).append(
            f'<Relationship Id="{rid}" Type="{attr(rel_type)}" Target="{attr(relative)}"/>'
        )
        return rid

    def unrelate(self, source: str, rid: str) -> None:
        """Remove relationship ``rid`` of ``source`` (its target is dropped)."""
        self._unrelated.setdefault(source, set()).add(rid)

    def _exists(self) -> set[str]:
        return {info.filename for info in self.package.infos}

    def finish(self) -> None:
        """Write the relationships and content types the edits need."""
        for source in {*self._rels, *self._unrelated}:
            items = self._rels.get(source, [])
            name = rels_part(source)
            existing = self.package.find(name) if source in self._exists() else None
            if existing is not None and existing not in self.dropped:
                xml = utf8_xml(self.package.read(existing))
                for rid in self._unrelated.get(source, ()):
                    relationship = rb'<(?:[\w.-]+:)?Relationship\b[^>]*?\bId="%s"[^>]*/>' % re.escape(
                        rid.encode()
                    )
                    xml = re.sub(relationship, b"", xml)
                self.replaced[existing] = ([insert_before(xml, b"Relationships", items) if items else xml], 6)
            else:
                xml = (
                    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                    f'<Relationships xmlns="{RELS_NS}">' + "".join(items) + "</Relationships>"
                ).encode()
                self.added.append((name, [xml], 6))
                if not re.search(rb'<(?:[\w.-]+:)?Default\b[^>]*?Extension="rels"', self._types, re.I):
                    # (a package that names every part, .rels parts included, by an Override)
                    self._overrides.append(f'<Override PartName="/{attr(name)}" ContentType="{RELS_CT}"/>')
        if self._overrides or self._gone:
            types = self._types
            if self._gone:
                types = re.sub(
                    rb'<(?:[\w.-]+:)?Override\b[^>]*?PartName="([^"]+)"[^>]*/>',
                    lambda m: b"" if m.group(1).decode("utf-8", "replace") in self._gone else m.group(),
                    types,
                )
            if self._overrides:
                types = insert_before(types, b"Types", self._overrides)
            self.replaced[self._types_name] = ([types], 6)

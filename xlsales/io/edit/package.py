"""A workbook package opened for editing: parts read, replaced, added or dropped, then
saved with only the changed parts written (the others copied as stored).

Also the two package-level indexes every edit touches: ``[Content_Types].xml`` and the
relationship parts (``_rels/*.rels``). Both are small, machine-written lists; they are
parsed (through defusedxml) and written back whole when they change.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import posixpath
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from xlsales.errors import OPEN, READ, WORKBOOK, WorkbookError, cannot
from xlsales.i18n import Label
from xlsales.io import guard
from xlsales.io.atomic import atomic_path
from xlsales.io.codec import deflate, inflate
from xlsales.io.edit.zipwriter import ZipRewriter
from xlsales.io.safety import CheckedZip
from xlsales.io.xmltext import escape, quoteattr

CT_PART = "[Content_Types].xml"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL_WORKSHEET = f"{DOC_REL}/worksheet"
REL_TABLE = f"{DOC_REL}/table"
REL_COMMENTS = f"{DOC_REL}/comments"
REL_VML = f"{DOC_REL}/vmlDrawing"
REL_HYPERLINK = f"{DOC_REL}/hyperlink"
CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_TABLE = "application/vnd.openxmlformats-officedocument.spreadsheetml.table+xml"
CT_COMMENTS = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
CT_VML = "application/vnd.openxmlformats-officedocument.vmlDrawing"
XML_DECL = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

Content = bytes | Callable[[], Iterable[bytes]]


def rels_part(part: str) -> str:
    """The relationship part of ``part`` (``xl/_rels/workbook.xml.rels``)."""
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{name}.rels")


def resolve(source: str, target: str) -> str:
    """A relationship target of ``source`` as a part name."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def relative(source: str, part: str) -> str:
    """The target of ``part`` as written in a relationship of ``source``."""
    return posixpath.relpath(part, posixpath.dirname(source))


def _parse(data: bytes, what: str) -> object:
    from defusedxml import ElementTree as SafeET
    from defusedxml.common import DefusedXmlException

    try:
        return SafeET.fromstring(data)
    except (DefusedXmlException, SafeET.ParseError, LookupError, ValueError) as exc:
        raise WorkbookError(cannot(READ, Label(what, what), exc)) from exc  # LookupError: encoding


@dataclass
class Relationship:
    """One relationship of a part."""

    id: str
    type: str
    target: str
    external: bool = False


class Rels:
    """The relationships of one part, in their order."""

    def __init__(self, owner: str, items: list[Relationship]) -> None:
        self.owner = owner
        self.items = items
        self.changed = False

    @classmethod
    def parse(cls, owner: str, data: bytes | None) -> Rels:
        items: list[Relationship] = []
        if data:
            root = _parse(data, rels_part(owner))
            for el in root.iter(f"{{{PKG_REL}}}Relationship"):  # type: ignore[attr-defined]
                items.append(Relationship(el.get("Id", ""), el.get("Type", ""),
                                          el.get("Target", ""),
                                          el.get("TargetMode") == "External"))
        return cls(owner, items)

    def of_type(self, rel_type: str) -> list[Relationship]:
        return [r for r in self.items if r.type == rel_type]

    def get(self, rel_id: str) -> Relationship | None:
        return next((r for r in self.items if r.id == rel_id), None)

    def part(self, rel_id: str) -> str | None:
        """The part a relationship points at (None for external or unknown ids)."""
        r = self.get(rel_id)
        return None if r is None or r.external else resolve(self.owner, r.target)

    def add(self, rel_type: str, part: str, *, external: bool = False) -> str:
        """A new relationship to ``part`` (or an external target); its id."""
        used = {r.id for r in self.items}
        n = len(self.items) + 1
        while f"rId{n}" in used:
            n += 1
        target = part if external else relative(self.owner, part)
        self.items.append(Relationship(f"rId{n}", rel_type, target, external))
        self.changed = True
        return f"rId{n}"

    def remove(self, rel_id: str) -> None:
        self.items = [r for r in self.items if r.id != rel_id]
        self.changed = True

    def to_bytes(self) -> bytes:
        out = [XML_DECL, f'<Relationships xmlns="{PKG_REL}">'.encode()]
        for r in self.items:
            mode = ' TargetMode="External"' if r.external else ""
            out.append(f"<Relationship Id={quoteattr(r.id)} Type={quoteattr(r.type)} "
                       f"Target={quoteattr(r.target)}{mode}/>".encode())
        out.append(b"</Relationships>")
        return b"".join(out)


class ContentTypes:
    """``[Content_Types].xml``: defaults by extension and overrides by part."""

    NS = "http://schemas.openxmlformats.org/package/2006/content-types"

    def __init__(self, data: bytes) -> None:
        root = _parse(data, CT_PART)
        self.defaults: list[tuple[str, str]] = []
        self.overrides: list[tuple[str, str]] = []
        for el in root:  # type: ignore[attr-defined]
            tag = el.tag.rsplit("}", 1)[-1]
            if tag == "Default":
                self.defaults.append((el.get("Extension", ""), el.get("ContentType", "")))
            elif tag == "Override":
                self.overrides.append((el.get("PartName", ""), el.get("ContentType", "")))
        self.changed = False

    def of(self, part: str) -> str | None:
        name = "/" + part
        for p, ct in self.overrides:
            if p == name:
                return ct
        ext = part.rsplit(".", 1)[-1].lower()
        return next((ct for e, ct in self.defaults if e.lower() == ext), None)

    def set(self, part: str, content_type: str) -> None:
        name = "/" + part
        if (name, content_type) in self.overrides:
            return
        self.overrides = [(p, ct) for p, ct in self.overrides if p != name]
        self.overrides.append((name, content_type))
        self.changed = True

    def ensure_default(self, extension: str, content_type: str) -> None:
        if not any(e.lower() == extension for e, _ in self.defaults):
            self.defaults.append((extension, content_type))
            self.changed = True

    def drop(self, part: str) -> None:
        name = "/" + part
        if any(p == name for p, _ in self.overrides):
            self.overrides = [(p, ct) for p, ct in self.overrides if p != name]
            self.changed = True

    def to_bytes(self) -> bytes:
        out = [XML_DECL, f'<Types xmlns="{self.NS}">'.encode()]
        out += [f"<Default Extension={quoteattr(e)} ContentType={quoteattr(ct)}/>".encode()
                for e, ct in self.defaults]
        out += [f"<Override PartName={quoteattr(p)} ContentType={quoteattr(ct)}/>".encode()
                for p, ct in self.overrides]
        out.append(b"</Types>")
        return b"".join(out)


class PackageEdit:
    """A workbook opened for editing. Parts are read on demand; :meth:`save` writes the
    changed ones and copies every other part as it is stored in the source (``data``:
    the source's bytes, for a package made in memory and saved to ``path``)."""

    def __init__(self, path: str | Path, data: bytes | None = None) -> None:
        self.path = Path(path)
        if data is None:  # the reader's safety check: both accept exactly the same files
            from xlsales.io.safety import check_workbook

            check_workbook(self.path)
        try:
            self.zf = CheckedZip(io.BytesIO(data) if data is not None else self.path, str(path))
        except (zipfile.BadZipFile, OSError) as exc:
            raise WorkbookError(cannot(OPEN, WORKBOOK, exc), file=str(path)) from exc
        if data is None:  # what the edit starts from: a save by someone else after this
            guard.check_as_seen(self.path)  # (or since the command read it) is caught
            guard.remember(self.path)
        self.infos = {i.filename: i for i in self.zf.infolist()}
        self._changed: dict[str, Content] = {}
        self._deleted: set[str] = set()
        self._rels: dict[str, Rels] = {}
        if CT_PART not in self.infos:
            raise WorkbookError(Label("工作簿缺少 [Content_Types].xml 部件（文件已损坏）",
                                      "the workbook has no [Content_Types].xml part (the file "
                                      "is damaged)"), file=str(path))
        with self._named():
            self.content_types = ContentTypes(self.zf.read(CT_PART))

    @contextlib.contextmanager
    def _named(self) -> Iterator[None]:
        """A part that cannot be read names this workbook."""
        try:
            yield
        except WorkbookError as exc:
            if exc.file is not None:
                raise
            raise WorkbookError(exc.label, file=str(self.path)) from exc

    def close(self) -> None:
        self.zf.close()

    # -- parts -------------------------------------------------------------------------

    def exists(self, part: str) -> bool:
        return part not in self._deleted and (part in self._changed or part in self.infos)

    def read(self, part: str) -> bytes:
        """The current content of ``part``."""
        if part in self._deleted:
            raise KeyError(part)
        if part in self._changed:
            content = self._changed[part]
            return content if isinstance(content, bytes) else b"".join(content())
        try:
            return self.zf.read(part)
        except (zipfile.BadZipFile, zlib.error) as exc:
            raise WorkbookError(cannot(READ, Label(f"部件 {part}", f"the part {part}"), exc),
                                file=str(self.path)) from exc

    def version(self, part: str) -> object:
        """What holds ``part``'s current content: None while it is as stored; another
        object each time it is put (for caches of what was read from a part)."""
        return self._changed.get(part)

    def is_changed(self, part: str) -> bool:
        """Whether ``part`` was replaced, added or dropped."""
        return part in self._changed or part in self._deleted

    def open(self, part: str) -> Iterable[bytes]:
        """The current content of ``part`` in chunks (for streaming rewrites)."""
        if part in self._changed:
            content = self._changed[part]
            yield from ([content] if isinstance(content, bytes) else content())
        else:
            yield from self.stored(part)

    def stored(self, part: str) -> Iterable[bytes]:
        """The content of ``part`` as stored in the source file, in chunks."""
        with self.zf.open(part) as fh:
            while chunk := fh.read(1 << 18):
                yield chunk

    def head(self, part: str, marker: bytes, limit: int = 1 << 20) -> bytes:
        """The start of ``part`` up to ``marker`` (read in small chunks; at most ``limit``
        bytes, for the sheet properties and views in front of a large sheet's rows)."""
        out = b""
        if part in self._changed:
            content = self._changed[part]
            if isinstance(content, bytes):
                at = content.find(marker)
                return content if at < 0 else content[:at]
            if isinstance(content, _DeflatedAhead) and (at := content.lead.find(marker)) >= 0:
                return content.lead[:at]  # (no wait for the deflate, no inflating)
            for chunk in content():  # a streamed rewrite: only as far as the marker
                out += chunk
                at = out.find(marker, max(0, len(out) - len(chunk) - len(marker)))
                if at >= 0:
                    return out[:at]
            return out
        with self.zf.open(part) as fh:
            while len(out) < limit:
                chunk = fh.read(1 << 16)
                if not chunk:
                    break
                out += chunk
                at = out.find(marker, max(0, len(out) - len(chunk) - len(marker)))
                if at >= 0:
                    return out[:at]
        return out

    def tail(self, part: str, marker: bytes = b"</sheetData>") -> bytes:
        """What follows the first ``marker`` in ``part`` (streamed: a large sheet's rows
        are read through, never held); all of it when the marker is missing."""
        keep = len(marker) - 1
        buf = b""
        chunks = iter(self.open(part))
        for chunk in chunks:
            buf = buf[-keep:] + chunk if keep else chunk
            at = buf.find(marker)
            if at >= 0:
                return buf[at + len(marker):] + b"".join(chunks)
        return self.read(part)

    def put(self, part: str, content: Content, content_type: str | None = None) -> None:
        """Replace or add ``part`` (bytes, or a function giving its chunks when saving).
        A large part given as bytes starts deflating in a worker thread at once, so the
        compression overlaps the caller's next work instead of adding to the save."""
        self._deleted.discard(part)
        if isinstance(content, bytes) and len(content) >= DEFLATE_AHEAD:
            content = _DeflatedAhead(content)  # only its compressed form is held
        self._changed[part] = content
        if content_type:
            self.content_types.set(part, content_type)

    def delete(self, part: str) -> None:
        """Drop ``part`` and its relationships part."""
        self._changed.pop(part, None)
        self._deleted.add(part)
        self.content_types.drop(part)
        rp = rels_part(part)
        if self.exists(rp):
            self._changed.pop(rp, None)
            self._deleted.add(rp)
        self._rels.pop(part, None)

    def unused(self, pattern: str) -> str:
        """The first free part name of ``pattern`` (``xl/worksheets/sheet{}.xml``)."""
        n = 1
        while self.exists(pattern.format(n)) or pattern.format(n) in self._deleted:
            n += 1
        return pattern.format(n)

    def parts(self, prefix: str = "") -> list[str]:
        names = [n for n in self.infos if n not in self._deleted] + [
            n for n in self._changed if n not in self.infos]
        return [n for n in names if n.startswith(prefix)]

    def rels(self, part: str) -> Rels:
        """The relationships of ``part`` (edited in place; saved with the package)."""
        if part not in self._rels:
            rp = rels_part(part)
            with self._named():
                self._rels[part] = Rels.parse(part, self.read(rp) if self.exists(rp) else None)
        return self._rels[part]

    # -- saving ------------------------------------------------------------------------

    def save(self, target: str | Path | None = None) -> Path:
        """Write the package to ``target`` (default: in place), atomically."""
        for owner, rels in self._rels.items():
            if rels.changed:
                self._changed[rels_part(owner)] = rels.to_bytes()
        if self.content_types.changed:
            self._changed[CT_PART] = self.content_types.to_bytes()
        target = Path(target) if target else self.path
        with atomic_path(target) as tmp, tmp.open("wb") as fh:
            zw = ZipRewriter(fh)
            for name, info in self.infos.items():
                if name in self._deleted:
                    continue
                if name in self._changed:
                    self._write(zw, name, self._changed[name], info.date_time)
                else:
                    zw.copy(self.zf, info)
            for name, content in self._changed.items():
                if name not in self.infos:
                    self._write(zw, name, content, None)
            zw.close()
        return target

    def _write(self, zw: ZipRewriter, name: str, content: Content,
               date_time: tuple[int, ...] | None) -> None:
        kw = {"date_time": date_time} if date_time else {}
        if isinstance(content, _DeflatedAhead):
            crc, deflated = content.result()
            zw.write_deflated(name, crc, content.size, deflated, **kw)
        elif isinstance(content, bytes):
            zw.write(name, content, **kw)
        else:
            zw.write_chunks(name, content(), **kw)

    def __enter__(self) -> PackageEdit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _DeflatedAhead:
    """A large part handed to a worker thread to deflate as soon as it is put: once that
    is done only the compressed form is held (the part's bytes are let go, so the parts
    of a big edit do not pile up until the save); read back, it is inflated again."""

    __slots__ = ("_future", "lead", "size")

    def __init__(self, content: bytes) -> None:
        self.size = len(content)
        self.lead = content[:LEAD]  # a sheet's properties and views: read without inflating
        self._future: Future[tuple[int, bytes]] = _deflater().submit(deflate, content)

    def result(self) -> tuple[int, bytes]:
        """(CRC-32, raw deflate stream)."""
        return self._future.result()

    def __call__(self) -> Iterator[bytes]:
        yield inflate(self.result()[1])


DEFLATE_AHEAD = 1 << 17  # bytes: parts this large are deflated ahead (see PackageEdit.put)
LEAD = 1 << 16  # bytes of such a part kept as they are, for :meth:`PackageEdit.head`
DEFLATE_THREADS = "xlsales-deflate"  # the names of the deflating threads start so


@functools.cache
def _deflater() -> ThreadPoolExecutor:
    """The worker threads that deflate parts ahead of a save (one per core; a process
    forked from this one starts its own: the parent's threads are not in the child)."""
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1,
                              thread_name_prefix=DEFLATE_THREADS)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_deflater.cache_clear)


_ATTR = re.compile(rb'(\w[\w:.-]*)="([^"]*)"')


def attrs(tag: bytes) -> dict[bytes, bytes]:
    """The attributes of an element's start tag (raw, still escaped)."""
    return dict(_ATTR.findall(tag))


def text(value: str) -> bytes:
    """``value`` escaped for XML character data."""
    return escape(value).encode("utf-8")

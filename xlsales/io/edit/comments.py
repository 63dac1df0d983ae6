"""Cell comments (notes) of a sheet: the comments part and its VML drawing, edited so
that the user's own notes keep their words and xlsales's lines can be replaced.

xlsales adds its lines to a note as text runs that start with a tag; a later run removes
exactly those runs (and the notes xlsales alone wrote). New note shapes get VML shape ids
no other shape of the workbook uses (buttons live in the same drawing in ``.xlsm``
files): ids come from an ``o:idmap`` block the drawing owns, or one nobody uses yet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from xlsales.cells import parse_ref
from xlsales.io.edit.cells import xml_text
from xlsales.io.read.package import unescape
from xlsales.io.xmltext import escape

SPREADSHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_COMMENT = re.compile(rb"<comment\b[^>]*?(?:/>|>.*?</comment>)", re.DOTALL)
_AUTHOR = re.compile(rb"<author>(.*?)</author>|<author/>", re.DOTALL)
_RUN = re.compile(rb"<r>.*?</r>", re.DOTALL)
_T = re.compile(rb"<t\b[^>]*>(.*?)</t>|<t\b[^>]*/>", re.DOTALL)
_SHAPE = re.compile(rb"<((?:[\w.-]+:)?)shape\b[^>]*>.*?</\1shape>", re.DOTALL)
_SHAPE_ID = re.compile(rb'\bid="_x0000_s(\d+)"')
_IDMAP = re.compile(rb'<(?:[\w.-]+:)?idmap\b[^>]*\bdata="([^"]*)"')
_XMLNS = re.compile(rb'\bxmlns:([\w.-]+)="([^"]*)"')
NOTE_TYPE = b"_x0000_t202"
VML_NS = {"v": b"urn:schemas-microsoft-com:vml", "o": b"urn:schemas-microsoft-com:office:office",
          "x": b"urn:schemas-microsoft-com:office:excel"}
SHAPE_TYPE = ('<{v}shapetype id="_x0000_t202" coordsize="21600,21600" {o}spt="202" '
              'path="m,l,21600r21600,l21600,xe"><{v}stroke joinstyle="miter"/>'
              '<{v}path gradientshapeok="t" {o}connecttype="rect"/></{v}shapetype>')


def _prefixes(vml: bytes) -> tuple[bytes, dict[str, str]]:
    """``vml`` with the VML, Office and Excel namespaces declared on its root, and the
    prefix (``"v:"``) each is written with. Drawings written by other tools bind them to
    other prefixes (openpyxl: ``ns0``…)."""
    root = re.search(rb"<xml\b[^>]*>", vml)
    declared = {uri: prefix.decode() for prefix, uri in _XMLNS.findall(root.group())} \
        if root else {}
    out: dict[str, str] = {}
    extra = b""
    for key, uri in VML_NS.items():
        if uri in declared:
            out[key] = declared[uri] + ":"
        else:
            name = key if key.encode() not in {p.encode() for p in declared.values()} \
                else f"xs{key}"
            extra += b' xmlns:' + name.encode() + b'="' + uri + b'"'
            out[key] = name + ":"
    if extra and root:
        vml = vml[:root.start() + 4] + extra + vml[root.start() + 4:]
    return vml, out


def other_shapes(vml: bytes) -> bool:
    """Whether the drawing has shapes other than notes (form buttons, …)."""
    return any(b'ObjectType="Note"' not in m.group() for m in _SHAPE.finditer(vml))


def block_ids(vml: bytes) -> set[int]:
    """The ``o:idmap`` blocks of a VML drawing (each block holds 1024 shape ids)."""
    out: set[int] = set()
    for m in _IDMAP.finditer(vml):
        out |= {int(x) for x in re.findall(rb"\d+", m.group(1))}
    return out


def shape_ids(vml: bytes) -> list[int]:
    return [int(x) for x in _SHAPE_ID.findall(vml)]


@dataclass
class Note:
    """A note of a cell: its raw XML when unchanged, its author and text runs."""

    ref: str
    author: str
    runs: list[bytes]
    raw: bytes | None = None


@dataclass
class Notes:
    """The notes of one sheet, and where they are drawn."""

    head: bytes  # the comments part up to <authors>
    authors: list[str]
    notes: list[Note]
    vml: bytes | None
    used_blocks: set[int]  # idmap blocks of other drawings in the workbook
    used_ids: set[int]  # shape ids of other drawings
    changed: bool = False
    _drawn: dict[str, bytes] = field(default_factory=dict)
    _index: dict[str, Note] = field(default_factory=dict)  # ref → first note there
    _indexed: tuple[int, int] = (0, -1)  # id() and length of the list indexed

    @classmethod
    def parse(cls, comments: bytes | None, vml: bytes | None, used_blocks: set[int],
              used_ids: set[int]) -> Notes:
        if comments is None:
            head = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                    f'<comments xmlns="{SPREADSHEET_NS}">').encode()
            return cls(head, [], [], vml, used_blocks, used_ids)
        start = comments.find(b"<authors")
        head = comments[:start] if start >= 0 else comments[:comments.find(b">",
                                                             comments.find(b"<comments")) + 1]
        authors = [unescape(m.group(1).decode()) if m.group(1) is not None else ""
                   for m in _AUTHOR.finditer(comments)]
        notes = []
        for m in _COMMENT.finditer(comments):
            el = m.group()
            ref = re.search(rb'\bref="([^"]*)"', el)
            author = re.search(rb'\bauthorId="(\d+)"', el)
            runs = _RUN.findall(el)
            if not runs:  # a plain <text><t>…</t></text>
                t = _T.search(el)
                runs = [b"<r>" + t.group() + b"</r>"] if t else []
            a = int(author.group(1)) if author else 0
            notes.append(Note(ref.group(1).decode() if ref else "",
                              authors[a] if a < len(authors) else "", runs, el))
        return cls(head, authors, notes, vml, used_blocks, used_ids)

    def get(self, ref: str) -> Note | None:
        if self._indexed != (id(self.notes), len(self.notes)):
            self._index = {}
            for n in self.notes:
                self._index.setdefault(n.ref, n)
            self._indexed = (id(self.notes), len(self.notes))
        return self._index.get(ref)

    def text(self, ref: str) -> str | None:
        note = self.get(ref)
        return None if note is None else _run_text(note.runs)

    def drop_tagged(self, tag: str, author: str) -> None:
        """Remove every run that starts with ``tag`` (xlsales's lines), and the notes
        ``author`` wrote that are left empty."""
        keep = []
        for note in self.notes:
            runs = [r for r in note.runs if not _run_text([r]).lstrip("\n").startswith(tag)]
            if len(runs) != len(note.runs):
                self.changed = True
                note.raw = None
                if runs and note.author == author and not _run_text(runs).strip():
                    runs = []
                note.runs = runs
            if note.runs:
                keep.append(note)
            else:
                self.changed = True
        self.notes = keep

    def add(self, ref: str, text: str, author: str) -> None:
        """Append ``text`` to the note of ``ref`` (a new note by ``author`` when none)."""
        note = self.get(ref)
        run = _run(text if note is None else "\n" + text)
        if note is None:
            note = Note(ref, author, [run])
            self.get(ref)  # the index is current
            self.notes.append(note)
            self._index[ref] = note
            self._indexed = (id(self.notes), len(self.notes))
        else:
            note.runs.append(run)
            note.raw = None
        self.changed = True

    # -- writing -----------------------------------------------------------------------------

    def comments_xml(self) -> bytes:
        authors = list(self.authors)
        for n in self.notes:
            if n.author not in authors:
                authors.append(n.author)
        out = [self.head, b"<authors>"]
        out += [f"<author>{escape(a)}</author>".encode() for a in authors]
        out.append(b"</authors><commentList>")
        order = sorted(self.notes, key=lambda n: parse_ref(n.ref))
        for n in order:
            if n.raw is not None and authors[:len(self.authors)] == self.authors:
                out.append(n.raw)
                continue
            out.append(f'<comment ref="{n.ref}" authorId="{authors.index(n.author)}"><text>'
                       .encode() + b"".join(n.runs) + b"</text></comment>")
        out.append(b"</commentList></comments>")
        return b"".join(out)

    def vml_xml(self) -> bytes:
        """The drawing with a note shape for every note, and nothing else changed."""
        vml = self.vml or _empty_vml(self._new_block())
        refs = {parse_ref(n.ref) for n in self.notes}
        dropped = []
        drawn: set[tuple[int, int]] = set()
        for m in _SHAPE.finditer(vml):
            shape = m.group()
            if b'ObjectType="Note"' not in shape:
                continue
            at = _anchor(shape)
            if at in refs and at not in drawn:
                drawn.add(at)
            else:
                dropped.append(m.span())  # a note shape without its note
        for start, end in reversed(dropped):
            vml = vml[:start] + vml[end:]
        new = sorted(refs - drawn)
        if not new:
            return vml
        vml, ns = _prefixes(vml)
        if NOTE_TYPE not in vml:
            vml = _before_end(vml, SHAPE_TYPE.format(**ns).encode())
        ids = self._free_ids(vml, len(new))
        while not ids:  # 1,024 shape ids per block: as many blocks as the notes need
            vml = _add_block(vml, self._new_block(), ns)
            ids = self._free_ids(vml, len(new))
        shapes = b"".join(_note_shape(i, r, c, ns) for i, (r, c) in zip(ids, new, strict=True))
        return _before_end(vml, shapes)

    def _new_block(self) -> int:
        block = 1
        mine = block_ids(self.vml) if self.vml else set()
        while block in self.used_blocks or block in mine:
            block += 1
        self.used_blocks.add(block)
        return block

    def _free_ids(self, vml: bytes, n: int) -> list[int]:
        """``n`` shape ids from this drawing's blocks that no shape of the workbook has."""
        taken = set(self.used_ids) | set(shape_ids(vml))
        out = []
        for block in sorted(block_ids(vml)):
            # as Excel numbers them: block n holds n*1024+1 … n*1024+1023
            for i in range(block * 1024 + 1, block * 1024 + 1024):
                if i not in taken:
                    out.append(i)
                    if len(out) == n:
                        return out
        return out if len(out) == n else []


def _run(text: str) -> bytes:
    return (b'<r><rPr><sz val="9"/><color indexed="81"/><rFont val="Tahoma"/>'
            b'<family val="2"/></rPr><t xml:space="preserve">'
            + xml_text(text).encode() + b"</t></r>")


def _run_text(runs: list[bytes]) -> str:
    return "".join(unescape((t.group(1) or b"").decode()) for r in runs for t in _T.finditer(r))


def _anchor(shape: bytes) -> tuple[int, int] | None:
    r = re.search(rb"<(?:[\w.-]+:)?Row>\s*(\d+)\s*<", shape)
    c = re.search(rb"<(?:[\w.-]+:)?Column>\s*(\d+)\s*<", shape)
    return (int(r.group(1)), int(c.group(1))) if r and c else None


def _before_end(vml: bytes, xml: bytes) -> bytes:
    at = vml.rfind(b"</xml>")
    return vml[:at] + xml + vml[at:] if at >= 0 else vml + xml


def _empty_vml(block: int) -> bytes:
    ns = {k: f"{k}:" for k in VML_NS}
    return (b'<xml xmlns:v="urn:schemas-microsoft-com:vml" '
            b'xmlns:o="urn:schemas-microsoft-com:office:office" '
            b'xmlns:x="urn:schemas-microsoft-com:office:excel">'
            b'<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="'
            + str(block).encode() + b'"/></o:shapelayout>'
            + SHAPE_TYPE.format(**ns).encode() + b"</xml>")


def _add_block(vml: bytes, block: int, ns: dict[str, str]) -> bytes:
    m = _IDMAP.search(vml)
    if m is None:
        layout = (f'<{ns["o"]}shapelayout {ns["v"]}ext="edit"><{ns["o"]}idmap '
                  f'{ns["v"]}ext="edit" data="{block}"/></{ns["o"]}shapelayout>')
        root = re.search(rb"<xml\b[^>]*>", vml)
        at = root.end() if root else 0
        return vml[:at] + layout.encode() + vml[at:]
    data = m.group(1) + b"," + str(block).encode()
    return vml[:m.start(1)] + data + vml[m.end(1):]


def _note_shape(shape_id: int, row: int, col: int, ns: dict[str, str]) -> bytes:
    v, o, x = ns["v"], ns["o"], ns["x"]
    anchor = f"{col + 1}, 15, {max(row - 1, 0)}, 10, {col + 4}, 15, {row + 3}, 4"
    return (f'<{v}shape id="_x0000_s{shape_id}" type="#_x0000_t202" '
            f'style="position:absolute;margin-left:80pt;margin-top:2pt;width:240pt;'
            f'height:80pt;z-index:{shape_id % 1024};visibility:hidden" fillcolor="#ffffe1" '
            f'{o}insetmode="auto"><{v}fill color2="#ffffe1"/><{v}shadow color="black" '
            f'obscured="t"/><{v}path {o}connecttype="none"/><{v}textbox '
            f'style="mso-direction-alt:auto"><div style="text-align:left"></div></{v}textbox>'
            f'<{x}ClientData ObjectType="Note"><{x}MoveWithCells/><{x}SizeWithCells/>'
            f"<{x}Anchor>{anchor}</{x}Anchor><{x}AutoFill>False</{x}AutoFill>"
            f"<{x}Row>{row}</{x}Row><{x}Column>{col}</{x}Column></{x}ClientData></{v}shape>"
            ).encode()

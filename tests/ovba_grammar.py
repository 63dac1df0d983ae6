"""A reader of VBA project streams written from the MS-OVBA specification, for tests.

It shares no code with :mod:`xlsales.vba`: the ``PROJECT`` stream is parsed against the
ABNF of MS-OVBA 2.3.1.1 (one regular expression per rule, the rules in the order the
grammar gives them), the ``dir`` stream record by record against 2.3.4.2 (every id,
every size, every reserved value), ``PROJECTwm`` against 2.3.3, and ``CMG``/``DPB``/``GC``
are decrypted per 2.4.3.3. A violation raises :class:`GrammarError` naming the rule.
Decompression (2.4.1) is oletools', opening the compound file olefile's.
"""

from __future__ import annotations

import io
import re
import struct
from dataclasses import dataclass, field

import olefile
from oletools.olevba import decompress_stream


class GrammarError(AssertionError):
    """The stream breaks a rule of MS-OVBA."""


def _need(ok: bool, rule: str, detail: str = "") -> None:
    if not ok:
        raise GrammarError(f"{rule}: {detail}" if detail else rule)


# -- PROJECT (2.3.1) ------------------------------------------------------------------------

NWLN = "\r\n"  # NWLN = (CR LF) / (LF CR); Excel writes CR LF
_HEX8 = r"&H[0-9A-Fa-f]{8}"
_GUID = r"\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}"
_IDENT = r"[A-Za-z][A-Za-z0-9_]{0,30}"  # ModuleIdentifier (VBA identifiers, 31 chars)
_PATH = r'[^"\r\n]{0,259}'
# Each rule of VBAPROJECTText as (name, pattern of one line, required).
_ITEM = re.compile(rf"(Document)=({_IDENT})/({_HEX8})|(Module|Class|BaseClass)=({_IDENT})"
                   rf"|(Package)=({_GUID})")
_RULES: tuple[tuple[str, str, bool], ...] = (
    ("ProjectHelpFile", rf'HelpFile="({_PATH})"', False),
    ("ProjectExeName32", rf'ExeName32="({_PATH})"', False),
    ("ProjectName", r'Name="([^"\r\n]{1,128})"', True),
    ("ProjectHelpId", r'HelpContextID="(\d{1,10})"', True),
    ("ProjectDescription", r'Description="([^"\r\n]{0,2000})"', False),
    ("ProjectVersionCompat32", r'VersionCompatible32="(393222000)"', False),
    ("ProjectProtectionState", r'CMG="([0-9A-F]{22,28})"', True),
    ("ProjectPassword", r'DPB="([0-9A-F]{16,})"', True),
    ("ProjectVisibilityState", r'GC="([0-9A-F]{16,22})"', True),
)
_HOST_EXTENDER = re.compile(rf"({_HEX8})=({_GUID});(\w{{1,31}});({_HEX8})")
_WINDOW = r"-?\d+, -?\d+, -?\d+, -?\d+, [CZI]{0,3}"
_WORKSPACE = re.compile(rf"({_IDENT})=({_WINDOW})(?:, ({_WINDOW}))?")


@dataclass
class ProjectText:
    """The parsed ``PROJECT`` stream."""

    project_id: str
    items: list[tuple[str, str]]  # (kind, name): Document, Module, Class, BaseClass, Package
    doc_tlib_versions: dict[str, str]
    properties: dict[str, str]  # rule name → value, in stream order
    host_extenders: list[tuple[str, str, str, str]]
    workspace: list[tuple[str, str]]
    order: list[str] = field(default_factory=list)  # the rules met, in order


def parse_project(raw: bytes, codepage: str = "cp1252") -> ProjectText:
    """Parse ``raw`` (the ``PROJECT`` stream) against MS-OVBA 2.3.1.1."""
    text = raw.decode(codepage)
    _need(text.endswith(NWLN), "NWLN", "the stream does not end with CR LF")
    _need("\n" not in text.replace(NWLN, ""), "NWLN", "a line ends without CR LF")
    lines = text[:-len(NWLN)].split(NWLN)
    pos = 0

    def line() -> str:
        _need(pos < len(lines), "VBAPROJECTText", "the stream ends early")
        return lines[pos]

    m = re.fullmatch(rf'ID="({_GUID})"', line())
    _need(m is not None, "ProjectId", f"first line is {line()!r}")
    assert m is not None
    project_id = m.group(1)
    pos += 1
    items: list[tuple[str, str]] = []
    tlib: dict[str, str] = {}
    order = ["ProjectId"]
    while pos < len(lines) and (m := _ITEM.fullmatch(lines[pos])):
        if m.group(1):
            items.append(("Document", m.group(2)))
            tlib[m.group(2)] = m.group(3)
        elif m.group(4):
            items.append((m.group(4), m.group(5)))
        else:
            items.append(("Package", m.group(7)))
        order.append("ProjectItem")
        pos += 1
    properties: dict[str, str] = {}
    for rule, pattern, required in _RULES:
        m = re.fullmatch(pattern, line())
        if m is None:
            _need(not required, rule, f"expected here, found {line()!r}")
            continue
        properties[rule] = m.group(1)
        order.append(rule)
        pos += 1
    _need(line() == "", "VBAPROJECTText", f"an empty line before HostExtenders, not {line()!r}")
    pos += 1
    _need(line() == "[Host Extender Info]", "HostExtenders", f"found {line()!r}")
    pos += 1
    order.append("HostExtenders")
    extenders = []
    while pos < len(lines) and (m := _HOST_EXTENDER.fullmatch(lines[pos])):
        extenders.append((m.group(1), m.group(2), m.group(3), m.group(4)))
        pos += 1
    workspace: list[tuple[str, str]] = []
    if pos < len(lines):
        _need(line() == "", "VBAPROJECTText", f"an empty line before [Workspace], not {line()!r}")
        pos += 1
        _need(line() == "[Workspace]", "ProjectWorkspace", f"found {line()!r}")
        pos += 1
        order.append("ProjectWorkspace")
        while pos < len(lines) and (m := _WORKSPACE.fullmatch(lines[pos])):
            workspace.append((m.group(1), m.group(2)))
            pos += 1
        if pos < len(lines) and lines[pos] == "":  # Excel ends the section with an empty line
            pos += 1
    _need(pos == len(lines), "VBAPROJECTText", f"unexpected line {lines[pos:pos + 1]!r}")
    return ProjectText(project_id, items, tlib, properties, extenders, workspace, order)


# -- data encryption (2.4.3) -------------------------------------------------------------------

@dataclass(frozen=True)
class Encrypted:
    """A decrypted ``CMG``/``DPB``/``GC`` value and the fields it was built from."""

    seed: int
    version: int
    project_key: int
    ignored: bytes
    length: int
    data: bytes


def decrypt(hex_text: str) -> Encrypted:
    """MS-OVBA 2.4.3.3 Decryption of the hex text of a ``PROJECT`` property."""
    raw = bytes.fromhex(hex_text)
    _need(len(raw) >= 8, "2.4.3 Data Encryption", f"{hex_text!r} is too short")
    seed, version_enc, project_key_enc = raw[0], raw[1], raw[2]
    version = seed ^ version_enc
    project_key = seed ^ project_key_enc
    unencrypted_byte_1, encrypted_byte_1, encrypted_byte_2 = project_key, project_key_enc, \
        version_enc
    decrypted = []
    for byte_enc in raw[3:]:
        byte = byte_enc ^ ((encrypted_byte_2 + unencrypted_byte_1) & 0xFF)
        decrypted.append(byte)
        encrypted_byte_2 = encrypted_byte_1
        encrypted_byte_1 = byte_enc
        unencrypted_byte_1 = byte
    ignored_length = (seed & 6) // 2
    plain = bytes(decrypted)
    ignored = plain[:ignored_length]
    (length,) = struct.unpack_from("<I", plain, ignored_length)
    data = plain[ignored_length + 4:]
    _need(len(data) == length, "2.4.3.3 Decryption",
          f"Length says {length} bytes, {len(data)} follow")
    return Encrypted(seed, version, project_key, ignored, length, data)


def project_key(project_id: str) -> int:
    """2.4.3.2: the sum of the bytes of the ProjectId, low byte."""
    return sum(project_id.encode("cp1252")) % 256


# -- dir (2.3.4.2) ------------------------------------------------------------------------------

@dataclass
class Reference:
    name: str | None
    name_unicode: str | None
    kind: str  # registered, project, control, original
    libid: str


@dataclass
class ModuleRecord:
    name: str
    name_unicode: str | None
    stream_name: str
    stream_name_unicode: str
    docstring: str
    docstring_unicode: str
    offset: int
    help_context: int
    cookie: int
    type_id: int  # 0x0021 procedural, 0x0022 document/class/designer
    read_only: bool
    private: bool
    record_ids: list[int]


@dataclass
class DirStream:
    information: list[int]  # the record ids of PROJECTINFORMATION, in order
    syskind: int
    lcid: int
    lcid_invoke: int
    codepage: int
    name: str
    docstring: str
    help_file: str
    help_context: int
    lib_flags: int
    version: tuple[int, int]
    constants: str
    references: list[Reference]
    project_cookie: int
    modules: list[ModuleRecord]


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def peek(self) -> int | None:
        if self.pos + 2 > len(self.data):
            return None
        return struct.unpack_from("<H", self.data, self.pos)[0]

    def u16(self) -> int:
        self._need(2)
        (v,) = struct.unpack_from("<H", self.data, self.pos)
        self.pos += 2
        return v

    def u32(self) -> int:
        self._need(4)
        (v,) = struct.unpack_from("<I", self.data, self.pos)
        self.pos += 4
        return v

    def take(self, n: int) -> bytes:
        self._need(n)
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def _need(self, n: int) -> None:
        _need(self.pos + n <= len(self.data), "dir", f"truncated at offset {self.pos}")

    def record(self, rule: str, rid: int, size: int | None = None, *,
               max_size: int | None = None) -> bytes:
        """A record ``rid`` (Id, Size, data); ``size`` fixes its size."""
        found = self.u16()
        _need(found == rid, rule, f"Id 0x{found:04X} at offset {self.pos - 2}, "
              f"expected 0x{rid:04X}")
        n = self.u32()
        if size is not None:
            _need(n == size, rule, f"Size {n}, must be {size}")
        if max_size is not None:
            _need(n <= max_size, rule, f"Size {n} exceeds {max_size}")
        return self.take(n)


def _u32(b: bytes) -> int:
    return struct.unpack("<I", b)[0]


def _u16(b: bytes) -> int:
    return struct.unpack("<H", b)[0]


def parse_dir(data: bytes) -> DirStream:
    """Parse the decompressed ``dir`` stream against MS-OVBA 2.3.4.2."""
    r = _Reader(data)
    info: list[int] = []

    def rec(rule: str, rid: int, size: int | None = None, **kw: int) -> bytes:
        info.append(rid)
        return r.record(rule, rid, size, **kw)

    syskind = _u32(rec("PROJECTSYSKIND", 0x0001, 4))
    _need(syskind in (0, 1, 2, 3), "PROJECTSYSKIND", f"SysKind {syskind}")
    if r.peek() == 0x004A:
        rec("PROJECTCOMPATVERSION", 0x004A, 4)
    lcid = _u32(rec("PROJECTLCID", 0x0002, 4))
    _need(lcid == 0x409, "PROJECTLCID", f"Lcid 0x{lcid:X}, MUST be 0x409")
    lcid_invoke = _u32(rec("PROJECTLCIDINVOKE", 0x0014, 4))
    _need(lcid_invoke == 0x409, "PROJECTLCIDINVOKE", f"LcidInvoke 0x{lcid_invoke:X}")
    codepage = _u16(rec("PROJECTCODEPAGE", 0x0003, 2))
    enc = f"cp{codepage}"
    name = rec("PROJECTNAME", 0x0004, max_size=128).decode(enc)
    _need(len(name) >= 1, "PROJECTNAME", "empty")
    docstring = rec("PROJECTDOCSTRING", 0x0005, max_size=2000).decode(enc)
    doc_unicode = rec("PROJECTDOCSTRING (Unicode)", 0x0040).decode("utf-16-le")
    _need(doc_unicode == docstring, "PROJECTDOCSTRING", "MBCS and Unicode differ")
    help1 = rec("PROJECTHELPFILEPATH", 0x0006, max_size=260)
    help2 = rec("PROJECTHELPFILEPATH (HelpFile2)", 0x003D, max_size=260)
    _need(help1 == help2, "PROJECTHELPFILEPATH", "HelpFile1 != HelpFile2")
    help_context = _u32(rec("PROJECTHELPCONTEXT", 0x0007, 4))
    lib_flags = _u32(rec("PROJECTLIBFLAGS", 0x0008, 4))
    _need(lib_flags == 0, "PROJECTLIBFLAGS", "ProjectLibFlags MUST be 0")
    # PROJECTVERSION: Id, Reserved (MUST be 4), VersionMajor (4 bytes), VersionMinor (2).
    _need(r.u16() == 0x0009, "PROJECTVERSION", "Id")
    info.append(0x0009)
    _need(r.u32() == 4, "PROJECTVERSION", "Reserved MUST be 0x00000004")
    version = (r.u32(), r.u16())
    constants = rec("PROJECTCONSTANTS", 0x000C, max_size=1015).decode(enc)
    constants_unicode = rec("PROJECTCONSTANTS (Unicode)", 0x003C).decode("utf-16-le")
    _need(constants == constants_unicode, "PROJECTCONSTANTS", "MBCS and Unicode differ")

    references = []
    while r.peek() in (0x0016, 0x000D, 0x000E, 0x002F, 0x0033):
        references.append(_reference(r, enc))

    count = _u16(r.record("PROJECTMODULES", 0x000F, 2))
    project_cookie = _u16(r.record("PROJECTCOOKIE", 0x0013, 2))
    modules = [_module(r, enc) for _ in range(count)]
    _need(r.u16() == 0x0010, "dir", "PROJECTMODULES not followed by the Terminator 0x0010")
    _need(r.u32() == 0, "dir", "Reserved after the Terminator MUST be 0")
    _need(r.pos == len(data), "dir", f"{len(data) - r.pos} bytes after the Terminator")
    return DirStream(info, syskind, lcid, lcid_invoke, codepage, name, docstring,
                     help1.decode(enc), help_context, lib_flags, version, constants,
                     references, project_cookie, modules)


def _reference(r: _Reader, enc: str) -> Reference:
    """A REFERENCE (2.3.4.2.2.1): an optional REFERENCENAME, then one reference record."""
    name = name_unicode = None
    if r.peek() == 0x0016:
        name = r.record("REFERENCENAME", 0x0016).decode(enc)
        if r.peek() == 0x003E:
            name_unicode = r.record("REFERENCENAME (Unicode)", 0x003E).decode("utf-16-le")
    rid = r.peek()
    if rid == 0x000D:  # REFERENCEREGISTERED
        body = _Reader(r.record("REFERENCEREGISTERED", 0x000D))
        libid = body.take(body.u32()).decode(enc)
        _need(body.u32() == 0 and body.u16() == 0, "REFERENCEREGISTERED",
              "Reserved1/Reserved2 MUST be 0")
        _need(body.pos == len(body.data), "REFERENCEREGISTERED", "Size does not match")
        return Reference(name, name_unicode, "registered", libid)
    if rid == 0x000E:  # REFERENCEPROJECT
        body = _Reader(r.record("REFERENCEPROJECT", 0x000E))
        libid = body.take(body.u32()).decode(enc)
        body.take(body.u32())
        body.u32()
        body.u16()
        _need(body.pos == len(body.data), "REFERENCEPROJECT", "Size does not match")
        return Reference(name, name_unicode, "project", libid)
    kind = "control"
    libid = ""
    if rid == 0x0033:  # REFERENCEORIGINAL, then its REFERENCECONTROL
        libid = r.record("REFERENCEORIGINAL", 0x0033).decode(enc)
        kind = "original"
    _need(r.u16() == 0x002F, "REFERENCECONTROL", "Id")
    twiddled = _Reader(r.take(r.u32()))
    libid = libid or twiddled.take(twiddled.u32()).decode(enc)
    if r.peek() == 0x0016:
        r.record("REFERENCECONTROL NameRecordExtended", 0x0016)
        if r.peek() == 0x003E:
            r.record("REFERENCECONTROL NameRecordExtended (Unicode)", 0x003E)
    _need(r.u16() == 0x0030, "REFERENCECONTROL", "Reserved3 MUST be 0x0030")
    r.take(r.u32())  # SizeExtended and what it counts
    return Reference(name, name_unicode, kind, libid)


def _module(r: _Reader, enc: str) -> ModuleRecord:
    """A MODULE record (2.3.4.2.3.2), its records in the order the specification gives."""
    ids: list[int] = []

    def rec(rule: str, rid: int, size: int | None = None) -> bytes:
        ids.append(rid)
        return r.record(rule, rid, size)

    name = rec("MODULENAME", 0x0019).decode(enc)
    name_unicode = None
    if r.peek() == 0x0047:
        name_unicode = rec("MODULENAMEUNICODE", 0x0047).decode("utf-16-le")
    stream = rec("MODULESTREAMNAME", 0x001A).decode(enc)
    stream_unicode = rec("MODULESTREAMNAME (Unicode)", 0x0032).decode("utf-16-le")
    doc = rec("MODULEDOCSTRING", 0x001C).decode(enc)
    doc_unicode = rec("MODULEDOCSTRING (Unicode)", 0x0048).decode("utf-16-le")
    offset = _u32(rec("MODULEOFFSET", 0x0031, 4))
    help_context = _u32(rec("MODULEHELPCONTEXT", 0x001E, 4))
    cookie = _u16(rec("MODULECOOKIE", 0x002C, 2))
    type_id = r.peek()
    _need(type_id in (0x0021, 0x0022), "MODULETYPE", f"Id 0x{type_id or 0:04X}")
    assert type_id is not None
    rec("MODULETYPE", type_id, 0)
    read_only = private = False
    if r.peek() == 0x0025:
        rec("MODULEREADONLY", 0x0025, 0)
        read_only = True
    if r.peek() == 0x0028:
        rec("MODULEPRIVATE", 0x0028, 0)
        private = True
    rec("MODULE Terminator", 0x002B, 0)
    return ModuleRecord(name, name_unicode, stream, stream_unicode, doc, doc_unicode, offset,
                        help_context, cookie, type_id, read_only, private, ids)


# -- PROJECTwm (2.3.3) and the whole file ----------------------------------------------------

def parse_project_wm(raw: bytes, codepage: str = "cp1252") -> list[tuple[str, str]]:
    """NameMap: (MBCS name, UTF-16 name) pairs, each null-terminated, then 0x0000."""
    out = []
    pos = 0
    while True:
        _need(pos + 2 <= len(raw), "PROJECTwm", "no terminator")
        if raw[pos:pos + 2] == b"\x00\x00":
            _need(pos + 2 == len(raw), "PROJECTwm", "bytes after the terminator")
            return out
        end = raw.index(b"\x00", pos)
        mbcs = raw[pos:end].decode(codepage)
        pos = end + 1
        end = pos
        while raw[end:end + 2] != b"\x00\x00":
            end += 2
        out.append((mbcs, raw[pos:end].decode("utf-16-le")))
        pos = end + 2


@dataclass
class VbaFile:
    """Everything of a ``vbaProject.bin`` the tests look at."""

    streams: list[str]
    project: ProjectText
    project_raw: bytes
    dir: DirStream
    project_wm: list[tuple[str, str]]
    vba_project_header: bytes
    module_streams: dict[str, bytes]  # stream name → the raw stream


def read_vba_project(data: bytes) -> VbaFile:
    """Open a ``vbaProject.bin`` with olefile and parse its streams."""
    ole = olefile.OleFileIO(io.BytesIO(data))
    try:
        streams = sorted("/".join(p) for p in ole.listdir(streams=True, storages=False))
        dir_data = bytes(decompress_stream(bytearray(ole.openstream("VBA/dir").read())))
        directory = parse_dir(dir_data)
        enc = f"cp{directory.codepage}"
        project_raw = ole.openstream("PROJECT").read()
        wm = parse_project_wm(ole.openstream("PROJECTwm").read(), enc) \
            if ole.exists("PROJECTwm") else []
        modules = {m.stream_name: ole.openstream(f"VBA/{m.stream_name}").read()
                   for m in directory.modules}
        header = ole.openstream("VBA/_VBA_PROJECT").read()
    finally:
        ole.close()
    return VbaFile(streams, parse_project(project_raw, enc), project_raw, directory, wm,
                   header, modules)


def module_text(stream: bytes, offset: int, codepage: int = 1252) -> str:
    """The source of a module stream: the CompressedContainer at ``offset``, decompressed."""
    _need(offset <= len(stream), "MODULEOFFSET", "points past the stream")
    _need(stream[offset:offset + 1] == b"\x01", "MODULEOFFSET",
          "no CompressedContainer signature (0x01) at the offset")
    return bytes(decompress_stream(bytearray(stream[offset:]))).decode(f"cp{codepage}")

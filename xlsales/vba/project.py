"""The VBA project (MS-OVBA 2.3): the streams of ``vbaProject.bin`` and the file itself.

Only source code is stored (no performance cache, ``_VBA_PROJECT`` version 0xFFFF), so
Excel compiles the modules when it first opens the workbook. The records follow what
Excel writes: the ``PROJECT`` stream lists every module (``Document=``, ``Module=``,
``Class=``) and carries ``CMG``/``DPB``/``GC`` (unprotected, no password, visible); the
``dir`` stream references ``stdole`` and the Office type library; document and class
modules get the attributes Excel gives them.

:func:`read_vba_project` reads a project back (one xlsales wrote, or Excel saved, with its
performance cache): its name, ID, protection, and each module's kind and source.
"""

from __future__ import annotations

import re
import struct
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from xlsales.vba.cfb import build_compound_file, read_compound_file
from xlsales.vba.compression import compress, decompress
from xlsales.vba.encryption import decrypt, protection_values

CODEPAGE = 1252
PROJECT_NAME = "VBAProject"
KINDS = ("standard", "class", "workbook", "worksheet")

# VB_Base of each kind of class-like module: the type it extends.
BASES = {"workbook": "0{00020819-0000-0000-C000-000000000046}",
         "worksheet": "0{00020820-0000-0000-C000-000000000046}",
         "class": "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"}
# The attributes after VB_Name, in the order Excel stores them, with its defaults (a
# class module's Instancing shows in VB_Exposed/VB_Creatable; a source may set them).
_CLASS_LIKE = ("VB_GlobalNameSpace", "VB_Creatable", "VB_PredeclaredId", "VB_Exposed",
               "VB_TemplateDerived", "VB_Customizable")
ATTRIBUTES: dict[str, tuple[tuple[str, str], ...]] = {
    "standard": (),
    "class": (("VB_Base", f'"{BASES["class"]}"'),
              *zip(_CLASS_LIKE, ("False",) * 6, strict=True)),
    **{kind: (("VB_Base", f'"{BASES[kind]}"'),
              *zip(_CLASS_LIKE, ("False", "False", "True", "True", "False", "True"),
                   strict=True))
       for kind in ("workbook", "worksheet")},
}

# The references Excel gives every project: OLE Automation and the Office type library.
STDOLE = ("*\\G{00020430-0000-0000-C000-000000000046}#2.0#0#"
          "C:\\Windows\\System32\\stdole2.tlb#OLE Automation")
OFFICE = ("*\\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}#2.0#0#"
          "C:\\Program Files\\Common Files\\Microsoft Shared\\OFFICE16\\MSO.DLL#"
          "Microsoft Office 16.0 Object Library")
REFERENCES = (("stdole", STDOLE), ("Office", OFFICE))
HOST_EXTENDER = "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000"
VERSION_COMPATIBLE = "393222000"

# A class module exported by the VBA editor (.cls) starts with this block.
_CLASS_HEADER = re.compile(r"\AVERSION 1\.0 CLASS\nBEGIN\n(?:.*\n)*?END\n")
_ATTRIBUTE = re.compile(r"Attribute (VB_\w+) = (.*)")


def is_class_source(source: str) -> bool:
    """Whether ``source`` is a class module as the VBA editor exports it (a ``.cls``)."""
    return _CLASS_HEADER.match(_lf(source)) is not None


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(frozen=True)
class Module:
    """A VBA module: ``kind`` is ``standard``, ``class``, ``workbook`` or ``worksheet``
    (the last two are document modules: ThisWorkbook and the sheets)."""

    name: str
    source: str
    kind: str = "standard"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown module kind {self.kind!r} (one of {KINDS})")

    @classmethod
    def from_source(cls, name: str, source: str) -> Module:
        """A standard module, or a class module when ``source`` is a ``.cls`` export."""
        return cls(name, source, "class" if is_class_source(source) else "standard")

    @property
    def is_document(self) -> bool:
        return self.kind in ("workbook", "worksheet")

    @property
    def is_procedural(self) -> bool:
        """Whether ``dir`` types it 0x0021 (procedural) rather than 0x0022 (the others)."""
        return self.kind == "standard"

    @property
    def project_line(self) -> str:
        """The module's line in ``PROJECT`` (MS-OVBA 2.3.1.4-2.3.1.7)."""
        if self.is_document:
            return f"Document={self.name}/&H00000000"
        return f"{'Class' if self.kind == 'class' else 'Module'}={self.name}"

    def _parts(self) -> tuple[dict[str, str], list[str]]:
        """The module-level attributes (VB_Name first, then in Excel's order) and the code."""
        text = _lf(self.source)
        if self.kind == "class":
            text = _CLASS_HEADER.sub("", text, count=1)
        lines = text.split("\n")
        found: dict[str, str] = {}
        while lines and (m := _ATTRIBUTE.fullmatch(lines[0])):
            found[m.group(1)] = m.group(2)
            lines.pop(0)
        name = found.pop("VB_Name", None)
        if name is not None and name != f'"{self.name}"':
            raise ValueError(f"module {self.name}: its source says VB_Name = {name}")
        attributes = {"VB_Name": f'"{self.name}"'}
        for key, default in ATTRIBUTES[self.kind]:
            attributes[key] = found.pop(key, default)
        attributes.update(found)
        return attributes, lines

    @property
    def docstring(self) -> str:
        """The module's description (its ``VB_Description`` attribute), else empty."""
        value = self._parts()[0].get("VB_Description", "")
        return value[1:-1].replace('""', '"') if value.startswith('"') else value

    def code(self) -> bytes:
        """The module's source as stored: attributes first, CRLF line ends, code page 1252."""
        attributes, lines = self._parts()
        head = [f"Attribute {key} = {value}" for key, value in attributes.items()]
        return "\r\n".join(head + lines).encode("cp1252")


def workbook_modules(sheets: int, sources: Mapping[str, str]) -> list[Module]:
    """ThisWorkbook, ``Sheet1``…``Sheet<sheets>`` and the modules of ``sources`` (name →
    text; ``.cls`` exports become class modules), in project order."""
    return [Module("ThisWorkbook", "", "workbook"),
            *(Module(f"Sheet{n}", "", "worksheet") for n in range(1, sheets + 1)),
            *(Module.from_source(name, text) for name, text in sources.items())]


# -- dir (MS-OVBA 2.3.4.2) -----------------------------------------------------------------

def _rec(record_id: int, data: bytes) -> bytes:
    return struct.pack("<HI", record_id, len(data)) + data


def _mbcs(text: str) -> bytes:
    return text.encode("cp1252")


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


def _reference(name: str, libid: str) -> bytes:
    """A REFERENCE: its name (REFERENCENAME) and a REFERENCEREGISTERED record."""
    raw = _mbcs(libid)
    return (_rec(0x0016, _mbcs(name)) + _rec(0x003E, _utf16(name))
            + _rec(0x000D, struct.pack("<I", len(raw)) + raw + struct.pack("<IH", 0, 0)))


def _module_record(m: Module) -> bytes:
    """A MODULE (2.3.4.2.3.2): names, docstring, offset, help context, cookie, type."""
    doc = m.docstring
    return b"".join((
        _rec(0x0019, _mbcs(m.name)), _rec(0x0047, _utf16(m.name)),  # name (+ unicode)
        _rec(0x001A, _mbcs(m.name)), _rec(0x0032, _utf16(m.name)),  # stream name
        _rec(0x001C, _mbcs(doc)), _rec(0x0048, _utf16(doc)),  # docstring
        _rec(0x0031, struct.pack("<I", 0)),  # source offset: no performance cache
        _rec(0x001E, struct.pack("<I", 0)),  # help context
        _rec(0x002C, struct.pack("<H", 0xFFFF)),  # cookie (MUST be 0xFFFF on write)
        _rec(0x0021 if m.is_procedural else 0x0022, b""),  # type
        _rec(0x002B, b""),  # terminator
    ))


def dir_stream(modules: Sequence[Module], project_name: str = PROJECT_NAME) -> bytes:
    """The decompressed ``dir`` stream: PROJECTINFORMATION, PROJECTREFERENCES,
    PROJECTMODULES."""
    out = bytearray()
    out += _rec(0x0001, struct.pack("<I", 1))  # SysKind: Win32
    out += _rec(0x0002, struct.pack("<I", 0x0409))  # Lcid
    out += _rec(0x0014, struct.pack("<I", 0x0409))  # LcidInvoke
    out += _rec(0x0003, struct.pack("<H", CODEPAGE))
    out += _rec(0x0004, _mbcs(project_name))
    out += _rec(0x0005, b"") + _rec(0x0040, b"")  # DocString (+ unicode)
    out += _rec(0x0006, b"") + _rec(0x003D, b"")  # HelpFile (+ second path)
    out += _rec(0x0007, struct.pack("<I", 0))  # HelpContext
    out += _rec(0x0008, struct.pack("<I", 0))  # LibFlags
    out += struct.pack("<HIIH", 0x0009, 4, 1, 0)  # Version: major 1, minor 0
    out += _rec(0x000C, b"") + _rec(0x003C, b"")  # Constants (+ unicode)
    for name, libid in REFERENCES:
        out += _reference(name, libid)
    out += _rec(0x000F, struct.pack("<H", len(modules)))
    out += _rec(0x0013, struct.pack("<H", 0xFFFF))  # ProjectCookie (MUST be 0xFFFF)
    for m in modules:
        out += _module_record(m)
    out += struct.pack("<HI", 0x0010, 0)  # end of modules
    return bytes(out)


# -- PROJECT (MS-OVBA 2.3.1) and PROJECTwm (2.3.3) -----------------------------------------

def default_project_id(project_name: str = PROJECT_NAME) -> str:
    """A fixed GUID per project name (Excel draws one at random)."""
    return "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, "xlsales:" + project_name)).upper() + "}"


def project_stream(modules: Sequence[Module], project_name: str = PROJECT_NAME,
                   project_id: str | None = None) -> bytes:
    """The ``PROJECT`` stream: the project's properties as text."""
    pid = project_id or default_project_id(project_name)
    content = b"".join(_mbcs(m.name) + b"\x00" + m.code() + b"\x00" for m in modules)
    protection = protection_values(pid, _mbcs(pid) + b"\x00" + content)
    lines = [f'ID="{pid}"', *(m.project_line for m in modules),
             f'Name="{project_name}"', 'HelpContextID="0"',
             f'VersionCompatible32="{VERSION_COMPATIBLE}"',
             *(f'{key}="{protection[key]}"' for key in ("CMG", "DPB", "GC")),
             "", "[Host Extender Info]", HOST_EXTENDER, "", "[Workspace]",
             *(f"{m.name}=0, 0, 0, 0, C" for m in modules)]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def project_wm_stream(modules: Sequence[Module]) -> bytes:
    """The ``PROJECTwm`` stream: module names in MBCS and UTF-16."""
    out = bytearray()
    for m in modules:
        out += _mbcs(m.name) + b"\x00" + _utf16(m.name) + b"\x00\x00"
    return bytes(out + b"\x00\x00")


def vba_project(modules: Sequence[Module], project_name: str = PROJECT_NAME,
                project_id: str | None = None) -> bytes:
    """A complete ``vbaProject.bin`` (a compound file) holding ``modules`` as source
    (``project_id``: the ``ID=`` GUID, by default one fixed per project name)."""
    names = [m.name.upper() for m in modules]
    if len(set(names)) != len(names):
        raise ValueError(f"module names repeat (VBA ignores case): {[m.name for m in modules]}")
    streams: dict[str, bytes] = {
        "PROJECT": project_stream(modules, project_name, project_id),
        "PROJECTwm": project_wm_stream(modules),
        "VBA/_VBA_PROJECT": bytes([0xCC, 0x61, 0xFF, 0xFF, 0x00, 0x00, 0x00]),
        "VBA/dir": compress(dir_stream(modules, project_name)),
    }
    for m in modules:
        streams[f"VBA/{m.name}"] = compress(m.code())
    return build_compound_file(streams)


# -- reading a project back ----------------------------------------------------------------

class ProjectError(ValueError):
    """A ``vbaProject.bin`` that cannot be read."""


@dataclass(frozen=True)
class StoredModule:
    """A module as a project stores it: ``kind`` is its ``PROJECT`` line's (``Document``,
    ``Module``, ``Class`` or ``BaseClass``, a form), ``code`` its source as stored
    (attribute lines first) and ``text`` that source decoded."""

    name: str
    kind: str
    code: bytes
    text: str

    @property
    def body(self) -> list[str]:
        """The source lines after the module's ``Attribute`` lines."""
        lines = _lf(self.text).split("\n")
        while lines and _ATTRIBUTE.fullmatch(lines[0]):
            lines.pop(0)
        return lines


@dataclass(frozen=True)
class StoredProject:
    """What :func:`read_vba_project` found: the project's name, ID and code page, its
    modules in ``dir`` order, the ``PROJECT`` lines of designers (``Package=``), and
    whether it is locked (a protection state or a password set)."""

    name: str
    project_id: str
    codepage: int
    modules: list[StoredModule]
    designers: list[str]
    locked: bool

    def module(self, name: str) -> StoredModule | None:
        return next((m for m in self.modules if m.name.upper() == name.upper()), None)


def _records(data: bytes) -> list[tuple[int, bytes]]:
    """The records of a decompressed ``dir`` stream: (id, data). PROJECTVERSION (0x0009)
    stores 4 as its size and 6 bytes of data (MS-OVBA 2.3.4.2.1.11)."""
    out, pos = [], 0
    while pos + 6 <= len(data):
        record_id, size = struct.unpack_from("<HI", data, pos)
        pos += 6
        if record_id == 0x0009:
            size = 6
        if pos + size > len(data):
            raise ProjectError(f"dir record 0x{record_id:04X} runs past the stream's end")
        out.append((record_id, data[pos:pos + size]))
        pos += size
    return out


def _encoding(codepage: int) -> str:
    name = f"cp{codepage}"
    try:
        "".encode(name)
    except LookupError:
        return "cp1252"
    return name


def read_vba_project(data: bytes) -> StoredProject:
    """Read ``vbaProject.bin`` back (MS-OVBA 2.3): the inverse of :func:`vba_project`, and
    for projects Excel saved (performance cache, more references, forms) what the sources
    are. Raises :class:`ProjectError` when the file cannot be read as a VBA project."""
    try:
        streams = read_compound_file(data)
    except ValueError as exc:
        raise ProjectError(str(exc)) from exc
    for required in ("PROJECT", "VBA/dir"):
        if required not in streams:
            raise ProjectError(f"no {required} stream")
    try:
        records = _records(decompress(streams["VBA/dir"]))
    except (ValueError, IndexError, struct.error) as exc:
        raise ProjectError(f"the dir stream cannot be read ({exc})") from exc
    codepage, name = CODEPAGE, ""
    found: list[dict[str, object]] = []
    for record_id, value in records:
        if record_id == 0x0003 and len(value) == 2:
            codepage = struct.unpack("<H", value)[0]
        elif record_id == 0x0004:
            name = value.decode(_encoding(codepage), "replace")
        elif record_id == 0x0019:
            found.append({"name": value.decode(_encoding(codepage), "replace")})
        elif found and record_id == 0x001A:
            found[-1]["stream"] = value.decode(_encoding(codepage), "replace")
        elif found and record_id == 0x0031 and len(value) == 4:
            found[-1]["offset"] = struct.unpack("<I", value)[0]
        elif found and record_id in (0x0021, 0x0022):
            found[-1]["procedural"] = record_id == 0x0021
    encoding = _encoding(codepage)
    text = streams["PROJECT"].decode(encoding, "replace")
    kinds: dict[str, str] = {}
    properties: dict[str, str] = {}
    designers = []
    for line in _lf(text).split("\n"):
        if line.startswith("["):
            break
        key, _, value = line.partition("=")
        if key in ("Document", "Module", "Class", "BaseClass"):
            kinds[value.split("/")[0].upper()] = key
        elif key == "Package":
            designers.append(line)
        elif key in ("ID", "Name", "CMG", "DPB", "GC"):
            properties[key] = value.strip('"')
    modules = []
    for m in found:
        module_name = str(m["name"])
        stream = streams.get(f"VBA/{m.get('stream', module_name)}")
        if stream is None:
            raise ProjectError(f"module {module_name} has no stream")
        offset = int(m.get("offset", 0))  # type: ignore[call-overload]
        try:
            code = decompress(stream[offset:])
        except (ValueError, IndexError, struct.error) as exc:
            raise ProjectError(f"module {module_name} cannot be decompressed ({exc})") from exc
        kind = kinds.get(module_name.upper()) or ("Module" if m.get("procedural") else "Class")
        modules.append(StoredModule(module_name, kind, code, code.decode(encoding, "replace")))
    return StoredProject(properties.get("Name", name) or name, properties.get("ID", ""),
                         codepage, modules, designers, _locked(properties))


def _locked(properties: Mapping[str, str]) -> bool:
    """Whether ``CMG``/``DPB`` say the project is protected or has a password (an
    unreadable value counts as locked)."""
    try:
        state = decrypt(properties["CMG"]).data
        password = decrypt(properties["DPB"]).data
    except (KeyError, ValueError, struct.error):
        return True
    return state.strip(b"\x00") != b"" or password != b"\x00"

"""The VBA project format (MS-OVBA): compression and the streams of ``vbaProject.bin``.

Only source code is stored (no performance cache, ``_VBA_PROJECT`` version 0xFFFF),
so Excel compiles the modules when it first opens the workbook.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

CHUNK = 4096
CODEPAGE = 1252
MAX_COMPRESSED_CHUNK = 4098

# -- compression (MS-OVBA 2.4.1) ------------------------------------------------------


def _copy_token_help(position: int) -> tuple[int, int]:
    """(bit count of the offset, maximum length) at ``position`` within a chunk."""
    bits = max((position - 1).bit_length(), 4)
    length_mask = 0xFFFF >> bits
    return bits, length_mask + 3


def _compress_chunk(data: bytes) -> bytes:
    """One compressed chunk (header included) of up to 4096 bytes of ``data``."""
    out = bytearray()
    pos, end = 0, len(data)
    heads: dict[bytes, list[int]] = {}
    while pos < end:
        flag_index = len(out)
        out.append(0)
        flags = 0
        for bit in range(8):
            if pos >= end:
                break
            best_len, best_off = 0, 0
            if pos > 0:
                _, max_len = _copy_token_help(pos)
                key = data[pos:pos + 3]
                for cand in reversed(heads.get(key, [])):
                    length = 0
                    limit = min(max_len, end - pos)
                    while length < limit and data[cand + length] == data[pos + length]:
                        length += 1
                    if length > best_len:
                        best_len, best_off = length, pos - cand
                        if length == limit:
                            break
            if best_len >= 3:
                bits, _ = _copy_token_help(pos)
                token = ((best_off - 1) << (16 - bits)) | (best_len - 3)
                out += struct.pack("<H", token)
                flags |= 1 << bit
                step = best_len
            else:
                out.append(data[pos])
                step = 1
            for i in range(pos, min(pos + step, end - 2)):
                heads.setdefault(data[i:i + 3], []).append(i)
            pos += step
        out[flag_index] = flags
    if len(out) + 2 > MAX_COMPRESSED_CHUNK:  # incompressible: a raw chunk of 4096 bytes
        raw = data.ljust(CHUNK, b"\x00")
        return struct.pack("<H", (CHUNK - 1) | 0x3000) + raw
    return struct.pack("<H", (len(out) - 1) | 0x3000 | 0x8000) + bytes(out)


def compress(data: bytes) -> bytes:
    """A CompressedContainer holding ``data``."""
    out = bytearray(b"\x01")
    for start in range(0, len(data), CHUNK):
        out += _compress_chunk(data[start:start + CHUNK])
    return bytes(out)


def decompress(container: bytes) -> bytes:
    """The data of a CompressedContainer (the inverse of :func:`compress`)."""
    if not container or container[0] != 1:
        raise ValueError("not a compressed container (signature byte is not 0x01)")
    out = bytearray()
    pos = 1
    while pos < len(container):
        header = struct.unpack_from("<H", container, pos)[0]
        size = (header & 0x0FFF) + 3
        compressed = bool(header & 0x8000)
        chunk_end = min(pos + size, len(container))
        pos += 2
        start = len(out)
        if not compressed:
            out += container[pos:pos + CHUNK]
            pos += CHUNK
            continue
        while pos < chunk_end:
            flags = container[pos]
            pos += 1
            for bit in range(8):
                if pos >= chunk_end:
                    break
                if flags & (1 << bit):
                    token = struct.unpack_from("<H", container, pos)[0]
                    pos += 2
                    bits, _ = _copy_token_help(len(out) - start)
                    length = (token & (0xFFFF >> bits)) + 3
                    offset = (token >> (16 - bits)) + 1
                    for _ in range(length):
                        out.append(out[-offset])
                else:
                    out.append(container[pos])
                    pos += 1
    return bytes(out)


# -- the project ---------------------------------------------------------------------------

DOC_BASES = {"workbook": "0{00020819-0000-0000-C000-000000000046}",
             "worksheet": "0{00020820-0000-0000-C000-000000000046}"}
STDOLE = ("*\\G{00020430-0000-0000-C000-000000000046}#2.0#0#"
          "C:\\Windows\\System32\\stdole2.tlb#OLE Automation")


@dataclass(frozen=True)
class Module:
    """A VBA module: ``kind`` is ``standard``, ``workbook`` or ``worksheet`` (documents)."""

    name: str
    source: str
    kind: str = "standard"

    @property
    def is_document(self) -> bool:
        return self.kind != "standard"

    def code(self) -> bytes:
        """The module's source as stored: attributes first, CRLF line ends, code page 1252."""
        text = self.source.replace("\r\n", "\n").replace("\r", "\n")
        if not text.lstrip().startswith("Attribute VB_Name"):
            text = f'Attribute VB_Name = "{self.name}"\n' + text
        if self.is_document and "VB_Base" not in text:
            lines = text.split("\n", 1)
            text = lines[0] + "\n" + "\n".join(document_attributes(self.kind)) + "\n" + (
                lines[1] if len(lines) > 1 else "")
        return text.replace("\n", "\r\n").encode("cp1252")


def document_attributes(kind: str) -> list[str]:
    """The attribute lines of a document module (ThisWorkbook, a sheet)."""
    return [f'Attribute VB_Base = "{DOC_BASES[kind]}"', "Attribute VB_GlobalNameSpace = False",
            "Attribute VB_Creatable = False", "Attribute VB_PredeclaredId = True",
            "Attribute VB_Exposed = True", "Attribute VB_TemplateDerived = False",
            "Attribute VB_Customizable = True"]


def _rec(record_id: int, data: bytes) -> bytes:
    return struct.pack("<HI", record_id, len(data)) + data


def _mbcs(text: str) -> bytes:
    return text.encode("cp1252")


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


def dir_stream(modules: Sequence[Module], project_name: str = "VBAProject") -> bytes:
    """The decompressed ``dir`` stream (MS-OVBA 2.3.4.2)."""
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
    # One reference: OLE Automation (stdole).
    out += _rec(0x0016, _mbcs("stdole")) + _rec(0x003E, _utf16("stdole"))
    libid = _mbcs(STDOLE)
    out += _rec(0x000D, struct.pack("<I", len(libid)) + libid + struct.pack("<IH", 0, 0))
    out += _rec(0x000F, struct.pack("<H", len(modules)))
    out += _rec(0x0013, struct.pack("<H", 0xFFFF))  # ProjectCookie
    for m in modules:
        out += _rec(0x0019, _mbcs(m.name)) + _rec(0x0047, _utf16(m.name))
        out += _rec(0x001A, _mbcs(m.name)) + _rec(0x0032, _utf16(m.name))
        out += _rec(0x001C, b"") + _rec(0x0048, b"")  # DocString
        out += _rec(0x0031, struct.pack("<I", 0))  # text offset: no performance cache
        out += _rec(0x001E, struct.pack("<I", 0))  # HelpContext
        out += _rec(0x002C, struct.pack("<H", 0xFFFF))  # Cookie
        out += _rec(0x0022 if m.is_document else 0x0021, b"")
        out += _rec(0x002B, b"")  # module terminator
    out += struct.pack("<HI", 0x0010, 0)  # end of modules
    return bytes(out)


def project_stream(modules: Sequence[Module], project_name: str = "VBAProject",
                   project_id: str | None = None) -> bytes:
    """The ``PROJECT`` stream (MS-OVBA 2.3.1): the project's properties as text."""
    pid = project_id or "{" + str(uuid.uuid5(uuid.NAMESPACE_URL,
                                             "xlsales:" + project_name)).upper() + "}"
    lines = [f'ID="{pid}"']
    for m in modules:
        if m.is_document:
            lines.append(f"Document={m.name}/&H00000000")
    for m in modules:
        if not m.is_document:
            lines.append(f"Module={m.name}")
    lines += [f'Name="{project_name}"', 'HelpContextID="0"', 'VersionCompatible32="393222000"',
              "", "[Host Extender Info]",
              "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000", "",
              "[Workspace]"]
    lines += [f"{m.name}=0, 0, 0, 0, C" for m in modules]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def project_wm_stream(modules: Sequence[Module]) -> bytes:
    """The ``PROJECTwm`` stream: module names in MBCS and UTF-16."""
    out = bytearray()
    for m in modules:
        out += _mbcs(m.name) + b"\x00" + _utf16(m.name) + b"\x00\x00"
    return bytes(out + b"\x00\x00")


def vba_project(modules: Sequence[Module], project_name: str = "VBAProject") -> bytes:
    """A complete ``vbaProject.bin`` (a compound file) holding ``modules`` as source."""
    from xlsales.io.cfb import build_compound_file

    streams: dict[str, bytes] = {
        "PROJECT": project_stream(modules, project_name),
        "PROJECTwm": project_wm_stream(modules),
        "VBA/_VBA_PROJECT": bytes([0xCC, 0x61, 0xFF, 0xFF, 0x00, 0x00, 0x00]),
        "VBA/dir": compress(dir_stream(modules, project_name)),
    }
    for m in modules:
        streams[f"VBA/{m.name}"] = compress(m.code())
    return build_compound_file(streams)

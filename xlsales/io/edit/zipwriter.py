"""A zip writer that copies entries of another zip without recompressing them.

Editing a workbook changes a few parts; every other part is copied from the source zip
as its compressed bytes, so it stays byte for byte what it was (and a 200 MB sheet that
did not change costs a copy, not a recompression). New and changed parts are deflated
(:mod:`xlsales.io.codec`) as they are written, in chunks, so a sheet rewritten row by row
never sits in memory whole. Entries keep the source's order; sizes and CRCs are patched
into each local header once the entry is written (the output is a seekable file).
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Iterable
from typing import IO

from xlsales.io import codec

_LOCAL = struct.Struct("<4s5H3L2H")  # signature … name length, extra length
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")
LOCAL_SIG, CENTRAL_SIG, END_SIG = b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
LIMIT = 0xFFFFFFFF


class ZipTooLarge(ValueError):
    """An entry or the archive needs zip64, which this writer does not write."""


def _dos(date_time: tuple[int, ...]) -> tuple[int, int]:
    y, mo, d, h, mi, s = date_time[:6]
    return ((max(y, 1980) - 1980) << 9 | mo << 5 | d), (h << 11 | mi << 5 | s // 2)


class _Entry:
    def __init__(self, name: str, method: int, crc: int, csize: int, usize: int,
                 offset: int, date_time: tuple[int, ...], flags: int = 0,
                 external: int = 0) -> None:
        self.name, self.method, self.crc, self.csize, self.usize = name, method, crc, csize, usize
        self.offset, self.date_time, self.flags, self.external = offset, date_time, flags, external


class EntryWriter:
    """A file-like object for one new entry; deflates what is written to it."""

    def __init__(self, zw: ZipRewriter, entry: _Entry) -> None:
        self._zw, self._e = zw, entry
        self._z = codec.compressor()
        self._crc = 0
        self._usize = 0
        self._csize = 0

    def write(self, data: bytes) -> int:
        self._crc = codec.crc32(data, self._crc)
        self._usize += len(data)
        out = self._z.compress(data)
        if out:
            self._zw.fp.write(out)
            self._csize += len(out)
        return len(data)

    def close(self) -> None:
        out = self._z.flush()
        self._zw.fp.write(out)
        self._csize += len(out)
        if self._usize > LIMIT or self._csize > LIMIT:
            raise ZipTooLarge(f"{self._e.name} is larger than 4 GiB")
        self._e.crc, self._e.usize, self._e.csize = self._crc, self._usize, self._csize
        self._zw._finish(self._e)

    def __enter__(self) -> EntryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()


class ZipRewriter:
    """Write a zip entry by entry: raw copies of a source's entries, or new ones."""

    def __init__(self, fp: IO[bytes]) -> None:
        self.fp = fp
        self._entries: list[_Entry] = []

    def copy(self, src: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        """Copy ``info`` from ``src`` as it is stored (compressed bytes untouched)."""
        src_fp = src.fp
        assert src_fp is not None
        src_fp.seek(info.header_offset)
        header = src_fp.read(_LOCAL.size)
        fields = _LOCAL.unpack(header)
        if fields[0] != LOCAL_SIG:
            raise zipfile.BadZipFile(f"bad local header of {info.filename}")
        src_fp.seek(fields[9] + fields[10], 1)  # name and extra of the source
        if info.compress_size > LIMIT or info.file_size > LIMIT:
            raise ZipTooLarge(f"{info.filename} is larger than 4 GiB")
        entry = _Entry(info.filename, info.compress_type, info.CRC, info.compress_size,
                       info.file_size, self.fp.tell(), info.date_time,
                       info.flag_bits & 0x0800, info.external_attr)
        self._write_local(entry)
        left = info.compress_size
        while left:
            chunk = src_fp.read(min(left, 1 << 20))
            if not chunk:
                raise zipfile.BadZipFile(f"{info.filename} is truncated")
            self.fp.write(chunk)
            left -= len(chunk)
        self._entries.append(entry)

    def open(self, name: str, date_time: tuple[int, ...] = FIXED_TIME) -> EntryWriter:
        """A writer for a new entry ``name`` (deflated)."""
        entry = _Entry(name, zipfile.ZIP_DEFLATED, 0, 0, 0, self.fp.tell(), date_time,
                       0x0800 if not name.isascii() else 0)
        self._write_local(entry)
        return EntryWriter(self, entry)

    def write(self, name: str, data: bytes, date_time: tuple[int, ...] = FIXED_TIME) -> None:
        """A new entry ``name`` holding ``data``."""
        with self.open(name, date_time) as w:
            w.write(data)

    def write_deflated(self, name: str, crc: int, size: int, deflated: bytes,
                       date_time: tuple[int, ...] = FIXED_TIME) -> None:
        """A new entry ``name`` from its :func:`xlsales.io.codec.deflate` result (``size``
        bytes inflated)."""
        if size > LIMIT or len(deflated) > LIMIT:
            raise ZipTooLarge(f"{name} is larger than 4 GiB")
        entry = _Entry(name, zipfile.ZIP_DEFLATED, crc, len(deflated), size, self.fp.tell(),
                       date_time, 0x0800 if not name.isascii() else 0)
        self._write_local(entry)
        self.fp.write(deflated)
        self._entries.append(entry)

    def write_chunks(self, name: str, chunks: Iterable[bytes],
                     date_time: tuple[int, ...] = FIXED_TIME) -> None:
        """A new entry written from ``chunks`` as they come."""
        with self.open(name, date_time) as w:
            for chunk in chunks:
                w.write(chunk)

    def _write_local(self, e: _Entry) -> None:
        name = e.name.encode("utf-8")
        d, t = _dos(e.date_time)
        self.fp.write(_LOCAL.pack(LOCAL_SIG, 20, e.flags, e.method, t, d, e.crc, e.csize,
                                  e.usize, len(name), 0) + name)

    def _finish(self, e: _Entry) -> None:
        """Put the CRC and sizes of a new entry into its local header."""
        end = self.fp.tell()
        self.fp.seek(e.offset + 14)
        self.fp.write(struct.pack("<3L", e.crc, e.csize, e.usize))
        self.fp.seek(end)
        self._entries.append(e)

    def close(self) -> None:
        """Write the central directory."""
        start = self.fp.tell()
        for e in self._entries:
            name = e.name.encode("utf-8")
            d, t = _dos(e.date_time)
            if e.offset > LIMIT:
                raise ZipTooLarge("the workbook is larger than 4 GiB")
            self.fp.write(_CENTRAL.pack(CENTRAL_SIG, 20, 20, e.flags, e.method, t, d, e.crc,
                                        e.csize, e.usize, len(name), 0, 0, 0, 0, e.external,
                                        e.offset) + name)
        size = self.fp.tell() - start
        n = len(self._entries)
        if n > 0xFFFF or start > LIMIT:
            raise ZipTooLarge("too many entries or too large for a zip without zip64")
        self.fp.write(_END.pack(END_SIG, 0, 0, n, n, size, start, 0))

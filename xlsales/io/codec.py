"""Raw deflate, the compression of a workbook's parts: ISA-L's codec (the ``isal``
package) where it is installed, zlib's otherwise.

Both write and read plain deflate streams, so the choice changes speed and size, never
what a part holds, and every zip reader reads either. Measured on the parts xlsales
writes and reads most (``python -m benchmarks``' workspaces: a 100k-row daily sheet's
47 MB of XML, a 500k rollup's weekly sheets' 130 MB): ISA-L's level 2 deflates in a
sixth of the time of zlib's level 4 (the level used before) for 12–19 % more bytes (the
workbook a 500k rollup writes: 7 % larger); it inflates in 55–70 % of zlib's time and
checks CRC-32s four times as fast. zlib stays for Pyodide (xlwings Lite) and platforms
without an ISA-L wheel.

:func:`open_member` reads a deflated zip member with the faster codec (zipfile's reader
uses zlib), CRC and size checked at its end as zipfile checks them. Either codec's
damaged stream raises ``zlib.error``.
"""

from __future__ import annotations

import functools
import os
import struct
import weakref
import zipfile
import zlib
from typing import IO, Any

ZLIB_LEVEL = 4  # zlib's: level 6 (its default) deflates in 1.8–2.9× the time for 8–11 % less
ISAL_LEVEL = 2  # ISA-L's (0–3): 1 is as fast, 1 % larger; 3 takes 3× as long for 3 % less


@functools.cache
def _isal() -> Any:
    """ISA-L's zlib-compatible module, or None when it is not installed."""
    try:
        from isal import isal_zlib
    except ImportError:  # Pyodide, or a platform without a wheel
        return None
    return isal_zlib


def fast() -> bool:
    """Whether ISA-L's codec is in use."""
    return _isal() is not None


def _lib() -> Any:
    return _isal() or zlib


def compressor() -> Any:
    """A raw deflate compressor (``compress``, ``flush``) at the codec's level."""
    fast_lib = _isal()
    if fast_lib is not None:
        return fast_lib.compressobj(ISAL_LEVEL, zlib.DEFLATED, -15)
    return zlib.compressobj(ZLIB_LEVEL, zlib.DEFLATED, -15)


def crc32(data: bytes, value: int = 0) -> int:
    """The CRC-32 of ``data`` (continuing ``value``), as zip entries carry it."""
    return int(_lib().crc32(data, value))


def deflate(data: bytes) -> tuple[int, bytes]:
    """The CRC and raw deflate stream of ``data`` (the codec lets go of the GIL meanwhile:
    this runs well in a worker thread)."""
    z = compressor()
    return crc32(data), z.compress(data) + z.flush()


def inflate(data: bytes) -> bytes:
    """What the raw deflate stream ``data`` holds (a damaged one raises ``zlib.error``,
    whichever the codec)."""
    lib = _lib()
    try:
        return bytes(lib.decompress(data, -15))
    except lib.error as exc:
        raise zlib.error(str(exc)) from exc


_LOCAL = struct.Struct("<4s2B4HL2L2H")  # a zip entry's local header
RAW_CHUNK = 1 << 18  # compressed bytes read at a time (some 2 MB of sheet XML)
OUT_CHUNK = 1 << 22  # bytes inflated at most at a time


def open_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> IO[bytes] | None:
    """A reader of the member ``info`` of ``zf`` inflating with ISA-L; None where
    zipfile's own reader is to be used (no ISA-L, a member not deflated or encrypted, a
    zip held in memory or a platform without positional reads)."""
    fast_lib = _isal()
    fp = getattr(zf, "fp", None)
    if fast_lib is None or info.compress_type != zipfile.ZIP_DEFLATED \
            or info.flag_bits & 0x1 or fp is None or not hasattr(os, "pread"):
        return None
    try:
        fd = os.dup(fp.fileno())  # its own: valid however long the zip stays open
    except (AttributeError, OSError, ValueError):
        return None
    try:
        return _open(zf, info, fd, fast_lib)
    except BaseException:
        os.close(fd)
        raise


def _open(zf: zipfile.ZipFile, info: zipfile.ZipInfo, fd: int, fast_lib: Any) -> _Inflating:
    """The reader of ``info`` on ``fd``, past the entry's local header."""
    head = os.pread(fd, _LOCAL.size, info.header_offset)
    if len(head) < _LOCAL.size or head[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"Bad magic number for file header of {info.filename!r}")
    name_len, extra_len = _LOCAL.unpack(head)[-2:]
    # the name in the entry's own header is the directory's (zipfile refuses them apart)
    name = os.pread(fd, name_len, info.header_offset + _LOCAL.size)
    encoding = "utf-8" if info.flag_bits & 0x800 else (zf.metadata_encoding or "cp437")
    if name.decode(encoding, errors="replace") != info.orig_filename:
        raise zipfile.BadZipFile(f"File name in directory {info.orig_filename!r} and "
                                 f"header {name!r} differ.")
    start = info.header_offset + _LOCAL.size + name_len + extra_len
    return _Inflating(fd, start, info, fast_lib.decompressobj(-15))


class _Inflating:
    """A deflated zip member read straight from the file (positional reads: the zip's own
    handle is not moved) and inflated a bounded chunk at a time; never more than the
    size its headers declare (a stream that inflates past it is refused there, as a zip
    bomb), and at its end the size and CRC-32 are checked as zipfile checks them."""

    def __init__(self, fd: int, start: int, info: zipfile.ZipInfo, d: Any) -> None:
        self._fd, self._pos, self._left = fd, start, info.compress_size
        self._closer = weakref.finalize(self, os.close, fd)  # (closed once, or when dropped)
        self._info, self._d = info, d
        self._tail = b""  # compressed bytes read and not yet inflated
        self._buf, self._at = b"", 0
        self._crc, self._size, self._done = 0, 0, False

    def read(self, n: int | None = -1) -> bytes:
        if n is None or n < 0:
            parts = [self._buf[self._at:]]
            self._buf, self._at = b"", 0
            while not self._done:
                parts.append(self._fill())
            return b"".join(parts)
        while len(self._buf) - self._at < n and not self._done:
            more = self._fill(n - (len(self._buf) - self._at))
            self._buf, self._at = self._buf[self._at:] + more, 0
        out = self._buf[self._at:self._at + n]
        self._at += len(out)
        return out

    def read1(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (at most :data:`OUT_CHUNK`), as they come: what is buffered,
        else one inflated chunk; b"" only at the end (no bytes joined or copied)."""
        if n == 0:
            return b""
        if self._at < len(self._buf):
            out = self._buf[self._at:] if n < 0 else self._buf[self._at:self._at + n]
            self._at += len(out)
            return out
        while not self._done:
            out = self._fill(OUT_CHUNK if n < 0 else min(n, OUT_CHUNK))
            if 0 <= n < len(out):  # (the codec's last bytes come all at once)
                self._buf, self._at = out, n
                return out[:n]
            if out:
                return out
        return b""

    def _fill(self, want: int = OUT_CHUNK) -> bytes:
        """The next inflated chunk (at most ``want`` bytes, and :data:`OUT_CHUNK`)."""
        d = self._d
        if not self._tail and self._left > 0 and not d.eof:
            raw = os.pread(self._fd, min(RAW_CHUNK, self._left), self._pos)
            if not raw:
                raise EOFError(f"{self._info.filename}: the zip ends inside this part")
            self._pos += len(raw)
            self._left -= len(raw)
            self._tail = raw
        # one byte past the declared size is enough to tell the headers lie
        room = min(want, OUT_CHUNK, self._info.file_size - self._size + 1)
        if self._tail and not d.eof:
            try:
                out = d.decompress(self._tail, room)
            except _isal().error as exc:  # as zipfile's reader says it
                raise zlib.error(str(exc)) from exc
            self._tail = d.unconsumed_tail
        else:  # the compressed bytes are all in: what the codec still holds
            out = d.flush()
            self._done = True
        self._crc = crc32(out, self._crc)
        self._size += len(out)
        if d.eof and not self._tail:
            self._done = True
        if self._size > self._info.file_size or (
                self._done and (self._size != self._info.file_size
                                or self._crc != self._info.CRC)):
            self._done = True
            raise zipfile.BadZipFile(f"Bad CRC-32 for file {self._info.filename!r}")
        return bytes(out)

    def close(self) -> None:
        self._buf, self._tail, self._done = b"", b"", True
        self._closer()

    def __enter__(self) -> _Inflating:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

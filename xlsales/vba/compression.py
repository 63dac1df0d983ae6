"""MS-OVBA 2.4.1 compression: the CompressedContainer every VBA stream but ``PROJECT`` uses.

:func:`compress` takes the longest (then nearest) match at each position of a chunk, as
the algorithm of 2.4.1.3 does, and stores a chunk raw when compressing would not shrink
it; :func:`decompress` is its inverse.
"""

from __future__ import annotations

import struct

CHUNK = 4096
MAX_COMPRESSED_CHUNK = 4098


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
